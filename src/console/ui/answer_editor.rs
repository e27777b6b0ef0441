//! The answer editor: the library list (search line, matching answers) above the text the
//! requester will read, and the keys that move between them.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;

use super::dialog::{boxed, form_footer_with, hint};
use super::help::centered;
use super::put;
use crate::console::app::{AnswerEditor, App, EditorFocus, TextForm};
use crate::console::command::Command;
use crate::console::text::{self, fit};
use crate::console::theme::Theme;

/// Most library lines shown at once; the rest scroll with the choice.
const LIST_ROWS: usize = 6;

pub fn draw(
    frame: &mut Frame,
    area: Rect,
    app: &App,
    theme: &Theme,
    f: &TextForm,
    e: &AnswerEditor,
) {
    let i = &app.i18n;
    let wide = area.width.saturating_sub(4).clamp(40, 90);
    let h = area.height.saturating_sub(4).clamp(12, 22);
    let r = centered(area, wide, h);
    let inner = boxed(frame, r, &super::dialog::answer_title(app, f), theme);
    let width = inner.width as usize;
    let buf = frame.buffer_mut();
    let mut y = inner.y;
    let case = app
        .case(f.case_id)
        .map(|c| format!(" {} {}", c.reference, c.title))
        .unwrap_or_default();
    put(
        buf,
        inner,
        y,
        &Line::styled(fit(&case, width), theme.bold()),
    );
    y += 1;
    let on_list = e.focus == EditorFocus::List;
    let query = if on_list {
        e.query.with_cursor()
    } else {
        e.query.as_str().to_string()
    };
    let search = format!(" {} {query}", i.t("answer.search"));
    let style = if on_list { theme.base() } else { theme.dim() };
    put(buf, inner, y, &Line::styled(fit(&search, width), style));
    y += 1;
    let items = app.library_items(e.query.as_str());
    let first = e.selected.saturating_sub(LIST_ROWS - 1);
    for (n, a) in items.iter().enumerate().skip(first).take(LIST_ROWS) {
        let tags = if a.tags.is_empty() {
            String::new()
        } else {
            format!("  #{}", a.tags.join(" #"))
        };
        let uses = i.f("answer.uses", &[("n", &a.uses.to_string())]);
        let marker = if n == e.selected { "›" } else { " " };
        let line = Line::raw(fit(
            &format!(" {marker} {}{tags}  · {uses}", a.title),
            width,
        ));
        let line = match (n == e.selected, on_list) {
            (true, true) => line.style(theme.selected()),
            (true, false) => line.style(theme.bold()),
            _ => line,
        };
        put(buf, inner, y, &line);
        y += 1;
    }
    if items.is_empty() {
        let none = if app.library.loading && app.library.answers.is_empty() {
            i.t("answer.loading")
        } else {
            i.t("answer.none")
        };
        put(
            buf,
            inner,
            y,
            &Line::styled(format!("   {none}"), theme.dim()),
        );
        y += 1;
    }
    if let Some(err) = &app.library.error {
        let line = i.f("answer.library_failed", &[("error", err)]);
        put(
            buf,
            inner,
            y,
            &Line::styled(fit(&format!(" {line}"), width), theme.warn()),
        );
        y += 1;
    }
    let from = match e.answer {
        Some(r) => {
            let title = app
                .library
                .answers
                .iter()
                .find(|a| a.id == r.id)
                .map_or("?", |a| a.title.as_str());
            i.f(
                "answer.from",
                &[("title", title), ("version", &r.version.to_string())],
            )
        }
        None => i.t("answer.freehand").to_string(),
    };
    let head = format!(" ── {} · {from} ", i.t("answer.text"));
    put(buf, inner, y, &Line::styled(fit(&head, width), theme.dim()));
    y += 1;
    let typed = if on_list {
        f.text.as_str().to_string()
    } else {
        f.text.with_cursor()
    };
    let mut lines = text::wrap(&typed, width.saturating_sub(2));
    let room = (inner.y + inner.height).saturating_sub(y + 2) as usize;
    if lines.len() > room {
        lines.drain(..lines.len() - room);
    }
    let style = if on_list { theme.dim() } else { theme.base() };
    for l in lines {
        put(buf, inner, y, &Line::styled(format!(" {l}"), style));
        y += 1;
    }
    let mut keys = vec![(Command::Submit, "hint.send")];
    if on_list {
        keys.push((Command::Confirm, "hint.insert"));
    }
    keys.push((Command::Cancel, "hint.cancel"));
    let switch = i.t(if on_list {
        "hint.to_text"
    } else {
        "hint.to_list"
    });
    let hints = format!("{} · Tab {switch}", hint(app, &keys));
    form_footer_with(
        frame,
        inner,
        app,
        theme,
        f.sending,
        f.error.as_deref(),
        hints,
    );
}
