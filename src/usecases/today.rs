//! The Today page's figures for a workspace: today's alert totals in its time zone, alerts
//! per hour over the last day, deliveries by channel and outcome, the failures to look at, and
//! readiness.

use chrono::NaiveDateTime;

use crate::domain::notification::{Channel, DeliveryState};
use crate::domain::readiness::Readiness;
use crate::domain::settings::TimeZone;
use crate::domain::today::{self, Outcome};
use crate::store::contact_index::ContactIndex;
use crate::store::outbox::{self, Troubled};
use crate::store::today::{self as counts, AlertTotals};
use crate::store::{Db, DbConn, StoreResult, WorkspaceId};

/// Failed deliveries the page lists at most.
pub const RECENT_FAILURES: i64 = 5;

/// One channel's deliveries today, by outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelCounts {
    pub channel: Channel,
    pub delivered: i64,
    pub under_way: i64,
    pub failed: i64,
}

impl ChannelCounts {
    pub fn total(&self) -> i64 {
        self.delivered + self.under_way + self.failed
    }

    pub fn count(&self, o: Outcome) -> i64 {
        match o {
            Outcome::Delivered => self.delivered,
            Outcome::UnderWay => self.under_way,
            Outcome::Failed => self.failed,
        }
    }
}

pub struct Today {
    /// When the workspace's day began (UTC).
    pub since: NaiveDateTime,
    pub now: NaiveDateTime,
    pub totals: AlertTotals,
    /// Each chart span's start (UTC) and the alerts first received in it, oldest first.
    pub hours: Vec<(NaiveDateTime, i64)>,
    /// Channels with deliveries today, in the channels' order.
    pub channels: Vec<ChannelCounts>,
    /// Chains today that ended with nobody reached.
    pub unreached: i64,
    /// The most recent failed or refused deliveries created today.
    pub failures: Vec<Troubled>,
    pub readiness: Readiness,
}

impl Today {
    pub fn failed(&self) -> i64 {
        self.channels.iter().map(|c| c.failed).sum()
    }
}

/// Today's figures. The alert counts, the delivery counts and readiness are three reads
/// that need nothing of each other; on PostgreSQL they run at once on three pooled
/// connections (each a scan of today's index entries, so the page waits for the longest
/// rather than their sum). SQLite's reads run on the request's own thread, one after another.
pub async fn gather(
    db: &Db,
    index: std::sync::Arc<ContactIndex>,
    ws: &WorkspaceId,
    tz: TimeZone,
    now: NaiveDateTime,
) -> StoreResult<Today> {
    let since = today::day_start(tz, now);
    let (a, d, r) = (ws.clone(), ws.clone(), ws.clone());
    let (alerts, deliveries, readiness) = tokio::try_join!(
        db.read(move |c| alert_figures(c, &a, tz, since, now)),
        db.read(move |c| delivery_figures(c, &d, since, now)),
        db.read(move |c| crate::usecases::readiness::of(c, &index, &r)),
    )?;
    let ((totals, hours), (channels, unreached, failures)) = (alerts, deliveries);
    Ok(Today {
        since,
        now,
        totals,
        hours,
        channels,
        unreached,
        failures,
        readiness,
    })
}

type AlertFigures = (AlertTotals, Vec<(NaiveDateTime, i64)>);

fn alert_figures(
    c: &mut DbConn,
    ws: &WorkspaceId,
    tz: TimeZone,
    since: NaiveDateTime,
    now: NaiveDateTime,
) -> StoreResult<AlertFigures> {
    let bounds = today::hour_bounds(tz, now);
    let per_hour = counts::received_per_span(c, ws, &bounds)?;
    // Local midnight is on a local hour, so it is one of the chart's bounds, and today's
    // count is the sum of the spans after it; it is counted apart only on a day longer than
    // the chart (the 25-hour day a DST change makes).
    let received = match bounds.iter().position(|b| *b == since) {
        Some(k) => per_hour[k..].iter().sum(),
        None => counts::received_between(c, ws, since, now)?,
    };
    let (resolved, firing) = counts::resolved_and_firing(c, ws, since, now)?;
    let totals = AlertTotals {
        received,
        resolved,
        firing,
    };
    Ok((totals, bounds.into_iter().zip(per_hour).collect()))
}

type DeliveryFigures = (Vec<ChannelCounts>, i64, Vec<Troubled>);

fn delivery_figures(
    c: &mut DbConn,
    ws: &WorkspaceId,
    since: NaiveDateTime,
    now: NaiveDateTime,
) -> StoreResult<DeliveryFigures> {
    let channels = by_channel(counts::deliveries_by_channel(c, ws, since, now)?);
    let unreached = counts::unreached(c, ws, since, now)?;
    let failures = outbox::troubled(
        c,
        ws,
        &[DeliveryState::Failed, DeliveryState::Refused],
        RECENT_FAILURES,
    )?
    .into_iter()
    .filter(|t| t.delivery.created_at >= since)
    .collect();
    Ok((channels, unreached, failures))
}

/// (channel, state, n) folded into one line per channel, in the channels' order.
fn by_channel(rows: Vec<(Channel, DeliveryState, i64)>) -> Vec<ChannelCounts> {
    let mut out: Vec<ChannelCounts> = Vec::new();
    for (channel, state, n) in rows {
        let line = match out.iter_mut().position(|l| l.channel == channel) {
            Some(i) => &mut out[i],
            None => {
                out.push(ChannelCounts {
                    channel,
                    delivered: 0,
                    under_way: 0,
                    failed: 0,
                });
                let last = out.len() - 1;
                &mut out[last]
            }
        };
        match Outcome::of(state) {
            Outcome::Delivered => line.delivered += n,
            Outcome::UnderWay => line.under_way += n,
            Outcome::Failed => line.failed += n,
        }
    }
    out.sort_by_key(|l| Channel::ALL.iter().position(|c| *c == l.channel));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_fold_into_one_line_per_channel_in_channel_order() {
        use DeliveryState::*;
        let rows = vec![
            (Channel::Email, Delivered, 3),
            (Channel::Sms, Failed, 1),
            (Channel::Sms, Refused, 2),
            (Channel::Sms, Retrying, 4),
            (Channel::Sms, Delivered, 5),
        ];
        let lines = by_channel(rows);
        assert_eq!(
            lines,
            vec![
                ChannelCounts {
                    channel: Channel::Sms,
                    delivered: 5,
                    under_way: 4,
                    failed: 3
                },
                ChannelCounts {
                    channel: Channel::Email,
                    delivered: 3,
                    under_way: 0,
                    failed: 0
                },
            ]
        );
        assert_eq!(lines[0].total(), 12);
    }
}
