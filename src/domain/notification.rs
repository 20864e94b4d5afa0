//! What a notification is made of: the alerts it names as Alertmanager's webhook body
//! (version 4) shows them, and its fan-out into one delivery per recipient and channel.

use chrono::{NaiveDateTime, SecondsFormat};
use serde_json::{Value, json};

use crate::domain::alert::{AlertStatus, Labels};
use crate::domain::contact::Address;
use crate::domain::ids::AlertId;
use crate::domain::policy::NotifyMethod;
use crate::domain::routing::Route;

crate::domain::contact::choice! {
    /// How a delivery reaches its recipient.
    Channel { Phone = "phone", "Phone call"; Sms = "sms", "SMS"; Email = "email", "Email"; Chatbot = "chatbot", "Chatbot"; Webhook = "webhook", "Webhook"; }
    error "Unknown delivery channel."
}

impl Channel {
    pub fn of(method: NotifyMethod) -> Channel {
        match method {
            NotifyMethod::Phone => Channel::Phone,
            NotifyMethod::Sms => Channel::Sms,
            NotifyMethod::Email => Channel::Email,
        }
    }
}

crate::domain::contact::choice! {
    /// Where a delivery stands. The first five are waiting or under way; the rest are final.
    DeliveryState {
        Queued = "queued", "Queued";
        Retrying = "retrying", "Retrying";
        Throttled = "throttled", "Waiting on a rate limit";
        Sending = "sending", "Sending";
        Calling = "calling", "Calling — waiting for the outcome";
        Delivered = "delivered", "Delivered";
        Failed = "failed", "Failed";
        Refused = "refused", "Refused";
        NotSent = "not_sent", "Not sent";
    }
    error "Unknown delivery state."
}

impl DeliveryState {
    pub fn is_final(self) -> bool {
        matches!(
            self,
            DeliveryState::Delivered
                | DeliveryState::Failed
                | DeliveryState::Refused
                | DeliveryState::NotSent
        )
    }

    /// States a worker may pick up once due.
    pub const WAITING: [DeliveryState; 3] = [
        DeliveryState::Queued,
        DeliveryState::Retrying,
        DeliveryState::Throttled,
    ];
}

crate::domain::contact::choice! {
    /// What became of a placed call, as the provider tells it.
    CallOutcome {
        Answered = "answered", "answered";
        NoAnswer = "no_answer", "no answer";
        Busy = "busy", "busy";
        Declined = "declined", "declined";
        Failed = "call_failed", "the call failed";
        NoOutcome = "no_outcome", "no outcome learned in time";
    }
    error "Choose answered, no answer or busy."
}

/// An alert as a notification names it.
#[derive(Debug, Clone)]
pub struct AlertSnapshot {
    pub id: AlertId,
    pub fingerprint: String,
    pub labels: Labels,
    pub annotations: Labels,
    pub status: AlertStatus,
    pub starts_at: NaiveDateTime,
    pub ends_at: Option<NaiveDateTime>,
    pub generator_url: Option<String>,
    /// When Herald received the change this notification tells of.
    pub received_at: NaiveDateTime,
}

fn rfc3339(t: NaiveDateTime) -> String {
    t.and_utc().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The labels every alert shares with the same value.
fn common(maps: &[&Labels]) -> Labels {
    let Some((first, rest)) = maps.split_first() else {
        return Labels::new();
    };
    first
        .iter()
        .filter(|(k, v)| rest.iter().all(|m| m.get(*k) == Some(*v)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// What a notification's data says, as Alertmanager's webhook body (version 4), with each
/// alert's link to its page in Herald (`heraldURL`) beside Alertmanager's fields.
pub struct Payload<'a> {
    pub policy_name: &'a str,
    pub group_key: &'a str,
    pub group_labels: &'a Labels,
    pub status: AlertStatus,
    pub alerts: &'a [AlertSnapshot],
    /// Herald's public address (no trailing slash).
    pub external_url: &'a str,
}

impl Payload<'_> {
    pub fn to_json(&self) -> Value {
        let labels: Vec<&Labels> = self.alerts.iter().map(|a| &a.labels).collect();
        let annotations: Vec<&Labels> = self.alerts.iter().map(|a| &a.annotations).collect();
        let alerts: Vec<Value> = self
            .alerts
            .iter()
            .map(|a| {
                json!({
                    "status": a.status.code(),
                    "labels": a.labels,
                    "annotations": a.annotations,
                    "startsAt": rfc3339(a.starts_at),
                    "endsAt": a.ends_at.filter(|_| a.status == AlertStatus::Resolved)
                        .map(rfc3339)
                        .unwrap_or_else(|| "0001-01-01T00:00:00Z".into()),
                    "generatorURL": a.generator_url.clone().unwrap_or_default(),
                    "fingerprint": a.fingerprint,
                    "heraldURL": format!("{}/alerts/{}", self.external_url, a.id),
                })
            })
            .collect();
        json!({
            "version": "4",
            "groupKey": self.group_key,
            "truncatedAlerts": 0,
            "status": self.status.code(),
            "receiver": self.policy_name,
            "groupLabels": self.group_labels,
            "commonLabels": common(&labels),
            "commonAnnotations": common(&annotations),
            "externalURL": self.external_url,
            "alerts": alerts,
        })
    }
}

/// One delivery a notification makes: to whom, by what, and where, or why it cannot be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub channel: Channel,
    /// The contact, chatbot or webhook.
    pub target_id: String,
    /// The name shown in the console.
    pub recipient: String,
    /// The phone number or email address a person is reached at.
    pub address: Option<String>,
    /// Why nothing will be sent ("not sent: …"), shown in the log instead of dropping it.
    pub not_sent: Option<String>,
    /// A chat delivery's @mentions, as stored.
    pub mentions: Option<String>,
}

/// A matched route's deliveries: each person by each of the policy's methods, each chatbot,
/// each webhook.
pub fn fan_out(route: &Route) -> Vec<Planned> {
    let mut out = Vec::new();
    for person in &route.people {
        for (method, address) in &person.methods {
            let (address, not_sent) = match address {
                Ok(Address::Phone(p)) => (Some(p.as_str().to_string()), None),
                Ok(Address::Email(e)) => (Some(e.as_str().to_string()), None),
                Err(why) => (None, Some(why.to_string())),
            };
            out.push(Planned {
                channel: Channel::of(*method),
                target_id: person.contact.to_string(),
                recipient: person.name.clone(),
                address,
                not_sent,
                mentions: None,
            });
        }
    }
    for bot in &route.chatbots {
        out.push(Planned {
            channel: Channel::Chatbot,
            target_id: bot.chatbot.to_string(),
            recipient: bot.name.clone(),
            address: None,
            not_sent: None,
            mentions: bot.stored_mentions().to_stored(),
        });
    }
    for hook in &route.webhooks {
        out.push(Planned {
            channel: Channel::Webhook,
            target_id: hook.webhook.to_string(),
            recipient: hook.name.clone(),
            address: None,
            not_sent: None,
            mentions: None,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(labels: &[(&str, &str)], status: AlertStatus) -> AlertSnapshot {
        let at = chrono::DateTime::from_timestamp(1_800_000_000, 0)
            .expect("t")
            .naive_utc();
        AlertSnapshot {
            id: AlertId::new(),
            fingerprint: "abc".into(),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            annotations: Labels::new(),
            status,
            starts_at: at,
            ends_at: Some(at),
            generator_url: None,
            received_at: at,
        }
    }

    #[test]
    fn the_payload_is_alertmanagers_webhook_body() {
        let alerts = [
            snapshot(&[("alertname", "Down"), ("job", "a")], AlertStatus::Firing),
            snapshot(
                &[("alertname", "Down"), ("job", "b")],
                AlertStatus::Resolved,
            ),
        ];
        let group: Labels = [("alertname".to_string(), "Down".to_string())].into();
        let v = Payload {
            policy_name: "Ops",
            group_key: r#"{"alertname":"Down"}"#,
            group_labels: &group,
            status: AlertStatus::Firing,
            alerts: &alerts,
            external_url: "https://herald.example.com",
        }
        .to_json();
        assert_eq!(v["version"], "4");
        assert_eq!(v["receiver"], "Ops");
        assert_eq!(v["commonLabels"], json!({"alertname": "Down"}));
        assert_eq!(v["alerts"][0]["endsAt"], "0001-01-01T00:00:00Z");
        assert_eq!(v["alerts"][1]["endsAt"], "2027-01-15T08:00:00.000Z");
        assert!(
            v["alerts"][0]["heraldURL"]
                .as_str()
                .expect("url")
                .starts_with("https://herald.example.com/alerts/")
        );
    }
}
