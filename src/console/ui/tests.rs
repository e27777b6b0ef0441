//! Snapshots of every view (ratatui `TestBackend` + insta) at 80×24 and 160×45, in English and
//! Chinese, with a frozen clock and a fixed server offset.

use chrono::{DateTime, Duration, Utc};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Color;

use super::draw;
use crate::client::ClientError;
use crate::console::action::Action;
use crate::console::app::App;
use crate::console::fixtures::{self, now};
use crate::console::i18n::Lang;
use crate::console::theme::Theme;
use crate::wire::Problem;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

// ---- the harness, shared with sup_tests ---------------------------------------------------------

pub(super) const SIZES: [(u16, u16); 2] = [(80, 24), (160, 45)];
pub(super) const LANGS: [(Lang, &str); 2] = [(Lang::En, "en"), (Lang::ZhCn, "zh")];

/// The frame drawn at `at` with `theme`, cell by cell.
pub(super) fn buffer(app: &App, theme: Theme, w: u16, h: u16, at: DateTime<Utc>) -> Buffer {
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("test terminal");
    t.draw(|f| draw(f, app, &theme, at)).expect("draws");
    t.backend().buffer().clone()
}

/// The frame drawn at `at` in colour, as text.
pub(super) fn render_at(app: &App, w: u16, h: u16, at: DateTime<Utc>) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("test terminal");
    t.draw(|f| draw(f, app, &Theme::new(true), at))
        .expect("draws");
    t.backend().to_string()
}

/// The frame drawn at the fixtures' frozen clock, as text.
pub(super) fn render(app: &App, w: u16, h: u16) -> String {
    render_at(app, w, h, now())
}

/// Types `s`: `\n` is Enter, `\t` is Tab, anything else its character.
pub(super) fn keys(app: &mut App, s: &str) {
    for c in s.chars() {
        let code = match c {
            '\n' => KeyCode::Enter,
            '\t' => KeyCode::Tab,
            c => KeyCode::Char(c),
        };
        app.update(Action::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    }
}

/// In every language at every size, the app `make` builds, changed by `setup`, rendered:
/// `(name_{lang}_{w}x{h}, screen)`. The caller asserts each snapshot, so that insta names the
/// file after the caller's module.
pub(super) fn screens(
    name: &str,
    make: fn(Lang, u16, u16) -> App,
    setup: impl Fn(&mut App),
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (lang, code) in LANGS {
        for (w, h) in SIZES {
            let mut a = make(lang, w, h);
            setup(&mut a);
            out.push((format!("{name}_{code}_{w}x{h}"), render(&a, w, h)));
        }
    }
    out
}

// ---- the queue's views --------------------------------------------------------------------------

/// The app as it is on screen: sized, with the first case's timeline loaded.
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

fn each(name: &str, setup: impl Fn(&mut App)) {
    for (snapshot, screen) in screens(name, app, setup) {
        insta::assert_snapshot!(snapshot, screen);
    }
}

#[test]
fn queue_view_with_overdue_rows() {
    each("queue", |_| {});
}

#[test]
fn queue_view_with_the_detail_over_a_narrow_screen() {
    each("detail", |a| keys(a, "\n"));
}

#[test]
fn search_view() {
    each("search", |a| {
        keys(a, "5/马金");
    });
}

#[test]
fn stale_connection() {
    // No feed answer for 50 s: the data stays, marked stale.
    for (lang, code) in LANGS {
        for (w, h) in SIZES {
            let a = app(lang, w, h);
            let screen = render_at(&a, w, h, now() + Duration::seconds(50));
            insta::assert_snapshot!(format!("stale_{code}_{w}x{h}"), screen);
        }
    }
}

#[test]
fn offline_connection() {
    each("offline", |a| {
        a.update(Action::FeedFailed {
            error: ClientError::Unreachable(
                "tcp connect error: Connection refused (os error 111)".into(),
            ),
            at: now() - Duration::seconds(12),
            retry_in: std::time::Duration::from_secs(16),
        });
    });
}

#[test]
fn conflict_message() {
    each("conflict", |a| {
        keys(a, "j");
        keys(a, "awjj\n");
        let request = a.in_flight.as_ref().map(|f| f.request).unwrap_or_default();
        let mut current = a.cases[&57].clone();
        current.version = 4;
        current.claimed_by = Some("op-wang".into());
        current.status = crate::wire::Status::Dispatched;
        current.department_id = Some(5);
        a.update(Action::ActionFailed {
            request,
            error: ClientError::Api(Box::new(Problem {
                kind: "about:blank".into(),
                title: "Precondition Failed".into(),
                status: 412,
                detail: "the case has changed".into(),
                errors: vec![],
                current: Some(Box::new(fixtures::detail(&current))),
                current_department: None,
            })),
        });
    });
}

#[test]
fn dialogs() {
    for (lang, code) in LANGS {
        for (w, h) in SIZES {
            let mut a = app(lang, w, h);
            // 57 is back at the desk (42 is held by a department: no dispatch from here).
            keys(&mut a, "ja");
            insta::assert_snapshot!(format!("picker_{code}_{w}x{h}"), render(&a, w, h));
            keys(&mut a, "\u{1b}");
            a.update(Action::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)));
            keys(&mut a, "n");
            keys(&mut a, "独居老人断药\n\n刘奶奶\n12x");
            a.update(Action::Key(KeyEvent::new(
                KeyCode::Char('s'),
                KeyModifiers::CONTROL,
            )));
            insta::assert_snapshot!(format!("new_case_{code}_{w}x{h}"), render(&a, w, h));
            a.update(Action::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)));
            keys(&mut a, "o已联系家属，车辆21:30到。\n请保持电话畅通");
            insta::assert_snapshot!(format!("answer_{code}_{w}x{h}"), render(&a, w, h));
            a.update(Action::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)));
            keys(&mut a, "c");
            let request = a.in_flight.as_ref().map(|f| f.request).unwrap_or_default();
            a.update(Action::ActionFailed {
                request,
                error: ClientError::Unreachable("connection refused".into()),
            });
            insta::assert_snapshot!(format!("unsent_{code}_{w}x{h}"), render(&a, w, h));
            a.update(Action::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)));
            keys(&mut a, "?");
            insta::assert_snapshot!(format!("help_{code}_{w}x{h}"), render(&a, w, h));
            keys(&mut a, "x2");
            insta::assert_snapshot!(format!("later_{code}_{w}x{h}"), render(&a, w, h));
        }
    }
}

#[test]
fn cjk_columns_line_up() {
    let a = app(Lang::ZhCn, 160, 45);
    let buf = buffer(&a, Theme::new(true), 160, 45, now());
    // Each case row's town starts in the same screen column whatever the title's script.
    let mut starts = Vec::new();
    for id in [134, 133, 135, 42, 57, 101, 102, 119, 120] {
        let c = &a.cases[&id];
        let first = c.location.town.chars().next().unwrap().to_string();
        let row = (0..45).find(|y| {
            (0..100).any(|x| buf[(x, *y)].symbol() == "K") && {
                let line: String = (0..100)
                    .map(|x| buf[(x, *y)].symbol().to_string())
                    .collect();
                line.contains(&c.reference)
            }
        });
        let y = row.unwrap_or_else(|| panic!("{} not drawn", c.reference));
        let x =
            (40..100).find(|x| buf[(*x, y)].symbol() == first && buf[(*x - 1, y)].symbol() == " ");
        starts.push(x.unwrap_or_else(|| panic!("town of {} not found", c.reference)));
    }
    assert!(starts.windows(2).all(|w| w[0] == w[1]), "{starts:?}");
}

#[test]
fn colour_marks_tiers_and_countdowns_and_no_color_still_reads() {
    let a = app(Lang::En, 160, 45);
    let buf = buffer(&a, Theme::new(true), 160, 45, now());
    let find = |s: &str| {
        (0..45u16)
            .flat_map(|y| (0..150u16).map(move |x| (x, y)))
            .find(|&(x, y)| {
                s.chars()
                    .enumerate()
                    .all(|(i, ch)| buf[(x + i as u16, y)].symbol() == ch.to_string())
            })
            .unwrap_or_else(|| panic!("{s} not on screen"))
    };
    // Overdue: red and negative. Under 15 minutes: amber.
    let (x, y) = find("-00:03:10");
    assert_eq!(buf[(x, y)].fg, Color::Red);
    let (x, y) = find("00:03:55");
    assert_eq!(buf[(x, y)].fg, Color::Indexed(172));
    let plain = buffer(&a, Theme::from_no_color(Some("1")), 160, 45, now());
    for y in 0..45 {
        for x in 0..160 {
            assert_eq!(
                plain[(x, y)].fg,
                Color::Reset,
                "colour at {x},{y} with NO_COLOR"
            );
        }
    }
    // Without colour the tier is still read from its symbol and the overdue from the sign.
    let text: String = (0..45)
        .flat_map(|y| (0..160).map(move |x| (x, y)))
        .map(|(x, y)| plain[(x, y)].symbol().to_string())
        .collect();
    for s in ["■", "▲", "●", "○", "-00:03:10"] {
        assert!(text.contains(s), "{s}");
    }
    assert!(
        Theme::from_no_color(Some("")).color,
        "an empty NO_COLOR does not count"
    );
    assert!(Theme::from_no_color(None).color);
}

#[test]
fn a_long_timeline_scrolls_to_its_latest_entries() {
    let mut a = app(Lang::En, 80, 24);
    let mut d = fixtures::detail(&a.cases[&42]);
    let template = d.events[0].clone();
    for n in 0..30 {
        let mut e = template.clone();
        e.id = 100 + n;
        e.action = "note".into();
        e.payload = serde_json::json!({ "text": format!("call {n}") });
        d.events.push(e);
    }
    a.update(Action::DetailLoaded(Box::new(d)));
    keys(&mut a, "\n");
    let screen = render(&a, 80, 24);
    assert!(!screen.contains("call 29"), "{screen}");
    assert!(screen.contains("J/K scroll"), "{screen}");
    for _ in 0..60 {
        keys(&mut a, "J");
    }
    let screen = render(&a, 80, 24);
    assert!(screen.contains("call 29"), "{screen}");
    assert!(!screen.contains("call 0 "), "{screen}");
}

#[test]
fn a_returned_case_in_detail_and_picker() {
    for (lang, code) in LANGS {
        let mut a = app(lang, 160, 45);
        keys(&mut a, "j");
        let mut d = fixtures::detail(&a.cases[&57]);
        let mut ret = d.events[0].clone();
        ret.id = 9;
        ret.actor = "jt-liu".into();
        ret.action = "return".into();
        ret.at += Duration::minutes(20);
        ret.payload = serde_json::json!({
            "department_id": 5,
            "department_name": "交通运输局",
            "reason": "不属于本部门职责，请转卫健局"
        });
        d.events.push(ret);
        a.update(Action::DetailLoaded(Box::new(d)));
        keys(&mut a, "a");
        insta::assert_snapshot!(format!("returned_{code}_160x45"), render(&a, 160, 45));
    }
}

#[test]
fn an_extension_request_decided_from_the_queue() {
    // The same dialog as on the Overdue board (sup_tests), over a supervisor's Queue view.
    let sup = |lang, w, h| {
        let mut a = fixtures::app_as(lang, fixtures::supervisor(), fixtures::sample_cases());
        a.update(Action::Resize {
            width: w,
            height: h,
        });
        keys(&mut a, "1jjj");
        let d = fixtures::detail(&a.cases[&42]);
        a.update(Action::DetailLoaded(Box::new(d)));
        a
    };
    let shots = screens("extension_in_queue", sup, |a| {
        let mut c = a.cases[&42].clone();
        c.version = 2;
        c.pending_extension = Some(crate::wire::PendingExtension {
            until: c.received_at + Duration::hours(8),
            reason: "需协调转运车辆，家属下午才能到".into(),
            requested_by: "wj-zhang".into(),
            requested_at: c.received_at,
        });
        a.update(Action::FeedLoaded {
            changes: fixtures::changes(vec![*c], false, "c2"),
            received_at: now(),
        });
        keys(a, "e");
    });
    for (snapshot, screen) in shots {
        insta::assert_snapshot!(snapshot, screen);
    }
}
