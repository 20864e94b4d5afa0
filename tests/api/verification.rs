//! Phone verification and contact-method activation: one-click links, Batch Verify, limits.

use std::sync::Arc;
use std::time::Duration;

use diesel::prelude::*;
use herald::domain::{ContactName, EmailAddress, Fallback, Language, PhoneNumber};
use herald::store::contacts::{self, ContactInput};
use herald::store::schema::{contacts as contacts_table, verification_links, workspaces};
use herald::store::{ContactId, WorkspaceId};
use reqwest::StatusCode;

use crate::both_backends;
use crate::fakes;
use crate::helpers::{Client, Kind, TestApp, TestDb, html_escape};
use crate::smtp_server::SmtpServer;

/// The links on the Dev outbox page, newest first.
async fn outbox_links(c: &Client) -> Vec<String> {
    let page = c.get("/dev/outbox").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page.body
        .split("class=\"outbox-link\">")
        .skip(1)
        .map(|rest| rest.split('<').next().unwrap_or_default().to_string())
        .collect()
}

/// The path part (`/v/…`) of the newest link sent.
async fn newest_link(app: &TestApp, c: &Client) -> String {
    let link = outbox_links(c)
        .await
        .into_iter()
        .next()
        .expect("a link was sent");
    link.strip_prefix(&app.base)
        .unwrap_or_else(|| panic!("{link} does not start with the public URL {}", app.base))
        .to_string()
}

pub fn workspace(app: &TestApp) -> WorkspaceId {
    let mut conn = app.db.get().expect("conn");
    workspaces::table
        .select(workspaces::id)
        .first::<WorkspaceId>(&mut *conn)
        .expect("a workspace")
}

/// A contact stored directly, without the console's activation SMS.
pub fn insert_contact(app: &TestApp, ws: &WorkspaceId, name: &str, phone: &str) -> ContactId {
    let mut conn = app.db.get().expect("conn");
    contacts::create(
        &mut conn,
        ws,
        &ContactInput {
            name: ContactName::parse(name).expect("name"),
            phone: Some(PhoneNumber::parse(phone).expect("phone")),
            email: None,
            im_user_id: None,
            language: Language::Auto,
            fallback: Fallback::Default,
        },
    )
    .expect("insert")
}

fn row<'a>(list: &'a str, name: &str) -> &'a str {
    let at = list
        .find(&format!("<td class=\"name\">{}</td>", html_escape(name)))
        .unwrap_or_else(|| panic!("{name} not listed:\n{list}"));
    let end = list[at..]
        .find("</tr>")
        .map(|e| at + e)
        .unwrap_or(list.len());
    &list[at..end]
}

async fn wait_batch(c: &Client, batch_path: &str) -> serde_json::Value {
    for _ in 0..200 {
        let p = c.get(&format!("{batch_path}/progress")).await;
        assert_eq!(p.status, StatusCode::OK, "{}", p.body);
        let v: serde_json::Value = serde_json::from_str(&p.body).expect("progress json");
        if v["state"] != "running" {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("batch {batch_path} never finished");
}

both_backends! {
    async fn a_new_number_gets_a_link_that_verifies_only_when_pressed(app: TestApp) {
        let owner = app.owner().await;
        owner.create_contact("Ana", "+8613900001111", "").await.assert_redirect("/contacts");
        let list = owner.get("/contacts").await;
        list.assert_contains("Verification SMS sent to +86 139****1111");
        assert!(row(&list.body, "Ana").contains("Waiting for activation"), "{}", list.body);
        let outbox = owner.get("/dev/outbox").await;
        outbox.assert_contains("Development only").assert_contains("+8613900001111");
        let path = newest_link(&app, &owner).await;

        // Opening the link (as a chat app's preview would) shows it and changes nothing.
        let anon = app.client();
        let page = anon.get(&path).await;
        assert_eq!(page.status, StatusCode::OK);
        page.assert_contains("+86 139****1111").assert_contains(">Verify</button>");
        let list = owner.get("/contacts").await;
        assert!(row(&list.body, "Ana").contains("Waiting for activation"));

        // Pressing Verify does.
        let done = anon.post_raw(&path, &[]).await;
        assert_eq!(done.status, StatusCode::OK, "{}", done.body);
        done.assert_contains("is verified");
        let list = owner.get("/contacts").await;
        let ana = row(&list.body, "Ana");
        assert!(ana.contains("Verified") && !ana.contains("Waiting"), "{ana}");

        // Single use.
        let again = anon.post_raw(&path, &[]).await;
        assert_eq!(again.status, StatusCode::GONE);
        again.assert_contains("already been used");
        assert_eq!(anon.get(&path).await.status, StatusCode::GONE);

        // Only verified numbers are usable for phone and SMS notifications.
        let ws = workspace(&app);
        let id = ContactId::parse(&owner.contact_id("Ana").await).expect("id");
        let bob = insert_contact(&app, &ws, "Bob", "+8613900002222");
        let mut conn = app.db.get().expect("conn");
        let usable = contacts::verified_phones(&mut conn, &ws, &[id.clone(), bob]).expect("phones");
        assert_eq!(usable.len(), 1);
        assert_eq!(usable[0].0, id);
        assert_eq!(usable[0].1.as_str(), "+8613900001111");
    }

    async fn tampered_unknown_and_malformed_tokens_change_nothing(app: TestApp) {
        let owner = app.owner().await;
        owner.create_contact("Ana", "+8613900001111", "").await;
        let path = newest_link(&app, &owner).await;
        let anon = app.client();
        let mut tampered = path.clone().into_bytes();
        let last = tampered.len() - 1;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).expect("ascii");
        for bad in [tampered.as_str(), "/v/short", "/v/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"] {
            let r = anon.get(bad).await;
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{bad}");
            r.assert_contains("not valid");
            assert_eq!(anon.post_raw(bad, &[]).await.status, StatusCode::NOT_FOUND, "{bad}");
        }
        assert!(row(&owner.get("/contacts").await.body, "Ana").contains("Waiting for activation"));
        // The real link still works afterwards.
        assert_eq!(anon.post_raw(&path, &[]).await.status, StatusCode::OK);
    }

    async fn expired_links_are_refused(app: TestApp) {
        let owner = app.owner().await;
        owner.create_contact("Ana", "+8613900001111", "").await;
        let path = newest_link(&app, &owner).await;
        let past = chrono::Utc::now().naive_utc() - chrono::Duration::minutes(1);
        {
            let mut conn = app.db.get().expect("conn");
            diesel::update(verification_links::table)
                .set(verification_links::expires_at.eq(past))
                .execute(&mut *conn)
                .expect("expire link");
            diesel::update(contacts_table::table)
                .set(contacts_table::phone_link_expires_at.eq(Some(past)))
                .execute(&mut *conn)
                .expect("expire state");
        }
        let anon = app.client();
        let r = anon.get(&path).await;
        assert_eq!(r.status, StatusCode::GONE);
        r.assert_contains("expired");
        assert_eq!(anon.post_raw(&path, &[]).await.status, StatusCode::GONE);
        let list = owner.get("/contacts").await;
        let ana = row(&list.body, "Ana");
        assert!(ana.contains("Not verified") && !ana.contains(">Verified<"), "{ana}");
    }

    async fn a_changed_number_or_address_starts_over(app: TestApp) {
        let owner = app.owner().await;
        owner.create_contact("Ana", "+8613900001111", "ana@example.com").await;
        let list = owner.get("/contacts").await;
        list.assert_contains("Activation email sent to a***@example.com");
        let links = outbox_links(&owner).await;
        assert_eq!(links.len(), 2, "one SMS and one email");
        // Activate the email (newest) and verify the phone.
        let anon = app.client();
        let email_link = links[0].strip_prefix(&app.base).expect("ours").to_string();
        let phone_link = links[1].strip_prefix(&app.base).expect("ours").to_string();
        anon.get(&email_link).await.assert_contains("a***@example.com").assert_contains(">Activate</button>");
        anon.post_raw(&email_link, &[]).await.assert_contains("is activated");
        let list = owner.get("/contacts").await;
        assert!(row(&list.body, "Ana").contains("Activated"), "{}", list.body);

        // Changing the number before its link is used makes that link out of date.
        let id = owner.contact_id("Ana").await;
        let r = owner.post_form(&format!("/contacts/{id}"), &[
            ("name", "Ana"), ("phone", "+8613900003333"), ("email", "ana@example.com"),
            ("im_user_id", ""), ("language", "auto"), ("fallback", "default"),
        ]).await;
        r.assert_redirect("/contacts");
        let r = anon.post_raw(&phone_link, &[]).await;
        assert_eq!(r.status, StatusCode::GONE);
        r.assert_contains("out of date");
        let list = owner.get("/contacts").await;
        let ana = row(&list.body, "Ana");
        assert!(ana.contains("+8613900003333") && ana.contains("Waiting for activation"), "{ana}");
        // The unchanged email keeps its activation.
        assert!(ana.contains("Activated"), "{ana}");

        // A changed address loses it.
        owner.post_form(&format!("/contacts/{id}"), &[
            ("name", "Ana"), ("phone", "+8613900003333"), ("email", "ana.li@example.com"),
            ("im_user_id", ""), ("language", "auto"), ("fallback", "default"),
        ]).await.assert_redirect("/contacts");
        let list = owner.get("/contacts").await;
        let ana = row(&list.body, "Ana");
        assert!(!ana.contains("Activated") && ana.contains("ana.li@example.com"), "{ana}");
        // The edit form shows the states beside the fields.
        owner.get(&format!("/contacts/{id}/edit")).await.assert_contains("Waiting for activation");
    }

    async fn resending_to_one_number_is_rate_limited(app: TestApp) {
        let owner = app.owner().await;
        owner.create_contact("Ana", "+8613900001111", "").await;
        let id = owner.contact_id("Ana").await;
        let path = format!("/contacts/{id}/verify");
        let resend = || owner.post_form(&path, &[("method", "phone"), ("back", "/contacts")]);
        resend().await.assert_redirect("/contacts");
        owner.get("/contacts").await.assert_contains("try again in");
        assert_eq!(outbox_links(&owner).await.len(), 1);

        // Each minute one more, up to five within the hour.
        for sent in 2..=5 {
            shift_back_portably(&app, 61).expect("age links");
            resend().await;
            owner.get("/contacts").await.assert_contains("Verification SMS sent");
            assert_eq!(outbox_links(&owner).await.len(), sent);
        }
        shift_back_portably(&app, 61).expect("age links");
        resend().await;
        owner.get("/contacts").await.assert_contains("minutes");
        assert_eq!(outbox_links(&owner).await.len(), 5);
    }

    async fn send_limits_survive_deleting_the_contact_or_another_workspace(app: TestApp) {
        let owner = app.owner().await;
        owner.create_contact("Ana", "+8613900001111", "").await;
        let id = owner.contact_id("Ana").await;
        owner.post_form(&format!("/contacts/{id}/delete"), &[]).await.assert_redirect("/contacts");
        // Re-created at once: the activation SMS is held back by the number's limit.
        owner.create_contact("Ana again", "+8613900001111", "").await.assert_redirect("/contacts");
        owner.get("/contacts").await.assert_contains("try again in");
        // Another workspace shares the number's limits.
        owner.post_form("/workspaces", &[("name", "Other")]).await;
        owner.create_contact("Ana elsewhere", "+8613900001111", "").await.assert_redirect("/contacts");
        owner.get("/contacts").await.assert_contains("try again in");
        assert!(outbox_links(&owner).await.is_empty());
    }

    async fn concurrent_resends_send_one_link(app: TestApp) {
        let owner = app.owner().await;
        owner.create_contact("Ana", "+8613900001111", "").await;
        let id = owner.contact_id("Ana").await;
        shift_back_portably(&app, 61).expect("age sends");
        let path = format!("/contacts/{id}/verify");
        let token = owner.csrf().await;
        let fields = [("method", "phone"), ("back", "/contacts"), ("csrf_token", token.as_str())];
        let (a, b) = tokio::join!(owner.post_raw(&path, &fields), owner.post_raw(&path, &fields));
        a.assert_redirect("/contacts");
        b.assert_redirect("/contacts");
        // (Each answer carries one flash in the session cookie; the last cookie wins, so the
        // outbox, not the flashes, tells how many went out.)
        assert_eq!(outbox_links(&owner).await.len(), 2, "the activation SMS and one resend");
    }

    async fn a_number_changed_back_does_not_revive_old_links(app: TestApp) {
        let owner = app.owner().await;
        owner.create_contact("Ana", "+8613900001111", "").await;
        let first = newest_link(&app, &owner).await;
        let id = owner.contact_id("Ana").await;
        let save = |phone: &'static str| {
            let path = format!("/contacts/{id}");
            let owner = &owner;
            async move {
                owner.post_form(&path, &[("name", "Ana"), ("phone", phone), ("email", ""), ("im_user_id", ""), ("language", "auto"), ("fallback", "default")]).await
            }
        };
        save("+8613900002222").await.assert_redirect("/contacts");
        save("+8613900001111").await.assert_redirect("/contacts");
        let r = app.client().post_raw(&first, &[]).await;
        assert_eq!(r.status, StatusCode::GONE);
        r.assert_contains("out of date");
        assert!(!row(&owner.get("/contacts").await.body, "Ana").contains(">Verified<"));
    }

    async fn public_link_pages_are_rate_limited_per_address(app: TestApp) {
        let anon = app.client();
        for i in 0..30 {
            assert_eq!(anon.get("/v/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").await.status, StatusCode::NOT_FOUND, "request {i}");
        }
        let r = anon.get("/v/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
        r.assert_contains("Too many attempts");
        assert_eq!(anon.post_raw("/v/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &[]).await.status, StatusCode::TOO_MANY_REQUESTS);
    }

    async fn opening_real_links_never_locks_anyone_out(app: TestApp) {
        let owner = app.owner().await;
        owner.create_contact("Ana", "+8613900001111", "").await;
        let path = newest_link(&app, &owner).await;
        // A link scanner (or a whole office behind one address) opening real links often.
        let anon = app.client();
        for _ in 0..40 {
            assert_eq!(anon.get(&path).await.status, StatusCode::OK);
        }
        assert_eq!(anon.post_raw(&path, &[]).await.status, StatusCode::OK);
    }

    async fn batch_verify_sends_in_the_background_and_reports_progress(app: TestApp) {
        let owner = app.owner().await;
        let ws = workspace(&app);
        let ids: Vec<ContactId> = (0..3)
            .map(|i| insert_contact(&app, &ws, &format!("Batch {i}"), &format!("+861390000{:04}", 5000 + i)))
            .collect();
        let list = owner.get("/contacts").await;
        list.assert_contains("Batch Verify");
        assert!(row(&list.body, "Batch 0").contains("Not verified"));

        // Nothing ticked: told what to do.
        owner.post_form("/contacts/verify", &[("scope", "selected")]).await.assert_redirect("/contacts");
        owner.get("/contacts").await.assert_contains("Select the contacts to verify first");

        let mut fields: Vec<(&str, &str)> = ids.iter().map(|id| ("ids", id.as_str())).collect();
        fields.push(("scope", "selected"));
        let r = owner.post_form("/contacts/verify", &fields).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let batch = r.location.clone().expect("batch page");
        assert!(batch.starts_with("/contacts/batches/"), "{batch}");
        let done = wait_batch(&owner, &batch).await;
        assert_eq!((done["total"].as_i64(), done["sent"].as_i64(), done["failed"].as_i64()), (Some(3), Some(3), Some(0)), "{done}");
        assert_eq!(done["state"], "finished");
        let page = owner.get(&batch).await;
        page.assert_contains("All 3 verification SMS were sent").assert_contains("<progress");
        assert_eq!(outbox_links(&owner).await.len(), 3);
        let list = owner.get("/contacts").await;
        assert!(row(&list.body, "Batch 1").contains("Waiting for activation"));

        // "All matching" right away: every number was just sent a link, so each is refused
        // with the reason, and nothing more is sent.
        let r = owner.post_form("/contacts/verify", &[("scope", "matching"), ("q", "batch")]).await;
        let batch = r.location.clone().expect("batch page");
        let done = wait_batch(&owner, &batch).await;
        assert_eq!((done["total"].as_i64(), done["failed"].as_i64()), (Some(3), Some(3)), "{done}");
        owner.get(&batch).await.assert_contains("rate limited").assert_contains("Batch 2");
        assert_eq!(outbox_links(&owner).await.len(), 3);

        // After a reload the finished batch still reads the same.
        owner.get(&batch).await.assert_contains("3 could not be sent");
    }

    async fn viewers_and_other_workspaces_cannot_send(app: TestApp) {
        let owner = app.owner().await;
        owner.create_contact("Ana", "+8613900001111", "").await;
        let id = owner.contact_id("Ana").await;
        let r = owner.post_form("/contacts/verify", &[("scope", "matching"), ("q", "")]).await;
        let batch = r.location.clone().unwrap_or_default();
        let one_time = crate::members::invite(&owner, "v@example.com", "viewer").await;
        let viewer = crate::members::first_login(&app, "v@example.com", &one_time).await;
        let list = viewer.get("/contacts").await;
        list.assert_contains("Waiting for activation").assert_lacks("Batch Verify").assert_lacks("/verify\"");
        assert_eq!(viewer.post_form(&format!("/contacts/{id}/verify"), &[("method", "phone")]).await.status, StatusCode::FORBIDDEN);
        assert_eq!(viewer.post_form("/contacts/verify", &[("scope", "matching")]).await.status, StatusCode::FORBIDDEN);
        assert_eq!(viewer.get("/dev/outbox").await.status, StatusCode::FORBIDDEN);
        // Another workspace sees none of it.
        owner.post_form("/workspaces", &[("name", "Other")]).await;
        assert_eq!(owner.post_form(&format!("/contacts/{id}/verify"), &[("method", "phone")]).await.status, StatusCode::NOT_FOUND);
        if !batch.is_empty() {
            assert_eq!(owner.get(&batch).await.status, StatusCode::NOT_FOUND);
        }
        assert!(outbox_links(&owner).await.is_empty());
    }
}

/// Moves every remembered send back by `secs` (portable across both backends).
fn shift_back_portably(app: &TestApp, secs: i64) -> Result<(), diesel::result::Error> {
    use herald::store::schema::verification_sends;
    let mut conn = app.db.get().expect("conn");
    let rows: Vec<(String, chrono::NaiveDateTime)> = verification_sends::table
        .select((verification_sends::target, verification_sends::created_at))
        .load(&mut *conn)?;
    for (target, at) in rows {
        diesel::update(
            verification_sends::table
                .filter(verification_sends::target.eq(&target))
                .filter(verification_sends::created_at.eq(at)),
        )
        .set(verification_sends::created_at.eq(at - chrono::Duration::seconds(secs)))
        .execute(&mut *conn)?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_failures_through_alibaba_say_why() {
    let fake = fakes::aliyun_server();
    let db = Arc::new(TestDb::create(Kind::Sqlite).expect("sqlite"));
    let app = TestApp::spawn_with(Kind::Sqlite, db, |s| fakes::use_aliyun(s, &fake)).await;
    let owner = app.owner().await;
    let ws = workspace(&app);
    let ok = insert_contact(&app, &ws, "Good", "+8613912345678");
    let wrong = insert_contact(&app, &ws, "Wrong", "+8613900000000");
    let limited = insert_contact(&app, &ws, "Throttled", "+8613900000001");
    let fields = [
        ("ids", ok.as_str()),
        ("ids", wrong.as_str()),
        ("ids", limited.as_str()),
        ("scope", "selected"),
    ];
    let r = owner.post_form("/contacts/verify", &fields).await;
    let batch = r.location.clone().expect("batch page");
    let done = wait_batch(&owner, &batch).await;
    assert_eq!(
        (done["sent"].as_i64(), done["failed"].as_i64()),
        (Some(1), Some(2)),
        "{done}"
    );
    let page = owner.get(&batch).await;
    page.assert_contains("wrong number or address: isv.MOBILE_NUMBER_ILLEGAL")
        .assert_contains("rate limited: isv.BUSINESS_LIMIT_CONTROL")
        .assert_contains("+86 139****0000");
    // A number whose SMS failed is not left "waiting" for a link that never arrived.
    let list = owner.get("/contacts").await;
    assert!(
        row(&list.body, "Wrong").contains("Not verified"),
        "{}",
        list.body
    );
    assert!(row(&list.body, "Good").contains("Waiting for activation"));

    // The link inside the real SMS request verifies the number.
    let sent = fake.accepted();
    assert_eq!(sent.len(), 1);
    let params: serde_json::Value = serde_json::from_str(&sent[0]["TemplateParam"]).expect("json");
    let url = params["url"].as_str().expect("url");
    let path = url.strip_prefix(&app.base).expect("public url");
    app.client()
        .post_raw(path, &[])
        .await
        .assert_contains("is verified");
    assert!(row(&owner.get("/contacts").await.body, "Good").contains("Verified"));
    // Nothing went to the Dev outbox: Alibaba Cloud is the SMS provider now.
    assert!(outbox_links(&owner).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_activation_email_arrives_by_smtp_and_activates() {
    let Some(server) = SmtpServer::start() else {
        return;
    };
    let db = Arc::new(TestDb::create(Kind::Sqlite).expect("sqlite"));
    let url = server.url();
    let app = TestApp::spawn_with(Kind::Sqlite, db, |s| {
        s.email_provider = herald::config::EmailProvider::Smtp;
        s.smtp.url = Some(url.into());
        s.smtp.from = "Herald <alerts@example.com>".into();
    })
    .await;
    let owner = app.owner().await;
    owner
        .create_contact("Ana", "", "ana@example.com")
        .await
        .assert_redirect("/contacts");
    owner
        .get("/contacts")
        .await
        .assert_contains("Activation email sent to a***@example.com");
    let mail = server.wait_for("ana@example.com").await;
    assert!(
        mail.contains("Subject: Activate your email for Herald alerts"),
        "{mail}"
    );
    let start = mail
        .find(&format!("{}/v/", app.base))
        .expect("link in mail");
    let link: String = mail[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    let path = link.strip_prefix(&app.base).expect("ours");
    let anon = app.client();
    anon.get(path).await.assert_contains("a***@example.com");
    anon.post_raw(path, &[])
        .await
        .assert_contains("is activated");
    let list = owner.get("/contacts").await;
    assert!(
        row(&list.body, "Ana").contains("Activated"),
        "{}",
        list.body
    );
    let mut conn = app.db.get().expect("conn");
    let ws = workspace(&app);
    let id = ContactId::parse(&owner.contact_id("Ana").await).expect("id");
    let c = contacts::get(&mut conn, &ws, &id).expect("contact");
    assert_eq!(
        c.usable_email(),
        Some(EmailAddress::parse("ana@example.com").expect("e"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_are_in_the_contacts_language() {
    let Some(app) = TestApp::spawn(Kind::Sqlite).await else {
        return;
    };
    let owner = app.owner().await;
    owner
        .post_form(
            "/contacts",
            &[
                ("name", "Li Lei"),
                ("phone", "+8613900001111"),
                ("email", ""),
                ("im_user_id", ""),
                ("language", "zh"),
                ("fallback", "default"),
            ],
        )
        .await
        .assert_redirect("/contacts");
    owner.create_contact("Ana", "+8613900002222", "").await;
    let outbox = owner.get("/dev/outbox").await;
    outbox
        .assert_contains("请点击链接验证您的手机号")
        .assert_contains("Herald: verify this number");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_left_running_by_a_stopped_process_shows_as_interrupted() {
    use herald::store::schema::verify_batches;
    let Some(app) = TestApp::spawn(Kind::Sqlite).await else {
        return;
    };
    let owner = app.owner().await;
    let ws = workspace(&app);
    let id = uuid::Uuid::now_v7().to_string();
    let long_ago = chrono::Utc::now().naive_utc() - chrono::Duration::minutes(10);
    {
        let mut conn = app.db.get().expect("conn");
        diesel::insert_into(verify_batches::table)
            .values((
                verify_batches::id.eq(&id),
                verify_batches::workspace_id.eq(&ws),
                verify_batches::created_by.eq("someone"),
                verify_batches::total.eq(10),
                verify_batches::sent.eq(4),
                verify_batches::state.eq("running"),
                verify_batches::created_at.eq(long_ago),
                verify_batches::updated_at.eq(long_ago),
            ))
            .execute(&mut *conn)
            .expect("insert batch");
    }
    // Even before a restart sweeps it, the page does not pretend it is still sending.
    let page = owner.get(&format!("/contacts/batches/{id}")).await;
    page.assert_contains("Interrupted")
        .assert_contains("6 number(s) got no link");
    // A new process marks it for good.
    let _second = TestApp::spawn_on(Kind::Sqlite, app.test_db.clone()).await;
    let mut conn = app.db.get().expect("conn");
    let state: String = verify_batches::table
        .find(&id)
        .select(verify_batches::state)
        .first(&mut *conn)
        .expect("state");
    assert_eq!(state, "interrupted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_each_client_has_its_own_limit() {
    let db = Arc::new(TestDb::create(Kind::Sqlite).expect("sqlite"));
    let app =
        TestApp::spawn_with(Kind::Sqlite, db, |s| s.trusted_proxies = "127.0.0.1".into()).await;
    let http = reqwest::Client::new();
    let get = |client_ip: &'static str| {
        http.get(format!(
            "{}/v/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            app.base
        ))
        .header("X-Forwarded-For", client_ip)
        .send()
    };
    for _ in 0..30 {
        assert_eq!(
            get("198.51.100.1").await.expect("get").status(),
            StatusCode::NOT_FOUND
        );
    }
    assert_eq!(
        get("198.51.100.1").await.expect("get").status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another client behind the same proxy is not affected.
    assert_eq!(
        get("198.51.100.2").await.expect("get").status(),
        StatusCode::NOT_FOUND
    );
    // A line the client sent itself does not help: the proxy's own line (last) counts.
    let spoofed = http
        .get(format!(
            "{}/v/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            app.base
        ))
        .header("X-Forwarded-For", "203.0.113.77")
        .header("X-Forwarded-For", "198.51.100.1")
        .send()
        .await
        .expect("get");
    assert_eq!(spoofed.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workspace_sends_at_most_its_daily_limit() {
    let db = Arc::new(TestDb::create(Kind::Sqlite).expect("sqlite"));
    let app = TestApp::spawn_with(Kind::Sqlite, db, |s| s.verification_daily_limit = 2).await;
    let owner = app.owner().await;
    let ws = workspace(&app);
    let ids: Vec<ContactId> = (0..3)
        .map(|i| {
            insert_contact(
                &app,
                &ws,
                &format!("Capped {i}"),
                &format!("+861390000{:04}", 7000 + i),
            )
        })
        .collect();
    let r = owner
        .post_form(
            "/contacts/verify",
            &[("scope", "matching"), ("q", "capped")],
        )
        .await;
    let batch = r.location.clone().expect("batch page");
    let done = wait_batch(&owner, &batch).await;
    assert_eq!(
        (done["sent"].as_i64(), done["failed"].as_i64()),
        (Some(2), Some(1)),
        "{done}"
    );
    owner
        .get(&batch)
        .await
        .assert_contains("daily limit of 2 verification messages");
    // One at a time is held to the same limit.
    owner
        .post_form(
            &format!("/contacts/{}/verify", ids[2]),
            &[("method", "phone")],
        )
        .await
        .assert_redirect("/contacts");
    owner
        .get("/contacts")
        .await
        .assert_contains("its daily limit (verification_daily_limit)");
    assert_eq!(outbox_links(&owner).await.len(), 2);
}
