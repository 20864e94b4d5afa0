//! API tokens: made, listed, revoked by the console; looked up by the ingest APIs.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::api_tokens;
use super::{ApiTokenId, DbConn, StoreError, StoreResult, UserId, WorkspaceId, now};
use crate::domain::api_token::ApiToken;

/// A token as the console lists it: never the token itself.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_tokens)]
pub struct ApiTokenRow {
    pub id: ApiTokenId,
    pub name: String,
    pub hint: String,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
}

/// `last_used_at` is written at most this often per token: a busy sender must not turn every
/// alert into a write.
const LAST_USED_EVERY_SECS: i64 = 60;

pub fn list(conn: &mut DbConn, ws: &WorkspaceId) -> StoreResult<Vec<ApiTokenRow>> {
    Ok(api_tokens::table
        .filter(api_tokens::workspace_id.eq(ws))
        .order((api_tokens::created_at.desc(), api_tokens::id.desc()))
        .select(ApiTokenRow::as_select())
        .load(conn)?)
}

/// A new token for the workspace; the answer is the only time the token itself exists.
pub fn create(
    conn: &mut DbConn,
    ws: &WorkspaceId,
    name: &str,
    by: &UserId,
) -> StoreResult<ApiToken> {
    let token = ApiToken::generate();
    diesel::insert_into(api_tokens::table)
        .values((
            api_tokens::id.eq(ApiTokenId::new()),
            api_tokens::workspace_id.eq(ws),
            api_tokens::name.eq(name),
            api_tokens::token_hash.eq(token.hash()),
            api_tokens::hint.eq(token.hint()),
            api_tokens::created_by.eq(Some(by)),
            api_tokens::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(token)
}

/// Revokes the token at once; answers its name.
pub fn revoke(conn: &mut DbConn, ws: &WorkspaceId, id: &ApiTokenId) -> StoreResult<String> {
    super::write_transaction(conn, |c| {
        let name: String = api_tokens::table
            .filter(api_tokens::workspace_id.eq(ws))
            .filter(api_tokens::id.eq(id))
            .select(api_tokens::name)
            .first(c)?;
        diesel::delete(api_tokens::table.filter(api_tokens::id.eq(id))).execute(c)?;
        Ok::<_, StoreError>(name)
    })
}

/// The workspace a presented token belongs to; None for an unknown or revoked one.
pub fn authenticate(conn: &mut DbConn, token: &ApiToken) -> StoreResult<Option<WorkspaceId>> {
    let hash = token.hash();
    let found: Option<(ApiTokenId, WorkspaceId, Option<NaiveDateTime>)> = api_tokens::table
        .filter(api_tokens::token_hash.eq(&hash))
        .select((
            api_tokens::id,
            api_tokens::workspace_id,
            api_tokens::last_used_at,
        ))
        .first(conn)
        .optional()?;
    let Some((id, ws, last_used)) = found else {
        return Ok(None);
    };
    let at = now();
    if last_used.is_none_or(|t| (at - t).num_seconds() >= LAST_USED_EVERY_SECS) {
        diesel::update(api_tokens::table.filter(api_tokens::id.eq(&id)))
            .set(api_tokens::last_used_at.eq(Some(at)))
            .execute(conn)?;
    }
    Ok(Some(ws))
}
