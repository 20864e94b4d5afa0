//! The Today page's clock and arithmetic: where the workspace's day began, the 24 hourly spans
//! its chart counts, and how a delivery's state reads as an outcome.

use chrono::{Duration, NaiveDateTime, NaiveTime, Timelike};

use crate::domain::notification::DeliveryState;
use crate::domain::settings::TimeZone;

/// Hours the chart shows, the current (partial) one last.
pub const CHART_HOURS: usize = 24;

/// The UTC instant the workspace's day began (local midnight, or the first time after it the
/// clocks show when midnight is skipped).
pub fn day_start(tz: TimeZone, now: NaiveDateTime) -> NaiveDateTime {
    tz.utc_of(tz.local(now).date(), NaiveTime::MIN)
}

/// `CHART_HOURS + 1` UTC instants, an hour apart, bounding the chart's spans: the last span is
/// the local hour `now` is in. Spans are real hours, so a DST change neither drops nor doubles
/// one; each span starts on the hour of the wall clock at its start (zones offset by half an
/// hour start on the half hour in UTC).
pub fn hour_bounds(tz: TimeZone, now: NaiveDateTime) -> Vec<NaiveDateTime> {
    let local = tz.local(now);
    let into_hour = Duration::minutes(i64::from(local.minute()))
        + Duration::seconds(i64::from(local.second()))
        + Duration::nanoseconds(i64::from(local.nanosecond()));
    let this_hour = now - into_hour;
    (0..=CHART_HOURS)
        .map(|i| this_hour - Duration::hours((CHART_HOURS - i) as i64 - 1))
        .collect()
}

/// What became of a delivery, as the Today page counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    Delivered,
    /// Queued, sending, calling or waiting to be tried again.
    UnderWay,
    /// Failed, refused or not sent: someone may need to look.
    Failed,
}

impl Outcome {
    pub const ALL: [Outcome; 3] = [Outcome::Delivered, Outcome::UnderWay, Outcome::Failed];

    pub fn of(state: DeliveryState) -> Outcome {
        match state {
            DeliveryState::Delivered => Outcome::Delivered,
            DeliveryState::Failed | DeliveryState::Refused | DeliveryState::NotSent => {
                Outcome::Failed
            }
            DeliveryState::Queued
            | DeliveryState::Retrying
            | DeliveryState::Throttled
            | DeliveryState::Sending
            | DeliveryState::Calling => Outcome::UnderWay,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Outcome::Delivered => "Delivered",
            Outcome::UnderWay => "Under way",
            Outcome::Failed => "Failed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap_or_default()
    }

    fn zone(name: &str) -> TimeZone {
        TimeZone::parse(name).unwrap_or(TimeZone::UTC)
    }

    #[test]
    fn the_day_starts_at_local_midnight() {
        // 01:30 UTC is 09:30 in Shanghai: its day began at 16:00 UTC the day before.
        let now = at("2026-12-03 01:30:00");
        assert_eq!(
            day_start(zone("Asia/Shanghai"), now),
            at("2026-12-02 16:00:00")
        );
        assert_eq!(day_start(TimeZone::UTC, now), at("2026-12-03 00:00:00"));
        // 03:00 UTC is 22:00 the day before in New York (EST).
        assert_eq!(
            day_start(zone("America/New_York"), now),
            at("2026-12-02 05:00:00")
        );
    }

    #[test]
    fn the_chart_ends_with_the_current_local_hour() {
        let b = hour_bounds(TimeZone::UTC, at("2026-12-03 10:17:42"));
        assert_eq!(b.len(), CHART_HOURS + 1);
        assert_eq!(b[CHART_HOURS - 1], at("2026-12-03 10:00:00"));
        assert_eq!(b[CHART_HOURS], at("2026-12-03 11:00:00"));
        assert_eq!(b[0], at("2026-12-02 11:00:00"));
        // India is UTC+5:30: its hours start on the half hour in UTC.
        let b = hour_bounds(zone("Asia/Kolkata"), at("2026-12-03 10:17:42"));
        assert_eq!(b[CHART_HOURS - 1], at("2026-12-03 09:30:00"));
        assert!(b.windows(2).all(|w| w[1] - w[0] == Duration::hours(1)));
    }

    #[test]
    fn across_a_dst_change_the_spans_stay_an_hour_long() {
        // New York fell back at 06:00 UTC on 2026-11-01: 24 real hours, none lost or doubled.
        let ny = zone("America/New_York");
        let b = hour_bounds(ny, at("2026-11-01 12:05:00"));
        assert!(b.windows(2).all(|w| w[1] - w[0] == Duration::hours(1)));
        assert_eq!(b[CHART_HOURS - 1], at("2026-11-01 12:00:00"));
        // The local hours the chart labels repeat 01:00 once (EDT, then EST).
        let labels: Vec<u32> = b[..CHART_HOURS]
            .iter()
            .map(|t| ny.local(*t).hour())
            .collect();
        assert_eq!(labels.iter().filter(|h| **h == 1).count(), 2, "{labels:?}");
    }

    #[test]
    fn local_midnight_is_a_chart_bound_whenever_the_chart_reaches_back_to_it() {
        // Today's count is summed from the chart's spans after midnight, so midnight must be
        // one of their bounds, through DST changes and half-hour zones alike.
        let zones = [
            "UTC",
            "Asia/Shanghai",
            "Asia/Kolkata",
            "America/New_York",
            "Europe/Berlin",
        ];
        for name in zones {
            let tz = zone(name);
            let mut now = at("2026-03-07 00:10:00");
            while now < at("2026-03-31 00:00:00") {
                let (since, bounds) = (day_start(tz, now), hour_bounds(tz, now));
                if since >= bounds[0] {
                    assert!(bounds.contains(&since), "{name} at {now}: {since}");
                }
                now += Duration::minutes(37);
            }
        }
    }

    #[test]
    fn every_state_has_one_outcome() {
        for s in DeliveryState::ALL {
            let o = Outcome::of(*s);
            assert_eq!(o == Outcome::Delivered, *s == DeliveryState::Delivered);
            assert_eq!(o == Outcome::UnderWay, !s.is_final());
        }
    }
}
