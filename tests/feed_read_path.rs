//! The change feed's read path, over real HTTP: tokens remembered yet revocable from another
//! process, snapshots in pages that lose nothing to writes made while paging, long polls woken
//! only by their own feed (on what the write itself told the feed, or on the database for
//! another process's write), one delta answer shared by every poller at a cursor, and gzip when
//! asked (but never for a write's answer).

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::actions::{dispatch, triage};
use common::{TestApp, spawn_app, spawn_app_with};
use jieyou::client::Client;
use jieyou::domain::Actor;
use jieyou::server::store::StoredAnswer;
use jieyou::server::store::TOKEN_RECHECK;
use jieyou::server::{Clock, ServerConfig, Store};
use jieyou::wire::{Changes, Policy, Role, Tier};
use reqwest::{Method, StatusCode};

async fn me_status(client: &Client) -> StatusCode {
    client
        .raw(Method::GET, "/api/v1/me", &[], vec![])
        .await
        .expect("the server answers")
        .0
}

/// Asks until the token is refused; fails if that takes longer than the stated bound (with
/// room for a slow machine).
async fn refused_within_bound(client: &Client) {
    let give_up = tokio::time::Instant::now() + TOKEN_RECHECK * 10;
    loop {
        match me_status(client).await {
            StatusCode::UNAUTHORIZED => return,
            StatusCode::OK => assert!(
                tokio::time::Instant::now() < give_up,
                "the token still works well past {TOKEN_RECHECK:?}"
            ),
            other => panic!("unexpected {other}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The database as another process (`jieyou user …`) opens it.
async fn other_process(app: &TestApp) -> Store {
    Store::open(
        &app.database,
        "KH",
        chrono_tz::Asia::Shanghai,
        Policy::default(),
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tokens_revoked_or_rotated_by_another_process_stop_working_and_new_ones_work_at_once() {
    let app = spawn_app().await;
    let cli = other_process(&app).await;
    let url = app.server.url();

    let token = cli.add_user("op-new", Role::Operator, None).await.unwrap();
    let new_user = Client::new(&url, &token).unwrap();
    assert_eq!(me_status(&new_user).await, StatusCode::OK);
    assert_eq!(me_status(&new_user).await, StatusCode::OK);
    cli.revoke_user("op-new").await.unwrap();
    refused_within_bound(&new_user).await;

    let old = cli.add_user("op-two", Role::Operator, None).await.unwrap();
    let old_client = Client::new(&url, &old).unwrap();
    assert_eq!(me_status(&old_client).await, StatusCode::OK);
    let rotated = cli.rotate_user("op-two").await.unwrap();
    assert_eq!(
        me_status(&Client::new(&url, &rotated).unwrap()).await,
        StatusCode::OK
    );
    refused_within_bound(&old_client).await;
    cli.close().await;
}

/// Applies a feed answer to what a console holds, as the console does (upsert by version).
fn apply(held: &mut BTreeMap<i64, i64>, c: &Changes) {
    if c.snapshot {
        held.clear();
    }
    for case in &c.cases {
        let v = held.entry(case.id).or_insert(case.version);
        *v = (*v).max(case.version);
    }
    for gone in &c.left {
        held.remove(&gone.id);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_snapshot_paged_across_writes_loses_nothing() {
    let app = spawn_app_with(ServerConfig {
        feed_page: 3,
        ..ServerConfig::default()
    })
    .await;
    let mut cases = vec![];
    for i in 0..10 {
        cases.push(app.create(&format!("个案 {i}")).await);
    }
    let mut held = BTreeMap::new();
    let first = app.operator.changes(None, None).await.unwrap();
    assert!(first.snapshot && first.more);
    assert_eq!(first.cases.len(), 3);
    apply(&mut held, &first);
    let mut cursor = first.cursor;
    let mut pages = 1;
    loop {
        // Between pages: a case already sent changes, one not yet sent changes, a new one comes.
        let sent = &cases[pages - 1];
        app.act(&app.operator, sent, triage(Tier::Blue))
            .await
            .unwrap();
        let unsent = &cases[9 - pages];
        app.act(&app.operator, unsent, triage(Tier::Orange))
            .await
            .unwrap();
        cases.push(app.create(&format!("翻页时新来的 {pages}")).await);
        let page = app.operator.changes(Some(&cursor), None).await.unwrap();
        assert!(!page.snapshot);
        apply(&mut held, &page);
        cursor = page.cursor;
        pages += 1;
        if !page.more {
            break;
        }
    }
    assert!(pages >= 4, "{pages} pages");
    loop {
        let delta = app.operator.changes(Some(&cursor), None).await.unwrap();
        apply(&mut held, &delta);
        cursor = delta.cursor;
        if delta.cases.is_empty() && !delta.more {
            break;
        }
    }
    let now = app.clock.now();
    let db = app
        .server
        .store
        .snapshot_page(None, 0, now - chrono::Duration::hours(24), None, 1_000_000)
        .await
        .unwrap();
    let expected: BTreeMap<i64, i64> = db.cases.iter().map(|c| (c.id, c.version)).collect();
    assert_eq!(held, expected);
    assert_eq!(held.len(), 10 + pages - 1);
}

/// Waits until `n` polls follow the scope's feed: they are subscribed, so a change after this
/// reaches them by waking, not by their first read.
async fn until_waiting(app: &TestApp, scope: Option<i64>, n: usize) {
    while app.server.feed.waiting(scope) < n {
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_department_long_poll_wakes_only_for_its_own_department() {
    let app = spawn_app().await;
    let a = app.departments[0].id;
    let b = app.departments[1].id;
    let for_a = app.create("卫健局的个案").await;
    let for_a = app
        .act(&app.operator, &for_a, triage(Tier::Red))
        .await
        .unwrap();
    let for_b = app.create("交通局的个案").await;
    let for_b = app
        .act(&app.operator, &for_b, triage(Tier::Red))
        .await
        .unwrap();
    let cursor = app.dept_a.changes(None, None).await.unwrap().cursor;

    let poller = app.dept_a.clone();
    let poll = tokio::spawn(async move { poller.changes(Some(&cursor), Some(30)).await });
    until_waiting(&app, Some(a), 1).await;
    app.act(&app.operator, &for_b, dispatch(b)).await.unwrap();
    app.act(&app.operator, &for_a, dispatch(a)).await.unwrap();
    let answer = poll.await.unwrap().unwrap();
    assert_eq!(
        answer.cases.iter().map(|c| c.id).collect::<Vec<_>>(),
        [for_a.case.id]
    );
    // Woken once: by its department's change, not by the other department's.
    assert_eq!(app.server.feed.wakeups(), 1);
}

/// A department's long poll wakes when a case is dispatched to it by this server, on the
/// departments the write named (the departments' heads are not read from the database); a
/// dispatch written by another process, which names nothing to this server, wakes it through
/// the database.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_department_long_poll_wakes_on_what_the_write_named_and_on_another_process_write() {
    let app = spawn_app().await;
    let a = app.departments[0].id;
    let mut triaged = vec![];
    for title in ["本进程派的个案", "另一进程派的个案"] {
        let c = app.create(title).await;
        triaged.push(app.act(&app.operator, &c, triage(Tier::Red)).await.unwrap());
    }
    let cursor = app.dept_a.changes(None, None).await.unwrap().cursor;
    let reads = app.server.feed.head_reads();

    let poller = app.dept_a.clone();
    let poll = tokio::spawn(async move { poller.changes(Some(&cursor), Some(30)).await });
    until_waiting(&app, Some(a), 1).await;
    app.act(&app.operator, &triaged[0], dispatch(a))
        .await
        .unwrap();
    let answer = poll.await.unwrap().unwrap();
    assert_eq!(
        answer.cases.iter().map(|c| c.id).collect::<Vec<_>>(),
        [triaged[0].case.id]
    );
    // On PostgreSQL this server may hear its own commit's notification before its writer has
    // reported the run; it then reads the heads, which is only slower.
    if app.database.starts_with("sqlite:") {
        assert_eq!(app.server.feed.head_reads(), reads);
    }

    let cli = other_process(&app).await;
    let poller = app.dept_a.clone();
    let cursor = answer.cursor;
    let poll = tokio::spawn(async move { poller.changes(Some(&cursor), Some(30)).await });
    until_waiting(&app, Some(a), 1).await;
    let operator = Actor {
        name: "op-li".into(),
        role: Role::Operator,
        department_id: None,
    };
    let other = &triaged[1].case;
    cli.act(
        other.id,
        Some(other.version),
        &dispatch(a),
        &operator,
        app.clock.now(),
        None,
        |_, _, _| StoredAnswer {
            status: 200,
            body: vec![],
        },
    )
    .await
    .unwrap();
    let answer = poll.await.unwrap().unwrap();
    assert_eq!(
        answer.cases.iter().map(|c| c.id).collect::<Vec<_>>(),
        [other.id]
    );
    assert!(app.server.feed.head_reads() > reads);
    cli.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_department_long_poll_wakes_on_an_escalation_rung_without_reading_the_heads() {
    let app = spawn_app().await;
    let a = app.departments[0].id;
    let c = app.create("逾期未签收").await;
    let c = app.act(&app.operator, &c, triage(Tier::Red)).await.unwrap();
    app.act(&app.operator, &c, dispatch(a)).await.unwrap();
    let cursor = app.dept_a.changes(None, None).await.unwrap().cursor;
    let reads = app.server.feed.head_reads();

    let poller = app.dept_a.clone();
    let poll = tokio::spawn(async move { poller.changes(Some(&cursor), Some(30)).await });
    until_waiting(&app, Some(a), 1).await;
    // Past the 15-minute sign-for clock: the ladder's first rung climbs the department's case.
    app.advance(20);
    let climbed = app
        .server
        .store
        .escalate_due(app.clock.now())
        .await
        .unwrap();
    assert_eq!(climbed, 1);
    let answer = poll.await.unwrap().unwrap();
    assert_eq!(
        answer.cases.iter().map(|c| c.id).collect::<Vec<_>>(),
        [c.case.id]
    );
    if app.database.starts_with("sqlite:") {
        assert_eq!(app.server.feed.head_reads(), reads);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pollers_at_one_cursor_share_one_delta_answer() {
    let app = spawn_app().await;
    let cursor = app.operator.changes(None, None).await.unwrap().cursor;
    let made = app.server.feed.answers_made();
    let mut polls = vec![];
    for who in [&app.operator, &app.operator2, &app.supervisor] {
        let who = who.clone();
        let path = format!("/api/v1/changes?since={cursor}&wait=30");
        polls.push(tokio::spawn(async move {
            who.raw(Method::GET, &path, &[], vec![]).await.unwrap()
        }));
    }
    until_waiting(&app, None, 3).await;
    let case = app.create("共享的变更").await;
    let mut bodies = vec![];
    for p in polls {
        let (status, _, body) = p.await.unwrap();
        assert_eq!(status, StatusCode::OK);
        bodies.push(body);
    }
    assert!(bodies.iter().all(|b| *b == bodies[0]));
    let answer: Changes = serde_json::from_slice(&bodies[0]).unwrap();
    assert_eq!(answer.cases[0].id, case.case.id);
    assert_eq!(app.server.feed.answers_made() - made, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn feed_answers_are_gzipped_only_when_asked() {
    let app = spawn_app().await;
    let token = app
        .server
        .store
        .add_user("op-gzip", Role::Operator, None)
        .await
        .unwrap();
    let cursor = app.operator.changes(None, None).await.unwrap().cursor;
    for i in 0..3 {
        app.create(&format!("压缩 {i}")).await;
    }
    // A client that does not undo gzip itself, so the test sees what was sent.
    let http = reqwest::Client::builder().no_gzip().build().unwrap();
    for path in [
        "/api/v1/changes".to_string(),
        format!("/api/v1/changes?since={cursor}"),
    ] {
        let url = format!("{}{path}", app.server.url());
        let zipped = http
            .get(&url)
            .bearer_auth(&token)
            .header("Accept-Encoding", "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(zipped.status(), StatusCode::OK);
        assert_eq!(zipped.headers()["content-encoding"], "gzip", "{path}");
        let body = zipped.bytes().await.unwrap();
        assert_eq!(&body[..2], [0x1f, 0x8b], "{path}");

        let plain = http.get(&url).bearer_auth(&token).send().await.unwrap();
        assert!(plain.headers().get("content-encoding").is_none(), "{path}");
        let answer: Changes = serde_json::from_slice(&plain.bytes().await.unwrap()).unwrap();
        assert_eq!(answer.cases.len(), 3, "{path}");
    }
}

/// A write's answer (larger than the size from which answers are compressed) is sent plain even
/// to a client that asks for gzip.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_write_answer_is_sent_plain_even_when_gzip_is_asked() {
    let app = spawn_app().await;
    let token = app
        .server
        .store
        .add_user("intake-plain", Role::Intake, None)
        .await
        .unwrap();
    let mut new = common::new_case("不压缩的回答");
    new.description = "独居老人家中停水三天,请尽快派人查看。".repeat(20);
    let http = reqwest::Client::builder().no_gzip().build().unwrap();
    let created = http
        .post(format!("{}/api/v1/cases", app.server.url()))
        .bearer_auth(&token)
        .header("Accept-Encoding", "gzip")
        .header("Idempotency-Key", "plain-answer-1")
        .json(&new)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    assert!(created.headers().get("content-encoding").is_none());
    let body = created.bytes().await.unwrap();
    assert!(body.len() > usize::from(jieyou::server::routes::COMPRESS_ABOVE_BYTES));
    let detail: jieyou::wire::CaseDetail = serde_json::from_slice(&body).unwrap();
    assert_eq!(detail.case.description, new.description);
}
