//! The new-case form of hotline intake: one line per field with its error on the line under it
//! (so an error shows at any width), the category or town picker dropped down under its field,
//! and the caller's earlier cases under the form.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Widget};

use super::dialog::{boxed, hint};
use super::help::centered;
use super::put;
use crate::console::app::{App, NEW_CASE_FIELDS, NewCaseForm, is_picker};
use crate::console::command::Command;
use crate::console::layout;
use crate::console::text::{fit, truncate};
use crate::console::theme::Theme;

const LABEL_W: usize = 12;

pub fn new_case(frame: &mut Frame, area: Rect, app: &App, theme: &Theme, f: &NewCaseForm) {
    let i = &app.i18n;
    let h = area.height.saturating_sub(2).clamp(10, 32);
    let r = centered(area, area.width.min(100), h);
    let inner = boxed(frame, r, i.t("dialog.new_case"), theme);
    if inner.height < 4 {
        return;
    }
    let value_w = (inner.width as usize).saturating_sub(LABEL_W + 3);
    // The last two rows: the sending/error line and the keys.
    let limit = inner.y + inner.height - 2;
    let mut y = inner.y;
    let mut focused_row = None;
    for (n, key) in NEW_CASE_FIELDS.iter().enumerate() {
        if y >= limit {
            break;
        }
        let focused = f.focus == n && !f.lookup.focused;
        if focused {
            focused_row = Some(y);
        }
        let label_style = if focused { theme.key() } else { theme.base() };
        let (value, style) = field_value(app, f, n, focused, value_w, theme);
        put(
            frame.buffer_mut(),
            inner,
            y,
            &Line::from(vec![
                Span::styled(format!(" {} ", fit(i.t(key), LABEL_W)), label_style),
                Span::styled(value, style),
            ]),
        );
        y += 1;
        if let Some(e) = f.errors.get(&n)
            && y < limit
        {
            let room = (inner.width as usize).saturating_sub(LABEL_W + 2);
            put(
                frame.buffer_mut(),
                inner,
                y,
                &Line::from(vec![
                    Span::raw(" ".repeat(LABEL_W + 2)),
                    Span::styled(truncate(&format!("✗ {e}"), room), theme.error()),
                ]),
            );
            y += 1;
        }
    }
    lookup(frame, inner, app, theme, f, y, limit);
    if let Some(row) = focused_row.filter(|_| is_picker(f.focus)) {
        dropdown(frame, inner, app, theme, f, row, limit);
    }
    footer(frame, inner, app, theme, f);
}

fn field_value(
    app: &App,
    f: &NewCaseForm,
    n: usize,
    focused: bool,
    w: usize,
    theme: &Theme,
) -> (String, ratatui::style::Style) {
    let style = if focused { theme.bold() } else { theme.base() };
    if n == 0 {
        let channel = app.i18n.t(&format!("channel.{}", f.channel.as_str()));
        return (truncate(&format!("◀ {channel} ▶"), w), style);
    }
    if is_picker(n) {
        let chosen = if n == crate::console::app::CATEGORY {
            f.category.as_deref()
        } else {
            f.town.as_deref()
        };
        let query = &f.fields[n];
        if focused && (!query.as_str().is_empty() || chosen.is_none()) {
            return (query.view(w), style);
        }
        return match chosen {
            Some(code) => {
                let label = app.chosen_label(n, code);
                let shown = if focused {
                    format!("{label}▏")
                } else {
                    label
                };
                (truncate(&shown, w), style)
            }
            None => ("—".to_string(), theme.dim()),
        };
    }
    if focused {
        (f.fields[n].view(w), style)
    } else {
        let v = f.fields[n].as_str().replace('\n', " ⏎ ");
        (truncate(&v, w), style)
    }
}

/// The open picker, dropped down under its field over the rows below.
fn dropdown(
    frame: &mut Frame,
    inner: Rect,
    app: &App,
    theme: &Theme,
    f: &NewCaseForm,
    row: u16,
    limit: u16,
) {
    let choices = app.choices(f.focus, f.fields[f.focus].as_str());
    let x = inner.x + LABEL_W as u16 + 1;
    let width = inner.width.saturating_sub(LABEL_W as u16 + 1).min(44);
    let rows = (choices.len().max(1) as u16).min(limit.saturating_sub(row + 3));
    if width < 8 || rows == 0 {
        return;
    }
    let r = Rect::new(x, row + 1, width, rows + 2);
    let buf = frame.buffer_mut();
    Clear.render(r, buf);
    Block::new()
        .borders(Borders::ALL)
        .border_style(theme.border())
        .render(r, buf);
    let list = layout::inner(r);
    if choices.is_empty() {
        put(
            buf,
            list,
            list.y,
            &Line::styled(app.i18n.t("form.error.no_match"), theme.dim()),
        );
        return;
    }
    let off = layout::scroll_offset(f.pick, list.height);
    for (k, (n, c)) in choices.iter().enumerate().skip(off).enumerate() {
        if k as u16 >= list.height {
            break;
        }
        let line = Line::raw(fit(&format!(" {}", c.label), list.width as usize));
        let line = if n == f.pick {
            line.style(theme.selected())
        } else {
            line
        };
        put(buf, list, list.y + k as u16, &line);
    }
}

/// The caller's earlier cases: the newest open ones first.
fn lookup(
    frame: &mut Frame,
    inner: Rect,
    app: &App,
    theme: &Theme,
    f: &NewCaseForm,
    mut y: u16,
    limit: u16,
) {
    let i = &app.i18n;
    let l = &f.lookup;
    if l.wanted.is_none() && l.cases.is_empty() {
        return;
    }
    if y + 1 >= limit {
        return;
    }
    y += 1;
    let open = l.cases.iter().filter(|c| c.status.is_open()).count();
    let (head, style) = if let Some(e) = &l.error {
        (e.clone(), theme.error())
    } else if l.loading && l.cases.is_empty() {
        (i.t("lookup.loading").to_string(), theme.dim())
    } else if l.cases.is_empty() {
        (i.t("lookup.none").to_string(), theme.dim())
    } else {
        (
            i.f(
                "lookup.title",
                &[
                    ("n", &l.cases.len().to_string()),
                    ("open", &open.to_string()),
                ],
            ),
            if open > 0 { theme.warn() } else { theme.base() },
        )
    };
    put(
        frame.buffer_mut(),
        inner,
        y,
        &Line::styled(
            format!(" {}", truncate(&head, inner.width as usize - 2)),
            style,
        ),
    );
    y += 1;
    let room = limit.saturating_sub(y);
    let off = layout::scroll_offset(l.selected, room);
    for (k, (n, c)) in l.cases.iter().enumerate().skip(off).enumerate() {
        if k as u16 >= room {
            break;
        }
        let mark = if c.status.is_open() { "●" } else { "○" };
        let status = i.t(&format!("status.{}", c.status.as_str()));
        let row = format!(
            " {mark} {}  {}  {}  {}",
            c.reference,
            fit(status, 10),
            c.title,
            c.location.town
        );
        let line = Line::raw(fit(&row, inner.width as usize));
        let line = if l.focused && n == l.selected {
            line.style(theme.selected())
        } else if c.status.is_open() {
            line.style(theme.bold())
        } else {
            line.style(theme.dim())
        };
        put(frame.buffer_mut(), inner, y + k as u16, &line);
    }
}

fn footer(frame: &mut Frame, inner: Rect, app: &App, theme: &Theme, f: &NewCaseForm) {
    let i = &app.i18n;
    let bottom = inner.y + inner.height - 1;
    if f.sending {
        put(
            frame.buffer_mut(),
            inner,
            bottom - 1,
            &Line::styled(format!(" {}", i.t("form.sending")), theme.warn()),
        );
    } else if let Some(e) = &f.error {
        put(
            frame.buffer_mut(),
            inner,
            bottom - 1,
            &Line::styled(
                format!(
                    " ✗ {}",
                    truncate(e, (inner.width as usize).saturating_sub(3))
                ),
                theme.error(),
            ),
        );
    }
    let keys = if f.lookup.focused {
        format!(
            "↑↓ {} · Enter {} · Esc {}",
            i.t("hint.choose"),
            i.t("hint.note_case"),
            i.t("hint.back")
        )
    } else {
        let mut parts = vec![];
        if is_picker(f.focus) {
            parts.push(format!(
                "↑↓ {} · Enter {}",
                i.t("hint.choose"),
                i.t("hint.take")
            ));
        }
        parts.push(hint(
            app,
            &[
                (Command::Submit, "hint.submit"),
                (Command::Cancel, "hint.cancel"),
            ],
        ));
        if !f.lookup.cases.is_empty() {
            parts.push(format!("Ctrl-L {}", i.t("hint.lookup")));
        }
        parts.join(" · ")
    };
    put(
        frame.buffer_mut(),
        inner,
        bottom,
        &Line::styled(
            format!(
                " {}",
                truncate(&keys, (inner.width as usize).saturating_sub(2))
            ),
            theme.dim(),
        ),
    );
}
