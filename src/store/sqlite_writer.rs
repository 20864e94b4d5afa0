//! How one process writes to a SQLite file quickly. SQLite lets one writer in at a time;
//! left to itself, a connection that finds the write lock taken sleeps in busy_timeout's
//! steps (1, 2, 5, 10, 25 … ms), so under load the lock sits free while every waiter sleeps,
//! and the commit that fills the WAL past its limit copies it back into the database file
//! (and syncs it) while holding the lock. Measured on the ingest benchmark, the two made a
//! 100-alert request take 14 ms where its work took 7. So, per database:
//! - write transactions of this process take turns on a fair mutex: the next starts the
//!   moment the last commits (another process on the same file still meets busy_timeout);
//! - pooled connections never checkpoint; a checkpointer thread does, passively (it waits
//!   for no one, and no writer waits for it).

use std::cell::{Cell, RefCell};
use std::sync::{Arc, Weak};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use tokio::sync::{Mutex, OwnedMutexGuard};

/// The turn every write transaction of one database takes.
pub type Turns = Arc<Mutex<()>>;

thread_local! {
    /// The turns of the database whose connection this thread is using (set by `Db::run`).
    static CURRENT: RefCell<Option<Turns>> = const { RefCell::new(None) };
    /// Whether this thread holds its database's turn (a nested write transaction must not
    /// wait for itself).
    static HELD: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with `turns` as this thread's database's turns.
pub(crate) fn within<T>(turns: Option<&Turns>, f: impl FnOnce() -> T) -> T {
    let before = CURRENT.with(|c| c.replace(turns.cloned()));
    let out = f();
    CURRENT.with(|c| c.replace(before));
    out
}

/// This thread's turn at writing, held until dropped; nothing when the thread is not
/// working for a SQLite database through `Db::run`, or already holds the turn.
pub(crate) struct Turn(Option<OwnedMutexGuard<()>>);

impl Drop for Turn {
    fn drop(&mut self) {
        if self.0.take().is_some() {
            HELD.with(|h| h.set(false));
        }
    }
}

pub(crate) fn take() -> Turn {
    if HELD.with(Cell::get) {
        return Turn(None);
    }
    let Some(turns) = CURRENT.with(|c| c.borrow().clone()) else {
        return Turn(None);
    };
    // `Db::run` calls this on a blocking-pool thread, where waiting is allowed.
    let guard = turns.blocking_lock_owned();
    HELD.with(|h| h.set(true));
    Turn(Some(guard))
}

/// How often the checkpointer copies the WAL back into the database file.
const EVERY: Duration = Duration::from_millis(500);

/// Starts the checkpointer of the SQLite database at `url`; it stops once `alive` is gone (the
/// last handle to the database dropped).
pub(crate) fn start_checkpointer(url: &str, alive: Weak<()>) {
    let url = url.to_string();
    let started = std::thread::Builder::new()
        .name("herald-checkpoint".into())
        .spawn(move || {
            let mut conn = match super::connection::establish(&url) {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(error = %e, "SQLite checkpointer cannot open the database");
                    return;
                }
            };
            while alive.upgrade().is_some() {
                std::thread::sleep(EVERY);
                // PASSIVE: copies what no reader still needs, waits for nobody. A failure is
                // retried on the next round; the WAL only grows meanwhile.
                if let Err(e) = conn.batch_execute("PRAGMA wal_checkpoint(PASSIVE);") {
                    tracing::warn!(error = %e, "SQLite checkpoint failed; will retry");
                }
            }
        });
    if let Err(e) = started {
        tracing::error!(error = %e, "SQLite checkpointer not started");
    }
}

#[cfg(test)]
mod tests {
    use diesel::RunQueryDsl;

    use crate::store::{Db, StoreError, write_transaction};

    fn sqlite() -> (tempfile::TempDir, String, Db) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("herald.db").display().to_string();
        let db = Db::connect(&path, 4).expect("database");
        (dir, path, db)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_nested_write_transaction_does_not_wait_for_itself() {
        let (_dir, _path, db) = sqlite();
        let got: Result<i32, StoreError> = db
            .run(|c| write_transaction(c, |c| write_transaction(c, |_| Ok(7))))
            .await;
        assert_eq!(got.expect("nested transaction"), 7);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writers_take_turns_without_sqlite_busy_waits() {
        let (_dir, _path, db) = sqlite();
        db.run(|c| {
            diesel::sql_query("CREATE TABLE filler (n INTEGER NOT NULL)").execute(c)?;
            Ok::<_, StoreError>(())
        })
        .await
        .expect("table");
        let inside = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for n in 0..16 {
            let (db, inside) = (db.clone(), inside.clone());
            tasks.push(tokio::spawn(async move {
                db.run(move |c| {
                    // SQLite alone would answer "database is locked" to every writer that
                    // found another inside: only the turns make them wait.
                    diesel::sql_query("PRAGMA busy_timeout = 0").execute(c)?;
                    write_transaction(c, |c| {
                        use std::sync::atomic::Ordering::SeqCst;
                        // Nobody else is inside while this one is.
                        assert_eq!(inside.fetch_add(1, SeqCst), 0);
                        diesel::sql_query(format!("INSERT INTO filler VALUES ({n})")).execute(c)?;
                        std::thread::sleep(std::time::Duration::from_millis(5));
                        inside.fetch_sub(1, SeqCst);
                        Ok::<_, StoreError>(())
                    })
                })
                .await
            }));
        }
        for t in tasks {
            t.await.expect("task").expect("write");
        }
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let count: Count = db
            .run(|c| {
                Ok::<_, StoreError>(
                    diesel::sql_query("SELECT COUNT(*) AS n FROM filler").get_result(c)?,
                )
            })
            .await
            .expect("count");
        assert_eq!(count.n, 16);
    }

    /// Pooled connections never checkpoint; without the checkpointer everything written
    /// would stay in the WAL and the database file would never grow.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_checkpointer_moves_the_wal_into_the_database_file() {
        let (_dir, path, db) = sqlite();
        let before = std::fs::metadata(&path).expect("database file").len();
        db.run(|c| {
            write_transaction(c, |c| {
                diesel::sql_query("CREATE TABLE filler (body TEXT NOT NULL)").execute(c)?;
                for _ in 0..500 {
                    diesel::sql_query("INSERT INTO filler VALUES (hex(randomblob(1024)))")
                        .execute(c)?;
                }
                Ok::<_, StoreError>(())
            })
        })
        .await
        .expect("writes");
        let wal = format!("{path}-wal");
        assert!(std::fs::metadata(&wal).expect("WAL file").len() > 1_000_000);
        let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let now = std::fs::metadata(&path).expect("database file").len();
            if now > before + 1_000_000 {
                break;
            }
            assert!(
                std::time::Instant::now() < until,
                "the database file stayed at {now} bytes"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
}
