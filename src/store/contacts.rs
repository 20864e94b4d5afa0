use chrono::NaiveDateTime;
use diesel::prelude::*;

use std::sync::Arc;

use super::contact_index::{ContactIndex, Snapshot};
use super::schema::{contacts, workspaces};
use super::{ContactId, DbConn, StoreError, StoreResult, WorkspaceId, now};
use crate::domain::{
    ContactMethod, ContactName, EmailAddress, Fallback, ImUserId, Language, PhoneNumber,
};

pub use super::contact_row::{Contact, MethodState};

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
    pub page: i64,
    pub pages: i64,
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

/// The workspace's contacts as of now: the kept snapshot when the database's version still
/// matches it, else a fresh load.
fn snapshot(
    conn: &mut DbConn,
    index: &ContactIndex,
    ws: &WorkspaceId,
) -> StoreResult<Arc<Snapshot>> {
    let version = super::on_backend!(conn, |c| workspaces::table
        .find(ws)
        .select(workspaces::contacts_version)
        .first::<i64>(c))?;
    if let Some(s) = index.get(ws, version) {
        return Ok(s);
    }
    // Read after the version: the rows are at least as new as the version they are kept under,
    // so a change in between only costs one more reload.
    let rows: Vec<(Contact, String)> = super::on_backend!(conn, |c| contacts::table
        .filter(contacts::workspace_id.eq(ws))
        .order((contacts::name.asc(), contacts::id.asc()))
        .select((Contact::as_select(), contacts::search_text))
        .load(c))?;
    let snapshot = Arc::new(Snapshot::new(version, rows));
    index.put(ws, Arc::clone(&snapshot));
    Ok(snapshot)
}

/// A page of the workspace's contacts in name order, those matching `q` when it is not blank.
pub fn list(
    conn: &mut DbConn,
    index: &ContactIndex,
    ws: &WorkspaceId,
    q: &str,
    page: i64,
) -> StoreResult<Page> {
    let snapshot = snapshot(conn, index, ws)?;
    let terms = search_terms(q);
    let hits = if terms.is_empty() {
        None
    } else {
        Some(snapshot.hits(&terms))
    };
    let total = match &hits {
        None => snapshot.contacts.len(),
        Some(h) => h.iter().filter(|&&x| x).count(),
    } as i64;
    let pages = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let page = page.clamp(1, pages);
    let (skip, take) = (((page - 1) * PAGE_SIZE) as usize, PAGE_SIZE as usize);
    let contacts = matches(&snapshot, hits.as_deref())
        .skip(skip)
        .take(take)
        .cloned()
        .collect();
    Ok(Page {
        contacts,
        total,
        page,
        pages,
    })
}

fn matches<'a>(
    snapshot: &'a Snapshot,
    hits: Option<&'a [bool]>,
) -> impl Iterator<Item = &'a Contact> {
    snapshot
        .contacts
        .iter()
        .enumerate()
        .filter(move |(i, _)| hits.is_none_or(|h| h[*i]))
        .map(|(_, c)| c)
}

/// Every contact matching `q` (all of them when blank), in list order.
pub fn all_matching(
    conn: &mut DbConn,
    index: &ContactIndex,
    ws: &WorkspaceId,
    q: &str,
) -> StoreResult<Vec<Contact>> {
    let snapshot = snapshot(conn, index, ws)?;
    let terms = search_terms(q);
    let hits = (!terms.is_empty()).then(|| snapshot.hits(&terms));
    Ok(matches(&snapshot, hits.as_deref()).cloned().collect())
}

/// The contacts of the workspace among `ids`; ids of other workspaces are ignored.
pub fn get_many(
    conn: &mut DbConn,
    ws: &WorkspaceId,
    ids: &[ContactId],
) -> StoreResult<Vec<Contact>> {
    let mut found = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        found.extend(
            contacts::table
                .filter(contacts::workspace_id.eq(ws))
                .filter(contacts::id.eq_any(chunk))
                .order((contacts::name.asc(), contacts::id.asc()))
                .select(Contact::as_select())
                .load(conn)?,
        );
    }
    Ok(found)
}

/// The verified numbers of `ids`: what phone and SMS notifications may use.
pub fn verified_phones(
    conn: &mut DbConn,
    ws: &WorkspaceId,
    ids: &[ContactId],
) -> StoreResult<Vec<(ContactId, PhoneNumber)>> {
    Ok(get_many(conn, ws, ids)?
        .into_iter()
        .filter_map(|c| c.usable_phone().map(|p| (c.id, p)))
        .collect())
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
    let result = super::write_transaction(conn, |c| {
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

/// Creates (`id` None) or updates a contact and sets the groups it is in, in one transaction;
/// says which methods are new or changed (they wait for activation again).
pub fn save_with_groups(
    conn: &mut DbConn,
    ws: &WorkspaceId,
    id: Option<&ContactId>,
    input: &ContactInput,
    groups: &[super::GroupId],
) -> Result<(ContactId, Changed), SaveError> {
    use diesel::Connection;
    conn.transaction(|c| {
        let (id, changed) = match id {
            Some(id) => (id.clone(), update(c, ws, id, input)?),
            None => {
                let changed = Changed {
                    phone: input.phone.is_some(),
                    email: input.email.is_some(),
                };
                (create(c, ws, input)?, changed)
            }
        };
        super::groups::set_for_contact(c, ws, &id, groups)?;
        Ok((id, changed))
    })
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
            .execute(c)
    })?;
    Ok(id)
}

/// Which contact methods a save made new, so they need (re)activation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Changed {
    pub phone: bool,
    pub email: bool,
}

impl Changed {
    pub fn methods(self) -> impl Iterator<Item = ContactMethod> {
        [
            (self.phone, ContactMethod::Phone),
            (self.email, ContactMethod::Email),
        ]
        .into_iter()
        .filter_map(|(changed, m)| changed.then_some(m))
    }
}

/// Updates a contact. A changed phone number or email loses its verification.
pub fn update(
    conn: &mut DbConn,
    ws: &WorkspaceId,
    id: &ContactId,
    input: &ContactInput,
) -> Result<Changed, SaveError> {
    let phone = input.phone.as_ref().map(|p| p.as_str().to_string());
    let email = input.email.as_ref().map(|e| e.as_str().to_string());
    let changed = std::cell::Cell::new(Changed::default());
    save_checked(conn, ws, Some(id), input, |c| {
        let current = get(c, ws, id).map_err(|e| match e {
            StoreError::Db(e) => e,
            _ => diesel::result::Error::NotFound,
        })?;
        let phone_changed = phone.as_deref() != current.phone.as_ref().map(PhoneNumber::as_str);
        let email_changed = email.as_deref() != current.email.as_ref().map(EmailAddress::as_str);
        changed.set(Changed {
            phone: phone.is_some() && phone_changed,
            email: email.is_some() && email_changed,
        });
        let row = contacts::table
            .filter(contacts::workspace_id.eq(ws))
            .filter(contacts::id.eq(id));
        // The verification columns are written only for a changed number or address: a Verify
        // pressed while this edit ran is then never overwritten with what was read before it.
        let n = diesel::update(row)
            .set((
                contacts::name.eq(input.name.as_str()),
                contacts::phone.eq(phone.clone()),
                contacts::email.eq(email.clone()),
                contacts::im_user_id.eq(input.im_user_id.as_ref().map(ImUserId::as_str)),
                contacts::language.eq(input.language.code()),
                contacts::fallback.eq(input.fallback.code()),
                contacts::search_text.eq(search_text(input)),
                contacts::updated_at.eq(now()),
            ))
            .execute(c)?;
        // A changed number or address starts over: its verification and unused links go.
        if phone_changed {
            super::verification::discard_unused(c, id, ContactMethod::Phone)?;
            diesel::update(row)
                .set((
                    contacts::phone_verified_at.eq(None::<NaiveDateTime>),
                    contacts::phone_link_expires_at.eq(None::<NaiveDateTime>),
                ))
                .execute(c)?;
        }
        if email_changed {
            super::verification::discard_unused(c, id, ContactMethod::Email)?;
            diesel::update(row)
                .set((
                    contacts::email_verified_at.eq(None::<NaiveDateTime>),
                    contacts::email_link_expires_at.eq(None::<NaiveDateTime>),
                ))
                .execute(c)?;
        }
        Ok(n)
    })?;
    Ok(changed.get())
}

/// Deletes a contact; it leaves its groups (by cascade) and the policies that named it. The row
/// goes first: a policy being saved with this contact holds it (`FOR KEY SHARE`), so the delete
/// waits for that save and then also removes the target it added.
pub fn delete(conn: &mut DbConn, ws: &WorkspaceId, id: &ContactId) -> StoreResult<()> {
    super::write_transaction(conn, |c| {
        let n = diesel::delete(
            contacts::table
                .filter(contacts::workspace_id.eq(ws))
                .filter(contacts::id.eq(id)),
        )
        .execute(c)?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        super::policies::remove_target(c, &crate::domain::policy::Target::Contact(id.clone()))
    })
}
