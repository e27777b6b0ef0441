//! The smaller points of the API contract through real HTTP: lean action answers and a paged
//! timeline, the indexed overdue search, departments under If-Match, the Authorization
//! scheme, weak ETags, idempotency keys that expire, token revocation and rotation, and the
//! accuracy of the daily report.

mod common;

use std::process::Command;
use std::sync::Arc;

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use common::actions::{
    answer_online, decide_extension, note, request_extension, resolve, sign_for, triage,
};
use common::checks::{at, problem_of, t};
use common::{TestApp, dispatched_red, spawn_app, spawn_app_sqlite, spawn_app_with};
use jieyou::client::{Client, new_idempotency_key};
use jieyou::report::DailyReport;
use jieyou::server::{Clock, ServerConfig};
use jieyou::wire::{
    CaseDetail, CaseList, DETAIL_EVENTS, DepartmentPatch, EventPage, Problem, Role, Tier,
};
use reqwest::{Method, StatusCode};
use sqlx::sqlite::SqlitePoolOptions;

fn db_url(app: &TestApp) -> String {
    app.database.clone()
}

/// A second connection to the server's database file, to look at what it stored.
async fn side_db(app: &TestApp) -> sqlx::SqlitePool {
    SqlitePoolOptions::new()
        .max_connections(1)
        .connect(&db_url(app))
        .await
        .unwrap()
}

async fn post_raw(
    who: &Client,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (StatusCode, Vec<u8>, String) {
    let mut all = vec![("content-type", "application/json")];
    all.extend_from_slice(headers);
    let (status, _, body) = who
        .raw(Method::POST, path, &all, body.as_bytes().to_vec())
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&body).into_owned();
    (status, body, text)
}

// ---- action answers and the timeline --------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_action_answers_the_case_and_its_new_event_and_the_timeline_is_paged() {
    let app = spawn_app().await;
    let mut c = app.create("透析病人需要转运").await;
    let notes = DETAIL_EVENTS + 10;
    for i in 0..notes {
        c = app
            .act(&app.operator, &c, note(&format!("第{i}次联系家属")))
            .await
            .unwrap();
    }
    // The answer to one more note: the case and that note, not the other 61 events.
    let id = c.case.id;
    let key = new_idempotency_key();
    let if_match = format!("\"{}\"", c.case.version);
    let path = format!("/api/v1/cases/{id}/note");
    let headers = [
        ("if-match", if_match.as_str()),
        ("idempotency-key", key.as_str()),
    ];
    let (status, body, _) =
        post_raw(&app.operator, &path, &headers, r#"{"text": "最后一次"}"#).await;
    assert_eq!(status, StatusCode::OK);
    let answer: CaseDetail = serde_json::from_slice(&body).unwrap();
    assert_eq!(answer.case.version, c.case.version + 1);
    assert_eq!(answer.events.len(), 1, "only the new event");
    assert_eq!(answer.events[0].action, "note");
    assert_eq!(answer.events[0].payload["text"], "最后一次");
    assert_eq!(
        answer.event_count,
        notes + 2,
        "received, the notes, this one"
    );
    // The stored idempotent answer is the same lean answer.
    let (status, replayed, _) =
        post_raw(&app.operator, &path, &headers, r#"{"text": "最后一次"}"#).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(replayed, body);

    // The case itself carries the latest events and the count.
    let detail = app.observer.case(id).await.unwrap();
    assert_eq!(detail.event_count, notes + 2);
    assert_eq!(detail.events.len() as i64, DETAIL_EVENTS);
    assert_eq!(detail.events.last().unwrap().id, answer.events[0].id);
    assert!(detail.events.windows(2).all(|w| w[0].id < w[1].id));

    // The whole timeline, page by page, oldest first.
    let mut all = vec![];
    let mut after = 0;
    loop {
        let page: EventPage = app.observer.case_events(id, after, Some(25)).await.unwrap();
        assert!(page.events.len() <= 25);
        all.extend(page.events);
        match page.next_after {
            Some(n) => after = n,
            None => break,
        }
    }
    assert_eq!(all.len() as i64, notes + 2);
    assert_eq!(all[0].action, "received");
    assert!(all.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(all.last().unwrap().id, answer.events[0].id);

    // Same visibility as the case: another department does not learn it exists.
    let err = app.dept_b.case_events(id, 0, None).await.unwrap_err();
    assert_eq!(err.status(), Some(404));
    let err = app
        .observer
        .case_events(id, 0, Some(501))
        .await
        .unwrap_err();
    assert_eq!(problem_of(err).errors[0].field, "limit");
}

// ---- overdue search ------------------------------------------------------------------------

async fn overdue_ids(app: &TestApp, overdue: bool) -> Vec<i64> {
    let list: CaseList = app
        .supervisor
        .get_json(&format!("/api/v1/cases?overdue={overdue}&limit=200"))
        .await
        .unwrap();
    let mut ids: Vec<i64> = list.cases.iter().map(|c| c.id).collect();
    for c in &list.cases {
        assert_eq!(
            c.overdue, overdue,
            "{} listed under overdue={overdue}",
            c.reference
        );
    }
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overdue_search_reads_each_cases_stored_next_deadline_kept_by_every_write() {
    let app = spawn_app_sqlite().await;
    // Untriaged, due 21:19.
    let fresh = app.create("询问返乡隔离政策").await;
    // Red, dispatched at 21:14, sign-for due 21:29.
    let red = dispatched_red(&app, "透析病人需要转运").await;
    // Signed for at 21:20; the feedback clock (due 01:04) is then the next; an approved
    // extension moves it to 03:04.
    let held = dispatched_red(&app, "发热儿童需就医").await;
    app.clock.set(t(16));
    let held = app.act(&app.dept_a, &held, sign_for()).await.unwrap();
    let held = app
        .act(
            &app.dept_a,
            &held,
            request_extension(at(6 * 60), "等待化验结果"),
        )
        .await
        .unwrap();
    let held = app
        .act(&app.supervisor, &held, decide_extension(true))
        .await
        .unwrap();
    let stored: Vec<(i64, Option<i64>)> =
        sqlx::query_as("SELECT id, next_due_at FROM cases ORDER BY id")
            .fetch_all(&side_db(&app).await)
            .await
            .unwrap();
    for (id, next_due_at) in &stored {
        let c = app.observer.case(*id).await.unwrap();
        let due = c.case.next_due.map(|n| n.due_at.timestamp_millis());
        assert_eq!(*next_due_at, due, "case {id}: stored next deadline");
    }
    assert_eq!(
        stored.iter().find(|(id, _)| *id == held.case.id).unwrap().1,
        Some(t(6 * 60).timestamp_millis()),
        "the approved extension moved the next deadline"
    );

    // 21:25: the untriaged case is late; the red case still has until 21:29 to be signed for.
    app.clock.set(t(21));
    assert_eq!(overdue_ids(&app, true).await, vec![fresh.case.id]);
    assert_eq!(
        overdue_ids(&app, false).await,
        vec![red.case.id, held.case.id]
    );
    // Time alone makes a case overdue: no write in between.
    app.clock.set(t(30));
    assert_eq!(
        overdue_ids(&app, true).await,
        vec![fresh.case.id, red.case.id]
    );
    // The escalation ladder writes the case too, and the answer is unchanged by it.
    assert!(
        app.server
            .store
            .escalate_due(app.clock.now())
            .await
            .unwrap()
            > 0
    );
    assert_eq!(
        overdue_ids(&app, true).await,
        vec![fresh.case.id, red.case.id]
    );
    // Triaging the fresh case sets its next deadline to the dispatch clock (22:04).
    let fresh = app.operator.case(fresh.case.id).await.unwrap();
    app.act(&app.operator, &fresh, triage(Tier::Red))
        .await
        .unwrap();
    assert_eq!(overdue_ids(&app, true).await, vec![red.case.id]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_without_stored_deadlines_is_filled_in_at_start_up() {
    let app = spawn_app_sqlite().await;
    let late = app.create("孕妇产检无法出村").await;
    app.clock.set(t(10));
    let on_time = app.create("特殊奶粉断货").await;
    app.clock.set(t(20));
    // As a database from before the column: nothing stored, no record of the policy used.
    let db = side_db(&app).await;
    sqlx::query("UPDATE cases SET next_due_at = NULL")
        .execute(&db)
        .await
        .unwrap();
    sqlx::query("DELETE FROM store_meta")
        .execute(&db)
        .await
        .unwrap();
    db.close().await;
    let TestApp {
        server, dir, clock, ..
    } = app;
    server.stop().await.unwrap();

    let config = ServerConfig {
        listen: "127.0.0.1:0".into(),
        database: format!("sqlite:{}", dir.path().join("jieyou.db").display()),
        escalation_interval_seconds: 0,
        ..ServerConfig::default()
    };
    let server = jieyou::server::spawn(config, Arc::new(clock.clone()))
        .await
        .unwrap();
    let token = server
        .store
        .add_user("sup-wu", Role::Supervisor, None)
        .await
        .unwrap();
    let sup = Client::new(&server.url(), &token).unwrap();
    let list = sup
        .list(&jieyou::client::ListQuery {
            overdue: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();
    let ids: Vec<i64> = list.cases.iter().map(|c| c.id).collect();
    assert_eq!(ids, vec![late.case.id]);
    let list = sup
        .list(&jieyou::client::ListQuery {
            overdue: Some(false),
            ..Default::default()
        })
        .await
        .unwrap();
    let ids: Vec<i64> = list.cases.iter().map(|c| c.id).collect();
    assert_eq!(ids, vec![on_time.case.id]);
    server.stop().await.unwrap();
}

// ---- departments under If-Match --------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_admins_editing_a_department_cannot_lose_one_edit() {
    let app = spawn_app().await;
    let id = app.departments[0].id;
    let path = format!("/api/v1/departments/{id}");
    let (status, ctype, body) = app
        .admin
        .raw(Method::GET, &path, &[], vec![])
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK, "{ctype}");
    let seen: jieyou::wire::Department = serde_json::from_slice(&body).unwrap();
    assert_eq!(seen.version, 1);

    // Both admins start from version 1; the first rename wins, the second is told.
    let first = app
        .admin
        .patch_department(
            id,
            seen.version,
            &DepartmentPatch {
                name: Some("卫生健康局".into()),
                kind: None,
                active: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(first.version, 2);
    let err = app
        .admin
        .patch_department(
            id,
            seen.version,
            &DepartmentPatch {
                name: None,
                kind: None,
                active: Some(false),
            },
        )
        .await
        .unwrap_err();
    let p = problem_of(err);
    assert_eq!(p.status, 412);
    let current = p.current_department.expect("412 carries the department");
    assert_eq!(current.name, "卫生健康局");
    assert_eq!(current.version, 2);
    assert!(current.active, "the stale edit was not applied");

    // ETag on the answer; 428 without If-Match; a weak tag never matches.
    let (status, _, _) = app
        .admin
        .raw(
            Method::PATCH,
            &path,
            &[("content-type", "application/json")],
            br#"{"active": false}"#.to_vec(),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::PRECONDITION_REQUIRED);
    let (status, _, _) = app
        .admin
        .raw(
            Method::PATCH,
            &path,
            &[
                ("content-type", "application/json"),
                ("if-match", "W/\"2\""),
            ],
            br#"{"active": false}"#.to_vec(),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    let resp = reqwest::Client::new()
        .get(format!("{}{path}", app.server.url()))
        .bearer_auth(
            app.server
                .store
                .add_user("admin-2", Role::Admin, None)
                .await
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["etag"], "\"2\"");
}

// ---- Authorization, If-Match, Idempotency-Key ---------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bearer_scheme_is_case_insensitive() {
    let app = spawn_app().await;
    let token = app
        .server
        .store
        .add_user("op-qian", Role::Operator, None)
        .await
        .unwrap();
    let http = reqwest::Client::new();
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let resp = http
            .get(format!("{}/api/v1/me", app.server.url()))
            .header("authorization", format!("{scheme} {token}"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{scheme}");
    }
    let resp = http
        .get(format!("{}/api/v1/me", app.server.url()))
        .header("authorization", format!("Basic {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_weak_etag_in_if_match_never_matches() {
    let app = spawn_app().await;
    let c = app.create("透析病人需要转运").await;
    let id = c.case.id;
    let weak = format!("W/\"{}\"", c.case.version);
    let (status, _, text) = post_raw(
        &app.operator,
        &format!("/api/v1/cases/{id}/triage"),
        &[("if-match", weak.as_str())],
        r#"{"tier": "red"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{text}");
    let p: Problem = serde_json::from_str(&text).unwrap();
    assert_eq!(p.current.unwrap().case.version, c.case.version);
    let after = app.observer.case(id).await.unwrap();
    assert_eq!(after.case.tier, None, "nothing was applied");
    assert_eq!(after.case.version, c.case.version);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotency_key_expires_after_a_day_and_is_purged() {
    let app = spawn_app_sqlite().await;
    let c = app.create("透析病人需要转运").await;
    let id = c.case.id;
    let path = format!("/api/v1/cases/{id}/note");
    // One user for every request: keys belong to a user.
    let token = app
        .server
        .store
        .add_user("op-qian", Role::Operator, None)
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let note = |key: &'static str, version: i64| {
        http.post(format!("{}{path}", app.server.url()))
            .bearer_auth(&token)
            .header("if-match", format!("\"{version}\""))
            .header("idempotency-key", key)
            .json(&serde_json::json!({"text": "已联系家属"}))
            .send()
    };
    let first = note("key-1", c.case.version).await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let v2: CaseDetail = first.json().await.unwrap();
    // Within the day the key replays the first answer, whatever the If-Match.
    app.clock.advance(Duration::hours(23));
    let again = note("key-1", v2.case.version).await.unwrap();
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(app.observer.case(id).await.unwrap().event_count, 2);
    // A day later it is forgotten: the same request acts anew.
    app.clock.advance(Duration::hours(2));
    let anew = note("key-1", v2.case.version).await.unwrap();
    assert_eq!(anew.status(), StatusCode::OK);
    assert!(anew.headers().get("idempotent-replayed").is_none());
    let v3: CaseDetail = anew.json().await.unwrap();
    assert_eq!(v3.case.version, v2.case.version + 1);
    assert_eq!(app.observer.case(id).await.unwrap().event_count, 3);
    // Expired keys are purged, not kept forever: by the server's periodic purge, off the
    // write path (run here at the manual clock's time).
    let stored = |key: &'static str| {
        let app = &app;
        async move {
            let db = side_db(app).await;
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM idempotency WHERE key = ?")
                .bind(key)
                .fetch_one(&db)
                .await
                .unwrap();
            db.close().await;
            n
        }
    };
    let other = note("key-2", v3.case.version).await.unwrap();
    assert_eq!(other.status(), StatusCode::OK);
    app.clock.advance(Duration::hours(25));
    assert_eq!(stored("key-2").await, 1);
    let v4: CaseDetail = other.json().await.unwrap();
    assert_eq!(
        note("key-3", v4.case.version).await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(stored("key-2").await, 1, "a write does not purge");
    let purged = app
        .server
        .store
        .purge_idempotency(app.clock.now())
        .await
        .unwrap();
    assert!(purged >= 1, "purged {purged} keys");
    assert_eq!(stored("key-2").await, 0, "expired key purged");
    assert_eq!(stored("key-3").await, 1);
}

// ---- users: list, revoke, rotate ----------------------------------------------------------------

fn jieyou(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_jieyou"))
        .args(args)
        .env_remove("JIEYOU_DATABASE_URL")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "jieyou {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

async fn me_status(url: &str, token: &str) -> (StatusCode, String) {
    let resp = reqwest::Client::new()
        .get(format!("{url}/api/v1/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (resp.status(), resp.text().await.unwrap())
}

/// The answer to a token once the server has heard of its revocation by another process, which
/// it does within `TOKEN_RECHECK` (given room here for a slow machine).
async fn me_status_once_refused(url: &str, token: &str) -> (StatusCode, String) {
    let give_up = tokio::time::Instant::now() + jieyou::server::store::TOKEN_RECHECK * 10;
    loop {
        let answer = me_status(url, token).await;
        if answer.0 != StatusCode::OK || tokio::time::Instant::now() > give_up {
            return answer;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_list_revoke_and_rotate_on_the_command_line() {
    let app = spawn_app().await;
    let db = db_url(&app);
    let url = app.server.url();
    let out = jieyou(&[
        "user",
        "add",
        "--database",
        &db,
        "--name",
        "op-qian",
        "--role",
        "operator",
    ]);
    let token = out.lines().last().unwrap().trim().to_string();
    assert_eq!(me_status(&url, &token).await.0, StatusCode::OK);

    let list = jieyou(&["user", "list", "--database", &db]);
    let header = list.lines().next().unwrap();
    for col in ["NAME", "ROLE", "DEPARTMENT", "CREATED", "REVOKED"] {
        assert!(header.contains(col), "{header}");
    }
    let row = list.lines().find(|l| l.starts_with("op-qian ")).unwrap();
    assert!(row.contains("operator"), "{row}");
    assert!(row.trim_end().ends_with('-'), "not revoked: {row}");
    let dept_row = list.lines().find(|l| l.starts_with("wj-zhang ")).unwrap();
    assert!(dept_row.contains("卫健局"), "{dept_row}");

    jieyou(&["user", "revoke", "--database", &db, "--name", "op-qian"]);
    let (status, body) = me_status_once_refused(&url, &token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let p: Problem = serde_json::from_str(&body).unwrap();
    assert!(p.kind.ends_with("/token-revoked"), "{}", p.kind);
    assert!(p.detail.contains("revoked"), "{}", p.detail);
    let list = jieyou(&["user", "list", "--database", &db]);
    let row = list.lines().find(|l| l.starts_with("op-qian ")).unwrap();
    assert!(row.trim_end().ends_with("UTC"), "revoked at a time: {row}");

    let out = jieyou(&["user", "rotate", "--database", &db, "--name", "op-qian"]);
    let fresh = out.lines().last().unwrap().trim().to_string();
    assert_ne!(fresh, token);
    assert_eq!(me_status(&url, &fresh).await.0, StatusCode::OK);
    let (status, body) = me_status_once_refused(&url, &token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let p: Problem = serde_json::from_str(&body).unwrap();
    assert!(p.kind.ends_with("/token-revoked"), "{}", p.kind);
    // Rotating again retires the second token as well.
    let out = jieyou(&["user", "rotate", "--database", &db, "--name", "op-qian"]);
    let third = out.lines().last().unwrap().trim().to_string();
    assert_eq!(
        me_status_once_refused(&url, &fresh).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(me_status(&url, &third).await.0, StatusCode::OK);
    // An unknown token is not called revoked.
    let (status, body) = me_status(&url, "jy_nobody").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("/unauthorized"), "{body}");
}

// ---- report accuracy -------------------------------------------------------------------------

async fn daily(app: &TestApp, date: &str) -> DailyReport {
    app.supervisor
        .get_json(&format!("/api/v1/reports/daily?date={date}"))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untriaged_case_answered_online_after_its_triage_deadline_is_late() {
    let app = spawn_app().await;
    let prompt = app.create("通行证如何办理").await;
    let slow = app.create("询问返乡隔离政策").await;
    app.clock.set(t(10));
    app.act(&app.operator, &prompt, answer_online("已在线答复"))
        .await
        .unwrap();
    // The triage clock ran out at 21:19.
    app.clock.set(t(40));
    app.act(&app.operator, &slow, answer_online("已在线答复"))
        .await
        .unwrap();
    let r = daily(&app, "2022-05-08").await;
    let row = r.by_tier.iter().find(|r| r.tier == "untriaged").unwrap();
    assert_eq!((row.resolved, row.on_time, row.overdue), (2, 1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resolve_by_a_supervisor_is_not_credited_to_the_department() {
    let app = spawn_app().await;
    let by_dept = dispatched_red(&app, "透析病人需要转运").await;
    let by_sup = dispatched_red(&app, "发热儿童需就医").await;
    app.clock.set(t(20));
    let by_dept = app.act(&app.dept_a, &by_dept, sign_for()).await.unwrap();
    let by_sup = app.act(&app.dept_a, &by_sup, sign_for()).await.unwrap();
    app.act(&app.dept_a, &by_dept, resolve("已安排转运"))
        .await
        .unwrap();
    app.act(&app.supervisor, &by_sup, resolve("督查办直接办结"))
        .await
        .unwrap();
    let r = daily(&app, "2022-05-08").await;
    let row = r
        .by_department
        .iter()
        .find(|d| d.department_id == app.departments[0].id)
        .unwrap();
    assert_eq!(row.signed_for, 2);
    assert_eq!(row.resolved, 1, "only the department's own resolve");
    assert_eq!(row.resolved_on_time, 1);
    let red = r.by_tier.iter().find(|r| r.tier == "red").unwrap();
    assert_eq!(red.resolved, 2, "both cases were resolved");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_day_whose_midnight_does_not_exist_is_23_hours_from_its_first_minute() {
    // Santiago, 2022-09-11: at 00:00 (-04) the clocks jumped to 01:00 (-03).
    let mut config = ServerConfig::default();
    config.policy.time_zone = "America/Santiago".into();
    let app = spawn_app_with(config).await;
    // 23:30 on the 10th, then 01:30 and 23:30 on the 11th (local).
    app.clock
        .set(Utc.with_ymd_and_hms(2022, 9, 11, 3, 30, 0).unwrap());
    app.create("前一天深夜").await;
    app.clock
        .set(Utc.with_ymd_and_hms(2022, 9, 11, 4, 30, 0).unwrap());
    app.create("夏令时第一小时").await;
    app.clock
        .set(Utc.with_ymd_and_hms(2022, 9, 12, 2, 30, 0).unwrap());
    app.create("当天深夜").await;
    app.clock
        .set(Utc.with_ymd_and_hms(2022, 9, 12, 3, 30, 0).unwrap());
    app.create("第二天凌晨").await;

    let day = daily(&app, "2022-09-11").await;
    assert_eq!(day.totals.received, 2);
    assert_eq!(day.hourly.len(), 23);
    assert_eq!(
        day.hourly[0].start.to_rfc3339(),
        "2022-09-11T01:00:00-03:00"
    );
    assert_eq!(day.hourly[0].counts.received, 1);
    assert_eq!(day.hourly[22].counts.received, 1);
    let before = daily(&app, "2022-09-10").await;
    assert_eq!(before.totals.received, 1);
    assert_eq!(before.hourly.len(), 24);
    let after = daily(&app, "2022-09-12").await;
    assert_eq!(after.totals.received, 1);
    // Every text form renders.
    for accept in ["text/csv", "text/markdown"] {
        app.supervisor
            .get_text("/api/v1/reports/daily?date=2022-09-11", accept)
            .await
            .unwrap();
    }
    let (from, to) = jieyou::report::day_bounds(
        NaiveDate::from_ymd_opt(2022, 9, 11).unwrap(),
        chrono_tz::America::Santiago,
    );
    assert_eq!(to - from, Duration::hours(23));
    let (from, to) = jieyou::report::day_bounds(
        NaiveDate::from_ymd_opt(2022, 3, 27).unwrap(),
        chrono_tz::Asia::Beirut,
    );
    assert_eq!(from, Utc.with_ymd_and_hms(2022, 3, 26, 22, 0, 0).unwrap());
    assert_eq!(to - from, Duration::hours(23));
}
