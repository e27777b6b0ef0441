//! Shifts: starting and ending one (`S`), the handover brief the next shift reads and
//! acknowledges, the supervisor's handovers panel (`H`), and claims left by an ended shift.

use std::collections::{HashSet, VecDeque};

use super::*;
use crate::console::brief;
use crate::wire::{
    BriefCase, HandOverResult, HandoverBrief, HandoverList, MAX_HANDOVER_NOTE_CHARS, Role, Shift,
    ShiftList,
};

/// How often everyone's latest shift is asked for again (claims left behind show by it).
pub const SHIFTS_REFRESH_SECS: i64 = 60;

/// A shift request the loop performs; answered with `Action::Shifts`.
#[derive(Debug, Clone, PartialEq)]
pub enum ShiftRequest {
    /// `POST /shifts/start`.
    Start { key: String },
    /// `POST /shifts/end` with the leaving user's note.
    End { note: String, key: String },
    /// `GET /handovers?unacknowledged=true`.
    Unacknowledged,
    /// `POST /handovers/{id}/ack`.
    Ack { id: i64, key: String },
    /// `GET /shifts`.
    List,
    /// `GET /handovers`: the recent briefs, for the supervisor's panel.
    Recent,
    /// `POST /shifts/{id}/claims`: release an ended shift's claims (`to: None`) or hand them
    /// to a user on shift.
    HandOver {
        shift_id: i64,
        to: Option<String>,
        key: String,
    },
}

/// The answers to `ShiftRequest`s.
#[derive(Debug, Clone)]
pub enum ShiftAction {
    Started(Shift),
    Ended(Box<HandoverBrief>),
    Unacknowledged(HandoverList),
    Acked(Box<HandoverBrief>),
    Listed(ShiftList),
    Recent(HandoverList),
    HandedOver(HandOverResult),
    Failed {
        request: ShiftRequest,
        error: ClientError,
    },
}

/// The end-of-shift dialog: the note for the next shift.
#[derive(Debug, Clone, PartialEq)]
pub struct EndShiftForm {
    pub note: TextField,
    pub key: String,
    pub sending: bool,
    pub error: Option<String>,
}

/// A handover brief on screen: one to acknowledge, or the leaving user's own, read-only.
#[derive(Debug, Clone, PartialEq)]
pub struct BriefView {
    pub brief: Box<HandoverBrief>,
    /// Lines scrolled out at the top.
    pub scroll: usize,
    /// It waits for this user's acknowledgement.
    pub to_ack: bool,
    pub key: String,
    pub sending: bool,
    pub error: Option<String>,
}

/// The shift dialogs and views (`Mode::Shift`).
#[derive(Debug, Clone, PartialEq)]
pub enum ShiftMode {
    End(EndShiftForm),
    Brief(BriefView),
    /// The supervisor's panel: recent briefs with their acknowledgements, and the shifts;
    /// `selected` is one of the ended shifts.
    Panel {
        scroll: usize,
        selected: usize,
    },
    /// Confirming what becomes of an ended shift's claims.
    Claims(ClaimsForm),
}

/// Release an ended shift's claims, or hand them all to one user on shift.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimsForm {
    pub shift: Shift,
    /// 0: release; n: the n-th user on shift (`App::claim_heirs`).
    pub choice: usize,
    pub key: String,
    pub sending: bool,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ShiftState {
    /// Everyone's latest shift (`GET /shifts`), once it has answered.
    pub all: Option<Vec<Shift>>,
    /// Users whose latest shift has ended: their claims were left behind.
    ended: HashSet<String>,
    /// Briefs still to read and acknowledge, oldest first.
    pub unread: VecDeque<HandoverBrief>,
    /// The recent briefs (the supervisor's panel).
    pub recent: Vec<HandoverBrief>,
    /// When `GET /shifts` was last asked for (local clock).
    listed_at: Option<DateTime<Utc>>,
}

impl App {
    /// Operators and supervisors work in shifts.
    pub fn works_shifts(&self) -> bool {
        self.me
            .as_ref()
            .is_some_and(|m| matches!(m.role, Role::Operator | Role::Supervisor))
    }

    /// Supervisors (and admins) oversee the handovers.
    pub fn oversees_shifts(&self) -> bool {
        self.me
            .as_ref()
            .is_some_and(|m| matches!(m.role, Role::Supervisor | Role::Admin))
    }

    /// This user's running shift.
    pub fn my_shift(&self) -> Option<&Shift> {
        let me = self.me.as_ref()?;
        self.shifts
            .all
            .as_ref()?
            .iter()
            .find(|s| s.user == me.name && s.ended_at.is_none())
    }

    /// The case is claimed by someone whose latest shift has ended.
    pub fn claim_left(&self, c: &Case) -> bool {
        c.claimed_by
            .as_ref()
            .is_some_and(|u| self.shifts.ended.contains(u))
    }

    fn set_shifts(&mut self, shifts: Vec<Shift>) {
        self.shifts.ended = shifts
            .iter()
            .filter(|s| s.ended_at.is_some())
            .map(|s| s.user.clone())
            .collect();
        self.shifts.all = Some(shifts);
    }

    fn put_shift(&mut self, shift: Shift) {
        let mut all = self.shifts.all.clone().unwrap_or_default();
        all.retain(|s| s.user != shift.user);
        all.insert(0, shift);
        self.set_shifts(all);
    }

    /// `S`: starts a shift, or opens the note that ends the running one.
    pub(super) fn shift_key(&mut self) -> Vec<Effect> {
        if self.my_shift().is_some() {
            self.mode = Mode::Shift(ShiftMode::End(EndShiftForm {
                note: TextField::default(),
                key: new_idempotency_key(),
                sending: false,
                error: None,
            }));
            return vec![];
        }
        self.info(Level::Info, self.i18n.t("msg.shift_starting").to_string());
        vec![Effect::Shift(ShiftRequest::Start {
            key: new_idempotency_key(),
        })]
    }

    /// `H`: the next brief to read, else (supervisors) the handovers panel.
    pub(super) fn handovers_key(&mut self) -> Vec<Effect> {
        if self.show_next_brief() {
            return vec![];
        }
        if self.oversees_shifts() {
            self.mode = Mode::Shift(ShiftMode::Panel {
                scroll: 0,
                selected: 0,
            });
            return vec![
                Effect::Shift(ShiftRequest::Recent),
                Effect::Shift(ShiftRequest::List),
            ];
        }
        self.info(Level::Info, self.i18n.t("msg.no_brief").to_string());
        vec![]
    }

    fn show_next_brief(&mut self) -> bool {
        match self.shifts.unread.front() {
            Some(b) => {
                self.mode = Mode::Shift(ShiftMode::Brief(BriefView {
                    brief: Box::new(b.clone()),
                    scroll: 0,
                    to_ack: true,
                    key: new_idempotency_key(),
                    sending: false,
                    error: None,
                }));
                true
            }
            None => false,
        }
    }

    pub(super) fn key_shift(&mut self, key: KeyEvent, mode: ShiftMode) -> Vec<Effect> {
        match mode {
            ShiftMode::End(f) => self.key_end_shift(key, f),
            ShiftMode::Brief(v) => self.key_brief(key, v),
            ShiftMode::Panel { scroll, selected } => self.key_panel(key, scroll, selected),
            ShiftMode::Claims(f) => self.key_claims(key, f),
        }
    }

    /// Ended shifts, in the panel's order: the ones whose claims a supervisor may move.
    pub fn ended_shifts(&self) -> Vec<&Shift> {
        self.shifts
            .all
            .iter()
            .flatten()
            .filter(|s| s.ended_at.is_some())
            .collect()
    }

    /// Who may take over an ended shift's claims: the operators and supervisors on shift.
    pub fn claim_heirs(&self) -> Vec<&str> {
        self.shifts
            .all
            .iter()
            .flatten()
            .filter(|s| s.ended_at.is_none())
            .map(|s| s.user.as_str())
            .collect()
    }

    fn key_panel(&mut self, key: KeyEvent, scroll: usize, selected: usize) -> Vec<Effect> {
        if self.keymap.is(&key, Command::Cancel) || self.keymap.is(&key, Command::Quit) {
            return vec![];
        }
        let ended = self.ended_shifts().len();
        if self.keymap.is(&key, Command::Claim)
            && let Some(shift) = self.ended_shifts().get(selected).map(|s| (*s).clone())
        {
            self.mode = Mode::Shift(ShiftMode::Claims(ClaimsForm {
                shift,
                choice: 0,
                key: new_idempotency_key(),
                sending: false,
                error: None,
            }));
            return vec![];
        }
        let step = self.scroll_step(&key);
        let moves = self
            .keymap
            .commands(&key)
            .iter()
            .any(|c| matches!(c, Command::Down | Command::Up));
        let (scroll, selected) = if moves && ended > 0 {
            let max = ended as isize - 1;
            (scroll, (selected as isize + step).clamp(0, max) as usize)
        } else {
            let total = self.panel_lines(self.now).len();
            (scrolled(scroll, step, total), selected)
        };
        self.mode = Mode::Shift(ShiftMode::Panel { scroll, selected });
        vec![]
    }

    fn key_claims(&mut self, key: KeyEvent, mut f: ClaimsForm) -> Vec<Effect> {
        if f.sending {
            self.mode = Mode::Shift(ShiftMode::Claims(f));
            return vec![];
        }
        if self.keymap.is(&key, Command::Cancel) {
            self.mode = Mode::Shift(ShiftMode::Panel {
                scroll: 0,
                selected: 0,
            });
            return vec![];
        }
        let choices = self.claim_heirs().len() + 1;
        if self.keymap.is(&key, Command::Confirm) || self.keymap.is(&key, Command::Submit) {
            let to = f
                .choice
                .checked_sub(1)
                .and_then(|n| self.claim_heirs().get(n).map(|u| u.to_string()));
            let request = ShiftRequest::HandOver {
                shift_id: f.shift.id,
                to,
                key: f.key.clone(),
            };
            f.sending = true;
            f.error = None;
            self.mode = Mode::Shift(ShiftMode::Claims(f));
            return vec![Effect::Shift(request)];
        }
        let step = match key.code {
            KeyCode::Tab | KeyCode::Down => 1,
            KeyCode::BackTab | KeyCode::Up => choices - 1,
            _ => 0,
        };
        f.choice = (f.choice + step) % choices;
        self.mode = Mode::Shift(ShiftMode::Claims(f));
        vec![]
    }

    fn scroll_step(&self, key: &KeyEvent) -> isize {
        self.keymap
            .commands(key)
            .iter()
            .find_map(|c| match c {
                Command::Down | Command::DetailDown => Some(1),
                Command::Up | Command::DetailUp => Some(-1),
                Command::PageDown => Some(self.page()),
                Command::PageUp => Some(-self.page()),
                Command::Bottom => Some(isize::MAX / 2),
                Command::Top => Some(-(isize::MAX / 2)),
                _ => None,
            })
            .unwrap_or(0)
    }

    fn key_end_shift(&mut self, key: KeyEvent, mut f: EndShiftForm) -> Vec<Effect> {
        if self.keymap.is(&key, Command::Cancel) && !f.sending {
            return vec![];
        }
        if f.sending {
            self.mode = Mode::Shift(ShiftMode::End(f));
            return vec![];
        }
        if self.keymap.is(&key, Command::Submit) {
            if f.note.chars() > MAX_HANDOVER_NOTE_CHARS {
                f.error = Some(self.i18n.f(
                    "shift.note_too_long",
                    &[("max", &MAX_HANDOVER_NOTE_CHARS.to_string())],
                ));
                self.mode = Mode::Shift(ShiftMode::End(f));
                return vec![];
            }
            f.sending = true;
            f.error = None;
            let request = ShiftRequest::End {
                note: f.note.trim().to_string(),
                key: f.key.clone(),
            };
            self.mode = Mode::Shift(ShiftMode::End(f));
            return vec![Effect::Shift(request)];
        }
        f.note.edit(&key, true);
        self.mode = Mode::Shift(ShiftMode::End(f));
        vec![]
    }

    fn key_brief(&mut self, key: KeyEvent, mut v: BriefView) -> Vec<Effect> {
        if self.keymap.is(&key, Command::Cancel) {
            // A brief not yet acknowledged stays waiting: `H` brings it back.
            return vec![];
        }
        if v.to_ack && !v.sending && self.keymap.is(&key, Command::Confirm) {
            v.sending = true;
            v.error = None;
            let request = ShiftRequest::Ack {
                id: v.brief.id,
                key: v.key.clone(),
            };
            self.mode = Mode::Shift(ShiftMode::Brief(v));
            return vec![Effect::Shift(request)];
        }
        if !v.to_ack && self.keymap.is(&key, Command::Confirm) {
            return vec![];
        }
        let step = self.scroll_step(&key);
        let total = self.brief_lines(&v.brief, self.now).len();
        v.scroll = scrolled(v.scroll, step, total);
        self.mode = Mode::Shift(ShiftMode::Brief(v));
        vec![]
    }

    pub(super) fn on_shift_action(&mut self, action: ShiftAction) -> Vec<Effect> {
        match action {
            ShiftAction::Started(shift) => {
                let since = clock(self, &shift.started_at, self.now);
                self.put_shift(shift);
                self.info(
                    Level::Success,
                    self.i18n.f("msg.shift_started", &[("since", &since)]),
                );
                vec![Effect::Shift(ShiftRequest::Unacknowledged)]
            }
            ShiftAction::Ended(brief) => {
                self.put_shift(brief.shift.clone());
                self.info(Level::Success, self.i18n.t("msg.shift_ended").to_string());
                // The leaving user reads what was handed over before closing it.
                self.mode = Mode::Shift(ShiftMode::Brief(BriefView {
                    brief,
                    scroll: 0,
                    to_ack: false,
                    key: String::new(),
                    sending: false,
                    error: None,
                }));
                vec![]
            }
            ShiftAction::Unacknowledged(list) => {
                self.shifts.unread = list.handovers.into_iter().rev().collect();
                if matches!(self.mode, Mode::Normal) {
                    self.show_next_brief();
                }
                vec![]
            }
            ShiftAction::Acked(brief) => {
                self.shifts.unread.retain(|b| b.id != brief.id);
                if let Some(r) = self.shifts.recent.iter_mut().find(|b| b.id == brief.id) {
                    *r = (*brief).clone();
                }
                let brief_open = matches!(
                    &self.mode,
                    Mode::Shift(ShiftMode::Brief(v)) if v.brief.id == brief.id
                );
                if brief_open {
                    self.mode = Mode::Normal;
                    if !self.show_next_brief() {
                        self.info(Level::Success, self.i18n.t("msg.brief_acked").to_string());
                    }
                }
                vec![]
            }
            ShiftAction::Listed(list) => {
                let first = self.shifts.all.is_none();
                self.set_shifts(list.shifts);
                // A console started mid-shift still shows the briefs not yet read; off shift,
                // they wait for the shift's start.
                if first && self.my_shift().is_some() {
                    vec![Effect::Shift(ShiftRequest::Unacknowledged)]
                } else {
                    vec![]
                }
            }
            ShiftAction::Recent(list) => {
                self.shifts.recent = list.handovers;
                vec![]
            }
            ShiftAction::HandedOver(result) => {
                let refs: Vec<String> = result
                    .moved
                    .iter()
                    .map(|c| {
                        self.case(c.id)
                            .map(|c| c.reference.clone())
                            .unwrap_or_else(|| format!("#{}", c.id))
                    })
                    .collect();
                let text = if refs.is_empty() {
                    self.i18n.t("msg.claims_none").to_string()
                } else {
                    self.i18n.f(
                        "msg.claims_moved",
                        &[("n", &refs.len().to_string()), ("refs", &refs.join(", "))],
                    )
                };
                self.info(Level::Success, text);
                self.mode = Mode::Shift(ShiftMode::Panel {
                    scroll: 0,
                    selected: 0,
                });
                vec![Effect::Shift(ShiftRequest::List), Effect::RefreshNow]
            }
            ShiftAction::Failed { request, error } => self.on_shift_failed(request, &error),
        }
    }

    fn on_shift_failed(&mut self, request: ShiftRequest, error: &ClientError) -> Vec<Effect> {
        let text = self.error_text(error);
        match (&mut self.mode, &request) {
            (Mode::Shift(ShiftMode::End(f)), ShiftRequest::End { .. }) => {
                f.sending = false;
                f.error = Some(text);
            }
            (Mode::Shift(ShiftMode::Claims(f)), ShiftRequest::HandOver { .. }) => {
                f.sending = false;
                f.error = Some(text);
            }
            (Mode::Shift(ShiftMode::Brief(v)), ShiftRequest::Ack { id, .. })
                if v.brief.id == *id =>
            {
                v.sending = false;
                v.error = Some(text);
            }
            _ => {
                let key = match request {
                    ShiftRequest::Start { .. } => "msg.shift_start_failed",
                    _ => "msg.shifts_failed",
                };
                let text = self.i18n.f(key, &[("error", &text)]);
                self.info(Level::Error, text);
            }
        }
        vec![]
    }

    /// After every update: everyone's shifts once signed in, then every minute.
    pub(super) fn shift_effects(&mut self) {
        if self.me.is_none() || self.last_ok.is_none() {
            return;
        }
        let due = self
            .shifts
            .listed_at
            .is_none_or(|at| (self.now - at).num_seconds() >= SHIFTS_REFRESH_SECS);
        if due {
            self.shifts.listed_at = Some(self.now);
            self.background.push(Effect::Shift(ShiftRequest::List));
        }
    }

    fn brief_case_line(&self, c: &BriefCase, now: DateTime<Utc>) -> String {
        let mut s = format!("   {} {}", c.reference, c.title);
        if let Some(d) = &c.next_deadline {
            s.push_str(&format!(" · {}", clock(self, d, now)));
        }
        if let Some(u) = &c.claimed_by {
            s.push_str(&format!(" · {u}"));
        }
        if let Some(d) = brief::detail(&self.i18n, c, |t| clock(self, t, now)) {
            s.push_str(&format!(" · {d}"));
        }
        s
    }

    /// A brief as lines, each with its tone: who, when, the note, then each list.
    pub fn brief_lines(&self, b: &HandoverBrief, now: DateTime<Utc>) -> Vec<(String, Tone)> {
        let i = &self.i18n;
        let ended = b.shift.ended_at.as_ref().unwrap_or(&b.written_at);
        let mut out = vec![(
            i.f(
                "brief.head",
                &[
                    ("user", &b.shift.user),
                    ("from", &clock(self, &b.shift.started_at, now)),
                    ("to", &clock(self, ended, now)),
                ],
            ),
            Tone::Bold,
        )];
        let c = &b.counts;
        out.push((
            i.f(
                "brief.counts",
                &[
                    ("received", &c.received.to_string()),
                    ("answered", &c.answered_online.to_string()),
                    ("dispatched", &c.dispatched.to_string()),
                    ("overdue", &c.overdue.to_string()),
                ],
            ),
            if c.overdue > 0 {
                Tone::Warn
            } else {
                Tone::Base
            },
        ));
        out.push((String::new(), Tone::Base));
        out.push((i.t("brief.note").to_string(), Tone::Bold));
        if b.note.trim().is_empty() {
            out.push((format!("   {}", i.t("brief.no_note")), Tone::Dim));
        } else {
            for l in b.note.lines() {
                out.push((format!("   {l}"), Tone::Base));
            }
        }
        let t = &b.totals;
        let lists: [(&str, &Vec<BriefCase>, i64, Tone); 5] = [
            ("brief.red_open", &b.red_open, t.red_open, Tone::Error),
            ("brief.claimed", &b.claimed, t.claimed, Tone::Warn),
            (
                "brief.pending_extensions",
                &b.pending_extensions,
                t.pending_extensions,
                Tone::Base,
            ),
            ("brief.promised", &b.promised, t.promised, Tone::Base),
            ("brief.escalated", &b.escalated, t.escalated, Tone::Warn),
        ];
        for (key, cases, total, tone) in lists {
            // A long list is cut by the server; its heading still counts them all.
            let n = total.max(cases.len() as i64);
            out.push((String::new(), Tone::Base));
            out.push((i.f(key, &[("n", &n.to_string())]), Tone::Bold));
            if cases.is_empty() {
                out.push((format!("   {}", i.t("brief.none")), Tone::Dim));
            }
            for c in cases {
                out.push((self.brief_case_line(c, now), tone));
            }
        }
        out.push((String::new(), Tone::Base));
        if b.acks.is_empty() {
            out.push((i.t("brief.no_acks").to_string(), Tone::Dim));
        }
        for a in &b.acks {
            out.push((
                i.f(
                    "brief.acked_by",
                    &[("user", &a.user), ("at", &clock(self, &a.at, now))],
                ),
                Tone::Ok,
            ));
        }
        out
    }

    /// The supervisor's panel: who is on shift, then the recent briefs and who read them.
    pub fn panel_lines(&self, now: DateTime<Utc>) -> Vec<(String, Tone)> {
        let selected = match &self.mode {
            Mode::Shift(ShiftMode::Panel { selected, .. }) => Some(*selected),
            _ => None,
        };
        let mut ended_n = 0;
        let i = &self.i18n;
        let mut out = vec![(i.t("panel.shifts").to_string(), Tone::Bold)];
        let shifts = self.shifts.all.as_deref().unwrap_or_default();
        if shifts.is_empty() {
            out.push((format!("   {}", i.t("brief.none")), Tone::Dim));
        }
        for s in shifts {
            let role = i.t(&format!("role.{}", s.role.as_str()));
            let (text, tone) = match &s.ended_at {
                None => (
                    i.f(
                        "panel.on_shift",
                        &[
                            ("user", &s.user),
                            ("role", role),
                            ("since", &clock(self, &s.started_at, now)),
                        ],
                    ),
                    Tone::Ok,
                ),
                Some(e) => (
                    i.f(
                        "panel.ended",
                        &[
                            ("user", &s.user),
                            ("role", role),
                            ("at", &clock(self, e, now)),
                        ],
                    ),
                    Tone::Dim,
                ),
            };
            let mark = if s.ended_at.is_some() {
                ended_n += 1;
                if selected == Some(ended_n - 1) {
                    " ▶ "
                } else {
                    "   "
                }
            } else {
                "   "
            };
            out.push((format!("{mark}{text}"), tone));
        }
        out.push((String::new(), Tone::Base));
        out.push((i.t("panel.briefs").to_string(), Tone::Bold));
        if self.shifts.recent.is_empty() {
            out.push((format!("   {}", i.t("brief.none")), Tone::Dim));
        }
        for b in &self.shifts.recent {
            let acks = if b.acks.is_empty() {
                i.t("panel.unread").to_string()
            } else {
                b.acks
                    .iter()
                    .map(|a| {
                        i.f(
                            "panel.ack",
                            &[("user", &a.user), ("at", &clock(self, &a.at, now))],
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            out.push((
                format!(
                    "   {} {} · {}",
                    clock(self, &b.written_at, now),
                    b.shift.user,
                    acks
                ),
                if b.acks.is_empty() {
                    Tone::Warn
                } else {
                    Tone::Base
                },
            ));
        }
        out
    }
}

fn scrolled(scroll: usize, step: isize, total: usize) -> usize {
    let max = total.saturating_sub(1) as isize;
    (scroll as isize + step).clamp(0, max.max(0)) as usize
}
