//! Snapshots of the supervision views (Overdue with the follow-up queue, Departments, Stats)
//! and the supervisor's dialogs, at 80×24 and 160×45, in English and Chinese, with the
//! fixtures' frozen clock and server offset.

use chrono::Duration;
use ratatui::style::Color;

use super::tests::{LANGS, buffer, keys, render, screens};
use crate::client::ClientError;
use crate::console::action::Action;
use crate::console::app::App;
use crate::console::fixtures::{self, now};
use crate::console::i18n::Lang;
use crate::console::theme::Theme;

/// A supervisor's console, sized, on the Overdue board with case 42's timeline loaded; the
/// alarms of the first snapshot have faded.
fn app(lang: Lang, w: u16, h: u16) -> App {
    let mut app = fixtures::supervisor_app(lang);
    app.update(Action::Resize {
        width: w,
        height: h,
    });
    app.sup.flash.clear();
    let d = fixtures::detail(&app.cases[&42]);
    app.update(Action::DetailLoaded(Box::new(d)));
    app
}

fn with_report(app: &mut App) {
    app.update(Action::ReportLoaded {
        report: Box::new(fixtures::report()),
        at: now() - Duration::seconds(20),
    });
}

fn each(name: &str, setup: impl Fn(&mut App)) {
    for (snapshot, screen) in screens(name, app, setup) {
        insta::assert_snapshot!(snapshot, screen);
    }
}

#[test]
fn overdue_board_and_follow_up_queue() {
    each("sup_overdue", |_| {});
}

#[test]
fn overdue_view_with_the_follow_up_pane_focused() {
    each("sup_follow_ups", |a| keys(a, "]"));
}

#[test]
fn departments_view_sorted_by_on_time() {
    each("sup_departments", |a| {
        keys(a, "3");
        with_report(a);
        keys(a, "s");
    });
}

#[test]
fn stats_view() {
    each("sup_stats", |a| {
        keys(a, "4");
        with_report(a);
    });
}

#[test]
fn stats_view_says_when_the_report_is_stale() {
    each("sup_stats_stale", |a| {
        keys(a, "4");
        with_report(a);
        a.update(Action::ReportFailed {
            error: ClientError::Unreachable("connection refused".into()),
            at: now() - Duration::seconds(5),
        });
    });
}

#[test]
fn supervisor_dialogs() {
    each("sup_urge", |a| keys(a, "u请今晚回复"));
    each("sup_extension", |a| keys(a, "e\t"));
    each("sup_follow_up", |a| keys(a, "]f\t\t"));
}

#[test]
fn muted_marker_in_the_top_bar() {
    for (lang, code) in LANGS {
        let mut a = app(lang, 80, 24);
        keys(&mut a, "M");
        let screen = render(&a, 80, 24);
        let top = screen.lines().next().unwrap_or_default().to_string();
        assert!(
            top.contains(if code == "en" { "[muted]" } else { "静" }),
            "{top}"
        );
    }
}

#[test]
fn supervision_views_read_without_colour() {
    for view in ["2", "3", "4"] {
        let mut a = app(Lang::En, 160, 45);
        keys(&mut a, view);
        with_report(&mut a);
        let buf = buffer(&a, Theme::from_no_color(Some("1")), 160, 45, now());
        for y in 0..45 {
            for x in 0..160 {
                assert_eq!(
                    buf[(x, y)].fg,
                    Color::Reset,
                    "colour at {x},{y} in view {view}"
                );
            }
        }
        let text: String = (0..45)
            .flat_map(|y| (0..160).map(move |x| (x, y)))
            .map(|(x, y)| buf[(x, y)].symbol().to_string())
            .collect();
        let must: &[&str] = match view {
            "2" => &["■", "-00:03:10", "sign-for"],
            "3" => &["▼", "80%"],
            _ => &["█", "▒", "80%"],
        };
        for s in must {
            assert!(text.contains(s), "{s} in view {view}");
        }
    }
}
