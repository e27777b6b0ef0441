//! `App::update` at the change feed's edges: tombstones and the server's refusal of a cursor.

use std::time::Duration;

use chrono::Duration as ChronoDuration;

use crate::client::ClientError;
use crate::console::action::{Action, Effect};
use crate::console::app::*;
use crate::console::fixtures::{self, now};
use crate::console::i18n::Lang;
use crate::console::test_keys::select;
use crate::wire::LeftCase;

#[test]
fn a_tombstone_drops_the_case_and_the_selection_moves_on() {
    let mut app = fixtures::app(Lang::En);
    let gone = 57;
    select(&mut app, gone);
    let held = app.cases.len();
    let mut changes = fixtures::changes(vec![], false, "c2");
    changes.left = vec![LeftCase { id: gone }];
    let fx = app.update(Action::FeedLoaded {
        changes,
        received_at: now(),
    });
    assert!(!app.cases.contains_key(&gone));
    assert_eq!(app.cases.len(), held - 1);
    assert!(app.queues.iter().all(|q| q.ids().all(|id| id != gone)));
    assert!(app.search.ids().all(|id| id != gone));
    let now_selected = app.selected_id.expect("another case is selected");
    assert_ne!(now_selected, gone);
    assert!(app.cases.contains_key(&now_selected));
    assert!(app.detail.as_ref().is_none_or(|d| d.case.id != gone));
    assert!(
        fx.contains(&Effect::FetchDetail {
            case_id: now_selected,
            reveal_phone: false
        }),
        "{fx:?}"
    );
}

#[test]
fn a_refused_cursor_asks_for_a_new_snapshot_and_says_why() {
    let mut app = fixtures::app(Lang::En);
    let later = now() + ChronoDuration::seconds(30);
    app.update(Action::FeedFailed {
        error: ClientError::Unreachable("connection refused".into()),
        at: now(),
        retry_in: Duration::from_secs(1),
    });
    let held = app.cases.len();
    let fx = app.update(Action::FeedReset { at: later });
    assert_eq!(fx, [Effect::Resnapshot]);
    let msg = app.message.clone().expect("a status message");
    assert_eq!(msg.text, app.i18n.t("msg.resnapshot"));
    assert_eq!(msg.level, Level::Info);
    // The last good data stays on screen until the new snapshot replaces it.
    assert_eq!(app.cases.len(), held);
    assert!(app.failure.is_none(), "the server answered");
    let one = fixtures::sample_cases().remove(0);
    app.update(Action::FeedLoaded {
        changes: fixtures::changes(vec![one.clone()], true, "new.3"),
        received_at: later,
    });
    assert_eq!(app.cases.keys().collect::<Vec<_>>(), [&one.id]);
    assert_eq!(
        app.message.map(|m| m.text),
        Some(msg.text),
        "not overwritten"
    );
}
