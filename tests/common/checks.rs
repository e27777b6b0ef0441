//! The desk's wall clock (Kaihua, UTC+8) relative to the harness's start, and reading cases
//! back to check them.

use chrono::{DateTime, Duration, FixedOffset, Utc};
use jieyou::client::ClientError;
use jieyou::server::Clock;
use jieyou::wire::{CaseDetail, ClockKind, Deadline, Problem};

use super::{TestApp, start_time};

pub fn kaihua() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap()
}

/// `minutes` after the harness's start (2022-05-08 21:04 +08:00), in UTC.
pub fn t(minutes: i64) -> DateTime<Utc> {
    start_time() + Duration::minutes(minutes)
}

/// The same, as the desk's wall clock.
pub fn at(minutes: i64) -> DateTime<FixedOffset> {
    t(minutes).with_timezone(&kaihua())
}

/// The same, as RFC 3339 text: comparing text checks the offset as well as the instant.
pub fn at_s(minutes: i64) -> String {
    at(minutes).to_rfc3339()
}

pub fn rfc(t: &DateTime<FixedOffset>) -> String {
    t.to_rfc3339()
}

/// An instant in the desk's zone, as RFC 3339 text.
pub fn local_s(t: DateTime<Utc>) -> String {
    t.with_timezone(&kaihua()).to_rfc3339()
}

/// The manual clock's time, in the desk's zone, as RFC 3339 text.
pub fn now_s(app: &TestApp) -> String {
    local_s(app.clock.now())
}

/// Fetches a case as the observer (who sees every case).
pub async fn fetch(app: &TestApp, id: i64) -> CaseDetail {
    app.observer
        .case(id)
        .await
        .expect("observer reads the case")
}

pub fn problem_of(e: ClientError) -> Problem {
    match e {
        ClientError::Api(p) => *p,
        other => panic!("expected a problem answer, got {other}"),
    }
}

pub fn deadline(c: &CaseDetail, clock: ClockKind) -> &Deadline {
    c.case
        .deadlines
        .iter()
        .find(|d| d.clock == clock)
        .unwrap_or_else(|| panic!("no {clock:?} deadline in {:#?}", c.case.deadlines))
}
