//! The statements of a write on a case, as few as it can be: each is a round trip to the
//! database's thread (on SQLite, a wakeup of sqlx's worker thread and one of the writer task),
//! and the writes of a group run one after another.
//!
//! A new case takes its feed sequence number and its reference of the desk day in one statement
//! that also checks its `Idempotency-Key`; the day's reference count lives in the feed counter's
//! row, which every write of a case changes anyway. An action reads its case, the case's event
//! count and its key's answer in one statement. On SQLite the case and its event are then
//! written in one round trip (an action's feed number is taken in it too); PostgreSQL takes
//! one statement with placeholders at a time.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::dialect::{FEED_CHANNEL, take_seqs};
use super::{
    Db, DbConnection, DbRow, Dialect, INSERT_CASE, IdempotencyKey, Step, Store, StoreError,
    UPDATE_CASE, Wrote, bind_record, bind_update, insert_event, ms, record_from_row,
};
use crate::domain::{Actor, CaseRecord};
use crate::wire::{Policy, Status};

type Query<'q> = sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments>;

/// What the first statement of a write found.
pub(super) enum Taken<T> {
    /// The write goes ahead with this.
    Fresh(T),
    /// The key has an unexpired answer, to be replayed; nothing was changed.
    Answered,
}

impl Store {
    /// The next feed sequence number and the next reference of the desk day of `now`
    /// (`PREFIX-YYYYMMDD-NNNN`), or [`Taken::Answered`]. The row counts the references of one
    /// day (by prefix); the first case of another day, or of a day met again after another (a
    /// clock set back), counts that day's cases on the reference index once and goes on from
    /// there.
    pub(super) async fn take_seq_and_reference(
        &self,
        conn: &mut DbConnection,
        actor: &Actor,
        idem: Option<&IdempotencyKey>,
        now: DateTime<Utc>,
    ) -> Result<Taken<(i64, String)>, StoreError> {
        let day = now.with_timezone(&self.tz).format("%Y%m%d").to_string();
        let prefix = format!("{}-{day}-", self.ref_prefix);
        // The right-hand sides read the row as it was: the count goes on only on the same day.
        let set = "reference_count = CASE WHEN reference_prefix = $1
                                          THEN reference_count + 1 END,
                   reference_prefix = $1";
        let text = self.take_sql(conn, set, &["reference_count"], 2, idem.is_some());
        let q = sqlx::query(sqlx::AssertSqlSafe(text)).bind(&prefix);
        let Some(row) = self
            .bind_take(q, conn, actor, idem, now)
            .fetch_optional(&mut *conn)
            .await?
        else {
            return Ok(Taken::Answered);
        };
        let seq: i64 = row.try_get(0)?;
        let counted: Option<i64> = row.try_get(1)?;
        let n = match counted {
            Some(n) => n,
            None => {
                // `.` sorts right after `-`, so the range holds exactly the day's references.
                let upper = format!("{}-{day}.", self.ref_prefix);
                let count: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM cases WHERE reference >= $1 AND reference < $2",
                )
                .bind(&prefix)
                .bind(upper)
                .fetch_one(&mut *conn)
                .await?;
                sqlx::query("UPDATE feed_counter SET reference_count = $1 WHERE id = 1")
                    .bind(count + 1)
                    .execute(&mut *conn)
                    .await?;
                count + 1
            }
        };
        Ok(Taken::Fresh((seq, format!("{prefix}{n:04}"))))
    }

    /// The case `id` with how many events it has, or [`Taken::Answered`] (the key's answer is
    /// replayed whether or not the case is visible now, as it was given).
    pub(super) async fn load_for_action(
        &self,
        conn: &mut DbConnection,
        id: i64,
        actor: &Actor,
        idem: Option<&IdempotencyKey>,
        now: DateTime<Utc>,
    ) -> Result<Taken<(CaseRecord, i64)>, StoreError> {
        let answered = if idem.is_some() {
            ", (SELECT COUNT(*) FROM idempotency
                 WHERE user_name = $2 AND key = $3 AND created_at > $4) AS answered"
        } else {
            ""
        };
        let text = format!(
            "SELECT c.*, (SELECT COUNT(*) FROM events e WHERE e.case_id = c.id) AS event_count
                    {answered}
               FROM cases c WHERE c.id = $1"
        );
        let q = self.bind_key(
            sqlx::query(sqlx::AssertSqlSafe(text)).bind(id),
            actor,
            idem,
            now,
        );
        let row = q
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("case {id}")))?;
        if idem.is_some() && row.try_get::<i64, _>("answered")? > 0 {
            return Ok(Taken::Answered);
        }
        Ok(Taken::Fresh((
            record_from_row(&row)?,
            row.try_get("event_count")?,
        )))
    }

    /// The statement that bumps the feed counter by one (and sets `set` too), returning `seq`
    /// and the columns `returning`, with its own placeholders from `$first` on: the key's user, the key and
    /// the oldest unexpired time when there is a key, then (PostgreSQL) the feed's channel.
    fn take_sql(
        &self,
        conn: &DbConnection,
        set: &str,
        returning: &[&str],
        first: usize,
        keyed: bool,
    ) -> String {
        let set = if set.is_empty() {
            String::new()
        } else {
            format!(", {set}")
        };
        let (unanswered, channel) = if keyed {
            (
                format!(
                    " AND NOT EXISTS (SELECT 1 FROM idempotency
                       WHERE user_name = ${} AND key = ${} AND created_at > ${})",
                    first,
                    first + 1,
                    first + 2
                ),
                first + 3,
            )
        } else {
            (String::new(), first)
        };
        let returned: String = returning.iter().map(|c| format!(", {c}")).collect();
        let update = format!(
            "UPDATE feed_counter SET seq = seq + 1{set} WHERE id = 1{unanswered}
             RETURNING seq{returned}"
        );
        match Dialect::of(conn) {
            Dialect::Sqlite => update,
            // The new head is announced by the same statement, as `take_seqs` does; nothing is
            // announced when nothing was taken.
            Dialect::Postgres => {
                let taken: String = returning.iter().map(|c| format!(", taken.{c}")).collect();
                format!(
                    "WITH taken AS ({update})
                     SELECT taken.seq{taken} FROM taken, pg_notify(${channel}, taken.seq::text)"
                )
            }
        }
    }

    /// Binds what finds the key's unexpired answer, when there is a key: its user, the key and
    /// the oldest time still kept.
    fn bind_key<'q>(
        &self,
        q: Query<'q>,
        actor: &'q Actor,
        idem: Option<&'q IdempotencyKey>,
        now: DateTime<Utc>,
    ) -> Query<'q> {
        match idem {
            Some(k) => q
                .bind(&actor.name)
                .bind(&k.key)
                .bind(ms(now - self.idempotency_ttl)),
            None => q,
        }
    }

    /// Binds the placeholders [`Store::take_sql`] added after the caller's.
    fn bind_take<'q>(
        &self,
        q: Query<'q>,
        conn: &DbConnection,
        actor: &'q Actor,
        idem: Option<&'q IdempotencyKey>,
        now: DateTime<Utc>,
    ) -> Query<'q> {
        let q = self.bind_key(q, actor, idem, now);
        match Dialect::of(conn) {
            Dialect::Sqlite => q,
            Dialect::Postgres => q.bind(FEED_CHANNEL),
        }
    }
}

impl Store {
    /// The write's end when [`Taken::Answered`]: the key's first answer, replayed.
    pub(super) async fn replayed(
        &self,
        conn: &mut DbConnection,
        actor: &Actor,
        idem: Option<&IdempotencyKey>,
        now: DateTime<Utc>,
    ) -> Result<Step<Wrote>, StoreError> {
        // The same row, read in the same transaction with the same bound on its age.
        match self.replay(conn, actor, idem, now).await? {
            Some(answer) => Ok(Step {
                value: Wrote::Replayed(answer),
                feed: None,
            }),
            None => Err(StoreError::Db(sqlx::Error::Protocol(
                "the key's answer was not found where the counter saw it".into(),
            ))),
        }
    }
}

/// The action of a case's first event.
pub(super) const RECEIVED: &str = "received";

/// Inserts the new case `rec` at feed sequence `seq` and its `received` event by `actor`;
/// returns the case's id and the event's. On SQLite both statements go to the database in one
/// round trip, the event finding its case by the reference just inserted; PostgreSQL takes no
/// more than one statement at a time with placeholders, so there it is two.
pub(super) async fn insert_received(
    conn: &mut DbConnection,
    rec: &CaseRecord,
    policy: &Policy,
    seq: i64,
    actor: &Actor,
    payload: &serde_json::Value,
) -> Result<(i64, i64), StoreError> {
    let new = Some(Status::New);
    match Dialect::of(conn) {
        Dialect::Sqlite => {
            // `$1` is the case's reference; the case's own placeholders end at `$45`.
            let text = format!(
                "{INSERT_CASE};
                 INSERT INTO events (case_id, at, actor, actor_role, action, from_status,
                                     to_status, payload)
                 VALUES ((SELECT id FROM cases WHERE reference = $1), $46, $47, $48, $49, NULL,
                         $50, $51)
                 RETURNING id"
            );
            let rows = bind_record(sqlx::query(sqlx::AssertSqlSafe(text)), rec, policy)
                .bind(seq)
                .bind(rec.group)
                .bind(ms(rec.received_at))
                .bind(&actor.name)
                .bind(actor.role.as_str())
                .bind(RECEIVED)
                .bind(new.map(Status::as_str))
                .bind(payload.to_string())
                .fetch_all(&mut *conn)
                .await?;
            two_returned(&rows, "inserting a case and its event")
        }
        Dialect::Postgres => {
            let id: i64 = bind_record(sqlx::query(INSERT_CASE), rec, policy)
                .bind(seq)
                .bind(rec.group)
                .fetch_one(&mut *conn)
                .await?
                .try_get(0)?;
            let event = insert_event(
                conn,
                id,
                rec.received_at,
                actor,
                RECEIVED,
                None,
                new,
                payload,
            )
            .await?;
            Ok((id, event))
        }
    }
}

/// The first column of each of the two rows a one-trip write returns (its statements'
/// `RETURNING`).
fn two_returned(rows: &[DbRow], what: &str) -> Result<(i64, i64), StoreError> {
    match rows {
        [a, b] => Ok((a.try_get(0)?, b.try_get(0)?)),
        _ => Err(StoreError::Db(sqlx::Error::Protocol(format!(
            "{what} returned {} rows",
            rows.len()
        )))),
    }
}

/// How [`UPDATE_CASE`] sets the case's sequence number, and how the one-trip write sets it.
const CHANGE_SEQ_BOUND: &str = "change_seq = $44";
const CHANGE_SEQ_TAKEN: &str = "change_seq = (SELECT seq FROM feed_counter WHERE id = 1)";

/// Takes the next feed sequence number and writes the changed case `rec` at it with the event
/// of the action by `actor` that changed it at `at`; returns the sequence number and the
/// event's id. One round trip on SQLite, three on PostgreSQL.
#[allow(clippy::too_many_arguments)]
pub(super) async fn take_and_record(
    conn: &mut DbConnection,
    rec: &CaseRecord,
    policy: &Policy,
    at: DateTime<Utc>,
    actor: &Actor,
    action: &str,
    (from, to): (Option<Status>, Option<Status>),
    payload: &serde_json::Value,
) -> Result<(i64, i64), StoreError> {
    match Dialect::of(conn) {
        Dialect::Sqlite => {
            // The case's own placeholders: `$44` (its sequence number, here the counter's
            // step, the case reading the number back from the counter) and `$45`, its id.
            let update = UPDATE_CASE.replace(CHANGE_SEQ_BOUND, CHANGE_SEQ_TAKEN);
            let text = format!(
                "UPDATE feed_counter SET seq = seq + $44 WHERE id = 1 RETURNING seq;
                 {update};
                 INSERT INTO events (case_id, at, actor, actor_role, action, from_status,
                                     to_status, payload)
                 VALUES ($45, $46, $47, $48, $49, $50, $51, $52)
                 RETURNING id"
            );
            let rows = bind_record(sqlx::query(sqlx::AssertSqlSafe(text)), rec, policy)
                .bind(1_i64)
                .bind(rec.id)
                .bind(ms(at))
                .bind(&actor.name)
                .bind(actor.role.as_str())
                .bind(action)
                .bind(from.map(Status::as_str))
                .bind(to.map(Status::as_str))
                .bind(payload.to_string())
                .fetch_all(&mut *conn)
                .await?;
            two_returned(
                &rows,
                "taking a number, updating a case and inserting its event",
            )
        }
        Dialect::Postgres => {
            let seq = take_seqs(conn, 1).await?;
            bind_update(rec, policy, seq).execute(&mut *conn).await?;
            let event = insert_event(conn, rec.id, at, actor, action, from, to, payload).await?;
            Ok((seq, event))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_one_trip_action_finds_where_the_case_update_sets_its_sequence_number() {
        // Were the text not found, `replace` would keep `$44`, bound here to 1, and every
        // action would write its case at sequence number 1.
        assert_eq!(UPDATE_CASE.matches(CHANGE_SEQ_BOUND).count(), 1);
    }
}
