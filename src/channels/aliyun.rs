//! Alibaba Cloud SMS (`SendSms`) and voice (`SingleCallByTts`), RPC API with signature v1
//! (HMAC-SHA1 over the sorted, percent-encoded parameters, as Alibaba Cloud's RPC API documents).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use futures_util::future::BoxFuture;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::http::{checked_url, excerpt, read_answer, transport_failure};
use super::{
    Accepted, CallReports, FailureKind, SendFailure, SendResult, Sms, SmsPurpose, SmsSender,
    VoiceCall, VoiceCaller,
};
use crate::domain::notification::CallOutcome;
use crate::domain::{Language, PhoneNumber};
use crate::outbound::TargetPolicy;

/// The `[aliyun]` section of the settings (`HERALD_ALIYUN_*` variables override it). Debug
/// output shows the secret as `[REDACTED]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AliyunConfig {
    pub access_key_id: String,
    /// Empty: not configured.
    pub access_key_secret: SecretString,
    pub region_id: String,
    pub sms_endpoint: String,
    pub voice_endpoint: String,
    /// The approved SMS signature name.
    pub sms_sign_name: String,
    /// Approved template for verification links; it must contain the variable `${url}`.
    pub sms_template_verify: String,
    /// Approved template for alerts; it must contain the variable `${text}`.
    pub sms_template_alert: String,
    /// Approved template for bind codes; it must contain the variable `${code}`. Alibaba
    /// Cloud's verification-code templates are their own kind [U: approval rules].
    pub sms_template_code: String,
    /// Approved text-to-speech template for calls; it must contain the variable `${text}`.
    pub tts_code: String,
    /// Chinese versions; empty: the templates above serve every language. Alibaba Cloud sends
    /// only approved templates, so the language is chosen by template, not by text.
    pub sms_template_verify_zh: String,
    pub sms_template_alert_zh: String,
    pub sms_template_code_zh: String,
    pub tts_code_zh: String,
    /// Empty: Alibaba's shared number pool calls out.
    pub called_show_number: String,
}

impl Default for AliyunConfig {
    fn default() -> Self {
        AliyunConfig {
            access_key_id: String::new(),
            access_key_secret: SecretString::default(),
            region_id: "cn-hangzhou".into(),
            sms_endpoint: "https://dysmsapi.aliyuncs.com/".into(),
            voice_endpoint: "https://dyvmsapi.aliyuncs.com/".into(),
            sms_sign_name: String::new(),
            sms_template_verify: String::new(),
            sms_template_alert: String::new(),
            sms_template_code: String::new(),
            tts_code: String::new(),
            sms_template_verify_zh: String::new(),
            sms_template_alert_zh: String::new(),
            sms_template_code_zh: String::new(),
            tts_code_zh: String::new(),
            called_show_number: String::new(),
        }
    }
}

pub struct Aliyun {
    config: AliyunConfig,
    http: reqwest::Client,
    policy: TargetPolicy,
}

/// RFC 3986 percent-encoding as Alibaba's signature wants it: only `A-Z a-z 0-9 - _ . ~` stay.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The parameters sorted and encoded as `a=1&b=2`: both what is signed and the request body.
pub fn canonical_query(params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    sorted
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Signature v1: `base64(HMAC-SHA1(secret + "&", METHOD & %2F & pe(canonical)))`.
pub fn signature(method: &str, params: &[(String, String)], secret: &str) -> String {
    let string_to_sign = format!(
        "{method}&{}&{}",
        percent_encode("/"),
        percent_encode(&canonical_query(params))
    );
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(format!("{secret}&").as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(string_to_sign.as_bytes());
    BASE64.encode(mac.finalize().into_bytes())
}

/// Alibaba takes mainland numbers bare and others as country code + number without `+`.
fn provider_number(p: &PhoneNumber) -> String {
    let digits = p.as_str().trim_start_matches('+');
    match digits.strip_prefix("86") {
        Some(national) => national.to_string(),
        None => digits.to_string(),
    }
}

/// The Chinese template when the message is Chinese and one is configured.
fn in_language<'a>(default: &'a String, chinese: &'a String, language: Language) -> &'a String {
    if language == Language::Chinese && !chinese.is_empty() {
        chinese
    } else {
        default
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Answer {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    biz_id: Option<String>,
    #[serde(default)]
    call_id: Option<String>,
}

/// Alibaba's error codes sorted into what Herald does next. Codes not listed are taken as
/// configuration problems: a retry would fail the same way.
fn classify(code: &str) -> FailureKind {
    match code {
        // Per-number and per-account flow control, and API throttling.
        "isv.BUSINESS_LIMIT_CONTROL"
        | "isv.DAY_LIMIT_CONTROL"
        | "Throttling"
        | "Throttling.User"
        | "Throttling.Api"
        | "isv.OUT_OF_SERVICE_LIMIT" => FailureKind::RateLimited,
        // [U] the voice API's codes for a bad callee are not in our verified reference; these
        // are the documented SMS ones plus the voice names seen in vendor samples.
        "isv.MOBILE_NUMBER_ILLEGAL"
        | "isv.MOBILE_COUNT_OVER_LIMIT"
        | "isv.BLACK_KEY_CONTROL_LIMIT"
        | "isv.CALLED_NUMBER_ILLEGAL"
        | "isv.PHONE_NUMBER_ILLEGAL" => FailureKind::BadRecipient,
        "InternalError"
        | "ServiceUnavailable"
        | "isp.SYSTEM_ERROR"
        | "isp.RAM_PERMISSION_DENY_TEMP" => FailureKind::Transient,
        _ => FailureKind::Rejected,
    }
}

impl Aliyun {
    /// `http` is the shared outbound client; `policy` the same rules it resolves names with.
    pub fn new(config: AliyunConfig, http: reqwest::Client, policy: TargetPolicy) -> Self {
        Aliyun {
            config,
            http,
            policy,
        }
    }

    fn common_params(&self, action: &str) -> Vec<(String, String)> {
        [
            ("AccessKeyId", self.config.access_key_id.clone()),
            ("Action", action.to_string()),
            ("Format", "JSON".to_string()),
            ("RegionId", self.config.region_id.clone()),
            ("SignatureMethod", "HMAC-SHA1".to_string()),
            ("SignatureNonce", uuid::Uuid::new_v4().to_string()),
            ("SignatureVersion", "1.0".to_string()),
            (
                "Timestamp",
                chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            ),
            ("Version", "2017-05-25".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// Signs and POSTs the request; answers the status and the body.
    async fn post_signed(
        &self,
        endpoint: &str,
        mut params: Vec<(String, String)>,
    ) -> Result<(reqwest::StatusCode, String), SendFailure> {
        let sig = signature(
            "POST",
            &params,
            self.config.access_key_secret.expose_secret(),
        );
        params.push(("Signature".into(), sig));
        let body = canonical_query(&params);
        let endpoint = checked_url(endpoint, self.policy)?;
        let response = self
            .http
            .post(endpoint)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(|e| transport_failure(&e))?;
        read_answer(response).await
    }

    /// Signs and POSTs the call; maps the JSON answer.
    async fn call_api(&self, endpoint: &str, params: Vec<(String, String)>) -> SendResult {
        let (status, text) = self.post_signed(endpoint, params).await?;
        let answer: Option<Answer> = serde_json::from_str(&text).ok();
        match answer {
            Some(a) if a.code == "OK" => Ok(Accepted {
                id: a.biz_id.or(a.call_id),
            }),
            Some(a) if !a.code.is_empty() => {
                let kind = if status.is_server_error() {
                    FailureKind::Transient
                } else {
                    classify(&a.code)
                };
                Err(SendFailure::new(
                    kind,
                    format!("{} {}", a.code, excerpt(&a.message, 200)),
                ))
            }
            _ => Err(SendFailure::new(
                if status.is_server_error() || status.as_u16() == 429 {
                    FailureKind::Transient
                } else {
                    FailureKind::Rejected
                },
                format!("HTTP {status}: {}", excerpt(&text, 200)),
            )),
        }
    }
}

impl SmsSender for Aliyun {
    fn name(&self) -> &'static str {
        "aliyun"
    }

    fn send_sms<'a>(&'a self, sms: &'a Sms) -> BoxFuture<'a, SendResult> {
        Box::pin(async move {
            let (template, template_zh) = match sms.purpose {
                SmsPurpose::Verify => (
                    &self.config.sms_template_verify,
                    &self.config.sms_template_verify_zh,
                ),
                SmsPurpose::Alert => (
                    &self.config.sms_template_alert,
                    &self.config.sms_template_alert_zh,
                ),
                SmsPurpose::Code => (
                    &self.config.sms_template_code,
                    &self.config.sms_template_code_zh,
                ),
            };
            let template = in_language(template, template_zh, sms.language);
            // TemplateParam is a JSON object of strings, matched to the template's ${…} names.
            let template_param: serde_json::Map<String, serde_json::Value> = sms
                .params
                .iter()
                .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.clone())))
                .collect();
            let mut params = self.common_params("SendSms");
            params.extend([
                ("PhoneNumbers".into(), provider_number(&sms.to)),
                ("SignName".into(), self.config.sms_sign_name.clone()),
                ("TemplateCode".into(), template.clone()),
                (
                    "TemplateParam".into(),
                    serde_json::Value::Object(template_param).to_string(),
                ),
            ]);
            self.call_api(&self.config.sms_endpoint, params).await
        })
    }
}

impl VoiceCaller for Aliyun {
    fn name(&self) -> &'static str {
        "aliyun"
    }

    fn call<'a>(&'a self, call: &'a VoiceCall) -> BoxFuture<'a, SendResult> {
        Box::pin(async move {
            let mut params = self.common_params("SingleCallByTts");
            params.extend([
                ("CalledNumber".into(), provider_number(&call.to)),
                (
                    "TtsCode".into(),
                    in_language(
                        &self.config.tts_code,
                        &self.config.tts_code_zh,
                        call.language,
                    )
                    .clone(),
                ),
                (
                    "TtsParam".into(),
                    serde_json::json!({ "text": call.text }).to_string(),
                ),
            ]);
            if !self.config.called_show_number.is_empty() {
                params.push((
                    "CalledShowNumber".into(),
                    self.config.called_show_number.clone(),
                ));
            }
            self.call_api(&self.config.voice_endpoint, params).await
        })
    }

    fn reports(&self) -> CallReports {
        CallReports::Queried
    }

    /// `QueryCallDetailByCallId`: the call's detail report, which exists once the call ended.
    /// [U] The product id, the `Data` JSON string and its `state` codes follow Alibaba's
    /// documentation as we read it, unverified against a live account: a code not listed
    /// counts as a failed call, and an answer without a report means "not known yet".
    fn outcome<'a>(&'a self, reference: &'a str) -> BoxFuture<'a, Option<CallOutcome>> {
        Box::pin(async move {
            let mut params = self.common_params("QueryCallDetailByCallId");
            params.extend([
                ("CallId".into(), reference.to_string()),
                ("ProdId".into(), VOICE_NOTIFICATION_PRODUCT.to_string()),
                (
                    "QueryDate".into(),
                    chrono::Utc::now().timestamp_millis().to_string(),
                ),
            ]);
            let (_, text) = self
                .post_signed(&self.config.voice_endpoint, params)
                .await
                .map_err(|e| tracing::warn!(error = %e, "call detail query failed; will ask again"))
                .ok()?;
            call_detail_outcome(&text)
        })
    }
}

/// The voice notification product's id in call detail queries. [U]
const VOICE_NOTIFICATION_PRODUCT: &str = "11000000300006";

/// The outcome a call detail answer reports; None while there is no report yet.
fn call_detail_outcome(text: &str) -> Option<CallOutcome> {
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Detail {
        #[serde(default)]
        code: String,
        #[serde(default)]
        data: Option<String>,
    }
    let detail: Detail = serde_json::from_str(text).ok()?;
    if detail.code != "OK" {
        return None;
    }
    let data: serde_json::Value = serde_json::from_str(detail.data.as_deref()?).ok()?;
    let state = match &data["state"] {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => return None,
    };
    Some(match state.as_str() {
        "200000" => CallOutcome::Answered,
        "200005" => CallOutcome::Busy,
        "200001" | "200010" | "200011" => CallOutcome::NoAnswer,
        "200004" => CallOutcome::Declined,
        _ => CallOutcome::Failed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_details_map_to_outcomes_and_no_report_is_not_an_outcome() {
        let answer = |state: &str| {
            serde_json::json!({"Code": "OK", "Data": serde_json::json!({"callId": "1", "state": state}).to_string()}).to_string()
        };
        assert_eq!(
            call_detail_outcome(&answer("200000")),
            Some(CallOutcome::Answered)
        );
        assert_eq!(
            call_detail_outcome(&answer("200005")),
            Some(CallOutcome::Busy)
        );
        assert_eq!(
            call_detail_outcome(&answer("200010")),
            Some(CallOutcome::NoAnswer)
        );
        assert_eq!(
            call_detail_outcome(&answer("999999")),
            Some(CallOutcome::Failed)
        );
        assert_eq!(
            call_detail_outcome(r#"{"Code":"OK"}"#),
            None,
            "no report yet"
        );
        assert_eq!(
            call_detail_outcome(r#"{"Code":"isv.BUSINESS_LIMIT_CONTROL"}"#),
            None
        );
        assert_eq!(call_detail_outcome("not json"), None);
    }

    #[test]
    fn signs_alibabas_published_example() {
        let params: Vec<(String, String)> = [
            ("AccessKeyId", "testid"),
            ("Action", "DescribeRegions"),
            ("Format", "XML"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"),
            ("SignatureVersion", "1.0"),
            ("Timestamp", "2016-02-23T12:46:24Z"),
            ("Version", "2014-05-26"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(
            signature("GET", &params, "testsecret"),
            "OLeaidS1JvxuMvnyHOwuJ+uX5qY="
        );
    }

    #[test]
    fn percent_encoding_follows_rfc_3986() {
        assert_eq!(percent_encode("a b*c~d/é"), "a%20b%2Ac~d%2F%C3%A9");
    }

    #[test]
    fn mainland_numbers_go_bare_others_without_plus() {
        let cn = PhoneNumber::parse("+8613900001111").expect("cn");
        let us = PhoneNumber::parse("+12025550123").expect("us");
        assert_eq!(provider_number(&cn), "13900001111");
        assert_eq!(provider_number(&us), "12025550123");
    }

    #[test]
    fn error_codes_map_to_what_herald_does_next() {
        assert_eq!(
            classify("isv.BUSINESS_LIMIT_CONTROL"),
            FailureKind::RateLimited
        );
        assert_eq!(
            classify("isv.MOBILE_NUMBER_ILLEGAL"),
            FailureKind::BadRecipient
        );
        assert_eq!(classify("SignatureDoesNotMatch"), FailureKind::Rejected);
        assert_eq!(classify("isv.AMOUNT_NOT_ENOUGH"), FailureKind::Rejected);
    }
}
