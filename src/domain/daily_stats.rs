//! Daily statistics: when each of a chatbot's `HH:MM` times comes due in the workspace's time
//! zone, and what the summary says. A time is sent when it has come (late, if Herald was down,
//! within an hour of it) and recorded as skipped after that.

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};

use crate::domain::catalog::Lang;
use crate::domain::readiness::Readiness;
use crate::domain::settings::TimeZone;

/// How late a missed time may still be sent.
pub const LATE_LIMIT: Duration = Duration::hours(1);

/// One time of one local day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub day: NaiveDate,
    pub time: NaiveTime,
    /// When it comes, in UTC.
    pub at: NaiveDateTime,
}

impl Slot {
    pub fn day_code(&self) -> String {
        self.day.format("%Y-%m-%d").to_string()
    }

    pub fn time_code(&self) -> String {
        self.time.format("%H:%M").to_string()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    Send,
    Skip,
}

/// The `HH:MM` times of a chatbot's setting (`09:00,18:00`); bad entries are left out (the
/// form refuses them, so only a hand-edited row has any).
pub fn parse_times(stored: &str) -> Vec<NaiveTime> {
    stored
        .split(',')
        .filter_map(|t| NaiveTime::parse_from_str(t.trim(), "%H:%M").ok())
        .collect()
}

/// The slots of yesterday and today (local) that have come by `now`, and what to do with
/// each: those before `since` (when the setting was last saved) are not owed.
pub fn due(
    times: &[NaiveTime],
    tz: TimeZone,
    now: NaiveDateTime,
    since: NaiveDateTime,
) -> Vec<(Slot, Due)> {
    let today = tz.local(now).date();
    let mut out = Vec::new();
    for day in [today.pred_opt().unwrap_or(today), today] {
        for &time in times {
            let at = tz.utc_of(day, time);
            if at > now || at < since {
                continue;
            }
            let what = if now - at <= LATE_LIMIT {
                Due::Send
            } else {
                Due::Skip
            };
            out.push((Slot { day, time, at }, what));
        }
    }
    out
}

/// What the summary reports about the local day so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub workspace: String,
    /// `2026-12-03` and the time of the slot.
    pub day: String,
    pub time: String,
    pub received: i64,
    pub resolved: i64,
    pub firing: i64,
    /// Alertnames with how many alerts each, most first.
    pub top: Vec<(String, i64)>,
    pub failed_deliveries: i64,
    pub readiness: Readiness,
}

/// The summary's title and markdown text in `lang`.
pub fn render(s: &Summary, lang: Lang) -> (String, String) {
    let mut out = String::new();
    let (title, lines) = match lang {
        Lang::En => (
            format!(
                "Herald daily statistics · {} · {} {}",
                s.workspace, s.day, s.time
            ),
            [
                format!("- Alerts received today: **{}**", s.received),
                format!("- Resolved today: **{}**", s.resolved),
                format!("- Still firing: **{}**", s.firing),
                format!(
                    "- Deliveries that failed today: **{}**",
                    s.failed_deliveries
                ),
            ],
        ),
        Lang::Zh => (
            format!("Herald 每日统计 · {} · {} {}", s.workspace, s.day, s.time),
            [
                format!("- 今日收到告警：**{}**", s.received),
                format!("- 今日已恢复：**{}**", s.resolved),
                format!("- 仍在告警：**{}**", s.firing),
                format!("- 今日发送失败：**{}**", s.failed_deliveries),
            ],
        ),
    };
    for l in lines {
        out.push_str(&l);
        out.push('\n');
    }
    if !s.top.is_empty() {
        out.push_str(match lang {
            Lang::En => "\n**Top alerts**\n",
            Lang::Zh => "\n**告警排行**\n",
        });
        for (name, n) in &s.top {
            out.push_str(&format!("- {name}: {n}\n"));
        }
    }
    out.push_str(match lang {
        Lang::En => "\n**Readiness**\n",
        Lang::Zh => "\n**就绪检查**\n",
    });
    if s.readiness.is_ready() {
        out.push_str(match lang {
            Lang::En => "- Every policy reaches someone, and everyone it uses can be reached.\n",
            Lang::Zh => "- 每条策略都能通知到人，所有被使用的联系人都可联系。\n",
        });
    }
    for p in &s.readiness.silent {
        let name = &p.name;
        out.push_str(&match lang {
            Lang::En => format!("- Policy “{name}” would reach nobody\n"),
            Lang::Zh => format!("- 策略“{name}”无法通知到任何人\n"),
        });
    }
    for c in &s.readiness.unready {
        let (name, gaps) = (&c.name, c.gaps_text(lang));
        out.push_str(&match lang {
            Lang::En => format!("- {name}: {gaps}\n"),
            Lang::Zh => format!("- {name}：{gaps}\n"),
        });
    }
    (title, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::readiness::{SilentPolicy, UnreadyContact};

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap_or_default()
    }

    #[test]
    fn times_come_due_in_the_zone_late_within_an_hour_else_skipped() {
        let sh = TimeZone::parse("Asia/Shanghai").unwrap_or(TimeZone::UTC);
        let times = parse_times("09:00, 18:00,bad");
        assert_eq!(times.len(), 2);
        let since = at("2026-12-01 00:00");
        // 09:30 in Shanghai is 01:30 UTC: 09:00 is due; yesterday's 18:00 was missed by hours.
        let d = due(&times, sh, at("2026-12-03 01:30"), since);
        let codes: Vec<(String, String, Due)> = d
            .iter()
            .map(|(s, w)| (s.day_code(), s.time_code(), *w))
            .collect();
        assert_eq!(
            codes,
            vec![
                ("2026-12-02".into(), "09:00".into(), Due::Skip),
                ("2026-12-02".into(), "18:00".into(), Due::Skip),
                ("2026-12-03".into(), "09:00".into(), Due::Send),
            ]
        );
        // Times from before the setting was saved are not owed.
        assert_eq!(
            due(&times, sh, at("2026-12-03 01:30"), at("2026-12-03 01:10")),
            vec![]
        );
        // Just over an hour late: skipped.
        let d = due(&times, sh, at("2026-12-03 02:01"), at("2026-12-03 00:00"));
        assert_eq!(
            d.iter().map(|(_, w)| *w).collect::<Vec<_>>(),
            vec![Due::Skip]
        );
    }

    #[test]
    fn a_new_york_time_on_the_spring_forward_day_still_comes() {
        let ny = TimeZone::parse("America/New_York").unwrap_or(TimeZone::UTC);
        let times = parse_times("02:30");
        let d = due(&times, ny, at("2026-03-08 07:45"), at("2026-03-01 00:00"));
        assert_eq!(
            d.last().map(|(s, w)| (s.at, *w)),
            Some((at("2026-03-08 07:30"), Due::Send))
        );
    }

    #[test]
    fn the_summary_reads_in_both_languages() {
        let s = Summary {
            workspace: "Ops".into(),
            day: "2026-12-03".into(),
            time: "09:00".into(),
            received: 12,
            resolved: 7,
            firing: 5,
            top: vec![("HighCPU".into(), 8)],
            failed_deliveries: 1,
            readiness: Readiness {
                silent: vec![SilentPolicy {
                    id: crate::domain::ids::PolicyId::new(),
                    name: "Nights".into(),
                    why: "it names nobody who exists".into(),
                }],
                unready: vec![UnreadyContact {
                    id: crate::domain::ids::ContactId::new(),
                    name: "Ana".into(),
                    gaps: vec![crate::domain::routing::Unreachable::NoPhone],
                    policies: vec!["Nights".into()],
                }],
            },
        };
        let (t, en) = render(&s, Lang::En);
        assert!(
            t.contains("Ops")
                && en.contains("Alerts received today: **12**")
                && en.contains("Policy “Nights” would reach nobody"),
            "{en}"
        );
        let (t, zh) = render(&s, Lang::Zh);
        assert!(
            t.contains("每日统计")
                && zh.contains("今日收到告警：**12**")
                && zh.contains("策略“Nights”无法通知到任何人"),
            "{zh}"
        );
        assert!(zh.contains("HighCPU: 8"));
        assert!(en.contains("- Ana: no phone number") && zh.contains("- Ana：没有手机号"));
    }
}
