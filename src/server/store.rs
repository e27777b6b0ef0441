//! The SQLite store: cases, their immutable events, users, departments, idempotency records
//! and the change feed's sequence.
//!
//! Writes go through one connection (`write` pool of size 1) inside `BEGIN IMMEDIATE`
//! transactions, so they are serialized; each takes the feed's next sequence numbers inside its
//! transaction (writes of cases share group commits, see `writer.rs`). Sequence order is
//! therefore commit order, and a reader that sees sequence `s` sees every
//! change numbered below `s`: the feed cannot skip a change, by construction.
//! The feed's reads (deltas with tombstones, the database's identity) are in `store/feed.rs`.

mod answers;
mod candidates;
mod dialect;
mod escalation;
mod feed;
mod groups;
mod metrics;
mod moves;
mod next_due;
mod notify;
mod schema;
mod shifts;
mod tokens;
mod write_path;

use write_path::{RECEIVED, Taken, insert_received, take_and_record};

pub use answers::{AnswerFilter, StaleAnswer};
pub use dialect::Dialect;
pub use escalation::{ESCALATION_BATCH, EscalationPass};
pub use feed::{FeedPage, SnapshotPage, adopt_restored_copy};
pub use metrics::OpenCases;
pub use moves::FeedRun;
pub(crate) use moves::FeedRuns;
pub(crate) use notify::raise as raise_feed;
pub use schema::{MigrationName, SchemaStatus};
pub use shifts::ShiftRefusal;
pub use tokens::RECHECK as TOKEN_RECHECK;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sha2::{Digest, Sha256};
use sqlx::Row;
use tokio::sync::watch;

pub use super::writer::WriteStats;

use super::writer::{
    GroupWriter, PageLimit, Step, StoreFault, WriteHealth, WriteTx, WriterSettings, apply_max_pages,
};
use dialect::{Sql, open_sqlite, take_seqs};

use crate::domain::{self, Actor, CaseRecord, PendingExtensionRecord, Refusal};
use crate::wire::{
    CaseAction, Channel, ClockKind, Department, DepartmentKind, DepartmentPatch, Event, NewCase,
    Policy, Role, Satisfaction, Status, Tier,
};

/// The database the store's queries run on, named once so that the queries, rows and
/// connections of every store module follow it.
///
/// sqlx's `Any` driver: the same queries run on SQLite and on PostgreSQL (see
/// `store/dialect.rs` for the few that differ).
pub(crate) type Db = sqlx::Any;
pub(crate) type DbConnection = <Db as sqlx::Database>::Connection;
pub(crate) type DbRow = <Db as sqlx::Database>::Row;
pub(crate) type DbPool = sqlx::Pool<Db>;
pub(crate) type DbPoolOptions = sqlx::pool::PoolOptions<Db>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(String),
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// `If-Match` named another version: the case as it is now.
    #[error("case has changed: it is at version {}", .0.version)]
    Stale(Box<CaseRecord>),
    /// `If-Match` named another version of a department: the department as it is now.
    #[error("department has changed: it is at version {}", .0.version)]
    StaleDepartment(Box<Department>),
    #[error("{0}")]
    Duplicate(String),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Writes do not work now (found by the readiness probe, or remembered from a write).
    #[error("{1}")]
    Unavailable(StoreFault, String),
}

impl StoreError {
    /// The storage fault behind this error, if it is one.
    pub fn fault(&self) -> Option<StoreFault> {
        match self {
            StoreError::Db(e) => StoreFault::of(e),
            StoreError::Unavailable(f, _) => Some(*f),
            _ => None,
        }
    }
}

/// A user as stored; the token itself is never stored, only its SHA-256.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: i64,
    pub actor: Actor,
}

/// What a bearer token names.
#[derive(Debug, Clone, PartialEq)]
pub enum TokenOwner {
    User(User),
    /// The token was revoked, or replaced by `jieyou user rotate`.
    Revoked,
    Unknown,
}

/// A user as `jieyou user list` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct UserEntry {
    pub name: String,
    pub role: Role,
    pub department: Option<String>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// The answer an idempotent request gave the first time.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAnswer {
    pub status: u16,
    pub body: Vec<u8>,
}

/// An `Idempotency-Key` with a fingerprint of the request it was first used for.
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    pub key: String,
    pub request: String,
}

/// What a write returned: a fresh answer, or the replay of an earlier one.
#[derive(Debug)]
pub enum Written<T> {
    Fresh(T, StoredAnswer),
    Replayed(StoredAnswer),
}

/// Filters of the case search.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    pub statuses: Vec<Status>,
    /// `Some(None)`: untriaged only.
    pub tier: Option<Option<Tier>>,
    pub department_id: Option<i64>,
    pub q: Option<String>,
    /// The requester's phone, digits only: matched against the stored phone's digits.
    pub phone: Option<String>,
    /// Text in the requester's name.
    pub requester: Option<String>,
    /// Only ids below this (cursor pagination, newest first).
    pub before_id: Option<i64>,
    pub limit: i64,
    /// Overdue (`true`) or not (`false`) at the given time: past the case's earliest unmet
    /// deadline.
    pub overdue_at: Option<(bool, DateTime<Utc>)>,
}

/// Presence announcements from other instances held for a slow reader; a reader that falls
/// further behind misses some, which the consoles' next heartbeat repeats.
const PEER_PRESENCE_QUEUE: usize = 1024;

/// How long an `Idempotency-Key` is remembered by default.
pub const DEFAULT_IDEMPOTENCY_TTL_HOURS: i64 = 24;

#[derive(Clone)]
pub struct Store {
    dialect: Dialect,
    /// On PostgreSQL: follows the other instances' commits (see `store/notify.rs`).
    listener: Option<Arc<notify::Listener>>,
    /// Presence announced by the other instances on the database, as it came.
    peers: tokio::sync::broadcast::Sender<String>,
    read: DbPool,
    write: DbPool,
    feed: watch::Sender<i64>,
    /// What this process's group commits did to the feed, for the feed hub.
    runs: Arc<FeedRuns>,
    /// Made with the database and renewed by a restore; every feed cursor carries it.
    database_id: String,
    ref_prefix: String,
    tz: Tz,
    policy: Policy,
    idempotency_ttl: chrono::Duration,
    page_limit: PageLimit,
    health: WriteHealth,
    /// Runs the writes of cases in group commits.
    writer: GroupWriter,
    tokens: Arc<tokens::TokenCache>,
    /// The open untriaged cases a new case may be grouped with.
    candidates: Arc<candidates::CandidateIndex>,
}

fn new_token() -> String {
    format!(
        "jy_{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

pub fn hash_token(token: &str) -> String {
    use std::fmt::Write;
    let digest = Sha256::digest(token.as_bytes());
    // Every request hashes its token: one string, not one per byte.
    let mut hex = String::with_capacity(2 * digest.len());
    for b in digest {
        // Writing to a String does not fail.
        let _ = write!(hex, "{b:02x}");
    }
    hex
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn from_ms(v: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(v).unwrap_or_default()
}

fn opt_ms(t: Option<DateTime<Utc>>) -> Option<i64> {
    t.map(ms)
}

fn enum_str<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

fn parse_enum<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, sqlx::Error> {
    serde_json::from_value(serde_json::Value::String(s.to_string()))
        .map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

impl Store {
    /// Opens (creating if missing) the database at `url` (`sqlite:PATH`) and migrates it.
    pub async fn open(
        url: &str,
        ref_prefix: &str,
        tz: Tz,
        policy: Policy,
    ) -> Result<Store, StoreError> {
        Store::open_with(url, ref_prefix, tz, policy, WriterSettings::default()).await
    }

    /// [`Store::open`] with the write connection's busy timeout and page limit.
    pub async fn open_with(
        url: &str,
        ref_prefix: &str,
        tz: Tz,
        policy: Policy,
        writer: WriterSettings,
    ) -> Result<Store, StoreError> {
        let dialect = Dialect::of_url(url)?;
        sqlx::any::install_default_drivers();
        let page_limit = PageLimit::new(writer.max_database_pages);
        let (write, read) = match dialect {
            Dialect::Sqlite => {
                feed::quiet_memory_statistics();
                open_sqlite(url, writer, page_limit.clone()).await?
            }
            Dialect::Postgres => {
                let write = DbPoolOptions::new()
                    // One write connection per instance, as on SQLite: its group commits share
                    // one transaction, and the advisory lock serializes it with the other
                    // instances' (see `Dialect::begin_write`).
                    .max_connections(1)
                    .acquire_timeout(writer.busy_timeout)
                    .connect(url)
                    .await?;
                let read = DbPoolOptions::new()
                    .max_connections(8)
                    .acquire_timeout(writer.busy_timeout)
                    .connect(url)
                    .await?;
                (write, read)
            }
        };
        migrator(dialect).run(&write).await?;
        let seq: i64 = sqlx::query_scalar("SELECT seq FROM feed_counter WHERE id = 1")
            .fetch_one(&write)
            .await?;
        let database_id: String =
            sqlx::query_scalar("SELECT database_id FROM database_identity WHERE id = 1")
                .fetch_one(&write)
                .await?;
        let (feed, _) = watch::channel(seq);
        let candidates = Arc::new(candidates::CandidateIndex::default());
        let lost = candidates.clone();
        let runs = Arc::new(FeedRuns::default());
        let writer = GroupWriter::start(
            write.clone(),
            feed.clone(),
            runs.clone(),
            Box::new(move || lost.drop_all()),
        );
        let (peers, _) = tokio::sync::broadcast::channel(PEER_PRESENCE_QUEUE);
        let listener = match dialect {
            Dialect::Sqlite => None,
            Dialect::Postgres => {
                Some(notify::listen(url, read.clone(), feed.clone(), peers.clone()).await?)
            }
        };
        Ok(Store {
            dialect,
            listener,
            peers,
            read,
            write,
            feed,
            runs,
            database_id,
            ref_prefix: ref_prefix.to_string(),
            tz,
            policy,
            idempotency_ttl: chrono::Duration::hours(DEFAULT_IDEMPOTENCY_TTL_HOURS),
            page_limit,
            health: WriteHealth::default(),
            writer,
            tokens: Arc::default(),
            candidates,
        })
    }

    /// How long a used `Idempotency-Key` replays its first answer; after that it acts anew.
    pub fn set_idempotency_ttl(&mut self, ttl: chrono::Duration) {
        self.idempotency_ttl = ttl;
    }

    /// Recomputes every case's `next_due_at` when the policy differs from the one it was
    /// computed with (and once after the migration that added it, or on a database no server
    /// has opened yet), writing only the cases whose deadline moves. Called by the server at
    /// start-up, not by admin commands, which run with the default policy. Returns how many
    /// cases' deadlines moved.
    pub async fn refresh_next_due(&self) -> Result<usize, StoreError> {
        let fingerprint = serde_json::to_string(&self.policy).unwrap_or_default();
        let mut tx = self.begin_write().await?;
        let stored: Option<String> =
            sqlx::query_scalar("SELECT value FROM store_meta WHERE key = 'next_due_policy'")
                .fetch_optional(&mut *tx)
                .await?;
        if stored.as_deref() == Some(fingerprint.as_str()) {
            return Ok(0);
        }
        let moved = next_due::rewrite_moved(&mut tx, &self.policy).await?;
        sqlx::query(
            "INSERT INTO store_meta (key, value) VALUES ('next_due_policy', $1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(fingerprint)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(moved)
    }

    pub async fn close(&self) {
        if let Some(listener) = &self.listener {
            listener.stop();
        }
        self.write.close().await;
        self.read.close().await;
    }

    /// How many writes of cases were committed, in how many group commits.
    pub fn write_stats(&self) -> WriteStats {
        self.writer.stats()
    }

    /// Raises the feed's head to `seq` after a commit; it never moves back (on PostgreSQL,
    /// another instance's later commit may have been announced first).
    fn advance_feed(&self, seq: i64) {
        notify::raise(&self.feed, seq);
    }

    /// Receives the feed sequence after every committed write.
    pub fn subscribe(&self) -> watch::Receiver<i64> {
        self.feed.subscribe()
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    /// Keeps the outcome of a write for the readiness probe; a replay wrote nothing.
    fn observe<T>(&self, written: &Result<Written<T>, StoreError>) {
        match written {
            Ok(Written::Fresh(..)) => self.health.committed(),
            Ok(Written::Replayed(_)) => {}
            Err(e) => self.health.failed(e),
        }
    }

    async fn begin_write(&self) -> Result<WriteTx, StoreError> {
        Ok(WriteTx::begin(&self.write).await?)
    }

    /// Caps the database file at `pages` pages (0: no cap beyond SQLite's own; never below
    /// its current size). Past it, writes fail with [`StoreFault::Full`] and reads go on.
    pub async fn set_max_database_pages(&self, pages: u64) -> Result<(), StoreError> {
        self.page_limit.set(pages);
        let mut conn = self.write.acquire().await?;
        apply_max_pages(&mut conn, pages).await?;
        Ok(())
    }

    /// Whether a write would work now: the last write did not just fail with a storage fault,
    /// the write connection is free within `within`, the database's write lock can be taken
    /// (no other process holds it), and a page can be added to the file. Nothing is written:
    /// the probe's transaction is rolled back.
    pub async fn probe_writes(&self, within: Duration) -> Result<(), StoreError> {
        if let Some((fault, message)) = self.health.recent_fault() {
            return Err(StoreError::Unavailable(fault, message));
        }
        let probe = async {
            let mut tx = self.begin_write().await?;
            // A new table needs a new page: this fails as the next growing write would.
            sqlx::query("CREATE TABLE readiness_probe (x BIGINT)")
                .execute(&mut *tx)
                .await?;
            tx.rollback().await;
            Ok(())
        };
        match tokio::time::timeout(within, probe).await {
            Ok(r) => r,
            Err(_) => Err(StoreError::Unavailable(
                StoreFault::Busy,
                format!(
                    "the database's write lock was not free within {} ms",
                    within.as_millis()
                ),
            )),
        }
    }

    // ---- users and departments -------------------------------------------------------------

    /// Adds a user and returns the bearer token, shown once.
    pub async fn add_user(
        &self,
        name: &str,
        role: Role,
        department_id: Option<i64>,
    ) -> Result<String, StoreError> {
        domain::check_user_name(name).map_err(|message| Refusal::Invalid {
            field: "name".into(),
            message,
        })?;
        if role == Role::Department && department_id.is_none() {
            return Err(Refusal::Invalid {
                field: "department".into(),
                message: "a department user needs --department".into(),
            }
            .into());
        }
        if let Some(d) = department_id {
            self.department(d).await?;
        }
        let token = new_token();
        let res = sqlx::query(
            "INSERT INTO users (name, role, department_id, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(name)
        .bind(role.as_str())
        .bind(department_id)
        .bind(hash_token(&token))
        .bind(ms(Utc::now()))
        .execute(&self.write)
        .await;
        match res {
            Ok(_) => Ok(token),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(StoreError::Duplicate(format!("a user named {name} exists")))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// What the token names; remembered for later requests (see `store/tokens.rs`).
    pub async fn user_by_token(&self, token: &str) -> Result<TokenOwner, StoreError> {
        self.tokens.owner(&self.read, &hash_token(token)).await
    }

    /// Every user, by name.
    pub async fn users(&self) -> Result<Vec<UserEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT u.name, u.role, d.name AS department, u.created_at, u.revoked_at
             FROM users u LEFT JOIN departments d ON d.id = u.department_id ORDER BY u.name",
        )
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                let role: String = r.try_get("role")?;
                Ok(UserEntry {
                    name: r.try_get("name")?,
                    role: Role::parse(&role)
                        .ok_or_else(|| sqlx::Error::Decode(format!("role {role}").into()))?,
                    department: r.try_get("department")?,
                    created_at: from_ms(r.try_get("created_at")?),
                    revoked_at: r.try_get::<Option<i64>, _>("revoked_at")?.map(from_ms),
                })
            })
            .collect()
    }

    /// Revokes the user's token: it answers 401 from now on. Revoking twice is harmless.
    pub async fn revoke_user(&self, name: &str) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let done =
            sqlx::query("UPDATE users SET revoked_at = COALESCE(revoked_at, $1) WHERE name = $2")
                .bind(ms(Utc::now()))
                .bind(name)
                .execute(&mut *tx)
                .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("user {name}")));
        }
        tokens::bump_epoch(&mut tx).await?;
        tx.commit().await?;
        self.tokens.forget();
        Ok(())
    }

    /// Gives the user a new token (returned, shown once) and retires the old one; a revoked
    /// user is active again with the new token.
    pub async fn rotate_user(&self, name: &str) -> Result<String, StoreError> {
        let token = new_token();
        let mut tx = self.begin_write().await?;
        let row = sqlx::query("SELECT id, token_hash FROM users WHERE name = $1")
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            return Err(StoreError::NotFound(format!("user {name}")));
        };
        let id: i64 = row.try_get("id")?;
        let old: String = row.try_get("token_hash")?;
        sqlx::query(
            "INSERT INTO retired_tokens (token_hash, user_id, retired_at) VALUES ($1, $2, $3)
             ON CONFLICT (token_hash) DO NOTHING",
        )
        .bind(old)
        .bind(id)
        .bind(ms(Utc::now()))
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE users SET token_hash = $1, revoked_at = NULL WHERE id = $2")
            .bind(hash_token(&token))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tokens::bump_epoch(&mut tx).await?;
        tx.commit().await?;
        self.tokens.forget();
        Ok(token)
    }

    pub async fn add_department(
        &self,
        name: &str,
        kind: DepartmentKind,
    ) -> Result<Department, StoreError> {
        let name = name.trim();
        check_department_name(name)?;
        let res = sqlx::query("INSERT INTO departments (name, kind) VALUES ($1, $2) RETURNING id")
            .bind(name)
            .bind(enum_str(&kind))
            .fetch_one(&self.write)
            .await;
        match res {
            Ok(row) => Ok(Department {
                id: row.try_get("id")?,
                name: name.to_string(),
                kind,
                active: true,
                version: 1,
                on_duty: Vec::new(),
            }),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(StoreError::Duplicate(
                format!("a department named {name} exists"),
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// Changes a department; `expected_version` is the `If-Match` version (`None`: the
    /// caller sent a weak tag, which matches no version).
    pub async fn patch_department(
        &self,
        id: i64,
        expected_version: Option<i64>,
        patch: &DepartmentPatch,
    ) -> Result<Department, StoreError> {
        // A bad field is refused whatever the version.
        if let Some(name) = patch.name.as_deref().map(str::trim) {
            check_department_name(name)?;
        }
        let mut tx = self.begin_write().await?;
        let row = sqlx::query("SELECT * FROM departments WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let mut d = match row {
            Some(r) => department_from_row(&r)?,
            None => return Err(StoreError::NotFound(format!("department {id}"))),
        };
        if expected_version != Some(d.version) {
            return Err(StoreError::StaleDepartment(Box::new(d)));
        }
        if let Some(name) = &patch.name {
            d.name = name.trim().to_string();
        }
        if let Some(kind) = patch.kind {
            d.kind = kind;
        }
        if let Some(active) = patch.active {
            d.active = active;
        }
        d.version += 1;
        let res = sqlx::query(
            "UPDATE departments SET name = $1, kind = $2, active = $3, version = $4 WHERE id = $5",
        )
        .bind(&d.name)
        .bind(enum_str(&d.kind))
        .bind(i64::from(d.active))
        .bind(d.version)
        .bind(id)
        .execute(&mut *tx)
        .await;
        match res {
            Ok(_) => {
                tx.commit().await?;
                Ok(d)
            }
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(StoreError::Duplicate(
                format!("a department named {} exists", d.name),
            )),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn departments(&self) -> Result<Vec<Department>, StoreError> {
        let rows = sqlx::query("SELECT * FROM departments ORDER BY id")
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(department_from_row).collect()
    }

    pub async fn department(&self, id: i64) -> Result<Department, StoreError> {
        let row = sqlx::query("SELECT * FROM departments WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        match row {
            Some(r) => department_from_row(&r),
            None => Err(StoreError::NotFound(format!("department {id}"))),
        }
    }

    // ---- cases --------------------------------------------------------------------------------

    pub async fn case(&self, id: i64) -> Result<CaseRecord, StoreError> {
        let row = sqlx::query("SELECT * FROM cases WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        match row {
            Some(r) => Ok(record_from_row(&r)?),
            None => Err(StoreError::NotFound(format!("case {id}"))),
        }
    }

    /// The latest `n` events of a case, oldest first, and how many it has in all.
    pub async fn latest_events(
        &self,
        case_id: i64,
        n: i64,
    ) -> Result<(Vec<Event>, i64), StoreError> {
        let mut tx = self.read.begin().await?;
        let rows = sqlx::query(
            "SELECT * FROM (SELECT * FROM events WHERE case_id = $1 ORDER BY id DESC LIMIT $2) AS latest
             ORDER BY id",
        )
        .bind(case_id)
        .bind(n)
        .fetch_all(&mut *tx)
        .await?;
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE case_id = $1")
            .bind(case_id)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok((self.events_of(&rows)?, count))
    }

    /// At most `limit` events of a case after event `after`, oldest first, and whether more
    /// follow.
    pub async fn events_page(
        &self,
        case_id: i64,
        after: i64,
        limit: i64,
    ) -> Result<(Vec<Event>, bool), StoreError> {
        let rows =
            sqlx::query("SELECT * FROM events WHERE case_id = $1 AND id > $2 ORDER BY id LIMIT $3")
                .bind(case_id)
                .bind(after)
                .bind(limit + 1)
                .fetch_all(&self.read)
                .await?;
        let more = rows.len() as i64 > limit;
        let rows = &rows[..rows.len().min(limit as usize)];
        Ok((self.events_of(rows)?, more))
    }

    fn events_of(&self, rows: &[DbRow]) -> Result<Vec<Event>, StoreError> {
        rows.iter()
            .map(|r| event_from_row(r, self.tz).map_err(StoreError::from))
            .collect()
    }

    /// Every event in `[from, to)`, oldest first.
    pub async fn events_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Event>, StoreError> {
        let rows = sqlx::query("SELECT * FROM events WHERE at >= $1 AND at < $2 ORDER BY id")
            .bind(ms(from))
            .bind(ms(to))
            .fetch_all(&self.read)
            .await?;
        self.events_of(&rows)
    }

    /// Records in the case's timeline that `actor` was shown the requester's phone at `now`.
    /// An audit entry only: the case, its version and the change feed are untouched, so no
    /// one's `If-Match` goes stale because somebody looked.
    pub async fn record_phone_reveal(
        &self,
        case_id: i64,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let payload = serde_json::json!({ "field": "requester.phone" });
        insert_event(
            &mut tx,
            case_id,
            now,
            actor,
            PHONE_REVEALED,
            None,
            None,
            &payload,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Creates a case received at `now`. With `idem`, a repeated key replays the first answer.
    /// The write shares a group commit with whatever else is queued; it returns once durable.
    pub async fn create_case(
        &self,
        new: &NewCase,
        actor: &Actor,
        now: DateTime<Utc>,
        idem: Option<&IdempotencyKey>,
        render: impl FnOnce(&CaseRecord, &[Event], i64) -> StoredAnswer + Send + 'static,
    ) -> Result<Written<CaseRecord>, StoreError> {
        let store = self.clone();
        let (new, actor, idem) = (new.clone(), actor.clone(), idem.cloned());
        let wrote = self
            .writer
            .write(move |conn| {
                Box::pin(async move {
                    let tentative = store.candidates.tentative();
                    let step = store
                        .create_in(conn, &new, &actor, now, idem.as_ref(), Box::new(render))
                        .await;
                    if step.is_ok() {
                        tentative.keep();
                    }
                    step
                })
            })
            .await;
        let written = answered(wrote);
        self.observe(&written);
        written
    }

    async fn create_in(
        &self,
        conn: &mut DbConnection,
        new: &NewCase,
        actor: &Actor,
        now: DateTime<Utc>,
        idem: Option<&IdempotencyKey>,
        render: Render,
    ) -> Result<Step<Wrote>, StoreError> {
        let (seq, reference) = match self.take_seq_and_reference(conn, actor, idem, now).await? {
            Taken::Fresh(taken) => taken,
            Taken::Answered => return self.replayed(conn, actor, idem, now).await,
        };
        let rec = CaseRecord::received(reference, new, now);
        // The group is chosen first, so the case is written with it in one statement.
        let group = candidates::choose_group(&self.candidates, conn, seq, &rec).await?;
        let rec = CaseRecord { group, ..rec };
        let payload = serde_json::json!({ "channel": rec.channel });
        let (id, event_id) =
            insert_received(conn, &rec, &self.policy, seq, actor, &payload).await?;
        let rec = CaseRecord { id, ..rec };
        candidates::added(&self.candidates, id, seq, &rec);
        let mut run = FeedRun::new(seq, seq);
        run.moved(rec.department_id, seq);
        let event = self.written_event(
            event_id,
            id,
            now,
            actor,
            RECEIVED,
            None,
            Some(Status::New),
            payload,
        );
        let fresh = Fresh {
            rec,
            events: vec![event],
            count: 1,
        };
        self.finish_in(conn, actor, idem, now, fresh, run, render)
            .await
    }

    /// Applies `action` to case `id`. `expected_version` is the `If-Match` version. The write
    /// shares a group commit with whatever else is queued; it returns once durable.
    #[allow(clippy::too_many_arguments)]
    pub async fn act(
        &self,
        id: i64,
        expected_version: Option<i64>,
        action: &CaseAction,
        actor: &Actor,
        now: DateTime<Utc>,
        idem: Option<&IdempotencyKey>,
        render: impl FnOnce(&CaseRecord, &[Event], i64) -> StoredAnswer + Send + 'static,
    ) -> Result<Written<CaseRecord>, StoreError> {
        // A bad text is refused before the version is weighed, and takes no turn at writing.
        domain::check_fields(action)?;
        let store = self.clone();
        let (action, actor, idem) = (action.clone(), actor.clone(), idem.cloned());
        let wrote = self
            .writer
            .write(move |conn| {
                Box::pin(async move {
                    store
                        .act_in(
                            conn,
                            id,
                            expected_version,
                            &action,
                            &actor,
                            now,
                            idem.as_ref(),
                            Box::new(render),
                        )
                        .await
                })
            })
            .await;
        let written = answered(wrote);
        self.observe(&written);
        written
    }

    #[allow(clippy::too_many_arguments)]
    async fn act_in(
        &self,
        conn: &mut DbConnection,
        id: i64,
        expected_version: Option<i64>,
        action: &CaseAction,
        actor: &Actor,
        now: DateTime<Utc>,
        idem: Option<&IdempotencyKey>,
        render: Render,
    ) -> Result<Step<Wrote>, StoreError> {
        let (mut rec, events_before) =
            match self.load_for_action(conn, id, actor, idem, now).await? {
                Taken::Fresh(loaded) => loaded,
                Taken::Answered => return self.replayed(conn, actor, idem, now).await,
            };
        if !actor.can_see(&rec) {
            return Err(StoreError::NotFound(format!("case {id}")));
        }
        if let Some(v) = expected_version
            && v != rec.version
        {
            return Err(StoreError::Stale(Box::new(rec)));
        }
        let held_by = rec.department_id;
        // Role, visibility, state and claim first; then what the action refers to.
        let mut outcome = domain::apply(&mut rec, action, actor, &self.policy, now)?;
        match action {
            CaseAction::Dispatch(b) => {
                let dept = sqlx::query("SELECT name, active FROM departments WHERE id = $1")
                    .bind(b.department_id)
                    .fetch_optional(&mut *conn)
                    .await?;
                let invalid = |message: String| -> StoreError {
                    Refusal::Invalid {
                        field: "department_id".into(),
                        message,
                    }
                    .into()
                };
                let Some(dept) = dept else {
                    return Err(invalid(format!("no department {}", b.department_id)));
                };
                if !flag(&dept, "active")? {
                    return Err(invalid(format!(
                        "department {} is inactive",
                        b.department_id
                    )));
                }
                let name: String = dept.try_get("name")?;
                outcome.payload["department_name"] = serde_json::json!(name);
            }
            CaseAction::Merge(b) if b.into != id => {
                let target = match load_for_update(conn, b.into).await {
                    Ok(t) => t,
                    Err(StoreError::NotFound(_)) => {
                        return Err(Refusal::Invalid {
                            field: "into".into(),
                            message: format!("no case {}", b.into),
                        }
                        .into());
                    }
                    Err(e) => return Err(e),
                };
                if target.status == Status::Closed {
                    return Err(Refusal::Conflict(format!(
                        "cannot merge into {}: it is closed",
                        target.reference
                    ))
                    .into());
                }
            }
            CaseAction::AnswerOnline(b) => {
                if let Some(r) = b.answer {
                    answers::check_answer_ref(conn, r, now).await?;
                }
            }
            _ => {}
        }
        name_department(conn, &mut outcome.payload).await?;
        let moved = (Some(outcome.from_status), Some(outcome.to_status));
        let (seq, event_id) = take_and_record(
            conn,
            &rec,
            &self.policy,
            now,
            actor,
            action.name(),
            moved,
            &outcome.payload,
        )
        .await?;
        let event = self.written_event(
            event_id,
            id,
            now,
            actor,
            action.name(),
            moved.0,
            moved.1,
            outcome.payload,
        );
        if let CaseAction::AnswerOnline(b) = action
            && let Some(r) = b.answer
        {
            answers::record_answer_use(conn, r, id, event.id, actor, now).await?;
        }
        let mut head = seq;
        // The department of the case merged into, whose feed moves with it.
        let mut target_department = None;
        if let CaseAction::Merge(b) = action {
            let mut target = load_for_update(conn, b.into).await?;
            target_department = target.department_id;
            target.version += 1;
            target.updated_at = now;
            head = next_seq(conn).await?;
            bind_update(&target, &self.policy, head)
                .execute(&mut *conn)
                .await?;
            let payload =
                serde_json::json!({ "duplicate": rec.id, "duplicate_ref": rec.reference });
            insert_event(
                conn,
                target.id,
                now,
                actor,
                "merged-in",
                Some(target.status),
                Some(target.status),
                &payload,
            )
            .await?;
        }
        let mut run = FeedRun::new(seq, head);
        run.moved(rec.department_id, seq);
        run.moved(target_department, head);
        // A return, a reassignment or a reopen: the department that held the case hears of it.
        if let Some(d) = held_by.filter(|d| rec.department_id != Some(*d)) {
            feed::record_departure(conn, id, d, seq).await?;
            run.moved(Some(d), seq);
        }
        // The action added one event to the case (a merge's goes to the case merged into).
        let fresh = Fresh {
            rec,
            events: vec![event],
            count: events_before + 1,
        };
        self.finish_in(conn, actor, idem, now, fresh, run, render)
            .await
    }

    /// Ends a write on its case: the answer is stored under the idempotency key (rendered
    /// here, inside the transaction, only then); without a key it is rendered after COMMIT.
    #[allow(clippy::too_many_arguments)]
    async fn finish_in(
        &self,
        conn: &mut DbConnection,
        actor: &Actor,
        idem: Option<&IdempotencyKey>,
        now: DateTime<Utc>,
        fresh: Fresh,
        run: FeedRun,
        render: Render,
    ) -> Result<Step<Wrote>, StoreError> {
        let answer = match idem {
            Some(k) => {
                let answer = render(&fresh.rec, &fresh.events, fresh.count);
                // An expired key not purged yet is replaced: it acts anew.
                sqlx::query(
                    "INSERT INTO idempotency (user_name, key, request, status, body, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT (user_name, key) DO UPDATE SET request = excluded.request,
                       status = excluded.status, body = excluded.body,
                       created_at = excluded.created_at",
                )
                .bind(&actor.name)
                .bind(&k.key)
                .bind(&k.request)
                .bind(answer.status as i64)
                .bind(&answer.body)
                .bind(ms(now))
                .execute(&mut *conn)
                .await?;
                Answer::Rendered(answer)
            }
            None => Answer::Later(render),
        };
        Ok(Step {
            value: Wrote::Fresh(Box::new(fresh), answer),
            feed: Some(run),
        })
    }

    /// An event by `actor` as a read would return it once inserted as `id`.
    #[allow(clippy::too_many_arguments)]
    fn written_event(
        &self,
        id: i64,
        case_id: i64,
        at: DateTime<Utc>,
        actor: &Actor,
        action: &str,
        from: Option<Status>,
        to: Option<Status>,
        payload: serde_json::Value,
    ) -> Event {
        Event {
            id,
            case_id,
            // As stored: to the millisecond.
            at: from_ms(ms(at)).with_timezone(&self.tz).fixed_offset(),
            actor: actor.name.clone(),
            actor_role: actor.role,
            system: false,
            action: action.to_string(),
            from_status: from,
            to_status: to,
            payload,
        }
    }

    /// Forgets the idempotency keys expired at `now`, a thousand rows per short transaction
    /// so writes waiting meanwhile are not held up; returns how many. Run periodically, off
    /// the write path (an expired key is ignored by the replay until it is purged).
    pub async fn purge_idempotency(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        const BATCH: u64 = 1000;
        let expired = ms(now - self.idempotency_ttl);
        let mut purged = 0;
        loop {
            let mut tx = self.begin_write().await?;
            let n = sqlx::query(
                "DELETE FROM idempotency WHERE (user_name, key) IN
                   (SELECT user_name, key FROM idempotency WHERE created_at <= $1 LIMIT 1000)",
            )
            .bind(expired)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                tx.rollback().await;
                return Ok(purged);
            }
            tx.commit().await?;
            purged += n;
            if n < BATCH {
                return Ok(purged);
            }
        }
    }

    /// Newest first, cursor-paginated by id.
    pub async fn search(&self, f: &CaseFilter) -> Result<Vec<CaseRecord>, StoreError> {
        // Overdue cases are few: read them off the index and sort them, rather than walk every
        // case newest first (which the planner prefers for `ORDER BY id DESC LIMIT`).
        let index = if matches!(f.overdue_at, Some((true, _))) {
            self.dialect.indexed_by("cases_next_due")
        } else {
            String::new()
        };
        let mut qb = Sql::new(&format!("SELECT * FROM cases {index} WHERE 1 = 1"));
        if !f.statuses.is_empty() {
            qb.push(" AND status IN (");
            for (i, s) in f.statuses.iter().enumerate() {
                if i > 0 {
                    qb.push(", ");
                }
                qb.bind(s.as_str().to_string());
            }
            qb.push(")");
        }
        match f.tier {
            Some(Some(t)) => {
                qb.push(" AND tier = ").bind(t.as_str().to_string());
            }
            Some(None) => {
                qb.push(" AND tier IS NULL");
            }
            None => {}
        }
        if let Some(d) = f.department_id {
            qb.push(" AND department_id = ").bind(d);
        }
        if let Some(q) = f.q.as_deref().filter(|q| !q.is_empty()) {
            // Both sides lowered by the database's own LOWER: case-insensitive on both.
            let like = format!("%{}%", escape_like(q));
            let mut sep = " AND (";
            for column in [
                "reference",
                "title",
                "description",
                "town",
                "requester_name",
            ] {
                qb.push(sep)
                    .push("LOWER(")
                    .push(column)
                    .push(") LIKE LOWER(")
                    .bind(like.clone())
                    .push(") ESCAPE '\\'");
                sep = " OR ";
            }
            qb.push(")");
        }
        match f.overdue_at {
            Some((true, now)) => {
                qb.push(" AND next_due_at < ").bind(ms(now));
            }
            Some((false, now)) => {
                qb.push(" AND (next_due_at IS NULL OR next_due_at >= ")
                    .bind(ms(now))
                    .push(")");
            }
            None => {}
        }
        if let Some(p) = f.phone.as_deref() {
            // Phones are stored as typed (`138-0000 0000`, `+86…`): compare their digits.
            qb.push(
                " AND REPLACE(REPLACE(REPLACE(requester_phone, ' ', ''), '-', ''), '+', '') = ",
            )
            .bind(p.to_string());
        }
        if let Some(r) = f.requester.as_deref() {
            qb.push(" AND LOWER(requester_name) LIKE LOWER(")
                .bind(format!("%{}%", r.replace(['%', '_'], "")))
                .push(")");
        }
        if let Some(b) = f.before_id {
            qb.push(" AND id < ").bind(b);
        }
        qb.push(" ORDER BY id DESC LIMIT ").bind(f.limit);
        let rows = qb.build().fetch_all(&self.read).await?;
        Ok(rows.iter().map(record_from_row).collect::<Result<_, _>>()?)
    }
}

fn check_department_name(name: &str) -> Result<(), StoreError> {
    crate::text_rules::check(name, crate::text_rules::TextRule::name(100)).map_err(|message| {
        Refusal::Invalid {
            field: "name".into(),
            message,
        }
        .into()
    })
}

/// `q` as a literal inside a `LIKE ... ESCAPE '\'` pattern: `%`, `_` and `\` match
/// themselves.
fn escape_like(q: &str) -> String {
    let mut out = String::with_capacity(q.len());
    for c in q.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Writes the department's current name beside its id, so reports of the day keep it after a
/// rename.
async fn name_department(
    conn: &mut DbConnection,
    payload: &mut serde_json::Value,
) -> Result<(), StoreError> {
    let Some(id) = payload.get("department_id").and_then(|v| v.as_i64()) else {
        return Ok(());
    };
    if payload.get("department_name").is_some() {
        return Ok(());
    }
    let name: Option<String> = sqlx::query_scalar("SELECT name FROM departments WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await?;
    payload["department_name"] = serde_json::json!(name);
    Ok(())
}

/// The next feed sequence number, for one changed case. Taken on the one write connection
/// inside the write's transaction, so sequence order is commit order.
async fn next_seq(conn: &mut DbConnection) -> Result<i64, StoreError> {
    take_seqs(conn, 1).await
}

/// The schema's migrations for the dialect, embedded in the binary.
fn migrator(dialect: Dialect) -> sqlx::migrate::Migrator {
    match dialect {
        Dialect::Sqlite => sqlite_migrator(),
        Dialect::Postgres => postgres_migrator(),
    }
}

fn postgres_migrator() -> sqlx::migrate::Migrator {
    migrations(&[
        (
            1,
            "init",
            include_str!("../../assets/migrations/postgres/0001_init.sql"),
        ),
        (
            2,
            "feed",
            include_str!("../../assets/migrations/postgres/0002_feed.sql"),
        ),
        (
            3,
            "contract",
            include_str!("../../assets/migrations/postgres/0003_contract.sql"),
        ),
        (
            4,
            "clocks_from",
            include_str!("../../assets/migrations/postgres/0004_clocks_from.sql"),
        ),
        (
            5,
            "answers",
            include_str!("../../assets/migrations/postgres/0005_answers.sql"),
        ),
        (
            6,
            "groups",
            include_str!("../../assets/migrations/postgres/0006_groups.sql"),
        ),
        (
            7,
            "shifts",
            include_str!("../../assets/migrations/postgres/0007_shifts.sql"),
        ),
        (
            8,
            "write_path",
            include_str!("../../assets/migrations/postgres/0008_write_path.sql"),
        ),
    ])
}

fn sqlite_migrator() -> sqlx::migrate::Migrator {
    migrations(&[
        (
            1,
            "init",
            include_str!("../../assets/migrations/sqlite/0001_init.sql"),
        ),
        (
            2,
            "feed",
            include_str!("../../assets/migrations/sqlite/0002_feed.sql"),
        ),
        (
            3,
            "contract",
            include_str!("../../assets/migrations/sqlite/0003_contract.sql"),
        ),
        (
            4,
            "clocks_from",
            include_str!("../../assets/migrations/sqlite/0004_clocks_from.sql"),
        ),
        (
            5,
            "answers",
            include_str!("../../assets/migrations/sqlite/0005_answers.sql"),
        ),
        (
            6,
            "groups",
            include_str!("../../assets/migrations/sqlite/0006_groups.sql"),
        ),
        (
            7,
            "shifts",
            include_str!("../../assets/migrations/sqlite/0007_shifts.sql"),
        ),
        (
            8,
            "write_path",
            include_str!("../../assets/migrations/sqlite/0008_write_path.sql"),
        ),
    ])
}

fn migrations(all: &[(i64, &'static str, &'static str)]) -> sqlx::migrate::Migrator {
    use sqlx::SqlSafeStr;
    use sqlx::migrate::{Migration, MigrationType, Migrator};
    Migrator::with_migrations(
        all.iter()
            .map(|&(version, name, sql)| {
                Migration::new(
                    version,
                    name.into(),
                    MigrationType::Simple,
                    sqlx::AssertSqlSafe(sql).into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

impl Store {
    /// The first answer given to this user's key, if it has not expired; an expired key acts
    /// anew.
    async fn replay(
        &self,
        conn: &mut DbConnection,
        actor: &Actor,
        idem: Option<&IdempotencyKey>,
        now: DateTime<Utc>,
    ) -> Result<Option<StoredAnswer>, StoreError> {
        let Some(k) = idem else { return Ok(None) };
        let row = sqlx::query(
            "SELECT request, status, body FROM idempotency
             WHERE user_name = $1 AND key = $2 AND created_at > $3",
        )
        .bind(&actor.name)
        .bind(&k.key)
        .bind(ms(now - self.idempotency_ttl))
        .fetch_optional(&mut *conn)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let request: String = row.try_get("request")?;
        if request != k.request {
            return Err(Refusal::Invalid {
                field: "Idempotency-Key".into(),
                message: "this key was already used for a different request".into(),
            }
            .into());
        }
        let status: i64 = row.try_get("status")?;
        Ok(Some(StoredAnswer {
            status: status as u16,
            body: row.try_get("body")?,
        }))
    }
}

/// An answer renderer that may run on the writer task.
type Render = Box<dyn FnOnce(&CaseRecord, &[Event], i64) -> StoredAnswer + Send>;

/// A write's answer: rendered inside its transaction (to be stored under its idempotency
/// key), or to be rendered after COMMIT.
enum Answer {
    Rendered(StoredAnswer),
    Later(Render),
}

/// What a write recorded on its case: the case, the events it added to it, and how many the
/// case has now.
struct Fresh {
    rec: CaseRecord,
    events: Vec<Event>,
    count: i64,
}

/// What a write on a case did, before its answer is rendered.
enum Wrote {
    Replayed(StoredAnswer),
    Fresh(Box<Fresh>, Answer),
}

/// The caller's side of a committed write: renders the answer unless the write did.
fn answered(wrote: Result<Wrote, StoreError>) -> Result<Written<CaseRecord>, StoreError> {
    Ok(match wrote? {
        Wrote::Replayed(answer) => Written::Replayed(answer),
        Wrote::Fresh(fresh, answer) => {
            let answer = match answer {
                Answer::Rendered(answer) => answer,
                Answer::Later(render) => render(&fresh.rec, &fresh.events, fresh.count),
            };
            Written::Fresh(fresh.rec, answer)
        }
    })
}

async fn load_for_update(conn: &mut DbConnection, id: i64) -> Result<CaseRecord, StoreError> {
    let row = sqlx::query("SELECT * FROM cases WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await?;
    match row {
        Some(r) => Ok(record_from_row(&r)?),
        None => Err(StoreError::NotFound(format!("case {id}"))),
    }
}

#[allow(clippy::too_many_arguments)]
async fn insert_event(
    conn: &mut DbConnection,
    case_id: i64,
    at: DateTime<Utc>,
    actor: &Actor,
    action: &str,
    from: Option<Status>,
    to: Option<Status>,
    payload: &serde_json::Value,
) -> Result<i64, StoreError> {
    let who = (actor.name.as_str(), actor.role.as_str());
    insert_event_as(conn, case_id, at, who, action, from, to, payload).await
}

/// The action name of the audit entry a phone reveal leaves.
pub const PHONE_REVEALED: &str = "phone-revealed";

/// The `actor_role` stored for events the server writes itself; read back as a supervisor's
/// event with `system` set.
const SYSTEM_ROLE: &str = "system";

/// Inserts an event by `(name, role)` as stored.
#[allow(clippy::too_many_arguments)]
async fn insert_event_as(
    conn: &mut DbConnection,
    case_id: i64,
    at: DateTime<Utc>,
    (name, role): (&str, &str),
    action: &str,
    from: Option<Status>,
    to: Option<Status>,
    payload: &serde_json::Value,
) -> Result<i64, StoreError> {
    let id = sqlx::query_scalar(
        "INSERT INTO events (case_id, at, actor, actor_role, action, from_status, to_status, payload)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(case_id)
    .bind(ms(at))
    .bind(name)
    .bind(role)
    .bind(action)
    .bind(from.map(Status::as_str))
    .bind(to.map(Status::as_str))
    .bind(payload.to_string())
    .fetch_one(conn)
    .await?;
    Ok(id)
}

const INSERT_CASE: &str = "INSERT INTO cases (
    reference, version, channel, category, title, description, requester_name, requester_phone,
    town, address, lat, long, tier, status, department_id, claimed_by, received_at, triaged_at,
    first_dispatched_at, dispatched_at, signed_at, resolved_at, followed_up_at, closed_at,
    updated_at, feedback_due_override, return_count, extension_count, urge_count, ext_until,
    ext_reason, ext_by, ext_at, satisfaction, merged_into, follow_up_required, awaiting_ruling,
    escalation_clock, escalation_due_at, escalation_level, escalated_at, clocks_from, next_due_at,
    change_seq, group_id)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29,
            $30, $31, $32, $33, $34, $35, $36, $37, $38, $39, $40, $41, $42, $43, $44, $45)
    RETURNING id";

const UPDATE_CASE: &str = "UPDATE cases SET
    reference = $1, version = $2, channel = $3, category = $4, title = $5, description = $6,
    requester_name = $7, requester_phone = $8, town = $9, address = $10, lat = $11, long = $12, tier = $13,
    status = $14, department_id = $15, claimed_by = $16, received_at = $17, triaged_at = $18,
    first_dispatched_at = $19, dispatched_at = $20, signed_at = $21, resolved_at = $22,
    followed_up_at = $23, closed_at = $24, updated_at = $25, feedback_due_override = $26,
    return_count = $27, extension_count = $28, urge_count = $29, ext_until = $30, ext_reason = $31,
    ext_by = $32, ext_at = $33, satisfaction = $34, merged_into = $35, follow_up_required = $36,
    awaiting_ruling = $37, escalation_clock = $38, escalation_due_at = $39, escalation_level = $40,
    escalated_at = $41, clocks_from = $42, next_due_at = $43, change_seq = $44
    WHERE id = $45";

type SqliteQuery<'q> = sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments>;

/// The case's earliest unmet deadline under `policy`, in ms (what `next_due_at` holds).
fn next_due_ms(r: &CaseRecord, policy: &Policy) -> Option<i64> {
    domain::next_due(&domain::deadlines(r, policy, r.updated_at)).map(|d| ms(d.due_at))
}

/// Binds every column of a record but `change_seq`, in the order of [`INSERT_CASE`] and
/// [`UPDATE_CASE`].
fn bind_record<'q>(q: SqliteQuery<'q>, r: &'q CaseRecord, policy: &Policy) -> SqliteQuery<'q> {
    let ext = r.pending_extension.as_ref();
    q.bind(&r.reference)
        .bind(r.version)
        .bind(r.channel.as_str())
        .bind(&r.category)
        .bind(&r.title)
        .bind(&r.description)
        .bind(&r.requester_name)
        .bind(&r.requester_phone)
        .bind(&r.town)
        .bind(&r.address)
        .bind(r.lat)
        .bind(r.long)
        .bind(r.tier.map(Tier::as_str))
        .bind(r.status.as_str())
        .bind(r.department_id)
        .bind(&r.claimed_by)
        .bind(ms(r.received_at))
        .bind(opt_ms(r.triaged_at))
        .bind(opt_ms(r.first_dispatched_at))
        .bind(opt_ms(r.dispatched_at))
        .bind(opt_ms(r.signed_at))
        .bind(opt_ms(r.resolved_at))
        .bind(opt_ms(r.followed_up_at))
        .bind(opt_ms(r.closed_at))
        .bind(ms(r.updated_at))
        .bind(opt_ms(r.feedback_due_override))
        .bind(r.return_count)
        .bind(r.extension_count)
        .bind(r.urge_count)
        .bind(ext.map(|e| ms(e.until)))
        .bind(ext.map(|e| e.reason.as_str()))
        .bind(ext.map(|e| e.requested_by.as_str()))
        .bind(ext.map(|e| ms(e.requested_at)))
        .bind(r.satisfaction.as_ref().map(enum_str))
        .bind(r.merged_into)
        .bind(i64::from(r.follow_up_required))
        .bind(i64::from(r.awaiting_ruling))
        .bind(r.escalation_clock.map(ClockKind::as_str))
        .bind(opt_ms(r.escalation_due_at))
        .bind(r.escalation_level)
        .bind(opt_ms(r.escalated_at))
        .bind(ms(r.clocks_from))
        .bind(next_due_ms(r, policy))
}

/// Writes the record, at feed sequence `seq`.
fn bind_update<'q>(r: &'q CaseRecord, policy: &Policy, seq: i64) -> SqliteQuery<'q> {
    bind_record(sqlx::query(UPDATE_CASE), r, policy)
        .bind(seq)
        .bind(r.id)
}

fn department_from_row(r: &DbRow) -> Result<Department, StoreError> {
    let kind: String = r.try_get("kind")?;
    Ok(Department {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        kind: parse_enum(&kind)?,
        active: flag(r, "active")?,
        version: r.try_get("version")?,
        on_duty: Vec::new(),
    })
}

/// A yes/no column: an integer on both databases (the `Any` driver reads SQLite's integers as
/// integers, never as booleans).
fn flag(r: &DbRow, column: &str) -> Result<bool, sqlx::Error> {
    Ok(r.try_get::<i64, _>(column)? != 0)
}

fn user_from_row(r: &DbRow) -> Result<User, sqlx::Error> {
    let role: String = r.try_get("role")?;
    Ok(User {
        id: r.try_get("id")?,
        actor: Actor {
            name: r.try_get("name")?,
            role: Role::parse(&role)
                .ok_or_else(|| sqlx::Error::Decode(format!("role {role}").into()))?,
            department_id: r.try_get("department_id")?,
        },
    })
}

fn record_from_row(r: &DbRow) -> Result<CaseRecord, sqlx::Error> {
    let t = |c: &str| -> Result<Option<DateTime<Utc>>, sqlx::Error> {
        Ok(r.try_get::<Option<i64>, _>(c)?.map(from_ms))
    };
    let channel: String = r.try_get("channel")?;
    let status: String = r.try_get("status")?;
    let tier: Option<String> = r.try_get("tier")?;
    let satisfaction: Option<String> = r.try_get("satisfaction")?;
    let escalation_clock: Option<String> = r.try_get("escalation_clock")?;
    let pending_extension = match t("ext_until")? {
        Some(until) => Some(PendingExtensionRecord {
            until,
            reason: r
                .try_get::<Option<String>, _>("ext_reason")?
                .unwrap_or_default(),
            requested_by: r
                .try_get::<Option<String>, _>("ext_by")?
                .unwrap_or_default(),
            requested_at: t("ext_at")?.unwrap_or(until),
        }),
        None => None,
    };
    Ok(CaseRecord {
        id: r.try_get("id")?,
        reference: r.try_get("reference")?,
        version: r.try_get("version")?,
        channel: Channel::parse(&channel)
            .ok_or_else(|| sqlx::Error::Decode(format!("channel {channel}").into()))?,
        category: r.try_get("category")?,
        title: r.try_get("title")?,
        description: r.try_get("description")?,
        requester_name: r.try_get("requester_name")?,
        requester_phone: r.try_get("requester_phone")?,
        town: r.try_get("town")?,
        address: r.try_get("address")?,
        lat: r.try_get("lat")?,
        long: r.try_get("long")?,
        tier: tier.as_deref().map(parse_enum::<Tier>).transpose()?,
        status: Status::parse(&status)
            .ok_or_else(|| sqlx::Error::Decode(format!("status {status}").into()))?,
        department_id: r.try_get("department_id")?,
        claimed_by: r.try_get("claimed_by")?,
        received_at: from_ms(r.try_get("received_at")?),
        clocks_from: t("clocks_from")?.unwrap_or(from_ms(r.try_get("received_at")?)),
        triaged_at: t("triaged_at")?,
        first_dispatched_at: t("first_dispatched_at")?,
        dispatched_at: t("dispatched_at")?,
        signed_at: t("signed_at")?,
        resolved_at: t("resolved_at")?,
        followed_up_at: t("followed_up_at")?,
        closed_at: t("closed_at")?,
        updated_at: from_ms(r.try_get("updated_at")?),
        feedback_due_override: t("feedback_due_override")?,
        return_count: r.try_get("return_count")?,
        extension_count: r.try_get("extension_count")?,
        urge_count: r.try_get("urge_count")?,
        pending_extension,
        satisfaction: satisfaction
            .as_deref()
            .map(parse_enum::<Satisfaction>)
            .transpose()?,
        merged_into: r.try_get("merged_into")?,
        follow_up_required: flag(r, "follow_up_required")?,
        awaiting_ruling: flag(r, "awaiting_ruling")?,
        escalation_clock: escalation_clock
            .as_deref()
            .map(parse_enum::<ClockKind>)
            .transpose()?,
        escalation_due_at: t("escalation_due_at")?,
        escalation_level: r.try_get("escalation_level")?,
        escalated_at: t("escalated_at")?,
        group: r.try_get("group_id")?,
    })
}

fn event_from_row(r: &DbRow, tz: Tz) -> Result<Event, sqlx::Error> {
    let role: String = r.try_get("actor_role")?;
    let from: Option<String> = r.try_get("from_status")?;
    let to: Option<String> = r.try_get("to_status")?;
    let payload: String = r.try_get("payload")?;
    let action: String = r.try_get("action")?;
    // No user can take the action `escalate`: such events from before the `system` role
    // was stored are the ladder's too.
    let system = role == SYSTEM_ROLE || action == "escalate";
    let role = if role == SYSTEM_ROLE {
        Role::Supervisor
    } else {
        Role::parse(&role).ok_or_else(|| sqlx::Error::Decode(format!("role {role}").into()))?
    };
    Ok(Event {
        id: r.try_get("id")?,
        case_id: r.try_get("case_id")?,
        at: from_ms(r.try_get("at")?).with_timezone(&tz).fixed_offset(),
        actor: r.try_get("actor")?,
        actor_role: role,
        system,
        action,
        from_status: from.as_deref().and_then(Status::parse),
        to_status: to.as_deref().and_then(Status::parse),
        payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
    })
}
