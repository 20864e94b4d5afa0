//! First run: while no user exists, this page creates the first owner and their workspace.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::csrf::CheckedForm;
use super::layout::{FieldErrors, Layout, render};
use super::session::{self, Level};
use crate::domain::{EmailAddress, NewPassword};
use crate::error::{AppError, see_other};
use crate::store::{Db, users, workspaces};
use crate::usecases::sign_in;

#[derive(Template)]
#[template(path = "setup.html")]
pub struct SetupPage {
    pub layout: Layout,
    pub form: SetupForm,
    pub errors: FieldErrors,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SetupForm {
    pub workspace: String,
    pub email: String,
    #[serde(skip_serializing)]
    pub password: String,
    pub confirm: String,
}

pub async fn form(db: web::Data<Db>, session: Session) -> Result<HttpResponse, AppError> {
    if db.run(users::count).await? > 0 {
        return Ok(see_other("/login"));
    }
    let form = SetupForm {
        workspace: "Default".into(),
        ..SetupForm::default()
    };
    render(
        StatusCode::OK,
        &SetupPage {
            layout: Layout::public(&session),
            form,
            errors: FieldErrors::default(),
        },
    )
}

impl SetupForm {
    /// The workspace name, the owner's address and password; every problem at once.
    fn parse(
        &self,
        mut errors: FieldErrors,
    ) -> Result<(String, EmailAddress, NewPassword), FieldErrors> {
        let workspace = workspaces::parse_name(&self.workspace)
            .map_err(|e| errors.add("workspace", e))
            .ok();
        let email = EmailAddress::parse(&self.email)
            .map_err(|e| errors.add("email", e.to_string()))
            .ok();
        let password = NewPassword::parse(&self.password)
            .map_err(|e| errors.add("password", e))
            .ok();
        if self.password != self.confirm {
            errors.add("confirm", "The two passwords differ.");
        }
        match (workspace, email, password) {
            (Some(w), Some(e), Some(p)) if errors.is_empty() => Ok((w, e, p)),
            _ => Err(errors),
        }
    }
}

pub async fn create(
    req: actix_web::HttpRequest,
    db: web::Data<Db>,
    session: Session,
    CheckedForm { form, refused }: CheckedForm<SetupForm>,
) -> Result<HttpResponse, AppError> {
    let (workspace, email, password) = match form.parse(refused) {
        Ok(parsed) => parsed,
        Err(errors) => {
            // Passwords are never sent back.
            let form = SetupForm {
                password: String::new(),
                confirm: String::new(),
                ..form
            };
            let page = SetupPage {
                layout: Layout::public(&session),
                form,
                errors,
            };
            return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    // None: someone finished setup in the meantime; their account stands.
    let Some(user) = sign_in::first_owner(&db, email, password, workspace).await? else {
        return Ok(see_other("/login"));
    };
    if super::auth::start_session(&req, &db, &session, user)
        .await?
        .is_none()
    {
        return Ok(see_other("/login"));
    }
    session::flash(&session, Level::Success, "Herald is set up. Welcome!");
    Ok(see_other("/contacts"))
}
