//! A restore seen from an operator's desk: the real `jieyou` binary serves, backs up and
//! restores a SQLite file while the real console runs in tmux. After the restore the console's
//! cursor belongs to a database that is gone; it must reload every case by itself.

#![cfg(unix)]

mod e2e;

use std::process::Command;

use e2e::{BIN, Server, Tmux, require_tmux, runtime, succeeded, user_add};
use jieyou::client::{Client, new_idempotency_key};
use jieyou::wire::{Channel, Location, NewCase, Requester};

/// A case from its own caller about its own need: requests from one phone, or alike in one
/// town, would be one group of similar requests, shown as one row.
fn new_case(title: &str) -> NewCase {
    let caller: u32 = title.chars().map(u32::from).sum();
    NewCase {
        channel: Channel::Hotline12345,
        category: "medical_transport".into(),
        title: title.into(),
        description: format!("{title}，小区封控无法出行"),
        requester: Requester {
            name: "葛先生".into(),
            phone: format!("138{:08}", caller % 100_000_000),
        },
        location: Location {
            town: "马金镇".into(),
            address: "下庄村".into(),
            lat: None,
            long: None,
        },
    }
}

fn create(url: &str, token: &str, title: &str) {
    let intake = Client::new(url, token).expect("client");
    runtime()
        .block_on(intake.create_case(&new_case(title), &new_idempotency_key()))
        .expect("case created");
}

#[test]
fn after_a_restore_the_console_reloads_every_case_by_itself() {
    require_tmux();
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite:{}", dir.path().join("desk.db").display());
    let backup = dir.path().join("desk-backup.db");
    let operator = user_add(&db, "op-li", "operator");
    let intake = user_add(&db, "intake-wang", "intake");
    let mut server = Server::start(&db, "127.0.0.1:0");
    let listen = server.url.trim_start_matches("http://").to_string();
    succeeded(
        Command::new(BIN)
            .args(["backup", "--database", &db, "--to"])
            .arg(&backup)
            .output()
            .expect("backup runs"),
    );
    create(&server.url, &intake, "透析病人需要转运");
    create(&server.url, &intake, "特殊奶粉断货");
    let t = Tmux::console(
        "restore",
        &dir.path().join("home"),
        &["--server", &server.url, "--token", &operator],
        "en_US.UTF-8",
    );
    t.wait_for("both cases, live", |s| {
        s.contains("透析病人需要转运") && s.contains("特殊奶粉断货") && s.contains("● live")
    });

    // A running server's database is not replaced under it.
    let refused = Command::new(BIN)
        .args(["restore", "--database", &db, "--from"])
        .arg(&backup)
        .output()
        .expect("restore runs");
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("stop `jieyou serve`"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    server.stop();
    t.wait_text("● offline");
    succeeded(
        Command::new(BIN)
            .args(["restore", "--database", &db, "--from"])
            .arg(&backup)
            .output()
            .expect("restore runs"),
    );
    let server = Server::start(&db, &listen);
    create(&server.url, &intake, "询问返乡隔离政策");

    t.wait_text("The server's data was restored or replaced: all cases reloaded.");
    let s = t.wait_for("the case created after the restore, and only it", |s| {
        s.contains("询问返乡隔离政策") && s.contains("● live")
    });
    assert!(
        !s.contains("透析病人需要转运") && !s.contains("特殊奶粉断货"),
        "cases that only existed before the restore are gone:\n{s}"
    );
    assert!(s.contains("Untriaged 1"), "{s}");
}
