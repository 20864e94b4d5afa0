//! Binding a phone number from a chat alert card: the card's link, the number, the SMS code,
//! then the next alert @mentions the number. Wrong codes, voiding, a number that is no
//! contact's (same answer, no SMS), the limits per number and per address, and rotating the
//! link.

use std::sync::Arc;
use std::time::Duration;

use diesel::prelude::*;
use herald::store::schema::{contact_bindings, contacts, dev_outbox};
use reqwest::StatusCode;
use serde_json::json;

use crate::chat_platforms::dingtalk_server;
use crate::delivery::{dingtalk_bot, eventually, policy, post_alerts, token};
use crate::helpers::{Client, Kind, TestApp, TestDb};

const ANA: &str = "+8613800138000";
const STRANGER: &str = "+8613900139000";

/// The codes the console provider was asked to send to `to`, oldest first.
fn codes_to(app: &TestApp, to: &str) -> Vec<String> {
    let mut conn = app.db.get().expect("conn");
    let bodies: Vec<String> = dev_outbox::table
        .filter(dev_outbox::recipient.eq(to))
        .filter(dev_outbox::channel.eq("sms"))
        .order(dev_outbox::created_at.asc())
        .select(dev_outbox::body)
        .load(&mut *conn)
        .expect("outbox");
    // Creating a contact sends a verification link too; only code messages count.
    bodies
        .iter()
        .filter(|b| b.contains("is your code") || b.contains("您的验证码是"))
        .filter_map(|b| {
            b.split(|c: char| !c.is_ascii_digit())
                .find(|w| w.len() == 6)
                .map(str::to_string)
        })
        .collect()
}

/// The bind link's path in a DingTalk card's markdown: `[Bind mobile phone number](…/b/…)`.
fn bind_path(text: &str, base: &str) -> String {
    let marker = format!("({base}/b/");
    let at = text
        .find(&marker)
        .unwrap_or_else(|| panic!("no bind link: {text}"))
        + 1;
    let end = text[at..].find(')').expect("link end") + at;
    text[at..end].strip_prefix(base).expect("base").to_string()
}

async fn a_contact_binds_their_number_from_a_card_and_is_mentioned_next_time(kind: Kind) {
    let Some(db) = TestDb::create(kind) else {
        return;
    };
    let app = TestApp::spawn_with(kind, Arc::new(db), |s| s.allow_private_targets = true).await;
    let ding = dingtalk_server();
    let owner = app.owner().await;
    let api = token(&owner).await;
    let bot = dingtalk_bot(&owner, &ding).await;
    owner.create_contact("Ana", ANA, "").await;
    let ana = owner.contact_id("Ana").await;
    crate::policies::mark_verified(&app, &ana);
    let fields = [
        ("chatbots", bot.as_str()),
        ("contacts", ana.as_str()),
        ("methods", "sms"),
        ("mention", "on"),
    ];
    policy(&owner, "Ops", &fields, "0").await;
    {
        // Her number was verified for the policy; binding verifies it again.
        let mut conn = app.db.get().expect("conn");
        diesel::update(contacts::table.filter(contacts::id.eq(&ana)))
            .set(contacts::phone_verified_at.eq(None::<chrono::NaiveDateTime>))
            .execute(&mut *conn)
            .expect("unverify");
    }

    post_alerts(
        &app.base,
        &api,
        &json!([{"labels": {"alertname": "DiskFull"}}]),
    )
    .await;
    assert!(eventually(Duration::from_secs(10), || ding.accepted().len() == 1).await);
    let card = ding.accepted()[0]["markdown"]["text"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(card.contains("Ana (not bound on DingTalk yet)"), "{card}");
    assert!(card.contains("[Bind mobile phone number]("), "{card}");
    let link = bind_path(&card, &app.base);

    // The page, in the browser's language; GET changes nothing.
    let zh = Client::speaking(&app.base, "zh-CN,zh;q=0.9");
    zh.get(&link).await.assert_contains("绑定手机号");
    let anon = Client::speaking(&app.base, "en");
    let page = anon.get(&link).await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_contains("Bind mobile phone number");

    // A bad number is refused beside the field.
    let bad = anon.post_raw(&link, &[("phone", "12")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    bad.assert_contains("with its country code");

    // A number that is no contact's gets the same answer, and no SMS.
    let stranger = anon.post_raw(&link, &[("phone", STRANGER)]).await;
    let asked = anon
        .post_raw(&link, &[("phone", "+86 138 0013 8000")])
        .await;
    assert_eq!(stranger.status, StatusCode::OK);
    assert_eq!(asked.status, StatusCode::OK);
    asked.assert_contains("If this number belongs to a contact, a code is on its way.");
    assert_eq!(
        stranger.body.replace(STRANGER, "N"),
        asked.body.replace(ANA, "N"),
        "the page must not tell a contact's number from a stranger's"
    );
    assert!(codes_to(&app, STRANGER).is_empty());
    let codes = codes_to(&app, ANA);
    assert_eq!(codes.len(), 1, "{codes:?}");

    // One code a minute per number, whoever asks.
    let again = Client::new(&app.base)
        .post_raw(&link, &[("phone", ANA)])
        .await;
    assert_eq!(again.status, StatusCode::TOO_MANY_REQUESTS);
    again.assert_contains("A code was sent to this number recently");
    assert_eq!(codes_to(&app, ANA).len(), 1);

    // A wrong code says how many tries are left; the right one binds and verifies.
    let wrong_code = if codes[0] == "000000" {
        "111111"
    } else {
        "000000"
    };
    let wrong = anon
        .post_raw(
            &format!("{link}/code"),
            &[("phone", ANA), ("code", wrong_code)],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    wrong.assert_contains("4 tries left");
    let bound = anon
        .post_raw(
            &format!("{link}/code"),
            &[("phone", ANA), ("code", &codes[0])],
        )
        .await;
    assert_eq!(bound.status, StatusCode::OK, "{}", bound.body);
    bound.assert_contains("Bound — you will be @mentioned from now on");
    // A used code does not work twice.
    let reused = anon
        .post_raw(
            &format!("{link}/code"),
            &[("phone", ANA), ("code", &codes[0])],
        )
        .await;
    reused.assert_contains("No code is waiting for this number");
    {
        let mut conn = app.db.get().expect("conn");
        let verified: Option<chrono::NaiveDateTime> = contacts::table
            .filter(contacts::id.eq(&ana))
            .select(contacts::phone_verified_at)
            .first(&mut *conn)
            .expect("contact");
        assert!(verified.is_some(), "binding verifies the number");
        let platforms: Vec<String> = contact_bindings::table
            .filter(contact_bindings::contact_id.eq(&ana))
            .select(contact_bindings::platform)
            .load(&mut *conn)
            .expect("bindings");
        assert_eq!(platforms, vec!["dingtalk".to_string()]);
    }
    owner
        .get("/contacts")
        .await
        .assert_contains("DingTalk, bound");

    // The next alert @mentions her number, as DingTalk requires.
    post_alerts(
        &app.base,
        &api,
        &json!([{"labels": {"alertname": "MemoryFull"}}]),
    )
    .await;
    assert!(eventually(Duration::from_secs(10), || ding.accepted().len() == 2).await);
    let next = &ding.accepted()[1];
    assert_eq!(next["at"]["atMobiles"], json!(["13800138000"]), "{next}");
    let text = next["markdown"]["text"].as_str().unwrap_or_default();
    assert!(
        text.contains("@13800138000") && !text.contains("Not @mentioned"),
        "{text}"
    );

    // Five wrong codes void a code (a stranger's too: their code was never sent).
    for left in (1..=4).rev() {
        let w = anon
            .post_raw(
                &format!("{link}/code"),
                &[("phone", STRANGER), ("code", "123456")],
            )
            .await;
        w.assert_contains(&format!("{left} tries left"));
    }
    let void = anon
        .post_raw(
            &format!("{link}/code"),
            &[("phone", STRANGER), ("code", "123456")],
        )
        .await;
    void.assert_contains("Too many wrong codes");

    // The "Bound" page speaks the contact's language, whatever the browser's.
    owner
        .post_form(
            "/contacts",
            &[
                ("name", "Bo"),
                ("phone", "+8613800138001"),
                ("email", ""),
                ("im_user_id", ""),
                ("language", "zh"),
                ("fallback", "default"),
            ],
        )
        .await
        .assert_redirect("/contacts");
    anon.post_raw(&link, &[("phone", "+8613800138001")])
        .await
        .assert_contains("a code is on its way");
    let bo_code = codes_to(&app, "+8613800138001");
    assert_eq!(bo_code.len(), 1);
    let sms: String = {
        let mut conn = app.db.get().expect("conn");
        dev_outbox::table
            .filter(dev_outbox::recipient.eq("+8613800138001"))
            .filter(dev_outbox::body.like(format!("%{}%", bo_code[0])))
            .select(dev_outbox::body)
            .first(&mut *conn)
            .expect("sms")
    };
    assert!(
        sms.contains("您的验证码是"),
        "the code SMS is in Bo's language: {sms}"
    );
    let bo = anon
        .post_raw(
            &format!("{link}/code"),
            &[("phone", "+8613800138001"), ("code", &bo_code[0])],
        )
        .await;
    bo.assert_contains("绑定成功");
    assert!(bo.body.contains("lang=\"zh"), "{}", bo.body);

    // A new link: the old one stops working; the chatbot's page shows the new one.
    owner
        .post_form(&format!("/chatbots/{bot}/bind-link"), &[])
        .await
        .assert_redirect(&format!("/chatbots/{bot}/edit"));
    let old = Client::new(&app.base).get(&link).await;
    assert_eq!(old.status, StatusCode::NOT_FOUND);
    old.assert_contains("This link does not work");
    let edit = owner.get(&format!("/chatbots/{bot}/edit")).await;
    edit.assert_contains("/b/");
    assert!(
        !edit.body.contains(&link),
        "the old link is gone from the page"
    );
}

/// Every step from one address counts: after 20 in ten minutes, the address waits.
async fn each_address_has_a_budget_of_steps(kind: Kind) {
    let Some(db) = TestDb::create(kind) else {
        return;
    };
    let app = TestApp::spawn_with(kind, Arc::new(db), |s| s.allow_private_targets = true).await;
    let ding = dingtalk_server();
    let owner = app.owner().await;
    let bot = dingtalk_bot(&owner, &ding).await;
    let edit = owner.get(&format!("/chatbots/{bot}/edit")).await;
    let at = edit.body.find("href=\"/b/").expect("bind link") + "href=\"".len();
    let link = edit.body[at..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_string();
    let anon = Client::new(&app.base);
    for i in 0..20 {
        let r = anon
            .post_raw(
                &format!("{link}/code"),
                &[("phone", STRANGER), ("code", "123456")],
            )
            .await;
        assert_ne!(r.status, StatusCode::TOO_MANY_REQUESTS, "step {i}");
    }
    let stopped = anon.post_raw(&link, &[("phone", ANA)]).await;
    assert_eq!(stopped.status, StatusCode::TOO_MANY_REQUESTS);
    stopped.assert_contains("Too many tries from this address");
    assert!(codes_to(&app, ANA).is_empty());
}

crate::on_both_backends!(
    a_contact_binds_their_number_from_a_card_and_is_mentioned_next_time,
    each_address_has_a_budget_of_steps
);
