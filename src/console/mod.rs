//! The dispatcher console (`jieyou` with no subcommand).
//!
//! Floors, bottom up: `text`, `input`, `textfield`, `pinyin`, `theme`, `i18n`, `command`, `config`,
//! `action`, `layout` →
//! `app` (state and `update`) → `ui` (pure drawing) → `feed`, `tui` (I/O and the loop) → this file.

pub mod action;
pub mod alarm;
pub mod app;
pub mod brief;
pub mod command;
pub mod config;
pub mod feed;
#[doc(hidden)]
pub mod fixtures;
pub mod i18n;
pub mod input;
pub mod layout;
pub mod pace;
pub mod permissions;
pub mod pinyin;
pub mod presence;
pub mod ranked;
pub mod text;
pub mod textfield;
pub mod theme;
pub mod tui;
pub mod ui;

#[cfg(test)]
pub(crate) mod answer_editor_tests;
#[cfg(test)]
mod feed_tests;
#[cfg(test)]
mod intake_tests;
#[cfg(test)]
mod roles_tests;
#[cfg(test)]
mod screen_tests;
#[cfg(test)]
mod shift_fixtures;
#[cfg(test)]
mod shifts_tests;
#[cfg(test)]
mod test_keys;
#[cfg(test)]
mod update_tests;

use std::path::PathBuf;

use anyhow::{Context, bail};

use self::config::{Config, DEFAULT_CONFIG, Overrides};

/// The console's flags; flattened into the top level of `jieyou`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ConsoleArgs {
    /// Root URL of the central request API, e.g. http://127.0.0.1:8080
    #[arg(long, env = "JIEYOU_SERVER", value_name = "URL")]
    pub server: Option<String>,
    /// Your API token (`jieyou user add` prints one)
    #[arg(
        long,
        env = "JIEYOU_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,
    /// Read this configuration file after the one in the platform config directory
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// UI language: en or zh-CN (default: from the locale)
    #[arg(long, env = "JIEYOU_LANGUAGE", value_name = "LANG")]
    pub lang: Option<String>,
    /// Print the default configuration (every key, documented) and exit
    #[arg(long)]
    pub print_default_config: bool,
}

/// Runs the console on its own tokio runtime; for callers that are not async.
pub fn run(args: ConsoleArgs) -> anyhow::Result<()> {
    if args.print_default_config {
        print!("{DEFAULT_CONFIG}");
        return Ok(());
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(run_async(args))
}

/// Runs the console inside the caller's runtime.
pub async fn run_async(args: ConsoleArgs) -> anyhow::Result<()> {
    if args.print_default_config {
        print!("{DEFAULT_CONFIG}");
        return Ok(());
    }
    let user = config::user_config_path();
    let overrides = Overrides {
        server: args.server.clone(),
        token: args.token.clone(),
        lang: args.lang.clone(),
    };
    let cfg = Config::load(user.as_deref(), args.config.as_deref(), &overrides)?;
    let where_ = user
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "config.toml".into());
    if cfg.server.trim().is_empty() {
        bail!(
            "no server configured: pass --server URL, set JIEYOU_SERVER, or set `server` in {where_}"
        );
    }
    if cfg.token.trim().is_empty() {
        bail!(
            "no token configured: pass --token TOKEN, set JIEYOU_TOKEN, or set `token` in {where_} (`jieyou user add` prints one)"
        );
    }
    let client = crate::client::Client::new(cfg.server.trim(), cfg.token.trim())
        .map_err(|e| anyhow::anyhow!("cannot use server {:?}: {e}", cfg.server))?;
    let keymap = cfg.keymap()?;
    let lang = cfg.lang(|k| std::env::var(k).ok())?;
    let _log = init_logging(&cfg)?;
    let theme = theme::Theme::from_no_color(std::env::var("NO_COLOR").ok().as_deref());
    tracing::info!(server = %cfg.server, lang = lang.code(), "console starting");
    let app = app::App::new(
        i18n::I18n::new(lang),
        keymap,
        cfg.alarms,
        client.base_url(),
        chrono::Utc::now(),
    );
    tui::run(app, client, theme, cfg.poll).await
}

/// Logs go to a file (the screen belongs to the console); the guard flushes it on exit.
fn init_logging(cfg: &Config) -> anyhow::Result<tracing_appender::non_blocking::WorkerGuard> {
    let dir = if cfg.log.dir.trim().is_empty() {
        config::data_dir()
            .map(|d| d.join("logs"))
            .unwrap_or_else(|| std::env::temp_dir().join("jieyou-logs"))
    } else {
        PathBuf::from(cfg.log.dir.trim())
    };
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("creating log directory {}", dir.display()))?;
    let (writer, guard) =
        tracing_appender::non_blocking(tracing_appender::rolling::never(&dir, "console.log"));
    let filter = tracing_subscriber::EnvFilter::try_new(&cfg.log.level)
        .with_context(|| format!("[log] level {:?}", cfg.log.level))?;
    // A second init (tests, the demo) keeps the first subscriber.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init();
    Ok(guard)
}
