//! `/api/v1/answers`: the policy answer library. Desk staff who answer citizens read it;
//! supervisors and admins write it. Every edit is a new version; an answer that is retired or
//! outside its validity window is not offered by default and cannot be sent.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Duration as ChronoDuration;
use utoipa::OpenApi;

use super::{Auth, Body, if_match, parse_json, parse_param, query_params, require_role, with_etag};
use crate::server::AppState;
use crate::server::error::ApiError;
use crate::server::store::{AnswerFilter, StaleAnswer};
use crate::text_rules::{self, TextRule};
use crate::wire::{
    self, Answer, AnswerCases, AnswerDetail, AnswerList, FieldError, NewAnswer, Problem, Role,
};

/// Who reads the library: the staff who answer citizens (intake on the phone, operators
/// online), their supervisors, observers who check what citizens were told, and admins.
/// Departments work cases handed to them and have no use for it.
const READERS: [Role; 5] = [
    Role::Intake,
    Role::Operator,
    Role::Supervisor,
    Role::Observer,
    Role::Admin,
];
const EDITORS: [Role; 2] = [Role::Supervisor, Role::Admin];
/// The follow-up list names cases: those who follow cases up.
const FOLLOWERS: [Role; 4] = [
    Role::Operator,
    Role::Supervisor,
    Role::Observer,
    Role::Admin,
];

/// Days `GET /api/v1/answers/{id}/cases` looks back by default.
const DEFAULT_DAYS: i64 = 7;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/answers", get(list_answers).post(create_answer))
        .route("/api/v1/answers/{id}", get(get_answer).put(update_answer))
        .route("/api/v1/answers/{id}/retire", post(retire_answer))
        .route("/api/v1/answers/{id}/cases", get(answer_cases))
}

#[derive(OpenApi)]
#[openapi(
    paths(
        list_answers,
        create_answer,
        get_answer,
        update_answer,
        retire_answer,
        answer_cases
    ),
    components(schemas(
        Answer,
        wire::AnswerVersion,
        AnswerDetail,
        AnswerList,
        NewAnswer,
        wire::AnswerUse,
        AnswerCases
    ))
)]
pub struct AnswersDoc;

/// What the derive cannot say: the bounds of the library's parameters and fields, as the
/// handlers check them.
pub fn constrain(doc: &mut serde_json::Value) {
    use serde_json::json;
    let category = json!({ "type": "string", "pattern": "^[a-z0-9_]{1,64}$" });
    let schema = &mut doc["components"]["schemas"]["NewAnswer"]["properties"];
    schema["title"] = text_rules::json_schema(TextRule::name(wire::MAX_ANSWER_TITLE_CHARS));
    schema["body"] = text_rules::json_schema(TextRule::statement(wire::MAX_TEXT_CHARS));
    let mut optional_category = category.clone();
    optional_category["type"] = json!(["string", "null"]);
    schema["category"] = optional_category;
    schema["tags"] = json!({
        "type": "array",
        "maxItems": wire::MAX_TAGS,
        "items": text_rules::json_schema(TextRule::name(wire::MAX_TAG_CHARS)),
    });
    super::each_parameter(doc, &["/api/v1/answers"], |p| {
        let name = p["name"].as_str().map(str::to_string);
        let inner = match p["schema"].get_mut("anyOf") {
            Some(any) => &mut any[0],
            None => &mut p["schema"],
        };
        match name.as_deref() {
            Some("days") => {
                inner["minimum"] = 1.into();
                inner["maximum"] = wire::MAX_ANSWER_DAYS.into();
            }
            Some("category") => *inner = category.clone(),
            _ => {}
        }
    });
}

fn parse_answer_id(id: &str) -> Result<i64, ApiError> {
    id.parse()
        .ok()
        .filter(|id: &i64| *id > 0)
        .ok_or_else(|| ApiError::NotFound(format!("no answer {id:?}")))
}

/// Every field's fault at once, so a supervisor fixes the form in one go.
fn validate(new: &NewAnswer, state: &AppState) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    let mut fail = |field: &str, message: String| {
        errors.push(FieldError {
            field: field.into(),
            message,
        })
    };
    if let Err(m) = text_rules::check(
        new.title.trim(),
        TextRule::name(wire::MAX_ANSWER_TITLE_CHARS),
    ) {
        fail("title", m);
    }
    if let Err(m) = text_rules::check(&new.body, TextRule::statement(wire::MAX_TEXT_CHARS)) {
        fail("body", m);
    } else if let Some(p) = crate::answers::unknown_placeholder(&new.body) {
        fail(
            "body",
            format!(
                "unknown placeholder {p}; known: {}",
                crate::answers::PLACEHOLDERS.join(" ")
            ),
        );
    }
    if let Some(c) = &new.category
        && state.config.catalog.category(c).is_none()
    {
        fail("category", format!("no category {c:?} in the catalog"));
    }
    if new.tags.len() > wire::MAX_TAGS {
        fail("tags", format!("at most {} tags", wire::MAX_TAGS));
    }
    for (i, tag) in new.tags.iter().enumerate() {
        if let Err(m) = text_rules::check(tag.trim(), TextRule::name(wire::MAX_TAG_CHARS)) {
            fail(&format!("tags[{i}]"), m);
        }
    }
    if let (Some(from), Some(until)) = (new.valid_from, new.valid_until)
        && until <= from
    {
        fail("valid_until", "must be later than valid_from".into());
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(errors))
    }
}

fn stale(current: &Answer) -> ApiError {
    ApiError::Service {
        status: StatusCode::PRECONDITION_FAILED,
        kind: "stale-version",
        title: "The answer has changed",
        detail: format!(
            "answer {} is now at version {}; review the change and try again",
            current.id, current.version
        ),
        retry_after: None,
    }
}

/// The library, most used first. By default only answers that may be sent now: not retired,
/// inside their validity window.
#[utoipa::path(get, path = "/api/v1/answers",
    params(
        ("q" = Option<String>, Query, description = "text in the title, a tag or the body, case-insensitive; at most 200 characters"),
        ("category" = Option<String>, Query, description = "a catalog category code"),
        ("include_retired" = Option<bool>, Query, description = "also retired answers (default false)"),
        ("include_expired" = Option<bool>, Query, description = "also answers outside their validity window (default false)")),
    responses((status = 200, body = AnswerList), (status = 403, body = Problem),
        (status = 422, body = Problem)))]
pub async fn list_answers(
    State(state): State<AppState>,
    Auth(actor): Auth,
    RawQuery(raw): RawQuery,
) -> Result<Json<AnswerList>, ApiError> {
    require_role(&actor, &READERS, "read the answer library")?;
    let params = query_params(
        raw,
        &["q", "category", "include_retired", "include_expired"],
    )?;
    if let Some(q) = params.get("q")
        && q.chars().count() > wire::MAX_SEARCH_CHARS
    {
        return Err(ApiError::invalid(
            "q",
            format!("must be at most {} characters", wire::MAX_SEARCH_CHARS),
        ));
    }
    if let Some(c) = params.get("category")
        && !(1..=64).contains(&c.len())
            | !c.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(ApiError::bad_request(
            "category",
            "must be a category code (a-z, 0-9, _)",
        ));
    }
    let filter = AnswerFilter {
        q: params.get("q").cloned(),
        category: params.get("category").cloned(),
        include_retired: parse_param(&params, "include_retired", "true or false")?.unwrap_or(false),
        include_expired: parse_param(&params, "include_expired", "true or false")?.unwrap_or(false),
    };
    let answers = state.store.answers(&filter, state.clock.now()).await?;
    Ok(Json(AnswerList { answers }))
}

/// Add an answer (supervisor, admin): version 1.
#[utoipa::path(post, path = "/api/v1/answers", request_body = NewAnswer,
    responses((status = 201, body = Answer, headers(("ETag" = String))),
        (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_answer(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Body(body): Body,
) -> Result<Response, ApiError> {
    require_role(&actor, &EDITORS, "write library answers")?;
    let new: NewAnswer = parse_json(&body)?;
    validate(&new, &state)?;
    let a = state
        .store
        .create_answer(&new, &actor, state.clock.now())
        .await?;
    let version = a.version;
    Ok(with_etag(
        (StatusCode::CREATED, Json(a)).into_response(),
        version,
    ))
}

/// An answer as it is now and every version it had, newest first; `ETag: "<version>"`.
#[utoipa::path(get, path = "/api/v1/answers/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = AnswerDetail, headers(("ETag" = String))),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_answer(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    require_role(&actor, &READERS, "read the answer library")?;
    let d = state.store.answer_detail(parse_answer_id(&id)?).await?;
    let version = d.answer.version;
    Ok(with_etag(Json(d).into_response(), version))
}

/// Edit an answer (supervisor, admin): every field as given becomes its next version; the
/// old versions stay, and cases keep the version they were answered with. Requires
/// `If-Match: "<version>"` (428 without it; 412 when the answer is at another version). A
/// retired answer cannot be edited (409).
#[utoipa::path(put, path = "/api/v1/answers/{id}", request_body = NewAnswer,
    params(("id" = i64, Path),
        ("If-Match" = String, Header, description = "\"<version>\" of the answer edited")),
    responses((status = 200, body = Answer, headers(("ETag" = String))),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 412, body = Problem),
        (status = 422, body = Problem), (status = 428, body = Problem)))]
pub async fn update_answer(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
    Body(body): Body,
) -> Result<Response, ApiError> {
    require_role(&actor, &EDITORS, "write library answers")?;
    let id = parse_answer_id(&id)?;
    let new: NewAnswer = parse_json(&body)?;
    let version = if_match(&headers)?;
    validate(&new, &state)?;
    match state
        .store
        .update_answer(id, version, &new, &actor, state.clock.now())
        .await?
    {
        Ok(a) => {
            let version = a.version;
            Ok(with_etag(Json(a).into_response(), version))
        }
        Err(StaleAnswer(current)) => Err(stale(&current)),
    }
}

/// Retire an answer (supervisor, admin): it is no longer offered, and an online answer naming
/// it is refused. Retiring again changes nothing.
#[utoipa::path(post, path = "/api/v1/answers/{id}/retire", params(("id" = i64, Path)),
    responses((status = 200, body = Answer), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
pub async fn retire_answer(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Json<Answer>, ApiError> {
    require_role(&actor, &EDITORS, "retire library answers")?;
    let id = parse_answer_id(&id)?;
    Ok(Json(
        state
            .store
            .retire_answer(id, &actor, state.clock.now())
            .await?,
    ))
}

/// The cases answered with any version of this answer in the last `days` days, newest first,
/// each with the version used: whom to call back after a correction.
#[utoipa::path(get, path = "/api/v1/answers/{id}/cases",
    params(("id" = i64, Path),
        ("days" = Option<i64>, Query, description = "1 to 90, default 7")),
    responses((status = 200, body = AnswerCases), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
pub async fn answer_cases(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<AnswerCases>, ApiError> {
    require_role(&actor, &FOLLOWERS, "list the cases answered with an answer")?;
    let id = parse_answer_id(&id)?;
    let params = query_params(raw, &["days"])?;
    let days: i64 =
        parse_param(&params, "days", "a number of days from 1 to 90")?.unwrap_or(DEFAULT_DAYS);
    if !(1..=wire::MAX_ANSWER_DAYS).contains(&days) {
        return Err(ApiError::bad_request(
            "days",
            format!("must be from 1 to {}", wire::MAX_ANSWER_DAYS),
        ));
    }
    let since = state.clock.now() - ChronoDuration::days(days);
    let cases = state.store.answer_cases(id, since).await?;
    Ok(Json(AnswerCases {
        answer_id: id,
        days,
        cases,
    }))
}
