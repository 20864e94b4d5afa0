//! Notification Objects › Webhooks: list, create, edit, delete, template preview, Send test.

use std::time::Duration;

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::auth::{CurrentUser, Editor, Need, Visitor};
use super::csrf::{CsrfForm, NoFields};
use super::layout::{FieldErrors, Layout, removed_from_policies, render};
use super::session::{self, Level};
use crate::delivery::webhook::{self, Call};
use crate::domain::ObjectName;
use crate::domain::webhook::{
    DEFAULT_HEADER, Method, PAIRS_MAX, WebhookInput, check_pairs, check_template, check_url,
};
use crate::error::{AppError, see_other};
use crate::outbound::{self, TargetPolicy};
use crate::store::named::SaveError;
use crate::store::webhooks::{self, Webhook};
use crate::store::{Db, WebhookId};
use crate::template;

/// A Send test that gets no answer in this long is reported as failed (SPEC §2.5).
pub const TEST_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Template)]
#[template(path = "webhooks/index.html")]
pub struct IndexPage {
    pub layout: Layout,
    pub webhooks: Vec<Webhook>,
}

impl IndexPage {
    /// Webhook URLs often carry tokens: viewers see only where they point.
    pub fn shown_url(&self, w: &Webhook) -> String {
        if self.layout.can_edit() {
            return w.url.clone();
        }
        match url::Url::parse(&w.url) {
            Ok(u) => format!("{}://{}/…", u.scheme(), u.host_str().unwrap_or("")),
            Err(_) => "…".into(),
        }
    }
}

pub async fn index(
    db: web::Data<Db>,
    session: Session,
    visitor: Visitor,
) -> Result<HttpResponse, AppError> {
    let (user, webhooks) = visitor
        .read(&db, Need::Member, |c, user| {
            Ok(webhooks::list(c, &user.workspace_id)?)
        })
        .await?;
    render(
        StatusCode::OK,
        &IndexPage {
            layout: Layout::new(&session, &user),
            webhooks,
        },
    )
}

/// The form as submitted, so a refused form shows exactly what was typed.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WebhookForm {
    pub name: String,
    pub method: String,
    pub url: String,
    pub header_name: Vec<String>,
    pub header_value: Vec<String>,
    pub template: String,
    pub resolve_template: String,
}

impl WebhookForm {
    fn from_webhook(w: &Webhook) -> Self {
        let pairs = w.pairs();
        WebhookForm {
            name: w.name.clone(),
            method: w.method.clone(),
            url: w.url.clone(),
            header_name: pairs.iter().map(|p| p.0.clone()).collect(),
            header_value: pairs.iter().map(|p| p.1.clone()).collect(),
            template: w.template.clone(),
            resolve_template: w.resolve_template.clone(),
        }
    }

    fn rows(&self) -> Vec<(String, String)> {
        let n = self.header_name.len().max(self.header_value.len());
        (0..n)
            .map(|i| {
                (
                    self.header_name.get(i).cloned().unwrap_or_default(),
                    self.header_value.get(i).cloned().unwrap_or_default(),
                )
            })
            .collect()
    }

    /// Every field checked; all problems reported at once.
    pub fn parse(&self, policy: TargetPolicy) -> Result<WebhookInput, FieldErrors> {
        let mut errors = FieldErrors::default();
        let name = ObjectName::parse(&self.name)
            .map_err(|e| errors.add("name", e))
            .ok();
        let method = Method::parse(&self.method)
            .map_err(|e| errors.add("method", e))
            .ok();
        let url = check_url(&self.url)
            .and_then(|u| {
                // An address Herald will never call is refused now, not at the first alert.
                outbound::check_url(&u, policy)
                    .map(|_| u)
                    .map_err(|e| e.to_string())
            })
            .map_err(|e| errors.add("url", e))
            .ok();
        let m = method.unwrap_or(Method::Post);
        let pairs = check_pairs(m, &self.rows())
            .map_err(|e| errors.add("headers", e))
            .ok();
        let template = check_template(m, &self.template)
            .map_err(|e| errors.add("template", e))
            .ok();
        let resolve_template = check_template(m, &self.resolve_template)
            .map_err(|e| errors.add("resolve_template", e))
            .ok();
        match (name, method, url, pairs, template, resolve_template) {
            (
                Some(name),
                Some(method),
                Some(url),
                Some(pairs),
                Some(template),
                Some(resolve_template),
            ) if errors.is_empty() => Ok(WebhookInput {
                name,
                method,
                url,
                pairs,
                template,
                resolve_template,
            }),
            _ => Err(errors),
        }
    }
}

/// What a template field renders to against the sample alert.
pub struct Preview {
    pub field: &'static str,
    pub result: Result<String, String>,
}

#[derive(Template)]
#[template(path = "webhooks/form.html")]
pub struct FormPage {
    pub layout: Layout,
    pub webhook_id: Option<WebhookId>,
    pub form: WebhookForm,
    pub errors: FieldErrors,
    pub previews: Vec<Preview>,
    /// The outcome of Send test with the form's values, before saving.
    pub test: Option<Call>,
}

impl FormPage {
    pub fn action(&self) -> String {
        match &self.webhook_id {
            Some(id) => format!("/webhooks/{id}"),
            None => "/webhooks".into(),
        }
    }

    /// Always six rows to fill in: the limit is six in all.
    pub fn rows(&self) -> Vec<(usize, String, String)> {
        let mut rows = self.form.rows();
        rows.resize(PAIRS_MAX.max(rows.len()), (String::new(), String::new()));
        rows.into_iter()
            .enumerate()
            .map(|(i, (n, v))| (i, n, v))
            .collect()
    }

    pub fn preview(&self, field: &str) -> Option<&Result<String, String>> {
        self.previews
            .iter()
            .find(|p| p.field == field)
            .map(|p| &p.result)
    }

    pub fn is_get(&self) -> bool {
        self.form.method == "GET"
    }
}

fn form_page(
    session: &Session,
    user: &CurrentUser,
    webhook_id: Option<WebhookId>,
    form: WebhookForm,
    errors: FieldErrors,
    previews: Vec<Preview>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    render(
        status,
        &FormPage {
            layout: Layout::new(session, user),
            webhook_id,
            form,
            errors,
            previews,
            test: None,
        },
    )
}

pub async fn new(session: Session, Editor(user): Editor) -> Result<HttpResponse, AppError> {
    let form = WebhookForm {
        method: "POST".into(),
        header_name: vec![DEFAULT_HEADER.0.into()],
        header_value: vec![DEFAULT_HEADER.1.into()],
        ..Default::default()
    };
    form_page(
        &session,
        &user,
        None,
        form,
        FieldErrors::default(),
        Vec::new(),
        StatusCode::OK,
    )
}

fn parse_id(raw: &str) -> Result<WebhookId, AppError> {
    WebhookId::parse(raw).ok_or(AppError::NotFound)
}

pub async fn edit(
    db: web::Data<Db>,
    session: Session,
    Editor(user): Editor,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path)?;
    let (ws, lookup) = (user.workspace_id.clone(), id.clone());
    let hook = db.run(move |c| webhooks::get(c, &ws, &lookup)).await?;
    form_page(
        &session,
        &user,
        Some(id),
        WebhookForm::from_webhook(&hook),
        FieldErrors::default(),
        Vec::new(),
        StatusCode::OK,
    )
}

pub async fn create(
    db: web::Data<Db>,
    session: Session,
    policy: web::Data<TargetPolicy>,
    Editor(user): Editor,
    CsrfForm(form): CsrfForm<WebhookForm>,
) -> Result<HttpResponse, AppError> {
    save(&db, &session, **policy, &user, None, form).await
}

pub async fn update(
    db: web::Data<Db>,
    session: Session,
    policy: web::Data<TargetPolicy>,
    Editor(user): Editor,
    path: web::Path<String>,
    CsrfForm(form): CsrfForm<WebhookForm>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path)?;
    let (ws, lookup) = (user.workspace_id.clone(), id.clone());
    db.run(move |c| webhooks::get(c, &ws, &lookup)).await?;
    save(&db, &session, **policy, &user, Some(id), form).await
}

async fn save(
    db: &Db,
    session: &Session,
    policy: TargetPolicy,
    user: &CurrentUser,
    id: Option<WebhookId>,
    form: WebhookForm,
) -> Result<HttpResponse, AppError> {
    let input = match form.parse(policy) {
        Ok(i) => i,
        Err(errors) => {
            return form_page(
                session,
                user,
                id,
                form,
                errors,
                Vec::new(),
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    let (ws, who, target, saved) = (
        user.workspace_id.clone(),
        user.user_id.clone(),
        id.clone(),
        input.clone(),
    );
    let result = db
        .run(move |c| webhooks::save(c, &ws, &who, target.as_ref(), &saved))
        .await;
    match result {
        Ok(_) => {
            let verb = if id.is_some() { "saved" } else { "created" };
            session::flash(
                session,
                Level::Success,
                format!("Webhook “{}” {verb}.", input.name.as_str()),
            );
            Ok(see_other("/webhooks"))
        }
        Err(e @ SaveError::NameTaken { .. }) => {
            let mut errors = FieldErrors::default();
            errors.add("name", e.to_string());
            form_page(
                session,
                user,
                id,
                form,
                errors,
                Vec::new(),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(SaveError::Store(e)) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct PreviewQuery {
    #[serde(default)]
    id: String,
}

/// The form's Preview button: renders both templates against the sample alert, saves nothing.
pub async fn preview(
    session: Session,
    Editor(user): Editor,
    q: web::Query<PreviewQuery>,
    CsrfForm(form): CsrfForm<WebhookForm>,
) -> Result<HttpResponse, AppError> {
    let sample = template::sample_alert();
    let method = Method::parse(&form.method).unwrap_or(Method::Post);
    let previews = [
        ("template", &form.template, false),
        ("resolve_template", &form.resolve_template, true),
    ]
    .into_iter()
    .filter(|(_, text, _)| !text.trim().is_empty())
    .map(|(field, text, resolved)| {
        let result = check_template(method, text).and_then(|t| {
            let probe = Webhook {
                id: WebhookId::new(),
                name: String::new(),
                method: method.code().into(),
                url: String::new(),
                headers: serde_json::to_string(&form.rows()).unwrap_or_default(),
                template: t.clone(),
                resolve_template: t,
            };
            webhook::body(&probe, &sample, resolved)
        });
        Preview { field, result }
    })
    .collect();
    form_page(
        &session,
        &user,
        WebhookId::parse(&q.id),
        form,
        FieldErrors::default(),
        previews,
        StatusCode::OK,
    )
}

#[derive(Template)]
#[template(path = "webhooks/test.html")]
pub struct TestPage {
    pub layout: Layout,
    pub webhook: Webhook,
    pub call: Call,
    pub timeout_secs: u64,
}

impl TestPage {
    pub fn body_excerpt(&self) -> String {
        let b = self.call.body.trim();
        if b.chars().count() > 2000 {
            format!("{}…", b.chars().take(2000).collect::<String>())
        } else {
            b.to_string()
        }
    }
}

/// Calls `hook` with the sample alert, waiting at most [`TEST_TIMEOUT`].
async fn test_call(policy: TargetPolicy, hook: &Webhook) -> Call {
    let client = outbound::client(policy, TEST_TIMEOUT);
    let mut call = webhook::call(&client, policy, hook, &template::sample_alert(), false).await;
    if call.error.as_deref() == Some("no answer in time") {
        call.error = Some(format!(
            "No answer within {} seconds: the webhook did not respond in time.",
            TEST_TIMEOUT.as_secs()
        ));
    }
    call
}

/// Send test from the form, before saving (as the seed's Create Webhook panel has it): the
/// form comes back with the outcome below it, nothing stored.
pub async fn test_form(
    session: Session,
    policy: web::Data<TargetPolicy>,
    Editor(user): Editor,
    q: web::Query<PreviewQuery>,
    CsrfForm(form): CsrfForm<WebhookForm>,
) -> Result<HttpResponse, AppError> {
    let id = WebhookId::parse(&q.id);
    let input = match form.parse(**policy) {
        Ok(i) => i,
        Err(errors) => {
            return form_page(
                &session,
                &user,
                id,
                form,
                errors,
                Vec::new(),
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    let probe = Webhook {
        id: WebhookId::new(),
        name: input.name.as_str().to_string(),
        method: input.method.code().into(),
        url: input.url.clone(),
        headers: serde_json::to_string(&input.pairs).unwrap_or_else(|_| "[]".into()),
        template: input.template.clone(),
        resolve_template: input.resolve_template.clone(),
    };
    let call = test_call(**policy, &probe).await;
    render(
        StatusCode::OK,
        &FormPage {
            layout: Layout::new(&session, &user),
            webhook_id: id,
            form,
            errors: FieldErrors::default(),
            previews: Vec::new(),
            test: Some(call),
        },
    )
}

/// Send test: calls the saved webhook with the sample alert and shows what came back.
pub async fn send_test(
    db: web::Data<Db>,
    session: Session,
    policy: web::Data<TargetPolicy>,
    Editor(user): Editor,
    path: web::Path<String>,
    _: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path)?;
    let ws = user.workspace_id.clone();
    let hook = db.run(move |c| webhooks::get(c, &ws, &id)).await?;
    let call = test_call(**policy, &hook).await;
    let status = if call.ok() {
        StatusCode::OK
    } else {
        StatusCode::BAD_GATEWAY
    };
    render(
        status,
        &TestPage {
            layout: Layout::new(&session, &user),
            webhook: hook,
            call,
            timeout_secs: TEST_TIMEOUT.as_secs(),
        },
    )
}

#[derive(Template)]
#[template(path = "webhooks/delete.html")]
pub struct DeletePage {
    pub layout: Layout,
    pub webhook: Webhook,
    pub used_by: Vec<String>,
}

pub async fn confirm_delete(
    db: web::Data<Db>,
    session: Session,
    Editor(user): Editor,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path)?;
    let ws = user.workspace_id.clone();
    let (webhook, used_by) = db
        .run(move |c| {
            let w = webhooks::get(c, &ws, &id)?;
            let used = crate::store::groups::used_by_policies(c, &ws, "webhook", id.as_str())?;
            Ok::<_, crate::store::StoreError>((w, used))
        })
        .await?;
    render(
        StatusCode::OK,
        &DeletePage {
            layout: Layout::new(&session, &user),
            webhook,
            used_by,
        },
    )
}

pub async fn delete(
    db: web::Data<Db>,
    session: Session,
    Editor(user): Editor,
    path: web::Path<String>,
    _: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path)?;
    let ws = user.workspace_id.clone();
    let (name, policies) = db
        .run(move |c| {
            let w = webhooks::get(c, &ws, &id)?;
            let policies = webhooks::delete(c, &ws, &id)?;
            Ok::<_, crate::store::StoreError>((w.name, policies))
        })
        .await?;
    let also = removed_from_policies(&policies);
    session::flash(
        &session,
        Level::Success,
        format!("Webhook “{name}” deleted.{also}"),
    );
    Ok(see_other("/webhooks"))
}
