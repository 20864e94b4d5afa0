//! `herald bench --today N`: the Today page over a workspace holding N alerts.
//!
//! The alerts go in through the store's own ingest (`alerts::apply`), spread evenly over the
//! last 24 hours so every one of them falls inside the chart and most inside today; a third are
//! resolved. One notification per ten alerts carries one delivery per alert, over every
//! channel: most delivered, some failed or refused, a few waiting for a retry (due in a year, so
//! the engine leaves them be). Ten policies name twenty of the seeded contacts each by phone and
//! email; the contacts are unverified, so readiness has 200 contacts and 10 policies to list.
//! Then Herald serves, one signed-in client asks for `/` one request at a time, and the figures
//! are the latency of those requests (p50, p95, max), then wrk's throughput at 4 connections.

use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::domain::alert::{AlertStatus, IncomingAlert, Labels};
use crate::domain::policy::{NotifyMethod, Target};
use crate::store::alerts::{self, Source};
use crate::store::outbox::{self, NewDelivery, NewNotification};
use crate::store::policies::{self, PolicyInput};
use crate::store::schema::{contacts, workspaces};
use crate::store::{ContactId, Db, DeliveryId, NotificationId, WorkspaceId, users};

const CHUNK: usize = 1_000;
const CHANNELS: [&str; 5] = ["phone", "sms", "email", "chatbot", "webhook"];
const SAMPLES: usize = 200;

fn seed(db: &Db, n: usize) -> anyhow::Result<()> {
    let mut conn = db.get()?;
    let ws: WorkspaceId = workspaces::table.select(workspaces::id).first(&mut *conn)?;
    let owner = users::find_by_email(&mut conn, "bench@example.com")?.context("bench owner")?;
    let people: Vec<ContactId> = contacts::table
        .filter(contacts::workspace_id.eq(&ws))
        .select(contacts::id)
        .limit(200)
        .load(&mut *conn)?;
    for (i, group) in people.chunks(20).enumerate() {
        let input = PolicyInput {
            name: format!("On call {i}"),
            enabled: true,
            matchers: vec![],
            methods: vec![NotifyMethod::Phone, NotifyMethod::Email],
            mention: false,
            notify_resolved: true,
            group_by: vec!["alertname".into()],
            repeat_minutes: 240,
            group_wait_secs: 30,
            group_interval_secs: 300,
            targets: group.iter().cloned().map(Target::Contact).collect(),
        };
        policies::save(&mut conn, &ws, &owner.id, None, &input)
            .map_err(|e| anyhow::anyhow!("policy: {e:?}"))?;
    }

    let now = crate::store::now();
    let span = Duration::from_secs(24 * 3600);
    let at = |i: usize| -> NaiveDateTime {
        let back = span.mul_f64((n - i) as f64 / n as f64);
        now - chrono::Duration::from_std(back).unwrap_or_default()
    };
    let mut next = 0;
    while next < n {
        let end = (next + CHUNK).min(n);
        crate::store::write_transaction(&mut conn, |c| {
            let mut named = Vec::new();
            let mut planned = Vec::new();
            let mut notes = Vec::new();
            // Ten alerts at a time, received together, told of by one notification.
            for first in (next..end).step_by(10) {
                let received = at(first);
                let batch: Vec<IncomingAlert> = (first..(first + 10).min(end))
                    .map(|i| incoming(i, received, now))
                    .collect();
                let (_, changed) = alerts::apply(c, &ws, Source::AlertsApi, &batch, received)?;
                let note = NewNotification {
                    id: NotificationId::new(),
                    workspace_id: ws.clone(),
                    policy_id: None,
                    policy_name: "On call 0".into(),
                    status: "firing",
                    payload: "{}".into(),
                    created_at: received,
                    received_at: received,
                };
                for (k, ch) in changed.into_iter().enumerate() {
                    let i = first + k;
                    named.push((note.id.clone(), ch.alert));
                    let state = match i % 20 {
                        0 | 1 => "failed",
                        2 => "refused",
                        3 => "retrying",
                        _ => "delivered",
                    };
                    let waiting = state == "retrying";
                    planned.push(NewDelivery {
                        id: DeliveryId::new(),
                        workspace_id: ws.clone(),
                        notification_id: note.id.clone(),
                        channel: CHANNELS[i % CHANNELS.len()],
                        target_id: String::new(),
                        recipient: format!("Person {}", i % 200),
                        address: None,
                        state,
                        due_at: if waiting {
                            now + chrono::Duration::days(365)
                        } else {
                            received
                        },
                        lease_until: None,
                        attempts: 1,
                        last_outcome: (state != "delivered").then(|| "HTTP 500".to_string()),
                        created_at: received,
                        finished_at: (!waiting).then_some(received),
                        replaces_id: None,
                        hop: None,
                        meant_for: None,
                        note: None,
                        mentions: None,
                    });
                }
                notes.push(note);
            }
            outbox::enqueue(c, &notes, &named, &planned)
        })?;
        next = end;
    }
    if matches!(db.backend(), crate::store::Backend::Postgres) {
        for t in ["alerts", "alert_events", "notifications", "deliveries"] {
            diesel::sql_query(format!("VACUUM ANALYZE {t}")).execute(&mut conn)?;
        }
    }
    Ok(())
}

/// Alert `i` of the seed: forty alertnames, one instance each, a third resolved five minutes
/// after they began.
fn incoming(i: usize, received: NaiveDateTime, now: NaiveDateTime) -> IncomingAlert {
    let mut labels = Labels::new();
    labels.insert("alertname".into(), format!("Alert{}", i % 40));
    labels.insert("instance".into(), format!("host-{i}"));
    labels.insert("severity".into(), ["critical", "warning"][i % 2].into());
    let resolved = i.is_multiple_of(3);
    IncomingAlert {
        labels,
        annotations: Labels::new(),
        status: if resolved {
            AlertStatus::Resolved
        } else {
            AlertStatus::Firing
        },
        starts_at: received,
        starts_at_stated: true,
        ends_at: Some(if resolved {
            (received + chrono::Duration::minutes(5)).min(now)
        } else {
            now + chrono::Duration::days(365)
        }),
        generator_url: None,
    }
}

pub fn run(db: Db, url: String, n: usize, args: &super::BenchArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    seed(&db, n)?;
    println!(
        "seeded {n} alerts over the last 24 hours, {n} deliveries, 10 policies in {:.1} s ({})",
        started.elapsed().as_secs_f64(),
        db.backend_name()
    );
    let base = super::serve(db, url, |_| {})?;
    let rt = tokio::runtime::Runtime::new()?;
    let cookie = rt.block_on(super::sign_in(&base))?;
    let mut took: Vec<f64> = rt.block_on(async {
        let client = reqwest::Client::new();
        let mut took = Vec::with_capacity(SAMPLES);
        for i in 0..SAMPLES + 5 {
            let t = Instant::now();
            let resp = client
                .get(format!("{base}/"))
                .header("Cookie", &cookie)
                .send()
                .await?;
            let status = resp.status();
            let body = resp.text().await?;
            anyhow::ensure!(
                status.is_success() && body.contains("hourly-chart"),
                "GET / answered {status}"
            );
            // The first few warm the caches and the pool.
            if i >= 5 {
                took.push(t.elapsed().as_secs_f64() * 1000.0);
            }
        }
        Ok::<_, anyhow::Error>(took)
    })?;
    took.sort_by(|a, b| a.total_cmp(b));
    let pick = |q: f64| took[((took.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "GET / one at a time, {SAMPLES} requests: p50 {:.2} ms   p95 {:.2} ms   max {:.2} ms",
        pick(0.5),
        pick(0.95),
        pick(1.0)
    );
    let mut script = tempfile::NamedTempFile::new()?;
    std::io::Write::write_all(&mut script, super::WRK_SCRIPT.as_bytes())?;
    let load = super::BenchArgs {
        connections: 4,
        ..args.clone()
    };
    match super::wrk(&format!("{base}/"), &cookie, &load, script.path(), "GET /") {
        Ok(f) => println!(
            "GET / under load, 4 connections, {} s: {:.0} req/s   p50 {:.2} ms   p99 {:.2} ms   errors {}",
            args.seconds, f.requests_per_sec, f.p50_ms, f.p99_ms, f.non_2xx
        ),
        Err(e) => println!("(no throughput figure: {e:#})"),
    }
    Ok(())
}
