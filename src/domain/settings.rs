//! A workspace's settings as typed values: its time zone is an IANA name that exists.

use chrono::{NaiveDateTime, TimeZone as _};

/// An IANA time zone (`Asia/Shanghai`), checked against the tz database Herald carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeZone(chrono_tz::Tz);

impl TimeZone {
    pub const UTC: TimeZone = TimeZone(chrono_tz::UTC);

    pub fn parse(input: &str) -> Result<TimeZone, String> {
        let s = input.trim();
        if s.is_empty() {
            return Err("Enter a time zone, e.g. Asia/Shanghai or UTC.".into());
        }
        s.parse::<chrono_tz::Tz>()
            .map(TimeZone)
            .map_err(|_| format!("“{s}” is not a time zone Herald knows; use an IANA name such as Asia/Shanghai, Europe/Berlin or America/New_York."))
    }

    pub fn name(&self) -> &'static str {
        self.0.name()
    }

    /// A UTC time as the clock on the wall of this zone shows it.
    pub fn local(&self, utc: NaiveDateTime) -> NaiveDateTime {
        self.0.from_utc_datetime(&utc).naive_local()
    }

    /// The UTC instant of a wall-clock time on a local day. A time the clocks skip (DST
    /// spring-forward) is taken an hour later; a time they pass twice, the first time.
    pub fn utc_of(&self, day: chrono::NaiveDate, time: chrono::NaiveTime) -> NaiveDateTime {
        let local = day.and_time(time);
        let found = self.0.from_local_datetime(&local).earliest().or_else(|| {
            self.0
                .from_local_datetime(&(local + chrono::Duration::hours(1)))
                .earliest()
        });
        match found {
            Some(t) => t.naive_utc(),
            // No zone skips two hours; as a last resort the wall time is read as UTC.
            None => local,
        }
    }

    /// With seconds: `2026-12-03 22:05:09 CST`.
    pub fn show_seconds(&self, utc: NaiveDateTime) -> String {
        self.0
            .from_utc_datetime(&utc)
            .format("%Y-%m-%d %H:%M:%S %Z")
            .to_string()
    }

    /// `utc` written for people in this zone, e.g. `2026-12-03 22:05 CST`.
    pub fn show(&self, utc: NaiveDateTime) -> String {
        self.0
            .from_utc_datetime(&utc)
            .format("%Y-%m-%d %H:%M %Z")
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iana_names_parse_and_others_are_refused_with_a_hint() {
        assert_eq!(
            TimeZone::parse(" Asia/Shanghai ").map(|t| t.name()),
            Ok("Asia/Shanghai")
        );
        assert_eq!(TimeZone::parse("UTC"), Ok(TimeZone::UTC));
        let e = TimeZone::parse("Mars/Olympus").err().unwrap_or_default();
        assert!(e.contains("IANA"), "{e}");
        assert!(TimeZone::parse("").is_err());
    }

    #[test]
    fn wall_times_on_dst_change_days() {
        let ny = TimeZone::parse("America/New_York").unwrap_or(TimeZone::UTC);
        let d = |y, m, dd| chrono::NaiveDate::from_ymd_opt(y, m, dd).unwrap_or_default();
        let t = |h, m| chrono::NaiveTime::from_hms_opt(h, m, 0).unwrap_or_default();
        // 2026-03-08: 02:00 → 03:00. 02:30 does not exist: 03:30 EDT, 07:30 UTC.
        assert_eq!(
            ny.utc_of(d(2026, 3, 8), t(2, 30)).to_string(),
            "2026-03-08 07:30:00"
        );
        assert_eq!(
            ny.utc_of(d(2026, 3, 8), t(9, 0)).to_string(),
            "2026-03-08 13:00:00"
        );
        // 2026-11-01: 01:30 happens twice; the first (EDT) is taken.
        assert_eq!(
            ny.utc_of(d(2026, 11, 1), t(1, 30)).to_string(),
            "2026-11-01 05:30:00"
        );
        assert_eq!(
            ny.utc_of(d(2026, 11, 1), t(9, 0)).to_string(),
            "2026-11-01 14:00:00"
        );
        let sh = TimeZone::parse("Asia/Shanghai").unwrap_or(TimeZone::UTC);
        assert_eq!(
            sh.utc_of(d(2026, 12, 3), t(9, 0)).to_string(),
            "2026-12-03 01:00:00"
        );
    }

    #[test]
    fn times_show_in_the_zone() {
        let t = chrono::DateTime::from_timestamp(1_764_800_000, 0)
            .map(|d| d.naive_utc())
            .unwrap_or_default();
        let sh = TimeZone::parse("Asia/Shanghai").unwrap_or(TimeZone::UTC);
        assert_eq!(sh.local(t) - t, chrono::Duration::hours(8));
        assert!(sh.show(t).ends_with("CST"), "{}", sh.show(t));
    }
}
