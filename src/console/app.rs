//! The console's state and its one synchronous `update`: every key, tick and server answer
//! comes in as an `Action`; what must happen outside (requests, quitting) goes out as `Effect`s.
//! No I/O, no clock reads, no globals here — which is what makes it table-testable.

use std::collections::HashMap;

use chrono::{DateTime, Duration as ChronoDuration, FixedOffset, Offset, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;

use super::action::{Action, Effect, RequestId};
use super::command::{Command, Keymap};
use super::config::Alarms;
use super::i18n::I18n;
use super::layout;
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
    Stale { age: i64 },
    Offline { retry_in: i64 },
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
    pub query: String,
    pub selected: usize,
    pub key: String,
    pub sending: bool,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TextKind {
    Answer,
    Note,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TextForm {
    pub kind: TextKind,
    pub case_id: i64,
    /// The case as it was when the form opened: the version the request is based on.
    pub seen: Box<Case>,
    pub text: String,
    /// Where typing goes, in characters.
    pub cursor: usize,
    pub key: String,
    pub sending: bool,
    pub error: Option<String>,
}

/// The hotline intake form's text fields, in tab order (the channel is chosen with ←/→).
pub const NEW_CASE_FIELDS: [&str; 8] = [
    "form.channel",
    "form.title",
    "form.category",
    "form.name",
    "form.phone",
    "form.town",
    "form.address",
    "form.description",
];

#[derive(Debug, Clone, PartialEq)]
pub struct NewCaseForm {
    pub channel: Channel,
    /// Indexed like `NEW_CASE_FIELDS`; slot 0 (the channel) is unused.
    pub fields: [String; 8],
    pub focus: usize,
    /// Where typing goes in the focused field, in characters.
    pub cursor: usize,
    pub errors: HashMap<usize, String>,
    pub key: String,
    pub sending: bool,
    pub error: Option<String>,
}

impl NewCaseForm {
    fn new() -> NewCaseForm {
        let mut fields: [String; 8] = Default::default();
        fields[2] = "general".into();
        NewCaseForm {
            channel: Channel::Hotline12345,
            fields,
            focus: 1,
            cursor: 0,
            errors: HashMap::new(),
            key: new_idempotency_key(),
            sending: false,
            error: None,
        }
    }
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
    NewCase(NewCaseForm),
    /// Not sent because the server could not be reached; kept for a retry.
    Unsent {
        out: Outgoing,
        reason: String,
        parked: Option<Box<Mode>>,
    },
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

    pub cases: HashMap<i64, Case>,
    /// Older cases found by a server search (not in the feed).
    pub archive: HashMap<i64, Case>,
    /// Case ids per pane, filtered and sorted by next deadline.
    pub queues: [Vec<i64>; 4],
    pub search: Vec<i64>,
    /// Every open case: (next due as unix seconds, flagged overdue by the server), for counters.
    open_index: Vec<(i64, bool)>,
    pub untriaged_total: usize,
    pub red_total: usize,
    dept_usage: HashMap<i64, usize>,

    pub view: View,
    pub mode: Mode,
    pub filter: String,
    pub cursor: Cursor,
    pub search_cursor: usize,
    pub selected_id: Option<i64>,
    pub show_detail: bool,
    pub detail: Option<CaseDetail>,
    pub phone_revealed: bool,

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
    case_draft: Option<NewCaseForm>,
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
            search: Vec::new(),
            open_index: Vec::new(),
            untriaged_total: 0,
            red_total: 0,
            dept_usage: HashMap::new(),
            view: View::Queue,
            mode: Mode::Normal,
            filter: String::new(),
            cursor: Cursor::default(),
            search_cursor: 0,
            selected_id: None,
            show_detail: false,
            detail: None,
            phone_revealed: false,
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
        }
    }

    // ---- queries used by drawing -----------------------------------------------------------

    /// The server's clock at local time `now`.
    pub fn server_now(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now + self.offset
    }

    pub fn conn_state(&self, now: DateTime<Utc>) -> ConnState {
        if let Some(f) = &self.failure {
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
        let s = self.server_now(now).timestamp();
        self.open_index
            .iter()
            .filter(|(due, flagged)| *flagged || *due < s)
            .count()
    }

    pub fn case(&self, id: i64) -> Option<&Case> {
        self.cases.get(&id).or_else(|| self.archive.get(&id))
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
                    let ua = self.dept_usage.get(&a.id).copied().unwrap_or(0);
                    let ub = self.dept_usage.get(&b.id).copied().unwrap_or(0);
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
        if d.name.to_lowercase().contains(q) {
            return true;
        }
        self.dept_pinyin
            .get(&d.id)
            .is_some_and(|(initials, full)| initials.starts_with(q) || full.starts_with(q))
    }

    // ---- update ----------------------------------------------------------------------------

    pub fn update(&mut self, action: Action) -> Vec<Effect> {
        match action {
            Action::Tick(now) => {
                self.now = now;
                if self.message.as_ref().is_some_and(|m| {
                    m.level != Level::Error && (now - m.at).num_seconds() >= MESSAGE_SECONDS
                }) {
                    self.message = None;
                }
                vec![]
            }
            Action::Resize { width, height } => {
                self.size = (width, height);
                vec![]
            }
            Action::Key(key) => self.on_key(key),
            Action::Mouse(m) => self.on_mouse(m),
            Action::SessionLoaded(session) => {
                let super::action::Session {
                    me,
                    policy,
                    departments,
                } = *session;
                self.me = Some(me);
                self.policy = Some(policy);
                self.set_departments(departments);
                vec![]
            }
            Action::FeedLoaded {
                changes,
                received_at,
            } => {
                self.offset = changes.server_time.with_timezone(&Utc) - received_at;
                self.server_zone = *changes.server_time.offset();
                self.last_ok = Some(received_at);
                self.now = received_at;
                if self.failure.take().is_some() {
                    self.info(Level::Success, self.i18n.t("msg.reconnected").to_string());
                }
                let before = self.selected_case().map(|c| c.version);
                // An empty long-poll answer only proves the connection: nothing to rebuild.
                if changes.cases.is_empty() && !changes.snapshot {
                    return vec![];
                }
                if changes.snapshot {
                    self.cases.clear();
                }
                for case in changes.cases {
                    self.upsert(case);
                }
                self.rebuild();
                let after = self.selected_case().map(|c| c.version);
                self.detail_effects(before != after)
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
            Action::ActionDone { request, case } => self.on_action_done(request, *case),
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
                        self.rebuild();
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
                            self.archive.insert(c.id, c);
                        }
                    }
                    self.rebuild();
                }
                vec![]
            }
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
        use pinyin::ToPinyin;
        self.dept_pinyin = departments
            .iter()
            .map(|d| {
                let mut initials = String::new();
                let mut full = String::new();
                for (c, p) in d.name.chars().zip(d.name.as_str().to_pinyin()) {
                    match p {
                        Some(p) => {
                            initials.push_str(p.first_letter());
                            full.push_str(p.plain());
                        }
                        None => {
                            let c = c.to_ascii_lowercase();
                            initials.push(c);
                            full.push(c);
                        }
                    }
                }
                (d.id, (initials, full))
            })
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
        self.archive.remove(&case.id);
        match self.cases.get(&case.id) {
            Some(held) if held.version > case.version => {}
            _ => {
                self.cases.insert(case.id, case);
            }
        }
    }

    fn matches_filter(&self, c: &Case, q: &str) -> bool {
        if q.is_empty() {
            return true;
        }
        let has = |s: &str| s.to_lowercase().contains(q);
        has(&c.reference)
            || has(&c.title)
            || has(&c.location.town)
            || c.department_id.is_some_and(|id| {
                self.dept_index.get(&id).is_some_and(|&i| {
                    let d = &self.departments[i];
                    self.department_matches(d, q)
                })
            })
    }

    /// Recomputes the panes, the search list and the counters from the held cases; keeps the
    /// cursor on the same case when it is still listed.
    pub fn rebuild(&mut self) {
        let q = self.filter.trim().to_lowercase();
        let mut panes: [Vec<(i64, i64)>; 4] = Default::default();
        let mut search: Vec<(i64, i64)> = Vec::new();
        self.open_index.clear();
        self.dept_usage.clear();
        self.untriaged_total = 0;
        self.red_total = 0;
        for c in self.cases.values() {
            if let Some(d) = c.department_id {
                *self.dept_usage.entry(d).or_default() += 1;
            }
            let open = c.status.is_open();
            let due = c
                .next_due
                .as_ref()
                .map(|d| d.due_at.timestamp())
                .unwrap_or(i64::MAX);
            if open {
                self.open_index.push((due, c.overdue));
                match c.tier {
                    None => self.untriaged_total += 1,
                    Some(Tier::Red) => self.red_total += 1,
                    _ => {}
                }
            }
            let matched = self.matches_filter(c, &q);
            if matched {
                search.push((-c.received_at.timestamp(), c.id));
            }
            if open && matched {
                let pane = PANES.iter().position(|t| *t == c.tier).unwrap_or(0);
                panes[pane].push((due, c.id));
            }
        }
        for c in self.archive.values() {
            if self.matches_filter(c, &q) {
                search.push((-c.received_at.timestamp(), c.id));
            }
        }
        for (i, mut p) in panes.into_iter().enumerate() {
            p.sort_unstable();
            self.queues[i] = p.into_iter().map(|(_, id)| id).collect();
        }
        search.sort_unstable();
        self.search = search.into_iter().map(|(_, id)| id).collect();
        self.relocate();
    }

    /// Finds the selected case again after the lists changed; when it left (dispatched by
    /// someone else, filtered out) the cursor stays at the same place in its pane.
    fn relocate(&mut self) {
        if let Some(id) = self.selected_id {
            for (p, q) in self.queues.iter().enumerate() {
                if let Some(i) = q.iter().position(|x| *x == id) {
                    self.cursor = Cursor { pane: p, index: i };
                    break;
                }
            }
            if let Some(i) = self.search.iter().position(|x| *x == id) {
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
            View::Search => self.search.get(self.search_cursor).copied(),
            _ => self.queues[self.cursor.pane]
                .get(self.cursor.index)
                .copied(),
        };
        if id != self.selected_id {
            self.selected_id = id;
            self.phone_revealed = false;
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
        let flat: Vec<usize> = self.queues.iter().map(Vec::len).collect();
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

    // ---- keys ------------------------------------------------------------------------------

    fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let mode = std::mem::replace(&mut self.mode, Mode::Normal);
        match mode {
            Mode::Normal => self.key_normal(key),
            Mode::Filter => self.key_filter(key),
            Mode::Help => {
                // Any key closes help; it is a screen to glance at.
                vec![]
            }
            Mode::Tier { case_id, retier } => self.key_tier(key, case_id, retier),
            Mode::Picker(p) => self.key_picker(key, p),
            Mode::Text(f) => self.key_text(key, f),
            Mode::NewCase(f) => self.key_new_case(key, f),
            Mode::Unsent {
                out,
                reason,
                parked,
            } => {
                if self.keymap.is(&key, Command::Confirm) || self.keymap.is(&key, Command::Submit) {
                    self.mode = parked.map(|m| *m).unwrap_or(Mode::Normal);
                    self.send(out, Origin::Simple)
                } else if self.keymap.is(&key, Command::Cancel) {
                    self.mode = parked.map(|m| *m).unwrap_or(Mode::Normal);
                    self.info(Level::Info, self.i18n.t("msg.discarded").to_string());
                    vec![]
                } else {
                    self.mode = Mode::Unsent {
                        out,
                        reason,
                        parked,
                    };
                    vec![]
                }
            }
            Mode::Conflict {
                mut out,
                current,
                changes,
                parked,
                from_form,
            } => {
                let version = current.case.version;
                if self.keymap.is(&key, Command::Confirm) || self.keymap.is(&key, Command::Submit) {
                    // A retry on the fresh case is a new intent: new version, new key.
                    out.version = version;
                    out.key = new_idempotency_key();
                    out.seen = Some(Box::new(current.case.clone()));
                    self.mode = parked.map(|m| *m).unwrap_or(Mode::Normal);
                    let origin = if from_form {
                        set_form_sending(&mut self.mode, &current.case);
                        Origin::Form
                    } else {
                        Origin::Simple
                    };
                    self.send(out, origin)
                } else if self.keymap.is(&key, Command::Cancel) {
                    self.mode = parked.map(|m| *m).unwrap_or(Mode::Normal);
                    if from_form {
                        // Back to the form, now based on the case as it is.
                        set_form_base(&mut self.mode, &current.case);
                    }
                    vec![]
                } else {
                    self.mode = Mode::Conflict {
                        out,
                        current,
                        changes,
                        parked,
                        from_form,
                    };
                    vec![]
                }
            }
        }
    }

    fn key_normal(&mut self, key: KeyEvent) -> Vec<Effect> {
        let commands = self.keymap.commands(&key).to_vec();
        for command in commands {
            if let Some(effects) = self.command(command) {
                return effects;
            }
        }
        vec![]
    }

    /// Runs a command from the list; `None` when it does not apply here (so another binding
    /// of the same key may).
    fn command(&mut self, command: Command) -> Option<Vec<Effect>> {
        let effects = match command {
            Command::Quit => vec![Effect::Quit],
            Command::Help => {
                self.mode = Mode::Help;
                vec![]
            }
            Command::Down => {
                self.move_by(1);
                self.after_move()
            }
            Command::Up => {
                self.move_by(-1);
                self.after_move()
            }
            Command::PageDown => {
                self.move_by(self.page());
                self.after_move()
            }
            Command::PageUp => {
                self.move_by(-self.page());
                self.after_move()
            }
            Command::Top => {
                self.move_to(false);
                self.after_move()
            }
            Command::NextPane | Command::PrevPane => {
                if self.view == View::Queue {
                    let forward = command == Command::NextPane;
                    let next = (1..4)
                        .map(|d| {
                            if forward {
                                (self.cursor.pane + d) % 4
                            } else {
                                (self.cursor.pane + 4 - d) % 4
                            }
                        })
                        .find(|p| !self.queues[*p].is_empty());
                    if let Some(pane) = next {
                        self.cursor = Cursor { pane, index: 0 };
                    }
                }
                self.after_move()
            }
            Command::Bottom => {
                self.move_to(true);
                self.after_move()
            }
            Command::NextView | Command::PrevView => {
                let step = if command == Command::NextView { 1 } else { 4 };
                self.set_view(View::ALL[(self.view.index() + step) % 5])
            }
            Command::ViewQueue => self.set_view(View::Queue),
            Command::ViewOverdue => self.set_view(View::Overdue),
            Command::ViewDepartments => self.set_view(View::Departments),
            Command::ViewStats => self.set_view(View::Stats),
            Command::ViewSearch => self.set_view(View::Search),
            Command::Detail => {
                self.show_detail = !self.show_detail;
                self.detail_effects(false)
            }
            Command::Filter => {
                self.mode = Mode::Filter;
                vec![]
            }
            Command::Cancel => {
                if self.show_detail {
                    self.show_detail = false;
                } else if !self.filter.is_empty() {
                    self.filter.clear();
                    self.rebuild();
                } else {
                    self.message = None;
                }
                vec![]
            }
            Command::Refresh => {
                self.info(Level::Info, self.i18n.t("msg.refreshing").to_string());
                vec![Effect::RefreshNow]
            }
            Command::NewCase => {
                let form = self.case_draft.take().unwrap_or_else(NewCaseForm::new);
                self.mode = Mode::NewCase(form);
                vec![]
            }
            Command::RevealPhone => match self.selected_id {
                Some(id) => {
                    self.phone_revealed = true;
                    vec![Effect::FetchDetail {
                        case_id: id,
                        reveal_phone: true,
                    }]
                }
                None => vec![],
            },
            Command::Triage
            | Command::Claim
            | Command::Assign
            | Command::Answer
            | Command::Note
            | Command::Urge => {
                let Some(case) = self.selected_case().cloned() else {
                    self.info(Level::Info, self.i18n.t("msg.no_selection").to_string());
                    return Some(vec![]);
                };
                self.case_command(command, &case)
            }
            Command::TierBlue
            | Command::TierOrange
            | Command::TierRed
            | Command::Submit
            | Command::Confirm => return None,
        };
        Some(effects)
    }

    fn set_view(&mut self, view: View) -> Vec<Effect> {
        self.view = view;
        self.after_move()
    }

    fn case_command(&mut self, command: Command, case: &Case) -> Vec<Effect> {
        let me = self.me.as_ref().map(|m| m.name.clone()).unwrap_or_default();
        match command {
            Command::Triage => {
                self.mode = Mode::Tier {
                    case_id: case.id,
                    retier: case.tier.is_some(),
                };
                vec![]
            }
            Command::Claim => {
                let action = if case.claimed_by.as_deref() == Some(me.as_str()) {
                    CaseAction::Release(NoteBody::default())
                } else {
                    CaseAction::Claim(NoteBody::default())
                };
                self.send_simple(case, action)
            }
            Command::Urge => self.send_simple(case, CaseAction::Urge(NoteBody::default())),
            Command::Assign => {
                self.mode = Mode::Picker(Picker {
                    case_id: case.id,
                    seen: Box::new(case.clone()),
                    query: String::new(),
                    selected: 0,
                    key: new_idempotency_key(),
                    sending: false,
                    error: None,
                });
                vec![]
            }
            Command::Answer | Command::Note => {
                let kind = if command == Command::Answer {
                    TextKind::Answer
                } else {
                    TextKind::Note
                };
                let draft = self.drafts.remove(&(case.id, kind)).unwrap_or_default();
                self.mode = Mode::Text(TextForm {
                    kind,
                    case_id: case.id,
                    seen: Box::new(case.clone()),
                    text: draft.clone(),
                    cursor: draft.chars().count(),
                    key: new_idempotency_key(),
                    sending: false,
                    error: None,
                });
                vec![]
            }
            _ => vec![],
        }
    }

    fn send_simple(&mut self, case: &Case, action: CaseAction) -> Vec<Effect> {
        let out = Outgoing {
            case_id: Some(case.id),
            version: case.version,
            op: Op::Act(action),
            key: new_idempotency_key(),
            seen: Some(Box::new(case.clone())),
        };
        self.send(out, Origin::Simple)
    }

    fn key_filter(&mut self, key: KeyEvent) -> Vec<Effect> {
        match key.code {
            KeyCode::Enter => {
                // In Search, Enter also asks the server for older cases.
                if self.view == View::Search && !self.filter.trim().is_empty() {
                    return vec![Effect::Search {
                        query: self.filter.clone(),
                    }];
                }
                vec![]
            }
            KeyCode::Esc => {
                self.filter.clear();
                self.rebuild();
                self.after_move()
            }
            KeyCode::Down | KeyCode::Up => {
                self.mode = Mode::Filter;
                self.move_by(if key.code == KeyCode::Down { 1 } else { -1 });
                self.after_move()
            }
            KeyCode::Backspace => {
                self.filter.pop();
                self.mode = Mode::Filter;
                self.rebuild();
                self.after_move()
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                self.filter.push(c);
                self.mode = Mode::Filter;
                self.rebuild();
                self.after_move()
            }
            _ => {
                self.mode = Mode::Filter;
                vec![]
            }
        }
    }

    fn key_tier(&mut self, key: KeyEvent, case_id: i64, retier: bool) -> Vec<Effect> {
        let tier = self.keymap.commands(&key).iter().find_map(|c| match c {
            Command::TierBlue => Some(Tier::Blue),
            Command::TierOrange => Some(Tier::Orange),
            Command::TierRed => Some(Tier::Red),
            _ => None,
        });
        let Some(tier) = tier else {
            if !self.keymap.is(&key, Command::Cancel) {
                self.mode = Mode::Tier { case_id, retier };
            }
            return vec![];
        };
        let Some(case) = self.cases.get(&case_id).cloned() else {
            return vec![];
        };
        let body = TierBody { tier, note: None };
        let action = if retier {
            CaseAction::Retier(body)
        } else {
            CaseAction::Triage(body)
        };
        self.send_simple(&case, action)
    }

    fn key_picker(&mut self, key: KeyEvent, mut p: Picker) -> Vec<Effect> {
        if p.sending {
            // Waiting for the server: only Esc (hide; the request still completes).
            if !self.keymap.is(&key, Command::Cancel) {
                self.mode = Mode::Picker(p);
            }
            return vec![];
        }
        let items = self.picker_items(&p.query);
        match key.code {
            KeyCode::Esc => return vec![],
            KeyCode::Enter => {
                if let Some(item) = items.get(p.selected) {
                    let out = Outgoing {
                        case_id: Some(p.case_id),
                        version: p.seen.version,
                        op: Op::Act(CaseAction::Dispatch(DispatchBody {
                            department_id: item.department_id,
                            note: None,
                        })),
                        key: p.key.clone(),
                        seen: Some(p.seen.clone()),
                    };
                    p.sending = true;
                    p.error = None;
                    self.mode = Mode::Picker(p);
                    return self.send(out, Origin::Form);
                }
            }
            KeyCode::Down => p.selected = (p.selected + 1).min(items.len().saturating_sub(1)),
            KeyCode::Up => p.selected = p.selected.saturating_sub(1),
            KeyCode::Char('n') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                p.selected = (p.selected + 1).min(items.len().saturating_sub(1));
            }
            KeyCode::Char('p') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                p.selected = p.selected.saturating_sub(1);
            }
            KeyCode::Backspace => {
                p.query.pop();
                p.selected = 0;
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                p.query.push(c);
                p.selected = 0;
            }
            _ => {}
        }
        self.mode = Mode::Picker(p);
        vec![]
    }

    fn key_text(&mut self, key: KeyEvent, mut f: TextForm) -> Vec<Effect> {
        if self.keymap.is(&key, Command::Cancel) {
            if !f.sending && !f.text.trim().is_empty() {
                self.drafts.insert((f.case_id, f.kind), f.text);
                self.info(Level::Info, self.i18n.t("msg.draft_kept").to_string());
            }
            return vec![];
        }
        if f.sending {
            self.mode = Mode::Text(f);
            return vec![];
        }
        if self.keymap.is(&key, Command::Submit) {
            let text = f.text.trim().to_string();
            if text.is_empty() {
                f.error = Some(self.i18n.t("form.error.empty_text").to_string());
                self.mode = Mode::Text(f);
                return vec![];
            }
            let body = TextBody { text };
            let action = match f.kind {
                TextKind::Answer => CaseAction::AnswerOnline(body),
                TextKind::Note => CaseAction::Note(body),
            };
            let out = Outgoing {
                case_id: Some(f.case_id),
                version: f.seen.version,
                op: Op::Act(action),
                key: f.key.clone(),
                seen: Some(f.seen.clone()),
            };
            f.sending = true;
            f.error = None;
            self.mode = Mode::Text(f);
            return self.send(out, Origin::Form);
        }
        super::input::edit(&mut f.text, &mut f.cursor, &key, true);
        self.mode = Mode::Text(f);
        vec![]
    }

    fn key_new_case(&mut self, key: KeyEvent, mut f: NewCaseForm) -> Vec<Effect> {
        if self.keymap.is(&key, Command::Cancel) {
            let typed = f
                .fields
                .iter()
                .enumerate()
                .any(|(i, v)| i != 2 && !v.trim().is_empty());
            if !f.sending && typed {
                f.error = None;
                self.case_draft = Some(f);
                self.info(Level::Info, self.i18n.t("msg.draft_kept").to_string());
            }
            return vec![];
        }
        if f.sending {
            self.mode = Mode::NewCase(f);
            return vec![];
        }
        if self.keymap.is(&key, Command::Submit) {
            f.errors = validate_new_case(&f, &self.i18n);
            if let Some(first) = f.errors.keys().min() {
                f.focus = *first;
                f.cursor = f.fields[f.focus].chars().count();
                self.mode = Mode::NewCase(f);
                return vec![];
            }
            let new = new_case_from(&f);
            let out = Outgoing {
                case_id: None,
                version: 0,
                op: Op::Create(new),
                key: f.key.clone(),
                seen: None,
            };
            f.sending = true;
            f.error = None;
            self.mode = Mode::NewCase(f);
            return self.send(out, Origin::Form);
        }
        let last = NEW_CASE_FIELDS.len() - 1;
        let before = f.focus;
        match key.code {
            KeyCode::Tab | KeyCode::Down => f.focus = (f.focus + 1).min(last),
            KeyCode::BackTab | KeyCode::Up => f.focus = f.focus.saturating_sub(1),
            KeyCode::Enter if f.focus < last => f.focus += 1,
            KeyCode::Left | KeyCode::Right if f.focus == 0 => {
                let i = Channel::ALL
                    .iter()
                    .position(|c| *c == f.channel)
                    .unwrap_or(0);
                let n = Channel::ALL.len();
                let i = if key.code == KeyCode::Right {
                    (i + 1) % n
                } else {
                    (i + n - 1) % n
                };
                f.channel = Channel::ALL[i];
            }
            _ if f.focus > 0 => {
                let focus = f.focus;
                // Only the description takes line breaks.
                if super::input::edit(&mut f.fields[focus], &mut f.cursor, &key, focus == last) {
                    f.errors.remove(&focus);
                }
            }
            _ => {}
        }
        if f.focus != before {
            f.cursor = f.fields[f.focus].chars().count();
        }
        self.mode = Mode::NewCase(f);
        vec![]
    }

    fn on_mouse(&mut self, m: MouseEvent) -> Vec<Effect> {
        if !matches!(self.mode, Mode::Normal | Mode::Filter) {
            return vec![];
        }
        match m.kind {
            MouseEventKind::ScrollDown => {
                self.move_by(3);
                self.after_move()
            }
            MouseEventKind::ScrollUp => {
                self.move_by(-3);
                self.after_move()
            }
            MouseEventKind::Down(MouseButton::Left) => {
                let screen =
                    layout::screen(Rect::new(0, 0, self.size.0, self.size.1), self.show_detail);
                let list = layout::inner(screen.main);
                if self.view == View::Search {
                    let rows = Rect::new(
                        list.x,
                        list.y + 1,
                        list.width,
                        list.height.saturating_sub(1),
                    );
                    if rows.contains((m.column, m.row).into()) {
                        let off = layout::scroll_offset(self.search_cursor, rows.height);
                        let i = off + (m.row - rows.y) as usize;
                        if i < self.search.len() {
                            self.search_cursor = i;
                        }
                    }
                } else if self.view == View::Queue {
                    let counts = self.queues.each_ref().map(Vec::len);
                    for (p, pane) in layout::panes(list, counts).iter().enumerate() {
                        if pane.rows.contains((m.column, m.row).into()) {
                            let off = if p == self.cursor.pane {
                                layout::scroll_offset(self.cursor.index, pane.rows.height)
                            } else {
                                0
                            };
                            let i = off + (m.row - pane.rows.y) as usize;
                            if i < self.queues[p].len() {
                                self.cursor = Cursor { pane: p, index: i };
                            }
                        }
                    }
                }
                self.after_move()
            }
            _ => vec![],
        }
    }

    // ---- sending and answers ---------------------------------------------------------------

    fn send(&mut self, out: Outgoing, origin: Origin) -> Vec<Effect> {
        if self.in_flight.is_some() {
            // One request at a time keeps versions straight: a dispatch typed while its
            // triage is on the way goes out once the triage has answered.
            self.queued.push((out, origin));
            return vec![];
        }
        let request = self.next_request;
        self.next_request += 1;
        let effect = match &out.op {
            Op::Act(action) => Effect::Act {
                request,
                case_id: out.case_id.unwrap_or_default(),
                version: out.version,
                action: action.clone(),
                idempotency_key: out.key.clone(),
            },
            Op::Create(case) => Effect::Create {
                request,
                case: case.clone(),
                idempotency_key: out.key.clone(),
            },
        };
        if origin == Origin::Simple {
            let text = self
                .i18n
                .f("msg.sending", &[("action", &self.op_label(&out.op))]);
            self.info(Level::Info, text);
        }
        self.in_flight = Some(InFlight {
            request,
            out,
            origin,
        });
        vec![effect]
    }

    fn send_next(&mut self) -> Vec<Effect> {
        if self.queued.is_empty() {
            return vec![];
        }
        let (out, origin) = self.queued.remove(0);
        self.send(out, origin)
    }

    fn take_in_flight(&mut self, request: RequestId) -> Option<InFlight> {
        match &self.in_flight {
            Some(f) if f.request == request => self.in_flight.take(),
            _ => None,
        }
    }

    fn on_action_done(&mut self, request: RequestId, detail: CaseDetail) -> Vec<Effect> {
        let Some(done) = self.take_in_flight(request) else {
            return vec![];
        };
        let case = detail.case.clone();
        let (old, new) = (done.out.version, case.version);
        // Forms and queued requests that were based on the version we just moved past follow
        // along: the change was ours.
        if done.out.case_id == Some(case.id) {
            for (q, _) in &mut self.queued {
                if q.case_id == Some(case.id) && q.version == old {
                    q.version = new;
                    q.seen = Some(Box::new(case.clone()));
                }
            }
            if !matches!(&self.mode, Mode::Picker(p) if p.sending)
                && !matches!(&self.mode, Mode::Text(t) if t.sending)
            {
                bump_form_base(&mut self.mode, &case, old);
            }
        }
        let label = self.op_label(&done.out.op);
        let reference = case.reference.clone();
        let is_create = matches!(done.out.op, Op::Create(_));
        self.upsert(case.clone());
        if is_create {
            // Show the operator the case they just took down.
            self.view = View::Queue;
            self.selected_id = Some(case.id);
        }
        self.rebuild();
        if self.selected_id == Some(case.id) {
            self.detail = Some(detail);
        }
        if done.origin == Origin::Form && self.mode.is_form() {
            self.mode = Mode::Normal;
        }
        self.info(
            Level::Success,
            self.i18n
                .f("msg.done", &[("action", &label), ("ref", &reference)]),
        );
        let mut effects = self.send_next();
        effects.extend(self.after_move());
        effects
    }

    fn on_action_failed(&mut self, request: RequestId, error: ClientError) -> Vec<Effect> {
        let Some(failed) = self.take_in_flight(request) else {
            return vec![];
        };
        let label = self.op_label(&failed.out.op);
        let reason = self.error_text(&error);
        let case_id = failed.out.case_id;
        let form_open = failed.origin == Origin::Form && self.mode.is_form();
        if error.is_transient() {
            // Kept with its idempotency key: a retry cannot act twice.
            let text = self
                .i18n
                .f("msg.not_sent", &[("action", &label), ("error", &reason)]);
            if form_open {
                set_form_error(&mut self.mode, text.clone(), false);
                self.info(Level::Error, text);
            } else {
                let parked = self.park();
                self.mode = Mode::Unsent {
                    out: failed.out,
                    reason,
                    parked,
                };
            }
        } else if let Some(current) = error
            .problem()
            .filter(|p| p.status == 412)
            .and_then(|p| p.current.clone())
        {
            let held = failed.out.case_id.and_then(|id| self.cases.get(&id));
            let changes = self.diff(failed.out.seen.as_deref().or(held), &current.case);
            self.upsert(current.case.clone());
            self.rebuild();
            if self.selected_id == Some(current.case.id) {
                self.detail = Some((*current).clone());
            }
            let parked = if form_open {
                Some(Box::new(std::mem::replace(&mut self.mode, Mode::Normal)))
            } else {
                self.park()
            };
            self.mode = Mode::Conflict {
                out: failed.out,
                current,
                changes,
                parked,
                from_form: form_open,
            };
        } else {
            let text = self
                .i18n
                .f("msg.refused", &[("action", &label), ("error", &reason)]);
            if let (Mode::NewCase(f), Some(p)) = (&mut self.mode, error.problem()) {
                // Put the server's field errors next to the fields they are about.
                for fe in &p.errors {
                    if let Some(i) = new_case_field(&fe.field) {
                        f.errors.insert(i, fe.message.clone());
                        f.focus = i;
                        f.cursor = f.fields[i].chars().count();
                    }
                }
            }
            if form_open {
                // The server said no: the same key would only repeat that answer.
                set_form_error(&mut self.mode, text.clone(), true);
            }
            self.info(Level::Error, text);
        }
        // Requests queued behind a failed one were based on it; drop them rather than send
        // them against a state the operator did not see.
        self.queued
            .retain(|(q, _)| q.case_id != case_id || case_id.is_none());
        self.send_next()
    }

    /// Puts an open form aside while a dialog about another request is shown.
    fn park(&mut self) -> Option<Box<Mode>> {
        match std::mem::replace(&mut self.mode, Mode::Normal) {
            Mode::Normal | Mode::Help | Mode::Filter => None,
            m => Some(Box::new(m)),
        }
    }

    fn diff(&self, was: Option<&Case>, now: &Case) -> Vec<FieldChange> {
        let Some(was) = was else {
            return vec![];
        };
        let t = |k: &str| self.i18n.t(k).to_string();
        let tier = |x: Option<Tier>| {
            x.map(|x| t(&format!("tier.{}", x.as_str())))
                .unwrap_or_else(|| t("tier.none"))
        };
        let dept = |x: Option<i64>| {
            x.map(|id| {
                self.department_name(id)
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("#{id}"))
            })
            .unwrap_or_else(|| "—".into())
        };
        let status = |s: Status| t(&format!("status.{}", s.as_str()));
        let mut out = Vec::new();
        if was.status != now.status {
            out.push(("field.status", status(was.status), status(now.status)));
        }
        if was.tier != now.tier {
            out.push(("field.tier", tier(was.tier), tier(now.tier)));
        }
        if was.department_id != now.department_id {
            out.push((
                "field.department",
                dept(was.department_id),
                dept(now.department_id),
            ));
        }
        if was.claimed_by != now.claimed_by {
            let c = |x: &Option<String>| x.clone().unwrap_or_else(|| "—".into());
            out.push(("field.claimed_by", c(&was.claimed_by), c(&now.claimed_by)));
        }
        if was.title != now.title {
            out.push(("field.title", was.title.clone(), now.title.clone()));
        }
        out.push((
            "field.version",
            was.version.to_string(),
            now.version.to_string(),
        ));
        out
    }

    pub fn op_label(&self, op: &Op) -> String {
        match op {
            Op::Act(a) => self.i18n.t(&format!("action.{}", a.name())).to_string(),
            Op::Create(_) => self.i18n.t("action.create").to_string(),
        }
    }

    /// The operator's words for a failure.
    pub fn error_text(&self, e: &ClientError) -> String {
        match e {
            ClientError::Unreachable(detail) => self.i18n.f(
                "err.unreachable",
                &[("server", &self.server_label), ("detail", detail)],
            ),
            ClientError::BadReply(detail) => self.i18n.f(
                "err.bad_reply",
                &[("server", &self.server_label), ("detail", detail)],
            ),
            ClientError::Api(p) if p.status == 401 => self.i18n.t("err.token").to_string(),
            ClientError::Api(p) => {
                let mut s = if p.detail.is_empty() {
                    p.title.clone()
                } else {
                    p.detail.clone()
                };
                for fe in &p.errors {
                    s.push_str(&format!(" · {}: {}", fe.field, fe.message));
                }
                format!("{} ({})", s, p.status)
            }
        }
    }
}

fn set_form_error(mode: &mut Mode, text: String, new_key: bool) {
    let key = || new_idempotency_key();
    match mode {
        Mode::Picker(p) => {
            p.sending = false;
            p.error = Some(text);
            if new_key {
                p.key = key();
            }
        }
        Mode::Text(f) => {
            f.sending = false;
            f.error = Some(text);
            if new_key {
                f.key = key();
            }
        }
        Mode::NewCase(f) => {
            f.sending = false;
            f.error = Some(text);
            if new_key {
                f.key = key();
            }
        }
        _ => {}
    }
}

/// Re-bases an open form on the case as it is now (after a 412); a new intent, a new key.
fn set_form_base(mode: &mut Mode, case: &Case) {
    match mode {
        Mode::Picker(p) => {
            *p.seen = case.clone();
            p.sending = false;
            p.key = new_idempotency_key();
        }
        Mode::Text(f) => {
            *f.seen = case.clone();
            f.sending = false;
            f.key = new_idempotency_key();
        }
        Mode::NewCase(f) => f.sending = false,
        _ => {}
    }
}

fn set_form_sending(mode: &mut Mode, case: &Case) {
    set_form_base(mode, case);
    match mode {
        Mode::Picker(p) => p.sending = true,
        Mode::Text(f) => f.sending = true,
        Mode::NewCase(f) => f.sending = true,
        _ => {}
    }
}

/// Our own action moved the case from `old` to `case.version`: a form based on `old` follows.
fn bump_form_base(mode: &mut Mode, case: &Case, old: i64) {
    match mode {
        Mode::Picker(p) if p.case_id == case.id && p.seen.version == old => {
            *p.seen = case.clone();
        }
        Mode::Text(f) if f.case_id == case.id && f.seen.version == old => {
            *f.seen = case.clone();
        }
        _ => {}
    }
}

fn validate_new_case(f: &NewCaseForm, i18n: &I18n) -> HashMap<usize, String> {
    let mut errors = HashMap::new();
    let required = [1usize, 2, 3, 4, 5];
    for i in required {
        if f.fields[i].trim().is_empty() {
            errors.insert(i, i18n.t("form.error.required").to_string());
        }
    }
    if f.fields[1].chars().count() > crate::wire::MAX_TITLE_CHARS {
        errors.insert(
            1,
            i18n.f(
                "form.error.too_long",
                &[("max", &crate::wire::MAX_TITLE_CHARS.to_string())],
            ),
        );
    }
    if f.fields[7].chars().count() > crate::wire::MAX_DESCRIPTION_CHARS {
        errors.insert(
            7,
            i18n.f(
                "form.error.too_long",
                &[("max", &crate::wire::MAX_DESCRIPTION_CHARS.to_string())],
            ),
        );
    }
    let phone = f.fields[4].trim();
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    if !phone.is_empty()
        && (!(3..=20).contains(&digits)
            || !phone
                .chars()
                .all(|c| c.is_ascii_digit() || "+- ".contains(c)))
    {
        errors.insert(4, i18n.t("form.error.phone").to_string());
    }
    errors
}

/// The form field a server's JSON path names (`requester.phone` → the phone field).
fn new_case_field(path: &str) -> Option<usize> {
    Some(match path.trim_start_matches("body.") {
        "channel" => 0,
        "title" => 1,
        "category" => 2,
        "requester.name" => 3,
        "requester.phone" => 4,
        "location.town" => 5,
        "location.address" => 6,
        "description" => 7,
        _ => return None,
    })
}

fn new_case_from(f: &NewCaseForm) -> NewCase {
    NewCase {
        channel: f.channel,
        category: f.fields[2].trim().to_string(),
        title: f.fields[1].trim().to_string(),
        description: f.fields[7].trim().to_string(),
        requester: Requester {
            name: f.fields[3].trim().to_string(),
            phone: f.fields[4].trim().to_string(),
        },
        location: Location {
            town: f.fields[5].trim().to_string(),
            address: f.fields[6].trim().to_string(),
            lat: None,
            long: None,
        },
    }
}

#[cfg(test)]
#[path = "app_tests.rs"]
mod tests;
