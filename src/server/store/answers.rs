//! The policy answer library: answers kept in versions (an edit adds one, none is changed),
//! retirement, and every case answered with one, recorded with its `answer-online` event.

use super::{DbConnection, DbRow};
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Store, StoreError, WriteTx, from_ms, ms, opt_ms};
use crate::domain::{Actor, Refusal};
use crate::wire::{Answer, AnswerDetail, AnswerRef, AnswerUse, AnswerVersion, NewAnswer};

/// What the library search keeps.
#[derive(Debug, Clone, Default)]
pub struct AnswerFilter {
    /// Text in the title, a tag or the body, case-insensitive.
    pub q: Option<String>,
    pub category: Option<String>,
    pub include_retired: bool,
    /// Also answers outside their validity window (expired or not yet valid).
    pub include_expired: bool,
}

/// An edit named another version: the answer as it is now.
#[derive(Debug)]
pub struct StaleAnswer(pub Box<Answer>);

const CURRENT: &str = "SELECT a.id, a.version, a.retired_at, v.title, v.body, v.category, v.tags,
        v.valid_from, v.valid_until, v.created_at, v.created_by,
        (SELECT COUNT(*) FROM answer_uses u WHERE u.answer_id = a.id) AS uses
    FROM answers a JOIN answer_versions v ON v.answer_id = a.id AND v.version = a.version";

fn refused(message: impl Into<String>) -> StoreError {
    Refusal::Invalid {
        field: "answer".into(),
        message: message.into(),
    }
    .into()
}

impl Store {
    fn at(&self, v: i64) -> crate::wire::Timestamp {
        from_ms(v).with_timezone(&self.tz).fixed_offset()
    }

    fn answer_from_row(&self, r: &DbRow) -> Result<Answer, sqlx::Error> {
        let tags: String = r.try_get("tags")?;
        Ok(Answer {
            id: r.try_get("id")?,
            version: r.try_get("version")?,
            title: r.try_get("title")?,
            body: r.try_get("body")?,
            category: r.try_get("category")?,
            tags: serde_json::from_str(&tags).unwrap_or_default(),
            valid_from: r
                .try_get::<Option<i64>, _>("valid_from")?
                .map(|v| self.at(v)),
            valid_until: r
                .try_get::<Option<i64>, _>("valid_until")?
                .map(|v| self.at(v)),
            retired_at: r
                .try_get::<Option<i64>, _>("retired_at")?
                .map(|v| self.at(v)),
            updated_at: self.at(r.try_get("created_at")?),
            updated_by: r.try_get("created_by")?,
            uses: r.try_get("uses")?,
        })
    }

    /// The library, most used first (then by title); retired and out-of-window answers only
    /// when asked for.
    pub async fn answers(
        &self,
        filter: &AnswerFilter,
        now: DateTime<Utc>,
    ) -> Result<Vec<Answer>, StoreError> {
        let rows = sqlx::query(CURRENT).fetch_all(&self.read).await?;
        let q = filter.q.as_deref().map(str::to_lowercase);
        let mut list = Vec::new();
        for r in &rows {
            let a = self.answer_from_row(r)?;
            if !filter.include_retired && a.retired_at.is_some() {
                continue;
            }
            let in_window =
                a.valid_from.is_none_or(|f| f <= now) && a.valid_until.is_none_or(|u| now < u);
            if !filter.include_expired && !in_window {
                continue;
            }
            if filter
                .category
                .as_ref()
                .is_some_and(|c| a.category.as_ref() != Some(c))
            {
                continue;
            }
            if let Some(q) = &q {
                let has = |s: &str| s.to_lowercase().contains(q.as_str());
                if !(has(&a.title) || has(&a.body) || a.tags.iter().any(|t| has(t))) {
                    continue;
                }
            }
            list.push(a);
        }
        list.sort_by(|a, b| b.uses.cmp(&a.uses).then_with(|| a.title.cmp(&b.title)));
        Ok(list)
    }

    /// The answer as it is now and every version, newest first.
    pub async fn answer_detail(&self, id: i64) -> Result<AnswerDetail, StoreError> {
        let answer = self.answer(id).await?;
        let rows =
            sqlx::query("SELECT * FROM answer_versions WHERE answer_id = $1 ORDER BY version DESC")
                .bind(id)
                .fetch_all(&self.read)
                .await?;
        let versions = rows
            .iter()
            .map(|r| {
                let tags: String = r.try_get("tags")?;
                Ok(AnswerVersion {
                    version: r.try_get("version")?,
                    title: r.try_get("title")?,
                    body: r.try_get("body")?,
                    category: r.try_get("category")?,
                    tags: serde_json::from_str(&tags).unwrap_or_default(),
                    valid_from: r
                        .try_get::<Option<i64>, _>("valid_from")?
                        .map(|v| self.at(v)),
                    valid_until: r
                        .try_get::<Option<i64>, _>("valid_until")?
                        .map(|v| self.at(v)),
                    created_at: self.at(r.try_get("created_at")?),
                    created_by: r.try_get("created_by")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        Ok(AnswerDetail { answer, versions })
    }

    pub async fn answer(&self, id: i64) -> Result<Answer, StoreError> {
        let sql = format!("{CURRENT} WHERE a.id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        match row {
            Some(r) => Ok(self.answer_from_row(&r)?),
            None => Err(StoreError::NotFound(format!("answer {id}"))),
        }
    }

    /// Adds an answer at version 1. The caller has validated `new`.
    pub async fn create_answer(
        &self,
        new: &NewAnswer,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Answer, StoreError> {
        let mut tx = self.begin_write().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO answers (version, created_at) VALUES (1, $1) RETURNING id",
        )
        .bind(ms(now))
        .fetch_one(&mut *tx)
        .await?;
        insert_version(&mut tx, id, 1, new, actor, now).await?;
        tx.commit().await?;
        self.answer(id).await
    }

    /// Writes `new` as the answer's next version when `expected_version` (the `If-Match`
    /// version; `None` for a weak tag) is its current one; the old versions stay.
    pub async fn update_answer(
        &self,
        id: i64,
        expected_version: Option<i64>,
        new: &NewAnswer,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Result<Answer, StaleAnswer>, StoreError> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query("SELECT version, retired_at FROM answers WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            return Err(StoreError::NotFound(format!("answer {id}")));
        };
        let version: i64 = row.try_get("version")?;
        if expected_version != Some(version) {
            tx.rollback().await;
            return Ok(Err(StaleAnswer(Box::new(self.answer(id).await?))));
        }
        if row.try_get::<Option<i64>, _>("retired_at")?.is_some() {
            return Err(Refusal::Conflict(format!(
                "answer {id} is retired; write a new answer instead"
            ))
            .into());
        }
        let next = version + 1;
        sqlx::query("UPDATE answers SET version = $1 WHERE id = $2")
            .bind(next)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        insert_version(&mut tx, id, next, new, actor, now).await?;
        tx.commit().await?;
        Ok(Ok(self.answer(id).await?))
    }

    /// Retires the answer: it is no longer offered or accepted. Retiring twice keeps the first
    /// time.
    pub async fn retire_answer(
        &self,
        id: i64,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Answer, StoreError> {
        let done = sqlx::query(
            "UPDATE answers SET retired_at = COALESCE(retired_at, $1),
                retired_by = COALESCE(retired_by, $2) WHERE id = $3",
        )
        .bind(ms(now))
        .bind(&actor.name)
        .bind(id)
        .execute(&self.write)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("answer {id}")));
        }
        self.answer(id).await
    }

    /// Cases answered with any version of the answer at or after `since`, newest first.
    pub async fn answer_cases(
        &self,
        id: i64,
        since: DateTime<Utc>,
    ) -> Result<Vec<AnswerUse>, StoreError> {
        self.answer(id).await?;
        let rows = sqlx::query(
            "SELECT u.case_id, u.version, u.used_at, u.used_by, c.reference, c.title
             FROM answer_uses u JOIN cases c ON c.id = u.case_id
             WHERE u.answer_id = $1 AND u.used_at >= $2 ORDER BY u.used_at DESC, u.id DESC",
        )
        .bind(id)
        .bind(ms(since))
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AnswerUse {
                    case_id: r.try_get("case_id")?,
                    reference: r.try_get("reference")?,
                    title: r.try_get("title")?,
                    version: r.try_get("version")?,
                    answered_at: self.at(r.try_get("used_at")?),
                    answered_by: r.try_get("used_by")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }
}

async fn insert_version(
    tx: &mut WriteTx,
    id: i64,
    version: i64,
    new: &NewAnswer,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let trimmed: Vec<&str> = new.tags.iter().map(|t| t.trim()).collect();
    sqlx::query(
        "INSERT INTO answer_versions (answer_id, version, title, body, category, tags,
            valid_from, valid_until, created_at, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(id)
    .bind(version)
    .bind(new.title.trim())
    .bind(&new.body)
    .bind(&new.category)
    .bind(serde_json::to_string(&trimmed).unwrap_or_else(|_| "[]".into()))
    .bind(opt_ms(new.valid_from.map(|t| t.with_timezone(&Utc))))
    .bind(opt_ms(new.valid_until.map(|t| t.with_timezone(&Utc))))
    .bind(ms(now))
    .bind(&actor.name)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// An online answer may name only an answer that exists, is not retired, is valid at `now`,
/// and at its current version: a reply written from a text since corrected is refused, so
/// no requester is told what the desk no longer says.
pub(super) async fn check_answer_ref(
    conn: &mut DbConnection,
    r: AnswerRef,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let row = sqlx::query(
        "SELECT a.version, a.retired_at, v.valid_from, v.valid_until
         FROM answers a JOIN answer_versions v ON v.answer_id = a.id AND v.version = a.version
         WHERE a.id = $1",
    )
    .bind(r.id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Err(refused(format!("no library answer {}", r.id)));
    };
    if row.try_get::<Option<i64>, _>("retired_at")?.is_some() {
        return Err(refused(format!("library answer {} is retired", r.id)));
    }
    let now = ms(now);
    if row
        .try_get::<Option<i64>, _>("valid_from")?
        .is_some_and(|f| now < f)
    {
        return Err(refused(format!("library answer {} is not valid yet", r.id)));
    }
    if row
        .try_get::<Option<i64>, _>("valid_until")?
        .is_some_and(|u| now >= u)
    {
        return Err(refused(format!("library answer {} has expired", r.id)));
    }
    let current: i64 = row.try_get("version")?;
    if r.version != current {
        return Err(refused(format!(
            "library answer {} is at version {current}, not {}; insert it again",
            r.id, r.version
        )));
    }
    Ok(())
}

/// Records that `case_id` was answered with `r` by the event `event_id`.
pub(super) async fn record_answer_use(
    conn: &mut DbConnection,
    r: AnswerRef,
    case_id: i64,
    event_id: i64,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO answer_uses (answer_id, version, case_id, event_id, used_at, used_by)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(r.id)
    .bind(r.version)
    .bind(case_id)
    .bind(event_id)
    .bind(ms(now))
    .bind(&actor.name)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
