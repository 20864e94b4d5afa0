use reqwest::StatusCode;

use crate::both_backends;
use crate::helpers::{Client, TestApp};

#[expect(
    clippy::too_many_arguments,
    reason = "one argument per form field reads best in the tests"
)]
async fn submit(
    c: &Client,
    path: &str,
    name: &str,
    phone: &str,
    email: &str,
    im: &str,
    language: &str,
    fallback: &str,
) -> crate::helpers::Page {
    c.post_form(
        path,
        &[
            ("name", name),
            ("phone", phone),
            ("email", email),
            ("im_user_id", im),
            ("language", language),
            ("fallback", fallback),
        ],
    )
    .await
}

/// An error with its sources, as the log line shows it.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(s) = next {
        out.push_str(&format!(": {s}"));
        next = s.source();
    }
    out
}

both_backends! {
    async fn a_stored_value_that_does_not_decode_is_an_error_not_a_default(app: TestApp) {
        use diesel::prelude::*;
        use herald::store::schema::{chatbots, contacts};
        use herald::store::{WorkspaceId, contacts as store_contacts};
        let owner = app.owner().await;
        owner.create_contact("Ana", "+8613900001111", "").await;
        let id = owner.contact_id("Ana").await;
        let mut conn = app.db.get().expect("conn");
        let ws: WorkspaceId = contacts::table.select(contacts::workspace_id).first(&mut *conn).expect("ws");
        let contact_id = herald::store::ContactId::parse(&id).expect("id");
        // Read as stored, the row decodes into domain types.
        let row = store_contacts::get(&mut conn, &ws, &contact_id).expect("row");
        assert_eq!(row.phone.as_ref().map(|p| p.as_str()), Some("+8613900001111"));
        // A damaged language (a default would be "Auto") and a damaged number are errors that
        // name the value.
        for (column, value, says) in [("language", "klingon", "stored Language \"klingon\""), ("phone", "13900001111", "stored PhoneNumber \"13900001111\"")] {
            diesel::sql_query(format!("UPDATE contacts SET {column} = '{value}'")).execute(&mut *conn).expect("corrupt");
            let err = chain(&store_contacts::get(&mut conn, &ws, &contact_id).expect_err("must not decode"));
            assert!(err.contains(&format!("field '{column}'")) && err.contains(says), "{column}: {err}");
            diesel::sql_query("UPDATE contacts SET language = 'en', phone = '+8613900001111'").execute(&mut *conn).expect("repair");
        }
        // A chatbot whose platform is unknown is not read as some other platform.
        owner
            .post_form("/chatbots", &[("platform", "slack"), ("name", "Ops"), ("webhook_url", "https://hooks.slack.com/services/T000/B000/XXXX"), ("daily_stats_times", ""), ("card_template", "")])
            .await
            .assert_redirect("/chatbots");
        diesel::update(chatbots::table).set(chatbots::platform.eq("teams")).execute(&mut *conn).expect("corrupt");
        let err = chain(&herald::store::chatbots::list(&mut conn, &ws).expect_err("must not decode"));
        assert!(err.contains("stored Platform \"teams\""), "{err}");
        drop(conn);
        let page = owner.get("/chatbots").await;
        assert_eq!(page.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", page.body);
        page.assert_lacks("teams");
    }

    async fn create_contact_and_see_it_listed(app: TestApp) {
        let c = app.owner().await;
        let form = c.get("/contacts/new").await;
        assert_eq!(form.status, StatusCode::OK);
        for field in ["name", "phone", "email", "im_user_id", "language", "fallback"] {
            form.assert_contains(&format!("<label for=\"{field}\">"));
        }
        let r = submit(&c, "/contacts", "Ana Li", "86 139-0000-1111", "Ana@Example.com", "ou_123", "zh", "email").await;
        r.assert_redirect("/contacts");
        let list = c.get("/contacts").await;
        list.assert_contains("Contact “Ana Li” created.")
            .assert_contains("<td class=\"name\">Ana Li</td>")
            .assert_contains("+8613900001111")
            .assert_contains("ana@example.com")
            .assert_contains("ou_123")
            .assert_contains("Chinese")
            // Saved numbers and addresses get their activation links straight away.
            .assert_contains("Waiting for activation")
            .assert_contains("Verification SMS sent to +86 139****1111")
            .assert_contains("Activation email sent to a***@example.com")
            .assert_contains("Showing 1–1 of 1 contact.");
        // The flash is shown once.
        c.get("/contacts").await.assert_lacks("Contact “Ana Li” created.");
    }

    async fn every_validation_rule_is_shown_beside_its_field(app: TestApp) {
        let c = app.owner().await;
        let check = |name: &'static str, phone: &'static str, email: &'static str, im: &'static str, lang: &'static str, fb: &'static str, msg: &'static str| {
            let c = c.clone();
            async move {
                let r = submit(&c, "/contacts", name, phone, email, im, lang, fb).await;
                assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{msg}");
                r.assert_contains(msg).assert_contains("aria-invalid=\"true\"");
                r
            }
        };
        check("", "+8613900001111", "", "", "auto", "default", "Enter a name.").await;
        let long = "x".repeat(65);
        let long: &'static str = Box::leak(long.into_boxed_str());
        check(long, "+8613900001111", "", "", "auto", "default", "The name can be at most 64 characters.").await;
        check("Ana", "", "", "", "auto", "default", "Enter a phone number or an email address (or both).").await;
        check("Ana", "not a number", "", "", "auto", "default", "Enter the number with its country code").await;
        check("Ana", "13900001111", "", "", "auto", "default", "not a valid phone number").await;
        check("Ana", "+86123", "", "", "auto", "default", "not a valid phone number for country code +86").await;
        check("Ana", "", "ana@", "", "auto", "default", "Enter a valid email address").await;
        check("Ana", "", "ana@example.com", "has space", "auto", "default", "The user ID cannot contain spaces.").await;
        check("Ana", "", "ana@example.com", "", "klingon", "default", "Choose Auto, English or Chinese.").await;
        check("Ana", "", "ana@example.com", "", "auto", "fax", "Choose a fallback method from the list.").await;

        // Several bad fields at once: all reported, everything typed kept.
        let r = submit(&c, "/contacts", "", "12ab", "bad@", "u1", "en", "sms").await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        r.assert_contains("Enter a name.")
            .assert_contains("Enter the number with its country code")
            .assert_contains("Enter a valid email address")
            .assert_contains("value=\"12ab\"")
            .assert_contains("value=\"bad@\"")
            .assert_contains("value=\"u1\"")
            .assert_contains("<option value=\"sms\" selected>");
        // Exactly 64 characters is fine.
        let max = "y".repeat(64);
        submit(&c, "/contacts", &max, "", "max@example.com", "", "auto", "default").await.assert_redirect("/contacts");
        c.get("/contacts").await.assert_contains("Showing 1–1 of 1 contact.");
    }

    async fn phone_and_email_belong_to_one_contact(app: TestApp) {
        let c = app.owner().await;
        submit(&c, "/contacts", "Ana", "+8613900001111", "ana@example.com", "", "auto", "default").await.assert_redirect("/contacts");
        submit(&c, "/contacts", "Bo", "+8613900002222", "bo@example.com", "", "auto", "default").await.assert_redirect("/contacts");

        // Same number written differently, same email in other case.
        let dup = submit(&c, "/contacts", "Cy", "8613900001111", "ANA@example.com", "", "auto", "default").await;
        assert_eq!(dup.status, StatusCode::UNPROCESSABLE_ENTITY);
        dup.assert_contains("This phone number already belongs to contact “Ana”.")
            .assert_contains("This email address already belongs to contact “Ana”.");

        // Editing Bo to Ana's number is refused too; Bo keeps his data.
        let bo = c.contact_id("Bo").await;
        let r = submit(&c, &format!("/contacts/{bo}"), "Bo", "+8613900001111", "bo@example.com", "", "auto", "default").await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        r.assert_contains("already belongs to contact “Ana”");
        c.get("/contacts?q=Bo").await.assert_contains("+8613900002222");

        // Saving a contact with its own phone and email is not a conflict.
        submit(&c, &format!("/contacts/{bo}"), "Bo Wang", "+8613900002222", "bo@example.com", "", "en", "sms").await.assert_redirect("/contacts");
        c.get("/contacts?q=wang").await.assert_contains("Bo Wang");
    }

    async fn search_by_name_phone_email_and_paginate(app: TestApp) {
        let c = app.owner().await;
        for i in 0..25 {
            let name = format!("Person {i:02}");
            let phone = format!("+86139000{i:05}");
            let email = format!("p{i:02}@corp.example.com");
            submit(&c, "/contacts", &name, &phone, &email, "", "auto", "default").await.assert_redirect("/contacts");
        }
        submit(&c, "/contacts", "Zoë 100%_real", "", "zoe@other.example.org", "", "auto", "default").await.assert_redirect("/contacts");

        let first = c.get("/contacts").await;
        first.assert_contains("Showing 1–20 of 26 contacts.").assert_contains("Page 1 of 2").assert_contains("Person 00").assert_lacks("Person 21");
        let second = c.get("/contacts?page=2").await;
        second.assert_contains("Showing 21–26 of 26 contacts.").assert_contains("Person 24").assert_lacks("Person 03");
        // Out-of-range and mangled page numbers show a real page.
        c.get("/contacts?page=99").await.assert_contains("Page 2 of 2");
        c.get("/contacts?page=abc").await.assert_contains("Page 1 of 2");

        c.get("/contacts?q=person+0").await.assert_contains("Showing 1–10 of 10 contacts");
        c.get("/contacts?q=PERSON+1").await.assert_contains("of 10 contacts");
        c.get("/contacts?q=13900000007").await.assert_contains("Person 07").assert_contains("of 1 contact ");
        c.get("/contacts?q=%2B86+139").await.assert_contains("of 25 contacts");
        c.get("/contacts?q=P05%40CORP").await.assert_contains("Person 05").assert_contains("of 1 contact ");
        c.get("/contacts?q=other.example").await.assert_contains("Zoë 100%_real");
        // LIKE wildcards in the query are literal.
        c.get("/contacts?q=%25_").await.assert_contains("Zoë 100%_real").assert_contains("of 1 contact ");
        c.get("/contacts?q=_").await.assert_contains("of 1 contact ");
        c.get("/contacts?q=nobody").await.assert_contains("No contact matches “nobody”.");
        // Paging keeps the search.
        c.get("/contacts?q=corp").await.assert_contains("href=\"/contacts?q=corp&#38;page=2\"");
    }

    async fn broad_and_narrow_searches_over_many_contacts(app: TestApp) {
        let c = app.owner().await;
        seed(&app, 1100).await;
        c.get("/contacts").await.assert_contains("of 1100 contacts.").assert_contains("Page 1 of 55");
        // Broad: every contact matches, counted exactly.
        c.get("/contacts?q=corp").await
            .assert_contains("of 1100 contacts matching “corp”")
            .assert_contains("Bulk 0000")
            .assert_contains("Page 1 of 55");
        c.get("/contacts?q=corp&page=55").await.assert_contains("Bulk 1099").assert_contains("Showing 1081–1100");
        // Narrow: exact counts.
        c.get("/contacts?q=bulk+10").await.assert_contains("of 100 contacts matching").assert_contains("Bulk 1000");
        c.get("/contacts?q=14155550042").await.assert_contains("Bulk 0042").assert_contains("of 1 contact ");
        c.get("/contacts?q=%2B1+415+555+0042").await.assert_contains("Bulk 0042").assert_contains("of 1 contact ");
        c.get("/contacts?q=BULK42%40").await.assert_contains("Bulk 0042").assert_contains("of 1 contact ");
        // A deleted contact leaves the index and the total.
        let id = c.contact_id("Bulk 0042").await;
        c.post_form(&format!("/contacts/{id}/delete"), &[]).await.assert_redirect("/contacts");
        c.get("/contacts?q=14155550042").await.assert_contains("No contact matches");
        c.get("/contacts").await.assert_contains("of 1099 contacts.");
        // An edited name is found by its new name only.
        let id = c.contact_id("Bulk 0043").await;
        c.post_form(&format!("/contacts/{id}"), &[("name", "Renamed Zed"), ("phone", "+14155550043"), ("email", ""), ("language", "auto"), ("fallback", "default")])
            .await
            .assert_redirect("/contacts");
        c.get("/contacts?q=renamed").await.assert_contains("Renamed Zed").assert_contains("of 1 contact ");
        c.get("/contacts?q=bulk43%40").await.assert_contains("No contact matches");
    }

    async fn changes_made_outside_this_process_show_on_the_next_view(app: TestApp) {
        use diesel::RunQueryDsl;
        let c = app.owner().await;
        c.create_contact("Ana", "+8613900001111", "").await.assert_redirect("/contacts");
        c.get("/contacts?q=ana").await.assert_contains("of 1 contact ");
        // As another Herald instance or an operator with a SQL shell would.
        app.db
            .run(|conn| {
                diesel::sql_query("UPDATE contacts SET name = 'Renamed elsewhere', search_text = 'renamed elsewhere'")
                    .execute(conn)
                    .map_err(herald::store::DbError::from)
            })
            .await
            .expect("update");
        c.get("/contacts").await.assert_contains("Renamed elsewhere").assert_lacks("<td class=\"name\">Ana</td>");
        c.get("/contacts?q=elsewhere").await.assert_contains("of 1 contact ");
        app.db
            .run(|conn| diesel::sql_query("DELETE FROM contacts").execute(conn).map_err(herald::store::DbError::from))
            .await
            .expect("delete");
        c.get("/contacts").await.assert_contains("No contacts yet.");
    }

    async fn edit_keeps_or_resets_verification(app: TestApp) {
        let c = app.owner().await;
        submit(&c, "/contacts", "Ana", "+8613900001111", "", "", "auto", "default").await.assert_redirect("/contacts");
        let id = c.contact_id("Ana").await;
        let form = c.get(&format!("/contacts/{id}/edit")).await;
        form.assert_contains("value=\"Ana\"").assert_contains("value=\"+8613900001111\"");

        // Mark verified directly in the database, as the verification flow will.
        mark_verified(&app, &id).await;
        c.get("/contacts").await.assert_contains("Verified");

        submit(&c, &format!("/contacts/{id}"), "Ana Li", "+8613900001111", "ana@example.com", "", "en", "none").await.assert_redirect("/contacts");
        c.get("/contacts").await.assert_contains("Ana Li").assert_contains("state-ok").assert_contains("ana@example.com");

        submit(&c, &format!("/contacts/{id}"), "Ana Li", "+8613900009999", "ana@example.com", "", "en", "none").await.assert_redirect("/contacts");
        c.get("/contacts").await.assert_contains("+8613900009999").assert_contains("Waiting for activation").assert_lacks("state-ok");

        // A bad edit changes nothing.
        let bad = submit(&c, &format!("/contacts/{id}"), "", "", "", "", "en", "none").await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        c.get("/contacts").await.assert_contains("Ana Li").assert_contains("+8613900009999");

        // Unknown and malformed ids are 404.
        assert_eq!(c.get("/contacts/00000000-0000-7000-8000-000000000000/edit").await.status, StatusCode::NOT_FOUND);
        assert_eq!(c.get("/contacts/not-an-id/edit").await.status, StatusCode::NOT_FOUND);
        let r = submit(&c, "/contacts/00000000-0000-7000-8000-000000000000", "X", "", "x@example.com", "", "en", "none").await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
    }

    async fn delete_asks_for_confirmation(app: TestApp) {
        let c = app.owner().await;
        submit(&c, "/contacts", "Ana", "+8613900001111", "", "", "auto", "default").await.assert_redirect("/contacts");
        let id = c.contact_id("Ana").await;
        let confirm = c.get(&format!("/contacts/{id}/delete")).await;
        assert_eq!(confirm.status, StatusCode::OK);
        confirm.assert_contains("Delete contact “Ana”?").assert_contains(&format!("action=\"/contacts/{id}/delete\""));
        // Opening the confirmation deletes nothing.
        c.get("/contacts").await.assert_contains("<td class=\"name\">Ana</td>");
        c.post_form(&format!("/contacts/{id}/delete"), &[]).await.assert_redirect("/contacts");
        c.get("/contacts").await.assert_contains("Contact “Ana” deleted.").assert_contains("No contacts yet.");
        assert_eq!(c.post_form(&format!("/contacts/{id}/delete"), &[]).await.status, StatusCode::NOT_FOUND);
        // The number is free again.
        submit(&c, "/contacts", "Ana 2", "+8613900001111", "", "", "auto", "default").await.assert_redirect("/contacts");
    }

    async fn oversized_and_malformed_posts_are_refused_cleanly(app: TestApp) {
        let c = app.owner().await;
        let huge = "x".repeat(100 * 1024);
        let r = c.post_form("/contacts", &[("name", &huge), ("email", "a@example.com"), ("language", "auto"), ("fallback", "default")]).await;
        assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
        r.assert_contains("Too large");
        // A form with a valid token but a field of the wrong shape is a 400 page, not a 500.
        let token = c.csrf().await;
        let r = c.post_raw("/members/not-a-uuid/role", &[("csrf_token", &token), ("role", "admin")]).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        c.get("/contacts").await.assert_contains("No contacts yet.");
    }

    async fn default_fallback_configuration(app: TestApp) {
        let c = app.owner().await;
        c.get("/contacts/defaults").await.assert_contains("<option value=\"sms\" selected>");
        let bad = c.post_form("/contacts/defaults", &[("fallback", "pigeon")]).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        bad.assert_contains("Choose SMS, email or none.");
        c.post_form("/contacts/defaults", &[("fallback", "email")]).await.assert_redirect("/contacts");
        c.get("/contacts/defaults").await.assert_contains("<option value=\"email\" selected>");
        c.get("/contacts/new").await.assert_contains("Use default (Email)");
    }
}

/// Adds `n` contacts straight through the store (the HTTP path is covered elsewhere).
async fn seed(app: &TestApp, n: usize) {
    use herald::domain::*;
    use herald::store::contacts::{self, ContactInput};
    let ws = app
        .db
        .run(|c| {
            use diesel::prelude::*;
            use herald::store::schema::workspaces;
            workspaces::table
                .select(workspaces::id)
                .first::<herald::store::WorkspaceId>(c)
                .map_err(herald::store::DbError::from)
        })
        .await
        .expect("workspace");
    app.db
        .run(move |c| {
            for i in 0..n {
                let input = ContactInput {
                    name: ContactName::parse(&format!("Bulk {i:04}")).expect("name"),
                    phone: Some(PhoneNumber::parse(&format!("+1415555{i:04}")).expect("phone")),
                    email: Some(
                        EmailAddress::parse(&format!("bulk{i}@corp.example.com")).expect("email"),
                    ),
                    im_user_id: None,
                    language: Language::Auto,
                    fallback: Fallback::Default,
                };
                contacts::create(c, &ws, &input)
                    .map_err(|e| herald::store::DbError::Migrate(e.to_string()))?;
            }
            Ok::<_, herald::store::DbError>(())
        })
        .await
        .expect("seed");
}

async fn mark_verified(app: &TestApp, id: &str) {
    use diesel::prelude::*;
    use herald::store::schema::contacts;
    let id = id.to_string();
    app.db
        .run(move |conn| {
            diesel::update(contacts::table.filter(contacts::id.eq(id)))
                .set(contacts::phone_verified_at.eq(Some(chrono::Utc::now().naive_utc())))
                .execute(conn)
                .map_err(herald::store::DbError::from)
        })
        .await
        .expect("mark verified");
}
