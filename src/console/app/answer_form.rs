//! Writing the answer library from the library panel: `n` drafts a new answer, `e` edits the
//! selected one (the server keeps every earlier version). Category is chosen from the catalog
//! by typing (pinyin initials work), tags are separated by commas or spaces, and the validity
//! end is a date (with an optional time) in the desk's zone.

use chrono::{FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};

use super::*;
use crate::console::textfield::TextField;
use crate::wire::{Answer, MAX_ANSWER_TITLE_CHARS, MAX_TAG_CHARS, MAX_TAGS, NewAnswer};

/// The form's fields, in tab order.
pub const ANSWER_FIELDS: [&str; 5] = [
    "answer_form.title",
    "answer_form.category",
    "answer_form.tags",
    "answer_form.until",
    "answer_form.body",
];
pub const A_TITLE: usize = 0;
pub const A_CATEGORY: usize = 1;
pub const A_TAGS: usize = 2;
pub const A_UNTIL: usize = 3;
pub const A_BODY: usize = 4;

#[derive(Debug, Clone, PartialEq)]
pub struct AnswerForm {
    /// The answer being edited and the version the supervisor saw; `None` for a new one.
    pub editing: Option<(i64, i64)>,
    /// Kept from the edited answer: the form does not change when it starts to apply.
    pub valid_from: Option<chrono::DateTime<FixedOffset>>,
    pub fields: [TextField; 5],
    /// The chosen category's code.
    pub category: Option<String>,
    /// The highlighted line of the category choices while the category field has focus.
    pub pick: usize,
    pub focus: usize,
    pub errors: HashMap<usize, String>,
    pub key: String,
    pub sending: bool,
    pub error: Option<String>,
}

impl AnswerForm {
    fn new() -> AnswerForm {
        AnswerForm {
            editing: None,
            valid_from: None,
            fields: Default::default(),
            category: None,
            pick: 0,
            focus: A_TITLE,
            errors: HashMap::new(),
            key: new_idempotency_key(),
            sending: false,
            error: None,
        }
    }

    fn from_answer(a: &Answer) -> AnswerForm {
        let mut f = AnswerForm::new();
        f.editing = Some((a.id, a.version));
        f.valid_from = a.valid_from;
        f.fields[A_TITLE] = TextField::new(&a.title);
        f.fields[A_TAGS] = TextField::new(&a.tags.join(", "));
        if let Some(u) = &a.valid_until {
            let shown = if u.time() == NaiveTime::MIN {
                u.format("%Y-%m-%d")
            } else {
                u.format("%Y-%m-%d %H:%M")
            };
            f.fields[A_UNTIL] = TextField::new(&shown.to_string());
        }
        f.fields[A_BODY] = TextField::new(&a.body);
        f.category = a.category.clone();
        f
    }
}

/// Tags as typed: separated by commas (ASCII or Chinese), 、 or spaces; empty ones dropped,
/// repeats kept once.
pub fn split_tags(s: &str) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    for t in s.split([',', '，', '、', ' ', '\u{3000}']) {
        let t = t.trim();
        if !t.is_empty() && !tags.iter().any(|have| have == t) {
            tags.push(t.to_string());
        }
    }
    tags
}

/// A validity end that is not a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnreadableDate;

/// `2026-12-31` (from midnight of that day on the answer no longer applies) or
/// `2026-12-31 18:00`, in the desk's zone; empty is no end.
pub fn parse_valid_until(
    s: &str,
    zone: FixedOffset,
) -> Result<Option<chrono::DateTime<FixedOffset>>, UnreadableDate> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let local = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M")
        .or_else(|_| NaiveDate::parse_from_str(s, "%Y-%m-%d").map(|d| d.and_time(NaiveTime::MIN)))
        .map_err(|_| UnreadableDate)?;
    zone.from_local_datetime(&local)
        .single()
        .map(Some)
        .ok_or(UnreadableDate)
}

/// The server's name of each field, for its refusals.
fn field_of(name: &str) -> Option<usize> {
    match name.split(['.', '[']).next()? {
        "title" => Some(A_TITLE),
        "category" => Some(A_CATEGORY),
        "tags" => Some(A_TAGS),
        "valid_until" | "valid_from" => Some(A_UNTIL),
        "body" => Some(A_BODY),
        _ => None,
    }
}

impl App {
    /// `n` in the library panel: a blank answer.
    pub(super) fn new_answer_form(&self) -> AnswerForm {
        AnswerForm::new()
    }

    /// `e` in the library panel: the selected answer, to be saved as its next version.
    pub(super) fn edit_answer_form(&self, a: &Answer) -> AnswerForm {
        AnswerForm::from_answer(a)
    }

    /// The category choices for what is typed in the category field.
    pub fn answer_category_choices(&self, f: &AnswerForm) -> Vec<Choice> {
        self.choices(CATEGORY, f.fields[A_CATEGORY].as_str())
    }

    /// A key while the form is open; `None` closes it.
    pub(super) fn key_answer_form(
        &mut self,
        key: KeyEvent,
        mut f: AnswerForm,
    ) -> (Option<AnswerForm>, Vec<Effect>) {
        if f.sending {
            return (Some(f), vec![]);
        }
        if self.keymap.is(&key, Command::Submit) {
            return self.submit_answer_form(f);
        }
        match key.code {
            KeyCode::Esc => return (None, vec![]),
            KeyCode::Tab | KeyCode::BackTab => {
                self.leave_answer_field(&mut f);
                let n = ANSWER_FIELDS.len();
                f.focus = if key.code == KeyCode::Tab {
                    (f.focus + 1) % n
                } else {
                    (f.focus + n - 1) % n
                };
                f.fields[f.focus].to_end();
            }
            KeyCode::Down if f.focus == A_CATEGORY => {
                let n = self.answer_category_choices(&f).len();
                f.pick = (f.pick + 1).min(n.saturating_sub(1));
            }
            KeyCode::Up if f.focus == A_CATEGORY => f.pick = f.pick.saturating_sub(1),
            KeyCode::Enter if f.focus != A_BODY => {
                self.leave_answer_field(&mut f);
                f.focus = (f.focus + 1).min(A_BODY);
                f.fields[f.focus].to_end();
            }
            _ => {
                let focus = f.focus;
                if f.fields[focus].edit(&key, focus == A_BODY) {
                    f.errors.remove(&focus);
                    if focus == A_CATEGORY {
                        f.pick = 0;
                    }
                }
            }
        }
        (Some(f), vec![])
    }

    /// Leaving the category field takes the highlighted choice; an emptied field clears it.
    fn leave_answer_field(&self, f: &mut AnswerForm) {
        if f.focus != A_CATEGORY {
            return;
        }
        if f.fields[A_CATEGORY].is_blank() {
            if f.fields[A_CATEGORY].as_str().is_empty() && f.category.is_some() {
                return;
            }
            f.category = None;
        } else if let Some(c) = self.answer_category_choices(f).get(f.pick) {
            f.category = Some(c.code.clone());
        } else {
            f.errors
                .insert(A_CATEGORY, self.i18n.t("form.error.pick").to_string());
        }
        f.fields[A_CATEGORY].clear();
        f.pick = 0;
    }

    fn submit_answer_form(&mut self, mut f: AnswerForm) -> (Option<AnswerForm>, Vec<Effect>) {
        self.leave_answer_field(&mut f);
        let i18n = &self.i18n;
        let mut errors = HashMap::new();
        let title = f.fields[A_TITLE].trim().to_string();
        if title.is_empty() {
            errors.insert(A_TITLE, i18n.t("form.error.required").to_string());
        } else if title.chars().count() > MAX_ANSWER_TITLE_CHARS {
            errors.insert(
                A_TITLE,
                i18n.f(
                    "form.error.too_long",
                    &[("max", &MAX_ANSWER_TITLE_CHARS.to_string())],
                ),
            );
        }
        let body = f.fields[A_BODY].trim().to_string();
        if body.is_empty() {
            errors.insert(A_BODY, i18n.t("form.error.required").to_string());
        } else if let Some(name) = crate::answers::unknown_placeholder(&body) {
            errors.insert(
                A_BODY,
                i18n.f("answer_form.unknown_placeholder", &[("name", name)]),
            );
        }
        let tags = split_tags(f.fields[A_TAGS].as_str());
        if tags.len() > MAX_TAGS || tags.iter().any(|t| t.chars().count() > MAX_TAG_CHARS) {
            errors.insert(
                A_TAGS,
                i18n.f(
                    "answer_form.tags_limit",
                    &[
                        ("n", &MAX_TAGS.to_string()),
                        ("max", &MAX_TAG_CHARS.to_string()),
                    ],
                ),
            );
        }
        let until = match parse_valid_until(f.fields[A_UNTIL].as_str(), self.server_zone) {
            Ok(u) => u,
            Err(UnreadableDate) => {
                errors.insert(A_UNTIL, i18n.t("answer_form.until_format").to_string());
                None
            }
        };
        if !errors.is_empty() {
            f.focus = *errors.keys().min().unwrap_or(&f.focus);
            f.errors = errors;
            return (Some(f), vec![]);
        }
        let new = NewAnswer {
            title,
            body,
            category: f.category.clone(),
            tags,
            valid_from: f.valid_from,
            valid_until: until,
        };
        f.errors.clear();
        f.error = None;
        f.sending = true;
        let effect = Effect::SaveAnswer {
            editing: f.editing,
            new: Box::new(new),
            idempotency_key: f.key.clone(),
        };
        (Some(f), vec![effect])
    }

    /// The server kept the answer: the library shows it at once, and the form closes.
    pub(super) fn answer_saved(&mut self, p: &mut LibraryPanel, a: Answer) {
        let text = self.i18n.f("answer_form.saved", &[("title", &a.title)]);
        match self.library.answers.iter().position(|h| h.id == a.id) {
            Some(n) => {
                self.library.answers[n] = a;
                p.selected = n;
            }
            None => {
                self.library.answers.push(a);
                p.selected = self.library.answers.len() - 1;
            }
        }
        p.form = None;
        self.info(Level::Success, text);
    }

    /// The server refused: the fields it names are marked, the rest of what was typed stays.
    /// An answer changed by someone else meanwhile is fetched again, and the form says so.
    pub(super) fn answer_save_failed(&mut self, p: &mut LibraryPanel, error: ClientError) {
        let stale = error.status() == Some(412);
        let text = if stale {
            self.i18n.t("answer_form.stale").to_string()
        } else {
            self.error_text(&error)
        };
        if let Some(f) = &mut p.form {
            f.sending = false;
            if let Some(problem) = error.problem() {
                for e in &problem.errors {
                    if let Some(n) = field_of(&e.field) {
                        f.errors.insert(n, e.message.clone());
                    }
                }
            }
            f.error = Some(text);
        }
    }
}
