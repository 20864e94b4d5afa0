//! Herald as real processes: `kill -9` in the middle of thousands of deliveries loses none, and
//! two processes on one PostgreSQL database send each delivery once.

use std::collections::{HashMap, HashSet};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use diesel::prelude::*;
use herald::store::Db;
use herald::store::schema::deliveries;
use serde_json::{Value, json};

use crate::delivery::{eventually, policy, post_alerts, sink, token, webhook};
use crate::helpers::{Kind, TestApp, TestDb};

/// A `herald` process of this build on `db`.
struct Herald {
    child: Child,
    base: String,
}

impl Herald {
    async fn start(db: &TestDb, lease_secs: &str) -> Herald {
        let port = TcpListener::bind("127.0.0.1:0")
            .expect("port")
            .local_addr()
            .expect("addr")
            .port();
        let base = format!("http://127.0.0.1:{port}");
        let child = Command::new(env!("CARGO_BIN_EXE_herald"))
            .env("HERALD_DATABASE_URL", &db.url)
            .env("HERALD_BIND", format!("127.0.0.1:{port}"))
            .env("HERALD_PUBLIC_URL", &base)
            .env("HERALD_ALLOW_PRIVATE_TARGETS", "true")
            .env("HERALD_DELIVERY_LEASE_SECS", lease_secs)
            .env("HERALD_PROVIDER_TIMEOUT_SECS", "2")
            .env_remove("HERALD_CONFIG")
            .current_dir(std::env::temp_dir())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start herald");
        let up = format!("{base}/healthz");
        let mut ready = false;
        for _ in 0..300 {
            if reqwest::get(&up)
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(ready, "herald did not start on {base}");
        Herald { child, base }
    }

    /// The console of this process, as the tests' app handle.
    fn app(&self, kind: Kind, db: &Arc<TestDb>) -> TestApp {
        TestApp {
            base: self.base.clone(),
            db: Db::connect(&db.url, 2).expect("db"),
            kind,
            test_db: Arc::clone(db),
        }
    }

    fn kill9(&mut self) {
        // `Child::kill` is SIGKILL on Unix: no shutdown code runs.
        self.child.kill().expect("kill -9");
        let _ = self.child.wait();
    }
}

impl Drop for Herald {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn alerts(from: usize, to: usize) -> Vec<Value> {
    (from..to)
        .map(|i| json!({"labels": {"alertname": format!("Load{i}"), "instance": "web-1"}}))
        .collect()
}

async fn post_in_batches(base: &str, token: &str, all: &[Value]) {
    for batch in all.chunks(100) {
        post_alerts(base, token, &Value::Array(batch.to_vec())).await;
    }
}

fn delivered(db: &Db) -> (i64, i64) {
    let mut conn = db.get().expect("conn");
    let all: i64 = deliveries::table
        .count()
        .get_result(&mut *conn)
        .expect("all");
    let done: i64 = deliveries::table
        .filter(deliveries::state.eq("delivered"))
        .count()
        .get_result(&mut *conn)
        .expect("done");
    (all, done)
}

async fn kill_9_in_the_middle_of_deliveries_loses_none(kind: Kind) {
    const N: usize = 2_000;
    let Some(db) = TestDb::create(kind).map(Arc::new) else {
        return;
    };
    let sink = sink();
    let mut first = Herald::start(&db, "3").await;
    let app = first.app(kind, &db);
    let owner = app.owner().await;
    let token = token(&owner).await;
    let hook = webhook(&owner, "Slow sink", &sink.url("/slow")).await;
    policy(&owner, "Everything", &[("webhooks", &hook)], "0").await;
    post_in_batches(&first.base, &token, &alerts(0, N)).await;
    // Every alert was committed with its delivery before its 2xx.
    assert_eq!(delivered(&app.db).0, N as i64);

    assert!(eventually(Duration::from_secs(30), || sink.hits("/slow").len() >= 50).await);
    first.kill9();
    let before = sink.hits("/slow").len();
    assert!(
        before < N,
        "the kill came too late to test anything ({before} sent)"
    );

    eprintln!("{before} of {N} sent before kill -9");
    let second = Herald::start(&db, "3").await;
    let keys = || {
        sink.hits("/slow")
            .into_iter()
            .map(|h| h.key)
            .collect::<HashSet<_>>()
    };
    assert!(
        eventually(Duration::from_secs(120), || keys().len() == N).await,
        "{} of {N} deliveries arrived after the restart",
        keys().len()
    );
    assert!(
        eventually(Duration::from_secs(10), || delivered(&app.db)
            == (N as i64, N as i64))
        .await,
        "{:?}",
        delivered(&app.db)
    );
    let stored: HashSet<String> = {
        let mut conn = app.db.get().expect("conn");
        deliveries::table
            .select(deliveries::id)
            .load::<String>(&mut *conn)
            .expect("ids")
            .into_iter()
            .collect()
    };
    assert_eq!(
        stored,
        keys(),
        "every stored delivery arrived under its own key"
    );
    // Only what the killed process held (at most 2 workers × a batch of 200) arrives twice.
    let hits = sink.hits("/slow").len();
    eprintln!("{hits} requests for {N} deliveries");
    assert!(hits - N <= 400, "{hits} hits for {N} deliveries");
    drop(second);
}

async fn two_processes_on_one_postgresql_send_each_delivery_once() {
    const N: usize = 2_000;
    let kind = Kind::Postgres;
    let Some(db) = TestDb::create(kind).map(Arc::new) else {
        return;
    };
    let sink = sink();
    let one = Herald::start(&db, "60").await;
    let two = Herald::start(&db, "60").await;
    let app = one.app(kind, &db);
    let owner = app.owner().await;
    let token = token(&owner).await;
    let hook = webhook(&owner, "Sink", &sink.url("/ok")).await;
    policy(&owner, "Everything", &[("webhooks", &hook)], "0").await;
    // Half the alerts through each process; both deliver.
    let (a, b) = (alerts(0, N / 2), alerts(N / 2, N));
    let (base_one, base_two) = (one.base.clone(), two.base.clone());
    let (t1, t2) = (token.clone(), token.clone());
    let left = tokio::spawn(async move { post_in_batches(&base_one, &t1, &a).await });
    let right = tokio::spawn(async move { post_in_batches(&base_two, &t2, &b).await });
    left.await.expect("left");
    right.await.expect("right");
    assert!(
        eventually(Duration::from_secs(60), || sink.hits("/ok").len() >= N).await,
        "{} of {N} arrived",
        sink.hits("/ok").len()
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let hits = sink.hits("/ok");
    let mut per_key: HashMap<&str, usize> = HashMap::new();
    for h in &hits {
        *per_key.entry(h.key.as_str()).or_default() += 1;
    }
    let twice: Vec<_> = per_key.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "sent more than once: {twice:?}");
    assert_eq!(per_key.len(), N);
    assert_eq!(delivered(&app.db), (N as i64, N as i64));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_loses_nothing_on_sqlite() {
    kill_9_in_the_middle_of_deliveries_loses_none(Kind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_loses_nothing_on_postgres() {
    kill_9_in_the_middle_of_deliveries_loses_none(Kind::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_one_postgresql() {
    two_processes_on_one_postgresql_send_each_delivery_once().await;
}
