//! `herald bench --ingest N[,N…]`: alerts in, webhooks out, end to end.
//!
//! For each N: N distinct alerts (one alertname each; the policy groups by alertname with no
//! group wait, so one webhook per alert) posted in batches of 100 to `/api/v2/alerts` by a few
//! concurrent senders; alerts/s counts from the first post to the last webhook received by a
//! loopback sink, so every alert and its delivery were committed before they count. Then a
//! steady 200 alerts/s, one per request, for the alert→webhook latency. The same runs go to
//! Debian's `prometheus-alertmanager` when it is installed, side by side.
//!
//! Herald, the sink and the posting client share this process (and its peak RSS figure);
//! Alertmanager runs as its own process, with its own RSS read from /proc.

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpResponse, HttpServer, web};
use anyhow::{Context, bail};
use diesel::prelude::*;

use crate::domain::ObjectName;
use crate::domain::policy::Target;
use crate::domain::webhook::{Method, WebhookInput};
use crate::store::policies::{self, PolicyInput};
use crate::store::schema::workspaces;
use crate::store::{Db, WorkspaceId, api_tokens, users, webhooks};

const BATCH: usize = 100;
const SENDERS: usize = 4;
const STEADY_RATE: u64 = 200;
const STEADY_SECS: u64 = 5;
const ALERTMANAGER: &str = "/usr/bin/prometheus-alertmanager";

/// When each alertname first arrived at the sink.
#[derive(Default)]
struct Arrivals {
    first: HashMap<String, Instant>,
    requests: usize,
}

type Sink = Arc<Mutex<Arrivals>>;

/// The alertnames a webhook body names: Herald's plain text (`[FIRING:1] Name`) or
/// Alertmanager's JSON.
fn names(body: &[u8]) -> Vec<String> {
    if body.first() == Some(&b'{') {
        let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        return v["alerts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a["labels"]["alertname"].as_str().map(str::to_owned))
            .collect();
    }
    let text = String::from_utf8_lossy(body);
    let first = text.lines().next().unwrap_or_default();
    first
        .split_once("] ")
        .map(|(_, n)| vec![n.trim().to_string()])
        .unwrap_or_default()
}

async fn receive(body: web::Bytes, sink: web::Data<Sink>) -> HttpResponse {
    let now = Instant::now();
    let mut s = sink.lock().unwrap_or_else(|p| p.into_inner());
    s.requests += 1;
    for n in names(&body) {
        s.first.entry(n).or_insert(now);
    }
    HttpResponse::Ok().finish()
}

fn start_sink() -> anyhow::Result<(String, Sink)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    let sink: Sink = Arc::default();
    let data = web::Data::new(sink.clone());
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = HttpServer::new(move || {
                App::new()
                    .app_data(data.clone())
                    .default_service(web::to(receive))
            })
            .workers(1)
            .listen(listener);
            match server {
                Ok(s) => {
                    let _ = s.run().await;
                }
                Err(e) => eprintln!("sink: {e}"),
            }
        })
    });
    Ok((url, sink))
}

/// Where alerts are posted, and how.
struct Receiver {
    label: &'static str,
    endpoint: String,
    auth: Option<String>,
}

fn batches(prefix: &str, n: usize) -> Vec<String> {
    (0..n.div_ceil(BATCH))
        .map(|b| {
            let batch: Vec<serde_json::Value> = (b * BATCH..((b + 1) * BATCH).min(n))
                .map(|i| serde_json::json!({"labels": {"alertname": format!("{prefix}{i}"), "instance": "host-1", "severity": "critical"}}))
                .collect();
            serde_json::Value::Array(batch).to_string()
        })
        .collect()
}

async fn send(client: &reqwest::Client, to: &Receiver, body: String) -> anyhow::Result<()> {
    let mut r = client
        .post(&to.endpoint)
        .header("Content-Type", "application/json")
        .body(body);
    if let Some(a) = &to.auth {
        r = r.header("Authorization", a);
    }
    let answer = r.send().await?;
    anyhow::ensure!(
        answer.status().is_success(),
        "{} answered {}",
        to.label,
        answer.status()
    );
    Ok(())
}

/// Waits until every one of `wanted` reached the sink (which held `floor` names before); answers when the last did. Checks the
/// cheap count first, so the waiting does not compete with what is measured.
async fn wait_for(
    sink: &Sink,
    floor: usize,
    wanted: Vec<String>,
    limit: Duration,
) -> anyhow::Result<Instant> {
    let until = Instant::now() + limit;
    loop {
        {
            let s = sink.lock().unwrap_or_else(|p| p.into_inner());
            if s.first.len() >= floor + wanted.len() || Instant::now() > until {
                let times: Vec<Instant> = wanted
                    .iter()
                    .filter_map(|n| s.first.get(n).copied())
                    .collect();
                if times.len() == wanted.len() {
                    return Ok(times.into_iter().max().unwrap_or_else(Instant::now));
                }
                if Instant::now() > until {
                    bail!(
                        "only {} of {} alerts reached the sink",
                        times.len(),
                        wanted.len()
                    );
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Alerts/s of one run: to the last post's answer (everything committed), and to the last
/// webhook received.
struct Rates {
    accepted: f64,
    delivered: f64,
}

/// N alerts in batches by concurrent senders.
async fn throughput(
    client: &reqwest::Client,
    to: &Arc<Receiver>,
    sink: &Sink,
    prefix: &str,
    n: usize,
) -> anyhow::Result<Rates> {
    let bodies = batches(prefix, n);
    let floor = sink.lock().unwrap_or_else(|p| p.into_inner()).first.len();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for s in 0..SENDERS {
        let mine: Vec<String> = bodies.iter().skip(s).step_by(SENDERS).cloned().collect();
        let (client, to) = (client.clone(), Arc::clone(to));
        tasks.push(tokio::spawn(async move {
            for body in mine {
                send(&client, &to, body).await?;
            }
            Ok::<_, anyhow::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let accepted = started.elapsed();
    let last = wait_for(
        sink,
        floor,
        (0..n).map(|i| format!("{prefix}{i}")).collect(),
        Duration::from_secs(600),
    )
    .await?;
    Ok(Rates {
        accepted: n as f64 / accepted.as_secs_f64(),
        delivered: n as f64 / (last - started).as_secs_f64(),
    })
}

/// One alert per request at a steady rate; alert→webhook latency p50 and p99.
async fn latency(
    client: &reqwest::Client,
    to: &Arc<Receiver>,
    sink: &Sink,
    prefix: &str,
) -> anyhow::Result<(Duration, Duration)> {
    let n = (STEADY_RATE * STEADY_SECS) as usize;
    let floor = sink.lock().unwrap_or_else(|p| p.into_inner()).first.len();
    let mut sent = Vec::with_capacity(n);
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / STEADY_RATE));
    let mut tasks = Vec::new();
    for i in 0..n {
        tick.tick().await;
        let body = serde_json::json!([{"labels": {"alertname": format!("{prefix}{i}"), "severity": "critical"}}]).to_string();
        sent.push(Instant::now());
        let (client, to) = (client.clone(), Arc::clone(to));
        tasks.push(tokio::spawn(async move { send(&client, &to, body).await }));
    }
    for t in tasks {
        t.await??;
    }
    wait_for(
        sink,
        floor,
        (0..n).map(|i| format!("{prefix}{i}")).collect(),
        Duration::from_secs(120),
    )
    .await?;
    let s = sink.lock().unwrap_or_else(|p| p.into_inner());
    let mut lat: Vec<Duration> = (0..n)
        .filter_map(|i| {
            s.first
                .get(&format!("{prefix}{i}"))
                .map(|at| at.saturating_duration_since(sent[i]))
        })
        .collect();
    lat.sort();
    Ok((
        super::verify_batch::percentile(&lat, 0.5),
        super::verify_batch::percentile(&lat, 0.99),
    ))
}

struct Alertmanager {
    child: std::process::Child,
    endpoint: String,
    _dir: tempfile::TempDir,
}

impl Alertmanager {
    fn peak_rss_mib(&self) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let kb: f64 = status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()?;
        Some(kb / 1024.0)
    }
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_alertmanager(sink_url: &str) -> anyhow::Result<Option<Alertmanager>> {
    if !std::path::Path::new(ALERTMANAGER).exists() {
        return Ok(None);
    }
    let dir = tempfile::tempdir()?;
    let config = format!(
        "route:\n  receiver: sink\n  group_by: [alertname]\n  group_wait: 0s\n  group_interval: 1m\n  repeat_interval: 1h\nreceivers:\n  - name: sink\n    webhook_configs:\n      - url: {sink_url}\n"
    );
    std::fs::write(dir.path().join("am.yml"), config)?;
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let child = std::process::Command::new(ALERTMANAGER)
        .arg(format!(
            "--config.file={}",
            dir.path().join("am.yml").display()
        ))
        .arg(format!("--storage.path={}", dir.path().display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .context("starting prometheus-alertmanager")?;
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if reqwest::get(format!("{base}/-/ready"))
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return Ok(Some(Alertmanager {
                child,
                endpoint: format!("{base}/api/v2/alerts"),
                _dir: dir,
            }));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("prometheus-alertmanager did not become ready")
}

/// The bench workspace's token, and its one policy: every alert, grouped by alertname, no
/// group wait, to one webhook at the sink.
fn prepare(db: &Db, sink_url: &str) -> anyhow::Result<String> {
    let mut conn = db.get()?;
    let ws: WorkspaceId = workspaces::table.select(workspaces::id).first(&mut *conn)?;
    let owner = users::find_by_email(&mut conn, "bench@example.com")?.context("bench owner")?;
    let hook = webhooks::save(
        &mut conn,
        &ws,
        &owner.id,
        None,
        &WebhookInput {
            name: ObjectName::parse("Bench sink").map_err(|e| anyhow::anyhow!("{e}"))?,
            method: Method::Post,
            url: sink_url.to_string(),
            pairs: vec![],
            template: String::new(),
            resolve_template: String::new(),
        },
    )
    .map_err(|e| anyhow::anyhow!("webhook: {e:?}"))?;
    let input = PolicyInput {
        name: "Bench".into(),
        enabled: true,
        matchers: vec![],
        methods: vec![],
        mention: false,
        notify_resolved: false,
        group_by: vec!["alertname".into()],
        repeat_minutes: 240,
        group_wait_secs: 0,
        group_interval_secs: 60,
        targets: vec![Target::Webhook(hook)],
    };
    policies::save(&mut conn, &ws, &owner.id, None, &input)
        .map_err(|e| anyhow::anyhow!("policy: {e:?}"))?;
    let token = api_tokens::create(&mut conn, &ws, "bench", &owner.id)?;
    Ok(format!("Bearer {}", token.expose()))
}

pub fn run(db: Db, url: String, sizes: &[usize]) -> anyhow::Result<()> {
    let (sink_url, sink) = start_sink()?;
    let auth = prepare(&db, &sink_url)?;
    let backend = db.backend_name();
    let base = super::serve(db, url, |s| s.allow_private_targets = true)?;
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        let client = reqwest::Client::new();
        for _ in 0..50 {
            if client.get(format!("{base}/healthz")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let herald = Arc::new(Receiver { label: "Herald", endpoint: format!("{base}/api/v2/alerts"), auth: Some(auth) });
        let am = start_alertmanager(&sink_url).await?;
        let am_receiver = am.as_ref().map(|a| Arc::new(Receiver { label: "Alertmanager", endpoint: a.endpoint.clone(), auth: None }));
        if am.is_none() {
            println!("({ALERTMANAGER} not installed: Herald only)");
        }
        println!("end to end, post → webhook received, one webhook per alert, batches of {BATCH}, {SENDERS} senders; Herald on {backend}");
        let mut first_rate = None;
        for &n in sizes {
            super::verify_batch::reset_peak_rss();
            let h = throughput(&client, &herald, &sink, &format!("H{n}x"), n).await?;
            let rss = super::verify_batch::peak_rss_mib().unwrap_or(0.0);
            let flat = first_rate.get_or_insert(h.delivered);
            let mut line = format!("N = {n:>6}: Herald {:>7.0} alerts/s ({:>3.0} % of the first size; accepted at {:.0}/s), peak RSS {rss:.0} MiB", h.delivered, 100.0 * h.delivered / *flat, h.accepted);
            if let Some(to) = &am_receiver {
                let a = throughput(&client, to, &sink, &format!("A{n}x"), n).await?;
                line.push_str(&format!("   Alertmanager {:>7.0} alerts/s (accepted at {:.0}/s)   Herald/Alertmanager {:.2}×", a.delivered, a.accepted, h.delivered / a.delivered));
            }
            println!("{line}");
        }
        let (p50, p99) = latency(&client, &herald, &sink, "HS").await?;
        let mut line = format!(
            "steady {STEADY_RATE} alerts/s for {STEADY_SECS} s: Herald p50 {:.1} ms, p99 {:.1} ms",
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3
        );
        if let Some(to) = &am_receiver {
            let (a50, a99) = latency(&client, to, &sink, "AS").await?;
            line.push_str(&format!(
                "   Alertmanager p50 {:.1} ms, p99 {:.1} ms",
                a50.as_secs_f64() * 1e3,
                a99.as_secs_f64() * 1e3
            ));
        }
        println!("{line}");
        if let Some(a) = &am {
            println!("Alertmanager peak RSS {:.0} MiB", a.peak_rss_mib().unwrap_or(0.0));
        }
        println!("sink requests: {}", sink.lock().unwrap_or_else(|p| p.into_inner()).requests);
        Ok(())
    })
}
