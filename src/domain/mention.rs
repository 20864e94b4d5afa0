//! @mentions in chat messages: how each platform names a person, who can be mentioned, and
//! what a chat delivery keeps of it.
//!
//! A person is mentioned on a platform only once they are **bound** there (they proved, from a
//! chatbot's alert card, that their phone number is theirs). DingTalk then mentions them by
//! mobile number; Lark and Slack by the user ID on their contact (neither can mention by
//! number); WeCom by user ID when there is one, else by mobile number.

use serde::{Deserialize, Serialize};

use crate::domain::catalog::Lang;
use crate::domain::{PhoneNumber, Platform};

/// How a platform names the person in a mention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handle {
    /// The bare mobile number DingTalk and WeCom take (`13800138000`).
    Mobile(String),
    /// Lark open_id/user_id, WeCom userid, Slack member id.
    UserId(String),
}

/// Why a notified person is named in plain text instead of mentioned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoMention {
    /// Not bound on the platform yet.
    NotBound,
    /// Bound, but the platform mentions by user ID and the contact has none.
    NoUserId,
    /// Bound, but the platform mentions by number and the contact has none now.
    NoPhone,
    /// Mentioned once, and the platform refused the message saying a mentioned user does not
    /// exist: the message went again without mentions.
    UnknownToPlatform,
}

impl NoMention {
    pub fn say(self, lang: Lang, platform: Platform) -> String {
        let p = platform.label();
        match (lang, self) {
            (Lang::En, NoMention::NotBound) => format!("not bound on {p} yet"),
            (Lang::En, NoMention::NoUserId) => format!("no {p} user ID on their contact"),
            (Lang::En, NoMention::NoPhone) => "no phone number on their contact".into(),
            (Lang::En, NoMention::UnknownToPlatform) => {
                format!("{p} said a mentioned user does not exist")
            }
            (Lang::Zh, NoMention::NotBound) => format!("尚未在{p}绑定"),
            (Lang::Zh, NoMention::NoUserId) => format!("联系人未填写{p}用户 ID"),
            (Lang::Zh, NoMention::NoPhone) => "联系人没有手机号码".into(),
            (Lang::Zh, NoMention::UnknownToPlatform) => format!("{p}称被 @提及的用户不存在"),
        }
    }
}

/// What a person brings to a mention.
#[derive(Debug, Clone, Copy)]
pub struct Mentionable<'a> {
    pub phone: Option<&'a PhoneNumber>,
    pub user_id: Option<&'a str>,
    pub bound: bool,
}

/// How `platform` would mention the person, or why it cannot.
pub fn handle(platform: Platform, who: Mentionable<'_>) -> Result<Handle, NoMention> {
    if !who.bound {
        return Err(NoMention::NotBound);
    }
    let user_id = who
        .user_id
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(|u| Handle::UserId(u.to_string()));
    let mobile = who.phone.map(|p| Handle::Mobile(chat_mobile(p)));
    match platform {
        Platform::DingTalk => mobile.ok_or(NoMention::NoPhone),
        Platform::Lark | Platform::Slack => user_id.ok_or(NoMention::NoUserId),
        Platform::WeCom => user_id.or(mobile).ok_or(NoMention::NoPhone),
    }
}

/// The number as DingTalk's `atMobiles` and WeCom's `mentioned_mobile_list` take it: a
/// mainland number without `+86`. [U] Other countries' numbers are sent as their digits with
/// the country code and no `+`; neither platform documents them.
pub fn chat_mobile(p: &PhoneNumber) -> String {
    let digits = p.as_str().trim_start_matches('+');
    digits.strip_prefix("86").unwrap_or(digits).to_string()
}

/// Someone a chat message names without mentioning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unmentioned {
    pub name: String,
    pub why: NoMention,
}

/// Someone a chat message mentions: the contact, so a platform's "no such user" can be
/// followed up for them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mentioned {
    pub contact: String,
    pub name: String,
}

/// What a chat delivery mentions, decided when its notification was queued and stored with it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mentions {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mobiles: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub user_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unmentioned: Vec<Unmentioned>,
    /// Whom the mobiles and user IDs stand for (stored since the mentions were first kept;
    /// older rows have none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub people: Vec<Mentioned>,
}

impl Mentions {
    /// The mentions of the people a chat route names (contact, name, handle), in their order.
    pub fn of<'a>(
        people: impl IntoIterator<Item = (&'a str, &'a str, &'a Result<Handle, NoMention>)>,
    ) -> Self {
        let mut m = Mentions::default();
        for (contact, name, handle) in people {
            if handle.is_ok() && !m.people.iter().any(|p| p.contact == contact) {
                m.people.push(Mentioned {
                    contact: contact.to_string(),
                    name: name.to_string(),
                });
            }
            match handle {
                Ok(Handle::Mobile(n)) => push_new(&mut m.mobiles, n),
                Ok(Handle::UserId(u)) => push_new(&mut m.user_ids, u),
                Err(why) => {
                    if !m.unmentioned.iter().any(|u| u.name == name) {
                        m.unmentioned.push(Unmentioned {
                            name: name.to_string(),
                            why: *why,
                        });
                    }
                }
            }
        }
        m
    }

    pub fn is_empty(&self) -> bool {
        self.mobiles.is_empty() && self.user_ids.is_empty() && self.unmentioned.is_empty()
    }

    /// Several deliveries' mentions for one merged message: everyone once.
    pub fn merge<'a>(all: impl IntoIterator<Item = &'a Mentions>) -> Mentions {
        let mut m = Mentions::default();
        for one in all {
            for n in &one.mobiles {
                push_new(&mut m.mobiles, n);
            }
            for u in &one.user_ids {
                push_new(&mut m.user_ids, u);
            }
            for u in &one.unmentioned {
                if !m.unmentioned.iter().any(|x| x.name == u.name) {
                    m.unmentioned.push(u.clone());
                }
            }
            for p in &one.people {
                if !m.people.iter().any(|x| x.contact == p.contact) {
                    m.people.push(p.clone());
                }
            }
        }
        m
    }

    /// The same message's mentions once the platform said a mentioned user does not exist:
    /// nobody is mentioned, and the card names everyone it meant to mention and why not.
    pub fn refused_by_platform(&self) -> Mentions {
        let mut m = Mentions {
            unmentioned: self.unmentioned.clone(),
            ..Mentions::default()
        };
        for p in &self.people {
            if !m.unmentioned.iter().any(|u| u.name == p.name) {
                m.unmentioned.push(Unmentioned {
                    name: p.name.clone(),
                    why: NoMention::UnknownToPlatform,
                });
            }
        }
        m
    }

    /// Whether the message pings anyone.
    pub fn mentions_anyone(&self) -> bool {
        !self.mobiles.is_empty() || !self.user_ids.is_empty()
    }

    /// The stored form; None when there is nothing to mention or name.
    pub fn to_stored(&self) -> Option<String> {
        if self.is_empty() {
            return None;
        }
        serde_json::to_string(self).ok()
    }

    /// A stored value that does not read is an error: the caller says so and sends the
    /// message without mentions rather than not at all.
    pub fn from_stored(stored: Option<&str>) -> Result<Mentions, String> {
        match stored {
            None => Ok(Mentions::default()),
            Some(s) => serde_json::from_str(s).map_err(|e| format!("stored mentions {s:?}: {e}")),
        }
    }

    /// The line a card ends with when someone could not be mentioned:
    /// `Not @mentioned: Ana (not bound on DingTalk yet), Bo (…)`.
    pub fn unmentioned_line(&self, lang: Lang, platform: Platform) -> Option<String> {
        if self.unmentioned.is_empty() {
            return None;
        }
        let names: Vec<String> = self
            .unmentioned
            .iter()
            .map(|u| match lang {
                Lang::En => format!("{} ({})", u.name, u.why.say(lang, platform)),
                Lang::Zh => format!("{}（{}）", u.name, u.why.say(lang, platform)),
            })
            .collect();
        Some(match lang {
            Lang::En => format!("Not @mentioned: {}", names.join(", ")),
            Lang::Zh => format!("未能 @提及：{}", names.join("，")),
        })
    }
}

fn push_new(v: &mut Vec<String>, s: &str) {
    if !v.iter().any(|x| x == s) {
        v.push(s.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phone() -> PhoneNumber {
        PhoneNumber::parse("+8613800138000").expect("phone")
    }

    #[test]
    fn each_platform_mentions_its_own_way_and_only_the_bound() {
        let p = phone();
        let both = Mentionable {
            phone: Some(&p),
            user_id: Some("ou_1"),
            bound: true,
        };
        let mobile = Handle::Mobile("13800138000".into());
        let id = Handle::UserId("ou_1".into());
        assert_eq!(handle(Platform::DingTalk, both), Ok(mobile.clone()));
        assert_eq!(handle(Platform::Lark, both), Ok(id.clone()));
        assert_eq!(handle(Platform::Slack, both), Ok(id.clone()));
        assert_eq!(handle(Platform::WeCom, both), Ok(id));
        let phone_only = Mentionable {
            user_id: None,
            ..both
        };
        assert_eq!(handle(Platform::WeCom, phone_only), Ok(mobile));
        assert_eq!(handle(Platform::Lark, phone_only), Err(NoMention::NoUserId));
        assert_eq!(
            handle(Platform::Slack, phone_only),
            Err(NoMention::NoUserId)
        );
        let blank_id = Mentionable {
            user_id: Some("  "),
            ..phone_only
        };
        assert_eq!(handle(Platform::Lark, blank_id), Err(NoMention::NoUserId));
        let unbound = Mentionable {
            bound: false,
            ..both
        };
        for platform in Platform::ALL {
            assert_eq!(handle(platform, unbound), Err(NoMention::NotBound));
        }
        let nothing = Mentionable {
            phone: None,
            user_id: None,
            bound: true,
        };
        assert_eq!(handle(Platform::DingTalk, nothing), Err(NoMention::NoPhone));
    }

    #[test]
    fn only_mainland_numbers_lose_their_country_code() {
        assert_eq!(chat_mobile(&phone()), "13800138000");
        let us = PhoneNumber::parse("+12025550123").expect("phone");
        assert_eq!(chat_mobile(&us), "12025550123");
    }

    #[test]
    fn mentions_keep_everyone_once_and_survive_storage() {
        let a: Result<Handle, NoMention> = Ok(Handle::Mobile("13800138000".into()));
        let b: Result<Handle, NoMention> = Err(NoMention::NotBound);
        let one = Mentions::of([
            ("c-ana", "Ana", &a),
            ("c-bo", "Bo", &b),
            ("c-ana", "Ana", &a),
            ("c-bo", "Bo", &b),
        ]);
        assert_eq!(one.mobiles, vec!["13800138000"]);
        assert_eq!(one.unmentioned.len(), 1);
        assert_eq!(
            one.people.len(),
            1,
            "only the mentioned are people to follow up"
        );
        let stored = one.to_stored();
        assert_eq!(Mentions::from_stored(stored.as_deref()), Ok(one.clone()));
        assert_eq!(Mentions::default().to_stored(), None);
        assert!(Mentions::from_stored(Some("[oops")).is_err());
        let c: Result<Handle, NoMention> = Ok(Handle::UserId("ou_9".into()));
        let two = Mentions::of([("c-cy", "Cy", &c), ("c-bo", "Bo", &b)]);
        let merged = Mentions::merge([&one, &two]);
        assert_eq!(merged.user_ids, vec!["ou_9"]);
        assert_eq!(merged.people.len(), 2);
        assert_eq!(merged.unmentioned.len(), 1);
        assert_eq!(
            merged
                .unmentioned_line(Lang::En, Platform::DingTalk)
                .as_deref(),
            Some("Not @mentioned: Bo (not bound on DingTalk yet)")
        );
        let zh = merged
            .unmentioned_line(Lang::Zh, Platform::DingTalk)
            .unwrap_or_default();
        assert!(zh.contains("Bo") && zh.contains("尚未"), "{zh}");
        assert_eq!(
            Mentions::default().unmentioned_line(Lang::En, Platform::Lark),
            None
        );
        // Rows stored before `people` was kept still read.
        let old = Mentions::from_stored(Some(r#"{"mobiles":["13800138000"]}"#)).expect("old row");
        assert!(old.people.is_empty() && old.mentions_anyone());
    }

    #[test]
    fn a_refused_mention_becomes_a_named_line() {
        let a: Result<Handle, NoMention> = Ok(Handle::Mobile("13800138000".into()));
        let b: Result<Handle, NoMention> = Err(NoMention::NotBound);
        let m = Mentions::of([("c-ana", "Ana", &a), ("c-bo", "Bo", &b)]).refused_by_platform();
        assert!(!m.mentions_anyone() && m.people.is_empty());
        assert_eq!(
            m.unmentioned_line(Lang::En, Platform::DingTalk).as_deref(),
            Some(
                "Not @mentioned: Bo (not bound on DingTalk yet), Ana (DingTalk said a mentioned user does not exist)"
            )
        );
        let zh = m
            .unmentioned_line(Lang::Zh, Platform::Lark)
            .unwrap_or_default();
        assert!(zh.contains("用户不存在"), "{zh}");
    }
}
