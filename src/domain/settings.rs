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
    fn times_show_in_the_zone() {
        let t = chrono::DateTime::from_timestamp(1_764_800_000, 0)
            .map(|d| d.naive_utc())
            .unwrap_or_default();
        let sh = TimeZone::parse("Asia/Shanghai").unwrap_or(TimeZone::UTC);
        assert_eq!(sh.local(t) - t, chrono::Duration::hours(8));
        assert!(sh.show(t).ends_with("CST"), "{}", sh.show(t));
    }
}
