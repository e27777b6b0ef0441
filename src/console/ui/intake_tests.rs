//! Snapshots of hotline intake at 80×24 and 160×45, in English and Chinese: the form with the
//! category and town pickers open, a field error (visible at the narrowest size too), and the
//! caller's earlier cases under the form.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::tests::{keys, screens};
use crate::console::action::Action;
use crate::console::app::{App, Mode};
use crate::console::fixtures::{self, now};
use crate::console::i18n::Lang;
use crate::wire::{CaseList, Role, Status};

/// An intake clerk's console, sized: it opens on the new-case form.
fn app(lang: Lang, w: u16, h: u16) -> App {
    let mut me = fixtures::me();
    me.name = "intake-wang".into();
    me.role = Role::Intake;
    let mut app = fixtures::app_as(lang, me, fixtures::sample_cases());
    app.update(Action::Resize {
        width: w,
        height: h,
    });
    app
}

fn press(app: &mut App, code: KeyCode, modifiers: KeyModifiers) {
    app.update(Action::Key(KeyEvent::new(code, modifiers)));
}

fn each(name: &str, setup: impl Fn(&mut App)) {
    for (snapshot, screen) in screens(name, app, setup) {
        insta::assert_snapshot!(snapshot, screen);
    }
}

#[test]
fn the_category_picker_open_over_the_form() {
    each("intake_category", |a| {
        keys(a, "独居老人断药\t");
        keys(a, "y");
        assert!(matches!(a.mode, Mode::NewCase(_)));
    });
}

#[test]
fn the_town_picker_open_over_the_form() {
    each("intake_town", |a| {
        keys(a, "独居老人断药\typ\n刘奶奶\t13900001111\t");
    });
}

#[test]
fn a_title_too_long_shows_its_error_under_it() {
    each("intake_error", |a| {
        a.update(Action::Paste("长".repeat(crate::wire::MAX_TITLE_CHARS + 5)));
        press(a, KeyCode::Char('s'), KeyModifiers::CONTROL);
    });
}

#[test]
fn the_callers_earlier_cases_under_the_form() {
    each("intake_lookup", |a| {
        keys(a, "还是没有车\t\t葛先生\t13800000000");
        let Mode::NewCase(f) = &a.mode else {
            panic!("on the form")
        };
        let generation = f.lookup.generation;
        a.update(Action::LookupDue(generation));
        let mut closed = a.cases[&57].clone();
        closed.id = 7;
        closed.reference = "KH-20220501-0007".into();
        closed.status = Status::Closed;
        let open = a.cases[&42].clone();
        a.update(Action::CallerCasesLoaded {
            generation,
            list: CaseList {
                cases: vec![*closed, *open],
                next_cursor: None,
                server_time: now().with_timezone(&fixtures::zone()),
            },
        });
        press(a, KeyCode::Char('l'), KeyModifiers::CONTROL);
    });
}
