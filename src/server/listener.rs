//! The accept loop: HTTP/1.1 connections served by hyper with a header-read timeout, at most
//! `max_connections` at once, and a shutdown that lets requests in flight finish but waits no
//! longer than `shutdown_grace_seconds` for anyone.
//!
//! `axum::serve` has neither a header-read timeout nor a bound on shutdown: one client that
//! sends half its headers holds a stopping server open for as long as it likes.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::error::ApiError;
use super::limits::{HYPER_MAX_HEADERS, Limits};

/// Connections past the cap that are still answered 503 (rather than dropped) at once.
const REFUSALS_IN_FLIGHT: usize = 64;
/// How long a connection past the cap may take to send the request it is refused.
const REFUSAL_TIME: Duration = Duration::from_secs(2);

/// Serves `app` on `listener` until `shutdown` is cancelled, then drains.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout())
        .max_headers(HYPER_MAX_HEADERS);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let refusals = Arc::new(Semaphore::new(REFUSALS_IN_FLIGHT));
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: let some connections close.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = shutdown.cancelled() => break,
        };
        while connections.try_join_next().is_some() {}
        if let Ok(slot) = slots.clone().try_acquire_owned() {
            let conn =
                http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app.clone()));
            let conn = graceful.watch(conn);
            connections.spawn(async move {
                if let Err(e) = conn.await {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                drop(slot);
            });
        } else if let Ok(refusal) = refusals.clone().try_acquire_owned() {
            connections.spawn(async move {
                refuse(stream).await;
                drop(refusal);
            });
        }
        // Past both caps the connection is dropped unanswered.
    }
    drop(listener);
    let open = graceful.count();
    if tokio::time::timeout(limits.shutdown_grace(), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            open,
            grace_seconds = limits.shutdown_grace_seconds,
            "connections still open after the shutdown grace; closing them"
        );
    }
    connections.shutdown().await;
    Ok(())
}

/// Answers one request on a connection past the cap with 503 and closes it.
async fn refuse(stream: TcpStream) {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(REFUSAL_TIME)
        .keep_alive(false)
        .max_headers(HYPER_MAX_HEADERS);
    let answer = hyper::service::service_fn(|_| async { Ok::<_, Infallible>(overloaded()) });
    let conn = http.serve_connection(TokioIo::new(stream), answer);
    let _ = tokio::time::timeout(REFUSAL_TIME, conn).await;
}

fn overloaded() -> Response {
    ApiError::Service {
        status: StatusCode::SERVICE_UNAVAILABLE,
        kind: "overloaded",
        title: "Too many connections",
        detail: "the server holds as many connections as it is allowed; try again shortly".into(),
        retry_after: Some(1),
    }
    .into_response()
}
