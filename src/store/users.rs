use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{memberships, user_sessions, users, workspaces};
use super::sessions::SessionToken;
use super::{DbConn, StoreError, StoreResult, UserId, WorkspaceId, now};
use crate::domain::settings::TimeZone;
use crate::domain::{EmailAddress, Role};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub password_hash: String,
    pub must_change_password: bool,
    pub created_at: NaiveDateTime,
}

/// Who is signed in and in which workspace, as loaded for every console request.
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub user_id: UserId,
    pub email: String,
    pub must_change_password: bool,
    pub workspace_id: WorkspaceId,
    pub workspace_name: String,
    pub role: Role,
    pub session_expires_at: NaiveDateTime,
    /// The workspace's time zone: every time the console shows is in it.
    pub time_zone: TimeZone,
}

#[derive(Debug, Clone)]
pub struct Member {
    pub user_id: UserId,
    pub email: String,
    pub role: Role,
    pub joined_at: NaiveDateTime,
}

#[derive(Debug, thiserror::Error)]
pub enum MemberError {
    #[error("A workspace needs at least one owner.")]
    LastOwner,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<super::DbError> for MemberError {
    fn from(e: super::DbError) -> Self {
        MemberError::Store(e.into())
    }
}

impl From<diesel::result::Error> for MemberError {
    fn from(e: diesel::result::Error) -> Self {
        MemberError::Store(e.into())
    }
}

pub fn count(conn: &mut DbConn) -> StoreResult<i64> {
    Ok(users::table.count().get_result(conn)?)
}

pub fn insert(
    conn: &mut DbConn,
    email: &EmailAddress,
    password_hash: &str,
    must_change: bool,
) -> StoreResult<UserId> {
    let id = UserId::new();
    diesel::insert_into(users::table)
        .values((
            users::id.eq(&id),
            users::email.eq(email.as_str()),
            users::password_hash.eq(password_hash),
            users::must_change_password.eq(must_change),
            users::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(id)
}

/// First-run setup: the first owner and their workspace, only while no user exists.
/// Returns None when someone else finished setup first.
pub fn create_first_owner(
    conn: &mut DbConn,
    email: &EmailAddress,
    password_hash: &str,
    workspace_name: &str,
) -> StoreResult<Option<(UserId, WorkspaceId)>> {
    conn.transaction(|c| {
        if count(c)? > 0 {
            return Ok(None);
        }
        let user = insert(c, email, password_hash, false)?;
        let ws = super::workspaces::create(c, workspace_name, &user)?;
        Ok(Some((user, ws)))
    })
}

/// A new user who owns a new workspace (`herald admin create`). None when the email is taken.
pub fn create_owner_with_workspace(
    conn: &mut DbConn,
    email: &EmailAddress,
    password_hash: &str,
    workspace_name: &str,
) -> StoreResult<Option<(UserId, WorkspaceId)>> {
    let result = conn.transaction(|c| {
        if find_by_email(c, email.as_str())?.is_some() {
            return Ok(None);
        }
        let user = insert(c, email, password_hash, false)?;
        let ws = super::workspaces::create(c, workspace_name, &user)?;
        Ok(Some((user, ws)))
    });
    match result {
        Err(StoreError::Db(e)) if super::is_unique_violation(&e) => Ok(None),
        other => other,
    }
}

pub fn find_by_email(conn: &mut DbConn, email: &str) -> StoreResult<Option<User>> {
    Ok(users::table
        .filter(users::email.eq(email.trim().to_lowercase()))
        .select(User::as_select())
        .first(conn)
        .optional()?)
}

pub fn get(conn: &mut DbConn, id: &UserId) -> StoreResult<User> {
    Ok(users::table
        .find(id)
        .select(User::as_select())
        .first(conn)?)
}

/// A new password, and every session of the account but `keep` ended, in one transaction;
/// answers how many sessions ended.
pub fn replace_password(
    conn: &mut DbConn,
    id: &UserId,
    password_hash: &str,
    keep: &super::sessions::SessionToken,
) -> StoreResult<usize> {
    super::write_transaction(conn, |c| {
        set_password(c, id, password_hash)?;
        super::sessions::delete_others(c, id, keep)
    })
}

pub fn set_password(conn: &mut DbConn, id: &UserId, password_hash: &str) -> StoreResult<()> {
    diesel::update(users::table.find(id))
        .set((
            users::password_hash.eq(password_hash),
            users::must_change_password.eq(false),
        ))
        .execute(conn)?;
    Ok(())
}

/// Loads the user of a live session in `preferred` workspace, or in their first workspace
/// when they are no longer a member of it. None when the session has ended, or the user is
/// gone or belongs to no workspace.
pub fn session_user(
    conn: &mut DbConn,
    token: &SessionToken,
    preferred: Option<&WorkspaceId>,
) -> StoreResult<Option<SessionUser>> {
    let (hash, at) = super::sessions::live(token);
    // Runs on every console request: unboxed, so its prepared statement is cached.
    let row: Option<SessionRow> = super::on_backend!(conn, |c| {
        let query = user_sessions::table
            .inner_join(users::table)
            .inner_join(memberships::table.on(memberships::user_id.eq(user_sessions::user_id)))
            .inner_join(workspaces::table.on(workspaces::id.eq(memberships::workspace_id)))
            .filter(user_sessions::id.eq(&hash))
            .filter(user_sessions::expires_at.gt(at))
            .select((
                users::id,
                users::email,
                users::must_change_password,
                workspaces::id,
                workspaces::name,
                memberships::role,
                user_sessions::expires_at,
                workspaces::time_zone,
            ));
        match preferred {
            Some(ws) => query
                .filter(memberships::workspace_id.eq(ws))
                .first(c)
                .optional(),
            None => query
                .order(workspaces::created_at.asc())
                .first(c)
                .optional(),
        }
    })?;
    let Some((
        user_id,
        email,
        must_change_password,
        workspace_id,
        workspace_name,
        role,
        expires_at,
        time_zone,
    )) = row
    else {
        return match preferred {
            Some(_) => session_user(conn, token, None),
            None => Ok(None),
        };
    };
    // A role this build does not know grants nothing: the visitor is treated as signed out.
    let Ok(role) = Role::parse(&role) else {
        tracing::error!(user = %user_id, workspace = %workspace_id, role, "membership has an unknown role");
        return Ok(None);
    };
    let time_zone = TimeZone::parse(&time_zone).unwrap_or_else(|e| {
        tracing::error!(workspace = %workspace_id, time_zone, e, "stored time zone does not decode; showing UTC");
        TimeZone::UTC
    });
    Ok(Some(SessionUser {
        user_id,
        email,
        must_change_password,
        workspace_id,
        workspace_name,
        role,
        session_expires_at: expires_at,
        time_zone,
    }))
}

type SessionRow = (
    UserId,
    String,
    bool,
    WorkspaceId,
    String,
    String,
    NaiveDateTime,
    String,
);

pub fn members(conn: &mut DbConn, ws: &WorkspaceId) -> StoreResult<Vec<Member>> {
    let rows: Vec<(UserId, String, String, NaiveDateTime)> = memberships::table
        .inner_join(users::table)
        .filter(memberships::workspace_id.eq(ws))
        .order(users::email.asc())
        .select((
            users::id,
            users::email,
            memberships::role,
            memberships::created_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(user_id, email, role, joined_at)| {
            Some(Member {
                user_id,
                email,
                role: Role::parse(&role).ok()?,
                joined_at,
            })
        })
        .collect())
}

fn owner_count(conn: &mut DbConn, ws: &WorkspaceId) -> Result<i64, MemberError> {
    Ok(memberships::table
        .filter(memberships::workspace_id.eq(ws))
        .filter(memberships::role.eq(Role::Owner.code()))
        .count()
        .get_result(conn)?)
}

fn role_of(conn: &mut DbConn, ws: &WorkspaceId, user: &UserId) -> Result<Role, MemberError> {
    let role: String = memberships::table
        .filter(memberships::workspace_id.eq(ws))
        .filter(memberships::user_id.eq(user))
        .select(memberships::role)
        .first(conn)?;
    Role::parse(&role).map_err(|_| MemberError::Store(StoreError::NotFound))
}

pub fn set_role(
    conn: &mut DbConn,
    ws: &WorkspaceId,
    user: &UserId,
    role: Role,
) -> Result<(), MemberError> {
    conn.transaction(|c| {
        let current = role_of(c, ws, user)?;
        if current == Role::Owner && role != Role::Owner && owner_count(c, ws)? <= 1 {
            return Err(MemberError::LastOwner);
        }
        diesel::update(memberships::table.find((ws, user)))
            .set(memberships::role.eq(role.code()))
            .execute(c)?;
        Ok(())
    })
}

pub fn remove_member(
    conn: &mut DbConn,
    ws: &WorkspaceId,
    user: &UserId,
) -> Result<(), MemberError> {
    conn.transaction(|c| {
        let current = role_of(c, ws, user)?;
        if current == Role::Owner && owner_count(c, ws)? <= 1 {
            return Err(MemberError::LastOwner);
        }
        diesel::delete(memberships::table.find((ws, user))).execute(c)?;
        Ok(())
    })
}
