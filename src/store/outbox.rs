//! The durable outbox: alert groups between notifications, notifications with the alerts they
//! name, their deliveries, and every attempt. Everything the delivery engine knows is here;
//! nothing lives only in a process's memory.

use std::collections::{BTreeSet, HashMap};

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::alerts::AlertRow;
use super::schema::{
    alert_groups, alerts, deliveries, delivery_attempts, group_alerts, notification_alerts,
    notifications,
};
use super::{AlertId, DbConn, PolicyId, StoreResult, WorkspaceId};
use crate::domain::grouping::GroupState;
use crate::domain::ids::{AlertGroupId, DeliveryId, NotificationId};
use crate::domain::notification::{Channel, DeliveryState};

/// Rows per multi-row insert: well under both backends' bound-parameter limits.
const CHUNK: usize = 200;

macro_rules! insert_chunks {
    ($c:expr, $table:expr, $rows:expr) => {
        for chunk in $rows.chunks(CHUNK).map(<[_]>::to_vec) {
            super::on_backend!($c, |c| diesel::insert_into($table).values(chunk).execute(c))?;
        }
    };
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = alert_groups)]
pub struct GroupRow {
    pub id: AlertGroupId,
    pub workspace_id: WorkspaceId,
    pub policy_id: PolicyId,
    pub group_key: String,
    pub created_at: NaiveDateTime,
    pub flush_at: Option<NaiveDateTime>,
    pub last_notified_at: Option<NaiveDateTime>,
    pub notified_firing: String,
}

impl GroupRow {
    pub fn state(&self) -> GroupState {
        GroupState {
            created_at: self.created_at,
            flush_at: self.flush_at,
            last_notified_at: self.last_notified_at,
            notified_firing: self
                .notified_firing
                .split(',')
                .filter_map(AlertId::parse)
                .collect(),
        }
    }
}

fn joined(ids: &BTreeSet<AlertId>) -> String {
    ids.iter()
        .map(AlertId::as_str)
        .collect::<Vec<_>>()
        .join(",")
}

#[derive(Clone, Insertable)]
#[diesel(table_name = alert_groups)]
struct NewGroup {
    id: AlertGroupId,
    workspace_id: WorkspaceId,
    policy_id: PolicyId,
    group_key: String,
    created_at: NaiveDateTime,
    flush_at: Option<NaiveDateTime>,
    last_notified_at: Option<NaiveDateTime>,
    notified_firing: String,
}

/// The groups named by (policy, key), each created at `at`, due at its given time, where it
/// does not exist yet, and held for this transaction (PostgreSQL: `FOR UPDATE`, so two
/// requests that touch one group take turns; SQLite's write lock already serialises them).
pub fn open_groups(
    c: &mut DbConn,
    ws: &WorkspaceId,
    at: NaiveDateTime,
    wanted: &[(PolicyId, String, NaiveDateTime)],
) -> StoreResult<Vec<GroupRow>> {
    let rows: Vec<NewGroup> = wanted
        .iter()
        .map(|(policy, key, due)| NewGroup {
            id: AlertGroupId::new(),
            workspace_id: ws.clone(),
            policy_id: policy.clone(),
            group_key: key.clone(),
            created_at: at,
            flush_at: Some(*due),
            last_notified_at: None,
            notified_firing: String::new(),
        })
        .collect();
    for chunk in rows.chunks(CHUNK).map(<[NewGroup]>::to_vec) {
        match c {
            DbConn::Pg(pg) => diesel::insert_into(alert_groups::table)
                .values(chunk)
                .on_conflict_do_nothing()
                .execute(pg)?,
            DbConn::Sqlite(s) => diesel::insert_or_ignore_into(alert_groups::table)
                .values(chunk)
                .execute(s)?,
        };
    }
    let mut found = Vec::new();
    let policies: BTreeSet<&PolicyId> = wanted.iter().map(|(p, _, _)| p).collect();
    let policies: Vec<&PolicyId> = policies.into_iter().collect();
    for chunk in wanted.chunks(CHUNK) {
        let keys: Vec<&String> = chunk.iter().map(|(_, k, _)| k).collect();
        let query = || {
            alert_groups::table
                .filter(alert_groups::workspace_id.eq(ws))
                .filter(alert_groups::policy_id.eq_any(policies.iter().copied()))
                .filter(alert_groups::group_key.eq_any(keys.iter().copied()))
                .order(alert_groups::id)
        };
        let rows: Vec<GroupRow> = match c {
            DbConn::Pg(pg) => query()
                .select(GroupRow::as_select())
                .for_update()
                .load(pg)?,
            DbConn::Sqlite(s) => query().select(GroupRow::as_select()).load(s)?,
        };
        found.extend(rows);
    }
    let wanted: BTreeSet<(&PolicyId, &String)> = wanted.iter().map(|(p, k, _)| (p, k)).collect();
    found.retain(|g| wanted.contains(&(&g.policy_id, &g.group_key)));
    found.sort_by(|a, b| a.id.cmp(&b.id));
    found.dedup_by(|a, b| a.id == b.id);
    Ok(found)
}

/// Groups whose notification is due at `at`, oldest due first, held for this transaction;
/// on PostgreSQL groups another process holds are skipped, not waited for.
pub fn due_groups(c: &mut DbConn, at: NaiveDateTime, limit: i64) -> StoreResult<Vec<GroupRow>> {
    let query = || {
        alert_groups::table
            .filter(alert_groups::flush_at.le(at))
            .order(alert_groups::flush_at.asc())
            .limit(limit)
    };
    Ok(match c {
        DbConn::Pg(pg) => query()
            .select(GroupRow::as_select())
            .for_update()
            .skip_locked()
            .load(pg)?,
        DbConn::Sqlite(s) => query().select(GroupRow::as_select()).load(s)?,
    })
}

/// When the next group is due, if any is pending.
pub fn next_group_due(c: &mut DbConn) -> StoreResult<Option<NaiveDateTime>> {
    Ok(alert_groups::table
        .select(diesel::dsl::min(alert_groups::flush_at))
        .first::<Option<NaiveDateTime>>(c)?)
}

pub fn add_members(c: &mut DbConn, pairs: &[(AlertGroupId, AlertId)]) -> StoreResult<()> {
    let rows: Vec<_> = pairs
        .iter()
        .map(|(g, a)| {
            (
                group_alerts::group_id.eq(g.clone()),
                group_alerts::alert_id.eq(a.clone()),
            )
        })
        .collect();
    for chunk in rows.chunks(CHUNK).map(<[_]>::to_vec) {
        match c {
            DbConn::Pg(pg) => diesel::insert_into(group_alerts::table)
                .values(chunk)
                .on_conflict_do_nothing()
                .execute(pg)?,
            DbConn::Sqlite(s) => diesel::insert_or_ignore_into(group_alerts::table)
                .values(chunk)
                .execute(s)?,
        };
    }
    Ok(())
}

/// Each group's alerts, as stored now. Two lookups by primary key rather than a join: a
/// planner without statistics yet (a young PostgreSQL table) joins by scanning every alert,
/// which made each flush cost more as alerts accumulated.
pub fn members(
    c: &mut DbConn,
    groups: &[AlertGroupId],
) -> StoreResult<HashMap<AlertGroupId, Vec<AlertRow>>> {
    let mut pairs: Vec<(AlertGroupId, AlertId)> = Vec::new();
    for chunk in groups.chunks(CHUNK) {
        pairs.extend(
            group_alerts::table
                .filter(group_alerts::group_id.eq_any(chunk))
                .select((group_alerts::group_id, group_alerts::alert_id))
                .load::<(AlertGroupId, AlertId)>(c)?,
        );
    }
    let ids: BTreeSet<&AlertId> = pairs.iter().map(|(_, a)| a).collect();
    let ids: Vec<&AlertId> = ids.into_iter().collect();
    let mut rows: HashMap<AlertId, AlertRow> = HashMap::new();
    for chunk in ids.chunks(CHUNK * 2) {
        let found: Vec<AlertRow> = alerts::table
            .filter(alerts::id.eq_any(chunk.iter().copied()))
            .select(AlertRow::as_select())
            .load(c)?;
        rows.extend(found.into_iter().map(|a| (a.id.clone(), a)));
    }
    let mut out: HashMap<AlertGroupId, Vec<AlertRow>> = HashMap::new();
    for (g, a) in pairs {
        if let Some(row) = rows.get(&a) {
            out.entry(g).or_default().push(row.clone());
        }
    }
    for alerts in out.values_mut() {
        alerts.sort_by(|a, b| a.id.cmp(&b.id));
    }
    Ok(out)
}

pub fn remove_members(c: &mut DbConn, group: &AlertGroupId, leave: &[AlertId]) -> StoreResult<()> {
    if leave.is_empty() {
        return Ok(());
    }
    for chunk in leave.chunks(CHUNK) {
        diesel::delete(
            group_alerts::table
                .filter(group_alerts::group_id.eq(group))
                .filter(group_alerts::alert_id.eq_any(chunk)),
        )
        .execute(c)?;
    }
    Ok(())
}

/// Groups with their new state, in one statement per chunk: each row is written whole and
/// lands on its existing self (`ON CONFLICT (id) DO UPDATE`), so a flush of many groups costs
/// a statement, not one per group. The groups are held by the caller's transaction, so every
/// row exists. Written out because Diesel builds no multi-row upsert for SQLite.
pub fn save_groups(c: &mut DbConn, saved: &[(&GroupRow, &GroupState)]) -> StoreResult<()> {
    use diesel::sql_types::{Nullable, Text, Timestamp};
    const COLUMNS: usize = 8;
    for chunk in saved.chunks(CHUNK) {
        let sql = |placeholder: &dyn Fn(usize) -> String| {
            let rows: Vec<String> = (0..chunk.len())
                .map(|r| {
                    let row: Vec<String> = (1..=COLUMNS)
                        .map(|k| placeholder(r * COLUMNS + k))
                        .collect();
                    format!("({})", row.join(", "))
                })
                .collect();
            format!(
                "INSERT INTO alert_groups (id, workspace_id, policy_id, group_key, created_at, \
                 flush_at, last_notified_at, notified_firing) VALUES {} ON CONFLICT (id) DO \
                 UPDATE SET flush_at = excluded.flush_at, last_notified_at = \
                 excluded.last_notified_at, notified_firing = excluded.notified_firing",
                rows.join(", ")
            )
        };
        macro_rules! bind_all {
            ($query:expr) => {{
                let mut q = $query;
                for (g, state) in chunk {
                    q = q
                        .bind::<Text, _>(g.id.as_str())
                        .bind::<Text, _>(g.workspace_id.as_str())
                        .bind::<Text, _>(g.policy_id.as_str())
                        .bind::<Text, _>(g.group_key.as_str())
                        .bind::<Timestamp, _>(g.created_at)
                        .bind::<Nullable<Timestamp>, _>(state.flush_at)
                        .bind::<Nullable<Timestamp>, _>(state.last_notified_at)
                        .bind::<Text, _>(joined(&state.notified_firing));
                }
                q
            }};
        }
        match c {
            DbConn::Pg(pg) => {
                bind_all!(diesel::sql_query(sql(&|i| format!("${i}"))).into_boxed()).execute(pg)?
            }
            DbConn::Sqlite(s) => {
                bind_all!(diesel::sql_query(sql(&|_| "?".to_string())).into_boxed()).execute(s)?
            }
        };
    }
    Ok(())
}

/// Groups whose alerts all resolved: they are over (their alerts stay, with their
/// notifications).
pub fn close_groups(c: &mut DbConn, ids: &[&AlertGroupId]) -> StoreResult<()> {
    for chunk in ids.chunks(CHUNK * 2) {
        diesel::delete(alert_groups::table.filter(alert_groups::id.eq_any(chunk.iter().copied())))
            .execute(c)?;
    }
    Ok(())
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = notifications)]
pub struct NewNotification {
    pub id: NotificationId,
    pub workspace_id: WorkspaceId,
    pub policy_id: Option<PolicyId>,
    pub policy_name: String,
    pub status: &'static str,
    pub payload: String,
    pub created_at: NaiveDateTime,
    pub received_at: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = deliveries)]
pub struct NewDelivery {
    pub id: DeliveryId,
    pub workspace_id: WorkspaceId,
    pub notification_id: NotificationId,
    pub channel: &'static str,
    pub target_id: String,
    pub recipient: String,
    pub address: Option<String>,
    pub state: &'static str,
    pub due_at: NaiveDateTime,
    pub lease_until: Option<NaiveDateTime>,
    pub attempts: i32,
    pub last_outcome: Option<String>,
    pub created_at: NaiveDateTime,
    pub finished_at: Option<NaiveDateTime>,
    /// For a fallback hop: the delivery it follows, the rule, the contact the chain is for,
    /// and the line the recipient reads first.
    pub replaces_id: Option<DeliveryId>,
    pub hop: Option<&'static str>,
    pub meant_for: Option<String>,
    pub note: Option<String>,
    /// A chat delivery's @mentions (JSON, see `domain::mention::Mentions`).
    pub mentions: Option<String>,
}

/// Notifications, the alerts each names, and their deliveries, in batches.
pub fn enqueue(
    c: &mut DbConn,
    notes: &[NewNotification],
    named: &[(NotificationId, AlertId)],
    planned: &[NewDelivery],
) -> StoreResult<()> {
    insert_chunks!(c, notifications::table, notes);
    let links: Vec<_> = named
        .iter()
        .map(|(n, a)| {
            (
                notification_alerts::notification_id.eq(n.clone()),
                notification_alerts::alert_id.eq(a.clone()),
            )
        })
        .collect();
    insert_chunks!(c, notification_alerts::table, links);
    insert_chunks!(c, deliveries::table, planned);
    Ok(())
}

/// A delivery a worker holds.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = deliveries)]
pub struct Job {
    pub id: DeliveryId,
    pub workspace_id: WorkspaceId,
    pub notification_id: NotificationId,
    pub channel: String,
    pub target_id: String,
    pub recipient: String,
    pub address: Option<String>,
    pub attempts: i32,
    pub created_at: NaiveDateTime,
    /// Why a fallback hop came to its recipient, said before the alert.
    pub note: Option<String>,
    /// A chat delivery's @mentions (JSON).
    pub mentions: Option<String>,
}

impl Job {
    pub fn channel(&self) -> Option<Channel> {
        Channel::parse(&self.channel).ok()
    }
}

fn codes(states: &[DeliveryState]) -> Vec<&'static str> {
    states.iter().map(|s| s.code()).collect()
}

/// Takes up to `limit` due deliveries (and those whose holder's lease ran out) for `lease`.
/// PostgreSQL skips rows another process is claiming; SQLite's write lock makes the claim
/// atomic. A delivery is sent twice only when its holder died (or overran its lease).
pub fn claim(
    c: &mut DbConn,
    at: NaiveDateTime,
    lease: Duration,
    limit: i64,
) -> StoreResult<Vec<Job>> {
    super::write_transaction(c, |c| {
        // Two index lookups, not one query with OR, which PostgreSQL answers by scanning the
        // table: leases that ran out first (their holders died), then what is due.
        let expired = deliveries::table
            .filter(deliveries::state.eq(DeliveryState::Sending.code()))
            .filter(deliveries::lease_until.lt(at))
            .order(deliveries::due_at.asc())
            .limit(limit)
            .select(deliveries::id);
        let mut ids: Vec<DeliveryId> = match c {
            DbConn::Pg(pg) => expired.for_update().skip_locked().load(pg)?,
            DbConn::Sqlite(s) => expired.load(s)?,
        };
        let room = limit - ids.len() as i64;
        if room > 0 {
            // One ordered index scan per waiting state, merged by due time. A single query
            // over the three states is a bitmap scan, which never learns that index entries
            // of rows already sent are dead: on PostgreSQL, until a vacuum, every claim read
            // every delivery ever queued.
            let mut due: Vec<(NaiveDateTime, DeliveryId)> = Vec::new();
            for state in DeliveryState::WAITING {
                let query = deliveries::table
                    .filter(deliveries::state.eq(state.code()))
                    .filter(deliveries::due_at.le(at))
                    .order(deliveries::due_at.asc())
                    .limit(room)
                    .select((deliveries::due_at, deliveries::id));
                due.extend(match c {
                    DbConn::Pg(pg) => query.for_update().skip_locked().load(pg)?,
                    DbConn::Sqlite(s) => query.load(s)?,
                });
            }
            // The rest stay as they are (on PostgreSQL, locked only until this commits).
            due.sort();
            ids.extend(due.into_iter().take(room as usize).map(|(_, id)| id));
        }
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut jobs = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(CHUNK * 2) {
            diesel::update(deliveries::table.filter(deliveries::id.eq_any(chunk)))
                .set((
                    deliveries::state.eq(DeliveryState::Sending.code()),
                    deliveries::lease_until.eq(at + lease),
                ))
                .execute(c)?;
            jobs.extend(
                deliveries::table
                    .filter(deliveries::id.eq_any(chunk))
                    .select(Job::as_select())
                    .load(c)?,
            );
        }
        Ok(jobs)
    })
}

/// Whether `claim` at `at` would find anything: a read, so that a worker woken for work another
/// worker already took does not queue for the write lock only to find nothing.
pub fn claimable(c: &mut DbConn, at: NaiveDateTime) -> StoreResult<bool> {
    if next_delivery_due(c)?.is_some_and(|due| due <= at) {
        return Ok(true);
    }
    let expired: Option<DeliveryId> = deliveries::table
        .filter(deliveries::state.eq(DeliveryState::Sending.code()))
        .filter(deliveries::lease_until.lt(at))
        .select(deliveries::id)
        .first(c)
        .optional()?;
    Ok(expired.is_some())
}

/// When the next waiting delivery is due, if any.
pub fn next_delivery_due(c: &mut DbConn) -> StoreResult<Option<NaiveDateTime>> {
    // Per state, for the same reason as in `claim`.
    let mut next = None;
    for state in DeliveryState::WAITING {
        let due: Option<NaiveDateTime> = deliveries::table
            .filter(deliveries::state.eq(state.code()))
            .order(deliveries::due_at.asc())
            .select(deliveries::due_at)
            .first(c)
            .optional()?;
        next = match (next, due) {
            (Some(a), Some(b)) => Some(std::cmp::min(a, b)),
            (a, b) => a.or(b),
        };
    }
    Ok(next)
}

/// What a notification says, for sending.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = notifications)]
pub struct NotificationRow {
    pub id: NotificationId,
    pub policy_name: String,
    pub status: String,
    pub payload: String,
    pub created_at: NaiveDateTime,
    pub received_at: NaiveDateTime,
}

pub fn notifications(
    c: &mut DbConn,
    ids: &[NotificationId],
) -> StoreResult<HashMap<NotificationId, NotificationRow>> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(CHUNK * 2) {
        let rows: Vec<NotificationRow> = notifications::table
            .filter(notifications::id.eq_any(chunk))
            .select(NotificationRow::as_select())
            .load(c)?;
        out.extend(rows.into_iter().map(|n| (n.id.clone(), n)));
    }
    Ok(out)
}

/// One try to send, as the log shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub at: NaiveDateTime,
    pub duration_ms: i32,
    /// `delivered`, or the failure kind's code.
    pub outcome: String,
    /// The provider's status or code (`HTTP 500`, `130101`).
    pub code: Option<String>,
    pub message: String,
}

/// What becomes of a held delivery.
#[derive(Debug, Clone)]
pub enum Settle {
    /// It was tried: the attempt, and the state it is left in (a final one, or Retrying at a
    /// time).
    Tried {
        attempt: Attempt,
        state: DeliveryState,
        due_at: Option<NaiveDateTime>,
    },
    /// Not tried: our own rate limit for its chatbot; it waits, no attempt is counted.
    Wait { until: NaiveDateTime, why: String },
    /// A call the provider placed: its outcome comes later (a callback, a query, or the
    /// deadline passing), under the provider's reference.
    Calling {
        attempt: Attempt,
        reference: String,
        deadline: NaiveDateTime,
    },
}

#[derive(Clone, Insertable)]
#[diesel(table_name = delivery_attempts)]
struct NewAttempt {
    id: String,
    delivery_id: DeliveryId,
    at: NaiveDateTime,
    duration_ms: i32,
    outcome: String,
    code: Option<String>,
    message: String,
}

impl NewAttempt {
    fn of(delivery: &DeliveryId, a: &Attempt) -> NewAttempt {
        NewAttempt {
            id: DeliveryId::new().to_string(),
            delivery_id: delivery.clone(),
            at: a.at,
            duration_ms: a.duration_ms,
            outcome: a.outcome.clone(),
            code: a.code.clone(),
            message: a.message.clone(),
        }
    }
}

/// Where a settled delivery is left: deliveries left alike are updated by one statement.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Left<'a> {
    state: &'static str,
    due_at: NaiveDateTime,
    finished_at: Option<NaiveDateTime>,
    last_outcome: &'a str,
    /// Whether an attempt was made (a rate-limit wait is not one).
    tried: bool,
    /// A placed call's deadline for its outcome, and the provider's reference.
    calling: Option<(NaiveDateTime, &'a str)>,
}

/// Records what happened to held deliveries at `at`, in one transaction: every attempt, and
/// one update for each set of deliveries left alike (a batch that all went through is one
/// statement, however many it held). A delivery that reached a final state is finished, and
/// due, at `at`; one to be retried is due when its backoff says.
pub fn settle(c: &mut DbConn, at: NaiveDateTime, done: &[(DeliveryId, Settle)]) -> StoreResult<()> {
    let mut attempts = Vec::new();
    let mut alike: std::collections::BTreeMap<Left<'_>, Vec<&DeliveryId>> = Default::default();
    for (id, settle) in done {
        let left = match settle {
            Settle::Tried {
                attempt,
                state,
                due_at,
            } => {
                attempts.push(NewAttempt::of(id, attempt));
                Left {
                    state: state.code(),
                    due_at: due_at.unwrap_or(at),
                    finished_at: state.is_final().then_some(at),
                    last_outcome: &attempt.message,
                    tried: true,
                    calling: None,
                }
            }
            Settle::Wait { until, why } => Left {
                state: DeliveryState::Throttled.code(),
                due_at: *until,
                finished_at: None,
                last_outcome: why,
                tried: false,
                calling: None,
            },
            Settle::Calling {
                attempt,
                reference,
                deadline,
            } => {
                attempts.push(NewAttempt::of(id, attempt));
                Left {
                    state: DeliveryState::Calling.code(),
                    due_at: at,
                    finished_at: None,
                    last_outcome: &attempt.message,
                    tried: true,
                    calling: Some((*deadline, reference)),
                }
            }
        };
        alike.entry(left).or_default().push(id);
    }
    super::write_transaction(c, |c| {
        for (left, ids) in &alike {
            for chunk in ids.chunks(CHUNK * 2) {
                let rows = deliveries::table.filter(deliveries::id.eq_any(chunk.iter().copied()));
                let set = (
                    deliveries::state.eq(left.state),
                    deliveries::due_at.eq(left.due_at),
                    // A placed call keeps its deadline where a lease would be.
                    deliveries::lease_until.eq(left.calling.map(|(d, _)| d)),
                    deliveries::provider_ref.eq(left.calling.map(|(_, r)| r)),
                    deliveries::last_outcome.eq(Some(left.last_outcome)),
                    deliveries::finished_at.eq(left.finished_at),
                );
                if left.tried {
                    diesel::update(rows)
                        .set((set, deliveries::attempts.eq(deliveries::attempts + 1)))
                        .execute(c)?;
                } else {
                    diesel::update(rows).set(set).execute(c)?;
                }
            }
        }
        insert_chunks!(c, delivery_attempts::table, attempts);
        Ok(())
    })
}

/// A delivery as the console lists it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = deliveries)]
pub struct DeliveryRow {
    pub id: DeliveryId,
    pub notification_id: NotificationId,
    pub channel: String,
    pub recipient: String,
    pub address: Option<String>,
    pub state: String,
    pub due_at: NaiveDateTime,
    pub attempts: i32,
    pub last_outcome: Option<String>,
    pub created_at: NaiveDateTime,
    pub finished_at: Option<NaiveDateTime>,
    pub hop: Option<String>,
    pub unreached: bool,
}

impl DeliveryRow {
    pub fn state(&self) -> Option<DeliveryState> {
        DeliveryState::parse(&self.state).ok()
    }

    /// The fallback rule that made it, for a delivery that follows a failed one.
    pub fn hop(&self) -> Option<crate::domain::fallback::Hop> {
        self.hop
            .as_deref()
            .and_then(|h| crate::domain::fallback::Hop::parse(h).ok())
    }
}

/// A notification about an alert with its deliveries, each with its attempts.
#[derive(Debug, Clone)]
pub struct NotificationLog {
    pub notification: NotificationRow,
    pub deliveries: Vec<(DeliveryRow, Vec<Attempt>)>,
}

/// Every notification that named the alert, newest first.
pub fn log_for_alert(
    c: &mut DbConn,
    ws: &WorkspaceId,
    alert: &AlertId,
) -> StoreResult<Vec<NotificationLog>> {
    let notes: Vec<NotificationRow> = notifications::table
        .inner_join(notification_alerts::table)
        .filter(notification_alerts::alert_id.eq(alert))
        .filter(notifications::workspace_id.eq(ws))
        .order(notifications::created_at.desc())
        .limit(50)
        .select(NotificationRow::as_select())
        .load(c)?;
    let ids: Vec<&NotificationId> = notes.iter().map(|n| &n.id).collect();
    let rows: Vec<DeliveryRow> = deliveries::table
        .filter(deliveries::notification_id.eq_any(ids))
        .order(deliveries::id)
        .select(DeliveryRow::as_select())
        .load(c)?;
    let mut attempts = attempts_of(c, &rows.iter().map(|d| d.id.clone()).collect::<Vec<_>>())?;
    Ok(notes
        .into_iter()
        .map(|n| NotificationLog {
            deliveries: rows
                .iter()
                .filter(|d| d.notification_id == n.id)
                .map(|d| (d.clone(), attempts.remove(&d.id).unwrap_or_default()))
                .collect(),
            notification: n,
        })
        .collect())
}

fn attempts_of(
    c: &mut DbConn,
    ids: &[DeliveryId],
) -> StoreResult<HashMap<DeliveryId, Vec<Attempt>>> {
    let mut out: HashMap<DeliveryId, Vec<Attempt>> = HashMap::new();
    for chunk in ids.chunks(CHUNK * 2) {
        let rows: Vec<(
            DeliveryId,
            NaiveDateTime,
            i32,
            String,
            Option<String>,
            String,
        )> = delivery_attempts::table
            .filter(delivery_attempts::delivery_id.eq_any(chunk))
            .order((delivery_attempts::at.asc(), delivery_attempts::id.asc()))
            .select((
                delivery_attempts::delivery_id,
                delivery_attempts::at,
                delivery_attempts::duration_ms,
                delivery_attempts::outcome,
                delivery_attempts::code,
                delivery_attempts::message,
            ))
            .load(c)?;
        for (id, at, duration_ms, outcome, code, message) in rows {
            out.entry(id).or_default().push(Attempt {
                at,
                duration_ms,
                outcome,
                code,
                message,
            });
        }
    }
    Ok(out)
}

/// A delivery on the Deliveries page: what it was for.
#[derive(Debug, Clone)]
pub struct Troubled {
    pub delivery: DeliveryRow,
    pub policy_name: String,
    /// The first alert the notification named, for the link.
    pub alert: Option<AlertId>,
}

/// States the Deliveries page shows: what is failing or waiting to be tried again.
pub const TROUBLED: [DeliveryState; 4] = [
    DeliveryState::Retrying,
    DeliveryState::Throttled,
    DeliveryState::Failed,
    DeliveryState::Refused,
];

/// The workspace's deliveries in `states`, most recent first.
pub fn troubled(
    c: &mut DbConn,
    ws: &WorkspaceId,
    states: &[DeliveryState],
    limit: i64,
) -> StoreResult<Vec<Troubled>> {
    // The newest of each channel and state, merged: each read walks (workspace, channel,
    // state, created_at) backwards and stops at `limit`, where one query over all the states
    // would sort every delivery in them first.
    let mut rows: Vec<(DeliveryRow, String)> = Vec::new();
    for channel in Channel::ALL {
        for state in states {
            rows.extend(
                deliveries::table
                    .inner_join(notifications::table)
                    .filter(deliveries::workspace_id.eq(ws))
                    .filter(deliveries::channel.eq(channel.code()))
                    .filter(deliveries::state.eq(state.code()))
                    .order(deliveries::created_at.desc())
                    .limit(limit)
                    .select((DeliveryRow::as_select(), notifications::policy_name))
                    .load::<(DeliveryRow, String)>(c)?,
            );
        }
    }
    rows.sort_by_key(|r| std::cmp::Reverse(r.0.created_at));
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    let note_ids: Vec<NotificationId> = rows
        .iter()
        .map(|(d, _)| d.notification_id.clone())
        .collect();
    let mut first: HashMap<NotificationId, AlertId> = HashMap::new();
    for chunk in note_ids.chunks(CHUNK * 2) {
        let links: Vec<(NotificationId, AlertId)> = notification_alerts::table
            .filter(notification_alerts::notification_id.eq_any(chunk))
            .select((
                notification_alerts::notification_id,
                notification_alerts::alert_id,
            ))
            .load(c)?;
        for (n, a) in links {
            first.entry(n).or_insert(a);
        }
    }
    Ok(rows
        .into_iter()
        .map(|(d, policy_name)| Troubled {
            alert: first.get(&d.notification_id).cloned(),
            delivery: d,
            policy_name,
        })
        .collect())
}

/// Puts a failed, refused or waiting delivery of the workspace back in the queue, due now.
/// False when there is no such delivery (or it is under way or delivered).
pub fn retry_now(
    c: &mut DbConn,
    ws: &WorkspaceId,
    id: &DeliveryId,
    at: NaiveDateTime,
) -> StoreResult<bool> {
    let n = diesel::update(
        deliveries::table
            .filter(deliveries::workspace_id.eq(ws))
            .filter(deliveries::id.eq(id))
            .filter(deliveries::state.eq_any(codes(&TROUBLED))),
    )
    .set((
        deliveries::state.eq(DeliveryState::Retrying.code()),
        deliveries::due_at.eq(at),
        deliveries::finished_at.eq(None::<NaiveDateTime>),
        // A manual retry starts a new day of tries.
        deliveries::created_at.eq(at),
    ))
    .execute(c)?;
    Ok(n > 0)
}

/// The outbox's depth for `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Depth {
    pub due: i64,
    pub throttled: i64,
    pub retrying: i64,
    pub sending: i64,
    /// Seconds since the oldest due delivery became due.
    pub oldest_due_secs: i64,
}

pub fn depth(c: &mut DbConn, at: NaiveDateTime) -> StoreResult<Depth> {
    // By state, not by `finished_at IS NULL`: the states are indexed, so this reads what is
    // pending, not every delivery ever made.
    let pending = [
        DeliveryState::Throttled,
        DeliveryState::Retrying,
        DeliveryState::Sending,
    ];
    let by_state: Vec<(String, i64)> = deliveries::table
        .filter(deliveries::state.eq_any(codes(&pending)))
        .group_by(deliveries::state)
        .select((deliveries::state, diesel::dsl::count_star()))
        .load(c)?;
    let count = |s: DeliveryState| {
        by_state
            .iter()
            .find(|(code, _)| code == s.code())
            .map_or(0, |(_, n)| *n)
    };
    let due: i64 = deliveries::table
        .filter(deliveries::state.eq_any(codes(&DeliveryState::WAITING)))
        .filter(deliveries::due_at.le(at))
        .count()
        .get_result(c)?;
    let oldest: Option<NaiveDateTime> = deliveries::table
        .filter(deliveries::state.eq_any(codes(&DeliveryState::WAITING)))
        .filter(deliveries::due_at.le(at))
        .select(diesel::dsl::min(deliveries::due_at))
        .first(c)?;
    Ok(Depth {
        due,
        throttled: count(DeliveryState::Throttled),
        retrying: count(DeliveryState::Retrying),
        sending: count(DeliveryState::Sending),
        oldest_due_secs: oldest.map_or(0, |o| (at - o).num_seconds().max(0)),
    })
}

/// One delivery of the workspace; `StoreError::NotFound` when it is not the workspace's.
pub fn delivery(c: &mut DbConn, ws: &WorkspaceId, id: &DeliveryId) -> StoreResult<DeliveryRow> {
    Ok(deliveries::table
        .filter(deliveries::workspace_id.eq(ws))
        .filter(deliveries::id.eq(id))
        .select(DeliveryRow::as_select())
        .first(c)?)
}

diesel::allow_columns_to_appear_in_same_group_by_clause!(
    notification_alerts::alert_id,
    deliveries::state
);

/// How many of an alert's deliveries are in each state, for the Alerts list.
pub type StateCounts = Vec<(DeliveryState, i64)>;

/// For each of `alerts` (of the workspace) that any notification named, how many deliveries of
/// those notifications are in each state (in no particular order): one grouped query per
/// chunk of alerts, however many alerts the page lists.
pub fn state_counts(
    c: &mut DbConn,
    ws: &WorkspaceId,
    alerts: &[AlertId],
) -> StoreResult<HashMap<AlertId, StateCounts>> {
    let mut out: HashMap<AlertId, StateCounts> = HashMap::new();
    for chunk in alerts.chunks(CHUNK * 2) {
        let rows: Vec<(AlertId, String, i64)> = notification_alerts::table
            .inner_join(
                deliveries::table
                    .on(deliveries::notification_id.eq(notification_alerts::notification_id)),
            )
            .filter(notification_alerts::alert_id.eq_any(chunk))
            .filter(deliveries::workspace_id.eq(ws))
            .group_by((notification_alerts::alert_id, deliveries::state))
            .select((
                notification_alerts::alert_id,
                deliveries::state,
                diesel::dsl::count_star(),
            ))
            .load(c)?;
        for (alert, state, n) in rows {
            // A state this version does not know is not counted as any it does.
            if let Ok(state) = DeliveryState::parse(&state) {
                out.entry(alert).or_default().push((state, n));
            }
        }
    }
    Ok(out)
}
