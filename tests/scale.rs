//! What keeps a server quick on a city's number of cases: a start-up that rewrites only the
//! deadlines a changed policy moves.

mod common;

use futures::StreamExt;
use jieyou::domain::Actor;
use jieyou::server::Store;
use jieyou::server::store::StoredAnswer;
use jieyou::wire::{Policy, Role};
use sqlx::Connection;

/// More cases than one batch of the deadline rewrite.
const CASES: usize = 700;

async fn open(url: &str, policy: Policy) -> Store {
    Store::open(url, "KH", chrono_tz::Asia::Shanghai, policy)
        .await
        .expect("the store opens")
}

/// Cases whose stored deadline is `minutes` after they were received.
async fn due_after_receipt(url: &str, minutes: i64) -> i64 {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM cases WHERE next_due_at - received_at = $1")
            .bind(minutes * 60_000)
            .fetch_one(&mut conn)
            .await
            .unwrap();
    conn.close().await.unwrap();
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_rewrites_only_the_deadlines_its_policy_moves() {
    let dir = tempfile::tempdir().unwrap();
    let url = common::pg::database_url(dir.path(), "scale.db").await;
    // Cases written before any server started: each write stored its deadline already.
    let store = open(&url, Policy::default()).await;
    let intake = Actor {
        name: "intake-wang".into(),
        role: Role::Intake,
        department_id: None,
    };
    let at = common::start_time();
    let written: Vec<_> = futures::stream::iter(0..CASES)
        .map(|i| {
            let (store, intake) = (store.clone(), intake.clone());
            async move {
                let mut new = common::new_case(&format!("路灯不亮 {i}"));
                new.requester.phone = format!("1390000{i:04}");
                store
                    .create_case(&new, &intake, at, None, |_, _, _| StoredAnswer {
                        status: 201,
                        body: vec![],
                    })
                    .await
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    assert!(written.iter().all(Result::is_ok));
    let triage = Policy::default().blue.triage_minutes;
    assert_eq!(due_after_receipt(&url, triage).await, CASES as i64);
    // The first start under the same policy finds nothing to move.
    assert_eq!(store.refresh_next_due().await.unwrap(), 0);
    store.close().await;

    // A start under a longer triage clock moves every untriaged case, in more than one batch.
    let mut longer = Policy::default();
    for tier in [&mut longer.blue, &mut longer.orange, &mut longer.red] {
        tier.triage_minutes = triage + 30;
    }
    let store = open(&url, longer.clone()).await;
    assert_eq!(store.refresh_next_due().await.unwrap(), CASES);
    assert_eq!(due_after_receipt(&url, triage + 30).await, CASES as i64);
    // Once done for this policy, a restart does nothing.
    assert_eq!(store.refresh_next_due().await.unwrap(), 0);
    store.close().await;
}
