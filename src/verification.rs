//! Verifying phone numbers and activating email addresses with one-click links — one
//! mechanism for the console's "verify" and "activate" words.
//!
//! Sending a link stores its token (hashed) first, then asks the provider; a failed send takes
//! the link back. Opening a link only shows it; the POST from its page uses it, so link
//! scanners in chat and mail apps never verify anything.

pub mod messages;

use std::sync::Arc;

use chrono::{Duration, NaiveDateTime};
use diesel::Connection;
use futures_util::StreamExt;

use crate::background::Background;
use crate::channels::{Email, Providers, SendFailure, Sms, SmsPurpose};
use crate::domain::LinkToken;
use crate::domain::catalog::Lang;
use crate::domain::{Address, ContactMethod, Language, PhoneNumber};
use crate::store::contacts::{self, Contact, MethodState};
use crate::store::verification::{self as links, BatchFailure, Confirmed, NewLink};
use crate::store::{ContactId, Db, StoreError, UserId, WorkspaceId, now, workspaces};

/// A number or address gets at most one link a minute and five an hour.
pub const RESEND_GAP_SECS: i64 = 60;
pub const MAX_SENDS_PER_HOUR: usize = 5;

/// Contacts a Batch Verify prepares (links stored) before sending them, at least; a chunk is
/// two waves of concurrent sends, and progress is recorded after each chunk. Two waves of
/// provider timeouts (at most 2 × 30 s) stay inside the 120 s after which a silent batch is
/// taken for interrupted.
const BATCH_CHUNK_MIN: usize = 32;
const WAVES_PER_CHUNK: usize = 2;

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("This contact has no {}.", .0.label().to_lowercase())]
    NoTarget(ContactMethod),
    #[error("{} is already verified.", .0)]
    AlreadyVerified(String),
    #[error("A link was sent to {target} recently; try again in {}.", wait_words(*.retry_after_secs))]
    RateLimited {
        target: String,
        retry_after_secs: i64,
    },
    #[error(
        "This workspace has sent {0} verification messages in the last 24 hours, its daily limit (verification_daily_limit); try again later."
    )]
    DailyLimit(u32),
    #[error("Could not send to {target}: {failure}")]
    Failed {
        target: String,
        failure: SendFailure,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<diesel::result::Error> for SendError {
    fn from(e: diesel::result::Error) -> Self {
        SendError::Store(e.into())
    }
}

impl From<crate::store::DbError> for SendError {
    fn from(e: crate::store::DbError) -> Self {
        SendError::Store(e.into())
    }
}

fn wait_words(secs: i64) -> String {
    if secs < 90 {
        format!("{secs} seconds")
    } else {
        format!("{} minutes", (secs + 59) / 60)
    }
}

/// Seconds until another link may go to an address that was sent links at `sends`.
pub fn retry_after(sends: &[NaiveDateTime], at: NaiveDateTime) -> Option<i64> {
    let hour_ago = at - Duration::hours(1);
    let mut recent: Vec<NaiveDateTime> = sends.iter().copied().filter(|t| *t > hour_ago).collect();
    recent.sort();
    let gap = recent
        .last()
        .map(|last| RESEND_GAP_SECS - (at - *last).num_seconds())
        .filter(|s| *s > 0);
    let hourly = (recent.len() >= MAX_SENDS_PER_HOUR)
        .then(|| {
            (recent[recent.len() - MAX_SENDS_PER_HOUR] + Duration::hours(1) - at).num_seconds()
        })
        .filter(|s| *s > 0);
    match (gap, hourly) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(0).max(b.unwrap_or(0)).max(1)),
    }
}

/// What a link page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkState {
    /// Good to use: the masked number or address it verifies.
    Open {
        method: ContactMethod,
        masked: String,
    },
    Used,
    Expired,
    /// The contact changed the number or address since.
    Outdated,
    /// Unknown, tampered with, or malformed: all look the same from outside.
    Invalid,
    /// Just used: the number or address is now verified.
    Done {
        method: ContactMethod,
        masked: String,
    },
}

#[derive(Clone)]
pub struct Verifications {
    inner: Arc<Inner>,
}

/// How much sending Herald allows itself.
#[derive(Debug, Clone, Copy)]
pub struct SendLimits {
    /// Sends in flight at once during a Batch Verify.
    pub concurrency: usize,
    /// Verification messages one workspace may send in 24 hours (0: no limit): SMS cost money,
    /// and any admin can start a Batch Verify.
    pub daily_per_workspace: u32,
}

struct Inner {
    db: Db,
    providers: Providers,
    base_url: String,
    background: Background,
    limits: SendLimits,
}

/// A link ready to send to one contact.
struct Prepared {
    contact: Contact,
    language: Language,
    link: NewLink,
}

/// A stored link target, masked; one that does not decode shows as `***` (the link row is
/// still answered, so its page can say it is outdated).
fn mask(method: ContactMethod, target: &str) -> String {
    Address::stored(method, target)
        .map(|a| a.masked())
        .unwrap_or_else(|_| "***".into())
}

impl Verifications {
    pub fn new(
        db: Db,
        providers: Providers,
        base_url: &str,
        background: Background,
        limits: SendLimits,
    ) -> Self {
        Verifications {
            inner: Arc::new(Inner {
                db,
                providers,
                base_url: base_url.trim_end_matches('/').to_string(),
                background,
                limits: SendLimits {
                    concurrency: limits.concurrency.max(1),
                    ..limits
                },
            }),
        }
    }

    pub fn providers(&self) -> &Providers {
        &self.inner.providers
    }

    /// The public URL without a trailing slash, for links in messages.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    fn url(&self, token: &LinkToken) -> String {
        format!("{}/v/{token}", self.inner.base_url)
    }

    /// Sends one contact a link for `method` (the "Not verified" / "Resend" buttons and
    /// activation on save). Returns the masked number or address it went to.
    pub async fn send_link(
        &self,
        ws: &WorkspaceId,
        contact_id: &ContactId,
        method: ContactMethod,
    ) -> Result<String, SendError> {
        let (ws2, id, limits) = (ws.clone(), contact_id.clone(), self.inner.limits);
        let prepared = self
            .inner
            .db
            .run(move |c| {
                c.transaction(|c| {
                    // SQLite: take the write lock before the first read (see lock_targets).
                    links::lock_targets(c, &[])?;
                    let contact = contacts::get(c, &ws2, &id)?;
                    let target = contact.target(method).ok_or(SendError::NoTarget(method))?;
                    if contact.method_state(method) == MethodState::Verified {
                        return Err(SendError::AlreadyVerified(target.masked()));
                    }
                    let key = target.as_str().to_string();
                    links::lock_targets(c, &[key.clone(), workspace_lock(&ws2)])?;
                    let at = now();
                    let sends: Vec<NaiveDateTime> = links::recent_sends(
                        c,
                        std::slice::from_ref(&key),
                        at - Duration::hours(1),
                    )?
                    .into_iter()
                    .map(|(_, t)| t)
                    .collect();
                    if let Some(secs) = retry_after(&sends, at) {
                        return Err(SendError::RateLimited {
                            target: target.masked(),
                            retry_after_secs: secs,
                        });
                    }
                    let daily = limits.daily_per_workspace;
                    if daily > 0 && links::sends_today(c, &ws2)? >= i64::from(daily) {
                        return Err(SendError::DailyLimit(daily));
                    }
                    let workspace = workspaces::get(c, &ws2)?;
                    let link = NewLink {
                        contact_id: id,
                        method,
                        target,
                        token: LinkToken::generate(),
                    };
                    links::insert_links(c, &ws2, std::slice::from_ref(&link))?;
                    links::record_sends(c, &ws2, std::slice::from_ref(&key))?;
                    Ok(Prepared {
                        language: messages::resolve(
                            contact.language(),
                            &workspace.default_language,
                        ),
                        contact,
                        link,
                    })
                })
            })
            .await?;
        let masked = prepared.link.target.masked();
        match self.deliver(ws, &prepared).await {
            Ok(()) => Ok(masked),
            Err(failure) => {
                self.withdraw(ws, vec![prepared.link]).await?;
                Err(SendError::Failed {
                    target: masked,
                    failure,
                })
            }
        }
    }

    /// Sends the 6-digit code of a bind link by SMS.
    pub async fn send_bind_code(
        &self,
        ws: &WorkspaceId,
        to: &PhoneNumber,
        language: Language,
        code: &str,
    ) -> Result<(), SendFailure> {
        let sms = Sms {
            workspace_id: Some(ws.clone()),
            to: to.clone(),
            purpose: SmsPurpose::Code,
            text: messages::bind_code_sms(language, code),
            language,
            params: vec![("code", code.to_string())],
        };
        self.inner.providers.sms.send_sms(&sms).await.map(|_| ())
    }

    async fn deliver(&self, ws: &WorkspaceId, p: &Prepared) -> Result<(), SendFailure> {
        let url = self.url(&p.link.token);
        match &p.link.target {
            Address::Phone(to) => {
                let sms = Sms {
                    workspace_id: Some(ws.clone()),
                    to: to.clone(),
                    purpose: SmsPurpose::Verify,
                    text: messages::sms(p.language, &url),
                    language: p.language,
                    params: vec![("url", url)],
                };
                self.inner.providers.sms.send_sms(&sms).await.map(|_| ())
            }
            Address::Email(to) => {
                let (subject, text) = messages::email(p.language, &url);
                let email = Email {
                    workspace_id: Some(ws.clone()),
                    to: to.clone(),
                    subject,
                    text,
                    html: None,
                };
                self.inner.providers.email.send_email(&email).await.map(|_| ())
            }
        }
        .inspect_err(|f| {
            tracing::warn!(contact = %p.contact.id, method = p.link.method.code(), error = %f, "verification link not sent");
        })
    }

    /// Takes back links whose message never went out.
    async fn withdraw(&self, ws: &WorkspaceId, failed: Vec<NewLink>) -> Result<(), StoreError> {
        if failed.is_empty() {
            return Ok(());
        }
        let ws = ws.clone();
        self.inner
            .db
            .run(move |c| links::withdraw(c, &ws, &failed))
            .await
    }

    /// Starts a Batch Verify of the unverified numbers among `candidates` and returns its id,
    /// or None when none of them has a number to verify. The sends run in the background; the
    /// batch row tracks their progress.
    pub async fn start_batch(
        &self,
        ws: &WorkspaceId,
        user: &UserId,
        candidates: Vec<Contact>,
    ) -> Result<Option<String>, StoreError> {
        let targets: Vec<Contact> = candidates
            .into_iter()
            .filter(|c| c.phone.is_some() && c.phone_state() != MethodState::Verified)
            .collect();
        if targets.is_empty() {
            return Ok(None);
        }
        let (ws2, user2, total) = (ws.clone(), user.clone(), targets.len());
        let (batch, default_language) = self
            .inner
            .db
            .run(move |c| {
                let workspace = workspaces::get(c, &ws2)?;
                let id = links::create_batch(c, &ws2, &user2, total)?;
                Ok::<_, StoreError>((id, workspace.default_language))
            })
            .await?;
        let this = self.clone();
        let (ws, id) = (ws.clone(), batch.clone());
        self.inner.background.spawn(async move {
            this.run_batch(ws, id, targets, default_language).await;
        });
        Ok(Some(batch))
    }

    async fn run_batch(
        &self,
        ws: WorkspaceId,
        batch: String,
        targets: Vec<Contact>,
        default_language: String,
    ) {
        let started = std::time::Instant::now();
        let chunk_size = BATCH_CHUNK_MIN.max(self.inner.limits.concurrency * WAVES_PER_CHUNK);
        let chunks: Vec<Vec<Contact>> = targets
            .chunks(chunk_size)
            .map(<[Contact]>::to_vec)
            .collect();
        let last = chunks.len().saturating_sub(1);
        let mut sent_total = 0usize;
        for (i, chunk) in chunks.into_iter().enumerate() {
            let (sent, failures) = self.batch_chunk(&ws, chunk, &default_language).await;
            sent_total += sent;
            let id = batch.clone();
            let recorded = self
                .inner
                .db
                .run(move |c| links::record_progress(c, &id, sent, &failures, i == last))
                .await;
            if let Err(e) = recorded {
                tracing::error!(%batch, error = %e, "Batch Verify progress not recorded; stopping");
                return;
            }
        }
        tracing::info!(%batch, sent = sent_total, elapsed_ms = started.elapsed().as_millis() as u64, "Batch Verify finished");
    }

    /// Stores links for one chunk (skipping rate-limited numbers), sends them with bounded
    /// concurrency, and takes back the ones that failed.
    async fn batch_chunk(
        &self,
        ws: &WorkspaceId,
        chunk: Vec<Contact>,
        default_language: &str,
    ) -> (usize, Vec<BatchFailure>) {
        let ws2 = ws.clone();
        let daily = self.inner.limits.daily_per_workspace;
        let default_language = default_language.to_string();
        let names: Vec<(String, String)> = chunk
            .iter()
            .map(|c| {
                (
                    c.name.clone(),
                    c.phone
                        .as_ref()
                        .map(PhoneNumber::masked)
                        .unwrap_or_default(),
                )
            })
            .collect();
        let prepared = self
            .inner
            .db
            .run(move |c| {
                c.transaction(|c| prepare_chunk(c, &ws2, chunk, &default_language, daily))
            })
            .await;
        let (ready, mut failures) = match prepared {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "Batch Verify could not store links");
                let failures = names
                    .into_iter()
                    .map(|(name, phone)| BatchFailure {
                        contact_name: name,
                        target: phone,
                        reason: "could not store the link (database error)".into(),
                    })
                    .collect();
                return (0, failures);
            }
        };
        let results: Vec<(Prepared, Result<(), SendFailure>)> = futures_util::stream::iter(ready)
            .map(|p| async move {
                let r = self.deliver(ws, &p).await;
                (p, r)
            })
            .buffer_unordered(self.inner.limits.concurrency)
            .collect()
            .await;
        let mut sent = 0;
        let mut withdrawn = Vec::new();
        for (p, r) in results {
            match r {
                Ok(()) => sent += 1,
                Err(failure) => {
                    failures.push(BatchFailure {
                        contact_name: p.contact.name.clone(),
                        target: p.link.target.masked(),
                        reason: failure.to_string(),
                    });
                    withdrawn.push(p.link);
                }
            }
        }
        if let Err(e) = self.withdraw(ws, withdrawn).await {
            tracing::error!(error = %e, "failed links not withdrawn");
        }
        (sent, failures)
    }

    /// What the public page for `token` shows, and the language of the contact it was sent
    /// to (none for a token that is not genuine: it names nobody). Changes nothing.
    pub async fn open(&self, token: &str) -> Result<(LinkState, Option<Lang>), StoreError> {
        self.answer(token, false).await
    }

    /// The Verify button: uses the link, and says how that went (in the contact's language).
    pub async fn confirm(&self, token: &str) -> Result<(LinkState, Option<Lang>), StoreError> {
        self.answer(token, true).await
    }

    async fn answer(
        &self,
        token: &str,
        press: bool,
    ) -> Result<(LinkState, Option<Lang>), StoreError> {
        let Some(token) = LinkToken::parse(token) else {
            return Ok((LinkState::Invalid, None));
        };
        self.inner
            .db
            .run(move |c| {
                let (state, link) = look(c, &token)?;
                let lang = speaks(c, link.as_ref())?;
                if !press {
                    return Ok((state, lang));
                }
                let (LinkState::Open { method, masked }, Some(link)) = (state.clone(), link) else {
                    return Ok((state, lang));
                };
                // A concurrent press or a change of number can land between the look and the use.
                let state = match links::confirm(c, &link)? {
                    Confirmed::Verified => LinkState::Done { method, masked },
                    Confirmed::AlreadyUsed => LinkState::Used,
                    Confirmed::Expired => LinkState::Expired,
                    Confirmed::Outdated => LinkState::Outdated,
                };
                Ok((state, lang))
            })
            .await
    }
}

/// The language of the contact a genuine link was sent to: theirs, or the workspace's default
/// when they say Auto. None when the contact is gone.
fn speaks(
    c: &mut crate::store::DbConn,
    link: Option<&links::Link>,
) -> Result<Option<Lang>, StoreError> {
    let Some(link) = link else {
        return Ok(None);
    };
    let contact = match contacts::get(c, &link.workspace_id, &link.contact_id) {
        Ok(contact) => contact,
        Err(StoreError::NotFound) => return Ok(None),
        Err(e) => return Err(e),
    };
    let workspace = crate::store::workspaces::get(c, &link.workspace_id)?;
    Ok(Some(Lang::of(
        contact.language,
        workspace.default_language(),
    )))
}

/// The state of the link `token` names, and the link when it is there and genuine.
fn look(
    c: &mut crate::store::DbConn,
    token: &LinkToken,
) -> Result<(LinkState, Option<links::Link>), StoreError> {
    let Some(link) = links::find(c, &token.selector)? else {
        return Ok((LinkState::Invalid, None));
    };
    if !token.matches(&link.verifier_hash) {
        return Ok((LinkState::Invalid, None));
    }
    let state = if link.used_at.is_some() {
        LinkState::Used
    } else if link.expires_at <= now() {
        LinkState::Expired
    } else {
        let method = link.method();
        let current = match contacts::get(c, &link.workspace_id, &link.contact_id) {
            Ok(contact) => contact.target(method).map(|a| a.as_str().to_string()),
            Err(StoreError::NotFound) => None,
            Err(e) => return Err(e),
        };
        if current.as_deref() == Some(link.target.as_str()) {
            LinkState::Open {
                method,
                masked: mask(method, &link.target),
            }
        } else {
            LinkState::Outdated
        }
    };
    Ok((state, Some(link)))
}

/// The lock name that serializes a workspace's daily count (beside the per-address locks).
fn workspace_lock(ws: &WorkspaceId) -> String {
    format!("workspace:{ws}")
}

/// Issues links for the chunk's contacts whose numbers are not rate limited, within the
/// workspace's daily allowance.
fn prepare_chunk(
    c: &mut crate::store::DbConn,
    ws: &WorkspaceId,
    chunk: Vec<Contact>,
    default_language: &str,
    daily: u32,
) -> Result<(Vec<Prepared>, Vec<BatchFailure>), StoreError> {
    let phones: Vec<String> = chunk
        .iter()
        .filter_map(|c| c.phone.as_ref().map(|p| p.as_str().to_string()))
        .collect();
    let mut locks = phones.clone();
    locks.push(workspace_lock(ws));
    links::lock_targets(c, &locks)?;
    let mut allowance = if daily == 0 {
        i64::MAX
    } else {
        i64::from(daily) - links::sends_today(c, ws)?
    };
    let at = now();
    let mut sends: std::collections::HashMap<String, Vec<NaiveDateTime>> = Default::default();
    for (target, t) in links::recent_sends(c, &phones, at - Duration::hours(1))? {
        sends.entry(target).or_default().push(t);
    }
    let mut ready = Vec::with_capacity(chunk.len());
    let mut failures = Vec::new();
    for contact in chunk {
        let Some(phone) = contact.phone.clone() else {
            continue;
        };
        let previous = sends.get(phone.as_str()).map(Vec::as_slice).unwrap_or(&[]);
        if let Some(secs) = retry_after(previous, at) {
            failures.push(BatchFailure {
                contact_name: contact.name.clone(),
                target: phone.masked(),
                reason: format!(
                    "rate limited: a link was sent to this number recently; try again in {}",
                    wait_words(secs)
                ),
            });
            continue;
        }
        if allowance <= 0 {
            failures.push(BatchFailure {
                contact_name: contact.name.clone(),
                target: phone.masked(),
                reason: format!(
                    "not sent: the workspace reached its daily limit of {daily} verification messages"
                ),
            });
            continue;
        }
        allowance -= 1;
        ready.push(Prepared {
            language: messages::resolve(contact.language(), default_language),
            link: NewLink {
                contact_id: contact.id.clone(),
                method: ContactMethod::Phone,
                target: Address::Phone(phone),
                token: LinkToken::generate(),
            },
            contact,
        });
    }
    let new_links: Vec<NewLink> = ready.iter().map(|p| p.link.clone()).collect();
    links::insert_links(c, ws, &new_links)?;
    let targets: Vec<String> = new_links
        .iter()
        .map(|l| l.target.as_str().to_string())
        .collect();
    links::record_sends(c, ws, &targets)?;
    Ok((ready, failures))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_a_minute_and_five_an_hour() {
        let at = now();
        assert_eq!(retry_after(&[], at), None);
        let just_now = [at - Duration::seconds(20)];
        assert_eq!(retry_after(&just_now, at), Some(40));
        let spread: Vec<NaiveDateTime> = (1..=5).map(|m| at - Duration::minutes(m * 10)).collect();
        // Five in the last hour: the oldest (50 min ago) leaves the window in 10 minutes.
        assert_eq!(retry_after(&spread, at), Some(600));
        let four = &spread[..4];
        assert_eq!(retry_after(four, at), None);
    }
}
