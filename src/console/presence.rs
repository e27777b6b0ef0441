//! The presence task: long-polls everyone's presence (`GET /presence?since=&wait=`) and sends
//! each list to the loop as an `Action`; a failure is reported and retried after a back-off,
//! and the app keeps the last good list meanwhile. A refused token is not retried: like the
//! feed, the task waits for the operator's R.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

use super::action::Action;
use crate::client::Client;

/// The longest a presence poll is held by the server.
const WAIT_SECONDS: u64 = 25;
const MAX_BACKOFF: Duration = Duration::from_secs(30);

pub async fn run(
    client: Client,
    tx: mpsc::UnboundedSender<Action>,
    resume: Arc<Notify>,
    cancel: CancellationToken,
) {
    let mut since: Option<i64> = None;
    let mut backoff = Duration::from_secs(1);
    loop {
        let wait = since.map(|_| WAIT_SECONDS);
        let result = tokio::select! {
            r = client.presence(since, wait) => r,
            _ = cancel.cancelled() => return,
        };
        match result {
            Ok(list) => {
                backoff = Duration::from_secs(1);
                since = Some(list.version);
                if tx.send(Action::PresenceLoaded(list)).is_err() {
                    return;
                }
            }
            Err(error) => {
                tracing::warn!("presence: {error}");
                // The next answer after a failure is taken whole, not waited for.
                since = None;
                let refused = super::app::signed_out(&error);
                if tx.send(Action::PresenceFailed(error)).is_err() {
                    return;
                }
                if refused {
                    tokio::select! {
                        () = resume.notified() => {}
                        _ = cancel.cancelled() => return,
                    }
                    backoff = Duration::from_secs(1);
                    continue;
                }
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = cancel.cancelled() => return,
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}
