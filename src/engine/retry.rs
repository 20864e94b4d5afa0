//! When a failed delivery is tried again: exponential backoff with full jitter (5 s doubling,
//! capped at 10 min), the other side's `Retry-After` when it gave one, and giving up a day
//! after the delivery was queued. Permanent refusals are never retried.

use chrono::{Duration, NaiveDateTime};

use crate::channels::{FailureKind, SendFailure};
use crate::domain::notification::DeliveryState;

pub const BASE: Duration = Duration::seconds(5);
pub const CAP: Duration = Duration::seconds(600);
/// A delivery still failing this long after it was queued has failed.
pub const GIVE_UP_AFTER: Duration = Duration::hours(24);

/// The longest wait before try number `attempt + 1` (attempt = tries made so far, ≥ 1).
pub fn ceiling(attempt: i32) -> Duration {
    let doublings = attempt.saturating_sub(1).clamp(0, 20) as u32;
    let secs = BASE.num_seconds().saturating_mul(1i64 << doublings);
    Duration::seconds(secs.min(CAP.num_seconds()))
}

/// Full jitter: anywhere from nothing to the ceiling, so many deliveries failing together do
/// not retry together. `unit` is a random number in [0, 1).
pub fn backoff(attempt: i32, unit: f64) -> Duration {
    let ms = ceiling(attempt).num_milliseconds() as f64 * unit.clamp(0.0, 1.0);
    Duration::milliseconds(ms as i64)
}

/// What becomes of a delivery after a failed try at `at`: retried at a time, or final.
pub fn after_failure(
    failure: &SendFailure,
    attempt: i32,
    queued_at: NaiveDateTime,
    at: NaiveDateTime,
    unit: f64,
) -> (DeliveryState, Option<NaiveDateTime>) {
    if matches!(
        failure.kind,
        FailureKind::BadRecipient | FailureKind::UnknownUser | FailureKind::Rejected
    ) {
        return (DeliveryState::Refused, None);
    }
    let wait = match failure.retry_after {
        // The other side said how long; within reason (an hour), that is what it gets.
        Some(asked) => Duration::from_std(asked)
            .unwrap_or(CAP)
            .min(Duration::hours(1)),
        None => backoff(attempt, unit),
    };
    let next = at + wait;
    if next - queued_at > GIVE_UP_AFTER {
        return (DeliveryState::Failed, None);
    }
    (DeliveryState::Retrying, Some(next))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_800_000_000 + secs, 0)
            .expect("t")
            .naive_utc()
    }

    #[test]
    fn the_ceiling_doubles_from_five_seconds_to_ten_minutes() {
        let secs: Vec<i64> = (1..=10).map(|a| ceiling(a).num_seconds()).collect();
        assert_eq!(secs, vec![5, 10, 20, 40, 80, 160, 320, 600, 600, 600]);
        assert_eq!(ceiling(10_000), CAP);
    }

    #[test]
    fn jitter_stays_within_the_ceiling() {
        assert_eq!(backoff(3, 0.0), Duration::zero());
        assert_eq!(backoff(3, 0.5), Duration::seconds(10));
        assert!(backoff(3, 0.999_999) < Duration::seconds(20));
    }

    #[test]
    fn refusals_stop_and_temporary_failures_retry_until_a_day_has_passed() {
        let refused = SendFailure::new(FailureKind::Rejected, "HTTP 400");
        assert_eq!(
            after_failure(&refused, 1, t(0), t(1), 0.5),
            (DeliveryState::Refused, None)
        );
        let wrong = SendFailure::new(FailureKind::BadRecipient, "no such number");
        assert_eq!(
            after_failure(&wrong, 1, t(0), t(1), 0.5).0,
            DeliveryState::Refused
        );
        let busy = SendFailure::new(FailureKind::Transient, "HTTP 500");
        assert_eq!(
            after_failure(&busy, 1, t(0), t(10), 0.5),
            (
                DeliveryState::Retrying,
                Some(t(10) + Duration::milliseconds(2500))
            )
        );
        let late = t(24 * 3600 - 10);
        assert_eq!(
            after_failure(&busy, 30, t(0), late, 0.5),
            (DeliveryState::Failed, None)
        );
    }

    #[test]
    fn retry_after_is_honoured() {
        let limited = SendFailure::new(FailureKind::RateLimited, "HTTP 429")
            .retry_after(Some(std::time::Duration::from_secs(7)));
        assert_eq!(
            after_failure(&limited, 1, t(0), t(0), 0.0),
            (DeliveryState::Retrying, Some(t(7)))
        );
    }
}
