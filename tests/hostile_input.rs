//! Hostile and careless input, through real HTTP: nothing from a request or the config can
//! panic the server, search text is matched literally, text fields refuse control and bidi
//! characters, the system's name cannot be taken, reports cannot carry formulas or break their
//! tables, phones are revealed only to those who call back (and that is audited), masks count
//! digits, and a reopened case runs on fresh clocks.

mod common;

use std::sync::Arc;

use chrono::{DateTime, Duration, FixedOffset, TimeZone, Utc};
use common::actions::*;
use common::checks::*;
use common::{TestApp, dispatched_red, new_case, spawn_app};
use jieyou::client::{Client, ListQuery, new_idempotency_key};
use jieyou::server::{Clock, ManualClock, ServerConfig};
use jieyou::wire::{
    CaseAction, CaseDetail, ClockKind, DepartmentKind, DepartmentPatch, EscalationStep,
    NewDepartment, NoteBody, Problem, Role, Satisfaction, Status, Tier, TierBody,
};
use reqwest::{Method, StatusCode};

// ---- helpers --------------------------------------------------------------------------------

/// A raw GET; returns the status and, for a problem answer, the problem.
async fn get_raw(who: &Client, path: &str) -> (StatusCode, Option<Problem>) {
    send_raw(who, Method::GET, path, &[], "").await
}

/// A raw request, with a JSON body unless `body` is empty; returns the status and, for a
/// problem answer, the problem.
async fn send_raw(
    who: &Client,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (StatusCode, Option<Problem>) {
    let mut all = headers.to_vec();
    if !body.is_empty() {
        all.push(("Content-Type", "application/json"));
    }
    let (status, ctype, body) = who
        .raw(method, path, &all, body.as_bytes().to_vec())
        .await
        .expect("server answers");
    let problem = ctype
        .starts_with("application/problem+json")
        .then(|| serde_json::from_slice(&body).expect("a problem body"));
    (status, problem)
}

/// Expects a 422 problem naming `field`.
fn names_field(status: StatusCode, problem: Option<Problem>, field: &str) {
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem:?}");
    let p = problem.expect("application/problem+json");
    assert_eq!(p.status, 422);
    assert!(
        p.errors.iter().any(|e| e.field == field),
        "{field} not named in {p:?}"
    );
}

/// Expects a client error to be a 422 naming `field`; returns the problem.
fn refused_naming(err: jieyou::client::ClientError, field: &str) -> Problem {
    assert_eq!(err.status(), Some(422), "{err}");
    let p = problem_of(err);
    assert!(
        p.errors.iter().any(|e| e.field == field),
        "{field} not named in {p:?}"
    );
    p
}

async fn escalation_pass(app: &TestApp) -> usize {
    app.server
        .store
        .escalate_due(app.clock.now())
        .await
        .expect("escalation pass")
}

fn desk(t: DateTime<Utc>) -> DateTime<FixedOffset> {
    t.with_timezone(&kaihua())
}

// ---- 1. nothing from input or config panics -------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_and_statistics_dates_far_outside_a_desks_life_are_refused_by_name() {
    let app = spawn_app().await;
    for date in [
        "%2B262142-12-31",
        "%2B10000-01-01",
        "1999-12-31",
        "2100-01-01",
    ] {
        let (status, p) = get_raw(
            &app.supervisor,
            &format!("/api/v1/reports/daily?date={date}"),
        )
        .await;
        names_field(status, p, "date");
    }
    // The same for the CSV and Markdown renderings.
    let err = app
        .supervisor
        .get_text("/api/v1/reports/daily?date=%2B262142-12-31", "text/csv")
        .await
        .unwrap_err();
    refused_naming(err, "date");
    for (name, other) in [("from", "to"), ("to", "from")] {
        for bad in ["9999-12-31T23:00:00Z", "1970-01-01T00:00:00Z"] {
            let ok = "2022-05-08T00:00:00%2B08:00";
            let (status, p) = get_raw(
                &app.observer,
                &format!("/api/v1/stats/hourly?{name}={bad}&{other}={ok}"),
            )
            .await;
            names_field(status, p, name);
        }
    }
    // Dates inside the range still answer.
    let (status, _) = get_raw(&app.supervisor, "/api/v1/reports/daily?date=2022-05-08").await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = get_raw(&app.supervisor, "/api/v1/reports/daily?date=2099-12-31").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extensions_are_bounded_to_a_week_past_the_feedback_deadline() {
    let app = spawn_app().await;
    let c = dispatched_red(&app, "延期上限").await;
    let feedback_due = deadline(&c, ClockKind::Feedback).due_at;
    let far = [
        Utc.with_ymd_and_hms(262_142, 12, 31, 0, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(10_000, 1, 1, 0, 0, 0).unwrap(),
        (feedback_due + Duration::days(7) + Duration::minutes(1)).with_timezone(&Utc),
    ];
    for until in far {
        let err = app
            .act(
                &app.dept_a,
                &c,
                request_extension(desk(until), "需要更多时间"),
            )
            .await
            .unwrap_err();
        let p = refused_naming(err, "until");
        assert!(p.detail.contains("7 days"), "{p:?}");
    }
    assert_eq!(fetch(&app, c.case.id).await.case.version, c.case.version);
    // A week past the deadline is the most, and is approved and rendered.
    let until = feedback_due + Duration::days(7);
    let c = app
        .act(&app.dept_a, &c, request_extension(until, "需要更多时间"))
        .await
        .unwrap();
    let c = app
        .act(&app.supervisor, &c, decide_extension(true))
        .await
        .unwrap();
    assert_eq!(
        rfc(&deadline(&c, ClockKind::Feedback).due_at),
        rfc(&until),
        "the approved extension moves the feedback deadline"
    );
    // Overdue past the escalation ladder's last rung, the case still renders.
    app.clock.set(until.with_timezone(&Utc) + Duration::days(1));
    assert!(escalation_pass(&app).await > 0);
    assert!(fetch(&app, c.case.id).await.case.overdue);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_that_overflows_time_or_a_decreasing_ladder_stops_the_server_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let bad = |edit: &dyn Fn(&mut ServerConfig)| {
        let mut cfg = ServerConfig {
            listen: "127.0.0.1:0".into(),
            database: format!("sqlite:{}", dir.path().join("p.db").display()),
            ..ServerConfig::default()
        };
        edit(&mut cfg);
        cfg
    };
    let clock = Arc::new(ManualClock::new(common::start_time()));
    let cases: [(&str, ServerConfig); 3] = [
        (
            "policy.red.feedback_minutes",
            bad(&|c| c.policy.red.feedback_minutes = i64::MAX),
        ),
        (
            "policy.orange.dispatch_minutes",
            bad(&|c| c.policy.orange.dispatch_minutes = Some(i64::MAX)),
        ),
        (
            "policy.blue.escalation_minutes",
            bad(&|c| c.policy.blue.escalation_minutes = [120, 60, 0]),
        ),
    ];
    for (key, cfg) in cases {
        let err = match jieyou::server::spawn(cfg, clock.clone()).await {
            Ok(_) => panic!("a server started with a bad {key}"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains(key), "{key}: {err}");
    }
}

// ---- 2. search ------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_wildcards_match_themselves() {
    let app = spawn_app().await;
    let mut ids = std::collections::HashMap::new();
    for title in ["完成率100%", "路段a_b封闭", "路径c\\d", "普通求助 abcd"] {
        ids.insert(title, app.create(title).await.case.id);
    }
    let found = |q: &str| {
        let q = q.to_string();
        let client = app.operator.clone();
        async move {
            let list = client
                .list(&ListQuery {
                    q: Some(q.clone()),
                    ..Default::default()
                })
                .await
                .unwrap_or_else(|e| panic!("q={q:?}: {e}"));
            list.cases.iter().map(|c| c.id).collect::<Vec<_>>()
        }
    };
    assert_eq!(found("%").await, [ids["完成率100%"]]);
    assert_eq!(found("_").await, [ids["路段a_b封闭"]]);
    assert_eq!(found("\\").await, [ids["路径c\\d"]]);
    assert_eq!(found("a_b").await, [ids["路段a_b封闭"]]);
    assert!(found("c%d").await.is_empty());
    assert_eq!(found("abcd").await, [ids["普通求助 abcd"]]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_search_text_is_refused_by_name_not_failed() {
    let app = spawn_app().await;
    app.create("普通求助").await;
    let ok = "字".repeat(200);
    let list = app
        .operator
        .list(&ListQuery {
            q: Some(ok),
            ..Default::default()
        })
        .await
        .expect("200 characters are searched");
    assert!(list.cases.is_empty());
    for n in [201, 8_000] {
        let (status, p) =
            get_raw(&app.operator, &format!("/api/v1/cases?q={}", "a".repeat(n))).await;
        names_field(status, p, "q");
    }
    // Past the request target's own bound the server refuses the URI before reading `q`,
    // still with a problem, never a 500.
    let (status, p) = get_raw(
        &app.operator,
        &format!("/api/v1/cases?q={}", "a".repeat(60_000)),
    )
    .await;
    assert_eq!(status, StatusCode::URI_TOO_LONG, "{p:?}");
    assert_eq!(p.expect("application/problem+json").status, 414);
    let doc: serde_json::Value = app.observer.get_json("/api/v1/openapi.json").await.unwrap();
    let params = doc["paths"]["/api/v1/cases"]["get"]["parameters"]
        .as_array()
        .unwrap();
    let q = params.iter().find(|p| p["name"] == "q").unwrap();
    // The bound, beside the empty value the server reads as absent.
    assert_eq!(q["schema"]["anyOf"][0]["maxLength"], 200, "{q}");
}

// ---- 3. text fields -------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn case_fields_refuse_control_bidi_and_invisible_text_by_name() {
    let app = spawn_app().await;
    type Edit = fn(&mut jieyou::wire::NewCase);
    let bad: [(&str, Edit); 10] = [
        ("title", |n| n.title = "透析\0病人".into()),
        ("title", |n| n.title = "第一行\n第二行".into()),
        ("title", |n| n.title = "\u{200B}\u{200D}\u{FEFF}".into()),
        ("title", |n| n.title = "invoice\u{202E}fdp.exe".into()),
        ("description", |n| n.description = "说明\u{1b}[2J".into()),
        ("description", |n| n.description = "说明\u{2067}隔离".into()),
        ("requester.name", |n| {
            n.requester.name = "\u{3000}\u{2060}".into()
        }),
        ("requester.name", |n| n.requester.name = "葛\t先生".into()),
        ("location.town", |n| n.location.town = "马金\u{7f}镇".into()),
        ("location.address", |n| {
            n.location.address = "下庄村\r\n2号".into()
        }),
    ];
    for (field, edit) in bad {
        let mut n = new_case("有害输入");
        edit(&mut n);
        let err = app
            .intake
            .create_case(&n, &new_idempotency_key())
            .await
            .expect_err(field);
        refused_naming(err, field);
    }
    let list = app.observer.list(&ListQuery::default()).await.unwrap();
    assert!(list.cases.is_empty(), "no half-written case");
    // Line breaks and tabs belong in descriptions.
    let mut n = new_case("多行说明");
    n.description = "第一行\n\t第二行".into();
    let c = app
        .intake
        .create_case(&n, &new_idempotency_key())
        .await
        .unwrap();
    assert_eq!(c.case.description, "第一行\n\t第二行");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn action_texts_refuse_control_bidi_and_invisible_text_by_name() {
    let app = spawn_app().await;
    let c = dispatched_red(&app, "动作文本").await;
    let bad: Vec<(&Client, CaseAction, &str)> = vec![
        (&app.operator, note("备注\0"), "text"),
        (&app.operator, note("\u{200B}\u{200C}"), "text"),
        (&app.operator, note("看\u{202D}这里"), "text"),
        (
            &app.operator,
            CaseAction::Claim(NoteBody {
                note: Some("认领\u{1b}".into()),
            }),
            "note",
        ),
        (
            &app.operator,
            CaseAction::Retier(TierBody {
                tier: Tier::Orange,
                note: Some("\u{2066}改级".into()),
            }),
            "note",
        ),
        (&app.dept_a, return_case("\u{FEFF}"), "reason"),
        (&app.dept_a, return_case("不属于\u{8}我局"), "reason"),
        (
            &app.dept_a,
            request_extension(at(600), "需要\u{202E}时间"),
            "reason",
        ),
        (&app.supervisor, urge_with("催\0办"), "note"),
    ];
    for (who, action, field) in bad {
        let name = action.name();
        let err = app.act(who, &c, action).await.expect_err(name);
        refused_naming(err, field);
    }
    assert_eq!(fetch(&app, c.case.id).await.case.version, c.case.version);
    let c = app.act(&app.dept_a, &c, sign_for()).await.unwrap();
    let err = app
        .act(&app.dept_a, &c, resolve("\u{3000} \u{2060}"))
        .await
        .unwrap_err();
    refused_naming(err, "text");
    let c = app
        .act(&app.dept_a, &c, progress("已联系\n\t家属"))
        .await
        .expect("line breaks and tabs in a note");
    assert_eq!(c.case.status, Status::InProgress);
}

fn urge_with(note: &str) -> CaseAction {
    CaseAction::Urge(NoteBody {
        note: Some(note.into()),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn department_names_refuse_control_bidi_and_invisible_text() {
    let app = spawn_app().await;
    for name in ["\u{200B}", "卫健\0局", "卫健\u{202E}局", "卫健\n局"] {
        let err = app
            .admin
            .create_department(
                &NewDepartment {
                    name: name.into(),
                    kind: DepartmentKind::Bureau,
                },
                &new_idempotency_key(),
            )
            .await
            .expect_err(name);
        refused_naming(err, "name");
        let err = app
            .admin
            .patch_department(
                app.departments[0].id,
                app.departments[0].version,
                &DepartmentPatch {
                    name: Some(name.into()),
                    kind: None,
                    active: None,
                },
            )
            .await
            .expect_err(name);
        refused_naming(err, "name");
    }
    let names: Vec<String> = app
        .observer
        .departments()
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.name)
        .collect();
    assert_eq!(names, ["卫健局", "交通运输局"]);
}

#[tokio::test]
async fn a_bad_body_is_refused_by_name_before_its_version_is_weighed() {
    let app = spawn_app().await;
    let d = &app.departments[0];
    // An array where the document says object: the body is refused (400, as for a body that
    // is not JSON), even with a stale version, which would otherwise be weighed first (412).
    let stale = format!("\"{}\"", d.version + 4);
    for tag in [stale.as_str(), &format!("\"{}\"", d.version)] {
        let (status, problem) = send_raw(
            &app.admin,
            Method::PATCH,
            &format!("/api/v1/departments/{}", d.id),
            &[("If-Match", tag)],
            "[]",
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{problem:?}");
        assert_eq!(problem.unwrap().errors[0].field, "body");
    }
    // A field that breaks its rule is named whatever the version: stale, weak or current.
    let tags = [
        stale.clone(),
        format!("W/\"{}\"", d.version),
        format!("\"{}\"", d.version),
    ];
    for tag in &tags {
        let (status, problem) = send_raw(
            &app.admin,
            Method::PATCH,
            &format!("/api/v1/departments/{}", d.id),
            &[("If-Match", tag)],
            r#"{"name": "\ufe0d\u2001\u008b"}"#,
        )
        .await;
        names_field(status, problem, "name");
    }
    // An array where an object is expected inside the body: named by its path.
    let a = app
        .operator
        .create_case(&new_case("甲"), &new_idempotency_key())
        .await
        .unwrap();
    let b = app
        .operator
        .create_case(&new_case("乙"), &new_idempotency_key())
        .await
        .unwrap();
    let body = format!(
        r#"{{"into": {}, "cases": [[{}, {}]]}}"#,
        a.case.id, b.case.id, b.case.version
    );
    let key = new_idempotency_key();
    let (status, problem) = send_raw(
        &app.operator,
        Method::POST,
        "/api/v1/groups/merge",
        &[("Idempotency-Key", key.as_str())],
        &body,
    )
    .await;
    names_field(status, problem, "cases[0]");
    // So is a case action's text.
    for tag in [
        format!("\"{}\"", b.case.version + 3),
        format!("W/\"{}\"", b.case.version),
        format!("\"{}\"", b.case.version),
    ] {
        let (status, problem) = send_raw(
            &app.operator,
            Method::POST,
            &format!("/api/v1/cases/{}/note", b.case.id),
            &[("If-Match", tag.as_str())],
            r#"{"text": "备注\u0000"}"#,
        )
        .await;
        names_field(status, problem, "text");
    }
    // A key named twice is refused by its name, and no case is written.
    let mut twice = serde_json::to_string(&new_case("丙")).unwrap();
    twice.insert_str(1, r#""title": "丁", "#);
    let key = new_idempotency_key();
    let (status, problem) = send_raw(
        &app.intake,
        Method::POST,
        "/api/v1/cases",
        &[("Idempotency-Key", key.as_str())],
        &twice,
    )
    .await;
    names_field(status, problem, "title");
    let all = app.observer.list(&ListQuery::default()).await.unwrap();
    assert_eq!(all.cases.len(), 2, "only the two cases made above");
    // Nothing was changed by the refusals.
    let now = app.observer.departments().await.unwrap();
    let now = now.iter().find(|x| x.id == d.id).unwrap();
    assert_eq!(
        (now.name.as_str(), now.version),
        (d.name.as_str(), d.version)
    );
    let b_now = app.observer.case(b.case.id).await.unwrap();
    assert_eq!(b_now.case.version, b.case.version);
}

// ---- 4. the system's name -------------------------------------------------------------------

#[test]
fn user_add_refuses_the_system_actors_name_and_invisible_names() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("users.db").display());
    let add = |name: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_jieyou"))
            .args(["user", "add", "--database", &db, "--name", name])
            .args(["--role", "supervisor"])
            .env_remove("JIEYOU_DATABASE_URL")
            .output()
            .expect("jieyou runs")
    };
    for name in [
        "escalation",
        "Escalation",
        "esca\u{200B}lation",
        "system",
        "\u{200B}",
        "a\u{202E}b",
    ] {
        let out = add(name);
        assert!(!out.status.success(), "{name:?} was accepted");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("name"), "{name:?}: {stderr}");
    }
    let out = add("sup-wu");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ladders_events_are_marked_as_the_systems_own() {
    let app = spawn_app().await;
    let c = dispatched_red(&app, "系统标记").await;
    let c = app
        .act(&app.operator, &c, note("已电话联系"))
        .await
        .unwrap();
    // The sign-for clock (15 min from the dispatch at 10) is breached at 26.
    app.clock.set(t(26));
    assert_eq!(escalation_pass(&app).await, 1);
    let after = fetch(&app, c.case.id).await;
    let ladder: Vec<_> = after.events.iter().filter(|e| e.system).collect();
    assert_eq!(ladder.len(), 1, "{:#?}", after.events);
    assert_eq!(ladder[0].action, "escalate");
    assert_eq!(ladder[0].actor, "escalation");
    assert_eq!(ladder[0].actor_role, Role::Supervisor);
    assert!(
        after
            .events
            .iter()
            .filter(|e| e.action != "escalate")
            .all(|e| !e.system),
        "users' events are not the system's"
    );
}

// ---- 5. reports -----------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_cells_cannot_carry_formulas_or_break_markdown_rows() {
    let app = spawn_app().await;
    let mut ids = vec![];
    for name in ["=HYPERLINK(\"http://evil\",\"x\")", "a|b"] {
        let d = app
            .admin
            .create_department(
                &NewDepartment {
                    name: name.into(),
                    kind: DepartmentKind::Bureau,
                },
                &new_idempotency_key(),
            )
            .await
            .unwrap();
        ids.push(d.id);
    }
    for id in &ids {
        let c = app.create("报表注入").await;
        let c = app
            .act(&app.operator, &c, triage(Tier::Orange))
            .await
            .unwrap();
        app.act(&app.operator, &c, dispatch(*id)).await.unwrap();
    }
    let path = "/api/v1/reports/daily?date=2022-05-08";
    let csv = app.supervisor.get_text(path, "text/csv").await.unwrap();
    let rows: Vec<&str> = csv
        .lines()
        .filter(|l| l.starts_with("department,"))
        .collect();
    assert!(!rows.is_empty(), "{csv}");
    for row in rows {
        let key = &row["department,".len()..];
        assert!(!key.starts_with(['=', '+', '-', '@']), "{row}");
        if key.contains("HYPERLINK") {
            assert!(key.starts_with("\"'=HYPERLINK"), "{row}");
        }
    }
    let md = app
        .supervisor
        .get_text(path, "text/markdown")
        .await
        .unwrap();
    let row = md
        .lines()
        .find(|l| l.starts_with("| a"))
        .unwrap_or_else(|| panic!("{md}"));
    assert!(row.starts_with("| a\\|b |"), "{row}");
    let header = md
        .lines()
        .find(|l| l.starts_with("| department |"))
        .unwrap();
    assert_eq!(
        row.replace("\\|", "").matches('|').count(),
        header.matches('|').count(),
        "{row}"
    );
}

// ---- 6. revealing a phone -------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_desk_and_the_holding_department_may_reveal_a_phone() {
    let app = spawn_app().await;
    let c = dispatched_red(&app, "号码").await;
    let path = format!("/api/v1/cases/{}?reveal=phone", c.case.id);
    for who in [&app.intake, &app.admin, &app.observer] {
        let (status, p) = get_raw(who, &path).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let p = p.expect("problem+json");
        assert!(p.detail.contains("phone"), "{p:?}");
    }
    // Another department does not learn the case exists.
    let (status, _) = get_raw(&app.dept_b, &path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let before = fetch(&app, c.case.id).await;
    assert!(!before.events.iter().any(|e| e.action == "phone-revealed"));
    assert_eq!(before.case.requester.phone, "138****0000");

    app.clock.set(t(20));
    for (who, name) in [
        (&app.operator, "op-li"),
        (&app.supervisor, "sup-chen"),
        (&app.dept_a, "wj-zhang"),
    ] {
        let d = who.case_with_phone(c.case.id).await.unwrap();
        assert_eq!(d.case.requester.phone, "13800000000");
        let audit = d.events.last().unwrap();
        assert_eq!(audit.action, "phone-revealed");
        assert_eq!(audit.actor, name);
        assert_eq!(rfc(&audit.at), at_s(20));
        assert!(!audit.system);
        assert_eq!(d.case.version, before.case.version, "no version bump");
    }
    let after = fetch(&app, c.case.id).await;
    let audits: Vec<_> = after
        .events
        .iter()
        .filter(|e| e.action == "phone-revealed")
        .map(|e| e.actor.as_str())
        .collect();
    assert_eq!(audits, ["op-li", "sup-chen", "wj-zhang"]);
    assert_eq!(after.case, before.case, "the case itself is untouched");
    assert_eq!(after.case.requester.phone, "138****0000");
    // The version others hold is still current.
    let signed = app.act(&app.dept_a, &before, sign_for()).await.unwrap();
    assert_eq!(signed.case.status, Status::InProgress);
}

// ---- 7. masks count digits ------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn masks_count_digits_and_a_phone_needs_digits() {
    let app = spawn_app().await;
    let mut n = new_case("座机");
    n.requester.phone = "88001234".into();
    let c = app
        .intake
        .create_case(&n, &new_idempotency_key())
        .await
        .unwrap();
    assert_eq!(c.case.requester.phone, "****1234");
    let listed = app.observer.list(&ListQuery::default()).await.unwrap();
    assert_eq!(listed.cases[0].requester.phone, "****1234");
    for phone in ["+-- ", "---", "+ + +", "12"] {
        let mut n = new_case("无号码");
        n.requester.phone = phone.into();
        let err = app
            .intake
            .create_case(&n, &new_idempotency_key())
            .await
            .expect_err(phone);
        refused_naming(err, "requester.phone");
    }
}

// ---- 8. deadlines after a reopen ------------------------------------------------------------

/// Asserts the case is not overdue and a pass fires nothing on it.
async fn calm(app: &TestApp, id: i64) -> CaseDetail {
    let c = fetch(app, id).await;
    assert!(!c.case.overdue, "{:#?}", c.case.deadlines);
    assert!(
        c.case
            .deadlines
            .iter()
            .all(|d| d.met_at.is_some() || !d.breached)
    );
    assert_eq!(escalation_pass(app).await, 0, "nothing fires at once");
    assert_eq!(fetch(app, id).await, c);
    c
}

/// The steps of the ladder's events after the first `skip` events.
fn rungs(c: &CaseDetail, skip: usize) -> Vec<(String, String)> {
    c.events[skip..]
        .iter()
        .filter(|e| e.action == "escalate")
        .map(|e| {
            (
                e.payload["clock"].as_str().unwrap_or("?").to_string(),
                e.payload["step"].as_str().unwrap_or("?").to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_reopened_hours_later_gets_fresh_clocks_and_a_fresh_ladder() {
    let app = spawn_app().await;
    let c = dispatched_red(&app, "重开时限").await;
    app.clock.set(t(20));
    let c = app.act(&app.dept_a, &c, sign_for()).await.unwrap();
    app.clock.set(t(60));
    let c = app.act(&app.dept_a, &c, resolve("已处理")).await.unwrap();
    app.clock.set(t(90));
    let c = app
        .act(&app.supervisor, &c, follow_up(Satisfaction::Satisfied))
        .await
        .unwrap();
    assert_eq!(c.case.status, Status::Closed);

    // Ten hours after receipt: every first window is long past.
    app.clock.set(t(600));
    let c = app
        .act(&app.supervisor, &c, reopen("群众再次来电"))
        .await
        .unwrap();
    assert_eq!(c.case.status, Status::Triaged);
    let id = c.case.id;
    let c = calm(&app, id).await;
    assert_eq!(c.case.escalation, None);
    assert_eq!(rfc(&deadline(&c, ClockKind::Dispatch).due_at), at_s(660));
    assert_eq!(deadline(&c, ClockKind::Dispatch).met_at, None);
    assert_eq!(rfc(&deadline(&c, ClockKind::Feedback).due_at), at_s(840));
    assert_eq!(
        c.case.next_due.as_ref().map(|n| (n.clock, rfc(&n.due_at))),
        Some((ClockKind::Dispatch, at_s(660)))
    );
    let seen = c.events.len();

    // The red ladder (0 / 15 / 30 minutes after a breach) climbs from the new dispatch
    // deadline, one rung at a time.
    app.clock.set(t(660));
    calm(&app, id).await;
    for (minute, step) in [
        (661, EscalationStep::Reminder),
        (675, EscalationStep::UrgingNotice),
        (690, EscalationStep::SupervisionOffice),
    ] {
        if minute != 661 {
            app.clock.set(t(minute) - Duration::seconds(1));
            assert_eq!(
                escalation_pass(&app).await,
                0,
                "{step:?} not before {minute}"
            );
        }
        app.clock.set(t(minute));
        assert_eq!(escalation_pass(&app).await, 1, "{step:?} at {minute}");
        let c = fetch(&app, id).await;
        let e = c.case.escalation.as_ref().unwrap();
        assert_eq!((e.clock, e.step), (ClockKind::Dispatch, step));
    }
    let c = fetch(&app, id).await;
    assert_eq!(
        rungs(&c, seen),
        [
            ("dispatch".to_string(), "reminder".to_string()),
            ("dispatch".to_string(), "urging_notice".to_string()),
            ("dispatch".to_string(), "supervision_office".to_string()),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dissatisfied_follow_up_of_an_online_answer_gets_fresh_clocks() {
    let app = spawn_app().await;
    let c = app.create("在线答复不满意").await;
    app.clock.set(t(5));
    let c = app
        .act(&app.operator, &c, triage(Tier::Orange))
        .await
        .unwrap();
    let c = app
        .act(&app.operator, &c, answer_online("已答复政策"))
        .await
        .unwrap();
    let c = app.act(&app.operator, &c, mark_follow_up()).await.unwrap();
    // The follow-up call, nine hours later: the orange dispatch (2 h) and feedback (8 h)
    // windows from receipt are long past.
    app.clock.set(t(540));
    let c = app
        .act(&app.supervisor, &c, follow_up(Satisfaction::Dissatisfied))
        .await
        .unwrap();
    assert_eq!(c.case.status, Status::Triaged);
    let id = c.case.id;
    let c = calm(&app, id).await;
    assert_eq!(rfc(&deadline(&c, ClockKind::Dispatch).due_at), at_s(660));
    assert_eq!(
        rfc(&deadline(&c, ClockKind::Feedback).due_at),
        at_s(540 + 480)
    );
    // Orange: the reminder right at the breach, the urging notice 30 minutes on.
    app.clock.set(t(661));
    assert_eq!(escalation_pass(&app).await, 1);
    app.clock.set(t(689));
    assert_eq!(escalation_pass(&app).await, 0);
    app.clock.set(t(690));
    assert_eq!(escalation_pass(&app).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untriaged_answer_reopened_later_gets_a_fresh_triage_window() {
    let app = spawn_app().await;
    let c = app.create("未分类重开").await;
    app.clock.set(t(3));
    let c = app
        .act(&app.operator, &c, answer_online("已答复"))
        .await
        .unwrap();
    app.clock.set(t(300));
    let c = app
        .act(&app.supervisor, &c, reopen("答复有误"))
        .await
        .unwrap();
    assert_eq!(c.case.status, Status::New);
    let c = calm(&app, c.case.id).await;
    assert_eq!(rfc(&deadline(&c, ClockKind::Triage).due_at), at_s(315));
    app.clock.set(t(316));
    assert_eq!(escalation_pass(&app).await, 1);
}
