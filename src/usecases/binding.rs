//! Binding a phone number from a chatbot's alert card: the person asks for a code for their
//! number, types it, and the contact with that number is bound on the bot's platform (and the
//! number verified), so chat messages there @mention them.
//!
//! Every answer before the code is right is the same whether or not the number is a contact's:
//! a request for any number stores a code row and counts against the same limits; only a
//! contact's number is actually sent its code.

use chrono::NaiveDateTime;

use crate::domain::bind_link::{self, CODE_GAP, CODES_PER_HOUR, MAX_WRONG};
use crate::domain::catalog::Lang;
use crate::domain::{Language, PhoneNumber, Platform};
use crate::store::bind_links::{self, LinkedBot};
use crate::store::{ContactId, DbConn, StoreResult, WorkspaceId, bindings};

/// A code to send by SMS, when the number is a contact's.
#[derive(Debug, Clone)]
pub struct CodeToSend {
    pub workspace_id: WorkspaceId,
    pub to: PhoneNumber,
    pub code: String,
    pub language: Language,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Asked {
    /// "If this number belongs to a contact, a code is on its way."
    OnItsWay,
    /// The number had a code too recently (or too many this hour); wait this many seconds.
    TooSoon { secs: i64 },
}

/// Asks for a code for `phone` from `bot`'s link at `at`.
pub fn ask(
    c: &mut DbConn,
    bot: &LinkedBot,
    phone: &PhoneNumber,
    at: NaiveDateTime,
) -> StoreResult<(Asked, Option<CodeToSend>)> {
    crate::store::write_transaction(c, |c| {
        let sent = bind_links::sent_since(c, phone, at - chrono::Duration::hours(1))?;
        if let Some(wait) = wait_secs(&sent, at) {
            return Ok((Asked::TooSoon { secs: wait }, None));
        }
        let contact = bind_links::contact_with(c, &bot.workspace_id, phone)?;
        let code = bind_link::new_code();
        let contact_id = contact.as_ref().map(|(id, _, _)| id.clone());
        bind_links::add_code(c, &bot.id, phone, contact_id.as_ref(), &code, at)?;
        let send = contact.map(|(_, _, language)| CodeToSend {
            workspace_id: bot.workspace_id.clone(),
            to: phone.clone(),
            code,
            language: Lang::of(language, bot.default_language).language(),
        });
        Ok((Asked::OnItsWay, send))
    })
}

/// Seconds until another code may go to a number that was sent codes at `sent` (newest first,
/// the last hour); None: now.
fn wait_secs(sent: &[NaiveDateTime], at: NaiveDateTime) -> Option<i64> {
    let gap = sent
        .first()
        .map(|last| (*last + CODE_GAP - at).num_seconds())
        .filter(|s| *s > 0);
    let hourly = (sent.len() >= CODES_PER_HOUR)
        .then(|| {
            sent.get(CODES_PER_HOUR - 1)
                .map(|oldest| (*oldest + chrono::Duration::hours(1) - at).num_seconds())
        })
        .flatten()
        .filter(|s| *s > 0);
    gap.into_iter().chain(hourly).max()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmed {
    /// The contact is bound on the platform; their page speaks their language.
    Bound {
        contact: ContactId,
        name: String,
        platform: Platform,
        lang: Lang,
    },
    /// Wrong code; this many tries left.
    Wrong {
        left: i32,
    },
    /// Too many wrong codes, or the code's ten minutes are over, or none was asked for.
    Void,
    Expired,
    NoCode,
}

/// Checks the code typed for `phone` on `bot`'s link.
pub fn confirm(
    c: &mut DbConn,
    bot: &LinkedBot,
    phone: &PhoneNumber,
    typed: &str,
    at: NaiveDateTime,
) -> StoreResult<Confirmed> {
    crate::store::write_transaction(c, |c| {
        let Some(row) = bind_links::open_code(c, &bot.id, phone)? else {
            return Ok(Confirmed::NoCode);
        };
        if row.expires_at <= at {
            bind_links::end(c, &row.id, at)?;
            return Ok(Confirmed::Expired);
        }
        let right =
            bind_link::is_code(typed) && bind_link::code_matches(&row.id, typed, &row.code_hash);
        // A number that is no contact's has a code nobody was sent: every guess is wrong, and
        // the answers are the same as for a contact's mistyped code.
        let contact = row.contact_id.filter(|_| right);
        let Some(contact) = contact else {
            let tries = bind_links::wrong(c, &row.id)?;
            if tries >= MAX_WRONG {
                bind_links::end(c, &row.id, at)?;
                return Ok(Confirmed::Void);
            }
            return Ok(Confirmed::Wrong {
                left: MAX_WRONG - tries,
            });
        };
        bind_links::end(c, &row.id, at)?;
        bindings::bind(c, &contact, bot.platform, &bot.id, at)?;
        bind_links::mark_verified(c, &contact, at)?;
        let (name, language) = bind_links::contact_with(c, &bot.workspace_id, phone)?
            .map(|(_, name, language)| (name, language))
            .unwrap_or((String::new(), Language::Auto));
        Ok(Confirmed::Bound {
            contact,
            name,
            platform: bot.platform,
            lang: Lang::of(language, bot.default_language),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap_or_default()
    }

    #[test]
    fn one_code_a_minute_and_five_an_hour() {
        let now = at("2026-12-04 10:00:00");
        assert_eq!(wait_secs(&[], now), None);
        assert_eq!(wait_secs(&[at("2026-12-04 09:59:30")], now), Some(30));
        assert_eq!(wait_secs(&[at("2026-12-04 09:58:00")], now), None);
        let five = [
            at("2026-12-04 09:50:00"),
            at("2026-12-04 09:40:00"),
            at("2026-12-04 09:30:00"),
            at("2026-12-04 09:20:00"),
            at("2026-12-04 09:10:00"),
        ];
        // The fifth-newest of the hour leaves the window at 10:10.
        assert_eq!(wait_secs(&five, now), Some(600));
    }
}
