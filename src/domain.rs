//! The case lifecycle and the deadline rules, as pure functions over a [`CaseRecord`]: no I/O,
//! no clock reads. The server's store loads a record, calls [`apply`], and persists the result
//! with the returned event in one transaction.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;

mod permits;
pub use permits::{ActionKind, CaseState, may_create, permitted, role_may};

use crate::text_rules::{self, TextRule};

use crate::wire::{
    Case, CaseAction, ClockKind, Deadline, Escalation, EscalationStep, Location, NextDue,
    PendingExtension, Policy, Requester, Role, Satisfaction, Status, Tier, mask_phone,
};

/// The name the server's own escalation ladder writes events under (with `system` set).
pub const SYSTEM_ACTOR: &str = "escalation";

/// Checks a login name: the shared text rule, and not a name the server writes under, so no
/// user can pass for the system in a timeline.
pub fn check_user_name(name: &str) -> Result<(), String> {
    text_rules::check(name, TextRule::name(50))?;
    // Invisible characters would make a different name that reads the same.
    let folded: String = name
        .chars()
        .filter(|c| !text_rules::is_invisible(*c))
        .flat_map(char::to_lowercase)
        .collect();
    if [SYSTEM_ACTOR, "system"].contains(&folded.as_str()) {
        return Err(format!("{name:?} is reserved for the server's own entries"));
    }
    Ok(())
}

/// Who is acting.
#[derive(Debug, Clone, PartialEq)]
pub struct Actor {
    pub name: String,
    pub role: Role,
    pub department_id: Option<i64>,
}

impl Actor {
    /// May this actor see this case at all? Department users see their own department's only.
    pub fn can_see(&self, rec: &CaseRecord) -> bool {
        match self.role {
            Role::Department => {
                self.department_id.is_some() && rec.department_id == self.department_id
            }
            _ => true,
        }
    }
}

/// A case as stored: every milestone, in UTC.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseRecord {
    pub id: i64,
    pub reference: String,
    pub version: i64,
    pub channel: crate::wire::Channel,
    pub category: String,
    pub title: String,
    pub description: String,
    pub requester_name: String,
    pub requester_phone: String,
    pub town: String,
    pub address: String,
    pub lat: Option<f64>,
    pub long: Option<f64>,
    pub tier: Option<Tier>,
    pub status: Status,
    pub department_id: Option<i64>,
    pub claimed_by: Option<String>,
    pub received_at: DateTime<Utc>,
    /// Where the triage, dispatch and feedback clocks count from: `received_at`, or the moment
    /// the case was last sent back to the desk (a reopen, a dissatisfied follow-up of an answer
    /// given online), which gives it fresh windows instead of its long-past first ones.
    pub clocks_from: DateTime<Utc>,
    pub triaged_at: Option<DateTime<Utc>>,
    /// The first dispatch since the clocks started: meets the dispatch clock.
    pub first_dispatched_at: Option<DateTime<Utc>>,
    /// The current dispatch: starts the sign-for clock; cleared by a return.
    pub dispatched_at: Option<DateTime<Utc>>,
    pub signed_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub followed_up_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    /// Set by an approved extension: the new feedback deadline.
    pub feedback_due_override: Option<DateTime<Utc>>,
    pub return_count: i64,
    pub extension_count: i64,
    pub urge_count: i64,
    pub pending_extension: Option<PendingExtensionRecord>,
    pub satisfaction: Option<Satisfaction>,
    pub merged_into: Option<i64>,
    pub follow_up_required: bool,
    pub awaiting_ruling: bool,
    /// The breached clock the escalation ladder is climbing, and the rungs reached (0–3).
    pub escalation_clock: Option<ClockKind>,
    /// The due time of the deadline being escalated: a new deadline of the same clock (after a
    /// return, a reassignment, an extension) climbs its own ladder from the first rung.
    pub escalation_due_at: Option<DateTime<Utc>>,
    pub escalation_level: i64,
    pub escalated_at: Option<DateTime<Utc>>,
    /// The anchor of the similar-request group the case joined when it arrived (see
    /// `crate::similar`); set once, on creation.
    pub group: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PendingExtensionRecord {
    pub until: DateTime<Utc>,
    pub reason: String,
    pub requested_by: String,
    pub requested_at: DateTime<Utc>,
}

/// Why an action was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refusal {
    /// The caller's role may not do this (403).
    #[error("{0}")]
    Forbidden(String),
    /// The case's state does not allow this now (409).
    #[error("{0}")]
    Conflict(String),
    /// A field of the body is unacceptable (422).
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
}

/// What an accepted action did, for the event log.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub from_status: Status,
    pub to_status: Status,
    pub payload: serde_json::Value,
}

fn forbidden(actor: &Actor, action: &str) -> Refusal {
    Refusal::Forbidden(format!(
        "role {} may not {action} a case",
        actor.role.as_str()
    ))
}

fn required_text(field: &str, text: &str) -> Result<(), Refusal> {
    checked_text(
        field,
        text,
        TextRule::statement(crate::wire::MAX_TEXT_CHARS),
    )
}

fn optional_text(field: &str, text: &Option<String>) -> Result<(), Refusal> {
    match text {
        Some(t) => checked_text(field, t, TextRule::paragraph(crate::wire::MAX_TEXT_CHARS)),
        None => Ok(()),
    }
}

fn checked_text(field: &str, text: &str, rule: TextRule) -> Result<(), Refusal> {
    text_rules::check(text, rule).map_err(|message| Refusal::Invalid {
        field: field.into(),
        message,
    })
}

/// Refuses an action whose texts break the text rules. It needs no case, so a bad body is
/// refused before its version or the case's state is weighed.
pub fn check_fields(action: &CaseAction) -> Result<(), Refusal> {
    use CaseAction::*;
    match action {
        Triage(b) | Retier(b) => optional_text("note", &b.note),
        Claim(b) | Release(b) | SignFor(b) | Urge(b) | Close(b) | MarkFollowUp(b) => {
            optional_text("note", &b.note)
        }
        Dispatch(b) => optional_text("note", &b.note),
        Progress(b) | Resolve(b) | Note(b) => required_text("text", &b.text),
        AnswerOnline(b) => required_text("text", &b.text),
        Return(b) | Reopen(b) => required_text("reason", &b.reason),
        RequestExtension(b) => required_text("reason", &b.reason),
        DecideExtension(b) => optional_text("note", &b.note),
        FollowUp(b) => optional_text("note", &b.note),
        Merge(b) => optional_text("note", &b.note),
    }
}

/// Applies `action` by `actor` at `now` to `rec` under `policy`, or refuses it. Checks fields,
/// then role,
/// then visibility, then state. On success the record is changed (version and `updated_at`
/// included) and the outcome describes the event to record, its payload carrying what reports
/// need as it was at that moment (tier, department, whether a clock was met on time). Merge's
/// effect on the target is the store's.
pub fn apply(
    rec: &mut CaseRecord,
    action: &CaseAction,
    actor: &Actor,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<Outcome, Refusal> {
    use CaseAction::*;
    check_fields(action)?;
    let name = action.name();
    let kind = ActionKind::of(action);
    if !role_may(actor.role, kind) {
        return Err(forbidden(actor, name));
    }
    if !actor.can_see(rec) {
        return Err(Refusal::Forbidden(format!(
            "case {} belongs to another department",
            rec.reference
        )));
    }
    permitted(actor.role, &actor.name, kind, &CaseState::of_record(rec))?;
    let from = rec.status;
    let mut payload = action.body();
    match action {
        Triage(b) => {
            rec.tier = Some(b.tier);
            rec.status = Status::Triaged;
            rec.triaged_at = Some(now);
            rec.follow_up_required |= b.tier == Tier::Red;
        }
        Retier(b) => {
            if rec.tier == Some(b.tier) {
                return Err(Refusal::Conflict(format!(
                    "case is already {}",
                    b.tier.as_str()
                )));
            }
            payload["from_tier"] = serde_json::json!(rec.tier.map(Tier::as_str));
            rec.tier = Some(b.tier);
            rec.follow_up_required |= b.tier == Tier::Red;
        }
        Claim(_) => {
            if rec.claimed_by.as_deref() == Some(actor.name.as_str()) {
                return Err(Refusal::Conflict("case is already claimed by you".into()));
            }
            if let Some(other) = &rec.claimed_by {
                payload["taken_from"] = serde_json::json!(other);
            }
            rec.claimed_by = Some(actor.name.clone());
        }
        Release(_) => {
            rec.claimed_by = None;
        }
        Dispatch(b) => {
            // A supervisor may reassign a case a department holds; it starts a new sign-for
            // clock at the new department.
            let reassign = matches!(from, Status::Dispatched | Status::InProgress);
            if reassign {
                if rec.department_id == Some(b.department_id) {
                    return Err(Refusal::Conflict(
                        "the case is already with that department".into(),
                    ));
                }
                payload["reassigned_from"] = serde_json::json!(rec.department_id);
                rec.pending_extension = None;
            }
            payload["first"] = serde_json::json!(rec.first_dispatched_at.is_none());
            rec.department_id = Some(b.department_id);
            rec.status = Status::Dispatched;
            rec.dispatched_at = Some(now);
            rec.first_dispatched_at.get_or_insert(now);
            rec.signed_at = None;
        }
        SignFor(_) => {
            rec.status = Status::InProgress;
            rec.signed_at = Some(now);
        }
        Progress(_) => {}
        Resolve(_) => {
            rec.status = Status::Resolved;
            rec.resolved_at = Some(now);
            rec.pending_extension = None;
        }
        AnswerOnline(_) => {
            rec.status = Status::Resolved;
            rec.resolved_at = Some(now);
        }
        Return(_) => {
            payload["department_id"] = serde_json::json!(rec.department_id);
            rec.status = Status::Triaged;
            rec.return_count += 1;
            rec.awaiting_ruling = rec.return_count > policy.max_returns;
            rec.department_id = None;
            rec.dispatched_at = None;
            rec.signed_at = None;
            rec.pending_extension = None;
        }
        RequestExtension(b) => {
            let until = b.until.with_timezone(&Utc);
            let feedback_due = deadlines(rec, policy, now)
                .iter()
                .find(|d| d.clock == ClockKind::Feedback)
                .map(|d| d.due_at);
            if until <= now || feedback_due.is_some_and(|due| until <= due) {
                return Err(Refusal::Invalid {
                    field: "until".into(),
                    message: "must be later than the current feedback deadline".into(),
                });
            }
            let latest = minutes_after(
                feedback_due.map_or(now, |due| due.max(now)),
                crate::wire::MAX_EXTENSION_DAYS * 24 * 60,
            );
            if until > latest {
                return Err(Refusal::Invalid {
                    field: "until".into(),
                    message: format!(
                        "must be at most {} days after the current feedback deadline",
                        crate::wire::MAX_EXTENSION_DAYS
                    ),
                });
            }
            rec.pending_extension = Some(PendingExtensionRecord {
                until,
                reason: b.reason.clone(),
                requested_by: actor.name.clone(),
                requested_at: now,
            });
        }
        DecideExtension(b) => {
            let Some(pending) = rec.pending_extension.take() else {
                return Err(Refusal::Conflict("no extension request is pending".into()));
            };
            payload["until"] = serde_json::json!(pending.until);
            payload["reason"] = serde_json::json!(pending.reason);
            if b.approve {
                rec.feedback_due_override = Some(pending.until);
                rec.extension_count += 1;
            }
        }
        Urge(_) => {
            rec.urge_count += 1;
        }
        FollowUp(b) => {
            rec.satisfaction = Some(b.result);
            rec.followed_up_at = Some(now);
            if b.result == Satisfaction::Dissatisfied {
                // Back to the department that handled it; without one, back to the desk. The
                // redo runs on fresh clocks from now; the next resolution starts a new
                // follow-up clock.
                rec.resolved_at = None;
                rec.followed_up_at = None;
                restart_clocks(rec, now);
                if rec.department_id.is_some() {
                    rec.status = Status::Dispatched;
                    rec.dispatched_at = Some(now);
                    rec.first_dispatched_at = Some(now);
                    rec.signed_at = None;
                } else if rec.tier.is_some() {
                    rec.status = Status::Triaged;
                } else {
                    rec.status = Status::New;
                }
            } else {
                rec.status = Status::Closed;
                rec.closed_at = Some(now);
            }
        }
        Close(_) => {
            rec.status = Status::Closed;
            rec.closed_at = Some(now);
        }
        Reopen(_) => {
            rec.status = if rec.tier.is_some() {
                Status::Triaged
            } else {
                Status::New
            };
            rec.department_id = None;
            rec.dispatched_at = None;
            rec.signed_at = None;
            rec.resolved_at = None;
            rec.followed_up_at = None;
            rec.closed_at = None;
            rec.satisfaction = None;
            restart_clocks(rec, now);
        }
        Note(_) => {}
        MarkFollowUp(_) => {
            rec.follow_up_required = true;
        }
        Merge(b) => {
            if b.into == rec.id {
                return Err(Refusal::Invalid {
                    field: "into".into(),
                    message: "a case cannot be merged into itself".into(),
                });
            }
            rec.merged_into = Some(b.into);
            rec.status = Status::Closed;
            rec.closed_at = Some(now);
            rec.pending_extension = None;
        }
    }
    if actor.role == Role::Supervisor
        && matches!(action, Dispatch(_) | AnswerOnline(_) | Close(_) | Merge(_))
    {
        // The supervisor's ruling on a case returned too often.
        rec.awaiting_ruling = false;
    }
    rec.version += 1;
    rec.updated_at = now;
    record_timeliness(&mut payload, rec, action, policy, now);
    Ok(Outcome {
        from_status: from,
        to_status: rec.status,
        payload,
    })
}

/// Adds to an event's payload the facts reports count, as they are at this moment.
fn record_timeliness(
    payload: &mut serde_json::Value,
    rec: &CaseRecord,
    action: &CaseAction,
    policy: &Policy,
    now: DateTime<Utc>,
) {
    payload["tier"] = serde_json::json!(rec.tier.map(Tier::as_str));
    // A return names the department it left; keep that.
    if payload.get("department_id").is_none() {
        payload["department_id"] = serde_json::json!(rec.department_id);
    }
    let clock = match action {
        CaseAction::Dispatch(_) => ClockKind::Dispatch,
        CaseAction::SignFor(_) => ClockKind::SignFor,
        CaseAction::Resolve(_) | CaseAction::AnswerOnline(_) => ClockKind::Feedback,
        CaseAction::FollowUp(_) => ClockKind::FollowUp,
        _ => return,
    };
    let ds = deadlines(rec, policy, now);
    // An untriaged case has no feedback clock: answered online, it is late if its triage
    // clock (which the answer settles) ran out. Otherwise a tier without this clock has
    // nothing to be late for.
    let untriaged_answer = rec.tier.is_none() && matches!(action, CaseAction::AnswerOnline(_));
    let clock = if untriaged_answer {
        ClockKind::Triage
    } else {
        clock
    };
    let on_time = ds
        .iter()
        .find(|d| d.clock == clock)
        .is_none_or(|d| d.due_at >= now);
    payload["on_time"] = serde_json::json!(on_time);
    if let (CaseAction::SignFor(_), Some(dispatched)) = (action, rec.dispatched_at) {
        payload["minutes_to_sign"] =
            serde_json::json!((now - dispatched).num_seconds() as f64 / 60.0);
    }
}

/// Sends the case round again: fresh triage, dispatch and feedback windows from `now` (an
/// earlier extension belonged to the earlier round), and a ladder that starts from its first
/// rung when a new deadline is missed.
fn restart_clocks(rec: &mut CaseRecord, now: DateTime<Utc>) {
    rec.clocks_from = now;
    rec.first_dispatched_at = None;
    rec.feedback_due_override = None;
    rec.escalation_clock = None;
    rec.escalation_due_at = None;
    rec.escalation_level = 0;
    rec.escalated_at = None;
}

/// The last instant deadlines may reach: representable in every zone and as a four-digit
/// RFC 3339 year. Server config keeps real policies far from it; arithmetic saturates here
/// rather than panicking.
pub fn far_future() -> DateTime<Utc> {
    DateTime::from_timestamp(253_402_214_400, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// `minutes` after `t`, saturating at [`far_future`] (or at year 1 going back).
pub fn minutes_after(t: DateTime<Utc>, minutes: i64) -> DateTime<Utc> {
    Duration::try_minutes(minutes)
        .and_then(|d| t.checked_add_signed(d))
        .map(|d| d.min(far_future()))
        .unwrap_or_else(|| {
            if minutes < 0 {
                DateTime::from_timestamp(-62_135_510_400, 0).unwrap_or(DateTime::<Utc>::MIN_UTC)
            } else {
                far_future()
            }
        })
}

/// The deadlines of a case under `policy`, as seen at `now`.
pub fn deadlines(rec: &CaseRecord, policy: &Policy, now: DateTime<Utc>) -> Vec<DeadlineAt> {
    let from = rec.clocks_from;
    let mut out = Vec::with_capacity(5);
    // Untriaged cases have only the triage clock, at the strictest tier's figure.
    let triage_minutes = match rec.tier {
        Some(t) => policy.tier(t).triage_minutes,
        None => Tier::ALL
            .iter()
            .map(|t| policy.tier(*t).triage_minutes)
            .min()
            .unwrap_or(15),
    };
    // Answering online or closing settles the triage and dispatch clocks.
    let settled = rec.resolved_at.or(rec.closed_at);
    out.push(DeadlineAt::new(
        ClockKind::Triage,
        minutes_after(from, triage_minutes),
        rec.triaged_at.or(settled),
    ));
    if let Some(tier) = rec.tier {
        let tp = policy.tier(tier);
        if let Some(d) = tp.dispatch_minutes {
            out.push(DeadlineAt::new(
                ClockKind::Dispatch,
                minutes_after(from, d),
                rec.first_dispatched_at.or(settled),
            ));
        }
        if let Some(dispatched) = rec.dispatched_at {
            out.push(DeadlineAt::new(
                ClockKind::SignFor,
                minutes_after(dispatched, tp.sign_for_minutes),
                rec.signed_at.or(rec.closed_at),
            ));
        }
        out.push(DeadlineAt::new(
            ClockKind::Feedback,
            rec.feedback_due_override
                .unwrap_or_else(|| minutes_after(from, tp.feedback_minutes)),
            rec.resolved_at.or(rec.closed_at),
        ));
        let follow_up_minutes = tp.follow_up_minutes.or_else(|| {
            rec.follow_up_required
                .then(|| policy.red.follow_up_minutes.unwrap_or(24 * 60))
        });
        if let (Some(f), Some(resolved)) = (follow_up_minutes, rec.resolved_at) {
            out.push(DeadlineAt::new(
                ClockKind::FollowUp,
                minutes_after(resolved, f),
                rec.followed_up_at.or(rec.closed_at),
            ));
        }
    }
    for d in &mut out {
        d.breached = match d.met_at {
            Some(met) => met > d.due_at,
            None => now > d.due_at,
        };
    }
    out
}

/// A deadline in UTC, before it is put on the wire in the desk's zone.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DeadlineAt {
    pub clock: ClockKind,
    pub due_at: DateTime<Utc>,
    pub met_at: Option<DateTime<Utc>>,
    pub breached: bool,
}

impl DeadlineAt {
    fn new(clock: ClockKind, due_at: DateTime<Utc>, met_at: Option<DateTime<Utc>>) -> Self {
        DeadlineAt {
            clock,
            due_at,
            met_at,
            breached: false,
        }
    }
}

/// The earliest unmet deadline, if any.
pub fn next_due(deadlines: &[DeadlineAt]) -> Option<DeadlineAt> {
    deadlines
        .iter()
        .filter(|d| d.met_at.is_none())
        .min_by_key(|d| d.due_at)
        .copied()
}

impl CaseRecord {
    /// A new case as received at `at`, before it has an id (0) and a version beyond 1.
    pub fn received(reference: String, new: &crate::wire::NewCase, at: DateTime<Utc>) -> Self {
        CaseRecord {
            id: 0,
            reference,
            version: 1,
            channel: new.channel,
            category: new.category.trim().to_string(),
            title: new.title.trim().to_string(),
            description: new.description.trim().to_string(),
            requester_name: new.requester.name.trim().to_string(),
            requester_phone: new.requester.phone.trim().to_string(),
            town: new.location.town.trim().to_string(),
            address: new.location.address.trim().to_string(),
            lat: new.location.lat,
            long: new.location.long,
            tier: None,
            status: Status::New,
            department_id: None,
            claimed_by: None,
            received_at: at,
            clocks_from: at,
            triaged_at: None,
            first_dispatched_at: None,
            dispatched_at: None,
            signed_at: None,
            resolved_at: None,
            followed_up_at: None,
            closed_at: None,
            updated_at: at,
            feedback_due_override: None,
            return_count: 0,
            extension_count: 0,
            urge_count: 0,
            pending_extension: None,
            satisfaction: None,
            merged_into: None,
            follow_up_required: false,
            awaiting_ruling: false,
            escalation_clock: None,
            escalation_due_at: None,
            escalation_level: 0,
            escalated_at: None,
            group: None,
        }
    }

    /// The case as clients see it; the phone is masked unless `reveal_phone`.
    pub fn to_wire(&self, policy: &Policy, tz: Tz, now: DateTime<Utc>, reveal_phone: bool) -> Case {
        let t = |d: DateTime<Utc>| d.with_timezone(&tz).fixed_offset();
        let ds = deadlines(self, policy, now);
        let next = next_due(&ds);
        let overdue = ds.iter().any(|d| d.met_at.is_none() && d.breached);
        Case {
            id: self.id,
            reference: self.reference.clone(),
            version: self.version,
            channel: self.channel,
            category: self.category.clone(),
            title: self.title.clone(),
            description: self.description.clone(),
            requester: Requester {
                name: self.requester_name.clone(),
                phone: if reveal_phone {
                    self.requester_phone.clone()
                } else {
                    mask_phone(&self.requester_phone)
                },
            },
            location: Location {
                town: self.town.clone(),
                address: self.address.clone(),
                lat: self.lat,
                long: self.long,
            },
            tier: self.tier,
            status: self.status,
            department_id: self.department_id,
            claimed_by: self.claimed_by.clone(),
            received_at: t(self.received_at),
            triaged_at: self.triaged_at.map(t),
            dispatched_at: self.dispatched_at.map(t),
            signed_at: self.signed_at.map(t),
            resolved_at: self.resolved_at.map(t),
            closed_at: self.closed_at.map(t),
            updated_at: t(self.updated_at),
            deadlines: ds
                .iter()
                .map(|d| Deadline {
                    clock: d.clock,
                    due_at: t(d.due_at),
                    met_at: d.met_at.map(t),
                    breached: d.breached,
                })
                .collect(),
            next_due: next.map(|d| NextDue {
                clock: d.clock,
                due_at: t(d.due_at),
            }),
            overdue,
            return_count: self.return_count,
            extension_count: self.extension_count,
            urge_count: self.urge_count,
            pending_extension: self.pending_extension.as_ref().map(|p| PendingExtension {
                until: t(p.until),
                reason: p.reason.clone(),
                requested_by: p.requested_by.clone(),
                requested_at: t(p.requested_at),
            }),
            satisfaction: self.satisfaction,
            merged_into: self.merged_into,
            follow_up_required: self.follow_up_required,
            awaiting_ruling: self.awaiting_ruling,
            escalation: self.escalation(&ds, policy).map(|e| Escalation {
                clock: e.clock,
                step: e.step,
                at: t(e.at),
                next_step: e.next_step,
                next_step_at: e.next_step_at.map(t),
            }),
            group: self.group,
        }
    }

    /// The ladder's state: the last rung reached, and the next one while the clock is unmet.
    pub fn escalation(&self, ds: &[DeadlineAt], policy: &Policy) -> Option<EscalationAt> {
        let clock = self.escalation_clock?;
        let level = usize::try_from(self.escalation_level).ok()?.min(3);
        let step = *EscalationStep::ALL.get(level.checked_sub(1)?)?;
        let unmet = ds.iter().find(|d| {
            d.clock == clock && d.met_at.is_none() && Some(d.due_at) == self.escalation_due_at
        });
        let minutes = self
            .tier
            .map(|t| policy.tier(t).escalation_minutes)
            .unwrap_or(policy.red.escalation_minutes);
        let next = unmet.and_then(|d| {
            let next = *EscalationStep::ALL.get(level)?;
            Some((next, minutes_after(d.due_at, *minutes.get(level)?)))
        });
        Some(EscalationAt {
            clock,
            step,
            at: self.escalated_at.unwrap_or(self.updated_at),
            next_step: next.map(|n| n.0),
            next_step_at: next.map(|n| n.1),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EscalationAt {
    pub clock: ClockKind,
    pub step: EscalationStep,
    pub at: DateTime<Utc>,
    pub next_step: Option<EscalationStep>,
    pub next_step_at: Option<DateTime<Utc>>,
}

/// Climbs the escalation ladder for the case's earliest breached, unmet clock: every rung
/// whose time has come and has not fired yet fires now, once. Returns one event payload per
/// rung fired; the record is changed only if one fired.
pub fn escalate(
    rec: &mut CaseRecord,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Vec<serde_json::Value> {
    if rec.status == Status::Closed {
        return vec![];
    }
    let ds = deadlines(rec, policy, now);
    let Some(breached) = ds
        .iter()
        .filter(|d| d.met_at.is_none() && now > d.due_at)
        .min_by_key(|d| d.due_at)
    else {
        return vec![];
    };
    let minutes = rec
        .tier
        .map(|t| policy.tier(t).escalation_minutes)
        .unwrap_or(policy.red.escalation_minutes);
    let mut level = if rec.escalation_clock == Some(breached.clock)
        && rec.escalation_due_at == Some(breached.due_at)
    {
        usize::try_from(rec.escalation_level).unwrap_or(0)
    } else {
        0
    };
    let mut fired = vec![];
    let rung_at = |level: usize| {
        minutes
            .get(level)
            .map(|m| minutes_after(breached.due_at, *m))
    };
    while let (Some(&step), Some(scheduled)) = (EscalationStep::ALL.get(level), rung_at(level)) {
        if now < scheduled {
            break;
        }
        level += 1;
        let next = EscalationStep::ALL
            .get(level)
            .zip(rung_at(level))
            .map(|(n, at)| (n.as_str(), at));
        fired.push(serde_json::json!({
            "step": step.as_str(),
            "clock": breached.clock.as_str(),
            "due_at": breached.due_at,
            "scheduled_at": scheduled,
            "next_step": next.map(|n| n.0),
            "next_step_at": next.map(|n| n.1),
            "tier": rec.tier.map(Tier::as_str),
            "department_id": rec.department_id,
        }));
    }
    if !fired.is_empty() {
        rec.escalation_clock = Some(breached.clock);
        rec.escalation_due_at = Some(breached.due_at);
        rec.escalation_level = level as i64;
        rec.escalated_at = Some(now);
        rec.version += 1;
        rec.updated_at = now;
    }
    fired
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::wire::{Channel, NewCase};

    fn start() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2022, 5, 8, 13, 4, 0).unwrap()
    }

    fn red_case() -> CaseRecord {
        let new = NewCase {
            channel: Channel::Hotline12345,
            category: "medical_transport".into(),
            title: "透析病人需要转运".into(),
            description: String::new(),
            requester: Requester {
                name: "葛先生".into(),
                phone: "13800000000".into(),
            },
            location: Location {
                town: "马金镇".into(),
                address: String::new(),
                lat: None,
                long: None,
            },
        };
        let mut rec = CaseRecord::received("KH-20220508-0001".into(), &new, start());
        rec.tier = Some(Tier::Red);
        rec.triaged_at = Some(start());
        rec
    }

    #[test]
    fn minutes_after_saturates_instead_of_panicking() {
        assert_eq!(minutes_after(start(), 60), start() + Duration::hours(1));
        assert_eq!(minutes_after(start(), i64::MAX), far_future());
        assert_eq!(minutes_after(far_future(), 1), far_future());
        assert!(minutes_after(start(), i64::MIN) < start());
    }

    #[test]
    fn an_unchecked_policy_cannot_panic_a_render_or_the_ladder() {
        let mut policy = Policy::default();
        policy.red.feedback_minutes = i64::MAX;
        policy.red.dispatch_minutes = Some(i64::MAX);
        policy.red.escalation_minutes = [i64::MAX, 30, i64::MIN];
        let mut rec = red_case();
        let now = start() + Duration::days(400);
        let case = rec.to_wire(&policy, chrono_tz::Asia::Shanghai, now, false);
        assert!(
            case.deadlines
                .iter()
                .any(|d| d.clock == ClockKind::Feedback)
        );
        escalate(&mut rec, &policy, now);
        policy.red.triage_minutes = i64::MIN;
        rec.triaged_at = None;
        let fired = escalate(&mut rec, &policy, now);
        assert!(fired.len() <= 3);
        rec.to_wire(&policy, chrono_tz::Asia::Shanghai, now, true);
    }

    #[test]
    fn a_reopen_restarts_the_clocks_and_the_ladder() {
        let policy = Policy::default();
        let sup = Actor {
            name: "sup-chen".into(),
            role: Role::Supervisor,
            department_id: None,
        };
        let mut rec = red_case();
        let resolved = start() + Duration::minutes(30);
        rec.status = Status::Resolved;
        rec.resolved_at = Some(resolved);
        rec.escalation_clock = Some(ClockKind::Dispatch);
        rec.escalation_due_at = Some(start() + Duration::hours(1));
        rec.escalation_level = 3;
        rec.escalated_at = Some(resolved);
        let later = start() + Duration::hours(10);
        let reopen = CaseAction::Reopen(crate::wire::ReasonBody {
            reason: "群众再次来电".into(),
        });
        apply(&mut rec, &reopen, &sup, &policy, later).unwrap();
        assert_eq!(rec.clocks_from, later);
        assert_eq!(rec.escalation_level, 0);
        assert_eq!(rec.escalation_clock, None);
        let ds = deadlines(&rec, &policy, later);
        assert!(ds.iter().all(|d| !d.breached), "{ds:?}");
        let feedback = ds.iter().find(|d| d.clock == ClockKind::Feedback).unwrap();
        assert_eq!(feedback.due_at, later + Duration::hours(4));
        assert!(escalate(&mut rec, &policy, later).is_empty());
        assert_eq!(rec.received_at, start(), "the receipt stays as it was");
    }
}
