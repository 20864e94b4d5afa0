//! Webhook integrations.

use diesel::prelude::*;

use super::named::{SaveError, unique_name};
use super::schema::webhooks;
use super::{DbConn, StoreError, StoreResult, UserId, WebhookId, WorkspaceId, now};
use crate::domain::policy::Target;
use crate::domain::webhook::{Method, Pairs, WebhookInput};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhooks)]
pub struct Webhook {
    pub id: WebhookId,
    pub name: String,
    pub method: Method,
    pub url: String,
    pub headers: Pairs,
    pub template: String,
    pub resolve_template: String,
}

impl Webhook {
    pub fn method(&self) -> Method {
        self.method
    }

    /// Headers (POST) or query parameters (GET).
    pub fn pairs(&self) -> Vec<(String, String)> {
        self.headers.0.clone()
    }
}

super::named::named_object_queries!(webhooks, Webhook, WebhookId, Target::Webhook);

/// Creates (`id` None) or updates a webhook.
pub fn save(
    conn: &mut DbConn,
    ws: &WorkspaceId,
    user: &UserId,
    id: Option<&WebhookId>,
    input: &WebhookInput,
) -> Result<WebhookId, SaveError> {
    let name = input.name.as_str();
    let headers = Pairs(input.pairs.clone()).to_json();
    let result = super::write_transaction(conn, |c| {
        if name_taken(c, ws, name, id)? {
            return Err(SaveError::taken("webhook", name));
        }
        let at = now();
        // What both a new and a saved webhook write.
        let fields = (
            webhooks::name.eq(name),
            webhooks::name_key.eq(name.to_lowercase()),
            webhooks::method.eq(input.method.code()),
            webhooks::url.eq(&input.url),
            webhooks::headers.eq(&headers),
            webhooks::template.eq(&input.template),
            webhooks::resolve_template.eq(&input.resolve_template),
            webhooks::updated_at.eq(at),
        );
        match id {
            Some(id) => {
                let n = diesel::update(
                    webhooks::table
                        .filter(webhooks::workspace_id.eq(ws))
                        .filter(webhooks::id.eq(id)),
                )
                .set(fields)
                .execute(c)?;
                if n == 0 {
                    return Err(SaveError::Store(StoreError::NotFound));
                }
                Ok(id.clone())
            }
            None => {
                let id = WebhookId::new();
                diesel::insert_into(webhooks::table)
                    .values((
                        webhooks::id.eq(&id),
                        webhooks::workspace_id.eq(ws),
                        webhooks::created_by.eq(Some(user)),
                        webhooks::created_at.eq(at),
                        fields,
                    ))
                    .execute(c)?;
                Ok(id)
            }
        }
    });
    unique_name("webhook", name, result)
}
