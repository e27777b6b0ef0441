//! `jieyou demo`: the seeded desk lands on the server as planned, and the real binary serves it
//! with new requests arriving and simulated departments acting.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use chrono::Utc;
use jieyou::client::Client;
use jieyou::demo::data::{DemoData, PlanOptions};
use jieyou::server::{ServerConfig, SystemClock};
use jieyou::wire::{Case, Policy, Role, Status};

const BIN: &str = env!("CARGO_BIN_EXE_jieyou");

/// Every case of the change feed's snapshot, following `more`.
async fn snapshot(client: &Client) -> (Vec<Case>, String) {
    let mut ch = client.changes(None, None).await.expect("snapshot");
    let mut cases = std::mem::take(&mut ch.cases);
    while ch.more {
        ch = client
            .changes(Some(&ch.cursor), None)
            .await
            .expect("rest of the snapshot");
        cases.append(&mut ch.cases);
    }
    (cases, ch.cursor)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeding_puts_the_planned_desk_on_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let config = ServerConfig {
        listen: "127.0.0.1:0".into(),
        database: format!("sqlite:{}", dir.path().join("demo.db").display()),
        ..ServerConfig::default()
    };
    let server = jieyou::server::spawn(config, Arc::new(SystemClock))
        .await
        .unwrap();
    let data = DemoData::embedded().unwrap();
    let mut opts = PlanOptions::new(1, Utc::now());
    opts.cases = 150;
    let policy = Policy::default();
    let desk = jieyou::demo::seed(&server.store, &data, &opts, &policy)
        .await
        .unwrap();

    let supervisor = desk.login(Role::Supervisor).unwrap();
    let client = Client::new(&server.url(), &supervisor.token).unwrap();
    // Every department has someone on duty for the desk's urging calls.
    let departments = client.departments().await.unwrap();
    assert!(!departments.is_empty());
    for d in &departments {
        assert_eq!(d.on_duty.len(), 1, "{}", d.name);
        assert!(d.on_duty[0].phone.starts_with("0570-66"), "{:?}", d.on_duty);
    }
    let (mut cases, _) = snapshot(&client).await;
    cases.sort_by_key(|c| c.id);
    assert_eq!(cases.len(), 150, "every seeded case is less than a day old");

    // The store took every step as the dry run did.
    let records = desk.plan.dry_run(&policy).unwrap();
    for (rec, case) in records.iter().zip(&cases) {
        assert_eq!(rec.title, case.title);
        assert_eq!(rec.status, case.status, "{}", case.reference);
        assert_eq!(rec.tier, case.tier, "{}", case.reference);
        assert_eq!(rec.department_id, case.department_id, "{}", case.reference);
        assert_eq!(rec.claimed_by, case.claimed_by, "{}", case.reference);
        assert_eq!(rec.return_count, case.return_count);
        assert_eq!(rec.extension_count, case.extension_count);
        assert_eq!(rec.urge_count, case.urge_count);
        assert_eq!(rec.received_at, case.received_at);
    }
    let s = &desk.summary;
    let open = |c: &&Case| c.status.is_open();
    assert_eq!(
        cases
            .iter()
            .filter(open)
            .filter(|c| c.tier.is_none())
            .count(),
        s.untriaged
    );
    assert!(s.untriaged > 0 && s.open_red > 0 && s.open_orange > 0 && s.open_blue > 0);
    // Unmet deadlines only become overdue as time passes.
    let overdue = cases.iter().filter(|c| c.overdue).count();
    assert!(overdue >= s.overdue_now && overdue > 0, "{overdue} < {s:?}");

    // Department users see their own department's cases only.
    let dept = desk
        .logins
        .iter()
        .find(|l| l.role == Role::Department && l.name == "卫健局值班员")
        .unwrap();
    let dept_client = Client::new(&server.url(), &dept.token).unwrap();
    let (own, _) = snapshot(&dept_client).await;
    assert!(!own.is_empty());
    assert!(own.iter().all(|c| c.department_id == dept.department_id));
    server.stop().await.unwrap();
}

/// Stops the demo on drop, so a failing test does not leave it running.
struct Demo(Child);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_binary_serves_a_live_desk() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("demo.db").display());
    let mut child = Command::new(BIN)
        .args([
            "demo",
            "--no-console",
            "--database",
            &db,
            "--cases",
            "60",
            "--rate",
            "60",
            "--speed",
            "60",
            "--seed",
            "3",
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("demo starts");
    let stdout = child.stdout.take().unwrap();
    let mut demo = Demo(child);
    // Read stdout on a thread (to the end, so the demo never writes to a closed pipe).
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let (mut url, mut token) = (None, None);
    while url.is_none() || token.is_none() {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the demo prints its URL and tokens");
        if let Some(u) = line.strip_prefix("Jieyou demo desk at ") {
            url = Some(u.trim().to_string());
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.first() == Some(&"supervisor") {
            token = words.last().map(|t| t.to_string());
        }
    }
    let client = Client::new(&url.unwrap(), &token.unwrap()).unwrap();
    let me = client.me().await.expect("the printed token signs in");
    assert_eq!(me.role, Role::Supervisor);

    let (seeded, mut cursor) = snapshot(&client).await;
    assert!(seeded.len() >= 60, "seeded {}", seeded.len());
    let max_seeded = seeded.iter().map(|c| c.id).max().unwrap();
    let started = Utc::now();
    let mut new_case = false;
    let mut department_acted = false;
    let mut checked = HashSet::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while !(new_case && department_acted) {
        assert!(
            Instant::now() < deadline,
            "no new request or department action within the bound (new {new_case}, department {department_acted})"
        );
        let ch = client
            .changes(Some(&cursor), Some(5))
            .await
            .expect("changes");
        cursor = ch.cursor;
        for c in ch.cases {
            if c.id > max_seeded {
                new_case = true;
            }
            let worked = matches!(c.status, Status::InProgress | Status::Resolved)
                && c.department_id.is_some();
            if department_acted || !worked || !checked.insert((c.id, c.version)) {
                continue;
            }
            let detail = client.case(c.id).await.expect("case detail");
            department_acted = detail.events.iter().any(|e| {
                e.actor_role == Role::Department
                    && e.at.with_timezone(&Utc) >= started
                    && matches!(e.action.as_str(), "sign-for" | "progress" | "resolve")
            });
        }
    }

    Command::new("kill")
        .args(["-TERM", &demo.0.id().to_string()])
        .status()
        .unwrap();
    let stop_by = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = demo.0.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < stop_by, "demo did not stop on SIGTERM");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(status.success(), "demo exited with {status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_rides_out_an_absent_server_and_stops_when_told() {
    use jieyou::demo::simulator::{SimTokens, SimulatorConfig, run_simulator};
    use tokio_util::sync::CancellationToken;

    // A port nobody listens on: bind one, then let it go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let tokens = SimTokens {
        intake: "nobody".into(),
        operator: "nobody".into(),
        departments: vec![(1, "nobody".into())],
    };
    let cfg = SimulatorConfig {
        rate_per_minute: 600.0,
        speed: 100.0,
        ..SimulatorConfig::default()
    };
    let cancel = CancellationToken::new();
    let stop = cancel.clone();
    let run = tokio::spawn(async move { run_simulator(cfg, &url, tokens, stop).await });
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        !run.is_finished(),
        "the simulator gave up on an absent server"
    );
    cancel.cancel();
    let summary = tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("stops when cancelled")
        .expect("does not panic")
        .expect("runs");
    assert_eq!(summary.created, 0);
    assert!(summary.errors > 0, "{summary:?}");

    let bad = run_simulator(
        SimulatorConfig::default(),
        "ftp://example.org",
        SimTokens {
            intake: String::new(),
            operator: String::new(),
            departments: vec![],
        },
        CancellationToken::new(),
    )
    .await;
    assert!(bad.is_err(), "a non-HTTP URL is refused at start");
}
