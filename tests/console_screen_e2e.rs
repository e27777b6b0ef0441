//! A screen that holds up on a long shift, end to end: the real console in tmux against a real
//! `jieyou serve` on a temporary SQLite file. Started on a desk that already has red cases, it
//! rings nothing (no "Alarm " line, no bell in tmux) until a new red case arrives, which rings.
//! Started with a wrong token, it says "not signed in" and stops asking the server until the
//! operator presses R; a counting relay between the two shows the requests.

#![cfg(unix)]

mod e2e;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use e2e::{Server, Tmux, WAIT, require_tmux, runtime, user_add};
use jieyou::client::{Client, new_idempotency_key};
use jieyou::wire::{Case, CaseAction, Channel, Location, NewCase, Requester, Tier, TierBody};

struct Desk {
    dir: tempfile::TempDir,
    server: Server,
    operator: String,
    intake: Client,
    triager: Client,
}

impl Desk {
    fn new() -> Desk {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = format!("sqlite:{}", dir.path().join("desk.db").display());
        let operator = user_add(&db, "op-li", "operator");
        let intake = user_add(&db, "intake-wang", "intake");
        let triager = user_add(&db, "op-zhao", "operator");
        let server = Server::start(&db, "127.0.0.1:0");
        Desk {
            intake: Client::new(&server.url, &intake).expect("client"),
            triager: Client::new(&server.url, &triager).expect("client"),
            dir,
            server,
            operator,
        }
    }

    /// A new case, triaged red by another operator.
    fn red_case(&self, title: &str) -> Case {
        let new = NewCase {
            channel: Channel::Hotline110,
            category: "medical_transport".into(),
            title: title.into(),
            description: "山体滑坡，道路中断，有村民被困".into(),
            requester: Requester {
                name: "郑先生".into(),
                phone: "13900000000".into(),
            },
            location: Location {
                town: "马金镇".into(),
                address: "霞山村".into(),
                lat: None,
                long: None,
            },
        };
        let rt = runtime();
        let c = rt
            .block_on(self.intake.create_case(&new, &new_idempotency_key()))
            .expect("case created")
            .case;
        let triage = CaseAction::Triage(TierBody {
            tier: Tier::Red,
            note: None,
        });
        rt.block_on(
            self.triager
                .act(c.id, c.version, &triage, &new_idempotency_key()),
        )
        .expect("triaged red")
        .case
    }
}

fn bell(t: &Tmux) -> String {
    t.format("#{window_bell_flag}")
}

#[test]
fn reds_already_on_the_desk_ring_nothing_and_a_new_red_rings() {
    require_tmux();
    let desk = Desk::new();
    let first = desk.red_case("山体滑坡道路中断");
    let second = desk.red_case("老人被困家中");
    let t = Tmux::console(
        "reds",
        &desk.dir.path().join("home"),
        &[
            "--server",
            &desk.server.url,
            "--token",
            &desk.operator,
            "--lang",
            "en",
        ],
        "en_US.UTF-8",
    );
    // The snapshot and any alarm it caused reach the screen in the same frame.
    let screen = t.wait_for("the desk's red cases", |s| {
        s.contains(&first.reference) && s.contains(&second.reference) && s.contains("● live")
    });
    assert!(!screen.contains("Alarm "), "{screen}");
    assert_eq!(bell(&t), "0", "no bell for the desk as found\n{screen}");

    let third = desk.red_case("桥梁垮塌");
    let screen = t.wait_for("the alarm for the new red case", |s| {
        s.lines()
            .any(|l| l.contains("Alarm ") && l.contains(&third.reference))
    });
    let alarm = screen
        .lines()
        .find(|l| l.contains("Alarm "))
        .unwrap_or_default();
    assert!(
        !alarm.contains(&first.reference) && !alarm.contains(&second.reference),
        "only the new case: {alarm}"
    );
    let deadline = Instant::now() + WAIT;
    while bell(&t) != "1" {
        assert!(Instant::now() < deadline, "the bell never rang");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A loopback relay to `target` that counts the HTTP requests passing through it.
fn counting_relay(target: &str) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("relay port");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let target = target.trim_start_matches("http://").to_string();
    let count = Arc::new(AtomicUsize::new(0));
    let counted = count.clone();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect(&target) else {
                continue;
            };
            let (mut c_in, mut s_out) = (
                client.try_clone().expect("clone"),
                server.try_clone().expect("clone"),
            );
            let counted = counted.clone();
            // Requests: every request line from the console starts with `GET ` or `POST `.
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                while let Ok(n) = c_in.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    let chunk = String::from_utf8_lossy(&buf[..n]);
                    let requests = chunk.matches("GET /").count() + chunk.matches("POST /").count();
                    counted.fetch_add(requests, Ordering::SeqCst);
                    if s_out.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
                let _ = s_out.shutdown(Shutdown::Write);
            });
            let (mut s_in, mut c_out) = (server, client);
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut s_in, &mut c_out);
                let _ = c_out.shutdown(Shutdown::Write);
            });
        }
    });
    (url, count)
}

#[test]
fn a_wrong_token_says_not_signed_in_and_stops_retrying_until_r() {
    require_tmux();
    let desk = Desk::new();
    let (relay, requests) = counting_relay(&desk.server.url);
    let t = Tmux::console(
        "wrong-token",
        &desk.dir.path().join("home"),
        &["--server", &relay, "--token", "jy_wrong", "--lang", "en"],
        "en_US.UTF-8",
    );
    let screen = t.wait_for("not signed in", |s| {
        s.contains("● not signed in") && s.contains("Not retrying; press R")
    });
    assert!(!screen.contains("retry in"), "{screen}");
    // No server clock is claimed before the server has answered once.
    let top = screen.lines().next().unwrap_or_default();
    assert!(!top.contains("server"), "{top}");
    let asked = requests.load(Ordering::SeqCst);
    assert!(asked >= 1, "the console asked at least once");
    // The old back-off retried after 1 s, 2 s, 4 s: over 8 s it would have asked again at
    // least three times. Now it waits for the operator.
    std::thread::sleep(Duration::from_secs(8));
    assert_eq!(
        requests.load(Ordering::SeqCst),
        asked,
        "no retries by itself"
    );
    assert!(t.screen().contains("● not signed in"));
    // R asks once more.
    t.keys(&["R"]);
    let deadline = Instant::now() + WAIT;
    while requests.load(Ordering::SeqCst) == asked {
        assert!(Instant::now() < deadline, "R did not retry");
        std::thread::sleep(Duration::from_millis(100));
    }
    t.wait_text("● not signed in");
}
