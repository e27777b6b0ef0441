//! `jieyou backup` (a consistent copy of a live database) and `jieyou restore` (a backup put in
//! place, with a new database identity so that every console's cursor is refused and each
//! console takes a new snapshot instead of reading the restored sequence as its own).

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::sqlite::{SqliteConnectOptions, SqliteLockingMode};
use sqlx::{ConnectOptions, Connection};

use super::config;
use super::store;

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  jieyou backup --database sqlite:/var/lib/jieyou/desk.db --to /backup/desk-20220508.db
  JIEYOU_DATABASE_URL=sqlite:desk.db jieyou backup --to desk-before-upgrade.db

The server may keep running: the copy is one consistent moment of the database.")]
pub struct BackupArgs {
    /// Database URL, `sqlite:PATH` [default: jieyou.db in the platform data dir]
    #[arg(long, env = "JIEYOU_DATABASE_URL")]
    pub database: Option<String>,
    /// The file to write; it must not exist yet
    #[arg(long)]
    pub to: PathBuf,
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  jieyou restore --database sqlite:/var/lib/jieyou/desk.db --from /backup/desk-20220508.db
  JIEYOU_DATABASE_URL=sqlite:desk.db jieyou restore --from desk-before-upgrade.db

Stop `jieyou serve` first. The restored database gets a new identity: consoles notice at their
next poll and reload every case by themselves.")]
pub struct RestoreArgs {
    /// Database URL to replace, `sqlite:PATH` [default: jieyou.db in the platform data dir]
    #[arg(long, env = "JIEYOU_DATABASE_URL")]
    pub database: Option<String>,
    /// A backup written by `jieyou backup`
    #[arg(long)]
    pub from: PathBuf,
}

fn database_url(database: Option<String>) -> anyhow::Result<String> {
    match database {
        Some(d) => Ok(d),
        None => config::default_database_url(),
    }
}

fn sqlite_path(url: &str) -> anyhow::Result<PathBuf> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        anyhow::bail!(
            "backup and restore are for SQLite databases; back up PostgreSQL with pg_dump \
             (e.g. `pg_dump -Fc -f desk.dump DBNAME`) and restore with pg_restore"
        );
    }
    url.strip_prefix("sqlite:")
        .filter(|p| !p.is_empty() && !p.contains('?'))
        .map(PathBuf::from)
        .ok_or_else(|| anyhow::anyhow!("--database must be sqlite:PATH (got {url:?})"))
}

/// `jieyou backup`: `VACUUM INTO` writes one consistent snapshot while writers go on.
pub async fn backup(args: BackupArgs) -> anyhow::Result<()> {
    let url = database_url(args.database)?;
    sqlite_path(&url)?;
    if args.to.exists() {
        anyhow::bail!(
            "{} exists: name a new file for the backup",
            args.to.display()
        );
    }
    let to = args
        .to
        .to_str()
        .ok_or_else(|| anyhow::anyhow!("--to must be a UTF-8 path"))?;
    let mut conn = SqliteConnectOptions::from_str(&url)?
        .busy_timeout(Duration::from_secs(10))
        .connect()
        .await
        .with_context(|| format!("opening database {url}"))?;
    let written = async {
        // A file with no desk in it is not worth a backup: most likely a mistyped path.
        sqlx::query_scalar::<_, i64>("SELECT seq FROM feed_counter WHERE id = 1")
            .fetch_one(&mut conn)
            .await
            .with_context(|| format!("{url} is not a Jieyou database"))?;
        sqlx::query("VACUUM INTO ?")
            .bind(to)
            .execute(&mut conn)
            .await
            .with_context(|| format!("writing {to}"))?;
        anyhow::Ok(())
    }
    .await;
    conn.close().await?;
    written?;
    println!("backed up {url} to {to}");
    Ok(())
}

/// `jieyou restore`: refuses a database in use; copies the backup beside it, brings it to the
/// current schema with a new identity, and moves it into place.
pub async fn restore(args: RestoreArgs) -> anyhow::Result<()> {
    let url = database_url(args.database)?;
    let target = sqlite_path(&url)?;
    if !args.from.is_file() {
        anyhow::bail!("{} is not a file", args.from.display());
    }
    check_is_backup(&args.from).await?;
    if target.exists() {
        check_not_in_use(&url).await?;
    }
    let staging = with_suffix(&target, ".restoring");
    remove_if_present(&staging)?;
    std::fs::copy(&args.from, &staging)
        .with_context(|| format!("copying {} to {}", args.from.display(), staging.display()))?;
    let staged_url = format!("sqlite:{}", staging.display());
    let id = store::adopt_restored_copy(&staged_url)
        .await
        .with_context(|| format!("preparing {}", staging.display()))?;
    // A write-ahead log left beside the old file belongs to it, not to the restored one.
    for suffix in ["-wal", "-shm"] {
        remove_if_present(&with_suffix(&target, suffix))?;
    }
    std::fs::rename(&staging, &target)
        .with_context(|| format!("moving {} to {}", staging.display(), target.display()))?;
    println!(
        "restored {} into {url} (new database id {id}); consoles reload every case at their next poll",
        args.from.display()
    );
    Ok(())
}

async fn check_is_backup(file: &Path) -> anyhow::Result<()> {
    let mut conn = SqliteConnectOptions::new()
        .filename(file)
        .read_only(true)
        .connect()
        .await
        .with_context(|| format!("opening {}", file.display()))?;
    let seq = sqlx::query_scalar::<_, i64>("SELECT seq FROM feed_counter WHERE id = 1")
        .fetch_one(&mut conn)
        .await;
    conn.close().await?;
    seq.map(drop)
        .with_context(|| format!("{} is not a Jieyou backup", file.display()))
}

/// A running server holds the database open; an exclusive lock shows that nobody does.
async fn check_not_in_use(url: &str) -> anyhow::Result<()> {
    let mut conn = SqliteConnectOptions::from_str(url)?
        .locking_mode(SqliteLockingMode::Exclusive)
        .busy_timeout(Duration::ZERO)
        .connect()
        .await
        .with_context(|| format!("opening database {url}"))?;
    let locked = async {
        sqlx::query("BEGIN EXCLUSIVE").execute(&mut conn).await?;
        sqlx::query("COMMIT").execute(&mut conn).await?;
        Ok::<(), sqlx::Error>(())
    }
    .await;
    conn.close().await?;
    locked.with_context(|| format!("{url} is in use: stop `jieyou serve` before restoring"))
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn remove_if_present(path: &Path) -> anyhow::Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("removing {}", path.display())),
    }
}
