//! The detail pane's text, wrapped to the pane's width and kept per case version and width:
//! a long timeline is wrapped once when it changes, not on every frame. The deadlines (whose
//! countdowns tick) are drawn fresh each frame between the two cached parts.

use std::borrow::Cow;

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

use super::App;
use crate::console::command::Command;
use crate::console::layout;
use crate::console::text;
use crate::wire::{Case, Escalation, Event};

/// What a line means, for the theme to colour; the cache holds no styles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Base,
    Bold,
    Dim,
    Warn,
    Error,
    Ok,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextLine {
    pub text: String,
    pub tone: Tone,
}

/// Everything the cached text depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TextKey {
    case_id: i64,
    version: i64,
    /// The loaded timeline: its case version and length.
    timeline: Option<(i64, usize)>,
    width: u16,
    revealed: bool,
    departments: usize,
    /// The catalog's categories, which name the case's category.
    categories: usize,
    /// Times of other days carry their date.
    day: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetailText {
    key: TextKey,
    /// Title, requester, place, counters, banners, description.
    pub head: Vec<TextLine>,
    /// The timeline's entries; `None` until it has loaded.
    pub timeline: Option<Vec<TextLine>>,
}

impl DetailText {
    /// Lines in the pane: the head, a blank, the deadlines' heading and rows, a blank, the
    /// timeline's heading and entries (or "loading").
    pub fn total(&self, deadlines: usize) -> usize {
        self.head.len() + 2 + deadlines + 2 + self.timeline.as_ref().map_or(1, Vec::len)
    }
}

/// `21:04` today, `05-07 21:04` on another day, in the desk's time zone.
pub fn clock(app: &App, t: &DateTime<FixedOffset>, now: DateTime<Utc>) -> String {
    let local = t.with_timezone(&app.server_zone);
    if local.date_naive() == server_day(app, now) {
        local.format("%H:%M").to_string()
    } else {
        local.format("%m-%d %H:%M").to_string()
    }
}

fn server_day(app: &App, now: DateTime<Utc>) -> NaiveDate {
    app.server_now(now)
        .with_timezone(&app.server_zone)
        .date_naive()
}

fn event_summary(app: &App, e: &Event) -> String {
    let i = &app.i18n;
    let p = &e.payload;
    let word = |key: &str, v: Option<&str>| v.map(|v| i.t_or(&format!("{key}.{v}"), v).to_string());
    // An escalation names the rung it reached and the clock it is about.
    if e.action == "escalate" {
        let step = word("escalation", p.get("step").and_then(|v| v.as_str()));
        let clock = word("clock", p.get("clock").and_then(|v| v.as_str()));
        if let (Some(step), Some(clock)) = (step, clock) {
            let s = i.f("timeline.escalate", &[("step", &step), ("clock", &clock)]);
            return format!("{s} · {}", actor_label(app, e));
        }
    }
    let mut s = i
        .t_or(&format!("action.{}", e.action), &e.action)
        .to_string();
    if let Some(t) = p.get("tier").and_then(|v| v.as_str()) {
        s.push(' ');
        s.push_str(i.t(&format!("tier.{t}")));
    }
    if let Some(id) = p.get("department_id").and_then(|v| v.as_i64()) {
        // A return comes back from the department; everything else goes to it.
        s.push_str(if e.action == "return" {
            " ← "
        } else {
            " → "
        });
        let named = p.get("department_name").and_then(|v| v.as_str());
        s.push_str(app.department_name(id).or(named).unwrap_or("?"));
    }
    for k in ["text", "reason", "note"] {
        if let Some(t) = p.get(k).and_then(|v| v.as_str()).filter(|t| !t.is_empty()) {
            s.push_str(": ");
            s.push_str(t);
        }
    }
    s.push_str(" · ");
    s.push_str(actor_label(app, e));
    s
}

/// Who made an entry; the server's own entries say so, whatever name they carry.
fn actor_label<'a>(app: &'a App, e: &'a Event) -> &'a str {
    if e.system {
        app.i18n.t("detail.system_actor")
    } else {
        &e.actor
    }
}

/// The extension request in the detail pane: pending (until when, why, who asked), or the last
/// decision on one from the timeline.
fn extension_lines(app: &App, c: &Case, now: DateTime<Utc>) -> Vec<(String, Tone)> {
    let i = &app.i18n;
    if let Some(p) = &c.pending_extension {
        return vec![(
            i.f(
                "detail.extension_pending",
                &[
                    ("until", &clock(app, &p.until, now)),
                    ("who", &p.requested_by),
                    ("reason", &p.reason),
                ],
            ),
            Tone::Warn,
        )];
    }
    let decided = app
        .detail
        .as_ref()
        .filter(|d| d.case.id == c.id)
        .and_then(|d| {
            d.events
                .iter()
                .rev()
                .find(|e| e.action == "decide-extension")
        });
    let Some(e) = decided else {
        return vec![];
    };
    let approved = e.payload.get("approve").and_then(|v| v.as_bool()) == Some(true);
    let until = e
        .payload
        .get("until")
        .and_then(|v| v.as_str())
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map(|t| clock(app, &t, now))
        .unwrap_or_else(|| "?".into());
    let (key, tone) = if approved {
        ("detail.extension_approved", Tone::Ok)
    } else {
        ("detail.extension_denied", Tone::Error)
    };
    vec![(i.f(key, &[("until", &until), ("who", &e.actor)]), tone)]
}

/// The case's escalation while the escalated clock is still unmet: once it is met the ladder
/// has stopped, and showing it would only alarm.
pub fn live_escalation(c: &Case) -> Option<&Escalation> {
    let e = c.escalation.as_ref()?;
    c.deadlines
        .iter()
        .any(|d| d.clock == e.clock && d.met_at.is_none())
        .then_some(e)
}

fn escalation_banner(app: &App, c: &Case, now: DateTime<Utc>) -> Option<String> {
    let i = &app.i18n;
    let e = live_escalation(c)?;
    let mut s = i.f(
        "detail.escalation",
        &[
            ("clock", i.t(&format!("clock.{}", e.clock.as_str()))),
            ("step", i.t(&format!("escalation.{}", e.step.as_str()))),
            ("at", &clock(app, &e.at, now)),
        ],
    );
    if let (Some(next), Some(at)) = (e.next_step, e.next_step_at) {
        s.push_str(" · ");
        s.push_str(&i.f(
            "detail.escalation_next",
            &[
                ("step", i.t(&format!("escalation.{}", next.as_str()))),
                ("at", &clock(app, &at, now)),
            ],
        ));
    }
    Some(s)
}

impl App {
    fn text_key(&self, c: &Case, width: u16, now: DateTime<Utc>) -> TextKey {
        TextKey {
            case_id: c.id,
            version: c.version,
            timeline: self
                .detail
                .as_ref()
                .filter(|d| d.case.id == c.id)
                .map(|d| (d.case.version, d.events.len())),
            width,
            revealed: self.phone_revealed,
            departments: self.departments.len(),
            categories: self.intake.categories.len(),
            day: server_day(self, now),
        }
    }

    /// The inside width of the detail pane on a screen of `self.size`, if there is a pane.
    fn detail_width(&self) -> Option<u16> {
        let (w, h) = self.size;
        layout::screen(ratatui::layout::Rect::new(0, 0, w, h), self.show_detail)
            .detail
            .map(|d| layout::inner(d).width)
    }

    /// The selected case's text for a pane `width` cells wide inside: the cached one when it
    /// is still current, else made now.
    pub fn detail_text(&self, width: u16, now: DateTime<Utc>) -> Option<Cow<'_, DetailText>> {
        let c = self.selected_case()?;
        let key = self.text_key(c, width, now);
        match &self.detail_text {
            Some(t) if t.key == key => Some(Cow::Borrowed(t)),
            _ => Some(Cow::Owned(self.build_detail_text(c, key, now))),
        }
    }

    /// Called after every `update`: re-wraps only when the case, its timeline, the width or
    /// the day changed.
    pub(super) fn refresh_detail_text(&mut self) {
        let (Some(c), Some(width)) = (self.selected_case(), self.detail_width()) else {
            self.detail_text = None;
            return;
        };
        let key = self.text_key(c, width, self.now);
        if self.detail_text.as_ref().is_some_and(|t| t.key == key) {
            return;
        }
        let t = self.build_detail_text(c, key, self.now);
        self.detail_text = Some(t);
    }

    fn build_detail_text(&self, c: &Case, key: TextKey, now: DateTime<Utc>) -> DetailText {
        let i = &self.i18n;
        let w = (key.width as usize).saturating_sub(1);
        let mut head = Vec::new();
        let wrapped = |lines: &mut Vec<TextLine>, s: &str, tone: Tone| {
            for l in text::wrap(s, w) {
                lines.push(TextLine {
                    text: format!(" {l}"),
                    tone,
                });
            }
        };
        wrapped(&mut head, &c.title, Tone::Bold);
        // The phone shows in full only once the server has answered a reveal for this case.
        let phone = self
            .detail
            .as_ref()
            .filter(|d| self.phone_revealed && d.case.id == c.id)
            .map(|d| d.case.requester.phone.clone())
            .unwrap_or_else(|| c.requester.phone.clone());
        wrapped(
            &mut head,
            &format!("{} {} {}", i.t("detail.requester"), c.requester.name, phone),
            Tone::Base,
        );
        if !self.phone_revealed {
            wrapped(
                &mut head,
                &format!(
                    "({} {})",
                    self.keymap.first(Command::RevealPhone),
                    i.t("detail.reveal")
                ),
                Tone::Dim,
            );
        }
        wrapped(
            &mut head,
            &format!(
                "{} {} {}",
                i.t("detail.location"),
                c.location.town,
                c.location.address
            ),
            Tone::Base,
        );
        let dept = c
            .department_id
            .and_then(|d| self.department_name(d))
            .unwrap_or("—");
        wrapped(
            &mut head,
            &format!(
                "{} · {} · {} {} · {} {} · {} {}",
                i.t(&format!("channel.{}", c.channel.as_str())),
                self.category_name(&c.category),
                i.t("detail.received"),
                clock(self, &c.received_at, now),
                i.t("field.department"),
                dept,
                i.t("field.claimed_by"),
                c.claimed_by.as_deref().unwrap_or("—"),
            ),
            Tone::Dim,
        );
        if c.return_count > 0 || c.urge_count > 0 || c.extension_count > 0 {
            wrapped(
                &mut head,
                &i.f(
                    "detail.counters",
                    &[
                        ("returns", &c.return_count.to_string()),
                        ("urges", &c.urge_count.to_string()),
                        ("extensions", &c.extension_count.to_string()),
                    ],
                ),
                Tone::Warn,
            );
        }
        if c.awaiting_ruling {
            wrapped(&mut head, i.t("detail.awaiting_ruling"), Tone::Error);
        }
        for (s, tone) in extension_lines(self, c, now) {
            wrapped(&mut head, &s, tone);
        }
        if let Some(s) = escalation_banner(self, c, now) {
            wrapped(&mut head, &s, Tone::Warn);
        }
        head.push(TextLine {
            text: String::new(),
            tone: Tone::Base,
        });
        wrapped(&mut head, &c.description, Tone::Base);
        let timeline = self.detail.as_ref().filter(|d| d.case.id == c.id).map(|d| {
            let mut lines = Vec::new();
            // The server sends the latest events; the rest of a long timeline stays there.
            let missing = d.event_count - d.events.len() as i64;
            if missing > 0 {
                wrapped(
                    &mut lines,
                    &i.f("detail.earlier_events", &[("n", &missing.to_string())]),
                    Tone::Dim,
                );
            }
            for e in &d.events {
                let s = format!("{} {}", clock(self, &e.at, now), event_summary(self, e));
                wrapped(&mut lines, &s, Tone::Base);
            }
            lines
        });
        DetailText {
            key,
            head,
            timeline,
        }
    }

    /// The detail pane's visible height and how far it can scroll, on this screen.
    fn detail_room(&self) -> (usize, usize) {
        let (w, h) = self.size;
        let Some(pane) =
            layout::screen(ratatui::layout::Rect::new(0, 0, w, h), self.show_detail).detail
        else {
            return (0, 0);
        };
        let height = layout::inner(pane).height as usize;
        let total = match (&self.detail_text, self.selected_case()) {
            (Some(t), Some(c)) => t.total(c.deadlines.len()),
            _ => 0,
        };
        (height, total.saturating_sub(height))
    }

    /// Scrolls the detail pane by `delta` lines, within its text.
    pub(super) fn scroll_detail(&mut self, delta: isize) {
        let (_, max) = self.detail_room();
        self.detail_scroll = (self.detail_scroll as isize + delta).clamp(0, max as isize) as usize;
    }

    /// Whether the detail pane covers the list (a narrow screen with the detail open): then
    /// the page keys scroll it.
    pub(super) fn detail_covers_list(&self) -> bool {
        self.show_detail && self.size.0 < layout::WIDE
    }

    /// Half the detail pane's height: what a page key scrolls it by.
    pub(super) fn detail_page(&self) -> isize {
        (self.detail_room().0 as isize / 2).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::event_summary;
    use crate::console::fixtures;
    use crate::console::i18n::Lang;

    #[test]
    fn the_category_reads_as_the_catalogs_label_in_each_language() {
        for (lang, label) in [(Lang::En, "Medical transport"), (Lang::ZhCn, "就医转运")] {
            let app = fixtures::app(lang);
            assert_eq!(app.category_name("medical_transport"), label);
            assert_eq!(app.category_name("no_such_code"), "no_such_code");
        }
    }

    #[test]
    fn reveals_and_the_systems_entries_read_in_each_language() {
        for (lang, revealed, system) in [
            (Lang::En, "phone number shown", "system"),
            (Lang::ZhCn, "查看完整号码", "系统"),
        ] {
            let app = fixtures::app(lang);
            let case = app.cases.values().next().expect("a fixture case").clone();
            let mut e = fixtures::detail(&case).events[0].clone();
            e.actor = "op-li".into();
            e.action = "phone-revealed".into();
            e.payload = serde_json::json!({ "field": "requester.phone" });
            assert_eq!(event_summary(&app, &e), format!("{revealed} · op-li"));
            e.actor = "escalation".into();
            e.action = "escalate".into();
            e.system = true;
            e.payload = serde_json::json!({});
            assert!(
                event_summary(&app, &e).ends_with(&format!(" · {system}")),
                "{}",
                event_summary(&app, &e)
            );
        }
    }
}
