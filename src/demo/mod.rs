//! `jieyou demo`: the whole desk on one machine in one command — an embedded server on a
//! loopback port, a SQLite file, a seeded desk modelled on Kaihua county ([`data`]), a live
//! stream of new requests and department replies ([`simulator`]), and the console attached.

pub mod answers;
pub mod data;
pub mod simulator;

use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use crate::server::store::{StoredAnswer, Written};
use crate::server::{Clock, RunningServer, ServerConfig, Store, SystemClock};
use crate::wire::{Department, Policy, Role};
use data::{DemoData, PlanOptions, PlanSummary, SeedPlan};
use simulator::{SimTokens, SimulatorConfig};

#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "Examples:
  jieyou demo
  jieyou demo --rate 20 --seed 7 --lang zh-CN
  jieyou demo --no-console --listen 127.0.0.1:8080 --database sqlite:demo.db --keep")]
pub struct DemoArgs {
    /// New requests per minute from the simulated citizens (0 stops them)
    #[arg(long, default_value_t = 6.0, value_parser = parse_rate)]
    pub rate: f64,
    /// Seed of the demo data and of the simulator's decisions: same seed, same desk
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Database URL, `sqlite:PATH` [default: a fresh file in a temporary directory]
    #[arg(long)]
    pub database: Option<String>,
    /// Keep the database when the demo ends (the temporary one is deleted otherwise)
    #[arg(long)]
    pub keep: bool,
    /// Run the server and the simulator only; print the URL and the users' tokens
    #[arg(long)]
    pub no_console: bool,
    /// Language of the console: en or zh-CN [default: from the locale]; the data stays Chinese
    #[arg(long, value_parser = ["en", "zh-CN"])]
    pub lang: Option<String>,
    /// Address for the embedded server [default: 127.0.0.1 on a free port]
    #[arg(long)]
    pub listen: Option<String>,
    /// How many cases to seed, spread over the last 12 hours
    #[arg(long, default_value_t = 300)]
    pub cases: usize,
    /// Simulated departments and the background operator act this many times faster
    #[arg(long, default_value_t = 1.0, value_parser = parse_speed)]
    pub speed: f64,
    /// Leave triage and dispatch to the humans: no background operator
    #[arg(long)]
    pub no_background_operator: bool,
}

/// A user the demo created, with its bearer token (shown once).
#[derive(Debug, Clone, PartialEq)]
pub struct DemoLogin {
    pub name: String,
    pub role: Role,
    pub department_id: Option<i64>,
    pub token: String,
}

/// What [`seed`] put in the store.
#[derive(Debug, Clone)]
pub struct SeededDesk {
    pub departments: Vec<Department>,
    /// Every user of [`DemoData::users`], in that order.
    pub logins: Vec<DemoLogin>,
    pub plan: SeedPlan,
    pub summary: PlanSummary,
}

impl SeededDesk {
    /// The first login with `role`.
    pub fn login(&self, role: Role) -> Option<&DemoLogin> {
        self.logins.iter().find(|l| l.role == role)
    }

    /// Tokens for the simulator: the first intake user, the last operator (the first is left
    /// to the human), and every department's duty officer.
    pub fn sim_tokens(&self) -> Option<SimTokens> {
        Some(SimTokens {
            intake: self.login(Role::Intake)?.token.clone(),
            operator: self
                .logins
                .iter()
                .rev()
                .find(|l| l.role == Role::Operator)?
                .token
                .clone(),
            departments: self
                .logins
                .iter()
                .filter(|l| l.role == Role::Department)
                .filter_map(|l| Some((l.department_id?, l.token.clone())))
                .collect(),
        })
    }
}

/// Seeds a fresh store: the demo's departments and users, then `opts.cases` cases with their
/// histories replayed at their own timestamps (received, triaged, dispatched, …). `policy` is
/// the server's, for the summary.
pub async fn seed(
    store: &Store,
    data: &DemoData,
    opts: &PlanOptions,
    policy: &Policy,
) -> anyhow::Result<SeededDesk> {
    for d in data.new_departments() {
        store
            .add_department(&d.name, d.kind)
            .await
            .with_context(|| format!("adding department {}", d.name))?;
    }
    let departments = store.departments().await?;
    // Every department has someone on duty, as the urging calls of a real desk need: the
    // bureaus their duty officer, the townships their office, each with a desk phone.
    for (n, d) in departments.iter().enumerate() {
        let name = data
            .departments
            .iter()
            .find(|s| s.name == d.name)
            .map_or_else(|| format!("{}值班室", d.name), |s| s.duty.clone());
        let contact = crate::wire::DutyContact {
            name,
            phone: format!("0570-66{:05}", 10_001 + n),
            until: None,
        };
        store
            .set_duty(d.id, &[contact])
            .await
            .with_context(|| format!("the duty roster of {}", d.name))?;
    }
    let mut logins = Vec::new();
    for u in data.users() {
        let department_id = match &u.department {
            Some(name) => Some(
                departments
                    .iter()
                    .find(|d| d.name == *name)
                    .map(|d| d.id)
                    .with_context(|| format!("department {name} was not created"))?,
            ),
            None => None,
        };
        let token = store
            .add_user(&u.name, u.role, department_id)
            .await
            .with_context(|| format!("adding user {}", u.name))?;
        logins.push(DemoLogin {
            name: u.name,
            role: u.role,
            department_id,
            token,
        });
    }
    answers::seed_library(store, opts.now).await?;
    let plan = data::plan(data, &departments, opts)?;
    let answer = |_: &_, _: &[_], _| StoredAnswer {
        status: 200,
        body: Vec::new(),
    };
    let mut records = Vec::with_capacity(plan.cases.len());
    for (i, pc) in plan.cases.iter().enumerate() {
        let created = store
            .create_case(&pc.new_case, &pc.intake, pc.received_at, None, answer)
            .await
            .with_context(|| format!("seeding case {i}"))?;
        let Written::Fresh(mut rec, _) = created else {
            anyhow::bail!("seeding case {i}: the store replayed an answer");
        };
        for step in &pc.steps {
            let acted = store
                .act(
                    rec.id,
                    None,
                    &step.action,
                    &step.actor,
                    step.at,
                    None,
                    answer,
                )
                .await
                .with_context(|| {
                    format!(
                        "seeding case {}: {} by {}",
                        rec.reference,
                        step.action.name(),
                        step.actor.name
                    )
                })?;
            if let Written::Fresh(r, _) = acted {
                rec = r;
            }
        }
        records.push(rec);
    }
    let summary = data::summarize(&records, policy, opts.now);
    Ok(SeededDesk {
        departments,
        logins,
        plan,
        summary,
    })
}

/// `jieyou demo`: an embedded server on a fresh database, the seeded desk, the simulator; runs
/// until Ctrl-C or SIGTERM, then stops everything and (without `--keep`) removes the database.
pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let data = DemoData::embedded()?;
    let (database, temp_dir) = match &args.database {
        Some(url) => {
            let path = url
                .strip_prefix("sqlite:")
                .with_context(|| format!("--database must be sqlite:PATH (got {url:?})"))?;
            if std::path::Path::new(path).exists() {
                anyhow::bail!(
                    "the demo seeds a fresh database, and {path} exists: remove it or name another"
                );
            }
            (url.clone(), None)
        }
        None => {
            let dir = std::env::temp_dir().join(format!(
                "jieyou-demo-{}-{}",
                std::process::id(),
                Utc::now().timestamp_millis()
            ));
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            (
                format!("sqlite:{}", dir.join("demo.db").display()),
                Some(dir),
            )
        }
    };
    let config = ServerConfig {
        listen: args.listen.clone().unwrap_or_else(|| "127.0.0.1:0".into()),
        database: database.clone(),
        desk_name: data.desk.clone(),
        ref_prefix: data.ref_prefix.clone(),
        ..ServerConfig::default()
    };
    let policy = config.policy.clone();
    let server = crate::server::spawn(config, Arc::new(SystemClock)).await?;
    let result = run_desk(&args, &data, &policy, &server).await;
    let stopped = server.stop().await;
    match (&temp_dir, args.keep) {
        (Some(dir), false) => {
            if let Err(e) = std::fs::remove_dir_all(dir) {
                tracing::warn!(dir = %dir.display(), error = %e, "could not remove the demo database");
            }
        }
        _ => println!("Database kept: {database}"),
    }
    result.and(stopped)
}

async fn run_desk(
    args: &DemoArgs,
    data: &DemoData,
    policy: &Policy,
    server: &RunningServer,
) -> anyhow::Result<()> {
    let now: DateTime<Utc> = SystemClock.now();
    let mut opts = PlanOptions::new(args.seed, now);
    opts.cases = args.cases;
    let desk = seed(&server.store, data, &opts, policy).await?;
    let s = &desk.summary;
    tracing::info!(summary = ?s, "seeded the demo desk");
    let url = server.url();
    println!("Jieyou demo desk at {url}");
    println!(
        "Seeded {} cases: {} untriaged, {} red, {} orange, {} blue open; {} overdue.",
        s.cases, s.untriaged, s.open_red, s.open_orange, s.open_blue, s.overdue_now
    );
    println!("Sign in with one of these tokens (jieyou --server {url} --token TOKEN):");
    let sim = desk
        .sim_tokens()
        .context("the demo data lacks simulator users")?;
    for role in Role::ALL {
        if let Some(l) = desk.login(role) {
            // Names are Chinese: pad by display width, not by characters.
            let pad =
                12usize.saturating_sub(unicode_width::UnicodeWidthStr::width(l.name.as_str()));
            println!(
                "  {:<11} {}{} {}",
                role.as_str(),
                l.name,
                " ".repeat(pad),
                l.token
            );
        }
    }
    let cfg = SimulatorConfig {
        rate_per_minute: args.rate,
        seed: args.seed,
        speed: args.speed,
        background_operator: !args.no_background_operator,
        ..SimulatorConfig::default()
    };
    let cancel = CancellationToken::new();
    let stop = cancel.clone();
    let sim_url = url.clone();
    let mut simulator =
        tokio::spawn(async move { simulator::run_simulator(cfg, &sim_url, sim, stop).await });
    let finished = if args.no_console {
        println!("Press Ctrl-C to stop.");
        tokio::select! {
            () = crate::server::shutdown_signal() => {
                cancel.cancel();
                simulator.await
            }
            // Only a failure at start ends the simulator before it is cancelled.
            early = &mut simulator => early,
        }
    } else {
        let operator = desk
            .login(Role::Operator)
            .context("the demo data lacks an operator")?;
        let console = crate::console::ConsoleArgs {
            server: Some(url.clone()),
            token: Some(operator.token.clone()),
            lang: args.lang.clone(),
            ..Default::default()
        };
        // The console owns the terminal until the operator quits (or SIGTERM); then the
        // simulator and the server stop behind it.
        let shown = crate::console::run_async(console).await;
        cancel.cancel();
        let finished = simulator.await;
        shown?;
        finished
    };
    match finished {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "simulator failed"),
        Err(e) => tracing::warn!(error = %e, "simulator task failed"),
    }
    Ok(())
}

fn parse_rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(r) if r.is_finite() && r >= 0.0 => Ok(r),
        _ => Err(format!("{s:?} is not a number ≥ 0")),
    }
}

fn parse_speed(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(r) if r.is_finite() && r > 0.0 => Ok(r),
        _ => Err(format!("{s:?} is not a number > 0")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        demo: DemoArgs,
    }

    #[test]
    fn args_have_defaults_and_reject_bad_rates() {
        let cli = Cli::try_parse_from(["demo"]).unwrap();
        assert_eq!(cli.demo.rate, 6.0);
        assert_eq!(cli.demo.seed, 1);
        assert_eq!(cli.demo.cases, 300);
        assert!(!cli.demo.no_console);
        let cli = Cli::try_parse_from(["demo", "--rate", "0.5", "--lang", "zh-CN"]).unwrap();
        assert_eq!(cli.demo.rate, 0.5);
        assert!(Cli::try_parse_from(["demo", "--rate", "-1"]).is_err());
        assert!(Cli::try_parse_from(["demo", "--rate", "NaN"]).is_err());
        assert!(Cli::try_parse_from(["demo", "--lang", "fr"]).is_err());
        assert!(Cli::try_parse_from(["demo", "--speed", "0"]).is_err());
        assert_eq!(
            Cli::try_parse_from(["demo", "--speed", "60"])
                .unwrap()
                .demo
                .speed,
            60.0
        );
    }
}
