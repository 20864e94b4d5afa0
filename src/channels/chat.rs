//! Chat platforms: DingTalk, Lark (Feishu), WeCom and Slack incoming-webhook bots.
//!
//! [`build_request`] turns a [`ChatMessage`] into the exact URL and JSON a platform expects
//! (signing, security keyword, size limits, @mentions), without I/O so it can be unit-tested;
//! [`send`] posts it through the [`crate::outbound`] client and turns the platform's answer into a
//! [`ChatAnswer`]: a [`SendFailure`] kind Herald can act on and a sentence a person can act on.
//!
//! Each platform's rules (signing, limits, answer codes) live in its own file beside this one;
//! rules not confirmed against the platform's documentation are marked [U] where they are coded.
//!
//! Chat platforms answer HTTP 200 even when they refuse a message, so the body is always read.

use std::fmt;

use serde_json::Value;
use url::Url;

pub use super::chat_parts::ChatMessage;
use super::chat_parts::{Verdict, truncate_chars};
use super::http::excerpt;
use super::{FailureKind, SendFailure, dingtalk, lark, slack, wecom};
use crate::domain::Platform;
use crate::outbound::{self, OutboundError, TargetPolicy};

/// Longest webhook URL the console stores.
pub const MAX_URL_CHARS: usize = 500;
/// Platform answers are small; anything bigger is not an answer Herald understands.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// How much of an answer [`ChatAnswer::body`] keeps.
pub const ANSWER_EXCERPT_CHARS: usize = 500;
/// Longest title put in a message (before the keyword is added).
const MAX_TITLE_CHARS: usize = 200;

/// A configured bot: where to post and how to pass the platform's security checks.
#[derive(Clone, PartialEq, Eq)]
pub struct Bot {
    pub platform: Platform,
    /// The full webhook URL; its token or key is a credential.
    pub webhook_url: String,
    /// Signature key (DingTalk `SEC…`, Lark); ignored by WeCom and Slack, which do not sign.
    pub secret: Option<String>,
    /// Security keyword; when set, every message contains it.
    pub keyword: Option<String>,
}

impl fmt::Debug for Bot {
    // The URL carries the bot's token and the secret signs requests: keep both out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = Url::parse(&self.webhook_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
        f.debug_struct("Bot")
            .field("platform", &self.platform)
            .field("webhook_host", &host)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("keyword", &self.keyword)
            .finish()
    }
}

/// What the platform answered, for the console's Send test and for delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatAnswer {
    /// HTTP status; 0 when no answer came (nothing sent, or the request failed).
    pub status: u16,
    /// The answer's body, at most [`ANSWER_EXCERPT_CHARS`] characters.
    pub body: String,
    /// The platform's `errcode` / `code`, when it gave one.
    pub code: Option<i64>,
    pub outcome: Result<(), SendFailure>,
    /// A sentence for people: what happened and what to change.
    pub explanation: String,
}

impl ChatAnswer {
    pub fn is_ok(&self) -> bool {
        self.outcome.is_ok()
    }

    /// No answer: the message was not sent, or the request failed on the way.
    fn unanswered(kind: FailureKind, reason: impl Into<String>, explanation: String) -> Self {
        ChatAnswer {
            status: 0,
            body: String::new(),
            code: None,
            outcome: Err(SendFailure::new(kind, reason)),
            explanation,
        }
    }
}

/// Checks a webhook URL for the platform: at most [`MAX_URL_CHARS`], the platform's host and path
/// shape (see [`Platform::example_url`]), https, no user name or password. Plain http is
/// accepted only for a loopback host (`localhost`, `127.0.0.0/8`, `::1`), and a loopback host
/// instead of the platform's: that is what local stand-ins and tests use
/// (`http://127.0.0.1:PORT/robot/send?access_token=…`); whether loopback may be called at all is
/// still up to the outbound policy (see [`check_webhook`]). `Err` is a sentence for the form.
pub fn validate_webhook_url(platform: Platform, url: &str) -> Result<(), String> {
    parse_webhook_url(platform, url).map(|_| ())
}

/// [`validate_webhook_url`] plus the outbound policy for IP-literal hosts: what a form should
/// call before saving, so a loopback URL is refused unless `allow_private_targets` is set.
pub fn check_webhook(platform: Platform, url: &str, policy: TargetPolicy) -> Result<(), String> {
    let parsed = parse_webhook_url(platform, url)?;
    outbound::check_url(parsed.as_str(), policy)
        .map(|_| ())
        .map_err(|e| format!("{e}."))
}

fn parse_webhook_url(platform: Platform, url: &str) -> Result<Url, String> {
    let url = url.trim();
    if url.is_empty() {
        return Err("Enter the webhook URL.".into());
    }
    if url.chars().count() > MAX_URL_CHARS {
        return Err(format!(
            "The webhook URL is longer than {MAX_URL_CHARS} characters."
        ));
    }
    let example = platform.example_url();
    if !url.contains("://") {
        return Err(format!(
            "Paste the whole webhook URL, like {example}, not only the token or key."
        ));
    }
    let parsed = Url::parse(url).map_err(|_| format!("This is not a URL; expected {example}"))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("The webhook URL must not contain a user name or password.".into());
    }
    let loopback = is_loopback_host(&parsed);
    match parsed.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => return Err("The webhook URL must start with https://.".into()),
        _ => return Err(format!("Expected a URL like {example}")),
    }
    let host = parsed.host_str().unwrap_or_default();
    let hosts = match platform {
        Platform::DingTalk => dingtalk::HOSTS,
        Platform::Lark => lark::HOSTS,
        Platform::WeCom => wecom::HOSTS,
        Platform::Slack => slack::HOSTS,
    };
    if !loopback && !hosts.contains(&host) {
        return Err(format!(
            "This is not a {} webhook URL: the host must be {}.",
            platform.label(),
            hosts.join(" or ")
        ));
    }
    let shape = match platform {
        Platform::DingTalk => dingtalk::check_shape(&parsed),
        Platform::Lark => lark::check_shape(&parsed),
        Platform::WeCom => wecom::check_shape(&parsed),
        Platform::Slack => slack::check_shape(&parsed),
    };
    shape.map_err(|what| format!("{what} Expected a URL like {example}"))?;
    Ok(parsed)
}

fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Builds the exact request: the URL to POST to (with DingTalk's signature in the query) and
/// the JSON body (with Lark's signature in it), signed for `now_ms` (Unix milliseconds). The
/// security keyword, when set, is put in the title so every message contains it; texts over
/// the platform's limit are cut and end with "…"; mentions follow each platform's rules and
/// IDs or numbers that could break the format are dropped. Pure: no clock, no I/O.
pub fn build_request(bot: &Bot, msg: &ChatMessage, now_ms: i64) -> Result<(Url, Value), String> {
    let url = parse_webhook_url(bot.platform, &bot.webhook_url)?;
    let secret = bot
        .secret
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let title = titled(&msg.title, bot.keyword.as_deref());
    match bot.platform {
        Platform::DingTalk => dingtalk::build(url, secret, &title, msg, now_ms),
        Platform::Lark => lark::build(url, secret, &title, msg, now_ms),
        // WeCom and Slack have no request signing; a stored key is ignored.
        Platform::WeCom => wecom::build(url, &title, msg),
        Platform::Slack => slack::build(url, &title, msg),
    }
}

/// The title as sent: one line, at most [`MAX_TITLE_CHARS`], and containing the keyword. The
/// keyword goes in the title rather than the text because the title is never cut for size.
fn titled(title: &str, keyword: Option<&str>) -> String {
    let one_line = title.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut title = truncate_chars(&one_line, MAX_TITLE_CHARS);
    if let Some(kw) = keyword.map(str::trim).filter(|k| !k.is_empty())
        && !title.contains(kw)
    {
        title = if title.is_empty() {
            kw.to_string()
        } else {
            format!("[{kw}] {title}")
        };
    }
    if title.is_empty() {
        title = "Herald".into();
    }
    title
}

/// Sends `msg` through `bot`, refusing IP-literal hosts that `policy` refuses (host names are
/// refused by the client's resolver, built with the same policy), and reads the answer.
pub async fn send(
    client: &reqwest::Client,
    policy: TargetPolicy,
    bot: &Bot,
    msg: &ChatMessage,
) -> ChatAnswer {
    let label = bot.platform.label();
    let now_ms = chrono::Utc::now().timestamp_millis();
    let (url, body) = match build_request(bot, msg, now_ms) {
        Ok(built) => built,
        Err(e) => {
            return ChatAnswer::unanswered(
                FailureKind::Rejected,
                format!("bad bot settings: {e}"),
                e,
            );
        }
    };
    if let Err(e) = outbound::check_url(url.as_str(), policy) {
        return refused_target(label, &e);
    }
    let response = match client.post(url).json(&body).send().await {
        Ok(r) => r,
        Err(e) => {
            if let Some(refused) = outbound::refusal(&e) {
                return refused_target(label, &refused);
            }
            let what = outbound::describe_error(&e);
            return ChatAnswer::unanswered(
                FailureKind::Transient,
                what.clone(),
                format!("Herald could not reach {label} ({what}); it will try again."),
            );
        }
    };
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let (status, text) = match outbound::read_capped(response, MAX_ANSWER_BYTES).await {
        Ok(answer) => answer,
        Err(e) => {
            return ChatAnswer::unanswered(
                FailureKind::Transient,
                e.to_string(),
                format!(
                    "{label}'s answer could not be read ({e}), so Herald cannot tell whether the message arrived; it will try again."
                ),
            );
        }
    };
    let verdict = interpret(bot.platform, status.as_u16(), &text, retry_after);
    ChatAnswer {
        status: status.as_u16(),
        body: excerpt(&text, ANSWER_EXCERPT_CHARS),
        code: verdict.code,
        outcome: verdict.outcome,
        explanation: verdict.explanation,
    }
}

fn refused_target(label: &str, e: &OutboundError) -> ChatAnswer {
    ChatAnswer::unanswered(
        FailureKind::Rejected,
        e.to_string(),
        format!("Herald refused to call this {label} webhook: {e}."),
    )
}

/// Reads a platform's answer. HTTP 429 and 5xx mean the same everywhere; the rest is per
/// platform.
fn interpret(platform: Platform, status: u16, body: &str, retry_after: Option<u64>) -> Verdict {
    let label = platform.label();
    if status == 429 {
        let wait = retry_after
            .map(|s| format!(" (it asks to wait {s} s)"))
            .unwrap_or_default();
        let mut verdict = Verdict::fail(
            None,
            FailureKind::RateLimited,
            format!("HTTP 429 {}", excerpt(body, 100)),
            format!("{label} is rate limiting this bot{wait}; Herald will send again later."),
        );
        verdict.outcome = verdict
            .outcome
            .map_err(|f| f.retry_after(retry_after.map(std::time::Duration::from_secs)));
        return verdict;
    }
    if status >= 500 {
        return Verdict::fail(
            None,
            FailureKind::Transient,
            format!("HTTP {status}"),
            format!(
                "{label} answered HTTP {status}, a problem on its side; Herald will try again."
            ),
        );
    }
    if status == 413 {
        return Verdict::fail(
            None,
            FailureKind::Rejected,
            "HTTP 413 payload too large",
            format!(
                "{label} refused the message as too large (HTTP 413); shorten the card content."
            ),
        );
    }
    match platform {
        Platform::DingTalk => dingtalk::interpret(status, body),
        Platform::Lark => lark::interpret(status, body),
        Platform::WeCom => wecom::interpret(status, body),
        Platform::Slack => slack::interpret(status, body),
    }
}

/// A test message for the Send test button; the platform format is applied by
/// [`build_request`].
pub fn test_message() -> ChatMessage {
    let now = chrono::Utc::now().format("%Y-%m-%d %H:%M:%S");
    ChatMessage {
        title: "Herald test message".into(),
        text: format!(
            "Herald test message, sent at {now} UTC.\nIf you can read this, the bot is set up correctly."
        ),
        ..ChatMessage::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::chat_parts::{ids, mobiles, truncate_bytes};

    #[test]
    fn platform_codes_round_trip() {
        for p in Platform::ALL {
            assert_eq!(Platform::parse(p.code()), Ok(p));
            assert_eq!(Platform::parse(&p.code().to_uppercase()), Ok(p));
        }
        assert_eq!(Platform::parse("feishu"), Ok(Platform::Lark));
        assert!(Platform::parse("teams").is_err());
        assert!(Platform::parse("").is_err());
    }

    #[test]
    fn validate_accepts_each_platforms_urls() {
        for (p, u) in [
            (
                Platform::DingTalk,
                "https://oapi.dingtalk.com/robot/send?access_token=abc123",
            ),
            (
                Platform::Lark,
                "https://open.feishu.cn/open-apis/bot/v2/hook/1f2e3d4c-aaaa-bbbb-cccc-0123456789ab",
            ),
            (
                Platform::Lark,
                "https://open.larksuite.com/open-apis/bot/v2/hook/abc",
            ),
            (
                Platform::WeCom,
                "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx",
            ),
            (
                Platform::Slack,
                "https://hooks.slack.com/services/T0001/B0002/XXXXXXXXXXXXXXXX",
            ),
            (
                Platform::DingTalk,
                "http://127.0.0.1:8080/robot/send?access_token=t",
            ),
            (Platform::Lark, "http://localhost:9/open-apis/bot/v2/hook/x"),
            (Platform::WeCom, "http://[::1]:9/cgi-bin/webhook/send?key=k"),
            (Platform::Slack, "http://127.0.0.1:9/services/T1/B2/c3"),
        ] {
            assert_eq!(validate_webhook_url(p, u), Ok(()), "{p:?} {u}");
        }
    }

    #[test]
    fn validate_refuses_wrong_urls_with_a_sentence() {
        let cases = [
            (Platform::DingTalk, "", "Enter"),
            (Platform::WeCom, "693a91f6-7xxx", "whole webhook URL"),
            (
                Platform::DingTalk,
                "http://oapi.dingtalk.com/robot/send?access_token=x",
                "https://",
            ),
            (
                Platform::DingTalk,
                "https://evil.example.com/robot/send?access_token=x",
                "host must be oapi.dingtalk.com",
            ),
            (
                Platform::DingTalk,
                "https://oapi.dingtalk.com/robot/send",
                "access_token",
            ),
            (
                Platform::DingTalk,
                "https://oapi.dingtalk.com/robot/send?access_token=",
                "access_token",
            ),
            (
                Platform::Lark,
                "https://open.feishu.cn/open-apis/bot/v2/hook/",
                "hook",
            ),
            (
                Platform::Lark,
                "https://oapi.dingtalk.com/robot/send?access_token=x",
                "not a Lark",
            ),
            (
                Platform::WeCom,
                "https://qyapi.weixin.qq.com/cgi-bin/webhook/send",
                "key",
            ),
            (
                Platform::Slack,
                "https://hooks.slack.com/services/T1/B2",
                "services",
            ),
            (
                Platform::Slack,
                "https://user:pw@hooks.slack.com/services/T1/B2/c",
                "user name",
            ),
            (
                Platform::Slack,
                "ftp://hooks.slack.com/services/T1/B2/c",
                "Expected",
            ),
            (
                Platform::Slack,
                "http://10.0.0.1/services/T1/B2/c",
                "https://",
            ),
        ];
        for (p, u, needle) in cases {
            let e = validate_webhook_url(p, u).expect_err(u);
            assert!(e.contains(needle), "{u}: {e}");
        }
        let long = format!(
            "https://oapi.dingtalk.com/robot/send?access_token={}",
            "a".repeat(500)
        );
        assert!(
            validate_webhook_url(Platform::DingTalk, &long)
                .expect_err("long")
                .contains("500")
        );
    }

    #[test]
    fn check_webhook_applies_the_policy_to_loopback() {
        let u = "http://127.0.0.1:9/robot/send?access_token=t";
        assert!(check_webhook(Platform::DingTalk, u, TargetPolicy::PUBLIC).is_err());
        assert!(check_webhook(Platform::DingTalk, u, TargetPolicy::ALLOW_PRIVATE).is_ok());
    }

    #[test]
    fn keyword_goes_in_the_title_once() {
        assert_eq!(titled("CPU high", Some("Alert")), "[Alert] CPU high");
        assert_eq!(titled("Alert: CPU high", Some("Alert")), "Alert: CPU high");
        assert_eq!(titled("", Some("Alert")), "Alert");
        assert_eq!(titled("", None), "Herald");
        assert_eq!(titled("CPU\nhigh", Some("  ")), "CPU high");
        let long = "x".repeat(1000);
        let t = titled(&long, Some("Alert"));
        assert!(t.starts_with("[Alert] ") && t.chars().count() == MAX_TITLE_CHARS + 8);
    }

    #[test]
    fn truncation_respects_char_boundaries() {
        assert_eq!(truncate_bytes("hello", 5), "hello");
        assert_eq!(truncate_bytes("hello world", 8), "hello…");
        // 告 is 3 bytes: never split.
        let t = truncate_bytes("告警告警告警", 10);
        assert!(t.len() <= 10 && t.ends_with('…'), "{t}");
        assert_eq!(t, "告警…");
        assert_eq!(truncate_bytes("abc", 1), "");
        assert_eq!(truncate_chars("abcdef", 4), "abc…");
    }

    #[test]
    fn unsafe_mentions_are_dropped() {
        let msg = ChatMessage {
            mention_user_ids: vec![
                "U123".into(),
                "ou_abc".into(),
                "<!channel>".into(),
                "a b".into(),
                "".into(),
            ],
            mention_mobiles: vec!["13800138000".into(), "+8613800138000".into(), "12".into()],
            ..ChatMessage::default()
        };
        assert_eq!(ids(&msg), vec!["U123", "ou_abc"]);
        assert_eq!(mobiles(&msg), vec!["13800138000"]);
    }

    #[test]
    fn bot_debug_hides_credentials() {
        let bot = Bot {
            platform: Platform::DingTalk,
            webhook_url: "https://oapi.dingtalk.com/robot/send?access_token=TOKEN123".into(),
            secret: Some("SECabc".into()),
            keyword: None,
        };
        let s = format!("{bot:?}");
        assert!(!s.contains("TOKEN123") && !s.contains("SECabc"), "{s}");
        assert!(s.contains("oapi.dingtalk.com"));
    }

    #[test]
    fn common_statuses_mean_the_same_everywhere() {
        for p in Platform::ALL {
            let v = interpret(p, 429, "too many", Some(30));
            assert_eq!(
                v.outcome.expect_err("429").kind,
                FailureKind::RateLimited,
                "{p:?}"
            );
            assert!(v.explanation.contains("30 s"));
            let v = interpret(p, 502, "<html>bad gateway</html>", None);
            assert_eq!(v.outcome.expect_err("502").kind, FailureKind::Transient);
            let v = interpret(p, 413, "", None);
            assert_eq!(v.outcome.expect_err("413").kind, FailureKind::Rejected);
            assert!(v.explanation.contains("too large"));
        }
        for p in [Platform::DingTalk, Platform::Lark, Platform::WeCom] {
            let v = interpret(p, 200, "<html>welcome</html>", None);
            assert_eq!(v.outcome.expect_err("html").kind, FailureKind::Rejected);
            assert!(v.explanation.contains("not JSON"), "{}", v.explanation);
            let v = interpret(p, 404, "Not Found", None);
            assert_eq!(v.outcome.expect_err("404").kind, FailureKind::BadRecipient);
        }
    }

    #[test]
    fn test_message_says_what_it_is() {
        let m = test_message();
        assert_eq!(m.title, "Herald test message");
        assert!(m.text.contains("UTC"));
        assert!(m.mention_user_ids.is_empty() && !m.mention_all);
    }
}
