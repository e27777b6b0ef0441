//! `jieyou loadgen`, the real binary, against a real server on loopback: it counts every write,
//! every console sees every change, and it says clearly when a token or the server is wrong.

mod common;

use std::process::Output;

use jieyou::domain::Actor;
use jieyou::loadgen::Report;
use jieyou::loadgen::connection::Connection;
use jieyou::loadgen::console;
use jieyou::loadgen::stats::Stats;
use jieyou::server::Clock;
use jieyou::server::store::StoredAnswer;
use jieyou::wire::Role;
use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_jieyou");

async fn loadgen(args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("loadgen")
        .args(args)
        .env_remove("JIEYOU_TOKEN")
        .env_remove("JIEYOU_SERVER")
        .output()
        .await
        .expect("jieyou runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_write_is_counted_and_reaches_every_console() {
    let app = common::spawn_app().await;
    let store = &app.server.store;
    let mut lines = String::from("# loadgen users\n");
    for (name, role) in [
        ("lg-op-1", Role::Operator),
        ("lg-op-2", Role::Operator),
        ("lg-sup", Role::Supervisor),
        ("lg-obs", Role::Observer),
    ] {
        let token = store.add_user(name, role, None).await.unwrap();
        lines.push_str(&format!("{name} {token}\n"));
    }
    let file = app.dir.path().join("tokens.txt");
    std::fs::write(&file, lines).unwrap();
    let url = app.server.url();
    let out = loadgen(&[
        "--server",
        &url,
        "--tokens",
        file.to_str().unwrap(),
        "--consoles",
        "6",
        "--writers",
        "3",
        "--write-rate",
        "15/s",
        "--duration",
        "3s",
        "--settle",
        "2s",
        "--json",
    ])
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "loadgen failed: {stderr}");
    let report: Report = serde_json::from_slice(&out.stdout).expect("the report is JSON");

    assert_eq!(report.consoles_polling, 6);
    assert_eq!(report.error_count, 0, "errors: {:?}", report.errors);
    assert!(report.writes >= 10, "only {} writes", report.writes);
    let written: u64 = report
        .requests
        .iter()
        .filter(|k| {
            [
                "create",
                "triage",
                "claim",
                "dispatch",
                "answer-online",
                "note",
            ]
            .contains(&k.kind.as_str())
        })
        .map(|k| k.count)
        .sum();
    assert_eq!(written, report.writes, "requests: {:?}", report.requests);
    assert_eq!(report.propagation.missed, 0);
    assert_eq!(report.propagation.seen, report.writes * 6);
    let snapshots = report.requests.iter().find(|k| k.kind == "snapshot");
    assert_eq!(snapshots.map(|k| k.count), Some(6));

    // The creates it reports are the cases the server holds.
    let creates = report
        .requests
        .iter()
        .find(|k| k.kind == "create")
        .map_or(0, |k| k.count);
    let held = app.observer.changes(None, None).await.unwrap().cases.len();
    assert_eq!(held as u64, creates);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_is_named_and_nothing_runs() {
    let app = common::spawn_app().await;
    let good = app
        .server
        .store
        .add_user("lg-op", Role::Operator, None)
        .await
        .unwrap();
    let url = app.server.url();
    let out = loadgen(&[
        "--server",
        &url,
        "--token",
        &good,
        "--token",
        "jy_not_a_token",
        "--duration",
        "1s",
    ])
    .await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("refused token 2 of 2"),
        "unclear error: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    let held = app.observer.changes(None, None).await.unwrap().cases.len();
    assert_eq!(held, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_is_not_there_is_said_so() {
    // A port just freed: nothing listens on it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = loadgen(&[
        "--server",
        &format!("http://127.0.0.1:{port}"),
        "--token",
        "jy_x",
        "--duration",
        "1s",
    ])
    .await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot reach the server"),
        "unclear error: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// A simulated console asks one thing at a time on one connection: its session, a snapshot of
/// many pages and its polls all go through against a server that allows a single connection,
/// and when the server closes it for idling, the next request opens another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_holds_one_connection_and_replaces_one_the_server_closed() {
    let mut config = jieyou::server::config::ServerConfig::default();
    config.limits.max_connections = 1;
    config.limits.header_read_timeout_seconds = 1;
    // Pages of tens of kilobytes: answers read in more than one go.
    config.feed_page = 40;
    let app = common::spawn_app_with(config).await;
    let store = &app.server.store;
    let intake = Actor {
        name: "intake-wang".into(),
        role: Role::Intake,
        department_id: None,
    };
    let now = app.clock.now();
    let write = |i: usize| {
        let intake = intake.clone();
        async move {
            let mut new = common::new_case(&format!("路灯不亮 {i}"));
            new.requester.phone = format!("1390000{i:04}");
            store
                .create_case(&new, &intake, now, None, |_, _, _| StoredAnswer {
                    status: 201,
                    body: vec![],
                })
                .await
                .unwrap();
        }
    };
    for i in 0..200 {
        write(i).await;
    }
    let token = store
        .add_user("lg-obs", Role::Observer, None)
        .await
        .unwrap();
    let stats = Stats::new();
    let mut conn = Connection::new(&app.server.url(), &token).unwrap();
    let mut cursor = console::connect(&mut conn, &stats).await.unwrap();
    for i in 200..220 {
        write(i).await;
        let changes = conn.changes(Some(&cursor), Some(5)).await.unwrap();
        assert!(!changes.cases.is_empty());
        cursor = changes.cursor;
    }
    assert!(stats.errors().is_empty(), "{:?}", stats.errors());
    assert_eq!(conn.opened(), 1);

    // Idle past the server's header-read timeout: it closes the connection.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    write(220).await;
    let changes = conn.changes(Some(&cursor), Some(5)).await.unwrap();
    assert_eq!(changes.cases.len(), 1);
    assert_eq!(conn.opened(), 2);
}
