//! Slack incoming webhooks: `POST https://hooks.slack.com/services/T…/B…/…`, no signing (the
//! URL is the secret), a `text` message in mrkdwn with `<@U…>` mentions. Slack answers `ok` in
//! plain text, or an error string with a 4xx status.

use serde_json::{Value, json};
use url::Url;

use super::FailureKind;
use super::chat_parts::{ChatMessage, Verdict, ids};
use super::http::excerpt;

/// `hooks.slack-gov.com` serves GovSlack workspaces [U: not in the reference].
pub const HOSTS: &[&str] = &["hooks.slack.com", "hooks.slack-gov.com"];

/// Slack cuts `text` beyond 40 000 characters [U]; stay below.
pub const MAX_TEXT_CHARS: usize = 39_000;

pub(super) fn check_shape(url: &Url) -> Result<(), &'static str> {
    let parts: Vec<&str> = url
        .path()
        .strip_prefix("/services/")
        .unwrap_or_default()
        .split('/')
        .collect();
    let ok = parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric()));
    if ok {
        Ok(())
    } else {
        Err("The path must be /services/T…/B…/… (three parts).")
    }
}

/// Slack's escaping for user text: `&`, `<` and `>` only [V].
fn escape_char(c: char) -> std::borrow::Cow<'static, str> {
    match c {
        '&' => "&amp;".into(),
        '<' => "&lt;".into(),
        '>' => "&gt;".into(),
        c => c.to_string().into(),
    }
}

fn escape(s: &str) -> String {
    s.chars().map(escape_char).collect()
}

/// Escapes `s` into at most `budget` characters, cutting between entities (never inside one)
/// and marking the cut with `…`.
fn escape_within(s: &str, budget: usize) -> String {
    let escaped = escape(s);
    if escaped.chars().count() <= budget {
        return escaped;
    }
    let limit = budget.saturating_sub(1);
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let e = escape_char(c);
        let n = e.chars().count();
        if used + n > limit {
            break;
        }
        out.push_str(&e);
        used += n;
    }
    out.push('…');
    out
}

pub(super) fn build(url: Url, title: &str, msg: &ChatMessage) -> Result<(Url, Value), String> {
    let mut mentions: Vec<String> = ids(msg).iter().map(|id| format!("<@{id}>")).collect();
    if msg.mention_all {
        mentions.push("<!channel>".into());
    }
    let head = format!("*{}*\n", escape(title));
    let tail = if mentions.is_empty() {
        String::new()
    } else {
        format!("\n{}", mentions.join(" "))
    };
    let budget = MAX_TEXT_CHARS.saturating_sub(head.chars().count() + tail.chars().count());
    let body = escape_within(msg.text.trim_end(), budget);
    Ok((url, json!({ "text": format!("{head}{body}{tail}") })))
}

pub(super) fn interpret(status: u16, body: &str) -> Verdict {
    let answer = body.trim();
    if status == 200 && answer == "ok" {
        return Verdict::ok(None);
    }
    let reason = format!("HTTP {status}: {}", excerpt(answer, 100));
    let said = format!("(HTTP {status}, {:?})", excerpt(answer, 100));
    let (kind, explanation) = match answer {
        "invalid_token" | "no_service" | "no_service_id" | "no_team" | "team_disabled"
        | "no_active_hooks" => (
            FailureKind::BadRecipient,
            format!(
                "Slack does not accept this webhook {said}: it was removed or mistyped. Create a new incoming webhook and paste its URL."
            ),
        ),
        "channel_not_found" | "channel_is_archived" => (
            FailureKind::BadRecipient,
            format!(
                "Slack cannot post to this webhook's channel {said}: it was deleted or archived. Create a webhook for another channel."
            ),
        ),
        "action_prohibited" | "posting_to_general_channel_denied" => (
            FailureKind::Rejected,
            format!(
                "Slack's workspace settings forbid this post {said}; ask a Slack admin or use another channel."
            ),
        ),
        "too_many_attempts" | "rate_limited" => (
            FailureKind::RateLimited,
            format!(
                "Slack is rate limiting this webhook {said} (about one message a second); Herald will send again later."
            ),
        ),
        // Slack's documented word for a user it cannot find; a webhook post only names users
        // in its `<@U…>` mentions.
        "user_not_found" => (
            FailureKind::UnknownUser,
            format!(
                "Slack says a user this message @mentions does not exist {said}. Herald sends it again without @mentions and reaches those people another way; check their Slack member IDs."
            ),
        ),
        "invalid_payload" | "no_text" | "too_many_attachments" => (
            FailureKind::Rejected,
            format!("Slack could not use the message {said}; check the card content."),
        ),
        _ if status == 404 => (
            FailureKind::BadRecipient,
            format!("Slack answered HTTP 404 {said}: no such webhook. Check the webhook URL."),
        ),
        _ => (
            FailureKind::Rejected,
            format!("Slack refused the message {said}."),
        ),
    };
    Verdict::fail(None, kind, reason, explanation)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::chat::{Bot, build_request};
    use crate::domain::Platform;

    fn bot() -> Bot {
        Bot {
            platform: Platform::Slack,
            webhook_url: "https://hooks.slack.com/services/T0001/B0002/secret".into(),
            secret: None,
            keyword: Some("Alert".into()),
        }
    }

    #[test]
    fn escaping_never_pushes_the_text_past_the_limit() {
        let text = "<&>".repeat(20_000);
        let out = escape_within(&text, 100);
        assert!(out.chars().count() <= 100, "{}", out.chars().count());
        assert!(
            out.ends_with("&gt;…") || out.ends_with("&lt;…") || out.ends_with("&amp;…"),
            "{out}"
        );
        assert_eq!(escape_within("a<b", 10), "a&lt;b");
    }

    #[test]
    fn escaped_text_with_mentions() {
        let msg = ChatMessage {
            title: "CPU <high>".into(),
            text: "n1 & n2 <!everyone>".into(),
            mention_user_ids: vec!["U0123ABCD".into(), "<!here>".into()],
            mention_all: true,
            ..ChatMessage::default()
        };
        let (_, body) = build_request(&bot(), &msg, 1).expect("build");
        assert_eq!(
            body,
            json!({"text": "*[Alert] CPU &lt;high&gt;*\nn1 &amp; n2 &lt;!everyone&gt;\n<@U0123ABCD> <!channel>"})
        );
    }

    #[test]
    fn long_text_is_cut() {
        let msg = ChatMessage {
            title: "T".into(),
            text: "x".repeat(100_000),
            ..ChatMessage::default()
        };
        let (_, body) = build_request(&bot(), &msg, 1).expect("build");
        let t = body["text"].as_str().expect("text");
        assert!(t.chars().count() <= MAX_TEXT_CHARS && t.ends_with('…'));
    }

    #[test]
    fn answers() {
        assert_eq!(interpret(200, "ok").outcome, Ok(()));
        for (status, answer, kind) in [
            (403, "invalid_token", FailureKind::BadRecipient),
            (404, "no_service", FailureKind::BadRecipient),
            (410, "channel_is_archived", FailureKind::BadRecipient),
            (403, "action_prohibited", FailureKind::Rejected),
            (400, "invalid_payload", FailureKind::Rejected),
            (400, "no_text", FailureKind::Rejected),
            (404, "user_not_found", FailureKind::UnknownUser),
            (200, "too_many_attempts", FailureKind::RateLimited),
            (404, "something", FailureKind::BadRecipient),
            (200, "<html>", FailureKind::Rejected),
        ] {
            let v = interpret(status, answer);
            assert_eq!(v.outcome.expect_err(answer).kind, kind, "{answer}");
            assert!(v.explanation.contains(answer), "{}", v.explanation);
            assert_eq!(v.code, None);
        }
    }
}
