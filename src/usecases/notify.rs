//! From alert changes to queued deliveries, inside the transaction that changed the alerts:
//! each change joins the groups of the policies that take it; due groups notify; each
//! notification fans out into its deliveries. What the engine later sends is only ever what
//! was committed here.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDateTime;

use crate::domain::alert::{AlertStatus, IncomingAlert, Labels};
use crate::domain::grouping::{self, GroupState, Member, Timing};
use crate::domain::ids::{AlertGroupId, DeliveryId, NotificationId};
use crate::domain::notification::{AlertSnapshot, DeliveryState, Payload, fan_out};
use crate::domain::policy::{Policy, all_match};
use crate::domain::routing::{self, Directory};
use crate::store::alerts::{self, AlertRow, Changed, Ingested, Source};
use crate::store::contact_index::ContactIndex;
use crate::store::outbox::{self, GroupRow, NewDelivery, NewNotification};
use crate::store::{DbConn, PolicyId, StoreResult, WorkspaceId, policies};
use crate::usecases::routing::objects;

/// What the engine needs to write notifications: the contact index (to read contacts) and
/// Herald's public address (for links in messages).
#[derive(Clone, Copy)]
pub struct Notifier<'a> {
    pub index: &'a ContactIndex,
    pub external_url: &'a str,
}

/// What an ingest request did, and how many notifications it queued at once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Accepted {
    pub ingested: Ingested,
    pub notifications: usize,
}

/// Stores a request's alerts and queues what they cause, in one transaction: the sender's
/// 2xx means both are committed.
pub fn ingest(
    conn: &mut DbConn,
    n: Notifier<'_>,
    ws: &WorkspaceId,
    source: Source,
    incoming: &[IncomingAlert],
) -> StoreResult<Accepted> {
    crate::store::write_transaction(conn, |c| {
        let at = crate::store::now();
        let (ingested, changed) = alerts::apply(c, ws, source, incoming, at)?;
        let notifications = on_changes(c, n, ws, &changed, at)?;
        Ok(Accepted {
            ingested,
            notifications,
        })
    })
}

/// Alerts past their end become resolved, and their groups learn of it, in one transaction.
/// Answers how many alerts resolved.
pub fn resolve_expired(
    conn: &mut DbConn,
    n: Notifier<'_>,
    at: NaiveDateTime,
) -> StoreResult<usize> {
    crate::store::write_transaction(conn, |c| {
        let resolved = alerts::resolve_expired(c, at)?;
        let mut by_ws: BTreeMap<WorkspaceId, Vec<Changed>> = BTreeMap::new();
        for (ws, changed) in &resolved {
            by_ws.entry(ws.clone()).or_default().push(changed.clone());
        }
        for (ws, changed) in &by_ws {
            on_changes(c, n, ws, changed, at)?;
        }
        Ok(resolved.len())
    })
}

/// Groups whose time has come (group wait over, group interval or repeat interval passed),
/// across workspaces: each decides and notifies in one transaction. Answers how many
/// notifications were queued.
pub fn flush_due(conn: &mut DbConn, n: Notifier<'_>, at: NaiveDateTime) -> StoreResult<usize> {
    crate::store::write_transaction(conn, |c| {
        let due = outbox::due_groups(c, at, 500)?;
        let mut by_ws: BTreeMap<WorkspaceId, Vec<(GroupRow, GroupState)>> = BTreeMap::new();
        for g in due {
            let state = g.state();
            by_ws
                .entry(g.workspace_id.clone())
                .or_default()
                .push((g, state));
        }
        let mut queued = 0;
        for (ws, groups) in by_ws {
            let policies = policies::list(c, &ws)?;
            queued += flush(c, n, &ws, &policies, groups, at)?;
        }
        Ok(queued)
    })
}

fn takes(policy: &Policy, labels: &Labels) -> bool {
    policy.enabled && policy.matchers.as_ref().is_ok_and(|m| all_match(m, labels))
}

/// The changed alerts join their policies' groups; groups now due notify at once.
fn on_changes(
    c: &mut DbConn,
    n: Notifier<'_>,
    ws: &WorkspaceId,
    changed: &[Changed],
    at: NaiveDateTime,
) -> StoreResult<usize> {
    if changed.is_empty() {
        return Ok(0);
    }
    let policies = policies::list(c, ws)?;
    let mut joining: BTreeMap<(PolicyId, String), Vec<&Changed>> = BTreeMap::new();
    for ch in changed {
        for p in policies.iter().filter(|p| takes(p, &ch.labels)) {
            let key = grouping::group_key(&grouping::group_labels(&ch.labels, &p.group_by));
            joining.entry((p.id.clone(), key)).or_default().push(ch);
        }
    }
    if joining.is_empty() {
        return Ok(0);
    }
    let timing: HashMap<&PolicyId, Timing> =
        policies.iter().map(|p| (&p.id, Timing::of(p))).collect();
    let wanted: Vec<(PolicyId, String, NaiveDateTime)> = joining
        .keys()
        .map(|(p, k)| (p.clone(), k.clone(), at + timing[p].wait))
        .collect();
    let groups = outbox::open_groups(c, ws, at, &wanted)?;
    let mut members = Vec::new();
    let mut due = Vec::new();
    let mut waiting = Vec::new();
    for g in groups {
        let Some(alerts) = joining.get(&(g.policy_id.clone(), g.group_key.clone())) else {
            continue;
        };
        members.extend(alerts.iter().map(|ch| (g.id.clone(), ch.alert.clone())));
        let mut state = g.state();
        state.changed(at, timing[&g.policy_id]);
        if state.is_due(at) {
            due.push((g, state));
        } else if state != g.state() {
            waiting.push((g, state));
        }
    }
    let saved: Vec<_> = waiting.iter().map(|(g, s)| (g, s)).collect();
    outbox::save_groups(c, &saved)?;
    outbox::add_members(c, &members)?;
    flush(c, n, ws, &policies, due, at)
}

/// Snapshots of the named alerts, as the notification's payload shows them.
fn snapshot(row: &AlertRow) -> Option<AlertSnapshot> {
    let labels = row
        .labels()
        .map_err(|e| tracing::error!(error = %e, "alert left out of a notification"))
        .ok()?;
    Some(AlertSnapshot {
        id: row.id.clone(),
        fingerprint: row.fingerprint.clone(),
        labels,
        annotations: row.annotations().unwrap_or_default(),
        status: AlertStatus::parse(&row.status)?,
        starts_at: row.starts_at,
        ends_at: row.ends_at,
        generator_url: row.generator_url.clone(),
        received_at: row.last_received_at,
    })
}

/// What one flush writes, gathered so it goes to the database in batches.
#[derive(Default)]
struct Batch {
    notes: Vec<NewNotification>,
    named: Vec<(NotificationId, crate::store::AlertId)>,
    deliveries: Vec<NewDelivery>,
}

/// Due groups of one workspace decide (see [`grouping::flush`]) and their notifications are
/// queued with every delivery.
fn flush(
    c: &mut DbConn,
    n: Notifier<'_>,
    ws: &WorkspaceId,
    policies: &[Policy],
    due: Vec<(GroupRow, GroupState)>,
    at: NaiveDateTime,
) -> StoreResult<usize> {
    if due.is_empty() {
        return Ok(0);
    }
    let ids: Vec<AlertGroupId> = due.iter().map(|(g, _)| g.id.clone()).collect();
    let mut members = outbox::members(c, &ids)?;
    let mut directory: Option<Directory> = None;
    let mut batch = Batch::default();
    let mut saved = Vec::new();
    let mut closed = Vec::new();
    for (group, state) in &due {
        let policy = policies
            .iter()
            .find(|p| p.id == group.policy_id)
            .filter(|p| p.enabled);
        let Some(policy) = policy else {
            // Switched off since: its groups end without a word.
            closed.push(&group.id);
            continue;
        };
        let rows = members.remove(&group.id).unwrap_or_default();
        let seen: Vec<Member> = rows
            .iter()
            .filter_map(|r| {
                Some(Member {
                    alert: r.id.clone(),
                    status: AlertStatus::parse(&r.status)?,
                })
            })
            .collect();
        let decision =
            grouping::flush(state, Timing::of(policy), &seen, policy.notify_resolved, at);
        if let Some((status, named)) = &decision.notify {
            let alerts: Vec<AlertSnapshot> = rows
                .iter()
                .filter(|r| named.contains(&r.id))
                .filter_map(snapshot)
                .collect();
            if directory.is_none() {
                directory = Some(objects(c, n.index, ws)?.directory(at));
            }
            let Some(dir) = directory.as_ref() else {
                continue;
            };
            queue(&mut batch, n, ws, policy, group, *status, &alerts, dir, at);
        }
        outbox::remove_members(c, &group.id, &decision.leave)?;
        match decision.next {
            Some(next) => saved.push((group, next)),
            None => closed.push(&group.id),
        }
    }
    let saved_refs: Vec<_> = saved.iter().map(|(g, s)| (*g, s)).collect();
    outbox::save_groups(c, &saved_refs)?;
    outbox::close_groups(c, &closed)?;
    outbox::enqueue(c, &batch.notes, &batch.named, &batch.deliveries)?;
    Ok(batch.notes.len())
}

/// One notification and its deliveries, added to the batch.
#[allow(clippy::too_many_arguments)]
fn queue(
    batch: &mut Batch,
    n: Notifier<'_>,
    ws: &WorkspaceId,
    policy: &Policy,
    group: &GroupRow,
    status: AlertStatus,
    alerts: &[AlertSnapshot],
    dir: &Directory,
    at: NaiveDateTime,
) {
    let Some(first) = alerts.first() else {
        return;
    };
    let group_labels: Labels = serde_json::from_str(&group.group_key).unwrap_or_default();
    let payload = Payload {
        policy_name: &policy.name,
        group_key: &group.group_key,
        group_labels: &group_labels,
        status,
        alerts,
        external_url: n.external_url,
    }
    .to_json();
    let id = NotificationId::new();
    let received_at = alerts.iter().map(|a| a.received_at).max().unwrap_or(at);
    batch.notes.push(NewNotification {
        id: id.clone(),
        workspace_id: ws.clone(),
        policy_id: Some(policy.id.clone()),
        policy_name: policy.name.clone(),
        status: status.code(),
        payload: payload.to_string(),
        created_at: at,
        received_at,
    });
    batch
        .named
        .extend(alerts.iter().map(|a| (id.clone(), a.id.clone())));
    // The group's members all matched the policy: only its recipients are read from the route.
    let route = routing::route(&first.labels, std::slice::from_ref(policy), dir);
    for planned in route.iter().flat_map(fan_out) {
        let (state, finished_at, last_outcome) = match &planned.not_sent {
            Some(why) => (
                DeliveryState::NotSent,
                Some(at),
                Some(format!("not sent: {why}")),
            ),
            None => (DeliveryState::Queued, None, None),
        };
        batch.deliveries.push(NewDelivery {
            id: DeliveryId::new(),
            workspace_id: ws.clone(),
            notification_id: id.clone(),
            channel: planned.channel.code(),
            target_id: planned.target_id,
            recipient: planned.recipient,
            address: planned.address,
            state: state.code(),
            due_at: at,
            lease_until: None,
            attempts: 0,
            last_outcome,
            created_at: at,
            finished_at,
            replaces_id: None,
            hop: None,
            meant_for: None,
            note: None,
            mentions: planned.mentions,
        });
    }
}
