//! Accepting an invitation. The link `/invite/<token>` arrives by email, so whoever opens it
//! reads that mailbox: they may join with the account the address has (its password, or by
//! being signed in as it), make one by choosing a password, or decline. Signed-in users also
//! see their open invitations on the Workspaces page.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::auth::{CurrentUser, SignedIn, Visitor, start_session};
use super::csrf::{CsrfForm, NoFields};
use super::layout::{FieldErrors, Layout, render};
use super::public_limit::PublicLimiter;
use super::session::{self, Level};
use crate::domain::{LinkToken, NewPassword};
use crate::error::{AppError, see_other};
use crate::passwords;
use crate::store::invitations::{self, Invitation, InviteError};
use crate::store::{Db, StoreError, login_throttle};
use crate::usecases::sign_in::account_with_password;

#[derive(Template)]
#[template(path = "invitations/show.html")]
pub struct InvitePage {
    pub layout: Layout,
    pub token: String,
    pub invitation: Option<Invitation>,
    /// Who is signed in in this browser, when anyone is.
    pub signed_in_as: Option<String>,
    pub errors: FieldErrors,
}

impl InvitePage {
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

async fn page(
    db: &Db,
    session: &Session,
    visitor: &Visitor,
    token: String,
    invitation: Option<Invitation>,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let me = visitor.optional(db).await?;
    let status = if invitation.is_none() {
        StatusCode::NOT_FOUND
    } else {
        status
    };
    render(
        status,
        &InvitePage {
            layout: match &me {
                Some(user) => Layout::new(session, user),
                None => Layout::public(session),
            },
            token,
            invitation,
            signed_in_as: me.map(|u| u.email),
            errors,
        },
    )
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

fn count_unknown(req: &HttpRequest, limiter: &PublicLimiter, found: bool) {
    if !found && let Some(ip) = super::client_ip::client_ip(req) {
        limiter.failed(ip);
    }
}

pub async fn show(
    req: HttpRequest,
    db: web::Data<Db>,
    session: Session,
    visitor: Visitor,
    limiter: web::Data<PublicLimiter>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    if let Some(r) = limited(&req, &limiter) {
        return Ok(r);
    }
    let token = path.into_inner();
    let invitation = lookup(&db, &token).await?;
    count_unknown(&req, &limiter, invitation.is_some());
    page(
        &db,
        &session,
        &visitor,
        token,
        invitation,
        FieldErrors::default(),
        StatusCode::OK,
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
    CsrfForm(form): CsrfForm<AnswerForm>,
) -> Result<HttpResponse, AppError> {
    if let Some(r) = limited(&req, &limiter) {
        return Ok(r);
    }
    let token = path.into_inner();
    let Some(invitation) = lookup(&db, &token).await? else {
        count_unknown(&req, &limiter, false);
        return page(
            &db,
            &session,
            &visitor,
            token,
            None,
            FieldErrors::default(),
            StatusCode::NOT_FOUND,
        )
        .await;
    };
    let outcome = match form.action.as_str() {
        "decline" => decline(&db, &invitation).await?,
        "accept" => accept_signed_in(&db, &visitor, &invitation).await?,
        "sign_in" => accept_with_password(&req, &db, &session, &invitation, &form).await?,
        "create" => accept_with_new_account(&req, &db, &session, &token, &form).await?,
        _ => return Err(AppError::BadRequest("unknown action".into())),
    };
    match outcome {
        Ok(message) => {
            session::flash(&session, Level::Success, message);
            let to = if form.action == "decline" && session::token(&session).is_none() {
                "/login"
            } else {
                "/contacts"
            };
            Ok(see_other(to))
        }
        Err((status, errors)) => {
            page(
                &db,
                &session,
                &visitor,
                token,
                Some(invitation),
                errors,
                status,
            )
            .await
        }
    }
}

/// What an answer did: a message for the next page, or the form again with its errors.
type Outcome = Result<String, (StatusCode, FieldErrors)>;

fn refused(field: &'static str, message: impl Into<String>, status: StatusCode) -> Outcome {
    let mut errors = FieldErrors::default();
    errors.add(field, message);
    Err((status, errors))
}

fn joined(i: &Invitation) -> String {
    format!(
        "You joined the workspace “{}” as {}.",
        i.workspace_name,
        i.role.label()
    )
}

async fn decline(db: &Db, invitation: &Invitation) -> Result<Outcome, AppError> {
    let (id, email) = (invitation.id.clone(), invitation.email.clone());
    match db.run(move |c| invitations::decline(c, &id, &email)).await {
        Ok(i) => Ok(Ok(format!(
            "You declined the invitation to “{}”.",
            i.workspace_name
        ))),
        Err(e) => Err(invite_error(e)),
    }
}

async fn accept_signed_in(
    db: &Db,
    visitor: &Visitor,
    invitation: &Invitation,
) -> Result<Outcome, AppError> {
    let Some(me) = visitor.optional(db).await? else {
        return Ok(refused(
            "password",
            "Sign in first, or enter the password of your account below.",
            StatusCode::UNPROCESSABLE_ENTITY,
        ));
    };
    accept_as(db, &me, invitation).await
}

async fn accept_as(
    db: &Db,
    me: &CurrentUser,
    invitation: &Invitation,
) -> Result<Outcome, AppError> {
    if me.email != invitation.email {
        return Ok(refused(
            "action",
            format!(
                "This invitation is for {}; you are signed in as {}.",
                invitation.email, me.email
            ),
            StatusCode::FORBIDDEN,
        ));
    }
    let (id, uid, email) = (invitation.id.clone(), me.user_id.clone(), me.email.clone());
    match db
        .run(move |c| invitations::accept(c, &id, &uid, &email))
        .await
    {
        Ok(i) => Ok(Ok(joined(&i))),
        Err(e) => Err(invite_error(e)),
    }
}

/// The invitee has an account but is not signed in here: its password, checked under the
/// same throttle as the sign-in page, accepts and signs in.
async fn accept_with_password(
    req: &HttpRequest,
    db: &Db,
    session: &Session,
    invitation: &Invitation,
    form: &AnswerForm,
) -> Result<Outcome, AppError> {
    let key = format!("invitation|{}", invitation.email);
    let k = key.clone();
    if let login_throttle::Attempt::Locked { until } =
        db.run(move |c| login_throttle::take_attempt(c, &k)).await?
    {
        return Ok(refused(
            "password",
            format!(
                "Too many wrong passwords. {}",
                login_throttle::Attempt::retry_message(until)
            ),
            StatusCode::TOO_MANY_REQUESTS,
        ));
    }
    let Some(user) = account_with_password(db, &invitation.email, &form.password).await? else {
        return Ok(refused(
            "password",
            "Wrong password. New to Herald? Choose a password below instead.",
            StatusCode::UNAUTHORIZED,
        ));
    };
    db.run(move |c| login_throttle::clear(c, &key)).await?;
    let (id, uid, email) = (invitation.id.clone(), user.id.clone(), user.email.clone());
    let accepted = match db
        .run(move |c| invitations::accept(c, &id, &uid, &email))
        .await
    {
        Ok(i) => i,
        Err(e) => return Err(invite_error(e)),
    };
    start_session(req, db, session, user.id).await?;
    Ok(Ok(joined(&accepted)))
}

async fn accept_with_new_account(
    req: &HttpRequest,
    db: &Db,
    session: &Session,
    token: &str,
    form: &AnswerForm,
) -> Result<Outcome, AppError> {
    let mut errors = FieldErrors::default();
    let password = NewPassword::parse(&form.password)
        .map_err(|e| errors.add("new_password", e))
        .ok();
    if form.password != form.confirm {
        errors.add("confirm", "The two passwords differ.");
    }
    let (Some(password), true) = (password, errors.is_empty()) else {
        return Ok(Err((StatusCode::UNPROCESSABLE_ENTITY, errors)));
    };
    let token = LinkToken::parse(token).ok_or(AppError::NotFound)?;
    let hash = passwords::hash_off_thread(password.expose()).await?;
    match db
        .run(move |c| invitations::accept_with_new_account(c, &token, &hash))
        .await
    {
        Ok((user, invitation)) => {
            start_session(req, db, session, user).await?;
            Ok(Ok(format!("Welcome to Herald. {}", joined(&invitation))))
        }
        Err(InviteError::AccountExists) => Ok(refused(
            "new_password",
            InviteError::AccountExists.to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
        )),
        Err(e) => Err(invite_error(e)),
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
    db: web::Data<Db>,
    session: Session,
    SignedIn(me): SignedIn,
    path: web::Path<String>,
    _: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let (id, uid, email) = (path.into_inner(), me.user_id.clone(), me.email.clone());
    let invitation = db
        .run(move |c| invitations::accept(c, &id, &uid, &email))
        .await
        .map_err(invite_error)?;
    session::flash(&session, Level::Success, joined(&invitation));
    session::set_workspace(&session, &invitation.workspace_id);
    Ok(see_other("/workspaces"))
}

pub async fn decline_listed(
    db: web::Data<Db>,
    session: Session,
    SignedIn(me): SignedIn,
    path: web::Path<String>,
    _: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let (id, email) = (path.into_inner(), me.email.clone());
    let invitation = db
        .run(move |c| invitations::decline(c, &id, &email))
        .await
        .map_err(invite_error)?;
    session::flash(
        &session,
        Level::Success,
        format!(
            "You declined the invitation to “{}”.",
            invitation.workspace_name
        ),
    );
    Ok(see_other("/workspaces"))
}
