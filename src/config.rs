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
}
