//! Webhook integrations: one HTTP call per notification, as the admin configured it (SPEC §2.5).

use std::time::Instant;

use super::{Accepted, FailureKind, SendFailure, SendResult};
use crate::domain::webhook::Method;
use crate::outbound::{self, TargetPolicy};
use crate::store::webhooks::Webhook;
use crate::template::{Escape, RenderOptions, Template};

/// Answers are read up to this size; the console shows an excerpt.
const MAX_ANSWER: usize = 64 * 1024;

/// What happened, for the Send test page and the delivery log.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: &'static str,
    /// The URL called, with GET parameters; shown to the admin who configured it.
    pub url: String,
    pub request_body: Option<String>,
    pub status: Option<u16>,
    pub body: String,
    pub elapsed_ms: u128,
    pub error: Option<String>,
    /// The call in the terms every channel answers in.
    pub outcome: SendResult,
}

impl Call {
    pub fn ok(&self) -> bool {
        self.outcome.is_ok()
    }

    fn fail(&mut self, kind: FailureKind, reason: String) {
        self.outcome = Err(SendFailure::new(kind, reason.clone()));
        self.error = Some(reason);
    }
}

/// A webhook's answer: any 2xx is delivered; 429 and 5xx (and 408) may pass later; any other
/// status is the receiver refusing, which retrying will not change.
fn judge(status: u16, retry_after: Option<std::time::Duration>) -> SendResult {
    match status {
        200..=299 => Ok(Accepted { id: None }),
        429 => Err(SendFailure::new(FailureKind::RateLimited, "HTTP 429").retry_after(retry_after)),
        408 | 500..=599 => Err(
            SendFailure::new(FailureKind::Transient, format!("HTTP {status}"))
                .retry_after(retry_after),
        ),
        _ => Err(SendFailure::new(
            FailureKind::Rejected,
            format!("HTTP {status}"),
        )),
    }
}

/// The alert in a few plain lines: what `$content` stands for.
pub fn alert_text(data: &serde_json::Value) -> String {
    let status = data["status"].as_str().unwrap_or("firing").to_uppercase();
    let name = data["commonLabels"]["alertname"]
        .as_str()
        .unwrap_or("alert");
    let alerts = data["alerts"].as_array().cloned().unwrap_or_default();
    let mut text = format!("[{status}:{}] {name}", alerts.len());
    for a in alerts.iter().take(10) {
        let msg = ["message", "summary", "description"]
            .iter()
            .find_map(|k| a["annotations"][k].as_str())
            .unwrap_or("");
        let instance = a["labels"]["instance"]
            .as_str()
            .or_else(|| a["labels"]["pod"].as_str())
            .unwrap_or("");
        text.push_str(&format!("\n- {instance} {msg}"));
    }
    text
}

fn wants_json(pairs: &[(String, String)]) -> bool {
    pairs.iter().any(|(n, v)| {
        n.eq_ignore_ascii_case("content-type") && v.to_ascii_lowercase().contains("json")
    })
}

/// Renders the body for `data` (the resolve template when `resolved`); the plain alert text
/// when no template is set.
pub fn body(hook: &Webhook, data: &serde_json::Value, resolved: bool) -> Result<String, String> {
    let source = if resolved && !hook.resolve_template.is_empty() {
        &hook.resolve_template
    } else {
        &hook.template
    };
    let content = alert_text(data);
    if source.is_empty() {
        return Ok(content);
    }
    let template = Template::parse(source).map_err(|e| format!("template error at {e}"))?;
    let escape = if wants_json(&hook.pairs()) {
        Escape::Json
    } else {
        Escape::None
    };
    template
        .render(
            data,
            &RenderOptions {
                escape,
                content: Some(content),
                ..RenderOptions::default()
            },
        )
        .map_err(|e| format!("template: {e}"))
}

/// Calls the webhook for `data`. A delivery passes its id as `Idempotency-Key`, the same on
/// every retry, so a receiver can drop what it already has.
pub async fn call(
    client: &reqwest::Client,
    policy: TargetPolicy,
    hook: &Webhook,
    data: &serde_json::Value,
    resolved: bool,
    idempotency_key: Option<&str>,
) -> Call {
    let method = hook.method();
    let mut call = Call {
        method: method.code(),
        url: hook.url.clone(),
        request_body: None,
        status: None,
        body: String::new(),
        elapsed_ms: 0,
        error: None,
        outcome: Ok(Accepted { id: None }),
    };
    let mut url = match outbound::check_url(&hook.url, policy) {
        Ok(u) => u,
        Err(e) => {
            call.fail(FailureKind::Rejected, e.to_string());
            return call;
        }
    };
    let pairs = hook.pairs();
    let request = match method {
        Method::Get => {
            url.query_pairs_mut().extend_pairs(pairs.iter());
            call.url = url.to_string();
            client.get(url)
        }
        Method::Post => {
            let text = match body(hook, data, resolved) {
                Ok(t) => t,
                Err(e) => {
                    call.fail(FailureKind::Rejected, e);
                    return call;
                }
            };
            call.request_body = Some(text.clone());
            let mut r = client.post(url).body(text);
            for (n, v) in &pairs {
                r = r.header(n.as_str(), v.as_str());
            }
            r
        }
    };
    let request = match idempotency_key {
        Some(key) => request.header("Idempotency-Key", key),
        None => request,
    };
    let started = Instant::now();
    let result = request.send().await;
    match result {
        Ok(resp) => {
            let retry_after = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(std::time::Duration::from_secs);
            match outbound::read_capped(resp, MAX_ANSWER).await {
                Ok((status, text)) => {
                    call.status = Some(status.as_u16());
                    call.body = text;
                    call.outcome = judge(status.as_u16(), retry_after);
                }
                Err(e) => call.fail(FailureKind::Transient, e.to_string()),
            }
        }
        Err(e) => {
            let kind = if outbound::refusal(&e).is_some() {
                FailureKind::Rejected
            } else {
                FailureKind::Transient
            };
            call.fail(kind, outbound::describe_error(&e));
        }
    }
    call.elapsed_ms = started.elapsed().as_millis();
    call
}
