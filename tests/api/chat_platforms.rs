//! `chat::send` against loopback stand-ins for DingTalk, Lark, WeCom and Slack that check what
//! arrives the way the platforms do (signatures recomputed here with our own HMAC code, security
//! keywords, body shapes) and answer with the platforms' real codes and messages.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use herald::channels::FailureKind;
use herald::channels::chat::{self, Bot, ChatAnswer, ChatMessage};
use herald::domain::Platform;
use herald::outbound::{self, TargetPolicy};

pub(crate) const DING_TOKEN: &str = "ding-token";
pub(crate) const DING_SECRET: &str = "SEC0123456789abcdef";
pub(crate) const LARK_HOOK: &str = "0f3c6a0e-1111-2222-3333-444455556666";
pub(crate) const LARK_SECRET: &str = "lark-secret";
pub(crate) const WECOM_KEY: &str = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa";
pub(crate) const SLACK_PATH: &str = "T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX";
/// A mobile the DingTalk stand-in's group has no member for.
pub(crate) const DING_STRANGER: &str = "13999999999";
/// Every stand-in's robot is set up with this security keyword.
pub(crate) const KEYWORD: &str = "Alert";

/// What each stand-in accepted, with when it arrived.
type Log = Arc<Mutex<Vec<(std::time::Instant, Value)>>>;

pub(crate) struct Fake {
    pub(crate) base: String,
    log: Log,
}

impl Fake {
    pub(crate) fn accepted(&self) -> Vec<Value> {
        self.log
            .lock()
            .expect("log")
            .iter()
            .map(|(_, v)| v.clone())
            .collect()
    }

    pub(crate) fn arrivals(&self) -> Vec<std::time::Instant> {
        self.log
            .lock()
            .expect("log")
            .iter()
            .map(|(at, _)| *at)
            .collect()
    }
}

fn serve(configure: fn(&mut web::ServiceConfig)) -> Fake {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind fake");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let log: Log = Arc::new(Mutex::new(Vec::new()));
    let data = web::Data::new(log.clone());
    let server = HttpServer::new(move || App::new().app_data(data.clone()).configure(configure))
        .workers(1)
        .listen(listener)
        .expect("listen")
        .run();
    tokio::spawn(server);
    Fake { base, log }
}

fn client() -> reqwest::Client {
    outbound::client(TargetPolicy::ALLOW_PRIVATE, Duration::from_secs(5))
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Every string value anywhere in `v` (where platforms look for keywords).
fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(o) => o.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

fn has_keyword(v: &Value) -> bool {
    let mut all = Vec::new();
    strings(v, &mut all);
    all.iter().any(|s| s.contains(KEYWORD))
}

fn is_json(req: &HttpRequest) -> bool {
    req.headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"))
}

// ---------------------------------------------------------------- DingTalk

fn ding(code: i64, msg: &str) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "errcode": code, "errmsg": msg }))
}

async fn dingtalk(
    req: HttpRequest,
    query: web::Query<Vec<(String, String)>>,
    body: web::Bytes,
    log: web::Data<Log>,
) -> HttpResponse {
    let q = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    match q("access_token").as_deref() {
        Some(DING_TOKEN) => {}
        Some("throttled") => return ding(130101, "send too fast, exceed 20 times per minute"),
        Some("down") => return HttpResponse::ServiceUnavailable().body("upstream trouble"),
        Some("html") => {
            return HttpResponse::Ok()
                .content_type("text/html")
                .body("<html>login</html>");
        }
        Some("slow") => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            return ding(0, "ok");
        }
        _ => return ding(300001, "token is not exist"),
    }
    // Sign check, computed here: key = secret, message = "{timestamp}\n{secret}".
    let (Some(ts), Some(sign)) = (q("timestamp"), q("sign")) else {
        return ding(
            310000,
            "sign not match, more: [https://ding-doc.dingtalk.com]",
        );
    };
    let Ok(ts_ms) = ts.parse::<i64>() else {
        return ding(
            310000,
            "invalid timestamp, more: [https://ding-doc.dingtalk.com]",
        );
    };
    if (now_ms() - ts_ms).abs() > 3_600_000 {
        return ding(
            310000,
            "invalid timestamp, more: [https://ding-doc.dingtalk.com]",
        );
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(DING_SECRET.as_bytes()).expect("key");
    mac.update(format!("{ts}\n{DING_SECRET}").as_bytes());
    if sign != b64(&mac.finalize().into_bytes()) {
        return ding(
            310000,
            "sign not match, more: [https://ding-doc.dingtalk.com]",
        );
    }
    if !is_json(&req) {
        return ding(43004, "invalid content type");
    }
    let Ok(msg) = serde_json::from_slice::<Value>(&body) else {
        return ding(400402, "parameter error");
    };
    if msg["msgtype"] != "markdown" || msg["markdown"]["title"].as_str().is_none_or(str::is_empty) {
        return ding(400402, "markdown title missing");
    }
    if !has_keyword(&msg["markdown"]) {
        return ding(
            310000,
            "keywords not in content, more: [https://ding-doc.dingtalk.com]",
        );
    }
    // A mobile only pings when it is also written as @mobile in the text.
    let text = msg["markdown"]["text"].as_str().unwrap_or_default();
    for m in msg["at"]["atMobiles"].as_array().into_iter().flatten() {
        if !text.contains(&format!("@{}", m.as_str().unwrap_or_default())) {
            return ding(400402, "atMobiles not in text (test check)");
        }
        // [U] DingTalk documents no answer for an unknown mobile: this one says it in words,
        // which is what Herald reads.
        if m.as_str() == Some(DING_STRANGER) {
            return ding(400105, "user not found: atMobiles");
        }
    }
    let mut log = log.lock().expect("log");
    // DingTalk's limit: 20 messages a minute per robot; the 21st is refused with 130101.
    let minute_ago = std::time::Instant::now() - Duration::from_secs(60);
    if log.iter().filter(|(at, _)| *at > minute_ago).count() >= 20 {
        return ding(130101, "send too fast, exceed 20 times per minute");
    }
    log.push((std::time::Instant::now(), msg));
    ding(0, "ok")
}

pub(crate) fn dingtalk_server() -> Fake {
    serve(|cfg| {
        cfg.route("/robot/send", web::post().to(dingtalk));
    })
}

fn ding_bot(fake: &Fake, token: &str, secret: &str, keyword: Option<&str>) -> Bot {
    Bot {
        platform: Platform::DingTalk,
        webhook_url: format!("{}/robot/send?access_token={token}", fake.base),
        secret: Some(secret.into()),
        keyword: keyword.map(Into::into),
    }
}

fn alert() -> ChatMessage {
    ChatMessage {
        title: "CPU high on n1".into(),
        text: "- host: n1\n- value: 97%".into(),
        mention_mobiles: vec!["13800138000".into()],
        mention_user_ids: vec!["ou_abc".into()],
        mention_all: false,
    }
}

fn kind(answer: &ChatAnswer) -> Option<FailureKind> {
    answer.outcome.as_ref().err().map(|e| e.kind)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dingtalk_signed_message_with_keyword_and_mentions_is_accepted() {
    let fake = dingtalk_server();
    let bot = ding_bot(&fake, DING_TOKEN, DING_SECRET, Some(KEYWORD));
    let answer = chat::send(&client(), TargetPolicy::ALLOW_PRIVATE, &bot, &alert()).await;
    assert_eq!(answer.outcome, Ok(()), "{answer:?}");
    assert_eq!((answer.status, answer.code), (200, Some(0)));
    assert_eq!(answer.explanation, "Message accepted.");
    let got = fake.accepted();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["markdown"]["title"], "[Alert] CPU high on n1");
    assert_eq!(got[0]["at"]["atMobiles"], json!(["13800138000"]));

    // The Send test message passes the same checks.
    let answer = chat::send(
        &client(),
        TargetPolicy::ALLOW_PRIVATE,
        &bot,
        &chat::test_message(),
    )
    .await;
    assert!(answer.is_ok(), "{answer:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dingtalk_refusals_are_explained() {
    let fake = dingtalk_server();
    let c = client();

    let wrong_key = ding_bot(&fake, DING_TOKEN, "SECwrong", Some(KEYWORD));
    let a = chat::send(&c, TargetPolicy::ALLOW_PRIVATE, &wrong_key, &alert()).await;
    assert_eq!(
        (kind(&a), a.code),
        (Some(FailureKind::Rejected), Some(310000))
    );
    assert!(a.explanation.contains("signature key"), "{}", a.explanation);
    assert!(a.body.contains("sign not match"));

    let no_keyword = ding_bot(&fake, DING_TOKEN, DING_SECRET, None);
    let a = chat::send(&c, TargetPolicy::ALLOW_PRIVATE, &no_keyword, &alert()).await;
    assert_eq!(kind(&a), Some(FailureKind::Rejected));
    assert!(a.explanation.contains("keyword"), "{}", a.explanation);

    let bad_token = ding_bot(&fake, "nope", DING_SECRET, Some(KEYWORD));
    let a = chat::send(&c, TargetPolicy::ALLOW_PRIVATE, &bad_token, &alert()).await;
    assert_eq!(
        (kind(&a), a.code),
        (Some(FailureKind::BadRecipient), Some(300001))
    );
    assert!(a.explanation.contains("token"), "{}", a.explanation);

    let throttled = ding_bot(&fake, "throttled", DING_SECRET, Some(KEYWORD));
    let a = chat::send(&c, TargetPolicy::ALLOW_PRIVATE, &throttled, &alert()).await;
    assert_eq!(
        (kind(&a), a.code),
        (Some(FailureKind::RateLimited), Some(130101))
    );
    assert!(a.explanation.contains("20 messages a minute"));

    let down = ding_bot(&fake, "down", DING_SECRET, Some(KEYWORD));
    let a = chat::send(&c, TargetPolicy::ALLOW_PRIVATE, &down, &alert()).await;
    assert_eq!((kind(&a), a.status), (Some(FailureKind::Transient), 503));
    assert!(a.explanation.contains("503"));

    let html = ding_bot(&fake, "html", DING_SECRET, Some(KEYWORD));
    let a = chat::send(&c, TargetPolicy::ALLOW_PRIVATE, &html, &alert()).await;
    assert_eq!(kind(&a), Some(FailureKind::Rejected));
    assert!(a.explanation.contains("not JSON"), "{}", a.explanation);

    let slow = ding_bot(&fake, "slow", DING_SECRET, Some(KEYWORD));
    let impatient = outbound::client(TargetPolicy::ALLOW_PRIVATE, Duration::from_secs(1));
    let a = chat::send(&impatient, TargetPolicy::ALLOW_PRIVATE, &slow, &alert()).await;
    assert_eq!((kind(&a), a.status), (Some(FailureKind::Transient), 0));
    assert!(
        a.explanation.contains("no answer in time"),
        "{}",
        a.explanation
    );

    assert!(fake.accepted().is_empty());
}

// ---------------------------------------------------------------- Lark

fn lark(code: i64, msg: &str) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "code": code, "msg": msg, "data": {} }))
}

async fn lark_hook(
    req: HttpRequest,
    hook: web::Path<String>,
    body: web::Bytes,
    log: web::Data<Log>,
) -> HttpResponse {
    match hook.as_str() {
        LARK_HOOK => {}
        "limited" => {
            return lark(
                11232,
                "frequency limited psm[lark.oapi.app_platform_runtime]",
            );
        }
        _ => {
            return lark(
                19001,
                "param invalid: incoming webhook access token invalid",
            );
        }
    }
    if body.len() > 20 * 1024 || !is_json(&req) {
        return lark(9499, "Bad Request");
    }
    let Ok(msg) = serde_json::from_slice::<Value>(&body) else {
        return lark(9499, "Bad Request");
    };
    // Sign check, computed here: key = "{timestamp}\n{secret}", message = empty.
    let sign_fail = "sign match fail or timestamp is not within one hour from current time";
    let (Some(ts), Some(sign)) = (msg["timestamp"].as_str(), msg["sign"].as_str()) else {
        return lark(19021, sign_fail);
    };
    let Ok(ts_s) = ts.parse::<i64>() else {
        return lark(19021, sign_fail);
    };
    if (now_ms() / 1000 - ts_s).abs() > 3600 {
        return lark(19021, sign_fail);
    }
    let mac =
        Hmac::<Sha256>::new_from_slice(format!("{ts}\n{LARK_SECRET}").as_bytes()).expect("key");
    if sign != b64(&mac.finalize().into_bytes()) {
        return lark(19021, sign_fail);
    }
    if msg["msg_type"] != "post" {
        return lark(9499, "Bad Request");
    }
    let post = &msg["content"]["post"]["zh_cn"];
    let Some(paragraphs) = post["content"].as_array() else {
        return lark(9499, "Bad Request");
    };
    for p in paragraphs {
        for el in p.as_array().into_iter().flatten() {
            let ok = match el["tag"].as_str() {
                Some("text") => el["text"].is_string(),
                Some("at") => el["user_id"].is_string(),
                _ => false,
            };
            if !ok {
                return lark(9499, "Bad Request");
            }
        }
    }
    if !has_keyword(post) {
        return lark(19024, "Key Words Not Found");
    }
    log.lock()
        .expect("log")
        .push((std::time::Instant::now(), msg));
    HttpResponse::Ok().json(json!({
        "StatusCode": 0, "StatusMessage": "success", "code": 0, "data": {}, "msg": "success"
    }))
}

pub(crate) fn lark_server() -> Fake {
    serve(|cfg| {
        cfg.route("/open-apis/bot/v2/hook/{hook}", web::post().to(lark_hook));
    })
}

fn lark_bot(fake: &Fake, hook: &str, secret: &str, keyword: Option<&str>) -> Bot {
    Bot {
        platform: Platform::Lark,
        webhook_url: format!("{}/open-apis/bot/v2/hook/{hook}", fake.base),
        secret: Some(secret.into()),
        keyword: keyword.map(Into::into),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lark_signed_post_is_accepted_and_refusals_are_explained() {
    let fake = lark_server();
    let c = client();

    let good = lark_bot(&fake, LARK_HOOK, LARK_SECRET, Some(KEYWORD));
    let a = chat::send(&c, TargetPolicy::ALLOW_PRIVATE, &good, &alert()).await;
    assert_eq!(a.outcome, Ok(()), "{a:?}");
    assert_eq!(a.code, Some(0));
    let got = fake.accepted();
    assert_eq!(got.len(), 1);
    let paragraphs = got[0]["content"]["post"]["zh_cn"]["content"]
        .as_array()
        .expect("paragraphs")
        .clone();
    assert_eq!(
        paragraphs.last(),
        Some(&json!([{"tag": "at", "user_id": "ou_abc"}]))
    );

    let wrong_key = lark_bot(&fake, LARK_HOOK, "wrong", Some(KEYWORD));
    let a = chat::send(&c, TargetPolicy::ALLOW_PRIVATE, &wrong_key, &alert()).await;
    assert_eq!(
        (kind(&a), a.code),
        (Some(FailureKind::Rejected), Some(19021))
    );
    assert!(a.explanation.contains("signature key"), "{}", a.explanation);

    let no_keyword = lark_bot(&fake, LARK_HOOK, LARK_SECRET, None);
    let a = chat::send(&c, TargetPolicy::ALLOW_PRIVATE, &no_keyword, &alert()).await;
    assert_eq!(
        (kind(&a), a.code),
        (Some(FailureKind::Rejected), Some(19024))
    );
    assert!(a.explanation.contains("keyword"), "{}", a.explanation);

    let limited = lark_bot(&fake, "limited", LARK_SECRET, Some(KEYWORD));
    let a = chat::send(&c, TargetPolicy::ALLOW_PRIVATE, &limited, &alert()).await;
    assert_eq!(
        (kind(&a), a.code),
        (Some(FailureKind::RateLimited), Some(11232))
    );

    let unknown = lark_bot(&fake, "deadbeef", LARK_SECRET, Some(KEYWORD));
    let a = chat::send(&c, TargetPolicy::ALLOW_PRIVATE, &unknown, &alert()).await;
    assert_eq!(
        (kind(&a), a.code),
        (Some(FailureKind::BadRecipient), Some(19001))
    );
    assert!(a.explanation.contains("webhook"));

    // A huge message is cut to fit the 20 KB body limit and still arrives.
    let huge = ChatMessage {
        text: "磁盘告警 ".repeat(10_000),
        ..alert()
    };
    let a = chat::send(&c, TargetPolicy::ALLOW_PRIVATE, &good, &huge).await;
    assert!(a.is_ok(), "{a:?}");
    assert_eq!(fake.accepted().len(), 2);
}

// ---------------------------------------------------------------- WeCom

fn wecom(code: i64, msg: &str) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "errcode": code, "errmsg": msg }))
}

async fn wecom_send(
    req: HttpRequest,
    query: web::Query<Vec<(String, String)>>,
    body: web::Bytes,
    log: web::Data<Log>,
) -> HttpResponse {
    let key = query
        .iter()
        .find(|(k, _)| k == "key")
        .map(|(_, v)| v.as_str());
    match key {
        Some(WECOM_KEY) => {}
        Some("busy") => return wecom(45009, "api freq out of limit"),
        _ => {
            return wecom(
                93000,
                "invalid webhook url, hint: [1700000000_1_abc], from ip: 127.0.0.1",
            );
        }
    }
    let Ok(msg) = serde_json::from_slice::<Value>(&body) else {
        return wecom(40008, "invalid message type");
    };
    if !is_json(&req) {
        return wecom(40008, "invalid message type");
    }
    let (content, limit) = match msg["msgtype"].as_str() {
        Some("markdown") => (msg["markdown"]["content"].as_str(), 4096),
        Some("text") => (msg["text"]["content"].as_str(), 2048),
        _ => return wecom(40008, "invalid message type"),
    };
    let Some(content) = content.filter(|c| !c.is_empty()) else {
        return wecom(44004, "empty content");
    };
    if content.len() > limit {
        return wecom(40058, "content exceed max length");
    }
    log.lock()
        .expect("log")
        .push((std::time::Instant::now(), msg));
    wecom(0, "ok")
}

pub(crate) fn wecom_server() -> Fake {
    serve(|cfg| {
        cfg.route("/cgi-bin/webhook/send", web::post().to(wecom_send));
    })
}

fn wecom_bot(fake: &Fake, key: &str) -> Bot {
    Bot {
        platform: Platform::WeCom,
        webhook_url: format!("{}/cgi-bin/webhook/send?key={key}", fake.base),
        secret: None,
        keyword: Some(KEYWORD.into()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wecom_markdown_and_text_are_accepted_and_errors_classified() {
    let fake = wecom_server();
    let c = client();

    let user_only = ChatMessage {
        mention_mobiles: vec![],
        mention_user_ids: vec!["zhangsan".into()],
        ..alert()
    };
    let a = chat::send(
        &c,
        TargetPolicy::ALLOW_PRIVATE,
        &wecom_bot(&fake, WECOM_KEY),
        &user_only,
    )
    .await;
    assert!(a.is_ok(), "{a:?}");
    let everyone = ChatMessage {
        mention_all: true,
        text: "告警".repeat(2000),
        ..alert()
    };
    let a = chat::send(
        &c,
        TargetPolicy::ALLOW_PRIVATE,
        &wecom_bot(&fake, WECOM_KEY),
        &everyone,
    )
    .await;
    assert!(a.is_ok(), "{a:?}");
    let got = fake.accepted();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0]["msgtype"], "markdown");
    assert!(
        got[0]["markdown"]["content"]
            .as_str()
            .is_some_and(|c| c.ends_with("<@zhangsan>"))
    );
    assert_eq!(got[1]["msgtype"], "text");
    assert_eq!(got[1]["text"]["mentioned_list"], json!(["ou_abc", "@all"]));
    assert_eq!(
        got[1]["text"]["mentioned_mobile_list"],
        json!(["13800138000", "@all"])
    );

    let a = chat::send(
        &c,
        TargetPolicy::ALLOW_PRIVATE,
        &wecom_bot(&fake, "wrong"),
        &alert(),
    )
    .await;
    assert_eq!(
        (kind(&a), a.code),
        (Some(FailureKind::BadRecipient), Some(93000))
    );
    assert!(a.explanation.contains("webhook key"), "{}", a.explanation);

    let a = chat::send(
        &c,
        TargetPolicy::ALLOW_PRIVATE,
        &wecom_bot(&fake, "busy"),
        &alert(),
    )
    .await;
    assert_eq!(
        (kind(&a), a.code),
        (Some(FailureKind::RateLimited), Some(45009))
    );
    assert!(a.explanation.contains("rate limiting"));
}

// ---------------------------------------------------------------- Slack

async fn slack_hook(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
    log: web::Data<Log>,
) -> HttpResponse {
    match path.as_str() {
        SLACK_PATH => {}
        "T1/B1/slow" => {
            return HttpResponse::TooManyRequests()
                .insert_header(("Retry-After", "7"))
                .body("too_many_attempts");
        }
        "T1/B1/archived" => return HttpResponse::Gone().body("channel_is_archived"),
        "T1/B1/prohibited" => return HttpResponse::Forbidden().body("action_prohibited"),
        _ => return HttpResponse::NotFound().body("no_service"),
    }
    if !is_json(&req) {
        return HttpResponse::BadRequest().body("invalid_payload");
    }
    let Ok(msg) = serde_json::from_slice::<Value>(&body) else {
        return HttpResponse::BadRequest().body("invalid_payload");
    };
    let Some(text) = msg["text"].as_str().filter(|t| !t.trim().is_empty()) else {
        return HttpResponse::BadRequest().body("no_text");
    };
    // User text must arrive escaped: a bare < may only open a mention or link.
    if text.contains("<!everyone>") {
        return HttpResponse::BadRequest().body("invalid_payload");
    }
    log.lock()
        .expect("log")
        .push((std::time::Instant::now(), msg));
    HttpResponse::Ok().content_type("text/html").body("ok")
}

pub(crate) fn slack_server() -> Fake {
    serve(|cfg| {
        cfg.route("/services/{rest:.*}", web::post().to(slack_hook));
    })
}

fn slack_bot(fake: &Fake, path: &str) -> Bot {
    Bot {
        platform: Platform::Slack,
        webhook_url: format!("{}/services/{path}", fake.base),
        secret: None,
        keyword: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_text_is_accepted_and_errors_classified() {
    let fake = slack_server();
    let c = client();
    let msg = ChatMessage {
        text: "load <!everyone> & more".into(),
        mention_user_ids: vec!["U0123ABCD".into()],
        ..alert()
    };
    let a = chat::send(
        &c,
        TargetPolicy::ALLOW_PRIVATE,
        &slack_bot(&fake, SLACK_PATH),
        &msg,
    )
    .await;
    assert_eq!(a.outcome, Ok(()), "{a:?}");
    assert_eq!((a.status, a.code, a.body.as_str()), (200, None, "ok"));
    let got = fake.accepted();
    assert_eq!(
        got[0]["text"],
        "*CPU high on n1*\nload &lt;!everyone&gt; &amp; more\n<@U0123ABCD>"
    );

    let a = chat::send(
        &c,
        TargetPolicy::ALLOW_PRIVATE,
        &slack_bot(&fake, "T1/B1/gone"),
        &msg,
    )
    .await;
    assert_eq!((kind(&a), a.status), (Some(FailureKind::BadRecipient), 404));
    assert!(a.explanation.contains("no_service"), "{}", a.explanation);

    let a = chat::send(
        &c,
        TargetPolicy::ALLOW_PRIVATE,
        &slack_bot(&fake, "T1/B1/slow"),
        &msg,
    )
    .await;
    assert_eq!((kind(&a), a.status), (Some(FailureKind::RateLimited), 429));
    assert!(a.explanation.contains("7 s"), "{}", a.explanation);

    let a = chat::send(
        &c,
        TargetPolicy::ALLOW_PRIVATE,
        &slack_bot(&fake, "T1/B1/archived"),
        &msg,
    )
    .await;
    assert_eq!(kind(&a), Some(FailureKind::BadRecipient));
    assert!(a.explanation.contains("archived"));

    let a = chat::send(
        &c,
        TargetPolicy::ALLOW_PRIVATE,
        &slack_bot(&fake, "T1/B1/prohibited"),
        &msg,
    )
    .await;
    assert_eq!(kind(&a), Some(FailureKind::Rejected));
    assert!(a.explanation.contains("action_prohibited"));
}

// ---------------------------------------------------------------- outbound rules

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_targets_need_the_policy() {
    let fake = slack_server();
    let port = fake.base.rsplit(':').next().expect("port");
    let by_name = Bot {
        webhook_url: format!("http://localhost:{port}/services/{SLACK_PATH}"),
        ..slack_bot(&fake, SLACK_PATH)
    };
    let msg = alert();

    // `localhost` resolves to loopback, which the strict client's resolver drops.
    let strict = outbound::client(TargetPolicy::PUBLIC, Duration::from_secs(5));
    let a = chat::send(&strict, TargetPolicy::ALLOW_PRIVATE, &by_name, &msg).await;
    assert_eq!(kind(&a), Some(FailureKind::Rejected), "{a:?}");
    assert!(
        a.explanation.contains("refused to call"),
        "{}",
        a.explanation
    );
    assert!(a.explanation.contains("localhost"), "{}", a.explanation);

    // An IP literal never reaches a resolver: send_checked applies the policy to it.
    let by_ip = slack_bot(&fake, SLACK_PATH);
    let a = chat::send(&strict, TargetPolicy::PUBLIC, &by_ip, &msg).await;
    assert_eq!(kind(&a), Some(FailureKind::Rejected));
    assert!(
        a.explanation.contains("allow_private_targets"),
        "{}",
        a.explanation
    );
    assert!(fake.accepted().is_empty());

    // Allowed, both work.
    let a = chat::send(&client(), TargetPolicy::ALLOW_PRIVATE, &by_name, &msg).await;
    assert!(a.is_ok(), "{a:?}");
    let a = chat::send(&client(), TargetPolicy::ALLOW_PRIVATE, &by_ip, &msg).await;
    assert!(a.is_ok(), "{a:?}");
    assert_eq!(fake.accepted().len(), 2);

    // The form check says the same before anything is saved.
    assert!(
        chat::check_webhook(Platform::Slack, &by_ip.webhook_url, TargetPolicy::PUBLIC).is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_settings_are_refused_before_sending() {
    let bot = Bot {
        platform: Platform::WeCom,
        webhook_url: WECOM_KEY.into(),
        secret: None,
        keyword: None,
    };
    let a = chat::send(&client(), TargetPolicy::ALLOW_PRIVATE, &bot, &alert()).await;
    assert_eq!((kind(&a), a.status), (Some(FailureKind::Rejected), 0));
    assert!(
        a.explanation.contains("whole webhook URL"),
        "{}",
        a.explanation
    );
}
