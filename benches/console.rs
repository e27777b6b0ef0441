//! One frame of the Queue view at 160×45 with 10,000 and 100,000 open cases, and applying a
//! 1,000-case delta from the change feed.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use jieyou::console::action::Action;
use jieyou::console::fixtures::{self, now};
use jieyou::console::i18n::Lang;
use jieyou::console::theme::Theme;
use jieyou::console::ui;

fn frame(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame_160x45");
    for n in [10_000usize, 100_000] {
        let app = fixtures::app_with(Lang::ZhCn, fixtures::many_cases(n));
        let theme = Theme::new(true);
        let mut terminal = Terminal::new(TestBackend::new(160, 45)).expect("terminal");
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                terminal
                    .draw(|f| ui::draw(f, black_box(&app), &theme, now()))
                    .expect("draws");
            })
        });
    }
    group.finish();
}

fn delta(c: &mut Criterion) {
    let mut group = c.benchmark_group("apply_1000_case_delta");
    group.sample_size(20);
    for n in [10_000usize, 100_000] {
        let base = fixtures::app_with(Lang::En, fixtures::many_cases(n));
        // A thousand held cases changed: new version, re-tiered, a new deadline.
        let changed: Vec<_> = fixtures::many_cases(1_000)
            .into_iter()
            .map(|mut c| {
                c.version += 1;
                c.tier = Some(jieyou::wire::Tier::Red);
                c.next_due.as_mut().expect("has a deadline").due_at += chrono::Duration::minutes(7);
                c
            })
            .collect();
        let mut app = base;
        let mut version = 1;
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter_batched(
                // Each round is newer than the last, so every case really is replaced.
                || {
                    version += 1;
                    let mut cases = changed.clone();
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

criterion_group!(benches, frame, delta);
criterion_main!(benches);
