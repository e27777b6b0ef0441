//! Several servers on one PostgreSQL database: wakeups, the feed's order, idempotent retries
//! across instances, and a PostgreSQL restart under load. Always on PostgreSQL (the harness
//! starts a throwaway cluster).

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use common::{new_case, pg, start_time};
use jieyou::client::{Client, new_idempotency_key};
use jieyou::server::{ManualClock, RunningServer, ServerConfig};
use jieyou::wire::{Activity, PresenceUpdate, Role};

/// Two servers on one fresh database; the second is given the first's users.
struct Pair {
    a: RunningServer,
    b: RunningServer,
}

async fn spawn_on(database: &str) -> RunningServer {
    let config = ServerConfig {
        listen: "127.0.0.1:0".into(),
        database: database.to_string(),
        escalation_interval_seconds: 0,
        ..ServerConfig::default()
    };
    jieyou::server::spawn(config, Arc::new(ManualClock::new(start_time())))
        .await
        .expect("server starts")
}

async fn pair() -> Pair {
    pair_on(pg::fresh_database().await).await
}

async fn pair_on(database: String) -> Pair {
    let a = spawn_on(&database).await;
    let b = spawn_on(&database).await;
    Pair { a, b }
}

impl Pair {
    /// One user, signed in on both instances.
    async fn user(&self, name: &str, role: Role) -> (Client, Client) {
        let token = self.a.store.add_user(name, role, None).await.unwrap();
        (
            Client::new(&self.a.url(), &token).unwrap(),
            Client::new(&self.b.url(), &token).unwrap(),
        )
    }
}

#[tokio::test]
async fn a_change_through_one_instance_wakes_a_long_poll_on_the_other() {
    let p = pair().await;
    let (intake_a, _) = p.user("intake-wang", Role::Intake).await;
    let (_, op_b) = p.user("op-li", Role::Operator).await;
    let snap = op_b.changes(None, None).await.unwrap();
    assert!(snap.cases.is_empty());
    let poll = tokio::spawn(async move { op_b.changes(Some(&snap.cursor), Some(25)).await });
    // The poll is held on B before the write is made on A.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let made = intake_a
        .create_case(&new_case("路灯不亮"), &new_idempotency_key())
        .await
        .unwrap();
    let delta = poll.await.unwrap().unwrap();
    assert_eq!(
        delta.cases.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![made.case.id]
    );
}

/// Follows the whole feed on one instance until `expected` cases were seen; returns how often
/// each case was seen.
/// Follows the feed from `cursor` until `expected` cases were seen (or gives up).
async fn follow(client: Client, mut cursor: String, expected: usize) -> HashMap<i64, usize> {
    let mut seen: HashMap<i64, usize> = HashMap::new();
    // Generous: a skipped change never arrives, and the reader then stops here.
    for _ in 0..2000 {
        if seen.len() >= expected {
            break;
        }
        let delta = client.changes(Some(&cursor), Some(2)).await.unwrap();
        for c in &delta.cases {
            *seen.entry(c.id).or_default() += 1;
        }
        cursor = delta.cursor;
    }
    seen
}

#[tokio::test]
async fn concurrent_writers_on_two_instances_skip_nothing_in_the_feed() {
    const TASKS: usize = 8;
    const EACH: usize = 50;
    let p = pair().await;
    let (intake_a, intake_b) = p.user("intake-wang", Role::Intake).await;
    let (op_a, op_b) = p.user("op-li", Role::Operator).await;
    // Both readers start at the empty desk's head, before any write: a case created before a
    // reader's first answer would otherwise come in its snapshot, not its feed.
    let (from_a, from_b) = (
        op_a.changes(None, None).await.unwrap(),
        op_b.changes(None, None).await.unwrap(),
    );
    assert!(from_a.cases.is_empty() && from_b.cases.is_empty());
    let readers = [
        tokio::spawn(follow(op_a, from_a.cursor, TASKS * EACH)),
        tokio::spawn(follow(op_b, from_b.cursor, TASKS * EACH)),
    ];
    let mut writers = vec![];
    for t in 0..TASKS {
        let clients = [intake_a.clone(), intake_b.clone()];
        writers.push(tokio::spawn(async move {
            let mut ids = vec![];
            for i in 0..EACH {
                let made = clients[(t + i) % 2]
                    .create_case(&new_case(&format!("写入 {t}-{i}")), &new_idempotency_key())
                    .await
                    .unwrap();
                ids.push(made.case.id);
            }
            ids
        }));
    }
    let mut created = vec![];
    for w in writers {
        created.extend(w.await.unwrap());
    }
    created.sort_unstable();
    for reader in readers {
        let seen = reader.await.unwrap();
        let mut ids: Vec<i64> = seen.keys().copied().collect();
        ids.sort_unstable();
        assert_eq!(ids, created, "every created case reaches every reader");
        assert!(seen.values().all(|&n| n == 1), "each change is seen once");
    }
}

#[tokio::test]
async fn an_idempotent_retry_on_the_other_instance_acts_once() {
    let p = pair().await;
    let (intake_a, intake_b) = p.user("intake-wang", Role::Intake).await;
    let (op_a, _) = p.user("op-li", Role::Operator).await;
    let key = new_idempotency_key();
    let new = new_case("噪音扰民");
    let first = intake_a.create_case(&new, &key).await.unwrap();
    let retry = intake_b.create_case(&new, &key).await.unwrap();
    assert_eq!(retry.case.id, first.case.id);
    assert_eq!(retry.case.reference, first.case.reference);
    let all = op_a.changes(None, None).await.unwrap();
    assert_eq!(all.cases.len(), 1, "one case, not two");
    let events = op_a.case_events(first.case.id, 0, None).await.unwrap();
    assert_eq!(events.events.len(), 1, "one event: {events:?}");
}

#[tokio::test]
async fn writes_answer_503_while_postgresql_restarts_then_resume() {
    // A cluster of its own: the other tests of this binary go on on the shared one.
    let cluster = tokio::task::spawn_blocking(pg::Cluster::start)
        .await
        .unwrap();
    let p = pair_on(pg::fresh_database_on(&cluster).await).await;
    let (intake_a, _) = p.user("intake-wang", Role::Intake).await;
    intake_a
        .create_case(&new_case("重启之前"), &new_idempotency_key())
        .await
        .unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let client = intake_a.clone();
        tokio::spawn(async move {
            let mut statuses: HashMap<u16, usize> = HashMap::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let status = match client
                    .create_case(&new_case("重启之中"), &new_idempotency_key())
                    .await
                {
                    Ok(_) => 201,
                    Err(e) => e.status().unwrap_or(0),
                };
                *statuses.entry(status).or_default() += 1;
            }
            statuses
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Down longer than a write waits for a connection (the store's busy timeout, 10 s): the
    // writes meanwhile must be refused with 503, never 500, however slowly the writer goes.
    let cluster = tokio::task::spawn_blocking(move || {
        cluster.pg_ctl(&["stop", "-m", "fast"]);
        cluster
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_secs(12)).await;
    let cluster = tokio::task::spawn_blocking(move || {
        cluster.start_again();
        cluster
    })
    .await
    .unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let statuses = writer.await.unwrap();
    assert!(
        statuses.keys().all(|s| matches!(s, 201 | 503)),
        "only successes and 503s: {statuses:?}"
    );
    assert!(
        statuses.contains_key(&503),
        "the restart was seen: {statuses:?}"
    );
    // Without restarting the servers, writes work again once PostgreSQL is back.
    let mut resumed = false;
    for _ in 0..50 {
        match intake_a
            .create_case(&new_case("重启之后"), &new_idempotency_key())
            .await
        {
            Ok(_) => {
                resumed = true;
                break;
            }
            Err(e) => {
                assert_eq!(e.status(), Some(503), "{e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    assert!(resumed, "writes resume by themselves");
    drop(p);
    cluster.pg_ctl(&["stop", "-m", "immediate"]);
}

#[tokio::test]
async fn presence_reported_on_one_instance_shows_on_the_other() {
    let p = pair().await;
    let (intake_a, _) = p.user("intake-wang", Role::Intake).await;
    let (op_a, _) = p.user("op-li", Role::Operator).await;
    let (_, op_b) = p.user("op-zhao", Role::Operator).await;
    let case = intake_a
        .create_case(&new_case("独居老人缺药"), &new_idempotency_key())
        .await
        .unwrap()
        .case;
    let before = op_b.presence(None, None).await.unwrap();
    assert!(before.entries.is_empty());
    // Held on B before A's console reports.
    let poll = tokio::spawn(async move { op_b.presence(Some(before.version), Some(25)).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    op_a.put_presence(&PresenceUpdate {
        case: Some(case.id),
        activity: Activity::Answering,
    })
    .await
    .unwrap();
    let seen = poll.await.unwrap().unwrap();
    let [entry] = seen.entries.as_slice() else {
        panic!("{seen:?}")
    };
    assert_eq!(entry.user, "op-li");
    assert_eq!(entry.case, case.id);
    assert_eq!(entry.activity, Activity::Answering);
}
