//! What this process's committed writes did to the feed, told to the feed hub without reading
//! it back: the sequence numbers each group commit took and the department feeds it moved. A
//! department's head is then known from the write itself; the hub reads the heads from the
//! database only for the sequence numbers no run accounts for (another process's writes, a
//! write that reports no run, runs dropped because nobody took them). The group writer and the
//! escalation pass report theirs.

use std::sync::Mutex;

use super::Store;

/// Most runs kept for the hub. Without a hub (a command-line store) nobody takes them; past this
/// many they are dropped, and a hub that finds the gap reads the heads from the database.
const KEPT_RUNS: usize = 1024;

/// The feed sequence numbers one committed transaction took, and the department feeds it moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedRun {
    /// The first sequence number taken; every number from it to `head` belongs to the run.
    pub first: i64,
    /// The last sequence number taken.
    pub head: i64,
    /// Each department feed the run moved, at the latest sequence of that department's in it:
    /// a case of the department changed, or a case left it.
    pub departments: Vec<(i64, i64)>,
}

impl FeedRun {
    /// A write that took `first..=head`.
    pub(crate) fn new(first: i64, head: i64) -> FeedRun {
        FeedRun {
            first,
            head,
            departments: Vec::new(),
        }
    }

    /// The feed of `department` (if any) moved at `seq`.
    pub(crate) fn moved(&mut self, department: Option<i64>, seq: i64) {
        let Some(d) = department else { return };
        match self.departments.iter_mut().find(|(id, _)| *id == d) {
            Some((_, at)) => *at = (*at).max(seq),
            None => self.departments.push((d, seq)),
        }
    }

    /// Joins the run of the next write of the same transaction.
    pub(crate) fn extend(&mut self, next: FeedRun) {
        self.first = self.first.min(next.first);
        self.head = self.head.max(next.head);
        for (d, seq) in next.departments {
            self.moved(Some(d), seq);
        }
    }
}

/// The committed runs the hub has not taken yet.
#[derive(Debug, Default)]
pub(crate) struct FeedRuns(Mutex<Vec<FeedRun>>);

impl FeedRuns {
    /// Keeps a committed run, before the feed's head is raised past it.
    pub(crate) fn push(&self, run: FeedRun) {
        let mut runs = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if runs.len() >= KEPT_RUNS {
            runs.clear();
        }
        runs.push(run);
    }

    fn take(&self) -> Vec<FeedRun> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl Store {
    /// The runs committed by this process since the last call, in sequence order.
    pub fn take_feed_runs(&self) -> Vec<FeedRun> {
        let mut runs = self.runs.take();
        runs.sort_unstable_by_key(|r| r.first);
        runs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_keeps_each_department_at_its_latest_sequence() {
        let mut run = FeedRun::new(5, 5);
        run.moved(Some(1), 5);
        run.moved(None, 5);
        let mut next = FeedRun::new(6, 7);
        next.moved(Some(2), 6);
        next.moved(Some(1), 7);
        run.extend(next);
        assert_eq!(run.first, 5);
        assert_eq!(run.head, 7);
        assert_eq!(run.departments, [(1, 7), (2, 6)]);
    }

    #[test]
    fn runs_nobody_takes_stay_bounded() {
        let runs = FeedRuns::default();
        for s in 1..=(KEPT_RUNS as i64 + 10) {
            runs.push(FeedRun::new(s, s));
        }
        let kept = runs.take();
        assert!(kept.len() <= KEPT_RUNS);
        assert_eq!(kept.last().map(|r| r.head), Some(KEPT_RUNS as i64 + 10));
    }
}
