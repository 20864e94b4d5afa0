//! Members of the current workspace: owners invite people and change roles.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::auth::CurrentUser;
use super::csrf::{CheckedForm, CsrfForm, NoFields};
use super::form::{self, Console, Editing, FormScreen, Members, Owners, PathId, Scope};
use super::layout::{FieldErrors, Layout};
use super::session::Level;
use crate::domain::{EmailAddress, Role};
use crate::error::{AppError, see_other};
use crate::store::invitations::{self, Invitation};
use crate::store::users::{self, Member, MemberError};
use crate::store::{StoreError, StoreResult, UserId};
use crate::usecases::{
    self,
    invitations::{InviteProblem, Inviter},
};
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

impl FormScreen for IndexPage {
    type Form = InviteForm;
    /// Me, the members and the open invitations.
    type Choices = (UserId, Vec<Member>, Vec<Invitation>);

    fn choices(s: Scope<'_>, _: Option<&str>) -> StoreResult<Self::Choices> {
        let me = s.user.user_id.clone();
        let members = users::members(s.c, s.ws)?;
        Ok((me, members, invitations::for_workspace(s.c, s.ws)?))
    }

    fn build(
        layout: Layout,
        editing: Editing<InviteForm>,
        (me, members, invitations): Self::Choices,
    ) -> Self {
        let (_, form, errors) = editing.into_parts();
        IndexPage {
            layout,
            me,
            members,
            invitations,
            form,
            errors,
        }
    }
}

/// Every member sees the list; owners also the invitation form.
pub async fn index(console: Console<Members>) -> Result<HttpResponse, AppError> {
    let form = InviteForm {
        email: String::new(),
        role: Role::Admin.code().into(),
    };
    console.form::<IndexPage>(Editing::new(form)).await
}

fn member_error(e: MemberError) -> Result<String, AppError> {
    match e {
        MemberError::Store(StoreError::NotFound) => Err(AppError::NotFound),
        MemberError::Store(e) => Err(e.into()),
        other => Ok(other.to_string()),
    }
}

fn parse_invite(form: &InviteForm) -> Result<(EmailAddress, Role), FieldErrors> {
    let mut errors = FieldErrors::default();
    let email = EmailAddress::parse(&form.email)
        .map_err(|e| errors.add("email", e.to_string()))
        .ok();
    let role = Role::parse(&form.role)
        .map_err(|e| errors.add("role", e))
        .ok();
    email.zip(role).ok_or(errors)
}

/// Invites an email address; a refused or unsent invitation comes back on the form.
pub async fn invite(
    console: Console<Owners>,
    verifications: web::Data<Verifications>,
    CheckedForm { form, refused }: CheckedForm<InviteForm>,
) -> Result<HttpResponse, AppError> {
    let editing = Editing::new(form);
    let (email, role) = match form::checked::<IndexPage, _>(refused, parse_invite(&editing.form)) {
        Ok(parsed) => parsed,
        Err(errors) => return console.form::<IndexPage>(editing.with_errors(errors)).await,
    };
    let by = inviter(&console.user);
    let done = format!(
        "Invitation sent to {email}. They join as {} when they accept it.",
        role.label()
    );
    match usecases::invitations::invite(&console.db, &verifications, &by, email, role).await {
        Ok(()) => Ok(console.done(done, "/members")),
        Err(e @ (InviteProblem::AlreadyMember(_) | InviteProblem::NotSent(_))) => {
            let editing = editing.with_errors(FieldErrors::one("email", e.to_string()));
            let page = console.form::<IndexPage>(editing).await?;
            // Unsent is the provider failing, not the form.
            Ok(if matches!(e, InviteProblem::NotSent(_)) {
                with_status(page, StatusCode::BAD_GATEWAY)
            } else {
                page
            })
        }
        Err(InviteProblem::Invite(e)) => Err(AppError::Other(e.into())),
        Err(InviteProblem::Store(e)) => Err(e.into()),
    }
}

fn inviter(u: &CurrentUser) -> Inviter {
    Inviter {
        workspace_id: u.workspace_id.clone(),
        workspace_name: u.workspace_name.clone(),
        user_id: u.user_id.clone(),
        email: u.email.clone(),
    }
}

fn with_status(mut page: HttpResponse, status: StatusCode) -> HttpResponse {
    *page.status_mut() = status;
    page
}

pub async fn revoke(
    console: Console<Owners>,
    path: web::Path<String>,
    _: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    console
        .run(move |c, user| invitations::revoke(c, &user.workspace_id, &id))
        .await?;
    Ok(console.done("Invitation withdrawn.", "/members"))
}

#[derive(Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
}

/// A member change done, or refused with the reason (the last owner cannot leave, …).
fn outcome(
    console: &Console<Owners>,
    done: &str,
    result: Result<(), MemberError>,
) -> Result<HttpResponse, AppError> {
    match result {
        Ok(()) => console.flash(Level::Success, done),
        Err(e) => console.flash(Level::Error, member_error(e)?),
    }
    Ok(see_other("/members"))
}

pub async fn set_role(
    console: Console<Owners>,
    PathId(target): PathId<UserId>,
    CsrfForm(form): CsrfForm<RoleForm>,
) -> Result<HttpResponse, AppError> {
    let role = Role::parse(&form.role).map_err(|e| AppError::BadRequest(e.into()))?;
    let result = console
        .run(move |c, user| users::set_role(c, &user.workspace_id, &target, role))
        .await;
    outcome(
        &console,
        &format!("Role changed to {}.", role.label()),
        result,
    )
}

pub async fn remove(
    console: Console<Owners>,
    PathId(target): PathId<UserId>,
    _: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let result = console
        .run(move |c, user| users::remove_member(c, &user.workspace_id, &target))
        .await;
    outcome(&console, "Member removed.", result)
}
