//! Every sentence Herald's alert messages say to people, in English and Chinese: the default
//! chat card, SMS, voice and email texts, and the line a fallback hop opens with. Each phrase is
//! one variant, and `say` matches every variant for both languages, so a phrase cannot exist
//! in one language only; the tests check that no Chinese text is left in English.

use crate::domain::Language;

/// The language a message is written in: a contact's own, or the workspace default for Auto.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    En,
    Zh,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Zh];

    /// `preferred` is the recipient's; Auto falls back to the workspace's `default`.
    pub fn of(preferred: Language, default: Language) -> Lang {
        match preferred {
            Language::Chinese => Lang::Zh,
            Language::English => Lang::En,
            Language::Auto => match default {
                Language::Chinese => Lang::Zh,
                _ => Lang::En,
            },
        }
    }

    /// The page's `<html lang>`.
    pub fn html_code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh-CN",
        }
    }

    /// The language providers are told (voice, SMS templates).
    pub fn language(self) -> Language {
        match self {
            Lang::En => Language::English,
            Lang::Zh => Language::Chinese,
        }
    }
}

/// How a message names a channel in a sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Call,
    Sms,
    Email,
    /// The chat message that was to @mention them.
    Chat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phrase<'a> {
    /// Title status: `FIRING`.
    Firing,
    Resolved,
    /// A card entry's badge: `🔥 firing`.
    BadgeFiring,
    BadgeResolved,
    OpenInHerald,
    /// The card's link to the bind page.
    BindPhone,
    /// `… and 3 more alerts`.
    AndMore(usize),
    /// SMS: ` on web-1`.
    On(&'a str),
    /// SMS: ` +2 more`.
    PlusMore(usize),
    /// Voice: `Herald alert.`
    VoiceIntro,
    /// Voice: `HighCPU is firing`.
    VoiceFiring(&'a str),
    VoiceResolved(&'a str),
    /// Voice: `, 3 alerts`.
    VoiceCount(usize),
    /// Email: `started 2026-12-03 22:05 CST`.
    Started(&'a str),
    /// The line a fallback opens with, to the person the call did not reach.
    NoteNotReached {
        why: &'a str,
    },
    /// To the alternate contact.
    NoteAlternate {
        meant_for: &'a str,
        via: Via,
        why: &'a str,
    },
    /// To the last-resort address.
    NoteLastResort {
        meant_for: &'a str,
        via: Via,
        recipient: &'a str,
        why: &'a str,
    },
}

fn via(lang: Lang, v: Via) -> &'static str {
    match (lang, v) {
        (Lang::En, Via::Call) => "the call",
        (Lang::En, Via::Sms) => "the SMS",
        (Lang::En, Via::Email) => "the email",
        (Lang::En, Via::Chat) => "the chat @mention",
        (Lang::Zh, Via::Call) => "电话",
        (Lang::Zh, Via::Sms) => "短信",
        (Lang::Zh, Via::Email) => "邮件",
        (Lang::Zh, Via::Chat) => "群聊 @提及",
    }
}

pub fn say(lang: Lang, p: Phrase<'_>) -> String {
    use Phrase::*;
    match lang {
        Lang::En => match p {
            Firing => "FIRING".into(),
            Resolved => "RESOLVED".into(),
            BadgeFiring => "🔥 firing".into(),
            BadgeResolved => "✅ resolved".into(),
            OpenInHerald => "Open in Herald".into(),
            BindPhone => "Bind mobile phone number".into(),
            AndMore(n) => format!("… and {n} more alerts"),
            On(instance) => format!(" on {instance}"),
            PlusMore(n) => format!(" +{n} more"),
            VoiceIntro => "Herald alert.".into(),
            VoiceFiring(name) => format!("{name} is firing"),
            VoiceResolved(name) => format!("{name} has resolved"),
            VoiceCount(n) => format!(", {n} alerts"),
            Started(at) => format!("started {at}"),
            NoteNotReached { why } => {
                format!("Herald called you about this alert and could not reach you ({why}).")
            }
            NoteAlternate {
                meant_for,
                via: v,
                why,
            } => format!(
                "This alert was meant for {meant_for}, but {} to them failed ({why}). It came to you as the workspace's alternate contact.",
                via(lang, v)
            ),
            NoteLastResort {
                meant_for,
                via: v,
                recipient,
                why,
            } => format!(
                "This alert was meant for {meant_for}, and nobody could be reached: {} to {recipient} failed ({why}). It came to you as the workspace's last-resort recipient.",
                via(lang, v)
            ),
        },
        Lang::Zh => match p {
            Firing => "告警".into(),
            Resolved => "已恢复".into(),
            BadgeFiring => "🔥 告警中".into(),
            BadgeResolved => "✅ 已恢复".into(),
            OpenInHerald => "在 Herald 中查看".into(),
            BindPhone => "绑定手机号".into(),
            AndMore(n) => format!("……另有 {n} 条告警"),
            On(instance) => format!("，位于 {instance}"),
            PlusMore(n) => format!("，另有 {n} 条"),
            VoiceIntro => "Herald 告警。".into(),
            VoiceFiring(name) => format!("{name} 正在告警"),
            VoiceResolved(name) => format!("{name} 已恢复"),
            VoiceCount(n) => format!("，共 {n} 条告警"),
            Started(at) => format!("开始于 {at}"),
            NoteNotReached { why } => {
                format!("Herald 就此告警给您打了电话，但未能联系到您（{why}）。")
            }
            NoteAlternate {
                meant_for,
                via: v,
                why,
            } => format!(
                "此告警原本发给 {meant_for}，但发给对方的{}失败了（{why}）。您是本工作区的备用联系人，因此收到此告警。",
                via(lang, v)
            ),
            NoteLastResort {
                meant_for,
                via: v,
                recipient,
                why,
            } => format!(
                "此告警原本发给 {meant_for}，但无人可以联系到：发给 {recipient} 的{}失败了（{why}）。您是本工作区的最后接收人，因此收到此告警。",
                via(lang, v)
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One of every phrase.
    fn every_phrase() -> Vec<Phrase<'static>> {
        use Phrase::*;
        vec![
            Firing,
            Resolved,
            BadgeFiring,
            BadgeResolved,
            OpenInHerald,
            BindPhone,
            AndMore(3),
            On("web-1"),
            PlusMore(2),
            VoiceIntro,
            VoiceFiring("HighCPU"),
            VoiceResolved("HighCPU"),
            VoiceCount(3),
            Started("2026-12-03 22:05 CST"),
            NoteNotReached { why: "no answer" },
            NoteAlternate {
                meant_for: "Ana",
                via: Via::Sms,
                why: "21211",
            },
            NoteLastResort {
                meant_for: "Ana",
                via: Via::Email,
                recipient: "Cy",
                why: "550",
            },
            NoteAlternate {
                meant_for: "Ana",
                via: Via::Chat,
                why: "user not found",
            },
        ]
    }

    #[test]
    fn every_phrase_is_written_in_both_languages() {
        let has_cjk = |s: &str| s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
        for p in every_phrase() {
            let (en, zh) = (say(Lang::En, p), say(Lang::Zh, p));
            assert!(!en.trim().is_empty(), "{p:?}");
            assert!(has_cjk(&zh), "{p:?} is not translated: {zh}");
            assert!(!has_cjk(&en), "{p:?} English has Chinese: {en}");
            assert_ne!(en, zh, "{p:?}");
        }
        // Values are kept as given in both.
        assert!(say(Lang::Zh, Phrase::AndMore(3)).contains('3'));
        assert!(
            say(
                Lang::Zh,
                Phrase::NoteAlternate {
                    meant_for: "Ana",
                    via: Via::Sms,
                    why: "21211"
                }
            )
            .contains("Ana")
        );
    }

    #[test]
    fn auto_takes_the_workspace_default() {
        assert_eq!(Lang::of(Language::Auto, Language::Chinese), Lang::Zh);
        assert_eq!(Lang::of(Language::Auto, Language::English), Lang::En);
        assert_eq!(Lang::of(Language::English, Language::Chinese), Lang::En);
        assert_eq!(Lang::of(Language::Chinese, Language::English), Lang::Zh);
    }
}
