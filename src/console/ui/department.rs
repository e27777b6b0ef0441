//! What a department sees of its own work: the fields of its forms (return, extension,
//! progress, result) and the state of its extension request in the detail pane.

use chrono::{DateTime, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::detail::clock;
use super::put;
use crate::console::app::{App, TextForm, TextKind};
use crate::console::input::with_cursor;
use crate::console::theme::Theme;
use crate::wire::{Case, ClockKind};

/// The title of a department's (or a reassignment's) text form.
pub fn text_title(app: &App, f: &TextForm) -> String {
    let i = &app.i18n;
    match f.kind {
        TextKind::Progress => i.t("dialog.progress").to_string(),
        TextKind::Resolve => i.t("dialog.resolve").to_string(),
        TextKind::Return => i.t("dialog.return").to_string(),
        TextKind::Extension => i.t("dialog.extension_request").to_string(),
        TextKind::Reassign(d) => i.f(
            "dialog.reassign",
            &[("department", app.department_name(d).unwrap_or("?"))],
        ),
        TextKind::Answer => i.t("dialog.answer").to_string(),
        TextKind::Note => i.t("dialog.note").to_string(),
    }
}

/// The lines above the text: the extension's new time, and what the text is for. Returns the
/// next free row.
pub fn form_fields(
    buf: &mut Buffer,
    inner: Rect,
    y: u16,
    app: &App,
    f: &TextForm,
    theme: &Theme,
) -> u16 {
    let i = &app.i18n;
    let mut y = y;
    if f.kind == TextKind::Extension {
        let until = if f.until_focus {
            with_cursor(&f.until, f.cursor)
        } else {
            f.until.clone()
        };
        let style = if f.until_focus {
            theme.key()
        } else {
            theme.base()
        };
        put(
            buf,
            inner,
            y,
            &Line::from(vec![
                Span::styled(format!(" {} ", i.t("form.until")), theme.bold()),
                Span::styled(format!("[{until}]"), style),
                Span::styled(format!("  {}", i.t("form.until_hint")), theme.dim()),
            ]),
        );
        y += 1;
        if let Some(d) = f
            .seen
            .deadlines
            .iter()
            .find(|d| d.clock == ClockKind::Feedback)
        {
            let due = clock(app, &d.due_at, app.now);
            put(
                buf,
                inner,
                y,
                &Line::styled(
                    format!(" {}", i.f("form.feedback_due", &[("at", &due)])),
                    theme.dim(),
                ),
            );
            y += 1;
        }
    }
    let label = match f.kind {
        TextKind::Progress => "form.progress",
        TextKind::Resolve => "form.result",
        TextKind::Return | TextKind::Extension | TextKind::Reassign(_) => "form.reason",
        TextKind::Answer | TextKind::Note => return y,
    };
    put(
        buf,
        inner,
        y,
        &Line::styled(format!(" {}", i.t(label)), theme.bold()),
    );
    y + 1
}

/// The extension request in the detail pane: pending (until when, why, who asked), or the last
/// decision on one from the timeline.
pub fn extension_lines(
    app: &App,
    c: &Case,
    theme: &Theme,
    now: DateTime<Utc>,
) -> Vec<(String, Style)> {
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
            theme.warn(),
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
    let (key, style) = if approved {
        ("detail.extension_approved", theme.ok())
    } else {
        ("detail.extension_denied", theme.error())
    };
    vec![(i.f(key, &[("until", &until), ("who", &e.actor)]), style)]
}
