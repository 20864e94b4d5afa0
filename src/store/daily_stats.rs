//! Daily statistics: which chatbots want them, the claim that makes each bot, day and time go
//! out once across processes, and the day's counts.

use std::collections::HashMap;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::schema::{alerts, chatbots, daily_stats_runs};
use super::{ChatbotId, DbConn, StoreResult, WorkspaceId};
use crate::domain::alert::Labels;
use crate::domain::daily_stats::Slot;

/// A claim older than this whose holder never said how it went is taken again (the holder
/// died mid-send).
pub const STALE_CLAIM: Duration = Duration::minutes(2);

/// Chatbots with daily statistics on: id, workspace, and when the setting was last saved.
pub fn wanting(c: &mut DbConn) -> StoreResult<Vec<(ChatbotId, WorkspaceId, NaiveDateTime)>> {
    Ok(chatbots::table
        .filter(chatbots::daily_stats.eq(true))
        .select((chatbots::id, chatbots::workspace_id, chatbots::updated_at))
        .load(c)?)
}

/// Whether the slot still needs this process: never recorded, or claimed by a holder that went
/// quiet. A read, so the 5 s tick takes the write lock only when there is something to do.
pub fn open(c: &mut DbConn, bot: &ChatbotId, slot: &Slot, now: NaiveDateTime) -> StoreResult<bool> {
    let row: Option<(String, NaiveDateTime)> = daily_stats_runs::table
        .filter(daily_stats_runs::chatbot_id.eq(bot))
        .filter(daily_stats_runs::day.eq(slot.day_code()))
        .filter(daily_stats_runs::at_time.eq(slot.time_code()))
        .select((daily_stats_runs::state, daily_stats_runs::claimed_at))
        .first(c)
        .optional()?;
    Ok(match row {
        None => true,
        Some((state, claimed_at)) => state == "sending" && claimed_at < now - STALE_CLAIM,
    })
}

/// Takes the slot for this process: true for exactly one claimant (or for one retaking a
/// stale claim).
pub fn claim(
    c: &mut DbConn,
    bot: &ChatbotId,
    slot: &Slot,
    now: NaiveDateTime,
) -> StoreResult<bool> {
    let (day, time) = (slot.day_code(), slot.time_code());
    let inserted = super::on_backend!(c, |c| diesel::insert_into(daily_stats_runs::table)
        .values((
            daily_stats_runs::chatbot_id.eq(bot),
            daily_stats_runs::day.eq(&day),
            daily_stats_runs::at_time.eq(&time),
            daily_stats_runs::slot_at.eq(slot.at),
            daily_stats_runs::state.eq("sending"),
            daily_stats_runs::claimed_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .execute(c))?;
    if inserted == 1 {
        return Ok(true);
    }
    let retaken = diesel::update(
        daily_stats_runs::table
            .filter(daily_stats_runs::chatbot_id.eq(bot))
            .filter(daily_stats_runs::day.eq(&day))
            .filter(daily_stats_runs::at_time.eq(&time))
            .filter(daily_stats_runs::state.eq("sending"))
            .filter(daily_stats_runs::claimed_at.lt(now - STALE_CLAIM)),
    )
    .set(daily_stats_runs::claimed_at.eq(now))
    .execute(c)?;
    Ok(retaken == 1)
}

/// Records a slot missed by more than the late limit; nothing when it was already handled.
pub fn skip(c: &mut DbConn, bot: &ChatbotId, slot: &Slot, now: NaiveDateTime) -> StoreResult<bool> {
    let n = super::on_backend!(c, |c| diesel::insert_into(daily_stats_runs::table)
        .values((
            daily_stats_runs::chatbot_id.eq(bot),
            daily_stats_runs::day.eq(slot.day_code()),
            daily_stats_runs::at_time.eq(slot.time_code()),
            daily_stats_runs::slot_at.eq(slot.at),
            daily_stats_runs::state.eq("skipped"),
            daily_stats_runs::claimed_at.eq(now),
            daily_stats_runs::finished_at.eq(Some(now)),
            daily_stats_runs::detail.eq(Some("Herald was not running within an hour of this time")),
        ))
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(n == 1)
}

/// How a claimed slot went: `sent` or `failed` with the platform's words.
pub fn finish(
    c: &mut DbConn,
    bot: &ChatbotId,
    slot: &Slot,
    sent: bool,
    detail: &str,
    now: NaiveDateTime,
) -> StoreResult<()> {
    diesel::update(
        daily_stats_runs::table
            .filter(daily_stats_runs::chatbot_id.eq(bot))
            .filter(daily_stats_runs::day.eq(slot.day_code()))
            .filter(daily_stats_runs::at_time.eq(slot.time_code())),
    )
    .set((
        daily_stats_runs::state.eq(if sent { "sent" } else { "failed" }),
        daily_stats_runs::finished_at.eq(Some(now)),
        daily_stats_runs::detail.eq(Some(detail)),
    ))
    .execute(c)?;
    Ok(())
}

/// A bot's runs, newest first: (day, time, state).
pub fn runs(c: &mut DbConn, bot: &ChatbotId) -> StoreResult<Vec<(String, String, String)>> {
    Ok(daily_stats_runs::table
        .filter(daily_stats_runs::chatbot_id.eq(bot))
        .order((
            daily_stats_runs::day.desc(),
            daily_stats_runs::at_time.desc(),
        ))
        .select((
            daily_stats_runs::day,
            daily_stats_runs::at_time,
            daily_stats_runs::state,
        ))
        .load(c)?)
}

/// The day's counts: received, resolved, still firing, top alertnames, failed deliveries.
pub struct Counts {
    pub received: i64,
    pub resolved: i64,
    pub firing: i64,
    pub top: Vec<(String, i64)>,
    pub failed: i64,
}

/// Alerts whose names the top list reads at most.
const TOP_READ: i64 = 20_000;

pub fn counts(
    c: &mut DbConn,
    ws: &WorkspaceId,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> StoreResult<Counts> {
    let super::today::AlertTotals {
        received,
        resolved,
        firing,
    } = super::today::alert_totals(c, ws, from, to)?;
    let labels: Vec<String> = alerts::table
        .filter(alerts::workspace_id.eq(ws))
        .filter(alerts::received_at.ge(from))
        .filter(alerts::received_at.lt(to))
        .limit(TOP_READ)
        .select(alerts::labels)
        .load(c)?;
    let mut by_name: HashMap<String, i64> = HashMap::new();
    for l in labels {
        let name = serde_json::from_str::<Labels>(&l)
            .ok()
            .and_then(|m| m.get("alertname").cloned())
            .unwrap_or_else(|| "(no alertname)".into());
        *by_name.entry(name).or_default() += 1;
    }
    let mut top: Vec<(String, i64)> = by_name.into_iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    top.truncate(5);
    // Counted as the Today page counts them, so both say the same.
    let failed: i64 = super::today::deliveries_by_channel(c, ws, from, to)?
        .into_iter()
        .filter(|(_, state, _)| {
            crate::domain::today::Outcome::of(*state) == crate::domain::today::Outcome::Failed
        })
        .map(|(_, _, n)| n)
        .sum();
    Ok(Counts {
        received,
        resolved,
        firing,
        top,
        failed,
    })
}
