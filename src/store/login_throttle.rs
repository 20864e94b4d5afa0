//! Failed sign-ins per (client address, email). Kept in the database so that several Herald
//! instances behind one load balancer share the count.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::schema::login_throttle;
use super::{DbConn, StoreError, StoreResult, now};

pub const MAX_FAILURES: i32 = 5;
pub const WINDOW_MINUTES: i64 = 15;

/// When the key is locked out, the time it opens again.
pub fn locked_until(conn: &mut DbConn, key: &str) -> StoreResult<Option<NaiveDateTime>> {
    let row: Option<(i32, NaiveDateTime)> = login_throttle::table
        .find(key)
        .select((login_throttle::failures, login_throttle::window_start))
        .first(conn)
        .optional()?;
    Ok(row.and_then(|(failures, start)| {
        let until = start + Duration::minutes(WINDOW_MINUTES);
        (failures >= MAX_FAILURES && until > now()).then_some(until)
    }))
}

pub fn record_failure(conn: &mut DbConn, key: &str) -> StoreResult<()> {
    match record_failure_once(conn, key) {
        // Two first failures at once both tried to insert: the loser counts on the winner's row.
        Err(StoreError::Db(e)) if super::is_unique_violation(&e) => record_failure_once(conn, key),
        other => other,
    }
}

fn record_failure_once(conn: &mut DbConn, key: &str) -> StoreResult<()> {
    let at = now();
    conn.transaction(|c| {
        let row: Option<NaiveDateTime> = login_throttle::table
            .find(key)
            .select(login_throttle::window_start)
            .first(c)
            .optional()?;
        match row {
            Some(start) if start + Duration::minutes(WINDOW_MINUTES) > at => {
                diesel::update(login_throttle::table.find(key))
                    .set(login_throttle::failures.eq(login_throttle::failures + 1))
                    .execute(c)?;
            }
            Some(_) => {
                diesel::update(login_throttle::table.find(key))
                    .set((
                        login_throttle::failures.eq(1),
                        login_throttle::window_start.eq(at),
                    ))
                    .execute(c)?;
            }
            None => {
                diesel::insert_into(login_throttle::table)
                    .values((
                        login_throttle::key.eq(key),
                        login_throttle::failures.eq(1),
                        login_throttle::window_start.eq(at),
                    ))
                    .execute(c)?;
            }
        }
        Ok(())
    })
}

pub fn clear(conn: &mut DbConn, key: &str) -> StoreResult<()> {
    diesel::delete(login_throttle::table.find(key)).execute(conn)?;
    Ok(())
}
