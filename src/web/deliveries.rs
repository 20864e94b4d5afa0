//! Deliveries: what is failing or waiting to be tried again across the workspace, and the
//! Retry now button (here and on an alert's page) that puts a delivery back in the queue.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::NaiveDateTime;
use serde::Deserialize;

use super::auth::{CurrentUser, Need, Visitor};
use super::csrf::CsrfForm;
use super::form::{Console, PathId};
use super::layout::Layout;
use super::session::Level;
use crate::domain::notification::{Channel, DeliveryState};
use crate::domain::settings::TimeZone;
use crate::engine::Engine;
use crate::error::{AppError, see_other};
use crate::store::outbox::{self, Attempt, DeliveryRow, TROUBLED};
use crate::store::{AlertId, Db, DbConn, DeliveryId, StoreError, alerts};

/// Rows the Deliveries page lists at most.
pub const LISTED: i64 = 200;

/// How the console writes a time: in the workspace's zone.
pub fn when(tz: TimeZone, t: &NaiveDateTime) -> String {
    tz.show_seconds(*t)
}

/// A delivery as the console shows it, with its attempts (oldest first).
pub struct Shown {
    pub row: DeliveryRow,
    pub attempts: Vec<Attempt>,
    tz: TimeZone,
}

impl Shown {
    pub fn new(row: DeliveryRow, attempts: Vec<Attempt>, tz: TimeZone) -> Shown {
        Shown { row, attempts, tz }
    }

    pub fn channel(&self) -> String {
        Channel::parse(&self.row.channel)
            .map(|c| c.label().to_string())
            .unwrap_or_else(|_| self.row.channel.clone())
    }

    /// The state in words (`Waiting on a rate limit`); an unknown code as stored.
    pub fn state(&self) -> String {
        self.row
            .state()
            .map(|s| s.label().to_string())
            .unwrap_or_else(|| self.row.state.clone())
    }

    /// The badge's colour: done, waiting or under way, or given up.
    pub fn state_class(&self) -> &'static str {
        match self.row.state() {
            Some(DeliveryState::Delivered) => "state-ok",
            Some(DeliveryState::Failed | DeliveryState::Refused | DeliveryState::NotSent) => {
                "state-bad"
            }
            _ => "state-pending",
        }
    }

    /// When it is tried next, while it waits to be.
    pub fn next_try(&self) -> Option<String> {
        self.row
            .state()
            .filter(|s| DeliveryState::WAITING.contains(s))
            .map(|_| when(self.tz, &self.row.due_at))
    }

    /// Whether Retry now applies: failed, refused, or waiting for a later try.
    pub fn retryable(&self) -> bool {
        self.row.state().is_some_and(|s| TROUBLED.contains(&s))
    }

    pub fn address(&self) -> &str {
        self.row.address.as_deref().unwrap_or("—")
    }

    pub fn last_outcome(&self) -> &str {
        self.row.last_outcome.as_deref().unwrap_or("—")
    }
}

/// A row of the Deliveries page: the delivery, the policy that sent it and its alert.
pub struct Listed {
    pub delivery: Shown,
    pub policy_name: String,
    /// The alert the notification named first, and what to call it.
    pub alert: Option<(AlertId, String)>,
}

#[derive(Template)]
#[template(path = "deliveries/index.html")]
pub struct IndexPage {
    pub layout: Layout,
    pub rows: Vec<Listed>,
}

impl IndexPage {
    pub fn when(&self, t: &NaiveDateTime) -> String {
        self.layout.when(t)
    }

    pub fn limited(&self) -> bool {
        self.rows.len() as i64 >= LISTED
    }
}

fn listed(c: &mut DbConn, user: &CurrentUser) -> Result<Vec<Listed>, AppError> {
    let troubled = outbox::troubled(c, &user.workspace_id, &TROUBLED, LISTED)?;
    let mut ids: Vec<AlertId> = troubled.iter().filter_map(|t| t.alert.clone()).collect();
    ids.sort();
    ids.dedup();
    let names: HashMap<AlertId, String> = alerts::among(c, &user.workspace_id, &ids)?
        .into_iter()
        .map(|a| {
            let name = a
                .labels()
                .ok()
                .and_then(|l| l.get("alertname").cloned())
                .unwrap_or_else(|| a.fingerprint.clone());
            (a.id, name)
        })
        .collect();
    Ok(troubled
        .into_iter()
        .map(|t| Listed {
            alert: t
                .alert
                .and_then(|a| names.get(&a).cloned().map(|name| (a, name))),
            delivery: Shown::new(t.delivery, Vec::new(), user.time_zone),
            policy_name: t.policy_name,
        })
        .collect())
}

pub async fn index(db: web::Data<Db>, visitor: Visitor) -> Result<HttpResponse, AppError> {
    let page = |layout, rows| IndexPage { layout, rows };
    visitor.page(&db, Need::Member, listed, page).await
}

/// Retry now: the alert page sends its alert, to come back to it; without one (or with one
/// that cannot be an alert's id) the answer goes to the Deliveries page.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RetryForm {
    pub alert: String,
}

impl RetryForm {
    fn back(&self) -> String {
        match AlertId::parse(&self.alert) {
            Some(a) => format!("/alerts/{a}"),
            None => "/deliveries".into(),
        }
    }
}

/// Puts a failed, refused or waiting delivery of the workspace back in the queue, due now, and
/// wakes the engine. Another workspace's delivery, or none, is a 404; one under way or
/// delivered is left alone, and the page says so.
pub async fn retry(
    console: Console,
    engine: web::Data<Engine>,
    PathId(id): PathId<DeliveryId>,
    CsrfForm(form): CsrfForm<RetryForm>,
) -> Result<HttpResponse, AppError> {
    let (row, retried) = console
        .run(move |c, user| {
            let row = outbox::delivery(c, &user.workspace_id, &id)?;
            let retried = outbox::retry_now(c, &user.workspace_id, &id, crate::store::now())?;
            Ok::<_, StoreError>((row, retried))
        })
        .await?;
    let shown = Shown::new(row, Vec::new(), console.user.time_zone);
    let what = format!("{} to “{}”", shown.channel(), shown.row.recipient);
    if !retried {
        let now = shown.state().to_lowercase();
        console.flash(Level::Info, format!("{what} was not retried: it is {now}."));
        return Ok(see_other(&form.back()));
    }
    engine.wake();
    Ok(console.done(
        format!("{what} is queued to be tried again now."),
        &form.back(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::NotificationId;

    fn shown(state: DeliveryState) -> Shown {
        let at = chrono::DateTime::from_timestamp(1_800_000_000, 0)
            .map(|t| t.naive_utc())
            .unwrap_or_default();
        Shown::new(
            DeliveryRow {
                id: DeliveryId::new(),
                notification_id: NotificationId::new(),
                channel: "sms".into(),
                recipient: "Ana".into(),
                address: Some("+8613900001111".into()),
                state: state.code().into(),
                due_at: at,
                attempts: 1,
                last_outcome: None,
                created_at: at,
                finished_at: None,
                hop: None,
                unreached: false,
            },
            Vec::new(),
            TimeZone::UTC,
        )
    }

    #[test]
    fn waiting_deliveries_say_when_and_troubled_ones_may_be_retried() {
        use DeliveryState::*;
        let waiting = shown(Retrying);
        assert_eq!(
            waiting.next_try().as_deref(),
            Some("2027-01-15 08:00:00 UTC")
        );
        assert_eq!(
            (waiting.channel(), waiting.address()),
            ("SMS".to_string(), "+8613900001111")
        );
        assert_eq!(shown(Throttled).state(), "Waiting on a rate limit");
        for s in [Delivered, Failed, Refused, NotSent, Sending] {
            assert_eq!(shown(s).next_try(), None, "{s:?}");
        }
        for s in DeliveryState::ALL {
            let retryable = matches!(s, Retrying | Throttled | Failed | Refused);
            assert_eq!(shown(*s).retryable(), retryable, "{s:?}");
        }
        assert_eq!(shown(Delivered).state_class(), "state-ok");
        assert_eq!(shown(Refused).state_class(), "state-bad");
        assert_eq!(shown(Queued).state_class(), "state-pending");
    }
}
