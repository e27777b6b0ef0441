//! Supervision end to end: a database seeded in-process with a red case dispatched two hours
//! ago (so its sign-for clock is long breached), `jieyou serve` on it, and the real console in
//! tmux signed in as a supervisor, who urges the case by keys. The server then shows
//! `urge_count` 1 and an `urge` event. Every wait polls with a bounded deadline.

#![cfg(unix)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use jieyou::client::Client;
use jieyou::domain::Actor;
use jieyou::server::Store;
use jieyou::server::store::{StoredAnswer, Written};
use jieyou::wire::{
    CaseAction, Channel, DepartmentKind, DispatchBody, Location, NewCase, Policy, Requester, Role,
    Tier, TierBody,
};

const BIN: &str = env!("CARGO_BIN_EXE_jieyou");
const WAIT: Duration = Duration::from_secs(20);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// `jieyou serve` on `db`; killed when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(db: &str) -> Server {
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--database", db])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("serve starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("listening line");
        let url = line
            .trim()
            .rsplit(' ')
            .next()
            .unwrap_or_default()
            .to_string();
        assert!(url.starts_with("http://127.0.0.1:"), "{line}");
        Server { child, url }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A tmux server of its own (`-L`), killed when dropped.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn console(home: &std::path::Path, server: &str, token: &str) -> Tmux {
        let socket = format!("jieyou-e2e-sup-{}", std::process::id());
        std::fs::create_dir_all(home).expect("home");
        let cmd = format!(
            "env -u JIEYOU_SERVER -u JIEYOU_TOKEN -u NO_COLOR HOME={home} XDG_CONFIG_HOME={home}/config XDG_DATA_HOME={home}/data LANG=en_US.UTF-8 LC_ALL=en_US.UTF-8 {BIN} --server '{server}' --token '{token}' --lang en; echo CONSOLE-EXITED $?; sleep 600",
            home = home.display()
        );
        let status = Command::new("tmux")
            .args([
                "-L",
                &socket,
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-x",
                "160",
                "-y",
                "45",
                "-s",
                "main",
                &cmd,
            ])
            .status()
            .expect("tmux runs");
        assert!(status.success());
        Tmux { socket }
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p", "-t", "main"])
            .output()
            .expect("capture");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        for k in keys {
            let status = Command::new("tmux")
                .args(["-L", &self.socket, "send-keys", "-t", "main", k])
                .status()
                .expect("send-keys");
            assert!(status.success());
        }
    }

    fn text(&self, s: &str) {
        Command::new("tmux")
            .args(["-L", &self.socket, "send-keys", "-t", "main", "-l", s])
            .status()
            .expect("send-keys");
    }

    fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let s = self.screen();
            if pred(&s) {
                return s;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}; screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

/// Seeds `db`: a bureau, a supervisor (whose token is returned), and a red case received,
/// triaged and dispatched about two hours ago; returns (token, case reference, case id).
async fn seed(db: &str) -> (String, String, i64) {
    let store = Store::open(db, "KH", chrono_tz::Asia::Shanghai, Policy::default())
        .await
        .expect("store opens");
    let bureau = store
        .add_department("卫健局", DepartmentKind::Bureau)
        .await
        .expect("department");
    let token = store
        .add_user("sup-zhao", Role::Supervisor, None)
        .await
        .expect("supervisor");
    store
        .add_user("op-li", Role::Operator, None)
        .await
        .expect("operator");
    let intake = Actor {
        name: "intake-wang".into(),
        role: Role::Intake,
        department_id: None,
    };
    let operator = Actor {
        name: "op-li".into(),
        role: Role::Operator,
        department_id: None,
    };
    let answer = |_: &_, _: &[_]| StoredAnswer {
        status: 200,
        body: Vec::new(),
    };
    let new = NewCase {
        channel: Channel::Hotline12345,
        category: "medical_transport".into(),
        title: "透析病人需要转运".into(),
        description: "78岁尿毒症患者需定期血透，小区封控无法出行。".into(),
        requester: Requester {
            name: "葛先生".into(),
            phone: "13800000000".into(),
        },
        location: Location {
            town: "马金镇".into(),
            address: "下庄村".into(),
            lat: None,
            long: None,
        },
    };
    let t0 = Utc::now() - chrono::Duration::minutes(125);
    let Written::Fresh(rec, _) = store
        .create_case(&new, &intake, t0, None, answer)
        .await
        .expect("case")
    else {
        panic!("replayed")
    };
    for (minutes, action) in [
        (
            3,
            CaseAction::Triage(TierBody {
                tier: Tier::Red,
                note: None,
            }),
        ),
        (
            5,
            CaseAction::Dispatch(DispatchBody {
                department_id: bureau.id,
                note: None,
            }),
        ),
    ] {
        store
            .act(
                rec.id,
                None,
                &action,
                &operator,
                t0 + chrono::Duration::minutes(minutes),
                None,
                answer,
            )
            .await
            .expect("act");
    }
    store.close().await;
    (token, rec.reference.clone(), rec.id)
}

#[test]
fn a_supervisor_urges_an_overdue_red_case_by_keys() {
    assert!(
        Command::new("tmux")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success()),
        "tmux is required for the console's end-to-end tests (apt-get install tmux)"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite:{}", dir.path().join("desk.db").display());
    let rt = runtime();
    let (token, reference, id) = rt.block_on(seed(&db));
    let server = Server::start(&db);
    let client = Client::new(&server.url, &token).expect("client");
    let before = rt.block_on(client.case(id)).expect("case").case;
    assert!(before.overdue, "seeded case is overdue: {before:?}");
    assert_eq!(before.urge_count, 0);

    let tmux = Tmux::console(&dir.path().join("home"), &server.url, &token);
    // A supervisor starts on the Overdue board; the case is listed with its breached clock.
    let screen = tmux.wait_for("the overdue board with the case", |s| {
        s.contains("[2 Overdue]") && s.contains(&reference) && s.contains("sign-for")
    });
    let row = screen
        .lines()
        .find(|l| l.contains(&reference) && l.contains("sign-for"))
        .unwrap_or_default()
        .to_string();
    assert!(
        row.contains("■") && row.contains(" -0"),
        "red and negative: {row}"
    );

    tmux.keys(&["u"]);
    tmux.wait_for("the urge dialog", |s| s.contains("Note (optional)"));
    tmux.text("请今晚回复");
    tmux.keys(&["Enter"]);
    tmux.wait_for("the confirmation", |s| s.contains("Done: urged"));

    let deadline = Instant::now() + WAIT;
    let detail = loop {
        let d = rt.block_on(client.case(id)).expect("case");
        if d.case.urge_count == 1 || Instant::now() > deadline {
            break d;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(detail.case.urge_count, 1);
    let urge = detail
        .events
        .iter()
        .find(|e| e.action == "urge")
        .expect("an urge event");
    assert_eq!(urge.actor, "sup-zhao");
    assert_eq!(urge.payload["note"], "请今晚回复");
    // The board shows the new count.
    tmux.wait_for("urged 1×", |s| {
        s.lines()
            .find(|l| l.contains(&reference) && l.contains("sign-for"))
            .is_some_and(|l| l.contains("  1   0   0"))
    });
}
