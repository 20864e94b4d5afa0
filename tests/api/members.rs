use reqwest::StatusCode;

use crate::both_backends;
use crate::helpers::{Client, PASSWORD, TestApp};

/// Invites `email` with `role` and returns the path (`/invite/…`) of the link Herald emailed
/// (the console provider keeps it on the Dev outbox page).
pub async fn invite(owner: &Client, email: &str, role: &str) -> String {
    let r = owner
        .post_form("/members", &[("email", email), ("role", role)])
        .await;
    r.assert_redirect("/members");
    let outbox = owner.get("/dev/outbox").await;
    let link = outbox
        .body
        .split("class=\"outbox-link\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .expect("an invitation link was emailed")
        .to_string();
    let start = link.find("/invite/").expect("an /invite/ link");
    link[start..].to_string()
}

/// Follows an invitation link as someone new to Herald: choose a password, join, signed in.
pub async fn first_login(app: &TestApp, email: &str, link: &str) -> Client {
    let c = app.client();
    c.get(link)
        .await
        .assert_contains(&format!("<strong>{email}</strong>"));
    c.post_form(
        link,
        &[
            ("action", "create"),
            ("password", PASSWORD),
            ("confirm", PASSWORD),
        ],
    )
    .await
    .assert_redirect("/");
    assert_eq!(c.get("/contacts").await.status, StatusCode::OK);
    c
}

both_backends! {
    async fn viewer_sees_no_forms_and_posts_are_refused(app: TestApp) {
        let owner = app.owner().await;
        owner.create_contact("Ana", "+8613900001111", "").await.assert_redirect("/contacts");
        let id = owner.contact_id("Ana").await;
        let pw = invite(&owner, "viewer@example.com", "viewer").await;
        let viewer = first_login(&app, "viewer@example.com", &pw).await;

        let list = viewer.get("/contacts").await;
        assert_eq!(list.status, StatusCode::OK);
        list.assert_contains("Ana").assert_lacks("Create Contact").assert_lacks("/edit").assert_lacks("/delete\"");
        assert_eq!(viewer.get("/contacts/new").await.status, StatusCode::FORBIDDEN);
        assert_eq!(viewer.get(&format!("/contacts/{id}/edit")).await.status, StatusCode::FORBIDDEN);
        viewer.get("/contacts/defaults").await.assert_lacks("<select");

        assert_eq!(viewer.create_contact("Mallory", "+8613900009999", "").await.status, StatusCode::FORBIDDEN);
        assert_eq!(viewer.post_form(&format!("/contacts/{id}/delete"), &[]).await.status, StatusCode::FORBIDDEN);
        assert_eq!(viewer.post_form("/contacts/defaults", &[("fallback", "none")]).await.status, StatusCode::FORBIDDEN);
        assert_eq!(viewer.post_form("/members", &[("email", "x@example.com"), ("role", "owner")]).await.status, StatusCode::FORBIDDEN);
        owner.get("/contacts").await.assert_contains("Showing 1–1 of 1 contact.");
        owner.get("/contacts/defaults").await.assert_contains("<option value=\"sms\" selected>");
    }

    async fn admin_edits_but_cannot_manage_members(app: TestApp) {
        let owner = app.owner().await;
        let pw = invite(&owner, "admin@example.com", "admin").await;
        let admin = first_login(&app, "admin@example.com", &pw).await;
        admin.create_contact("Ana", "", "ana@example.com").await.assert_redirect("/contacts");
        let members = admin.get("/members").await;
        members.assert_contains("owner@example.com").assert_lacks("Invite someone");
        assert_eq!(admin.post_form("/members", &[("email", "x@example.com"), ("role", "viewer")]).await.status, StatusCode::FORBIDDEN);
    }

    async fn owners_invite_and_change_roles_but_keep_one_owner(app: TestApp) {
        let owner = app.owner().await;
        let bad = owner.post_form("/members", &[("email", "nope"), ("role", "emperor")]).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        bad.assert_contains("Enter a valid email address").assert_contains("Choose owner, admin or viewer.");

        let link = invite(&owner, "bo@example.com", "viewer").await;
        // An English workspace writes the email in English.
        owner.get("/dev/outbox").await.assert_contains("invites you to the Herald workspace").assert_contains("as Viewer.");
        let _bo_client = first_login(&app, "bo@example.com", &link).await;
        let again = owner.post_form("/members", &[("email", "BO@example.com"), ("role", "admin")]).await;
        assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
        again.assert_contains("bo@example.com is already a member of this workspace.");
        // The link worked once: the invitation is gone.
        assert_eq!(app.client().get(&link).await.status, StatusCode::NOT_FOUND);

        let page = owner.get("/members").await;
        let bo_id = user_id_in(&page.body, "bo@example.com");
        owner.post_form(&format!("/members/{bo_id}/role"), &[("role", "admin")]).await.assert_redirect("/members");
        owner.get("/members").await.assert_contains("Role changed to Admin.");

        let me = user_id_in(&page.body, "owner@example.com");
        owner.post_form(&format!("/members/{me}/role"), &[("role", "viewer")]).await.assert_redirect("/members");
        owner.get("/members").await.assert_contains("A workspace needs at least one owner.");
        owner.post_form(&format!("/members/{me}/remove"), &[]).await.assert_redirect("/members");
        owner.get("/members").await.assert_contains("A workspace needs at least one owner.");

        owner.post_form(&format!("/members/{bo_id}/remove"), &[]).await.assert_redirect("/members");
        owner.get("/members").await.assert_contains("Member removed.").assert_lacks("bo@example.com");
        // Bo's account still exists but reaches no workspace.
        let bo = app.client();
        let r = bo.login("bo@example.com", PASSWORD).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        r.assert_contains("belongs to no workspace");
    }
}

fn user_id_in(html: &str, email: &str) -> String {
    let row = html
        .find(&format!("<td>{email}"))
        .unwrap_or_else(|| panic!("{email} not in members"));
    let rest = &html[row..];
    let start = rest.find("/members/").expect("member form") + "/members/".len();
    rest[start..start + 36].to_string()
}
