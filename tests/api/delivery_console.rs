//! The console's views of the outbox: an alert's notifications with every delivery and its
//! attempts, the Alerts list's Delivery column, the Deliveries page, and Retry now (editors
//! only, CSRF-checked, scoped to the workspace).

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use actix_web::{App, HttpResponse, HttpServer, web};
use diesel::prelude::*;
use herald::store::schema::{deliveries, delivery_attempts};
use reqwest::StatusCode;
use serde_json::json;

use crate::delivery::{token, webhook};
use crate::helpers::{Kind, Page, TestApp, TestDb, html_escape};
use crate::members::{first_login, invite};

/// A webhook receiver on loopback: the first request gets `400 no such project`, every later
/// one `200` after a second (so a retried delivery is seen under way before it is delivered).
struct Receiver {
    url: String,
    hits: Arc<AtomicUsize>,
}

impl Receiver {
    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

async fn receive(hits: web::Data<Arc<AtomicUsize>>) -> HttpResponse {
    if hits.fetch_add(1, Ordering::SeqCst) == 0 {
        return HttpResponse::BadRequest().body("no such project");
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    HttpResponse::Ok().body("ok")
}

fn receiver() -> Receiver {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind receiver");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let hits = Arc::new(AtomicUsize::new(0));
    let data = web::Data::new(hits.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .default_service(web::to(receive))
    })
    .workers(1)
    .listen(listener)
    .expect("listen")
    .run();
    tokio::spawn(server);
    Receiver { url, hits }
}

/// Herald allowed to call loopback addresses, on `kind`; None when that backend is absent
/// outside CI.
async fn app(kind: Kind) -> Option<TestApp> {
    let db = Arc::new(TestDb::create(kind)?);
    Some(TestApp::spawn_with(kind, db, |s| s.allow_private_targets = true).await)
}

/// POSTs alerts to the Alerts API with `token`.
async fn post(app: &TestApp, token: &str, body: &serde_json::Value) {
    let r = reqwest::Client::new()
        .post(format!("{}/api/v2/alerts", app.base))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
}

/// The 36 characters after the first `prefix` in `body` (an id in a link or form).
fn id_after(body: &str, prefix: &str) -> String {
    let at = body
        .find(prefix)
        .unwrap_or_else(|| panic!("{prefix} not in:\n{body}"))
        + prefix.len();
    body[at..at + 36].to_string()
}

/// The one delivery's (id, state, attempts, last outcome).
fn delivery(app: &TestApp) -> (String, String, i32, Option<String>) {
    let mut conn = app.db.get().expect("conn");
    let rows: Vec<(String, String, i32, Option<String>)> = deliveries::table
        .select((
            deliveries::id,
            deliveries::state,
            deliveries::attempts,
            deliveries::last_outcome,
        ))
        .load(&mut *conn)
        .expect("deliveries");
    assert_eq!(rows.len(), 1, "{rows:?}");
    rows.into_iter().next().expect("one delivery")
}

/// Polls until the delivery is in `state` (10 s at most).
async fn until_state(app: &TestApp, state: &str) -> (String, String, i32, Option<String>) {
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let d = {
            let mut conn = app.db.get().expect("conn");
            deliveries::table
                .select((
                    deliveries::id,
                    deliveries::state,
                    deliveries::attempts,
                    deliveries::last_outcome,
                ))
                .first::<(String, String, i32, Option<String>)>(&mut *conn)
                .optional()
                .expect("delivery")
        };
        match d {
            Some(d) if d.1 == state => return d,
            other if Instant::now() > until => panic!("never {state}: {other:?}"),
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// The table row of delivery `id` in a page.
fn row<'a>(page: &'a Page, id: &str) -> &'a str {
    let start = page
        .body
        .find(&format!("<tr id=\"delivery-{id}\">"))
        .unwrap_or_else(|| panic!("delivery {id} not shown:\n{}", page.body));
    let rest = &page.body[start..];
    &rest[..rest.find("</tr>").expect("row end")]
}

async fn a_refused_delivery_is_shown_everywhere_and_retried_by_editors_only(kind: Kind) {
    let Some(app) = app(kind).await else { return };
    let hook = receiver();
    let owner = app.owner().await;
    let token = token(&owner).await;

    let webhook = webhook(&owner, "Tracker", &hook.url).await;
    owner
        .post_form(
            "/policies",
            &[
                ("name", "Everything"),
                ("enabled", "on"),
                ("repeat_minutes", "240"),
                ("group_by", "alertname"),
                ("group_wait_secs", "0"),
                ("group_interval_secs", "1"),
                ("webhooks", &webhook),
            ],
        )
        .await
        .assert_redirect("/policies");

    // Before anything is sent: no delivery anywhere.
    owner
        .get("/deliveries")
        .await
        .assert_contains("Nothing is failing or retrying.");
    post(
        &app,
        &token,
        &json!([{"labels": {"alertname": "DiskFull", "instance": "db-1"}}]),
    )
    .await;

    // The receiver answers 400: refused after one attempt, not retried.
    let (id, _, attempts, outcome) = until_state(&app, "refused").await;
    assert_eq!(attempts, 1);
    assert_eq!(hook.hits(), 1);
    let outcome = outcome.expect("the refusal says why");
    assert!(outcome.contains("400"), "{outcome}");

    // The Alerts list sums it up in its Delivery column.
    let list = owner.get("/alerts").await;
    list.assert_contains("<th scope=\"col\">Delivery</th>")
        .assert_contains("#notifications\">1 refused</a>");
    let alert = id_after(&list.body, "<td class=\"name\"><a href=\"/alerts/");

    // The alert's page: the notification, its delivery, the attempt and what came back.
    let page = owner.get(&format!("/alerts/{alert}")).await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_contains("<h3>Notifications</h3>")
        .assert_contains("· Everything")
        .assert_lacks("No notification has been sent about this alert.");
    let tr = row(&page, &id);
    for needle in [
        "<td>Webhook</td>",
        "<td>Tracker</td>",
        "<td>—</td>",
        "data-state=\"refused\">Refused</span>",
        "<summary>1</summary>",
        "ms · <span class=\"outcome\">refused</span> · <code>HTTP 400</code>",
        &html_escape(&outcome),
        &format!("action=\"/deliveries/{id}/retry\""),
        &format!("name=\"alert\" value=\"{alert}\""),
        "Retry now",
    ] {
        assert!(tr.contains(needle), "{needle:?} not in the row:\n{tr}");
    }
    let mut conn = app.db.get().expect("conn");
    let ms: i32 = delivery_attempts::table
        .select(delivery_attempts::duration_ms)
        .first(&mut *conn)
        .expect("attempt");
    drop(conn);
    assert!(tr.contains(&format!("· {ms} ms ·")), "{tr}");

    // The Deliveries page lists it, linked to its alert, with the same button.
    let listed = owner.get("/deliveries").await;
    listed
        .assert_contains("1 delivery.")
        .assert_lacks("Nothing is failing or retrying.");
    let tr = row(&listed, &id);
    for needle in [
        &format!("<a href=\"/alerts/{alert}\">DiskFull</a>"),
        "<td>Everything</td>",
        "<td>Tracker</td>",
        "data-state=\"refused\">Refused</span>",
        "<td>1</td>",
        &format!("action=\"/deliveries/{id}/retry\""),
        "Retry now",
    ] {
        assert!(tr.contains(needle), "{needle:?} not in the row:\n{tr}");
    }
    assert!(!tr.contains("name=\"alert\""), "it comes back here: {tr}");

    // A viewer sees the same, without the button, and may not retry.
    let link = invite(&owner, "viewer@example.com", "viewer").await;
    let viewer = first_login(&app, "viewer@example.com", &link).await;
    let seen = viewer.get(&format!("/alerts/{alert}")).await;
    assert!(row(&seen, &id).contains("Refused"));
    seen.assert_lacks("Retry now");
    let seen = viewer.get("/deliveries").await;
    assert!(row(&seen, &id).contains("Tracker"));
    seen.assert_lacks("Retry now");
    let refused = viewer
        .post_form(&format!("/deliveries/{id}/retry"), &[("alert", &alert)])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    // Nor may a form without the session's token.
    let forged = owner
        .post_raw(&format!("/deliveries/{id}/retry"), &[("alert", &alert)])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(delivery(&app).1, "refused", "neither changed anything");
    assert_eq!(hook.hits(), 1);

    // Unknown ids, and another workspace's delivery, are not found.
    for bogus in ["nope", "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"] {
        let r = owner
            .post_form(&format!("/deliveries/{bogus}/retry"), &[])
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{bogus}");
    }
    viewer
        .post_form("/workspaces", &[("name", "Elsewhere")])
        .await
        .assert_redirect("/");
    viewer
        .get("/deliveries")
        .await
        .assert_contains("Nothing is failing or retrying.")
        .assert_lacks(&id);
    let r = viewer
        .post_form(&format!("/deliveries/{id}/retry"), &[])
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "an owner elsewhere");
    assert_eq!(delivery(&app).1, "refused");

    // The owner retries it from the alert's page: queued again, tried at once, back there.
    owner
        .post_form(&format!("/deliveries/{id}/retry"), &[("alert", &alert)])
        .await
        .assert_redirect(&format!("/alerts/{alert}"));
    let (_, state, _, _) = delivery(&app);
    assert!(
        ["queued", "retrying", "sending"].contains(&state.as_str()),
        "{state}"
    );
    owner
        .get(&format!("/alerts/{alert}"))
        .await
        .assert_contains("Webhook to “Tracker” is queued to be tried again now.");

    // The receiver takes it this time: delivered on the second attempt.
    let (_, _, attempts, _) = until_state(&app, "delivered").await;
    assert_eq!(attempts, 2);
    assert_eq!(hook.hits(), 2);
    let page = owner.get(&format!("/alerts/{alert}")).await;
    let tr = row(&page, &id);
    for needle in [
        "data-state=\"delivered\">Delivered</span>",
        "<summary>2</summary>",
        "<code>HTTP 400</code>",
        "<span class=\"outcome\">delivered</span> · <code>HTTP 200</code>",
        "Tracker answered HTTP 200",
    ] {
        assert!(tr.contains(needle), "{needle:?} not in the row:\n{tr}");
    }
    assert!(!tr.contains("Retry now"), "nothing to retry: {tr}");
    owner
        .get("/alerts")
        .await
        .assert_contains("#notifications\">1 delivered</a>");
    owner
        .get("/deliveries")
        .await
        .assert_contains("Nothing is failing or retrying.");

    // Retrying a delivered one changes nothing and says so.
    owner
        .post_form(&format!("/deliveries/{id}/retry"), &[])
        .await
        .assert_redirect("/deliveries");
    owner
        .get("/deliveries")
        .await
        .assert_contains("Webhook to “Tracker” was not retried: it is delivered.");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(delivery(&app).1, "delivered");
    assert_eq!(hook.hits(), 2);
}

async fn alerts_without_deliveries_say_so(kind: Kind) {
    let Some(app) = app(kind).await else { return };
    let owner = app.owner().await;
    let token = token(&owner).await;
    post(&app, &token, &json!([{"labels": {"alertname": "Quiet"}}])).await;
    let list = owner.get("/alerts").await;
    list.assert_contains("<td class=\"delivery\">—</td>");
    let alert = id_after(&list.body, "<td class=\"name\"><a href=\"/alerts/");
    owner
        .get(&format!("/alerts/{alert}"))
        .await
        .assert_contains("No notification has been sent about this alert.");
    owner
        .get("/deliveries")
        .await
        .assert_contains("Nothing is failing or retrying.");
}

macro_rules! on_both {
    ($($name:ident),+) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() { super::$name(crate::helpers::Kind::Sqlite).await }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() { super::$name(crate::helpers::Kind::Postgres).await }
            )+
        }
    };
}

on_both!(
    a_refused_delivery_is_shown_everywhere_and_retried_by_editors_only,
    alerts_without_deliveries_say_so
);
