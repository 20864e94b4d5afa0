//! The delivery engine end to end: alerts posted to Herald reach loopback stand-ins that record
//! every request (and its `Idempotency-Key`), through grouping, the outbox, retries, rate
//! limits, refusals, a `kill -9` and two processes sharing one database.

use std::collections::{HashMap, HashSet};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use diesel::prelude::*;
use herald::store::schema::{deliveries, delivery_attempts};
use serde_json::{Value, json};

use crate::helpers::{Client, Kind, TestApp, TestDb};

/// One request a stand-in received.
#[derive(Clone, Debug)]
pub struct Hit {
    pub at: Instant,
    pub path: String,
    pub key: String,
    pub body: String,
}

#[derive(Default)]
struct SinkLog {
    hits: Vec<Hit>,
    per_path: HashMap<String, usize>,
}

/// A webhook receiver that answers by path: `/ok` 200; `/flaky` 500 twice, then 200;
/// `/limited` 429 with `Retry-After: 2` once, then 200; `/refuse` 400; `/slow` 200 after
/// 200 ms.
#[derive(Clone)]
pub struct Sink {
    pub base: String,
    log: Arc<Mutex<SinkLog>>,
}

impl Sink {
    pub fn hits(&self, path: &str) -> Vec<Hit> {
        let log = self.log.lock().expect("log");
        log.hits
            .iter()
            .filter(|h| h.path == path)
            .cloned()
            .collect()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

async fn answer(
    req: HttpRequest,
    body: web::Bytes,
    log: web::Data<Arc<Mutex<SinkLog>>>,
) -> HttpResponse {
    let path = req.path().to_string();
    let key = req
        .headers()
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let nth = {
        let mut log = log.lock().expect("log");
        log.hits.push(Hit {
            at: Instant::now(),
            path: path.clone(),
            key,
            body: String::from_utf8_lossy(&body).into_owned(),
        });
        let n = log.per_path.entry(path.clone()).or_default();
        *n += 1;
        *n
    };
    match path.as_str() {
        "/flaky" if nth <= 2 => HttpResponse::InternalServerError().body("database is on fire"),
        "/limited" if nth == 1 => HttpResponse::TooManyRequests()
            .insert_header(("Retry-After", "2"))
            .body("slow down"),
        "/refuse" => HttpResponse::BadRequest().body("no such project"),
        "/slow" => {
            tokio::time::sleep(Duration::from_millis(200)).await;
            HttpResponse::Ok().body("ok")
        }
        _ => HttpResponse::Ok().body("ok"),
    }
}

pub fn sink() -> Sink {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind sink");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let log = Arc::new(Mutex::new(SinkLog::default()));
    let data = web::Data::new(log.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .default_service(web::to(answer))
    })
    .workers(1)
    .listen(listener)
    .expect("listen")
    .run();
    tokio::spawn(server);
    Sink { base, log }
}

/// Polls `done` every 100 ms for up to `limit`.
pub async fn eventually(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + limit;
    while Instant::now() < until {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    done()
}

async fn app(kind: Kind) -> Option<TestApp> {
    let db = Arc::new(TestDb::create(kind)?);
    Some(TestApp::spawn_with(kind, db, |s| s.allow_private_targets = true).await)
}

pub async fn token(owner: &Client) -> String {
    let page = owner.post_form("/api-tokens", &[("name", "Tests")]).await;
    let marker = "id=\"token-value\" readonly value=\"";
    let at = page.body.find(marker).expect("token shown") + marker.len();
    page.body[at..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Creates an object on the console page `list` (`/webhooks`, `/chatbots`) and answers the id
/// its row named `name` links to.
pub async fn created(owner: &Client, list: &str, fields: &[(&str, &str)], name: &str) -> String {
    owner.post_form(list, fields).await.assert_redirect(list);
    let page = owner.get(list).await;
    let at = page
        .body
        .find(&format!("<td class=\"name\">{name}</td>"))
        .expect("listed");
    let link = format!("{list}/");
    let start = page.body[at..].find(&link).expect("link") + at + link.len();
    page.body[start..start + 36].to_string()
}

/// A webhook with the default (plain text) body; answers its id.
pub async fn webhook(owner: &Client, name: &str, url: &str) -> String {
    let fields = [
        ("name", name),
        ("method", "POST"),
        ("url", url),
        ("template", ""),
        ("resolve_template", ""),
    ];
    created(owner, "/webhooks", &fields, name).await
}

/// A signed DingTalk robot with the stand-in's keyword, created on the console; answers its id.
pub async fn dingtalk_bot(owner: &Client, ding: &crate::chat_platforms::Fake) -> String {
    use crate::chat_platforms::{DING_SECRET, DING_TOKEN, KEYWORD};
    let url = format!("{}/robot/send?access_token={DING_TOKEN}", ding.base);
    let bot = [
        ("platform", "dingtalk"),
        ("name", "Ops DingTalk"),
        ("webhook_url", url.as_str()),
        ("secret", DING_SECRET),
        ("keyword", KEYWORD),
        ("daily_stats_times", ""),
        ("card_template", ""),
    ];
    created(owner, "/chatbots", &bot, "Ops DingTalk").await
}

/// A policy taking every alert, grouped by alertname, notifying on resolve.
pub async fn policy(owner: &Client, name: &str, targets: &[(&str, &str)], group_wait: &str) {
    let mut f: Vec<(&str, &str)> = vec![
        ("name", name),
        ("enabled", "on"),
        ("notify_resolved", "on"),
        ("repeat_minutes", "240"),
        ("group_by", "alertname"),
        ("group_wait_secs", group_wait),
        ("group_interval_secs", "1"),
    ];
    f.extend_from_slice(targets);
    owner
        .post_form("/policies", &f)
        .await
        .assert_redirect("/policies");
}

pub async fn post_alerts(base: &str, token: &str, alerts: &Value) {
    let r = reqwest::Client::new()
        .post(format!("{base}/api/v2/alerts"))
        .bearer_auth(token)
        .json(alerts)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
}

fn states(app: &TestApp) -> Vec<(String, String, i32)> {
    let mut conn = app.db.get().expect("conn");
    deliveries::table
        .select((deliveries::channel, deliveries::state, deliveries::attempts))
        .order(deliveries::created_at)
        .load(&mut *conn)
        .expect("deliveries")
}

async fn each_alert_reaches_a_webhook_once_with_its_key_and_its_resolve_too(kind: Kind) {
    let Some(app) = app(kind).await else { return };
    let sink = sink();
    let owner = app.owner().await;
    let token = token(&owner).await;
    let hook = webhook(&owner, "Sink", &sink.url("/ok")).await;
    policy(&owner, "Everything", &[("webhooks", &hook)], "0").await;

    let alerts: Vec<Value> = (0..3)
        .map(|i| json!({"labels": {"alertname": format!("Disk{i}"), "instance": "db-1"}, "annotations": {"summary": "disk full"}}))
        .collect();
    post_alerts(&app.base, &token, &Value::Array(alerts.clone())).await;
    assert!(
        eventually(Duration::from_secs(10), || sink.hits("/ok").len() == 3).await,
        "{:?}",
        sink.hits("/ok")
    );
    let hits = sink.hits("/ok");
    let keys: HashSet<&str> = hits.iter().map(|h| h.key.as_str()).collect();
    assert_eq!(keys.len(), 3, "one idempotency key per delivery: {hits:?}");
    assert!(keys.iter().all(|k| k.len() == 36), "{keys:?}");
    let mut bodies: Vec<&str> = hits.iter().map(|h| h.body.as_str()).collect();
    bodies.sort();
    assert_eq!(
        bodies,
        [
            "[FIRING:1] Disk0\n- db-1 disk full",
            "[FIRING:1] Disk1\n- db-1 disk full",
            "[FIRING:1] Disk2\n- db-1 disk full"
        ]
    );
    assert!(
        eventually(Duration::from_secs(5), || states(&app)
            .iter()
            .all(|(_, s, _)| s == "delivered"))
        .await,
        "{:?}",
        states(&app)
    );
    assert_eq!(
        states(&app),
        vec![("webhook".to_string(), "delivered".to_string(), 1); 3]
    );

    // The same alerts again change nothing and send nothing.
    post_alerts(&app.base, &token, &Value::Array(alerts)).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(sink.hits("/ok").len(), 3);

    // One resolves: its group tells the webhook once more, with the resolved text.
    let resolved = json!([{"labels": {"alertname": "Disk1", "instance": "db-1"}, "annotations": {"summary": "disk full"}, "startsAt": "2020-01-01T00:00:00Z", "endsAt": "2020-01-01T00:01:00Z"}]);
    post_alerts(&app.base, &token, &resolved).await;
    assert!(eventually(Duration::from_secs(10), || sink.hits("/ok").len() == 4).await);
    let last = sink.hits("/ok").pop().expect("resolve");
    assert_eq!(last.body, "[RESOLVED:1] Disk1\n- db-1 disk full");
    assert!(
        !keys.contains(last.key.as_str()),
        "a new delivery, a new key"
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(sink.hits("/ok").len(), 4, "nothing more");
}

async fn failures_retry_with_the_same_key_429_waits_and_refusals_stop(kind: Kind) {
    let Some(app) = app(kind).await else { return };
    let sink = sink();
    let owner = app.owner().await;
    let token = token(&owner).await;
    let flaky = webhook(&owner, "Flaky", &sink.url("/flaky")).await;
    let limited = webhook(&owner, "Limited", &sink.url("/limited")).await;
    let refuse = webhook(&owner, "Refusing", &sink.url("/refuse")).await;
    policy(
        &owner,
        "All hooks",
        &[
            ("webhooks", &flaky),
            ("webhooks", &limited),
            ("webhooks", &refuse),
        ],
        "0",
    )
    .await;
    post_alerts(
        &app.base,
        &token,
        &json!([{"labels": {"alertname": "Api5xx"}}]),
    )
    .await;

    // 500, 500, 200: backoff is 5 s doubling with full jitter, so at most 5 + 10 s of waiting.
    assert!(
        eventually(Duration::from_secs(25), || sink.hits("/flaky").len() >= 3).await,
        "{:?}",
        sink.hits("/flaky")
    );
    let flaky_hits = sink.hits("/flaky");
    assert_eq!(
        flaky_hits.len(),
        3,
        "delivered on the third try, then left alone"
    );
    assert!(
        flaky_hits.iter().all(|h| h.key == flaky_hits[0].key),
        "retries carry the same key"
    );

    let limited_hits = sink.hits("/limited");
    assert_eq!(limited_hits.len(), 2, "{limited_hits:?}");
    let waited = limited_hits[1].at - limited_hits[0].at;
    assert!(
        waited >= Duration::from_millis(1900),
        "Retry-After: 2 honoured, waited {waited:?}"
    );
    assert_eq!(limited_hits[0].key, limited_hits[1].key);

    assert_eq!(sink.hits("/refuse").len(), 1, "a 400 is not retried");

    // The stand-in counts a hit before Herald has recorded its answer.
    let flaky_key = flaky_hits[0].key.clone();
    let recorded = eventually(Duration::from_secs(5), || {
        let mut conn = app.db.get().expect("conn");
        deliveries::table
            .filter(deliveries::id.eq(&flaky_key))
            .select(deliveries::state)
            .first::<String>(&mut *conn)
            .is_ok_and(|s| s == "delivered")
    })
    .await;
    assert!(recorded, "the third try was recorded as delivered");
    let mut conn = app.db.get().expect("conn");
    let rows: Vec<(String, String, i32, Option<String>)> = deliveries::table
        .select((
            deliveries::id,
            deliveries::state,
            deliveries::attempts,
            deliveries::last_outcome,
        ))
        .load(&mut *conn)
        .expect("rows");
    let by_key = |key: &str| rows.iter().find(|r| r.0 == key).cloned().expect("row");
    let (_, state, attempts, _) = by_key(&flaky_hits[0].key);
    assert_eq!((state.as_str(), attempts), ("delivered", 3));
    let (_, state, _, outcome) = by_key(&sink.hits("/refuse")[0].key);
    assert_eq!(state, "refused");
    assert!(
        outcome.unwrap_or_default().contains("400"),
        "the refusal says why"
    );
    let tries: Vec<(String, Option<String>)> = delivery_attempts::table
        .filter(delivery_attempts::delivery_id.eq(&flaky_hits[0].key))
        .order(delivery_attempts::at)
        .select((delivery_attempts::outcome, delivery_attempts::code))
        .load(&mut *conn)
        .expect("attempts");
    let codes: Vec<Option<&str>> = tries.iter().map(|t| t.1.as_deref()).collect();
    assert_eq!(
        codes,
        [Some("HTTP 500"), Some("HTTP 500"), Some("HTTP 200")],
        "{tries:?}"
    );
    assert_eq!(tries[2].0, "delivered");
    drop(conn);

    // /metrics tells the same story.
    let metrics = reqwest::get(format!("{}/metrics", app.base))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    for line in [
        "herald_notifications_total 1",
        "herald_delivery_attempts_total{channel=\"webhook\",outcome=\"delivered\"} 2",
        "herald_delivery_attempts_total{channel=\"webhook\",outcome=\"temporary\"} 2",
        "herald_delivery_attempts_total{channel=\"webhook\",outcome=\"rate_limited\"} 1",
        "herald_delivery_attempts_total{channel=\"webhook\",outcome=\"refused\"} 1",
        "herald_alert_to_delivery_seconds_count 2",
        "herald_outbox_oldest_due_seconds",
    ] {
        assert!(metrics.contains(line), "{line} missing from:\n{metrics}");
    }
}

async fn group_wait_gathers_alerts_into_one_notification_and_unreachable_people_are_logged(
    kind: Kind,
) {
    let Some(app) = app(kind).await else { return };
    let sink = sink();
    let owner = app.owner().await;
    let token = token(&owner).await;
    owner.create_contact("Ana", "+8613800138000", "").await;
    owner.create_contact("Bo", "+8613800138001", "").await;
    let ana = owner.contact_id("Ana").await;
    let bo = owner.contact_id("Bo").await;
    crate::policies::mark_verified(&app, &bo);
    let team = [("name", "Team"), ("members", ana.as_str())];
    owner
        .post_form("/groups", &team)
        .await
        .assert_redirect("/groups");
    let page = owner.get("/groups").await;
    let at = page
        .body
        .find("<td class=\"name\">Team</td>")
        .expect("listed");
    let start = page.body[at..].find("/groups/").expect("link") + at + "/groups/".len();
    let group = page.body[start..start + 36].to_string();
    let hook = webhook(&owner, "Sink", &sink.url("/ok")).await;
    let fields = [
        ("webhooks", hook.as_str()),
        ("contacts", bo.as_str()),
        ("groups", group.as_str()),
        ("methods", "sms"),
    ];
    policy(&owner, "Gathered", &fields, "2").await;
    for i in 0..3 {
        let a = json!([{"labels": {"alertname": "NodeDown", "instance": format!("node-{i}")}}]);
        post_alerts(&app.base, &token, &a).await;
    }
    assert!(eventually(Duration::from_secs(10), || !sink.hits("/ok").is_empty()).await);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let hits = sink.hits("/ok");
    assert_eq!(
        hits.len(),
        1,
        "three alerts, one message after group wait: {hits:?}"
    );
    assert!(
        hits[0].body.starts_with("[FIRING:3] NodeDown"),
        "{}",
        hits[0].body
    );

    // Ana's phone is not verified: her SMS is logged as not sent, with the reason; Bo's goes
    // out through the console provider, where the Dev outbox shows it.
    let sms = || -> Vec<(String, String, Option<String>)> {
        let mut conn = app.db.get().expect("conn");
        deliveries::table
            .filter(deliveries::channel.eq("sms"))
            .select((
                deliveries::recipient,
                deliveries::state,
                deliveries::last_outcome,
            ))
            .order(deliveries::recipient)
            .load(&mut *conn)
            .expect("sms")
    };
    let settled = |rows: &[(String, String, Option<String>)]| {
        rows.len() == 2 && rows.iter().all(|r| r.1 == "delivered" || r.1 == "not_sent")
    };
    assert!(
        eventually(Duration::from_secs(5), || settled(&sms())).await,
        "{:?}",
        sms()
    );
    let rows = sms();
    assert_eq!(
        (rows[0].0.as_str(), rows[0].1.as_str()),
        ("Ana", "not_sent"),
        "{rows:?}"
    );
    let why = rows[0].2.as_deref().unwrap_or_default();
    assert!(why.contains("not verified"), "{rows:?}");
    assert_eq!(
        (rows[1].0.as_str(), rows[1].1.as_str()),
        ("Bo", "delivered"),
        "{rows:?}"
    );
    owner.get("/dev/outbox").await.assert_contains("NodeDown");
}

async fn a_dingtalk_bot_gets_at_most_20_a_minute_and_in_the_end_every_alert(kind: Kind) {
    use crate::chat_platforms::dingtalk_server;
    const N: usize = 26;
    let Some(app) = app(kind).await else { return };
    let ding = dingtalk_server();
    let owner = app.owner().await;
    let token = token(&owner).await;
    let id = dingtalk_bot(&owner, &ding).await;
    policy(&owner, "To DingTalk", &[("chatbots", &id)], "0").await;
    // One alert at a time, so each is its own notification: 26 messages wanted in a second.
    for i in 0..N {
        post_alerts(
            &app.base,
            &token,
            &json!([{"labels": {"alertname": format!("Burst{i:02}")}}]),
        )
        .await;
    }
    let text = || {
        ding.accepted()
            .iter()
            .map(|m| {
                m["markdown"]["text"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let all_told = || (0..N).all(|i| text().contains(&format!("Burst{i:02}")));
    assert!(
        eventually(Duration::from_secs(90), all_told).await,
        "not every alert arrived: {}",
        text()
    );
    let arrivals = ding.arrivals();
    assert!(
        arrivals.len() < N,
        "the ones over the limit were merged: {} messages",
        arrivals.len()
    );
    for (i, first) in arrivals.iter().enumerate() {
        let in_minute = arrivals[i..]
            .iter()
            .filter(|t| **t - *first < Duration::from_secs(60))
            .count();
        assert!(in_minute <= 20, "{in_minute} messages within a minute");
    }
    let mut conn = app.db.get().expect("conn");
    let throttled: i64 = delivery_attempts::table
        .filter(delivery_attempts::code.eq("130101"))
        .count()
        .get_result(&mut *conn)
        .expect("attempts");
    assert_eq!(throttled, 0, "Herald kept under the limit itself");
    drop(conn);
    assert!(
        eventually(Duration::from_secs(5), || states(&app)
            .iter()
            .all(|(_, s, _)| s == "delivered"))
        .await,
        "{:?}",
        states(&app)
    );
    assert_eq!(states(&app).len(), N);
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
    each_alert_reaches_a_webhook_once_with_its_key_and_its_resolve_too,
    failures_retry_with_the_same_key_429_waits_and_refusals_stop,
    group_wait_gathers_alerts_into_one_notification_and_unreachable_people_are_logged,
    a_dingtalk_bot_gets_at_most_20_a_minute_and_in_the_end_every_alert
);
