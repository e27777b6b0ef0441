//! A screen that holds up on a long shift, through `App::update`: the detail pane scrolls over
//! a cached text, alarms ring only for what is new since start-up and about-to-breach alarms
//! keep a quiet interval, a refused token stops the retries, help scrolls.

use std::borrow::Cow;
use std::time::Duration;

use chrono::Duration as ChronoDuration;
use crossterm::event::KeyCode;
use serde_json::json;

use crate::client::ClientError;
use crate::console::action::{Action, Effect};
use crate::console::alarm::Alarm;
use crate::console::app::{App, ConnState, Mode};
use crate::console::config::Alarms;
use crate::console::fixtures::{self, now};
use crate::console::i18n::{I18n, Lang};
use crate::console::test_keys::{code, key, select};
use crate::wire::{Case, CaseDetail, ClockKind, Event, Problem, Role, Status, Tier};

fn alarms(effects: &[Effect]) -> Vec<Alarm> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Alarm(a) => Some(a.clone()),
            _ => None,
        })
        .collect()
}
/// A feed answer `secs` after `now()`, the server's clock moved on as much.
fn feed_at(app: &mut App, cases: Vec<Case>, secs: i64) -> Vec<Effect> {
    let mut changes = fixtures::changes(cases, false, "c2");
    changes.server_time += ChronoDuration::seconds(secs);
    app.update(Action::FeedLoaded {
        changes,
        received_at: now() + ChronoDuration::seconds(secs),
    })
}
fn resize(app: &mut App, width: u16, height: u16) {
    app.update(Action::Resize { width, height });
}

/// Case 42's timeline after the escalation ladder climbed all three rungs, with notes long
/// enough to wrap: more than any pane shows at once.
pub fn escalated_detail(c: &Case) -> CaseDetail {
    let mut d = fixtures::detail(c);
    let due = c
        .next_due
        .as_ref()
        .map(|n| n.due_at)
        .unwrap_or(c.received_at);
    let mut id = 10;
    let mut push = |at, actor: &str, action: &str, payload| {
        id += 1;
        d.events.push(Event {
            id,
            case_id: c.id,
            at,
            actor: actor.into(),
            actor_role: Role::Supervisor,
            system: false,
            action: action.into(),
            from_status: None,
            to_status: None,
            payload,
        });
    };
    for (n, step) in ["reminder", "urging_notice", "supervision_office"]
        .iter()
        .enumerate()
    {
        let at = due + ChronoDuration::minutes(15 * n as i64);
        push(
            at,
            "system",
            "escalate",
            json!({"step": step, "clock": "sign_for", "due_at": due, "tier": "red",
                   "department_id": 3}),
        );
        push(
            at + ChronoDuration::minutes(1),
            "sup-zhao",
            "note",
            json!({"text": "已电话联系卫健局值班室，对方称转运车辆正在调度，十分钟内回电确认出发时间。"}),
        );
    }
    d
}

fn app_on_42(w: u16, h: u16) -> App {
    let mut app = fixtures::app(Lang::En);
    resize(&mut app, w, h);
    select(&mut app, 42);
    let d = escalated_detail(&app.cases[&42]);
    app.update(Action::DetailLoaded(Box::new(d)));
    app
}

#[test]
fn the_detail_pane_scrolls_within_its_text_and_starts_at_the_top_for_each_case() {
    // Wide enough for the pane beside the list, too short for all of case 42.
    let mut app = app_on_42(130, 26);
    assert_eq!(app.detail_scroll, 0);
    app.update(key('J'));
    app.update(key('J'));
    assert_eq!(app.detail_scroll, 2);
    app.update(key('K'));
    assert_eq!(app.detail_scroll, 1);
    // Never past the last line: as many J as you like, then one K moves at once.
    for _ in 0..200 {
        app.update(key('J'));
    }
    let bottom = app.detail_scroll;
    assert!(bottom > 1 && bottom < 200, "{bottom}");
    app.update(key('K'));
    assert_eq!(app.detail_scroll, bottom - 1);
    // Another case starts at its top.
    app.update(key('j'));
    assert_ne!(app.selected_id, Some(42));
    assert_eq!(app.detail_scroll, 0);
}

#[test]
fn on_a_narrow_screen_the_page_keys_scroll_the_open_detail_and_j_opens_it() {
    let mut app = app_on_42(80, 24);
    assert!(!app.show_detail);
    app.update(key('J'));
    assert!(app.show_detail, "J opens the pane that covers the list");
    assert_eq!(app.detail_scroll, 0);
    app.update(code(KeyCode::PageDown));
    assert_eq!(app.selected_id, Some(42), "the page key scrolls, not moves");
    assert!(app.detail_scroll > 1, "{}", app.detail_scroll);
    app.update(code(KeyCode::PageUp));
    assert_eq!(app.detail_scroll, 0);
    // With the pane closed, the page keys move in the list again.
    app.update(code(KeyCode::Esc));
    app.update(code(KeyCode::PageDown));
    assert_ne!(app.selected_id, Some(42));
}

#[test]
fn the_wrapped_detail_is_kept_until_the_case_or_the_width_changes() {
    let mut app = app_on_42(160, 45);
    let inner_width = 160 * 40 / 100 - 2;
    let text = app
        .detail_text(inner_width, now())
        .expect("a case is selected");
    assert!(
        matches!(text, Cow::Borrowed(_)),
        "made by update, not per frame"
    );
    let timeline = text.timeline.clone().expect("loaded");
    // Every rung is named.
    let all: String = timeline.iter().map(|l| l.text.as_str()).collect();
    for rung in ["reminder", "urging notice", "supervision office"] {
        assert!(
            all.contains(&format!("escalated: {rung} (sign-for overdue)")),
            "{all}"
        );
    }
    // A tick an hour later, the same day: nothing is wrapped again.
    app.update(Action::Tick(now() + ChronoDuration::hours(1)));
    assert!(matches!(
        app.detail_text(inner_width, now() + ChronoDuration::hours(1)),
        Some(Cow::Borrowed(_))
    ));
    // Another width (a frame drawn before the resize arrived) is made on the spot…
    assert!(matches!(
        app.detail_text(inner_width - 10, now()),
        Some(Cow::Owned(_))
    ));
    // …and a new version replaces the kept text.
    let mut c = app.cases[&42].clone();
    c.version += 1;
    c.title = "透析病人需要转运（已出车）".into();
    app.update(Action::FeedLoaded {
        changes: fixtures::changes(vec![*c], false, "c2"),
        received_at: now(),
    });
    let text = app.detail_text(inner_width, now()).expect("selected");
    assert!(matches!(text, Cow::Borrowed(_)));
    assert!(text.head[0].text.contains("已出车"), "{:?}", text.head[0]);
}

#[test]
fn the_escalation_banner_goes_once_the_escalated_clock_is_met() {
    let mut app = app_on_42(160, 45);
    let banner = |app: &App| {
        app.detail_text(78, now())
            .expect("selected")
            .head
            .iter()
            .any(|l| l.text.contains("Escalated"))
    };
    assert!(banner(&app));
    let mut c = app.cases[&42].clone();
    c.version += 1;
    c.status = Status::InProgress;
    for d in c
        .deadlines
        .iter_mut()
        .filter(|d| d.clock == ClockKind::SignFor)
    {
        d.met_at = Some(d.due_at + ChronoDuration::minutes(5));
    }
    app.update(Action::FeedLoaded {
        changes: fixtures::changes(vec![*c], false, "c2"),
        received_at: now(),
    });
    assert!(!banner(&app));
    assert!(crate::console::app::live_escalation(&app.cases[&42]).is_none());
}

fn red(id: i64) -> Case {
    fixtures::case(
        id,
        Some(Tier::Red),
        Status::Triaged,
        3000,
        "山体滑坡",
        "马金镇",
        None,
        None,
    )
}

#[test]
fn the_desk_as_found_at_start_up_rings_nothing_and_a_later_red_rings_once() {
    let mut app = App::new(
        I18n::new(Lang::En),
        fixtures::keymap(),
        Alarms::default(),
        "x",
        now(),
    );
    // The loop ticks before the first answer arrives.
    assert!(alarms(&app.update(Action::Tick(now()))).is_empty());
    let mut desk = fixtures::sample_cases();
    desk.push(red(300));
    let effects = app.update(Action::FeedLoaded {
        changes: fixtures::changes(desk, true, "c1"),
        received_at: now(),
    });
    assert!(alarms(&effects).is_empty(), "reds already on the desk");
    assert!(app.sup.rang.is_none(), "{:?}", app.sup.rang);
    // Case 134 has under 5 minutes left since before start-up: not news either.
    assert!(alarms(&app.update(Action::Tick(now() + ChronoDuration::seconds(1)))).is_empty());
    let rang = alarms(&feed_at(&mut app, vec![red(301)], 2));
    assert_eq!(rang.len(), 1);
    assert!(
        rang[0].body.contains("KH-20220508-0301"),
        "{}",
        rang[0].body
    );
    assert!(
        !rang[0].body.contains("KH-20220508-0300"),
        "{}",
        rang[0].body
    );
    // The status line can say what rang.
    let (said, _) = app.sup.rang.clone().unwrap_or_default();
    assert!(said.contains("0301"), "{said}");
    // A later snapshot (a restored server) brings nothing new: silence.
    let mut desk = fixtures::sample_cases();
    desk.extend([red(300), red(301)]);
    assert!(
        alarms(&app.update(Action::FeedLoaded {
            changes: fixtures::changes(desk, true, "c9"),
            received_at: now() + ChronoDuration::seconds(3),
        }))
        .is_empty()
    );
}

#[test]
fn a_case_this_console_re_tiered_red_itself_is_not_news() {
    let mut app = fixtures::app(Lang::En);
    select(&mut app, 119);
    app.update(key('t'));
    app.update(key('r'));
    let request = app.in_flight.as_ref().map(|f| f.request).expect("sent");
    let mut c = app.cases[&119].clone();
    c.version += 1;
    c.tier = Some(Tier::Red);
    let effects = app.update(Action::ActionDone {
        request,
        case: Box::new(fixtures::detail(&c)),
    });
    assert!(alarms(&effects).is_empty());
    assert!(alarms(&app.update(Action::Tick(now() + ChronoDuration::seconds(1)))).is_empty());
    // The same change seen in the feed later is not news either.
    assert!(alarms(&feed_at(&mut app, vec![*c], 2)).is_empty());
}

/// A dispatched case whose sign-for clock has `secs` left at `now()`.
fn due_in(id: i64, secs: i64) -> Case {
    fixtures::case(
        id,
        Some(Tier::Orange),
        Status::Dispatched,
        secs,
        "停水",
        "华埠镇",
        Some(2),
        None,
    )
}

#[test]
fn about_to_breach_alarms_keep_a_quiet_interval_and_new_reds_do_not() {
    let mut app = fixtures::app(Lang::En);
    assert_eq!(app.alarms.due_soon_repeat_minutes, 5);
    // Three cases reach "5 minutes left" one minute apart.
    let at = |s: i64| now() + ChronoDuration::seconds(s);
    app.update(Action::FeedLoaded {
        changes: fixtures::changes(
            vec![due_in(500, 400), due_in(501, 460), due_in(502, 900)],
            false,
            "c2",
        ),
        received_at: now(),
    });
    let first = alarms(&app.update(Action::Tick(at(101))));
    assert_eq!(first.len(), 1);
    assert!(first[0].body.contains("0500"), "{}", first[0].body);
    // A minute later: within the quiet interval, the row flashes but nothing rings.
    assert!(alarms(&app.update(Action::Tick(at(161)))).is_empty());
    assert!(app.is_flashing(501, at(161)));
    // A new red case rings all the same.
    let rang = alarms(&feed_at(&mut app, vec![red(503)], 170));
    assert_eq!(rang.len(), 1);
    // After the interval the next one rings again.
    let rang = alarms(&app.update(Action::Tick(at(601))));
    assert_eq!(rang.len(), 1);
    assert!(rang[0].body.contains("0502"), "{}", rang[0].body);

    // 0 turns the rule off: each rings.
    let mut app = fixtures::app(Lang::En);
    app.alarms.due_soon_repeat_minutes = 0;
    app.update(Action::FeedLoaded {
        changes: fixtures::changes(vec![due_in(500, 400), due_in(501, 460)], false, "c2"),
        received_at: now(),
    });
    assert_eq!(alarms(&app.update(Action::Tick(at(101)))).len(), 1);
    assert_eq!(alarms(&app.update(Action::Tick(at(161)))).len(), 1);
}

fn refused() -> ClientError {
    ClientError::Api(Box::new(Problem {
        kind: "about:blank".into(),
        title: "Unauthorized".into(),
        status: 401,
        detail: "unknown token".into(),
        errors: vec![],
        current: None,
        current_department: None,
    }))
}

#[test]
fn a_refused_token_reads_not_signed_in_and_waits_for_the_operator() {
    let mut app = App::new(
        I18n::new(Lang::En),
        fixtures::keymap(),
        Alarms::default(),
        "http://127.0.0.1:8080",
        now(),
    );
    app.update(Action::FeedFailed {
        error: refused(),
        at: now(),
        retry_in: Duration::ZERO,
    });
    assert_eq!(app.conn_state(now()), ConnState::SignedOut);
    // Time passes: no countdown to a retry appears, nothing is asked of the loop.
    let later = now() + ChronoDuration::minutes(5);
    assert!(app.update(Action::Tick(later)).is_empty());
    assert_eq!(app.conn_state(later), ConnState::SignedOut);
    let f = app.failure.as_ref().expect("failure kept");
    assert!(app.error_text(&f.error).starts_with("Not signed in"));
    // R asks for one more try.
    assert!(app.update(key('R')).contains(&Effect::RefreshNow));
    // A server that is merely down is retried by itself, with a countdown.
    app.update(Action::FeedFailed {
        error: ClientError::Unreachable("refused".into()),
        at: later,
        retry_in: Duration::from_secs(4),
    });
    assert_eq!(app.conn_state(later), ConnState::Offline { retry_in: 4 });
}

#[test]
fn help_scrolls_with_the_moving_keys_and_any_other_key_closes_it() {
    let mut app = fixtures::app(Lang::En);
    resize(&mut app, 80, 24);
    app.update(key('?'));
    assert!(matches!(app.mode, Mode::Help));
    app.update(key('j'));
    assert!(matches!(app.mode, Mode::Help));
    assert_eq!(app.help_scroll, 1);
    app.update(key('G'));
    let bottom = app.help_scroll;
    assert!(bottom > 1, "{bottom}");
    app.update(key('j'));
    assert_eq!(app.help_scroll, bottom, "not past the end");
    app.update(key('k'));
    assert_eq!(app.help_scroll, bottom - 1);
    app.update(key('x'));
    assert!(matches!(app.mode, Mode::Normal));
    app.update(key('?'));
    assert_eq!(app.help_scroll, 0, "opens at the top");
}
