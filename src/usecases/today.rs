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
use crate::store::{DbConn, StoreResult, WorkspaceId};

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

pub fn load(
    c: &mut DbConn,
    index: &ContactIndex,
    ws: &WorkspaceId,
    tz: TimeZone,
    now: NaiveDateTime,
) -> StoreResult<Today> {
    let since = today::day_start(tz, now);
    let totals = counts::alert_totals(c, ws, since, now)?;
    let bounds = today::hour_bounds(tz, now);
    let per_hour = counts::received_per_span(c, ws, &bounds)?;
    let hours = bounds.iter().copied().zip(per_hour).collect();
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
    let readiness = crate::usecases::readiness::of(c, index, ws)?;
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

/// Rows of (channel, state, n) folded into one line per channel. A code this build does not
/// know (a newer process's) is left out rather than guessed at.
fn by_channel(rows: Vec<(String, String, i64)>) -> Vec<ChannelCounts> {
    let mut out: Vec<ChannelCounts> = Vec::new();
    for (channel, state, n) in rows {
        let (Ok(channel), Ok(state)) = (Channel::parse(&channel), DeliveryState::parse(&state))
        else {
            tracing::warn!(%channel, %state, "Today: a delivery's channel or state is not one this build knows");
            continue;
        };
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
        let rows = vec![
            ("email".to_string(), "delivered".to_string(), 3),
            ("sms".into(), "failed".into(), 1),
            ("sms".into(), "refused".into(), 2),
            ("sms".into(), "retrying".into(), 4),
            ("sms".into(), "delivered".into(), 5),
            ("carrier-pigeon".into(), "delivered".into(), 9),
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
