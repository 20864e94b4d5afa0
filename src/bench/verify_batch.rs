//! `herald bench --verify-batch`: Batch Verify of every seeded contact against a loopback
//! Alibaba-Cloud-compatible SMS endpoint that checks each request's signature. Reports the
//! time until the last SMS request reached the provider, peak RSS, and how the console answered
//! while the batch ran.

use std::net::TcpListener;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use actix_web::{App, HttpResponse, HttpServer, web};
use anyhow::{Context, bail};

use crate::channels::aliyun::{self, AliyunConfig};
use crate::config::{PhoneProvider, Settings};
use crate::store::Db;

const KEY_ID: &str = "bench-key";
const SECRET: &str = "bench-secret";

#[derive(Default)]
struct Sink {
    accepted: AtomicU64,
    bad_signatures: AtomicU64,
    last: Mutex<Option<Instant>>,
}

async fn sms_endpoint(body: web::Bytes, sink: web::Data<Sink>) -> HttpResponse {
    let mut params: Vec<(String, String)> =
        url::form_urlencoded::parse(&body).into_owned().collect();
    let given = params
        .iter()
        .position(|(k, _)| k == "Signature")
        .map(|i| params.remove(i).1);
    if given.as_deref() != Some(aliyun::signature("POST", &params, SECRET).as_str()) {
        sink.bad_signatures.fetch_add(1, Ordering::Relaxed);
        return HttpResponse::BadRequest()
            .json(serde_json::json!({"Code": "SignatureDoesNotMatch", "Message": "bench sink"}));
    }
    sink.accepted.fetch_add(1, Ordering::Relaxed);
    *sink.last.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
    HttpResponse::Ok().json(serde_json::json!({"Code": "OK", "Message": "OK", "BizId": "bench"}))
}

fn start_sink() -> anyhow::Result<(String, web::Data<Sink>)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}/", listener.local_addr()?);
    let sink = web::Data::new(Sink::default());
    let data = sink.clone();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = HttpServer::new(move || {
                App::new()
                    .app_data(data.clone())
                    .route("/", web::post().to(sms_endpoint))
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

/// Peak resident memory of this process (Herald, the sink and the driver) since the last reset.
pub(super) fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

pub(super) fn reset_peak_rss() {
    // Linux: writing 5 resets VmHWM to the current RSS.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

pub(super) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

pub fn run(db: Db, url: String, contacts: u32, concurrency: usize) -> anyhow::Result<()> {
    let (sink_url, sink) = start_sink()?;
    let base = super::serve(db, url, |s| {
        *s = Settings {
            database_url: s.database_url.clone(),
            public_url: s.public_url.clone(),
            bind: s.bind.clone(),
            sms_provider: PhoneProvider::Aliyun,
            aliyun: AliyunConfig {
                access_key_id: KEY_ID.into(),
                access_key_secret: SECRET.into(),
                sms_endpoint: sink_url,
                sms_sign_name: "Herald".into(),
                sms_template_verify: "SMS_BENCH".into(),
                ..AliyunConfig::default()
            },
            send_concurrency: concurrency,
            // The sink is on loopback.
            allow_private_targets: true,
            ..Settings::default()
        }
    })?;

    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        let cookie = super::sign_in(&base).await?;
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let get = |path: &str| {
            client
                .get(format!("{base}{path}"))
                .header("Cookie", cookie.clone())
                .send()
        };
        let page = get("/contacts").await?.text().await?;
        let marker = "name=\"csrf_token\" value=\"";
        let start = page.find(marker).context("no csrf token")? + marker.len();
        let token = page[start..start + 64].to_string();

        reset_peak_rss();
        let rss_before = peak_rss_mib();
        let started = Instant::now();
        let resp = client
            .post(format!("{base}/contacts/verify"))
            .header("Cookie", cookie.clone())
            .form(&[("scope", "matching"), ("q", ""), ("csrf_token", &token)])
            .send()
            .await?;
        let batch = resp
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .context("no batch page")?
            .to_string();
        let accepted_at = started.elapsed();

        // While it runs, a person keeps using the console: time each list view.
        let mut latencies = Vec::new();
        let progress = loop {
            let t = Instant::now();
            let r = get("/contacts?q=person+12").await?;
            if !r.status().is_success() {
                bail!("console answered {} during the batch", r.status());
            }
            r.bytes().await?;
            latencies.push(t.elapsed());
            let p: serde_json::Value = get(&format!("{batch}/progress")).await?.json().await?;
            if p["state"] != "running" {
                break p;
            }
            if started.elapsed() > Duration::from_secs(300) {
                bail!("batch still running after 5 minutes: {p}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let finished = started.elapsed();
        let last_sms = sink
            .last
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .map(|t| t.duration_since(started));
        latencies.sort();
        println!("Batch Verify of {contacts} contacts, {concurrency} sends in flight, loopback Alibaba Cloud SMS endpoint checking signatures:");
        println!("  POST answered (batch started)      {:>8.1} ms", accepted_at.as_secs_f64() * 1e3);
        if let Some(t) = last_sms {
            println!("  last SMS request reached provider  {:>8.2} s", t.as_secs_f64());
        }
        println!("  batch marked finished              {:>8.2} s", finished.as_secs_f64());
        println!(
            "  provider accepted {} requests, {} bad signatures; batch says sent {} failed {}",
            sink.accepted.load(Ordering::Relaxed),
            sink.bad_signatures.load(Ordering::Relaxed),
            progress["sent"],
            progress["failed"]
        );
        if let (Some(before), Some(peak)) = (rss_before, peak_rss_mib()) {
            println!("  peak RSS during the batch          {peak:>8.1} MiB (at start {before:.1} MiB; Herald, sink and driver share this process)");
        }
        println!(
            "  console during the batch: {} list searches, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            latencies.len(),
            percentile(&latencies, 0.5).as_secs_f64() * 1e3,
            percentile(&latencies, 0.99).as_secs_f64() * 1e3,
            latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3
        );
        Ok(())
    })
}
