//! Workspaces: the ones I belong to, switching between them, creating a new one.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::auth::CurrentUser;
use super::csrf::{CsrfForm, NoFields};
use super::layout::{FieldErrors, Layout, render};
use super::session::{self, Level};
use crate::error::{AppError, see_other};
use crate::store::invitations::{self, Invitation};
use crate::store::workspaces::{self, MyWorkspace};
use crate::store::{Db, WorkspaceId};

#[derive(Template)]
#[template(path = "workspaces/index.html")]
pub struct IndexPage {
    pub layout: Layout,
    pub current: WorkspaceId,
    pub workspaces: Vec<MyWorkspace>,
    pub invitations: Vec<Invitation>,
    pub name: String,
    pub errors: FieldErrors,
}

async fn page(
    db: &Db,
    session: &Session,
    user: &CurrentUser,
    name: String,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let (uid, email) = (user.user_id.clone(), user.email.clone());
    let (list, invitations) = db
        .run(move |c| {
            Ok::<_, AppError>((
                workspaces::list_for_user(c, &uid)?,
                invitations::for_email(c, &email)?,
            ))
        })
        .await?;
    let page = IndexPage {
        layout: Layout::new(session, user),
        current: user.workspace_id.clone(),
        workspaces: list,
        invitations,
        name,
        errors,
    };
    render(status, &page)
}

pub async fn index(
    db: web::Data<Db>,
    session: Session,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    page(
        &db,
        &session,
        &user,
        String::new(),
        FieldErrors::default(),
        StatusCode::OK,
    )
    .await
}

#[derive(Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    name: String,
}

/// Any signed-in user may start a workspace of their own and becomes its owner.
pub async fn create(
    db: web::Data<Db>,
    session: Session,
    user: CurrentUser,
    CsrfForm(form): CsrfForm<CreateForm>,
) -> Result<HttpResponse, AppError> {
    let name = match workspaces::parse_name(&form.name) {
        Ok(n) => n,
        Err(e) => {
            let mut errors = FieldErrors::default();
            errors.add("name", e);
            return page(
                &db,
                &session,
                &user,
                form.name,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let uid = user.user_id.clone();
    let n = name.clone();
    let ws = db
        .run(move |c| {
            use diesel::Connection;
            c.transaction(|c| workspaces::create(c, &n, &uid))
        })
        .await?;
    session::set_workspace(&session, &ws);
    session::flash(
        &session,
        Level::Success,
        format!("Workspace “{name}” created; you are its owner."),
    );
    Ok(see_other("/contacts"))
}

pub async fn switch(
    session: Session,
    user: CurrentUser,
    db: web::Data<Db>,
    path: web::Path<String>,
    _: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let ws = WorkspaceId::parse(&path).ok_or(AppError::NotFound)?;
    let uid = user.user_id.clone();
    let mine = db.run(move |c| workspaces::list_for_user(c, &uid)).await?;
    let Some(target) = mine.into_iter().find(|w| w.id == ws) else {
        return Err(AppError::NotFound);
    };
    session::set_workspace(&session, &target.id);
    session::flash(
        &session,
        Level::Success,
        format!("Switched to workspace “{}”.", target.name),
    );
    Ok(see_other("/contacts"))
}
