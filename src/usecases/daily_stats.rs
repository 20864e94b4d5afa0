//! Which daily statistics are due now, claimed for this process, with their summaries written;
//! missed ones recorded as skipped. The engine sends what this answers and reports back.

use chrono::NaiveDateTime;

use crate::domain::catalog::Lang;
use crate::domain::daily_stats::{self, Due, Slot, Summary};
use crate::store::chatbots::{self, Chatbot};
use crate::store::contact_index::ContactIndex;
use crate::store::daily_stats as runs;
use crate::store::{DbConn, StoreError, StoreResult, WorkspaceId, workspaces};

/// A summary this process holds the claim for.
pub struct Claimed {
    pub bot: Chatbot,
    pub slot: Slot,
    pub title: String,
    pub text: String,
}

/// Claims every slot due at `now` (one transaction per bot, so a claim is committed before
/// anything is sent) and records the missed ones.
pub fn claim_due(
    c: &mut DbConn,
    index: &ContactIndex,
    now: NaiveDateTime,
) -> StoreResult<Vec<Claimed>> {
    let mut out = Vec::new();
    for (id, ws, since) in runs::wanting(c)? {
        if !anything_open(c, &id, &ws, since, now)? {
            continue;
        }
        let claimed = crate::store::write_transaction(c, |c| {
            let bot = match chatbots::get(c, &ws, &id) {
                Ok(b) => b,
                Err(StoreError::NotFound) => return Ok(Vec::new()),
                Err(e) => return Err(e),
            };
            let workspace = workspaces::get(c, &ws)?;
            let tz = workspace.time_zone();
            let times = daily_stats::parse_times(&bot.daily_stats_times);
            let mut mine = Vec::new();
            for (slot, due) in daily_stats::due(&times, tz, now, since) {
                match due {
                    Due::Skip => {
                        if runs::skip(c, &id, &slot, now)? {
                            tracing::warn!(chatbot = %id, day = %slot.day_code(), time = %slot.time_code(), "daily statistics skipped: missed by more than an hour");
                        }
                    }
                    Due::Send => {
                        if runs::claim(c, &id, &slot, now)? {
                            mine.push(slot);
                        }
                    }
                }
            }
            let lang = Lang::of(workspace.default_language(), workspace.default_language());
            let mut claimed = Vec::new();
            for slot in mine {
                let from = tz.utc_of(slot.day, chrono::NaiveTime::MIN);
                let summary = summary(c, index, &ws, &workspace.name, &slot, from, now)?;
                let (title, text) = daily_stats::render(&summary, lang);
                claimed.push(Claimed {
                    bot: bot.clone(),
                    slot,
                    title,
                    text,
                });
            }
            Ok(claimed)
        })?;
        out.extend(claimed);
    }
    Ok(out)
}

/// Whether any slot due now is not yet recorded: read before the write transaction.
fn anything_open(
    c: &mut DbConn,
    id: &crate::store::ChatbotId,
    ws: &WorkspaceId,
    since: NaiveDateTime,
    now: NaiveDateTime,
) -> StoreResult<bool> {
    let bot = match chatbots::get(c, ws, id) {
        Ok(b) => b,
        Err(StoreError::NotFound) => return Ok(false),
        Err(e) => return Err(e),
    };
    let tz = workspaces::get(c, ws)?.time_zone();
    let times = daily_stats::parse_times(&bot.daily_stats_times);
    for (slot, _) in daily_stats::due(&times, tz, now, since) {
        if runs::open(c, id, &slot, now)? {
            return Ok(true);
        }
    }
    Ok(false)
}

fn summary(
    c: &mut DbConn,
    index: &ContactIndex,
    ws: &WorkspaceId,
    name: &str,
    slot: &Slot,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> StoreResult<Summary> {
    let counts = runs::counts(c, ws, from, to)?;
    let readiness = crate::usecases::readiness::of(c, index, ws)?;
    Ok(Summary {
        workspace: name.to_string(),
        day: slot.day_code(),
        time: slot.time_code(),
        received: counts.received,
        resolved: counts.resolved,
        firing: counts.firing,
        top: counts.top,
        failed_deliveries: counts.failed,
        readiness,
    })
}

/// Records how sending went.
pub fn finish(
    c: &mut DbConn,
    claimed: &Claimed,
    sent: bool,
    detail: &str,
    now: NaiveDateTime,
) -> StoreResult<()> {
    runs::finish(c, &claimed.bot.id, &claimed.slot, sent, detail, now)
}
