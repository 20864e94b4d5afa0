//! The public "Bind mobile phone number" page, `/b/<token>`, opened from a chat alert card (no
//! sign-in): the phone number, then the 6-digit code sent to it, then "Bound". GET only shows
//! the first form; every step is a POST and is counted against the client's address.
//!
//! Until the code is right the page speaks the browser's language and answers the same for any
//! number, so it cannot tell anyone who is a contact; the "Bound" page speaks the contact's.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::layout::{Layout, render};
use super::public_limit::PublicLimiter;
use crate::domain::PhoneNumber;
use crate::domain::Platform;
use crate::domain::catalog::Lang;
use crate::error::AppError;
use crate::store::bind_links::{self, LinkedBot};
use crate::store::{Db, now};
use crate::usecases::binding::{self, Asked, Confirmed};
use crate::verification::Verifications;

/// Steps per client address: every POST and every unknown token counts, so neither codes nor
/// SMS can be farmed from one address.
pub struct BindLimiter(PublicLimiter);

impl Default for BindLimiter {
    /// 20 steps in 10 minutes: a person needs three or four.
    fn default() -> Self {
        BindLimiter(PublicLimiter::new(20, std::time::Duration::from_secs(600)))
    }
}

impl BindLimiter {
    pub fn new(max: u32, window: std::time::Duration) -> Self {
        BindLimiter(PublicLimiter::new(max, window))
    }
}

#[derive(Template)]
#[template(path = "bind/show.html")]
pub struct BindPage {
    pub layout: Layout,
    pub token: String,
    pub lang: Lang,
    pub view: View,
}

pub enum View {
    /// The phone number form, with its error.
    Ask {
        phone: String,
        error: Option<String>,
    },
    /// The code form for `phone`: `sent` after a request, `error` after a wrong code.
    Code {
        phone: String,
        sent: bool,
        error: Option<String>,
    },
    Bound {
        name: String,
        platform: Platform,
    },
    Invalid,
    TooMany {
        minutes: u64,
    },
}

/// Every sentence in both languages.
impl BindPage {
    pub fn title(&self) -> &'static str {
        match self.lang {
            Lang::En => "Bind mobile phone number",
            Lang::Zh => "绑定手机号",
        }
    }

    pub fn ask_text(&self) -> &'static str {
        match self.lang {
            Lang::En => {
                "Enter your mobile phone number, with its country code, as it is on your contact in Herald. A 6-digit code is sent to it by SMS; once you enter it, alerts in this chat @mention you."
            }
            Lang::Zh => {
                "请输入您在 Herald 联系人中登记的手机号（带国家代码）。我们会通过短信发送 6 位验证码；输入后，本群的告警会 @提及您。"
            }
        }
    }

    pub fn phone_label(&self) -> &'static str {
        match self.lang {
            Lang::En => "Mobile phone number",
            Lang::Zh => "手机号",
        }
    }

    pub fn send_button(&self) -> &'static str {
        match self.lang {
            Lang::En => "Send code",
            Lang::Zh => "发送验证码",
        }
    }

    pub fn sent_text(&self) -> &'static str {
        match self.lang {
            Lang::En => {
                "If this number belongs to a contact, a code is on its way. It is valid for 10 minutes."
            }
            Lang::Zh => "如果此号码属于某位联系人，验证码已在发送途中，10 分钟内有效。",
        }
    }

    pub fn code_label(&self) -> &'static str {
        match self.lang {
            Lang::En => "6-digit code",
            Lang::Zh => "6 位验证码",
        }
    }

    pub fn bind_button(&self) -> &'static str {
        match self.lang {
            Lang::En => "Bind",
            Lang::Zh => "绑定",
        }
    }

    pub fn other_number(&self) -> &'static str {
        match self.lang {
            Lang::En => "Use another number or ask for a new code",
            Lang::Zh => "换一个号码或重新获取验证码",
        }
    }

    pub fn bound_title(&self) -> &'static str {
        match self.lang {
            Lang::En => "Bound — you will be @mentioned from now on",
            Lang::Zh => "绑定成功——今后告警会 @提及您",
        }
    }

    pub fn bound_text(&self, name: &str, platform: &Platform) -> String {
        let p = platform.label();
        match self.lang {
            Lang::En => format!(
                "{name}, your number is bound on {p}: alert messages there that are meant for you @mention you. You can close this page."
            ),
            Lang::Zh => format!(
                "{name}，您的号码已在{p}绑定：发给您的告警消息会 @提及您。可以关闭此页面了。"
            ),
        }
    }

    pub fn invalid_title(&self) -> &'static str {
        match self.lang {
            Lang::En => "This link does not work",
            Lang::Zh => "此链接无效",
        }
    }

    pub fn invalid_text(&self) -> &'static str {
        match self.lang {
            Lang::En => {
                "The link may have been replaced by a newer one. Open Bind mobile phone number from the newest alert in the chat."
            }
            Lang::Zh => "此链接可能已被新链接替换。请从群里最新的告警中打开“绑定手机号”。",
        }
    }

    pub fn too_many_text(&self, minutes: &u64) -> String {
        match self.lang {
            Lang::En => format!("Too many tries from this address. Try again in {minutes} min."),
            Lang::Zh => format!("此地址尝试次数过多，请 {minutes} 分钟后再试。"),
        }
    }
}

/// Messages chosen before the page is built.
fn phone_error(lang: Lang) -> String {
    match lang {
        Lang::En => "Enter the number with its country code, e.g. +86 138 0000 1234.".into(),
        Lang::Zh => "请输入带国家代码的号码，例如 +86 138 0000 1234。".into(),
    }
}

fn too_soon(lang: Lang, secs: i64) -> String {
    match lang {
        Lang::En => format!(
            "A code was sent to this number recently. Enter it below, or ask for a new one in {secs} s."
        ),
        Lang::Zh => format!("刚刚已向此号码发送过验证码。请在下方输入，或 {secs} 秒后重新获取。"),
    }
}

fn confirm_error(lang: Lang, c: &Confirmed) -> String {
    match (lang, c) {
        (Lang::En, Confirmed::Wrong { left }) => {
            format!("That is not the code. {left} tries left.")
        }
        (Lang::Zh, Confirmed::Wrong { left }) => format!("验证码不正确，还可以尝试 {left} 次。"),
        (Lang::En, Confirmed::Void) => {
            "Too many wrong codes: this code no longer works. Ask for a new one.".into()
        }
        (Lang::Zh, Confirmed::Void) => "错误次数过多，此验证码已失效，请重新获取。".into(),
        (Lang::En, Confirmed::Expired) => {
            "This code's 10 minutes are over. Ask for a new one.".into()
        }
        (Lang::Zh, Confirmed::Expired) => "此验证码已超过 10 分钟，请重新获取。".into(),
        (Lang::En, _) => "No code is waiting for this number. Ask for one first.".into(),
        (Lang::Zh, _) => "此号码没有待使用的验证码，请先获取。".into(),
    }
}

#[derive(Deserialize)]
pub struct PhoneForm {
    #[serde(default)]
    phone: String,
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    phone: String,
    #[serde(default)]
    code: String,
}

fn respond(
    session: &Session,
    status: StatusCode,
    token: &str,
    lang: Lang,
    view: View,
) -> Result<HttpResponse, AppError> {
    let page = BindPage {
        layout: Layout::public_in(session, lang),
        token: token.to_string(),
        lang,
        view,
    };
    Ok(super::links::kept_private(render(status, &page)?))
}

/// What every step does first: the address's budget (a POST spends one), then the bot the
/// link names. Err is the page to answer with.
async fn step(
    req: &HttpRequest,
    session: &Session,
    limiter: &BindLimiter,
    db: &Db,
    token: &str,
    spend: bool,
) -> Result<Result<LinkedBot, HttpResponse>, AppError> {
    let lang = super::lang::browser(req);
    let ip = super::client_ip::client_ip(req);
    if let Some(ip) = ip {
        if let Err(wait) = limiter.0.check(ip) {
            let minutes = wait.div_ceil(60);
            let r = respond(
                session,
                StatusCode::TOO_MANY_REQUESTS,
                token,
                lang,
                View::TooMany { minutes },
            )?;
            return Ok(Err(r));
        }
        if spend {
            limiter.0.failed(ip);
        }
    }
    let t = token.to_string();
    match db.run(move |c| bind_links::find(c, &t)).await? {
        Some(bot) => Ok(Ok(bot)),
        None => {
            if let (Some(ip), false) = (ip, spend) {
                limiter.0.failed(ip);
            }
            Ok(Err(respond(
                session,
                StatusCode::NOT_FOUND,
                token,
                lang,
                View::Invalid,
            )?))
        }
    }
}

/// A POST step: the step counted, the bot found and the typed number parsed, or the page
/// that says why not (a bad number comes back beside its field).
async fn with_number(
    req: &HttpRequest,
    session: &Session,
    limiter: &BindLimiter,
    db: &Db,
    token: &str,
    typed: String,
) -> Result<Result<(LinkedBot, PhoneNumber), HttpResponse>, AppError> {
    let bot = match step(req, session, limiter, db, token, true).await? {
        Ok(bot) => bot,
        Err(page) => return Ok(Err(page)),
    };
    match PhoneNumber::parse(&typed) {
        Ok(phone) => Ok(Ok((bot, phone))),
        Err(_) => {
            let lang = super::lang::browser(req);
            let error = Some(phone_error(lang));
            let view = View::Ask {
                phone: typed,
                error,
            };
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(Err(respond(session, status, token, lang, view)?))
        }
    }
}

pub async fn show(
    req: HttpRequest,
    session: Session,
    limiter: web::Data<BindLimiter>,
    db: web::Data<Db>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let token = path.into_inner();
    if let Err(page) = step(&req, &session, &limiter, &db, &token, false).await? {
        return Ok(page);
    }
    let view = View::Ask {
        phone: String::new(),
        error: None,
    };
    respond(
        &session,
        StatusCode::OK,
        &token,
        super::lang::browser(&req),
        view,
    )
}

/// The number: a code goes to it when it is a contact's; the answer is the same either way.
pub async fn ask(
    req: HttpRequest,
    session: Session,
    limiter: web::Data<BindLimiter>,
    db: web::Data<Db>,
    verifications: web::Data<Verifications>,
    path: web::Path<String>,
    form: web::Form<PhoneForm>,
) -> Result<HttpResponse, AppError> {
    let token = path.into_inner();
    let lang = super::lang::browser(&req);
    let (bot, phone) = match with_number(
        &req,
        &session,
        &limiter,
        &db,
        &token,
        form.into_inner().phone,
    )
    .await?
    {
        Ok(found) => found,
        Err(page) => return Ok(page),
    };
    let (p, b) = (phone.clone(), bot.clone());
    let (asked, send) = db.run(move |c| binding::ask(c, &b, &p, now())).await?;
    if let Some(code) = send
        && let Err(e) = verifications
            .send_bind_code(&code.workspace_id, &code.to, code.language, &code.code)
            .await
    {
        // The page cannot say so without telling who is a contact; the log and the Dev
        // outbox (console provider) do.
        tracing::warn!(chatbot = %bot.id, error = %e, "bind code not sent");
    }
    let (status, view) = match asked {
        Asked::OnItsWay => (
            StatusCode::OK,
            View::Code {
                phone: phone.as_str().to_string(),
                sent: true,
                error: None,
            },
        ),
        Asked::TooSoon { secs } => (
            StatusCode::TOO_MANY_REQUESTS,
            View::Code {
                phone: phone.as_str().to_string(),
                sent: false,
                error: Some(too_soon(lang, secs)),
            },
        ),
    };
    respond(&session, status, &token, lang, view)
}

/// The code: right binds the contact; wrong says how many tries are left.
pub async fn confirm(
    req: HttpRequest,
    session: Session,
    limiter: web::Data<BindLimiter>,
    db: web::Data<Db>,
    path: web::Path<String>,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, AppError> {
    let token = path.into_inner();
    let lang = super::lang::browser(&req);
    let CodeForm { phone: typed, code } = form.into_inner();
    let (bot, phone) = match with_number(&req, &session, &limiter, &db, &token, typed).await? {
        Ok(found) => found,
        Err(page) => return Ok(page),
    };
    let p = phone.clone();
    let answer = db
        .run(move |c| binding::confirm(c, &bot, &p, &code, now()))
        .await?;
    match answer {
        Confirmed::Bound {
            name,
            platform,
            lang,
            ..
        } => respond(
            &session,
            StatusCode::OK,
            &token,
            lang,
            View::Bound { name, platform },
        ),
        other => {
            let view = View::Code {
                phone: phone.as_str().to_string(),
                sent: false,
                error: Some(confirm_error(lang, &other)),
            };
            respond(
                &session,
                StatusCode::UNPROCESSABLE_ENTITY,
                &token,
                lang,
                view,
            )
        }
    }
}
