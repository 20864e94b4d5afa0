//! Today, the console's home page: the day's totals counted in the workspace's time zone, the
//! hourly chart, deliveries by channel and outcome against what the outbox holds, the failures
//! with links to their alerts, and readiness with a link to fix each item; only the signed-in
//! workspace's figures.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use diesel::prelude::*;
use herald::domain::settings::TimeZone;
use herald::domain::today::day_start;
use herald::store::schema::{
    alerts, contacts, deliveries, notification_policies as policies, workspaces,
};
use serde_json::json;

use crate::delivery::{eventually, policy, post_alerts, sink, token, webhook};
use crate::helpers::{Kind, Page, TestApp, TestDb};

/// The figure in the tile `id`.
fn tile(page: &Page, id: &str) -> i64 {
    let marker = format!("id=\"{id}\">");
    let at = page.body.find(&marker).unwrap_or_else(|| panic!("no {id}")) + marker.len();
    page.body[at..]
        .split('<')
        .next()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("{id} is not a number"))
}

/// The cells of the table row `id`, tags stripped.
fn row(page: &Page, id: &str) -> Vec<String> {
    let marker = format!("<tr id=\"{id}\">");
    let at = page
        .body
        .find(&marker)
        .unwrap_or_else(|| panic!("no row {id}:\n{}", page.body));
    let end = page.body[at..].find("</tr>").expect("row end") + at;
    page.body[at + marker.len()..end]
        .split("<td")
        .skip(1)
        .map(|cell| {
            let text = cell.split_once('>').map(|(_, t)| t).unwrap_or_default();
            text.split('<').next().unwrap_or_default().to_string()
        })
        .collect()
}

async fn today_counts_the_workspace_day_and_links_every_fix(kind: Kind) {
    let Some(db) = TestDb::create(kind) else {
        return;
    };
    let app = TestApp::spawn_with(kind, Arc::new(db), |s| s.allow_private_targets = true).await;
    let owner = app.owner().await;
    {
        let mut conn = app.db.get().expect("conn");
        diesel::update(workspaces::table)
            .set(workspaces::time_zone.eq("Asia/Shanghai"))
            .execute(&mut *conn)
            .expect("zone");
    }
    // A quiet workspace: zeros, an empty chart, nothing sent.
    let quiet = owner.get("/").await;
    assert_eq!(quiet.status, 200);
    quiet
        .assert_contains("Asia/Shanghai")
        .assert_contains("0 alerts in the last 24 hours")
        .assert_contains("Nothing was sent today.")
        .assert_contains("No delivery failed today.");
    assert_eq!(tile(&quiet, "total-received"), 0);

    // Ana was verified when the policy calling only her was saved; then her number changed,
    // so the policy reaches nobody until she verifies the new one.
    owner
        .create_contact("Ana", "+8613900001111", "")
        .await
        .assert_redirect("/contacts");
    let ana = owner.contact_id("Ana").await;
    {
        let mut conn = app.db.get().expect("conn");
        diesel::update(contacts::table.filter(contacts::id.eq(&ana)))
            .set(contacts::phone_verified_at.eq(Some(Utc::now().naive_utc())))
            .execute(&mut *conn)
            .expect("verify");
    }
    policy(
        &owner,
        "Nights",
        &[("contacts", &ana), ("methods", "phone")],
        "0",
    )
    .await;
    owner
        .post_form(
            &format!("/contacts/{ana}"),
            &[
                ("name", "Ana"),
                ("phone", "+8613900002222"),
                ("email", ""),
                ("im_user_id", ""),
                ("language", "auto"),
                ("fallback", "default"),
            ],
        )
        .await
        .assert_redirect("/contacts");
    let stand_in = sink();
    let ok = webhook(&owner, "Ops hook", &stand_in.url("/ok")).await;
    let refused = webhook(&owner, "Broken hook", &stand_in.url("/refuse")).await;
    let hooks = [("webhooks", ok.as_str()), ("webhooks", refused.as_str())];
    policy(&owner, "Everything", &hooks, "0").await;

    let api = token(&owner).await;
    let began = (Utc::now() - chrono::Duration::minutes(10)).to_rfc3339();
    let alert = |name: &str| json!({"labels": {"alertname": name, "severity": "critical"}, "startsAt": began});
    // Every delivery settled: the good hook delivered, the broken one refused.
    let db = app.db.clone();
    let settled = |at_least: i64| {
        let db = db.clone();
        eventually(Duration::from_secs(20), move || {
            let mut conn = db.get().expect("conn");
            let open: i64 = deliveries::table
                .filter(deliveries::state.eq_any(["queued", "sending", "retrying", "throttled"]))
                .count()
                .get_result(&mut *conn)
                .expect("count");
            let hooks: i64 = deliveries::table
                .filter(deliveries::channel.eq("webhook"))
                .count()
                .get_result(&mut *conn)
                .expect("count");
            open == 0 && hooks >= at_least
        })
    };
    post_alerts(
        &app.base,
        &api,
        &json!([alert("DiskFull"), alert("HighCPU"), alert("Old")]),
    )
    .await;
    assert!(settled(6).await, "the firing deliveries did not settle");
    // Ended a second ago: resolved today.
    let mut ended = alert("HighCPU");
    let second_ago = Utc::now() - chrono::Duration::seconds(1);
    ended["endsAt"] = json!(second_ago.to_rfc3339());
    post_alerts(&app.base, &api, &json!([ended])).await;
    assert!(settled(8).await, "the resolved deliveries did not settle");
    // "Old" first came two days ago: firing now, but not received today nor in the chart.
    {
        let mut conn = app.db.get().expect("conn");
        let two_days_ago = Utc::now().naive_utc() - chrono::Duration::days(2);
        diesel::update(alerts::table.filter(alerts::labels.like("%\"Old\"%")))
            .set(alerts::received_at.eq(two_days_ago))
            .execute(&mut *conn)
            .expect("old");
    }
    let count = |channel: &str, states: &[&str]| -> i64 {
        let mut conn = app.db.get().expect("conn");
        deliveries::table
            .filter(deliveries::channel.like(channel.to_string()))
            .filter(deliveries::state.eq_any(states.to_vec()))
            .count()
            .get_result(&mut *conn)
            .expect("count")
    };
    let bad = ["failed", "refused", "not_sent"];
    let (delivered, failed) = (count("webhook", &["delivered"]), count("webhook", &bad));
    let failed_anywhere = count("%", &bad);
    assert!(
        delivered >= 4 && failed >= 4,
        "{delivered} delivered, {failed} failed"
    );

    let page = owner.get("/").await;
    assert_eq!(page.status, 200);
    let midnight = day_start(
        TimeZone::parse("Asia/Shanghai").expect("zone"),
        Utc::now().naive_utc(),
    );
    // Two posted today (HighCPU firing then resolved is one alert), one resolved, two firing.
    assert_eq!(tile(&page, "total-received"), 2, "since {midnight}");
    assert_eq!(tile(&page, "total-resolved"), 1);
    assert_eq!(tile(&page, "total-firing"), 2);
    assert_eq!(tile(&page, "total-failed"), failed_anywhere);
    assert_eq!(tile(&page, "total-unreached"), 0);
    // The chart holds the two of the last 24 hours, both in the current hour (its last bar).
    page.assert_contains("2 alerts in the last 24 hours, at most 2 in one hour.");
    let bars: Vec<&str> = page.body.matches("data-count=\"").collect();
    assert_eq!(bars.len(), 24);
    let last = page.body.rfind("data-count=\"").expect("bar") + "data-count=\"".len();
    assert!(
        page.body[last..].starts_with("2\""),
        "the current hour has both"
    );
    // Deliveries by channel and outcome, as the outbox holds them.
    assert_eq!(
        row(&page, "channel-webhook"),
        vec![
            "Webhook".to_string(),
            delivered.to_string(),
            "0".into(),
            failed.to_string(),
            (delivered + failed).to_string(),
        ]
    );
    // The failures name the hook's recipient and link to their alert.
    page.assert_contains("id=\"failures\"")
        .assert_contains("Broken hook")
        .assert_contains("<span class=\"state state-bad\">Refused</span>")
        .assert_contains("for <a href=\"/alerts/");
    // Readiness: the silent policy and the contact, each with its fix.
    let nights: String = {
        let mut conn = app.db.get().expect("conn");
        policies::table
            .filter(policies::name.eq("Nights"))
            .select(policies::id)
            .first(&mut *conn)
            .expect("policy")
    };
    page.assert_contains(
        "Policy “Nights” would reach nobody: none of the people it names can be reached.",
    )
    .assert_contains(&format!(
        "<a href=\"/policies/{nights}/edit\">Fix the policy</a>"
    ))
    .assert_contains("Ana: +86 139****2222 is not verified (used by Nights).")
    .assert_contains(&format!("<a href=\"/contacts/{ana}/edit\">Fix Ana</a>"))
    .assert_lacks("Policy “Everything” would reach nobody");

    // A chain that reached nobody is counted.
    {
        let mut conn = app.db.get().expect("conn");
        let one: String = deliveries::table
            .filter(deliveries::state.eq("refused"))
            .select(deliveries::id)
            .first(&mut *conn)
            .expect("refused");
        diesel::update(deliveries::table.find(one))
            .set(deliveries::unreached.eq(true))
            .execute(&mut *conn)
            .expect("unreached");
    }
    assert_eq!(tile(&owner.get("/").await, "total-unreached"), 1);

    // Another workspace of the same owner sees only its own day.
    owner
        .post_form("/workspaces", &[("name", "Second")])
        .await
        .assert_redirect("/");
    let second = owner.get("/").await;
    assert_eq!(tile(&second, "total-received"), 0);
    assert_eq!(tile(&second, "total-firing"), 0);
    second
        .assert_contains("Nothing was sent today.")
        .assert_contains("id=\"readiness-ok\"");
}

async fn today_needs_a_sign_in(kind: Kind) {
    let Some(app) = TestApp::spawn(kind).await else {
        return;
    };
    let _owner = app.owner().await;
    app.client().get("/").await.assert_redirect("/login");
}

crate::on_both_backends!(
    today_counts_the_workspace_day_and_links_every_fix,
    today_needs_a_sign_in
);
