//! Settings from an optional TOML file and `HERALD_*` environment variables (which win).

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::channels::aliyun::AliyunConfig;
use crate::channels::providers::ProviderSetup;
pub use crate::channels::providers::{EmailProvider, PhoneProvider};
use crate::channels::smtp::SmtpConfig;
use crate::channels::twilio::TwilioConfig;
use crate::outbound::TargetPolicy;

/// Every key of the `[aliyun]`, `[twilio]` and `[smtp]` sections and the environment variable
/// that overrides it. The variables are the names these settings had before they moved into
/// sections, so they keep working; the old flat file key is the variable without `HERALD_`,
/// in lower case (`aliyun_access_key_id`), and is still read too.
pub const PROVIDER_VARIABLES: &[(&str, &str)] = &[
    ("aliyun.access_key_id", "HERALD_ALIYUN_ACCESS_KEY_ID"),
    (
        "aliyun.access_key_secret",
        "HERALD_ALIYUN_ACCESS_KEY_SECRET",
    ),
    ("aliyun.region_id", "HERALD_ALIYUN_REGION_ID"),
    ("aliyun.sms_endpoint", "HERALD_ALIYUN_SMS_ENDPOINT"),
    ("aliyun.voice_endpoint", "HERALD_ALIYUN_VOICE_ENDPOINT"),
    ("aliyun.sms_sign_name", "HERALD_ALIYUN_SMS_SIGN_NAME"),
    (
        "aliyun.sms_template_verify",
        "HERALD_ALIYUN_SMS_TEMPLATE_VERIFY",
    ),
    (
        "aliyun.sms_template_alert",
        "HERALD_ALIYUN_SMS_TEMPLATE_ALERT",
    ),
    (
        "aliyun.sms_template_code",
        "HERALD_ALIYUN_SMS_TEMPLATE_CODE",
    ),
    ("aliyun.tts_code", "HERALD_ALIYUN_TTS_CODE"),
    (
        "aliyun.sms_template_verify_zh",
        "HERALD_ALIYUN_SMS_TEMPLATE_VERIFY_ZH",
    ),
    (
        "aliyun.sms_template_alert_zh",
        "HERALD_ALIYUN_SMS_TEMPLATE_ALERT_ZH",
    ),
    (
        "aliyun.sms_template_code_zh",
        "HERALD_ALIYUN_SMS_TEMPLATE_CODE_ZH",
    ),
    ("aliyun.tts_code_zh", "HERALD_ALIYUN_TTS_CODE_ZH"),
    (
        "aliyun.called_show_number",
        "HERALD_ALIYUN_CALLED_SHOW_NUMBER",
    ),
    ("twilio.account_sid", "HERALD_TWILIO_ACCOUNT_SID"),
    ("twilio.auth_token", "HERALD_TWILIO_AUTH_TOKEN"),
    ("twilio.from", "HERALD_TWILIO_FROM"),
    (
        "twilio.messaging_service_sid",
        "HERALD_TWILIO_MESSAGING_SERVICE_SID",
    ),
    ("twilio.base_url", "HERALD_TWILIO_BASE_URL"),
    ("smtp.url", "HERALD_SMTP_URL"),
    ("smtp.from", "HERALD_EMAIL_FROM"),
    ("smtp.ca_file", "HERALD_SMTP_CA_FILE"),
];

/// The file key a section key had before the sections: `aliyun_access_key_id`.
fn flat_key(variable: &str) -> String {
    variable
        .strip_prefix("HERALD_")
        .unwrap_or(variable)
        .to_ascii_lowercase()
}

/// A section key as people write it, with its variable: `aliyun.access_key_id
/// (HERALD_ALIYUN_ACCESS_KEY_ID)`.
pub fn spelled(key: &str) -> String {
    match PROVIDER_VARIABLES.iter().find(|(k, _)| *k == key) {
        Some((_, variable)) => format!("{key} ({variable})"),
        None => key.to_string(),
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// `sqlite://herald.db` (default) or `postgres://user@host/db`.
    pub database_url: String,
    /// Connections kept by each Herald process.
    pub database_pool_size: u32,
    /// Address the console listens on.
    pub bind: String,
    /// The URL people reach the console at; links in SMS and email start with it, and an
    /// https URL makes the session cookie Secure. Defaults to `http://<bind>`.
    pub public_url: String,
    /// Hex key (≥ 64 bytes) for signing session cookies. When unset, one is generated on first
    /// run and stored in the database, so restarts and other instances keep sessions valid.
    pub session_key: Option<SecretString>,
    /// Hours a console session lasts without activity.
    pub session_hours: i64,
    /// `pretty` (default) or `json` log lines.
    pub log_format: LogFormat,
    /// Worker threads of the HTTP server; 0 means one per core.
    pub workers: usize,

    /// Who sends SMS: `console` (default: nothing leaves, see the Dev outbox page), `aliyun`
    /// or `twilio`.
    pub sms_provider: PhoneProvider,
    /// Who places voice calls: `console`, `aliyun` or `twilio`.
    pub voice_provider: PhoneProvider,
    /// Who sends email: `console` or `smtp`.
    pub email_provider: EmailProvider,
    /// Seconds a provider request may take before it counts as a temporary failure.
    pub provider_timeout_secs: u64,
    /// SMS sends in flight at once during a Batch Verify.
    pub send_concurrency: usize,
    /// Verification messages (SMS and email) one workspace may send in 24 hours; 0: no limit.
    pub verification_daily_limit: u32,

    /// The `[aliyun]` section: Alibaba Cloud SMS and voice.
    pub aliyun: AliyunConfig,
    /// The `[twilio]` section: Twilio SMS and voice.
    pub twilio: TwilioConfig,
    /// The `[smtp]` section: the SMTP server and the From of every email.
    pub smtp: SmtpConfig,

    /// Let chatbot, webhook and provider URLs reach loopback, private (10/8, 172.16/12,
    /// 192.168/16, fc00::/7) and carrier-grade NAT addresses (`HERALD_ALLOW_PRIVATE_TARGETS`).
    /// Off by default so a URL typed in the console cannot reach internal services; link-local
    /// and cloud-metadata addresses are refused either way.
    pub allow_private_targets: bool,
    /// Reverse proxies in front of Herald, comma separated (`127.0.0.1, 10.0.0.2`): from them,
    /// `X-Forwarded-For` gives the client address that sign-in and link limits count by.
    pub trusted_proxies: String,
    /// Seconds after which an alert posted to `/api/v2/alerts` without `endsAt`, and not posted
    /// again, counts as resolved (Alertmanager's `resolve_timeout`).
    pub resolve_timeout_secs: i64,
    /// Largest ingest request body, in bytes; a larger one is refused with 413.
    pub ingest_max_body_bytes: usize,
    /// When set, `/metrics` answers only requests with `Authorization: Bearer <this>`.
    pub metrics_token: Option<SecretString>,
    /// Seconds a worker holds a delivery it claimed; after a crash, another worker sends it
    /// again once this has passed. Longer than any send (provider_timeout_secs).
    pub delivery_lease_secs: i64,
    /// Delivery workers; each claims a batch, sends it, and records it.
    pub delivery_workers: usize,
    /// Seconds after placing a call before Alibaba Cloud is asked how it went (its call
    /// detail report exists once the call has ended).
    pub call_report_delay_secs: i64,
    /// Deliveries one worker claims at once.
    pub delivery_batch: i64,
    /// Sends in flight at once per worker.
    pub delivery_concurrency: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            database_url: "sqlite://herald.db".into(),
            database_pool_size: 8,
            bind: "127.0.0.1:8080".into(),
            public_url: String::new(),
            session_key: None,
            session_hours: 24 * 7,
            log_format: LogFormat::Pretty,
            workers: 0,
            sms_provider: PhoneProvider::Console,
            voice_provider: PhoneProvider::Console,
            email_provider: EmailProvider::Console,
            provider_timeout_secs: 10,
            send_concurrency: 64,
            verification_daily_limit: 20_000,
            aliyun: AliyunConfig::default(),
            twilio: TwilioConfig::default(),
            smtp: SmtpConfig::default(),
            allow_private_targets: false,
            trusted_proxies: String::new(),
            resolve_timeout_secs: 300,
            ingest_max_body_bytes: 4 * 1024 * 1024,
            metrics_token: None,
            delivery_lease_secs: 60,
            delivery_workers: 2,
            call_report_delay_secs: 20,
            delivery_batch: 200,
            delivery_concurrency: 128,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(#[from] config::ConfigError),
    #[error("configuration: {0}")]
    Invalid(String),
}

impl Settings {
    /// Reads `path` (or `HERALD_CONFIG`, or `herald.toml` when it exists), then the environment.
    pub fn load(path: Option<&str>) -> Result<Settings, ConfigError> {
        Self::load_from(path, None)
    }

    /// `env` replaces the process environment (for tests).
    ///
    /// Layers, each winning over the one before: the defaults; the file; the file's old flat
    /// provider keys (`aliyun_access_key_id`, refused when the file also has the section key);
    /// the environment (`HERALD_BIND` is `bind`), where the provider variables are mapped into
    /// their sections through [`PROVIDER_VARIABLES`]. Empty variables count as unset.
    pub fn load_from(
        path: Option<&str>,
        env: Option<config::Map<String, String>>,
    ) -> Result<Settings, ConfigError> {
        let variable = |name: &str| match &env {
            Some(map) => map.get(name).cloned(),
            None => std::env::var(name).ok(),
        };
        let file = path
            .map(str::to_owned)
            .or_else(|| variable("HERALD_CONFIG"));
        let file = match &file {
            Some(p) => config::File::with_name(p)
                .format(config::FileFormat::Toml)
                .required(true),
            None => config::File::with_name("herald.toml")
                .format(config::FileFormat::Toml)
                .required(false),
        };
        let from_file = config::Config::builder().add_source(file).build()?;
        let mut builder = config::Config::builder().add_source(from_file.clone());
        for &(key, var) in PROVIDER_VARIABLES {
            let flat = flat_key(var);
            if let Ok(value) = from_file.get::<config::Value>(&flat) {
                if from_file.get::<config::Value>(key).is_ok() {
                    return Err(ConfigError::Invalid(format!(
                        "the settings file has both {flat} and {key}: keep {key}"
                    )));
                }
                builder = builder.set_override(key, value)?;
            }
        }
        builder = builder.add_source(
            config::Environment::with_prefix("HERALD")
                .prefix_separator("_")
                .ignore_empty(true)
                .source(env.clone()),
        );
        for &(key, var) in PROVIDER_VARIABLES {
            if let Some(value) = variable(var).filter(|v| !v.is_empty()) {
                builder = builder.set_override(key, value)?;
            }
        }
        let mut settings: Settings = builder.build()?.try_deserialize()?;
        if settings.public_url.trim().is_empty() {
            settings.public_url = format!("http://{}", settings.bind);
        }
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.resolve_timeout_secs < 1 {
            return Err(ConfigError::Invalid(
                "resolve_timeout_secs must be at least 1".into(),
            ));
        }
        if self.ingest_max_body_bytes < 1024 {
            return Err(ConfigError::Invalid(
                "ingest_max_body_bytes must be at least 1024".into(),
            ));
        }
        let url = url::Url::parse(&self.public_url)
            .map_err(|e| ConfigError::Invalid(format!("public_url {:?}: {e}", self.public_url)))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ConfigError::Invalid(
                "public_url must start with http:// or https://".into(),
            ));
        }
        if self.database_pool_size == 0 {
            return Err(ConfigError::Invalid(
                "database_pool_size must be at least 1".into(),
            ));
        }
        if self.session_hours < 1 {
            return Err(ConfigError::Invalid(
                "session_hours must be at least 1".into(),
            ));
        }
        // A Batch Verify chunk may wait two timeouts; more than 30 s would make a live batch
        // look interrupted (store::verification::STALE_AFTER_SECS).
        if self.provider_timeout_secs == 0 || self.provider_timeout_secs > 30 {
            return Err(ConfigError::Invalid(
                "provider_timeout_secs must be between 1 and 30".into(),
            ));
        }
        if self.send_concurrency == 0 || self.send_concurrency > 1024 {
            return Err(ConfigError::Invalid(
                "send_concurrency must be between 1 and 1024".into(),
            ));
        }
        if self.delivery_lease_secs <= self.provider_timeout_secs as i64
            || self.delivery_lease_secs > 3600
        {
            return Err(ConfigError::Invalid(
                "delivery_lease_secs must be longer than provider_timeout_secs and at most 3600"
                    .into(),
            ));
        }
        if !(0..=170).contains(&self.call_report_delay_secs) {
            return Err(ConfigError::Invalid(
                "call_report_delay_secs must be 0–170 (a call with no outcome after 180 s counts as not reached)".into(),
            ));
        }
        if !(1..=16).contains(&self.delivery_workers)
            || !(1..=1000).contains(&self.delivery_batch)
            || !(1..=1024).contains(&self.delivery_concurrency)
        {
            return Err(ConfigError::Invalid(
                "delivery_workers must be 1–16, delivery_batch 1–1000, delivery_concurrency 1–1024"
                    .into(),
            ));
        }
        crate::domain::trusted_proxies::TrustedProxies::parse(&self.trusted_proxies)
            .map_err(ConfigError::Invalid)?;
        self.validate_providers()
    }

    /// A chosen provider must have what it needs; the message names the missing setting as
    /// written in the file and as its variable.
    fn validate_providers(&self) -> Result<(), ConfigError> {
        let uses = |p| self.sms_provider == p || self.voice_provider == p;
        let (aliyun, twilio) = (&self.aliyun, &self.twilio);
        let mut missing: Vec<&str> = Vec::new();
        if uses(PhoneProvider::Aliyun) {
            if aliyun.access_key_id.is_empty() {
                missing.push("aliyun.access_key_id");
            }
            if aliyun.access_key_secret.expose_secret().is_empty() {
                missing.push("aliyun.access_key_secret");
            }
        }
        if self.sms_provider == PhoneProvider::Aliyun {
            if aliyun.sms_sign_name.is_empty() {
                missing.push("aliyun.sms_sign_name");
            }
            if aliyun.sms_template_verify.is_empty() {
                missing.push("aliyun.sms_template_verify");
            }
        }
        if self.voice_provider == PhoneProvider::Aliyun && aliyun.tts_code.is_empty() {
            missing.push("aliyun.tts_code");
        }
        if uses(PhoneProvider::Twilio) {
            if twilio.account_sid.is_empty() {
                missing.push("twilio.account_sid");
            }
            if twilio.auth_token.expose_secret().is_empty() {
                missing.push("twilio.auth_token");
            }
        }
        if self.sms_provider == PhoneProvider::Twilio
            && twilio.from.is_empty()
            && twilio.messaging_service_sid.is_empty()
        {
            missing.push("twilio.from");
        }
        if self.voice_provider == PhoneProvider::Twilio && twilio.from.is_empty() {
            missing.push("twilio.from");
        }
        if self.email_provider == EmailProvider::Smtp
            && self
                .smtp
                .url
                .as_ref()
                .is_none_or(|url| url.expose_secret().is_empty())
        {
            missing.push("smtp.url");
        }
        missing.dedup();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(format!(
                "the chosen providers need: {}",
                missing
                    .iter()
                    .map(|key| spelled(key))
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        }
    }

    /// What [`crate::channels::Providers::new`] builds the senders from.
    pub fn provider_setup(&self) -> ProviderSetup<'_> {
        ProviderSetup {
            sms: self.sms_provider,
            voice: self.voice_provider,
            email: self.email_provider,
            aliyun: &self.aliyun,
            twilio: &self.twilio,
            smtp: &self.smtp,
            public_url: self.base_url(),
            timeout: Duration::from_secs(self.provider_timeout_secs),
            policy: TargetPolicy {
                allow_private: self.allow_private_targets,
            },
        }
    }

    /// How the delivery engine runs.
    pub fn engine_settings(&self) -> crate::engine::EngineSettings {
        crate::engine::EngineSettings {
            lease: chrono::Duration::seconds(self.delivery_lease_secs),
            batch: self.delivery_batch,
            concurrency: self.delivery_concurrency,
            workers: self.delivery_workers,
            external_url: self.base_url().to_string(),
            policy: TargetPolicy {
                allow_private: self.allow_private_targets,
            },
            timeout: Duration::from_secs(self.provider_timeout_secs),
            poll: Duration::from_secs(1),
            call_report_delay: chrono::Duration::seconds(self.call_report_delay_secs),
        }
    }

    pub fn public_url_is_https(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// The public URL without a trailing slash, for building links.
    pub fn base_url(&self) -> &str {
        self.public_url.trim_end_matches('/')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Option<config::Map<String, String>> {
        Some(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn defaults_serve_sqlite_on_loopback() {
        let s = Settings::load_from(None, env(&[])).expect("defaults");
        assert_eq!(s.database_url, "sqlite://herald.db");
        assert_eq!(s.bind, "127.0.0.1:8080");
        assert_eq!(s.public_url, "http://127.0.0.1:8080");
        assert!(s.session_key.is_none());
    }

    #[test]
    fn environment_and_file_are_read_and_environment_wins() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("herald.toml");
        std::fs::write(
            &file,
            "bind = \"127.0.0.1:9000\"\ndatabase_pool_size = 3\nlog_format = \"json\"\n",
        )
        .expect("write");
        let path = file.to_string_lossy().into_owned();
        let s = Settings::load_from(
            Some(&path),
            env(&[
                ("HERALD_DATABASE_POOL_SIZE", "5"),
                ("HERALD_PUBLIC_URL", "https://herald.example.com"),
            ]),
        )
        .expect("load");
        assert_eq!(s.bind, "127.0.0.1:9000");
        assert_eq!(s.database_pool_size, 5);
        assert_eq!(s.log_format, LogFormat::Json);
        assert!(s.public_url_is_https());
    }

    #[test]
    fn bad_values_are_refused_with_the_setting_named() {
        let e = Settings::load_from(None, env(&[("HERALD_PUBLIC_URL", "ftp://x")]))
            .expect_err("scheme");
        assert!(e.to_string().contains("public_url"), "{e}");
        let e = Settings::load_from(None, env(&[("HERALD_DATABASE_POOL_SIZE", "zero")]))
            .expect_err("number");
        assert!(e.to_string().contains("database_pool_size"), "{e}");
        assert!(Settings::load_from(Some("/nonexistent/herald.toml"), env(&[])).is_err());
    }

    /// A settings file in its own temporary directory (removed with the returned guard).
    fn file(text: &str) -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("herald.toml");
        std::fs::write(&path, text).expect("write");
        let path = path.to_string_lossy().into_owned();
        (dir, path)
    }

    #[test]
    fn provider_sections_have_the_provider_defaults() {
        let s = Settings::load_from(None, env(&[])).expect("defaults");
        assert_eq!(s.aliyun.region_id, "cn-hangzhou");
        assert_eq!(s.aliyun.sms_endpoint, "https://dysmsapi.aliyuncs.com/");
        assert_eq!(s.aliyun.voice_endpoint, "https://dyvmsapi.aliyuncs.com/");
        assert!(s.aliyun.access_key_secret.expose_secret().is_empty());
        assert_eq!(s.twilio.base_url, "https://api.twilio.com");
        assert_eq!(s.smtp.from, "Herald <herald@localhost>");
        assert!(s.smtp.url.is_none() && s.smtp.ca_file.is_none());
        // A section that sets one key keeps the defaults of the others.
        let (_dir, path) = file("[aliyun]\naccess_key_id = \"LTAI1\"\n");
        let s = Settings::load_from(Some(&path), env(&[])).expect("load");
        assert_eq!(s.aliyun.access_key_id, "LTAI1");
        assert_eq!(s.aliyun.region_id, "cn-hangzhou");
    }

    #[test]
    fn provider_sections_in_the_file_load_into_the_provider_configs() {
        let (_dir, path) = file(
            r#"
sms_provider = "aliyun"
voice_provider = "twilio"
email_provider = "smtp"

[aliyun]
access_key_id = "LTAI-file"
access_key_secret = "aliyun-file-secret"
region_id = "cn-shanghai"
sms_endpoint = "https://sms.example.com/"
sms_sign_name = "Herald"
sms_template_verify = "SMS_1"
sms_template_alert = "SMS_2"
tts_code = "TTS_3"
sms_template_verify_zh = "SMS_1_ZH"
called_show_number = "057100000000"

[twilio]
account_sid = "AC-file"
auth_token = "twilio-file-token"
from = "+15005550006"
base_url = "https://twilio.example.com"

[smtp]
url = "smtps://herald:smtp-file-password@mail.example.com:465"
from = "Herald <alerts@example.com>"
ca_file = "company-ca.pem"
"#,
        );
        let s = Settings::load_from(Some(&path), env(&[])).expect("load");
        assert_eq!(s.sms_provider, PhoneProvider::Aliyun);
        assert_eq!(s.aliyun.access_key_id, "LTAI-file");
        assert_eq!(
            s.aliyun.access_key_secret.expose_secret(),
            "aliyun-file-secret"
        );
        assert_eq!(s.aliyun.region_id, "cn-shanghai");
        assert_eq!(s.aliyun.sms_endpoint, "https://sms.example.com/");
        assert_eq!(s.aliyun.voice_endpoint, "https://dyvmsapi.aliyuncs.com/");
        assert_eq!(s.aliyun.sms_sign_name, "Herald");
        assert_eq!(s.aliyun.sms_template_verify, "SMS_1");
        assert_eq!(s.aliyun.sms_template_alert, "SMS_2");
        assert_eq!(s.aliyun.tts_code, "TTS_3");
        assert_eq!(s.aliyun.sms_template_verify_zh, "SMS_1_ZH");
        assert_eq!(s.aliyun.called_show_number, "057100000000");
        assert_eq!(s.twilio.account_sid, "AC-file");
        assert_eq!(s.twilio.auth_token.expose_secret(), "twilio-file-token");
        assert_eq!(s.twilio.from, "+15005550006");
        assert_eq!(s.twilio.base_url, "https://twilio.example.com");
        assert_eq!(
            s.smtp.url.as_ref().map(|u| u.expose_secret()),
            Some("smtps://herald:smtp-file-password@mail.example.com:465")
        );
        assert_eq!(s.smtp.from, "Herald <alerts@example.com>");
        assert_eq!(s.smtp.ca_file.as_deref(), Some("company-ca.pem"));
        // Secrets never show in debug output, which is what logs would print.
        let debug = format!("{s:?}");
        for secret in [
            "aliyun-file-secret",
            "twilio-file-token",
            "smtp-file-password",
        ] {
            assert!(!debug.contains(secret), "{secret} in {debug}");
        }
        assert!(debug.contains("LTAI-file"), "plain settings still show");
    }

    #[test]
    fn the_old_variables_override_their_section_keys() {
        let (_dir, path) = file(
            "[aliyun]\naccess_key_id = \"LTAI-file\"\nregion_id = \"cn-shanghai\"\n\
             [twilio]\nauth_token = \"file-token\"\n\
             [smtp]\nfrom = \"Herald <file@example.com>\"\nurl = \"smtp://file:25\"\n",
        );
        let s = Settings::load_from(
            Some(&path),
            env(&[
                ("HERALD_ALIYUN_ACCESS_KEY_ID", "LTAI-env"),
                ("HERALD_TWILIO_AUTH_TOKEN", "env-token"),
                ("HERALD_EMAIL_FROM", "Herald <env@example.com>"),
                ("HERALD_SMTP_CA_FILE", "env-ca.pem"),
                // Empty counts as unset, as for every other variable.
                ("HERALD_SMTP_URL", ""),
            ]),
        )
        .expect("load");
        assert_eq!(s.aliyun.access_key_id, "LTAI-env");
        assert_eq!(s.aliyun.region_id, "cn-shanghai", "untouched keys stay");
        assert_eq!(s.twilio.auth_token.expose_secret(), "env-token");
        assert_eq!(s.smtp.from, "Herald <env@example.com>");
        assert_eq!(s.smtp.ca_file.as_deref(), Some("env-ca.pem"));
        assert_eq!(
            s.smtp.url.as_ref().map(|u| u.expose_secret()),
            Some("smtp://file:25")
        );
    }

    /// The field each section key fills, to check the table against the structs.
    fn field(s: &Settings, key: &str) -> String {
        let (a, t, m) = (&s.aliyun, &s.twilio, &s.smtp);
        match key {
            "aliyun.access_key_id" => a.access_key_id.clone(),
            "aliyun.access_key_secret" => a.access_key_secret.expose_secret().to_string(),
            "aliyun.region_id" => a.region_id.clone(),
            "aliyun.sms_endpoint" => a.sms_endpoint.clone(),
            "aliyun.voice_endpoint" => a.voice_endpoint.clone(),
            "aliyun.sms_sign_name" => a.sms_sign_name.clone(),
            "aliyun.sms_template_verify" => a.sms_template_verify.clone(),
            "aliyun.sms_template_alert" => a.sms_template_alert.clone(),
            "aliyun.sms_template_code" => a.sms_template_code.clone(),
            "aliyun.tts_code" => a.tts_code.clone(),
            "aliyun.sms_template_verify_zh" => a.sms_template_verify_zh.clone(),
            "aliyun.sms_template_alert_zh" => a.sms_template_alert_zh.clone(),
            "aliyun.sms_template_code_zh" => a.sms_template_code_zh.clone(),
            "aliyun.tts_code_zh" => a.tts_code_zh.clone(),
            "aliyun.called_show_number" => a.called_show_number.clone(),
            "twilio.account_sid" => t.account_sid.clone(),
            "twilio.auth_token" => t.auth_token.expose_secret().to_string(),
            "twilio.from" => t.from.clone(),
            "twilio.messaging_service_sid" => t.messaging_service_sid.clone(),
            "twilio.base_url" => t.base_url.clone(),
            "smtp.url" => m
                .url
                .as_ref()
                .map(|u| u.expose_secret().to_string())
                .unwrap_or_default(),
            "smtp.from" => m.from.clone(),
            "smtp.ca_file" => m.ca_file.clone().unwrap_or_default(),
            other => panic!("{other} is in PROVIDER_VARIABLES but has no field"),
        }
    }

    #[test]
    fn every_old_variable_reaches_its_field() {
        assert_eq!(PROVIDER_VARIABLES.len(), 23, "aliyun 15, twilio 5, smtp 3");
        let values: Vec<(&str, String)> = PROVIDER_VARIABLES
            .iter()
            .map(|(_, var)| (*var, format!("value of {var}")))
            .collect();
        let pairs: Vec<(&str, &str)> = values.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let s = Settings::load_from(None, env(&pairs)).expect("load");
        for (key, var) in PROVIDER_VARIABLES {
            assert_eq!(field(&s, key), format!("value of {var}"), "{var} → {key}");
        }
        // The same values as old flat keys in the file.
        let text: String = PROVIDER_VARIABLES
            .iter()
            .map(|(_, var)| format!("{} = \"file {var}\"\n", flat_key(var)))
            .collect();
        let (_dir, path) = file(&text);
        let s = Settings::load_from(Some(&path), env(&[])).expect("load");
        for (key, var) in PROVIDER_VARIABLES {
            assert_eq!(
                field(&s, key),
                format!("file {var}"),
                "{} → {key}",
                flat_key(var)
            );
        }
    }

    #[test]
    fn old_flat_file_keys_still_work_below_the_environment() {
        let (_dir, path) = file(
            "aliyun_access_key_id = \"LTAI-flat\"\nemail_from = \"Herald <flat@example.com>\"\n",
        );
        let s = Settings::load_from(
            Some(&path),
            env(&[("HERALD_EMAIL_FROM", "Herald <env@example.com>")]),
        )
        .expect("load");
        assert_eq!(s.aliyun.access_key_id, "LTAI-flat");
        assert_eq!(s.smtp.from, "Herald <env@example.com>");
        // Both spellings in one file: which one was meant is unclear, so neither is guessed.
        let (_dir, path) =
            file("email_from = \"a@example.com\"\n[smtp]\nfrom = \"b@example.com\"\n");
        let e = Settings::load_from(Some(&path), env(&[])).expect_err("both");
        let text = e.to_string();
        assert!(
            text.contains("email_from") && text.contains("smtp.from"),
            "{text}"
        );
    }

    #[test]
    fn a_misspelt_section_key_is_refused_with_its_name() {
        // `sign_name` was the struct field's name before; the key is `sms_sign_name`.
        let (_dir, path) = file("[aliyun]\nsign_name = \"Herald\"\n");
        let e = Settings::load_from(Some(&path), env(&[])).expect_err("unknown key");
        assert!(e.to_string().contains("sign_name"), "{e}");
    }

    #[test]
    fn a_chosen_provider_names_what_it_is_missing() {
        let e = Settings::load_from(None, env(&[("HERALD_SMS_PROVIDER", "aliyun")]))
            .expect_err("aliyun without keys");
        let text = e.to_string();
        assert!(
            text.contains("aliyun.access_key_id (HERALD_ALIYUN_ACCESS_KEY_ID)"),
            "{text}"
        );
        assert!(
            text.contains("aliyun.access_key_secret (HERALD_ALIYUN_ACCESS_KEY_SECRET)"),
            "{text}"
        );
        assert!(
            text.contains("aliyun.sms_template_verify (HERALD_ALIYUN_SMS_TEMPLATE_VERIFY)"),
            "{text}"
        );
        // Set in the section, it is no longer missing; an empty secret still is.
        let (_dir, path) = file(
            "sms_provider = \"aliyun\"\n[aliyun]\naccess_key_id = \"LTAI1\"\n\
             access_key_secret = \"\"\nsms_sign_name = \"Herald\"\nsms_template_verify = \"SMS_1\"\n",
        );
        let e = Settings::load_from(Some(&path), env(&[])).expect_err("empty secret");
        assert_eq!(
            e.to_string(),
            "configuration: the chosen providers need: \
             aliyun.access_key_secret (HERALD_ALIYUN_ACCESS_KEY_SECRET)"
        );
        let s = Settings::load_from(
            Some(&path),
            env(&[("HERALD_ALIYUN_ACCESS_KEY_SECRET", "from-env")]),
        )
        .expect("secret from the environment");
        assert_eq!(s.aliyun.access_key_secret.expose_secret(), "from-env");

        let e = Settings::load_from(None, env(&[("HERALD_EMAIL_PROVIDER", "smtp")]))
            .expect_err("smtp without url");
        assert!(e.to_string().contains("smtp.url (HERALD_SMTP_URL)"), "{e}");
        let e = Settings::load_from(
            None,
            env(&[
                ("HERALD_SMS_PROVIDER", "twilio"),
                ("HERALD_VOICE_PROVIDER", "twilio"),
            ]),
        )
        .expect_err("twilio without anything");
        assert_eq!(
            e.to_string(),
            "configuration: the chosen providers need: \
             twilio.account_sid (HERALD_TWILIO_ACCOUNT_SID), \
             twilio.auth_token (HERALD_TWILIO_AUTH_TOKEN), twilio.from (HERALD_TWILIO_FROM)"
        );
        let s = Settings::load_from(
            None,
            env(&[
                ("HERALD_SMS_PROVIDER", "twilio"),
                ("HERALD_TWILIO_ACCOUNT_SID", "AC1"),
                ("HERALD_TWILIO_AUTH_TOKEN", "secret-token"),
                ("HERALD_TWILIO_FROM", "+15005550006"),
            ]),
        )
        .expect("twilio configured");
        assert_eq!(s.sms_provider, PhoneProvider::Twilio);
        // Secrets never show in debug output, which is what logs would print.
        assert!(!format!("{s:?}").contains("secret-token"));
    }
}
