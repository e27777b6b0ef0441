//! Builders of every `CaseAction`, with no note where one is optional.

use chrono::{DateTime, FixedOffset};
use jieyou::wire::{
    AnswerBody, CaseAction, DispatchBody, ExtensionDecisionBody, ExtensionRequestBody,
    FollowUpBody, MergeBody, NoteBody, ReasonBody, Satisfaction, TextBody, Tier, TierBody,
};

pub fn triage(t: Tier) -> CaseAction {
    CaseAction::Triage(TierBody {
        tier: t,
        note: None,
    })
}
pub fn retier(t: Tier) -> CaseAction {
    CaseAction::Retier(TierBody {
        tier: t,
        note: None,
    })
}
pub fn claim() -> CaseAction {
    CaseAction::Claim(NoteBody::default())
}
pub fn release() -> CaseAction {
    CaseAction::Release(NoteBody::default())
}
pub fn dispatch(department_id: i64) -> CaseAction {
    CaseAction::Dispatch(DispatchBody {
        department_id,
        note: None,
    })
}
pub fn sign_for() -> CaseAction {
    CaseAction::SignFor(NoteBody::default())
}
pub fn progress(text: &str) -> CaseAction {
    CaseAction::Progress(TextBody { text: text.into() })
}
pub fn resolve(text: &str) -> CaseAction {
    CaseAction::Resolve(TextBody { text: text.into() })
}
pub fn answer_online(text: &str) -> CaseAction {
    CaseAction::AnswerOnline(AnswerBody {
        text: text.into(),
        answer: None,
    })
}
pub fn return_case(reason: &str) -> CaseAction {
    CaseAction::Return(ReasonBody {
        reason: reason.into(),
    })
}
pub fn request_extension(until: DateTime<FixedOffset>, reason: &str) -> CaseAction {
    CaseAction::RequestExtension(ExtensionRequestBody {
        until,
        reason: reason.into(),
    })
}
pub fn decide_extension(approve: bool) -> CaseAction {
    CaseAction::DecideExtension(ExtensionDecisionBody {
        approve,
        note: None,
    })
}
pub fn urge() -> CaseAction {
    CaseAction::Urge(NoteBody::default())
}
pub fn follow_up(result: Satisfaction) -> CaseAction {
    CaseAction::FollowUp(FollowUpBody { result, note: None })
}
pub fn close() -> CaseAction {
    CaseAction::Close(NoteBody::default())
}
pub fn reopen(reason: &str) -> CaseAction {
    CaseAction::Reopen(ReasonBody {
        reason: reason.into(),
    })
}
pub fn note(text: &str) -> CaseAction {
    CaseAction::Note(TextBody { text: text.into() })
}
pub fn merge(into: i64) -> CaseAction {
    CaseAction::Merge(MergeBody { into, note: None })
}
pub fn mark_follow_up() -> CaseAction {
    CaseAction::MarkFollowUp(NoteBody::default())
}
