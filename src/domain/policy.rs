//! Notification policy rules: label matchers as in Alertmanager (`=`, `!=`, `=~`, `!~`; regexes
//! are anchored), the methods contacts are told by, grouping and repeat.

use std::collections::BTreeMap;

use regex::Regex;

use crate::domain::ids::{ChatbotId, ContactId, GroupId, PolicyId, ScheduleId, WebhookId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum MatchOp {
    #[serde(rename = "=")]
    Eq,
    #[serde(rename = "!=")]
    Ne,
    #[serde(rename = "=~")]
    Re,
    #[serde(rename = "!~")]
    NotRe,
}

impl MatchOp {
    pub const ALL: &'static [MatchOp] = &[MatchOp::Eq, MatchOp::Ne, MatchOp::Re, MatchOp::NotRe];

    pub fn code(self) -> &'static str {
        match self {
            MatchOp::Eq => "=",
            MatchOp::Ne => "!=",
            MatchOp::Re => "=~",
            MatchOp::NotRe => "!~",
        }
    }

    pub fn parse(s: &str) -> Result<MatchOp, String> {
        MatchOp::ALL
            .iter()
            .copied()
            .find(|op| op.code() == s)
            .ok_or_else(|| format!("Unknown operator “{s}”: use =, !=, =~ or !~."))
    }
}

/// One rule; as stored (JSON) and as checked.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Matcher {
    pub label: String,
    pub op: MatchOp,
    pub value: String,
}

/// `alertname, cluster` → the names, trimmed, empty ones dropped (group-by lists, as typed
/// and as stored).
pub fn label_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// Prometheus label names: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn valid_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

const REGEX_SIZE_LIMIT: usize = 1 << 16;

fn compile(value: &str) -> Result<Regex, String> {
    regex::RegexBuilder::new(&format!("^(?:{value})$"))
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| {
            let text = e.to_string();
            // The regex crate's message is multi-line with a caret diagram; the last line says why.
            let why = text
                .lines()
                .last()
                .unwrap_or("invalid")
                .trim()
                .trim_start_matches("error: ");
            format!("“{value}” is not a valid regular expression: {why}")
        })
}

impl Matcher {
    pub fn new(label: &str, op: &str, value: &str) -> Result<Matcher, String> {
        let label = label.trim();
        if !valid_label_name(label) {
            return Err(format!(
                "“{label}” is not a label name (letters, digits and _, not starting with a digit)."
            ));
        }
        let op = MatchOp::parse(op.trim())?;
        if value.chars().count() > 1024 {
            return Err("A matcher value can be at most 1024 characters.".into());
        }
        if matches!(op, MatchOp::Re | MatchOp::NotRe) {
            compile(value)?;
        }
        Ok(Matcher {
            label: label.to_string(),
            op,
            value: value.to_string(),
        })
    }

    /// A missing label counts as the empty string, as in Alertmanager.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let v = labels.get(&self.label).map(String::as_str).unwrap_or("");
        match self.op {
            MatchOp::Eq => v == self.value,
            MatchOp::Ne => v != self.value,
            MatchOp::Re => compile(&self.value).is_ok_and(|r| r.is_match(v)),
            MatchOp::NotRe => compile(&self.value).is_ok_and(|r| !r.is_match(v)),
        }
    }
}

/// All must hold; none matches everything.
pub fn all_match(matchers: &[Matcher], labels: &BTreeMap<String, String>) -> bool {
    matchers.iter().all(|m| m.matches(labels))
}

crate::domain::contact::choice! {
    /// How a policy tells its contacts.
    NotifyMethod { Phone = "phone", "Phone call"; Sms = "sms", "SMS"; Email = "email", "Email"; }
    error "Choose phone call, SMS or email."
}

impl NotifyMethod {
    /// Phone calls and SMS need a verified number.
    pub fn needs_verified_phone(self) -> bool {
        matches!(self, NotifyMethod::Phone | NotifyMethod::Sms)
    }
}

/// What a policy notifies. A schedule notifies whoever is on duty at the moment.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    Contact(ContactId),
    Group(GroupId),
    Schedule(ScheduleId),
    Chatbot(ChatbotId),
    Webhook(WebhookId),
}

crate::domain::contact::choice! {
    /// The kinds of [`Target`], as stored beside the target's id.
    TargetKind { Contact = "contact", "contact"; Group = "group", "group"; Schedule = "schedule", "schedule"; Chatbot = "chatbot", "chatbot"; Webhook = "webhook", "webhook"; }
    error "Unknown kind of notification object."
}

impl Target {
    pub fn kind(&self) -> TargetKind {
        match self {
            Target::Contact(_) => TargetKind::Contact,
            Target::Group(_) => TargetKind::Group,
            Target::Schedule(_) => TargetKind::Schedule,
            Target::Chatbot(_) => TargetKind::Chatbot,
            Target::Webhook(_) => TargetKind::Webhook,
        }
    }

    pub fn id(&self) -> &str {
        match self {
            Target::Contact(id) => id.as_str(),
            Target::Group(id) => id.as_str(),
            Target::Schedule(id) => id.as_str(),
            Target::Chatbot(id) => id.as_str(),
            Target::Webhook(id) => id.as_str(),
        }
    }

    /// A kind code and an id as stored or submitted; None when either is not one.
    pub fn parse(kind: &str, id: &str) -> Option<Target> {
        Some(match TargetKind::parse(kind).ok()? {
            TargetKind::Contact => Target::Contact(ContactId::parse(id)?),
            TargetKind::Group => Target::Group(GroupId::parse(id)?),
            TargetKind::Schedule => Target::Schedule(ScheduleId::parse(id)?),
            TargetKind::Chatbot => Target::Chatbot(ChatbotId::parse(id)?),
            TargetKind::Webhook => Target::Webhook(WebhookId::parse(id)?),
        })
    }
}

/// A stored policy as routing reads it. Rules that could not be read are kept as the reason:
/// such a policy matches nothing (an empty rule set would match every alert).
#[derive(Debug, Clone)]
pub struct Policy {
    pub id: PolicyId,
    pub name: String,
    pub enabled: bool,
    pub matchers: Result<Vec<Matcher>, String>,
    pub methods: Vec<NotifyMethod>,
    pub mention: bool,
    pub notify_resolved: bool,
    pub group_by: Vec<String>,
    pub repeat_minutes: i32,
    /// How long a new group waits for more alerts before its first notification.
    pub group_wait_secs: i32,
    /// The least time between two notifications of a group whose alerts changed.
    pub group_interval_secs: i32,
    pub targets: Vec<Target>,
}

impl Policy {
    /// The rules, or none when they could not be read (the page shows `matchers`' error).
    pub fn rules(&self) -> &[Matcher] {
        self.matchers.as_deref().unwrap_or(&[])
    }

    pub fn targets_of(&self, kind: TargetKind) -> impl Iterator<Item = &Target> {
        self.targets.iter().filter(move |t| t.kind() == kind)
    }

    /// The ids of one kind of target, as the form lists them.
    pub fn ids(&self, kind: TargetKind) -> Vec<String> {
        self.targets_of(kind).map(|t| t.id().to_string()).collect()
    }
}

/// The first rule `labels` fail, with the label's actual value; None when all hold.
pub fn first_failing<'a>(
    matchers: &'a [Matcher],
    labels: &BTreeMap<String, String>,
) -> Option<&'a Matcher> {
    matchers.iter().find(|m| !m.matches(labels))
}

/// Labels from the "who would be notified" box: `name=value` lines, or a JSON object of
/// labels, or an Alertmanager payload (its `commonLabels`, else the first alert's labels).
pub fn parse_sample_labels(text: &str) -> Result<BTreeMap<String, String>, String> {
    let t = text.trim();
    if t.starts_with('{') {
        let v: serde_json::Value =
            serde_json::from_str(t).map_err(|e| format!("Not valid JSON: {e}"))?;
        let labels = if v.get("alerts").is_some() || v.get("commonLabels").is_some() {
            v.get("commonLabels")
                .filter(|l| l.as_object().is_some_and(|o| !o.is_empty()))
                .or_else(|| v["alerts"].get(0).and_then(|a| a.get("labels")))
                .cloned()
                .unwrap_or_default()
        } else {
            v.get("labels").cloned().unwrap_or(v)
        };
        let obj = labels
            .as_object()
            .ok_or("Give labels as a JSON object of strings.")?;
        return obj
            .iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => Ok((k.clone(), s.clone())),
                other => Ok((k.clone(), other.to_string())),
            })
            .collect();
    }
    let mut labels = BTreeMap::new();
    for (i, line) in t.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (k, v) = line
            .split_once('=')
            .ok_or_else(|| format!("Line {}: write name=value.", i + 1))?;
        let k = k.trim();
        if !valid_label_name(k) {
            return Err(format!("Line {}: “{k}” is not a label name.", i + 1));
        }
        labels.insert(k.to_string(), v.trim().trim_matches('"').to_string());
    }
    Ok(labels)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A label set from pairs, for tests here and in routing.
    pub(crate) fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn operators_match_like_alertmanager() {
        let l = labels(&[("severity", "critical"), ("team", "db")]);
        assert!(
            Matcher::new("severity", "=", "critical")
                .expect("m")
                .matches(&l)
        );
        assert!(
            !Matcher::new("severity", "!=", "critical")
                .expect("m")
                .matches(&l)
        );
        assert!(Matcher::new("team", "=~", "db|web").expect("m").matches(&l));
        // Anchored: "d" does not match "db".
        assert!(!Matcher::new("team", "=~", "d").expect("m").matches(&l));
        assert!(Matcher::new("team", "!~", "web.*").expect("m").matches(&l));
        // A missing label is "".
        assert!(Matcher::new("cluster", "=", "").expect("m").matches(&l));
        assert!(all_match(&[], &l));
    }

    #[test]
    fn bad_rules_are_refused_with_a_reason() {
        let e = Matcher::new("team", "=~", "db(").expect_err("bad regex");
        assert!(e.contains("not a valid regular expression"), "{e}");
        assert!(Matcher::new("1abc", "=", "x").is_err());
        assert!(Matcher::new("team", "==", "x").is_err());
    }

    #[test]
    fn targets_parse_only_known_kinds_and_ids() {
        let id = ContactId::new();
        assert_eq!(
            Target::parse("contact", id.as_str()),
            Some(Target::Contact(id.clone()))
        );
        assert_eq!(
            Target::parse("schedule", id.as_str()).map(|t| t.kind()),
            Some(TargetKind::Schedule)
        );
        assert_eq!(Target::parse("rota", id.as_str()), None);
        assert_eq!(Target::parse("group", "not-a-uuid"), None);
        let t = Target::Webhook(WebhookId::new());
        assert_eq!(Target::parse(t.kind().code(), t.id()), Some(t));
    }

    #[test]
    fn sample_labels_in_three_shapes() {
        let a = parse_sample_labels("alertname=HighCPU\nseverity = critical\n").expect("lines");
        assert_eq!(a.get("severity").map(String::as_str), Some("critical"));
        let b = parse_sample_labels(r#"{"alertname":"X","team":"db"}"#).expect("json");
        assert_eq!(b.len(), 2);
        let c =
            parse_sample_labels(r#"{"alerts":[{"labels":{"alertname":"Y"}}],"commonLabels":{}}"#)
                .expect("payload");
        assert_eq!(c.get("alertname").map(String::as_str), Some("Y"));
        assert!(parse_sample_labels("no equals sign").is_err());
    }
}
