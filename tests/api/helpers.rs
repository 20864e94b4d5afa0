//! `TestApp`: the real Herald on a random loopback port, on a fresh SQLite file or a fresh
//! PostgreSQL database, driven over HTTP by cookie-keeping clients.

use std::net::TcpListener;
use std::sync::Arc;

use herald::config::Settings;
use herald::startup::Application;
use herald::store::Db;
use reqwest::StatusCode;
use reqwest::redirect::Policy;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The server new test databases are made on.
pub fn postgres_admin_url() -> String {
    std::env::var("HERALD_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A database for one test, removed when dropped.
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg_name: Option<String>,
}

impl TestDb {
    /// None (skip) when PostgreSQL is wanted but absent outside CI; under CI that is a failure.
    pub fn create(kind: Kind) -> Option<TestDb> {
        match kind {
            Kind::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("herald.db").display());
                Some(TestDb {
                    url,
                    _dir: Some(dir),
                    pg_name: None,
                })
            }
            Kind::Postgres => {
                use diesel::{Connection, PgConnection, RunQueryDsl};
                let admin = postgres_admin_url();
                let mut conn = match PgConnection::establish(&admin) {
                    Ok(c) => c,
                    Err(e) if !in_ci() => {
                        eprintln!("skipped: PostgreSQL not reachable at {admin}: {e}");
                        return None;
                    }
                    Err(e) => panic!("CI=true and PostgreSQL is not reachable at {admin}: {e}"),
                };
                let name = format!("herald_test_{}", uuid::Uuid::new_v4().simple());
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .expect("create test database");
                let mut url = url::Url::parse(&admin).expect("postgres url");
                url.set_path(&name);
                Some(TestDb {
                    url: url.to_string(),
                    _dir: None,
                    pg_name: Some(name),
                })
            }
        }
    }
}

impl TestDb {
    /// Drops a PostgreSQL test database now, under a running app (to test outages).
    pub fn drop_now(&self) {
        if let Some(name) = &self.pg_name {
            use diesel::{Connection, PgConnection, RunQueryDsl};
            let mut conn =
                PgConnection::establish(&postgres_admin_url()).expect("admin connection");
            diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut conn)
                .expect("drop");
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = self.pg_name.take() {
            use diesel::{Connection, PgConnection, RunQueryDsl};
            if let Ok(mut conn) = PgConnection::establish(&postgres_admin_url()) {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn);
            }
        }
    }
}

pub struct TestApp {
    pub base: String,
    pub db: Db,
    pub kind: Kind,
    pub test_db: Arc<TestDb>,
}

impl TestApp {
    pub async fn spawn(kind: Kind) -> Option<TestApp> {
        let test_db = Arc::new(TestDb::create(kind)?);
        Some(Self::spawn_on(kind, test_db).await)
    }

    /// Another Herald process on the same database (a restart, or a second instance).
    pub async fn spawn_on(kind: Kind, test_db: Arc<TestDb>) -> TestApp {
        Self::spawn_with(kind, test_db, |_| {}).await
    }

    /// With settings changed by `adjust` before start.
    pub async fn spawn_with(
        kind: Kind,
        test_db: Arc<TestDb>,
        adjust: impl FnOnce(&mut Settings),
    ) -> TestApp {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let base = format!("http://127.0.0.1:{port}");
        let mut settings = Settings {
            database_url: test_db.url.clone(),
            database_pool_size: 4,
            bind: format!("127.0.0.1:{port}"),
            public_url: base.clone(),
            workers: 2,
            ..Settings::default()
        };
        adjust(&mut settings);
        let db =
            Db::connect(&settings.database_url, settings.database_pool_size).expect("database");
        let app = Application::build_with(settings, db.clone(), listener).expect("build app");
        tokio::spawn(app.run_until_stopped());
        TestApp {
            base,
            db,
            kind,
            test_db,
        }
    }

    pub fn client(&self) -> Client {
        Client::new(&self.base)
    }

    /// Runs setup and returns the owner's signed-in client.
    pub async fn owner(&self) -> Client {
        let c = self.client();
        let r = c
            .post_form(
                "/setup",
                &[
                    ("workspace", "Ops"),
                    ("email", OWNER),
                    ("password", PASSWORD),
                    ("confirm", PASSWORD),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        c
    }
}

pub const OWNER: &str = "owner@example.com";
pub const PASSWORD: &str = "correct horse battery";

pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub body: String,
}

impl Page {
    pub fn assert_contains(&self, needle: &str) -> &Self {
        assert!(
            self.body.contains(needle),
            "expected {needle:?} in a {} page:\n{}",
            self.status,
            self.body
        );
        self
    }

    pub fn assert_lacks(&self, needle: &str) -> &Self {
        assert!(
            !self.body.contains(needle),
            "did not expect {needle:?} in:\n{}",
            self.body
        );
        self
    }

    pub fn assert_redirect(&self, to: &str) -> &Self {
        assert_eq!(self.status, StatusCode::SEE_OTHER, "{}", self.body);
        assert_eq!(self.location.as_deref(), Some(to));
        self
    }
}

/// One browser: its own cookie jar, redirects not followed so tests see each 303.
#[derive(Clone)]
pub struct Client {
    pub base: String,
    pub http: reqwest::Client,
    pub jar: Arc<reqwest::cookie::Jar>,
}

/// As askama escapes text, to find a value in a page.
pub fn html_escape(s: &str) -> String {
    s.replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

pub fn csrf_in(html: &str) -> Option<String> {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_string())
}

impl Client {
    pub fn new(base: &str) -> Client {
        Self::with_headers(base, reqwest::header::HeaderMap::new())
    }

    /// A browser whose first language is `accept_language` (an `Accept-Language` value).
    pub fn speaking(base: &str, accept_language: &'static str) -> Client {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::ACCEPT_LANGUAGE,
            reqwest::header::HeaderValue::from_static(accept_language),
        );
        Self::with_headers(base, headers)
    }

    fn with_headers(base: &str, headers: reqwest::header::HeaderMap) -> Client {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let http = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(Policy::none())
            .default_headers(headers)
            .build()
            .expect("client");
        Client {
            base: base.to_string(),
            http,
            jar,
        }
    }

    /// The `Cookie` header this browser sends now: a copy of its session, as an attacker who
    /// saved it would have.
    pub fn cookies(&self) -> String {
        use reqwest::cookie::CookieStore;
        let url = url::Url::parse(&self.base).expect("base url");
        self.jar
            .cookies(&url)
            .and_then(|v| v.to_str().ok().map(str::to_string))
            .unwrap_or_default()
    }

    /// A GET from another browser that sends exactly `cookies`.
    pub async fn get_with_cookies(base: &str, path: &str, cookies: &str) -> Page {
        let http = reqwest::Client::builder()
            .redirect(Policy::none())
            .build()
            .expect("client");
        Self::page(
            http.get(format!("{base}{path}"))
                .header("cookie", cookies)
                .send()
                .await
                .expect("GET"),
        )
        .await
    }

    async fn page(resp: reqwest::Response) -> Page {
        let status = resp.status();
        let location = resp
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = resp.text().await.expect("body");
        Page {
            status,
            location,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Page {
        Self::page(
            self.http
                .get(format!("{}{path}", self.base))
                .send()
                .await
                .expect("GET"),
        )
        .await
    }

    /// The session's CSRF token, read from a page that shows forms to anyone.
    pub async fn csrf(&self) -> String {
        for path in ["/account/password", "/login", "/setup"] {
            let p = self.get(path).await;
            if p.status == StatusCode::OK
                && let Some(t) = csrf_in(&p.body)
            {
                return t;
            }
        }
        panic!("no page offered a CSRF token")
    }

    /// POSTs a form with the session's CSRF token added.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let token = self.csrf().await;
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("csrf_token", &token));
        self.post_raw(path, &all).await
    }

    /// POSTs exactly these fields (no token added).
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let body = serde_html_form::to_string(fields).expect("form");
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("POST");
        Self::page(resp).await
    }

    pub async fn login(&self, email: &str, password: &str) -> Page {
        self.post_form("/login", &[("email", email), ("password", password)])
            .await
    }

    pub async fn create_contact(&self, name: &str, phone: &str, email: &str) -> Page {
        self.post_form(
            "/contacts",
            &[
                ("name", name),
                ("phone", phone),
                ("email", email),
                ("im_user_id", ""),
                ("language", "auto"),
                ("fallback", "default"),
            ],
        )
        .await
    }

    /// The id of the contact named `name` in the list, from its Edit link.
    pub async fn contact_id(&self, name: &str) -> String {
        let q: String = url::form_urlencoded::byte_serialize(name.as_bytes()).collect();
        let page = self.get(&format!("/contacts?q={q}")).await;
        let row_start = page
            .body
            .find(&format!("<td class=\"name\">{}</td>", html_escape(name)))
            .unwrap_or_else(|| panic!("{name} not listed:\n{}", page.body));
        let rest = &page.body[row_start..];
        let start = rest.find("/contacts/").expect("edit link") + "/contacts/".len();
        rest[start..start + 36].to_string()
    }
}

/// Runs each named `async fn name(kind: Kind)` as a test on each backend.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() { super::$name($crate::helpers::Kind::Sqlite).await }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() { super::$name($crate::helpers::Kind::Postgres).await }
            )+
        }
    };
}

/// Declares each test once per backend: `mod sqlite` and `mod postgres`.
#[macro_export]
macro_rules! both_backends {
    ($(async fn $name:ident($app:ident: TestApp) $body:block)+) => {
        $(
            async fn $name($app: $crate::helpers::TestApp) $body
        )+
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(app) = $crate::helpers::TestApp::spawn($crate::helpers::Kind::Sqlite).await {
                        super::$name(app).await;
                    }
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(app) = $crate::helpers::TestApp::spawn($crate::helpers::Kind::Postgres).await {
                        super::$name(app).await;
                    }
                }
            )+
        }
    };
}
