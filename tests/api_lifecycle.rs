//! The case lifecycle through real HTTP: every transition (status, counters, the event it
//! records), every refusal (409 for the state, 403 for the role, 404 for a department that
//! cannot see the case, 422 for a bad field) and the deadline clocks of each tier against the
//! manual clock.

mod common;

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use common::actions::*;
use common::checks::*;
use common::{TestApp, dispatched_red, spawn_app};
use jieyou::client::Client;
use jieyou::wire::{
    CaseAction, CaseDetail, ClockKind, Policy, Problem, Role, Satisfaction, Status, Tier,
};
use serde_json::json;

// ---- deadlines ------------------------------------------------------------------------------

fn clocks(c: &CaseDetail) -> Vec<ClockKind> {
    c.case.deadlines.iter().map(|d| d.clock).collect()
}

/// Asserts one deadline exactly: due time (with offset), met time, breached.
fn assert_deadline(c: &CaseDetail, clock: ClockKind, due: &str, met: Option<&str>, breached: bool) {
    let d = deadline(c, clock);
    assert_eq!(rfc(&d.due_at), due, "{clock:?} due_at");
    assert_eq!(
        d.met_at.as_ref().map(rfc).as_deref(),
        met,
        "{clock:?} met_at"
    );
    assert_eq!(d.breached, breached, "{clock:?} breached: {d:?}");
}

fn assert_next_due(c: &CaseDetail, expected: Option<(ClockKind, &str)>) {
    let got = c.case.next_due.as_ref().map(|n| (n.clock, rfc(&n.due_at)));
    assert_eq!(
        got,
        expected.map(|(k, s)| (k, s.to_string())),
        "next_due of {:#?}",
        c.case.deadlines
    );
}

// ---- acting and checking --------------------------------------------------------------------

const INTAKE: &str = "intake-wang";
const OP: &str = "op-li";
const OP2: &str = "op-zhao";
const SUP: &str = "sup-chen";
const DEPT_A: &str = "wj-zhang";

fn role_of(actor: &str) -> Role {
    match actor {
        INTAKE => Role::Intake,
        OP | OP2 => Role::Operator,
        SUP => Role::Supervisor,
        "obs-sun" => Role::Observer,
        "admin" => Role::Admin,
        _ => Role::Department,
    }
}

/// Acts, expecting success, and checks what every accepted action must do: the answer is the
/// stored case, the version went up by one, the status is `to`, and exactly one new event was
/// recorded with this action, `from`/`to`, the actor, its role and the clock's time.
async fn step(
    app: &TestApp,
    who: &Client,
    actor: &str,
    case: &CaseDetail,
    action: CaseAction,
    to: Status,
) -> CaseDetail {
    let from = case.case.status;
    let before = fetch(app, case.case.id).await;
    assert_eq!(before.case.version, case.case.version, "stale test fixture");
    let answer = app
        .act(who, case, action.clone())
        .await
        .unwrap_or_else(|e| panic!("{actor} {} on a {from:?} case: {e}", action.name()));
    let stored = fetch(app, case.case.id).await;
    assert_eq!(
        answer.case,
        stored.case,
        "the answer to {} is the stored case",
        action.name()
    );
    assert_eq!(
        answer.events[..],
        stored.events[before.events.len()..],
        "the answer to {} carries the event it recorded",
        action.name()
    );
    assert_eq!(answer.event_count, stored.event_count);
    assert_eq!(stored.case.status, to, "status after {}", action.name());
    assert_eq!(stored.case.version, before.case.version + 1, "version bump");
    assert_eq!(rfc(&stored.case.updated_at), now_s(app), "updated_at");
    assert_eq!(
        stored.events.len(),
        before.events.len() + 1,
        "exactly one new event for {}",
        action.name()
    );
    assert_eq!(stored.events[..before.events.len()], before.events[..]);
    let ev = stored.events.last().unwrap();
    assert_eq!(ev.case_id, case.case.id);
    assert_eq!(ev.action, action.name());
    assert_eq!(ev.from_status, Some(from), "event from_status");
    assert_eq!(ev.to_status, Some(to), "event to_status");
    assert_eq!(ev.actor, actor);
    assert_eq!(ev.actor_role, role_of(actor));
    assert_eq!(rfc(&ev.at), now_s(app), "event time");
    stored
}

/// Asserts an event's payload carries these keys with these values (the server may add more).
fn assert_payload(payload: &serde_json::Value, expected: serde_json::Value) {
    for (k, v) in expected.as_object().expect("an object") {
        assert_eq!(payload.get(k), Some(v), "payload key {k} in {payload}");
    }
}

/// Acts, expecting a refusal with `status` whose `detail` contains `why`; checks the case did
/// not change at all (version, status, events).
async fn refused(
    app: &TestApp,
    who: &Client,
    case: &CaseDetail,
    action: CaseAction,
    status: u16,
    why: &str,
) -> Problem {
    let before = fetch(app, case.case.id).await;
    let name = action.name();
    let err = app.act(who, &before, action).await.expect_err(&format!(
        "{name} on a {:?} case must be refused",
        before.case.status
    ));
    assert_eq!(err.status(), Some(status), "{name}: {err}");
    let p = problem_of(err);
    assert_eq!(p.status, status);
    assert!(
        p.detail.contains(why),
        "{name}: detail {:?} should say {why:?}",
        p.detail
    );
    let after = fetch(app, case.case.id).await;
    assert_eq!(
        after.case.version, before.case.version,
        "{name}: version unchanged"
    );
    assert_eq!(
        after.case.status, before.case.status,
        "{name}: status unchanged"
    );
    assert_eq!(after.events, before.events, "{name}: no event recorded");
    assert_eq!(after.case, before.case, "{name}: case unchanged");
    p
}

// ---- 1. every transition --------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn red_case_walks_the_whole_lifecycle_to_closed() {
    let app = spawn_app().await;
    let dept_a = app.departments[0].id;

    // create (受理)
    let c = app.create("透析病人需要转运").await;
    assert_eq!(c.case.status, Status::New);
    assert_eq!(c.case.version, 1);
    assert_eq!(c.case.tier, None);
    assert_eq!(c.case.reference, "KH-20220508-0001");
    assert_eq!(rfc(&c.case.received_at), "2022-05-08T21:04:00+08:00");
    assert_eq!(c.case.requester.phone, "138****0000");
    assert_eq!(
        (
            c.case.return_count,
            c.case.extension_count,
            c.case.urge_count
        ),
        (0, 0, 0)
    );
    assert_eq!(c.events.len(), 1);
    let ev = &c.events[0];
    assert_eq!(ev.action, "received");
    assert_eq!(ev.actor, INTAKE);
    assert_eq!(ev.actor_role, Role::Intake);
    assert_eq!(ev.from_status, None);
    assert_eq!(ev.to_status, Some(Status::New));
    assert_payload(&ev.payload, json!({"channel": "hotline_12345"}));
    assert_eq!(c, fetch(&app, c.case.id).await);

    // triage (分类) red
    app.advance(5);
    let c = step(
        &app,
        &app.operator,
        OP,
        &c,
        triage(Tier::Red),
        Status::Triaged,
    )
    .await;
    assert_eq!(c.case.tier, Some(Tier::Red));
    assert_eq!(c.case.triaged_at.as_ref().map(rfc), Some(at_s(5)));
    assert_payload(&c.events.last().unwrap().payload, json!({"tier": "red"}));

    // claim / release
    app.advance(1);
    let c = step(&app, &app.operator, OP, &c, claim(), Status::Triaged).await;
    assert_eq!(c.case.claimed_by.as_deref(), Some(OP));
    let c = step(&app, &app.operator, OP, &c, release(), Status::Triaged).await;
    assert_eq!(c.case.claimed_by, None);

    // dispatch (派单) to 卫健局
    app.advance(4);
    let c = step(
        &app,
        &app.operator,
        OP,
        &c,
        dispatch(dept_a),
        Status::Dispatched,
    )
    .await;
    assert_eq!(c.case.department_id, Some(dept_a));
    assert_eq!(c.case.dispatched_at.as_ref().map(rfc), Some(at_s(10)));
    assert_payload(
        &c.events.last().unwrap().payload,
        json!({"department_id": dept_a}),
    );
    // Department A now sees it; department B does not.
    assert_eq!(app.dept_a.case(c.case.id).await.unwrap().case, c.case);
    let p = problem_of(app.dept_b.case(c.case.id).await.unwrap_err());
    assert_eq!(p.status, 404);

    // sign-for (签收)
    app.advance(5);
    let c = step(
        &app,
        &app.dept_a,
        DEPT_A,
        &c,
        sign_for(),
        Status::InProgress,
    )
    .await;
    assert_eq!(c.case.signed_at.as_ref().map(rfc), Some(at_s(15)));

    // progress (办理)
    app.advance(10);
    let c = step(
        &app,
        &app.dept_a,
        DEPT_A,
        &c,
        progress("已联系120转运车"),
        Status::InProgress,
    )
    .await;
    assert_payload(
        &c.events.last().unwrap().payload,
        json!({"text": "已联系120转运车"}),
    );

    // request-extension, approved: the feedback deadline moves to `until`
    assert_deadline(&c, ClockKind::Feedback, &at_s(240), None, false);
    let until = at(360);
    let c = step(
        &app,
        &app.dept_a,
        DEPT_A,
        &c,
        request_extension(until, "需协调跨县转运"),
        Status::InProgress,
    )
    .await;
    let pending = c.case.pending_extension.clone().expect("pending extension");
    assert_eq!(rfc(&pending.until), at_s(360));
    assert_eq!(pending.reason, "需协调跨县转运");
    assert_eq!(pending.requested_by, DEPT_A);
    assert_eq!(rfc(&pending.requested_at), at_s(25));
    assert_eq!(c.case.extension_count, 0);
    assert_deadline(&c, ClockKind::Feedback, &at_s(240), None, false);

    app.advance(5);
    let c = step(
        &app,
        &app.supervisor,
        SUP,
        &c,
        decide_extension(true),
        Status::InProgress,
    )
    .await;
    assert_eq!(c.case.extension_count, 1);
    assert_eq!(c.case.pending_extension, None);
    assert_deadline(&c, ClockKind::Feedback, &at_s(360), None, false);
    let payload = &c.events.last().unwrap().payload;
    assert_eq!(payload["approve"], json!(true));
    assert_eq!(payload["reason"], json!("需协调跨县转运"));
    let until_in_payload: DateTime<FixedOffset> =
        serde_json::from_value(payload["until"].clone()).unwrap();
    assert_eq!(until_in_payload, until);

    // Past the original feedback deadline but before the extension: not breached.
    app.advance(240 - 30 + 10); // 250 minutes after receipt
    let c = fetch(&app, c.case.id).await;
    assert_deadline(&c, ClockKind::Feedback, &at_s(360), None, false);
    assert!(!c.case.overdue);

    // urge (催办)
    let c = step(&app, &app.supervisor, SUP, &c, urge(), Status::InProgress).await;
    assert_eq!(c.case.urge_count, 1);
    let c = step(&app, &app.supervisor, SUP, &c, urge(), Status::InProgress).await;
    assert_eq!(c.case.urge_count, 2);

    // resolve (反馈)
    app.advance(10); // 260
    let c = step(
        &app,
        &app.dept_a,
        DEPT_A,
        &c,
        resolve("已安排每周三次转运"),
        Status::Resolved,
    )
    .await;
    assert_eq!(c.case.resolved_at.as_ref().map(rfc), Some(at_s(260)));
    assert_deadline(&c, ClockKind::Feedback, &at_s(360), Some(&at_s(260)), false);
    assert_deadline(&c, ClockKind::FollowUp, &at_s(260 + 1440), None, false);

    // follow-up (回访) satisfied → closed (办结)
    app.advance(60);
    let c = step(
        &app,
        &app.supervisor,
        SUP,
        &c,
        follow_up(Satisfaction::Satisfied),
        Status::Closed,
    )
    .await;
    assert_eq!(c.case.satisfaction, Some(Satisfaction::Satisfied));
    assert_eq!(c.case.closed_at.as_ref().map(rfc), Some(at_s(320)));
    assert_deadline(
        &c,
        ClockKind::FollowUp,
        &at_s(1700),
        Some(&at_s(320)),
        false,
    );
    assert_eq!(c.case.next_due, None);
    assert!(!c.case.overdue);
    assert_eq!(
        (
            c.case.return_count,
            c.case.extension_count,
            c.case.urge_count
        ),
        (0, 1, 2)
    );

    let actions: Vec<&str> = c.events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "received",
            "triage",
            "claim",
            "release",
            "dispatch",
            "sign-for",
            "progress",
            "request-extension",
            "decide-extension",
            "urge",
            "urge",
            "resolve",
            "follow-up",
        ]
    );
    assert_eq!(c.case.version, 13);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denied_extension_leaves_the_feedback_deadline() {
    let app = spawn_app().await;
    let c = dispatched_red(&app, "denied extension").await;
    app.advance(5);
    let c = step(
        &app,
        &app.dept_a,
        DEPT_A,
        &c,
        sign_for(),
        Status::InProgress,
    )
    .await;
    // A request is allowed while dispatched or in progress.
    let c = step(
        &app,
        &app.dept_a,
        DEPT_A,
        &c,
        request_extension(at(600), "缺少药品"),
        Status::InProgress,
    )
    .await;
    assert!(c.case.pending_extension.is_some());
    app.advance(10);
    let c = step(
        &app,
        &app.supervisor,
        SUP,
        &c,
        decide_extension(false),
        Status::InProgress,
    )
    .await;
    assert_eq!(c.case.extension_count, 0);
    assert_eq!(c.case.pending_extension, None);
    assert_deadline(&c, ClockKind::Feedback, &at_s(240), None, false);
    let payload = &c.events.last().unwrap().payload;
    assert_eq!(payload["approve"], json!(false));
    assert_eq!(payload["reason"], json!("缺少药品"));

    // Denied means denied: past the policy's deadline it is breached.
    app.advance(240 - 25 + 1);
    let c = fetch(&app, c.case.id).await;
    assert_deadline(&c, ClockKind::Feedback, &at_s(240), None, true);
    assert!(c.case.overdue);

    // A second request may follow a decision; an extension must lie in the future.
    refused(
        &app,
        &app.dept_a,
        &c,
        request_extension(at(200), "过去的时间"),
        422,
        "until",
    )
    .await;
    let c = step(
        &app,
        &app.dept_a,
        DEPT_A,
        &c,
        request_extension(at(600), "再次申请"),
        Status::InProgress,
    )
    .await;
    let c = step(
        &app,
        &app.supervisor,
        SUP,
        &c,
        decide_extension(true),
        Status::InProgress,
    )
    .await;
    assert_eq!(c.case.extension_count, 1);
    assert_deadline(&c, ClockKind::Feedback, &at_s(600), None, false);
    assert!(!c.case.overdue);
    // The extended deadline breaches like any other.
    app.advance(600 - 241 + 1); // 601
    let c = fetch(&app, c.case.id).await;
    assert_deadline(&c, ClockKind::Feedback, &at_s(600), None, true);
    assert!(c.case.overdue);
    assert_next_due(&c, Some((ClockKind::Feedback, &at_s(600))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dissatisfied_follow_up_sends_the_case_back_to_its_department() {
    let app = spawn_app().await;
    let dept_a = app.departments[0].id;
    let c = dispatched_red(&app, "不满意回访").await;
    app.advance(5);
    let c = step(
        &app,
        &app.dept_a,
        DEPT_A,
        &c,
        sign_for(),
        Status::InProgress,
    )
    .await;
    app.advance(60);
    let c = step(
        &app,
        &app.dept_a,
        DEPT_A,
        &c,
        resolve("已处理"),
        Status::Resolved,
    )
    .await;
    app.advance(60); // 135 minutes after receipt
    let c = step(
        &app,
        &app.supervisor,
        SUP,
        &c,
        follow_up(Satisfaction::Dissatisfied),
        Status::Dispatched,
    )
    .await;
    assert_eq!(c.case.satisfaction, Some(Satisfaction::Dissatisfied));
    assert_eq!(c.case.department_id, Some(dept_a));
    assert_eq!(c.case.dispatched_at.as_ref().map(rfc), Some(at_s(135)));
    assert_eq!(c.case.signed_at, None);
    assert_eq!(c.case.resolved_at, None);
    assert_eq!(c.case.closed_at, None);
    assert_payload(
        &c.events.last().unwrap().payload,
        json!({"result": "dissatisfied"}),
    );
    // A fresh sign-for clock from the re-dispatch; a fresh red feedback window of 4 h from
    // the follow-up call.
    assert_deadline(&c, ClockKind::SignFor, &at_s(150), None, false);
    assert_deadline(&c, ClockKind::Feedback, &at_s(135 + 240), None, false);
    assert_next_due(&c, Some((ClockKind::SignFor, &at_s(150))));
    // The department works it again.
    app.advance(5);
    let c = step(
        &app,
        &app.dept_a,
        DEPT_A,
        &c,
        sign_for(),
        Status::InProgress,
    )
    .await;
    assert_deadline(&c, ClockKind::SignFor, &at_s(150), Some(&at_s(140)), false);
    app.advance(5);
    let c = step(
        &app,
        &app.dept_a,
        DEPT_A,
        &c,
        resolve("再次处理"),
        Status::Resolved,
    )
    .await;
    let c = step(
        &app,
        &app.supervisor,
        SUP,
        &c,
        follow_up(Satisfaction::FairlySatisfied),
        Status::Closed,
    )
    .await;
    assert_eq!(c.case.satisfaction, Some(Satisfaction::FairlySatisfied));
}

/// A second resolution starts a second follow-up clock: after a dissatisfied follow-up and a
/// new resolution, the follow-up deadline is unmet and due 24 h after the new resolution.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_up_clock_restarts_after_a_dissatisfied_follow_up() {
    let app = spawn_app().await;
    let c = dispatched_red(&app, "二次回访").await;
    app.advance(5);
    let c = app.act(&app.dept_a, &c, sign_for()).await.unwrap();
    app.advance(60); // 75
    let c = app.act(&app.dept_a, &c, resolve("已处理")).await.unwrap();
    app.advance(60); // 135
    let c = app
        .act(&app.supervisor, &c, follow_up(Satisfaction::Dissatisfied))
        .await
        .unwrap();
    app.advance(5);
    let c = app.act(&app.dept_a, &c, sign_for()).await.unwrap();
    app.advance(25); // 165
    let c = app.act(&app.dept_a, &c, resolve("再次处理")).await.unwrap();
    assert_eq!(c.case.status, Status::Resolved);
    assert_deadline(&c, ClockKind::FollowUp, &at_s(165 + 1440), None, false);
    assert_next_due(&c, Some((ClockKind::FollowUp, &at_s(165 + 1440))));
}

/// The same after a reopen: a red case closed by a satisfied follow-up, reopened and resolved
/// again, owes a new follow-up 24 h after the new resolution.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_up_clock_restarts_after_a_reopen() {
    let app = spawn_app().await;
    let c = dispatched_red(&app, "重开回访").await;
    let c = app.act(&app.dept_a, &c, sign_for()).await.unwrap();
    app.advance(20); // 30
    let c = app.act(&app.dept_a, &c, resolve("已处理")).await.unwrap();
    app.advance(60); // 90
    let c = app
        .act(&app.supervisor, &c, follow_up(Satisfaction::Satisfied))
        .await
        .unwrap();
    assert_eq!(c.case.status, Status::Closed);
    app.advance(85); // 175
    let c = app
        .act(&app.supervisor, &c, reopen("群众再次来电"))
        .await
        .unwrap();
    assert_eq!(c.case.status, Status::Triaged);
    let c = app
        .act(&app.operator, &c, answer_online("已电话答复"))
        .await
        .unwrap();
    assert_eq!(c.case.status, Status::Resolved);
    assert_deadline(&c, ClockKind::FollowUp, &at_s(175 + 1440), None, false);
    assert_next_due(&c, Some((ClockKind::FollowUp, &at_s(175 + 1440))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answer_online_resolves_new_and_triaged_cases() {
    let app = spawn_app().await;

    // From new: no tier, only the triage clock, met by the answer.
    let a = app.create("询问返乡隔离政策").await;
    app.advance(3);
    let a = step(
        &app,
        &app.operator,
        OP,
        &a,
        answer_online("按最新防疫政策……"),
        Status::Resolved,
    )
    .await;
    assert_eq!(a.case.tier, None);
    assert_eq!(a.case.resolved_at.as_ref().map(rfc), Some(at_s(3)));
    assert_eq!(a.case.department_id, None);
    assert_payload(
        &a.events.last().unwrap().payload,
        json!({"text": "按最新防疫政策……"}),
    );
    assert_eq!(clocks(&a), [ClockKind::Triage]);
    assert_deadline(&a, ClockKind::Triage, &at_s(15), Some(&at_s(3)), false);
    assert_next_due(&a, None);
    // close (operator)
    let a = step(&app, &app.operator, OP, &a, close(), Status::Closed).await;
    assert_eq!(a.case.closed_at.as_ref().map(rfc), Some(at_s(3)));

    // From triaged (blue), by a supervisor.
    let b = app.create("通行证如何办理").await;
    app.advance(2);
    let b = step(
        &app,
        &app.operator,
        OP,
        &b,
        triage(Tier::Blue),
        Status::Triaged,
    )
    .await;
    app.advance(20);
    let b = step(
        &app,
        &app.supervisor,
        SUP,
        &b,
        answer_online("在浙里办申请"),
        Status::Resolved,
    )
    .await;
    assert_eq!(b.case.tier, Some(Tier::Blue));
    assert_eq!(clocks(&b), [ClockKind::Triage, ClockKind::Feedback]);
    assert_deadline(
        &b,
        ClockKind::Feedback,
        &at_s(3 + 180),
        Some(&at_s(25)),
        false,
    );
    assert_next_due(&b, None);
    let b = step(&app, &app.supervisor, SUP, &b, close(), Status::Closed).await;
    assert_eq!(b.case.closed_at.as_ref().map(rfc), Some(at_s(25)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn return_needs_a_reason_and_sends_the_case_back_to_triage() {
    let app = spawn_app().await;
    let dept_a = app.departments[0].id;
    let dept_b = app.departments[1].id;
    let c = dispatched_red(&app, "退单").await;

    // Without a reason: 422 naming `reason`, whether empty, blank or missing.
    for reason in ["", "   "] {
        let p = refused(&app, &app.dept_a, &c, return_case(reason), 422, "reason").await;
        assert_eq!(p.errors.len(), 1, "{p:?}");
        assert_eq!(p.errors[0].field, "reason");
    }
    let (status, ctype, body) = app
        .dept_a
        .raw(
            reqwest::Method::POST,
            &format!("/api/v1/cases/{}/return", c.case.id),
            &[
                ("If-Match", &format!("\"{}\"", c.case.version)),
                ("Content-Type", "application/json"),
            ],
            b"{}".to_vec(),
        )
        .await
        .unwrap();
    assert_eq!(status.as_u16(), 422);
    assert!(ctype.starts_with("application/problem+json"), "{ctype}");
    let p: Problem = serde_json::from_slice(&body).unwrap();
    assert_eq!(p.status, 422);
    assert_eq!(p.errors[0].field, "reason");
    assert_eq!(fetch(&app, c.case.id).await.case.version, c.case.version);

    // With a reason, from dispatched: back to triaged, department cleared, count +1.
    app.advance(3);
    let c = step(
        &app,
        &app.dept_a,
        DEPT_A,
        &c,
        return_case("不属于本单位职责"),
        Status::Triaged,
    )
    .await;
    assert_eq!(c.case.return_count, 1);
    assert_eq!(c.case.department_id, None);
    assert_eq!(c.case.dispatched_at, None);
    assert_eq!(c.case.signed_at, None);
    assert_payload(
        &c.events.last().unwrap().payload,
        json!({"reason": "不属于本单位职责", "department_id": dept_a}),
    );
    // The sign-for clock is gone; the dispatch clock stays met by the first dispatch.
    assert_eq!(
        clocks(&c),
        [ClockKind::Triage, ClockKind::Dispatch, ClockKind::Feedback]
    );
    assert_deadline(&c, ClockKind::Dispatch, &at_s(60), Some(&at_s(10)), false);
    // Department A no longer sees it.
    assert_eq!(
        problem_of(app.dept_a.case(c.case.id).await.unwrap_err()).status,
        404
    );

    // Re-dispatched to B, signed, returned from in progress: count 2.
    let c = step(
        &app,
        &app.operator,
        OP,
        &c,
        dispatch(dept_b),
        Status::Dispatched,
    )
    .await;
    assert_eq!(c.case.department_id, Some(dept_b));
    let c = step(
        &app,
        &app.dept_b,
        "jt-liu",
        &c,
        sign_for(),
        Status::InProgress,
    )
    .await;
    let c = step(
        &app,
        &app.dept_b,
        "jt-liu",
        &c,
        request_extension(at(500), "等待"),
        Status::InProgress,
    )
    .await;
    let c = step(
        &app,
        &app.dept_b,
        "jt-liu",
        &c,
        return_case("需卫健局处理"),
        Status::Triaged,
    )
    .await;
    assert_eq!(c.case.return_count, 2);
    assert_eq!(c.case.department_id, None);
    assert_eq!(
        c.case.pending_extension, None,
        "a return drops a pending extension"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retier_and_reopen() {
    let app = spawn_app().await;
    let c = app.create("发热儿童需就医").await;
    app.advance(5);
    let c = step(
        &app,
        &app.operator,
        OP,
        &c,
        triage(Tier::Blue),
        Status::Triaged,
    )
    .await;
    assert_eq!(clocks(&c), [ClockKind::Triage, ClockKind::Feedback]);
    assert_deadline(&c, ClockKind::Feedback, &at_s(180), None, false);

    // retier blue → red: the red clocks apply from receipt.
    let c = step(
        &app,
        &app.operator,
        OP,
        &c,
        retier(Tier::Red),
        Status::Triaged,
    )
    .await;
    assert_eq!(c.case.tier, Some(Tier::Red));
    assert_payload(
        &c.events.last().unwrap().payload,
        json!({"tier": "red", "from_tier": "blue"}),
    );
    assert_eq!(
        clocks(&c),
        [ClockKind::Triage, ClockKind::Dispatch, ClockKind::Feedback]
    );
    assert_deadline(&c, ClockKind::Dispatch, &at_s(60), None, false);
    assert_deadline(&c, ClockKind::Feedback, &at_s(240), None, false);
    assert_next_due(&c, Some((ClockKind::Dispatch, &at_s(60))));
    refused(
        &app,
        &app.operator,
        &c,
        retier(Tier::Red),
        409,
        "already red",
    )
    .await;

    // A resolved case closed by its follow-up; reopen (supervisor) goes back to triaged.
    app.advance(5);
    let c = step(
        &app,
        &app.operator,
        OP,
        &c,
        answer_online("已联系医院"),
        Status::Resolved,
    )
    .await;
    app.advance(5);
    let satisfied = follow_up(Satisfaction::Satisfied);
    let c = step(&app, &app.supervisor, SUP, &c, satisfied, Status::Closed).await;
    assert_eq!(c.case.closed_at.as_ref().map(rfc), Some(at_s(15)));
    refused(&app, &app.supervisor, &c, reopen(""), 422, "reason").await;
    app.advance(30);
    let c = step(
        &app,
        &app.supervisor,
        SUP,
        &c,
        reopen("群众反映未解决"),
        Status::Triaged,
    )
    .await;
    assert_eq!(c.case.tier, Some(Tier::Red));
    assert_eq!(c.case.closed_at, None);
    assert_eq!(c.case.resolved_at, None);
    assert_eq!(c.case.department_id, None);
    assert_payload(
        &c.events.last().unwrap().payload,
        json!({"reason": "群众反映未解决"}),
    );
    // Open again: the clocks start afresh from the reopen at 45 (a red dispatch hour, a
    // red feedback window of 4 h), the satisfaction forgotten.
    assert_deadline(&c, ClockKind::Dispatch, &at_s(45 + 60), None, false);
    assert_deadline(&c, ClockKind::Feedback, &at_s(45 + 240), None, false);
    assert!(!c.case.overdue);
    assert_eq!(c.case.satisfaction, None);

    // Reopen from resolved too; an untriaged case reopens as new.
    let n = app.create("未分类").await;
    let n = step(
        &app,
        &app.operator,
        OP,
        &n,
        answer_online("已答复"),
        Status::Resolved,
    )
    .await;
    let n = step(
        &app,
        &app.supervisor,
        SUP,
        &n,
        reopen("答复有误"),
        Status::New,
    )
    .await;
    assert_eq!(n.case.tier, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notes_by_every_role_but_observer_and_admin() {
    let app = spawn_app().await;
    let c = dispatched_red(&app, "备注").await;
    let mut c = c;
    for (who, actor) in [
        (&app.intake, INTAKE),
        (&app.operator, OP),
        (&app.operator2, OP2),
        (&app.supervisor, SUP),
        (&app.dept_a, DEPT_A),
    ] {
        let text = format!("{actor} 的备注");
        c = step(&app, who, actor, &c, note(&text), Status::Dispatched).await;
        assert_payload(&c.events.last().unwrap().payload, json!({"text": text}));
    }
    refused(
        &app,
        &app.observer,
        &c,
        note("x"),
        403,
        "role observer may not note",
    )
    .await;
    refused(
        &app,
        &app.admin,
        &c,
        note("x"),
        403,
        "role admin may not note",
    )
    .await;
    refused(&app, &app.operator, &c, note("  "), 422, "text").await;
    // A note works in every state, even closed.
    let n = app.create("closed note").await;
    let n = app
        .act(&app.operator, &n, answer_online("答"))
        .await
        .unwrap();
    let n = app.act(&app.operator, &n, close()).await.unwrap();
    step(&app, &app.supervisor, SUP, &n, note("归档"), Status::Closed).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_closes_the_duplicate_and_marks_the_target() {
    let app = spawn_app().await;
    let target = dispatched_red(&app, "透析病人需要转运").await;
    let dup = app.create("透析病人需要转运(重复来电)").await;
    app.advance(2);
    let dup = app
        .act(&app.operator, &dup, triage(Tier::Red))
        .await
        .unwrap();

    refused(&app, &app.operator, &dup, merge(dup.case.id), 422, "into").await;
    refused(&app, &app.operator, &dup, merge(9999), 422, "into").await;

    let target_before = fetch(&app, target.case.id).await;
    let dup = step(
        &app,
        &app.operator,
        OP,
        &dup,
        merge(target.case.id),
        Status::Closed,
    )
    .await;
    assert_eq!(dup.case.merged_into, Some(target.case.id));
    assert_eq!(dup.case.closed_at.as_ref().map(rfc), Some(now_s(&app)));
    assert_payload(
        &dup.events.last().unwrap().payload,
        json!({"into": target.case.id}),
    );

    let t = fetch(&app, target.case.id).await;
    assert_eq!(t.case.version, target_before.case.version + 1);
    assert_eq!(t.case.status, Status::Dispatched);
    assert_eq!(rfc(&t.case.updated_at), now_s(&app));
    assert_eq!(t.events.len(), target_before.events.len() + 1);
    let ev = t.events.last().unwrap();
    assert_eq!(ev.action, "merged-in");
    assert_eq!(ev.actor, OP);
    assert_eq!(ev.actor_role, Role::Operator);
    assert_eq!(ev.from_status, Some(Status::Dispatched));
    assert_eq!(ev.to_status, Some(Status::Dispatched));
    assert_payload(
        &ev.payload,
        json!({"duplicate": dup.case.id, "duplicate_ref": dup.case.reference}),
    );
    assert_eq!(rfc(&ev.at), now_s(&app));

    // A merged duplicate stays closed; nothing merges into a closed case.
    refused(&app, &app.supervisor, &dup, reopen("误合并"), 409, "merged").await;
    let other = app.create("另一个").await;
    refused(
        &app,
        &app.operator,
        &other,
        merge(dup.case.id),
        409,
        "closed",
    )
    .await;
    refused(
        &app,
        &app.operator,
        &dup,
        merge(other.case.id),
        409,
        "closed",
    )
    .await;
}

// ---- 2. every refusal -----------------------------------------------------------------------

struct Fixtures {
    new: CaseDetail,
    triaged: CaseDetail,
    dispatched: CaseDetail,
    in_progress: CaseDetail,
    resolved: CaseDetail,
    closed: CaseDetail,
    /// Triaged and claimed by op-li.
    claimed: CaseDetail,
}

async fn fixtures(app: &TestApp) -> Fixtures {
    let dept_a = app.departments[0].id;
    let op = &app.operator;
    let new = app.create("new").await;
    let triaged = app.create("triaged").await;
    let triaged = app.act(op, &triaged, triage(Tier::Orange)).await.unwrap();
    let dispatched = app.create("dispatched").await;
    let dispatched = app.act(op, &dispatched, triage(Tier::Red)).await.unwrap();
    let dispatched = app.act(op, &dispatched, dispatch(dept_a)).await.unwrap();
    let in_progress = app.create("in progress").await;
    let in_progress = app.act(op, &in_progress, triage(Tier::Red)).await.unwrap();
    let in_progress = app.act(op, &in_progress, dispatch(dept_a)).await.unwrap();
    let in_progress = app
        .act(&app.dept_a, &in_progress, sign_for())
        .await
        .unwrap();
    let resolved = app.create("resolved").await;
    let resolved = app.act(op, &resolved, triage(Tier::Red)).await.unwrap();
    let resolved = app.act(op, &resolved, dispatch(dept_a)).await.unwrap();
    let resolved = app.act(&app.dept_a, &resolved, sign_for()).await.unwrap();
    let resolved = app
        .act(&app.dept_a, &resolved, resolve("done"))
        .await
        .unwrap();
    let closed = app.create("closed").await;
    let closed = app.act(op, &closed, triage(Tier::Blue)).await.unwrap();
    let closed = app.act(op, &closed, answer_online("答")).await.unwrap();
    let closed = app.act(op, &closed, close()).await.unwrap();
    let claimed = app.create("claimed").await;
    let claimed = app.act(op, &claimed, triage(Tier::Red)).await.unwrap();
    let claimed = app.act(op, &claimed, claim()).await.unwrap();
    assert_eq!(
        [
            new.case.status,
            triaged.case.status,
            dispatched.case.status,
            in_progress.case.status,
            resolved.case.status,
            closed.case.status,
            claimed.case.status,
        ],
        [
            Status::New,
            Status::Triaged,
            Status::Dispatched,
            Status::InProgress,
            Status::Resolved,
            Status::Closed,
            Status::Triaged,
        ]
    );
    Fixtures {
        new,
        triaged,
        dispatched,
        in_progress,
        resolved,
        closed,
        claimed,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_the_state_does_not_allow_are_409_and_change_nothing() {
    let app = spawn_app().await;
    let f = fixtures(&app).await;
    let dept_a = app.departments[0].id;
    let (op, op2, sup, da) = (&app.operator, &app.operator2, &app.supervisor, &app.dept_a);
    let table: Vec<(&str, &Client, &CaseDetail, CaseAction, &str)> = vec![
        (
            "dispatch a new case",
            op,
            &f.new,
            dispatch(dept_a),
            "cannot dispatch a case that is new",
        ),
        (
            "triage twice",
            op,
            &f.triaged,
            triage(Tier::Red),
            "cannot triage a case that is triaged",
        ),
        (
            "triage a closed case",
            sup,
            &f.closed,
            triage(Tier::Red),
            "cannot triage a case that is closed",
        ),
        (
            "retier a new case",
            op,
            &f.new,
            retier(Tier::Red),
            "cannot retier a case that is new",
        ),
        (
            "retier a closed case",
            op,
            &f.closed,
            retier(Tier::Red),
            "cannot retier a case that is closed",
        ),
        (
            "dispatch twice",
            op,
            &f.dispatched,
            dispatch(dept_a),
            "cannot dispatch a case that is dispatched",
        ),
        (
            "dispatch a resolved case",
            sup,
            &f.resolved,
            dispatch(dept_a),
            "cannot dispatch a case that is resolved",
        ),
        (
            "sign for twice",
            da,
            &f.in_progress,
            sign_for(),
            "cannot sign-for a case that is in_progress",
        ),
        (
            "sign for a resolved case",
            da,
            &f.resolved,
            sign_for(),
            "cannot sign-for a case that is resolved",
        ),
        (
            "progress before signing",
            da,
            &f.dispatched,
            progress("x"),
            "cannot progress a case that is dispatched",
        ),
        (
            "resolve a dispatched case",
            da,
            &f.dispatched,
            resolve("x"),
            "cannot resolve a case that is dispatched",
        ),
        (
            "supervisor resolves a dispatched case",
            sup,
            &f.dispatched,
            resolve("x"),
            "cannot resolve a case that is dispatched",
        ),
        (
            "resolve twice",
            da,
            &f.resolved,
            resolve("x"),
            "cannot resolve a case that is resolved",
        ),
        (
            "answer a dispatched case online",
            op,
            &f.dispatched,
            answer_online("x"),
            "cannot answer-online a case that is dispatched",
        ),
        (
            "answer a resolved case online",
            op,
            &f.resolved,
            answer_online("x"),
            "cannot answer-online a case that is resolved",
        ),
        (
            "return a resolved case",
            da,
            &f.resolved,
            return_case("x"),
            "cannot return a case that is resolved",
        ),
        (
            "extension for a resolved case",
            da,
            &f.resolved,
            request_extension(at(900), "x"),
            "cannot request-extension a case that is resolved",
        ),
        (
            "decide without a request",
            sup,
            &f.in_progress,
            decide_extension(true),
            "no extension request is pending",
        ),
        (
            "urge a triaged case",
            sup,
            &f.triaged,
            urge(),
            "cannot urge a case that is triaged",
        ),
        (
            "urge a resolved case",
            sup,
            &f.resolved,
            urge(),
            "cannot urge a case that is resolved",
        ),
        (
            "follow up an open case",
            sup,
            &f.in_progress,
            follow_up(Satisfaction::Satisfied),
            "cannot follow-up a case that is in_progress",
        ),
        (
            "follow up a closed case",
            sup,
            &f.closed,
            follow_up(Satisfaction::Satisfied),
            "cannot follow-up a case that is closed",
        ),
        (
            "close an open case",
            op,
            &f.in_progress,
            close(),
            "cannot close a case that is in_progress",
        ),
        (
            "close a new case",
            sup,
            &f.new,
            close(),
            "cannot close a case that is new",
        ),
        (
            "close twice",
            op,
            &f.closed,
            close(),
            "cannot close a case that is closed",
        ),
        (
            "reopen an open case",
            sup,
            &f.dispatched,
            reopen("x"),
            "cannot reopen a case that is dispatched",
        ),
        (
            "merge a closed case",
            op,
            &f.closed,
            merge(f.new.case.id),
            "cannot merge a case that is closed",
        ),
        (
            "claim a closed case",
            op,
            &f.closed,
            claim(),
            "cannot claim a case that is closed",
        ),
        (
            "release an unclaimed case",
            op,
            &f.triaged,
            release(),
            "case is not claimed",
        ),
        (
            "claim twice",
            op,
            &f.claimed,
            claim(),
            "already claimed by you",
        ),
        // Another operator's claim.
        (
            "claim a case claimed by another operator",
            op2,
            &f.claimed,
            claim(),
            "case is claimed by op-li",
        ),
        (
            "release another operator's claim",
            op2,
            &f.claimed,
            release(),
            "case is claimed by op-li, not by you",
        ),
        (
            "dispatch another operator's case",
            op2,
            &f.claimed,
            dispatch(dept_a),
            "case is claimed by op-li",
        ),
        (
            "retier another operator's case",
            op2,
            &f.claimed,
            retier(Tier::Blue),
            "case is claimed by op-li",
        ),
        (
            "answer another operator's case",
            op2,
            &f.claimed,
            answer_online("x"),
            "case is claimed by op-li",
        ),
        (
            "merge another operator's case",
            op2,
            &f.claimed,
            merge(f.new.case.id),
            "case is claimed by op-li",
        ),
    ];
    for (what, who, case, action, why) in table {
        let p = refused(&app, who, case, action, 409, why).await;
        assert!(p.kind.ends_with("state-conflict"), "{what}: {p:?}");
        assert_eq!(p.title, "Not allowed in this state", "{what}");
    }

    // A pending request blocks a second one.
    let pending = app
        .act(da, &f.in_progress, request_extension(at(900), "x"))
        .await
        .unwrap();
    refused(
        &app,
        da,
        &pending,
        request_extension(at(950), "y"),
        409,
        "already pending",
    )
    .await;

    // A supervisor may work (and take over) a case an operator claimed.
    let c = step(&app, sup, SUP, &f.claimed, claim(), Status::Triaged).await;
    assert_eq!(c.case.claimed_by.as_deref(), Some(SUP));
    assert_payload(&c.events.last().unwrap().payload, json!({"taken_from": OP}));
    let c = step(
        &app,
        op,
        OP,
        &c,
        note("op-li sees it is taken"),
        Status::Triaged,
    )
    .await;
    refused(
        &app,
        op,
        &c,
        dispatch(dept_a),
        409,
        "case is claimed by sup-chen",
    )
    .await;
    let c = step(&app, sup, SUP, &c, dispatch(dept_a), Status::Dispatched).await;
    assert_eq!(c.case.claimed_by.as_deref(), Some(SUP));
    // A supervisor may also release an operator's claim.
    let other = app.create("released by supervisor").await;
    let other = app.act(op, &other, claim()).await.unwrap();
    let other = step(&app, sup, SUP, &other, release(), Status::New).await;
    assert_eq!(other.case.claimed_by, None);
    // ... and resolve a case in progress for a department.
    let c = step(
        &app,
        sup,
        SUP,
        &pending,
        resolve("督办办结"),
        Status::Resolved,
    )
    .await;
    assert_eq!(
        c.case.pending_extension, None,
        "resolving drops a pending extension"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_the_role_does_not_allow_are_403_and_change_nothing() {
    let app = spawn_app().await;
    let f = fixtures(&app).await;
    let dept_a = app.departments[0].id;
    // A pending extension, so that deciding it is refused for the role alone.
    let pending = app
        .act(&app.dept_a, &f.in_progress, request_extension(at(900), "x"))
        .await
        .unwrap();
    let (intake, op, sup, da, obs, admin) = (
        &app.intake,
        &app.operator,
        &app.supervisor,
        &app.dept_a,
        &app.observer,
        &app.admin,
    );
    let table: Vec<(&Client, &CaseDetail, CaseAction, &str)> = vec![
        (
            intake,
            &f.new,
            triage(Tier::Red),
            "role intake may not triage a case",
        ),
        (
            intake,
            &f.triaged,
            dispatch(dept_a),
            "role intake may not dispatch a case",
        ),
        (
            intake,
            &f.new,
            answer_online("x"),
            "role intake may not answer-online a case",
        ),
        (intake, &f.new, claim(), "role intake may not claim a case"),
        (
            op,
            &f.dispatched,
            sign_for(),
            "role operator may not sign-for a case",
        ),
        (
            sup,
            &f.dispatched,
            sign_for(),
            "role supervisor may not sign-for a case",
        ),
        (
            op,
            &f.in_progress,
            progress("x"),
            "role operator may not progress a case",
        ),
        (
            op,
            &f.in_progress,
            resolve("x"),
            "role operator may not resolve a case",
        ),
        (
            op,
            &f.dispatched,
            return_case("x"),
            "role operator may not return a case",
        ),
        (
            sup,
            &f.dispatched,
            return_case("x"),
            "role supervisor may not return a case",
        ),
        (
            op,
            &f.in_progress,
            request_extension(at(900), "x"),
            "role operator may not request-extension a case",
        ),
        (
            op,
            &f.dispatched,
            urge(),
            "role operator may not urge a case",
        ),
        (
            da,
            &f.dispatched,
            urge(),
            "role department may not urge a case",
        ),
        (
            op,
            &pending,
            decide_extension(true),
            "role operator may not decide-extension a case",
        ),
        (
            da,
            &pending,
            decide_extension(true),
            "role department may not decide-extension a case",
        ),
        (
            op,
            &f.resolved,
            follow_up(Satisfaction::Satisfied),
            "role operator may not follow-up a case",
        ),
        (
            da,
            &f.resolved,
            follow_up(Satisfaction::Satisfied),
            "role department may not follow-up a case",
        ),
        (
            op,
            &f.closed,
            reopen("x"),
            "role operator may not reopen a case",
        ),
        (
            da,
            &f.dispatched,
            triage(Tier::Red),
            "role department may not triage a case",
        ),
        (
            da,
            &f.dispatched,
            retier(Tier::Blue),
            "role department may not retier a case",
        ),
        (
            da,
            &f.dispatched,
            dispatch(dept_a),
            "role department may not dispatch a case",
        ),
        (
            da,
            &f.resolved,
            close(),
            "role department may not close a case",
        ),
        (
            da,
            &f.dispatched,
            claim(),
            "role department may not claim a case",
        ),
        (obs, &f.new, note("x"), "role observer may not note a case"),
        (
            obs,
            &f.new,
            triage(Tier::Red),
            "role observer may not triage a case",
        ),
        (
            admin,
            &f.new,
            triage(Tier::Red),
            "role admin may not triage a case",
        ),
        (admin, &f.new, note("x"), "role admin may not note a case"),
        // The role is checked before the state.
        (
            op,
            &f.triaged,
            sign_for(),
            "role operator may not sign-for a case",
        ),
        (
            intake,
            &f.closed,
            triage(Tier::Red),
            "role intake may not triage a case",
        ),
        (
            op,
            &f.new,
            follow_up(Satisfaction::Satisfied),
            "role operator may not follow-up a case",
        ),
    ];
    for (who, case, action, why) in table {
        let p = refused(&app, who, case, action, 403, why).await;
        assert!(p.kind.ends_with("forbidden"), "{p:?}");
    }
}

/// A department sees only its own department's cases: acting on another's (or on one not yet
/// dispatched) is 404, as if the case did not exist, whatever the action.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_department_cannot_see_or_act_on_other_cases() {
    let app = spawn_app().await;
    let f = fixtures(&app).await;
    let db = &app.dept_b;
    for (case, action) in [
        (&f.dispatched, sign_for()),
        (&f.dispatched, note("x")),
        (&f.dispatched, return_case("x")),
        (&f.dispatched, triage(Tier::Red)),
        (&f.in_progress, resolve("x")),
        (&f.in_progress, progress("x")),
        (&f.in_progress, request_extension(at(900), "x")),
        (&f.resolved, note("x")),
    ] {
        let id = case.case.id;
        refused(&app, db, case, action, 404, &format!("no case {id}")).await;
        let p = problem_of(db.case(id).await.unwrap_err());
        assert_eq!(p.status, 404);
    }
    // Department A cannot act on cases not dispatched to anyone either (a triaged case cannot
    // be signed for: it has no department).
    for (case, action) in [
        (&f.triaged, sign_for()),
        (&f.new, note("x")),
        (&f.triaged, triage(Tier::Red)),
    ] {
        let id = case.case.id;
        refused(
            &app,
            &app.dept_a,
            case,
            action,
            404,
            &format!("no case {id}"),
        )
        .await;
    }
    // Nor does a 404 leak through the version check: a stale If-Match still answers 404.
    let err = app
        .dept_b
        .act(
            f.dispatched.case.id,
            f.dispatched.case.version + 7,
            &note("x"),
            &jieyou::client::new_idempotency_key(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(404));
}

/// The precedence `apply` documents (role → 403, then state → 409, then fields → 422) holds for
/// the checks the store makes before `apply` too: a role that may not dispatch hears so, not
/// that the department does not exist.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dispatch_checks_role_and_state_before_the_department() {
    let app = spawn_app().await;
    let f = fixtures(&app).await;
    let why = "role intake may not dispatch";
    refused(&app, &app.intake, &f.triaged, dispatch(9999), 403, why).await;
    let why = "role observer may not dispatch";
    refused(&app, &app.observer, &f.triaged, dispatch(9999), 403, why).await;
    // The state before the body: a new case cannot be dispatched, to any department.
    let why = "cannot dispatch a case that is new";
    refused(&app, &app.operator, &f.new, dispatch(9999), 409, why).await;
    // For an allowed role and state the field is named.
    let p = refused(
        &app,
        &app.operator,
        &f.triaged,
        dispatch(9999),
        422,
        "department_id",
    )
    .await;
    assert_eq!(p.errors[0].field, "department_id");
}

/// Likewise for merge: a role that may not merge hears so, not about the target.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_checks_role_before_the_target() {
    let app = spawn_app().await;
    let f = fixtures(&app).await;
    let why = "role observer may not merge";
    refused(&app, &app.observer, &f.new, merge(9999), 403, why).await;
    let why = "role intake may not merge";
    refused(&app, &app.intake, &f.new, merge(f.closed.case.id), 403, why).await;
    // Another operator's claim is a 409 about the claim, not about the target.
    let why = "case is claimed by op-li";
    refused(&app, &app.operator2, &f.claimed, merge(9999), 409, why).await;
    // For an allowed role the target is checked.
    refused(&app, &app.operator, &f.new, merge(9999), 422, "into").await;
    let closed = merge(f.closed.case.id);
    refused(&app, &app.operator, &f.new, closed, 409, "closed").await;
}

/// A dissatisfied follow-up of a case that was answered online before it was ever triaged
/// sends it back to the desk as it was: `new` (no tier), as `reopen` does; never `triaged`
/// without a tier.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dissatisfied_follow_up_of_an_untriaged_answer_goes_back_to_new() {
    let app = spawn_app().await;
    let c = app.create("政策咨询").await;
    app.advance(3);
    let answer = answer_online("已答复");
    let c = app.act(&app.operator, &c, answer).await.unwrap();
    assert_eq!(c.case.tier, None);
    app.advance(60);
    let dissatisfied = follow_up(Satisfaction::Dissatisfied);
    let c = step(&app, &app.supervisor, SUP, &c, dissatisfied, Status::New).await;
    assert_eq!(c.case.tier, None);
    assert_eq!(c.case.resolved_at, None);
    // Back on the untriaged queue: it can be triaged again.
    step(
        &app,
        &app.operator,
        OP,
        &c,
        triage(Tier::Orange),
        Status::Triaged,
    )
    .await;
}

/// A dissatisfied follow-up of a case answered online after triage goes back to `triaged`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dissatisfied_follow_up_of_a_triaged_answer_goes_back_to_triaged() {
    let app = spawn_app().await;
    let c = app.create("政策咨询").await;
    app.advance(3);
    let c = app
        .act(&app.operator, &c, triage(Tier::Blue))
        .await
        .unwrap();
    let answer = answer_online("已答复");
    let c = app.act(&app.operator, &c, answer).await.unwrap();
    app.advance(60); // 63
    let dissatisfied = follow_up(Satisfaction::Dissatisfied);
    let c = step(
        &app,
        &app.supervisor,
        SUP,
        &c,
        dissatisfied,
        Status::Triaged,
    )
    .await;
    assert_eq!(c.case.tier, Some(Tier::Blue));
    assert_eq!(c.case.department_id, None);
    assert_eq!(c.case.resolved_at, None);
    // A fresh blue feedback window of 3 h from the follow-up call at 63.
    assert_deadline(&c, ClockKind::Feedback, &at_s(63 + 180), None, false);
    assert_next_due(&c, Some((ClockKind::Feedback, &at_s(63 + 180))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_policy_is_the_design_table() {
    let app = spawn_app().await;
    assert_eq!(app.observer.policy().await.unwrap(), Policy::default());
    let p = Policy::default();
    let rows: Vec<_> = [Tier::Blue, Tier::Orange, Tier::Red]
        .iter()
        .map(|t| {
            let tp = p.tier(*t);
            (
                tp.triage_minutes,
                tp.dispatch_minutes,
                tp.sign_for_minutes,
                tp.feedback_minutes,
                tp.follow_up_minutes,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (15, None, 30, 180, None),
            (15, Some(120), 30, 480, None),
            (15, Some(60), 15, 240, Some(1440)),
        ]
    );
    assert_eq!(p.time_zone, "Asia/Shanghai");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untriaged_case_has_only_the_triage_clock() {
    let app = spawn_app().await;
    let c = app.create("待分类").await;
    assert_eq!(clocks(&c), [ClockKind::Triage]);
    assert_deadline(&c, ClockKind::Triage, &at_s(15), None, false);
    assert_next_due(&c, Some((ClockKind::Triage, &at_s(15))));
    assert!(!c.case.overdue);
    // At the due time exactly it is not yet breached; a minute later it is.
    app.advance(15);
    let c = fetch(&app, c.case.id).await;
    assert_deadline(&c, ClockKind::Triage, &at_s(15), None, false);
    assert!(!c.case.overdue);
    app.advance(1);
    let c = fetch(&app, c.case.id).await;
    assert_deadline(&c, ClockKind::Triage, &at_s(15), None, true);
    assert!(c.case.overdue);
    assert_next_due(&c, Some((ClockKind::Triage, &at_s(15))));
    // The list's overdue filter agrees.
    let list = app
        .observer
        .list(&jieyou::client::ListQuery {
            overdue: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        list.cases.iter().map(|x| x.id).collect::<Vec<_>>(),
        [c.case.id]
    );
    // Triaged late: met, and breached because met late; no longer overdue on that clock.
    let c = app
        .act(&app.operator, &c, triage(Tier::Orange))
        .await
        .unwrap();
    assert_deadline(&c, ClockKind::Triage, &at_s(15), Some(&at_s(16)), true);
    assert_next_due(&c, Some((ClockKind::Dispatch, &at_s(120))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blue_deadlines() {
    let app = spawn_app().await;
    let c = app.create("蓝色").await;
    app.advance(5);
    let c = app
        .act(&app.operator, &c, triage(Tier::Blue))
        .await
        .unwrap();
    assert_eq!(clocks(&c), [ClockKind::Triage, ClockKind::Feedback]);
    assert_deadline(&c, ClockKind::Triage, &at_s(15), Some(&at_s(5)), false);
    assert_deadline(&c, ClockKind::Feedback, &at_s(180), None, false);
    assert_next_due(&c, Some((ClockKind::Feedback, &at_s(180))));
    assert!(!c.case.overdue);

    // A blue case may still be dispatched: then it has a 30-minute sign-for clock.
    app.advance(15); // 20
    let c = app
        .act(&app.operator, &c, dispatch(app.departments[1].id))
        .await
        .unwrap();
    assert_eq!(
        clocks(&c),
        [ClockKind::Triage, ClockKind::SignFor, ClockKind::Feedback]
    );
    assert_deadline(&c, ClockKind::SignFor, &at_s(50), None, false);
    assert_next_due(&c, Some((ClockKind::SignFor, &at_s(50))));

    app.advance(30); // 50: due, not past
    let c = fetch(&app, c.case.id).await;
    assert_deadline(&c, ClockKind::SignFor, &at_s(50), None, false);
    assert!(!c.case.overdue);
    app.advance(1); // 51
    let c = fetch(&app, c.case.id).await;
    assert_deadline(&c, ClockKind::SignFor, &at_s(50), None, true);
    assert!(c.case.overdue);
    assert_next_due(&c, Some((ClockKind::SignFor, &at_s(50))));

    // Signed late: met_at set, still breached; the next due is feedback.
    app.advance(4); // 55
    let c = app.act(&app.dept_b, &c, sign_for()).await.unwrap();
    assert_deadline(&c, ClockKind::SignFor, &at_s(50), Some(&at_s(55)), true);
    assert_deadline(&c, ClockKind::Feedback, &at_s(180), None, false);
    assert_next_due(&c, Some((ClockKind::Feedback, &at_s(180))));

    // Past feedback (3 h): breached and overdue.
    app.advance(126); // 181
    let c = fetch(&app, c.case.id).await;
    assert_deadline(&c, ClockKind::Feedback, &at_s(180), None, true);
    assert!(c.case.overdue);
    let c = app.act(&app.dept_b, &c, resolve("已办")).await.unwrap();
    assert_deadline(&c, ClockKind::Feedback, &at_s(180), Some(&at_s(181)), true);
    assert_eq!(
        clocks(&c),
        [ClockKind::Triage, ClockKind::SignFor, ClockKind::Feedback],
        "blue has no follow-up clock"
    );
    assert_next_due(&c, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orange_deadlines() {
    let app = spawn_app().await;
    let c = app.create("橙色").await;
    app.advance(10);
    let c = app
        .act(&app.operator, &c, triage(Tier::Orange))
        .await
        .unwrap();
    assert_eq!(
        clocks(&c),
        [ClockKind::Triage, ClockKind::Dispatch, ClockKind::Feedback]
    );
    assert_deadline(&c, ClockKind::Triage, &at_s(15), Some(&at_s(10)), false);
    assert_deadline(&c, ClockKind::Dispatch, &at_s(120), None, false);
    assert_deadline(&c, ClockKind::Feedback, &at_s(480), None, false);
    assert_next_due(&c, Some((ClockKind::Dispatch, &at_s(120))));

    app.advance(100); // 110: dispatched in time
    let c = app
        .act(&app.operator, &c, dispatch(app.departments[0].id))
        .await
        .unwrap();
    assert_deadline(&c, ClockKind::Dispatch, &at_s(120), Some(&at_s(110)), false);
    assert_deadline(&c, ClockKind::SignFor, &at_s(140), None, false);
    assert_next_due(&c, Some((ClockKind::SignFor, &at_s(140))));
    app.advance(20); // 130
    let c = app.act(&app.dept_a, &c, sign_for()).await.unwrap();
    assert_deadline(&c, ClockKind::SignFor, &at_s(140), Some(&at_s(130)), false);
    assert_next_due(&c, Some((ClockKind::Feedback, &at_s(480))));
    assert!(!c.case.overdue);

    app.advance(350); // 480
    let c = fetch(&app, c.case.id).await;
    assert_deadline(&c, ClockKind::Feedback, &at_s(480), None, false);
    assert!(!c.case.overdue);
    app.advance(1); // 481
    let c = fetch(&app, c.case.id).await;
    assert_deadline(&c, ClockKind::Feedback, &at_s(480), None, true);
    assert!(c.case.overdue);
    let c = app.act(&app.dept_a, &c, resolve("已办结")).await.unwrap();
    assert_deadline(&c, ClockKind::Feedback, &at_s(480), Some(&at_s(481)), true);
    assert_next_due(&c, None);
    assert_eq!(
        clocks(&c),
        [
            ClockKind::Triage,
            ClockKind::Dispatch,
            ClockKind::SignFor,
            ClockKind::Feedback
        ],
        "orange has no follow-up clock"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn red_deadlines() {
    let app = spawn_app().await;
    let c = app.create("红色").await;
    app.advance(5);
    let c = app.act(&app.operator, &c, triage(Tier::Red)).await.unwrap();
    assert_deadline(&c, ClockKind::Triage, &at_s(15), Some(&at_s(5)), false);
    assert_deadline(&c, ClockKind::Dispatch, &at_s(60), None, false);
    assert_deadline(&c, ClockKind::Feedback, &at_s(240), None, false);
    assert_next_due(&c, Some((ClockKind::Dispatch, &at_s(60))));

    // The dispatch hour passes.
    app.advance(55); // 60
    assert!(!fetch(&app, c.case.id).await.case.overdue);
    app.advance(1); // 61
    let c = fetch(&app, c.case.id).await;
    assert_deadline(&c, ClockKind::Dispatch, &at_s(60), None, true);
    assert!(c.case.overdue);
    assert_next_due(&c, Some((ClockKind::Dispatch, &at_s(60))));

    // Dispatched late: 15 minutes to sign for.
    let c = app
        .act(&app.operator, &c, dispatch(app.departments[0].id))
        .await
        .unwrap();
    assert_deadline(&c, ClockKind::Dispatch, &at_s(60), Some(&at_s(61)), true);
    assert_deadline(&c, ClockKind::SignFor, &at_s(76), None, false);
    assert_next_due(&c, Some((ClockKind::SignFor, &at_s(76))));
    app.advance(9); // 70
    let c = app.act(&app.dept_a, &c, sign_for()).await.unwrap();
    assert_deadline(&c, ClockKind::SignFor, &at_s(76), Some(&at_s(70)), false);
    assert_next_due(&c, Some((ClockKind::Feedback, &at_s(240))));

    // Resolved within 4 h: the 24 h follow-up clock starts.
    app.advance(130); // 200
    let c = app.act(&app.dept_a, &c, resolve("已转运")).await.unwrap();
    assert_deadline(&c, ClockKind::Feedback, &at_s(240), Some(&at_s(200)), false);
    assert_deadline(&c, ClockKind::FollowUp, &at_s(1640), None, false);
    assert_next_due(&c, Some((ClockKind::FollowUp, &at_s(1640))));
    assert_eq!(
        clocks(&c),
        [
            ClockKind::Triage,
            ClockKind::Dispatch,
            ClockKind::SignFor,
            ClockKind::Feedback,
            ClockKind::FollowUp
        ]
    );
    app.advance(1440); // 1640
    let c = fetch(&app, c.case.id).await;
    assert_deadline(&c, ClockKind::FollowUp, &at_s(1640), None, false);
    assert!(!c.case.overdue);
    app.advance(1); // 1641
    let c = fetch(&app, c.case.id).await;
    assert_deadline(&c, ClockKind::FollowUp, &at_s(1640), None, true);
    assert!(c.case.overdue);
    let c = app
        .act(&app.supervisor, &c, follow_up(Satisfaction::Satisfied))
        .await
        .unwrap();
    assert_deadline(
        &c,
        ClockKind::FollowUp,
        &at_s(1640),
        Some(&at_s(1641)),
        true,
    );
    assert_next_due(&c, None);
}

/// Deadlines run on the wall clock, 24/7: a red case received at 23:50 is due for dispatch at
/// 00:50 and for feedback at 03:50 the next day, in the desk's zone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadlines_run_through_the_night() {
    let app = spawn_app().await;
    // 23:50 in Kaihua.
    app.clock
        .set(Utc.with_ymd_and_hms(2022, 5, 8, 15, 50, 0).unwrap());
    let red = app.create("深夜透析转运").await;
    assert_eq!(rfc(&red.case.received_at), "2022-05-08T23:50:00+08:00");
    assert_eq!(red.case.reference, "KH-20220508-0001");
    assert_deadline(
        &red,
        ClockKind::Triage,
        "2022-05-09T00:05:00+08:00",
        None,
        false,
    );
    app.advance(5);
    let red = app
        .act(&app.operator, &red, triage(Tier::Red))
        .await
        .unwrap();
    assert_deadline(
        &red,
        ClockKind::Triage,
        "2022-05-09T00:05:00+08:00",
        Some("2022-05-08T23:55:00+08:00"),
        false,
    );
    assert_deadline(
        &red,
        ClockKind::Dispatch,
        "2022-05-09T00:50:00+08:00",
        None,
        false,
    );
    assert_deadline(
        &red,
        ClockKind::Feedback,
        "2022-05-09T03:50:00+08:00",
        None,
        false,
    );

    let orange = app.create("深夜奶粉").await;
    let orange = app
        .act(&app.operator, &orange, triage(Tier::Orange))
        .await
        .unwrap();
    assert_eq!(orange.case.reference, "KH-20220508-0002");
    assert_deadline(
        &orange,
        ClockKind::Dispatch,
        "2022-05-09T01:55:00+08:00",
        None,
        false,
    );
    assert_deadline(
        &orange,
        ClockKind::Feedback,
        "2022-05-09T07:55:00+08:00",
        None,
        false,
    );

    // Past midnight: a new day's references, and the night's deadlines breach on time.
    app.advance(60); // 00:55
    let after = app.create("凌晨来电").await;
    assert_eq!(after.case.reference, "KH-20220509-0001");
    let red = fetch(&app, red.case.id).await;
    assert_deadline(
        &red,
        ClockKind::Dispatch,
        "2022-05-09T00:50:00+08:00",
        None,
        true,
    );
    assert!(red.case.overdue);
    app.advance(175); // 03:50
    let red = app
        .act(&app.operator, &red, dispatch(app.departments[0].id))
        .await
        .unwrap();
    assert_deadline(
        &red,
        ClockKind::SignFor,
        "2022-05-09T04:05:00+08:00",
        None,
        false,
    );
    app.advance(1); // 03:51
    let red = fetch(&app, red.case.id).await;
    assert_deadline(
        &red,
        ClockKind::Feedback,
        "2022-05-09T03:50:00+08:00",
        None,
        true,
    );
    assert_next_due(
        &red,
        Some((ClockKind::Feedback, "2022-05-09T03:50:00+08:00")),
    );
}
