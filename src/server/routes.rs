//! HTTP routes of the central request API (v1). Handlers parse and authorize; the store
//! applies the domain rules inside one transaction.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Duration as ChronoDuration;
use sha2::{Digest, Sha256};
use utoipa::OpenApi;

mod groups;

use super::AppState;
use super::cursor::{self, CursorRefusal, Position};
use super::encoded::{AcceptsGzip, Encoded};
use super::error::ApiError;
use super::store::{
    CaseFilter, FeedPage, IdempotencyKey, SnapshotPage, StoredAnswer, TokenOwner, Written,
};
use crate::domain::{Actor, CaseRecord};
use crate::report;
use crate::text_rules::{self, TextRule};
use crate::wire::{
    self, CaseAction, CaseDetail, CaseList, Changes, DETAIL_EVENTS, Department, DepartmentPatch,
    Event, EventPage, FieldError, LeftCase, Me, NewCase, NewDepartment, ParseActionError, Policy,
    Problem, Role, Status, Tier,
};

mod answers;
mod shifts;

/// Longest long poll, in seconds.
pub const MAX_WAIT_SECONDS: u64 = 30;

pub fn router(state: AppState) -> Router {
    let max_body = state.config.max_body_bytes;
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/api/v1/openapi.json", get(openapi))
        .route("/api/v1/me", get(me))
        .route("/api/v1/policy", get(policy))
        .route("/api/v1/categories", get(categories))
        .route("/api/v1/towns", get(towns))
        .route(
            "/api/v1/departments",
            get(departments).post(create_department),
        )
        .route(
            "/api/v1/departments/{id}",
            get(get_department).patch(patch_department),
        )
        .route("/api/v1/changes", get(changes))
        .route("/api/v1/cases", get(list_cases).post(create_case))
        .route("/api/v1/cases/{id}", get(get_case))
        .route("/api/v1/cases/{id}/events", get(case_events))
        .route("/api/v1/cases/{id}/{action}", post(act))
        .route("/api/v1/groups", get(groups::list_groups))
        .route("/api/v1/groups/answer", post(groups::answer_group))
        .route("/api/v1/groups/merge", post(groups::merge_group))
        .route("/api/v1/stats/hourly", get(stats_hourly))
        .route("/api/v1/reports/daily", get(report_daily))
        .merge(answers::router())
        .merge(shifts::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::extract::DefaultBodyLimit::max(max_body))
        .layer(compression())
        .with_state(state)
}

/// Gzip for answers worth it (snapshots and deltas compress about 40-fold), when the client
/// asks for it; never for a write's answer (see [`Uncompressed`]).
fn compression()
-> tower_http::compression::CompressionLayer<impl tower_http::compression::Predicate> {
    use tower_http::compression::Predicate;
    use tower_http::compression::predicate::{NotForContentType, SizeAbove};
    let unmarked =
        |_: StatusCode, _: axum::http::Version, _: &HeaderMap, ext: &axum::http::Extensions| {
            ext.get::<Uncompressed>().is_none()
        };
    // What passes through here is mostly snapshot pages, compressed per request: the fastest
    // level costs well under half the CPU of the default for about a third more bytes (a
    // deltas' shared gzip form is made once, at the default level, in `encoded`).
    tower_http::compression::CompressionLayer::new()
        .quality(tower_http::CompressionLevel::Fastest)
        .compress_when(
            SizeAbove::new(COMPRESS_ABOVE_BYTES)
                .and(NotForContentType::GRPC)
                .and(NotForContentType::IMAGES)
                .and(NotForContentType::SSE)
                .and(unmarked),
        )
}

/// Marks an answer that is sent as it is: a write's answer, one case and its new events (a few
/// KB, read once by the writer). Compressing it costs the write path more CPU than the bytes
/// save on the desk's network; the feed's deltas and snapshots carry the bulk and stay gzip.
#[derive(Debug, Clone, Copy)]
struct Uncompressed;

/// Smaller answers are sent as they are: gzip would save little and cost a round of CPU.
pub const COMPRESS_ABOVE_BYTES: u16 = 1024;

#[derive(OpenApi)]
#[openapi(
    info(title = "Jieyou central request API", version = "1"),
    paths(
        healthz, readyz, me, policy, categories, towns, departments, create_department, get_department,
        patch_department, changes, list_cases, create_case, get_case, case_events, act,
        stats_hourly, report_daily, groups::list_groups, groups::answer_group, groups::merge_group
    ),
    components(schemas(
        wire::Case, CaseDetail, EventPage, Changes, LeftCase, CaseList, NewCase, Department, NewDepartment,
        DepartmentPatch, Me, Policy, Problem, FieldError, Event, wire::TierBody,
        wire::NoteBody, wire::DispatchBody, wire::TextBody, wire::AnswerBody, wire::AnswerRef, wire::ReasonBody,
        wire::ExtensionRequestBody, wire::ExtensionDecisionBody, wire::FollowUpBody,
        wire::MergeBody, wire::Escalation, report::DailyReport, report::HourlyStats,
        crate::catalog::CategoryInfo, crate::catalog::TownInfo, wire::CaseVersion,
        wire::CaseGroup, wire::GroupList, wire::GroupAnswerBody, wire::GroupMergeBody,
        wire::GroupCaseResult, wire::GroupOutcome
    )),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        openapi.security = Some(vec![utoipa::openapi::security::SecurityRequirement::new(
            "bearer",
            Vec::<String>::new(),
        )]);
    }
}

async fn openapi() -> Response {
    static DOC: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    Json(DOC.get_or_init(openapi_document)).into_response()
}

/// The generated document, with what the derive cannot say: problems are
/// `application/problem+json`, every API operation may answer 401, the probes need no token,
/// and the bounds of parameters and request fields (what the handlers check, so that a
/// request the document allows is one the server accepts).
pub fn openapi_document() -> serde_json::Value {
    let api = ApiDoc::openapi()
        .merge_from(answers::AnswersDoc::openapi())
        .merge_from(shifts::ShiftsDoc::openapi());
    let mut doc = serde_json::to_value(api).unwrap_or_default();
    constrain_request_schemas(&mut doc);
    answers::constrain(&mut doc);
    shifts::constrain(&mut doc);
    groups::constrain_schemas(&mut doc);
    let problem = serde_json::json!({ "$ref": "#/components/schemas/Problem" });
    let Some(paths) = doc.get_mut("paths").and_then(|p| p.as_object_mut()) else {
        return doc;
    };
    for (path, item) in paths.iter_mut() {
        let Some(ops) = item.as_object_mut() else {
            continue;
        };
        for op in ops.values_mut() {
            if !path.starts_with("/api/") {
                op["security"] = serde_json::json!([]);
            }
            if let Some(responses) = op.get_mut("responses").and_then(|r| r.as_object_mut()) {
                for (status, response) in responses.iter_mut() {
                    // OpenAPI requires every response to be described; the code's reason
                    // phrase serves where the handler states nothing more.
                    if response.get("description").is_none() {
                        let reason = status
                            .parse::<u16>()
                            .ok()
                            .and_then(|s| axum::http::StatusCode::from_u16(s).ok())
                            .and_then(|s| s.canonical_reason())
                            .unwrap_or("answer");
                        response["description"] = serde_json::json!(reason);
                    }
                    let Some(content) = response.get_mut("content").and_then(|c| c.as_object_mut())
                    else {
                        continue;
                    };
                    let is_problem = content
                        .get("application/json")
                        .is_some_and(|c| c["schema"] == problem);
                    if is_problem && let Some(c) = content.remove("application/json") {
                        content.insert("application/problem+json".into(), c);
                    }
                }
                if path.starts_with("/api/v1/") && path != "/api/v1/openapi.json" {
                    for (status, description) in [
                        (
                            "400",
                            "a malformed query parameter, header or body, named in `errors`",
                        ),
                        ("401", "missing, unknown or revoked bearer token"),
                        (
                            "503",
                            "the database is full, failing or locked, or the server is at a \
                             limit or timed out; Retry-After says when to retry, with the same \
                             Idempotency-Key",
                        ),
                    ] {
                        responses.entry(status).or_insert_with(|| {
                            serde_json::json!({
                                "description": description,
                                "content": { "application/problem+json": { "schema": problem } }
                            })
                        });
                    }
                }
            }
            if let Some(params) = op.get_mut("parameters").and_then(|p| p.as_array_mut()) {
                for p in params.iter_mut() {
                    let bounds = match p["name"].as_str() {
                        Some("wait") => Some((0, MAX_WAIT_SECONDS as i64)),
                        Some("limit") if path.ends_with("/events") => Some((1, 500)),
                        Some("limit") => Some((1, 200)),
                        Some("after") => Some((0, i64::MAX)),
                        Some("id") => Some((1, i64::MAX)),
                        _ => None,
                    };
                    if let Some((min, max)) = bounds {
                        p["schema"]["minimum"] = min.into();
                        p["schema"]["maximum"] = max.into();
                    }
                    match p["name"].as_str() {
                        Some("q") => {
                            p["schema"]["maxLength"] = wire::MAX_SEARCH_CHARS.into();
                        }
                        Some("phone") => {
                            p["schema"]["pattern"] = "^[0-9]{3,20}$".into();
                        }
                        // Numbers that fit the server's 64-bit integers.
                        Some("cursor") => {
                            p["schema"]["pattern"] = "^[0-9]{1,18}$".into();
                        }
                        Some("tier") => {
                            p["schema"] = serde_json::json!({
                                "type": "string", "enum": ["blue", "orange", "red", "none"]
                            });
                        }
                        Some("status") => {
                            let one = format!("({})", Status::ALL.map(Status::as_str).join("|"));
                            p["schema"]["pattern"] = format!("^{one}(,{one})*$").into();
                        }
                        Some("reveal") => {
                            p["schema"] =
                                serde_json::json!({ "type": "string", "enum": ["phone"] });
                        }
                        // Dates and times the server reads: years 2000 to 2099.
                        Some("date") => {
                            p["schema"]["format"] = "date".into();
                            p["schema"]["pattern"] = "^20[0-9]{2}-".into();
                        }
                        Some("from" | "to") => {
                            p["schema"]["format"] = "date-time".into();
                            p["schema"]["pattern"] = "^20[0-9]{2}-".into();
                        }
                        // A name, trimmed as the server trims it (Unicode White_Space).
                        Some("requester") => {
                            p["schema"]["maxLength"] = 50.into();
                            p["schema"]["pattern"] = "[^\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]".into();
                        }
                        Some("If-Match") => {
                            p["schema"]["pattern"] = "^(W/)?\"[0-9]{1,18}\"$".into();
                        }
                        Some("Idempotency-Key") => {
                            p["schema"]["pattern"] = "^[!-~]([ -~]{0,198}[!-~])?$".into();
                        }
                        _ => {}
                    }
                    // `?date=` is the same as leaving `date` out (see `query_params`).
                    if p["in"] == "query" {
                        let schema = p["schema"].take();
                        p["schema"] = serde_json::json!({
                            "anyOf": [schema, { "type": "string", "maxLength": 0 }]
                        });
                    }
                }
            }
        }
    }
    doc
}

/// Puts the handlers' field rules into the request schemas. Lengths count characters (code
/// points, as JSON Schema does); `\\S` (some non-blank character) stands for "not blank
/// once trimmed".
fn constrain_request_schemas(doc: &mut serde_json::Value) {
    use serde_json::json;
    let text = |max: usize| text_rules::json_schema(TextRule::name(max));
    let schemas = &mut doc["components"]["schemas"];
    let new_case = &mut schemas["NewCase"]["properties"];
    new_case["category"] = json!({ "type": "string", "pattern": "^[a-z0-9_]{1,64}$" });
    new_case["title"] = text(wire::MAX_TITLE_CHARS);
    new_case["description"] =
        text_rules::json_schema(TextRule::paragraph(wire::MAX_DESCRIPTION_CHARS));
    let requester = json!({
        "type": "object",
        "required": ["name", "phone"],
        "additionalProperties": false,
        "properties": {
            "name": text(50),
            "phone": { "type": "string", "pattern": "^[0-9+-][0-9+ -]{1,18}[0-9+-]$" }
        }
    });
    let location = json!({
        "type": "object",
        "required": ["town"],
        "additionalProperties": false,
        "properties": {
            "town": text(50),
            "address": text_rules::json_schema(TextRule::line(200)),
            "lat": { "type": ["number", "null"], "minimum": -90, "maximum": 90 },
            "long": { "type": ["number", "null"], "minimum": -180, "maximum": 180 }
        }
    });
    new_case["requester"] = requester;
    new_case["location"] = location;
    schemas["NewDepartment"]["properties"]["name"] = text(100);
    let mut patch_name = text(100);
    patch_name["type"] = json!(["string", "null"]);
    schemas["DepartmentPatch"]["properties"]["name"] = patch_name;
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no such endpoint".into())
}

async fn method_not_allowed() -> Response {
    let mut p = ApiError::NotFound(String::new()).problem();
    p.status = 405;
    p.title = "Method not allowed".into();
    p.detail = "this endpoint does not take that method".into();
    super::error::problem_response(&p)
}

// ---- extractors -----------------------------------------------------------------------------

/// The signed-in user, from `Authorization: Bearer <token>` (the scheme in any case, as
/// RFC 9110 has it).
pub struct Auth(pub Actor);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| ApiError::Unauthorized("send Authorization: Bearer <token>".into()))?;
        let token = header
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ApiError::Unauthorized("send Authorization: Bearer <token>".into()))?;
        match state.store.user_by_token(token).await? {
            TokenOwner::User(u) => Ok(Auth(u.actor)),
            TokenOwner::Revoked => Err(ApiError::TokenRevoked),
            TokenOwner::Unknown => Err(ApiError::Unauthorized("unknown token".into())),
        }
    }
}

/// A request body, read whole: 413 past the limit, 415 for a non-JSON content type.
pub struct Body(pub Bytes);

impl FromRequest<AppState> for Body {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        if let Some(ct) = req.headers().get(header::CONTENT_TYPE) {
            let ct = ct.to_str().unwrap_or("");
            if !ct.starts_with("application/json") && !ct.contains("+json") {
                return Err(ApiError::Invalid {
                    status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    field: "Content-Type".into(),
                    message: format!("must be application/json, not {ct}"),
                });
            }
        }
        let within = state.config.limits.body_read_timeout();
        let Ok(read) = tokio::time::timeout(within, Bytes::from_request(req, state)).await else {
            return Err(ApiError::Service {
                status: StatusCode::REQUEST_TIMEOUT,
                kind: "body-timeout",
                title: "Request body too slow",
                detail: format!(
                    "body: not received within {} s",
                    state.config.limits.body_read_timeout_seconds
                ),
                retry_after: None,
            });
        };
        match read {
            Ok(b) => Ok(Body(b)),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(ApiError::Invalid {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                field: "body".into(),
                message: format!(
                    "the body is larger than {} bytes",
                    state.config.max_body_bytes
                ),
            }),
            Err(e) => Err(ApiError::bad_request("body", e.body_text())),
        }
    }
}

fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("body", "a JSON body is required"));
    }
    wire::from_json(body).map_err(parse_error)
}

fn parse_error(e: ParseActionError) -> ApiError {
    match e {
        ParseActionError::UnknownAction(a) => ApiError::NotFound(format!("no action named {a}")),
        ParseActionError::Body { field, message } => {
            // Syntax errors (including bad UTF-8) are 400; well-formed JSON of the wrong shape 422.
            if field == "body" {
                ApiError::bad_request(field, message)
            } else {
                ApiError::invalid(field, message)
            }
        }
    }
}

/// Query parameters, each at most once, none unknown.
fn query_params(raw: Option<String>, known: &[&str]) -> Result<HashMap<String, String>, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::bad_request("query", e.to_string()))?;
    let mut map = HashMap::new();
    // `?date=` is the same as no `date`, as forms and scripts send it.
    for (k, v) in pairs.into_iter().filter(|(_, v)| !v.is_empty()) {
        if !known.contains(&k.as_str()) {
            return Err(ApiError::bad_request(
                k.clone(),
                format!("unknown query parameter; known: {}", known.join(", ")),
            ));
        }
        if map.insert(k.clone(), v).is_some() {
            return Err(ApiError::bad_request(k, "given more than once"));
        }
    }
    Ok(map)
}

fn parse_param<T: std::str::FromStr>(
    params: &HashMap<String, String>,
    name: &str,
    what: &str,
) -> Result<Option<T>, ApiError> {
    params
        .get(name)
        .map(|v| {
            v.parse()
                .map_err(|_| ApiError::bad_request(name, format!("must be {what}, not {v:?}")))
        })
        .transpose()
}

fn idempotency_key(
    headers: &HeaderMap,
    method: &Method,
    path: &str,
    body: &[u8],
) -> Result<Option<IdempotencyKey>, ApiError> {
    let Some(v) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = v
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 200)
        .ok_or_else(|| {
            ApiError::bad_request(
                "Idempotency-Key",
                "must be 1 to 200 visible ASCII characters",
            )
        })?;
    let digest: String = Sha256::digest(body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(Some(IdempotencyKey {
        key: key.to_string(),
        request: format!("{method} {path} {digest}"),
    }))
}

/// The version named by `If-Match: "<version>"`. A weak tag (`W/"3"`) is well-formed but,
/// under RFC 9110's strong comparison, matches no version: `None`, answered with 412.
fn if_match(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let v = headers
        .get(header::IF_MATCH)
        .ok_or(ApiError::PreconditionRequired)?;
    let s = v.to_str().unwrap_or("").trim();
    let (weak, tag) = match s.strip_prefix("W/") {
        Some(t) => (true, t),
        None => (false, s),
    };
    let version = tag
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .and_then(|t| t.parse::<i64>().ok())
        .ok_or_else(|| {
            ApiError::bad_request("If-Match", format!("must be \"<version>\", not {s:?}"))
        })?;
    Ok((!weak).then_some(version))
}

fn with_etag(mut resp: Response, version: i64) -> Response {
    if let Ok(v) = HeaderValue::from_str(&format!("\"{version}\"")) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    resp
}

fn answer_response(answer: StoredAnswer, replayed: bool) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let mut resp = (status, answer.body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if replayed {
        h.insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    resp.extensions_mut().insert(Uncompressed);
    resp
}

impl AppState {
    pub fn case_detail(
        &self,
        rec: &CaseRecord,
        events: Vec<Event>,
        event_count: i64,
        reveal: bool,
    ) -> CaseDetail {
        CaseDetail {
            case: rec.to_wire(&self.config.policy, self.tz, self.clock.now(), reveal),
            events,
            event_count,
        }
    }

    /// The case with its latest events, as `GET /api/v1/cases/{id}` and a 412 show it.
    async fn current_detail(&self, rec: &CaseRecord) -> Result<CaseDetail, ApiError> {
        let (events, count) = self.store.latest_events(rec.id, DETAIL_EVENTS).await?;
        Ok(self.case_detail(rec, events, count, false))
    }

    /// An action's answer: the case and the events the action recorded. It may run on the
    /// store's writer task, so it owns what it needs.
    fn render(
        &self,
        status: StatusCode,
    ) -> impl FnOnce(&CaseRecord, &[Event], i64) -> StoredAnswer + Send + 'static {
        let state = self.clone();
        move |rec, events, count| StoredAnswer {
            status: status.as_u16(),
            body: serde_json::to_vec(&state.case_detail(rec, events.to_vec(), count, false))
                .unwrap_or_default(),
        }
    }

    fn now_wire(&self) -> wire::Timestamp {
        self.clock.now().with_timezone(&self.tz).fixed_offset()
    }
}

// ---- handlers -------------------------------------------------------------------------------

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "alive")))]
async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: writes work. 503, with the store fault as the problem's type and a Retry-After,
/// while the database is full, failing, or locked by another process.
#[utoipa::path(get, path = "/readyz", responses(
    (status = 200, description = "ready"),
    (status = 503, body = Problem, content_type = "application/problem+json")))]
async fn readyz(State(state): State<AppState>) -> Response {
    let within = state.config.limits.readiness_timeout();
    let Err(e) = state.store.probe_writes(within).await else {
        return "ready".into_response();
    };
    tracing::warn!(error = %e, "not ready");
    match e.fault() {
        Some(fault) => {
            let (kind, title, what) = super::error::fault_problem(fault);
            ApiError::Service {
                status: StatusCode::SERVICE_UNAVAILABLE,
                kind,
                title,
                detail: format!("not ready: {what}; writes would be refused"),
                retry_after: Some(fault.retry_after_seconds()),
            }
        }
        None => ApiError::Service {
            status: StatusCode::SERVICE_UNAVAILABLE,
            kind: "not-ready",
            title: "Not ready",
            detail: "the database does not answer".into(),
            retry_after: Some(5),
        },
    }
    .into_response()
}

#[utoipa::path(get, path = "/api/v1/me", responses((status = 200, body = Me)))]
async fn me(State(state): State<AppState>, Auth(actor): Auth) -> Json<Me> {
    Json(Me {
        name: actor.name,
        role: actor.role,
        department_id: actor.department_id,
        desk_name: state.config.desk_name.clone(),
        time_zone: state.config.policy.time_zone.clone(),
    })
}

#[utoipa::path(get, path = "/api/v1/policy", responses((status = 200, body = Policy)))]
async fn policy(State(state): State<AppState>, Auth(_): Auth) -> Json<Policy> {
    Json(state.config.policy.clone())
}

/// The request categories a new case may name, with their Chinese and English labels.
#[utoipa::path(get, path = "/api/v1/categories",
    responses((status = 200, body = [crate::catalog::CategoryInfo])))]
async fn categories(
    State(state): State<AppState>,
    Auth(_): Auth,
) -> Json<Vec<crate::catalog::CategoryInfo>> {
    Json(state.config.catalog.categories.clone())
}

/// The towns a new case may name in `location.town`.
#[utoipa::path(get, path = "/api/v1/towns",
    responses((status = 200, body = [crate::catalog::TownInfo])))]
async fn towns(
    State(state): State<AppState>,
    Auth(_): Auth,
) -> Json<Vec<crate::catalog::TownInfo>> {
    Json(state.config.catalog.towns.clone())
}

#[utoipa::path(get, path = "/api/v1/departments", responses((status = 200, body = [Department])))]
async fn departments(
    State(state): State<AppState>,
    Auth(_): Auth,
) -> Result<Json<Vec<Department>>, ApiError> {
    let mut all = state.store.departments().await?;
    state.store.with_duty(&mut all, state.clock.now()).await?;
    Ok(Json(all))
}

fn require_role(actor: &Actor, roles: &[Role], what: &str) -> Result<(), ApiError> {
    if roles.contains(&actor.role) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "role {} may not {what}",
            actor.role.as_str()
        )))
    }
}

#[utoipa::path(post, path = "/api/v1/departments", request_body = NewDepartment,
    responses((status = 201, body = Department, headers(("ETag" = String))),
        (status = 403, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
async fn create_department(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Body(body): Body,
) -> Result<Response, ApiError> {
    require_role(&actor, &[Role::Admin], "create departments")?;
    let new: NewDepartment = parse_json(&body)?;
    let d = state.store.add_department(&new.name, new.kind).await?;
    let version = d.version;
    Ok(with_etag(
        (StatusCode::CREATED, Json(d)).into_response(),
        version,
    ))
}

fn parse_department_id(id: &str) -> Result<i64, ApiError> {
    id.parse()
        .map_err(|_| ApiError::NotFound(format!("no department {id:?}")))
}

/// One department; `ETag: "<version>"` for `If-Match` on a change.
#[utoipa::path(get, path = "/api/v1/departments/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = Department, headers(("ETag" = String))),
        (status = 404, body = Problem)))]
async fn get_department(
    State(state): State<AppState>,
    Auth(_): Auth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let mut d = [state.store.department(parse_department_id(&id)?).await?];
    state.store.with_duty(&mut d, state.clock.now()).await?;
    let [d] = d;
    let version = d.version;
    Ok(with_etag(Json(d).into_response(), version))
}

/// Change a department (admin). Requires `If-Match: "<version>"` (428 without it); a stale
/// version is 412 with the department as it is now in `current_department`.
#[utoipa::path(patch, path = "/api/v1/departments/{id}", request_body = DepartmentPatch,
    params(("id" = i64, Path),
        ("If-Match" = String, Header, description = "\"<version>\" of the department changed")),
    responses((status = 200, body = Department, headers(("ETag" = String))),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 412, body = Problem),
        (status = 422, body = Problem), (status = 428, body = Problem)))]
async fn patch_department(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
    Body(body): Body,
) -> Result<Response, ApiError> {
    require_role(&actor, &[Role::Admin], "change departments")?;
    let id = parse_department_id(&id)?;
    let patch: DepartmentPatch = parse_json(&body)?;
    let version = if_match(&headers)?;
    let now = state.clock.now();
    let mut d = match state.store.patch_department(id, version, &patch).await {
        Err(super::store::StoreError::StaleDepartment(mut current)) => {
            state
                .store
                .with_duty(std::slice::from_mut(&mut *current), now)
                .await?;
            return Err(ApiError::StaleDepartment(current));
        }
        changed => [changed?],
    };
    state.store.with_duty(&mut d, now).await?;
    let [d] = d;
    let version = d.version;
    Ok(with_etag(Json(d).into_response(), version))
}

/// How soon a long poll reads the feed again when its head moved but the read found nothing.
const EMPTY_READ_AGAIN: Duration = Duration::from_millis(100);

/// The change feed: a snapshot without `since`; with it, every case changed after the cursor,
/// and for a department a tombstone (`left`) for each case that left it. A snapshot comes in
/// pages of `feed_page` cases by id: the first has `snapshot: true`, the following ones (asked
/// for at once with the cursor of a page with `more: true`) `snapshot: false`, and the last
/// page's cursor continues as an ordinary delta, which brings every change made while paging.
/// A cursor this database did not issue (another database, a restore, an old format) or one
/// ahead of its latest change is answered 410 `cursor-reset` at once: take a new snapshot.
#[utoipa::path(get, path = "/api/v1/changes",
    params(
        ("since" = Option<String>, Query, description = "opaque cursor of the previous answer"),
        ("wait" = Option<u64>, Query, description = "seconds (≤ 30) to hold the request until something changes")),
    responses(
        (status = 200, body = Changes),
        (status = 400, body = Problem),
        (status = 410, body = Problem, description = "type `https://jieyou.invalid/problems/cursor-reset`: \
            the cursor is not this database's (issued by another database, or before a restore, \
            or in an older format) or is ahead of its latest change. Answered at once, whatever \
            `wait`. Discard the cursor and take a new snapshot (no `since`).")))]
async fn changes(
    State(state): State<AppState>,
    Auth(actor): Auth,
    RawQuery(raw): RawQuery,
    AcceptsGzip(gzip): AcceptsGzip,
) -> Result<Response, ApiError> {
    let params = query_params(raw, &["since", "wait"])?;
    let wait: u64 = parse_param(&params, "wait", "a number of seconds")?.unwrap_or(0);
    if wait > MAX_WAIT_SECONDS {
        return Err(ApiError::bad_request(
            "wait",
            format!("must be at most {MAX_WAIT_SECONDS} seconds"),
        ));
    }
    let dept = (actor.role == Role::Department).then_some(actor.department_id.unwrap_or(-1));
    let closed_after = || state.clock.now() - ChronoDuration::hours(24);
    let page_size = state.config.feed_page;
    let Some(since) = params.get("since") else {
        let page = state
            .store
            .snapshot_page(None, 0, closed_after(), dept, page_size)
            .await?;
        return Ok(state.snapshot_answer(page, true));
    };
    let refused = |r: CursorRefusal| ApiError::CursorReset(r.to_string());
    let position = cursor::decode(state.store.database_id(), since).map_err(refused)?;
    let head = state.feed.head_at_least(position.seq()).await?;
    if position.seq() > head {
        return Err(refused(CursorRefusal::Ahead {
            seq: position.seq(),
            head,
        }));
    }
    let since = match position {
        // The rest of a snapshot: answered at once, whatever `wait`.
        Position::Snapshot { head, after } => {
            let page = state
                .store
                .snapshot_page(Some(head), after, closed_after(), dept, page_size)
                .await?;
            return Ok(state.snapshot_answer(page, false));
        }
        Position::Feed(since) => since,
    };
    let _long_poll = (wait > 0)
        .then(|| {
            state
                .long_polls
                .enter(&actor.name, state.config.limits.max_long_polls_per_user)
        })
        .transpose()?;
    // The head of this reader's own feed: a department's moves only with its cases.
    let mut feed = state.feed.subscribe(dept);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(wait);
    loop {
        // Read the head before querying: the query then sees every change up to it, and any
        // later change moves the head past it and wakes us.
        let observed = state.feed.head_for(*feed.borrow_and_update());
        // The head moved but the read found nothing: read again soon rather than wait for a
        // move that has already happened.
        let mut read_again = false;
        if observed > since {
            let second = state.clock.now().timestamp();
            let answer = state
                .feed
                .answer(dept, since, observed, second, || async {
                    let page = state.store.changes_since(since, page_size, dept).await?;
                    Ok((!page.cases.is_empty() || !page.left.is_empty()).then(|| {
                        Arc::new(Encoded::new(json_bytes(&state.changes_answer(page, false))))
                    }))
                })
                .await?;
            if let Some(body) = answer {
                return Ok(body.response_for(gzip));
            }
            read_again = true;
        }
        if wait == 0 {
            break;
        }
        tokio::select! {
            r = feed.changed() => {
                if r.is_err() { break; }
                state.feed.woke();
            }
            () = tokio::time::sleep(EMPTY_READ_AGAIN), if read_again => {}
            () = tokio::time::sleep_until(deadline) => break,
            () = state.shutdown.cancelled() => break,
        }
    }
    let empty = FeedPage {
        cases: vec![],
        left: vec![],
        cursor: since,
        more: false,
    };
    Ok(json_response(json_bytes(
        &state.changes_answer(empty, false),
    )))
}

fn json_bytes<T: serde::Serialize>(value: &T) -> Bytes {
    Bytes::from(serde_json::to_vec(value).unwrap_or_default())
}

fn json_response(body: Bytes) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

impl AppState {
    fn changes_answer(&self, page: FeedPage, snapshot: bool) -> Changes {
        let now = self.clock.now();
        Changes {
            cursor: cursor::encode(self.store.database_id(), page.cursor),
            server_time: now.with_timezone(&self.tz).fixed_offset(),
            snapshot,
            cases: page
                .cases
                .iter()
                .map(|r| r.to_wire(&self.config.policy, self.tz, now, false))
                .collect(),
            left: page.left.into_iter().map(|id| LeftCase { id }).collect(),
            more: page.more,
        }
    }

    /// A page of a snapshot: while more follow, its cursor names the snapshot's head and the
    /// last case sent; the last page's is a plain feed cursor at the head, so every change made
    /// while the client paged comes next as an ordinary delta.
    fn snapshot_answer(&self, page: SnapshotPage, first: bool) -> Response {
        let db = self.store.database_id();
        let cursor = match page.cases.last() {
            Some(last) if page.more => cursor::encode_snapshot(db, page.head, last.id),
            _ => cursor::encode(db, page.head),
        };
        let mut answer = self.changes_answer(
            FeedPage {
                cases: page.cases,
                left: vec![],
                cursor: page.head,
                more: page.more,
            },
            first,
        );
        answer.cursor = cursor;
        json_response(json_bytes(&answer))
    }
}

/// Search and list, newest first.
#[utoipa::path(get, path = "/api/v1/cases",
    params(
        ("status" = Option<String>, Query, description = "comma-separated statuses"),
        ("tier" = Option<String>, Query, description = "blue, orange, red or none"),
        ("department" = Option<i64>, Query),
        ("overdue" = Option<bool>, Query),
        ("q" = Option<String>, Query, description = "text in ref, title, description, town, requester; matched literally (% and _ are not wildcards); at most 200 characters"),
        ("phone" = Option<String>, Query, description = "the requester's phone, digits only, matched exactly (intake, operator, supervisor)"),
        ("requester" = Option<String>, Query, description = "text in the requester's name (intake, operator, supervisor)"),
        ("cursor" = Option<String>, Query),
        ("limit" = Option<u32>, Query, description = "1 to 200, default 50")),
    responses((status = 200, body = CaseList), (status = 400, body = Problem),
        (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn list_cases(
    State(state): State<AppState>,
    Auth(actor): Auth,
    RawQuery(raw): RawQuery,
) -> Result<Json<CaseList>, ApiError> {
    let params = query_params(
        raw,
        &[
            "status",
            "tier",
            "department",
            "overdue",
            "q",
            "phone",
            "requester",
            "cursor",
            "limit",
        ],
    )?;
    let (phone, requester) = caller_params(&actor, &params)?;
    let mut statuses = vec![];
    if let Some(s) = params.get("status") {
        for part in s.split(',').filter(|p| !p.is_empty()) {
            statuses.push(Status::parse(part).ok_or_else(|| {
                ApiError::bad_request("status", format!("no status named {part:?}"))
            })?);
        }
    }
    let tier = match params.get("tier").map(String::as_str) {
        None => None,
        Some("none") => Some(None),
        Some(t) => Some(Some(
            serde_json::from_value::<Tier>(serde_json::json!(t))
                .map_err(|_| ApiError::bad_request("tier", "must be blue, orange, red or none"))?,
        )),
    };
    let limit: i64 = parse_param(&params, "limit", "a number from 1 to 200")?.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::bad_request("limit", "must be from 1 to 200"));
    }
    let overdue: Option<bool> = parse_param(&params, "overdue", "true or false")?;
    if let Some(q) = params.get("q")
        && q.chars().count() > wire::MAX_SEARCH_CHARS
    {
        return Err(ApiError::invalid(
            "q",
            format!("must be at most {} characters", wire::MAX_SEARCH_CHARS),
        ));
    }
    let mut department_id: Option<i64> = parse_param(&params, "department", "a department id")?;
    if actor.role == Role::Department {
        department_id = Some(actor.department_id.unwrap_or(-1));
    }
    let now = state.clock.now();
    let filter = CaseFilter {
        statuses,
        tier,
        department_id,
        q: params.get("q").cloned(),
        phone,
        requester,
        before_id: parse_param(&params, "cursor", "a cursor from a previous answer")?,
        limit,
        overdue_at: overdue.map(|o| (o, now)),
    };
    let page = state.store.search(&filter).await?;
    let next_cursor = (page.len() as i64 == limit)
        .then(|| page.last().map(|r| r.id.to_string()))
        .flatten();
    Ok(Json(CaseList {
        cases: page
            .iter()
            .map(|rec| rec.to_wire(&state.config.policy, state.tz, now, false))
            .collect(),
        next_cursor,
        server_time: state.now_wire(),
    }))
}

/// `phone=` and `requester=`: a caller's earlier cases, for the desk staff who take calls and
/// work cases. Departments and observers find cases by other means, not by who called.
fn caller_params(
    actor: &Actor,
    params: &HashMap<String, String>,
) -> Result<(Option<String>, Option<String>), ApiError> {
    let phone = params.get("phone");
    let requester = params.get("requester");
    if phone.is_none() && requester.is_none() {
        return Ok((None, None));
    }
    require_role(
        actor,
        &[Role::Intake, Role::Operator, Role::Supervisor],
        "look cases up by caller",
    )?;
    if let Some(p) = phone
        && !((3..=20).contains(&p.len()) && p.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(ApiError::bad_request("phone", "must be 3 to 20 digits"));
    }
    let requester = match requester.map(|r| r.trim()) {
        Some(r) if !(1..=50).contains(&r.chars().count()) => {
            return Err(ApiError::bad_request(
                "requester",
                "must be 1 to 50 characters",
            ));
        }
        r => r.map(str::to_string),
    };
    Ok((phone.cloned(), requester))
}

/// A new case names a category and a town of the desk's catalog, not free text.
fn check_catalog(new: &NewCase, catalog: &crate::catalog::Catalog) -> Result<(), ApiError> {
    let mut errors = vec![];
    if catalog.category(&new.category).is_none() {
        errors.push(FieldError {
            field: "category".into(),
            message: format!("no category {:?}: see GET /api/v1/categories", new.category),
        });
    }
    if catalog.town(new.location.town.trim()).is_none() {
        errors.push(FieldError {
            field: "location.town".into(),
            message: format!("no town {:?}: see GET /api/v1/towns", new.location.town),
        });
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(errors))
    }
}

fn validate_new_case(new: &NewCase) -> Result<(), ApiError> {
    let mut errors = vec![];
    let mut check = |field: &str, ok: bool, message: &str| {
        if !ok {
            errors.push(FieldError {
                field: field.into(),
                message: message.into(),
            });
        }
    };
    check(
        "category",
        !new.category.is_empty()
            && new.category.len() <= 64
            && new
                .category
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
        "must be 1 to 64 characters of a-z, 0-9 and _",
    );
    for (field, text, rule) in [
        ("title", &new.title, TextRule::name(wire::MAX_TITLE_CHARS)),
        (
            "description",
            &new.description,
            TextRule::paragraph(wire::MAX_DESCRIPTION_CHARS),
        ),
        ("requester.name", &new.requester.name, TextRule::name(50)),
        ("location.town", &new.location.town, TextRule::name(50)),
        (
            "location.address",
            &new.location.address,
            TextRule::line(200),
        ),
    ] {
        // Stored trimmed: the length that counts is the trimmed one.
        if let Err(message) = text_rules::check(text.trim(), rule) {
            check(field, false, &message);
        }
    }
    let phone = new.requester.phone.trim();
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    check(
        "requester.phone",
        (3..=20).contains(&digits)
            && phone.chars().count() <= 30
            && phone
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' ')),
        "must be 3 to 20 digits (+, - and spaces allowed)",
    );
    check(
        "location.lat",
        new.location.lat.is_none_or(|v| (-90.0..=90.0).contains(&v)),
        "must be between -90 and 90",
    );
    check(
        "location.long",
        new.location
            .long
            .is_none_or(|v| (-180.0..=180.0).contains(&v)),
        "must be between -180 and 180",
    );
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// Create a case (hotline intake, web, …). Answers 201 with the case and its first event
/// (`events` holds that one event).
#[utoipa::path(post, path = "/api/v1/cases", request_body = NewCase,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = CaseDetail), (status = 422, body = Problem)))]
async fn create_case(
    State(state): State<AppState>,
    Auth(actor): Auth,
    method: Method,
    headers: HeaderMap,
    Body(body): Body,
) -> Result<Response, ApiError> {
    if !crate::domain::may_create(actor.role) {
        return Err(ApiError::Forbidden(format!(
            "role {} may not create cases",
            actor.role.as_str()
        )));
    }
    let key = idempotency_key(&headers, &method, "/api/v1/cases", &body)?;
    let new: NewCase = parse_json(&body)?;
    validate_new_case(&new)?;
    check_catalog(&new, &state.config.catalog)?;
    let now = state.clock.now();
    let written = state
        .store
        .create_case(
            &new,
            &actor,
            now,
            key.as_ref(),
            state.render(StatusCode::CREATED),
        )
        .await?;
    Ok(match written {
        Written::Fresh(_, answer) => answer_response(answer, false),
        Written::Replayed(answer) => answer_response(answer, true),
    })
}

fn parse_id(id: &str) -> Result<i64, ApiError> {
    id.parse()
        .map_err(|_| ApiError::NotFound(format!("no case {id:?}")))
}

/// A case with the latest 50 events of its timeline (oldest first) and `event_count`; the
/// whole timeline is paged at `/api/v1/cases/{id}/events`. `reveal=phone` unmasks the
/// requester's phone (operator, supervisor, the holding department) and leaves a
/// `phone-revealed` entry in the timeline.
#[utoipa::path(get, path = "/api/v1/cases/{id}",
    params(("id" = i64, Path), ("reveal" = Option<String>, Query, description = "phone")),
    responses((status = 200, body = CaseDetail, headers(("ETag" = String))),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn get_case(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let params = query_params(raw, &["reveal"])?;
    let reveal = match params.get("reveal").map(String::as_str) {
        None => false,
        Some("phone") => true,
        Some(_) => return Err(ApiError::bad_request("reveal", "must be phone")),
    };
    // Only those who call requesters back: the desk and the department holding the case
    // (a department sees no other department's cases at all).
    if reveal
        && !matches!(
            actor.role,
            Role::Operator | Role::Supervisor | Role::Department
        )
    {
        return Err(ApiError::Forbidden(format!(
            "role {} may not see requesters' phone numbers",
            actor.role.as_str()
        )));
    }
    let rec = state.store.case(id).await?;
    if !actor.can_see(&rec) {
        // Not "forbidden": a department must not learn which other cases exist.
        return Err(ApiError::NotFound(format!("no case {id}")));
    }
    if reveal {
        state
            .store
            .record_phone_reveal(id, &actor, state.clock.now())
            .await?;
        tracing::info!(case = rec.reference, user = actor.name, "phone revealed");
    }
    let (events, count) = state.store.latest_events(id, DETAIL_EVENTS).await?;
    let detail = state.case_detail(&rec, events, count, reveal);
    Ok(with_etag(Json(detail).into_response(), rec.version))
}

/// Most events in one page of `/api/v1/cases/{id}/events`.
const MAX_EVENT_PAGE: i64 = 500;

/// The case's timeline, oldest first, a page at a time: pass the previous page's
/// `next_after` as `after`. Visible to whoever may see the case.
#[utoipa::path(get, path = "/api/v1/cases/{id}/events",
    params(("id" = i64, Path),
        ("after" = Option<i64>, Query, description = "an event id: only events after it"),
        ("limit" = Option<u32>, Query, description = "1 to 500, default 100")),
    responses((status = 200, body = EventPage), (status = 404, body = Problem)))]
async fn case_events(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<EventPage>, ApiError> {
    let id = parse_id(&id)?;
    let params = query_params(raw, &["after", "limit"])?;
    let after: i64 = parse_param(&params, "after", "an event id")?.unwrap_or(0);
    if after < 0 {
        return Err(ApiError::bad_request("after", "must not be negative"));
    }
    let limit: i64 = parse_param(&params, "limit", "a number from 1 to 500")?.unwrap_or(100);
    if !(1..=MAX_EVENT_PAGE).contains(&limit) {
        return Err(ApiError::bad_request(
            "limit",
            format!("must be from 1 to {MAX_EVENT_PAGE}"),
        ));
    }
    let rec = state.store.case(id).await?;
    if !actor.can_see(&rec) {
        return Err(ApiError::NotFound(format!("no case {id}")));
    }
    let (events, more) = state.store.events_page(id, after, limit).await?;
    let next_after = if more {
        events.last().map(|e| e.id)
    } else {
        None
    };
    Ok(Json(EventPage { events, next_after }))
}

/// Act on a case: `triage`, `retier`, `claim`, `release`, `dispatch`, `sign-for`, `progress`,
/// `resolve`, `answer-online`, `return`, `request-extension`, `decide-extension`, `urge`,
/// `follow-up`, `close`, `reopen`, `note`, `merge`.
#[utoipa::path(post, path = "/api/v1/cases/{id}/{action}",
    params(("id" = i64, Path), ("action" = String, Path),
        ("If-Match" = String, Header, description = "\"<version>\" of the case acted on"),
        ("Idempotency-Key" = Option<String>, Header)),
    request_body(content = Object, description = "the action's body, e.g. {\"tier\": \"red\"}"),
    responses(
        (status = 200, body = CaseDetail,
            description = "the case and the events this action recorded (not the whole timeline)"),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 412, body = Problem),
        (status = 422, body = Problem), (status = 428, body = Problem)))]
async fn act(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path((id, action)): Path<(String, String)>,
    method: Method,
    headers: HeaderMap,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let action_name = action;
    let body_or_empty: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        &body
    };
    let action = CaseAction::parse(&action_name, body_or_empty).map_err(parse_error)?;
    // The body is judged before the version: a weak tag is answered below, without the store.
    crate::domain::check_fields(&action)?;
    let version = if_match(&headers)?;
    let key = idempotency_key(
        &headers,
        &method,
        &format!("/api/v1/cases/{id}/{action_name}"),
        &body,
    )?;
    let Some(version) = version else {
        // A weak tag matches no version (strong comparison): 412 with the case as it is.
        let rec = state.store.case(id).await?;
        if !actor.can_see(&rec) {
            return Err(ApiError::NotFound(format!("no case {id}")));
        }
        return Err(ApiError::Stale(Box::new(state.current_detail(&rec).await?)));
    };
    let now = state.clock.now();
    let result = state
        .store
        .act(
            id,
            Some(version),
            &action,
            &actor,
            now,
            key.as_ref(),
            state.render(StatusCode::OK),
        )
        .await;
    match result {
        Ok(Written::Fresh(_, answer)) => Ok(answer_response(answer, false)),
        Ok(Written::Replayed(answer)) => Ok(answer_response(answer, true)),
        Err(super::store::StoreError::Stale(rec)) => {
            Err(ApiError::Stale(Box::new(state.current_detail(&rec).await?)))
        }
        Err(e) => Err(e.into()),
    }
}

const REPORT_READERS: [Role; 4] = [
    Role::Operator,
    Role::Supervisor,
    Role::Observer,
    Role::Admin,
];

fn parse_time(
    params: &HashMap<String, String>,
    name: &str,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, ApiError> {
    let Some(v) = params.get(name) else {
        return Ok(None);
    };
    let t = chrono::DateTime::parse_from_rfc3339(v)
        .map_err(|_| ApiError::bad_request(name, format!("must be an RFC 3339 time, not {v:?}")))?;
    in_query_years(name, t.date_naive())?;
    Ok(Some(t.with_timezone(&chrono::Utc)))
}

/// Dates and times far outside a desk's life would overflow the day and hour arithmetic of
/// reports; they are refused by name.
fn in_query_years(name: &str, date: chrono::NaiveDate) -> Result<(), ApiError> {
    use chrono::Datelike;
    if wire::QUERY_YEARS.contains(&date.year()) {
        Ok(())
    } else {
        Err(ApiError::invalid(
            name,
            format!(
                "must be in the years {} to {}",
                wire::QUERY_YEARS.start(),
                wire::QUERY_YEARS.end()
            ),
        ))
    }
}

/// Counts per hour of the desk's zone: received, answered online, dispatched, resolved, closed.
#[utoipa::path(get, path = "/api/v1/stats/hourly",
    params(
        ("from" = Option<String>, Query, description = "RFC 3339, years 2000 to 2099; default 24 h before `to`"),
        ("to" = Option<String>, Query, description = "RFC 3339, years 2000 to 2099; default now")),
    responses((status = 200, body = report::HourlyStats), (status = 400, body = Problem),
        (status = 422, body = Problem)))]
async fn stats_hourly(
    State(state): State<AppState>,
    Auth(actor): Auth,
    RawQuery(raw): RawQuery,
) -> Result<Json<report::HourlyStats>, ApiError> {
    require_role(&actor, &REPORT_READERS, "read statistics")?;
    let params = query_params(raw, &["from", "to"])?;
    let to = parse_time(&params, "to")?.unwrap_or_else(|| state.clock.now());
    let from = parse_time(&params, "from")?.unwrap_or(to - ChronoDuration::hours(24));
    if from >= to {
        return Err(ApiError::bad_request("from", "must be before to"));
    }
    if to - from > ChronoDuration::days(31) {
        return Err(ApiError::bad_request("from", "at most 31 days at a time"));
    }
    let events = state.store.events_between(from, to).await?;
    Ok(Json(report::hourly(&events, from, to, state.tz)))
}

/// The daily work report for a local date of the desk (default: today). JSON, or CSV with
/// `Accept: text/csv`, or Markdown with `Accept: text/markdown`.
#[utoipa::path(get, path = "/api/v1/reports/daily",
    params(("date" = Option<String>, Query, description = "YYYY-MM-DD in the desk's zone, years 2000 to 2099")),
    responses(
        (status = 200, content(
            (report::DailyReport = "application/json"),
            (String = "text/csv"),
            (String = "text/markdown"))),
        (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem)))]
async fn report_daily(
    State(state): State<AppState>,
    Auth(actor): Auth,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    require_role(&actor, &REPORT_READERS, "read reports")?;
    let params = query_params(raw, &["date"])?;
    let date = match params.get("date") {
        Some(d) => chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map_err(|_| ApiError::bad_request("date", format!("must be YYYY-MM-DD, not {d:?}")))?,
        None => state.clock.now().with_timezone(&state.tz).date_naive(),
    };
    in_query_years("date", date)?;
    let (from, to) = report::day_bounds(date, state.tz);
    let events = state.store.events_between(from, to).await?;
    let names = state
        .store
        .departments()
        .await?
        .into_iter()
        .map(|d| (d.id, d.name))
        .collect();
    let r = report::daily(&state.config.desk_name, date, state.tz, &events, &names);
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let text = |ctype: &'static str, body: String| {
        let mut resp = body.into_response();
        resp.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
        resp
    };
    Ok(if accept.contains("text/csv") {
        text("text/csv; charset=utf-8", r.to_csv())
    } else if accept.contains("text/markdown") {
        text("text/markdown; charset=utf-8", r.to_markdown())
    } else {
        Json(r).into_response()
    })
}

/// Calls `f` on every parameter of the OpenAPI document's operations whose path starts with
/// one of `prefixes`: where a route module states bounds utoipa cannot derive.
fn each_parameter(
    doc: &mut serde_json::Value,
    prefixes: &[&str],
    mut f: impl FnMut(&mut serde_json::Value),
) {
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        if !prefixes.iter().any(|p| path.starts_with(p)) {
            continue;
        }
        let Some(ops) = item.as_object_mut() else {
            continue;
        };
        for op in ops.values_mut() {
            if let Some(params) = op.get_mut("parameters").and_then(|p| p.as_array_mut()) {
                params.iter_mut().for_each(&mut f);
            }
        }
    }
}
