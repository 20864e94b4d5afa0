//! The senders chosen by configuration, shared by everything that sends.

use std::sync::Arc;
use std::time::Duration;

use super::aliyun::{Aliyun, AliyunConfig};
use super::console::Console;
use super::smtp::Smtp;
use super::twilio::{Twilio, TwilioConfig};
use super::{EmailSender, SmsSender, VoiceCaller};
use crate::config::{EmailProvider, PhoneProvider, Settings};
use crate::outbound::{self, TargetPolicy};
use crate::store::Db;

#[derive(Clone)]
pub struct Providers {
    pub sms: Arc<dyn SmsSender>,
    pub voice: Arc<dyn VoiceCaller>,
    pub email: Arc<dyn EmailSender>,
}

impl Providers {
    pub fn from_settings(settings: &Settings, db: &Db) -> anyhow::Result<Providers> {
        let timeout = Duration::from_secs(settings.provider_timeout_secs);
        let policy = TargetPolicy {
            allow_private: settings.allow_private_targets,
        };
        let http = outbound::client(policy, timeout);
        let console = Arc::new(Console::new(db.clone()));
        let aliyun = || {
            Arc::new(Aliyun::new(
                AliyunConfig {
                    access_key_id: settings.aliyun_access_key_id.clone(),
                    access_key_secret: settings
                        .aliyun_access_key_secret
                        .clone()
                        .unwrap_or_default(),
                    region_id: settings.aliyun_region_id.clone(),
                    sms_endpoint: settings.aliyun_sms_endpoint.clone(),
                    voice_endpoint: settings.aliyun_voice_endpoint.clone(),
                    sign_name: settings.aliyun_sms_sign_name.clone(),
                    sms_template_verify: settings.aliyun_sms_template_verify.clone(),
                    sms_template_alert: settings.aliyun_sms_template_alert.clone(),
                    tts_code: settings.aliyun_tts_code.clone(),
                    sms_template_verify_zh: settings.aliyun_sms_template_verify_zh.clone(),
                    sms_template_alert_zh: settings.aliyun_sms_template_alert_zh.clone(),
                    tts_code_zh: settings.aliyun_tts_code_zh.clone(),
                    called_show_number: settings.aliyun_called_show_number.clone(),
                },
                http.clone(),
                policy,
            ))
        };
        let twilio = || {
            Arc::new(Twilio::new(
                TwilioConfig {
                    account_sid: settings.twilio_account_sid.clone(),
                    auth_token: settings.twilio_auth_token.clone().unwrap_or_default(),
                    from: settings.twilio_from.clone(),
                    messaging_service_sid: settings.twilio_messaging_service_sid.clone(),
                    base_url: settings.twilio_base_url.clone(),
                },
                http.clone(),
                policy,
            ))
        };
        let sms: Arc<dyn SmsSender> = match settings.sms_provider {
            PhoneProvider::Console => console.clone(),
            PhoneProvider::Aliyun => aliyun(),
            PhoneProvider::Twilio => twilio(),
        };
        let voice: Arc<dyn VoiceCaller> = match settings.voice_provider {
            PhoneProvider::Console => console.clone(),
            PhoneProvider::Aliyun => aliyun(),
            PhoneProvider::Twilio => twilio(),
        };
        let email: Arc<dyn EmailSender> = match (&settings.email_provider, &settings.smtp_url) {
            (EmailProvider::Smtp, Some(url)) => {
                use secrecy::ExposeSecret;
                let extra_ca = match &settings.smtp_ca_file {
                    Some(path) => Some(
                        std::fs::read_to_string(path)
                            .map_err(|e| anyhow::anyhow!("smtp_ca_file {path}: {e}"))?,
                    ),
                    None => None,
                };
                Arc::new(Smtp::new(
                    url.expose_secret(),
                    &settings.email_from,
                    timeout,
                    extra_ca.as_deref(),
                )?)
            }
            _ => console,
        };
        Ok(Providers { sms, voice, email })
    }
}
