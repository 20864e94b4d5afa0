use std::net::TcpListener;

use actix_session::SessionMiddleware;
use actix_session::config::{CookieContentSecurity, PersistentSession};
use actix_session::storage::CookieSessionStore;
use actix_web::cookie::{Key, SameSite, time};
use actix_web::dev::Server;
use actix_web::{App, HttpServer, middleware};
use anyhow::Context;
use rand::RngCore;
use secrecy::ExposeSecret;
use tracing_actix_web::TracingLogger;

use crate::telemetry::RedactingRootSpan;

use crate::background::Background;
use crate::channels::Providers;
use crate::config::Settings;
use crate::engine::Engine;
use crate::store::{Db, secrets, verification};
use crate::verification::Verifications;
use crate::web;

pub struct Application {
    port: u16,
    db: Db,
    server: Server,
}

/// The session-cookie key: from config when given, else made once and kept in the database so
/// restarts and every instance sharing the database accept the same cookies.
fn session_key(settings: &Settings, db: &Db) -> anyhow::Result<Key> {
    let hex_key = match &settings.session_key {
        Some(k) => k.expose_secret().trim().to_string(),
        None => {
            let mut conn = db.get()?;
            secrets::get_or_create(&mut conn, "session_key", || {
                let mut bytes = [0u8; 64];
                rand::rng().fill_bytes(&mut bytes);
                hex::encode(bytes)
            })?
        }
    };
    let bytes = hex::decode(&hex_key).context("session_key must be hexadecimal")?;
    anyhow::ensure!(
        bytes.len() >= 64,
        "session_key must be at least 64 bytes (128 hex digits)"
    );
    Ok(Key::from(&bytes))
}

impl Application {
    pub fn build(settings: Settings) -> anyhow::Result<Application> {
        let db = Db::connect(&settings.database_url, settings.database_pool_size)?;
        let listener = TcpListener::bind(&settings.bind)
            .with_context(|| format!("cannot listen on {}", settings.bind))?;
        Self::build_with(settings, db, listener)
    }

    pub fn build_with(
        settings: Settings,
        db: Db,
        listener: TcpListener,
    ) -> anyhow::Result<Application> {
        let port = listener.local_addr()?.port();
        let key = session_key(&settings, &db)?;
        let secure = settings.public_url_is_https();
        let ttl = time::Duration::hours(settings.session_hours);
        let data = actix_web::web::Data::new(db.clone());
        // Runs left "running" by a process that is gone will never finish: say so.
        let interrupted = verification::mark_stale_interrupted(&mut *db.get()?)?;
        if interrupted > 0 {
            tracing::warn!(
                interrupted,
                "Batch Verify runs of an earlier process marked interrupted"
            );
        }
        let providers = Providers::new(settings.provider_setup(), &db)?;
        tracing::info!(
            sms = providers.sms.name(),
            voice = providers.voice.name(),
            email = providers.email.name(),
            "delivery providers"
        );
        let background = Background::start()?;
        let metrics = crate::metrics::Metrics::default();
        let engine = Engine::new(
            db.clone(),
            providers.clone(),
            metrics.clone(),
            settings.engine_settings(),
        );
        engine.start(&background);
        let engine = actix_web::web::Data::new(engine);
        let verifications = actix_web::web::Data::new(Verifications::new(
            db.clone(),
            providers,
            settings.base_url(),
            background,
            crate::verification::SendLimits {
                concurrency: settings.send_concurrency,
                daily_per_workspace: settings.verification_daily_limit,
            },
        ));
        let limiter = actix_web::web::Data::new(web::public_limit::PublicLimiter::default());
        let bind_limiter = actix_web::web::Data::new(web::bind::BindLimiter::default());
        let proxies = actix_web::web::Data::new(
            crate::domain::trusted_proxies::TrustedProxies::parse(&settings.trusted_proxies)
                .map_err(anyhow::Error::msg)?,
        );
        let metrics = actix_web::web::Data::new(metrics);
        let metrics_token =
            actix_web::web::Data::new(web::metrics::MetricsToken(settings.metrics_token.clone()));
        let ingest = actix_web::web::Data::new(web::api::IngestSettings {
            resolve_timeout: chrono::Duration::seconds(settings.resolve_timeout_secs),
            max_body_bytes: settings.ingest_max_body_bytes,
        });
        let lifetime = actix_web::web::Data::new(web::auth::SessionLifetime(
            chrono::Duration::hours(settings.session_hours),
        ));
        let target_policy = actix_web::web::Data::new(crate::outbound::TargetPolicy {
            allow_private: settings.allow_private_targets,
        });
        let mut server = HttpServer::new(move || {
            let sessions = SessionMiddleware::builder(CookieSessionStore::default(), key.clone())
                .cookie_name("herald_session".into())
                .cookie_http_only(true)
                .cookie_secure(secure)
                .cookie_same_site(SameSite::Lax)
                .cookie_content_security(CookieContentSecurity::Private)
                .session_lifecycle(PersistentSession::default().session_ttl(ttl))
                .build();
            App::new()
                .app_data(data.clone())
                .app_data(verifications.clone())
                .app_data(limiter.clone())
                .app_data(bind_limiter.clone())
                .app_data(target_policy.clone())
                .app_data(proxies.clone())
                .app_data(lifetime.clone())
                .app_data(ingest.clone())
                .app_data(engine.clone())
                .app_data(metrics.clone())
                .app_data(metrics_token.clone())
                // Console forms are small; CsrfForm reads the body as bytes under this limit.
                .app_data(actix_web::web::PayloadConfig::new(64 * 1024))
                .wrap(web::errors::handlers())
                .wrap(sessions)
                .wrap(
                    middleware::DefaultHeaders::new()
                        .add(("X-Content-Type-Options", "nosniff"))
                        .add(("X-Frame-Options", "DENY"))
                        .add(("Referrer-Policy", "same-origin"))
                        // Console pages show contacts, and webhook URLs carry tokens: no browser
                        // or proxy cache keeps them. Static files set their own.
                        .add(("Cache-Control", "no-store"))
                        .add(("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'")),
                )
                .wrap(middleware::from_fn(web::metrics::count_requests))
                .wrap(middleware::Compress::default())
                .wrap(TracingLogger::<RedactingRootSpan>::new())
                .route("/static/{file}", actix_web::web::get().to(web::assets::serve))
                .configure(web::routes)
                .default_service(actix_web::web::to(web::errors::not_found))
        })
        .listen(listener)?;
        if settings.workers > 0 {
            server = server.workers(settings.workers);
        }
        let server = server.shutdown_timeout(10).run();
        Ok(Application { port, db, server })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
