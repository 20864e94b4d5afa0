//! Notification Objects › Webhooks: list, create, edit, delete, template preview, Send test.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::auth::Visitor;
use super::csrf::{CheckedForm, CsrfForm, NoFields};
use super::form::{
    self, Console, Deletable, EditForm, EditScreen, Editing, EditingQuery, FormScreen, Named,
    PathId, Refused, Removable, Scope,
};
use super::layout::{FieldErrors, Layout, render};
use crate::channels::webhook::{self, Call};
use crate::domain::ObjectName;
use crate::domain::webhook::{
    DEFAULT_HEADER, Method, PAIRS_MAX, Pairs, WebhookInput, check_pairs, check_template, check_url,
};
use crate::error::AppError;
use crate::outbound::{self, TargetPolicy};
use crate::store::webhooks::{self, Webhook};
use crate::store::{Db, StoreResult, WebhookId};
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

pub async fn index(db: web::Data<Db>, visitor: Visitor) -> Result<HttpResponse, AppError> {
    let page = |layout, webhooks| IndexPage { layout, webhooks };
    visitor.listing(&db, webhooks::list, page).await
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
}

impl Named for WebhookInput {
    fn name(&self) -> &str {
        self.name.as_str()
    }
}

impl EditForm for WebhookForm {
    type Stored = Webhook;
    type Input = WebhookInput;

    fn from_stored(w: &Webhook) -> Self {
        let pairs = w.pairs();
        WebhookForm {
            name: w.name.clone(),
            method: w.method.code().to_string(),
            url: w.url.clone(),
            header_name: pairs.iter().map(|p| p.0.clone()).collect(),
            header_value: pairs.iter().map(|p| p.1.clone()).collect(),
            template: w.template.clone(),
            resolve_template: w.resolve_template.clone(),
        }
    }

    /// Every field checked; all problems reported at once.
    fn parse(&self, policy: TargetPolicy) -> Result<WebhookInput, FieldErrors> {
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
    pub id: Option<String>,
    pub form: WebhookForm,
    pub errors: FieldErrors,
    pub previews: Vec<Preview>,
    /// The outcome of Send test with the form's values, before saving.
    pub test: Option<Call>,
}

impl FormScreen for FormPage {
    type Form = WebhookForm;
    type Choices = ();

    fn choices(_: Scope<'_>, _: Option<&str>) -> StoreResult<()> {
        Ok(())
    }

    fn shown_field(raw: &str) -> String {
        match raw {
            "header_name" | "header_value" => "headers".into(),
            other => other.into(),
        }
    }

    fn build(layout: Layout, editing: Editing<WebhookForm>, (): ()) -> Self {
        let (id, form, errors) = editing.into_parts();
        FormPage {
            layout,
            id,
            form,
            errors,
            previews: Vec::new(),
            test: None,
        }
    }
}

impl FormPage {
    pub fn action(&self) -> String {
        form::action("/webhooks", self.id.as_ref())
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

impl EditScreen for FormPage {
    const BASE: &'static str = "/webhooks";
    const NOUN: &'static str = "Webhook";

    fn blank() -> WebhookForm {
        WebhookForm {
            method: "POST".into(),
            header_name: vec![DEFAULT_HEADER.0.into()],
            header_value: vec![DEFAULT_HEADER.1.into()],
            ..Default::default()
        }
    }

    fn save(
        s: Scope<'_>,
        id: Option<&WebhookId>,
        hook: &WebhookInput,
    ) -> Result<Vec<String>, Refused> {
        form::saved(webhooks::save(s.c, s.ws, &s.user.user_id, id, hook))
    }
}

/// The form's Preview button: renders both templates against the sample alert, saves nothing.
pub async fn preview(
    console: Console,
    q: web::Query<EditingQuery>,
    CheckedForm { form, refused }: CheckedForm<WebhookForm>,
) -> Result<HttpResponse, AppError> {
    let editing = Editing::of(q.id::<WebhookId>().as_ref(), form);
    if let Err(errors) = form::checked::<FormPage, ()>(refused, Ok(())) {
        return console.form::<FormPage>(editing.with_errors(errors)).await;
    }
    let previews = previews(&editing.form);
    console
        .form_with::<FormPage>(editing, |page| page.previews = previews)
        .await
}

/// Each non-empty template rendered against the sample alert (the resolve template against
/// the sample as resolved).
fn previews(form: &WebhookForm) -> Vec<Preview> {
    let sample = template::sample_alert();
    let method = Method::parse(&form.method).unwrap_or(Method::Post);
    [
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
                method,
                url: String::new(),
                headers: Pairs(form.rows()),
                template: t.clone(),
                resolve_template: t,
            };
            webhook::body(&probe, &sample, resolved)
        });
        Preview { field, result }
    })
    .collect()
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
    let mut call = webhook::call(
        &client,
        policy,
        hook,
        &template::sample_alert(),
        false,
        None,
    )
    .await;
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
    console: Console,
    policy: web::Data<TargetPolicy>,
    q: web::Query<EditingQuery>,
    CheckedForm { form, refused }: CheckedForm<WebhookForm>,
) -> Result<HttpResponse, AppError> {
    let editing = Editing::of(q.id::<WebhookId>().as_ref(), form);
    let input = match form::checked::<FormPage, _>(refused, editing.form.parse(**policy)) {
        Ok(i) => i,
        Err(errors) => return console.form::<FormPage>(editing.with_errors(errors)).await,
    };
    let probe = Webhook {
        id: WebhookId::new(),
        name: input.name.as_str().to_string(),
        method: input.method,
        url: input.url.clone(),
        headers: Pairs(input.pairs.clone()),
        template: input.template.clone(),
        resolve_template: input.resolve_template.clone(),
    };
    let call = test_call(**policy, &probe).await;
    console
        .form_with::<FormPage>(editing, |page| page.test = Some(call))
        .await
}

/// Send test: calls the saved webhook with the sample alert and shows what came back.
pub async fn send_test(
    console: Console,
    policy: web::Data<TargetPolicy>,
    PathId(id): PathId<WebhookId>,
    _: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let hook = form::stored::<FormPage>(&console, &id).await?;
    let call = test_call(**policy, &hook).await;
    let status = if call.ok() {
        StatusCode::OK
    } else {
        StatusCode::BAD_GATEWAY
    };
    let page = TestPage {
        layout: console.layout(),
        webhook: hook,
        call,
        timeout_secs: TEST_TIMEOUT.as_secs(),
    };
    render(status, &page)
}

/// Deleting takes it out of the policies that use it: the confirmation page names them.
pub struct Webhooks;

impl Removable for Webhooks {}

impl Deletable for Webhooks {
    type Stored = Webhook;
    const BASE: &'static str = "/webhooks";
    const NOUN: &'static str = "webhook";

    fn describe(w: &Webhook) -> (String, String) {
        (w.name.clone(), format!("{} {}", w.method, w.url))
    }
}
