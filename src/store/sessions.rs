//! Console sessions, kept server-side. The cookie (signed and encrypted) carries a random
//! token; the row holds only its SHA-256, so a database dump signs nobody in. Every console
//! request reads the row with the visitor (`users::session_user`), so deleting it — sign-out,
//! "Sign out other sessions", a password change — ends every copy of the cookie at once.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::schema::user_sessions;
use super::{DbConn, StoreResult, UserId, now};

/// What is kept of a browser's description of itself, to tell sessions apart on the account
/// page.
const USER_AGENT_MAX: usize = 160;

pub use crate::domain::session_token::SessionToken;

/// One signed-in browser, as its owner sees it on the account page.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub user_agent: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub current: bool,
}

/// Starts a session for `user` that lasts `ttl` without activity; drops the user's expired
/// sessions on the way, so the table stays as small as the number of live browsers.
pub fn create(
    conn: &mut DbConn,
    user: &UserId,
    user_agent: &str,
    ttl: Duration,
) -> StoreResult<SessionToken> {
    let token = SessionToken::generate();
    let at = now();
    let agent: String = user_agent
        .chars()
        .filter(|c| !c.is_control())
        .take(USER_AGENT_MAX)
        .collect();
    diesel::delete(
        user_sessions::table
            .filter(user_sessions::user_id.eq(user))
            .filter(user_sessions::expires_at.le(at)),
    )
    .execute(conn)?;
    diesel::insert_into(user_sessions::table)
        .values((
            user_sessions::id.eq(token.hash()),
            user_sessions::user_id.eq(user),
            user_sessions::user_agent.eq(agent),
            user_sessions::created_at.eq(at),
            user_sessions::expires_at.eq(at + ttl),
        ))
        .execute(conn)?;
    Ok(token)
}

/// The filter every lookup of a live session uses.
pub(super) fn live(token: &SessionToken) -> (String, NaiveDateTime) {
    (token.hash(), now())
}

/// Moves the end of a session that is in use.
pub fn extend(conn: &mut DbConn, token: &SessionToken, until: NaiveDateTime) -> StoreResult<()> {
    diesel::update(user_sessions::table.find(token.hash()))
        .set(user_sessions::expires_at.eq(until))
        .execute(conn)?;
    Ok(())
}

/// Sign-out: this session ends, wherever its cookie has been copied to.
pub fn delete(conn: &mut DbConn, token: &SessionToken) -> StoreResult<()> {
    diesel::delete(user_sessions::table.find(token.hash())).execute(conn)?;
    Ok(())
}

/// Ends every session of `user` except `keep`; returns how many ended.
pub fn delete_others(conn: &mut DbConn, user: &UserId, keep: &SessionToken) -> StoreResult<usize> {
    Ok(diesel::delete(
        user_sessions::table
            .filter(user_sessions::user_id.eq(user))
            .filter(user_sessions::id.ne(keep.hash())),
    )
    .execute(conn)?)
}

/// The user's live sessions, newest first.
pub fn list(
    conn: &mut DbConn,
    user: &UserId,
    current: &SessionToken,
) -> StoreResult<Vec<SessionInfo>> {
    let mine = current.hash();
    let rows: Vec<(String, String, NaiveDateTime, NaiveDateTime)> = user_sessions::table
        .filter(user_sessions::user_id.eq(user))
        .filter(user_sessions::expires_at.gt(now()))
        .order(user_sessions::created_at.desc())
        .select((
            user_sessions::id,
            user_sessions::user_agent,
            user_sessions::created_at,
            user_sessions::expires_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, user_agent, created_at, expires_at)| SessionInfo {
            user_agent,
            created_at,
            expires_at,
            current: id == mine,
        })
        .collect())
}
