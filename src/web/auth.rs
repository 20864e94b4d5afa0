//! Who is asking: the extractors every console handler takes, and the sign-in pages.

use std::future::Future;
use std::pin::Pin;

use actix_session::{Session, SessionExt};
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::csrf::{CsrfForm, NoFields};
use super::layout::{FieldErrors, Layout, render};
use super::session::{self, Level};
use crate::domain::{NewPassword, Role};
use crate::error::{AppError, see_other};
use crate::passwords;
use crate::store::{Db, DbConn, UserId, WorkspaceId, login_throttle, users};

/// A signed-in user in their current workspace.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub user_id: UserId,
    pub email: String,
    pub workspace_id: WorkspaceId,
    pub workspace_name: String,
    pub role: Role,
}

/// A signed-in user whose role may change objects (owner or admin). Viewers get 403.
pub struct Editor(pub CurrentUser);

/// A signed-in owner of the current workspace.
pub struct Owner(pub CurrentUser);

/// Signed in, even with a one-time password still to replace (the password page itself).
pub struct SignedIn(pub CurrentUser);

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

/// Who the session cookie says is signed in, before the database has confirmed it.
pub struct Visitor {
    session: Session,
    user_id: Option<UserId>,
    workspace_id: Option<WorkspaceId>,
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
        std::future::ready(Ok(Visitor {
            user_id: session::user_id(&session),
            workspace_id: session::workspace_id(&session),
            session,
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
        let uid = self.user_id.clone().ok_or_else(login)?;
        let preferred = self.workspace_id.clone();
        let found = db
            .read(move |c| {
                let Some(u) = users::session_user(c, &uid, preferred.as_ref())? else {
                    return Ok(None);
                };
                need.check(u.role, u.must_change_password)?;
                let user = CurrentUser {
                    user_id: u.user_id,
                    email: u.email,
                    workspace_id: u.workspace_id,
                    workspace_name: u.workspace_name,
                    role: u.role,
                };
                let value = f(c, &user)?;
                Ok::<_, AppError>(Some((user, value)))
            })
            .await?;
        let Some((user, value)) = found else {
            session::sign_out(&self.session);
            return Err(login());
        };
        if self.workspace_id.as_ref() != Some(&user.workspace_id) {
            session::set_workspace(&self.session, &user.workspace_id);
        }
        Ok((user, value))
    }
}

async fn load(req: HttpRequest, need: Need) -> Result<CurrentUser, AppError> {
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

impl FromRequest for SignedIn {
    type Error = AppError;
    type Future = Extracted<Self>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { load(req, Need::SignedIn).await.map(SignedIn) })
    }
}

impl FromRequest for Editor {
    type Error = AppError;
    type Future = Extracted<Self>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { load(req, Need::Editor).await.map(Editor) })
    }
}

impl FromRequest for Owner {
    type Error = AppError;
    type Future = Extracted<Self>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { load(req, Need::Owner).await.map(Owner) })
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

/// Only local paths are followed after login, so a crafted link cannot send people elsewhere.
fn safe_next(next: &str) -> &str {
    let local = next.starts_with('/') && !next.starts_with("//") && !next.starts_with("/\\");
    if local { next } else { "/contacts" }
}

pub async fn login_form(
    db: web::Data<Db>,
    session: Session,
    q: web::Query<LoginQuery>,
) -> Result<HttpResponse, AppError> {
    if db.run(users::count).await? == 0 {
        return Ok(see_other("/setup"));
    }
    if session::user_id(&session).is_some() {
        return Ok(see_other(safe_next(&q.next)));
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

/// The throttle key: failures count per client address and account, so one attacker cannot
/// lock everyone out of an account from elsewhere, and cannot guess without limit either.
fn throttle_key(req: &HttpRequest, email: &str) -> String {
    let ip = super::client_ip::client_ip(req)
        .map(|ip| ip.to_string())
        .unwrap_or_default();
    format!("{ip}|{}", email.trim().to_lowercase())
}

pub async fn login(
    req: HttpRequest,
    db: web::Data<Db>,
    session: Session,
    CsrfForm(form): CsrfForm<LoginForm>,
) -> Result<HttpResponse, AppError> {
    let key = throttle_key(&req, &form.email);
    let refuse = |status: StatusCode, message: String| {
        let page = LoginPage {
            layout: Layout::public(&session),
            email: form.email.clone(),
            next: form.next.clone(),
            error: Some(message),
            notice: None,
        };
        render(status, &page)
    };

    let k = key.clone();
    if let Some(until) = db.run(move |c| login_throttle::locked_until(c, &k)).await? {
        let minutes = ((until - crate::store::now()).num_seconds() + 59) / 60;
        return refuse(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "Too many failed sign-ins. Try again in {} minute{}.",
                minutes,
                if minutes == 1 { "" } else { "s" }
            ),
        );
    }

    let email = form.email.clone();
    let user = db.run(move |c| users::find_by_email(c, &email)).await?;
    let password = form.password.clone();
    let ok = web::block(move || match user {
        Some(u) if passwords::verify(&password, &u.password_hash) => Some(u),
        Some(_) => None,
        None => {
            passwords::verify_dummy(&password);
            None
        }
    })
    .await
    .map_err(|e| AppError::Other(e.into()))?;

    let Some(user) = ok else {
        let k = key.clone();
        db.run(move |c| login_throttle::record_failure(c, &k))
            .await?;
        tracing::info!("failed sign-in");
        return refuse(StatusCode::UNAUTHORIZED, "Wrong email or password.".into());
    };

    let uid = user.id.clone();
    let found = db
        .run(move |c| {
            login_throttle::clear(c, &key)?;
            users::session_user(c, &uid, None)
        })
        .await?;
    let Some(su) = found else {
        return refuse(
            StatusCode::FORBIDDEN,
            "This account belongs to no workspace. Ask an owner to invite you.".into(),
        );
    };
    session::sign_in(&session, &su.user_id, &su.workspace_id);
    tracing::info!(user = %su.user_id, "signed in");
    if su.must_change_password {
        return Ok(see_other("/account/password"));
    }
    Ok(see_other(safe_next(&form.next)))
}

pub async fn logout(session: Session, _: CsrfForm<NoFields>) -> HttpResponse {
    session::sign_out(&session);
    see_other("/login?signed_out=1")
}

#[derive(Template)]
#[template(path = "auth/password.html")]
pub struct PasswordPage {
    pub layout: Layout,
    pub forced: bool,
    pub errors: FieldErrors,
}

pub async fn password_form(
    session: Session,
    SignedIn(user): SignedIn,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    let forced = must_change(&db, &user).await?;
    render(
        StatusCode::OK,
        &PasswordPage {
            layout: Layout::new(&session, &user),
            forced,
            errors: FieldErrors::default(),
        },
    )
}

async fn must_change(db: &Db, user: &CurrentUser) -> Result<bool, AppError> {
    let uid = user.user_id.clone();
    Ok(db
        .run(move |c| users::get(c, &uid))
        .await?
        .must_change_password)
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

pub async fn change_password(
    session: Session,
    SignedIn(user): SignedIn,
    db: web::Data<Db>,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> Result<HttpResponse, AppError> {
    let uid = user.user_id.clone();
    let stored = db.run(move |c| users::get(c, &uid)).await?;
    let mut errors = FieldErrors::default();
    let current = form.current.clone();
    let hash = stored.password_hash.clone();
    let current_ok = web::block(move || passwords::verify(&current, &hash))
        .await
        .map_err(|e| AppError::Other(e.into()))?;
    if !current_ok {
        errors.add("current", "This is not your current password.");
    }
    let new = match NewPassword::parse(&form.new) {
        Ok(p) => Some(p),
        Err(e) => {
            errors.add("new", e);
            None
        }
    };
    if form.new != form.confirm {
        errors.add("confirm", "The two new passwords differ.");
    }
    let Some(new) = new.filter(|_| errors.is_empty()) else {
        let page = PasswordPage {
            layout: Layout::new(&session, &user),
            forced: stored.must_change_password,
            errors,
        };
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    let hash = passwords::hash_off_thread(new.expose()).await?;
    let uid = user.user_id.clone();
    db.run(move |c| users::set_password(c, &uid, &hash)).await?;
    session::flash(&session, Level::Success, "Your password is changed.");
    Ok(see_other("/contacts"))
}
