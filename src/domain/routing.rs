//! Routing: which policies take an alert, and who each of them tells by which method. The one
//! implementation: the "Who would be notified?" page shows its answer, and the delivery engine
//! turns the same answer into deliveries.
//!
//! Pure: the caller loads the workspace's policies and a [`Directory`] of its objects.

use std::collections::{BTreeMap, BTreeSet, HashMap};

pub use crate::domain::contact::Address;
use crate::domain::ids::{ChatbotId, ContactId, GroupId, PolicyId, ScheduleId, WebhookId};
use crate::domain::mention::{self, Handle, Mentionable, Mentions, NoMention};
use crate::domain::policy::{NotifyMethod, Policy, Target, first_failing};
use crate::domain::webhook::Method;
use crate::domain::{EmailAddress, PhoneNumber, Platform};

/// A contact as routing needs it: where each method would go, and whether it may.
#[derive(Debug, Clone)]
pub struct Person {
    pub id: ContactId,
    pub name: String,
    pub phone: Option<PhoneNumber>,
    pub phone_verified: bool,
    pub email: Option<EmailAddress>,
    pub email_activated: bool,
    /// The IM user ID Lark, WeCom and Slack mention by.
    pub im_user_id: Option<String>,
    /// The platforms they are bound on.
    pub bound: Vec<Platform>,
}

impl Person {
    fn mentionable(&self, platform: Platform) -> Mentionable<'_> {
        Mentionable {
            phone: self.phone.as_ref(),
            user_id: self.im_user_id.as_deref(),
            bound: self.bound.contains(&platform),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Team {
    pub name: String,
    /// In the group's order.
    pub members: Vec<ContactId>,
}

/// A schedule as routing sees it: who is on duty at the moment being routed (nobody, or one
/// person). A readiness check puts every turn here, to see everyone the schedule may page.
#[derive(Debug, Clone)]
pub struct OnCall {
    pub name: String,
    pub on_duty: Vec<ContactId>,
}

#[derive(Debug, Clone)]
pub struct ChatbotEntry {
    pub name: String,
    pub platform: Platform,
}

#[derive(Debug, Clone)]
pub struct WebhookEntry {
    pub name: String,
    pub method: Method,
}

/// The workspace's notification objects, by id.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    pub contacts: HashMap<ContactId, Person>,
    pub groups: HashMap<GroupId, Team>,
    /// Resolved at the moment being routed: the person on duty then.
    pub schedules: HashMap<ScheduleId, OnCall>,
    pub chatbots: HashMap<ChatbotId, ChatbotEntry>,
    pub webhooks: HashMap<WebhookId, WebhookEntry>,
}

/// Whether a policy takes the alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Matched,
    /// Its rules match, but it is switched off.
    Disabled,
    /// The first rule the alert fails, as `label op "value"`, and the label's value.
    NotMatched {
        rule: String,
        actual: String,
    },
    /// Its stored rules could not be read: it matches nothing until it is saved again.
    Unreadable {
        why: String,
    },
}

/// How a contact came to be notified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    Directly,
    Group(String),
    /// On duty in the schedule of this name.
    OnDuty(String),
}

/// Why a method cannot reach a person; nothing is sent by it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unreachable {
    NoPhone,
    PhoneNotVerified(PhoneNumber),
    NoEmail,
    EmailNotActivated(EmailAddress),
}

impl std::fmt::Display for Unreachable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unreachable::NoPhone => f.write_str("no phone number"),
            Unreachable::PhoneNotVerified(p) => write!(f, "{} is not verified", p.masked()),
            Unreachable::NoEmail => f.write_str("no email address"),
            Unreachable::EmailNotActivated(e) => write!(f, "{} is not activated", e.masked()),
        }
    }
}

/// One person reached by a policy, each of its methods with where it goes or why it cannot.
#[derive(Debug, Clone)]
pub struct PersonRoute {
    pub contact: ContactId,
    pub name: String,
    pub via: Via,
    pub methods: Vec<(NotifyMethod, Result<Address, Unreachable>)>,
}

#[derive(Debug, Clone)]
pub struct ChatRoute {
    pub chatbot: ChatbotId,
    pub name: String,
    pub platform: Platform,
    pub mention: bool,
    /// With @mention on: each person the policy notifies, and how this bot's platform would
    /// mention them or why it cannot. Empty with @mention off.
    pub mentions: Vec<MentionPlan>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MentionPlan {
    pub contact: ContactId,
    pub name: String,
    pub handle: Result<Handle, NoMention>,
}

impl ChatRoute {
    /// What the delivery to this bot stores.
    pub fn stored_mentions(&self) -> Mentions {
        Mentions::of(
            self.mentions
                .iter()
                .map(|m| (m.contact.as_str(), m.name.as_str(), &m.handle)),
        )
    }
}

#[derive(Debug, Clone)]
pub struct WebhookRoute {
    pub webhook: WebhookId,
    pub name: String,
    pub method: Method,
}

/// One policy's answer for an alert. The recipients are listed whatever the verdict, so a page
/// can show who a policy that does not match would have told; only a `Matched` route sends.
#[derive(Debug, Clone)]
pub struct Route {
    pub policy: PolicyId,
    pub policy_name: String,
    pub verdict: Verdict,
    pub people: Vec<PersonRoute>,
    pub chatbots: Vec<ChatRoute>,
    pub webhooks: Vec<WebhookRoute>,
}

impl Route {
    pub fn sends(&self) -> bool {
        self.verdict == Verdict::Matched
    }
}

/// Every policy's answer for an alert with `labels`, in the policies' order. A contact named
/// directly, on duty in a schedule and in a group (or in two groups) is told once, by the
/// first way. A schedule with nobody on duty adds nobody.
/// Objects deleted since the policy was saved are skipped.
pub fn route(
    labels: &BTreeMap<String, String>,
    policies: &[Policy],
    directory: &Directory,
) -> Vec<Route> {
    policies
        .iter()
        .map(|p| route_one(labels, p, directory))
        .collect()
}

fn verdict(labels: &BTreeMap<String, String>, p: &Policy) -> Verdict {
    let matchers = match &p.matchers {
        Ok(m) => m,
        Err(why) => return Verdict::Unreadable { why: why.clone() },
    };
    if let Some(m) = first_failing(matchers, labels) {
        return Verdict::NotMatched {
            rule: format!("{}{}\"{}\"", m.label, m.op.code(), m.value),
            actual: labels.get(&m.label).cloned().unwrap_or_default(),
        };
    }
    if p.enabled {
        Verdict::Matched
    } else {
        Verdict::Disabled
    }
}

fn route_one(labels: &BTreeMap<String, String>, p: &Policy, dir: &Directory) -> Route {
    let mut seen = BTreeSet::new();
    let mut people = Vec::new();
    let mut reach = |id: &ContactId, via: Via| {
        if let Some(person) = dir.contacts.get(id)
            && seen.insert(id.clone())
        {
            people.push(PersonRoute {
                contact: id.clone(),
                name: person.name.clone(),
                via,
                methods: p
                    .methods
                    .iter()
                    .map(|m| (*m, address(person, *m)))
                    .collect(),
            });
        }
    };
    // Contacts named directly first, then who is on duty, then groups' members: a person
    // reached several ways is shown by the most specific.
    for t in &p.targets {
        if let Target::Contact(id) = t {
            reach(id, Via::Directly);
        }
    }
    for t in &p.targets {
        if let Target::Schedule(sid) = t
            && let Some(on_call) = dir.schedules.get(sid)
        {
            for id in &on_call.on_duty {
                reach(id, Via::OnDuty(on_call.name.clone()));
            }
        }
    }
    for t in &p.targets {
        if let Target::Group(gid) = t
            && let Some(team) = dir.groups.get(gid)
        {
            for id in &team.members {
                reach(id, Via::Group(team.name.clone()));
            }
        }
    }
    let mentions_on = |platform: Platform| -> Vec<MentionPlan> {
        if !p.mention {
            return Vec::new();
        }
        people
            .iter()
            .filter_map(|r: &PersonRoute| {
                let person = dir.contacts.get(&r.contact)?;
                Some(MentionPlan {
                    contact: r.contact.clone(),
                    name: r.name.clone(),
                    handle: mention::handle(platform, person.mentionable(platform)),
                })
            })
            .collect()
    };
    let chatbots = p
        .targets
        .iter()
        .filter_map(|t| match t {
            Target::Chatbot(id) => dir.chatbots.get(id).map(|b| ChatRoute {
                chatbot: id.clone(),
                name: b.name.clone(),
                platform: b.platform,
                mention: p.mention,
                mentions: mentions_on(b.platform),
            }),
            _ => None,
        })
        .collect();
    let webhooks = p
        .targets
        .iter()
        .filter_map(|t| match t {
            Target::Webhook(id) => dir.webhooks.get(id).map(|w| WebhookRoute {
                webhook: id.clone(),
                name: w.name.clone(),
                method: w.method,
            }),
            _ => None,
        })
        .collect();
    Route {
        policy: p.id.clone(),
        policy_name: p.name.clone(),
        verdict: verdict(labels, p),
        people,
        chatbots,
        webhooks,
    }
}

/// Phone calls and SMS go only to a verified number, email only to an activated address.
fn address(person: &Person, method: NotifyMethod) -> Result<Address, Unreachable> {
    match method {
        NotifyMethod::Phone | NotifyMethod::Sms => match (&person.phone, person.phone_verified) {
            (Some(p), true) => Ok(Address::Phone(p.clone())),
            (Some(p), false) => Err(Unreachable::PhoneNotVerified(p.clone())),
            (None, _) => Err(Unreachable::NoPhone),
        },
        NotifyMethod::Email => match (&person.email, person.email_activated) {
            (Some(e), true) => Ok(Address::Email(e.clone())),
            (Some(e), false) => Err(Unreachable::EmailNotActivated(e.clone())),
            (None, _) => Err(Unreachable::NoEmail),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::policy::Matcher;
    use crate::domain::policy::tests::labels;

    fn person(dir: &mut Directory, name: &str, phone_verified: bool, email: bool) -> ContactId {
        let id = ContactId::new();
        dir.contacts.insert(
            id.clone(),
            Person {
                id: id.clone(),
                name: name.into(),
                phone: Some(PhoneNumber::parse("+8613800001234").expect("phone")),
                phone_verified,
                email: email.then(|| EmailAddress::parse("a@example.com").expect("email")),
                email_activated: email,
                im_user_id: None,
                bound: vec![],
            },
        );
        id
    }

    #[test]
    fn chat_routes_mention_the_bound_and_say_why_not_the_others() {
        let mut dir = Directory::default();
        let ana = person(&mut dir, "Ana", true, false);
        let bo = person(&mut dir, "Bo", false, false);
        if let Some(a) = dir.contacts.get_mut(&ana) {
            a.bound = vec![Platform::DingTalk, Platform::Lark];
        }
        let (ding, lark) = (ChatbotId::new(), ChatbotId::new());
        for (id, platform) in [(&ding, Platform::DingTalk), (&lark, Platform::Lark)] {
            dir.chatbots.insert(
                id.clone(),
                ChatbotEntry {
                    name: platform.label().into(),
                    platform,
                },
            );
        }
        let g = GroupId::new();
        dir.groups.insert(
            g.clone(),
            Team {
                name: "Ops".into(),
                members: vec![bo.clone()],
            },
        );
        // No methods: the contacts are named only to be mentioned.
        let mut p = policy(
            vec![],
            vec![],
            vec![
                Target::Contact(ana.clone()),
                Target::Group(g),
                Target::Chatbot(ding),
                Target::Chatbot(lark),
            ],
        );
        let r = &route(&labels(&[]), std::slice::from_ref(&p), &dir)[0];
        let plans = |i: usize| -> Vec<(String, Result<Handle, NoMention>)> {
            r.chatbots[i]
                .mentions
                .iter()
                .map(|m| (m.name.clone(), m.handle.clone()))
                .collect()
        };
        assert_eq!(
            plans(0),
            vec![
                ("Ana".into(), Ok(Handle::Mobile("13800001234".into()))),
                ("Bo".into(), Err(NoMention::NotBound)),
            ]
        );
        // Bound on Lark, but Lark mentions by user ID only.
        assert_eq!(plans(1)[0], ("Ana".into(), Err(NoMention::NoUserId)));
        let stored = r.chatbots[0].stored_mentions();
        assert_eq!(stored.mobiles, vec!["13800001234"]);
        assert_eq!(stored.unmentioned[0].name, "Bo");
        p.mention = false;
        let r = &route(&labels(&[]), &[p], &dir)[0];
        assert!(r.chatbots.iter().all(|b| b.mentions.is_empty()));
    }

    fn policy(matchers: Vec<Matcher>, methods: Vec<NotifyMethod>, targets: Vec<Target>) -> Policy {
        Policy {
            id: PolicyId::new(),
            name: "P".into(),
            enabled: true,
            matchers: Ok(matchers),
            methods,
            mention: true,
            notify_resolved: true,
            group_by: vec![],
            repeat_minutes: 240,
            group_wait_secs: 0,
            group_interval_secs: 60,
            targets,
        }
    }

    fn rule(l: &str, op: &str, v: &str) -> Matcher {
        Matcher::new(l, op, v).expect("matcher")
    }

    #[test]
    fn matchers_decide_and_the_failing_rule_is_named() {
        let dir = Directory::default();
        let p = policy(
            vec![
                rule("severity", "=", "critical"),
                rule("team", "=~", "db|web"),
            ],
            vec![],
            vec![],
        );
        let r = route(
            &labels(&[("severity", "critical"), ("team", "db")]),
            std::slice::from_ref(&p),
            &dir,
        );
        assert_eq!(r[0].verdict, Verdict::Matched);
        let r = route(&labels(&[("severity", "warning")]), &[p], &dir);
        assert_eq!(
            r[0].verdict,
            Verdict::NotMatched {
                rule: "severity=\"critical\"".into(),
                actual: "warning".into()
            }
        );
        assert!(!r[0].sends());
    }

    #[test]
    fn disabled_and_unreadable_policies_send_nothing() {
        let dir = Directory::default();
        let mut off = policy(vec![], vec![], vec![]);
        off.enabled = false;
        let mut broken = policy(vec![], vec![], vec![]);
        broken.matchers = Err("matchers column is not JSON".into());
        let r = route(&labels(&[("a", "b")]), &[off, broken], &dir);
        assert_eq!(r[0].verdict, Verdict::Disabled);
        assert!(matches!(r[1].verdict, Verdict::Unreadable { .. }));
        assert!(r.iter().all(|r| !r.sends()));
    }

    #[test]
    fn group_members_are_reached_once_and_direct_wins() {
        let mut dir = Directory::default();
        let ana = person(&mut dir, "Ana", true, true);
        let bo = person(&mut dir, "Bo", true, false);
        let g1 = GroupId::new();
        let g2 = GroupId::new();
        dir.groups.insert(
            g1.clone(),
            Team {
                name: "DBA".into(),
                members: vec![bo.clone(), ana.clone()],
            },
        );
        dir.groups.insert(
            g2.clone(),
            Team {
                name: "Ops".into(),
                members: vec![bo.clone()],
            },
        );
        let p = policy(
            vec![],
            vec![NotifyMethod::Sms],
            vec![
                Target::Group(g1),
                Target::Group(g2),
                Target::Contact(ana.clone()),
            ],
        );
        let r = &route(&labels(&[]), &[p], &dir)[0];
        let who: Vec<(&str, &Via)> = r.people.iter().map(|p| (p.name.as_str(), &p.via)).collect();
        assert_eq!(
            who,
            vec![("Ana", &Via::Directly), ("Bo", &Via::Group("DBA".into()))]
        );
    }

    #[test]
    fn the_person_on_duty_is_notified_and_mentioned_and_an_empty_shift_adds_nobody() {
        let mut dir = Directory::default();
        let ana = person(&mut dir, "Ana", true, false);
        let bo = person(&mut dir, "Bo", true, false);
        if let Some(b) = dir.contacts.get_mut(&bo) {
            b.bound = vec![Platform::DingTalk];
        }
        let (rota, idle, g, bot) = (
            ScheduleId::new(),
            ScheduleId::new(),
            GroupId::new(),
            ChatbotId::new(),
        );
        let on_call = |name: &str, on_duty: Vec<ContactId>| OnCall {
            name: name.into(),
            on_duty,
        };
        dir.schedules
            .insert(rota.clone(), on_call("Primary", vec![bo.clone()]));
        dir.schedules.insert(idle.clone(), on_call("Idle", vec![]));
        dir.groups.insert(
            g.clone(),
            Team {
                name: "Ops".into(),
                members: vec![bo.clone(), ana.clone()],
            },
        );
        dir.chatbots.insert(
            bot.clone(),
            ChatbotEntry {
                name: "Ding".into(),
                platform: Platform::DingTalk,
            },
        );
        let p = policy(
            vec![],
            vec![NotifyMethod::Phone],
            vec![
                Target::Group(g),
                Target::Schedule(idle),
                Target::Schedule(rota),
                Target::Chatbot(bot),
            ],
        );
        let r = &route(&labels(&[]), &[p], &dir)[0];
        let who: Vec<(&str, &Via)> = r.people.iter().map(|p| (p.name.as_str(), &p.via)).collect();
        assert_eq!(
            who,
            vec![
                ("Bo", &Via::OnDuty("Primary".into())),
                ("Ana", &Via::Group("Ops".into()))
            ]
        );
        assert!(matches!(
            r.people[0].methods[0],
            (NotifyMethod::Phone, Ok(Address::Phone(_)))
        ));
        assert_eq!(r.chatbots[0].mentions[0].name, "Bo");
        assert!(r.chatbots[0].mentions[0].handle.is_ok());
    }

    #[test]
    fn unverified_and_unactivated_methods_are_not_addresses() {
        let mut dir = Directory::default();
        let cy = person(&mut dir, "Cy", false, false);
        let p = policy(
            vec![],
            vec![NotifyMethod::Phone, NotifyMethod::Email],
            vec![Target::Contact(cy)],
        );
        let r = &route(&labels(&[]), &[p], &dir)[0];
        let m = &r.people[0].methods;
        assert!(matches!(
            m[0],
            (NotifyMethod::Phone, Err(Unreachable::PhoneNotVerified(_)))
        ));
        assert_eq!(m[1], (NotifyMethod::Email, Err(Unreachable::NoEmail)));
        let shown = m[0].1.clone().expect_err("unverified").to_string();
        assert!(
            shown.ends_with(" is not verified") && !shown.contains("00001"),
            "{shown}"
        );
    }

    #[test]
    fn chatbots_webhooks_and_deleted_objects() {
        let mut dir = Directory::default();
        let bot = ChatbotId::new();
        dir.chatbots.insert(
            bot.clone(),
            ChatbotEntry {
                name: "Ops room".into(),
                platform: Platform::DingTalk,
            },
        );
        let hook = WebhookId::new();
        dir.webhooks.insert(
            hook.clone(),
            WebhookEntry {
                name: "Jira".into(),
                method: Method::Post,
            },
        );
        let p = policy(
            vec![],
            vec![],
            vec![
                Target::Chatbot(bot),
                Target::Webhook(hook),
                Target::Chatbot(ChatbotId::new()),
                Target::Contact(ContactId::new()),
            ],
        );
        let r = &route(&labels(&[]), &[p], &dir)[0];
        assert_eq!(r.chatbots.len(), 1);
        assert!(r.chatbots[0].mention);
        assert_eq!(r.webhooks[0].name, "Jira");
        assert!(r.people.is_empty());
    }
}
