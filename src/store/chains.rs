//! Delivery chains: the deliveries that follow a failed one (fallback hops), calls waiting for
//! their outcome, and the mark on the delivery whose failure reached nobody.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::outbox::{Attempt, NewDelivery};
use super::schema::{deliveries, delivery_attempts};
use super::{DbConn, StoreResult, WorkspaceId};
use crate::domain::fallback::Hop;
use crate::domain::ids::{DeliveryId, NotificationId};
use crate::domain::notification::{Channel, DeliveryState};

/// A delivery that ended, as the fallback rules read it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = deliveries)]
pub struct EndedRow {
    pub id: DeliveryId,
    pub workspace_id: WorkspaceId,
    pub notification_id: NotificationId,
    pub channel: String,
    pub target_id: String,
    pub recipient: String,
    pub hop: Option<String>,
    pub meant_for: Option<String>,
    pub last_outcome: Option<String>,
    pub state: String,
}

impl EndedRow {
    /// The contact the chain is for: the hop's, or the delivery's own recipient.
    pub fn meant_for(&self) -> &str {
        self.meant_for.as_deref().unwrap_or(&self.target_id)
    }

    pub fn hop(&self) -> Option<Hop> {
        self.hop.as_deref().and_then(|h| Hop::parse(h).ok())
    }
}

pub fn ended(c: &mut DbConn, ids: &[DeliveryId]) -> StoreResult<Vec<EndedRow>> {
    let people = [
        Channel::Phone.code(),
        Channel::Sms.code(),
        Channel::Email.code(),
    ];
    let mut out = Vec::new();
    for chunk in ids.chunks(400) {
        out.extend(
            deliveries::table
                .filter(deliveries::id.eq_any(chunk))
                .filter(deliveries::channel.eq_any(people))
                .select(EndedRow::as_select())
                .load(c)?,
        );
    }
    Ok(out)
}

/// A chat delivery that ended, with the @mentions it carried.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = deliveries)]
pub struct EndedChat {
    #[diesel(embed)]
    pub row: EndedRow,
    pub mentions: Option<String>,
}

/// The chat deliveries among `ids`.
pub fn ended_chats(c: &mut DbConn, ids: &[DeliveryId]) -> StoreResult<Vec<EndedChat>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(400) {
        out.extend(
            deliveries::table
                .filter(deliveries::id.eq_any(chunk))
                .filter(deliveries::channel.eq(Channel::Chatbot.code()))
                .select(EndedChat::as_select())
                .load(c)?,
        );
    }
    Ok(out)
}

/// What the chain of `meant_for` in a notification has done so far: the hops made, and the
/// channels the policy itself uses for that contact (deliveries not failed, `except` aside).
pub fn so_far(
    c: &mut DbConn,
    notification: &NotificationId,
    meant_for: &str,
    except: &DeliveryId,
) -> StoreResult<(Vec<Hop>, Vec<Channel>)> {
    let hops: Vec<Option<String>> = deliveries::table
        .filter(deliveries::notification_id.eq(notification))
        .filter(deliveries::meant_for.eq(meant_for))
        .select(deliveries::hop)
        .load(c)?;
    let failed = [
        DeliveryState::Failed.code(),
        DeliveryState::Refused.code(),
        DeliveryState::NotSent.code(),
    ];
    let channels: Vec<String> = deliveries::table
        .filter(deliveries::notification_id.eq(notification))
        .filter(deliveries::target_id.eq(meant_for))
        .filter(deliveries::hop.is_null())
        .filter(deliveries::id.ne(except))
        .filter(deliveries::state.ne_all(failed))
        .select(deliveries::channel)
        .load(c)?;
    Ok((
        hops.into_iter()
            .flatten()
            .filter_map(|h| Hop::parse(&h).ok())
            .collect(),
        channels
            .into_iter()
            .filter_map(|ch| Channel::parse(&ch).ok())
            .collect(),
    ))
}

/// Queues a hop; false when the chain already made this hop (another process, a retry).
pub fn add_hop(c: &mut DbConn, hop: &NewDelivery) -> StoreResult<bool> {
    let n = super::on_backend!(c, |c| diesel::insert_into(deliveries::table)
        .values(hop.clone())
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(n == 1)
}

/// The delivery's failure ended its chain with nobody reached; `why` says so on it.
pub fn mark_unreached(c: &mut DbConn, id: &DeliveryId, why: &str) -> StoreResult<()> {
    diesel::update(deliveries::table.find(id))
        .set((
            deliveries::unreached.eq(true),
            deliveries::last_outcome.eq(format!("Nobody could be reached: {why}")),
        ))
        .execute(c)?;
    Ok(())
}

/// A placed call waiting for its outcome.
#[derive(Debug, Clone, Queryable)]
pub struct WaitingCall {
    pub id: DeliveryId,
    pub workspace_id: WorkspaceId,
    pub provider_ref: Option<String>,
    /// When the call was placed (the last attempt's time is close to it).
    pub due_at: NaiveDateTime,
}

const WAITING: (
    deliveries::id,
    deliveries::workspace_id,
    deliveries::provider_ref,
    deliveries::due_at,
) = (
    deliveries::id,
    deliveries::workspace_id,
    deliveries::provider_ref,
    deliveries::due_at,
);

/// The call the provider knows as `reference`, while it waits for its outcome.
pub fn call_by_ref(c: &mut DbConn, reference: &str) -> StoreResult<Option<WaitingCall>> {
    let q = deliveries::table
        .filter(deliveries::provider_ref.eq(reference))
        .filter(deliveries::state.eq(DeliveryState::Calling.code()))
        .select(WAITING);
    Ok(match c {
        DbConn::Pg(pg) => q.for_update().first(pg).optional()?,
        DbConn::Sqlite(s) => q.first(s).optional()?,
    })
}

/// Calls still waiting: those whose deadline passed (`overdue`), or all of them.
pub fn waiting_calls(
    c: &mut DbConn,
    overdue_at: Option<NaiveDateTime>,
    limit: i64,
) -> StoreResult<Vec<WaitingCall>> {
    let q = deliveries::table
        .filter(deliveries::state.eq(DeliveryState::Calling.code()))
        .order(deliveries::due_at.asc())
        .limit(limit)
        .select(WAITING);
    Ok(match overdue_at {
        Some(at) => q.filter(deliveries::lease_until.lt(at)).load(c)?,
        None => q.load(c)?,
    })
}

/// A waiting call's outcome: its attempt recorded and its final state set. False when it was
/// no longer waiting (another process learned the outcome first).
pub fn finish_call(
    c: &mut DbConn,
    id: &DeliveryId,
    attempt: &Attempt,
    state: DeliveryState,
    at: NaiveDateTime,
) -> StoreResult<bool> {
    let n = diesel::update(
        deliveries::table
            .filter(deliveries::id.eq(id))
            .filter(deliveries::state.eq(DeliveryState::Calling.code())),
    )
    .set((
        deliveries::state.eq(state.code()),
        deliveries::lease_until.eq(None::<NaiveDateTime>),
        deliveries::last_outcome.eq(Some(&attempt.message)),
        deliveries::finished_at.eq(Some(at)),
        deliveries::due_at.eq(at),
    ))
    .execute(c)?;
    if n == 0 {
        return Ok(false);
    }
    diesel::insert_into(delivery_attempts::table)
        .values((
            delivery_attempts::id.eq(DeliveryId::new().to_string()),
            delivery_attempts::delivery_id.eq(id),
            delivery_attempts::at.eq(attempt.at),
            delivery_attempts::duration_ms.eq(attempt.duration_ms),
            delivery_attempts::outcome.eq(&attempt.outcome),
            delivery_attempts::code.eq(&attempt.code),
            delivery_attempts::message.eq(&attempt.message),
        ))
        .execute(c)?;
    Ok(true)
}
