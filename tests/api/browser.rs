//! End to end in headless Chromium (Debian's chromium + chromium-driver), as a person would
//! use the console: set up, sign in, create a contact, see it listed, get a bad phone refused.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};

use crate::helpers::{Kind, TestApp, in_ci};

struct Driver {
    child: Child,
    port: u16,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find(cmds: &[&str]) -> Option<String> {
    cmds.iter().map(|c| c.to_string()).find(|c| {
        Command::new(c)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// Starts chromedriver; None (skip) when it or Chromium is missing outside CI.
async fn start() -> Option<(Driver, Client)> {
    let driver =
        std::env::var("HERALD_TEST_CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
    let chrome =
        std::env::var("HERALD_TEST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let found = find(&[&driver]).zip(find(&[
        &chrome,
        "chromium",
        "chromium-browser",
        "google-chrome",
    ]));
    let Some((driver, chrome)) = found else {
        assert!(
            !in_ci(),
            "CI=true and chromedriver/chromium are not installed"
        );
        eprintln!("skipped: chromedriver or chromium not installed");
        return None;
    };
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let child = Command::new(&driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let profile = tempfile::tempdir().expect("profile dir");
    let d = Driver {
        child,
        port,
        _profile: profile,
    };
    let caps: serde_json::Map<String, serde_json::Value> =
        serde_json::from_value(serde_json::json!({
            "goog:chromeOptions": {
                "binary": chrome,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--window-size=1280,900",
                    format!("--user-data-dir={}", d._profile.path().display()),
                ]
            }
        }))
        .expect("caps");
    let url = format!("http://127.0.0.1:{}", d.port);
    for _ in 0..100 {
        let mut builder = ClientBuilder::rustls().expect("tls");
        builder.capabilities(caps.clone());
        if let Ok(client) = builder.connect(&url).await {
            return Some((d, client));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not start on port {}", d.port);
}

async fn fill(b: &Client, id: &str, value: &str) {
    let el = b
        .find(Locator::Id(id))
        .await
        .unwrap_or_else(|e| panic!("#{id}: {e}"));
    el.clear().await.expect("clear");
    el.send_keys(value).await.expect("type");
}

async fn submit(b: &Client) {
    b.find(Locator::Css("main form button[type=submit]"))
        .await
        .expect("submit button")
        .click()
        .await
        .expect("click");
}

/// Waits for the navigation a click started, then checks where it landed.
async fn assert_path(b: &Client, want: &str) {
    let mut path = String::new();
    for _ in 0..50 {
        path = b.current_url().await.expect("url").path().to_string();
        if path == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let body = b.source().await.unwrap_or_default();
    panic!("expected to be on {want}, still on {path}:\n{body}");
}

/// Waits until the element `css` says `needle` (the page changes under us after a click),
/// and returns its text.
async fn wait_text(b: &Client, css: &str, needle: &str) -> String {
    let mut last = String::new();
    for _ in 0..50 {
        if let Ok(el) = b.find(Locator::Css(css)).await
            && let Ok(t) = el.text().await
        {
            if t.contains(needle) {
                return t;
            }
            last = t;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{css} never said {needle:?}; last text: {last:?}");
}

async fn screenshot(b: &Client, name: &str) {
    if let Ok(png) = b.screenshot().await {
        let dir = std::env::temp_dir().join("herald-screenshots");
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::write(dir.join(format!("{name}.png")), png);
    }
}

/// The first-run setup form, from the page the console sent us to.
async fn set_up(b: &Client) {
    assert_path(b, "/setup").await;
    fill(b, "workspace", "Ops").await;
    fill(b, "email", "owner@example.com").await;
    fill(b, "password", "correct horse battery").await;
    fill(b, "confirm", "correct horse battery").await;
    submit(b).await;
    assert_path(b, "/contacts").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_up_sign_in_and_manage_contacts_in_chromium() {
    let Some(app) = TestApp::spawn(Kind::Sqlite).await else {
        return;
    };
    let Some((_driver, b)) = start().await else {
        return;
    };
    let base = &app.base;

    // First run: the console sends us to setup.
    b.goto(&format!("{base}/")).await.expect("open");
    set_up(&b).await;
    wait_text(&b, ".flash", "Herald is set up").await;

    // Sign out and back in through the form.
    b.find(Locator::Css("header form button"))
        .await
        .expect("sign out")
        .click()
        .await
        .expect("click");
    assert_path(&b, "/login").await;
    fill(&b, "email", "owner@example.com").await;
    fill(&b, "password", "wrong password!").await;
    submit(&b).await;
    wait_text(&b, ".flash-error", "Wrong email or password.").await;
    fill(&b, "password", "correct horse battery").await;
    submit(&b).await;
    // Home is Today: the day's totals and the hourly chart the server drew.
    assert_path(&b, "/").await;
    wait_text(&b, "#totals", "received today").await;
    let bars = b
        .find_all(Locator::Css("svg#hourly-chart rect.bar"))
        .await
        .expect("chart bars");
    assert_eq!(bars.len(), 24);
    screenshot(&b, "today").await;
    b.find(Locator::Css("nav a[href='/contacts']"))
        .await
        .expect("contacts link")
        .click()
        .await
        .expect("click");
    assert_path(&b, "/contacts").await;

    // A bad phone is refused beside the field, with what was typed kept.
    b.find(Locator::LinkText("Create Contact"))
        .await
        .expect("create link")
        .click()
        .await
        .expect("click");
    fill(&b, "name", "Ana Li").await;
    fill(&b, "phone", "12ab").await;
    fill(&b, "email", "ana@example.com").await;
    submit(&b).await;
    wait_text(&b, "#phone-error", "country code").await;
    let kept = b
        .find(Locator::Id("name"))
        .await
        .expect("name")
        .prop("value")
        .await
        .expect("value");
    assert_eq!(kept.as_deref(), Some("Ana Li"));
    screenshot(&b, "contact-form-error").await;

    // Fixed, it is created and listed.
    fill(&b, "phone", "86 139 0000 1111").await;
    submit(&b).await;
    assert_path(&b, "/contacts").await;
    let row = wait_text(&b, "table.contacts tbody tr", "Ana Li").await;
    assert!(
        row.contains("+8613900001111") && row.contains("Waiting for activation"),
        "{row}"
    );
    screenshot(&b, "contacts-list").await;

    // Search narrows the list.
    fill(&b, "q", "nobody").await;
    b.find(Locator::Css("form.search button"))
        .await
        .expect("search")
        .click()
        .await
        .expect("click");
    wait_text(&b, ".summary", "No contact matches").await;

    b.close().await.expect("close browser");
}

async fn click(b: &Client, css: &str) {
    b.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .expect("click");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_verify_then_verify_from_the_dev_outbox_in_chromium() {
    let Some(app) = TestApp::spawn(Kind::Sqlite).await else {
        return;
    };
    let Some((_driver, b)) = start().await else {
        return;
    };
    let base = &app.base;
    b.goto(&format!("{base}/")).await.expect("open");
    set_up(&b).await;

    // Contacts imported without links (as from a bulk import).
    let ws = crate::verification::workspace(&app);
    for i in 0..300 {
        crate::verification::insert_contact(
            &app,
            &ws,
            &format!("Person {i:03}"),
            &format!("+86139{:08}", 10_000 + i),
        );
    }
    b.goto(&format!("{base}/contacts")).await.expect("open");
    let row = wait_text(&b, "table.contacts tbody tr", "Person 000").await;
    assert!(row.contains("Not verified"), "{row}");

    // Tick the page's rows and send them a link each.
    click(&b, "#select-all").await;
    click(&b, "#batch-verify").await;
    wait_text(&b, "#batch-state", "Finished").await;
    let sent = wait_text(&b, "#batch-sent", "20").await;
    assert_eq!(sent, "20");
    screenshot(&b, "batch-small").await;

    // Then every unverified number: a bigger run the page follows while it sends.
    b.goto(&format!("{base}/contacts")).await.expect("open");
    b.find(Locator::XPath("//button[@value='matching']"))
        .await
        .expect("verify all")
        .click()
        .await
        .expect("click");
    let mut path = String::new();
    for _ in 0..50 {
        path = b.current_url().await.expect("url").path().to_string();
        if path.starts_with("/contacts/batches/") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(path.starts_with("/contacts/batches/"), "{path}");
    wait_text(&b, "#batch-state", "Finished").await;
    let bar = b.find(Locator::Id("batch-bar")).await.expect("bar");
    assert_eq!(
        bar.attr("value").await.expect("value").as_deref(),
        Some("300")
    );
    assert_eq!(bar.attr("max").await.expect("max").as_deref(), Some("300"));
    // The 20 just sent are refused as too soon, with the reason shown.
    wait_text(&b, "#batch-summary", "280 sent; 20 could not be sent").await;
    wait_text(&b, "table.failures", "rate limited").await;
    screenshot(&b, "batch-finished").await;

    // Open the newest link from the Dev outbox and press Verify.
    b.goto(&format!("{base}/dev/outbox")).await.expect("open");
    wait_text(&b, ".devnote", "nothing on this page was sent").await;
    let recipient = b
        .find(Locator::Css("table.outbox tbody tr td.recipient"))
        .await
        .expect("recipient")
        .text()
        .await
        .expect("text");
    click(&b, "a.outbox-link").await;
    wait_text(&b, "main h1", "Verify your phone number").await;
    click(&b, "main form button").await;
    wait_text(&b, "main h1", "is verified").await;
    screenshot(&b, "link-verified").await;

    // The list shows it.
    b.goto(&format!("{base}/contacts?q={}", &recipient[1..]))
        .await
        .expect("open");
    let row = wait_text(&b, "table.contacts tbody tr", &recipient).await;
    assert!(
        row.contains("Verified") && !row.contains("Waiting"),
        "{row}"
    );
    b.close().await.expect("close browser");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_webhook_with_send_test_and_a_policy_using_both_in_chromium() {
    let hook = crate::fakes::webhook_server();
    let Some(db) = crate::helpers::TestDb::create(Kind::Sqlite) else {
        return;
    };
    let app = TestApp::spawn_with(Kind::Sqlite, std::sync::Arc::new(db), |s| {
        s.allow_private_targets = true
    })
    .await;
    let Some((_driver, b)) = start().await else {
        return;
    };
    let base = &app.base;
    b.goto(&format!("{base}/")).await.expect("open");
    set_up(&b).await;
    let ws = crate::verification::workspace(&app);
    crate::verification::insert_contact(&app, &ws, "Ana Li", "+8613900001111");

    // A group with Ana in it.
    b.goto(&format!("{base}/groups/new")).await.expect("open");
    fill(&b, "name", "DBAs").await;
    click(&b, "input[name=members]").await;
    submit(&b).await;
    assert_path(&b, "/groups").await;
    wait_text(&b, ".flash", "Group “DBAs” created.").await;
    click(&b, "table.groups details summary").await;
    wait_text(&b, "table.groups ul.members", "Ana Li").await;

    // A webhook: preview its template, save it, Send test.
    b.goto(&format!("{base}/webhooks/new")).await.expect("open");
    fill(&b, "name", "Ops hook").await;
    // A URL longer than the limit is typed in full (no maxlength cutting it), counted as it is
    // typed, and refused beside the field, not saved cut short.
    let long = format!("{}/alerts?token={}", hook.url, "t".repeat(120));
    let n = long.chars().count();
    fill(&b, "url", &long).await;
    wait_text(&b, "#url-count", &format!("{n} / 100")).await;
    submit(&b).await;
    wait_text(
        &b,
        "#url-error",
        &format!("at most 100 characters (this one has {n})"),
    )
    .await;
    let kept = b
        .find(Locator::Id("url"))
        .await
        .expect("url")
        .prop("value")
        .await
        .expect("value");
    assert_eq!(
        kept.as_deref(),
        Some(long.as_str()),
        "the whole URL is shown again"
    );
    fill(&b, "url", &format!("{}/alerts", hook.url)).await;
    fill(
        &b,
        "template",
        "Alert {{ .commonLabels.alertname }}: $content",
    )
    .await;
    click(&b, "#preview").await;
    wait_text(&b, ".preview pre", "Alert ").await;
    submit(&b).await;
    assert_path(&b, "/webhooks").await;
    wait_text(&b, ".flash", "Webhook “Ops hook” created.").await;
    click(&b, "table.webhooks form button").await;
    wait_text(&b, "#test-result", "answered HTTP 200").await;
    wait_text(&b, "#test-body", "received by the test hook").await;
    screenshot(&b, "webhook-send-test").await;
    assert_eq!(hook.accepted().len(), 1);

    // A policy using both.
    b.goto(&format!("{base}/policies/new")).await.expect("open");
    fill(&b, "name", "Database down").await;
    fill(&b, "ml0", "team").await;
    fill(&b, "mv0", "db").await;
    click(&b, "input[name=groups]").await;
    click(&b, "input[name=webhooks]").await;
    click(&b, "#method-email").await;
    b.find(Locator::Css("main form button.primary"))
        .await
        .expect("create")
        .click()
        .await
        .expect("click");
    assert_path(&b, "/policies").await;
    let row = wait_text(&b, "table.policies tbody tr", "Database down").await;
    // Email only: no warning about unverified numbers.
    let flashes = b
        .find_all(Locator::Css(".flash"))
        .await
        .expect("flashes")
        .len();
    assert_eq!(flashes, 1);
    assert!(
        row.contains("DBAs (group)") && row.contains("Ops hook (webhook)"),
        "{row}"
    );
    screenshot(&b, "policies").await;

    // Who would be notified, for team=db.
    b.goto(&format!("{base}/policies/simulate?labels=team%3Ddb"))
        .await
        .expect("open");
    wait_text(&b, "#sim-summary", "1 enabled policy matches").await;
    wait_text(&b, "section.sim-match", "Ana Li").await;
    b.close().await.expect("close browser");
}
