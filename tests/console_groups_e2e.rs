//! Similar requests end to end: five villagers ask when their village reopens, the real
//! console in tmux shows them as one untriaged row `×5`, and the operator answers the group
//! with one library answer in a handful of keys (`o`, a few letters of its pinyin initials,
//! Enter, Ctrl-S). The server then shows five answered cases, each with its own
//! `answer-online` event, its own reply filled with its requester's name, and the library
//! answer it came from. Every wait polls with a bounded deadline.

#![cfg(unix)]

mod e2e;

use std::time::{Duration, Instant};

use e2e::{Server, Tmux, WAIT, require_tmux, runtime, user_add};
use jieyou::client::{Client, new_idempotency_key};
use jieyou::wire::{Channel, Location, NewAnswer, NewCase, Requester, Status};

const CALLS: [(&str, &str, &str, &str); 5] = [
    (
        "葛大伯",
        "13819091086",
        "下庄村什么时候解封",
        "马金镇下庄村封了十天了，什么时候能解封？",
    ),
    (
        "葛大妈",
        "13757092087",
        "下庄村什么时候解封",
        "请问马金镇下庄村封了十天了，什么时候解封？",
    ),
    (
        "吴先生",
        "13587093088",
        "下庄村解封时间",
        "马金镇下庄村封了十天了，解封时间定了没有？",
    ),
    (
        "吴女士",
        "13675094089",
        "下庄村什么时候能解封",
        "我是马金镇下庄村的，封了十天了，什么时候能解封？",
    ),
    (
        "余大姐",
        "13905701096",
        "请问下庄村什么时候解封",
        "马金镇下庄村封控十天了，到底什么时候解封？",
    ),
];

#[test]
fn an_operator_answers_five_similar_requests_as_one_group() {
    require_tmux();
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite:{}", dir.path().join("desk.db").display());
    let operator = user_add(&db, "op-li", "operator");
    let intake = user_add(&db, "intake-wang", "intake");
    let supervisor = user_add(&db, "sup-zhao", "supervisor");
    let server = Server::start(&db, "127.0.0.1:0");
    let intake = Client::new(&server.url, &intake).expect("client");
    let supervisor = Client::new(&server.url, &supervisor).expect("client");
    let rt = runtime();
    // Another answer first, so the operator has to find the right one.
    for (title, body) in [
        (
            "出村通行证办理",
            "{requester}您好：通行证请到{town}便民服务中心办理。",
        ),
        (
            "村庄解封时间",
            "{requester}您好：下庄村解封时间以{town}政府通告为准。",
        ),
    ] {
        let new = NewAnswer {
            title: title.into(),
            body: body.into(),
            category: None,
            tags: vec![],
            valid_from: None,
            valid_until: None,
        };
        rt.block_on(supervisor.create_answer(&new, &new_idempotency_key()))
            .expect("library answer");
    }
    let mut ids = vec![];
    let mut refs = vec![];
    for (name, phone, title, text) in CALLS {
        let new = NewCase {
            channel: Channel::Hotline12345,
            category: "policy_question".into(),
            title: title.into(),
            description: text.into(),
            requester: Requester {
                name: name.into(),
                phone: phone.into(),
            },
            location: Location {
                town: "马金镇".into(),
                address: "下庄村".into(),
                lat: None,
                long: None,
            },
        };
        let created = rt
            .block_on(intake.create_case(&new, &new_idempotency_key()))
            .expect("case created");
        ids.push(created.case.id);
        refs.push(created.case.reference);
    }

    let tmux = Tmux::console(
        "groups",
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
    let screen = tmux.wait_for("one row for the five requests", |s| {
        s.contains("×5 下庄村什么时候解封")
    });
    for r in &refs[1..] {
        assert!(
            !screen.contains(r.as_str()),
            "{r} is inside the group's row:\n{screen}"
        );
    }
    assert!(screen.contains("Untriaged 5"), "{screen}");

    tmux.keys(&["o"]);
    tmux.wait_text("Answer 5 similar requests");
    tmux.wait_text("村庄解封时间");
    // Pinyin initials of 村庄解封 pick the answer; Enter inserts its template, which the
    // server fills for each requester.
    tmux.text("czjf");
    tmux.keys(&["Enter"]);
    tmux.wait_text("{requester}您好：下庄村解封时间以{town}政府通告为准。");
    tmux.keys(&["C-s"]);
    tmux.wait_text("Answered 5 of 5");

    let deadline = Instant::now() + WAIT;
    for (id, (name, ..)) in ids.iter().zip(CALLS) {
        let detail = loop {
            let d = rt.block_on(intake.case(*id)).expect("case");
            if d.case.status == Status::Resolved || Instant::now() > deadline {
                break d;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        assert_eq!(detail.case.status, Status::Resolved, "case {id}");
        let answers: Vec<_> = detail
            .events
            .iter()
            .filter(|e| e.action == "answer-online")
            .collect();
        assert_eq!(answers.len(), 1, "one answer event on case {id}");
        assert_eq!(answers[0].actor, "op-li");
        assert_eq!(
            answers[0].payload["text"],
            format!("{name}您好：下庄村解封时间以马金镇政府通告为准。")
        );
        assert_eq!(answers[0].payload["answer"]["version"], 1, "case {id}");
    }
    tmux.wait_for("the untriaged pane empty", |s| s.contains("Untriaged 0"));
}
