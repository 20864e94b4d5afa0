//! What chatbots, webhooks and policies share: a name unique in the workspace, ignoring case.

use super::StoreError;

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

/// `list`, `get` and `name_taken` for a table of named objects (`workspace_id`, `id`,
/// `name_key`): the same three queries for chatbots and webhooks, written once.
macro_rules! named_object_queries {
    ($table:ident, $row:ty, $id:ty) => {
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
