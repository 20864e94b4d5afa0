//! API tokens: shown once, stored as a fingerprint, revocable, owners and admins only.

use diesel::prelude::*;
use herald::domain::api_token::ApiToken;
use herald::store::api_tokens;
use herald::store::schema::api_tokens as table;
use reqwest::StatusCode;

use crate::both_backends;
use crate::helpers::Page;

/// The token on the page that made it.
fn shown_token(page: &Page) -> String {
    let marker = "id=\"token-value\" readonly value=\"";
    let at = page
        .body
        .find(marker)
        .unwrap_or_else(|| panic!("no token shown:\n{}", page.body));
    page.body[at + marker.len()..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_string()
}

fn token_id(page: &Page, name: &str) -> String {
    let at = page
        .body
        .find(&format!("<td class=\"name\">{name}</td>"))
        .expect("listed");
    let rest = &page.body[at..];
    let start = rest.find("/api-tokens/").expect("revoke form") + "/api-tokens/".len();
    rest[start..start + 36].to_string()
}

both_backends! {
    async fn a_token_is_shown_once_kept_as_a_fingerprint_and_revocable(app: TestApp) {
        let owner = app.owner().await;
        owner.get("/api-tokens").await.assert_contains("No API tokens yet.");
        let made = owner.post_form("/api-tokens", &[("name", "Alertmanager prod")]).await;
        assert_eq!(made.status, StatusCode::OK, "{}", made.body);
        made.assert_contains("Token “Alertmanager prod” created");
        let token = shown_token(&made);
        let parsed = ApiToken::parse(&token).expect("a token");
        assert!(token.starts_with("hrd_"), "{token}");

        // Only the fingerprint and a hint are stored; the list never shows the token again.
        let mut conn = app.db.get().expect("conn");
        let (hash, hint): (String, String) = table::table.select((table::token_hash, table::hint)).first(&mut *conn).expect("row");
        assert_eq!(hash, parsed.hash());
        assert!(token.starts_with(&hint) && hint.len() < 10, "{hint}");
        let list = owner.get("/api-tokens").await;
        list.assert_lacks(&token).assert_contains(&format!("<code>{hint}…</code>")).assert_contains("never");

        // The token names its workspace; using it is remembered.
        let ws = api_tokens::authenticate(&mut conn, &parsed).expect("lookup").expect("known");
        let listed = api_tokens::list(&mut conn, &ws).expect("list");
        assert!(listed[0].last_used_at.is_some());
        assert_eq!(api_tokens::authenticate(&mut conn, &ApiToken::generate()).expect("lookup"), None);
        drop(conn);

        // Revoked: refused at once.
        let id = token_id(&list, "Alertmanager prod");
        owner.post_form(&format!("/api-tokens/{id}/revoke"), &[]).await.assert_redirect("/api-tokens");
        owner.get("/api-tokens").await
            .assert_contains("API token “Alertmanager prod” revoked")
            .assert_contains("No API tokens yet.");
        let mut conn = app.db.get().expect("conn");
        assert_eq!(api_tokens::authenticate(&mut conn, &parsed).expect("lookup"), None);
        assert_eq!(owner.post_form(&format!("/api-tokens/{id}/revoke"), &[]).await.status, StatusCode::NOT_FOUND);
    }

    async fn names_are_checked_and_viewers_only_look(app: TestApp) {
        let owner = app.owner().await;
        let empty = owner.post_form("/api-tokens", &[("name", "  ")]).await;
        assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
        empty.assert_contains("id=\"name-error\">Enter a name.").assert_lacks("id=\"token-value\"");
        let nul = owner.post_form("/api-tokens", &[("name", "a\u{0}b")]).await;
        assert_eq!(nul.status, StatusCode::UNPROCESSABLE_ENTITY);
        nul.assert_contains("id=\"name-error\">This field contains a control character");
        let made = owner.post_form("/api-tokens", &[("name", "Prometheus")]).await;
        let id = token_id(&owner.get("/api-tokens").await, "Prometheus");
        let token = shown_token(&made);

        let link = crate::members::invite(&owner, "v@example.com", "viewer").await;
        let viewer = crate::members::first_login(&app, "v@example.com", &link).await;
        viewer.get("/api-tokens").await
            .assert_contains("<td class=\"name\">Prometheus</td>")
            .assert_lacks("Create token")
            .assert_lacks("Revoke")
            .assert_lacks(&token);
        assert_eq!(viewer.post_form("/api-tokens", &[("name", "Mine")]).await.status, StatusCode::FORBIDDEN);
        assert_eq!(viewer.post_form(&format!("/api-tokens/{id}/revoke"), &[]).await.status, StatusCode::FORBIDDEN);

        // Another workspace of the owner sees none of it and cannot revoke it.
        owner.post_form("/workspaces", &[("name", "Other")]).await;
        owner.get("/api-tokens").await.assert_lacks("<td class=\"name\">Prometheus</td>");
        assert_eq!(owner.post_form(&format!("/api-tokens/{id}/revoke"), &[]).await.status, StatusCode::NOT_FOUND);
        assert_eq!(owner.post_form("/api-tokens/not-an-id/revoke", &[]).await.status, StatusCode::NOT_FOUND);
    }
}
