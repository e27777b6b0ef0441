//! Bounds on what one client can hold: time to send headers, a body, a whole request;
//! connections; long polls per user; the size of a request line and of its headers. And the
//! last answer for a handler that panics. Each refusal is `application/problem+json`.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tower_http::catch_panic::CatchPanicLayer;

use super::error::ApiError;
use super::writer::WriterSettings;

/// Longest request target (path and query), in bytes; longer answers 414.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// Most bytes of header fields in one request (names, values, and 4 per field); more answers 431.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;
/// Most header fields in one request; more answers 431.
pub const MAX_HEADER_FIELDS: usize = 100;
/// hyper answers 431 with an empty body past 100 fields by default; its bound is raised above
/// ours so that ours answers first, with a problem. (Its other bounds, 64 KiB of request target
/// and about 400 KiB of head, already sit above ours.)
pub(super) const HYPER_MAX_HEADERS: usize = 4 * MAX_HEADER_FIELDS;

/// The `[limits]` table of the server's configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// A client must send a request's headers within this; else its connection is closed.
    pub header_read_timeout_seconds: u64,
    /// A client must send a request's body within this; else 408.
    pub body_read_timeout_seconds: u64,
    /// A request must be answered within this (a long poll: its `wait` on top); else 503.
    pub request_timeout_seconds: u64,
    /// On SIGTERM, requests in flight get this long to finish; then connections are closed.
    pub shutdown_grace_seconds: u64,
    /// Open connections at most; one more is answered 503 and closed.
    pub max_connections: usize,
    /// Long polls (`/api/v1/changes?wait=`) one user may hold at once; one more is 503.
    pub max_long_polls_per_user: usize,
    /// A write waits this long for another process's lock on the database before 503.
    pub database_busy_timeout_ms: u64,
    /// `/readyz` answers 503 when the write path does not answer within this.
    pub readiness_timeout_ms: u64,
    /// Caps the database file at this many pages (of 4 KiB); past it writes answer 503 and
    /// reads go on. 0: no cap but the disk.
    pub max_database_pages: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_read_timeout_seconds: 10,
            body_read_timeout_seconds: 15,
            request_timeout_seconds: 30,
            shutdown_grace_seconds: 10,
            max_connections: 1024,
            max_long_polls_per_user: 4,
            database_busy_timeout_ms: 5000,
            readiness_timeout_ms: 2000,
            max_database_pages: 0,
        }
    }
}

impl Limits {
    pub fn validate(&self) -> anyhow::Result<()> {
        for (name, v) in [
            (
                "header_read_timeout_seconds",
                self.header_read_timeout_seconds,
            ),
            ("body_read_timeout_seconds", self.body_read_timeout_seconds),
            ("request_timeout_seconds", self.request_timeout_seconds),
            ("max_connections", self.max_connections as u64),
            (
                "max_long_polls_per_user",
                self.max_long_polls_per_user as u64,
            ),
            ("readiness_timeout_ms", self.readiness_timeout_ms),
        ] {
            if v == 0 {
                anyhow::bail!("limits.{name} must be at least 1");
            }
        }
        Ok(())
    }

    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_secs(self.header_read_timeout_seconds)
    }
    pub fn body_read_timeout(&self) -> Duration {
        Duration::from_secs(self.body_read_timeout_seconds)
    }
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_seconds)
    }
    pub fn readiness_timeout(&self) -> Duration {
        Duration::from_millis(self.readiness_timeout_ms)
    }
    pub fn writer(&self) -> WriterSettings {
        WriterSettings {
            busy_timeout: Duration::from_millis(self.database_busy_timeout_ms),
            max_database_pages: self.max_database_pages,
        }
    }
}

/// Wraps the API in the bounds that do not depend on a route: the size of the request line
/// and headers, the whole-request timeout, and the answer to a panic.
pub fn harden(app: Router, limits: &Limits) -> Router {
    let base = Duration::from_secs(limits.request_timeout_seconds);
    // One middleware for both bounds: each `from_fn` layer clones the boxed service stack below
    // it for every request.
    app.layer(middleware::from_fn_with_state(base, bounded))
        .layer(catch_panic())
}

/// A handler that panics answers 500 problem+json, and the panic is logged.
pub fn catch_panic() -> CatchPanicLayer<fn(Box<dyn Any + Send + 'static>) -> Response> {
    CatchPanicLayer::custom(panic_answer as fn(Box<dyn Any + Send + 'static>) -> Response)
}

fn panic_answer(panic: Box<dyn Any + Send + 'static>) -> Response {
    let what = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("no message");
    ApiError::Internal(format!("a request handler panicked: {what}")).into_response()
}

/// The request's size checked, then its time bounded.
async fn bounded(State(base): State<Duration>, req: Request, next: Next) -> Response {
    match oversized(&req) {
        Some(refusal) => refusal,
        None => whole_request_timeout(base, req, next).await,
    }
}

/// 414 past [`MAX_URI_BYTES`], 431 past [`MAX_HEADER_BYTES`] or [`MAX_HEADER_FIELDS`].
fn oversized(req: &Request) -> Option<Response> {
    let uri = req.uri();
    let uri_bytes = uri.path_and_query().map_or(0, |p| p.as_str().len())
        + uri.authority().map_or(0, |a| a.as_str().len());
    if uri_bytes > MAX_URI_BYTES {
        return Some(
            ApiError::Service {
                status: StatusCode::URI_TOO_LONG,
                kind: "uri-too-long",
                title: "Request target too long",
                detail: format!(
                    "the path and query are {uri_bytes} bytes; at most {MAX_URI_BYTES}"
                ),
                retry_after: None,
            }
            .into_response(),
        );
    }
    let headers = req.headers();
    let header_bytes: usize = headers
        .iter()
        .map(|(n, v)| n.as_str().len() + v.len() + 4)
        .sum();
    if header_bytes > MAX_HEADER_BYTES || headers.len() > MAX_HEADER_FIELDS {
        return Some(
            ApiError::Service {
                status: StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                kind: "headers-too-large",
                title: "Request headers too large",
                detail: format!(
                    "{} header fields of {header_bytes} bytes; at most {MAX_HEADER_FIELDS} \
                     fields of {MAX_HEADER_BYTES} bytes in all",
                    headers.len()
                ),
                retry_after: None,
            }
            .into_response(),
        );
    }
    None
}

/// The `wait` of a long poll, read leniently: the handler checks it, and refuses one too long.
fn long_poll_wait(query: Option<&str>) -> Duration {
    let query = query.unwrap_or("");
    // Every request passes here: a query with nothing escaped (the consoles' polls) is read in
    // place, without a string made per pair.
    let wait = if query.contains(['%', '+']) {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
        pairs
            .iter()
            .find(|(k, _)| k == "wait")
            .and_then(|(_, v)| v.parse::<u64>().ok())
    } else {
        query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(k, _)| *k == "wait")
            .and_then(|(_, v)| v.parse::<u64>().ok())
    };
    Duration::from_secs(wait.unwrap_or(0))
}

/// 503 for a request not answered within `base` (plus a long poll's `wait`). The request may
/// have been applied just before: the answer says to retry with the same Idempotency-Key.
async fn whole_request_timeout(base: Duration, req: Request, next: Next) -> Response {
    let bound = base.saturating_add(long_poll_wait(req.uri().query()));
    match tokio::time::timeout(bound, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => ApiError::Service {
            status: StatusCode::SERVICE_UNAVAILABLE,
            kind: "request-timeout",
            title: "No answer in time",
            detail: format!(
                "the request was not answered within {} s; it may or may not have been \
                 applied: retry with the same Idempotency-Key",
                bound.as_secs()
            ),
            retry_after: Some(1),
        }
        .into_response(),
    }
}

/// Long polls held per user.
#[derive(Debug, Default)]
pub struct LongPolls {
    held: Mutex<HashMap<String, usize>>,
}

/// One long poll of a user; released when dropped.
#[derive(Debug)]
pub struct LongPollSlot {
    polls: Arc<LongPolls>,
    user: String,
}

impl LongPolls {
    /// A slot for `user`, or 503 when they already hold `max`.
    pub fn enter(self: &Arc<Self>, user: &str, max: usize) -> Result<LongPollSlot, ApiError> {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        let n = held.entry(user.to_string()).or_insert(0);
        if *n >= max {
            return Err(ApiError::Service {
                status: StatusCode::SERVICE_UNAVAILABLE,
                kind: "too-many-long-polls",
                title: "Too many long polls",
                detail: format!(
                    "{user} already holds {max} long polls; wait for one to answer, or poll \
                     without wait"
                ),
                retry_after: Some(2),
            });
        }
        *n += 1;
        Ok(LongPollSlot {
            polls: self.clone(),
            user: user.to_string(),
        })
    }

    /// Long polls held now, by every user.
    pub fn held(&self) -> usize {
        self.held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .sum()
    }
}

impl Drop for LongPollSlot {
    fn drop(&mut self) {
        let mut held = self.polls.held.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = held.get_mut(&self.user) {
            *n -= 1;
            if *n == 0 {
                held.remove(&self.user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_polls_wait_is_read_from_plain_and_escaped_queries_alike() {
        for (query, secs) in [
            (None, 0),
            (Some(""), 0),
            (Some("since=ab12.4&wait=25"), 25),
            (Some("wait=7&since=ab12.4"), 7),
            (Some("since=ab12%2E4&wait=25"), 25),
            (Some("w%61it=9"), 9),
            (Some("since=a+b&wait=3"), 3),
            (Some("wait=x"), 0),
            (Some("wait"), 0),
            (Some("waiting=5"), 0),
        ] {
            assert_eq!(
                long_poll_wait(query),
                Duration::from_secs(secs),
                "{query:?}"
            );
        }
    }
}
