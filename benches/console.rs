//! The console at 100 to 100,000 open cases, on a 160×45 screen: one frame of each view
//! against the drawing ceiling (a bare ratatui `Table` of the same visible rows), a key to its
//! screen change, a filter keystroke, 100 one-case deltas, a 1,000-case delta and a tick with
//! alarms. After criterion's own report, a table of every figure with its ceiling or target.
//!
//! `cargo bench --bench console`

use std::hint::black_box;
use std::path::PathBuf;

use chrono::Duration;
use criterion::{BenchmarkId, Criterion};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::layout::Constraint;
use ratatui::widgets::{Block, Borders, Row, Table};

use jieyou::console::action::Action;
use jieyou::console::app::{App, Mode, View};
use jieyou::console::fixtures::{self, now};
use jieyou::console::i18n::Lang;
use jieyou::console::theme::Theme;
use jieyou::console::ui;
use jieyou::wire::{Case, Tier};

const SIZES: [usize; 3] = [100, 10_000, 100_000];
const W: u16 = 160;
const H: u16 = 45;

fn terminal() -> Terminal<TestBackend> {
    Terminal::new(TestBackend::new(W, H)).expect("terminal")
}

fn supervisor_app(n: usize) -> App {
    fixtures::app_as(Lang::ZhCn, fixtures::supervisor(), fixtures::many_cases(n))
}

/// The drawing ceiling: the same visible rows as plain strings in a bare `Table`.
fn table_frame(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame");
    for n in SIZES {
        let cases = fixtures::many_cases(n);
        let visible: Vec<&Case> = cases.iter().take(H as usize).collect();
        let mut terminal = terminal();
        group.bench_with_input(BenchmarkId::new("bare_table", n), &n, |b, _| {
            b.iter(|| {
                terminal
                    .draw(|f| {
                        let rows = visible.iter().map(|c| {
                            Row::new(vec![
                                c.reference.clone(),
                                c.title.clone(),
                                c.location.town.clone(),
                                c.status.as_str().to_string(),
                                format!("{:?}", c.tier),
                                c.department_id.map(|d| d.to_string()).unwrap_or_default(),
                            ])
                        });
                        let widths = [
                            Constraint::Length(16),
                            Constraint::Fill(1),
                            Constraint::Length(8),
                            Constraint::Length(10),
                            Constraint::Length(10),
                            Constraint::Length(8),
                        ];
                        let table =
                            Table::new(rows, widths).block(Block::new().borders(Borders::ALL));
                        f.render_widget(table, f.area());
                    })
                    .expect("draws");
            })
        });
    }
    group.finish();
}

/// One frame of each view.
fn view_frames(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame");
    let theme = Theme::new(true);
    for n in SIZES {
        let views: [(&str, View, bool); 6] = [
            ("queue", View::Queue, false),
            ("overdue", View::Overdue, false),
            ("departments", View::Departments, false),
            ("stats", View::Stats, false),
            ("search", View::Search, false),
            ("supervisor_board", View::Overdue, true),
        ];
        let mut operator = fixtures::app_with(Lang::ZhCn, fixtures::many_cases(n));
        let mut supervisor = supervisor_app(n);
        for (name, view, sup) in views {
            let app = if sup { &mut supervisor } else { &mut operator };
            app.view = view;
            let app: &App = app;
            let mut terminal = terminal();
            group.bench_with_input(BenchmarkId::new(name, n), &n, |b, _| {
                b.iter(|| {
                    terminal
                        .draw(|f| ui::draw(f, black_box(app), &theme, now()))
                        .expect("draws");
                })
            });
        }
    }
    group.finish();
}

fn key(c: char) -> Action {
    Action::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

/// A key and the frame that shows it: down and up in turn, in the Queue and Overdue views.
fn key_to_screen(c: &mut Criterion) {
    let mut group = c.benchmark_group("key_and_frame");
    let theme = Theme::new(true);
    for n in SIZES {
        for (name, view) in [("queue", View::Queue), ("overdue", View::Overdue)] {
            let mut app = supervisor_app(n);
            app.view = view;
            app.update(key('j'));
            let mut terminal = terminal();
            let mut down = false;
            group.bench_with_input(BenchmarkId::new(name, n), &n, |b, _| {
                b.iter(|| {
                    down = !down;
                    app.update(key(if down { 'j' } else { 'k' }));
                    terminal
                        .draw(|f| ui::draw(f, &app, &theme, now()))
                        .expect("draws");
                })
            });
        }
    }
    group.finish();
}

/// One keystroke in the filter: a character typed into an empty filter and Backspace in
/// turn, each a full pass over the kept order.
fn filter_keystroke(c: &mut Criterion) {
    let mut group = c.benchmark_group("filter_keystroke");
    for n in SIZES {
        let mut app = fixtures::app_with(Lang::ZhCn, fixtures::many_cases(n));
        app.mode = Mode::Filter;
        let mut typed = false;
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                typed = !typed;
                let k = if typed {
                    key('马')
                } else {
                    Action::Key(KeyEvent::new(KeyCode::Backspace, KeyModifiers::NONE))
                };
                app.update(k)
            })
        });
    }
    group.finish();
}

/// Held cases changed: a new version, re-tiered red, a later deadline.
fn changed(n: usize, version: i64) -> Vec<Case> {
    fixtures::many_cases(n)
        .into_iter()
        .map(|mut c| {
            c.version = version;
            c.tier = Some(Tier::Red);
            c.next_due.as_mut().expect("has a deadline").due_at += Duration::minutes(7);
            c
        })
        .collect()
}

/// 100 deltas of one case each, and one delta of 1,000 cases.
fn deltas(c: &mut Criterion) {
    let mut group = c.benchmark_group("deltas");
    group.sample_size(20);
    for n in SIZES {
        let mut app = fixtures::app_with(Lang::En, fixtures::many_cases(n));
        let mut version = 1;
        let ones = changed(100.min(n), 2);
        group.bench_with_input(BenchmarkId::new("100_one_case", n), &n, |b, _| {
            b.iter_batched(
                // Each round is newer than the last, so every case really is replaced.
                || {
                    version += 1;
                    ones.iter()
                        .cloned()
                        .map(|mut c| {
                            c.version = version;
                            fixtures::changes(vec![c], false, "bench")
                        })
                        .collect::<Vec<_>>()
                },
                |batch| {
                    for changes in batch {
                        app.update(Action::FeedLoaded {
                            changes,
                            received_at: now(),
                        });
                    }
                },
                criterion::BatchSize::SmallInput,
            )
        });
        let thousand = changed(1_000.min(n), 2);
        group.bench_with_input(BenchmarkId::new("one_1000_case", n), &n, |b, _| {
            b.iter_batched(
                || {
                    version += 1;
                    let mut cases = thousand.clone();
                    for c in &mut cases {
                        c.version = version;
                    }
                    fixtures::changes(cases, false, "bench")
                },
                |changes| {
                    app.update(Action::FeedLoaded {
                        changes,
                        received_at: now(),
                    })
                },
                criterion::BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

/// A tick a second later each time: the board and the about-to-breach alarms move on.
fn tick(c: &mut Criterion) {
    let mut group = c.benchmark_group("tick_with_alarms");
    for n in SIZES {
        let mut app = supervisor_app(n);
        let mut at = now();
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                at += Duration::seconds(1);
                app.update(Action::Tick(at))
            })
        });
    }
    group.finish();
}

/// Criterion's mean for one benchmark, in milliseconds, from its saved estimates.
fn mean_ms(group: &str, id: &str) -> Option<f64> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"));
    let path = target
        .join("criterion")
        .join(group)
        .join(id)
        .join("new")
        .join("estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    Some(v["mean"]["point_estimate"].as_f64()? / 1e6)
}

/// Every figure at 100,000 cases (and the smaller sizes) with its ceiling or target.
fn summary() {
    println!();
    println!("console figures (mean; ratio to the bare Table frame, or to the target)");
    println!(
        "{:<34} {:>8} {:>12} {:>12} {:>8}",
        "figure", "cases", "ms", "ceiling ms", "ratio"
    );
    for n in SIZES {
        let ceiling = mean_ms("frame", &format!("bare_table/{n}"));
        let line = |name: &str, ms: Option<f64>, against: Option<f64>, label: &str| {
            let fmt = |x: Option<f64>| x.map_or("-".to_string(), |x| format!("{x:.3}"));
            let ratio = match (ms, against) {
                (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
                _ => "-".into(),
            };
            println!(
                "{:<34} {:>8} {:>12} {:>12} {:>8}{}",
                name,
                n,
                fmt(ms),
                fmt(against),
                ratio,
                label
            );
        };
        line("frame: bare Table (ceiling)", ceiling, ceiling, "");
        for view in [
            "queue",
            "overdue",
            "departments",
            "stats",
            "search",
            "supervisor_board",
        ] {
            let ms = mean_ms("frame", &format!("{view}/{n}"));
            line(&format!("frame: {view}"), ms, ceiling, "  (≤ 2)");
        }
        for view in ["queue", "overdue"] {
            let ms = mean_ms("key_and_frame", &format!("{view}/{n}"));
            line(
                &format!("key + frame: {view}"),
                ms,
                Some(50.0),
                "  (target 50 ms)",
            );
        }
        line(
            "filter keystroke",
            mean_ms("filter_keystroke", &n.to_string()),
            Some(20.0),
            "  (target 20 ms)",
        );
        line(
            "100 one-case deltas",
            mean_ms("deltas", &format!("100_one_case/{n}")),
            Some(5.0),
            "  (target 5 ms)",
        );
        line(
            "one 1,000-case delta",
            mean_ms("deltas", &format!("one_1000_case/{n}")),
            None,
            "",
        );
        line(
            "tick with alarms",
            mean_ms("tick_with_alarms", &n.to_string()),
            None,
            "",
        );
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    table_frame(&mut c);
    view_frames(&mut c);
    key_to_screen(&mut c);
    filter_keystroke(&mut c);
    deltas(&mut c);
    tick(&mut c);
    c.final_summary();
    summary();
}
