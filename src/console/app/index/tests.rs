//! The kept orders against the full recomputation they replaced, after random changes.

use std::collections::HashMap;

use chrono::{Duration, Utc};
use rand::{Rng, SeedableRng, rngs::StdRng};

use super::super::supervision::DeptRow;
use super::super::{App, Mode, PANES};
use super::search::fold;
use crate::console::action::Action;
use crate::console::fixtures::{self, now};
use crate::console::i18n::Lang;
use crate::console::test_keys::{code, key, typed};
use crate::wire::{Case, CaseList, ClockKind, LeftCase, Me, PendingExtension, Role, Status, Tier};
use crossterm::event::KeyCode;

/// Everything the lists show, computed from scratch.
#[derive(Debug, PartialEq)]
struct Lists {
    queues: Vec<Vec<i64>>,
    search: Vec<i64>,
    untriaged: usize,
    red: usize,
    overdue: usize,
    usage: HashMap<i64, usize>,
    board: Vec<(i64, ClockKind, i64)>,
    follow: Vec<(i64, Option<i64>)>,
    departments: Vec<DeptRow>,
    sup: [Vec<i64>; 3],
}

fn old_matches(app: &App, c: &Case, q: &str) -> bool {
    if q.is_empty() {
        return true;
    }
    let has = |s: &str| s.to_lowercase().contains(q);
    has(&c.reference)
        || has(&c.title)
        || has(&c.location.town)
        || c.department_id.is_some_and(|id| {
            app.departments
                .iter()
                .find(|d| d.id == id)
                .is_some_and(|d| app.department_matches(d, q))
        })
}

/// The full rebuild the console used to run on every change, kept as the oracle.
fn oracle(app: &App) -> Lists {
    let now = app.now;
    let s = app.server_now(now);
    let q = app.filter.trim().to_lowercase();
    let mut panes: [Vec<(i64, i64)>; 4] = Default::default();
    let mut search = Vec::new();
    let (mut untriaged, mut red, mut overdue) = (0, 0, 0);
    let mut usage: HashMap<i64, usize> = HashMap::new();
    for c in app.cases.values() {
        if let Some(d) = c.department_id {
            *usage.entry(d).or_default() += 1;
        }
        let open = c.status.is_open();
        let due = app.queue_due(c);
        if open {
            if c.overdue || due < s.timestamp() {
                overdue += 1;
            }
            match c.tier {
                None => untriaged += 1,
                Some(Tier::Red) => red += 1,
                _ => {}
            }
        }
        let matched =
            old_matches(app, c, &q) && app.sup.drill.is_none_or(|d| c.department_id == Some(d));
        if matched {
            search.push((-c.received_at.timestamp(), c.id));
        }
        if open && matched {
            let pane = PANES.iter().position(|t| *t == c.tier).unwrap_or(0);
            panes[pane].push((due, c.id));
        }
    }
    for c in app.archive.values() {
        if old_matches(app, c, &q) {
            search.push((-c.received_at.timestamp(), c.id));
        }
    }
    let ids = |mut v: Vec<(i64, i64)>| {
        v.sort_unstable();
        v.into_iter().map(|(_, id)| id).collect::<Vec<i64>>()
    };
    let amber = app.alarms.amber_minutes * 60;
    let mut board: Vec<(i64, ClockKind, i64)> = app
        .cases
        .values()
        .filter(|c| c.status.is_open())
        .filter_map(|c| {
            let d = c.next_due.as_ref()?;
            let left = (d.due_at.with_timezone(&Utc) - s).num_seconds();
            (left < amber || c.overdue).then_some((c.id, d.clock, left))
        })
        .collect();
    board.sort_by_key(|r| {
        let red = app.cases.get(&r.0).and_then(|c| c.tier) == Some(Tier::Red);
        (!red, r.2, r.0)
    });
    let mut follow: Vec<(i64, Option<i64>, i64)> = app
        .cases
        .values()
        .filter(|c| c.status == Status::Resolved && c.follow_up_required)
        .map(|c| {
            let left = c
                .deadlines
                .iter()
                .find(|d| d.clock == ClockKind::FollowUp && d.met_at.is_none())
                .map(|d| (d.due_at.with_timezone(&Utc) - s).num_seconds());
            (
                c.id,
                left,
                c.resolved_at.unwrap_or(c.updated_at).timestamp(),
            )
        })
        .collect();
    follow.sort_by_key(|(id, left, resolved)| (left.unwrap_or(i64::MAX), *resolved, *id));
    let supervisor = app
        .me
        .as_ref()
        .is_some_and(|m| matches!(m.role, Role::Supervisor | Role::Admin));
    let mut sup: [Vec<(i64, i64)>; 3] = Default::default();
    for c in app.cases.values().filter(|_| supervisor) {
        let due = c
            .next_due
            .as_ref()
            .map(|d| d.due_at.timestamp())
            .unwrap_or(i64::MAX);
        if c.awaiting_ruling && c.status.is_open() {
            sup[0].push((due, c.id));
        }
        if let Some(p) = &c.pending_extension {
            sup[1].push((p.until.timestamp(), c.id));
        }
        if c.status == Status::Triaged && c.return_count > 0 && !c.awaiting_ruling {
            sup[2].push((due, c.id));
        }
    }
    let departments = app
        .departments
        .iter()
        .filter(|d| d.active)
        .map(|d| {
            let open: Vec<&Case> = app
                .cases
                .values()
                .map(|c| &**c)
                .filter(|c| c.department_id == Some(d.id) && c.status.is_open())
                .collect();
            let overdue = open
                .iter()
                .filter(|c| {
                    c.overdue
                        || c.next_due
                            .as_ref()
                            .is_some_and(|n| n.due_at.with_timezone(&Utc) < s)
                })
                .count();
            (d.id, open.len(), overdue)
        })
        .collect::<Vec<_>>();
    // The rows' order and report columns are the view's own; the counts are what is kept.
    let departments = app
        .department_rows(now)
        .into_iter()
        .map(|mut r| {
            let (_, open, overdue) = departments
                .iter()
                .find(|(id, ..)| *id == r.department_id)
                .copied()
                .unwrap_or_default();
            r.open = open;
            r.overdue = overdue;
            r
        })
        .collect();
    let [ruling, extensions, returned] = sup;
    Lists {
        queues: panes.into_iter().map(ids).collect(),
        search: ids(search),
        untriaged,
        red,
        overdue,
        usage,
        board,
        follow: follow.into_iter().map(|(id, l, _)| (id, l)).collect(),
        departments,
        sup: [ids(ruling), ids(extensions), ids(returned)],
    }
}

fn kept(app: &App) -> Lists {
    let now = app.now;
    Lists {
        queues: app.queues.iter().map(|q| q.ids().collect()).collect(),
        search: app.search.ids().collect(),
        untriaged: app.untriaged_total,
        red: app.red_total,
        overdue: app.overdue_total(now),
        usage: app.ix.dept_usage.clone(),
        board: app
            .overdue_board(now)
            .iter()
            .map(|r| (r.case_id, r.clock, r.left))
            .collect(),
        follow: app.follow_up_queue(now),
        departments: app.department_rows(now),
        sup: [
            app.sup.ruling.ids().collect(),
            app.sup.extensions.ids().collect(),
            app.sup.returned.ids().collect(),
        ],
    }
}

const TOWNS: [&str; 4] = ["马金镇", "华埠镇", "池淮镇", "Kaihua"];
const TITLES: [&str; 5] = [
    "透析病人需要转运",
    "特殊奶粉断货",
    "Needs A ride",
    "询问返乡隔离政策",
    // Upper case outside ASCII, with a final sigma that folds apart from a medial one.
    "ΟΔΟΣ ΚΛΕΙΣΤΗ Ärztin",
];

fn random_case(rng: &mut StdRng, id: i64, version: i64) -> Case {
    let tier =
        [None, Some(Tier::Red), Some(Tier::Orange), Some(Tier::Blue)][rng.random_range(0..4)];
    let status = Status::ALL[rng.random_range(0..Status::ALL.len())];
    let dept = [None, Some(1), Some(2), Some(3), Some(5)][rng.random_range(0..5)];
    let mut c = fixtures::case(
        id,
        tier,
        status,
        rng.random_range(-3_600..14_400),
        TITLES[rng.random_range(0..TITLES.len())],
        TOWNS[rng.random_range(0..TOWNS.len())],
        dept,
        None,
    );
    c.version = version;
    c.overdue = rng.random_bool(0.2);
    if rng.random_bool(0.1) {
        c.next_due = None;
    }
    c.awaiting_ruling = rng.random_bool(0.15);
    c.return_count = rng.random_range(0..3);
    c.follow_up_required = rng.random_bool(0.5);
    if status == Status::Resolved {
        c.resolved_at = Some(c.received_at + Duration::minutes(rng.random_range(1..90)));
        if rng.random_bool(0.6) {
            c.deadlines.push(crate::wire::Deadline {
                clock: ClockKind::FollowUp,
                due_at: c.received_at + Duration::minutes(rng.random_range(60..600)),
                met_at: None,
                breached: false,
            });
        }
    }
    if rng.random_bool(0.15) {
        c.pending_extension = Some(PendingExtension {
            until: c.received_at + Duration::minutes(rng.random_range(60..900)),
            reason: "x".into(),
            requested_by: "d".into(),
            requested_at: c.received_at,
        });
    }
    c
}

fn run(me: Me, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut versions: HashMap<i64, i64> = HashMap::new();
    let first: Vec<Case> = (1..=80)
        .map(|id| {
            versions.insert(id, 1);
            random_case(&mut rng, id, 1)
        })
        .collect();
    let mut app = fixtures::app_as(Lang::En, me, first);
    let mut clock = now();
    let mut cursor = 0;
    assert_eq!(kept(&app), oracle(&app), "after the snapshot");
    for step in 0..1_000 {
        match rng.random_range(0..100) {
            0..=54 => {
                let n = rng.random_range(1..4);
                let mut cases = Vec::new();
                for _ in 0..n {
                    let id = rng.random_range(1..=150);
                    let v = versions.entry(id).or_insert(0);
                    // Now and then an old version arrives late: it must change nothing.
                    if *v > 1 && rng.random_bool(0.1) {
                        cases.push(random_case(&mut rng, id, *v - 1));
                    } else {
                        *v += 1;
                        cases.push(random_case(&mut rng, id, *v));
                    }
                }
                let mut changes = fixtures::changes(cases, false, &format!("c{cursor}"));
                if rng.random_bool(0.2) {
                    changes.left.push(LeftCase {
                        id: rng.random_range(1..=150),
                    });
                }
                cursor += 1;
                app.update(Action::FeedLoaded {
                    changes,
                    received_at: clock,
                });
            }
            55..=69 => {
                clock += Duration::seconds(rng.random_range(0..900));
                app.update(Action::Tick(clock));
            }
            70..=84 => {
                app.mode = Mode::Filter;
                let action = match rng.random_range(0..11) {
                    0 => code(KeyCode::Backspace),
                    1 => code(KeyCode::Esc),
                    n => key(['k', '马', '0', 'h', '镇', 'e', 'Σ', 'ς', 'ä'][n - 2]),
                };
                app.update(action);
            }
            85..=89 => {
                let cases = (0..3)
                    .map(|i| random_case(&mut rng, 1_000 + step * 3 + i, 1))
                    .collect();
                app.update(Action::SearchLoaded {
                    query: app.filter.clone(),
                    list: CaseList {
                        cases,
                        next_cursor: None,
                        server_time: now().fixed_offset(),
                    },
                });
            }
            90..=94 => {
                app.sup.drill = [None, Some(2), Some(3)][rng.random_range(0..3)];
                app.rebuild();
            }
            95..=97 => {
                app.update(Action::FeedReset { at: clock });
            }
            _ => {
                let mut cases: Vec<Case> = Vec::new();
                for id in 1..=60 {
                    if rng.random_bool(0.5) {
                        let v = versions.entry(id).or_insert(0);
                        *v += 1;
                        cases.push(random_case(&mut rng, id, *v));
                    }
                }
                cursor += 1;
                app.update(Action::FeedLoaded {
                    changes: fixtures::changes(cases, true, &format!("c{cursor}")),
                    received_at: clock,
                });
            }
        }
        assert_eq!(kept(&app), oracle(&app), "step {step}");
        assert_eq!(app.ix.texts.by_id(), folded_afresh(&app), "step {step}");
    }
}

/// Every held and found case's text folded from scratch.
fn folded_afresh(app: &App) -> HashMap<i64, (String, Option<i64>, bool)> {
    let held = app.cases.values().map(|c| (&**c, true));
    let found = app.archive.values().map(|c| (c, false));
    held.chain(found)
        .map(|(c, held)| (c.id, (fold(c), c.department_id, held)))
        .collect()
}

#[test]
fn the_filter_lists_what_the_old_matcher_lists_for_cjk_ascii_pinyin_and_folded_text() {
    let mut cases = fixtures::many_cases(600);
    for (i, c) in cases.iter_mut().enumerate() {
        c.department_id = [None, Some(1), Some(3), Some(5)][i % 4];
        if i % 7 == 0 {
            c.title = TITLES[4].into();
        }
    }
    let mut app = fixtures::app_as(Lang::ZhCn, fixtures::supervisor(), cases);
    assert_eq!(app.ix.texts.by_id(), folded_afresh(&app));
    app.mode = Mode::Filter;
    // A CJK substring of a town, ASCII of a title in another case and of the references,
    // pinyin initials and full pinyin of a department, and upper-case Greek and German.
    for q in [
        "马金",
        "RIDE",
        "hOsPital",
        "h-2022",
        "wjj",
        "jiaotong",
        "ΟΔΟΣ",
        "ος κ",
        "κλεισ",
        "ÄRZ",
        "卫健",
    ] {
        typed(&mut app, q);
        let lists = kept(&app);
        assert_eq!(lists, oracle(&app), "filter {q:?}");
        assert!(!lists.search.is_empty(), "filter {q:?} finds something");
        app.update(code(KeyCode::Backspace));
        assert_eq!(
            kept(&app),
            oracle(&app),
            "filter {q:?} less its last character"
        );
        app.update(code(KeyCode::Esc));
        app.mode = Mode::Filter;
    }
    typed(&mut app, "no such text 无此");
    assert!(kept(&app).search.is_empty());
}

#[test]
fn kept_lists_equal_a_full_rebuild_after_random_changes_for_a_supervisor() {
    run(fixtures::supervisor(), 11);
}

#[test]
fn kept_lists_equal_a_full_rebuild_after_random_changes_for_an_operator() {
    run(fixtures::me(), 12);
}

#[test]
fn kept_lists_equal_a_full_rebuild_after_random_changes_for_a_department() {
    let mut me = fixtures::me();
    me.role = Role::Department;
    me.department_id = Some(2);
    run(me, 13);
}

/// A case of `many_cases` at a new version in another town.
fn moved(app: &App, id: i64, town: &str) -> Case {
    let mut c = app.cases[&id].clone();
    c.version += 1;
    c.location.town = town.into();
    *c
}

fn deliver(app: &mut App, cases: Vec<Case>, left: Vec<i64>, cursor: &str) {
    let mut changes = fixtures::changes(cases, false, cursor);
    changes.left = left.into_iter().map(|id| LeftCase { id }).collect();
    app.update(Action::FeedLoaded {
        changes,
        received_at: now(),
    });
}

#[test]
fn a_slot_freed_by_a_case_that_changed_or_left_never_lists_its_old_text() {
    let mut app = fixtures::app_with(Lang::ZhCn, fixtures::many_cases(40));
    app.mode = Mode::Filter;
    typed(&mut app, "马金");
    assert!(app.search.ids().any(|id| id == 1));
    // Case 1 (马金镇) leaves and case 100 (华埠镇) takes its slot; case 6 moves away from 马金镇
    // and case 2 moves to it.
    let mut newcomer = app.cases[&2].clone();
    newcomer.id = 100;
    deliver(&mut app, vec![*newcomer], vec![1], "c1");
    let away = moved(&app, 6, "华埠镇");
    let here = moved(&app, 2, "马金镇");
    deliver(&mut app, vec![away, here], vec![], "c2");
    assert_eq!(kept(&app), oracle(&app), "as the changes arrive");
    for step in ["镇", "\u{8}", "\u{8}", "金"] {
        if step == "\u{8}" {
            app.update(code(KeyCode::Backspace));
        } else {
            typed(&mut app, step);
        }
        let lists = kept(&app);
        assert_eq!(lists, oracle(&app), "filter {:?}", app.filter);
        assert!(!lists.search.contains(&100), "filter {:?}", app.filter);
        assert!(!lists.search.contains(&6), "filter {:?}", app.filter);
        assert!(lists.search.contains(&2), "filter {:?}", app.filter);
    }
    assert_eq!(app.ix.texts.by_id(), folded_afresh(&app));
}

#[test]
fn the_folded_text_stays_right_when_replaced_text_is_dropped_from_its_buffer() {
    let mut app = fixtures::app_with(Lang::ZhCn, fixtures::many_cases(40));
    app.mode = Mode::Filter;
    typed(&mut app, "马金");
    let mut dropped = false;
    for round in 0..4_000 {
        let town = if round % 2 == 0 {
            "华埠镇"
        } else {
            "马金镇"
        };
        let c = moved(&app, 1 + round % 7, town);
        let before = app.ix.texts.dead_bytes();
        deliver(&mut app, vec![c], vec![], &format!("c{round}"));
        dropped |= app.ix.texts.dead_bytes() < before;
    }
    assert!(dropped, "the buffer was compacted");
    assert_eq!(app.ix.texts.by_id(), folded_afresh(&app));
    for q in ["镇", "\u{8}"] {
        if q == "\u{8}" {
            app.update(code(KeyCode::Backspace));
        } else {
            typed(&mut app, q);
        }
        assert_eq!(kept(&app), oracle(&app), "filter {:?}", app.filter);
    }
}
