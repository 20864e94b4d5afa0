//! Notification Objects › Contact Groups: list (members shown by expanding a row), create,
//! edit, delete. A group a policy uses cannot be deleted; only its creator or an owner may.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::auth::Visitor;
use super::form::{
    self, Deletable, EditForm, EditScreen, Editing, FormScreen, Named, Protected, Refused, Scope,
};
use super::layout::{FieldErrors, Layout};
use crate::domain::ObjectName;
use crate::error::AppError;
use crate::outbound::TargetPolicy;
use crate::store::contacts::{self, Contact};
use crate::store::groups::{self, Group, SaveError};
use crate::store::{ContactId, Db, GroupId, StoreResult};

#[derive(Template)]
#[template(path = "groups/index.html")]
pub struct IndexPage {
    pub layout: Layout,
    pub groups: Vec<Group>,
}

pub async fn index(db: web::Data<Db>, visitor: Visitor) -> Result<HttpResponse, AppError> {
    let page = |layout, groups| IndexPage { layout, groups };
    visitor.listing(&db, groups::list, page).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct GroupForm {
    pub name: String,
    pub members: Vec<String>,
}

#[derive(Template)]
#[template(path = "groups/form.html")]
pub struct FormPage {
    pub layout: Layout,
    pub id: Option<String>,
    pub form: GroupForm,
    pub errors: FieldErrors,
    pub contacts: Vec<Contact>,
}

impl FormScreen for FormPage {
    type Form = GroupForm;
    type Choices = Vec<Contact>;

    fn choices(s: Scope<'_>, _: Option<&str>) -> StoreResult<Vec<Contact>> {
        contacts::all_matching(s.c, s.index, s.ws, "")
    }

    fn build(layout: Layout, editing: Editing<GroupForm>, contacts: Vec<Contact>) -> Self {
        let (id, form, errors) = editing.into_parts();
        FormPage {
            layout,
            id,
            form,
            errors,
            contacts,
        }
    }
}

impl FormPage {
    pub fn action(&self) -> String {
        form::action("/groups", self.id.as_ref())
    }

    pub fn checked(&self, id: &ContactId) -> bool {
        self.form.members.iter().any(|m| m == id.as_str())
    }
}

/// A group as its form saves it.
pub struct GroupInput {
    name: ObjectName,
    members: Vec<ContactId>,
}

impl Named for GroupInput {
    fn name(&self) -> &str {
        self.name.as_str()
    }
}

impl EditForm for GroupForm {
    type Stored = Group;
    type Input = GroupInput;

    fn from_stored(stored: &Group) -> Self {
        GroupForm {
            members: stored.members.iter().map(|m| m.id.to_string()).collect(),
            name: stored.name.clone(),
        }
    }

    fn parse(&self, _: TargetPolicy) -> Result<GroupInput, FieldErrors> {
        let mut errors = FieldErrors::default();
        let name = ObjectName::parse(&self.name)
            .map_err(|e| errors.add("name", e))
            .ok();
        let members: Option<Vec<ContactId>> =
            self.members.iter().map(|m| ContactId::parse(m)).collect();
        if members.is_none() {
            errors.add("members", SaveError::UnknownMember.to_string());
        }
        match (name, members) {
            (Some(name), Some(members)) => Ok(GroupInput { name, members }),
            _ => Err(errors),
        }
    }
}

impl EditScreen for FormPage {
    const BASE: &'static str = "/groups";
    const NOUN: &'static str = "Group";

    fn save(
        s: Scope<'_>,
        id: Option<&GroupId>,
        group: &GroupInput,
    ) -> Result<Vec<String>, Refused> {
        let GroupInput { name, members } = group;
        let saved = match id {
            Some(id) => groups::update(s.c, s.ws, id, name, members),
            None => groups::create(s.c, s.ws, &s.user.user_id, name, members).map(|_| ()),
        };
        match saved {
            Ok(()) => Ok(Vec::new()),
            Err(SaveError::Store(e)) => Err(Refused::Store(e)),
            Err(e @ SaveError::NameTaken(_)) => {
                Err(Refused::Fields(FieldErrors::one("name", e.to_string())))
            }
            Err(e @ SaveError::UnknownMember) => {
                Err(Refused::Fields(FieldErrors::one("members", e.to_string())))
            }
        }
    }
}

/// A policy's use protects it from deletion: the confirmation page names those policies.
pub struct Groups;

impl Protected for Groups {}

impl Deletable for Groups {
    type Stored = Group;
    const BASE: &'static str = "/groups";
    const NOUN: &'static str = "group";

    fn describe(g: &Group) -> (String, String) {
        let n = g.members.len();
        let s = if n == 1 { "" } else { "s" };
        let what = format!("{n} member{s}. The contacts themselves are kept.");
        (g.name.clone(), what)
    }
}
