use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{memberships, workspaces};
use super::{DbConn, StoreResult, UserId, WorkspaceId, now};
use crate::domain::{DefaultFallback, Role};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = workspaces)]
pub struct Workspace {
    pub id: WorkspaceId,
    pub name: String,
    pub default_fallback: String,
    pub default_language: String,
    pub time_zone: String,
    pub contacts_version: i64,
    pub created_at: NaiveDateTime,
}

impl Workspace {
    pub fn default_fallback(&self) -> DefaultFallback {
        DefaultFallback::parse(&self.default_fallback).unwrap_or(DefaultFallback::Sms)
    }
}

/// A workspace as one of its members sees it in the switcher.
#[derive(Debug, Clone)]
pub struct MyWorkspace {
    pub id: WorkspaceId,
    pub name: String,
    pub role: Role,
}

pub const WORKSPACE_NAME_MAX: usize = 64;

pub fn parse_name(input: &str) -> Result<String, &'static str> {
    let s = input.trim();
    if s.is_empty() {
        return Err("Enter a workspace name.");
    }
    if s.chars().count() > WORKSPACE_NAME_MAX {
        return Err("The name can be at most 64 characters.");
    }
    Ok(s.to_string())
}

/// Creates a workspace with `owner` as its owner; call inside the caller's transaction.
/// A new workspace with `owner` as its owner, in one transaction (a savepoint inside another).
pub fn create(conn: &mut DbConn, name: &str, owner: &UserId) -> StoreResult<WorkspaceId> {
    use diesel::Connection;
    conn.transaction(|c| insert(c, name, owner))
}

fn insert(conn: &mut DbConn, name: &str, owner: &UserId) -> StoreResult<WorkspaceId> {
    let id = WorkspaceId::new();
    let at = now();
    diesel::insert_into(workspaces::table)
        .values((
            workspaces::id.eq(&id),
            workspaces::name.eq(name),
            workspaces::default_fallback.eq(DefaultFallback::Sms.code()),
            workspaces::default_language.eq("en"),
            workspaces::time_zone.eq("UTC"),
            workspaces::created_at.eq(at),
        ))
        .execute(conn)?;
    add_member(conn, &id, owner, Role::Owner)?;
    Ok(id)
}

pub fn add_member(
    conn: &mut DbConn,
    ws: &WorkspaceId,
    user: &UserId,
    role: Role,
) -> StoreResult<()> {
    diesel::insert_into(memberships::table)
        .values((
            memberships::workspace_id.eq(ws),
            memberships::user_id.eq(user),
            memberships::role.eq(role.code()),
            memberships::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn get(conn: &mut DbConn, id: &WorkspaceId) -> StoreResult<Workspace> {
    Ok(workspaces::table
        .find(id)
        .select(Workspace::as_select())
        .first(conn)?)
}

pub fn list_for_user(conn: &mut DbConn, user: &UserId) -> StoreResult<Vec<MyWorkspace>> {
    let rows: Vec<(WorkspaceId, String, String)> = memberships::table
        .inner_join(workspaces::table)
        .filter(memberships::user_id.eq(user))
        .order((workspaces::name.asc(), workspaces::id.asc()))
        .select((workspaces::id, workspaces::name, memberships::role))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, name, role)| {
            Role::parse(&role)
                .ok()
                .map(|role| MyWorkspace { id, name, role })
        })
        .collect())
}

pub fn set_default_fallback(
    conn: &mut DbConn,
    id: &WorkspaceId,
    fallback: DefaultFallback,
) -> StoreResult<()> {
    let n = diesel::update(workspaces::table.find(id))
        .set(workspaces::default_fallback.eq(fallback.code()))
        .execute(conn)?;
    if n == 0 {
        return Err(super::StoreError::NotFound);
    }
    Ok(())
}
