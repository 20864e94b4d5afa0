//! Error pages. Handlers return bare error statuses; this middleware gives them a page that
//! shows the request id, which is also on the log line of the cause.

use actix_web::body::BoxBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::{StatusCode, header};
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
use actix_web::{HttpMessage, HttpResponse};
use askama::Template;
use tracing_actix_web::RequestId;

use crate::error::AppError;

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub status: u16,
    pub title: &'static str,
    pub message: &'static str,
    pub request_id: String,
}

fn describe(status: StatusCode) -> (&'static str, &'static str) {
    match status.as_u16() {
        400 => (
            "Bad request",
            "The request could not be understood. Go back and try again.",
        ),
        403 => (
            "Not allowed",
            "You may not do this here. If you submitted a form, reload the page and try again.",
        ),
        404 => (
            "Page not found",
            "There is nothing here. It may have been deleted, or it belongs to another workspace.",
        ),
        405 => (
            "Not allowed",
            "This address does not accept that kind of request.",
        ),
        413 => ("Too large", "What you sent is larger than Herald accepts."),
        422 => (
            "Text Herald cannot store",
            "A field holds a control character (such as a NUL byte, often pasted by accident). Nothing was saved. Go back, remove it and submit again.",
        ),
        _ => (
            "Something went wrong",
            "Herald could not finish this request. The problem is logged with the request id below.",
        ),
    }
}

fn render_page<B>(res: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
    // A response that already has a body of its own (a form re-rendered with 429, /healthz's
    // plain text, a JSON error) keeps it.
    if res.response().headers().contains_key(header::CONTENT_TYPE) {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let request_id = res
        .request()
        .extensions()
        .get::<RequestId>()
        .map(|id| id.to_string())
        .unwrap_or_default();
    let (title, message) = describe(status);
    let page = ErrorPage {
        status: status.as_u16(),
        title,
        message,
        request_id,
    };
    let body = page
        .render()
        .unwrap_or_else(|_| format!("{} {}", status.as_u16(), title));
    let (req, res) = res.into_parts();
    let mut new = HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(body);
    for (name, value) in res.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            new.headers_mut().append(name.clone(), value.clone());
        }
    }
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, new).map_into_right_body(),
    ))
}

pub fn handlers<B: 'static>() -> ErrorHandlers<B> {
    let mut h = ErrorHandlers::new();
    for code in [400u16, 403, 404, 405, 413, 422, 500, 503] {
        if let Ok(status) = StatusCode::from_u16(code) {
            h = h.handler(status, render_page);
        }
    }
    h
}

/// A known path asked with a method it does not take; `allowed` as the route table names
/// them (`get`, `post`).
pub fn method_not_allowed(allowed: &[&str]) -> HttpResponse {
    let allow = allowed
        .iter()
        .map(|m| m.to_ascii_uppercase())
        .collect::<Vec<_>>()
        .join(", ");
    HttpResponse::MethodNotAllowed()
        .insert_header((header::ALLOW, allow))
        .finish()
}

/// Unknown paths.
pub async fn not_found() -> Result<HttpResponse<BoxBody>, AppError> {
    Err(AppError::NotFound)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_status_has_words() {
        assert_eq!(
            super::describe(actix_web::http::StatusCode::NOT_FOUND).0,
            "Page not found"
        );
    }
}
