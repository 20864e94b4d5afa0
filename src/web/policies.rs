//! Notification Policies: which alerts (label matchers) notify whom (contacts, groups,
//! chatbots, webhooks) and how; plus the read-only "who would be notified" panel.

use std::collections::{BTreeMap, BTreeSet};

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::auth::{CurrentUser, Editor, Need, Visitor};
use super::csrf::{CsrfForm, NoFields};
use super::layout::{FieldErrors, Layout, render};
use super::session::{self, Level};
use crate::domain::ObjectName;
use crate::domain::policy::{self as rules, MatchOp, Matcher, NotifyMethod, valid_label_name};
use crate::error::{AppError, see_other};
use crate::store::chatbots::{self, Chatbot};
use crate::store::contacts::{self, Contact};
use crate::store::groups::{self, Group};
use crate::store::named::SaveError;
use crate::store::policies::{self, Policy, PolicyInput};
use crate::store::webhooks::{self, Webhook};
use crate::store::{ContactId, Db, DbConn, PolicyId, StoreError, WorkspaceId};

/// Matcher rows on the form.
const MATCHER_ROWS: usize = 8;
const REPEAT_MAX_MINUTES: i32 = 7 * 24 * 60;

/// Everything a policy can name, for the form and the panel.
pub struct Objects {
    pub contacts: Vec<Contact>,
    pub groups: Vec<Group>,
    pub chatbots: Vec<Chatbot>,
    pub webhooks: Vec<Webhook>,
}

fn objects(
    c: &mut DbConn,
    index: &crate::store::contact_index::ContactIndex,
    ws: &WorkspaceId,
) -> Result<Objects, StoreError> {
    Ok(Objects {
        contacts: contacts::all_matching(c, index, ws, "")?,
        groups: groups::list(c, ws)?,
        chatbots: chatbots::list(c, ws)?,
        webhooks: webhooks::list(c, ws)?,
    })
}

impl Objects {
    fn contact(&self, id: &str) -> Option<&Contact> {
        self.contacts.iter().find(|c| c.id.as_str() == id)
    }

    fn name_of(&self, kind: &str, id: &str) -> Option<String> {
        match kind {
            "contact" => self.contact(id).map(|c| c.name.clone()),
            "group" => self
                .groups
                .iter()
                .find(|g| g.id.as_str() == id)
                .map(|g| g.name.clone()),
            "chatbot" => self
                .chatbots
                .iter()
                .find(|b| b.id.as_str() == id)
                .map(|b| b.name.clone()),
            "webhook" => self
                .webhooks
                .iter()
                .find(|w| w.id.as_str() == id)
                .map(|w| w.name.clone()),
            _ => None,
        }
    }
}

#[derive(Template)]
#[template(path = "policies/index.html")]
pub struct IndexPage {
    pub layout: Layout,
    pub policies: Vec<Policy>,
    pub objects: Objects,
}

impl IndexPage {
    pub fn rules(&self, p: &Policy) -> String {
        let m = p.matchers();
        if m.is_empty() {
            "every alert".into()
        } else {
            m.iter()
                .map(|m| format!("{}{}\"{}\"", m.label, m.op.code(), m.value))
                .collect::<Vec<_>>()
                .join(", ")
        }
    }

    pub fn targets(&self, p: &Policy) -> String {
        p.targets
            .iter()
            .filter_map(|(k, id)| self.objects.name_of(k, id).map(|n| format!("{n} ({k})")))
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub fn methods(&self, p: &Policy) -> String {
        p.methods()
            .iter()
            .map(|m| m.label())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

pub async fn index(
    db: web::Data<Db>,
    session: Session,
    visitor: Visitor,
) -> Result<HttpResponse, AppError> {
    let index = db.contact_index();
    let (user, (policies, objects)) = visitor
        .read(&db, Need::Member, move |c, user| {
            let p = policies::list(c, &user.workspace_id)?;
            let o = objects(c, &index, &user.workspace_id)?;
            Ok((p, o))
        })
        .await?;
    render(
        StatusCode::OK,
        &IndexPage {
            layout: Layout::new(&session, &user),
            policies,
            objects,
        },
    )
}

/// The form as submitted.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PolicyForm {
    pub name: String,
    pub enabled: Option<String>,
    pub matcher_label: Vec<String>,
    pub matcher_op: Vec<String>,
    pub matcher_value: Vec<String>,
    pub contacts: Vec<String>,
    pub groups: Vec<String>,
    pub chatbots: Vec<String>,
    pub webhooks: Vec<String>,
    pub methods: Vec<String>,
    pub mention: Option<String>,
    pub notify_resolved: Option<String>,
    pub group_by: String,
    pub repeat_minutes: String,
}

impl PolicyForm {
    fn from_policy(p: &Policy) -> Self {
        let m = p.matchers();
        PolicyForm {
            name: p.row.name.clone(),
            enabled: p.row.enabled.then(|| "on".into()),
            matcher_label: m.iter().map(|m| m.label.clone()).collect(),
            matcher_op: m.iter().map(|m| m.op.code().to_string()).collect(),
            matcher_value: m.iter().map(|m| m.value.clone()).collect(),
            contacts: p.ids("contact"),
            groups: p.ids("group"),
            chatbots: p.ids("chatbot"),
            webhooks: p.ids("webhook"),
            methods: p.methods().iter().map(|m| m.code().to_string()).collect(),
            mention: p.row.mention.then(|| "on".into()),
            notify_resolved: p.row.notify_resolved.then(|| "on".into()),
            group_by: p.group_by().join(", "),
            repeat_minutes: p.row.repeat_minutes.to_string(),
        }
    }

    fn matcher_rows(&self) -> Vec<(String, String, String)> {
        let n = self
            .matcher_label
            .len()
            .max(self.matcher_op.len())
            .max(self.matcher_value.len());
        (0..n)
            .map(|i| {
                (
                    self.matcher_label.get(i).cloned().unwrap_or_default(),
                    self.matcher_op
                        .get(i)
                        .cloned()
                        .unwrap_or_else(|| "=".into()),
                    self.matcher_value.get(i).cloned().unwrap_or_default(),
                )
            })
            .collect()
    }

    /// Checks every field against the workspace's objects; all problems at once.
    pub fn parse(&self, objects: &Objects) -> Result<PolicyInput, FieldErrors> {
        let mut errors = FieldErrors::default();
        let name = ObjectName::parse(&self.name)
            .map_err(|e| errors.add("name", e))
            .ok();
        let mut matchers = Vec::new();
        for (i, (label, op, value)) in self.matcher_rows().into_iter().enumerate() {
            if label.trim().is_empty() && value.is_empty() {
                continue;
            }
            match Matcher::new(&label, &op, &value) {
                Ok(m) => matchers.push(m),
                Err(e) => errors.add("matchers", format!("Rule {}: {e}", i + 1)),
            }
        }
        let mut methods = Vec::new();
        for m in &self.methods {
            match NotifyMethod::parse(m) {
                Ok(m) if !methods.contains(&m) => methods.push(m),
                Ok(_) => {}
                Err(e) => errors.add("methods", e),
            }
        }
        let known =
            |kind: &str, ids: &[String]| ids.iter().all(|id| objects.name_of(kind, id).is_some());
        for (kind, ids, field) in [
            ("contact", &self.contacts, "contacts"),
            ("group", &self.groups, "groups"),
            ("chatbot", &self.chatbots, "chatbots"),
            ("webhook", &self.webhooks, "webhooks"),
        ] {
            if !known(kind, ids) {
                errors.add(
                    field,
                    "Choose from the list: one of these no longer exists.",
                );
            }
        }
        let total =
            self.contacts.len() + self.groups.len() + self.chatbots.len() + self.webhooks.len();
        if total == 0 {
            errors.add(
                "objects",
                "Choose at least one contact, group, chatbot or webhook to notify.",
            );
        }
        if (!self.contacts.is_empty() || !self.groups.is_empty()) && methods.is_empty() {
            errors.add(
                "methods",
                "Choose how contacts are told: phone call, SMS or email.",
            );
        }
        // Phone calls and SMS go only to verified numbers: a chosen contact without one is
        // refused by name.
        if methods.iter().any(|m| m.needs_verified_phone()) {
            let unusable: Vec<String> = self
                .contacts
                .iter()
                .filter_map(|id| objects.contact(id))
                .filter(|c| c.usable_phone().is_none())
                .map(|c| match c.phone() {
                    Some(p) => format!("{} ({} is not verified)", c.name, p.masked()),
                    None => format!("{} (no phone number)", c.name),
                })
                .collect();
            if !unusable.is_empty() {
                errors.add(
                    "contacts",
                    format!(
                        "Phone calls and SMS need a verified number: {}. Verify the numbers on the Contacts page, or choose email only.",
                        unusable.join(", ")
                    ),
                );
            }
        }
        let group_by: Vec<String> = self
            .group_by
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        if let Some(bad) = group_by.iter().find(|l| !valid_label_name(l)) {
            errors.add("group_by", format!("“{bad}” is not a label name."));
        }
        let repeat = match self.repeat_minutes.trim().parse::<i32>() {
            Ok(n) if (1..=REPEAT_MAX_MINUTES).contains(&n) => Some(n),
            _ => {
                errors.add(
                    "repeat_minutes",
                    format!("Enter whole minutes from 1 to {REPEAT_MAX_MINUTES} (7 days)."),
                );
                None
            }
        };
        match (name, repeat) {
            (Some(name), Some(repeat_minutes)) if errors.is_empty() => {
                let mut targets = Vec::new();
                for (kind, ids) in [
                    ("contact", &self.contacts),
                    ("group", &self.groups),
                    ("chatbot", &self.chatbots),
                    ("webhook", &self.webhooks),
                ] {
                    targets.extend(ids.iter().map(|id| (kind, id.clone())));
                }
                Ok(PolicyInput {
                    name: name.as_str().to_string(),
                    enabled: self.enabled.is_some(),
                    matchers,
                    methods,
                    mention: self.mention.is_some(),
                    notify_resolved: self.notify_resolved.is_some(),
                    group_by,
                    repeat_minutes,
                    targets,
                })
            }
            _ => Err(errors),
        }
    }
}

/// Members of the chosen groups that cannot take calls or SMS, per group: a warning.
fn group_warnings(form: &PolicyForm, objects: &Objects) -> Vec<String> {
    let phones = form
        .methods
        .iter()
        .any(|m| NotifyMethod::parse(m).is_ok_and(NotifyMethod::needs_verified_phone));
    if !phones {
        return Vec::new();
    }
    objects
        .groups
        .iter()
        .filter(|g| form.groups.iter().any(|id| id == g.id.as_str()))
        .filter_map(|g| {
            let names: Vec<String> = g.unverified().iter().map(|m| m.name.clone()).collect();
            (!names.is_empty()).then(|| {
                format!(
                    "Group “{}”: {} will get no phone calls or SMS until their numbers are verified.",
                    g.name,
                    names.join(", ")
                )
            })
        })
        .collect()
}

#[derive(Template)]
#[template(path = "policies/form.html")]
pub struct FormPage {
    pub layout: Layout,
    pub policy_id: Option<PolicyId>,
    pub form: PolicyForm,
    pub errors: FieldErrors,
    pub objects: Objects,
    pub warnings: Vec<String>,
}

impl FormPage {
    pub fn action(&self) -> String {
        match &self.policy_id {
            Some(id) => format!("/policies/{id}"),
            None => "/policies".into(),
        }
    }

    pub fn rows(&self) -> Vec<(usize, String, String, String)> {
        let mut rows = self.form.matcher_rows();
        rows.resize(
            MATCHER_ROWS.max(rows.len()),
            (String::new(), "=".into(), String::new()),
        );
        rows.into_iter()
            .enumerate()
            .map(|(i, (l, o, v))| (i, l, o, v))
            .collect()
    }

    pub fn ops(&self) -> &'static [MatchOp] {
        MatchOp::ALL
    }

    pub fn methods(&self) -> &'static [NotifyMethod] {
        NotifyMethod::ALL
    }

    pub fn picked(&self, list: &[String], id: &str) -> bool {
        list.iter().any(|x| x == id)
    }

    pub fn method_picked(&self, m: &NotifyMethod) -> bool {
        self.form.methods.iter().any(|x| x == m.code())
    }
}

async fn form_page(
    db: &Db,
    session: &Session,
    user: &CurrentUser,
    policy_id: Option<PolicyId>,
    form: PolicyForm,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let ws = user.workspace_id.clone();
    let index = db.contact_index();
    let objects = db.run(move |c| objects(c, &index, &ws)).await?;
    let warnings = group_warnings(&form, &objects);
    render(
        status,
        &FormPage {
            layout: Layout::new(session, user),
            policy_id,
            form,
            errors,
            objects,
            warnings,
        },
    )
}

pub async fn new(
    db: web::Data<Db>,
    session: Session,
    Editor(user): Editor,
) -> Result<HttpResponse, AppError> {
    let form = PolicyForm {
        enabled: Some("on".into()),
        mention: Some("on".into()),
        notify_resolved: Some("on".into()),
        repeat_minutes: "240".into(),
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

fn parse_id(raw: &str) -> Result<PolicyId, AppError> {
    PolicyId::parse(raw).ok_or(AppError::NotFound)
}

pub async fn edit(
    db: web::Data<Db>,
    session: Session,
    Editor(user): Editor,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path)?;
    let (ws, lookup) = (user.workspace_id.clone(), id.clone());
    let policy = db.run(move |c| policies::get(c, &ws, &lookup)).await?;
    form_page(
        &db,
        &session,
        &user,
        Some(id),
        PolicyForm::from_policy(&policy),
        FieldErrors::default(),
        StatusCode::OK,
    )
    .await
}

pub async fn create(
    db: web::Data<Db>,
    session: Session,
    Editor(user): Editor,
    CsrfForm(form): CsrfForm<PolicyForm>,
) -> Result<HttpResponse, AppError> {
    save(&db, &session, &user, None, form).await
}

pub async fn update(
    db: web::Data<Db>,
    session: Session,
    Editor(user): Editor,
    path: web::Path<String>,
    CsrfForm(form): CsrfForm<PolicyForm>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path)?;
    let (ws, lookup) = (user.workspace_id.clone(), id.clone());
    db.run(move |c| policies::get(c, &ws, &lookup)).await?;
    save(&db, &session, &user, Some(id), form).await
}

async fn save(
    db: &Db,
    session: &Session,
    user: &CurrentUser,
    id: Option<PolicyId>,
    form: PolicyForm,
) -> Result<HttpResponse, AppError> {
    let ws = user.workspace_id.clone();
    let index = db.contact_index();
    let objects = db.run(move |c| objects(c, &index, &ws)).await?;
    let input = match form.parse(&objects) {
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
    let warnings = group_warnings(&form, &objects);
    let (ws, who, target, saved) = (
        user.workspace_id.clone(),
        user.user_id.clone(),
        id.clone(),
        input.clone(),
    );
    let result = db
        .run(move |c| policies::save(c, &ws, &who, target.as_ref(), &saved))
        .await;
    match result {
        Ok(_) => {
            let verb = if id.is_some() { "saved" } else { "created" };
            session::flash(
                session,
                Level::Success,
                format!("Policy “{}” {verb}.", input.name),
            );
            for w in warnings {
                session::flash(session, Level::Info, w);
            }
            Ok(see_other("/policies"))
        }
        Err(e @ SaveError::NameTaken { .. }) => {
            let mut errors = FieldErrors::default();
            errors.add("name", e.to_string());
            form_page(
                db,
                session,
                user,
                id,
                form,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(SaveError::Store(StoreError::NotFound))
            if id.is_none() || still_there(db, user, id.as_ref()).await =>
        {
            let mut errors = FieldErrors::default();
            errors.add(
                "objects",
                "One of the chosen objects was deleted meanwhile: check the choices and save again.",
            );
            form_page(db, session, user, id, form, errors, StatusCode::CONFLICT).await
        }
        Err(SaveError::Store(e)) => Err(e.into()),
    }
}

/// Whether the policy being edited still exists (else the save's NotFound is about it).
async fn still_there(db: &Db, user: &CurrentUser, id: Option<&PolicyId>) -> bool {
    let Some(id) = id.cloned() else {
        return true;
    };
    let ws = user.workspace_id.clone();
    db.run(move |c| policies::get(c, &ws, &id)).await.is_ok()
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
    let name = db.run(move |c| policies::delete(c, &ws, &id)).await?;
    session::flash(
        &session,
        Level::Success,
        format!("Policy “{name}” deleted."),
    );
    Ok(see_other("/policies"))
}

// Who would be notified.

/// One contact reached by a matching policy, with each method's fate.
pub struct Reached {
    pub name: String,
    pub via: String,
    pub methods: Vec<(String, Result<String, String>)>,
}

pub struct Outcome {
    pub policy: String,
    pub enabled: bool,
    pub matched: bool,
    pub contacts: Vec<Reached>,
    pub chatbots: Vec<String>,
    pub webhooks: Vec<String>,
}

#[derive(Template)]
#[template(path = "policies/simulate.html")]
pub struct SimulatePage {
    pub layout: Layout,
    pub labels_text: String,
    pub error: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub outcomes: Vec<Outcome>,
}

impl SimulatePage {
    pub fn matched(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|o| o.matched && o.enabled)
            .count()
    }
}

#[derive(Deserialize)]
pub struct SimulateQuery {
    labels: Option<String>,
}

fn reach(c: &Contact, via: &str, methods: &[NotifyMethod]) -> Reached {
    let methods = methods
        .iter()
        .map(|m| {
            let fate = match m {
                NotifyMethod::Phone | NotifyMethod::Sms => match (c.phone(), c.usable_phone()) {
                    (_, Some(p)) => Ok(p.masked()),
                    (Some(p), None) => Err(format!("not sent: {} is not verified", p.masked())),
                    (None, None) => Err("not sent: no phone number".into()),
                },
                NotifyMethod::Email => match (&c.email, c.usable_email()) {
                    (_, Some(e)) => Ok(e.masked()),
                    (Some(e), None) => Err(format!(
                        "not sent: {} is not activated",
                        crate::domain::EmailAddress::from_trusted(e.clone()).masked()
                    )),
                    (None, None) => Err("not sent: no email address".into()),
                },
            };
            (m.label().to_string(), fate)
        })
        .collect();
    Reached {
        name: c.name.clone(),
        via: via.to_string(),
        methods,
    }
}

fn simulate(
    policies: &[Policy],
    objects: &Objects,
    labels: &BTreeMap<String, String>,
) -> Vec<Outcome> {
    policies
        .iter()
        .map(|p| {
            let matched = rules::all_match(&p.matchers(), labels);
            let methods = p.methods();
            let mut seen = BTreeSet::new();
            let mut contacts = Vec::new();
            for id in p.ids("contact") {
                if let Some(c) = objects.contact(&id)
                    && seen.insert(c.id.clone())
                {
                    contacts.push(reach(c, "directly", &methods));
                }
            }
            for gid in p.ids("group") {
                if let Some(g) = objects.groups.iter().find(|g| g.id.as_str() == gid) {
                    for m in &g.members {
                        let id: &ContactId = &m.id;
                        if let Some(c) = objects.contact(id.as_str())
                            && seen.insert(c.id.clone())
                        {
                            contacts.push(reach(c, &format!("group “{}”", g.name), &methods));
                        }
                    }
                }
            }
            let chatbots = p
                .ids("chatbot")
                .iter()
                .filter_map(|id| objects.chatbots.iter().find(|b| b.id.as_str() == id))
                .map(|b| {
                    let mention = if p.row.mention {
                        "@mentions the contacts"
                    } else {
                        "no @mentions"
                    };
                    format!("{} ({}, {mention})", b.name, b.platform)
                })
                .collect();
            let webhooks = p
                .ids("webhook")
                .iter()
                .filter_map(|id| objects.webhooks.iter().find(|w| w.id.as_str() == id))
                .map(|w| format!("{} ({})", w.name, w.method))
                .collect();
            Outcome {
                policy: p.row.name.clone(),
                enabled: p.row.enabled,
                matched,
                contacts,
                chatbots,
                webhooks,
            }
        })
        .collect()
}

/// The panel: paste labels, see which policies match and who would be told how. Sends nothing.
pub async fn simulate_page(
    db: web::Data<Db>,
    session: Session,
    visitor: Visitor,
    q: web::Query<SimulateQuery>,
) -> Result<HttpResponse, AppError> {
    let index = db.contact_index();
    let (user, (policies, objects)) = visitor
        .read(&db, Need::Member, move |c, user| {
            Ok((
                policies::list(c, &user.workspace_id)?,
                objects(c, &index, &user.workspace_id)?,
            ))
        })
        .await?;
    let labels_text = q.into_inner().labels.unwrap_or_else(|| {
        let sample = crate::template::sample_alert();
        sample["commonLabels"]
            .as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default()
    });
    let (labels, error) = match rules::parse_sample_labels(&labels_text) {
        Ok(l) => (l, None),
        Err(e) => (BTreeMap::new(), Some(e)),
    };
    let outcomes = if error.is_none() {
        simulate(&policies, &objects, &labels)
    } else {
        Vec::new()
    };
    render(
        if error.is_some() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        },
        &SimulatePage {
            layout: Layout::new(&session, &user),
            labels_text,
            error,
            labels,
            outcomes,
        },
    )
}
