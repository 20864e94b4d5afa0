//! The ingest APIs: `POST /api/v1/alertmanager` (Alertmanager's webhook, version 4),
//! `POST /api/v2/alerts` (Alertmanager's own alerts API, what Prometheus posts) and
//! `POST /api/v1/events` (Herald's events). A token decides the workspace. Every refusal is a
//! JSON body naming what is wrong; nothing is stored when a request is refused, and an
//! accepted request is committed before its 2xx.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::{StatusCode, header};
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};
use serde_json::{Value, json};

use crate::domain::alert::{self, IncomingAlert, Refusal};
use crate::domain::api_token::ApiToken;
use crate::engine::Engine;
use crate::metrics::{Metrics, Received};
use crate::store::alerts::Source;
use crate::store::{Db, StoreError, WorkspaceId, api_tokens, now};
use crate::usecases::notify::{self, Accepted, Notifier};

/// Ingest settings the handlers need.
#[derive(Debug, Clone, Copy)]
pub struct IngestSettings {
    pub resolve_timeout: chrono::Duration,
    pub max_body_bytes: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("the body is not valid JSON: {0}")]
    Malformed(String),
    #[error(transparent)]
    Invalid(Refusal),
    #[error("the body is larger than {0} bytes")]
    TooLarge(usize),
    #[error("the request could not be stored")]
    Store(#[from] StoreError),
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Malformed(_) => StatusCode::BAD_REQUEST,
            ApiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut body = json!({ "error": self.to_string() });
        if let ApiError::Invalid(r) = self {
            body = json!({ "error": r.to_string(), "field": r.path, "message": r.message });
        }
        if let ApiError::Store(e) = self {
            // The sender should retry (Alertmanager does on 5xx); the cause is in the log.
            tracing::error!(error = %e, "ingest not stored");
        }
        let mut response = HttpResponse::build(self.status_code());
        if matches!(self, ApiError::Unauthorized(_)) {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"herald\""));
        }
        response.json(body)
    }
}

/// The workspace a request's token names.
pub struct ApiCaller {
    pub workspace_id: WorkspaceId,
}

impl FromRequest for ApiCaller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let db = req.app_data::<web::Data<Db>>().cloned();
        let token = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(ApiToken::from_authorization);
        Box::pin(async move {
            let token = match token {
                None => {
                    return Err(ApiError::Unauthorized(
                        "send an API token: Authorization: Bearer <token>",
                    ));
                }
                Some(None) => {
                    return Err(ApiError::Unauthorized(
                        "the Authorization header holds no Herald API token",
                    ));
                }
                Some(Some(t)) => t,
            };
            let db = db.ok_or(ApiError::Unauthorized("no database"))?;
            match db.run(move |c| api_tokens::authenticate(c, &token)).await? {
                Some(workspace_id) => Ok(ApiCaller { workspace_id }),
                None => Err(ApiError::Unauthorized("unknown or revoked API token")),
            }
        })
    }
}

/// The body as JSON, within the size limit.
async fn json_body(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> Result<Value, ApiError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(ApiError::TooLarge(limit));
    }
    let bytes = payload
        .to_bytes_limited(limit)
        .await
        .map_err(|_| ApiError::TooLarge(limit))?
        .map_err(|e| ApiError::Malformed(e.to_string()))?;
    serde_json::from_slice(&bytes).map_err(|e| ApiError::Malformed(e.to_string()))
}

async fn store(
    db: &Db,
    engine: &Engine,
    caller: ApiCaller,
    source: Source,
    incoming: Vec<IncomingAlert>,
) -> Result<HttpResponse, ApiError> {
    let ws = caller.workspace_id;
    let statuses: Vec<&'static str> = incoming.iter().map(|a| a.status.code()).collect();
    let (index, url) = (db.contact_index(), engine.external_url().to_string());
    let accepted = db
        .run(move |c| {
            let n = Notifier {
                index: &index,
                external_url: &url,
            };
            notify::ingest(c, n, &ws, source, &incoming)
        })
        .await?;
    if accepted.notifications > 0 {
        engine.wake();
    }
    count(engine.metrics(), source, &statuses, &accepted);
    let done = accepted.ingested;
    Ok(HttpResponse::Ok().json(json!({
        "received": done.received,
        "changed": done.changed,
        "notifications": accepted.notifications,
    })))
}

/// Counted once stored: what the metrics say arrived, is kept.
fn count(m: &Metrics, source: Source, statuses: &[&'static str], accepted: &Accepted) {
    for status in statuses {
        let key = Received {
            endpoint: source.code().into(),
            status: (*status).into(),
        };
        m.alerts_received.get_or_create(&key).inc();
    }
    m.alert_changes.inc_by(accepted.ingested.changed as u64);
    m.notifications.inc_by(accepted.notifications as u64);
}

/// The three endpoints, by path; each reads its own payload into the same alerts.
const ENDPOINTS: [(&str, Source); 3] = [
    ("/api/v1/alertmanager", Source::Alertmanager),
    ("/api/v2/alerts", Source::AlertsApi),
    ("/api/v1/events", Source::Event),
];

fn parse(
    source: Source,
    body: &Value,
    settings: &IngestSettings,
) -> Result<Vec<IncomingAlert>, Refusal> {
    match source {
        Source::Alertmanager => alert::from_alertmanager(body),
        Source::AlertsApi => alert::from_alerts_api(body, now(), settings.resolve_timeout),
        Source::Event => alert::from_events(body, now()),
    }
}

/// Every ingest endpoint: the token checked (by the extractor, before the body is read), the
/// body read within its limit and parsed for its endpoint, then stored.
pub async fn ingest(
    req: HttpRequest,
    payload: web::Payload,
    db: web::Data<Db>,
    settings: web::Data<IngestSettings>,
    engine: web::Data<Engine>,
    caller: ApiCaller,
) -> Result<HttpResponse, ApiError> {
    let Some(&(_, source)) = ENDPOINTS.iter().find(|(path, _)| *path == req.path()) else {
        return Err(ApiError::Malformed(format!(
            "no ingest endpoint at {}",
            req.path()
        )));
    };
    let body = json_body(&req, payload, settings.max_body_bytes).await?;
    let incoming = parse(source, &body, &settings).map_err(ApiError::Invalid)?;
    store(&db, &engine, caller, source, incoming).await
}
