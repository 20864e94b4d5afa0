//! Chatbots' bind links and the codes sent from them.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{bind_codes, chatbots, contacts, workspaces};
use super::{ChatbotId, ContactId, DbConn, StoreError, StoreResult, WorkspaceId};
use crate::domain::bind_link::{self, CODE_VALID};
use crate::domain::{Language, PhoneNumber, Platform};

const KEY_NAME: &str = "bind_link_key";

/// The server key bind-link tokens are derived from, made on first use.
pub fn key(c: &mut DbConn) -> StoreResult<String> {
    super::secrets::get_or_create(c, KEY_NAME, || {
        bind_link::token_hash(&crate::domain::LinkToken::generate().to_string())
    })
}

/// The bot's current link token. The first time, its hash is stored so the link finds the bot.
pub fn token_of(c: &mut DbConn, key: &str, bot: &ChatbotId) -> StoreResult<String> {
    let (generation, stored): (i32, Option<String>) = chatbots::table
        .filter(chatbots::id.eq(bot))
        .select((chatbots::bind_generation, chatbots::bind_token_hash))
        .first(c)?;
    let token = bind_link::token(key, bot, generation);
    let hash = bind_link::token_hash(&token);
    if stored.as_deref() != Some(hash.as_str()) {
        diesel::update(chatbots::table.filter(chatbots::id.eq(bot)))
            .set(chatbots::bind_token_hash.eq(&hash))
            .execute(c)?;
    }
    Ok(token)
}

/// A new link for the bot; every link shown before stops working.
pub fn rotate(c: &mut DbConn, ws: &WorkspaceId, bot: &ChatbotId) -> StoreResult<String> {
    let key = key(c)?;
    super::write_transaction(c, |c| {
        let n = diesel::update(
            chatbots::table
                .filter(chatbots::id.eq(bot))
                .filter(chatbots::workspace_id.eq(ws)),
        )
        .set(chatbots::bind_generation.eq(chatbots::bind_generation + 1))
        .execute(c)?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        token_of(c, &key, bot)
    })
}

/// The bot a link names, with what its pages need.
#[derive(Debug, Clone)]
pub struct LinkedBot {
    pub id: ChatbotId,
    pub workspace_id: WorkspaceId,
    pub platform: Platform,
    pub name: String,
    pub default_language: Language,
}

pub fn find(c: &mut DbConn, token: &str) -> StoreResult<Option<LinkedBot>> {
    if !bind_link::is_token(token) {
        return Ok(None);
    }
    let row: Option<(ChatbotId, WorkspaceId, Platform, String, Language)> = chatbots::table
        .inner_join(workspaces::table)
        .filter(chatbots::bind_token_hash.eq(bind_link::token_hash(token)))
        .select((
            chatbots::id,
            chatbots::workspace_id,
            chatbots::platform,
            chatbots::name,
            workspaces::default_language,
        ))
        .first(c)
        .optional()?;
    Ok(row.map(
        |(id, workspace_id, platform, name, default_language)| LinkedBot {
            id,
            workspace_id,
            platform,
            name,
            default_language,
        },
    ))
}

/// When codes were sent to `phone` since `since`, newest first, from any link.
pub fn sent_since(
    c: &mut DbConn,
    phone: &PhoneNumber,
    since: NaiveDateTime,
) -> StoreResult<Vec<NaiveDateTime>> {
    Ok(bind_codes::table
        .filter(bind_codes::phone.eq(phone.as_str()))
        .filter(bind_codes::created_at.gt(since))
        .order(bind_codes::created_at.desc())
        .select(bind_codes::created_at)
        .load(c)?)
}

/// The workspace's contact with this number, with their name and language.
pub fn contact_with(
    c: &mut DbConn,
    ws: &WorkspaceId,
    phone: &PhoneNumber,
) -> StoreResult<Option<(ContactId, String, Language)>> {
    Ok(contacts::table
        .filter(contacts::workspace_id.eq(ws))
        .filter(contacts::phone.eq(phone.as_str()))
        .select((contacts::id, contacts::name, contacts::language))
        .first(c)
        .optional()?)
}

/// Stores a code (its hash) for `phone` from `bot`'s link; earlier codes for the same number
/// and bot end, so only the newest works.
pub fn add_code(
    c: &mut DbConn,
    bot: &ChatbotId,
    phone: &PhoneNumber,
    contact: Option<&ContactId>,
    code: &str,
    at: NaiveDateTime,
) -> StoreResult<()> {
    let id = uuid::Uuid::new_v4().to_string();
    diesel::update(
        bind_codes::table
            .filter(bind_codes::chatbot_id.eq(bot))
            .filter(bind_codes::phone.eq(phone.as_str()))
            .filter(bind_codes::ended_at.is_null()),
    )
    .set(bind_codes::ended_at.eq(at))
    .execute(c)?;
    diesel::insert_into(bind_codes::table)
        .values((
            bind_codes::id.eq(&id),
            bind_codes::chatbot_id.eq(bot),
            bind_codes::phone.eq(phone.as_str()),
            bind_codes::contact_id.eq(contact),
            bind_codes::code_hash.eq(bind_link::code_hash(&id, code)),
            bind_codes::created_at.eq(at),
            bind_codes::expires_at.eq(at + CODE_VALID),
            bind_codes::wrong_tries.eq(0),
        ))
        .execute(c)?;
    Ok(())
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = bind_codes)]
pub struct CodeRow {
    pub id: String,
    pub contact_id: Option<ContactId>,
    pub code_hash: String,
    pub expires_at: NaiveDateTime,
    pub wrong_tries: i32,
}

/// The newest code for `phone` from `bot`'s link that has not ended.
pub fn open_code(
    c: &mut DbConn,
    bot: &ChatbotId,
    phone: &PhoneNumber,
) -> StoreResult<Option<CodeRow>> {
    Ok(bind_codes::table
        .filter(bind_codes::chatbot_id.eq(bot))
        .filter(bind_codes::phone.eq(phone.as_str()))
        .filter(bind_codes::ended_at.is_null())
        .order(bind_codes::created_at.desc())
        .select(CodeRow::as_select())
        .first(c)
        .optional()?)
}

/// Counts a wrong code; answers the count.
pub fn wrong(c: &mut DbConn, id: &str) -> StoreResult<i32> {
    diesel::update(bind_codes::table.filter(bind_codes::id.eq(id)))
        .set(bind_codes::wrong_tries.eq(bind_codes::wrong_tries + 1))
        .execute(c)?;
    Ok(bind_codes::table
        .filter(bind_codes::id.eq(id))
        .select(bind_codes::wrong_tries)
        .first(c)?)
}

/// The code can no longer be used (used, voided or expired).
pub fn end(c: &mut DbConn, id: &str, at: NaiveDateTime) -> StoreResult<()> {
    diesel::update(bind_codes::table.filter(bind_codes::id.eq(id)))
        .set(bind_codes::ended_at.eq(at))
        .execute(c)?;
    Ok(())
}

/// The number proved to be the contact's: verified, as a one-click link would have done.
pub fn mark_verified(c: &mut DbConn, contact: &ContactId, at: NaiveDateTime) -> StoreResult<()> {
    diesel::update(
        contacts::table
            .filter(contacts::id.eq(contact))
            .filter(contacts::phone_verified_at.is_null()),
    )
    .set(contacts::phone_verified_at.eq(at))
    .execute(c)?;
    Ok(())
}
