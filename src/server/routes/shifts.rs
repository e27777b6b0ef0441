//! Shift work: `/api/v1/presence` (who has which case open), `/api/v1/shifts` (who is on
//! shift; the claims a shift left behind), `/api/v1/handovers` (the brief each shift leaves
//! and who read it) and `/api/v1/departments/{id}/duty` (whom an urging call reaches).

use std::time::Duration;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chrono::{Duration as ChronoDuration, Utc};
use utoipa::OpenApi;

use super::{Auth, Body, MAX_WAIT_SECONDS, parse_json, parse_param, query_params, require_role};
use crate::domain::Actor;
use crate::server::AppState;
use crate::server::error::ApiError;
use crate::server::store::{ShiftRefusal, StoreError, Written};
use crate::text_rules::{self, TextRule};
use crate::wire::{
    self, Activity, CaseAction, CaseVersion, Department, DutyContact, DutyRoster, EndShift,
    FieldError, HandOverClaims, HandOverResult, HandoverBrief, HandoverList, NoteBody, Presence,
    PresenceList, PresenceUpdate, Problem, Role, Shift, ShiftList,
};

/// Who works shifts: the desk staff who hold cases.
const SHIFT_WORKERS: [Role; 2] = [Role::Operator, Role::Supervisor];
/// Who watches the desk's shifts and reads their briefs.
const DESK: [Role; 4] = [
    Role::Operator,
    Role::Supervisor,
    Role::Observer,
    Role::Admin,
];
/// Who reports presence: those who act on cases. Observers, intake and admins do not edit
/// cases, so their having one open warns nobody of anything.
const PUBLISHERS: [Role; 3] = [Role::Operator, Role::Supervisor, Role::Department];
/// Most briefs `GET /api/v1/handovers` answers by default.
const DEFAULT_HANDOVERS: i64 = 20;
const MAX_HANDOVERS: i64 = 200;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/presence", get(list_presence).put(put_presence))
        .route("/api/v1/shifts", get(list_shifts))
        .route("/api/v1/shifts/current", get(current_shift))
        .route("/api/v1/shifts/start", post(start_shift))
        .route("/api/v1/shifts/end", post(end_shift))
        .route("/api/v1/shifts/{id}/claims", post(hand_over_claims))
        .route("/api/v1/handovers", get(list_handovers))
        .route("/api/v1/handovers/{id}", get(get_handover))
        .route("/api/v1/handovers/{id}/ack", post(ack_handover))
        .route("/api/v1/departments/{id}/duty", put(put_duty))
}

#[derive(OpenApi)]
#[openapi(
    paths(
        put_presence,
        list_presence,
        start_shift,
        end_shift,
        list_shifts,
        current_shift,
        hand_over_claims,
        list_handovers,
        get_handover,
        ack_handover,
        put_duty
    ),
    components(schemas(
        Activity,
        PresenceUpdate,
        Presence,
        PresenceList,
        Shift,
        ShiftList,
        EndShift,
        HandOverClaims,
        HandOverResult,
        wire::BriefCase,
        wire::ShiftCounts,
        wire::BriefTotals,
        wire::Acknowledgement,
        HandoverBrief,
        HandoverList,
        DutyContact,
        DutyRoster
    ))
)]
pub struct ShiftsDoc;

/// What the derive cannot say: the bounds of the request fields, as the handlers check them.
pub fn constrain(doc: &mut serde_json::Value) {
    use serde_json::json;
    let schemas = &mut doc["components"]["schemas"];
    schemas["EndShift"]["properties"]["note"] =
        text_rules::json_schema(TextRule::paragraph(wire::MAX_HANDOVER_NOTE_CHARS));
    schemas["HandOverClaims"]["properties"]["to"] = json!({
        "type": ["string", "null"], "minLength": 1, "maxLength": 50
    });
    schemas["PresenceUpdate"]["properties"]["case"] = json!({
        "type": ["integer", "null"], "minimum": 1
    });
    // What a console sends: an activity this server knows.
    schemas["PresenceUpdate"]["properties"]["activity"] = json!({
        "type": "string", "enum": ["viewing", "answering", "dispatching", "editing"]
    });
    let contact = &mut schemas["DutyContact"]["properties"];
    contact["name"] = text_rules::json_schema(TextRule::name(wire::MAX_DUTY_FIELD_CHARS));
    contact["phone"] = json!({
        "type": "string", "pattern": "^[0-9+-][0-9+ -]{1,38}[0-9+-]$"
    });
    contact["until"] = json!({
        "type": ["string", "null"], "format": "date-time", "pattern": "^20[0-9]{2}-"
    });
    schemas["DutyRoster"]["properties"]["contacts"]["maxItems"] = wire::MAX_DUTY_CONTACTS.into();
    super::each_parameter(doc, &["/api/v1/presence", "/api/v1/handovers"], |p| {
        if p["name"] == "since" {
            p["schema"]["minimum"] = 0.into();
        }
    });
}

fn refusal(r: ShiftRefusal) -> ApiError {
    match r {
        ShiftRefusal::AlreadyOnShift(s) => ApiError::Service {
            status: StatusCode::CONFLICT,
            kind: "shift-running",
            title: "Already on shift",
            detail: format!(
                "{} has been on shift {} since {}; end it first",
                s.user, s.id, s.started_at
            ),
            retry_after: None,
        },
        ShiftRefusal::NotOnShift(user) => not_on_shift(&user),
    }
}

fn not_on_shift(user: &str) -> ApiError {
    ApiError::Service {
        status: StatusCode::CONFLICT,
        kind: "not-on-shift",
        title: "Not on shift",
        detail: format!("{user} is not on shift"),
        retry_after: None,
    }
}

fn parse_positive(id: &str, what: &str) -> Result<i64, ApiError> {
    id.parse()
        .ok()
        .filter(|id: &i64| *id > 0)
        .ok_or_else(|| ApiError::NotFound(format!("no {what} {id:?}")))
}

// ---- presence -------------------------------------------------------------------------------

/// Report the case this console has open (`case: null` clears it), every
/// `PRESENCE_HEARTBEAT_SECS` while it holds; it lapses `PRESENCE_TTL_SECS` (30 s) after the
/// last report. Operators, supervisors, and department users on their own cases.
#[utoipa::path(put, path = "/api/v1/presence", request_body = PresenceUpdate,
    responses((status = 204, description = "recorded"), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn put_presence(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Body(body): Body,
) -> Result<StatusCode, ApiError> {
    require_role(&actor, &PUBLISHERS, "report presence on cases")?;
    let update: PresenceUpdate = parse_json(&body)?;
    if update.activity == Activity::Unknown {
        return Err(ApiError::invalid(
            "activity",
            "must be viewing, answering, dispatching or editing",
        ));
    }
    if let Some(id) = update.case {
        let rec = match state.store.case(id).await {
            Ok(r) => r,
            Err(StoreError::NotFound(_)) => {
                return Err(ApiError::NotFound(format!("no case {id}")));
            }
            Err(e) => return Err(e.into()),
        };
        if !actor.can_see(&rec) {
            return Err(ApiError::NotFound(format!("no case {id}")));
        }
    }
    let entry = state.presence.publish(
        &actor.name,
        actor.role,
        update.case,
        update.activity,
        state.clock.now(),
    );
    // The console repeats it every heartbeat: a failed announcement costs a few seconds on
    // the other instances' screens, not this request.
    if let Err(e) = state
        .store
        .announce_presence(&state.presence.announcement(&entry))
        .await
    {
        tracing::warn!(error = %e, "presence not announced to the other instances");
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Everyone's presence on the cases the caller may see (a department: its own cases). With
/// `since` equal to the current `version`, the request is held until something changes or
/// `wait` seconds pass; held requests count against the same per-user limit as the feed's.
#[utoipa::path(get, path = "/api/v1/presence",
    params(
        ("since" = Option<i64>, Query, description = "the `version` of the previous answer"),
        ("wait" = Option<u64>, Query, description = "seconds (≤ 30) to hold the request until something changes")),
    responses((status = 200, body = PresenceList), (status = 400, body = Problem)))]
pub async fn list_presence(
    State(state): State<AppState>,
    Auth(actor): Auth,
    RawQuery(raw): RawQuery,
) -> Result<Json<PresenceList>, ApiError> {
    let params = query_params(raw, &["since", "wait"])?;
    let since: Option<i64> = parse_param(&params, "since", "a presence version")?;
    if since.is_some_and(|v| v < 0) {
        return Err(ApiError::bad_request("since", "must not be negative"));
    }
    let wait: u64 = parse_param(&params, "wait", "a number of seconds")?.unwrap_or(0);
    if wait > MAX_WAIT_SECONDS {
        return Err(ApiError::bad_request(
            "wait",
            format!("must be at most {MAX_WAIT_SECONDS} seconds"),
        ));
    }
    let mut changes = state.presence.subscribe();
    let current = *changes.borrow_and_update();
    if wait > 0 && since == Some(current) {
        let _long_poll = state
            .long_polls
            .enter(&actor.name, state.config.limits.max_long_polls_per_user)?;
        tokio::select! {
            _ = changes.changed() => {}
            () = tokio::time::sleep(Duration::from_secs(wait)) => {}
            () = state.shutdown.cancelled() => {}
        }
    }
    Ok(Json(visible_presence(&state, &actor).await?))
}

async fn visible_presence(state: &AppState, actor: &Actor) -> Result<PresenceList, ApiError> {
    let (version, entries) = state.presence.snapshot();
    let mut entries: Vec<Presence> = entries.iter().filter_map(|e| e.to_wire(state.tz)).collect();
    if actor.role == Role::Department {
        let cases: Vec<i64> = entries.iter().map(|p| p.case).collect();
        let held = state
            .store
            .held_by_department(actor.department_id.unwrap_or(-1), &cases)
            .await?;
        entries.retain(|p| held.contains(&p.case));
    }
    Ok(PresenceList { version, entries })
}

// ---- shifts ---------------------------------------------------------------------------------

/// Start the caller's shift (operator, supervisor); 409 `shift-running` while one runs.
#[utoipa::path(post, path = "/api/v1/shifts/start",
    responses((status = 201, body = Shift), (status = 403, body = Problem),
        (status = 409, body = Problem)))]
pub async fn start_shift(
    State(state): State<AppState>,
    Auth(actor): Auth,
) -> Result<Response, ApiError> {
    require_role(&actor, &SHIFT_WORKERS, "work shifts")?;
    let shift = state
        .store
        .start_shift(&actor, state.clock.now())
        .await?
        .map_err(refusal)?;
    Ok((StatusCode::CREATED, Json(shift)).into_response())
}

/// End the caller's shift and store its handover brief, computed from the cases as they are
/// and the shift's events; answers the brief. 409 `not-on-shift` without a running shift.
#[utoipa::path(post, path = "/api/v1/shifts/end", request_body = EndShift,
    responses((status = 200, body = HandoverBrief), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn end_shift(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Body(body): Body,
) -> Result<Json<HandoverBrief>, ApiError> {
    require_role(&actor, &SHIFT_WORKERS, "work shifts")?;
    let end: EndShift = if body.iter().all(u8::is_ascii_whitespace) {
        EndShift {
            note: String::new(),
        }
    } else {
        parse_json(&body)?
    };
    let note = end.note.trim();
    if !note.is_empty()
        && let Err(m) = text_rules::check(note, TextRule::paragraph(wire::MAX_HANDOVER_NOTE_CHARS))
    {
        return Err(ApiError::invalid("note", m));
    }
    let brief = state
        .store
        .end_shift(&actor, note, state.clock.now())
        .await?
        .map_err(refusal)?;
    Ok(Json(brief))
}

/// The latest shift of every user who had one in the last 24 hours, running ones first;
/// `open=true`: only the running ones.
#[utoipa::path(get, path = "/api/v1/shifts",
    params(("open" = Option<bool>, Query, description = "only running shifts (default false)")),
    responses((status = 200, body = ShiftList), (status = 403, body = Problem)))]
pub async fn list_shifts(
    State(state): State<AppState>,
    Auth(actor): Auth,
    RawQuery(raw): RawQuery,
) -> Result<Json<ShiftList>, ApiError> {
    require_role(&actor, &DESK, "see the desk's shifts")?;
    let params = query_params(raw, &["open"])?;
    let open: bool = parse_param(&params, "open", "true or false")?.unwrap_or(false);
    let since = state.clock.now() - ChronoDuration::hours(24);
    let shifts = state.store.latest_shifts(since, open).await?;
    Ok(Json(ShiftList { shifts }))
}

/// The caller's running shift; 404 when not on shift.
#[utoipa::path(get, path = "/api/v1/shifts/current",
    responses((status = 200, body = Shift), (status = 404, body = Problem)))]
pub async fn current_shift(
    State(state): State<AppState>,
    Auth(actor): Auth,
) -> Result<Json<Shift>, ApiError> {
    match state.store.current_shift(&actor.name).await? {
        Some(s) => Ok(Json(s)),
        None => Err(ApiError::NotFound(format!(
            "{} is not on shift",
            actor.name
        ))),
    }
}

/// Release every case still claimed by the user of an ended shift (`to: null`), or hand
/// them all to `to`, a user on shift (supervisor). Each case goes through the ordinary
/// `release` (and `claim`, by `to`) actions: each gets its events and a new version. 409
/// `shift-running` while the shift runs, or once its user is on shift again.
#[utoipa::path(post, path = "/api/v1/shifts/{id}/claims", request_body = HandOverClaims,
    params(("id" = i64, Path)),
    responses((status = 200, body = HandOverResult), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
pub async fn hand_over_claims(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    Body(body): Body,
) -> Result<Json<HandOverResult>, ApiError> {
    // Releasing another's claim is a supervisor's action on a case.
    require_role(&actor, &[Role::Supervisor], "hand over a shift's claims")?;
    let id = parse_positive(&id, "shift")?;
    let req: HandOverClaims = parse_json(&body)?;
    let shift = state.store.shift(id).await?;
    if shift.ended_at.is_none() {
        return Err(ApiError::Service {
            status: StatusCode::CONFLICT,
            kind: "shift-running",
            title: "The shift is still running",
            detail: format!("shift {id} of {} has not ended", shift.user),
            retry_after: None,
        });
    }
    // Back on shift, the user's claims are the new shift's again.
    if let Some(running) = state.store.current_shift(&shift.user).await? {
        return Err(ApiError::Service {
            status: StatusCode::CONFLICT,
            kind: "shift-running",
            title: "The user is on shift again",
            detail: format!(
                "{} has been on shift {} since {}; their claims are theirs again",
                shift.user, running.id, running.started_at
            ),
            retry_after: None,
        });
    }
    let to = match req.to.as_deref().map(str::trim) {
        None => None,
        Some(name) => Some(heir(&state, name).await?),
    };
    let mut moved = vec![];
    for case in state.store.claimed_by(&shift.user).await? {
        let note = |text: String| NoteBody { note: Some(text) };
        let release_note = match &to {
            Some(heir) => format!(
                "shift {id} of {} ended; handed to {}",
                shift.user, heir.name
            ),
            None => format!("shift {id} of {} ended", shift.user),
        };
        let Some(mut version) = act_on(
            &state,
            case.id,
            case.version,
            CaseAction::Release(note(release_note)),
            &actor,
        )
        .await?
        else {
            continue;
        };
        if let Some(heir) = &to
            && case.status != wire::Status::Closed
        {
            let claim = CaseAction::Claim(note(format!(
                "handed over by {} from shift {id} of {}",
                actor.name, shift.user
            )));
            if let Some(v) = act_on(&state, case.id, version, claim, heir).await? {
                version = v;
            }
        }
        moved.push(CaseVersion {
            id: case.id,
            version,
        });
    }
    Ok(Json(HandOverResult { moved }))
}

/// The user to hand claims to: a desk worker on shift.
async fn heir(state: &AppState, name: &str) -> Result<Actor, ApiError> {
    let Some((_, role)) = state.store.user_named(name).await? else {
        return Err(ApiError::invalid("to", format!("no user {name:?}")));
    };
    if !SHIFT_WORKERS.contains(&role) {
        return Err(ApiError::invalid(
            "to",
            format!("{name} is a {} and holds no claims", role.as_str()),
        ));
    }
    if state.store.current_shift(name).await?.is_none() {
        return Err(ApiError::invalid("to", format!("{name} is not on shift")));
    }
    Ok(Actor {
        name: name.to_string(),
        role,
        department_id: None,
    })
}

/// One action through the ordinary path; the case's new version, or `None` when the case
/// moved meanwhile so that the action no longer applies (someone else took it on).
async fn act_on(
    state: &AppState,
    id: i64,
    version: i64,
    action: CaseAction,
    actor: &Actor,
) -> Result<Option<i64>, ApiError> {
    let result = state
        .store
        .act(
            id,
            Some(version),
            &action,
            actor,
            state.clock.now(),
            None,
            state.render(StatusCode::OK),
        )
        .await;
    match result {
        Ok(Written::Fresh(rec, _)) => Ok(Some(rec.version)),
        Ok(Written::Replayed(_)) => Ok(None),
        Err(StoreError::Stale(_) | StoreError::Refused(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

// ---- handovers ------------------------------------------------------------------------------

/// `unacknowledged=true`: the briefs the caller has yet to read (the newest of each other
/// user's shifts that ended since the caller's own last shift ended, or in the last 24 hours);
/// otherwise the latest `limit` briefs. Newest first.
#[utoipa::path(get, path = "/api/v1/handovers",
    params(
        ("unacknowledged" = Option<bool>, Query, description = "only the briefs the caller has yet to acknowledge"),
        ("limit" = Option<u32>, Query, description = "1 to 200, default 20")),
    responses((status = 200, body = HandoverList), (status = 403, body = Problem)))]
pub async fn list_handovers(
    State(state): State<AppState>,
    Auth(actor): Auth,
    RawQuery(raw): RawQuery,
) -> Result<Json<HandoverList>, ApiError> {
    require_role(&actor, &DESK, "read handover briefs")?;
    let params = query_params(raw, &["unacknowledged", "limit"])?;
    let unacknowledged: bool =
        parse_param(&params, "unacknowledged", "true or false")?.unwrap_or(false);
    let limit: i64 =
        parse_param(&params, "limit", "a number from 1 to 200")?.unwrap_or(DEFAULT_HANDOVERS);
    if !(1..=MAX_HANDOVERS).contains(&limit) {
        return Err(ApiError::bad_request(
            "limit",
            format!("must be from 1 to {MAX_HANDOVERS}"),
        ));
    }
    let mut handovers = if unacknowledged {
        state
            .store
            .unacknowledged_handovers(&actor.name, state.clock.now())
            .await?
    } else {
        state.store.recent_handovers(limit).await?
    };
    handovers.truncate(limit as usize);
    Ok(Json(HandoverList { handovers }))
}

#[utoipa::path(get, path = "/api/v1/handovers/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = HandoverBrief), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
pub async fn get_handover(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Json<HandoverBrief>, ApiError> {
    require_role(&actor, &DESK, "read handover briefs")?;
    let id = parse_positive(&id, "handover")?;
    Ok(Json(state.store.handover(id).await?))
}

/// Record that the caller read the brief (once: a repeat keeps the first time); answers the
/// brief with its acknowledgements.
#[utoipa::path(post, path = "/api/v1/handovers/{id}/ack", params(("id" = i64, Path)),
    responses((status = 200, body = HandoverBrief), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
pub async fn ack_handover(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Json<HandoverBrief>, ApiError> {
    require_role(&actor, &SHIFT_WORKERS, "acknowledge handover briefs")?;
    let id = parse_positive(&id, "handover")?;
    Ok(Json(
        state
            .store
            .acknowledge_handover(id, &actor.name, state.clock.now())
            .await?,
    ))
}

// ---- duty contacts --------------------------------------------------------------------------

/// Replace the department's duty contacts (an empty list clears them): the department's own
/// users, supervisors, admins. Answers the department with its `on_duty`.
#[utoipa::path(put, path = "/api/v1/departments/{id}/duty", request_body = DutyRoster,
    params(("id" = i64, Path)),
    responses((status = 200, body = Department), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn put_duty(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    Body(body): Body,
) -> Result<Json<Department>, ApiError> {
    let id = parse_positive(&id, "department")?;
    let own = actor.role == Role::Department && actor.department_id == Some(id);
    if !own && !matches!(actor.role, Role::Supervisor | Role::Admin) {
        return Err(ApiError::Forbidden(format!(
            "role {} may not set another department's duty contacts",
            actor.role.as_str()
        )));
    }
    let roster: DutyRoster = parse_json(&body)?;
    let now = state.clock.now();
    validate_roster(&roster, now, state.tz)?;
    state.store.set_duty(id, &roster.contacts).await?;
    let mut d = [state.store.department(id).await?];
    state.store.with_duty(&mut d, now).await?;
    let [d] = d;
    Ok(Json(d))
}

/// Every field's fault at once.
fn validate_roster(
    roster: &DutyRoster,
    now: chrono::DateTime<Utc>,
    tz: chrono_tz::Tz,
) -> Result<(), ApiError> {
    let mut errors = vec![];
    let mut fail = |field: String, message: String| errors.push(FieldError { field, message });
    if roster.contacts.len() > wire::MAX_DUTY_CONTACTS {
        fail(
            "contacts".into(),
            format!("at most {} contacts", wire::MAX_DUTY_CONTACTS),
        );
    }
    for (i, c) in roster.contacts.iter().enumerate() {
        if let Err(m) = text_rules::check(c.name.trim(), TextRule::name(wire::MAX_DUTY_FIELD_CHARS))
        {
            fail(format!("contacts[{i}].name"), m);
        }
        let phone = c.phone.trim();
        let digits = phone.chars().filter(char::is_ascii_digit).count();
        if !((3..=20).contains(&digits)
            && phone.chars().count() <= wire::MAX_DUTY_FIELD_CHARS
            && phone
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' ')))
        {
            fail(
                format!("contacts[{i}].phone"),
                "must be 3 to 20 digits (+, - and spaces allowed)".into(),
            );
        }
        if let Some(until) = c.until {
            use chrono::Datelike;
            // Answered in the desk's zone: the year must hold there too.
            let years = [until.year(), until.with_timezone(&tz).year()];
            if !years.iter().all(|y| wire::QUERY_YEARS.contains(y)) {
                fail(
                    format!("contacts[{i}].until"),
                    "must be in the years 2000 to 2099".into(),
                );
            } else if until.with_timezone(&Utc) <= now {
                fail(
                    format!("contacts[{i}].until"),
                    "must be in the future".into(),
                );
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(errors))
    }
}
