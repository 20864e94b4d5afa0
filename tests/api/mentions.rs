//! @mentions in chat alerts: a bound contact is mentioned the way each platform requires, a
//! notified contact who cannot be mentioned is named with the reason, and the "Who would be
//! notified?" page says the same before anything is sent.

use std::time::Duration;

use herald::domain::Platform;
use herald::store::bindings;
use herald::store::{ChatbotId, ContactId};
use serde_json::{Value, json};

use crate::chat_platforms::{
    DING_STRANGER, KEYWORD, LARK_HOOK, LARK_SECRET, dingtalk_server, lark_server,
};
use crate::delivery::{created, dingtalk_bot, eventually, policy, post_alerts, token};
use crate::helpers::{Client, Kind, TestApp, TestDb};

async fn contact(owner: &Client, name: &str, phone: &str, user_id: &str) -> String {
    owner
        .post_form(
            "/contacts",
            &[
                ("name", name),
                ("phone", phone),
                ("email", ""),
                ("im_user_id", user_id),
                ("language", "auto"),
                ("fallback", "default"),
            ],
        )
        .await
        .assert_redirect("/contacts");
    owner.contact_id(name).await
}

fn bind(app: &TestApp, contact: &str, platform: Platform, bot: &str) {
    let mut conn = app.db.get().expect("conn");
    let (contact, bot) = (
        ContactId::parse(contact).expect("contact"),
        ChatbotId::parse(bot).expect("bot"),
    );
    bindings::bind(&mut conn, &contact, platform, &bot, herald::store::now()).expect("bind");
}

/// The text of a Lark post, its `at` tags' user IDs.
fn lark_ats(post: &Value) -> (String, Vec<String>) {
    let mut text = String::new();
    let mut ats = Vec::new();
    let paragraphs = post["content"]["post"]["zh_cn"]["content"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for p in paragraphs.iter().filter_map(Value::as_array) {
        for el in p {
            match el["tag"].as_str() {
                Some("at") => ats.push(el["user_id"].as_str().unwrap_or_default().to_string()),
                Some("text") => {
                    text.push_str(el["text"].as_str().unwrap_or_default());
                    text.push('\n');
                }
                _ => {}
            }
        }
    }
    (text, ats)
}

async fn bound_contacts_are_mentioned_and_the_others_named_with_the_reason(kind: Kind) {
    let Some(db) = TestDb::create(kind) else {
        return;
    };
    let app = TestApp::spawn_with(kind, std::sync::Arc::new(db), |s| {
        s.allow_private_targets = true
    })
    .await;
    let (ding, lark) = (dingtalk_server(), lark_server());
    let owner = app.owner().await;
    let token = token(&owner).await;
    let ding_id = dingtalk_bot(&owner, &ding).await;
    let lark_url = format!("{}/open-apis/bot/v2/hook/{LARK_HOOK}", lark.base);
    let lark_fields = [
        ("platform", "lark"),
        ("name", "Ops Lark"),
        ("webhook_url", lark_url.as_str()),
        ("secret", LARK_SECRET),
        ("keyword", KEYWORD),
        ("daily_stats_times", ""),
        ("card_template", ""),
    ];
    let lark_id = created(&owner, "/chatbots", &lark_fields, "Ops Lark").await;
    let ana = contact(&owner, "Ana", "+8613800138000", "ou_ana").await;
    let bo = contact(&owner, "Bo", "+8613800138001", "").await;
    let cy = contact(&owner, "Cy", "+8613800138002", "").await;
    // Ana is bound on both platforms; Bo only on Lark, where he has no user ID; Cy nowhere.
    bind(&app, &ana, Platform::DingTalk, &ding_id);
    bind(&app, &ana, Platform::Lark, &lark_id);
    bind(&app, &bo, Platform::Lark, &lark_id);
    for c in [&ana, &bo, &cy] {
        crate::policies::mark_verified(&app, c);
    }
    let fields = [
        ("chatbots", ding_id.as_str()),
        ("chatbots", lark_id.as_str()),
        ("contacts", ana.as_str()),
        ("contacts", bo.as_str()),
        ("contacts", cy.as_str()),
        ("methods", "sms"),
        ("mention", "on"),
    ];
    policy(&owner, "Mentions", &fields, "0").await;

    // Before anything is sent, the simulator says who would be mentioned and why not.
    let sim = owner
        .get("/policies/simulate?labels=alertname%3DDiskFull")
        .await;
    sim.assert_contains("@138****8000");
    sim.assert_contains("@ou_ana");
    sim.assert_contains("not @mentioned: not bound on DingTalk yet");
    sim.assert_contains("not @mentioned: no Lark (Feishu) user ID on their contact");

    post_alerts(
        &app.base,
        &token,
        &json!([{"labels": {"alertname": "DiskFull", "instance": "db-1"}}]),
    )
    .await;
    let both = || ding.accepted().len() == 1 && lark.accepted().len() == 1;
    assert!(
        eventually(Duration::from_secs(10), both).await,
        "ding {:?} lark {:?}",
        ding.accepted(),
        lark.accepted()
    );

    // DingTalk: the number in atMobiles and as @number in the text, never everyone.
    let d = &ding.accepted()[0];
    assert_eq!(d["at"]["atMobiles"], json!(["13800138000"]), "{d}");
    assert_eq!(d["at"]["isAtAll"], json!(false));
    let text = d["markdown"]["text"].as_str().unwrap_or_default();
    assert!(text.contains("@13800138000"), "{text}");
    assert!(
        text.contains(
            "Not @mentioned: Bo (not bound on DingTalk yet), Cy (not bound on DingTalk yet)"
        ),
        "{text}"
    );

    // Lark: by user ID in an at tag; Bo is bound but has no user ID.
    let (text, ats) = lark_ats(&lark.accepted()[0]);
    assert_eq!(ats, vec!["ou_ana".to_string()], "{}", lark.accepted()[0]);
    assert!(
        text.contains("Bo (no Lark (Feishu) user ID on their contact)")
            && text.contains("Cy (not bound on Lark (Feishu) yet)"),
        "{text}"
    );

    // The contacts list says where each is bound; an admin unbinds Ana on DingTalk, and the
    // next message names her instead of mentioning her.
    let list = owner.get("/contacts").await;
    let today = chrono::Utc::now().format("%-d %b").to_string();
    list.assert_contains(&format!("DingTalk, bound {today}"));
    list.assert_contains(&format!("Lark (Feishu), bound {today}"));
    list.assert_contains("Not bound");
    owner
        .post_form(
            &format!("/contacts/{ana}/unbind"),
            &[("platform", "dingtalk"), ("back", "/contacts")],
        )
        .await
        .assert_redirect("/contacts");
    let list = owner.get("/contacts").await;
    list.assert_contains("is no longer bound on DingTalk");
    assert!(!list.body.contains("DingTalk, bound"), "{}", list.body);
    post_alerts(
        &app.base,
        &token,
        &json!([{"labels": {"alertname": "MemoryFull", "instance": "db-1"}}]),
    )
    .await;
    assert!(eventually(Duration::from_secs(10), || ding.accepted().len() == 2).await);
    let d = &ding.accepted()[1];
    assert_eq!(d["at"]["atMobiles"], json!([]), "{d}");
    let text = d["markdown"]["text"].as_str().unwrap_or_default();
    assert!(text.contains("Ana (not bound on DingTalk yet)"), "{text}");
    // A platform that does not exist is refused, and nothing changes.
    let bad = owner
        .post_form(&format!("/contacts/{ana}/unbind"), &[("platform", "icq")])
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    owner
        .get("/contacts")
        .await
        .assert_contains(&format!("Lark (Feishu), bound {today}"));
}

/// DingTalk refuses a card because a mentioned user does not exist: the group gets the alert
/// again without mentions, naming whom it meant to mention, and each mentioned person's alert
/// goes to the alternate contact saying whom it was meant for.
async fn a_platform_that_knows_no_such_user_gets_the_card_again_and_the_alternate_is_told(
    kind: Kind,
) {
    let Some(db) = TestDb::create(kind) else {
        return;
    };
    let app = TestApp::spawn_with(kind, std::sync::Arc::new(db), |s| {
        s.allow_private_targets = true
    })
    .await;
    let ding = dingtalk_server();
    let owner = app.owner().await;
    let token = token(&owner).await;
    let ding_id = dingtalk_bot(&owner, &ding).await;
    let ana = contact(&owner, "Ana", "+8613800138000", "").await;
    let ghost = contact(&owner, "Ghost", &format!("+86{DING_STRANGER}"), "").await;
    let cy = contact(&owner, "Cy", "+8613800138002", "").await;
    for c in [&ana, &ghost, &cy] {
        crate::policies::mark_verified(&app, c);
    }
    bind(&app, &ana, Platform::DingTalk, &ding_id);
    bind(&app, &ghost, Platform::DingTalk, &ding_id);
    crate::fallbacks::set_alternate(&owner, "UTC", &cy).await;
    let fields = [
        ("chatbots", ding_id.as_str()),
        ("contacts", ana.as_str()),
        ("contacts", ghost.as_str()),
        ("methods", "sms"),
        ("mention", "on"),
    ];
    policy(&owner, "Mentions", &fields, "0").await;
    post_alerts(
        &app.base,
        &token,
        &json!([{"labels": {"alertname": "DiskFull", "instance": "db-1"}}]),
    )
    .await;
    let told = || {
        crate::fallbacks::chain(&app)
            .iter()
            .filter(|d| d.2.as_deref() == Some("alternate") && d.1 == "delivered")
            .count()
            == 2
    };
    assert!(
        eventually(Duration::from_secs(15), || ding.accepted().len() == 1
            && told())
        .await,
        "ding {:?} chain {:?}",
        ding.accepted(),
        crate::fallbacks::chain(&app)
    );
    // The card came through the second time, mentioning nobody and saying why.
    let d = &ding.accepted()[0];
    assert_eq!(d["at"]["atMobiles"], json!([]), "{d}");
    let text = d["markdown"]["text"].as_str().unwrap_or_default();
    assert!(
        text.contains(
            "Not @mentioned: Ana (DingTalk said a mentioned user does not exist), Ghost (DingTalk said a mentioned user does not exist)"
        ),
        "{text}"
    );
    let steps = crate::fallbacks::chain(&app);
    let chats: Vec<_> = steps.iter().filter(|d| d.0 == "chatbot").collect();
    assert_eq!(chats.len(), 2, "{steps:?}");
    assert_eq!(chats[0].1, "refused", "not retried as it was: {steps:?}");
    assert_eq!(
        (chats[1].1.as_str(), chats[1].2.as_deref()),
        ("delivered", Some("unmentioned"))
    );
    // Cy, the alternate, got one SMS for each person the card meant to mention.
    let notes: Vec<&str> = steps
        .iter()
        .filter(|d| d.2.as_deref() == Some("alternate"))
        .map(|d| (d.0.as_str(), d.3.as_deref().unwrap_or_default()))
        .inspect(|(channel, _)| assert_eq!(*channel, "sms"))
        .map(|(_, note)| note)
        .collect();
    for who in ["Ana", "Ghost"] {
        assert!(
            notes.iter().any(|n| n.contains(&format!(
                "meant for {who}, but the chat @mention to them failed"
            )) && n.contains("user not found")),
            "{notes:?}"
        );
    }
    let metrics = reqwest::get(format!("{}/metrics", app.base))
        .await
        .expect("metrics")
        .text()
        .await
        .unwrap_or_default();
    for line in [
        r#"herald_fallback_deliveries_total{hop="unmentioned"} 1"#,
        r#"herald_fallback_deliveries_total{hop="alternate"} 2"#,
    ] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }
}

crate::on_both_backends!(
    bound_contacts_are_mentioned_and_the_others_named_with_the_reason,
    a_platform_that_knows_no_such_user_gets_the_card_again_and_the_alternate_is_told,
);
