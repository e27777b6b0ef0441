//! Wire types of the policy answer library (`/api/v1/answers`). Answers do not travel on the
//! change feed: a console asks for the list and refreshes it itself.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use chrono::{DateTime, FixedOffset};

/// Longest accepted answer title, in characters.
pub const MAX_ANSWER_TITLE_CHARS: usize = 100;
/// Longest accepted tag, in characters.
pub const MAX_TAG_CHARS: usize = 20;
/// Most tags on one answer.
pub const MAX_TAGS: usize = 12;
/// Longest look back of `GET /api/v1/answers/{id}/cases?days=`.
pub const MAX_ANSWER_DAYS: i64 = 90;

/// A library answer as it is now (its current version), with how often it was used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Answer {
    pub id: i64,
    /// The current version: 1 when created, one more on every edit.
    pub version: i64,
    pub title: String,
    /// The template: text with placeholders (`{requester}`, `{town}`, `{ref}`).
    pub body: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Not to be used before this time (`null`: from its creation).
    #[serde(default)]
    pub valid_from: Option<DateTime<FixedOffset>>,
    /// Not to be used from this time on (`null`: until retired).
    #[serde(default)]
    pub valid_until: Option<DateTime<FixedOffset>>,
    /// Set when a supervisor retired it: it may no longer be sent.
    #[serde(default)]
    pub retired_at: Option<DateTime<FixedOffset>>,
    /// When the current version was written, and by whom.
    pub updated_at: DateTime<FixedOffset>,
    #[serde(default)]
    pub updated_by: String,
    /// Cases answered with any version of it.
    #[serde(default)]
    pub uses: i64,
}

impl Answer {
    /// May be sent at `now`: not retired and inside its validity window.
    pub fn usable_at(&self, now: chrono::DateTime<chrono::Utc>) -> bool {
        self.retired_at.is_none()
            && self.valid_from.is_none_or(|f| f <= now)
            && self.valid_until.is_none_or(|u| now < u)
    }
}

/// One version of an answer, as it was written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AnswerVersion {
    pub version: i64,
    pub title: String,
    pub body: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub valid_from: Option<DateTime<FixedOffset>>,
    #[serde(default)]
    pub valid_until: Option<DateTime<FixedOffset>>,
    pub created_at: DateTime<FixedOffset>,
    #[serde(default)]
    pub created_by: String,
}

/// `GET /api/v1/answers/{id}`: the answer and every version, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AnswerDetail {
    pub answer: Answer,
    pub versions: Vec<AnswerVersion>,
}

/// `GET /api/v1/answers`: most used first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AnswerList {
    pub answers: Vec<Answer>,
}

/// `POST /api/v1/answers` and `PUT /api/v1/answers/{id}` (which writes a new version with
/// every field as given).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAnswer {
    pub title: String,
    pub body: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<DateTime<FixedOffset>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<DateTime<FixedOffset>>,
}

/// A case answered with a library answer: the follow-up list after a correction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AnswerUse {
    pub case_id: i64,
    pub reference: String,
    pub title: String,
    /// The version of the answer the case was answered with.
    pub version: i64,
    pub answered_at: DateTime<FixedOffset>,
    #[serde(default)]
    pub answered_by: String,
}

/// `GET /api/v1/answers/{id}/cases`: newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AnswerCases {
    pub answer_id: i64,
    pub days: i64,
    pub cases: Vec<AnswerUse>,
}
