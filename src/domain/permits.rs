//! Who may take which action on a case in which state: one table, consulted by the server's
//! `apply` before it changes anything and by the console before it offers a key. Checks that
//! depend on the body (the tier asked for, the department chosen, a text) stay in `apply`.

use crate::domain::{CaseRecord, Refusal};
use crate::wire::{Case, CaseAction, Role, Status};

/// An action without its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActionKind {
    Triage,
    Retier,
    Claim,
    Release,
    Dispatch,
    SignFor,
    Progress,
    Resolve,
    AnswerOnline,
    Return,
    RequestExtension,
    DecideExtension,
    Urge,
    FollowUp,
    Close,
    Reopen,
    Note,
    Merge,
    MarkFollowUp,
}

impl ActionKind {
    pub const ALL: [ActionKind; 19] = [
        ActionKind::Triage,
        ActionKind::Retier,
        ActionKind::Claim,
        ActionKind::Release,
        ActionKind::Dispatch,
        ActionKind::SignFor,
        ActionKind::Progress,
        ActionKind::Resolve,
        ActionKind::AnswerOnline,
        ActionKind::Return,
        ActionKind::RequestExtension,
        ActionKind::DecideExtension,
        ActionKind::Urge,
        ActionKind::FollowUp,
        ActionKind::Close,
        ActionKind::Reopen,
        ActionKind::Note,
        ActionKind::Merge,
        ActionKind::MarkFollowUp,
    ];

    pub fn of(action: &CaseAction) -> ActionKind {
        match action {
            CaseAction::Triage(_) => ActionKind::Triage,
            CaseAction::Retier(_) => ActionKind::Retier,
            CaseAction::Claim(_) => ActionKind::Claim,
            CaseAction::Release(_) => ActionKind::Release,
            CaseAction::Dispatch(_) => ActionKind::Dispatch,
            CaseAction::SignFor(_) => ActionKind::SignFor,
            CaseAction::Progress(_) => ActionKind::Progress,
            CaseAction::Resolve(_) => ActionKind::Resolve,
            CaseAction::AnswerOnline(_) => ActionKind::AnswerOnline,
            CaseAction::Return(_) => ActionKind::Return,
            CaseAction::RequestExtension(_) => ActionKind::RequestExtension,
            CaseAction::DecideExtension(_) => ActionKind::DecideExtension,
            CaseAction::Urge(_) => ActionKind::Urge,
            CaseAction::FollowUp(_) => ActionKind::FollowUp,
            CaseAction::Close(_) => ActionKind::Close,
            CaseAction::Reopen(_) => ActionKind::Reopen,
            CaseAction::Note(_) => ActionKind::Note,
            CaseAction::Merge(_) => ActionKind::Merge,
            CaseAction::MarkFollowUp(_) => ActionKind::MarkFollowUp,
        }
    }

    /// The name in the URL and in events.
    pub fn name(self) -> &'static str {
        match self {
            ActionKind::Triage => "triage",
            ActionKind::Retier => "retier",
            ActionKind::Claim => "claim",
            ActionKind::Release => "release",
            ActionKind::Dispatch => "dispatch",
            ActionKind::SignFor => "sign-for",
            ActionKind::Progress => "progress",
            ActionKind::Resolve => "resolve",
            ActionKind::AnswerOnline => "answer-online",
            ActionKind::Return => "return",
            ActionKind::RequestExtension => "request-extension",
            ActionKind::DecideExtension => "decide-extension",
            ActionKind::Urge => "urge",
            ActionKind::FollowUp => "follow-up",
            ActionKind::Close => "close",
            ActionKind::Reopen => "reopen",
            ActionKind::Note => "note",
            ActionKind::Merge => "merge",
            ActionKind::MarkFollowUp => "mark-follow-up",
        }
    }
}

/// Which roles may take which action at all. Department users act on their own department's
/// cases only (checked with the case's visibility).
pub fn role_may(role: Role, kind: ActionKind) -> bool {
    use ActionKind::*;
    match kind {
        Triage | Retier | Claim | Release | Dispatch | AnswerOnline | Close | Merge
        | MarkFollowUp => matches!(role, Role::Operator | Role::Supervisor),
        SignFor | Progress | Return | RequestExtension => role == Role::Department,
        Resolve => matches!(role, Role::Department | Role::Supervisor),
        DecideExtension | Urge | FollowUp | Reopen => role == Role::Supervisor,
        Note => !matches!(role, Role::Observer | Role::Admin),
    }
}

/// Who may create cases (hotline intake, and the desk itself).
pub fn may_create(role: Role) -> bool {
    matches!(role, Role::Intake | Role::Operator | Role::Supervisor)
}

/// What the table needs to know of a case: the same facts from the stored record (server) or
/// from the case on the wire (console).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CaseState<'a> {
    pub status: Status,
    pub claimed_by: Option<&'a str>,
    pub awaiting_ruling: bool,
    pub return_count: i64,
    pub pending_extension: bool,
    pub follow_up_required: bool,
    /// A follow-up call has been recorded since the case was last resolved.
    pub followed_up: bool,
    pub merged: bool,
}

impl<'a> CaseState<'a> {
    pub fn of_record(rec: &'a CaseRecord) -> CaseState<'a> {
        CaseState {
            status: rec.status,
            claimed_by: rec.claimed_by.as_deref(),
            awaiting_ruling: rec.awaiting_ruling,
            return_count: rec.return_count,
            pending_extension: rec.pending_extension.is_some(),
            follow_up_required: rec.follow_up_required,
            followed_up: rec.followed_up_at.is_some(),
            merged: rec.merged_into.is_some(),
        }
    }

    /// A follow-up either closes the case or sends it back: a resolved case on the wire has
    /// not been followed up since it was resolved.
    pub fn of_case(case: &'a Case) -> CaseState<'a> {
        CaseState {
            status: case.status,
            claimed_by: case.claimed_by.as_deref(),
            awaiting_ruling: case.awaiting_ruling,
            return_count: case.return_count,
            pending_extension: case.pending_extension.is_some(),
            follow_up_required: case.follow_up_required,
            followed_up: false,
            merged: case.merged_into.is_some(),
        }
    }
}

fn conflict(kind: ActionKind, status: Status) -> Refusal {
    Refusal::Conflict(format!(
        "cannot {} a case that is {}",
        kind.name(),
        status.as_str()
    ))
}

fn awaiting_ruling(st: &CaseState<'_>) -> Refusal {
    Refusal::Conflict(format!(
        "returned {} times: a supervisor must rule on it",
        st.return_count
    ))
}

/// May `actor` (with `role`) take `kind` on a case in `st` now? The role first (403), then the
/// state (409). Department visibility is the caller's: it needs the case's department.
pub fn permitted(
    role: Role,
    actor: &str,
    kind: ActionKind,
    st: &CaseState<'_>,
) -> Result<(), Refusal> {
    use ActionKind::*;
    use Status::*;
    if !role_may(role, kind) {
        return Err(Refusal::Forbidden(format!(
            "role {} may not {} a case",
            role.as_str(),
            kind.name()
        )));
    }
    let from = st.status;
    // An operator may not work a case another operator has claimed; a supervisor may.
    let claim_guarded = matches!(
        kind,
        Triage | Retier | Dispatch | AnswerOnline | Close | Merge | Claim
    );
    if claim_guarded
        && role == Role::Operator
        && let Some(other) = st.claimed_by.filter(|c| *c != actor)
    {
        return Err(Refusal::Conflict(format!("case is claimed by {other}")));
    }
    let state_ok = match kind {
        Triage => from == New,
        Retier => !matches!(from, New | Closed),
        Claim | Merge | MarkFollowUp => from != Closed,
        Release => {
            return match st.claimed_by {
                None => Err(Refusal::Conflict("case is not claimed".into())),
                Some(c) if c != actor && role != Role::Supervisor => Err(Refusal::Conflict(
                    format!("case is claimed by {c}, not by you"),
                )),
                Some(_) => Ok(()),
            };
        }
        // A supervisor may reassign a case a department holds.
        Dispatch => {
            let reassign = matches!(from, Dispatched | InProgress) && role == Role::Supervisor;
            if from != Triaged && !reassign {
                return Err(conflict(kind, from));
            }
            if st.awaiting_ruling && role != Role::Supervisor {
                return Err(awaiting_ruling(st));
            }
            true
        }
        SignFor => from == Dispatched,
        Progress | Resolve => from == InProgress,
        AnswerOnline => {
            if !matches!(from, New | Triaged) {
                return Err(conflict(kind, from));
            }
            if st.awaiting_ruling && role != Role::Supervisor {
                return Err(awaiting_ruling(st));
            }
            true
        }
        Return | Urge => matches!(from, Dispatched | InProgress),
        RequestExtension => {
            if !matches!(from, Dispatched | InProgress) {
                return Err(conflict(kind, from));
            }
            if st.pending_extension {
                return Err(Refusal::Conflict(
                    "an extension request is already pending".into(),
                ));
            }
            true
        }
        DecideExtension => {
            if !st.pending_extension {
                return Err(Refusal::Conflict("no extension request is pending".into()));
            }
            true
        }
        FollowUp => from == Resolved,
        Close => {
            if from != Resolved {
                return Err(conflict(kind, from));
            }
            if st.follow_up_required && !st.followed_up {
                return Err(Refusal::Conflict(
                    "this case needs a follow-up call (follow-up) before it is closed".into(),
                ));
            }
            true
        }
        Reopen => {
            if !matches!(from, Resolved | Closed) {
                return Err(conflict(kind, from));
            }
            if st.merged {
                return Err(Refusal::Conflict(
                    "a merged duplicate cannot be reopened".into(),
                ));
            }
            true
        }
        Note => true,
    };
    if kind == MarkFollowUp && state_ok && st.follow_up_required {
        return Err(Refusal::Conflict(
            "already marked for a follow-up call".into(),
        ));
    }
    if state_ok {
        Ok(())
    } else {
        Err(conflict(kind, from))
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::wire::{Channel, Location, NewCase, Policy, Requester, Tier};

    fn record(status: Status) -> CaseRecord {
        let at = Utc.with_ymd_and_hms(2022, 5, 8, 13, 0, 0).single().unwrap();
        let new = NewCase {
            channel: Channel::Hotline12345,
            category: "general".into(),
            title: "t".into(),
            description: String::new(),
            requester: Requester {
                name: "n".into(),
                phone: "13800000000".into(),
            },
            location: Location {
                town: "马金镇".into(),
                address: String::new(),
                lat: None,
                long: None,
            },
        };
        let mut rec = CaseRecord::received("KH-1".into(), &new, at);
        rec.status = status;
        if status != Status::New {
            rec.tier = Some(Tier::Red);
            rec.triaged_at = Some(at);
        }
        if matches!(status, Status::Dispatched | Status::InProgress) {
            rec.department_id = Some(3);
            rec.dispatched_at = Some(at);
        }
        if status == Status::Resolved {
            rec.resolved_at = Some(at);
        }
        rec
    }

    /// The console reads the table against the case on the wire: for every role, action and
    /// state (claimed or not, awaiting a ruling, with an extension pending, marked for a
    /// follow-up) it must answer as the server does against the stored record.
    #[test]
    fn the_wire_case_answers_as_the_record_does() {
        let policy = Policy::default();
        let now = Utc.with_ymd_and_hms(2022, 5, 8, 14, 0, 0).single().unwrap();
        let mut checked = 0;
        for status in Status::ALL {
            for variant in 0..5 {
                let mut rec = record(status);
                match variant {
                    1 => rec.claimed_by = Some("op-wang".into()),
                    2 => {
                        rec.awaiting_ruling = true;
                        rec.return_count = 3;
                    }
                    3 => {
                        rec.pending_extension = Some(crate::domain::PendingExtensionRecord {
                            until: now,
                            reason: "r".into(),
                            requested_by: "d".into(),
                            requested_at: now,
                        })
                    }
                    4 => rec.follow_up_required = true,
                    _ => {}
                }
                let wire = rec.to_wire(&policy, chrono_tz::Asia::Shanghai, now, false);
                for role in Role::ALL {
                    for kind in ActionKind::ALL {
                        let server = permitted(role, "op-li", kind, &CaseState::of_record(&rec));
                        let console = permitted(role, "op-li", kind, &CaseState::of_case(&wire));
                        assert_eq!(
                            server.is_ok(),
                            console.is_ok(),
                            "{role:?} {kind:?} on {status:?} (variant {variant})"
                        );
                        checked += 1;
                    }
                }
            }
        }
        assert_eq!(checked, 6 * 5 * 6 * 19);
    }

    #[test]
    fn the_role_comes_before_the_state() {
        let rec = record(Status::New);
        let st = CaseState::of_record(&rec);
        assert!(matches!(
            permitted(Role::Intake, "in", ActionKind::Triage, &st),
            Err(Refusal::Forbidden(_))
        ));
        assert!(matches!(
            permitted(Role::Operator, "op", ActionKind::SignFor, &st),
            Err(Refusal::Forbidden(_))
        ));
        assert!(matches!(
            permitted(Role::Department, "d", ActionKind::SignFor, &st),
            Err(Refusal::Conflict(_))
        ));
        assert!(permitted(Role::Operator, "op", ActionKind::Triage, &st).is_ok());
    }
}
