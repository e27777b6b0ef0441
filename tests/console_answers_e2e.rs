//! The answer library end to end: a database seeded in-process with a blue case and a small
//! library, `jieyou serve` on it, and the real console in tmux signed in as an operator, who
//! answers the case with a library answer found by pinyin initials: `o`, `t` `x` `z`, Enter,
//! Ctrl-S — six keys. The server's case then holds the answer's reference and the text filled
//! from the case. Every wait polls with a bounded deadline.

#![cfg(unix)]

mod e2e;

use std::time::{Duration, Instant};

use chrono::Utc;
use e2e::{Server, Tmux, WAIT, require_tmux, runtime};
use jieyou::client::Client;
use jieyou::domain::Actor;
use jieyou::server::Store;
use jieyou::wire::{CaseAction, NewAnswer, Policy, Role, Status, Tier, TierBody};

/// Seeds `db`: an operator (whose token is returned), a blue case received a few minutes ago
/// and two library answers; returns (token, case id, the dialysis answer's id).
async fn seed(db: &str) -> (String, i64, i64) {
    let store = Store::open(db, "KH", chrono_tz::Asia::Shanghai, Policy::default())
        .await
        .expect("store opens");
    let token = store
        .add_user("op-li", Role::Operator, None)
        .await
        .expect("operator");
    let supervisor = Actor {
        name: "sup-chen".into(),
        role: Role::Supervisor,
        department_id: None,
    };
    let operator = Actor {
        name: "op-li".into(),
        role: Role::Operator,
        department_id: None,
    };
    let t0 = Utc::now() - chrono::Duration::minutes(5);
    let mut dialysis = 0;
    for (title, tags, body) in [
        (
            "送药上门的药店",
            vec!["买药", "药店"],
            "{town}天天大药房可送药上门，电话预约。",
        ),
        (
            "透析患者出行通行证",
            vec!["透析", "通行证"],
            "{requester}您好：{town}的透析患者凭医院预约单到村（社区）申请通行证，工单{ref}。",
        ),
    ] {
        let new = NewAnswer {
            title: title.into(),
            body: body.into(),
            category: None,
            tags: tags.into_iter().map(str::to_string).collect(),
            valid_from: None,
            valid_until: None,
        };
        let a = store
            .create_answer(&new, &supervisor, t0)
            .await
            .expect("answer");
        dialysis = a.id;
    }
    let rec = e2e::seed_dialysis_case(&store, t0).await;
    store
        .act(
            rec.id,
            None,
            &CaseAction::Triage(TierBody {
                tier: Tier::Blue,
                note: None,
            }),
            &operator,
            t0 + chrono::Duration::minutes(1),
            None,
            e2e::no_answer,
        )
        .await
        .expect("triage");
    store.close().await;
    (token, rec.id, dialysis)
}

#[test]
fn an_operator_answers_a_blue_case_with_a_library_answer_in_six_keys() {
    require_tmux();
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite:{}", dir.path().join("desk.db").display());
    let rt = runtime();
    let (token, id, dialysis) = rt.block_on(seed(&db));
    let server = Server::start(&db, "127.0.0.1:0");
    let client = Client::new(&server.url, &token).expect("client");
    let case = rt.block_on(client.case(id)).expect("case").case;

    let tmux = Tmux::console(
        "answers",
        &dir.path().join("home"),
        &["--server", &server.url, "--token", &token, "--lang", "en"],
        "en_US.UTF-8",
    );
    tmux.wait_for("the blue case", |s| s.contains(&case.reference));

    tmux.keys(&["o"]);
    tmux.wait_for("the library in the editor", |s| {
        s.contains("Library:") && s.contains("透析患者出行通行证") && s.contains("送药上门的药店")
    });
    tmux.keys(&["t", "x", "z"]);
    tmux.wait_for("only the dialysis answer", |s| {
        s.contains("透析患者出行通行证") && !s.contains("送药上门的药店")
    });
    tmux.keys(&["Enter"]);
    tmux.wait_for("the filled text", |s| s.contains("葛先生您好"));
    tmux.keys(&["C-s"]);
    tmux.wait_for("the confirmation", |s| s.contains("Done:"));

    let deadline = Instant::now() + WAIT;
    let detail = loop {
        let d = rt.block_on(client.case(id)).expect("case");
        if d.case.status == Status::Resolved || Instant::now() > deadline {
            break d;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(detail.case.status, Status::Resolved);
    let answered = detail
        .events
        .iter()
        .find(|e| e.action == "answer-online")
        .expect("an answer-online event");
    assert_eq!(answered.actor, "op-li");
    assert_eq!(
        answered.payload["answer"],
        serde_json::json!({ "id": dialysis, "version": 1 })
    );
    assert_eq!(
        answered.payload["text"],
        format!(
            "葛先生您好：马金镇的透析患者凭医院预约单到村（社区）申请通行证，工单{}。",
            case.reference
        )
    );
    let used = rt
        .block_on(client.answer_cases(dialysis, 7))
        .expect("follow-up list");
    assert_eq!(used.cases.len(), 1);
    assert_eq!((used.cases[0].case_id, used.cases[0].version), (id, 1));
}
