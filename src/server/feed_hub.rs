//! The change feed's state held in memory: the head of the whole desk's feed and of each
//! department's, so that a poll with nothing new is answered without the database, and a long
//! poll wakes only when its own feed moved; and the answers of the latest deltas, serialized
//! once and shared by every poller at the same cursor.
//!
//! The heads follow the store's commits (`Store::subscribe`), and the database's own counter
//! once a second, so that writes made by another process are seen too. A department's head is
//! taken from the runs this process's writes report (`Store::take_feed_runs`), which name the
//! departments they moved; only sequence numbers no run accounts for (another process's
//! writes, writes that report no run) are looked up in the database.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{OnceCell, watch};
use tokio_util::sync::CancellationToken;

use super::encoded::Encoded;
use super::store::{Store, StoreError};

/// How often the database's feed counter is read for other processes' writes.
const STORED_HEAD_EVERY: Duration = Duration::from_secs(1);

/// Most delta answers kept, and most bytes in them.
const CACHED_ANSWERS: usize = 1024;
const CACHED_BYTES: usize = 32 * 1024 * 1024;

/// Whose feed: the whole desk's (`None`) or a department's.
pub type Scope = Option<i64>;

/// A delta answer is shared by the polls of one scope at one cursor, made after one head, in
/// one second of the server's clock (the answer carries the time, and deadlines judged at it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct AnswerKey {
    scope: Scope,
    since: i64,
    head: i64,
    second: i64,
}

/// A delta answer (its JSON and gzip forms): `None` when the feed held nothing for the cursor
/// after all.
type Answer = Option<Arc<Encoded>>;

pub struct FeedHub {
    store: Store,
    all: watch::Sender<i64>,
    departments: Mutex<HashMap<i64, watch::Sender<i64>>>,
    /// The feed sequence up to which the departments' heads are read.
    settled: AtomicI64,
    answers: Mutex<Answers>,
    /// Long polls woken by their feed moving.
    wakeups: AtomicU64,
    /// Times the departments' heads were read from the database after start.
    head_reads: AtomicU64,
    /// Delta answers made (each then shared).
    answers_made: AtomicU64,
}

#[derive(Default)]
struct Answers {
    cells: HashMap<AnswerKey, Arc<OnceCell<Answer>>>,
    order: VecDeque<AnswerKey>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Raises a head; heads only move forward.
fn raise(head: &watch::Sender<i64>, seq: i64) {
    head.send_if_modified(|h| {
        let moved = seq > *h;
        if moved {
            *h = seq;
        }
        moved
    });
}

impl FeedHub {
    /// Reads every department's head and follows the store's commits until `shutdown`.
    pub async fn start(
        store: Store,
        shutdown: CancellationToken,
    ) -> Result<Arc<FeedHub>, StoreError> {
        let mut commits = store.subscribe();
        let seen = (*commits.borrow_and_update()).max(store.stored_feed_head().await?);
        let hub = Arc::new(FeedHub {
            all: watch::Sender::new(seen),
            departments: Mutex::default(),
            settled: AtomicI64::new(seen),
            answers: Mutex::default(),
            wakeups: AtomicU64::new(0),
            head_reads: AtomicU64::new(0),
            answers_made: AtomicU64::new(0),
            store,
        });
        for (d, seq) in hub.store.department_heads(0).await? {
            raise(&hub.department(d), seq);
        }
        tokio::spawn(hub.clone().follow(commits, seen, shutdown));
        Ok(hub)
    }

    async fn follow(
        self: Arc<Self>,
        mut commits: watch::Receiver<i64>,
        mut seen: i64,
        shutdown: CancellationToken,
    ) {
        let mut tick = tokio::time::interval(STORED_HEAD_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let ticked = tokio::select! {
                r = commits.changed() => { if r.is_err() { return; } false }
                _ = tick.tick() => true,
                () = shutdown.cancelled() => return,
            };
            let mut head = *commits.borrow_and_update();
            if ticked {
                match self.store.stored_feed_head().await {
                    Ok(stored) => head = head.max(stored),
                    Err(e) => tracing::warn!(error = %e, "reading the feed's head failed"),
                }
            }
            // This process's runs, in sequence order, as far as they continue what is settled.
            let mut known = seen;
            for run in self.store.take_feed_runs() {
                if run.head <= known {
                    continue;
                }
                if run.first != known + 1 {
                    // A gap: read below. The runs after it are committed, so the read sees them.
                    break;
                }
                for (d, seq) in run.departments {
                    raise(&self.department(d), seq);
                }
                known = run.head;
            }
            let head = head.max(known);
            if head <= seen {
                continue;
            }
            // The whole desk first: it needs no query.
            raise(&self.all, head);
            if known >= head {
                seen = head;
                self.settled.store(seen, Ordering::Release);
                continue;
            }
            self.head_reads.fetch_add(1, Ordering::Relaxed);
            match self.store.department_heads(known).await {
                Ok(heads) => {
                    for (d, seq) in heads {
                        raise(&self.department(d), seq);
                    }
                    seen = head;
                    self.settled.store(seen, Ordering::Release);
                }
                // Left at what the runs settled: the next commit or tick reads the departments
                // after it again.
                Err(e) => {
                    seen = known;
                    self.settled.store(seen, Ordering::Release);
                    tracing::warn!(error = %e, "reading the departments' feed heads failed");
                }
            }
        }
    }

    fn department(&self, d: i64) -> watch::Sender<i64> {
        lock(&self.departments)
            .entry(d)
            .or_insert_with(|| watch::Sender::new(0))
            .clone()
    }

    /// The whole desk's head as this process knows it.
    pub fn head(&self) -> i64 {
        *self.all.borrow()
    }

    /// The whole desk's head, read from the database when `seq` is past the one in memory (a
    /// commit whose news has not arrived yet, or another process's write).
    pub async fn head_at_least(&self, seq: i64) -> Result<i64, StoreError> {
        let head = self.head();
        if seq <= head {
            return Ok(head);
        }
        let stored = self.store.stored_feed_head().await?;
        raise(&self.all, stored);
        Ok(self.head())
    }

    /// The head a poll of a scope should go by, given the head its subscription shows. Between
    /// a commit of this process (acknowledged to its writer at once) and the moment the heads
    /// are read after it, a scope's own head may lag: the whole desk's head then, so that the
    /// feed is read rather than a change missed.
    pub fn head_for(&self, subscribed: i64) -> i64 {
        let committed = self.store.feed_head();
        if self.settled.load(Ordering::Acquire) >= committed {
            subscribed
        } else {
            subscribed.max(committed)
        }
    }

    /// The head of a scope's feed, which moves when (and only when) that feed has news.
    pub fn subscribe(&self, scope: Scope) -> watch::Receiver<i64> {
        match scope {
            None => self.all.subscribe(),
            Some(d) => self.department(d).subscribe(),
        }
    }

    /// Polls following a scope's feed now: long polls waiting, and polls being answered.
    pub fn waiting(&self, scope: Scope) -> usize {
        match scope {
            None => self.all.receiver_count(),
            Some(d) => self.department(d).receiver_count(),
        }
    }

    /// Counts a long poll woken by its feed.
    pub fn woke(&self) {
        self.wakeups.fetch_add(1, Ordering::Relaxed);
    }

    /// Long polls woken by their feed moving, since start.
    pub fn wakeups(&self) -> u64 {
        self.wakeups.load(Ordering::Relaxed)
    }

    /// Times the departments' heads were read from the database since start, rather than taken
    /// from the runs this process's writes reported.
    pub fn head_reads(&self) -> u64 {
        self.head_reads.load(Ordering::Relaxed)
    }

    /// Delta answers made since start (each shared by the polls asking for it).
    pub fn answers_made(&self) -> u64 {
        self.answers_made.load(Ordering::Relaxed)
    }

    /// The delta answer for `scope` after `since`, once the feed is at `head`, at the clock's
    /// `second`: made by the first poll to ask, and shared with the others.
    pub async fn answer<F, Fut>(
        &self,
        scope: Scope,
        since: i64,
        head: i64,
        second: i64,
        make: F,
    ) -> Result<Answer, StoreError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Answer, StoreError>>,
    {
        let key = AnswerKey {
            scope,
            since,
            head,
            second,
        };
        let cell = self.cell(key);
        let answer = cell
            .get_or_try_init(|| async {
                self.answers_made.fetch_add(1, Ordering::Relaxed);
                make().await
            })
            .await?
            .clone();
        if answer.is_none() {
            // Nothing to send although the head moved (a department's feed without news, or
            // rows not yet visible to this reader): the next ask reads again, whatever the
            // clock says.
            lock(&self.answers).cells.remove(&key);
        }
        Ok(answer)
    }

    fn cell(&self, key: AnswerKey) -> Arc<OnceCell<Answer>> {
        let mut answers = lock(&self.answers);
        if let Some(cell) = answers.cells.get(&key) {
            return cell.clone();
        }
        let cell = Arc::new(OnceCell::new());
        answers.cells.insert(key, cell.clone());
        answers.order.push_back(key);
        let size = |c: &Arc<OnceCell<Answer>>| {
            c.get()
                .and_then(|a| a.as_ref())
                .map_or(0, |a| a.held_bytes())
        };
        let mut bytes: usize = answers.cells.values().map(size).sum();
        while answers.order.len() > CACHED_ANSWERS || bytes > CACHED_BYTES {
            let Some(oldest) = answers.order.pop_front() else {
                break;
            };
            if let Some(c) = answers.cells.remove(&oldest) {
                bytes -= size(&c);
            }
        }
        cell
    }
}
