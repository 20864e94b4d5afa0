//! What chatbots, webhooks and policies share: a name unique in the workspace, ignoring case.

use super::{DbConn, StoreError, StoreResult, UserId, WorkspaceId};
use crate::domain::policy::Target;

/// An object a console page edits, found by its id within a workspace.
pub trait Lookup: Sized {
    type Id: Clone + std::fmt::Display + Send + 'static;
    /// The workspace's object; `StoreError::NotFound` when it is not the workspace's.
    fn get(c: &mut DbConn, ws: &WorkspaceId, id: &Self::Id) -> StoreResult<Self>;
}

#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("Another {kind} is already called “{name}”.")]
    NameTaken { kind: &'static str, name: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

super::wraps_store_error!(SaveError);

impl SaveError {
    pub fn taken(kind: &'static str, name: &str) -> SaveError {
        SaveError::NameTaken {
            kind,
            name: name.to_string(),
        }
    }
}

/// A unique violation from a concurrent save of the same name reads like the checked case.
pub fn unique_name<T>(
    kind: &'static str,
    name: &str,
    result: Result<T, SaveError>,
) -> Result<T, SaveError> {
    match result {
        Err(SaveError::Store(StoreError::Db(e))) if super::is_unique_violation(&e) => {
            Err(SaveError::taken(kind, name))
        }
        other => other,
    }
}

/// An object policies can name.
pub trait Targeted: Lookup {
    fn target(id: &Self::Id) -> Target;
}

/// An object policies name: deleting it takes it out of them.
pub trait Removable: Targeted {
    /// Deletes it and takes it out of its policies; answers their names.
    fn delete(c: &mut DbConn, ws: &WorkspaceId, id: &Self::Id) -> StoreResult<Vec<String>>;
}

/// Why a protected object (a group, a schedule) was not deleted.
#[derive(Debug, thiserror::Error)]
pub enum DeleteError {
    #[error("used by notification policies")]
    InUse(Vec<String>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

super::wraps_store_error!(DeleteError);

/// An object whose deletion is refused while a policy names it, since a policy that lost its
/// group or schedule would silently page fewer people.
pub trait Protected: Targeted {
    /// Who made it: they, or an owner, may delete it.
    fn created_by(&self) -> Option<&UserId>;
    fn delete(c: &mut DbConn, ws: &WorkspaceId, id: &Self::Id) -> Result<(), DeleteError>;
}

/// Deletes the workspace's row `$id` of `$table`: `StoreError::NotFound` when there is none.
macro_rules! delete_in_workspace {
    ($table:ident, $c:expr, $ws:expr, $id:expr) => {{
        let n = diesel::delete(
            $table::table
                .filter($table::workspace_id.eq($ws))
                .filter($table::id.eq($id)),
        )
        .execute($c)?;
        if n == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }};
}
pub(crate) use delete_in_workspace;

/// [`Targeted`] as the policy target `$target` of the row's id.
macro_rules! targeted {
    ($row:ty, $id:ty, $target:path) => {
        impl super::named::Targeted for $row {
            fn target(id: &$id) -> Target {
                $target(id.clone())
            }
        }
    };
}
pub(crate) use targeted;

/// [`Protected`] and its `delete` for a table (`workspace_id`, `id`) whose rows carry
/// `created_by`: the delete and the check for policies are one transaction.
macro_rules! protected_object_delete {
    ($table:ident, $row:ty, $id:ty, $target:path) => {
        super::named::targeted!($row, $id, $target);

        impl super::named::Protected for $row {
            fn created_by(&self) -> Option<&crate::store::UserId> {
                self.created_by.as_ref()
            }
            fn delete(
                c: &mut DbConn,
                ws: &WorkspaceId,
                id: &$id,
            ) -> Result<(), super::named::DeleteError> {
                delete(c, ws, id)
            }
        }

        /// Deletes it unless a policy uses it, in one transaction with the check, so a policy
        /// saved meanwhile cannot end up pointing at nothing.
        pub fn delete(
            conn: &mut DbConn,
            ws: &WorkspaceId,
            id: &$id,
        ) -> Result<(), super::named::DeleteError> {
            use super::named::DeleteError;
            super::write_transaction(conn, |c| {
                // Delete first, then look for users: a policy being saved with this object
                // holds its row (PostgreSQL `FOR KEY SHARE`), so the delete waits for it and
                // the check below then sees its target; finding users rolls the delete back.
                super::named::delete_in_workspace!($table, c, ws, id)?;
                let users = super::policies::names_using(c, ws, &$target(id.clone()))?;
                if !users.is_empty() {
                    return Err(DeleteError::InUse(users));
                }
                Ok(())
            })
        }
    };
}
pub(crate) use protected_object_delete;

/// [`Lookup`] through the module's own `get`.
macro_rules! lookup_by_get {
    ($row:ty, $id:ty) => {
        impl super::named::Lookup for $row {
            type Id = $id;
            fn get(c: &mut DbConn, ws: &WorkspaceId, id: &$id) -> StoreResult<$row> {
                get(c, ws, id)
            }
        }
    };
}
pub(crate) use lookup_by_get;

/// `list`, `get`, `name_taken` and `delete` for a table of named objects that policies name
/// (`workspace_id`, `id`, `name_key`): the same queries for chatbots and webhooks, written once.
macro_rules! named_object_queries {
    ($table:ident, $row:ty, $id:ty, $target:path) => {
        super::named::lookup_by_get!($row, $id);

        super::named::targeted!($row, $id, $target);

        impl super::named::Removable for $row {
            fn delete(c: &mut DbConn, ws: &WorkspaceId, id: &$id) -> StoreResult<Vec<String>> {
                delete(c, ws, id)
            }
        }

        /// Deletes the object and takes it out of the policies that used it; returns their
        /// names.
        pub fn delete(conn: &mut DbConn, ws: &WorkspaceId, id: &$id) -> StoreResult<Vec<String>> {
            super::write_transaction(conn, |c| {
                let target = $target(id.clone());
                let policies = super::policies::names_using(c, ws, &target)?;
                super::named::delete_in_workspace!($table, c, ws, id)?;
                super::policies::remove_target(c, &target)?;
                Ok(policies)
            })
        }

        /// The workspace's objects, in name order.
        pub fn list(conn: &mut DbConn, ws: &WorkspaceId) -> StoreResult<Vec<$row>> {
            Ok($table::table
                .filter($table::workspace_id.eq(ws))
                .order(($table::name_key.asc(), $table::id.asc()))
                .select(<$row>::as_select())
                .load(conn)?)
        }

        pub fn get(conn: &mut DbConn, ws: &WorkspaceId, id: &$id) -> StoreResult<$row> {
            Ok($table::table
                .filter($table::workspace_id.eq(ws))
                .filter($table::id.eq(id))
                .select(<$row>::as_select())
                .first(conn)?)
        }

        /// Whether another object of the workspace (not `except`) has this name, ignoring case.
        fn name_taken(
            conn: &mut DbConn,
            ws: &WorkspaceId,
            name: &str,
            except: Option<&$id>,
        ) -> StoreResult<bool> {
            let mut q = $table::table
                .filter($table::workspace_id.eq(ws))
                .filter($table::name_key.eq(name.to_lowercase()))
                .select($table::id)
                .into_boxed();
            if let Some(id) = except {
                q = q.filter($table::id.ne(id.clone()));
            }
            Ok(q.first::<$id>(conn).optional()?.is_some())
        }
    };
}
pub(crate) use named_object_queries;
