//! `jieyou loadgen`, the real binary, against a real server on loopback: it counts every write,
//! every console sees every change, and it says clearly when a token or the server is wrong.

mod common;

use std::process::Output;

use jieyou::loadgen::Report;
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
