//! Lark / Feishu (飞书) custom bot: `POST https://open.feishu.cn/open-apis/bot/v2/hook/<id>`,
//! signed in the JSON body, `post` (rich text) messages with `at` tags.

use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use url::Url;

use super::FailureKind;
use super::chat_parts::{ChatMessage, Coded, Verdict, ids, truncate_bytes, unknown_code};

/// Feishu (China) and Lark (international; the host is [U] in the reference, same API).
pub const HOSTS: &[&str] = &["open.feishu.cn", "open.larksuite.com"];
const LABEL: &str = "Lark (Feishu)";

/// The whole JSON body must stay within 20 KB [V]; keep a margin.
pub const MAX_BODY_BYTES: usize = 19_000;

const HOOK_PREFIX: &str = "/open-apis/bot/v2/hook/";

pub(super) fn check_shape(url: &Url) -> Result<(), &'static str> {
    let id = url.path().strip_prefix(HOOK_PREFIX).unwrap_or_default();
    let ok = !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
    if ok {
        Ok(())
    } else {
        Err("The path must be /open-apis/bot/v2/hook/ followed by the hook ID.")
    }
}

/// Lark signs differently from DingTalk: HMAC-SHA256 with KEY = `"{timestamp_s}\n{secret}"`
/// over an EMPTY message, base64, no URL-encoding.
pub fn sign(secret: &str, timestamp_s: i64) -> String {
    let key = format!("{timestamp_s}\n{secret}");
    // HMAC takes keys of any length, so this cannot fail.
    let Ok(mac) = Hmac::<Sha256>::new_from_slice(key.as_bytes()) else {
        return String::new();
    };
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

pub(super) fn build(
    url: Url,
    secret: Option<&str>,
    title: &str,
    msg: &ChatMessage,
    now_ms: i64,
) -> Result<(Url, Value), String> {
    let user_ids = ids(msg);
    let mut ats: Vec<Value> = user_ids
        .iter()
        .map(|id| json!({ "tag": "at", "user_id": id }))
        .collect();
    if msg.mention_all {
        ats.push(json!({ "tag": "at", "user_id": "all" }));
    }
    let signature = secret.map(|s| {
        let ts = now_ms.div_euclid(1000);
        (ts.to_string(), sign(s, ts))
    });
    let make = |text: &str| {
        // One paragraph per line [U: whether a text tag renders "\n" is not documented].
        let mut paragraphs: Vec<Value> = text
            .lines()
            .map(|line| json!([{ "tag": "text", "text": line }]))
            .collect();
        if !ats.is_empty() {
            paragraphs.push(Value::Array(ats.clone()));
        }
        // `zh_cn` is the language key every client shows [U for Lark-only tenants; en_us exists].
        let mut body = json!({
            "msg_type": "post",
            "content": { "post": { "zh_cn": { "title": title, "content": paragraphs } } },
        });
        if let (Some((ts, sign)), Some(obj)) = (&signature, body.as_object_mut()) {
            obj.insert("timestamp".into(), Value::String(ts.clone()));
            obj.insert("sign".into(), Value::String(sign.clone()));
        }
        body
    };
    // The limit is on the serialized body, which escaping and per-line paragraphs make larger
    // than the text: cut the text in proportion until it fits (a few rounds; strictly shrinking).
    let text = msg.text.trim_end();
    let mut budget = text.len();
    loop {
        let body = make(&truncate_bytes(text, budget));
        let size = serde_json::to_vec(&body).map(|v| v.len()).unwrap_or(0);
        if size <= MAX_BODY_BYTES || budget == 0 {
            return Ok((url, body));
        }
        let scaled = budget.saturating_mul(MAX_BODY_BYTES) / size;
        budget = scaled.min(budget - 1);
    }
}

pub(super) fn interpret(status: u16, body: &str) -> Verdict {
    // `code` is current; `StatusCode` is the legacy field some answers still carry.
    let c = match Coded::read(LABEL, status, body, &["code", "StatusCode"], "code") {
        Ok(c) => c,
        Err(verdict) => return verdict,
    };
    let (said, msg) = (&c.said, &c.message);
    match c.code {
        19021 => c.refused(format!(
            "Lark refused the signature or timestamp {said}: check the signature key and that the server clock is within one hour of Lark's."
        )),
        19022 => c.refused(format!(
            "Lark refused this server's IP address {said}: add Herald's public IP to the bot's IP allowlist."
        )),
        19024 => c.refused(format!(
            "Lark dropped the message because it lacks the bot's security keyword {said}: set the same keyword on this bot as on the Lark bot."
        )),
        9499 => c.refused(format!(
            "Lark could not read the message {said}: it may be over 20 KB or malformed; shorten the card content."
        )),
        11232 => c.verdict(FailureKind::RateLimited, format!(
                "Lark is rate limiting this bot {said} (100 a minute, 5 a second); Herald will send again later."
            )),
        // [U] Not in the reference's table: the code commonly seen for a deleted or mistyped
        // hook ("param invalid: incoming webhook access token invalid").
        19001 => c.verdict(FailureKind::BadRecipient, format!(
                "Lark does not know this webhook {said}: the URL is wrong or the bot was removed. Copy the webhook URL again."
            )),
        _ => unknown_code(LABEL, status, c.code, msg),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::chat::{Bot, build_request};
    use crate::domain::Platform;

    #[test]
    fn reference_vector() {
        assert_eq!(
            sign("demo", 1_599_360_473),
            "l1N0gAcBjdwBvGm1xMjOF0XSyaLRpR7tuO5dHfhAYc8="
        );
    }

    fn bot(secret: Option<&str>, keyword: Option<&str>) -> Bot {
        Bot {
            platform: Platform::Lark,
            webhook_url: "https://open.feishu.cn/open-apis/bot/v2/hook/abc-123".into(),
            secret: secret.map(Into::into),
            keyword: keyword.map(Into::into),
        }
    }

    #[test]
    fn signed_post_with_mentions() {
        let msg = ChatMessage {
            title: "CPU high".into(),
            text: "n1 at 97%\nsince 10:00".into(),
            mention_user_ids: vec!["ou_abc".into(), "<bad>".into()],
            mention_all: true,
            ..ChatMessage::default()
        };
        let (url, body) = build_request(&bot(Some("demo"), Some("Alert")), &msg, 1_599_360_473_999)
            .expect("build");
        assert_eq!(
            url.as_str(),
            "https://open.feishu.cn/open-apis/bot/v2/hook/abc-123"
        );
        assert_eq!(body["timestamp"], "1599360473");
        assert_eq!(body["sign"], "l1N0gAcBjdwBvGm1xMjOF0XSyaLRpR7tuO5dHfhAYc8=");
        assert_eq!(body["msg_type"], "post");
        let post = &body["content"]["post"]["zh_cn"];
        assert_eq!(post["title"], "[Alert] CPU high");
        assert_eq!(
            post["content"],
            json!([
                [{"tag": "text", "text": "n1 at 97%"}],
                [{"tag": "text", "text": "since 10:00"}],
                [{"tag": "at", "user_id": "ou_abc"}, {"tag": "at", "user_id": "all"}],
            ])
        );
        let (_, body) = build_request(&bot(None, None), &msg, 1).expect("build");
        assert!(body.get("sign").is_none() && body.get("timestamp").is_none());
    }

    #[test]
    fn body_stays_under_20_kb() {
        for text in [
            "a\n".repeat(30_000),
            "告".repeat(30_000),
            "\"".repeat(30_000),
        ] {
            let msg = ChatMessage {
                title: "T".into(),
                text,
                ..ChatMessage::default()
            };
            let (_, body) = build_request(&bot(Some("s"), None), &msg, 1).expect("build");
            let size = serde_json::to_vec(&body).expect("json").len();
            assert!(size <= MAX_BODY_BYTES, "{size}");
            assert!(size > MAX_BODY_BYTES - 2_000, "cut too much: {size}");
        }
    }

    #[test]
    fn codes() {
        let v = interpret(
            200,
            r#"{"StatusCode":0,"StatusMessage":"success","code":0,"data":{},"msg":"success"}"#,
        );
        assert_eq!(v.outcome, Ok(()));
        for (code, kind, needle) in [
            (19021, FailureKind::Rejected, "clock"),
            (19022, FailureKind::Rejected, "IP allowlist"),
            (19024, FailureKind::Rejected, "keyword"),
            (9499, FailureKind::Rejected, "20 KB"),
            (11232, FailureKind::RateLimited, "rate limiting"),
            (19001, FailureKind::BadRecipient, "webhook"),
            (12345, FailureKind::Rejected, "12345"),
        ] {
            let v = interpret(
                200,
                &json!({"code": code, "msg": "m", "data": {}}).to_string(),
            );
            assert_eq!(v.code, Some(code));
            assert_eq!(v.outcome.expect_err("refused").kind, kind);
            assert!(v.explanation.contains(needle), "{code}: {}", v.explanation);
        }
        // Errors may also come with a 400 status.
        let v = interpret(400, r#"{"code":9499,"msg":"Bad Request","data":{}}"#);
        assert_eq!(v.code, Some(9499));
    }
}
