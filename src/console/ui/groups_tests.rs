//! Snapshots of the untriaged pane's groups: five similar requests as one row with their
//! count (collapsed), the same group expanded into its cases, and the merge dialog, at 80×24
//! and 160×45, in English and Chinese.

use crossterm::event::KeyCode;

use super::tests::screens;
use crate::console::action::Action;
use crate::console::app::App;
use crate::console::fixtures;
use crate::console::i18n::Lang;
use crate::console::test_keys::{code, key, select};

fn app(lang: Lang, w: u16, h: u16) -> App {
    let mut app = fixtures::app_with(lang, fixtures::grouped_cases());
    app.update(Action::Resize {
        width: w,
        height: h,
    });
    select(&mut app, 10);
    app
}

fn each(name: &str, setup: impl Fn(&mut App)) {
    for (snapshot, screen) in screens(name, app, setup) {
        insta::assert_snapshot!(snapshot, screen);
    }
}

#[test]
fn group_collapsed() {
    each("group_collapsed", |_| {});
}

#[test]
fn group_expanded() {
    each("group_expanded", |a| {
        a.update(code(KeyCode::Right));
    });
}

#[test]
fn group_merge_dialog() {
    each("group_merge_dialog", |a| {
        a.update(key('m'));
        a.update(key('j'));
    });
}
