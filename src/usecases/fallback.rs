//! After a delivery to a person fails for good, in the transaction that records it: the next
//! hop of its chain is queued (see `domain::fallback`), or the delivery is marked as the end of
//! a chain that reached nobody. Calls end here too, when their outcome arrives.

use std::collections::HashMap;

use chrono::NaiveDateTime;

use crate::domain::Language;
use crate::domain::catalog::Lang;
use crate::domain::fallback::{self, Backstops, Decision, Ended, Failed, Hop, Reachable};
use crate::domain::ids::{ContactId, DeliveryId};
use crate::domain::notification::{CallOutcome, Channel, DeliveryState};
use crate::store::chains::{self, EndedRow};
use crate::store::contacts::{self, Contact};
use crate::store::outbox::{self, Attempt, NewDelivery, Settle};
use crate::store::workspaces::{self, Workspace};
use crate::store::{DbConn, StoreError, StoreResult, WorkspaceId};

/// What the follow-up did: the hops queued and the chains that ended with nobody reached.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FollowedUp {
    pub hops: Vec<Hop>,
    pub unreached: Vec<Channel>,
}

impl FollowedUp {
    fn add(&mut self, other: FollowedUp) {
        self.hops.extend(other.hops);
        self.unreached.extend(other.unreached);
    }
}

/// A delivery that ended in failure: how, and why in words.
pub struct Ending {
    pub id: DeliveryId,
    pub ended: Ended,
    pub why: String,
}

/// Records what the workers' tries came to and follows up every failure, in one transaction.
pub fn settle(
    conn: &mut DbConn,
    at: NaiveDateTime,
    done: &[(DeliveryId, Settle)],
) -> StoreResult<FollowedUp> {
    crate::store::write_transaction(conn, |c| {
        outbox::settle(c, at, done)?;
        let endings: Vec<Ending> = done
            .iter()
            .filter_map(|(id, s)| match s {
                Settle::Tried {
                    attempt,
                    state: DeliveryState::Failed | DeliveryState::Refused,
                    ..
                } => Some(Ending {
                    id: id.clone(),
                    ended: Ended::of_outcome(&attempt.outcome),
                    why: attempt.message.clone(),
                }),
                _ => None,
            })
            .collect();
        follow_up(c, at, &endings)
    })
}

/// A placed call's outcome, from the provider (callback or query) or the Dev outbox. None when
/// no call waits under `reference` (unknown, or its outcome is already recorded).
pub fn record_call(
    conn: &mut DbConn,
    reference: &str,
    outcome: CallOutcome,
    at: NaiveDateTime,
) -> StoreResult<Option<FollowedUp>> {
    crate::store::write_transaction(conn, |c| {
        let Some(call) = chains::call_by_ref(c, reference)? else {
            return Ok(None);
        };
        let rang = (at - call.due_at)
            .num_milliseconds()
            .clamp(0, i64::from(i32::MAX));
        let answered = outcome == CallOutcome::Answered;
        let attempt = Attempt {
            at,
            duration_ms: i32::try_from(rang).unwrap_or(i32::MAX),
            outcome: if answered {
                "delivered".into()
            } else {
                outcome.code().into()
            },
            code: Some(reference.to_string()),
            message: format!("call {}", outcome.label()),
        };
        let state = if answered {
            DeliveryState::Delivered
        } else {
            DeliveryState::Failed
        };
        if !chains::finish_call(c, &call.id, &attempt, state, at)? {
            return Ok(None);
        }
        if answered {
            return Ok(Some(FollowedUp::default()));
        }
        let ending = Ending {
            id: call.id,
            ended: Ended::of_outcome(outcome.code()),
            why: outcome.label().to_string(),
        };
        follow_up(c, at, &[ending]).map(Some)
    })
}

/// Calls whose outcome did not come in time end as not reached, and their chains go on.
/// Answers how many calls ended so, and what following them up did.
pub fn expire_calls(conn: &mut DbConn, at: NaiveDateTime) -> StoreResult<(usize, FollowedUp)> {
    let overdue = chains::waiting_calls(conn, Some(at), 200)?;
    let mut out = FollowedUp::default();
    let mut expired = 0;
    for call in overdue {
        let Some(reference) = call.provider_ref else {
            continue;
        };
        if let Some(done) = record_call(conn, &reference, CallOutcome::NoOutcome, at)? {
            expired += 1;
            out.add(done);
        }
    }
    Ok((expired, out))
}

fn reachable(c: &Contact, default: Language) -> Reachable {
    Reachable {
        id: c.id.clone(),
        name: c.name.clone(),
        phone: c.usable_phone(),
        email: c.usable_email(),
        fallback: c.fallback(),
        lang: Lang::of(c.language(), default),
    }
}

/// The workspace's settings and alternate contact, read once per follow-up.
struct Settings {
    workspace: Workspace,
    alternate: Option<Reachable>,
}

fn settings(c: &mut DbConn, ws: &WorkspaceId) -> StoreResult<Settings> {
    let workspace = workspaces::get(c, ws)?;
    let alternate = match &workspace.alternate_contact_id {
        Some(id) => match contacts::get(c, ws, id) {
            Ok(alt) => Some(reachable(&alt, workspace.default_language())),
            Err(StoreError::NotFound) => None,
            Err(e) => return Err(e),
        },
        None => None,
    };
    Ok(Settings {
        workspace,
        alternate,
    })
}

/// The next hop of each ended delivery's chain, queued; or the chain's end, marked.
pub fn follow_up(c: &mut DbConn, at: NaiveDateTime, endings: &[Ending]) -> StoreResult<FollowedUp> {
    let mut out = FollowedUp::default();
    if endings.is_empty() {
        return Ok(out);
    }
    let ids: Vec<DeliveryId> = endings.iter().map(|e| e.id.clone()).collect();
    let rows = chains::ended(c, &ids)?;
    let mut by_ws: HashMap<WorkspaceId, Settings> = HashMap::new();
    for row in rows {
        let Some(ending) = endings.iter().find(|e| e.id == row.id) else {
            continue;
        };
        if !by_ws.contains_key(&row.workspace_id) {
            let s = settings(c, &row.workspace_id)?;
            by_ws.insert(row.workspace_id.clone(), s);
        }
        let Some(s) = by_ws.get(&row.workspace_id) else {
            continue;
        };
        match decide(c, &row, ending, s)? {
            Decision::Send(next) => {
                let hop = next.hop;
                if chains::add_hop(c, &hop_delivery(&row, next, at))? {
                    out.hops.push(hop);
                }
            }
            Decision::Covered => {}
            Decision::Unreached(why) => {
                chains::mark_unreached(c, &row.id, &why)?;
                out.unreached.extend(Channel::parse(&row.channel).ok());
            }
        }
    }
    Ok(out)
}

fn decide(c: &mut DbConn, row: &EndedRow, ending: &Ending, s: &Settings) -> StoreResult<Decision> {
    let Ok(channel) = Channel::parse(&row.channel) else {
        return Ok(Decision::Covered);
    };
    let Some(person) = ContactId::parse(row.meant_for()) else {
        return Ok(Decision::Unreached("the delivery names no contact".into()));
    };
    let default = s.workspace.default_language();
    let person = match contacts::get(c, &row.workspace_id, &person) {
        Ok(p) => reachable(&p, default),
        Err(StoreError::NotFound) => {
            return Ok(Decision::Unreached("the contact was deleted".into()));
        }
        Err(e) => return Err(e),
    };
    let (done, covered) = chains::so_far(c, &row.notification_id, row.meant_for(), &row.id)?;
    let failed = Failed {
        channel,
        ended: ending.ended,
        hop: row.hop(),
        recipient: &row.recipient,
        why: &ending.why,
        meant_for: &person,
    };
    let back = Backstops {
        default_fallback: s.workspace.default_fallback(),
        alternate: s.alternate.as_ref(),
        last_resort: s.workspace.activated_last_resort(),
        default_lang: Lang::of(default, default),
    };
    Ok(fallback::next(&failed, &back, &done, &covered))
}

fn hop_delivery(row: &EndedRow, next: fallback::Next, at: NaiveDateTime) -> NewDelivery {
    NewDelivery {
        id: DeliveryId::new(),
        workspace_id: row.workspace_id.clone(),
        notification_id: row.notification_id.clone(),
        channel: next.channel.code(),
        target_id: next.target_id,
        recipient: next.recipient,
        address: Some(next.address),
        state: DeliveryState::Queued.code(),
        due_at: at,
        lease_until: None,
        attempts: 0,
        last_outcome: None,
        created_at: at,
        finished_at: None,
        replaces_id: Some(row.id.clone()),
        hop: Some(next.hop.code()),
        meant_for: Some(row.meant_for().to_string()),
        note: Some(next.note),
        mentions: None,
    }
}
