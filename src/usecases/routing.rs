//! Routing an alert in a workspace: its policies and objects loaded, then the domain's `route`.

use std::collections::{BTreeMap, HashMap};

use crate::domain::ids::ContactId;
use crate::domain::policy::Target;
use crate::domain::routing::{
    self, ChatbotEntry, Directory, OnCall, Person, Route, Team, WebhookEntry,
};
use crate::domain::{Platform, Policy};
use crate::store::bindings::{self, Binding};
use crate::store::chatbots::Chatbot;
use crate::store::contact_index::ContactIndex;
use crate::store::contacts::Contact;
use crate::store::groups::Group;
use crate::store::schedules::Schedule;
use crate::store::webhooks::Webhook;
use crate::store::{
    DbConn, StoreResult, WorkspaceId, chatbots, contacts, groups, now, policies, schedules,
    webhooks,
};

/// Everything a policy can name in one workspace, as the store lists it.
pub struct Objects {
    pub contacts: Vec<Contact>,
    pub groups: Vec<Group>,
    pub schedules: Vec<Schedule>,
    pub chatbots: Vec<Chatbot>,
    pub webhooks: Vec<Webhook>,
    pub bindings: Vec<Binding>,
}

pub fn objects(conn: &mut DbConn, index: &ContactIndex, ws: &WorkspaceId) -> StoreResult<Objects> {
    Ok(Objects {
        contacts: contacts::all_matching(conn, index, ws, "")?,
        groups: groups::list(conn, ws)?,
        schedules: schedules::list(conn, ws)?,
        chatbots: chatbots::list(conn, ws)?,
        webhooks: webhooks::list(conn, ws)?,
        bindings: bindings::list(conn, ws)?,
    })
}

impl Objects {
    /// The name of the object `target` names, when it is one of these.
    pub fn name_of(&self, target: &Target) -> Option<&str> {
        match target {
            Target::Contact(id) => self
                .contacts
                .iter()
                .find(|c| &c.id == id)
                .map(|c| c.name.as_str()),
            Target::Group(id) => self
                .groups
                .iter()
                .find(|g| &g.id == id)
                .map(|g| g.name.as_str()),
            Target::Schedule(id) => self
                .schedules
                .iter()
                .find(|s| &s.id == id)
                .map(|s| s.name.as_str()),
            Target::Chatbot(id) => self
                .chatbots
                .iter()
                .find(|b| &b.id == id)
                .map(|b| b.name.as_str()),
            Target::Webhook(id) => self
                .webhooks
                .iter()
                .find(|w| &w.id == id)
                .map(|w| w.name.as_str()),
        }
    }

    /// The objects by id, as routing reads them at `at`: each schedule names who is on duty
    /// then.
    pub fn directory(&self, at: chrono::NaiveDateTime) -> Directory {
        self.directory_with(|s| s.rules.on_duty(at).cloned().into_iter().collect())
    }

    /// The objects with every schedule's participants and coverers all on duty at once: whom
    /// each schedule may page some day.
    pub fn directory_of_every_turn(&self) -> Directory {
        self.directory_with(|s| {
            let mut all: Vec<ContactId> = s.rules.participants.clone();
            all.extend(s.overrides.iter().map(|o| o.who.clone()));
            all
        })
    }

    fn directory_with(&self, on_duty: impl Fn(&Schedule) -> Vec<ContactId>) -> Directory {
        let mut dir = Directory::default();
        let mut bound: HashMap<&ContactId, Vec<Platform>> = HashMap::new();
        for b in &self.bindings {
            bound.entry(&b.contact_id).or_default().push(b.platform);
        }
        for c in &self.contacts {
            dir.contacts.insert(
                c.id.clone(),
                Person {
                    id: c.id.clone(),
                    name: c.name.clone(),
                    phone: c.phone(),
                    phone_verified: c.usable_phone().is_some(),
                    email: c.email.clone(),
                    email_activated: c.usable_email().is_some(),
                    im_user_id: c.im_user_id.clone(),
                    bound: bound.get(&c.id).cloned().unwrap_or_default(),
                },
            );
        }
        for g in &self.groups {
            dir.groups.insert(
                g.id.clone(),
                Team {
                    name: g.name.clone(),
                    members: g.members.iter().map(|m| m.id.clone()).collect(),
                },
            );
        }
        for s in &self.schedules {
            dir.schedules.insert(
                s.id.clone(),
                OnCall {
                    name: s.name.clone(),
                    on_duty: on_duty(s),
                },
            );
        }
        for b in &self.chatbots {
            dir.chatbots.insert(
                b.id.clone(),
                ChatbotEntry {
                    name: b.name.clone(),
                    platform: b.platform,
                },
            );
        }
        for w in &self.webhooks {
            dir.webhooks.insert(
                w.id.clone(),
                WebhookEntry {
                    name: w.name.clone(),
                    method: w.method(),
                },
            );
        }
        dir
    }
}

/// Every policy of the workspace with its answer for an alert carrying `labels`.
pub fn who_would_be_notified(
    conn: &mut DbConn,
    index: &ContactIndex,
    ws: &WorkspaceId,
    labels: &BTreeMap<String, String>,
) -> StoreResult<Vec<Route>> {
    let policies: Vec<Policy> = policies::list(conn, ws)?;
    let directory = objects(conn, index, ws)?.directory(now());
    Ok(routing::route(labels, &policies, &directory))
}
