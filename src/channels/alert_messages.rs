//! What each channel says about a notification when nobody wrote a template: a chat card
//! (title with status and severity, the alerts with their labels, a link to each in Herald),
//! a short SMS, a voice text read out in one breath, and an email with subject, text and
//! HTML. All read the notification's payload (Alertmanager's webhook body, version 4).

use serde_json::Value;

use super::chat_parts::ChatMessage;
use crate::domain::Platform;
use crate::domain::catalog::{Lang, Phrase, say};
use crate::domain::mention::Mentions;
use crate::domain::settings::TimeZone;
use crate::template::{RenderOptions, Template};

/// Alerts listed in a chat card or an email before "… and N more alerts".
const LISTED: usize = 10;
/// SMS stay within one or two segments.
const SMS_MAX_CHARS: usize = 140;

fn alerts(data: &Value) -> Vec<&Value> {
    data["alerts"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}

fn text_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn resolved(data: &Value) -> bool {
    text_of(data, "status") == "resolved"
}

fn status(data: &Value, lang: Lang) -> String {
    say(
        lang,
        if resolved(data) {
            Phrase::Resolved
        } else {
            Phrase::Firing
        },
    )
}

/// The name the notification goes by: the common alertname, else the group's labels.
fn name(data: &Value) -> String {
    let common = text_of(&data["commonLabels"], "alertname");
    if !common.is_empty() {
        return common.to_string();
    }
    let first = text_of(&data["alerts"][0]["labels"], "alertname");
    if !first.is_empty() {
        return first.to_string();
    }
    "Alert".into()
}

fn severity(data: &Value) -> Option<String> {
    let s = text_of(&data["commonLabels"], "severity");
    (!s.is_empty()).then(|| s.to_string())
}

/// What an alert is about: its summary, description or message annotation.
fn summary(alert: &Value) -> &str {
    ["summary", "description", "message"]
        .iter()
        .map(|k| text_of(&alert["annotations"], k))
        .find(|s| !s.is_empty())
        .unwrap_or("")
}

/// `[FIRING:2] HighCPU (critical)`.
pub fn title(data: &Value, lang: Lang) -> String {
    let mut t = format!(
        "[{}:{}] {}",
        status(data, lang),
        alerts(data).len(),
        name(data)
    );
    if let Some(s) = severity(data) {
        t.push_str(&format!(" ({s})"));
    }
    t
}

fn labels_line(alert: &Value) -> String {
    alert["labels"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| k.as_str() != "alertname")
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// The default card: one entry per alert (status, summary, labels, link), at most ten, then
/// how many more there are. A card template, when the bot has one, replaces the text.
pub fn chat(data: &Value, card_template: &str, lang: Lang) -> ChatMessage {
    let text = if card_template.trim().is_empty() {
        default_card(data, lang)
    } else {
        match Template::parse(card_template)
            .map_err(|e| format!("template error at {e}"))
            .and_then(|t| {
                t.render(data, &RenderOptions::default())
                    .map_err(|e| format!("template: {e}"))
            }) {
            Ok(text) if !text.trim().is_empty() => text,
            // A broken or empty template must not silence the alert: the standard card goes.
            Ok(_) => default_card(data, lang),
            Err(e) => format!(
                "{}\n\n(The card template could not be used: {e})",
                default_card(data, lang)
            ),
        }
    };
    ChatMessage {
        title: title(data, lang),
        text,
        ..ChatMessage::default()
    }
}

/// The message with its @mentions, and a line naming whoever it could not mention and why, so
/// nobody the policy notifies is left out of the card.
/// The card also ends with the link that binds a phone number for @mentions.
pub fn with_mentions(
    mut msg: ChatMessage,
    mentions: &Mentions,
    lang: Lang,
    platform: Platform,
    bind_link: &str,
) -> ChatMessage {
    msg.mention_mobiles = mentions.mobiles.clone();
    msg.mention_user_ids = mentions.user_ids.clone();
    let mut text = msg.text.trim_end().to_string();
    if let Some(line) = mentions.unmentioned_line(lang, platform) {
        text.push_str(&format!("\n\n{line}"));
    }
    if !bind_link.is_empty() {
        text.push_str(&format!(
            "\n\n[{}]({bind_link})",
            say(lang, Phrase::BindPhone)
        ));
    }
    text.push('\n');
    msg.text = text;
    msg
}

fn default_card(data: &Value, lang: Lang) -> String {
    let all = alerts(data);
    let mut out = String::new();
    for a in all.iter().take(LISTED) {
        let state = say(
            lang,
            if text_of(a, "status") == "resolved" {
                Phrase::BadgeResolved
            } else {
                Phrase::BadgeFiring
            },
        );
        let about = summary(a);
        out.push_str(&format!(
            "- **{state}** {}",
            text_of(&a["labels"], "alertname")
        ));
        if !about.is_empty() {
            out.push_str(&format!(": {about}"));
        }
        out.push('\n');
        let labels = labels_line(a);
        if !labels.is_empty() {
            out.push_str(&format!("  {labels}\n"));
        }
        let link = text_of(a, "heraldURL");
        if !link.is_empty() {
            out.push_str(&format!(
                "  [{}]({link})\n",
                say(lang, Phrase::OpenInHerald)
            ));
        }
    }
    if all.len() > LISTED {
        out.push_str(&format!(
            "{}\n",
            say(lang, Phrase::AndMore(all.len() - LISTED))
        ));
    }
    out
}

fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
    t.push('…');
    t
}

/// `Herald FIRING: HighCPU (critical) on web-1 +2 more — CPU above 90%`, at most 140 characters.
/// A message with the line that says why it came to this recipient (a fallback hop) first.
pub fn with_note(note: Option<&str>, text: String) -> String {
    match note {
        Some(n) if !n.is_empty() => format!("{n}\n{text}"),
        _ => text,
    }
}

/// The email form of [`with_note`]: the note as the HTML body's first paragraph, too.
pub fn email_with_note(
    note: Option<&str>,
    data: &Value,
    lang: Lang,
    tz: TimeZone,
) -> (String, String, String) {
    let (subject, text, html) = email(data, lang, tz);
    match note {
        Some(n) if !n.is_empty() => (
            subject,
            format!("{n}\n\n{text}"),
            format!("<p><strong>{}</strong></p>\n{html}", escape_html(n)),
        ),
        _ => (subject, text, html),
    }
}

pub fn sms(data: &Value, lang: Lang) -> String {
    let all = alerts(data);
    let mut s = format!("Herald {}: {}", status(data, lang), name(data));
    if let Some(sev) = severity(data) {
        s.push_str(&format!(" ({sev})"));
    }
    if let Some(first) = all.first() {
        let instance = text_of(&first["labels"], "instance");
        if !instance.is_empty() {
            s.push_str(&say(lang, Phrase::On(instance)));
        }
        if all.len() > 1 {
            s.push_str(&say(lang, Phrase::PlusMore(all.len() - 1)));
        }
        let about = summary(first);
        if !about.is_empty() {
            s.push_str(&format!(" — {about}"));
        }
    }
    cut(&s, SMS_MAX_CHARS)
}

/// What a call reads out: short, no symbols a speech engine would spell.
pub fn voice(data: &Value, lang: Lang) -> String {
    let n = alerts(data).len();
    let spoken = name(data).replace(['_', '-'], " ");
    let what = if resolved(data) {
        Phrase::VoiceResolved(&spoken)
    } else {
        Phrase::VoiceFiring(&spoken)
    };
    let mut s = format!("{} {}", say(lang, Phrase::VoiceIntro), say(lang, what));
    if n > 1 {
        s.push_str(&say(lang, Phrase::VoiceCount(n)));
    }
    s.push(if lang == Lang::Zh { '。' } else { '.' });
    if let Some(first) = alerts(data).first() {
        let about = summary(first);
        if !about.is_empty() {
            s.push_str(&format!(" {}.", cut(about, 200)));
        }
    }
    s
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Subject, text body and HTML body, each alert with its labels and link.
pub fn email(data: &Value, lang: Lang, tz: TimeZone) -> (String, String, String) {
    let subject = title(data, lang);
    let open = say(lang, Phrase::OpenInHerald);
    let all = alerts(data);
    let mut text = format!("{subject}\n\n");
    let mut html = format!(
        "<h2 style=\"font-family:sans-serif\">{}</h2>\n<ul style=\"font-family:sans-serif\">\n",
        escape_html(&subject)
    );
    for a in all.iter().take(LISTED * 5) {
        let alertname = text_of(&a["labels"], "alertname");
        let state = text_of(a, "status");
        let about = summary(a);
        let labels = labels_line(a);
        let link = text_of(a, "heraldURL");
        let started = chrono::DateTime::parse_from_rfc3339(text_of(a, "startsAt"))
            .map(|t| say(lang, Phrase::Started(&tz.show(t.naive_utc()))))
            .unwrap_or_default();
        text.push_str(&format!("- [{state}] {alertname}"));
        if !about.is_empty() {
            text.push_str(&format!(": {about}"));
        }
        text.push_str(&format!("\n  {labels}\n"));
        if !started.is_empty() {
            text.push_str(&format!("  {started}\n"));
        }
        if !link.is_empty() {
            text.push_str(&format!("  {link}\n"));
        }
        html.push_str(&format!(
            "<li><b>{}</b> {} {}<br><small>{} {}</small>{}</li>\n",
            escape_html(state),
            escape_html(alertname),
            escape_html(about),
            escape_html(&labels),
            escape_html(&started),
            if link.is_empty() {
                String::new()
            } else {
                format!(
                    " <a href=\"{}\">{}</a>",
                    escape_html(link),
                    escape_html(&open)
                )
            }
        ));
    }
    if all.len() > LISTED * 5 {
        let more = say(lang, Phrase::AndMore(all.len() - LISTED * 5));
        text.push_str(&format!("{more}\n"));
        html.push_str(&format!("<li>{more}</li>\n"));
    }
    html.push_str("</ul>\n");
    (subject, text, html)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn payload(n: usize, status: &str) -> Value {
        let alerts: Vec<Value> = (0..n)
            .map(|i| {
                json!({
                    "status": status,
                    "labels": {"alertname": "HighCPU", "instance": format!("web-{i}"), "severity": "critical"},
                    "annotations": {"summary": "CPU above 90%"},
                    "heraldURL": format!("https://h.example.com/alerts/{i}"),
                })
            })
            .collect();
        json!({
            "status": status,
            "commonLabels": {"alertname": "HighCPU", "severity": "critical"},
            "alerts": alerts,
        })
    }

    #[test]
    fn the_default_card_lists_ten_alerts_then_counts_the_rest() {
        let m = chat(&payload(13, "firing"), "", Lang::En);
        assert_eq!(m.title, "[FIRING:13] HighCPU (critical)");
        assert_eq!(m.text.matches("🔥 firing").count(), 10);
        assert!(m.text.contains("… and 3 more alerts"), "{}", m.text);
        assert!(
            m.text
                .contains("[Open in Herald](https://h.example.com/alerts/0)")
        );
        assert!(m.text.contains("instance=web-0, severity=critical"));
    }

    #[test]
    fn a_card_template_replaces_the_text_and_a_broken_one_does_not_silence_the_alert() {
        let data = payload(1, "firing");
        let m = chat(
            &data,
            "{{ .commonLabels.alertname }} is {{ .status }}",
            Lang::En,
        );
        assert_eq!(m.text, "HighCPU is firing");
        let broken = chat(&data, "{{ .x | nosuchfunc }}", Lang::En);
        assert!(broken.text.contains("🔥 firing") && broken.text.contains("could not be used"));
        assert!(
            chat(&data, "{{ \"  \" }}", Lang::En)
                .text
                .contains("🔥 firing")
        );
    }

    #[test]
    fn sms_and_voice_are_short() {
        let data = payload(3, "firing");
        let s = sms(&data, Lang::En);
        assert_eq!(
            s,
            "Herald FIRING: HighCPU (critical) on web-0 +2 more — CPU above 90%"
        );
        let mut long = payload(1, "firing");
        long["alerts"][0]["annotations"]["summary"] = json!("x".repeat(500));
        assert_eq!(sms(&long, Lang::En).chars().count(), 140);
        assert_eq!(
            voice(&payload(1, "resolved"), Lang::En),
            "Herald alert. HighCPU has resolved. CPU above 90%."
        );
    }

    #[test]
    fn every_default_message_speaks_chinese_with_times_in_the_workspace_zone() {
        let mut data = payload(13, "firing");
        data["alerts"][0]["startsAt"] = json!("2026-12-03T14:05:00Z");
        let card = chat(&data, "", Lang::Zh);
        assert_eq!(card.title, "[告警:13] HighCPU (critical)");
        assert!(
            card.text.contains("🔥 告警中") && card.text.contains("……另有 3 条告警"),
            "{}",
            card.text
        );
        assert!(card.text.contains("[在 Herald 中查看]"));
        assert_eq!(
            sms(&payload(3, "firing"), Lang::Zh),
            "Herald 告警: HighCPU (critical)，位于 web-0，另有 2 条 — CPU above 90%"
        );
        assert_eq!(
            voice(&payload(2, "resolved"), Lang::Zh),
            "Herald 告警。 HighCPU 已恢复，共 2 条告警。 CPU above 90%."
        );
        let shanghai = TimeZone::parse("Asia/Shanghai").unwrap_or(TimeZone::UTC);
        let (subject, text, html) = email(&data, Lang::Zh, shanghai);
        assert_eq!(subject, "[告警:13] HighCPU (critical)");
        assert!(text.contains("开始于 2026-12-03 22:05 CST"), "{text}");
        assert!(html.contains("在 Herald 中查看"));
        let (_, text, _) = email(&data, Lang::En, TimeZone::UTC);
        assert!(text.contains("started 2026-12-03 14:05 UTC"), "{text}");
    }

    #[test]
    fn email_has_subject_text_and_escaped_html() {
        let mut data = payload(2, "firing");
        data["alerts"][0]["annotations"]["summary"] = json!("<script>x</script>");
        let (subject, text, html) = email(&data, Lang::En, TimeZone::UTC);
        assert_eq!(subject, "[FIRING:2] HighCPU (critical)");
        assert!(text.contains("https://h.example.com/alerts/1"));
        assert!(html.contains("&lt;script&gt;") && !html.contains("<script>"));
        assert!(html.contains("<a href=\"https://h.example.com/alerts/0\">Open in Herald</a>"));
    }
}
