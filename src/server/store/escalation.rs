//! The escalation ladder's pass: it reads only the cases past a deadline (on the
//! `next_due_at` index) whose ladder is not already at its top, and writes their rungs in
//! batches, one transaction and one wake of the change feed per batch.

use chrono::{DateTime, Utc};

use super::{
    SYSTEM_ROLE, Store, StoreError, bind_update, insert_event_as, ms, name_department, next_seq,
    record_from_row,
};
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
        // A case whose ladder fired its last rung for the deadline it is past has nothing left
        // to fire until that deadline changes.
        let top = Tier::ALL
            .iter()
            .map(|t| self.policy.tier(*t).escalation_minutes.len())
            .max()
            .unwrap_or(0)
            .min(EscalationStep::ALL.len()) as i64;
        let due: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM cases INDEXED BY cases_next_due
              WHERE next_due_at < ? AND status != 'closed'
                AND NOT (escalation_due_at IS next_due_at AND escalation_level >= ?)
              ORDER BY id",
        )
        .bind(ms(now))
        .bind(top)
        .fetch_all(&self.read)
        .await?;
        let mut pass = EscalationPass::default();
        for ids in due.chunks(batch) {
            let mut tx = self.begin_write().await?;
            // Re-read under the write lock: an action may have moved a case since.
            let rows =
                sqlx::query("SELECT * FROM cases WHERE id IN (SELECT value FROM json_each(?))")
                    .bind(serde_json::to_string(ids).unwrap_or_default())
                    .fetch_all(&mut *tx)
                    .await?;
            let (mut rungs, mut cases, mut head) = (0, 0, None);
            for row in &rows {
                let mut rec = record_from_row(row)?;
                let fired = domain::escalate(&mut rec, &self.policy, now);
                if fired.is_empty() {
                    continue;
                }
                let seq = next_seq(&mut tx).await?;
                bind_update(&rec, &self.policy, seq)
                    .execute(&mut *tx)
                    .await?;
                rungs += fired.len();
                cases += 1;
                head = Some(seq);
                for mut payload in fired {
                    name_department(&mut tx, &mut payload).await?;
                    // The ladder acts with a supervisor's authority; its events are marked as
                    // the system's own (see `event_from_row`).
                    insert_event_as(
                        &mut tx,
                        rec.id,
                        now,
                        (domain::SYSTEM_ACTOR, SYSTEM_ROLE),
                        "escalate",
                        Some(rec.status),
                        Some(rec.status),
                        &payload,
                    )
                    .await?;
                }
            }
            let Some(seq) = head else {
                tx.rollback().await;
                continue;
            };
            tx.commit().await?;
            self.feed.send_replace(seq);
            pass.rungs += rungs;
            pass.cases += cases;
            pass.batches += 1;
        }
        Ok(pass)
    }
}
