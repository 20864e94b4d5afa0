//! Verification links and Batch Verify runs.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::schema::{
    contacts, verification_links, verification_sends, verify_batch_failures, verify_batches,
};
use super::{ContactId, DbConn, StoreError, StoreResult, UserId, WorkspaceId, now};
use crate::domain::LinkToken;
use crate::domain::{Address, ContactMethod};

/// How long a link works.
pub const LINK_HOURS: i64 = 24;

/// A link about to be sent.
#[derive(Debug, Clone)]
pub struct NewLink {
    pub contact_id: ContactId,
    pub method: ContactMethod,
    pub target: Address,
    pub token: LinkToken,
}

/// Sends are remembered this long (the limits look back one hour).
const SENDS_KEPT_HOURS: i64 = 24;

/// Makes concurrent senders to the same addresses take turns until the transaction ends, so a
/// limit check and the send it allows cannot interleave with another's (a double click, or a
/// batch and a resend). PostgreSQL: one advisory lock per address. SQLite: the first statement
/// is a write, which takes the database's write lock (writers queue on busy_timeout); call it
/// before the transaction's first read, or the read's snapshot may be stale by the time the
/// write needs the lock (SQLITE_BUSY_SNAPSHOT). `targets` may be empty there.
pub fn lock_targets(conn: &mut DbConn, targets: &[String]) -> StoreResult<()> {
    use diesel::sql_types::BigInt;
    super::begin_write(conn)?;
    if let DbConn::Pg(c) = conn {
        // One of 1024 lock buckets per address: a large batch takes a bounded number of locks,
        // always in ascending order, so two transactions never wait on each other in a cycle.
        let mut keys: Vec<i64> = targets.iter().map(|t| lock_bucket(t)).collect();
        keys.sort_unstable();
        keys.dedup();
        for k in keys {
            diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
                .bind::<BigInt, _>(k)
                .execute(c)?;
        }
    }
    // Forget sends older than the limits look back (both backends; indexed by created_at).
    diesel::delete(
        verification_sends::table
            .filter(verification_sends::created_at.lt(now() - Duration::hours(SENDS_KEPT_HOURS))),
    )
    .execute(conn)?;
    Ok(())
}

/// A stable bucket for an address, offset so it cannot collide with other advisory lock users
/// that use small numbers.
fn lock_bucket(target: &str) -> i64 {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(target.as_bytes());
    0x4845_5241_0000 + i64::from(u16::from_be_bytes([d[0], d[1]]) & 1023)
}

/// When messages were sent to each of `targets` since `since`, in any workspace.
pub fn recent_sends(
    conn: &mut DbConn,
    targets: &[String],
    since: NaiveDateTime,
) -> StoreResult<Vec<(String, NaiveDateTime)>> {
    let mut found = Vec::new();
    for chunk in targets.chunks(500) {
        found.extend(
            verification_sends::table
                .filter(verification_sends::target.eq_any(chunk))
                .filter(verification_sends::created_at.gt(since))
                .select((verification_sends::target, verification_sends::created_at))
                .load::<(String, NaiveDateTime)>(conn)?,
        );
    }
    Ok(found)
}

/// How many messages the workspace sent in the last 24 hours.
pub fn sends_today(conn: &mut DbConn, ws: &WorkspaceId) -> StoreResult<i64> {
    Ok(verification_sends::table
        .filter(verification_sends::workspace_id.eq(ws))
        .filter(verification_sends::created_at.gt(now() - Duration::hours(24)))
        .count()
        .get_result(conn)?)
}

/// Remembers a send to each of `targets`; failed sends count too (a failing number is not
/// retried in a tight loop).
pub fn record_sends(conn: &mut DbConn, ws: &WorkspaceId, targets: &[String]) -> StoreResult<()> {
    let at = now();
    for chunk in targets.chunks(200) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|t| {
                (
                    verification_sends::target.eq(t),
                    verification_sends::workspace_id.eq(ws),
                    verification_sends::created_at.eq(at),
                )
            })
            .collect();
        super::on_backend!(conn, |c| diesel::insert_into(verification_sends::table)
            .values(rows)
            .execute(c))?;
    }
    Ok(())
}

/// Unused links of a contact method whose number or address changed are tied to no address, so
/// they can never verify anything again (even if the old value comes back); opening one says it
/// is out of date.
pub fn discard_unused(
    conn: &mut DbConn,
    contact: &ContactId,
    method: ContactMethod,
) -> QueryResult<usize> {
    diesel::update(
        verification_links::table
            .filter(verification_links::contact_id.eq(contact))
            .filter(verification_links::method.eq(method.code()))
            .filter(verification_links::used_at.is_null()),
    )
    .set(verification_links::target.eq(""))
    .execute(conn)
}

/// Stores the links (their verifier hashes) and marks each method as waiting for activation
/// until the links expire. Returns the expiry.
pub fn insert_links(
    conn: &mut DbConn,
    ws: &WorkspaceId,
    links: &[NewLink],
) -> StoreResult<NaiveDateTime> {
    let at = now();
    let expires = at + Duration::hours(LINK_HOURS);
    conn.transaction(|c| {
        for chunk in links.chunks(100) {
            let rows: Vec<_> = chunk
                .iter()
                .map(|l| {
                    (
                        verification_links::id.eq(uuid::Uuid::now_v7().to_string()),
                        verification_links::workspace_id.eq(ws),
                        verification_links::contact_id.eq(&l.contact_id),
                        verification_links::method.eq(l.method.code()),
                        verification_links::target.eq(l.target.as_str()),
                        verification_links::selector.eq(&l.token.selector),
                        verification_links::verifier_hash.eq(l.token.verifier_hash()),
                        verification_links::created_at.eq(at),
                        verification_links::expires_at.eq(expires),
                    )
                })
                .collect();
            // Multi-row inserts need the concrete backend (the MultiConnection cannot render them).
            super::on_backend!(c, |c| diesel::insert_into(verification_links::table)
                .values(rows)
                .execute(c))?;
            for method in ContactMethod::ALL {
                let ids: Vec<&ContactId> = chunk
                    .iter()
                    .filter(|l| l.method == *method)
                    .map(|l| &l.contact_id)
                    .collect();
                if ids.is_empty() {
                    continue;
                }
                let target = contacts::table
                    .filter(contacts::workspace_id.eq(ws))
                    .filter(contacts::id.eq_any(ids));
                match method {
                    ContactMethod::Phone => diesel::update(target)
                        .set(contacts::phone_link_expires_at.eq(expires))
                        .execute(c)?,
                    ContactMethod::Email => diesel::update(target)
                        .set(contacts::email_link_expires_at.eq(expires))
                        .execute(c)?,
                };
            }
        }
        Ok::<_, StoreError>(())
    })?;
    Ok(expires)
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = verification_links)]
pub struct Link {
    pub id: String,
    pub workspace_id: WorkspaceId,
    pub contact_id: ContactId,
    pub method: String,
    pub target: String,
    pub verifier_hash: String,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
}

impl Link {
    pub fn method(&self) -> ContactMethod {
        ContactMethod::parse(&self.method).unwrap_or(ContactMethod::Phone)
    }
}

pub fn find(conn: &mut DbConn, selector: &str) -> StoreResult<Option<Link>> {
    Ok(verification_links::table
        .filter(verification_links::selector.eq(selector))
        .select(Link::as_select())
        .first(conn)
        .optional()?)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmed {
    Verified,
    AlreadyUsed,
    Expired,
    /// The contact's number or address changed (or the contact is gone) since the link was sent.
    Outdated,
}

/// Uses the link: at most once, only before expiry, and only for the address it was sent to.
pub fn confirm(conn: &mut DbConn, link: &Link) -> StoreResult<Confirmed> {
    conn.transaction(|c| {
        let at = now();
        let used = diesel::update(
            verification_links::table
                .filter(verification_links::id.eq(&link.id))
                .filter(verification_links::used_at.is_null())
                .filter(verification_links::expires_at.gt(at)),
        )
        .set(verification_links::used_at.eq(at))
        .execute(c)?;
        if used == 0 {
            let current: Link = verification_links::table
                .find(&link.id)
                .select(Link::as_select())
                .first(c)?;
            return Ok(if current.used_at.is_some() {
                Confirmed::AlreadyUsed
            } else {
                Confirmed::Expired
            });
        }
        let contact = contacts::table
            .filter(contacts::workspace_id.eq(&link.workspace_id))
            .filter(contacts::id.eq(&link.contact_id));
        let n = match link.method() {
            ContactMethod::Phone => {
                diesel::update(contact.filter(contacts::phone.eq(&link.target)))
                    .set((
                        contacts::phone_verified_at.eq(at),
                        contacts::phone_link_expires_at.eq(None::<NaiveDateTime>),
                    ))
                    .execute(c)?
            }
            ContactMethod::Email => {
                diesel::update(contact.filter(contacts::email.eq(&link.target)))
                    .set((
                        contacts::email_verified_at.eq(at),
                        contacts::email_link_expires_at.eq(None::<NaiveDateTime>),
                    ))
                    .execute(c)?
            }
        };
        Ok(if n == 0 {
            Confirmed::Outdated
        } else {
            Confirmed::Verified
        })
    })
}

// Batch Verify runs.

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = verify_batches)]
pub struct Batch {
    pub id: String,
    pub total: i32,
    pub sent: i32,
    pub failed: i32,
    pub state: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub finished_at: Option<NaiveDateTime>,
}

pub const RUNNING: &str = "running";
pub const FINISHED: &str = "finished";
pub const INTERRUPTED: &str = "interrupted";

/// A running batch that has not moved for this long lost its process (crash or restart).
pub const STALE_AFTER_SECS: i64 = 120;

impl Batch {
    pub fn state(&self) -> &str {
        if self.state == RUNNING && now() - self.updated_at > Duration::seconds(STALE_AFTER_SECS) {
            INTERRUPTED
        } else {
            &self.state
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = verify_batch_failures)]
pub struct BatchFailure {
    pub contact_name: String,
    pub target: String,
    pub reason: String,
}

pub fn create_batch(
    conn: &mut DbConn,
    ws: &WorkspaceId,
    user: &UserId,
    total: usize,
) -> StoreResult<String> {
    let id = uuid::Uuid::now_v7().to_string();
    let at = now();
    let state = if total == 0 { FINISHED } else { RUNNING };
    diesel::insert_into(verify_batches::table)
        .values((
            verify_batches::id.eq(&id),
            verify_batches::workspace_id.eq(ws),
            verify_batches::created_by.eq(user),
            verify_batches::total.eq(total as i32),
            verify_batches::state.eq(state),
            verify_batches::created_at.eq(at),
            verify_batches::updated_at.eq(at),
            verify_batches::finished_at.eq((total == 0).then_some(at)),
        ))
        .execute(conn)?;
    Ok(id)
}

/// Adds finished sends to the counters; `finish` marks the run done.
pub fn record_progress(
    conn: &mut DbConn,
    batch: &str,
    sent: usize,
    failures: &[BatchFailure],
    finish: bool,
) -> StoreResult<()> {
    conn.transaction(|c| {
        let at = now();
        diesel::update(verify_batches::table.find(batch))
            .set((
                verify_batches::sent.eq(verify_batches::sent + sent as i32),
                verify_batches::failed.eq(verify_batches::failed + failures.len() as i32),
                verify_batches::updated_at.eq(at),
            ))
            .execute(c)?;
        if finish {
            diesel::update(verify_batches::table.find(batch))
                .set((
                    verify_batches::state.eq(FINISHED),
                    verify_batches::finished_at.eq(Some(at)),
                ))
                .execute(c)?;
        }
        for chunk in failures.chunks(100) {
            let rows: Vec<_> = chunk
                .iter()
                .map(|f| {
                    (
                        verify_batch_failures::batch_id.eq(batch),
                        verify_batch_failures::contact_name.eq(&f.contact_name),
                        verify_batch_failures::target.eq(&f.target),
                        verify_batch_failures::reason.eq(&f.reason),
                    )
                })
                .collect();
            super::on_backend!(c, |c| diesel::insert_into(verify_batch_failures::table)
                .values(rows)
                .execute(c))?;
        }
        Ok(())
    })
}

/// The batch of this workspace, with up to `max_failures` of its failures.
pub fn get_batch(
    conn: &mut DbConn,
    ws: &WorkspaceId,
    id: &str,
    max_failures: i64,
) -> StoreResult<(Batch, Vec<BatchFailure>)> {
    let batch = verify_batches::table
        .filter(verify_batches::workspace_id.eq(ws))
        .filter(verify_batches::id.eq(id))
        .select(Batch::as_select())
        .first(conn)?;
    let failures = verify_batch_failures::table
        .filter(verify_batch_failures::batch_id.eq(id))
        .order(verify_batch_failures::contact_name.asc())
        .limit(max_failures)
        .select(BatchFailure::as_select())
        .load(conn)?;
    Ok((batch, failures))
}

/// Batches still marked running that stopped moving: their process is gone.
pub fn mark_stale_interrupted(conn: &mut DbConn) -> StoreResult<usize> {
    let cutoff = now() - Duration::seconds(STALE_AFTER_SECS);
    Ok(diesel::update(
        verify_batches::table
            .filter(verify_batches::state.eq(RUNNING))
            .filter(verify_batches::updated_at.lt(cutoff)),
    )
    .set(verify_batches::state.eq(INTERRUPTED))
    .execute(conn)?)
}

/// Removes links whose message was never delivered, and puts each contact method's waiting
/// state back to what its remaining live links say.
pub fn withdraw(conn: &mut DbConn, ws: &WorkspaceId, failed: &[NewLink]) -> StoreResult<()> {
    conn.transaction(|c| {
        for chunk in failed.chunks(200) {
            let selectors: Vec<&str> = chunk.iter().map(|l| l.token.selector.as_str()).collect();
            diesel::delete(
                verification_links::table
                    .filter(verification_links::workspace_id.eq(ws))
                    .filter(verification_links::selector.eq_any(selectors)),
            )
            .execute(c)?;
        }
        let at = now();
        for l in failed {
            let live: Option<NaiveDateTime> = verification_links::table
                .filter(verification_links::contact_id.eq(&l.contact_id))
                .filter(verification_links::method.eq(l.method.code()))
                .filter(verification_links::target.eq(l.target.as_str()))
                .filter(verification_links::used_at.is_null())
                .filter(verification_links::expires_at.gt(at))
                .select(diesel::dsl::max(verification_links::expires_at))
                .first(c)?;
            let contact = contacts::table
                .filter(contacts::workspace_id.eq(ws))
                .filter(contacts::id.eq(&l.contact_id));
            match l.method {
                ContactMethod::Phone => diesel::update(contact)
                    .set(contacts::phone_link_expires_at.eq(live))
                    .execute(c)?,
                ContactMethod::Email => diesel::update(contact)
                    .set(contacts::email_link_expires_at.eq(live))
                    .execute(c)?,
            };
        }
        Ok(())
    })
}
