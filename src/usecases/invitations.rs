//! Inviting someone to a workspace by email. Whether the address has an account or not, the
//! inviter sees the same: an invitation sent by email, open until it is answered.

use crate::channels::{Email, SendFailure};
use crate::domain::ids::{UserId, WorkspaceId};
use crate::domain::{EmailAddress, Role};
use crate::store::invitations::{self, InviteError};
use crate::store::{Db, DbError, StoreError};
use crate::verification::Verifications;

/// Who invites, into which workspace.
pub struct Inviter {
    pub workspace_id: WorkspaceId,
    pub workspace_name: String,
    pub user_id: UserId,
    pub email: String,
}

#[derive(Debug, thiserror::Error)]
pub enum InviteProblem {
    #[error("{0} is already a member of this workspace.")]
    AlreadyMember(String),
    /// Nothing was kept: an invitation nobody received would only confuse.
    #[error("The invitation email could not be sent ({0}). Nothing was kept; try again.")]
    NotSent(SendFailure),
    #[error(transparent)]
    Invite(InviteError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<DbError> for InviteProblem {
    fn from(e: DbError) -> Self {
        InviteProblem::Store(e.into())
    }
}

pub async fn invite(
    db: &Db,
    verifications: &Verifications,
    by: &Inviter,
    email: EmailAddress,
    role: Role,
) -> Result<(), InviteProblem> {
    let (ws, to, who) = (by.workspace_id.clone(), email.clone(), by.user_id.clone());
    let token = db
        .run(move |c| invitations::create(c, &ws, &to, role, &who))
        .await
        .map_err(|e| match e {
            InviteError::AlreadyMember(who) => InviteProblem::AlreadyMember(who),
            InviteError::Store(e) => InviteProblem::Store(e),
            other => InviteProblem::Invite(other),
        })?;
    let message = Email {
        workspace_id: Some(by.workspace_id.clone()),
        to: email.clone(),
        subject: format!("Invitation to {} on Herald", by.workspace_name),
        text: format!(
            "{} invites you to the Herald workspace “{}” as {}.\n\n\
             Open this link to accept or decline (valid for {} days):\n{}/invite/{token}\n\n\
             If you did not expect this, ignore this email.\n",
            by.email,
            by.workspace_name,
            role.label(),
            invitations::VALID_DAYS,
            verifications.base_url(),
        ),
        html: None,
    };
    if let Err(failure) = verifications.providers().email.send_email(&message).await {
        tracing::warn!(error = %failure, "invitation email not sent");
        let ws = by.workspace_id.clone();
        db.run(move |c| invitations::withdraw(c, &ws, email.as_str()))
            .await?;
        return Err(InviteProblem::NotSent(failure));
    }
    tracing::info!("invitation sent");
    Ok(())
}

/// Why an answer to an invitation was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// A field to correct.
    Invalid,
    WrongPassword,
    /// Too many wrong passwords for this invitation's address.
    Throttled,
    /// Signed in as someone the invitation is not for.
    NotForYou,
}

#[derive(Debug)]
pub struct Refusal {
    pub problems: crate::domain::Problems,
    pub why: Why,
}

/// An answer taken: what to tell the invitee, and whom to sign in (a password or a new
/// account answered it in a browser not signed in as them).
#[derive(Debug)]
pub struct Answered {
    pub message: String,
    pub sign_in: Option<UserId>,
}

#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    #[error(transparent)]
    Invite(#[from] InviteError),
    #[error(transparent)]
    Auth(#[from] super::sign_in::AuthError),
}

impl From<DbError> for AnswerError {
    fn from(e: DbError) -> Self {
        AnswerError::Invite(InviteError::Store(e.into()))
    }
}

impl From<StoreError> for AnswerError {
    fn from(e: StoreError) -> Self {
        AnswerError::Invite(InviteError::Store(e))
    }
}

pub type Answer = Result<Result<Answered, Refusal>, AnswerError>;

fn refused(field: &'static str, message: impl Into<String>, why: Why) -> Answer {
    Ok(Err(Refusal {
        problems: vec![(field, message.into())],
        why,
    }))
}

pub fn joined(i: &invitations::Invitation) -> String {
    format!(
        "You joined the workspace “{}” as {}.",
        i.workspace_name,
        i.role.label()
    )
}

pub async fn decline(db: &Db, invitation: &invitations::Invitation) -> Answer {
    let (id, email) = (invitation.id.clone(), invitation.email.clone());
    let i = db
        .run(move |c| invitations::decline(c, &id, &email))
        .await?;
    Ok(Ok(Answered {
        message: format!("You declined the invitation to “{}”.", i.workspace_name),
        sign_in: None,
    }))
}

/// Accepts as the signed-in user (`me`: their id and email), who must be the invitee.
pub async fn accept_as(
    db: &Db,
    me: (UserId, String),
    invitation: &invitations::Invitation,
) -> Answer {
    let (uid, email) = me;
    if email != invitation.email {
        let message = format!(
            "This invitation is for {}; you are signed in as {email}.",
            invitation.email
        );
        return refused("action", message, Why::NotForYou);
    }
    let id = invitation.id.clone();
    let i = db
        .run(move |c| invitations::accept(c, &id, &uid, &email))
        .await?;
    Ok(Ok(Answered {
        message: joined(&i),
        sign_in: None,
    }))
}

/// The invitee has an account but is not signed in here: its password, counted under its own
/// throttle like a sign-in, accepts and signs in.
pub async fn accept_with_password(
    db: &Db,
    invitation: &invitations::Invitation,
    password: &str,
) -> Answer {
    use crate::store::login_throttle::{self, Attempt};
    let key = format!("invitation|{}", invitation.email);
    let k = key.clone();
    if let Attempt::Locked { until } = db.run(move |c| login_throttle::take_attempt(c, &k)).await? {
        let message = format!(
            "Too many wrong passwords. {}",
            Attempt::retry_message(until)
        );
        return refused("password", message, Why::Throttled);
    }
    let Some(user) = super::sign_in::account_with_password(db, &invitation.email, password).await?
    else {
        let message = "Wrong password. New to Herald? Choose a password below instead.";
        return refused("password", message, Why::WrongPassword);
    };
    let (id, uid, email) = (invitation.id.clone(), user.id.clone(), user.email.clone());
    let i = db
        .run(move |c| {
            login_throttle::clear(c, &key)?;
            invitations::accept(c, &id, &uid, &email)
        })
        .await?;
    Ok(Ok(Answered {
        message: joined(&i),
        sign_in: Some(user.id),
    }))
}

/// Someone without an account chose a password: the account is made and joins.
pub async fn accept_with_new_account(
    db: &Db,
    token: crate::domain::LinkToken,
    password: &str,
    confirm: &str,
) -> Answer {
    let mut problems = crate::domain::Problems::new();
    let new = crate::domain::NewPassword::parse(password)
        .map_err(|e| problems.push(("new_password", e.to_string())))
        .ok();
    if password != confirm {
        problems.push(("confirm", "The two passwords differ.".into()));
    }
    let Some(new) = new.filter(|_| problems.is_empty()) else {
        return Ok(Err(Refusal {
            problems,
            why: Why::Invalid,
        }));
    };
    let hash = crate::passwords::hash_off_thread(new.expose())
        .await
        .map_err(|e| super::sign_in::AuthError::Hashing(e.to_string()))?;
    match db
        .run(move |c| invitations::accept_with_new_account(c, &token, &hash))
        .await
    {
        Ok((user, i)) => Ok(Ok(Answered {
            message: format!("Welcome to Herald. {}", joined(&i)),
            sign_in: Some(user),
        })),
        Err(e @ InviteError::AccountExists) => refused("new_password", e.to_string(), Why::Invalid),
        Err(e) => Err(e.into()),
    }
}
