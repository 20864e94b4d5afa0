//! Notification Objects › Contact Groups.

use diesel::prelude::*;
use herald::store::schema::{notification_policies, policy_targets};
use reqwest::StatusCode;

use crate::both_backends;
use crate::helpers::{Client, TestApp};

/// The id of the group named `name`, from its Edit link.
async fn group_id(c: &Client, name: &str) -> String {
    let page = c.get("/groups").await;
    let at = page
        .body
        .find(&format!("<td class=\"name\">{name}</td>"))
        .unwrap_or_else(|| panic!("{name} not listed:\n{}", page.body));
    let rest = &page.body[at..];
    let start = rest.find("/groups/").expect("edit link") + "/groups/".len();
    rest[start..start + 36].to_string()
}

async fn save_group(c: &Client, path: &str, name: &str, members: &[&str]) -> crate::helpers::Page {
    let mut fields: Vec<(&str, &str)> = vec![("name", name)];
    fields.extend(members.iter().map(|m| ("members", *m)));
    c.post_form(path, &fields).await
}

/// A policy using `kind`/`target`, stored directly (the policy pages come later in this file's life).
fn policy_using(app: &TestApp, name: &str, kind: &str, target: &str) {
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
}

both_backends! {
    async fn create_edit_and_list_groups_with_members(app: TestApp) {
        let owner = app.owner().await;
        owner.create_contact("Ana", "+8613900001111", "").await;
        owner.create_contact("Bo", "", "bo@example.com").await;
        let ana = owner.contact_id("Ana").await;
        let bo = owner.contact_id("Bo").await;
        owner.get("/groups").await.assert_contains("No contact groups yet");
        let form = owner.get("/groups/new").await;
        form.assert_contains("Ana").assert_contains("Not verified");

        save_group(&owner, "/groups", "On-call", &[&ana, &bo]).await.assert_redirect("/groups");
        let list = owner.get("/groups").await;
        list.assert_contains("Group “On-call” created.")
            .assert_contains("2 members")
            .assert_contains("2 without a verified number")
            .assert_contains("+8613900001111")
            .assert_contains("bo@example.com");

        // Names are unique ignoring case; the form comes back with what was typed.
        let dup = save_group(&owner, "/groups", "ON-CALL", &[&ana]).await;
        assert_eq!(dup.status, StatusCode::UNPROCESSABLE_ENTITY);
        dup.assert_contains("Another group is already called").assert_contains("value=\"ON-CALL\"");
        let empty = save_group(&owner, "/groups", "  ", &[]).await;
        assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
        empty.assert_contains("Enter a name.");
        let unknown = save_group(&owner, "/groups", "Ghosts", &["0190aaaa-0000-7000-8000-000000000000"]).await;
        assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
        unknown.assert_contains("Choose members from the workspace");
        let garbage = save_group(&owner, "/groups", "Ghosts", &["not-an-id"]).await;
        assert_eq!(garbage.status, StatusCode::UNPROCESSABLE_ENTITY);

        // Edit: rename, drop a member.
        let id = group_id(&owner, "On-call").await;
        let edit = owner.get(&format!("/groups/{id}/edit")).await;
        edit.assert_contains("value=\"On-call\"").assert_contains("checked");
        save_group(&owner, &format!("/groups/{id}"), "Primary on-call", &[&ana]).await.assert_redirect("/groups");
        let list = owner.get("/groups").await;
        list.assert_contains("Primary on-call").assert_contains("1 member").assert_lacks("bo@example.com");

        // The contact form picks groups too.
        let group = group_id(&owner, "Primary on-call").await;
        let form = owner.get(&format!("/contacts/{bo}/edit")).await;
        form.assert_contains("Contact group(s)").assert_contains(&format!("value=\"{group}\""));
        let fields = |groups: &[&str]| {
            let mut f = vec![("name", "Bo"), ("phone", ""), ("email", "bo@example.com"), ("im_user_id", ""), ("language", "auto"), ("fallback", "default")];
            f.extend(groups.iter().map(|g| ("groups", *g)));
            f.into_iter().map(|(a, b)| (a.to_string(), b.to_string())).collect::<Vec<_>>()
        };
        let with: Vec<(String, String)> = fields(&[&group]);
        let with: Vec<(&str, &str)> = with.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        owner.post_form(&format!("/contacts/{bo}"), &with).await.assert_redirect("/contacts");
        owner.get("/groups").await.assert_contains("2 members").assert_contains("bo@example.com");
        owner.get(&format!("/contacts/{bo}/edit")).await.assert_contains(&format!("value=\"{group}\" checked"));
        let without: Vec<(String, String)> = fields(&[]);
        let without: Vec<(&str, &str)> = without.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        owner.post_form(&format!("/contacts/{bo}"), &without).await.assert_redirect("/contacts");
        owner.get("/groups").await.assert_contains("1 member").assert_lacks("bo@example.com");

        // Deleting a contact removes it from its groups, and the confirm page says so.
        owner.get(&format!("/contacts/{ana}/delete")).await.assert_contains("removed from the contact group “Primary on-call”");
        owner.post_form(&format!("/contacts/{ana}/delete"), &[]).await.assert_redirect("/contacts");
        owner.get("/groups").await.assert_contains("0 members");
    }

    async fn a_group_used_by_a_policy_cannot_be_deleted(app: TestApp) {
        let owner = app.owner().await;
        save_group(&owner, "/groups", "DBAs", &[]).await.assert_redirect("/groups");
        let id = group_id(&owner, "DBAs").await;
        policy_using(&app, "Database down", "group", &id);
        let page = owner.get(&format!("/groups/{id}/delete")).await;
        page.assert_contains("cannot be deleted").assert_contains("“Database down”").assert_lacks("<button type=\"submit\" class=\"danger\">");
        owner.post_form(&format!("/groups/{id}/delete"), &[]).await.assert_redirect("/groups");
        owner.get("/groups").await.assert_contains("is used by the notification policies “Database down”").assert_contains("<td class=\"name\">DBAs</td>");
    }

    async fn only_the_creator_or_an_owner_deletes_and_viewers_only_look(app: TestApp) {
        let owner = app.owner().await;
        let one_time = crate::members::invite(&owner, "admin@example.com", "admin").await;
        let admin = crate::members::first_login(&app, "admin@example.com", &one_time).await;
        let one_time = crate::members::invite(&owner, "viewer@example.com", "viewer").await;
        let viewer = crate::members::first_login(&app, "viewer@example.com", &one_time).await;

        save_group(&owner, "/groups", "Owner group", &[]).await.assert_redirect("/groups");
        save_group(&admin, "/groups", "Admin group", &[]).await.assert_redirect("/groups");
        let owners = group_id(&owner, "Owner group").await;
        let admins = group_id(&owner, "Admin group").await;

        // The admin did not create the owner's group.
        admin.get(&format!("/groups/{owners}/delete")).await.assert_contains("Only the person who created this group");
        assert_eq!(admin.post_form(&format!("/groups/{owners}/delete"), &[]).await.status, StatusCode::FORBIDDEN);
        // An owner may delete anyone's.
        owner.post_form(&format!("/groups/{admins}/delete"), &[]).await.assert_redirect("/groups");
        owner.get("/groups").await.assert_contains("Group “Admin group” deleted.").assert_lacks("<td class=\"name\">Admin group</td>");

        let list = viewer.get("/groups").await;
        list.assert_contains("Owner group").assert_lacks("Create Group").assert_lacks("/edit");
        assert_eq!(viewer.post_form("/groups", &[("name", "V")]).await.status, StatusCode::FORBIDDEN);
        assert_eq!(viewer.post_form(&format!("/groups/{owners}/delete"), &[]).await.status, StatusCode::FORBIDDEN);

        // Another workspace sees none of it.
        owner.post_form("/workspaces", &[("name", "Other")]).await;
        assert_eq!(owner.get(&format!("/groups/{owners}/edit")).await.status, StatusCode::NOT_FOUND);
        assert_eq!(owner.post_form(&format!("/groups/{owners}/delete"), &[]).await.status, StatusCode::NOT_FOUND);
        owner.get("/groups").await.assert_lacks("Owner group");
    }
}
