//! Snapshots of the answer editor: the library list with Chinese answers, a pinyin-initials
//! query, and an inserted answer filled from the case.

use crossterm::event::KeyCode;

use super::tests::{keys, screens};
use crate::console::action::Action;
use crate::console::answer_editor_tests;
use crate::console::app::App;
use crate::console::i18n::Lang;
use crate::console::test_keys::code;

fn app(lang: Lang, w: u16, h: u16) -> App {
    let mut app = answer_editor_tests::app(lang);
    app.update(Action::Resize {
        width: w,
        height: h,
    });
    app
}

fn each(name: &str, setup: impl Fn(&mut App)) {
    for (snapshot, screen) in screens(name, app, setup) {
        insta::assert_snapshot!(snapshot, screen);
    }
}

#[test]
fn the_answer_picker_lists_the_library_most_used_first() {
    each("answer_picker", |a| keys(a, "o"));
}

#[test]
fn the_answer_picker_finds_by_pinyin_initials() {
    each("answer_picker_txz", |a| keys(a, "otxz"));
}

#[test]
fn an_inserted_answer_is_filled_from_the_case() {
    each("answer_inserted", |a| {
        keys(a, "oyd");
        a.update(code(KeyCode::Enter));
    });
}

#[test]
fn the_library_panel_shows_uses_validity_and_the_follow_up_list() {
    let make = |lang: Lang, w: u16, h: u16| {
        let mut app = answer_editor_tests::supervisor_library(lang);
        app.update(Action::Resize {
            width: w,
            height: h,
        });
        app
    };
    for (snapshot, screen) in screens("library", make, |a| {
        keys(a, "c");
        a.update(Action::AnswerCasesLoaded(answer_editor_tests::follow_up()));
        keys(a, "jR");
    }) {
        insta::assert_snapshot!(snapshot, screen);
    }
}

#[test]
fn the_answer_form_shows_fields_category_choices_errors_and_the_text() {
    let make = |lang: Lang, w: u16, h: u16| {
        let mut app = answer_editor_tests::supervisor_library(lang);
        app.update(Action::Resize {
            width: w,
            height: h,
        });
        app
    };
    for (snapshot, screen) in screens("answer_form", make, |a| {
        keys(a, "e");
        a.update(code(KeyCode::Tab));
        a.update(code(KeyCode::Tab));
        a.update(code(KeyCode::Tab));
        keys(a, "2022-13-01");
        a.update(crate::console::test_keys::ctrl('s'));
        a.update(code(KeyCode::BackTab));
        a.update(code(KeyCode::BackTab));
        keys(a, "yp");
    }) {
        insta::assert_snapshot!(snapshot, screen);
    }
}
