//! Keys that fit the role: every case command is checked against the server's own table
//! before it opens anything; the department's actions and their forms; refusals and
//! durations in the operator's language.

use super::*;
use crate::console::permissions::{self, NotOffered, UntilError};
use crate::console::textfield::TextField;
use crate::wire::{AnswerBody, ExtensionRequestBody, ReasonBody, Role};

impl App {
    /// Whether `command` is offered now (for the hint bar): on the selected case, by the role.
    pub fn offered(&self, command: Command) -> bool {
        match &self.me {
            Some(me) => permissions::offered(command, me, self.selected_case()).is_ok(),
            None => true,
        }
    }

    /// Whether the signed-in role uses `command` at all (for `?`).
    pub fn role_uses(&self, command: Command) -> bool {
        self.me
            .as_ref()
            .is_none_or(|me| permissions::role_uses(command, me.role))
    }

    /// `Err` with the short hint to show when `command` is not offered here.
    pub(super) fn gate(&self, command: Command) -> Result<(), (NotOffered, String)> {
        let Some(me) = &self.me else {
            return Ok(());
        };
        let case = self.selected_case();
        let why = match permissions::offered(command, me, case) {
            Ok(()) => return Ok(()),
            Err(why) => why,
        };
        let action = self.i18n.t(&format!("cmd.{}", command.name())).to_string();
        let supervisor = matches!(me.role, Role::Supervisor | Role::Admin);
        let text = match (why, case) {
            // The usual misses, said the way the desk says them.
            (NotOffered::State, Some(c))
                if command == Command::Extension && c.pending_extension.is_none() =>
            {
                self.i18n.f("msg.no_extension", &[("ref", &c.reference)])
            }
            (NotOffered::State, Some(c))
                if command == Command::FollowUp && c.status != Status::Resolved =>
            {
                self.i18n.f("msg.no_follow_up", &[("ref", &c.reference)])
            }
            (NotOffered::State, Some(c))
                if command == Command::Assign && self.is_reassignment(c) && !supervisor =>
            {
                self.i18n
                    .f("msg.reassign_supervisors", &[("ref", &c.reference)])
            }
            (NotOffered::State, Some(c)) => self.i18n.f(
                "msg.not_in_state",
                &[
                    ("action", &action),
                    ("ref", &c.reference),
                    (
                        "status",
                        self.i18n.t(&format!("status.{}", c.status.as_str())),
                    ),
                ],
            ),
            _ => self.i18n.f("msg.not_for_role", &[("action", &action)]),
        };
        Err((why, text))
    }

    /// Where a case sorts in its pane: a department works to its own next deadline
    /// (signing for, then the feedback), everyone else to the case's next one.
    pub(super) fn queue_due(&self, c: &Case) -> i64 {
        let department = self.me.as_ref().is_some_and(|m| m.role == Role::Department);
        let due = if department {
            permissions::department_due(c)
        } else {
            c.next_due.as_ref().map(|d| d.due_at.timestamp())
        };
        due.unwrap_or(i64::MAX)
    }

    /// Opens the one-text form of `kind` on `case`, with the draft put aside earlier.
    pub(super) fn open_text(&mut self, kind: TextKind, case: &Case) {
        let draft = self.drafts.remove(&(case.id, kind)).unwrap_or_default();
        self.mode = Mode::Text(TextForm {
            kind,
            case_id: case.id,
            seen: Box::new(case.clone()),
            text: TextField::new(&draft),
            until: TextField::new(""),
            until_focus: kind == TextKind::Extension,
            key: new_idempotency_key(),
            sending: false,
            error: None,
            repeat_call: false,
            editor: None,
        });
    }

    /// The department's commands and the supervisor's reassignment reason.
    pub(super) fn role_case_command(&mut self, command: Command, case: &Case) -> Vec<Effect> {
        match command {
            Command::SignFor => self.send_simple(case, CaseAction::SignFor(NoteBody::default())),
            Command::Progress => {
                self.open_text(TextKind::Progress, case);
                vec![]
            }
            Command::Resolve => {
                self.open_text(TextKind::Resolve, case);
                vec![]
            }
            Command::Return => {
                self.open_text(TextKind::Return, case);
                vec![]
            }
            Command::RequestExtension => {
                self.open_text(TextKind::Extension, case);
                vec![]
            }
            _ => vec![],
        }
    }

    /// The request a filled-in text form stands for, or the error to show in it.
    pub(super) fn text_action(&self, f: &TextForm) -> Result<CaseAction, String> {
        let text = f.text.trim().to_string();
        let empty_key = match f.kind {
            TextKind::Return | TextKind::Extension | TextKind::Reassign(_) => {
                "form.error.empty_reason"
            }
            _ => "form.error.empty_text",
        };
        if text.is_empty() {
            return Err(self.i18n.t(empty_key).to_string());
        }
        Ok(match f.kind {
            TextKind::Answer => CaseAction::AnswerOnline(match &f.editor {
                Some(e) => e.body(text),
                None => AnswerBody { text, answer: None },
            }),
            TextKind::Note => CaseAction::Note(TextBody { text }),
            TextKind::Progress => CaseAction::Progress(TextBody { text }),
            TextKind::Resolve => CaseAction::Resolve(TextBody { text }),
            TextKind::Return => CaseAction::Return(ReasonBody { reason: text }),
            TextKind::Reassign(department_id) => CaseAction::Dispatch(DispatchBody {
                department_id,
                note: Some(text),
            }),
            TextKind::Extension => {
                let now = self.server_now(self.now);
                let until =
                    permissions::parse_until(f.until.as_str(), now, self.server_zone, &f.seen)
                        .map_err(|e| {
                            self.i18n
                                .t(match e {
                                    UntilError::Unreadable => "form.error.until",
                                    UntilError::NotLater => "form.error.until_later",
                                })
                                .to_string()
                        })?;
                CaseAction::RequestExtension(ExtensionRequestBody {
                    until,
                    reason: text,
                })
            }
        })
    }

    /// A triage of this case is on its way (`t r a` typed fast): `a` goes straight to the
    /// picker, whose dispatch waits for the triage.
    pub(super) fn triage_pending(&self, case_id: i64) -> bool {
        let is_triage = |o: &Outgoing| {
            o.case_id == Some(case_id) && matches!(o.op, Op::Act(CaseAction::Triage(_)))
        };
        self.in_flight.as_ref().is_some_and(|f| is_triage(&f.out))
            || self.queued.iter().any(|(o, _)| is_triage(o))
    }

    /// `a` on a case a department holds is a reassignment: the picker's choice then asks why.
    pub(super) fn is_reassignment(&self, case: &Case) -> bool {
        matches!(case.status, Status::Dispatched | Status::InProgress)
    }

    /// A refusal from the server in the operator's words: its problem `type` says which kind of
    /// no it is; a type this console does not know shows the server's own `detail`.
    pub(super) fn refusal_text(&self, p: &crate::wire::Problem, case: Option<&Case>) -> String {
        let kind = p.kind.rsplit('/').next().unwrap_or_default();
        let status = |c: &Case| {
            self.i18n
                .t(&format!("status.{}", c.status.as_str()))
                .to_string()
        };
        let mut s = match kind {
            "forbidden" => self.i18n.t("problem.forbidden").to_string(),
            "state-conflict" => match case {
                Some(c) => {
                    let mut s = self
                        .i18n
                        .f("problem.state_conflict", &[("status", &status(c))]);
                    if let Some(who) = c
                        .claimed_by
                        .as_deref()
                        .filter(|w| self.me.as_ref().is_none_or(|m| m.name != *w))
                    {
                        s.push_str(" · ");
                        s.push_str(&self.i18n.f("problem.claimed_by", &[("who", who)]));
                    }
                    if c.awaiting_ruling {
                        s.push_str(" · ");
                        s.push_str(self.i18n.t("detail.awaiting_ruling"));
                    }
                    s
                }
                None => self.i18n.t("problem.state_conflict_plain").to_string(),
            },
            "validation" if p.errors.iter().any(|e| e.field == "answer") => {
                self.i18n.t("problem.answer").to_string()
            }
            "validation" => self.i18n.t("problem.validation").to_string(),
            "not-found" => self.i18n.t("problem.not_found").to_string(),
            "if-match-required" | "stale-version" => self.i18n.t("problem.stale").to_string(),
            "internal" => self.i18n.t("problem.internal").to_string(),
            "shift-running" => self.i18n.t("problem.shift_running").to_string(),
            "not-on-shift" => self.i18n.t("problem.not_on_shift").to_string(),
            _ if p.detail.is_empty() => p.title.clone(),
            _ => p.detail.clone(),
        };
        for fe in &p.errors {
            s.push_str(&format!(" · {}: {}", fe.field, fe.message));
        }
        format!("{s} ({})", p.status)
    }
}
