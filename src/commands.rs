//! Small command-line clients of the API: `jieyou report daily`, `jieyou report shift`,
//! `jieyou shift`.

mod shift;

pub use shift::{BriefFormat, Connection, ShiftArgs, ShiftCommand, shift};

use crate::client::Client;
use crate::report::DailyReport;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Md,
    Csv,
    Json,
    Html,
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Example:
  jieyou report daily --server http://desk:8080 --token $T --format html > today.html")]
pub struct ReportArgs {
    #[command(subcommand)]
    pub command: ReportCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum ReportCommand {
    /// Print the daily work report (received, answered online, dispatched, on time per tier and
    /// per department, follow-up satisfaction, hour by hour)
    #[command(after_help = "Examples:
  jieyou report daily --server http://desk:8080 --token $T
  jieyou report daily --date 2022-05-08 --format html > report-2022-05-08.html
  JIEYOU_SERVER=http://desk:8080 JIEYOU_TOKEN=$T jieyou report daily --format csv")]
    Daily {
        /// Local date of the desk, YYYY-MM-DD [default: today at the desk]
        #[arg(long)]
        date: Option<String>,
        #[arg(long, value_enum, default_value = "md")]
        format: ReportFormat,
        /// Server URL
        #[arg(long, env = "JIEYOU_SERVER")]
        server: String,
        /// Bearer token (operator, supervisor, observer or admin)
        #[arg(long, env = "JIEYOU_TOKEN", hide_env_values = true)]
        token: String,
    },
    /// Print a shift's handover brief (open red cases, claims left, pending extensions, what
    /// was promised, escalations, the shift's counts, the note, who read it)
    #[command(after_help = "Examples:
  jieyou report shift --last
  jieyou report shift --id 12 --format html --lang zh-CN > handover-12.html")]
    Shift {
        /// The brief's id
        #[arg(long, conflicts_with = "last")]
        id: Option<i64>,
        /// The latest brief (the default)
        #[arg(long)]
        last: bool,
        #[arg(long, value_enum, default_value = "markdown")]
        format: BriefFormat,
        #[command(flatten)]
        connection: Connection,
    },
}

pub async fn report(args: ReportArgs) -> anyhow::Result<()> {
    match args.command {
        ReportCommand::Daily {
            date,
            format,
            server,
            token,
        } => {
            let client = Client::new(&server, &token)?;
            let path = match &date {
                Some(d) => format!("/api/v1/reports/daily?date={d}"),
                None => "/api/v1/reports/daily".to_string(),
            };
            let r: DailyReport = client.get_json(&path).await?;
            let out = match format {
                ReportFormat::Md => r.to_markdown(),
                ReportFormat::Csv => r.to_csv(),
                ReportFormat::Json => serde_json::to_string_pretty(&r)? + "\n",
                ReportFormat::Html => r.to_html(),
            };
            print!("{out}");
            Ok(())
        }
        ReportCommand::Shift {
            id,
            last: _,
            format,
            connection,
        } => shift::report_shift(id, format, &connection).await,
    }
}
