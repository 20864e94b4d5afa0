//! The only place that speaks SQL. One Diesel code path for SQLite and PostgreSQL.

/// Runs the same Diesel code on the concrete connection inside a `DbConn`. For the queries
/// every page runs: on the concrete connection Diesel finds the prepared statement by type,
/// where through the MultiConnection layer it first renders the SQL text as the cache key.
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::store::DbConn::Pg($c) => $body,
            $crate::store::DbConn::Sqlite($c) => $body,
        }
    };
}
pub(crate) use on_backend;

/// For error enums with a `Store(StoreError)` variant: lets `?` and `Db::run` lift database and
/// pool errors into it.
macro_rules! wraps_store_error {
    ($($t:ident),+) => {$(
        impl From<diesel::result::Error> for $t {
            fn from(e: diesel::result::Error) -> Self {
                $t::Store(e.into())
            }
        }
        impl From<$crate::store::DbError> for $t {
            fn from(e: $crate::store::DbError) -> Self {
                $t::Store(e.into())
            }
        }
    )+};
}
pub(crate) use wraps_store_error;

pub mod alerts;
pub mod api_tokens;
pub mod bind_links;
pub mod bindings;
pub mod chains;
pub mod chatbots;
pub mod connection;
pub mod contact_index;
pub mod contact_row;
pub mod contacts;
pub mod daily_stats;
pub mod dev_outbox;
pub mod groups;
pub mod invitations;
pub mod login_throttle;
pub mod named;
pub mod outbox;
pub mod policies;
pub mod schedules;
pub mod schema;
pub mod secrets;
pub mod sessions;
mod sqlite_writer;
pub mod statistics;
pub mod stored;
pub mod today;
pub mod users;
pub mod verification;
pub mod webhooks;
pub mod workspaces;

pub use crate::domain::ids::{
    AlertGroupId, AlertId, ApiTokenId, ChatbotId, ContactId, DeliveryId, GroupId, NotificationId,
    OverrideId, PolicyId, ScheduleId, UserId, WebhookId, WorkspaceId,
};
pub use connection::{Backend, Db, DbConn, DbError};
pub use named::{Lookup, Protected, Removable, Targeted};

/// Store errors the callers can act on; everything else is a database failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Db(diesel::result::Error),
    #[error(transparent)]
    Pool(#[from] DbError),
    /// A value could not be written in its stored form.
    #[error("cannot store value: {0}")]
    Encode(String),
}

impl From<diesel::result::Error> for StoreError {
    fn from(e: diesel::result::Error) -> Self {
        match e {
            diesel::result::Error::NotFound => StoreError::NotFound,
            other => StoreError::Db(other),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

pub fn now() -> chrono::NaiveDateTime {
    chrono::Utc::now().naive_utc()
}

/// A transaction that reads and then writes. SQLite: its first statement is a write (touching
/// no row), which takes the database's write lock at once, waiting on busy_timeout; otherwise
/// the later first write fails at once with SQLITE_BUSY when another writer got there since the
/// read. PostgreSQL (row locks, READ COMMITTED) needs nothing extra.
pub fn write_transaction<T, E>(
    conn: &mut DbConn,
    f: impl FnOnce(&mut DbConn) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    use diesel::Connection;
    let _turn = sqlite_writer::take();
    conn.transaction(|c| {
        begin_write(c)?;
        f(c)
    })
}

/// [`write_transaction`]'s first statement, for a transaction already open.
pub fn begin_write(conn: &mut DbConn) -> diesel::QueryResult<()> {
    use diesel::RunQueryDsl;
    if let DbConn::Sqlite(c) = conn {
        diesel::sql_query("UPDATE app_secrets SET name = name WHERE 0").execute(c)?;
    }
    Ok(())
}

pub(crate) fn is_unique_violation(e: &diesel::result::Error) -> bool {
    matches!(
        e,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}
