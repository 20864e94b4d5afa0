//! One try of one delivery (or of several merged for one chatbot) through its channel, in the
//! terms the engine records: the outcome, the other side's code, a sentence, how long it took.

use std::time::Instant;

use serde_json::Value;

use crate::channels::{
    Email, FailureKind, Providers, SendFailure, SendResult, Sms, SmsPurpose, VoiceCall,
    alert_messages, chat, webhook,
};
use crate::domain::catalog::Lang;
use crate::domain::fallback::UNKNOWN_USER;
use crate::domain::mention::Mentions;
use crate::domain::notification::Channel;
use crate::domain::settings::TimeZone;
use crate::domain::{EmailAddress, PhoneNumber};
use crate::outbound::TargetPolicy;
use crate::store::chatbots::Chatbot;
use crate::store::outbox::Job;
use crate::store::webhooks::Webhook;

/// What a try came to.
#[derive(Debug, Clone)]
pub struct Try {
    pub result: Result<(), SendFailure>,
    /// The other side's status or code (`HTTP 500`, `130101`, a provider's message id).
    pub code: Option<String>,
    pub message: String,
    pub started: chrono::NaiveDateTime,
    pub duration_ms: i32,
}

impl Try {
    /// The attempt's outcome as stored and counted.
    pub fn outcome(&self) -> &'static str {
        match &self.result {
            Ok(()) => "delivered",
            Err(f) => match f.kind {
                FailureKind::Transient => "temporary",
                FailureKind::RateLimited => "rate_limited",
                FailureKind::BadRecipient => "bad_recipient",
                FailureKind::UnknownUser => UNKNOWN_USER,
                FailureKind::Rejected => "refused",
            },
        }
    }

    /// A try that never left Herald: the configuration or the data is wrong.
    pub fn refused(why: impl Into<String>) -> Try {
        let why = why.into();
        Try {
            result: Err(SendFailure::new(FailureKind::Rejected, why.clone())),
            code: None,
            message: why,
            started: crate::store::now(),
            duration_ms: 0,
        }
    }
}

/// The language a recipient's messages are written in, and the zone their times are shown in.
#[derive(Debug, Clone, Copy)]
pub struct Speaks {
    pub lang: Lang,
    pub tz: TimeZone,
}

/// What sending needs: the pooled client, the outbound rules and the providers.
#[derive(Clone)]
pub struct Senders {
    pub http: reqwest::Client,
    pub policy: TargetPolicy,
    pub providers: Providers,
}

struct Clock {
    started: chrono::NaiveDateTime,
    t0: Instant,
}

impl Clock {
    fn start() -> Clock {
        Clock {
            started: crate::store::now(),
            t0: Instant::now(),
        }
    }

    fn done(self, result: Result<(), SendFailure>, code: Option<String>, message: String) -> Try {
        Try {
            result,
            code,
            message,
            started: self.started,
            duration_ms: i32::try_from(self.t0.elapsed().as_millis()).unwrap_or(i32::MAX),
        }
    }

    /// A provider's answer: its reference when it took the message, its words when not.
    fn answered(self, result: SendResult) -> Try {
        match result {
            Ok(accepted) => {
                let message = match &accepted.id {
                    Some(id) => format!("accepted ({id})"),
                    None => "accepted".into(),
                };
                self.done(Ok(()), accepted.id, message)
            }
            Err(f) => {
                let message = f.to_string();
                self.done(Err(f), None, message)
            }
        }
    }
}

pub async fn to_webhook(s: &Senders, hook: &Webhook, data: &Value, job: &Job) -> Try {
    let clock = Clock::start();
    let resolved = data["status"] == "resolved";
    let call = webhook::call(
        &s.http,
        s.policy,
        hook,
        data,
        resolved,
        Some(job.id.as_str()),
    )
    .await;
    let code = call.status.map(|st| format!("HTTP {st}"));
    let message = match (&call.outcome, &call.error) {
        (Ok(_), _) => format!("{} answered {}", hook.name, code.as_deref().unwrap_or("")),
        (Err(_), Some(e)) => e.clone(),
        (Err(f), None) => f.to_string(),
    };
    clock.done(call.outcome.map(|_| ()), code, message)
}

pub async fn to_chatbot(
    s: &Senders,
    bot: &Chatbot,
    data: &Value,
    lang: Lang,
    mentions: &Mentions,
    bind_link: &str,
) -> Try {
    let clock = Clock::start();
    let target = chat::Bot {
        platform: bot.platform,
        webhook_url: bot.webhook_url.clone(),
        secret: bot.secret.clone(),
        keyword: bot.keyword.clone(),
    };
    let message = alert_messages::with_mentions(
        alert_messages::chat(data, &bot.card_template, lang),
        mentions,
        lang,
        bot.platform,
        bind_link,
    );
    let answer = chat::send(&s.http, s.policy, &target, &message).await;
    let code = answer
        .code
        .map(|c| c.to_string())
        .or_else(|| (answer.status != 0).then(|| format!("HTTP {}", answer.status)));
    clock.done(answer.outcome, code, answer.explanation)
}

/// SMS, calls and email to a person, at the address the delivery was queued with.
pub async fn to_person(
    s: &Senders,
    channel: Channel,
    job: &Job,
    data: &Value,
    speaks: Speaks,
) -> Try {
    let address = job.address.as_deref().unwrap_or("");
    let workspace_id = Some(job.workspace_id.clone());
    let (lang, language) = (speaks.lang, speaks.lang.language());
    match channel {
        Channel::Sms | Channel::Phone => {
            let Ok(to) = PhoneNumber::parse_stored(address) else {
                return Try::refused(format!("{address:?} is not a stored phone number"));
            };
            let clock = Clock::start();
            let result = if channel == Channel::Sms {
                let text =
                    alert_messages::with_note(job.note.as_deref(), alert_messages::sms(data, lang));
                let sms = Sms {
                    workspace_id,
                    to,
                    purpose: SmsPurpose::Alert,
                    params: vec![("text", text.clone())],
                    text,
                    language,
                };
                s.providers.sms.send_sms(&sms).await
            } else {
                let call = VoiceCall {
                    workspace_id,
                    to,
                    text: alert_messages::with_note(
                        job.note.as_deref(),
                        alert_messages::voice(data, lang),
                    ),
                    language,
                };
                s.providers.voice.call(&call).await
            };
            clock.answered(result)
        }
        Channel::Email => {
            let Ok(to) = EmailAddress::parse(address) else {
                return Try::refused(format!("{address:?} is not an email address"));
            };
            let (subject, text, html) =
                alert_messages::email_with_note(job.note.as_deref(), data, lang, speaks.tz);
            let email = Email {
                workspace_id,
                to,
                subject,
                text,
                html: Some(html),
            };
            let clock = Clock::start();
            let result = s.providers.email.send_email(&email).await;
            clock.answered(result)
        }
        Channel::Chatbot | Channel::Webhook => Try::refused("not a channel to a person"),
    }
}

/// Several notifications for one chatbot as one message: their alerts together, firing if any
/// still fires.
pub fn merged(payloads: &[&Value]) -> Value {
    let Some((first, rest)) = payloads.split_first() else {
        return Value::Null;
    };
    if rest.is_empty() {
        return (*first).clone();
    }
    let mut data = (*first).clone();
    let mut alerts: Vec<Value> = Vec::new();
    for p in payloads {
        if let Some(a) = p["alerts"].as_array() {
            alerts.extend(a.iter().cloned());
        }
    }
    let firing = payloads.iter().any(|p| p["status"] == "firing");
    data["status"] = Value::from(if firing { "firing" } else { "resolved" });
    let same = |key: &str| payloads.iter().all(|p| p[key] == first[key]);
    for key in ["commonLabels", "commonAnnotations", "groupLabels"] {
        if !same(key) {
            data[key] = serde_json::json!({});
        }
    }
    data["alerts"] = Value::from(alerts);
    data
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merging_keeps_every_alert_and_only_what_all_share() {
        let a = json!({"status": "resolved", "commonLabels": {"alertname": "A"}, "alerts": [{"labels": {"alertname": "A"}}]});
        let b = json!({"status": "firing", "commonLabels": {"alertname": "B"}, "alerts": [{"labels": {"alertname": "B"}}, {"labels": {"alertname": "B"}}]});
        let m = merged(&[&a, &b]);
        assert_eq!(m["alerts"].as_array().map(Vec::len), Some(3));
        assert_eq!(m["status"], "firing");
        assert_eq!(m["commonLabels"], json!({}));
        assert_eq!(merged(&[&a]), a);
    }
}
