//! Workspaces: the ones I belong to, switching between them, creating a new one.

use actix_web::HttpResponse;
use askama::Template;
use serde::Deserialize;

use super::csrf::{CheckedForm, CsrfForm, NoFields};
use super::form::{self, Console, Editing, FormScreen, Members, PathId, Scope};
use super::layout::{FieldErrors, Layout};
use super::session;
use crate::error::AppError;
use crate::store::invitations::{self, Invitation};
use crate::store::workspaces::{self, MyWorkspace};
use crate::store::{StoreResult, WorkspaceId};

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

impl FormScreen for IndexPage {
    type Form = CreateForm;
    /// The current workspace, mine, and invitations waiting for me.
    type Choices = (WorkspaceId, Vec<MyWorkspace>, Vec<Invitation>);

    fn choices(s: Scope<'_>, _: Option<&str>) -> StoreResult<Self::Choices> {
        let mine = workspaces::list_for_user(s.c, &s.user.user_id)?;
        let invited = invitations::for_email(s.c, &s.user.email)?;
        Ok((s.ws.clone(), mine, invited))
    }

    fn build(
        layout: Layout,
        editing: Editing<CreateForm>,
        (current, workspaces, invitations): Self::Choices,
    ) -> Self {
        let (_, form, errors) = editing.into_parts();
        IndexPage {
            layout,
            current,
            workspaces,
            invitations,
            name: form.name,
            errors,
        }
    }
}

pub async fn index(console: Console<Members>) -> Result<HttpResponse, AppError> {
    console
        .form::<IndexPage>(Editing::new(CreateForm::default()))
        .await
}

#[derive(Debug, Default, Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    name: String,
}

/// Any signed-in user may start a workspace of their own and becomes its owner.
pub async fn create(
    console: Console<Members>,
    CheckedForm { form, refused }: CheckedForm<CreateForm>,
) -> Result<HttpResponse, AppError> {
    let parsed = workspaces::parse_name(&form.name).map_err(|e| FieldErrors::one("name", e));
    let name = match form::checked::<IndexPage, _>(refused, parsed) {
        Ok(n) => n,
        Err(errors) => {
            return console
                .form::<IndexPage>(Editing::new(form).with_errors(errors))
                .await;
        }
    };
    let n = name.clone();
    let ws = console
        .run(move |c, user| workspaces::create(c, &n, &user.user_id))
        .await?;
    session::set_workspace(&console.session, &ws);
    Ok(console.done(
        format!("Workspace “{name}” created; you are its owner."),
        "/",
    ))
}

pub async fn switch(
    console: Console<Members>,
    PathId(ws): PathId<WorkspaceId>,
    _: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let mine = console
        .run(move |c, user| workspaces::list_for_user(c, &user.user_id))
        .await?;
    let target = mine
        .into_iter()
        .find(|w| w.id == ws)
        .ok_or(AppError::NotFound)?;
    session::set_workspace(&console.session, &target.id);
    Ok(console.done(format!("Switched to workspace “{}”.", target.name), "/"))
}
