//! Signing in and changing a password. Every password guess is counted before it is checked
//! (one atomic upsert per guess, so parallel guesses cannot slip past the limit), and the
//! check costs the same time whether or not the account exists.

use crate::domain::ids::UserId;
use crate::domain::{NewPassword, Problems};
use crate::passwords;
use crate::store::login_throttle::{self, Attempt};
use crate::store::sessions::{self, SessionToken};
use crate::store::users::{self, SessionUser, User};
use crate::store::{Db, DbError, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("password hashing failed: {0}")]
    Hashing(String),
}

impl From<DbError> for AuthError {
    fn from(e: DbError) -> Self {
        AuthError::Store(e.into())
    }
}

/// A server-side session just started.
pub struct Started {
    pub token: SessionToken,
    pub user: SessionUser,
}

pub enum SignIn {
    SignedIn(Started),
    /// Too many failed guesses for this key; the sentence says when to try again.
    Throttled(String),
    WrongPassword,
    /// The password is right but the account belongs to no workspace.
    NoWorkspace,
}

/// Who signs in from where: the throttle key (client address and email), the browser's
/// description for the sessions list, and how long the session lasts.
pub struct Attempting<'a> {
    pub throttle_key: String,
    pub email: &'a str,
    pub password: &'a str,
    pub user_agent: String,
    pub lifetime: chrono::Duration,
}

pub async fn sign_in(db: &Db, a: Attempting<'_>) -> Result<SignIn, AuthError> {
    if let Some(retry) = guess_refused(db, a.throttle_key.clone()).await? {
        return Ok(SignIn::Throttled(retry));
    }
    let Some(user) = account_with_password(db, a.email, a.password).await? else {
        tracing::info!("failed sign-in");
        return Ok(SignIn::WrongPassword);
    };
    let key = a.throttle_key;
    db.run(move |c| login_throttle::clear(c, &key)).await?;
    match start_session(db, user.id, a.user_agent, a.lifetime).await? {
        Some(started) => {
            tracing::info!(user = %started.user.user_id, "signed in");
            Ok(SignIn::SignedIn(started))
        }
        None => Ok(SignIn::NoWorkspace),
    }
}

/// A new server-side session for `user`; None (and nothing kept) when the user belongs to no
/// workspace.
pub async fn start_session(
    db: &Db,
    user: UserId,
    user_agent: String,
    lifetime: chrono::Duration,
) -> Result<Option<Started>, AuthError> {
    Ok(db
        .run(move |c| {
            let token = sessions::create(c, &user, &user_agent, lifetime)?;
            let found = users::session_user(c, &token, None)?;
            if found.is_none() {
                sessions::delete(c, &token)?;
            }
            Ok::<_, StoreError>(found.map(|user| Started { token, user }))
        })
        .await?)
}

/// The account with `email` when `password` is its password. Costs the same time whether or
/// not the account exists, so timing does not tell.
pub async fn account_with_password(
    db: &Db,
    email: &str,
    password: &str,
) -> Result<Option<User>, AuthError> {
    let email = email.to_string();
    let user = db.run(move |c| users::find_by_email(c, &email)).await?;
    let password = password.to_string();
    tokio::task::spawn_blocking(move || match user {
        Some(u) if passwords::verify(&password, &u.password_hash) => Some(u),
        Some(_) => None,
        None => {
            passwords::verify_dummy(&password);
            None
        }
    })
    .await
    .map_err(|e| AuthError::Hashing(e.to_string()))
}

/// Counts a password guess under `key` before it is checked; Some(when to retry) if refused.
async fn guess_refused(db: &Db, key: String) -> Result<Option<String>, AuthError> {
    match db
        .run(move |c| login_throttle::take_attempt(c, &key))
        .await?
    {
        Attempt::Allowed => Ok(None),
        Attempt::Locked { until } => Ok(Some(Attempt::retry_message(until))),
    }
}

pub enum PasswordChange {
    /// Changed; this many other sessions of the account were ended.
    Changed {
        ended: usize,
    },
    /// Too many wrong current passwords (the field is a password guess too).
    Throttled(String),
    Refused(Problems),
}

/// The typed passwords of the change form.
pub struct PasswordForm<'a> {
    pub current: &'a str,
    pub new: &'a str,
    pub confirm: &'a str,
}

/// A new password ends every other session of the account (whoever else had it is out).
pub async fn change_password(
    db: &Db,
    user: &UserId,
    keep: &SessionToken,
    form: PasswordForm<'_>,
) -> Result<PasswordChange, AuthError> {
    let key = format!("password-change|{user}");
    if let Some(retry) = guess_refused(db, key.clone()).await? {
        return Ok(PasswordChange::Throttled(retry));
    }
    let uid = user.clone();
    let stored = db.run(move |c| users::get(c, &uid)).await?;
    let current = form.current.to_string();
    let current_ok =
        tokio::task::spawn_blocking(move || passwords::verify(&current, &stored.password_hash))
            .await
            .map_err(|e| AuthError::Hashing(e.to_string()))?;
    let mut problems = Problems::new();
    if !current_ok {
        problems.push(("current", "This is not your current password.".into()));
    }
    let new = NewPassword::parse(form.new)
        .map_err(|e| problems.push(("new", e.to_string())))
        .ok();
    if form.new != form.confirm {
        problems.push(("confirm", "The two new passwords differ.".into()));
    }
    let Some(new) = new.filter(|_| problems.is_empty()) else {
        return Ok(PasswordChange::Refused(problems));
    };
    let hash = passwords::hash_off_thread(new.expose())
        .await
        .map_err(|e| AuthError::Hashing(e.to_string()))?;
    let (uid, keep) = (user.clone(), keep.clone());
    let ended = db
        .run(move |c| {
            let ended = users::replace_password(c, &uid, &hash, &keep)?;
            login_throttle::clear(c, &key)?;
            Ok::<_, StoreError>(ended)
        })
        .await?;
    tracing::info!(%user, ended, "password changed; other sessions ended");
    Ok(PasswordChange::Changed { ended })
}

/// The first owner and their workspace, while no account exists; None when someone finished
/// setup meanwhile (their account stands).
pub async fn first_owner(
    db: &Db,
    email: crate::domain::EmailAddress,
    password: NewPassword,
    workspace: String,
) -> Result<Option<UserId>, AuthError> {
    let hash = passwords::hash_off_thread(password.expose())
        .await
        .map_err(|e| AuthError::Hashing(e.to_string()))?;
    let created = db
        .run(move |c| users::create_first_owner(c, &email, &hash, &workspace))
        .await?;
    if let Some((user, _)) = &created {
        tracing::info!(%user, "first owner created");
    }
    Ok(created.map(|(user, _)| user))
}
