//! What the console keeps in its (signed, encrypted) session cookie: the session token (whose
//! row in the database says who is signed in, `store::sessions`), the current workspace, the
//! CSRF token and a few pending flash messages. Nothing else.

use actix_session::Session;
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::store::WorkspaceId;
use crate::store::sessions::SessionToken;

const TOKEN: &str = "sid";
const WORKSPACE: &str = "ws";
const CSRF: &str = "csrf";
const FLASH: &str = "flash";

pub fn token(session: &Session) -> Option<SessionToken> {
    session.get::<SessionToken>(TOKEN).ok().flatten()
}

pub fn workspace_id(session: &Session) -> Option<WorkspaceId> {
    session.get::<WorkspaceId>(WORKSPACE).ok().flatten()
}

pub fn set_workspace(session: &Session, ws: &WorkspaceId) {
    let _ = session.insert(WORKSPACE, ws);
}

/// Starts a signed-in session with fresh state, so nothing from before login carries over.
pub fn sign_in(session: &Session, token: &SessionToken, ws: &WorkspaceId) {
    // clear + renew, not purge: a purged session drops whatever is inserted afterwards.
    session.clear();
    session.renew();
    let _ = session.insert(TOKEN, token);
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

/// The session lives in a cookie, which browsers cap at 4 KB: flashes are bounded so that no
/// message, and no pile of them from POSTs whose redirects were never followed, can make the
/// cookie too large after the change it reports was committed.
const FLASH_KEEP: usize = 3;
const FLASH_MESSAGE_BYTES: usize = 400;

/// Queues a message for the next page shown (POST → 303 → GET). Only the newest
/// [`FLASH_KEEP`] are kept, each cut to [`FLASH_MESSAGE_BYTES`].
pub fn flash(session: &Session, level: Level, message: impl Into<String>) {
    let mut all = session
        .get::<Vec<Flash>>(FLASH)
        .ok()
        .flatten()
        .unwrap_or_default();
    all.push(Flash {
        level,
        message: shorten(message.into(), FLASH_MESSAGE_BYTES),
    });
    let extra = all.len().saturating_sub(FLASH_KEEP);
    all.drain(..extra);
    let _ = session.insert(FLASH, all);
}

/// `message` cut at a character boundary to at most `max` bytes, with "…" when cut.
fn shorten(mut message: String, max: usize) -> String {
    if message.len() <= max {
        return message;
    }
    let ellipsis = '…';
    let mut end = max - ellipsis.len_utf8();
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    message.truncate(end);
    message.push(ellipsis);
    message
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

#[cfg(test)]
mod tests {
    use super::shorten;

    #[test]
    fn long_messages_are_cut_between_characters() {
        assert_eq!(shorten("short".into(), 400), "short");
        let cjk = "策略".repeat(300);
        let cut = shorten(cjk, 400);
        assert!(cut.len() <= 400, "{}", cut.len());
        assert!(cut.ends_with('…'));
        assert!(cut.starts_with("策略策略"));
    }
}
