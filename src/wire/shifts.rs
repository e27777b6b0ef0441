//! Shift work on the wire: who has which case open (`/api/v1/presence`), who is on shift
//! (`/api/v1/shifts`), the handover brief a shift leaves for the next (`/api/v1/handovers`),
//! and who is on duty at a department (`/api/v1/departments/{id}/duty`).
//!
//! Presence only warns: it locks nothing, and `If-Match` stays what prevents a lost update.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use chrono::{DateTime, FixedOffset};

use super::{Role, Tier};

/// A console that stops reporting its presence disappears from everyone's screen after this.
pub const PRESENCE_TTL_SECS: i64 = 30;
/// How often a console repeats its presence while nothing changes (well inside the TTL).
pub const PRESENCE_HEARTBEAT_SECS: i64 = 10;
/// Longest handover note, in characters.
pub const MAX_HANDOVER_NOTE_CHARS: usize = 4_000;
/// Most duty contacts one department may list.
pub const MAX_DUTY_CONTACTS: usize = 8;
/// Longest duty contact name or phone, in characters.
pub const MAX_DUTY_FIELD_CHARS: usize = 40;

/// What a user is doing with the case they have open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Activity {
    /// The case is open in the detail pane.
    Viewing,
    /// A dialog on it is being filled in: an online answer.
    Answering,
    /// …a dispatch.
    Dispatching,
    /// …a note, urge, extension or any other dialog.
    Editing,
    /// Sent by a newer server or console: shown as viewing.
    #[serde(other)]
    Unknown,
}

/// `PUT /api/v1/presence`: what this console has open now. `case: null` clears it. Repeat it
/// every `PRESENCE_HEARTBEAT_SECS` while it holds; it lapses `PRESENCE_TTL_SECS` after the last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PresenceUpdate {
    #[serde(default)]
    pub case: Option<i64>,
    pub activity: Activity,
}

/// One user's presence on one case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Presence {
    pub case: i64,
    /// The user's name, as cases' `claimed_by` and events' `actor` give it.
    pub user: String,
    pub role: Role,
    pub activity: Activity,
    /// Since when the user has had this case open with this activity.
    pub since: DateTime<FixedOffset>,
    /// When it lapses unless renewed.
    pub expires_at: DateTime<FixedOffset>,
}

/// `GET /api/v1/presence?since=<version>&wait=<seconds>`: everyone's presence, on the cases
/// the caller may see. With `since` equal to `version` the server holds the request until
/// something changes (or `wait` runs out) and then answers the whole list again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PresenceList {
    /// Grows with every change of anyone's presence (an arrival, a change, a lapse).
    pub version: i64,
    pub entries: Vec<Presence>,
}

/// A shift of one operator or supervisor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Shift {
    pub id: i64,
    pub user: String,
    pub role: Role,
    pub started_at: DateTime<FixedOffset>,
    /// `null` while the shift runs.
    #[serde(default)]
    pub ended_at: Option<DateTime<FixedOffset>>,
}

/// `GET /api/v1/shifts`: the latest shift of every user who had one in the last 24 hours,
/// running ones first (`?open=true`: only the running ones). A claim whose holder's latest
/// shift has ended was left behind by that shift.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ShiftList {
    pub shifts: Vec<Shift>,
}

/// `POST /api/v1/shifts/end`: ends the caller's running shift and stores its brief.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndShift {
    /// The leaving operator's own words for the next shift (may be empty).
    #[serde(default)]
    pub note: String,
}

/// `POST /api/v1/shifts/{id}/claims`: a supervisor releases every case still claimed by the
/// user of an ended shift (`to: null`), or hands them all to another user on shift.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HandOverClaims {
    #[serde(default)]
    pub to: Option<String>,
}

/// What `POST /api/v1/shifts/{id}/claims` did to each case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HandOverResult {
    /// The cases released or handed over, each at its new version.
    pub moved: Vec<super::CaseVersion>,
}

/// A case as a handover brief lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BriefCase {
    pub id: i64,
    pub reference: String,
    #[serde(default)]
    pub tier: Option<Tier>,
    /// The case's status, as `Case.status` spells it.
    pub status: String,
    pub title: String,
    #[serde(default)]
    pub department: Option<String>,
    #[serde(default)]
    pub claimed_by: Option<String>,
    /// The case's next unmet deadline.
    #[serde(default)]
    pub next_deadline: Option<DateTime<FixedOffset>>,
    /// What the brief says about it, as plain English text for tools: the follow-up promised,
    /// the extension asked, the rung reached. Consoles and reports render the structured
    /// fields below in the reader's language.
    #[serde(default)]
    pub detail: Option<String>,
    /// The highest escalation rung the case reached in the shift (`EscalationStep` spelled as
    /// on the wire), and on which clock.
    #[serde(default)]
    pub rung: Option<String>,
    #[serde(default)]
    pub rung_clock: Option<String>,
    /// When the follow-up call promised with an online answer is due.
    #[serde(default)]
    pub follow_up_due: Option<DateTime<FixedOffset>>,
    /// The extension waiting for a ruling.
    #[serde(default)]
    pub extension: Option<super::PendingExtension>,
}

/// The shift's counts, from its events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
pub struct ShiftCounts {
    /// Cases created during the shift.
    pub received: i64,
    /// Cases answered online during the shift.
    pub answered_online: i64,
    /// Cases dispatched during the shift.
    pub dispatched: i64,
    /// Open cases overdue when the shift ended.
    pub overdue: i64,
}

/// Someone of the next shift read the brief.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Acknowledgement {
    pub user: String,
    pub at: DateTime<FixedOffset>,
}

/// The handover a shift leaves: computed from live data when the shift ends, then stored
/// unchanged (only acknowledgements are added).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HandoverBrief {
    pub id: i64,
    pub shift: Shift,
    pub written_at: DateTime<FixedOffset>,
    pub note: String,
    /// Open red cases, next deadline first.
    pub red_open: Vec<BriefCase>,
    /// Cases still claimed by the leaving user.
    pub claimed: Vec<BriefCase>,
    /// Extension requests waiting for a ruling.
    pub pending_extensions: Vec<BriefCase>,
    /// Answers sent during the shift whose follow-up is still due.
    pub promised: Vec<BriefCase>,
    /// Cases that reached an escalation rung during the shift.
    pub escalated: Vec<BriefCase>,
    pub counts: ShiftCounts,
    /// How many cases each list had in all: a list holds at most `MAX_BRIEF_CASES`.
    #[serde(default)]
    pub totals: BriefTotals,
    pub acks: Vec<Acknowledgement>,
}

/// Most cases one list of a brief holds; `BriefTotals` says how many there were.
pub const MAX_BRIEF_CASES: usize = 50;

/// The length of each of a brief's lists before it was cut to `MAX_BRIEF_CASES`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
pub struct BriefTotals {
    #[serde(default)]
    pub red_open: i64,
    #[serde(default)]
    pub claimed: i64,
    #[serde(default)]
    pub pending_extensions: i64,
    #[serde(default)]
    pub promised: i64,
    #[serde(default)]
    pub escalated: i64,
}

/// `GET /api/v1/handovers?unacknowledged=true`: the briefs the caller has not acknowledged
/// (the newest of each other user's shifts that ended since the caller's last shift), or
/// the recent briefs, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HandoverList {
    pub handovers: Vec<HandoverBrief>,
}

/// A person a department has on duty, for an urging call to reach.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DutyContact {
    pub name: String,
    pub phone: String,
    /// On duty until then (`null`: until replaced).
    #[serde(default)]
    pub until: Option<DateTime<FixedOffset>>,
}

/// `PUT /api/v1/departments/{id}/duty`: who is on duty now (replaces the list; empty clears).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DutyRoster {
    pub contacts: Vec<DutyContact>,
}
