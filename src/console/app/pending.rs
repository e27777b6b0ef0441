//! Keys typed faster than the server answers. Requests go out one at a time (send.rs), each
//! queued one re-based on the version the previous answer returned. What is decided from the
//! case — triage or re-tier, claim or release — is decided on the case as it will be once the
//! requests already on their way are answered: `t r t b` in one burst re-tiers the case the
//! first `t r` triaged, instead of triaging it twice and earning a 409.

use super::*;

impl App {
    /// `case` with the outcome of its pending requests (in flight, then queued) applied.
    pub(super) fn as_it_will_be(&self, case: &Case) -> Case {
        let mut c = case.clone();
        let me = self.me.as_ref().map(|m| m.name.clone());
        let pending = self
            .in_flight
            .iter()
            .map(|f| &f.out)
            .chain(self.queued.iter().map(|(o, _)| o))
            .filter(|o| o.case_id == Some(case.id));
        for out in pending {
            match &out.op {
                Op::Act(CaseAction::Triage(b) | CaseAction::Retier(b)) => {
                    c.tier = Some(b.tier);
                    if c.status == Status::New {
                        c.status = Status::Triaged;
                    }
                }
                Op::Act(CaseAction::Claim(_)) => c.claimed_by = me.clone(),
                Op::Act(CaseAction::Release(_)) => c.claimed_by = None,
                _ => {}
            }
        }
        c
    }
}
