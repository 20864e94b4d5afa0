//! What happens after a delivery to a person fails for good: the next hop of its chain, or the
//! chain's end. Three rules, each used at most once per notification and contact:
//! 1. a call that did not reach the person is followed by their fallback method (SMS, email,
//!    none; "use default" takes the workspace's);
//! 2. a delivery that failed because the contact's details are wrong goes to the workspace's
//!    alternate contact, saying whom it was meant for;
//! 3. when the alternate cannot be reached either (or there is none), the last-resort
//!    recipient gets it by email.
//!
//! Anything else ends the chain with nobody reached.

use crate::domain::catalog::{Lang, Phrase, Via, say};
use crate::domain::contact::{DefaultFallback, Fallback};
use crate::domain::ids::ContactId;
use crate::domain::notification::Channel;
use crate::domain::{EmailAddress, PhoneNumber};

crate::domain::contact::choice! {
    /// Which rule made a delivery that follows a failed one.
    Hop {
        Fallback = "fallback", "Fallback method";
        Alternate = "alternate", "Alternate contact";
        LastResort = "last_resort", "Last-resort recipient";
        Unmentioned = "unmentioned", "Sent again without @mentions";
    }
    error "Unknown fallback hop."
}

/// The stored outcome of a chat message the platform refused because a user it @mentions does
/// not exist there.
pub const UNKNOWN_USER: &str = "unknown_user";

/// How a delivery to a person ended, as far as the rules care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The call was placed but nobody took it: no answer, busy, declined, no outcome learned.
    NotReached,
    /// The number or address is wrong: invalid, out of service, the mailbox does not exist.
    WrongAddress,
    /// A chat platform refused the message because a user it @mentions does not exist: for
    /// each person mentioned, their chat handle is as wrong as a bad number.
    MentionRefused,
    /// Anything else: the provider refused or kept failing until Herald gave up.
    Failed,
}

impl Ended {
    /// From the stored outcome code of the delivery's last attempt.
    pub fn of_outcome(outcome: &str) -> Ended {
        match outcome {
            "bad_recipient" => Ended::WrongAddress,
            UNKNOWN_USER => Ended::MentionRefused,
            "no_answer" | "busy" | "declined" | "no_outcome" => Ended::NotReached,
            _ => Ended::Failed,
        }
    }
}

/// A contact as the rules read it: only the number and address Herald may use (verified or
/// activated), and their fallback method.
#[derive(Debug, Clone)]
pub struct Reachable {
    pub id: ContactId,
    pub name: String,
    pub phone: Option<PhoneNumber>,
    pub email: Option<EmailAddress>,
    pub fallback: Fallback,
    /// The language messages to them are written in.
    pub lang: Lang,
}

/// The workspace's settings the rules fall back on.
#[derive(Debug, Clone, Copy)]
pub struct Backstops<'a> {
    pub default_fallback: DefaultFallback,
    pub alternate: Option<&'a Reachable>,
    /// Only an activated address.
    pub last_resort: Option<&'a EmailAddress>,
    /// The workspace's language (the last-resort address has none of its own).
    pub default_lang: Lang,
}

fn via(channel: Channel) -> Via {
    match channel {
        Channel::Sms => Via::Sms,
        Channel::Email => Via::Email,
        Channel::Chatbot => Via::Chat,
        _ => Via::Call,
    }
}

/// The delivery that failed.
#[derive(Debug, Clone, Copy)]
pub struct Failed<'a> {
    pub channel: Channel,
    pub ended: Ended,
    /// The rule that made it; None for the policy's own delivery.
    pub hop: Option<Hop>,
    /// Whom it went to (the contact, the alternate, the last-resort address).
    pub recipient: &'a str,
    /// Why it failed, in the provider's words or Herald's.
    pub why: &'a str,
    /// The contact the chain is for.
    pub meant_for: &'a Reachable,
}

/// The chain's next delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Next {
    pub hop: Hop,
    pub channel: Channel,
    /// The contact it goes to, or `last-resort`.
    pub target_id: String,
    pub recipient: String,
    pub address: String,
    /// What the recipient reads first: why this came to them.
    pub note: String,
}

/// The target id of deliveries to the last-resort address (not a contact).
pub const LAST_RESORT_TARGET: &str = "last-resort";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Send(Next),
    /// Nothing to do: the policy already sends this person what the fallback would.
    Covered,
    /// The chain ends here with nobody reached; the text says why.
    Unreached(String),
}

/// What follows `failed`. `done` are the hops this chain has already made; `covered` the
/// channels the notification already uses for the contact the chain is for.
pub fn next(failed: &Failed, back: &Backstops, done: &[Hop], covered: &[Channel]) -> Decision {
    let person = failed.meant_for;
    match (failed.hop, failed.ended) {
        (None, Ended::NotReached | Ended::Failed) if failed.channel == Channel::Phone => {
            fallback_method(failed, back, done, covered)
        }
        (None | Some(Hop::Fallback), Ended::WrongAddress | Ended::MentionRefused) => {
            alternate(failed, back, done)
        }
        (Some(Hop::Alternate), _) => last_resort(failed, back, done),
        _ => Decision::Unreached(format!(
            "{} to {} failed ({}) and no fallback applies",
            failed.channel.label(),
            person.name,
            failed.why
        )),
    }
}

fn fallback_method(
    failed: &Failed,
    back: &Backstops,
    done: &[Hop],
    covered: &[Channel],
) -> Decision {
    let person = failed.meant_for;
    let method = match person.fallback {
        Fallback::Default => back.default_fallback,
        Fallback::Sms => DefaultFallback::Sms,
        Fallback::Email => DefaultFallback::Email,
        Fallback::None => DefaultFallback::None,
    };
    let (channel, address) = match method {
        DefaultFallback::None => {
            return Decision::Unreached(format!(
                "the call to {} was not answered ({}) and their fallback method is none",
                person.name, failed.why
            ));
        }
        DefaultFallback::Sms => (Channel::Sms, person.phone.as_ref().map(|p| p.as_str())),
        DefaultFallback::Email => (Channel::Email, person.email.as_ref().map(|e| e.as_str())),
    };
    if covered.contains(&channel) {
        return Decision::Covered;
    }
    if done.contains(&Hop::Fallback) {
        return Decision::Unreached(format!("{}'s fallback was already tried", person.name));
    }
    let Some(address) = address else {
        return Decision::Unreached(format!(
            "the call to {} was not answered ({}) and they have no {} Herald may use",
            person.name,
            failed.why,
            if channel == Channel::Sms {
                "verified phone number"
            } else {
                "activated email address"
            }
        ));
    };
    Decision::Send(Next {
        hop: Hop::Fallback,
        channel,
        target_id: person.id.to_string(),
        recipient: person.name.clone(),
        address: address.to_string(),
        note: say(person.lang, Phrase::NoteNotReached { why: failed.why }),
    })
}

fn alternate(failed: &Failed, back: &Backstops, done: &[Hop]) -> Decision {
    let person = failed.meant_for;
    let usable = back
        .alternate
        // A contact is never their own alternate.
        .filter(|a| a.id != person.id)
        .filter(|_| !done.contains(&Hop::Alternate));
    let Some(alt) = usable else {
        return last_resort(failed, back, done);
    };
    // The same kind of message where the alternate can get it, else what they can get.
    let by_phone = alt.phone.as_ref().map(|p| p.as_str().to_string());
    let by_email = alt.email.as_ref().map(|e| e.as_str().to_string());
    let picked = match failed.channel {
        Channel::Phone => by_phone
            .clone()
            .map(|a| (Channel::Phone, a))
            .or(by_email.clone().map(|a| (Channel::Email, a))),
        Channel::Email => by_email
            .clone()
            .map(|a| (Channel::Email, a))
            .or(by_phone.clone().map(|a| (Channel::Sms, a))),
        _ => by_phone
            .clone()
            .map(|a| (Channel::Sms, a))
            .or(by_email.clone().map(|a| (Channel::Email, a))),
    };
    let Some((channel, address)) = picked else {
        return last_resort(failed, back, done);
    };
    Decision::Send(Next {
        hop: Hop::Alternate,
        channel,
        target_id: alt.id.to_string(),
        recipient: alt.name.clone(),
        address,
        note: say(
            alt.lang,
            Phrase::NoteAlternate {
                meant_for: &person.name,
                via: via(failed.channel),
                why: failed.why,
            },
        ),
    })
}

fn last_resort(failed: &Failed, back: &Backstops, done: &[Hop]) -> Decision {
    let person = failed.meant_for;
    match back.last_resort {
        Some(email) if !done.contains(&Hop::LastResort) => Decision::Send(Next {
            hop: Hop::LastResort,
            channel: Channel::Email,
            target_id: LAST_RESORT_TARGET.into(),
            recipient: "Last-resort recipient".into(),
            address: email.as_str().to_string(),
            note: say(
                back.default_lang,
                Phrase::NoteLastResort {
                    meant_for: &person.name,
                    via: via(failed.channel),
                    recipient: failed.recipient,
                    why: failed.why,
                },
            ),
        }),
        Some(_) => Decision::Unreached("the last-resort recipient was already tried".into()),
        None => Decision::Unreached(format!(
            "{} to {} failed ({}) and the workspace has no activated last-resort recipient",
            failed.channel.label(),
            failed.recipient,
            failed.why
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(name: &str, phone: bool, email: bool, fallback: Fallback) -> Reachable {
        let n = name.len();
        Reachable {
            id: ContactId::new(),
            name: name.into(),
            phone: phone
                .then(|| PhoneNumber::parse_stored(&format!("+861380000{n:04}")).ok())
                .flatten(),
            email: email
                .then(|| EmailAddress::parse(&format!("{}@example.com", name.to_lowercase())).ok())
                .flatten(),
            fallback,
            lang: Lang::En,
        }
    }

    fn failed<'a>(
        channel: Channel,
        ended: Ended,
        hop: Option<Hop>,
        p: &'a Reachable,
    ) -> Failed<'a> {
        Failed {
            channel,
            ended,
            hop,
            recipient: &p.name,
            why: "no answer",
            meant_for: p,
        }
    }

    fn sent(d: Decision) -> Next {
        match d {
            Decision::Send(n) => n,
            other => panic!("expected a hop, got {other:?}"),
        }
    }

    const NONE: Backstops<'static> = Backstops {
        default_fallback: DefaultFallback::Sms,
        alternate: None,
        last_resort: None,
        default_lang: Lang::En,
    };

    #[test]
    fn an_unanswered_call_is_followed_by_the_fallback_method() {
        let ana = person("Ana", true, true, Fallback::Email);
        let n = sent(next(
            &failed(Channel::Phone, Ended::NotReached, None, &ana),
            &NONE,
            &[],
            &[],
        ));
        assert_eq!((n.hop, n.channel), (Hop::Fallback, Channel::Email));
        assert_eq!(n.address, "ana@example.com");
        assert!(
            n.note.contains("could not reach you (no answer)"),
            "{}",
            n.note
        );
        // "Use default" takes the workspace's method.
        let bo = person("Bo", true, true, Fallback::Default);
        let n = sent(next(
            &failed(Channel::Phone, Ended::Failed, None, &bo),
            &NONE,
            &[],
            &[],
        ));
        assert_eq!(n.channel, Channel::Sms);
        assert_eq!(
            n.address,
            bo.phone
                .as_ref()
                .map(|p| p.as_str().to_string())
                .unwrap_or_default()
        );
    }

    #[test]
    fn no_fallback_method_or_no_usable_address_ends_the_chain() {
        let ana = person("Ana", true, false, Fallback::None);
        let d = next(
            &failed(Channel::Phone, Ended::NotReached, None, &ana),
            &NONE,
            &[],
            &[],
        );
        assert!(
            matches!(&d, Decision::Unreached(why) if why.contains("fallback method is none")),
            "{d:?}"
        );
        let bo = person("Bo", true, false, Fallback::Email);
        let d = next(
            &failed(Channel::Phone, Ended::NotReached, None, &bo),
            &NONE,
            &[],
            &[],
        );
        assert!(
            matches!(&d, Decision::Unreached(why) if why.contains("activated email")),
            "{d:?}"
        );
    }

    #[test]
    fn a_fallback_the_policy_already_sends_is_not_sent_twice() {
        let ana = person("Ana", true, true, Fallback::Sms);
        let d = next(
            &failed(Channel::Phone, Ended::NotReached, None, &ana),
            &NONE,
            &[],
            &[Channel::Sms],
        );
        assert_eq!(d, Decision::Covered);
    }

    #[test]
    fn wrong_details_go_to_the_alternate_then_the_last_resort() {
        let ana = person("Ana", true, true, Fallback::Sms);
        let alt = person("Cy", true, true, Fallback::None);
        let boss = EmailAddress::parse("oncall-boss@example.com").expect("email");
        let back = Backstops {
            default_fallback: DefaultFallback::Sms,
            alternate: Some(&alt),
            last_resort: Some(&boss),
            default_lang: Lang::Zh,
        };
        let mut f = failed(Channel::Sms, Ended::WrongAddress, None, &ana);
        f.why = "number invalid";
        let n = sent(next(&f, &back, &[], &[]));
        assert_eq!(
            (n.hop, n.channel, n.recipient.as_str()),
            (Hop::Alternate, Channel::Sms, "Cy")
        );
        assert!(
            n.note.contains("meant for Ana") && n.note.contains("number invalid"),
            "{}",
            n.note
        );
        // A chat platform that does not know the mentioned Ana: the alternate by SMS, told it
        // was the chat @mention that failed.
        let mut f = failed(Channel::Chatbot, Ended::MentionRefused, None, &ana);
        f.why = "user not found";
        let n = sent(next(&f, &back, &[], &[]));
        assert_eq!((n.hop, n.channel), (Hop::Alternate, Channel::Sms));
        assert!(
            n.note.contains("the chat @mention") && n.note.contains("Ana"),
            "{}",
            n.note
        );
        // The alternate's delivery fails too: the last-resort address, by email.
        let f = Failed {
            recipient: "Cy",
            ..failed(Channel::Sms, Ended::Failed, Some(Hop::Alternate), &ana)
        };
        let n = sent(next(&f, &back, &[Hop::Alternate], &[]));
        assert_eq!(
            (n.hop, n.channel, n.address.as_str()),
            (Hop::LastResort, Channel::Email, "oncall-boss@example.com")
        );
        assert_eq!(n.target_id, LAST_RESORT_TARGET);
        assert!(
            n.note.starts_with("此告警原本发给 Ana"),
            "in the workspace's language: {}",
            n.note
        );
        // And when that fails, nobody could be reached.
        let f = failed(
            Channel::Email,
            Ended::WrongAddress,
            Some(Hop::LastResort),
            &ana,
        );
        assert!(matches!(
            next(&f, &back, &[Hop::Alternate, Hop::LastResort], &[]),
            Decision::Unreached(_)
        ));
    }

    #[test]
    fn no_loops_a_contact_is_never_their_own_alternate_and_each_hop_happens_once() {
        let ana = person("Ana", true, true, Fallback::Sms);
        let boss = EmailAddress::parse("boss@example.com").expect("email");
        let back = Backstops {
            default_fallback: DefaultFallback::Sms,
            alternate: Some(&ana),
            last_resort: Some(&boss),
            default_lang: Lang::En,
        };
        let n = sent(next(
            &failed(Channel::Email, Ended::WrongAddress, None, &ana),
            &back,
            &[],
            &[],
        ));
        assert_eq!(
            n.hop,
            Hop::LastResort,
            "Ana is the alternate: she is skipped"
        );
        let d = next(
            &failed(Channel::Email, Ended::WrongAddress, None, &ana),
            &back,
            &[Hop::LastResort],
            &[],
        );
        assert!(matches!(d, Decision::Unreached(_)));
        // A fallback that reached a wrong number goes to the alternate rule, once.
        let cy = person("Cy", true, true, Fallback::Sms);
        let back = Backstops {
            alternate: Some(&cy),
            ..back
        };
        let f = failed(Channel::Sms, Ended::WrongAddress, Some(Hop::Fallback), &ana);
        assert_eq!(
            sent(next(&f, &back, &[Hop::Fallback], &[])).hop,
            Hop::Alternate
        );
        let d = next(&f, &back, &[Hop::Fallback, Hop::Alternate], &[]);
        assert_eq!(sent(d).hop, Hop::LastResort);
    }

    #[test]
    fn failures_no_rule_covers_end_the_chain() {
        let ana = person("Ana", true, true, Fallback::Sms);
        for (channel, hop) in [
            (Channel::Sms, None),
            (Channel::Email, None),
            (Channel::Sms, Some(Hop::Fallback)),
        ] {
            let d = next(&failed(channel, Ended::Failed, hop, &ana), &NONE, &[], &[]);
            assert!(
                matches!(d, Decision::Unreached(_)),
                "{channel:?} {hop:?}: {d:?}"
            );
        }
        // Wrong details with no alternate and no last resort: unreached, saying so.
        let d = next(
            &failed(Channel::Sms, Ended::WrongAddress, None, &ana),
            &NONE,
            &[],
            &[],
        );
        assert!(
            matches!(&d, Decision::Unreached(w) if w.contains("last-resort")),
            "{d:?}"
        );
    }

    #[test]
    fn outcomes_map_to_how_a_delivery_ended() {
        assert_eq!(Ended::of_outcome("bad_recipient"), Ended::WrongAddress);
        assert_eq!(Ended::of_outcome(UNKNOWN_USER), Ended::MentionRefused);
        assert_eq!(Ended::of_outcome("no_answer"), Ended::NotReached);
        assert_eq!(Ended::of_outcome("busy"), Ended::NotReached);
        assert_eq!(Ended::of_outcome("temporary"), Ended::Failed);
        assert_eq!(Ended::of_outcome("refused"), Ended::Failed);
    }
}
