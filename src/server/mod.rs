//! `jieyou serve`: the central request API.

pub mod backup;
pub mod clock;
pub mod config;
pub mod cursor;
pub mod encoded;
pub mod error;
pub mod feed_hub;
pub mod limits;
pub mod listener;
pub mod metrics;
pub mod presence;
pub mod routes;
pub mod store;
pub mod writer;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use chrono_tz::Tz;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use backup::{BackupArgs, RestoreArgs, backup, restore};
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::ServerConfig;
pub use store::Store;

use crate::wire::{DepartmentKind, Role};

/// Shared by every handler. axum clones the state for every request (the route, then each
/// `State` extractor): one reference count to raise, not a copy of the store's strings and a
/// dozen counts of its pools, channels and caches.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] holds.
pub struct Shared {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub config: Arc<ServerConfig>,
    pub tz: Tz,
    /// Cancelled on shutdown: long polls answer at once.
    pub shutdown: CancellationToken,
    /// Long polls held per user, against `limits.max_long_polls_per_user`.
    pub long_polls: Arc<limits::LongPolls>,
    /// The feed's heads and shared delta answers.
    pub feed: Arc<feed_hub::FeedHub>,
    /// What `/metrics` shows.
    pub metrics: Arc<metrics::Metrics>,
    /// Who has which case open.
    pub presence: Arc<presence::PresenceHub>,
}

/// A server running in this process.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub store: Store,
    pub feed: Arc<feed_hub::FeedHub>,
    pub presence: Arc<presence::PresenceHub>,
    pub shutdown: CancellationToken,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, lets requests in flight finish (long polls answer at once) for up to
    /// `limits.shutdown_grace_seconds`, closes the database.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.task.await??;
        self.store.close().await;
        Ok(())
    }
}

/// Opens the database, binds `config.listen` and serves in a background task.
pub async fn spawn(config: ServerConfig, clock: Arc<dyn Clock>) -> anyhow::Result<RunningServer> {
    config.validate()?;
    let tz: Tz = config
        .policy
        .time_zone
        .parse()
        .map_err(|e| anyhow::anyhow!("policy.time_zone: {e}"))?;
    let database = if config.database.is_empty() {
        config::default_database_url()?
    } else {
        config.database.clone()
    };
    crate::server::store::Dialect::of_url(&database)?;
    if !config.migrate_on_start {
        refuse_a_schema_behind(&database).await?;
    }
    let mut store = Store::open_with(
        &database,
        &config.ref_prefix,
        tz,
        config.policy.clone(),
        config.limits.writer(),
    )
    .await
    .with_context(|| format!("opening database {database}"))?;
    store.set_idempotency_ttl(chrono::Duration::hours(i64::from(config.idempotency_hours)));
    let moved = store
        .refresh_next_due()
        .await
        .context("computing the cases' next deadlines")?;
    if moved > 0 {
        tracing::info!(cases = moved, "deadlines recomputed under the policy");
    }
    let listener = TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    let addr = listener.local_addr()?;
    let shutdown = CancellationToken::new();
    if config.escalation_interval_seconds > 0 {
        let (store, clock) = (store.clone(), clock.clone());
        tokio::spawn(every_until_shutdown(
            std::time::Duration::from_secs(config.escalation_interval_seconds),
            shutdown.clone(),
            move || {
                let (store, clock) = (store.clone(), clock.clone());
                async move {
                    match store.escalate_due(clock.now()).await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(rungs = n, "escalated overdue cases"),
                        Err(e) => tracing::warn!(error = %e, "escalation pass failed; will retry"),
                    }
                }
            },
        ));
    }
    {
        let (store, clock) = (store.clone(), clock.clone());
        tokio::spawn(every_until_shutdown(
            IDEMPOTENCY_PURGE_EVERY,
            shutdown.clone(),
            move || {
                let (store, clock) = (store.clone(), clock.clone());
                async move {
                    match store.purge_idempotency(clock.now()).await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(keys = n, "purged expired idempotency keys"),
                        Err(e) => {
                            tracing::warn!(error = %e, "idempotency purge failed; will retry")
                        }
                    }
                }
            },
        ));
    }
    let presence = Arc::new(presence::PresenceHub::default());
    {
        let (presence, clock) = (presence.clone(), clock.clone());
        tokio::spawn(every_until_shutdown(
            PRESENCE_EXPIRY_EVERY,
            shutdown.clone(),
            move || {
                presence.expire(clock.now());
                std::future::ready(())
            },
        ));
    }
    {
        // What consoles on the other instances report (PostgreSQL; none on SQLite).
        let (presence, mut peers, shutdown) =
            (presence.clone(), store.peer_presence(), shutdown.clone());
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    r = peers.recv() => match r {
                        Ok(payload) => presence.apply_announced(&payload),
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                    },
                    () = shutdown.cancelled() => return,
                }
            }
        });
    }
    let limits = config.limits.clone();
    let serve_metrics = config.metrics.enabled;
    let metrics = Arc::new(metrics::Metrics::new());
    let feed = feed_hub::FeedHub::start(store.clone(), shutdown.clone())
        .await
        .context("reading the change feed's heads")?;
    let state = AppState(Arc::new(Shared {
        store: store.clone(),
        clock,
        config: Arc::new(config),
        tz,
        shutdown: shutdown.clone(),
        long_polls: Arc::default(),
        feed: feed.clone(),
        metrics: metrics.clone(),
        presence: presence.clone(),
    }));
    let mut app = routes::router(state.clone());
    if serve_metrics {
        app = app.merge(metrics::router(state));
    }
    let app = app.layer(tower_http::trace::TraceLayer::new_for_http());
    // Outermost, so that the answers of the limits (timeouts, panics, oversized requests) are
    // counted too; a router's layers run after routing, so the route template is known.
    let app = limits::harden(app, &limits).layer(axum::middleware::from_fn_with_state(
        metrics,
        metrics::track,
    ));
    let task = tokio::spawn(listener::serve(listener, app, limits, shutdown.clone()));
    tracing::info!(%addr, database, "serving");
    Ok(RunningServer {
        addr,
        store,
        feed,
        presence,
        shutdown,
        task,
    })
}

/// With `migrate_on_start` off: the database must exist and have every migration of this
/// build, so that instances never change the schema under each other.
async fn refuse_a_schema_behind(database: &str) -> anyhow::Result<()> {
    let status = Store::schema_status(database).await.map_err(|e| {
        anyhow::anyhow!(
            "--no-migrate: cannot read the database's schema ({e}); create and migrate it first with `jieyou migrate --database URL`"
        )
    })?;
    if !status.unknown.is_empty() {
        anyhow::bail!(
            "the database has migrations this build does not know ({:?}): it was migrated by a newer jieyou; run that version",
            status.unknown
        );
    }
    if !status.pending.is_empty() {
        let names: Vec<String> = status.pending.iter().map(ToString::to_string).collect();
        anyhow::bail!(
            "--no-migrate: the database's schema is behind this build ({} migration(s) not applied: {}); run `jieyou migrate --database URL` first, then start the servers",
            names.len(),
            names.join(", ")
        );
    }
    Ok(())
}

/// How often expired idempotency keys are purged. Writes ignore expired keys meanwhile, so
/// this bounds only the table's size, never what a retried request gets.
const IDEMPOTENCY_PURGE_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

/// How often lapsed presence is removed: a console that went away vanishes from the others'
/// screens at most this long after its presence lapsed.
const PRESENCE_EXPIRY_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Runs `pass` every `every` until shutdown (the escalation ladder's clock, the idempotency
/// purge); a pass that overruns delays the next rather than queueing several.
async fn every_until_shutdown<F, Fut>(
    every: std::time::Duration,
    shutdown: CancellationToken,
    pass: F,
) where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = shutdown.cancelled() => return,
        }
        pass().await;
    }
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  jieyou serve --listen 127.0.0.1:8080 --database sqlite:/var/lib/jieyou/desk.db
  JIEYOU_DATABASE_URL=sqlite:desk.db jieyou serve --config server.toml")]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080]
    #[arg(long, env = "JIEYOU_LISTEN")]
    pub listen: Option<String>,
    /// Database URL, `sqlite:PATH` or `postgres://USER@HOST/DB` [default: jieyou.db in the platform data dir]
    #[arg(long, env = "JIEYOU_DATABASE_URL")]
    pub database: Option<String>,
    /// Server config file (TOML): desk name, reference prefix, deadline policy
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Do not migrate the database; refuse to start if its schema is behind (run `jieyou
    /// migrate` first). Same as `migrate_on_start = false` in the config file
    #[arg(long)]
    pub no_migrate: bool,
}

/// `jieyou serve`: runs until SIGTERM or Ctrl-C.
pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let mut config = ServerConfig::load(args.config.as_deref())?;
    if let Some(l) = args.listen {
        config.listen = l;
    }
    if let Some(d) = args.database {
        config.database = d;
    }
    if args.no_migrate {
        config.migrate_on_start = false;
    }
    // Listening for the signals before saying "listening": a SIGTERM sent as soon as the
    // server is up must stop it gracefully, not kill it.
    let stop = shutdown_signal();
    let server = spawn(config, Arc::new(SystemClock)).await?;
    println!("jieyou serve: listening on {}", server.url());
    stop.await;
    tracing::info!("shutting down");
    server.stop().await
}

/// Resolves on Ctrl-C, or SIGTERM where there is one. The SIGTERM handler is installed when
/// this is called, not when it is first awaited.
pub fn shutdown_signal() -> impl Future<Output = ()> {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        let ctrl_c = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        #[cfg(unix)]
        let term = async {
            match term {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            () = ctrl_c => {},
            () = term => {},
        }
    }
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  jieyou migrate --database sqlite:/var/lib/jieyou/desk.db
  JIEYOU_DATABASE_URL=postgres://jieyou@db/jieyou jieyou migrate")]
pub struct MigrateArgs {
    /// Database URL, `sqlite:PATH` [default: jieyou.db in the platform data dir]
    #[arg(long, env = "JIEYOU_DATABASE_URL")]
    pub database: Option<String>,
}

/// `jieyou migrate`: creates the database if missing, applies the migrations it lacks, and
/// says which.
pub async fn migrate(args: MigrateArgs) -> anyhow::Result<()> {
    let database = match args.database {
        Some(d) => d,
        None => config::default_database_url()?,
    };
    let applied = Store::migrate_only(&database)
        .await
        .context("migrating the database")?;
    if applied.is_empty() {
        println!("jieyou migrate: the schema was current; applied none");
    } else {
        println!("jieyou migrate: applied {} migration(s):", applied.len());
        for m in applied {
            println!("  {m}");
        }
    }
    Ok(())
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  jieyou user add --database sqlite:desk.db --name op-li --role operator
  jieyou user list --database sqlite:desk.db
  jieyou user revoke --database sqlite:desk.db --name op-li
  jieyou user rotate --database sqlite:desk.db --name op-li")]
pub struct UserArgs {
    #[command(subcommand)]
    pub command: UserCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum UserCommand {
    /// Add a user; prints the new bearer token as the last line (it is not stored, only its hash)
    #[command(after_help = "Examples:
  jieyou user add --database sqlite:desk.db --name op-li --role operator
  jieyou user add --database sqlite:desk.db --name wj-zhang --role department --department 3")]
    Add {
        /// Database URL, `sqlite:PATH` or `postgres://USER@HOST/DB`
        #[arg(long, env = "JIEYOU_DATABASE_URL")]
        database: Option<String>,
        /// Login name, shown in case timelines
        #[arg(long)]
        name: String,
        /// intake, operator, supervisor, department, observer or admin
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// Department id (for the department role)
        #[arg(long)]
        department: Option<i64>,
    },
    /// List users: name, role, department, when created, when revoked
    List {
        /// Database URL, `sqlite:PATH` or `postgres://USER@HOST/DB`
        #[arg(long, env = "JIEYOU_DATABASE_URL")]
        database: Option<String>,
    },
    /// Revoke a user's token: it answers 401 (token revoked) from now on
    Revoke {
        /// Database URL, `sqlite:PATH` or `postgres://USER@HOST/DB`
        #[arg(long, env = "JIEYOU_DATABASE_URL")]
        database: Option<String>,
        #[arg(long)]
        name: String,
    },
    /// Issue a new token for a user (printed as the last line, once); the old one answers 401.
    /// A revoked user is active again with the new token.
    Rotate {
        /// Database URL, `sqlite:PATH` or `postgres://USER@HOST/DB`
        #[arg(long, env = "JIEYOU_DATABASE_URL")]
        database: Option<String>,
        #[arg(long)]
        name: String,
    },
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  jieyou department add --database sqlite:desk.db --name 卫健局 --kind bureau
  jieyou department list --database sqlite:desk.db")]
pub struct DepartmentArgs {
    #[command(subcommand)]
    pub command: DepartmentCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum DepartmentCommand {
    /// Add a department cases can be dispatched to
    #[command(after_help = "Examples:
  jieyou department add --database sqlite:desk.db --name 卫健局 --kind bureau
  jieyou department add --database sqlite:desk.db --name 马金镇 --kind township")]
    Add {
        /// Database URL, `sqlite:PATH` or `postgres://USER@HOST/DB`
        #[arg(long, env = "JIEYOU_DATABASE_URL")]
        database: Option<String>,
        #[arg(long)]
        name: String,
        /// township, bureau, squad or hospital
        #[arg(long, value_parser = parse_department_kind)]
        kind: DepartmentKind,
    },
    /// List departments with their ids (for `user add --department`)
    List {
        /// Database URL, `sqlite:PATH` or `postgres://USER@HOST/DB`
        #[arg(long, env = "JIEYOU_DATABASE_URL")]
        database: Option<String>,
    },
}

fn parse_department_kind(s: &str) -> Result<DepartmentKind, String> {
    serde_json::from_value(serde_json::json!(s))
        .map_err(|_| format!("no kind {s:?}; one of: township, bureau, squad, hospital"))
}

/// Opens the store named on the command line (or the default one) for an admin command.
async fn open_for_admin(database: Option<String>) -> anyhow::Result<Store> {
    let database = match database {
        Some(d) => d,
        None => config::default_database_url()?,
    };
    let cfg = ServerConfig::default();
    let tz = cfg
        .policy
        .time_zone
        .parse()
        .unwrap_or(chrono_tz::Asia::Shanghai);
    Store::open(&database, &cfg.ref_prefix, tz, cfg.policy)
        .await
        .with_context(|| format!("opening database {database}"))
}

pub async fn department(args: DepartmentArgs) -> anyhow::Result<()> {
    match args.command {
        DepartmentCommand::Add {
            database,
            name,
            kind,
        } => {
            let store = open_for_admin(database).await?;
            let d = store.add_department(&name, kind).await;
            store.close().await;
            let d = d?;
            println!("added department {} (id {})", d.name, d.id);
        }
        DepartmentCommand::List { database } => {
            let store = open_for_admin(database).await?;
            let all = store.departments().await;
            store.close().await;
            for d in all? {
                let kind = serde_json::to_value(d.kind)?;
                let state = if d.active { "" } else { "  (inactive)" };
                println!(
                    "{:>4}  {:<10} {}{state}",
                    d.id,
                    kind.as_str().unwrap_or(""),
                    d.name
                );
            }
        }
    }
    Ok(())
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| {
        format!(
            "no role {s:?}; one of: {}",
            Role::ALL.map(Role::as_str).join(", ")
        )
    })
}

pub async fn user(args: UserArgs) -> anyhow::Result<()> {
    match args.command {
        UserCommand::Add {
            database,
            name,
            role,
            department,
        } => {
            let store = open_for_admin(database).await?;
            let token = store.add_user(&name, role, department).await;
            store.close().await;
            let token = token?;
            println!(
                "added {} user {name}; their token (shown only now):",
                role.as_str()
            );
            println!("{token}");
            Ok(())
        }
        UserCommand::List { database } => {
            let store = open_for_admin(database).await?;
            let users = store.users().await;
            store.close().await;
            let time =
                |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M UTC").to_string();
            let rows: Vec<[String; 5]> = users?
                .into_iter()
                .map(|u| {
                    [
                        u.name,
                        u.role.as_str().to_string(),
                        u.department.unwrap_or_else(|| "-".into()),
                        time(u.created_at),
                        u.revoked_at.map(time).unwrap_or_else(|| "-".into()),
                    ]
                })
                .collect();
            print_table(&["NAME", "ROLE", "DEPARTMENT", "CREATED", "REVOKED"], &rows);
            Ok(())
        }
        UserCommand::Revoke { database, name } => {
            let store = open_for_admin(database).await?;
            let done = store.revoke_user(&name).await;
            store.close().await;
            done?;
            println!("revoked the token of {name}; it answers 401 from now on");
            Ok(())
        }
        UserCommand::Rotate { database, name } => {
            let store = open_for_admin(database).await?;
            let token = store.rotate_user(&name).await;
            store.close().await;
            let token = token?;
            println!("retired the old token of {name}; their new token (shown only now):");
            println!("{token}");
            Ok(())
        }
    }
}

/// Columns padded to their widest cell, measured in display width (department names are
/// CJK).
fn print_table<const N: usize>(header: &[&str; N], rows: &[[String; N]]) {
    use unicode_width::UnicodeWidthStr;
    let mut widths = header.map(UnicodeWidthStr::width);
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.width());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            out.push_str(cell);
            if i + 1 < N {
                out.push_str(&" ".repeat(w - cell.width() + 2));
            }
        }
        println!("{out}");
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}
