//! The supervisor's dialogs: confirm an urge, decide an extension, record a follow-up call.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Widget};

use super::help::centered;
use super::put;
use crate::console::app::supervision::{SATISFACTION, SupForm, SupKind, satisfaction_key};
use crate::console::app::{App, Mode};
use crate::console::command::Command;
use crate::console::layout;
use crate::console::text;
use crate::console::theme::Theme;

pub fn sup_dialog(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let Mode::Sup(f) = &app.mode else {
        return;
    };
    let i = &app.i18n;
    let c = &f.seen;
    let zone = app.server_zone;
    let when = |t: chrono::DateTime<chrono::FixedOffset>| {
        t.with_timezone(&zone).format("%m-%d %H:%M").to_string()
    };
    let mut lines: Vec<(String, Style)> =
        vec![(format!("{} {}", c.reference, c.title), theme.bold())];
    let title = match f.kind {
        SupKind::Urge => {
            let dept = c
                .department_id
                .and_then(|d| app.department_name(d))
                .unwrap_or("—");
            lines.push((
                i.f(
                    "sup.urge_body",
                    &[("dept", dept), ("n", &c.urge_count.to_string())],
                ),
                theme.base(),
            ));
            i.t("sup.urge_title")
        }
        SupKind::Extension { approve } => {
            if let Some(p) = &c.pending_extension {
                // Extensions move the feedback deadline.
                let current = c
                    .deadlines
                    .iter()
                    .find(|d| d.clock == crate::wire::ClockKind::Feedback)
                    .map(|d| when(d.due_at));
                let (at, until) = (when(p.requested_at), when(p.until));
                let args = [
                    ("who", p.requested_by.as_str()),
                    ("at", at.as_str()),
                    ("until", until.as_str()),
                    ("due", current.as_deref().unwrap_or_default()),
                ];
                let body = if current.is_some() {
                    i.f("sup.extension_body", &args)
                } else {
                    i.f("sup.extension_body_until", &args)
                };
                lines.push((body, theme.base()));
                lines.push((format!("{} {}", i.t("sup.reason"), p.reason), theme.base()));
            }
            let mark = |on: bool| if on { "(●)" } else { "( )" };
            lines.push((
                format!(
                    "{} {}    {} {}",
                    mark(approve),
                    i.t("sup.approve"),
                    mark(!approve),
                    i.t("sup.deny")
                ),
                theme.bold(),
            ));
            i.t("sup.extension_title")
        }
        SupKind::FollowUp { result } => {
            let choices = SATISFACTION
                .iter()
                .map(|s| {
                    let mark = if *s == result { "(●)" } else { "( )" };
                    format!("{mark} {}", i.t(satisfaction_key(*s)))
                })
                .collect::<Vec<_>>()
                .join("   ");
            lines.push((choices, theme.bold()));
            lines.push((i.t("sup.dissatisfied_reopens").to_string(), theme.dim()));
            i.t("sup.follow_up_title")
        }
    };
    lines.push((note_line(app, f), theme.base()));
    let hint = [
        (Command::Confirm, "hint.send"),
        (Command::Cancel, "hint.cancel"),
    ]
    .iter()
    .map(|(c, k)| format!("{} {}", app.keymap.first(*c), i.t(k)))
    .chain((!matches!(f.kind, SupKind::Urge)).then(|| format!("Tab {}", i.t("hint.choose"))))
    .collect::<Vec<_>>()
    .join(" · ");
    lines.push((hint, theme.dim()));

    let wide = area.width.min(76);
    let inner_w = wide.saturating_sub(4) as usize;
    let wrapped: Vec<(String, Style)> = lines
        .iter()
        .flat_map(|(s, st)| text::wrap(s, inner_w).into_iter().map(move |l| (l, *st)))
        .collect();
    let r = centered(area, wide, wrapped.len() as u16 + 2);
    let buf = frame.buffer_mut();
    super::popup::clear(buf, r);
    Block::new()
        .borders(Borders::ALL)
        .border_style(theme.border())
        .title(format!(" {title} "))
        .render(r, buf);
    let inner = layout::inner(r);
    for (n, (l, st)) in wrapped.iter().enumerate() {
        put(
            buf,
            inner,
            inner.y + n as u16,
            &Line::styled(format!(" {l}"), *st),
        );
    }
}

fn note_line(app: &App, f: &SupForm) -> String {
    let mut note = f.note.clone();
    let at = note
        .char_indices()
        .nth(f.cursor)
        .map(|(b, _)| b)
        .unwrap_or(note.len());
    note.insert(at, '▏');
    format!("{} {note}", app.i18n.t("sup.note"))
}
