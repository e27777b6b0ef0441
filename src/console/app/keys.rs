//! Keys and the mouse: what each one does in each mode.

use super::send::{set_form_base, set_form_sending};
use super::*;

impl App {
    pub(super) fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let mode = std::mem::replace(&mut self.mode, Mode::Normal);
        match mode {
            Mode::Normal => self.key_normal(key),
            Mode::Filter => self.key_filter(key),
            Mode::Help => {
                // The moving keys scroll help; any other key closes it.
                let step = self.keymap.commands(&key).iter().find_map(|c| match c {
                    Command::Down | Command::DetailDown => Some(1),
                    Command::Up | Command::DetailUp => Some(-1),
                    Command::PageDown => Some(self.page()),
                    Command::PageUp => Some(-self.page()),
                    Command::Bottom => Some(isize::MAX / 2),
                    Command::Top => Some(-(isize::MAX / 2)),
                    _ => None,
                });
                if let Some(step) = step {
                    self.scroll_help(step);
                    self.mode = Mode::Help;
                }
                vec![]
            }
            Mode::Tier { case_id, retier } => self.key_tier(key, case_id, retier),
            Mode::Picker(p) => self.key_picker(key, p),
            Mode::Text(f) => self.key_text(key, f),
            Mode::NewCase(f) => self.key_new_case(key, f),
            Mode::Sup(f) => self.key_sup(key, f),
            Mode::Library(p) => self.key_library(key, p),
            Mode::Merge(f) => self.key_merge(key, f),
            Mode::Shift(m) => self.key_shift(key, m),
            Mode::Duty(f) => self.key_duty(key, f),
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

    pub(super) fn key_normal(&mut self, key: KeyEvent) -> Vec<Effect> {
        let commands = self.keymap.commands(&key).to_vec();
        // A key bound to several commands (`e`: decide or request an extension) takes the one
        // that fits; when none does, the hint says why, the case's state before the role.
        let mut refused: Option<(crate::console::permissions::NotOffered, String)> = None;
        for command in commands {
            if let Err(why) = self.gate(command) {
                if refused.as_ref().is_none_or(|r| r.0 > why.0) {
                    refused = Some(why);
                }
                continue;
            }
            if let Some(effects) = self.command(command) {
                return effects;
            }
        }
        if let Some((_, text)) = refused {
            self.info(Level::Info, text);
        }
        vec![]
    }

    /// Runs a command from the list; `None` when it does not apply here (so another binding
    /// of the same key may).
    pub(super) fn command(&mut self, command: Command) -> Option<Vec<Effect>> {
        if let Some(effects) = self.sup_command(command) {
            return Some(effects);
        }
        let effects = match command {
            Command::Quit => vec![Effect::Quit],
            Command::Help => {
                self.mode = Mode::Help;
                self.help_scroll = 0;
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
            Command::PageDown if self.detail_covers_list() => {
                self.scroll_detail(self.detail_page());
                vec![]
            }
            Command::PageUp if self.detail_covers_list() => {
                self.scroll_detail(-self.detail_page());
                vec![]
            }
            Command::PageDown => {
                self.move_by(self.page());
                self.after_move()
            }
            Command::PageUp => {
                self.move_by(-self.page());
                self.after_move()
            }
            Command::DetailDown | Command::DetailUp => {
                if !self.show_detail && self.size.0 < layout::WIDE {
                    // On a narrow screen the pane must be open to be read.
                    self.show_detail = true;
                    return Some(self.detail_effects(false));
                }
                self.scroll_detail(if command == Command::DetailDown { 1 } else { -1 });
                vec![]
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
            Command::Library => self.open_library(),
            Command::Shift => self.shift_key(),
            Command::Handovers => self.handovers_key(),
            Command::Duty => self.open_duty(),
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
            Command::ExpandGroup if self.view == View::Queue => self.toggle_group(),
            Command::MergeGroup if self.view == View::Queue => match self.selected_id {
                Some(id) => self.open_merge(id),
                None => vec![],
            },
            Command::NewCase => {
                let form = self.case_draft.take().unwrap_or_default();
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
            | Command::SignFor
            | Command::Progress
            | Command::Resolve
            | Command::Return
            | Command::RequestExtension => {
                let Some(case) = self.selected_case().map(|c| self.as_it_will_be(c)) else {
                    self.info(Level::Info, self.i18n.t("msg.no_selection").to_string());
                    return Some(vec![]);
                };
                self.case_command(command, &case)
            }
            Command::TierBlue
            | Command::TierOrange
            | Command::TierRed
            // Urge, extension and follow-up open the dialogs of supervision.rs (`sup_command`).
            | Command::Urge
            | Command::Extension
            | Command::FollowUp
            | Command::Submit
            | Command::Confirm
            | Command::Sort
            | Command::Mute
            | Command::ExpandGroup
            | Command::MergeGroup => return None,
        };
        Some(effects)
    }

    pub(super) fn set_view(&mut self, view: View) -> Vec<Effect> {
        self.view = view;
        let mut effects = self.after_move();
        effects.extend(self.sup_on_view());
        effects
    }

    pub(super) fn case_command(&mut self, command: Command, case: &Case) -> Vec<Effect> {
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
            Command::Assign if case.status == Status::New && !self.triage_pending(case.id) => {
                // The tier comes first; choosing it opens the picker.
                self.assign_after_tier = Some(case.id);
                self.mode = Mode::Tier {
                    case_id: case.id,
                    retier: false,
                };
                vec![]
            }
            Command::Assign => {
                self.mode = Mode::Picker(Picker {
                    case_id: case.id,
                    seen: Box::new(case.clone()),
                    query: TextField::default(),
                    selected: 0,
                    key: new_idempotency_key(),
                    sending: false,
                    error: None,
                });
                vec![]
            }
            Command::Answer => {
                let effects = self.open_answer_editor(case);
                self.target_group_answer(case.id);
                effects
            }
            Command::Note => {
                self.open_text(TextKind::Note, case);
                vec![]
            }
            _ => self.role_case_command(command, case),
        }
    }

    pub(super) fn send_simple(&mut self, case: &Case, action: CaseAction) -> Vec<Effect> {
        let out = Outgoing {
            case_id: Some(case.id),
            version: case.version,
            op: Op::Act(action),
            key: new_idempotency_key(),
            seen: Some(Box::new(case.clone())),
        };
        self.send(out, Origin::Simple)
    }

    pub(super) fn key_filter(&mut self, key: KeyEvent) -> Vec<Effect> {
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
            _ => {
                self.mode = Mode::Filter;
                // Typing goes at the end of the filter; Backspace, Ctrl-U and Ctrl-W as in
                // every other field.
                let before = self.filter.len();
                let mut end = self.filter.chars().count();
                if matches!(key.code, KeyCode::Char(_) | KeyCode::Backspace)
                    && crate::console::input::edit(&mut self.filter, &mut end, &key, false)
                    && self.filter.len() != before
                {
                    self.refilter();
                    self.relocate();
                    return self.after_move();
                }
                vec![]
            }
        }
    }

    pub(super) fn key_tier(&mut self, key: KeyEvent, case_id: i64, retier: bool) -> Vec<Effect> {
        let tier = self.keymap.commands(&key).iter().find_map(|c| match c {
            Command::TierBlue => Some(Tier::Blue),
            Command::TierOrange => Some(Tier::Orange),
            Command::TierRed => Some(Tier::Red),
            _ => None,
        });
        let Some(tier) = tier else {
            if !self.keymap.is(&key, Command::Cancel) {
                self.mode = Mode::Tier { case_id, retier };
            } else {
                self.assign_after_tier = None;
            }
            return vec![];
        };
        let Some(case) = self.cases.get(&case_id).map(|c| (**c).clone()) else {
            return vec![];
        };
        if self.assign_after_tier.take() == Some(case_id) && !retier {
            // The dispatch typed now goes out once the triage has answered (one request at a
            // time), based on the version the triage makes.
            let effects =
                self.send_simple(&case, CaseAction::Triage(TierBody { tier, note: None }));
            self.mode = Mode::Picker(Picker {
                case_id,
                seen: Box::new(case),
                query: TextField::new(""),
                selected: 0,
                key: new_idempotency_key(),
                sending: false,
                error: None,
            });
            return effects;
        }
        let body = TierBody { tier, note: None };
        let action = if retier {
            CaseAction::Retier(body)
        } else {
            CaseAction::Triage(body)
        };
        self.send_simple(&case, action)
    }

    pub(super) fn key_picker(&mut self, key: KeyEvent, mut p: Picker) -> Vec<Effect> {
        if p.sending {
            // Waiting for the server: only Esc (hide; the request still completes).
            if !self.keymap.is(&key, Command::Cancel) {
                self.mode = Mode::Picker(p);
            }
            return vec![];
        }
        let items = self.picker_items(p.query.as_str());
        match key.code {
            KeyCode::Esc => return vec![],
            KeyCode::Enter => {
                if let Some(item) = items.get(p.selected) {
                    if self.is_reassignment(&p.seen) {
                        // Moving a case a department holds needs a reason.
                        let case = (*p.seen).clone();
                        self.open_text(TextKind::Reassign(item.department_id), &case);
                        return vec![];
                    }
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
            _ => {
                if p.query.edit(&key, false) {
                    p.selected = 0;
                }
            }
        }
        self.mode = Mode::Picker(p);
        vec![]
    }

    pub(super) fn key_text(&mut self, key: KeyEvent, mut f: TextForm) -> Vec<Effect> {
        if self.keymap.is(&key, Command::Cancel) {
            if !f.sending && !f.text.is_blank() {
                self.drafts
                    .insert((f.case_id, f.kind), f.text.as_str().to_string());
                self.info(Level::Info, self.i18n.t("msg.draft_kept").to_string());
            }
            return vec![];
        }
        if f.sending {
            self.mode = Mode::Text(f);
            return vec![];
        }
        if self.keymap.is(&key, Command::Submit) {
            if let Err(e) = self.text_action(&f) {
                f.error = Some(e);
                self.mode = Mode::Text(f);
                return vec![];
            }
            if let Some(effects) = self.submit_group_answer(&f) {
                return effects;
            }
            let action = match self.text_action(&f) {
                Ok(a) => a,
                Err(e) => {
                    f.error = Some(e);
                    self.mode = Mode::Text(f);
                    return vec![];
                }
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
        if self.key_answer_editor(&key, &mut f) {
            self.mode = Mode::Text(f);
            return vec![];
        }
        if f.kind == TextKind::Extension && matches!(key.code, KeyCode::Tab | KeyCode::BackTab) {
            f.until_focus = !f.until_focus;
        } else if f.until_focus {
            if key.code == KeyCode::Enter {
                f.until_focus = false;
            } else {
                f.until.edit(&key, false);
            }
        } else {
            f.text.edit(&key, true);
        }
        self.mode = Mode::Text(f);
        vec![]
    }

    pub(super) fn on_mouse(&mut self, m: MouseEvent) -> Vec<Effect> {
        if !matches!(self.mode, Mode::Normal | Mode::Filter) {
            return vec![];
        }
        if self.view == View::Overdue {
            return self.sup_mouse(m);
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
                    let counts = self.queues.each_ref().map(|q| q.len());
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
}
