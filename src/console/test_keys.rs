//! Keys as the tests of `App::update` press them, and the requests they read back.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::{Action, Effect, RequestId};
use super::app::App;
use crate::wire::CaseAction;

pub fn key(c: char) -> Action {
    Action::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

pub fn code(c: KeyCode) -> Action {
    Action::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

pub fn ctrl(c: char) -> Action {
    Action::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

/// Each character of `s` as a key press, with every effect they asked for.
pub fn typed(app: &mut App, s: &str) -> Vec<Effect> {
    s.chars().flat_map(|c| app.update(key(c))).collect()
}

/// Moves the cursor to case `id` from the top of the list.
pub fn select(app: &mut App, id: i64) {
    app.update(key('g'));
    for _ in 0..50 {
        if app.selected_id == Some(id) {
            return;
        }
        app.update(key('j'));
    }
    panic!("case {id} not listed");
}

/// The actions sent: (request, case, version, action).
pub fn acts(effects: &[Effect]) -> Vec<(RequestId, i64, i64, CaseAction)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Act {
                request,
                case_id,
                version,
                action,
                ..
            } => Some((*request, *case_id, *version, action.clone())),
            _ => None,
        })
        .collect()
}
