//! Shift work end to end: `jieyou serve` on a seeded SQLite file and the real console in tmux.
//! (a) Two operators' consoles: one opens the answer dialog on a case, the other shows
//! "answering" on that row and in its detail; the first console is killed (SIGKILL, no chance
//! to say goodbye) and the mark goes once the server lets its presence lapse. (b) An operator
//! ends a shift with a note, the next starts one and reads the brief with that note and
//! acknowledges it, and a supervisor's handovers panel shows who acknowledged it. Every wait
//! polls the screen with a bounded deadline; nothing is asserted from a sleep.

#![cfg(unix)]

mod e2e;

use std::process::Command;
use std::time::{Duration, Instant};

use chrono::Utc;
use e2e::{Server, Tmux, require_tmux, runtime};
use jieyou::client::{Client, new_idempotency_key};
use jieyou::server::Store;
use jieyou::wire::{CaseAction, PRESENCE_TTL_SECS, Policy, Role, Tier, TierBody};

struct Desk {
    _dir: tempfile::TempDir,
    dir: std::path::PathBuf,
    server: Server,
    li: String,
    wang: String,
    supervisor: String,
    reference: String,
}

/// Two operators, a supervisor and one red case, triaged by op-li.
fn desk() -> Desk {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite:{}", dir.path().join("desk.db").display());
    let rt = runtime();
    let (li, wang, supervisor, id, reference) = rt.block_on(async {
        let store = Store::open(&db, "KH", chrono_tz::Asia::Shanghai, Policy::default())
            .await
            .expect("store opens");
        let li = store
            .add_user("op-li", Role::Operator, None)
            .await
            .expect("op-li");
        let wang = store
            .add_user("op-wang", Role::Operator, None)
            .await
            .expect("op-wang");
        let supervisor = store
            .add_user("sup-zhao", Role::Supervisor, None)
            .await
            .expect("supervisor");
        let rec = e2e::seed_dialysis_case(&store, Utc::now() - chrono::Duration::minutes(5)).await;
        store.close().await;
        (li, wang, supervisor, rec.id, rec.reference.clone())
    });
    let server = Server::start(&db, "127.0.0.1:0");
    let client = Client::new(&server.url, &li).expect("client");
    rt.block_on(client.act(
        id,
        1,
        &CaseAction::Triage(TierBody {
            tier: Tier::Red,
            note: None,
        }),
        &new_idempotency_key(),
    ))
    .expect("triaged");
    Desk {
        dir: dir.path().to_path_buf(),
        _dir: dir,
        server,
        li,
        wang,
        supervisor,
        reference,
    }
}

fn console(desk: &Desk, name: &str, token: &str) -> Tmux {
    Tmux::console(
        name,
        &desk.dir.join(name),
        &[
            "--server",
            &desk.server.url,
            "--token",
            token,
            "--lang",
            "en",
        ],
        "en_US.UTF-8",
    )
}

/// The list's row holding `text` (not the detail pane's title, which names the case too).
fn row_with<'a>(screen: &'a str, text: &str) -> Option<&'a str> {
    screen
        .lines()
        .find(|l| l.starts_with('│') && l.contains(text))
}

#[test]
fn a_second_console_sees_answering_and_the_mark_goes_when_the_first_is_killed() {
    require_tmux();
    let desk = desk();
    let b = console(&desk, "presence-b", &desk.wang);
    b.wait_text(&desk.reference);
    let a = console(&desk, "presence-a", &desk.li);
    a.wait_text(&desk.reference);
    // The only case is selected: `o` opens the answer editor on it.
    a.keys(&["o"]);
    a.wait_for("the answer editor", |s| s.contains("Ctrl-S"));

    let seen = b.wait_for("op-li answering on the row and in the detail", |s| {
        row_with(s, &desk.reference).is_some_and(|l| l.contains('✎'))
            && s.contains("op-li is answering this case")
    });
    assert!(!seen.contains("op-wang is"), "nobody is shown themselves");

    let pid = a.console_pid().expect("console A runs");
    let killed = Command::new("kill")
        .args(["-KILL", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());

    // The server lets a silent console's presence lapse after its TTL and its expiry pass;
    // the wait is generous and says nothing about how fast that is.
    let deadline = Instant::now() + Duration::from_secs(PRESENCE_TTL_SECS as u64 * 4);
    loop {
        let s = b.screen();
        let row = row_with(&s, &desk.reference)
            .unwrap_or_default()
            .to_string();
        if !row.contains('✎') && !s.contains("op-li is answering") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "op-li's presence outlived the killed console; screen:\n{s}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn a_shift_ends_with_a_note_the_next_reads_and_acknowledges_and_the_supervisor_sees_it() {
    require_tmux();
    let desk = desk();
    let a = console(&desk, "shift-a", &desk.li);
    a.wait_text("not on shift");
    a.keys(&["S"]);
    a.wait_text("on shift since");
    a.keys(&["S"]);
    a.wait_text("Your note for the next shift");
    a.text("Call the dialysis family back before 08:00");
    a.keys(&["C-s"]);
    let own = a.wait_text("Your handover brief");
    assert!(
        own.contains("Call the dialysis family back before 08:00"),
        "{own}"
    );
    assert!(own.contains("Open red cases (1)"), "{own}");
    a.keys(&["Escape"]);
    a.wait_text("not on shift");

    let b = console(&desk, "shift-b", &desk.wang);
    b.wait_text("not on shift");
    b.keys(&["S"]);
    let brief = b.wait_text("op-li's shift");
    assert!(brief.contains("Handover brief"), "{brief}");
    assert!(
        brief.contains("Call the dialysis family back before 08:00"),
        "{brief}"
    );
    b.keys(&["Enter"]);
    b.wait_text("Handover acknowledged");

    let sup = console(&desk, "shift-sup", &desk.supervisor);
    sup.wait_text("not on shift");
    sup.keys(&["H"]);
    let panel = sup.wait_text("read by op-wang");
    assert!(panel.contains("op-li (operator) ended at"), "{panel}");
    assert!(
        panel.contains("op-wang (operator) on shift since"),
        "{panel}"
    );
}
