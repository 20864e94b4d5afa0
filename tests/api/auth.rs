use reqwest::StatusCode;

use crate::both_backends;
use crate::helpers::{OWNER, PASSWORD};

both_backends! {
    async fn first_run_goes_to_setup_and_creates_the_owner(app: TestApp) {
        let c = app.client();
        c.get("/").await.assert_redirect("/login");
        c.get("/contacts").await.assert_redirect("/login?next=%2Fcontacts");
        c.get("/login").await.assert_redirect("/setup");

        // Every field checked at once, values kept, passwords not echoed.
        let bad = c.post_form("/setup", &[("workspace", ""), ("email", "nope"), ("password", "short"), ("confirm", "other")]).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        bad.assert_contains("Enter a workspace name.")
            .assert_contains("Enter a valid email address")
            .assert_contains("Use at least 10 characters.")
            .assert_contains("The two passwords differ.")
            .assert_contains("value=\"nope\"")
            .assert_lacks("value=\"short\"");

        let ok = c.post_form("/setup", &[("workspace", "Ops"), ("email", "Owner@Example.com"), ("password", PASSWORD), ("confirm", PASSWORD)]).await;
        ok.assert_redirect("/contacts");
        let list = c.get("/contacts").await;
        assert_eq!(list.status, StatusCode::OK);
        list.assert_contains("Herald is set up").assert_contains("Ops").assert_contains("owner@example.com");

        // Setup is closed once someone owns the install.
        let other = app.client();
        other.get("/setup").await.assert_redirect("/login");
        let again = other.post_form("/login", &[("email", "x@example.com"), ("password", "whatever")]).await;
        assert_eq!(again.status, StatusCode::UNAUTHORIZED);
    }

    async fn login_logout_and_wrong_password(app: TestApp) {
        let owner = app.owner().await;
        owner.post_form("/logout", &[]).await.assert_redirect("/login?signed_out=1");
        owner.get("/contacts").await.assert_redirect("/login?next=%2Fcontacts");

        let c = app.client();
        let wrong = c.login(OWNER, "wrong password!").await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
        wrong.assert_contains("Wrong email or password.").assert_contains(&format!("value=\"{OWNER}\""));
        let unknown = c.login("nobody@example.com", PASSWORD).await;
        assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
        unknown.assert_contains("Wrong email or password.");

        // `next` brings the user back where they were going; foreign URLs are ignored.
        let r = c.post_form("/login", &[("email", OWNER), ("password", PASSWORD), ("next", "/contacts/new")]).await;
        r.assert_redirect("/contacts/new");
        assert_eq!(c.get("/contacts/new").await.status, StatusCode::OK);
        let d = app.client();
        d.post_form("/login", &[("email", OWNER), ("password", PASSWORD), ("next", "//evil.example/")]).await.assert_redirect("/");
    }

    async fn failed_logins_are_limited_per_address_and_email(app: TestApp) {
        let _owner = app.owner().await;
        let c = app.client();
        for _ in 0..5 {
            assert_eq!(c.login(OWNER, "wrong password!").await.status, StatusCode::UNAUTHORIZED);
        }
        // Locked now, even with the right password.
        let locked = c.login(OWNER, PASSWORD).await;
        assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
        locked.assert_contains("Too many failed sign-ins");
        // Another account from the same address is not locked.
        let other = c.login("someone@example.com", "wrong password!").await;
        assert_eq!(other.status, StatusCode::UNAUTHORIZED);
    }

    async fn csrf_token_is_required_on_every_post(app: TestApp) {
        let owner = app.owner().await;
        let fields = [("name", "Ana"), ("phone", "+8613900001111"), ("email", ""), ("language", "auto"), ("fallback", "default")];
        let missing = owner.post_raw("/contacts", &fields).await;
        assert_eq!(missing.status, StatusCode::FORBIDDEN);
        missing.assert_contains("Not allowed").assert_contains("Request id");
        let mut wrong = fields.to_vec();
        wrong.push(("csrf_token", "0000"));
        assert_eq!(owner.post_raw("/contacts", &wrong).await.status, StatusCode::FORBIDDEN);
        // A token from another session is wrong too.
        let stranger = app.client();
        let foreign = stranger.csrf().await;
        let mut other = fields.to_vec();
        other.push(("csrf_token", &foreign));
        assert_eq!(owner.post_raw("/contacts", &other).await.status, StatusCode::FORBIDDEN);
        // Nothing was stored.
        owner.get("/contacts").await.assert_contains("No contacts yet.");
        // Logout without a token does not sign out.
        assert_eq!(owner.post_raw("/logout", &[]).await.status, StatusCode::FORBIDDEN);
        assert_eq!(owner.get("/contacts").await.status, StatusCode::OK);
    }

    async fn password_change_checks_the_current_one(app: TestApp) {
        let owner = app.owner().await;
        let bad = owner.post_form("/account/password", &[("current", "nope"), ("new", "short"), ("confirm", "x")]).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        bad.assert_contains("This is not your current password.").assert_contains("Use at least 10 characters.").assert_contains("The two new passwords differ.");
        owner
            .post_form("/account/password", &[("current", PASSWORD), ("new", "another long one"), ("confirm", "another long one")])
            .await
            .assert_redirect("/");
        let c = app.client();
        assert_eq!(c.login(OWNER, PASSWORD).await.status, StatusCode::UNAUTHORIZED);
        c.login(OWNER, "another long one").await.assert_redirect("/");
    }
}
