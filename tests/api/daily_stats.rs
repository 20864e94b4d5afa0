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

async fn daily_statistics_go_out_once_late_within_an_hour_and_are_skipped_after(kind: Kind) {
    let Some(db) = TestDb::create(kind) else {
        return;
    };
    let app = TestApp::spawn_with(kind, Arc::new(db), |s| s.allow_private_targets = true).await;
    let ding = dingtalk_server();
    let owner = app.owner().await;
    let id = dingtalk_bot(&owner, &ding).await;
    {
        let mut conn = app.db.get().expect("conn");
        // Saved long before the controlled moments; the app's own engine, on today's clock,
        // owes nothing for times before that.
        diesel::update(chatbots::table.filter(chatbots::id.eq(&id)))
            .set((
                chatbots::daily_stats.eq(true),
                chatbots::daily_stats_times.eq("09:00"),
                chatbots::updated_at.eq(at("2030-01-01 00:00")),
            ))
            .execute(&mut *conn)
            .expect("bot");
        diesel::update(workspaces::table)
            .set(workspaces::time_zone.eq("Asia/Shanghai"))
            .execute(&mut *conn)
            .expect("zone");
    }
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
    let bot = ChatbotId::parse(&id).expect("id");
    let mut conn = app.db.get().expect("conn");
    let runs: Vec<(String, String, String)> = daily_stats_runs::table
        .filter(daily_stats_runs::chatbot_id.eq(bot.as_str()))
        .order(daily_stats_runs::day.asc())
        .select((
            daily_stats_runs::day,
            daily_stats_runs::at_time,
            daily_stats_runs::state,
        ))
        .load(&mut *conn)
        .expect("runs");
    assert_eq!(
        runs,
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

crate::on_both_backends!(daily_statistics_go_out_once_late_within_an_hour_and_are_skipped_after);
