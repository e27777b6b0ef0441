//! A simulated console: the session requests, a snapshot, then long polls from the cursor,
//! following `more` at once, as the dispatcher console's feed task does, all on one connection
//! ([`Connection`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::connection::Connection;
use super::stats::{Seen, Stats};
use crate::catalog::{CategoryInfo, TownInfo};
use crate::client::ClientError;
use crate::wire::{Department, Me, Policy, Problem};

/// The session requests and the first snapshot. Returns the cursor to poll from.
pub async fn connect(conn: &mut Connection, stats: &Stats) -> Result<String, ClientError> {
    let t = Instant::now();
    // One after another, as the console's one feed task would on its connection.
    let session = async {
        conn.get::<Me>("/api/v1/me").await?;
        conn.get::<Policy>("/api/v1/policy").await?;
        conn.get::<Vec<Department>>("/api/v1/departments").await?;
        conn.get::<Vec<CategoryInfo>>("/api/v1/categories").await?;
        conn.get::<Vec<TownInfo>>("/api/v1/towns").await
    }
    .await;
    if let Err(e) = session {
        stats.error("session", &e);
        return Err(e);
    }
    stats.request("session", t.elapsed());
    snapshot(conn, stats).await
}

async fn snapshot(conn: &mut Connection, stats: &Stats) -> Result<String, ClientError> {
    let mut cursor: Option<String> = None;
    loop {
        let t = Instant::now();
        let changes = match conn.changes(cursor.as_deref(), None).await {
            Ok(c) => c,
            Err(e) => {
                stats.error("snapshot", &e);
                return Err(e);
            }
        };
        stats.request("snapshot", t.elapsed());
        cursor = Some(changes.cursor);
        if !changes.more {
            return Ok(cursor.unwrap_or_default());
        }
    }
}

/// Polls until `stop`, recording every case version each delta carries.
pub async fn poll(
    mut conn: Connection,
    mut cursor: String,
    wait: u64,
    stats: Arc<Stats>,
    stop: CancellationToken,
) -> (Seen, Connection) {
    let mut seen = Seen::default();
    let mut immediate = false;
    let mut backoff = Duration::from_millis(500);
    loop {
        let w = if immediate { None } else { Some(wait) };
        let t = Instant::now();
        let answer = tokio::select! {
            r = conn.changes(Some(&cursor), w) => r,
            () = stop.cancelled() => return (seen, conn),
        };
        let kind = if immediate {
            "poll (no wait)"
        } else {
            "long poll"
        };
        match answer {
            Ok(changes) => {
                let at = stats.start.elapsed();
                stats.request(kind, t.elapsed());
                for case in &changes.cases {
                    seen.saw(case.id, case.version, at);
                }
                cursor = changes.cursor;
                immediate = changes.more;
                backoff = Duration::from_millis(500);
            }
            Err(e) if e.problem().is_some_and(Problem::is_cursor_reset) => {
                stats.error(kind, &e);
                match snapshot(&mut conn, &stats).await {
                    Ok(c) => cursor = c,
                    Err(_) => {
                        if pause(backoff, &stop).await {
                            return (seen, conn);
                        }
                    }
                }
            }
            Err(e) => {
                stats.error(kind, &e);
                // The console's first poll after a failure does not wait: it shows the server
                // is back.
                immediate = true;
                if pause(backoff, &stop).await {
                    return (seen, conn);
                }
                backoff = (backoff * 2).min(Duration::from_secs(8));
            }
        }
    }
}

/// Sleeps `d`; true when stopped meanwhile.
async fn pause(d: Duration, stop: &CancellationToken) -> bool {
    tokio::select! {
        () = tokio::time::sleep(d) => false,
        () = stop.cancelled() => true,
    }
}
