//! What the console keeps in its (signed, encrypted) session cookie: the user id, the current
//! workspace, the CSRF token and pending flash messages. Nothing else.

use actix_session::Session;
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::store::{UserId, WorkspaceId};

const USER: &str = "uid";
const WORKSPACE: &str = "ws";
const CSRF: &str = "csrf";
const FLASH: &str = "flash";

pub fn user_id(session: &Session) -> Option<UserId> {
    session.get::<UserId>(USER).ok().flatten()
}

pub fn workspace_id(session: &Session) -> Option<WorkspaceId> {
    session.get::<WorkspaceId>(WORKSPACE).ok().flatten()
}

pub fn set_workspace(session: &Session, ws: &WorkspaceId) {
    let _ = session.insert(WORKSPACE, ws);
}

/// Starts a signed-in session with fresh state, so nothing from before login carries over.
pub fn sign_in(session: &Session, user: &UserId, ws: &WorkspaceId) {
    // clear + renew, not purge: a purged session drops whatever is inserted afterwards.
    session.clear();
    session.renew();
    let _ = session.insert(USER, user);
    let _ = session.insert(WORKSPACE, ws);
    let _ = session.insert(CSRF, new_token());
}

pub fn sign_out(session: &Session) {
    session.purge();
}

fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The session's CSRF token, created on first use.
pub fn csrf_token(session: &Session) -> String {
    if let Ok(Some(t)) = session.get::<String>(CSRF) {
        return t;
    }
    let t = new_token();
    let _ = session.insert(CSRF, &t);
    t
}

pub fn csrf_matches(session: &Session, submitted: &str) -> bool {
    use subtle::ConstantTimeEq;
    match session.get::<String>(CSRF) {
        Ok(Some(expected)) => {
            !submitted.is_empty() && bool::from(expected.as_bytes().ct_eq(submitted.as_bytes()))
        }
        _ => false,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Level {
    Success,
    Info,
    Error,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flash {
    pub level: Level,
    pub message: String,
}

impl Flash {
    pub fn css(&self) -> &'static str {
        match self.level {
            Level::Success => "flash flash-success",
            Level::Info => "flash flash-info",
            Level::Error => "flash flash-error",
        }
    }
}

/// Queues a message for the next page shown (POST → 303 → GET).
pub fn flash(session: &Session, level: Level, message: impl Into<String>) {
    let mut all = session
        .get::<Vec<Flash>>(FLASH)
        .ok()
        .flatten()
        .unwrap_or_default();
    all.push(Flash {
        level,
        message: message.into(),
    });
    let _ = session.insert(FLASH, all);
}

/// Reads and clears the queued messages.
pub fn take_flashes(session: &Session) -> Vec<Flash> {
    // Only touch the session when there is something to take: any `remove` marks it changed,
    // and a changed session is re-encrypted into a new cookie on the response.
    match session.get::<Vec<Flash>>(FLASH) {
        Ok(Some(all)) => {
            session.remove(FLASH);
            all
        }
        _ => Vec::new(),
    }
}
