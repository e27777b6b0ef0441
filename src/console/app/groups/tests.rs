//! The untriaged pane's groups through `App::update`: one row per group, expanding and
//! collapsing, answering and merging a group in one request, and reading the answer.

use crossterm::event::KeyCode;

use super::*;
use crate::console::fixtures::{self, detail};
use crate::console::i18n::Lang;
use crate::console::test_keys::{code, ctrl, key, select, typed};
use crate::wire::{GroupCaseResult, Problem};

fn app() -> App {
    fixtures::app_with(Lang::En, fixtures::grouped_cases())
}

#[test]
fn a_group_is_one_row_with_its_count_until_expanded() {
    let mut app = app();
    assert_eq!(app.queues[0].ids().collect::<Vec<_>>(), vec![10, 20]);
    assert_eq!(app.group_row(10), Some((5, "出村通行证怎么办理")));
    assert_eq!(app.group_members(10), vec![10, 11, 12, 13, 14]);
    select(&mut app, 10);
    app.update(code(KeyCode::Right));
    assert_eq!(
        app.queues[0].ids().collect::<Vec<_>>(),
        vec![10, 11, 12, 13, 14, 20]
    );
    assert_eq!(app.group_row(10), None);
    // Any case of the expanded group collapses it again.
    app.update(key('j'));
    assert_eq!(app.selected_id, Some(11));
    assert_eq!(app.group_members(11), vec![10, 11, 12, 13, 14]);
    app.update(code(KeyCode::Right));
    assert_eq!(app.queues[0].ids().collect::<Vec<_>>(), vec![10, 20]);
}

#[test]
fn a_triaged_anchor_leaves_its_members_grouped_under_the_most_urgent() {
    let mut cases = fixtures::grouped_cases();
    cases[0].tier = Some(crate::wire::Tier::Blue);
    cases[0].status = Status::Triaged;
    let app = fixtures::app_with(Lang::En, cases);
    assert_eq!(app.queues[0].ids().collect::<Vec<_>>(), vec![11, 20]);
    assert_eq!(app.group_row(11), Some((4, "金星村通行证在哪里办")));
}

#[test]
fn answering_a_group_row_sends_one_request_for_every_case() {
    let mut app = app();
    select(&mut app, 10);
    typed(&mut app, "o");
    app.update(Action::Paste("{requester}您好：请到村委会办理".into()));
    let effects = app.update(ctrl('s'));
    let [Effect::AnswerGroup { body, .. }] = effects.as_slice() else {
        panic!("one group request, got {effects:?}");
    };
    assert_eq!(
        body.cases
            .iter()
            .map(|c| (c.id, c.version))
            .collect::<Vec<_>>(),
        vec![(10, 1), (11, 1), (12, 1), (13, 1), (14, 1)]
    );
    assert_eq!(body.text, "{requester}您好：请到村委会办理");
    assert!(matches!(app.mode, Mode::Normal));
    // `o` on a single case is the ordinary answer.
    select(&mut app, 20);
    typed(&mut app, "o");
    app.update(Action::Paste("已安排".into()));
    let effects = app.update(ctrl('s'));
    assert!(matches!(
        effects.as_slice(),
        [Effect::Act { case_id: 20, .. }]
    ));
}

#[test]
fn the_answer_updates_every_case_and_says_how_many_were_done() {
    let mut app = app();
    let effects = app.answer_group(vec![10, 11, 12], "请到村委会办理".into(), None);
    let [Effect::AnswerGroup { request, .. }] = effects.as_slice() else {
        panic!("{effects:?}");
    };
    let answered = |id: i64| {
        let mut c = app.cases[&id].clone();
        c.status = Status::Resolved;
        c.version = 2;
        GroupCaseResult {
            id,
            status: 200,
            case: Some(detail(&c)),
            problem: None,
        }
    };
    let mut moved = app.cases[&11].clone();
    moved.version = 2;
    moved.claimed_by = Some("op-zhao".into());
    let stale = GroupCaseResult {
        id: 11,
        status: 412,
        case: None,
        problem: Some(Problem {
            kind: "https://jieyou.example/problems/stale-version".into(),
            title: "The case has changed".into(),
            status: 412,
            detail: String::new(),
            errors: vec![],
            current: Some(Box::new(detail(&moved))),
            current_department: None,
        }),
    };
    let outcome = GroupOutcome {
        results: vec![answered(10), stale, answered(12)],
        done: 2,
        failed: 1,
    };
    app.update(Action::GroupDone {
        request: *request,
        outcome,
    });
    assert_eq!(app.cases[&10].status, Status::Resolved);
    assert_eq!(app.cases[&12].status, Status::Resolved);
    assert_eq!(app.cases[&11].claimed_by.as_deref(), Some("op-zhao"));
    let message = app.message.as_ref().unwrap();
    assert_eq!(message.text, "Answered 2 of 3 · 1 changed meanwhile");
    assert_eq!(message.level, Level::Error);
    // The cases left in the queue are still a group: 11, 13 and 14.
    assert_eq!(app.group_members(11), vec![11, 13, 14]);
}

#[test]
fn an_unsent_group_answer_is_kept_as_the_draft() {
    let mut app = app();
    select(&mut app, 10);
    typed(&mut app, "o");
    app.update(Action::Paste("请到村委会办理".into()));
    let effects = app.update(ctrl('s'));
    let [Effect::AnswerGroup { request, .. }] = effects.as_slice() else {
        panic!("{effects:?}");
    };
    app.update(Action::GroupFailed {
        request: *request,
        error: crate::client::ClientError::Unreachable("refused".into()),
    });
    assert_eq!(app.message.as_ref().unwrap().level, Level::Error);
    typed(&mut app, "o");
    let Mode::Text(f) = &app.mode else {
        panic!("the answer form");
    };
    assert_eq!(f.text.as_str(), "请到村委会办理");
}

#[test]
fn merging_asks_which_case_to_keep_the_anchor_first() {
    let mut app = app();
    select(&mut app, 10);
    typed(&mut app, "m");
    let Mode::Merge(f) = &app.mode else {
        panic!("the merge dialog");
    };
    assert_eq!((f.members.clone(), f.keep), (vec![10, 11, 12, 13, 14], 0));
    app.update(key('j'));
    let effects = app.update(code(KeyCode::Enter));
    let [Effect::MergeGroup { body, .. }] = effects.as_slice() else {
        panic!("{effects:?}");
    };
    assert_eq!(body.into, 11);
    assert_eq!(
        body.cases.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![10, 12, 13, 14]
    );
    // On a single case there is nothing to merge.
    select(&mut app, 20);
    typed(&mut app, "m");
    assert!(matches!(app.mode, Mode::Normal));
}
