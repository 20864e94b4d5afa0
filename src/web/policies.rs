//! Notification Policies: which alerts (label matchers) notify whom (contacts, groups,
//! chatbots, webhooks) and how; plus the read-only "who would be notified" panel, which shows
//! the routing the delivery engine uses.

use std::collections::BTreeMap;

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::auth::{Need, Visitor};
use super::csrf::{CsrfForm, NoFields};
use super::form::{
    self, Console, EditForm, EditScreen, Editing, FormScreen, Named, PathId, Refused, Scope,
};
use super::layout::{FieldErrors, Layout, render};
use crate::domain::ObjectName;
use crate::domain::catalog::Lang;
use crate::domain::mention::Handle;
use crate::domain::policy::{
    self as rules, MatchOp, Matcher, NotifyMethod, Target, TargetKind, valid_label_name,
};
use crate::domain::routing::{Address, ChatRoute, PersonRoute, Route, Verdict, Via};
use crate::error::AppError;
use crate::outbound::TargetPolicy;
use crate::store::policies::{self, Policy, PolicyInput};
use crate::store::{Db, PolicyId, StoreResult};
use crate::usecases::policies::{self as save_policy, SavePolicyError};
use crate::usecases::routing::{self as routing, Objects};

/// Matcher rows on the form.
const MATCHER_ROWS: usize = 8;
const REPEAT_MAX_MINUTES: i32 = 7 * 24 * 60;
/// Alertmanager's defaults are 30 s and 5 min; an hour and a day are far beyond any use.
const GROUP_WAIT_MAX_SECS: i32 = 60 * 60;
const GROUP_INTERVAL_MAX_SECS: i32 = 24 * 60 * 60;

/// Whole seconds within `range`; blank is `blank` (forms saved before the field existed).
fn seconds(
    errors: &mut FieldErrors,
    field: &'static str,
    typed: &str,
    blank: i32,
    range: std::ops::RangeInclusive<i32>,
) -> i32 {
    let typed = typed.trim();
    if typed.is_empty() {
        return blank;
    }
    match typed.parse::<i32>() {
        Ok(n) if range.contains(&n) => n,
        _ => {
            errors.add(
                field,
                format!(
                    "Enter whole seconds from {} to {}.",
                    range.start(),
                    range.end()
                ),
            );
            blank
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
        match &p.matchers {
            Err(why) => why.clone(),
            Ok(m) if m.is_empty() => "every alert".into(),
            Ok(m) => m
                .iter()
                .map(|m| format!("{}{}\"{}\"", m.label, m.op.code(), m.value))
                .collect::<Vec<_>>()
                .join(", "),
        }
    }

    pub fn targets(&self, p: &Policy) -> String {
        p.targets
            .iter()
            .filter_map(|t| {
                self.objects
                    .name_of(t)
                    .map(|n| format!("{n} ({})", t.kind().label()))
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub fn methods(&self, p: &Policy) -> String {
        p.methods
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
            let o = routing::objects(c, &index, &user.workspace_id)?;
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
    pub schedules: Vec<String>,
    pub chatbots: Vec<String>,
    pub webhooks: Vec<String>,
    pub methods: Vec<String>,
    pub mention: Option<String>,
    pub notify_resolved: Option<String>,
    pub group_by: String,
    pub group_wait_secs: String,
    pub group_interval_secs: String,
    pub repeat_minutes: String,
}

impl PolicyForm {
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
}

impl Named for PolicyInput {
    fn name(&self) -> &str {
        &self.name
    }
}

impl EditForm for PolicyForm {
    type Stored = Policy;
    type Input = PolicyInput;

    fn from_stored(p: &Policy) -> Self {
        let m = p.rules();
        PolicyForm {
            name: p.name.clone(),
            enabled: p.enabled.then(|| "on".into()),
            matcher_label: m.iter().map(|m| m.label.clone()).collect(),
            matcher_op: m.iter().map(|m| m.op.code().to_string()).collect(),
            matcher_value: m.iter().map(|m| m.value.clone()).collect(),
            contacts: p.ids(TargetKind::Contact),
            groups: p.ids(TargetKind::Group),
            schedules: p.ids(TargetKind::Schedule),
            chatbots: p.ids(TargetKind::Chatbot),
            webhooks: p.ids(TargetKind::Webhook),
            methods: p.methods.iter().map(|m| m.code().to_string()).collect(),
            mention: p.mention.then(|| "on".into()),
            notify_resolved: p.notify_resolved.then(|| "on".into()),
            group_by: p.group_by.join(", "),
            group_wait_secs: p.group_wait_secs.to_string(),
            group_interval_secs: p.group_interval_secs.to_string(),
            repeat_minutes: p.repeat_minutes.to_string(),
        }
    }

    /// Checks every field; all problems at once. Whether the chosen objects are the
    /// workspace's is the use case's check.
    fn parse(&self, _: TargetPolicy) -> Result<PolicyInput, FieldErrors> {
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
        let mut targets = Vec::new();
        for (kind, ids, field) in [
            (TargetKind::Contact, &self.contacts, "contacts"),
            (TargetKind::Group, &self.groups, "groups"),
            (TargetKind::Schedule, &self.schedules, "schedules"),
            (TargetKind::Chatbot, &self.chatbots, "chatbots"),
            (TargetKind::Webhook, &self.webhooks, "webhooks"),
        ] {
            for id in ids {
                match Target::parse(kind.code(), id) {
                    Some(t) => targets.push(t),
                    None => errors.add(
                        field,
                        "Choose from the list: one of these no longer exists.",
                    ),
                }
            }
        }
        let people = [&self.contacts, &self.groups, &self.schedules];
        let chosen = people
            .iter()
            .chain(&[&self.chatbots, &self.webhooks])
            .any(|ids| !ids.is_empty());
        if !chosen {
            errors.add(
                "objects",
                "Choose at least one contact, group, schedule, chatbot or webhook to notify.",
            );
        }
        if people.iter().any(|ids| !ids.is_empty()) && methods.is_empty() {
            errors.add(
                "methods",
                "Choose how contacts are told: phone call, SMS or email.",
            );
        }
        let group_by = rules::label_list(&self.group_by);
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
        let group_wait_secs = seconds(
            &mut errors,
            "group_wait_secs",
            &self.group_wait_secs,
            0,
            0..=GROUP_WAIT_MAX_SECS,
        );
        let group_interval_secs = seconds(
            &mut errors,
            "group_interval_secs",
            &self.group_interval_secs,
            60,
            1..=GROUP_INTERVAL_MAX_SECS,
        );
        match (name, repeat) {
            (Some(name), Some(repeat_minutes)) if errors.is_empty() => Ok(PolicyInput {
                name: name.as_str().to_string(),
                enabled: self.enabled.is_some(),
                matchers,
                methods,
                mention: self.mention.is_some(),
                notify_resolved: self.notify_resolved.is_some(),
                group_by,
                repeat_minutes,
                group_wait_secs,
                group_interval_secs,
                targets,
            }),
            _ => Err(errors),
        }
    }
}

#[derive(Template)]
#[template(path = "policies/form.html")]
pub struct FormPage {
    pub layout: Layout,
    pub id: Option<String>,
    pub form: PolicyForm,
    pub errors: FieldErrors,
    pub objects: Objects,
    pub warnings: Vec<String>,
}

impl FormScreen for FormPage {
    type Form = PolicyForm;
    type Choices = Objects;

    fn choices(s: Scope<'_>, _: Option<&str>) -> StoreResult<Objects> {
        routing::objects(s.c, s.index, s.ws)
    }

    fn shown_field(raw: &str) -> String {
        if raw.starts_with("matcher_") {
            "matchers".into()
        } else {
            raw.into()
        }
    }

    fn build(layout: Layout, editing: Editing<PolicyForm>, objects: Objects) -> Self {
        let (id, form, errors) = editing.into_parts();
        // A policy names no addresses: which targets Herald may call does not change its parse.
        let warnings = EditForm::parse(&form, TargetPolicy::PUBLIC)
            .map(|input| save_policy::group_warnings(&objects, &input))
            .unwrap_or_default();
        FormPage {
            layout,
            id,
            form,
            errors,
            objects,
            warnings,
        }
    }
}

impl FormPage {
    pub fn action(&self) -> String {
        form::action("/policies", self.id.as_ref())
    }

    pub fn on_duty(&self, s: &crate::store::schedules::Schedule) -> String {
        s.on_duty_line(crate::store::now())
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

impl EditScreen for FormPage {
    const BASE: &'static str = "/policies";
    const NOUN: &'static str = "Policy";

    fn blank() -> PolicyForm {
        PolicyForm {
            enabled: Some("on".into()),
            mention: Some("on".into()),
            notify_resolved: Some("on".into()),
            group_wait_secs: "0".into(),
            group_interval_secs: "60".into(),
            repeat_minutes: "240".into(),
            ..Default::default()
        }
    }

    fn save(
        s: Scope<'_>,
        id: Option<&PolicyId>,
        input: &PolicyInput,
    ) -> Result<Vec<String>, Refused> {
        match save_policy::save(s.c, s.index, s.ws, &s.user.user_id, id, input) {
            Ok(saved) => Ok(saved.warnings),
            Err(SavePolicyError::Invalid(problems)) => Err(Refused::Fields(problems.into())),
            Err(SavePolicyError::Conflict(problems)) => Err(Refused::Conflict(problems.into())),
            Err(SavePolicyError::Store(e)) => Err(Refused::Store(e)),
        }
    }
}

pub async fn delete(
    console: Console,
    PathId(id): PathId<PolicyId>,
    _: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let name = console
        .run(move |c, user| policies::delete(c, &user.workspace_id, &id))
        .await?;
    Ok(console.done(format!("Policy “{name}” deleted."), "/policies"))
}

// Who would be notified.

#[derive(Template)]
#[template(path = "policies/simulate.html")]
pub struct SimulatePage {
    pub layout: Layout,
    pub labels_text: String,
    pub error: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub routes: Vec<Route>,
}

impl SimulatePage {
    pub fn matched(&self) -> usize {
        self.routes.iter().filter(|r| r.sends()).count()
    }

    /// Why a policy sends nothing, in a few words; None when it sends.
    pub fn why_not(&self, r: &Route) -> Option<String> {
        match &r.verdict {
            Verdict::Matched => None,
            Verdict::Disabled => Some("matches, but is disabled".into()),
            Verdict::NotMatched { rule, actual } if actual.is_empty() => Some(format!(
                "does not match: {rule} fails (the alert has no such label)"
            )),
            Verdict::NotMatched { rule, actual } => Some(format!(
                "does not match: {rule} fails (the alert has “{actual}”)"
            )),
            Verdict::Unreadable { why } => Some(format!("matches nothing: {why}")),
        }
    }

    pub fn via(&self, p: &PersonRoute) -> String {
        match &p.via {
            Via::Directly => "directly".into(),
            Via::Group(name) => format!("group “{name}”"),
            Via::OnDuty(name) => format!("on duty in schedule “{name}”"),
        }
    }

    /// Each method with where it goes (masked) or why it is not sent.
    pub fn fates(&self, p: &PersonRoute) -> Vec<(&'static str, Result<String, String>)> {
        p.methods
            .iter()
            .map(|(m, to)| {
                let fate = match to {
                    Ok(Address::Phone(n)) => Ok(n.masked()),
                    Ok(Address::Email(e)) => Ok(e.masked()),
                    Err(why) => Err(format!("not sent: {why}")),
                };
                (m.label(), fate)
            })
            .collect()
    }

    pub fn mention(&self, mention: &bool) -> &'static str {
        if *mention {
            "@mentions the contacts"
        } else {
            "no @mentions"
        }
    }

    /// Each person the bot's message would name: `@` and how (numbers masked), or why they
    /// would be named without a mention.
    pub fn mentions(&self, b: &ChatRoute) -> Vec<(String, Result<String, String>)> {
        b.mentions
            .iter()
            .map(|m| {
                let how = match &m.handle {
                    Ok(Handle::Mobile(n)) => Ok(format!("@{}", masked_mobile(n))),
                    Ok(Handle::UserId(u)) => Ok(format!("@{u}")),
                    Err(why) => Err(format!("not @mentioned: {}", why.say(Lang::En, b.platform))),
                };
                (m.name.clone(), how)
            })
            .collect()
    }
}

/// `138****8000`: enough to tell numbers apart, not to read one off the screen.
fn masked_mobile(n: &str) -> String {
    let chars: Vec<char> = n.chars().collect();
    if chars.len() <= 7 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}****{tail}")
}

#[derive(Deserialize)]
pub struct SimulateQuery {
    labels: Option<String>,
}

fn sample_labels() -> String {
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
}

/// The panel: paste labels, see which policies match and who would be told how. Sends nothing.
pub async fn simulate_page(
    db: web::Data<Db>,
    session: Session,
    visitor: Visitor,
    q: web::Query<SimulateQuery>,
) -> Result<HttpResponse, AppError> {
    let labels_text = q.into_inner().labels.unwrap_or_else(sample_labels);
    let parsed = rules::parse_sample_labels(&labels_text);
    let (index, lookup) = (db.contact_index(), parsed.clone().ok());
    let (user, routes) = visitor
        .read(&db, Need::Member, move |c, user| match lookup {
            Some(labels) => Ok(routing::who_would_be_notified(
                c,
                &index,
                &user.workspace_id,
                &labels,
            )?),
            None => Ok(Vec::new()),
        })
        .await?;
    let status = if parsed.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let (labels, error) = match parsed {
        Ok(l) => (l, None),
        Err(e) => (BTreeMap::new(), Some(e)),
    };
    let page = SimulatePage {
        layout: Layout::new(&session, &user),
        labels_text,
        error,
        labels,
        routes,
    };
    render(status, &page)
}
