//! What a department sees of its own work: the fields of its forms (return, extension,
//! progress, result) and the state of its extension request in the detail pane.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::put;
use crate::console::app::{App, TextForm, TextKind, clock};
use crate::console::theme::Theme;
use crate::wire::ClockKind;

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
            f.until.with_cursor()
        } else {
            f.until.as_str().to_string()
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
