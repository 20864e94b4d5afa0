//! Alerts: what an ingest request changes, in one transaction, committed before its 2xx.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{alert_events, alerts};
use super::{AlertId, DbConn, StoreResult, WorkspaceId, now};
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

    pub fn status(&self) -> Option<AlertStatus> {
        AlertStatus::parse(&self.status)
    }
}

fn json(map: &Labels) -> String {
    // A map of strings always serializes.
    serde_json::to_string(map).unwrap_or_else(|_| "{}".into())
}

/// Stores what one request says. Posting the same alert again (same fingerprint, status and
/// start) changes nothing but when it was last heard of (which keeps it firing past the
/// resolve timeout).
pub fn ingest(
    conn: &mut DbConn,
    ws: &WorkspaceId,
    source: Source,
    incoming: &[IncomingAlert],
) -> StoreResult<Ingested> {
    super::write_transaction(conn, |c| {
        let at = now();
        let mut done = Ingested {
            received: incoming.len(),
            changed: 0,
        };
        for alert in incoming {
            if upsert(c, ws, source, alert, at)? {
                done.changed += 1;
            }
        }
        Ok(done)
    })
}

/// One alert; true when it changed.
fn upsert(
    c: &mut DbConn,
    ws: &WorkspaceId,
    source: Source,
    alert: &IncomingAlert,
    at: NaiveDateTime,
) -> StoreResult<bool> {
    let fingerprint = alert.fingerprint();
    let existing: Option<(AlertId, String, NaiveDateTime)> = alerts::table
        .filter(alerts::workspace_id.eq(ws))
        .filter(alerts::fingerprint.eq(&fingerprint))
        .select((alerts::id, alerts::status, alerts::starts_at))
        .first(c)
        .optional()?;
    let status = alert.status.code();
    let id = match existing {
        // The same alert again: same status and start, or still firing and posted without a
        // start of its own (its start stays the first one).
        Some((id, stored, starts))
            if stored == status
                && (starts == alert.starts_at
                    || (alert.status == AlertStatus::Firing && !alert.starts_at_stated)) =>
        {
            diesel::update(alerts::table.filter(alerts::id.eq(&id)))
                .set((
                    alerts::last_received_at.eq(at),
                    alerts::ends_at.eq(alert.ends_at),
                    alerts::annotations.eq(json(&alert.annotations)),
                ))
                .execute(c)?;
            return Ok(false);
        }
        Some((id, _, _)) => {
            diesel::update(alerts::table.filter(alerts::id.eq(&id)))
                .set((
                    alerts::annotations.eq(json(&alert.annotations)),
                    alerts::status.eq(status),
                    alerts::starts_at.eq(alert.starts_at),
                    alerts::ends_at.eq(alert.ends_at),
                    alerts::generator_url.eq(&alert.generator_url),
                    alerts::source.eq(source.code()),
                    alerts::last_received_at.eq(at),
                ))
                .execute(c)?;
            id
        }
        None => {
            let id = AlertId::new();
            diesel::insert_into(alerts::table)
                .values((
                    alerts::id.eq(&id),
                    alerts::workspace_id.eq(ws),
                    alerts::fingerprint.eq(&fingerprint),
                    alerts::labels.eq(json(&alert.labels)),
                    alerts::annotations.eq(json(&alert.annotations)),
                    alerts::status.eq(status),
                    alerts::starts_at.eq(alert.starts_at),
                    alerts::ends_at.eq(alert.ends_at),
                    alerts::generator_url.eq(&alert.generator_url),
                    alerts::source.eq(source.code()),
                    alerts::received_at.eq(at),
                    alerts::last_received_at.eq(at),
                ))
                .execute(c)?;
            id
        }
    };
    record(c, &id, at, alert.status, alert.starts_at)?;
    Ok(true)
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

/// The workspace's alerts, most recently heard of first.
pub fn recent(conn: &mut DbConn, ws: &WorkspaceId, limit: i64) -> StoreResult<Vec<AlertRow>> {
    Ok(alerts::table
        .filter(alerts::workspace_id.eq(ws))
        .order((alerts::last_received_at.desc(), alerts::id.desc()))
        .limit(limit)
        .select(AlertRow::as_select())
        .load(conn)?)
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

/// Alerts whose end has passed without being posted again (Alertmanager's resolve timeout, or
/// a stated `endsAt` in the future that has now come): resolved, each with its timeline entry.
/// Answers how many.
pub fn resolve_expired(conn: &mut DbConn, at: NaiveDateTime) -> StoreResult<usize> {
    super::write_transaction(conn, |c| {
        let due: Vec<(AlertId, NaiveDateTime)> = alerts::table
            .filter(alerts::status.eq(AlertStatus::Firing.code()))
            .filter(alerts::ends_at.le(at))
            .select((alerts::id, alerts::starts_at))
            .limit(1000)
            .load(c)?;
        for (id, starts_at) in &due {
            diesel::update(alerts::table.filter(alerts::id.eq(id)))
                .set(alerts::status.eq(AlertStatus::Resolved.code()))
                .execute(c)?;
            record(c, id, at, AlertStatus::Resolved, *starts_at)?;
        }
        Ok(due.len())
    })
}
