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
        let env_path = std::env::var("HERALD_CONFIG").ok();
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
                .try_parsing(true)
                .ignore_empty(true),
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
        Ok(())
    }

    pub fn public_url_is_https(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// The public URL without a trailing slash, for building links.
    pub fn base_url(&self) -> &str {
        self.public_url.trim_end_matches('/')
    }
}
