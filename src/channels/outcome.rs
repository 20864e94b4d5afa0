//! What every channel answers, in terms the delivery engine can act on: delivered, or failed
//! with a kind that says whether to retry, wait, fall back to someone else, or stop.

/// Delivered: the provider or platform took the message; `id` is its reference when it gave one.
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
    /// A chat platform refused the message because a user it @mentions does not exist there:
    /// the group can still get it without mentions, and the person needs another way.
    UnknownUser,
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
    /// How long the other side asked us to wait (`Retry-After`), for temporary failures and
    /// rate limits; None: the delivery engine's own backoff decides.
    pub retry_after: Option<std::time::Duration>,
}

impl FailureKind {
    pub fn label(self) -> &'static str {
        match self {
            FailureKind::Transient => "temporary failure",
            FailureKind::RateLimited => "rate limited",
            FailureKind::BadRecipient => "wrong number or address",
            FailureKind::UnknownUser => "a mentioned user does not exist",
            FailureKind::Rejected => "refused by the provider",
        }
    }
}

impl SendFailure {
    pub fn new(kind: FailureKind, reason: impl Into<String>) -> Self {
        SendFailure {
            kind,
            reason: reason.into(),
            retry_after: None,
        }
    }

    pub fn retry_after(mut self, wait: Option<std::time::Duration>) -> Self {
        self.retry_after = wait;
        self
    }

    /// Whether sending the same message again later may work.
    pub fn is_retryable(&self) -> bool {
        matches!(self.kind, FailureKind::Transient | FailureKind::RateLimited)
    }
}

/// What every channel answers: delivered, or one of the failure kinds with the other side's
/// words. The delivery engine decides from it whether to retry, wait, fall back or give up.
pub type SendResult = Result<Accepted, SendFailure>;
