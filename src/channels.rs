//! Every way Herald tells someone: chat platforms (DingTalk, Lark, WeCom, Slack), webhooks, and
//! SMS, voice calls and email through their providers. One file per channel or provider; all of
//! them answer in the same terms ([`SendResult`]), which the delivery engine acts on.
//!
//! Providers answer in their own terms; each client maps that answer to a [`SendFailure`] kind
//! Herald can act on (retry, fall back to another contact, wait) so callers never parse vendor
//! codes.

pub mod alert_messages;
pub mod aliyun;
pub mod chat;
mod chat_parts;
pub mod console;
pub mod dingtalk;
pub mod http;
pub mod lark;
pub mod outcome;
pub mod providers;
pub mod slack;
pub mod smtp;
pub mod twilio;
pub mod webhook;
pub mod wecom;

use futures_util::future::BoxFuture;

use crate::domain::{EmailAddress, Language, PhoneNumber};
use crate::store::WorkspaceId;

pub use outcome::{Accepted, FailureKind, SendFailure, SendResult};
pub use providers::Providers;

/// What an SMS is for. Providers that only send pre-approved templates (Alibaba Cloud) pick
/// the template by purpose; the others send `text`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsPurpose {
    /// A one-click verification / activation link; `params` holds `url`.
    Verify,
    /// An alert notification; `params` holds `text`.
    Alert,
    /// A 6-digit code (binding a number from a chat alert card); `params` holds `code`.
    Code,
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
    /// The same message as HTML, sent beside the text when given.
    pub html: Option<String>,
}

pub trait SmsSender: Send + Sync {
    /// Short name shown in the console and logs (`console`, `aliyun`, `twilio`).
    fn name(&self) -> &'static str;
    fn send_sms<'a>(&'a self, sms: &'a Sms) -> BoxFuture<'a, SendResult>;
}

/// How a voice provider tells what became of a call it placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallReports {
    /// It does not: a placed call counts as delivered.
    Never,
    /// It calls Herald back (Twilio's status callback; the Dev outbox's buttons).
    Pushed,
    /// Herald asks it ([`VoiceCaller::outcome`]) once the call has had time to end.
    Queried,
}

pub trait VoiceCaller: Send + Sync {
    fn name(&self) -> &'static str;
    /// Places the call; the accepted id is the provider's reference for its outcome.
    fn call<'a>(&'a self, call: &'a VoiceCall) -> BoxFuture<'a, SendResult>;

    fn reports(&self) -> CallReports {
        CallReports::Never
    }

    /// The secret the provider signs its call reports with, for providers that push them.
    fn callback_secret(&self) -> Option<&str> {
        None
    }

    /// What became of the call `reference`; None while it is not known yet.
    fn outcome<'a>(
        &'a self,
        _reference: &'a str,
    ) -> BoxFuture<'a, Option<crate::domain::notification::CallOutcome>> {
        Box::pin(async { None })
    }
}

pub trait EmailSender: Send + Sync {
    fn name(&self) -> &'static str;
    fn send_email<'a>(&'a self, email: &'a Email) -> BoxFuture<'a, SendResult>;
}
