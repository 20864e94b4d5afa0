//! Fresh planner statistics for the tables the engine fills (PostgreSQL). A young database
//! has none until autovacuum's first pass (its naptime is a minute), and without them the
//! planner takes `fingerprint = ANY(…100 values…)` to match half the table: it looked alerts up
//! through the workspace index alone and read every alert of the workspace, so each ingest
//! request cost more as alerts came in (the benchmark kept half its rate at 20 000 alerts).
//! The engine calls this every few seconds; it analyzes a table only once a fifth of it (and at
//! least 500 rows) changed since its last analysis, by autovacuum or by us.

use diesel::RunQueryDsl;
use diesel::sql_types::{Array, Text};

use super::{DbConn, StoreResult};

/// The tables ingest and delivery grow, and whose lookups depend on their statistics.
const HOT: [&str; 8] = [
    "alerts",
    "alert_events",
    "alert_groups",
    "group_alerts",
    "notifications",
    "notification_alerts",
    "deliveries",
    "delivery_attempts",
];

#[derive(diesel::QueryableByName)]
struct Stale {
    #[diesel(sql_type = Text)]
    relname: String,
}

/// Analyzes the hot tables whose statistics fell behind; answers which. SQLite: nothing (its
/// planner picks these indexes without statistics).
pub fn refresh(c: &mut DbConn) -> StoreResult<Vec<String>> {
    let DbConn::Pg(pg) = c else {
        return Ok(Vec::new());
    };
    let stale: Vec<Stale> = diesel::sql_query(
        "SELECT relname::text AS relname FROM pg_stat_user_tables \
         WHERE relname = ANY($1) AND n_mod_since_analyze > GREATEST(500, n_live_tup / 5)",
    )
    .bind::<Array<Text>, _>(HOT.to_vec())
    .load(pg)?;
    let mut done = Vec::new();
    for Stale { relname } in stale {
        // Only names from HOT reach this statement.
        if let Some(table) = HOT.iter().find(|t| **t == relname) {
            diesel::sql_query(format!("ANALYZE {table}")).execute(pg)?;
            done.push(relname);
        }
    }
    Ok(done)
}
