//! Similar-request groups in the untriaged pane: the server names each new case's group
//! (`Case::group`, the anchor's id); cases of one group show as one row with a count until the
//! operator expands it. A group is answered with one text (each case gets its own reply and
//! event on the server) or its duplicates are merged into one case.

use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap, HashSet};

use super::*;
use crate::wire::{AnswerRef, CaseVersion, GroupAnswerBody, GroupMergeBody, GroupOutcome};

/// What the untriaged pane shows of groups, and the group requests on their way.
#[derive(Debug, Clone, Default)]
pub struct GroupState {
    /// Group keys (anchor ids) the operator expanded.
    pub expanded: HashSet<i64>,
    /// Each group key → its shown untriaged members, in the pane's order. Kept per changed
    /// case, so a group costs the pane nothing when nothing in it changes. Filled for every
    /// shown untriaged case on a filter keystroke: a fast hash.
    members: HashMap<i64, Members, foldhash::fast::RandomState>,
    /// How many cases the untriaged pane shows, however many rows their groups take.
    shown: usize,
    /// `o` on a collapsed row: the answer form (on the row's case) answers these cases.
    pub answer_target: Option<(i64, Vec<i64>)>,
    pending: HashMap<RequestId, PendingGroup>,
}

/// A group's shown untriaged members: most groups are one case, which needs no set.
#[derive(Debug, Clone)]
enum Members {
    One((i64, i64)),
    /// Two or more, in the pane's order.
    Many(BTreeSet<(i64, i64)>),
}

impl GroupState {
    /// The untriaged pane's rows of one group: its most urgent case while collapsed, every
    /// member when expanded or alone.
    fn rows(&self, key: i64) -> Vec<(i64, i64)> {
        match self.members.get(&key) {
            None => vec![],
            Some(Members::One(r)) => vec![*r],
            Some(Members::Many(m)) if self.expanded.contains(&key) => m.iter().copied().collect(),
            Some(Members::Many(m)) => m.first().copied().into_iter().collect(),
        }
    }

    fn edit(&mut self, key: i64, row: (i64, i64), add: bool) {
        if add {
            if self.join(key, row).0 {
                self.shown += 1;
            }
            return;
        }
        let Entry::Occupied(mut e) = self.members.entry(key) else {
            return;
        };
        let left = match e.get_mut() {
            Members::One(r) if *r == row => {
                e.remove();
                self.expanded.remove(&key);
                true
            }
            Members::One(_) => false,
            Members::Many(m) => {
                let left = m.remove(&row);
                if let (1, Some(r)) = (m.len(), m.first().copied()) {
                    e.insert(Members::One(r));
                }
                left
            }
        };
        if left {
            self.shown -= 1;
        }
    }

    /// Adds a shown member to its group: whether it was not there yet, and whether the group
    /// is now two or more.
    fn join(&mut self, key: i64, row: (i64, i64)) -> (bool, bool) {
        match self.members.entry(key) {
            Entry::Vacant(e) => {
                e.insert(Members::One(row));
                (true, false)
            }
            Entry::Occupied(mut e) => match e.get_mut() {
                Members::One(r) if *r == row => (false, false),
                Members::One(r) => {
                    let first = *r;
                    e.insert(Members::Many(BTreeSet::from([first, row])));
                    (true, true)
                }
                Members::Many(m) => (m.insert(row), true),
            },
        }
    }

    /// Forgets the untriaged pane's cases (the lists are made anew); expanded groups stay so.
    pub(super) fn clear_rows(&mut self) {
        self.members.clear();
        self.shown = 0;
    }

    /// The cases the untriaged pane stands for.
    pub fn shown_cases(&self) -> usize {
        self.shown
    }

    /// A group of two or more shown cases, by key.
    fn group(&self, key: i64) -> Option<&BTreeSet<(i64, i64)>> {
        match self.members.get(&key) {
            Some(Members::Many(m)) => Some(m),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
struct PendingGroup {
    merge: bool,
    /// The answer's text, kept as the form's draft on the row's case until the server answers.
    draft: Option<(i64, String)>,
}

/// `m` on a group row: which case the duplicates are merged into.
#[derive(Debug, Clone, PartialEq)]
pub struct MergeForm {
    /// The group's members, the anchor (when still untriaged) first.
    pub members: Vec<i64>,
    pub keep: usize,
}

/// A case's group key: the anchor's id (an anchor is its own key).
pub fn group_key(c: &Case) -> i64 {
    c.group.unwrap_or(c.id)
}

impl App {
    /// One shown untriaged case joins or leaves the untriaged pane: only its group's rows are
    /// laid again.
    pub(super) fn edit_untriaged(&mut self, group: i64, row: (i64, i64), add: bool) {
        for r in self.groups.rows(group) {
            self.queues[0].remove(&r);
        }
        self.groups.edit(group, row, add);
        for r in self.groups.rows(group) {
            self.queues[0].insert(r);
        }
    }

    /// The untriaged pane laid anew from its shown cases, in order, each with its group key
    /// (after the filter changed).
    pub(super) fn lay_untriaged(&mut self, shown: Vec<((i64, i64), i64)>) {
        self.groups.clear_rows();
        self.groups.members.reserve(shown.len());
        let mut grouped = false;
        for (row, key) in &shown {
            grouped |= self.groups.join(*key, *row).1;
        }
        self.groups.shown = shown.len();
        let groups = &mut self.groups;
        groups.expanded.retain(|k| groups.members.contains_key(k));
        if !grouped {
            // Every case its own group: every case its own row.
            self.queues[0] = Ranked::from_sorted(shown.into_iter().map(|(row, _)| row));
            return;
        }
        let rows = shown.into_iter().filter_map(|(row, key)| {
            self.groups
                .group(key)
                .is_none_or(|m| self.groups.expanded.contains(&key) || m.first() == Some(&row))
                .then_some(row)
        });
        self.queues[0] = Ranked::from_sorted(rows);
    }

    /// The shown group of an untriaged case, by key.
    fn group_of(&self, case_id: i64) -> Option<(i64, &BTreeSet<(i64, i64)>)> {
        let c = self.cases.get(&case_id).filter(|c| c.tier.is_none())?;
        let key = group_key(c);
        self.groups.group(key).map(|m| (key, m))
    }

    /// The collapsed row standing for a group: its members, the row's case first.
    fn collapsed_members(&self, case_id: i64) -> Option<Vec<i64>> {
        let (key, m) = self.group_of(case_id)?;
        (!self.groups.expanded.contains(&key) && m.first().is_some_and(|r| r.1 == case_id))
            .then(|| m.iter().map(|r| r.1).collect())
    }

    /// A case listed as a member of an expanded group.
    pub fn expanded_member(&self, case_id: i64) -> bool {
        self.group_of(case_id)
            .is_some_and(|(key, _)| self.groups.expanded.contains(&key))
    }

    /// The untriaged open members of the selected row's group: every case a collapsed row
    /// stands for, or the group of an expanded member; just the case itself otherwise.
    pub fn group_members(&self, case_id: i64) -> Vec<i64> {
        match self.group_of(case_id) {
            Some((key, m))
                if self.groups.expanded.contains(&key)
                    || m.first().is_some_and(|r| r.1 == case_id) =>
            {
                m.iter().map(|r| r.1).collect()
            }
            _ => vec![case_id],
        }
    }

    /// The selected row is a group's (collapsed, or a case of an expanded one).
    pub fn selected_in_group(&self) -> bool {
        self.selected_id
            .is_some_and(|id| self.collapsed_members(id).is_some() || self.expanded_member(id))
    }

    /// How a collapsed row reads: the group's size and its anchor's title (the row's own
    /// title when the anchor has left the queue).
    pub fn group_row(&self, case_id: i64) -> Option<(usize, &str)> {
        let members = self.collapsed_members(case_id)?;
        let c = self.cases.get(&case_id)?;
        let title = self
            .cases
            .get(&group_key(c))
            .filter(|a| members.contains(&a.id))
            .unwrap_or(c);
        Some((members.len(), title.title.as_str()))
    }

    /// Expands the selected collapsed group, or collapses the group of the selected member.
    pub(super) fn toggle_group(&mut self) -> Vec<Effect> {
        let Some(id) = self.selected_id else {
            return vec![];
        };
        let Some((key, _)) = self.group_of(id) else {
            return vec![];
        };
        let collapsed = self.collapsed_members(id).is_some();
        if !collapsed && !self.expanded_member(id) {
            return vec![];
        }
        for r in self.groups.rows(key) {
            self.queues[0].remove(&r);
        }
        if collapsed {
            self.groups.expanded.insert(key);
        } else {
            self.groups.expanded.remove(&key);
        }
        for r in self.groups.rows(key) {
            self.queues[0].insert(r);
        }
        if !collapsed {
            // The cursor stays on the group: its row is now its most urgent case.
            self.selected_id = self.groups.rows(key).first().map(|r| r.1);
        }
        self.relocate();
        self.after_move()
    }

    /// `o` on a collapsed group row: the answer form opened on the row's case answers the
    /// whole group.
    pub(super) fn target_group_answer(&mut self, case_id: i64) {
        let members = self.collapsed_members(case_id);
        self.groups.answer_target = members.map(|m| (case_id, m));
    }

    /// Sends the answer form to the group it was opened on, when it was; `None` otherwise.
    pub(super) fn submit_group_answer(&mut self, f: &TextForm) -> Option<Vec<Effect>> {
        let (case_id, members) = self.groups.answer_target.take()?;
        if f.kind != TextKind::Answer || f.case_id != case_id {
            return None;
        }
        let text = f.text.trim().to_string();
        let answer = f.editor.as_ref().and_then(|e| e.answer);
        Some(self.answer_group(members, text, answer))
    }

    /// Whether the answer form on `case_id` answers its whole group.
    pub(super) fn answers_group(&self, case_id: i64) -> bool {
        self.groups
            .answer_target
            .as_ref()
            .is_some_and(|(id, _)| *id == case_id)
    }

    /// One request answering every case of `members` with `template` (placeholders filled
    /// per case by the server), each at the version this console holds.
    pub fn answer_group(
        &mut self,
        members: Vec<i64>,
        template: String,
        answer: Option<AnswerRef>,
    ) -> Vec<Effect> {
        let draft = members.first().map(|id| (*id, template.clone()));
        let body = GroupAnswerBody {
            cases: self.versions(&members),
            text: template,
            answer,
        };
        let request = self.group_request(false, draft);
        self.info(
            Level::Info,
            self.i18n.f(
                "group.answering",
                &[("count", &body.cases.len().to_string())],
            ),
        );
        vec![Effect::AnswerGroup {
            request,
            body,
            idempotency_key: new_idempotency_key(),
        }]
    }

    fn versions(&self, ids: &[i64]) -> Vec<CaseVersion> {
        ids.iter()
            .filter_map(|id| self.cases.get(id))
            .map(|c| CaseVersion {
                id: c.id,
                version: c.version,
            })
            .collect()
    }

    fn group_request(&mut self, merge: bool, draft: Option<(i64, String)>) -> RequestId {
        let request = self.next_request;
        self.next_request += 1;
        self.groups
            .pending
            .insert(request, PendingGroup { merge, draft });
        request
    }

    /// `m` on a group row: asks which case to keep, the anchor first.
    pub(super) fn open_merge(&mut self, case_id: i64) -> Vec<Effect> {
        let mut members = self.group_members(case_id);
        if members.len() < 2 {
            self.info(Level::Info, self.i18n.t("group.not_a_group").to_string());
            return vec![];
        }
        let key = self.cases.get(&case_id).map_or(case_id, |c| group_key(c));
        if let Some(i) = members.iter().position(|id| *id == key) {
            let anchor = members.remove(i);
            members.insert(0, anchor);
        }
        self.mode = Mode::Merge(MergeForm { members, keep: 0 });
        vec![]
    }

    pub(super) fn key_merge(&mut self, key: KeyEvent, mut f: MergeForm) -> Vec<Effect> {
        let commands = self.keymap.commands(&key).to_vec();
        if commands.contains(&Command::Cancel) {
            return vec![];
        }
        if commands.contains(&Command::Confirm) || commands.contains(&Command::Submit) {
            let into = f.members[f.keep];
            let others: Vec<i64> = f.members.into_iter().filter(|id| *id != into).collect();
            let body = GroupMergeBody {
                into,
                cases: self.versions(&others),
                note: None,
            };
            let request = self.group_request(true, None);
            self.info(
                Level::Info,
                self.i18n
                    .f("group.merging", &[("count", &body.cases.len().to_string())]),
            );
            return vec![Effect::MergeGroup {
                request,
                body,
                idempotency_key: new_idempotency_key(),
            }];
        }
        let n = f.members.len();
        if commands.contains(&Command::Down) {
            f.keep = (f.keep + 1) % n;
        } else if commands.contains(&Command::Up) {
            f.keep = (f.keep + n - 1) % n;
        }
        self.mode = Mode::Merge(f);
        vec![]
    }

    /// The server's answer to a group request: every case it returns replaces ours (the
    /// answered ones, and the current state of those that had changed); the status line says
    /// how many were done.
    pub(super) fn on_group_done(
        &mut self,
        request: RequestId,
        outcome: GroupOutcome,
    ) -> Vec<Effect> {
        let Some(pending) = self.groups.pending.remove(&request) else {
            return vec![];
        };
        let mut changed = 0;
        for r in &outcome.results {
            if let Some(c) = &r.case {
                self.upsert(c.case.clone());
            }
            if let Some(current) = r.problem.as_ref().and_then(|p| p.current.as_ref()) {
                self.upsert(current.case.clone());
            }
            if r.status == 412 {
                changed += 1;
            }
        }
        self.rebuild();
        let total = outcome.results.len().to_string();
        let mut text = self.i18n.f(
            if pending.merge {
                "group.merged"
            } else {
                "group.answered"
            },
            &[("done", &outcome.done.to_string()), ("total", &total)],
        );
        if changed > 0 {
            text.push_str(" · ");
            text.push_str(
                &self
                    .i18n
                    .f("group.changed", &[("count", &changed.to_string())]),
            );
        }
        let refused = outcome.failed - changed;
        if let Some(first) = outcome
            .results
            .iter()
            .find(|r| !r.ok() && r.status != 412)
            .and_then(|r| r.problem.as_ref())
        {
            text.push_str(" · ");
            text.push_str(&self.i18n.f(
                "group.refused",
                &[
                    ("count", &refused.to_string()),
                    ("error", &self.refusal_text(first, None)),
                ],
            ));
        }
        let level = if outcome.failed == 0 {
            Level::Success
        } else {
            Level::Error
        };
        self.info(level, text);
        self.after_move()
    }

    /// The group request did not get an answer: nothing is known to be done; the answer's
    /// text waits as the form's draft.
    pub(super) fn on_group_failed(
        &mut self,
        request: RequestId,
        error: ClientError,
    ) -> Vec<Effect> {
        let Some(pending) = self.groups.pending.remove(&request) else {
            return vec![];
        };
        if let Some((case_id, text)) = pending.draft {
            self.drafts.insert((case_id, TextKind::Answer), text);
        }
        let text = self
            .i18n
            .f("group.failed", &[("error", &self.error_text(&error))]);
        self.info(Level::Error, text);
        vec![]
    }
}

#[cfg(test)]
mod tests;
