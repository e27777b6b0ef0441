//! The typed client of the central request API, used by the console, the demo's simulator, the
//! report command and the tests.

mod answers;
mod shifts;

use std::time::Duration;

use reqwest::{StatusCode, header};
use serde::de::DeserializeOwned;

use crate::wire::{
    CaseAction, CaseDetail, CaseList, Changes, Department, DepartmentPatch, EventPage,
    GroupAnswerBody, GroupList, GroupMergeBody, GroupOutcome, Me, NewCase, NewDepartment, Policy,
    Problem,
};

/// What went wrong talking to the server, in terms a caller can act on.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClientError {
    /// The server could not be reached (refused, reset, timed out, bad address).
    #[error("server unreachable: {0}")]
    Unreachable(String),
    /// The server answered with a problem (4xx/5xx).
    #[error("{} {}: {}", .0.status, .0.title, .0.detail)]
    Api(Box<Problem>),
    /// The server answered something this client cannot read.
    #[error("unexpected reply from server: {0}")]
    BadReply(String),
}

impl ClientError {
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api(p) => Some(p.status),
            _ => None,
        }
    }
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            ClientError::Api(p) => Some(p),
            _ => None,
        }
    }
    /// Worth retrying later with the same idempotency key.
    pub fn is_transient(&self) -> bool {
        match self {
            ClientError::Unreachable(_) => true,
            ClientError::Api(p) => p.status >= 500,
            ClientError::BadReply(_) => false,
        }
    }
}

/// Filters of `GET /api/v1/cases`.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ListQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overdue: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    /// The requester's phone, digits only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Text in the requester's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requester: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

/// A fresh idempotency key for one user intent; reuse it when retrying that intent.
pub fn new_idempotency_key() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl Client {
    /// `base` is the server's root URL, e.g. `http://127.0.0.1:8080`.
    pub fn new(base: &str, token: &str) -> Result<Client, ClientError> {
        let base = base.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ClientError::Unreachable(format!(
                "{base:?} is not an http:// or https:// URL"
            )));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            // Long polls wait up to 30 s on the server.
            .timeout(Duration::from_secs(45))
            .build()
            .map_err(|e| ClientError::Unreachable(e.to_string()))?;
        Ok(Client {
            http,
            base,
            token: token.to_string(),
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.get(self.url(path)).bearer_auth(&self.token)
    }

    fn post(&self, path: &str, idempotency_key: &str) -> reqwest::RequestBuilder {
        self.http
            .post(self.url(path))
            .bearer_auth(&self.token)
            .header("Idempotency-Key", idempotency_key)
    }

    async fn send<T: DeserializeOwned>(req: reqwest::RequestBuilder) -> Result<T, ClientError> {
        let resp = req.send().await.map_err(transport_error)?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(transport_error)?;
        if status.is_success() {
            return serde_json::from_slice(&bytes)
                .map_err(|e| ClientError::BadReply(format!("{status}: {e}")));
        }
        Err(problem_from(status, &bytes))
    }

    pub async fn health(&self) -> Result<(), ClientError> {
        let resp = self
            .http
            .get(self.url("/healthz"))
            .send()
            .await
            .map_err(transport_error)?;
        if resp.status().is_success() {
            Ok(())
        } else {
            let status = resp.status();
            let bytes = resp.bytes().await.unwrap_or_default();
            Err(problem_from(status, &bytes))
        }
    }

    pub async fn me(&self) -> Result<Me, ClientError> {
        Self::send(self.get("/api/v1/me")).await
    }

    pub async fn policy(&self) -> Result<Policy, ClientError> {
        Self::send(self.get("/api/v1/policy")).await
    }

    pub async fn categories(&self) -> Result<Vec<crate::catalog::CategoryInfo>, ClientError> {
        self.get_json("/api/v1/categories").await
    }

    pub async fn towns(&self) -> Result<Vec<crate::catalog::TownInfo>, ClientError> {
        self.get_json("/api/v1/towns").await
    }

    pub async fn departments(&self) -> Result<Vec<Department>, ClientError> {
        Self::send(self.get("/api/v1/departments")).await
    }

    pub async fn create_department(
        &self,
        d: &NewDepartment,
        idempotency_key: &str,
    ) -> Result<Department, ClientError> {
        Self::send(self.post("/api/v1/departments", idempotency_key).json(d)).await
    }

    /// `PATCH /api/v1/departments/{id}` with `If-Match: "<version>"`.
    pub async fn patch_department(
        &self,
        id: i64,
        version: i64,
        patch: &DepartmentPatch,
    ) -> Result<Department, ClientError> {
        let req = self
            .http
            .patch(self.url(&format!("/api/v1/departments/{id}")))
            .bearer_auth(&self.token)
            .header(header::IF_MATCH, format!("\"{version}\""))
            .json(patch);
        Self::send(req).await
    }

    /// The change feed: a snapshot without `since`, deltas after it; `wait` long-polls.
    pub async fn changes(
        &self,
        since: Option<&str>,
        wait: Option<u64>,
    ) -> Result<Changes, ClientError> {
        let mut req = self.get("/api/v1/changes");
        if let Some(s) = since {
            req = req.query(&[("since", s)]);
        }
        if let Some(w) = wait {
            req = req.query(&[("wait", w)]);
        }
        Self::send(req).await
    }

    pub async fn case(&self, id: i64) -> Result<CaseDetail, ClientError> {
        Self::send(self.get(&format!("/api/v1/cases/{id}"))).await
    }

    /// A page of the case's timeline: events after event `after` (0: from the start).
    pub async fn case_events(
        &self,
        id: i64,
        after: i64,
        limit: Option<u32>,
    ) -> Result<EventPage, ClientError> {
        let mut req = self
            .get(&format!("/api/v1/cases/{id}/events"))
            .query(&[("after", after)]);
        if let Some(l) = limit {
            req = req.query(&[("limit", l)]);
        }
        Self::send(req).await
    }

    /// The case with the requester's phone unmasked.
    pub async fn case_with_phone(&self, id: i64) -> Result<CaseDetail, ClientError> {
        Self::send(
            self.get(&format!("/api/v1/cases/{id}"))
                .query(&[("reveal", "phone")]),
        )
        .await
    }

    pub async fn list(&self, q: &ListQuery) -> Result<CaseList, ClientError> {
        Self::send(self.get("/api/v1/cases").query(q)).await
    }

    pub async fn create_case(
        &self,
        new: &NewCase,
        idempotency_key: &str,
    ) -> Result<CaseDetail, ClientError> {
        Self::send(self.post("/api/v1/cases", idempotency_key).json(new)).await
    }

    /// `POST /api/v1/cases/{id}/{action}` with `If-Match: "<version>"`. The answer carries
    /// the case and the events the action recorded, not the whole timeline.
    pub async fn act(
        &self,
        id: i64,
        version: i64,
        action: &CaseAction,
        idempotency_key: &str,
    ) -> Result<CaseDetail, ClientError> {
        let req = self
            .post(
                &format!("/api/v1/cases/{id}/{}", action.name()),
                idempotency_key,
            )
            .header(header::IF_MATCH, format!("\"{version}\""))
            .json(&action.body());
        Self::send(req).await
    }

    /// `GET /api/v1/groups`: the untriaged queue's similar-request groups.
    pub async fn groups(&self) -> Result<GroupList, ClientError> {
        Self::send(self.get("/api/v1/groups")).await
    }

    /// `POST /api/v1/groups/answer`: one answer for several cases, a result per case.
    pub async fn answer_group(
        &self,
        body: &GroupAnswerBody,
        idempotency_key: &str,
    ) -> Result<GroupOutcome, ClientError> {
        Self::send(
            self.post("/api/v1/groups/answer", idempotency_key)
                .json(body),
        )
        .await
    }

    /// `POST /api/v1/groups/merge`: duplicates merged into one case, a result per duplicate.
    pub async fn merge_group(
        &self,
        body: &GroupMergeBody,
        idempotency_key: &str,
    ) -> Result<GroupOutcome, ClientError> {
        Self::send(
            self.post("/api/v1/groups/merge", idempotency_key)
                .json(body),
        )
        .await
    }

    /// A raw request for tests of malformed input: returns status, content type and body.
    pub async fn raw(
        &self,
        method: reqwest::Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<(StatusCode, String, Vec<u8>), ClientError> {
        let mut req = self
            .http
            .request(method, self.url(path))
            .bearer_auth(&self.token)
            .body(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.map_err(transport_error)?;
        let status = resp.status();
        let ctype = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let bytes = resp.bytes().await.map_err(transport_error)?;
        Ok((status, ctype, bytes.to_vec()))
    }

    /// Text answers (CSV, Markdown) of report endpoints.
    pub async fn get_text(&self, path: &str, accept: &str) -> Result<String, ClientError> {
        let resp = self
            .get(path)
            .header(header::ACCEPT, accept)
            .send()
            .await
            .map_err(transport_error)?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(transport_error)?;
        if status.is_success() {
            String::from_utf8(bytes.to_vec()).map_err(|e| ClientError::BadReply(e.to_string()))
        } else {
            Err(problem_from(status, &bytes))
        }
    }

    /// A JSON answer of any type, for endpoints without a dedicated method.
    pub async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        Self::send(self.get(path)).await
    }

    /// A JSON request of any method and its JSON answer, for endpoints without a dedicated
    /// method (the command-line clients).
    pub async fn send_json<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<T, ClientError> {
        Self::send(
            self.http
                .request(method, self.url(path))
                .bearer_auth(&self.token)
                .json(body),
        )
        .await
    }
}

fn transport_error(e: reqwest::Error) -> ClientError {
    let mut msg = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    if e.is_decode() {
        ClientError::BadReply(msg)
    } else {
        ClientError::Unreachable(msg)
    }
}

pub(crate) fn problem_from(status: StatusCode, bytes: &[u8]) -> ClientError {
    match serde_json::from_slice::<Problem>(bytes) {
        Ok(p) => ClientError::Api(Box::new(p)),
        Err(_) => ClientError::Api(Box::new(Problem {
            kind: "about:blank".into(),
            title: status.canonical_reason().unwrap_or("error").into(),
            status: status.as_u16(),
            detail: String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into_owned(),
            errors: vec![],
            current: None,
            current_department: None,
        })),
    }
}
