//! `CsrfForm<T>` and `CheckedForm<T>`: a urlencoded form whose `csrf_token` field has been
//! checked against the session before anything else is looked at. A missing or wrong token is
//! a 403, whatever else the body holds, so no handler can forget the check. Text with refused
//! control characters (`domain::text`) never reaches a handler as if it were fine: `CsrfForm`
//! refuses the request (422), `CheckedForm` hands the form back with a field error for each
//! such field, for pages that show errors beside their fields.

use std::future::Future;
use std::pin::Pin;

use actix_session::SessionExt;
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, web};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::domain::text;
use crate::error::AppError;

use super::layout::FieldErrors;
use super::session;

pub struct CsrfForm<T>(pub T);

/// The message beside a field that held a control character.
pub const CONTROL_CHARACTER: &str = "This field contains a control character (such as NUL) that Herald cannot store: remove it and save again.";

/// Every console form passes here, so this is the one place text with control characters is
/// found (the rule: `domain::text`): PostgreSQL cannot store NUL, and nothing a person types
/// needs the others. Answers every field holding one, and the body with those characters
/// replaced by U+FFFD, so a form can be shown again with the text as typed and the place
/// marked. `next` (where to go after signing in) is exempt: it is never stored, and an
/// unusable one is ignored (`auth::safe_next`) rather than refused.
fn refuse_control_characters(body: &[u8]) -> (Vec<String>, Vec<u8>) {
    let bad = text::is_refused;
    let mut fields = Vec::new();
    let mut clean = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in url::form_urlencoded::parse(body) {
        if k != "next" && (text::has_refused(&k) || text::has_refused(&v)) {
            let name: String = k.chars().filter(|c| !c.is_control()).take(40).collect();
            if !fields.contains(&name) {
                fields.push(name);
            }
        }
        let mark = |s: &str| {
            s.chars()
                .map(|c| if bad(c) { '\u{fffd}' } else { c })
                .collect::<String>()
        };
        if k == "next" {
            clean.append_pair(&k, &v);
        } else {
            clean.append_pair(&mark(&k), &mark(&v));
        }
    }
    (fields, clean.finish().into_bytes())
}

/// Like [`CsrfForm`], for forms that show their errors beside the fields: a field holding a
/// control character is not a refused request but a field error in `refused`, and the form's
/// values come with those characters replaced by U+FFFD. A handler must not save when
/// `refused` has errors (the form scaffold does this).
pub struct CheckedForm<T> {
    pub form: T,
    pub refused: FieldErrors,
}

impl<T: DeserializeOwned + 'static> FromRequest for CheckedForm<T> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let session = req.get_session();
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            let body = checked_body(&session, body.await)?;
            let (fields, clean) = refuse_control_characters(&body);
            let form = serde_html_form::from_bytes::<T>(&clean)
                .map_err(|e| AppError::BadRequest(e.to_string()))?;
            let mut refused = FieldErrors::default();
            for f in fields {
                refused.add(f, CONTROL_CHARACTER);
            }
            Ok(CheckedForm { form, refused })
        })
    }
}

/// The body once its CSRF token has been checked against the session.
fn checked_body(
    session: &actix_session::Session,
    body: Result<web::Bytes, actix_web::Error>,
) -> Result<web::Bytes, AppError> {
    let body = body.map_err(|e| {
        if e.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::TooLarge
        } else {
            AppError::BadRequest(e.to_string())
        }
    })?;
    let token: TokenOnly = serde_html_form::from_bytes(&body).unwrap_or(TokenOnly {
        csrf_token: String::new(),
    });
    if !session::csrf_matches(session, &token.csrf_token) {
        return Err(AppError::Forbidden);
    }
    Ok(body)
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
        let checked = CheckedForm::<T>::from_request(req, payload);
        Box::pin(async move {
            let CheckedForm { form, refused } = checked.await?;
            match refused.fields().next() {
                Some(field) => Err(AppError::ControlCharacter(field.to_string())),
                None => Ok(CsrfForm(form)),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn control_characters_are_marked_where_they_were() {
        let (fields, clean) =
            super::refuse_control_characters(b"name=A%00na&url=ok&t=a%0D%0Ab&url=x%0By");
        assert_eq!(fields, vec!["name".to_string(), "url".to_string()]);
        let back: Vec<(String, String)> =
            url::form_urlencoded::parse(&clean).into_owned().collect();
        assert_eq!(back[0], ("name".into(), "A\u{fffd}na".into()));
        assert_eq!(back[2], ("t".into(), "a\r\nb".into()));
    }

    #[test]
    fn control_characters_are_found_in_any_field() {
        let bad = |body: &[u8]| super::refuse_control_characters(body).0;
        assert!(bad(b"name=Ana&template=a%0D%0Ab%09c").is_empty());
        assert_eq!(bad(b"name=ok&url=x%0By"), vec!["url".to_string()]);
        assert_eq!(bad(b"a=%C2%85"), vec!["a".to_string()]);
        assert!(bad(b"next=%2F%0A").is_empty(), "next is exempt");
        // …and reaches safe_next as sent, which ignores it.
        let (_, clean) = super::refuse_control_characters(b"next=%2F%0A%2Fevil");
        assert_eq!(clean, b"next=%2F%0A%2Fevil".to_vec());
    }
}
