//! Readiness: what in a workspace's enabled policies would let an alert reach nobody, read off
//! the routes they take whatever an alert's labels. The Today page lists it with links to fix
//! each item; the daily statistics post it.

use crate::domain::catalog::Lang;
use crate::domain::ids::{ContactId, PolicyId};
use crate::domain::routing::{Route, Unreachable, Verdict};

/// A policy that would tell nobody: no chatbot, no webhook, and no person with a usable method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SilentPolicy {
    pub id: PolicyId,
    pub name: String,
    /// Why, in a few words.
    pub why: String,
}

/// A contact some policy notifies, with the methods it lacks and the policies that use them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreadyContact {
    pub id: ContactId,
    pub name: String,
    pub gaps: Vec<Unreachable>,
    pub policies: Vec<String>,
}

impl UnreadyContact {
    /// `138****1234 is not verified; no email address`.
    pub fn gaps_text(&self, lang: Lang) -> String {
        let gaps: Vec<String> = self.gaps.iter().map(|g| gap(lang, g)).collect();
        gaps.join(match lang {
            Lang::En => "; ",
            Lang::Zh => "；",
        })
    }
}

/// What a contact lacks, in `lang`.
pub fn gap(lang: Lang, g: &Unreachable) -> String {
    match (lang, g) {
        (Lang::En, other) => other.to_string(),
        (Lang::Zh, Unreachable::NoPhone) => "没有手机号".into(),
        (Lang::Zh, Unreachable::PhoneNotVerified(p)) => format!("{} 未验证", p.masked()),
        (Lang::Zh, Unreachable::NoEmail) => "没有邮箱".into(),
        (Lang::Zh, Unreachable::EmailNotActivated(e)) => format!("{} 未激活", e.masked()),
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Readiness {
    pub silent: Vec<SilentPolicy>,
    pub unready: Vec<UnreadyContact>,
}

impl Readiness {
    pub fn is_ready(&self) -> bool {
        self.silent.is_empty() && self.unready.is_empty()
    }
}

/// Readiness from the routes of the enabled policies (disabled ones send nothing, so nothing
/// about them can fail an alert). Contacts come in the order policies first name them.
pub fn check(routes: &[Route]) -> Readiness {
    let mut out = Readiness::default();
    for r in routes {
        if let Verdict::Unreadable { why } = &r.verdict {
            out.silent.push(SilentPolicy {
                id: r.policy.clone(),
                name: r.policy_name.clone(),
                why: format!("its rules cannot be read ({why}): it matches no alert"),
            });
            continue;
        }
        let reaches_someone = !r.chatbots.is_empty()
            || !r.webhooks.is_empty()
            || r.people
                .iter()
                .any(|p| p.methods.iter().any(|(_, a)| a.is_ok()));
        if !reaches_someone {
            let why = if r.people.is_empty() {
                "it names nobody who exists".to_string()
            } else if r.people.iter().all(|p| p.methods.is_empty()) {
                "it has no notification method".to_string()
            } else {
                "none of the people it names can be reached".to_string()
            };
            out.silent.push(SilentPolicy {
                id: r.policy.clone(),
                name: r.policy_name.clone(),
                why,
            });
        }
        for p in &r.people {
            let gaps: Vec<Unreachable> = p
                .methods
                .iter()
                .filter_map(|(_, a)| a.as_ref().err().cloned())
                .collect();
            if gaps.is_empty() {
                continue;
            }
            let entry = match out.unready.iter_mut().find(|u| u.id == p.contact) {
                Some(e) => e,
                None => {
                    out.unready.push(UnreadyContact {
                        id: p.contact.clone(),
                        name: p.name.clone(),
                        gaps: Vec::new(),
                        policies: Vec::new(),
                    });
                    let last = out.unready.len() - 1;
                    &mut out.unready[last]
                }
            };
            for g in gaps {
                if !entry.gaps.contains(&g) {
                    entry.gaps.push(g);
                }
            }
            if !entry.policies.contains(&r.policy_name) {
                entry.policies.push(r.policy_name.clone());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::contact::Address;
    use crate::domain::ids::WebhookId;
    use crate::domain::policy::NotifyMethod;
    use crate::domain::routing::{PersonRoute, Via, WebhookRoute};
    use crate::domain::webhook::Method;
    use crate::domain::{EmailAddress, PhoneNumber};

    fn phone() -> PhoneNumber {
        PhoneNumber::parse("+8613800001234").expect("phone")
    }

    fn person(
        id: &ContactId,
        name: &str,
        methods: Vec<Result<Address, Unreachable>>,
    ) -> PersonRoute {
        PersonRoute {
            contact: id.clone(),
            name: name.into(),
            via: Via::Directly,
            methods: methods
                .into_iter()
                .zip([NotifyMethod::Phone, NotifyMethod::Email])
                .map(|(a, m)| (m, a))
                .collect(),
        }
    }

    fn route(name: &str, people: Vec<PersonRoute>, webhook: bool) -> Route {
        Route {
            policy: PolicyId::new(),
            policy_name: name.into(),
            verdict: Verdict::NotMatched {
                rule: "severity=\"critical\"".into(),
                actual: String::new(),
            },
            people,
            chatbots: Vec::new(),
            webhooks: if webhook {
                vec![WebhookRoute {
                    webhook: WebhookId::new(),
                    name: "Ops hook".into(),
                    method: Method::Post,
                }]
            } else {
                Vec::new()
            },
        }
    }

    #[test]
    fn a_policy_reaching_nobody_is_silent_and_says_why() {
        let ana = ContactId::new();
        let unverified = Err(Unreachable::PhoneNotVerified(phone()));
        let routes = vec![
            route("Empty", vec![], false),
            route(
                "Unverified",
                vec![person(&ana, "Ana", vec![unverified.clone()])],
                false,
            ),
            route("Hooked", vec![person(&ana, "Ana", vec![unverified])], true),
            route(
                "Fine",
                vec![person(&ana, "Ana", vec![Ok(Address::Phone(phone()))])],
                false,
            ),
        ];
        let r = check(&routes);
        let silent: Vec<(&str, &str)> = r
            .silent
            .iter()
            .map(|s| (s.name.as_str(), s.why.as_str()))
            .collect();
        assert_eq!(
            silent,
            vec![
                ("Empty", "it names nobody who exists"),
                ("Unverified", "none of the people it names can be reached"),
            ]
        );
        assert!(!r.is_ready());
    }

    #[test]
    fn a_contact_lacking_methods_is_listed_once_with_every_gap_and_policy() {
        let (ana, bo) = (ContactId::new(), ContactId::new());
        let email = EmailAddress::parse("ana@example.com").expect("email");
        let routes = vec![
            route(
                "DB",
                vec![
                    person(
                        &ana,
                        "Ana",
                        vec![
                            Err(Unreachable::PhoneNotVerified(phone())),
                            Err(Unreachable::EmailNotActivated(email.clone())),
                        ],
                    ),
                    person(&bo, "Bo", vec![Ok(Address::Phone(phone()))]),
                ],
                false,
            ),
            route(
                "Web",
                vec![person(
                    &ana,
                    "Ana",
                    vec![Err(Unreachable::PhoneNotVerified(phone()))],
                )],
                true,
            ),
        ];
        let r = check(&routes);
        assert!(r.silent.is_empty(), "{:?}", r.silent);
        assert_eq!(r.unready.len(), 1);
        let a = &r.unready[0];
        assert_eq!((a.id.clone(), a.name.as_str()), (ana, "Ana"));
        assert_eq!(a.policies, vec!["DB".to_string(), "Web".to_string()]);
        assert_eq!(a.gaps.len(), 2);
        assert_eq!(
            a.gaps_text(Lang::Zh),
            format!("{} 未验证；{} 未激活", phone().masked(), email.masked())
        );
        assert_eq!(
            a.gaps_text(Lang::En),
            format!(
                "{} is not verified; {} is not activated",
                phone().masked(),
                email.masked()
            )
        );
    }

    #[test]
    fn unreadable_rules_make_a_policy_silent() {
        let mut r = route("Broken", vec![], true);
        r.verdict = Verdict::Unreadable {
            why: "bad JSON".into(),
        };
        let out = check(&[r]);
        assert_eq!(out.silent.len(), 1);
        assert!(
            out.silent[0].why.contains("bad JSON"),
            "{}",
            out.silent[0].why
        );
    }

    #[test]
    fn everything_reachable_is_ready() {
        let ana = ContactId::new();
        let r = route(
            "Fine",
            vec![person(&ana, "Ana", vec![Ok(Address::Phone(phone()))])],
            false,
        );
        assert!(check(&[r]).is_ready());
    }
}
