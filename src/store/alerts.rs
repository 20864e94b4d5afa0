//! Alerts: what an ingest request changes, in one transaction, committed before its 2xx.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{alert_events, alerts};
use super::{AlertId, DbConn, StoreResult, WorkspaceId};
use crate::domain::alert::{AlertStatus, IncomingAlert, Labels};

/// Where an alert came from (the endpoint), as the Alerts page shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Alertmanager,
    AlertsApi,
    Event,
}

impl Source {
    pub fn code(self) -> &'static str {
        match self {
            Source::Alertmanager => "alertmanager",
            Source::AlertsApi => "alerts-api",
            Source::Event => "event",
        }
    }
}

/// What a request did: how many alerts it named, and how many of them changed (new, or a new
/// status or start). Only changes will notify anyone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ingested {
    pub received: usize,
    pub changed: usize,
}

/// A stored alert, for the console and tests.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = alerts)]
pub struct AlertRow {
    pub id: AlertId,
    pub fingerprint: String,
    pub labels: String,
    pub annotations: String,
    pub status: String,
    pub starts_at: NaiveDateTime,
    pub ends_at: Option<NaiveDateTime>,
    pub source: String,
    pub generator_url: Option<String>,
    pub received_at: NaiveDateTime,
    pub last_received_at: NaiveDateTime,
}

impl AlertRow {
    /// The labels; Err names what does not decode (never an empty set in its place).
    pub fn labels(&self) -> Result<Labels, String> {
        serde_json::from_str(&self.labels)
            .map_err(|e| format!("stored labels of alert {} do not decode: {e}", self.id))
    }

    pub fn annotations(&self) -> Result<Labels, String> {
        serde_json::from_str(&self.annotations)
            .map_err(|e| format!("stored annotations of alert {} do not decode: {e}", self.id))
    }
}

fn json(map: &Labels) -> String {
    // A map of strings always serializes.
    serde_json::to_string(map).unwrap_or_else(|_| "{}".into())
}

/// An alert whose status or start changed (or that is new): what grouping needs of it.
#[derive(Debug, Clone)]
pub struct Changed {
    pub alert: AlertId,
    pub labels: Labels,
}

/// Stores what one request says, in the caller's write transaction (the notifications the
/// changes cause are written in the same one). Posting the same alert again (same
/// fingerprint, status and start) changes nothing but when it was last heard of (which keeps
/// it firing past the resolve timeout).
pub fn apply(
    c: &mut DbConn,
    ws: &WorkspaceId,
    source: Source,
    incoming: &[IncomingAlert],
    at: NaiveDateTime,
) -> StoreResult<(Ingested, Vec<Changed>)> {
    {
        // One request may name an alert twice: the last word counts.
        let mut latest: HashMap<String, &IncomingAlert> = HashMap::new();
        for alert in incoming {
            latest.insert(alert.fingerprint(), alert);
        }
        let fingerprints: Vec<&String> = latest.keys().collect();
        let mut existing: HashMap<String, (AlertId, String, NaiveDateTime)> = HashMap::new();
        for chunk in fingerprints.chunks(500) {
            let rows: Vec<(String, AlertId, String, NaiveDateTime)> = alerts::table
                .filter(alerts::workspace_id.eq(ws))
                .filter(alerts::fingerprint.eq_any(chunk.iter().copied()))
                .select((
                    alerts::fingerprint,
                    alerts::id,
                    alerts::status,
                    alerts::starts_at,
                ))
                .load(c)?;
            existing.extend(rows.into_iter().map(|(f, id, st, at)| (f, (id, st, at))));
        }
        let mut new_rows = Vec::new();
        let mut timeline = Vec::new();
        for (fingerprint, alert) in &latest {
            match existing.remove(fingerprint) {
                Some((id, stored, starts)) if is_repeat(alert, &stored, starts) => {
                    touch(c, &id, alert, at)?;
                }
                Some((id, _, _)) => {
                    change(c, &id, source, alert, at)?;
                    timeline.push((id, *alert));
                }
                None => {
                    let id = AlertId::new();
                    new_rows.push(new_row(&id, ws, fingerprint, source, alert, at));
                    timeline.push((id, *alert));
                }
            }
        }
        // Multi-row inserts go by backend (MultiConnection does not take them).
        for chunk in new_rows.chunks(200).map(<[NewAlert]>::to_vec) {
            super::on_backend!(c, |c| diesel::insert_into(alerts::table)
                .values(chunk)
                .execute(c))?;
        }
        record_all(c, &timeline, at)?;
        let changed = timeline
            .iter()
            .map(|(id, alert)| Changed {
                alert: id.clone(),
                labels: alert.labels.clone(),
            })
            .collect();
        Ok((
            Ingested {
                received: incoming.len(),
                changed: timeline.len(),
            },
            changed,
        ))
    }
}

/// The same alert again: same status and start, or still firing and posted without a start of
/// its own (its start stays the first one). Repeats notify nobody.
fn is_repeat(alert: &IncomingAlert, stored: &str, starts: NaiveDateTime) -> bool {
    stored == alert.status.code()
        && (starts == alert.starts_at
            || (alert.status == AlertStatus::Firing && !alert.starts_at_stated))
}

/// A repeat: only when it was last heard of, its end and annotations move.
fn touch(
    c: &mut DbConn,
    id: &AlertId,
    alert: &IncomingAlert,
    at: NaiveDateTime,
) -> StoreResult<()> {
    diesel::update(alerts::table.filter(alerts::id.eq(id)))
        .set((
            alerts::last_received_at.eq(at),
            alerts::ends_at.eq(alert.ends_at),
            alerts::annotations.eq(json(&alert.annotations)),
        ))
        .execute(c)?;
    Ok(())
}

fn change(
    c: &mut DbConn,
    id: &AlertId,
    source: Source,
    alert: &IncomingAlert,
    at: NaiveDateTime,
) -> StoreResult<()> {
    diesel::update(alerts::table.filter(alerts::id.eq(id)))
        .set((
            alerts::annotations.eq(json(&alert.annotations)),
            alerts::status.eq(alert.status.code()),
            alerts::starts_at.eq(alert.starts_at),
            alerts::ends_at.eq(alert.ends_at),
            alerts::generator_url.eq(&alert.generator_url),
            alerts::source.eq(source.code()),
            alerts::last_received_at.eq(at),
        ))
        .execute(c)?;
    Ok(())
}

#[derive(Clone, Insertable)]
#[diesel(table_name = alerts)]
struct NewAlert {
    id: AlertId,
    workspace_id: WorkspaceId,
    fingerprint: String,
    labels: String,
    annotations: String,
    status: &'static str,
    starts_at: NaiveDateTime,
    ends_at: Option<NaiveDateTime>,
    generator_url: Option<String>,
    source: &'static str,
    received_at: NaiveDateTime,
    last_received_at: NaiveDateTime,
}

fn new_row(
    id: &AlertId,
    ws: &WorkspaceId,
    fingerprint: &str,
    source: Source,
    alert: &IncomingAlert,
    at: NaiveDateTime,
) -> NewAlert {
    NewAlert {
        id: id.clone(),
        workspace_id: ws.clone(),
        fingerprint: fingerprint.to_string(),
        labels: json(&alert.labels),
        annotations: json(&alert.annotations),
        status: alert.status.code(),
        starts_at: alert.starts_at,
        ends_at: alert.ends_at,
        generator_url: alert.generator_url.clone(),
        source: source.code(),
        received_at: at,
        last_received_at: at,
    }
}

#[derive(Clone, Insertable)]
#[diesel(table_name = alert_events)]
struct NewEvent {
    id: String,
    alert_id: AlertId,
    at: NaiveDateTime,
    kind: &'static str,
    starts_at: NaiveDateTime,
}

/// Transitions on the alerts' timelines, in batches.
fn record_all(
    c: &mut DbConn,
    changed: &[(AlertId, &IncomingAlert)],
    at: NaiveDateTime,
) -> StoreResult<()> {
    let rows: Vec<NewEvent> = changed
        .iter()
        .map(|(id, alert)| NewEvent {
            id: AlertId::new().to_string(),
            alert_id: id.clone(),
            at,
            kind: alert.status.code(),
            starts_at: alert.starts_at,
        })
        .collect();
    for chunk in rows.chunks(500).map(<[NewEvent]>::to_vec) {
        super::on_backend!(c, |c| diesel::insert_into(alert_events::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(())
}

/// A transition on the alert's timeline.
fn record(
    c: &mut DbConn,
    alert: &AlertId,
    at: NaiveDateTime,
    status: AlertStatus,
    starts_at: NaiveDateTime,
) -> StoreResult<()> {
    diesel::insert_into(alert_events::table)
        .values((
            alert_events::id.eq(AlertId::new().to_string()),
            alert_events::alert_id.eq(alert),
            alert_events::at.eq(at),
            alert_events::kind.eq(status.code()),
            alert_events::starts_at.eq(starts_at),
        ))
        .execute(c)?;
    Ok(())
}

/// An alert's transitions, oldest first: (when, "firing" | "resolved").
pub fn timeline(conn: &mut DbConn, alert: &AlertId) -> StoreResult<Vec<(NaiveDateTime, String)>> {
    Ok(alert_events::table
        .filter(alert_events::alert_id.eq(alert))
        .order((alert_events::at.asc(), alert_events::id.asc()))
        .select((alert_events::at, alert_events::kind))
        .load(conn)?)
}

/// Alerts per page of the Alerts list.
pub const PAGE_SIZE: i64 = 50;

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

/// What the Alerts list shows: a status (or all), and text the labels must contain.
#[derive(Debug, Clone)]
pub struct Filter {
    pub status: Option<AlertStatus>,
    pub search: String,
}

/// One page of the workspace's alerts, most recently heard of first, and how many match.
pub fn page(
    conn: &mut DbConn,
    ws: &WorkspaceId,
    filter: &Filter,
    page: i64,
) -> StoreResult<(Vec<AlertRow>, i64)> {
    let query = || {
        let mut q = alerts::table
            .filter(alerts::workspace_id.eq(ws.clone()))
            .into_boxed();
        if let Some(s) = filter.status {
            q = q.filter(alerts::status.eq(s.code()));
        }
        let search = label_search(&filter.search);
        if !search.is_empty() {
            // Labels are stored as JSON text: a substring of it is a substring of a name or
            // value (or of `"name":"value"`). LIKE's wildcards in the search are literal.
            let escaped = search
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            q = q.filter(
                lower(alerts::labels)
                    .like(format!("%{escaped}%"))
                    .escape('\\'),
            );
        }
        q
    };
    let total: i64 = query().count().get_result(conn)?;
    let rows = query()
        .order((alerts::last_received_at.desc(), alerts::id.desc()))
        .limit(PAGE_SIZE)
        .offset((page.max(1) - 1) * PAGE_SIZE)
        .select(AlertRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}

/// What to look for in the stored labels: `team=db` is that label with that value (as stored,
/// `"team":"db"`); anything else is looked for as it is, ignoring case.
fn label_search(q: &str) -> String {
    let q = q.trim();
    let quoted = |s: &str| serde_json::to_string(s.trim()).unwrap_or_default();
    match q.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            format!("{}:{}", quoted(name), quoted(value)).to_lowercase()
        }
        _ => q.to_lowercase(),
    }
}

pub fn get(conn: &mut DbConn, ws: &WorkspaceId, id: &AlertId) -> StoreResult<AlertRow> {
    Ok(alerts::table
        .filter(alerts::workspace_id.eq(ws))
        .filter(alerts::id.eq(id))
        .select(AlertRow::as_select())
        .first(conn)?)
}

/// The workspace's alerts among `ids` (a page's worth: callers bound how many).
pub fn among(conn: &mut DbConn, ws: &WorkspaceId, ids: &[AlertId]) -> StoreResult<Vec<AlertRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(alerts::table
        .filter(alerts::workspace_id.eq(ws))
        .filter(alerts::id.eq_any(ids))
        .select(AlertRow::as_select())
        .load(conn)?)
}

/// Alerts whose end has passed without being posted again (Alertmanager's resolve timeout, or
/// a stated `endsAt` in the future that has now come): resolved, each with its timeline entry,
/// in the caller's write transaction. Answers them by workspace.
pub fn resolve_expired(
    c: &mut DbConn,
    at: NaiveDateTime,
) -> StoreResult<Vec<(WorkspaceId, Changed)>> {
    let due: Vec<(AlertId, WorkspaceId, String, NaiveDateTime)> = alerts::table
        .filter(alerts::status.eq(AlertStatus::Firing.code()))
        .filter(alerts::ends_at.le(at))
        .select((
            alerts::id,
            alerts::workspace_id,
            alerts::labels,
            alerts::starts_at,
        ))
        .limit(1000)
        .load(c)?;
    let mut out = Vec::with_capacity(due.len());
    for (id, ws, labels, starts_at) in due {
        diesel::update(alerts::table.filter(alerts::id.eq(&id)))
            .set(alerts::status.eq(AlertStatus::Resolved.code()))
            .execute(c)?;
        record(c, &id, at, AlertStatus::Resolved, starts_at)?;
        match serde_json::from_str::<Labels>(&labels) {
            Ok(labels) => out.push((ws, Changed { alert: id, labels })),
            // Resolved all the same; only its groups cannot be found by label.
            Err(e) => tracing::error!(alert = %id, error = %e, "stored labels do not decode"),
        }
    }
    Ok(out)
}
