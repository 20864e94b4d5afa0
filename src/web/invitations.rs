//! Accepting an invitation. The link `/invite/<token>` arrives by email, so whoever opens it
//! reads that mailbox: they may join with the account the address has (its password, or by
//! being signed in as it), make one by choosing a password, or decline. Signed-in users also
//! see their open invitations on the Workspaces page.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::auth::{Visitor, start_session};
use super::csrf::{CheckedForm, CsrfForm, NoFields};
use super::form::{self, Console};
use super::layout::{FieldErrors, Layout, render};
use super::public_limit::PublicLimiter;
use super::session::{self, Level};
use crate::domain::LinkToken;
use crate::domain::catalog::Lang;
use crate::error::{AppError, see_other};
use crate::store::invitations::{self, Invitation, InviteError};
use crate::store::{Db, StoreError};
use crate::usecases::invitations::{self as answering, AnswerError, Answered, Said, Why};

#[derive(Template)]
#[template(path = "invitations/show.html")]
pub struct InvitePage {
    pub layout: Layout,
    pub token: String,
    pub invitation: Option<Invitation>,
    /// Who is signed in in this browser, when anyone is.
    pub signed_in_as: Option<String>,
    pub errors: FieldErrors,
    /// The invitee has no stored language yet: the page speaks their browser's.
    pub lang: Lang,
}

/// The page's fixed sentences.
#[derive(Debug, Clone, Copy)]
pub enum Text {
    Accept,
    Decline,
    HaveAccount,
    SignInAndAccept,
    NewToHerald,
    ChoosePassword,
    AtLeastTen,
    PasswordAgain,
    CreateAndAccept,
    DeclineInvitation,
    NotValidTitle,
    NotValidText,
}

impl InvitePage {
    /// One match over language × sentence, so neither language can lack one.
    pub fn t(&self, text: Text) -> &'static str {
        use Text::*;
        match (self.lang, text) {
            (Lang::En, Accept) => "Accept",
            (Lang::En, Decline) => "Decline",
            (Lang::En, HaveAccount) => "I have a Herald account",
            (Lang::En, SignInAndAccept) => "Sign in and accept",
            (Lang::En, NewToHerald) => "I am new to Herald",
            (Lang::En, ChoosePassword) => "Choose a password",
            (Lang::En, AtLeastTen) => "At least 10 characters.",
            (Lang::En, PasswordAgain) => "The password again",
            (Lang::En, CreateAndAccept) => "Create account and accept",
            (Lang::En, DeclineInvitation) => "Decline the invitation",
            (Lang::En, NotValidTitle) => "This invitation is not valid",
            (Lang::En, NotValidText) => {
                "It may have expired (invitations last 7 days), been accepted, declined or withdrawn, or the link was not copied whole. Ask the person who invited you to send a new one."
            }
            (Lang::Zh, Accept) => "接受",
            (Lang::Zh, Decline) => "拒绝",
            (Lang::Zh, HaveAccount) => "我已有 Herald 账号",
            (Lang::Zh, SignInAndAccept) => "登录并接受",
            (Lang::Zh, NewToHerald) => "我第一次使用 Herald",
            (Lang::Zh, ChoosePassword) => "设置密码",
            (Lang::Zh, AtLeastTen) => "至少 10 个字符。",
            (Lang::Zh, PasswordAgain) => "再次输入密码",
            (Lang::Zh, CreateAndAccept) => "创建账号并接受",
            (Lang::Zh, DeclineInvitation) => "拒绝此邀请",
            (Lang::Zh, NotValidTitle) => "此邀请无效",
            (Lang::Zh, NotValidText) => {
                "邀请可能已过期（有效期 7 天）、已被接受、拒绝或撤回，或链接没有复制完整。请联系邀请您的人重新发送。"
            }
        }
    }

    pub fn role_name(&self, role: &crate::domain::Role) -> &'static str {
        answering::role_name(self.lang, *role)
    }

    pub fn for_me(&self) -> bool {
        match (&self.invitation, &self.signed_in_as) {
            (Some(i), Some(me)) => &i.email == me,
            _ => false,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AnswerForm {
    /// `accept`, `decline`, `sign_in` (password of the existing account) or `create`.
    pub action: String,
    pub password: String,
    pub confirm: String,
}

async fn lookup(db: &Db, token: &str) -> Result<Option<Invitation>, AppError> {
    let Some(token) = LinkToken::parse(token) else {
        return Ok(None);
    };
    Ok(db.run(move |c| invitations::open(c, &token)).await?)
}

/// The invitation page, for whoever is (or is not) signed in in this browser: 404 for a
/// token that names no open invitation.
async fn page(
    db: &Db,
    (session, lang): (&Session, Lang),
    visitor: &Visitor,
    token: String,
    shown: Result<Invitation, ()>,
    (status, errors): (StatusCode, FieldErrors),
) -> Result<HttpResponse, AppError> {
    let me = visitor.optional(db).await?;
    let layout = match &me {
        Some(user) => Layout {
            html_lang: lang.html_code(),
            ..Layout::new(session, user)
        },
        None => Layout::public_in(session, lang),
    };
    let status = if shown.is_err() {
        StatusCode::NOT_FOUND
    } else {
        status
    };
    let signed_in_as = me.map(|u| u.email);
    let page = InvitePage {
        layout,
        token,
        invitation: shown.ok(),
        signed_in_as,
        errors,
        lang,
    };
    render(status, &page)
}

/// Counts the request against its address; unknown tokens are what the limiter limits.
fn limited(req: &HttpRequest, limiter: &PublicLimiter) -> Option<HttpResponse> {
    let ip = super::client_ip::client_ip(req)?;
    let wait = limiter.check(ip).err()?;
    Some(
        HttpResponse::TooManyRequests()
            .insert_header(("Retry-After", wait.to_string()))
            .finish(),
    )
}

/// The open invitation `token` names, or None (which counts against the address); Err is the
/// 429 for an address that tried too many unknown tokens.
async fn opened(
    req: &HttpRequest,
    limiter: &PublicLimiter,
    db: &Db,
    token: &str,
) -> Result<Result<Option<Invitation>, HttpResponse>, AppError> {
    if let Some(too_many) = limited(req, limiter) {
        return Ok(Err(too_many));
    }
    let found = lookup(db, token).await?;
    if found.is_none()
        && let Some(ip) = super::client_ip::client_ip(req)
    {
        limiter.failed(ip);
    }
    Ok(Ok(found))
}

pub async fn show(
    req: HttpRequest,
    db: web::Data<Db>,
    session: Session,
    visitor: Visitor,
    limiter: web::Data<PublicLimiter>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let token = path.into_inner();
    let invitation = match opened(&req, &limiter, &db, &token).await? {
        Ok(found) => found,
        Err(too_many) => return Ok(too_many),
    };
    let shown = invitation.ok_or(());
    page(
        &db,
        (&session, super::lang::browser(&req)),
        &visitor,
        token,
        shown,
        (StatusCode::OK, FieldErrors::default()),
    )
    .await
}

pub async fn answer(
    req: HttpRequest,
    db: web::Data<Db>,
    session: Session,
    visitor: Visitor,
    limiter: web::Data<PublicLimiter>,
    path: web::Path<String>,
    CheckedForm { form, refused }: CheckedForm<AnswerForm>,
) -> Result<HttpResponse, AppError> {
    let token = path.into_inner();
    let lang = super::lang::browser(&req);
    let found = match opened(&req, &limiter, &db, &token).await? {
        Ok(found) => found,
        Err(too_many) => return Ok(too_many),
    };
    let Some(invitation) = found else {
        let refused = (StatusCode::NOT_FOUND, FieldErrors::default());
        return page(&db, (&session, lang), &visitor, token, Err(()), refused).await;
    };
    let outcome = if refused.is_empty() {
        answer_with(&db, (&visitor, lang), &invitation, &token, &form).await?
    } else {
        Err((
            StatusCode::UNPROCESSABLE_ENTITY,
            refused.renamed(|f| shown(f, &form)),
        ))
    };
    match outcome {
        Ok(done) => finish(&req, &db, &session, &form.action, done).await,
        Err(refused) => {
            let shown = Ok(invitation);
            page(&db, (&session, lang), &visitor, token, shown, refused).await
        }
    }
}

/// The answer the form gives, taken; or the status and errors to show the page again with.
async fn answer_with(
    db: &Db,
    (visitor, lang): (&Visitor, Lang),
    invitation: &Invitation,
    token: &str,
    form: &AnswerForm,
) -> Result<Result<Answered, (StatusCode, FieldErrors)>, AppError> {
    let answered = match form.action.as_str() {
        "decline" => answering::decline(db, lang, invitation).await,
        "accept" => accept_signed_in(db, (visitor, lang), invitation).await?,
        "sign_in" => answering::accept_with_password(db, lang, invitation, &form.password).await,
        "create" => {
            let token = LinkToken::parse(token).ok_or(AppError::NotFound)?;
            let (password, confirm) = (&form.password, &form.confirm);
            answering::accept_with_new_account(db, lang, token, password, confirm).await
        }
        _ => return Err(AppError::BadRequest("unknown action".into())),
    };
    Ok(answered
        .map_err(answer_error)?
        .map_err(|refusal| (status_of(refusal.why), refusal.problems.into())))
}

/// The field of the page that shows a problem in `field` (the new-account form names its
/// password field apart from the existing account's).
fn shown(field: &str, form: &AnswerForm) -> String {
    match field {
        "password" if form.action == "create" => "new_password".into(),
        other => other.into(),
    }
}

/// Signs in whom the answer says, says what happened, and goes on.
async fn finish(
    req: &HttpRequest,
    db: &Db,
    session: &Session,
    action: &str,
    done: Answered,
) -> Result<HttpResponse, AppError> {
    if let Some(user) = done.sign_in {
        start_session(req, db, session, user).await?;
    }
    session::flash(session, Level::Success, done.message);
    let signed_out = action == "decline" && session::token(session).is_none();
    Ok(see_other(if signed_out { "/login" } else { "/" }))
}

fn status_of(why: Why) -> StatusCode {
    match why {
        Why::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
        Why::WrongPassword => StatusCode::UNAUTHORIZED,
        Why::Throttled => StatusCode::TOO_MANY_REQUESTS,
        Why::NotForYou => StatusCode::FORBIDDEN,
    }
}

/// "Accept" in a browser signed in as the invitee; anyone else is asked to sign in.
async fn accept_signed_in(
    db: &Db,
    (visitor, lang): (&Visitor, Lang),
    invitation: &Invitation,
) -> Result<answering::Answer, AppError> {
    let Some(me) = visitor.optional(db).await? else {
        let message = answering::say(lang, Said::SignInFirst);
        return Ok(Ok(Err(answering::Refusal {
            problems: vec![("password", message)],
            why: Why::Invalid,
        })));
    };
    Ok(answering::accept_as(db, lang, (me.user_id, me.email), invitation).await)
}

fn answer_error(e: AnswerError) -> AppError {
    match e {
        AnswerError::Invite(e) => invite_error(e),
        AnswerError::Auth(e) => e.into(),
    }
}

fn invite_error(e: InviteError) -> AppError {
    match e {
        InviteError::Store(StoreError::NotFound) => AppError::NotFound,
        InviteError::Store(e) => e.into(),
        InviteError::NotYours => AppError::Forbidden,
        other => AppError::BadRequest(other.to_string()),
    }
}

/// Accept or decline from the Workspaces page (the signed-in user's own invitations).
pub async fn accept_listed(
    console: Console<form::SignedIn>,
    path: web::Path<String>,
    _: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let invitation = console
        .run(move |c, me| invitations::accept(c, &id, &me.user_id, &me.email))
        .await
        .map_err(invite_error)?;
    session::set_workspace(&console.session, &invitation.workspace_id);
    Ok(console.done(answering::joined(Lang::En, &invitation), "/workspaces"))
}

pub async fn decline_listed(
    console: Console<form::SignedIn>,
    path: web::Path<String>,
    _: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let invitation = console
        .run(move |c, me| invitations::decline(c, &id, &me.email))
        .await
        .map_err(invite_error)?;
    let workspace = &invitation.workspace_name;
    let declined = answering::say(Lang::En, Said::Declined { workspace });
    Ok(console.done(declined, "/workspaces"))
}
