//! Store faults and hostile clients, through real HTTP on loopback: a full database and one
//! locked by another connection answer 503 and recover by themselves; slow clients are cut
//! off; caps answer 503; oversized requests and panics answer problem+json.

mod common;

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use common::{
    TestApp, checks, dispatched_red, new_case, spawn_app, spawn_app_sqlite, spawn_app_with,
    spawn_app_with_sqlite,
};
use jieyou::client::new_idempotency_key;
use jieyou::server::limits::{self, Limits};
use jieyou::server::{Clock, ServerConfig};
use jieyou::wire::{self, NewCase, Problem, Role};
use reqwest::StatusCode;
use sqlx::Connection;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

/// The bound of every wait for the server: a guard against hanging, not a measurement.
const BOUND: Duration = Duration::from_secs(20);

/// One answer, with what these tests look at.
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    content_type: String,
    retry_after: Option<u64>,
    body: Vec<u8>,
}

impl Answer {
    fn problem(&self) -> Problem {
        assert_eq!(
            self.content_type,
            "application/problem+json",
            "{} {}",
            self.status,
            String::from_utf8_lossy(&self.body)
        );
        serde_json::from_slice(&self.body).expect("a problem body")
    }

    /// A 503 problem of `kind` that says when to come back.
    fn assert_unavailable(&self, kind: &str) {
        assert_eq!(self.status, StatusCode::SERVICE_UNAVAILABLE, "{self:?}");
        let p = self.problem();
        assert_eq!(p.kind, format!("https://jieyou.invalid/problems/{kind}"));
        assert_eq!(p.status, 503);
        assert!(self.retry_after.is_some_and(|s| s > 0), "{self:?}");
    }
}

async fn send(req: reqwest::RequestBuilder) -> Answer {
    let resp = req.send().await.expect("the server answers");
    let header = |name| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let content_type = header(reqwest::header::CONTENT_TYPE).unwrap_or_default();
    let retry_after = header(reqwest::header::RETRY_AFTER).and_then(|s| s.parse().ok());
    Answer {
        status: resp.status(),
        content_type,
        retry_after,
        body: resp.bytes().await.expect("a body").to_vec(),
    }
}

async fn readyz(app: &TestApp) -> Answer {
    send(reqwest::Client::new().get(format!("{}/readyz", app.server.url()))).await
}

/// A hotline worker of the desk, signed in over plain reqwest to see every header.
struct Intake {
    http: reqwest::Client,
    url: String,
    token: String,
}

impl Intake {
    async fn new(app: &TestApp) -> Intake {
        let token = app
            .server
            .store
            .add_user("intake-fault", Role::Intake, None)
            .await
            .unwrap();
        Intake {
            http: reqwest::Client::new(),
            url: app.server.url(),
            token,
        }
    }

    async fn create(&self, case: &NewCase) -> Answer {
        send(
            self.http
                .post(format!("{}/api/v1/cases", self.url))
                .bearer_auth(&self.token)
                .header("idempotency-key", new_idempotency_key())
                .json(case),
        )
        .await
    }

    async fn changes(&self, since: &str, wait: u64) -> Answer {
        send(
            self.http
                .get(format!(
                    "{}/api/v1/changes?since={since}&wait={wait}",
                    self.url
                ))
                .bearer_auth(&self.token),
        )
        .await
    }
}

/// A case whose description needs pages of its own.
fn long_case() -> NewCase {
    let mut c = new_case("5个月婴儿需要特殊奶粉");
    c.description = "奶".repeat(wire::MAX_DESCRIPTION_CHARS);
    c
}

#[tokio::test]
async fn a_full_database_answers_503_writes_nothing_and_recovers_without_a_restart() {
    let app = spawn_app_sqlite().await;
    let intake = Intake::new(&app).await;
    let red = dispatched_red(&app, "透析病人需要转运").await;
    let snapshot = app.supervisor.changes(None, None).await.unwrap();
    assert_eq!(readyz(&app).await.status, StatusCode::OK);

    // The file may not grow past its current size: a real SQLITE_FULL for the next write
    // that needs a page.
    app.server.store.set_max_database_pages(1).await.unwrap();
    for _ in 0..3 {
        intake
            .create(&long_case())
            .await
            .assert_unavailable("storage-full");
    }
    let ready = readyz(&app).await;
    ready.assert_unavailable("storage-full");

    // Nothing half-written: no case, no event, no change in the feed.
    let after = app
        .supervisor
        .changes(Some(&snapshot.cursor), None)
        .await
        .unwrap();
    assert!(after.cases.is_empty(), "{:?}", after.cases);
    assert_eq!(after.cursor, snapshot.cursor);
    let listed = app.supervisor.list(&Default::default()).await.unwrap();
    assert_eq!(listed.cases.len(), 1);
    assert_eq!(
        app.supervisor.case(red.case.id).await.unwrap().events.len(),
        3
    );

    // Room again: the same server writes, climbs the ladder and is ready.
    app.server.store.set_max_database_pages(0).await.unwrap();
    let created = intake.create(&long_case()).await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    assert_eq!(readyz(&app).await.status, StatusCode::OK);
    // Dispatched at 21:14; signing for it was due 15 minutes later.
    app.clock.set(checks::t(40));
    let fired = app
        .server
        .store
        .escalate_due(app.clock.now())
        .await
        .unwrap();
    assert!(fired >= 1, "the escalation ladder fired {fired} rungs");
    let after = app
        .supervisor
        .changes(Some(&snapshot.cursor), None)
        .await
        .unwrap();
    assert_eq!(after.cases.len(), 2, "the new case and the escalated one");
}

#[tokio::test]
async fn a_database_locked_by_another_connection_answers_503_until_it_is_released() {
    let mut config = ServerConfig::default();
    config.limits.database_busy_timeout_ms = 200;
    let app = spawn_app_with_sqlite(config).await;
    let intake = Intake::new(&app).await;
    assert_eq!(readyz(&app).await.status, StatusCode::OK);

    let path = app.dir.path().join("jieyou.db");
    let mut other = sqlx::SqliteConnection::connect(&format!("sqlite:{}", path.display()))
        .await
        .unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut other)
        .await
        .unwrap();
    intake
        .create(&new_case("发热儿童需就医"))
        .await
        .assert_unavailable("database-busy");
    readyz(&app).await.assert_unavailable("database-busy");

    sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();
    assert_eq!(readyz(&app).await.status, StatusCode::OK);
    let created = intake.create(&new_case("发热儿童需就医")).await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
}

/// Reads until the server closes the connection; what it sent.
async fn read_to_close(stream: &mut TcpStream) -> String {
    let mut out = vec![];
    let read = tokio::time::timeout(BOUND, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server kept the connection open");
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn a_client_that_sends_half_its_headers_is_cut_off() {
    let mut config = ServerConfig::default();
    config.limits.header_read_timeout_seconds = 1;
    let app = spawn_app_with(config).await;
    let mut slow = TcpStream::connect(app.server.addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: jieyou\r\nX-Half: ")
        .await
        .unwrap();
    read_to_close(&mut slow).await;
}

#[tokio::test]
async fn a_body_that_does_not_arrive_answers_408() {
    let mut config = ServerConfig::default();
    config.limits.body_read_timeout_seconds = 1;
    let app = spawn_app_with(config).await;
    let intake = Intake::new(&app).await;
    let mut slow = TcpStream::connect(app.server.addr).await.unwrap();
    let head = format!(
        "POST /api/v1/cases HTTP/1.1\r\nHost: jieyou\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"title\"",
        intake.token
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 8192];
    let n = tokio::time::timeout(BOUND, slow.read(&mut buf))
        .await
        .expect("an answer")
        .unwrap();
    let answer = String::from_utf8_lossy(&buf[..n]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains("application/problem+json") && answer.contains("body-timeout"),
        "{answer}"
    );
}

#[tokio::test]
async fn a_connection_past_the_cap_answers_503() {
    let mut config = ServerConfig::default();
    config.limits.max_connections = 2;
    let app = spawn_app_with(config).await;
    let _held = [
        TcpStream::connect(app.server.addr).await.unwrap(),
        TcpStream::connect(app.server.addr).await.unwrap(),
    ];
    let mut third = TcpStream::connect(app.server.addr).await.unwrap();
    third
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: jieyou\r\n\r\n")
        .await
        .unwrap();
    let answer = read_to_close(&mut third).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    let lower = answer.to_ascii_lowercase();
    assert!(lower.contains("retry-after: "), "{answer}");
    assert!(
        lower.contains("content-type: application/problem+json"),
        "{answer}"
    );
    assert!(answer.contains("problems/overloaded"), "{answer}");
}

#[tokio::test]
async fn a_user_past_the_long_poll_cap_gets_503() {
    let mut config = ServerConfig::default();
    config.limits.max_long_polls_per_user = 1;
    let app = spawn_app_with(config).await;
    let intake = std::sync::Arc::new(Intake::new(&app).await);
    let cursor = app.supervisor.changes(None, None).await.unwrap().cursor;
    let hold = |cursor: String| {
        let intake = intake.clone();
        tokio::spawn(async move { intake.changes(&cursor, 30).await })
    };
    let mut held = hold(cursor.clone());
    // The second poll of the same user is refused once the first is held. Until then it
    // holds the slot itself for its one second; a first poll refused meanwhile is sent again.
    let refused = loop {
        let second = intake.changes(&cursor, 1).await;
        if second.status == StatusCode::SERVICE_UNAVAILABLE {
            break second;
        }
        assert_eq!(second.status, StatusCode::OK, "{second:?}");
        if held.is_finished() {
            held = hold(cursor.clone());
        }
    };
    refused.assert_unavailable("too-many-long-polls");
    // Another user is not held up by it.
    let other = app.operator.changes(Some(&cursor), Some(0)).await;
    assert!(other.is_ok(), "{other:?}");
    held.abort();
}

#[tokio::test]
async fn a_too_long_uri_and_too_large_headers_answer_problem_json() {
    let app = spawn_app().await;
    let http = reqwest::Client::new();
    let url = app.server.url();
    let long = format!("{url}/healthz?pad={}", "a".repeat(limits::MAX_URI_BYTES));
    let answer = send(http.get(long)).await;
    assert_eq!(answer.status, StatusCode::URI_TOO_LONG);
    assert!(answer.problem().kind.ends_with("/uri-too-long"));

    let big = "b".repeat(limits::MAX_HEADER_BYTES);
    let answer = send(http.get(format!("{url}/healthz")).header("x-big", big)).await;
    assert_eq!(answer.status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    assert!(answer.problem().kind.ends_with("/headers-too-large"));

    let mut many = http.get(format!("{url}/healthz"));
    for i in 0..=limits::MAX_HEADER_FIELDS {
        many = many.header(format!("x-field-{i}"), "1");
    }
    let answer = send(many).await;
    assert_eq!(answer.status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    assert!(answer.problem().kind.ends_with("/headers-too-large"));
}

#[tokio::test]
async fn a_handler_that_panics_answers_500_problem_json() {
    let app = Router::new().route(
        "/boom",
        get(|| async {
            let parts: Vec<&str> = vec![];
            parts[0].to_string()
        }),
    );
    let limits = Limits::default();
    let app = limits::harden(app, &limits);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = CancellationToken::new();
    let server = tokio::spawn(jieyou::server::listener::serve(
        listener,
        app,
        limits,
        stop.clone(),
    ));
    let answer = send(reqwest::Client::new().get(format!("http://{addr}/boom"))).await;
    assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
    let p = answer.problem();
    assert!(p.kind.ends_with("/internal"), "{p:?}");
    assert_eq!(p.status, 500);
    // The server goes on serving.
    let again = send(reqwest::Client::new().get(format!("http://{addr}/boom"))).await;
    assert_eq!(again.status, StatusCode::INTERNAL_SERVER_ERROR);
    stop.cancel();
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn the_api_document_says_any_call_may_answer_503() {
    let app = spawn_app().await;
    let doc: serde_json::Value = app.observer.get_json("/api/v1/openapi.json").await.unwrap();
    for (path, method) in [("/api/v1/cases", "post"), ("/api/v1/changes", "get")] {
        let answer = &doc["paths"][path][method]["responses"]["503"];
        assert!(
            answer["content"].get("application/problem+json").is_some(),
            "{path}: {answer}"
        );
    }
}
