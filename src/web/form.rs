//! The scaffold every create/edit/delete page is built from: a typed id from the path, the
//! signed-in editor with their database access, and one way to show a form with its values and
//! field errors. A handler reads as: parse, one call, respond.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use actix_session::{Session, SessionExt};
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use askama::Template;
use serde::de::DeserializeOwned;

use super::auth::{CurrentUser, Need};
use super::csrf::{CheckedForm, CsrfForm, NoFields};
use super::layout::{FieldErrors, Layout, quoted, removed_from_policies, render};
use super::session::{self, Level};
use crate::domain::ids::{
    AlertId, ApiTokenId, ChatbotId, ContactId, DeliveryId, GroupId, PolicyId, ScheduleId, UserId,
    WebhookId, WorkspaceId,
};
use crate::error::{AppError, see_other};
use crate::outbound::TargetPolicy;
use crate::store::contact_index::ContactIndex;
use crate::store::{self, Db, DbConn, DbError, Lookup, StoreError, StoreResult, policies};

/// An id from the path (`/contacts/{id}`): one that cannot be an id is a 404 before any query;
/// one of another workspace is a 404 too, because every store lookup is scoped to the
/// signed-in user's workspace.
pub struct PathId<T>(pub T);

/// Ids that can come from a path.
pub trait FromPath: Sized {
    fn from_path(s: &str) -> Option<Self>;
}

/// Dev outbox entries are named by their UUID text.
impl FromPath for String {
    fn from_path(s: &str) -> Option<Self> {
        (s.len() == 36 && s.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-'))
            .then(|| s.to_string())
    }
}

macro_rules! ids_from_path {
    ($($t:ty),+) => {$(
        impl FromPath for $t {
            fn from_path(s: &str) -> Option<Self> {
                <$t>::parse(s)
            }
        }
    )+};
}
ids_from_path!(
    ContactId,
    GroupId,
    ScheduleId,
    ChatbotId,
    WebhookId,
    PolicyId,
    UserId,
    WorkspaceId,
    ApiTokenId,
    AlertId,
    DeliveryId
);

impl<T: FromPath + 'static> FromRequest for PathId<T> {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // Every page names its one id as the path's first parameter.
        let id = req
            .match_info()
            .iter()
            .next()
            .and_then(|(_, v)| T::from_path(v));
        std::future::ready(id.map(PathId).ok_or(AppError::NotFound))
    }
}

/// Who may use a [`Console`]: its type parameter.
pub trait Access: 'static {
    const NEED: Need;
}

/// Signed in, even with a one-time password still to replace (the account page).
pub struct SignedIn;
/// Any member of the workspace, viewers too.
pub struct Members;
/// Owners and admins (viewers get 403): the default, for create/edit/delete.
pub struct Editors;
/// Owners only.
pub struct Owners;

impl Access for SignedIn {
    const NEED: Need = Need::SignedIn;
}
impl Access for Members {
    const NEED: Need = Need::Member;
}
impl Access for Editors {
    const NEED: Need = Need::Editor;
}
impl Access for Owners {
    const NEED: Need = Need::Owner;
}

/// The signed-in user, checked for `A`, with the database and the session: what a console
/// handler needs.
pub struct Console<A: Access = Editors> {
    pub db: web::Data<Db>,
    pub session: Session,
    pub user: CurrentUser,
    access: PhantomData<A>,
}

impl<A: Access> FromRequest for Console<A> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let user = super::auth::load(req.clone(), A::NEED).await?;
            let db = req
                .app_data::<web::Data<Db>>()
                .cloned()
                .ok_or_else(|| AppError::Other(anyhow::anyhow!("no database")))?;
            let session = req.get_session();
            Ok(Console {
                db,
                session,
                user,
                access: PhantomData,
            })
        })
    }
}

impl<A: Access> Console<A> {
    /// Runs `f` on a pooled connection as the signed-in user (their workspace, id and role).
    pub async fn run<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn, &CurrentUser) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let user = self.user.clone();
        self.db.run(move |c| f(c, &user)).await
    }

    pub fn contact_index(&self) -> std::sync::Arc<ContactIndex> {
        self.db.contact_index()
    }

    pub fn layout(&self) -> Layout {
        Layout::new(&self.session, &self.user)
    }

    pub fn flash(&self, level: Level, message: impl Into<String>) {
        session::flash(&self.session, level, message);
    }

    /// A change is done: say so and go to `to` (303).
    pub fn done(&self, message: impl Into<String>, to: &str) -> HttpResponse {
        self.flash(Level::Success, message);
        see_other(to)
    }

    /// Shows a create/edit page: its choices are loaded, then the page is rendered with the
    /// values and errors in `editing` (422 when there are errors, 409 for a conflict).
    pub async fn form<P: FormScreen>(
        &self,
        editing: Editing<P::Form>,
    ) -> Result<HttpResponse, AppError> {
        self.form_with::<P>(editing, |_| {}).await
    }

    /// [`Console::form`] with something more on the page (a preview, a test's outcome).
    pub async fn form_with<P: FormScreen>(
        &self,
        editing: Editing<P::Form>,
        more: impl FnOnce(&mut P),
    ) -> Result<HttpResponse, AppError> {
        let (index, id) = (self.contact_index(), editing.id.clone());
        let choices = self
            .run(move |c, user| P::choices(Scope::new(c, &index, user), id.as_deref()))
            .await?;
        let status = editing.status();
        let mut page = P::build(self.layout(), editing, choices);
        more(&mut page);
        render(status, &page)
    }
}

/// A create or edit form as shown: the id being edited (None: creating), the values, and the
/// errors to show beside their fields.
pub struct Editing<F> {
    pub id: Option<String>,
    pub form: F,
    pub errors: FieldErrors,
    /// Set for a conflict with a concurrent change (409); otherwise errors mean 422.
    pub conflict: bool,
}

impl<F> Editing<F> {
    pub fn new(form: F) -> Self {
        Editing {
            id: None,
            form,
            errors: FieldErrors::default(),
            conflict: false,
        }
    }

    /// The form of an object that exists, to save under `id`.
    pub fn existing(id: &impl std::fmt::Display, form: F) -> Self {
        Editing {
            id: Some(id.to_string()),
            ..Editing::new(form)
        }
    }

    /// `existing` or `new`, as the handler has an id or not.
    pub fn of<I: std::fmt::Display>(id: Option<&I>, form: F) -> Self {
        match id {
            Some(id) => Editing::existing(id, form),
            None => Editing::new(form),
        }
    }

    pub fn with_errors(mut self, errors: FieldErrors) -> Self {
        self.errors = errors;
        self
    }

    pub fn status(&self) -> StatusCode {
        if self.conflict {
            StatusCode::CONFLICT
        } else if self.errors.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        }
    }

    /// The id, the values and the errors, for the page to hold.
    pub fn into_parts(self) -> (Option<String>, F, FieldErrors) {
        (self.id, self.form, self.errors)
    }
}

/// Where a form posts: `base` to create, `base/{id}` to save.
pub fn action(base: &str, id: Option<&String>) -> String {
    match id {
        Some(id) => format!("{base}/{id}"),
        None => base.to_string(),
    }
}

/// What a form page loads and saves with: a pooled connection, the contact index, and the
/// signed-in user with their workspace.
pub struct Scope<'a> {
    pub c: &'a mut DbConn,
    pub index: &'a ContactIndex,
    pub user: &'a CurrentUser,
    pub ws: &'a WorkspaceId,
}

impl<'a> Scope<'a> {
    pub fn new(c: &'a mut DbConn, index: &'a ContactIndex, user: &'a CurrentUser) -> Self {
        Scope {
            c,
            index,
            user,
            ws: &user.workspace_id,
        }
    }
}

/// A create/edit page: what it offers to choose from, and how it is put together.
pub trait FormScreen: Template + Sized {
    type Form: Send + 'static;
    type Choices: Send + 'static;

    /// Loaded for every showing of the form; `id` is the object being edited, if any.
    fn choices(s: Scope<'_>, id: Option<&str>) -> StoreResult<Self::Choices>;

    fn build(layout: Layout, editing: Editing<Self::Form>, choices: Self::Choices) -> Self;

    /// The field whose error shows a problem in the submitted field `raw` (rows of inputs show
    /// one error for all of them).
    fn shown_field(raw: &str) -> String {
        raw.to_string()
    }
}

/// A form as checked: `parsed` unless a field was refused at the edge (a control character)
/// or does not parse; then every error, under the fields the page shows.
pub fn checked<P: FormScreen, T>(
    refused: FieldErrors,
    parsed: Result<T, FieldErrors>,
) -> Result<T, FieldErrors> {
    let mut errors = refused.renamed(P::shown_field);
    match parsed {
        Ok(value) if errors.is_empty() => Ok(value),
        Ok(_) => Err(errors),
        Err(e) => {
            errors.merge(e);
            Err(errors)
        }
    }
}

/// Why a save did not happen, as a create/edit page shows it.
#[derive(Debug)]
pub enum Refused {
    /// Fields to correct (422).
    Fields(FieldErrors),
    /// Something changed meanwhile (409); the form comes back to be checked and sent again.
    Conflict(FieldErrors),
    /// Not a problem with the form: the object is gone (404) or the database failed.
    Store(StoreError),
}

impl From<StoreError> for Refused {
    fn from(e: StoreError) -> Self {
        Refused::Store(e)
    }
}

impl From<DbError> for Refused {
    fn from(e: DbError) -> Self {
        Refused::Store(e.into())
    }
}

impl From<crate::store::named::SaveError> for Refused {
    fn from(e: crate::store::named::SaveError) -> Self {
        use crate::store::named::SaveError;
        match e {
            SaveError::NameTaken { .. } => Refused::Fields(FieldErrors::one("name", e.to_string())),
            SaveError::Store(e) => Refused::Store(e),
        }
    }
}

/// The submitted form of an object: filled from the stored object, and parsed (every field
/// checked, all problems at once) into what the store saves.
pub trait EditForm: DeserializeOwned + Default + Send + 'static {
    type Stored: Lookup + Send + 'static;
    type Input: Named + Send + 'static;

    fn from_stored(stored: &Self::Stored) -> Self;

    fn parse(&self, targets: TargetPolicy) -> Result<Self::Input, FieldErrors>;
}

/// What a saved object is called in the sentence that confirms the save.
pub trait Named {
    fn name(&self) -> &str;
}

/// The id an [`EditScreen`] edits.
pub type IdOf<P> = <<<P as FormScreen>::Form as EditForm>::Stored as Lookup>::Id;
type InputOf<P> = <<P as FormScreen>::Form as EditForm>::Input;
type StoredOf<P> = <<P as FormScreen>::Form as EditForm>::Stored;

/// A page that creates and edits one kind of object: the generic [`new`], [`edit`],
/// [`create`] and [`update`] handlers do the rest.
pub trait EditScreen: FormScreen<Form: EditForm> {
    /// Where the list is and forms post (`/groups`).
    const BASE: &'static str;
    /// The object as sentences name it (`Group`).
    const NOUN: &'static str;

    /// The form for a new object.
    fn blank() -> Self::Form {
        Self::Form::default()
    }

    /// Stores it; the answer is what the admin should know but does not stop the save.
    fn save(
        s: Scope<'_>,
        id: Option<&IdOf<Self>>,
        input: &InputOf<Self>,
    ) -> Result<Vec<String>, Refused>;
}

/// A save with nothing more to tell than that it happened.
pub fn saved<T>(result: Result<T, crate::store::named::SaveError>) -> Result<Vec<String>, Refused> {
    result.map(|_| Vec::new()).map_err(Refused::from)
}

/// The workspace's object `id`, as stored (404 when it is not the workspace's).
pub async fn stored<P: EditScreen>(
    console: &Console,
    id: &IdOf<P>,
) -> Result<StoredOf<P>, AppError> {
    let id = id.clone();
    Ok(console
        .run(move |c, user| StoredOf::<P>::get(c, &user.workspace_id, &id))
        .await?)
}

/// `?id=` on the Preview and Send test buttons of an edit form: which object is being edited.
#[derive(Debug, Default, serde::Deserialize)]
pub struct EditingQuery {
    #[serde(default)]
    id: String,
}

impl EditingQuery {
    pub fn id<T: FromPath>(&self) -> Option<T> {
        T::from_path(&self.id)
    }
}

pub async fn new<P: EditScreen>(console: Console) -> Result<HttpResponse, AppError> {
    console.form::<P>(Editing::new(P::blank())).await
}

pub async fn edit<P: EditScreen>(
    console: Console,
    PathId(id): PathId<IdOf<P>>,
) -> Result<HttpResponse, AppError> {
    let form = P::Form::from_stored(&stored::<P>(&console, &id).await?);
    console.form::<P>(Editing::existing(&id, form)).await
}

pub async fn create<P: EditScreen>(
    console: Console,
    targets: web::Data<TargetPolicy>,
    form: CheckedForm<P::Form>,
) -> Result<HttpResponse, AppError> {
    save::<P>(console, **targets, None, form).await
}

pub async fn update<P: EditScreen>(
    console: Console,
    targets: web::Data<TargetPolicy>,
    PathId(id): PathId<IdOf<P>>,
    form: CheckedForm<P::Form>,
) -> Result<HttpResponse, AppError> {
    // Gone, or another workspace's: 404 before the form is looked at.
    stored::<P>(&console, &id).await?;
    save::<P>(console, **targets, Some(id), form).await
}

async fn save<P: EditScreen>(
    console: Console,
    targets: TargetPolicy,
    id: Option<IdOf<P>>,
    CheckedForm { form, refused }: CheckedForm<P::Form>,
) -> Result<HttpResponse, AppError> {
    let editing = Editing::of(id.as_ref(), form);
    let input = match checked::<P, _>(refused, editing.form.parse(targets)) {
        Ok(input) => input,
        Err(errors) => return console.form::<P>(editing.with_errors(errors)).await,
    };
    let name = input.name().to_string();
    let (index, target) = (console.contact_index(), id.clone());
    let result = console
        .run(move |c, user| P::save(Scope::new(c, &index, user), target.as_ref(), &input))
        .await;
    match result {
        Ok(notes) => {
            let verb = if id.is_some() { "saved" } else { "created" };
            console.flash(Level::Success, format!("{} “{name}” {verb}.", P::NOUN));
            for note in notes {
                console.flash(Level::Info, note);
            }
            Ok(see_other(P::BASE))
        }
        Err(Refused::Fields(errors)) => console.form::<P>(editing.with_errors(errors)).await,
        Err(Refused::Conflict(errors)) => {
            let mut editing = editing.with_errors(errors);
            editing.conflict = true;
            console.form::<P>(editing).await
        }
        Err(Refused::Store(e)) => Err(e.into()),
    }
}

/// An object policies name, deleted from a confirmation page that names those policies.
pub trait Deletable: 'static {
    type Stored: store::Targeted<Id: FromPath> + Send + 'static;
    /// Where the list is (`/chatbots`).
    const BASE: &'static str;
    /// The object as sentences name it (`chatbot`).
    const NOUN: &'static str;

    /// The object's name, and a line saying what deleting it does.
    fn describe(stored: &Self::Stored) -> (String, String);
}

/// Deleting takes it out of the policies that use it (chatbots, webhooks).
pub trait Removable: Deletable<Stored: store::Removable> {}

/// A policy's use protects it from deletion (groups, schedules): the confirmation page names
/// those policies and offers no button while any use it; only its creator or an owner may
/// delete it.
pub trait Protected: Deletable<Stored: store::Protected> {}

type DeletableId<D> = <<D as Deletable>::Stored as Lookup>::Id;

#[derive(Template)]
#[template(path = "delete.html")]
pub struct ConfirmDelete {
    pub layout: Layout,
    pub noun: &'static str,
    pub name: String,
    pub detail: String,
    pub action: String,
    pub back: &'static str,
    /// Policies that use it.
    pub used_by: Vec<String>,
    /// Whether those policies block the delete, rather than losing it.
    pub protected: bool,
    pub may_delete: bool,
}

/// The confirmation page; `guard` says, for a protected object, whether this user may delete
/// it (None: anyone who edits may, and the policies lose it).
async fn confirm_page<D: Deletable>(
    console: Console,
    id: DeletableId<D>,
    guard: fn(&CurrentUser, &D::Stored) -> Option<bool>,
) -> Result<HttpResponse, AppError> {
    let action = format!("{}/{id}/delete", D::BASE);
    let (stored, used_by) = console
        .run(move |c, user| {
            let stored = D::Stored::get(c, &user.workspace_id, &id)?;
            let target = <D::Stored as store::Targeted>::target(&id);
            let used = policies::names_using(c, &user.workspace_id, &target)?;
            Ok::<_, StoreError>((stored, used))
        })
        .await?;
    let (name, detail) = D::describe(&stored);
    let rule = guard(&console.user, &stored);
    let page = ConfirmDelete {
        layout: console.layout(),
        noun: D::NOUN,
        name,
        detail,
        action,
        back: D::BASE,
        used_by,
        protected: rule.is_some(),
        may_delete: rule.unwrap_or(true),
    };
    render(StatusCode::OK, &page)
}

pub async fn confirm_delete<R: Removable>(
    console: Console,
    PathId(id): PathId<DeletableId<R>>,
) -> Result<HttpResponse, AppError> {
    confirm_page::<R>(console, id, |_, _| None).await
}

pub async fn delete<R: Removable>(
    console: Console,
    PathId(id): PathId<DeletableId<R>>,
    _: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let (name, policies) = console
        .run(move |c, user| {
            let ws = &user.workspace_id;
            let (name, _) = R::describe(&R::Stored::get(c, ws, &id)?);
            Ok::<_, StoreError>((name, <R::Stored as store::Removable>::delete(c, ws, &id)?))
        })
        .await?;
    let also = removed_from_policies(&policies);
    let noun = capitalized(R::NOUN);
    Ok(console.done(format!("{noun} “{name}” deleted.{also}"), R::BASE))
}

fn may_delete<S: store::Protected>(user: &CurrentUser, stored: &S) -> bool {
    user.role.is_owner() || stored.created_by() == Some(&user.user_id)
}

pub async fn confirm_protected_delete<P: Protected>(
    console: Console,
    PathId(id): PathId<DeletableId<P>>,
) -> Result<HttpResponse, AppError> {
    confirm_page::<P>(console, id, |user, stored| Some(may_delete(user, stored))).await
}

pub async fn delete_protected<P: Protected>(
    console: Console,
    PathId(id): PathId<DeletableId<P>>,
    _: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let lookup = id.clone();
    let stored = console
        .run(move |c, user| P::Stored::get(c, &user.workspace_id, &lookup))
        .await?;
    if !may_delete(&console.user, &stored) {
        return Err(AppError::Forbidden);
    }
    let (name, _) = P::describe(&stored);
    let noun = capitalized(P::NOUN);
    let deleted = console
        .run(move |c, user| <P::Stored as store::Protected>::delete(c, &user.workspace_id, &id))
        .await;
    match deleted {
        Ok(()) => Ok(console.done(format!("{noun} “{name}” deleted."), P::BASE)),
        Err(store::named::DeleteError::InUse(policies)) => {
            let policies = quoted(&policies);
            console.flash(
                Level::Error,
                format!("{noun} “{name}” is used by the notification policies {policies}: remove it from them first."),
            );
            Ok(see_other(P::BASE))
        }
        Err(store::named::DeleteError::Store(e)) => Err(e.into()),
    }
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
