//! The answer library's requests (`/api/v1/answers`).

use reqwest::header;

use super::{Client, ClientError};
use crate::wire::{Answer, AnswerCases, AnswerDetail, AnswerList, NewAnswer};

impl Client {
    /// `GET /api/v1/answers`: the answers that may be sent now, or with `all` also retired
    /// and out-of-window ones (the supervisor's library view).
    pub async fn answers(&self, all: bool) -> Result<AnswerList, ClientError> {
        let path = if all {
            "/api/v1/answers?include_retired=true&include_expired=true"
        } else {
            "/api/v1/answers"
        };
        Self::send(self.get(path)).await
    }

    /// `GET /api/v1/answers?q=`.
    pub async fn search_answers(&self, q: &str) -> Result<AnswerList, ClientError> {
        Self::send(self.get("/api/v1/answers").query(&[("q", q)])).await
    }

    pub async fn answer(&self, id: i64) -> Result<AnswerDetail, ClientError> {
        Self::send(self.get(&format!("/api/v1/answers/{id}"))).await
    }

    pub async fn create_answer(
        &self,
        new: &NewAnswer,
        idempotency_key: &str,
    ) -> Result<Answer, ClientError> {
        Self::send(self.post("/api/v1/answers", idempotency_key).json(new)).await
    }

    /// `PUT /api/v1/answers/{id}` with `If-Match: "<version>"`: the answer's next version.
    pub async fn update_answer(
        &self,
        id: i64,
        version: i64,
        new: &NewAnswer,
    ) -> Result<Answer, ClientError> {
        let req = self
            .http
            .put(self.url(&format!("/api/v1/answers/{id}")))
            .bearer_auth(&self.token)
            .header(header::IF_MATCH, format!("\"{version}\""))
            .json(new);
        Self::send(req).await
    }

    pub async fn retire_answer(
        &self,
        id: i64,
        idempotency_key: &str,
    ) -> Result<Answer, ClientError> {
        Self::send(self.post(&format!("/api/v1/answers/{id}/retire"), idempotency_key)).await
    }

    /// `GET /api/v1/answers/{id}/cases?days=`: the cases answered with it lately.
    pub async fn answer_cases(&self, id: i64, days: i64) -> Result<AnswerCases, ClientError> {
        Self::send(
            self.get(&format!("/api/v1/answers/{id}/cases"))
                .query(&[("days", days)]),
        )
        .await
    }
}
