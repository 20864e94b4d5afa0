//! Notification Objects › Chatbots: DingTalk, Lark, WeCom and Slack group robots. Signature
//! keys are write-only: the page shows that one is set, never what it is.

use std::time::Duration;

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::auth::{CurrentUser, Editor, Need, Visitor};
use super::csrf::{CsrfForm, NoFields};
use super::layout::{FieldErrors, Layout, removed_from_policies, render};
use super::session::{self, Level};
use crate::chat::{self, Bot, ChatAnswer, Platform};
use crate::domain::ObjectName;
use crate::error::{AppError, see_other};
use crate::outbound::{self, TargetPolicy};
use crate::store::chatbots::{self, Chatbot, ChatbotInput};
use crate::store::named::SaveError;
use crate::store::{ChatbotId, Db};
use crate::template::{self, Escape, RenderOptions};

const KEYWORD_MAX: usize = 64;
const SECRET_MAX: usize = 256;
const CARD_TEMPLATE_MAX: usize = 4000;
const TIMES_MAX: usize = 24;
const TEST_TIMEOUT: Duration = Duration::from_secs(5);

/// `09:00, 18:30` → sorted, de-duplicated `HH:MM` list.
pub fn parse_times(s: &str) -> Result<Vec<String>, String> {
    let mut times = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let ok = chrono::NaiveTime::parse_from_str(part, "%H:%M")
            .ok()
            .filter(|_| part.len() == 5);
        match ok {
            Some(t) => times.push(t.format("%H:%M").to_string()),
            None => {
                return Err(format!(
                    "“{part}” is not a time: write HH:MM (24-hour), e.g. 09:00, 18:30."
                ));
            }
        }
    }
    times.sort();
    times.dedup();
    if times.len() > TIMES_MAX {
        return Err(format!("At most {TIMES_MAX} times a day."));
    }
    Ok(times)
}

/// A hint that a key is stored, without revealing any of it: DingTalk keys all start with the
/// public prefix `SEC`, which is shown; nothing else is.
pub fn masked_secret(secret: &Option<String>) -> Option<String> {
    secret.as_ref().map(|s| {
        let head = if s.starts_with("SEC") { "SEC" } else { "" };
        format!("{head}•••••••• (set)")
    })
}

#[derive(Template)]
#[template(path = "chatbots/index.html")]
pub struct IndexPage {
    pub layout: Layout,
    pub chatbots: Vec<Chatbot>,
}

impl IndexPage {
    pub fn platform(&self, b: &Chatbot) -> &'static str {
        Platform::parse(&b.platform)
            .map(Platform::label)
            .unwrap_or("?")
    }

    pub fn secret(&self, b: &Chatbot) -> Option<String> {
        masked_secret(&b.secret)
    }
}

pub async fn index(
    db: web::Data<Db>,
    session: Session,
    visitor: Visitor,
) -> Result<HttpResponse, AppError> {
    let (user, chatbots) = visitor
        .read(&db, Need::Member, |c, user| {
            Ok(chatbots::list(c, &user.workspace_id)?)
        })
        .await?;
    render(
        StatusCode::OK,
        &IndexPage {
            layout: Layout::new(&session, &user),
            chatbots,
        },
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ChatbotForm {
    pub platform: String,
    pub name: String,
    pub webhook_url: String,
    /// Blank keeps the stored key.
    pub secret: String,
    pub clear_secret: Option<String>,
    pub keyword: String,
    pub daily_stats: Option<String>,
    pub daily_stats_times: String,
    pub card_template: String,
}

impl ChatbotForm {
    fn from_chatbot(b: &Chatbot) -> Self {
        ChatbotForm {
            platform: b.platform.clone(),
            name: b.name.clone(),
            webhook_url: b.webhook_url.clone(),
            secret: String::new(),
            clear_secret: None,
            keyword: b.keyword.clone().unwrap_or_default(),
            daily_stats: b.daily_stats.then(|| "on".into()),
            daily_stats_times: b.daily_stats_times.clone(),
            card_template: b.card_template.clone(),
        }
    }

    pub fn parse(&self, policy: TargetPolicy) -> Result<ChatbotInput, FieldErrors> {
        let mut errors = FieldErrors::default();
        let name = ObjectName::parse(&self.name)
            .map_err(|e| errors.add("name", e))
            .ok();
        let platform = Platform::parse(&self.platform)
            .map_err(|e| errors.add("platform", e))
            .ok();
        if let Some(p) = platform
            && let Err(e) = chat::check_webhook(p, self.webhook_url.trim(), policy)
        {
            errors.add("webhook_url", e);
        }
        let secret = self.secret.trim();
        if secret.chars().count() > SECRET_MAX || secret.chars().any(char::is_control) {
            errors.add(
                "secret",
                format!("At most {SECRET_MAX} characters, on one line."),
            );
        }
        let keyword = self.keyword.trim();
        if keyword.chars().count() > KEYWORD_MAX || keyword.chars().any(char::is_control) {
            errors.add(
                "keyword",
                format!("At most {KEYWORD_MAX} characters, on one line."),
            );
        }
        let times = parse_times(&self.daily_stats_times)
            .map_err(|e| errors.add("daily_stats_times", e))
            .ok();
        if self.daily_stats.is_some() && times.as_ref().is_some_and(Vec::is_empty) {
            errors.add(
                "daily_stats_times",
                "Enter at least one time (HH:MM) for the daily statistics.",
            );
        }
        let n = self.card_template.chars().count();
        if n > CARD_TEMPLATE_MAX {
            errors.add(
                "card_template",
                format!("At most {CARD_TEMPLATE_MAX} characters (this has {n})."),
            );
        } else if let Err(e) = template::check(&self.card_template) {
            errors.add("card_template", format!("Template error at {e}"));
        }
        match (name, platform, times) {
            (Some(name), Some(platform), Some(times)) if errors.is_empty() => Ok(ChatbotInput {
                platform: platform.code().to_string(),
                name: name.as_str().to_string(),
                webhook_url: self.webhook_url.trim().to_string(),
                secret: (!secret.is_empty()).then(|| secret.to_string()),
                clear_secret: self.clear_secret.is_some(),
                keyword: (!keyword.is_empty()).then(|| keyword.to_string()),
                daily_stats: self.daily_stats.is_some(),
                daily_stats_times: times.join(","),
                card_template: self.card_template.clone(),
            }),
            _ => Err(errors),
        }
    }
}

#[derive(Template)]
#[template(path = "chatbots/form.html")]
pub struct FormPage {
    pub layout: Layout,
    pub chatbot_id: Option<ChatbotId>,
    pub form: ChatbotForm,
    pub errors: FieldErrors,
    /// What is stored, masked; None when no key is stored.
    pub stored_secret: Option<String>,
    pub preview: Option<Result<String, String>>,
    /// The platform's answer to Send test with the form's values, before saving.
    pub test: Option<ChatAnswer>,
    /// A key was typed for that test: it is not sent back, so it must be typed again to save.
    pub retype_secret: bool,
}

impl FormPage {
    pub fn action(&self) -> String {
        match &self.chatbot_id {
            Some(id) => format!("/chatbots/{id}"),
            None => "/chatbots".into(),
        }
    }

    pub fn platforms(&self) -> &'static [Platform] {
        &Platform::ALL
    }
}

#[allow(clippy::too_many_arguments)]
fn form_page(
    session: &Session,
    user: &CurrentUser,
    chatbot_id: Option<ChatbotId>,
    form: ChatbotForm,
    errors: FieldErrors,
    stored_secret: Option<String>,
    preview: Option<Result<String, String>>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    render(
        status,
        &FormPage {
            layout: Layout::new(session, user),
            chatbot_id,
            form,
            errors,
            stored_secret,
            preview,
            test: None,
            retype_secret: false,
        },
    )
}

pub async fn new(session: Session, Editor(user): Editor) -> Result<HttpResponse, AppError> {
    let form = ChatbotForm {
        platform: Platform::DingTalk.code().into(),
        // The seeds' default security keyword.
        keyword: "Alert".into(),
        ..Default::default()
    };
    form_page(
        &session,
        &user,
        None,
        form,
        FieldErrors::default(),
        None,
        None,
        StatusCode::OK,
    )
}

fn parse_id(raw: &str) -> Result<ChatbotId, AppError> {
    ChatbotId::parse(raw).ok_or(AppError::NotFound)
}

async fn stored(db: &Db, user: &CurrentUser, id: &ChatbotId) -> Result<Chatbot, AppError> {
    let (ws, id) = (user.workspace_id.clone(), id.clone());
    Ok(db.run(move |c| chatbots::get(c, &ws, &id)).await?)
}

pub async fn edit(
    db: web::Data<Db>,
    session: Session,
    Editor(user): Editor,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path)?;
    let bot = stored(&db, &user, &id).await?;
    form_page(
        &session,
        &user,
        Some(id),
        ChatbotForm::from_chatbot(&bot),
        FieldErrors::default(),
        masked_secret(&bot.secret),
        None,
        StatusCode::OK,
    )
}

pub async fn create(
    db: web::Data<Db>,
    session: Session,
    policy: web::Data<TargetPolicy>,
    Editor(user): Editor,
    CsrfForm(form): CsrfForm<ChatbotForm>,
) -> Result<HttpResponse, AppError> {
    save(&db, &session, **policy, &user, None, form).await
}

pub async fn update(
    db: web::Data<Db>,
    session: Session,
    policy: web::Data<TargetPolicy>,
    Editor(user): Editor,
    path: web::Path<String>,
    CsrfForm(form): CsrfForm<ChatbotForm>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path)?;
    stored(&db, &user, &id).await?;
    save(&db, &session, **policy, &user, Some(id), form).await
}

async fn save(
    db: &Db,
    session: &Session,
    policy: TargetPolicy,
    user: &CurrentUser,
    id: Option<ChatbotId>,
    mut form: ChatbotForm,
) -> Result<HttpResponse, AppError> {
    let stored_secret = match &id {
        Some(id) => masked_secret(&stored(db, user, id).await?.secret),
        None => None,
    };
    let input = match form.parse(policy) {
        Ok(i) => i,
        Err(errors) => {
            // A typed key is never sent back to the browser.
            form.secret.clear();
            return form_page(
                session,
                user,
                id,
                form,
                errors,
                stored_secret,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    let (ws, who, target, saved) = (
        user.workspace_id.clone(),
        user.user_id.clone(),
        id.clone(),
        input.clone(),
    );
    match db
        .run(move |c| chatbots::save(c, &ws, &who, target.as_ref(), &saved))
        .await
    {
        Ok(_) => {
            let verb = if id.is_some() { "saved" } else { "created" };
            session::flash(
                session,
                Level::Success,
                format!("Chatbot “{}” {verb}.", input.name),
            );
            Ok(see_other("/chatbots"))
        }
        Err(e @ SaveError::NameTaken { .. }) => {
            let mut errors = FieldErrors::default();
            errors.add("name", e.to_string());
            form.secret.clear();
            form_page(
                session,
                user,
                id,
                form,
                errors,
                stored_secret,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(SaveError::Store(e)) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct PreviewQuery {
    #[serde(default)]
    id: String,
}

/// Renders the card template against the sample alert; saves nothing.
pub async fn preview(
    db: web::Data<Db>,
    session: Session,
    Editor(user): Editor,
    q: web::Query<PreviewQuery>,
    CsrfForm(mut form): CsrfForm<ChatbotForm>,
) -> Result<HttpResponse, AppError> {
    // Editing: the bot must be this workspace's, and the page still says a key is stored.
    let id = ChatbotId::parse(&q.id);
    let stored_secret = match &id {
        Some(id) => masked_secret(&stored(&db, &user, id).await?.secret),
        None => None,
    };
    let result = template::Template::parse(&form.card_template)
        .map_err(|e| format!("Template error at {e}"))
        .and_then(|t| {
            t.render(
                &template::sample_alert(),
                &RenderOptions {
                    escape: Escape::None,
                    ..RenderOptions::default()
                },
            )
            .map_err(|e| e.to_string())
        });
    form.secret.clear();
    form_page(
        &session,
        &user,
        id,
        form,
        FieldErrors::default(),
        stored_secret,
        Some(result),
        StatusCode::OK,
    )
}

/// Send test from the form, before saving: the form comes back with the platform's answer.
/// A blank key field means the stored key (when editing), as saving would.
pub async fn test_form(
    db: web::Data<Db>,
    session: Session,
    policy: web::Data<TargetPolicy>,
    Editor(user): Editor,
    q: web::Query<PreviewQuery>,
    CsrfForm(mut form): CsrfForm<ChatbotForm>,
) -> Result<HttpResponse, AppError> {
    let id = ChatbotId::parse(&q.id);
    let stored_key = match &id {
        Some(id) => stored(&db, &user, id).await?.secret,
        None => None,
    };
    let stored_secret = masked_secret(&stored_key);
    let input = match form.parse(**policy) {
        Ok(i) => i,
        Err(errors) => {
            form.secret.clear();
            return form_page(
                &session,
                &user,
                id,
                form,
                errors,
                stored_secret,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    let platform = Platform::parse(&input.platform).map_err(|e| AppError::BadRequest(e.into()))?;
    let secret = if input.clear_secret {
        None
    } else {
        input.secret.clone().or(stored_key)
    };
    let bot = Bot {
        platform,
        webhook_url: input.webhook_url.clone(),
        secret,
        keyword: input.keyword.clone(),
    };
    let client = outbound::client(**policy, TEST_TIMEOUT);
    let answer = chat::send(&client, **policy, &bot, &chat::test_message()).await;
    let retype_secret = input.secret.is_some();
    form.secret.clear();
    render(
        StatusCode::OK,
        &FormPage {
            layout: Layout::new(&session, &user),
            chatbot_id: id,
            form,
            errors: FieldErrors::default(),
            stored_secret,
            preview: None,
            test: Some(answer),
            retype_secret,
        },
    )
}

#[derive(Template)]
#[template(path = "chatbots/test.html")]
pub struct TestPage {
    pub layout: Layout,
    pub chatbot: Chatbot,
    pub answer: ChatAnswer,
}

/// Send test: a real test message in the platform's format, and the platform's answer.
pub async fn send_test(
    db: web::Data<Db>,
    session: Session,
    policy: web::Data<TargetPolicy>,
    Editor(user): Editor,
    path: web::Path<String>,
    _: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path)?;
    let bot = stored(&db, &user, &id).await?;
    let platform =
        Platform::parse(&bot.platform).map_err(|e| AppError::Other(anyhow::anyhow!(e)))?;
    let target = Bot {
        platform,
        webhook_url: bot.webhook_url.clone(),
        secret: bot.secret.clone(),
        keyword: bot.keyword.clone(),
    };
    let client = outbound::client(**policy, TEST_TIMEOUT);
    let answer = chat::send(&client, **policy, &target, &chat::test_message()).await;
    let status = if answer.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::BAD_GATEWAY
    };
    render(
        status,
        &TestPage {
            layout: Layout::new(&session, &user),
            chatbot: bot,
            answer,
        },
    )
}

pub async fn delete(
    db: web::Data<Db>,
    session: Session,
    Editor(user): Editor,
    path: web::Path<String>,
    _: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path)?;
    let bot = stored(&db, &user, &id).await?;
    let ws = user.workspace_id.clone();
    let policies = db.run(move |c| chatbots::delete(c, &ws, &id)).await?;
    let also = removed_from_policies(&policies);
    session::flash(
        &session,
        Level::Success,
        format!("Chatbot “{}” deleted.{also}", bot.name),
    );
    Ok(see_other("/chatbots"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_hh_mm() {
        assert_eq!(
            parse_times("18:30, 09:00,09:00"),
            Ok(vec!["09:00".to_string(), "18:30".to_string()])
        );
        assert_eq!(parse_times(""), Ok(vec![]));
        for bad in ["9:00", "24:00", "09:60", "0900", "noon"] {
            assert!(parse_times(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_times("00:00, 23:59").map(|t| t.len()), Ok(2));
    }

    #[test]
    fn secrets_are_masked() {
        let m = masked_secret(&Some("SECabcdef123456".into())).expect("set");
        assert!(m.starts_with("SEC") && !m.contains("abcdef"));
        assert_eq!(masked_secret(&None), None);
        let lark = masked_secret(&Some("q9Xz7randomLarkSecret".into())).expect("set");
        assert!(!lark.contains("q9X"), "{lark}");
    }
}
