//! Supervision: the overdue board and the follow-up (回访) queue of the Overdue view,
//! the Departments and Stats views' data (today's report), the urge / extension / follow-up
//! dialogs, reassigning a held case, and alarms. A child module of `app`, so it extends `App`
//! with the same private helpers the rest of `update` uses; still no I/O and no clock reads.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use crossterm::event::{KeyCode, KeyEvent, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;

use super::{App, Level, Mode, Op, Origin, Outgoing, View};
use crate::client::new_idempotency_key;
use crate::console::action::{Action, Effect};
use crate::console::alarm::Alarm;
use crate::console::command::Command;
use crate::console::config::NotifyKind;
use crate::console::layout;
use crate::console::ranked::Ranked;
use crate::report::DailyReport;
use crate::wire::{
    Case, CaseAction, ClockKind, ExtensionDecisionBody, FollowUpBody, NoteBody, Role, Satisfaction,
    Status, Tier,
};

/// How often the Departments and Stats views ask for today's report while shown.
pub const REPORT_EVERY_SECONDS: i64 = 60;
/// How long a row stays reversed after its alarm.
pub const FLASH_MILLIS: i64 = 1000;

/// The Overdue view's two panes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SupPane {
    #[default]
    Board,
    FollowUps,
    /// Returned more often than the policy allows: a supervisor must rule.
    Ruling,
    /// A department asked for more time.
    Extensions,
    /// Back at the desk after a department returned them.
    Returned,
}

impl SupPane {
    /// In the order `]` visits them.
    pub const ALL: [SupPane; 5] = [
        SupPane::Board,
        SupPane::FollowUps,
        SupPane::Ruling,
        SupPane::Extensions,
        SupPane::Returned,
    ];
    pub fn key(self) -> &'static str {
        match self {
            SupPane::Board => "board.pane",
            SupPane::FollowUps => "follow_up.pane",
            SupPane::Ruling => "board.ruling",
            SupPane::Extensions => "board.extensions",
            SupPane::Returned => "board.returned",
        }
    }
}

/// The Departments view's sortable columns, in the order `s` cycles them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeptSort {
    Name,
    Open,
    #[default]
    Overdue,
    OnTime,
    AvgSign,
}

impl DeptSort {
    pub const ALL: [DeptSort; 5] = [
        DeptSort::Name,
        DeptSort::Open,
        DeptSort::Overdue,
        DeptSort::OnTime,
        DeptSort::AvgSign,
    ];
    fn next(self) -> DeptSort {
        let i = DeptSort::ALL.iter().position(|s| *s == self).unwrap_or(0);
        DeptSort::ALL[(i + 1) % DeptSort::ALL.len()]
    }
    pub fn key(self) -> &'static str {
        match self {
            DeptSort::Name => "dept.name",
            DeptSort::Open => "dept.open",
            DeptSort::Overdue => "dept.overdue",
            DeptSort::OnTime => "dept.on_time",
            DeptSort::AvgSign => "dept.avg_sign",
        }
    }
}

/// One overdue-board line: the case and its most pressing unmet deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoardRow {
    pub case_id: i64,
    pub clock: ClockKind,
    /// Seconds left on the server clock; negative when breached.
    pub left: i64,
}

/// One Departments line.
#[derive(Debug, Clone, PartialEq)]
pub struct DeptRow {
    pub department_id: i64,
    pub name: String,
    pub open: usize,
    pub overdue: usize,
    /// Resolved on time ÷ resolved today, in percent; `None` before the report or with none
    /// resolved.
    pub on_time: Option<f64>,
    pub avg_minutes_to_sign: Option<f64>,
}

/// The supervisor's dialogs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SupKind {
    /// Confirm an urge, with an optional note.
    Urge,
    /// Approve or deny a pending extension.
    Extension { approve: bool },
    /// Record the follow-up call.
    FollowUp { result: Satisfaction },
}

#[derive(Debug, Clone, PartialEq)]
pub struct SupForm {
    pub kind: SupKind,
    pub case_id: i64,
    /// The case as it was when the dialog opened: the version the request is based on.
    pub seen: Box<Case>,
    pub note: String,
    pub cursor: usize,
}

pub const SATISFACTION: [Satisfaction; 3] = [
    Satisfaction::Satisfied,
    Satisfaction::FairlySatisfied,
    Satisfaction::Dissatisfied,
];

pub fn satisfaction_key(s: Satisfaction) -> &'static str {
    match s {
        Satisfaction::Satisfied => "follow_up.satisfied",
        Satisfaction::FairlySatisfied => "follow_up.fairly_satisfied",
        Satisfaction::Dissatisfied => "follow_up.dissatisfied",
    }
}

/// Supervision state held by `App`.
#[derive(Debug, Clone, Default)]
pub struct Supervision {
    pub pane: SupPane,
    /// Selected case and its position per pane (the id wins while it is still listed).
    pub board_pick: (Option<i64>, usize),
    pub follow_pick: (Option<i64>, usize),
    pub report: Option<DailyReport>,
    /// Local time the report arrived.
    pub report_at: Option<DateTime<Utc>>,
    /// The last failure to fetch it (the old report stays on screen, marked stale).
    pub report_error: Option<(String, DateTime<Utc>)>,
    report_asked: Option<DateTime<Utc>>,
    report_pending: bool,
    pub dept_sort: DeptSort,
    pub muted: bool,
    /// Rows that rang, and when: drawn reversed for a second.
    pub flash: HashMap<i64, DateTime<Utc>>,
    /// (case, clock, due) already announced as about to breach.
    warned: HashSet<(i64, ClockKind, i64)>,
    /// Each case's tier when last seen, to tell a new red case from a known one.
    tiers: HashMap<i64, Option<Tier>>,
    /// The first snapshot has been taken in silently: from then on a red case is news.
    pub(super) primed: bool,
    /// When an about-to-breach alarm last rang, for `[alarms] due_soon_repeat_minutes`.
    due_soon_rang: Option<DateTime<Utc>>,
    /// What the last alarm said, and when: the status line shows it while it has nothing
    /// else to say, so a bell heard from across the room can be read back.
    pub rang: Option<(String, DateTime<Utc>)>,
    view_chosen: bool,
    /// The supervisor's own lists, kept up to date per changed case (app/index.rs), most
    /// pressing first: (next due, or the time asked for, id).
    pub ruling: Ranked<(i64, i64)>,
    pub extensions: Ranked<(i64, i64)>,
    pub returned: Ranked<(i64, i64)>,
    pub ruling_pick: (Option<i64>, usize),
    pub extension_pick: (Option<i64>, usize),
    pub returned_pick: (Option<i64>, usize),
    /// Cases already announced as awaiting a ruling / with an extension request (keyed by the
    /// request's time, so a second request rings again).
    announced_ruling: HashSet<i64>,
    announced_extension: HashSet<(i64, i64)>,
    /// Arrivals found among the changed cases, rung by `sup_alarms`.
    arrivals: Vec<(i64, Arrival)>,
    lists_primed: bool,
    /// The Departments view's selected row.
    pub dept_pick: usize,
    /// The department whose cases the queue shows after a drill-down from Departments.
    pub drill: Option<i64>,
}

/// Why a case rings.
#[derive(Debug, Clone, Copy)]
enum Ring {
    NewRed,
    Breach(ClockKind, i64),
    Arrived(Arrival),
}

/// Something a supervisor must act on arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    Ruling,
    Extension,
}

impl App {
    // ---- queries used by drawing -----------------------------------------------------------

    /// Open cases past a deadline or within the amber threshold of one: red first, then the
    /// latest first.
    pub fn overdue_board(&self, now: DateTime<Utc>) -> Vec<BoardRow> {
        self.board_rows(0, now).collect()
    }

    /// The board's rows from index `from` on (drawing reads only the visible ones).
    pub fn board_rows(&self, from: usize, now: DateTime<Utc>) -> impl Iterator<Item = BoardRow> {
        let s = self.server_now(now);
        self.ix.board.ids_from(from).filter_map(move |id| {
            // The server's own choice of the most pressing clock, as the queue shows it.
            let d = self.cases.get(&id)?.next_due.as_ref()?;
            Some(BoardRow {
                case_id: id,
                clock: d.clock,
                left: (d.due_at.with_timezone(&Utc) - s).num_seconds(),
            })
        })
    }

    pub fn board_len(&self) -> usize {
        self.ix.board.len()
    }

    /// The board's breached and red rows.
    pub fn board_counts(&self, now: DateTime<Utc>) -> (usize, usize) {
        let s = self.server_now(now);
        // A row's countdown is below zero from the second after its due time.
        let cut = s.timestamp();
        let b = &self.ix.board;
        let red = b.rank(&(1, i64::MIN, i64::MIN));
        let breached = b.rank(&(0, cut, i64::MIN)) + b.rank(&(1, cut, i64::MIN)) - red;
        (breached, red)
    }

    /// Resolved cases waiting for their follow-up call, the most pressing first, with the
    /// seconds left on the follow-up clock (when there is one).
    pub fn follow_up_queue(&self, now: DateTime<Utc>) -> Vec<(i64, Option<i64>)> {
        self.follow_rows(0, now).collect()
    }

    /// The follow-up queue's rows from index `from` on.
    pub fn follow_rows(
        &self,
        from: usize,
        now: DateTime<Utc>,
    ) -> impl Iterator<Item = (i64, Option<i64>)> {
        let s = self.server_now(now);
        self.ix.follow.ids_from(from).filter_map(move |id| {
            let c = self.cases.get(&id)?;
            let left = c
                .deadlines
                .iter()
                .find(|d| d.clock == ClockKind::FollowUp && d.met_at.is_none())
                .map(|d| (d.due_at.with_timezone(&Utc) - s).num_seconds());
            Some((id, left))
        })
    }

    pub fn follow_len(&self) -> usize {
        self.ix.follow.len()
    }

    /// How many rows a pane of the Overdue view lists.
    pub fn sup_len(&self, pane: SupPane) -> usize {
        match pane {
            SupPane::Board => self.ix.board.len(),
            SupPane::FollowUps => self.ix.follow.len(),
            SupPane::Ruling => self.sup.ruling.len(),
            SupPane::Extensions => self.sup.extensions.len(),
            SupPane::Returned => self.sup.returned.len(),
        }
    }

    /// The case on row `i` of a pane of the Overdue view.
    pub fn sup_id_at(&self, pane: SupPane, i: usize) -> Option<i64> {
        match pane {
            SupPane::Board => self.ix.board.id_at(i),
            SupPane::FollowUps => self.ix.follow.id_at(i),
            SupPane::Ruling => self.sup.ruling.id_at(i),
            SupPane::Extensions => self.sup.extensions.id_at(i),
            SupPane::Returned => self.sup.returned.id_at(i),
        }
    }

    fn sup_position(&self, pane: SupPane, id: i64) -> Option<usize> {
        match pane {
            SupPane::Board => self.board_position(id),
            SupPane::FollowUps => self.follow_position(id),
            SupPane::Ruling => self.sup_list_position(&self.sup.ruling, id),
            SupPane::Extensions => self.sup_list_position(&self.sup.extensions, id),
            SupPane::Returned => self.sup_list_position(&self.sup.returned, id),
        }
    }

    fn pick(&self, pane: SupPane) -> (Option<i64>, usize) {
        match pane {
            SupPane::Board => self.sup.board_pick,
            SupPane::FollowUps => self.sup.follow_pick,
            SupPane::Ruling => self.sup.ruling_pick,
            SupPane::Extensions => self.sup.extension_pick,
            SupPane::Returned => self.sup.returned_pick,
        }
    }

    fn set_pick(&mut self, pane: SupPane, pick: (Option<i64>, usize)) {
        match pane {
            SupPane::Board => self.sup.board_pick = pick,
            SupPane::FollowUps => self.sup.follow_pick = pick,
            SupPane::Ruling => self.sup.ruling_pick = pick,
            SupPane::Extensions => self.sup.extension_pick = pick,
            SupPane::Returned => self.sup.returned_pick = pick,
        }
    }

    /// The selected row's position in a pane's list, if the pane has rows.
    pub fn sup_index(&self, pane: SupPane) -> Option<usize> {
        let len = self.sup_len(pane);
        if len == 0 {
            return None;
        }
        let (id, index) = self.pick(pane);
        Some(
            id.and_then(|id| self.sup_position(pane, id))
                .unwrap_or(index.min(len - 1)),
        )
    }

    /// The case selected in the Overdue view.
    pub(super) fn sup_selected_id(&self) -> Option<i64> {
        let pane = self.sup.pane;
        self.sup_index(pane).and_then(|i| self.sup_id_at(pane, i))
    }

    /// Departments with their load (live) and today's record (from the report), sorted by
    /// the chosen column.
    pub fn department_rows(&self, now: DateTime<Utc>) -> Vec<DeptRow> {
        let s = self.server_now(now);
        // Due before `s`, to the second.
        let cut = s.timestamp() + i64::from(s.timestamp_subsec_nanos() > 0);
        let mut rows: Vec<DeptRow> = self
            .departments
            .iter()
            .filter(|d| d.active)
            .map(|d| {
                let (open, overdue) = self.ix.depts.get(&d.id).map_or((0, 0), |l| {
                    (l.open, l.flagged + l.due.rank(&(cut, i64::MIN)))
                });
                let today = self
                    .sup
                    .report
                    .as_ref()
                    .and_then(|r| r.by_department.iter().find(|r| r.department_id == d.id));
                DeptRow {
                    department_id: d.id,
                    name: d.name.clone(),
                    open,
                    overdue,
                    on_time: today
                        .filter(|t| t.resolved > 0)
                        .map(|t| 100.0 * t.resolved_on_time as f64 / t.resolved as f64),
                    avg_minutes_to_sign: today.and_then(|t| t.avg_minutes_to_sign),
                }
            })
            .collect();
        // Worst first: most open / overdue, lowest on-time rate, slowest to sign.
        let by = |o: Option<f64>| o.unwrap_or(f64::NAN);
        rows.sort_by(|a, b| {
            let ord = match self.sup.dept_sort {
                DeptSort::Name => a.name.cmp(&b.name),
                DeptSort::Open => b.open.cmp(&a.open),
                DeptSort::Overdue => b.overdue.cmp(&a.overdue).then(b.open.cmp(&a.open)),
                DeptSort::OnTime => by(a.on_time).total_cmp(&by(b.on_time)),
                DeptSort::AvgSign => {
                    by(b.avg_minutes_to_sign).total_cmp(&by(a.avg_minutes_to_sign))
                }
            };
            ord.then_with(|| a.name.cmp(&b.name))
        });
        rows
    }

    /// Whether the report on screen is out of date: the last fetch failed after it arrived.
    pub fn report_stale(&self) -> bool {
        match (&self.sup.report_error, self.sup.report_at) {
            (Some((_, failed)), Some(ok)) => *failed >= ok,
            (Some(_), None) => true,
            _ => false,
        }
    }

    pub fn is_flashing(&self, case_id: i64, now: DateTime<Utc>) -> bool {
        self.sup
            .flash
            .get(&case_id)
            .is_some_and(|t| (now - *t).num_milliseconds() < FLASH_MILLIS)
    }

    fn is_supervisor(&self) -> bool {
        self.me
            .as_ref()
            .is_some_and(|m| matches!(m.role, Role::Supervisor | Role::Admin))
    }

    // ---- hooks called from `update` ---------------------------------------------------------

    /// A changed case that now awaits a ruling, or asks for more time, is news for a
    /// supervisor once the lists have been primed with the state of things.
    fn note_arrivals(sup: &mut Supervision, c: &Case) {
        let primed = sup.lists_primed;
        if c.awaiting_ruling && c.status.is_open() {
            if sup.announced_ruling.insert(c.id) && primed {
                sup.arrivals.push((c.id, Arrival::Ruling));
            }
        } else {
            sup.announced_ruling.remove(&c.id);
        }
        if let Some(p) = &c.pending_extension
            && sup
                .announced_extension
                .insert((c.id, p.requested_at.timestamp()))
            && primed
        {
            sup.arrivals.push((c.id, Arrival::Extension));
        }
    }

    /// A supervisor starts on the Overdue board.
    pub(super) fn sup_on_session(&mut self) {
        if !self.sup.view_chosen {
            self.sup.view_chosen = true;
            if self.me.as_ref().is_some_and(|m| m.role == Role::Supervisor) {
                self.view = View::Overdue;
                self.sync_selected();
            }
        }
    }

    /// Entering Departments or Stats asks for today's report.
    pub(super) fn sup_on_view(&mut self) -> Vec<Effect> {
        if matches!(self.view, View::Departments | View::Stats) && !self.sup.report_pending {
            self.fetch_report()
        } else {
            vec![]
        }
    }

    fn fetch_report(&mut self) -> Vec<Effect> {
        self.sup.report_pending = true;
        self.sup.report_asked = Some(self.now);
        vec![Effect::FetchReport]
    }

    /// Every second: about-to-breach alarms, and the report refreshed while it is shown.
    pub(super) fn sup_tick(&mut self) -> Vec<Effect> {
        self.index_time();
        let mut effects = self.sup_alarms(true);
        let due = self
            .sup
            .report_asked
            .is_none_or(|t| (self.now - t).num_seconds() >= REPORT_EVERY_SECONDS);
        if matches!(self.view, View::Departments | View::Stats) && due && !self.sup.report_pending {
            effects.extend(self.fetch_report());
        }
        let now = self.now;
        self.sup
            .flash
            .retain(|_, t| (now - *t).num_milliseconds() < FLASH_MILLIS);
        effects
    }

    /// A case as this console's own action left it: what it did itself is not news.
    pub(super) fn sup_seen(&mut self, case: &Case) {
        self.sup.tiers.insert(case.id, case.tier);
    }

    pub(super) fn sup_report(&mut self, action: Action) -> Vec<Effect> {
        self.sup.report_pending = false;
        match action {
            Action::ReportLoaded { report, at } => {
                self.sup.report = Some(*report);
                self.sup.report_at = Some(at);
                self.sup.report_error = None;
            }
            Action::ReportFailed { error, at } => {
                let text = self.error_text(&error);
                self.sup.report_error = Some((text, at));
            }
            _ => {}
        }
        vec![]
    }

    /// New red cases (first seen red, or re-tiered red) and cases about to breach: each rings
    /// once, unless muted or switched off in `[alarms]`. Looks at the cases changed since the
    /// last call and, on a tick (`window`), at the deadlines that came within the
    /// about-to-breach threshold since the last tick. Until the first snapshot has been
    /// taken in (`primed`), what is seen is only recorded: the desk as found at start-up is
    /// not news. About-to-breach alarms within `due_soon_repeat_minutes` of the last one that
    /// rang only flash their rows, so a busy desk does not ring every minute.
    pub(super) fn sup_alarms(&mut self, window: bool) -> Vec<Effect> {
        let s = self.server_now(self.now);
        let soon = self.alarms.about_to_breach_minutes * 60;
        let mut changed = std::mem::take(&mut self.ix.changed);
        changed.sort_unstable();
        changed.dedup();
        if self.is_supervisor() {
            for id in &changed {
                if let Some(c) = self.cases.get(id) {
                    Self::note_arrivals(&mut self.sup, c);
                }
            }
        }
        self.sup.lists_primed |= self.last_ok.is_some();
        // Cases whose deadlines to look at: the changed ones, and on a tick those with a
        // deadline that came within the threshold since the last tick.
        let mut look: Vec<i64> = Vec::new();
        // (case, the deadline about to breach and seconds left; None: a new red case). Format
        // only the few alarms shown, not every case.
        let mut news: Vec<(&Case, Ring)> = Vec::new();
        let primed = self.sup.primed;
        for id in &changed {
            let Some(c) = self.cases.get(id) else {
                continue;
            };
            let red = c.tier == Some(Tier::Red);
            let was = self.sup.tiers.get(&c.id).copied();
            if was != Some(c.tier) {
                self.sup.tiers.insert(c.id, c.tier);
            }
            if red && c.status.is_open() && primed && was != Some(Some(Tier::Red)) {
                if self.alarms.new_red {
                    news.push((c, Ring::NewRed));
                }
                // Its deadlines are looked at the next time, as a known red case.
                self.ix.changed.push(c.id);
                continue;
            }
            look.push(c.id);
        }
        if window {
            let hi = s.timestamp() + soon;
            let lo = self.ix.warn_hi.max(s.timestamp());
            if hi > lo {
                look.extend(
                    self.ix
                        .deadlines
                        .range((lo + 1, i64::MIN)..(hi + 1, i64::MIN))
                        .map(|k| k.1),
                );
                look.sort_unstable();
                look.dedup();
            }
            self.ix.warn_hi = self.ix.warn_hi.max(hi);
        }
        for id in look {
            let Some(c) = self.cases.get(&id).filter(|c| c.status.is_open()) else {
                continue;
            };
            for d in c.deadlines.iter().filter(|d| d.met_at.is_none()) {
                let left = (d.due_at.with_timezone(&Utc) - s).num_seconds();
                if left > 0
                    && left <= soon
                    && self
                        .sup
                        .warned
                        .insert((c.id, d.clock, d.due_at.timestamp()))
                    && self.alarms.about_to_breach
                    && primed
                {
                    news.push((c, Ring::Breach(d.clock, left)));
                }
            }
        }
        for (id, arrival) in std::mem::take(&mut self.sup.arrivals) {
            if let Some(c) = self.cases.get(&id) {
                news.push((c, Ring::Arrived(arrival)));
            }
        }
        if news.is_empty() {
            return vec![];
        }
        news.sort_by_key(|(c, _)| c.id);
        for (c, _) in &news {
            self.sup.flash.insert(c.id, self.now);
        }
        if self.sup.muted || (!self.alarms.bell && self.alarms.notify == NotifyKind::Off) {
            return vec![];
        }
        let quiet = self.sup.due_soon_rang.is_some_and(|t| {
            (self.now - t).num_seconds() < self.alarms.due_soon_repeat_minutes * 60
        });
        if quiet {
            news.retain(|(_, ring)| !matches!(ring, Ring::Breach(..)));
            if news.is_empty() {
                return vec![];
            }
        } else if news
            .iter()
            .any(|(_, ring)| matches!(ring, Ring::Breach(..)))
        {
            self.sup.due_soon_rang = Some(self.now);
        }
        // A desktop notification stays short: the first few, then how many more.
        const SHOWN: usize = 3;
        let mut texts: Vec<String> = news
            .iter()
            .take(SHOWN)
            .map(|(c, ring)| match ring {
                Ring::NewRed => self.i18n.f(
                    "alarm.new_red",
                    &[("ref", &c.reference), ("title", &c.title)],
                ),
                Ring::Arrived(Arrival::Ruling) => self.i18n.f(
                    "alarm.ruling",
                    &[
                        ("ref", &c.reference),
                        ("n", &c.return_count.to_string()),
                        ("title", &c.title),
                    ],
                ),
                Ring::Arrived(Arrival::Extension) => self.i18n.f(
                    "alarm.extension",
                    &[("ref", &c.reference), ("title", &c.title)],
                ),
                Ring::Breach(clock, left) => self.i18n.f(
                    "alarm.breach",
                    &[
                        ("ref", &c.reference),
                        ("clock", self.i18n.t(&format!("clock.{}", clock.as_str()))),
                        ("left", &self.i18n.duration(*left)),
                        ("title", &c.title),
                    ],
                ),
            })
            .collect();
        if news.len() > SHOWN {
            let more = (news.len() - SHOWN).to_string();
            texts.push(self.i18n.f("alarm.more", &[("n", &more)]));
        }
        let body = texts.join(" · ");
        self.sup.rang = Some((body.clone(), self.now));
        vec![Effect::Alarm(Alarm {
            bell: self.alarms.bell,
            notify: self.alarms.notify,
            title: self.i18n.t("app.name").to_string(),
            body,
        })]
    }

    /// Supervision commands, and the Overdue view's own movement; `None` leaves the command to
    /// the rest of `App::command`.
    pub(super) fn sup_command(&mut self, command: Command) -> Option<Vec<Effect>> {
        match command {
            Command::Mute => {
                self.sup.muted = !self.sup.muted;
                let key = if self.sup.muted {
                    "msg.muted"
                } else {
                    "msg.unmuted"
                };
                self.info(Level::Info, self.i18n.t(key).to_string());
                Some(vec![])
            }
            Command::Sort if self.view == View::Departments => {
                self.sup.dept_sort = self.sup.dept_sort.next();
                Some(vec![])
            }
            Command::Down | Command::Up | Command::Top | Command::Bottom
                if self.view == View::Departments =>
            {
                let last = self
                    .departments
                    .iter()
                    .filter(|d| d.active)
                    .count()
                    .saturating_sub(1);
                let at = self.sup.dept_pick.min(last);
                self.sup.dept_pick = match command {
                    Command::Down => (at + 1).min(last),
                    Command::Up => at.saturating_sub(1),
                    Command::Top => 0,
                    _ => last,
                };
                Some(vec![])
            }
            // Enter on a department shows its cases in the queue; Esc comes back.
            Command::Detail if self.view == View::Departments => {
                let rows = self.department_rows(self.now);
                let row = rows.get(self.sup.dept_pick)?;
                let text = self.i18n.f(
                    "msg.drill",
                    &[
                        ("department", &row.name),
                        ("key", &self.keymap.first(Command::Cancel)),
                    ],
                );
                self.sup.drill = Some(row.department_id);
                self.view = View::Queue;
                self.rebuild();
                self.info(Level::Info, text);
                Some(self.after_move())
            }
            Command::Cancel if self.sup.drill.is_some() && self.view == View::Queue => {
                self.sup.drill = None;
                self.view = View::Departments;
                self.message = None;
                self.rebuild();
                Some(self.after_move())
            }
            // In every view an urge, an extension decision and a follow-up open a dialog with an
            // optional note: Tab chooses, Enter sends.
            Command::Urge | Command::Extension | Command::FollowUp => {
                let Some(case) = self.selected_case().cloned() else {
                    self.info(Level::Info, self.i18n.t("msg.no_selection").to_string());
                    return Some(vec![]);
                };
                let kind = match command {
                    Command::Urge => SupKind::Urge,
                    Command::Extension => {
                        if case.pending_extension.is_none() {
                            let text = self.i18n.f("msg.no_extension", &[("ref", &case.reference)]);
                            self.info(Level::Error, text);
                            return Some(vec![]);
                        }
                        SupKind::Extension { approve: true }
                    }
                    _ => {
                        if case.status != Status::Resolved {
                            let text = self.i18n.f("msg.no_follow_up", &[("ref", &case.reference)]);
                            self.info(Level::Error, text);
                            return Some(vec![]);
                        }
                        SupKind::FollowUp {
                            result: Satisfaction::Satisfied,
                        }
                    }
                };
                self.mode = Mode::Sup(SupForm {
                    kind,
                    case_id: case.id,
                    seen: Box::new(case),
                    note: String::new(),
                    cursor: 0,
                });
                Some(vec![])
            }
            // On the board `a` is a reassignment, which only a supervisor may do.
            Command::Assign if self.view == View::Overdue => {
                let case = self.selected_case()?;
                let held = matches!(case.status, Status::Dispatched | Status::InProgress);
                if held && !self.is_supervisor() {
                    let text = self
                        .i18n
                        .f("msg.reassign_supervisors", &[("ref", &case.reference)]);
                    self.info(Level::Error, text);
                    return Some(vec![]);
                }
                None
            }
            Command::Down
            | Command::Up
            | Command::Top
            | Command::Bottom
            | Command::PageDown
            | Command::PageUp
                if self.view == View::Overdue
                    && !(matches!(command, Command::PageDown | Command::PageUp)
                        && self.detail_covers_list()) =>
            {
                let pane = self.sup.pane;
                let Some(at) = self.sup_index(pane) else {
                    return Some(vec![]);
                };
                let last = self.sup_len(pane) as isize - 1;
                let page = self.page();
                let to = match command {
                    Command::Down => at as isize + 1,
                    Command::Up => at as isize - 1,
                    Command::Top => 0,
                    Command::Bottom => last,
                    Command::PageDown => at as isize + page,
                    _ => at as isize - page,
                }
                .clamp(0, last) as usize;
                self.set_pick(pane, (self.sup_id_at(pane, to), to));
                Some(self.after_move())
            }
            Command::NextPane | Command::PrevPane if self.view == View::Overdue => {
                let n = SupPane::ALL.len();
                let i = SupPane::ALL
                    .iter()
                    .position(|p| *p == self.sup.pane)
                    .unwrap_or(0);
                let step = if command == Command::NextPane {
                    1
                } else {
                    n - 1
                };
                self.sup.pane = SupPane::ALL[(i + step) % n];
                Some(self.after_move())
            }
            _ => None,
        }
    }

    /// The wheel moves in the focused pane; a click selects the row (and the pane) under it.
    pub(super) fn sup_mouse(&mut self, m: MouseEvent) -> Vec<Effect> {
        match m.kind {
            MouseEventKind::ScrollDown | MouseEventKind::ScrollUp => {
                let c = if m.kind == MouseEventKind::ScrollDown {
                    Command::Down
                } else {
                    Command::Up
                };
                self.sup_command(c).unwrap_or_default()
            }
            MouseEventKind::Down(MouseButton::Left) => {
                let screen =
                    layout::screen(Rect::new(0, 0, self.size.0, self.size.1), self.show_detail);
                let geo = layout::overdue(layout::inner(screen.main));
                let at = (m.column, m.row).into();
                // The lower pane shows the follow-ups or whichever list of the supervisor's is
                // chosen.
                let lower = match self.sup.pane {
                    SupPane::Board => SupPane::FollowUps,
                    p => p,
                };
                for (pane, rows) in [(SupPane::Board, geo.board_rows), (lower, geo.follow_rows)] {
                    if !rows.contains(at) {
                        continue;
                    }
                    let off = layout::scroll_offset(self.sup_index(pane).unwrap_or(0), rows.height);
                    let i = off + (m.row - rows.y) as usize;
                    if let Some(id) = self.sup_id_at(pane, i) {
                        self.sup.pane = pane;
                        self.set_pick(pane, (Some(id), i));
                    }
                }
                self.after_move()
            }
            _ => vec![],
        }
    }

    pub(super) fn key_sup(&mut self, key: KeyEvent, mut f: SupForm) -> Vec<Effect> {
        if self.keymap.is(&key, Command::Cancel) {
            return vec![];
        }
        if self.keymap.is(&key, Command::Confirm) || self.keymap.is(&key, Command::Submit) {
            let note = Some(f.note.trim().to_string()).filter(|n| !n.is_empty());
            let action = match f.kind {
                SupKind::Urge => CaseAction::Urge(NoteBody { note }),
                SupKind::Extension { approve } => {
                    CaseAction::DecideExtension(ExtensionDecisionBody { approve, note })
                }
                SupKind::FollowUp { result } => CaseAction::FollowUp(FollowUpBody { result, note }),
            };
            let out = Outgoing {
                case_id: Some(f.case_id),
                version: f.seen.version,
                op: Op::Act(action),
                key: new_idempotency_key(),
                seen: Some(f.seen),
            };
            return self.send(out, Origin::Simple);
        }
        let forward = match key.code {
            KeyCode::Tab | KeyCode::Down => Some(true),
            KeyCode::BackTab | KeyCode::Up => Some(false),
            _ => None,
        };
        match (forward, &mut f.kind) {
            (Some(_), SupKind::Extension { approve }) => *approve = !*approve,
            (Some(fwd), SupKind::FollowUp { result }) => {
                let i = SATISFACTION.iter().position(|s| s == result).unwrap_or(0);
                let n = SATISFACTION.len();
                *result = SATISFACTION[if fwd { (i + 1) % n } else { (i + n - 1) % n }];
            }
            (Some(_), SupKind::Urge) => {}
            (None, _) => {
                crate::console::input::edit(&mut f.note, &mut f.cursor, &key, false);
            }
        }
        self.mode = Mode::Sup(f);
        vec![]
    }
}

#[cfg(test)]
mod tests;
