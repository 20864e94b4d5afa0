//! Invitations to a workspace, addressed to an email. The invitation is the same whether or
//! not the address has an account, so inviting tells the inviter nothing about other people's
//! accounts; and nobody is added to a workspace before they accept. The link's token is a
//! [`LinkToken`]: only the verifier's hash is stored.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::schema::{invitations, memberships, users, workspaces};
use super::{DbConn, StoreError, StoreResult, UserId, WorkspaceId, now, write_transaction};
use crate::domain::{EmailAddress, LinkToken, Role};

pub const VALID_DAYS: i64 = 7;

#[derive(Debug, Clone)]
pub struct Invitation {
    pub id: String,
    pub workspace_id: WorkspaceId,
    pub workspace_name: String,
    pub email: String,
    pub role: Role,
    pub invited_by: Option<String>,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

#[derive(Debug, thiserror::Error)]
pub enum InviteError {
    #[error("{0} is already a member of this workspace.")]
    AlreadyMember(String),
    /// Accepting as someone the invitation is not for.
    #[error("This invitation is for another email address.")]
    NotYours,
    /// Choosing a password for an address that has an account: sign in instead.
    #[error("An account with this email already exists: sign in to accept.")]
    AccountExists,
    #[error(transparent)]
    Store(StoreError),
}

super::wraps_store_error!(InviteError);

impl From<StoreError> for InviteError {
    fn from(e: StoreError) -> Self {
        InviteError::Store(e)
    }
}

type Row = (
    String,
    WorkspaceId,
    String,
    String,
    String,
    Option<String>,
    NaiveDateTime,
    NaiveDateTime,
    String,
);

fn from_row(
    (id, workspace_id, workspace_name, email, role, invited_by, created_at, expires_at, _): Row,
) -> StoreResult<Invitation> {
    let role = Role::parse(&role).map_err(|_| {
        tracing::error!(invitation = %id, role, "invitation has an unknown role");
        StoreError::NotFound
    })?;
    Ok(Invitation {
        id,
        workspace_id,
        workspace_name,
        email,
        role,
        invited_by,
        created_at,
        expires_at,
    })
}

macro_rules! invitation_query {
    () => {
        invitations::table
            .inner_join(workspaces::table)
            .left_join(users::table.on(invitations::invited_by.eq(users::id.nullable())))
            .filter(invitations::expires_at.gt(now()))
            .select((
                invitations::id,
                invitations::workspace_id,
                workspaces::name,
                invitations::email,
                invitations::role,
                users::email.nullable(),
                invitations::created_at,
                invitations::expires_at,
                invitations::verifier_hash,
            ))
    };
}

fn is_member(conn: &mut DbConn, ws: &WorkspaceId, email: &str) -> StoreResult<bool> {
    let n: i64 = memberships::table
        .inner_join(users::table)
        .filter(memberships::workspace_id.eq(ws))
        .filter(users::email.eq(email))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Invites `email` (again: a new link and role replace an earlier invitation).
pub fn create(
    conn: &mut DbConn,
    ws: &WorkspaceId,
    email: &EmailAddress,
    role: Role,
    invited_by: &UserId,
) -> Result<LinkToken, InviteError> {
    let token = LinkToken::generate();
    let at = now();
    write_transaction(conn, |c| {
        if is_member(c, ws, email.as_str())? {
            return Err(InviteError::AlreadyMember(email.to_string()));
        }
        diesel::delete(
            invitations::table
                .filter(invitations::workspace_id.eq(ws))
                .filter(invitations::email.eq(email.as_str())),
        )
        .execute(c)?;
        diesel::insert_into(invitations::table)
            .values((
                invitations::id.eq(uuid::Uuid::now_v7().to_string()),
                invitations::workspace_id.eq(ws),
                invitations::email.eq(email.as_str()),
                invitations::role.eq(role.code()),
                invitations::invited_by.eq(invited_by),
                invitations::selector.eq(&token.selector),
                invitations::verifier_hash.eq(token.verifier_hash()),
                invitations::created_at.eq(at),
                invitations::expires_at.eq(at + Duration::days(VALID_DAYS)),
            ))
            .execute(c)?;
        Ok(token.clone())
    })
}

/// Open invitations of a workspace, for its Members page.
pub fn for_workspace(conn: &mut DbConn, ws: &WorkspaceId) -> StoreResult<Vec<Invitation>> {
    invitation_query!()
        .filter(invitations::workspace_id.eq(ws))
        .order(invitations::email.asc())
        .load::<Row>(conn)?
        .into_iter()
        .map(from_row)
        .collect()
}

/// Open invitations addressed to a signed-in user's email, to accept or decline.
pub fn for_email(conn: &mut DbConn, email: &str) -> StoreResult<Vec<Invitation>> {
    invitation_query!()
        .filter(invitations::email.eq(email))
        .order(workspaces::name.asc())
        .load::<Row>(conn)?
        .into_iter()
        .map(from_row)
        .collect()
}

/// The open invitation a link names; None for an unknown, tampered or expired link.
pub fn open(conn: &mut DbConn, token: &LinkToken) -> StoreResult<Option<Invitation>> {
    let row: Option<Row> = invitation_query!()
        .filter(invitations::selector.eq(&token.selector))
        .first(conn)
        .optional()?;
    match row {
        Some(row) if token.matches(&row.8) => Ok(Some(from_row(row)?)),
        _ => Ok(None),
    }
}

/// Takes back an invitation whose email could not be sent.
pub fn withdraw(conn: &mut DbConn, ws: &WorkspaceId, email: &str) -> StoreResult<()> {
    diesel::delete(
        invitations::table
            .filter(invitations::workspace_id.eq(ws))
            .filter(invitations::email.eq(email)),
    )
    .execute(conn)?;
    Ok(())
}

/// An owner takes an invitation back.
pub fn revoke(conn: &mut DbConn, ws: &WorkspaceId, id: &str) -> StoreResult<()> {
    let n = diesel::delete(
        invitations::table
            .filter(invitations::workspace_id.eq(ws))
            .filter(invitations::id.eq(id)),
    )
    .execute(conn)?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Takes the invitation `id` addressed to `email` out of the table; Err(NotFound) when it is
/// gone or expired, NotYours when it is addressed to someone else.
fn take(conn: &mut DbConn, id: &str, email: &str) -> Result<Invitation, InviteError> {
    let row: Row = invitation_query!()
        .filter(invitations::id.eq(id))
        .first(conn)?;
    let invitation = from_row(row)?;
    if invitation.email != email {
        return Err(InviteError::NotYours);
    }
    diesel::delete(invitations::table.find(id)).execute(conn)?;
    Ok(invitation)
}

/// The signed-in `user` (whose address the invitation is for) joins the workspace.
pub fn accept(
    conn: &mut DbConn,
    id: &str,
    user: &UserId,
    email: &str,
) -> Result<Invitation, InviteError> {
    write_transaction(conn, |c| {
        let invitation = take(c, id, email)?;
        if !is_member(c, &invitation.workspace_id, email)? {
            super::workspaces::add_member(c, &invitation.workspace_id, user, invitation.role)?;
        }
        Ok(invitation)
    })
}

pub fn decline(conn: &mut DbConn, id: &str, email: &str) -> Result<Invitation, InviteError> {
    write_transaction(conn, |c| take(c, id, email))
}

/// Someone without an account followed the link (which proves they read that mailbox) and
/// chose a password: the account is made and joins the workspace in one transaction.
pub fn accept_with_new_account(
    conn: &mut DbConn,
    token: &LinkToken,
    password_hash: &str,
) -> Result<(UserId, Invitation), InviteError> {
    let result = write_transaction(conn, |c| {
        let invitation = open(c, token)?.ok_or(StoreError::NotFound)?;
        if super::users::find_by_email(c, &invitation.email)?.is_some() {
            return Err(InviteError::AccountExists);
        }
        let email = EmailAddress::parse(&invitation.email).map_err(|_| StoreError::NotFound)?;
        let user = super::users::insert(c, &email, password_hash, false)?;
        let invitation = take(c, &invitation.id, &invitation.email)?;
        super::workspaces::add_member(c, &invitation.workspace_id, &user, invitation.role)?;
        Ok((user, invitation))
    });
    match result {
        // Two tabs choosing a password at once: the second finds the account made.
        Err(InviteError::Store(StoreError::Db(e))) if super::is_unique_violation(&e) => {
            Err(InviteError::AccountExists)
        }
        other => other,
    }
}
