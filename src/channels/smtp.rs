//! Email over SMTP with lettre's async transport. The URL picks the security:
//! `smtp://host:25` plain (local relays), `smtp://user:pass@host:587?tls=required` STARTTLS,
//! `smtps://user:pass@host:465` implicit TLS.

use std::time::Duration;

use futures_util::future::BoxFuture;
use lettre::message::{Mailbox, MultiPart, header::ContentType};
use lettre::transport::smtp::Error as SmtpError;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::SecretString;
use serde::Deserialize;

use super::{Accepted, Email, EmailSender, FailureKind, SendFailure, SendResult};

/// The `[smtp]` section of the settings (`HERALD_SMTP_URL`, `HERALD_EMAIL_FROM` and
/// `HERALD_SMTP_CA_FILE` override it). Debug output shows the URL, which may hold a password,
/// as `[REDACTED]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpConfig {
    /// `smtp://host:25` (plain, local relay), `smtp://user:pass@host:587?tls=required`
    /// (STARTTLS) or `smtps://user:pass@host:465` (implicit TLS).
    pub url: Option<SecretString>,
    /// The From of every email, e.g. `Herald <alerts@example.com>`.
    pub from: String,
    /// A PEM file of CA certificates to trust for the SMTP server's TLS besides the public
    /// roots (a relay with a company CA).
    pub ca_file: Option<String>,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            url: None,
            from: "Herald <herald@localhost>".into(),
            ca_file: None,
        }
    }
}

pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

#[derive(Debug, thiserror::Error)]
pub enum SmtpConfigError {
    #[error("smtp.url (HERALD_SMTP_URL) is not a valid SMTP URL ({0})")]
    Url(String),
    #[error("smtp.from (HERALD_EMAIL_FROM) {0:?} is not a valid address")]
    From(String),
    #[error(
        "smtp.url (HERALD_SMTP_URL) sends a user name and password without TLS: use smtps://… or add ?tls=required"
    )]
    PlaintextCredentials,
    #[error("smtp.ca_file (HERALD_SMTP_CA_FILE): {0}")]
    Ca(String),
}

/// Credentials may travel in clear only to a relay on this machine.
fn check_credentials(url: &str) -> Result<(), SmtpConfigError> {
    let Ok(parsed) = url::Url::parse(url) else {
        return Ok(()); // lettre reports the malformed URL itself.
    };
    let has_credentials = !parsed.username().is_empty() || parsed.password().is_some();
    // The first `tls=` is the one lettre uses.
    let tls = parsed.scheme() == "smtps"
        || parsed
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .is_some_and(|(_, v)| v == "required");
    // smtp:// is not a scheme the url crate knows, so IP hosts come back as plain text.
    let host = parsed.host_str().unwrap_or("").trim_matches(['[', ']']);
    let local = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if has_credentials && !tls && !local {
        return Err(SmtpConfigError::PlaintextCredentials);
    }
    Ok(())
}

/// The TLS the URL asks for, rebuilt to also trust `extra_ca` (a relay with a private CA).
fn tls_with_ca(url: &str, extra_ca: &str) -> Result<Option<Tls>, SmtpConfigError> {
    let parsed = url::Url::parse(url).map_err(|e| SmtpConfigError::Url(e.to_string()))?;
    let host = parsed
        .host_str()
        .unwrap_or("")
        .trim_matches(['[', ']'])
        .to_string();
    let mode = parsed
        .query_pairs()
        .find(|(k, _)| k == "tls")
        .map(|(_, v)| v.into_owned());
    let params = || {
        let cert = Certificate::from_pem(extra_ca.as_bytes())
            .map_err(|e| SmtpConfigError::Ca(e.to_string()))?;
        TlsParameters::builder(host.clone())
            .add_root_certificate(cert)
            .build_rustls()
            .map_err(|e| SmtpConfigError::Ca(e.to_string()))
    };
    Ok(match (parsed.scheme(), mode.as_deref()) {
        ("smtps", _) => Some(Tls::Wrapper(params()?)),
        (_, Some("required")) => Some(Tls::Required(params()?)),
        (_, Some("opportunistic")) => Some(Tls::Opportunistic(params()?)),
        _ => {
            return Err(SmtpConfigError::Ca(
                "set, but smtp.url uses no TLS (use smtps:// or ?tls=required)".into(),
            ));
        }
    })
}

impl Smtp {
    /// `extra_ca`: PEM certificates to trust besides the public roots (`smtp.ca_file`).
    pub fn new(
        url: &str,
        from: &str,
        timeout: Duration,
        extra_ca: Option<&str>,
    ) -> Result<Smtp, SmtpConfigError> {
        check_credentials(url)?;
        // lettre's error names the URL's problem, not its contents, so the password stays out.
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| SmtpConfigError::Url(e.to_string()))?
            .timeout(Some(timeout));
        if let Some(ca) = extra_ca
            && let Some(tls) = tls_with_ca(url, ca)?
        {
            builder = builder.tls(tls);
        }
        let transport = builder.build();
        let from = from
            .parse::<Mailbox>()
            .map_err(|_| SmtpConfigError::From(from.to_string()))?;
        Ok(Smtp { transport, from })
    }
}

/// SMTP reply codes sorted into what Herald does next.
fn classify(e: &SmtpError) -> FailureKind {
    let code = e.status().map(u16::from);
    match code {
        // Mailbox unavailable / unknown user / bad address syntax / not allowed.
        Some(550 | 551 | 553 | 501 | 556) => FailureKind::BadRecipient,
        Some(421 | 450 | 451 | 452) => FailureKind::RateLimited,
        _ if e.is_permanent() => FailureKind::Rejected,
        _ => FailureKind::Transient,
    }
}

impl EmailSender for Smtp {
    fn name(&self) -> &'static str {
        "smtp"
    }

    fn send_email<'a>(&'a self, email: &'a Email) -> BoxFuture<'a, SendResult> {
        Box::pin(async move {
            let to = email.to.as_str().parse::<Mailbox>().map_err(|_| {
                SendFailure::new(FailureKind::BadRecipient, "not a deliverable address")
            })?;
            let builder = Message::builder()
                .from(self.from.clone())
                .to(to)
                .subject(&email.subject);
            let message = match &email.html {
                Some(html) => builder.multipart(MultiPart::alternative_plain_html(
                    email.text.clone(),
                    html.clone(),
                )),
                None => builder
                    .header(ContentType::TEXT_PLAIN)
                    .body(email.text.clone()),
            }
            .map_err(|e| SendFailure::new(FailureKind::Rejected, e.to_string()))?;
            match self.transport.send(message).await {
                Ok(response) => Ok(Accepted {
                    id: response.first_line().map(str::to_string),
                }),
                Err(e) => Err(SendFailure::new(classify(&e), e.to_string())),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_go_in_clear_to_another_machine() {
        assert!(check_credentials("smtp://u:p@mail.example.com:587").is_err());
        assert!(check_credentials("smtp://u:p@mail.example.com:587?tls=opportunistic").is_err());
        assert!(check_credentials("smtp://u:p@mail.example.com:587?tls=required").is_ok());
        assert!(check_credentials("smtps://u:p@mail.example.com").is_ok());
        assert!(check_credentials("smtp://u:p@127.0.0.1:25").is_ok());
        assert!(check_credentials("smtp://mail.example.com:25").is_ok());
        assert!(
            check_credentials("smtp://u:p@mail.example.com?tls=opportunistic&tls=required")
                .is_err()
        );
    }
}
