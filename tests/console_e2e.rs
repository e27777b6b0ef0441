//! The real `jieyou` console in tmux against a real `jieyou serve` on a temporary SQLite file.
//! Every wait polls the screen (or the server) for the expected state with a bounded deadline;
//! nothing is asserted from a sleep.

#![cfg(unix)]

mod e2e;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use e2e::{BIN, Server, Tmux, WAIT, require_tmux, runtime, user_add};
use jieyou::client::{Client, new_idempotency_key};
use jieyou::wire::{
    Case, CaseAction, Channel, DepartmentKind, Location, NewCase, NewDepartment, Requester, Status,
    Tier, TierBody,
};

/// A desk: a database with an operator, an intake clerk, departments, and a running server.
struct Desk {
    dir: tempfile::TempDir,
    db: String,
    server: Server,
    operator: String,
    intake: Client,
    other_operator: Client,
    departments: Vec<(i64, String)>,
}

impl Desk {
    fn new() -> Desk {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = format!("sqlite:{}", dir.path().join("desk.db").display());
        let admin = user_add(&db, "admin", "admin");
        let operator = user_add(&db, "op-li", "operator");
        let intake = user_add(&db, "intake-wang", "intake");
        let other = user_add(&db, "op-zhao", "operator");
        let server = Server::start(&db, "127.0.0.1:0");
        let admin = Client::new(&server.url, &admin).expect("client");
        let rt = runtime();
        let mut departments = Vec::new();
        for (name, kind) in [
            ("马金镇", DepartmentKind::Township),
            ("卫健局", DepartmentKind::Bureau),
            ("商务局", DepartmentKind::Bureau),
        ] {
            let d = rt
                .block_on(admin.create_department(
                    &NewDepartment {
                        name: name.into(),
                        kind,
                    },
                    &new_idempotency_key(),
                ))
                .expect("department");
            departments.push((d.id, d.name));
        }
        Desk {
            intake: Client::new(&server.url, &intake).expect("client"),
            other_operator: Client::new(&server.url, &other).expect("client"),
            dir,
            db,
            server,
            operator,
            departments,
        }
    }

    fn department(&self, name: &str) -> i64 {
        self.departments
            .iter()
            .find(|d| d.1 == name)
            .map(|d| d.0)
            .expect("department")
    }

    /// A case from its own caller about its own need: requests from one phone, or alike in
    /// one town, would be one group of similar requests, shown as one row.
    fn new_case(&self, title: &str) -> Case {
        let caller: u32 = title.chars().map(u32::from).sum();
        let new = NewCase {
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
        };
        runtime()
            .block_on(self.intake.create_case(&new, &new_idempotency_key()))
            .expect("case created")
            .case
    }

    fn server_case(&self, id: i64) -> Case {
        runtime().block_on(self.intake.case(id)).expect("case").case
    }

    fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }
}

fn countdown_of(screen: &str, reference: &str) -> Option<String> {
    // The case's row; the detail pane's title names the reference too.
    screen
        .lines()
        .filter(|l| l.contains(reference))
        .find_map(|line| {
            line.split_whitespace()
                .find(|w| {
                    let w = w.trim_start_matches('-');
                    w.len() == 8 && w.chars().filter(|c| *c == ':').count() == 2
                })
                .map(str::to_string)
        })
}

fn wait_server<T>(what: &str, f: impl Fn() -> Option<T>) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for the server: {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn console(desk: &Desk, name: &str, lang: &str) -> Tmux {
    Tmux::console(
        name,
        &desk.home(),
        &["--server", &desk.server.url, "--token", &desk.operator],
        lang,
    )
}

#[test]
fn the_queue_appears_and_countdowns_tick() {
    require_tmux();
    let desk = Desk::new();
    let a = desk.new_case("透析病人需要转运");
    let b = desk.new_case("发热儿童需就医");
    let t = console(&desk, "queue", "en_US.UTF-8");
    let first = t.wait_for("both cases, live", |s| {
        s.contains(&a.reference) && s.contains(&b.reference) && s.contains("● live")
    });
    assert!(first.contains("Untriaged 2"), "{first}");
    assert!(first.contains("透析病人需要转运"));
    let before = countdown_of(&first, &a.reference).expect("a countdown on the row");
    t.wait_for("the countdown to change", |s| {
        countdown_of(s, &a.reference).is_some_and(|c| c != before)
    });
}

#[test]
fn the_console_speaks_chinese() {
    require_tmux();
    let desk = Desk::new();
    let a = desk.new_case("询问返乡隔离政策");
    let t = console(&desk, "zh", "zh_CN.UTF-8");
    let s = t.wait_for("the Chinese queue", |s| {
        s.contains(&a.reference) && s.contains("在线")
    });
    assert!(s.contains("待分类 1"), "{s}");
}

#[test]
fn a_case_is_triaged_and_dispatched_by_keystrokes() {
    require_tmux();
    let desk = Desk::new();
    let c = desk.new_case("透析病人需要转运");
    let t = console(&desk, "dispatch", "en_US.UTF-8");
    t.wait_for("the case, live", |s| {
        s.contains(&c.reference) && s.contains("● live")
    });
    // t r a w j j Enter
    t.keys(&["t", "r"]);
    t.wait_text("Red 1");
    t.keys(&["a"]);
    t.wait_text("Dispatch to");
    t.text("wjj");
    t.keys(&["Enter"]);
    t.wait_text("Done: dispatched");
    let wjj = desk.department("卫健局");
    let on_server = wait_server("dispatched to 卫健局", || {
        let s = desk.server_case(c.id);
        (s.status == Status::Dispatched).then_some(s)
    });
    assert_eq!(on_server.tier, Some(Tier::Red));
    assert_eq!(on_server.department_id, Some(wjj));
    // The row itself, not only the detail pane's title, shows the department.
    t.wait_for("the dispatched row", |s| {
        s.lines()
            .any(|l| l.contains(&c.reference) && l.contains("dispatched") && l.contains("卫健局"))
    });
}

#[test]
fn a_change_by_another_client_appears_without_a_key() {
    require_tmux();
    let desk = Desk::new();
    let c = desk.new_case("特殊奶粉断货");
    let t = console(&desk, "feed", "en_US.UTF-8");
    t.wait_for("the case, live", |s| {
        s.contains(&c.reference) && s.contains("● live")
    });
    let rt = runtime();
    rt.block_on(desk.other_operator.act(
        c.id,
        c.version,
        &CaseAction::Triage(TierBody {
            tier: Tier::Orange,
            note: None,
        }),
        &new_idempotency_key(),
    ))
    .expect("triaged by another operator");
    t.wait_text("Orange 1");
    let fresh = desk.new_case("小区封控物资配送不到位");
    t.wait_for("the new case", |s| {
        s.contains(&fresh.reference) && s.contains("小区封控物资配送不到位")
    });
}

#[test]
fn the_server_stops_and_restarts_and_nothing_is_lost() {
    require_tmux();
    let mut desk = Desk::new();
    let c = desk.new_case("孕妇产检无法出村");
    let t = console(&desk, "restart", "en_US.UTF-8");
    t.wait_for("the case, live", |s| {
        s.contains(&c.reference) && s.contains("● live")
    });
    let listen = desk.server.url.trim_start_matches("http://").to_string();
    desk.server.stop();
    let s = t.wait_text("● offline");
    assert!(
        s.contains(&c.reference),
        "the last data stays on screen:\n{s}"
    );
    assert!(s.contains("Cannot reach the server"), "{s}");
    // Claimed while offline: kept, not lost.
    t.keys(&["c"]);
    t.wait_text("Not sent");
    desk.server = Server::start(&desk.db, &listen);
    t.wait_text("● live");
    t.keys(&["Enter"]);
    t.wait_text("Done: claimed");
    let claimed = wait_server("claimed by op-li", || {
        let s = desk.server_case(c.id);
        (s.claimed_by.as_deref() == Some("op-li")).then_some(s)
    });
    assert_eq!(claimed.version, c.version + 1, "claimed exactly once");
    let later = desk.new_case("询问返乡隔离政策");
    let s = t.wait_for("a case created after the restart", |s| {
        s.contains(&later.reference)
    });
    assert!(s.contains(&c.reference));
    assert!(s.contains("Untriaged 2"), "{s}");
}

#[test]
fn bad_tokens_and_unreachable_servers_are_explained() {
    require_tmux();
    let desk = Desk::new();
    let t = Tmux::console(
        "token",
        &desk.home(),
        &["--server", &desk.server.url, "--token", "jy_wrong"],
        "en_US.UTF-8",
    );
    t.wait_text("the server refused the token");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let t = Tmux::console(
        "refused",
        &desk.home(),
        &[
            "--server",
            &format!("http://127.0.0.1:{port}"),
            "--token",
            "x",
        ],
        "en_US.UTF-8",
    );
    t.wait_text("Cannot reach the server");
    // A server, but not at the API's root.
    let t = Tmux::console(
        "notapi",
        &desk.home(),
        &[
            "--server",
            &format!("{}/desk", desk.server.url),
            "--token",
            &desk.operator,
        ],
        "en_US.UTF-8",
    );
    t.wait_text("answered 404 for the request API");
    // Not a URL at all: said before the screen is taken over.
    let out = Command::new(BIN)
        .args(["--server", "ftp//nowhere", "--token", "x"])
        .env("HOME", desk.home())
        .env("XDG_CONFIG_HOME", desk.home().join("config"))
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not an http:// or https:// URL"), "{err}");
    let out = Command::new(BIN)
        .args(["--print-default-config"])
        .output()
        .expect("runs");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        include_str!("../config.example.toml")
    );
}

#[test]
fn sigterm_and_q_restore_the_terminal_and_logs_go_to_a_file() {
    require_tmux();
    let desk = Desk::new();
    let c = desk.new_case("透析病人需要转运");
    let t = console(&desk, "sigterm", "en_US.UTF-8");
    t.wait_for("the case, live", |s| {
        s.contains(&c.reference) && s.contains("● live")
    });
    let pid = t.console_pid().expect("the console runs in the pane");
    Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    let s = t.wait_text("CONSOLE-EXITED 0");
    assert!(
        !s.contains(&c.reference),
        "the alternate screen is gone:\n{s}"
    );
    let log = desk.home().join("data/jieyou/logs/console.log");
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        text.contains("console starting"),
        "{}: {text}",
        log.display()
    );

    let t = console(&desk, "quit", "en_US.UTF-8");
    t.wait_text("● live");
    t.keys(&["q"]);
    t.wait_text("CONSOLE-EXITED 0");
}

#[test]
fn a_case_taken_down_from_a_call_appears_in_untriaged() {
    require_tmux();
    let desk = Desk::new();
    let t = console(&desk, "intake", "en_US.UTF-8");
    t.wait_text("● live");
    t.keys(&["n"]);
    t.wait_text("New case from a call");
    // Title, category (picked by its pinyin initials), caller, phone, town; then send.
    t.text("独居老人断药");
    t.keys(&["Tab"]);
    t.text("yp");
    t.keys(&["Enter"]);
    t.text("刘奶奶");
    t.keys(&["Tab"]);
    t.text("13900001111");
    t.keys(&["Tab"]);
    t.text("华埠镇");
    t.keys(&["C-s"]);
    t.wait_for("the new case in the untriaged pane", |s| {
        s.contains("Untriaged 1")
            && s.lines()
                .any(|l| l.contains("独居老人断药") && l.contains("KH-"))
    });
    let list = runtime()
        .block_on(desk.intake.list(&jieyou::client::ListQuery::default()))
        .expect("list");
    let created = list
        .cases
        .iter()
        .find(|c| c.title == "独居老人断药")
        .expect("on the server");
    assert_eq!(created.requester.name, "刘奶奶");
    assert_eq!(created.location.town, "华埠镇");
    assert_eq!(created.channel, Channel::Hotline12345);
}

#[test]
fn a_conflict_shows_what_changed_and_retries_on_the_fresh_case() {
    require_tmux();
    let desk = Desk::new();
    let c = desk.new_case("发热儿童需就医");
    let triaged = runtime()
        .block_on(desk.other_operator.act(
            c.id,
            c.version,
            &CaseAction::Triage(TierBody {
                tier: Tier::Orange,
                note: None,
            }),
            &new_idempotency_key(),
        ))
        .expect("triaged by another operator")
        .case;
    let t = console(&desk, "conflict", "en_US.UTF-8");
    t.wait_for("the case, live", |s| {
        s.contains(&c.reference) && s.contains("● live")
    });
    t.keys(&["a"]);
    t.wait_text("Dispatch to");
    // Meanwhile another operator re-tiers it.
    runtime()
        .block_on(desk.other_operator.act(
            c.id,
            triaged.version,
            &CaseAction::Retier(TierBody {
                tier: Tier::Red,
                note: None,
            }),
            &new_idempotency_key(),
        ))
        .expect("re-tiered by another operator");
    t.text("wjj");
    t.keys(&["Enter"]);
    let s = t.wait_text("Changed meanwhile");
    assert!(s.contains("tier: orange → red"), "{s}");
    t.keys(&["Enter"]);
    t.wait_text("Done: dispatched");
    let on_server = wait_server("dispatched", || {
        let s = desk.server_case(c.id);
        (s.status == Status::Dispatched).then_some(s)
    });
    assert_eq!(on_server.department_id, Some(desk.department("卫健局")));
    assert_eq!(
        on_server.tier,
        Some(Tier::Red),
        "the other operator's tier stands"
    );
}

/// The number in a queue pane's header, e.g. `■ Red 19 ───`.
fn pane_count(screen: &str, header: &str) -> Option<u32> {
    let line = screen.lines().find(|l| l.contains(header))?;
    let after = &line[line.find(header)? + header.len()..];
    after.split_whitespace().next()?.parse().ok()
}

/// The first countdown (`-00:42:10`, ` 00:09:19`) in the row under a pane header.
fn first_countdown_under(screen: &str, header: &str) -> Option<String> {
    let mut lines = screen.lines().skip_while(|l| !l.contains(header));
    lines.next()?;
    let row = lines.next()?;
    row.split_whitespace()
        .find(|w| {
            w.len() >= 8
                && w.trim_start_matches('-')
                    .chars()
                    .filter(|c| *c == ':')
                    .count()
                    == 2
        })
        .map(str::to_string)
}

#[test]
fn demo_opens_a_live_console_with_all_four_queues_and_moving_countdowns() {
    require_tmux();
    let home = tempfile::tempdir().expect("home");
    let t = Tmux::console(
        "demo",
        home.path(),
        &["demo", "--seed", "3", "--lang", "en"],
        "en_US.UTF-8",
    );
    let screen = t.wait_for("a live console with four populated queues", |s| {
        s.contains("● live")
            && ["○ Untriaged", "■ Red", "▲ Orange", "● Blue"]
                .iter()
                .all(|h| pane_count(s, h).is_some_and(|n| n > 0))
    });
    assert!(
        screen.contains("(operator)"),
        "signed in as the operator:\n{screen}"
    );
    let first = first_countdown_under(&screen, "■ Red").expect("a red countdown");
    let moved = t.wait_for("the red countdown to tick", |s| {
        first_countdown_under(s, "■ Red").is_some_and(|c| c != first)
    });
    assert!(moved.contains("● live"));
    t.keys(&["q"]);
    t.wait_text("CONSOLE-EXITED 0");
}
