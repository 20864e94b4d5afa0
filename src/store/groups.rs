//! Contact groups and their members.

use std::collections::BTreeMap;

use diesel::prelude::*;

use super::schema::{contact_group_members, contact_groups, contacts};
use super::{ContactId, DbConn, GroupId, StoreError, StoreResult, UserId, WorkspaceId, now};
use crate::domain::policy::Target;
use crate::domain::{EmailAddress, ObjectName, PhoneNumber};

/// A member as the groups page shows it.
#[derive(Debug, Clone)]
pub struct Member {
    pub id: ContactId,
    pub name: String,
    pub phone: Option<PhoneNumber>,
    pub phone_verified: bool,
    pub email: Option<EmailAddress>,
}

#[derive(Debug, Clone)]
pub struct Group {
    pub id: GroupId,
    pub name: String,
    pub created_by: Option<UserId>,
    pub members: Vec<Member>,
}

impl Group {
    /// Members whose number cannot take phone calls or SMS yet.
    pub fn unverified(&self) -> Vec<&Member> {
        self.members
            .iter()
            .filter(|m| m.phone.is_none() || !m.phone_verified)
            .collect()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("Another group is already called “{0}”.")]
    NameTaken(String),
    #[error("Choose members from the workspace's contacts.")]
    UnknownMember,
    #[error(transparent)]
    Store(#[from] StoreError),
}

super::wraps_store_error!(SaveError);

/// A member's columns as loaded: id, name, phone, phone verified at, email.
type MemberRow = (
    ContactId,
    String,
    Option<PhoneNumber>,
    Option<chrono::NaiveDateTime>,
    Option<EmailAddress>,
);

fn members_of(conn: &mut DbConn, ids: &[GroupId]) -> StoreResult<BTreeMap<GroupId, Vec<Member>>> {
    let mut by_group: BTreeMap<GroupId, Vec<Member>> = BTreeMap::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<(GroupId, MemberRow)> = contact_group_members::table
            .inner_join(contacts::table)
            .filter(contact_group_members::group_id.eq_any(chunk))
            .order((contacts::name.asc(), contacts::id.asc()))
            .select((
                contact_group_members::group_id,
                (
                    contacts::id,
                    contacts::name,
                    contacts::phone,
                    contacts::phone_verified_at,
                    contacts::email,
                ),
            ))
            .load(conn)?;
        for (g, (id, name, phone, verified, email)) in rows {
            by_group.entry(g).or_default().push(Member {
                id,
                name,
                phone_verified: phone.is_some() && verified.is_some(),
                phone,
                email,
            });
        }
    }
    Ok(by_group)
}

/// The workspace's groups in name order, with their members.
pub fn list(conn: &mut DbConn, ws: &WorkspaceId) -> StoreResult<Vec<Group>> {
    let rows: Vec<(GroupId, String, Option<UserId>)> = contact_groups::table
        .filter(contact_groups::workspace_id.eq(ws))
        .order((contact_groups::name_key.asc(), contact_groups::id.asc()))
        .select((
            contact_groups::id,
            contact_groups::name,
            contact_groups::created_by,
        ))
        .load(conn)?;
    let ids: Vec<GroupId> = rows.iter().map(|r| r.0.clone()).collect();
    let mut members = members_of(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|(id, name, created_by)| Group {
            members: members.remove(&id).unwrap_or_default(),
            id,
            name,
            created_by,
        })
        .collect())
}

super::named::lookup_by_get!(Group, GroupId);
super::named::protected_object_delete!(contact_groups, Group, GroupId, Target::Group);
pub use super::named::DeleteError;

pub fn get(conn: &mut DbConn, ws: &WorkspaceId, id: &GroupId) -> StoreResult<Group> {
    let (id, name, created_by): (GroupId, String, Option<UserId>) = contact_groups::table
        .filter(contact_groups::workspace_id.eq(ws))
        .filter(contact_groups::id.eq(id))
        .select((
            contact_groups::id,
            contact_groups::name,
            contact_groups::created_by,
        ))
        .first(conn)?;
    let members = members_of(conn, std::slice::from_ref(&id))?
        .remove(&id)
        .unwrap_or_default();
    Ok(Group {
        id,
        name,
        created_by,
        members,
    })
}

fn check_members(
    conn: &mut DbConn,
    ws: &WorkspaceId,
    members: &[ContactId],
) -> Result<(), SaveError> {
    let mut wanted: Vec<&ContactId> = members.iter().collect();
    wanted.sort();
    wanted.dedup();
    let mut known = 0usize;
    for chunk in wanted.chunks(500) {
        known += contacts::table
            .filter(contacts::workspace_id.eq(ws))
            .filter(contacts::id.eq_any(chunk.iter().copied()))
            .count()
            .get_result::<i64>(conn)? as usize;
    }
    if known == wanted.len() {
        Ok(())
    } else {
        Err(SaveError::UnknownMember)
    }
}

fn name_taken(
    conn: &mut DbConn,
    ws: &WorkspaceId,
    name: &ObjectName,
    except: Option<&GroupId>,
) -> StoreResult<bool> {
    let mut q = contact_groups::table
        .filter(contact_groups::workspace_id.eq(ws))
        .filter(contact_groups::name_key.eq(name.as_str().to_lowercase()))
        .select(contact_groups::id)
        .into_boxed();
    if let Some(id) = except {
        q = q.filter(contact_groups::id.ne(id.clone()));
    }
    Ok(q.first::<GroupId>(conn).optional()?.is_some())
}

fn set_members(conn: &mut DbConn, id: &GroupId, members: &[ContactId]) -> QueryResult<()> {
    diesel::delete(contact_group_members::table.filter(contact_group_members::group_id.eq(id)))
        .execute(conn)?;
    let mut unique: Vec<&ContactId> = members.iter().collect();
    unique.sort();
    unique.dedup();
    for chunk in unique.chunks(200) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|c| {
                (
                    contact_group_members::group_id.eq(id),
                    contact_group_members::contact_id.eq(*c),
                )
            })
            .collect();
        super::on_backend!(conn, |c| diesel::insert_into(contact_group_members::table)
            .values(rows)
            .execute(c))?;
    }
    Ok(())
}

/// A unique violation from a concurrent save of the same name reads as the same message.
fn name_conflict(e: SaveError, name: &ObjectName) -> SaveError {
    match e {
        SaveError::Store(StoreError::Db(db)) if super::is_unique_violation(&db) => {
            SaveError::NameTaken(name.as_str().to_string())
        }
        other => other,
    }
}

pub fn create(
    conn: &mut DbConn,
    ws: &WorkspaceId,
    user: &UserId,
    name: &ObjectName,
    members: &[ContactId],
) -> Result<GroupId, SaveError> {
    let id = GroupId::new();
    super::write_transaction(conn, |c| {
        if name_taken(c, ws, name, None)? {
            return Err(SaveError::NameTaken(name.as_str().to_string()));
        }
        check_members(c, ws, members)?;
        let at = now();
        diesel::insert_into(contact_groups::table)
            .values((
                contact_groups::id.eq(&id),
                contact_groups::workspace_id.eq(ws),
                contact_groups::name.eq(name.as_str()),
                contact_groups::name_key.eq(name.as_str().to_lowercase()),
                contact_groups::created_by.eq(Some(user)),
                contact_groups::created_at.eq(at),
                contact_groups::updated_at.eq(at),
            ))
            .execute(c)?;
        set_members(c, &id, members)?;
        Ok(())
    })
    .map_err(|e| name_conflict(e, name))?;
    Ok(id)
}

pub fn update(
    conn: &mut DbConn,
    ws: &WorkspaceId,
    id: &GroupId,
    name: &ObjectName,
    members: &[ContactId],
) -> Result<(), SaveError> {
    super::write_transaction(conn, |c| {
        if name_taken(c, ws, name, Some(id))? {
            return Err(SaveError::NameTaken(name.as_str().to_string()));
        }
        check_members(c, ws, members)?;
        let n = diesel::update(
            contact_groups::table
                .filter(contact_groups::workspace_id.eq(ws))
                .filter(contact_groups::id.eq(id)),
        )
        .set((
            contact_groups::name.eq(name.as_str()),
            contact_groups::name_key.eq(name.as_str().to_lowercase()),
            contact_groups::updated_at.eq(now()),
        ))
        .execute(c)?;
        if n == 0 {
            return Err(SaveError::Store(StoreError::NotFound));
        }
        set_members(c, id, members)?;
        Ok(())
    })
    .map_err(|e| name_conflict(e, name))
}

/// The groups `contact` belongs to, (id, name) in name order.
pub fn of_contact(
    conn: &mut DbConn,
    ws: &WorkspaceId,
    contact: &ContactId,
) -> StoreResult<Vec<(GroupId, String)>> {
    Ok(contact_group_members::table
        .inner_join(contact_groups::table)
        .filter(contact_groups::workspace_id.eq(ws))
        .filter(contact_group_members::contact_id.eq(contact))
        .order(contact_groups::name_key.asc())
        .select((contact_groups::id, contact_groups::name))
        .load(conn)?)
}

/// Puts `contact` in exactly `groups` (those of the workspace; others are ignored).
pub fn set_for_contact(
    conn: &mut DbConn,
    ws: &WorkspaceId,
    contact: &ContactId,
    groups: &[GroupId],
) -> StoreResult<()> {
    super::write_transaction(conn, |c| {
        let ours: Vec<GroupId> = contact_groups::table
            .filter(contact_groups::workspace_id.eq(ws))
            .select(contact_groups::id)
            .load(c)?;
        diesel::delete(
            contact_group_members::table
                .filter(contact_group_members::contact_id.eq(contact))
                .filter(contact_group_members::group_id.eq_any(&ours)),
        )
        .execute(c)?;
        let mut chosen: Vec<&GroupId> = groups.iter().filter(|g| ours.contains(g)).collect();
        chosen.sort();
        chosen.dedup();
        for g in chosen {
            diesel::insert_into(contact_group_members::table)
                .values((
                    contact_group_members::group_id.eq(g),
                    contact_group_members::contact_id.eq(contact),
                ))
                .execute(c)?;
        }
        Ok(())
    })
}
