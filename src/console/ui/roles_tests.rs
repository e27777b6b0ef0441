//! Snapshots of what each role sees: the department's queue and its forms, the supervisor's
//! lists under the board, a refusal in the UI's language.

use super::tests::{keys, render, screens};
use crate::client::ClientError;
use crate::console::action::Action;
use crate::console::app::App;
use crate::console::fixtures;
use crate::console::i18n::Lang;
use crate::wire::Problem;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn sized(mut a: App, w: u16, h: u16) -> App {
    a.update(Action::Resize {
        width: w,
        height: h,
    });
    a
}

/// 卫健局's console with the case `id` selected and its timeline loaded.
fn department(lang: Lang, w: u16, h: u16, id: i64) -> App {
    let mut a = sized(fixtures::department_app(lang), w, h);
    keys(&mut a, "g");
    for _ in 0..5 {
        if a.selected_id == Some(id) {
            break;
        }
        keys(&mut a, "j");
    }
    let d = fixtures::detail(&a.cases[&id]);
    a.update(Action::DetailLoaded(Box::new(d)));
    a
}

fn assert_all(shots: Vec<(String, String)>) {
    for (snapshot, screen) in shots {
        insta::assert_snapshot!(snapshot, screen);
    }
}

fn ctrl_s(a: &mut App) {
    a.update(Action::Key(KeyEvent::new(
        KeyCode::Char('s'),
        KeyModifiers::CONTROL,
    )));
}

#[test]
fn department_main_screen() {
    // Its own cases by its own next deadline; the keys it may use on the one selected.
    assert_all(screens(
        "dept_queue",
        |l, w, h| department(l, w, h, 42),
        |_| {},
    ));
    // A pending extension request shows in the detail pane.
    assert_all(screens(
        "dept_pending",
        |l, w, h| department(l, w, h, 63),
        |a| keys(a, "\n"),
    ));
}

#[test]
fn department_return_and_extension_dialogs() {
    assert_all(screens(
        "dept_return",
        |l, w, h| department(l, w, h, 61),
        |a| {
            keys(a, "x");
            ctrl_s(a);
        },
    ));
    assert_all(screens(
        "dept_extension",
        |l, w, h| department(l, w, h, 61),
        |a| keys(a, "e+2h\t药品需从市里调拨"),
    ));
}

#[test]
fn supervisor_board_with_its_lists() {
    let make = |l, w, h| sized(fixtures::ruling_app(l), w, h);
    assert_all(screens("sup_ruling", make, |a| keys(a, "]]")));
    assert_all(screens("sup_extensions", make, |a| keys(a, "]]]")));
}

#[test]
fn a_refusal_in_the_ui_language() {
    for lang in [Lang::En, Lang::ZhCn] {
        let mut a = sized(fixtures::app(lang), 80, 24);
        keys(&mut a, "G");
        keys(&mut a, "kc");
        let request = match &a.in_flight {
            Some(f) => f.request,
            None => panic!("claim not sent"),
        };
        a.update(Action::ActionFailed {
            request,
            error: ClientError::Api(Box::new(Problem {
                kind: "https://jieyou.invalid/problems/forbidden".into(),
                title: "Not allowed for your role".into(),
                status: 403,
                detail: "role operator may not claim a case".into(),
                errors: vec![],
                current: None,
                current_department: None,
            })),
        });
        let code = if lang == Lang::En { "en" } else { "zh" };
        insta::assert_snapshot!(format!("refusal_{code}_80x24"), render(&a, 80, 24));
    }
}

/// An observer's console: the desk read-only, its hint bar without one action key.
fn observer(lang: Lang, w: u16, h: u16) -> App {
    let me = crate::wire::Me {
        name: "obs-sun".into(),
        role: crate::wire::Role::Observer,
        department_id: None,
        ..fixtures::me()
    };
    sized(fixtures::app_as(lang, me, fixtures::sample_cases()), w, h)
}

#[test]
fn observer_main_screen() {
    let shots = screens("observer_queue", observer, |_| {});
    for (name, screen) in &shots {
        let hints = screen.lines().last().unwrap_or_default();
        for action in [
            "triage", "assign", "claim", "answer", "new", "分类", "派单", "认领", "新建",
        ] {
            assert!(!hints.contains(action), "{name}: {hints}");
        }
    }
    assert_all(shots);
}
