//! The real provider clients against loopback stand-ins that check signatures and fields.

use std::time::Duration;

use herald::channels::aliyun::{Aliyun, AliyunConfig};
use herald::channels::smtp::Smtp;
use herald::channels::twilio::{Twilio, TwilioConfig};
use herald::channels::{
    Email, EmailSender, FailureKind, Providers, Sms, SmsPurpose, SmsSender, VoiceCall, VoiceCaller,
};
use herald::config::Settings;
use herald::domain::{EmailAddress, Language, PhoneNumber};
use herald::outbound::{self, TargetPolicy};
use herald::store::Db;

use crate::fakes::{self, Fake};
use crate::helpers::{Kind, TestDb};
use crate::smtp_server::{Security, SmtpServer};

fn aliyun(fake: &Fake, secret: &str) -> Aliyun {
    Aliyun::new(
        AliyunConfig {
            access_key_secret: secret.into(),
            ..base_config(fake)
        },
        loopback_client(Duration::from_secs(5)),
        TargetPolicy::ALLOW_PRIVATE,
    )
}

/// The stand-ins listen on loopback, which the outbound rules refuse unless allowed.
fn loopback_client(timeout: Duration) -> reqwest::Client {
    outbound::client(TargetPolicy::ALLOW_PRIVATE, timeout)
}

fn sms(to: &str) -> Sms {
    Sms {
        workspace_id: None,
        to: PhoneNumber::parse(to).expect("number"),
        purpose: SmsPurpose::Verify,
        text: "Herald: verify this number: http://x/v/abc".into(),
        language: Language::English,
        params: vec![("url", "http://x/v/abc".into())],
    }
}

#[tokio::test]
async fn alibaba_sms_is_signed_and_answers_map_to_outcomes() {
    let fake = fakes::aliyun_server();
    let client = aliyun(&fake, fakes::ALIYUN_SECRET);

    let ok = client
        .send_sms(&sms("+8613912345678"))
        .await
        .expect("accepted");
    assert_eq!(ok.id.as_deref(), Some("900619746936498440^0"));
    let got = fake.accepted();
    assert_eq!(got.len(), 1);
    let req = &got[0];
    assert_eq!(req["Action"], "SendSms");
    assert_eq!(
        req["PhoneNumbers"], "13912345678",
        "mainland numbers go bare"
    );
    assert_eq!(req["TemplateCode"], "SMS_1");
    assert_eq!(req["SignName"], "Herald");
    let params: serde_json::Value = serde_json::from_str(&req["TemplateParam"]).expect("json");
    assert_eq!(params["url"], "http://x/v/abc");

    // Each request has a fresh nonce: a second send is accepted too. A Chinese message uses
    // the Chinese template.
    let mut chinese = sms("+8613912345679");
    chinese.language = Language::Chinese;
    client.send_sms(&chinese).await.expect("second");
    assert_eq!(fake.accepted()[1]["TemplateCode"], "SMS_1_ZH");
    // A bind code goes by the code template, with the code as its variable.
    let mut code = sms("+8613912345670");
    code.purpose = SmsPurpose::Code;
    code.params = vec![("code", "123456".into())];
    client.send_sms(&code).await.expect("code");
    let req = &fake.accepted()[2];
    assert_eq!(req["TemplateCode"], "SMS_4");
    let params: serde_json::Value = serde_json::from_str(&req["TemplateParam"]).expect("json");
    assert_eq!(params, serde_json::json!({"code": "123456"}));

    let wrong = client
        .send_sms(&sms("+8613900000000"))
        .await
        .expect_err("illegal");
    assert_eq!(wrong.kind, FailureKind::BadRecipient);
    assert!(
        wrong.reason.contains("isv.MOBILE_NUMBER_ILLEGAL"),
        "{wrong}"
    );
    let limited = client
        .send_sms(&sms("+8613900000001"))
        .await
        .expect_err("limited");
    assert_eq!(limited.kind, FailureKind::RateLimited);
    let down = client
        .send_sms(&sms("+8613900000002"))
        .await
        .expect_err("5xx");
    assert_eq!(down.kind, FailureKind::Transient);

    // A wrong secret fails the fake's own recomputation of the signature.
    let bad = aliyun(&fake, "not-the-secret");
    let refused = bad
        .send_sms(&sms("+8613912345678"))
        .await
        .expect_err("signature");
    assert_eq!(refused.kind, FailureKind::Rejected);
    assert!(
        refused.reason.contains("SignatureDoesNotMatch"),
        "{refused}"
    );
    assert!(!refused.reason.contains("not-the-secret"));
    assert!(
        fake.refused()
            .contains(&"SignatureDoesNotMatch".to_string())
    );
}

#[tokio::test]
async fn alibaba_voice_calls_with_the_tts_template() {
    let fake = fakes::aliyun_server();
    let client = aliyun(&fake, fakes::ALIYUN_SECRET);
    let call = VoiceCall {
        workspace_id: None,
        to: PhoneNumber::parse("+8613912345678").expect("number"),
        text: "CPU high on n1".into(),
        language: Language::English,
    };
    let ok = client.call(&call).await.expect("accepted");
    assert!(ok.id.is_some());
    let req = &fake.accepted()[0];
    assert_eq!(req["Action"], "SingleCallByTts");
    assert_eq!(req["CalledNumber"], "13912345678");
    assert_eq!(req["TtsCode"], "TTS_3");
    let tts: serde_json::Value = serde_json::from_str(&req["TtsParam"]).expect("json");
    assert_eq!(tts["text"], "CPU high on n1");
}

#[tokio::test]
async fn a_provider_that_does_not_answer_is_a_transient_failure() {
    // A listener that accepts and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", silent.local_addr().expect("addr"));
    let fake = Fake {
        url,
        log: Default::default(),
    };
    let client = Aliyun::new(
        base_config(&fake),
        loopback_client(Duration::from_secs(1)),
        TargetPolicy::ALLOW_PRIVATE,
    );
    let started = std::time::Instant::now();
    let e = client
        .send_sms(&sms("+8613912345678"))
        .await
        .expect_err("timeout");
    assert_eq!(e.kind, FailureKind::Transient);
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(silent);
}

fn base_config(fake: &Fake) -> AliyunConfig {
    AliyunConfig {
        access_key_id: fakes::ALIYUN_KEY_ID.into(),
        access_key_secret: fakes::ALIYUN_SECRET.into(),
        region_id: "cn-hangzhou".into(),
        sms_endpoint: format!("{}/", fake.url),
        voice_endpoint: format!("{}/", fake.url),
        sms_sign_name: "Herald".into(),
        sms_template_verify: "SMS_1".into(),
        sms_template_alert: "SMS_2".into(),
        sms_template_code: "SMS_4".into(),
        sms_template_code_zh: "SMS_4_ZH".into(),
        tts_code: "TTS_3".into(),
        called_show_number: String::new(),
        sms_template_verify_zh: "SMS_1_ZH".into(),
        sms_template_alert_zh: String::new(),
        tts_code_zh: String::new(),
    }
}

fn twilio(fake: &Fake, token: &str) -> Twilio {
    Twilio::new(
        TwilioConfig {
            account_sid: fakes::TWILIO_SID.into(),
            auth_token: token.into(),
            from: fakes::TWILIO_FROM.into(),
            messaging_service_sid: String::new(),
            base_url: fake.url.clone(),
        },
        loopback_client(Duration::from_secs(5)),
        TargetPolicy::ALLOW_PRIVATE,
    )
}

#[tokio::test]
async fn twilio_messages_and_calls_use_basic_auth_and_forms() {
    let fake = fakes::twilio_server();
    let client = twilio(&fake, fakes::TWILIO_TOKEN);

    let ok = client
        .send_sms(&sms("+12025550123"))
        .await
        .expect("accepted");
    assert!(ok.id.as_deref().is_some_and(|s| s.starts_with("SM")));
    let call = VoiceCall {
        workspace_id: None,
        to: PhoneNumber::parse("+12025550123").expect("number"),
        text: "Disk <full> & slow".into(),
        language: Language::Chinese,
    };
    let ok = client.call(&call).await.expect("call");
    assert!(ok.id.as_deref().is_some_and(|s| s.starts_with("CA")));
    let got = fake.accepted();
    assert_eq!(got[0]["To"], "+12025550123");
    assert_eq!(got[0]["From"], fakes::TWILIO_FROM);
    assert_eq!(got[0]["Body"], "Herald: verify this number: http://x/v/abc");
    assert_eq!(
        got[1]["Twiml"],
        "<Response><Say language=\"zh-CN\" loop=\"2\">Disk &lt;full&gt; &amp; slow</Say></Response>"
    );

    let e = client
        .send_sms(&sms("+12025550100"))
        .await
        .expect_err("invalid To");
    assert_eq!(e.kind, FailureKind::BadRecipient);
    assert!(e.reason.starts_with("21211"), "{e}");
    let e = client
        .send_sms(&sms("+12025550101"))
        .await
        .expect_err("429");
    assert_eq!(e.kind, FailureKind::RateLimited);
    let e = client
        .send_sms(&sms("+12025550102"))
        .await
        .expect_err("503");
    assert_eq!(e.kind, FailureKind::Transient);

    let bad = twilio(&fake, "wrong-token");
    let e = bad.send_sms(&sms("+12025550123")).await.expect_err("auth");
    assert_eq!(e.kind, FailureKind::Rejected);
    assert!(e.reason.starts_with("20003"), "{e}");
}

#[tokio::test]
async fn email_goes_through_a_real_smtp_server() {
    let Some(server) = SmtpServer::start() else {
        return;
    };
    let smtp = Smtp::new(
        &server.url(),
        "Herald <herald@example.com>",
        Duration::from_secs(5),
        None,
    )
    .expect("smtp");
    let email = Email {
        workspace_id: None,
        to: EmailAddress::parse("ana@example.com").expect("address"),
        subject: "Activate your email".into(),
        text: "Open http://x/v/abc to activate.\n".into(),
        html: None,
    };
    smtp.send_email(&email).await.expect("sent");
    let mail = server.wait_for("ana@example.com").await;
    assert!(mail.contains("Subject: Activate your email"), "{mail}");
    assert!(mail.contains("From: Herald <herald@example.com>"), "{mail}");
    assert!(mail.contains("http://x/v/abc"), "{mail}");

    // Nothing listening: a transient failure, not a panic or a hang.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let nowhere = Smtp::new(
        &format!("smtp://127.0.0.1:{port}"),
        "herald@example.com",
        Duration::from_secs(2),
        None,
    )
    .expect("smtp");
    let e = nowhere.send_email(&email).await.expect_err("no server");
    assert_eq!(e.kind, FailureKind::Transient);
}

#[tokio::test]
async fn email_goes_over_starttls_and_implicit_tls() {
    for (security, url) in [
        (Security::StartTls, "smtp://127.0.0.1:{port}?tls=required"),
        (Security::Implicit, "smtps://127.0.0.1:{port}"),
    ] {
        let Some(server) = SmtpServer::start_with(security) else {
            return;
        };
        let url = url.replace("{port}", &server.port().to_string());
        let ca = server.certificate().expect("certificate");
        let email = Email {
            workspace_id: None,
            to: EmailAddress::parse("tls@example.com").expect("address"),
            subject: format!("Over {security:?}"),
            text: "Encrypted.\n".into(),
            html: None,
        };
        // The server's certificate is not from a public CA: without smtp.ca_file, refused.
        let untrusting =
            Smtp::new(&url, "herald@example.com", Duration::from_secs(5), None).expect("smtp");
        assert!(
            untrusting.send_email(&email).await.is_err(),
            "{security:?} accepted an unknown certificate"
        );
        let smtp = Smtp::new(
            &url,
            "herald@example.com",
            Duration::from_secs(5),
            Some(&ca),
        )
        .expect("smtp");
        smtp.send_email(&email)
            .await
            .unwrap_or_else(|e| panic!("{security:?}: {e}"));
        let mail = server.wait_for("tls@example.com").await;
        assert!(
            mail.contains(&format!("Subject: Over {security:?}")),
            "{mail}"
        );
    }
}

/// The `[aliyun]`, `[twilio]` and `[smtp]` sections of a settings file, with the secrets from
/// the old `HERALD_*` variables, are what the senders built at start-up use.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_settings_sections_and_old_variables_reach_the_senders() {
    let alibaba = fakes::aliyun_server();
    let twilio = fakes::twilio_server();
    let smtp = SmtpServer::start_with(Security::StartTls);
    let dir = tempfile::tempdir().expect("dir");
    let (smtp_section, ca_file) = match &smtp {
        Some(server) => {
            let ca = dir.path().join("company-ca.pem");
            std::fs::write(&ca, server.certificate().expect("certificate")).expect("ca");
            (
                format!(
                    "[smtp]\nurl = \"smtp://127.0.0.1:{}?tls=required\"\n",
                    server.port()
                ),
                ca.to_string_lossy().into_owned(),
            )
        }
        None => (String::new(), String::new()),
    };
    let file = dir.path().join("herald.toml");
    std::fs::write(
        &file,
        format!(
            r#"sms_provider = "aliyun"
voice_provider = "twilio"
email_provider = "{email}"
allow_private_targets = true

[aliyun]
access_key_id = "{key_id}"
access_key_secret = "replaced-by-the-environment"
sms_endpoint = "{alibaba}/"
sms_sign_name = "Herald"
sms_template_verify = "SMS_FROM_FILE"

[twilio]
account_sid = "{sid}"
from = "{from}"
base_url = "{twilio}"

{smtp_section}"#,
            email = if smtp.is_some() { "smtp" } else { "console" },
            key_id = fakes::ALIYUN_KEY_ID,
            alibaba = alibaba.url,
            sid = fakes::TWILIO_SID,
            from = fakes::TWILIO_FROM,
            twilio = twilio.url,
        ),
    )
    .expect("write");
    let test_db = TestDb::create(Kind::Sqlite).expect("sqlite");
    let env = [
        ("HERALD_DATABASE_URL", test_db.url.as_str()),
        ("HERALD_ALIYUN_ACCESS_KEY_SECRET", fakes::ALIYUN_SECRET),
        ("HERALD_TWILIO_AUTH_TOKEN", fakes::TWILIO_TOKEN),
        ("HERALD_EMAIL_FROM", "Herald <alerts@example.com>"),
        ("HERALD_SMTP_CA_FILE", ca_file.as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let settings = Settings::load_from(Some(&file.to_string_lossy()), Some(env)).expect("settings");
    let db = Db::connect(&settings.database_url, 1).expect("database");
    let providers = Providers::new(settings.provider_setup(), &db).expect("providers");
    assert_eq!(providers.sms.name(), "aliyun");
    assert_eq!(providers.voice.name(), "twilio");

    // Signed with the key from the file and the secret from the environment.
    providers
        .sms
        .send_sms(&sms("+8613912345678"))
        .await
        .expect("accepted by the fake Alibaba Cloud");
    let req = &alibaba.accepted()[0];
    assert_eq!(req["TemplateCode"], "SMS_FROM_FILE");
    assert_eq!(req["SignName"], "Herald");

    // Basic auth with the SID from the file and the token from the environment.
    let call = VoiceCall {
        workspace_id: None,
        to: PhoneNumber::parse("+12025550123").expect("number"),
        text: "CPU high on n1".into(),
        language: Language::English,
    };
    providers
        .voice
        .call(&call)
        .await
        .expect("accepted by the fake Twilio");
    assert_eq!(twilio.accepted()[0]["From"], fakes::TWILIO_FROM);

    // STARTTLS to a server whose CA only the file named by HERALD_SMTP_CA_FILE vouches for.
    if let Some(server) = smtp {
        assert_eq!(providers.email.name(), "smtp");
        let email = Email {
            workspace_id: None,
            to: EmailAddress::parse("ana@example.com").expect("address"),
            subject: "From the settings".into(),
            text: "Configured by sections.\n".into(),
            html: None,
        };
        providers.email.send_email(&email).await.expect("sent");
        let mail = server.wait_for("ana@example.com").await;
        assert!(mail.contains("From: Herald <alerts@example.com>"), "{mail}");
    }
}
