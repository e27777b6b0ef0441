//! Shift work's requests: presence (`/api/v1/presence`), shifts (`/api/v1/shifts`), handover
//! briefs (`/api/v1/handovers`) and departments' duty rosters (`/api/v1/departments/{id}/duty`).

use super::{Client, ClientError, problem_from, transport_error};
use crate::wire::{
    DutyRoster, EndShift, HandOverClaims, HandOverResult, HandoverBrief, HandoverList,
    PresenceList, PresenceUpdate, Shift, ShiftList,
};

impl Client {
    /// `PUT /api/v1/presence`: what this console has open now (`case: None` clears it).
    pub async fn put_presence(&self, update: &PresenceUpdate) -> Result<(), ClientError> {
        let req = self
            .http
            .put(self.url("/api/v1/presence"))
            .bearer_auth(&self.token)
            .json(update);
        Self::send_empty(req).await
    }

    /// `GET /api/v1/presence?since=&wait=`: everyone's presence; with `since` the server holds
    /// the request until the list has moved past that version or `wait` seconds ran out.
    pub async fn presence(
        &self,
        since: Option<i64>,
        wait: Option<u64>,
    ) -> Result<PresenceList, ClientError> {
        let mut req = self.get("/api/v1/presence");
        if let Some(since) = since {
            req = req.query(&[("since", since)]);
        }
        if let Some(wait) = wait {
            req = req.query(&[("wait", wait)]);
        }
        Self::send(req).await
    }

    /// `GET /api/v1/shifts` (`open`: only the running ones): each user's latest shift.
    pub async fn shifts(&self, open: bool) -> Result<ShiftList, ClientError> {
        let path = if open {
            "/api/v1/shifts?open=true"
        } else {
            "/api/v1/shifts"
        };
        Self::send(self.get(path)).await
    }

    /// `POST /api/v1/shifts/start`: starts the caller's shift (or answers the running one).
    pub async fn start_shift(&self, idempotency_key: &str) -> Result<Shift, ClientError> {
        Self::send(self.post("/api/v1/shifts/start", idempotency_key)).await
    }

    /// `POST /api/v1/shifts/end`: ends the caller's shift; the answer is the stored brief.
    pub async fn end_shift(
        &self,
        body: &EndShift,
        idempotency_key: &str,
    ) -> Result<HandoverBrief, ClientError> {
        Self::send(self.post("/api/v1/shifts/end", idempotency_key).json(body)).await
    }

    /// `POST /api/v1/shifts/{id}/claims`: releases an ended shift's claims or hands them over.
    pub async fn hand_over_claims(
        &self,
        shift_id: i64,
        body: &HandOverClaims,
        idempotency_key: &str,
    ) -> Result<HandOverResult, ClientError> {
        Self::send(
            self.post(
                &format!("/api/v1/shifts/{shift_id}/claims"),
                idempotency_key,
            )
            .json(body),
        )
        .await
    }

    /// `GET /api/v1/handovers` (`unacknowledged`: only the briefs the caller has still to read).
    pub async fn handovers(&self, unacknowledged: bool) -> Result<HandoverList, ClientError> {
        let path = if unacknowledged {
            "/api/v1/handovers?unacknowledged=true"
        } else {
            "/api/v1/handovers"
        };
        Self::send(self.get(path)).await
    }

    /// `GET /api/v1/handovers/{id}`.
    pub async fn handover(&self, id: i64) -> Result<HandoverBrief, ClientError> {
        Self::send(self.get(&format!("/api/v1/handovers/{id}"))).await
    }

    /// `POST /api/v1/handovers/{id}/ack`: the caller has read the brief.
    pub async fn ack_handover(
        &self,
        id: i64,
        idempotency_key: &str,
    ) -> Result<HandoverBrief, ClientError> {
        Self::send(self.post(&format!("/api/v1/handovers/{id}/ack"), idempotency_key)).await
    }

    /// `PUT /api/v1/departments/{id}/duty`: replaces the department's duty roster.
    pub async fn put_duty(
        &self,
        department_id: i64,
        roster: &DutyRoster,
    ) -> Result<(), ClientError> {
        let req = self
            .http
            .put(self.url(&format!("/api/v1/departments/{department_id}/duty")))
            .bearer_auth(&self.token)
            .json(roster);
        Self::send_empty(req).await
    }

    /// A request whose success carries nothing the caller needs (or no body at all).
    async fn send_empty(req: reqwest::RequestBuilder) -> Result<(), ClientError> {
        let resp = req.send().await.map_err(transport_error)?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let bytes = resp.bytes().await.map_err(transport_error)?;
        Err(problem_from(status, &bytes))
    }
}
