use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{self, CustomizeConnection, ManageConnection};
use diesel::{Connection, PgConnection, RunQueryDsl, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// One connection type for both backends. SQLite is last because it accepts any path.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot open the database: {0}")]
    Connect(String),
    #[error("cannot apply migrations: {0}")]
    Migrate(String),
    #[error("database pool: {0}")]
    Pool(#[from] r2d2::PoolError),
    #[error("database task was cancelled")]
    Cancelled,
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
}

impl Backend {
    /// `postgres://` or `postgresql://` selects PostgreSQL; anything else is a SQLite path
    /// (`sqlite://herald.db`, `herald.db`, `:memory:`).
    pub fn from_url(url: &str) -> (Backend, String) {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (Backend::Postgres, url.to_string())
        } else {
            let path = url
                .strip_prefix("sqlite://")
                .or_else(|| url.strip_prefix("sqlite:"))
                .unwrap_or(url);
            (Backend::Sqlite, path.to_string())
        }
    }
}

/// Opens the concrete connection for the URL's scheme, so that a wrong port or a missing
/// directory is reported as such (MultiConnection::establish reports every failure alike).
pub fn establish(url: &str) -> Result<DbConn, DbError> {
    match Backend::from_url(url) {
        (Backend::Postgres, u) => PgConnection::establish(&u)
            .map(DbConn::Pg)
            .map_err(|e| DbError::Connect(e.to_string())),
        (Backend::Sqlite, path) => {
            if let Some(dir) = std::path::Path::new(&path).parent()
                && !dir.as_os_str().is_empty()
                && !dir.exists()
            {
                return Err(DbError::Connect(format!(
                    "directory {} does not exist",
                    dir.display()
                )));
            }
            SqliteConnection::establish(&path)
                .map(DbConn::Sqlite)
                .map_err(|e| DbError::Connect(e.to_string()))
        }
    }
}

pub fn run_migrations(conn: &mut DbConn) -> Result<(), DbError> {
    let result = match conn {
        DbConn::Pg(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS).map(|_| ()),
        DbConn::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|_| ()),
    };
    result.map_err(|e| DbError::Migrate(e.to_string()))
}

pub struct DbManager {
    url: String,
}

impl ManageConnection for DbManager {
    type Connection = DbConn;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConn, r2d2::Error> {
        establish(&self.url).map_err(|e| {
            r2d2::Error::ConnectionError(diesel::ConnectionError::BadConnection(e.to_string()))
        })
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), r2d2::Error> {
        diesel::sql_query("SELECT 1")
            .execute(conn)
            .map(|_| ())
            .map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, _conn: &mut DbConn) -> bool {
        false
    }
}

#[derive(Debug)]
struct SqlitePragmas;

impl CustomizeConnection<DbConn, r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut DbConn) -> Result<(), r2d2::Error> {
        if let DbConn::Sqlite(c) = conn {
            // One writer at a time in SQLite: wait for it rather than fail, and let readers
            // proceed beside it (WAL).
            // Reads through mmap and an 8 MiB page cache per connection, not a read() per page;
            // both count in the process's RSS, so both are capped (the first 64 MiB of the file
            // are mapped: 20 000 alerts in the ingest benchmark peaked at 105–130 MiB, against
            // 120–150 MiB with 256). Checkpoints are the checkpointer's (see `sqlite_writer`),
            // never a commit's.
            c.batch_execute(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                 PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; \
                 PRAGMA mmap_size = 67108864; PRAGMA cache_size = -8000; PRAGMA wal_autocheckpoint = 0;",
            )
            .map_err(r2d2::Error::QueryError)?;
        }
        Ok(())
    }
}

/// A pool of connections; `run` moves blocking Diesel work off the async threads.
#[derive(Clone)]
pub struct Db {
    pool: r2d2::Pool<DbManager>,
    backend: Backend,
    /// One permit per pooled connection: work waits here, on the async side, rather than as
    /// a parked blocking thread inside the pool, which costs a thread and context switches.
    permits: std::sync::Arc<tokio::sync::Semaphore>,
    url: std::sync::Arc<str>,
    contact_index: std::sync::Arc<super::contact_index::ContactIndex>,
    /// SQLite: the turns this process's write transactions take (see `sqlite_writer`).
    turns: Option<super::sqlite_writer::Turns>,
    /// Dropped with the last handle, which stops the SQLite checkpointer.
    _alive: std::sync::Arc<()>,
}

/// An error from work run in a transaction, or from the transaction itself.
enum InTransaction<E> {
    Work(E),
    Db(diesel::result::Error),
}

impl<E> From<diesel::result::Error> for InTransaction<E> {
    fn from(e: diesel::result::Error) -> Self {
        InTransaction::Db(e)
    }
}

thread_local! {
    /// SQLite read connections kept by each thread that calls `Db::read`, one per database.
    static READERS: std::cell::RefCell<std::collections::HashMap<std::sync::Arc<str>, DbConn>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// A connection for `Db::read`: refuses writes, so read-only work cannot take SQLite's one
/// write lock on an async thread, and gives up quickly rather than wait on a busy database.
fn open_reader(url: &str) -> Result<DbConn, DbError> {
    let mut conn = establish(url)?;
    if let DbConn::Sqlite(c) = &mut conn {
        c.batch_execute(
            "PRAGMA query_only = ON; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 100; \
             PRAGMA mmap_size = 67108864; PRAGMA cache_size = -8000; \
             PRAGMA wal_autocheckpoint = 0;",
        )
        .map_err(|e| DbError::Connect(e.to_string()))?;
    }
    Ok(conn)
}

impl std::fmt::Debug for DbManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DbManager")
    }
}

impl Db {
    /// Opens the database, applies pending migrations, then starts the pool.
    pub fn connect(url: &str, pool_size: u32) -> Result<Db, DbError> {
        // libpq initialises OpenSSL on its first connection with an exit handler that frees
        // OpenSSL's global state; background threads still using a connection while the
        // process exits then crash it (seen as SIGSEGV / "free(): invalid pointer" after every
        // test had passed). Initialising first without that handler leaves the state alone.
        openssl_sys::init();
        let (backend, _) = Backend::from_url(url);
        let mut first = establish(url)?;
        if let DbConn::Sqlite(c) = &mut first {
            c.batch_execute(
                "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
            )
            .map_err(|e| DbError::Connect(e.to_string()))?;
        }
        run_migrations(&mut first)?;
        drop(first);
        let pool = r2d2::Pool::builder()
            .max_size(pool_size)
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(10))
            // Not on every checkout: that is a query per query. Broken connections are caught
            // by has_broken when returned, and idle ones are re-checked by r2d2's reaper.
            .test_on_check_out(false)
            .connection_customizer(Box::new(SqlitePragmas))
            .build(DbManager {
                url: url.to_string(),
            })?;
        let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(pool_size as usize));
        let alive = std::sync::Arc::new(());
        let turns = (backend == Backend::Sqlite).then(|| {
            super::sqlite_writer::start_checkpointer(url, std::sync::Arc::downgrade(&alive));
            super::sqlite_writer::Turns::default()
        });
        Ok(Db {
            pool,
            backend,
            permits,
            turns,
            _alive: alive,
            url: url.into(),
            // About 100 MB at most, kept for the workspaces viewed most recently.
            contact_index: std::sync::Arc::new(super::contact_index::ContactIndex::new(200_000)),
        })
    }

    /// The in-memory contact lists this process keeps (see `contact_index`).
    pub fn contact_index(&self) -> std::sync::Arc<super::contact_index::ContactIndex> {
        std::sync::Arc::clone(&self.contact_index)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Postgres => "PostgreSQL",
            Backend::Sqlite => "SQLite",
        }
    }

    pub fn get(&self) -> Result<r2d2::PooledConnection<DbManager>, DbError> {
        Ok(self.pool.get()?)
    }

    /// Runs `f` with a pooled connection on the blocking thread pool.
    pub async fn run<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| E::from(DbError::Cancelled))?;
        let pool = self.pool.clone();
        let turns = self.turns.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let mut conn = pool.get().map_err(DbError::from)?;
            super::sqlite_writer::within(turns.as_ref(), || f(&mut conn))
        })
        .await
        .map_err(|_| E::from(DbError::Cancelled))?
    }

    /// Read-only work (a write fails). On SQLite it runs right here, on a connection this
    /// thread keeps: in WAL mode readers never wait for the writer, and a page's reads take
    /// less time than handing them to another thread and back, which profiling showed to be a
    /// quarter of the contacts page's CPU. On PostgreSQL, whose queries wait on the network,
    /// it goes to the blocking pool like `run`.
    pub async fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        if self.backend == Backend::Postgres {
            return self.run(f).await;
        }
        READERS.with(|readers| {
            let mut readers = readers.borrow_mut();
            let conn = match readers.entry(self.url.clone()) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(v) => v.insert(open_reader(&self.url)?),
            };
            // One read transaction for all of `f`: one consistent snapshot, and one pair of WAL
            // lock calls instead of a pair per statement.
            conn.transaction(|c| f(c).map_err(InTransaction::Work))
                .map_err(|e| match e {
                    InTransaction::Work(e) => e,
                    InTransaction::Db(e) => E::from(DbError::Query(e)),
                })
        })
    }

    /// True when the database answers a trivial query within two seconds.
    pub async fn ping(&self) -> bool {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get_timeout(Duration::from_secs(2)).ok()?;
            diesel::sql_query("SELECT 1").execute(&mut *conn).ok()
        })
        .await
        .ok()
        .flatten()
        .is_some()
    }
}
