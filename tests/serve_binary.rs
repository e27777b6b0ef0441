//! The real `jieyou` binary: `user add`, `serve` on a SQLite file, durability across a
//! restart, graceful shutdown on SIGTERM.

mod e2e;

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use e2e::{BIN, serve, serve_with, sigterm, succeeded, user_add, user_add_to};
use jieyou::client::{Client, new_idempotency_key};
use jieyou::wire::{Channel, Location, NewCase, Requester};
use sqlx::Connection;

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
        &["migrate"],
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

/// Runs `jieyou serve --no-migrate` on `db`, which must refuse to start: its stderr.
fn refused_without_migrating(db: &str) -> String {
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database",
            db,
            "--no-migrate",
        ])
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + e2e::WAIT;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("serve --no-migrate started on a database that is not migrated");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success(), "{out:?}");
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("listening"),
        "{out:?}"
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_first_then_serve_without_migrating() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("desk.db").display());
    let out = succeeded(
        Command::new(BIN)
            .args(["migrate", "--database", &db])
            .output()
            .unwrap(),
    );
    let listed: Vec<&str> = out.lines().skip(1).map(str::trim).collect();
    assert!(
        out.starts_with(&format!(
            "jieyou migrate: applied {} migration(s):",
            listed.len()
        )),
        "{out}"
    );
    assert_eq!(listed.first(), Some(&"0001_init"), "{out}");
    let again = succeeded(
        Command::new(BIN)
            .args(["migrate", "--database", &db])
            .output()
            .unwrap(),
    );
    assert_eq!(
        again.trim(),
        "jieyou migrate: the schema was current; applied none"
    );

    let token = user_add(&db, "intake-wang", "intake");
    let (mut child, url) = serve_with(&db, "127.0.0.1:0", &["--no-migrate"]);
    let client = Client::new(&url, &token).unwrap();
    let new = NewCase {
        channel: Channel::Hotline12345,
        category: "supplies".into(),
        title: "社区团购物资未送达".into(),
        description: "封控小区团购的蔬菜三天未到".into(),
        requester: Requester {
            name: "周女士".into(),
            phone: "13900002222".into(),
        },
        location: Location {
            town: "华埠镇".into(),
            address: "华锋村".into(),
            lat: None,
            long: None,
        },
    };
    client
        .create_case(&new, &new_idempotency_key())
        .await
        .unwrap();
    terminate(&mut child);
}

#[test]
fn serve_without_migrating_refuses_a_database_that_is_missing_or_behind() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("desk.db");
    let db = format!("sqlite:{}", path.display());
    let missing = refused_without_migrating(&db);
    assert!(missing.contains("jieyou migrate"), "{missing}");
    assert!(!path.exists(), "--no-migrate created the database");

    // A database this build has more migrations for, as after an upgrade of the binary.
    succeeded(
        Command::new(BIN)
            .args(["migrate", "--database", &db])
            .output()
            .unwrap(),
    );
    let rt = e2e::runtime();
    let newest: String = rt.block_on(async {
        let mut conn = sqlx::SqliteConnection::connect(&db).await.unwrap();
        let (version, name): (i64, String) = sqlx::query_as(
            "SELECT version, description FROM _sqlx_migrations ORDER BY version DESC LIMIT 1",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        sqlx::query("DELETE FROM _sqlx_migrations WHERE version = $1")
            .bind(version)
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        format!("{version:04}_{name}")
    });
    let behind = refused_without_migrating(&db);
    assert!(behind.contains("schema is behind"), "{behind}");
    assert!(behind.contains(&newest), "{behind}");
    assert!(behind.contains("jieyou migrate"), "{behind}");
}
