//! Fallbacks end to end: a call nobody answers is followed by the contact's fallback method; a
//! wrong number goes to the alternate contact with a line saying whom it was meant for; Twilio's
//! call reports are taken only when Twilio signed them.

use std::sync::Arc;
use std::time::Duration;

use diesel::prelude::*;
use herald::channels::twilio;
use herald::store::schema::{contacts, deliveries};
use serde_json::json;

use crate::delivery::{eventually, policy, post_alerts, token};
use crate::fakes::{self, TWILIO_FROM, TWILIO_SID, TWILIO_TOKEN};
use crate::helpers::{Client, Kind, TestApp, TestDb};
use crate::smtp_server::SmtpServer;

fn verify_all(app: &TestApp, id: &str, fallback: &str) {
    let now = chrono::Utc::now().naive_utc();
    let mut conn = app.db.get().expect("conn");
    diesel::update(contacts::table.filter(contacts::id.eq(id)))
        .set((
            contacts::phone_verified_at.eq(Some(now)),
            contacts::email_verified_at.eq(Some(now)),
            contacts::fallback.eq(fallback),
        ))
        .execute(&mut *conn)
        .expect("verify");
}

/// (channel, state, hop, note) of every delivery, oldest first.
pub(crate) fn chain(app: &TestApp) -> Vec<(String, String, Option<String>, Option<String>)> {
    let mut conn = app.db.get().expect("conn");
    deliveries::table
        .order(deliveries::created_at)
        .select((
            deliveries::channel,
            deliveries::state,
            deliveries::hop,
            deliveries::note,
        ))
        .load(&mut *conn)
        .expect("deliveries")
}

async fn contact(
    owner: &Client,
    app: &TestApp,
    name: &str,
    phone: &str,
    email: &str,
    fallback: &str,
) -> String {
    owner
        .create_contact(name, phone, email)
        .await
        .assert_redirect("/contacts");
    let id = owner.contact_id(name).await;
    verify_all(app, &id, fallback);
    id
}

/// Saves the settings with `alternate` as the alternate contact (SMS as default fallback).
pub(crate) async fn set_alternate(owner: &Client, time_zone: &str, alternate: &str) {
    owner
        .post_form(
            "/settings",
            &[
                ("name", "Ops"),
                ("time_zone", time_zone),
                ("default_language", "en"),
                ("default_fallback", "sms"),
                ("alternate_contact", alternate),
                ("last_resort_email", ""),
            ],
        )
        .await
        .assert_redirect("/settings");
}

fn alert(name: &str) -> serde_json::Value {
    json!([{ "labels": { "alertname": name, "severity": "critical" }, "annotations": { "summary": "CPU high" } }])
}

async fn an_unanswered_call_is_followed_by_the_fallback_method(kind: Kind) {
    let Some(app) = TestApp::spawn(kind).await else {
        return;
    };
    let owner = app.owner().await;
    let ana = contact(
        &owner,
        &app,
        "Ana",
        "+8613800001234",
        "ana@example.com",
        "email",
    )
    .await;
    let key = token(&owner).await;
    policy(
        &owner,
        "Calls",
        &[("contacts", &ana), ("methods", "phone")],
        "0",
    )
    .await;
    post_alerts(&app.base, &key, &alert("CpuHigh")).await;

    let calling = eventually(Duration::from_secs(10), || {
        chain(&app).iter().any(|d| d.1 == "calling")
    })
    .await;
    assert!(
        calling,
        "the console call waits for its outcome: {:?}",
        chain(&app)
    );
    let outbox = owner.get("/dev/outbox").await;
    outbox.assert_contains("Ringing — how did the call go?");
    let at = outbox.body.find("/dev/outbox/").expect("outcome form") + "/dev/outbox/".len();
    let entry = outbox.body[at..at + 36].to_string();
    let bad = owner
        .post_form(
            &format!("/dev/outbox/{entry}/call"),
            &[("outcome", "exploded")],
        )
        .await;
    assert_eq!(bad.status, 400, "an unknown outcome is refused");
    owner
        .post_form(
            &format!("/dev/outbox/{entry}/call"),
            &[("outcome", "no_answer")],
        )
        .await
        .assert_redirect("/dev/outbox");

    let followed = eventually(Duration::from_secs(10), || {
        chain(&app)
            .iter()
            .any(|d| d.0 == "email" && d.1 == "delivered" && d.2.as_deref() == Some("fallback"))
    })
    .await;
    assert!(followed, "the fallback email went out: {:?}", chain(&app));
    let steps = chain(&app);
    assert_eq!(steps[0].0, "phone");
    assert_eq!(steps[0].1, "failed", "the call ended not reached");
    let outbox = owner.get("/dev/outbox").await;
    outbox.assert_contains("could not reach you (no answer)");
    // The same call cannot be answered twice.
    owner
        .post_form(
            &format!("/dev/outbox/{entry}/call"),
            &[("outcome", "answered")],
        )
        .await;
    assert_eq!(chain(&app).len(), 2, "no second hop: {:?}", chain(&app));
    let metrics = reqwest::get(format!("{}/metrics", app.base))
        .await
        .expect("metrics")
        .text()
        .await
        .unwrap_or_default();
    assert!(
        metrics.contains("herald_fallback_deliveries_total{hop=\"fallback\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics
            .contains("herald_delivery_attempts_total{channel=\"phone\",outcome=\"no_answer\"} 1"),
        "{metrics}"
    );
    // The alert's page tells the story.
    let alerts = owner.get("/alerts").await;
    let at = alerts.body.find("href=\"/alerts/").expect("alert link") + "href=\"/alerts/".len();
    let alert_id = alerts.body[at..at + 36].to_string();
    owner
        .get(&format!("/alerts/{alert_id}"))
        .await
        .assert_contains("Fallback method")
        .assert_contains("call no answer");
}

fn use_twilio(s: &mut herald::config::Settings, fake: &crate::fakes::Fake) {
    use herald::config::PhoneProvider;
    s.sms_provider = PhoneProvider::Twilio;
    s.voice_provider = PhoneProvider::Twilio;
    s.twilio = herald::channels::twilio::TwilioConfig {
        account_sid: TWILIO_SID.into(),
        auth_token: TWILIO_TOKEN.into(),
        from: TWILIO_FROM.into(),
        base_url: fake.url.clone(),
        ..Default::default()
    };
    s.allow_private_targets = true;
}

async fn wrong_numbers_go_to_the_alternate_and_only_signed_call_reports_count(kind: Kind) {
    let Some(db) = TestDb::create(kind) else {
        return;
    };
    let fake = fakes::twilio_server();
    let app = TestApp::spawn_with(kind, Arc::new(db), |s| use_twilio(s, &fake)).await;
    let owner = app.owner().await;
    // The stand-in answers 21211 (invalid number) for +12025550100.
    let ana = contact(&owner, &app, "Ana", "+12025550100", "", "sms").await;
    let cy = contact(&owner, &app, "Cy", "+12025550199", "", "none").await;
    let bo = contact(&owner, &app, "Bo", "+12025550142", "", "sms").await;
    let settings = owner.get("/settings").await;
    settings.assert_contains("Alternate contact");
    set_alternate(&owner, "Asia/Shanghai", &cy).await;
    let key = token(&owner).await;
    policy(
        &owner,
        "Texts",
        &[("contacts", &ana), ("methods", "sms")],
        "0",
    )
    .await;
    post_alerts(&app.base, &key, &alert("DiskFull")).await;
    // (Creating a contact sent Cy a verification link first.)
    let alert_to_cy = || {
        fake.accepted()
            .into_iter()
            .filter(|m| m.get("To").map(String::as_str) == Some("+12025550199"))
            .filter_map(|m| m.get("Body").cloned())
            .find(|b| !b.contains("/v/"))
    };
    let to_cy = eventually(Duration::from_secs(10), || alert_to_cy().is_some()).await;
    assert!(to_cy, "the alternate got it: {:?}", fake.accepted());
    let body = alert_to_cy().unwrap_or_default();
    assert!(body.starts_with("This alert was meant for Ana"), "{body}");
    assert!(body.contains("21211"), "says why: {body}");

    // A call to Bo reports back through the status callback Herald gave Twilio.
    policy(
        &owner,
        "Calls",
        &[("contacts", &bo), ("methods", "phone")],
        "0",
    )
    .await;
    post_alerts(&app.base, &key, &alert("Down")).await;
    let placed = eventually(Duration::from_secs(10), || {
        fake.accepted().iter().any(|m| m.contains_key("Twiml"))
    })
    .await;
    assert!(placed, "{:?}", fake.accepted());
    let call = fake
        .accepted()
        .into_iter()
        .find(|m| m.contains_key("Twiml"))
        .unwrap_or_default();
    let callback = call.get("StatusCallback").cloned().unwrap_or_default();
    assert_eq!(callback, twilio::status_callback_url(&app.base));
    let sid = eventually(Duration::from_secs(5), || {
        let mut conn = app.db.get().expect("conn");
        deliveries::table
            .filter(deliveries::state.eq("calling"))
            .count()
            .get_result::<i64>(&mut *conn)
            .is_ok_and(|n| n == 1)
    })
    .await;
    assert!(sid, "{:?}", chain(&app));
    let sid: String = {
        let mut conn = app.db.get().expect("conn");
        deliveries::table
            .filter(deliveries::state.eq("calling"))
            .select(deliveries::provider_ref)
            .first::<Option<String>>(&mut *conn)
            .expect("call")
            .unwrap_or_default()
    };
    let params = vec![
        ("CallSid".to_string(), sid.clone()),
        ("CallStatus".to_string(), "no-answer".to_string()),
    ];
    let post = |sig: String| {
        let params = params.clone();
        let callback = callback.clone();
        async move {
            reqwest::Client::new()
                .post(&callback)
                .header("X-Twilio-Signature", sig)
                .form(&params)
                .send()
                .await
                .expect("callback")
                .status()
        }
    };
    assert_eq!(post(String::new()).await, 403, "unsigned");
    assert_eq!(
        post(twilio::signature("not-the-token", &callback, &params)).await,
        403,
        "forged"
    );
    let still: i64 = {
        let mut conn = app.db.get().expect("conn");
        deliveries::table
            .filter(deliveries::state.eq("calling"))
            .count()
            .get_result(&mut *conn)
            .expect("count")
    };
    assert_eq!(still, 1, "a refused report changes nothing");
    assert_eq!(
        post(twilio::signature(TWILIO_TOKEN, &callback, &params)).await,
        204
    );
    let texted = eventually(Duration::from_secs(10), || {
        fake.accepted().iter().any(|m| {
            m.get("To").map(String::as_str) == Some("+12025550142")
                && m.get("Body")
                    .is_some_and(|b| b.contains("could not reach you (no answer)"))
        })
    })
    .await;
    assert!(texted, "Bo's fallback SMS: {:?}", fake.accepted());
}

/// The Dev outbox's link in the newest message to `to`.
async fn link_in_outbox(owner: &Client, to: &str, prefix: &str) -> String {
    let page = owner.get("/dev/outbox").await;
    let row = page
        .body
        .find(to)
        .unwrap_or_else(|| panic!("nothing to {to}:\n{}", page.body));
    let rest = &page.body[row..];
    let at = rest
        .find(prefix)
        .unwrap_or_else(|| panic!("no {prefix} link:\n{rest}"));
    rest[at..].split('"').next().unwrap_or_default().to_string()
}

async fn settings_are_checked_audited_and_the_last_resort_is_used_once_activated(kind: Kind) {
    let Some(db) = TestDb::create(kind) else {
        return;
    };
    let fake = fakes::twilio_server();
    let app = TestApp::spawn_with(kind, Arc::new(db), |s| {
        use_twilio(s, &fake);
        // Email stays with the console provider: the Dev outbox shows it.
    })
    .await;
    let owner = app.owner().await;
    let ana = contact(&owner, &app, "Ana", "+12025550100", "", "sms").await;
    let cy = contact(&owner, &app, "Cy", "+12025550103", "", "none").await;
    let fields = |tz: &'static str, lang: &'static str, alt: String, last: &'static str| {
        vec![
            ("name".to_string(), "Ops".to_string()),
            ("time_zone".into(), tz.into()),
            ("default_language".into(), lang.into()),
            ("default_fallback".into(), "email".into()),
            ("alternate_contact".into(), alt),
            ("last_resort_email".into(), last.into()),
        ]
    };
    let post = |f: Vec<(String, String)>| {
        let owner = owner.clone();
        async move {
            let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            owner.post_form("/settings", &f).await
        }
    };
    // Refused values re-render the form beside their fields; nothing is stored.
    let bad = post(fields("Mars/Olympus", "auto", "not-an-id".into(), "boss@")).await;
    assert_eq!(bad.status, 422);
    bad.assert_contains(r#"id="time_zone-error""#)
        .assert_contains("IANA")
        .assert_contains(r#"id="default_language-error""#)
        .assert_contains(r#"id="alternate_contact-error""#)
        .assert_contains(r#"id="last_resort_email-error""#)
        .assert_contains(r#"value="Mars/Olympus""#);
    owner
        .get(r#"/settings"#)
        .await
        .assert_contains(r#"value="UTC""#)
        .assert_contains(r#"No changes yet."#);
    // Another workspace's contact (or a made-up one) is not an alternate.
    let stranger = uuid::Uuid::now_v7().to_string();
    assert_eq!(post(fields("UTC", "en", stranger, "")).await.status, 422);

    post(fields(
        "Asia/Shanghai",
        "zh",
        cy.clone(),
        "boss@example.com",
    ))
    .await
    .assert_redirect("/settings");
    let page = owner.get("/settings").await;
    page.assert_contains("Time zone: UTC → Asia/Shanghai")
        .assert_contains("Default alert language: English → Chinese")
        .assert_contains("Default fallback method: SMS → Email")
        .assert_contains("Alternate contact: nobody → Cy")
        .assert_contains("Last-resort recipient: none → boss@example.com")
        .assert_contains("Waiting for activation")
        .assert_contains("owner@example.com");

    // Before activation the last resort is not used: Ana's wrong number goes to Cy, whose
    // number is wrong too, and the chain ends with nobody reached.
    let key = token(&owner).await;
    policy(
        &owner,
        "Texts",
        &[("contacts", &ana), ("methods", "sms")],
        "0",
    )
    .await;
    post_alerts(&app.base, &key, &alert("First")).await;
    let ended = eventually(Duration::from_secs(10), || {
        let mut conn = app.db.get().expect("conn");
        deliveries::table
            .filter(deliveries::unreached.eq(true))
            .count()
            .get_result::<i64>(&mut *conn)
            .is_ok_and(|n| n == 1)
    })
    .await;
    assert!(ended, "{:?}", chain(&app));
    let metrics = reqwest::get(format!("{}/metrics", app.base))
        .await
        .expect("metrics")
        .text()
        .await
        .unwrap_or_default();
    assert!(
        metrics.contains(r#"herald_unreached_chains_total{channel="sms"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"herald_fallback_deliveries_total{hop="alternate"} 1"#),
        "{metrics}"
    );

    // The activation link: GET only shows it, POST activates it, once.
    let link = link_in_outbox(&owner, "boss@example.com", &format!("{}/r/", app.base)).await;
    // The workspace speaks Chinese; this browser asks for English.
    let anon = Client::speaking(&app.base, "en");
    let path = link.trim_start_matches(&app.base).to_string();
    anon.get(&path)
        .await
        .assert_contains("Receive alerts nobody else could get?");
    owner
        .get("/settings")
        .await
        .assert_contains("Waiting for activation");
    anon.post_raw(&path, &[]).await.assert_contains("Activated");
    owner
        .get("/settings")
        .await
        .assert_contains("<strong>Activated</strong>");
    assert_eq!(
        anon.get(&path).await.status,
        404,
        "a used link stops working"
    );

    // Now the same failure reaches the last-resort address, by email, saying whom it was for.
    post_alerts(&app.base, &key, &alert("Second")).await;
    let reached = eventually(Duration::from_secs(10), || {
        chain(&app)
            .iter()
            .any(|d| d.2.as_deref() == Some("last_resort") && d.1 == "delivered")
    })
    .await;
    assert!(reached, "{:?}", chain(&app));
    let outbox = owner.get("/dev/outbox").await;
    outbox.assert_contains("此告警原本发给 Ana，但无人可以联系到");
    // Every time the console shows is in the workspace's zone now.
    owner
        .get("/alerts")
        .await
        .assert_contains(" CST</td>")
        .assert_lacks(" UTC</td>");
    outbox.assert_contains(" CST</td>");
}

async fn a_mailbox_that_does_not_exist_sends_the_alert_to_the_alternate(kind: Kind) {
    let Some(smtp) = SmtpServer::start_refusing_nobody() else {
        return;
    };
    let Some(db) = TestDb::create(kind) else {
        return;
    };
    let url = smtp.url();
    let app = TestApp::spawn_with(kind, Arc::new(db), |s| {
        s.email_provider = herald::config::EmailProvider::Smtp;
        s.smtp.url = Some(url.into());
        s.smtp.from = "Herald <alerts@example.com>".into();
    })
    .await;
    let owner = app.owner().await;
    let ana = contact(&owner, &app, "Ana", "", "nobody@example.com", "none").await;
    let cy = contact(&owner, &app, "Cy", "", "cy@example.com", "none").await;
    set_alternate(&owner, "UTC", &cy).await;
    let key = token(&owner).await;
    policy(
        &owner,
        "Mail",
        &[("contacts", &ana), ("methods", "email")],
        "0",
    )
    .await;
    post_alerts(&app.base, &key, &alert("QueueStuck")).await;
    let mail = smtp
        .wait_for_containing("cy@example.com", "meant for Ana")
        .await;
    assert!(mail.contains("550"), "says why: {mail}");
    let steps = chain(&app);
    assert_eq!(steps[0].0, "email");
    assert_eq!(
        steps[0].1, "refused",
        "a missing mailbox is not retried: {steps:?}"
    );
    assert_eq!(steps[1].2.as_deref(), Some("alternate"), "{steps:?}");
}

async fn alibaba_calls_are_asked_how_they_went(kind: Kind) {
    let Some(db) = TestDb::create(kind) else {
        return;
    };
    let fake = fakes::aliyun_server();
    let app = TestApp::spawn_with(kind, Arc::new(db), |s| {
        fakes::use_aliyun(s, &fake);
        s.call_report_delay_secs = 0;
    })
    .await;
    let owner = app.owner().await;
    let ana = contact(&owner, &app, "Ana", "+8613800001234", "", "sms").await;
    // Ana reads Chinese: the call, and the SMS that follows it, speak it.
    {
        let mut conn = app.db.get().expect("conn");
        diesel::update(contacts::table.filter(contacts::id.eq(&ana)))
            .set(contacts::language.eq("zh"))
            .execute(&mut *conn)
            .expect("language");
    }
    let key = token(&owner).await;
    policy(
        &owner,
        "Calls",
        &[("contacts", &ana), ("methods", "phone")],
        "0",
    )
    .await;
    post_alerts(&app.base, &key, &alert("Down")).await;
    let alert_sms = || {
        fake.accepted().into_iter().find(|m| {
            m.get("Action").map(String::as_str) == Some("SendSms")
                && m.get("TemplateCode").map(String::as_str) == Some("SMS_100000002")
        })
    };
    // The stand-in's report says nobody answered: the fallback SMS follows.
    let texted = eventually(Duration::from_secs(15), || alert_sms().is_some()).await;
    assert!(texted, "{:?} {:?}", fake.accepted(), chain(&app));
    let asked = fake
        .accepted()
        .into_iter()
        .find(|m| m.get("Action").map(String::as_str) == Some("QueryCallDetailByCallId"));
    assert_eq!(
        asked.and_then(|m| m.get("CallId").cloned()).as_deref(),
        Some("116012354148^10281378")
    );
    let param = alert_sms()
        .and_then(|m| m.get("TemplateParam").cloned())
        .unwrap_or_default();
    assert!(
        param.contains("未能联系到您（no answer）") && param.contains("Herald 告警"),
        "{param}"
    );
    let call = fake
        .accepted()
        .into_iter()
        .find(|m| m.get("Action").map(String::as_str) == Some("SingleCallByTts"));
    let said = call
        .and_then(|m| m.get("TtsParam").cloned())
        .unwrap_or_default();
    assert!(said.contains("Herald 告警。 Down 正在告警"), "{said}");
}

crate::on_both_backends!(
    alibaba_calls_are_asked_how_they_went,
    a_mailbox_that_does_not_exist_sends_the_alert_to_the_alternate,
    settings_are_checked_audited_and_the_last_resort_is_used_once_activated,
    an_unanswered_call_is_followed_by_the_fallback_method,
    wrong_numbers_go_to_the_alternate_and_only_signed_call_reports_count,
);
