//! Similar-request groups: listing them, answering every case of a group with one answer, and
//! merging true duplicates. A group request acts on each case by itself, through the same
//! store action as `POST /api/v1/cases/{id}/{action}` (its own version check, its own event,
//! its own reply): one stale or refused case does not hold back the others, and the answer
//! reports each case. A retry with the same `Idempotency-Key` acts at most once per case:
//! each case's action is recorded under a key derived from the request's.

use std::collections::HashSet;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use sha2::{Digest, Sha256};

use super::{AppState, Auth, Body, parse_json, require_role};
use crate::answers;
use crate::domain::{self, ActionKind, Actor};
use crate::server::error::ApiError;
use crate::server::store::{IdempotencyKey, StoreError, Written};
use crate::text_rules::{self, TextRule};
use crate::wire::{
    self, AnswerBody, CaseAction, CaseDetail, CaseVersion, GroupAnswerBody, GroupCaseResult,
    GroupList, GroupMergeBody, GroupOutcome, MAX_GROUP_CASES, MergeBody, Problem, Role, Status,
};

/// Every group of open untriaged cases that are one request (two cases or more).
#[utoipa::path(get, path = "/api/v1/groups",
    responses((status = 200, body = GroupList), (status = 403, body = Problem)))]
pub(super) async fn list_groups(
    State(state): State<AppState>,
    Auth(actor): Auth,
) -> Result<Json<GroupList>, ApiError> {
    require_role(
        &actor,
        &[
            Role::Operator,
            Role::Supervisor,
            Role::Observer,
            Role::Admin,
        ],
        "see the untriaged queue's groups",
    )?;
    Ok(Json(GroupList {
        groups: state.store.groups().await?,
    }))
}

/// Answer several cases online with one text: `{requester}`, `{town}` and `{ref}` are filled
/// per case, and each case is answered as by `POST /api/v1/cases/{id}/answer-online` at the
/// version given. Answers 200 with a result per case (200 and the case, or the status and
/// problem that case alone would have had, e.g. 412 with the case as it is now).
#[utoipa::path(post, path = "/api/v1/groups/answer", request_body = GroupAnswerBody,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = GroupOutcome), (status = 403, body = Problem),
        (status = 422, body = Problem)))]
pub(super) async fn answer_group(
    State(state): State<AppState>,
    Auth(actor): Auth,
    method: Method,
    headers: HeaderMap,
    Body(body): Body,
) -> Result<Json<GroupOutcome>, ApiError> {
    if !domain::role_may(actor.role, ActionKind::AnswerOnline) {
        return Err(forbidden(&actor, "answer cases online"));
    }
    let key = super::idempotency_key(&headers, &method, "/api/v1/groups/answer", &body)?;
    let req: GroupAnswerBody = parse_json(&body)?;
    check_cases(&req.cases)?;
    text_rules::check(&req.text, TextRule::statement(wire::MAX_TEXT_CHARS))
        .map_err(|m| ApiError::invalid("text", m))?;
    if let Some(p) = answers::unknown_placeholder(&req.text) {
        return Err(ApiError::invalid(
            "text",
            format!(
                "{p} is not a placeholder; use {}",
                answers::PLACEHOLDERS.join(", ")
            ),
        ));
    }
    let mut results = Vec::with_capacity(req.cases.len());
    for cv in &req.cases {
        let case = match state.store.case(cv.id).await {
            Ok(rec) if actor.can_see(&rec) => rec,
            Ok(_) => {
                results.push(refused(
                    cv.id,
                    StoreError::NotFound(format!("case {}", cv.id)),
                ));
                continue;
            }
            Err(e) => {
                results.push(refused(cv.id, e));
                continue;
            }
        };
        let wire_case = case.to_wire(&state.config.policy, state.tz, state.clock.now(), false);
        let action = CaseAction::AnswerOnline(AnswerBody {
            text: answers::fill(&req.text, &wire_case),
            answer: req.answer,
        });
        results.push(act_on(&state, &actor, key.as_ref(), *cv, "answer-online", action).await);
    }
    Ok(Json(outcome(results)))
}

/// Merge duplicates into the case `into`, each as by `POST /api/v1/cases/{id}/merge` at the
/// version given: each duplicate is closed with a `merge` event naming `into`, and `into`
/// records a `merged-in` event for each. Answers 200 with a result per duplicate.
#[utoipa::path(post, path = "/api/v1/groups/merge", request_body = GroupMergeBody,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = GroupOutcome), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn merge_group(
    State(state): State<AppState>,
    Auth(actor): Auth,
    method: Method,
    headers: HeaderMap,
    Body(body): Body,
) -> Result<Json<GroupOutcome>, ApiError> {
    if !domain::role_may(actor.role, ActionKind::Merge) {
        return Err(forbidden(&actor, "merge cases"));
    }
    let key = super::idempotency_key(&headers, &method, "/api/v1/groups/merge", &body)?;
    let req: GroupMergeBody = parse_json(&body)?;
    check_cases(&req.cases)?;
    if req.cases.iter().any(|c| c.id == req.into) {
        return Err(ApiError::invalid(
            "cases",
            "must not name the case merged into (`into`)",
        ));
    }
    if let Some(note) = &req.note {
        text_rules::check(note, TextRule::paragraph(wire::MAX_TEXT_CHARS))
            .map_err(|m| ApiError::invalid("note", m))?;
    }
    let into = match state.store.case(req.into).await {
        Ok(rec) if actor.can_see(&rec) => rec,
        Ok(_) | Err(StoreError::NotFound(_)) => {
            return Err(ApiError::invalid("into", format!("no case {}", req.into)));
        }
        Err(e) => return Err(e.into()),
    };
    if into.status == Status::Closed {
        return Err(ApiError::Conflict(format!(
            "cannot merge into {}: it is closed",
            into.reference
        )));
    }
    let mut results = Vec::with_capacity(req.cases.len());
    for cv in &req.cases {
        let action = CaseAction::Merge(MergeBody {
            into: req.into,
            note: req.note.clone(),
        });
        results.push(act_on(&state, &actor, key.as_ref(), *cv, "merge", action).await);
    }
    Ok(Json(outcome(results)))
}

fn forbidden(actor: &Actor, what: &str) -> ApiError {
    ApiError::Forbidden(format!("role {} may not {what}", actor.role.as_str()))
}

/// One to `MAX_GROUP_CASES` cases, each named once.
fn check_cases(cases: &[CaseVersion]) -> Result<(), ApiError> {
    if cases.is_empty() || cases.len() > MAX_GROUP_CASES {
        return Err(ApiError::invalid(
            "cases",
            format!("must name 1 to {MAX_GROUP_CASES} cases"),
        ));
    }
    let mut seen = HashSet::new();
    if let Some(dup) = cases.iter().find(|c| !seen.insert(c.id)) {
        return Err(ApiError::invalid(
            "cases",
            format!("names case {} more than once", dup.id),
        ));
    }
    Ok(())
}

/// The key one case's action is recorded under: the request's key and the case, with the
/// fingerprint of that case's own action, so that a retry replays each case's first answer.
fn case_key(key: &IdempotencyKey, id: i64, action: &str, body: &[u8]) -> IdempotencyKey {
    let digest: String = Sha256::digest(body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    IdempotencyKey {
        key: format!("group/{action}/{id}/{}", key.key),
        request: format!("POST /api/v1/cases/{id}/{action} {digest}"),
    }
}

async fn act_on(
    state: &AppState,
    actor: &Actor,
    key: Option<&IdempotencyKey>,
    cv: CaseVersion,
    name: &str,
    action: CaseAction,
) -> GroupCaseResult {
    let body = action.body().to_string();
    let key = key.map(|k| case_key(k, cv.id, name, body.as_bytes()));
    let written = state
        .store
        .act(
            cv.id,
            Some(cv.version),
            &action,
            actor,
            state.clock.now(),
            key.as_ref(),
            state.render(StatusCode::OK),
        )
        .await;
    let answer = match written {
        Ok(Written::Fresh(_, answer) | Written::Replayed(answer)) => answer,
        Err(StoreError::Stale(rec)) => {
            let problem = match state.current_detail(&rec).await {
                Ok(current) => ApiError::Stale(Box::new(current)),
                Err(e) => e,
            };
            return failed(cv.id, problem.problem());
        }
        Err(e) => return refused(cv.id, e),
    };
    match serde_json::from_slice::<CaseDetail>(&answer.body) {
        Ok(case) => GroupCaseResult {
            id: cv.id,
            status: answer.status,
            case: Some(case),
            problem: None,
        },
        Err(e) => failed(
            cv.id,
            ApiError::Internal(format!("stored answer unreadable: {e}")).problem(),
        ),
    }
}

fn refused(id: i64, e: StoreError) -> GroupCaseResult {
    failed(id, ApiError::from(e).problem())
}

fn failed(id: i64, problem: Problem) -> GroupCaseResult {
    GroupCaseResult {
        id,
        status: problem.status,
        case: None,
        problem: Some(problem),
    }
}

fn outcome(results: Vec<GroupCaseResult>) -> GroupOutcome {
    let done = results.iter().filter(|r| r.ok()).count();
    GroupOutcome {
        failed: results.len() - done,
        done,
        results,
    }
}

/// The request bodies' rules in the API document: what the handlers check.
pub(super) fn constrain_schemas(doc: &mut serde_json::Value) {
    use serde_json::json;
    let schemas = &mut doc["components"]["schemas"];
    for name in ["GroupAnswerBody", "GroupMergeBody"] {
        let cases = &mut schemas[name]["properties"]["cases"];
        cases["minItems"] = json!(1);
        cases["maxItems"] = json!(MAX_GROUP_CASES);
    }
    schemas["GroupAnswerBody"]["properties"]["text"] =
        text_rules::json_schema(TextRule::statement(wire::MAX_TEXT_CHARS));
    schemas["GroupMergeBody"]["properties"]["note"] =
        text_rules::json_schema(TextRule::paragraph(wire::MAX_TEXT_CHARS));
}
