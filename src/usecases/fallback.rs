//! After a delivery to a person fails for good, in the transaction that records it: the next
//! hop of its chain is queued (see `domain::fallback`), or the delivery is marked as the end of
//! a chain that reached nobody. Calls end here too, when their outcome arrives.

use std::collections::HashMap;

use chrono::NaiveDateTime;

use crate::domain::Language;
use crate::domain::catalog::Lang;
use crate::domain::fallback::{self, Backstops, Decision, Ended, Failed, Hop, Reachable};
use crate::domain::ids::{ContactId, DeliveryId};
use crate::domain::mention::Mentions;
use crate::domain::notification::{CallOutcome, Channel, DeliveryState};
use crate::store::chains::{self, EndedChat, EndedRow};
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
    let mut by_ws: HashMap<WorkspaceId, Settings> = HashMap::new();
    for row in chains::ended(c, &ids)? {
        let Some(ending) = endings.iter().find(|e| e.id == row.id) else {
            continue;
        };
        let s = settings_of(c, &mut by_ws, &row.workspace_id)?;
        let decision = decide(c, &row, ending, s)?;
        out.add(act(c, &row, &row.id, decision, at)?);
    }
    let refused = |e: &&Ending| e.ended == Ended::MentionRefused;
    if endings.iter().any(|e| refused(&e)) {
        for chat in chains::ended_chats(c, &ids)? {
            let Some(ending) = endings.iter().filter(refused).find(|e| e.id == chat.row.id) else {
                continue;
            };
            let s = settings_of(c, &mut by_ws, &chat.row.workspace_id)?;
            out.add(mention_refused(c, &chat, ending, s, at)?);
        }
    }
    Ok(out)
}

fn settings_of<'a>(
    c: &mut DbConn,
    cache: &'a mut HashMap<WorkspaceId, Settings>,
    ws: &WorkspaceId,
) -> StoreResult<&'a Settings> {
    if !cache.contains_key(ws) {
        let s = settings(c, ws)?;
        cache.insert(ws.clone(), s);
    }
    cache.get(ws).ok_or(StoreError::NotFound)
}

/// A decision carried out: the hop queued (once), or `ended` marked as reaching nobody.
fn act(
    c: &mut DbConn,
    row: &EndedRow,
    ended: &DeliveryId,
    decision: Decision,
    at: NaiveDateTime,
) -> StoreResult<FollowedUp> {
    let mut out = FollowedUp::default();
    match decision {
        Decision::Send(next) => {
            let hop = next.hop;
            if chains::add_hop(c, &hop_delivery(row, next, at))? {
                out.hops.push(hop);
            }
        }
        Decision::Covered => {}
        Decision::Unreached(why) => {
            chains::mark_unreached(c, ended, &why)?;
            out.unreached.extend(Channel::parse(&row.channel).ok());
        }
    }
    Ok(out)
}

/// The platform refused a chat message because a user it @mentions does not exist. The group
/// still gets the alert: the same message again, mentioning nobody and naming whom it meant to.
/// Each person it mentioned is followed up as if their number were wrong (the alternate
/// contact, then the last-resort recipient), since the platform cannot say which one it was.
fn mention_refused(
    c: &mut DbConn,
    chat: &EndedChat,
    ending: &Ending,
    s: &Settings,
    at: NaiveDateTime,
) -> StoreResult<FollowedUp> {
    let row = &chat.row;
    let mentions = match Mentions::from_stored(chat.mentions.as_deref()) {
        Ok(m) => m,
        Err(e) => {
            tracing::error!(delivery = %row.id, error = %e, "refused mentions not followed up");
            return Ok(FollowedUp::default());
        }
    };
    let mut out = FollowedUp::default();
    if row.hop.is_none() && mentions.mentions_anyone() {
        let again = NewDelivery {
            address: None,
            note: None,
            mentions: mentions.refused_by_platform().to_stored(),
            ..hop_delivery(row, unmentioned(row), at)
        };
        if chains::add_hop(c, &again)? {
            out.hops.push(Hop::Unmentioned);
        }
    }
    for person in &mentions.people {
        let theirs = EndedRow {
            meant_for: Some(person.contact.clone()),
            hop: None,
            ..row.clone()
        };
        let decision = decide(c, &theirs, ending, s)?;
        out.add(act(c, &theirs, &row.id, decision, at)?);
    }
    Ok(out)
}

/// The resend's place in the chain: once per notification and chatbot.
fn unmentioned(row: &EndedRow) -> fallback::Next {
    fallback::Next {
        hop: Hop::Unmentioned,
        channel: Channel::Chatbot,
        target_id: row.target_id.clone(),
        recipient: row.recipient.clone(),
        address: String::new(),
        note: String::new(),
    }
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
