//! Departments' duty contacts: who an urging call reaches. The picker shows them, and asks
//! for the departments again when it opens so a roster changed meanwhile shows. `D` writes a
//! roster: a department user their own department's, a supervisor or admin the one chosen in
//! the Departments view.

use super::*;
use crate::wire::{DutyContact, Role};

impl App {
    /// The department's contacts on duty now (those whose `until` has not passed), as the
    /// picker shows them: "张伟 138… · 李娜 139…".
    pub fn duty_text(&self, department_id: i64) -> Option<String> {
        let d = &self.departments[*self.dept_index.get(&department_id)?];
        let server_now = self.server_now(self.now);
        let on: Vec<String> = d
            .on_duty
            .iter()
            .filter(|c| c.until.is_none_or(|u| u.with_timezone(&Utc) > server_now))
            .map(|c| format!("{} {}", c.name, c.phone))
            .collect();
        (!on.is_empty()).then(|| on.join(" · "))
    }

    /// After every update: the picker that just opened asks for fresh rosters.
    pub(super) fn duty_effects(&mut self, was_picker: bool) {
        if !was_picker && matches!(self.mode, Mode::Picker(_)) {
            self.background.push(Effect::FetchDepartments);
        }
    }

    pub(super) fn on_departments_loaded(&mut self, departments: Vec<Department>) -> Vec<Effect> {
        self.set_departments(departments);
        vec![]
    }
}

/// The roster being written: one contact a line, `name phone [until]`, where `until` is
/// `18:00` (the next time it is that o'clock in the desk's zone) or `2026-12-31 18:00`.
#[derive(Debug, Clone, PartialEq)]
pub struct DutyForm {
    pub department_id: i64,
    pub text: crate::console::textfield::TextField,
    /// What is wrong with a line (0-based), from the form's own reading or the server's.
    pub line_errors: Vec<(usize, String)>,
    pub error: Option<String>,
    pub sending: bool,
}

/// A line that is not a contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DutyLineError {
    /// Fewer than a name and a phone.
    Incomplete,
    /// The third part is not a time.
    Until,
}

/// The contacts written in `text`, blank lines skipped; the first line that is not a contact
/// stops the reading.
pub fn parse_roster(
    text: &str,
    now: DateTime<Utc>,
    zone: chrono::FixedOffset,
) -> Result<Vec<DutyContact>, (usize, DutyLineError)> {
    let mut contacts = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        match parts.as_slice() {
            [] => continue,
            [_] => return Err((n, DutyLineError::Incomplete)),
            [name, phone, until @ ..] => {
                let until = if until.is_empty() {
                    None
                } else {
                    Some(
                        parse_duty_until(&until.join(" "), now, zone)
                            .ok_or((n, DutyLineError::Until))?,
                    )
                };
                contacts.push(DutyContact {
                    name: name.to_string(),
                    phone: phone.to_string(),
                    until,
                });
            }
        }
    }
    Ok(contacts)
}

fn parse_duty_until(
    s: &str,
    now: DateTime<Utc>,
    zone: chrono::FixedOffset,
) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    use chrono::{NaiveDateTime, NaiveTime, TimeZone};
    let s = s.trim_start_matches(['至', '~', '-']).trim();
    if let Ok(t) = NaiveTime::parse_from_str(s, "%H:%M") {
        let local = now.with_timezone(&zone);
        let mut at = zone
            .from_local_datetime(&local.date_naive().and_time(t))
            .single()?;
        if at <= local {
            at += chrono::Duration::days(1);
        }
        return Some(at);
    }
    let at = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").ok()?;
    zone.from_local_datetime(&at).single()
}

/// The roster as the form shows it, without the contacts whose time is over.
fn roster_text(d: &Department, now: DateTime<Utc>) -> String {
    d.on_duty
        .iter()
        .filter(|c| c.until.is_none_or(|u| u.with_timezone(&Utc) > now))
        .map(|c| match &c.until {
            Some(u) => format!("{} {} {}", c.name, c.phone, u.format("%Y-%m-%d %H:%M")),
            None => format!("{} {}", c.name, c.phone),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The line a server refusal names: `contacts[2].phone` is the third contact's line.
fn refused_line(field: &str, text: &str) -> Option<usize> {
    let i: usize = field
        .strip_prefix("contacts[")?
        .split(']')
        .next()?
        .parse()
        .ok()?;
    // The server counts contacts; the form counts lines, blank ones included.
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .nth(i)
        .map(|(n, _)| n)
}

impl App {
    /// `D`: a department user's own roster; a supervisor's or admin's for the department chosen
    /// in the Departments view.
    pub(super) fn open_duty(&mut self) -> Vec<Effect> {
        let Some(me) = &self.me else {
            return vec![];
        };
        let department_id = if me.role == Role::Department {
            me.department_id
        } else if self.view == View::Departments {
            self.department_rows(self.server_now(self.now))
                .get(self.sup.dept_pick)
                .map(|r| r.department_id)
        } else {
            let text = self.i18n.t("duty.choose_department").to_string();
            self.info(Level::Info, text);
            return vec![];
        };
        let Some(d) = department_id
            .and_then(|id| self.dept_index.get(&id))
            .map(|&n| &self.departments[n])
        else {
            return vec![];
        };
        let mut text =
            crate::console::textfield::TextField::new(&roster_text(d, self.server_now(self.now)));
        text.to_end();
        self.mode = Mode::Duty(DutyForm {
            department_id: d.id,
            text,
            line_errors: Vec::new(),
            error: None,
            sending: false,
        });
        vec![]
    }

    pub(super) fn key_duty(&mut self, key: KeyEvent, mut f: DutyForm) -> Vec<Effect> {
        if f.sending {
            self.mode = Mode::Duty(f);
            return vec![];
        }
        if self.keymap.is(&key, Command::Submit) {
            let now = self.server_now(self.now);
            match parse_roster(f.text.as_str(), now, self.server_zone) {
                Ok(contacts) if contacts.len() > crate::wire::MAX_DUTY_CONTACTS => {
                    f.error = Some(self.i18n.f(
                        "duty.too_many",
                        &[("max", &crate::wire::MAX_DUTY_CONTACTS.to_string())],
                    ));
                }
                Ok(contacts) => {
                    f.sending = true;
                    f.error = None;
                    f.line_errors.clear();
                    let effect = Effect::PutDuty {
                        department_id: f.department_id,
                        roster: crate::wire::DutyRoster { contacts },
                    };
                    self.mode = Mode::Duty(f);
                    return vec![effect];
                }
                Err((line, e)) => {
                    let key = match e {
                        DutyLineError::Incomplete => "duty.line_incomplete",
                        DutyLineError::Until => "duty.line_until",
                    };
                    f.line_errors = vec![(line, self.i18n.t(key).to_string())];
                }
            }
            self.mode = Mode::Duty(f);
            return vec![];
        }
        if key.code == KeyCode::Esc {
            return vec![];
        }
        if f.text.edit(&key, true) {
            f.line_errors.clear();
        }
        self.mode = Mode::Duty(f);
        vec![]
    }

    /// The server kept the roster: the departments are fetched again so every view shows it.
    pub(super) fn duty_saved(&mut self) -> Vec<Effect> {
        if matches!(self.mode, Mode::Duty(_)) {
            self.mode = Mode::Normal;
        }
        let text = self.i18n.t("duty.saved").to_string();
        self.info(Level::Success, text);
        vec![Effect::FetchDepartments]
    }

    /// The server refused: the lines it names are marked, the text stays.
    pub(super) fn duty_failed(&mut self, error: ClientError) -> Vec<Effect> {
        let text = self.error_text(&error);
        let Mode::Duty(f) = &mut self.mode else {
            self.info(Level::Error, text);
            return vec![];
        };
        f.sending = false;
        f.line_errors = error
            .problem()
            .map(|p| {
                p.errors
                    .iter()
                    .filter_map(|e| {
                        Some((refused_line(&e.field, f.text.as_str())?, e.message.clone()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        f.error = Some(text);
        vec![]
    }
}
