//! Notification Objects › Contact Groups: list (members shown by expanding a row), create,
//! edit, delete. A group a policy uses cannot be deleted; only its creator or an owner may.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::auth::{CurrentUser, Editor, Need, Visitor};
use super::csrf::{CsrfForm, NoFields};
use super::layout::{FieldErrors, Layout, quoted, render};
use super::session::{self, Level};
use crate::domain::ObjectName;
use crate::error::{AppError, see_other};
use crate::store::contacts::{self, Contact};
use crate::store::groups::{self, DeleteError, Group, SaveError};
use crate::store::{ContactId, Db, GroupId, StoreError};

#[derive(Template)]
#[template(path = "groups/index.html")]
pub struct IndexPage {
    pub layout: Layout,
    pub groups: Vec<Group>,
}

pub async fn index(
    db: web::Data<Db>,
    session: Session,
    visitor: Visitor,
) -> Result<HttpResponse, AppError> {
    let (user, groups) = visitor
        .read(&db, Need::Member, |c, user| {
            Ok(groups::list(c, &user.workspace_id)?)
        })
        .await?;
    render(
        StatusCode::OK,
        &IndexPage {
            layout: Layout::new(&session, &user),
            groups,
        },
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct GroupForm {
    pub name: String,
    pub members: Vec<String>,
}

#[derive(Template)]
#[template(path = "groups/form.html")]
pub struct FormPage {
    pub layout: Layout,
    pub group_id: Option<GroupId>,
    pub form: GroupForm,
    pub errors: FieldErrors,
    pub contacts: Vec<Contact>,
}

impl FormPage {
    pub fn action(&self) -> String {
        match &self.group_id {
            Some(id) => format!("/groups/{id}"),
            None => "/groups".into(),
        }
    }

    pub fn checked(&self, id: &ContactId) -> bool {
        self.form.members.iter().any(|m| m == id.as_str())
    }
}

async fn form_page(
    db: &Db,
    session: &Session,
    user: &CurrentUser,
    group_id: Option<GroupId>,
    form: GroupForm,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let ws = user.workspace_id.clone();
    let index = db.contact_index();
    let contacts = db
        .run(move |c| contacts::all_matching(c, &index, &ws, ""))
        .await?;
    render(
        status,
        &FormPage {
            layout: Layout::new(session, user),
            group_id,
            form,
            errors,
            contacts,
        },
    )
}

pub async fn new(
    db: web::Data<Db>,
    session: Session,
    Editor(user): Editor,
) -> Result<HttpResponse, AppError> {
    form_page(
        &db,
        &session,
        &user,
        None,
        GroupForm::default(),
        FieldErrors::default(),
        StatusCode::OK,
    )
    .await
}

fn parse_id(raw: &str) -> Result<GroupId, AppError> {
    GroupId::parse(raw).ok_or(AppError::NotFound)
}

pub async fn edit(
    db: web::Data<Db>,
    session: Session,
    Editor(user): Editor,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path)?;
    let (ws, lookup) = (user.workspace_id.clone(), id.clone());
    let group = db.run(move |c| groups::get(c, &ws, &lookup)).await?;
    let form = GroupForm {
        name: group.name.clone(),
        members: group.members.iter().map(|m| m.id.to_string()).collect(),
    };
    form_page(
        &db,
        &session,
        &user,
        Some(id),
        form,
        FieldErrors::default(),
        StatusCode::OK,
    )
    .await
}

pub async fn create(
    db: web::Data<Db>,
    session: Session,
    Editor(user): Editor,
    CsrfForm(form): CsrfForm<GroupForm>,
) -> Result<HttpResponse, AppError> {
    save(&db, &session, &user, None, form).await
}

pub async fn update(
    db: web::Data<Db>,
    session: Session,
    Editor(user): Editor,
    path: web::Path<String>,
    CsrfForm(form): CsrfForm<GroupForm>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path)?;
    let (ws, lookup) = (user.workspace_id.clone(), id.clone());
    db.run(move |c| groups::get(c, &ws, &lookup)).await?;
    save(&db, &session, &user, Some(id), form).await
}

async fn save(
    db: &Db,
    session: &Session,
    user: &CurrentUser,
    id: Option<GroupId>,
    form: GroupForm,
) -> Result<HttpResponse, AppError> {
    let mut errors = FieldErrors::default();
    let name = ObjectName::parse(&form.name)
        .map_err(|e| errors.add("name", e))
        .ok();
    let members: Option<Vec<ContactId>> =
        form.members.iter().map(|m| ContactId::parse(m)).collect();
    if members.is_none() {
        errors.add("members", SaveError::UnknownMember.to_string());
    }
    let (Some(name), Some(members)) = (name, members) else {
        return form_page(
            db,
            session,
            user,
            id,
            form,
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let (ws, who, target, saved_name) = (
        user.workspace_id.clone(),
        user.user_id.clone(),
        id.clone(),
        name.clone(),
    );
    let result = db
        .run(move |c| match &target {
            Some(id) => groups::update(c, &ws, id, &saved_name, &members),
            None => groups::create(c, &ws, &who, &saved_name, &members).map(|_| ()),
        })
        .await;
    match result {
        Ok(()) => {
            let verb = if id.is_some() { "saved" } else { "created" };
            session::flash(
                session,
                Level::Success,
                format!("Group “{}” {verb}.", name.as_str()),
            );
            Ok(see_other("/groups"))
        }
        Err(SaveError::Store(e)) => Err(e.into()),
        Err(e @ SaveError::NameTaken(_)) => {
            errors.add("name", e.to_string());
            form_page(
                db,
                session,
                user,
                id,
                form,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e @ SaveError::UnknownMember) => {
            errors.add("members", e.to_string());
            form_page(
                db,
                session,
                user,
                id,
                form,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

#[derive(Template)]
#[template(path = "groups/delete.html")]
pub struct DeletePage {
    pub layout: Layout,
    pub group: Group,
    /// Policies that use the group: while any do, it cannot be deleted.
    pub used_by: Vec<String>,
    pub may_delete: bool,
}

/// The creator of a group, or an owner, may delete it.
fn may_delete(user: &CurrentUser, group: &Group) -> bool {
    user.role.is_owner() || group.created_by.as_ref() == Some(&user.user_id)
}

pub async fn confirm_delete(
    db: web::Data<Db>,
    session: Session,
    Editor(user): Editor,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path)?;
    let ws = user.workspace_id.clone();
    let (group, used_by) = db
        .run(move |c| {
            let group = groups::get(c, &ws, &id)?;
            let used = groups::used_by_policies(c, &ws, "group", id.as_str())?;
            Ok::<_, StoreError>((group, used))
        })
        .await?;
    let may = may_delete(&user, &group);
    render(
        StatusCode::OK,
        &DeletePage {
            layout: Layout::new(&session, &user),
            group,
            used_by,
            may_delete: may,
        },
    )
}

pub async fn delete(
    db: web::Data<Db>,
    session: Session,
    Editor(user): Editor,
    path: web::Path<String>,
    _: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path)?;
    let (ws, lookup) = (user.workspace_id.clone(), id.clone());
    let group = db.run(move |c| groups::get(c, &ws, &lookup)).await?;
    if !may_delete(&user, &group) {
        return Err(AppError::Forbidden);
    }
    let ws = user.workspace_id.clone();
    match db.run(move |c| groups::delete(c, &ws, &id)).await {
        Ok(()) => {
            session::flash(
                &session,
                Level::Success,
                format!("Group “{}” deleted.", group.name),
            );
        }
        Err(DeleteError::InUse(policies)) => {
            session::flash(
                &session,
                Level::Error,
                format!(
                    "Group “{}” is used by the notification policies {}: remove it from them first.",
                    group.name,
                    quoted(&policies)
                ),
            );
        }
        Err(DeleteError::Store(e)) => return Err(e.into()),
    }
    Ok(see_other("/groups"))
}
