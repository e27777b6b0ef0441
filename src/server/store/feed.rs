//! The change feed's reads: deltas after a sequence, with a tombstone for every case that left a
//! department; and the database's identity, which every cursor carries.

use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection, Row};

use super::{Store, StoreError, migrator, record_from_row};
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
    conn: &mut SqliteConnection,
    case_id: i64,
    department_id: i64,
    seq: i64,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO departures (case_id, department_id, seq) VALUES (?, ?, ?)")
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
    migrator().run(&mut conn).await?;
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

    /// The sequence of the last committed change.
    pub async fn feed_head(&self) -> Result<i64, StoreError> {
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
        let rows = match department_id {
            None => {
                sqlx::query(
                    "SELECT change_seq AS pos, 0 AS gone, * FROM cases WHERE change_seq > ?
                     ORDER BY change_seq LIMIT ?",
                )
                .bind(since)
                .bind(limit + 1)
                .fetch_all(&self.read)
                .await?
            }
            Some(d) => {
                sqlx::query(
                    "WITH entries (case_id, pos, gone) AS (
                         SELECT id, change_seq, 0 FROM cases
                          WHERE change_seq > ?1 AND department_id = ?2
                         UNION ALL
                         SELECT p.case_id, MAX(p.seq), 1 FROM departures p
                           JOIN cases c ON c.id = p.case_id
                          WHERE p.seq > ?1 AND p.department_id = ?2
                            AND c.department_id IS NOT ?2
                          GROUP BY p.case_id
                     )
                     SELECT e.pos, e.gone, c.* FROM entries e JOIN cases c ON c.id = e.case_id
                     ORDER BY e.pos LIMIT ?3",
                )
                .bind(since)
                .bind(d)
                .bind(limit + 1)
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
        let first = migrator().iter().take(1).cloned().collect();
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
