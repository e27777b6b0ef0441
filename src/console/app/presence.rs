//! Presence: what this console's user has open (published with `PUT /presence`), and what
//! everyone else has open (followed by a long poll), shown on rows and in the detail pane.
//! Presence only warns; nothing here locks a case.

use super::*;
use crate::wire::{
    Activity, PRESENCE_HEARTBEAT_SECS, Presence, PresenceList, PresenceUpdate, Role,
};

#[derive(Debug, Clone, Default)]
pub struct PresenceState {
    /// Everyone's presence by case, as the last good answer gave it.
    by_case: HashMap<i64, Vec<Presence>>,
    /// The version of that answer: the next long poll waits for a newer one.
    pub version: Option<i64>,
    /// What this console published last, and when (local clock).
    sent: Option<(PresenceUpdate, DateTime<Utc>)>,
    /// The poll is failing: its error has been said once in the status line.
    failing: bool,
}

impl PresenceState {
    pub fn sent(&self) -> Option<&PresenceUpdate> {
        self.sent.as_ref().map(|(u, _)| u)
    }
}

/// The glyph a row shows for someone else's activity on it: a pen for a dialog being filled
/// in (the case may change any moment), a small circle for a mere look.
pub fn presence_mark(activity: Activity) -> &'static str {
    match activity {
        Activity::Answering | Activity::Dispatching | Activity::Editing => "✎",
        Activity::Viewing | Activity::Unknown => "◦",
    }
}

/// Writing outranks looking: a row shows its most pressing activity.
fn weight(a: Activity) -> u8 {
    match a {
        Activity::Viewing | Activity::Unknown => 0,
        Activity::Editing => 1,
        Activity::Dispatching => 2,
        Activity::Answering => 3,
    }
}

impl App {
    /// Whether this user's role tells the desk what it has open: those who act on cases (a
    /// department on its own); observers, intake and admins edit nothing a warning would save.
    pub fn publishes_presence(&self) -> bool {
        self.me
            .as_ref()
            .is_some_and(|m| matches!(m.role, Role::Operator | Role::Supervisor | Role::Department))
    }

    /// Others who have this case open and whose presence has not lapsed at `now` (local
    /// clock): the entries of one case, never the whole list.
    pub fn others_on(&self, case_id: i64, now: DateTime<Utc>) -> impl Iterator<Item = &Presence> {
        let me = self.me.as_ref().map(|m| m.name.as_str());
        let server_now = self.server_now(now);
        self.presence
            .by_case
            .get(&case_id)
            .into_iter()
            .flatten()
            .filter(move |p| Some(p.user.as_str()) != me)
            .filter(move |p| p.expires_at.with_timezone(&Utc) > server_now)
    }

    /// The most pressing activity of others on this case, for its row's mark.
    pub fn row_presence(&self, case_id: i64, now: DateTime<Utc>) -> Option<Activity> {
        self.others_on(case_id, now)
            .map(|p| p.activity)
            .max_by_key(|a| weight(*a))
    }

    /// The detail pane's presence lines: "李敏 is answering this case", "王芳 viewing".
    pub fn presence_lines(&self, case_id: i64, now: DateTime<Utc>) -> Vec<(String, Activity)> {
        let mut others: Vec<&Presence> = self.others_on(case_id, now).collect();
        others.sort_by(|a, b| {
            weight(b.activity)
                .cmp(&weight(a.activity))
                .then_with(|| a.user.cmp(&b.user))
        });
        others
            .into_iter()
            .map(|p| {
                let key = match p.activity {
                    Activity::Answering => "presence.answering",
                    Activity::Dispatching => "presence.dispatching",
                    Activity::Editing => "presence.editing",
                    Activity::Viewing | Activity::Unknown => "presence.viewing",
                };
                (self.i18n.f(key, &[("user", &p.user)]), p.activity)
            })
            .collect()
    }

    pub(super) fn on_presence_loaded(&mut self, list: PresenceList) -> Vec<Effect> {
        let mut by_case: HashMap<i64, Vec<Presence>> = HashMap::new();
        for p in list.entries {
            by_case.entry(p.case).or_default().push(p);
        }
        self.presence.by_case = by_case;
        self.presence.version = Some(list.version);
        self.presence.failing = false;
        vec![]
    }

    /// The last good list stays on screen; the status line says once that it may be old.
    pub(super) fn on_presence_failed(&mut self, error: &ClientError) -> Vec<Effect> {
        if !self.presence.failing {
            self.presence.failing = true;
            let text = self
                .i18n
                .f("msg.presence_failed", &[("error", &self.error_text(error))]);
            self.info(Level::Error, text);
        }
        vec![]
    }

    /// What this console has open now: the case of an open dialog, else the selected case of
    /// a view that shows one.
    fn wanted_presence(&self) -> PresenceUpdate {
        fn dialog(mode: &Mode) -> Option<(i64, Activity)> {
            match mode {
                Mode::Text(f) if f.kind == TextKind::Answer => {
                    Some((f.case_id, Activity::Answering))
                }
                Mode::Text(f) => Some((f.case_id, Activity::Editing)),
                Mode::Picker(p) => Some((p.case_id, Activity::Dispatching)),
                Mode::Tier { case_id, .. } => Some((*case_id, Activity::Editing)),
                Mode::Sup(f) => Some((f.case_id, Activity::Editing)),
                Mode::Unsent { parked, .. } | Mode::Conflict { parked, .. } => {
                    parked.as_deref().and_then(dialog)
                }
                _ => None,
            }
        }
        if let Some((case, activity)) = dialog(&self.mode) {
            return PresenceUpdate {
                case: Some(case),
                activity,
            };
        }
        let shows_case = matches!(self.view, View::Queue | View::Overdue | View::Search);
        PresenceUpdate {
            case: self.selected_id.filter(|_| shows_case),
            activity: Activity::Viewing,
        }
    }

    /// After every update: publish what changed, repeat what holds every heartbeat, and clear
    /// it on the way out.
    pub(super) fn presence_effects(&mut self, quitting: bool) {
        if !self.publishes_presence() {
            return;
        }
        let wanted = if quitting {
            PresenceUpdate {
                case: None,
                activity: Activity::Viewing,
            }
        } else {
            self.wanted_presence()
        };
        let due = match &self.presence.sent {
            None => wanted.case.is_some(),
            Some((sent, at)) => {
                *sent != wanted
                    || (wanted.case.is_some()
                        && (self.now - *at).num_seconds() >= PRESENCE_HEARTBEAT_SECS)
            }
        };
        if !due {
            return;
        }
        self.presence.sent = Some((wanted, self.now));
        // A newer presence replaces one still waiting.
        self.background
            .retain(|e| !matches!(e, Effect::Presence(_)));
        self.background.push(Effect::Presence(wanted));
    }
}
