//! The public one-click link page speaks the language of the contact it was sent to (theirs,
//! or the workspace's default on Auto); a link that names nobody speaks the browser's.

use reqwest::StatusCode;

use crate::helpers::{Client, Kind, TestApp};

/// The path (`/v/…`) of the newest link in the Dev outbox.
async fn newest_link(app: &TestApp, owner: &Client) -> String {
    let page = owner.get("/dev/outbox").await;
    let link = page
        .body
        .split("class=\"outbox-link\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .expect("a link was sent")
        .to_string();
    link.strip_prefix(&app.base)
        .expect("public URL")
        .to_string()
}

async fn contact(owner: &Client, name: &str, phone: &str, language: &str) {
    let fields = [
        ("name", name),
        ("phone", phone),
        ("email", ""),
        ("im_user_id", ""),
        ("language", language),
        ("fallback", "default"),
    ];
    owner
        .post_form("/contacts", &fields)
        .await
        .assert_redirect("/contacts");
}

async fn link_pages_speak_the_contacts_language(kind: Kind) {
    let Some(app) = TestApp::spawn(kind).await else {
        return;
    };
    let owner = app.owner().await;
    contact(&owner, "Li Lei", "+8613900001111", "zh").await;
    let path = newest_link(&app, &owner).await;
    let anon = app.client();
    let open = anon.get(&path).await;
    assert_eq!(open.status, StatusCode::OK);
    open.assert_contains("<html lang=\"zh-CN\">")
        .assert_contains("验证您的手机号")
        .assert_contains(">验证</button>")
        .assert_contains("+86 139****1111")
        .assert_lacks("Verify your phone number");
    let done = anon.post_raw(&path, &[]).await;
    assert_eq!(done.status, StatusCode::OK);
    done.assert_contains("您的手机号已验证")
        .assert_contains("已验证");
    let again = anon.post_raw(&path, &[]).await;
    assert_eq!(again.status, StatusCode::GONE);
    again.assert_contains("此链接已被使用");

    // An English contact reads English, whatever the browser prefers.
    contact(&owner, "Ana", "+8613900002222", "en").await;
    let path = newest_link(&app, &owner).await;
    let http = reqwest::Client::new();
    let english = http
        .get(format!("{}{path}", app.base))
        .header("Accept-Language", "zh-CN,zh;q=0.9")
        .send()
        .await
        .expect("get");
    let body = english.text().await.expect("body");
    assert!(
        body.contains("Verify your phone number") && body.contains("<html lang=\"en\">"),
        "{body}"
    );

    // A contact on Auto reads the workspace's default language.
    owner
        .post_form(
            "/settings",
            &[
                ("name", "Ops"),
                ("time_zone", "Asia/Shanghai"),
                ("default_language", "zh"),
                ("default_fallback", "none"),
                ("alternate_contact", ""),
                ("last_resort_email", ""),
            ],
        )
        .await
        .assert_redirect("/settings");
    contact(&owner, "Bo", "+8613900003333", "auto").await;
    let path = newest_link(&app, &owner).await;
    anon.get(&path).await.assert_contains("验证您的手机号");

    // A link that names nobody speaks the browser's language.
    let nobody = format!("{}/v/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", app.base);
    let zh = http
        .get(&nobody)
        .header("Accept-Language", "zh-CN,zh;q=0.9,en;q=0.8")
        .send()
        .await
        .expect("get");
    assert_eq!(zh.status(), StatusCode::NOT_FOUND);
    assert!(zh.text().await.expect("body").contains("此链接无效"));
    let en = http.get(&nobody).send().await.expect("get");
    assert!(
        en.text()
            .await
            .expect("body")
            .contains("This link is not valid")
    );
}

crate::on_both_backends!(link_pages_speak_the_contacts_language);
