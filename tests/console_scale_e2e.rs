//! A desk at 10,000 open cases with a steady feed of changes, end to end: the real console in
//! tmux against a real `jieyou serve` on a temporary SQLite file, seeded through the API, while
//! a background writer triages a case about every 50 ms. The screen follows the keys: a filter
//! narrows the queue to three cases, the cursor moves down them, the views switch.

#![cfg(unix)]

mod e2e;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use futures::StreamExt;

use e2e::{Server, Tmux, require_tmux, runtime, user_add};
use jieyou::client::{Client, new_idempotency_key};
use jieyou::wire::{CaseAction, Channel, Location, NewCase, Requester, Tier, TierBody};

const CASES: usize = 10_000;
/// Titles only the three cases the filter finds carry.
const MARK: &str = "孤岛求助";

fn new_case(i: usize) -> NewCase {
    let towns = ["马金镇", "华埠镇", "池淮镇", "芹阳办事处"];
    let title = match i {
        0 => format!("{MARK}一号"),
        1 => format!("{MARK}二号"),
        2 => format!("{MARK}三号"),
        _ => format!("批量来电 {i:05}"),
    };
    NewCase {
        channel: Channel::Hotline12345,
        category: "medical_transport".into(),
        title,
        description: "小区封控，家属请求协助".into(),
        requester: Requester {
            name: "葛先生".into(),
            phone: format!("138{:08}", i),
        },
        location: Location {
            town: towns[i % towns.len()].into(),
            address: "下庄村".into(),
            lat: None,
            long: None,
        },
    }
}

/// The row marked as selected.
fn selected_row(screen: &str) -> &str {
    screen.lines().find(|l| l.contains('▶')).unwrap_or_default()
}

#[test]
fn keys_keep_answering_at_ten_thousand_cases_under_a_steady_feed() {
    require_tmux();
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite:{}", dir.path().join("desk.db").display());
    let operator = user_add(&db, "op-li", "operator");
    let intake = user_add(&db, "intake-wang", "intake");
    let triager = user_add(&db, "op-zhao", "operator");
    let server = Server::start(&db, "127.0.0.1:0");
    let intake = Client::new(&server.url, &intake).expect("client");
    let rt = runtime();
    // The marked cases first and in order (the queue lists them by deadline, then id), then
    // the rest through the API 16 at a time: those are the ones the writer triages.
    for i in 0..3 {
        rt.block_on(intake.create_case(&new_case(i), &new_idempotency_key()))
            .expect("case created");
    }
    let ids: Vec<i64> = rt.block_on(
        futures::stream::iter(3..CASES)
            .map(|i| {
                let intake = intake.clone();
                async move {
                    intake
                        .create_case(&new_case(i), &new_idempotency_key())
                        .await
                        .expect("case created")
                        .case
                        .id
                }
            })
            .buffer_unordered(16)
            .collect(),
    );
    assert_eq!(ids.len(), CASES - 3);

    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicUsize::new(0));
    let writer = {
        let (stop, written) = (stop.clone(), written.clone());
        let triager = Client::new(&server.url, &triager).expect("client");
        std::thread::spawn(move || {
            let rt = runtime();
            let tiers = [Tier::Red, Tier::Orange, Tier::Blue];
            for (n, id) in ids.into_iter().enumerate() {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let triage = CaseAction::Triage(TierBody {
                    tier: tiers[n % tiers.len()],
                    note: None,
                });
                // The server stops with the test; progress is asserted below.
                if rt
                    .block_on(triager.act(id, 1, &triage, &new_idempotency_key()))
                    .is_err()
                {
                    break;
                }
                written.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };

    let t = Tmux::console(
        "scale",
        &dir.path().join("home"),
        &[
            "--server",
            &server.url,
            "--token",
            &operator,
            "--lang",
            "en",
        ],
        "en_US.UTF-8",
    );
    t.wait_for("the queue populated and live", |s| {
        s.contains("● live") && s.contains("批量来电")
    });
    let before = written.load(Ordering::Relaxed);

    // The filter narrows ten thousand cases to the three marked ones.
    t.keys(&["/"]);
    t.text(MARK);
    let screen = t.wait_for("only the marked cases", |s| {
        s.contains(&format!("{MARK}一号"))
            && s.contains(&format!("{MARK}三号"))
            && s.contains("Untriaged 3 ─")
            && ["Red 0 ─", "Orange 0 ─", "Blue 0 ─"]
                .iter()
                .all(|h| s.contains(h))
    });
    assert!(
        selected_row(&screen).contains(&format!("{MARK}一号")),
        "{screen}"
    );
    // Down twice: the cursor is on the third.
    t.keys(&["Down", "Down"]);
    t.wait_for("the cursor on the third marked case", |s| {
        selected_row(s).contains(&format!("{MARK}三号"))
    });
    t.keys(&["Up"]);
    t.wait_for("the cursor back on the second", |s| {
        selected_row(s).contains(&format!("{MARK}二号"))
    });

    // Out of the filter, through the views and back.
    t.keys(&["Escape", "Escape"]);
    t.wait_for("the whole queue again", |s| s.contains("批量来电"));
    t.keys(&["2"]);
    t.wait_text("Overdue and due within");
    t.keys(&["5"]);
    t.wait_for("the search view over every held case", |s| {
        s.contains("cases held")
    });
    t.keys(&["1"]);
    t.wait_for("the queue", |s| {
        s.contains("Untriaged") && s.contains("批量来电")
    });

    // The feed kept running while the keys were answered.
    let after = written.load(Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    writer.join().expect("writer");
    assert!(after > before, "changes arrived while keys were pressed");
    drop(t);
    drop(server);
}
