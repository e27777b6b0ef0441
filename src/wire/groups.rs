//! Similar-request groups on the wire: `GET /api/v1/groups`, `POST /api/v1/groups/answer` and
//! `POST /api/v1/groups/merge`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{AnswerRef, CaseDetail, Problem};

/// Most cases one group request may name.
pub const MAX_GROUP_CASES: usize = 100;

/// A case and the version the client last saw (what `If-Match` carries for one case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseVersion {
    pub id: i64,
    pub version: i64,
}

/// A group of open untriaged cases that are one request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CaseGroup {
    /// The group's first case: what its members' `group` names (it may have left the queue).
    pub anchor: i64,
    /// The group's open untriaged cases, oldest first.
    pub cases: Vec<CaseVersion>,
    pub count: usize,
}

/// `GET /api/v1/groups`: every group with at least two open untriaged cases.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GroupList {
    pub groups: Vec<CaseGroup>,
}

/// `POST /api/v1/groups/answer`: one answer for several cases, each at the version the
/// operator saw. `text` may use the placeholders `{requester}`, `{town}` and `{ref}`, filled
/// per case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupAnswerBody {
    pub cases: Vec<CaseVersion>,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<AnswerRef>,
}

/// `POST /api/v1/groups/merge`: true duplicates merged into the case `into`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupMergeBody {
    pub into: i64,
    pub cases: Vec<CaseVersion>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// What happened to one case of a group request: `status` is the status the same action on
/// that case alone would have answered, with the case (2xx) or the problem (otherwise).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GroupCaseResult {
    pub id: i64,
    pub status: u16,
    #[serde(default)]
    pub case: Option<CaseDetail>,
    #[serde(default)]
    pub problem: Option<Problem>,
}

impl GroupCaseResult {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// The answer to a group request: one result per case, in the order asked. Each case is acted
/// on by itself: one refused case does not undo or stop the others.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GroupOutcome {
    pub results: Vec<GroupCaseResult>,
    /// How many cases were acted on (or had been, for a retried request).
    pub done: usize,
    pub failed: usize,
}
