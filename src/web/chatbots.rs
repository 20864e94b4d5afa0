//! Notification Objects › Chatbots: DingTalk, Lark, WeCom and Slack group robots. Signature
//! keys are write-only: the page shows that one is set, never what it is.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::auth::Visitor;
use super::csrf::{CheckedForm, CsrfForm, NoFields};
use super::form::{
    self, Console, Deletable, EditForm, EditScreen, Editing, EditingQuery, FormScreen, Named,
    PathId, Refused, Removable, Scope,
};
use super::layout::{FieldErrors, Layout, render};
use crate::channels::chat::{self, Bot, ChatAnswer};
use crate::domain::ObjectName;
use crate::domain::Platform;
use crate::error::AppError;
use crate::outbound::{self, TargetPolicy};
use crate::store::bind_links;
use crate::store::chatbots::{self, Chatbot, ChatbotInput};
use crate::store::{ChatbotId, Db, StoreResult};
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
        b.platform.label()
    }

    pub fn secret(&self, b: &Chatbot) -> Option<String> {
        masked_secret(&b.secret)
    }
}

pub async fn index(db: web::Data<Db>, visitor: Visitor) -> Result<HttpResponse, AppError> {
    let page = |layout, chatbots| IndexPage { layout, chatbots };
    visitor.listing(&db, chatbots::list, page).await
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

impl Named for ChatbotInput {
    fn name(&self) -> &str {
        &self.name
    }
}

impl EditForm for ChatbotForm {
    type Stored = Chatbot;
    type Input = ChatbotInput;

    fn from_stored(b: &Chatbot) -> Self {
        ChatbotForm {
            platform: b.platform.code().to_string(),
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

    fn parse(&self, policy: TargetPolicy) -> Result<ChatbotInput, FieldErrors> {
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
                platform,
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
    pub id: Option<String>,
    /// The values as typed, the signature key too: a key typed before Preview, Send test or a
    /// refused save stays in the field (this page is never shown after a save).
    pub form: ChatbotForm,
    pub errors: FieldErrors,
    /// What is stored, masked; None when no key is stored.
    pub stored_secret: Option<String>,
    pub preview: Option<Result<String, String>>,
    /// The platform's answer to Send test with the form's values, before saving.
    pub test: Option<ChatAnswer>,
    /// The path of the bot's "Bind mobile phone number" link, when editing.
    pub bind_link: Option<String>,
}

impl FormScreen for FormPage {
    type Form = ChatbotForm;
    /// The stored key of the bot being edited, and its bind link.
    type Choices = (Option<String>, Option<String>);

    fn choices(s: Scope<'_>, id: Option<&str>) -> StoreResult<Self::Choices> {
        match id.and_then(ChatbotId::parse) {
            Some(id) => {
                let secret = chatbots::get(s.c, s.ws, &id)?.secret;
                let key = bind_links::key(s.c)?;
                let token = bind_links::token_of(s.c, &key, &id)?;
                Ok((secret, Some(format!("/b/{token}"))))
            }
            None => Ok((None, None)),
        }
    }

    fn build(
        layout: Layout,
        editing: Editing<ChatbotForm>,
        (stored, bind_link): Self::Choices,
    ) -> Self {
        let (id, form, errors) = editing.into_parts();
        FormPage {
            layout,
            id,
            form,
            errors,
            bind_link,
            stored_secret: masked_secret(&stored),
            preview: None,
            test: None,
        }
    }
}

impl FormPage {
    pub fn action(&self) -> String {
        form::action("/chatbots", self.id.as_ref())
    }

    pub fn platforms(&self) -> &'static [Platform] {
        &Platform::ALL
    }
}

impl EditScreen for FormPage {
    const BASE: &'static str = "/chatbots";
    const NOUN: &'static str = "Chatbot";

    fn blank() -> ChatbotForm {
        ChatbotForm {
            platform: Platform::DingTalk.code().into(),
            // The seeds' default security keyword.
            keyword: "Alert".into(),
            ..Default::default()
        }
    }

    fn save(
        s: Scope<'_>,
        id: Option<&ChatbotId>,
        bot: &ChatbotInput,
    ) -> Result<Vec<String>, Refused> {
        form::saved(chatbots::save(s.c, s.ws, &s.user.user_id, id, bot))
    }
}

/// Renders the card template against the sample alert; saves nothing.
pub async fn preview(
    console: Console,
    q: web::Query<EditingQuery>,
    CheckedForm { form, refused }: CheckedForm<ChatbotForm>,
) -> Result<HttpResponse, AppError> {
    let id = q.id::<ChatbotId>();
    if let Some(id) = &id {
        form::stored::<FormPage>(&console, id).await?;
    }
    if let Err(errors) = form::checked::<FormPage, ()>(refused, Ok(())) {
        return console
            .form::<FormPage>(Editing::of(id.as_ref(), form).with_errors(errors))
            .await;
    }
    let result = template::Template::parse(&form.card_template)
        .map_err(|e| format!("Template error at {e}"))
        .and_then(|t| {
            let plain = RenderOptions {
                escape: Escape::None,
                ..RenderOptions::default()
            };
            t.render(&template::sample_alert(), &plain)
                .map_err(|e| e.to_string())
        });
    console
        .form_with::<FormPage>(Editing::of(id.as_ref(), form), |page| {
            page.preview = Some(result)
        })
        .await
}

/// Send test from the form, before saving: the form comes back with the platform's answer.
/// A blank key field means the stored key (when editing), as saving would.
pub async fn test_form(
    console: Console,
    policy: web::Data<TargetPolicy>,
    q: web::Query<EditingQuery>,
    CheckedForm { form, refused }: CheckedForm<ChatbotForm>,
) -> Result<HttpResponse, AppError> {
    let id = q.id::<ChatbotId>();
    let stored_key = match &id {
        Some(id) => form::stored::<FormPage>(&console, id).await?.secret,
        None => None,
    };
    let editing = Editing::of(id.as_ref(), form);
    let input = match form::checked::<FormPage, _>(refused, editing.form.parse(**policy)) {
        Ok(i) => i,
        Err(errors) => return console.form::<FormPage>(editing.with_errors(errors)).await,
    };
    let secret = if input.clear_secret {
        None
    } else {
        input.secret.clone().or(stored_key)
    };
    let bot = Bot {
        platform: input.platform,
        webhook_url: input.webhook_url.clone(),
        secret,
        keyword: input.keyword.clone(),
    };
    let answer = send_test_message(**policy, &bot).await;
    console
        .form_with::<FormPage>(editing, |page| page.test = Some(answer))
        .await
}

async fn send_test_message(policy: TargetPolicy, bot: &Bot) -> ChatAnswer {
    let client = outbound::client(policy, TEST_TIMEOUT);
    chat::send(&client, policy, bot, &chat::test_message()).await
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
    console: Console,
    policy: web::Data<TargetPolicy>,
    PathId(id): PathId<ChatbotId>,
    _: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let bot = form::stored::<FormPage>(&console, &id).await?;
    let target = Bot {
        platform: bot.platform,
        webhook_url: bot.webhook_url.clone(),
        secret: bot.secret.clone(),
        keyword: bot.keyword.clone(),
    };
    let answer = send_test_message(**policy, &target).await;
    let status = if answer.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::BAD_GATEWAY
    };
    render(
        status,
        &TestPage {
            layout: console.layout(),
            chatbot: bot,
            answer,
        },
    )
}

/// A new bind link: the one on earlier cards (and anywhere it was shared) stops working.
pub async fn rotate_bind_link(
    console: Console,
    PathId(id): PathId<ChatbotId>,
    _: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let to = format!("/chatbots/{id}/edit");
    console
        .run(move |c, user| bind_links::rotate(c, &user.workspace_id, &id))
        .await?;
    Ok(console.done(
        "New bind link made: links on earlier alert cards no longer work.",
        &to,
    ))
}

/// Deleting takes it out of the policies that use it: the confirmation page names them.
pub struct Chatbots;

impl Removable for Chatbots {}

impl Deletable for Chatbots {
    type Stored = Chatbot;
    const BASE: &'static str = "/chatbots";
    const NOUN: &'static str = "chatbot";

    fn describe(b: &Chatbot) -> (String, String) {
        let what = format!(
            "{} · alerts stop arriving in this group chat.",
            b.platform.label()
        );
        (b.name.clone(), what)
    }
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
