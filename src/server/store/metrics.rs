//! What `/metrics` asks of the store: the open cases by tier and status, and how many of them
//! are overdue, in one grouped query.

use chrono::{DateTime, Utc};

use super::{Store, StoreError, ms};
use crate::wire::{Status, Tier};

/// Open cases of one tier (`None`: not triaged yet) in one status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenCases {
    pub tier: Option<Tier>,
    pub status: Status,
    pub open: i64,
    /// Past their earliest unmet deadline at the time asked about.
    pub overdue: i64,
}

impl Store {
    /// Open (not closed) cases grouped by tier and status, with how many are overdue at `now`:
    /// past `next_due_at`, the case's earliest unmet deadline, as the `overdue` filter of the
    /// case list judges it. Groups with no case are left out.
    pub async fn open_case_counts(&self, now: DateTime<Utc>) -> Result<Vec<OpenCases>, StoreError> {
        // `status` leads the `cases_status` index: the closed cases, most of a desk's history,
        // are not read at all.
        let rows: Vec<(Option<String>, String, i64, i64)> = sqlx::query_as(
            "SELECT tier, status, COUNT(*),
                    CAST(SUM(CASE WHEN next_due_at < $1 THEN 1 ELSE 0 END) AS BIGINT)
             FROM cases
             WHERE status IN ('new', 'triaged', 'dispatched', 'in_progress', 'resolved')
             GROUP BY tier, status",
        )
        .bind(ms(now))
        .fetch_all(&self.read)
        .await?;
        // A value this build does not know (a newer server wrote it) is left out rather than
        // failing the whole scrape.
        Ok(rows
            .into_iter()
            .filter_map(|(tier, status, open, overdue)| {
                let tier = match tier {
                    None => None,
                    Some(t) => Some(Tier::ALL.into_iter().find(|k| k.as_str() == t)?),
                };
                Some(OpenCases {
                    tier,
                    status: Status::parse(&status)?,
                    open,
                    overdue,
                })
            })
            .collect())
    }
}
