//! The console's state and its one synchronous `update`: every key, tick and server answer
//! comes in as an `Action`; what must happen outside (requests, quitting) goes out as `Effect`s.
//! No I/O, no clock reads, no globals here — which is what makes it table-testable.
//! Keys and the mouse are handled in `app/keys.rs`; requests and their answers in `app/send.rs`;
//! the hotline intake form in `app/intake.rs`, pasted text in `app/paste.rs`, and decisions on
//! a case with requests on their way in `app/pending.rs`.

use std::collections::HashMap;

use chrono::{DateTime, Duration as ChronoDuration, FixedOffset, Offset, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;

use super::action::{Action, Effect, RequestId};
use super::command::{Command, Keymap};
use super::config::Alarms;
use super::i18n::I18n;
use super::layout;
use super::ranked::Ranked;
use super::textfield::TextField;
use crate::client::{ClientError, new_idempotency_key};
use crate::wire::{
    Case, CaseAction, CaseDetail, Channel, Department, DepartmentKind, DispatchBody, Location, Me,
    NewCase, NoteBody, Policy, Requester, Status, TextBody, Tier, TierBody,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Queue,
    Overdue,
    Departments,
    Stats,
    Search,
}

impl View {
    pub const ALL: [View; 5] = [
        View::Queue,
        View::Overdue,
        View::Departments,
        View::Stats,
        View::Search,
    ];
    pub fn key(self) -> &'static str {
        match self {
            View::Queue => "view.queue",
            View::Overdue => "view.overdue",
            View::Departments => "view.departments",
            View::Stats => "view.stats",
            View::Search => "view.search",
        }
    }
    fn index(self) -> usize {
        View::ALL.iter().position(|v| *v == self).unwrap_or(0)
    }
}

/// The queue panes, top to bottom.
pub const PANES: [Option<Tier>; 4] = [None, Some(Tier::Red), Some(Tier::Orange), Some(Tier::Blue)];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cursor {
    pub pane: usize,
    pub index: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Success,
    Error,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub text: String,
    pub level: Level,
    /// Local time it was shown; confirmations fade, errors stay until dismissed.
    pub at: DateTime<Utc>,
}

/// How long a confirmation stays in the status line.
const MESSAGE_SECONDS: i64 = 10;

/// The last failure of the feed, and when the feed task will try again.
#[derive(Debug, Clone)]
pub struct Failure {
    pub error: ClientError,
    pub since: DateTime<Utc>,
    pub retry_at: DateTime<Utc>,
}

/// What the top bar says about the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnState {
    Connecting,
    Live,
    Stale {
        age: i64,
    },
    Offline {
        retry_in: i64,
    },
    /// The server refused the token; nothing is retried until the operator asks.
    SignedOut,
}

/// The server does not know this token: no retry will help until the operator acts.
pub fn signed_out(error: &ClientError) -> bool {
    error.status() == Some(401)
}

/// A request the operator asked for, kept whole until the server has acknowledged it.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    pub case_id: Option<i64>,
    pub version: i64,
    pub op: Op,
    /// The same key on every retry of this intent, so the server acts once.
    pub key: String,
    /// The case as the operator saw it when deciding; a 412 is explained against it.
    pub seen: Option<Box<Case>>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Act(CaseAction),
    Create(NewCase),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A one-key action (claim, triage…): failures open a dialog.
    Simple,
    /// Sent from the open form: failures go back into the form.
    Form,
}

#[derive(Debug, Clone)]
pub struct InFlight {
    pub request: RequestId,
    pub out: Outgoing,
    pub origin: Origin,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Picker {
    pub case_id: i64,
    /// The case as it was when the form opened: the version the request is based on.
    pub seen: Box<Case>,
    pub query: TextField,
    pub selected: usize,
    pub key: String,
    pub sending: bool,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TextKind {
    Answer,
    Note,
    /// A department's progress note.
    Progress,
    /// A department's result: resolves the case.
    Resolve,
    /// A department returns (退单) the case; the text is the reason.
    Return,
    /// A department asks for more time: `until` and the reason.
    Extension,
    /// A supervisor moves a held case to this department; the text is the reason.
    Reassign(i64),
}

#[derive(Debug, Clone, PartialEq)]
pub struct TextForm {
    pub kind: TextKind,
    pub case_id: i64,
    /// The case as it was when the form opened: the version the request is based on.
    pub seen: Box<Case>,
    pub text: TextField,
    /// The extension form's new time as typed (`+2h`, `18:00`); unused by other kinds.
    pub until: TextField,
    /// Typing goes to `until` rather than `text`.
    pub until_focus: bool,
    pub key: String,
    pub sending: bool,
    pub error: Option<String>,
    /// A note for a caller's repeat call, taken from the new-case form (kept aside until sent).
    pub repeat_call: bool,
    /// The library list of an online answer's form (answer_editor.rs).
    pub editor: Option<Box<AnswerEditor>>,
}

/// A field changed by someone else, for the 412 dialog: (label key, was, now).
pub type FieldChange = (&'static str, String, String);

#[derive(Debug, Clone)]
pub enum Mode {
    Normal,
    Filter,
    Help,
    Tier {
        case_id: i64,
        retier: bool,
    },
    Picker(Picker),
    Text(TextForm),
    NewCase(Box<NewCaseForm>),
    /// Not sent because the server could not be reached; kept for a retry.
    Unsent {
        out: Outgoing,
        reason: String,
        parked: Option<Box<Mode>>,
    },
    /// Urge, extension decision, follow-up (supervision.rs).
    Sup(supervision::SupForm),
    /// The answer library (library.rs), for supervisors and admins.
    Library(LibraryPanel),
    /// Which case of a group its duplicates are merged into (groups.rs).
    Merge(groups::MergeForm),
    /// Ending a shift, a handover brief, the handovers panel (shifts.rs).
    Shift(shifts::ShiftMode),
    /// A department's duty roster being written.
    Duty(duty::DutyForm),
    /// 412: the case changed under us.
    Conflict {
        out: Outgoing,
        current: Box<CaseDetail>,
        changes: Vec<FieldChange>,
        parked: Option<Box<Mode>>,
        /// The parked form is the one that sent `out` (rather than one opened meanwhile).
        from_form: bool,
    },
}

impl Mode {
    fn is_form(&self) -> bool {
        matches!(self, Mode::Picker(_) | Mode::Text(_) | Mode::NewCase(_))
    }
}

/// One picker line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PickerItem {
    pub department_id: i64,
    pub kind: DepartmentKind,
}

pub struct App {
    pub i18n: I18n,
    pub keymap: Keymap,
    pub alarms: Alarms,
    pub server_label: String,

    pub me: Option<Me>,
    pub policy: Option<Policy>,
    pub departments: Vec<Department>,
    dept_index: HashMap<i64, usize>,
    /// Lower-case pinyin initials and full pinyin of each department name; a query matches
    /// their start (`wjj`, `weijian` → 卫健局) so short queries stay precise.
    dept_pinyin: HashMap<i64, (String, String)>,

    /// Boxed: a map's empty buckets then cost a pointer, not a whole case.
    pub cases: HashMap<i64, Box<Case>>,
    /// Older cases found by a server search (not in the feed).
    pub archive: HashMap<i64, Case>,
    /// Open cases per pane, filtered, by next deadline: (queue due, id).
    pub queues: [Ranked<(i64, i64)>; 4],
    /// Held and found cases, filtered, newest first: (-received, id).
    pub search: Ranked<(i64, i64)>,
    pub untriaged_total: usize,
    pub red_total: usize,
    /// The unfiltered orders and counters behind the lists, kept per changed case.
    ix: index::Index,

    pub view: View,
    pub mode: Mode,
    pub filter: String,
    pub cursor: Cursor,
    pub search_cursor: usize,
    pub selected_id: Option<i64>,
    pub show_detail: bool,
    pub detail: Option<CaseDetail>,
    pub phone_revealed: bool,
    /// Lines of the detail pane scrolled out at the top.
    pub detail_scroll: usize,
    /// Rows of the help screen scrolled out at the top.
    pub help_scroll: usize,
    /// The detail pane's wrapped text (detail_text.rs).
    detail_text: Option<DetailText>,

    pub last_ok: Option<DateTime<Utc>>,
    pub failure: Option<Failure>,
    pub offset: ChronoDuration,
    pub server_zone: FixedOffset,
    pub now: DateTime<Utc>,
    pub message: Option<Message>,

    pub in_flight: Option<InFlight>,
    queued: Vec<(Outgoing, Origin)>,
    next_request: RequestId,
    pub size: (u16, u16),
    /// Text put aside with Esc, per case and kind; reopening the form brings it back.
    drafts: HashMap<(i64, TextKind), String>,
    /// The new-case form put aside with Esc (a caller may still be on the line).
    case_draft: Option<Box<NewCaseForm>>,
    /// The Overdue, Departments and Stats views, and alarms (supervision.rs).
    pub sup: supervision::Supervision,
    /// `a` on an untriaged case: once the tier is chosen, the department picker opens.
    pub assign_after_tier: Option<i64>,
    /// The catalog the intake form's pickers offer, and its caller lookups (app/intake.rs).
    pub intake: intake::IntakeState,
    /// The answer library the answer editor offers (answer_editor.rs).
    pub library: Library,
    /// Similar-request groups in the untriaged pane (app/groups.rs).
    pub groups: groups::GroupState,
    /// Who has which case open, and what this console last published (app/presence.rs).
    pub presence: presence::PresenceState,
    /// This user's shift, the handover briefs and everyone's latest shift (app/shifts.rs).
    pub shifts: shifts::ShiftState,
    /// Requests made by the console itself, waiting for `take_background`.
    background: Vec<Effect>,
}

impl App {
    pub fn new(
        i18n: I18n,
        keymap: Keymap,
        alarms: Alarms,
        server_label: &str,
        now: DateTime<Utc>,
    ) -> App {
        App {
            i18n,
            keymap,
            alarms,
            server_label: server_label.to_string(),
            me: None,
            policy: None,
            departments: Vec::new(),
            dept_index: HashMap::new(),
            dept_pinyin: HashMap::new(),
            cases: HashMap::new(),
            archive: HashMap::new(),
            queues: Default::default(),
            search: Ranked::default(),
            untriaged_total: 0,
            red_total: 0,
            ix: index::Index::default(),
            view: View::Queue,
            mode: Mode::Normal,
            filter: String::new(),
            cursor: Cursor::default(),
            search_cursor: 0,
            selected_id: None,
            show_detail: false,
            detail: None,
            phone_revealed: false,
            detail_scroll: 0,
            help_scroll: 0,
            detail_text: None,
            last_ok: None,
            failure: None,
            offset: ChronoDuration::zero(),
            server_zone: Utc.fix(),
            now,
            message: None,
            in_flight: None,
            queued: Vec::new(),
            next_request: 1,
            size: (80, 24),
            drafts: HashMap::new(),
            case_draft: None,
            sup: supervision::Supervision::default(),
            assign_after_tier: None,
            intake: intake::IntakeState::default(),
            library: Library::default(),
            groups: groups::GroupState::default(),
            presence: presence::PresenceState::default(),
            shifts: shifts::ShiftState::default(),
            background: Vec::new(),
        }
    }

    // ---- queries used by drawing -----------------------------------------------------------

    /// The server's clock at local time `now`.
    pub fn server_now(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now + self.offset
    }

    pub fn conn_state(&self, now: DateTime<Utc>) -> ConnState {
        if let Some(f) = &self.failure {
            if signed_out(&f.error) {
                return ConnState::SignedOut;
            }
            return ConnState::Offline {
                retry_in: (f.retry_at - now).num_seconds().max(0),
            };
        }
        match self.last_ok {
            None => ConnState::Connecting,
            Some(t) => {
                let age = (now - t).num_seconds();
                if age > self.alarms.stale_after_seconds {
                    ConnState::Stale { age }
                } else {
                    ConnState::Live
                }
            }
        }
    }

    pub fn overdue_total(&self, now: DateTime<Utc>) -> usize {
        self.overdue_count(self.server_now(now).timestamp())
    }

    pub fn case(&self, id: i64) -> Option<&Case> {
        self.cases
            .get(&id)
            .map(|c| &**c)
            .or_else(|| self.archive.get(&id))
    }

    pub fn department_name(&self, id: i64) -> Option<&str> {
        self.dept_index
            .get(&id)
            .map(|&i| self.departments[i].name.as_str())
    }

    /// The department that last returned (退单) this case, when its timeline is loaded: the
    /// picker marks it so a returned case is not sent straight back.
    pub fn returned_by(&self, case_id: i64) -> Option<i64> {
        let d = self.detail.as_ref().filter(|d| d.case.id == case_id)?;
        d.events
            .iter()
            .rev()
            .find(|e| e.action == "return")
            .and_then(|e| e.payload.get("department_id"))
            .and_then(|v| v.as_i64())
    }

    pub fn selected_case(&self) -> Option<&Case> {
        self.selected_id.and_then(|id| self.case(id))
    }

    /// Seconds to the case's next deadline on the server clock (negative when overdue).
    pub fn seconds_left(&self, case: &Case, now: DateTime<Utc>) -> Option<i64> {
        case.next_due
            .as_ref()
            .map(|d| (d.due_at.with_timezone(&Utc) - self.server_now(now)).num_seconds())
    }

    /// Departments for the picker: grouped townships, bureaus, squads, hospitals; most used
    /// first within a group; filtered by name, pinyin initials or full pinyin.
    pub fn picker_items(&self, query: &str) -> Vec<PickerItem> {
        let q = query.trim().to_lowercase();
        let mut items: Vec<&Department> = self
            .departments
            .iter()
            .filter(|d| d.active)
            .filter(|d| q.is_empty() || self.department_matches(d, &q))
            .collect();
        let group = |k: DepartmentKind| match k {
            DepartmentKind::Township => 0,
            DepartmentKind::Bureau => 1,
            DepartmentKind::Squad => 2,
            DepartmentKind::Hospital => 3,
        };
        items.sort_by(|a, b| {
            group(a.kind)
                .cmp(&group(b.kind))
                .then_with(|| {
                    let ua = self.ix.dept_usage.get(&a.id).copied().unwrap_or(0);
                    let ub = self.ix.dept_usage.get(&b.id).copied().unwrap_or(0);
                    ub.cmp(&ua)
                })
                .then_with(|| a.name.cmp(&b.name))
        });
        items
            .into_iter()
            .map(|d| PickerItem {
                department_id: d.id,
                kind: d.kind,
            })
            .collect()
    }

    fn department_matches(&self, d: &Department, q: &str) -> bool {
        self.dept_pinyin
            .get(&d.id)
            .map_or(d.name.to_lowercase().contains(q), |k| {
                super::pinyin::matches(&d.name, k, q)
            })
    }

    // ---- update ----------------------------------------------------------------------------

    pub fn update(&mut self, action: Action) -> Vec<Effect> {
        let was_picker = matches!(self.mode, Mode::Picker(_));
        let effects = self.step(action);
        self.refresh_detail_text();
        self.presence_effects(effects.contains(&Effect::Quit));
        self.shift_effects();
        self.duty_effects(was_picker);
        effects
    }

    /// The requests the console makes by itself, not asked for by this action (presence,
    /// heartbeats, the shifts' refresh); the loop takes them after each batch of actions.
    pub fn take_background(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.background)
    }

    fn step(&mut self, action: Action) -> Vec<Effect> {
        match action {
            Action::Tick(now) => {
                self.now = now;
                if self.message.as_ref().is_some_and(|m| {
                    m.level != Level::Error && (now - m.at).num_seconds() >= MESSAGE_SECONDS
                }) {
                    self.message = None;
                }
                self.sup_tick()
            }
            Action::Resize { width, height } => {
                self.size = (width, height);
                vec![]
            }
            Action::Key(key) => self.on_key(key),
            Action::Paste(text) => self.on_paste(&text),
            Action::LookupDue(generation) => self.on_lookup_due(generation),
            Action::CallerCasesLoaded { generation, list } => {
                self.on_caller_cases(generation, list)
            }
            Action::CallerLookupFailed { generation, error } => {
                self.on_caller_lookup_failed(generation, error)
            }
            Action::Mouse(m) => self.on_mouse(m),
            Action::SessionLoaded(session) => {
                let super::action::Session {
                    me,
                    policy,
                    departments,
                    catalog,
                } = *session;
                let first = self.me.is_none();
                // Who is signed in decides where cases go (a department's own deadlines).
                let who = |m: &Me| (m.role, m.department_id);
                let same = self.me.as_ref().map(who) == Some(who(&me));
                self.me = Some(me);
                if !same {
                    self.reindex();
                }
                self.policy = Some(policy);
                self.set_departments(departments);
                self.sup_on_session();
                self.intake_on_session(catalog, first);
                if first {
                    self.library_on_session()
                } else {
                    vec![]
                }
            }
            Action::FeedLoaded {
                changes,
                received_at,
            } => {
                self.offset = changes.server_time.with_timezone(&Utc) - received_at;
                self.server_zone = *changes.server_time.offset();
                self.last_ok = Some(received_at);
                self.now = received_at;
                self.index_time();
                if self.failure.take().is_some() {
                    self.info(Level::Success, self.i18n.t("msg.reconnected").to_string());
                }
                let before = self.selected_case().map(|c| c.version);
                // An empty long-poll answer only proves the connection: nothing to rebuild.
                if changes.cases.is_empty() && changes.left.is_empty() && !changes.snapshot {
                    return vec![];
                }
                let snapshot = changes.snapshot;
                if snapshot {
                    self.clear_cases();
                    // A snapshot may reuse ids and versions with other content (a restored
                    // database): the detail's wrapped text is made anew.
                    self.detail_text = None;
                }
                for case in changes.cases {
                    self.upsert(case);
                }
                // Tombstones: the case left this department; nothing of it may stay on screen.
                for gone in changes.left {
                    self.unindex(gone.id);
                    self.cases.remove(&gone.id);
                    self.archive.remove(&gone.id);
                }
                self.relocate();
                let after = self.selected_case().map(|c| c.version);
                let mut effects = self.detail_effects(before != after);
                effects.extend(self.sup_alarms(false));
                if snapshot {
                    self.sup.primed = true;
                }
                effects
            }
            Action::FeedFailed {
                error,
                at,
                retry_in,
            } => {
                let since = self.failure.as_ref().map(|f| f.since).unwrap_or(at);
                self.now = at;
                self.failure = Some(Failure {
                    error,
                    since,
                    retry_at: at
                        + ChronoDuration::from_std(retry_in).unwrap_or(ChronoDuration::zero()),
                });
                vec![]
            }
            Action::FeedReset { at } => {
                self.now = at;
                // The server answered: the connection is back, and the message below is the news.
                self.failure = None;
                // Search results and the detail came from the database that is gone.
                let found: Vec<i64> = self.archive.keys().copied().collect();
                for id in found {
                    self.unindex(id);
                }
                self.archive.clear();
                self.detail = None;
                self.relocate();
                self.info(Level::Info, self.i18n.t("msg.resnapshot").to_string());
                vec![Effect::Resnapshot]
            }
            Action::AnswersLoaded { list, at } => self.on_answers_loaded(list, at),
            Action::AnswersFailed { error, .. } => self.on_answers_failed(&error),
            a @ (Action::AnswerRetired(_)
            | Action::AnswerRetireFailed { .. }
            | Action::AnswerSaved(_)
            | Action::AnswerSaveFailed { .. }
            | Action::AnswerCasesLoaded(_)
            | Action::AnswerCasesFailed { .. }) => self.library_panel_answer(a),
            Action::ActionDone { request, case } => self.on_action_done(request, *case),
            Action::GroupDone { request, outcome } => self.on_group_done(request, outcome),
            Action::GroupFailed { request, error } => self.on_group_failed(request, error),
            Action::ActionFailed { request, error } => self.on_action_failed(request, error),
            Action::DetailLoaded(detail) => {
                if Some(detail.case.id) == self.selected_id {
                    let id = detail.case.id;
                    if self
                        .cases
                        .get(&id)
                        .is_none_or(|c| c.version < detail.case.version)
                    {
                        // Lists keep the masked phone; only the detail pane shows a revealed one.
                        let mut case = detail.case.clone();
                        case.requester.phone = crate::wire::mask_phone(&case.requester.phone);
                        self.upsert(case);
                        self.relocate();
                    }
                    self.detail = Some(*detail);
                }
                vec![]
            }
            Action::DetailFailed { case_id, error } => {
                if Some(case_id) == self.selected_id {
                    let text = self
                        .i18n
                        .f("msg.detail_failed", &[("error", &self.error_text(&error))]);
                    self.info(Level::Error, text);
                }
                vec![]
            }
            Action::SearchLoaded { query, list } => {
                if query == self.filter {
                    for c in list.cases {
                        if !self.cases.contains_key(&c.id) {
                            let id = c.id;
                            self.unindex(id);
                            self.archive.insert(id, c);
                            self.index(id);
                        }
                    }
                    self.relocate();
                }
                vec![]
            }
            a @ (Action::ReportLoaded { .. } | Action::ReportFailed { .. }) => self.sup_report(a),
            Action::PresenceLoaded(list) => self.on_presence_loaded(list),
            Action::PresenceFailed(error) => self.on_presence_failed(&error),
            Action::Shifts(a) => self.on_shift_action(a),
            Action::DepartmentsLoaded(list) => self.on_departments_loaded(list),
            Action::DutySaved => self.duty_saved(),
            Action::DutyFailed { error } => self.duty_failed(error),
            Action::SearchFailed { error, .. } => {
                let text = self
                    .i18n
                    .f("msg.search_failed", &[("error", &self.error_text(&error))]);
                self.info(Level::Error, text);
                vec![]
            }
        }
    }

    fn info(&mut self, level: Level, text: String) {
        self.message = Some(Message {
            text,
            level,
            at: self.now,
        });
    }

    fn set_departments(&mut self, departments: Vec<Department>) {
        self.dept_pinyin = departments
            .iter()
            .map(|d| (d.id, super::pinyin::keys(&d.name)))
            .collect();
        self.dept_index = departments
            .iter()
            .enumerate()
            .map(|(i, d)| (d.id, i))
            .collect();
        self.departments = departments;
        self.rebuild();
    }

    /// A newer version replaces an older one; an older answer (a slow feed page racing our own
    /// action's reply) never rolls a case back.
    fn upsert(&mut self, case: Case) {
        let id = case.id;
        // A case that is no longer this department's (the reply to its own return, say) leaves
        // this console; the feed says so with a tombstone instead.
        let foreign = self
            .me
            .as_ref()
            .filter(|m| m.role == crate::wire::Role::Department)
            .is_some_and(|me| case.department_id != me.department_id);
        if !foreign
            && self
                .cases
                .get(&id)
                .is_some_and(|held| held.version > case.version)
        {
            return;
        }
        self.unindex(id);
        self.archive.remove(&id);
        if foreign {
            self.cases.remove(&id);
            return;
        }
        self.cases.insert(id, Box::new(case));
        self.index(id);
    }

    /// Makes the shown lists again from the kept orders after the filter, the drill-down or
    /// the departments changed; keeps the cursor on the same case when it is still listed.
    pub fn rebuild(&mut self) {
        self.refilter();
        self.relocate();
    }

    /// Finds the selected case again after the lists changed; when it left (dispatched by
    /// someone else, filtered out) the cursor stays at the same place in its pane.
    pub(super) fn relocate(&mut self) {
        if let Some(id) = self.selected_id {
            let (pane, search) = self.locate(id);
            if let Some((pane, index)) = pane {
                self.cursor = Cursor { pane, index };
            }
            if let Some(i) = search {
                self.search_cursor = i;
            }
        }
        self.clamp_cursor();
        self.sync_selected();
    }

    fn clamp_cursor(&mut self) {
        let len = self.queues[self.cursor.pane].len();
        if len == 0 {
            // Move to the nearest pane that has cases.
            if let Some(p) = (0..4)
                .map(|d| (self.cursor.pane + d) % 4)
                .find(|p| !self.queues[*p].is_empty())
            {
                self.cursor = Cursor { pane: p, index: 0 };
            } else {
                self.cursor.index = 0;
            }
        } else if self.cursor.index >= len {
            self.cursor.index = len - 1;
        }
        if self.search_cursor >= self.search.len() {
            self.search_cursor = self.search.len().saturating_sub(1);
        }
    }

    fn sync_selected(&mut self) {
        let id = match self.view {
            View::Search => self.search.id_at(self.search_cursor),
            View::Overdue => self.sup_selected_id(),
            _ => self.queues[self.cursor.pane].id_at(self.cursor.index),
        };
        if id != self.selected_id {
            self.selected_id = id;
            self.phone_revealed = false;
            self.detail_scroll = 0;
            if self.detail.as_ref().map(|d| d.case.id) != id {
                self.detail = None;
            }
        }
    }

    /// Asks for the selected case's timeline when it is missing or out of date.
    fn detail_effects(&self, changed: bool) -> Vec<Effect> {
        match self.selected_id {
            Some(id) if changed || self.detail.as_ref().is_none_or(|d| d.case.id != id) => {
                vec![Effect::FetchDetail {
                    case_id: id,
                    reveal_phone: self.phone_revealed,
                }]
            }
            _ => vec![],
        }
    }

    fn after_move(&mut self) -> Vec<Effect> {
        let before = self.selected_id;
        self.sync_selected();
        if self.selected_id != before {
            self.detail_effects(false)
        } else {
            vec![]
        }
    }

    // ---- movement --------------------------------------------------------------------------

    fn move_by(&mut self, delta: isize) {
        if self.view == View::Search {
            let len = self.search.len();
            if len > 0 {
                self.search_cursor =
                    (self.search_cursor as isize + delta).clamp(0, len as isize - 1) as usize;
            }
            return;
        }
        // The panes read as one list: moving past the end of one enters the next.
        let flat: Vec<usize> = self.queues.iter().map(Ranked::len).collect();
        let total: usize = flat.iter().sum();
        if total == 0 {
            return;
        }
        let before: usize = flat[..self.cursor.pane].iter().sum::<usize>() + self.cursor.index;
        let mut pos = (before as isize + delta).clamp(0, total as isize - 1) as usize;
        for (p, len) in flat.iter().enumerate() {
            if pos < *len {
                self.cursor = Cursor {
                    pane: p,
                    index: pos,
                };
                return;
            }
            pos -= len;
        }
    }

    fn move_to(&mut self, bottom: bool) {
        self.move_by(if bottom {
            isize::MAX / 2
        } else {
            -(isize::MAX / 2)
        });
    }

    fn page(&self) -> isize {
        (self.size.1 as isize / 2).max(1)
    }
}

mod answer_editor;
mod answer_form;
mod detail_text;
mod duty;
mod groups;
mod help_text;
mod index;
mod intake;
mod keys;
mod library;
mod paste;
mod pending;
mod presence;
mod roles;
mod send;
mod shifts;

pub use answer_editor::{AnswerEditor, EditorFocus, LIBRARY_MAX_AGE_SECONDS, Library};
pub use answer_form::{
    A_BODY, A_CATEGORY, A_TAGS, A_TITLE, A_UNTIL, ANSWER_FIELDS, AnswerForm, parse_valid_until,
    split_tags,
};
pub use detail_text::{DetailText, TextLine, Tone, clock, live_escalation};
pub use duty::{DutyForm, DutyLineError, parse_roster};
pub use groups::{GroupState, MergeForm, group_key};
pub use help_text::{HelpRow, help_box, help_columns};
pub use intake::{
    CATEGORY, CallerQuery, Choice, DESCRIPTION, IntakeState, LOOKUP_DEBOUNCE, Lookup, NAME,
    NEW_CASE_FIELDS, NewCaseForm, PHONE, TITLE, TOWN, is_picker,
};
pub use library::{FollowUp, LibraryPanel};
pub use presence::{PresenceState, presence_mark};
pub use shifts::{BriefView, EndShiftForm, ShiftAction, ShiftMode, ShiftRequest, ShiftState};

pub mod supervision;
