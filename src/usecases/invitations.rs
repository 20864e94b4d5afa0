//! Inviting someone to a workspace by email. Whether the address has an account or not, the
//! inviter sees the same: an invitation sent by email, open until it is answered.

use crate::channels::{Email, SendFailure};
use crate::domain::catalog::Lang;
use crate::domain::ids::{UserId, WorkspaceId};
use crate::domain::{EmailAddress, Language, Role};
use crate::store::invitations::{self, InviteError};
use crate::store::{Db, DbError, StoreError, workspaces};
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
    let (token, lang) = db
        .run(move |c| {
            let token = invitations::create(c, &ws, &to, role, &who)?;
            // The invitee has no language of their own yet: the workspace's is the best guess.
            let lang = Lang::of(
                Language::Auto,
                workspaces::get(c, &ws)
                    .map_err(InviteError::Store)?
                    .default_language(),
            );
            Ok::<_, InviteError>((token, lang))
        })
        .await
        .map_err(|e| match e {
            InviteError::AlreadyMember(who) => InviteProblem::AlreadyMember(who),
            InviteError::Store(e) => InviteProblem::Store(e),
            other => InviteProblem::Invite(other),
        })?;
    let link = format!("{}/invite/{token}", verifications.base_url());
    let (subject, text) = invitation_email(lang, by, role, &link);
    let message = Email {
        workspace_id: Some(by.workspace_id.clone()),
        to: email.clone(),
        subject,
        text,
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

/// The invitation email's subject and text, in `lang`.
fn invitation_email(lang: Lang, by: &Inviter, role: Role, link: &str) -> (String, String) {
    let (ws, days, from) = (&by.workspace_name, invitations::VALID_DAYS, &by.email);
    let role = role_name(lang, role);
    match lang {
        Lang::En => (
            format!("Invitation to {ws} on Herald"),
            format!(
                "{from} invites you to the Herald workspace “{ws}” as {role}.\n\n\
                 Open this link to accept or decline (valid for {days} days):\n{link}\n\n\
                 If you did not expect this, ignore this email.\n"
            ),
        ),
        Lang::Zh => (
            format!("邀请您加入 Herald 工作区“{ws}”"),
            format!(
                "{from} 邀请您以{role}身份加入 Herald 工作区“{ws}”。\n\n\
                 打开以下链接接受或拒绝（{days} 天内有效）：\n{link}\n\n\
                 如果您没有预期收到此邀请，请忽略此邮件。\n"
            ),
        ),
    }
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

/// Everything answering an invitation says to the invitee, who may not have an account yet:
/// one variant per sentence, each written in both languages by `say`.
#[derive(Debug, Clone, Copy)]
pub enum Said<'a> {
    Joined { workspace: &'a str, role: Role },
    Welcome { workspace: &'a str, role: Role },
    Declined { workspace: &'a str },
    NotForYou { invitee: &'a str, me: &'a str },
    SignInFirst,
    Throttled { minutes: i64 },
    WrongPassword,
    PasswordTooShort,
    PasswordTooLong,
    PasswordsDiffer,
    AccountExists,
}

pub fn role_name(lang: Lang, role: Role) -> &'static str {
    match (lang, role) {
        (Lang::En, r) => r.label(),
        (Lang::Zh, Role::Owner) => "所有者",
        (Lang::Zh, Role::Admin) => "管理员",
        (Lang::Zh, Role::Viewer) => "只读成员",
    }
}

pub fn say(lang: Lang, said: Said<'_>) -> String {
    use Said::*;
    match lang {
        Lang::En => match said {
            Joined { workspace, role } => {
                format!(
                    "You joined the workspace “{workspace}” as {}.",
                    role.label()
                )
            }
            Welcome { workspace, role } => format!(
                "Welcome to Herald. You joined the workspace “{workspace}” as {}.",
                role.label()
            ),
            Declined { workspace } => format!("You declined the invitation to “{workspace}”."),
            NotForYou { invitee, me } => {
                format!("This invitation is for {invitee}; you are signed in as {me}.")
            }
            SignInFirst => "Sign in first, or enter the password of your account below.".into(),
            Throttled { minutes } => format!(
                "Too many wrong passwords. Try again in {minutes} minute{}.",
                if minutes == 1 { "" } else { "s" }
            ),
            WrongPassword => {
                "Wrong password. New to Herald? Choose a password below instead.".into()
            }
            PasswordTooShort => "Use at least 10 characters.".into(),
            PasswordTooLong => "Use at most 128 characters.".into(),
            PasswordsDiffer => "The two passwords differ.".into(),
            AccountExists => InviteError::AccountExists.to_string(),
        },
        Lang::Zh => match said {
            Joined { workspace, role } => {
                format!(
                    "您已加入工作区“{workspace}”，角色：{}。",
                    role_name(lang, role)
                )
            }
            Welcome { workspace, role } => format!(
                "欢迎使用 Herald。您已加入工作区“{workspace}”，角色：{}。",
                role_name(lang, role)
            ),
            Declined { workspace } => format!("您已拒绝加入“{workspace}”的邀请。"),
            NotForYou { invitee, me } => {
                format!("此邀请发给 {invitee}；您当前登录的是 {me}。")
            }
            SignInFirst => "请先登录，或在下方输入您账号的密码。".into(),
            Throttled { minutes } => format!("密码错误次数过多。请在 {minutes} 分钟后重试。"),
            WrongPassword => "密码错误。第一次使用 Herald？请在下方设置密码。".into(),
            PasswordTooShort => "密码至少需要 10 个字符。".into(),
            PasswordTooLong => "密码最多 128 个字符。".into(),
            PasswordsDiffer => "两次输入的密码不一致。".into(),
            AccountExists => "此邮箱已有账号：请登录后接受邀请。".into(),
        },
    }
}

fn refused(field: &'static str, message: String, why: Why) -> Answer {
    Ok(Err(Refusal {
        problems: vec![(field, message)],
        why,
    }))
}

pub fn joined(lang: Lang, i: &invitations::Invitation) -> String {
    say(
        lang,
        Said::Joined {
            workspace: &i.workspace_name,
            role: i.role,
        },
    )
}

pub async fn decline(db: &Db, lang: Lang, invitation: &invitations::Invitation) -> Answer {
    let (id, email) = (invitation.id.clone(), invitation.email.clone());
    let i = db
        .run(move |c| invitations::decline(c, &id, &email))
        .await?;
    Ok(Ok(Answered {
        message: say(
            lang,
            Said::Declined {
                workspace: &i.workspace_name,
            },
        ),
        sign_in: None,
    }))
}

/// Accepts as the signed-in user (`me`: their id and email), who must be the invitee.
pub async fn accept_as(
    db: &Db,
    lang: Lang,
    me: (UserId, String),
    invitation: &invitations::Invitation,
) -> Answer {
    let (uid, email) = me;
    if email != invitation.email {
        let message = say(
            lang,
            Said::NotForYou {
                invitee: &invitation.email,
                me: &email,
            },
        );
        return refused("action", message, Why::NotForYou);
    }
    let id = invitation.id.clone();
    let i = db
        .run(move |c| invitations::accept(c, &id, &uid, &email))
        .await?;
    Ok(Ok(Answered {
        message: joined(lang, &i),
        sign_in: None,
    }))
}

/// The invitee has an account but is not signed in here: its password, counted under its own
/// throttle like a sign-in, accepts and signs in.
pub async fn accept_with_password(
    db: &Db,
    lang: Lang,
    invitation: &invitations::Invitation,
    password: &str,
) -> Answer {
    use crate::store::login_throttle::{self, Attempt};
    let key = format!("invitation|{}", invitation.email);
    let k = key.clone();
    if let Attempt::Locked { until } = db.run(move |c| login_throttle::take_attempt(c, &k)).await? {
        let minutes = Attempt::minutes_left(until);
        let message = say(lang, Said::Throttled { minutes });
        return refused("password", message, Why::Throttled);
    }
    let Some(user) = super::sign_in::account_with_password(db, &invitation.email, password).await?
    else {
        let message = say(lang, Said::WrongPassword);
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
        message: joined(lang, &i),
        sign_in: Some(user.id),
    }))
}

/// Someone without an account chose a password: the account is made and joins.
pub async fn accept_with_new_account(
    db: &Db,
    lang: Lang,
    token: crate::domain::LinkToken,
    password: &str,
    confirm: &str,
) -> Answer {
    let mut problems = crate::domain::Problems::new();
    let new = crate::domain::NewPassword::parse(password)
        .map_err(|_| {
            let short = password.chars().count() < crate::domain::NewPassword::MIN_CHARS;
            let why = if short {
                Said::PasswordTooShort
            } else {
                Said::PasswordTooLong
            };
            problems.push(("new_password", say(lang, why)));
        })
        .ok();
    if password != confirm {
        problems.push(("confirm", say(lang, Said::PasswordsDiffer)));
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
            message: say(
                lang,
                Said::Welcome {
                    workspace: &i.workspace_name,
                    role: i.role,
                },
            ),
            sign_in: Some(user),
        })),
        Err(InviteError::AccountExists) => {
            refused("new_password", say(lang, Said::AccountExists), Why::Invalid)
        }
        Err(e) => Err(e.into()),
    }
}
