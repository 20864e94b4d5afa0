//! Twilio Programmable Messaging (`Messages.json`) and Voice (`Calls.json` with inline TwiML
//! `<Say>`): form-encoded POSTs with HTTP Basic auth, as Twilio's REST API documents.

use futures_util::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::http::{checked_url, excerpt, read_answer, transport_failure};
use super::{
    Accepted, CallReports, FailureKind, SendFailure, SendResult, Sms, SmsSender, VoiceCall,
    VoiceCaller,
};
use crate::domain::Language;
use crate::outbound::TargetPolicy;

/// The `[twilio]` section of the settings (`HERALD_TWILIO_*` variables override it). Debug
/// output shows the token as `[REDACTED]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TwilioConfig {
    pub account_sid: String,
    /// Empty: not configured.
    pub auth_token: SecretString,
    /// The Twilio number messages and calls come from (E.164).
    pub from: String,
    /// Used for SMS instead of `from` when set.
    pub messaging_service_sid: String,
    /// `https://api.twilio.com`; other values point tests at a loopback stand-in.
    pub base_url: String,
}

impl Default for TwilioConfig {
    fn default() -> Self {
        TwilioConfig {
            account_sid: String::new(),
            auth_token: SecretString::default(),
            from: String::new(),
            messaging_service_sid: String::new(),
            base_url: "https://api.twilio.com".into(),
        }
    }
}

pub struct Twilio {
    config: TwilioConfig,
    http: reqwest::Client,
    policy: TargetPolicy,
    /// Where Twilio reports each call's outcome; None: calls count as delivered once placed.
    status_callback: Option<String>,
}

/// The route Twilio posts call status to.
pub const STATUS_CALLBACK_PATH: &str = "/hooks/twilio/calls";

/// The status callback address under Herald's public address.
pub fn status_callback_url(public_url: &str) -> String {
    format!("{}{STATUS_CALLBACK_PATH}", public_url.trim_end_matches('/'))
}

/// Twilio's request signature (`X-Twilio-Signature`): base64 of HMAC-SHA1, keyed with the auth
/// token, over the full URL Twilio requested followed by every POST parameter's name and
/// value, sorted by name. [U] Twilio's documented scheme, not checked against a live account
/// here; the stand-in in the tests signs the same way.
pub fn signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    use base64::Engine;
    use hmac::{Hmac, Mac};
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut data = url.to_string();
    for (k, v) in sorted {
        data.push_str(k);
        data.push_str(v);
    }
    let Ok(mut mac) = Hmac::<sha1::Sha1>::new_from_slice(auth_token.as_bytes()) else {
        return String::new();
    };
    mac.update(data.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Whether `given` is Twilio's signature of this request; compared in constant time.
pub fn signed_by_twilio(
    auth_token: &str,
    url: &str,
    params: &[(String, String)],
    given: &str,
) -> bool {
    use subtle::ConstantTimeEq;
    if auth_token.is_empty() || given.is_empty() {
        return false;
    }
    signature(auth_token, url, params)
        .as_bytes()
        .ct_eq(given.as_bytes())
        .into()
}

/// A call's final status as Twilio reports it; None for the statuses along the way.
pub fn call_outcome(status: &str) -> Option<crate::domain::notification::CallOutcome> {
    use crate::domain::notification::CallOutcome;
    match status {
        // Twilio says completed for a call that was answered and then hung up.
        "completed" => Some(CallOutcome::Answered),
        "busy" => Some(CallOutcome::Busy),
        "no-answer" => Some(CallOutcome::NoAnswer),
        "canceled" => Some(CallOutcome::NoAnswer),
        "failed" => Some(CallOutcome::Failed),
        _ => None,
    }
}

#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    sid: Option<String>,
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    message: Option<String>,
}

/// Twilio's error codes sorted into what Herald does next.
fn classify(status: u16, code: Option<i64>) -> FailureKind {
    match code {
        Some(20429) => FailureKind::RateLimited,
        // Invalid To, unverified To on trial accounts, unsubscribed, not SMS-capable,
        // landline or unreachable, blocked destination.
        Some(21211 | 21217 | 21407 | 21408 | 21421 | 21608 | 21610 | 21612 | 21614 | 13224) => {
            FailureKind::BadRecipient
        }
        _ if status == 429 => FailureKind::RateLimited,
        _ if status >= 500 => FailureKind::Transient,
        _ => FailureKind::Rejected,
    }
}

/// `<Say>` text: XML-escaped, since alert text is arbitrary.
pub fn escape_xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

pub fn twiml(text: &str, language: Language) -> String {
    let lang = match language {
        Language::Chinese => "zh-CN",
        _ => "en-US",
    };
    // Said twice: the callee often picks up mid-sentence.
    format!(
        "<Response><Say language=\"{lang}\" loop=\"2\">{}</Say></Response>",
        escape_xml(text)
    )
}

impl Twilio {
    /// `http` is the shared outbound client; `policy` the same rules it resolves names with.
    pub fn new(config: TwilioConfig, http: reqwest::Client, policy: TargetPolicy) -> Self {
        Twilio {
            config,
            http,
            policy,
            status_callback: None,
        }
    }

    /// Calls report their outcome to `url` (Herald's public address must reach Herald).
    pub fn with_status_callback(mut self, url: String) -> Self {
        self.status_callback = Some(url);
        self
    }

    async fn post(&self, resource: &str, form: &[(&str, &str)]) -> SendResult {
        let url = format!(
            "{}/2010-04-01/Accounts/{}/{resource}",
            self.config.base_url.trim_end_matches('/'),
            self.config.account_sid
        );
        let url = checked_url(&url, self.policy)?;
        let response = self
            .http
            .post(url)
            .basic_auth(
                &self.config.account_sid,
                Some(self.config.auth_token.expose_secret()),
            )
            .form(form)
            .send()
            .await
            .map_err(|e| transport_failure(&e))?;
        let (status, text) = read_answer(response).await?;
        let answer: Option<Answer> = serde_json::from_str(&text).ok();
        if status.is_success() {
            return Ok(Accepted {
                id: answer.and_then(|a| a.sid),
            });
        }
        let (code, message) = match answer {
            Some(a) => (a.code, a.message.unwrap_or_default()),
            None => (None, text),
        };
        let reason = match code {
            Some(c) => format!("{c} {}", excerpt(&message, 200)),
            None => format!("HTTP {status}: {}", excerpt(&message, 200)),
        };
        Err(SendFailure::new(classify(status.as_u16(), code), reason))
    }
}

impl SmsSender for Twilio {
    fn name(&self) -> &'static str {
        "twilio"
    }

    fn send_sms<'a>(&'a self, sms: &'a Sms) -> BoxFuture<'a, SendResult> {
        Box::pin(async move {
            let mut form = vec![("To", sms.to.as_str()), ("Body", sms.text.as_str())];
            if self.config.messaging_service_sid.is_empty() {
                form.push(("From", &self.config.from));
            } else {
                form.push(("MessagingServiceSid", &self.config.messaging_service_sid));
            }
            self.post("Messages.json", &form).await
        })
    }
}

impl VoiceCaller for Twilio {
    fn name(&self) -> &'static str {
        "twilio"
    }

    fn reports(&self) -> CallReports {
        if self.status_callback.is_some() {
            CallReports::Pushed
        } else {
            CallReports::Never
        }
    }

    /// The auth token status callbacks are signed with.
    fn callback_secret(&self) -> Option<&str> {
        Some(self.config.auth_token.expose_secret()).filter(|t| !t.is_empty())
    }

    fn call<'a>(&'a self, call: &'a VoiceCall) -> BoxFuture<'a, SendResult> {
        Box::pin(async move {
            let twiml = twiml(&call.text, call.language);
            let mut form = vec![
                ("To", call.to.as_str()),
                ("From", self.config.from.as_str()),
                ("Twiml", twiml.as_str()),
            ];
            if let Some(url) = &self.status_callback {
                // Only the final status: answered and hung up, busy, no answer, failed.
                form.push(("StatusCallback", url.as_str()));
                form.push(("StatusCallbackEvent", "completed"));
            }
            self.post("Calls.json", &form).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn say_text_is_escaped() {
        assert_eq!(
            twiml("CPU <90% & \"ok\"", Language::English),
            "<Response><Say language=\"en-US\" loop=\"2\">CPU &lt;90% &amp; &quot;ok&quot;</Say></Response>"
        );
    }

    #[test]
    fn signatures_cover_the_url_and_sorted_parameters() {
        let params = vec![
            ("CallStatus".to_string(), "no-answer".to_string()),
            ("CallSid".to_string(), "CA1".to_string()),
        ];
        let url = "https://herald.example.com/hooks/twilio/calls";
        let sig = signature("token", url, &params);
        assert!(signed_by_twilio("token", url, &params, &sig));
        let mut reordered = params.clone();
        reordered.reverse();
        assert!(
            signed_by_twilio("token", url, &reordered, &sig),
            "order does not matter"
        );
        assert!(!signed_by_twilio("other", url, &params, &sig));
        assert!(!signed_by_twilio(
            "token",
            "https://evil.example.com/hooks/twilio/calls",
            &params,
            &sig
        ));
        let forged = vec![
            ("CallSid".to_string(), "CA1".to_string()),
            ("CallStatus".to_string(), "completed".to_string()),
        ];
        assert!(!signed_by_twilio("token", url, &forged, &sig));
        assert!(!signed_by_twilio("token", url, &params, ""));
        assert!(!signed_by_twilio("", url, &params, &sig));
    }

    #[test]
    fn error_codes_map_to_what_herald_does_next() {
        assert_eq!(classify(400, Some(21211)), FailureKind::BadRecipient);
        assert_eq!(classify(429, Some(20429)), FailureKind::RateLimited);
        assert_eq!(classify(401, Some(20003)), FailureKind::Rejected);
        assert_eq!(classify(503, None), FailureKind::Transient);
    }
}
