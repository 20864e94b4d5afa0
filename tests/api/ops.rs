use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;

use reqwest::StatusCode;

use crate::both_backends;
use crate::helpers::{Kind, OWNER, PASSWORD, TestApp, TestDb};

/// Every visible input and select of a page has a `<label for=…>`.
fn assert_labelled(html: &str, page: &str) {
    for tag in ["<input", "<select"] {
        for (i, _) in html.match_indices(tag) {
            let end = html[i..].find('>').map(|e| i + e).unwrap_or(html.len());
            let el = &html[i..end];
            if el.contains("type=\"hidden\"") {
                continue;
            }
            let id = el
                .split("id=\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .unwrap_or_else(|| panic!("{page}: no id on {el}"));
            assert!(
                html.contains(&format!("<label for=\"{id}\"")),
                "{page}: no label for #{id}"
            );
        }
    }
}

both_backends! {
    async fn every_input_has_a_label(app: TestApp) {
        let anon = app.client();
        assert_labelled(&anon.get("/setup").await.body, "/setup");
        let owner = app.owner().await;
        owner.create_contact("Ana", "+8613900001111", "").await.assert_redirect("/contacts");
        let id = owner.contact_id("Ana").await;
        let _ = crate::members::invite(&owner, "v@example.com", "viewer").await;
        for page in ["/contacts", "/contacts/new", &format!("/contacts/{id}/edit"), "/contacts/defaults", "/groups", "/groups/new", "/webhooks", "/webhooks/new", "/chatbots", "/chatbots/new", "/policies", "/policies/new", "/policies/simulate", "/dev/outbox", "/members", "/workspaces", "/account/password"] {
            let p = owner.get(page).await;
            assert_eq!(p.status, StatusCode::OK, "{page}");
            assert_labelled(&p.body, page);
        }
        owner.post_form("/logout", &[]).await;
        assert_labelled(&owner.get("/login").await.body, "/login");
    }

    async fn healthz_answers_when_the_database_does(app: TestApp) {
        let c = app.client();
        let r = c.get("/healthz").await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.body, "ok");
    }

    async fn unknown_pages_get_a_404_page_with_a_request_id(app: TestApp) {
        let c = app.client();
        let r = c.get("/no/such/page").await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        r.assert_contains("Page not found").assert_contains("class=\"request-id\"");
        let css = c.http.get(format!("{}/static/herald.css", app.base)).send().await.expect("css");
        assert_eq!(css.status(), StatusCode::OK);
        assert!(css.headers()["content-type"].to_str().unwrap_or_default().starts_with("text/css"));
        assert_eq!(c.get("/static/nope.css").await.status, StatusCode::NOT_FOUND);
    }

    async fn a_restart_keeps_people_signed_in(app: TestApp) {
        let owner = app.owner().await;
        owner.create_contact("Ana", "", "ana@example.com").await.assert_redirect("/contacts");
        // A second process on the same database (a restart, or another instance) accepts the
        // same session cookie: the key lives in the database, not in the process.
        let second = TestApp::spawn_on(app.kind, Arc::clone(&app.test_db)).await;
        let same_browser = crate::helpers::Client { base: second.base.clone(), http: owner.http.clone(), jar: owner.jar.clone() };
        let list = same_browser.get("/contacts").await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.body);
        list.assert_contains("<td class=\"name\">Ana</td>");
    }

    async fn session_cookie_is_http_only_and_lax(app: TestApp) {
        let c = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
        let r = c.get(format!("{}/setup", app.base)).send().await.expect("get");
        let cookie = r.headers().get("set-cookie").expect("session cookie").to_str().expect("ascii").to_string();
        assert!(cookie.starts_with("herald_session="), "{cookie}");
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        assert!(cookie.contains("SameSite=Lax"), "{cookie}");
        // Plain-http public URL: not Secure, or the browser would drop it.
        assert!(!cookie.contains("Secure"), "{cookie}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_is_503_when_the_database_is_gone() {
    let Some(app) = TestApp::spawn(Kind::Postgres).await else {
        return;
    };
    assert_eq!(app.client().get("/healthz").await.status, StatusCode::OK);
    app.test_db.drop_now();
    let r = app.client().get("/healthz").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.body, "database unavailable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_public_url_makes_the_cookie_secure() {
    let db = Arc::new(TestDb::create(Kind::Sqlite).expect("sqlite"));
    let app = TestApp::spawn_with(Kind::Sqlite, db, |s| {
        s.public_url = "https://herald.example.com".into()
    })
    .await;
    let c = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let r = c
        .get(format!("{}/setup", app.base))
        .send()
        .await
        .expect("get");
    let cookie = r
        .headers()
        .get("set-cookie")
        .expect("cookie")
        .to_str()
        .expect("ascii")
        .to_string();
    assert!(cookie.contains("; Secure"), "{cookie}");
}

#[test]
fn migration_trees_stay_in_step() {
    let names = |dir: &str| {
        let mut v: Vec<String> =
            std::fs::read_dir(format!("{}/migrations/{dir}", env!("CARGO_MANIFEST_DIR")))
                .expect("migrations dir")
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
        v.sort();
        v
    };
    let sqlite = names("sqlite");
    assert!(!sqlite.is_empty());
    assert_eq!(
        sqlite,
        names("postgres"),
        "every migration needs a twin with the same name in both trees"
    );
    for m in &sqlite {
        for tree in ["sqlite", "postgres"] {
            for f in ["up.sql", "down.sql"] {
                let p = format!("{}/migrations/{tree}/{m}/{f}", env!("CARGO_MANIFEST_DIR"));
                assert!(std::path::Path::new(&p).is_file(), "missing {p}");
            }
        }
    }
}

/// `herald admin create --password-stdin` makes a working owner from the shell.
fn admin_create_cli(kind: Kind) {
    let Some(db) = TestDb::create(kind) else {
        return;
    };
    let run = |email: &str, password: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_herald"))
            .args([
                "admin",
                "create",
                "--email",
                email,
                "--password-stdin",
                "--workspace",
                "Night shift",
            ])
            .env("HERALD_DATABASE_URL", &db.url)
            .env_remove("HERALD_CONFIG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run herald");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(format!("{password}\n").as_bytes())
            .expect("write");
        child.wait_with_output().expect("wait")
    };
    let short = run(OWNER, "short");
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 10 characters"));
    let ok = run(OWNER, PASSWORD);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("owner of workspace “Night shift”"));
    let dup = run(OWNER, PASSWORD);
    assert!(!dup.status.success());
    assert!(String::from_utf8_lossy(&dup.stderr).contains("already exists"));

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let app = TestApp::spawn_on(kind, Arc::new(db)).await;
        let c = app.client();
        // Setup is closed: the shell made the first owner.
        c.get("/setup").await.assert_redirect("/login");
        c.login(OWNER, PASSWORD).await.assert_redirect("/");
        c.get("/contacts").await.assert_contains("Night shift");
    });
}

#[test]
fn admin_create_cli_sqlite() {
    admin_create_cli(Kind::Sqlite);
}

#[test]
fn admin_create_cli_postgres() {
    admin_create_cli(Kind::Postgres);
}

/// `Db::read` runs on SQLite on the caller's thread with a read-only connection: a write
/// through it is refused, and what `run` wrote is visible to it at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_reads_are_read_only_and_see_committed_writes() {
    use diesel::RunQueryDsl;
    use herald::store::DbError;
    let Some(app) = TestApp::spawn(Kind::Sqlite).await else {
        return;
    };
    let refused = app
        .db
        .read(|c| {
            diesel::sql_query("DELETE FROM app_secrets")
                .execute(c)
                .map_err(DbError::from)
        })
        .await;
    assert!(refused.is_err(), "a write went through Db::read");
    app.db
        .run(|c| {
            diesel::sql_query("INSERT INTO app_secrets (name, value, created_at) VALUES ('probe', 'x', '2026-01-01 00:00:00')")
                .execute(c)
                .map_err(DbError::from)
        })
        .await
        .expect("write");
    let seen: i64 = app
        .db
        .read(|c| {
            use diesel::prelude::*;
            use herald::store::schema::app_secrets;
            app_secrets::table
                .filter(app_secrets::name.eq("probe"))
                .count()
                .get_result(c)
                .map_err(DbError::from)
        })
        .await
        .expect("read");
    assert_eq!(seen, 1);
}
