//! Snapshots of shift work: presence marks on rows and in the detail pane, a claim left by an
//! ended shift, the handover brief, the end-of-shift note and the handovers panel, at 80×24
//! and 160×45, in English and Chinese.

use super::tests::{keys, screens};
use crate::console::action::Action;
use crate::console::app::{App, ShiftAction};
use crate::console::fixtures;
use crate::console::i18n::Lang;
use crate::console::shift_fixtures::{brief, presence_list, shift};
use crate::wire::{HandoverList, Role, ShiftList};

/// An operator's console, sized, with case 42 selected and its timeline loaded.
fn app(lang: Lang, w: u16, h: u16) -> App {
    let mut app = fixtures::app(lang);
    app.update(Action::Resize {
        width: w,
        height: h,
    });
    keys(&mut app, "jjj");
    let d = fixtures::detail(&app.cases[&42]);
    app.update(Action::DetailLoaded(Box::new(d)));
    app
}

/// A supervisor's console on the queue.
fn supervisor(lang: Lang, w: u16, h: u16) -> App {
    let mut app = fixtures::supervisor_app(lang);
    app.update(Action::Resize {
        width: w,
        height: h,
    });
    keys(&mut app, "1");
    app
}

fn listed(app: &mut App, on_shift: bool) {
    let mut shifts = vec![shift(3, "op-wang", Role::Operator, -8 * 3600, Some(-600))];
    if on_shift {
        shifts.insert(0, shift(9, "op-li", Role::Operator, -1800, None));
    }
    app.update(Action::Shifts(ShiftAction::Listed(ShiftList { shifts })));
}

fn each(name: &str, make: fn(Lang, u16, u16) -> App, setup: impl Fn(&mut App)) {
    for (snapshot, screen) in screens(name, make, setup) {
        insta::assert_snapshot!(snapshot, screen);
    }
}

#[test]
fn rows_and_detail_show_who_else_has_a_case_open() {
    each("presence", app, |a| {
        a.update(Action::PresenceLoaded(presence_list()));
    });
}

#[test]
fn a_claim_left_by_an_ended_shift_is_marked_on_its_row_and_in_detail() {
    each("claim_left", app, |a| {
        listed(a, true);
        keys(a, "jjj");
    });
}

#[test]
fn the_brief_to_acknowledge() {
    each("brief", app, |a| {
        listed(a, true);
        a.update(Action::Shifts(ShiftAction::Unacknowledged(HandoverList {
            handovers: vec![brief(false)],
        })));
    });
}

#[test]
fn the_end_of_shift_note() {
    each("end_shift", app, |a| {
        listed(a, true);
        keys(a, "S");
        keys(a, "42号家属早上8点前回电");
    });
}

#[test]
fn the_supervisors_handovers_panel() {
    each("handovers_panel", supervisor, |a| {
        listed(a, false);
        keys(a, "H");
        a.update(Action::Shifts(ShiftAction::Recent(HandoverList {
            handovers: vec![brief(true)],
        })));
    });
}

#[test]
fn the_picker_with_duty_contacts() {
    each("picker_duty", app, |a| {
        keys(a, "jjjjjj");
        keys(a, "a");
        a.update(Action::DepartmentsLoaded(
            crate::console::shift_fixtures::departments_on_duty(),
        ));
    });
}

#[test]
fn the_claims_step_of_the_handovers_panel() {
    each("claims_step", supervisor, |a| {
        keys(a, "H");
        a.update(Action::Shifts(ShiftAction::Listed(ShiftList {
            shifts: vec![
                shift(9, "op-li", Role::Operator, -600, None),
                shift(3, "op-wang", Role::Operator, -8 * 3600, Some(-600)),
            ],
        })));
        keys(a, "c\t");
    });
}

/// A department user's console.
fn department(lang: Lang, w: u16, h: u16) -> App {
    let mut app = fixtures::department_app(lang);
    app.update(Action::Resize {
        width: w,
        height: h,
    });
    app.update(Action::DepartmentsLoaded(
        crate::console::shift_fixtures::departments_on_duty(),
    ));
    app
}

#[test]
fn a_department_writing_its_duty_roster() {
    each("duty_form", department, |a| {
        keys(a, "D");
        a.update(crate::console::test_keys::code(
            crossterm::event::KeyCode::Enter,
        ));
        keys(a, "王强");
        a.update(crate::console::test_keys::ctrl('s'));
    });
}

#[test]
fn the_departments_board_says_who_is_on_duty() {
    each("board_duty", supervisor, |a| {
        a.update(Action::DepartmentsLoaded(
            crate::console::shift_fixtures::departments_on_duty(),
        ));
        keys(a, "3");
    });
}
