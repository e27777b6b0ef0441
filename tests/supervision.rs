//! Supervision on the server, through real HTTP (and the store's `escalate_due` for the ladder,
//! run at the manual clock's time): the escalation ladder of every tier, the return limit and the
//! supervisor's ruling, extension decisions, follow-up calls, and the daily report and hourly
//! statistics computed from the event log.

mod common;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use common::actions::*;
use common::checks::*;
use common::{TestApp, dispatched_red, spawn_app, spawn_app_with};
use jieyou::client::Client;
use jieyou::report::{Counts, DailyReport, HourlyStats};
use jieyou::server::{Clock, ServerConfig};
use jieyou::wire::{
    CaseAction, CaseDetail, ClockKind, DepartmentPatch, Escalation, EscalationStep, Event, Problem,
    Role, Satisfaction, Status, Tier,
};

// ---- time helpers ---------------------------------------------------------------------------

/// Sets the manual clock to `minutes` after the start.
fn goto(app: &TestApp, minutes: i64) {
    app.clock.set(t(minutes));
}

fn set(app: &TestApp, when: DateTime<Utc>) {
    app.clock.set(when);
}

// ---- reading and acting ---------------------------------------------------------------------

/// Acts with the case's current version (fetched fresh), expecting success.
async fn ok(app: &TestApp, who: &Client, id: i64, action: CaseAction) -> CaseDetail {
    let current = fetch(app, id).await;
    let name = action.name();
    app.act(who, &current, action)
        .await
        .unwrap_or_else(|e| panic!("{name} on a {:?} case: {e}", current.case.status))
}

/// Acts, expecting a refusal with `status` whose detail contains `why`; the case is unchanged.
async fn refused(
    app: &TestApp,
    who: &Client,
    id: i64,
    action: CaseAction,
    status: u16,
    why: &str,
) -> Problem {
    let before = fetch(app, id).await;
    let name = action.name();
    let err = app
        .act(who, &before, action)
        .await
        .expect_err(&format!("{name} must be refused"));
    assert_eq!(err.status(), Some(status), "{name}: {err}");
    let p = problem_of(err);
    assert_eq!(p.status, status);
    assert!(
        p.detail.contains(why),
        "{name}: detail {:?} should say {why:?}",
        p.detail
    );
    let after = fetch(app, id).await;
    assert_eq!(after, before, "{name}: a refused action changes nothing");
    p
}

fn has_clock(c: &CaseDetail, clock: ClockKind) -> bool {
    c.case.deadlines.iter().any(|d| d.clock == clock)
}

fn escalations(c: &CaseDetail) -> Vec<&Event> {
    c.events.iter().filter(|e| e.action == "escalate").collect()
}

fn steps(c: &CaseDetail) -> Vec<(String, String)> {
    escalations(c)
        .iter()
        .map(|e| {
            (
                e.payload["clock"].as_str().unwrap_or("?").to_string(),
                e.payload["step"].as_str().unwrap_or("?").to_string(),
            )
        })
        .collect()
}

fn st(clock: &str, step: &str) -> (String, String) {
    (clock.to_string(), step.to_string())
}

fn payload_time(e: &Event, key: &str) -> Option<DateTime<Utc>> {
    e.payload.get(key).and_then(|v| v.as_str()).map(|s| {
        DateTime::parse_from_rfc3339(s)
            .unwrap_or_else(|err| panic!("{key} {s:?} in {}: {err}", e.payload))
            .with_timezone(&Utc)
    })
}

/// Runs the escalation pass at the clock's time; returns how many rungs fired.
async fn pass(app: &TestApp) -> usize {
    app.server
        .store
        .escalate_due(app.clock.now())
        .await
        .expect("escalation pass")
}

/// Runs a pass that must fire nothing and change nothing on case `id`.
async fn nothing_fires(app: &TestApp, id: i64) {
    let before = fetch(app, id).await;
    assert_eq!(pass(app).await, 0, "nothing is due at {}", now_s(app));
    assert_eq!(
        fetch(app, id).await,
        before,
        "case unchanged at {}",
        now_s(app)
    );
}

/// Runs a pass that must fire exactly this rung, once, on case `id`; then runs it again at the
/// same time and checks nothing more fires.
async fn rung_fires(
    app: &TestApp,
    id: i64,
    clock: ClockKind,
    step: EscalationStep,
    due: DateTime<Utc>,
    scheduled: DateTime<Utc>,
    next: Option<(EscalationStep, DateTime<Utc>)>,
) -> CaseDetail {
    let before = fetch(app, id).await;
    assert_eq!(pass(app).await, 1, "{step:?} fires at {}", now_s(app));
    let after = fetch(app, id).await;
    assert_eq!(after.case.version, before.case.version + 1, "version bump");
    assert_eq!(rfc(&after.case.updated_at), now_s(app), "updated_at");
    assert_eq!(
        after.case.status, before.case.status,
        "escalation keeps the status"
    );
    assert_eq!(after.events.len(), before.events.len() + 1, "one event");
    assert_eq!(after.events[..before.events.len()], before.events[..]);
    let ev = after.events.last().unwrap();
    assert_eq!(ev.action, "escalate");
    assert_eq!(ev.actor, "escalation");
    assert_eq!(ev.actor_role, Role::Supervisor);
    assert_eq!(ev.from_status, Some(before.case.status));
    assert_eq!(ev.to_status, Some(before.case.status));
    assert_eq!(rfc(&ev.at), now_s(app), "event time");
    assert_eq!(ev.payload["step"], step.as_str(), "{}", ev.payload);
    assert_eq!(ev.payload["clock"], clock.as_str(), "{}", ev.payload);
    assert_eq!(
        payload_time(ev, "due_at"),
        Some(due),
        "due_at in {}",
        ev.payload
    );
    assert_eq!(
        payload_time(ev, "scheduled_at"),
        Some(scheduled),
        "scheduled_at in {}",
        ev.payload
    );
    assert_eq!(
        ev.payload["next_step"].as_str(),
        next.map(|n| n.0.as_str()),
        "next_step in {}",
        ev.payload
    );
    assert_eq!(
        payload_time(ev, "next_step_at"),
        next.map(|n| n.1),
        "next_step_at in {}",
        ev.payload
    );
    let esc = after
        .case
        .escalation
        .clone()
        .expect("the ladder has started");
    assert_eq!(
        esc,
        Escalation {
            clock,
            step,
            at: app.clock.now().with_timezone(&kaihua()),
            next_step: next.map(|n| n.0),
            next_step_at: next.map(|n| n.1.with_timezone(&kaihua())),
        }
    );
    assert_eq!(rfc(&esc.at), now_s(app), "escalation.at in the desk's zone");
    if let Some(n) = esc.next_step_at {
        assert_eq!(
            rfc(&n),
            local_s(next.unwrap().1),
            "next_step_at in the desk's zone"
        );
    }
    // Running the pass again at the same moment fires nothing more.
    nothing_fires(app, id).await;
    after
}

/// Walks the whole ladder of a breached clock due at `due` with rungs at `offsets` minutes:
/// nothing at `due` itself, the reminder just after, each later rung exactly at its minute and
/// not a second before, then nothing more, ever.
async fn climb(app: &TestApp, id: i64, clock: ClockKind, due: DateTime<Utc>, offsets: [i64; 3]) {
    use EscalationStep::*;
    let m = Duration::minutes;
    let s = Duration::seconds;
    let before = fetch(app, id).await;
    set(app, due);
    nothing_fires(app, id).await;
    set(app, due + s(1));
    rung_fires(
        app,
        id,
        clock,
        Reminder,
        due,
        due + m(offsets[0]),
        Some((UrgingNotice, due + m(offsets[1]))),
    )
    .await;
    set(app, due + m(offsets[1]) - s(1));
    nothing_fires(app, id).await;
    set(app, due + m(offsets[1]));
    rung_fires(
        app,
        id,
        clock,
        UrgingNotice,
        due,
        due + m(offsets[1]),
        Some((SupervisionOffice, due + m(offsets[2]))),
    )
    .await;
    set(app, due + m(offsets[2]) - s(1));
    nothing_fires(app, id).await;
    set(app, due + m(offsets[2]));
    let top = rung_fires(
        app,
        id,
        clock,
        SupervisionOffice,
        due,
        due + m(offsets[2]),
        None,
    )
    .await;
    // Then nothing more, however long it stays unmet.
    for later in [m(offsets[2] + 1), Duration::hours(12), Duration::days(3)] {
        set(app, due + later);
        nothing_fires(app, id).await;
    }
    let after = fetch(app, id).await;
    assert_eq!(
        after.case.status, before.case.status,
        "the case did not move"
    );
    assert_eq!(
        steps(&after)[steps(&before).len()..],
        [
            (clock.as_str().to_string(), "reminder".to_string()),
            (clock.as_str().to_string(), "urging_notice".to_string()),
            (clock.as_str().to_string(), "supervision_office".to_string()),
        ],
        "each rung exactly once"
    );
    assert_eq!(after.case.escalation, top.case.escalation);
}

// ---- 1. the escalation ladder ---------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn red_sign_for_ladder_fires_each_rung_once_at_its_time() {
    let app = spawn_app().await;
    let c = dispatched_red(&app, "透析病人需要转运").await;
    let id = c.case.id;
    // Sign-for: dispatched 21:14, 15 minutes → due 21:29. Rungs at +0 / +15 / +30.
    assert_eq!(rfc(&deadline(&c, ClockKind::SignFor).due_at), at_s(25));
    assert_eq!(c.case.escalation, None);
    nothing_fires(&app, id).await;
    goto(&app, 20);
    nothing_fires(&app, id).await;

    // The change feed sees the escalation.
    let cursor = app.observer.changes(None, None).await.unwrap().cursor;

    goto(&app, 25);
    nothing_fires(&app, id).await;
    assert_eq!(fetch(&app, id).await.case.escalation, None);
    set(&app, t(25) + Duration::seconds(1));
    let after = rung_fires(
        &app,
        id,
        ClockKind::SignFor,
        EscalationStep::Reminder,
        t(25),
        t(25),
        Some((EscalationStep::UrgingNotice, t(40))),
    )
    .await;
    let feed = app.observer.changes(Some(&cursor), None).await.unwrap();
    let in_feed: Vec<_> = feed.cases.iter().filter(|k| k.id == id).collect();
    assert_eq!(in_feed.len(), 1, "the escalated case is in the change feed");
    assert_eq!(in_feed[0].version, after.case.version);
    assert_eq!(in_feed[0].escalation, after.case.escalation);
    // The event shows in GET /cases/{id} for the department that holds the case as well.
    let seen_by_dept = app.dept_a.case(id).await.unwrap();
    assert_eq!(steps(&seen_by_dept), [st("sign_for", "reminder")]);
    assert_eq!(escalations(&after)[0].payload["tier"], "red");
    assert_eq!(
        escalations(&after)[0].payload["department_id"],
        app.departments[0].id
    );

    goto(&app, 39);
    nothing_fires(&app, id).await;
    goto(&app, 40);
    rung_fires(
        &app,
        id,
        ClockKind::SignFor,
        EscalationStep::UrgingNotice,
        t(25),
        t(40),
        Some((EscalationStep::SupervisionOffice, t(55))),
    )
    .await;
    // Still not signed for: the clock keeps running and the ladder keeps climbing.
    goto(&app, 54);
    nothing_fires(&app, id).await;
    goto(&app, 55);
    rung_fires(
        &app,
        id,
        ClockKind::SignFor,
        EscalationStep::SupervisionOffice,
        t(25),
        t(55),
        None,
    )
    .await;
    // Nothing more ever, even past the feedback deadline (01:04) while sign-for stays unmet.
    for m in [56, 120, 241, 600, 3000] {
        goto(&app, m);
        nothing_fires(&app, id).await;
    }
    let last = fetch(&app, id).await;
    assert_eq!(last.case.status, Status::Dispatched);
    assert!(last.case.overdue);
    assert_eq!(
        steps(&last),
        [
            st("sign_for", "reminder"),
            st("sign_for", "urging_notice"),
            st("sign_for", "supervision_office"),
        ]
    );
    let times: Vec<String> = escalations(&last).iter().map(|e| rfc(&e.at)).collect();
    assert_eq!(
        times,
        [local_s(t(25) + Duration::seconds(1)), at_s(40), at_s(55)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn red_ladder_via_climb_helper_and_orange_dispatch_ladder() {
    // Red sign-for (0/15/30) through the generic walk.
    let app = spawn_app().await;
    let c = dispatched_red(&app, "发热儿童需就医").await;
    climb(&app, c.case.id, ClockKind::SignFor, t(25), [0, 15, 30]).await;

    // Orange: triaged at once, never dispatched: the dispatch clock (2 h) breaches at 23:04;
    // rungs at +0 / +30 / +60.
    let app = spawn_app().await;
    let c = app.create("特殊奶粉断货").await;
    let c = app
        .act(&app.operator, &c, triage(Tier::Orange))
        .await
        .unwrap();
    assert_eq!(rfc(&deadline(&c, ClockKind::Dispatch).due_at), at_s(120));
    climb(&app, c.case.id, ClockKind::Dispatch, t(120), [0, 30, 60]).await;
    let last = fetch(&app, c.case.id).await;
    for e in escalations(&last) {
        assert_eq!(e.payload["tier"], "orange");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blue_feedback_ladder() {
    // Blue: triaged and answered nowhere; the feedback clock (3 h) breaches at 00:04 next day;
    // rungs at +0 / +60 / +120.
    let app = spawn_app().await;
    let c = app.create("通行证如何办理").await;
    goto(&app, 1);
    let c = app
        .act(&app.operator, &c, triage(Tier::Blue))
        .await
        .unwrap();
    assert_eq!(rfc(&deadline(&c, ClockKind::Feedback).due_at), at_s(180));
    assert!(!has_clock(&c, ClockKind::Dispatch));
    goto(&app, 179);
    nothing_fires(&app, c.case.id).await;
    climb(&app, c.case.id, ClockKind::Feedback, t(180), [0, 60, 120]).await;
    let last = fetch(&app, c.case.id).await;
    assert_eq!(last.case.status, Status::Triaged);
    for e in escalations(&last) {
        assert_eq!(e.payload["tier"], "blue");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untriaged_triage_ladder() {
    // Untriaged: the triage clock (15 min) breaches at 21:19; the strictest ladder (red's
    // 0/15/30) applies.
    let app = spawn_app().await;
    let c = app.create("孕妇产检无法出村").await;
    assert_eq!(rfc(&deadline(&c, ClockKind::Triage).due_at), at_s(15));
    climb(&app, c.case.id, ClockKind::Triage, t(15), [0, 15, 30]).await;
    let last = fetch(&app, c.case.id).await;
    assert_eq!(last.case.status, Status::New);
    for e in escalations(&last) {
        assert_eq!(e.payload["tier"], serde_json::Value::Null);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_pass_fires_every_rung_it_skipped_once_each() {
    let app = spawn_app().await;
    let c = dispatched_red(&app, "透析病人需要转运").await;
    let id = c.case.id;
    // The pass does not run until 21:49: reminder (21:29) and urging notice (21:44) are both due.
    goto(&app, 45);
    let before = fetch(&app, id).await;
    assert_eq!(pass(&app).await, 2);
    let after = fetch(&app, id).await;
    assert_eq!(
        after.case.version,
        before.case.version + 1,
        "one write per pass"
    );
    assert_eq!(after.events.len(), before.events.len() + 2);
    let evs = escalations(&after);
    assert_eq!(
        steps(&after),
        [st("sign_for", "reminder"), st("sign_for", "urging_notice")]
    );
    for e in &evs {
        assert_eq!(rfc(&e.at), at_s(45), "both fire in this pass");
        assert_eq!(payload_time(e, "due_at"), Some(t(25)));
    }
    assert_eq!(payload_time(evs[0], "scheduled_at"), Some(t(25)));
    assert_eq!(payload_time(evs[1], "scheduled_at"), Some(t(40)));
    assert_eq!(
        after.case.escalation,
        Some(Escalation {
            clock: ClockKind::SignFor,
            step: EscalationStep::UrgingNotice,
            at: at(45),
            next_step: Some(EscalationStep::SupervisionOffice),
            next_step_at: Some(at(55)),
        })
    );
    nothing_fires(&app, id).await;
    goto(&app, 55);
    rung_fires(
        &app,
        id,
        ClockKind::SignFor,
        EscalationStep::SupervisionOffice,
        t(25),
        t(55),
        None,
    )
    .await;

    // A pass that comes after all three rungs fires all three, once.
    let app = spawn_app().await;
    let c = dispatched_red(&app, "发热儿童需就医").await;
    goto(&app, 200);
    assert_eq!(pass(&app).await, 3);
    assert_eq!(pass(&app).await, 0);
    let after = fetch(&app, c.case.id).await;
    assert_eq!(
        steps(&after),
        [
            st("sign_for", "reminder"),
            st("sign_for", "urging_notice"),
            st("sign_for", "supervision_office"),
        ]
    );
    assert_eq!(after.case.version, c.case.version + 1);
    let esc = after.case.escalation.unwrap();
    assert_eq!(esc.step, EscalationStep::SupervisionOffice);
    assert_eq!(esc.next_step, None);
    assert_eq!(esc.next_step_at, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meeting_the_clock_stops_its_ladder_and_a_later_breach_starts_from_the_reminder() {
    let app = spawn_app().await;
    let c = dispatched_red(&app, "透析病人需要转运").await;
    let id = c.case.id;
    set(&app, t(25) + Duration::seconds(1));
    rung_fires(
        &app,
        id,
        ClockKind::SignFor,
        EscalationStep::Reminder,
        t(25),
        t(25),
        Some((EscalationStep::UrgingNotice, t(40))),
    )
    .await;
    // The department signs for at 21:34: the breached clock is met.
    goto(&app, 30);
    let signed = ok(&app, &app.dept_a, id, sign_for()).await;
    assert_eq!(signed.case.status, Status::InProgress);
    assert_eq!(
        signed.case.escalation,
        Some(Escalation {
            clock: ClockKind::SignFor,
            step: EscalationStep::Reminder,
            at: at(25) + Duration::seconds(1),
            next_step: None,
            next_step_at: None,
        }),
        "a met clock has no next rung"
    );
    for m in [40, 55, 100, 240] {
        goto(&app, m);
        nothing_fires(&app, id).await;
    }
    // The feedback clock (4 h, due 01:04) breaches later: a new ladder from the reminder.
    climb(&app, id, ClockKind::Feedback, t(240), [0, 15, 30]).await;
    let last = fetch(&app, id).await;
    assert_eq!(
        steps(&last),
        [
            st("sign_for", "reminder"),
            st("feedback", "reminder"),
            st("feedback", "urging_notice"),
            st("feedback", "supervision_office"),
        ]
    );
    // Resolving meets feedback: the ladder shows where it stopped, with no next rung.
    goto(&app, 400);
    let resolved = ok(&app, &app.dept_a, id, resolve("已安排车辆转运")).await;
    let esc = resolved.case.escalation.unwrap();
    assert_eq!(esc.clock, ClockKind::Feedback);
    assert_eq!(esc.step, EscalationStep::SupervisionOffice);
    assert_eq!(esc.next_step, None);
    goto(&app, 500);
    nothing_fires(&app, id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_sign_for_clock_after_a_return_climbs_the_ladder_from_the_reminder() {
    let app = spawn_app().await;
    let c = dispatched_red(&app, "透析病人需要转运").await;
    let id = c.case.id;
    // The first dispatch's sign-for (due 21:29) is never met: all three rungs fire.
    goto(&app, 60);
    assert_eq!(pass(&app).await, 3);
    // The department returns it; the desk dispatches it again at 22:06: a new sign-for clock,
    // due 22:21, which nobody has breached yet.
    goto(&app, 61);
    ok(&app, &app.dept_a, id, return_case("不属于本部门职责")).await;
    goto(&app, 62);
    let again = ok(&app, &app.operator, id, dispatch(app.departments[1].id)).await;
    assert_eq!(rfc(&deadline(&again, ClockKind::SignFor).due_at), at_s(77));
    goto(&app, 77);
    nothing_fires(&app, id).await;
    // Once the new clock breaches, its ladder starts again from the reminder.
    set(&app, t(77) + Duration::seconds(1));
    rung_fires(
        &app,
        id,
        ClockKind::SignFor,
        EscalationStep::Reminder,
        t(77),
        t(77),
        Some((EscalationStep::UrgingNotice, t(92))),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn red_follow_up_ladder_after_a_resolution() {
    // Red resolved at 22:04 and never followed up: the follow-up clock (24 h) breaches at
    // 2022-05-09 22:04; rungs at +0 / +15 / +30.
    let app = spawn_app().await;
    let c = dispatched_red(&app, "透析病人需要转运").await;
    let id = c.case.id;
    goto(&app, 12);
    ok(&app, &app.dept_a, id, sign_for()).await;
    goto(&app, 60);
    let r = ok(&app, &app.dept_a, id, resolve("已安排车辆转运")).await;
    assert_eq!(rfc(&deadline(&r, ClockKind::FollowUp).due_at), at_s(1500));
    goto(&app, 1000);
    nothing_fires(&app, id).await;
    climb(&app, id, ClockKind::FollowUp, t(1500), [0, 15, 30]).await;
    // The follow-up call meets it and closes the case: the ladder stops there.
    goto(&app, 6000);
    let closed = ok(
        &app,
        &app.supervisor,
        id,
        follow_up(Satisfaction::Satisfied),
    )
    .await;
    let esc = closed.case.escalation.unwrap();
    assert_eq!(esc.clock, ClockKind::FollowUp);
    assert_eq!(esc.step, EscalationStep::SupervisionOffice);
    assert_eq!(esc.next_step, None);
    nothing_fires(&app, id).await;
}

// ---- 2. the return limit --------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_returned_more_than_max_returns_waits_for_a_supervisors_ruling() {
    let app = spawn_app().await;
    assert_eq!(app.observer.policy().await.unwrap().max_returns, 2);
    let dept_a = app.departments[0].id;
    let dept_b = app.departments[1].id;
    let c = dispatched_red(&app, "透析病人需要转运").await;
    let id = c.case.id;
    let mut minute = 10;
    for n in 1..=3 {
        minute += 2;
        goto(&app, minute);
        let r = ok(&app, &app.dept_a, id, return_case("不属于本部门职责")).await;
        assert_eq!(r.case.status, Status::Triaged);
        assert_eq!(r.case.return_count, n);
        assert_eq!(r.case.awaiting_ruling, n > 2, "after return {n}");
        if n < 3 {
            minute += 1;
            goto(&app, minute);
            let d = ok(&app, &app.operator, id, dispatch(dept_a)).await;
            assert_eq!(d.case.status, Status::Dispatched);
            assert!(!d.case.awaiting_ruling);
        }
    }
    // The operator may not dispatch it again: a supervisor must rule.
    let p = refused(&app, &app.operator, id, dispatch(dept_b), 409, "supervisor").await;
    assert!(p.detail.contains('3'), "names the count: {:?}", p.detail);
    refused(
        &app,
        &app.operator2,
        id,
        dispatch(dept_a),
        409,
        "supervisor",
    )
    .await;
    // The supervisor's dispatch succeeds and clears it.
    goto(&app, minute + 5);
    let ruled = ok(&app, &app.supervisor, id, dispatch(dept_b)).await;
    assert_eq!(ruled.case.status, Status::Dispatched);
    assert_eq!(ruled.case.department_id, Some(dept_b));
    assert!(!ruled.case.awaiting_ruling);
    assert_eq!(ruled.case.return_count, 3);
    let ev = ruled.events.last().unwrap();
    assert_eq!(ev.action, "dispatch");
    assert_eq!(ev.actor, "sup-chen");
    let stored = fetch(&app, id).await;
    assert_eq!(stored.case, ruled.case);
    assert_eq!(stored.events.last(), Some(ev));
}

// ---- 3. extensions --------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extension_approve_moves_the_feedback_deadline_and_deny_does_not() {
    let app = spawn_app().await;
    let c = dispatched_red(&app, "透析病人需要转运").await;
    let id = c.case.id;
    goto(&app, 12);
    ok(&app, &app.dept_a, id, sign_for()).await;
    assert_eq!(
        rfc(&deadline(&fetch(&app, id).await, ClockKind::Feedback).due_at),
        at_s(240)
    );

    goto(&app, 60);
    let r = ok(
        &app,
        &app.dept_a,
        id,
        request_extension(at(300), "等待转运车辆"),
    )
    .await;
    let pending = r.case.pending_extension.clone().expect("pending");
    assert_eq!(rfc(&pending.until), at_s(300));
    assert_eq!(pending.requested_by, "wj-zhang");
    assert_eq!(
        rfc(&deadline(&r, ClockKind::Feedback).due_at),
        at_s(240),
        "not yet moved"
    );
    // A second request while one is pending.
    refused(
        &app,
        &app.dept_a,
        id,
        request_extension(at(330), "再延"),
        409,
        "pending",
    )
    .await;
    goto(&app, 65);
    let approved = ok(&app, &app.supervisor, id, decide_extension(true)).await;
    assert_eq!(approved.case.extension_count, 1);
    assert_eq!(approved.case.pending_extension, None);
    assert_eq!(
        rfc(&deadline(&approved, ClockKind::Feedback).due_at),
        at_s(300)
    );
    assert_eq!(approved.events.last().unwrap().payload["approve"], true);

    goto(&app, 70);
    ok(
        &app,
        &app.dept_a,
        id,
        request_extension(at(420), "再延一次"),
    )
    .await;
    goto(&app, 75);
    let denied = ok(&app, &app.supervisor, id, decide_extension(false)).await;
    assert_eq!(denied.case.extension_count, 1, "deny does not count");
    assert_eq!(denied.case.pending_extension, None);
    assert_eq!(
        rfc(&deadline(&denied, ClockKind::Feedback).due_at),
        at_s(300)
    );
    assert_eq!(denied.events.last().unwrap().payload["approve"], false);
    refused(
        &app,
        &app.supervisor,
        id,
        decide_extension(true),
        409,
        "no extension",
    )
    .await;

    // The escalation ladder follows the moved deadline: nothing at the old one.
    goto(&app, 250);
    nothing_fires(&app, id).await;
    set(&app, t(300) + Duration::seconds(1));
    rung_fires(
        &app,
        id,
        ClockKind::Feedback,
        EscalationStep::Reminder,
        t(300),
        t(300),
        Some((EscalationStep::UrgingNotice, t(315))),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_extension_must_move_the_feedback_deadline_later() {
    let app = spawn_app().await;
    let c = dispatched_red(&app, "透析病人需要转运").await;
    let id = c.case.id;
    goto(&app, 12);
    ok(&app, &app.dept_a, id, sign_for()).await;
    goto(&app, 60);
    // Feedback is due 01:04; an "extension" to 22:30 would pull it earlier.
    let before = fetch(&app, id).await;
    assert_eq!(
        rfc(&deadline(&before, ClockKind::Feedback).due_at),
        at_s(240)
    );
    let err = app
        .act(&app.dept_a, &before, request_extension(at(86), "提前"))
        .await
        .expect_err("an extension earlier than the current deadline is refused");
    assert_eq!(err.status(), Some(422), "{err}");
    let p = problem_of(err);
    assert_eq!(
        p.errors.first().map(|e| e.field.as_str()),
        Some("until"),
        "{p:?}"
    );
    assert_eq!(fetch(&app, id).await, before, "nothing changed");
}

// ---- 4. follow-up ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn red_cases_need_a_follow_up_and_dissatisfied_reopens_with_history() {
    let app = spawn_app().await;
    let dept_a = app.departments[0].id;
    let c = app.create("透析病人需要转运").await;
    assert!(!c.case.follow_up_required);
    goto(&app, 5);
    let c = ok(&app, &app.operator, c.case.id, triage(Tier::Red)).await;
    let id = c.case.id;
    assert!(c.case.follow_up_required, "red needs a follow-up call");
    goto(&app, 10);
    ok(&app, &app.operator, id, dispatch(dept_a)).await;
    goto(&app, 15);
    ok(&app, &app.dept_a, id, sign_for()).await;
    goto(&app, 60);
    let resolved = ok(&app, &app.dept_a, id, resolve("已安排车辆转运")).await;
    let fu = deadline(&resolved, ClockKind::FollowUp);
    assert_eq!(
        rfc(&fu.due_at),
        at_s(60 + 24 * 60),
        "follow-up 24 h after resolution"
    );
    assert_eq!(fu.met_at, None);
    assert!(!fu.breached);

    goto(&app, 70);
    refused(&app, &app.operator, id, close(), 409, "follow-up").await;
    refused(&app, &app.supervisor, id, close(), 409, "follow-up").await;

    goto(&app, 120);
    let before = fetch(&app, id).await;
    let back = ok(
        &app,
        &app.supervisor,
        id,
        follow_up(Satisfaction::Dissatisfied),
    )
    .await;
    assert_eq!(
        back.case.status,
        Status::Dispatched,
        "back to its department"
    );
    assert_eq!(back.case.department_id, Some(dept_a));
    assert_eq!(back.case.resolved_at, None);
    assert_eq!(back.case.satisfaction, Some(Satisfaction::Dissatisfied));
    assert!(back.case.follow_up_required);
    let back = fetch(&app, id).await;
    assert_eq!(back.events.len(), before.events.len() + 1, "history kept");
    assert_eq!(back.events[..before.events.len()], before.events[..]);
    let ev = back.events.last().unwrap();
    assert_eq!(ev.action, "follow-up");
    assert_eq!(ev.from_status, Some(Status::Resolved));
    assert_eq!(ev.to_status, Some(Status::Dispatched));
    assert_eq!(ev.payload["result"], "dissatisfied");
    assert!(
        !has_clock(&back, ClockKind::FollowUp),
        "no follow-up clock until resolved again"
    );
    assert_eq!(rfc(&deadline(&back, ClockKind::SignFor).due_at), at_s(135));
    // The department sees it again.
    assert_eq!(app.dept_a.case(id).await.unwrap(), back);

    goto(&app, 125);
    ok(&app, &app.dept_a, id, sign_for()).await;
    goto(&app, 200);
    let again = ok(&app, &app.dept_a, id, resolve("已再次协调")).await;
    assert_eq!(
        rfc(&deadline(&again, ClockKind::FollowUp).due_at),
        at_s(200 + 24 * 60)
    );
    refused(&app, &app.operator, id, close(), 409, "follow-up").await;
    goto(&app, 300);
    let closed = ok(
        &app,
        &app.supervisor,
        id,
        follow_up(Satisfaction::Satisfied),
    )
    .await;
    assert_eq!(closed.case.status, Status::Closed);
    assert_eq!(closed.case.satisfaction, Some(Satisfaction::Satisfied));
    assert_eq!(closed.case.closed_at.as_ref().map(rfc), Some(at_s(300)));
    assert_eq!(
        deadline(&closed, ClockKind::FollowUp)
            .met_at
            .as_ref()
            .map(rfc),
        Some(at_s(300))
    );
    let closed = fetch(&app, id).await;
    let kinds: Vec<&str> = closed.events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "received",
            "triage",
            "dispatch",
            "sign-for",
            "resolve",
            "follow-up",
            "sign-for",
            "resolve",
            "follow-up"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mark_follow_up_makes_a_blue_case_require_one() {
    let app = spawn_app().await;
    let dept_a = app.departments[0].id;
    // Control: an unmarked blue case closes without a follow-up call.
    let plain = app.create("询问返乡隔离政策").await;
    ok(&app, &app.operator, plain.case.id, triage(Tier::Blue)).await;
    let answered = ok(
        &app,
        &app.operator,
        plain.case.id,
        answer_online("请见政策"),
    )
    .await;
    assert!(!answered.case.follow_up_required);
    assert!(!has_clock(&answered, ClockKind::FollowUp));
    let closed = ok(&app, &app.operator, plain.case.id, close()).await;
    assert_eq!(closed.case.status, Status::Closed);

    let c = app.create("通行证如何办理").await;
    let id = c.case.id;
    let c = ok(&app, &app.operator, id, triage(Tier::Blue)).await;
    assert!(!c.case.follow_up_required);
    goto(&app, 2);
    let marked = ok(&app, &app.operator, id, mark_follow_up()).await;
    assert!(marked.case.follow_up_required);
    assert_eq!(marked.case.version, c.case.version + 1);
    assert_eq!(marked.events.last().unwrap().action, "mark-follow-up");
    refused(&app, &app.supervisor, id, mark_follow_up(), 409, "already").await;
    refused(&app, &app.observer, id, mark_follow_up(), 403, "observer").await;
    goto(&app, 5);
    ok(&app, &app.operator, id, dispatch(dept_a)).await;
    ok(&app, &app.dept_a, id, sign_for()).await;
    goto(&app, 30);
    let resolved = ok(&app, &app.dept_a, id, resolve("已办理")).await;
    assert_eq!(
        rfc(&deadline(&resolved, ClockKind::FollowUp).due_at),
        at_s(30 + 24 * 60)
    );
    refused(&app, &app.operator, id, close(), 409, "follow-up").await;
    let done = ok(
        &app,
        &app.supervisor,
        id,
        follow_up(Satisfaction::FairlySatisfied),
    )
    .await;
    assert_eq!(done.case.status, Status::Closed);
    assert_eq!(done.case.satisfaction, Some(Satisfaction::FairlySatisfied));
}

// ---- 5. the daily report --------------------------------------------------------------------

const DAY: &str = "/api/v1/reports/daily?date=2022-05-08";

fn counts(
    received: u64,
    answered_online: u64,
    dispatched: u64,
    resolved: u64,
    closed: u64,
) -> Counts {
    Counts {
        received,
        answered_online,
        dispatched,
        resolved,
        closed,
    }
}

/// Every case by id from 1 until the first 404, as the observer.
async fn every_case(app: &TestApp) -> Vec<CaseDetail> {
    let mut out = vec![];
    for id in 1.. {
        match app.observer.case(id).await {
            Ok(c) => out.push(c),
            Err(e) if e.status() == Some(404) => break,
            Err(e) => panic!("case {id}: {e}"),
        }
    }
    out
}

fn on_day(e: &Event, date: NaiveDate) -> bool {
    e.at.with_timezone(&kaihua()).date_naive() == date
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daily_report_is_computed_from_events_and_never_changes_afterwards() {
    // Blue feedback in one hour, so a blue case can be resolved late within the evening.
    let mut config = ServerConfig::default();
    config.policy.blue.feedback_minutes = 60;
    let app = spawn_app_with(config).await;
    let dept_a = app.departments[0].id;
    let dept_b = app.departments[1].id;

    // 2022-05-08, local (Asia/Shanghai) times.
    let a = app.create("透析病人需要转运").await.case.id; // 21:04
    goto(&app, 1);
    let cb = app.create("通行证如何办理").await.case.id; // 21:05 (blue, late)
    goto(&app, 2);
    ok(&app, &app.operator, a, triage(Tier::Red)).await; // 21:06
    goto(&app, 3);
    ok(&app, &app.operator, cb, triage(Tier::Blue)).await; // 21:07
    goto(&app, 6);
    ok(&app, &app.operator, a, dispatch(dept_a)).await; // 21:10
    goto(&app, 8);
    ok(&app, &app.operator, cb, dispatch(dept_b)).await; // 21:12, sign-for due 21:42
    goto(&app, 16);
    ok(&app, &app.dept_a, a, sign_for()).await; // 21:20, 10 min, on time
    goto(&app, 26);
    let o = app.create("特殊奶粉断货").await.case.id; // 21:30
    goto(&app, 28);
    ok(&app, &app.operator, o, triage(Tier::Orange)).await; // 21:32
    goto(&app, 36);
    ok(&app, &app.operator, o, answer_online("已联系供货渠道")).await; // 21:40, on time
    goto(&app, 41);
    let dup = app.create("透析病人需要转运(重复)").await.case.id; // 21:45
    goto(&app, 46);
    ok(&app, &app.operator, dup, merge(a)).await; // 21:50
    assert_eq!(pass(&app).await, 1, "blue sign-for reminder at 21:50"); // escalation
    goto(&app, 51);
    ok(&app, &app.dept_b, cb, sign_for()).await; // 21:55, 43 min, late
    goto(&app, 56);
    ok(&app, &app.dept_a, a, resolve("已安排车辆")).await; // 22:00, on time (due 01:04)
    goto(&app, 86);
    let late = ok(&app, &app.dept_b, cb, resolve("已办理")).await; // 22:30, due 22:05: late
    assert!(deadline(&late, ClockKind::Feedback).breached);
    goto(&app, 166);
    let d = app.create("发热儿童需就医").await.case.id; // 23:50, stays open
    assert_eq!(
        rfc(&fetch(&app, d).await.case.received_at),
        "2022-05-08T23:50:00+08:00"
    );

    // Still on the evening of the 8th: the report so far.
    goto(&app, 170);
    let json: DailyReport = app.supervisor.get_json(DAY).await.unwrap();
    let md = app.supervisor.get_text(DAY, "text/markdown").await.unwrap();
    let csv = app.observer.get_text(DAY, "text/csv").await.unwrap();
    // Without a date: today in the desk's zone (23:54 local, 15:54 UTC).
    let today: DailyReport = app
        .supervisor
        .get_json("/api/v1/reports/daily")
        .await
        .unwrap();
    assert_eq!(today, json);

    assert_eq!(json.date, "2022-05-08");
    assert_eq!(json.time_zone, "Asia/Shanghai");
    assert_eq!(json.desk_name, "开化县求助平台");
    assert_eq!(json.totals, counts(5, 1, 2, 2, 1));
    assert_eq!(json.returns, 0);
    assert_eq!(json.extensions_requested, 0);
    assert_eq!(json.extensions_approved, 0);
    assert_eq!(json.urges, 0);
    assert_eq!(json.escalations, 1);
    let arr = &json.arrivals;
    assert_eq!(
        (
            arr.received,
            arr.answered_online,
            arr.dispatched,
            arr.merged,
            arr.still_open
        ),
        (5, 1, 2, 1, 1)
    );
    assert_eq!(
        arr.received,
        arr.answered_online + arr.dispatched + arr.merged + arr.still_open
    );
    let tiers: Vec<(&str, u64, u64, u64)> = json
        .by_tier
        .iter()
        .map(|r| (r.tier.as_str(), r.resolved, r.on_time, r.overdue))
        .collect();
    assert_eq!(
        tiers,
        [
            ("red", 1, 1, 0),
            ("orange", 1, 1, 0),
            ("blue", 1, 0, 1),
            ("untriaged", 0, 0, 0)
        ]
    );
    assert_eq!(json.by_department.len(), 2);
    let ra = &json.by_department[0];
    assert_eq!(ra.department_id, dept_a);
    assert_eq!(ra.name, "卫健局");
    assert_eq!(
        (
            ra.dispatched,
            ra.signed_for,
            ra.signed_late,
            ra.resolved,
            ra.resolved_on_time,
            ra.resolved_late,
            ra.returns
        ),
        (1, 1, 0, 1, 1, 0, 0)
    );
    assert_eq!(ra.avg_minutes_to_sign, Some(10.0));
    let rb = &json.by_department[1];
    assert_eq!(rb.department_id, dept_b);
    assert_eq!(rb.name, "交通运输局");
    assert_eq!(
        (
            rb.dispatched,
            rb.signed_for,
            rb.signed_late,
            rb.resolved,
            rb.resolved_on_time,
            rb.resolved_late,
            rb.returns
        ),
        (1, 1, 1, 1, 0, 1, 0)
    );
    assert_eq!(rb.avg_minutes_to_sign, Some(43.0));
    assert_eq!(
        (
            json.follow_up.satisfied,
            json.follow_up.fairly_satisfied,
            json.follow_up.dissatisfied
        ),
        (0, 0, 0)
    );
    // 24 local hours of the 8th; the 23:50 arrival is in the 23:00 row.
    assert_eq!(json.hourly.len(), 24);
    for (h, row) in json.hourly.iter().enumerate() {
        assert_eq!(rfc(&row.start), format!("2022-05-08T{h:02}:00:00+08:00"));
        let expected = match h {
            21 => counts(4, 1, 2, 0, 1),
            22 => counts(0, 0, 0, 2, 0),
            23 => counts(1, 0, 0, 0, 0),
            _ => Counts::default(),
        };
        assert_eq!(row.counts, expected, "hour {h:02}");
    }

    // CSV: tidy, one number a line.
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "section,key,metric,value");
    for want in [
        "totals,2022-05-08,received,5",
        "totals,2022-05-08,answered_online,1",
        "totals,2022-05-08,dispatched,2",
        "totals,2022-05-08,resolved,2",
        "totals,2022-05-08,closed,1",
        "totals,2022-05-08,escalations,1",
        "arrivals,2022-05-08,received,5",
        "arrivals,2022-05-08,merged,1",
        "arrivals,2022-05-08,still_open,1",
        "tier,red,on_time,1",
        "tier,blue,overdue,1",
        "tier,blue,on_time,0",
        "department,卫健局,avg_minutes_to_sign,10.0",
        "department,交通运输局,signed_late,1",
        "department,交通运输局,resolved_late,1",
        "hourly,23:00,received,1",
        "hourly,21:00,received,4",
        "hourly,22:00,resolved,2",
        "hourly,00:00,received,0",
    ] {
        assert!(lines.contains(&want), "CSV line {want:?} in\n{csv}");
    }
    for l in &lines {
        assert_eq!(l.split(',').count(), 4, "four columns: {l:?}");
    }
    // Markdown.
    for want in [
        "# 开化县求助平台 每日工作报告 · Daily report 2022-05-08",
        "5 received = 1 answered online + 2 dispatched + 1 merged as duplicates + 1 still open.",
        "| 23:00 | 1 | 0 | 0 |",
        "| 21:00 | 4 | 1 | 2 |",
        "| 22:00 | 0 | 2 | 0 |",
        "| 卫健局 | 1 | 1 | 0 | 10.0 | 1 | 1 | 0 | 0 |",
    ] {
        assert!(md.contains(want), "Markdown {want:?} in\n{md}");
    }

    // The hourly statistics endpoint for 21:00–24:00 local: three rows.
    let hourly_path =
        "/api/v1/stats/hourly?from=2022-05-08T21:00:00%2B08:00&to=2022-05-09T00:00:00%2B08:00";
    let hourly: HourlyStats = app.observer.get_json(hourly_path).await.unwrap();
    assert_eq!(hourly.time_zone, "Asia/Shanghai");
    let rows: Vec<(String, Counts)> = hourly
        .hours
        .iter()
        .map(|r| (rfc(&r.start), r.counts.clone()))
        .collect();
    assert_eq!(
        rows,
        [
            (
                "2022-05-08T21:00:00+08:00".to_string(),
                counts(4, 1, 2, 0, 1)
            ),
            (
                "2022-05-08T22:00:00+08:00".to_string(),
                counts(0, 0, 0, 2, 0)
            ),
            (
                "2022-05-08T23:00:00+08:00".to_string(),
                counts(1, 0, 0, 0, 0)
            ),
        ]
    );

    // Half an hour after local midnight (still the 8th in UTC): a new arrival, which belongs to
    // the 9th's report, not the 8th's.
    goto(&app, 206); // 2022-05-09 00:30 +08:00 = 2022-05-08 16:30 UTC
    let f = app.create("询问返乡隔离政策").await.case.id;
    assert_eq!(
        rfc(&fetch(&app, f).await.case.received_at),
        "2022-05-09T00:30:00+08:00"
    );
    // Local midnight has passed (16:30 UTC is still the 8th in UTC): today is the 9th.
    let today: DailyReport = app
        .supervisor
        .get_json("/api/v1/reports/daily")
        .await
        .unwrap();
    assert_eq!(today.date, "2022-05-09");
    assert_eq!(today.totals.received, 1);

    // The next day: later changes to the same cases, and a department renamed.
    goto(&app, 716); // 2022-05-09 09:00
    ok(&app, &app.operator, a, retier(Tier::Orange)).await;
    ok(&app, &app.supervisor, a, follow_up(Satisfaction::Satisfied)).await;
    ok(&app, &app.operator, cb, mark_follow_up()).await;
    ok(
        &app,
        &app.supervisor,
        cb,
        follow_up(Satisfaction::Dissatisfied),
    )
    .await;
    ok(&app, &app.dept_b, cb, return_case("需卫健局协同")).await;
    ok(&app, &app.operator, d, triage(Tier::Red)).await;
    ok(&app, &app.operator, d, dispatch(dept_a)).await;
    goto(&app, 730);
    ok(&app, &app.dept_a, d, sign_for()).await;
    ok(&app, &app.dept_a, d, resolve("已送医")).await;
    ok(&app, &app.supervisor, o, reopen("群众反映未解决")).await;
    ok(&app, &app.operator, o, retier(Tier::Red)).await;
    assert!(pass(&app).await > 0, "next-day escalations happen too");
    let renamed = app
        .admin
        .patch_department(
            dept_a,
            1,
            &DepartmentPatch {
                name: Some("卫生健康局".into()),
                kind: None,
                active: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.name, "卫生健康局");
    goto(&app, 2000); // 2022-05-10

    let json2: DailyReport = app.supervisor.get_json(DAY).await.unwrap();
    assert_eq!(
        json2, json,
        "the 8th's report is computed from the 8th's events"
    );
    assert_eq!(
        app.supervisor.get_text(DAY, "text/markdown").await.unwrap(),
        md
    );
    assert_eq!(app.observer.get_text(DAY, "text/csv").await.unwrap(), csv);
    let hourly2: HourlyStats = app.observer.get_json(hourly_path).await.unwrap();
    assert_eq!(hourly2, hourly);

    // Reconcile with the events, counted independently from every case's timeline.
    let date = NaiveDate::from_ymd_opt(2022, 5, 8).unwrap();
    let cases = every_case(&app).await;
    assert_eq!(cases.len(), 6);
    let day_events: Vec<&Event> = cases
        .iter()
        .flat_map(|c| c.events.iter())
        .filter(|e| on_day(e, date))
        .collect();
    let count = |action: &str| day_events.iter().filter(|e| e.action == action).count() as u64;
    assert_eq!(count("received"), 5);
    assert_eq!(json2.totals.received, count("received"));
    assert_eq!(json2.arrivals.received, count("received"));
    assert_eq!(json2.totals.answered_online, count("answer-online"));
    assert_eq!(json2.totals.dispatched, count("dispatch"));
    assert_eq!(json2.totals.resolved, count("resolve"));
    assert_eq!(json2.escalations, count("escalate"));
    assert_eq!(json2.returns, count("return"));
    let closings = day_events
        .iter()
        .filter(|e| e.to_status == Some(Status::Closed) && e.from_status != Some(Status::Closed))
        .count() as u64;
    assert_eq!(json2.totals.closed, closings);
    let received_at_23 = day_events
        .iter()
        .filter(|e| {
            e.action == "received" && e.at.with_timezone(&kaihua()).format("%H").to_string() == "23"
        })
        .count() as u64;
    assert_eq!(json2.hourly[23].counts.received, received_at_23);
    // The next day's report does see the next day's work.
    let next: DailyReport = app
        .supervisor
        .get_json("/api/v1/reports/daily?date=2022-05-09")
        .await
        .unwrap();
    assert_eq!(next.totals.received, 1);
    assert_eq!(next.arrivals.received, 1);
    assert_eq!(
        next.hourly[0].counts.received, 1,
        "00:30 local is the 9th's 00:00 row"
    );
    assert_eq!(rfc(&next.hourly[0].start), "2022-05-09T00:00:00+08:00");
    assert_eq!(next.returns, 1);
    assert_eq!(next.totals.dispatched, 1);
    assert_eq!(next.follow_up.satisfied, 1);
    assert_eq!(next.follow_up.dissatisfied, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_past_days_report_keeps_department_names_after_a_rename() {
    let app = spawn_app().await;
    let dept_a = app.departments[0].id;
    // Dispatched on the 8th (21:14); signed for and resolved on the 9th.
    let c = dispatched_red(&app, "透析病人需要转运").await;
    goto(&app, 236); // 2022-05-09 01:00
    ok(&app, &app.dept_a, c.case.id, sign_for()).await;
    goto(&app, 240);
    ok(&app, &app.dept_a, c.case.id, resolve("已安排车辆")).await;
    goto(&app, 1000);
    let path = "/api/v1/reports/daily?date=2022-05-09";
    let before: DailyReport = app.supervisor.get_json(path).await.unwrap();
    assert_eq!(before.by_department.len(), 1);
    assert_eq!(before.by_department[0].department_id, dept_a);
    assert_eq!(before.by_department[0].name, "卫健局");
    assert_eq!(before.by_department[0].signed_for, 1);
    assert_eq!(before.by_department[0].resolved, 1);
    let csv_before = app.supervisor.get_text(path, "text/csv").await.unwrap();
    app.admin
        .patch_department(
            dept_a,
            1,
            &DepartmentPatch {
                name: Some("卫生健康局".into()),
                kind: None,
                active: None,
            },
        )
        .await
        .unwrap();
    let after: DailyReport = app.supervisor.get_json(path).await.unwrap();
    assert_eq!(
        after, before,
        "renaming a department rewrote a past day's report"
    );
    assert_eq!(
        app.supervisor.get_text(path, "text/csv").await.unwrap(),
        csv_before
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_and_statistics_are_refused_to_departments_and_intake() {
    let app = spawn_app().await;
    app.create("透析病人需要转运").await;
    let hourly =
        "/api/v1/stats/hourly?from=2022-05-08T21:00:00%2B08:00&to=2022-05-09T00:00:00%2B08:00";
    for (who, name) in [(&app.dept_a, "department"), (&app.intake, "intake")] {
        let e = who.get_json::<DailyReport>(DAY).await.unwrap_err();
        assert_eq!(e.status(), Some(403), "{name} JSON report: {e}");
        let e = who.get_text(DAY, "text/csv").await.unwrap_err();
        assert_eq!(e.status(), Some(403), "{name} CSV report: {e}");
        let e = who.get_text(DAY, "text/markdown").await.unwrap_err();
        assert_eq!(e.status(), Some(403), "{name} Markdown report: {e}");
        let e = who.get_json::<HourlyStats>(hourly).await.unwrap_err();
        assert_eq!(e.status(), Some(403), "{name} hourly: {e}");
    }
    for who in [&app.operator, &app.supervisor, &app.observer, &app.admin] {
        let r: DailyReport = who.get_json(DAY).await.unwrap();
        assert_eq!(r.totals.received, 1);
        let h: HourlyStats = who.get_json(hourly).await.unwrap();
        assert_eq!(h.hours.len(), 3);
        assert_eq!(h.hours[0].counts.received, 1);
    }
}
