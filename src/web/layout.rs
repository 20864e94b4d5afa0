use actix_session::Session;
use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use askama::Template;

use crate::error::AppError;

use super::current_user::CurrentUser;
use super::session::{self, Flash};
use crate::domain::Role;
use crate::domain::catalog::Lang;
use crate::domain::settings::TimeZone;

/// What every page's frame needs: navigation for the signed-in user, flashes and the token
/// for its forms.
pub struct Layout {
    pub csrf_token: String,
    pub flashes: Vec<Flash>,
    pub nav: Option<Nav>,
    /// Where times are shown: the workspace's zone (UTC on public pages).
    pub tz: TimeZone,
    /// The page's language, for `<html lang>`: public pages opened by a contact speak theirs.
    pub html_lang: &'static str,
}

pub struct Nav {
    pub email: String,
    pub workspace_name: String,
    pub role: Role,
}

impl Layout {
    pub fn new(session: &Session, user: &CurrentUser) -> Layout {
        Layout {
            csrf_token: session::csrf_token(session),
            flashes: session::take_flashes(session),
            nav: Some(Nav {
                email: user.email.clone(),
                workspace_name: user.workspace_name.clone(),
                role: user.role,
            }),
            tz: user.time_zone,
            html_lang: "en",
        }
    }

    /// For pages shown to people who are not signed in (setup, login).
    pub fn public(session: &Session) -> Layout {
        Layout {
            csrf_token: session::csrf_token(session),
            flashes: session::take_flashes(session),
            nav: None,
            tz: TimeZone::UTC,
            html_lang: "en",
        }
    }

    /// A public page in the language of whoever it is for.
    pub fn public_in(session: &Session, lang: Lang) -> Layout {
        Layout {
            html_lang: lang.html_code(),
            ..Layout::public(session)
        }
    }

    /// A stored (UTC) time as the workspace's clocks show it: `2026-12-03 22:05:09 CST`.
    pub fn when(&self, t: &chrono::NaiveDateTime) -> String {
        self.tz.show_seconds(*t)
    }

    /// To the minute: `2026-12-03 22:05 CST`.
    pub fn minute(&self, t: &chrono::NaiveDateTime) -> String {
        self.tz.show(*t)
    }

    pub fn can_edit(&self) -> bool {
        self.nav.as_ref().is_some_and(|n| n.role.can_edit())
    }

    pub fn is_owner(&self) -> bool {
        self.nav.as_ref().is_some_and(|n| n.role.is_owner())
    }
}

/// Field name → message, for re-rendering a form beside its fields.
#[derive(Debug, Default)]
pub struct FieldErrors(std::collections::BTreeMap<String, String>);

impl FieldErrors {
    /// One field's error.
    pub fn one(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut errors = FieldErrors::default();
        errors.add(field, message);
        errors
    }

    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.entry(field.into()).or_insert_with(|| message.into());
    }

    pub fn get(&self, field: &str) -> Option<&String> {
        self.0.get(field)
    }

    /// The same errors under the names `rename` gives their fields.
    pub fn renamed(self, rename: impl Fn(&str) -> String) -> FieldErrors {
        let mut out = FieldErrors::default();
        for (field, message) in self.0 {
            out.add(rename(&field), message);
        }
        out
    }

    /// Adds `other`'s errors to these (the first message for a field stays).
    pub fn merge(&mut self, other: FieldErrors) {
        for (field, message) in other.0 {
            self.add(field, message);
        }
    }

    /// The fields that have errors, in name order.
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A field's `aria-invalid` and, when it has an error, the `aria-describedby` naming the
    /// error (`<field>-error`, as the form partial writes it). Field names are the templates'
    /// own literals, so the text is safe to write unescaped.
    pub fn aria(&self, field: &str) -> String {
        self.aria_hinted(field, false)
    }

    /// [`FieldErrors::aria`] for a field with a hint (`<field>-hint`) as well.
    pub fn aria_hinted(&self, field: &str, hinted: bool) -> String {
        let mut described = Vec::new();
        if hinted {
            described.push(format!("{field}-hint"));
        }
        if self.0.contains_key(field) {
            described.push(format!("{field}-error"));
        }
        let mut out = format!("aria-invalid=\"{}\"", self.invalid(field));
        if !described.is_empty() {
            out.push_str(&format!(" aria-describedby=\"{}\"", described.join(" ")));
        }
        out
    }

    /// `aria-invalid` value for a field, so assistive tech announces the error.
    pub fn invalid(&self, field: &str) -> &'static str {
        if self.0.contains_key(field) {
            "true"
        } else {
            "false"
        }
    }
}

impl From<crate::domain::Problems> for FieldErrors {
    fn from(problems: crate::domain::Problems) -> Self {
        let mut errors = FieldErrors::default();
        for (field, message) in problems {
            errors.add(field, message);
        }
        errors
    }
}

/// `“a”, “b”`: names as the console quotes them in sentences; a long list is summarised
/// (`“a”, “b”, “c” and 23 more`), as these sentences end up in flash messages.
pub fn quoted(names: &[String]) -> String {
    const SHOWN: usize = 3;
    let mut out = names
        .iter()
        .take(SHOWN)
        .map(|n| format!("“{n}”"))
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        out.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    out
}

/// The end of a "deleted" message for an object that policies named.
pub fn removed_from_policies(policies: &[String]) -> String {
    if policies.is_empty() {
        String::new()
    } else {
        format!(" It was removed from the policies {}.", quoted(policies))
    }
}

/// Renders a page with a status; every console page goes through here.
pub fn render(status: StatusCode, page: &impl Template) -> Result<HttpResponse, AppError> {
    let html = page
        .render()
        .map_err(|e| AppError::Other(anyhow::anyhow!("template: {e}")))?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(html))
}
