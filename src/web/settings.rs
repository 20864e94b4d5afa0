//! Settings (owners): the workspace's name, time zone, default alert language, default
//! fallback method, alternate contact and last-resort recipient, with the list of who changed
//! what. A new last-resort address is used only after its one-click link is followed.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::csrf::{CheckedForm, CsrfForm, NoFields};
use super::form::{self, Console, Editing, FormScreen, Owners, Scope};
use super::layout::{FieldErrors, Layout, render};
use super::public_limit::PublicLimiter;
use super::session::Level;
use crate::channels::Email;
use crate::domain::catalog::Lang;
use crate::domain::settings::TimeZone;
use crate::domain::{DefaultFallback, EmailAddress, Language, LinkToken};
use crate::error::AppError;
use crate::store::workspaces::{
    self, ActivationLink, LAST_RESORT_LINK_HOURS, LastResortLink, LastResortLookup, SettingsChange,
    SettingsError, SettingsInput, Workspace,
};
use crate::store::{ContactId, Db, StoreResult, contacts};
use crate::verification::{Verifications, messages};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SettingsForm {
    pub name: String,
    pub time_zone: String,
    pub default_language: String,
    pub default_fallback: String,
    pub alternate_contact: String,
    pub last_resort_email: String,
}

impl SettingsForm {
    fn of(w: &Workspace) -> SettingsForm {
        SettingsForm {
            name: w.name.clone(),
            time_zone: w.time_zone.clone(),
            default_language: w.default_language.clone(),
            default_fallback: w.default_fallback.clone(),
            alternate_contact: w
                .alternate_contact_id
                .as_ref()
                .map(|c| c.to_string())
                .unwrap_or_default(),
            last_resort_email: w
                .last_resort_email
                .as_ref()
                .map(|e| e.as_str().to_string())
                .unwrap_or_default(),
        }
    }

    /// Every field checked; all problems at once.
    fn parse(&self) -> Result<SettingsInput, FieldErrors> {
        let mut errors = FieldErrors::default();
        let name = workspaces::parse_name(&self.name)
            .map_err(|e| errors.add("name", e))
            .ok();
        let time_zone = TimeZone::parse(&self.time_zone)
            .map_err(|e| errors.add("time_zone", e))
            .ok();
        let default_language = match Language::parse(&self.default_language) {
            Ok(Language::Auto) | Err(_) => {
                errors.add("default_language", "Choose English or Chinese.");
                None
            }
            Ok(l) => Some(l),
        };
        let default_fallback = DefaultFallback::parse(&self.default_fallback)
            .map_err(|e| errors.add("default_fallback", e))
            .ok();
        let alternate = match self.alternate_contact.trim() {
            "" => Some(None),
            id => match ContactId::parse(id) {
                Some(id) => Some(Some(id)),
                None => {
                    errors.add(
                        "alternate_contact",
                        SettingsError::UnknownContact.to_string(),
                    );
                    None
                }
            },
        };
        let last_resort = match self.last_resort_email.trim() {
            "" => Some(None),
            e => match EmailAddress::parse(e) {
                Ok(e) => Some(Some(e)),
                Err(why) => {
                    errors.add("last_resort_email", why.to_string());
                    None
                }
            },
        };
        match (
            name,
            time_zone,
            default_language,
            default_fallback,
            alternate,
            last_resort,
        ) {
            (
                Some(name),
                Some(time_zone),
                Some(default_language),
                Some(default_fallback),
                Some(alternate_contact_id),
                Some(last_resort_email),
            ) if errors.is_empty() => Ok(SettingsInput {
                name,
                time_zone,
                default_language,
                default_fallback,
                alternate_contact_id,
                last_resort_email,
            }),
            _ => Err(errors),
        }
    }
}

/// What the page shows beside the form: the stored workspace, the contacts to pick the
/// alternate from, and the latest changes.
pub struct Choices {
    stored: Workspace,
    contacts: Vec<(ContactId, String)>,
    changes: Vec<SettingsChange>,
}

#[derive(Template)]
#[template(path = "settings/index.html")]
pub struct SettingsPage {
    pub layout: Layout,
    pub form: SettingsForm,
    pub errors: FieldErrors,
    pub stored: Workspace,
    pub contacts: Vec<(ContactId, String)>,
    pub changes: Vec<SettingsChange>,
}

impl SettingsPage {
    pub fn languages(&self) -> [Language; 2] {
        [Language::English, Language::Chinese]
    }

    pub fn fallbacks(&self) -> &'static [DefaultFallback] {
        DefaultFallback::ALL
    }

    /// The stored last-resort address's state, when one is stored.
    pub fn last_resort_state(&self) -> Option<&'static str> {
        self.stored.last_resort_email.as_ref().map(|_| {
            if self.stored.last_resort_activated_at.is_some() {
                "Activated"
            } else {
                "Waiting for activation"
            }
        })
    }

    pub fn when(&self, c: &SettingsChange) -> String {
        self.stored.time_zone().show(c.at)
    }
}

impl FormScreen for SettingsPage {
    type Form = SettingsForm;
    type Choices = Choices;

    fn choices(s: Scope<'_>, _: Option<&str>) -> StoreResult<Choices> {
        let stored = workspaces::get(s.c, s.ws)?;
        let contacts = contacts::all_matching(s.c, s.index, s.ws, "")?
            .into_iter()
            .map(|c| (c.id, c.name))
            .collect();
        let changes = workspaces::changes(s.c, s.ws, 50)?;
        Ok(Choices {
            stored,
            contacts,
            changes,
        })
    }

    fn build(layout: Layout, editing: Editing<SettingsForm>, ch: Choices) -> Self {
        let (_, form, errors) = editing.into_parts();
        SettingsPage {
            layout,
            form,
            errors,
            stored: ch.stored,
            contacts: ch.contacts,
            changes: ch.changes,
        }
    }
}

pub async fn show(console: Console<Owners>) -> Result<HttpResponse, AppError> {
    let stored = console
        .run(|c, user| workspaces::get(c, &user.workspace_id))
        .await?;
    console
        .form::<SettingsPage>(Editing::new(SettingsForm::of(&stored)))
        .await
}

pub async fn save(
    console: Console<Owners>,
    verifications: web::Data<Verifications>,
    CheckedForm { form, refused }: CheckedForm<SettingsForm>,
) -> Result<HttpResponse, AppError> {
    let input = match form::checked::<SettingsPage, _>(refused, form.parse()) {
        Ok(input) => input,
        Err(errors) => {
            return console
                .form::<SettingsPage>(Editing::new(form).with_errors(errors))
                .await;
        }
    };
    let saved = console
        .run(move |c, user| workspaces::save_settings(c, &user.workspace_id, &user.email, &input))
        .await;
    let saved = match saved {
        Ok(saved) => saved,
        Err(e @ SettingsError::UnknownContact) => {
            let errors = FieldErrors::one("alternate_contact", e.to_string());
            return console
                .form::<SettingsPage>(Editing::new(form).with_errors(errors))
                .await;
        }
        Err(SettingsError::Store(e)) => return Err(e.into()),
    };
    if saved.changes.is_empty() {
        return Ok(console.done("Nothing changed.", "/settings"));
    }
    if let Some(link) = saved.activate {
        send_activation(&console, &verifications, link).await;
    }
    Ok(console.done("Settings saved.", "/settings"))
}

/// Sends the last-resort address its activation link; a failure is said, and the page offers
/// to send it again.
async fn send_activation(
    console: &Console<Owners>,
    verifications: &Verifications,
    link: ActivationLink,
) {
    let url = format!("{}/r/{}", verifications.base_url(), link.token);
    let to = link.email;
    let (subject, text) = messages::last_resort_email(
        link.language,
        &messages::LastResortInvite {
            asked_by: &console.user.email,
            workspace: &console.user.workspace_name,
            address: to.as_str(),
            hours: LAST_RESORT_LINK_HOURS,
            url: &url,
        },
    );
    let email = Email {
        workspace_id: Some(console.user.workspace_id.clone()),
        to: to.clone(),
        subject,
        text,
        html: None,
    };
    if let Err(e) = verifications.providers().email.send_email(&email).await {
        console.flash(
            Level::Error,
            format!(
                "The activation link could not be sent to {}: {e}. Use Resend link to try again.",
                to.as_str()
            ),
        );
    } else {
        console.flash(
            Level::Info,
            format!(
                "An activation link was sent to {}; it is used only once activated.",
                to.as_str()
            ),
        );
    }
}

pub async fn resend_link(
    console: Console<Owners>,
    verifications: web::Data<Verifications>,
    _: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let renewed = console
        .run(|c, user| workspaces::renew_last_resort_link(c, &user.workspace_id))
        .await?;
    match renewed {
        Some(link) => {
            send_activation(&console, &verifications, link).await;
            Ok(crate::error::see_other("/settings"))
        }
        None => Ok(console.done(
            "There is no last-resort address waiting for activation.",
            "/settings",
        )),
    }
}

#[derive(Template)]
#[template(path = "settings/link.html")]
pub struct LinkPage {
    pub layout: Layout,
    pub token: String,
    pub found: LastResortLink,
    pub lang: Lang,
}

/// `/r/<token>`: GET shows what the link is for; the Activate button POSTs. Unknown tokens
/// count against the address, like every public link.
pub async fn last_resort_link(
    req: HttpRequest,
    db: web::Data<Db>,
    session: Session,
    limiter: web::Data<PublicLimiter>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let ip = super::client_ip::client_ip(&req);
    if let Some(wait) = ip.and_then(|ip| limiter.check(ip).err()) {
        return Ok(HttpResponse::TooManyRequests()
            .insert_header(("Retry-After", wait.to_string()))
            .finish());
    }
    let raw = path.into_inner();
    let post = req.method() == actix_web::http::Method::POST;
    let found = match LinkToken::parse(&raw) {
        Some(token) => {
            db.run(move |c| {
                if post {
                    workspaces::activate_last_resort(c, &token)
                } else {
                    workspaces::open_last_resort_link(c, &token)
                }
            })
            .await?
        }
        None => LastResortLookup {
            link: LastResortLink::Unknown,
            lang: None,
        },
    };
    let status = match found.link {
        LastResortLink::Unknown => {
            if let Some(ip) = ip {
                limiter.failed(ip);
            }
            StatusCode::NOT_FOUND
        }
        LastResortLink::Expired => StatusCode::GONE,
        _ => StatusCode::OK,
    };
    // The address's owner has no stored language: what their browser asks for comes first,
    // then the workspace's default.
    let lang = super::lang::stated(&req).or(found.lang).unwrap_or(Lang::En);
    let page = LinkPage {
        layout: Layout::public_in(&session, lang),
        token: raw,
        found: found.link,
        lang,
    };
    render(status, &page)
}
