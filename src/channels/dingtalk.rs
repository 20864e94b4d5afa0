//! DingTalk (钉钉) custom robot: `POST https://oapi.dingtalk.com/robot/send?access_token=…`,
//! signed in the query string, markdown messages with `at.atMobiles`.

use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use url::Url;

use super::FailureKind;
use super::chat_parts::{ChatMessage, Coded, Verdict, ids, mobiles, truncate_bytes, unknown_code};

pub const HOSTS: &[&str] = &["oapi.dingtalk.com"];
const LABEL: &str = "DingTalk";

/// Longest markdown text sent. DingTalk's own limit is not documented [U]; 20 000 bytes is the
/// figure commonly quoted, so stay below it.
pub const MAX_TEXT_BYTES: usize = 18_000;

pub(super) fn check_shape(url: &Url) -> Result<(), &'static str> {
    let path = ("/robot/send", "The path must be /robot/send.");
    super::chat_parts::path_and_param(
        url,
        path,
        ("access_token", "The URL must carry access_token=…."),
    )
}

/// `base64(HMAC-SHA256(key = secret, message = "{timestamp_ms}\n{secret}"))`, before
/// URL-encoding (the query encoder does that).
pub fn sign(secret: &str, timestamp_ms: i64) -> String {
    // HMAC takes keys of any length, so this cannot fail.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(format!("{timestamp_ms}\n{secret}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

pub(super) fn build(
    mut url: Url,
    secret: Option<&str>,
    title: &str,
    msg: &ChatMessage,
    now_ms: i64,
) -> Result<(Url, Value), String> {
    // A URL copied from a signed request would carry a stale signature: sign afresh.
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != "timestamp" && k != "sign")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    {
        let mut q = url.query_pairs_mut();
        q.clear().extend_pairs(kept);
        if let Some(secret) = secret {
            q.append_pair("timestamp", &now_ms.to_string())
                .append_pair("sign", &sign(secret, now_ms));
        }
    }

    // atMobiles/atUserIds ping only people also named as @… in the text.
    let mobiles = mobiles(msg);
    let user_ids = ids(msg);
    let at_line = mobiles
        .iter()
        .chain(user_ids.iter())
        .map(|m| format!("@{m}"))
        .collect::<Vec<_>>()
        .join(" ");
    let heading = format!("### {title}\n\n");
    let tail = if at_line.is_empty() {
        String::new()
    } else {
        format!("\n\n{at_line}")
    };
    let budget = MAX_TEXT_BYTES.saturating_sub(heading.len() + tail.len());
    let text = format!(
        "{heading}{}{tail}",
        truncate_bytes(msg.text.trim_end(), budget)
    );
    let body = json!({
        "msgtype": "markdown",
        "markdown": { "title": title, "text": text },
        "at": { "atMobiles": mobiles, "atUserIds": user_ids, "isAtAll": msg.mention_all },
    });
    Ok((url, body))
}

pub(super) fn interpret(status: u16, body: &str) -> Verdict {
    let c = match Coded::read(LABEL, status, body, &["errcode"], "errcode") {
        Ok(c) => c,
        Err(verdict) => return verdict,
    };
    let (said, errmsg) = (&c.said, &c.message);
    match c.code {
        310000 => {
            // One code for every security check; errmsg says which.
            let m = errmsg.to_lowercase();
            if m.contains("keyword") || errmsg.contains("关键词") {
                c.refused(format!(
                    "DingTalk dropped the message because it lacks the robot's security keyword {said}: set the same keyword on this bot as on the robot."
                ))
            } else if m.contains("timestamp") {
                c.refused(format!(
                    "DingTalk refused the timestamp {said}: the server clock must be within one hour of DingTalk's; check NTP."
                ))
            } else if m.contains("sign") {
                c.refused(format!(
                    "DingTalk refused the signature {said}: check the signature key (SEC…) and the server clock."
                ))
            } else if m.starts_with("ip")
                || m.contains(" ip")
                || m.contains("whitelist")
                || m.contains("allowlist")
                || errmsg.contains("白名单")
            {
                c.refused(format!(
                    "DingTalk refused this server's IP address {said}: add Herald's public IP to the robot's IP allowlist."
                ))
            } else {
                c.refused(format!(
                    "DingTalk's security check refused the message {said}: check the robot's keyword, signature key and IP allowlist."
                ))
            }
        }
        130101 => c.verdict(FailureKind::RateLimited, format!(
                "DingTalk is throttling this robot {said}: it takes 20 messages a minute and then pauses the robot for 10 minutes. Herald will send again later."
            )),
        300001 | 300005 => c.verdict(FailureKind::BadRecipient, format!(
                "DingTalk does not know this robot's token {said}: the webhook URL is wrong or the robot was removed. Copy the webhook URL again."
            )),
        400402 => c.refused(format!(
            "DingTalk says a parameter is missing or invalid {said}; check the card content."
        )),
        _ => unknown_code(LABEL, status, c.code, errmsg),
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
            sign("SEC0123456789abcdef", 1_700_000_000_000),
            "TSZbRFUuvaSQaRKUpF970OPCb2/LcQAP3wOvwZIzBZk="
        );
    }

    fn bot(secret: Option<&str>, keyword: Option<&str>) -> Bot {
        Bot {
            platform: Platform::DingTalk,
            webhook_url:
                "https://oapi.dingtalk.com/robot/send?access_token=tok&timestamp=1&sign=old".into(),
            secret: secret.map(Into::into),
            keyword: keyword.map(Into::into),
        }
    }

    #[test]
    fn signature_goes_url_encoded_in_the_query() {
        let msg = ChatMessage {
            title: "CPU high".into(),
            text: "n1 at 97%".into(),
            ..ChatMessage::default()
        };
        let (url, _) = build_request(
            &bot(Some("SEC0123456789abcdef"), None),
            &msg,
            1_700_000_000_000,
        )
        .expect("build");
        assert_eq!(
            url.query(),
            Some(
                "access_token=tok&timestamp=1700000000000&sign=TSZbRFUuvaSQaRKUpF970OPCb2%2FLcQAP3wOvwZIzBZk%3D"
            )
        );
        let (url, _) = build_request(&bot(None, None), &msg, 1).expect("build");
        assert_eq!(url.query(), Some("access_token=tok"));
    }

    #[test]
    fn markdown_with_keyword_and_mentions_in_the_text() {
        let msg = ChatMessage {
            title: "CPU high".into(),
            text: "n1 at 97%".into(),
            mention_mobiles: vec!["13800138000".into(), "bad!".into()],
            mention_user_ids: vec![],
            mention_all: false,
        };
        let (_, body) = build_request(&bot(None, Some("Alert")), &msg, 1).expect("build");
        assert_eq!(body["msgtype"], "markdown");
        assert_eq!(body["markdown"]["title"], "[Alert] CPU high");
        assert_eq!(
            body["markdown"]["text"],
            "### [Alert] CPU high\n\nn1 at 97%\n\n@13800138000"
        );
        assert_eq!(body["at"]["atMobiles"], json!(["13800138000"]));
        assert_eq!(body["at"]["isAtAll"], false);
    }

    #[test]
    fn long_text_is_cut_but_keeps_keyword_and_mentions() {
        let msg = ChatMessage {
            title: "T".into(),
            text: "告".repeat(20_000),
            mention_mobiles: vec!["13800138000".into()],
            ..ChatMessage::default()
        };
        let (_, body) = build_request(&bot(None, Some("Alert")), &msg, 1).expect("build");
        let text = body["markdown"]["text"].as_str().expect("text");
        assert!(text.len() <= MAX_TEXT_BYTES);
        assert!(text.contains("…\n\n@13800138000"));
        assert!(text.starts_with("### [Alert] T"));
    }

    #[test]
    fn errcodes() {
        let kind = |body: &str| interpret(200, body).outcome.map_err(|e| e.kind);
        assert_eq!(kind(r#"{"errcode":0,"errmsg":"ok"}"#), Ok(()));
        assert_eq!(
            kind(r#"{"errcode":130101,"errmsg":"send too fast, exceed 20 times per minute"}"#),
            Err(FailureKind::RateLimited)
        );
        assert_eq!(
            kind(r#"{"errcode":300001,"errmsg":"token is not exist"}"#),
            Err(FailureKind::BadRecipient)
        );
        // [U] no documented code: the words decide, and only words about a user.
        for (body, want) in [
            (
                r#"{"errcode":400105,"errmsg":"user not found"}"#,
                FailureKind::UnknownUser,
            ),
            (
                r#"{"errcode":400106,"errmsg":"atMobiles 用户不存在"}"#,
                FailureKind::UnknownUser,
            ),
            (
                r#"{"errcode":400107,"errmsg":"invalid userId"}"#,
                FailureKind::UnknownUser,
            ),
            (
                r#"{"errcode":400108,"errmsg":"something else"}"#,
                FailureKind::Rejected,
            ),
            (
                r#"{"errcode":400109,"errmsg":"token invalid"}"#,
                FailureKind::Rejected,
            ),
        ] {
            assert_eq!(kind(body), Err(want), "{body}");
        }
        for (msg, needle) in [
            ("keywords not in content", "keyword"),
            ("关键词不匹配", "keyword"),
            ("sign not match", "signature key (SEC…)"),
            ("invalid timestamp", "clock"),
            ("ip 1.2.3.4 不在白名单中", "IP allowlist"),
            ("something else", "security check"),
        ] {
            let v = interpret(200, &json!({"errcode": 310000, "errmsg": msg}).to_string());
            assert_eq!(v.code, Some(310000));
            assert_eq!(v.outcome.expect_err("refused").kind, FailureKind::Rejected);
            assert!(v.explanation.contains(needle), "{msg}: {}", v.explanation);
        }
        let v = interpret(200, r#"{"errcode":400402,"errmsg":"missing title"}"#);
        assert!(v.explanation.contains("parameter"));
        let v = interpret(200, r#"{"errcode":777,"errmsg":"odd"}"#);
        assert!(v.explanation.contains("777") && v.explanation.contains("odd"));
    }
}
