//! Wire types of the central request API (v1): the contract shared by the server, the typed
//! client, the console and the tests. Field names follow `design.md`; never rename one.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

mod answers;

pub use answers::*;
mod groups;
pub use groups::*;
mod shifts;
pub use shifts::*;
mod strict;

/// Every time on the wire: RFC 3339 with an offset (the desk's zone).
pub type Timestamp = DateTime<FixedOffset>;

/// Longest accepted description, in characters (not bytes).
pub const MAX_DESCRIPTION_CHARS: usize = 4_000;
/// Longest accepted title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest accepted note, answer, reason, in characters.
pub const MAX_TEXT_CHARS: usize = 4_000;
/// An extension may move the feedback deadline at most this many days past the current one
/// (or past now, when the case is already overdue).
pub const MAX_EXTENSION_DAYS: i64 = 7;
/// Longest accepted search text (`q` of `GET /api/v1/cases`), in characters.
pub const MAX_SEARCH_CHARS: usize = 200;
/// The years dates and times of query parameters (`date` of the daily report, `from` and `to`
/// of hourly statistics) must fall in: nothing happened at a desk before, and nothing is
/// planned after.
pub const QUERY_YEARS: std::ops::RangeInclusive<i32> = 2000..=2099;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    Blue,
    Orange,
    Red,
}

impl Tier {
    pub const ALL: [Tier; 3] = [Tier::Red, Tier::Orange, Tier::Blue];
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Blue => "blue",
            Tier::Orange => "orange",
            Tier::Red => "red",
        }
    }
    /// Higher is more urgent: red 2, orange 1, blue 0.
    pub fn urgency(self) -> u8 {
        match self {
            Tier::Blue => 0,
            Tier::Orange => 1,
            Tier::Red => 2,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    New,
    Triaged,
    Dispatched,
    InProgress,
    Resolved,
    Closed,
}

impl Status {
    /// Every status, in lifecycle order.
    pub const ALL: [Status; 6] = [
        Status::New,
        Status::Triaged,
        Status::Dispatched,
        Status::InProgress,
        Status::Resolved,
        Status::Closed,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Triaged => "triaged",
            Status::Dispatched => "dispatched",
            Status::InProgress => "in_progress",
            Status::Resolved => "resolved",
            Status::Closed => "closed",
        }
    }
    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "new" => Status::New,
            "triaged" => Status::Triaged,
            "dispatched" => Status::Dispatched,
            "in_progress" => Status::InProgress,
            "resolved" => Status::Resolved,
            "closed" => Status::Closed,
            _ => return None,
        })
    }
    pub fn is_open(self) -> bool {
        !matches!(self, Status::Resolved | Status::Closed)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Web,
    #[serde(rename = "hotline_12345")]
    Hotline12345,
    #[serde(rename = "hotline_110")]
    Hotline110,
    Open311,
    WalkIn,
}

impl Channel {
    pub const ALL: [Channel; 5] = [
        Channel::Hotline12345,
        Channel::Web,
        Channel::Hotline110,
        Channel::Open311,
        Channel::WalkIn,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Web => "web",
            Channel::Hotline12345 => "hotline_12345",
            Channel::Hotline110 => "hotline_110",
            Channel::Open311 => "open311",
            Channel::WalkIn => "walk_in",
        }
    }
    pub fn parse(s: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Intake,
    Operator,
    Supervisor,
    Department,
    Observer,
    Admin,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Intake,
        Role::Operator,
        Role::Supervisor,
        Role::Department,
        Role::Observer,
        Role::Admin,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Intake => "intake",
            Role::Operator => "operator",
            Role::Supervisor => "supervisor",
            Role::Department => "department",
            Role::Observer => "observer",
            Role::Admin => "admin",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// The deadline clocks of the policy table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClockKind {
    Triage,
    Dispatch,
    SignFor,
    Feedback,
    FollowUp,
}

impl ClockKind {
    pub const ALL: [ClockKind; 5] = [
        ClockKind::Triage,
        ClockKind::Dispatch,
        ClockKind::SignFor,
        ClockKind::Feedback,
        ClockKind::FollowUp,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            ClockKind::Triage => "triage",
            ClockKind::Dispatch => "dispatch",
            ClockKind::SignFor => "sign_for",
            ClockKind::Feedback => "feedback",
            ClockKind::FollowUp => "follow_up",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Requester {
    pub name: String,
    /// Masked (`138****0000`) unless the case was fetched with `reveal=phone`.
    pub phone: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Location {
    pub town: String,
    #[serde(default)]
    pub address: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub long: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Deadline {
    pub clock: ClockKind,
    pub due_at: DateTime<FixedOffset>,
    pub met_at: Option<DateTime<FixedOffset>>,
    /// Met late, or unmet and past due at `server_time` of the answer.
    pub breached: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NextDue {
    pub clock: ClockKind,
    pub due_at: DateTime<FixedOffset>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PendingExtension {
    pub until: DateTime<FixedOffset>,
    pub reason: String,
    pub requested_by: String,
    pub requested_at: DateTime<FixedOffset>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Satisfaction {
    Satisfied,
    FairlySatisfied,
    Dissatisfied,
}

/// A help request (工单) as every client sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Case {
    pub id: i64,
    #[serde(rename = "ref")]
    pub reference: String,
    pub version: i64,
    pub channel: Channel,
    pub category: String,
    pub title: String,
    pub description: String,
    pub requester: Requester,
    pub location: Location,
    pub tier: Option<Tier>,
    pub status: Status,
    pub department_id: Option<i64>,
    pub claimed_by: Option<String>,
    pub received_at: DateTime<FixedOffset>,
    pub triaged_at: Option<DateTime<FixedOffset>>,
    pub dispatched_at: Option<DateTime<FixedOffset>>,
    pub signed_at: Option<DateTime<FixedOffset>>,
    pub resolved_at: Option<DateTime<FixedOffset>>,
    pub closed_at: Option<DateTime<FixedOffset>>,
    pub updated_at: DateTime<FixedOffset>,
    pub deadlines: Vec<Deadline>,
    pub next_due: Option<NextDue>,
    /// Past an unmet deadline now (a deadline met late is `breached` but no longer overdue).
    pub overdue: bool,
    pub return_count: i64,
    pub extension_count: i64,
    pub urge_count: i64,
    pub pending_extension: Option<PendingExtension>,
    pub satisfaction: Option<Satisfaction>,
    pub merged_into: Option<i64>,
    /// Waiting for a follow-up call (回访): resolved red cases, and any case marked for it.
    pub follow_up_required: bool,
    /// Returned more often than the policy allows: a supervisor rules on it; operators may not
    /// dispatch it again.
    pub awaiting_ruling: bool,
    /// Where the escalation ladder stands for the case's breached clock, if it has started.
    pub escalation: Option<Escalation>,
    /// The similar-request group this untriaged case joined when it arrived: the id of the
    /// group's first case (its anchor). `null` for an anchor and for a case that matched no
    /// open untriaged case; cases sharing `group`, with the anchor, are one group.
    #[serde(default)]
    pub group: Option<i64>,
}

/// The escalation ladder's rungs, in order (a later rung compares greater).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum EscalationStep {
    /// A reminder to whoever holds the case.
    Reminder,
    /// A formal urging notice (催办通知).
    UrgingNotice,
    /// Handed to the supervision office (督查办).
    SupervisionOffice,
}

impl EscalationStep {
    pub const ALL: [EscalationStep; 3] = [
        EscalationStep::Reminder,
        EscalationStep::UrgingNotice,
        EscalationStep::SupervisionOffice,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            EscalationStep::Reminder => "reminder",
            EscalationStep::UrgingNotice => "urging_notice",
            EscalationStep::SupervisionOffice => "supervision_office",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Escalation {
    /// The breached clock being escalated.
    pub clock: ClockKind,
    /// The last rung reached.
    pub step: EscalationStep,
    pub at: DateTime<FixedOffset>,
    pub next_step: Option<EscalationStep>,
    pub next_step_at: Option<DateTime<FixedOffset>>,
}

/// One immutable entry of a case's audit history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Event {
    pub id: i64,
    pub case_id: i64,
    pub at: DateTime<FixedOffset>,
    pub actor: String,
    pub actor_role: Role,
    /// Written by the server itself (the escalation ladder, as `actor` "escalation"), not by
    /// a signed-in user; no user may take that name.
    #[serde(default)]
    pub system: bool,
    /// `received`, or the action's name: `triage`, `dispatch`, `sign-for`, …
    pub action: String,
    pub from_status: Option<Status>,
    pub to_status: Option<Status>,
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
}

/// A case with events of its timeline, oldest first. `GET /api/v1/cases/{id}` (and a 412's
/// `current`) carries the latest [`DETAIL_EVENTS`] events; an action's answer (and its
/// idempotent replay) carries only the events that action recorded. The whole timeline is
/// paged at `GET /api/v1/cases/{id}/events`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CaseDetail {
    #[serde(flatten)]
    pub case: Case,
    pub events: Vec<Event>,
    /// How many events the case's whole timeline has.
    #[serde(default)]
    pub event_count: i64,
}

/// Most events `GET /api/v1/cases/{id}` carries: the latest ones.
pub const DETAIL_EVENTS: i64 = 50;

/// `GET /api/v1/cases/{id}/events`: one page of the timeline, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EventPage {
    pub events: Vec<Event>,
    /// Pass as `after` for the next page; `null` on the last page.
    pub next_after: Option<i64>,
}

/// `GET /api/v1/changes`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Changes {
    /// Opaque; pass back as `since`.
    pub cursor: String,
    pub server_time: DateTime<FixedOffset>,
    /// True when this answer starts a snapshot (no `since`): replace everything held. A large
    /// snapshot comes in pages: those after the first (`more` on the one before) add to it.
    pub snapshot: bool,
    pub cases: Vec<Case>,
    /// Tombstones, in a department's deltas: cases that left the department after the cursor
    /// (returned, reassigned, reopened) and are not back. Drop them; nothing of their content
    /// is sent. A case that came back is in `cases` instead.
    #[serde(default)]
    pub left: Vec<LeftCase>,
    /// More changes are waiting: ask again at once with the new cursor.
    pub more: bool,
}

/// A tombstone of the change feed: the case with this id left the reader's department.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LeftCase {
    pub id: i64,
}

/// `GET /api/v1/cases`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CaseList {
    pub cases: Vec<Case>,
    pub next_cursor: Option<String>,
    pub server_time: DateTime<FixedOffset>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCase {
    pub channel: Channel,
    pub category: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub requester: Requester,
    pub location: Location,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DepartmentKind {
    Township,
    Bureau,
    Squad,
    Hospital,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Department {
    pub id: i64,
    pub name: String,
    pub kind: DepartmentKind,
    pub active: bool,
    /// Bumped on every change; send it back as `If-Match: "<version>"` to change the department.
    #[serde(default)]
    pub version: i64,
    /// Who is on duty there now, for an urging call (set by the department itself).
    #[serde(default)]
    pub on_duty: Vec<DutyContact>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDepartment {
    pub name: String,
    pub kind: DepartmentKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepartmentPatch {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub kind: Option<DepartmentKind>,
    #[serde(default)]
    pub active: Option<bool>,
}

/// `GET /api/v1/me`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Me {
    pub name: String,
    pub role: Role,
    pub department_id: Option<i64>,
    pub desk_name: String,
    pub time_zone: String,
}

/// Minutes per clock for one tier; `None` means the tier has no such clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TierPolicy {
    pub triage_minutes: i64,
    pub dispatch_minutes: Option<i64>,
    pub sign_for_minutes: i64,
    pub feedback_minutes: i64,
    pub follow_up_minutes: Option<i64>,
    /// Minutes after a breach at which the ladder's rungs fire: reminder, urging notice,
    /// supervision office.
    #[serde(default = "default_escalation")]
    pub escalation_minutes: [i64; 3],
}

fn default_escalation() -> [i64; 3] {
    [0, 30, 60]
}

fn default_max_returns() -> i64 {
    2
}

/// `GET /api/v1/policy`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub time_zone: String,
    pub blue: TierPolicy,
    pub orange: TierPolicy,
    pub red: TierPolicy,
    /// A case returned more often than this goes to a supervisor for a ruling.
    #[serde(default = "default_max_returns")]
    pub max_returns: i64,
}

impl Policy {
    pub fn tier(&self, tier: Tier) -> &TierPolicy {
        match tier {
            Tier::Blue => &self.blue,
            Tier::Orange => &self.orange,
            Tier::Red => &self.red,
        }
    }
}

impl Default for Policy {
    /// design.md's table.
    fn default() -> Self {
        Policy {
            time_zone: "Asia/Shanghai".into(),
            blue: TierPolicy {
                triage_minutes: 15,
                dispatch_minutes: None,
                sign_for_minutes: 30,
                feedback_minutes: 180,
                follow_up_minutes: None,
                escalation_minutes: [0, 60, 120],
            },
            orange: TierPolicy {
                triage_minutes: 15,
                dispatch_minutes: Some(120),
                sign_for_minutes: 30,
                feedback_minutes: 480,
                follow_up_minutes: None,
                escalation_minutes: [0, 30, 60],
            },
            red: TierPolicy {
                triage_minutes: 15,
                dispatch_minutes: Some(60),
                sign_for_minutes: 15,
                feedback_minutes: 240,
                follow_up_minutes: Some(1440),
                escalation_minutes: [0, 15, 30],
            },
            max_returns: default_max_returns(),
        }
    }
}

/// One field that failed validation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FieldError {
    /// JSON path of the field, e.g. `requester.phone`; `body` for the body as a whole.
    pub field: String,
    pub message: String,
}

/// Every problem `type` is this and a name.
pub const PROBLEM_TYPE_BASE: &str = "https://jieyou.invalid/problems/";
/// 410 from the change feed: the cursor is not this database's (another database, a restore, an
/// old format) or is ahead of it. Take a new snapshot.
pub const CURSOR_RESET_PROBLEM: &str = "https://jieyou.invalid/problems/cursor-reset";

/// RFC 9457 problem details; every 4xx/5xx answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// `PROBLEM_TYPE_BASE` and a name, e.g. [`CURSOR_RESET_PROBLEM`].
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// On 412: the case as it is now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<Box<CaseDetail>>,
    /// On 412 of a department change: the department as it is now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_department: Option<Department>,
}

impl Problem {
    /// The change feed asks for a new snapshot.
    pub fn is_cursor_reset(&self) -> bool {
        self.status == 410 && self.kind == CURSOR_RESET_PROBLEM
    }
}

// ---- action bodies -------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TierBody {
    pub tier: Tier,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DispatchBody {
    pub department_id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TextBody {
    pub text: String,
}

/// Which version of a library answer a reply was written from; a case keeps it so that the
/// desk can find every requester told something that a later version corrects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerRef {
    pub id: i64,
    pub version: i64,
}

/// An online answer: the text the requester receives, and the library answer it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerBody {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<AnswerRef>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtensionRequestBody {
    pub until: DateTime<FixedOffset>,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtensionDecisionBody {
    pub approve: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FollowUpBody {
    pub result: Satisfaction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeBody {
    pub into: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Every `POST /api/v1/cases/{id}/{action}` with its typed body.
#[derive(Debug, Clone, PartialEq)]
pub enum CaseAction {
    Triage(TierBody),
    Retier(TierBody),
    Claim(NoteBody),
    Release(NoteBody),
    Dispatch(DispatchBody),
    SignFor(NoteBody),
    Progress(TextBody),
    Resolve(TextBody),
    AnswerOnline(AnswerBody),
    Return(ReasonBody),
    RequestExtension(ExtensionRequestBody),
    DecideExtension(ExtensionDecisionBody),
    Urge(NoteBody),
    FollowUp(FollowUpBody),
    Close(NoteBody),
    Reopen(ReasonBody),
    Note(TextBody),
    Merge(MergeBody),
    MarkFollowUp(NoteBody),
}

/// The action names as they appear in the URL and in events.
pub const ACTION_NAMES: [&str; 19] = [
    "triage",
    "retier",
    "claim",
    "release",
    "dispatch",
    "sign-for",
    "progress",
    "resolve",
    "answer-online",
    "return",
    "request-extension",
    "decide-extension",
    "urge",
    "follow-up",
    "close",
    "reopen",
    "note",
    "merge",
    "mark-follow-up",
];

impl CaseAction {
    pub fn name(&self) -> &'static str {
        match self {
            CaseAction::Triage(_) => "triage",
            CaseAction::Retier(_) => "retier",
            CaseAction::Claim(_) => "claim",
            CaseAction::Release(_) => "release",
            CaseAction::Dispatch(_) => "dispatch",
            CaseAction::SignFor(_) => "sign-for",
            CaseAction::Progress(_) => "progress",
            CaseAction::Resolve(_) => "resolve",
            CaseAction::AnswerOnline(_) => "answer-online",
            CaseAction::Return(_) => "return",
            CaseAction::RequestExtension(_) => "request-extension",
            CaseAction::DecideExtension(_) => "decide-extension",
            CaseAction::Urge(_) => "urge",
            CaseAction::FollowUp(_) => "follow-up",
            CaseAction::Close(_) => "close",
            CaseAction::Reopen(_) => "reopen",
            CaseAction::Note(_) => "note",
            CaseAction::Merge(_) => "merge",
            CaseAction::MarkFollowUp(_) => "mark-follow-up",
        }
    }

    /// The JSON body sent for this action.
    pub fn body(&self) -> serde_json::Value {
        let v = match self {
            CaseAction::Triage(b) | CaseAction::Retier(b) => serde_json::to_value(b),
            CaseAction::Claim(b)
            | CaseAction::Release(b)
            | CaseAction::SignFor(b)
            | CaseAction::Urge(b)
            | CaseAction::Close(b)
            | CaseAction::MarkFollowUp(b) => serde_json::to_value(b),
            CaseAction::Dispatch(b) => serde_json::to_value(b),
            CaseAction::Progress(b) | CaseAction::Resolve(b) | CaseAction::Note(b) => {
                serde_json::to_value(b)
            }
            CaseAction::AnswerOnline(b) => serde_json::to_value(b),
            CaseAction::Return(b) | CaseAction::Reopen(b) => serde_json::to_value(b),
            CaseAction::RequestExtension(b) => serde_json::to_value(b),
            CaseAction::DecideExtension(b) => serde_json::to_value(b),
            CaseAction::FollowUp(b) => serde_json::to_value(b),
            CaseAction::Merge(b) => serde_json::to_value(b),
        };
        v.unwrap_or(serde_json::Value::Null)
    }

    /// Parses an action from its URL name and JSON body; the error names the offending field.
    pub fn parse(name: &str, body: &[u8]) -> Result<CaseAction, ParseActionError> {
        fn de<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ParseActionError> {
            let body: &[u8] = if body.iter().all(|b| b.is_ascii_whitespace()) {
                b"{}"
            } else {
                body
            };
            from_json(body)
        }
        Ok(match name {
            "triage" => CaseAction::Triage(de(body)?),
            "retier" => CaseAction::Retier(de(body)?),
            "claim" => CaseAction::Claim(de(body)?),
            "release" => CaseAction::Release(de(body)?),
            "dispatch" => CaseAction::Dispatch(de(body)?),
            "sign-for" => CaseAction::SignFor(de(body)?),
            "progress" => CaseAction::Progress(de(body)?),
            "resolve" => CaseAction::Resolve(de(body)?),
            "answer-online" => CaseAction::AnswerOnline(de(body)?),
            "return" => CaseAction::Return(de(body)?),
            "request-extension" => CaseAction::RequestExtension(de(body)?),
            "decide-extension" => CaseAction::DecideExtension(de(body)?),
            "urge" => CaseAction::Urge(de(body)?),
            "follow-up" => CaseAction::FollowUp(de(body)?),
            "close" => CaseAction::Close(de(body)?),
            "reopen" => CaseAction::Reopen(de(body)?),
            "note" => CaseAction::Note(de(body)?),
            "merge" => CaseAction::Merge(de(body)?),
            "mark-follow-up" => CaseAction::MarkFollowUp(de(body)?),
            _ => return Err(ParseActionError::UnknownAction(name.to_string())),
        })
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParseActionError {
    #[error("no such action: {0}")]
    UnknownAction(String),
    #[error("{message}")]
    Body { field: String, message: String },
}

/// Deserializes a JSON body; on failure names the offending field by its JSON path
/// (`requester.phone`), or `body` when the body as a whole is at fault.
pub fn from_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ParseActionError> {
    fn refusal(e: serde_path_to_error::Error<serde_json::Error>) -> ParseActionError {
        // Malformed JSON (syntax, truncation, bad UTF-8) is the body's fault, not a field's.
        let path = match e.inner().classify() {
            serde_json::error::Category::Data => e.path().to_string(),
            _ => ".".to_string(),
        };
        body_error(&path, e.inner().to_string())
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let strict::UniqueKeys(value) = serde_path_to_error::deserialize(&mut de).map_err(refusal)?;
    de.end().map_err(|e| body_error(".", e.to_string()))?;
    serde_path_to_error::deserialize(strict::Strict(&value)).map_err(refusal)
}

fn body_error(path: &str, message: String) -> ParseActionError {
    let leaf = field_in_message(&message);
    let field = match (path, leaf) {
        (".", Some(leaf)) => leaf,
        (".", None) => "body".to_string(),
        (path, Some(leaf)) if !message.starts_with("unknown field") => format!("{path}.{leaf}"),
        (path, _) => path.to_string(),
    };
    ParseActionError::Body { field, message }
}

/// serde_json says ``missing field `tier` ``, ``unknown field `x`, expected …`` or
/// ``duplicate field `name` ``.
fn field_in_message(message: &str) -> Option<String> {
    if !["missing field", "unknown field", "duplicate field"]
        .iter()
        .any(|p| message.starts_with(p))
    {
        return None;
    }
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(message[start..start + len].to_string())
}

/// Masks a phone number for lists, counting digits only (`+`, `-` and spaces stay as they
/// are): at most the last four digits show, and at least four are always hidden; numbers of
/// 11 digits or more (mobile numbers, with country code too) also keep their first three.
pub fn mask_phone(phone: &str) -> String {
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    let tail = 4.min(digits.saturating_sub(4));
    let head = if digits >= 11 { 3 } else { 0 };
    let mut seen = 0;
    phone
        .chars()
        .map(|c| {
            if !c.is_ascii_digit() {
                return c;
            }
            seen += 1;
            if seen <= head || seen > digits - tail {
                c
            } else {
                '*'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_phones() {
        assert_eq!(mask_phone("13800000000"), "138****0000");
        assert_eq!(mask_phone("110"), "***");
        // A landline: eight digits show only their last four.
        assert_eq!(mask_phone("88001234"), "****1234");
        assert_eq!(mask_phone("0570-88001234"), "057*-****1234");
        // Separators do not count as digits and stay where they are.
        assert_eq!(mask_phone("138 0000 0000"), "138 **** 0000");
        assert_eq!(mask_phone("+86 138 0013 8000"), "+86 1** **** 8000");
        // Short numbers keep at least four digits hidden.
        assert_eq!(mask_phone("1234567"), "****567");
        assert_eq!(mask_phone("12345"), "****5");
        assert_eq!(mask_phone("1234"), "****");
        assert_eq!(mask_phone(""), "");
        for p in [
            "88001234",
            "0570-88001234",
            "13800000000",
            "+86 138 0013 8000",
        ] {
            let shown = mask_phone(p).chars().filter(char::is_ascii_digit).count();
            assert!(shown <= 7, "{p}");
        }
    }

    #[test]
    fn parses_actions_and_names_bad_fields() {
        let a = CaseAction::parse("triage", br#"{"tier":"red"}"#).unwrap();
        assert_eq!(a.name(), "triage");
        assert_eq!(a.body(), serde_json::json!({"tier": "red"}));
        match CaseAction::parse("triage", br#"{"tier":"purple"}"#) {
            Err(ParseActionError::Body { .. }) => {}
            other => panic!("{other:?}"),
        }
        match CaseAction::parse("return", br#"{}"#) {
            Err(ParseActionError::Body { field, .. }) => assert_eq!(field, "reason"),
            other => panic!("{other:?}"),
        }
        match CaseAction::parse("claim", br#"{"nope":1}"#) {
            Err(ParseActionError::Body { field, .. }) => assert_eq!(field, "nope"),
            other => panic!("{other:?}"),
        }
        assert!(CaseAction::parse("claim", b"").is_ok());
        assert!(matches!(
            CaseAction::parse("explode", b"{}"),
            Err(ParseActionError::UnknownAction(_))
        ));
    }

    #[test]
    fn case_serializes_ref() {
        let p = Policy::default();
        assert_eq!(p.red.dispatch_minutes, Some(60));
        let v = serde_json::to_value(Channel::Hotline12345).unwrap();
        assert_eq!(v, "hotline_12345");
    }
}
