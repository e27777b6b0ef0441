//! Shift work in `App::update`: what the console publishes about itself, what it shows of
//! others, shifts and handover briefs, and who gets which of them. No terminal, no network.

use crossterm::event::KeyCode;

use crate::client::ClientError;
use crate::console::action::{Action, Effect};
use crate::console::app::*;
use crate::console::fixtures::{self, now};
use crate::console::i18n::Lang;
use crate::console::shift_fixtures::{at_local, brief, presence, presence_list, shift};
use crate::console::test_keys::{code, ctrl, key, select, typed};
use crate::wire::{
    Activity, HandoverList, Me, PRESENCE_HEARTBEAT_SECS, PresenceUpdate, Role, ShiftList,
};

fn as_role(role: Role, department_id: Option<i64>) -> App {
    let me = Me {
        role,
        department_id,
        ..fixtures::me()
    };
    let cases = if role == Role::Department {
        fixtures::department_cases()
    } else {
        fixtures::sample_cases()
    };
    fresh(fixtures::app_as(Lang::En, me, cases))
}

/// An update with the requests the console then makes by itself.
fn run(app: &mut App, action: Action) -> Vec<Effect> {
    let mut effects = app.update(action);
    effects.extend(app.take_background());
    effects
}

/// A fixture app whose start-up requests have been taken.
fn fresh(mut app: App) -> App {
    app.take_background();
    app
}

fn published(effects: &[Effect]) -> Vec<PresenceUpdate> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Presence(u) => Some(*u),
            _ => None,
        })
        .collect()
}

fn on(case: i64, activity: Activity) -> PresenceUpdate {
    PresenceUpdate {
        case: Some(case),
        activity,
    }
}

fn shift_requests(effects: &[Effect]) -> Vec<ShiftRequest> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Shift(r) => Some(r.clone()),
            _ => None,
        })
        .collect()
}

fn message(app: &App) -> String {
    app.message
        .as_ref()
        .map(|m| m.text.clone())
        .unwrap_or_default()
}

// ---- publishing ---------------------------------------------------------------------------------

#[test]
fn the_case_in_the_detail_pane_is_published_when_it_changes() {
    let mut app = fresh(fixtures::app(Lang::En));
    assert_eq!(
        app.presence.sent().copied(),
        app.selected_id.map(|id| on(id, Activity::Viewing)),
        "the first selected case is published as soon as it is shown"
    );
    let before = app.selected_id;
    let effects = run(&mut app, key('j'));
    assert_ne!(app.selected_id, before);
    assert_eq!(
        published(&effects),
        vec![on(app.selected_id.unwrap(), Activity::Viewing)]
    );
    // Nothing changed: nothing is said again.
    assert!(published(&run(&mut app, Action::Tick(at_local(1)))).is_empty());
}

#[test]
fn a_dialog_publishes_what_is_being_filled_in_and_its_close_goes_back_to_viewing() {
    let mut app = fresh(fixtures::app(Lang::En));
    select(&mut app, 119);
    let effects = run(&mut app, key('o'));
    assert!(matches!(app.mode, Mode::Text(_)));
    assert_eq!(published(&effects), vec![on(119, Activity::Answering)]);
    // Typing in the dialog is no news.
    typed(&mut app, "ok");
    assert!(published(&app.take_background()).is_empty());
    let effects = run(&mut app, code(KeyCode::Esc));
    assert_eq!(published(&effects), vec![on(119, Activity::Viewing)]);

    let effects = run(&mut app, key('a'));
    assert!(matches!(app.mode, Mode::Picker(_)));
    assert_eq!(published(&effects), vec![on(119, Activity::Dispatching)]);
    run(&mut app, code(KeyCode::Esc));

    let effects = run(&mut app, key('N'));
    assert!(matches!(app.mode, Mode::Text(_)));
    assert_eq!(published(&effects), vec![on(119, Activity::Editing)]);
}

#[test]
fn presence_is_repeated_every_heartbeat_while_it_holds() {
    let mut app = fresh(fixtures::app(Lang::En));
    let held = *app.presence.sent().unwrap();
    assert!(
        published(&run(
            &mut app,
            Action::Tick(at_local(PRESENCE_HEARTBEAT_SECS - 1))
        ))
        .is_empty()
    );
    assert_eq!(
        published(&run(
            &mut app,
            Action::Tick(at_local(PRESENCE_HEARTBEAT_SECS))
        )),
        vec![held]
    );
    assert!(
        published(&run(
            &mut app,
            Action::Tick(at_local(PRESENCE_HEARTBEAT_SECS + 1))
        ))
        .is_empty()
    );
}

#[test]
fn quitting_clears_presence_before_the_console_goes() {
    let mut app = fresh(fixtures::app(Lang::En));
    let effects = run(&mut app, key('q'));
    assert_eq!(
        effects,
        vec![
            Effect::Quit,
            Effect::Presence(PresenceUpdate {
                case: None,
                activity: Activity::Viewing,
            })
        ]
    );
}

#[test]
fn observers_intake_and_admins_publish_nothing_and_departments_do() {
    for role in [Role::Observer, Role::Intake, Role::Admin] {
        let mut app = as_role(role, None);
        let mut effects = run(&mut app, key('j'));
        effects.extend(run(
            &mut app,
            Action::Tick(at_local(PRESENCE_HEARTBEAT_SECS * 3)),
        ));
        effects.extend(run(&mut app, key('q')));
        assert!(published(&effects).is_empty(), "{role:?} published");
        assert!(app.presence.sent().is_none());
    }
    let mut dept = as_role(Role::Department, Some(3));
    let before = dept.selected_id;
    let effects = run(&mut dept, key('j'));
    assert_ne!(dept.selected_id, before);
    assert_eq!(
        published(&effects),
        vec![on(dept.selected_id.unwrap(), Activity::Viewing)]
    );
}

// ---- showing others -----------------------------------------------------------------------------

#[test]
fn a_presence_list_marks_rows_and_lists_people_but_never_oneself() {
    let mut app = fresh(fixtures::app(Lang::En));
    run(&mut app, Action::PresenceLoaded(presence_list()));
    assert_eq!(app.row_presence(42, now()), Some(Activity::Answering));
    assert_eq!(app.row_presence(119, now()), Some(Activity::Viewing));
    assert_eq!(
        app.row_presence(57, now()),
        None,
        "op-li is the signed-in user"
    );
    assert_eq!(app.row_presence(101, now()), None);
    let lines: Vec<String> = app
        .presence_lines(42, now())
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    assert_eq!(lines, vec!["李敏 is answering this case", "王芳 viewing"]);
    assert_eq!(app.presence.version, Some(7));
}

#[test]
fn presence_past_its_expiry_is_dropped_by_the_clock() {
    let mut app = fresh(fixtures::app(Lang::En));
    let mut list = presence_list();
    list.entries = vec![
        presence(42, "李敏", Activity::Answering, 5),
        presence(42, "王芳", Activity::Viewing, 60),
    ];
    run(&mut app, Action::PresenceLoaded(list));
    assert_eq!(app.row_presence(42, now()), Some(Activity::Answering));
    let later = at_local(10);
    assert_eq!(app.row_presence(42, later), Some(Activity::Viewing));
    assert_eq!(app.presence_lines(42, later).len(), 1);
}

#[test]
fn a_failed_presence_poll_says_so_once_and_keeps_the_last_list() {
    let mut app = fresh(fixtures::app(Lang::En));
    run(&mut app, Action::PresenceLoaded(presence_list()));
    run(
        &mut app,
        Action::PresenceFailed(ClientError::Unreachable("connection refused".into())),
    );
    assert!(message(&app).contains("not updating"), "{}", message(&app));
    assert_eq!(app.row_presence(42, now()), Some(Activity::Answering));
    app.message = None;
    run(
        &mut app,
        Action::PresenceFailed(ClientError::Unreachable("connection refused".into())),
    );
    assert_eq!(
        message(&app),
        "",
        "a failing poll is said once, not every retry"
    );
}

// ---- shifts and briefs --------------------------------------------------------------------------

fn listed(app: &mut App, shifts: Vec<crate::wire::Shift>) {
    run(
        app,
        Action::Shifts(ShiftAction::Listed(ShiftList { shifts })),
    );
}

#[test]
fn shifts_are_listed_once_connected_and_every_minute() {
    let mut app = App::new(
        crate::console::i18n::I18n::new(Lang::En),
        fixtures::keymap(),
        crate::console::config::Alarms::default(),
        "http://127.0.0.1:8080",
        now(),
    );
    let session = run(
        &mut app,
        Action::SessionLoaded(Box::new(crate::console::action::Session {
            me: fixtures::me(),
            policy: crate::wire::Policy::default(),
            departments: fixtures::departments(),
            catalog: crate::catalog::Catalog::kaihua(),
        })),
    );
    assert!(
        shift_requests(&session).is_empty(),
        "not before the server answered"
    );
    let first = run(
        &mut app,
        Action::FeedLoaded {
            changes: fixtures::changes(fixtures::sample_cases(), true, "c1"),
            received_at: now(),
        },
    );
    assert_eq!(shift_requests(&first), vec![ShiftRequest::List]);
    // Found on shift (a console restarted mid-shift): the briefs not yet read are asked for.
    let effects = run(
        &mut app,
        Action::Shifts(ShiftAction::Listed(ShiftList {
            shifts: vec![shift(9, "op-li", Role::Operator, -600, None)],
        })),
    );
    assert_eq!(shift_requests(&effects), vec![ShiftRequest::Unacknowledged]);
    assert!(shift_requests(&run(&mut app, Action::Tick(at_local(30)))).is_empty());
    assert_eq!(
        shift_requests(&run(&mut app, Action::Tick(at_local(61)))),
        vec![ShiftRequest::List]
    );
}

#[test]
fn starting_a_shift_shows_the_briefs_to_acknowledge_one_after_the_other() {
    let mut app = fresh(fixtures::app(Lang::En));
    listed(&mut app, vec![]);
    let effects = run(&mut app, key('S'));
    assert!(matches!(
        shift_requests(&effects)[..],
        [ShiftRequest::Start { .. }]
    ));
    let effects = run(
        &mut app,
        Action::Shifts(ShiftAction::Started(shift(
            9,
            "op-li",
            Role::Operator,
            -5,
            None,
        ))),
    );
    assert_eq!(shift_requests(&effects), vec![ShiftRequest::Unacknowledged]);
    assert!(app.my_shift().is_some());
    let mut second = brief(false);
    second.id = 6;
    // Newest first on the wire; read oldest first.
    run(
        &mut app,
        Action::Shifts(ShiftAction::Unacknowledged(HandoverList {
            handovers: vec![second.clone(), brief(false)],
        })),
    );
    let Mode::Shift(ShiftMode::Brief(v)) = &app.mode else {
        panic!("no brief shown: {:?}", app.mode);
    };
    assert!(v.to_ack);
    assert_eq!(v.brief.id, 5);
    let effects = run(&mut app, code(KeyCode::Enter));
    assert!(matches!(
        shift_requests(&effects)[..],
        [ShiftRequest::Ack { id: 5, .. }]
    ));
    run(
        &mut app,
        Action::Shifts(ShiftAction::Acked(Box::new(brief(true)))),
    );
    let Mode::Shift(ShiftMode::Brief(v)) = &app.mode else {
        panic!("the next brief is not shown: {:?}", app.mode);
    };
    assert_eq!(v.brief.id, 6);
    // Put aside: `H` brings it back.
    run(&mut app, code(KeyCode::Esc));
    assert!(matches!(app.mode, Mode::Normal));
    run(&mut app, key('H'));
    assert!(matches!(&app.mode, Mode::Shift(ShiftMode::Brief(v)) if v.brief.id == 6));
}

#[test]
fn ending_a_shift_sends_the_note_and_shows_the_stored_brief_read_only() {
    let mut app = fresh(fixtures::app(Lang::En));
    listed(
        &mut app,
        vec![shift(9, "op-li", Role::Operator, -3600, None)],
    );
    run(&mut app, key('S'));
    assert!(matches!(app.mode, Mode::Shift(ShiftMode::End(_))));
    typed(&mut app, "call 42 back");
    run(&mut app, code(KeyCode::Enter));
    typed(&mut app, "at 8");
    let effects = run(&mut app, ctrl('s'));
    assert!(matches!(
        &shift_requests(&effects)[..],
        [ShiftRequest::End { note, .. }] if note == "call 42 back\nat 8"
    ));
    let mut stored = brief(false);
    stored.shift = shift(9, "op-li", Role::Operator, -3600, Some(0));
    run(
        &mut app,
        Action::Shifts(ShiftAction::Ended(Box::new(stored))),
    );
    assert!(app.my_shift().is_none());
    let Mode::Shift(ShiftMode::Brief(v)) = &app.mode else {
        panic!("no brief shown: {:?}", app.mode);
    };
    assert!(!v.to_ack);
    assert!(shift_requests(&run(&mut app, code(KeyCode::Enter))).is_empty());
    assert!(matches!(app.mode, Mode::Normal));
}

#[test]
fn a_refused_end_of_shift_goes_back_into_the_dialog() {
    let mut app = fresh(fixtures::app(Lang::En));
    listed(
        &mut app,
        vec![shift(9, "op-li", Role::Operator, -3600, None)],
    );
    run(&mut app, key('S'));
    typed(&mut app, "x");
    let effects = run(&mut app, ctrl('s'));
    let request = shift_requests(&effects).remove(0);
    run(
        &mut app,
        Action::Shifts(ShiftAction::Failed {
            request,
            error: ClientError::Unreachable("connection refused".into()),
        }),
    );
    let Mode::Shift(ShiftMode::End(f)) = &app.mode else {
        panic!("dialog closed: {:?}", app.mode);
    };
    assert!(!f.sending);
    assert_eq!(f.note.as_str(), "x");
    assert!(f.error.is_some());
}

#[test]
fn only_operators_and_supervisors_work_shifts_and_only_supervisors_get_the_panel() {
    for role in [Role::Observer, Role::Admin] {
        let mut app = as_role(role, None);
        let effects = run(&mut app, key('S'));
        assert!(shift_requests(&effects).is_empty(), "{role:?}");
        assert!(matches!(app.mode, Mode::Normal), "{role:?}: {:?}", app.mode);
        assert!(message(&app).contains("not"), "{role:?}: {}", message(&app));
    }
    let mut dept = as_role(Role::Department, Some(3));
    assert!(shift_requests(&run(&mut dept, key('S'))).is_empty());
    assert!(shift_requests(&run(&mut dept, key('H'))).is_empty());
    assert!(matches!(dept.mode, Mode::Normal));

    let mut op = fresh(fixtures::app(Lang::En));
    assert!(shift_requests(&run(&mut op, key('H'))).is_empty());
    assert!(matches!(op.mode, Mode::Normal), "no panel for an operator");

    let mut sup = fresh(fixtures::supervisor_app(Lang::En));
    let effects = run(&mut sup, key('H'));
    assert!(matches!(sup.mode, Mode::Shift(ShiftMode::Panel { .. })));
    let asked = shift_requests(&effects);
    assert!(asked.contains(&ShiftRequest::Recent) && asked.contains(&ShiftRequest::List));
}

#[test]
fn a_claim_whose_holder_ended_the_shift_is_marked() {
    let mut app = fresh(fixtures::app(Lang::En));
    let held = app.cases[&101].clone();
    assert!(!app.claim_left(&held));
    listed(
        &mut app,
        vec![
            shift(3, "op-wang", Role::Operator, -8 * 3600, Some(-600)),
            shift(9, "op-li", Role::Operator, -600, None),
        ],
    );
    assert!(app.claim_left(&held));
    let mine = app
        .cases
        .values()
        .find(|c| c.claimed_by.as_deref() == Some("op-li"))
        .cloned();
    assert!(mine.is_some_and(|c| !app.claim_left(&c)));
}

// ---- duty contacts ------------------------------------------------------------------------------

#[test]
fn the_picker_asks_for_fresh_rosters_and_shows_who_is_on_duty_now() {
    let mut app = fresh(fixtures::app(Lang::En));
    select(&mut app, 119);
    let effects = run(&mut app, key('a'));
    assert!(matches!(app.mode, Mode::Picker(_)));
    assert!(effects.contains(&Effect::FetchDepartments), "{effects:?}");
    // Moving in the open picker asks nothing more.
    assert!(!run(&mut app, code(KeyCode::Down)).contains(&Effect::FetchDepartments));
    assert_eq!(app.duty_text(3), None);
    run(
        &mut app,
        Action::DepartmentsLoaded(crate::console::shift_fixtures::departments_on_duty()),
    );
    assert_eq!(app.duty_text(3).as_deref(), Some("张伟 13812340000"));
    assert!(matches!(app.mode, Mode::Picker(_)), "the picker stays open");
}

#[test]
fn a_supervisor_hands_an_ended_shifts_claims_to_someone_on_shift_in_one_step() {
    let mut sup = fresh(fixtures::supervisor_app(Lang::En));
    run(&mut sup, key('H'));
    listed(
        &mut sup,
        vec![
            shift(9, "op-li", Role::Operator, -600, None),
            shift(3, "op-wang", Role::Operator, -8 * 3600, Some(-600)),
        ],
    );
    run(&mut sup, key('c'));
    let Mode::Shift(ShiftMode::Claims(f)) = &sup.mode else {
        panic!("no confirmation: {:?}", sup.mode);
    };
    assert_eq!(f.shift.id, 3);
    run(&mut sup, code(KeyCode::Tab));
    let effects = run(&mut sup, code(KeyCode::Enter));
    assert!(matches!(
        &shift_requests(&effects)[..],
        [ShiftRequest::HandOver { shift_id: 3, to: Some(to), .. }] if to == "op-li"
    ));
    let effects = run(
        &mut sup,
        Action::Shifts(ShiftAction::HandedOver(crate::wire::HandOverResult {
            moved: vec![crate::wire::CaseVersion {
                id: 101,
                version: 9,
            }],
        })),
    );
    assert!(
        message(&sup).contains("KH-20220508-0101"),
        "{}",
        message(&sup)
    );
    assert!(shift_requests(&effects).contains(&ShiftRequest::List));
    assert!(matches!(sup.mode, Mode::Shift(ShiftMode::Panel { .. })));
}

fn duty_form(app: &App) -> &DutyForm {
    match &app.mode {
        Mode::Duty(f) => f,
        m => panic!("no duty form: {m:?}"),
    }
}

#[test]
fn a_department_writes_its_duty_roster_by_keys() {
    let mut app = fresh(fixtures::department_app(Lang::ZhCn));
    run(&mut app, key('D'));
    assert_eq!(duty_form(&app).department_id, 3);
    assert_eq!(duty_form(&app).text.as_str(), "", "nobody listed yet");
    typed(&mut app, "张伟 13812340000");
    run(&mut app, code(KeyCode::Enter));
    typed(&mut app, "李娜 13900001111 至 18:00");
    let effects = run(&mut app, ctrl('s'));
    let [
        Effect::PutDuty {
            department_id: 3,
            roster,
        },
    ] = effects.as_slice()
    else {
        panic!("{effects:?}")
    };
    assert_eq!(roster.contacts.len(), 2);
    assert_eq!(roster.contacts[0].name, "张伟");
    assert_eq!(roster.contacts[0].phone, "13812340000");
    assert_eq!(roster.contacts[0].until, None);
    let until = roster.contacts[1].until.expect("an end");
    assert_eq!(until.format("%H:%M").to_string(), "18:00");
    assert!(
        until.with_timezone(&chrono::Utc) > now(),
        "the next 18:00, not today's past one"
    );
    assert!(duty_form(&app).sending);

    let effects = run(&mut app, Action::DutySaved);
    assert!(matches!(app.mode, Mode::Normal));
    assert!(effects.contains(&Effect::FetchDepartments), "{effects:?}");
}

#[test]
fn a_roster_line_that_is_not_a_contact_is_marked_and_nothing_is_sent() {
    let mut app = fresh(fixtures::department_app(Lang::En));
    run(&mut app, key('D'));
    typed(&mut app, "张伟 13812340000");
    run(&mut app, code(KeyCode::Enter));
    typed(&mut app, "李娜");
    assert!(run(&mut app, ctrl('s')).is_empty());
    assert_eq!(duty_form(&app).line_errors.len(), 1);
    assert_eq!(duty_form(&app).line_errors[0].0, 1);

    // What only the server knows comes back on the line it names; blank lines don't count.
    run(&mut app, code(KeyCode::Backspace));
    run(&mut app, code(KeyCode::Backspace));
    run(&mut app, code(KeyCode::Enter));
    typed(&mut app, "李娜 1390000x");
    assert_eq!(run(&mut app, ctrl('s')).len(), 1);
    let problem = crate::wire::Problem {
        kind: format!("{}validation", crate::wire::PROBLEM_TYPE_BASE),
        title: "Unprocessable".into(),
        status: 422,
        detail: "contacts[1].phone".into(),
        errors: vec![crate::wire::FieldError {
            field: "contacts[1].phone".into(),
            message: "digits, +, - and spaces".into(),
        }],
        current: None,
        current_department: None,
    };
    run(
        &mut app,
        Action::DutyFailed {
            error: ClientError::Api(Box::new(problem)),
        },
    );
    let f = duty_form(&app);
    assert!(!f.sending);
    assert_eq!(
        f.line_errors,
        vec![(2, "digits, +, - and spaces".to_string())]
    );
    assert!(f.text.as_str().ends_with("李娜 1390000x"), "the text stays");
}

#[test]
fn a_supervisor_writes_the_roster_of_the_department_chosen_on_the_board() {
    let mut sup = fresh(fixtures::supervisor_app(Lang::En));
    run(
        &mut sup,
        Action::DepartmentsLoaded(crate::console::shift_fixtures::departments_on_duty()),
    );
    run(&mut sup, key('D'));
    assert!(
        matches!(sup.mode, Mode::Normal),
        "outside the board it says where to go"
    );
    run(&mut sup, key('3'));
    let rows = sup.department_rows(sup.server_now(sup.now));
    let pick = rows.iter().position(|r| r.department_id == 3).unwrap();
    for _ in 0..pick {
        run(&mut sup, key('j'));
    }
    run(&mut sup, key('D'));
    let f = duty_form(&sup);
    assert_eq!(f.department_id, 3);
    assert!(
        f.text.as_str().starts_with("张伟 13812340000 "),
        "{:?}",
        f.text.as_str()
    );

    let mut op = fresh(fixtures::app(Lang::En));
    run(&mut op, key('D'));
    assert!(
        matches!(op.mode, Mode::Normal),
        "operators don't write rosters"
    );
}
