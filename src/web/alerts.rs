//! Alerts: what arrived, newest first, with how its deliveries stand, and each alert's labels,
//! annotations, timeline, the policies that take it and every notification sent about it.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::auth::{CurrentUser, Need, Visitor};
use super::deliveries;
use super::form::PathId;
use super::layout::Layout;
use crate::domain::alert::{AlertStatus, Labels};
use crate::domain::notification::DeliveryState;
use crate::domain::routing::Route;
use crate::domain::settings::TimeZone;
use crate::error::AppError;
use crate::store::alerts::{self, AlertRow, Filter, PAGE_SIZE};
use crate::store::outbox::{self, NotificationLog, NotificationRow, StateCounts};
use crate::store::{AlertId, Db, DbConn, StoreResult, WorkspaceId};
use crate::usecases::routing;

#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: Option<String>,
}

/// An alert as a list row shows it.
pub struct Shown {
    pub row: AlertRow,
    pub labels: Result<Labels, String>,
    /// How its deliveries stand (`1 failed, 2 delivered`), `—` when there are none.
    pub delivery: String,
}

/// States in the order a summary names them: what went wrong first, what is done last.
const SUMMARY_ORDER: [DeliveryState; 8] = [
    DeliveryState::Failed,
    DeliveryState::Refused,
    DeliveryState::NotSent,
    DeliveryState::Retrying,
    DeliveryState::Throttled,
    DeliveryState::Sending,
    DeliveryState::Queued,
    DeliveryState::Delivered,
];

/// `1 failed, 2 delivered`: the counts in [`SUMMARY_ORDER`], `—` for none.
pub fn delivery_summary(counts: &StateCounts) -> String {
    let parts: Vec<String> = SUMMARY_ORDER
        .iter()
        .filter_map(|state| {
            let n: i64 = counts
                .iter()
                .filter(|(s, _)| s == state)
                .map(|(_, n)| n)
                .sum();
            let word = match state {
                DeliveryState::Throttled => "rate-limited".to_string(),
                other => other.label().to_lowercase(),
            };
            (n > 0).then(|| format!("{n} {word}"))
        })
        .collect();
    if parts.is_empty() {
        "—".into()
    } else {
        parts.join(", ")
    }
}

impl Shown {
    fn of(row: AlertRow) -> Shown {
        let labels = row.labels();
        if let Err(e) = &labels {
            tracing::error!(error = %e, "alert row shown without labels");
        }
        Shown {
            row,
            labels,
            delivery: String::new(),
        }
    }

    pub fn label(&self, name: &str) -> String {
        self.labels
            .as_ref()
            .ok()
            .and_then(|l| l.get(name).cloned())
            .unwrap_or_default()
    }

    /// `name="value"` for every label but the ones shown in their own columns.
    pub fn other_labels(&self) -> String {
        match &self.labels {
            Ok(l) => l
                .iter()
                .filter(|(k, _)| !matches!(k.as_str(), "alertname" | "severity"))
                .map(|(k, v)| format!("{k}=\"{v}\""))
                .collect::<Vec<_>>()
                .join(" "),
            Err(e) => e.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "alerts/index.html")]
pub struct IndexPage {
    pub layout: Layout,
    pub alerts: Vec<Shown>,
    pub total: i64,
    pub page: i64,
    pub status: String,
    pub q: String,
}

impl IndexPage {
    pub fn pages(&self) -> i64 {
        ((self.total + PAGE_SIZE - 1) / PAGE_SIZE).max(1)
    }

    pub fn page_url(&self, n: i64) -> String {
        let q: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("status", &self.status)
            .append_pair("q", &self.q)
            .append_pair("page", &n.to_string())
            .finish();
        format!("/alerts?{q}")
    }

    pub fn when(&self, t: &chrono::NaiveDateTime) -> String {
        self.layout.when(t)
    }
}

impl ListQuery {
    /// What to list. An unknown status or page number shows everything / the first page, not
    /// an error.
    fn read(self) -> (Filter, i64) {
        let filter = Filter {
            status: AlertStatus::parse(&self.status),
            search: self.q.chars().take(200).collect(),
        };
        let page = self
            .page
            .and_then(|p| p.trim().parse::<i64>().ok())
            .unwrap_or(1)
            .max(1);
        (filter, page)
    }
}

/// One page of the workspace's alerts, with their deliveries counted by state.
struct Listed {
    rows: Vec<AlertRow>,
    total: i64,
    counts: HashMap<AlertId, StateCounts>,
}

fn listed(c: &mut DbConn, ws: &WorkspaceId, filter: &Filter, page: i64) -> StoreResult<Listed> {
    let (rows, total) = alerts::page(c, ws, filter, page)?;
    let ids: Vec<AlertId> = rows.iter().map(|r| r.id.clone()).collect();
    let counts = outbox::state_counts(c, ws, &ids)?;
    Ok(Listed {
        rows,
        total,
        counts,
    })
}

impl IndexPage {
    fn new(layout: Layout, listed: Listed, filter: &Filter, page: i64) -> IndexPage {
        let Listed {
            rows,
            total,
            counts,
        } = listed;
        let alerts = rows
            .into_iter()
            .map(|row| Shown {
                delivery: delivery_summary(counts.get(&row.id).unwrap_or(&Vec::new())),
                ..Shown::of(row)
            })
            .collect();
        IndexPage {
            layout,
            alerts,
            total,
            page,
            status: filter
                .status
                .map(|s| s.code().to_string())
                .unwrap_or_default(),
            q: filter.search.clone(),
        }
    }
}

pub async fn index(
    db: web::Data<Db>,
    visitor: Visitor,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let (filter, page) = q.into_inner().read();
    let shown = filter.clone();
    let list =
        move |c: &mut DbConn, user: &CurrentUser| Ok(listed(c, &user.workspace_id, &filter, page)?);
    let build = move |layout, found| IndexPage::new(layout, found, &shown, page);
    visitor.page(&db, Need::Member, list, build).await
}

#[derive(Template)]
#[template(path = "alerts/show.html")]
pub struct ShowPage {
    pub layout: Layout,
    pub alert: Shown,
    pub annotations: Result<Labels, String>,
    pub timeline: Vec<(chrono::NaiveDateTime, String)>,
    /// The workspace's policies with their answer for this alert's labels.
    pub routes: Vec<Route>,
    /// Every notification that named the alert, newest first, with its deliveries.
    pub notifications: Vec<Told>,
}

/// A notification about the alert and what became of each of its deliveries.
pub struct Told {
    pub notification: NotificationRow,
    pub deliveries: Vec<deliveries::Shown>,
}

impl Told {
    fn of(log: NotificationLog, tz: TimeZone) -> Told {
        Told {
            notification: log.notification,
            deliveries: log
                .deliveries
                .into_iter()
                .map(|(row, attempts)| deliveries::Shown::new(row, attempts, tz))
                .collect(),
        }
    }

    pub fn resolved(&self) -> bool {
        self.notification.status == AlertStatus::Resolved.code()
    }

    /// What happened, as one line per chain: "Phone call to Ana — no answer (28 s) → Email to
    /// Ana — Delivered". Empty when no delivery was followed up.
    pub fn story(&self) -> String {
        if !self
            .deliveries
            .iter()
            .any(|d| d.row.hop.is_some() || d.row.unreached)
        {
            return String::new();
        }
        let step = |d: &deliveries::Shown| {
            let how = match d.attempts.last() {
                Some(a) if a.outcome != "delivered" && a.outcome != "placed" => {
                    format!("{} ({} s)", a.message, a.duration_ms / 1000)
                }
                _ => d
                    .row
                    .state()
                    .map(|s| s.label().to_string())
                    .unwrap_or_default(),
            };
            let end = if d.row.unreached {
                " → nobody could be reached"
            } else {
                ""
            };
            format!("{} to {} — {how}{end}", d.channel(), d.row.recipient)
        };
        self.deliveries
            .iter()
            .map(|d| match d.row.hop() {
                Some(_) => format!("→ {}", step(d)),
                None => step(d),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl ShowPage {
    pub fn when(&self, t: &chrono::NaiveDateTime) -> String {
        self.layout.when(t)
    }

    pub fn taken_by(&self) -> Vec<&Route> {
        self.routes.iter().filter(|r| r.sends()).collect()
    }
}

pub async fn show(
    db: web::Data<Db>,
    visitor: Visitor,
    PathId(id): PathId<AlertId>,
) -> Result<HttpResponse, AppError> {
    let index = db.contact_index();
    let load = move |c: &mut DbConn, user: &CurrentUser| {
        let row = alerts::get(c, &user.workspace_id, &id)?;
        let timeline = alerts::timeline(c, &row.id)?;
        let log = outbox::log_for_alert(c, &user.workspace_id, &row.id)?;
        // Unreadable labels route nowhere (the page says why), never as an empty set.
        let routes = match row.labels() {
            Ok(labels) => routing::who_would_be_notified(c, &index, &user.workspace_id, &labels)?,
            Err(_) => Vec::new(),
        };
        Ok((row, timeline, routes, log))
    };
    let build =
        |layout: Layout, (row, timeline, routes, log): (AlertRow, _, _, Vec<NotificationLog>)| {
            let annotations = row.annotations();
            let tz = layout.tz;
            ShowPage {
                layout,
                alert: Shown::of(row),
                annotations,
                timeline,
                routes,
                notifications: log.into_iter().map(|l| Told::of(l, tz)).collect(),
            }
        };
    visitor.page(&db, Need::Member, load, build).await
}

#[cfg(test)]
mod tests {
    use super::delivery_summary;
    use crate::domain::notification::DeliveryState::*;

    #[test]
    fn a_summary_names_trouble_first_and_nothing_as_a_dash() {
        assert_eq!(delivery_summary(&vec![]), "—");
        assert_eq!(delivery_summary(&vec![(Delivered, 3)]), "3 delivered");
        assert_eq!(
            delivery_summary(&vec![(Delivered, 2), (Failed, 1)]),
            "1 failed, 2 delivered"
        );
        assert_eq!(
            delivery_summary(&vec![
                (Throttled, 1),
                (NotSent, 2),
                (Retrying, 1),
                (Queued, 0)
            ]),
            "2 not sent, 1 retrying, 1 rate-limited"
        );
    }
}
