//! Bringing every case's `next_due_at` in line with the policy the server starts with.
//!
//! Every write stores the deadline it computes, so after a restart with the same rules nothing
//! moves; only a changed policy (or a database no server opened yet) asks for a pass over all
//! cases. The pass reads the table as a stream, keeps only the cases whose deadline moves, and
//! writes those in batches: on 100,000 cases one statement per case took most of a start-up.

use futures::TryStreamExt;
use sqlx::Row;

use super::dialect::Sql;
use super::{DbConnection, StoreError, next_due_ms, record_from_row};
use crate::wire::Policy;

/// Cases rewritten per statement: two bound values each, well under either database's bound.
const BATCH: usize = 500;

/// Rewrites the `next_due_at` of the cases whose deadline under `policy` is not the stored one;
/// returns how many moved.
pub(super) async fn rewrite_moved(
    conn: &mut DbConnection,
    policy: &Policy,
) -> Result<usize, StoreError> {
    let mut moved: Vec<(i64, Option<i64>)> = Vec::new();
    {
        let mut rows = sqlx::query("SELECT * FROM cases").fetch(&mut *conn);
        while let Some(row) = rows.try_next().await? {
            let rec = record_from_row(&row)?;
            let due = next_due_ms(&rec, policy);
            let stored: Option<i64> = row.try_get("next_due_at")?;
            if due != stored {
                moved.push((rec.id, due));
            }
        }
    }
    for chunk in moved.chunks(BATCH) {
        let mut update = Sql::new("UPDATE cases SET next_due_at = CASE id");
        for (id, due) in chunk {
            update.push(" WHEN ").bind(*id).push(" THEN ").bind(*due);
        }
        update.push(" END WHERE id IN (");
        for (i, (id, _)) in chunk.iter().enumerate() {
            if i > 0 {
                update.push(", ");
            }
            update.bind(*id);
        }
        update.push(")");
        update.build().execute(&mut *conn).await?;
    }
    Ok(moved.len())
}
