//! The answer editor `o` opens: the desk's library answers above the text the requester will
//! read. Typing filters the list (title, tags, body, pinyin initials), Enter puts the chosen
//! answer into the text with its placeholders filled from the case, Tab moves between list and
//! text, and the send keeps which answer (and version) the text came from.
//!
//! The library is fetched after sign-in and again when the editor opens on a list older than
//! a minute; answers do not travel on the change feed.

use super::*;
use crate::wire::{Answer, AnswerBody, AnswerList, AnswerRef, Role};

/// How old the held library may be before opening the editor fetches it again.
pub const LIBRARY_MAX_AGE_SECONDS: i64 = 60;

/// The library as last fetched, with each answer's pinyin keys for the incremental search.
#[derive(Debug, Clone, Default)]
pub struct Library {
    pub answers: Vec<Answer>,
    /// (title initials, title full pinyin) and the same for each tag, per answer.
    keys: Vec<Vec<(String, String)>>,
    /// Local time of the last good answer.
    pub loaded_at: Option<DateTime<Utc>>,
    pub loading: bool,
    /// Why the last fetch failed; the list shown is the last good one.
    pub error: Option<String>,
}

impl Library {
    fn set(&mut self, list: AnswerList, at: DateTime<Utc>) {
        self.keys = list
            .answers
            .iter()
            .map(|a| {
                std::iter::once(&a.title)
                    .chain(a.tags.iter())
                    .map(|s| super::super::pinyin::keys(s))
                    .collect()
            })
            .collect();
        self.answers = list.answers;
        self.loaded_at = Some(at);
        self.loading = false;
        self.error = None;
    }
}

/// Which part of the editor takes the typing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditorFocus {
    List,
    Text,
}

/// The editor's own state beside the text form: the search, the choice, and the library
/// answer the text was made from.
#[derive(Debug, Clone, PartialEq)]
pub struct AnswerEditor {
    pub query: TextField,
    pub selected: usize,
    pub focus: EditorFocus,
    /// The template last inserted, unfilled.
    pub template: Option<String>,
    /// Which answer and version the text came from; kept when the operator edits the text.
    pub answer: Option<AnswerRef>,
}

impl AnswerEditor {
    /// The body sent: the text as it stands and the library answer it came from, if any.
    pub fn body(&self, text: String) -> AnswerBody {
        AnswerBody {
            text,
            answer: self.answer,
        }
    }
}

/// Roles the server lets read the library.
fn reads_library(role: Role) -> bool {
    matches!(
        role,
        Role::Intake | Role::Operator | Role::Supervisor | Role::Observer | Role::Admin
    )
}

impl App {
    /// Answers that may be sent now and match `query`, most used first (the server's order).
    pub fn library_items(&self, query: &str) -> Vec<&Answer> {
        let q = query.trim().to_lowercase();
        let now = self.server_now(self.now);
        let lib = &self.library;
        lib.answers
            .iter()
            .zip(&lib.keys)
            .filter(|(a, _)| a.usable_at(now))
            .filter(|(a, keys)| {
                q.is_empty()
                    || a.body.to_lowercase().contains(&q)
                    || std::iter::once(&a.title)
                        .chain(a.tags.iter())
                        .zip(keys.iter())
                        .any(|(s, k)| super::super::pinyin::matches(s, k, &q))
            })
            .map(|(a, _)| a)
            .collect()
    }

    /// After sign-in: the library, for the roles that read it.
    pub(super) fn library_on_session(&mut self) -> Vec<Effect> {
        match &self.me {
            Some(me) if reads_library(me.role) => self.fetch_library(),
            _ => vec![],
        }
    }

    fn fetch_library(&mut self) -> Vec<Effect> {
        if self.library.loading {
            return vec![];
        }
        self.library.loading = true;
        let all = self.role_uses(crate::console::command::Command::Library);
        vec![Effect::FetchAnswers { all }]
    }

    pub(super) fn on_answers_loaded(&mut self, list: AnswerList, at: DateTime<Utc>) -> Vec<Effect> {
        self.library.set(list, at);
        let mode = std::mem::replace(&mut self.mode, Mode::Normal);
        self.mode = match mode {
            Mode::Text(mut f) => {
                if let Some(e) = &mut f.editor {
                    let len = self.library_items(e.query.as_str()).len();
                    e.selected = e.selected.min(len.saturating_sub(1));
                }
                Mode::Text(f)
            }
            other => other,
        };
        vec![]
    }

    pub(super) fn on_answers_failed(&mut self, error: &ClientError) -> Vec<Effect> {
        self.library.loading = false;
        self.library.error = Some(self.error_text(error));
        vec![]
    }

    /// The server refused a library answer (changed, retired, expired meanwhile): the list
    /// held is out of date, so it is fetched again for the operator's next choice.
    pub(super) fn library_after_refusal(&mut self, error: &ClientError) -> Vec<Effect> {
        let names_answer = error
            .problem()
            .is_some_and(|p| p.status == 422 && p.errors.iter().any(|e| e.field == "answer"));
        if names_answer {
            self.fetch_library()
        } else {
            vec![]
        }
    }

    /// `o`: the answer editor on `case`, on the list when there is one to choose from.
    pub(super) fn open_answer_editor(&mut self, case: &Case) -> Vec<Effect> {
        self.open_text(TextKind::Answer, case);
        let has_answers = !self.library_items("").is_empty();
        if let Mode::Text(f) = &mut self.mode {
            let focus = if has_answers && f.text.is_blank() {
                EditorFocus::List
            } else {
                EditorFocus::Text
            };
            f.editor = Some(Box::new(AnswerEditor {
                query: TextField::default(),
                selected: 0,
                focus,
                template: None,
                answer: None,
            }));
        }
        let stale = self
            .library
            .loaded_at
            .is_none_or(|at| (self.now - at).num_seconds() >= LIBRARY_MAX_AGE_SECONDS);
        if stale { self.fetch_library() } else { vec![] }
    }

    /// A key in the answer editor that is not send or cancel; `true` when it was the editor's.
    pub(super) fn key_answer_editor(&self, key: &KeyEvent, f: &mut TextForm) -> bool {
        let Some(mut e) = f.editor.take() else {
            return false;
        };
        let used = match (e.focus, key.code) {
            (_, KeyCode::Tab | KeyCode::BackTab) => {
                e.focus = match e.focus {
                    EditorFocus::List => EditorFocus::Text,
                    EditorFocus::Text => EditorFocus::List,
                };
                true
            }
            (EditorFocus::Text, _) => false,
            (EditorFocus::List, code) => {
                let items = self.library_items(e.query.as_str());
                let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
                match code {
                    KeyCode::Down => e.selected += 1,
                    KeyCode::Char('n') if ctrl => e.selected += 1,
                    KeyCode::Up => e.selected = e.selected.saturating_sub(1),
                    KeyCode::Char('p') if ctrl => e.selected = e.selected.saturating_sub(1),
                    KeyCode::Enter => {
                        if let Some(a) = items.get(e.selected) {
                            // A group's reply is filled per case by the server, so the
                            // operator edits the template itself.
                            let text = if self.answers_group(f.case_id) {
                                a.body.clone()
                            } else {
                                crate::answers::fill(&a.body, &f.seen)
                            };
                            f.text = TextField::new(&text);
                            e.template = Some(a.body.clone());
                            e.answer = Some(AnswerRef {
                                id: a.id,
                                version: a.version,
                            });
                            f.error = None;
                        }
                        e.focus = EditorFocus::Text;
                    }
                    _ => {
                        if e.query.edit(key, false) {
                            e.selected = 0;
                        }
                    }
                }
                let len = self.library_items(e.query.as_str()).len();
                e.selected = e.selected.min(len.saturating_sub(1));
                true
            }
        };
        f.editor = Some(e);
        used
    }
}
