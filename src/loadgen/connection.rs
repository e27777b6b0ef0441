//! One HTTP/1.1 connection per simulated console: its requests go one after another on it, and
//! another is opened only when the server closed it.
//!
//! reqwest's pool promises neither half of that. A request sent before the previous answer's
//! connection is back in the pool (it goes back from a task of its own) opens another one, and
//! the pool keeps both. And a request sent on an idle connection that the server is closing at
//! that moment (its header-read timeout, which 2,000 consoles connecting 32 at a time and then
//! waiting for each other easily reach) fails as unreachable instead of being sent again. Here
//! the next request waits until the connection can take it, and a GET that meets a connection
//! closed while idle is sent once more on a new one.

use std::io::{Cursor, Read};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, Request, StatusCode, Uri, header};
use flate2::bufread::GzDecoder;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tokio::net::TcpStream;

use crate::client::{ClientError, problem_from};

/// A request's answer larger than this is refused (a snapshot page is a few megabytes).
const MAX_ANSWER_BYTES: usize = 256 * 1024 * 1024;
/// As the console's client: long polls wait up to 30 s on the server.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(45);

/// Status, gzip-encoded or not, body.
type Answer = (StatusCode, bool, Bytes);

/// What a simulated console reads of an answer of the change feed: where to go on from, and
/// which version of which case it carries. The rest of each case is skipped unread: thousands
/// of consoles decoding every field of every case (dates, deadlines, texts) on the load
/// generator's share of the machine starved its writers and delayed its own polls, which the
/// server's figures were then blamed for.
#[derive(Debug, Clone, Deserialize)]
pub struct Delta {
    pub cursor: String,
    pub cases: Vec<Held>,
    pub more: bool,
}

/// A case of a [`Delta`]: its id and version.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Held {
    pub id: i64,
    pub version: i64,
}

/// A console's connection to the server, opened on its first request.
pub struct Connection {
    /// `host:port` to connect to.
    address: String,
    /// The `Host` header.
    host: HeaderValue,
    authorization: HeaderValue,
    sender: Option<SendRequest<Body>>,
    opened: u64,
    /// One gzip decoder and one buffer for every answer, as a client keeps its decoder's tables
    /// between bodies: a new decoder per answer allocated and cleared its tables each time,
    /// which cost the load generator more than reading the answer did.
    gunzip: GzDecoder<Cursor<Bytes>>,
    plain: Vec<u8>,
}

impl Connection {
    /// `server` is an `http://` URL (loadgen plays against a server on a plain connection).
    pub fn new(server: &str, token: &str) -> Result<Connection, ClientError> {
        let uri: Uri = server
            .parse()
            .map_err(|e| ClientError::Unreachable(format!("{server:?}: {e}")))?;
        let host = match (uri.scheme_str(), uri.host()) {
            (Some("http"), Some(host)) => host.to_string(),
            _ => {
                return Err(ClientError::Unreachable(format!(
                    "{server:?} is not an http:// URL"
                )));
            }
        };
        let port = uri.port_u16().unwrap_or(80);
        let unsendable = |what: &str| ClientError::Unreachable(format!("{what} cannot be sent"));
        Ok(Connection {
            address: format!("{host}:{port}"),
            host: HeaderValue::try_from(uri.authority().map_or(host, |a| a.to_string()))
                .map_err(|_| unsendable("the server's host"))?,
            authorization: HeaderValue::try_from(format!("Bearer {token}"))
                .map_err(|_| unsendable("the token"))?,
            sender: None,
            opened: 0,
            gunzip: GzDecoder::new(Cursor::new(Bytes::new())),
            plain: Vec::new(),
        })
    }

    /// Connections this console has opened so far.
    pub fn opened(&self) -> u64 {
        self.opened
    }

    /// `GET /api/v1/changes` from `since`, waiting up to `wait` seconds.
    pub async fn changes(
        &mut self,
        since: Option<&str>,
        wait: Option<u64>,
    ) -> Result<Delta, ClientError> {
        let mut query = Vec::new();
        if let Some(s) = since {
            query.push(("since", s.to_string()));
        }
        if let Some(w) = wait {
            query.push(("wait", w.to_string()));
        }
        let query = serde_urlencoded::to_string(&query)
            .map_err(|e| ClientError::BadReply(e.to_string()))?;
        if query.is_empty() {
            self.get("/api/v1/changes").await
        } else {
            self.get(&format!("/api/v1/changes?{query}")).await
        }
    }

    /// `GET path`, answered as JSON; gzip asked for and decoded, as the console's client does.
    pub async fn get<T: DeserializeOwned>(&mut self, path: &str) -> Result<T, ClientError> {
        let (status, gzip, body) = self.send(path).await?;
        let body: &[u8] = if gzip {
            self.plain.clear();
            self.gunzip.reset(Cursor::new(body));
            self.gunzip
                .read_to_end(&mut self.plain)
                .map_err(|e| ClientError::BadReply(format!("gzip: {e}")))?;
            &self.plain
        } else {
            &body
        };
        if status.is_success() {
            serde_json::from_slice(body)
                .map_err(|e| ClientError::BadReply(format!("{status}: {e}")))
        } else {
            Err(problem_from(status, body))
        }
    }

    /// Sends a GET on the open connection. A connection the server closed while it sat idle
    /// (its keep-alive timeout) fails before the server read anything: a GET is then sent again,
    /// once, on a new connection.
    async fn send(&mut self, path: &str) -> Result<Answer, ClientError> {
        let reused = self.sender.as_ref().is_some_and(|s| !s.is_closed());
        match self.send_once(path).await {
            Err(e) if reused => {
                tracing::debug!(error = %e, "the idle connection was closed; opening another");
                self.sender = None;
                self.send_once(path).await
            }
            r => r,
        }
    }

    /// One request, answered within [`REQUEST_TIMEOUT`] (else the connection is dropped).
    async fn send_once(&mut self, path: &str) -> Result<Answer, ClientError> {
        match tokio::time::timeout(REQUEST_TIMEOUT, self.exchange(path)).await {
            Ok(answer) => answer,
            Err(_) => {
                self.sender = None;
                Err(ClientError::Unreachable(format!(
                    "no answer within {} s",
                    REQUEST_TIMEOUT.as_secs()
                )))
            }
        }
    }

    async fn exchange(&mut self, path: &str) -> Result<Answer, ClientError> {
        let request = Request::get(path)
            .header(header::HOST, self.host.clone())
            .header(header::AUTHORIZATION, self.authorization.clone())
            .header(header::ACCEPT, "application/json")
            .header(header::ACCEPT_ENCODING, "gzip")
            .body(Body::empty())
            .map_err(|e| ClientError::Unreachable(e.to_string()))?;
        let sender = self.ready().await?;
        let answer = match sender.send_request(request).await {
            Ok(a) => a,
            Err(e) => {
                self.sender = None;
                return Err(ClientError::Unreachable(e.to_string()));
            }
        };
        let status = answer.status();
        let gzip = answer
            .headers()
            .get(header::CONTENT_ENCODING)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
        let body = axum::body::to_bytes(Body::new(answer.into_body()), MAX_ANSWER_BYTES)
            .await
            .map_err(|e| {
                self.sender = None;
                ClientError::Unreachable(e.to_string())
            })?;
        Ok((status, gzip, body))
    }

    /// The open connection once it can take a request, or a new one.
    async fn ready(&mut self) -> Result<&mut SendRequest<Body>, ClientError> {
        if let Some(sender) = &mut self.sender {
            // Ready once the previous answer is read to its end: the same connection again.
            if sender.ready().await.is_err() {
                self.sender = None;
            }
        }
        if self.sender.is_none() {
            let stream = TcpStream::connect(&self.address)
                .await
                .map_err(|e| ClientError::Unreachable(format!("{}: {e}", self.address)))?;
            let _ = stream.set_nodelay(true);
            let (sender, connection) = http1::handshake(TokioIo::new(stream))
                .await
                .map_err(|e| ClientError::Unreachable(e.to_string()))?;
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::debug!(error = %e, "a console's connection ended");
                }
            });
            self.sender = Some(sender);
            self.opened += 1;
        }
        self.sender
            .as_mut()
            .ok_or_else(|| ClientError::Unreachable("no connection".into()))
    }
}
