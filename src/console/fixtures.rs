//! Fixed data for tests, snapshots and the benchmark: a clock frozen at 21:14:07 desk time,
//! a known server-clock offset, departments and cases like design.md's sketch.

use chrono::{DateTime, Duration, FixedOffset, Offset, TimeZone, Utc};
use serde_json::json;

use super::action::{Action, Session};
use super::app::App;
use super::command::Keymap;
use super::config::{Config, Overrides};
use super::i18n::{I18n, Lang};
use crate::wire::{
    Case, CaseDetail, Changes, Channel, ClockKind, Deadline, Department, DepartmentKind,
    Escalation, EscalationStep, Event, Location, Me, NextDue, Policy, Requester, Role, Status,
    Tier,
};

/// The workstation's clock in every fixture: 2022-05-08 21:14:07 in the desk's zone.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2022, 5, 8, 13, 14, 7)
        .single()
        .unwrap_or_default()
}

/// The server runs this far ahead of the workstation.
pub const SERVER_AHEAD_SECONDS: i64 = 2;

pub fn zone() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| Utc.fix())
}

fn at(t: DateTime<Utc>) -> DateTime<FixedOffset> {
    t.with_timezone(&zone())
}

fn server_now() -> DateTime<Utc> {
    now() + Duration::seconds(SERVER_AHEAD_SECONDS)
}

pub fn departments() -> Vec<Department> {
    let d = |id, name: &str, kind| Department {
        id,
        name: name.into(),
        kind,
        active: true,
        version: 1,
        on_duty: Vec::new(),
    };
    vec![
        d(1, "马金镇", DepartmentKind::Township),
        d(2, "华埠镇", DepartmentKind::Township),
        d(3, "卫健局", DepartmentKind::Bureau),
        d(4, "商务局", DepartmentKind::Bureau),
        d(5, "交通运输局", DepartmentKind::Bureau),
        d(6, "池淮镇", DepartmentKind::Township),
        d(7, "保供专班", DepartmentKind::Squad),
        d(8, "县人民医院", DepartmentKind::Hospital),
    ]
}

pub fn me() -> Me {
    Me {
        name: "op-li".into(),
        role: Role::Operator,
        department_id: None,
        desk_name: "开化县求助平台".into(),
        time_zone: "Asia/Shanghai".into(),
    }
}

/// A case whose next deadline is `due_in` seconds from the server's now.
#[allow(clippy::too_many_arguments)]
pub fn case(
    id: i64,
    tier: Option<Tier>,
    status: Status,
    due_in: i64,
    title: &str,
    town: &str,
    department_id: Option<i64>,
    claimed_by: Option<&str>,
) -> Case {
    let received = server_now() - Duration::minutes(40 + id);
    let due = server_now() + Duration::seconds(due_in);
    let clock = match status {
        Status::New => ClockKind::Triage,
        Status::Triaged => ClockKind::Dispatch,
        Status::Dispatched => ClockKind::SignFor,
        _ => ClockKind::Feedback,
    };
    let mut deadlines = vec![Deadline {
        clock: ClockKind::Triage,
        due_at: at(received + Duration::minutes(15)),
        met_at: (status != Status::New).then(|| at(received + Duration::minutes(5))),
        breached: false,
    }];
    if clock != ClockKind::Triage {
        deadlines.push(Deadline {
            clock,
            due_at: at(due),
            met_at: None,
            breached: due_in < 0,
        });
    }
    Case {
        id,
        reference: format!("KH-20220508-{id:04}"),
        version: 1,
        channel: Channel::Hotline12345,
        category: "medical_transport".into(),
        title: title.into(),
        description: "78岁尿毒症患者需定期血透，小区封控无法出行，家属请求协助安排转运车辆。"
            .into(),
        requester: Requester {
            name: "葛先生".into(),
            phone: "138****0000".into(),
        },
        location: Location {
            town: town.into(),
            address: "下庄村".into(),
            lat: None,
            long: None,
        },
        tier,
        status,
        department_id,
        claimed_by: claimed_by.map(str::to_string),
        received_at: at(received),
        triaged_at: None,
        dispatched_at: None,
        signed_at: None,
        resolved_at: None,
        closed_at: None,
        updated_at: at(received),
        deadlines,
        next_due: Some(NextDue {
            clock,
            due_at: at(due),
        }),
        overdue: due_in < 0,
        return_count: 0,
        extension_count: 0,
        urge_count: 0,
        pending_extension: None,
        satisfaction: None,
        merged_into: None,
        follow_up_required: false,
        awaiting_ruling: false,
        escalation: None,
        group: None,
    }
}

/// Cases like the sketch in design.md: two overdue, one under the amber threshold.
pub fn sample_cases() -> Vec<Case> {
    use Status::*;
    use Tier::*;
    let mut returned = case(
        57,
        Some(Red),
        Triaged,
        2482,
        "发热儿童需就医",
        "华埠镇",
        None,
        None,
    );
    returned.return_count = 1;
    let mut escalated = case(
        42,
        Some(Red),
        Dispatched,
        -190,
        "透析病人需要转运",
        "马金镇",
        Some(3),
        Some("op-li"),
    );
    let breached = escalated
        .next_due
        .as_ref()
        .map(|d| d.due_at)
        .unwrap_or_default();
    escalated.escalation = Some(Escalation {
        clock: ClockKind::SignFor,
        step: EscalationStep::Reminder,
        at: breached,
        next_step: Some(EscalationStep::UrgingNotice),
        next_step_at: Some(breached + Duration::minutes(15)),
    });
    vec![
        case(
            134,
            None,
            New,
            235,
            "孕妇产检无法出村",
            "池淮镇",
            None,
            None,
        ),
        case(
            133,
            None,
            New,
            542,
            "询问返乡隔离政策",
            "芹阳办事处",
            None,
            Some("op-li"),
        ),
        case(
            135,
            None,
            New,
            801,
            "Elderly man alone, needs groceries delivered",
            "华埠镇",
            None,
            None,
        ),
        escalated,
        returned,
        case(
            101,
            Some(Orange),
            Dispatched,
            4329,
            "特殊奶粉断货",
            "曹娥",
            Some(7),
            Some("op-wang"),
        ),
        case(
            102,
            Some(Orange),
            InProgress,
            -3725,
            "小区封控物资配送不到位",
            "池淮镇",
            Some(6),
            None,
        ),
        case(
            119,
            Some(Blue),
            Triaged,
            9100,
            "通行证如何办理",
            "芹阳办事处",
            None,
            None,
        ),
        case(
            120,
            Some(Blue),
            Triaged,
            12000,
            "核酸检测点开放时间",
            "马金镇",
            None,
            None,
        ),
    ]
}

pub fn changes(cases: Vec<Case>, snapshot: bool, cursor: &str) -> Changes {
    Changes {
        cursor: cursor.into(),
        server_time: at(server_now()),
        snapshot,
        cases,
        left: vec![],
        more: false,
    }
}

pub fn detail(c: &Case) -> CaseDetail {
    let ev = |id, minutes: i64, actor: &str, action: &str, payload| Event {
        id,
        case_id: c.id,
        at: c.received_at + Duration::minutes(minutes),
        actor: actor.into(),
        actor_role: Role::Operator,
        system: false,
        action: action.into(),
        from_status: None,
        to_status: None,
        payload,
    };
    let mut events = vec![ev(1, 0, "王丽", "received", json!({}))];
    if let Some(t) = c.tier {
        events.push(ev(2, 5, "op-li", "triage", json!({"tier": t.as_str()})));
    }
    if let Some(d) = c.department_id {
        events.push(ev(
            3,
            16,
            "op-li",
            "dispatch",
            json!({"department_id": d, "note": "请尽快联系家属"}),
        ));
    }
    CaseDetail {
        case: c.clone(),
        event_count: events.len() as i64,
        events,
    }
}

pub fn keymap() -> Keymap {
    Config::load(None, None, &Overrides::default())
        .and_then(|c| c.keymap())
        .unwrap_or_default()
}

/// An app that has connected and received `cases` as its snapshot at `now()`.
pub fn app_with(lang: Lang, cases: Vec<Case>) -> App {
    app_as(lang, me(), cases)
}

/// An app signed in as `me` that has received `cases` as its snapshot at `now()`.
pub fn app_as(lang: Lang, me: Me, cases: Vec<Case>) -> App {
    let mut app = App::new(
        I18n::new(lang),
        keymap(),
        super::config::Alarms::default(),
        "http://127.0.0.1:8080",
        now(),
    );
    app.update(Action::Resize {
        width: 160,
        height: 45,
    });
    app.update(Action::SessionLoaded(Box::new(Session {
        me,
        policy: Policy::default(),
        departments: departments(),
        catalog: crate::catalog::Catalog::kaihua(),
    })));
    app.update(Action::FeedLoaded {
        changes: changes(cases, true, "c1"),
        received_at: now(),
    });
    app
}

pub fn app(lang: Lang) -> App {
    app_with(lang, sample_cases())
}

/// `n` open cases spread over the tiers and the next eight hours, for the benchmark.
pub fn many_cases(n: usize) -> Vec<Case> {
    let towns = ["马金镇", "华埠镇", "池淮镇", "芹阳办事处", "曹娥"];
    let titles = [
        "透析病人需要转运",
        "特殊奶粉断货",
        "询问返乡隔离政策",
        "Needs a ride to hospital",
    ];
    (0..n)
        .map(|i| {
            let tier = match i % 4 {
                0 => None,
                1 => Some(Tier::Red),
                2 => Some(Tier::Orange),
                _ => Some(Tier::Blue),
            };
            let status = if tier.is_none() {
                Status::New
            } else {
                Status::Triaged
            };
            case(
                i as i64 + 1,
                tier,
                status,
                (i as i64 * 37) % 28_800 - 600,
                titles[i % titles.len()],
                towns[i % towns.len()],
                None,
                None,
            )
        })
        .collect()
}

// ---- supervision -------------------------------------------------------------------------------

/// The sample cases with supervision history, plus two resolved cases waiting for their
/// follow-up call (one red and past its follow-up clock, one marked without a clock).
pub fn supervision_cases() -> Vec<Case> {
    use Status::*;
    use Tier::*;
    let mut cases = sample_cases();
    for c in &mut cases {
        match c.id {
            42 => {
                c.urge_count = 2;
                c.extension_count = 1;
                c.pending_extension = Some(crate::wire::PendingExtension {
                    until: at(server_now() + Duration::hours(2)),
                    reason: "家属联系不上，需改约透析时间".into(),
                    requested_by: "卫健局-张".into(),
                    requested_at: at(server_now() - Duration::minutes(7)),
                });
            }
            102 => c.return_count = 1,
            _ => {}
        }
    }
    let mut red = case(
        88,
        Some(Red),
        Resolved,
        -600,
        "独居老人断药",
        "华埠镇",
        Some(2),
        None,
    );
    red.follow_up_required = true;
    red.resolved_at = Some(at(server_now() - Duration::hours(3)));
    red.deadlines.push(Deadline {
        clock: ClockKind::FollowUp,
        due_at: at(server_now() - Duration::minutes(10)),
        met_at: None,
        breached: true,
    });
    red.next_due = Some(NextDue {
        clock: ClockKind::FollowUp,
        due_at: at(server_now() - Duration::minutes(10)),
    });
    let mut marked = case(
        89,
        Some(Orange),
        Resolved,
        3600,
        "Rubbish not collected for a week",
        "池淮镇",
        Some(6),
        None,
    );
    marked.follow_up_required = true;
    marked.resolved_at = Some(at(server_now() - Duration::hours(1)));
    marked.next_due = None;
    marked.deadlines.retain(|d| d.clock == ClockKind::Triage);
    cases.push(red);
    cases.push(marked);
    cases
}

pub fn supervisor() -> Me {
    Me {
        name: "sup-zhao".into(),
        role: Role::Supervisor,
        ..me()
    }
}

/// A supervisor's console with `supervision_cases()`; it opens on the Overdue board.
pub fn supervisor_app(lang: Lang) -> App {
    app_as(lang, supervisor(), supervision_cases())
}

/// Today's report as `GET /reports/daily` answers it, for the Departments and Stats views.
pub fn report() -> crate::report::DailyReport {
    use crate::report::{
        Arrivals, Counts, DailyReport, DepartmentRow, FollowUpRow, HourRow, TierRow,
    };
    let counts = |received, resolved| Counts {
        received,
        resolved,
        ..Counts::default()
    };
    let day = zone()
        .with_ymd_and_hms(2022, 5, 8, 0, 0, 0)
        .single()
        .unwrap_or_else(|| at(now()));
    let shape = [
        0u64, 0, 1, 0, 0, 1, 2, 5, 9, 12, 10, 8, 6, 7, 9, 11, 8, 6, 5, 4, 6, 3, 0, 0,
    ];
    let hourly = shape
        .iter()
        .enumerate()
        .map(|(h, n)| HourRow {
            start: day + Duration::hours(h as i64),
            counts: counts(*n, n.saturating_sub(2) * u64::from(h < 21)),
        })
        .collect();
    let dept = |id: i64, dispatched, resolved, on_time, avg| {
        let name = departments()
            .into_iter()
            .find(|d| d.id == id)
            .map(|d| d.name)
            .unwrap_or_default();
        DepartmentRow {
            department_id: id,
            name,
            dispatched,
            signed_for: dispatched,
            signed_late: 1,
            resolved,
            resolved_on_time: on_time,
            resolved_late: resolved - on_time,
            returns: 0,
            avg_minutes_to_sign: avg,
        }
    };
    let tier = |t: &str, resolved, on_time| TierRow {
        tier: t.into(),
        resolved,
        on_time,
        overdue: resolved - on_time,
    };
    DailyReport {
        desk_name: "开化县求助平台".into(),
        date: "2022-05-08".into(),
        time_zone: "Asia/Shanghai".into(),
        totals: Counts {
            received: 113,
            answered_online: 21,
            dispatched: 80,
            resolved: 64,
            closed: 52,
        },
        returns: 4,
        extensions_requested: 3,
        extensions_approved: 2,
        urges: 6,
        escalations: 2,
        arrivals: Arrivals::default(),
        by_tier: vec![
            tier("red", 10, 8),
            tier("orange", 24, 21),
            tier("blue", 30, 30),
        ],
        by_department: vec![
            dept(3, 20, 15, 12, Some(18.4)),
            dept(6, 12, 10, 9, Some(7.0)),
            dept(7, 9, 8, 8, Some(11.5)),
            dept(1, 6, 0, 0, None),
        ],
        follow_up: FollowUpRow::default(),
        hourly,
    }
}

// ---- departments and the supervisor's lists ----------------------------------------------------

/// A user of 卫健局 (department 3).
pub fn department_user() -> Me {
    Me {
        name: "wj-zhang".into(),
        role: Role::Department,
        department_id: Some(3),
        ..me()
    }
}

/// What 卫健局's feed carries: a red case to sign for (overdue), an orange one in progress
/// with its feedback due in 50 minutes, and a blue one in progress with an extension pending.
pub fn department_cases() -> Vec<Case> {
    use Status::*;
    use Tier::*;
    let mut sign = case(
        42,
        Some(Red),
        Dispatched,
        -190,
        "透析病人需要转运",
        "马金镇",
        Some(3),
        None,
    );
    sign.deadlines.push(Deadline {
        clock: ClockKind::Feedback,
        due_at: at(server_now() + Duration::hours(3)),
        met_at: None,
        breached: false,
    });
    let working = case(
        61,
        Some(Orange),
        InProgress,
        3000,
        "发热门诊排队过长",
        "华埠镇",
        Some(3),
        None,
    );
    let mut extended = case(
        63,
        Some(Blue),
        InProgress,
        1500,
        "Clinic closed, patient needs insulin",
        "池淮镇",
        Some(3),
        None,
    );
    extended.pending_extension = Some(crate::wire::PendingExtension {
        until: at(server_now() + Duration::hours(2)),
        reason: "药品需从市里调拨".into(),
        requested_by: "wj-zhang".into(),
        requested_at: at(server_now() - Duration::minutes(5)),
    });
    vec![working, extended, sign]
}

/// 卫健局's console with `department_cases()`.
pub fn department_app(lang: Lang) -> App {
    app_as(lang, department_user(), department_cases())
}

/// The supervision cases plus one returned three times (awaiting a ruling).
pub fn ruling_cases() -> Vec<Case> {
    let mut cases = supervision_cases();
    let mut thrice = case(
        77,
        Some(Tier::Orange),
        Status::Triaged,
        1800,
        "楼道堆物多次退单",
        "马金镇",
        None,
        None,
    );
    thrice.return_count = 3;
    thrice.awaiting_ruling = true;
    cases.push(thrice);
    cases
}

/// A supervisor's console with `ruling_cases()`.
pub fn ruling_app(lang: Lang) -> App {
    app_as(lang, supervisor(), ruling_cases())
}

/// Five callers asking where to get a pass (10 the anchor), and one other request.
pub fn grouped_cases() -> Vec<Case> {
    let mut cases = vec![];
    for (n, title) in [
        "出村通行证怎么办理",
        "金星村通行证在哪里办",
        "上班需要出村通行证",
        "通行证办理地点",
        "出村证明去哪开",
    ]
    .iter()
    .enumerate()
    {
        let id = 10 + n as i64;
        let mut c = case(
            id,
            None,
            Status::New,
            300 + 60 * n as i64,
            title,
            "芹阳办事处",
            None,
            None,
        );
        c.group = (id != 10).then_some(10);
        cases.push(c);
    }
    cases.push(case(
        20,
        None,
        Status::New,
        600,
        "透析病人需要转运",
        "马金镇",
        None,
        None,
    ));
    cases
}
