//! The store's write path on a real SQLite file: writes of cases share group commits and every
//! acknowledged one survives a reopen while refused ones fail alone; the change feed stays
//! dense and in commit order under concurrent writers; references are numbered per day without
//! gaps or repeats, also when days alternate; the escalation ladder writes its rungs in batches
//! and a pass with nothing due writes nothing.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use common::actions::note;
use common::{new_case, start_time};
use futures::future::join_all;
use jieyou::domain::{Actor, CaseRecord};
use jieyou::server::store::{Store, StoreError, StoredAnswer, Written};
use jieyou::wire::{Event, Policy, Role};
use sqlx::sqlite::SqlitePool;

struct Db {
    dir: tempfile::TempDir,
}

impl Db {
    fn new() -> Db {
        Db {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn url(&self) -> String {
        format!("sqlite:{}", self.dir.path().join("jieyou.db").display())
    }

    async fn open(&self) -> Store {
        Store::open(
            &self.url(),
            "KH",
            chrono_tz::Asia::Shanghai,
            Policy::default(),
        )
        .await
        .expect("store opens")
    }

    /// A connection of its own, beside the store's.
    async fn side(&self) -> SqlitePool {
        SqlitePool::connect(&self.url()).await.expect("side pool")
    }
}

fn intake() -> Actor {
    Actor {
        name: "intake-wang".into(),
        role: Role::Intake,
        department_id: None,
    }
}

fn operator() -> Actor {
    Actor {
        name: "op-li".into(),
        role: Role::Operator,
        department_id: None,
    }
}

fn render(rec: &CaseRecord, events: &[Event], count: i64) -> StoredAnswer {
    StoredAnswer {
        status: 200,
        body: format!("{} {} {count}", rec.reference, events.len()).into_bytes(),
    }
}

async fn create(
    store: &Store,
    title: String,
    now: DateTime<Utc>,
) -> Result<CaseRecord, StoreError> {
    match store
        .create_case(&new_case(&title), &intake(), now, None, render)
        .await?
    {
        Written::Fresh(rec, _) => Ok(rec),
        Written::Replayed(_) => panic!("a create without a key replayed"),
    }
}

async fn add_note(store: &Store, id: i64, version: i64) -> Result<CaseRecord, StoreError> {
    match store
        .act(
            id,
            Some(version),
            &note("已联系家属"),
            &operator(),
            start_time(),
            None,
            render,
        )
        .await?
    {
        Written::Fresh(rec, _) => Ok(rec),
        Written::Replayed(_) => panic!("an action without a key replayed"),
    }
}

/// One test task: every write below is queued before the writer task runs, so they meet in
/// the writer's queue together.
#[tokio::test]
async fn queued_writes_share_commits_each_acknowledged_one_is_durable_and_a_refusal_fails_alone() {
    let db = Db::new();
    let store = db.open().await;
    let a = create(&store, "种子一".into(), start_time()).await.unwrap();
    let b = create(&store, "种子二".into(), start_time()).await.unwrap();
    let before = store.write_stats();

    let creates = join_all((0..40).map(|i| create(&store, format!("并发{i}"), start_time())));
    let good_note = add_note(&store, a.id, a.version);
    let stale_note = add_note(&store, b.id, b.version + 7);
    let missing_note = add_note(&store, 999_999, 1);
    let (created, good, stale, missing) =
        tokio::join!(creates, good_note, stale_note, missing_note);

    let created: Vec<CaseRecord> = created
        .into_iter()
        .map(|r| r.expect("every create is acknowledged"))
        .collect();
    let good = good.expect("the good note is acknowledged");
    assert_eq!(good.version, a.version + 1);
    assert!(
        matches!(stale, Err(StoreError::Stale(ref now)) if now.version == b.version),
        "{stale:?}"
    );
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
    );
    let after = store.write_stats();
    let writes = after.writes - before.writes;
    let groups = after.groups - before.groups;
    assert_eq!(writes, 41, "40 creates and one note committed");
    assert!(
        groups < writes,
        "{writes} queued writes took {groups} commits"
    );

    // Reopened: every acknowledged write is there, nothing of the refused ones.
    store.close().await;
    drop(store);
    let store = db.open().await;
    for rec in &created {
        let stored = store.case(rec.id).await.expect("an acknowledged create");
        assert_eq!(stored.reference, rec.reference);
        assert_eq!(stored.title, rec.title);
    }
    assert_eq!(store.case(a.id).await.unwrap().version, a.version + 1);
    let b_now = store.case(b.id).await.unwrap();
    assert_eq!(b_now.version, b.version, "the stale note changed nothing");
    let (_, b_events) = store.latest_events(b.id, 10).await.unwrap();
    assert_eq!(b_events, 1, "only the stale note's case's first event");
    // One feed number per change, none lost to the refusals: 2 seeds, 40 creates, one note.
    assert_eq!(store.feed_head(), 43);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_reader_sees_every_change_of_concurrent_writers_once_in_commit_order() {
    const WRITERS: usize = 4;
    const EACH: usize = 30;
    let db = Db::new();
    let store = db.open().await;
    let total = (WRITERS * EACH) as i64;
    let reader = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut seen = vec![];
            let mut cursor = 0;
            while cursor < total {
                let page = store.changes_since(cursor, 7, None).await.unwrap();
                assert!(page.cursor >= cursor, "the cursor went back");
                seen.extend(page.cases.iter().map(|c| c.id));
                cursor = page.cursor;
                if page.cases.is_empty() {
                    tokio::task::yield_now().await;
                }
            }
            seen
        })
    };
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                for i in 0..EACH {
                    create(&store, format!("写者{w}-{i}"), start_time())
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    let seen = reader.await.unwrap();
    assert_eq!(seen.len(), WRITERS * EACH, "every change seen exactly once");
    // Each case is numbered in the transaction that creates it: feed order is id order.
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "feed order is commit order: {seen:?}"
    );
    assert_eq!(store.feed_head(), total, "no number skipped");
}

#[tokio::test]
async fn references_are_numbered_per_desk_day_without_gaps_or_repeats() {
    let db = Db::new();
    let store = db.open().await;
    // 21:04 in the desk's zone on 8 May; the next desk day starts three hours later.
    let evening = start_time();
    let next_day = evening + Duration::hours(3);

    let first: Vec<CaseRecord> =
        join_all((0..30).map(|i| create(&store, format!("当天{i}"), evening)))
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
    let second: Vec<CaseRecord> =
        join_all((0..5).map(|i| create(&store, format!("次日{i}"), next_day)))
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();

    let numbered = |cases: &[CaseRecord]| -> Vec<String> {
        let by_id: BTreeMap<i64, String> =
            cases.iter().map(|c| (c.id, c.reference.clone())).collect();
        by_id.into_values().collect()
    };
    let expected: Vec<String> = (1..=30).map(|n| format!("KH-20220508-{n:04}")).collect();
    assert_eq!(numbered(&first), expected, "in id order, from 0001, no gap");
    let expected: Vec<String> = (1..=5).map(|n| format!("KH-20220509-{n:04}")).collect();
    assert_eq!(numbered(&second), expected, "a new day starts at 0001");

    // A database whose day began before its counter existed goes on after the day's cases.
    let side = db.side().await;
    sqlx::query("UPDATE feed_counter SET reference_prefix = NULL, reference_count = NULL")
        .execute(&side)
        .await
        .unwrap();
    side.close().await;
    let later = create(&store, "计数器之前".into(), evening).await.unwrap();
    assert_eq!(later.reference, "KH-20220508-0031");
    let refs: BTreeSet<String> = first
        .iter()
        .chain(&second)
        .chain([&later])
        .map(|c| c.reference.clone())
        .collect();
    assert_eq!(refs.len(), 36, "every reference is unique");
}

/// The day's reference count shares the feed counter's row: a create that goes back to a day
/// met before (a clock set back) numbers on after that day's cases, and every create and action
/// still takes exactly one feed number.
#[tokio::test]
async fn references_go_on_when_days_alternate_and_each_write_takes_one_feed_number() {
    let db = Db::new();
    let store = db.open().await;
    let evening = start_time();
    let next_day = evening + Duration::hours(3);
    let mut made = vec![];
    for (i, at) in [
        evening, evening, next_day, evening, next_day, next_day, evening,
    ]
    .into_iter()
    .enumerate()
    {
        made.push(
            create(&store, format!("来回{i}"), at)
                .await
                .unwrap()
                .reference,
        );
    }
    assert_eq!(
        made,
        [
            "KH-20220508-0001",
            "KH-20220508-0002",
            "KH-20220509-0001",
            "KH-20220508-0003",
            "KH-20220509-0002",
            "KH-20220509-0003",
            "KH-20220508-0004",
        ]
    );
    assert_eq!(store.feed_head(), 7, "one feed number per create");
    let page = store.changes_since(0, 100, None).await.unwrap();
    let ids: BTreeSet<i64> = page.cases.iter().map(|c| c.id).collect();
    assert_eq!(ids.len(), 7, "every create is in the feed once");
    assert_eq!(page.cursor, 7);

    // An action takes the next number in the statements that write its case.
    let first = &page.cases[0];
    let noted = add_note(&store, first.id, first.version).await.unwrap();
    assert_eq!(store.feed_head(), 8);
    let page = store.changes_since(7, 100, None).await.unwrap();
    let changed: Vec<(i64, i64)> = page.cases.iter().map(|c| (c.id, c.version)).collect();
    assert_eq!(changed, [(noted.id, noted.version)], "the noted case at 8");
    assert_eq!(page.cursor, 8);
}

#[tokio::test]
async fn an_escalation_pass_writes_every_due_rung_once_in_batches_and_nothing_when_none_is_due() {
    const CASES: usize = 600;
    const BATCH: usize = 256;
    let db = Db::new();
    let store = db.open().await;
    let cases: Vec<CaseRecord> =
        join_all((0..CASES).map(|i| create(&store, format!("待分级{i}"), start_time())))
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
    let head = store.feed_head();

    // Nothing is due yet: no transaction, the feed does not move.
    let idle = store
        .escalate_in_batches(start_time(), BATCH)
        .await
        .unwrap();
    assert_eq!(idle, Default::default());
    assert_eq!(store.feed_head(), head);

    // A day later every untriaged case is past its triage clock and every rung is due.
    let late = start_time() + Duration::hours(24);
    let pass = store.escalate_in_batches(late, BATCH).await.unwrap();
    assert_eq!(pass.cases, CASES);
    assert_eq!(pass.batches, CASES.div_ceil(BATCH), "{pass:?}");
    assert!(pass.rungs >= CASES, "{pass:?}");
    assert_eq!(
        store.feed_head(),
        head + CASES as i64,
        "one feed number per escalated case"
    );

    let side = db.side().await;
    let per_case: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT case_id, COUNT(*) FROM events WHERE action = 'escalate' GROUP BY case_id",
    )
    .fetch_all(&side)
    .await
    .unwrap();
    assert_eq!(per_case.len(), CASES, "every due case climbed");
    let rungs = per_case[0].1;
    assert!(per_case.iter().all(|(_, n)| *n == rungs), "{per_case:?}");
    assert_eq!(rungs as usize * CASES, pass.rungs);
    assert!(
        cases
            .iter()
            .all(|c| per_case.iter().any(|(id, _)| *id == c.id))
    );

    // Run again at the same time: every rung fired once, so nothing is written.
    let head = store.feed_head();
    let again = store.escalate_in_batches(late, BATCH).await.unwrap();
    assert_eq!(again, Default::default());
    assert_eq!(store.feed_head(), head);
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE action = 'escalate'")
        .fetch_one(&side)
        .await
        .unwrap();
    assert_eq!(total as usize, pass.rungs, "no rung written twice");
    side.close().await;
}

#[tokio::test]
async fn an_escalation_pass_reads_only_cases_whose_next_rung_has_come() {
    const CASES: usize = 40;
    let db = Db::new();
    let store = db.open().await;
    for i in 0..CASES {
        create(&store, format!("待分级{i}"), start_time())
            .await
            .unwrap();
    }
    // Untriaged: the triage clock runs out at 15 minutes, and red's ladder (0, 15, 30 minutes
    // after the breach) applies.
    let at = |minutes: i64| start_time() + Duration::minutes(minutes);
    let pass = |minutes: i64| store.escalate_in_batches(at(minutes), 256);

    let reminder = pass(16).await.unwrap();
    assert_eq!(
        (reminder.read, reminder.cases, reminder.rungs),
        (CASES, CASES, CASES)
    );
    // Between the reminder and the urging notice nothing is due, and nothing is read.
    let between = pass(25).await.unwrap();
    assert_eq!(between, Default::default());
    let notice = pass(31).await.unwrap();
    assert_eq!((notice.read, notice.rungs), (CASES, CASES));
    let office = pass(46).await.unwrap();
    assert_eq!((office.read, office.rungs), (CASES, CASES));
    // Past the top of the ladder for this deadline: nothing more to read.
    assert_eq!(pass(600).await.unwrap(), Default::default());
}
