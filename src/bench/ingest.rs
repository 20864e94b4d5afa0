//! `herald bench --ingest N`: N distinct alerts posted in batches of 100 to `/api/v2/alerts`
//! by a few concurrent senders; reports alerts/s committed (each request answers only after
//! its transaction committed), request latency and peak RSS. Ingest only: the delivery engine
//! is not built yet, so this is the floor under the end-to-end figure, not that figure.

use std::time::{Duration, Instant};

use anyhow::Context;
use diesel::prelude::*;

use crate::store::schema::workspaces;
use crate::store::{Db, WorkspaceId, api_tokens, users};

const BATCH: usize = 100;
const SENDERS: usize = 4;

pub fn run(db: Db, url: String, alerts: usize) -> anyhow::Result<()> {
    let token = {
        let mut conn = db.get()?;
        let ws: WorkspaceId = workspaces::table.select(workspaces::id).first(&mut *conn)?;
        let owner = users::find_by_email(&mut conn, "bench@example.com")?.context("bench owner")?;
        api_tokens::create(&mut conn, &ws, "bench", &owner.id)?
    };
    let base = super::serve(db.clone(), url, |_| {})?;
    let bodies: Vec<String> = (0..alerts.div_ceil(BATCH))
        .map(|b| {
            let batch: Vec<serde_json::Value> = (b * BATCH..((b + 1) * BATCH).min(alerts))
                .map(|i| serde_json::json!({"labels": {"alertname": format!("Bench{}", i % 50), "instance": format!("host-{i}"), "severity": "critical"}}))
                .collect();
            serde_json::Value::Array(batch).to_string()
        })
        .collect();
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        let client = reqwest::Client::new();
        let endpoint = format!("{base}/api/v2/alerts");
        // Wait for the server.
        for _ in 0..50 {
            if client.get(format!("{base}/healthz")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        super::verify_batch::reset_peak_rss();
        let started = Instant::now();
        let chunks: Vec<Vec<String>> = (0..SENDERS)
            .map(|s| bodies.iter().skip(s).step_by(SENDERS).cloned().collect())
            .collect();
        let mut tasks = Vec::new();
        for chunk in chunks {
            let (client, endpoint, auth) = (client.clone(), endpoint.clone(), format!("Bearer {}", token.expose()));
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                for body in chunk {
                    let t = Instant::now();
                    let r = client
                        .post(&endpoint)
                        .header("Authorization", &auth)
                        .header("Content-Type", "application/json")
                        .body(body)
                        .send()
                        .await?;
                    anyhow::ensure!(r.status().is_success(), "ingest answered {}", r.status());
                    latencies.push(t.elapsed());
                }
                Ok::<_, anyhow::Error>(latencies)
            }));
        }
        let mut latencies = Vec::new();
        for t in tasks {
            latencies.extend(t.await??);
        }
        let elapsed = started.elapsed();
        latencies.sort();
        let stored: i64 = {
            let mut conn = db.get()?;
            crate::store::schema::alerts::table.count().get_result(&mut *conn)?
        };
        println!(
            "ingest {} ({}): {alerts} alerts in {} requests of {BATCH} by {SENDERS} senders: {:.2} s, {:.0} alerts/s committed; request p50 {:.1} ms, p99 {:.1} ms; {stored} alerts stored; peak RSS {:.0} MiB",
            db.backend_name(),
            alerts,
            latencies.len(),
            elapsed.as_secs_f64(),
            alerts as f64 / elapsed.as_secs_f64(),
            super::verify_batch::percentile(&latencies, 0.5).as_secs_f64() * 1e3,
            super::verify_batch::percentile(&latencies, 0.99).as_secs_f64() * 1e3,
            super::verify_batch::peak_rss_mib().unwrap_or(0.0),
        );
        Ok(())
    })
}
