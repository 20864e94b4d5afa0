//! Notification Objects › Schedules: on-call rotations. The list shows who is on duty now; a
//! schedule's page shows the next hand-offs, a two-week strip and its overrides (added and
//! removed there). A schedule a policy uses cannot be deleted; only its creator or an owner
//! may delete it.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use serde::Deserialize;

use super::auth::Visitor;
use super::csrf::{CheckedForm, CsrfForm};
use super::form::{
    self, Access, Console, Deletable, EditForm, EditScreen, Editing, FormScreen, Members, Named,
    PathId, Protected, Refused, Scope,
};
use super::layout::{FieldErrors, Layout, render};
use crate::domain::ObjectName;
use crate::domain::schedule::{self as rota, Day, Rotation, Span};
use crate::domain::settings::TimeZone;
use crate::error::AppError;
use crate::outbound::TargetPolicy;
use crate::store::contacts::{self, Contact};
use crate::store::schedules::{self, OverrideError, SaveError, Schedule, ScheduleInput};
use crate::store::{ContactId, Db, OverrideId, ScheduleId, StoreError, StoreResult, now};

/// Days the schedule page draws ahead.
const STRIP_DAYS: u32 = 14;
/// Hand-offs the schedule page lists.
const NEXT_HANDOFFS: usize = 5;
/// Empty participant rows under the chosen ones, so a form without JavaScript can grow.
const SPARE_ROWS: usize = 3;

/// How a schedule's times are written: in its own zone, to the minute.
fn at_in(tz: &TimeZone, t: NaiveDateTime) -> String {
    tz.show(t)
}

#[derive(Template)]
#[template(path = "schedules/index.html")]
pub struct IndexPage {
    pub layout: Layout,
    pub schedules: Vec<Schedule>,
    pub now: NaiveDateTime,
}

impl IndexPage {
    pub fn on_duty(&self, s: &Schedule) -> String {
        s.on_duty_line(self.now)
    }

    pub fn next(&self, s: &Schedule) -> String {
        match s.rules.next_handoffs(self.now, 1).first() {
            Some((t, who)) => format!("{} takes over {}", s.name_of(who), at_in(&s.rules.tz, *t)),
            None => "none".into(),
        }
    }
}

pub async fn index(db: web::Data<Db>, visitor: Visitor) -> Result<HttpResponse, AppError> {
    let page = |layout, schedules| IndexPage {
        layout,
        schedules,
        now: now(),
    };
    visitor.listing(&db, schedules::list, page).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ScheduleForm {
    pub name: String,
    pub time_zone: String,
    pub rotation: String,
    pub shift_hours: String,
    pub handoff: String,
    pub start_date: String,
    pub participants: Vec<String>,
}

#[derive(Template)]
#[template(path = "schedules/form.html")]
pub struct FormPage {
    pub layout: Layout,
    pub id: Option<String>,
    pub form: ScheduleForm,
    pub errors: FieldErrors,
    pub contacts: Vec<Contact>,
}

impl FormScreen for FormPage {
    type Form = ScheduleForm;
    type Choices = Vec<Contact>;

    fn choices(s: Scope<'_>, _: Option<&str>) -> StoreResult<Vec<Contact>> {
        contacts::all_matching(s.c, s.index, s.ws, "")
    }

    fn build(layout: Layout, editing: Editing<ScheduleForm>, contacts: Vec<Contact>) -> Self {
        let (id, mut form, errors) = editing.into_parts();
        // A new schedule starts in the workspace's zone, today there.
        if id.is_none() && errors.is_empty() {
            if form.time_zone.is_empty() {
                form.time_zone = layout.tz.name().to_string();
            }
            if form.start_date.is_empty() {
                form.start_date = layout.tz.local(now()).date().format("%Y-%m-%d").to_string();
            }
        }
        FormPage {
            layout,
            id,
            form,
            errors,
            contacts,
        }
    }
}

impl FormPage {
    pub fn action(&self) -> String {
        form::action("/schedules", self.id.as_ref())
    }

    /// One select per turn: the chosen ones in order, then a few empty rows.
    pub fn rows(&self) -> Vec<(usize, String)> {
        let chosen = self.form.participants.iter().filter(|p| !p.is_empty());
        chosen
            .cloned()
            .chain(std::iter::repeat_n(String::new(), SPARE_ROWS))
            .enumerate()
            .map(|(i, id)| (i + 1, id))
            .collect()
    }

    pub fn rotations(&self) -> [(&'static str, &'static str); 3] {
        [
            ("daily", "Daily"),
            ("weekly", "Weekly"),
            ("custom", "Custom shift length"),
        ]
    }
}

impl Named for ScheduleInput {
    fn name(&self) -> &str {
        self.name.as_str()
    }
}

impl EditForm for ScheduleForm {
    type Stored = Schedule;
    type Input = ScheduleInput;

    fn from_stored(s: &Schedule) -> Self {
        let r = &s.rules;
        ScheduleForm {
            name: s.name.clone(),
            time_zone: r.tz.name().to_string(),
            rotation: r.rotation.code().to_string(),
            shift_hours: r
                .rotation
                .hours()
                .map(|h| h.to_string())
                .unwrap_or_default(),
            handoff: r.handoff.format("%H:%M").to_string(),
            start_date: r.start.format("%Y-%m-%d").to_string(),
            participants: r.participants.iter().map(|c| c.to_string()).collect(),
        }
    }

    fn parse(&self, _: TargetPolicy) -> Result<ScheduleInput, FieldErrors> {
        let mut errors = FieldErrors::default();
        let name = ObjectName::parse(&self.name)
            .map_err(|e| errors.add("name", e))
            .ok();
        let tz = TimeZone::parse(&self.time_zone)
            .map_err(|e| errors.add("time_zone", e))
            .ok();
        let rotation = Rotation::parse(&self.rotation, &self.shift_hours)
            .map_err(|e| {
                let field = if self.rotation == "custom" {
                    "shift_hours"
                } else {
                    "rotation"
                };
                errors.add(field, e)
            })
            .ok();
        let handoff = NaiveTime::parse_from_str(self.handoff.trim(), "%H:%M")
            .map_err(|_| errors.add("handoff", "Enter the hand-off time as HH:MM, e.g. 09:00."))
            .ok();
        let start = NaiveDate::parse_from_str(self.start_date.trim(), "%Y-%m-%d")
            .map_err(|_| errors.add("start_date", "Enter the first day as YYYY-MM-DD."))
            .ok();
        let participants: Option<Vec<ContactId>> = self
            .participants
            .iter()
            .filter(|p| !p.is_empty())
            .map(|p| ContactId::parse(p))
            .collect();
        match &participants {
            None => errors.add("participants", SaveError::UnknownContact.to_string()),
            Some(p) if p.is_empty() => errors.add(
                "participants",
                "Choose at least one participant: who takes the first turn?",
            ),
            Some(_) => {}
        }
        match (name, tz, rotation, handoff, start, participants) {
            (
                Some(name),
                Some(tz),
                Some(rotation),
                Some(handoff),
                Some(start),
                Some(participants),
            ) if errors.is_empty() => Ok(ScheduleInput {
                name,
                tz,
                rotation,
                handoff,
                start,
                participants,
            }),
            _ => Err(errors),
        }
    }
}

impl EditScreen for FormPage {
    const BASE: &'static str = "/schedules";
    const NOUN: &'static str = "Schedule";

    fn blank() -> ScheduleForm {
        ScheduleForm {
            rotation: "weekly".into(),
            handoff: "09:00".into(),
            ..ScheduleForm::default()
        }
    }

    fn save(
        s: Scope<'_>,
        id: Option<&ScheduleId>,
        input: &ScheduleInput,
    ) -> Result<Vec<String>, Refused> {
        match schedules::save(s.c, s.ws, &s.user.user_id, id, input) {
            Ok(_) => Ok(Vec::new()),
            Err(SaveError::Store(e)) => Err(Refused::Store(e)),
            Err(e @ SaveError::NameTaken(_)) => {
                Err(Refused::Fields(FieldErrors::one("name", e.to_string())))
            }
            Err(e @ SaveError::UnknownContact) => Err(Refused::Fields(FieldErrors::one(
                "participants",
                e.to_string(),
            ))),
        }
    }
}

/// The override form on a schedule's page, as submitted.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct OverrideForm {
    pub who: String,
    pub from: String,
    pub until: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RemoveOverride {
    #[serde(rename = "override")]
    pub id: String,
}

#[derive(Template)]
#[template(path = "schedules/show.html")]
pub struct ShowPage {
    pub layout: Layout,
    pub schedule: Schedule,
    pub contacts: Vec<Contact>,
    pub now: NaiveDateTime,
    pub days: Vec<Day>,
    pub next: Vec<(NaiveDateTime, ContactId)>,
    pub form: OverrideForm,
    pub errors: FieldErrors,
}

impl ShowPage {
    pub fn at(&self, t: &NaiveDateTime) -> String {
        at_in(&self.schedule.rules.tz, *t)
    }

    pub fn name(&self, who: &ContactId) -> &str {
        self.schedule.name_of(who)
    }

    pub fn on_duty(&self) -> String {
        self.schedule.on_duty_line(self.now)
    }

    /// A colour per participant (by first turn), so a person looks the same every day.
    pub fn tone(&self, who: &ContactId) -> usize {
        let turns = &self.schedule.rules.participants;
        turns.iter().position(|p| p == who).unwrap_or(turns.len()) % 6
    }

    /// `09:00–21:00` in the schedule's zone; a span that runs to midnight ends at `24:00`.
    pub fn hours(&self, day: &Day, span: &Span) -> String {
        let tz = &self.schedule.rules.tz;
        let from = tz.local(span.from);
        let until = tz.local(span.until);
        let end = if until.date() > day.date {
            "24:00".to_string()
        } else {
            until.format("%H:%M").to_string()
        };
        format!("{}–{end}", from.format("%H:%M"))
    }

    pub fn weekday(&self, day: &Day) -> String {
        day.date.format("%a %-d %b").to_string()
    }

    /// Overrides still to come or running, in the order they were added.
    pub fn current_overrides(&self) -> impl Iterator<Item = &schedules::OverrideEntry> {
        self.schedule
            .overrides
            .iter()
            .filter(|o| o.until > self.now)
    }

    /// Where a span is drawn: its share of the day as a CSS width.
    pub fn width(&self, day: &Day, span: &Span) -> String {
        let p = day.permille(span);
        format!("{}.{}%", p / 10, p % 10)
    }

    pub fn is_today(&self, day: &Day) -> bool {
        self.schedule.rules.tz.local(self.now).date() == day.date
    }
}

async fn show_page<A: Access>(
    console: &Console<A>,
    id: ScheduleId,
    form: OverrideForm,
    errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    let index = console.contact_index();
    let (schedule, contacts) = console
        .run(move |c, user| {
            let ws = &user.workspace_id;
            let schedule = schedules::get(c, ws, &id)?;
            Ok::<_, StoreError>((schedule, contacts::all_matching(c, &index, ws, "")?))
        })
        .await?;
    let at = now();
    let tz = schedule.rules.tz;
    let days = schedule.rules.days(tz.local(at).date(), STRIP_DAYS);
    let next = schedule.rules.next_handoffs(at, NEXT_HANDOFFS);
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let form = if form.from.is_empty() && form.until.is_empty() && errors.is_empty() {
        // Proposed: from the next whole hour, for a day.
        let soon = tz.local(at) + Duration::hours(1);
        let start = soon.date().and_hms_opt(soon.hour(), 0, 0).unwrap_or(soon);
        OverrideForm {
            from: start.format("%Y-%m-%dT%H:%M").to_string(),
            until: (start + Duration::days(1))
                .format("%Y-%m-%dT%H:%M")
                .to_string(),
            ..form
        }
    } else {
        form
    };
    render(
        status,
        &ShowPage {
            layout: console.layout(),
            schedule,
            contacts,
            now: at,
            days,
            next,
            form,
            errors,
        },
    )
}

pub async fn show(
    console: Console<Members>,
    PathId(id): PathId<ScheduleId>,
) -> Result<HttpResponse, AppError> {
    show_page(
        &console,
        id,
        OverrideForm::default(),
        FieldErrors::default(),
    )
    .await
}

pub async fn add_override(
    console: Console,
    PathId(id): PathId<ScheduleId>,
    CheckedForm { form, refused }: CheckedForm<OverrideForm>,
) -> Result<HttpResponse, AppError> {
    let lookup = id.clone();
    let schedule = console
        .run(move |c, user| schedules::get(c, &user.workspace_id, &lookup))
        .await?;
    let mut errors = refused;
    let who = ContactId::parse(&form.who);
    if who.is_none() {
        errors.add("who", OverrideError::UnknownContact.to_string());
    }
    let times = rota::cover_times(&schedule.rules.tz, &form.from, &form.until, now())
        .map_err(|problems| {
            for p in problems {
                errors.add(p.field, p.message);
            }
        })
        .ok();
    let (Some(who), Some((from, until))) = (who, times) else {
        return show_page(&console, id, form, errors).await;
    };
    if !errors.is_empty() {
        return show_page(&console, id, form, errors).await;
    }
    let target = id.clone();
    let added = console
        .run(move |c, user| {
            let ws = &user.workspace_id;
            schedules::add_override(c, ws, &target, &who, from, until)?;
            // Read back: the schedule now knows the name of whoever covers.
            let name = schedules::get(c, ws, &target)?.name_of(&who).to_string();
            Ok::<_, OverrideError>(name)
        })
        .await;
    match added {
        Ok(who) => {
            let tz = &schedule.rules.tz;
            let message = format!(
                "Override added: {who} covers “{}” from {} to {}.",
                schedule.name,
                at_in(tz, from),
                at_in(tz, until)
            );
            Ok(console.done(message, &format!("/schedules/{id}")))
        }
        Err(e @ OverrideError::UnknownContact) => {
            show_page(&console, id, form, FieldErrors::one("who", e.to_string())).await
        }
        Err(OverrideError::Store(e)) => Err(e.into()),
    }
}

pub async fn remove_override(
    console: Console,
    PathId(id): PathId<ScheduleId>,
    CsrfForm(form): CsrfForm<RemoveOverride>,
) -> Result<HttpResponse, AppError> {
    let oid = OverrideId::parse(&form.id).ok_or(AppError::NotFound)?;
    let target = id.clone();
    console
        .run(move |c, user| schedules::remove_override(c, &user.workspace_id, &target, &oid))
        .await?;
    Ok(console.done("Override removed.", &format!("/schedules/{id}")))
}

/// A policy's use protects it from deletion: the confirmation page names those policies.
pub struct Schedules;

impl Protected for Schedules {}

impl Deletable for Schedules {
    type Stored = Schedule;
    const BASE: &'static str = "/schedules";
    const NOUN: &'static str = "schedule";

    fn describe(s: &Schedule) -> (String, String) {
        let n = s.rules.participants.len();
        let plural = if n == 1 { "" } else { "s" };
        let what = format!(
            "{n} turn{plural} and its overrides are deleted. The contacts themselves are kept."
        );
        (s.name.clone(), what)
    }
}
