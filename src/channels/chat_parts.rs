//! What the chat platform files share: the message before a platform's format is applied,
//! the reading of an answer, and the cleaning of texts, IDs and numbers put in a message.

use serde_json::Value;
use url::Url;

use super::http::excerpt;
use super::{FailureKind, SendFailure};

/// What to post, before the platform's format is applied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChatMessage {
    pub title: String,
    /// Markdown-ish plain text.
    pub text: String,
    /// Bare national mobile numbers (DingTalk `atMobiles`, WeCom `mentioned_mobile_list`).
    pub mention_mobiles: Vec<String>,
    /// Lark open_id/user_id, WeCom userid, Slack member id (DingTalk userId, too).
    pub mention_user_ids: Vec<String>,
    pub mention_all: bool,
}

/// A platform's reading of its answer.
pub(super) struct Verdict {
    pub(super) code: Option<i64>,
    pub(super) outcome: Result<(), SendFailure>,
    pub(super) explanation: String,
}

impl Verdict {
    pub(super) fn ok(code: Option<i64>) -> Self {
        Verdict {
            code,
            outcome: Ok(()),
            explanation: "Message accepted.".into(),
        }
    }

    pub(super) fn fail(
        code: Option<i64>,
        kind: FailureKind,
        reason: impl Into<String>,
        explanation: impl Into<String>,
    ) -> Self {
        Verdict {
            code,
            outcome: Err(SendFailure::new(kind, reason)),
            explanation: explanation.into(),
        }
    }
}

/// The value of query parameter `name`, when present and not empty.
pub(super) fn query_value(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.trim().is_empty())
}

/// At most `max` bytes of `s`, cut on a character boundary and ending with "…" when cut.
pub(super) fn truncate_bytes(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let ellipsis = "…";
    if max < ellipsis.len() {
        return String::new();
    }
    let mut end = max - ellipsis.len();
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{ellipsis}", &s[..end])
}

/// At most `max` characters of `s`, ending with "…" when cut.
pub(super) fn truncate_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let kept: String = s.chars().take(max.saturating_sub(1)).collect();
    format!("{kept}…")
}

/// A user ID safe to put in any platform's mention syntax (`<@…>`, `@…`, JSON).
pub(super) fn clean_id(id: &str) -> Option<&str> {
    let id = id.trim();
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '@'));
    ok.then_some(id)
}

/// A bare mobile number (digits only, as DingTalk and WeCom want them).
pub(super) fn clean_mobile(m: &str) -> Option<&str> {
    let m = m.trim();
    let ok = (5..=15).contains(&m.len()) && m.bytes().all(|b| b.is_ascii_digit());
    ok.then_some(m)
}

pub(super) fn ids(msg: &ChatMessage) -> Vec<&str> {
    let mut v: Vec<&str> = msg
        .mention_user_ids
        .iter()
        .filter_map(|s| clean_id(s))
        .collect();
    v.dedup();
    v
}

pub(super) fn mobiles(msg: &ChatMessage) -> Vec<&str> {
    let mut v: Vec<&str> = msg
        .mention_mobiles
        .iter()
        .filter_map(|s| clean_mobile(s))
        .collect();
    v.dedup();
    v
}

/// Reads a JSON answer's numeric code field, for DingTalk, Lark and WeCom. `Err` is the verdict
/// when the answer is not JSON with that field.
pub(super) fn json_code(
    label: &str,
    status: u16,
    body: &str,
    fields: &[&str],
) -> Result<(i64, String), Verdict> {
    let json: Option<Value> = serde_json::from_str(body).ok();
    let code = json.as_ref().and_then(|j| {
        fields
            .iter()
            .find_map(|f| j.get(*f).and_then(Value::as_i64))
    });
    let Some(code) = code else {
        if status == 404 {
            return Err(Verdict::fail(
                None,
                FailureKind::BadRecipient,
                "HTTP 404",
                format!("{label} answered HTTP 404: no such webhook. Check the webhook URL."),
            ));
        }
        let what = if json.is_some() {
            "an answer without a result code"
        } else {
            "an answer that is not JSON"
        };
        return Err(Verdict::fail(
            None,
            FailureKind::Rejected,
            format!("HTTP {status}: {}", excerpt(body, 100)),
            format!(
                "{label} answered HTTP {status} with {what}, so Herald cannot tell whether the message arrived. Check the webhook URL."
            ),
        ));
    };
    let message = json
        .as_ref()
        .and_then(|j| {
            ["errmsg", "msg", "StatusMessage"]
                .iter()
                .find_map(|f| j.get(*f).and_then(Value::as_str))
        })
        .unwrap_or_default()
        .to_string();
    Ok((code, message))
}

/// Checks a webhook URL of the `{path}?{param}=…` shape; the errors are the sentences to show.
pub(super) fn path_and_param(
    url: &Url,
    (path, wrong_path): (&str, &'static str),
    (param, no_param): (&str, &'static str),
) -> Result<(), &'static str> {
    if url.path() != path {
        return Err(wrong_path);
    }
    if query_value(url, param).is_none() {
        return Err(no_param);
    }
    Ok(())
}

/// A platform's coded answer (DingTalk, Lark, WeCom): its code and message, and verdicts that
/// quote them.
pub(super) struct Coded {
    pub(super) code: i64,
    pub(super) message: String,
    /// `(errcode 310000, "…")`, for sentences.
    pub(super) said: String,
    reason: String,
}

impl Coded {
    /// Reads the answer's code (the first of `fields` present), named `word` in what is said.
    /// Err is the verdict already known: code 0 with a 2xx status (sent), or an answer
    /// without a code.
    pub(super) fn read(
        label: &str,
        status: u16,
        body: &str,
        fields: &[&str],
        word: &str,
    ) -> Result<Coded, Verdict> {
        let (code, message) = json_code(label, status, body, fields)?;
        if code == 0 && (200..300).contains(&status) {
            return Err(Verdict::ok(Some(0)));
        }
        Ok(Coded {
            said: format!("({word} {code}, {message:?})"),
            reason: format!("{word} {code}: {message}"),
            code,
            message,
        })
    }

    pub(super) fn verdict(&self, kind: FailureKind, explanation: String) -> Verdict {
        Verdict::fail(Some(self.code), kind, self.reason.clone(), explanation)
    }

    /// Refused for a reason that is ours (keyword, signature, allowlist, format).
    pub(super) fn refused(&self, explanation: String) -> Verdict {
        self.verdict(FailureKind::Rejected, explanation)
    }
}

/// A code the platform module does not know: refused, with the platform's own words.
/// Whether a platform's error message says a user the message @mentions does not exist.
///
/// [U] None of DingTalk, Lark and WeCom documents a code for this (an unknown mobile or user ID
/// is usually just not pinged), so the words are read instead, and only an error that names a
/// *user* as missing or invalid counts: `user not found`, `user not exist`, `invalid user id`,
/// `用户不存在`. Anything else stays a refusal of the message.
pub(super) fn says_unknown_user(message: &str) -> bool {
    let m = message.to_lowercase();
    let names_user = m.contains("user") || m.contains("mobile");
    let missing = [
        "not found",
        "not exist",
        "does not exist",
        "invalid",
        "unknown",
    ]
    .iter()
    .any(|w| m.contains(w));
    (names_user && missing) || message.contains("用户不存在") || message.contains("成员不存在")
}

pub(super) fn unknown_code(label: &str, status: u16, code: i64, message: &str) -> Verdict {
    if says_unknown_user(message) {
        return Verdict::fail(
            Some(code),
            FailureKind::UnknownUser,
            format!("code {code}: {message}"),
            format!(
                "{label} says a user this message @mentions does not exist (HTTP {status}, code {code}: {}). Herald sends it again without @mentions and reaches those people another way; check their user IDs and numbers.",
                excerpt(message, 200)
            ),
        );
    }
    Verdict::fail(
        Some(code),
        FailureKind::Rejected,
        format!("code {code}: {message}"),
        format!(
            "{label} refused the message (HTTP {status}, code {code}: {}).",
            excerpt(message, 200)
        ),
    )
}
