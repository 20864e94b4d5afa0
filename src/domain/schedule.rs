//! On-call schedules: who is on duty at a moment, the next hand-offs, and the days ahead as
//! spans, in the schedule's own time zone.
//!
//! Daily and weekly rotations hand off at the same wall-clock time every day or week, whatever
//! the clocks do: a shift that spans a DST change is an hour shorter or longer. A hand-off at a
//! time the clocks skip (02:30 on a spring-forward day) happens an hour later by the wall
//! clock, at the same instant the skipped time would have been; one the clocks pass twice
//! happens the first time. A custom rotation of N hours hands off every N hours of real time,
//! so its wall-clock hand-off moves by the hour a DST change adds or takes.
//!
//! Pure: the caller passes the moment; overrides (X covers from A to B) win over the rotation,
//! the one added last when they overlap.

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};

use crate::domain::ids::ContactId;
use crate::domain::settings::TimeZone;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    Daily,
    Weekly,
    /// A shift of this many hours (1 to 720).
    Hours(u32),
}

impl Rotation {
    pub const MAX_HOURS: u32 = 720;

    /// `daily`, `weekly` or a number of hours.
    pub fn parse(kind: &str, hours: &str) -> Result<Rotation, String> {
        match kind.trim() {
            "daily" => Ok(Rotation::Daily),
            "weekly" => Ok(Rotation::Weekly),
            "custom" => match hours.trim().parse::<u32>() {
                Ok(h) if (1..=Self::MAX_HOURS).contains(&h) => Ok(Rotation::Hours(h)),
                _ => Err(format!(
                    "Enter a shift length of 1 to {} hours.",
                    Self::MAX_HOURS
                )),
            },
            _ => Err("Choose daily, weekly or a custom shift length.".into()),
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Rotation::Daily => "daily",
            Rotation::Weekly => "weekly",
            Rotation::Hours(_) => "custom",
        }
    }

    /// As stored: `daily`, `weekly` or `<n>h`.
    pub fn stored(self) -> String {
        match self {
            Rotation::Hours(h) => format!("{h}h"),
            other => other.code().to_string(),
        }
    }

    pub fn from_stored(s: &str) -> Result<Rotation, String> {
        match s.strip_suffix('h') {
            Some(hours) => Rotation::parse("custom", hours),
            None => Rotation::parse(s, ""),
        }
    }

    /// The shift length in hours, for a custom rotation.
    pub fn hours(self) -> Option<u32> {
        match self {
            Rotation::Hours(h) => Some(h),
            _ => None,
        }
    }

    /// As the schedules page says it.
    pub fn describe(self) -> String {
        match self {
            Rotation::Daily => "Daily".into(),
            Rotation::Weekly => "Weekly".into(),
            Rotation::Hours(1) => "Every hour".into(),
            Rotation::Hours(h) => format!("Every {h} hours"),
        }
    }

    fn days(self) -> Option<i64> {
        match self {
            Rotation::Daily => Some(1),
            Rotation::Weekly => Some(7),
            Rotation::Hours(_) => None,
        }
    }
}

/// `who` covers from `from` to `until` (UTC), whoever the rotation says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    pub who: ContactId,
    pub from: NaiveDateTime,
    pub until: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub tz: TimeZone,
    /// In rotation order.
    pub participants: Vec<ContactId>,
    pub rotation: Rotation,
    /// The wall-clock time shifts start, on `start` and after.
    pub handoff: NaiveTime,
    pub start: NaiveDate,
    /// In the order they were added.
    pub overrides: Vec<Override>,
}

/// Who is on duty from `from` to `until` (UTC), and whether an override put them there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub who: ContactId,
    pub from: NaiveDateTime,
    pub until: NaiveDateTime,
    pub overridden: bool,
}

impl Schedule {
    /// When shift `k` starts (UTC).
    fn shift_start(&self, k: i64) -> NaiveDateTime {
        match self.rotation.days() {
            Some(days) => {
                let day = self.start + Duration::days(k * days);
                self.tz.utc_of(day, self.handoff)
            }
            None => {
                let hours = match self.rotation {
                    Rotation::Hours(h) => i64::from(h),
                    _ => 24,
                };
                self.tz.utc_of(self.start, self.handoff) + Duration::hours(k * hours)
            }
        }
    }

    /// The shift running at `at`: its number, or None before the first.
    fn shift_at(&self, at: NaiveDateTime) -> Option<i64> {
        let first = self.shift_start(0);
        if at < first {
            return None;
        }
        let period_hours = match self.rotation {
            Rotation::Daily => 24,
            Rotation::Weekly => 24 * 7,
            Rotation::Hours(h) => i64::from(h),
        };
        // A guess from elapsed time, then put right by the real starts (a DST hour can move a
        // wall-clock shift's start either side of the guess).
        let mut k = (at - first).num_hours() / period_hours;
        while k > 0 && self.shift_start(k) > at {
            k -= 1;
        }
        while self.shift_start(k + 1) <= at {
            k += 1;
        }
        Some(k)
    }

    fn participant(&self, k: i64) -> Option<&ContactId> {
        let n = i64::try_from(self.participants.len())
            .ok()
            .filter(|n| *n > 0)?;
        let i = usize::try_from(k.rem_euclid(n)).ok()?;
        self.participants.get(i)
    }

    fn override_at(&self, at: NaiveDateTime) -> Option<&Override> {
        self.overrides
            .iter()
            .rev()
            .find(|o| o.from <= at && at < o.until)
    }

    /// Who is on duty at `at` (UTC); None before the schedule starts or with nobody in it.
    pub fn on_duty(&self, at: NaiveDateTime) -> Option<&ContactId> {
        if let Some(o) = self.override_at(at) {
            return Some(&o.who);
        }
        self.participant(self.shift_at(at)?)
    }

    /// Who is on duty from `from` to `until`, as consecutive spans (a change of person or of
    /// override starts a new one).
    pub fn spans(&self, from: NaiveDateTime, until: NaiveDateTime) -> Vec<Span> {
        let mut cuts: Vec<NaiveDateTime> = vec![from];
        for o in &self.overrides {
            for t in [o.from, o.until] {
                if from < t && t < until {
                    cuts.push(t);
                }
            }
        }
        let first = self.shift_at(from).unwrap_or(-1);
        let mut k = first + 1;
        loop {
            let t = self.shift_start(k);
            if t >= until {
                break;
            }
            if t > from {
                cuts.push(t);
            }
            k += 1;
        }
        cuts.sort();
        cuts.dedup();
        let mut spans: Vec<Span> = Vec::new();
        for (i, &start) in cuts.iter().enumerate() {
            let end = cuts.get(i + 1).copied().unwrap_or(until);
            let overridden = self.override_at(start).is_some();
            let Some(who) = self.on_duty(start).cloned() else {
                continue;
            };
            match spans.last_mut() {
                Some(last)
                    if last.who == who && last.overridden == overridden && last.until == start =>
                {
                    last.until = end;
                }
                _ => spans.push(Span {
                    who,
                    from: start,
                    until: end,
                    overridden,
                }),
            }
        }
        spans
    }

    /// The next `n` hand-offs after `at`: when, and who takes over.
    pub fn next_handoffs(&self, at: NaiveDateTime, n: usize) -> Vec<(NaiveDateTime, ContactId)> {
        let period = match self.rotation {
            Rotation::Daily => Duration::days(1),
            Rotation::Weekly => Duration::days(7),
            Rotation::Hours(h) => Duration::hours(i64::from(h)),
        };
        // Far enough ahead to see n changes even when a participant is listed twice in a row.
        let horizon = at
            + period * i32::try_from((n + 1) * self.participants.len().max(1)).unwrap_or(i32::MAX);
        self.spans(at, horizon)
            .into_iter()
            .skip(1)
            .take(n)
            .map(|s| (s.from, s.who))
            .collect()
    }
}

/// One local day of a schedule's calendar strip: who is on duty through it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Day {
    pub date: NaiveDate,
    pub spans: Vec<Span>,
    /// The day's length in minutes (23 or 25 hours on a DST change day).
    pub minutes: i64,
}

impl Day {
    /// A span's share of the day, in tenths of a percent, for drawing it.
    pub fn permille(&self, span: &Span) -> i64 {
        if self.minutes <= 0 {
            return 0;
        }
        (span.until - span.from).num_minutes() * 1000 / self.minutes
    }
}

impl Schedule {
    /// The `n` local days from `first`, each with its spans cut at local midnight.
    pub fn days(&self, first: NaiveDate, n: u32) -> Vec<Day> {
        let midnight = NaiveTime::MIN;
        (0..i64::from(n))
            .map(|i| {
                let date = first + Duration::days(i);
                let from = self.tz.utc_of(date, midnight);
                let until = self.tz.utc_of(date + Duration::days(1), midnight);
                Day {
                    date,
                    spans: self.spans(from, until),
                    minutes: (until - from).num_minutes(),
                }
            })
            .collect()
    }
}

/// A wall-clock date and time as a form sends it (`2026-12-04T09:00`, seconds optional; a
/// space instead of the `T` is taken too).
pub fn parse_local(input: &str) -> Result<NaiveDateTime, String> {
    let s = input.trim().replace(' ', "T");
    if s.is_empty() {
        return Err("Enter a date and time.".into());
    }
    ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(&s, f).ok())
        .ok_or_else(|| {
            format!(
                "“{}” is not a date and time like 2026-12-24T09:00.",
                input.trim()
            )
        })
}

/// The longest override: covering for longer is a change of the rotation.
pub const MAX_OVERRIDE_DAYS: i64 = 90;

/// Which field of an override is wrong, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoverError {
    pub field: &'static str,
    pub message: String,
}

/// An override's times typed in the schedule's zone, as UTC: it must end after it starts,
/// not be over already at `now`, and last at most [`MAX_OVERRIDE_DAYS`]. A local time the
/// clocks skip is read an hour later, as hand-offs are.
pub fn cover_times(
    tz: &TimeZone,
    from: &str,
    until: &str,
    now: NaiveDateTime,
) -> Result<(NaiveDateTime, NaiveDateTime), Vec<CoverError>> {
    let err = |field, message: String| CoverError { field, message };
    let utc = |t: NaiveDateTime| tz.utc_of(t.date(), t.time());
    let from = parse_local(from).map(utc).map_err(|m| err("from", m));
    let until = parse_local(until).map(utc).map_err(|m| err("until", m));
    match (from, until) {
        (Ok(from), Ok(until)) => {
            if until <= from {
                Err(vec![err(
                    "until",
                    "The end must be after the start.".into(),
                )])
            } else if until <= now {
                Err(vec![err(
                    "until",
                    "This time is already over: choose an end in the future.".into(),
                )])
            } else if until - from > Duration::days(MAX_OVERRIDE_DAYS) {
                Err(vec![err(
                    "until",
                    format!(
                        "An override lasts at most {MAX_OVERRIDE_DAYS} days; change the rotation for longer."
                    ),
                )])
            } else {
                Ok((from, until))
            }
        }
        (a, b) => Err([a.err(), b.err()].into_iter().flatten().collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap_or_default()
    }

    fn people(n: usize) -> Vec<ContactId> {
        (0..n).map(|_| ContactId::new()).collect()
    }

    fn schedule(
        zone: &str,
        rotation: Rotation,
        handoff: &str,
        start: &str,
        who: &[ContactId],
    ) -> Schedule {
        Schedule {
            tz: TimeZone::parse(zone).unwrap_or(TimeZone::UTC),
            participants: who.to_vec(),
            rotation,
            handoff: NaiveTime::parse_from_str(handoff, "%H:%M").unwrap_or_default(),
            start: NaiveDate::parse_from_str(start, "%Y-%m-%d").unwrap_or_default(),
            overrides: vec![],
        }
    }

    #[test]
    fn daily_rotation_in_order_and_nobody_before_the_start() {
        let p = people(3);
        let s = schedule("Asia/Shanghai", Rotation::Daily, "09:00", "2026-12-01", &p);
        // 09:00 Shanghai is 01:00 UTC.
        assert_eq!(s.on_duty(at("2026-12-01 00:59")), None);
        assert_eq!(s.on_duty(at("2026-12-01 01:00")), Some(&p[0]));
        assert_eq!(s.on_duty(at("2026-12-02 00:59")), Some(&p[0]));
        assert_eq!(s.on_duty(at("2026-12-02 01:00")), Some(&p[1]));
        assert_eq!(s.on_duty(at("2026-12-04 01:00")), Some(&p[0]));
        let empty = schedule("UTC", Rotation::Daily, "09:00", "2026-12-01", &[]);
        assert_eq!(empty.on_duty(at("2026-12-05 10:00")), None);
    }

    #[test]
    fn new_york_handoff_at_0230_on_both_change_days() {
        let p = people(2);
        let s = schedule(
            "America/New_York",
            Rotation::Daily,
            "02:30",
            "2026-03-06",
            &p,
        );
        // 7 March 02:30 EST = 07:30 UTC: p[1] takes over.
        assert_eq!(s.on_duty(at("2026-03-07 07:29")), Some(&p[0]));
        assert_eq!(s.on_duty(at("2026-03-07 07:30")), Some(&p[1]));
        // 8 March: 02:30 does not exist; the hand-off is at 03:30 EDT, which is 07:30 UTC,
        // the instant 02:30 EST would have been.
        assert_eq!(s.on_duty(at("2026-03-08 07:29")), Some(&p[1]));
        assert_eq!(s.on_duty(at("2026-03-08 07:30")), Some(&p[0]));
        // 9 March: back to 02:30 by the wall clock, now EDT: 06:30 UTC. A 23-hour shift.
        assert_eq!(s.on_duty(at("2026-03-09 06:29")), Some(&p[0]));
        assert_eq!(s.on_duty(at("2026-03-09 06:30")), Some(&p[1]));

        let fall = schedule(
            "America/New_York",
            Rotation::Daily,
            "02:30",
            "2026-10-30",
            &p,
        );
        // 31 Oct 02:30 EDT = 06:30 UTC; 1 Nov 02:30 EST = 07:30 UTC (a 25-hour shift).
        assert_eq!(fall.on_duty(at("2026-10-31 06:30")), Some(&p[1]));
        assert_eq!(fall.on_duty(at("2026-11-01 07:29")), Some(&p[1]));
        assert_eq!(fall.on_duty(at("2026-11-01 07:30")), Some(&p[0]));
        let next = fall.next_handoffs(at("2026-10-31 12:00"), 2);
        assert_eq!(
            next.iter().map(|(t, _)| *t).collect::<Vec<_>>(),
            vec![at("2026-11-01 07:30"), at("2026-11-02 07:30")]
        );
    }

    #[test]
    fn berlin_weekly_keeps_its_wall_clock_and_custom_hours_keep_real_time() {
        let p = people(2);
        // Europe/Berlin: 29 March 2026 02:00 → 03:00; 25 October 03:00 → 02:00.
        let weekly = schedule("Europe/Berlin", Rotation::Weekly, "09:00", "2026-03-23", &p);
        // Monday 23 March 09:00 CET = 08:00 UTC; Monday 30 March 09:00 CEST = 07:00 UTC.
        assert_eq!(weekly.on_duty(at("2026-03-30 06:59")), Some(&p[0]));
        assert_eq!(weekly.on_duty(at("2026-03-30 07:00")), Some(&p[1]));
        let autumn = schedule("Europe/Berlin", Rotation::Weekly, "09:00", "2026-10-19", &p);
        // 19 Oct 09:00 CEST = 07:00 UTC; 26 Oct 09:00 CET = 08:00 UTC.
        assert_eq!(autumn.on_duty(at("2026-10-26 07:59")), Some(&p[0]));
        assert_eq!(autumn.on_duty(at("2026-10-26 08:00")), Some(&p[1]));

        // 12-hour shifts from 28 March 20:00 CET (19:00 UTC): every 12 real hours, so after
        // the change the wall clock reads 09:00 and 21:00.
        let custom = schedule(
            "Europe/Berlin",
            Rotation::Hours(12),
            "20:00",
            "2026-03-28",
            &p,
        );
        assert_eq!(custom.on_duty(at("2026-03-29 06:59")), Some(&p[0]));
        assert_eq!(custom.on_duty(at("2026-03-29 07:00")), Some(&p[1]));
        assert_eq!(custom.on_duty(at("2026-03-29 19:00")), Some(&p[0]));
        assert!(Rotation::parse("custom", "0").is_err());
        assert!(Rotation::parse("custom", "721").is_err());
        assert_eq!(Rotation::parse("custom", "12"), Ok(Rotation::Hours(12)));
        assert!(Rotation::parse("monthly", "").is_err());
        for r in [Rotation::Daily, Rotation::Weekly, Rotation::Hours(12)] {
            assert_eq!(Rotation::from_stored(&r.stored()), Ok(r));
        }
        assert!(Rotation::from_stored("0h").is_err());
        assert!(Rotation::from_stored("").is_err());
    }

    #[test]
    fn calendar_days_follow_local_midnight_and_dst_lengths() {
        let p = people(2);
        let s = schedule(
            "America/New_York",
            Rotation::Daily,
            "02:30",
            "2026-03-06",
            &p,
        );
        let days = s.days(NaiveDate::from_ymd_opt(2026, 3, 7).unwrap_or_default(), 3);
        assert_eq!(
            days.iter().map(|d| d.minutes).collect::<Vec<_>>(),
            vec![24 * 60, 23 * 60, 24 * 60]
        );
        // 8 March: Bo (p[1]) until the 03:30 EDT hand-off, then Ana: 2.5 real hours, then
        // 20.5 of the 23.
        let d = &days[1];
        assert_eq!(d.spans.len(), 2);
        assert_eq!(
            (d.spans[0].who.clone(), d.permille(&d.spans[0])),
            (p[1].clone(), 108)
        );
        assert_eq!(d.spans[1].who, p[0]);
        assert_eq!(
            d.spans.last().map(|s| s.until),
            Some(at("2026-03-09 04:00"))
        );
    }

    #[test]
    fn override_times_are_read_in_the_zone_and_checked() {
        let tz = TimeZone::parse("Europe/Berlin").unwrap_or(TimeZone::UTC);
        let now = at("2026-03-28 12:00");
        // 02:30 on 29 March does not exist in Berlin: read as 03:30 CEST, 01:30 UTC.
        assert_eq!(
            cover_times(&tz, "2026-03-29T02:30", "2026-03-29 09:00:00", now),
            Ok((at("2026-03-29 01:30"), at("2026-03-29 07:00")))
        );
        let fields = |r: Result<_, Vec<CoverError>>| -> Vec<&'static str> {
            r.err()
                .unwrap_or_default()
                .iter()
                .map(|e| e.field)
                .collect()
        };
        assert_eq!(
            fields(cover_times(&tz, "", "tomorrow", now)),
            vec!["from", "until"]
        );
        assert_eq!(
            fields(cover_times(
                &tz,
                "2026-03-29T09:00",
                "2026-03-29T08:00",
                now
            )),
            vec!["until"]
        );
        assert_eq!(
            fields(cover_times(
                &tz,
                "2026-03-01T09:00",
                "2026-03-02T08:00",
                now
            )),
            vec!["until"]
        );
        assert_eq!(
            fields(cover_times(
                &tz,
                "2026-03-29T09:00",
                "2026-07-29T08:00",
                now
            )),
            vec!["until"]
        );
    }

    #[test]
    fn overrides_win_and_show_in_the_spans() {
        let p = people(3);
        let mut s = schedule("UTC", Rotation::Daily, "09:00", "2026-12-01", &p[..2]);
        s.overrides.push(Override {
            who: p[2].clone(),
            from: at("2026-12-01 12:00"),
            until: at("2026-12-01 18:00"),
        });
        assert_eq!(s.on_duty(at("2026-12-01 11:59")), Some(&p[0]));
        assert_eq!(s.on_duty(at("2026-12-01 12:00")), Some(&p[2]));
        assert_eq!(s.on_duty(at("2026-12-01 18:00")), Some(&p[0]));
        let spans = s.spans(at("2026-12-01 09:00"), at("2026-12-03 09:00"));
        let shown: Vec<(NaiveDateTime, &ContactId, bool)> = spans
            .iter()
            .map(|s| (s.from, &s.who, s.overridden))
            .collect();
        assert_eq!(
            shown,
            vec![
                (at("2026-12-01 09:00"), &p[0], false),
                (at("2026-12-01 12:00"), &p[2], true),
                (at("2026-12-01 18:00"), &p[0], false),
                (at("2026-12-02 09:00"), &p[1], false),
            ]
        );
        assert_eq!(spans.last().map(|s| s.until), Some(at("2026-12-03 09:00")));
        let next = s.next_handoffs(at("2026-12-01 10:00"), 3);
        assert_eq!(
            next,
            vec![
                (at("2026-12-01 12:00"), p[2].clone()),
                (at("2026-12-01 18:00"), p[0].clone()),
                (at("2026-12-02 09:00"), p[1].clone()),
            ]
        );
    }
}
