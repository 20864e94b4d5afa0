//! Providers telling Herald what became of a call: Twilio's status callback. Public (Twilio
//! cannot sign in), so every report must carry Twilio's signature over exactly the URL Herald
//! gave it; an unsigned or forged report changes nothing and answers 403.

use actix_web::{HttpRequest, HttpResponse, web};

use crate::channels::twilio;
use crate::engine::Engine;
use crate::error::AppError;

pub async fn twilio(
    req: HttpRequest,
    engine: web::Data<Engine>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let params: Vec<(String, String)> = url::form_urlencoded::parse(&body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let given = req
        .headers()
        .get("X-Twilio-Signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let voice = engine.voice();
    let url = twilio::status_callback_url(engine.external_url());
    let signed = voice
        .callback_secret()
        .is_some_and(|secret| twilio::signed_by_twilio(secret, &url, &params, given));
    if !signed {
        tracing::warn!(
            route = twilio::STATUS_CALLBACK_PATH,
            "call report refused: not signed by Twilio"
        );
        return Ok(HttpResponse::Forbidden().body("not signed by Twilio"));
    }
    let field = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let (Some(sid), Some(status)) = (field("CallSid"), field("CallStatus")) else {
        return Err(AppError::BadRequest(
            "CallSid and CallStatus are required".into(),
        ));
    };
    if let Some(outcome) = twilio::call_outcome(status) {
        // Unknown or already ended calls are fine: Twilio must not retry them.
        engine.call_outcome(sid.to_string(), outcome).await?;
    }
    Ok(HttpResponse::NoContent().finish())
}
