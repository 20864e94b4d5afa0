use reqwest::StatusCode;

use crate::both_backends;
use crate::members::{first_login, invite};

both_backends! {
    async fn objects_of_another_workspace_answer_404(app: TestApp) {
        let owner = app.owner().await;
        owner.create_contact("Ana", "+8613900001111", "").await.assert_redirect("/contacts");
        let ana = owner.contact_id("Ana").await;

        // Bo is invited into Ops, then starts a workspace of his own.
        let pw = invite(&owner, "bo@example.com", "admin").await;
        let bo = first_login(&app, "bo@example.com", &pw).await;
        let bad = bo.post_form("/workspaces", &[("name", "")]).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        bad.assert_contains("Enter a workspace name.");
        bo.post_form("/workspaces", &[("name", "Bo's team")]).await.assert_redirect("/");
        let list = bo.get("/contacts").await;
        list.assert_contains("Bo&#39;s team").assert_contains("No contacts yet.").assert_lacks("<td class=\"name\">Ana</td>");

        // The same number may live in another workspace.
        bo.create_contact("Bo's Ana", "+8613900001111", "").await.assert_redirect("/contacts");
        let bos = bo.contact_id("Bo's Ana").await;

        // From Bo's workspace, Ops' contact does not exist.
        assert_eq!(bo.get(&format!("/contacts/{ana}/edit")).await.status, StatusCode::NOT_FOUND);
        assert_eq!(bo.get(&format!("/contacts/{ana}/delete")).await.status, StatusCode::NOT_FOUND);
        let r = bo.post_form(&format!("/contacts/{ana}"), &[("name", "Hijacked"), ("phone", "+8613900001111"), ("language", "auto"), ("fallback", "default")]).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        assert_eq!(bo.post_form(&format!("/contacts/{ana}/delete"), &[]).await.status, StatusCode::NOT_FOUND);

        // The owner of Ops is not a member of Bo's workspace: cannot see or switch to it.
        assert_eq!(owner.get(&format!("/contacts/{bos}/edit")).await.status, StatusCode::NOT_FOUND);
        let ws_page = bo.get("/workspaces").await;
        let marker = "/workspaces/";
        let ops_switch = ws_page.body.find(marker).map(|i| &ws_page.body[i + marker.len()..i + marker.len() + 36]).expect("switch form");
        let owner_ws = owner.get("/workspaces").await;
        owner_ws.assert_lacks("Bo&#39;s team");

        // Bo switches back to Ops and sees Ana, untouched.
        bo.post_form(&format!("/workspaces/{ops_switch}/switch"), &[]).await.assert_redirect("/");
        bo.get("/contacts").await.assert_contains("<td class=\"name\">Ana</td>").assert_contains("Switched to workspace “Ops”.");

        // And now the owner cannot switch into Bo's workspace by its id.
        let bo_ws_page = bo.get("/workspaces").await;
        let i = bo_ws_page.body.find(marker).expect("switch form") + marker.len();
        let bos_ws = &bo_ws_page.body[i..i + 36];
        assert_eq!(owner.post_form(&format!("/workspaces/{bos_ws}/switch"), &[]).await.status, StatusCode::NOT_FOUND);
        owner.get("/contacts").await.assert_contains("Ops");
    }
}
