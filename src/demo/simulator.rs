//! The demo's simulator: citizens whose requests arrive over every channel, departments that
//! sign for, work and resolve what the desk dispatches to them (some late on purpose, some
//! returned, some asking for more time), and an optional background operator that keeps old
//! cases moving. It acts only through the public API with the typed [`Client`], like any other
//! client: it follows the change feed, acts with `If-Match` versions and fresh idempotency keys,
//! and takes 409/412 as normal (refresh, move on).
//!
//! Decisions come from seeded RNGs (the intake stream from the seed; each case's decisions from
//! the seed and the case id), so a seed gives the same behaviour; timing follows the wall clock.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::data::{DemoData, Route};
use crate::client::{Client, ClientError, new_idempotency_key};
use crate::wire::{
    AnswerBody, Case, CaseAction, ClockKind, DispatchBody, ExtensionRequestBody, NoteBody,
    ReasonBody, Status, TextBody, Tier, TierBody,
};

/// How the simulated desk behaves.
#[derive(Debug, Clone, PartialEq)]
pub struct SimulatorConfig {
    /// New requests per minute (0: none).
    pub rate_per_minute: f64,
    pub seed: u64,
    /// Departments and the background operator act this many times faster than realistic.
    pub speed: f64,
    /// Triage, dispatch, answer and close a share of old cases so the queues keep moving.
    pub background_operator: bool,
    /// How often the background operator looks at the queues.
    pub operator_every: StdDuration,
    /// At most this many actions per look.
    pub operator_batch: usize,
    /// Cases younger than this (since receipt, triage or resolution) are left to the humans.
    pub operator_min_age: Duration,
    /// Share of department steps run late on purpose (past the sign-for or feedback deadline).
    pub late_share: f64,
    /// Share of dispatched cases a department returns (once per case).
    pub return_share: f64,
    /// Share of signed cases for which a department asks for an extension (once per case).
    pub extension_share: f64,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        SimulatorConfig {
            rate_per_minute: 6.0,
            seed: 1,
            speed: 1.0,
            background_operator: true,
            operator_every: StdDuration::from_secs(20),
            operator_batch: 3,
            operator_min_age: Duration::minutes(10),
            late_share: 0.12,
            return_share: 0.08,
            extension_share: 0.1,
        }
    }
}

/// Bearer tokens of the simulated users.
#[derive(Debug, Clone, PartialEq)]
pub struct SimTokens {
    /// Creates the new requests.
    pub intake: String,
    /// Follows the change feed (it sees every case) and is the background operator.
    pub operator: String,
    /// One department user per department: (department id, token).
    pub departments: Vec<(i64, String)>,
}

/// What the simulator did, returned when it stops.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimSummary {
    pub created: u64,
    /// Actions accepted by the server, by action name.
    pub acted: BTreeMap<String, u64>,
    /// 409/412/403/422 answers: someone else got there first, or the case moved on.
    pub refused: u64,
    /// Transport errors and 5xx answers.
    pub errors: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    Data(#[from] super::data::DataError),
}

/// Runs until `cancel` is cancelled, then returns what it did. Fails only at start (bad URL,
/// bad demo data); once running, errors are logged and retried, never fatal.
pub async fn run_simulator(
    cfg: SimulatorConfig,
    server_url: &str,
    tokens: SimTokens,
    cancel: CancellationToken,
) -> Result<SimSummary, SimError> {
    let data = DemoData::embedded()?;
    // Waiting times are realistic; speed shortens all of them, the operator's patience too.
    let mut cfg = cfg;
    if cfg.speed > 0.0 {
        cfg.operator_min_age = Duration::milliseconds(
            (cfg.operator_min_age.num_milliseconds() as f64 / cfg.speed) as i64,
        );
    }
    let intake = Client::new(server_url, &tokens.intake)?;
    let operator = Client::new(server_url, &tokens.operator)?;
    let mut departments = HashMap::new();
    for (id, token) in &tokens.departments {
        departments.insert(*id, Client::new(server_url, token)?);
    }

    let (feed_tx, feed_rx) = mpsc::channel(16);
    let feed = tokio::spawn(follow_changes(operator.clone(), feed_tx, cancel.clone()));
    let arrivals = tokio::spawn(arrivals(cfg.clone(), data.clone(), intake, cancel.clone()));
    let mut desk = Desk::new(cfg, data, operator, departments);
    desk.run(feed_rx, &cancel).await;
    let mut summary = desk.summary;
    match arrivals.await {
        Ok(created) => summary.created = created.created,
        Err(e) => tracing::warn!(error = %e, "simulated intake task failed"),
    }
    summary.errors += feed.await.unwrap_or(0);
    tracing::info!(?summary, "simulator stopped");
    Ok(summary)
}

/// Waits `d`, or less if cancelled; false when cancelled.
async fn pause(cancel: &CancellationToken, d: StdDuration) -> bool {
    cancel
        .run_until_cancelled(tokio::time::sleep(d))
        .await
        .is_some()
}

fn backoff(attempt: u32) -> StdDuration {
    StdDuration::from_millis(500 * 2u64.pow(attempt.min(5)))
}

// ---- citizens --------------------------------------------------------------------------------

struct Arrivals {
    created: u64,
}

/// New requests as a Poisson stream: exponential gaps with mean `1 / rate`.
async fn arrivals(
    cfg: SimulatorConfig,
    data: DemoData,
    client: Client,
    cancel: CancellationToken,
) -> Arrivals {
    let mut rng = StdRng::seed_from_u64(cfg.seed ^ 0x1A7A_4E00);
    let mut done = Arrivals { created: 0 };
    if cfg.rate_per_minute <= 0.0 {
        cancel.cancelled().await;
        return done;
    }
    loop {
        let u: f64 = rng.random_range(f64::EPSILON..1.0);
        let gap = -u.ln() * 60.0 / cfg.rate_per_minute;
        if !pause(&cancel, StdDuration::from_secs_f64(gap.min(3600.0))).await {
            return done;
        }
        let drawn = data.draw_request(&mut rng);
        let key = new_idempotency_key();
        for attempt in 0..5 {
            let sent = cancel
                .run_until_cancelled(client.create_case(&drawn.new_case, &key))
                .await;
            match sent {
                None => return done,
                Some(Ok(detail)) => {
                    done.created += 1;
                    tracing::info!(
                        case = %detail.case.reference,
                        channel = detail.case.channel.as_str(),
                        title = %detail.case.title,
                        "simulated request received"
                    );
                    break;
                }
                // Same key on retry: the server creates the case once.
                Some(Err(e)) if e.is_transient() && attempt < 4 => {
                    tracing::debug!(error = %e, "retrying a simulated request");
                    if !pause(&cancel, backoff(attempt)).await {
                        return done;
                    }
                }
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "simulated request not accepted");
                    break;
                }
            }
        }
    }
}

// ---- the change feed -------------------------------------------------------------------------

struct Feed {
    snapshot: bool,
    server_time: DateTime<Utc>,
    cases: Vec<Case>,
}

/// Long-polls the change feed and hands every batch to the desk; returns the errors it saw.
async fn follow_changes(client: Client, tx: mpsc::Sender<Feed>, cancel: CancellationToken) -> u64 {
    let mut cursor: Option<String> = None;
    let mut errors = 0u64;
    let mut attempt = 0;
    loop {
        let polled = cancel
            .run_until_cancelled(client.changes(cursor.as_deref(), Some(20)))
            .await;
        match polled {
            None => return errors,
            Some(Ok(ch)) => {
                attempt = 0;
                cursor = Some(ch.cursor);
                let feed = Feed {
                    snapshot: ch.snapshot,
                    server_time: ch.server_time.with_timezone(&Utc),
                    cases: ch.cases,
                };
                if tx.send(feed).await.is_err() {
                    return errors;
                }
            }
            Some(Err(e)) => {
                errors += 1;
                tracing::warn!(error = %e, "change feed unavailable; retrying");
                if e.status().is_some_and(|s| (400..500).contains(&s)) {
                    // A cursor the server no longer knows: start over with a snapshot.
                    cursor = None;
                }
                attempt += 1;
                if !pause(&cancel, backoff(attempt)).await {
                    return errors;
                }
            }
        }
    }
}

// ---- departments and the background operator -------------------------------------------------

/// What a department does next with a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DepartmentStep {
    SignFor,
    Return,
    Progress,
    RequestExtension,
    Resolve,
}

/// A case's stage as a department sees it: a plan holds while the stage does.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stage {
    status: Status,
    department_id: Option<i64>,
    since: Option<DateTime<Utc>>,
}

fn stage_of(case: &Case) -> Stage {
    let since = match case.status {
        Status::Dispatched => case.dispatched_at,
        Status::InProgress => case.signed_at,
        _ => None,
    };
    Stage {
        status: case.status,
        department_id: case.department_id,
        since: since.map(|t| t.with_timezone(&Utc)),
    }
}

/// An RNG for one decision about one case: the same seed, case and stage decide the same.
fn case_rng(seed: u64, case_id: i64, salt: u64) -> StdRng {
    let mix = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add((case_id as u64).wrapping_mul(0xBF58_476D_1CE4_E5B9))
        .wrapping_add(salt);
    StdRng::seed_from_u64(mix)
}

fn unmet_due(case: &Case, clock: ClockKind) -> Option<DateTime<Utc>> {
    case.deadlines
        .iter()
        .find(|d| d.clock == clock && d.met_at.is_none())
        .map(|d| d.due_at.with_timezone(&Utc))
}

fn seconds(rng: &mut impl Rng, lo: f64, hi: f64) -> f64 {
    if hi <= lo {
        lo
    } else {
        rng.random_range(lo..hi)
    }
}

/// A department's script for a case in `Dispatched` or `InProgress`: each step with its delay
/// after the previous one, in realistic seconds (divide by the speed).
pub fn department_script(
    case: &Case,
    now: DateTime<Utc>,
    cfg: &SimulatorConfig,
    rng: &mut impl Rng,
) -> Vec<(f64, DepartmentStep)> {
    let until = |due: Option<DateTime<Utc>>| {
        due.map(|d| (d - now).num_seconds() as f64)
            .unwrap_or(1800.0)
            .max(0.0)
    };
    match case.status {
        Status::Dispatched => {
            let budget = until(unmet_due(case, ClockKind::SignFor));
            if case.return_count == 0 && rng.random_bool(cfg.return_share) {
                vec![(seconds(rng, 60.0, 480.0), DepartmentStep::Return)]
            } else if rng.random_bool(cfg.late_share) {
                vec![(budget + seconds(rng, 60.0, 900.0), DepartmentStep::SignFor)]
            } else {
                let hi = (budget * 0.6).max(45.0);
                vec![(seconds(rng, 15.0, hi), DepartmentStep::SignFor)]
            }
        }
        Status::InProgress => {
            let mut steps = Vec::new();
            let mut spent = 0.0;
            for _ in 0..rng.random_range(0..=2) {
                let d = seconds(rng, 60.0, 480.0);
                spent += d;
                steps.push((d, DepartmentStep::Progress));
            }
            if case.extension_count == 0
                && case.pending_extension.is_none()
                && rng.random_bool(cfg.extension_share)
            {
                let d = seconds(rng, 120.0, 600.0);
                spent += d;
                steps.push((d, DepartmentStep::RequestExtension));
            }
            let last = if rng.random_bool(cfg.late_share) {
                let budget = until(unmet_due(case, ClockKind::Feedback));
                (budget - spent).max(0.0) + seconds(rng, 120.0, 1800.0)
            } else {
                seconds(rng, 180.0, 1500.0)
            };
            steps.push((last, DepartmentStep::Resolve));
            steps
        }
        _ => Vec::new(),
    }
}

/// What the background operator does to a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperatorMove {
    Triage(Tier),
    /// To the department of this name.
    Dispatch(String),
    AnswerOnline,
    Close,
}

/// The background operator's picks among `cases` at `now`, oldest first, at most
/// `cfg.operator_batch`: untriaged cases older than `operator_min_age` are triaged, triaged
/// ones waiting as long are answered or dispatched (a returned case goes to another department),
/// resolved ones that need no follow-up call are closed. Cases claimed by someone else, and
/// cases awaiting a supervisor's ruling, are left alone.
pub fn operator_picks(
    cases: &[&Case],
    now: DateTime<Utc>,
    cfg: &SimulatorConfig,
    data: &DemoData,
    me: Option<&str>,
) -> Vec<(i64, OperatorMove)> {
    let min_age = cfg.operator_min_age;
    let old = |t: Option<chrono::DateTime<chrono::FixedOffset>>| {
        t.is_some_and(|t| now - t.with_timezone(&Utc) >= min_age)
    };
    let mut sorted: Vec<&Case> = cases
        .iter()
        .copied()
        .filter(|c| c.claimed_by.is_none() || c.claimed_by.as_deref() == me)
        .filter(|c| c.merged_into.is_none())
        .collect();
    sorted.sort_by_key(|c| (c.received_at, c.id));
    let mut picks = Vec::new();
    for c in sorted {
        if picks.len() >= cfg.operator_batch {
            break;
        }
        let template = data
            .template_for(&c.category, &c.title)
            .or_else(|| data.templates.iter().find(|t| t.category == c.category));
        let pick = match c.status {
            Status::New if old(Some(c.received_at)) => Some(OperatorMove::Triage(
                template.map_or(Tier::Orange, |t| t.tier),
            )),
            // A case returned too often waits for a supervisor's ruling.
            Status::Triaged if old(Some(c.updated_at)) && !c.awaiting_ruling => {
                let online = c.tier == Some(Tier::Blue)
                    && c.return_count == 0
                    && template.is_some_and(|t| t.route == Route::Online);
                if online {
                    Some(OperatorMove::AnswerOnline)
                } else {
                    let choices = data.usual_departments(&c.category, &c.title, &c.location.town);
                    let i = c.return_count as usize % choices.len().max(1);
                    choices.get(i).cloned().map(OperatorMove::Dispatch)
                }
            }
            // Red cases, and any marked for it, wait for the supervisor's follow-up call.
            Status::Resolved
                if c.tier != Some(Tier::Red) && !c.follow_up_required && old(c.resolved_at) =>
            {
                Some(OperatorMove::Close)
            }
            _ => None,
        };
        if let Some(p) = pick {
            picks.push((c.id, p));
        }
    }
    picks
}

struct Plan {
    stage: Stage,
    steps: VecDeque<(f64, DepartmentStep)>,
    /// 412s met by the current step.
    stale: u32,
    /// The agenda entry of the next step.
    scheduled: Option<(Instant, u64)>,
}

/// The simulator's one owner of state: cases as last seen, department plans, the agenda.
struct Desk {
    cfg: SimulatorConfig,
    data: DemoData,
    operator: Client,
    departments: HashMap<i64, Client>,
    department_names: HashMap<i64, String>,
    operator_name: Option<String>,
    /// The answer library, learnt with the names; blue cases are often answered from it.
    library: Vec<crate::wire::Answer>,
    cases: HashMap<i64, Case>,
    plans: HashMap<i64, Plan>,
    agenda: BTreeMap<(Instant, u64), i64>,
    seq: u64,
    /// Server clock minus ours, from the last poll.
    clock_offset: Duration,
    summary: SimSummary,
}

enum Acted {
    Done(Box<Case>),
    /// 412: the case had moved on (an escalation, a note, someone else's action).
    Stale,
    /// 403/409/422: not allowed now.
    Refused,
    /// The server stayed away through the retries.
    Failed,
    Cancelled,
}

/// How often a department retries a step on a fresher version before letting it go.
const STALE_RETRIES: u32 = 3;
/// How long (realistic seconds) a department waits for an absent server before trying again.
const AWAY_RETRY_SECS: f64 = 60.0;

impl Desk {
    fn new(
        cfg: SimulatorConfig,
        data: DemoData,
        operator: Client,
        departments: HashMap<i64, Client>,
    ) -> Desk {
        Desk {
            cfg,
            data,
            operator,
            departments,
            department_names: HashMap::new(),
            operator_name: None,
            library: Vec::new(),
            cases: HashMap::new(),
            plans: HashMap::new(),
            agenda: BTreeMap::new(),
            seq: 0,
            clock_offset: Duration::zero(),
            summary: SimSummary::default(),
        }
    }

    fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.clock_offset
    }

    async fn run(&mut self, mut feed: mpsc::Receiver<Feed>, cancel: &CancellationToken) {
        let mut operator_tick = tokio::time::interval(self.scaled(self.cfg.operator_every));
        operator_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let next = self
                .agenda
                .first_key_value()
                .map(|(k, _)| k.0)
                .unwrap_or_else(|| Instant::now() + StdDuration::from_secs(3600));
            tokio::select! {
                () = cancel.cancelled() => return,
                batch = feed.recv() => match batch {
                    Some(batch) => {
                        self.take_feed(batch);
                        self.learn_names(cancel).await;
                    }
                    None => return,
                },
                () = tokio::time::sleep_until(next) => self.fire_due(cancel).await,
                _ = operator_tick.tick(), if self.cfg.background_operator => {
                    self.operator_round(cancel).await;
                }
            }
        }
    }

    fn scaled(&self, d: StdDuration) -> StdDuration {
        let speed = if self.cfg.speed > 0.0 {
            self.cfg.speed
        } else {
            1.0
        };
        d.div_f64(speed).max(StdDuration::from_millis(50))
    }

    fn take_feed(&mut self, feed: Feed) {
        self.clock_offset = feed.server_time - Utc::now();
        if feed.snapshot {
            let ids: std::collections::HashSet<i64> = feed.cases.iter().map(|c| c.id).collect();
            self.cases.retain(|id, _| ids.contains(id));
        }
        for case in feed.cases {
            self.observe(case);
        }
    }

    /// Records a case as it is now and (re)plans what its department does.
    fn observe(&mut self, case: Case) {
        if let Some(known) = self.cases.get(&case.id)
            && known.version > case.version
        {
            return;
        }
        let id = case.id;
        let ours = case
            .department_id
            .is_some_and(|d| self.departments.contains_key(&d));
        let stage = stage_of(&case);
        let active = ours && matches!(case.status, Status::Dispatched | Status::InProgress);
        let now = self.now();
        self.cases.insert(id, case);
        if !active {
            self.drop_plan(id);
            return;
        }
        if self.plans.get(&id).is_some_and(|p| p.stage == stage) {
            return;
        }
        self.drop_plan(id);
        let case = &self.cases[&id];
        // Decided by what the case is, not by when it got there, so a seed repeats itself.
        let salt = (stage.status as u64) << 32
            | (case.return_count as u64 & 0xFFFF) << 16
            | stage.department_id.unwrap_or(0) as u64 & 0xFFFF;
        let mut rng = case_rng(self.cfg.seed, id, salt);
        let steps = department_script(case, now, &self.cfg, &mut rng);
        tracing::debug!(case = %case.reference, ?steps, "department plan");
        self.plans.insert(
            id,
            Plan {
                stage,
                steps: steps.into(),
                stale: 0,
                scheduled: None,
            },
        );
        self.schedule_next(id);
    }

    fn drop_plan(&mut self, id: i64) {
        if let Some(k) = self.plans.remove(&id).and_then(|p| p.scheduled) {
            self.agenda.remove(&k);
        }
    }

    fn schedule_next(&mut self, id: i64) {
        let speed = self.cfg.speed;
        let Some(plan) = self.plans.get_mut(&id) else {
            return;
        };
        if let Some(k) = plan.scheduled.take() {
            self.agenda.remove(&k);
        }
        let Some((delay, _)) = plan.steps.front() else {
            return;
        };
        let secs = if speed > 0.0 { delay / speed } else { *delay };
        let at = Instant::now() + StdDuration::from_secs_f64(secs.clamp(0.05, 86_400.0));
        self.seq += 1;
        let key = (at, self.seq);
        plan.scheduled = Some(key);
        self.agenda.insert(key, id);
    }

    async fn fire_due(&mut self, cancel: &CancellationToken) {
        let now = Instant::now();
        while let Some((&key, &id)) = self.agenda.first_key_value() {
            if key.0 > now || cancel.is_cancelled() {
                return;
            }
            self.agenda.remove(&key);
            self.department_step(id, cancel).await;
        }
    }

    async fn department_step(&mut self, id: i64, cancel: &CancellationToken) {
        let Some(case) = self.cases.get(&id).cloned() else {
            self.drop_plan(id);
            return;
        };
        let Some(plan) = self.plans.get_mut(&id) else {
            return;
        };
        plan.scheduled = None;
        if plan.stage != stage_of(&case) {
            return;
        }
        let Some((_, step)) = plan.steps.pop_front() else {
            return;
        };
        let Some(client) = case.department_id.and_then(|d| self.departments.get(&d)) else {
            return;
        };
        let client = client.clone();
        let mut rng = case_rng(self.cfg.seed, id, case.version as u64 ^ 0x5EED);
        let texts = self
            .data
            .department_texts(&case.category, &case.title, &mut rng);
        let action = match step {
            DepartmentStep::SignFor => CaseAction::SignFor(NoteBody::default()),
            DepartmentStep::Progress => CaseAction::Progress(TextBody {
                text: texts.progress,
            }),
            DepartmentStep::Resolve => CaseAction::Resolve(TextBody {
                text: texts.resolve,
            }),
            DepartmentStep::RequestExtension => {
                let now = self.now();
                let due = unmet_due(&case, ClockKind::Feedback)
                    .unwrap_or(now)
                    .max(now);
                let until = due + Duration::minutes(rng.random_range(120..=360));
                CaseAction::RequestExtension(ExtensionRequestBody {
                    until: until.with_timezone(&case.received_at.timezone()),
                    reason: texts.extension_reason,
                })
            }
            DepartmentStep::Return => {
                let own = case
                    .department_id
                    .and_then(|d| self.department_names.get(&d))
                    .cloned()
                    .unwrap_or_default();
                let others: Vec<String> = self
                    .data
                    .usual_departments(&case.category, &case.title, &case.location.town)
                    .into_iter()
                    .filter(|n| *n != own)
                    .collect();
                let other = others
                    .choose(&mut rng)
                    .cloned()
                    .unwrap_or_else(|| case.location.town.clone());
                CaseAction::Return(ReasonBody {
                    reason: self.data.return_reason_for(&other, &mut rng),
                })
            }
        };
        match self.act(&client, &case, &action, cancel).await {
            Acted::Done(updated) => {
                if let Some(p) = self.plans.get_mut(&id) {
                    p.stale = 0;
                }
                self.observe(*updated);
                // Same stage (progress, extension): the next step of the script.
                if self.plans.get(&id).is_some_and(|p| p.scheduled.is_none()) {
                    self.schedule_next(id);
                }
            }
            // A fresher version of the same stage: try the step again on it, a few times.
            Acted::Stale => self.retry_step(id, step, 0.0),
            // Not allowed now: skip the step, go on with the rest of the script.
            Acted::Refused => {
                if self.plans.get(&id).is_some_and(|p| p.scheduled.is_none()) {
                    self.schedule_next(id);
                }
            }
            Acted::Failed => self.retry_step(id, step, AWAY_RETRY_SECS),
            Acted::Cancelled => {}
        }
    }

    /// Puts `step` back at the head of the case's script, `delay` realistic seconds away, while
    /// the case is still at the plan's stage; a step that keeps meeting 412s is let go.
    fn retry_step(&mut self, id: i64, step: DepartmentStep, delay: f64) {
        let Some(stage) = self.cases.get(&id).map(stage_of) else {
            return;
        };
        let Some(plan) = self.plans.get_mut(&id) else {
            return;
        };
        if plan.stage != stage || plan.scheduled.is_some() {
            return;
        }
        if delay == 0.0 {
            plan.stale += 1;
            if plan.stale > STALE_RETRIES {
                plan.stale = 0;
                self.schedule_next(id);
                return;
            }
        }
        plan.steps.push_front((delay, step));
        self.schedule_next(id);
    }

    /// Learns the department names and our own name once the server answers.
    async fn learn_names(&mut self, cancel: &CancellationToken) {
        if self.operator_name.is_some() {
            return;
        }
        let Some(Ok(me)) = cancel.run_until_cancelled(self.operator.me()).await else {
            return;
        };
        let Some(Ok(deps)) = cancel
            .run_until_cancelled(self.operator.departments())
            .await
        else {
            return;
        };
        self.department_names = deps.into_iter().map(|d| (d.id, d.name)).collect();
        // Without the library the operators answer freehand, as before it existed.
        if let Some(Ok(list)) = cancel
            .run_until_cancelled(self.operator.answers(false))
            .await
        {
            self.library = list.answers;
        }
        self.operator_name = Some(me.name);
    }

    async fn operator_round(&mut self, cancel: &CancellationToken) {
        self.learn_names(cancel).await;
        if self.operator_name.is_none() {
            return;
        }
        let now = self.now();
        let cases: Vec<&Case> = self.cases.values().collect();
        let picks = operator_picks(
            &cases,
            now,
            &self.cfg,
            &self.data,
            self.operator_name.as_deref(),
        );
        for (id, pick) in picks {
            let Some(case) = self.cases.get(&id).cloned() else {
                continue;
            };
            let mut rng = case_rng(self.cfg.seed, id, case.version as u64 ^ 0x0FE2);
            let action = match pick {
                OperatorMove::Triage(tier) => CaseAction::Triage(TierBody { tier, note: None }),
                OperatorMove::AnswerOnline => CaseAction::AnswerOnline(
                    super::answers::body_for(&self.library, &case, &mut rng).unwrap_or_else(|| {
                        AnswerBody {
                            text: self
                                .data
                                .department_texts(&case.category, &case.title, &mut rng)
                                .answer,
                            answer: None,
                        }
                    }),
                ),
                OperatorMove::Close => CaseAction::Close(NoteBody::default()),
                OperatorMove::Dispatch(name) => {
                    let Some(department_id) = self
                        .department_names
                        .iter()
                        .find(|(_, n)| **n == name)
                        .map(|(id, _)| *id)
                    else {
                        tracing::warn!(department = %name, "no such department on the server");
                        continue;
                    };
                    CaseAction::Dispatch(DispatchBody {
                        department_id,
                        note: None,
                    })
                }
            };
            let client = self.operator.clone();
            match self.act(&client, &case, &action, cancel).await {
                Acted::Done(updated) => self.observe(*updated),
                Acted::Cancelled => return,
                // The next round looks again, at the case as it is then.
                Acted::Stale | Acted::Refused | Acted::Failed => {}
            }
        }
    }

    /// One action with the case's version and a fresh key; transient failures are retried
    /// with the same key, refusals refresh the case.
    async fn act(
        &mut self,
        client: &Client,
        case: &Case,
        action: &CaseAction,
        cancel: &CancellationToken,
    ) -> Acted {
        let key = new_idempotency_key();
        for attempt in 0..3 {
            let sent = cancel
                .run_until_cancelled(client.act(case.id, case.version, action, &key))
                .await;
            let err = match sent {
                None => return Acted::Cancelled,
                Some(Ok(detail)) => {
                    *self
                        .summary
                        .acted
                        .entry(action.name().to_string())
                        .or_default() += 1;
                    tracing::info!(
                        case = %detail.case.reference,
                        action = action.name(),
                        status = detail.case.status.as_str(),
                        department = ?detail.case.department_id,
                        "simulated action"
                    );
                    return Acted::Done(Box::new(detail.case));
                }
                Some(Err(e)) => e,
            };
            if err.is_transient() {
                self.summary.errors += 1;
                tracing::warn!(case = %case.reference, action = action.name(), error = %err, "retrying");
                if !pause(cancel, backoff(attempt)).await {
                    return Acted::Cancelled;
                }
                continue;
            }
            self.summary.refused += 1;
            tracing::debug!(case = %case.reference, action = action.name(), error = %err, "refused; refreshing");
            // 412 carries the case as it is now; otherwise ask.
            if let Some(current) = err.problem().and_then(|p| p.current.clone()) {
                self.observe(current.case);
            } else if let Some(Ok(d)) = cancel
                .run_until_cancelled(self.operator.case(case.id))
                .await
            {
                self.observe(d.case);
            }
            return if err.status() == Some(412) {
                Acted::Stale
            } else {
                Acted::Refused
            };
        }
        Acted::Failed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::data::{PlanOptions, plan};
    use crate::wire::{Department, Policy};

    fn data() -> DemoData {
        DemoData::embedded().unwrap()
    }

    fn now() -> DateTime<Utc> {
        "2022-05-08T13:00:00Z".parse().unwrap()
    }

    /// The seeded desk's cases as the server would show them.
    fn seeded_cases() -> Vec<Case> {
        let d = data();
        let deps: Vec<Department> = d
            .new_departments()
            .into_iter()
            .enumerate()
            .map(|(i, n)| Department {
                id: i as i64 + 1,
                name: n.name,
                kind: n.kind,
                active: true,
                version: 1,
                on_duty: Vec::new(),
            })
            .collect();
        let p = plan(&d, &deps, &PlanOptions::new(1, now())).unwrap();
        let records = p.dry_run(&Policy::default()).unwrap();
        assert_eq!(records.len(), p.cases.len());
        let tz: chrono_tz::Tz = "Asia/Shanghai".parse().unwrap();
        records
            .iter()
            .map(|r| r.to_wire(&Policy::default(), tz, now(), false))
            .collect()
    }

    #[test]
    fn department_scripts_fit_the_case_stage() {
        let cfg = SimulatorConfig::default();
        let cases = seeded_cases();
        let mut seen = std::collections::HashSet::new();
        for c in &cases {
            let mut rng = case_rng(1, c.id, 0);
            let script = department_script(c, now(), &cfg, &mut rng);
            match c.status {
                Status::Dispatched => {
                    assert_eq!(script.len(), 1);
                    assert!(matches!(
                        script[0].1,
                        DepartmentStep::SignFor | DepartmentStep::Return
                    ));
                }
                Status::InProgress => {
                    assert_eq!(script.last().unwrap().1, DepartmentStep::Resolve);
                    assert!(!script.iter().any(|s| s.1 == DepartmentStep::SignFor));
                }
                _ => assert!(script.is_empty(), "{:?}: {script:?}", c.status),
            }
            for (delay, step) in &script {
                assert!(delay.is_finite() && *delay >= 0.0);
                seen.insert(*step);
            }
        }
        assert!(seen.contains(&DepartmentStep::SignFor));
        assert!(seen.contains(&DepartmentStep::Resolve));
    }

    #[test]
    fn some_department_steps_run_late_on_purpose() {
        let cfg = SimulatorConfig {
            late_share: 0.5,
            return_share: 0.0,
            ..SimulatorConfig::default()
        };
        let cases = seeded_cases();
        let dispatched: Vec<&Case> = cases
            .iter()
            .filter(|c| c.status == Status::Dispatched && !c.overdue)
            .collect();
        assert!(!dispatched.is_empty());
        let mut late = 0;
        for c in &dispatched {
            let due = unmet_due(c, ClockKind::SignFor).unwrap();
            for salt in 0..20 {
                let script = department_script(c, now(), &cfg, &mut case_rng(1, c.id, salt));
                let at = now() + Duration::milliseconds((script[0].0 * 1000.0) as i64);
                late += usize::from(at > due);
            }
        }
        assert!(late > 0, "no sign-for planned past its deadline");
    }

    #[test]
    fn decisions_are_deterministic_per_seed_and_case() {
        let cfg = SimulatorConfig::default();
        let cases = seeded_cases();
        let c = cases
            .iter()
            .find(|c| c.status == Status::InProgress)
            .unwrap();
        let a = department_script(c, now(), &cfg, &mut case_rng(1, c.id, 7));
        let b = department_script(c, now(), &cfg, &mut case_rng(1, c.id, 7));
        assert_eq!(a, b);
        let differ = (2..40)
            .any(|seed| department_script(c, now(), &cfg, &mut case_rng(seed, c.id, 7)) != a);
        assert!(differ);
    }

    #[test]
    fn background_operator_takes_only_old_unclaimed_cases() {
        let d = data();
        let cfg = SimulatorConfig {
            operator_batch: 1000,
            ..SimulatorConfig::default()
        };
        let cases = seeded_cases();
        let refs: Vec<&Case> = cases.iter().collect();
        let picks = operator_picks(&refs, now(), &cfg, &d, Some("sim-operator"));
        assert!(!picks.is_empty());
        let by_id: HashMap<i64, &Case> = cases.iter().map(|c| (c.id, c)).collect();
        let mut kinds = std::collections::HashSet::new();
        for (id, pick) in &picks {
            let c = by_id[id];
            assert!(c.claimed_by.is_none(), "claimed case picked");
            match pick {
                OperatorMove::Triage(_) => {
                    assert_eq!(c.status, Status::New);
                    assert!(now() - c.received_at.with_timezone(&Utc) >= cfg.operator_min_age);
                    kinds.insert("triage");
                }
                OperatorMove::Dispatch(name) => {
                    assert_eq!(c.status, Status::Triaged);
                    assert!(d.department_names().any(|n| n == name), "{name}");
                    kinds.insert("dispatch");
                }
                OperatorMove::AnswerOnline => {
                    assert_eq!(c.status, Status::Triaged);
                    kinds.insert("answer");
                }
                OperatorMove::Close => {
                    assert_eq!(c.status, Status::Resolved);
                    assert_ne!(c.tier, Some(Tier::Red));
                    kinds.insert("close");
                }
            }
        }
        assert!(
            kinds.contains("dispatch") && kinds.contains("close"),
            "{kinds:?}"
        );
        // Fresh untriaged cases are left to the human operator.
        let fresh = cases.iter().filter(|c| {
            c.status == Status::New
                && now() - c.received_at.with_timezone(&Utc) < cfg.operator_min_age
        });
        for c in fresh {
            assert!(!picks.iter().any(|(id, _)| *id == c.id));
        }
        let batch = SimulatorConfig {
            operator_batch: 2,
            ..cfg
        };
        assert_eq!(operator_picks(&refs, now(), &batch, &d, None).len(), 2);
    }

    /// A desk with clients for an address nobody is asked (no request is sent here).
    fn offline_desk(departments: &[i64]) -> Desk {
        let url = "http://127.0.0.1:9";
        let clients = departments
            .iter()
            .map(|d| (*d, Client::new(url, "t").unwrap()))
            .collect();
        Desk::new(
            SimulatorConfig::default(),
            data(),
            Client::new(url, "t").unwrap(),
            clients,
        )
    }

    #[tokio::test]
    async fn departments_plan_their_own_cases_and_retry_stale_steps_a_few_times() {
        let cases = seeded_cases();
        let c = cases
            .iter()
            .find(|c| c.status == Status::Dispatched)
            .unwrap()
            .clone();
        let dept = c.department_id.unwrap();
        // Another department's case is not ours to plan.
        let mut other = offline_desk(&[dept + 1000]);
        other.observe(c.clone());
        assert!(other.plans.is_empty() && other.agenda.is_empty());

        let mut desk = offline_desk(&[dept]);
        desk.observe(c.clone());
        assert_eq!(desk.agenda.len(), 1);
        let step = desk.plans[&c.id].steps[0].1;
        // Seen again at a newer version of the same stage (an escalation): same plan.
        let mut bumped = c.clone();
        bumped.version += 1;
        desk.observe(bumped.clone());
        assert_eq!(desk.agenda.len(), 1);
        assert_eq!(desk.plans[&c.id].steps.len(), 1);
        // A stale answer puts the step back, up to STALE_RETRIES times, then lets it go.
        for _ in 0..STALE_RETRIES {
            let plan = desk.plans.get_mut(&c.id).unwrap();
            let (_, popped) = plan.steps.pop_front().unwrap();
            let key = plan.scheduled.take().unwrap();
            desk.agenda.remove(&key);
            desk.retry_step(c.id, popped, 0.0);
            assert_eq!(desk.plans[&c.id].steps.front().map(|s| s.1), Some(step));
            assert_eq!(desk.agenda.len(), 1);
        }
        let plan = desk.plans.get_mut(&c.id).unwrap();
        let (_, popped) = plan.steps.pop_front().unwrap();
        let key = plan.scheduled.take().unwrap();
        desk.agenda.remove(&key);
        desk.retry_step(c.id, popped, 0.0);
        assert!(desk.plans[&c.id].steps.is_empty());
        assert!(desk.agenda.is_empty());
        // A new stage (signed for elsewhere) brings a new plan; a closed case drops it.
        let mut signed = bumped;
        signed.version += 1;
        signed.status = Status::InProgress;
        signed.signed_at = Some(signed.updated_at);
        desk.observe(signed.clone());
        assert_eq!(
            desk.plans[&c.id].steps.back().map(|s| s.1),
            Some(DepartmentStep::Resolve)
        );
        let mut closed = signed;
        closed.version += 1;
        closed.status = Status::Closed;
        desk.observe(closed);
        assert!(desk.plans.is_empty() && desk.agenda.is_empty());
    }

    #[test]
    fn operator_sends_a_returned_case_elsewhere() {
        let d = data();
        let cases = seeded_cases();
        let usual_of = |c: &Case| d.usual_departments(&c.category, &c.title, &c.location.town);
        let mut c = cases
            .iter()
            .find(|c| {
                c.status == Status::Triaged && c.claimed_by.is_none() && usual_of(c).len() > 1
            })
            .expect("a triaged case with two usual departments")
            .clone();
        let usual = usual_of(&c);
        c.tier = Some(Tier::Orange);
        c.updated_at = (now() - Duration::hours(1)).fixed_offset();
        c.return_count = 0;
        let first = operator_picks(&[&c], now(), &SimulatorConfig::default(), &d, None);
        c.return_count = 1;
        let second = operator_picks(&[&c], now(), &SimulatorConfig::default(), &d, None);
        assert_eq!(
            first,
            vec![(c.id, OperatorMove::Dispatch(usual[0].clone()))]
        );
        assert_eq!(
            second,
            vec![(c.id, OperatorMove::Dispatch(usual[1].clone()))]
        );
    }
}
