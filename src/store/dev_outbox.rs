//! What the console providers "sent", for the Dev outbox page.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::dev_outbox;
use super::{DbConn, StoreResult, WorkspaceId, now};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = dev_outbox)]
pub struct OutboxMessage {
    pub id: String,
    pub channel: String,
    pub recipient: String,
    pub subject: Option<String>,
    pub body: String,
    pub created_at: NaiveDateTime,
}

/// Messages kept per workspace; older ones are dropped as new ones arrive.
pub const KEEP: i64 = 500;

pub fn add(
    conn: &mut DbConn,
    ws: Option<&WorkspaceId>,
    channel: &str,
    recipient: &str,
    subject: Option<&str>,
    body: &str,
) -> StoreResult<String> {
    // UUIDv7 ids sort by time, so "newest first" is an index scan.
    let id = uuid::Uuid::now_v7().to_string();
    diesel::insert_into(dev_outbox::table)
        .values((
            dev_outbox::id.eq(&id),
            dev_outbox::workspace_id.eq(ws),
            dev_outbox::channel.eq(channel),
            dev_outbox::recipient.eq(recipient),
            dev_outbox::subject.eq(subject),
            dev_outbox::body.eq(body),
            dev_outbox::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(id)
}

/// Whether the entry `id` is the workspace's.
pub fn belongs_to(conn: &mut DbConn, ws: &WorkspaceId, id: &str) -> StoreResult<bool> {
    let n: i64 = dev_outbox::table
        .filter(dev_outbox::id.eq(id))
        .filter(dev_outbox::workspace_id.eq(ws))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Newest first.
pub fn list(conn: &mut DbConn, ws: &WorkspaceId, limit: i64) -> StoreResult<Vec<OutboxMessage>> {
    Ok(dev_outbox::table
        .filter(dev_outbox::workspace_id.eq(ws))
        .order(dev_outbox::id.desc())
        .limit(limit)
        .select(OutboxMessage::as_select())
        .load(conn)?)
}

/// Drops all but the newest [`KEEP`] messages of the workspace.
pub fn trim(conn: &mut DbConn, ws: &WorkspaceId) -> StoreResult<()> {
    let cutoff: Option<String> = dev_outbox::table
        .filter(dev_outbox::workspace_id.eq(ws))
        .order(dev_outbox::id.desc())
        .offset(KEEP)
        .select(dev_outbox::id)
        .first(conn)
        .optional()?;
    if let Some(id) = cutoff {
        diesel::delete(
            dev_outbox::table
                .filter(dev_outbox::workspace_id.eq(ws))
                .filter(dev_outbox::id.le(id)),
        )
        .execute(conn)?;
    }
    Ok(())
}
