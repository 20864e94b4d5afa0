//! The public one-click link page, `/v/<token>`: no sign-in. GET only shows the link; the
//! Verify button POSTs, because chat and mail apps open links to preview them.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::layout::{Layout, render};
use super::public_limit::PublicLimiter;
use crate::domain::ContactMethod;
use crate::domain::catalog::Lang;
use crate::error::AppError;
use crate::verification::{LinkState, Verifications};

#[derive(Template)]
#[template(path = "links/show.html")]
pub struct LinkPage {
    pub layout: Layout,
    pub token: String,
    pub view: View,
    pub lang: Lang,
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
    Problem(Problem),
}

/// Why a link cannot be used, or that the address asked too often.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    Used,
    Expired,
    Outdated,
    Invalid,
    TooMany { minutes: u64 },
}

/// Everything the page says, in each language: one match per sentence, so neither language
/// can lack one.
impl LinkPage {
    pub fn document_title(&self) -> &'static str {
        match self.lang {
            Lang::En => "Herald link",
            Lang::Zh => "Herald 链接",
        }
    }

    pub fn open_title(&self, method: &ContactMethod) -> &'static str {
        match (self.lang, method) {
            (Lang::En, ContactMethod::Phone) => "Verify your phone number",
            (Lang::En, ContactMethod::Email) => "Activate your email address",
            (Lang::Zh, ContactMethod::Phone) => "验证您的手机号",
            (Lang::Zh, ContactMethod::Email) => "激活您的邮箱",
        }
    }

    pub fn open_text(&self, method: &ContactMethod) -> &'static str {
        match (self.lang, method) {
            (Lang::En, ContactMethod::Phone) => {
                "Press Verify to confirm this phone number is yours and can receive alert notifications from Herald."
            }
            (Lang::En, ContactMethod::Email) => {
                "Press Activate to confirm this email address is yours and can receive alert notifications from Herald."
            }
            (Lang::Zh, ContactMethod::Phone) => {
                "点击“验证”，确认此手机号属于您，并可接收 Herald 的告警通知。"
            }
            (Lang::Zh, ContactMethod::Email) => {
                "点击“激活”，确认此邮箱属于您，并可接收 Herald 的告警通知。"
            }
        }
    }

    pub fn button(&self, method: &ContactMethod) -> &'static str {
        match (self.lang, method) {
            (Lang::En, ContactMethod::Phone) => "Verify",
            (Lang::En, ContactMethod::Email) => "Activate",
            (Lang::Zh, ContactMethod::Phone) => "验证",
            (Lang::Zh, ContactMethod::Email) => "激活",
        }
    }

    pub fn done_title(&self, method: &ContactMethod) -> &'static str {
        match (self.lang, method) {
            (Lang::En, ContactMethod::Phone) => "Your phone number is verified",
            (Lang::En, ContactMethod::Email) => "Your email address is activated",
            (Lang::Zh, ContactMethod::Phone) => "您的手机号已验证",
            (Lang::Zh, ContactMethod::Email) => "您的邮箱已激活",
        }
    }

    pub fn done_badge(&self, method: &ContactMethod) -> &'static str {
        match (self.lang, method) {
            (Lang::En, ContactMethod::Phone) => "Verified",
            (Lang::En, ContactMethod::Email) => "Activated",
            (Lang::Zh, ContactMethod::Phone) => "已验证",
            (Lang::Zh, ContactMethod::Email) => "已激活",
        }
    }

    pub fn done_text(&self) -> &'static str {
        match self.lang {
            Lang::En => "Alert notifications can now reach you here. You can close this page.",
            Lang::Zh => "告警通知现在可以送达这里。您可以关闭此页面。",
        }
    }

    pub fn problem_title(&self, p: &Problem) -> &'static str {
        match (self.lang, p) {
            (Lang::En, Problem::Used) => "This link has already been used",
            (Lang::En, Problem::Expired) => "This link has expired",
            (Lang::En, Problem::Outdated) => "This link is out of date",
            (Lang::En, Problem::Invalid) => "This link is not valid",
            (Lang::En, Problem::TooMany { .. }) => "Too many attempts",
            (Lang::Zh, Problem::Used) => "此链接已被使用",
            (Lang::Zh, Problem::Expired) => "此链接已过期",
            (Lang::Zh, Problem::Outdated) => "此链接已失效",
            (Lang::Zh, Problem::Invalid) => "此链接无效",
            (Lang::Zh, Problem::TooMany { .. }) => "尝试次数过多",
        }
    }

    pub fn problem_text(&self, p: &Problem) -> String {
        match (self.lang, p) {
            (Lang::En, Problem::Used) => "Each link works once. If the number or address still shows as not verified, ask your administrator to send a new link.".into(),
            (Lang::En, Problem::Expired) => "Links work for 24 hours. Ask your administrator to send a new one.".into(),
            (Lang::En, Problem::Outdated) => "The phone number or email address it was sent for has changed since. Nothing was changed.".into(),
            (Lang::En, Problem::Invalid) => "Check that the whole link was copied. Nothing was changed.".into(),
            (Lang::En, Problem::TooMany { minutes }) => format!("Please wait {minutes} minute(s) and open the link again."),
            (Lang::Zh, Problem::Used) => "每个链接只能使用一次。如果手机号或邮箱仍显示未验证，请联系管理员重新发送链接。".into(),
            (Lang::Zh, Problem::Expired) => "链接的有效期为 24 小时。请联系管理员重新发送。".into(),
            (Lang::Zh, Problem::Outdated) => "发送此链接后，对应的手机号或邮箱已更改。未做任何修改。".into(),
            (Lang::Zh, Problem::Invalid) => "请检查是否复制了完整的链接。未做任何修改。".into(),
            (Lang::Zh, Problem::TooMany { minutes }) => format!("请等待 {minutes} 分钟后再打开此链接。"),
        }
    }
}

fn problem(state: &LinkState) -> (StatusCode, View) {
    let (status, p) = match state {
        LinkState::Used => (StatusCode::GONE, Problem::Used),
        LinkState::Expired => (StatusCode::GONE, Problem::Expired),
        LinkState::Outdated => (StatusCode::GONE, Problem::Outdated),
        _ => (StatusCode::NOT_FOUND, Problem::Invalid),
    };
    (status, View::Problem(p))
}

fn page(
    session: &Session,
    status: StatusCode,
    token: &str,
    view: View,
    lang: Lang,
) -> Result<HttpResponse, AppError> {
    let layout = Layout::public_in(session, lang);
    let response = render(
        status,
        &LinkPage {
            layout,
            token: token.to_string(),
            view,
            lang,
        },
    )?;
    Ok(kept_private(response))
}

/// A page whose URL carries a token: kept out of caches and other sites' Referer headers.
pub(super) fn kept_private(mut response: HttpResponse) -> HttpResponse {
    let headers = response.headers_mut();
    headers.insert(
        actix_web::http::header::CACHE_CONTROL,
        actix_web::http::header::HeaderValue::from_static("no-store"),
    );
    headers.insert(
        actix_web::http::header::REFERRER_POLICY,
        actix_web::http::header::HeaderValue::from_static("no-referrer"),
    );
    response
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
        View::Problem(Problem::TooMany { minutes }),
        super::lang::browser(req),
    ))
}

/// The page for what the link's state is now; an unknown token counts against the address.
fn respond(
    req: &HttpRequest,
    limiter: &PublicLimiter,
    session: &Session,
    token: &str,
    (state, lang): (LinkState, Option<Lang>),
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
    page(
        session,
        status,
        token,
        view,
        lang.unwrap_or_else(|| super::lang::browser(req)),
    )
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
