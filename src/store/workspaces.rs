use chrono::NaiveDateTime;
use diesel::prelude::*;

use chrono::Duration;

use super::schema::{contacts, memberships, settings_changes, workspaces};
use super::{ContactId, DbConn, StoreResult, UserId, WorkspaceId, now};
use crate::domain::catalog::Lang;
use crate::domain::settings::TimeZone;
use crate::domain::{DefaultFallback, EmailAddress, Language, LinkToken, Role};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = workspaces)]
pub struct Workspace {
    pub id: WorkspaceId,
    pub name: String,
    pub default_fallback: String,
    pub default_language: String,
    pub time_zone: String,
    pub contacts_version: i64,
    pub created_at: NaiveDateTime,
    pub alternate_contact_id: Option<ContactId>,
    pub last_resort_email: Option<EmailAddress>,
    pub last_resort_activated_at: Option<NaiveDateTime>,
}

impl Workspace {
    pub fn default_fallback(&self) -> DefaultFallback {
        DefaultFallback::parse(&self.default_fallback).unwrap_or_else(|e| {
            tracing::error!(workspace = %self.id, value = %self.default_fallback, e, "stored default fallback does not decode; using SMS");
            DefaultFallback::Sms
        })
    }

    /// The language of contacts whose language is Auto.
    pub fn default_language(&self) -> Language {
        Language::parse(&self.default_language).unwrap_or_else(|e| {
            tracing::error!(workspace = %self.id, value = %self.default_language, e, "stored default language does not decode; using English");
            Language::English
        })
    }

    pub fn time_zone(&self) -> TimeZone {
        TimeZone::parse(&self.time_zone).unwrap_or_else(|e| {
            tracing::error!(workspace = %self.id, value = %self.time_zone, e, "stored time zone does not decode; using UTC");
            TimeZone::UTC
        })
    }

    /// The last-resort address, once its link was followed.
    pub fn activated_last_resort(&self) -> Option<&EmailAddress> {
        self.last_resort_email
            .as_ref()
            .filter(|_| self.last_resort_activated_at.is_some())
    }
}

/// The Settings page's values, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsInput {
    pub name: String,
    pub time_zone: TimeZone,
    pub default_language: Language,
    pub default_fallback: DefaultFallback,
    pub alternate_contact_id: Option<ContactId>,
    pub last_resort_email: Option<EmailAddress>,
}

/// What saving the settings did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsSaved {
    /// One line per changed setting, as the audit list shows it.
    pub changes: Vec<String>,
    /// A new last-resort address to send the activation link to.
    pub activate: Option<ActivationLink>,
}

/// A last-resort address's activation link to send, in the workspace's default language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivationLink {
    pub email: EmailAddress,
    pub token: LinkToken,
    pub language: Language,
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("That contact is not in this workspace.")]
    UnknownContact,
    #[error(transparent)]
    Store(#[from] super::StoreError),
}

super::wraps_store_error!(SettingsError);

/// How long a last-resort activation link works.
pub const LAST_RESORT_LINK_HOURS: i64 = 24;

/// Saves the settings and audits each change, in one transaction. A new last-resort address
/// starts unactivated, with a fresh link.
pub fn save_settings(
    conn: &mut DbConn,
    ws: &WorkspaceId,
    by: &str,
    input: &SettingsInput,
) -> Result<SettingsSaved, SettingsError> {
    super::write_transaction(conn, |c| {
        let current = get(c, ws)?;
        if let Some(alt) = &input.alternate_contact_id {
            let found: i64 = contacts::table
                .filter(contacts::workspace_id.eq(ws))
                .filter(contacts::id.eq(alt))
                .count()
                .get_result(c)?;
            if found == 0 {
                return Err(SettingsError::UnknownContact);
            }
        }
        let name_of = |c: &mut DbConn, id: &Option<ContactId>| -> StoreResult<String> {
            Ok(match id {
                Some(id) => contacts::table
                    .find(id)
                    .select(contacts::name)
                    .first::<String>(c)
                    .optional()?
                    .unwrap_or_else(|| "a deleted contact".into()),
                None => "nobody".into(),
            })
        };
        let mut changes = Vec::new();
        let mut changed = |what: &str, old: &str, new: &str| {
            if old != new {
                changes.push(format!("{what}: {old} → {new}"));
            }
        };
        changed("Name", &current.name, &input.name);
        changed(
            "Time zone",
            current.time_zone().name(),
            input.time_zone.name(),
        );
        changed(
            "Default alert language",
            current.default_language().label(),
            input.default_language.label(),
        );
        changed(
            "Default fallback method",
            current.default_fallback().label(),
            input.default_fallback.label(),
        );
        if current.alternate_contact_id != input.alternate_contact_id {
            let old = name_of(c, &current.alternate_contact_id)?;
            let new = name_of(c, &input.alternate_contact_id)?;
            changes.push(format!("Alternate contact: {old} → {new}"));
        }
        let shown = |e: &Option<EmailAddress>| {
            e.as_ref()
                .map(|e| e.as_str().to_string())
                .unwrap_or_else(|| "none".into())
        };
        let new_address = current.last_resort_email != input.last_resort_email;
        if new_address {
            changes.push(format!(
                "Last-resort recipient: {} → {}",
                shown(&current.last_resort_email),
                shown(&input.last_resort_email)
            ));
        }
        let at = now();
        diesel::update(workspaces::table.find(ws))
            .set((
                workspaces::name.eq(&input.name),
                workspaces::time_zone.eq(input.time_zone.name()),
                workspaces::default_language.eq(input.default_language.code()),
                workspaces::default_fallback.eq(input.default_fallback.code()),
                workspaces::alternate_contact_id.eq(&input.alternate_contact_id),
            ))
            .execute(c)?;
        let mut activate = None;
        if new_address {
            let token = input
                .last_resort_email
                .as_ref()
                .map(|_| LinkToken::generate());
            diesel::update(workspaces::table.find(ws))
                .set((
                    workspaces::last_resort_email
                        .eq(input.last_resort_email.as_ref().map(EmailAddress::as_str)),
                    workspaces::last_resort_activated_at.eq(None::<NaiveDateTime>),
                    workspaces::last_resort_selector.eq(token.as_ref().map(|t| t.selector.clone())),
                    workspaces::last_resort_verifier_hash
                        .eq(token.as_ref().map(LinkToken::verifier_hash)),
                    workspaces::last_resort_link_expires_at.eq(token
                        .as_ref()
                        .map(|_| at + Duration::hours(LAST_RESORT_LINK_HOURS))),
                ))
                .execute(c)?;
            activate = input
                .last_resort_email
                .clone()
                .zip(token)
                .map(|(email, token)| ActivationLink {
                    email,
                    token,
                    language: input.default_language,
                });
        }
        audit(c, ws, by, &changes, at)?;
        Ok(SettingsSaved { changes, activate })
    })
}

/// A new activation link for the stored, not yet activated, last-resort address.
pub fn renew_last_resort_link(
    conn: &mut DbConn,
    ws: &WorkspaceId,
) -> StoreResult<Option<ActivationLink>> {
    super::write_transaction(conn, |c| {
        let current = get(c, ws)?;
        let language = current.default_language();
        let Some(email) = current
            .last_resort_email
            .filter(|_| current.last_resort_activated_at.is_none())
        else {
            return Ok(None);
        };
        let token = LinkToken::generate();
        diesel::update(workspaces::table.find(ws))
            .set((
                workspaces::last_resort_selector.eq(Some(token.selector.clone())),
                workspaces::last_resort_verifier_hash.eq(Some(token.verifier_hash())),
                workspaces::last_resort_link_expires_at
                    .eq(Some(now() + Duration::hours(LAST_RESORT_LINK_HOURS))),
            ))
            .execute(c)?;
        Ok(Some(ActivationLink {
            email,
            token,
            language,
        }))
    })
}

/// What a last-resort activation link finds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LastResortLink {
    /// Valid: the workspace's name and the address.
    Open {
        workspace: String,
        email: EmailAddress,
    },
    Activated {
        workspace: String,
        email: EmailAddress,
    },
    Expired,
    Unknown,
}

/// A last-resort link looked up, with the language its page speaks: the workspace's default
/// (the address belongs to nobody with a language of their own); None when the link names no
/// workspace.
pub struct LastResortLookup {
    pub link: LastResortLink,
    pub lang: Option<Lang>,
}

type LinkRow = (
    WorkspaceId,
    String,
    Option<EmailAddress>,
    Option<String>,
    Option<NaiveDateTime>,
    Language,
);

fn find_link(c: &mut DbConn, token: &LinkToken) -> StoreResult<Option<LinkRow>> {
    let row: Option<LinkRow> = workspaces::table
        .filter(workspaces::last_resort_selector.eq(&token.selector))
        .select((
            workspaces::id,
            workspaces::name,
            workspaces::last_resort_email,
            workspaces::last_resort_verifier_hash,
            workspaces::last_resort_link_expires_at,
            workspaces::default_language,
        ))
        .first(c)
        .optional()?;
    Ok(row.filter(|r| r.3.as_deref().is_some_and(|h| token.matches(h))))
}

/// Looks at a link without changing anything (GET).
pub fn open_last_resort_link(
    conn: &mut DbConn,
    token: &LinkToken,
) -> StoreResult<LastResortLookup> {
    let unknown = LastResortLookup {
        link: LastResortLink::Unknown,
        lang: None,
    };
    let Some((_, workspace, email, _, expires, language)) = find_link(conn, token)? else {
        return Ok(unknown);
    };
    let Some(email) = email else {
        return Ok(unknown);
    };
    let lang = Some(Lang::of(Language::Auto, language));
    let link = if expires.is_none_or(|t| t < now()) {
        LastResortLink::Expired
    } else {
        LastResortLink::Open { workspace, email }
    };
    Ok(LastResortLookup { link, lang })
}

/// Activates the address the link names (POST); the link then stops working.
pub fn activate_last_resort(conn: &mut DbConn, token: &LinkToken) -> StoreResult<LastResortLookup> {
    super::write_transaction(conn, |c| {
        let found = open_last_resort_link(c, token)?;
        let LastResortLink::Open { workspace, email } = found.link else {
            return Ok(found);
        };
        diesel::update(
            workspaces::table.filter(workspaces::last_resort_selector.eq(&token.selector)),
        )
        .set((
            workspaces::last_resort_activated_at.eq(Some(now())),
            workspaces::last_resort_selector.eq(None::<String>),
            workspaces::last_resort_verifier_hash.eq(None::<String>),
            workspaces::last_resort_link_expires_at.eq(None::<NaiveDateTime>),
        ))
        .execute(c)?;
        Ok(LastResortLookup {
            link: LastResortLink::Activated { workspace, email },
            lang: found.lang,
        })
    })
}

/// One line of the settings' audit list.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = settings_changes)]
pub struct SettingsChange {
    pub user_email: String,
    pub at: NaiveDateTime,
    pub what: String,
}

fn audit(
    c: &mut DbConn,
    ws: &WorkspaceId,
    by: &str,
    lines: &[String],
    at: NaiveDateTime,
) -> StoreResult<()> {
    // A save changes a handful of settings at most: one insert each.
    for what in lines {
        diesel::insert_into(settings_changes::table)
            .values((
                settings_changes::id.eq(uuid::Uuid::now_v7().to_string()),
                settings_changes::workspace_id.eq(ws),
                settings_changes::user_email.eq(by),
                settings_changes::at.eq(at),
                settings_changes::what.eq(what),
            ))
            .execute(c)?;
    }
    Ok(())
}

/// The latest changes to the workspace's settings, newest first.
pub fn changes(
    conn: &mut DbConn,
    ws: &WorkspaceId,
    limit: i64,
) -> StoreResult<Vec<SettingsChange>> {
    Ok(settings_changes::table
        .filter(settings_changes::workspace_id.eq(ws))
        .order((settings_changes::at.desc(), settings_changes::id.desc()))
        .limit(limit)
        .select(SettingsChange::as_select())
        .load(conn)?)
}

/// A workspace as one of its members sees it in the switcher.
#[derive(Debug, Clone)]
pub struct MyWorkspace {
    pub id: WorkspaceId,
    pub name: String,
    pub role: Role,
}

pub const WORKSPACE_NAME_MAX: usize = 64;

pub fn parse_name(input: &str) -> Result<String, &'static str> {
    let s = input.trim();
    if s.is_empty() {
        return Err("Enter a workspace name.");
    }
    if s.chars().count() > WORKSPACE_NAME_MAX {
        return Err("The name can be at most 64 characters.");
    }
    Ok(s.to_string())
}

/// Creates a workspace with `owner` as its owner; call inside the caller's transaction.
/// A new workspace with `owner` as its owner, in one transaction (a savepoint inside another).
pub fn create(conn: &mut DbConn, name: &str, owner: &UserId) -> StoreResult<WorkspaceId> {
    use diesel::Connection;
    conn.transaction(|c| insert(c, name, owner))
}

fn insert(conn: &mut DbConn, name: &str, owner: &UserId) -> StoreResult<WorkspaceId> {
    let id = WorkspaceId::new();
    let at = now();
    diesel::insert_into(workspaces::table)
        .values((
            workspaces::id.eq(&id),
            workspaces::name.eq(name),
            workspaces::default_fallback.eq(DefaultFallback::Sms.code()),
            workspaces::default_language.eq("en"),
            workspaces::time_zone.eq("UTC"),
            workspaces::created_at.eq(at),
        ))
        .execute(conn)?;
    add_member(conn, &id, owner, Role::Owner)?;
    Ok(id)
}

pub fn add_member(
    conn: &mut DbConn,
    ws: &WorkspaceId,
    user: &UserId,
    role: Role,
) -> StoreResult<()> {
    diesel::insert_into(memberships::table)
        .values((
            memberships::workspace_id.eq(ws),
            memberships::user_id.eq(user),
            memberships::role.eq(role.code()),
            memberships::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn get(conn: &mut DbConn, id: &WorkspaceId) -> StoreResult<Workspace> {
    Ok(workspaces::table
        .find(id)
        .select(Workspace::as_select())
        .first(conn)?)
}

pub fn list_for_user(conn: &mut DbConn, user: &UserId) -> StoreResult<Vec<MyWorkspace>> {
    let rows: Vec<(WorkspaceId, String, String)> = memberships::table
        .inner_join(workspaces::table)
        .filter(memberships::user_id.eq(user))
        .order((workspaces::name.asc(), workspaces::id.asc()))
        .select((workspaces::id, workspaces::name, memberships::role))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, name, role)| {
            Role::parse(&role)
                .ok()
                .map(|role| MyWorkspace { id, name, role })
        })
        .collect())
}

/// The Contact Default Configuration page's one setting, audited like the Settings page.
pub fn set_default_fallback(
    conn: &mut DbConn,
    id: &WorkspaceId,
    by: &str,
    fallback: DefaultFallback,
) -> StoreResult<()> {
    super::write_transaction(conn, |c| {
        let current = get(c, id)?;
        diesel::update(workspaces::table.find(id))
            .set(workspaces::default_fallback.eq(fallback.code()))
            .execute(c)?;
        if current.default_fallback() != fallback {
            let line = format!(
                "Default fallback method: {} → {}",
                current.default_fallback().label(),
                fallback.label()
            );
            audit(c, id, by, &[line], now())?;
        }
        Ok(())
    })
}
