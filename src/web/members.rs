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
use crate::channels::Email;
use crate::domain::{EmailAddress, Role};
use crate::error::{AppError, see_other};
use crate::store::invitations::{self, Invitation, InviteError};
use crate::store::users::{self, Member, MemberError};
use crate::store::{Db, StoreError, UserId};
use crate::verification::Verifications;

#[derive(Template)]
#[template(path = "members/index.html")]
pub struct IndexPage {
    pub layout: Layout,
    pub me: UserId,
    pub members: Vec<Member>,
    pub invitations: Vec<Invitation>,
    pub form: InviteForm,
    pub errors: FieldErrors,
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
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let ws = user.workspace_id.clone();
    let (members, invitations) = db
        .run(move |c| {
            Ok::<_, AppError>((users::members(c, &ws)?, invitations::for_workspace(c, &ws)?))
        })
        .await?;
    let page = IndexPage {
        layout: Layout::new(session, user),
        me: user.user_id.clone(),
        members,
        invitations,
        form,
        errors,
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

/// Invites an email address. Whether it has an account or not, the inviter sees the same:
/// an invitation sent by email and listed as open until it is answered.
pub async fn invite(
    db: web::Data<Db>,
    session: Session,
    verifications: web::Data<Verifications>,
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
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let (ws, to, by) = (
        user.workspace_id.clone(),
        email.clone(),
        user.user_id.clone(),
    );
    let token = match db
        .run(move |c| invitations::create(c, &ws, &to, role, &by))
        .await
    {
        Ok(token) => token,
        Err(InviteError::AlreadyMember(who)) => {
            errors.add("email", InviteError::AlreadyMember(who).to_string());
            return page(
                &db,
                &session,
                &user,
                form,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
        Err(e) => return Err(AppError::Other(e.into())),
    };
    let message = Email {
        workspace_id: Some(user.workspace_id.clone()),
        to: email.clone(),
        subject: format!("Invitation to {} on Herald", user.workspace_name),
        text: format!(
            "{} invites you to the Herald workspace “{}” as {}.\n\n\
             Open this link to accept or decline (valid for {} days):\n{}/invite/{token}\n\n\
             If you did not expect this, ignore this email.\n",
            user.email,
            user.workspace_name,
            role.label(),
            invitations::VALID_DAYS,
            verifications.base_url(),
        ),
    };
    if let Err(failure) = verifications.providers().email.send_email(&message).await {
        tracing::warn!(error = %failure, "invitation email not sent");
        let (ws, to) = (user.workspace_id.clone(), email.clone());
        db.run(move |c| invitations::withdraw(c, &ws, to.as_str()))
            .await?;
        errors.add(
            "email",
            format!(
                "The invitation email could not be sent ({failure}). Nothing was kept; try again."
            ),
        );
        return page(&db, &session, &user, form, errors, StatusCode::BAD_GATEWAY).await;
    }
    tracing::info!("invitation sent");
    session::flash(
        &session,
        Level::Success,
        format!(
            "Invitation sent to {email}. They join as {} when they accept it.",
            role.label()
        ),
    );
    Ok(see_other("/members"))
}

pub async fn revoke(
    db: web::Data<Db>,
    session: Session,
    Owner(user): Owner,
    path: web::Path<String>,
    _: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let (ws, id) = (user.workspace_id.clone(), path.into_inner());
    db.run(move |c| invitations::revoke(c, &ws, &id)).await?;
    session::flash(&session, Level::Success, "Invitation withdrawn.");
    Ok(see_other("/members"))
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
