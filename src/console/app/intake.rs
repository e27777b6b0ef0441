//! Hotline intake: the form a call is taken down in. Category and town are chosen from the
//! server's catalog in pickers (type a few pinyin initials, Enter); the caller is looked up as
//! the name or phone is typed, so a repeat call becomes a note on the caller's open case
//! rather than a duplicate.

use super::*;
use crate::catalog::{Catalog, CategoryInfo, TownInfo};
use crate::console::i18n::Lang;
use crate::console::textfield::TextField;
use crate::wire::{CaseList, Role};

/// The form's fields, in tab order (the channel is chosen with ←/→).
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
pub const TITLE: usize = 1;
pub const CATEGORY: usize = 2;
pub const NAME: usize = 3;
pub const PHONE: usize = 4;
pub const TOWN: usize = 5;
pub const DESCRIPTION: usize = 7;

/// Typing in the caller fields waits for a pause this long before the server is asked.
pub const LOOKUP_DEBOUNCE: std::time::Duration = std::time::Duration::from_millis(400);

/// Fewest digits worth looking up (a landline without area code has 7).
const LOOKUP_MIN_DIGITS: usize = 7;

/// Whether field `n` is chosen from a list rather than typed.
pub fn is_picker(n: usize) -> bool {
    n == CATEGORY || n == TOWN
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewCaseForm {
    pub channel: Channel,
    /// Indexed like `NEW_CASE_FIELDS`; slot 0 (the channel) is unused. For the category and
    /// the town, the text typed to filter the picker.
    pub fields: [TextField; 8],
    /// The chosen category's code.
    pub category: Option<String>,
    /// The chosen town's code.
    pub town: Option<String>,
    /// The highlighted line of the focused picker.
    pub pick: usize,
    pub focus: usize,
    pub errors: HashMap<usize, String>,
    pub key: String,
    pub sending: bool,
    pub error: Option<String>,
    pub lookup: Lookup,
}

/// Who is calling, as far as the form knows: what the caller lookup asks the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerQuery {
    /// Digits only.
    pub phone: Option<String>,
    pub requester: Option<String>,
}

/// The caller's earlier cases, as found by the last lookup.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Lookup {
    /// The lookup the form waits for; answers to older ones are dropped.
    pub generation: u64,
    pub wanted: Option<CallerQuery>,
    /// Open cases first, then the newest.
    pub cases: Vec<Case>,
    pub loading: bool,
    pub error: Option<String>,
    /// Keys move in the list instead of the form.
    pub focused: bool,
    pub selected: usize,
}

impl NewCaseForm {
    pub fn new() -> NewCaseForm {
        NewCaseForm {
            channel: Channel::Hotline12345,
            fields: Default::default(),
            category: None,
            town: None,
            pick: 0,
            focus: TITLE,
            errors: HashMap::new(),
            key: new_idempotency_key(),
            sending: false,
            error: None,
            lookup: Lookup::default(),
        }
    }

    /// Anything taken down yet (worth keeping as a draft).
    pub fn typed(&self) -> bool {
        self.category.is_some()
            || self.town.is_some()
            || self
                .fields
                .iter()
                .enumerate()
                .any(|(i, v)| !is_picker(i) && !v.is_blank())
    }

    /// The phone when it has enough digits, else the name: what identifies the caller best.
    pub fn caller_query(&self) -> Option<CallerQuery> {
        let digits: String = self.fields[PHONE]
            .as_str()
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        if (LOOKUP_MIN_DIGITS..=20).contains(&digits.len()) {
            return Some(CallerQuery {
                phone: Some(digits),
                requester: None,
            });
        }
        let name = self.fields[NAME].trim();
        (name.chars().count() >= 2 && name.chars().count() <= 50).then(|| CallerQuery {
            phone: None,
            requester: Some(name.to_string()),
        })
    }

    pub fn selected_lookup(&self) -> Option<&Case> {
        self.lookup.cases.get(self.lookup.selected)
    }
}

impl Default for NewCaseForm {
    fn default() -> Self {
        NewCaseForm::new()
    }
}

/// The catalog from the server, with the pinyin keys its pickers filter by.
#[derive(Debug, Clone, Default)]
pub struct IntakeState {
    pub categories: Vec<CategoryInfo>,
    pub towns: Vec<TownInfo>,
    category_keys: Vec<(String, String)>,
    town_keys: Vec<(String, String)>,
    /// The last caller lookup generation handed out (unique across forms and drafts).
    generation: u64,
}

impl IntakeState {
    fn set(&mut self, catalog: Catalog) {
        self.category_keys = catalog
            .categories
            .iter()
            .map(|c| crate::console::pinyin::keys(&c.label))
            .collect();
        self.town_keys = catalog
            .towns
            .iter()
            .map(|t| crate::console::pinyin::keys(&t.label))
            .collect();
        self.categories = catalog.categories;
        self.towns = catalog.towns;
    }
}

/// One line of a category or town picker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub code: String,
    pub label: String,
}

impl App {
    /// The lines of the picker for field `n` (category or town) filtered by `query`: by the
    /// Chinese label, its pinyin initials or full pinyin, the English label or the code.
    pub fn choices(&self, n: usize, query: &str) -> Vec<Choice> {
        let q = query.trim().to_lowercase();
        let st = &self.intake;
        if n == CATEGORY {
            st.categories
                .iter()
                .zip(&st.category_keys)
                .filter(|(c, k)| {
                    q.is_empty()
                        || crate::console::pinyin::matches(&c.label, k, &q)
                        || c.label_en.to_lowercase().contains(&q)
                        || c.code.contains(&q)
                })
                .map(|(c, _)| Choice {
                    code: c.code.clone(),
                    label: self.category_label(c),
                })
                .collect()
        } else {
            st.towns
                .iter()
                .zip(&st.town_keys)
                .filter(|(t, k)| {
                    q.is_empty()
                        || crate::console::pinyin::matches(&t.label, k, &q)
                        || t.code.to_lowercase().contains(&q)
                })
                .map(|(t, _)| Choice {
                    code: t.code.clone(),
                    label: t.label.clone(),
                })
                .collect()
        }
    }

    /// A case's category as people read it: the catalog's label in the UI's language, or the
    /// code itself when the catalog does not know it.
    pub fn category_name<'a>(&'a self, code: &'a str) -> &'a str {
        match self.intake.categories.iter().find(|c| c.code == code) {
            Some(c) if self.i18n.lang == Lang::En && !c.label_en.is_empty() => &c.label_en,
            Some(c) => &c.label,
            None => code,
        }
    }

    fn category_label(&self, c: &CategoryInfo) -> String {
        if self.i18n.lang == Lang::En && !c.label_en.is_empty() {
            format!("{} · {}", c.label, c.label_en)
        } else {
            c.label.clone()
        }
    }

    /// What a chosen category or town reads as on the form.
    pub fn chosen_label(&self, n: usize, code: &str) -> String {
        if n == CATEGORY {
            self.intake
                .categories
                .iter()
                .find(|c| c.code == code)
                .map(|c| self.category_label(c))
                .unwrap_or_else(|| code.to_string())
        } else {
            self.intake
                .towns
                .iter()
                .find(|t| t.code == code)
                .map(|t| t.label.clone())
                .unwrap_or_else(|| code.to_string())
        }
    }

    /// Hotline staff start on the form: taking calls is what they are here for.
    pub(super) fn intake_on_session(&mut self, catalog: Catalog, first: bool) {
        self.intake.set(catalog);
        let intake = self.me.as_ref().is_some_and(|m| m.role == Role::Intake);
        if first && intake && matches!(self.mode, Mode::Normal) {
            self.mode = Mode::NewCase(self.case_draft.take().unwrap_or_default());
        }
    }

    pub(super) fn key_new_case(&mut self, key: KeyEvent, mut f: Box<NewCaseForm>) -> Vec<Effect> {
        if f.lookup.focused && !f.sending {
            return self.key_lookup(key, f);
        }
        if self.keymap.is(&key, Command::Cancel) {
            if !f.sending && f.typed() {
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
            return self.submit_new_case(f);
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && key.code == KeyCode::Char('l') {
            if !f.lookup.cases.is_empty() {
                f.lookup.focused = true;
                f.lookup.selected = f.lookup.selected.min(f.lookup.cases.len() - 1);
            }
            self.mode = Mode::NewCase(f);
            return vec![];
        }
        let last = DESCRIPTION;
        let before = f.focus;
        let picker = is_picker(f.focus);
        let n_choices = if picker {
            self.choices(f.focus, f.fields[f.focus].as_str()).len()
        } else {
            0
        };
        match key.code {
            KeyCode::Tab | KeyCode::Enter if picker => {
                let moves_on = self.accept_pick(&mut f, key.code == KeyCode::Enter);
                if moves_on {
                    f.focus = (f.focus + 1).min(last);
                }
            }
            KeyCode::Down if picker => f.pick = (f.pick + 1).min(n_choices.saturating_sub(1)),
            KeyCode::Up if picker => f.pick = f.pick.saturating_sub(1),
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
                let was = f.fields[focus].as_str().to_string();
                // Only the description takes line breaks.
                if f.fields[focus].edit(&key, focus == last) && f.fields[focus] != was.as_str() {
                    f.errors.remove(&focus);
                    f.pick = 0;
                }
            }
            _ => {}
        }
        if f.focus != before {
            f.fields[f.focus].to_end();
            f.pick = 0;
        }
        let effects = self.lookup_after_edit(&mut f);
        self.mode = Mode::NewCase(f);
        effects
    }

    /// Takes the highlighted line of the focused picker when something was typed or chosen
    /// (or on Enter); true when the form may move on to the next field.
    fn accept_pick(&mut self, f: &mut NewCaseForm, enter: bool) -> bool {
        let n = f.focus;
        let query = f.fields[n].as_str().to_string();
        // Tab past an untouched picker moves on; Enter on it takes the highlighted line.
        let take = !query.trim().is_empty() || f.pick > 0 || (enter && self.chosen(f, n).is_none());
        if !take {
            return true;
        }
        match self.choices(n, &query).into_iter().nth(f.pick) {
            Some(choice) => {
                if n == CATEGORY {
                    f.category = Some(choice.code);
                } else {
                    f.town = Some(choice.code);
                }
                f.fields[n].clear();
                f.errors.remove(&n);
                true
            }
            None => {
                f.errors
                    .insert(n, self.i18n.t("form.error.no_match").to_string());
                false
            }
        }
    }

    fn chosen<'a>(&self, f: &'a NewCaseForm, n: usize) -> Option<&'a String> {
        if n == CATEGORY {
            f.category.as_ref()
        } else {
            f.town.as_ref()
        }
    }

    /// After an edit: when who is calling changed, a new lookup waits for a pause in typing.
    pub(super) fn lookup_after_edit(&mut self, f: &mut NewCaseForm) -> Vec<Effect> {
        let wanted = f.caller_query();
        if wanted == f.lookup.wanted {
            return vec![];
        }
        self.intake.generation += 1;
        f.lookup.generation = self.intake.generation;
        f.lookup.wanted = wanted;
        // Waiting for the pause counts as looking: the list says so rather than "none".
        f.lookup.loading = f.lookup.wanted.is_some();
        f.lookup.error = None;
        if f.lookup.wanted.is_none() {
            f.lookup.cases.clear();
            f.lookup.focused = false;
            return vec![];
        }
        vec![Effect::LookupSoon {
            generation: f.lookup.generation,
        }]
    }

    pub(super) fn on_lookup_due(&mut self, generation: u64) -> Vec<Effect> {
        let Mode::NewCase(f) = &mut self.mode else {
            return vec![];
        };
        if f.lookup.generation != generation {
            return vec![];
        }
        let Some(q) = f.lookup.wanted.clone() else {
            return vec![];
        };
        f.lookup.loading = true;
        vec![Effect::LookupCaller {
            generation,
            phone: q.phone,
            requester: q.requester,
        }]
    }

    pub(super) fn on_caller_cases(&mut self, generation: u64, list: CaseList) -> Vec<Effect> {
        let mut cases: Vec<Case> = list
            .cases
            .into_iter()
            .map(|c| match self.cases.get(&c.id) {
                // The feed may already hold a newer version.
                Some(held) if held.version > c.version => (**held).clone(),
                _ => c,
            })
            .collect();
        cases.sort_by_key(|c| (!c.status.is_open(), -c.received_at.timestamp()));
        let Mode::NewCase(f) = &mut self.mode else {
            return vec![];
        };
        if f.lookup.generation != generation {
            return vec![];
        }
        f.lookup.loading = false;
        f.lookup.error = None;
        f.lookup.selected = 0;
        f.lookup.cases = cases;
        if f.lookup.cases.is_empty() {
            f.lookup.focused = false;
        }
        vec![]
    }

    pub(super) fn on_caller_lookup_failed(
        &mut self,
        generation: u64,
        error: ClientError,
    ) -> Vec<Effect> {
        let text = self
            .i18n
            .f("lookup.failed", &[("error", &self.error_text(&error))]);
        if let Mode::NewCase(f) = &mut self.mode
            && f.lookup.generation == generation
        {
            // The cases found before stay: a failed lookup is no news about the caller.
            f.lookup.loading = false;
            f.lookup.error = Some(text);
        }
        vec![]
    }

    fn key_lookup(&mut self, key: KeyEvent, mut f: Box<NewCaseForm>) -> Vec<Effect> {
        let n = f.lookup.cases.len();
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Down => f.lookup.selected = (f.lookup.selected + 1).min(n.saturating_sub(1)),
            KeyCode::Up => f.lookup.selected = f.lookup.selected.saturating_sub(1),
            KeyCode::Enter => {
                if let Some(case) = f.selected_lookup().cloned() {
                    if case.status.is_open() {
                        return self.repeat_call_note(f, &case);
                    }
                    let text = self.i18n.f("lookup.closed", &[("ref", &case.reference)]);
                    self.info(Level::Info, text);
                }
            }
            KeyCode::Esc | KeyCode::Tab | KeyCode::BackTab => f.lookup.focused = false,
            KeyCode::Char('l') if ctrl => f.lookup.focused = false,
            _ => {}
        }
        self.mode = Mode::NewCase(f);
        vec![]
    }

    /// The caller rings again about a case still open: their words go onto that case as a
    /// note. The form is kept aside until the note is sent, in case this was a new matter.
    fn repeat_call_note(&mut self, mut f: Box<NewCaseForm>, case: &Case) -> Vec<Effect> {
        let seen = match self.cases.get(&case.id) {
            Some(held) if held.version >= case.version => (**held).clone(),
            _ => case.clone(),
        };
        let mut text = self
            .i18n
            .f("lookup.note_prefix", &[("name", f.fields[NAME].trim())]);
        let said: Vec<&str> = [f.fields[TITLE].trim(), f.fields[DESCRIPTION].trim()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect();
        text.push_str(&said.join(" "));
        f.lookup.focused = false;
        f.error = None;
        self.case_draft = Some(f);
        self.mode = Mode::Text(TextForm {
            kind: TextKind::Note,
            case_id: seen.id,
            seen: Box::new(seen),
            text: TextField::new(&text),
            until: TextField::new(""),
            until_focus: false,
            key: new_idempotency_key(),
            sending: false,
            error: None,
            repeat_call: true,
            editor: None,
        });
        vec![]
    }

    pub(super) fn submit_new_case(&mut self, mut f: Box<NewCaseForm>) -> Vec<Effect> {
        // A filter typed but not yet taken counts when it says which: the highlighted line of
        // the picker being typed in, or the only match of another.
        for n in [CATEGORY, TOWN] {
            if f.fields[n].is_blank() {
                continue;
            }
            let choices = self.choices(n, f.fields[n].as_str());
            let take = if f.focus == n {
                choices.into_iter().nth(f.pick)
            } else if choices.len() == 1 {
                choices.into_iter().next()
            } else {
                None
            };
            if let Some(c) = take {
                if n == CATEGORY {
                    f.category = Some(c.code);
                } else {
                    f.town = Some(c.code);
                }
                f.fields[n].clear();
            }
        }
        f.errors = validate_new_case(&f, &self.i18n);
        if let Some(first) = f.errors.keys().min() {
            f.focus = *first;
            f.fields[f.focus].to_end();
            self.mode = Mode::NewCase(f);
            return vec![];
        }
        let out = Outgoing {
            case_id: None,
            version: 0,
            op: Op::Create(new_case_from(&f)),
            key: f.key.clone(),
            seen: None,
        };
        f.sending = true;
        f.error = None;
        f.lookup.focused = false;
        self.mode = Mode::NewCase(f);
        self.send(out, Origin::Form)
    }

    /// A call is done (a case created, or a repeat call noted): hotline staff are back on an
    /// empty form for the next one.
    pub(super) fn intake_call_done(&mut self, repeat_call: bool) {
        if repeat_call {
            self.case_draft = None;
        }
        if self.me.as_ref().is_some_and(|m| m.role == Role::Intake)
            && matches!(self.mode, Mode::Normal)
        {
            self.mode = Mode::NewCase(Box::default());
        }
    }
}

pub(super) fn validate_new_case(f: &NewCaseForm, i18n: &I18n) -> HashMap<usize, String> {
    let mut errors = HashMap::new();
    for i in [TITLE, NAME, PHONE] {
        if f.fields[i].is_blank() {
            errors.insert(i, i18n.t("form.error.required").to_string());
        }
    }
    if f.category.is_none() {
        errors.insert(CATEGORY, i18n.t("form.error.pick").to_string());
    }
    if f.town.is_none() {
        errors.insert(TOWN, i18n.t("form.error.pick").to_string());
    }
    if f.fields[TITLE].trim().chars().count() > crate::wire::MAX_TITLE_CHARS {
        errors.insert(
            TITLE,
            i18n.f(
                "form.error.too_long",
                &[("max", &crate::wire::MAX_TITLE_CHARS.to_string())],
            ),
        );
    }
    if f.fields[DESCRIPTION].chars() > crate::wire::MAX_DESCRIPTION_CHARS {
        errors.insert(
            DESCRIPTION,
            i18n.f(
                "form.error.too_long",
                &[("max", &crate::wire::MAX_DESCRIPTION_CHARS.to_string())],
            ),
        );
    }
    let phone = f.fields[PHONE].trim();
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    if !phone.is_empty()
        && (!(3..=20).contains(&digits)
            || !phone
                .chars()
                .all(|c| c.is_ascii_digit() || "+- ".contains(c)))
    {
        errors.insert(PHONE, i18n.t("form.error.phone").to_string());
    }
    errors
}

pub(super) fn new_case_from(f: &NewCaseForm) -> NewCase {
    NewCase {
        channel: f.channel,
        category: f.category.clone().unwrap_or_default(),
        title: f.fields[TITLE].trim().to_string(),
        description: f.fields[DESCRIPTION].trim().to_string(),
        requester: Requester {
            name: f.fields[NAME].trim().to_string(),
            phone: f.fields[PHONE].trim().to_string(),
        },
        location: Location {
            town: f.town.clone().unwrap_or_default(),
            address: f.fields[6].trim().to_string(),
            lat: None,
            long: None,
        },
    }
}
