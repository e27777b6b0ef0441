//! Every server figure of the performance targets, each beside the ceiling it is measured
//! against in the same run: `cargo bench --bench server` (add `-- --quick`, or set
//! `JIEYOU_BENCH_QUICK=1`, for small sizes in a couple of minutes). `JIEYOU_BENCH_ONLY=writes`
//! measures only the storage ceilings and the durable writes; `JIEYOU_BENCH_BIN=PATH` serves
//! with another build of `jieyou` than the bench's own, to compare two builds back to back
//! against the same ceilings.
//!
//! The product is the real `jieyou serve` binary on loopback with a temporary SQLite file, its
//! users created through the store. The ceilings: a static JSON answer from the same axum and
//! hyper stack (the server's listener, limits and layers, a throwaway route) on its own runtime
//! in this process; a bare indexed read and a bare durable insert on SQLite with the store's
//! pragmas; and that bare insert behind the same HTTP stack, asked by the same client call as a
//! create, so that a durable write is compared with a ceiling that pays the same client and HTTP
//! costs. The clients run in this process: on a 2-core machine client and server share the
//! cores, so every ratio is of figures taken under the same sharing.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::response::IntoResponse;
use axum::routing::get;
use futures::StreamExt;
use hdrhistogram::Histogram;
use jieyou::client::{Client, new_idempotency_key};
use jieyou::demo::data::DemoData;
use jieyou::loadgen::procfs::{Sampler, ServerUsage};
use jieyou::loadgen::{Plan, run as load};
use jieyou::server::config::ServerConfig;
use jieyou::server::encoded::Encoded;
use jieyou::server::limits::{self, Limits};
use jieyou::server::{Store, listener};
use jieyou::wire::{CaseAction, DepartmentKind, Role, TextBody};
use rand::SeedableRng;
use rand::rngs::StdRng;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use tokio_util::sync::CancellationToken;

mod common;

use common::Server;

/// Two thousand consoles need more connections than the default 1024.
const SERVER_LIMITS: &str = "[limits]\nmax_connections = 4096\n";
const CLIENTS: [usize; 3] = [1, 4, 16];
/// Concurrency of the HTTP request-rate figures.
const HTTP_CONCURRENCY: usize = 16;

struct Sizes {
    /// How long each request-rate figure runs.
    window: Duration,
    consoles: usize,
    long_poll_run: Duration,
    snapshot_cases: usize,
}

/// One line of the table.
struct Row {
    figure: String,
    value: String,
    ceiling: String,
    ratio: Option<f64>,
    /// `(≥ or ≤, bound)` on the ratio, or on the value when there is no ceiling.
    target: Option<(&'static str, f64, &'static str)>,
    checked: Option<f64>,
}

impl Row {
    fn info(figure: impl Into<String>, value: impl Into<String>) -> Row {
        Row {
            figure: figure.into(),
            value: value.into(),
            ceiling: String::new(),
            ratio: None,
            target: None,
            checked: None,
        }
    }

    fn met(&self) -> Option<bool> {
        let (op, bound, _) = self.target?;
        let v = self.checked?;
        Some(if op == "≥" { v >= bound } else { v <= bound })
    }
}

fn main() -> anyhow::Result<()> {
    let quick = std::env::args().any(|a| a == "--quick")
        || std::env::var("JIEYOU_BENCH_QUICK").is_ok_and(|v| v != "0" && !v.is_empty());
    let mut sizes = if quick {
        Sizes {
            window: Duration::from_secs(3),
            consoles: 200,
            long_poll_run: Duration::from_secs(15),
            snapshot_cases: 2_000,
        }
    } else {
        Sizes {
            window: Duration::from_secs(10),
            consoles: 2_000,
            long_poll_run: Duration::from_secs(60),
            snapshot_cases: 100_000,
        }
    };
    if let Some(n) = std::env::var("JIEYOU_BENCH_SNAPSHOT_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        sizes.snapshot_cases = n;
    }
    if let Some(n) = std::env::var("JIEYOU_BENCH_CONSOLES")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        sizes.consoles = n;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(bench(&sizes, quick))
}

async fn bench(sizes: &Sizes, quick: bool) -> anyhow::Result<()> {
    let started = Instant::now();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    eprintln!(
        "server bench ({}), {cores} cores shared by client and server",
        if quick { "quick" } else { "full" }
    );
    let writes_only = std::env::var("JIEYOU_BENCH_ONLY").is_ok_and(|v| v == "writes");
    let dir = tempfile::tempdir()?;
    let mut rows = Vec::new();

    // The product: the real binary, users made through the store.
    let users = sizes.consoles.div_ceil(4) + 16;
    let db = format!("sqlite:{}", dir.path().join("desk.db").display());
    let tokens = seed_users(&db, users).await?;
    let mut server = Server::start(dir.path(), &db, SERVER_LIMITS)?;
    let url = server.url.clone();
    let op = |i: usize| Client::new(&url, &tokens[i % tokens.len()]).expect("url is http");

    if !writes_only {
        // HTTP ceiling and the empty delta.
        let ceiling = Ceiling::start(quick_json())?;
        let (c_rate, _) = http_rate(&ceiling.url("/static"), None, sizes.window).await?;
        let cursor = op(0).changes(None, None).await?.cursor;
        let empty = format!("{url}/api/v1/changes?since={cursor}");
        let (e_rate, _) = http_rate(&empty, Some(&tokens[0]), sizes.window).await?;
        rows.push(ratio_row(
            "HTTP ceiling: static 600-byte JSON, req/s",
            c_rate,
            None,
            None,
        ));
        rows.push(ratio_row(
            "empty delta (since = head, no wait), req/s",
            e_rate,
            Some(c_rate),
            Some(("≥", 0.50, "× ceiling")),
        ));

        // A 100-case delta, against the ceiling answering the same bytes.
        let before = op(0).changes(None, None).await?.cursor;
        create_cases(&url, &tokens, 100, 8).await?;
        let delta_url = format!("{url}/api/v1/changes?since={before}");
        let body = reqwest::Client::new()
            .get(&delta_url)
            .bearer_auth(&tokens[0])
            .send()
            .await?
            .bytes()
            .await?;
        let same = Ceiling::start(body.to_vec())?;
        let (same_rate, _) = http_rate(&same.url("/static"), None, sizes.window).await?;
        let (d_rate, _) = http_rate(&delta_url, Some(&tokens[0]), sizes.window).await?;
        rows.push(ratio_row(
            &format!(
                "HTTP ceiling: static {} bytes (a 100-case delta, gzip), req/s",
                body.len()
            ),
            same_rate,
            None,
            None,
        ));
        rows.push(ratio_row(
            "100-case delta, req/s (against the same bytes, both gzip)",
            d_rate,
            Some(same_rate),
            Some(("≥", 0.10, "× ceiling")),
        ));
        rows.push(ratio_row(
            "100-case delta, req/s (against the 600-byte answer)",
            d_rate,
            Some(c_rate),
            None,
        ));
        eprintln!(
            "HTTP figures done ({:.0} s)",
            started.elapsed().as_secs_f64()
        );
        drop(same);
        drop(ceiling);

        // Consoles on long polls while operators write 20 changes a second, on a desk of a few
        // hundred cases (before the write figures add thousands).
        let mut plan = Plan::new(&url, tokens.clone());
        plan.consoles = sizes.consoles;
        plan.writers = 4;
        plan.write_rate = 20.0;
        plan.duration = sizes.long_poll_run;
        plan.server_pid = Some(server.pid());
        plan.connect_concurrency = 32;
        let report = load(&plan, CancellationToken::new()).await?;
        let n = sizes.consoles;
        let secs = sizes.long_poll_run.as_secs();
        rows.push(Row::info(
            format!("{n} consoles + 20 writes/s for {secs} s: writes acknowledged"),
            format!(
                "{} of {:.0} asked ({:.1}/s; consoles connected in {:.0} s)",
                report.writes,
                20.0 * report.seconds,
                report.writes as f64 / report.seconds.max(0.001),
                report.connect_seconds
            ),
        ));
        rows.push(value_row(
            format!("{n} consoles: errors"),
            report.error_count as f64,
            format!(
                "{} ({} polling)",
                report.error_count, report.consoles_polling
            ),
            ("≤", 0.0, ""),
        ));
        rows.push(value_row(
            format!("{n} consoles: changes a console never saw"),
            report.propagation.missed as f64,
            report.propagation.missed.to_string(),
            ("≤", 0.0, ""),
        ));
        let p = &report.propagation;
        rows.push(value_row(
            format!("{n} consoles: ack → seen by every console, p99 ms"),
            p.p99_ms,
            format!("{:.1} (p50 {:.1}, max {:.1})", p.p99_ms, p.p50_ms, p.max_ms),
            ("≤", 250.0, "ms"),
        ));
        if let Some(u) = &report.server_usage {
            let mb = |b: u64| b as f64 / (1024.0 * 1024.0);
            rows.push(value_row(
                format!("{n} consoles: server RSS peak, MB"),
                mb(u.rss_peak_bytes),
                format!(
                    "{:.0} (start {:.0}, end {:.0}; CPU {:.0} % of a core)",
                    mb(u.rss_peak_bytes),
                    mb(u.rss_start_bytes),
                    mb(u.rss_end_bytes),
                    u.cpu_percent
                ),
                ("≤", 250.0, "MB"),
            ));
        }
        if !report.errors.is_empty() {
            eprintln!("long-poll run errors: {:?}", report.errors);
        }

        eprintln!(
            "long-poll run done ({:.0} s)",
            started.elapsed().as_secs_f64()
        );
    }

    // Storage ceilings and durable writes at 1, 4, 16 clients.
    let bare = BareSqlite::open(&dir.path().join("bare.db")).await?;
    for clients in CLIENTS {
        let (r, _) = bare.read_rate(clients, sizes.window).await?;
        rows.push(ratio_row(
            &format!("bare SQLite indexed read, {}, /s", plural(clients)),
            r,
            None,
            None,
        ));
    }
    // The bare insert behind HTTP answers with the bytes of a real create's answer.
    let answer = reqwest::Client::new()
        .post(format!("{url}/api/v1/cases"))
        .bearer_auth(&tokens[0])
        .header("idempotency-key", new_idempotency_key())
        .json(&drawn(0))
        .send()
        .await?
        .error_for_status()?
        .bytes()
        .await?;
    let http_insert = InsertCeiling::start(&dir.path().join("bare-http.db"), answer.to_vec())?;
    for clients in CLIENTS {
        let (ins, ins_p50) = bare.insert_rate(clients, sizes.window).await?;
        let (h_ins, h_ins_p50) = write_rate(
            &http_insert.url,
            &tokens,
            clients,
            sizes.window,
            Write::Create,
        )
        .await?;
        let (cre, cre_p50) =
            write_rate(&url, &tokens, clients, sizes.window, Write::Create).await?;
        let (act, act_p50) = write_rate(&url, &tokens, clients, sizes.window, Write::Note).await?;
        rows.push(ratio_row(
            &format!(
                "bare durable insert, {}, /s (p50 {ins_p50:.2} ms)",
                plural(clients)
            ),
            ins,
            None,
            None,
        ));
        rows.push(ratio_row(
            &format!(
                "bare durable insert behind HTTP, {}, /s (p50 {h_ins_p50:.2} ms)",
                plural(clients)
            ),
            h_ins,
            Some(ins),
            None,
        ));
        for (what, rate, p50) in [
            ("durable create", cre, cre_p50),
            ("durable action (note)", act, act_p50),
        ] {
            let figure = format!("{what}, {}, /s (p50 {p50:.2} ms)", plural(clients));
            // The target is the issue's: the storage ceiling. Behind HTTP is shown beside it, to
            // tell the client's and the stack's share from the store's.
            rows.push(ratio_row(
                &format!("{figure} against the bare insert"),
                rate,
                Some(ins),
                Some(("≥", 1.0 / 1.5, "× bare insert")),
            ));
            rows.push(ratio_row(
                &format!("{figure} against it behind HTTP"),
                rate,
                Some(h_ins),
                None,
            ));
        }
    }
    drop(http_insert);

    eprintln!(
        "storage and write figures done ({:.0} s)",
        started.elapsed().as_secs_f64()
    );

    // A snapshot of many open cases, seeded through the store (the server stopped meanwhile:
    // one writer at a time), then fetched page by page as the console fetches it.
    server.stop();
    if !writes_only {
        let seeding = Instant::now();
        let seeded = seed_cases(&db, sizes.snapshot_cases).await?;
        eprintln!(
            "seeded {seeded} cases through the store in {:.0} s",
            seeding.elapsed().as_secs_f64()
        );
        let starting = Instant::now();
        let mut server = Server::start(dir.path(), &db, SERVER_LIMITS)?;
        let listening = starting.elapsed().as_secs_f64();
        let snap = snapshot_figures(&server.url, &tokens[0], server.pid()).await?;
        let k = snap.cases;
        rows.push(Row::info(
            format!("server start on {k} open cases: to listening, s"),
            format!("{listening:.2}"),
        ));
        rows.push(Row::info(
            format!(
                "snapshot of {k} open cases, all {} pages (gzip): time, s",
                snap.pages
            ),
            format!("{:.2} (plain: {:.2})", snap.gzip_secs, snap.plain_secs),
        ));
        rows.push(Row::info(
            format!("snapshot of {k} open cases: bytes plain / gzip"),
            format!("{} / {}", snap.plain_bytes, snap.gzip_bytes),
        ));
        rows.push(Row::info(
            format!("snapshot of {k} open cases: a page, first tenth / last tenth, ms"),
            format!("{:.1} / {:.1}", snap.first_pages_ms, snap.last_pages_ms),
        ));
        rows.push(Row::info(
            format!("snapshot of {k} open cases: server RSS peak, MB"),
            format!(
                "{:.0} (before {:.0}, {} s after {:.0})",
                snap.rss_peak_mb,
                snap.rss_before_mb,
                SETTLE_AFTER_SNAPSHOT.as_secs(),
                snap.rss_after_mb
            ),
        ));
        server.stop();
    }

    print_table(&rows);
    println!(
        "\n{cores} cores shared by the clients (this process) and the server; {:.0} s in all.",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn plural(clients: usize) -> String {
    if clients == 1 {
        "1 client".into()
    } else {
        format!("{clients} clients")
    }
}

fn ratio_row(
    figure: &str,
    value: f64,
    ceiling: Option<f64>,
    target: Option<(&'static str, f64, &'static str)>,
) -> Row {
    let ratio = ceiling.map(|c| value / c.max(f64::MIN_POSITIVE));
    Row {
        figure: figure.to_string(),
        value: format!("{value:.0}"),
        ceiling: ceiling.map(|c| format!("{c:.0}")).unwrap_or_default(),
        ratio,
        target,
        checked: ratio,
    }
}

fn value_row(
    figure: String,
    value: f64,
    shown: String,
    target: (&'static str, f64, &'static str),
) -> Row {
    Row {
        figure,
        value: shown,
        ceiling: String::new(),
        ratio: None,
        target: Some(target),
        checked: Some(value),
    }
}

fn print_table(rows: &[Row]) {
    use unicode_width::UnicodeWidthStr;
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            [
                r.figure.clone(),
                r.value.clone(),
                r.ceiling.clone(),
                r.ratio.map(|x| format!("{x:.2}")).unwrap_or_default(),
                r.target
                    .map(|(op, b, unit)| {
                        if b.fract() == 0.0 {
                            format!("{op} {b:.0} {unit}")
                        } else {
                            format!("{op} {b:.2} {unit}")
                        }
                    })
                    .unwrap_or_default(),
                match r.met() {
                    Some(true) => "met".into(),
                    Some(false) => "MISSED".into(),
                    None => String::new(),
                },
            ]
        })
        .collect();
    let header = ["figure", "value", "ceiling", "ratio", "target", ""];
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

/// A ~600-byte JSON answer, the size of a small API answer.
fn quick_json() -> Vec<u8> {
    let case = serde_json::json!({
        "cursor": "0123456789abcdef0123456789abcdef.12345",
        "server_time": "2022-05-08T21:14:07+08:00",
        "snapshot": false,
        "cases": [],
        "left": [],
        "more": false,
        "desk": "开化县求助平台",
        "note": "a static answer of about the size of a small reply, to measure the HTTP stack alone",
        "padding": "x".repeat(330),
    });
    serde_json::to_vec(&case).expect("static JSON")
}

/// Creates users (one per four consoles: the server's default long-poll cap) and two
/// departments through the store, before the server opens the file.
async fn seed_users(db: &str, users: usize) -> anyhow::Result<Vec<String>> {
    let cfg = ServerConfig::default();
    let store = Store::open(
        db,
        &cfg.ref_prefix,
        chrono_tz::Asia::Shanghai,
        cfg.policy.clone(),
    )
    .await?;
    // Departments, for the writers to dispatch red and orange cases to.
    for (name, kind) in [
        ("卫健局", DepartmentKind::Bureau),
        ("马金镇", DepartmentKind::Township),
    ] {
        store.add_department(name, kind).await?;
    }
    let mut tokens = Vec::with_capacity(users);
    for i in 0..users {
        tokens.push(
            store
                .add_user(&format!("bench-op-{i}"), Role::Operator, None)
                .await?,
        );
    }
    store.close().await;
    Ok(tokens)
}

/// The HTTP ceiling: the server's listener, limits and layers answering fixed bytes, on a
/// runtime of its own (as the server has its own process).
struct Ceiling {
    addr: std::net::SocketAddr,
    shutdown: CancellationToken,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Ceiling {
    fn start(body: Vec<u8>) -> anyhow::Result<Ceiling> {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone();
        // Served as the server serves a delta: gzip made once, sent to whoever accepts it.
        let body = std::sync::Arc::new(Encoded::new(axum::body::Bytes::from(body)));
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let limits = Limits::default();
                let app = Router::new()
                    .route(
                        "/static",
                        get(move |headers: axum::http::HeaderMap| {
                            let body = body.clone();
                            async move { body.response(&headers) }
                        }),
                    )
                    .layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
                    .layer(tower_http::trace::TraceLayer::new_for_http());
                let app = limits::harden(app, &limits);
                let listener =
                    tokio::net::TcpListener::from_std(std_listener).expect("tokio listener");
                let _ = listener::serve(listener, app, limits, stop).await;
            });
        });
        Ok(Ceiling {
            addr,
            shutdown,
            thread: Some(thread),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Ceiling {
    fn drop(&mut self) {
        self.shutdown.cancel();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("static bounds")
}

/// GETs `url` from `HTTP_CONCURRENCY` connections for `window`: requests/s and latency.
async fn http_rate(
    url: &str,
    token: Option<&str>,
    window: Duration,
) -> anyhow::Result<(f64, Histogram<u64>)> {
    closed_loop(HTTP_CONCURRENCY, window, |_| {
        let http = reqwest::Client::new();
        let url = url.to_string();
        let token = token.map(str::to_string);
        move || {
            let mut req = http.get(&url);
            if let Some(t) = &token {
                req = req.bearer_auth(t);
            }
            let req = req.send();
            async move {
                let resp = req.await?;
                anyhow::ensure!(resp.status().is_success(), "{}", resp.status());
                resp.bytes().await?;
                Ok(())
            }
        }
    })
    .await
}

/// `clients` workers, each with its own state from `make`, repeating their request for
/// `window`. Returns completed requests per second and their latency in µs.
async fn closed_loop<M, F, Fut>(
    clients: usize,
    window: Duration,
    make: M,
) -> anyhow::Result<(f64, Histogram<u64>)>
where
    M: Fn(usize) -> F,
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    let start = Instant::now();
    let end = start + window;
    let workers: Vec<_> = (0..clients)
        .map(|i| {
            let mut f = make(i);
            tokio::spawn(async move {
                let mut h = histogram();
                while Instant::now() < end {
                    let t = Instant::now();
                    f().await?;
                    let _ = h.record((t.elapsed().as_micros() as u64).max(1));
                }
                Ok::<_, anyhow::Error>(h)
            })
        })
        .collect();
    let mut all = histogram();
    for w in workers {
        all.add(w.await??)?;
    }
    let secs = start.elapsed().as_secs_f64();
    Ok((all.len() as f64 / secs, all))
}

fn p50_ms(h: &Histogram<u64>) -> f64 {
    h.value_at_quantile(0.5) as f64 / 1000.0
}

#[derive(Clone, Copy)]
enum Write {
    Create,
    Note,
}

/// Durable writes through the API by `clients` operators: per second, and p50 in ms.
async fn write_rate(
    url: &str,
    tokens: &[String],
    clients: usize,
    window: Duration,
    kind: Write,
) -> anyhow::Result<(f64, f64)> {
    // Each noting operator works a case of its own, so that no two race on one version.
    let mut cases = Vec::new();
    if let Write::Note = kind {
        for i in 0..clients {
            let c = Client::new(url, &tokens[i % tokens.len()])?;
            let d = c
                .create_case(&drawn(i as u64), &new_idempotency_key())
                .await?;
            cases.push((d.case.id, Arc::new(AtomicI64::new(d.case.version))));
        }
    }
    let (rate, h) = closed_loop(clients, window, |i| {
        let client = Client::new(url, &tokens[i % tokens.len()]).expect("http url");
        let mut rng = StdRng::seed_from_u64(i as u64);
        let data = DemoData::embedded().expect("embedded demo data");
        let held = cases.get(i).cloned();
        move || {
            let client = client.clone();
            let new = data.draw_request(&mut rng).new_case;
            let held = held.clone();
            async move {
                match (kind, held) {
                    (Write::Note, Some((id, version))) => {
                        let note = CaseAction::Note(TextBody {
                            text: "求助人再次来电询问进度,已安抚".into(),
                        });
                        let v = version.load(Ordering::Relaxed);
                        let d = client.act(id, v, &note, &new_idempotency_key()).await?;
                        version.store(d.case.version, Ordering::Relaxed);
                    }
                    _ => {
                        client.create_case(&new, &new_idempotency_key()).await?;
                    }
                }
                Ok(())
            }
        }
    })
    .await?;
    Ok((rate, p50_ms(&h)))
}

fn drawn(seed: u64) -> jieyou::wire::NewCase {
    let data = DemoData::embedded().expect("embedded demo data");
    data.draw_request(&mut StdRng::seed_from_u64(seed)).new_case
}

/// Creates `n` cases in the demo's wording through the API, `concurrency` at a time.
async fn create_cases(
    url: &str,
    tokens: &[String],
    n: usize,
    concurrency: usize,
) -> anyhow::Result<()> {
    let data = Arc::new(DemoData::embedded()?);
    let clients: Vec<Client> = (0..concurrency)
        .map(|i| Client::new(url, &tokens[i % tokens.len()]))
        .collect::<Result<_, _>>()?;
    let done = Instant::now();
    let results: Vec<anyhow::Result<()>> = futures::stream::iter(0..n)
        .map(|i| {
            let client = clients[i % clients.len()].clone();
            let data = data.clone();
            async move {
                let new = data
                    .draw_request(&mut StdRng::seed_from_u64(i as u64))
                    .new_case;
                client.create_case(&new, &new_idempotency_key()).await?;
                if i > 0 && i % 10_000 == 0 {
                    eprintln!(
                        "  {i} cases created ({:.0} s)",
                        done.elapsed().as_secs_f64()
                    );
                }
                Ok(())
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    results.into_iter().collect()
}

/// Opens cases through the store (as the API would, grouping included) until `target` are
/// not closed; returns how many it made.
async fn seed_cases(db: &str, target: usize) -> anyhow::Result<usize> {
    let cfg = ServerConfig::default();
    let store = Store::open(
        db,
        &cfg.ref_prefix,
        chrono_tz::Asia::Shanghai,
        cfg.policy.clone(),
    )
    .await?;
    let open: i64 = {
        let path = db.trim_start_matches("sqlite:");
        let options = SqliteConnectOptions::from_str(&format!("sqlite:{path}"))?.read_only(true);
        let pool = SqlitePoolOptions::new().connect_with(options).await?;
        let n = sqlx::query_scalar("SELECT COUNT(*) FROM cases WHERE status != 'closed'")
            .fetch_one(&pool)
            .await?;
        pool.close().await;
        n
    };
    let n = target.saturating_sub(usize::try_from(open).unwrap_or(0));
    let data = Arc::new(DemoData::embedded()?);
    let actor = jieyou::domain::Actor {
        name: "bench-seed".into(),
        role: Role::Operator,
        department_id: None,
    };
    let results: Vec<anyhow::Result<()>> = futures::stream::iter(0..n)
        .map(|i| {
            let (store, data, actor) = (store.clone(), data.clone(), actor.clone());
            async move {
                let new = data
                    .draw_request(&mut StdRng::seed_from_u64(1_000_000 + i as u64))
                    .new_case;
                store
                    .create_case(&new, &actor, chrono::Utc::now(), None, |_, _, _| {
                        jieyou::server::store::StoredAnswer {
                            status: 201,
                            body: vec![],
                        }
                    })
                    .await?;
                Ok(())
            }
        })
        // Enough in flight for every group commit to be full.
        .buffer_unordered(256)
        .collect()
        .await;
    results.into_iter().collect::<anyhow::Result<Vec<()>>>()?;
    store.close().await;
    Ok(n)
}

struct SnapshotFigures {
    cases: usize,
    pages: usize,
    gzip_secs: f64,
    plain_secs: f64,
    plain_bytes: usize,
    gzip_bytes: usize,
    /// Mean time of a page (gzip) over the first and the last tenth of the pages: a page
    /// deeper into the table should cost no more.
    first_pages_ms: f64,
    last_pages_ms: f64,
    rss_before_mb: f64,
    rss_peak_mb: f64,
    /// [`SETTLE_AFTER_SNAPSHOT`] after the last page: memory given back, or kept.
    rss_after_mb: f64,
}

/// How long after the snapshot the server's RSS is read again.
const SETTLE_AFTER_SNAPSHOT: Duration = Duration::from_secs(3);

/// Fetches the whole snapshot, page after page, once asking for gzip and once plain: the
/// time of each, the bytes sent, and the server's peak RSS meanwhile in MB.
async fn snapshot_figures(url: &str, token: &str, pid: u32) -> anyhow::Result<SnapshotFigures> {
    // No automatic decoding: the bytes on the wire are counted, then decoded here.
    let http = reqwest::Client::builder()
        .no_gzip()
        .timeout(Duration::from_secs(600))
        .build()?;
    let sampler = Sampler::start(pid);
    let done = CancellationToken::new();
    let stop = done.clone();
    let sampling = tokio::spawn(async move {
        let mut s = sampler?;
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        loop {
            tokio::select! {
                _ = tick.tick() => s.tick(),
                () = stop.cancelled() => return Some(s.finish()),
            }
        }
    });
    let fetch_all = |encoding: &'static str| {
        let http = http.clone();
        async move {
            let t = Instant::now();
            let (mut cases, mut pages, mut bytes) = (0, 0, 0);
            let mut page_ms = Vec::new();
            let mut since: Option<String> = None;
            loop {
                let page_started = Instant::now();
                let mut req = http
                    .get(format!("{url}/api/v1/changes"))
                    .bearer_auth(token)
                    .header("accept-encoding", encoding);
                if let Some(c) = &since {
                    req = req.query(&[("since", c)]);
                }
                let resp = req.send().await?.error_for_status()?;
                let gzipped = resp
                    .headers()
                    .get("content-encoding")
                    .is_some_and(|v| v == "gzip");
                let body = resp.bytes().await?;
                bytes += body.len();
                let page: jieyou::wire::Changes = if gzipped {
                    let mut plain = vec![];
                    std::io::Read::read_to_end(
                        &mut flate2::read::GzDecoder::new(&body[..]),
                        &mut plain,
                    )?;
                    serde_json::from_slice(&plain)?
                } else {
                    serde_json::from_slice(&body)?
                };
                cases += page.cases.len();
                pages += 1;
                page_ms.push(page_started.elapsed().as_secs_f64() * 1000.0);
                if !page.more {
                    break;
                }
                since = Some(page.cursor);
            }
            anyhow::Ok((t.elapsed().as_secs_f64(), cases, pages, bytes, page_ms))
        }
    };
    let (gzip_secs, cases, pages, gzip_bytes, page_ms) = fetch_all("gzip").await?;
    let (plain_secs, _, _, plain_bytes, _) = fetch_all("identity").await?;
    tokio::time::sleep(SETTLE_AFTER_SNAPSHOT).await;
    done.cancel();
    let usage = sampling.await?;
    let mb = |f: fn(&ServerUsage) -> u64| {
        usage
            .as_ref()
            .map_or(0.0, |u| f(u) as f64 / (1024.0 * 1024.0))
    };
    let tenth = page_ms.len().div_ceil(10);
    let mean = |ms: &[f64]| ms.iter().sum::<f64>() / ms.len().max(1) as f64;
    Ok(SnapshotFigures {
        cases,
        pages,
        gzip_secs,
        plain_secs,
        plain_bytes,
        gzip_bytes,
        first_pages_ms: mean(&page_ms[..tenth]),
        last_pages_ms: mean(&page_ms[page_ms.len() - tenth..]),
        rss_before_mb: mb(|u| u.rss_start_bytes),
        rss_peak_mb: mb(|u| u.rss_peak_bytes),
        rss_after_mb: mb(|u| u.rss_end_bytes),
    })
}

/// The bare durable insert behind the server's HTTP stack (listener, limits, layers), on a
/// runtime of its own: `POST /api/v1/cases` reads the new case as the server does, inserts its
/// JSON as one row in its own transaction (the store's pragmas, one write connection), and
/// answers with the bytes of a real create's answer. Asked through the same `Client` call as a
/// create, it pays every cost of a durable create but the desk's own work.
struct InsertCeiling {
    url: String,
    shutdown: CancellationToken,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl InsertCeiling {
    fn start(path: &Path, answer: Vec<u8>) -> anyhow::Result<InsertCeiling> {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        std_listener.set_nonblocking(true)?;
        let url = format!("http://{}", std_listener.local_addr()?);
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone();
        let path = path.to_path_buf();
        let answer = axum::body::Bytes::from(answer);
        let (ready, opened) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let bare = match BareSqlite::open(&path).await {
                    Ok(b) => b,
                    Err(e) => {
                        let _ = ready.send(Err(e));
                        return;
                    }
                };
                let _ = ready.send(Ok(()));
                let pool = bare.write.clone();
                let seq = Arc::new(AtomicI64::new(1_000_000_000));
                let insert = move |body: axum::body::Bytes| {
                    let (pool, answer, seq) = (pool.clone(), answer.clone(), seq.clone());
                    async move {
                        let Ok(new) = serde_json::from_slice::<jieyou::wire::NewCase>(&body) else {
                            return axum::http::StatusCode::BAD_REQUEST.into_response();
                        };
                        let inserted = sqlx::query("INSERT INTO items (seq, body) VALUES (?, ?)")
                            .bind(seq.fetch_add(1, Ordering::Relaxed))
                            .bind(serde_json::to_string(&new).unwrap_or_default())
                            .execute(&pool)
                            .await;
                        match inserted {
                            Ok(_) => (
                                axum::http::StatusCode::CREATED,
                                [(axum::http::header::CONTENT_TYPE, "application/json")],
                                answer,
                            )
                                .into_response(),
                            Err(_) => axum::http::StatusCode::SERVICE_UNAVAILABLE.into_response(),
                        }
                    }
                };
                let limits = Limits::default();
                let app = Router::new()
                    .route("/api/v1/cases", axum::routing::post(insert))
                    .layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
                    .layer(tower_http::trace::TraceLayer::new_for_http());
                let app = limits::harden(app, &limits);
                let listener =
                    tokio::net::TcpListener::from_std(std_listener).expect("tokio listener");
                let _ = listener::serve(listener, app, limits, stop).await;
            });
        });
        opened.recv()??;
        Ok(InsertCeiling {
            url,
            shutdown,
            thread: Some(thread),
        })
    }
}

impl Drop for InsertCeiling {
    fn drop(&mut self) {
        self.shutdown.cancel();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A bare SQLite file with the store's pragmas: the storage ceilings.
struct BareSqlite {
    read: sqlx::SqlitePool,
    write: sqlx::SqlitePool,
    rows: i64,
}

impl BareSqlite {
    async fn open(path: &Path) -> anyhow::Result<BareSqlite> {
        let options = SqliteConnectOptions::from_str(&format!("sqlite:{}", path.display()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true);
        // One write connection and four readers, as the store has.
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        sqlx::query(
            "CREATE TABLE items (id INTEGER PRIMARY KEY, seq INTEGER NOT NULL, body TEXT NOT NULL)",
        )
        .execute(&write)
        .await?;
        sqlx::query("CREATE INDEX items_seq ON items (seq)")
            .execute(&write)
            .await?;
        let rows = 10_000;
        let mut tx = write.begin().await?;
        for i in 0..rows {
            sqlx::query("INSERT INTO items (seq, body) VALUES (?, ?)")
                .bind(i)
                .bind(body_of(i))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        let read = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.read_only(true))
            .await?;
        Ok(BareSqlite { read, write, rows })
    }

    async fn read_rate(&self, clients: usize, window: Duration) -> anyhow::Result<(f64, f64)> {
        let rows = self.rows;
        let (rate, h) = closed_loop(clients, window, |i| {
            let pool = self.read.clone();
            let mut k = (i as i64 * 7919) % rows;
            move || {
                k = (k + 104_729) % rows;
                let pool = pool.clone();
                async move {
                    let _: (i64, String) =
                        sqlx::query_as("SELECT id, body FROM items WHERE seq = ?")
                            .bind(k)
                            .fetch_one(&pool)
                            .await?;
                    Ok(())
                }
            }
        })
        .await?;
        Ok((rate, p50_ms(&h)))
    }

    async fn insert_rate(&self, clients: usize, window: Duration) -> anyhow::Result<(f64, f64)> {
        let (rate, h) = closed_loop(clients, window, |i| {
            let pool = self.write.clone();
            let mut n = i as i64 * 1_000_000;
            move || {
                n += 1;
                let pool = pool.clone();
                async move {
                    sqlx::query("INSERT INTO items (seq, body) VALUES (?, ?)")
                        .bind(n)
                        .bind(body_of(n))
                        .execute(&pool)
                        .await?;
                    Ok(())
                }
            }
        })
        .await?;
        Ok((rate, p50_ms(&h)))
    }
}

/// About the size of a case row.
fn body_of(i: i64) -> String {
    format!(
        "{i}:{}",
        "七十八岁尿毒症患者需定期血透,小区封控无法出行。".repeat(12)
    )
}
