//! A real client: Debian's `prometheus-alertmanager`, its `webhook_configs` pointed at Herald
//! with a token, delivers an alert and its resolve through Herald to a DingTalk stand-in.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::chat_platforms::dingtalk_server;
use crate::delivery::{dingtalk_bot, eventually, policy, token};
use crate::helpers::{Kind, TestApp, TestDb, in_ci};

const BINARY: &str = "/usr/bin/prometheus-alertmanager";

struct Alertmanager {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port()
}

/// None (skip) when Alertmanager is not installed outside CI; under CI that is a failure.
async fn alertmanager(herald: &str, token: &str) -> Option<Alertmanager> {
    if !std::path::Path::new(BINARY).exists() {
        assert!(!in_ci(), "CI=true and {BINARY} is not installed");
        eprintln!("skipped: {BINARY} is not installed");
        return None;
    }
    let dir = tempfile::tempdir().expect("dir");
    let config = format!(
        r#"route:
  receiver: herald
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: herald
    webhook_configs:
      - url: {herald}/api/v1/alertmanager
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials: {token}
"#
    );
    let file = dir.path().join("alertmanager.yml");
    std::fs::write(&file, config).expect("config");
    let port = free_port();
    let child = Command::new(BINARY)
        .arg(format!("--config.file={}", file.display()))
        .arg(format!("--storage.path={}", dir.path().display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start alertmanager");
    let base = format!("http://127.0.0.1:{port}");
    let ready = format!("{base}/-/ready");
    // Held from the start, so a panic below stops the process too (Drop).
    let started = Alertmanager {
        child,
        base,
        _dir: dir,
    };
    for _ in 0..100 {
        if reqwest::get(&ready)
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return Some(started);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("alertmanager did not become ready on {}", started.base);
}

async fn an_alert_through_alertmanager_reaches_dingtalk_and_so_does_its_resolve(kind: Kind) {
    let Some(db) = TestDb::create(kind).map(Arc::new) else {
        return;
    };
    let app = TestApp::spawn_with(kind, db, |s| s.allow_private_targets = true).await;
    let ding = dingtalk_server();
    let owner = app.owner().await;
    let token = token(&owner).await;
    let Some(am) = alertmanager(&app.base, &token).await else {
        return;
    };
    let bot_id = dingtalk_bot(&owner, &ding).await;
    policy(&owner, "From Alertmanager", &[("chatbots", &bot_id)], "0").await;

    let alert = |ends: Option<String>| {
        let mut a = json!({
            "labels": {"alertname": "HighLatency", "service": "checkout", "severity": "critical"},
            "annotations": {"summary": "p99 over 2 s"},
            "startsAt": "2026-01-01T00:00:00Z",
        });
        if let Some(e) = ends {
            a["endsAt"] = json!(e);
        }
        json!([a])
    };
    let post = |body: serde_json::Value| {
        let url = format!("{}/api/v2/alerts", am.base);
        async move {
            let r = reqwest::Client::new()
                .post(url)
                .json(&body)
                .send()
                .await
                .expect("post to alertmanager");
            assert!(r.status().is_success(), "{}", r.status());
        }
    };
    post(alert(None)).await;
    let texts = || {
        ding.accepted()
            .iter()
            .map(|m| {
                m["markdown"]["text"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect::<Vec<_>>()
    };
    assert!(
        eventually(Duration::from_secs(20), || !texts().is_empty()).await,
        "nothing reached DingTalk"
    );
    let firing = texts()[0].clone();
    assert!(firing.contains("HighLatency"), "{firing}");
    assert!(firing.contains("p99 over 2 s"), "{firing}");
    assert!(
        firing.contains(&app.base),
        "a link back to Herald: {firing}"
    );
    owner
        .get("/alerts")
        .await
        .assert_contains("HighLatency")
        .assert_contains("Firing");

    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    post(alert(Some(now))).await;
    assert!(
        eventually(Duration::from_secs(20), || texts().len() >= 2).await,
        "the resolve did not reach DingTalk: {:?}",
        texts()
    );
    let resolved = ding.accepted()[1].clone();
    let words = resolved.to_string().to_lowercase();
    assert!(words.contains("resolved"), "{resolved}");
    owner.get("/alerts").await.assert_contains("Resolved");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alertmanager_to_herald_to_dingtalk_on_sqlite() {
    an_alert_through_alertmanager_reaches_dingtalk_and_so_does_its_resolve(Kind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alertmanager_to_herald_to_dingtalk_on_postgres() {
    an_alert_through_alertmanager_reaches_dingtalk_and_so_does_its_resolve(Kind::Postgres).await;
}
