//! Settings › API tokens: the tokens senders present to the ingest APIs. Owners and admins
//! make and revoke them; viewers see the list. A token is shown once, on the page that made it.

use actix_web::HttpResponse;
use askama::Template;
use serde::Deserialize;

use super::csrf::{CheckedForm, CsrfForm, NoFields};
use super::form::{self, Console, Editing, FormScreen, Members, PathId, Scope};
use super::layout::{FieldErrors, Layout};
use crate::domain::ObjectName;
use crate::error::AppError;
use crate::store::api_tokens::{self, ApiTokenRow};
use crate::store::{ApiTokenId, StoreResult};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TokenForm {
    pub name: String,
}

/// A token just made: its name and the token itself, shown this once.
pub struct Created {
    pub name: String,
    pub token: String,
}

#[derive(Template)]
#[template(path = "api_tokens/index.html")]
pub struct IndexPage {
    pub layout: Layout,
    pub form: TokenForm,
    pub errors: FieldErrors,
    pub tokens: Vec<ApiTokenRow>,
    pub created: Option<Created>,
}

impl IndexPage {
    pub fn when(&self, t: Option<&chrono::NaiveDateTime>) -> String {
        t.map(|t| self.layout.minute(t))
            .unwrap_or_else(|| "never".into())
    }
}

impl FormScreen for IndexPage {
    type Form = TokenForm;
    type Choices = Vec<ApiTokenRow>;

    fn choices(s: Scope<'_>, _: Option<&str>) -> StoreResult<Vec<ApiTokenRow>> {
        api_tokens::list(s.c, s.ws)
    }

    fn build(layout: Layout, editing: Editing<TokenForm>, tokens: Vec<ApiTokenRow>) -> Self {
        let (_, form, errors) = editing.into_parts();
        IndexPage {
            layout,
            form,
            errors,
            tokens,
            created: None,
        }
    }
}

pub async fn index(console: Console<Members>) -> Result<HttpResponse, AppError> {
    console
        .form::<IndexPage>(Editing::new(TokenForm::default()))
        .await
}

/// Makes a token and shows it on this answer only (never in a flash: that is a cookie).
pub async fn create(
    console: Console,
    CheckedForm { form, refused }: CheckedForm<TokenForm>,
) -> Result<HttpResponse, AppError> {
    let parsed = ObjectName::parse(&form.name).map_err(|e| FieldErrors::one("name", e));
    let name = match form::checked::<IndexPage, _>(refused, parsed) {
        Ok(name) => name.as_str().to_string(),
        Err(errors) => {
            return console
                .form::<IndexPage>(Editing::new(form).with_errors(errors))
                .await;
        }
    };
    let n = name.clone();
    let token = console
        .run(move |c, user| api_tokens::create(c, &user.workspace_id, &n, &user.user_id))
        .await?;
    tracing::info!(hint = %token.hint(), "API token created");
    let created = Created {
        name,
        token: token.expose().to_string(),
    };
    console
        .form_with::<IndexPage>(Editing::new(TokenForm::default()), |page| {
            page.created = Some(created)
        })
        .await
}

pub async fn revoke(
    console: Console,
    PathId(id): PathId<ApiTokenId>,
    _: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let name = console
        .run(move |c, user| api_tokens::revoke(c, &user.workspace_id, &id))
        .await?;
    Ok(console.done(
        format!("API token “{name}” revoked: requests with it are refused from now on."),
        "/api-tokens",
    ))
}
