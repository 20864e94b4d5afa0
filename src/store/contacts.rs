use chrono::NaiveDateTime;
use diesel::prelude::*;

use diesel::dsl::sql;
use diesel::sql_types::{Bool, Integer, Text};

use super::connection::MultiBackend;
use super::schema::{contacts, workspaces};
use super::{ContactId, DbConn, StoreError, StoreResult, WorkspaceId, now};
use crate::domain::{ContactName, EmailAddress, Fallback, ImUserId, Language, PhoneNumber};

/// A contact as the console shows it. Only the columns pages use: the list loads 20 of these
/// per view, and every column costs decoding (timestamps in SQLite are parsed text).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = contacts)]
pub struct Contact {
    pub id: ContactId,
    pub name: String,
    pub phone: Option<String>,
    pub phone_verified_at: Option<NaiveDateTime>,
    pub email: Option<String>,
    pub im_user_id: Option<String>,
    pub language: String,
    pub fallback: String,
}

impl Contact {
    pub fn phone(&self) -> Option<PhoneNumber> {
        self.phone.clone().map(PhoneNumber::from_trusted)
    }

    pub fn phone_verified(&self) -> bool {
        self.phone.is_some() && self.phone_verified_at.is_some()
    }

    pub fn language(&self) -> Language {
        Language::parse(&self.language).unwrap_or(Language::Auto)
    }

    pub fn fallback(&self) -> Fallback {
        Fallback::parse(&self.fallback).unwrap_or(Fallback::Default)
    }
}

/// A contact as validated from the form; the same shape creates and updates.
#[derive(Debug, Clone)]
pub struct ContactInput {
    pub name: ContactName,
    pub phone: Option<PhoneNumber>,
    pub email: Option<EmailAddress>,
    pub im_user_id: Option<ImUserId>,
    pub language: Language,
    pub fallback: Fallback,
}

/// Why a save was refused: another contact of the workspace already has the phone or email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conflict {
    Phone { other: String },
    Email { other: String },
}

#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("already used by another contact")]
    Conflicts(Vec<Conflict>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<super::DbError> for SaveError {
    fn from(e: super::DbError) -> Self {
        SaveError::Store(e.into())
    }
}

impl From<diesel::result::Error> for SaveError {
    fn from(e: diesel::result::Error) -> Self {
        SaveError::Store(e.into())
    }
}

pub const PAGE_SIZE: i64 = 20;

#[derive(Debug)]
pub struct Page {
    pub contacts: Vec<Contact>,
    pub total: i64,
    /// True when a search matched more than `SEARCH_COUNT_CAP` contacts (`total` is the cap).
    pub capped: bool,
    pub page: i64,
    pub pages: i64,
}

fn like_pattern(q: &str) -> String {
    let mut p = String::with_capacity(q.len() + 2);
    p.push('%');
    for ch in q.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(ch);
    }
    p.push('%');
    p
}

/// What a contact is found by: its lower-cased name, phone and email in one string.
pub fn search_text(input: &ContactInput) -> String {
    let mut s = input.name.as_str().to_lowercase();
    for part in [
        input.phone.as_ref().map(PhoneNumber::as_str),
        input.email.as_ref().map(EmailAddress::as_str),
    ]
    .into_iter()
    .flatten()
    {
        s.push('\n');
        s.push_str(part);
    }
    s
}

/// The search box's text as the substrings to look for: as typed (lower-cased), and for
/// phone-like input also without the spaces and dashes people type into numbers.
fn search_terms(q: &str) -> Vec<String> {
    let q = q.trim().to_lowercase();
    if q.is_empty() {
        return Vec::new();
    }
    let compact: String = q
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')'))
        .collect();
    let phone_like = compact.chars().all(|c| c.is_ascii_digit() || c == '+');
    if phone_like && compact != q && !compact.is_empty() {
        vec![q, compact]
    } else {
        vec![q]
    }
}

/// An FTS5 MATCH expression: each term a quoted phrase (trigram phrases match substrings).
fn fts_match(terms: &[String]) -> String {
    terms
        .iter()
        .map(|t| format!("\"{}\"", t.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(" OR ")
}

type Filter = Box<dyn BoxableExpression<contacts::table, MultiBackend, SqlType = Bool>>;

fn like_filter(terms: &[String]) -> Filter {
    let mut filter: Filter = Box::new(
        contacts::search_text
            .like(like_pattern(&terms[0]))
            .escape('\\'),
    );
    for t in &terms[1..] {
        filter = Box::new(filter.or(contacts::search_text.like(like_pattern(t)).escape('\\')));
    }
    filter
}

/// More matches than this are reported as "more than N": counting every match of a broad
/// search ("corp") on each page view costs more than the number is worth.
pub const SEARCH_COUNT_CAP: i64 = 1000;

/// Below this many index hits a search goes through the SQLite trigram index; above it a scan
/// in name order finds the first page sooner than collecting every hit.
const FTS_SELECTIVE: i64 = 500;

/// How a search finds its matches, decided once per page view.
enum Search {
    /// Ids from the SQLite trigram index, when the terms are selective.
    Ids(Vec<ContactId>),
    /// LIKE on search_text: PostgreSQL's pg_trgm GIN index serves it; on SQLite it scans the
    /// workspace's contacts in name order, which finds a page of a broad search quickly.
    Like(Vec<String>),
}

impl Search {
    fn plan(conn: &mut DbConn, terms: Vec<String>) -> StoreResult<Search> {
        // Trigram indexes only know substrings of three or more characters.
        let indexable = terms.iter().all(|t| t.chars().count() >= 3);
        if matches!(conn, DbConn::Sqlite(_)) && indexable {
            let ids: Vec<ContactId> =
                sql::<Text>("SELECT contact_id FROM contacts_search WHERE contacts_search MATCH ")
                    .bind::<Text, _>(fts_match(&terms))
                    .sql(&format!(" LIMIT {}", FTS_SELECTIVE + 1))
                    .load(conn)?;
            if ids.len() as i64 <= FTS_SELECTIVE {
                return Ok(Search::Ids(ids));
            }
        }
        Ok(Search::Like(terms))
    }

    fn filter(&self) -> Filter {
        match self {
            Search::Ids(ids) => Box::new(contacts::id.eq_any(ids.clone())),
            Search::Like(terms) => like_filter(terms),
        }
    }
}

fn pages_for(total: i64) -> i64 {
    ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1)
}

pub fn list(conn: &mut DbConn, ws: &WorkspaceId, q: &str, page: i64) -> StoreResult<Page> {
    let terms = search_terms(q);
    if terms.is_empty() {
        list_all(conn, ws, page)
    } else {
        let search = Search::plan(conn, terms)?;
        list_matching(conn, ws, &search, page)
    }
}

/// The unsearched list, the page everyone opens: one query brings the page and the
/// workspace's total (a round trip saved on PostgreSQL).
fn list_all(conn: &mut DbConn, ws: &WorkspaceId, page: i64) -> StoreResult<Page> {
    let load_page = |conn: &mut DbConn, page: i64| -> QueryResult<Vec<(Contact, Option<i64>)>> {
        let total = workspaces::table
            .find(ws)
            .select(workspaces::contact_count)
            .single_value();
        super::on_backend!(conn, |c| contacts::table
            .filter(contacts::workspace_id.eq(ws))
            .order((contacts::name.asc(), contacts::id.asc()))
            .limit(PAGE_SIZE)
            .offset((page.max(1) - 1) * PAGE_SIZE)
            .select((Contact::as_select(), total))
            .load(c))
    };
    let mut rows = load_page(conn, page)?;
    let total = match rows.first() {
        Some((_, total)) => total.unwrap_or_default(),
        // An empty workspace, or a page past the end: count, and show the last page.
        None => super::on_backend!(conn, |c| workspaces::table
            .find(ws)
            .select(workspaces::contact_count)
            .first::<i64>(c))?,
    };
    let pages = pages_for(total);
    let page = page.clamp(1, pages);
    if rows.is_empty() && total > 0 {
        rows = load_page(conn, page)?;
    }
    let contacts = rows.into_iter().map(|(contact, _)| contact).collect();
    Ok(Page {
        contacts,
        total,
        capped: false,
        page,
        pages,
    })
}

fn list_matching(
    conn: &mut DbConn,
    ws: &WorkspaceId,
    search: &Search,
    page: i64,
) -> StoreResult<Page> {
    let hits: Vec<i32> = contacts::table
        .filter(contacts::workspace_id.eq(ws))
        .filter(search.filter())
        .select(sql::<Integer>("1"))
        .limit(SEARCH_COUNT_CAP + 1)
        .into_boxed()
        .load(conn)?;
    let n = hits.len() as i64;
    let (total, capped) = (n.min(SEARCH_COUNT_CAP), n > SEARCH_COUNT_CAP);
    let pages = pages_for(total);
    let page = page.clamp(1, pages);
    let contacts = contacts::table
        .filter(contacts::workspace_id.eq(ws))
        .filter(search.filter())
        .order((contacts::name.asc(), contacts::id.asc()))
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
        .select(Contact::as_select())
        .into_boxed()
        .load(conn)?;
    Ok(Page {
        contacts,
        total,
        capped,
        page,
        pages,
    })
}

pub fn get(conn: &mut DbConn, ws: &WorkspaceId, id: &ContactId) -> StoreResult<Contact> {
    Ok(contacts::table
        .filter(contacts::workspace_id.eq(ws))
        .filter(contacts::id.eq(id))
        .select(Contact::as_select())
        .first(conn)?)
}

/// Other contacts of the workspace that already hold the phone or email of `input`.
fn conflicts(
    conn: &mut DbConn,
    ws: &WorkspaceId,
    except: Option<&ContactId>,
    input: &ContactInput,
) -> StoreResult<Vec<Conflict>> {
    let phone = input.phone.as_ref().map(|p| p.as_str().to_string());
    let email = input.email.as_ref().map(|e| e.as_str().to_string());
    if phone.is_none() && email.is_none() {
        return Ok(Vec::new());
    }
    let mut q = contacts::table
        .filter(contacts::workspace_id.eq(ws))
        .filter(
            contacts::phone
                .eq(phone.clone())
                .or(contacts::email.eq(email.clone())),
        )
        .select((contacts::name, contacts::phone, contacts::email))
        .into_boxed();
    if let Some(id) = except {
        q = q.filter(contacts::id.ne(id.clone()));
    }
    let rows: Vec<(String, Option<String>, Option<String>)> = q.load(conn)?;
    let mut found = Vec::new();
    for (name, p, e) in rows {
        if p.is_some() && p == phone {
            found.push(Conflict::Phone {
                other: name.clone(),
            });
        }
        if e.is_some() && e == email {
            found.push(Conflict::Email { other: name });
        }
    }
    Ok(found)
}

/// Runs `write` after checking for conflicts; a unique violation from a concurrent save is
/// turned back into the same conflict message.
fn save_checked(
    conn: &mut DbConn,
    ws: &WorkspaceId,
    except: Option<&ContactId>,
    input: &ContactInput,
    write: impl Fn(&mut DbConn) -> QueryResult<usize>,
) -> Result<usize, SaveError> {
    let result = conn.transaction(|c| {
        let found = conflicts(c, ws, except, input)?;
        if !found.is_empty() {
            return Err(SaveError::Conflicts(found));
        }
        Ok(write(c)?)
    });
    match result {
        Err(SaveError::Store(StoreError::Db(e))) if super::is_unique_violation(&e) => {
            let found = conflicts(conn, ws, except, input)?;
            Err(if found.is_empty() {
                SaveError::Store(StoreError::Db(e))
            } else {
                SaveError::Conflicts(found)
            })
        }
        other => other,
    }
}

pub fn create(
    conn: &mut DbConn,
    ws: &WorkspaceId,
    input: &ContactInput,
) -> Result<ContactId, SaveError> {
    let id = ContactId::new();
    let at = now();
    save_checked(conn, ws, None, input, |c| {
        diesel::insert_into(contacts::table)
            .values((
                contacts::id.eq(&id),
                contacts::workspace_id.eq(ws),
                contacts::name.eq(input.name.as_str()),
                contacts::phone.eq(input.phone.as_ref().map(PhoneNumber::as_str)),
                contacts::phone_verified_at.eq(None::<NaiveDateTime>),
                contacts::email.eq(input.email.as_ref().map(EmailAddress::as_str)),
                contacts::im_user_id.eq(input.im_user_id.as_ref().map(ImUserId::as_str)),
                contacts::language.eq(input.language.code()),
                contacts::fallback.eq(input.fallback.code()),
                contacts::search_text.eq(search_text(input)),
                contacts::created_at.eq(at),
                contacts::updated_at.eq(at),
            ))
            .execute(c)?;
        adjust_count(c, ws, 1)
    })?;
    Ok(id)
}

/// Updates a contact. A changed phone number loses its verification.
pub fn update(
    conn: &mut DbConn,
    ws: &WorkspaceId,
    id: &ContactId,
    input: &ContactInput,
) -> Result<(), SaveError> {
    let current = get(conn, ws, id)?;
    let phone = input.phone.as_ref().map(|p| p.as_str().to_string());
    let verified_at = if phone == current.phone {
        current.phone_verified_at
    } else {
        None
    };
    let n = save_checked(conn, ws, Some(id), input, |c| {
        diesel::update(
            contacts::table
                .filter(contacts::workspace_id.eq(ws))
                .filter(contacts::id.eq(id)),
        )
        .set((
            contacts::name.eq(input.name.as_str()),
            contacts::phone.eq(phone.clone()),
            contacts::phone_verified_at.eq(verified_at),
            contacts::email.eq(input.email.as_ref().map(EmailAddress::as_str)),
            contacts::im_user_id.eq(input.im_user_id.as_ref().map(ImUserId::as_str)),
            contacts::language.eq(input.language.code()),
            contacts::fallback.eq(input.fallback.code()),
            contacts::search_text.eq(search_text(input)),
            contacts::updated_at.eq(now()),
        ))
        .execute(c)
    })?;
    if n == 0 {
        return Err(SaveError::Store(StoreError::NotFound));
    }
    Ok(())
}

pub fn delete(conn: &mut DbConn, ws: &WorkspaceId, id: &ContactId) -> StoreResult<()> {
    conn.transaction(|c| {
        let n = diesel::delete(
            contacts::table
                .filter(contacts::workspace_id.eq(ws))
                .filter(contacts::id.eq(id)),
        )
        .execute(c)?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        adjust_count(c, ws, -1)?;
        Ok(())
    })
}

/// Keeps `workspaces.contact_count` in step; call in the transaction that adds or removes.
fn adjust_count(conn: &mut DbConn, ws: &WorkspaceId, by: i64) -> QueryResult<usize> {
    diesel::update(workspaces::table.find(ws))
        .set(workspaces::contact_count.eq(workspaces::contact_count + by))
        .execute(conn)
}
