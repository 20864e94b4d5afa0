//! Where contacts are bound: the platforms whose chat messages may @mention them.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{contact_bindings, contacts};
use super::{ChatbotId, ContactId, DbConn, StoreResult, WorkspaceId};
use crate::domain::Platform;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = contact_bindings)]
pub struct Binding {
    pub contact_id: ContactId,
    pub platform: Platform,
    pub chatbot_id: Option<ChatbotId>,
    pub bound_at: NaiveDateTime,
}

/// Every binding of the workspace's contacts.
pub fn list(c: &mut DbConn, ws: &WorkspaceId) -> StoreResult<Vec<Binding>> {
    Ok(contact_bindings::table
        .inner_join(contacts::table)
        .filter(contacts::workspace_id.eq(ws))
        .order((contact_bindings::contact_id, contact_bindings::platform))
        .select(Binding::as_select())
        .load(c)?)
}

/// The bindings of the given contacts (a page of the list).
pub fn of_contacts(c: &mut DbConn, ids: &[ContactId]) -> StoreResult<Vec<Binding>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(500) {
        out.extend(
            contact_bindings::table
                .filter(contact_bindings::contact_id.eq_any(chunk))
                .order((contact_bindings::contact_id, contact_bindings::platform))
                .select(Binding::as_select())
                .load(c)?,
        );
    }
    Ok(out)
}

/// Binds the contact on the platform (again: the newest binding is kept).
pub fn bind(
    c: &mut DbConn,
    contact: &ContactId,
    platform: Platform,
    chatbot: &ChatbotId,
    at: NaiveDateTime,
) -> StoreResult<()> {
    super::write_transaction(c, |c| {
        diesel::delete(
            contact_bindings::table
                .filter(contact_bindings::contact_id.eq(contact))
                .filter(contact_bindings::platform.eq(platform.code())),
        )
        .execute(c)?;
        diesel::insert_into(contact_bindings::table)
            .values((
                contact_bindings::contact_id.eq(contact),
                contact_bindings::platform.eq(platform.code()),
                contact_bindings::chatbot_id.eq(chatbot),
                contact_bindings::bound_at.eq(at),
            ))
            .execute(c)?;
        Ok(())
    })
}

/// Removes the contact's binding on the platform; answers whether there was one. A contact of
/// another workspace is left alone.
pub fn unbind(
    c: &mut DbConn,
    ws: &WorkspaceId,
    contact: &ContactId,
    platform: Platform,
) -> StoreResult<bool> {
    let ours = contacts::table
        .filter(contacts::workspace_id.eq(ws))
        .filter(contacts::id.eq(contact))
        .select(contacts::id);
    let n = diesel::delete(
        contact_bindings::table
            .filter(contact_bindings::contact_id.eq_any(ours))
            .filter(contact_bindings::platform.eq(platform.code())),
    )
    .execute(c)?;
    Ok(n > 0)
}
