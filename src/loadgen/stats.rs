//! What a load run counts: requests and latency per kind, errors, and for every acknowledged
//! write when each simulated console first saw it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::client::ClientError;

/// Latencies are recorded in microseconds, up to an hour.
fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("static bounds are valid")
}

/// Counters shared by every simulated console and writer.
pub struct Stats {
    pub start: Instant,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    requests: BTreeMap<&'static str, Histogram<u64>>,
    errors: BTreeMap<String, u64>,
    /// Acknowledged writes: the case, the version the write gave it, when the ack arrived.
    acks: Vec<(i64, i64, Duration)>,
}

impl Stats {
    pub fn new() -> Stats {
        Stats {
            start: Instant::now(),
            inner: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panicking holder cannot leave the counters half-updated in a way that matters.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn request(&self, kind: &'static str, took: Duration) {
        let micros = (took.as_micros() as u64).clamp(1, 3_600_000_000);
        let mut inner = self.lock();
        let h = inner.requests.entry(kind).or_insert_with(histogram);
        // Within the bounds by the clamp above.
        let _ = h.record(micros);
    }

    pub fn error(&self, kind: &'static str, error: &ClientError) {
        let what = match error {
            ClientError::Api(p) => format!("{kind}: {} {}", p.status, p.title),
            ClientError::Unreachable(_) => format!("{kind}: unreachable"),
            ClientError::BadReply(_) => format!("{kind}: unreadable reply"),
        };
        *self.lock().errors.entry(what).or_default() += 1;
    }

    pub fn note_error(&self, what: String) {
        *self.lock().errors.entry(what).or_default() += 1;
    }

    pub fn ack(&self, case_id: i64, version: i64, at: Instant) {
        let since = at.saturating_duration_since(self.start);
        self.lock().acks.push((case_id, version, since));
    }

    pub fn acks(&self) -> Vec<(i64, i64, Duration)> {
        self.lock().acks.clone()
    }

    pub fn requests(&self) -> Vec<(&'static str, Histogram<u64>)> {
        self.lock()
            .requests
            .iter()
            .map(|(k, h)| (*k, h.clone()))
            .collect()
    }

    pub fn errors(&self) -> BTreeMap<String, u64> {
        self.lock().errors.clone()
    }
}

impl Default for Stats {
    fn default() -> Self {
        Stats::new()
    }
}

/// What one console saw in its deltas: per case, each version it received and when (offset
/// from the run's start). Snapshots are not kept: every measured write follows them.
#[derive(Debug, Default)]
pub struct Seen {
    /// Hashed by foldhash: thousands of consoles record every case of every answer here.
    cases: HashMap<i64, Vec<(i64, Duration)>, foldhash::fast::RandomState>,
}

impl Seen {
    pub fn saw(&mut self, case_id: i64, version: i64, at: Duration) {
        self.cases.entry(case_id).or_default().push((version, at));
    }

    /// When this console first held `case_id` at `version` or later.
    pub fn first_at_least(&self, case_id: i64, version: i64) -> Option<Duration> {
        self.cases
            .get(&case_id)?
            .iter()
            .filter(|(v, _)| *v >= version)
            .map(|(_, at)| *at)
            .min()
    }
}

/// For every acknowledged write and every console: how long after the ack the console held the
/// change (zero when it saw it before the writer had its answer), and how many pairs were never
/// seen.
pub fn ack_to_seen(acks: &[(i64, i64, Duration)], consoles: &[Seen]) -> (Histogram<u64>, u64) {
    let mut h = histogram();
    let mut missed = 0;
    for (case_id, version, acked) in acks {
        for seen in consoles {
            match seen.first_at_least(*case_id, *version) {
                Some(at) => {
                    let micros = at.saturating_sub(*acked).as_micros() as u64;
                    let _ = h.record(micros.clamp(1, 3_600_000_000));
                }
                None => missed += 1,
            }
        }
    }
    (h, missed)
}
