//! The real `jieyou` binary: `user add`, `serve` on a SQLite file, durability across a
//! restart, graceful shutdown on SIGTERM.

#[path = "common/e2e.rs"]
mod e2e;

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use e2e::{BIN, serve, serve_with, sigterm, succeeded, user_add, user_add_to};
use jieyou::client::{Client, new_idempotency_key};
use jieyou::wire::{Channel, Location, NewCase, Requester};

#[cfg(unix)]
fn terminate(child: &mut Child) -> std::process::ExitStatus {
    sigterm(child).expect("serve did not stop on SIGTERM")
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_keeps_cases_across_a_restart_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("desk.db").display());
    let out = Command::new(BIN)
        .args([
            "department",
            "add",
            "--database",
            &db,
            "--name",
            "卫健局",
            "--kind",
            "bureau",
        ])
        .output()
        .unwrap();
    succeeded(out);
    let out = Command::new(BIN)
        .args(["department", "list", "--database", &db])
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(listed.contains("1  bureau     卫健局"), "{listed}");
    let out = Command::new(BIN)
        .args([
            "user",
            "add",
            "--database",
            &db,
            "--name",
            "wj-zhang",
            "--role",
            "department",
        ])
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "a department user needs --department"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("--department"));
    user_add_to(&db, "wj-zhang", "department", Some("1"));
    let token = user_add(&db, "intake-wang", "intake");
    assert!(token.starts_with("jy_") && token.len() > 40, "{token}");
    // A second user with the same name is refused with a clear message.
    let dup = Command::new(BIN)
        .args([
            "user",
            "add",
            "--database",
            &db,
            "--name",
            "intake-wang",
            "--role",
            "intake",
        ])
        .output()
        .unwrap();
    assert!(!dup.status.success());
    assert!(String::from_utf8_lossy(&dup.stderr).contains("exists"));

    let (mut child, url) = serve(&db, "127.0.0.1:0");
    let client = Client::new(&url, &token).unwrap();
    client.health().await.unwrap();
    let ready = reqwest::get(format!("{url}/readyz")).await.unwrap();
    assert_eq!(ready.status(), 200);
    let new = NewCase {
        channel: Channel::Hotline12345,
        category: "supplies".into(),
        title: "5个月婴儿需要特殊奶粉".into(),
        description: "家中婴儿因身体原因需食用特定奶粉,已断货".into(),
        requester: Requester {
            name: "史先生".into(),
            phone: "13900001111".into(),
        },
        location: Location {
            town: "华埠镇".into(),
            address: "德济苑".into(),
            lat: None,
            long: None,
        },
    };
    let created = client
        .create_case(&new, &new_idempotency_key())
        .await
        .unwrap();
    // A long poll in flight must not hold up shutdown.
    let snap = client.changes(None, None).await.unwrap();
    let poll = {
        let c = client.clone();
        tokio::spawn(async move { c.changes(Some(&snap.cursor), Some(30)).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let status = tokio::task::spawn_blocking(move || terminate(&mut child))
        .await
        .unwrap();
    assert!(status.success(), "exit status {status}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "shutdown waited for the long poll"
    );
    let _ = poll.await;

    let (mut child, url) = serve(&db, "127.0.0.1:0");
    let client = Client::new(&url, &token).unwrap();
    let back = client.case(created.case.id).await.unwrap();
    assert_eq!(back.case.reference, created.case.reference);
    assert_eq!(back.case.title, "5个月婴儿需要特殊奶粉");
    assert_eq!(back.events.len(), 1);
    terminate(&mut child);
}

/// A client that sent half its headers does not hold a stopping server: past the shutdown
/// grace its connection is closed. Its header timeout is set far beyond the grace, so the grace
/// is what ends it.
#[cfg(unix)]
#[test]
fn a_half_sent_request_does_not_hold_up_shutdown() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("desk.db").display());
    let config = dir.path().join("server.toml");
    std::fs::write(
        &config,
        "[limits]\nheader_read_timeout_seconds = 3600\nshutdown_grace_seconds = 1\n",
    )
    .unwrap();
    let (mut child, url) = serve_with(&db, "127.0.0.1:0", &["--config", config.to_str().unwrap()]);
    let addr = url.trim_start_matches("http://");
    let mut slow = std::net::TcpStream::connect(addr).unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: jieyou\r\nX-Half: ")
        .unwrap();
    // The server has the connection once it answers another.
    let mut other = std::net::TcpStream::connect(addr).unwrap();
    other
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: jieyou\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    std::io::Read::read_to_string(&mut other, &mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let status = sigterm(&mut child);
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    assert!(
        status.is_some_and(|s| s.success()),
        "serve did not stop while a client held half a request: {status:?}"
    );
    drop(slow);
}

#[test]
fn help_and_version_and_completions() {
    let out = Command::new(BIN).arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("jieyou "));
    let out = Command::new(BIN)
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("--database") && help.contains("Examples:"),
        "{help}"
    );
    for sub in [
        &[][..],
        &["user"],
        &["user", "add"],
        &["department"],
        &["report"],
        &["demo"],
    ] {
        let out = Command::new(BIN).args(sub).arg("--help").output().unwrap();
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(
            help.contains("Example"),
            "jieyou {sub:?} --help has no examples:\n{help}"
        );
    }
    let out = Command::new(BIN)
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("jieyou"));
    let out = Command::new(BIN)
        .args([
            "user",
            "add",
            "--name",
            "x",
            "--role",
            "boss",
            "--database",
            "sqlite::memory:",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no role \"boss\""));
}
