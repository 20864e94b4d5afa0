//! Notification Objects › Chatbots: write-only signature keys, validation beside the fields,
//! card preview, Send test against the loopback stand-ins in `chat_platforms`, roles and
//! workspaces, and deleting a chatbot a policy uses.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use herald::store::schema::{notification_policies, policy_targets};
use reqwest::StatusCode;

use crate::both_backends;
use crate::chat_platforms::{
    self, DING_SECRET, DING_TOKEN, KEYWORD, LARK_HOOK, LARK_SECRET, SLACK_PATH, WECOM_KEY,
};
use crate::helpers::{Client, Kind, Page, TestApp, TestDb};

/// What the create/edit form posts.
#[derive(Clone, Copy)]
struct BotForm<'a> {
    platform: &'a str,
    name: &'a str,
    url: &'a str,
    secret: &'a str,
    clear_secret: bool,
    keyword: &'a str,
    daily_stats: bool,
    times: &'a str,
    card: &'a str,
}

impl<'a> BotForm<'a> {
    fn new(platform: &'a str, name: &'a str, url: &'a str) -> Self {
        BotForm {
            platform,
            name,
            url,
            secret: "",
            clear_secret: false,
            keyword: "",
            daily_stats: false,
            times: "",
            card: "",
        }
    }

    fn fields(&self) -> Vec<(&'a str, &'a str)> {
        let mut f = vec![
            ("platform", self.platform),
            ("name", self.name),
            ("webhook_url", self.url),
            ("secret", self.secret),
            ("keyword", self.keyword),
            ("daily_stats_times", self.times),
            ("card_template", self.card),
        ];
        if self.clear_secret {
            f.push(("clear_secret", "on"));
        }
        if self.daily_stats {
            f.push(("daily_stats", "on"));
        }
        f
    }
}

const DING_URL: &str = "https://oapi.dingtalk.com/robot/send?access_token=abc123";
const LARK_URL: &str = "https://open.feishu.cn/open-apis/bot/v2/hook/1f2e3d4c-aaaa-bbbb";
const WECOM_URL: &str = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6";
const SLACK_URL: &str = "https://hooks.slack.com/services/T0001/B0002/XXXXXXXX";

async fn save(c: &Client, path: &str, form: BotForm<'_>) -> Page {
    c.post_form(path, &form.fields()).await
}

async fn create(c: &Client, form: BotForm<'_>) {
    save(c, "/chatbots", form)
        .await
        .assert_redirect("/chatbots");
}

/// The id of the chatbot named `name`, from its row's Send test form.
async fn chatbot_id(c: &Client, name: &str) -> String {
    let page = c.get("/chatbots").await;
    let at = page
        .body
        .find(&format!("<td class=\"name\">{name}</td>"))
        .unwrap_or_else(|| panic!("{name} not listed:\n{}", page.body));
    let rest = &page.body[at..];
    let start = rest.find("/chatbots/").expect("row link") + "/chatbots/".len();
    rest[start..start + 36].to_string()
}

fn refused(p: &Page, needle: &str) {
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", p.body);
    p.assert_contains("Please correct the fields marked below.")
        .assert_contains(needle);
}

fn chatbot_count(app: &TestApp) -> i64 {
    let mut conn = app.db.get().expect("conn");
    herald::store::schema::chatbots::table
        .count()
        .get_result(&mut *conn)
        .expect("count")
}

/// A policy using `kind`/`target`, stored directly (as in `groups.rs`).
pub(crate) fn policy_using(app: &TestApp, name: &str, kind: &str, target: &str) -> String {
    let mut conn = app.db.get().expect("conn");
    let ws: String = herald::store::schema::workspaces::table
        .select(herald::store::schema::workspaces::id)
        .first(&mut *conn)
        .expect("ws");
    let id = uuid::Uuid::now_v7().to_string();
    let now = chrono::Utc::now().naive_utc();
    diesel::insert_into(notification_policies::table)
        .values((
            notification_policies::id.eq(&id),
            notification_policies::workspace_id.eq(&ws),
            notification_policies::name.eq(name),
            notification_policies::name_key.eq(name.to_lowercase()),
            notification_policies::created_at.eq(now),
            notification_policies::updated_at.eq(now),
        ))
        .execute(&mut *conn)
        .expect("policy");
    diesel::insert_into(policy_targets::table)
        .values((
            policy_targets::policy_id.eq(&id),
            policy_targets::kind.eq(kind),
            policy_targets::target_id.eq(target),
        ))
        .execute(&mut *conn)
        .expect("target");
    id
}

pub(crate) fn targets_of(app: &TestApp, policy: &str) -> Vec<(String, String)> {
    let mut conn = app.db.get().expect("conn");
    policy_targets::table
        .filter(policy_targets::policy_id.eq(policy))
        .select((policy_targets::kind, policy_targets::target_id))
        .order(policy_targets::target_id.asc())
        .load(&mut *conn)
        .expect("targets")
}

both_backends! {
    async fn the_signature_key_is_write_only(app: TestApp) {
        let owner = app.owner().await;
        owner.get("/chatbots").await.assert_contains("No chatbots yet");
        let new = owner.get("/chatbots/new").await;
        new.assert_contains("<option value=\"dingtalk\" selected>").assert_contains("value=\"Alert\"");

        create(&owner, BotForm { secret: DING_SECRET, keyword: "Alert", ..BotForm::new("dingtalk", "Ops DingTalk", DING_URL) }).await;
        let list = owner.get("/chatbots").await;
        list.assert_contains("Chatbot “Ops DingTalk” created.")
            .assert_contains("<td>DingTalk</td>")
            .assert_contains("SEC•••••••• (set)")
            .assert_lacks(DING_SECRET)
            .assert_lacks("0123456789");
        let id = chatbot_id(&owner, "Ops DingTalk").await;

        let edit = owner.get(&format!("/chatbots/{id}/edit")).await;
        assert_eq!(edit.status, StatusCode::OK);
        edit.assert_contains("Stored: SEC•••••••• (set).")
            .assert_contains("leave blank to keep the stored key")
            .assert_contains("Remove the stored key")
            .assert_contains("name=\"secret\" type=\"password\" value=\"\"")
            .assert_contains(&format!("value=\"{}\"", crate::helpers::html_escape(DING_URL)))
            .assert_lacks(DING_SECRET)
            .assert_lacks("0123456789");

        // Saving with the key field blank keeps the key.
        save(&owner, &format!("/chatbots/{id}"), BotForm { keyword: "Alert", ..BotForm::new("dingtalk", "Ops DingTalk", DING_URL) })
            .await
            .assert_redirect("/chatbots");
        owner.get("/chatbots").await.assert_contains("Chatbot “Ops DingTalk” saved.").assert_contains("SEC•••••••• (set)");
        let stored: Option<String> = {
            let mut conn = app.db.get().expect("conn");
            herald::store::schema::chatbots::table
                .select(herald::store::schema::chatbots::secret)
                .first(&mut *conn)
                .expect("secret")
        };
        assert_eq!(stored.as_deref(), Some(DING_SECRET));

        // A form sent back with errors keeps the key just typed in its field, so it is not lost
        // (it was the sender's own input, in the same page); the stored key is never shown.
        let typed = "SECtyped-but-not-saved-9876";
        let kept = format!("name=\"secret\" type=\"password\" value=\"{typed}\"");
        let bad = save(&owner, &format!("/chatbots/{id}"), BotForm { secret: typed, ..BotForm::new("dingtalk", "Ops DingTalk", "nope") }).await;
        refused(&bad, "Paste the whole webhook URL");
        bad.assert_contains(&kept).assert_lacks(DING_SECRET).assert_contains("Stored: SEC•••••••• (set).");
        // So does the card preview.
        let preview = owner
            .post_form(&format!("/chatbots/preview?id={id}"), &BotForm { secret: typed, card: "{{ .commonLabels.alertname }}", ..BotForm::new("dingtalk", "Ops DingTalk", DING_URL) }.fields())
            .await;
        assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
        preview.assert_contains(&kept).assert_lacks(DING_SECRET).assert_contains("PodCrashLooping");
    // Previewing an existing bot still says a key is stored and offers to remove it.
    preview
        .assert_contains("Stored: SEC•••••••• (set).")
        .assert_contains("leave blank to keep the stored key")
        .assert_contains("Remove the stored key");
    // A ticked "Remove the stored key" stays ticked when the form comes back.
    let bad = save(
        &owner,
        &format!("/chatbots/{id}"),
        BotForm {
            clear_secret: true,
            ..BotForm::new("dingtalk", "Ops DingTalk", "nope")
        },
    )
    .await;
    refused(&bad, "Paste the whole webhook URL");
    bad.assert_contains("name=\"clear_secret\" value=\"on\" checked");
    let preview = owner
        .post_form(
            &format!("/chatbots/preview?id={id}"),
            &BotForm {
                clear_secret: true,
                ..BotForm::new("dingtalk", "Ops DingTalk", DING_URL)
            }
            .fields(),
        )
        .await;
    preview.assert_contains("name=\"clear_secret\" value=\"on\" checked");
    // Neither removed the key.
    owner.get("/chatbots").await.assert_contains("SEC•••••••• (set)");

        // "Remove the stored key" clears it.
        save(&owner, &format!("/chatbots/{id}"), BotForm { clear_secret: true, keyword: "Alert", ..BotForm::new("dingtalk", "Ops DingTalk", DING_URL) })
            .await
            .assert_redirect("/chatbots");
        owner.get("/chatbots").await.assert_lacks("(set)");
        owner.get(&format!("/chatbots/{id}/edit")).await.assert_lacks("Stored:").assert_lacks("Remove the stored key");
    }

    async fn fields_are_checked_beside_the_field_and_nothing_is_stored(app: TestApp) {
        let owner = app.owner().await;

        // Webhook URLs, per platform.
        let bad = save(&owner, "/chatbots", BotForm::new("dingtalk", "Wrong host", LARK_URL)).await;
        refused(&bad, "This is not a DingTalk webhook URL");
        bad.assert_contains("id=\"webhook_url-error\"")
            .assert_contains("value=\"Wrong host\"")
            .assert_contains(&format!("value=\"{}\"", crate::helpers::html_escape(LARK_URL)));
        refused(&save(&owner, "/chatbots", BotForm::new("lark", "Wrong host", DING_URL)).await, "This is not a Lark (Feishu) webhook URL");
        refused(&save(&owner, "/chatbots", BotForm::new("wecom", "Wrong host", SLACK_URL)).await, "This is not a WeCom webhook URL");
        refused(&save(&owner, "/chatbots", BotForm::new("slack", "Wrong host", WECOM_URL)).await, "This is not a Slack webhook URL");
        refused(
            &save(&owner, "/chatbots", BotForm::new("dingtalk", "Plain http", "http://oapi.dingtalk.com/robot/send?access_token=x")).await,
            "must start with https://",
        );
        refused(&save(&owner, "/chatbots", BotForm::new("slack", "Plain http", "http://10.0.0.1/services/T1/B2/c")).await, "must start with https://");
        refused(&save(&owner, "/chatbots", BotForm::new("wecom", "Only key", "693a91f6-7xxx")).await, "Paste the whole webhook URL");
        refused(&save(&owner, "/chatbots", BotForm::new("dingtalk", "No token", "https://oapi.dingtalk.com/robot/send")).await, "access_token");
        refused(&save(&owner, "/chatbots", BotForm::new("teams", "Teams", SLACK_URL)).await, "Choose DingTalk, Lark, WeCom or Slack.");
        refused(&save(&owner, "/chatbots", BotForm::new("slack", "  ", SLACK_URL)).await, "Enter a name.");

        // Loopback is refused without allow_private_targets, with a reason to act on.
        let lo = save(&owner, "/chatbots", BotForm::new("dingtalk", "Local", "http://127.0.0.1:9/robot/send?access_token=t")).await;
        refused(&lo, "Herald does not call 127.0.0.1");
        lo.assert_contains("allow_private_targets");
        assert_eq!(chatbot_count(&app), 0);

        // Names are unique ignoring case.
        create(&owner, BotForm::new("slack", "Ops Slack", SLACK_URL)).await;
        let dup = save(&owner, "/chatbots", BotForm::new("wecom", "OPS slack", WECOM_URL)).await;
        refused(&dup, "Another chatbot is already called");
        dup.assert_contains("id=\"name-error\"")
            .assert_contains("value=\"OPS slack\"")
            .assert_contains("<option value=\"wecom\" selected>");
        assert_eq!(chatbot_count(&app), 1);
        // …also when renaming another one.
        create(&owner, BotForm::new("wecom", "Ops WeCom", WECOM_URL)).await;
        let wecom = chatbot_id(&owner, "Ops WeCom").await;
        refused(&save(&owner, &format!("/chatbots/{wecom}"), BotForm::new("wecom", "ops SLACK", WECOM_URL)).await, "Another chatbot is already called");
        // Its own name in another case is fine.
        save(&owner, &format!("/chatbots/{wecom}"), BotForm::new("wecom", "OPS WeCom", WECOM_URL)).await.assert_redirect("/chatbots");

        // Daily statistics times.
        for bad in ["9:00", "24:00", "09:60", "0900", "09:00, noon"] {
            let p = save(&owner, "/chatbots", BotForm { daily_stats: true, times: bad, ..BotForm::new("lark", "Daily", LARK_URL) }).await;
            refused(&p, "is not a time: write HH:MM (24-hour)");
            p.assert_contains("id=\"daily_stats_times-error\"")
                .assert_contains(&format!("value=\"{}\"", crate::helpers::html_escape(bad)))
                .assert_contains("id=\"daily_stats\" name=\"daily_stats\" value=\"on\" checked");
        }
        let none = save(&owner, "/chatbots", BotForm { daily_stats: true, times: " ", ..BotForm::new("lark", "Daily", LARK_URL) }).await;
        refused(&none, "Enter at least one time (HH:MM) for the daily statistics.");
        assert_eq!(chatbot_count(&app), 2);
        create(&owner, BotForm { daily_stats: true, times: "18:30, 09:00,09:00", ..BotForm::new("lark", "Daily", LARK_URL) }).await;
        owner.get("/chatbots").await.assert_contains("<td>09:00,18:30</td>").assert_contains("<td>Lark (Feishu)</td>");
        let daily = chatbot_id(&owner, "Daily").await;
        owner.get(&format!("/chatbots/{daily}/edit")).await
            .assert_contains("value=\"09:00,18:30\"")
            .assert_contains("id=\"daily_stats\" name=\"daily_stats\" value=\"on\" checked");

        // Card templates: checked on save with the error's line and column.
        let broken = "ok\n{{ if .commonLabels.alertname }}never closed";
        let p = save(&owner, "/chatbots", BotForm { card: broken, ..BotForm::new("slack", "Broken card", SLACK_URL) }).await;
        refused(&p, "Template error at line ");
        p.assert_contains(", column ")
            .assert_contains("id=\"card_template-error\"")
            .assert_contains("never closed</textarea>")
            .assert_contains("value=\"Broken card\"");
        refused(&save(&owner, "/chatbots", BotForm { card: "{{ nosuchfunc 1 }}", ..BotForm::new("slack", "Broken card", SLACK_URL) }).await, "Template error at line 1, column");
        let long = "x".repeat(4001);
        refused(&save(&owner, "/chatbots", BotForm { card: &long, ..BotForm::new("slack", "Long card", SLACK_URL) }).await, "At most 4000 characters (this has 4001).");
        assert_eq!(chatbot_count(&app), 3);

        // Preview renders against the sample alert and saves nothing.
        let card = "{{ .commonLabels.alertname }} in {{ .commonLabels.clustername }}: {{ len .alerts }} alerts";
        let p = owner.post_form("/chatbots/preview", &BotForm { card, ..BotForm::new("slack", "Preview only", SLACK_URL) }.fields()).await;
        assert_eq!(p.status, StatusCode::OK, "{}", p.body);
        p.assert_contains("Preview with a sample alert")
            .assert_contains("PodCrashLooping in prod-hangzhou: 2 alerts")
            .assert_contains("value=\"Preview only\"")
            .assert_contains("Create chatbot");
        let p = owner.post_form("/chatbots/preview", &BotForm { card: broken, ..BotForm::new("slack", "Preview only", SLACK_URL) }.fields()).await;
        assert_eq!(p.status, StatusCode::OK);
        p.assert_contains("Template error at line ").assert_lacks("Preview with a sample alert");
        assert_eq!(chatbot_count(&app), 3);
        owner.get("/chatbots").await.assert_lacks("Preview only").assert_lacks("Broken card");
    }

    async fn viewers_only_look_and_other_workspaces_see_nothing(app: TestApp) {
        let owner = app.owner().await;
        create(&owner, BotForm { secret: DING_SECRET, keyword: "Alert", ..BotForm::new("dingtalk", "Ops DingTalk", DING_URL) }).await;
        let id = chatbot_id(&owner, "Ops DingTalk").await;
        let one_time = crate::members::invite(&owner, "viewer@example.com", "viewer").await;
        let viewer = crate::members::first_login(&app, "viewer@example.com", &one_time).await;

        let list = viewer.get("/chatbots").await;
        assert_eq!(list.status, StatusCode::OK);
        list.assert_contains("<td class=\"name\">Ops DingTalk</td>")
            .assert_contains("SEC•••••••• (set)")
            .assert_lacks(DING_SECRET)
            .assert_lacks("Create Chatbot")
            .assert_lacks("Send test")
            .assert_lacks("/edit")
            .assert_lacks("action=\"/chatbots");
        assert_eq!(viewer.get("/chatbots/new").await.status, StatusCode::FORBIDDEN);
        assert_eq!(viewer.get(&format!("/chatbots/{id}/edit")).await.status, StatusCode::FORBIDDEN);
        let form = BotForm::new("slack", "Mallory", SLACK_URL);
        for path in [
            "/chatbots".to_string(),
            "/chatbots/preview".to_string(),
            format!("/chatbots/{id}"),
            format!("/chatbots/{id}/test"),
            format!("/chatbots/{id}/delete"),
        ] {
            let p = viewer.post_form(&path, &form.fields()).await;
            assert_eq!(p.status, StatusCode::FORBIDDEN, "{path}: {}", p.body);
        }
        assert_eq!(chatbot_count(&app), 1);
        owner.get("/chatbots").await.assert_contains("<td class=\"name\">Ops DingTalk</td>").assert_lacks("Mallory");

        // Another workspace sees none of it.
        owner.post_form("/workspaces", &[("name", "Other")]).await;
        owner.get("/chatbots").await.assert_contains("No chatbots yet").assert_lacks("Ops DingTalk");
        assert_eq!(owner.get(&format!("/chatbots/{id}/edit")).await.status, StatusCode::NOT_FOUND);
        for path in [format!("/chatbots/{id}"), format!("/chatbots/{id}/test"), format!("/chatbots/{id}/delete")] {
            let p = owner.post_form(&path, &BotForm::new("dingtalk", "Hijacked", DING_URL).fields()).await;
            assert_eq!(p.status, StatusCode::NOT_FOUND, "{path}: {}", p.body);
        }
        let p = owner
        .post_form(
            &format!("/chatbots/preview?id={id}"),
            &BotForm::new("dingtalk", "Hijacked", DING_URL).fields(),
        )
        .await;
    assert_eq!(p.status, StatusCode::NOT_FOUND, "{}", p.body);
    // A malformed id is not found either.
        assert_eq!(owner.get("/chatbots/not-an-id/edit").await.status, StatusCode::NOT_FOUND);
        assert_eq!(chatbot_count(&app), 1);
        let name: String = {
            let mut conn = app.db.get().expect("conn");
            herald::store::schema::chatbots::table
                .select(herald::store::schema::chatbots::name)
                .first(&mut *conn)
                .expect("name")
        };
        assert_eq!(name, "Ops DingTalk");
    }

    async fn deleting_a_chatbot_takes_it_out_of_its_policies(app: TestApp) {
        let owner = app.owner().await;
        create(&owner, BotForm::new("slack", "Ops Slack", SLACK_URL)).await;
        create(&owner, BotForm::new("wecom", "Ops WeCom", WECOM_URL)).await;
        let slack = chatbot_id(&owner, "Ops Slack").await;
        let wecom = chatbot_id(&owner, "Ops WeCom").await;
        let db_down = policy_using(&app, "Database down", "chatbot", &slack);
        let disk = policy_using(&app, "Disk full", "chatbot", &slack);
        let cpu = policy_using(&app, "CPU high", "chatbot", &wecom);

        // Delete on the list opens a confirmation naming the policies; it deletes nothing.
        owner.get("/chatbots").await.assert_contains(&format!("href=\"/chatbots/{slack}/delete\""));
        let confirm = owner.get(&format!("/chatbots/{slack}/delete")).await;
        assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.body);
        confirm
            .assert_contains("Delete chatbot “Ops Slack”?")
            .assert_contains("It will be removed from the notification policies “Database down”, “Disk full”.");
        assert_eq!(targets_of(&app, &db_down).len(), 1, "the confirmation page changes nothing");
        owner.post_form(&format!("/chatbots/{slack}/delete"), &[]).await.assert_redirect("/chatbots");
        owner.get("/chatbots").await
            .assert_contains("Chatbot “Ops Slack” deleted. It was removed from the policies “Database down”, “Disk full”.")
            .assert_lacks("<td class=\"name\">Ops Slack</td>")
            .assert_contains("<td class=\"name\">Ops WeCom</td>");
        assert!(targets_of(&app, &db_down).is_empty());
        assert!(targets_of(&app, &disk).is_empty());
        assert_eq!(targets_of(&app, &cpu), vec![("chatbot".to_string(), wecom.clone())]);

        // One no policy uses: a plain flash.
        create(&owner, BotForm::new("slack", "Spare", SLACK_URL)).await;
        let spare = chatbot_id(&owner, "Spare").await;
        owner.post_form(&format!("/chatbots/{spare}/delete"), &[]).await.assert_redirect("/chatbots");
        owner.get("/chatbots").await.assert_contains("Chatbot “Spare” deleted.").assert_lacks("removed from the policies");
        // Gone is gone.
        assert_eq!(owner.post_form(&format!("/chatbots/{spare}/delete"), &[]).await.status, StatusCode::NOT_FOUND);
        assert_eq!(owner.get(&format!("/chatbots/{spare}/edit")).await.status, StatusCode::NOT_FOUND);
    }
}

// ---------------------------------------------------------------- Send test

async fn app_allowing_loopback() -> TestApp {
    let db = Arc::new(TestDb::create(Kind::Sqlite).expect("sqlite"));
    TestApp::spawn_with(Kind::Sqlite, db, |s| s.allow_private_targets = true).await
}

async fn send_test(c: &Client, id: &str) -> Page {
    c.post_form(&format!("/chatbots/{id}/test"), &[]).await
}

fn succeeded(p: &Page) {
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    p.assert_contains(
        "<p class=\"flash flash-success\" role=\"status\" id=\"test-result\">Message accepted.</p>",
    )
    .assert_contains("<dd id=\"test-status\">200</dd>");
}

fn failed(p: &Page) {
    assert_eq!(p.status, StatusCode::BAD_GATEWAY, "{}", p.body);
    p.assert_contains("<p class=\"flash flash-error\" role=\"alert\" id=\"test-result\">");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dingtalk_send_test_is_signed_and_keeps_the_key_across_edits() {
    let fake = chat_platforms::dingtalk_server();
    let app = app_allowing_loopback().await;
    let owner = app.owner().await;
    let url = format!("{}/robot/send?access_token={DING_TOKEN}", fake.base);
    let form = BotForm {
        keyword: KEYWORD,
        ..BotForm::new("dingtalk", "Ops DingTalk", &url)
    };
    create(
        &owner,
        BotForm {
            secret: DING_SECRET,
            ..form
        },
    )
    .await;
    let id = chatbot_id(&owner, "Ops DingTalk").await;

    let p = send_test(&owner, &id).await;
    succeeded(&p);
    p.assert_contains("Send test: “Ops DingTalk”")
        .assert_contains("<dd id=\"test-code\">0</dd>")
        .assert_lacks(DING_SECRET);
    let got = fake.accepted();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["markdown"]["title"], "[Alert] Herald test message");

    // Saved again with the key field blank: the key is kept, so the signature still matches.
    save(&owner, &format!("/chatbots/{id}"), form)
        .await
        .assert_redirect("/chatbots");
    succeeded(&send_test(&owner, &id).await);
    assert_eq!(fake.accepted().len(), 2);

    // Key removed: DingTalk refuses the unsigned request.
    save(
        &owner,
        &format!("/chatbots/{id}"),
        BotForm {
            clear_secret: true,
            ..form
        },
    )
    .await
    .assert_redirect("/chatbots");
    let p = send_test(&owner, &id).await;
    failed(&p);
    p.assert_contains("DingTalk refused the signature")
        .assert_contains("<dd id=\"test-code\">310000</dd>");
    assert_eq!(fake.accepted().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dingtalk_refusals_are_explained_on_the_test_page() {
    let fake = chat_platforms::dingtalk_server();
    let app = app_allowing_loopback().await;
    let owner = app.owner().await;
    let url = format!("{}/robot/send?access_token={DING_TOKEN}", fake.base);

    // The wrong key: a signature problem, with DingTalk's code.
    create(
        &owner,
        BotForm {
            secret: "SECwrong-key",
            keyword: KEYWORD,
            ..BotForm::new("dingtalk", "Wrong key", &url)
        },
    )
    .await;
    let id = chatbot_id(&owner, "Wrong key").await;
    let p = send_test(&owner, &id).await;
    failed(&p);
    p.assert_contains("DingTalk refused the signature")
        .assert_contains("check the signature key (SEC…)")
        .assert_contains("<dd id=\"test-status\">200</dd>")
        .assert_contains("<dd id=\"test-code\">310000</dd>")
        .assert_contains("sign not match")
        .assert_lacks("SECwrong-key");

    // The robot wants a keyword this bot does not put in its messages.
    create(
        &owner,
        BotForm {
            secret: DING_SECRET,
            keyword: "Deploy",
            ..BotForm::new("dingtalk", "Wrong keyword", &url)
        },
    )
    .await;
    let id = chatbot_id(&owner, "Wrong keyword").await;
    let p = send_test(&owner, &id).await;
    failed(&p);
    p.assert_contains("lacks the robot&#39;s security keyword")
        .assert_contains("set the same keyword on this bot as on the robot")
        .assert_contains("<dd id=\"test-code\">310000</dd>");

    // An unknown token.
    let bad = format!("{}/robot/send?access_token=nope", fake.base);
    create(
        &owner,
        BotForm {
            secret: DING_SECRET,
            keyword: KEYWORD,
            ..BotForm::new("dingtalk", "Wrong token", &bad)
        },
    )
    .await;
    let id = chatbot_id(&owner, "Wrong token").await;
    let p = send_test(&owner, &id).await;
    failed(&p);
    p.assert_contains("does not know this robot")
        .assert_contains("<dd id=\"test-code\">300001</dd>");
    assert!(fake.accepted().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lark_wecom_and_slack_send_tests_succeed() {
    let lark = chat_platforms::lark_server();
    let wecom = chat_platforms::wecom_server();
    let slack = chat_platforms::slack_server();
    let app = app_allowing_loopback().await;
    let owner = app.owner().await;

    let lark_url = format!("{}/open-apis/bot/v2/hook/{LARK_HOOK}", lark.base);
    create(
        &owner,
        BotForm {
            secret: LARK_SECRET,
            keyword: KEYWORD,
            ..BotForm::new("lark", "Ops Lark", &lark_url)
        },
    )
    .await;
    let id = chatbot_id(&owner, "Ops Lark").await;
    let p = send_test(&owner, &id).await;
    succeeded(&p);
    p.assert_contains("<dd id=\"test-code\">0</dd>");
    let got = lark.accepted();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["msg_type"], "post");
    assert!(got[0]["sign"].is_string());

    // Lark with the wrong key: its own code.
    create(
        &owner,
        BotForm {
            secret: "not-the-key",
            keyword: KEYWORD,
            ..BotForm::new("lark", "Lark wrong key", &lark_url)
        },
    )
    .await;
    let id = chatbot_id(&owner, "Lark wrong key").await;
    let p = send_test(&owner, &id).await;
    failed(&p);
    p.assert_contains("Lark refused the signature")
        .assert_contains("<dd id=\"test-code\">19021</dd>");
    assert_eq!(lark.accepted().len(), 1);

    let wecom_url = format!("{}/cgi-bin/webhook/send?key={WECOM_KEY}", wecom.base);
    create(
        &owner,
        BotForm {
            keyword: KEYWORD,
            ..BotForm::new("wecom", "Ops WeCom", &wecom_url)
        },
    )
    .await;
    let id = chatbot_id(&owner, "Ops WeCom").await;
    let p = send_test(&owner, &id).await;
    succeeded(&p);
    p.assert_contains("<dd id=\"test-code\">0</dd>");
    let got = wecom.accepted();
    assert_eq!(got.len(), 1);
    assert!(
        got[0]["markdown"]["content"]
            .as_str()
            .is_some_and(|c| c.contains("[Alert] Herald test message")),
        "{got:?}"
    );

    let slack_url = format!("{}/services/{SLACK_PATH}", slack.base);
    create(&owner, BotForm::new("slack", "Ops Slack", &slack_url)).await;
    let id = chatbot_id(&owner, "Ops Slack").await;
    let p = send_test(&owner, &id).await;
    succeeded(&p);
    p.assert_lacks("id=\"test-code\"")
        .assert_contains("<pre id=\"test-body\">ok</pre>");
    let got = slack.accepted();
    assert_eq!(got.len(), 1);
    assert!(
        got[0]["text"]
            .as_str()
            .is_some_and(|t| t.contains("Herald test message")),
        "{got:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_platform_that_is_down_fails_clearly_and_quickly() {
    // A port nothing listens on.
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let app = app_allowing_loopback().await;
    let owner = app.owner().await;
    let url = format!("http://127.0.0.1:{port}/robot/send?access_token={DING_TOKEN}");
    create(
        &owner,
        BotForm {
            secret: DING_SECRET,
            keyword: KEYWORD,
            ..BotForm::new("dingtalk", "Nobody home", &url)
        },
    )
    .await;
    let id = chatbot_id(&owner, "Nobody home").await;
    let started = Instant::now();
    let p = send_test(&owner, &id).await;
    let waited = started.elapsed();
    failed(&p);
    p.assert_contains("Herald could not reach DingTalk")
        .assert_contains("<dd id=\"test-status\">no answer</dd>")
        .assert_lacks("id=\"test-code\"");
    assert!(waited < Duration::from_secs(6), "{waited:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_test_works_from_the_form_before_saving() {
    let fake = chat_platforms::dingtalk_server();
    let app = app_allowing_loopback().await;
    let owner = app.owner().await;
    let url = format!("{}/robot/send?access_token={DING_TOKEN}", fake.base);
    let form = BotForm {
        keyword: KEYWORD,
        secret: DING_SECRET,
        ..BotForm::new("dingtalk", "Draft bot", &url)
    };
    let p = owner.post_form("/chatbots/test", &form.fields()).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    p.assert_contains("Message accepted.")
        .assert_contains("Nothing is saved until you press Create")
        // The key typed for the test stays in its field, to be saved with the form…
        .assert_contains(&format!(
            "name=\"secret\" type=\"password\" value=\"{DING_SECRET}\""
        ));
    assert_eq!(fake.accepted().len(), 1);
    owner.get("/chatbots").await.assert_lacks("Draft bot</td>");

    // Editing: a blank key field tests with the stored key, as saving would keep it.
    create(&owner, form).await;
    let id = chatbot_id(&owner, "Draft bot").await;
    let blank = BotForm {
        keyword: KEYWORD,
        ..BotForm::new("dingtalk", "Draft bot", &url)
    };
    let p = owner
        .post_form(&format!("/chatbots/test?id={id}"), &blank.fields())
        .await;
    p.assert_contains("Message accepted.")
        .assert_lacks(DING_SECRET);
    assert_eq!(fake.accepted().len(), 2);
    // …and is never shown once saved.
    owner.get("/chatbots").await.assert_lacks(DING_SECRET);
    owner
        .get(&format!("/chatbots/{id}/edit"))
        .await
        .assert_lacks(DING_SECRET);
}
