//! The public one-click link page, `/v/<token>`: no sign-in. GET only shows the link; the
//! Verify button POSTs, because chat and mail apps open links to preview them.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::layout::{Layout, render};
use super::public_limit::PublicLimiter;
use crate::domain::ContactMethod;
use crate::error::AppError;
use crate::verification::{LinkState, Verifications};

#[derive(Template)]
#[template(path = "links/show.html")]
pub struct LinkPage {
    pub layout: Layout,
    pub token: String,
    pub view: View,
}

pub enum View {
    /// Ready: the masked number/address and the button.
    Open {
        method: ContactMethod,
        masked: String,
    },
    Done {
        method: ContactMethod,
        masked: String,
    },
    Problem {
        title: &'static str,
        text: String,
    },
}

impl LinkPage {
    pub fn noun(&self, method: &ContactMethod) -> &'static str {
        match method {
            ContactMethod::Phone => "phone number",
            ContactMethod::Email => "email address",
        }
    }

    pub fn verb(&self, method: &ContactMethod) -> &'static str {
        match method {
            ContactMethod::Phone => "Verify",
            ContactMethod::Email => "Activate",
        }
    }

    pub fn done_word(&self, method: &ContactMethod) -> &'static str {
        match method {
            ContactMethod::Phone => "verified",
            ContactMethod::Email => "activated",
        }
    }
}

fn problem(state: &LinkState) -> (StatusCode, View) {
    let (status, title, text) = match state {
        LinkState::Used => (
            StatusCode::GONE,
            "This link has already been used",
            "Each link works once. If the number or address still shows as not verified, ask your administrator to send a new link.",
        ),
        LinkState::Expired => (
            StatusCode::GONE,
            "This link has expired",
            "Links work for 24 hours. Ask your administrator to send a new one.",
        ),
        LinkState::Outdated => (
            StatusCode::GONE,
            "This link is out of date",
            "The phone number or email address it was sent for has changed since. Nothing was changed.",
        ),
        _ => (
            StatusCode::NOT_FOUND,
            "This link is not valid",
            "Check that the whole link was copied. Nothing was changed.",
        ),
    };
    (
        status,
        View::Problem {
            title,
            text: text.into(),
        },
    )
}

fn page(
    session: &Session,
    status: StatusCode,
    token: &str,
    view: View,
) -> Result<HttpResponse, AppError> {
    let mut response = render(
        status,
        &LinkPage {
            layout: Layout::public(session),
            token: token.to_string(),
            view,
        },
    )?;
    let headers = response.headers_mut();
    // The token is in the URL: keep it out of caches and other sites' Referer headers.
    headers.insert(
        actix_web::http::header::CACHE_CONTROL,
        actix_web::http::header::HeaderValue::from_static("no-store"),
    );
    headers.insert(
        actix_web::http::header::REFERRER_POLICY,
        actix_web::http::header::HeaderValue::from_static("no-referrer"),
    );
    Ok(response)
}

/// Counts the request against its address; a refused one gets the 429 page.
fn limited(
    req: &HttpRequest,
    limiter: &PublicLimiter,
    session: &Session,
    token: &str,
) -> Option<Result<HttpResponse, AppError>> {
    let ip = super::client_ip::client_ip(req)?;
    let wait = limiter.check(ip).err()?;
    let minutes = wait.div_ceil(60);
    Some(page(
        session,
        StatusCode::TOO_MANY_REQUESTS,
        token,
        View::Problem {
            title: "Too many attempts",
            text: format!("Please wait {minutes} minute(s) and open the link again."),
        },
    ))
}

/// The page for what the link's state is now; an unknown token counts against the address.
fn respond(
    req: &HttpRequest,
    limiter: &PublicLimiter,
    session: &Session,
    token: &str,
    state: LinkState,
) -> Result<HttpResponse, AppError> {
    if state == LinkState::Invalid
        && let Some(ip) = super::client_ip::client_ip(req)
    {
        limiter.failed(ip);
    }
    let (status, view) = match state {
        LinkState::Open { method, masked } => (StatusCode::OK, View::Open { method, masked }),
        LinkState::Done { method, masked } => (StatusCode::OK, View::Done { method, masked }),
        other => problem(&other),
    };
    page(session, status, token, view)
}

/// The link (GET: shows what it does, changes nothing) and the page's button (POST: the only
/// request that verifies).
pub async fn follow(
    req: HttpRequest,
    session: Session,
    limiter: web::Data<PublicLimiter>,
    verifications: web::Data<Verifications>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let token = path.into_inner();
    if let Some(r) = limited(&req, &limiter, &session, &token) {
        return r;
    }
    let state = if req.method() == actix_web::http::Method::POST {
        verifications.confirm(&token).await?
    } else {
        verifications.open(&token).await?
    };
    respond(&req, &limiter, &session, &token, state)
}
