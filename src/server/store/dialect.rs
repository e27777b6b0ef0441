//! The few places where SQLite and PostgreSQL need different SQL, and a query builder whose
//! placeholders both accept.
//!
//! Every query of the store is one text with `$1…$N` placeholders, run through sqlx's `Any`
//! driver on either database. What must differ is chosen here, by the connection's backend.

use sqlx::any::AnyArguments;
use sqlx::{Arguments, Encode, Type};

use super::super::writer::{PageLimit, WriterSettings, apply_max_pages};
use super::{Db, DbConnection, DbPool, DbPoolOptions, StoreError};

/// The database behind a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// The dialect of a database URL: `sqlite:…` or `postgres://…` (`postgresql://…`).
    pub fn of_url(url: &str) -> Result<Dialect, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Dialect::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Dialect::Postgres)
        } else {
            Err(StoreError::Db(sqlx::Error::Configuration(
                format!("the database URL must be sqlite:PATH or postgres://… (got {url:?})")
                    .into(),
            )))
        }
    }

    /// The dialect of an open connection.
    pub(crate) fn of(conn: &DbConnection) -> Dialect {
        if conn.backend_name() == "PostgreSQL" {
            Dialect::Postgres
        } else {
            Dialect::Sqlite
        }
    }

    /// The statements that begin a write transaction.
    ///
    /// SQLite: `BEGIN IMMEDIATE` takes the database's one write lock at once, so writers are
    /// serialized and the feed's sequence numbers are taken in commit order.
    ///
    /// PostgreSQL: writers on several instances run at once, and a sequence number (or an
    /// identity value) taken by one transaction may commit after a higher one taken by another;
    /// a reader that saw the higher one would then skip the lower for good. Every write
    /// transaction therefore first takes one transaction-scoped advisory lock, released at
    /// COMMIT or ROLLBACK: writes are serialized across instances as on SQLite, sequence order
    /// is commit order, and a reader sees a prefix of the feed.
    pub(crate) fn begin_write(self) -> &'static [&'static str] {
        match self {
            Dialect::Sqlite => &["BEGIN IMMEDIATE"],
            Dialect::Postgres => &["BEGIN", "SELECT pg_advisory_xact_lock(7216540114)"],
        }
    }
}

/// A query text with numbered placeholders and its arguments, built piece by piece (sqlx's
/// `QueryBuilder` writes `?` for the `Any` driver, which PostgreSQL refuses).
#[derive(Default)]
pub(crate) struct Sql {
    text: String,
    args: AnyArguments,
}

impl Sql {
    pub(crate) fn new(text: &str) -> Sql {
        Sql {
            text: text.to_string(),
            args: AnyArguments::default(),
        }
    }

    pub(crate) fn push(&mut self, text: &str) -> &mut Sql {
        self.text.push_str(text);
        self
    }

    /// Appends the next placeholder, bound to `value`.
    pub(crate) fn bind<T>(&mut self, value: T) -> &mut Sql
    where
        T: for<'e> Encode<'e, Db> + Type<Db> + Send + 'static,
    {
        // Encoding a value the `Any` driver supports does not fail.
        let _ = self.args.add(value);
        self.text.push_str(&format!("${}", self.args.len()));
        self
    }

    pub(crate) fn build(self) -> sqlx::query::Query<'static, Db, AnyArguments> {
        sqlx::query_with(sqlx::AssertSqlSafe(self.text), self.args)
    }
}

impl Dialect {
    /// SQLite's `INDEXED BY` hint, where its planner would pick a worse index; PostgreSQL's
    /// planner has statistics and takes no hints.
    pub(crate) fn indexed_by(self, index: &str) -> String {
        match self {
            Dialect::Sqlite => format!("INDEXED BY {index}"),
            Dialect::Postgres => String::new(),
        }
    }
}

/// The channel on which every PostgreSQL write transaction announces the feed's new head.
pub(crate) const FEED_CHANNEL: &str = "jieyou_feed";
/// Where instances announce the presence their consoles report.
pub(crate) const PRESENCE_CHANNEL: &str = "jieyou_presence";

/// Takes the next `n` feed sequence numbers inside the write's transaction and returns the
/// last. On PostgreSQL the new head is also announced on [`FEED_CHANNEL`]: the notification is
/// delivered at COMMIT (and not at all after a rollback), so the other instances wake their
/// long polls exactly when the change is visible to them.
pub(crate) async fn take_seqs(conn: &mut DbConnection, n: i64) -> Result<i64, StoreError> {
    let taken = match Dialect::of(conn) {
        Dialect::Sqlite => {
            sqlx::query_scalar("UPDATE feed_counter SET seq = seq + $1 WHERE id = 1 RETURNING seq")
                .bind(n)
        }
        // Announced by the same statement: one round trip to the database, not two.
        Dialect::Postgres => sqlx::query_scalar(
            "WITH taken AS (UPDATE feed_counter SET seq = seq + $1 WHERE id = 1 RETURNING seq)
             SELECT taken.seq FROM taken, pg_notify($2, taken.seq::text)",
        )
        .bind(n)
        .bind(FEED_CHANNEL),
    };
    Ok(taken.fetch_one(&mut *conn).await?)
}

/// The URL with one more query parameter.
fn with_param(url: &str, param: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{param}")
}

/// Opens a SQLite database's write pool (one connection, creating the file if missing) and its
/// read pool (read-only connections).
pub(super) async fn open_sqlite(
    url: &str,
    writer: WriterSettings,
    limit: PageLimit,
) -> Result<(DbPool, DbPool), StoreError> {
    let busy_ms = writer.busy_timeout.as_millis();
    let write = DbPoolOptions::new()
        .max_connections(1)
        // A local file's connection does not go stale: a ping before every write would be
        // one more round trip to SQLite's thread. One that failed is closed, not reused.
        .test_before_acquire(false)
        // Every connection, a replaced write connection too, gets the settings and the limit.
        .after_connect(move |conn, _| {
            let pages = limit.get();
            Box::pin(async move {
                for pragma in [
                    "PRAGMA journal_mode = WAL".to_string(),
                    // Every acknowledged write is on disk.
                    "PRAGMA synchronous = FULL".to_string(),
                    format!("PRAGMA busy_timeout = {busy_ms}"),
                    "PRAGMA foreign_keys = ON".to_string(),
                ] {
                    sqlx::query(sqlx::AssertSqlSafe(pragma))
                        .execute(&mut *conn)
                        .await?;
                }
                apply_max_pages(conn, pages).await
            })
        })
        .connect(&with_param(url, "mode=rwc"))
        .await?;
    let read = DbPoolOptions::new()
        .max_connections(4)
        .after_connect(move |conn, _| {
            Box::pin(async move {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "PRAGMA busy_timeout = {busy_ms}"
                )))
                .execute(&mut *conn)
                .await?;
                Ok(())
            })
        })
        .connect(&with_param(url, "mode=ro"))
        .await?;
    Ok((write, read))
}
