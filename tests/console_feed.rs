//! The console's change-feed task against an in-process server: snapshot first, then deltas;
//! across a server restart it reports the failure and resumes from its cursor, never reloading
//! a full snapshot and never missing a change.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

use jieyou::client::{Client, new_idempotency_key};
use jieyou::console::action::Action;
use jieyou::console::config::PollConfig;
use jieyou::console::feed;
use jieyou::server::{RunningServer, ServerConfig, SystemClock};
use jieyou::wire::{Channel, Location, NewCase, Requester, Role};

const WAIT: Duration = Duration::from_secs(20);

async fn start(db: &str, listen: &str) -> RunningServer {
    let config = ServerConfig {
        listen: listen.into(),
        database: db.into(),
        escalation_interval_seconds: 0,
        ..ServerConfig::default()
    };
    jieyou::server::spawn(config, Arc::new(SystemClock))
        .await
        .expect("server starts")
}

fn new_case(title: &str) -> NewCase {
    NewCase {
        channel: Channel::Hotline12345,
        category: "supplies".into(),
        title: title.into(),
        description: String::new(),
        requester: Requester {
            name: "史先生".into(),
            phone: "13900001111".into(),
        },
        location: Location {
            town: "华埠镇".into(),
            address: String::new(),
            lat: None,
            long: None,
        },
    }
}

/// The next action, within a bounded wait.
async fn next(rx: &mut mpsc::Receiver<Action>) -> Action {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("the feed answered in time")
        .expect("the feed is running")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_feed_resumes_from_its_cursor_after_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite:{}", dir.path().join("desk.db").display());
    let server = start(&db, "127.0.0.1:0").await;
    let addr = server.addr.to_string();
    let op = server
        .store
        .add_user("op-li", Role::Operator, None)
        .await
        .expect("user");
    let intake_token = server
        .store
        .add_user("intake-wang", Role::Intake, None)
        .await
        .expect("user");
    let url = server.url();
    let intake = Client::new(&url, &intake_token).expect("client");
    let first = intake
        .create_case(&new_case("5个月婴儿需要特殊奶粉"), &new_idempotency_key())
        .await
        .expect("case");

    let (tx, mut rx) = mpsc::channel(16);
    let cancel = CancellationToken::new();
    let poll = PollConfig {
        wait_seconds: 2,
        max_backoff_seconds: 1,
    };
    tokio::spawn(feed::run(
        Client::new(&url, &op).expect("client"),
        tx,
        Arc::new(Notify::new()),
        Arc::new(Notify::new()),
        cancel.clone(),
        poll,
    ));
    assert!(matches!(next(&mut rx).await, Action::SessionLoaded(_)));
    match next(&mut rx).await {
        Action::FeedLoaded { changes, .. } => {
            assert!(changes.snapshot);
            assert_eq!(changes.cases.len(), 1);
            assert_eq!(changes.cases[0].id, first.case.id);
        }
        other => panic!("expected the snapshot, got {other:?}"),
    }

    server.stop().await.expect("server stops");
    loop {
        match next(&mut rx).await {
            Action::FeedFailed { error, .. } => {
                assert!(error.is_transient(), "{error}");
                break;
            }
            Action::FeedLoaded { changes, .. } => assert!(!changes.snapshot),
            other => panic!("unexpected {other:?}"),
        }
    }

    let server = start(&db, &addr).await;
    let second = intake
        .create_case(&new_case("独居老人断药"), &new_idempotency_key())
        .await
        .expect("case after the restart");
    // Everything after the restart is a delta from the old cursor, and the new case arrives.
    loop {
        match next(&mut rx).await {
            Action::FeedLoaded { changes, .. } => {
                assert!(!changes.snapshot, "recovery reloaded a full snapshot");
                assert!(
                    changes.cases.iter().all(|c| c.id != first.case.id),
                    "an unchanged case was sent again"
                );
                if changes.cases.iter().any(|c| c.id == second.case.id) {
                    break;
                }
            }
            Action::FeedFailed { .. } | Action::SessionLoaded(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    cancel.cancel();
    server.stop().await.expect("server stops");
}
