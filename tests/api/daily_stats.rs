//! Daily statistics, exactly once per bot, day and time: two engines (two processes' worth) on
//! one database run at the same controlled moment and one summary arrives; a time missed by
//! more than an hour is recorded as skipped; one missed by less is sent late.

use std::sync::Arc;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use herald::channels::Providers;
use herald::config::Settings;
use herald::engine::Engine;
use herald::metrics::Metrics;
use herald::store::schema::{chatbots, daily_stats_runs, workspaces};
use herald::store::{ChatbotId, Db};

use crate::chat_platforms::dingtalk_server;
use crate::delivery::dingtalk_bot;
use crate::helpers::{Kind, TestApp, TestDb};

fn at(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").expect("time")
}

/// An engine of its own on the same database, as another Herald process would have.
fn engine(app: &TestApp) -> Engine {
    let settings = Settings {
        database_url: app.test_db.url.clone(),
        allow_private_targets: true,
        ..Settings::default()
    };
    let db = Db::connect(&settings.database_url, 2).expect("database");
    let providers = Providers::new(settings.provider_setup(), &db).expect("providers");
    Engine::new(
        db,
        providers,
        Metrics::default(),
        settings.engine_settings(),
    )
}

/// Turns on the bot's daily statistics at `times`, as if saved at `saved` (UTC), in a
/// workspace whose clocks read `zone`.
fn daily_stats_at(app: &TestApp, id: &str, times: &str, zone: &str, saved: &str) {
    let mut conn = app.db.get().expect("conn");
    diesel::update(chatbots::table.filter(chatbots::id.eq(id)))
        .set((
            chatbots::daily_stats.eq(true),
            chatbots::daily_stats_times.eq(times),
            chatbots::updated_at.eq(at(saved)),
        ))
        .execute(&mut *conn)
        .expect("bot");
    diesel::update(workspaces::table)
        .set(workspaces::time_zone.eq(zone))
        .execute(&mut *conn)
        .expect("zone");
}

/// The runs recorded for a bot, oldest first: (day, time, state).
fn runs_of(app: &TestApp, id: &str) -> Vec<(String, String, String)> {
    let bot = ChatbotId::parse(id).expect("id");
    let mut conn = app.db.get().expect("conn");
    daily_stats_runs::table
        .filter(daily_stats_runs::chatbot_id.eq(bot.as_str()))
        .order((daily_stats_runs::day.asc(), daily_stats_runs::at_time.asc()))
        .select((
            daily_stats_runs::day,
            daily_stats_runs::at_time,
            daily_stats_runs::state,
        ))
        .load(&mut *conn)
        .expect("runs")
}

async fn daily_statistics_go_out_once_late_within_an_hour_and_are_skipped_after(kind: Kind) {
    let Some(db) = TestDb::create(kind) else {
        return;
    };
    let app = TestApp::spawn_with(kind, Arc::new(db), |s| s.allow_private_targets = true).await;
    let ding = dingtalk_server();
    let owner = app.owner().await;
    let id = dingtalk_bot(&owner, &ding).await;
    // Saved long before the controlled moments; the app's own engine, on today's clock,
    // owes nothing for times before that.
    daily_stats_at(&app, &id, "09:00", "Asia/Shanghai", "2030-01-01 00:00");
    let (a, b) = (engine(&app), engine(&app));
    // 09:05 in Shanghai: both processes look at once; one sends.
    let now = at("2030-01-02 01:05");
    let (x, y) = tokio::join!(a.send_daily_stats(now), b.send_daily_stats(now));
    assert_eq!(x + y, 1, "exactly one process sent it");
    assert_eq!(ding.accepted().len(), 1, "{:?}", ding.accepted());
    let text = ding.accepted()[0].to_string();
    assert!(
        text.contains("Herald 每日统计") || text.contains("Herald daily statistics"),
        "{text}"
    );
    assert!(text.contains("Readiness"), "readiness is reported: {text}");
    // Later the same day, and after a restart (a new engine), nothing more.
    assert_eq!(
        engine(&app).send_daily_stats(at("2030-01-02 01:40")).await,
        0
    );
    assert_eq!(ding.accepted().len(), 1);
    // The next day Herald comes back at 11:30, two and a half hours late: skipped.
    assert_eq!(a.send_daily_stats(at("2030-01-03 03:30")).await, 0);
    // The day after, 50 minutes late: sent late.
    assert_eq!(b.send_daily_stats(at("2030-01-04 01:50")).await, 1);
    assert_eq!(ding.accepted().len(), 2);
    assert_eq!(
        runs_of(&app, &id),
        vec![
            // Saved at 08:00 Shanghai that day, its 09:00 came while nobody ran: skipped.
            (
                "2030-01-01".to_string(),
                "09:00".to_string(),
                "skipped".to_string()
            ),
            ("2030-01-02".into(), "09:00".into(), "sent".into()),
            ("2030-01-03".into(), "09:00".into(), "skipped".into()),
            ("2030-01-04".into(), "09:00".into(), "sent".into()),
        ]
    );
}

/// New York's change days through two engines on one database: on 8 March 2026 the clocks
/// jump from 02:00 to 03:00, so a 02:30 time comes at 03:30 EDT (07:30 UTC); on 1 November
/// 2026 they fall back from 02:00 to 01:00, so 01:30 shows twice (05:30 and 06:30 UTC) and
/// the summary goes out at the first, once. 00:15 on the day after each change checks the
/// day boundary still follows local midnight.
async fn daily_statistics_keep_new_york_time_on_the_change_days(kind: Kind) {
    let Some(db) = TestDb::create(kind) else {
        return;
    };
    let app = TestApp::spawn_with(kind, Arc::new(db), |s| s.allow_private_targets = true).await;
    let ding = dingtalk_server();
    let owner = app.owner().await;
    let id = dingtalk_bot(&owner, &ding).await;
    daily_stats_at(
        &app,
        &id,
        "01:30,02:30,23:45",
        "America/New_York",
        "2026-03-07 12:00",
    );
    let (a, b) = (engine(&app), engine(&app));

    // Spring forward. 07:29 UTC is 03:29 EDT: the skipped 02:30 has not come yet.
    assert_eq!(
        a.send_daily_stats(at("2026-03-08 06:35")).await,
        1,
        "01:30 EST"
    );
    assert_eq!(b.send_daily_stats(at("2026-03-08 07:29")).await, 0);
    let (x, y) = tokio::join!(
        a.send_daily_stats(at("2026-03-08 07:31")),
        b.send_daily_stats(at("2026-03-08 07:31"))
    );
    assert_eq!(
        x + y,
        1,
        "02:30, which does not exist that day, comes at 03:30 EDT"
    );
    // 23:45 EDT is 03:45 UTC the next day; the day is still the 8th.
    assert_eq!(a.send_daily_stats(at("2026-03-09 03:50")).await, 1);
    assert_eq!(ding.accepted().len(), 3);

    // Fall back. 01:30 EDT is 05:30 UTC; an hour later the clocks read 01:30 again (EST).
    let (x, y) = tokio::join!(
        a.send_daily_stats(at("2026-11-01 05:31")),
        b.send_daily_stats(at("2026-11-01 05:31"))
    );
    assert_eq!(x + y, 1, "the first 01:30");
    assert_eq!(
        a.send_daily_stats(at("2026-11-01 06:31")).await,
        0,
        "not again at the second"
    );
    assert_eq!(b.send_daily_stats(at("2026-11-01 06:40")).await, 0);
    // 02:30 EST is 07:30 UTC, an hour later than in summer.
    assert_eq!(a.send_daily_stats(at("2026-11-01 07:29")).await, 0);
    assert_eq!(b.send_daily_stats(at("2026-11-01 07:30")).await, 1);
    // 23:45 EST is 04:45 UTC the next day.
    assert_eq!(a.send_daily_stats(at("2026-11-02 04:44")).await, 0);
    assert_eq!(a.send_daily_stats(at("2026-11-02 04:46")).await, 1);
    assert_eq!(ding.accepted().len(), 6);

    let runs = runs_of(&app, &id);
    let day = |d: &str| -> Vec<(String, String)> {
        runs.iter()
            .filter(|r| r.0 == d)
            .map(|r| (r.1.clone(), r.2.clone()))
            .collect()
    };
    let sent = |t: &str| (t.to_string(), "sent".to_string());
    assert_eq!(
        day("2026-03-08"),
        vec![sent("01:30"), sent("02:30"), sent("23:45")]
    );
    assert_eq!(
        day("2026-11-01"),
        vec![sent("01:30"), sent("02:30"), sent("23:45")]
    );
    // Every run between the change days was missed by this controlled clock: skipped, never
    // sent, and never twice.
    let mut seen = std::collections::HashSet::new();
    for r in &runs {
        assert!(
            seen.insert((r.0.clone(), r.1.clone())),
            "one run per day and time: {r:?}"
        );
        if r.0 != "2026-03-08" && r.0 != "2026-11-01" {
            assert_eq!(r.2, "skipped", "{r:?}");
        }
    }
}

crate::on_both_backends!(
    daily_statistics_go_out_once_late_within_an_hour_and_are_skipped_after,
    daily_statistics_keep_new_york_time_on_the_change_days
);
