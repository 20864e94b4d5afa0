//! Members of the current workspace: owners invite people and change roles.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::auth::{CurrentUser, Owner};
use super::csrf::{CsrfForm, NoFields};
use super::layout::{FieldErrors, Layout, render};
use super::session::{self, Level};
use crate::domain::{EmailAddress, Role};
use crate::error::{AppError, see_other};
use crate::passwords;
use crate::store::users::{self, Invited, Member, MemberError};
use crate::store::{Db, StoreError, UserId};

#[derive(Template)]
#[template(path = "members/index.html")]
pub struct IndexPage {
    pub layout: Layout,
    pub me: UserId,
    pub members: Vec<Member>,
    pub form: InviteForm,
    pub errors: FieldErrors,
    /// Shown once, right after inviting someone new; never stored in clear.
    pub one_time: Option<(String, String)>,
}

impl IndexPage {
    pub fn roles(&self) -> &'static [Role] {
        Role::ALL
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct InviteForm {
    pub email: String,
    pub role: String,
}

async fn page(
    db: &Db,
    session: &Session,
    user: &CurrentUser,
    form: InviteForm,
    errors: FieldErrors,
    one_time: Option<(String, String)>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let ws = user.workspace_id.clone();
    let members = db.run(move |c| users::members(c, &ws)).await?;
    let page = IndexPage {
        layout: Layout::new(session, user),
        me: user.user_id.clone(),
        members,
        form,
        errors,
        one_time,
    };
    render(status, &page)
}

pub async fn index(
    db: web::Data<Db>,
    session: Session,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    let form = InviteForm {
        email: String::new(),
        role: Role::Admin.code().into(),
    };
    page(
        &db,
        &session,
        &user,
        form,
        FieldErrors::default(),
        None,
        StatusCode::OK,
    )
    .await
}

fn member_error(e: MemberError) -> Result<String, AppError> {
    match e {
        MemberError::Store(StoreError::NotFound) => Err(AppError::NotFound),
        MemberError::Store(e) => Err(e.into()),
        other => Ok(other.to_string()),
    }
}

pub async fn invite(
    db: web::Data<Db>,
    session: Session,
    Owner(user): Owner,
    CsrfForm(form): CsrfForm<InviteForm>,
) -> Result<HttpResponse, AppError> {
    let mut errors = FieldErrors::default();
    let email = EmailAddress::parse(&form.email)
        .map_err(|e| errors.add("email", e.to_string()))
        .ok();
    let role = Role::parse(&form.role)
        .map_err(|e| errors.add("role", e))
        .ok();
    let (Some(email), Some(role)) = (email, role) else {
        return page(
            &db,
            &session,
            &user,
            form,
            errors,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let password = passwords::one_time();
    let hash = passwords::hash_off_thread(&password).await?;
    let ws = user.workspace_id.clone();
    let invited_email = email.clone();
    match db
        .run(move |c| users::invite(c, &ws, &invited_email, role, || hash))
        .await
    {
        Ok(Invited::NewUser) => {
            tracing::info!("member invited with a new account");
            let form = InviteForm {
                email: String::new(),
                role: role.code().into(),
            };
            page(
                &db,
                &session,
                &user,
                form,
                FieldErrors::default(),
                Some((email.to_string(), password)),
                StatusCode::OK,
            )
            .await
        }
        Ok(Invited::ExistingUser) => {
            session::flash(
                &session,
                Level::Success,
                format!("{email} can now use this workspace as {}.", role.label()),
            );
            Ok(see_other("/members"))
        }
        Err(e) => {
            errors.add("email", member_error(e)?);
            page(
                &db,
                &session,
                &user,
                form,
                errors,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

#[derive(Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
}

fn parse_user(raw: &str) -> Result<UserId, AppError> {
    UserId::parse(raw).ok_or(AppError::NotFound)
}

pub async fn set_role(
    db: web::Data<Db>,
    session: Session,
    Owner(user): Owner,
    path: web::Path<String>,
    CsrfForm(form): CsrfForm<RoleForm>,
) -> Result<HttpResponse, AppError> {
    let target = parse_user(&path)?;
    let role = Role::parse(&form.role).map_err(|e| AppError::BadRequest(e.into()))?;
    let ws = user.workspace_id.clone();
    match db
        .run(move |c| users::set_role(c, &ws, &target, role))
        .await
    {
        Ok(()) => session::flash(
            &session,
            Level::Success,
            format!("Role changed to {}.", role.label()),
        ),
        Err(e) => session::flash(&session, Level::Error, member_error(e)?),
    }
    Ok(see_other("/members"))
}

pub async fn remove(
    db: web::Data<Db>,
    session: Session,
    Owner(user): Owner,
    path: web::Path<String>,
    _: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let target = parse_user(&path)?;
    let ws = user.workspace_id.clone();
    match db.run(move |c| users::remove_member(c, &ws, &target)).await {
        Ok(()) => session::flash(&session, Level::Success, "Member removed."),
        Err(e) => session::flash(&session, Level::Error, member_error(e)?),
    }
    Ok(see_other("/members"))
}
