//! The central request API through real HTTP: concurrency control, idempotency, the change
//! feed, roles, and bad input.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::actions::triage;
use common::{new_case, spawn_app};
use jieyou::client::{ClientError, new_idempotency_key};
use jieyou::wire::{AnswerBody, CaseAction, DispatchBody, NoteBody, Problem, TextBody, Tier};
use reqwest::{Method, StatusCode};

fn problem(e: ClientError) -> Problem {
    match e {
        ClientError::Api(p) => *p,
        other => panic!("expected a problem answer, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stale_version_is_412_with_the_current_case_and_missing_if_match_is_428() {
    let app = spawn_app().await;
    let case = app.create("透析病人需要转运").await;
    let id = case.case.id;
    // Another operator acts first.
    app.act(
        &app.operator2,
        &case,
        CaseAction::Note(TextBody {
            text: "已联系家属".into(),
        }),
    )
    .await
    .unwrap();
    let err = app
        .act(&app.operator, &case, triage(Tier::Red))
        .await
        .unwrap_err();
    let p = problem(err);
    assert_eq!(p.status, 412);
    let current = p.current.expect("412 carries the current case");
    assert_eq!(current.case.version, 2);
    assert_eq!(current.events.last().unwrap().action, "note");
    // Retrying on the fresh version works.
    let fresh = app.operator.case(id).await.unwrap();
    let done = app
        .act(&app.operator, &fresh, triage(Tier::Red))
        .await
        .unwrap();
    assert_eq!(done.case.tier, Some(Tier::Red));

    let (status, ctype, body) = app
        .operator
        .raw(
            Method::POST,
            &format!("/api/v1/cases/{id}/claim"),
            &[("content-type", "application/json")],
            b"{}".to_vec(),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::PRECONDITION_REQUIRED);
    assert_eq!(ctype, "application/problem+json");
    let p: Problem = serde_json::from_slice(&body).unwrap();
    assert_eq!(p.errors[0].field, "If-Match");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn idempotent_replay_returns_the_first_answer_and_acts_once() {
    let app = spawn_app().await;
    let key = new_idempotency_key();
    let first = app
        .intake
        .create_case(&new_case("特殊奶粉断货"), &key)
        .await
        .unwrap();
    let again = app
        .intake
        .create_case(&new_case("特殊奶粉断货"), &key)
        .await
        .unwrap();
    assert_eq!(first, again, "replay returns the first answer");
    let all = app.operator.changes(None, None).await.unwrap();
    assert_eq!(all.cases.len(), 1, "created once");

    // An action retried with the same key (and the same, now stale, If-Match) replays.
    let key = new_idempotency_key();
    let a = app
        .operator
        .act(first.case.id, 1, &triage(Tier::Orange), &key)
        .await
        .unwrap();
    let b = app
        .operator
        .act(first.case.id, 1, &triage(Tier::Orange), &key)
        .await
        .unwrap();
    assert_eq!(a, b);
    let detail = app.operator.case(first.case.id).await.unwrap();
    assert_eq!(detail.case.version, 2);
    assert_eq!(
        detail
            .events
            .iter()
            .filter(|e| e.action == "triage")
            .count(),
        1
    );

    // The same key for a different request is refused, naming the header.
    let err = app
        .operator
        .act(
            first.case.id,
            2,
            &CaseAction::Claim(NoteBody::default()),
            &key,
        )
        .await
        .unwrap_err();
    let p = problem(err);
    assert_eq!(p.status, 422);
    assert_eq!(p.errors[0].field, "Idempotency-Key");

    // Concurrent duplicates with one key: exactly one case.
    let key = new_idempotency_key();
    let mut tasks = vec![];
    for _ in 0..8 {
        let c = app.intake.clone();
        let k = key.clone();
        tasks.push(tokio::spawn(async move {
            c.create_case(&new_case("同一个电话"), &k).await
        }));
    }
    let mut ids = vec![];
    for t in tasks {
        ids.push(t.await.unwrap().unwrap().case.id);
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "eight concurrent replays made one case");
    assert_eq!(
        app.operator.changes(None, None).await.unwrap().cases.len(),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_feed_never_skips_a_change_under_concurrent_writers() {
    let app = spawn_app().await;
    const WRITERS: usize = 6;
    const PER_WRITER: usize = 40;
    // Every writer creates cases and then notes on them; the reader must see every case at
    // its final version.
    let mut writers = vec![];
    for w in 0..WRITERS {
        let c = if w % 2 == 0 {
            app.intake.clone()
        } else {
            app.operator.clone()
        };
        writers.push(tokio::spawn(async move {
            let mut last = HashMap::new();
            for i in 0..PER_WRITER {
                let d = c
                    .create_case(&new_case(&format!("并发 {w}-{i}")), &new_idempotency_key())
                    .await
                    .unwrap();
                let d = c
                    .act(
                        d.case.id,
                        d.case.version,
                        &CaseAction::Note(TextBody {
                            text: format!("note {i}"),
                        }),
                        &new_idempotency_key(),
                    )
                    .await
                    .unwrap();
                last.insert(d.case.id, d.case.version);
            }
            last
        }));
    }
    let reader = app.operator2.clone();
    let reading = tokio::spawn(async move {
        let mut seen: HashMap<i64, i64> = HashMap::new();
        let first = reader.changes(None, None).await.unwrap();
        for c in first.cases {
            seen.insert(c.id, c.version);
        }
        let mut cursor = first.cursor;
        let mut quiet_polls = 0;
        // Long-poll until the writers are done and nothing more arrives.
        while quiet_polls < 2 {
            let page = reader.changes(Some(&cursor), Some(1)).await.unwrap();
            if page.cases.is_empty() {
                quiet_polls += 1;
            } else {
                quiet_polls = 0;
            }
            for c in page.cases {
                let v = seen.entry(c.id).or_insert(0);
                assert!(c.version >= *v, "feed went backwards for case {}", c.id);
                *v = c.version;
            }
            cursor = page.cursor;
        }
        seen
    });
    let mut expected = HashMap::new();
    for w in writers {
        expected.extend(w.await.unwrap());
    }
    let seen = reading.await.unwrap();
    assert_eq!(expected.len(), WRITERS * PER_WRITER);
    for (id, version) in &expected {
        assert_eq!(
            seen.get(id),
            Some(version),
            "case {id} missing or stale in the feed"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_long_poll_returns_promptly_after_a_change() {
    let app = spawn_app().await;
    let snap = app.operator.changes(None, None).await.unwrap();
    assert!(snap.snapshot);
    let c = app.operator.clone();
    let cursor = snap.cursor.clone();
    let started = Instant::now();
    let poll = tokio::spawn(async move { c.changes(Some(&cursor), Some(30)).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!poll.is_finished(), "the poll waits while nothing changes");
    let created = app.create("孕妇产检无法出村").await;
    let page = tokio::time::timeout(Duration::from_secs(10), poll)
        .await
        .expect("long poll answered well before its 30 s wait")
        .unwrap()
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(!page.snapshot);
    assert_eq!(page.cases.len(), 1);
    assert_eq!(page.cases[0].id, created.case.id);
    assert_ne!(page.cursor, snap.cursor);
    // Nothing new after the new cursor: an immediate answer with no cases.
    let empty = app
        .operator
        .changes(Some(&page.cursor), Some(0))
        .await
        .unwrap();
    assert!(empty.cases.is_empty());
    assert_eq!(empty.cursor, page.cursor);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn snapshot_holds_open_cases_and_recently_closed_ones() {
    let app = spawn_app().await;
    let empty = app.operator.changes(None, None).await.unwrap();
    let old = app.create("已办结的老件").await;
    let old = app
        .act(
            &app.operator,
            &old,
            CaseAction::AnswerOnline(AnswerBody {
                text: "已电话答复".into(),
                answer: None,
            }),
        )
        .await
        .unwrap();
    app.act(&app.operator, &old, CaseAction::Close(NoteBody::default()))
        .await
        .unwrap();
    app.advance(25 * 60);
    let recent = app.create("刚办结的件").await;
    let recent = app
        .act(
            &app.operator,
            &recent,
            CaseAction::AnswerOnline(AnswerBody {
                text: "已答复".into(),
                answer: None,
            }),
        )
        .await
        .unwrap();
    app.act(
        &app.operator,
        &recent,
        CaseAction::Close(NoteBody::default()),
    )
    .await
    .unwrap();
    let open = app.create("还在办的件").await;
    let snap = app.operator.changes(None, None).await.unwrap();
    let ids: Vec<i64> = snap.cases.iter().map(|c| c.id).collect();
    assert!(
        !ids.contains(&old.case.id),
        "closed over 24 h ago: not in the snapshot"
    );
    assert!(ids.contains(&recent.case.id));
    assert!(ids.contains(&open.case.id));
    // The server's clock is the manual one.
    assert_eq!(
        snap.server_time.with_timezone(&chrono::Utc),
        common::start_time() + chrono::Duration::minutes(25 * 60)
    );
    // Deltas include closed cases.
    let delta = app
        .operator
        .changes(Some(&empty.cursor), None)
        .await
        .unwrap();
    assert!(delta.cases.iter().any(|c| c.id == old.case.id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_department_sees_and_acts_on_its_own_cases_only() {
    let app = spawn_app().await;
    let health = app.departments[0].id;
    let mine = app.create("透析病人需要转运").await;
    let theirs = app.create("需要交通通行证").await;
    for (case, dept) in [(&mine, health), (&theirs, app.departments[1].id)] {
        let t = app
            .act(&app.operator, case, triage(Tier::Red))
            .await
            .unwrap();
        app.act(
            &app.operator,
            &t,
            CaseAction::Dispatch(DispatchBody {
                department_id: dept,
                note: None,
            }),
        )
        .await
        .unwrap();
    }
    let ok = app.dept_a.case(mine.case.id).await.unwrap();
    assert_eq!(ok.case.department_id, Some(health));
    let err = app.dept_a.case(theirs.case.id).await.unwrap_err();
    assert_eq!(err.status(), Some(404));
    let err = app
        .dept_a
        .act(
            theirs.case.id,
            3,
            &CaseAction::SignFor(NoteBody::default()),
            &new_idempotency_key(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(404));
    let feed = app.dept_a.changes(None, None).await.unwrap();
    assert_eq!(
        feed.cases.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![mine.case.id]
    );
    let list = app.dept_a.list(&Default::default()).await.unwrap();
    assert_eq!(list.cases.len(), 1);
    // Another department's filter is ignored, not obeyed.
    let list = app
        .dept_a
        .list(&jieyou::client::ListQuery {
            department: Some(app.departments[1].id),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(list.cases.iter().all(|c| c.department_id == Some(health)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_input_gets_a_clear_problem_and_changes_nothing() {
    let app = spawn_app().await;
    let case = app.create("测试").await;
    let id = case.case.id;
    let json = [("content-type", "application/json")];
    let send =
        |method: Method, path: String, headers: Vec<(&'static str, String)>, body: Vec<u8>| {
            let c = app.operator.clone();
            async move {
                let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
                let (status, ctype, body) = c.raw(method, &path, &h, body).await.unwrap();
                assert_eq!(
                    ctype, "application/problem+json",
                    "{status} answered {ctype}"
                );
                let p: Problem = serde_json::from_slice(&body).expect("a problem body");
                assert_eq!(p.status, status.as_u16());
                p
            }
        };
    let ct = || vec![("content-type", "application/json".to_string())];
    let act_headers = || {
        vec![
            ("content-type", "application/json".to_string()),
            ("if-match", "\"1\"".to_string()),
        ]
    };
    let cases = "/api/v1/cases".to_string();

    let p = send(Method::POST, cases.clone(), ct(), b"{\"title\": ".to_vec()).await;
    assert_eq!((p.status, p.errors[0].field.as_str()), (400, "body"));

    let mut body = serde_json::to_value(new_case("x")).unwrap();
    body["colour"] = "red".into();
    let p = send(
        Method::POST,
        cases.clone(),
        ct(),
        body.to_string().into_bytes(),
    )
    .await;
    assert_eq!((p.status, p.errors[0].field.as_str()), (422, "colour"));

    let mut body = serde_json::to_value(new_case("x")).unwrap();
    body["requester"]["phone"] = 138.into();
    let p = send(
        Method::POST,
        cases.clone(),
        ct(),
        body.to_string().into_bytes(),
    )
    .await;
    assert_eq!(
        (p.status, p.errors[0].field.as_str()),
        (422, "requester.phone")
    );

    let mut body = serde_json::to_value(new_case("x")).unwrap();
    body.as_object_mut().unwrap().remove("channel");
    let p = send(
        Method::POST,
        cases.clone(),
        ct(),
        body.to_string().into_bytes(),
    )
    .await;
    assert_eq!((p.status, p.errors[0].field.as_str()), (422, "channel"));

    let mut long = new_case("x");
    long.description = "长".repeat(4001);
    long.title = String::new();
    let p = send(
        Method::POST,
        cases.clone(),
        ct(),
        serde_json::to_vec(&long).unwrap(),
    )
    .await;
    assert_eq!(p.status, 422);
    let fields: Vec<&str> = p.errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, vec!["title", "description"]);
    // Exactly 4,000 characters (12,000 bytes of CJK) is fine.
    let mut max = new_case("最长的描述");
    max.description = "长".repeat(4000);
    app.intake
        .create_case(&max, &new_idempotency_key())
        .await
        .unwrap();

    let mut bad_utf8 = br#"{"channel":"web","category":"other","title":""#.to_vec();
    bad_utf8.extend_from_slice(&[0xff, 0xfe]);
    bad_utf8
        .extend_from_slice(br#"","requester":{"name":"a","phone":"123"},"location":{"town":"t"}}"#);
    let p = send(Method::POST, cases.clone(), ct(), bad_utf8).await;
    assert_eq!(p.status, 400);

    // The server answers 413 without reading the body and closes the connection, so this
    // goes over a connection of its own.
    let huge = format!("{{\"text\": \"{}\"}}", "x".repeat(200 * 1024));
    let token = app
        .server
        .store
        .add_user("op-big", jieyou::wire::Role::Operator, None)
        .await
        .unwrap();
    let own = jieyou::client::Client::new(&app.server.url(), &token).unwrap();
    let (status, ctype, body) = own
        .raw(
            Method::POST,
            &format!("{cases}/{id}/note"),
            &[("content-type", "application/json")],
            huge.into_bytes(),
        )
        .await
        .unwrap();
    assert_eq!(
        (status, ctype.as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "application/problem+json")
    );
    assert_eq!(
        serde_json::from_slice::<Problem>(&body).unwrap().errors[0].field,
        "body"
    );

    let p = send(
        Method::POST,
        format!("{cases}/{id}/triage"),
        act_headers(),
        br#"{"tier": "purple"}"#.to_vec(),
    )
    .await;
    assert_eq!((p.status, p.errors[0].field.as_str()), (422, "tier"));

    let p = send(
        Method::POST,
        format!("{cases}/{id}/explode"),
        act_headers(),
        b"{}".to_vec(),
    )
    .await;
    assert_eq!(p.status, 404);
    let p = send(Method::GET, format!("{cases}/abc"), vec![], vec![]).await;
    assert_eq!(p.status, 404);
    let p = send(Method::GET, format!("{cases}/999999"), vec![], vec![]).await;
    assert_eq!(p.status, 404);
    let p = send(
        Method::GET,
        "/api/v1/changes?wait=99".into(),
        vec![],
        vec![],
    )
    .await;
    assert_eq!((p.status, p.errors[0].field.as_str()), (400, "wait"));
    let p = send(
        Method::GET,
        "/api/v1/changes?since=abc".into(),
        vec![],
        vec![],
    )
    .await;
    // Not a cursor this server issued: take a new snapshot.
    assert_eq!((p.status, p.errors[0].field.as_str()), (410, "since"));
    let p = send(
        Method::GET,
        "/api/v1/cases?colour=red".into(),
        vec![],
        vec![],
    )
    .await;
    assert_eq!((p.status, p.errors[0].field.as_str()), (400, "colour"));
    let p = send(
        Method::POST,
        cases.clone(),
        vec![("content-type", "text/plain".into())],
        b"hi".to_vec(),
    )
    .await;
    assert_eq!(p.status, 415);
    let p = send(Method::DELETE, format!("{cases}/{id}"), vec![], vec![]).await;
    assert_eq!(p.status, 405);
    let _ = json;

    // No token, a bad token.
    let anon = jieyou::client::Client::new(&app.server.url(), "not-a-token").unwrap();
    assert_eq!(anon.me().await.unwrap_err().status(), Some(401));

    // Nothing above changed the case.
    let after = app.operator.case(id).await.unwrap();
    assert_eq!(after.case.version, 1);
    assert_eq!(after.events.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn roles_are_enforced_on_creating_cases_and_departments() {
    let app = spawn_app().await;
    let err = app
        .observer
        .create_case(&new_case("x"), &new_idempotency_key())
        .await
        .unwrap_err();
    let p = problem(err);
    assert_eq!(p.status, 403);
    assert!(p.detail.contains("observer"), "{}", p.detail);
    let err = app
        .dept_a
        .create_case(&new_case("x"), &new_idempotency_key())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403));

    let new = jieyou::wire::NewDepartment {
        name: "民政局".into(),
        kind: jieyou::wire::DepartmentKind::Bureau,
    };
    let err = app
        .operator
        .create_department(&new, &new_idempotency_key())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403));
    let d = app
        .admin
        .create_department(&new, &new_idempotency_key())
        .await
        .unwrap();
    assert_eq!(d.name, "民政局");
    let err = app
        .admin
        .create_department(&new, &new_idempotency_key())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(409), "names are unique");
    let patched = app
        .admin
        .patch_department(
            d.id,
            d.version,
            &jieyou::wire::DepartmentPatch {
                name: None,
                kind: None,
                active: Some(false),
            },
        )
        .await
        .unwrap();
    assert!(!patched.active);
    // An inactive department cannot be dispatched to.
    let case = app.create("x").await;
    let case = app
        .act(&app.operator, &case, triage(Tier::Blue))
        .await
        .unwrap();
    let err = app
        .act(
            &app.operator,
            &case,
            CaseAction::Dispatch(DispatchBody {
                department_id: d.id,
                note: None,
            }),
        )
        .await
        .unwrap_err();
    let p = problem(err);
    assert_eq!(
        (p.status, p.errors[0].field.as_str()),
        (422, "department_id")
    );
    let depts = app.observer.departments().await.unwrap();
    assert_eq!(depts.len(), 3);
    let me = app.dept_a.me().await.unwrap();
    assert_eq!(me.department_id, Some(app.departments[0].id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn search_filters_and_paginates() {
    let app = spawn_app().await;
    for i in 0..7 {
        let c = app.create(&format!("物资求助 {i}")).await;
        if i % 2 == 0 {
            app.act(&app.operator, &c, triage(Tier::Red)).await.unwrap();
        }
    }
    app.create("询问返乡隔离政策").await;
    let q = |tier: Option<&str>, q: Option<&str>, limit: Option<u32>, cursor: Option<String>| {
        jieyou::client::ListQuery {
            tier: tier.map(str::to_string),
            q: q.map(str::to_string),
            limit,
            cursor,
            ..Default::default()
        }
    };
    let red = app
        .operator
        .list(&q(Some("red"), None, None, None))
        .await
        .unwrap();
    assert_eq!(red.cases.len(), 4);
    let untriaged = app
        .operator
        .list(&q(Some("none"), None, None, None))
        .await
        .unwrap();
    assert_eq!(untriaged.cases.len(), 4);
    let text = app
        .operator
        .list(&q(None, Some("隔离"), None, None))
        .await
        .unwrap();
    assert_eq!(text.cases.len(), 1);
    // Pages of 3 walk all 8 cases newest first, each once.
    let mut ids = vec![];
    let mut cursor = None;
    loop {
        let page = app
            .operator
            .list(&q(None, None, Some(3), cursor.clone()))
            .await
            .unwrap();
        ids.extend(page.cases.iter().map(|c| c.id));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(ids, (1..=8).rev().collect::<Vec<_>>());
    // Overdue: untriaged cases breach the 15-minute triage clock.
    app.advance(16);
    let overdue = app
        .operator
        .list(&jieyou::client::ListQuery {
            overdue: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(overdue.cases.len(), 4);
    assert!(overdue.cases.iter().all(|c| c.tier.is_none() && c.overdue));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn openapi_document_describes_the_api() {
    let app = spawn_app().await;
    let doc: serde_json::Value = app.observer.get_json("/api/v1/openapi.json").await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/changes",
        "/api/v1/cases",
        "/api/v1/cases/{id}/{action}",
        "/api/v1/policy",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing");
    }
    assert!(doc["components"]["schemas"].get("Case").is_some());
    // As OpenAPI 3 requires of every operation: described answers, parameters (if any) a list.
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if let Some(p) = op.get("parameters") {
                assert!(p.is_array(), "{method} {path}: parameters {p}");
            }
            for (status, r) in op["responses"].as_object().unwrap() {
                assert!(
                    r["description"].is_string(),
                    "{method} {path} {status} has no description"
                );
            }
        }
    }
    // Problems are documented as what they are, and every API call may answer 401.
    let act = &doc["paths"]["/api/v1/cases/{id}/{action}"]["post"]["responses"];
    for status in ["401", "409", "412", "428"] {
        assert!(
            act[status]["content"]
                .get("application/problem+json")
                .is_some(),
            "{status}: {}",
            act[status]
        );
    }
    let wait = doc["paths"]["/api/v1/changes"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "wait")
        .unwrap();
    // An empty value is documented as allowed (the same as leaving the parameter out).
    assert_eq!(wait["schema"]["anyOf"][0]["maximum"], 30);
    assert_eq!(wait["schema"]["anyOf"][1]["maxLength"], 0);
    let policy = app.observer.policy().await.unwrap();
    assert_eq!(policy, jieyou::wire::Policy::default());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_supervisor_reassigns_a_case_a_department_holds() {
    let app = spawn_app().await;
    let (health, transport) = (app.departments[0].id, app.departments[1].id);
    let c = app.create("透析病人需要转运").await;
    let c = app.act(&app.operator, &c, triage(Tier::Red)).await.unwrap();
    let c = app
        .act(
            &app.operator,
            &c,
            CaseAction::Dispatch(DispatchBody {
                department_id: health,
                note: None,
            }),
        )
        .await
        .unwrap();
    let c = app
        .act(&app.dept_a, &c, CaseAction::SignFor(NoteBody::default()))
        .await
        .unwrap();
    let to_transport = || {
        CaseAction::Dispatch(DispatchBody {
            department_id: transport,
            note: None,
        })
    };
    // Operators dispatch from triage only.
    let err = app
        .act(&app.operator, &c, to_transport())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(409));
    app.advance(5);
    let moved = app.act(&app.supervisor, &c, to_transport()).await.unwrap();
    assert_eq!(moved.case.department_id, Some(transport));
    assert_eq!(moved.case.status, jieyou::wire::Status::Dispatched);
    assert_eq!(
        moved.case.signed_at, None,
        "a new sign-for clock at the new department"
    );
    let last = moved.events.last().unwrap();
    assert_eq!(last.payload["reassigned_from"], health);
    assert_eq!(last.payload["department_name"], "交通运输局");
    // The old department no longer sees it; the new one does.
    assert_eq!(
        app.dept_a.case(c.case.id).await.unwrap_err().status(),
        Some(404)
    );
    app.dept_b.case(c.case.id).await.unwrap();
    let err = app
        .act(&app.supervisor, &moved, to_transport())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(409), "already there");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_departments_long_poll_waits_through_other_departments_changes() {
    let app = spawn_app().await;
    let (health, transport) = (app.departments[0].id, app.departments[1].id);
    let dispatch_to = |d| {
        CaseAction::Dispatch(DispatchBody {
            department_id: d,
            note: None,
        })
    };
    let mine = app.create("透析病人需要转运").await;
    let mine = app
        .act(&app.operator, &mine, triage(Tier::Red))
        .await
        .unwrap();
    let theirs = app.create("需要交通通行证").await;
    let theirs = app
        .act(&app.operator, &theirs, triage(Tier::Orange))
        .await
        .unwrap();
    let snap = app.dept_a.changes(None, None).await.unwrap();
    assert!(snap.cases.is_empty());
    let c = app.dept_a.clone();
    let cursor = snap.cursor.clone();
    let poll = tokio::spawn(async move { c.changes(Some(&cursor), Some(30)).await });
    app.act(&app.operator, &theirs, dispatch_to(transport))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !poll.is_finished(),
        "another department's case does not answer this poll"
    );
    app.act(&app.operator, &mine, dispatch_to(health))
        .await
        .unwrap();
    let page = tokio::time::timeout(Duration::from_secs(10), poll)
        .await
        .expect("answered soon after its own department's change")
        .unwrap()
        .unwrap();
    assert_eq!(
        page.cases.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![mine.case.id]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_department_hears_that_a_case_left_it() {
    let app = spawn_app().await;
    let health = app.departments[0].id;
    let c = app.create("透析病人需要转运").await;
    let c = app.act(&app.operator, &c, triage(Tier::Red)).await.unwrap();
    let c = app
        .act(
            &app.operator,
            &c,
            CaseAction::Dispatch(DispatchBody {
                department_id: health,
                note: None,
            }),
        )
        .await
        .unwrap();
    let snap = app.dept_a.changes(None, None).await.unwrap();
    assert_eq!(snap.cases.len(), 1);
    let returned = app
        .act(
            &app.dept_a,
            &c,
            CaseAction::Return(jieyou::wire::ReasonBody {
                reason: "不属于本局职责".into(),
            }),
        )
        .await
        .unwrap();
    let delta = app
        .dept_a
        .changes(Some(&snap.cursor), Some(5))
        .await
        .unwrap();
    assert!(delta.cases.is_empty(), "nothing of the case's content");
    assert_eq!(
        delta.left.iter().map(|l| l.id).collect::<Vec<_>>(),
        [returned.case.id],
        "a tombstone: the case left"
    );
    // It is no longer theirs to read or act on, and a new snapshot leaves it out.
    assert_eq!(
        app.dept_a.case(c.case.id).await.unwrap_err().status(),
        Some(404)
    );
    assert!(
        app.dept_a
            .changes(None, None)
            .await
            .unwrap()
            .cases
            .is_empty()
    );
    // Another department heard nothing of it.
    assert!(
        app.dept_b
            .changes(None, None)
            .await
            .unwrap()
            .cases
            .is_empty()
    );
}
