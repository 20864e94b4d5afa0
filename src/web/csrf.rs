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

/// Every console form passes here, so this is the one place text with control characters is
/// refused: PostgreSQL cannot store NUL, and nothing a person types needs the others. Tab, line
/// feed and the carriage return browsers send with each newline of a textarea are text.
/// `next` (where to go after signing in) is exempt: it is never stored, and an unusable one is
/// ignored (`auth::safe_next`) rather than refused.
fn field_with_control_character(body: &[u8]) -> Option<String> {
    let allowed = |c: char| matches!(c, '\t' | '\n' | '\r');
    url::form_urlencoded::parse(body)
        .filter(|(k, _)| k != "next")
        .find(|(k, v)| {
            k.chars()
                .chain(v.chars())
                .any(|c| c.is_control() && !allowed(c))
        })
        .map(|(k, _)| k.chars().filter(|c| !c.is_control()).take(40).collect())
}

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
            if let Some(field) = field_with_control_character(&body) {
                return Err(AppError::ControlCharacter(field));
            }
            let form = serde_html_form::from_bytes::<T>(&body)
                .map_err(|e| AppError::BadRequest(e.to_string()))?;
            Ok(CsrfForm(form))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::field_with_control_character as bad;

    #[test]
    fn control_characters_are_found_in_any_field() {
        assert_eq!(bad(b"name=Ana&template=a%0D%0Ab%09c"), None);
        assert_eq!(bad(b"name=A%00na").as_deref(), Some("name"));
        assert_eq!(bad(b"name=ok&url=x%0By").as_deref(), Some("url"));
        assert_eq!(bad(b"a=%C2%85").as_deref(), Some("a"));
    }
}
