//! Password guesses per key (sign-in: client address + email; password change: the user).
//! Kept in the database so that several Herald instances behind one load balancer share the
//! count.
//!
//! An attempt is counted *before* the password is checked, in one statement: a check-then-
//! record would let parallel guesses all pass the check before the first one is recorded.
//! A right password clears the count afterwards.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{Integer, Text, Timestamp};

use super::schema::login_throttle;
use super::{DbConn, StoreResult, now};

pub const MAX_ATTEMPTS: i32 = 5;
pub const WINDOW_MINUTES: i64 = 15;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// Go on and check the password.
    Allowed,
    /// Too many attempts in the window: refuse without checking, until then.
    Locked { until: NaiveDateTime },
}

impl Attempt {
    /// "Try again in N minutes." for the refusal.
    /// Whole minutes until `until`, at least one.
    pub fn minutes_left(until: NaiveDateTime) -> i64 {
        ((until - now()).num_seconds() + 59).max(60) / 60
    }

    pub fn retry_message(until: NaiveDateTime) -> String {
        let minutes = Self::minutes_left(until);
        format!(
            "Try again in {minutes} minute{}.",
            if minutes == 1 { "" } else { "s" }
        )
    }
}

#[derive(QueryableByName)]
struct Counted {
    #[diesel(sql_type = Integer)]
    failures: i32,
    #[diesel(sql_type = Timestamp)]
    window_start: NaiveDateTime,
}

/// Counts one attempt for `key` and says whether it may go on. Atomic on both backends: the
/// upsert takes the row lock (PostgreSQL) or the write lock (SQLite) for the whole
/// read-modify-write, so N parallel attempts get the counts 1..N, exactly once each.
pub fn take_attempt(conn: &mut DbConn, key: &str) -> StoreResult<Attempt> {
    let at = now();
    let window_open = at - Duration::minutes(WINDOW_MINUTES);
    // A window that has run out starts again at this attempt.
    const UPSERT: &str = "INSERT INTO login_throttle (key, failures, window_start) VALUES ($1, 1, $2) \
         ON CONFLICT (key) DO UPDATE SET \
         failures = CASE WHEN login_throttle.window_start > $3 THEN login_throttle.failures + 1 ELSE 1 END, \
         window_start = CASE WHEN login_throttle.window_start > $3 THEN login_throttle.window_start ELSE $2 END \
         RETURNING failures, window_start";
    // SQLite reads `$1`…`$3` as named parameters numbered by first appearance, which is their
    // numeric order here, so one text and one set of binds serve both backends.
    let row: Counted = super::on_backend!(conn, |c| diesel::sql_query(UPSERT)
        .bind::<Text, _>(key)
        .bind::<Timestamp, _>(at)
        .bind::<Timestamp, _>(window_open)
        .get_result(c))?;
    if row.failures > MAX_ATTEMPTS {
        Ok(Attempt::Locked {
            until: row.window_start + Duration::minutes(WINDOW_MINUTES),
        })
    } else {
        Ok(Attempt::Allowed)
    }
}

/// After a right password: the attempts so far no longer count.
pub fn clear(conn: &mut DbConn, key: &str) -> StoreResult<()> {
    diesel::delete(login_throttle::table.find(key)).execute(conn)?;
    Ok(())
}
