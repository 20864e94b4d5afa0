//! What the Today page counts: alerts received, resolved and firing in a span, alerts per
//! hour, and deliveries by channel and state. Each is a count the database answers from an
//! index (migration 000014), so the page costs the same with 100 000 alerts as with 100.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{alerts, deliveries};
use super::{DbConn, StoreResult, WorkspaceId};
use crate::domain::notification::{Channel, DeliveryState};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AlertTotals {
    /// First received in the span.
    pub received: i64,
    /// Ended (resolved) in the span.
    pub resolved: i64,
    /// Firing now, whenever they began.
    pub firing: i64,
}

pub fn alert_totals(
    c: &mut DbConn,
    ws: &WorkspaceId,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> StoreResult<AlertTotals> {
    let received = received_between(c, ws, from, to)?;
    let (resolved, firing) = resolved_and_firing(c, ws, from, to)?;
    Ok(AlertTotals {
        received,
        resolved,
        firing,
    })
}

/// Alerts resolved in the span, and firing now.
pub fn resolved_and_firing(
    c: &mut DbConn,
    ws: &WorkspaceId,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> StoreResult<(i64, i64)> {
    let resolved: i64 = alerts::table
        .filter(alerts::workspace_id.eq(ws))
        .filter(alerts::status.eq("resolved"))
        .filter(alerts::ends_at.ge(from))
        .filter(alerts::ends_at.lt(to))
        .count()
        .get_result(c)?;
    let firing: i64 = alerts::table
        .filter(alerts::workspace_id.eq(ws))
        .filter(alerts::status.eq("firing"))
        .count()
        .get_result(c)?;
    Ok((resolved, firing))
}

pub fn received_between(
    c: &mut DbConn,
    ws: &WorkspaceId,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> StoreResult<i64> {
    Ok(alerts::table
        .filter(alerts::workspace_id.eq(ws))
        .filter(alerts::received_at.ge(from))
        .filter(alerts::received_at.lt(to))
        .count()
        .get_result(c)?)
}

/// Alerts first received between each pair of neighbouring `bounds` (one count per span, so
/// `bounds.len() - 1` of them). One range count per span keeps the query the same on both
/// databases, where grouping by hour would need each one's date functions.
pub fn received_per_span(
    c: &mut DbConn,
    ws: &WorkspaceId,
    bounds: &[NaiveDateTime],
) -> StoreResult<Vec<i64>> {
    bounds
        .windows(2)
        .map(|w| received_between(c, ws, w[0], w[1]))
        .collect()
}

/// Deliveries of each channel and state created in the span, as (channel, state, how many),
/// leaving out pairs with none. One range count per pair: grouping in one query would read
/// the workspace's deliveries of every day (or sort today's), where each pair's range is read
/// straight off the index.
pub fn deliveries_by_channel(
    c: &mut DbConn,
    ws: &WorkspaceId,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> StoreResult<Vec<(Channel, DeliveryState, i64)>> {
    let mut out = Vec::new();
    for channel in Channel::ALL {
        for state in DeliveryState::ALL {
            let n: i64 = deliveries::table
                .filter(deliveries::workspace_id.eq(ws))
                .filter(deliveries::channel.eq(channel.code()))
                .filter(deliveries::state.eq(state.code()))
                .filter(deliveries::created_at.ge(from))
                .filter(deliveries::created_at.lt(to))
                .count()
                .get_result(c)?;
            if n > 0 {
                out.push((*channel, *state, n));
            }
        }
    }
    Ok(out)
}

/// Chains that ended with nobody reached, among deliveries created in the span.
pub fn unreached(
    c: &mut DbConn,
    ws: &WorkspaceId,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> StoreResult<i64> {
    Ok(deliveries::table
        .filter(deliveries::workspace_id.eq(ws))
        .filter(deliveries::created_at.ge(from))
        .filter(deliveries::created_at.lt(to))
        // The bare column, not `= ?`: SQLite uses a partial index only for a condition
        // written as the index's own.
        .filter(deliveries::unreached)
        .count()
        .get_result(c)?)
}
