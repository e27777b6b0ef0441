//! Every role at home in the console, end to end: `jieyou serve` on a seeded SQLite file and
//! the real console in tmux. (a) A department (卫健局) and a supervisor, in two consoles: the
//! department signs for a case, records progress and asks for more time; the supervisor approves
//! from the extension list; the department resolves. (b) A supervisor rules on a case returned
//! three times (more than the policy's `max_returns` of 2) by dispatching it elsewhere. All by
//! keys; the server's state is checked after each step. Every wait polls with a bounded deadline.

#![cfg(unix)]

mod e2e;

use std::time::{Duration, Instant};

use chrono::Utc;
use e2e::{Server, Tmux, WAIT, require_tmux, runtime};
use jieyou::client::Client;
use jieyou::domain::Actor;
use jieyou::server::Store;
use jieyou::wire::{
    CaseAction, CaseDetail, DepartmentKind, DispatchBody, Policy, ReasonBody, Role, Status, Tier,
    TierBody,
};

struct Seeded {
    supervisor: String,
    department: String,
    reference: String,
    id: i64,
    /// 卫健局, and the department the ruling sends the case to.
    health: i64,
    transport: i64,
}

fn actor(name: &str, role: Role, department_id: Option<i64>) -> Actor {
    Actor {
        name: name.into(),
        role,
        department_id,
    }
}

/// A red case received ten minutes ago, triaged and dispatched to 卫健局; with `returns`, sent
/// back by 卫健局 and dispatched again that many times, ending back at the desk.
async fn seed(db: &str, returns: usize) -> Seeded {
    let policy = Policy {
        max_returns: 2,
        ..Policy::default()
    };
    let store = Store::open(db, "KH", chrono_tz::Asia::Shanghai, policy)
        .await
        .expect("store opens");
    let health = store
        .add_department("卫健局", DepartmentKind::Bureau)
        .await
        .expect("department");
    let transport = store
        .add_department("交通运输局", DepartmentKind::Bureau)
        .await
        .expect("department");
    let supervisor = store
        .add_user("sup-zhao", Role::Supervisor, None)
        .await
        .expect("supervisor");
    let department = store
        .add_user("wj-zhang", Role::Department, Some(health.id))
        .await
        .expect("department user");
    store
        .add_user("op-li", Role::Operator, None)
        .await
        .expect("operator");
    let t0 = Utc::now() - chrono::Duration::minutes(10);
    let rec = e2e::seed_dialysis_case(&store, t0).await;
    let operator = actor("op-li", Role::Operator, None);
    let wj = actor("wj-zhang", Role::Department, Some(health.id));
    let dispatch = CaseAction::Dispatch(DispatchBody {
        department_id: health.id,
        note: None,
    });
    let mut steps = vec![
        (
            &operator,
            CaseAction::Triage(TierBody {
                tier: Tier::Red,
                note: None,
            }),
        ),
        (&operator, dispatch.clone()),
    ];
    for _ in 0..returns {
        steps.push((
            &wj,
            CaseAction::Return(ReasonBody {
                reason: "不属于本部门职责".into(),
            }),
        ));
        steps.push((&operator, dispatch.clone()));
    }
    if returns > 0 {
        // The last dispatch is refused: the case awaits a ruling.
        steps.pop();
    }
    for (n, (who, action)) in steps.iter().enumerate() {
        store
            .act(
                rec.id,
                None,
                action,
                who,
                t0 + chrono::Duration::seconds(10 * (n as i64 + 1)),
                None,
                e2e::no_answer,
            )
            .await
            .expect("act");
    }
    store.close().await;
    Seeded {
        supervisor,
        department,
        reference: rec.reference.clone(),
        id: rec.id,
        health: health.id,
        transport: transport.id,
    }
}

/// Polls the server until `pred` holds for the case; panics with it after `WAIT`.
fn server_until(
    rt: &tokio::runtime::Runtime,
    client: &Client,
    id: i64,
    what: &str,
    pred: impl Fn(&CaseDetail) -> bool,
) -> CaseDetail {
    let deadline = Instant::now() + WAIT;
    loop {
        let d = rt.block_on(client.case(id)).expect("case");
        if pred(&d) {
            return d;
        }
        if Instant::now() > deadline {
            panic!("timed out waiting for {what}: {:?}", d.case);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn console(name: &str, dir: &std::path::Path, url: &str, token: &str) -> Tmux {
    Tmux::console(
        name,
        &dir.join(name),
        &["--server", url, "--token", token, "--lang", "en"],
        "en_US.UTF-8",
    )
}

#[test]
fn a_department_works_a_case_and_a_supervisor_grants_more_time_by_keys() {
    require_tmux();
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite:{}", dir.path().join("desk.db").display());
    let rt = runtime();
    let s = rt.block_on(seed(&db, 0));
    let server = Server::start(&db, "127.0.0.1:0");
    let client = Client::new(&server.url, &s.supervisor).expect("client");

    let dept = console("dept", dir.path(), &server.url, &s.department);
    // Its own case, with the keys a department may use on it.
    dept.wait_for("the department's queue", |sc| {
        sc.contains(&s.reference) && sc.contains("s sign for") && !sc.contains("a assign")
    });
    dept.keys(&["s"]);
    server_until(&rt, &client, s.id, "signed for", |d| {
        d.case.status == Status::InProgress
    });

    dept.wait_for("the progress key", |sc| sc.contains("P progress"));
    dept.keys(&["P"]);
    dept.wait_text("What has been done:");
    dept.text("已联系家属，车辆已出发");
    dept.keys(&["C-s"]);
    server_until(&rt, &client, s.id, "a progress event", |d| {
        d.events
            .iter()
            .any(|e| e.action == "progress" && e.payload["text"] == "已联系家属，车辆已出发")
    });

    dept.wait_for("the form closed", |sc| !sc.contains("What has been done:"));
    dept.keys(&["e"]);
    dept.wait_text("New time:");
    dept.text("+6h");
    dept.keys(&["Tab"]);
    dept.text("透析中心改约");
    dept.keys(&["C-s"]);
    let asked = server_until(&rt, &client, s.id, "a pending extension", |d| {
        d.case.pending_extension.is_some()
    });
    let pending = asked.case.pending_extension.expect("pending");
    assert_eq!(pending.reason, "透析中心改约");
    assert_eq!(pending.requested_by, "wj-zhang");
    // The department sees its request pending in the detail pane.
    dept.keys(&["Enter"]);
    dept.wait_text("Extension asked until");

    let sup = console("sup", dir.path(), &server.url, &s.supervisor);
    sup.wait_for("the board with one extension request", |sc| {
        sc.contains("[2 Overdue]") && sc.contains("Extension requests 1")
    });
    // `]` three times: follow-ups, awaiting ruling, extension requests.
    sup.keys(&["]", "]", "]"]);
    sup.wait_for("the extension list with the case", |sc| {
        sc.contains("▸ Extension requests 1") && sc.contains(&s.reference)
    });
    sup.keys(&["e"]);
    sup.wait_text("(●) approve");
    sup.keys(&["Enter"]);
    let decided = server_until(&rt, &client, s.id, "the extension approved", |d| {
        d.case.extension_count == 1 && d.case.pending_extension.is_none()
    });
    let feedback = decided
        .case
        .deadlines
        .iter()
        .find(|d| d.clock == jieyou::wire::ClockKind::Feedback)
        .expect("feedback deadline");
    assert_eq!(feedback.due_at, pending.until, "the new feedback deadline");
    dept.wait_text("approved by sup-zhao");

    dept.keys(&["d"]);
    dept.wait_text("The result, as the citizen will hear it:");
    dept.text("已送达透析中心");
    dept.keys(&["C-s"]);
    let resolved = server_until(&rt, &client, s.id, "resolved", |d| {
        d.case.status == Status::Resolved
    });
    let event = resolved
        .events
        .iter()
        .find(|e| e.action == "resolve")
        .expect("a resolve event");
    assert_eq!(event.actor, "wj-zhang");
    assert_eq!(event.payload["text"], "已送达透析中心");
}

#[test]
fn a_supervisor_rules_on_a_case_returned_three_times_by_keys() {
    require_tmux();
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite:{}", dir.path().join("desk.db").display());
    let rt = runtime();
    let s = rt.block_on(seed(&db, 3));
    let server = Server::start(&db, "127.0.0.1:0");
    let client = Client::new(&server.url, &s.supervisor).expect("client");
    let before = rt.block_on(client.case(s.id)).expect("case").case;
    assert!(
        before.awaiting_ruling,
        "seeded case awaits a ruling: {before:?}"
    );
    assert_eq!((before.return_count, before.status), (3, Status::Triaged));

    let sup = console("rule", dir.path(), &server.url, &s.supervisor);
    sup.wait_for("the board with one case awaiting a ruling", |sc| {
        sc.contains("[2 Overdue]") && sc.contains("Awaiting ruling 1")
    });
    sup.keys(&["]", "]"]);
    sup.wait_for("the ruling list with the case", |sc| {
        sc.contains("▸ Awaiting ruling 1") && sc.contains(&s.reference)
    });
    // The ruling: dispatch it to another department (交通运输局, by its pinyin initials).
    sup.keys(&["a"]);
    sup.wait_text("Type to filter");
    sup.text("jtys");
    sup.keys(&["Enter"]);
    let ruled = server_until(&rt, &client, s.id, "the ruling", |d| {
        d.case.status == Status::Dispatched
    });
    assert!(!ruled.case.awaiting_ruling);
    assert_eq!(ruled.case.department_id, Some(s.transport));
    assert_ne!(ruled.case.department_id, Some(s.health));
    let event = ruled.events.last().expect("an event");
    assert_eq!(
        (event.action.as_str(), event.actor.as_str()),
        ("dispatch", "sup-zhao")
    );
    sup.wait_text("Awaiting ruling 0");
}
