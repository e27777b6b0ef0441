//! Similar-request groups: a new untriaged case joins the group of the closest open untriaged
//! case that is the same request (`crate::similar`, chosen in `candidates.rs`), and the desk
//! reads the groups back.

use std::collections::BTreeMap;

use sqlx::Row;

use super::StoreError;
use crate::wire::{CaseGroup, CaseVersion};

impl super::Store {
    /// Every group with at least two open untriaged cases, oldest anchor first; the members of
    /// each oldest first. Reads the untriaged queue, which the desk keeps short.
    pub async fn groups(&self) -> Result<Vec<CaseGroup>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, version, group_id FROM cases WHERE status = 'new' AND tier IS NULL
               ORDER BY id",
        )
        .fetch_all(&self.read)
        .await?;
        let mut groups: BTreeMap<i64, Vec<CaseVersion>> = BTreeMap::new();
        for row in &rows {
            let id: i64 = row.try_get("id")?;
            let group: Option<i64> = row.try_get("group_id")?;
            groups
                .entry(group.unwrap_or(id))
                .or_default()
                .push(CaseVersion {
                    id,
                    version: row.try_get("version")?,
                });
        }
        Ok(groups
            .into_iter()
            .filter(|(_, cases)| cases.len() > 1)
            .map(|(anchor, cases)| CaseGroup {
                anchor,
                count: cases.len(),
                cases,
            })
            .collect())
    }
}
