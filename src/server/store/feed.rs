//! The change feed's reads: deltas after a sequence, with a tombstone for every case that left a
//! department; and the database's identity, which every cursor carries.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};

use super::DbConnection;
use sqlx::{ConnectOptions, Connection, Row};

use super::{Store, StoreError, record_from_row, sqlite_migrator};
use crate::domain::CaseRecord;

/// One page of the feed after a cursor.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedPage {
    /// Changed cases, oldest change first, as they are now.
    pub cases: Vec<CaseRecord>,
    /// Ids of the cases that left the reader's department and have not come back.
    pub left: Vec<i64>,
    /// The sequence this page is complete to: its last entry's, or `since` when empty.
    pub cursor: i64,
    /// More entries wait after `cursor`.
    pub more: bool,
}

/// Records that `case_id` left `department_id`, at the sequence `seq` the write gave the case.
pub(super) async fn record_departure(
    conn: &mut DbConnection,
    case_id: i64,
    department_id: i64,
    seq: i64,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO departures (case_id, department_id, seq) VALUES ($1, $2, $3)")
        .bind(case_id)
        .bind(department_id)
        .bind(seq)
        .execute(conn)
        .await?;
    Ok(())
}

/// Brings a restored copy at `url` to the current schema and gives it a new identity, so that
/// no cursor issued before the restore is read against it. Leaves it one file (no write-ahead
/// log), ready to be moved into place. Returns the new identity.
pub async fn adopt_restored_copy(url: &str) -> Result<String, StoreError> {
    let mut conn = SqliteConnectOptions::from_str(url)?
        .journal_mode(SqliteJournalMode::Delete)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .connect()
        .await?;
    sqlite_migrator().run(&mut conn).await?;
    let id: String = sqlx::query_scalar(
        "UPDATE database_identity SET database_id = lower(hex(randomblob(16))) WHERE id = 1
         RETURNING database_id",
    )
    .fetch_one(&mut conn)
    .await?;
    conn.close().await?;
    Ok(id)
}

impl Store {
    /// The identity of this database, made with it and renewed by a restore.
    pub fn database_id(&self) -> &str {
        &self.database_id
    }

    /// The sequence of the last change this process committed (or found at opening).
    pub fn feed_head(&self) -> i64 {
        *self.feed.borrow()
    }

    /// The sequence of the last committed change, by any process, as the database has it.
    pub async fn stored_feed_head(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT seq FROM feed_counter WHERE id = 1")
                .fetch_one(&self.read)
                .await?,
        )
    }

    /// The feed after sequence `since`, at most `limit` entries in sequence order.
    ///
    /// Without a department: every changed case. For a department, two streams merged by
    /// sequence: its cases as they are now (at their last change), and a tombstone for each case
    /// that left it and is not back (at its last departure). A case that came back is sent whole
    /// instead of a tombstone (its last change follows every departure); one that came and went
    /// after `since` is only a tombstone. Each entry sits at the latest sequence of its kind, so
    /// entries only ever move later: paging by the last entry's sequence loses nothing.
    pub async fn changes_since(
        &self,
        since: i64,
        limit: i64,
        department_id: Option<i64>,
    ) -> Result<FeedPage, StoreError> {
        // One statement: the list and the cases' content come from one snapshot of the database.
        // The page size is written into the SQL, not bound: SQLite keeps one prepared statement
        // per page size instead of planning the query again on every poll.
        let rows = match department_id {
            None => {
                let sql = format!(
                    "SELECT change_seq AS pos, 0 AS gone, {} FROM cases WHERE change_seq > $1
                     ORDER BY change_seq LIMIT {}",
                    case_columns(""),
                    limit + 1
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(since)
                    .fetch_all(&self.read)
                    .await?
            }
            Some(d) => {
                let sql = format!(
                    "WITH entries (case_id, pos, gone) AS (
                         SELECT id, change_seq, 0 FROM cases
                          WHERE change_seq > $1 AND department_id = $2
                         UNION ALL
                         SELECT p.case_id, MAX(p.seq), 1 FROM departures p
                           JOIN cases c ON c.id = p.case_id
                          WHERE p.seq > $1 AND p.department_id = $2
                            AND c.department_id IS DISTINCT FROM $2
                          GROUP BY p.case_id
                     )
                     SELECT e.pos, e.gone, {} FROM entries e JOIN cases c ON c.id = e.case_id
                     ORDER BY e.pos LIMIT {}",
                    case_columns("c."),
                    limit + 1
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(since)
                    .bind(d)
                    .fetch_all(&self.read)
                    .await?
            }
        };
        let more = rows.len() as i64 > limit;
        let mut page = FeedPage {
            cases: Vec::new(),
            left: Vec::new(),
            cursor: since,
            more,
        };
        for r in rows.iter().take(limit as usize) {
            page.cursor = r.try_get("pos")?;
            if r.try_get::<i64, _>("gone")? == 1 {
                page.left.push(r.try_get("id")?);
            } else {
                page.cases.push(record_from_row(r)?);
            }
        }
        Ok(page)
    }

    /// One page of a snapshot: every case not closed plus those closed after `closed_after`,
    /// with an id above `after`, at most `limit` of them by id, as they are now. `head` is the
    /// feed sequence the snapshot was taken at; without it, this is the first page, and the
    /// sequence is read with the page (one snapshot of the database). Returns the cases, the
    /// head, and whether more cases follow.
    pub async fn snapshot_page(
        &self,
        head: Option<i64>,
        after: i64,
        closed_after: DateTime<Utc>,
        department_id: Option<i64>,
        limit: i64,
    ) -> Result<SnapshotPage, StoreError> {
        let sql = format!(
            "SELECT {} FROM cases WHERE id > $1 AND (status != 'closed' OR closed_at > $2)
               AND ($3 IS NULL OR department_id = $4) ORDER BY id LIMIT {}",
            case_columns(""),
            limit + 1
        );
        let query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(after)
            .bind(closed_after.timestamp_millis())
            .bind(department_id)
            .bind(department_id);
        let (rows, head) = match head {
            Some(head) => (query.fetch_all(&self.read).await?, head),
            None => {
                let mut tx = self.read.begin().await?;
                let head: i64 = sqlx::query_scalar("SELECT seq FROM feed_counter WHERE id = 1")
                    .fetch_one(&mut *tx)
                    .await?;
                let rows = query.fetch_all(&mut *tx).await?;
                tx.commit().await?;
                (rows, head)
            }
        };
        let more = rows.len() as i64 > limit;
        let cases = rows
            .iter()
            .take(limit as usize)
            .map(record_from_row)
            .collect::<Result<_, _>>()?;
        Ok(SnapshotPage { cases, head, more })
    }

    /// The latest feed sequence of each department's feed (its cases' changes and departures
    /// from it) above `after`; departments whose feed has not moved since are left out.
    pub async fn department_heads(&self, after: i64) -> Result<Vec<(i64, i64)>, StoreError> {
        // Both halves walk an index: cases by sequence, departures per department.
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT department_id, MAX(change_seq) FROM cases
              WHERE change_seq > $1 AND department_id IS NOT NULL GROUP BY department_id
             UNION ALL
             SELECT id, seq FROM (
                 SELECT d.id, (SELECT MAX(p.seq) FROM departures p
                                WHERE p.department_id = d.id AND p.seq > $1) AS seq
                   FROM departments d) AS heads
              WHERE seq IS NOT NULL",
        )
        .bind(after)
        .fetch_all(&self.read)
        .await?;
        Ok(rows)
    }
}

/// A page of a snapshot, from [`Store::snapshot_page`].
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotPage {
    pub cases: Vec<CaseRecord>,
    /// The feed sequence the snapshot was taken at.
    pub head: i64,
    pub more: bool,
}

/// The columns `record_from_row` reads, each prefixed (e.g. `c.`).
fn case_columns(prefix: &str) -> String {
    const COLUMNS: &[&str] = &[
        "id",
        "reference",
        "version",
        "channel",
        "category",
        "title",
        "description",
        "requester_name",
        "requester_phone",
        "town",
        "address",
        "lat",
        "long",
        "tier",
        "status",
        "department_id",
        "claimed_by",
        "received_at",
        "clocks_from",
        "triaged_at",
        "first_dispatched_at",
        "dispatched_at",
        "signed_at",
        "resolved_at",
        "followed_up_at",
        "closed_at",
        "updated_at",
        "feedback_due_override",
        "return_count",
        "extension_count",
        "urge_count",
        "ext_until",
        "ext_reason",
        "ext_by",
        "ext_at",
        "satisfaction",
        "merged_into",
        "follow_up_required",
        "awaiting_ruling",
        "escalation_clock",
        "escalation_due_at",
        "escalation_level",
        "escalated_at",
        "group_id",
    ];
    COLUMNS
        .iter()
        .map(|c| format!("{prefix}{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Turns SQLite's memory statistics off for this process, before its first connection. With
/// them on (the bundled build's default), every allocation SQLite makes takes one global lock,
/// which readers copying rows contend on. Too late once SQLite is initialized (another
/// connection came first): then SQLite refuses and keeps them on, which is only slower.
pub(super) fn quiet_memory_statistics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: SQLITE_CONFIG_MEMSTATUS takes one int; sqlite3_config is called before
        // sqlite3_initialize (or answers SQLITE_MISUSE and changes nothing), from one thread
        // (the Once).
        let _ =
            unsafe { libsqlite3_sys::sqlite3_config(libsqlite3_sys::SQLITE_CONFIG_MEMSTATUS, 0) };
    });
}

#[cfg(test)]
mod tests {
    use sqlx::migrate::Migrator;

    use super::*;
    use crate::wire::{Policy, Role};

    /// A database made before the feed's migration gets an identity, loses the old column and
    /// keeps its data.
    #[tokio::test]
    async fn an_existing_database_migrates_and_gets_an_identity() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("old.db").display());
        let mut conn = SqliteConnectOptions::from_str(&url)
            .unwrap()
            .create_if_missing(true)
            .connect()
            .await
            .unwrap();
        let first = sqlite_migrator().iter().take(1).cloned().collect();
        Migrator::with_migrations(first)
            .run(&mut conn)
            .await
            .unwrap();
        sqlx::query("INSERT INTO departments (name, kind) VALUES ('卫健局', 'bureau')")
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();

        let tz = chrono_tz::Asia::Shanghai;
        let store = Store::open(&url, "KH", tz, Policy::default())
            .await
            .unwrap();
        let id = store.database_id().to_string();
        assert_eq!(id.len(), 32);
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(store.departments().await.unwrap()[0].name, "卫健局");
        let columns: Vec<String> =
            sqlx::query_scalar("SELECT name FROM pragma_table_info('cases')")
                .fetch_all(&store.read)
                .await
                .unwrap();
        assert!(!columns.iter().any(|c| c == "left_department_id"));
        store.add_user("op-li", Role::Operator, None).await.unwrap();
        store.close().await;

        // The identity is the database's: reopening keeps it; adopting a copy renews it.
        let store = Store::open(&url, "KH", tz, Policy::default())
            .await
            .unwrap();
        assert_eq!(store.database_id(), id);
        store.close().await;
        let renewed = adopt_restored_copy(&url).await.unwrap();
        assert_ne!(renewed, id);
        let store = Store::open(&url, "KH", tz, Policy::default())
            .await
            .unwrap();
        assert_eq!(store.database_id(), renewed);
        store.close().await;
    }
}
