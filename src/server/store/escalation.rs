//! The escalation ladder's pass: it reads only the cases past a deadline (on the
//! `next_due_at` index) whose ladder is not already at its top, and writes their rungs in
//! batches, one transaction and one wake of the change feed per batch.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use super::dialect::{Sql, take_seqs};
use super::{FeedRun, SYSTEM_ROLE, Store, StoreError, bind_update, ms, record_from_row};
use crate::domain;
use crate::wire::{EscalationStep, Tier};

/// What one escalation pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EscalationPass {
    /// Rungs fired (one `escalate` event each).
    pub rungs: usize,
    /// Cases that climbed.
    pub cases: usize,
    /// Write transactions committed.
    pub batches: usize,
    /// Cases whose next rung the index said was due, read again under the write lock.
    pub read: usize,
}

/// Cases escalated per write transaction by [`Store::escalate_due`].
pub const ESCALATION_BATCH: usize = 256;

impl Store {
    /// Fires every escalation rung that is due at `now`, each once; returns how many fired.
    pub async fn escalate_due(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        Ok(self.escalate_in_batches(now, ESCALATION_BATCH).await?.rungs)
    }

    /// [`Store::escalate_due`], `batch` cases per write transaction.
    pub async fn escalate_in_batches(
        &self,
        now: DateTime<Utc>,
        batch: usize,
    ) -> Result<EscalationPass, StoreError> {
        let pass = self.escalation_pass(now, batch.max(1)).await;
        match &pass {
            Ok(p) if p.batches == 0 => {}
            Ok(_) => self.health.committed(),
            Err(e) => self.health.failed(e),
        }
        pass
    }

    async fn escalation_pass(
        &self,
        now: DateTime<Utc>,
        batch: usize,
    ) -> Result<EscalationPass, StoreError> {
        // Only cases whose next rung has come: a case between rungs, or past its ladder's top,
        // for the deadline it is past has nothing to fire until then (or until the deadline
        // changes), and is not read.
        let sql = format!(
            "SELECT id FROM cases {}
              WHERE next_due_at < $1 AND status != 'closed'
                AND next_due_at + ({}) <= $1
              ORDER BY id",
            self.dialect.indexed_by("cases_next_due"),
            self.next_rung_offset()
        );
        let due: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(ms(now))
            .fetch_all(&self.read)
            .await?;
        let mut pass = EscalationPass {
            read: due.len(),
            ..EscalationPass::default()
        };
        for ids in due.chunks(batch) {
            let mut tx = self.begin_write().await?;
            // Re-read under the write lock: an action may have moved a case since.
            let mut select = Sql::new("SELECT * FROM cases WHERE id IN (");
            for (i, id) in ids.iter().enumerate() {
                if i > 0 {
                    select.push(", ");
                }
                select.bind(*id);
            }
            select.push(")");
            let rows = select.build().fetch_all(&mut *tx).await?;
            // Climb in memory first; then one range of feed numbers and one insert of the
            // events for the whole batch.
            let mut climbed = vec![];
            for row in &rows {
                let mut rec = record_from_row(row)?;
                let fired = domain::escalate(&mut rec, &self.policy, now);
                if !fired.is_empty() {
                    climbed.push((rec, fired));
                }
            }
            if climbed.is_empty() {
                tx.rollback().await;
                continue;
            }
            let n = climbed.len() as i64;
            let head = take_seqs(&mut tx, n).await?;
            let mut names: HashMap<i64, Option<String>> = HashMap::new();
            let mut events = vec![];
            // The department feeds the batch moves, told to the feed hub with the commit.
            let mut run = FeedRun::new(head - n + 1, head);
            for (seq, (rec, fired)) in (head - n + 1..).zip(&climbed) {
                run.moved(rec.department_id, seq);
                bind_update(rec, &self.policy, seq)
                    .execute(&mut *tx)
                    .await?;
                for payload in fired {
                    let mut payload = payload.clone();
                    // The department's name of the day, as every event naming one keeps it.
                    if let Some(d) = payload.get("department_id").and_then(|v| v.as_i64()) {
                        if let Entry::Vacant(slot) = names.entry(d) {
                            let name: Option<String> =
                                sqlx::query_scalar("SELECT name FROM departments WHERE id = $1")
                                    .bind(d)
                                    .fetch_optional(&mut *tx)
                                    .await?;
                            slot.insert(name);
                        }
                        payload["department_name"] = serde_json::json!(names[&d]);
                    }
                    events.push((rec.id, rec.status.as_str(), payload.to_string()));
                }
            }
            // Well under SQLite's limit of bound values per statement.
            for chunk in events.chunks(1000) {
                let mut insert = Sql::new(
                    "INSERT INTO events (case_id, at, actor, actor_role, action, from_status,
                     to_status, payload) VALUES ",
                );
                // The ladder acts with a supervisor's authority; its events are marked as the
                // system's own (see `event_from_row`).
                for (i, (case_id, status, payload)) in chunk.iter().enumerate() {
                    insert.push(if i == 0 { "(" } else { ", (" });
                    insert.bind(*case_id).push(", ").bind(ms(now)).push(", ");
                    insert.bind(domain::SYSTEM_ACTOR.to_string()).push(", ");
                    insert.bind(SYSTEM_ROLE.to_string()).push(", ");
                    insert.bind("escalate".to_string()).push(", ");
                    insert.bind(status.to_string()).push(", ");
                    insert.bind(status.to_string()).push(", ");
                    insert.bind(payload.clone()).push(")");
                }
                insert.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
            self.runs.push(run);
            self.advance_feed(head);
            pass.rungs += events.len();
            pass.cases += climbed.len();
            pass.batches += 1;
        }
        Ok(pass)
    }

    /// SQL for the milliseconds from a case's breached deadline (`next_due_at`) to its next
    /// rung, as `domain::escalate` climbs: the tier's ladder (an untriaged case's is red's), from
    /// the rung reached if that was for this deadline, else from the first. NULL past the top.
    fn next_rung_offset(&self) -> String {
        let rung = |level: usize| {
            let mut sql = String::from("CASE tier");
            for t in Tier::ALL {
                let minutes = self.policy.tier(t).escalation_minutes;
                let _ = write!(
                    sql,
                    " WHEN '{}' THEN {}",
                    t.as_str(),
                    offset(&minutes, level)
                );
            }
            let red = self.policy.red.escalation_minutes;
            let _ = write!(sql, " ELSE {} END", offset(&red, level));
            sql
        };
        let mut reached = String::from("CASE escalation_level");
        for level in 0..EscalationStep::ALL.len() {
            let _ = write!(reached, " WHEN {level} THEN {}", rung(level));
        }
        reached.push_str(" END");
        format!(
            "CASE WHEN escalation_due_at IS NOT DISTINCT FROM next_due_at THEN {reached} ELSE {} END",
            rung(0)
        )
    }
}

/// The ladder's rung `level` in milliseconds after the breach, as SQL; `NULL` if there is none.
fn offset(minutes: &[i64], level: usize) -> String {
    match minutes.get(level) {
        Some(m) => (m.saturating_mul(60_000)).to_string(),
        None => "NULL".to_string(),
    }
}
