//! On PostgreSQL, the feed's head follows the commits of every instance on the database: each
//! write transaction announces its new head (see `dialect::take_seqs`), and one listening
//! connection per instance raises the store's head, which wakes this instance's long polls.
//! The same connection hears the presence other instances announce (see
//! `Store::announce_presence`), handed on as it came.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;

use super::dialect::{FEED_CHANNEL, PRESENCE_CHANNEL};
use super::{DbPool, StoreError};

/// How long to wait before connecting again after the listening connection failed to open.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

/// The listening task; stopped with the store.
pub(super) struct Listener {
    stop: CancellationToken,
}

impl Listener {
    pub(super) fn stop(&self) {
        self.stop.cancel();
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Raises a head; heads only move forward.
pub(crate) fn raise(head: &watch::Sender<i64>, seq: i64) {
    head.send_if_modified(|h| {
        let moved = seq > *h;
        if moved {
            *h = seq;
        }
        moved
    });
}

/// Starts listening on the feed's channel (the first connection is made here, so that a
/// database that refuses it fails the start) and raises `head` with every announced head.
pub(super) async fn listen(
    url: &str,
    read: DbPool,
    head: watch::Sender<i64>,
    presence: broadcast::Sender<String>,
) -> Result<Arc<Listener>, StoreError> {
    let mut listener = PgListener::connect(url).await?;
    listener
        .listen_all([FEED_CHANNEL, PRESENCE_CHANNEL])
        .await?;
    let stop = CancellationToken::new();
    tokio::spawn(follow(listener, read, head, presence, stop.clone()));
    Ok(Arc::new(Listener { stop }))
}

async fn follow(
    mut listener: PgListener,
    read: DbPool,
    head: watch::Sender<i64>,
    presence: broadcast::Sender<String>,
    stop: CancellationToken,
) {
    loop {
        let received = tokio::select! {
            r = listener.try_recv() => r,
            () = stop.cancelled() => return,
        };
        match received {
            Ok(Some(n)) if n.channel() == PRESENCE_CHANNEL => {
                // Nobody listening (no server on this store) is not an error.
                let _ = presence.send(n.payload().to_string());
            }
            Ok(Some(n)) => {
                if let Ok(seq) = n.payload().parse::<i64>() {
                    raise(&head, seq);
                }
            }
            // The connection was lost and the next receive opens another (listening again):
            // what was announced meanwhile is not delivered, so the head is read instead.
            Ok(None) => catch_up(&read, &head).await,
            Err(e) => {
                tracing::warn!(error = %e, "listening for other instances' commits failed");
                tokio::select! {
                    () = tokio::time::sleep(RECONNECT_AFTER) => {}
                    () = stop.cancelled() => return,
                }
                catch_up(&read, &head).await;
            }
        }
    }
}

async fn catch_up(read: &DbPool, head: &watch::Sender<i64>) {
    match sqlx::query_scalar::<_, i64>("SELECT seq FROM feed_counter WHERE id = 1")
        .fetch_one(read)
        .await
    {
        Ok(seq) => raise(head, seq),
        Err(e) => tracing::warn!(error = %e, "reading the feed's head failed"),
    }
}

impl super::Store {
    /// Tells the other instances on this database what a console reported (on SQLite there
    /// are none). Not part of any transaction: it is sent at once.
    pub async fn announce_presence(&self, payload: &str) -> Result<(), StoreError> {
        if self.listener.is_none() {
            return Ok(());
        }
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(PRESENCE_CHANNEL)
            .bind(payload)
            .execute(&self.read)
            .await?;
        Ok(())
    }

    /// What the other instances announce, from now on.
    pub fn peer_presence(&self) -> tokio::sync::broadcast::Receiver<String> {
        self.peers.subscribe()
    }
}
