//! `GET /metrics` for Prometheus: request rates and latencies per route, the open and overdue
//! cases, long polls held, store faults, the feed's head. Served on the API's own listener,
//! outside the OpenAPI document (it is for the monitoring system, not for consoles).
//!
//! The exposition is OpenMetrics text when the scraper asks for it (Prometheus does), the
//! classic text format (0.0.4) otherwise, e.g. to `curl`.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::error::{ApiError, fault_problem};
use super::writer::StoreFault;
use crate::wire::{Status, Tier};

/// The `[metrics]` section of the server's config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Serve `GET /metrics`; off, it answers 404.
    pub enabled: bool,
    /// When set, scrapes must send `Authorization: Bearer <token>`.
    pub token: Option<String>,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            enabled: true,
            token: None,
        }
    }
}

/// The `route` label of a request that matched no route: the raw path would let anyone
/// create series at will.
const UNMATCHED: &str = "unmatched";

/// Request latency buckets, in seconds: from a cached answer to a long poll held its full
/// `wait` (at most 30 s).
const LATENCY_BUCKETS: [f64; 15] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
    method: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CaseLabels {
    tier: &'static str,
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TierLabels {
    tier: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FaultLabels {
    kind: &'static str,
}

type HistogramFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

/// One server's metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: HistogramFamily,
    open_cases: Family<CaseLabels, Gauge>,
    overdue_cases: Family<TierLabels, Gauge>,
    long_polls_held: Gauge,
    store_errors: Family<FaultLabels, Counter>,
    feed_head: Gauge,
    /// The server clock's second the case gauges were last read from the store at: scrapes
    /// within one second share that read, so that a scrape storm cannot load the database.
    cases_read_at: tokio::sync::Mutex<Option<i64>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

/// The label of a case's tier: `none` before triage, as the case list's `tier` filter says.
fn tier_label(tier: Option<Tier>) -> &'static str {
    tier.map_or("none", Tier::as_str)
}

/// Every tier label, untriaged first.
const TIERS: [Option<Tier>; 4] = [None, Some(Tier::Blue), Some(Tier::Orange), Some(Tier::Red)];

fn open_statuses() -> impl Iterator<Item = Status> {
    Status::ALL.into_iter().filter(|s| *s != Status::Closed)
}

/// Methods outside HTTP's usual set share one label value, for the same reason as
/// [`UNMATCHED`].
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "jieyou_http_requests",
            "HTTP requests answered, by route template, method and status",
            requests.clone(),
        );
        let durations: HistogramFamily =
            Family::new_with_constructor(|| Histogram::new(LATENCY_BUCKETS));
        registry.register_with_unit(
            "jieyou_http_request_duration",
            "Time to answer an HTTP request (long polls included), by route template and method",
            Unit::Seconds,
            durations.clone(),
        );
        let open_cases = Family::<CaseLabels, Gauge>::default();
        registry.register(
            "jieyou_open_cases",
            "Cases not closed, by tier (none before triage) and status",
            open_cases.clone(),
        );
        let overdue_cases = Family::<TierLabels, Gauge>::default();
        registry.register(
            "jieyou_overdue_cases",
            "Open cases past their earliest unmet deadline, by tier",
            overdue_cases.clone(),
        );
        // Every series exists from the start: an absent series is not a zero to alerts.
        for tier in TIERS {
            for status in open_statuses() {
                drop(open_cases.get_or_create(&CaseLabels {
                    tier: tier_label(tier),
                    status: status.as_str(),
                }));
            }
            drop(overdue_cases.get_or_create(&TierLabels {
                tier: tier_label(tier),
            }));
        }
        let long_polls_held = Gauge::default();
        registry.register(
            "jieyou_long_polls_held",
            "Long polls of the change feed waiting on this instance",
            long_polls_held.clone(),
        );
        let store_errors = Family::<FaultLabels, Counter>::default();
        registry.register(
            "jieyou_store_errors",
            "Requests refused with 503 because the database failed, by problem type",
            store_errors.clone(),
        );
        for fault in [StoreFault::Full, StoreFault::Io, StoreFault::Busy] {
            drop(store_errors.get_or_create(&FaultLabels {
                kind: fault_problem(fault).0,
            }));
        }
        let feed_head = Gauge::default();
        registry.register(
            "jieyou_feed_head",
            "The change feed's newest sequence number this instance knows",
            feed_head.clone(),
        );
        registry.register(
            "jieyou_build",
            "The running build",
            Info::new(vec![("version", env!("CARGO_PKG_VERSION"))]),
        );
        Metrics {
            registry,
            requests,
            durations,
            open_cases,
            overdue_cases,
            long_polls_held,
            store_errors,
            feed_head,
            cases_read_at: tokio::sync::Mutex::new(None),
        }
    }

    fn store_fault(&self, fault: StoreFault) {
        self.store_errors
            .get_or_create(&FaultLabels {
                kind: fault_problem(fault).0,
            })
            .inc();
    }

    /// Reads the open and overdue cases from the store, at most once per second of the
    /// server's clock. A failed read keeps the last values (and is logged): the request
    /// metrics are worth scraping while the database is down.
    async fn refresh_cases(&self, state: &AppState) {
        let now = state.clock.now();
        let mut read_at = self.cases_read_at.lock().await;
        if *read_at == Some(now.timestamp()) {
            return;
        }
        *read_at = Some(now.timestamp());
        let counts = match state.store.open_case_counts(now).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "reading the open cases for /metrics failed");
                return;
            }
        };
        for tier in TIERS {
            let mut overdue = 0;
            for status in open_statuses() {
                let found = counts.iter().find(|c| c.tier == tier && c.status == status);
                overdue += found.map_or(0, |c| c.overdue);
                self.open_cases
                    .get_or_create(&CaseLabels {
                        tier: tier_label(tier),
                        status: status.as_str(),
                    })
                    .set(found.map_or(0, |c| c.open));
            }
            self.overdue_cases
                .get_or_create(&TierLabels {
                    tier: tier_label(tier),
                })
                .set(overdue);
        }
    }

    fn encode(&self, openmetrics: bool) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        if openmetrics {
            prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        } else {
            prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry)?;
        }
        Ok(out)
    }
}

tokio::task_local! {
    /// The metrics of the server answering the request this task runs.
    static SERVING: Arc<Metrics>;
}

/// Counts a store fault turned into a 503, in the metrics of the server whose request met it.
pub fn count_store_fault(fault: StoreFault) {
    let _ = SERVING.try_with(|m| m.store_fault(fault));
}

/// Middleware run after routing, so that the route is the matched template (`/api/v1/cases/{id}`),
/// never the raw path with its ids.
pub async fn track(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| UNMATCHED.to_string(), |p| p.as_str().to_string());
    let method = method_label(req.method());
    let started = Instant::now();
    let resp = SERVING.scope(metrics.clone(), next.run(req)).await;
    metrics
        .durations
        .get_or_create(&RouteLabels {
            route: route.clone(),
            method,
        })
        .observe(started.elapsed().as_secs_f64());
    metrics
        .requests
        .get_or_create(&RequestLabels {
            route,
            method,
            status: resp.status().as_u16(),
        })
        .inc();
    resp
}

/// `GET /metrics`, when `[metrics] enabled`.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .layer(tower_http::compression::CompressionLayer::new())
        .with_state(state)
}

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

async fn scrape(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(token) = &state.config.metrics.token {
        let sent = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        // Compared as digests: the comparison takes no longer for a closer guess.
        let hash = super::store::hash_token;
        if sent.map(hash) != Some(hash(token)) {
            return Err(ApiError::Unauthorized(
                "send Authorization: Bearer <the [metrics] token of the server's config>".into(),
            ));
        }
    }
    let metrics = &state.metrics;
    metrics.refresh_cases(&state).await;
    metrics
        .long_polls_held
        .set(i64::try_from(state.long_polls.held()).unwrap_or(i64::MAX));
    metrics.feed_head.set(state.feed.head());
    let openmetrics = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("application/openmetrics-text"));
    let body = metrics
        .encode(openmetrics)
        .map_err(|e| ApiError::Internal(format!("encoding the metrics: {e}")))?;
    let content_type = if openmetrics {
        OPENMETRICS
    } else {
        prometheus_client::encoding::prometheus_text::CONTENT_TYPE
    };
    Ok((
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        body,
    )
        .into_response())
}
