//! Contacts › More › Contact Default Configuration: the workspace's fallback method for
//! contacts that say "use default".

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::auth::{CurrentUser, Editor};
use super::csrf::CsrfForm;
use super::layout::{FieldErrors, Layout, render};
use super::session::{self, Level};
use crate::domain::DefaultFallback;
use crate::error::{AppError, see_other};
use crate::store::{Db, workspaces};

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
pub async fn show(
    db: web::Data<Db>,
    session: Session,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    let ws = user.workspace_id.clone();
    let workspace = db.run(move |c| workspaces::get(c, &ws)).await?;
    let page = DefaultsPage {
        layout: Layout::new(&session, &user),
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
    db: web::Data<Db>,
    session: Session,
    Editor(user): Editor,
    CsrfForm(form): CsrfForm<DefaultsForm>,
) -> Result<HttpResponse, AppError> {
    let fallback = match DefaultFallback::parse(&form.fallback) {
        Ok(f) => f,
        Err(e) => {
            let mut errors = FieldErrors::default();
            errors.add("fallback", e);
            let page = DefaultsPage {
                layout: Layout::new(&session, &user),
                current: form.fallback,
                errors,
            };
            return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let ws = user.workspace_id.clone();
    db.run(move |c| workspaces::set_default_fallback(c, &ws, fallback))
        .await?;
    session::flash(
        &session,
        Level::Success,
        format!("Default fallback method set to {}.", fallback.label()),
    );
    Ok(see_other("/contacts"))
}
