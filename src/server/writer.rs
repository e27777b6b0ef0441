//! The single write connection: its transactions, what a store fault is, and whether writes
//! work right now.
//!
//! Transactions are begun, committed and rolled back here with plain `BEGIN IMMEDIATE`,
//! `COMMIT` and `ROLLBACK` statements, not with sqlx's `Transaction`. sqlx keeps a depth
//! counter beside the connection; when SQLite rolls a transaction back by itself (a full disk
//! or an I/O error may abort the whole transaction, not just the statement), sqlx's own
//! `ROLLBACK` fails with "no transaction is active", the counter stays at 1, and every later
//! `BEGIN IMMEDIATE` on the one write connection is refused until restart. Here SQLite's own
//! state is the only state: a `ROLLBACK` with nothing to undo is harmless, and a connection
//! whose `ROLLBACK` fails for another reason is closed, so the pool opens a fresh one.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sqlx::Sqlite;
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{SqliteConnection, SqlitePool};

use super::store::StoreError;

/// What went wrong with the database, as far as a client cares: each is a 503 with
/// Retry-After, and the write it interrupted was not applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreFault {
    /// `SQLITE_FULL`: the disk, or the configured `max_database_pages`, is full.
    Full,
    /// An I/O error reading or writing the database file.
    Io,
    /// Another process holds the database's write lock past the busy timeout, or the write
    /// connection was not free in time.
    Busy,
}

impl StoreFault {
    /// The fault behind `e`, if it is one (and not a bug or a refused statement).
    pub fn of(e: &sqlx::Error) -> Option<StoreFault> {
        match e {
            sqlx::Error::Database(db) => {
                let code: i32 = db.code()?.parse().ok()?;
                // Extended result codes: the primary code is the low byte.
                match code & 0xff {
                    5 | 6 => Some(StoreFault::Busy), // SQLITE_BUSY, SQLITE_LOCKED
                    13 => Some(StoreFault::Full),    // SQLITE_FULL
                    10 | 14 => Some(StoreFault::Io), // SQLITE_IOERR, SQLITE_CANTOPEN
                    _ => None,
                }
            }
            sqlx::Error::PoolTimedOut => Some(StoreFault::Busy),
            sqlx::Error::Io(_) | sqlx::Error::WorkerCrashed => Some(StoreFault::Io),
            _ => None,
        }
    }

    /// Seconds a client should wait before trying again.
    pub fn retry_after_seconds(self) -> u64 {
        match self {
            StoreFault::Full => 30,
            StoreFault::Io => 10,
            StoreFault::Busy => 2,
        }
    }
}

/// The write connection's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WriterSettings {
    /// How long a write waits for another process's write lock before failing busy.
    pub busy_timeout: Duration,
    /// `PRAGMA max_page_count` of the write connection; 0 is SQLite's maximum.
    pub max_database_pages: u64,
}

impl Default for WriterSettings {
    fn default() -> Self {
        WriterSettings {
            busy_timeout: Duration::from_secs(10),
            max_database_pages: 0,
        }
    }
}

/// SQLite's largest `max_page_count`.
const UNLIMITED_PAGES: u64 = 4_294_967_294;

/// Sets the page limit on one connection. SQLite keeps it per connection, and never below the
/// current size of the file.
pub(super) async fn apply_max_pages(conn: &mut SqliteConnection, pages: u64) -> sqlx::Result<()> {
    let pages = if pages == 0 {
        UNLIMITED_PAGES
    } else {
        pages.min(UNLIMITED_PAGES)
    };
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "PRAGMA max_page_count = {pages}"
    )))
    .execute(conn)
    .await?;
    Ok(())
}

/// The page limit every new write connection gets; changed at run time by
/// [`super::Store::set_max_database_pages`].
#[derive(Debug, Clone, Default)]
pub(super) struct PageLimit(Arc<AtomicU64>);

impl PageLimit {
    pub(super) fn new(pages: u64) -> Self {
        PageLimit(Arc::new(AtomicU64::new(pages)))
    }
    pub(super) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
    pub(super) fn set(&self, pages: u64) {
        self.0.store(pages, Ordering::Relaxed);
    }
}

/// How long a storage fault seen by a write keeps `/readyz` at 503 unless a write commits
/// meanwhile. Some faults show only at `COMMIT` (a disk that fills while the WAL grows, a
/// failed fsync), which the rolled-back readiness probe never reaches.
const FAULT_MEMORY: Duration = Duration::from_secs(30);

/// The outcome of the last writes: the storage fault the last one failed with, if any.
#[derive(Debug, Clone, Default)]
pub(super) struct WriteHealth(Arc<Mutex<Option<(StoreFault, String, Instant)>>>);

impl WriteHealth {
    /// A write committed: storage works.
    pub(super) fn committed(&self) {
        if let Ok(mut last) = self.0.lock() {
            *last = None;
        }
    }

    /// A write failed: remembers a storage fault. Busy is not remembered: the probe sees a
    /// held lock itself.
    pub(super) fn failed(&self, error: &StoreError) {
        if let Some(fault @ (StoreFault::Full | StoreFault::Io)) = error.fault()
            && let Ok(mut last) = self.0.lock()
        {
            *last = Some((fault, error.to_string(), Instant::now()));
        }
    }

    /// The fault of the last write, if it failed with one lately.
    pub(super) fn recent_fault(&self) -> Option<(StoreFault, String)> {
        let last = self.0.lock().ok()?;
        last.as_ref()
            .filter(|(_, _, at)| at.elapsed() < FAULT_MEMORY)
            .map(|(f, m, _)| (*f, m.clone()))
    }
}

/// A write transaction on the write connection, begun with `BEGIN IMMEDIATE`. Dropped without
/// [`WriteTx::commit`] (a refusal, an error, a cancelled request), it is rolled back before
/// the connection serves anyone else.
pub struct WriteTx {
    /// Present until committed or dropped.
    conn: Option<PoolConnection<Sqlite>>,
}

impl WriteTx {
    pub(super) async fn begin(pool: &SqlitePool) -> sqlx::Result<WriteTx> {
        // Guarded before BEGIN: if this future is dropped while BEGIN waits for the lock, the
        // BEGIN may still succeed, and the guard's rollback then ends it.
        let mut tx = WriteTx {
            conn: Some(pool.acquire().await?),
        };
        sqlx::query("BEGIN IMMEDIATE").execute(&mut *tx).await?;
        Ok(tx)
    }

    /// Commits. On failure the transaction is rolled back (SQLite may keep it open after a
    /// failed COMMIT) before the connection is used again, and nothing of it is applied.
    pub async fn commit(mut self) -> sqlx::Result<()> {
        sqlx::query("COMMIT").execute(&mut *self).await?;
        // Committed: the connection goes back to the pool as it is.
        drop(self.conn.take());
        Ok(())
    }

    /// Rolls back now, rather than when dropped.
    pub async fn rollback(mut self) {
        if let Some(mut conn) = self.conn.take() {
            rollback(&mut conn).await;
        }
    }
}

/// Undoes what the connection's transaction did. Nothing to undo is fine: the BEGIN failed,
/// the COMMIT went through, or SQLite already rolled back by itself. Any other failure leaves
/// the connection's state unknown: it is closed, and the pool opens another.
async fn rollback(conn: &mut PoolConnection<Sqlite>) {
    if let Err(e) = sqlx::query("ROLLBACK").execute(&mut **conn).await {
        let nothing_open = matches!(&e, sqlx::Error::Database(d)
            if d.message().contains("no transaction is active"));
        if !nothing_open {
            tracing::warn!(error = %e, "rollback failed; reopening the write connection");
            conn.close_on_drop();
        }
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            // The connection returns to the pool only after the rollback, so the next write
            // cannot start inside this transaction.
            Ok(rt) => {
                rt.spawn(async move { rollback(&mut conn).await });
            }
            // Without a runtime, closing the connection is what rolls it back.
            Err(_) => conn.close_on_drop(),
        }
    }
}

impl std::ops::Deref for WriteTx {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        self.conn
            .as_ref()
            .expect("a WriteTx holds its connection until it ends")
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        self.conn
            .as_mut()
            .expect("a WriteTx holds its connection until it ends")
    }
}
