//! The HTTP client every provider uses: bounded in time, never follows redirects (a provider
//! API that redirects is misconfigured, and following could leak credentials to another host),
//! and reads at most a small answer.

use std::time::Duration;

use super::{FailureKind, SendFailure};

/// Provider answers are small JSON documents; anything bigger is not an answer we understand.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;

pub fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5).min(timeout))
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("Herald/", env!("CARGO_PKG_VERSION")))
        .build()
        // Building only fails when the TLS backend cannot initialise, which is a broken build.
        .unwrap_or_else(|_| reqwest::Client::new())
}

/// A request that got no answer: worth retrying.
pub fn transport_failure(e: &reqwest::Error) -> SendFailure {
    let what = if e.is_timeout() {
        "no answer in time"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    // The error's Display includes the URL, which for some providers carries credentials.
    SendFailure::new(FailureKind::Transient, what)
}

/// Reads the answer's status and body, up to [`MAX_ANSWER_BYTES`].
pub async fn read_answer(
    mut response: reqwest::Response,
) -> Result<(reqwest::StatusCode, String), SendFailure> {
    let status = response.status();
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                    return Err(SendFailure::new(
                        FailureKind::Transient,
                        format!("HTTP {status}: answer larger than {MAX_ANSWER_BYTES} bytes"),
                    ));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) => return Err(transport_failure(&e)),
        }
    }
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
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
