//! The change-feed task: session facts, a snapshot, then long-polled deltas from the cursor,
//! each answer sent to the loop as an `Action`. The cursor survives failures, so recovery
//! resumes where it stopped instead of reloading everything; only the server's refusal of the
//! cursor (its data was restored or replaced) leads to a new snapshot, once the app asks.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

use super::action::{Action, Session};
use super::config::PollConfig;
use crate::catalog::Catalog;
use crate::client::{Client, ClientError};
use crate::wire::Problem;

/// The change feed: session facts, a snapshot, then long-polled deltas from the cursor; each
/// answer waits for room in `tx`, so a loop that falls behind slows the feed down. The
/// cursor survives failures, so recovery resumes where it stopped instead of reloading. When
/// the server refuses the cursor, the task reports `FeedReset` and waits for `resnapshot`.
pub async fn run(
    client: Client,
    tx: mpsc::Sender<Action>,
    refresh: Arc<Notify>,
    resnapshot: Arc<Notify>,
    cancel: CancellationToken,
    poll: PollConfig,
) {
    let mut cursor: Option<String> = None;
    let mut session = false;
    let mut backoff = Duration::from_secs(1);
    let max_backoff = Duration::from_secs(poll.max_backoff_seconds.max(1));
    let wait = poll.wait_seconds.min(30);
    let mut immediate = false;
    loop {
        let step = async {
            if !session {
                let (me, policy, departments, categories, towns) = tokio::try_join!(
                    client.me(),
                    client.policy(),
                    client.departments(),
                    client.categories(),
                    client.towns()
                )?;
                let _ = tx
                    .send(Action::SessionLoaded(Box::new(Session {
                        me,
                        policy,
                        departments,
                        catalog: Catalog { categories, towns },
                    })))
                    .await;
                session = true;
            }
            let w = if cursor.is_none() || immediate {
                None
            } else {
                Some(wait)
            };
            immediate = false;
            let changes = tokio::select! {
                r = client.changes(cursor.as_deref(), w) => r?,
                _ = refresh.notified() => {
                    immediate = true;
                    return Ok(());
                }
            };
            cursor = Some(changes.cursor.clone());
            // More waiting on the server: fetch it at once rather than long-poll.
            immediate = changes.more;
            let _ = tx
                .send(Action::FeedLoaded {
                    changes,
                    received_at: Utc::now(),
                })
                .await;
            Ok::<(), ClientError>(())
        };
        let result = tokio::select! {
            r = step => r,
            _ = cancel.cancelled() => return,
        };
        match result {
            Ok(()) => backoff = Duration::from_secs(1),
            Err(error) if error.problem().is_some_and(Problem::is_cursor_reset) => {
                tracing::info!("feed: {error}");
                let _ = tx.send(Action::FeedReset { at: Utc::now() }).await;
                tokio::select! {
                    _ = resnapshot.notified() => {}
                    _ = cancel.cancelled() => return,
                }
                cursor = None;
                // Another database may have other departments, or not know us as before.
                session = false;
                backoff = Duration::from_secs(1);
            }
            Err(error) => {
                tracing::warn!("feed: {error}");
                // Departments or our own account may have changed while we were away.
                session = false;
                // The first poll after a failure must not long-poll: it is what shows the
                // operator that the server is back.
                immediate = true;
                let retry = retries_by_itself(&error);
                let _ = tx
                    .send(Action::FeedFailed {
                        error,
                        at: Utc::now(),
                        retry_in: if retry { backoff } else { Duration::ZERO },
                    })
                    .await;
                if retry {
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = refresh.notified() => {}
                        _ = cancel.cancelled() => return,
                    }
                    backoff = (backoff * 2).min(max_backoff);
                } else {
                    tokio::select! {
                        _ = refresh.notified() => {}
                        _ = cancel.cancelled() => return,
                    }
                }
            }
        }
    }
}

/// A refused token stays refused: asking again every few seconds only fills the server's log.
/// The feed then waits for the operator (`R`, or a restart with another token).
pub fn retries_by_itself(error: &ClientError) -> bool {
    !crate::console::app::signed_out(error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Problem;

    fn problem(status: u16) -> ClientError {
        ClientError::Api(Box::new(Problem {
            kind: "about:blank".into(),
            title: "x".into(),
            status,
            detail: String::new(),
            errors: vec![],
            current: None,
            current_department: None,
        }))
    }

    #[test]
    fn a_refused_token_waits_for_the_operator_and_the_rest_retries() {
        assert!(!retries_by_itself(&problem(401)));
        assert!(retries_by_itself(&problem(503)));
        assert!(retries_by_itself(&ClientError::Unreachable(
            "refused".into()
        )));
    }
}
