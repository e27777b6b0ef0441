//! Departments' duty contacts: who an urging call reaches. The picker shows them, and asks
//! for the departments again when it opens so a roster changed meanwhile shows.

use super::*;

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
