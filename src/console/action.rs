//! The messages into `App::update` (`Action`) and the work it asks the loop to do (`Effect`).

use std::time::Duration;

use chrono::{DateTime, Utc};
use crossterm::event::{KeyEvent, MouseEvent};

use super::app::{ShiftAction, ShiftRequest};
use crate::catalog::Catalog;
use crate::client::ClientError;
use crate::report::DailyReport;
use crate::wire::{
    Answer, AnswerCases, AnswerList, CaseAction, CaseDetail, CaseList, Changes, Department,
    GroupAnswerBody, GroupMergeBody, GroupOutcome, Me, NewCase, Policy, PresenceList,
    PresenceUpdate,
};

/// Matches an answer to the request that caused it; late answers to abandoned requests are
/// recognised and dropped.
pub type RequestId = u64;

#[derive(Debug, Clone)]
pub enum Action {
    Key(KeyEvent),
    /// Text pasted into the terminal (bracketed paste), whole: never taken as keys.
    Paste(String),
    Mouse(MouseEvent),
    Resize {
        width: u16,
        height: u16,
    },
    /// The wall clock, once a second.
    Tick(DateTime<Utc>),
    /// Who we are and what the desk looks like; answered once per connection.
    SessionLoaded(Box<Session>),
    /// A change-feed answer and the local time it arrived (for the server-clock offset).
    FeedLoaded {
        changes: Changes,
        received_at: DateTime<Utc>,
    },
    /// The server refused the feed's cursor (its data was restored or replaced): the feed task
    /// waits for `Effect::Resnapshot` and then takes a new snapshot.
    FeedReset {
        at: DateTime<Utc>,
    },
    /// The feed (or the session) failed; the feed task retries after `retry_in`.
    FeedFailed {
        error: ClientError,
        at: DateTime<Utc>,
        retry_in: Duration,
    },
    ActionDone {
        request: RequestId,
        case: Box<CaseDetail>,
    },
    ActionFailed {
        request: RequestId,
        error: ClientError,
    },
    /// The answer to a group request: a result per case.
    GroupDone {
        request: RequestId,
        outcome: GroupOutcome,
    },
    GroupFailed {
        request: RequestId,
        error: ClientError,
    },
    DetailLoaded(Box<CaseDetail>),
    DetailFailed {
        case_id: i64,
        error: ClientError,
    },
    SearchLoaded {
        query: String,
        list: CaseList,
    },
    SearchFailed {
        query: String,
        error: ClientError,
    },
    /// The caller fields have been still long enough: look the caller up if `generation` is
    /// still the form's latest.
    LookupDue(u64),
    /// A caller's earlier cases, for the lookup of `generation`.
    CallerCasesLoaded {
        generation: u64,
        list: CaseList,
    },
    CallerLookupFailed {
        generation: u64,
        error: ClientError,
    },
    /// Today's report (Departments and Stats views) and the local time it arrived.
    ReportLoaded {
        report: Box<DailyReport>,
        at: DateTime<Utc>,
    },
    ReportFailed {
        error: ClientError,
        at: DateTime<Utc>,
    },
    /// The answer library (`GET /answers`) and the local time it arrived.
    AnswersLoaded {
        list: AnswerList,
        at: DateTime<Utc>,
    },
    AnswersFailed {
        error: ClientError,
        at: DateTime<Utc>,
    },
    AnswerRetired(Box<Answer>),
    AnswerRetireFailed {
        id: i64,
        error: ClientError,
    },
    /// The library kept a new answer or a new version of one.
    AnswerSaved(Box<Answer>),
    AnswerSaveFailed {
        error: ClientError,
    },
    /// The cases answered with an answer lately (the library's follow-up list).
    AnswerCasesLoaded(AnswerCases),
    AnswerCasesFailed {
        id: i64,
        error: ClientError,
    },
    /// Everyone's presence, from the presence long poll.
    PresenceLoaded(PresenceList),
    /// The presence poll failed; it retries by itself.
    PresenceFailed(ClientError),
    /// Shifts and handover briefs (app/shifts.rs).
    Shifts(ShiftAction),
    /// The departments again, with their duty rosters (the picker asked).
    DepartmentsLoaded(Vec<Department>),
    /// The server kept a department's duty roster.
    DutySaved,
    DutyFailed {
        error: ClientError,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub me: Me,
    pub policy: Policy,
    pub departments: Vec<Department>,
    /// The categories and towns a new case may name.
    pub catalog: Catalog,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// `POST /cases/{id}/{action}`; answer with `ActionDone`/`ActionFailed`.
    Act {
        request: RequestId,
        case_id: i64,
        version: i64,
        action: CaseAction,
        idempotency_key: String,
    },
    /// `POST /cases`; answer with `ActionDone`/`ActionFailed`.
    Create {
        request: RequestId,
        case: NewCase,
        idempotency_key: String,
    },
    /// `POST /groups/answer`; answer with `GroupDone`/`GroupFailed`.
    AnswerGroup {
        request: RequestId,
        body: GroupAnswerBody,
        idempotency_key: String,
    },
    /// `POST /groups/merge`; answer with `GroupDone`/`GroupFailed`.
    MergeGroup {
        request: RequestId,
        body: GroupMergeBody,
        idempotency_key: String,
    },
    /// `GET /cases/{id}` (with the phone unmasked when asked).
    FetchDetail {
        case_id: i64,
        reveal_phone: bool,
    },
    /// Server-side search for older cases.
    Search {
        query: String,
    },
    /// Answer `LookupDue(generation)` after the debounce delay (typing in the caller fields).
    LookupSoon {
        generation: u64,
    },
    /// `GET /cases?phone=` or `?requester=`: the caller's earlier cases; answer with
    /// `CallerCasesLoaded`/`CallerLookupFailed`.
    LookupCaller {
        generation: u64,
        phone: Option<String>,
        requester: Option<String>,
    },
    /// Poll the feed now instead of waiting for the back-off.
    RefreshNow,
    /// Discard the feed's cursor and take a new snapshot.
    Resnapshot,
    /// `GET /reports/daily`; answer with `ReportLoaded`/`ReportFailed`.
    FetchReport,
    /// `GET /answers` (with `all`, retired and out-of-window answers too, for the library
    /// panel); answer with `AnswersLoaded`/`AnswersFailed`.
    FetchAnswers {
        all: bool,
    },
    /// `POST /answers/{id}/retire`; answer with `AnswerRetired`/`AnswerRetireFailed`.
    RetireAnswer {
        id: i64,
        idempotency_key: String,
    },
    /// `POST /answers` (`editing: None`) or `PUT /answers/{id}` with `If-Match` of the version
    /// the supervisor edited; answer with `AnswerSaved`/`AnswerSaveFailed`.
    SaveAnswer {
        editing: Option<(i64, i64)>,
        new: Box<crate::wire::NewAnswer>,
        idempotency_key: String,
    },
    /// `GET /answers/{id}/cases?days=`; answer with `AnswerCasesLoaded`/`AnswerCasesFailed`.
    FetchAnswerCases {
        id: i64,
        days: i64,
    },
    /// Ring and/or notify; the loop writes the bytes to the terminal (never drawing).
    Alarm(super::alarm::Alarm),
    /// `PUT /presence`, after the detail's debounce (a newer one replaces one not yet sent);
    /// on quitting, sent before the console exits. From `App::take_background`.
    Presence(PresenceUpdate),
    /// `GET /departments`; answered with `DepartmentsLoaded` (a failure keeps the last list).
    FetchDepartments,
    /// `PUT /departments/{id}/duty`; answered with `DutySaved`/`DutyFailed`.
    PutDuty {
        department_id: i64,
        roster: crate::wire::DutyRoster,
    },
    /// Shift work's requests (app/shifts.rs); answered with `Action::Shifts`.
    Shift(ShiftRequest),
    Quit,
}
