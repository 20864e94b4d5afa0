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
use crate::passwords;
use crate::store::{Db, users, workspaces};

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

pub async fn create(
    req: actix_web::HttpRequest,
    db: web::Data<Db>,
    session: Session,
    CheckedForm { form, refused }: CheckedForm<SetupForm>,
) -> Result<HttpResponse, AppError> {
    let mut errors = refused;
    let workspace = workspaces::parse_name(&form.workspace)
        .map_err(|e| errors.add("workspace", e))
        .ok();
    let email = EmailAddress::parse(&form.email)
        .map_err(|e| errors.add("email", e.to_string()))
        .ok();
    let password = NewPassword::parse(&form.password)
        .map_err(|e| errors.add("password", e))
        .ok();
    if form.password != form.confirm {
        errors.add("confirm", "The two passwords differ.");
    }
    let (Some(workspace), Some(email), Some(password), true) =
        (workspace, email, password, errors.is_empty())
    else {
        let form = SetupForm {
            password: String::new(),
            confirm: String::new(),
            ..form
        };
        return render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &SetupPage {
                layout: Layout::public(&session),
                form,
                errors,
            },
        );
    };
    let hash = passwords::hash_off_thread(password.expose()).await?;
    let created = db
        .run(move |c| users::create_first_owner(c, &email, &hash, &workspace))
        .await?;
    let Some((user, _)) = created else {
        // Someone finished setup in the meantime; their account stands.
        return Ok(see_other("/login"));
    };
    if super::auth::start_session(&req, &db, &session, user.clone())
        .await?
        .is_none()
    {
        return Ok(see_other("/login"));
    }
    session::flash(&session, Level::Success, "Herald is set up. Welcome!");
    tracing::info!(user = %user, "first owner created");
    Ok(see_other("/contacts"))
}
