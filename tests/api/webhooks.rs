//! Notification Objects › Webhooks: every limit, preview, Send test, outbound guard.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::both_backends;
use crate::fakes;
use crate::helpers::{Client, Kind, Page, TestApp, TestDb};

fn form<'a>(
    name: &'a str,
    method: &'a str,
    url: &'a str,
    pairs: &[(&'a str, &'a str)],
    template: &'a str,
) -> Vec<(&'a str, &'a str)> {
    let mut f = vec![
        ("name", name),
        ("method", method),
        ("url", url),
        ("template", template),
        ("resolve_template", ""),
    ];
    for (n, v) in pairs {
        f.push(("header_name", n));
        f.push(("header_value", v));
    }
    f
}

async fn webhook_id(c: &Client, name: &str) -> String {
    let page = c.get("/webhooks").await;
    let at = page
        .body
        .find(&format!("<td class=\"name\">{name}</td>"))
        .unwrap_or_else(|| panic!("{name} not listed:\n{}", page.body));
    let rest = &page.body[at..];
    let start = rest.find("/webhooks/").expect("link") + "/webhooks/".len();
    rest[start..start + 36].to_string()
}

fn refused(p: &Page, needle: &str) {
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", p.body);
    p.assert_contains(needle);
}

const PLAIN: (&str, &str) = ("Content-Type", "text/plain; charset=UTF-8");

both_backends! {
    async fn deleting_a_webhook_asks_first_and_takes_it_out_of_its_policies(app: TestApp) {
        use crate::chatbots::{policy_using, targets_of};
        let owner = app.owner().await;
        let created = owner.post_form("/webhooks", &form("Jira", "POST", "https://jira.example.com/hook", &[PLAIN], "")).await;
        created.assert_redirect("/webhooks");
        let id = webhook_id(&owner, "Jira").await;
        let a = policy_using(&app, "Database down", "webhook", &id);
        let b = policy_using(&app, "Disk full", "webhook", &id);
        let confirm = owner.get(&format!("/webhooks/{id}/delete")).await;
        assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.body);
        confirm
            .assert_contains("Delete webhook “Jira”?")
            .assert_contains("POST https://jira.example.com/hook")
            .assert_contains("It will be removed from the notification policies “Database down”, “Disk full”.")
            .assert_contains(&format!("action=\"/webhooks/{id}/delete\""));
        assert_eq!(targets_of(&app, &a).len(), 1, "the confirmation page changes nothing");
        owner.post_form(&format!("/webhooks/{id}/delete"), &[]).await.assert_redirect("/webhooks");
        owner.get("/webhooks").await
            .assert_contains("Webhook “Jira” deleted. It was removed from the policies “Database down”, “Disk full”.")
            .assert_lacks("<td class=\"name\">Jira</td>");
        assert!(targets_of(&app, &a).is_empty() && targets_of(&app, &b).is_empty());
        assert_eq!(owner.get(&format!("/webhooks/{id}/delete")).await.status, StatusCode::NOT_FOUND);
        assert_eq!(owner.post_form(&format!("/webhooks/{id}/delete"), &[]).await.status, StatusCode::NOT_FOUND);
    }

    async fn every_limit_holds_at_its_edge(app: TestApp) {
        let owner = app.owner().await;
        let new = owner.get("/webhooks/new").await;
        new.assert_contains("value=\"Content-Type\"").assert_contains("value=\"text/plain; charset=UTF-8\"");

        // URL: 100 characters pass, 101 do not.
        let base = "https://hooks.example.com/";
        let at = format!("{base}{}", "a".repeat(100 - base.len()));
        let over = format!("{at}a");
        owner.post_form("/webhooks", &form("At limit", "POST", &at, &[PLAIN], "")).await.assert_redirect("/webhooks");
        refused(&owner.post_form("/webhooks", &form("Over", "POST", &over, &[PLAIN], "")).await, "at most 100 characters");
        refused(&owner.post_form("/webhooks", &form("Ftp", "POST", "ftp://x.example.com/", &[], "")).await, "http:// or https://");

        // Six pairs in all.
        let six: Vec<(&str, &str)> = vec![("A", "1"), ("B", "2"), ("C", "3"), ("D", "4"), ("E", "5"), ("F", "6")];
        owner.post_form("/webhooks", &form("Six", "POST", "https://h.example.com/", &six, "")).await.assert_redirect("/webhooks");
        let mut seven = six.clone();
        seven.push(("G", "7"));
        refused(&owner.post_form("/webhooks", &form("Seven", "POST", "https://h.example.com/", &seven, "")).await, "At most 6");

        // 200 characters combined.
        let v197 = "v".repeat(197);
        let v198 = "v".repeat(198);
        owner.post_form("/webhooks", &form("Two hundred", "POST", "https://h.example.com/", &[("X-A", &v197)], "")).await.assert_redirect("/webhooks");
        refused(&owner.post_form("/webhooks", &form("Too long", "POST", "https://h.example.com/", &[("X-A", &v198)], "")).await, "200 characters together");

        // Templates: 500 characters, POST only, checked with the error's position.
        let t500 = "x".repeat(500);
        let t501 = "x".repeat(501);
        owner.post_form("/webhooks", &form("T500", "POST", "https://h.example.com/", &[PLAIN], &t500)).await.assert_redirect("/webhooks");
        refused(&owner.post_form("/webhooks", &form("T501", "POST", "https://h.example.com/", &[PLAIN], &t501)).await, "At most 500 characters");
        refused(&owner.post_form("/webhooks", &form("GetBody", "GET", "https://h.example.com/", &[], "x")).await, "Only POST webhooks send a body");
        let bad = owner.post_form("/webhooks", &form("Broken", "POST", "https://h.example.com/", &[PLAIN], "ok\n{{ if .x }}never closed")).await;
        refused(&bad, "line ");
        bad.assert_contains("value=\"Broken\"");

        // Names are unique.
        refused(&owner.post_form("/webhooks", &form("six", "POST", "https://h.example.com/", &[], "")).await, "already called");
    }

    async fn internal_addresses_are_refused_by_default(app: TestApp) {
        let owner = app.owner().await;
        for url in ["http://127.0.0.1:9/x", "http://169.254.169.254/latest/meta-data", "http://10.0.0.5/x", "http://[::1]/x"] {
            let p = owner.post_form("/webhooks", &form("Internal", "POST", url, &[], "")).await;
            refused(&p, "Herald does not call");
        }
    }

    async fn viewers_look_and_other_workspaces_see_nothing(app: TestApp) {
        let owner = app.owner().await;
        owner.post_form("/webhooks", &form("Ops hook", "POST", "https://h.example.com/", &[PLAIN], "")).await.assert_redirect("/webhooks");
        let id = webhook_id(&owner, "Ops hook").await;
        let one_time = crate::members::invite(&owner, "v@example.com", "viewer").await;
        let viewer = crate::members::first_login(&app, "v@example.com", &one_time).await;
        owner.post_form(&format!("/webhooks/{id}"), &form("Ops hook", "POST", "https://h.example.com/hook?token=s3cr3t", &[PLAIN], "")).await.assert_redirect("/webhooks");
        owner.get("/webhooks").await.assert_contains("token=s3cr3t");
        // URLs often carry tokens: viewers see only the host.
        viewer.get("/webhooks").await.assert_contains("Ops hook").assert_contains("https://h.example.com/…").assert_lacks("s3cr3t").assert_lacks("Send test").assert_lacks("Create Webhook");
        assert_eq!(viewer.post_form(&format!("/webhooks/{id}/test"), &[]).await.status, StatusCode::FORBIDDEN);
        assert_eq!(viewer.post_form(&format!("/webhooks/{id}/delete"), &[]).await.status, StatusCode::FORBIDDEN);
        owner.post_form("/workspaces", &[("name", "Other")]).await;
        assert_eq!(owner.get(&format!("/webhooks/{id}/edit")).await.status, StatusCode::NOT_FOUND);
        assert_eq!(owner.post_form(&format!("/webhooks/{id}/test"), &[]).await.status, StatusCode::NOT_FOUND);
    }
}

async fn app_allowing_loopback() -> TestApp {
    let db = Arc::new(TestDb::create(Kind::Sqlite).expect("sqlite"));
    TestApp::spawn_with(Kind::Sqlite, db, |s| s.allow_private_targets = true).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_test_posts_the_rendered_sample_and_shows_the_answer() {
    let hook = fakes::webhook_server();
    let app = app_allowing_loopback().await;
    let owner = app.owner().await;
    let url = format!("{}/alerts", hook.url);
    let template = "{\"text\": \"{{ .commonLabels.alertname }}: $content\"}";
    owner
        .post_form(
            "/webhooks",
            &form(
                "Json hook",
                "POST",
                &url,
                &[("Content-Type", "application/json"), ("X-Token", "abc")],
                template,
            ),
        )
        .await
        .assert_redirect("/webhooks");
    let id = webhook_id(&owner, "Json hook").await;

    // Preview renders against the sample alert without saving.
    let preview = owner
        .post_form(
            &format!("/webhooks/preview?id={id}"),
            &form(
                "Json hook",
                "POST",
                &url,
                &[("Content-Type", "application/json")],
                template,
            ),
        )
        .await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
    preview.assert_contains("Preview with a sample alert");

    let page = owner.post_form(&format!("/webhooks/{id}/test"), &[]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page.assert_contains("answered HTTP 200")
        .assert_contains("received by the test hook");
    let got = hook.accepted();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["method"], "POST");
    assert_eq!(got[0]["path"], "/alerts");
    assert_eq!(got[0]["header:x-token"], "abc");
    assert_eq!(got[0]["header:content-type"], "application/json");
    // Values are JSON-escaped, so the body is valid JSON whatever the alert says.
    let body: serde_json::Value = serde_json::from_str(&got[0]["body"]).expect("valid JSON body");
    let text = body["text"].as_str().expect("text");
    assert!(text.contains('\n') && text.contains("[FIRING"), "{text}");

    // A 500 is shown as a failure with the answer.
    owner
        .post_form(
            &format!("/webhooks/{id}"),
            &form(
                "Json hook",
                "POST",
                &format!("{}/broken", hook.url),
                &[("Content-Type", "application/json")],
                template,
            ),
        )
        .await
        .assert_redirect("/webhooks");
    let page = owner.post_form(&format!("/webhooks/{id}/test"), &[]).await;
    assert_eq!(page.status, StatusCode::BAD_GATEWAY);
    page.assert_contains("HTTP 500")
        .assert_contains("database is on fire");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_webhooks_carry_their_parameters_in_the_query_string() {
    let hook = fakes::webhook_server();
    let app = app_allowing_loopback().await;
    let owner = app.owner().await;
    let url = format!("{}/notify?fixed=1", hook.url);
    owner
        .post_form(
            "/webhooks",
            &form(
                "Get hook",
                "GET",
                &url,
                &[("channel", "ops team"), ("level", "p1")],
                "",
            ),
        )
        .await
        .assert_redirect("/webhooks");
    let id = webhook_id(&owner, "Get hook").await;
    owner
        .post_form(&format!("/webhooks/{id}/test"), &[])
        .await
        .assert_contains("answered HTTP 200");
    let got = hook.accepted();
    assert_eq!(got[0]["method"], "GET");
    assert_eq!(got[0]["query"], "fixed=1&channel=ops+team&level=p1");
    assert_eq!(got[0]["body"], "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_that_does_not_answer_fails_after_five_seconds() {
    let hook = fakes::webhook_server();
    let app = app_allowing_loopback().await;
    let owner = app.owner().await;
    owner
        .post_form(
            "/webhooks",
            &form(
                "Slow hook",
                "POST",
                &format!("{}/slow", hook.url),
                &[PLAIN],
                "",
            ),
        )
        .await
        .assert_redirect("/webhooks");
    let id = webhook_id(&owner, "Slow hook").await;
    let started = Instant::now();
    let page = owner.post_form(&format!("/webhooks/{id}/test"), &[]).await;
    let waited = started.elapsed();
    assert_eq!(page.status, StatusCode::BAD_GATEWAY);
    page.assert_contains("No answer within 5 seconds");
    // The server answers after 6 s: the failure came from Herald's own 5 s limit.
    assert!(
        waited >= Duration::from_millis(4500) && waited < Duration::from_millis(5900),
        "{waited:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_not_followed() {
    let hook = fakes::webhook_server();
    let app = app_allowing_loopback().await;
    let owner = app.owner().await;
    owner
        .post_form(
            "/webhooks",
            &form(
                "Moved",
                "POST",
                &format!("{}/redirect", hook.url),
                &[PLAIN],
                "",
            ),
        )
        .await
        .assert_redirect("/webhooks");
    let id = webhook_id(&owner, "Moved").await;
    let page = owner.post_form(&format!("/webhooks/{id}/test"), &[]).await;
    assert_eq!(page.status, StatusCode::BAD_GATEWAY);
    page.assert_contains("HTTP 302");
    let paths: Vec<String> = hook.accepted().iter().map(|r| r["path"].clone()).collect();
    assert_eq!(
        paths,
        vec!["/redirect".to_string()],
        "the redirect was not followed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_test_works_from_the_form_before_saving() {
    let hook = fakes::webhook_server();
    let app = app_allowing_loopback().await;
    let owner = app.owner().await;
    let url = format!("{}/unsaved", hook.url);
    let page = owner
        .post_form(
            "/webhooks/test",
            &form("Draft", "POST", &url, &[PLAIN], "Draft: $content"),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page.assert_contains("answered HTTP 200")
        .assert_contains("Nothing is saved until you press Create")
        .assert_contains("value=\"Draft\"");
    assert_eq!(hook.accepted()[0]["path"], "/unsaved");
    assert!(hook.accepted()[0]["body"].starts_with("Draft: [FIRING"));
    owner
        .get("/webhooks")
        .await
        .assert_contains("No webhooks yet");
    // A bad form is checked first, and nothing is called.
    let bad = owner
        .post_form("/webhooks/test", &form("Draft", "POST", "ftp://x", &[], ""))
        .await;
    refused(&bad, "http:// or https://");
    assert_eq!(hook.accepted().len(), 1);
}
