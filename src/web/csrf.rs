//! `CsrfForm<T>`: a urlencoded form whose `csrf_token` field has been checked against the
//! session before anything else is looked at. A missing or wrong token is a 403, whatever else
//! the body holds, so no handler can forget the check.

use std::future::Future;
use std::pin::Pin;

use actix_session::SessionExt;
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, web};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::error::AppError;

use super::session;

pub struct CsrfForm<T>(pub T);

/// A form that carries nothing but the token (delete buttons, logout).
#[derive(Debug, Deserialize)]
pub struct NoFields {}

#[derive(Deserialize)]
struct TokenOnly {
    #[serde(default)]
    csrf_token: String,
}

impl<T: DeserializeOwned + 'static> FromRequest for CsrfForm<T> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let session = req.get_session();
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            let body = body.await.map_err(|e| {
                if e.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE {
                    AppError::TooLarge
                } else {
                    AppError::BadRequest(e.to_string())
                }
            })?;
            let token: TokenOnly = serde_html_form::from_bytes(&body).unwrap_or(TokenOnly {
                csrf_token: String::new(),
            });
            if !session::csrf_matches(&session, &token.csrf_token) {
                return Err(AppError::Forbidden);
            }
            let form = serde_html_form::from_bytes::<T>(&body)
                .map_err(|e| AppError::BadRequest(e.to_string()))?;
            Ok(CsrfForm(form))
        })
    }
}
