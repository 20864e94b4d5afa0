//! Notification Objects › Contacts: "Not verified" / "Resend" buttons, Batch Verify and its
//! progress page.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::{Deserialize, Serialize};

use super::auth::{Need, Visitor};
use super::csrf::CsrfForm;
use super::form::{Console, PathId};
use super::layout::{Layout, render};
use super::session::{self, Level};
use crate::domain::ContactMethod;
use crate::error::{AppError, see_other};
use crate::store::verification::{self as links, Batch, BatchFailure, RUNNING};
use crate::store::{ContactId, Db, StoreError, contacts};
use crate::verification::{SendError, Verifications};

/// Where to go back to: a contacts list URL of ours, else the list's first page.
pub(super) fn back_to(back: &str) -> String {
    let ok = back.starts_with("/contacts")
        && !back.contains("//")
        && !back.contains('\\')
        && back.chars().all(|c| c.is_ascii_graphic());
    if ok {
        back.to_string()
    } else {
        "/contacts".into()
    }
}

#[derive(Deserialize)]
pub struct SendForm {
    #[serde(default)]
    method: String,
    #[serde(default)]
    back: String,
}

/// Flashes the outcome of sending one link.
pub fn flash_sent(
    session: &Session,
    verifications: &Verifications,
    method: ContactMethod,
    result: Result<String, SendError>,
) -> Result<(), AppError> {
    let what = match method {
        ContactMethod::Phone => "Verification SMS",
        ContactMethod::Email => "Activation email",
    };
    match result {
        Ok(masked) => {
            let console = match method {
                ContactMethod::Phone => verifications.providers().sms.name(),
                ContactMethod::Email => verifications.providers().email.name(),
            } == "console";
            let note = if console {
                " (console provider: nothing left Herald; owners see it on the Dev outbox page)"
            } else {
                ""
            };
            session::flash(
                session,
                Level::Success,
                format!("{what} sent to {masked}; the link is valid for 24 hours{note}."),
            );
            Ok(())
        }
        Err(SendError::Store(StoreError::NotFound)) => Err(AppError::NotFound),
        Err(SendError::Store(e)) => Err(e.into()),
        Err(other) => {
            session::flash(session, Level::Error, other.to_string());
            Ok(())
        }
    }
}

pub async fn send_one(
    console: Console,
    verifications: web::Data<Verifications>,
    PathId(id): PathId<ContactId>,
    CsrfForm(form): CsrfForm<SendForm>,
) -> Result<HttpResponse, AppError> {
    let method =
        ContactMethod::parse(&form.method).map_err(|e| AppError::BadRequest(e.to_string()))?;
    let result = verifications
        .send_link(&console.user.workspace_id, &id, method)
        .await;
    flash_sent(&console.session, &verifications, method, result)?;
    Ok(see_other(&back_to(&form.back)))
}

#[derive(Deserialize)]
pub struct BatchForm {
    #[serde(default)]
    ids: Vec<String>,
    /// `selected` (the checked rows) or `matching` (every contact the search finds).
    #[serde(default)]
    scope: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    back: String,
}

/// Which contacts a Batch Verify covers: every contact matching the list's search, or the
/// ticked ones; None when none are ticked.
enum Chosen {
    Matching(String),
    Ticked(Vec<ContactId>),
}

impl BatchForm {
    fn chosen(&self) -> Option<Chosen> {
        if self.scope == "matching" {
            return Some(Chosen::Matching(self.q.chars().take(100).collect()));
        }
        let ids: Vec<ContactId> = self
            .ids
            .iter()
            .filter_map(|s| ContactId::parse(s))
            .collect();
        (!ids.is_empty()).then_some(Chosen::Ticked(ids))
    }
}

pub async fn start_batch(
    console: Console,
    verifications: web::Data<Verifications>,
    CsrfForm(form): CsrfForm<BatchForm>,
) -> Result<HttpResponse, AppError> {
    let back = back_to(&form.back);
    let Some(chosen) = form.chosen() else {
        let hint =
            "Select the contacts to verify first (tick their boxes), then press Batch Verify.";
        console.flash(Level::Error, hint);
        return Ok(see_other(&back));
    };
    let index = console.contact_index();
    let candidates = console
        .run(move |c, user| match chosen {
            Chosen::Matching(q) => contacts::all_matching(c, &index, &user.workspace_id, &q),
            Chosen::Ticked(ids) => contacts::get_many(c, &user.workspace_id, &ids),
        })
        .await?;
    let u = &console.user;
    let Some(batch) = verifications
        .start_batch(&u.workspace_id, &u.user_id, candidates)
        .await?
    else {
        let nothing = "Nothing to send: every chosen contact's number is already verified, or has no phone number.";
        console.flash(Level::Info, nothing);
        return Ok(see_other(&back));
    };
    Ok(see_other(&format!("/contacts/batches/{batch}")))
}

/// A batch as the page and its progress poll show it.
#[derive(Serialize)]
pub struct Progress {
    pub total: i32,
    pub sent: i32,
    pub failed: i32,
    pub done: i32,
    pub state: String,
    pub percent: i32,
}

impl From<&Batch> for Progress {
    fn from(b: &Batch) -> Self {
        let done = b.sent + b.failed;
        Progress {
            total: b.total,
            sent: b.sent,
            failed: b.failed,
            done,
            state: b.state().to_string(),
            percent: if b.total == 0 {
                100
            } else {
                done * 100 / b.total
            },
        }
    }
}

#[derive(Template)]
#[template(path = "contacts/batch.html")]
pub struct BatchPage {
    pub layout: Layout,
    pub id: String,
    pub progress: Progress,
    pub started: String,
    pub failures: Vec<BatchFailure>,
}

impl BatchPage {
    pub fn running(&self) -> bool {
        self.progress.state == RUNNING
    }
}

/// Failures listed on the page; the counters hold the full number.
const SHOWN_FAILURES: i64 = 200;

fn batch_id(raw: &str) -> Result<String, AppError> {
    uuid::Uuid::parse_str(raw)
        .map(|u| u.to_string())
        .map_err(|_| AppError::NotFound)
}

pub async fn show_batch(
    db: web::Data<Db>,
    session: Session,
    visitor: Visitor,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = batch_id(&path)?;
    let lookup = id.clone();
    let (user, (batch, failures)) = visitor
        .read(&db, Need::Member, move |c, user| {
            Ok(links::get_batch(
                c,
                &user.workspace_id,
                &lookup,
                SHOWN_FAILURES,
            )?)
        })
        .await?;
    render(
        StatusCode::OK,
        &BatchPage {
            layout: Layout::new(&session, &user),
            id,
            progress: Progress::from(&batch),
            started: user.time_zone.show_seconds(batch.created_at),
            failures,
        },
    )
}

pub async fn batch_progress(
    db: web::Data<Db>,
    visitor: Visitor,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = batch_id(&path)?;
    let (_, (batch, _)) = visitor
        .read(&db, Need::Member, move |c, user| {
            Ok(links::get_batch(c, &user.workspace_id, &id, 0)?)
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(Progress::from(&batch)))
}

#[cfg(test)]
mod tests {
    use super::back_to;

    #[test]
    fn only_goes_back_to_the_contact_list() {
        assert_eq!(back_to("/contacts?q=a&page=2"), "/contacts?q=a&page=2");
        assert_eq!(back_to("https://evil.example/contacts"), "/contacts");
        assert_eq!(back_to("/contacts//evil.example"), "/contacts");
        assert_eq!(back_to(""), "/contacts");
    }
}
