//! The library answer form over the library panel: one line per short field with its error
//! under it, the category's choices under the category field while it has focus, and the
//! text wrapped below.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::dialog::{boxed, form_footer_with};
use super::help::centered;
use super::put;
use crate::console::app::{A_BODY, A_CATEGORY, A_UNTIL, ANSWER_FIELDS, AnswerForm, App};
use crate::console::text::{self, fit, truncate};
use crate::console::theme::Theme;

const LABEL_W: usize = 12;
/// Category choices shown under the field.
const CHOICES: usize = 4;

pub fn answer_form(frame: &mut Frame, area: Rect, app: &App, theme: &Theme, f: &AnswerForm) {
    let i = &app.i18n;
    let title = match f.editing {
        Some((id, version)) => {
            let name = app
                .library
                .answers
                .iter()
                .find(|a| a.id == id)
                .map_or("", |a| a.title.as_str());
            i.f(
                "answer_form.edit",
                &[("title", name), ("version", &(version + 1).to_string())],
            )
        }
        None => i.t("answer_form.new").to_string(),
    };
    let r = centered(
        area,
        area.width.saturating_sub(6).clamp(40, 100),
        area.height.saturating_sub(4).clamp(12, 30),
    );
    let inner = boxed(frame, r, &title, theme);
    if inner.height < 6 {
        return;
    }
    let width = inner.width as usize;
    let value_w = width.saturating_sub(LABEL_W + 3);
    let limit = inner.y + inner.height - 2;
    let mut y = inner.y;
    for (n, key) in ANSWER_FIELDS.iter().enumerate().take(A_BODY) {
        if y >= limit {
            return;
        }
        let focused = f.focus == n;
        let label_style = if focused { theme.key() } else { theme.base() };
        let (value, style) = value_of(app, f, n, focused, value_w, theme);
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
        let under = if let Some(e) = f.errors.get(&n) {
            vec![(format!("✗ {e}"), theme.error())]
        } else if focused && n == A_CATEGORY {
            app.answer_category_choices(f)
                .iter()
                .enumerate()
                .skip(f.pick.saturating_sub(CHOICES - 1))
                .take(CHOICES)
                .map(|(k, c)| {
                    let mark = if k == f.pick { "›" } else { " " };
                    let style = if k == f.pick {
                        theme.selected()
                    } else {
                        theme.dim()
                    };
                    (format!("{mark} {}", c.label), style)
                })
                .collect()
        } else if focused && n == A_UNTIL {
            vec![(i.t("answer_form.until_hint").to_string(), theme.dim())]
        } else {
            vec![]
        };
        for (text, style) in under {
            if y >= limit {
                break;
            }
            put(
                frame.buffer_mut(),
                inner,
                y,
                &Line::from(vec![
                    Span::raw(" ".repeat(LABEL_W + 2)),
                    Span::styled(truncate(&text, value_w), style),
                ]),
            );
            y += 1;
        }
    }
    let on_body = f.focus == A_BODY;
    let head = format!(
        " ── {} · {} ",
        i.t("answer_form.body"),
        i.t("answer_form.placeholders")
    );
    let head_style = if on_body { theme.key() } else { theme.dim() };
    if y < limit {
        put(
            frame.buffer_mut(),
            inner,
            y,
            &Line::styled(fit(&head, width), head_style),
        );
        y += 1;
    }
    if let Some(e) = f.errors.get(&A_BODY)
        && y < limit
    {
        put(
            frame.buffer_mut(),
            inner,
            y,
            &Line::styled(truncate(&format!(" ✗ {e}"), width), theme.error()),
        );
        y += 1;
    }
    let body = if on_body {
        f.fields[A_BODY].with_cursor()
    } else {
        f.fields[A_BODY].as_str().to_string()
    };
    let mut lines = text::wrap(&body, width.saturating_sub(2));
    let room = limit.saturating_sub(y) as usize;
    if lines.len() > room {
        // Keep the end in view: that is where the cursor usually is.
        lines.drain(..lines.len() - room);
    }
    for l in lines {
        put(frame.buffer_mut(), inner, y, &Line::raw(format!(" {l}")));
        y += 1;
    }
    form_footer_with(
        frame,
        inner,
        app,
        theme,
        f.sending,
        f.error.as_deref(),
        i.t("answer_form.hints").to_string(),
    );
}

fn value_of(
    app: &App,
    f: &AnswerForm,
    n: usize,
    focused: bool,
    w: usize,
    theme: &Theme,
) -> (String, ratatui::style::Style) {
    let style = if focused { theme.bold() } else { theme.base() };
    if n == A_CATEGORY {
        let query = &f.fields[A_CATEGORY];
        if focused && !query.as_str().is_empty() {
            return (query.view(w), style);
        }
        return match &f.category {
            Some(code) => {
                let label = app.chosen_label(crate::console::app::CATEGORY, code);
                let shown = if focused {
                    format!("{label}▏")
                } else {
                    label
                };
                (truncate(&shown, w), style)
            }
            None if focused => (query.view(w), style),
            None => (
                app.i18n.t("answer_form.no_category").to_string(),
                theme.dim(),
            ),
        };
    }
    if focused {
        (f.fields[n].view(w), style)
    } else {
        (truncate(f.fields[n].as_str(), w), style)
    }
}
