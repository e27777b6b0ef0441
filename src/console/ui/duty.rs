//! A department's duty roster being written: one person a line, with what is wrong with a
//! line shown under it.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;

use super::dialog::{boxed, form_footer_with};
use super::help::centered;
use super::put;
use crate::console::app::{App, DutyForm};
use crate::console::text::{fit, truncate};
use crate::console::theme::Theme;

pub fn duty(frame: &mut Frame, area: Rect, app: &App, theme: &Theme, f: &DutyForm) {
    let i = &app.i18n;
    let department = app.department_name(f.department_id).unwrap_or("?");
    let r = centered(
        area,
        area.width.saturating_sub(6).clamp(40, 90),
        area.height.saturating_sub(4).clamp(10, 20),
    );
    let inner = boxed(
        frame,
        r,
        &i.f("duty.title", &[("department", department)]),
        theme,
    );
    if inner.height < 5 {
        return;
    }
    let width = inner.width as usize;
    let limit = inner.y + inner.height - 2;
    let mut y = inner.y;
    put(
        frame.buffer_mut(),
        inner,
        y,
        &Line::styled(fit(&format!(" {}", i.t("duty.help")), width), theme.dim()),
    );
    y += 2;
    let text = f.text.with_cursor();
    for (n, line) in text.split('\n').enumerate() {
        if y >= limit {
            break;
        }
        put(
            frame.buffer_mut(),
            inner,
            y,
            &Line::raw(truncate(&format!(" {line}"), width)),
        );
        y += 1;
        for (_, e) in f.line_errors.iter().filter(|(l, _)| *l == n) {
            if y >= limit {
                break;
            }
            put(
                frame.buffer_mut(),
                inner,
                y,
                &Line::styled(truncate(&format!("   ✗ {e}"), width), theme.error()),
            );
            y += 1;
        }
    }
    form_footer_with(
        frame,
        inner,
        app,
        theme,
        f.sending,
        f.error.as_deref(),
        i.t("duty.hints").to_string(),
    );
}
