//! Similar-request groups: a new untriaged case joins the group of the closest open untriaged
//! case that is the same request (`crate::similar`), and the desk reads the groups back.

use std::collections::BTreeMap;

use sqlx::Row;

use super::DbConnection;
use super::{StoreError, record_from_row};
use crate::domain::CaseRecord;
use crate::similar::{self, Request};
use crate::wire::{CaseGroup, CaseVersion};

fn request(r: &CaseRecord) -> Request<'_> {
    Request {
        phone: &r.requester_phone,
        town: &r.town,
        category: &r.category,
        title: &r.title,
        description: &r.description,
    }
}

/// The group the new case `id` joins, recorded on it: the anchor of the most similar open
/// untriaged case from the same phone or town that is the same request (ties: the earliest).
/// Other cases are not changed.
pub(super) async fn join_group(
    conn: &mut DbConnection,
    id: i64,
    rec: &CaseRecord,
) -> Result<Option<i64>, StoreError> {
    if rec.tier.is_some() {
        return Ok(None);
    }
    // Two indexed lookups (see migration 0006) rather than one OR, which SQLite may scan. At
    // most the newest 100 of one phone or town are compared: a bound on the work one intake
    // does inside the write lock however long the queue grows (the limit is written into the
    // SQL so SQLite keeps the statement prepared).
    let mut candidates = BTreeMap::new();
    let lookups: [(&'static str, &str); 2] = [
        (
            "SELECT * FROM cases WHERE requester_phone = $1 AND status = 'new' AND tier IS NULL
               AND id != $2 ORDER BY id DESC LIMIT 100",
            &rec.requester_phone,
        ),
        (
            "SELECT * FROM cases WHERE town = $1 AND status = 'new' AND tier IS NULL
               AND id != $2 ORDER BY id DESC LIMIT 100",
            &rec.town,
        ),
    ];
    for (sql, key) in lookups {
        let rows = sqlx::query(sql)
            .bind(key)
            .bind(id)
            .fetch_all(&mut *conn)
            .await?;
        for row in &rows {
            let c = record_from_row(row)?;
            candidates.insert(c.id, c);
        }
    }
    let new = request(rec);
    let mut best: Option<(f64, &CaseRecord)> = None;
    // Oldest first, so that of equally similar cases the earliest wins.
    for c in candidates.values() {
        if let Some(score) = similar::score(&new, &request(c))
            && best.is_none_or(|(s, _)| score > s)
        {
            best = Some((score, c));
        }
    }
    let Some((_, matched)) = best else {
        return Ok(None);
    };
    let anchor = matched.group.unwrap_or(matched.id);
    sqlx::query("UPDATE cases SET group_id = $1 WHERE id = $2")
        .bind(anchor)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(Some(anchor))
}

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
