use clap::{CommandFactory, Parser, Subcommand};

/// Jieyou (解忧): the dispatcher console of a 24/7 help-request desk, and the central request
/// API behind it.
#[derive(Debug, Parser)]
#[command(
    name = "jieyou",
    version,
    propagate_version = true,
    after_help = "Examples:
  jieyou demo                                         the whole desk on this machine
  jieyou --server http://desk:8080 --token jy_…       open the console
  jieyou serve --database sqlite:/var/lib/jieyou/desk.db
  jieyou user add --name op-li --role operator        prints the token
  jieyou backup --database sqlite:desk.db --to desk-20220508.db
  jieyou report daily --date 2022-05-08 --format html > report.html
  jieyou shift start                                  with the console's server and token"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// With no subcommand: the dispatcher console's flags.
    #[command(flatten)]
    console: jieyou::console::ConsoleArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the central request API
    Serve(jieyou::server::ServeArgs),
    /// Create the server's database if missing and apply its migrations, then exit
    Migrate(jieyou::server::MigrateArgs),
    /// Manage users of a server's database
    User(jieyou::server::UserArgs),
    /// Manage departments of a server's database
    Department(jieyou::server::DepartmentArgs),
    /// Copy a server's database to a file, while it runs
    Backup(jieyou::server::BackupArgs),
    /// Put a backup in place of a stopped server's database; consoles reload every case
    Restore(jieyou::server::RestoreArgs),
    /// Reports from a server: `jieyou report daily`, `jieyou report shift`
    Report(jieyou::commands::ReportArgs),
    /// Start or end your shift, or see whether you are on one
    Shift(jieyou::commands::ShiftArgs),
    /// The whole desk on one machine: server, seeded Kaihua data, simulated citizens and departments
    Demo(jieyou::demo::DemoArgs),
    /// Simulated consoles and operators against a server, to size a deployment
    Loadgen(jieyou::loadgen::LoadgenArgs),
    /// Print shell completions
    #[command(
        after_help = "Example:\n  jieyou completions bash > ~/.local/share/bash-completion/completions/jieyou"
    )]
    Completions { shell: clap_complete::Shell },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Serve(args)) => {
            init_server_logging();
            runtime()?.block_on(jieyou::server::serve(args))
        }
        Some(Command::Migrate(args)) => runtime()?.block_on(jieyou::server::migrate(args)),
        Some(Command::User(args)) => runtime()?.block_on(jieyou::server::user(args)),
        Some(Command::Department(args)) => runtime()?.block_on(jieyou::server::department(args)),
        Some(Command::Backup(args)) => runtime()?.block_on(jieyou::server::backup(args)),
        Some(Command::Restore(args)) => runtime()?.block_on(jieyou::server::restore(args)),
        Some(Command::Report(args)) => runtime()?.block_on(jieyou::commands::report(args)),
        Some(Command::Shift(args)) => runtime()?.block_on(jieyou::commands::shift(args)),
        Some(Command::Demo(args)) => {
            // With the console on screen, logs go to the console's log file instead.
            if args.no_console {
                init_server_logging();
            }
            runtime()?.block_on(jieyou::demo::run(args))
        }
        Some(Command::Loadgen(args)) => runtime()?.block_on(jieyou::loadgen::command(args)),
        Some(Command::Completions { shell }) => {
            clap_complete::generate(shell, &mut Cli::command(), "jieyou", &mut std::io::stdout());
            Ok(())
        }
        None => jieyou::console::run(cli.console),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// Structured logs to stderr; `RUST_LOG` filters, `JIEYOU_LOG_FORMAT=json` for JSON lines.
fn init_server_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::env::var("JIEYOU_LOG_FORMAT").as_deref() == Ok("json") {
        builder.json().init();
    } else {
        builder.init();
    }
}
