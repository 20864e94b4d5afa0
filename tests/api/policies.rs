//! Notification policies: rules, objects, methods, the verified-phone rule, and the
//! "who would be notified" panel.

use diesel::prelude::*;
use herald::store::schema::contacts;
use reqwest::StatusCode;

use crate::both_backends;
use crate::helpers::{Client, Page, TestApp};

pub(crate) fn mark_verified(app: &TestApp, id: &str) {
    let mut conn = app.db.get().expect("conn");
    diesel::update(contacts::table.filter(contacts::id.eq(id)))
        .set(contacts::phone_verified_at.eq(Some(chrono::Utc::now().naive_utc())))
        .execute(&mut *conn)
        .expect("verify");
}

struct P<'a> {
    name: &'a str,
    rules: Vec<(&'a str, &'a str, &'a str)>,
    contacts: Vec<&'a str>,
    groups: Vec<&'a str>,
    methods: Vec<&'a str>,
    repeat: &'a str,
    group_by: &'a str,
}

impl<'a> P<'a> {
    fn new(name: &'a str) -> Self {
        P {
            name,
            rules: vec![],
            contacts: vec![],
            groups: vec![],
            methods: vec![],
            repeat: "240",
            group_by: "",
        }
    }

    async fn post(&self, c: &Client, path: &str) -> Page {
        let mut f: Vec<(&str, &str)> = vec![
            ("name", self.name),
            ("enabled", "on"),
            ("mention", "on"),
            ("notify_resolved", "on"),
            ("repeat_minutes", self.repeat),
            ("group_by", self.group_by),
        ];
        for (l, o, v) in &self.rules {
            f.push(("matcher_label", l));
            f.push(("matcher_op", o));
            f.push(("matcher_value", v));
        }
        f.extend(self.contacts.iter().map(|x| ("contacts", *x)));
        f.extend(self.groups.iter().map(|x| ("groups", *x)));
        f.extend(self.methods.iter().map(|x| ("methods", *x)));
        c.post_form(path, &f).await
    }
}

fn refused(p: &Page, needle: &str) {
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", p.body);
    p.assert_contains(needle);
}

async fn policy_id(c: &Client, name: &str) -> String {
    let page = c.get("/policies").await;
    let at = page
        .body
        .find(&format!("<td class=\"name\">{name}</td>"))
        .unwrap_or_else(|| panic!("{name} not listed:\n{}", page.body));
    let rest = &page.body[at..];
    let start = rest.find("/policies/").expect("link") + "/policies/".len();
    rest[start..start + 36].to_string()
}

both_backends! {
    async fn a_policy_whose_stored_rules_do_not_decode_matches_nothing_and_says_why(app: TestApp) {
        use herald::store::schema::notification_policies;
        let owner = app.owner().await;
        owner.create_contact("Ana", "", "ana@example.com").await;
        let ana = owner.contact_id("Ana").await;
        let mut p = P::new("Critical");
        p.rules = vec![("severity", "=", "critical")];
        p.contacts = vec![&ana];
        p.methods = vec!["email"];
        p.post(&owner, "/policies").await.assert_redirect("/policies");
        let q: String = url::form_urlencoded::byte_serialize(b"severity=critical").collect();
        owner.get(&format!("/policies/simulate?labels={q}")).await.assert_contains("1 enabled policy matches");
        // A damaged column (a bad restore, a hand edit): read as "no rules" it would match
        // every alert.
        let mut conn = app.db.get().expect("conn");
        diesel::update(notification_policies::table)
            .set(notification_policies::matchers.eq("{not json"))
            .execute(&mut *conn)
            .expect("corrupt");
        drop(conn);
        for labels in ["severity=critical", "severity=info"] {
            let q: String = url::form_urlencoded::byte_serialize(labels.as_bytes()).collect();
            let sim = owner.get(&format!("/policies/simulate?labels={q}")).await;
            assert_eq!(sim.status, StatusCode::OK);
            sim.assert_contains("0 enabled policies match")
                .assert_contains("matches nothing: Its stored rules could not be read")
                .assert_lacks("ana***");
        }
        owner.get("/policies").await.assert_contains("Its stored rules could not be read").assert_lacks("every alert");
    }

    async fn the_simulator_names_the_rule_an_alert_fails(app: TestApp) {
        let owner = app.owner().await;
        owner.create_contact("Ana", "", "ana@example.com").await;
        let ana = owner.contact_id("Ana").await;
        let mut p = P::new("DB");
        p.rules = vec![("team", "=", "db"), ("severity", "=~", "critical|page")];
        p.contacts = vec![&ana];
        p.methods = vec!["email"];
        p.post(&owner, "/policies").await.assert_redirect("/policies");
        let q: String = url::form_urlencoded::byte_serialize(b"team=db\nseverity=info").collect();
        owner
            .get(&format!("/policies/simulate?labels={q}"))
            .await
            .assert_contains("does not match: severity=~&#34;critical|page&#34; fails (the alert has “info”)");
        let q: String = url::form_urlencoded::byte_serialize(b"severity=page").collect();
        owner
            .get(&format!("/policies/simulate?labels={q}"))
            .await
            .assert_contains("does not match: team=&#34;db&#34; fails (the alert has no such label)");
    }

    async fn policies_check_rules_objects_and_methods(app: TestApp) {
        let owner = app.owner().await;
        owner.create_contact("Ana", "+8613900001111", "ana@example.com").await;
        owner.create_contact("Bo", "+8613900002222", "").await;
        let ana = owner.contact_id("Ana").await;
        let bo = owner.contact_id("Bo").await;
        mark_verified(&app, &ana);

        let mut p = P::new("DB critical");
        p.rules = vec![("severity", "=", "critical"), ("team", "=~", "db|dba")];
        p.contacts = vec![&ana];
        p.methods = vec!["phone", "sms"];
        p.group_by = "alertname, cluster";
        p.post(&owner, "/policies").await.assert_redirect("/policies");
        let list = owner.get("/policies").await;
        list.assert_contains("Policy “DB critical” created.")
            .assert_contains("severity=&#34;critical&#34;")
            .assert_contains("Ana (contact)")
            .assert_contains("Phone call, SMS");

        // Phone and SMS need verified numbers: Bo's is not, and the refusal names him.
        let mut q = P::new("Web");
        q.contacts = vec![&ana, &bo];
        q.methods = vec!["sms"];
        refused(&q.post(&owner, "/policies").await, "Bo (+86 139****2222 is not verified)");
        q.methods = vec!["email"];
        q.post(&owner, "/policies").await.assert_redirect("/policies");

        // Rules are checked.
        let mut r = P::new("Bad");
        r.contacts = vec![&ana];
        r.methods = vec!["email"];
        r.rules = vec![("team", "=~", "db(")];
        refused(&r.post(&owner, "/policies").await, "Rule 1: “db(” is not a valid regular expression");
        r.rules = vec![("1team", "=", "x")];
        refused(&r.post(&owner, "/policies").await, "is not a label name");
        r.rules = vec![];
        r.group_by = "ok, not-a-label";
        refused(&r.post(&owner, "/policies").await, "“not-a-label” is not a label name.");
        r.group_by = "";
        for bad in ["0", "10081", "soon"] {
            r.repeat = bad;
            refused(&r.post(&owner, "/policies").await, "Enter whole minutes from 1 to 10080");
        }
        r.repeat = "10080";
        r.post(&owner, "/policies").await.assert_redirect("/policies");

        // Something must be notified; contacts need a method.
        let nothing = P::new("Nothing");
        refused(&nothing.post(&owner, "/policies").await, "Choose at least one contact, group, schedule, chatbot or webhook");
        let mut no_method = P::new("No method");
        no_method.contacts = vec![&ana];
        refused(&no_method.post(&owner, "/policies").await, "Choose how contacts are told");
        // Names are unique.
        let mut dup = P::new("db CRITICAL");
        dup.contacts = vec![&ana];
        dup.methods = vec!["email"];
        refused(&dup.post(&owner, "/policies").await, "already called");

        // Edit round-trips the stored values.
        let id = policy_id(&owner, "DB critical").await;
        let form = owner.get(&format!("/policies/{id}/edit")).await;
        form.assert_contains("value=\"db|dba\"").assert_contains("value=\"alertname, cluster\"");
    }

    async fn groups_with_unverified_members_warn_and_block_their_deletion(app: TestApp) {
        let owner = app.owner().await;
        owner.create_contact("Ana", "+8613900001111", "").await;
        owner.create_contact("Bo", "+8613900002222", "").await;
        let ana = owner.contact_id("Ana").await;
        let bo = owner.contact_id("Bo").await;
        mark_verified(&app, &ana);
        owner.post_form("/groups", &[("name", "DBAs"), ("members", &ana), ("members", &bo)]).await.assert_redirect("/groups");
        let page = owner.get("/groups").await;
        let at = page.body.find("<td class=\"name\">DBAs</td>").expect("listed");
        let start = page.body[at..].find("/groups/").expect("link") + at + "/groups/".len();
        let group = page.body[start..start + 36].to_string();

        let mut p = P::new("DB pages");
        p.groups = vec![&group];
        p.methods = vec!["phone"];
        p.post(&owner, "/policies").await.assert_redirect("/policies");
        owner.get("/policies").await.assert_contains("Group “DBAs”: Bo will get no phone calls or SMS");
        // The group is now in use.
        owner.get(&format!("/groups/{group}/delete")).await.assert_contains("“DB pages”");
    }

    async fn who_would_be_notified_shows_matches_and_fates(app: TestApp) {
        let owner = app.owner().await;
        owner.create_contact("Ana", "+8613900001111", "ana@example.com").await;
        owner.create_contact("Bo", "+8613900002222", "").await;
        let ana = owner.contact_id("Ana").await;
        let bo = owner.contact_id("Bo").await;
        mark_verified(&app, &ana);
        owner.post_form("/groups", &[("name", "Team"), ("members", &bo)]).await;
        let page = owner.get("/groups").await;
        let at = page.body.find("<td class=\"name\">Team</td>").expect("listed");
        let start = page.body[at..].find("/groups/").expect("link") + at + "/groups/".len();
        let group = page.body[start..start + 36].to_string();

        let mut db = P::new("DB");
        db.rules = vec![("team", "=", "db")];
        db.contacts = vec![&ana];
        db.groups = vec![&group];
        db.methods = vec!["sms", "email"];
        db.post(&owner, "/policies").await.assert_redirect("/policies");
        let mut web = P::new("Web");
        web.rules = vec![("team", "=", "web")];
        web.contacts = vec![&ana];
        web.methods = vec!["email"];
        web.post(&owner, "/policies").await.assert_redirect("/policies");

        let q: String = url::form_urlencoded::byte_serialize(b"alertname=Down\nteam=db").collect();
        let sim = owner.get(&format!("/policies/simulate?labels={q}")).await;
        assert_eq!(sim.status, StatusCode::OK);
        sim.assert_contains("1 enabled policy matches")
            .assert_contains("SMS → +86 139****1111")
            .assert_contains("group “Team”")
            .assert_contains("SMS not sent: +86 139****2222 is not verified")
            .assert_contains("Email not sent: no email address")
            .assert_contains("Email not sent: a***@example.com is not activated");
        // Alertmanager payloads work too, and nothing was sent.
        let payload = include_str!("../fixtures/alertmanager-webhook-v4-firing.json");
        let q: String = url::form_urlencoded::byte_serialize(payload.as_bytes()).collect();
        assert_eq!(owner.get(&format!("/policies/simulate?labels={q}")).await.status, StatusCode::OK);
        let bad = owner.get("/policies/simulate?labels=oops").await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        bad.assert_contains("write name=value");
        // Only the three activation messages of contact creation are in the Dev outbox.
        assert_eq!(owner.get("/dev/outbox").await.body.matches("class=\"outbox-link\"").count(), 3);
    }

    async fn viewers_and_other_workspaces(app: TestApp) {
        let owner = app.owner().await;
        owner.create_contact("Ana", "", "ana@example.com").await;
        let ana = owner.contact_id("Ana").await;
        let mut p = P::new("Mail");
        p.contacts = vec![&ana];
        p.methods = vec!["email"];
        p.post(&owner, "/policies").await.assert_redirect("/policies");
        let id = policy_id(&owner, "Mail").await;
        let one_time = crate::members::invite(&owner, "v@example.com", "viewer").await;
        let viewer = crate::members::first_login(&app, "v@example.com", &one_time).await;
        viewer.get("/policies").await.assert_contains("Mail").assert_lacks("Create Policy").assert_lacks("/edit");
        assert_eq!(viewer.get("/policies/simulate").await.status, StatusCode::OK);
        assert_eq!(p.post(&viewer, "/policies").await.status, StatusCode::FORBIDDEN);
        assert_eq!(viewer.post_form(&format!("/policies/{id}/delete"), &[]).await.status, StatusCode::FORBIDDEN);
        owner.post_form("/workspaces", &[("name", "Other")]).await;
        assert_eq!(owner.get(&format!("/policies/{id}/edit")).await.status, StatusCode::NOT_FOUND);
        assert_eq!(owner.post_form(&format!("/policies/{id}/delete"), &[]).await.status, StatusCode::NOT_FOUND);
        // A contact of the first workspace cannot be named here.
        let mut foreign = P::new("Foreign");
        foreign.contacts = vec![&ana];
        foreign.methods = vec!["email"];
        refused(&foreign.post(&owner, "/policies").await, "no longer exists");
    }
}

/// Store-level: the check in the save transaction.
mod races {
    use diesel::prelude::*;

    use crate::both_backends;

    both_backends! {
        async fn a_policy_cannot_be_saved_naming_an_object_deleted_meanwhile(app: TestApp) {
            use herald::store::named::SaveError;
            use herald::store::policies::{self, PolicyInput};
            use herald::store::{StoreError, UserId, WorkspaceId};
            let _owner = app.owner().await;
            let mut conn = app.db.get().expect("conn");
            let (ws, user): (WorkspaceId, UserId) = herald::store::schema::memberships::table
                .select((herald::store::schema::memberships::workspace_id, herald::store::schema::memberships::user_id))
                .first(&mut *conn)
                .expect("membership");
            let input = PolicyInput {
                name: "Ghost".into(),
                enabled: true,
                matchers: vec![],
                methods: vec![],
                mention: true,
                notify_resolved: true,
                group_by: vec![],
                repeat_minutes: 60,
                group_wait_secs: 0,
                group_interval_secs: 60,
                targets: vec![herald::domain::policy::Target::Group(herald::store::GroupId::new())],
            };
            let r = policies::save(&mut conn, &ws, &user, None, &input);
            assert!(matches!(r, Err(SaveError::Store(StoreError::NotFound))), "{r:?}");
            assert!(policies::list(&mut conn, &ws).expect("list").is_empty(), "nothing stored");
        }

        async fn a_group_deleted_while_a_policy_using_it_is_saved_stays(app: TestApp) {
            use diesel::Connection;
            use herald::domain::ObjectName;
            use herald::store::groups::{self, DeleteError};
            use herald::store::policies::{self, PolicyInput};
            use herald::store::{UserId, WorkspaceId};
            let _owner = app.owner().await;
            let mut conn = app.db.get().expect("conn");
            let (ws, user): (WorkspaceId, UserId) = herald::store::schema::memberships::table
                .select((herald::store::schema::memberships::workspace_id, herald::store::schema::memberships::user_id))
                .first(&mut *conn)
                .expect("membership");
            let group = groups::create(&mut conn, &ws, &user, &ObjectName::parse("Racers").expect("name"), &[]).expect("group");
            drop(conn);
            let (saving, deleting) = (app.db.clone(), app.db.clone());
            let (ws2, group2) = (ws.clone(), group.clone());
            let (tx, rx) = std::sync::mpsc::channel();
            // The policy save stays open a moment after naming the group…
            let saver = std::thread::spawn(move || {
                let mut c = saving.get().expect("conn");
                c.transaction(|c| {
                    let input = PolicyInput {
                        name: "Racing".into(),
                        enabled: true,
                        matchers: vec![],
                        methods: vec![],
                        mention: true,
                        notify_resolved: true,
                        group_by: vec![],
                        repeat_minutes: 60,
                group_wait_secs: 0,
                group_interval_secs: 60,
                        targets: vec![herald::domain::policy::Target::Group(group2.clone())],
                    };
                    policies::save(c, &ws2, &user, None, &input)
                        .map_err(|e| diesel::result::Error::QueryBuilderError(e.to_string().into()))?;
                    tx.send(()).expect("signal");
                    std::thread::sleep(std::time::Duration::from_millis(400));
                    Ok::<_, diesel::result::Error>(())
                })
                .expect("policy saved");
            });
            // …while the group is deleted: the delete must wait, then refuse.
            rx.recv().expect("saving");
            let mut c = deleting.get().expect("conn");
            let r = groups::delete(&mut c, &ws, &group);
            saver.join().expect("saver");
            assert!(matches!(r, Err(DeleteError::InUse(ref p)) if p == &vec!["Racing".to_string()]), "{r:?}");
            assert!(groups::get(&mut c, &ws, &group).is_ok(), "the group is still there");
        }
    }
}
