//! The answer library panel (`L`, supervisors and admins): every answer with its uses and
//! validity, retiring one (with a confirmation), and the cases answered with one in the last
//! seven days, so the desk can call them back after a correction.

use super::*;
use crate::wire::{Answer, AnswerCases};

/// Days the follow-up list looks back.
pub const FOLLOW_UP_DAYS: i64 = 7;

/// The follow-up list of one answer.
#[derive(Debug, Clone, PartialEq)]
pub enum FollowUp {
    Loading(i64),
    Loaded(AnswerCases),
    Failed(i64, String),
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct LibraryPanel {
    pub selected: usize,
    /// `R` was pressed: Enter or `y` retires the selected answer, Esc does not.
    pub confirm_retire: bool,
    /// A retirement is on its way.
    pub busy: bool,
    pub follow_up: Option<FollowUp>,
    /// `n` or `e`: an answer being written; keys go to it until it is saved or dropped.
    pub form: Option<AnswerForm>,
}

impl App {
    /// `L`: the panel, with the library fetched afresh (retired and expired answers too).
    pub(super) fn open_library(&mut self) -> Vec<Effect> {
        self.mode = Mode::Library(LibraryPanel::default());
        self.library.loaded_at = None;
        self.library.loading = false;
        self.library_on_session()
    }

    /// The answer the panel's cursor is on.
    pub fn library_selected(&self, p: &LibraryPanel) -> Option<&Answer> {
        self.library.answers.get(p.selected)
    }

    pub(super) fn key_library(&mut self, key: KeyEvent, mut p: LibraryPanel) -> Vec<Effect> {
        let len = self.library.answers.len();
        let selected = self.library_selected(&p).cloned();
        let mut effects = vec![];
        if let Some(f) = p.form.take() {
            let (form, effects) = self.key_answer_form(key, f);
            p.form = form;
            self.mode = Mode::Library(p);
            return effects;
        }
        if p.confirm_retire {
            match key.code {
                KeyCode::Enter | KeyCode::Char('y') => {
                    if let Some(a) = selected {
                        p.busy = true;
                        effects.push(Effect::RetireAnswer {
                            id: a.id,
                            idempotency_key: new_idempotency_key(),
                        });
                    }
                    p.confirm_retire = false;
                }
                _ => p.confirm_retire = false,
            }
            self.mode = Mode::Library(p);
            return effects;
        }
        match key.code {
            KeyCode::Esc | KeyCode::Char('q') => return vec![],
            KeyCode::Down | KeyCode::Char('j') => {
                p.selected = (p.selected + 1).min(len.saturating_sub(1))
            }
            KeyCode::Up | KeyCode::Char('k') => p.selected = p.selected.saturating_sub(1),
            KeyCode::Char('R') if !p.busy => {
                p.confirm_retire = selected.is_some_and(|a| a.retired_at.is_none());
            }
            KeyCode::Char('n') => p.form = Some(self.new_answer_form()),
            KeyCode::Char('e') => p.form = selected.as_ref().map(|a| self.edit_answer_form(a)),
            KeyCode::Char('c') => {
                if let Some(a) = selected {
                    p.follow_up = Some(FollowUp::Loading(a.id));
                    effects.push(Effect::FetchAnswerCases {
                        id: a.id,
                        days: FOLLOW_UP_DAYS,
                    });
                }
            }
            _ => {}
        }
        self.mode = Mode::Library(p);
        effects
    }

    /// The server's answers to the panel's requests.
    pub(super) fn library_panel_answer(&mut self, action: Action) -> Vec<Effect> {
        let mode = std::mem::replace(&mut self.mode, Mode::Normal);
        let mut panel = match mode {
            Mode::Library(p) => Some(p),
            other => {
                self.mode = other;
                None
            }
        };
        match action {
            Action::AnswerRetired(a) => {
                let text = self.i18n.f("library.retired", &[("title", &a.title)]);
                if let Some(held) = self.library.answers.iter_mut().find(|h| h.id == a.id) {
                    *held = *a;
                }
                if let Some(p) = &mut panel {
                    p.busy = false;
                }
                self.info(Level::Success, text);
            }
            Action::AnswerRetireFailed { error, .. } => {
                if let Some(p) = &mut panel {
                    p.busy = false;
                }
                let text = self.i18n.f(
                    "library.retire_failed",
                    &[("error", &self.error_text(&error))],
                );
                self.info(Level::Error, text);
            }
            Action::AnswerSaved(a) => match &mut panel {
                Some(p) => self.answer_saved(p, *a),
                None => {
                    // The panel was closed meanwhile: the library still learns the answer.
                    self.library.loaded_at = None;
                }
            },
            Action::AnswerSaveFailed { error } => {
                if let Some(p) = &mut panel {
                    self.answer_save_failed(p, error);
                } else {
                    let text = self.error_text(&error);
                    self.info(Level::Error, text);
                }
            }
            Action::AnswerCasesLoaded(cases) => {
                if let Some(p) = &mut panel
                    && p.follow_up == Some(FollowUp::Loading(cases.answer_id))
                {
                    p.follow_up = Some(FollowUp::Loaded(cases));
                }
            }
            Action::AnswerCasesFailed { id, error } => {
                if let Some(p) = &mut panel
                    && p.follow_up == Some(FollowUp::Loading(id))
                {
                    p.follow_up = Some(FollowUp::Failed(id, self.error_text(&error)));
                }
            }
            _ => {}
        }
        if let Some(p) = panel {
            self.mode = Mode::Library(p);
        }
        vec![]
    }
}
