//! Supervision end to end: a database seeded in-process with a red case dispatched two hours
//! ago (so its sign-for clock is long breached), `jieyou serve` on it, and the real console in
//! tmux signed in as a supervisor, who urges the case by keys. The server then shows
//! `urge_count` 1 and an `urge` event. Every wait polls with a bounded deadline.

#![cfg(unix)]

mod e2e;

use std::time::{Duration, Instant};

use chrono::Utc;
use e2e::{Server, Tmux, WAIT, require_tmux, runtime};
use jieyou::client::Client;
use jieyou::domain::Actor;
use jieyou::server::Store;
use jieyou::wire::{CaseAction, DepartmentKind, DispatchBody, Policy, Role, Tier, TierBody};

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
    let operator = Actor {
        name: "op-li".into(),
        role: Role::Operator,
        department_id: None,
    };
    let t0 = Utc::now() - chrono::Duration::minutes(125);
    let rec = e2e::seed_dialysis_case(&store, t0).await;
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
                e2e::no_answer,
            )
            .await
            .expect("act");
    }
    store.close().await;
    (token, rec.reference.clone(), rec.id)
}

#[test]
fn a_supervisor_urges_an_overdue_red_case_by_keys() {
    require_tmux();
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite:{}", dir.path().join("desk.db").display());
    let rt = runtime();
    let (token, reference, id) = rt.block_on(seed(&db));
    let server = Server::start(&db, "127.0.0.1:0");
    let client = Client::new(&server.url, &token).expect("client");
    let before = rt.block_on(client.case(id)).expect("case").case;
    assert!(before.overdue, "seeded case is overdue: {before:?}");
    assert_eq!(before.urge_count, 0);

    let tmux = Tmux::console(
        "sup",
        &dir.path().join("home"),
        &["--server", &server.url, "--token", &token, "--lang", "en"],
        "en_US.UTF-8",
    );
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
