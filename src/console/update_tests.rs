//! `App::update`, driven with actions the way the loop drives it; no terminal, no network.

use std::time::Duration;

use chrono::Duration as ChronoDuration;
use crossterm::event::{KeyCode, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};

use crate::client::ClientError;
use crate::console::action::{Action, Effect, RequestId};
use crate::console::app::supervision::SupKind;
use crate::console::app::*;
use crate::console::fixtures::{self, now};
use crate::console::i18n::Lang;
use crate::console::test_keys::{code, ctrl, key, select, typed};
use crate::wire::{
    AnswerBody, Case, CaseAction, CaseList, Channel, DepartmentKind, DispatchBody, FieldError,
    Problem, Status, TextBody, Tier, TierBody,
};

fn app() -> App {
    fixtures::app(Lang::En)
}
fn refs(app: &App, pane: usize) -> Vec<String> {
    app.queues[pane]
        .ids()
        .map(|id| app.cases[&id].reference[12..].to_string())
        .collect()
}
fn the_act(effects: &[Effect]) -> (RequestId, i64, i64, CaseAction, String) {
    effects
        .iter()
        .find_map(|e| match e {
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
        .unwrap_or_else(|| panic!("no Act in {effects:?}"))
}
fn done(app: &mut App, request: RequestId, mut case: Case) -> Vec<Effect> {
    case.version += 1;
    app.update(Action::ActionDone {
        request,
        case: Box::new(fixtures::detail(&case)),
    })
}
fn problem(status: u16, detail: &str) -> Problem {
    Problem {
        kind: "about:blank".into(),
        title: "refused".into(),
        status,
        detail: detail.into(),
        errors: vec![],
        current: None,
        current_department: None,
    }
}

// ---- feed events ---------------------------------------------------------------------------

#[test]
fn snapshot_fills_panes_sorted_by_next_deadline() {
    let app = app();
    assert_eq!(refs(&app, 0), ["0134", "0133", "0135"]);
    assert_eq!(refs(&app, 1), ["0042", "0057"]);
    assert_eq!(refs(&app, 2), ["0102", "0101"]);
    assert_eq!(refs(&app, 3), ["0119", "0120"]);
    assert_eq!(app.untriaged_total, 3);
    assert_eq!(app.red_total, 2);
    assert_eq!(app.overdue_total(now()), 2);
    // The server's clock is 2 s ahead: countdowns follow it, not the workstation.
    assert_eq!(app.offset, ChronoDuration::seconds(2));
    assert_eq!(app.seconds_left(&app.cases[&42], now()), Some(-190));
    assert_eq!(app.conn_state(now()), ConnState::Live);
    assert_eq!(app.selected_id, Some(134));
}

#[test]
fn deltas_apply_in_place_and_never_roll_back() {
    let mut app = app();
    let mut c = app.cases[&57].clone();
    c.version = 3;
    c.status = Status::Dispatched;
    c.department_id = Some(3);
    let mut older = c.clone();
    older.version = 2;
    older.title = "stale".into();
    let mut closed = app.cases[&119].clone();
    closed.version = 2;
    closed.status = Status::Closed;
    app.update(Action::FeedLoaded {
        changes: fixtures::changes(vec![*c, *older, *closed], false, "c2"),
        received_at: now(),
    });
    assert_eq!(app.cases[&57].version, 3);
    assert_eq!(app.cases[&57].department_id, Some(3));
    assert_eq!(app.cases.len(), 9, "a delta does not drop held cases");
    assert_eq!(refs(&app, 3), ["0120"], "a closed case leaves the queue");
    assert_eq!(app.search.len(), 9, "but stays searchable");
}

#[test]
fn a_department_console_drops_a_case_taken_away_from_it() {
    let mut app = app();
    let held = app.cases[&57].department_id;
    let mut me = fixtures::me();
    me.role = crate::wire::Role::Department;
    me.department_id = Some(3);
    app.update(Action::SessionLoaded(Box::new(
        crate::console::action::Session {
            me,
            policy: crate::wire::Policy::default(),
            departments: fixtures::departments(),
            catalog: crate::catalog::Catalog::kaihua(),
        },
    )));
    let mut mine = app.cases[&57].clone();
    mine.version += 1;
    mine.status = Status::InProgress;
    mine.department_id = Some(3);
    app.update(Action::FeedLoaded {
        changes: fixtures::changes(vec![*mine.clone()], false, "c2"),
        received_at: now(),
    });
    assert_eq!(app.cases[&57].status, Status::InProgress);
    // The department returns it: the feed brings the change, and the case leaves.
    let mut returned = mine;
    returned.version += 1;
    returned.status = Status::Triaged;
    returned.department_id = None;
    app.update(Action::FeedLoaded {
        changes: fixtures::changes(vec![*returned], false, "c3"),
        received_at: now(),
    });
    assert!(!app.cases.contains_key(&57), "held before by {held:?}");
    assert!(app.queues.iter().all(|q| q.ids().all(|id| id != 57)));
}

#[test]
fn a_new_snapshot_replaces_everything() {
    let mut app = app();
    let one = fixtures::sample_cases().remove(0);
    app.update(Action::FeedLoaded {
        changes: fixtures::changes(vec![one], true, "c9"),
        received_at: now(),
    });
    assert_eq!(app.cases.len(), 1);
}

#[test]
fn an_update_to_the_selected_case_refetches_its_timeline() {
    let mut app = app();
    let mut c = app.cases[&134].clone();
    c.version = 5;
    let fx = app.update(Action::FeedLoaded {
        changes: fixtures::changes(vec![*c], false, "c2"),
        received_at: now(),
    });
    assert_eq!(
        fx,
        [Effect::FetchDetail {
            case_id: 134,
            reveal_phone: false
        }]
    );
}

#[test]
fn connection_goes_stale_then_offline_then_live() {
    let mut app = app();
    let later = now() + ChronoDuration::seconds(41);
    assert_eq!(app.conn_state(later), ConnState::Stale { age: 41 });
    app.update(Action::FeedFailed {
        error: ClientError::Unreachable("connection refused".into()),
        at: later,
        retry_in: Duration::from_secs(4),
    });
    assert_eq!(app.conn_state(later), ConnState::Offline { retry_in: 4 });
    assert_eq!(
        app.conn_state(later + ChronoDuration::seconds(3)),
        ConnState::Offline { retry_in: 1 }
    );
    // The last data stays on screen.
    assert_eq!(app.cases.len(), 9);
    let back = later + ChronoDuration::seconds(5);
    app.update(Action::FeedLoaded {
        changes: fixtures::changes(vec![], false, "c3"),
        received_at: back,
    });
    assert_eq!(app.conn_state(back), ConnState::Live);
    assert_eq!(app.cases.len(), 9);
    assert_eq!(app.message.as_ref().map(|m| m.level), Some(Level::Success));
}

#[test]
fn a_refused_token_is_explained() {
    let mut app = app();
    app.update(Action::FeedFailed {
        error: ClientError::Api(Box::new(problem(401, "bad token"))),
        at: now(),
        retry_in: Duration::from_secs(1),
    });
    let f = app.failure.as_ref().unwrap();
    assert!(app.error_text(&f.error).contains("token"));
}

#[test]
fn confirmations_fade_and_errors_stay() {
    let mut app = app();
    app.update(key('R'));
    assert!(app.message.is_some());
    app.update(Action::Tick(now() + ChronoDuration::seconds(11)));
    assert!(app.message.is_none());
    app.update(Action::DetailFailed {
        case_id: 134,
        error: ClientError::Unreachable("x".into()),
    });
    app.update(Action::Tick(now() + ChronoDuration::seconds(60)));
    assert!(app.message.is_some());
    app.update(code(KeyCode::Esc));
    assert!(app.message.is_none(), "Esc dismisses it");
}

#[test]
fn the_servers_field_errors_land_on_the_form_fields() {
    let mut app = app();
    app.update(key('n'));
    typed(&mut app, "t");
    for s in ["jy", "n", "123", "mj"] {
        app.update(code(KeyCode::Tab));
        typed(&mut app, s);
    }
    let fx = app.update(ctrl('s'));
    let Some(Effect::Create { request, .. }) = fx.first().cloned() else {
        panic!("{fx:?}")
    };
    let mut p = problem(422, "invalid case");
    p.errors = vec![FieldError {
        field: "requester.phone".into(),
        message: "not a phone number".into(),
    }];
    app.update(Action::ActionFailed {
        request,
        error: ClientError::Api(Box::new(p)),
    });
    let Mode::NewCase(f) = &app.mode else {
        panic!()
    };
    assert_eq!(
        f.errors.get(&4).map(String::as_str),
        Some("not a phone number")
    );
    assert_eq!(f.focus, 4);
}

#[test]
fn tick_and_resize_are_recorded() {
    let mut app = app();
    let t = now() + ChronoDuration::seconds(1);
    assert!(app.update(Action::Tick(t)).is_empty());
    assert_eq!(app.now, t);
    app.update(Action::Resize {
        width: 80,
        height: 24,
    });
    assert_eq!(app.size, (80, 24));
}

// ---- moving and viewing --------------------------------------------------------------------

#[test]
fn moving_crosses_panes_and_fetches_the_detail() {
    let mut app = app();
    let fx = typed(&mut app, "jjj");
    assert_eq!(app.selected_id, Some(42));
    assert_eq!(app.cursor, Cursor { pane: 1, index: 0 });
    assert!(fx.contains(&Effect::FetchDetail {
        case_id: 42,
        reveal_phone: false
    }));
    app.update(key('G'));
    assert_eq!(app.selected_id, Some(120));
    app.update(key('k'));
    assert_eq!(app.selected_id, Some(119));
    app.update(key('g'));
    assert_eq!(app.selected_id, Some(134));
    app.update(code(KeyCode::PageDown));
    assert!(app.cursor.pane > 0);
}

#[test]
fn brackets_jump_between_panes() {
    let mut app = app();
    app.update(key(']'));
    assert_eq!(app.selected_id, Some(42));
    app.update(key(']'));
    app.update(key(']'));
    assert_eq!(app.cursor.pane, 3);
    app.update(key(']'));
    assert_eq!(app.cursor.pane, 0, "wraps around");
    app.update(key('['));
    assert_eq!(app.cursor.pane, 3);
}

#[test]
fn the_cursor_follows_its_case_when_the_lists_change() {
    let mut app = app();
    select(&mut app, 57);
    let mut c = app.cases[&57].clone();
    c.version = 2;
    c.next_due.as_mut().unwrap().due_at -= ChronoDuration::hours(2);
    app.update(Action::FeedLoaded {
        changes: fixtures::changes(vec![*c], false, "c2"),
        received_at: now(),
    });
    assert_eq!(app.selected_id, Some(57));
    assert_eq!(app.cursor, Cursor { pane: 1, index: 0 });
}

#[test]
fn views_switch_by_number_and_tab() {
    let mut app = app();
    app.update(key('5'));
    assert_eq!(app.view, View::Search);
    app.update(code(KeyCode::Tab));
    assert_eq!(app.view, View::Queue);
    app.update(code(KeyCode::BackTab));
    assert_eq!(app.view, View::Search);
    app.update(key('2'));
    assert_eq!(app.view, View::Overdue);
    app.update(key('1'));
    assert_eq!(app.view, View::Queue);
}

#[test]
fn enter_toggles_the_detail_and_p_reveals_the_phone() {
    let mut app = app();
    app.update(code(KeyCode::Enter));
    assert!(app.show_detail);
    app.update(code(KeyCode::Esc));
    assert!(!app.show_detail);
    let fx = app.update(key('p'));
    assert_eq!(
        fx,
        [Effect::FetchDetail {
            case_id: 134,
            reveal_phone: true
        }]
    );
    let mut d = fixtures::detail(&app.cases[&134]);
    d.case.requester.phone = "13800000000".into();
    app.update(Action::DetailLoaded(Box::new(d)));
    assert_eq!(
        app.detail.as_ref().unwrap().case.requester.phone,
        "13800000000"
    );
    assert_eq!(
        app.cases[&134].requester.phone, "138****0000",
        "lists stay masked"
    );
    app.update(key('j'));
    assert!(!app.phone_revealed, "moving away masks it again");
}

#[test]
fn a_timeline_for_a_case_no_longer_selected_is_dropped() {
    let mut app = app();
    app.update(Action::DetailLoaded(Box::new(fixtures::detail(
        &app.cases[&57].clone(),
    ))));
    assert!(app.detail.is_none());
    app.update(Action::DetailFailed {
        case_id: 134,
        error: ClientError::Unreachable("x".into()),
    });
    assert_eq!(app.message.as_ref().map(|m| m.level), Some(Level::Error));
}

#[test]
fn help_quit_and_refresh() {
    let mut app = app();
    app.update(key('?'));
    assert!(matches!(app.mode, Mode::Help));
    app.update(key('x'));
    assert!(matches!(app.mode, Mode::Normal));
    assert_eq!(app.update(key('R')), [Effect::RefreshNow]);
    assert_eq!(app.update(key('q')), [Effect::Quit]);
    assert_eq!(app.update(ctrl('c')), [Effect::Quit]);
}

#[test]
fn mouse_click_selects_and_wheel_scrolls() {
    let mut app = app();
    // Rows: 0 top bar, 1 tabs, 2 border, 3 the untriaged header, 4.. its cases.
    app.update(Action::Mouse(MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: 10,
        row: 5,
        modifiers: KeyModifiers::NONE,
    }));
    assert_eq!(app.selected_id, Some(133));
    app.update(Action::Mouse(MouseEvent {
        kind: MouseEventKind::ScrollDown,
        column: 10,
        row: 4,
        modifiers: KeyModifiers::NONE,
    }));
    assert_eq!(app.selected_id, Some(57));
}

// ---- filter and search ---------------------------------------------------------------------

#[test]
fn filter_is_incremental_over_ref_title_town_and_department() {
    let mut app = app();
    app.update(key('/'));
    typed(&mut app, "池淮");
    assert_eq!(refs(&app, 0), ["0134"]);
    assert_eq!(refs(&app, 2), ["0102"]);
    assert!(refs(&app, 1).is_empty());
    // Department by pinyin initials: 卫健局 → wjj.
    for _ in 0..2 {
        app.update(code(KeyCode::Backspace));
    }
    typed(&mut app, "wjj");
    assert_eq!(refs(&app, 1), ["0042"]);
    assert!(refs(&app, 0).is_empty());
    app.update(code(KeyCode::Backspace));
    app.update(code(KeyCode::Backspace));
    app.update(code(KeyCode::Backspace));
    typed(&mut app, "0101");
    assert_eq!(refs(&app, 2), ["0101"]);
    app.update(code(KeyCode::Enter));
    assert!(matches!(app.mode, Mode::Normal));
    assert_eq!(app.filter, "0101", "Enter keeps the filter");
    app.update(code(KeyCode::Esc));
    assert_eq!(app.filter, "", "Esc in the list clears it");
    assert_eq!(refs(&app, 0).len(), 3);
}

#[test]
fn search_asks_the_server_for_older_cases() {
    let mut app = app();
    app.update(key('5'));
    app.update(key('/'));
    typed(&mut app, "奶粉");
    assert_eq!(app.search.len(), 1);
    let fx = app.update(code(KeyCode::Enter));
    assert_eq!(
        fx,
        [Effect::Search {
            query: "奶粉".into()
        }]
    );
    let mut old = fixtures::sample_cases()[5].clone();
    old.id = 7;
    old.reference = "KH-20220401-0007".into();
    old.status = Status::Closed;
    app.update(Action::SearchLoaded {
        query: "奶粉".into(),
        list: CaseList {
            cases: vec![old],
            next_cursor: None,
            server_time: fixtures::changes(vec![], false, "").server_time,
        },
    });
    assert_eq!(app.search.len(), 2);
    app.update(Action::SearchFailed {
        query: "x".into(),
        error: ClientError::Unreachable("down".into()),
    });
    assert_eq!(app.message.as_ref().map(|m| m.level), Some(Level::Error));
}

// ---- case actions --------------------------------------------------------------------------

#[test]
fn triage_sends_the_tier_with_the_held_version() {
    let mut app = app();
    assert!(app.update(key('t')).is_empty());
    assert!(matches!(
        app.mode,
        Mode::Tier {
            case_id: 134,
            retier: false
        }
    ));
    let fx = app.update(key('o'));
    let (_, id, version, action, _) = the_act(&fx);
    assert_eq!((id, version), (134, 1));
    assert_eq!(
        action,
        CaseAction::Triage(TierBody {
            tier: Tier::Orange,
            note: None
        })
    );
}

#[test]
fn t_on_a_triaged_case_retiers_and_esc_cancels() {
    let mut app = app();
    select(&mut app, 57);
    app.update(key('t'));
    assert!(app.update(code(KeyCode::Esc)).is_empty());
    assert!(matches!(app.mode, Mode::Normal));
    app.update(key('t'));
    let (_, _, _, action, _) = the_act(&app.update(key('b')));
    assert!(matches!(
        action,
        CaseAction::Retier(TierBody {
            tier: Tier::Blue,
            ..
        })
    ));
}

#[test]
fn dispatch_takes_triage_tier_assign_a_few_letters_and_enter() {
    let mut app = app();
    let case = app.cases[&134].clone();
    // t r a w j j Enter: seven keys.
    app.update(key('t'));
    let (triage_req, _, _, _, _) = the_act(&app.update(key('r')));
    app.update(key('a'));
    typed(&mut app, "wjj");
    let Mode::Picker(p) = &app.mode else {
        panic!("picker open")
    };
    assert_eq!(app.picker_items(p.query.as_str())[0].department_id, 3);
    // The triage has not answered yet: the dispatch waits for it rather than race it.
    assert!(app.update(code(KeyCode::Enter)).is_empty());
    let mut triaged = case.clone();
    triaged.tier = Some(Tier::Red);
    triaged.status = Status::Triaged;
    let fx = done(&mut app, triage_req, *triaged.clone());
    let (req, id, version, action, _) = the_act(&fx);
    assert_eq!(
        (id, version),
        (134, 2),
        "sent on the version our triage produced"
    );
    assert_eq!(
        action,
        CaseAction::Dispatch(DispatchBody {
            department_id: 3,
            note: None
        })
    );
    triaged.version = 2;
    triaged.status = Status::Dispatched;
    triaged.department_id = Some(3);
    done(&mut app, req, *triaged);
    assert!(matches!(app.mode, Mode::Normal));
    assert_eq!(app.cases[&134].status, Status::Dispatched);
    assert_eq!(
        app.selected_id,
        Some(134),
        "the cursor follows the case into the red pane"
    );
    assert_eq!(app.cursor.pane, 1);
}

#[test]
fn picker_groups_townships_first_and_most_used_first() {
    let app = app();
    let items = app.picker_items("");
    let kinds: Vec<_> = items.iter().map(|i| i.kind).collect();
    assert_eq!(kinds[0], DepartmentKind::Township);
    assert_eq!(kinds.last(), Some(&DepartmentKind::Hospital));
    // 池淮镇 (6) holds a case, 马金镇/华埠镇 none: most used first.
    assert_eq!(items[0].department_id, 6);
    assert_eq!(
        app.picker_items("hb")
            .iter()
            .map(|i| i.department_id)
            .collect::<Vec<_>>(),
        [2]
    );
    assert!(app.picker_items("zzz").is_empty());
}

#[test]
fn a_returned_case_names_the_department_that_returned_it() {
    let mut app = app();
    select(&mut app, 57);
    let mut d = fixtures::detail(&app.cases[&57]);
    let mut ret = d.events[0].clone();
    ret.id = 9;
    ret.action = "return".into();
    ret.payload = serde_json::json!({"department_id": 5, "department_name": "交通运输局", "reason": "不属于本部门职责"});
    d.events.push(ret);
    app.update(Action::DetailLoaded(Box::new(d)));
    assert_eq!(app.returned_by(57), Some(5));
    assert_eq!(app.returned_by(134), None);
}

#[test]
fn picker_moves_with_arrows_and_esc_closes() {
    let mut app = app();
    select(&mut app, 119);
    app.update(key('a'));
    app.update(code(KeyCode::Down));
    app.update(code(KeyCode::Down));
    app.update(code(KeyCode::Up));
    let Mode::Picker(p) = &app.mode else { panic!() };
    assert_eq!(p.selected, 1);
    app.update(code(KeyCode::Esc));
    assert!(matches!(app.mode, Mode::Normal));
}

#[test]
fn claim_and_release_toggle_on_who_holds_the_case() {
    let mut app = app();
    let (_, _, _, a, _) = the_act(&app.update(key('c')));
    assert!(matches!(a, CaseAction::Claim(_)));
    let mut app = self::app();
    select(&mut app, 133); // claimed by op-li, that is us
    let (_, _, _, a, _) = the_act(&app.update(key('c')));
    assert!(matches!(a, CaseAction::Release(_)));
}

#[test]
fn urge_is_a_one_key_action() {
    let mut app = fixtures::app_as(Lang::En, fixtures::supervisor(), fixtures::sample_cases());
    app.update(key('1'));
    select(&mut app, 42);
    // Urging asks to confirm, with an optional note.
    assert!(app.update(key('u')).is_empty());
    let (_, id, _, a, _) = the_act(&app.update(code(KeyCode::Enter)));
    assert_eq!(id, 42);
    assert!(matches!(a, CaseAction::Urge(_)));
}

#[test]
fn answer_online_takes_multiline_text() {
    let mut app = app();
    app.update(key('o'));
    assert!(app.update(ctrl('s')).is_empty(), "empty text is not sent");
    let Mode::Text(f) = &app.mode else { panic!() };
    assert!(f.error.is_some());
    typed(&mut app, "已联系");
    app.update(code(KeyCode::Enter));
    typed(&mut app, "ok");
    app.update(code(KeyCode::Backspace));
    let (req, id, _, a, _) = the_act(&app.update(ctrl('s')));
    assert_eq!(id, 134);
    assert_eq!(
        a,
        CaseAction::AnswerOnline(AnswerBody {
            text: "已联系\no".into(),
            answer: None,
        })
    );
    let c = app.cases[&134].clone();
    done(&mut app, req, *c);
    assert!(matches!(app.mode, Mode::Normal));
}

#[test]
fn esc_puts_typed_text_aside_and_reopening_brings_it_back() {
    let mut app = app();
    app.update(key('o'));
    typed(&mut app, "已联系");
    app.update(code(KeyCode::Esc));
    assert!(matches!(app.mode, Mode::Normal));
    app.update(key('N'));
    let Mode::Text(f) = &app.mode else { panic!() };
    assert_eq!(f.text, "", "a note is a different draft");
    app.update(code(KeyCode::Esc));
    app.update(key('o'));
    let Mode::Text(f) = &app.mode else { panic!() };
    assert_eq!(f.text, "已联系");
    app.update(code(KeyCode::Esc));
    app.update(key('n'));
    typed(&mut app, "老人走失");
    app.update(code(KeyCode::Esc));
    app.update(key('n'));
    let Mode::NewCase(f) = &app.mode else {
        panic!()
    };
    assert_eq!(f.fields[1], "老人走失");
}

#[test]
fn a_note_is_added() {
    let mut app = app();
    app.update(key('N'));
    typed(&mut app, "家属已到");
    let (_, _, _, a, _) = the_act(&app.update(ctrl('s')));
    assert_eq!(
        a,
        CaseAction::Note(TextBody {
            text: "家属已到".into()
        })
    );
}

#[test]
fn new_case_form_validates_then_creates_into_untriaged() {
    let mut app = app();
    app.update(key('n'));
    assert!(app.update(ctrl('s')).is_empty());
    let Mode::NewCase(f) = &app.mode else {
        panic!()
    };
    assert!(f.errors.contains_key(&1) && f.errors.contains_key(&3) && f.errors.contains_key(&5));
    assert_eq!(f.focus, 1, "focus jumps to the first bad field");
    app.update(code(KeyCode::Up));
    app.update(code(KeyCode::Right));
    app.update(code(KeyCode::Tab));
    typed(&mut app, "独居老人断药");
    app.update(code(KeyCode::Tab));
    typed(&mut app, "yp"); // 药品需求, by its pinyin initials
    app.update(code(KeyCode::Enter));
    typed(&mut app, "刘奶奶");
    app.update(code(KeyCode::Enter));
    typed(&mut app, "12x");
    assert!(app.update(ctrl('s')).is_empty());
    let Mode::NewCase(f) = &app.mode else {
        panic!()
    };
    assert!(
        f.errors.contains_key(&4),
        "a bad phone is caught before sending"
    );
    assert_eq!(f.focus, 4);
    app.update(code(KeyCode::Backspace));
    typed(&mut app, "3456789");
    app.update(code(KeyCode::Tab));
    typed(&mut app, "华埠镇");
    let fx = app.update(ctrl('s'));
    let Some(Effect::Create { request, case, .. }) = fx.first().cloned() else {
        panic!("{fx:?}")
    };
    assert_eq!(case.channel, Channel::Web);
    assert_eq!(case.title, "独居老人断药");
    assert_eq!(case.category, "medicine");
    assert_eq!(case.requester.phone, "123456789");
    assert_eq!(case.location.town, "华埠镇");
    let mut created = fixtures::case(
        200,
        None,
        Status::New,
        900,
        "独居老人断药",
        "华埠镇",
        None,
        None,
    );
    created.version = 0;
    done(&mut app, request, created);
    assert!(matches!(app.mode, Mode::Normal));
    assert!(app.queues[0].ids().any(|id| id == 200));
    assert_eq!(app.selected_id, Some(200));
}

// ---- failures ------------------------------------------------------------------------------

#[test]
fn a_form_sent_while_offline_is_kept_and_resent_with_the_same_key() {
    let mut app = app();
    app.update(key('o'));
    typed(&mut app, "answer");
    let (req, _, _, _, key1) = the_act(&app.update(ctrl('s')));
    app.update(Action::ActionFailed {
        request: req,
        error: ClientError::Unreachable("connection refused".into()),
    });
    let Mode::Text(f) = &app.mode else {
        panic!("form kept")
    };
    assert_eq!(f.text, "answer");
    assert!(!f.sending && f.error.is_some());
    let (_, _, _, _, key2) = the_act(&app.update(ctrl('s')));
    assert_eq!(
        key1, key2,
        "a retry of the same intent reuses its idempotency key"
    );
}

#[test]
fn a_one_key_action_sent_while_offline_opens_a_retry_dialog() {
    let mut app = app();
    let (req, _, _, _, key1) = the_act(&app.update(key('c')));
    app.update(Action::ActionFailed {
        request: req,
        error: ClientError::Unreachable("connection refused".into()),
    });
    assert!(matches!(app.mode, Mode::Unsent { .. }));
    app.update(key('x'));
    assert!(
        matches!(app.mode, Mode::Unsent { .. }),
        "stray keys do not lose it"
    );
    let (_, _, _, _, key2) = the_act(&app.update(code(KeyCode::Enter)));
    assert_eq!(key1, key2);
    // Discarding is an explicit choice.
    let mut app = self::app();
    let (req, _, _, _, _) = the_act(&app.update(key('c')));
    app.update(Action::ActionFailed {
        request: req,
        error: ClientError::Api(Box::new(problem(503, "maintenance"))),
    });
    assert!(app.update(code(KeyCode::Esc)).is_empty());
    assert!(matches!(app.mode, Mode::Normal));
}

#[test]
fn a_412_shows_what_changed_and_retries_on_the_fresh_case() {
    let mut app = app();
    select(&mut app, 57);
    app.update(key('a'));
    typed(&mut app, "wjj");
    let (req, _, _, _, key1) = the_act(&app.update(code(KeyCode::Enter)));
    let mut current = app.cases[&57].clone();
    current.version = 4;
    current.claimed_by = Some("op-wang".into());
    let mut p = problem(412, "the case has changed");
    p.current = Some(Box::new(fixtures::detail(&current)));
    app.update(Action::ActionFailed {
        request: req,
        error: ClientError::Api(Box::new(p)),
    });
    let Mode::Conflict { changes, .. } = &app.mode else {
        panic!("{:?}", app.mode)
    };
    assert!(changes.contains(&("field.claimed_by", "—".into(), "op-wang".into())));
    assert!(changes.contains(&("field.version", "1".into(), "4".into())));
    assert_eq!(app.cases[&57].version, 4, "the fresh case is shown");
    let (_, id, version, action, key2) = the_act(&app.update(code(KeyCode::Enter)));
    assert_eq!((id, version), (57, 4));
    assert!(matches!(
        action,
        CaseAction::Dispatch(DispatchBody {
            department_id: 3,
            ..
        })
    ));
    assert_ne!(key1, key2, "a retry on a new version is a new request");
    assert!(
        matches!(app.mode, Mode::Picker(_)),
        "the form is back, sending"
    );
}

#[test]
fn a_412_dialog_can_go_back_to_the_form() {
    let mut app = app();
    app.update(key('N'));
    typed(&mut app, "note");
    let (req, ..) = the_act(&app.update(ctrl('s')));
    let mut current = app.cases[&134].clone();
    current.version = 9;
    let mut p = problem(412, "changed");
    p.current = Some(Box::new(fixtures::detail(&current)));
    app.update(Action::ActionFailed {
        request: req,
        error: ClientError::Api(Box::new(p)),
    });
    app.update(code(KeyCode::Esc));
    let Mode::Text(f) = &app.mode else {
        panic!("{:?}", app.mode)
    };
    assert_eq!((f.text.as_str(), f.seen.version), ("note", 9));
}

#[test]
fn a_refusal_shows_the_servers_reason() {
    let mut app = app();
    app.update(key('o'));
    typed(&mut app, "x");
    let (req, _, _, _, key1) = the_act(&app.update(ctrl('s')));
    let mut p = problem(422, "invalid body");
    p.errors = vec![FieldError {
        field: "text".into(),
        message: "too short".into(),
    }];
    app.update(Action::ActionFailed {
        request: req,
        error: ClientError::Api(Box::new(p)),
    });
    let Mode::Text(f) = &app.mode else { panic!() };
    let e = f.error.clone().unwrap();
    assert!(
        e.contains("invalid body") && e.contains("text: too short"),
        "{e}"
    );
    let (_, _, _, _, key2) = the_act(&app.update(ctrl('s')));
    assert_ne!(key1, key2, "a refused key would only replay the refusal");

    let mut app = self::app();
    let (req, ..) = the_act(&app.update(key('c')));
    app.update(Action::ActionFailed {
        request: req,
        error: ClientError::Api(Box::new(problem(409, "case is claimed by op-wang"))),
    });
    assert!(matches!(app.mode, Mode::Normal));
    let m = app.message.clone().unwrap();
    assert_eq!(m.level, Level::Error);
    assert!(m.text.contains("case is claimed by op-wang"));
}

#[test]
fn answers_to_unknown_requests_are_ignored() {
    let mut app = app();
    let c = app.cases[&134].clone();
    assert!(done(&mut app, 999, *c).is_empty());
    assert!(
        app.update(Action::ActionFailed {
            request: 999,
            error: ClientError::BadReply("x".into())
        })
        .is_empty()
    );
    assert_eq!(app.cases[&134].version, 1);
}

#[test]
fn a_412_on_a_one_key_action_leaves_a_form_opened_meanwhile_alone() {
    let mut app = app();
    let (req, ..) = the_act(&app.update(key('c')));
    app.update(key('N'));
    typed(&mut app, "记一笔");
    let mut current = app.cases[&134].clone();
    current.version = 3;
    let mut p = problem(412, "changed");
    p.current = Some(Box::new(fixtures::detail(&current)));
    app.update(Action::ActionFailed {
        request: req,
        error: ClientError::Api(Box::new(p)),
    });
    assert!(matches!(
        app.mode,
        Mode::Conflict {
            from_form: false,
            ..
        }
    ));
    let (_, _, version, action, _) = the_act(&app.update(code(KeyCode::Enter)));
    assert_eq!(version, 3);
    assert!(matches!(action, CaseAction::Claim(_)));
    let Mode::Text(f) = &app.mode else {
        panic!("{:?}", app.mode)
    };
    assert!(!f.sending, "the note was not sent");
    assert_eq!(f.text, "记一笔");
}

#[test]
fn a_412_is_explained_against_what_the_operator_saw_even_if_the_feed_was_faster() {
    let mut app = app();
    select(&mut app, 119);
    app.update(key('a'));
    let mut changed = app.cases[&119].clone();
    changed.version = 2;
    changed.tier = Some(Tier::Red);
    changed.claimed_by = Some("op-wang".into());
    app.update(Action::FeedLoaded {
        changes: fixtures::changes(vec![*changed.clone()], false, "c2"),
        received_at: now(),
    });
    typed(&mut app, "wjj");
    let (req, _, version, ..) = the_act(&app.update(code(KeyCode::Enter)));
    assert_eq!(version, 1, "based on what the operator saw");
    let mut p = problem(412, "changed");
    p.current = Some(Box::new(fixtures::detail(&changed)));
    app.update(Action::ActionFailed {
        request: req,
        error: ClientError::Api(Box::new(p)),
    });
    let Mode::Conflict { changes, .. } = &app.mode else {
        panic!("{:?}", app.mode)
    };
    assert!(
        changes.contains(&("field.claimed_by", "—".into(), "op-wang".into())),
        "{changes:?}"
    );
    assert!(changes.contains(&("field.tier", "blue".into(), "red".into())));
}

#[test]
fn typing_errors_are_fixed_in_place() {
    let mut app = app();
    app.update(key('o'));
    typed(&mut app, "车辆21:30到");
    for _ in 0..6 {
        app.update(code(KeyCode::Left));
    }
    app.update(code(KeyCode::Backspace));
    typed(&mut app, "已派，");
    let Mode::Text(f) = &app.mode else { panic!() };
    assert_eq!(f.text, "车已派，21:30到");
    let mut app = self::app();
    app.update(key('n'));
    typed(&mut app, "老人走丢");
    app.update(code(KeyCode::Left));
    app.update(code(KeyCode::Backspace));
    typed(&mut app, "失");
    let Mode::NewCase(f) = &app.mode else {
        panic!()
    };
    assert_eq!(f.fields[1], "老人失丢");
}

#[test]
fn e_decides_an_extension_request() {
    let mut app = fixtures::app_as(Lang::En, fixtures::supervisor(), fixtures::sample_cases());
    app.update(key('1'));
    select(&mut app, 42);
    app.update(key('e'));
    assert!(matches!(app.mode, Mode::Normal), "nothing to decide");
    assert!(app.message.is_some());
    let mut c = app.cases[&42].clone();
    c.version = 2;
    c.pending_extension = Some(crate::wire::PendingExtension {
        until: c.received_at + ChronoDuration::hours(8),
        reason: "需协调车辆".into(),
        requested_by: "wj-zhang".into(),
        requested_at: c.received_at,
    });
    app.update(Action::FeedLoaded {
        changes: fixtures::changes(vec![*c], false, "c2"),
        received_at: now(),
    });
    app.update(key('e'));
    let Mode::Sup(f) = &app.mode else {
        panic!(
            "e opens the extension dialog in the Queue view too: {:?}",
            app.mode
        )
    };
    assert_eq!(
        (f.case_id, f.kind),
        (42, SupKind::Extension { approve: true })
    );
    // Tab chooses deny; other keys are the note.
    app.update(code(KeyCode::Tab));
    typed(&mut app, "ny");
    let Mode::Sup(f) = &app.mode else { panic!() };
    assert_eq!(f.kind, SupKind::Extension { approve: false });
    assert_eq!(f.note, "ny", "y and n are text here, not choices");
    let (_, id, version, action, key) = the_act(&app.update(code(KeyCode::Enter)));
    assert_eq!((id, version), (42, 2));
    assert!(!key.is_empty(), "an idempotency key");
    assert_eq!(
        action,
        CaseAction::DecideExtension(crate::wire::ExtensionDecisionBody {
            approve: false,
            note: Some("ny".into())
        })
    );
}

#[test]
fn f_records_a_follow_up_of_a_resolved_case() {
    let mut app = fixtures::app_as(Lang::En, fixtures::supervisor(), fixtures::sample_cases());
    app.update(key('1'));
    app.update(key('f'));
    assert!(matches!(app.mode, Mode::Normal), "not resolved");
    let mut c = app.cases[&42].clone();
    c.version = 3;
    c.status = Status::Resolved;
    app.update(Action::FeedLoaded {
        changes: fixtures::changes(vec![*c], false, "c2"),
        received_at: now(),
    });
    // Resolved cases leave the queues; the Search view still lists them.
    app.update(key('5'));
    select(&mut app, 42);
    app.update(key('f'));
    let Mode::Sup(f) = &app.mode else {
        panic!(
            "f opens the follow-up dialog in the Search view too: {:?}",
            app.mode
        )
    };
    assert_eq!(f.case_id, 42);
    assert_eq!(
        f.kind,
        SupKind::FollowUp {
            result: crate::wire::Satisfaction::Satisfied
        }
    );
    app.update(code(KeyCode::Tab));
    typed(&mut app, "2");
    let (_, id, version, action, key) = the_act(&app.update(code(KeyCode::Enter)));
    assert_eq!((id, version), (42, 3));
    assert!(!key.is_empty(), "an idempotency key");
    assert_eq!(
        action,
        CaseAction::FollowUp(crate::wire::FollowUpBody {
            result: crate::wire::Satisfaction::FairlySatisfied,
            note: Some("2".into())
        })
    );
    assert_eq!(
        app.view,
        View::Search,
        "the digit went into the note, it did not switch views"
    );
}

#[test]
fn an_action_answer_extends_the_timeline_held_for_the_case() {
    let mut app = app();
    let id = app.selected_id.unwrap();
    let held = fixtures::detail(&app.cases[&id].clone());
    let n = held.events.len();
    app.update(Action::DetailLoaded(Box::new(held.clone())));
    let (request, ..) = the_act(&app.update(key('c')));
    // The server answers the case and the one event the claim recorded.
    let mut case = app.cases[&id].clone();
    case.version += 1;
    case.claimed_by = Some("op-li".into());
    let mut claim = held.events[n - 1].clone();
    claim.id += 100;
    claim.action = "claim".into();
    let fx = app.update(Action::ActionDone {
        request,
        case: Box::new(crate::wire::CaseDetail {
            case: *case.clone(),
            events: vec![claim.clone()],
            event_count: n as i64 + 1,
        }),
    });
    let d = app.detail.as_ref().unwrap();
    assert_eq!(d.case, *case);
    assert_eq!(d.events[..n], held.events[..], "the timeline is kept");
    assert_eq!(d.events[n], claim);
    assert_eq!(d.event_count, n as i64 + 1);
    assert!(
        !fx.iter().any(|e| matches!(e, Effect::FetchDetail { .. })),
        "nothing to fetch: {fx:?}"
    );
}

#[test]
fn an_action_answer_for_a_case_whose_timeline_is_not_held_fetches_it() {
    let mut app = app();
    let id = app.selected_id.unwrap();
    let (request, ..) = the_act(&app.update(key('c')));
    let mut case = app.cases[&id].clone();
    case.version += 1;
    let answer = fixtures::detail(&case);
    let fx = app.update(Action::ActionDone {
        request,
        case: Box::new(crate::wire::CaseDetail {
            events: answer.events[answer.events.len() - 1..].to_vec(),
            ..answer
        }),
    });
    assert!(app.detail.is_none(), "one event is not the timeline");
    assert!(fx.contains(&Effect::FetchDetail {
        case_id: id,
        reveal_phone: false
    }));
}
