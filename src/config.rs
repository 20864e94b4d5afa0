//! Settings from an optional TOML file and `HERALD_*` environment variables (which win).

use secrecy::SecretString;
use serde::Deserialize;

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

    pub aliyun_access_key_id: String,
    pub aliyun_access_key_secret: Option<SecretString>,
    pub aliyun_region_id: String,
    pub aliyun_sms_endpoint: String,
    pub aliyun_voice_endpoint: String,
    /// The approved SMS signature name.
    pub aliyun_sms_sign_name: String,
    /// Approved template for verification links; it must contain the variable `${url}`.
    pub aliyun_sms_template_verify: String,
    /// Approved template for alerts; it must contain the variable `${text}`.
    pub aliyun_sms_template_alert: String,
    /// Approved text-to-speech template for calls; it must contain the variable `${text}`.
    pub aliyun_tts_code: String,
    /// Chinese versions of the three templates above, used for contacts whose language is
    /// Chinese; empty: the templates above are used for everyone.
    pub aliyun_sms_template_verify_zh: String,
    pub aliyun_sms_template_alert_zh: String,
    pub aliyun_tts_code_zh: String,
    /// Caller number for voice calls; empty uses Alibaba's shared number pool.
    pub aliyun_called_show_number: String,

    pub twilio_account_sid: String,
    pub twilio_auth_token: Option<SecretString>,
    /// The Twilio number (E.164) SMS and calls come from.
    pub twilio_from: String,
    pub twilio_messaging_service_sid: String,
    pub twilio_base_url: String,

    /// `smtp://host:25` (plain, local relay), `smtp://user:pass@host:587?tls=required`
    /// (STARTTLS) or `smtps://user:pass@host:465` (implicit TLS).
    pub smtp_url: Option<SecretString>,
    /// The From of every email, e.g. `Herald <alerts@example.com>`.
    pub email_from: String,
    /// A PEM file of CA certificates to trust for the SMTP server's TLS besides the public
    /// roots (a relay with a company CA).
    pub smtp_ca_file: Option<String>,

    /// Let chatbot, webhook and provider URLs reach loopback, private (10/8, 172.16/12,
    /// 192.168/16, fc00::/7) and carrier-grade NAT addresses (`HERALD_ALLOW_PRIVATE_TARGETS`).
    /// Off by default so a URL typed in the console cannot reach internal services; link-local
    /// and cloud-metadata addresses are refused either way.
    pub allow_private_targets: bool,
    /// Reverse proxies in front of Herald, comma separated (`127.0.0.1, 10.0.0.2`): from them,
    /// `X-Forwarded-For` gives the client address that sign-in and link limits count by.
    pub trusted_proxies: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PhoneProvider {
    Console,
    Aliyun,
    Twilio,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EmailProvider {
    Console,
    Smtp,
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
            aliyun_access_key_id: String::new(),
            aliyun_access_key_secret: None,
            aliyun_region_id: "cn-hangzhou".into(),
            aliyun_sms_endpoint: "https://dysmsapi.aliyuncs.com/".into(),
            aliyun_voice_endpoint: "https://dyvmsapi.aliyuncs.com/".into(),
            aliyun_sms_sign_name: String::new(),
            aliyun_sms_template_verify: String::new(),
            aliyun_sms_template_alert: String::new(),
            aliyun_tts_code: String::new(),
            aliyun_sms_template_verify_zh: String::new(),
            aliyun_sms_template_alert_zh: String::new(),
            aliyun_tts_code_zh: String::new(),
            aliyun_called_show_number: String::new(),
            twilio_account_sid: String::new(),
            twilio_auth_token: None,
            twilio_from: String::new(),
            twilio_messaging_service_sid: String::new(),
            twilio_base_url: "https://api.twilio.com".into(),
            smtp_url: None,
            email_from: "Herald <herald@localhost>".into(),
            smtp_ca_file: None,
            allow_private_targets: false,
            trusted_proxies: String::new(),
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
    pub fn load_from(
        path: Option<&str>,
        env: Option<config::Map<String, String>>,
    ) -> Result<Settings, ConfigError> {
        let env_path = match &env {
            Some(map) => map.get("HERALD_CONFIG").cloned(),
            None => std::env::var("HERALD_CONFIG").ok(),
        };
        let file = path.map(str::to_owned).or(env_path);
        let mut builder = config::Config::builder();
        builder = match &file {
            Some(p) => builder.add_source(
                config::File::with_name(p)
                    .format(config::FileFormat::Toml)
                    .required(true),
            ),
            None => builder.add_source(
                config::File::with_name("herald.toml")
                    .format(config::FileFormat::Toml)
                    .required(false),
            ),
        };
        builder = builder.add_source(
            config::Environment::with_prefix("HERALD")
                .prefix_separator("_")
                .ignore_empty(true)
                .source(env),
        );
        let mut settings: Settings = builder.build()?.try_deserialize()?;
        if settings.public_url.trim().is_empty() {
            settings.public_url = format!("http://{}", settings.bind);
        }
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigError> {
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
        crate::domain::trusted_proxies::TrustedProxies::parse(&self.trusted_proxies)
            .map_err(ConfigError::Invalid)?;
        self.validate_providers()
    }

    /// A chosen provider must have what it needs; the message names the missing setting.
    fn validate_providers(&self) -> Result<(), ConfigError> {
        let uses = |p| self.sms_provider == p || self.voice_provider == p;
        let mut missing: Vec<&str> = Vec::new();
        if uses(PhoneProvider::Aliyun) {
            if self.aliyun_access_key_id.is_empty() {
                missing.push("aliyun_access_key_id");
            }
            if self.aliyun_access_key_secret.is_none() {
                missing.push("aliyun_access_key_secret");
            }
        }
        if self.sms_provider == PhoneProvider::Aliyun {
            if self.aliyun_sms_sign_name.is_empty() {
                missing.push("aliyun_sms_sign_name");
            }
            if self.aliyun_sms_template_verify.is_empty() {
                missing.push("aliyun_sms_template_verify");
            }
        }
        if self.voice_provider == PhoneProvider::Aliyun && self.aliyun_tts_code.is_empty() {
            missing.push("aliyun_tts_code");
        }
        if uses(PhoneProvider::Twilio) {
            if self.twilio_account_sid.is_empty() {
                missing.push("twilio_account_sid");
            }
            if self.twilio_auth_token.is_none() {
                missing.push("twilio_auth_token");
            }
        }
        if self.sms_provider == PhoneProvider::Twilio
            && self.twilio_from.is_empty()
            && self.twilio_messaging_service_sid.is_empty()
        {
            missing.push("twilio_from");
        }
        if self.voice_provider == PhoneProvider::Twilio && self.twilio_from.is_empty() {
            missing.push("twilio_from");
        }
        if self.email_provider == EmailProvider::Smtp && self.smtp_url.is_none() {
            missing.push("smtp_url");
        }
        missing.dedup();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(format!(
                "the chosen providers need: {} (HERALD_{})",
                missing.join(", "),
                missing
                    .iter()
                    .map(|m| m.to_uppercase())
                    .collect::<Vec<_>>()
                    .join(", HERALD_")
            )))
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

    #[test]
    fn a_chosen_provider_names_what_it_is_missing() {
        let e = Settings::load_from(None, env(&[("HERALD_SMS_PROVIDER", "aliyun")]))
            .expect_err("aliyun without keys");
        let text = e.to_string();
        assert!(text.contains("aliyun_access_key_secret"), "{text}");
        assert!(text.contains("aliyun_sms_template_verify"), "{text}");
        let e = Settings::load_from(None, env(&[("HERALD_EMAIL_PROVIDER", "smtp")]))
            .expect_err("smtp without url");
        assert!(e.to_string().contains("smtp_url"), "{e}");
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
