//! How providers use the one outbound client (`crate::outbound`): its failures as
//! [`SendFailure`]s.

use super::{FailureKind, SendFailure};
use crate::outbound::{self, TargetPolicy};

/// Provider answers are small JSON documents; anything bigger is not an answer we understand.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// A request that got no answer: worth retrying, unless the target itself is refused.
pub fn transport_failure(e: &reqwest::Error) -> SendFailure {
    let kind = if outbound::refusal(e).is_some() {
        FailureKind::Rejected
    } else {
        FailureKind::Transient
    };
    // Never the error's own Display: it includes the URL, which may carry credentials.
    SendFailure::new(kind, outbound::describe_error(e))
}

/// Checks a provider endpoint against the outbound rules before calling it.
pub fn checked_url(endpoint: &str, policy: TargetPolicy) -> Result<url::Url, SendFailure> {
    outbound::check_url(endpoint, policy)
        .map_err(|e| SendFailure::new(FailureKind::Rejected, e.to_string()))
}

/// Reads the answer's status and body, up to [`MAX_ANSWER_BYTES`].
pub async fn read_answer(
    response: reqwest::Response,
) -> Result<(reqwest::StatusCode, String), SendFailure> {
    // A cut-off or oversized answer may be fine on the next try.
    outbound::read_capped(response, MAX_ANSWER_BYTES)
        .await
        .map_err(|e| SendFailure::new(FailureKind::Transient, e.to_string()))
}

/// At most `n` characters of a provider's text, for messages shown to people.
pub fn excerpt(s: &str, n: usize) -> String {
    let s = s.trim();
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}
