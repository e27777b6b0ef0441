//! Supervision through `App::update`: the board, the dialogs, reassigning, the report's
//! refresh and the alarms. No terminal, no network.

use chrono::Duration;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::client::ClientError;
use crate::console::action::RequestId;
use crate::console::config::Alarms;
use crate::console::fixtures::{self, now};
use crate::console::i18n::{I18n, Lang};
use crate::console::test_keys::{code, key, typed};
use crate::wire::Problem;

fn sup() -> App {
    fixtures::supervisor_app(Lang::En)
}
fn acts(effects: &[Effect]) -> Vec<(RequestId, i64, i64, CaseAction, String)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Act {
                request,
                case_id,
                version,
                action,
                idempotency_key,
            } => Some((
                *request,
                *case_id,
                *version,
                action.clone(),
                idempotency_key.clone(),
            )),
            _ => None,
        })
        .collect()
}
fn alarms(effects: &[Effect]) -> Vec<Alarm> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Alarm(a) => Some(a.clone()),
            _ => None,
        })
        .collect()
}
fn feed(app: &mut App, cases: Vec<Case>, secs: i64) -> Vec<Effect> {
    let mut changes = fixtures::changes(cases, false, "c2");
    changes.server_time += Duration::seconds(secs);
    app.update(Action::FeedLoaded {
        changes,
        received_at: now() + Duration::seconds(secs),
    })
}
fn message(app: &App) -> String {
    app.message
        .as_ref()
        .map(|m| m.text.clone())
        .unwrap_or_default()
}

#[test]
fn a_supervisor_starts_on_the_overdue_board_red_first_then_latest() {
    let app = sup();
    assert_eq!(app.view, View::Overdue);
    let board: Vec<i64> = app.overdue_board(now()).iter().map(|r| r.case_id).collect();
    // Red 42 (3 min late) first; then orange 102 (an hour late), then the untriaged cases
    // with under 15 minutes left, soonest first. 101 (72 min left) is not on the board.
    assert_eq!(board, vec![42, 102, 134, 133, 135]);
    assert_eq!(app.overdue_board(now())[0].clock, ClockKind::SignFor);
    assert_eq!(app.selected_id, Some(42));
    // An operator keeps the queue as the first view.
    assert_eq!(fixtures::app(Lang::En).view, View::Queue);
}

#[test]
fn urge_confirms_with_an_optional_note_and_sends_version_and_key() {
    let mut app = sup();
    assert!(app.update(key('u')).is_empty());
    assert!(matches!(&app.mode, Mode::Sup(f) if f.kind == SupKind::Urge && f.case_id == 42));
    // Esc sends nothing.
    assert!(app.update(code(KeyCode::Esc)).is_empty());
    assert!(matches!(app.mode, Mode::Normal));
    app.update(key('u'));
    typed(&mut app, "请今晚回复");
    let effects = app.update(code(KeyCode::Enter));
    let sent = acts(&effects);
    assert_eq!(sent.len(), 1);
    let (_, id, version, action, idem) = sent[0].clone();
    assert_eq!((id, version), (42, 1));
    assert_eq!(
        action,
        CaseAction::Urge(NoteBody {
            note: Some("请今晚回复".into())
        })
    );
    assert!(!idem.is_empty());
    assert!(matches!(app.mode, Mode::Normal));
}

#[test]
fn a_412_on_an_urge_opens_the_conflict_dialog() {
    let mut app = sup();
    app.update(key('u'));
    let effects = app.update(code(KeyCode::Enter));
    let request = acts(&effects)[0].0;
    let mut current = app.cases[&42].clone();
    current.version = 2;
    current.department_id = Some(5);
    app.update(Action::ActionFailed {
        request,
        error: ClientError::Api(Box::new(Problem {
            kind: "about:blank".into(),
            title: "Precondition Failed".into(),
            status: 412,
            detail: "the case has changed".into(),
            errors: vec![],
            current: Some(Box::new(fixtures::detail(&current))),
            current_department: None,
        })),
    });
    assert!(
        matches!(&app.mode, Mode::Conflict { changes, .. } if changes.iter().any(|c| c.0 == "field.department"))
    );
    // Retrying goes out on the fresh version.
    let effects = app.update(code(KeyCode::Enter));
    assert_eq!(acts(&effects)[0].2, 2);
}

#[test]
fn extension_decision_shows_the_request_and_can_deny_with_a_note() {
    let mut app = sup();
    app.update(key('e'));
    let Mode::Sup(f) = &app.mode else {
        panic!("no dialog")
    };
    assert_eq!(f.kind, SupKind::Extension { approve: true });
    assert!(f.seen.pending_extension.is_some());
    app.update(code(KeyCode::Tab));
    typed(&mut app, "no");
    let effects = app.update(code(KeyCode::Enter));
    assert_eq!(
        acts(&effects)[0].3,
        CaseAction::DecideExtension(ExtensionDecisionBody {
            approve: false,
            note: Some("no".into())
        })
    );
    // A case without a request: a clear message, no dialog.
    let mut app = sup();
    app.update(key('j'));
    assert_eq!(app.selected_id, Some(102));
    assert!(app.update(key('e')).is_empty());
    assert!(matches!(app.mode, Mode::Normal));
    assert!(
        message(&app).contains("no extension request"),
        "{}",
        message(&app)
    );
}

#[test]
fn follow_up_queue_lists_resolved_cases_and_f_records_dissatisfied() {
    let mut app = sup();
    let queue = app.follow_up_queue(now());
    assert_eq!(queue.iter().map(|q| q.0).collect::<Vec<_>>(), vec![88, 89]);
    assert!(
        queue[0].1.is_some_and(|s| s < 0),
        "88 is past its follow-up clock"
    );
    assert_eq!(queue[1].1, None);
    // `f` on an open case explains itself.
    app.update(key('f'));
    assert!(matches!(app.mode, Mode::Normal));
    assert!(message(&app).contains("not resolved"));
    // `]` moves to the follow-up pane.
    app.update(key(']'));
    assert_eq!(app.selected_id, Some(88));
    app.update(key('f'));
    app.update(code(KeyCode::Tab));
    app.update(code(KeyCode::Tab));
    typed(&mut app, "药还没送到");
    let effects = app.update(code(KeyCode::Enter));
    let (_, id, _, action, _) = acts(&effects).remove(0);
    assert_eq!(id, 88);
    assert_eq!(
        action,
        CaseAction::FollowUp(FollowUpBody {
            result: Satisfaction::Dissatisfied,
            note: Some("药还没送到".into())
        })
    );
    app.update(key('j'));
    assert_eq!(app.selected_id, Some(89));
}

#[test]
fn reassigning_a_held_case_is_for_supervisors_only() {
    let mut app = sup();
    assert_eq!(app.selected_id, Some(42));
    assert!(app.update(key('a')).is_empty());
    let Mode::Picker(_) = &app.mode else {
        panic!("no picker")
    };
    typed(&mut app, "jtys");
    // Moving a case a department holds asks why, then sends.
    assert!(app.update(code(KeyCode::Enter)).is_empty());
    typed(&mut app, "需要车辆");
    let effects = app.update(Action::Key(KeyEvent::new(
        KeyCode::Char('s'),
        KeyModifiers::CONTROL,
    )));
    assert_eq!(
        acts(&effects)[0].3,
        CaseAction::Dispatch(crate::wire::DispatchBody {
            department_id: 5,
            note: Some("需要车辆".into())
        })
    );

    let mut op = fixtures::app(Lang::En);
    op.update(key('2'));
    assert_eq!(op.selected_id, Some(42));
    assert!(op.update(key('a')).is_empty());
    assert!(matches!(op.mode, Mode::Normal));
    assert!(
        message(&op).contains("only a supervisor"),
        "{}",
        message(&op)
    );
}

#[test]
fn a_new_red_case_rings_once_and_a_retier_to_red_rings() {
    let mut app = sup();
    let mut new = fixtures::case(
        300,
        Some(Tier::Red),
        Status::Triaged,
        3000,
        "山体滑坡",
        "马金镇",
        None,
        None,
    );
    let rang = alarms(&feed(&mut app, vec![new.clone()], 1));
    assert_eq!(rang.len(), 1);
    assert!(rang[0].body.contains("KH-20220508-0300"), "{:?}", rang[0]);
    assert!(rang[0].bell);
    assert_eq!(rang[0].notify, NotifyKind::Osc9);
    assert!(app.is_flashing(300, now() + Duration::seconds(1)));
    assert!(!app.is_flashing(300, now() + Duration::seconds(3)));
    new.version = 2;
    assert!(
        alarms(&feed(&mut app, vec![new], 2)).is_empty(),
        "known red"
    );
    let mut blue = app.cases[&119].clone();
    blue.version = 2;
    blue.tier = Some(Tier::Red);
    assert_eq!(alarms(&feed(&mut app, vec![*blue], 3)).len(), 1);
}

#[test]
fn the_first_snapshot_does_not_ring_for_every_red_case() {
    let mut app = App::new(
        I18n::new(Lang::En),
        fixtures::keymap(),
        Alarms {
            about_to_breach: false,
            ..Alarms::default()
        },
        "x",
        now(),
    );
    let effects = app.update(Action::FeedLoaded {
        changes: fixtures::changes(fixtures::sample_cases(), true, "c1"),
        received_at: now(),
    });
    assert!(alarms(&effects).is_empty());
}

#[test]
fn about_to_breach_rings_once_per_case_and_deadline() {
    let mut app = sup();
    let soon = fixtures::case(
        301,
        Some(Tier::Orange),
        Status::Dispatched,
        400,
        "停水",
        "华埠镇",
        Some(2),
        None,
    );
    assert!(
        alarms(&feed(&mut app, vec![soon], 0)).is_empty(),
        "6m40s left"
    );
    assert!(alarms(&app.update(Action::Tick(now() + Duration::seconds(60)))).is_empty());
    let rang = alarms(&app.update(Action::Tick(now() + Duration::seconds(101))));
    assert_eq!(rang.len(), 1);
    assert!(rang[0].body.contains("sign-for"), "{}", rang[0].body);
    assert!(alarms(&app.update(Action::Tick(now() + Duration::seconds(102)))).is_empty());
    assert!(alarms(&app.update(Action::Tick(now() + Duration::seconds(200)))).is_empty());
}

#[test]
fn many_alarms_at_once_ring_once_with_the_first_three_and_a_count() {
    let mut app = sup();
    let cases: Vec<Case> = (0..5)
        .map(|i| {
            fixtures::case(
                400 + i,
                Some(Tier::Red),
                Status::Triaged,
                3000 + i,
                "山体滑坡",
                "马金镇",
                None,
                None,
            )
        })
        .collect();
    let rang = alarms(&feed(&mut app, cases, 1));
    assert_eq!(rang.len(), 1, "one bell for the lot");
    let body = &rang[0].body;
    for shown in ["KH-20220508-0400", "KH-20220508-0401", "KH-20220508-0402"] {
        assert!(body.contains(shown), "{body}");
    }
    assert!(!body.contains("KH-20220508-0403"), "{body}");
    assert!(body.ends_with("and 2 more"), "{body}");
    // All five rows flash, shown in the text or not.
    assert!((400..405).all(|id| app.is_flashing(id, now() + Duration::seconds(1))));
}

#[test]
fn muted_alarms_have_no_effect_and_the_top_bar_says_so() {
    let mut app = sup();
    app.update(key('M'));
    assert!(app.sup.muted);
    assert!(message(&app).contains("muted"));
    let red = fixtures::case(
        302,
        Some(Tier::Red),
        Status::Triaged,
        3000,
        "火情",
        "马金镇",
        None,
        None,
    );
    assert!(alarms(&feed(&mut app, vec![red], 1)).is_empty());
    // The row still flashes: it is on screen, not noise.
    assert!(app.is_flashing(302, now() + Duration::seconds(1)));
    app.update(key('M'));
    let red = fixtures::case(
        303,
        Some(Tier::Red),
        Status::Triaged,
        3000,
        "火情",
        "马金镇",
        None,
        None,
    );
    assert_eq!(alarms(&feed(&mut app, vec![red], 2)).len(), 1);
    // Switched off in the config: nothing either.
    let mut app = sup();
    app.alarms.new_red = false;
    let red = fixtures::case(
        304,
        Some(Tier::Red),
        Status::Triaged,
        3000,
        "火情",
        "马金镇",
        None,
        None,
    );
    assert!(alarms(&feed(&mut app, vec![red], 1)).is_empty());
}

#[test]
fn the_report_is_fetched_on_entering_and_every_minute_and_kept_when_stale() {
    let mut app = sup();
    let effects = app.update(key('3'));
    assert!(effects.contains(&Effect::FetchReport));
    // Not again while the first is on its way.
    assert!(!app.update(key('4')).contains(&Effect::FetchReport));
    app.update(Action::ReportLoaded {
        report: Box::new(fixtures::report()),
        at: now(),
    });
    assert!(
        !app.update(Action::Tick(now() + Duration::seconds(30)))
            .contains(&Effect::FetchReport)
    );
    assert!(
        app.update(Action::Tick(now() + Duration::seconds(61)))
            .contains(&Effect::FetchReport)
    );
    app.update(Action::ReportFailed {
        error: ClientError::Unreachable("connection refused".into()),
        at: now() + Duration::seconds(62),
    });
    assert!(app.sup.report.is_some(), "the last good report stays");
    assert!(app.report_stale());
    // Not fetched while another view is shown.
    app.update(key('1'));
    assert!(
        !app.update(Action::Tick(now() + Duration::seconds(200)))
            .contains(&Effect::FetchReport)
    );
}

#[test]
fn s_cycles_the_department_sort() {
    let mut app = sup();
    app.update(key('3'));
    app.update(Action::ReportLoaded {
        report: Box::new(fixtures::report()),
        at: now(),
    });
    let names = |app: &App| {
        app.department_rows(now())
            .iter()
            .map(|r| r.department_id)
            .collect::<Vec<_>>()
    };
    assert_eq!(app.sup.dept_sort, DeptSort::Overdue);
    assert_eq!(names(&app)[..2], [3, 6], "most overdue first");
    app.update(key('s'));
    assert_eq!(app.sup.dept_sort, DeptSort::OnTime);
    // Lowest on-time rate first (卫健局 12/15 = 80%); departments without a rate last.
    let rows = app.department_rows(now());
    assert_eq!(rows[0].department_id, 3);
    assert_eq!(rows[0].on_time, Some(80.0));
    assert!(rows.last().is_some_and(|r| r.on_time.is_none()));
    // `s` outside Departments does nothing.
    app.update(key('1'));
    app.update(key('s'));
    assert_eq!(app.sup.dept_sort, DeptSort::OnTime);
}

#[test]
fn the_mouse_selects_board_and_follow_up_rows() {
    use crate::console::layout;
    use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    let mut app = sup();
    let mouse = |kind, row| {
        Action::Mouse(MouseEvent {
            kind,
            column: 10,
            row,
            modifiers: KeyModifiers::NONE,
        })
    };
    let click = MouseEventKind::Down(MouseButton::Left);
    let screen = layout::screen(ratatui::layout::Rect::new(0, 0, 160, 45), false);
    let geo = layout::overdue(layout::inner(screen.main));
    app.update(mouse(click, geo.board_rows.y + 1));
    assert_eq!(app.selected_id, Some(102));
    app.update(mouse(click, geo.follow_rows.y + 1));
    assert_eq!(app.sup.pane, SupPane::FollowUps);
    assert_eq!(app.selected_id, Some(89));
    app.update(mouse(MouseEventKind::ScrollUp, 10));
    assert_eq!(app.selected_id, Some(88));
}

#[test]
fn a_new_red_case_flashes_in_the_queue_too() {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use ratatui::style::Modifier;
    let mut app = fixtures::app(Lang::En);
    let red = fixtures::case(
        305,
        Some(Tier::Red),
        Status::Triaged,
        3000,
        "山体滑坡",
        "马金镇",
        None,
        None,
    );
    assert_eq!(alarms(&feed(&mut app, vec![red], 0)).len(), 1);
    let reversed = |at| {
        let mut t = Terminal::new(TestBackend::new(160, 45)).expect("terminal");
        t.draw(|f| crate::console::ui::draw(f, &app, &crate::console::theme::Theme::new(true), at))
            .expect("draws");
        let buf = t.backend().buffer().clone();
        (0..45u16).any(|y| {
            let line: String = (0..90u16)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect();
            line.contains("KH-20220508-0305") && buf[(20, y)].modifier.contains(Modifier::REVERSED)
        })
    };
    assert!(reversed(now()));
    assert!(!reversed(now() + Duration::seconds(2)));
}
