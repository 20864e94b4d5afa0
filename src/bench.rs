//! `herald bench`: the console's list page against `/healthz` under load on loopback.
//!
//! Seeds a workspace with N contacts, starts Herald in this process, signs in, then drives
//! each URL with Debian's `wrk` (one process, C connections, fixed duration) and prints
//! requests/s, p50 and p99 for each, plus the list/healthz ratios.

use std::io::Write;
use std::net::TcpListener;
use std::process::Command;
use std::sync::Arc;

use anyhow::{Context, bail};
use diesel::{Connection, RunQueryDsl};

use crate::config::Settings;
use crate::domain::{ContactName, EmailAddress, Fallback, Language, PhoneNumber};
use crate::startup::Application;
use crate::store::contacts::{self, ContactInput};
use crate::store::{Db, users};

mod ingest;
mod today;
mod verify_batch;

#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Contacts in the benchmarked workspace.
    #[arg(long, default_value_t = 10_000)]
    pub contacts: u32,
    /// Seconds of load per URL.
    #[arg(long, default_value_t = 10)]
    pub seconds: u32,
    /// Concurrent connections.
    #[arg(long, default_value_t = 16)]
    pub connections: u32,
    /// Database to seed and serve (default: a new SQLite file in a temporary directory).
    /// A PostgreSQL URL must name an empty database.
    #[arg(long)]
    pub database_url: Option<String>,
    /// More paths to measure beside the standard set (repeatable).
    #[arg(long = "path")]
    pub paths: Vec<String>,
    /// Rounds over all URLs; figures are medians.
    #[arg(long, default_value_t = 3)]
    pub rounds: u32,
    /// Measure /healthz and the --path entries only.
    #[arg(long)]
    pub only: bool,
    /// Instead of the page load test: Batch Verify every seeded contact against a loopback
    /// SMS provider, and report the time to the last SMS, peak RSS and console latency.
    #[arg(long)]
    pub verify_batch: bool,
    /// Instead of the page load test: for each size (comma-separated), post that many
    /// distinct alerts to /api/v2/alerts in batches of 100 and report alerts/s from the first
    /// post to the last webhook received, then the latency at 200 alerts/s, beside
    /// Alertmanager when it is installed.
    #[arg(long, value_delimiter = ',')]
    pub ingest: Vec<usize>,
    /// Instead of the page load test: seed this many alerts (with a delivery each) over the
    /// last 24 hours and measure the Today page (`/`), one request at a time and under load.
    #[arg(long)]
    pub today: Option<usize>,
    /// SMS sends in flight at once for --verify-batch.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
}

pub struct Figures {
    pub label: String,
    pub requests_per_sec: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub non_2xx: u64,
}

const WRK_SCRIPT: &str = r#"
done = function(summary, latency, requests)
  io.write(string.format("HERALD %d %d %d %d %d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99),
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"#;

fn seed(db: &Db, n: u32) -> anyhow::Result<()> {
    let mut conn = db.get()?;
    let email = EmailAddress::parse("bench@example.com").map_err(anyhow::Error::msg)?;
    let hash = crate::passwords::hash("bench password").map_err(|e| anyhow::anyhow!("{e}"))?;
    let (_, ws) = users::create_first_owner(&mut conn, &email, &hash, "Bench")?
        .context("the bench database must be empty")?;
    // In batches, with fresh planner statistics after the first one: PostgreSQL plans the
    // duplicate check of each insert from statistics, and a table that was empty when last
    // analysed gets sequential scans (autovacuum would analyse it in real use).
    let mut next = 0;
    while next < n {
        let end = (next + 1000).min(n);
        conn.transaction(|c| {
            for i in next..end {
                let input = ContactInput {
                    name: ContactName::parse(&format!("Person {i}")).map_err(anyhow::Error::msg)?,
                    phone: Some(
                        PhoneNumber::parse(&format!("+86139{i:08}")).map_err(anyhow::Error::msg)?,
                    ),
                    email: Some(
                        EmailAddress::parse(&format!("p{i}@corp.example.com"))
                            .map_err(anyhow::Error::msg)?,
                    ),
                    im_user_id: None,
                    language: Language::Auto,
                    fallback: Fallback::Default,
                };
                contacts::create(c, &ws, &input).map_err(|e| anyhow::anyhow!("{e}"))?;
            }
            Ok::<_, anyhow::Error>(())
        })?;
        if matches!(db.backend(), crate::store::Backend::Postgres) {
            diesel::sql_query("ANALYZE contacts").execute(&mut conn)?;
        }
        next = end;
    }
    Ok(())
}

/// Runs Herald on its own thread, as a separate process would.
/// Herald on a free loopback port, on its own thread, with `adjust`'s settings; answers its
/// base URL.
fn serve(db: Db, url: String, adjust: impl FnOnce(&mut Settings)) -> anyhow::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let base = format!("http://127.0.0.1:{port}");
    let mut settings = Settings {
        database_url: url,
        public_url: base.clone(),
        bind: format!("127.0.0.1:{port}"),
        ..Settings::default()
    };
    adjust(&mut settings);
    serve_in_background(settings, db, listener);
    Ok(base)
}

fn serve_in_background(settings: Settings, db: Db, listener: TcpListener) {
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            match Application::build_with(settings, db, listener) {
                Ok(app) => {
                    let _ = app.run_until_stopped().await;
                }
                Err(e) => eprintln!("server: {e:#}"),
            }
        })
    });
}

/// Signs in over HTTP and returns the session cookie for wrk.
async fn sign_in(base: &str) -> anyhow::Result<String> {
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let client = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let page = client
        .get(format!("{base}/login"))
        .send()
        .await?
        .text()
        .await?;
    let marker = "name=\"csrf_token\" value=\"";
    let start = page.find(marker).context("no csrf token on /login")? + marker.len();
    let token = &page[start..start + 64];
    let resp = client
        .post(format!("{base}/login"))
        .form(&[
            ("email", "bench@example.com"),
            ("password", "bench password"),
            ("csrf_token", token),
        ])
        .send()
        .await?;
    if resp.status() != reqwest::StatusCode::SEE_OTHER {
        bail!("sign-in failed: {}", resp.status());
    }
    use reqwest::cookie::CookieStore;
    let cookies = jar.cookies(&base.parse()?).context("no session cookie")?;
    Ok(cookies.to_str()?.to_string())
}

fn wrk(
    url: &str,
    cookie: &str,
    args: &BenchArgs,
    script: &std::path::Path,
    label: &str,
) -> anyhow::Result<Figures> {
    let out = Command::new("wrk")
        .args([
            "-t",
            "2",
            "-c",
            &args.connections.to_string(),
            "-d",
            &format!("{}s", args.seconds),
            "--timeout",
            "10s",
        ])
        .args(["-H", &format!("Cookie: {cookie}"), "-s"])
        .arg(script)
        .arg(url)
        .output()
        .context("running wrk (apt-get install wrk)")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("HERALD "))
        .with_context(|| format!("wrk said: {stdout}"))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let [requests, duration_us, p50, p99, errors] = v[..] else {
        bail!("unexpected wrk output {line}")
    };
    Ok(Figures {
        label: label.to_string(),
        requests_per_sec: requests as f64 / (duration_us as f64 / 1e6),
        p50_ms: p50 as f64 / 1000.0,
        p99_ms: p99 as f64 / 1000.0,
        non_2xx: errors,
    })
}

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let url = args
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let db = Db::connect(&url, 8)?;
    let started = std::time::Instant::now();
    seed(&db, args.contacts)?;
    println!(
        "seeded {} contacts in {:.1} s ({})",
        args.contacts,
        started.elapsed().as_secs_f64(),
        db.backend_name()
    );

    if !args.ingest.is_empty() {
        return ingest::run(db, url, &args.ingest);
    }
    if let Some(n) = args.today {
        return today::run(db, url, n, &args);
    }
    if args.verify_batch {
        return verify_batch::run(db, url, args.contacts, args.concurrency);
    }

    let base = serve(db.clone(), url, |_| {})?;
    let rt = tokio::runtime::Runtime::new()?;
    let cookie = rt.block_on(sign_in(&base))?;
    let mut script = tempfile::NamedTempFile::new()?;
    script.write_all(WRK_SCRIPT.as_bytes())?;

    let mut targets = vec![
        ("/healthz".to_string(), "GET /healthz".to_string()),
        (
            "/contacts".to_string(),
            format!("GET /contacts ({} contacts, page 1)", args.contacts),
        ),
        (
            "/contacts?page=250".to_string(),
            "GET /contacts?page=250".to_string(),
        ),
        (
            "/contacts?q=erson+12".to_string(),
            "GET /contacts?q=erson 12 (search)".to_string(),
        ),
        (
            "/contacts?q=13900000042".to_string(),
            "GET /contacts?q=13900000042 (phone)".to_string(),
        ),
    ];
    if args.only {
        targets.truncate(1);
    }
    targets.extend(args.paths.iter().map(|p| (p.clone(), format!("GET {p}"))));
    // Rounds interleave the URLs, so a slow moment of the machine hits all of them alike;
    // each figure is the median over the rounds.
    let mut rounds: Vec<Vec<Figures>> = targets.iter().map(|_| Vec::new()).collect();
    for round in 1..=args.rounds {
        for ((path, label), runs) in targets.iter().zip(rounds.iter_mut()) {
            let f = wrk(
                &format!("{base}{path}"),
                &cookie,
                &args,
                script.path(),
                label,
            )?;
            println!(
                "round {round}: {:<42} {:>9.0} req/s   p50 {:>7.2} ms   p99 {:>7.2} ms   errors {}",
                f.label, f.requests_per_sec, f.p50_ms, f.p99_ms, f.non_2xx
            );
            runs.push(f);
        }
    }
    let median = |runs: &[Figures], pick: fn(&Figures) -> f64| {
        let mut v: Vec<f64> = runs.iter().map(pick).collect();
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    println!(
        "\nmedian of {} rounds, {} connections, {} s each:",
        args.rounds, args.connections, args.seconds
    );
    let health = median(&rounds[0], |f| f.requests_per_sec);
    for ((_, label), runs) in targets.iter().zip(&rounds) {
        let rps = median(runs, |f| f.requests_per_sec);
        println!(
            "{:<42} {:>9.0} req/s   p99 {:>7.2} ms   {:>4.0} % of /healthz",
            label,
            rps,
            median(runs, |f| f.p99_ms),
            100.0 * rps / health
        );
    }
    Ok(())
}
