//! Who is asking: the extractors every console handler takes, and the sign-in pages.

use std::future::Future;
use std::pin::Pin;

use actix_session::{Session, SessionExt};
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::csrf::{CheckedForm, CsrfForm, NoFields};
use super::form::{self, Console};
use super::layout::{FieldErrors, Layout, render};
use super::session;
use crate::domain::Role;
use crate::error::{AppError, see_other};
use crate::store::sessions::{self, SessionToken};
use crate::store::{Db, DbConn, StoreResult, UserId, WorkspaceId, users};
use crate::usecases::sign_in::{self, PasswordChange, SignIn};

pub use super::current_user::CurrentUser;

/// What a request needs of the person making it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Signed in, even with a one-time password still to replace.
    SignedIn,
    /// Signed in with a password of their own, any role.
    Member,
    /// Owner or admin.
    Editor,
    Owner,
}

impl Need {
    fn check(self, role: Role, must_change_password: bool) -> Result<(), AppError> {
        if must_change_password && self != Need::SignedIn {
            return Err(AppError::PasswordChangeRequired);
        }
        let allowed = match self {
            Need::SignedIn | Need::Member => true,
            Need::Editor => role.can_edit(),
            Need::Owner => role.is_owner(),
        };
        if allowed {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }
}

/// How long a console session lasts without activity (`session_hours`).
#[derive(Debug, Clone, Copy)]
pub struct SessionLifetime(pub chrono::Duration);

/// Who the session cookie says is signed in, before the database has confirmed it.
pub struct Visitor {
    session: Session,
    token: Option<SessionToken>,
    workspace_id: Option<WorkspaceId>,
    lifetime: chrono::Duration,
    /// Where to come back to after signing in (GET requests only).
    next: String,
}

impl FromRequest for Visitor {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let session = req.get_session();
        let next = if req.method() == actix_web::http::Method::GET {
            req.uri()
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .unwrap_or_default()
        } else {
            String::new()
        };
        let lifetime = req
            .app_data::<web::Data<SessionLifetime>>()
            .map(|l| l.0)
            .unwrap_or_else(|| chrono::Duration::hours(24 * 7));
        std::future::ready(Ok(Visitor {
            token: session::token(&session),
            workspace_id: session::workspace_id(&session),
            session,
            lifetime,
            next,
        }))
    }
}

impl Visitor {
    /// Confirms the visitor against the database, checks `need`, then runs the read-only `f`
    /// in the same database call (`Db::read`): a page's reads cost one call, not one for the
    /// user and another for its data.
    pub async fn read<T, F>(&self, db: &Db, need: Need, f: F) -> Result<(CurrentUser, T), AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn, &CurrentUser) -> Result<T, AppError> + Send + 'static,
    {
        let login = || AppError::LoginRequired {
            next: self.next.clone(),
        };
        let token = self.token.clone().ok_or_else(login)?;
        let preferred = self.workspace_id.clone();
        let lookup = token.clone();
        let found = db
            .read(move |c| {
                let Some(u) = users::session_user(c, &lookup, preferred.as_ref())? else {
                    return Ok(None);
                };
                need.check(u.role, u.must_change_password)?;
                let expires_at = u.session_expires_at;
                let user = CurrentUser {
                    user_id: u.user_id,
                    email: u.email,
                    workspace_id: u.workspace_id,
                    workspace_name: u.workspace_name,
                    role: u.role,
                    session: lookup,
                    time_zone: u.time_zone,
                };
                let value = f(c, &user)?;
                Ok::<_, AppError>(Some((user, value, expires_at)))
            })
            .await?;
        let Some((user, value, expires_at)) = found else {
            // Signed out elsewhere, expired, or no longer a member anywhere.
            session::sign_out(&self.session);
            return Err(login());
        };
        // "Without activity": a session in use moves its end, at most once an hour (one small
        // write an hour per browser, not one per request).
        let until = crate::store::now() + self.lifetime;
        if until - expires_at > chrono::Duration::hours(1) {
            db.run(move |c| sessions::extend(c, &token, until)).await?;
        }
        if self.workspace_id.as_ref() != Some(&user.workspace_id) {
            session::set_workspace(&self.session, &user.workspace_id);
        }
        Ok((user, value))
    }
}

impl Visitor {
    /// A read-only page: the visitor confirmed, `load` run in the same database call, and the
    /// page `build` makes from its answer rendered (200).
    pub async fn page<T, P, F, B>(
        &self,
        db: &Db,
        need: Need,
        load: F,
        build: B,
    ) -> Result<HttpResponse, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn, &CurrentUser) -> Result<T, AppError> + Send + 'static,
        P: Template,
        B: FnOnce(Layout, T) -> P,
    {
        let (user, data) = self.read(db, need, load).await?;
        render(
            StatusCode::OK,
            &build(Layout::new(&self.session, &user), data),
        )
    }

    /// A list page any member may read: one store query over the workspace.
    pub async fn listing<T, P, B>(
        &self,
        db: &Db,
        list: fn(&mut DbConn, &WorkspaceId) -> StoreResult<T>,
        build: B,
    ) -> Result<HttpResponse, AppError>
    where
        T: Send + 'static,
        P: Template,
        B: FnOnce(Layout, T) -> P,
    {
        let load = move |c: &mut DbConn, user: &CurrentUser| Ok(list(c, &user.workspace_id)?);
        self.page(db, Need::Member, load, build).await
    }
}

impl Visitor {
    /// The signed-in user, or None on pages anyone may open (invitation links).
    pub async fn optional(&self, db: &Db) -> Result<Option<CurrentUser>, AppError> {
        if self.token.is_none() {
            return Ok(None);
        }
        match self.read(db, Need::SignedIn, |_, _| Ok(())).await {
            Ok((user, ())) => Ok(Some(user)),
            Err(AppError::LoginRequired { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

pub(super) async fn load(req: HttpRequest, need: Need) -> Result<CurrentUser, AppError> {
    let db = req
        .app_data::<web::Data<Db>>()
        .cloned()
        .ok_or_else(|| AppError::Other(anyhow::anyhow!("no database")))?;
    let visitor = Visitor::extract(&req).await?;
    visitor
        .read(&db, need, |_, _| Ok(()))
        .await
        .map(|(user, ())| user)
}

type Extracted<T> = Pin<Box<dyn Future<Output = Result<T, AppError>>>>;

impl FromRequest for CurrentUser {
    type Error = AppError;
    type Future = Extracted<Self>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(load(req.clone(), Need::Member))
    }
}

#[derive(Template)]
#[template(path = "auth/login.html")]
pub struct LoginPage {
    pub layout: Layout,
    pub email: String,
    pub next: String,
    pub error: Option<String>,
    pub notice: Option<&'static str>,
}

#[derive(Deserialize)]
pub struct LoginQuery {
    #[serde(default)]
    next: String,
    #[serde(default)]
    signed_out: Option<String>,
}

/// Where to go after signing in: `next` only when, read the way a browser reads it, it stays
/// on this site; anything else goes home. Browsers drop tabs and newlines from URLs and read
/// `\` as `/`, so `/\t/evil.example` is `//evil.example`, another host: the URL parser does the
/// same normalisation, and only what it keeps on our origin is followed. The returned path is
/// the parser's own serialisation, so it is always a valid `Location` header.
pub fn safe_next(next: &str) -> String {
    const HOME: &str = "/";
    // A reserved name (RFC 2606) stands in for our origin: only relative references keep it.
    let Ok(base) = url::Url::parse("http://herald.invalid/") else {
        return HOME.into();
    };
    if !next.starts_with('/') || next.chars().any(char::is_control) {
        return HOME.into();
    }
    match base.join(next) {
        Ok(u) if u.origin() == base.origin() && u.path() != "/" => match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_string(),
        },
        _ => HOME.into(),
    }
}

pub async fn login_form(
    db: web::Data<Db>,
    session: Session,
    q: web::Query<LoginQuery>,
) -> Result<HttpResponse, AppError> {
    if db.run(users::count).await? == 0 {
        return Ok(see_other("/setup"));
    }
    if session::token(&session).is_some() {
        return Ok(see_other(&safe_next(&q.next)));
    }
    let page = LoginPage {
        layout: Layout::public(&session),
        email: String::new(),
        next: q.next.clone(),
        error: None,
        notice: q.signed_out.as_ref().map(|_| "You are signed out."),
    };
    render(StatusCode::OK, &page)
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

/// The throttle key: attempts count per client address and account, so one attacker cannot
/// lock everyone out of an account from elsewhere, and cannot guess without limit either.
fn throttle_key(req: &HttpRequest, email: &str) -> String {
    let ip = super::client_ip::client_ip(req)
        .map(|ip| ip.to_string())
        .unwrap_or_default();
    format!("{ip}|{}", email.trim().to_lowercase())
}

fn user_agent(req: &HttpRequest) -> String {
    req.headers()
        .get(actix_web::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

fn lifetime(req: &HttpRequest) -> chrono::Duration {
    req.app_data::<web::Data<SessionLifetime>>()
        .map(|l| l.0)
        .unwrap_or_else(|| chrono::Duration::hours(24 * 7))
}

/// Starts a server-side session for `user` and puts its token in the cookie. None when the
/// user belongs to no workspace (the session is not kept then).
pub async fn start_session(
    req: &HttpRequest,
    db: &Db,
    session: &Session,
    user: UserId,
) -> Result<Option<users::SessionUser>, AppError> {
    let started = sign_in::start_session(db, user, user_agent(req), lifetime(req)).await?;
    Ok(started.map(|s| {
        session::sign_in(session, &s.token, &s.user.workspace_id);
        s.user
    }))
}

pub async fn login(
    req: HttpRequest,
    db: web::Data<Db>,
    session: Session,
    CheckedForm { form, refused }: CheckedForm<LoginForm>,
) -> Result<HttpResponse, AppError> {
    if !refused.is_empty() {
        let error = super::csrf::CONTROL_CHARACTER.replace("This field", "The email or password");
        return refused_sign_in(&session, form, StatusCode::UNPROCESSABLE_ENTITY, error);
    }
    let attempt = sign_in::Attempting {
        throttle_key: throttle_key(&req, &form.email),
        email: &form.email,
        password: &form.password,
        user_agent: user_agent(&req),
        lifetime: lifetime(&req),
    };
    let (status, message) = match sign_in::sign_in(&db, attempt).await? {
        SignIn::SignedIn(started) => {
            session::sign_in(&session, &started.token, &started.user.workspace_id);
            let forced = started.user.must_change_password;
            let to = if forced {
                "/account/password".into()
            } else {
                safe_next(&form.next)
            };
            return Ok(see_other(&to));
        }
        refused => refusal(refused),
    };
    refused_sign_in(&session, form, status, message)
}

/// The sign-in page again, with what was typed (not the password) and why it did not sign in.
fn refused_sign_in(
    session: &Session,
    form: LoginForm,
    status: StatusCode,
    error: String,
) -> Result<HttpResponse, AppError> {
    let (email, next, error) = (form.email, form.next, Some(error));
    let page = LoginPage {
        layout: Layout::public(session),
        email,
        next,
        error,
        notice: None,
    };
    render(status, &page)
}

/// What the sign-in page says when it does not sign in.
fn refusal(answer: SignIn) -> (StatusCode, String) {
    match answer {
        SignIn::Throttled(retry) => (
            StatusCode::TOO_MANY_REQUESTS,
            format!("Too many failed sign-ins. {retry}"),
        ),
        SignIn::WrongPassword => (StatusCode::UNAUTHORIZED, "Wrong email or password.".into()),
        SignIn::NoWorkspace => (
            StatusCode::FORBIDDEN,
            "This account belongs to no workspace. Ask an owner to invite you.".into(),
        ),
        SignIn::SignedIn(_) => (StatusCode::OK, String::new()),
    }
}

/// Ends this session on the server too, so a copy of the cookie no longer signs anyone in.
pub async fn logout(
    db: web::Data<Db>,
    session: Session,
    _: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    if let Some(token) = session::token(&session) {
        db.run(move |c| sessions::delete(c, &token)).await?;
    }
    session::sign_out(&session);
    Ok(see_other("/login?signed_out=1"))
}

/// The account page: the password form and the browsers signed in to this account.
#[derive(Template)]
#[template(path = "auth/password.html")]
pub struct PasswordPage {
    pub layout: Layout,
    pub forced: bool,
    pub errors: FieldErrors,
    pub sessions: Vec<sessions::SessionInfo>,
}

impl PasswordPage {
    pub fn others(&self) -> usize {
        self.sessions.iter().filter(|s| !s.current).count()
    }
}

async fn account_page(
    console: &Console<form::SignedIn>,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let (stored, list) = console
        .run(move |c, user| {
            let stored = users::get(c, &user.user_id)?;
            Ok::<_, AppError>((stored, sessions::list(c, &user.user_id, &user.session)?))
        })
        .await?;
    render(
        status,
        &PasswordPage {
            layout: console.layout(),
            forced: stored.must_change_password,
            errors,
            sessions: list,
        },
    )
}

pub async fn password_form(console: Console<form::SignedIn>) -> Result<HttpResponse, AppError> {
    account_page(&console, FieldErrors::default(), StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    confirm: String,
}

/// A new password ends every other session of the account (whoever else had it is out).
pub async fn change_password(
    console: Console<form::SignedIn>,
    CheckedForm { form, refused }: CheckedForm<PasswordForm>,
) -> Result<HttpResponse, AppError> {
    if !refused.is_empty() {
        return account_page(&console, refused, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let user = &console.user;
    let typed = sign_in::PasswordForm {
        current: &form.current,
        new: &form.new,
        confirm: &form.confirm,
    };
    let changed = sign_in::change_password(&console.db, &user.user_id, &user.session, typed);
    let (status, errors) = match changed.await? {
        PasswordChange::Changed { ended } => {
            let done = signed_out_message("Your password is changed.", ended);
            return Ok(console.done(done, "/"));
        }
        PasswordChange::Throttled(retry) => (
            StatusCode::TOO_MANY_REQUESTS,
            FieldErrors::one("current", format!("Too many wrong passwords. {retry}")),
        ),
        PasswordChange::Refused(problems) => (StatusCode::UNPROCESSABLE_ENTITY, problems.into()),
    };
    account_page(&console, errors, status).await
}

/// "Sign out other sessions" on the account page.
pub async fn sign_out_others(
    console: Console<form::SignedIn>,
    _: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let ended = console
        .run(move |c, user| sessions::delete_others(c, &user.user_id, &user.session))
        .await?;
    Ok(console.done(signed_out_message("", ended), "/account"))
}

fn signed_out_message(before: &str, ended: usize) -> String {
    let what = match ended {
        0 => "No other session was signed in.".to_string(),
        1 => "1 other session is signed out.".to_string(),
        n => format!("{n} other sessions are signed out."),
    };
    if before.is_empty() {
        what
    } else {
        format!("{before} {what}")
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next("/contacts/new"), "/contacts/new");
        assert_eq!(
            safe_next("/contacts?q=ana&page=2"),
            "/contacts?q=ana&page=2"
        );
        assert_eq!(safe_next("/a/../groups"), "/groups");
        for foreign in [
            "//evil.example/",
            "/\t/evil.example",
            "/\\evil.example",
            "/\t\\evil.example",
            "/\n/evil.example",
            "https://evil.example/",
            "evil.example",
            "/\u{b}",
            "/\r\nSet-Cookie: x=1",
            "",
            "/",
        ] {
            assert_eq!(safe_next(foreign), "/", "{foreign:?}");
        }
        // What is followed is always a valid Location header.
        assert_eq!(safe_next("/contacts?q=a b"), "/contacts?q=a%20b");
    }
}
