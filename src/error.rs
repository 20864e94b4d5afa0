//! The one error type handlers return, and how each kind becomes a response.
//! Bodies for 4xx/5xx pages are rendered by `web::errors`, which knows the request id.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};

use crate::store::{DbError, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    /// A missing or wrong CSRF token, or a role that may not do this.
    #[error("forbidden")]
    Forbidden,
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("request body too large")]
    TooLarge,
    /// A form field holds a control character (NUL and the like) Herald does not store.
    #[error("control character in field {0}")]
    ControlCharacter(String),
    /// Not signed in: go to the login page, then come back to `next`.
    #[error("sign-in required")]
    LoginRequired { next: String },
    #[error("password change required")]
    PasswordChangeRequired,
    #[error(transparent)]
    Store(StoreError),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => AppError::NotFound,
            other => AppError::Store(other),
        }
    }
}

impl From<crate::usecases::sign_in::AuthError> for AppError {
    fn from(e: crate::usecases::sign_in::AuthError) -> Self {
        use crate::usecases::sign_in::AuthError;
        match e {
            AuthError::Store(e) => e.into(),
            AuthError::Hashing(why) => AppError::Other(anyhow::anyhow!(why)),
        }
    }
}

impl From<DbError> for AppError {
    fn from(e: DbError) -> Self {
        AppError::Store(StoreError::Pool(e))
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        StoreError::from(e).into()
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Forbidden => StatusCode::FORBIDDEN,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::ControlCharacter(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::LoginRequired { .. } | AppError::PasswordChangeRequired => {
                StatusCode::SEE_OTHER
            }
            AppError::Store(_) | AppError::Other(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            AppError::LoginRequired { next } => {
                let target = if next.is_empty() || next == "/" {
                    "/login".to_string()
                } else {
                    format!(
                        "/login?next={}",
                        url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
                    )
                };
                see_other(&target)
            }
            AppError::PasswordChangeRequired => see_other("/account/password"),
            AppError::Store(_) | AppError::Other(_) => {
                // Runs inside the request's span, so the log line carries its request id.
                tracing::error!(error = ?self, "request failed");
                HttpResponse::InternalServerError().finish()
            }
            other => {
                tracing::debug!(error = %other, "request refused");
                HttpResponse::build(self.status_code()).finish()
            }
        }
    }
}

/// A 303. A location that cannot be a header (control characters) goes home instead of
/// turning the answer, possibly after a committed change, into a 500.
pub fn see_other(location: &str) -> HttpResponse {
    let value = header::HeaderValue::from_str(location).unwrap_or_else(|_| {
        tracing::warn!("redirect target is not a valid header; going home");
        header::HeaderValue::from_static("/")
    });
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, value))
        .finish()
}
