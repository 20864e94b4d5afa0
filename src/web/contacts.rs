//! Notification Objects › Contacts: list with search, create, edit, delete.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use diesel::Connection;
use serde::Deserialize;

use super::auth::{CurrentUser, Editor, Need, Visitor};
use super::csrf::{CsrfForm, NoFields};
use super::layout::{FieldErrors, Layout, render};
use super::session::{self, Level};
use crate::domain::{ContactName, EmailAddress, Fallback, ImUserId, Language, PhoneNumber};
use crate::error::{AppError, see_other};
use crate::store::contacts::{
    self, Changed, Conflict, Contact, ContactInput, MethodState, Page, SaveError,
};
use crate::store::{ContactId, Db, GroupId, groups, workspaces};
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
}

impl IndexPage {
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
    session: Session,
    visitor: Visitor,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let ListQuery { q, page } = q.into_inner();
    // A mangled page number shows the first page rather than an error.
    let page_no = page.and_then(|p| p.trim().parse::<i64>().ok()).unwrap_or(1);
    let search = q.chars().take(100).collect::<String>();
    let s = search.clone();
    let index = db.contact_index();
    let (user, page) = visitor
        .read(&db, Need::Member, move |c, user| {
            Ok(contacts::list(c, &index, &user.workspace_id, &s, page_no)?)
        })
        .await?;
    let mut view = IndexPage {
        layout: Layout::new(&session, &user),
        q: search,
        page,
        back: String::new(),
    };
    view.back = view.page_url(view.page.page);
    render(StatusCode::OK, &view)
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
            phone: c.phone.clone().unwrap_or_default(),
            email: c.email.clone().unwrap_or_default(),
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
    pub contact_id: Option<ContactId>,
    pub form: ContactForm,
    pub errors: FieldErrors,
    pub default_fallback: String,
    /// The contact as stored, when editing: its verification states are shown by the fields.
    pub stored: Option<Contact>,
    /// The workspace's groups to pick from: (id, name).
    pub all_groups: Vec<(GroupId, String)>,
}

impl FormPage {
    pub fn in_group(&self, id: &GroupId) -> bool {
        self.form.groups.iter().any(|g| g == id.as_str())
    }

    /// The stored state of `method` while the field still holds the stored value.
    pub fn state(&self, method: &str) -> Option<MethodState> {
        let c = self.stored.as_ref()?;
        let (stored, typed, state) = match method {
            "phone" => (c.phone.as_deref(), &self.form.phone, c.phone_state()),
            _ => (c.email.as_deref(), &self.form.email, c.email_state()),
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
        match &self.contact_id {
            Some(id) => format!("/contacts/{id}"),
            None => "/contacts".into(),
        }
    }
}

async fn form_page(
    db: &Db,
    session: &Session,
    user: &CurrentUser,
    contact_id: Option<ContactId>,
    form: ContactForm,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let ws = user.workspace_id.clone();
    let lookup = contact_id.clone();
    let (workspace, stored, all_groups) = db
        .run(move |c| {
            let workspace = workspaces::get(c, &ws)?;
            let stored = match &lookup {
                Some(id) => Some(contacts::get(c, &ws, id)?),
                None => None,
            };
            let all_groups = groups::list(c, &ws)?
                .into_iter()
                .map(|g| (g.id, g.name))
                .collect();
            Ok::<_, crate::store::StoreError>((workspace, stored, all_groups))
        })
        .await?;
    let page = FormPage {
        layout: Layout::new(session, user),
        contact_id,
        form,
        errors,
        default_fallback: workspace.default_fallback().label().to_string(),
        stored,
        all_groups,
    };
    render(status, &page)
}

pub async fn new(
    db: web::Data<Db>,
    session: Session,
    Editor(user): Editor,
) -> Result<HttpResponse, AppError> {
    let form = ContactForm {
        language: Language::Auto.code().into(),
        fallback: Fallback::Default.code().into(),
        ..Default::default()
    };
    form_page(
        &db,
        &session,
        &user,
        None,
        form,
        FieldErrors::default(),
        StatusCode::OK,
    )
    .await
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
    db: web::Data<Db>,
    session: Session,
    verifications: web::Data<Verifications>,
    Editor(user): Editor,
    CsrfForm(form): CsrfForm<ContactForm>,
) -> Result<HttpResponse, AppError> {
    save(&db, &session, &verifications, &user, None, form).await
}

/// Creates (`id` None) or updates a contact; a rejected form comes back with its messages.
async fn save(
    db: &Db,
    session: &Session,
    verifications: &Verifications,
    user: &CurrentUser,
    id: Option<ContactId>,
    form: ContactForm,
) -> Result<HttpResponse, AppError> {
    let input = match form.parse() {
        Ok(i) => i,
        Err(errors) => {
            return form_page(
                db,
                session,
                user,
                id,
                form,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let ws = user.workspace_id.clone();
    let (target, saved) = (id.clone(), input.clone());
    let chosen_groups: Vec<GroupId> = form
        .groups
        .iter()
        .filter_map(|g| GroupId::parse(g))
        .collect();
    let result = db
        .run(move |c| {
            c.transaction(|c| {
                let (id, changed) = match &target {
                    Some(id) => (id.clone(), contacts::update(c, &ws, id, &saved)?),
                    None => {
                        let id = contacts::create(c, &ws, &saved)?;
                        let changed = Changed {
                            phone: saved.phone.is_some(),
                            email: saved.email.is_some(),
                        };
                        (id, changed)
                    }
                };
                groups::set_for_contact(c, &ws, &id, &chosen_groups)?;
                Ok::<_, SaveError>((id, changed))
            })
        })
        .await;
    match result {
        Ok((saved_id, changed)) => {
            let verb = if id.is_some() { "saved" } else { "created" };
            session::flash(
                session,
                Level::Success,
                format!("Contact “{}” {verb}.", input.name.as_str()),
            );
            // A new or changed number or address waits for activation: send its link now.
            for method in changed.methods() {
                let sent = verifications
                    .send_link(&user.workspace_id, &saved_id, method)
                    .await;
                super::verify::flash_sent(session, verifications, method, sent)?;
            }
            Ok(see_other("/contacts"))
        }
        Err(SaveError::Conflicts(found)) => {
            form_page(
                db,
                session,
                user,
                id,
                form,
                conflict_errors(found),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(SaveError::Store(e)) => Err(e.into()),
    }
}

fn parse_id(raw: &str) -> Result<ContactId, AppError> {
    ContactId::parse(raw).ok_or(AppError::NotFound)
}

pub async fn edit(
    db: web::Data<Db>,
    session: Session,
    Editor(user): Editor,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path)?;
    let ws = user.workspace_id.clone();
    let lookup = id.clone();
    let (contact, in_groups) = db
        .run(move |c| {
            let contact = contacts::get(c, &ws, &lookup)?;
            let in_groups = groups::ids_for_contact(c, &ws, &lookup)?;
            Ok::<_, crate::store::StoreError>((contact, in_groups))
        })
        .await?;
    form_page(
        &db,
        &session,
        &user,
        Some(id),
        ContactForm::from_contact(&contact, in_groups),
        FieldErrors::default(),
        StatusCode::OK,
    )
    .await
}

pub async fn update(
    db: web::Data<Db>,
    session: Session,
    verifications: web::Data<Verifications>,
    Editor(user): Editor,
    path: web::Path<String>,
    CsrfForm(form): CsrfForm<ContactForm>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path)?;
    // A contact of another workspace is a 404 before its form is even looked at.
    let ws = user.workspace_id.clone();
    let lookup = id.clone();
    db.run(move |c| contacts::get(c, &ws, &lookup)).await?;
    save(&db, &session, &verifications, &user, Some(id), form).await
}

#[derive(Template)]
#[template(path = "contacts/delete.html")]
pub struct DeletePage {
    pub layout: Layout,
    pub contact: Contact,
    /// Groups and policies the contact will be removed from.
    pub groups: Vec<String>,
    pub policies: Vec<String>,
}

pub async fn confirm_delete(
    db: web::Data<Db>,
    session: Session,
    Editor(user): Editor,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path)?;
    let ws = user.workspace_id.clone();
    let (contact, groups, policies) = db
        .run(move |c| {
            let contact = contacts::get(c, &ws, &id)?;
            let groups = crate::store::groups::names_for_contact(c, &ws, &id)?;
            let policies = crate::store::policies::names_using(
                c,
                &ws,
                &crate::domain::policy::Target::Contact(id.clone()),
            )?;
            Ok::<_, crate::store::StoreError>((contact, groups, policies))
        })
        .await?;
    render(
        StatusCode::OK,
        &DeletePage {
            layout: Layout::new(&session, &user),
            contact,
            groups,
            policies,
        },
    )
}

pub async fn delete(
    db: web::Data<Db>,
    session: Session,
    Editor(user): Editor,
    path: web::Path<String>,
    _: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path)?;
    let ws = user.workspace_id.clone();
    let contact = db
        .run(move |c| {
            let contact = contacts::get(c, &ws, &id)?;
            contacts::delete(c, &ws, &id)?;
            Ok::<_, crate::store::StoreError>(contact)
        })
        .await?;
    session::flash(
        &session,
        Level::Success,
        format!("Contact “{}” deleted.", contact.name),
    );
    Ok(see_other("/contacts"))
}
