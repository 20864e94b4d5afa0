//! Chat platforms' per-bot limits, kept by Herald so a burst waits in the outbox instead of
//! being refused (DingTalk even mutes a bot for ten minutes when it is exceeded). Windows are
//! per process: several processes sharing one bot each keep their own count (the platform's
//! own 429 / 130101 answers are still honoured as a retry).

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use crate::domain::Platform;

/// The platform's documented limits per bot: (window, most messages in it).
pub fn limits(platform: Platform) -> &'static [(Duration, usize)] {
    const MINUTE: Duration = Duration::from_secs(60);
    const SECOND: Duration = Duration::from_secs(1);
    match platform {
        Platform::DingTalk | Platform::WeCom => &[(MINUTE, 20)],
        Platform::Lark => &[(MINUTE, 100), (SECOND, 5)],
        Platform::Slack => &[(SECOND, 1)],
    }
}

/// A sentence for the delivery log.
pub fn describe(platform: Platform) -> String {
    let parts: Vec<String> = limits(platform)
        .iter()
        .map(|(w, n)| {
            if w.as_secs() == 60 {
                format!("{n} messages a minute")
            } else {
                format!("{n} a second")
            }
        })
        .collect();
    format!(
        "waiting on {}'s limit of {} for this bot",
        platform.label(),
        parts.join(" and ")
    )
}

/// `at` rounded up to the next whole second.
pub fn whole_second(at: chrono::NaiveDateTime) -> chrono::NaiveDateTime {
    use chrono::Timelike;
    match at.with_nanosecond(0) {
        Some(down) if down < at => down + chrono::Duration::seconds(1),
        Some(down) => down,
        None => at,
    }
}

/// Send times per bot, as many as the longest window needs.
#[derive(Default)]
pub struct RateLimits {
    sent: HashMap<String, VecDeque<Instant>>,
}

impl RateLimits {
    /// Takes a slot for `bot` at `now`, or answers how long until one frees.
    pub fn take(&mut self, bot: &str, platform: Platform, now: Instant) -> Result<(), Duration> {
        let limits = limits(platform);
        let longest = limits.iter().map(|(w, _)| *w).max().unwrap_or_default();
        let sent = self.sent.entry(bot.to_string()).or_default();
        while sent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= longest)
        {
            sent.pop_front();
        }
        let mut wait = Duration::ZERO;
        for (window, most) in limits {
            let inside: Vec<&Instant> = sent
                .iter()
                .filter(|t| now.duration_since(**t) < *window)
                .collect();
            if inside.len() >= *most {
                // The slot frees when the oldest send in the window leaves it.
                let oldest = inside[inside.len() - most];
                wait = wait.max(*window - now.duration_since(*oldest));
            }
        }
        if wait > Duration::ZERO {
            return Err(wait);
        }
        sent.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn waits_end_on_whole_seconds() {
        let at = |s: &str| {
            chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").expect("time")
        };
        assert_eq!(
            super::whole_second(at("2026-01-01 10:00:00.001")),
            at("2026-01-01 10:00:01.0")
        );
        assert_eq!(
            super::whole_second(at("2026-01-01 10:00:00.999")),
            at("2026-01-01 10:00:01.0")
        );
        assert_eq!(
            super::whole_second(at("2026-01-01 10:00:05.0")),
            at("2026-01-01 10:00:05.0")
        );
    }

    use super::*;

    #[test]
    fn dingtalk_takes_twenty_a_minute_then_waits_for_the_oldest_to_leave() {
        let mut r = RateLimits::default();
        let start = Instant::now();
        for i in 0..20 {
            assert!(
                r.take("b", Platform::DingTalk, start + Duration::from_secs(i))
                    .is_ok()
            );
        }
        let wait = r
            .take("b", Platform::DingTalk, start + Duration::from_secs(30))
            .expect_err("full");
        assert_eq!(wait, Duration::from_secs(30));
        assert!(r.take("other", Platform::DingTalk, start).is_ok());
        assert!(
            r.take("b", Platform::DingTalk, start + Duration::from_secs(60))
                .is_ok()
        );
    }

    #[test]
    fn slack_takes_one_a_second_and_lark_five() {
        let mut r = RateLimits::default();
        let t = Instant::now();
        assert!(r.take("s", Platform::Slack, t).is_ok());
        assert!(r.take("s", Platform::Slack, t).is_err());
        for _ in 0..5 {
            assert!(r.take("l", Platform::Lark, t).is_ok());
        }
        assert_eq!(r.take("l", Platform::Lark, t), Err(Duration::from_secs(1)));
        assert!(describe(Platform::Lark).contains("100 messages a minute and 5 a second"));
    }
}
