//! `jieyou shift start|end|status` and `jieyou report shift`: shift work from the command line,
//! through the API, signed in as the console is (its config file, `--server`, `--token`).

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, bail};

use crate::client::Client;
use crate::console::brief;
use crate::console::config::{Config, Overrides, user_config_path};
use crate::console::i18n::{I18n, Lang};
use crate::report::markdown_cell;
use crate::wire::{BriefCase, HandoverBrief, HandoverList, Shift, Timestamp};

/// The server and the user, as the console finds them.
#[derive(Debug, Clone, clap::Args)]
pub struct Connection {
    /// Server URL [default: `server` in the console's config file]
    #[arg(long, env = "JIEYOU_SERVER", global = true)]
    pub server: Option<String>,
    /// Bearer token [default: `token` in the console's config file]
    #[arg(long, env = "JIEYOU_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<String>,
    /// Read this configuration file after the one in the platform config directory
    #[arg(long, value_name = "PATH", global = true)]
    pub config: Option<PathBuf>,
    /// Language of the output: en or zh-CN (default: the console's)
    #[arg(long, env = "JIEYOU_LANGUAGE", value_name = "LANG", global = true)]
    pub lang: Option<String>,
}

impl Connection {
    fn open(&self) -> anyhow::Result<(Client, I18n)> {
        let overrides = Overrides {
            server: self.server.clone(),
            token: self.token.clone(),
            lang: self.lang.clone(),
        };
        let cfg = Config::load(
            user_config_path().as_deref(),
            self.config.as_deref(),
            &overrides,
        )?;
        if cfg.server.trim().is_empty() {
            bail!("no server configured: pass --server URL or set JIEYOU_SERVER");
        }
        if cfg.token.trim().is_empty() {
            bail!("no token configured: pass --token TOKEN or set JIEYOU_TOKEN");
        }
        let lang = cfg.lang(|k| std::env::var(k).ok())?;
        let client = Client::new(cfg.server.trim(), cfg.token.trim())
            .with_context(|| format!("cannot use server {:?}", cfg.server))?;
        Ok((client, I18n::new(lang)))
    }
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  jieyou shift start
  jieyou shift end --note \"3号床家属晚上会再打来\"
  jieyou shift status --server http://desk:8080 --token $T")]
pub struct ShiftArgs {
    #[command(subcommand)]
    pub command: ShiftCommand,
    #[command(flatten)]
    pub connection: Connection,
}

#[derive(Debug, clap::Subcommand)]
pub enum ShiftCommand {
    /// Start your shift (operator, supervisor)
    Start,
    /// End your shift; prints the handover brief it leaves
    End {
        /// Your own words for the next shift
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Whether you are on shift, and since when
    Status,
}

pub async fn shift(args: ShiftArgs) -> anyhow::Result<()> {
    let (client, i18n) = args.connection.open()?;
    match args.command {
        ShiftCommand::Start => {
            let s: Shift = client
                .send_json(
                    reqwest::Method::POST,
                    "/api/v1/shifts/start",
                    &serde_json::json!({}),
                )
                .await?;
            println!(
                "{}",
                i18n.f(
                    "shift_cli.started",
                    &[("id", &s.id.to_string()), ("at", &time(&s.started_at))]
                )
            );
        }
        ShiftCommand::End { note } => {
            let b: HandoverBrief = client
                .send_json(
                    reqwest::Method::POST,
                    "/api/v1/shifts/end",
                    &serde_json::json!({ "note": note }),
                )
                .await?;
            print!("{}", to_markdown(&b, &i18n));
        }
        ShiftCommand::Status => match client.get_json::<Shift>("/api/v1/shifts/current").await {
            Ok(s) => println!(
                "{}",
                i18n.f(
                    "shift_cli.on_shift",
                    &[("id", &s.id.to_string()), ("at", &time(&s.started_at))]
                )
            ),
            Err(e) if e.status() == Some(404) => println!("{}", i18n.t("shift_cli.off_shift")),
            Err(e) => return Err(e.into()),
        },
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BriefFormat {
    #[value(alias = "md")]
    Markdown,
    Html,
    Json,
}

/// `jieyou report shift`: one brief, by id or the latest.
pub async fn report_shift(
    id: Option<i64>,
    format: BriefFormat,
    connection: &Connection,
) -> anyhow::Result<()> {
    let (client, i18n) = connection.open()?;
    let brief: HandoverBrief = match id {
        Some(id) => client.get_json(&format!("/api/v1/handovers/{id}")).await?,
        None => {
            let list: HandoverList = client.get_json("/api/v1/handovers?limit=1").await?;
            match list.handovers.into_iter().next() {
                Some(b) => b,
                None => bail!("{}", i18n.t("handover_report.none_yet")),
            }
        }
    };
    let out = match format {
        BriefFormat::Markdown => to_markdown(&brief, &i18n),
        BriefFormat::Html => to_html(&brief, &i18n),
        BriefFormat::Json => serde_json::to_string_pretty(&brief)? + "\n",
    };
    print!("{out}");
    Ok(())
}

fn time(t: &Timestamp) -> String {
    t.format("%Y-%m-%d %H:%M").to_string()
}

/// The lists of a brief with their heading keys and full lengths.
fn sections(b: &HandoverBrief) -> [(&'static str, &[BriefCase], i64); 5] {
    [
        ("handover_report.red_open", &b.red_open, b.totals.red_open),
        ("handover_report.claimed", &b.claimed, b.totals.claimed),
        (
            "handover_report.pending_extensions",
            &b.pending_extensions,
            b.totals.pending_extensions,
        ),
        ("handover_report.promised", &b.promised, b.totals.promised),
        (
            "handover_report.escalated",
            &b.escalated,
            b.totals.escalated,
        ),
    ]
}

fn counts(b: &HandoverBrief) -> [(&'static str, i64); 4] {
    [
        ("handover_report.received", b.counts.received),
        ("handover_report.answered_online", b.counts.answered_online),
        ("handover_report.dispatched", b.counts.dispatched),
        ("handover_report.overdue", b.counts.overdue),
    ]
}

const COLUMNS: [&str; 7] = [
    "handover_report.col_ref",
    "handover_report.col_title",
    "handover_report.col_status",
    "handover_report.col_department",
    "handover_report.col_claimed_by",
    "handover_report.col_next_deadline",
    "handover_report.col_detail",
];

fn cells(c: &BriefCase, i18n: &I18n) -> [String; 7] {
    let dash = || "—".to_string();
    [
        c.reference.clone(),
        c.title.clone(),
        brief::status(i18n, c),
        c.department.clone().unwrap_or_else(dash),
        c.claimed_by.clone().unwrap_or_else(dash),
        c.next_deadline.as_ref().map_or_else(dash, time),
        brief::detail(i18n, c, time).unwrap_or_else(dash),
    ]
}

fn shift_line(b: &HandoverBrief, i18n: &I18n) -> String {
    i18n.f(
        "handover_report.shift",
        &[
            ("user", &b.shift.user),
            ("role", b.shift.role.as_str()),
            ("from", &time(&b.shift.started_at)),
            (
                "to",
                &b.shift.ended_at.as_ref().map_or_else(String::new, time),
            ),
        ],
    )
}

fn acks_line(b: &HandoverBrief, i18n: &I18n) -> String {
    if b.acks.is_empty() {
        return i18n.t("handover_report.no_acks").to_string();
    }
    let who: Vec<String> = b
        .acks
        .iter()
        .map(|a| format!("{} ({})", a.user, time(&a.at)))
        .collect();
    i18n.f("handover_report.acks", &[("who", &who.join(", "))])
}

pub fn to_markdown(b: &HandoverBrief, i18n: &I18n) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# {}\n", i18n.t("handover_report.title"));
    let _ = writeln!(md, "{}\n", shift_line(b, i18n));
    let _ = writeln!(md, "{}\n", acks_line(b, i18n));
    let _ = writeln!(md, "## {}\n", i18n.t("handover_report.note"));
    if b.note.is_empty() {
        let _ = writeln!(md, "{}\n", i18n.t("handover_report.no_note"));
    } else {
        for line in b.note.lines() {
            let _ = writeln!(md, "> {line}");
        }
        md.push('\n');
    }
    let _ = writeln!(md, "## {}\n", i18n.t("handover_report.counts"));
    md.push_str("| | |\n|---|---:|\n");
    for (key, n) in counts(b) {
        let _ = writeln!(md, "| {} | {n} |", i18n.t(key));
    }
    for (key, list, total) in sections(b) {
        let _ = writeln!(md, "\n## {} ({total})\n", i18n.t(key));
        if list.is_empty() {
            let _ = writeln!(md, "{}", i18n.t("handover_report.empty"));
            continue;
        }
        let head: Vec<&str> = COLUMNS.iter().map(|k| i18n.t(k)).collect();
        let _ = writeln!(md, "| {} |", head.join(" | "));
        let _ = writeln!(md, "|{}", "---|".repeat(COLUMNS.len()));
        for c in list {
            let row: Vec<String> = cells(c, i18n).iter().map(|s| markdown_cell(s)).collect();
            let _ = writeln!(md, "| {} |", row.join(" | "));
        }
        if total > list.len() as i64 {
            let more = (total - list.len() as i64).to_string();
            let _ = writeln!(md, "\n{}", i18n.f("handover_report.more", &[("n", &more)]));
        }
    }
    md
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One self-contained page (inline CSS, no scripts, no fetches) for printing or forwarding.
pub fn to_html(b: &HandoverBrief, i18n: &I18n) -> String {
    let lang = match i18n.lang {
        Lang::En => "en",
        Lang::ZhCn => "zh-CN",
    };
    let title = esc(i18n.t("handover_report.title"));
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
<title>{title}</title>\
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}}\
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #bbb;padding:.3em .6em}}\
td.n{{text-align:right}}h1{{font-size:1.5em}}blockquote{{white-space:pre-wrap}}\
@media print{{body{{margin:0}}}}</style></head><body>\n<h1>{title}</h1>\n<p>{}</p>\n<p>{}</p>\n",
        esc(&shift_line(b, i18n)),
        esc(&acks_line(b, i18n)),
    );
    let _ = writeln!(h, "<h2>{}</h2>", esc(i18n.t("handover_report.note")));
    if b.note.is_empty() {
        let _ = writeln!(h, "<p>{}</p>", esc(i18n.t("handover_report.no_note")));
    } else {
        let _ = writeln!(h, "<blockquote>{}</blockquote>", esc(&b.note));
    }
    let _ = writeln!(
        h,
        "<h2>{}</h2>\n<table>",
        esc(i18n.t("handover_report.counts"))
    );
    for (key, n) in counts(b) {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"n\">{n}</td></tr>",
            esc(i18n.t(key))
        );
    }
    h.push_str("</table>\n");
    for (key, list, total) in sections(b) {
        let _ = writeln!(h, "<h2>{} ({total})</h2>", esc(i18n.t(key)));
        if list.is_empty() {
            let _ = writeln!(h, "<p>{}</p>", esc(i18n.t("handover_report.empty")));
            continue;
        }
        h.push_str("<table><tr>");
        for k in COLUMNS {
            let _ = write!(h, "<th>{}</th>", esc(i18n.t(k)));
        }
        h.push_str("</tr>\n");
        for c in list {
            h.push_str("<tr>");
            for cell in cells(c, i18n) {
                let _ = write!(h, "<td>{}</td>", esc(&cell));
            }
            h.push_str("</tr>\n");
        }
        h.push_str("</table>\n");
        if total > list.len() as i64 {
            let more = (total - list.len() as i64).to_string();
            let _ = writeln!(
                h,
                "<p>{}</p>",
                esc(&i18n.f("handover_report.more", &[("n", &more)]))
            );
        }
    }
    h.push_str("</body></html>\n");
    h
}
