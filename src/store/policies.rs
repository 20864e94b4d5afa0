//! Notification policies and what they notify.

use diesel::prelude::*;

use super::named::{SaveError, unique_name};
use super::schema::{notification_policies, policy_targets};
use super::{DbConn, PolicyId, StoreError, StoreResult, UserId, WorkspaceId, now};
use crate::domain::policy::{Matcher, NotifyMethod, Target, label_list};

pub use crate::domain::policy::Policy;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = notification_policies)]
pub struct PolicyRow {
    pub id: PolicyId,
    pub name: String,
    pub enabled: bool,
    pub matchers: String,
    pub methods: String,
    pub mention: bool,
    pub notify_resolved: bool,
    pub group_by: String,
    pub repeat_minutes: i32,
    pub group_wait_secs: i32,
    pub group_interval_secs: i32,
}

impl PolicyRow {
    /// The row with its targets as routing reads it. A part that does not decode is not
    /// replaced by a default (no rules would match every alert): the policy keeps the reason,
    /// matches nothing, and the log names the row.
    fn decode(self, stored_targets: Vec<(String, String)>) -> Policy {
        let unreadable = |column: &str, detail: String| {
            tracing::error!(policy = %self.id, column, %detail, "stored policy does not decode");
            format!(
                "Its stored {column} could not be read ({detail}); it matches no alert until it is saved again."
            )
        };
        let mut problem = None;
        let matchers = serde_json::from_str::<Vec<Matcher>>(&self.matchers)
            .map_err(|e| unreadable("rules", e.to_string()));
        let mut methods = Vec::new();
        for code in self.methods.split(',').filter(|m| !m.is_empty()) {
            match NotifyMethod::parse(code) {
                Ok(m) => methods.push(m),
                Err(_) => problem = Some(unreadable("methods", format!("unknown method {code:?}"))),
            }
        }
        let mut targets = Vec::new();
        for (kind, id) in &stored_targets {
            match Target::parse(kind, id) {
                Some(t) => targets.push(t),
                None => {
                    problem = Some(unreadable("targets", format!("unknown target {kind}:{id}")))
                }
            }
        }
        let group_by = label_list(&self.group_by);
        Policy {
            matchers: match (matchers, problem) {
                (Ok(_), Some(why)) | (Err(why), _) => Err(why),
                (Ok(m), None) => Ok(m),
            },
            id: self.id,
            name: self.name,
            enabled: self.enabled,
            methods,
            mention: self.mention,
            notify_resolved: self.notify_resolved,
            group_by,
            repeat_minutes: self.repeat_minutes,
            group_wait_secs: self.group_wait_secs,
            group_interval_secs: self.group_interval_secs,
            targets,
        }
    }
}

/// A policy as validated from the form.
#[derive(Debug, Clone)]
pub struct PolicyInput {
    pub name: String,
    pub enabled: bool,
    pub matchers: Vec<Matcher>,
    pub methods: Vec<NotifyMethod>,
    pub mention: bool,
    pub notify_resolved: bool,
    pub group_by: Vec<String>,
    pub repeat_minutes: i32,
    pub group_wait_secs: i32,
    pub group_interval_secs: i32,
    pub targets: Vec<Target>,
}

fn with_targets(conn: &mut DbConn, rows: Vec<PolicyRow>) -> StoreResult<Vec<Policy>> {
    let ids: Vec<&PolicyId> = rows.iter().map(|r| &r.id).collect();
    let mut all: Vec<(PolicyId, String, String)> = Vec::new();
    for chunk in ids.chunks(500) {
        all.extend(
            policy_targets::table
                .filter(policy_targets::policy_id.eq_any(chunk.iter().copied()))
                .select((
                    policy_targets::policy_id,
                    policy_targets::kind,
                    policy_targets::target_id,
                ))
                .load::<(PolicyId, String, String)>(conn)?,
        );
    }
    Ok(rows
        .into_iter()
        .map(|row| {
            let targets = all
                .iter()
                .filter(|(p, _, _)| *p == row.id)
                .map(|(_, k, t)| (k.clone(), t.clone()))
                .collect();
            row.decode(targets)
        })
        .collect())
}

/// Whether every (kind, id) names an object of the workspace.
fn targets_exist(conn: &mut DbConn, ws: &WorkspaceId, targets: &[Target]) -> StoreResult<bool> {
    use super::schema::{chatbots, contact_groups, contacts, schedules, webhooks};
    /// Looks the object up; on PostgreSQL also holds `FOR KEY SHARE` on its row until the
    /// policy is saved, so a concurrent delete waits and then finds the new target to remove.
    /// (SQLite already lets one writer at a time through.)
    macro_rules! present {
        ($table:ident, $ws_col:expr, $id_col:expr, $id:expr) => {{
            let q = $table::table
                .filter($ws_col.eq(ws))
                .filter($id_col.eq($id))
                .select($id_col);
            let found: Option<String> = match conn {
                DbConn::Pg(c) => q.for_key_share().first(c).optional()?,
                DbConn::Sqlite(c) => q.first(c).optional()?,
            };
            found.is_some()
        }};
    }
    for target in targets {
        let id = target.id();
        let ok = match target {
            Target::Contact(_) => present!(contacts, contacts::workspace_id, contacts::id, id),
            Target::Group(_) => present!(
                contact_groups,
                contact_groups::workspace_id,
                contact_groups::id,
                id
            ),
            Target::Schedule(_) => {
                present!(schedules, schedules::workspace_id, schedules::id, id)
            }
            Target::Chatbot(_) => present!(chatbots, chatbots::workspace_id, chatbots::id, id),
            Target::Webhook(_) => present!(webhooks, webhooks::workspace_id, webhooks::id, id),
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

pub fn list(conn: &mut DbConn, ws: &WorkspaceId) -> StoreResult<Vec<Policy>> {
    let rows = notification_policies::table
        .filter(notification_policies::workspace_id.eq(ws))
        .order((
            notification_policies::name_key.asc(),
            notification_policies::id.asc(),
        ))
        .select(PolicyRow::as_select())
        .load(conn)?;
    with_targets(conn, rows)
}

super::named::lookup_by_get!(Policy, PolicyId);

pub fn get(conn: &mut DbConn, ws: &WorkspaceId, id: &PolicyId) -> StoreResult<Policy> {
    let row = notification_policies::table
        .filter(notification_policies::workspace_id.eq(ws))
        .filter(notification_policies::id.eq(id))
        .select(PolicyRow::as_select())
        .first(conn)?;
    Ok(with_targets(conn, vec![row])?.remove(0))
}

pub fn save(
    conn: &mut DbConn,
    ws: &WorkspaceId,
    user: &UserId,
    id: Option<&PolicyId>,
    input: &PolicyInput,
) -> Result<PolicyId, SaveError> {
    let name = input.name.as_str();
    // Never a default here: "[]" would match every alert.
    let matchers = serde_json::to_string(&input.matchers)
        .map_err(|e| SaveError::Store(StoreError::Encode(e.to_string())))?;
    let methods = input
        .methods
        .iter()
        .map(|m| m.code())
        .collect::<Vec<_>>()
        .join(",");
    let group_by = input.group_by.join(",");
    let result = super::write_transaction(conn, |c| {
        let taken = notification_policies::table
            .filter(notification_policies::workspace_id.eq(ws))
            .filter(notification_policies::name_key.eq(name.to_lowercase()))
            .select(notification_policies::id)
            .first::<PolicyId>(c)
            .optional()?;
        if taken.is_some_and(|t| Some(&t) != id) {
            return Err(SaveError::taken("policy", name));
        }
        let at = now();
        // What both a new and a saved policy write.
        let fields = (
            notification_policies::name.eq(name),
            notification_policies::name_key.eq(name.to_lowercase()),
            notification_policies::enabled.eq(input.enabled),
            notification_policies::matchers.eq(&matchers),
            notification_policies::methods.eq(&methods),
            notification_policies::mention.eq(input.mention),
            notification_policies::notify_resolved.eq(input.notify_resolved),
            notification_policies::group_by.eq(&group_by),
            notification_policies::repeat_minutes.eq(input.repeat_minutes),
            notification_policies::group_wait_secs.eq(input.group_wait_secs),
            notification_policies::group_interval_secs.eq(input.group_interval_secs),
            notification_policies::updated_at.eq(at),
        );
        let id = match id {
            Some(id) => {
                let n = diesel::update(
                    notification_policies::table
                        .filter(notification_policies::workspace_id.eq(ws))
                        .filter(notification_policies::id.eq(id)),
                )
                .set(fields)
                .execute(c)?;
                if n == 0 {
                    return Err(SaveError::Store(StoreError::NotFound));
                }
                id.clone()
            }
            None => {
                let id = PolicyId::new();
                diesel::insert_into(notification_policies::table)
                    .values((
                        notification_policies::id.eq(&id),
                        notification_policies::workspace_id.eq(ws),
                        notification_policies::created_by.eq(Some(user)),
                        notification_policies::created_at.eq(at),
                        fields,
                    ))
                    .execute(c)?;
                id
            }
        };
        // Checked again here, in the transaction that names them: an object deleted since the
        // form was read must not leave the policy pointing at nothing.
        if !targets_exist(c, ws, &input.targets)? {
            return Err(SaveError::Store(StoreError::NotFound));
        }
        diesel::delete(policy_targets::table.filter(policy_targets::policy_id.eq(&id)))
            .execute(c)?;
        let mut targets = input.targets.clone();
        targets.sort();
        targets.dedup();
        for target in &targets {
            diesel::insert_into(policy_targets::table)
                .values((
                    policy_targets::policy_id.eq(&id),
                    policy_targets::kind.eq(target.kind().code()),
                    policy_targets::target_id.eq(target.id()),
                ))
                .execute(c)?;
        }
        Ok(id)
    });
    unique_name("policy", name, result)
}

pub fn delete(conn: &mut DbConn, ws: &WorkspaceId, id: &PolicyId) -> StoreResult<String> {
    let p = get(conn, ws, id)?;
    diesel::delete(
        notification_policies::table
            .filter(notification_policies::workspace_id.eq(ws))
            .filter(notification_policies::id.eq(id)),
    )
    .execute(conn)?;
    Ok(p.name)
}

/// Names of the policies that notify `target`, in name order.
pub fn names_using(
    conn: &mut DbConn,
    ws: &WorkspaceId,
    target: &Target,
) -> StoreResult<Vec<String>> {
    Ok(policy_targets::table
        .inner_join(notification_policies::table)
        .filter(notification_policies::workspace_id.eq(ws))
        .filter(policy_targets::kind.eq(target.kind().code()))
        .filter(policy_targets::target_id.eq(target.id()))
        .order(notification_policies::name_key.asc())
        .select(notification_policies::name)
        .load(conn)?)
}

/// Takes a deleted object out of every policy that named it.
pub fn remove_target(conn: &mut DbConn, target: &Target) -> StoreResult<()> {
    diesel::delete(
        policy_targets::table
            .filter(policy_targets::kind.eq(target.kind().code()))
            .filter(policy_targets::target_id.eq(target.id())),
    )
    .execute(conn)?;
    Ok(())
}
