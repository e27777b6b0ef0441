//! The kept orders and counters behind every view, changed one case at a time: a delta costs
//! O(changed · √N), a tick O(crossed), a filter keystroke one linear pass over the kept order
//! (no sort). Each case's place in every list is a pure function of the case (its `Keys`), so
//! taking a case out means removing the keys it had and putting it back inserting the new ones.

use std::collections::{BTreeSet, HashMap};

use super::{App, PANES};
use crate::console::ranked::Ranked;
use crate::wire::{Case, ClockKind, Role, Status, Tier};
use search::{Filter, Query, Texts};

mod search;

/// A department's live load, for the Departments view.
#[derive(Debug, Clone, Default)]
pub struct DeptLoad {
    pub open: usize,
    /// Open cases the server flags overdue.
    pub flagged: usize,
    /// The other open cases with a deadline: (next due, id), counted below `now`.
    pub due: Ranked<(i64, i64)>,
}

/// Keys that crossed the instant: (due, id).
type Moved = Vec<(i64, i64)>;

/// Keys on one side or the other of a moving instant: a tick moves only those that crossed.
#[derive(Debug, Clone, Default)]
struct Crossing {
    at: i64,
    below: BTreeSet<(i64, i64)>,
    above: BTreeSet<(i64, i64)>,
}

impl Crossing {
    /// True when the key is below the instant.
    fn insert(&mut self, k: (i64, i64)) -> bool {
        if k.0 < self.at {
            self.below.insert(k);
            true
        } else {
            self.above.insert(k);
            false
        }
    }

    fn remove(&mut self, k: &(i64, i64)) {
        if !self.below.remove(k) {
            self.above.remove(k);
        }
    }

    /// Moves the instant; returns the keys that went below it and those that came back above.
    fn advance(&mut self, at: i64) -> (Moved, Moved) {
        self.at = at;
        let mut entered = Vec::new();
        while let Some(k) = self.above.first().copied().filter(|k| k.0 < at) {
            self.above.remove(&k);
            self.below.insert(k);
            entered.push(k);
        }
        let mut left = Vec::new();
        while let Some(k) = self.below.last().copied().filter(|k| k.0 >= at) {
            self.below.remove(&k);
            self.above.insert(k);
            left.push(k);
        }
        (entered, left)
    }
}

/// Everything kept up to date per changed case.
#[derive(Debug, Clone, Default)]
pub struct Index {
    /// Every open held case per pane, unfiltered: (queue due, id, slot, group key). The slot
    /// and group key let a filter keystroke lay the panes without looking up any case.
    open: [Ranked<(i64, i64, u32, i64)>; 4],
    /// Every held and found case, newest first: (-received, id, slot).
    all: Ranked<(i64, i64, u32)>,
    /// Open cases not flagged overdue: (queue due, id), counted below `now`.
    due: Ranked<(i64, i64)>,
    flagged: usize,
    pub dept_usage: HashMap<i64, usize>,
    pub depts: HashMap<i64, DeptLoad>,
    /// The overdue board: (0 for red else 1, next due, id).
    pub board: Ranked<(i64, i64, i64)>,
    /// Open cases with a deadline not flagged overdue, on either side of now + amber.
    board_wait: Crossing,
    /// Resolved cases waiting for their follow-up call: (follow-up due, resolved, id).
    pub follow: Ranked<(i64, i64, i64)>,
    /// Unmet deadlines of open cases: (due, id), for about-to-breach alarms.
    pub deadlines: BTreeSet<(i64, i64)>,
    /// Deadlines up to here have been looked at by the alarms.
    pub warn_hi: i64,
    /// Cases changed since the alarms last looked.
    pub changed: Vec<i64>,
    /// Every held and found case's text as the filter sees it, by slot, and whether the
    /// filter shows it.
    texts: Texts,
    /// The filter and drill-down the shown lists were made with.
    filter: Filter,
}

/// Where one case goes.
struct Keys {
    search: (i64, i64),
    slot: u32,
    shown: bool,
    held: bool,
    usage: Option<i64>,
    open: Option<Open>,
    follow: Option<(i64, i64, i64)>,
    ruling: Option<(i64, i64)>,
    extension: Option<(i64, i64)>,
    returned: Option<(i64, i64)>,
}

struct Open {
    pane: usize,
    /// The similar-request group, for the untriaged pane's rows.
    group: i64,
    queue: (i64, i64),
    flagged: bool,
    red: bool,
    untriaged: bool,
    dept: Option<i64>,
    /// The server's next deadline, for the board and the Departments view.
    next_due: Option<i64>,
    deadlines: Vec<i64>,
}

fn edit<K: Ord + Clone>(r: &mut Ranked<K>, k: K, add: bool) {
    if add {
        r.insert(k);
    } else {
        r.remove(&k);
    }
}

fn count(n: &mut usize, add: bool) {
    if add {
        *n += 1;
    } else {
        *n = n.saturating_sub(1);
    }
}

fn board_key(red: bool, due: i64, id: i64) -> (i64, i64, i64) {
    (if red { 0 } else { 1 }, due, id)
}

impl App {
    /// Where a case with a kept slot goes.
    fn keys(&self, c: &Case, held: bool, slot: u32) -> Keys {
        let shown = self.ix.texts.shown(slot);
        let open = (held && c.status.is_open()).then(|| Open {
            pane: PANES.iter().position(|t| *t == c.tier).unwrap_or(0),
            group: super::group_key(c),
            queue: (self.queue_due(c), c.id),
            flagged: c.overdue,
            red: c.tier == Some(Tier::Red),
            untriaged: c.tier.is_none(),
            dept: c.department_id,
            next_due: c.next_due.as_ref().map(|d| d.due_at.timestamp()),
            deadlines: c
                .deadlines
                .iter()
                .filter(|d| d.met_at.is_none())
                .map(|d| d.due_at.timestamp())
                .collect(),
        });
        let supervisor = held
            && self
                .me
                .as_ref()
                .is_some_and(|m| matches!(m.role, Role::Supervisor | Role::Admin));
        let due = c
            .next_due
            .as_ref()
            .map(|d| d.due_at.timestamp())
            .unwrap_or(i64::MAX);
        Keys {
            search: (-c.received_at.timestamp(), c.id),
            slot,
            shown,
            held,
            usage: c.department_id.filter(|_| held),
            open,
            follow: (held && c.status == Status::Resolved && c.follow_up_required).then(|| {
                let left = c
                    .deadlines
                    .iter()
                    .find(|d| d.clock == ClockKind::FollowUp && d.met_at.is_none())
                    .map_or(i64::MAX, |d| d.due_at.timestamp());
                let resolved = c.resolved_at.unwrap_or(c.updated_at).timestamp();
                (left, resolved, c.id)
            }),
            ruling: (supervisor && c.awaiting_ruling && c.status.is_open()).then_some((due, c.id)),
            extension: c
                .pending_extension
                .as_ref()
                .filter(|_| supervisor)
                .map(|p| (p.until.timestamp(), c.id)),
            returned: (supervisor
                && c.status == Status::Triaged
                && c.return_count > 0
                && !c.awaiting_ruling)
                .then_some((due, c.id)),
        }
    }

    fn apply(&mut self, k: Keys, add: bool) {
        let id = k.search.1;
        edit(&mut self.ix.all, (k.search.0, id, k.slot), add);
        if k.shown {
            edit(&mut self.search, k.search, add);
        }
        if let Some(d) = k.usage {
            let n = self.ix.dept_usage.entry(d).or_default();
            count(n, add);
            if *n == 0 {
                self.ix.dept_usage.remove(&d);
            }
        }
        if let Some(f) = k.follow {
            edit(&mut self.ix.follow, f, add);
        }
        if let Some(r) = k.ruling {
            edit(&mut self.sup.ruling, r, add);
        }
        if let Some(r) = k.extension {
            edit(&mut self.sup.extensions, r, add);
        }
        if let Some(r) = k.returned {
            edit(&mut self.sup.returned, r, add);
        }
        let Some(o) = k.open else {
            return;
        };
        debug_assert!(k.held);
        let kept = (o.queue.0, o.queue.1, k.slot, o.group);
        edit(&mut self.ix.open[o.pane], kept, add);
        if k.shown && o.pane == 0 {
            self.edit_untriaged(o.group, o.queue, add);
        } else if k.shown {
            edit(&mut self.queues[o.pane], o.queue, add);
        }
        if o.untriaged {
            count(&mut self.untriaged_total, add);
        }
        if o.red {
            count(&mut self.red_total, add);
        }
        if o.flagged {
            count(&mut self.ix.flagged, add);
        } else {
            edit(&mut self.ix.due, o.queue, add);
        }
        if let Some(d) = o.dept {
            let load = self.ix.depts.entry(d).or_default();
            count(&mut load.open, add);
            if o.flagged {
                count(&mut load.flagged, add);
            } else if let Some(due) = o.next_due {
                edit(&mut load.due, (due, id), add);
            }
            if load.open == 0 && load.flagged == 0 && load.due.is_empty() {
                self.ix.depts.remove(&d);
            }
        }
        for due in o.deadlines {
            if add {
                self.ix.deadlines.insert((due, id));
            } else {
                self.ix.deadlines.remove(&(due, id));
            }
        }
        if let Some(due) = o.next_due {
            let board = board_key(o.red, due, id);
            if add {
                let near = self.ix.board_wait.insert((due, id));
                if near || o.flagged {
                    self.ix.board.insert(board);
                }
            } else {
                self.ix.board_wait.remove(&(due, id));
                self.ix.board.remove(&board);
            }
        }
    }

    /// Takes a held or found case out of every list, before it changes or leaves.
    pub(super) fn unindex(&mut self, id: i64) {
        let Some(slot) = self.ix.texts.slot(id) else {
            return;
        };
        let keys = if let Some(c) = self.cases.get(&id) {
            self.keys(c, true, slot)
        } else if let Some(c) = self.archive.get(&id) {
            self.keys(c, false, slot)
        } else {
            return;
        };
        self.apply(keys, false);
        self.ix.texts.remove(id);
    }

    /// Puts a held or found case into every list it belongs to.
    pub(super) fn index(&mut self, id: i64) {
        let keys = if let Some(c) = self.cases.get(&id) {
            self.ix.changed.push(id);
            let slot = self.ix.texts.insert(c, true, &self.ix.filter);
            self.keys(c, true, slot)
        } else if let Some(c) = self.archive.get(&id) {
            let slot = self.ix.texts.insert(c, false, &self.ix.filter);
            self.keys(c, false, slot)
        } else {
            return;
        };
        self.apply(keys, true);
    }

    /// Every list made anew from the held cases: when what decides a case's place changes
    /// for all of them (who is signed in).
    pub(super) fn reindex(&mut self) {
        let changed = std::mem::take(&mut self.ix.changed);
        let warn_hi = self.ix.warn_hi;
        let at = self.ix.board_wait.at;
        self.ix = Index {
            changed,
            warn_hi,
            filter: std::mem::take(&mut self.ix.filter),
            ..Index::default()
        };
        self.ix.board_wait.at = at;
        self.queues = Default::default();
        self.groups.clear_rows();
        self.search = Ranked::default();
        self.sup.ruling.clear();
        self.sup.extensions.clear();
        self.sup.returned.clear();
        self.untriaged_total = 0;
        self.red_total = 0;
        let ids: Vec<i64> = self
            .cases
            .keys()
            .chain(self.archive.keys())
            .copied()
            .collect();
        for id in ids {
            self.index(id);
        }
    }

    /// Drops every held and found case (a snapshot replaces them).
    pub(super) fn clear_cases(&mut self) {
        self.cases.clear();
        self.archive.clear();
        self.reindex();
    }

    /// The shown lists made again after the filter or the drill-down changed: the filter's
    /// bit per slot from one pass over the folded text, then one pass over each kept order.
    pub(super) fn refilter(&mut self) {
        let q = self.filter.trim().to_lowercase();
        let dept_match = if q.is_empty() {
            Default::default()
        } else {
            self.departments
                .iter()
                .filter(|d| self.department_matches(d, &q))
                .map(|d| d.id)
                .collect()
        };
        self.ix.filter = Filter {
            query: Query::new(q),
            drill: self.sup.drill,
            dept_match,
        };
        self.ix.texts.refilter(&self.ix.filter);
        // The untriaged pane's rows stand for whole groups, so it is laid from every case.
        let ix = &self.ix;
        let untriaged: Vec<((i64, i64), i64)> = ix.open[0]
            .iter()
            .filter(|k| ix.texts.shown(k.2))
            .map(|k| ((k.0, k.1), k.3))
            .collect();
        self.lay_untriaged(untriaged);
        let ix = &self.ix;
        for p in 1..PANES.len() {
            self.queues[p] = Ranked::from_sorted(
                ix.open[p]
                    .iter()
                    .filter(|k| ix.texts.shown(k.2))
                    .map(|k| (k.0, k.1)),
            );
        }
        self.search = Ranked::from_sorted(
            ix.all
                .iter()
                .filter(|k| ix.texts.shown(k.2))
                .map(|k| (k.0, k.1)),
        );
    }

    /// The clock moved: cases that came within the amber threshold join the board, and those
    /// the server clock left behind (a corrected offset) leave it.
    pub(super) fn index_time(&mut self) {
        let at = self.server_now(self.now).timestamp() + self.alarms.amber_minutes * 60;
        if at == self.ix.board_wait.at {
            return;
        }
        let (entered, left) = self.ix.board_wait.advance(at);
        for (due, id) in entered {
            if let Some(c) = self.cases.get(&id) {
                let k = board_key(c.tier == Some(Tier::Red), due, id);
                self.ix.board.insert(k);
            }
        }
        for (due, id) in left {
            if let Some(c) = self.cases.get(&id).filter(|c| !c.overdue) {
                let k = board_key(c.tier == Some(Tier::Red), due, id);
                self.ix.board.remove(&k);
            }
        }
    }

    /// Open cases past their queue deadline or flagged by the server, at server time `s`.
    pub(super) fn overdue_count(&self, s: i64) -> usize {
        self.ix.flagged + self.ix.due.rank(&(s, i64::MIN))
    }

    /// Where the selected case is in the queue and the search list, found by its keys.
    pub(super) fn locate(&self, id: i64) -> (Option<(usize, usize)>, Option<usize>) {
        let Some(c) = self.case(id) else {
            return (None, None);
        };
        let held = self.cases.contains_key(&id);
        let search = self.search.position(&(-c.received_at.timestamp(), id));
        let pane = (held && c.status.is_open())
            .then(|| {
                let p = PANES.iter().position(|t| *t == c.tier).unwrap_or(0);
                self.queues[p]
                    .position(&(self.queue_due(c), id))
                    .map(|i| (p, i))
            })
            .flatten();
        (pane, search)
    }

    /// A case's key in the board or the follow-up queue, to find its row.
    pub(super) fn board_position(&self, id: i64) -> Option<usize> {
        let c = self.cases.get(&id)?;
        let due = c.next_due.as_ref()?.due_at.timestamp();
        self.ix
            .board
            .position(&board_key(c.tier == Some(Tier::Red), due, id))
    }

    pub(super) fn follow_position(&self, id: i64) -> Option<usize> {
        let c = self.cases.get(&id)?;
        let left = c
            .deadlines
            .iter()
            .find(|d| d.clock == ClockKind::FollowUp && d.met_at.is_none())
            .map_or(i64::MAX, |d| d.due_at.timestamp());
        let resolved = c.resolved_at.unwrap_or(c.updated_at).timestamp();
        self.ix.follow.position(&(left, resolved, id))
    }

    /// Where the case sits in one of the supervisor's lists.
    pub(super) fn sup_list_position(&self, list: &Ranked<(i64, i64)>, id: i64) -> Option<usize> {
        let c = self.cases.get(&id)?;
        let due = c
            .next_due
            .as_ref()
            .map(|d| d.due_at.timestamp())
            .unwrap_or(i64::MAX);
        let until = c.pending_extension.as_ref().map(|p| p.until.timestamp());
        list.position(&(due, id))
            .or_else(|| until.and_then(|u| list.position(&(u, id))))
    }
}

#[cfg(test)]
mod tests;
