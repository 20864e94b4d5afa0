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
