//! On-call schedules: their rotation, participants in order, and overrides.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use diesel::prelude::*;

use super::schema::{contacts, schedule_overrides, schedule_participants, schedules};
use super::{
    ContactId, DbConn, OverrideId, ScheduleId, StoreError, StoreResult, UserId, WorkspaceId, now,
};
use crate::domain::ObjectName;
use crate::domain::policy::Target;
use crate::domain::schedule::{self, Override, Rotation};
use crate::domain::settings::TimeZone;

/// An override as the schedule page lists it.
#[derive(Debug, Clone)]
pub struct OverrideEntry {
    pub id: OverrideId,
    pub who: ContactId,
    pub from: NaiveDateTime,
    pub until: NaiveDateTime,
}

#[derive(Debug, Clone)]
pub struct Schedule {
    pub id: ScheduleId,
    pub name: String,
    pub created_by: Option<UserId>,
    /// Who is on duty when: the rotation, the participants and the overrides.
    pub rules: schedule::Schedule,
    pub overrides: Vec<OverrideEntry>,
    /// The names of the participants and of those covering in overrides.
    pub names: BTreeMap<ContactId, String>,
}

impl Schedule {
    pub fn name_of(&self, id: &ContactId) -> &str {
        self.names
            .get(id)
            .map(String::as_str)
            .unwrap_or("(deleted)")
    }

    /// "on duty now: Ana", or why nobody is.
    pub fn on_duty_line(&self, at: NaiveDateTime) -> String {
        match self.rules.on_duty(at) {
            Some(who) => format!("on duty now: {}", self.name_of(who)),
            None if self.rules.participants.is_empty() => "nobody in the rotation".into(),
            None => "nobody on duty now (it starts later)".into(),
        }
    }
}

/// A schedule as its form saves it.
#[derive(Debug, Clone)]
pub struct ScheduleInput {
    pub name: ObjectName,
    pub tz: TimeZone,
    pub rotation: Rotation,
    pub handoff: NaiveTime,
    pub start: NaiveDate,
    /// In rotation order; a contact may take several turns.
    pub participants: Vec<ContactId>,
}

#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("Another schedule is already called “{0}”.")]
    NameTaken(String),
    #[error("Choose participants from the workspace's contacts.")]
    UnknownContact,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, thiserror::Error)]
pub enum OverrideError {
    #[error("Choose who covers from the workspace's contacts.")]
    UnknownContact,
    #[error(transparent)]
    Store(#[from] StoreError),
}

super::wraps_store_error!(SaveError, OverrideError);

/// Overrides that ended this long ago are dropped when a new one is added: they no longer
/// change who is on duty, and the page shows two weeks ahead.
const KEEP_ENDED_OVERRIDES_DAYS: i64 = 30;

/// id, name, time zone, rotation, hand-off, start date, created by.
type ScheduleRow = (
    ScheduleId,
    String,
    String,
    String,
    String,
    String,
    Option<UserId>,
);

/// A stored column that does not parse: an error naming the schedule, never a default (a
/// default would page the wrong person).
fn undecodable(id: &ScheduleId, column: &str, value: &str, why: String) -> StoreError {
    tracing::error!(schedule = %id, column, value, why, "stored schedule does not decode");
    StoreError::Db(diesel::result::Error::DeserializationError(
        format!("schedule {id}: stored {column} {value:?} does not decode: {why}").into(),
    ))
}

fn load_rows(conn: &mut DbConn, rows: Vec<ScheduleRow>) -> StoreResult<Vec<Schedule>> {
    let ids: Vec<&ScheduleId> = rows.iter().map(|r| &r.0).collect();
    let mut turns: BTreeMap<ScheduleId, Vec<(ContactId, String)>> = BTreeMap::new();
    let mut covers: BTreeMap<ScheduleId, Vec<(OverrideEntry, String)>> = BTreeMap::new();
    for chunk in ids.chunks(500) {
        let found: Vec<(ScheduleId, ContactId, String)> = schedule_participants::table
            .inner_join(contacts::table)
            .filter(schedule_participants::schedule_id.eq_any(chunk.iter().copied()))
            .order((
                schedule_participants::schedule_id.asc(),
                schedule_participants::position.asc(),
            ))
            .select((
                schedule_participants::schedule_id,
                contacts::id,
                contacts::name,
            ))
            .load(conn)?;
        for (s, c, name) in found {
            turns.entry(s).or_default().push((c, name));
        }
        let found: Vec<(
            ScheduleId,
            OverrideId,
            ContactId,
            String,
            NaiveDateTime,
            NaiveDateTime,
        )> = schedule_overrides::table
            .inner_join(contacts::table)
            .filter(schedule_overrides::schedule_id.eq_any(chunk.iter().copied()))
            .order((
                schedule_overrides::created_at.asc(),
                schedule_overrides::id.asc(),
            ))
            .select((
                schedule_overrides::schedule_id,
                schedule_overrides::id,
                contacts::id,
                contacts::name,
                schedule_overrides::starts_at,
                schedule_overrides::ends_at,
            ))
            .load(conn)?;
        for (s, id, who, name, from, until) in found {
            covers.entry(s).or_default().push((
                OverrideEntry {
                    id,
                    who,
                    from,
                    until,
                },
                name,
            ));
        }
    }
    rows.into_iter()
        .map(|(id, name, tz, rotation, handoff, start, created_by)| {
            let tz = TimeZone::parse(&tz).map_err(|e| undecodable(&id, "time_zone", &tz, e))?;
            let rotation = Rotation::from_stored(&rotation)
                .map_err(|e| undecodable(&id, "rotation", &rotation, e))?;
            let handoff = NaiveTime::parse_from_str(&handoff, "%H:%M")
                .map_err(|e| undecodable(&id, "handoff", &handoff, e.to_string()))?;
            let start = NaiveDate::parse_from_str(&start, "%Y-%m-%d")
                .map_err(|e| undecodable(&id, "start_date", &start, e.to_string()))?;
            let mut names = BTreeMap::new();
            let participants = turns
                .remove(&id)
                .unwrap_or_default()
                .into_iter()
                .map(|(c, n)| {
                    names.insert(c.clone(), n);
                    c
                })
                .collect();
            let overrides: Vec<OverrideEntry> = covers
                .remove(&id)
                .unwrap_or_default()
                .into_iter()
                .map(|(o, n)| {
                    names.insert(o.who.clone(), n);
                    o
                })
                .collect();
            Ok(Schedule {
                rules: schedule::Schedule {
                    tz,
                    participants,
                    rotation,
                    handoff,
                    start,
                    overrides: overrides
                        .iter()
                        .map(|o| Override {
                            who: o.who.clone(),
                            from: o.from,
                            until: o.until,
                        })
                        .collect(),
                },
                id,
                name,
                created_by,
                overrides,
                names,
            })
        })
        .collect()
}

fn columns() -> (
    schedules::id,
    schedules::name,
    schedules::time_zone,
    schedules::rotation,
    schedules::handoff,
    schedules::start_date,
    schedules::created_by,
) {
    (
        schedules::id,
        schedules::name,
        schedules::time_zone,
        schedules::rotation,
        schedules::handoff,
        schedules::start_date,
        schedules::created_by,
    )
}

/// The workspace's schedules in name order.
pub fn list(conn: &mut DbConn, ws: &WorkspaceId) -> StoreResult<Vec<Schedule>> {
    let rows: Vec<ScheduleRow> = schedules::table
        .filter(schedules::workspace_id.eq(ws))
        .order((schedules::name_key.asc(), schedules::id.asc()))
        .select(columns())
        .load(conn)?;
    load_rows(conn, rows)
}

super::named::lookup_by_get!(Schedule, ScheduleId);
super::named::protected_object_delete!(schedules, Schedule, ScheduleId, Target::Schedule);
pub use super::named::DeleteError;

pub fn get(conn: &mut DbConn, ws: &WorkspaceId, id: &ScheduleId) -> StoreResult<Schedule> {
    let row: ScheduleRow = schedules::table
        .filter(schedules::workspace_id.eq(ws))
        .filter(schedules::id.eq(id))
        .select(columns())
        .first(conn)?;
    load_rows(conn, vec![row])?
        .pop()
        .ok_or(StoreError::NotFound)
}

/// Whether every one of `ids` is a contact of the workspace.
fn all_contacts(conn: &mut DbConn, ws: &WorkspaceId, ids: &[&ContactId]) -> StoreResult<bool> {
    let mut wanted: Vec<&ContactId> = ids.to_vec();
    wanted.sort();
    wanted.dedup();
    let mut known = 0usize;
    for chunk in wanted.chunks(500) {
        known += contacts::table
            .filter(contacts::workspace_id.eq(ws))
            .filter(contacts::id.eq_any(chunk.iter().copied()))
            .count()
            .get_result::<i64>(conn)? as usize;
    }
    Ok(known == wanted.len())
}

fn name_taken(
    conn: &mut DbConn,
    ws: &WorkspaceId,
    name: &ObjectName,
    except: Option<&ScheduleId>,
) -> StoreResult<bool> {
    let mut q = schedules::table
        .filter(schedules::workspace_id.eq(ws))
        .filter(schedules::name_key.eq(name.as_str().to_lowercase()))
        .select(schedules::id)
        .into_boxed();
    if let Some(id) = except {
        q = q.filter(schedules::id.ne(id.clone()));
    }
    Ok(q.first::<ScheduleId>(conn).optional()?.is_some())
}

fn set_participants(conn: &mut DbConn, id: &ScheduleId, who: &[ContactId]) -> QueryResult<()> {
    diesel::delete(schedule_participants::table.filter(schedule_participants::schedule_id.eq(id)))
        .execute(conn)?;
    for (position, c) in (0i32..).zip(who) {
        diesel::insert_into(schedule_participants::table)
            .values((
                schedule_participants::schedule_id.eq(id),
                schedule_participants::position.eq(position),
                schedule_participants::contact_id.eq(c),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Creates (`id` None) or updates the schedule; a concurrent save of the same name reads as
/// the same message as a name found taken.
pub fn save(
    conn: &mut DbConn,
    ws: &WorkspaceId,
    user: &UserId,
    id: Option<&ScheduleId>,
    input: &ScheduleInput,
) -> Result<ScheduleId, SaveError> {
    let target = id.cloned().unwrap_or_else(ScheduleId::new);
    let name = &input.name;
    super::write_transaction(conn, |c| {
        if name_taken(c, ws, name, id)? {
            return Err(SaveError::NameTaken(name.as_str().to_string()));
        }
        let who: Vec<&ContactId> = input.participants.iter().collect();
        if !all_contacts(c, ws, &who)? {
            return Err(SaveError::UnknownContact);
        }
        let at = now();
        let (tz, rotation) = (input.tz.name(), input.rotation.stored());
        let handoff = input.handoff.format("%H:%M").to_string();
        let start = input.start.format("%Y-%m-%d").to_string();
        let key = name.as_str().to_lowercase();
        if id.is_some() {
            let n = diesel::update(
                schedules::table
                    .filter(schedules::workspace_id.eq(ws))
                    .filter(schedules::id.eq(&target)),
            )
            .set((
                schedules::name.eq(name.as_str()),
                schedules::name_key.eq(&key),
                schedules::time_zone.eq(tz),
                schedules::rotation.eq(&rotation),
                schedules::handoff.eq(&handoff),
                schedules::start_date.eq(&start),
                schedules::updated_at.eq(at),
            ))
            .execute(c)?;
            if n == 0 {
                return Err(SaveError::Store(StoreError::NotFound));
            }
        } else {
            diesel::insert_into(schedules::table)
                .values((
                    schedules::id.eq(&target),
                    schedules::workspace_id.eq(ws),
                    schedules::name.eq(name.as_str()),
                    schedules::name_key.eq(&key),
                    schedules::time_zone.eq(tz),
                    schedules::rotation.eq(&rotation),
                    schedules::handoff.eq(&handoff),
                    schedules::start_date.eq(&start),
                    schedules::created_by.eq(Some(user)),
                    schedules::created_at.eq(at),
                    schedules::updated_at.eq(at),
                ))
                .execute(c)?;
        }
        set_participants(c, &target, &input.participants)?;
        Ok(())
    })
    .map_err(|e| match e {
        SaveError::Store(StoreError::Db(db)) if super::is_unique_violation(&db) => {
            SaveError::NameTaken(name.as_str().to_string())
        }
        other => other,
    })?;
    Ok(target)
}

/// `who` covers the schedule from `from` to `until` (UTC).
pub fn add_override(
    conn: &mut DbConn,
    ws: &WorkspaceId,
    id: &ScheduleId,
    who: &ContactId,
    from: NaiveDateTime,
    until: NaiveDateTime,
) -> Result<OverrideId, OverrideError> {
    let oid = OverrideId::new();
    super::write_transaction(conn, |c| {
        // The schedule must be the workspace's (404 otherwise).
        schedules::table
            .filter(schedules::workspace_id.eq(ws))
            .filter(schedules::id.eq(id))
            .select(schedules::id)
            .first::<ScheduleId>(c)?;
        if !all_contacts(c, ws, &[who])? {
            return Err(OverrideError::UnknownContact);
        }
        let at = now();
        diesel::delete(
            schedule_overrides::table
                .filter(schedule_overrides::schedule_id.eq(id))
                .filter(
                    schedule_overrides::ends_at
                        .lt(at - chrono::Duration::days(KEEP_ENDED_OVERRIDES_DAYS)),
                ),
        )
        .execute(c)?;
        diesel::insert_into(schedule_overrides::table)
            .values((
                schedule_overrides::id.eq(&oid),
                schedule_overrides::schedule_id.eq(id),
                schedule_overrides::contact_id.eq(who),
                schedule_overrides::starts_at.eq(from),
                schedule_overrides::ends_at.eq(until),
                schedule_overrides::created_at.eq(at),
            ))
            .execute(c)?;
        Ok(oid.clone())
    })
}

/// Removes one override of the workspace's schedule `id`; NotFound when there is no such one.
pub fn remove_override(
    conn: &mut DbConn,
    ws: &WorkspaceId,
    id: &ScheduleId,
    override_id: &OverrideId,
) -> StoreResult<()> {
    super::write_transaction(conn, |c| {
        schedules::table
            .filter(schedules::workspace_id.eq(ws))
            .filter(schedules::id.eq(id))
            .select(schedules::id)
            .first::<ScheduleId>(c)?;
        let n = diesel::delete(
            schedule_overrides::table
                .filter(schedule_overrides::schedule_id.eq(id))
                .filter(schedule_overrides::id.eq(override_id)),
        )
        .execute(c)?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    })
}

/// The names of the schedules `contact` takes turns in or covers an override of, in name
/// order: deleting the contact takes them out of these.
pub fn names_with_contact(
    conn: &mut DbConn,
    ws: &WorkspaceId,
    contact: &ContactId,
) -> StoreResult<Vec<String>> {
    let turns = schedule_participants::table
        .filter(schedule_participants::contact_id.eq(contact))
        .select(schedule_participants::schedule_id);
    let covers = schedule_overrides::table
        .filter(schedule_overrides::contact_id.eq(contact))
        .select(schedule_overrides::schedule_id);
    Ok(schedules::table
        .filter(schedules::workspace_id.eq(ws))
        .filter(schedules::id.eq_any(turns).or(schedules::id.eq_any(covers)))
        .order((schedules::name_key.asc(), schedules::id.asc()))
        .select(schedules::name)
        .load(conn)?)
}
