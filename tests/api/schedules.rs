//! Notification Objects › Schedules: the form and its errors, who is on duty now, the next
//! hand-offs and the two-week strip, overrides, a policy notifying (and @mentioning) whoever is
//! on duty when the alert comes, and delete protection while a policy uses the schedule.
//! The DST rules (New York and Berlin change days, a 02:30 hand-off) are unit tests of
//! `domain::schedule`.

use std::sync::Arc;
use std::time::Duration;

use chrono::{Duration as Span, Utc};
use diesel::prelude::*;
use herald::domain::Platform;
use herald::store::schema::{dev_outbox, schedules};
use herald::store::{ChatbotId, ContactId, bindings};
use reqwest::StatusCode;
use serde_json::json;

use crate::chat_platforms::dingtalk_server;
use crate::delivery::{dingtalk_bot, eventually, policy, post_alerts, token};
use crate::helpers::{Client, Kind, TestApp, TestDb};

const ANA: &str = "+8613800138000";
const BO: &str = "+8613800138001";
const CY: &str = "+8613800138002";
const DEE: &str = "+8613800138003";

/// The id of the schedule named `name`, from its link on the list.
async fn schedule_id(c: &Client, name: &str) -> String {
    let page = c.get("/schedules").await;
    let at = page
        .body
        .find(&format!("\">{name}</a></td>"))
        .unwrap_or_else(|| panic!("{name} not listed:\n{}", page.body));
    let start = page.body[..at].rfind("/schedules/").expect("link") + "/schedules/".len();
    page.body[start..start + 36].to_string()
}

fn sms_to(app: &TestApp, to: &str) -> Vec<String> {
    let mut conn = app.db.get().expect("conn");
    dev_outbox::table
        .filter(dev_outbox::recipient.eq(to))
        .filter(dev_outbox::channel.eq("sms"))
        .select(dev_outbox::body)
        .load::<String>(&mut *conn)
        .expect("outbox")
        .into_iter()
        // Creating a contact sends a verification link; only alerts count here.
        .filter(|b| b.contains("DiskFull"))
        .collect()
}

fn schedule_count(app: &TestApp) -> i64 {
    let mut conn = app.db.get().expect("conn");
    schedules::table
        .count()
        .get_result(&mut *conn)
        .expect("count")
}

/// A UTC time as the override form's `datetime-local` field sends it (the schedule is in UTC).
fn local(t: chrono::DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M").to_string()
}

async fn schedules_rotate_take_overrides_and_notify_whoever_is_on_duty(kind: Kind) {
    let Some(db) = TestDb::create(kind) else {
        return;
    };
    let app = TestApp::spawn_with(kind, Arc::new(db), |s| s.allow_private_targets = true).await;
    let ding = dingtalk_server();
    let owner = app.owner().await;
    let token = token(&owner).await;
    let bot = dingtalk_bot(&owner, &ding).await;
    for (name, phone) in [("Ana", ANA), ("Bo", BO), ("Cy", CY), ("Dee", DEE)] {
        owner.create_contact(name, phone, "").await;
    }
    // Dee's number is never verified.
    let dee = owner.contact_id("Dee").await;
    let (ana, bo, cy) = (
        owner.contact_id("Ana").await,
        owner.contact_id("Bo").await,
        owner.contact_id("Cy").await,
    );
    for c in [&ana, &bo, &cy] {
        crate::policies::mark_verified(&app, c);
    }
    owner
        .get("/schedules")
        .await
        .assert_contains("No on-call schedules yet");
    owner
        .get("/schedules/new")
        .await
        .assert_contains("Turn 1")
        .assert_contains("value=\"09:00\"");

    // Every field wrong at once: each says why, the form keeps what was typed, nothing stored.
    let bad = owner
        .post_form(
            "/schedules",
            &[
                ("name", "Primary"),
                ("time_zone", "Mars/Olympus"),
                ("rotation", "custom"),
                ("shift_hours", "0"),
                ("handoff", "25:00"),
                ("start_date", "tomorrow"),
                ("participants", ""),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    bad.assert_contains("“Mars/Olympus” is not a time zone Herald knows")
        .assert_contains("Enter a shift length of 1 to 720 hours.")
        .assert_contains("Enter the hand-off time as HH:MM")
        .assert_contains("Enter the first day as YYYY-MM-DD.")
        .assert_contains("Choose at least one participant")
        .assert_contains("value=\"Mars/Olympus\"");
    let forged = owner
        .post_form(
            "/schedules",
            &[
                ("name", "Primary"),
                ("time_zone", "UTC"),
                ("rotation", "daily"),
                ("handoff", "00:00"),
                ("start_date", "2026-01-01"),
                ("participants", "not-a-contact"),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::UNPROCESSABLE_ENTITY);
    forged.assert_contains("Choose participants from the workspace");
    assert_eq!(schedule_count(&app), 0);

    // Daily at midnight UTC from yesterday: Ana had yesterday, Bo has today, Dee tomorrow.
    let now = Utc::now();
    let yesterday = (now - Span::days(1)).format("%Y-%m-%d").to_string();
    let fields = [
        ("name", "Primary"),
        ("time_zone", "UTC"),
        ("rotation", "daily"),
        ("shift_hours", ""),
        ("handoff", "00:00"),
        ("start_date", yesterday.as_str()),
        ("participants", ana.as_str()),
        ("participants", ""),
        ("participants", bo.as_str()),
        ("participants", dee.as_str()),
    ];
    owner
        .post_form("/schedules", &fields)
        .await
        .assert_redirect("/schedules");
    let list = owner.get("/schedules").await;
    list.assert_contains("Schedule “Primary” created.")
        .assert_contains("on duty now: Bo")
        .assert_contains("Daily at 00:00 · UTC · 3 turns");
    let tomorrow = (now + Span::days(1)).format("%Y-%m-%d").to_string();
    list.assert_contains(&format!("Dee takes over {tomorrow} 00:00 UTC"));
    let id = schedule_id(&owner, "Primary").await;
    let dup = owner.post_form("/schedules", &fields).await;
    assert_eq!(dup.status, StatusCode::UNPROCESSABLE_ENTITY);
    dup.assert_contains("Another schedule is already called “Primary”.");

    // Its page: on duty now, the hand-offs in turn, fourteen days with today's whole day Bo's.
    let page = owner.get(&format!("/schedules/{id}")).await;
    page.assert_contains("on duty now: Bo")
        .assert_contains(&format!("{tomorrow} 00:00 UTC: Dee"))
        .assert_contains("00:00–24:00 Bo")
        .assert_contains("aria-current=\"date\"")
        .assert_contains("No overrides running or to come.");
    assert_eq!(page.body.matches("<th scope=\"row\">").count(), 14);
    // Editing keeps the turns in order.
    owner
        .get(&format!("/schedules/{id}/edit"))
        .await
        .assert_contains("value=\"Primary\"")
        .assert_contains(&format!("<option value=\"{bo}\" selected>"));

    // Overrides: refused with reasons, then Cy covers from an hour ago for two hours.
    let ov = format!("/schedules/{id}/overrides");
    let backwards = owner
        .post_form(
            &ov,
            &[
                ("who", cy.as_str()),
                ("from", &local(now + Span::hours(2))),
                ("until", &local(now)),
            ],
        )
        .await;
    assert_eq!(backwards.status, StatusCode::UNPROCESSABLE_ENTITY);
    backwards.assert_contains("The end must be after the start.");
    let nobody = owner
        .post_form(&ov, &[("who", ""), ("from", "soon"), ("until", "")])
        .await;
    assert_eq!(nobody.status, StatusCode::UNPROCESSABLE_ENTITY);
    nobody
        .assert_contains("Choose who covers from the workspace")
        .assert_contains("“soon” is not a date and time")
        .assert_contains("Enter a date and time.");
    let (from, until) = (local(now - Span::hours(1)), local(now + Span::hours(2)));
    owner
        .post_form(
            &ov,
            &[("who", cy.as_str()), ("from", &from), ("until", &until)],
        )
        .await
        .assert_redirect(&format!("/schedules/{id}"));
    let page = owner.get(&format!("/schedules/{id}")).await;
    page.assert_contains("Override added: Cy covers “Primary”")
        .assert_contains("on duty now: Cy")
        .assert_contains("Cy covers from")
        .assert_contains("overridden");

    // A policy naming the schedule and a DingTalk bot, @mention on: the simulator names Cy as
    // on duty; an alert texts Cy and mentions her number, and nobody else is told.
    let cy_contact = ContactId::parse(&cy).expect("contact");
    {
        let mut conn = app.db.get().expect("conn");
        let bot_id = ChatbotId::parse(&bot).expect("bot");
        bindings::bind(
            &mut conn,
            &cy_contact,
            Platform::DingTalk,
            &bot_id,
            herald::store::now(),
        )
        .expect("bind");
    }
    let targets = [
        ("schedules", id.as_str()),
        ("chatbots", bot.as_str()),
        ("methods", "sms"),
        ("mention", "on"),
    ];
    policy(&owner, "On call", &targets, "0").await;
    // Saved, with a word about Dee; the Today page lists her among the contacts to fix, though
    // she is not on duty now.
    owner.get("/policies").await.assert_contains(
        "Schedule “Primary”: Dee will get no phone calls or SMS while on duty until their numbers are verified.",
    );
    owner
        .get("/")
        .await
        .assert_contains("Dee:")
        .assert_contains(&format!("/contacts/{dee}/edit"));
    // Deleting Dee would take her turn out of the schedule: the confirmation says so.
    owner
        .get(&format!("/contacts/{dee}/delete"))
        .await
        .assert_contains(
            "Their turns and overrides will be taken out of the on-call schedule “Primary”",
        );
    owner
        .get("/policies/new")
        .await
        .assert_contains("Primary · on duty now: Cy");
    owner
        .get("/policies/simulate?labels=alertname%3DDiskFull")
        .await
        .assert_contains("on duty in schedule “Primary”")
        .assert_contains("@138****8002");
    post_alerts(
        &app.base,
        &token,
        &json!([{"labels": {"alertname": "DiskFull", "instance": "db-1"}}]),
    )
    .await;
    let told = || sms_to(&app, CY).len() == 1 && ding.accepted().len() == 1;
    assert!(
        eventually(Duration::from_secs(10), told).await,
        "{:?}",
        ding.accepted()
    );
    assert!(sms_to(&app, ANA).is_empty() && sms_to(&app, BO).is_empty());
    let card = &ding.accepted()[0];
    assert_eq!(card["at"]["atMobiles"], json!(["13800138002"]), "{card}");

    // Removing the override gives the shift back to Bo.
    let override_id = {
        let at = page.body.find("data-override=\"").expect("override listed") + 15;
        page.body[at..at + 36].to_string()
    };
    owner
        .post_form(
            &format!("/schedules/{id}/overrides/remove"),
            &[("override", override_id.as_str())],
        )
        .await
        .assert_redirect(&format!("/schedules/{id}"));
    owner
        .get(&format!("/schedules/{id}"))
        .await
        .assert_contains("Override removed.")
        .assert_contains("on duty now: Bo");
    let again = owner
        .post_form(
            &format!("/schedules/{id}/overrides/remove"),
            &[("override", override_id.as_str())],
        )
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);

    // In use: the delete page names the policy and the delete is refused; nothing is lost.
    owner
        .get(&format!("/schedules/{id}/delete"))
        .await
        .assert_contains("it is used by the notification policy")
        .assert_contains("“On call”");
    owner
        .post_form(&format!("/schedules/{id}/delete"), &[])
        .await
        .assert_redirect("/schedules");
    owner
        .get("/schedules")
        .await
        .assert_contains("is used by the notification policies “On call”")
        .assert_contains("on duty now: Bo");
    assert_eq!(schedule_count(&app), 1);

    // An unused schedule goes; a malformed or unknown id is a 404.
    let spare = [
        ("name", "Spare"),
        ("time_zone", "Europe/Berlin"),
        ("rotation", "custom"),
        ("shift_hours", "12"),
        ("handoff", "08:00"),
        ("start_date", "2026-03-28"),
        ("participants", ana.as_str()),
    ];
    owner
        .post_form("/schedules", &spare)
        .await
        .assert_redirect("/schedules");
    let spare_id = schedule_id(&owner, "Spare").await;
    owner
        .get("/schedules")
        .await
        .assert_contains("Every 12 hours at 08:00 · Europe/Berlin");
    owner
        .get(&format!("/schedules/{spare_id}/delete"))
        .await
        .assert_contains("Delete schedule “Spare”?")
        .assert_contains("1 turn and its overrides are deleted.")
        .assert_contains(&format!("action=\"/schedules/{spare_id}/delete\""));
    owner
        .post_form(&format!("/schedules/{spare_id}/delete"), &[])
        .await
        .assert_redirect("/schedules");
    owner
        .get("/schedules")
        .await
        .assert_contains("Schedule “Spare” deleted.");
    assert_eq!(schedule_count(&app), 1);
    assert_eq!(
        owner.get("/schedules/nope").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        owner.get(&format!("/schedules/{spare_id}")).await.status,
        StatusCode::NOT_FOUND
    );
}

crate::on_both_backends!(schedules_rotate_take_overrides_and_notify_whoever_is_on_duty);
