//! The senders chosen by configuration, shared by everything that sends. Nothing here reads
//! the settings themselves: start-up hands over a [`ProviderSetup`] borrowed from them.

use std::sync::Arc;
use std::time::Duration;

use secrecy::ExposeSecret;
use serde::Deserialize;

use super::aliyun::{Aliyun, AliyunConfig};
use super::console::Console;
use super::smtp::{Smtp, SmtpConfig};
use super::twilio::{Twilio, TwilioConfig};
use super::{EmailSender, SmsSender, VoiceCaller};
use crate::outbound::{self, TargetPolicy};
use crate::store::Db;

/// Who sends SMS or places calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PhoneProvider {
    Console,
    Aliyun,
    Twilio,
}

/// Who sends email.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EmailProvider {
    Console,
    Smtp,
}

/// What building the senders needs: the choices and every provider's section.
pub struct ProviderSetup<'a> {
    pub sms: PhoneProvider,
    pub voice: PhoneProvider,
    pub email: EmailProvider,
    pub aliyun: &'a AliyunConfig,
    pub twilio: &'a TwilioConfig,
    pub smtp: &'a SmtpConfig,
    /// Herald's public address, for providers that call back (Twilio's call status).
    pub public_url: &'a str,
    /// How long one provider request may take.
    pub timeout: Duration,
    /// What provider URLs may reach.
    pub policy: TargetPolicy,
}

#[derive(Clone)]
pub struct Providers {
    pub sms: Arc<dyn SmsSender>,
    pub voice: Arc<dyn VoiceCaller>,
    pub email: Arc<dyn EmailSender>,
}

impl Providers {
    pub fn new(setup: ProviderSetup<'_>, db: &Db) -> anyhow::Result<Providers> {
        let ProviderSetup {
            sms,
            voice,
            email,
            aliyun,
            twilio,
            smtp,
            public_url,
            timeout,
            policy,
        } = setup;
        let http = outbound::client(policy, timeout);
        let console = Arc::new(Console::new(db.clone()));
        let aliyun = || Arc::new(Aliyun::new(aliyun.clone(), http.clone(), policy));
        let callback = super::twilio::status_callback_url(public_url);
        let twilio = || {
            Arc::new(
                Twilio::new(twilio.clone(), http.clone(), policy)
                    .with_status_callback(callback.clone()),
            )
        };
        let sms: Arc<dyn SmsSender> = match sms {
            PhoneProvider::Console => console.clone(),
            PhoneProvider::Aliyun => aliyun(),
            PhoneProvider::Twilio => twilio(),
        };
        let voice: Arc<dyn VoiceCaller> = match voice {
            PhoneProvider::Console => console.clone(),
            PhoneProvider::Aliyun => aliyun(),
            PhoneProvider::Twilio => twilio(),
        };
        let email: Arc<dyn EmailSender> = match (email, &smtp.url) {
            (EmailProvider::Smtp, Some(url)) => {
                let extra_ca = match &smtp.ca_file {
                    Some(path) => Some(std::fs::read_to_string(path).map_err(|e| {
                        anyhow::anyhow!("smtp.ca_file (HERALD_SMTP_CA_FILE) {path}: {e}")
                    })?),
                    None => None,
                };
                Arc::new(Smtp::new(
                    url.expose_secret(),
                    &smtp.from,
                    timeout,
                    extra_ca.as_deref(),
                )?)
            }
            _ => console,
        };
        Ok(Providers { sms, voice, email })
    }
}
