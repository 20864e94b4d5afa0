//! The public one-click link page speaks the language of the contact it was sent to (theirs,
//! or the workspace's default on Auto); a link that names nobody speaks the browser's. The invitation
//! page speaks the invitee's browser's language; the last-resort page what the browser asks
//! for, else the workspace's default.

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

/// The newest link in the Dev outbox that starts with `prefix` (`/r/`, `/invite/`), as a path.
async fn newest_link_to(app: &TestApp, owner: &Client, prefix: &str) -> String {
    let page = owner.get("/dev/outbox").await;
    let at = page
        .body
        .find(&format!("{}{prefix}", app.base))
        .unwrap_or_else(|| panic!("no {prefix} link:\n{}", page.body));
    let link = page.body[at..]
        .split(['"', '<', '\n', ' '])
        .next()
        .unwrap_or_default();
    link.strip_prefix(&app.base)
        .expect("public URL")
        .to_string()
}

async fn invitation_and_last_resort_pages_speak_their_readers_language(kind: Kind) {
    let Some(app) = TestApp::spawn(kind).await else {
        return;
    };
    let owner = app.owner().await;
    owner
        .post_form(
            "/settings",
            &[
                ("name", "Ops"),
                ("time_zone", "Asia/Shanghai"),
                ("default_language", "zh"),
                ("default_fallback", "none"),
                ("alternate_contact", ""),
                ("last_resort_email", "boss@example.com"),
            ],
        )
        .await
        .assert_redirect("/settings");
    // The activation email is written in the workspace's default language.
    owner
        .get("/dev/outbox")
        .await
        .assert_contains("激活 boss@example.com 作为最终接收人");
    let path = newest_link_to(&app, &owner, "/r/").await;

    // The address's owner has no language of their own: a browser that says none reads the
    // workspace default, one that asks for English reads English.
    let anon = app.client();
    let open = anon.get(&path).await;
    assert_eq!(open.status, StatusCode::OK);
    open.assert_contains("<html lang=\"zh-CN\">")
        .assert_contains("接收无人能接收的告警？")
        .assert_contains(">激活</button>")
        .assert_lacks("Receive alerts nobody else could get?");
    let english = Client::speaking(&app.base, "en-US,en;q=0.9");
    english
        .get(&path)
        .await
        .assert_contains("<html lang=\"en\">")
        .assert_contains("Receive alerts nobody else could get?");
    anon.post_raw(&path, &[])
        .await
        .assert_contains("已激活")
        .assert_contains("的最终接收人");
    // A used link names no workspace any more: the browser's language, English by default.
    let used = anon.get(&path).await;
    assert_eq!(used.status, StatusCode::NOT_FOUND);
    used.assert_contains("This link does not work");
    let used = Client::speaking(&app.base, "zh-CN").get(&path).await;
    used.assert_contains("此链接无效");

    // An invitee has no stored language: the page speaks their browser's, errors included.
    let link = crate::members::invite(&owner, "new@example.com", "admin").await;
    // Its email is written in the workspace's default language.
    owner
        .get("/dev/outbox")
        .await
        .assert_contains("邀请您加入 Herald 工作区“Ops”")
        .assert_contains("以管理员身份加入 Herald 工作区“Ops”")
        .assert_contains("7 天内有效");
    let zh = Client::speaking(&app.base, "zh-CN,zh;q=0.9,en;q=0.8");
    zh.get(&link)
        .await
        .assert_contains("<html lang=\"zh-CN\">")
        .assert_contains("加入“Ops”")
        .assert_contains("以<strong>管理员</strong>身份加入")
        .assert_contains("我第一次使用 Herald")
        .assert_lacks("I am new to Herald");
    let short = zh
        .post_form(
            &link,
            &[
                ("action", "create"),
                ("password", "short"),
                ("confirm", "other"),
            ],
        )
        .await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    short
        .assert_contains("密码至少需要 10 个字符。")
        .assert_contains("两次输入的密码不一致。");
    let wrong = zh
        .post_form(
            &link,
            &[("action", "sign_in"), ("password", "not the password")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    wrong.assert_contains("密码错误。");
    app.client()
        .get(&link)
        .await
        .assert_contains("<html lang=\"en\">")
        .assert_contains("I am new to Herald");
    let unknown = zh.get("/invite/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    unknown.assert_contains("此邀请无效");

    // Accepted in Chinese, the welcome says so in Chinese.
    let joined = zh
        .post_form(
            &link,
            &[
                ("action", "create"),
                ("password", crate::helpers::PASSWORD),
                ("confirm", crate::helpers::PASSWORD),
            ],
        )
        .await;
    joined.assert_redirect("/");
    zh.get("/")
        .await
        .assert_contains("欢迎使用 Herald。您已加入工作区“Ops”，角色：管理员。");
}

crate::on_both_backends!(
    link_pages_speak_the_contacts_language,
    invitation_and_last_resort_pages_speak_their_readers_language,
);
