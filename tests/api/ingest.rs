//! The ingest APIs: tokens, the three payloads, strict refusals that store nothing, and
//! idempotent repeats.

use diesel::prelude::*;
use herald::store::schema::{alert_events, alerts};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::delivery::token;
use crate::helpers::TestApp;

struct Answer {
    status: StatusCode,
    body: Value,
}

async fn post(app: &TestApp, path: &str, auth: Option<&str>, body: &str) -> Answer {
    let mut r = reqwest::Client::new()
        .post(format!("{}{path}", app.base))
        .header("Content-Type", "application/json")
        .body(body.to_string());
    if let Some(a) = auth {
        r = r.header("Authorization", a);
    }
    let resp = r.send().await.expect("send");
    let status = resp.status();
    let text = resp.text().await.expect("body");
    Answer {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
    }
}

fn count(app: &TestApp) -> (i64, i64) {
    let mut conn = app.db.get().expect("conn");
    let a = alerts::table
        .count()
        .get_result(&mut *conn)
        .expect("alerts");
    let e = alert_events::table
        .count()
        .get_result(&mut *conn)
        .expect("events");
    (a, e)
}

const FIRING: &str = include_str!("../fixtures/alertmanager-webhook-v4-firing.json");

both_backends! {
    async fn alertmanager_posts_are_stored_once_and_their_resolve_changes_them(app: TestApp) {
        let owner = app.owner().await;
        let bearer = format!("Bearer {}", token(&owner).await);
        let payload: Value = serde_json::from_str(FIRING).expect("fixture");
        let n = payload["alerts"].as_array().map(Vec::len).unwrap_or(0) as u64;
        let a = post(&app, "/api/v1/alertmanager", Some(&bearer), FIRING).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        assert_eq!(a.body, json!({"received": n, "changed": n, "notifications": 0}));
        assert_eq!(count(&app), (n as i64, n as i64));

        // Alertmanager repeats a notification (repeat_interval): nothing changes.
        let again = post(&app, "/api/v1/alertmanager", Some(&bearer), FIRING).await;
        assert_eq!(again.body, json!({"received": n, "changed": 0, "notifications": 0}));
        assert_eq!(count(&app), (n as i64, n as i64));

        // The first alert resolves: one change, one more event on its timeline.
        let mut resolved = payload.clone();
        resolved["status"] = json!("resolved");
        resolved["alerts"] = json!([payload["alerts"][0].clone()]);
        resolved["alerts"][0]["status"] = json!("resolved");
        resolved["alerts"][0]["endsAt"] = json!("2030-01-01T00:00:00Z");
        let r = post(&app, "/api/v1/alertmanager", Some(&bearer), &resolved.to_string()).await;
        assert_eq!(r.body, json!({"received": 1, "changed": 1, "notifications": 0}));
        assert_eq!(count(&app), (n as i64, n as i64 + 1));
        let mut conn = app.db.get().expect("conn");
        let statuses: Vec<String> = alerts::table.order(alerts::status.asc()).select(alerts::status).load(&mut *conn).expect("statuses");
        assert!(statuses.contains(&"resolved".to_string()) && statuses.contains(&"firing".to_string()), "{statuses:?}");
    }

    async fn tokens_are_required_and_basic_auth_works(app: TestApp) {
        let owner = app.owner().await;
        let t = token(&owner).await;
        let body = r#"[{"labels": {"alertname": "A"}}]"#;
        for (auth, why) in [
            (None, "send an API token"),
            (Some("Bearer nope".to_string()), "holds no Herald API token"),
            (Some(format!("Bearer hrd_{}", "x".repeat(43))), "unknown or revoked"),
        ] {
            let a = post(&app, "/api/v2/alerts", auth.as_deref(), body).await;
            assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{auth:?}");
            assert!(a.body["error"].as_str().unwrap_or_default().contains(why), "{}", a.body);
        }
        assert_eq!(count(&app), (0, 0));
        use base64::Engine;
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("prometheus:{t}"));
        let a = post(&app, "/api/v2/alerts", Some(&format!("Basic {basic}")), body).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        assert_eq!(count(&app).0, 1);
    }

    async fn refused_requests_name_the_field_and_store_nothing(app: TestApp) {
        let owner = app.owner().await;
        let bearer = format!("Bearer {}", token(&owner).await);
        let b = Some(bearer.as_str());
        let malformed = post(&app, "/api/v2/alerts", b, "{not json").await;
        assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
        assert!(malformed.body["error"].as_str().unwrap_or_default().contains("not valid JSON"));
        for (path, body, field) in [
            ("/api/v2/alerts", r#"[{"labels": {"alertname": "Good"}}, {"labels": {}}]"#, "[1].labels"),
            ("/api/v2/alerts", r#"[{"labels": {"alertname": "Good"}}, {"labels": {"9x": "a"}}]"#, "[1].labels.9x"),
            ("/api/v2/alerts", r#"[{"labels": {"alertname": 5}}]"#, "[0].labels.alertname"),
            ("/api/v2/alerts", r#"[{"labels": {"alertname": "A"}, "startsAt": "soon"}]"#, "[0].startsAt"),
            ("/api/v2/alerts", "[{\"labels\": {\"alertname\": \"A\\u0000\"}}]", "[0].labels.alertname"),
            ("/api/v1/alertmanager", r#"{"version": "4", "alerts": [{"status": "firing", "startsAt": "2026-12-02T10:00:00Z", "labels": {"a": "b"}}, {"status": "on", "startsAt": "2026-12-02T10:00:00Z", "labels": {"a": "c"}}]}"#, "alerts[1].status"),
            ("/api/v1/events", r#"{"source": "zabbix", "type": "Disk", "level": "Severe", "resource": "db-1"}"#, "level"),
        ] {
            let a = post(&app, path, b, body).await;
            assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{path} {body}: {}", a.body);
            assert_eq!(a.body["field"], json!(field), "{}", a.body);
        }
        // Over the size limit (4 MiB by default): 413, read no further.
        let big = format!(r#"[{{"labels": {{"alertname": "A"}}, "annotations": {{"x": "{}"}}}}]"#, "x".repeat(4 * 1024 * 1024));
        assert_eq!(post(&app, "/api/v2/alerts", b, &big).await.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(count(&app), (0, 0), "nothing of a refused request is stored");
    }

    async fn events_and_the_alerts_api_become_alerts(app: TestApp) {
        let owner = app.owner().await;
        let bearer = format!("Bearer {}", token(&owner).await);
        let b = Some(bearer.as_str());
        let e = post(&app, "/api/v1/events", b, r#"[{"source": "zabbix", "type": "DiskFull", "level": "Critical", "resource": "db-1", "message": "95%"}, {"source": "ci", "type": "Deploy", "level": "Info", "resource": "web"}]"#).await;
        assert_eq!(e.body, json!({"received": 2, "changed": 2, "notifications": 0}));
        let v2 = post(&app, "/api/v2/alerts", b, r#"[{"labels": {"alertname": "Gone"}, "startsAt": "2026-12-02T09:00:00Z", "endsAt": "2026-12-02T09:30:00Z"}]"#).await;
        assert_eq!(v2.body, json!({"received": 1, "changed": 1, "notifications": 0}));
        let mut conn = app.db.get().expect("conn");
        let rows: Vec<(String, String, String)> = alerts::table
            .order(alerts::labels.asc())
            .select((alerts::labels, alerts::status, alerts::source))
            .load(&mut *conn)
            .expect("rows");
        let disk = rows.iter().find(|r| r.0.contains("DiskFull")).expect("event stored");
        assert!(disk.0.contains("\"level\":\"Critical\"") && disk.0.contains("\"resource\":\"db-1\""), "{disk:?}");
        assert_eq!((disk.1.as_str(), disk.2.as_str()), ("firing", "event"));
        let gone = rows.iter().find(|r| r.0.contains("Gone")).expect("stored");
        assert_eq!((gone.1.as_str(), gone.2.as_str()), ("resolved", "alerts-api"));
        // Another workspace's token sees its own alerts only: the token decides.
        drop(conn);
        owner.post_form("/workspaces", &[("name", "Other")]).await;
        let other = format!("Bearer {}", token(&owner).await);
        let same = post(&app, "/api/v2/alerts", Some(&other), r#"[{"labels": {"alertname": "Gone"}, "startsAt": "2026-12-02T09:00:00Z", "endsAt": "2026-12-02T09:30:00Z"}]"#).await;
        assert_eq!(same.body, json!({"received": 1, "changed": 1, "notifications": 0}), "a label set is an alert per workspace");
    }

    async fn the_alerts_pages_list_filter_and_show_an_alert(app: TestApp) {
        let owner = app.owner().await;
        owner.get("/alerts").await.assert_contains("No alerts yet.");
        let bearer = format!("Bearer {}", token(&owner).await);
        post(&app, "/api/v1/alertmanager", Some(&bearer), FIRING).await;
        post(&app, "/api/v2/alerts", Some(&bearer), r#"[{"labels": {"alertname": "Gone", "team": "web"}, "startsAt": "2026-12-02T09:00:00Z", "endsAt": "2026-12-02T09:30:00Z"}]"#).await;
        // A policy that takes InstanceDown.
        owner.create_contact("Ana", "", "ana@example.com").await;
        let ana = owner.contact_id("Ana").await;
        owner.post_form("/policies", &[("name", "Node down"), ("enabled", "on"), ("matcher_label", "alertname"), ("matcher_op", "="), ("matcher_value", "InstanceDown"), ("contacts", ana.as_str()), ("methods", "email"), ("repeat_minutes", "60")]).await.assert_redirect("/policies");

        let list = owner.get("/alerts").await;
        assert_eq!(list.status, StatusCode::OK);
        list.assert_contains("3 alerts.").assert_contains(">InstanceDown</a>").assert_contains(">Gone</a>").assert_contains("instance=&#34;10.0.3.7:9100&#34;");
        owner.get("/alerts?status=resolved").await.assert_contains("1 alert.").assert_lacks(">InstanceDown</a>");
        owner.get("/alerts?q=team%3Dweb").await.assert_contains("1 alert.").assert_contains(">Gone</a>");
        owner.get("/alerts?q=10.0.3.9").await.assert_contains("1 alert.");
        owner.get("/alerts?q=%25").await.assert_contains("No alerts match.");
        owner.get("/alerts?status=bogus&page=x").await.assert_contains("3 alerts.");

        let at = list.body.find(">InstanceDown</a>").expect("row");
        let href = &list.body[..at];
        let start = href.rfind("/alerts/").expect("link") + "/alerts/".len();
        let id = &list.body[start..start + 36];
        let detail = owner.get(&format!("/alerts/{id}")).await;
        assert_eq!(detail.status, StatusCode::OK, "{}", detail.body);
        detail.assert_contains("Firing").assert_contains("<code>alertname=\"InstanceDown\"</code>").assert_contains("Instance is unreachable").assert_contains("<li>Node down</li>");
        assert_eq!(detail.body.matches("— firing").count(), 1);

        // Another workspace cannot open it; a malformed id is not found either.
        owner.post_form("/workspaces", &[("name", "Other")]).await;
        assert_eq!(owner.get(&format!("/alerts/{id}")).await.status, StatusCode::NOT_FOUND);
        assert_eq!(owner.get("/alerts/nope").await.status, StatusCode::NOT_FOUND);
        owner.get("/alerts").await.assert_contains("No alerts yet.");
    }

    async fn an_alert_no_longer_posted_resolves_after_the_resolve_timeout(app: TestApp) {
        let owner = app.owner().await;
        let bearer = format!("Bearer {}", token(&owner).await);
        let body = r#"[{"labels": {"alertname": "Flapping"}}]"#;
        post(&app, "/api/v2/alerts", Some(&bearer), body).await;
        let now = herald::store::now();
        let index = app.db.contact_index();
        let sweep = |conn: &mut herald::store::DbConn, at| {
            let n = herald::usecases::notify::Notifier { index: &index, external_url: "http://127.0.0.1" };
            herald::usecases::notify::resolve_expired(conn, n, at).expect("sweep")
        };
        let mut conn = app.db.get().expect("conn");
        // Before the timeout (default 300 s) nothing happens.
        assert_eq!(sweep(&mut conn, now + chrono::Duration::seconds(200)), 0);
        // Posted again (as Prometheus does each evaluation, without a start): the same alert.
        drop(conn);
        let again = post(&app, "/api/v2/alerts", Some(&bearer), body).await;
        assert_eq!(again.body, json!({"received": 1, "changed": 0, "notifications": 0}));
        let mut conn = app.db.get().expect("conn");
        let status = |conn: &mut herald::store::DbConn| -> String { alerts::table.select(alerts::status).first(conn).expect("status") };
        assert_eq!(status(&mut conn), "firing");
        // Not posted for longer than the timeout: resolved once, with its timeline entry.
        assert_eq!(sweep(&mut conn, now + chrono::Duration::seconds(400)), 1);
        assert_eq!(status(&mut conn), "resolved");
        assert_eq!(sweep(&mut conn, now + chrono::Duration::seconds(900)), 0);
        assert_eq!(count(&app), (1, 2));
    }

    async fn metrics_count_what_arrived_and_every_request(app: TestApp) {
        let owner = app.owner().await;
        let bearer = format!("Bearer {}", token(&owner).await);
        post(&app, "/api/v1/alertmanager", Some(&bearer), FIRING).await;
        post(&app, "/api/v1/alertmanager", Some(&bearer), FIRING).await;
        post(&app, "/api/v2/alerts", Some(&bearer), "[]x").await;
        let r = reqwest::get(format!("{}/metrics", app.base)).await.expect("metrics");
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.headers()["content-type"].to_str().unwrap_or_default().starts_with("application/openmetrics-text"));
        let text = r.text().await.expect("text");
        for line in [
            "herald_alerts_received_total{endpoint=\"alertmanager\",status=\"firing\"} 4",
            "herald_alert_changes_total 2",
            "herald_http_requests_total{route=\"/api/v1/alertmanager\",method=\"POST\",status=\"200\"} 2",
            "herald_http_requests_total{route=\"/api/v2/alerts\",method=\"POST\",status=\"400\"} 1",
        ] {
            assert!(text.contains(line), "{line} missing in:\n{text}");
        }
        assert!(!text.contains(&bearer[7..]), "no secrets in metrics");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_can_require_a_bearer_token() {
    let Some(db) = crate::helpers::TestDb::create(crate::helpers::Kind::Sqlite) else {
        return;
    };
    let app = TestApp::spawn_with(crate::helpers::Kind::Sqlite, std::sync::Arc::new(db), |s| {
        s.metrics_token = Some("scrape-me".to_string().into());
    })
    .await;
    let url = format!("{}/metrics", app.base);
    let client = reqwest::Client::new();
    assert_eq!(
        client.get(&url).send().await.expect("get").status(),
        StatusCode::UNAUTHORIZED
    );
    let wrong = client
        .get(&url)
        .bearer_auth("nope")
        .send()
        .await
        .expect("get");
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let right = client
        .get(&url)
        .bearer_auth("scrape-me")
        .send()
        .await
        .expect("get");
    assert_eq!(right.status(), StatusCode::OK);
}

/// A young PostgreSQL database has no planner statistics until autovacuum's first pass (a
/// minute away), and without them alerts were looked up by workspace alone, reading them all.
/// The engine analyzes the tables ingest grows as soon as they changed enough: here well within
/// autovacuum's naptime, and afterwards the planner knows a fingerprint names one alert.
#[tokio::test]
async fn postgres_statistics_follow_a_burst_of_alerts() {
    let Some(app) = TestApp::spawn(crate::helpers::Kind::Postgres).await else {
        return;
    };
    let owner = app.owner().await;
    let bearer = format!("Bearer {}", token(&owner).await);
    for batch in 0..10 {
        let alerts: Vec<Value> = (0..100)
            .map(|i| json!({"labels": {"alertname": format!("Burst{batch}x{i}"), "instance": "db-1"}}))
            .collect();
        let a = post(
            &app,
            "/api/v2/alerts",
            Some(&bearer),
            &Value::Array(alerts).to_string(),
        )
        .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    }
    #[derive(QueryableByName)]
    struct Analyzed {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        done: bool,
    }
    let until = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let mut conn = app.db.get().expect("conn");
        // last_analyze is a manual ANALYZE's (autovacuum's is last_autoanalyze).
        let a: Analyzed = diesel::sql_query(
            "SELECT last_analyze IS NOT NULL AS done FROM pg_stat_user_tables WHERE relname = 'alerts'",
        )
        .get_result(&mut *conn)
        .expect("stats");
        if a.done {
            break;
        }
        assert!(
            std::time::Instant::now() < until,
            "alerts were never analyzed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    #[derive(QueryableByName)]
    struct Plan {
        #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
        line: String,
    }
    let mut conn = app.db.get().expect("conn");
    let plan: Vec<Plan> = diesel::sql_query(
        "EXPLAIN SELECT id FROM alerts WHERE workspace_id = (SELECT id FROM workspaces LIMIT 1) \
         AND fingerprint IN ('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j')",
    )
    .load(&mut *conn)
    .expect("explain");
    // What the planner expects ten fingerprints to match: without statistics, about half the
    // table; with them, ten.
    let first = plan.first().map(|p| p.line.clone()).unwrap_or_default();
    let rows: u64 = first
        .split("rows=")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|r| r.parse().ok())
        .expect("estimated rows");
    assert!(rows <= 20, "{first}");
}
