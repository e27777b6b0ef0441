//! Every error answer is `application/problem+json` (RFC 9457), naming the field or the rule.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::domain::Refusal;
use crate::server::store::StoreError;
use crate::server::writer::StoreFault;
use crate::wire::{CaseDetail, Department, FieldError, Problem};

#[derive(Debug)]
pub enum ApiError {
    /// 400/413/415/422 with the offending field.
    Invalid {
        status: StatusCode,
        field: String,
        message: String,
    },
    /// 422 with every field that failed.
    Validation(Vec<FieldError>),
    Unauthorized(String),
    /// 401: the token was revoked or replaced by a newer one.
    TokenRevoked,
    Forbidden(String),
    NotFound(String),
    Conflict(String),
    PreconditionRequired,
    Stale(Box<CaseDetail>),
    /// 410: the feed cannot continue from this cursor; take a new snapshot.
    CursorReset(String),
    StaleDepartment(Box<Department>),
    Internal(String),
    /// The server could not take the request now — the store failed, a limit was reached, the
    /// client was too slow — with its own problem type; `retry_after` seconds go in
    /// Retry-After.
    Service {
        status: StatusCode,
        kind: &'static str,
        title: &'static str,
        detail: String,
        retry_after: Option<u64>,
    },
}

impl ApiError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Invalid {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            field: field.into(),
            message: message.into(),
        }
    }
    pub fn bad_request(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Invalid {
            status: StatusCode::BAD_REQUEST,
            field: field.into(),
            message: message.into(),
        }
    }

    /// 503 with Retry-After: a write the store could not make, not applied.
    pub fn store_fault(fault: StoreFault, cause: &str) -> Self {
        tracing::warn!(error = %cause, ?fault, "store fault");
        crate::server::metrics::count_store_fault(fault);
        let (kind, title, what) = fault_problem(fault);
        ApiError::Service {
            status: StatusCode::SERVICE_UNAVAILABLE,
            kind,
            title,
            detail: format!("{what}; the request was not applied"),
            retry_after: Some(fault.retry_after_seconds()),
        }
    }

    fn retry_after(&self) -> Option<u64> {
        match self {
            ApiError::Service { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            ApiError::Invalid { status, .. } => *status,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unauthorized(_) | ApiError::TokenRevoked => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
            ApiError::Stale(_) | ApiError::StaleDepartment(_) => StatusCode::PRECONDITION_FAILED,
            ApiError::CursorReset(_) => StatusCode::GONE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Service { status, .. } => *status,
        }
    }

    pub fn problem(self) -> Problem {
        let status = self.status();
        let mut current_department = None;
        let (kind, title, detail, errors, current) = match self {
            ApiError::Invalid { field, message, .. } => (
                "validation",
                "Invalid request",
                format!("{field}: {message}"),
                vec![FieldError { field, message }],
                None,
            ),
            ApiError::Validation(errors) => (
                "validation",
                "Invalid request",
                errors
                    .iter()
                    .map(|e| format!("{}: {}", e.field, e.message))
                    .collect::<Vec<_>>()
                    .join("; "),
                errors,
                None,
            ),
            ApiError::Unauthorized(d) => ("unauthorized", "Not signed in", d, vec![], None),
            ApiError::TokenRevoked => (
                "token-revoked",
                "Token revoked",
                "this token was revoked or replaced by a newer one; ask an administrator for a new one"
                    .into(),
                vec![],
                None,
            ),
            ApiError::Forbidden(d) => ("forbidden", "Not allowed for your role", d, vec![], None),
            ApiError::NotFound(d) => ("not-found", "Not found", d, vec![], None),
            ApiError::Conflict(d) => (
                "state-conflict",
                "Not allowed in this state",
                d,
                vec![],
                None,
            ),
            ApiError::PreconditionRequired => (
                "if-match-required",
                "If-Match required",
                "send If-Match: \"<version>\" with the version of what you are changing (its ETag)"
                    .into(),
                vec![FieldError {
                    field: "If-Match".into(),
                    message: "header is required".into(),
                }],
                None,
            ),
            ApiError::Stale(current) => (
                "stale-version",
                "The case has changed",
                format!(
                    "the case is now at version {}; review the change and try again",
                    current.case.version
                ),
                vec![],
                Some(current),
            ),
            ApiError::CursorReset(d) => (
                "cursor-reset",
                "Take a new snapshot",
                format!("{d}; ask again without `since` and replace everything held"),
                vec![FieldError {
                    field: "since".into(),
                    message: d,
                }],
                None,
            ),
            ApiError::StaleDepartment(d) => {
                let detail = format!(
                    "the department is now at version {}; review the change and try again",
                    d.version
                );
                current_department = Some(*d);
                (
                    "stale-version",
                    "The department has changed",
                    detail,
                    vec![],
                    None,
                )
            }
            ApiError::Internal(d) => {
                tracing::error!(error = %d, "internal error");
                (
                    "internal",
                    "Internal error",
                    "the server failed; the request was not applied".into(),
                    vec![],
                    None,
                )
            }
            ApiError::Service {
                kind,
                title,
                detail,
                ..
            } => (kind, title, detail, vec![], None),
        };
        Problem {
            kind: format!("{}{kind}", crate::wire::PROBLEM_TYPE_BASE),
            title: title.into(),
            status: status.as_u16(),
            detail,
            errors,
            current,
            current_department,
        }
    }
}

/// The problem type, title and plain account of a store fault.
pub fn fault_problem(fault: StoreFault) -> (&'static str, &'static str, &'static str) {
    match fault {
        StoreFault::Full => (
            "storage-full",
            "Storage is full",
            "the database has no room to grow",
        ),
        StoreFault::Io => (
            "storage-failed",
            "Storage failed",
            "the database could not be read or written",
        ),
        StoreFault::Busy => (
            "database-busy",
            "Database busy",
            "the database is locked, by another process or a long write",
        ),
    }
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::Forbidden(d) => ApiError::Forbidden(d),
            Refusal::Conflict(d) => ApiError::Conflict(d),
            Refusal::Invalid { field, message } => ApiError::invalid(field, message),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => ApiError::NotFound(format!("no {what}")),
            StoreError::Refused(r) => r.into(),
            StoreError::Duplicate(d) => ApiError::Conflict(d),
            // Callers that can render the current case turn this into `ApiError::Stale`.
            StoreError::StaleDepartment(d) => ApiError::StaleDepartment(d),
            StoreError::Stale(rec) => {
                ApiError::Conflict(format!("the case is now at version {}", rec.version))
            }
            StoreError::Db(e) => match StoreFault::of(&e) {
                Some(fault) => ApiError::store_fault(fault, &e.to_string()),
                None => ApiError::Internal(e.to_string()),
            },
            StoreError::Unavailable(fault, cause) => ApiError::store_fault(fault, &cause),
            StoreError::Migrate(e) => ApiError::Internal(e.to_string()),
        }
    }
}

pub fn problem_response(problem: &Problem) -> Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_vec(problem).unwrap_or_default();
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    resp
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry_after = self.retry_after();
        let mut resp = problem_response(&self.problem());
        if let Some(s) = retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        resp
    }
}
