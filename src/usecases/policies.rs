//! Saving a notification policy: its objects checked against the workspace (each still there,
//! numbers verified for calls and SMS), then stored; warnings for group members who cannot
//! take calls or SMS yet.

use crate::domain::Problems;
use crate::domain::ids::{PolicyId, UserId, WorkspaceId};
use crate::domain::policy::Target;
use crate::store::contact_index::ContactIndex;
use crate::store::named::SaveError;
use crate::store::policies::{self, PolicyInput};
use crate::store::{DbConn, DbError, StoreError};

use super::routing::{Objects, objects};

#[derive(Debug, thiserror::Error)]
pub enum SavePolicyError {
    /// Fields to correct, with what is wrong.
    #[error("the policy has problems")]
    Invalid(Problems),
    /// An object was deleted while the form was open.
    #[error("an object was deleted meanwhile")]
    Conflict(Problems),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<DbError> for SavePolicyError {
    fn from(e: DbError) -> Self {
        SavePolicyError::Store(e.into())
    }
}

pub struct Saved {
    pub id: PolicyId,
    /// Things the admin should know, that do not stop the save.
    pub warnings: Vec<String>,
}

/// Creates (`id` None) or updates the policy.
pub fn save(
    conn: &mut DbConn,
    index: &ContactIndex,
    ws: &WorkspaceId,
    user: &UserId,
    id: Option<&PolicyId>,
    input: &PolicyInput,
) -> Result<Saved, SavePolicyError> {
    if let Some(id) = id {
        policies::get(conn, ws, id)?;
    }
    let objects = objects(conn, index, ws)?;
    let problems = check(&objects, input);
    if !problems.is_empty() {
        return Err(SavePolicyError::Invalid(problems));
    }
    let warnings = group_warnings(&objects, input);
    match policies::save(conn, ws, user, id, input) {
        Ok(id) => Ok(Saved { id, warnings }),
        Err(e @ SaveError::NameTaken { .. }) => {
            Err(SavePolicyError::Invalid(vec![("name", e.to_string())]))
        }
        Err(SaveError::Store(StoreError::NotFound))
            if id.is_none_or(|id| policies::get(conn, ws, id).is_ok()) =>
        {
            Err(SavePolicyError::Conflict(vec![(
                "objects",
                "One of the chosen objects was deleted meanwhile: check the choices and save again."
                    .into(),
            )]))
        }
        Err(SaveError::Store(e)) => Err(e.into()),
    }
}

/// Every chosen object must be the workspace's; calls and SMS need verified numbers.
pub fn check(objects: &Objects, input: &PolicyInput) -> Problems {
    let mut problems = Problems::new();
    let field = |t: &Target| match t {
        Target::Contact(_) => "contacts",
        Target::Group(_) => "groups",
        Target::Schedule(_) => "schedules",
        Target::Chatbot(_) => "chatbots",
        Target::Webhook(_) => "webhooks",
    };
    let mut gone: Vec<&'static str> = input
        .targets
        .iter()
        .filter(|t| objects.name_of(t).is_none())
        .map(field)
        .collect();
    gone.dedup();
    for f in gone {
        problems.push((
            f,
            "Choose from the list: one of these no longer exists.".into(),
        ));
    }
    if input.methods.iter().any(|m| m.needs_verified_phone()) {
        let unusable: Vec<String> = input
            .targets
            .iter()
            .filter_map(|t| match t {
                Target::Contact(id) => objects.contacts.iter().find(|c| &c.id == id),
                _ => None,
            })
            .filter(|c| c.usable_phone().is_none())
            .map(|c| match c.phone() {
                Some(p) => format!("{} ({} is not verified)", c.name, p.masked()),
                None => format!("{} (no phone number)", c.name),
            })
            .collect();
        if !unusable.is_empty() {
            problems.push((
                "contacts",
                format!(
                    "Phone calls and SMS need a verified number: {}. Verify the numbers on the Contacts page, or choose email only.",
                    unusable.join(", ")
                ),
            ));
        }
    }
    problems
}

/// Members of the chosen groups, and participants of the chosen schedules, that cannot take
/// calls or SMS: one line per group or schedule.
pub fn group_warnings(objects: &Objects, input: &PolicyInput) -> Vec<String> {
    if !input.methods.iter().any(|m| m.needs_verified_phone()) {
        return Vec::new();
    }
    let groups = objects
        .groups
        .iter()
        .filter(|g| input.targets.contains(&Target::Group(g.id.clone())))
        .filter_map(|g| {
            let names: Vec<String> = g.unverified().iter().map(|m| m.name.clone()).collect();
            (!names.is_empty()).then(|| {
                format!(
                    "Group “{}”: {} will get no phone calls or SMS until their numbers are verified.",
                    g.name,
                    names.join(", ")
                )
            })
        });
    let schedules = objects
        .schedules
        .iter()
        .filter(|s| input.targets.contains(&Target::Schedule(s.id.clone())))
        .filter_map(|s| {
            let names: Vec<&str> = objects
                .contacts
                .iter()
                .filter(|c| s.rules.participants.contains(&c.id) && c.usable_phone().is_none())
                .map(|c| c.name.as_str())
                .collect();
            (!names.is_empty()).then(|| {
                format!(
                    "Schedule “{}”: {} will get no phone calls or SMS while on duty until their numbers are verified.",
                    s.name,
                    names.join(", ")
                )
            })
        });
    groups.chain(schedules).collect()
}
