//! Shift work through real HTTP on a real SQLite file with a manual clock: presence and its
//! lapse, shifts, the claims a shift leaves behind, the handover brief of a scripted shift and
//! its acknowledgements, departments' duty contacts, and `jieyou report shift` from the real
//! binary.

mod common;

use std::process::Command;

use chrono::Duration;
use common::{TestApp, actions, checks, spawn_app};
use jieyou::client::Client;
use jieyou::server::Clock;
use jieyou::wire::{
    Department, HandOverResult, HandoverBrief, HandoverList, PresenceList, Problem, Role, Shift,
    ShiftList, Tier,
};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// A request with a JSON body (or none): the status and the raw answer.
async fn send(
    c: &Client,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Vec<u8>) {
    let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    let (status, _, answer) = c
        .raw(method, path, &[("content-type", "application/json")], bytes)
        .await
        .expect("the server answers");
    (status, answer)
}

/// A request that must succeed with `expected`; its answer.
async fn ok<T: DeserializeOwned>(
    c: &Client,
    method: Method,
    path: &str,
    body: Option<Value>,
    expected: StatusCode,
) -> T {
    let (status, answer) = send(c, method, path, body).await;
    assert_eq!(status, expected, "{}", String::from_utf8_lossy(&answer));
    serde_json::from_slice(&answer).expect("a JSON answer of the documented shape")
}

/// A request that must be refused with `expected`; the problem.
async fn refused(
    c: &Client,
    method: Method,
    path: &str,
    body: Option<Value>,
    expected: StatusCode,
) -> Problem {
    let (status, answer) = send(c, method, path, body).await;
    assert_eq!(status, expected, "{}", String::from_utf8_lossy(&answer));
    serde_json::from_slice(&answer).expect("a problem body")
}

fn kind(p: &Problem) -> &str {
    p.kind.rsplit('/').next().unwrap_or("")
}

fn fields(p: &Problem) -> Vec<&str> {
    p.errors.iter().map(|e| e.field.as_str()).collect()
}

async fn put_presence(c: &Client, case: Option<i64>, activity: &str) -> StatusCode {
    send(
        c,
        Method::PUT,
        "/api/v1/presence",
        Some(json!({ "case": case, "activity": activity })),
    )
    .await
    .0
}

async fn presence(c: &Client) -> PresenceList {
    c.get_json("/api/v1/presence").await.expect("presence")
}

async fn start(c: &Client) -> Shift {
    ok(
        c,
        Method::POST,
        "/api/v1/shifts/start",
        None,
        StatusCode::CREATED,
    )
    .await
}

async fn end(c: &Client, note: &str) -> HandoverBrief {
    ok(
        c,
        Method::POST,
        "/api/v1/shifts/end",
        Some(json!({ "note": note })),
        StatusCode::OK,
    )
    .await
}

#[tokio::test]
async fn presence_is_listed_wakes_long_polls_and_lapses() {
    let app = spawn_app().await;
    let a = app.create("透析病人需要转运").await;
    assert_eq!(
        put_presence(&app.operator, Some(a.case.id), "viewing").await,
        StatusCode::NO_CONTENT
    );
    let list = presence(&app.supervisor).await;
    assert_eq!(list.entries.len(), 1);
    let e = &list.entries[0];
    assert_eq!((e.case, e.user.as_str()), (a.case.id, "op-li"));
    assert_eq!(e.role, Role::Operator);
    assert_eq!(checks::rfc(&e.since), checks::now_s(&app));
    assert_eq!(
        checks::rfc(&e.expires_at),
        checks::local_s(app.clock.now() + Duration::seconds(30))
    );

    // A long poll at the current version answers with the change that follows.
    let poll = {
        let sup = app.supervisor.clone();
        let path = format!("/api/v1/presence?since={}&wait=20", list.version);
        tokio::spawn(async move { sup.get_json::<PresenceList>(&path).await })
    };
    assert_eq!(
        put_presence(&app.operator2, Some(a.case.id), "answering").await,
        StatusCode::NO_CONTENT
    );
    let woke = poll.await.unwrap().unwrap();
    assert!(woke.version > list.version);
    let answering: Vec<_> = woke
        .entries
        .iter()
        .filter(|p| p.user == "op-zhao")
        .map(|p| p.activity)
        .collect();
    assert_eq!(answering, [jieyou::wire::Activity::Answering]);

    // A heartbeat renews op-li; op-zhao's console went away and lapses after the TTL.
    app.clock.advance(Duration::seconds(20));
    put_presence(&app.operator, Some(a.case.id), "viewing").await;
    app.clock.advance(Duration::seconds(15));
    app.server.presence.expire(app.clock.now());
    let after = presence(&app.supervisor).await;
    let users: Vec<&str> = after.entries.iter().map(|p| p.user.as_str()).collect();
    assert_eq!(users, ["op-li"]);
    assert!(after.version > woke.version);
    // The renewal kept op-li's `since`.
    assert_eq!(after.entries[0].since, e.since);

    // Clearing removes it at once.
    put_presence(&app.operator, None, "viewing").await;
    assert!(presence(&app.supervisor).await.entries.is_empty());
}

#[tokio::test]
async fn presence_is_refused_by_name_and_departments_see_only_their_cases() {
    let app = spawn_app().await;
    let held = common::dispatched_red(&app, "透析病人需要转运").await;
    let other = app.create("路灯不亮").await;
    put_presence(&app.operator, Some(held.case.id), "viewing").await;
    put_presence(&app.operator2, Some(other.case.id), "editing").await;
    let seen: Vec<i64> = presence(&app.dept_a)
        .await
        .entries
        .iter()
        .map(|p| p.case)
        .collect();
    assert_eq!(seen, [held.case.id]);
    assert!(presence(&app.dept_b).await.entries.is_empty());
    assert_eq!(presence(&app.observer).await.entries.len(), 2);

    // A department reports presence on its own cases only; others' are not even named.
    assert_eq!(
        put_presence(&app.dept_a, Some(held.case.id), "editing").await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        put_presence(&app.dept_a, Some(other.case.id), "viewing").await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        put_presence(&app.observer, Some(other.case.id), "viewing").await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        put_presence(&app.operator, Some(9999), "viewing").await,
        StatusCode::NOT_FOUND
    );
    let p = refused(
        &app.operator,
        Method::PUT,
        "/api/v1/presence",
        Some(json!({ "case": held.case.id, "activity": "typing" })),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields(&p), ["activity"]);
    let p = refused(
        &app.operator,
        Method::GET,
        "/api/v1/presence?wait=31",
        None,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(fields(&p), ["wait"]);
}

#[tokio::test]
async fn a_shift_starts_once_and_ends_once() {
    let app = spawn_app().await;
    let s = start(&app.operator).await;
    assert_eq!((s.user.as_str(), s.role), ("op-li", Role::Operator));
    assert_eq!(checks::rfc(&s.started_at), checks::now_s(&app));
    let p = refused(
        &app.operator,
        Method::POST,
        "/api/v1/shifts/start",
        None,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(kind(&p), "shift-running");
    let current: Shift = app
        .operator
        .get_json("/api/v1/shifts/current")
        .await
        .unwrap();
    assert_eq!(current, s);
    let open: ShiftList = app
        .supervisor
        .get_json("/api/v1/shifts?open=true")
        .await
        .unwrap();
    assert_eq!(open.shifts.len(), 1);
    assert_eq!(open.shifts[0], s);

    app.advance(60);
    let brief = end(&app.operator, "").await;
    assert_eq!(brief.shift.id, s.id);
    assert_eq!(
        brief.shift.ended_at.map(|t| checks::rfc(&t)),
        Some(checks::now_s(&app))
    );
    let p = refused(
        &app.operator,
        Method::POST,
        "/api/v1/shifts/end",
        Some(json!({ "note": "" })),
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(kind(&p), "not-on-shift");
    refused(
        &app.operator,
        Method::GET,
        "/api/v1/shifts/current",
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
    let all: ShiftList = app.supervisor.get_json("/api/v1/shifts").await.unwrap();
    assert_eq!(all.shifts.len(), 1);
    assert!(all.shifts[0].ended_at.is_some());
    let open: ShiftList = app
        .supervisor
        .get_json("/api/v1/shifts?open=true")
        .await
        .unwrap();
    assert!(open.shifts.is_empty());

    // Not a desk worker's: refused by role; a note too long, by name.
    let p = refused(
        &app.observer,
        Method::POST,
        "/api/v1/shifts/start",
        None,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(kind(&p), "forbidden");
    start(&app.operator2).await;
    let p = refused(
        &app.operator2,
        Method::POST,
        "/api/v1/shifts/end",
        Some(json!({ "note": "长".repeat(4001) })),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields(&p), ["note"]);
    assert!(
        app.operator2
            .get_json::<Shift>("/api/v1/shifts/current")
            .await
            .is_ok(),
        "a refused end leaves the shift running"
    );
}

async fn claim(app: &TestApp, who: &Client, title: &str) -> i64 {
    let c = app.create(title).await;
    let c = app
        .act(&app.operator, &c, actions::triage(Tier::Orange))
        .await
        .unwrap();
    app.act(who, &c, actions::claim()).await.unwrap().case.id
}

#[tokio::test]
async fn the_claims_of_an_ended_shift_are_released_or_handed_over() {
    let app = spawn_app().await;
    let shift = start(&app.operator).await;
    let a = claim(&app, &app.operator, "透析病人需要转运").await;
    let b = claim(&app, &app.operator, "路灯不亮").await;
    let kept = claim(&app, &app.operator2, "噪音扰民").await;
    let path = format!("/api/v1/shifts/{}/claims", shift.id);
    let p = refused(
        &app.supervisor,
        Method::POST,
        &path,
        Some(json!({ "to": null })),
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(kind(&p), "shift-running");
    end(&app.operator, "").await;
    let listed: ShiftList = app.supervisor.get_json("/api/v1/shifts").await.unwrap();
    assert!(listed.shifts[0].ended_at.is_some());

    // `to` must be a desk worker on shift.
    for to in ["obs-sun", "op-zhao", "nobody"] {
        let p = refused(
            &app.supervisor,
            Method::POST,
            &path,
            Some(json!({ "to": to })),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(fields(&p), ["to"], "{to}");
    }
    refused(
        &app.operator2,
        Method::POST,
        &path,
        Some(json!({ "to": null })),
        StatusCode::FORBIDDEN,
    )
    .await;

    let before_a = checks::fetch(&app, a).await.case.version;
    let before_b = checks::fetch(&app, b).await.case.version;
    start(&app.operator2).await;
    let moved: HandOverResult = ok(
        &app.supervisor,
        Method::POST,
        &path,
        Some(json!({ "to": "op-zhao" })),
        StatusCode::OK,
    )
    .await;
    let ids: Vec<i64> = moved.moved.iter().map(|m| m.id).collect();
    assert_eq!(ids, [a, b]);
    for (m, before) in moved.moved.iter().zip([before_a, before_b]) {
        let now = checks::fetch(&app, m.id).await;
        assert_eq!(now.case.claimed_by.as_deref(), Some("op-zhao"));
        assert_eq!(now.case.version, m.version);
        assert_eq!(m.version, before + 2, "a release and a claim");
        let last: Vec<(&str, &str)> = now.events[now.events.len() - 2..]
            .iter()
            .map(|e| (e.action.as_str(), e.actor.as_str()))
            .collect();
        assert_eq!(last, [("release", "sup-chen"), ("claim", "op-zhao")]);
    }
    assert_eq!(
        checks::fetch(&app, kept).await.case.claimed_by.as_deref(),
        Some("op-zhao")
    );

    // Back on shift, op-li's claims are op-li's again: the ended shift's are not handed on.
    let back = start(&app.operator).await;
    let p = refused(
        &app.supervisor,
        Method::POST,
        &path,
        Some(json!({ "to": null })),
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(kind(&p), "shift-running");
    assert!(p.detail.contains(&back.id.to_string()), "{}", p.detail);

    // op-zhao's shift ends: a release leaves the cases unclaimed, each with its event.
    let zhao = end(&app.operator2, "").await.shift;
    let moved: HandOverResult = ok(
        &app.supervisor,
        Method::POST,
        &format!("/api/v1/shifts/{}/claims", zhao.id),
        Some(json!({})),
        StatusCode::OK,
    )
    .await;
    assert_eq!(moved.moved.len(), 3);
    for m in &moved.moved {
        let now = checks::fetch(&app, m.id).await;
        assert_eq!(now.case.claimed_by, None);
        assert_eq!(now.case.version, m.version);
        assert_eq!(now.events.last().unwrap().action, "release");
    }
}

// The report runs the real binary, blocking one worker while the server answers on another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_brief_of_a_scripted_shift_lists_what_the_next_shift_needs() {
    let app = spawn_app().await;
    let dept = app.departments[0].id;
    // Received before the shift: escalated during it, but not received in it.
    let before = app.create("小区停水").await.case.id;
    app.clock.set(checks::t(1));
    let shift = start(&app.operator).await;

    app.clock.set(checks::t(2));
    let red = app.create("透析病人需要转运").await;
    let red = app
        .act(&app.operator, &red, actions::triage(Tier::Red))
        .await
        .unwrap();
    app.act(&app.operator, &red, actions::claim())
        .await
        .unwrap();

    app.clock.set(checks::t(3));
    let answered = app.create("询问核酸检测点").await;
    let answered = app
        .act(&app.operator, &answered, actions::triage(Tier::Red))
        .await
        .unwrap();
    app.act(&app.operator, &answered, actions::answer_online("已答复"))
        .await
        .unwrap();

    app.clock.set(checks::t(4));
    let extended = app.create("道路塌陷").await;
    let extended = app
        .act(&app.operator, &extended, actions::triage(Tier::Red))
        .await
        .unwrap();
    let extended = app
        .act(&app.operator, &extended, actions::dispatch(dept))
        .await
        .unwrap();
    let extended = app
        .act(&app.dept_a, &extended, actions::sign_for())
        .await
        .unwrap();
    app.act(
        &app.dept_a,
        &extended,
        actions::request_extension(checks::at(4 + 300), "需要施工队"),
    )
    .await
    .unwrap();

    app.clock.set(checks::t(5));
    let untriaged = app.create("噪音扰民").await.case.id;

    // Past both untriaged cases' triage deadlines: the ladder's first rung fires.
    app.clock.set(checks::t(22));
    let rungs = app
        .server
        .store
        .escalate_due(app.clock.now())
        .await
        .unwrap();
    assert_eq!(rungs, 2);

    app.clock.set(checks::t(25));
    let brief = end(&app.operator, "3号床家属晚上会再打来").await;
    assert_eq!(brief.shift.id, shift.id);
    assert_eq!(brief.note, "3号床家属晚上会再打来");
    assert_eq!(checks::rfc(&brief.written_at), checks::at_s(25));
    let ids = |l: &[jieyou::wire::BriefCase]| l.iter().map(|c| c.id).collect::<Vec<_>>();
    // Next deadline first: dispatch at 21:06 + 1 h, the extended case's feedback at 21:08
    // + 4 h, the answered case's follow-up a day after the answer.
    assert_eq!(
        ids(&brief.red_open),
        [red.case.id, extended.case.id, answered.case.id]
    );
    assert_eq!(
        brief.red_open[0].next_deadline.map(|t| checks::rfc(&t)),
        Some(checks::at_s(62))
    );
    assert_eq!(brief.red_open[1].department.as_deref(), Some("卫健局"));
    assert_eq!(ids(&brief.claimed), [red.case.id]);
    assert_eq!(brief.claimed[0].claimed_by.as_deref(), Some("op-li"));
    assert_eq!(ids(&brief.pending_extensions), [extended.case.id]);
    assert!(
        brief.pending_extensions[0]
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("需要施工队") && d.contains("wj-zhang")),
        "{:?}",
        brief.pending_extensions[0].detail
    );
    let asked = brief.pending_extensions[0].extension.as_ref().unwrap();
    assert_eq!(
        (asked.requested_by.as_str(), asked.reason.as_str()),
        ("wj-zhang", "需要施工队")
    );
    assert_eq!(checks::rfc(&asked.until), checks::at_s(4 + 300));
    assert_eq!(ids(&brief.promised), [answered.case.id]);
    assert_eq!(brief.promised[0].status, "resolved");
    assert_eq!(
        brief.promised[0].next_deadline.map(|t| checks::rfc(&t)),
        Some(checks::at_s(3 + 24 * 60))
    );
    assert_eq!(
        brief.promised[0].follow_up_due.map(|t| checks::rfc(&t)),
        Some(checks::at_s(3 + 24 * 60))
    );
    assert_eq!(ids(&brief.escalated), [before, untriaged]);
    assert!(
        brief.escalated[0]
            .detail
            .as_deref()
            .is_some_and(|d| d.starts_with("reminder")),
        "{:?}",
        brief.escalated[0].detail
    );
    assert_eq!(brief.escalated[0].rung.as_deref(), Some("reminder"));
    assert_eq!(brief.escalated[0].rung_clock.as_deref(), Some("triage"));
    assert_eq!(brief.counts.received, 4);
    assert_eq!(brief.counts.answered_online, 1);
    assert_eq!(brief.counts.dispatched, 1);
    assert_eq!(brief.counts.overdue, 2);
    assert_eq!(brief.totals.red_open, 3);
    assert_eq!(brief.totals.escalated, 2);
    assert!(brief.acks.is_empty());

    // Stored as written: later changes leave it alone.
    app.clock.set(checks::t(30));
    app.act(
        &app.operator,
        &checks::fetch(&app, red.case.id).await,
        actions::release(),
    )
    .await
    .unwrap();
    let stored: HandoverBrief = app
        .supervisor
        .get_json(&format!("/api/v1/handovers/{}", brief.id))
        .await
        .unwrap();
    assert_eq!(stored, brief);

    // The next shift sees it, acknowledges it once, and the supervisor sees that.
    app.clock.set(checks::t(31));
    start(&app.operator2).await;
    let waiting: HandoverList = app
        .operator2
        .get_json("/api/v1/handovers?unacknowledged=true")
        .await
        .unwrap();
    assert_eq!(ids_of(&waiting), [brief.id]);
    let own: HandoverList = app
        .operator
        .get_json("/api/v1/handovers?unacknowledged=true")
        .await
        .unwrap();
    assert!(own.handovers.is_empty(), "nobody is handed their own brief");
    let ack_path = format!("/api/v1/handovers/{}/ack", brief.id);
    let acked: HandoverBrief = ok(
        &app.operator2,
        Method::POST,
        &ack_path,
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(acked.acks.len(), 1);
    assert_eq!(acked.acks[0].user, "op-zhao");
    assert_eq!(checks::rfc(&acked.acks[0].at), checks::at_s(31));
    app.clock.set(checks::t(32));
    let again: HandoverBrief = ok(
        &app.operator2,
        Method::POST,
        &ack_path,
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(again.acks, acked.acks, "a repeat keeps the first time");
    let waiting: HandoverList = app
        .operator2
        .get_json("/api/v1/handovers?unacknowledged=true")
        .await
        .unwrap();
    assert!(waiting.handovers.is_empty());
    let recent: HandoverList = app.supervisor.get_json("/api/v1/handovers").await.unwrap();
    assert_eq!(recent.handovers[0].acks, acked.acks);
    refused(
        &app.operator2,
        Method::POST,
        "/api/v1/handovers/999/ack",
        None,
        StatusCode::NOT_FOUND,
    )
    .await;

    report_shift_through_the_binary(&app, brief.id).await;
}

fn ids_of(l: &HandoverList) -> Vec<i64> {
    l.handovers.iter().map(|h| h.id).collect()
}

/// `jieyou report shift` as a user runs it, in both formats and both languages.
async fn report_shift_through_the_binary(app: &TestApp, id: i64) {
    let token = app
        .server
        .store
        .add_user("sup-report", Role::Supervisor, None)
        .await
        .unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_jieyou"))
            .args(["report", "shift"])
            .args(args)
            .args(["--server", &app.server.url(), "--token", &token])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let md = run(&["--last", "--format", "markdown", "--lang", "en"]);
    assert_eq!(md, run(&["--id", &id.to_string(), "--lang", "en"]));
    assert!(md.starts_with("# Shift handover"), "{md}");
    assert!(md.contains("op-li"), "{md}");
    assert!(md.contains("3号床家属晚上会再打来"), "{md}");
    assert!(md.contains("| Received | 4 |"), "{md}");
    assert!(md.contains("op-zhao"), "the acknowledgement: {md}");
    // Statuses and what the brief says of a case are in the reader's language.
    assert!(md.contains("| resolved |"), "{md}");
    assert!(md.contains("reminder (triage clock)"), "{md}");
    assert!(md.contains("wj-zhang asks until"), "{md}");
    assert!(md.contains("follow-up due"), "{md}");
    let zh = run(&["--last", "--lang", "zh-CN"]);
    assert!(zh.starts_with("# 交接班简报"), "{zh}");
    assert!(zh.contains("| 受理 | 4 |"), "{zh}");
    assert!(zh.contains("| 已办结 |"), "{zh}");
    assert!(zh.contains("提醒（分类时限）"), "{zh}");
    assert!(zh.contains("wj-zhang 申请延期至"), "{zh}");
    assert!(zh.contains("回访截止"), "{zh}");
    assert!(!zh.contains("reminder"), "{zh}");
    let html = run(&["--last", "--format", "html", "--lang", "en"]);
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(html.contains("3号床家属晚上会再打来"));
    let out = Command::new(env!("CARGO_BIN_EXE_jieyou"))
        .args(["report", "shift", "--id", "999"])
        .args(["--server", &app.server.url(), "--token", &token])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[tokio::test]
async fn duty_contacts_are_set_validated_shown_and_lapse() {
    let app = spawn_app().await;
    let (a, b) = (app.departments[0].id, app.departments[1].id);
    let path = format!("/api/v1/departments/{a}/duty");
    let until = checks::at_s(60);
    let d: Department = ok(
        &app.dept_a,
        Method::PUT,
        &path,
        Some(json!({ "contacts": [
            { "name": "张医生", "phone": "0570-6012345" },
            { "name": "值班室", "phone": "13900000001", "until": until },
        ] })),
        StatusCode::OK,
    )
    .await;
    assert_eq!(d.on_duty.len(), 2);
    assert_eq!(d.on_duty[1].until.map(|t| checks::rfc(&t)), Some(until));
    let all = app.operator.departments().await.unwrap();
    let names: Vec<&str> = all[0].on_duty.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["张医生", "值班室"]);
    assert!(all[1].on_duty.is_empty());

    // Past `until` a contact is no longer shown.
    app.advance(61);
    let one: Department = app
        .operator
        .get_json(&format!("/api/v1/departments/{a}"))
        .await
        .unwrap();
    let names: Vec<&str> = one.on_duty.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["张医生"]);

    // Another department's roster is not a department user's to set; a supervisor's it is.
    refused(
        &app.dept_a,
        Method::PUT,
        &format!("/api/v1/departments/{b}/duty"),
        Some(json!({ "contacts": [] })),
        StatusCode::FORBIDDEN,
    )
    .await;
    refused(
        &app.operator,
        Method::PUT,
        &path,
        Some(json!({ "contacts": [] })),
        StatusCode::FORBIDDEN,
    )
    .await;
    let p = refused(
        &app.supervisor,
        Method::PUT,
        &path,
        Some(json!({ "contacts": [
            { "name": " ", "phone": "call me" },
            { "name": "李".repeat(41), "phone": "110", "until": checks::at_s(0) },
        ] })),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        fields(&p),
        [
            "contacts[0].name",
            "contacts[0].phone",
            "contacts[1].name",
            "contacts[1].until"
        ]
    );
    let many: Vec<Value> = (0..9)
        .map(|i| json!({ "name": format!("值班{i}"), "phone": "110" }))
        .collect();
    let p = refused(
        &app.supervisor,
        Method::PUT,
        &path,
        Some(json!({ "contacts": many })),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields(&p), ["contacts"]);
    // A refused roster changed nothing; an empty one clears it.
    assert_eq!(
        app.operator.departments().await.unwrap()[0].on_duty.len(),
        1
    );
    // A stale change of the department is told the department as it is, duty included.
    let (status, _, body) = app
        .admin
        .raw(
            Method::PATCH,
            &format!("/api/v1/departments/{a}"),
            &[("content-type", "application/json"), ("if-match", "\"0\"")],
            json!({ "active": false }).to_string().into_bytes(),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    let p: Problem = serde_json::from_slice(&body).unwrap();
    let current = p.current_department.expect("412 carries the department");
    let names: Vec<&str> = current.on_duty.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["张医生"]);
    let d: Department = ok(
        &app.supervisor,
        Method::PUT,
        &path,
        Some(json!({ "contacts": [] })),
        StatusCode::OK,
    )
    .await;
    assert!(d.on_duty.is_empty());
    refused(
        &app.supervisor,
        Method::PUT,
        "/api/v1/departments/999/duty",
        Some(json!({ "contacts": [] })),
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn the_openapi_document_names_the_shift_routes() {
    let app = spawn_app().await;
    let doc: Value = app.operator.get_json("/api/v1/openapi.json").await.unwrap();
    for path in [
        "/api/v1/presence",
        "/api/v1/shifts",
        "/api/v1/shifts/current",
        "/api/v1/shifts/start",
        "/api/v1/shifts/end",
        "/api/v1/shifts/{id}/claims",
        "/api/v1/handovers",
        "/api/v1/handovers/{id}",
        "/api/v1/handovers/{id}/ack",
        "/api/v1/departments/{id}/duty",
    ] {
        assert!(doc["paths"][path].is_object(), "{path}");
    }
    assert_eq!(
        doc["components"]["schemas"]["DutyRoster"]["properties"]["contacts"]["maxItems"],
        8
    );
}

/// `jieyou shift start|status|end` as an operator runs them, with the token in the environment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shift_command_starts_shows_and_ends_a_shift() {
    let app = spawn_app().await;
    let token = app
        .server
        .store
        .add_user("op-cli", Role::Operator, None)
        .await
        .unwrap();
    let url = app.server.url();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_jieyou"))
            .arg("shift")
            .args(args)
            .args(["--server", &url, "--lang", "en"])
            .env("JIEYOU_TOKEN", &token)
            .output()
            .unwrap()
    };
    let text = |out: std::process::Output| {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(text(run(&["status"])), "Not on shift.\n");
    let started = text(run(&["start"]));
    assert!(
        started.starts_with("Shift 1 started at 2022-05-08 21:04"),
        "{started}"
    );
    assert!(text(run(&["status"])).starts_with("On shift 1 since"));
    let again = run(&["start"]);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("op-cli has been on shift 1"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let brief = text(run(&["end", "--note", "交给夜班"]));
    assert!(brief.starts_with("# Shift handover"), "{brief}");
    assert!(brief.contains("> 交给夜班"), "{brief}");
    assert_eq!(text(run(&["status"])), "Not on shift.\n");
}
