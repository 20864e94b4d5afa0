//! Contacts › More › Contact Default Configuration: the workspace's fallback method for
//! contacts that say "use default".

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use askama::Template;
use serde::Deserialize;

use super::csrf::CsrfForm;
use super::form::{Console, Members};
use super::layout::{FieldErrors, Layout, render};
use super::session::Level;
use crate::domain::DefaultFallback;
use crate::error::{AppError, see_other};
use crate::store::workspaces;

#[derive(Template)]
#[template(path = "contacts/defaults.html")]
pub struct DefaultsPage {
    pub layout: Layout,
    pub current: String,
    pub errors: FieldErrors,
}

impl DefaultsPage {
    pub fn choices(&self) -> &'static [DefaultFallback] {
        DefaultFallback::ALL
    }
}

/// More › Contact Default Configuration: the workspace's fallback for "use default".
pub async fn show(console: Console<Members>) -> Result<HttpResponse, AppError> {
    let workspace = console
        .run(move |c, user| workspaces::get(c, &user.workspace_id))
        .await?;
    let page = DefaultsPage {
        layout: console.layout(),
        current: workspace.default_fallback,
        errors: FieldErrors::default(),
    };
    render(StatusCode::OK, &page)
}

#[derive(Deserialize)]
pub struct DefaultsForm {
    #[serde(default)]
    fallback: String,
}

pub async fn save(
    console: Console,
    CsrfForm(form): CsrfForm<DefaultsForm>,
) -> Result<HttpResponse, AppError> {
    let fallback = match DefaultFallback::parse(&form.fallback) {
        Ok(f) => f,
        Err(e) => {
            let mut errors = FieldErrors::default();
            errors.add("fallback", e);
            let page = DefaultsPage {
                layout: console.layout(),
                current: form.fallback,
                errors,
            };
            return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    console
        .run(move |c, user| {
            workspaces::set_default_fallback(c, &user.workspace_id, &user.email, fallback)
        })
        .await?;
    console.flash(
        Level::Success,
        format!("Default fallback method set to {}.", fallback.label()),
    );
    Ok(see_other("/contacts"))
}
