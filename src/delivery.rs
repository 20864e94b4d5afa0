//! Sending SMS, voice calls and email: one trait per kind, one file per provider.
//!
//! Providers answer in their own terms; each client maps that answer to a [`SendFailure`] kind
//! Herald can act on (retry, fall back to another contact, wait) so callers never parse vendor
//! codes.

pub mod aliyun;
pub mod console;
pub mod http;
pub mod providers;
pub mod smtp;
pub mod twilio;
pub mod webhook;

use futures_util::future::BoxFuture;

use crate::domain::{EmailAddress, Language, PhoneNumber};
use crate::store::WorkspaceId;

pub use providers::Providers;

/// What an SMS is for. Providers that only send pre-approved templates (Alibaba Cloud) pick
/// the template by purpose; the others send `text`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsPurpose {
    /// A one-click verification / activation link; `params` holds `url`.
    Verify,
    /// An alert notification; `params` holds `text`.
    Alert,
}

#[derive(Debug, Clone)]
pub struct Sms {
    /// Whose console shows it on the Dev outbox page (console provider).
    pub workspace_id: Option<WorkspaceId>,
    pub to: PhoneNumber,
    pub purpose: SmsPurpose,
    /// The whole message, in `language`.
    pub text: String,
    /// English or Chinese (never Auto): template-based providers pick the template by it.
    pub language: Language,
    /// The template variables for template-based providers.
    pub params: Vec<(&'static str, String)>,
}

#[derive(Debug, Clone)]
pub struct VoiceCall {
    pub workspace_id: Option<WorkspaceId>,
    pub to: PhoneNumber,
    /// What is read out.
    pub text: String,
    pub language: Language,
}

#[derive(Debug, Clone)]
pub struct Email {
    pub workspace_id: Option<WorkspaceId>,
    pub to: EmailAddress,
    pub subject: String,
    pub text: String,
}

/// The provider took the message; `id` is its reference when it gave one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub id: Option<String>,
}

/// What Herald can do about a failed send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Network trouble, timeouts, provider 5xx: the same send may work later.
    Transient,
    /// The provider throttled us or the recipient: wait, then retry.
    RateLimited,
    /// The number or address is wrong (invalid, not reachable by this channel, bouncing):
    /// retrying will not help; the contact's details need fixing.
    BadRecipient,
    /// Refused for a reason that is ours, not the recipient's (credentials, signature, balance,
    /// template): retrying will not help until the configuration changes.
    Rejected,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {reason}", kind.label())]
pub struct SendFailure {
    pub kind: FailureKind,
    /// The provider's own words (code and message), safe to show: never contains secrets.
    pub reason: String,
}

impl FailureKind {
    pub fn label(self) -> &'static str {
        match self {
            FailureKind::Transient => "temporary failure",
            FailureKind::RateLimited => "rate limited",
            FailureKind::BadRecipient => "wrong number or address",
            FailureKind::Rejected => "refused by the provider",
        }
    }
}

impl SendFailure {
    pub fn new(kind: FailureKind, reason: impl Into<String>) -> Self {
        SendFailure {
            kind,
            reason: reason.into(),
        }
    }
}

pub type SendResult = Result<Accepted, SendFailure>;

pub trait SmsSender: Send + Sync {
    /// Short name shown in the console and logs (`console`, `aliyun`, `twilio`).
    fn name(&self) -> &'static str;
    fn send_sms<'a>(&'a self, sms: &'a Sms) -> BoxFuture<'a, SendResult>;
}

pub trait VoiceCaller: Send + Sync {
    fn name(&self) -> &'static str;
    fn call<'a>(&'a self, call: &'a VoiceCall) -> BoxFuture<'a, SendResult>;
}

pub trait EmailSender: Send + Sync {
    fn name(&self) -> &'static str;
    fn send_email<'a>(&'a self, email: &'a Email) -> BoxFuture<'a, SendResult>;
}
