//! The change feed at its edges, over real HTTP: a department hears that a case left it (a
//! tombstone, never the case's content, however often the case moved), paging across
//! tombstones loses nothing, and a cursor this database did not issue is refused at once.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::actions::{dispatch, request_extension, return_case, sign_for, triage};
use common::checks::at;
use common::{TestApp, dispatched_red, spawn_app, spawn_app_with};
use jieyou::client::Client;
use jieyou::server::ServerConfig;
use jieyou::wire::{CURSOR_RESET_PROBLEM, Changes, Problem, Tier};
use reqwest::{Method, StatusCode};

/// `GET /api/v1/changes` as raw JSON text, so a test can see every byte the server sent.
async fn raw_changes(who: &Client, since: &str, wait: u64) -> (StatusCode, String, String) {
    let (status, ctype, body) = who
        .raw(
            Method::GET,
            &format!("/api/v1/changes?since={since}&wait={wait}"),
            &[],
            vec![],
        )
        .await
        .expect("the server answers");
    (status, ctype, String::from_utf8(body).expect("UTF-8"))
}

fn left_ids(c: &Changes) -> Vec<i64> {
    c.left.iter().map(|l| l.id).collect()
}

fn case_ids(c: &Changes) -> Vec<i64> {
    c.cases.iter().map(|c| c.id).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_department_gets_a_tombstone_and_never_the_content_of_a_case_that_left_it() {
    let app = spawn_app().await;
    let c = dispatched_red(&app, "透析病人需要转运").await;
    let snap = app.dept_a.changes(None, None).await.unwrap();
    assert_eq!(case_ids(&snap), [c.case.id]);
    let c = app
        .act(&app.dept_a, &c, return_case("不属于本局职责"))
        .await
        .unwrap();
    let c = app
        .act(&app.operator, &c, dispatch(app.departments[1].id))
        .await
        .unwrap();
    let c = app.act(&app.dept_b, &c, sign_for()).await.unwrap();
    app.act(
        &app.dept_b,
        &c,
        request_extension(at(600), "需协调跨县转运车辆"),
    )
    .await
    .unwrap();

    let (status, _, body) = raw_changes(&app.dept_a, &snap.cursor, 5).await;
    assert_eq!(status, StatusCode::OK);
    for secret in ["透析病人需要转运", "葛先生", "下庄村", "需协调跨县转运车辆"]
    {
        assert!(
            !body.contains(secret),
            "department A's feed carries {secret:?}: {body}"
        );
    }
    let delta: Changes = serde_json::from_str(&body).unwrap();
    assert!(delta.cases.is_empty(), "{body}");
    assert_eq!(left_ids(&delta), [c.case.id]);
    // Department B's work on it goes on; A hears nothing more of it.
    let c = app.supervisor.case(c.case.id).await.unwrap();
    app.act(&app.dept_b, &c, common::actions::progress("已联系车辆"))
        .await
        .unwrap();
    let (_, _, body) = raw_changes(&app.dept_a, &delta.cursor, 0).await;
    let later: Changes = serde_json::from_str(&body).unwrap();
    assert!(later.cases.is_empty() && later.left.is_empty(), "{body}");
    assert_eq!(
        app.dept_a.case(c.case.id).await.unwrap_err().status(),
        Some(404)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_case_that_moves_twice_between_two_polls_still_leaves_a_tombstone() {
    let app = spawn_app().await;
    let c = dispatched_red(&app, "透析病人需要转运").await;
    let snap = app.dept_a.changes(None, None).await.unwrap();
    assert_eq!(case_ids(&snap), [c.case.id]);
    // Reassigned to B by a supervisor, then returned by B: the last department to lose it is
    // B, but A lost it too.
    let c = app
        .act(&app.supervisor, &c, dispatch(app.departments[1].id))
        .await
        .unwrap();
    app.act(&app.dept_b, &c, return_case("不属于本局职责"))
        .await
        .unwrap();
    let delta = app
        .dept_a
        .changes(Some(&snap.cursor), Some(5))
        .await
        .unwrap();
    assert!(delta.cases.is_empty());
    assert_eq!(left_ids(&delta), [c.case.id]);
    let b = app.dept_b.changes(None, None).await.unwrap();
    assert!(b.cases.is_empty() && b.left.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_case_that_came_back_is_sent_whole_and_one_that_came_and_went_only_as_a_tombstone() {
    let app = spawn_app().await;
    let back = dispatched_red(&app, "透析病人需要转运").await;
    let snap = app.dept_a.changes(None, None).await.unwrap();
    // Left A and came back to A after the cursor: A gets the case as it is now.
    let back = app
        .act(&app.dept_a, &back, return_case("缺少病历"))
        .await
        .unwrap();
    let back = app
        .act(&app.operator, &back, dispatch(app.departments[0].id))
        .await
        .unwrap();
    // Came to A and left it after the cursor: A gets only the tombstone.
    let passing = app.create("发热儿童需就医").await;
    let passing = app
        .act(&app.operator, &passing, triage(Tier::Orange))
        .await
        .unwrap();
    let passing = app
        .act(&app.operator, &passing, dispatch(app.departments[0].id))
        .await
        .unwrap();
    app.act(&app.dept_a, &passing, return_case("不属于本局职责"))
        .await
        .unwrap();

    let (_, _, body) = raw_changes(&app.dept_a, &snap.cursor, 5).await;
    assert!(!body.contains("发热儿童需就医"), "{body}");
    let delta: Changes = serde_json::from_str(&body).unwrap();
    assert_eq!(case_ids(&delta), [back.case.id]);
    assert_eq!(delta.cases[0].version, back.case.version);
    assert_eq!(delta.cases[0].department_id, Some(app.departments[0].id));
    assert_eq!(left_ids(&delta), [passing.case.id]);
}

/// What a department's console holds after applying every page from `cursor`, page by page.
async fn follow(
    who: &Client,
    mut held: BTreeSet<i64>,
    mut cursor: String,
    page: usize,
) -> BTreeSet<i64> {
    loop {
        let delta = who.changes(Some(&cursor), Some(0)).await.unwrap();
        assert!(delta.cases.len() + delta.left.len() <= page);
        for c in &delta.cases {
            held.insert(c.id);
        }
        for l in &delta.left {
            held.remove(&l.id);
        }
        cursor = delta.cursor;
        if !delta.more {
            return held;
        }
    }
}

/// A whole snapshot, page by page (it comes in pages of `feed_page` cases): the cases held and
/// the cursor after it.
async fn snapshot(who: &Client) -> (BTreeSet<i64>, String) {
    let mut page = who.changes(None, None).await.unwrap();
    assert!(page.snapshot);
    let mut held = BTreeSet::new();
    loop {
        held.extend(page.cases.iter().map(|c| c.id));
        if !page.more {
            return (held, page.cursor);
        }
        page = who.changes(Some(&page.cursor), None).await.unwrap();
        assert!(!page.snapshot);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn paging_with_tombstones_between_cases_loses_nothing() {
    let app = spawn_app_with(ServerConfig {
        feed_page: 2,
        ..ServerConfig::default()
    })
    .await;
    let (a, b) = (app.departments[0].id, app.departments[1].id);
    let mut cases = vec![];
    for i in 0..6 {
        let c = app.create(&format!("求助 {i}")).await;
        let c = app.act(&app.operator, &c, triage(Tier::Red)).await.unwrap();
        cases.push(app.act(&app.operator, &c, dispatch(a)).await.unwrap());
    }
    let (held, cursor) = snapshot(&app.dept_a).await;
    assert_eq!(held.len(), 6);
    // Interleave departures, returns to A, and plain changes of A's cases.
    let mut expected = held.clone();
    for (i, c) in cases.iter().enumerate() {
        let c = app.supervisor.case(c.case.id).await.unwrap();
        match i % 3 {
            0 => {
                app.act(&app.supervisor, &c, dispatch(b)).await.unwrap();
                expected.remove(&c.case.id);
            }
            1 => {
                let c = app
                    .act(&app.dept_a, &c, return_case("缺少材料"))
                    .await
                    .unwrap();
                app.act(&app.operator, &c, dispatch(a)).await.unwrap();
            }
            _ => {
                app.act(&app.dept_a, &c, sign_for()).await.unwrap();
            }
        }
    }
    // One more case comes and goes entirely after the snapshot.
    let passing = app.create("路过的件").await;
    let passing = app
        .act(&app.operator, &passing, triage(Tier::Blue))
        .await
        .unwrap();
    let passing = app.act(&app.operator, &passing, dispatch(a)).await.unwrap();
    app.act(&app.dept_a, &passing, return_case("不属于本局"))
        .await
        .unwrap();

    let followed = follow(&app.dept_a, held, cursor, 2).await;
    assert_eq!(followed, expected);
    let (fresh, _) = snapshot(&app.dept_a).await;
    assert_eq!(followed, fresh, "the pages end where a new snapshot starts");
}

/// Asserts a 410 `cursor-reset` problem, answered well before the 30 s wait.
async fn assert_reset(app: &TestApp, since: &str) {
    let (status, ctype, body) = tokio::time::timeout(
        Duration::from_secs(10),
        raw_changes(&app.operator, since, 30),
    )
    .await
    .expect("answered at once, not after the long poll");
    assert_eq!(status, StatusCode::GONE, "{since}: {body}");
    assert_eq!(ctype, "application/problem+json");
    let p: Problem = serde_json::from_str(&body).unwrap();
    assert_eq!(p.kind, CURSOR_RESET_PROBLEM);
    assert!(p.is_cursor_reset());
    assert_eq!(p.errors[0].field, "since");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cursor_this_database_did_not_issue_is_refused_at_once() {
    let app = spawn_app().await;
    let other = spawn_app().await;
    app.create("透析病人需要转运").await;
    other.create("发热儿童需就医").await;
    let mine = app.operator.changes(None, None).await.unwrap();
    let foreign = other.operator.changes(None, None).await.unwrap();
    // The same sequence in both databases: only the identity tells them apart.
    let (_, mine_seq) = mine.cursor.rsplit_once('.').expect("id.seq");
    let (_, foreign_seq) = foreign.cursor.rsplit_once('.').expect("id.seq");
    assert_eq!(mine_seq, foreign_seq);
    assert_reset(&app, &foreign.cursor).await;
    // The cursors of the old format were a bare sequence.
    assert_reset(&app, "0").await;
    assert_reset(&app, "1").await;
    assert_reset(&app, "abc").await;
    let ahead = format!("{}.{}", app.server.store.database_id(), 1000);
    assert_reset(&app, &ahead).await;
    // The cursor it issued still works.
    let (status, _, _) = raw_changes(&app.operator, &mine.cursor, 0).await;
    assert_eq!(status, StatusCode::OK);
    // And the document says so.
    let doc: serde_json::Value = app.observer.get_json("/api/v1/openapi.json").await.unwrap();
    let gone = &doc["paths"]["/api/v1/changes"]["get"]["responses"]["410"];
    assert!(
        gone["content"].get("application/problem+json").is_some(),
        "{gone}"
    );
    assert!(
        gone["description"]
            .as_str()
            .unwrap()
            .contains("cursor-reset")
    );
    assert!(
        doc["components"]["schemas"]["Changes"]["properties"]
            .get("left")
            .is_some()
    );
}
