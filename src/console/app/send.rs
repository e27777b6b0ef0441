//! Sending requests and reading their answers: one request in flight at a time, retries with
//! the same idempotency key, 412s explained, refusals shown with the server's reason.

use super::*;

impl App {
    pub(super) fn send(&mut self, out: Outgoing, origin: Origin) -> Vec<Effect> {
        if self.in_flight.is_some() {
            // One request at a time keeps versions straight: a dispatch typed while its
            // triage is on the way goes out once the triage has answered.
            self.queued.push((out, origin));
            return vec![];
        }
        let request = self.next_request;
        self.next_request += 1;
        let effect = match &out.op {
            Op::Act(action) => Effect::Act {
                request,
                case_id: out.case_id.unwrap_or_default(),
                version: out.version,
                action: action.clone(),
                idempotency_key: out.key.clone(),
            },
            Op::Create(case) => Effect::Create {
                request,
                case: case.clone(),
                idempotency_key: out.key.clone(),
            },
        };
        if origin == Origin::Simple {
            let text = self
                .i18n
                .f("msg.sending", &[("action", &self.op_label(&out.op))]);
            self.info(Level::Info, text);
        }
        self.in_flight = Some(InFlight {
            request,
            out,
            origin,
        });
        vec![effect]
    }

    pub(super) fn send_next(&mut self) -> Vec<Effect> {
        if self.queued.is_empty() {
            return vec![];
        }
        let (out, origin) = self.queued.remove(0);
        self.send(out, origin)
    }

    pub(super) fn take_in_flight(&mut self, request: RequestId) -> Option<InFlight> {
        match &self.in_flight {
            Some(f) if f.request == request => self.in_flight.take(),
            _ => None,
        }
    }

    pub(super) fn on_action_done(&mut self, request: RequestId, detail: CaseDetail) -> Vec<Effect> {
        let Some(done) = self.take_in_flight(request) else {
            return vec![];
        };
        let case = detail.case.clone();
        let (old, new) = (done.out.version, case.version);
        // Forms and queued requests that were based on the version we just moved past follow
        // along: the change was ours.
        if done.out.case_id == Some(case.id) {
            for (q, _) in &mut self.queued {
                if q.case_id == Some(case.id) && q.version == old {
                    q.version = new;
                    q.seen = Some(Box::new(case.clone()));
                }
            }
            if !matches!(&self.mode, Mode::Picker(p) if p.sending)
                && !matches!(&self.mode, Mode::Text(t) if t.sending)
            {
                bump_form_base(&mut self.mode, &case, old);
            }
        }
        let label = self.op_label(&done.out.op);
        let reference = case.reference.clone();
        let is_create = matches!(done.out.op, Op::Create(_));
        self.upsert(case.clone());
        self.sup_seen(&case);
        if is_create {
            // Show the operator the case they just took down.
            self.view = View::Queue;
            self.selected_id = Some(case.id);
        }
        self.relocate();
        let mut fetch = vec![];
        if self.selected_id == Some(case.id) {
            fetch = self.take_answer_into_detail(detail, is_create);
        }
        let repeat_call = matches!(&self.mode, Mode::Text(t) if t.repeat_call && t.sending);
        if done.origin == Origin::Form && self.mode.is_form() {
            self.mode = Mode::Normal;
        }
        if is_create || repeat_call {
            self.intake_call_done(repeat_call);
        }
        self.info(
            Level::Success,
            self.i18n
                .f("msg.done", &[("action", &label), ("ref", &reference)]),
        );
        let mut effects = self.send_next();
        effects.extend(self.after_move());
        effects.extend(fetch);
        effects
    }

    /// An action's answer carries the case and only the events the action recorded: they
    /// extend the timeline held for the case. Without one held, a new case's answer is its
    /// whole timeline; otherwise the timeline is fetched.
    fn take_answer_into_detail(&mut self, answer: CaseDetail, is_create: bool) -> Vec<Effect> {
        match &mut self.detail {
            Some(held) if held.case.id == answer.case.id => {
                let last = held.events.last().map_or(i64::MIN, |e| e.id);
                held.events
                    .extend(answer.events.into_iter().filter(|e| e.id > last));
                held.event_count = answer.event_count.max(held.events.len() as i64);
                held.case = answer.case;
                vec![]
            }
            _ if is_create => {
                self.detail = Some(answer);
                vec![]
            }
            _ => vec![Effect::FetchDetail {
                case_id: answer.case.id,
                reveal_phone: self.phone_revealed,
            }],
        }
    }

    pub(super) fn on_action_failed(
        &mut self,
        request: RequestId,
        error: ClientError,
    ) -> Vec<Effect> {
        let Some(failed) = self.take_in_flight(request) else {
            return vec![];
        };
        let label = self.op_label(&failed.out.op);
        let case_id = failed.out.case_id;
        let mut effects = self.library_after_refusal(&error);
        let reason = match error.problem().filter(|p| p.status != 401) {
            Some(p) => {
                let case = case_id
                    .and_then(|id| self.case(id))
                    .or(failed.out.seen.as_deref());
                self.refusal_text(p, case)
            }
            None => self.error_text(&error),
        };
        let form_open = failed.origin == Origin::Form && self.mode.is_form();
        if error.is_transient() {
            // Kept with its idempotency key: a retry cannot act twice.
            let text = self
                .i18n
                .f("msg.not_sent", &[("action", &label), ("error", &reason)]);
            if form_open {
                set_form_error(&mut self.mode, text.clone(), false);
                self.info(Level::Error, text);
            } else {
                let parked = self.park();
                self.mode = Mode::Unsent {
                    out: failed.out,
                    reason,
                    parked,
                };
            }
        } else if let Some(current) = error
            .problem()
            .filter(|p| p.status == 412)
            .and_then(|p| p.current.clone())
        {
            let held = failed
                .out
                .case_id
                .and_then(|id| self.cases.get(&id))
                .map(|c| &**c);
            let changes = self.diff(failed.out.seen.as_deref().or(held), &current.case);
            self.upsert(current.case.clone());
            self.relocate();
            if self.selected_id == Some(current.case.id) {
                self.detail = Some((*current).clone());
            }
            let parked = if form_open {
                Some(Box::new(std::mem::replace(&mut self.mode, Mode::Normal)))
            } else {
                self.park()
            };
            self.mode = Mode::Conflict {
                out: failed.out,
                current,
                changes,
                parked,
                from_form: form_open,
            };
        } else {
            let text = self
                .i18n
                .f("msg.refused", &[("action", &label), ("error", &reason)]);
            if let (Mode::NewCase(f), Some(p)) = (&mut self.mode, error.problem()) {
                // Put the server's field errors next to the fields they are about.
                for fe in &p.errors {
                    if let Some(i) = new_case_field(&fe.field) {
                        f.errors.insert(i, fe.message.clone());
                        f.focus = i;
                        f.fields[i].to_end();
                    }
                }
            }
            if form_open {
                // The server said no: the same key would only repeat that answer.
                set_form_error(&mut self.mode, text.clone(), true);
            }
            self.info(Level::Error, text);
        }
        // Requests queued behind a failed one were based on it; drop them rather than send
        // them against a state the operator did not see.
        self.queued
            .retain(|(q, _)| q.case_id != case_id || case_id.is_none());
        effects.extend(self.send_next());
        effects
    }

    /// Puts an open form aside while a dialog about another request is shown.
    pub(super) fn park(&mut self) -> Option<Box<Mode>> {
        match std::mem::replace(&mut self.mode, Mode::Normal) {
            Mode::Normal | Mode::Help | Mode::Filter => None,
            m => Some(Box::new(m)),
        }
    }

    pub(super) fn diff(&self, was: Option<&Case>, now: &Case) -> Vec<FieldChange> {
        let Some(was) = was else {
            return vec![];
        };
        let t = |k: &str| self.i18n.t(k).to_string();
        let tier = |x: Option<Tier>| {
            x.map(|x| t(&format!("tier.{}", x.as_str())))
                .unwrap_or_else(|| t("tier.none"))
        };
        let dept = |x: Option<i64>| {
            x.map(|id| {
                self.department_name(id)
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("#{id}"))
            })
            .unwrap_or_else(|| "—".into())
        };
        let status = |s: Status| t(&format!("status.{}", s.as_str()));
        let mut out = Vec::new();
        if was.status != now.status {
            out.push(("field.status", status(was.status), status(now.status)));
        }
        if was.tier != now.tier {
            out.push(("field.tier", tier(was.tier), tier(now.tier)));
        }
        if was.department_id != now.department_id {
            out.push((
                "field.department",
                dept(was.department_id),
                dept(now.department_id),
            ));
        }
        if was.claimed_by != now.claimed_by {
            let c = |x: &Option<String>| x.clone().unwrap_or_else(|| "—".into());
            out.push(("field.claimed_by", c(&was.claimed_by), c(&now.claimed_by)));
        }
        if was.title != now.title {
            out.push(("field.title", was.title.clone(), now.title.clone()));
        }
        out.push((
            "field.version",
            was.version.to_string(),
            now.version.to_string(),
        ));
        out
    }

    pub fn op_label(&self, op: &Op) -> String {
        match op {
            Op::Act(a) => self.i18n.t(&format!("action.{}", a.name())).to_string(),
            Op::Create(_) => self.i18n.t("action.create").to_string(),
        }
    }

    /// The operator's words for a failure.
    pub fn error_text(&self, e: &ClientError) -> String {
        match e {
            ClientError::Unreachable(detail) => self.i18n.f(
                "err.unreachable",
                &[("server", &self.server_label), ("detail", detail)],
            ),
            ClientError::BadReply(detail) => self.i18n.f(
                "err.bad_reply",
                &[("server", &self.server_label), ("detail", detail)],
            ),
            ClientError::Api(p) if p.status == 401 => self.i18n.t("err.token").to_string(),
            ClientError::Api(p) => self.refusal_text(p, None),
        }
    }
}

pub(super) fn set_form_error(mode: &mut Mode, text: String, new_key: bool) {
    let key = || new_idempotency_key();
    match mode {
        Mode::Picker(p) => {
            p.sending = false;
            p.error = Some(text);
            if new_key {
                p.key = key();
            }
        }
        Mode::Text(f) => {
            f.sending = false;
            f.error = Some(text);
            if new_key {
                f.key = key();
            }
        }
        Mode::NewCase(f) => {
            f.sending = false;
            f.error = Some(text);
            if new_key {
                f.key = key();
            }
        }
        _ => {}
    }
}

/// Re-bases an open form on the case as it is now (after a 412); a new intent, a new key.
pub(super) fn set_form_base(mode: &mut Mode, case: &Case) {
    match mode {
        Mode::Picker(p) => {
            *p.seen = case.clone();
            p.sending = false;
            p.key = new_idempotency_key();
        }
        Mode::Text(f) => {
            *f.seen = case.clone();
            f.sending = false;
            f.key = new_idempotency_key();
        }
        Mode::NewCase(f) => f.sending = false,
        _ => {}
    }
}

pub(super) fn set_form_sending(mode: &mut Mode, case: &Case) {
    set_form_base(mode, case);
    match mode {
        Mode::Picker(p) => p.sending = true,
        Mode::Text(f) => f.sending = true,
        Mode::NewCase(f) => f.sending = true,
        _ => {}
    }
}

/// Our own action moved the case from `old` to `case.version`: a form based on `old` follows.
pub(super) fn bump_form_base(mode: &mut Mode, case: &Case, old: i64) {
    match mode {
        Mode::Picker(p) if p.case_id == case.id && p.seen.version == old => {
            *p.seen = case.clone();
        }
        Mode::Text(f) if f.case_id == case.id && f.seen.version == old => {
            *f.seen = case.clone();
        }
        _ => {}
    }
}

/// The form field a server's JSON path names (`requester.phone` → the phone field).
pub(super) fn new_case_field(path: &str) -> Option<usize> {
    Some(match path.trim_start_matches("body.") {
        "channel" => 0,
        "title" => 1,
        "category" => 2,
        "requester.name" => 3,
        "requester.phone" => 4,
        "location.town" => 5,
        "location.address" => 6,
        "description" => 7,
        _ => return None,
    })
}
