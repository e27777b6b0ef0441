//! The schema's state apart from opening a store: for deployments that migrate once, with
//! `jieyou migrate`, before starting instances that do not (`jieyou serve --no-migrate`).

use std::collections::BTreeSet;

use chrono_tz::Tz;
use sqlx::Connection;
use sqlx::migrate::Migrate;

use super::{DbConnection, Dialect, Store, StoreError, migrator};
use crate::server::config::ServerConfig;

/// Where sqlx keeps the applied migrations (its default table).
const MIGRATIONS_TABLE: &str = "_sqlx_migrations";

/// A migration of this build: its number and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationName {
    pub version: i64,
    pub name: String,
}

impl std::fmt::Display for MigrationName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}_{}", self.version, self.name)
    }
}

/// How a database's schema stands against this build's migrations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchemaStatus {
    /// This build's migrations the database has not had yet, in order.
    pub pending: Vec<MigrationName>,
    /// Versions the database has that this build does not know: it was migrated by a newer
    /// build.
    pub unknown: Vec<i64>,
}

impl Store {
    /// The schema of the existing database at `url` against this build's migrations. Creates
    /// nothing but the (empty) migrations table; a database that does not exist is an error.
    pub async fn schema_status(url: &str) -> Result<SchemaStatus, StoreError> {
        let dialect = Dialect::of_url(url)?;
        sqlx::any::install_default_drivers();
        let mut conn = DbConnection::connect(url).await?;
        let status = status_on(&mut conn, dialect).await;
        let _ = conn.close().await;
        status
    }

    /// Creates the database at `url` if it is missing and applies the migrations it lacks,
    /// without serving; returns those it applied (none when it was current).
    pub async fn migrate_only(url: &str) -> Result<Vec<MigrationName>, StoreError> {
        // A database that cannot be opened yet does not exist: opening the store creates it
        // and applies every migration.
        let dialect = Dialect::of_url(url)?;
        let before = Store::schema_status(url).await.ok();
        // Nothing but the schema is touched: the desk's own settings do not matter here.
        let cfg = ServerConfig::default();
        let tz: Tz = cfg
            .policy
            .time_zone
            .parse()
            .unwrap_or(chrono_tz::Asia::Shanghai);
        let store = Store::open(url, &cfg.ref_prefix, tz, cfg.policy).await?;
        store.close().await;
        Ok(match before {
            Some(status) => status.pending,
            None => all_migrations(dialect),
        })
    }
}

fn all_migrations(dialect: Dialect) -> Vec<MigrationName> {
    migrator(dialect)
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
        .map(|m| MigrationName {
            version: m.version,
            name: m.description.to_string(),
        })
        .collect()
}

async fn status_on(conn: &mut DbConnection, dialect: Dialect) -> Result<SchemaStatus, StoreError> {
    conn.ensure_migrations_table(MIGRATIONS_TABLE).await?;
    let applied: BTreeSet<i64> = conn
        .list_applied_migrations(MIGRATIONS_TABLE)
        .await?
        .into_iter()
        .map(|m| m.version)
        .collect();
    let known = all_migrations(dialect);
    let unknown = applied
        .iter()
        .copied()
        .filter(|v| !known.iter().any(|m| m.version == *v))
        .collect();
    let pending = known
        .into_iter()
        .filter(|m| !applied.contains(&m.version))
        .collect();
    Ok(SchemaStatus { pending, unknown })
}
