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

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::store::{Db, DbConnection, DbPool, Dialect, FeedRun, FeedRuns};
use futures::FutureExt;
use futures::future::BoxFuture;
use sqlx::pool::PoolConnection;
use tokio::sync::{mpsc, oneshot, watch};

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
            sqlx::Error::Database(db)
                if db
                    .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                    .is_some() =>
            {
                Self::of_sqlstate(db.code()?.as_ref())
            }
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

    /// PostgreSQL's faults, by SQLSTATE: the server going away or not taking connections
    /// (a restart under load), and running out of disk, memory or connections.
    fn of_sqlstate(code: &str) -> Option<StoreFault> {
        match code {
            "53100" => Some(StoreFault::Full), // disk full
            // Too many connections, out of memory: another try soon may get through.
            c if c.starts_with("53") => Some(StoreFault::Busy),
            // Lock not available, serialization failure, deadlock.
            "55P03" | "40001" | "40P01" => Some(StoreFault::Busy),
            // Admin or crash shutdown, cannot connect now, connection exceptions.
            c if c.starts_with("57P") || c.starts_with("08") => Some(StoreFault::Io),
            c if c.starts_with("58") => Some(StoreFault::Io), // system error (I/O)
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
pub(super) async fn apply_max_pages(conn: &mut DbConnection, pages: u64) -> sqlx::Result<()> {
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
    conn: Option<PoolConnection<Db>>,
}

impl WriteTx {
    pub(super) async fn begin(pool: &DbPool) -> sqlx::Result<WriteTx> {
        // Guarded before BEGIN: if this future is dropped while BEGIN waits for the lock, the
        // BEGIN may still succeed, and the guard's rollback then ends it.
        let mut tx = WriteTx {
            conn: Some(pool.acquire().await?),
        };
        for statement in Dialect::of(&tx).begin_write() {
            sqlx::query(*statement).execute(&mut *tx).await?;
        }
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
async fn rollback(conn: &mut PoolConnection<Db>) {
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
    type Target = DbConnection;
    fn deref(&self) -> &DbConnection {
        self.conn
            .as_ref()
            .expect("a WriteTx holds its connection until it ends")
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut DbConnection {
        self.conn
            .as_mut()
            .expect("a WriteTx holds its connection until it ends")
    }
}

/// What one write of a group gives back once it ran: its value (handed to the caller only after
/// the group's COMMIT) and the feed sequence numbers it took, if it changed a case.
pub(super) struct Step<T> {
    pub value: T,
    pub feed: Option<FeedRun>,
}

/// How many writes share one transaction at most: bounds how long the write lock is held and
/// how much one failed COMMIT takes with it.
const GROUP_LIMIT: usize = 128;

/// Hands a write's result to its caller once its group is committed, or the group's error.
/// Told that writes which ran were rolled back after all.
pub(super) type Lost = Box<dyn Fn() + Send + Sync>;

type Deliver = Box<dyn FnOnce(Result<(), StoreError>) + Send>;

/// The result of running one queued write on the group's connection.
enum Ran {
    /// Its statements are in the open transaction; `deliver` hands over the result once the
    /// group is committed, or the group's error.
    Applied {
        feed: Option<FeedRun>,
        deliver: Deliver,
    },
    /// It failed: nothing of it may stay in the transaction.
    Failed {
        error: StoreError,
        deliver: Box<dyn FnOnce(StoreError) + Send>,
    },
}

/// A queued write, its result type erased.
trait Job: Send {
    fn run<'c>(self: Box<Self>, conn: &'c mut DbConnection) -> BoxFuture<'c, Ran>;
    /// Refused without running (the group could not begin).
    fn fail(self: Box<Self>, error: StoreError);
}

struct Typed<T, F> {
    work: F,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> Job for Typed<T, F>
where
    T: Send + 'static,
    F: for<'c> FnOnce(&'c mut DbConnection) -> BoxFuture<'c, Result<Step<T>, StoreError>>
        + Send
        + 'static,
{
    fn run<'c>(self: Box<Self>, conn: &'c mut DbConnection) -> BoxFuture<'c, Ran> {
        let Typed { work, reply } = *self;
        Box::pin(async move {
            // A panicking write fails alone; the writer task and the other writes go on.
            match AssertUnwindSafe(work(conn)).catch_unwind().await {
                Ok(Ok(step)) => Ran::Applied {
                    feed: step.feed,
                    deliver: Box::new(move |committed: Result<(), StoreError>| {
                        let _ = reply.send(committed.map(|()| step.value));
                    }),
                },
                Ok(Err(error)) => Ran::Failed {
                    error,
                    deliver: Box::new(move |e| {
                        let _ = reply.send(Err(e));
                    }),
                },
                Err(_) => Ran::Failed {
                    error: StoreError::Db(sqlx::Error::Protocol("a write panicked".into())),
                    deliver: Box::new(move |e| {
                        let _ = reply.send(Err(e));
                    }),
                },
            }
        })
    }

    fn fail(self: Box<Self>, error: StoreError) {
        let _ = self.reply.send(Err(error));
    }
}

/// Group commit: writes queue here and one task runs them on the write connection, as many as
/// are waiting in one transaction, each inside its own savepoint, and commits them together
/// with one fsync. A write is answered only after the COMMIT that made it durable; a write
/// that fails is rolled back to its savepoint alone and the others commit. Feed sequence
/// numbers are taken inside the transaction, on the one connection, so their order is commit
/// order; long polls are woken once per group, and the feed hub is told which department feeds
/// the group moved.
#[derive(Clone)]
pub(super) struct GroupWriter {
    jobs: mpsc::UnboundedSender<Box<dyn Job>>,
    stats: Arc<Counters>,
}

/// How many writes were committed, in how many groups (each one COMMIT, one fsync).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteStats {
    pub writes: u64,
    pub groups: u64,
}

#[derive(Default)]
struct Counters {
    writes: AtomicU64,
    groups: AtomicU64,
}

impl GroupWriter {
    /// `lost` is called when a group's writes are rolled back together (it did not commit).
    pub(super) fn start(
        pool: DbPool,
        feed: watch::Sender<i64>,
        runs: Arc<FeedRuns>,
        lost: Lost,
    ) -> GroupWriter {
        let (jobs, queue) = mpsc::unbounded_channel();
        let stats = Arc::new(Counters::default());
        let sink = Sink { feed, runs, lost };
        tokio::spawn(drain(pool, sink, queue, stats.clone()));
        GroupWriter { jobs, stats }
    }

    /// The writes committed so far and the groups they were committed in.
    pub(super) fn stats(&self) -> WriteStats {
        WriteStats {
            writes: self.stats.writes.load(Ordering::Relaxed),
            groups: self.stats.groups.load(Ordering::Relaxed),
        }
    }

    /// Runs `work` in the next group and returns its value once the group is committed.
    pub(super) async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut DbConnection) -> BoxFuture<'c, Result<Step<T>, StoreError>>
            + Send
            + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let stopped =
            || StoreError::Unavailable(StoreFault::Io, "the database writer has stopped".into());
        self.jobs
            .send(Box::new(Typed { work, reply }))
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

/// The same failure for every write of a group that could not commit.
fn group_error(e: &StoreError) -> StoreError {
    match e.fault() {
        Some(fault) => StoreError::Unavailable(fault, e.to_string()),
        None => StoreError::Db(sqlx::Error::Protocol(format!(
            "the write's transaction failed: {e}"
        ))),
    }
}

/// Where the drain tells what its groups did: the feed's head, the runs it took, and `lost`.
struct Sink {
    feed: watch::Sender<i64>,
    runs: Arc<FeedRuns>,
    lost: Lost,
}

async fn drain(
    pool: DbPool,
    sink: Sink,
    mut queue: mpsc::UnboundedReceiver<Box<dyn Job>>,
    stats: Arc<Counters>,
) {
    // A write taken from the queue for a group that ended before it ran.
    let mut carried: Option<Box<dyn Job>> = None;
    loop {
        let first = match carried.take() {
            Some(job) => job,
            None => match queue.recv().await {
                Some(job) => job,
                None => return,
            },
        };
        let mut tx = match WriteTx::begin(&pool).await {
            Ok(tx) => tx,
            Err(e) => {
                // Whoever waits now would wait as long again: they are all told.
                let e = StoreError::from(e);
                first.fail(group_error(&e));
                while let Ok(job) = queue.try_recv() {
                    job.fail(group_error(&e));
                }
                continue;
            }
        };
        let mut applied: Vec<Deliver> = vec![];
        let mut run: Option<FeedRun> = None;
        let mut next = Some(first);
        let mut broken = None;
        // A savepoint `w` is open for the next write: begun together with the end of the
        // previous write's, one round trip to the database for both.
        let mut guarded = false;
        while let Some(job) = next.take() {
            // The group's first write needs no savepoint: if it fails, the whole transaction
            // is rolled back, and the next write begins a fresh one.
            let alone = applied.is_empty();
            if !alone
                && !guarded
                && let Err(e) = sqlx::query("SAVEPOINT w").execute(&mut *tx).await
            {
                let e = StoreError::from(e);
                job.fail(group_error(&e));
                broken = Some(e);
                break;
            }
            guarded = false;
            let mut went_through = false;
            match job.run(&mut tx).await {
                Ran::Applied { feed, deliver } => {
                    match (&mut run, feed) {
                        (Some(run), Some(feed)) => run.extend(feed),
                        (run @ None, feed) => *run = feed,
                        (Some(_), None) => {}
                    }
                    applied.push(deliver);
                    went_through = !alone;
                }
                Ran::Failed { error, deliver } if alone => {
                    deliver(error);
                    break;
                }
                Ran::Failed { error, deliver } => {
                    let undone = async {
                        sqlx::query("ROLLBACK TO w").execute(&mut *tx).await?;
                        sqlx::query("RELEASE w").execute(&mut *tx).await
                    };
                    if undone.await.is_err() {
                        // SQLite ended the whole transaction (a full disk, an I/O error): the
                        // writes before this one are gone with it.
                        broken = Some(group_error(&error));
                        deliver(error);
                        break;
                    }
                    deliver(error);
                }
            }
            if applied.len() < GROUP_LIMIT {
                next = queue.try_recv().ok();
            }
            // The savepoint of a write that went through ends as the next one's begins; the
            // last one's is ended by the COMMIT.
            if went_through && let Some(waiting) = next.take() {
                match sqlx::raw_sql("RELEASE w; SAVEPOINT w")
                    .execute(&mut *tx)
                    .await
                {
                    Ok(_) => {
                        guarded = true;
                        next = Some(waiting);
                    }
                    Err(e) => {
                        let e = StoreError::from(e);
                        waiting.fail(group_error(&e));
                        broken = Some(e);
                        break;
                    }
                }
            }
        }
        let committed = match broken {
            Some(e) => Err(e),
            None if applied.is_empty() => {
                tx.rollback().await;
                carried = queue.try_recv().ok();
                continue;
            }
            None => tx.commit().await.map_err(StoreError::from),
        };
        match committed {
            Ok(()) => {
                stats.groups.fetch_add(1, Ordering::Relaxed);
                stats
                    .writes
                    .fetch_add(applied.len() as u64, Ordering::Relaxed);
                if let Some(run) = run {
                    let head = run.head;
                    // Kept before the head moves: whoever wakes at the head finds the run.
                    sink.runs.push(run);
                    super::store::raise_feed(&sink.feed, head);
                }
                for deliver in applied {
                    deliver(Ok(()));
                }
            }
            Err(e) => {
                (sink.lost)();
                for deliver in applied {
                    deliver(Err(group_error(&e)));
                }
            }
        }
    }
}
