//! WeCom (企业微信) group robot: `POST https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…`,
//! no signing. Markdown (4096 bytes, `<@userid>` mentions) unless the message mentions everyone
//! or mobile numbers, which only `text` (2048 bytes, `mentioned_list` /
//! `mentioned_mobile_list`) can do.

use serde_json::{Value, json};
use url::Url;

use super::FailureKind;
use super::chat_parts::{ChatMessage, Coded, Verdict, ids, mobiles, truncate_bytes, unknown_code};

pub const HOSTS: &[&str] = &["qyapi.weixin.qq.com"];
const LABEL: &str = "WeCom";

/// Content limits in UTF-8 bytes [V].
pub const MAX_MARKDOWN_BYTES: usize = 4096;
pub const MAX_TEXT_BYTES: usize = 2048;

pub(super) fn check_shape(url: &Url) -> Result<(), &'static str> {
    let path = (
        "/cgi-bin/webhook/send",
        "The path must be /cgi-bin/webhook/send.",
    );
    super::chat_parts::path_and_param(url, path, ("key", "The URL must carry key=…."))
}

pub(super) fn build(url: Url, title: &str, msg: &ChatMessage) -> Result<(Url, Value), String> {
    let user_ids = ids(msg);
    let mobiles = mobiles(msg);
    let text = msg.text.trim_end();
    if msg.mention_all || !mobiles.is_empty() {
        let head = format!("{title}\n");
        let content = format!(
            "{head}{}",
            truncate_bytes(text, MAX_TEXT_BYTES.saturating_sub(head.len()))
        );
        let mut mentioned: Vec<&str> = user_ids.clone();
        let mut mentioned_mobiles: Vec<&str> = mobiles.clone();
        if msg.mention_all {
            mentioned.push("@all");
            // "@all" in the mobile list too, per the reference's field description.
            if !mentioned_mobiles.is_empty() {
                mentioned_mobiles.push("@all");
            }
        }
        let body = json!({
            "msgtype": "text",
            "text": {
                "content": content,
                "mentioned_list": mentioned,
                "mentioned_mobile_list": mentioned_mobiles,
            },
        });
        return Ok((url, body));
    }
    let head = format!("**{title}**\n");
    let tail = if user_ids.is_empty() {
        String::new()
    } else {
        let ats: Vec<String> = user_ids.iter().map(|id| format!("<@{id}>")).collect();
        format!("\n{}", ats.join(" "))
    };
    let budget = MAX_MARKDOWN_BYTES.saturating_sub(head.len() + tail.len());
    let content = format!("{head}{}{tail}", truncate_bytes(text, budget));
    Ok((
        url,
        json!({ "msgtype": "markdown", "markdown": { "content": content } }),
    ))
}

pub(super) fn interpret(status: u16, body: &str) -> Verdict {
    let c = match Coded::read(LABEL, status, body, &["errcode"], "errcode") {
        Ok(c) => c,
        Err(verdict) => return verdict,
    };
    let (said, errmsg) = (&c.said, &c.message);
    match c.code {
        93000 => c.verdict(FailureKind::BadRecipient, format!(
                "WeCom does not accept this webhook key {said}: copy the whole webhook URL again from the group robot (a common mistake is pasting only part of it)."
            )),
        45009 => c.verdict(FailureKind::RateLimited, format!(
                "WeCom is rate limiting this robot {said} (20 messages a minute); Herald will send again later."
            )),
        // [U] Codes from WeCom's general list, not verified for robots.
        40008 | 44004 | 40058 => c.verdict(FailureKind::Rejected, format!("WeCom refused the message format {said}; check the card content.")),
        _ => unknown_code(LABEL, status, c.code, errmsg),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::chat::{Bot, build_request};
    use crate::domain::Platform;

    fn bot(keyword: Option<&str>) -> Bot {
        Bot {
            platform: Platform::WeCom,
            webhook_url: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k-1".into(),
            secret: Some("ignored".into()),
            keyword: keyword.map(Into::into),
        }
    }

    #[test]
    fn markdown_with_user_mentions() {
        let msg = ChatMessage {
            title: "CPU high".into(),
            text: "n1 at 97%".into(),
            mention_user_ids: vec!["zhangsan".into(), "<x>".into()],
            ..ChatMessage::default()
        };
        let (url, body) = build_request(&bot(Some("Alert")), &msg, 1).expect("build");
        assert_eq!(url.query(), Some("key=k-1"));
        assert_eq!(
            body,
            json!({"msgtype": "markdown", "markdown": {"content": "**[Alert] CPU high**\nn1 at 97%\n<@zhangsan>"}})
        );
    }

    #[test]
    fn text_when_mentioning_mobiles_or_everyone() {
        let msg = ChatMessage {
            title: "CPU high".into(),
            text: "n1".into(),
            mention_mobiles: vec!["13800138000".into()],
            mention_user_ids: vec!["zhangsan".into()],
            mention_all: true,
        };
        let (_, body) = build_request(&bot(None), &msg, 1).expect("build");
        assert_eq!(body["msgtype"], "text");
        assert_eq!(body["text"]["content"], "CPU high\nn1");
        assert_eq!(body["text"]["mentioned_list"], json!(["zhangsan", "@all"]));
        assert_eq!(
            body["text"]["mentioned_mobile_list"],
            json!(["13800138000", "@all"])
        );
    }

    #[test]
    fn limits_are_bytes() {
        let msg = ChatMessage {
            title: "T".into(),
            text: "告".repeat(5000),
            mention_user_ids: vec!["u1".into()],
            ..ChatMessage::default()
        };
        let (_, body) = build_request(&bot(None), &msg, 1).expect("build");
        let c = body["markdown"]["content"].as_str().expect("content");
        assert!(
            c.len() <= MAX_MARKDOWN_BYTES && c.ends_with("…\n<@u1>"),
            "{}",
            c.len()
        );
        let msg = ChatMessage {
            mention_all: true,
            ..msg
        };
        let (_, body) = build_request(&bot(None), &msg, 1).expect("build");
        let c = body["text"]["content"].as_str().expect("content");
        assert!(c.len() <= MAX_TEXT_BYTES && c.ends_with('…'));
    }

    #[test]
    fn errcodes() {
        let kind = |body: &str| interpret(200, body).outcome.map_err(|e| e.kind);
        assert_eq!(kind(r#"{"errcode":0,"errmsg":"ok"}"#), Ok(()));
        assert_eq!(
            kind(r#"{"errcode":93000,"errmsg":"invalid webhook url"}"#),
            Err(FailureKind::BadRecipient)
        );
        assert_eq!(
            kind(r#"{"errcode":45009,"errmsg":"api freq out of limit"}"#),
            Err(FailureKind::RateLimited)
        );
        assert_eq!(
            kind(r#"{"errcode":40008,"errmsg":"invalid message type"}"#),
            Err(FailureKind::Rejected)
        );
        let v = interpret(200, r#"{"errcode":93000,"errmsg":"invalid webhook url"}"#);
        assert!(v.explanation.contains("webhook key"));
    }
}
