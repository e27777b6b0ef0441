//! `jieyou loadgen`: sizes a deployment. Simulated consoles long-poll the change feed as the
//! console does while simulated operators write at a steady rate; the report gives requests/s
//! and latency per kind, errors, how long each acknowledged write took to reach every console,
//! and the server's CPU and memory when it runs on this machine. It talks only to the server
//! it is given.

pub mod connection;
pub mod console;
pub mod procfs;
pub mod stats;
pub mod writer;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::StreamExt;
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::client::{Client, ClientError};
use crate::wire::Role;
use connection::Connection;
use procfs::{Sampler, ServerUsage};
use stats::{Seen, Stats};

/// The server's default `limits.max_long_polls_per_user`.
const DEFAULT_LONG_POLLS_PER_USER: usize = 4;
/// The server's default `limits.max_connections`.
const DEFAULT_MAX_CONNECTIONS: usize = 1024;

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  jieyou loadgen --server http://127.0.0.1:8080 --tokens tokens.txt --consoles 200 --writers 4 --write-rate 20 --duration 60s
  jieyou loadgen --server http://desk:8080 --token $T1 --token $T2 --consoles 8 --duration 30s --json

The token file holds one token a line (the last word of the line, so `op-li jy_…` works too);
blank lines and lines starting with # are skipped. Consoles take the tokens in turn; writers take
the operator and supervisor tokens. The server lets each user hold 4 long polls by default
([limits] max_long_polls_per_user): create one user per 4 consoles, or raise the limit.")]
pub struct LoadgenArgs {
    /// Server URL; every request goes to it and nowhere else
    #[arg(long, env = "JIEYOU_SERVER")]
    pub server: String,
    /// File of bearer tokens, one a line
    #[arg(long)]
    pub tokens: Option<PathBuf>,
    /// A bearer token (repeat for more users; JIEYOU_TOKEN holds one)
    #[arg(long, env = "JIEYOU_TOKEN", hide_env_values = true)]
    pub token: Vec<String>,
    /// Simulated consoles, each with its own connection
    #[arg(long, default_value_t = 10)]
    pub consoles: usize,
    /// Simulated operators writing
    #[arg(long, default_value_t = 2)]
    pub writers: usize,
    /// Writes per second, all writers together (`20` or `20/s`)
    #[arg(long, default_value = "2", value_parser = parse_rate)]
    pub write_rate: f64,
    /// How long to write (`60s`, `2m`, `1500ms`; a bare number is seconds)
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub duration: Duration,
    /// After the writers stop, how long the consoles get to catch up before what they have not
    /// seen counts as missed
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub settle: Duration,
    /// Seconds each long poll asks the server to wait (≤ 30), as the console's `wait_seconds`
    #[arg(long, default_value_t = 25)]
    pub wait: u64,
    /// The server's process id, to sample its CPU and memory [default: found from the port
    /// when the server is on this machine]
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Print the report as JSON
    #[arg(long)]
    pub json: bool,
}

/// What to run, for the command and for benchmarks using this as a library.
#[derive(Debug, Clone)]
pub struct Plan {
    pub server: String,
    pub tokens: Vec<String>,
    pub consoles: usize,
    pub writers: usize,
    pub write_rate: f64,
    pub duration: Duration,
    pub settle: Duration,
    pub wait: u64,
    pub server_pid: Option<u32>,
    /// Consoles connecting (session and snapshot) at once.
    pub connect_concurrency: usize,
}

impl Plan {
    pub fn new(server: &str, tokens: Vec<String>) -> Plan {
        Plan {
            server: server.to_string(),
            tokens,
            consoles: 10,
            writers: 2,
            write_rate: 2.0,
            duration: Duration::from_secs(60),
            settle: Duration::from_secs(5),
            wait: 25,
            server_pid: None,
            connect_concurrency: 32,
        }
    }
}

/// Count, rate and latency of one kind of request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KindFigures {
    pub kind: String,
    pub count: u64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// From each write's acknowledgement to each console holding it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Propagation {
    /// (write, console) pairs seen.
    pub seen: u64,
    /// (write, console) pairs never seen by the end.
    pub missed: u64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub server: String,
    pub consoles: usize,
    /// Consoles that loaded their session and snapshot and then polled.
    pub consoles_polling: usize,
    /// Connections the polling consoles opened in all: one each, more when the server closed
    /// some (a refusal, an idle timeout, a restart).
    pub console_connections: u64,
    pub writers: usize,
    pub write_rate: f64,
    /// From the first console connecting to the last one polling.
    pub connect_seconds: f64,
    /// From the writers starting to their stopping: the window rates are taken over (the
    /// session and snapshot rates over the connecting time).
    pub seconds: f64,
    /// Stopped early by Ctrl-C.
    pub interrupted: bool,
    /// Acknowledged writes.
    pub writes: u64,
    pub requests: Vec<KindFigures>,
    /// `kind: status title` → count.
    pub errors: BTreeMap<String, u64>,
    pub error_count: u64,
    pub propagation: Propagation,
    pub server_usage: Option<ServerUsage>,
    pub warnings: Vec<String>,
}

/// `jieyou loadgen`.
pub async fn command(args: LoadgenArgs) -> anyhow::Result<()> {
    let mut tokens = args.token.clone();
    if let Some(file) = &args.tokens {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("reading the token file {}", file.display()))?;
        tokens.extend(parse_token_file(&text));
    }
    let server_pid = args.server_pid.or_else(|| local_server_pid(&args.server));
    let plan = Plan {
        consoles: args.consoles,
        writers: args.writers,
        write_rate: args.write_rate,
        duration: args.duration,
        settle: args.settle,
        wait: args.wait,
        server_pid,
        ..Plan::new(&args.server, tokens)
    };
    let stop = CancellationToken::new();
    let on_signal = stop.clone();
    tokio::spawn(async move {
        crate::server::shutdown_signal().await;
        eprintln!("stopping: finishing the report");
        on_signal.cancel();
    });
    let report = run(&plan, stop).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.to_text());
    }
    Ok(())
}

/// Tokens of a token file: the last word of each line that is not blank or a `#` comment.
pub fn parse_token_file(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_whitespace().last().map(str::to_string))
        .collect()
}

/// The pid of the server when its URL names this machine.
fn local_server_pid(server: &str) -> Option<u32> {
    let url = reqwest::Url::parse(server).ok()?;
    let host = url
        .host_str()?
        .trim_start_matches('[')
        .trim_end_matches(']');
    let local = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !local {
        return None;
    }
    procfs::pid_listening_on(url.port_or_known_default()?)
}

/// A user's token and who the server says it is.
struct Signed {
    client_token: String,
    role: Role,
}

/// Runs `plan` until its duration is over or `stop` is cancelled, and reports.
pub async fn run(plan: &Plan, stop: CancellationToken) -> anyhow::Result<Report> {
    if plan.tokens.is_empty() {
        bail!(
            "no tokens: give --tokens FILE or --token (one per user; `jieyou user add` prints one)"
        );
    }
    if plan.wait > 30 {
        bail!("--wait is at most 30 seconds (the server's longest long poll)");
    }
    if plan.writers > 0 && plan.write_rate <= 0.0 {
        bail!("--write-rate must be above 0 when there are writers");
    }
    let users = sign_in(plan).await?;
    let readers: Vec<&Signed> = users
        .iter()
        .filter(|u| u.role != Role::Department)
        .collect();
    let operators: Vec<&Signed> = users
        .iter()
        .filter(|u| matches!(u.role, Role::Operator | Role::Supervisor))
        .collect();
    if plan.consoles > 0 && readers.is_empty() {
        bail!("consoles need a token of a desk role (a department's feed carries only its cases)");
    }
    if plan.writers > 0 && operators.is_empty() {
        bail!("writers need an operator or supervisor token (they triage, claim and dispatch)");
    }
    let mut warnings = Vec::new();
    let per_user = plan.consoles.div_ceil(readers.len().max(1));
    if per_user > DEFAULT_LONG_POLLS_PER_USER {
        warnings.push(format!(
            "{} consoles over {} users is {per_user} long polls per user; a server with the default \
             [limits] max_long_polls_per_user = {DEFAULT_LONG_POLLS_PER_USER} refuses the rest (503): \
             add users (`jieyou user add`) or raise the limit",
            plan.consoles,
            readers.len()
        ));
    }
    if plan.consoles + plan.writers > DEFAULT_MAX_CONNECTIONS {
        warnings.push(format!(
            "{} connections: a server with the default [limits] max_connections = \
             {DEFAULT_MAX_CONNECTIONS} refuses the rest (503)",
            plan.consoles + plan.writers
        ));
    }

    let stats = Arc::new(Stats::new());
    let sampler = plan.server_pid.and_then(Sampler::start);
    if plan.server_pid.is_some() && sampler.is_none() {
        warnings.push("cannot read the server process in /proc: no CPU or memory figures".into());
    }
    let sampling = CancellationToken::new();
    let sampler_task = sampler.map(|mut s| {
        let done = sampling.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            loop {
                tokio::select! {
                    _ = tick.tick() => s.tick(),
                    () = done.cancelled() => return s.finish(),
                }
            }
        })
    });

    // Consoles first: every measured write follows every console's snapshot.
    let started = Instant::now();
    let connected: Vec<(Connection, String)> = futures::stream::iter(0..plan.consoles)
        .map(|i| {
            let token = &readers[i % readers.len()].client_token;
            let stats = stats.clone();
            let server = plan.server.clone();
            let token = token.clone();
            async move {
                let mut conn = Connection::new(&server, &token).ok()?;
                let cursor = console::connect(&mut conn, &stats).await.ok()?;
                Some((conn, cursor))
            }
        })
        .buffer_unordered(plan.connect_concurrency.max(1))
        .take_until(stop.cancelled())
        .filter_map(|c| async move { c })
        .collect()
        .await;
    let consoles_polling = connected.len();
    let connect_seconds = started.elapsed().as_secs_f64();
    let consoles_stop = CancellationToken::new();
    let pollers: Vec<_> = connected
        .into_iter()
        .map(|(conn, cursor)| {
            tokio::spawn(console::poll(
                conn,
                cursor,
                plan.wait,
                stats.clone(),
                consoles_stop.clone(),
            ))
        })
        .collect();

    let desk = if plan.writers > 0 && !stop.is_cancelled() {
        Some(Arc::new(
            desk_of(&Client::new(&plan.server, &operators[0].client_token)?).await?,
        ))
    } else {
        None
    };
    let writers_stop = CancellationToken::new();
    let writers: Vec<_> = match &desk {
        Some(desk) => (0..plan.writers)
            .map(|i| {
                let token = &operators[i % operators.len()].client_token;
                let client = Client::new(&plan.server, token)?;
                Ok(tokio::spawn(writer::run(
                    client,
                    desk.clone(),
                    plan.write_rate / plan.writers as f64,
                    stats.clone(),
                    writers_stop.clone(),
                )))
            })
            .collect::<Result<_, ClientError>>()?,
        None => Vec::new(),
    };
    let window = Instant::now();
    let interrupted = tokio::select! {
        () = tokio::time::sleep(plan.duration) => false,
        () = stop.cancelled() => true,
    };
    writers_stop.cancel();
    for w in writers {
        let _ = w.await;
    }
    let seconds = window.elapsed().as_secs_f64();
    if !interrupted {
        tokio::select! {
            () = tokio::time::sleep(plan.settle) => {}
            () = stop.cancelled() => {}
        }
    }
    consoles_stop.cancel();
    let mut seen: Vec<Seen> = Vec::with_capacity(pollers.len());
    let mut console_connections = 0;
    for p in pollers {
        if let Ok((s, conn)) = p.await {
            seen.push(s);
            console_connections += conn.opened();
        }
    }
    sampling.cancel();
    let server_usage = match sampler_task {
        Some(t) => t.await.ok(),
        None => None,
    };
    if consoles_polling < plan.consoles && !interrupted {
        warnings.push(format!(
            "only {consoles_polling} of {} consoles loaded their snapshot (see errors)",
            plan.consoles
        ));
    }

    let acks = stats.acks();
    let (h, missed) = stats::ack_to_seen(&acks, &seen);
    let errors = stats.errors();
    Ok(Report {
        server: plan.server.clone(),
        consoles: plan.consoles,
        consoles_polling,
        console_connections,
        writers: plan.writers,
        write_rate: plan.write_rate,
        connect_seconds,
        seconds,
        interrupted,
        writes: acks.len() as u64,
        requests: stats
            .requests()
            .into_iter()
            .map(|(kind, h)| KindFigures {
                kind: kind.to_string(),
                count: h.len(),
                per_second: h.len() as f64
                    / if matches!(kind, "session" | "snapshot") {
                        connect_seconds
                    } else {
                        seconds
                    }
                    .max(0.001),
                p50_ms: ms(&h, 0.50),
                p95_ms: ms(&h, 0.95),
                p99_ms: ms(&h, 0.99),
                max_ms: h.max() as f64 / 1000.0,
            })
            .collect(),
        error_count: errors.values().sum(),
        errors,
        propagation: Propagation {
            seen: h.len(),
            missed,
            p50_ms: ms(&h, 0.50),
            p95_ms: ms(&h, 0.95),
            p99_ms: ms(&h, 0.99),
            max_ms: h.max() as f64 / 1000.0,
        },
        server_usage,
        warnings,
    })
}

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    if h.is_empty() {
        0.0
    } else {
        h.value_at_quantile(q) as f64 / 1000.0
    }
}

/// Checks every token with `GET /api/v1/me`: the server must be there and know each one.
async fn sign_in(plan: &Plan) -> anyhow::Result<Vec<Signed>> {
    let first = Client::new(&plan.server, &plan.tokens[0]).map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Err(e) = first.health().await {
        bail!("cannot reach the server at {}: {e}", plan.server);
    }
    let answers: Vec<(usize, Result<crate::wire::Me, ClientError>)> =
        futures::stream::iter(plan.tokens.iter().enumerate())
            .map(|(i, token)| async move {
                let me = match Client::new(&plan.server, token) {
                    Ok(c) => c.me().await,
                    Err(e) => Err(e),
                };
                (i, me)
            })
            .buffered(16)
            .collect()
            .await;
    let mut users = Vec::with_capacity(answers.len());
    for (i, me) in answers {
        match me {
            Ok(me) => users.push(Signed {
                client_token: plan.tokens[i].clone(),
                role: me.role,
            }),
            Err(ClientError::Api(p)) if p.status == 401 => bail!(
                "the server refused token {} of {} ({}): check the token file, or create users with `jieyou user add`",
                i + 1,
                plan.tokens.len(),
                p.detail
            ),
            Err(e) => bail!("token {} of {}: {e}", i + 1, plan.tokens.len()),
        }
    }
    Ok(users)
}

/// The catalog and departments writers may name.
async fn desk_of(client: &Client) -> anyhow::Result<writer::Desk> {
    let (categories, towns, departments) =
        tokio::try_join!(client.categories(), client.towns(), client.departments())
            .map_err(|e| anyhow::anyhow!("loading the desk's catalog: {e}"))?;
    Ok(writer::Desk {
        categories: categories.into_iter().map(|c| c.code).collect(),
        towns: towns.into_iter().map(|t| t.code).collect(),
        departments: departments
            .into_iter()
            .filter(|d| d.active)
            .map(|d| d.id)
            .collect(),
    })
}

/// `20` or `20/s`.
pub fn parse_rate(s: &str) -> Result<f64, String> {
    let n = s.trim().trim_end_matches("/s").trim();
    match n.parse::<f64>() {
        Ok(r) if r.is_finite() && r >= 0.0 => Ok(r),
        _ => Err(format!(
            "{s:?} is not a rate: give writes per second, e.g. 20 or 20/s"
        )),
    }
}

/// `60s`, `2m`, `1500ms`, `1h`; a bare number is seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let bad = || format!("{s:?} is not a duration: e.g. 60s, 2m, 1500ms");
    let n: f64 = n.parse().map_err(|_| bad())?;
    let seconds = match unit.trim() {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(bad()),
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| bad())
}

impl Report {
    /// The report for a terminal.
    pub fn to_text(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "jieyou loadgen: {} · {} consoles ({} polling after {:.1} s, on {} connections) · {} writers at {}/s · {:.1} s{}",
            self.server,
            self.consoles,
            self.consoles_polling,
            self.connect_seconds,
            self.console_connections,
            self.writers,
            self.write_rate,
            self.seconds,
            if self.interrupted {
                " (stopped early)"
            } else {
                ""
            }
        );
        let _ = writeln!(
            out,
            "\n{:<16} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "request", "count", "per s", "p50 ms", "p95 ms", "p99 ms", "max ms"
        );
        for k in &self.requests {
            let _ = writeln!(
                out,
                "{:<16} {:>9} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
                k.kind, k.count, k.per_second, k.p50_ms, k.p95_ms, k.p99_ms, k.max_ms
            );
        }
        let p = &self.propagation;
        let _ = writeln!(
            out,
            "\nwrites acknowledged: {} ({:.1}/s)\nack → seen by every console: p50 {:.1} ms · p95 {:.1} ms · p99 {:.1} ms · max {:.1} ms · {} seen · missed {}",
            self.writes,
            self.writes as f64 / self.seconds.max(0.001),
            p.p50_ms,
            p.p95_ms,
            p.p99_ms,
            p.max_ms,
            p.seen,
            p.missed
        );
        if self.errors.is_empty() {
            let _ = writeln!(out, "errors: none");
        } else {
            let _ = writeln!(out, "errors: {}", self.error_count);
            for (what, n) in &self.errors {
                let _ = writeln!(out, "  {n:>7}  {what}");
            }
        }
        match &self.server_usage {
            Some(u) => {
                let mb = |b: u64| b as f64 / (1024.0 * 1024.0);
                let _ = writeln!(
                    out,
                    "server (pid {}): CPU {:.0} % of a core · RSS start {:.0} MB, peak {:.0} MB, end {:.0} MB",
                    u.pid,
                    u.cpu_percent,
                    mb(u.rss_start_bytes),
                    mb(u.rss_peak_bytes),
                    mb(u.rss_end_bytes)
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "server CPU and memory: not measured (not on this machine; or give --server-pid)"
                );
            }
        }
        for w in &self.warnings {
            let _ = writeln!(out, "warning: {w}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_rates_read_as_an_operator_writes_them() {
        assert_eq!(parse_duration("60s"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1500ms"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        assert!(parse_duration("soon").is_err());
        assert_eq!(parse_rate("20/s"), Ok(20.0));
        assert_eq!(parse_rate("0.5"), Ok(0.5));
        assert!(parse_rate("-1").is_err());
    }

    #[test]
    fn a_token_file_holds_one_token_a_line() {
        let text = "# desk users\n\nop-li jy_a\njy_b\n  jy_c  \n";
        assert_eq!(parse_token_file(text), ["jy_a", "jy_b", "jy_c"]);
    }
}
