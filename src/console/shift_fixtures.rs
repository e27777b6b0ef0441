//! Shift work as the tests see it: presence lists, shifts, a handover brief, all on the
//! fixtures' frozen clock.

use chrono::{DateTime, Duration, FixedOffset, Utc};

use super::fixtures::{SERVER_AHEAD_SECONDS, now, zone};
use crate::wire::{
    Acknowledgement, Activity, BriefCase, BriefTotals, HandoverBrief, Presence, PresenceList, Role,
    Shift, ShiftCounts, Tier,
};

/// The server's clock `secs` from the fixtures' now, in the desk's zone.
pub fn server_at(secs: i64) -> DateTime<FixedOffset> {
    (now() + Duration::seconds(SERVER_AHEAD_SECONDS + secs)).with_timezone(&zone())
}

/// `user` has `case` open with `activity` since a minute ago, lapsing in `ttl` seconds.
pub fn presence(case: i64, user: &str, activity: Activity, ttl: i64) -> Presence {
    Presence {
        case,
        user: user.into(),
        role: Role::Operator,
        activity,
        since: server_at(-60),
        expires_at: server_at(ttl),
    }
}

/// 李敏 answering case 42 and 王芳 viewing it, 王芳 viewing 119, and the signed-in user
/// (op-li) on 57.
pub fn presence_list() -> PresenceList {
    PresenceList {
        version: 7,
        entries: vec![
            presence(42, "李敏", Activity::Answering, 25),
            presence(42, "王芳", Activity::Viewing, 25),
            presence(119, "王芳", Activity::Viewing, 25),
            presence(57, "op-li", Activity::Editing, 25),
        ],
    }
}

pub fn shift(id: i64, user: &str, role: Role, started: i64, ended: Option<i64>) -> Shift {
    Shift {
        id,
        user: user.into(),
        role,
        started_at: server_at(started),
        ended_at: ended.map(server_at),
    }
}

fn brief_case(id: i64, reference: &str, title: &str, detail: Option<&str>) -> BriefCase {
    BriefCase {
        id,
        reference: reference.into(),
        tier: Some(Tier::Red),
        status: "dispatched".into(),
        title: title.into(),
        department: Some("卫健局".into()),
        claimed_by: Some("op-wang".into()),
        next_deadline: Some(server_at(1800)),
        detail: detail.map(str::to_string),
        rung: None,
        rung_clock: None,
        follow_up_due: None,
        extension: None,
    }
}

/// op-wang's evening shift, ended ten minutes ago, with a note and a case in each list.
pub fn brief(acked: bool) -> HandoverBrief {
    HandoverBrief {
        id: 5,
        shift: shift(3, "op-wang", Role::Operator, -8 * 3600, Some(-600)),
        written_at: server_at(-600),
        note: "42号透析病人家属凌晨会再打来，已答应早上8点前回电。\nCall back 2022-0508-0042 before 08:00.".into(),
        red_open: vec![brief_case(42, "2022-0508-0042", "透析病人无法出行", None)],
        claimed: vec![brief_case(101, "2022-0508-0101", "特殊奶粉断货", None)],
        pending_extensions: vec![],
        promised: vec![BriefCase {
            follow_up_due: Some(server_at(13 * 3600)),
            ..brief_case(
                88,
                "2022-0508-0088",
                "路灯不亮",
                Some("follow-up due 2022-05-09 10:00"),
            )
        }],
        escalated: vec![BriefCase {
            rung: Some("urging_notice".into()),
            rung_clock: Some("sign_for".into()),
            ..brief_case(
                57,
                "2022-0508-0057",
                "独居老人断粮",
                Some("urging_notice (sign_for)"),
            )
        }],
        counts: ShiftCounts {
            received: 23,
            answered_online: 9,
            dispatched: 11,
            overdue: 2,
        },
        totals: BriefTotals {
            red_open: 1,
            claimed: 1,
            pending_extensions: 0,
            promised: 1,
            escalated: 1,
        },
        acks: if acked {
            vec![Acknowledgement {
                user: "op-li".into(),
                at: server_at(-60),
            }]
        } else {
            vec![]
        },
    }
}

pub fn at_local(secs: i64) -> DateTime<Utc> {
    now() + Duration::seconds(secs)
}

/// The fixtures' departments, 卫健局 (3) with two on duty, one of them gone off an hour ago.
pub fn departments_on_duty() -> Vec<crate::wire::Department> {
    let mut list = super::fixtures::departments();
    for d in &mut list {
        if d.id == 3 {
            d.on_duty = vec![
                crate::wire::DutyContact {
                    name: "张伟".into(),
                    phone: "13812340000".into(),
                    until: Some(server_at(4 * 3600)),
                },
                crate::wire::DutyContact {
                    name: "李娜".into(),
                    phone: "13900001111".into(),
                    until: Some(server_at(-3600)),
                },
            ];
        }
    }
    list
}
