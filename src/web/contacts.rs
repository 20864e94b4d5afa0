//! Notification Objects › Contacts: list with search, create, edit, delete.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::auth::{CurrentUser, Need, Visitor};
use super::csrf::{CheckedForm, CsrfForm, NoFields};
use super::form::{self, Console, Editing, FormScreen, PathId, Scope};
use super::layout::{FieldErrors, Layout, render};
use super::session::Level;
use crate::domain::policy::Target;
use crate::domain::{
    ContactName, EmailAddress, Fallback, ImUserId, Language, PhoneNumber, Platform,
};
use crate::error::{AppError, see_other};
use crate::store::bindings::{self, Binding};
use crate::store::contacts::{self, Conflict, Contact, ContactInput, MethodState, Page, SaveError};
use crate::store::schedules;
use crate::store::{
    ContactId, Db, DbConn, GroupId, StoreError, StoreResult, groups, policies, workspaces,
};
use crate::usecases::contacts as save_contact;
use crate::verification::Verifications;

#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: Option<String>,
}

#[derive(Template)]
#[template(path = "contacts/index.html")]
pub struct IndexPage {
    pub layout: Layout,
    pub q: String,
    pub page: Page,
    /// This view's URL, for the forms that come back to it.
    pub back: String,
    /// Where the page's contacts are bound (for @mentions).
    pub bindings: Vec<Binding>,
}

impl IndexPage {
    pub fn bound(&self, id: &ContactId) -> Vec<&Binding> {
        self.bindings
            .iter()
            .filter(|b| &b.contact_id == id)
            .collect()
    }

    /// `DingTalk, bound 2 Dec`, in the workspace's time zone.
    pub fn bound_label(&self, b: &Binding) -> String {
        let day = self.layout.tz.local(b.bound_at).format("%-d %b");
        format!("{}, bound {day}", b.platform.label())
    }
    pub fn page_url(&self, n: i64) -> String {
        let q: String = url::form_urlencoded::byte_serialize(self.q.as_bytes()).collect();
        if q.is_empty() {
            format!("/contacts?page={n}")
        } else {
            format!("/contacts?q={q}&page={n}")
        }
    }

    pub fn first_shown(&self) -> i64 {
        if self.page.total == 0 {
            0
        } else {
            (self.page.page - 1) * contacts::PAGE_SIZE + 1
        }
    }

    pub fn last_shown(&self) -> i64 {
        (self.first_shown() - 1 + self.page.contacts.len() as i64).max(0)
    }
}

pub async fn index(
    db: web::Data<Db>,
    visitor: Visitor,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let ListQuery { q, page } = q.into_inner();
    // A mangled page number shows the first page rather than an error.
    let page_no = page.and_then(|p| p.trim().parse::<i64>().ok()).unwrap_or(1);
    let search = q.chars().take(100).collect::<String>();
    let (index, s) = (db.contact_index(), search.clone());
    let list = move |c: &mut DbConn, user: &CurrentUser| {
        let page = contacts::list(c, &index, &user.workspace_id, &s, page_no)?;
        let ids: Vec<ContactId> = page.contacts.iter().map(|c| c.id.clone()).collect();
        Ok((page, bindings::of_contacts(c, &ids)?))
    };
    let view = |layout, (page, bindings)| {
        let mut view = IndexPage {
            layout,
            q: search,
            page,
            back: String::new(),
            bindings,
        };
        view.back = view.page_url(view.page.page);
        view
    };
    visitor.page(&db, Need::Member, list, view).await
}

/// The form as submitted: raw strings, so a rejected form shows exactly what was typed.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ContactForm {
    pub name: String,
    pub phone: String,
    pub email: String,
    pub im_user_id: String,
    pub language: String,
    pub fallback: String,
    /// Ids of the contact groups the contact is in.
    pub groups: Vec<String>,
}

impl ContactForm {
    fn from_contact(c: &Contact, groups: Vec<String>) -> Self {
        ContactForm {
            groups,
            name: c.name.clone(),
            phone: c
                .phone
                .as_ref()
                .map(|p| p.as_str().to_string())
                .unwrap_or_default(),
            email: c
                .email
                .as_ref()
                .map(|e| e.as_str().to_string())
                .unwrap_or_default(),
            im_user_id: c.im_user_id.clone().unwrap_or_default(),
            language: c.language.code().to_string(),
            fallback: c.fallback.code().to_string(),
        }
    }

    /// Checks every field and reports all problems at once.
    pub fn parse(&self) -> Result<ContactInput, FieldErrors> {
        let mut errors = FieldErrors::default();
        let name = ContactName::parse(&self.name)
            .map_err(|e| errors.add("name", e))
            .ok();
        let phone = if self.phone.trim().is_empty() {
            None
        } else {
            PhoneNumber::parse(&self.phone)
                .map_err(|e| errors.add("phone", e.to_string()))
                .ok()
        };
        let email = if self.email.trim().is_empty() {
            None
        } else {
            EmailAddress::parse(&self.email)
                .map_err(|e| errors.add("email", e.to_string()))
                .ok()
        };
        if self.phone.trim().is_empty() && self.email.trim().is_empty() {
            errors.add(
                "phone",
                "Enter a phone number or an email address (or both).",
            );
        }
        let im_user_id = ImUserId::parse(&self.im_user_id)
            .map_err(|e| errors.add("im_user_id", e))
            .ok()
            .flatten();
        let language = Language::parse(&self.language)
            .map_err(|e| errors.add("language", e))
            .ok();
        let fallback = Fallback::parse(&self.fallback)
            .map_err(|e| errors.add("fallback", e))
            .ok();
        match (name, language, fallback) {
            (Some(name), Some(language), Some(fallback)) if errors.is_empty() => Ok(ContactInput {
                name,
                phone,
                email,
                im_user_id,
                language,
                fallback,
            }),
            _ => Err(errors),
        }
    }
}

#[derive(Template)]
#[template(path = "contacts/form.html")]
pub struct FormPage {
    pub layout: Layout,
    /// None when creating.
    pub id: Option<String>,
    pub form: ContactForm,
    pub errors: FieldErrors,
    pub default_fallback: String,
    /// The contact as stored, when editing: its verification states are shown by the fields.
    pub stored: Option<Contact>,
    /// The workspace's groups to pick from: (id, name).
    pub all_groups: Vec<(GroupId, String)>,
}

/// What the form offers: the workspace default fallback, the stored contact, the groups.
pub struct Choices {
    default_fallback: String,
    stored: Option<Contact>,
    all_groups: Vec<(GroupId, String)>,
}

impl FormScreen for FormPage {
    type Form = ContactForm;
    type Choices = Choices;

    fn choices(s: Scope<'_>, id: Option<&str>) -> StoreResult<Choices> {
        let (c, ws) = (s.c, s.ws);
        let stored = match id.and_then(ContactId::parse) {
            Some(id) => Some(contacts::get(c, ws, &id)?),
            None => None,
        };
        Ok(Choices {
            default_fallback: workspaces::get(c, ws)?
                .default_fallback()
                .label()
                .to_string(),
            stored,
            all_groups: groups::list(c, ws)?
                .into_iter()
                .map(|g| (g.id, g.name))
                .collect(),
        })
    }

    fn build(layout: Layout, editing: Editing<ContactForm>, choices: Choices) -> Self {
        let (id, form, errors) = editing.into_parts();
        let Choices {
            default_fallback,
            stored,
            all_groups,
        } = choices;
        FormPage {
            layout,
            id,
            form,
            errors,
            default_fallback,
            stored,
            all_groups,
        }
    }
}

impl FormPage {
    pub fn in_group(&self, id: &GroupId) -> bool {
        self.form.groups.iter().any(|g| g == id.as_str())
    }

    /// The stored state of `method` while the field still holds the stored value.
    pub fn state(&self, method: &str) -> Option<MethodState> {
        let c = self.stored.as_ref()?;
        let (stored, typed, state) = match method {
            "phone" => (
                c.phone.as_ref().map(PhoneNumber::as_str),
                &self.form.phone,
                c.phone_state(),
            ),
            _ => (
                c.email.as_ref().map(EmailAddress::as_str),
                &self.form.email,
                c.email_state(),
            ),
        };
        (stored == Some(typed.trim())).then_some(state)
    }

    pub fn languages(&self) -> &'static [Language] {
        Language::ALL
    }

    pub fn fallbacks(&self) -> &'static [Fallback] {
        Fallback::ALL
    }

    pub fn action(&self) -> String {
        form::action("/contacts", self.id.as_ref())
    }
}

pub async fn new(console: Console) -> Result<HttpResponse, AppError> {
    let form = ContactForm {
        language: Language::Auto.code().into(),
        fallback: Fallback::Default.code().into(),
        ..Default::default()
    };
    console.form::<FormPage>(Editing::new(form)).await
}

fn conflict_errors(found: Vec<Conflict>) -> FieldErrors {
    let mut errors = FieldErrors::default();
    for c in found {
        match c {
            Conflict::Phone { other } => errors.add(
                "phone",
                format!("This phone number already belongs to contact “{other}”."),
            ),
            Conflict::Email { other } => errors.add(
                "email",
                format!("This email address already belongs to contact “{other}”."),
            ),
        }
    }
    errors
}

pub async fn create(
    console: Console,
    verifications: web::Data<Verifications>,
    form: CheckedForm<ContactForm>,
) -> Result<HttpResponse, AppError> {
    save(console, &verifications, None, form).await
}

pub async fn edit(
    console: Console,
    PathId(id): PathId<ContactId>,
) -> Result<HttpResponse, AppError> {
    let lookup = id.clone();
    let (contact, in_groups) = console
        .run(move |c, user| {
            let contact = contacts::get(c, &user.workspace_id, &lookup)?;
            let in_groups = groups::of_contact(c, &user.workspace_id, &lookup)?;
            let in_groups = in_groups
                .into_iter()
                .map(|(id, _)| id.to_string())
                .collect();
            Ok::<_, StoreError>((contact, in_groups))
        })
        .await?;
    let form = ContactForm::from_contact(&contact, in_groups);
    console.form::<FormPage>(Editing::existing(&id, form)).await
}

pub async fn update(
    console: Console,
    verifications: web::Data<Verifications>,
    PathId(id): PathId<ContactId>,
    form: CheckedForm<ContactForm>,
) -> Result<HttpResponse, AppError> {
    // A contact of another workspace is a 404 before its form is even looked at.
    let lookup = id.clone();
    console
        .run(move |c, user| contacts::get(c, &user.workspace_id, &lookup))
        .await?;
    save(console, &verifications, Some(id), form).await
}

/// Creates (`id` None) or updates a contact; a rejected form comes back with its messages.
async fn save(
    console: Console,
    verifications: &Verifications,
    id: Option<ContactId>,
    CheckedForm { form, refused }: CheckedForm<ContactForm>,
) -> Result<HttpResponse, AppError> {
    let editing = Editing::of(id.as_ref(), form);
    let input = match form::checked::<FormPage, _>(refused, editing.form.parse()) {
        Ok(i) => i,
        Err(errors) => return console.form::<FormPage>(editing.with_errors(errors)).await,
    };
    let name = input.name.as_str().to_string();
    let chosen: Vec<GroupId> = editing
        .form
        .groups
        .iter()
        .filter_map(|g| GroupId::parse(g))
        .collect();
    let ws = console.user.workspace_id.clone();
    match save_contact::save(&console.db, verifications, &ws, id.clone(), input, chosen).await {
        Ok(saved) => {
            let verb = if id.is_some() { "saved" } else { "created" };
            console.flash(Level::Success, format!("Contact “{name}” {verb}."));
            for (method, sent) in saved.links {
                super::verify::flash_sent(&console.session, verifications, method, sent)?;
            }
            Ok(see_other("/contacts"))
        }
        Err(SaveError::Conflicts(found)) => {
            console
                .form::<FormPage>(editing.with_errors(conflict_errors(found)))
                .await
        }
        Err(SaveError::Store(e)) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "contacts/delete.html")]
pub struct DeletePage {
    pub layout: Layout,
    pub contact: Contact,
    /// Groups, schedules and policies the contact will be removed from.
    pub groups: Vec<String>,
    pub schedules: Vec<String>,
    pub policies: Vec<String>,
}

pub async fn confirm_delete(
    console: Console,
    PathId(id): PathId<ContactId>,
) -> Result<HttpResponse, AppError> {
    let (contact, groups, schedules, policies) = console
        .run(move |c, user| {
            let ws = &user.workspace_id;
            let contact = contacts::get(c, ws, &id)?;
            let groups = groups::of_contact(c, ws, &id)?
                .into_iter()
                .map(|(_, name)| name)
                .collect();
            let schedules = schedules::names_with_contact(c, ws, &id)?;
            let policies = policies::names_using(c, ws, &Target::Contact(id))?;
            Ok::<_, StoreError>((contact, groups, schedules, policies))
        })
        .await?;
    let page = DeletePage {
        layout: console.layout(),
        contact,
        groups,
        schedules,
        policies,
    };
    render(StatusCode::OK, &page)
}

pub async fn delete(
    console: Console,
    PathId(id): PathId<ContactId>,
    _: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let contact = console
        .run(move |c, user| {
            let contact = contacts::get(c, &user.workspace_id, &id)?;
            contacts::delete(c, &user.workspace_id, &id)?;
            Ok::<_, StoreError>(contact)
        })
        .await?;
    Ok(console.done(format!("Contact “{}” deleted.", contact.name), "/contacts"))
}

#[derive(Deserialize)]
pub struct UnbindForm {
    #[serde(default)]
    platform: String,
    #[serde(default)]
    back: String,
}

/// Removes a contact's binding on one platform: they are no longer @mentioned there until
/// they bind again from an alert card.
pub async fn unbind(
    console: Console,
    PathId(id): PathId<ContactId>,
    CsrfForm(form): CsrfForm<UnbindForm>,
) -> Result<HttpResponse, AppError> {
    let platform =
        Platform::parse(&form.platform).map_err(|e| AppError::BadRequest(e.to_string()))?;
    let contact = console
        .run(move |c, user| {
            let ws = &user.workspace_id;
            let contact = contacts::get(c, ws, &id)?;
            bindings::unbind(c, ws, &id, platform)?;
            Ok::<_, StoreError>(contact)
        })
        .await?;
    Ok(console.done(
        format!(
            "“{}” is no longer bound on {}: chat messages there name them without an @mention.",
            contact.name,
            platform.label()
        ),
        &super::verify::back_to(&form.back),
    ))
}
