//! Bearer tokens looked up in memory. A token that named a user is remembered, so a request
//! costs no database read. Revocation and rotation bump a counter in `store_meta` (whichever
//! process makes them: the `jieyou user` commands write the database directly); the cache reads
//! the counter at most once every [`RECHECK`] and forgets everything when it moved. A revoked
//! or rotated token therefore stops working within [`RECHECK`] (at once when this process made
//! the change). Tokens that name nobody are not remembered: a new user's token works at once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::DbPool;
use sqlx::Row;

use super::{StoreError, TokenOwner, User, WriteTx};

/// How often the revocation counter is read: the bound on a revoked token's life.
pub const RECHECK: Duration = Duration::from_secs(1);

/// Most tokens remembered; past it the cache starts afresh.
const CAPACITY: usize = 100_000;

/// The counter's value in SQL (0 before any revocation).
const EPOCH_SQL: &str = "(SELECT CAST(value AS BIGINT) FROM store_meta WHERE key = 'token_epoch')";

#[derive(Default)]
pub(super) struct TokenCache {
    inner: Mutex<Inner>,
    /// Reads of the users table made for a token, for tests.
    reads: AtomicU64,
}

#[derive(Default)]
struct Inner {
    users: HashMap<String, User>,
    /// The revocation counter the remembered users were read under.
    epoch: Option<i64>,
    checked: Option<Instant>,
}

impl Inner {
    fn lock(m: &Mutex<Inner>) -> std::sync::MutexGuard<'_, Inner> {
        m.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes a newly read counter: a moved one makes every remembered user doubtful.
    fn observe(&mut self, epoch: i64) {
        if self.epoch != Some(epoch) {
            self.users.clear();
            self.epoch = Some(epoch);
        }
    }
}

impl TokenCache {
    /// The owner of the token whose SHA-256 is `hash`.
    pub(super) async fn owner(&self, read: &DbPool, hash: &str) -> Result<TokenOwner, StoreError> {
        let recheck = {
            let mut inner = Inner::lock(&self.inner);
            let due = inner.checked.is_none_or(|t| t.elapsed() >= RECHECK);
            if due {
                // Whoever finds the check due makes it; the others go on with the cache.
                inner.checked = Some(Instant::now());
            } else if let Some(u) = inner.users.get(hash) {
                return Ok(TokenOwner::User(u.clone()));
            }
            due
        };
        if recheck {
            let epoch: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT COALESCE({EPOCH_SQL}, 0)"
            )))
            .fetch_one(read)
            .await?;
            let mut inner = Inner::lock(&self.inner);
            inner.observe(epoch);
            if let Some(u) = inner.users.get(hash) {
                return Ok(TokenOwner::User(u.clone()));
            }
        }
        self.reads.fetch_add(1, Ordering::Relaxed);
        // The counter is read with the user, in one snapshot: a user read before a revocation
        // carries the counter from before it, and is not remembered once the newer one is known.
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT id, name, role, department_id, revoked_at, COALESCE({EPOCH_SQL}, 0) AS epoch
               FROM users WHERE token_hash = $1"
        )))
        .bind(hash)
        .fetch_optional(read)
        .await?;
        let Some(r) = row else {
            let retired: Option<i64> =
                sqlx::query_scalar("SELECT user_id FROM retired_tokens WHERE token_hash = $1")
                    .bind(hash)
                    .fetch_optional(read)
                    .await?;
            return Ok(match retired {
                Some(_) => TokenOwner::Revoked,
                None => TokenOwner::Unknown,
            });
        };
        if r.try_get::<Option<i64>, _>("revoked_at")?.is_some() {
            return Ok(TokenOwner::Revoked);
        }
        let user = super::user_from_row(&r)?;
        let epoch: i64 = r.try_get("epoch")?;
        let mut inner = Inner::lock(&self.inner);
        if inner.epoch == Some(epoch) {
            if inner.users.len() >= CAPACITY {
                inner.users.clear();
            }
            inner.users.insert(hash.to_string(), user.clone());
        }
        Ok(TokenOwner::User(user))
    }

    /// Forgets every remembered token: this process just revoked or rotated one.
    pub(super) fn forget(&self) {
        let mut inner = Inner::lock(&self.inner);
        inner.users.clear();
        inner.epoch = None;
        inner.checked = None;
    }

    #[cfg(test)]
    fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }
}

/// Moves the revocation counter, in the transaction that revokes or retires a token.
pub(super) async fn bump_epoch(tx: &mut WriteTx) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO store_meta (key, value) VALUES ('token_epoch', '1')
         ON CONFLICT (key) DO UPDATE
         SET value = CAST(CAST(store_meta.value AS BIGINT) + 1 AS TEXT)",
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::server::Store;
    use crate::server::store::TokenOwner;
    use crate::wire::{Policy, Role};

    /// A known token is read from the database once; revoking it in this process ends it at
    /// once.
    #[tokio::test]
    async fn a_token_is_read_once_and_forgotten_when_revoked() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("t.db").display());
        let tz = chrono_tz::Asia::Shanghai;
        let store = Store::open(&url, "KH", tz, Policy::default())
            .await
            .unwrap();
        let token = store.add_user("op-li", Role::Operator, None).await.unwrap();
        for _ in 0..3 {
            assert!(matches!(
                store.user_by_token(&token).await.unwrap(),
                TokenOwner::User(_)
            ));
        }
        assert_eq!(store.tokens.reads(), 1);
        store.revoke_user("op-li").await.unwrap();
        assert_eq!(
            store.user_by_token(&token).await.unwrap(),
            TokenOwner::Revoked
        );
        store.close().await;
    }
}
