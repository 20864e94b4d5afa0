//! What an attacker's probe of the console found, each as a test: redirects after sign-in,
//! parallel password guesses, sessions that outlive sign-out, control characters, oversized
//! flashes, invitations that reveal accounts, caching, wrong methods.

use reqwest::StatusCode;

use crate::both_backends;
use crate::helpers::{Client, OWNER, PASSWORD, TestApp};
use crate::members::{first_login, invite};

both_backends! {
    async fn next_is_read_the_way_a_browser_reads_it(app: TestApp) {
        let owner = app.owner().await;
        // Browsers drop the tab: `/\t/evil.example` is `//evil.example`, another host.
        for next in ["%2F%09%2Fevil.example", "%2F%09%5Cevil.example", "%2F%5Cevil.example", "%2F%0A%2Fevil.example", "https%3A%2F%2Fevil.example%2F"] {
            owner.get(&format!("/login?next={next}")).await.assert_redirect("/");
        }
        // Control characters are ignored, never a 500.
        for next in ["%0A", "%0D", "%0B", "%0C", "%2Fcontacts%0D%0ASet-Cookie:x=1"] {
            owner.get(&format!("/login?next={next}")).await.assert_redirect("/");
        }
        owner.get("/login?next=%2Fgroups").await.assert_redirect("/groups");

        let c = app.client();
        for next in ["/\t/evil.example", "/\n", "/\r\nSet-Cookie: x=1", "/\u{b}"] {
            let r = c.post_form("/login", &[("email", OWNER), ("password", PASSWORD), ("next", next)]).await;
            r.assert_redirect("/");
        }
    }

    async fn parallel_wrong_passwords_pass_the_throttle_only_five_times(app: TestApp) {
        let _owner = app.owner().await;
        let c = app.client();
        let token = c.csrf().await;
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..30 {
            let (c, token) = (c.clone(), token.clone());
            tasks.spawn(async move {
                c.post_raw("/login", &[("email", OWNER), ("password", "wrong password!"), ("csrf_token", &token)]).await.status
            });
        }
        let mut checked = 0;
        let mut refused = 0;
        while let Some(status) = tasks.join_next().await {
            match status.expect("task") {
                StatusCode::UNAUTHORIZED => checked += 1,
                StatusCode::TOO_MANY_REQUESTS => refused += 1,
                other => panic!("unexpected {other}"),
            }
        }
        assert_eq!((checked, refused), (5, 25));
        // A second Herald process on the same database shares the count.
        let second = TestApp::spawn_on(app.kind, app.test_db.clone()).await;
        let locked = second.client().login(OWNER, PASSWORD).await;
        assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    }

    async fn a_saved_cookie_stops_working_at_sign_out(app: TestApp) {
        let owner = app.owner().await;
        let saved = owner.cookies();
        assert_eq!(Client::get_with_cookies(&app.base, "/contacts", &saved).await.status, StatusCode::OK);
        owner.post_form("/logout", &[]).await.assert_redirect("/login?signed_out=1");
        Client::get_with_cookies(&app.base, "/contacts", &saved).await.assert_redirect("/login?next=%2Fcontacts");
    }

    async fn a_new_password_and_sign_out_others_end_the_other_sessions(app: TestApp) {
        let owner = app.owner().await;
        let laptop = app.client();
        laptop.login(OWNER, PASSWORD).await.assert_redirect("/");
        let phone = app.client();
        phone.login(OWNER, PASSWORD).await.assert_redirect("/");

        let account = owner.get("/account").await;
        assert_eq!(account.status, StatusCode::OK);
        assert_eq!(account.body.matches("<tr>").count(), 1 + 3, "{}", account.body);
        account.assert_contains("(this session)").assert_contains("Sign out other sessions");

        owner.post_form("/account/sessions/sign-out-others", &[]).await.assert_redirect("/account");
        owner.get("/account").await.assert_contains("2 other sessions are signed out.");
        laptop.get("/contacts").await.assert_redirect("/login?next=%2Fcontacts");
        phone.get("/contacts").await.assert_redirect("/login?next=%2Fcontacts");

        let other = app.client();
        other.login(OWNER, PASSWORD).await.assert_redirect("/");
        owner
            .post_form("/account/password", &[("current", PASSWORD), ("new", "another long one"), ("confirm", "another long one")])
            .await
            .assert_redirect("/");
        assert_eq!(owner.get("/contacts").await.status, StatusCode::OK);
        other.get("/contacts").await.assert_redirect("/login?next=%2Fcontacts");
    }

    async fn a_removed_member_is_out_at_their_next_request(app: TestApp) {
        let owner = app.owner().await;
        let link = invite(&owner, "bo@example.com", "admin").await;
        let bo = first_login(&app, "bo@example.com", &link).await;
        let saved = bo.cookies();
        let page = owner.get("/members").await;
        let row = page.body.find("Role of bo@example.com").expect("bo listed");
        let start = page.body[..row].rfind("action=\"/members/").expect("form") + "action=\"/members/".len();
        let id = &page.body[start..start + 36];
        owner.post_form(&format!("/members/{id}/remove"), &[]).await.assert_redirect("/members");
        Client::get_with_cookies(&app.base, "/contacts", &saved).await.assert_redirect("/login?next=%2Fcontacts");
        bo.get("/contacts").await.assert_redirect("/login?next=%2Fcontacts");
    }

    async fn the_current_password_cannot_be_guessed_without_limit(app: TestApp) {
        let owner = app.owner().await;
        for _ in 0..5 {
            let r = owner.post_form("/account/password", &[("current", "guess guess"), ("new", "another long one"), ("confirm", "another long one")]).await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        }
        let r = owner.post_form("/account/password", &[("current", PASSWORD), ("new", "another long one"), ("confirm", "another long one")]).await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
        r.assert_contains("Too many wrong passwords.");
        // The password did not change.
        app.client().login(OWNER, PASSWORD).await.assert_redirect("/");
    }

    async fn control_characters_are_refused_beside_their_field_and_nothing_is_stored(app: TestApp) {
        let owner = app.owner().await;
        let ding = "https://oapi.dingtalk.com/robot/send?access_token=abc";
        for (path, fields, field) in [
            ("/workspaces", vec![("name", "Ops\u{0}")], "name"),
            ("/contacts", vec![("name", "Ana\u{0}"), ("phone", ""), ("email", "ana@example.com"), ("language", "auto"), ("fallback", "default")], "name"),
            ("/groups", vec![("name", "On call\u{b}")], "name"),
            ("/webhooks", vec![("name", "Hook"), ("method", "POST"), ("url", "http://127.0.0.1:9/x\u{0}"), ("template", "$content")], "url"),
            ("/webhooks", vec![("name", "Hook"), ("method", "POST"), ("url", "http://127.0.0.1:9/x"), ("template", "a\u{0}b")], "template"),
            ("/webhooks", vec![("name", "Hook"), ("method", "POST"), ("url", "http://127.0.0.1:9/x"), ("resolve_template", "a\u{0}b")], "resolve_template"),
            ("/webhooks", vec![("name", "Hook"), ("method", "POST"), ("url", "http://127.0.0.1:9/x"), ("header_name", "X-A"), ("header_value", "v\u{0}")], "headers"),
            ("/chatbots", vec![("name", "Bot"), ("platform", "dingtalk"), ("webhook_url", "https://oapi.dingtalk.com/robot/send?access_token=a\u{0}")], "webhook_url"),
            ("/chatbots", vec![("name", "Bot"), ("platform", "dingtalk"), ("webhook_url", ding), ("card_template", "a\u{0}b")], "card_template"),
            ("/policies", vec![("name", "P"), ("matcher_label", "team"), ("matcher_op", "="), ("matcher_value", "db\u{0}"), ("repeat_minutes", "60")], "matchers"),
            ("/members", vec![("email", "bo\u{0}@example.com"), ("role", "viewer")], "email"),
        ] {
            let r = owner.post_form(path, &fields).await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{path} {field}: {}", r.body);
            r.assert_contains(&format!("<p class=\"field-error\" id=\"{field}-error\">This field contains a control character (such as NUL)"));
            // The form comes back with what was typed, the character marked.
            r.assert_contains("\u{fffd}");
        }
        // The field points at its error for assistive technology.
        let r = owner.post_form("/groups", &[("name", "On call\u{b}")]).await;
        r.assert_contains("aria-invalid=\"true\" aria-describedby=\"name-error\"");
        owner.get("/contacts").await.assert_contains("No contacts yet.");
        owner.get("/groups").await.assert_lacks("On call");
        owner.get("/webhooks").await.assert_lacks("Hook</td>");
        owner.get("/chatbots").await.assert_lacks("Bot</td>");
        owner.get("/members").await.assert_lacks("bo\u{fffd}@example.com").assert_lacks("Open invitations");
        owner.create_contact("Ana", "", "ana@example.com").await.assert_redirect("/contacts");
        // Preview, Send test and the account forms say it beside the field too; sign-in says it
        // in its one message. Nothing reaches a template, a provider or the throttle table.
        for (path, fields, field) in [
            ("/webhooks/preview", vec![("name", "Hook"), ("method", "POST"), ("url", "http://127.0.0.1:9/x"), ("template", "a\u{0}")], "template"),
            ("/chatbots/preview", vec![("name", "Bot"), ("platform", "dingtalk"), ("webhook_url", ding), ("card_template", "a\u{0}")], "card_template"),
            ("/chatbots/test", vec![("name", "Bot"), ("platform", "dingtalk"), ("webhook_url", ding), ("keyword", "x\u{0}")], "keyword"),
            ("/account/password", vec![("current", "x\u{0}"), ("new", "long enough pass"), ("confirm", "long enough pass")], "current"),
        ] {
            let r = owner.post_form(path, &fields).await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {}", r.body);
            r.assert_contains(&format!("id=\"{field}-error\">This field contains a control character"));
        }
        let stranger = app.client();
        stranger.post_form("/logout", &[]).await;
        let r = stranger.post_form("/login", &[("email", "a\u{0}@example.com"), ("password", "x")]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        r.assert_contains("The email or password contains a control character");
        // Newlines (CRLF, as browsers send them) and tabs from a textarea are text.
        let preview = owner.post_form("/webhooks/preview", &[("name", "Hook"), ("method", "POST"), ("url", "http://127.0.0.1:9/x"), ("template", "a\r\n\tb $content")]).await;
        assert_ne!(preview.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", preview.body);
    }

    async fn flashes_stay_small_enough_for_the_cookie(app: TestApp) {
        let owner = app.owner().await;
        let page = owner.get("/members").await;
        let marker = "action=\"/members/";
        let start = page.body.find(marker).expect("member form") + marker.len();
        let me = &page.body[start..start + 36];
        // 40 refused role changes without following one redirect.
        let token = owner.csrf().await;
        for _ in 0..40 {
            let r = owner.post_raw(&format!("/members/{me}/role"), &[("role", "viewer"), ("csrf_token", &token)]).await;
            r.assert_redirect("/members");
        }
        let shown = owner.get("/members").await;
        assert_eq!(shown.status, StatusCode::OK);
        assert_eq!(shown.body.matches("A workspace needs at least one owner.").count(), 3);
    }

    async fn invitations_look_the_same_and_wait_to_be_accepted(app: TestApp) {
        let owner = app.owner().await;
        // Someone with an account of their own elsewhere.
        let bo = app.client();
        bo.post_form("/logout", &[]).await;
        let bo_link = invite(&owner, "bo@example.com", "admin").await;
        let bo = first_login(&app, "bo@example.com", &bo_link).await;
        bo.post_form("/workspaces", &[("name", "Bo's")]).await.assert_redirect("/");

        // Bo's workspace invites the owner, who has an account, and a stranger, who has none:
        // the inviter sees the same thing both times.
        let existing = bo.post_form("/members", &[("email", OWNER), ("role", "viewer")]).await;
        let new = bo.post_form("/members", &[("email", "new@example.com"), ("role", "viewer")]).await;
        existing.assert_redirect("/members");
        new.assert_redirect("/members");
        let members = bo.get("/members").await;
        members.assert_contains("Invitation sent to new@example.com.");
        assert_eq!(members.body.matches("Open invitations").count(), 1);
        members.assert_contains(&format!("<td>{OWNER}</td>")).assert_contains("<td>new@example.com</td>");

        // The owner is not a member until they accept.
        owner.get("/workspaces").await.assert_contains("Invitations for you").assert_lacks("Switch to Bo");
        let page = owner.get("/workspaces").await;
        let marker = "action=\"/invitations/";
        let start = page.body.find(marker).expect("accept form") + marker.len();
        let id = page.body[start..].split('/').next().expect("id").to_string();
        owner.post_form(&format!("/invitations/{id}/accept"), &[]).await.assert_redirect("/workspaces");
        owner.get("/workspaces").await.assert_contains("You joined the workspace").assert_lacks("Invitations for you");
        // Now a member of Bo's workspace: a row with a role picker, no longer an invitation.
        bo.get("/members").await.assert_contains(&format!("Role of {OWNER}"));

        // The stranger declines from the emailed link; the invitation is gone.
        let outbox = bo.get("/dev/outbox").await;
        let link_start = outbox.body.find("/invite/").expect("link");
        let link = outbox.body[link_start..].split(['<', '"']).next().expect("link").to_string();
        let stranger = app.client();
        stranger.post_form(&link, &[("action", "decline")]).await.assert_redirect("/login");
        assert_eq!(stranger.get(&link).await.status, StatusCode::NOT_FOUND);
        bo.get("/members").await.assert_lacks("new@example.com");
    }

    async fn an_existing_account_accepts_with_its_password_from_the_link(app: TestApp) {
        let owner = app.owner().await;
        let link = invite(&owner, "bo@example.com", "viewer").await;
        let _bo = first_login(&app, "bo@example.com", &link).await;
        owner.post_form("/workspaces", &[("name", "Second")]).await.assert_redirect("/");
        let link = invite(&owner, "bo@example.com", "admin").await;
        let visitor = app.client();
        let wrong = visitor.post_form(&link, &[("action", "sign_in"), ("password", "not it at all")]).await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
        wrong.assert_contains("Wrong password.");
        // Choosing a password for an address that has an account does not replace it.
        let taken = visitor.post_form(&link, &[("action", "create"), ("password", "a brand new one"), ("confirm", "a brand new one")]).await;
        assert_eq!(taken.status, StatusCode::UNPROCESSABLE_ENTITY);
        taken.assert_contains("already exists");
        visitor.post_form(&link, &[("action", "sign_in"), ("password", PASSWORD)]).await.assert_redirect("/");
        visitor.get("/workspaces").await.assert_contains("Second");
    }

    async fn signed_in_and_link_pages_are_not_cached(app: TestApp) {
        let owner = app.owner().await;
        for path in ["/contacts", "/webhooks", "/account", "/v/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "/invite/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"] {
            let r = owner.http.get(format!("{}{path}", app.base)).send().await.expect("GET");
            assert_eq!(r.headers().get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"), "{path}");
        }
    }

    async fn wrong_methods_answer_405_with_allow(app: TestApp) {
        let c = app.client();
        let r = c.http.put(format!("{}/login", app.base)).send().await.expect("PUT");
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(r.headers().get("allow").and_then(|v| v.to_str().ok()), Some("GET, POST"));
        let r = c.http.get(format!("{}/logout", app.base)).send().await.expect("GET");
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(r.headers().get("allow").and_then(|v| v.to_str().ok()), Some("POST"));
        assert_eq!(c.get("/no/such/page").await.status, StatusCode::NOT_FOUND);
    }
}
