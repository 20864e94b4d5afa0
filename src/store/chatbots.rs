//! Chatbots (DingTalk, Lark, WeCom, Slack group robots).

use diesel::prelude::*;

use super::named::{SaveError, unique_name};
use super::schema::chatbots;
use super::{ChatbotId, DbConn, StoreError, StoreResult, UserId, WorkspaceId, now};
use crate::domain::Platform;
use crate::domain::policy::Target;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = chatbots)]
pub struct Chatbot {
    pub id: ChatbotId,
    pub platform: Platform,
    pub name: String,
    pub webhook_url: String,
    pub secret: Option<String>,
    pub keyword: Option<String>,
    pub daily_stats: bool,
    pub daily_stats_times: String,
    pub card_template: String,
}

/// A chatbot as the form saves it. `secret: None` keeps the stored one (the form never shows
/// it); `clear_secret` removes it.
#[derive(Debug, Clone)]
pub struct ChatbotInput {
    pub platform: Platform,
    pub name: String,
    pub webhook_url: String,
    pub secret: Option<String>,
    pub clear_secret: bool,
    pub keyword: Option<String>,
    pub daily_stats: bool,
    pub daily_stats_times: String,
    pub card_template: String,
}

super::named::named_object_queries!(chatbots, Chatbot, ChatbotId, Target::Chatbot);

pub fn save(
    conn: &mut DbConn,
    ws: &WorkspaceId,
    user: &UserId,
    id: Option<&ChatbotId>,
    input: &ChatbotInput,
) -> Result<ChatbotId, SaveError> {
    let name = input.name.as_str();
    let result = super::write_transaction(conn, |c| {
        if name_taken(c, ws, name, id)? {
            return Err(SaveError::taken("chatbot", name));
        }
        let at = now();
        match id {
            Some(id) => {
                let current = get(c, ws, id)?;
                let secret = if input.clear_secret {
                    None
                } else {
                    input.secret.clone().or(current.secret)
                };
                diesel::update(
                    chatbots::table
                        .filter(chatbots::workspace_id.eq(ws))
                        .filter(chatbots::id.eq(id)),
                )
                .set((
                    chatbots::platform.eq(input.platform.code()),
                    chatbots::name.eq(name),
                    chatbots::name_key.eq(name.to_lowercase()),
                    chatbots::webhook_url.eq(&input.webhook_url),
                    chatbots::secret.eq(secret),
                    chatbots::keyword.eq(&input.keyword),
                    chatbots::daily_stats.eq(input.daily_stats),
                    chatbots::daily_stats_times.eq(&input.daily_stats_times),
                    chatbots::card_template.eq(&input.card_template),
                    chatbots::updated_at.eq(at),
                ))
                .execute(c)?;
                Ok(id.clone())
            }
            None => {
                let id = ChatbotId::new();
                diesel::insert_into(chatbots::table)
                    .values((
                        chatbots::id.eq(&id),
                        chatbots::workspace_id.eq(ws),
                        chatbots::platform.eq(input.platform.code()),
                        chatbots::name.eq(name),
                        chatbots::name_key.eq(name.to_lowercase()),
                        chatbots::webhook_url.eq(&input.webhook_url),
                        chatbots::secret.eq(&input.secret),
                        chatbots::keyword.eq(&input.keyword),
                        chatbots::daily_stats.eq(input.daily_stats),
                        chatbots::daily_stats_times.eq(&input.daily_stats_times),
                        chatbots::card_template.eq(&input.card_template),
                        chatbots::created_by.eq(Some(user)),
                        chatbots::created_at.eq(at),
                        chatbots::updated_at.eq(at),
                    ))
                    .execute(c)?;
                Ok(id)
            }
        }
    });
    unique_name("chatbot", name, result)
}
