//! Alerts as they arrive: the three accepted payloads (Alertmanager's webhook, version 4;
//! Alertmanager's own alerts API; Herald's events) read into one shape, checked strictly, with
//! every refusal naming the JSON path of what is wrong (`alerts[3].labels`).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{Map, Value};

use crate::domain::policy::valid_label_name;
use crate::domain::text;

/// Most events in one request.
pub const EVENTS_MAX: usize = 1000;
/// Most alerts in one request (Alertmanager batches far fewer).
pub const ALERTS_MAX: usize = 10_000;
const LABEL_VALUE_MAX: usize = 4096;
const ANNOTATION_MAX: usize = 16 * 1024;

/// A label set, sorted by name.
pub type Labels = BTreeMap<String, String>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertStatus {
    Firing,
    Resolved,
}

impl AlertStatus {
    pub fn code(self) -> &'static str {
        match self {
            AlertStatus::Firing => "firing",
            AlertStatus::Resolved => "resolved",
        }
    }

    pub fn parse(s: &str) -> Option<AlertStatus> {
        match s {
            "firing" => Some(AlertStatus::Firing),
            "resolved" => Some(AlertStatus::Resolved),
            _ => None,
        }
    }
}

/// An alert as one request states it.
#[derive(Debug, Clone, PartialEq)]
pub struct IncomingAlert {
    pub labels: Labels,
    pub annotations: Labels,
    pub status: AlertStatus,
    pub starts_at: NaiveDateTime,
    /// False when the sender gave no start (the alerts API allows that): a firing alert posted
    /// again without one is the same alert, still firing since it first came.
    pub starts_at_stated: bool,
    /// When it ended (resolved), or when it will count as resolved unless it is sent again.
    pub ends_at: Option<NaiveDateTime>,
    pub generator_url: Option<String>,
}

impl IncomingAlert {
    /// The alert's identity in its workspace: its label set's fingerprint, computed the way
    /// Alertmanager computes it (FNV-1a 64 over sorted names and values, each followed by
    /// 0xff), so the ids Herald shows match the ones Alertmanager shows. [U] Written from
    /// Prometheus' `labelSetToFingerprint`; not yet compared with a running Alertmanager.
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.labels)
    }
}

pub fn fingerprint(labels: &Labels) -> String {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = OFFSET;
    let mut eat = |bytes: &[u8]| {
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(PRIME);
        }
    };
    for (name, value) in labels {
        eat(name.as_bytes());
        eat(&[0xff]);
        eat(value.as_bytes());
        eat(&[0xff]);
    }
    format!("{h:016x}")
}

/// A refused request: where, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct Refusal {
    /// The JSON path, e.g. `alerts[3].labels.team`; empty for the whole body.
    pub path: String,
    pub message: String,
}

fn refuse(path: impl Into<String>, message: impl Into<String>) -> Refusal {
    Refusal {
        path: path.into(),
        message: message.into(),
    }
}

type Parsed<T> = Result<T, Refusal>;

/// Text with a refused control character is refused before anything else is read.
fn no_control_characters(v: &Value) -> Parsed<()> {
    match text::refused_in_json(v) {
        Some(path) => Err(refuse(
            path,
            "contains a control character (such as NUL) that Herald cannot store",
        )),
        None => Ok(()),
    }
}

fn object<'a>(v: &'a Value, path: &str) -> Parsed<&'a Map<String, Value>> {
    v.as_object()
        .ok_or_else(|| refuse(path, "must be a JSON object"))
}

fn string_field<'a>(o: &'a Map<String, Value>, key: &str, path: &str) -> Parsed<Option<&'a str>> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(refuse(format!("{path}.{key}"), "must be a string")),
    }
}

/// Labels: a non-empty object of strings under Prometheus' name rules.
fn labels(v: Option<&Value>, path: &str) -> Parsed<Labels> {
    let Some(v) = v else {
        return Err(refuse(
            path,
            "is required: an object of label names and values",
        ));
    };
    let o = object(v, path)?;
    let mut out = Labels::new();
    for (name, value) in o {
        let at = format!("{path}.{name}");
        if !valid_label_name(name) {
            return Err(refuse(
                at,
                "is not a label name (letters, digits and _, not starting with a digit)",
            ));
        }
        let Value::String(value) = value else {
            return Err(refuse(at, "must be a string"));
        };
        if value.chars().count() > LABEL_VALUE_MAX {
            return Err(refuse(
                at,
                format!("is longer than {LABEL_VALUE_MAX} characters"),
            ));
        }
        // An empty value is the same as no label, as in Prometheus.
        if !value.is_empty() {
            out.insert(name.clone(), value.clone());
        }
    }
    if out.is_empty() {
        return Err(refuse(path, "must hold at least one label with a value"));
    }
    Ok(out)
}

fn annotations(v: Option<&Value>, path: &str) -> Parsed<Labels> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(Labels::new());
    };
    let o = object(v, path)?;
    let mut out = Labels::new();
    for (name, value) in o {
        let at = format!("{path}.{name}");
        let Value::String(value) = value else {
            return Err(refuse(at, "must be a string"));
        };
        if value.chars().count() > ANNOTATION_MAX {
            return Err(refuse(
                at,
                format!("is longer than {ANNOTATION_MAX} characters"),
            ));
        }
        out.insert(name.clone(), value.clone());
    }
    Ok(out)
}

/// RFC 3339; Go's zero time (`0001-01-01T00:00:00Z`, what Alertmanager sends for "no end")
/// reads as absent.
fn time(o: &Map<String, Value>, key: &str, path: &str) -> Parsed<Option<NaiveDateTime>> {
    let Some(s) = string_field(o, key, path)? else {
        return Ok(None);
    };
    if s.is_empty() {
        return Ok(None);
    }
    let t = DateTime::parse_from_rfc3339(s)
        .map_err(|_| {
            refuse(
                format!("{path}.{key}"),
                "must be an RFC 3339 time, e.g. 2026-12-02T10:00:00Z",
            )
        })?
        .with_timezone(&Utc)
        .naive_utc();
    Ok((t.and_utc().timestamp() > 0).then_some(t))
}

fn generator_url(o: &Map<String, Value>, path: &str) -> Parsed<Option<String>> {
    Ok(string_field(o, "generatorURL", path)?
        .filter(|s| !s.is_empty())
        .map(str::to_string))
}

fn items<'a>(v: &'a Value, path: &str, max: usize) -> Parsed<&'a Vec<Value>> {
    let list = v
        .as_array()
        .ok_or_else(|| refuse(path, "must be a JSON array"))?;
    if list.len() > max {
        return Err(refuse(
            path,
            format!("holds {} items; at most {max} per request", list.len()),
        ));
    }
    Ok(list)
}

/// `POST /api/v1/alertmanager`: Alertmanager's webhook payload, version 4, as Alertmanager
/// sends it.
pub fn from_alertmanager(body: &Value) -> Parsed<Vec<IncomingAlert>> {
    no_control_characters(body)?;
    let o = object(body, "")?;
    match o.get("version") {
        Some(Value::String(v)) if v == "4" => {}
        Some(_) => {
            return Err(refuse(
                "version",
                "must be \"4\" (Alertmanager's webhook payload version)",
            ));
        }
        None => return Err(refuse("version", "is required (\"4\")")),
    }
    let list = items(
        o.get("alerts").unwrap_or(&Value::Null),
        "alerts",
        ALERTS_MAX,
    )?;
    list.iter()
        .enumerate()
        .map(|(i, a)| {
            let path = format!("alerts[{i}]");
            let a = object(a, &path)?;
            let status = string_field(a, "status", &path)?
                .and_then(AlertStatus::parse)
                .ok_or_else(|| {
                    refuse(
                        format!("{path}.status"),
                        "must be \"firing\" or \"resolved\"",
                    )
                })?;
            let starts_at = time(a, "startsAt", &path)?
                .ok_or_else(|| refuse(format!("{path}.startsAt"), "is required"))?;
            let ends_at = time(a, "endsAt", &path)?;
            if status == AlertStatus::Resolved && ends_at.is_none() {
                return Err(refuse(
                    format!("{path}.endsAt"),
                    "is required for a resolved alert",
                ));
            }
            Ok(IncomingAlert {
                labels: labels(a.get("labels"), &format!("{path}.labels"))?,
                annotations: annotations(a.get("annotations"), &format!("{path}.annotations"))?,
                status,
                starts_at,
                starts_at_stated: true,
                ends_at,
                generator_url: generator_url(a, &path)?,
            })
        })
        .collect()
}

/// `POST /api/v2/alerts`: Alertmanager's own alerts API (what Prometheus posts). An `endsAt` in
/// the past means resolved; without one the alert resolves `resolve_timeout` after it was last
/// posted.
pub fn from_alerts_api(
    body: &Value,
    now: NaiveDateTime,
    resolve_timeout: chrono::Duration,
) -> Parsed<Vec<IncomingAlert>> {
    no_control_characters(body)?;
    let list = items(body, "", ALERTS_MAX)?;
    list.iter()
        .enumerate()
        .map(|(i, a)| {
            let path = format!("[{i}]");
            let a = object(a, &path)?;
            let stated = time(a, "startsAt", &path)?;
            let starts_at = stated.unwrap_or(now);
            let ends_at = time(a, "endsAt", &path)?;
            if ends_at.is_some_and(|e| e < starts_at) {
                return Err(refuse(format!("{path}.endsAt"), "is before startsAt"));
            }
            let status = match ends_at {
                Some(e) if e <= now => AlertStatus::Resolved,
                _ => AlertStatus::Firing,
            };
            Ok(IncomingAlert {
                labels: labels(a.get("labels"), &format!("{path}.labels"))?,
                annotations: annotations(a.get("annotations"), &format!("{path}.annotations"))?,
                status,
                starts_at,
                starts_at_stated: stated.is_some(),
                ends_at: ends_at.or(Some(now + resolve_timeout)),
                generator_url: generator_url(a, &path)?,
            })
        })
        .collect()
}

/// How serious an event is; it becomes the `level` label.
const LEVELS: [&str; 3] = ["Info", "Warning", "Critical"];

/// `POST /api/v1/events`: Herald's event, one object or an array of at most [`EVENTS_MAX`].
/// Each becomes a firing alert whose labels are the event's labels plus `source`, `type`,
/// `level` and `resource` (so a policy matching `level="Critical"` subscribes to events), with
/// `alertname` = the type unless the labels name one; the message is its `message` annotation.
pub fn from_events(body: &Value, now: NaiveDateTime) -> Parsed<Vec<IncomingAlert>> {
    no_control_characters(body)?;
    let (list, array): (Vec<&Value>, bool) = match body {
        Value::Array(_) => (items(body, "", EVENTS_MAX)?.iter().collect(), true),
        other => (vec![other], false),
    };
    list.into_iter()
        .enumerate()
        .map(|(i, e)| {
            let path = if array {
                format!("[{i}]")
            } else {
                String::new()
            };
            let at = |k: &str| {
                if path.is_empty() {
                    k.to_string()
                } else {
                    format!("{path}.{k}")
                }
            };
            let o = object(e, if path.is_empty() { "" } else { &path })?;
            let required = |k: &str| -> Parsed<String> {
                match string_field(o, k, &path)? {
                    Some(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
                    _ => Err(refuse(at(k), "is required: a non-empty string")),
                }
            };
            let (source, kind, resource) = (
                required("source")?,
                required("type")?,
                required("resource")?,
            );
            let level = required("level")?;
            if !LEVELS.contains(&level.as_str()) {
                return Err(refuse(at("level"), "must be Info, Warning or Critical"));
            }
            let mut labels = match o.get("labels") {
                None | Some(Value::Null) => Labels::new(),
                Some(v) => annotations(Some(v), &at("labels"))?,
            };
            if let Some(bad) = labels.keys().find(|k| !valid_label_name(k)) {
                return Err(refuse(
                    format!("{}.{bad}", at("labels")),
                    "is not a label name (letters, digits and _, not starting with a digit)",
                ));
            }
            labels.retain(|_, v| !v.is_empty());
            labels
                .entry("alertname".into())
                .or_insert_with(|| kind.clone());
            for (k, v) in [
                ("source", source),
                ("type", kind),
                ("level", level),
                ("resource", resource),
            ] {
                labels.insert(k.into(), v);
            }
            let mut annotations = Labels::new();
            if let Some(m) = string_field(o, "message", &path)? {
                annotations.insert("message".into(), m.to_string());
            }
            Ok(IncomingAlert {
                labels,
                annotations,
                status: AlertStatus::Firing,
                starts_at_stated: o.get("time").is_some_and(|t| !t.is_null()),
                starts_at: time(o, "time", &path)?.unwrap_or(now),
                ends_at: None,
                generator_url: None,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> NaiveDateTime {
        DateTime::parse_from_rfc3339("2026-12-02T10:00:00Z")
            .expect("time")
            .naive_utc()
    }

    #[test]
    fn fingerprints_match_alertmanagers() {
        // Alertmanager shows this fingerprint for {alertname="HighCPU"} (FNV-1a 64 over
        // "alertname" 0xff "HighCPU" 0xff).
        let one: Labels = [("alertname".to_string(), "HighCPU".to_string())].into();
        assert_eq!(fingerprint(&one).len(), 16);
        let mut two = one.clone();
        two.insert("a".into(), "b".into());
        assert_ne!(fingerprint(&one), fingerprint(&two));
        // Order of arrival does not matter: the set is sorted.
        let mut again = Labels::new();
        again.insert("a".into(), "b".into());
        again.insert("alertname".into(), "HighCPU".into());
        assert_eq!(fingerprint(&two), fingerprint(&again));
        assert_eq!(fingerprint(&Labels::new()), "cbf29ce484222325");
    }

    #[test]
    fn alertmanager_payloads_are_read_and_refusals_name_the_path() {
        let ok = json!({"version": "4", "status": "firing", "alerts": [
            {"status": "firing", "labels": {"alertname": "Down"}, "annotations": {}, "startsAt": "2026-12-02T09:00:00Z", "endsAt": "0001-01-01T00:00:00Z"},
            {"status": "resolved", "labels": {"alertname": "Up"}, "startsAt": "2026-12-02T08:00:00Z", "endsAt": "2026-12-02T09:30:00Z"}
        ]});
        let alerts = from_alertmanager(&ok).expect("valid");
        assert_eq!(alerts.len(), 2);
        assert_eq!(alerts[0].ends_at, None);
        assert_eq!(alerts[1].status, AlertStatus::Resolved);
        for (body, path) in [
            (json!({"alerts": []}), "version"),
            (json!({"version": "3", "alerts": []}), "version"),
            (json!({"version": "4"}), "alerts"),
            (
                json!({"version": "4", "alerts": [{"status": "firing", "startsAt": "2026-12-02T09:00:00Z", "labels": {}}]}),
                "alerts[0].labels",
            ),
            (
                json!({"version": "4", "alerts": [{"status": "firing", "startsAt": "2026-12-02T09:00:00Z", "labels": {"1x": "a"}}]}),
                "alerts[0].labels.1x",
            ),
            (
                json!({"version": "4", "alerts": [{"status": "firing", "startsAt": "2026-12-02T09:00:00Z", "labels": {"a": 1}}]}),
                "alerts[0].labels.a",
            ),
            (
                json!({"version": "4", "alerts": [{"status": "burning", "startsAt": "2026-12-02T09:00:00Z", "labels": {"a": "b"}}]}),
                "alerts[0].status",
            ),
            (
                json!({"version": "4", "alerts": [{"status": "firing", "startsAt": "yesterday", "labels": {"a": "b"}}]}),
                "alerts[0].startsAt",
            ),
            (
                json!({"version": "4", "alerts": [{"status": "firing", "startsAt": "2026-12-02T09:00:00Z", "labels": {"a": "b\u{0}"}}]}),
                "alerts[0].labels.a",
            ),
        ] {
            assert_eq!(
                from_alertmanager(&body).map_err(|e| e.path),
                Err(path.to_string()),
                "{body}"
            );
        }
    }

    #[test]
    fn the_alerts_api_resolves_by_ends_at_or_by_timeout() {
        let timeout = chrono::Duration::minutes(5);
        let body = json!([
            {"labels": {"alertname": "A"}},
            {"labels": {"alertname": "B"}, "endsAt": "2026-12-02T09:59:00Z", "startsAt": "2026-12-02T09:00:00Z"}
        ]);
        let alerts = from_alerts_api(&body, now(), timeout).expect("valid");
        assert_eq!(alerts[0].status, AlertStatus::Firing);
        assert_eq!(alerts[0].starts_at, now());
        assert_eq!(alerts[0].ends_at, Some(now() + timeout));
        assert_eq!(alerts[1].status, AlertStatus::Resolved);
        let bad = json!([{"labels": {"alertname": "A"}}, {"annotations": {}}]);
        assert_eq!(
            from_alerts_api(&bad, now(), timeout).map_err(|e| e.path),
            Err("[1].labels".into())
        );
        assert!(from_alerts_api(&json!({"labels": {}}), now(), timeout).is_err());
    }

    #[test]
    fn events_become_alerts_with_their_level_as_a_label() {
        let one = json!({"source": "zabbix", "type": "DiskFull", "level": "Critical", "resource": "db-1", "message": "95% used", "labels": {"team": "db"}});
        let alerts = from_events(&one, now()).expect("valid");
        let l = &alerts[0].labels;
        assert_eq!(l.get("level").map(String::as_str), Some("Critical"));
        assert_eq!(l.get("alertname").map(String::as_str), Some("DiskFull"));
        assert_eq!(l.get("team").map(String::as_str), Some("db"));
        assert_eq!(
            alerts[0].annotations.get("message").map(String::as_str),
            Some("95% used")
        );
        let many = json!([one, {"source": "x", "type": "T", "level": "Fatal", "resource": "r"}]);
        assert_eq!(
            from_events(&many, now()).map_err(|e| e.path),
            Err("[1].level".into())
        );
        assert_eq!(
            from_events(
                &json!({"type": "T", "level": "Info", "resource": "r"}),
                now()
            )
            .map_err(|e| e.path),
            Err("source".into())
        );
        let too_many = Value::Array(vec![one; EVENTS_MAX + 1]);
        assert!(from_events(&too_many, now()).is_err());
    }
}
