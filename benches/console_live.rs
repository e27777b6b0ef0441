//! The real console at a city's scale, measured from outside: `cargo bench --bench
//! console_live` (`JIEYOU_BENCH_QUICK=1` for 2,000 cases and short windows).
//!
//! A temporary SQLite file is seeded through the store library with 100,000 open cases (the
//! demo's wording, received over the last three hours, so the Overdue board has rows), then the
//! bench-built `jieyou serve` opens it with the escalation ladder off (its pass is the server's
//! cost, not the console's). The bench fetches one full snapshot itself, so the server has
//! answered it once and its time is shown apart; then the bench-built console runs in a
//! pseudo-terminal of the bench's own, 160×45, whose output a terminal model parses on a reader
//! thread (`pty/mod.rs`): a screen counts once its synchronized frame is complete, at the
//! instant the pty read that completed it returned.
//!
//! - start: from launching the console to the first screen showing live, populated rows (the
//!   snapshot's first page), and to the pane headers counting every case;
//! - idle: the console's CPU (% of one core) and RSS from `/proc` over a window in each view
//!   (Queue, Overdue, Departments, Stats, Search) of an operator, and on a supervisor's
//!   Overdue board;
//! - key to screen: a cursor key written to the pty, timed until a frame's selected row shows
//!   another case, while a writer adds notes through the API at 20 a second;
//! - the harness's floor, while the writer still writes: a key to its echo by `cat` (in raw
//!   mode, so `cat` itself answers) through the same kind of pty, reader and parser.
//!
//! Sizes: `JIEYOU_BENCH_CASES`, `JIEYOU_BENCH_IDLE_SECONDS`, `JIEYOU_BENCH_KEY_SAMPLES`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::Utc;
use futures::StreamExt;
use jieyou::client::{Client, new_idempotency_key};
use jieyou::demo::data::DemoData;
use jieyou::domain::Actor;
use jieyou::loadgen::procfs::Sampler;
use jieyou::server::Store;
use jieyou::server::config::ServerConfig;
use jieyou::server::store::{StoredAnswer, Written};
use jieyou::wire::{CaseAction, DepartmentKind, Role, TextBody, Tier, TierBody};
use portable_pty::CommandBuilder;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

mod common;
mod pty;

use common::{BIN, Server};
use pty::Term;
/// Changes a second made through the API while keys are measured.
const WRITE_RATE: u64 = 20;
/// The longest wait for one screen change before it counts as missed.
const KEY_WAIT: Duration = Duration::from_secs(10);
const START_WAIT: Duration = Duration::from_secs(300);

struct Sizes {
    cases: usize,
    idle: Duration,
    key_samples: usize,
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> anyhow::Result<()> {
    let quick = std::env::args().any(|a| a == "--quick")
        || std::env::var("JIEYOU_BENCH_QUICK").is_ok_and(|v| v != "0" && !v.is_empty());
    let (cases, idle, samples) = if quick {
        (2_000, 3, 40)
    } else {
        (100_000, 10, 200)
    };
    let sizes = Sizes {
        cases: env_or("JIEYOU_BENCH_CASES", cases),
        idle: Duration::from_secs(env_or("JIEYOU_BENCH_IDLE_SECONDS", idle)),
        key_samples: env_or("JIEYOU_BENCH_KEY_SAMPLES", samples),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let rows = rt.block_on(bench(&sizes, quick))?;
    print_table(&rows);
    Ok(())
}

/// One line of the table.
struct Row {
    figure: String,
    value: String,
    /// `(≤, bound, unit)` on `checked`.
    target: Option<(&'static str, f64, &'static str)>,
    checked: Option<f64>,
}

impl Row {
    fn info(figure: impl Into<String>, value: impl Into<String>) -> Row {
        Row {
            figure: figure.into(),
            value: value.into(),
            target: None,
            checked: None,
        }
    }

    fn at_most(figure: impl Into<String>, value: f64, unit: &'static str, bound: f64) -> Row {
        Row {
            figure: figure.into(),
            value: format!("{value:.1} {unit}"),
            target: Some(("≤", bound, unit)),
            checked: Some(value),
        }
    }

    fn met(&self) -> Option<bool> {
        let (_, bound, _) = self.target?;
        Some(self.checked? <= bound)
    }
}

async fn bench(sizes: &Sizes, quick: bool) -> anyhow::Result<Vec<Row>> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    eprintln!(
        "console_live bench ({}): {} open cases, {cores} cores shared by bench, server and console",
        if quick { "quick" } else { "full" },
        sizes.cases
    );
    let dir = tempfile::tempdir()?;
    let db = format!("sqlite:{}", dir.path().join("desk.db").display());
    let mut rows = vec![Row::info("open cases", sizes.cases.to_string())];

    let seeding = Instant::now();
    let [operator, supervisor, writer] = seed(&db, sizes.cases).await?;
    eprintln!(
        "  seeded through the store in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );

    let starting = Instant::now();
    let server = Server::start(dir.path(), &db, "escalation_interval_seconds = 0\n")?;
    let listening = starting.elapsed();
    let client = Client::new(&server.url, &operator)?;
    let fetching = Instant::now();
    let (cases, bytes) = full_snapshot(&client).await?;
    let snapshot = fetching.elapsed();
    anyhow::ensure!(
        cases == sizes.cases,
        "the snapshot held {cases} cases, {} seeded",
        sizes.cases
    );
    rows.push(Row::info(
        "server: start to listening",
        format!("{:.2} s", listening.as_secs_f64()),
    ));
    rows.push(Row::info(
        "server: one full snapshot (bench client)",
        format!(
            "{:.2} s, {:.1} MB",
            snapshot.as_secs_f64(),
            bytes as f64 / 1e6
        ),
    ));

    let home = dir.path().join("home-operator");
    let mut console = Console::launch(&home, &server.url, &operator)?;
    let start = console.wait_populated()?;
    rows.push(Row::at_most(
        "operator console: start to a populated queue",
        start.as_secs_f64(),
        "s",
        2.0,
    ));
    // The snapshot's later pages still arrive: idle is measured once every case is held.
    let headers: Vec<String> = ["Untriaged", "Red", "Orange", "Blue"]
        .iter()
        .enumerate()
        .map(|(t, label)| {
            let count = (0..sizes.cases).filter(|i| i % 4 == t).count();
            format!("{label} {count} ─")
        })
        .collect();
    let held = console.wait_for(|s| headers.iter().all(|h| s.contains(h.as_str())))?;
    rows.push(Row::info(
        "operator console: start to every case held",
        format!("{:.1} s", held.as_secs_f64()),
    ));
    let pid = console.pid()?;
    let mut rss_peak = 0.0_f64;
    for (key, view) in [
        ("1", "Queue"),
        ("2", "Overdue"),
        ("3", "Departments"),
        ("4", "Stats"),
        ("5", "Search"),
    ] {
        console.key(key.as_bytes())?;
        let (cpu, rss) = idle(pid, sizes.idle).await?;
        rss_peak = rss_peak.max(rss);
        rows.push(Row::at_most(
            format!("idle CPU: {view}"),
            cpu,
            "% core",
            1.0,
        ));
    }

    console.key(b"1")?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let write = Writer::start(&server.url, &writer, sizes.cases)?;
    let keys = key_latencies(&mut console, sizes.key_samples).await?;
    let floor = sorted_ms(&echo_floor(sizes.key_samples).await?);
    let (written, seconds, failed) = write.stop();
    let rate = written as f64 / seconds.max(0.001);
    if let Some(s) = Sampler::start(pid) {
        rss_peak = rss_peak.max(s.finish().rss_peak_bytes as f64 / 1e6);
    }
    let ms = sorted_ms(&keys);
    let missed = keys.iter().filter(|k| **k >= KEY_WAIT).count();
    rows.push(Row::info(
        "writes during the key and floor samples",
        format!("{rate:.1}/s through the API ({failed} refused)"),
    ));
    rows.push(Row::info(
        "key to screen: p50 / max",
        format!(
            "{:.1} / {:.1} ms over {} keys, {missed} not shown within {} s",
            quantile(&ms, 0.50),
            ms.last().copied().unwrap_or(0.0),
            ms.len(),
            KEY_WAIT.as_secs()
        ),
    ));
    rows.push(Row::at_most(
        format!("key to screen p99, {WRITE_RATE} changes/s arriving"),
        quantile(&ms, 0.99),
        "ms",
        50.0,
    ));
    rows.push(Row::info(
        "harness floor: a key to its echo by cat, p50 / p99",
        format!(
            "{:.2} / {:.2} ms (pty write, read and parse, in the key figures too)",
            quantile(&floor, 0.50),
            quantile(&floor, 0.99)
        ),
    ));
    drop(console);

    let home = dir.path().join("home-supervisor");
    let mut console = Console::launch(&home, &server.url, &supervisor)?;
    let start = console.wait_populated()?;
    rows.push(Row::at_most(
        "supervisor console: start to a populated board",
        start.as_secs_f64(),
        "s",
        2.0,
    ));
    // Its Queue tab tells when every case is held; then back to the board.
    console.key(b"1")?;
    console.wait_for(|s| headers.iter().all(|h| s.contains(h.as_str())))?;
    console.key(b"2")?;
    let (cpu, rss) = idle(console.pid()?, sizes.idle).await?;
    rss_peak = rss_peak.max(rss);
    rows.push(Row::at_most(
        "idle CPU: supervisor's Overdue board",
        cpu,
        "% core",
        1.0,
    ));
    rows.push(Row::at_most("console RSS, peak", rss_peak, "MB", 200.0));
    drop(console);
    drop(server);
    Ok(rows)
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

/// Users, departments and `n` open cases through the store, before the server opens the
/// file: (operator, supervisor, writer) tokens.
async fn seed(db: &str, n: usize) -> anyhow::Result<[String; 3]> {
    let cfg = ServerConfig::default();
    let store = Store::open(
        db,
        &cfg.ref_prefix,
        chrono_tz::Asia::Shanghai,
        cfg.policy.clone(),
    )
    .await?;
    for (name, kind) in [
        ("卫健局", DepartmentKind::Bureau),
        ("马金镇", DepartmentKind::Township),
        ("华埠镇", DepartmentKind::Township),
    ] {
        store.add_department(name, kind).await?;
    }
    let operator = store.add_user("live-op", Role::Operator, None).await?;
    let supervisor = store.add_user("live-sup", Role::Supervisor, None).await?;
    let writer = store.add_user("live-writer", Role::Operator, None).await?;
    let data = Arc::new(DemoData::embedded()?);
    let intake = Actor {
        name: "live-intake".into(),
        role: Role::Intake,
        department_id: None,
    };
    let triager = Actor {
        name: "live-op".into(),
        role: Role::Operator,
        department_id: None,
    };
    let now = Utc::now();
    let begun = Instant::now();
    // Many creates in flight share the store's group commits.
    let results: Vec<anyhow::Result<()>> = futures::stream::iter(0..n)
        .map(|i| {
            let (store, data) = (store.clone(), data.clone());
            let (intake, triager) = (intake.clone(), triager.clone());
            async move {
                let mut new = data
                    .draw_request(&mut StdRng::seed_from_u64(i as u64))
                    .new_case;
                // A town of its own: otherwise every create compares itself with the newest
                // hundred untriaged cases of its town (the server's similar-request grouping,
                // the server bench's figure), and seeding takes many minutes.
                new.location.town = format!("{}·{i}", new.location.town);
                // Received over the last three hours, oldest first.
                let received = now - chrono::Duration::seconds(((n - i) * 10_800 / n) as i64);
                let written = store
                    .create_case(&new, &intake, received, None, |_, _, _| StoredAnswer {
                        status: 201,
                        body: Vec::new(),
                    })
                    .await?;
                // Three cases in four are triaged, red, orange and blue in turn, as on a
                // desk that keeps up with its intake.
                let tier = [None, Some(Tier::Red), Some(Tier::Orange), Some(Tier::Blue)][i % 4];
                if let (Written::Fresh(rec, _), Some(tier)) = (written, tier) {
                    let triage = CaseAction::Triage(TierBody { tier, note: None });
                    let at = received + chrono::Duration::minutes(2);
                    store
                        .act(
                            rec.id,
                            Some(rec.version),
                            &triage,
                            &triager,
                            at,
                            None,
                            |_, _, _| StoredAnswer {
                                status: 200,
                                body: Vec::new(),
                            },
                        )
                        .await?;
                }
                if i > 0 && i % 20_000 == 0 {
                    eprintln!(
                        "  {i} cases seeded ({:.0} s)",
                        begun.elapsed().as_secs_f64()
                    );
                }
                Ok(())
            }
        })
        .buffer_unordered(256)
        .collect()
        .await;
    results.into_iter().collect::<anyhow::Result<()>>()?;
    store.close().await;
    Ok([operator, supervisor, writer])
}

/// Every page of a snapshot: (cases, bytes of JSON as decoded).
async fn full_snapshot(client: &Client) -> anyhow::Result<(usize, usize)> {
    let mut since: Option<String> = None;
    let (mut cases, mut bytes) = (0, 0);
    loop {
        let page = client.changes(since.as_deref(), None).await?;
        cases += page.cases.len();
        bytes += serde_json::to_vec(&page.cases)?.len();
        since = Some(page.cursor);
        if !page.more {
            return Ok((cases, bytes));
        }
    }
}

/// The console's CPU (% of one core) and peak RSS (MB) over `window`, after a settling second.
async fn idle(pid: u32, window: Duration) -> anyhow::Result<(f64, f64)> {
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut sampler = Sampler::start(pid).context("the console's /proc entry")?;
    let began = Instant::now();
    while began.elapsed() < window {
        tokio::time::sleep(Duration::from_millis(500)).await;
        sampler.tick();
    }
    let usage = sampler.finish();
    Ok((usage.cpu_percent, usage.rss_peak_bytes as f64 / 1e6))
}

/// The harness's own floor: a key to its echo by `cat` in a pty of the same size, read and
/// parsed the same way. `cat` runs in raw mode, so the echo is a process reading the key and
/// writing it back, not the kernel's line discipline.
async fn echo_floor(samples: usize) -> anyhow::Result<Vec<Duration>> {
    let mut cmd = CommandBuilder::new("sh");
    cmd.args(["-c", "stty raw -echo && printf ready && exec cat"]);
    let mut cat = Term::spawn(cmd)?;
    cat.wait_for(0, START_WAIT, |s| s.contains("ready"))
        .context("cat in a pty")?;
    let shown = |s: &str| s.matches('x').count();
    let mut out = Vec::with_capacity(samples);
    for _ in 0..samples {
        let last = cat.latest();
        let before = shown(&last.text);
        let sent = cat.send(b"x")?;
        let echoed = cat.wait_for(last.seq, KEY_WAIT, |s| shown(s) > before);
        out.push(echoed.map_or(KEY_WAIT, |f| f.at.saturating_duration_since(sent)));
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    Ok(out)
}

fn sorted_ms(d: &[Duration]) -> Vec<f64> {
    let mut ms: Vec<f64> = d.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    ms.sort_by(f64::total_cmp);
    ms
}

/// A cursor key down or up in turn, each timed until a frame's selected row shows another
/// case.
async fn key_latencies(console: &mut Console, samples: usize) -> anyhow::Result<Vec<Duration>> {
    let mut rng = StdRng::seed_from_u64(7);
    let mut out = Vec::with_capacity(samples);
    for i in 0..samples {
        let last = console.term.latest();
        let before = selected_row(&last.text);
        let sent = console.key(if i % 2 == 0 { b"j" } else { b"k" })?;
        let moved = console.term.wait_for(last.seq, KEY_WAIT, |s| {
            let now = selected_row(s);
            now.is_some() && now != before
        });
        out.push(moved.map_or(KEY_WAIT, |f| f.at.saturating_duration_since(sent)));
        // Keys come at a person's pace, not back to back.
        tokio::time::sleep(Duration::from_millis(rng.random_range(40..120))).await;
    }
    Ok(out)
}

/// Where the selected row (`▶`) is on the screen and the case reference it shows (cut to the
/// column's width, so the line tells neighbours apart too).
fn selected_row(screen: &str) -> Option<(usize, String)> {
    let (line, row) = screen.lines().enumerate().find(|(_, l)| l.contains('▶'))?;
    let at = row.find("KH-")?;
    let reference = row[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    Some((line, reference))
}

/// Notes through the API at `WRITE_RATE` a second on the newest cases, away from the top of
/// the queue the keys move in.
struct Writer {
    stop: Arc<AtomicBool>,
    written: Arc<AtomicUsize>,
    failed: Arc<AtomicUsize>,
    began: Instant,
    thread: std::thread::JoinHandle<()>,
}

impl Writer {
    fn start(url: &str, token: &str, cases: usize) -> anyhow::Result<Writer> {
        let client = Client::new(url, token)?;
        let stop = Arc::new(AtomicBool::new(false));
        let written = Arc::new(AtomicUsize::new(0));
        let failed = Arc::new(AtomicUsize::new(0));
        let (s, w, f) = (stop.clone(), written.clone(), failed.clone());
        let newest: Vec<i64> = (0..200.min(cases) as i64)
            .map(|k| cases as i64 - k)
            .collect();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            let mut versions: HashMap<i64, i64> = HashMap::new();
            let mut tick = Instant::now();
            let mut n = 0;
            while !s.load(Ordering::Relaxed) {
                let id = newest[n % newest.len()];
                n += 1;
                let version = match versions.get(&id) {
                    Some(v) => Some(*v),
                    None => rt.block_on(client.case(id)).ok().map(|d| d.case.version),
                };
                let note = CaseAction::Note(TextBody {
                    text: format!("回访记录 {n}"),
                });
                let done = match version {
                    Some(v) => rt
                        .block_on(client.act(id, v, &note, &new_idempotency_key()))
                        .ok(),
                    None => None,
                };
                match done {
                    Some(detail) => {
                        versions.insert(id, detail.case.version);
                        w.fetch_add(1, Ordering::Relaxed);
                    }
                    None => {
                        // Read its version again next time.
                        versions.remove(&id);
                        f.fetch_add(1, Ordering::Relaxed);
                    }
                }
                tick += Duration::from_millis(1_000 / WRITE_RATE);
                if let Some(wait) = tick.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
            }
        });
        Ok(Writer {
            stop,
            written,
            failed,
            began: Instant::now(),
            thread,
        })
    }

    /// Stops it: (writes acknowledged, seconds, writes refused).
    fn stop(self) -> (usize, f64, usize) {
        self.stop.store(true, Ordering::Relaxed);
        let seconds = self.began.elapsed().as_secs_f64();
        let _ = self.thread.join();
        (
            self.written.load(Ordering::Relaxed),
            seconds,
            self.failed.load(Ordering::Relaxed),
        )
    }
}

/// The bench-built console in a pty of its own, killed when dropped.
struct Console {
    term: Term,
}

impl Console {
    fn launch(home: &Path, url: &str, token: &str) -> anyhow::Result<Console> {
        std::fs::create_dir_all(home)?;
        let mut cmd = CommandBuilder::new(BIN);
        cmd.args(["--server", url, "--token", token, "--lang", "en"]);
        for name in ["JIEYOU_SERVER", "JIEYOU_TOKEN", "NO_COLOR"] {
            cmd.env_remove(name);
        }
        cmd.env("HOME", home);
        cmd.env("XDG_CONFIG_HOME", home.join("config"));
        cmd.env("XDG_DATA_HOME", home.join("data"));
        cmd.env("LANG", "en_US.UTF-8");
        cmd.env("LC_ALL", "en_US.UTF-8");
        cmd.env("TERM", "xterm-256color");
        cmd.cwd(home);
        Ok(Console {
            term: Term::spawn(cmd)?,
        })
    }

    /// Types `bytes`: the instant just before.
    fn key(&mut self, bytes: &[u8]) -> anyhow::Result<Instant> {
        self.term.send(bytes)
    }

    fn pid(&self) -> anyhow::Result<u32> {
        self.term.pid()
    }

    /// Time from the launch to a screen that is live and shows case rows.
    fn wait_populated(&self) -> anyhow::Result<Duration> {
        self.wait_for(|s| s.contains("● live") && s.contains("KH-"))
    }

    /// Time from the launch to a frame that `done` accepts.
    fn wait_for(&self, done: impl Fn(&str) -> bool) -> anyhow::Result<Duration> {
        match self.term.wait_for(0, START_WAIT, done) {
            Some(frame) => Ok(frame.at.saturating_duration_since(self.term.launched)),
            None => bail!(
                "the console did not show its cases ({}):\n{}",
                if self.term.closed() {
                    "it exited"
                } else {
                    "still running"
                },
                self.term.latest().text
            ),
        }
    }
}

fn print_table(rows: &[Row]) {
    use unicode_width::UnicodeWidthStr;
    let cells: Vec<[String; 4]> = rows
        .iter()
        .map(|r| {
            [
                r.figure.clone(),
                r.value.clone(),
                r.target
                    .map(|(op, b, unit)| format!("{op} {b} {unit}"))
                    .unwrap_or_default(),
                match r.met() {
                    Some(true) => "met".into(),
                    Some(false) => "MISSED".into(),
                    None => String::new(),
                },
            ]
        })
        .collect();
    let header = ["figure", "value", "target", ""];
    let mut widths = header.map(UnicodeWidthStr::width);
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.width());
        }
    }
    let line = |cells: &[String]| {
        let mut out = String::from("| ");
        for (c, w) in cells.iter().zip(widths) {
            out.push_str(c);
            out.push_str(&" ".repeat(w - c.width()));
            out.push_str(" | ");
        }
        println!("{}", out.trim_end());
    };
    println!();
    line(&header.map(String::from));
    line(&widths.map(|w| "-".repeat(w)));
    for row in &cells {
        line(row);
    }
}
