//! Loopback stand-ins for Alibaba Cloud and Twilio that check what Herald sends the way the
//! real services do (signature, Basic auth, required fields) and answer in their shapes.

use std::collections::{HashMap, HashSet};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine;
use hmac::{Hmac, Mac};

pub const ALIYUN_KEY_ID: &str = "LTAI-test-key";
pub const ALIYUN_SECRET: &str = "aliyun-test-secret";
pub const TWILIO_SID: &str = "AC0123456789abcdef0123456789abcdef";
pub const TWILIO_TOKEN: &str = "twilio-test-token";
pub const TWILIO_FROM: &str = "+15005550006";

/// Requests the fake accepted, as decoded form fields.
#[derive(Default)]
pub struct Log {
    pub accepted: Vec<HashMap<String, String>>,
    pub refused: Vec<String>,
    nonces: HashSet<String>,
}

#[derive(Clone)]
pub struct Fake {
    pub url: String,
    pub log: Arc<Mutex<Log>>,
}

impl Fake {
    pub fn accepted(&self) -> Vec<HashMap<String, String>> {
        self.log.lock().expect("log").accepted.clone()
    }

    pub fn refused(&self) -> Vec<String> {
        self.log.lock().expect("log").refused.clone()
    }
}

/// Our own RFC 3986 encoder, written apart from Herald's, so a shared bug cannot hide.
fn pct(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn aliyun_answer(status: u16, code: &str, message: &str) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).expect("status")).json(
        serde_json::json!({ "Code": code, "Message": message, "RequestId": uuid::Uuid::new_v4().to_string() }),
    )
}

async fn aliyun(body: web::Bytes, log: web::Data<Arc<Mutex<Log>>>) -> HttpResponse {
    let fields: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let map: HashMap<String, String> = fields.iter().cloned().collect();
    let mut log = log.lock().expect("log");
    let refuse = |log: &mut Log, code: &str, msg: &str, status: u16| {
        log.refused.push(code.to_string());
        aliyun_answer(status, code, msg)
    };
    for p in [
        "AccessKeyId",
        "Action",
        "Format",
        "SignatureMethod",
        "SignatureNonce",
        "SignatureVersion",
        "Timestamp",
        "Version",
        "Signature",
    ] {
        if !map.contains_key(p) {
            return refuse(&mut log, "MissingParameter", p, 400);
        }
    }
    if map["AccessKeyId"] != ALIYUN_KEY_ID {
        return refuse(&mut log, "InvalidAccessKeyId.NotFound", "no such key", 404);
    }
    if map["SignatureMethod"] != "HMAC-SHA1" || map["SignatureVersion"] != "1.0" {
        return refuse(&mut log, "InvalidSignatureMethod", "v1 only", 400);
    }
    let mut signed: Vec<(String, String)> = fields
        .iter()
        .filter(|(k, _)| k != "Signature")
        .cloned()
        .collect();
    signed.sort();
    let canonical = signed
        .iter()
        .map(|(k, v)| format!("{}={}", pct(k), pct(v)))
        .collect::<Vec<_>>()
        .join("&");
    let to_sign = format!("POST&%2F&{}", pct(&canonical));
    let mut mac =
        Hmac::<sha1::Sha1>::new_from_slice(format!("{ALIYUN_SECRET}&").as_bytes()).expect("key");
    mac.update(to_sign.as_bytes());
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    if map["Signature"] != expected {
        return refuse(
            &mut log,
            "SignatureDoesNotMatch",
            "Specified signature is not matched with our calculation.",
            400,
        );
    }
    let ts = chrono::NaiveDateTime::parse_from_str(&map["Timestamp"], "%Y-%m-%dT%H:%M:%SZ");
    let fresh = ts.is_ok_and(|t| (chrono::Utc::now().naive_utc() - t).num_minutes().abs() <= 15);
    if !fresh {
        return refuse(&mut log, "InvalidTimeStamp.Expired", "timestamp", 400);
    }
    if !log.nonces.insert(map["SignatureNonce"].clone()) {
        return refuse(&mut log, "SignatureNonceUsed", "nonce reused", 400);
    }
    if map["Action"] == "QueryCallDetailByCallId" {
        for p in ["CallId", "ProdId", "QueryDate"] {
            if !map.contains_key(p) {
                return refuse(&mut log, "MissingParameter", p, 400);
            }
        }
        log.accepted.push(map.clone());
        // Every call this stand-in places rings out unanswered.
        let data = serde_json::json!({ "callId": map["CallId"], "state": "200010", "stateDesc": "no answer", "duration": 0 });
        return HttpResponse::Ok().json(serde_json::json!({ "Code": "OK", "Message": "OK", "RequestId": "r", "Data": data.to_string() }));
    }
    let (number, extra) = match map["Action"].as_str() {
        "SendSms" => {
            for p in ["PhoneNumbers", "SignName", "TemplateCode", "TemplateParam"] {
                if !map.contains_key(p) {
                    return refuse(&mut log, "MissingParameter", p, 400);
                }
            }
            if serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(
                &map["TemplateParam"],
            )
            .is_err()
            {
                return refuse(&mut log, "isv.INVALID_JSON_PARAM", "TemplateParam", 200);
            }
            (
                map["PhoneNumbers"].clone(),
                ("BizId", "900619746936498440^0"),
            )
        }
        "SingleCallByTts" => {
            for p in ["CalledNumber", "TtsCode", "TtsParam"] {
                if !map.contains_key(p) {
                    return refuse(&mut log, "MissingParameter", p, 400);
                }
            }
            (
                map["CalledNumber"].clone(),
                ("CallId", "116012354148^10281378"),
            )
        }
        other => return refuse(&mut log, "InvalidAction.NotFound", other, 400),
    };
    // Numbers that make the fake answer as Alibaba does in trouble.
    match number.as_str() {
        "13900000000" => {
            return refuse(
                &mut log,
                "isv.MOBILE_NUMBER_ILLEGAL",
                "invalid mobile number",
                200,
            );
        }
        "13900000001" => {
            return refuse(&mut log, "isv.BUSINESS_LIMIT_CONTROL", "flow control", 200);
        }
        "13900000002" => return refuse(&mut log, "ServiceUnavailable", "try later", 503),
        _ => {}
    }
    log.accepted.push(map);
    HttpResponse::Ok().json(serde_json::json!({
        "Code": "OK", "Message": "OK", "RequestId": uuid::Uuid::new_v4().to_string(), extra.0: extra.1
    }))
}

async fn twilio(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
    log: web::Data<Arc<Mutex<Log>>>,
) -> HttpResponse {
    let (sid, resource) = path.into_inner();
    let mut log = log.lock().expect("log");
    let error = |log: &mut Log, status: u16, code: i64, msg: &str| {
        log.refused.push(code.to_string());
        HttpResponse::build(actix_web::http::StatusCode::from_u16(status).expect("status")).json(
            serde_json::json!({ "code": code, "message": msg, "more_info": format!("https://www.twilio.com/docs/errors/{code}"), "status": status }),
        )
    };
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{TWILIO_SID}:{TWILIO_TOKEN}"))
    );
    let auth = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if auth != expected || sid != TWILIO_SID {
        return error(&mut log, 401, 20003, "Authenticate");
    }
    let ct = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.starts_with("application/x-www-form-urlencoded") {
        return error(&mut log, 400, 21000, "form-encoded body expected");
    }
    let map: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let to = map.get("To").cloned().unwrap_or_default();
    if !to.starts_with('+') {
        return error(
            &mut log,
            400,
            21211,
            "The 'To' number is not a valid phone number.",
        );
    }
    match resource.as_str() {
        "Messages.json" => {
            if map.get("Body").is_none_or(|b| b.is_empty()) {
                return error(&mut log, 400, 21602, "Message body is required.");
            }
            if !map.contains_key("From") && !map.contains_key("MessagingServiceSid") {
                return error(&mut log, 400, 21603, "A 'From' phone number is required.");
            }
        }
        "Calls.json" => {
            let twiml = map.get("Twiml").cloned().unwrap_or_default();
            if !twiml.starts_with("<Response><Say") || !map.contains_key("From") {
                return error(&mut log, 400, 21205, "Twiml or From missing");
            }
        }
        _ => return error(&mut log, 404, 20404, "not found"),
    }
    match to.as_str() {
        "+12025550100" | "+12025550103" => {
            return error(
                &mut log,
                400,
                21211,
                &format!("The 'To' number {to} is not a valid phone number."),
            );
        }
        "+12025550101" => return error(&mut log, 429, 20429, "Too Many Requests"),
        "+12025550102" => {
            log.refused.push("503".into());
            return HttpResponse::ServiceUnavailable().body("upstream trouble");
        }
        _ => {}
    }
    log.accepted.push(map);
    let prefix = if resource == "Calls.json" { "CA" } else { "SM" };
    HttpResponse::Created().json(serde_json::json!({
        "sid": format!("{prefix}{}", uuid::Uuid::new_v4().simple()), "status": "queued", "error_code": null
    }))
}

fn serve(configure: fn(&mut web::ServiceConfig)) -> Fake {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind fake");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let log = Arc::new(Mutex::new(Log::default()));
    let data = web::Data::new(log.clone());
    let server = HttpServer::new(move || App::new().app_data(data.clone()).configure(configure))
        .workers(1)
        .listen(listener)
        .expect("listen")
        .run();
    tokio::spawn(server);
    Fake { url, log }
}

/// Alibaba Cloud's RPC endpoint (`/`), for both SMS and voice.
pub fn aliyun_server() -> Fake {
    serve(|cfg| {
        cfg.route("/", web::post().to(aliyun));
    })
}

/// Twilio's `/2010-04-01/Accounts/{sid}/Messages.json` and `Calls.json`.
pub fn twilio_server() -> Fake {
    serve(|cfg| {
        cfg.route(
            "/2010-04-01/Accounts/{sid}/{resource}",
            web::post().to(twilio),
        );
    })
}

/// Settings that send SMS and calls through the fake Alibaba Cloud.
pub fn use_aliyun(s: &mut herald::config::Settings, fake: &Fake) {
    use herald::config::PhoneProvider;
    s.sms_provider = PhoneProvider::Aliyun;
    s.voice_provider = PhoneProvider::Aliyun;
    s.aliyun = herald::channels::aliyun::AliyunConfig {
        access_key_id: ALIYUN_KEY_ID.into(),
        access_key_secret: ALIYUN_SECRET.into(),
        sms_endpoint: format!("{}/", fake.url),
        voice_endpoint: format!("{}/", fake.url),
        sms_sign_name: "Herald".into(),
        sms_template_verify: "SMS_100000001".into(),
        sms_template_alert: "SMS_100000002".into(),
        tts_code: "TTS_100000003".into(),
        sms_template_verify_zh: "SMS_100000004".into(),
        ..Default::default()
    };
    // The stand-in listens on loopback.
    s.allow_private_targets = true;
}

async fn hook(req: HttpRequest, body: web::Bytes, log: web::Data<Arc<Mutex<Log>>>) -> HttpResponse {
    let mut seen = HashMap::new();
    seen.insert("method".to_string(), req.method().to_string());
    seen.insert("path".to_string(), req.path().to_string());
    seen.insert("query".to_string(), req.query_string().to_string());
    for (name, value) in req.headers() {
        seen.insert(
            format!("header:{}", name.as_str().to_lowercase()),
            value.to_str().unwrap_or_default().to_string(),
        );
    }
    seen.insert(
        "body".to_string(),
        String::from_utf8_lossy(&body).into_owned(),
    );
    log.lock().expect("log").accepted.push(seen);
    if req.path() == "/slow" {
        tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    }
    if req.path() == "/redirect" {
        return HttpResponse::Found()
            .insert_header(("Location", "/landed"))
            .finish();
    }
    if req.path() == "/broken" {
        return HttpResponse::InternalServerError().body("database is on fire");
    }
    HttpResponse::Ok().body("received by the test hook")
}

/// A webhook receiver recording every request; `/slow` answers after 6 s, `/broken` with 500.
pub fn webhook_server() -> Fake {
    serve(|cfg| {
        cfg.default_service(web::to(hook));
    })
}
