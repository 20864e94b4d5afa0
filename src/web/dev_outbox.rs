//! Dev outbox: what the console providers would have sent, for owners. Links in the messages
//! are clickable so a laptop install can verify its own numbers.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use std::collections::HashSet;

use serde::Deserialize;

use super::auth::{Need, Visitor};
use super::csrf::CsrfForm;
use super::form::{Console, Owners, PathId};
use super::layout::{Layout, render};
use crate::channels::console::console_call_ref;
use crate::domain::notification::CallOutcome;
use crate::engine::Engine;
use crate::error::AppError;
use crate::store::dev_outbox::{self, OutboxMessage};
use crate::store::{Db, chains};
use crate::verification::Verifications;

const SHOWN: i64 = 100;

/// A piece of a message body: plain text, or a link to make clickable.
pub enum Piece {
    Text(String),
    Link(String),
}

pub struct Shown {
    pub message: OutboxMessage,
    pub pieces: Vec<Piece>,
    /// A console call still waiting for the tester to say how it went.
    pub ringing: bool,
}

/// Splits `body` into text and http(s) links. Only whole whitespace-separated words that start
/// with a scheme become links, so message text can never inject markup (askama escapes both).
pub fn pieces(body: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut text = String::new();
    for word in body.split_inclusive(char::is_whitespace) {
        let trimmed = word.trim_end();
        // The Chinese message puts the link after a full-width colon.
        let (before, candidate) = match trimmed.find("http") {
            Some(i) => (&trimmed[..i], &trimmed[i..]),
            None => (trimmed, ""),
        };
        if candidate.starts_with("http://") || candidate.starts_with("https://") {
            text.push_str(before);
            if !text.is_empty() {
                out.push(Piece::Text(std::mem::take(&mut text)));
            }
            out.push(Piece::Link(candidate.to_string()));
            text.push_str(&word[trimmed.len()..]);
        } else {
            text.push_str(word);
        }
    }
    if !text.is_empty() {
        out.push(Piece::Text(text));
    }
    out
}

#[derive(Template)]
#[template(path = "dev/outbox.html")]
pub struct OutboxPage {
    pub layout: Layout,
    pub messages: Vec<Shown>,
    pub sms: &'static str,
    pub voice: &'static str,
    pub email: &'static str,
}

pub async fn index(
    db: web::Data<Db>,
    session: Session,
    visitor: Visitor,
    verifications: web::Data<Verifications>,
) -> Result<HttpResponse, AppError> {
    let (user, (messages, ringing)) = visitor
        .read(&db, Need::Owner, |c, user| {
            let messages = dev_outbox::list(c, &user.workspace_id, SHOWN)?;
            let ringing: HashSet<String> = chains::waiting_calls(c, None, 500)?
                .into_iter()
                .filter(|w| w.workspace_id == user.workspace_id)
                .filter_map(|w| w.provider_ref)
                .collect();
            Ok((messages, ringing))
        })
        .await?;
    let providers = verifications.providers();
    render(
        StatusCode::OK,
        &OutboxPage {
            layout: Layout::new(&session, &user),
            messages: messages
                .into_iter()
                .map(|m| Shown {
                    pieces: pieces(&m.body),
                    ringing: ringing.contains(&console_call_ref(&m.id)),
                    message: m,
                })
                .collect(),
            sms: providers.sms.name(),
            voice: providers.voice.name(),
            email: providers.email.name(),
        },
    )
}

#[derive(Deserialize)]
pub struct CallForm {
    #[serde(default)]
    outcome: String,
}

/// The tester says how a console call went: answered ends it delivered; no answer or busy
/// starts its fallback chain, as a real provider's report would.
pub async fn call_outcome(
    console: Console<Owners>,
    engine: web::Data<Engine>,
    PathId(entry): PathId<String>,
    CsrfForm(form): CsrfForm<CallForm>,
) -> Result<HttpResponse, AppError> {
    let outcome = match CallOutcome::parse(&form.outcome) {
        Ok(o @ (CallOutcome::Answered | CallOutcome::NoAnswer | CallOutcome::Busy)) => o,
        _ => {
            return Err(AppError::BadRequest(
                "Choose answered, no answer or busy.".into(),
            ));
        }
    };
    let id = entry.clone();
    if !console
        .run(move |c, user| dev_outbox::belongs_to(c, &user.workspace_id, &id))
        .await?
    {
        return Err(AppError::NotFound);
    }
    let recorded = engine
        .call_outcome(console_call_ref(&entry), outcome)
        .await?;
    let message = if recorded {
        format!("Call marked {}.", outcome.label())
    } else {
        "That call is no longer waiting for an outcome.".to_string()
    };
    Ok(console.done(message, "/dev/outbox"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(ps: &[Piece]) -> String {
        ps.iter()
            .map(|p| match p {
                Piece::Text(t) => t.clone(),
                Piece::Link(l) => format!("[{l}]"),
            })
            .collect()
    }

    #[test]
    fn links_become_clickable_and_text_stays() {
        let ps = pieces("Herald: verify (valid 24 h): http://h/v/abc\nthanks");
        assert_eq!(
            render(&ps),
            "Herald: verify (valid 24 h): [http://h/v/abc]\nthanks"
        );
        let ps = pieces("请点击：https://h/v/x");
        assert_eq!(render(&ps), "请点击：[https://h/v/x]");
        assert_eq!(render(&pieces("no links <b>")), "no links <b>");
    }
}
