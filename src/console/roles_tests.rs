//! Keys that fit the role: what each role is offered on each case, the department's actions,
//! the supervisor's lists, refusals in the UI's language. `App::update` only; no terminal.

use chrono::Duration;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::client::ClientError;
use crate::console::action::{Action, Effect};
use crate::console::app::supervision::SupPane;
use crate::console::app::*;
use crate::console::command::Command;
use crate::console::fixtures::{self, now};
use crate::console::i18n::{I18n, Lang};
use crate::console::test_keys::{acts, code, ctrl, key, select, typed as keys};
use crate::wire::{Case, CaseAction, Me, Problem, Role, Status, Tier};

fn user(name: &str, role: Role, department_id: Option<i64>) -> Me {
    Me {
        name: name.into(),
        role,
        department_id,
        ..fixtures::me()
    }
}
fn message(app: &App) -> String {
    app.message
        .as_ref()
        .map(|m| m.text.clone())
        .unwrap_or_default()
}

/// One case in each state a desk sees, held (when held) by 卫健局 (3).
fn case_in(status: Status) -> Case {
    let tier = (status != Status::New).then_some(Tier::Orange);
    let dept = matches!(status, Status::Dispatched | Status::InProgress).then_some(3);
    fixtures::case(500, tier, status, 1800, "测试工单", "马金镇", dept, None)
}

const CASE_COMMANDS: [Command; 14] = [
    Command::Triage,
    Command::Assign,
    Command::Claim,
    Command::Answer,
    Command::Note,
    Command::Urge,
    Command::Extension,
    Command::FollowUp,
    Command::SignFor,
    Command::Progress,
    Command::Resolve,
    Command::Return,
    Command::RequestExtension,
    Command::NewCase,
];

/// The table: for each role and state, exactly the commands offered on the selected case.
#[test]
fn each_role_is_offered_what_the_server_allows_in_each_state() {
    use Command::*;
    use Status::*;
    let operator = user("op-li", Role::Operator, None);
    let supervisor = user("sup-zhao", Role::Supervisor, None);
    let intake = user("in-wang", Role::Intake, None);
    let wj = user("wj-zhang", Role::Department, Some(3));
    let other_dept = user("mj-li", Role::Department, Some(1));
    let observer = user("obs", Role::Observer, None);
    let table: Vec<(&Me, Status, Vec<Command>)> = vec![
        (
            &operator,
            New,
            vec![Triage, Assign, Claim, Answer, Note, NewCase],
        ),
        (
            &operator,
            Triaged,
            vec![Triage, Assign, Claim, Answer, Note, NewCase],
        ),
        // Only a supervisor reassigns or urges a case a department holds.
        (&operator, Dispatched, vec![Triage, Claim, Note, NewCase]),
        (
            &supervisor,
            Dispatched,
            vec![Triage, Assign, Claim, Note, Urge, NewCase],
        ),
        (
            &supervisor,
            InProgress,
            vec![Triage, Assign, Claim, Note, Urge, Resolve, NewCase],
        ),
        (
            &supervisor,
            Resolved,
            vec![Triage, Claim, Note, FollowUp, NewCase],
        ),
        (&intake, New, vec![Note, NewCase]),
        (&intake, Triaged, vec![Note, NewCase]),
        (
            &wj,
            Dispatched,
            vec![Note, SignFor, Return, RequestExtension],
        ),
        (
            &wj,
            InProgress,
            vec![Note, Progress, Resolve, Return, RequestExtension],
        ),
        (&other_dept, InProgress, vec![]),
        (&observer, New, vec![]),
        (&observer, InProgress, vec![]),
    ];
    for (me, status, expected) in table {
        let mut app = fixtures::app_as(Lang::En, me.clone(), vec![case_in(status)]);
        if me.department_id.is_some() && app.cases.is_empty() {
            // Another department's feed never carries the case; offer nothing on it anyway.
            app.cases.insert(500, Box::new(case_in(status)));
            app.selected_id = Some(500);
        }
        app.selected_id = Some(500);
        let offered: Vec<Command> = CASE_COMMANDS
            .into_iter()
            .filter(|c| app.offered(*c))
            .collect();
        assert_eq!(offered, expected, "{:?} on a {status:?} case", me.role);
    }
}

#[test]
fn a_key_the_role_may_not_use_only_says_so() {
    // The operator on a dispatched case: `u` used to open the urge dialog, then 403.
    let mut app = fixtures::app(Lang::En);
    select(&mut app, 42);
    let effects = app.update(key('u'));
    assert!(effects.is_empty(), "{effects:?}");
    assert!(matches!(app.mode, Mode::Normal));
    assert_eq!(
        message(&app),
        "“urge the department” is not available to your role."
    );
    // The observer never gets the new-case form.
    let mut app = fixtures::app_as(
        Lang::En,
        user("obs", Role::Observer, None),
        fixtures::sample_cases(),
    );
    assert!(app.update(key('n')).is_empty());
    assert!(matches!(app.mode, Mode::Normal));
    // Intake staff: `t r` neither opens the tier choice nor sends.
    let mut app = fixtures::app_as(
        Lang::ZhCn,
        user("in-wang", Role::Intake, None),
        fixtures::sample_cases(),
    );
    // Intake opens on the new-case form; put it aside first.
    app.update(Action::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)));
    select(&mut app, 134);
    assert!(keys(&mut app, "tr").is_empty());
    assert!(matches!(app.mode, Mode::Normal));
    assert_eq!(message(&app), "您的角色不能使用“分类 / 调整等级”。");
}

#[test]
fn a_key_not_possible_in_this_state_says_which_state() {
    let mut app = fixtures::app(Lang::En);
    // 102 is in progress at a department: no dispatch from the operator's desk.
    select(&mut app, 102);
    assert!(app.update(key('o')).is_empty());
    assert!(matches!(app.mode, Mode::Normal));
    assert_eq!(
        message(&app),
        "“answer online” is not possible while KH-20220508-0102 is in progress."
    );
}

#[test]
fn assign_on_an_untriaged_case_asks_the_tier_first_then_dispatches() {
    let mut app = fixtures::app(Lang::En);
    select(&mut app, 134);
    assert!(app.update(key('a')).is_empty());
    assert!(matches!(
        app.mode,
        Mode::Tier {
            case_id: 134,
            retier: false
        }
    ));
    let effects = app.update(key('r'));
    let sent = acts(&effects);
    assert_eq!(sent.len(), 1);
    let (triage, id, version, action) = sent[0].clone();
    assert_eq!((id, version), (134, 1));
    assert!(matches!(action, CaseAction::Triage(b) if b.tier == Tier::Red));
    assert!(matches!(&app.mode, Mode::Picker(p) if p.case_id == 134));
    // `w j j` finds 卫健局 by its pinyin initials; Enter queues the dispatch behind the triage.
    let effects: Vec<Effect> = keys(&mut app, "wjj")
        .into_iter()
        .chain(app.update(code(KeyCode::Enter)))
        .collect();
    assert!(acts(&effects).is_empty(), "one request at a time");
    let mut triaged = app.cases[&134].clone();
    triaged.tier = Some(Tier::Red);
    triaged.status = Status::Triaged;
    triaged.version = 2;
    let effects = app.update(Action::ActionDone {
        request: triage,
        case: Box::new(fixtures::detail(&triaged)),
    });
    let sent = acts(&effects);
    assert_eq!(sent.len(), 1, "{effects:?}");
    let (_, id, version, action) = sent[0].clone();
    assert_eq!((id, version), (134, 2));
    assert!(matches!(action, CaseAction::Dispatch(b) if b.department_id == 3));
}

#[test]
fn a_department_signs_for_records_progress_resolves_returns_and_asks_for_time() {
    let mut app = fixtures::department_app(Lang::En);
    // Its own cases, each in its tier pane: nothing untriaged.
    assert!(app.queues[0].is_empty());
    assert_eq!(app.queues[1].ids().collect::<Vec<_>>(), vec![42]);
    select(&mut app, 42);
    let sent = acts(&app.update(key('s')));
    assert!(
        matches!(sent.as_slice(), [(_, 42, 1, CaseAction::SignFor(_))]),
        "{sent:?}"
    );
    // Signing for is not possible again, nor resolving before signing.
    let mut app = fixtures::department_app(Lang::En);
    select(&mut app, 42);
    assert!(app.update(key('d')).is_empty());
    assert!(matches!(app.mode, Mode::Normal));

    select(&mut app, 61);
    app.update(key('P'));
    assert!(matches!(&app.mode, Mode::Text(f) if f.kind == TextKind::Progress));
    keys(&mut app, "called the clinic");
    let sent = acts(&app.update(ctrl('s')));
    assert!(
        matches!(&sent[..], [(_, 61, 1, CaseAction::Progress(b))] if b.text == "called the clinic"),
        "{sent:?}"
    );

    let mut app = fixtures::department_app(Lang::En);
    select(&mut app, 61);
    app.update(key('d'));
    keys(&mut app, "queue split in two");
    let sent = acts(&app.update(ctrl('s')));
    assert!(
        matches!(&sent[..], [(_, 61, 1, CaseAction::Resolve(b))] if b.text == "queue split in two")
    );

    // A return needs its reason: nothing is sent without one.
    let mut app = fixtures::department_app(Lang::En);
    select(&mut app, 61);
    app.update(key('x'));
    assert!(app.update(ctrl('s')).is_empty());
    assert!(
        matches!(&app.mode, Mode::Text(f) if f.error.as_deref() == Some("A reason is required."))
    );
    keys(&mut app, "not ours: 交通运输局");
    let sent = acts(&app.update(ctrl('s')));
    assert!(
        matches!(&sent[..], [(_, 61, 1, CaseAction::Return(b))] if b.reason == "not ours: 交通运输局")
    );

    // More time: the new time first (checked here), Tab, the reason.
    let mut app = fixtures::department_app(Lang::En);
    select(&mut app, 61);
    app.update(key('e'));
    assert!(matches!(&app.mode, Mode::Text(f) if f.kind == TextKind::Extension && f.until_focus));
    keys(&mut app, "+2x");
    app.update(code(KeyCode::Tab));
    keys(&mut app, "waiting for the city");
    assert!(app.update(ctrl('s')).is_empty());
    assert!(
        matches!(&app.mode, Mode::Text(f) if f.error.as_deref().is_some_and(|e| e.contains("+2h")))
    );
    // Not later than the current feedback deadline (in 50 minutes): refused before sending.
    app.update(code(KeyCode::Tab));
    app.update(code(KeyCode::Backspace));
    keys(&mut app, "m");
    assert!(app.update(ctrl('s')).is_empty());
    for _ in 0..3 {
        app.update(code(KeyCode::Backspace));
    }
    keys(&mut app, "+2h");
    let sent = acts(&app.update(ctrl('s')));
    let [(_, 61, 1, CaseAction::RequestExtension(b))] = &sent[..] else {
        panic!("{sent:?}");
    };
    assert_eq!(b.reason, "waiting for the city");
    let server_now = now() + Duration::seconds(fixtures::SERVER_AHEAD_SECONDS);
    assert_eq!(
        b.until,
        (server_now + Duration::hours(2)).with_timezone(&app.server_zone)
    );

    // A request already pending: `e` does not open another.
    let mut app = fixtures::department_app(Lang::En);
    select(&mut app, 63);
    assert!(app.update(key('e')).is_empty());
    assert!(matches!(app.mode, Mode::Normal));
    assert!(message(&app).contains("not possible"), "{}", message(&app));
}

#[test]
fn extension_times_read_relative_and_wall_clock() {
    use crate::console::permissions::{UntilError, parse_until};
    let c = &fixtures::department_cases()[0];
    let zone = fixtures::zone();
    // 21:14 at the desk; feedback due in 50 minutes.
    let n = now();
    assert_eq!(
        parse_until("+90m", n, zone, c),
        Ok((n + Duration::minutes(90)).with_timezone(&zone))
    );
    assert_eq!(parse_until("+30m", n, zone, c), Err(UntilError::NotLater));
    let at = parse_until("23:30", n, zone, c).map(|t| t.format("%d %H:%M").to_string());
    assert_eq!(at, Ok("08 23:30".into()));
    let at = parse_until("09:00", n, zone, c).map(|t| t.format("%d %H:%M").to_string());
    assert_eq!(
        at,
        Ok("09 09:00".into()),
        "tomorrow when the time has passed today"
    );
    assert_eq!(parse_until("soon", n, zone, c), Err(UntilError::Unreadable));
}

#[test]
fn the_supervisor_lists_fill_and_an_arrival_rings() {
    let mut app = fixtures::ruling_app(Lang::En);
    assert_eq!(app.sup.ruling.ids().collect::<Vec<_>>(), vec![77]);
    assert_eq!(app.sup.extensions.ids().collect::<Vec<_>>(), vec![42]);
    assert_eq!(app.sup.returned.ids().collect::<Vec<_>>(), vec![57]);
    // `]` walks the panes: follow-ups, then the three lists.
    for pane in [SupPane::FollowUps, SupPane::Ruling] {
        app.update(key(']'));
        assert_eq!(app.sup.pane, pane);
    }
    assert_eq!(app.selected_id, Some(77));
    // Ruling: the supervisor may dispatch a case the operators may not.
    app.update(key('a'));
    assert!(matches!(&app.mode, Mode::Picker(p) if p.case_id == 77));
    app.update(code(KeyCode::Esc));

    // A case returned for the third time arrives, and an extension request: both ring once.
    let mut again = fixtures::case(
        120,
        Some(Tier::Blue),
        Status::Triaged,
        12000,
        "核酸检测点开放时间",
        "马金镇",
        None,
        None,
    );
    again.version = 2;
    again.return_count = 3;
    again.awaiting_ruling = true;
    let mut asked = app.cases[&101].clone();
    asked.version = 2;
    asked.pending_extension = Some(crate::wire::PendingExtension {
        until: asked.received_at + Duration::hours(9),
        reason: "奶粉需从省里调".into(),
        requested_by: "bg-chen".into(),
        requested_at: asked.received_at + Duration::hours(1),
    });
    let effects = app.update(Action::FeedLoaded {
        changes: fixtures::changes(vec![again.clone(), *asked], false, "c2"),
        received_at: now(),
    });
    let body: Vec<String> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Alarm(a) => Some(a.body.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(body.len(), 1, "{effects:?}");
    assert!(
        body[0].contains("KH-20220508-0120 returned 3 times"),
        "{}",
        body[0]
    );
    assert!(
        body[0].contains("KH-20220508-0101: extension requested"),
        "{}",
        body[0]
    );
    assert_eq!(app.sup.ruling.ids().collect::<Vec<_>>(), vec![77, 120]);
    assert_eq!(app.sup.extensions.len(), 2);
    // The same state again does not ring again.
    again.version = 3;
    let effects = app.update(Action::FeedLoaded {
        changes: fixtures::changes(vec![again], false, "c3"),
        received_at: now(),
    });
    assert!(!effects.iter().any(|e| matches!(e, Effect::Alarm(_))));
}

#[test]
fn reassigning_a_held_case_asks_for_the_reason() {
    let mut app = fixtures::supervisor_app(Lang::En);
    app.update(key('1'));
    select(&mut app, 102);
    app.update(key('a'));
    assert!(matches!(&app.mode, Mode::Picker(_)));
    keys(&mut app, "wjj");
    assert!(app.update(code(KeyCode::Enter)).is_empty());
    assert!(matches!(&app.mode, Mode::Text(f) if f.kind == TextKind::Reassign(3)));
    keys(&mut app, "池淮镇 has no clinic");
    let sent = acts(&app.update(ctrl('s')));
    assert!(
        matches!(&sent[..], [(_, 102, 1, CaseAction::Dispatch(b))]
            if b.department_id == 3 && b.note.as_deref() == Some("池淮镇 has no clinic")),
        "{sent:?}"
    );
}

#[test]
fn a_department_row_drills_down_to_its_cases_and_esc_comes_back() {
    let mut app = fixtures::supervisor_app(Lang::En);
    app.update(key('3'));
    let rows = app.department_rows(now());
    let target = rows.iter().position(|r| r.department_id == 3).unwrap();
    for _ in 0..target {
        app.update(key('j'));
    }
    app.update(code(KeyCode::Enter));
    assert_eq!(app.view, View::Queue);
    let listed: Vec<i64> = app.queues.iter().flat_map(|q| q.ids()).collect();
    assert_eq!(listed, vec![42]);
    app.update(code(KeyCode::Esc));
    assert_eq!(app.view, View::Departments);
    assert!(app.queues.iter().map(|q| q.len()).sum::<usize>() > 1);
}

#[test]
fn refusals_read_in_the_ui_language() {
    let mut app = fixtures::app(Lang::ZhCn);
    select(&mut app, 119);
    let effects = app.update(key('c'));
    let (request, ..) = acts(&effects)[0].clone();
    app.update(Action::ActionFailed {
        request,
        error: ClientError::Api(Box::new(Problem {
            kind: "https://jieyou.invalid/problems/state-conflict".into(),
            title: "Not allowed in this state".into(),
            status: 409,
            detail: "case is claimed by op-wang".into(),
            errors: vec![],
            current: None,
            current_department: None,
        })),
    });
    assert_eq!(
        message(&app),
        "服务器拒绝了“认领”：工单当前为已分类，不能执行此操作 (409)"
    );
    // A type this console does not know: the server's own words.
    let p = Problem {
        kind: "https://jieyou.invalid/problems/quota".into(),
        title: "Quota".into(),
        status: 429,
        detail: "too many requests".into(),
        errors: vec![],
        current: None,
        current_department: None,
    };
    assert_eq!(
        app.error_text(&ClientError::Api(Box::new(p))),
        "too many requests (429)"
    );
}

#[test]
fn durations_read_in_chinese_units() {
    let zh = I18n::new(Lang::ZhCn);
    assert_eq!(zh.duration(2533), "42分13秒");
    assert_eq!(zh.duration(-7500), "2小时05分");
    assert_eq!(zh.duration(45), "45秒");
    assert_eq!(I18n::new(Lang::En).duration(2533), "42m13s");
}
