//! The Departments view: each department's live load (open, overdue) next to today's record
//! (on-time rate, average minutes to sign for) from the daily report; `s` cycles the sort.

use chrono::{DateTime, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Widget};

use super::put;
use crate::console::app::App;
use crate::console::app::supervision::DeptSort;
use crate::console::command::Command;
use crate::console::layout;
use crate::console::text::{self, fit, fit_right};
use crate::console::theme::Theme;

/// The line saying how old the report is, or that it could not be refreshed.
pub fn report_state<'a>(app: &App, theme: &Theme, now: DateTime<Utc>) -> Line<'a> {
    let i = &app.i18n;
    let age = |t: DateTime<Utc>| app.i18n.duration((now - t).num_seconds().max(0));
    match (&app.sup.report_error, app.sup.report_at) {
        (Some((err, _)), at) if app.report_stale() => {
            let s = match at {
                Some(t) => i.f("report.stale", &[("age", &age(t)), ("error", err)]),
                None => i.f("report.failed", &[("error", err)]),
            };
            Line::styled(format!(" ✗ {s}"), theme.warn())
        }
        (_, Some(t)) => Line::styled(
            format!(" {}", i.f("report.as_of", &[("age", &age(t))])),
            theme.dim(),
        ),
        _ => Line::styled(format!(" {}", i.t("report.loading")), theme.dim()),
    }
}

pub fn departments(buf: &mut Buffer, area: Rect, app: &App, theme: &Theme, now: DateTime<Utc>) {
    if area.width == 0 || area.height == 0 {
        return;
    }
    Block::new()
        .borders(Borders::ALL)
        .border_style(theme.border())
        .render(area, buf);
    let inner = layout::inner(area);
    let w = inner.width as usize;
    let i = &app.i18n;
    put(buf, inner, inner.y, &report_state(app, theme, now));
    // Name, then four numeric columns of equal width.
    let num = if w >= 90 { 12 } else { 9 };
    let name_w = w.saturating_sub(2 + 4 * (num + 1)).min(24);
    let sorted = app.sup.dept_sort;
    let head = |s: DeptSort, width: usize, right: bool| {
        let mark = if s == sorted { "▼" } else { "" };
        let label = format!("{}{mark}", i.t(s.key()));
        let cell = if right {
            fit_right(&label, width)
        } else {
            fit(&label, width)
        };
        let style = if s == sorted {
            theme.bold()
        } else {
            theme.dim()
        };
        Span::styled(cell, style)
    };
    let mut spans = vec![Span::raw("  "), head(DeptSort::Name, name_w, false)];
    for s in [
        DeptSort::Open,
        DeptSort::Overdue,
        DeptSort::OnTime,
        DeptSort::AvgSign,
    ] {
        spans.push(Span::raw(" "));
        spans.push(head(s, num, true));
    }
    // Who an urging call reaches, where the width allows.
    let duty_w = w.saturating_sub(2 + name_w + 4 * (num + 1) + 2);
    let duty_w = if duty_w >= 10 { duty_w } else { 0 };
    if duty_w > 0 {
        spans.push(Span::raw("  "));
        spans.push(Span::styled(fit(i.t("dept.on_duty"), duty_w), theme.dim()));
    }
    put(buf, inner, inner.y + 1, &Line::from(spans));
    let rows = app.department_rows(now);
    let room = inner.height.saturating_sub(3) as usize;
    for (n, r) in rows.iter().take(room).enumerate() {
        let on_time = r
            .on_time
            .map(|p| format!("{p:.0}%"))
            .unwrap_or_else(|| "—".into());
        let avg = r
            .avg_minutes_to_sign
            .map(|m| format!("{m:.0} {}", i.t("dept.minutes")))
            .unwrap_or_else(|| "—".into());
        let overdue_style = if r.overdue > 0 {
            theme.overdue()
        } else {
            theme.base()
        };
        let selected = n == app.sup.dept_pick;
        let mut spans = vec![
            Span::raw(if selected { "▶ " } else { "  " }),
            Span::raw(fit(&r.name, name_w)),
            Span::raw(" "),
            Span::raw(fit_right(&r.open.to_string(), num)),
            Span::raw(" "),
            Span::styled(fit_right(&r.overdue.to_string(), num), overdue_style),
            Span::raw(" "),
            Span::raw(fit_right(&on_time, num)),
            Span::raw(" "),
            Span::raw(fit_right(&avg, num)),
        ];
        if duty_w > 0 {
            let duty = app.duty_text(r.department_id).unwrap_or_default();
            spans.push(Span::raw("  "));
            spans.push(Span::raw(fit(&duty, duty_w)));
        }
        let line = Line::from(spans);
        let line = if selected {
            line.style(theme.selected())
        } else {
            line
        };
        put(buf, inner, inner.y + 2 + n as u16, &line);
    }
    let hint = i.f("dept.hint", &[("key", &app.keymap.first(Command::Sort))]);
    put(
        buf,
        inner,
        inner.y + inner.height.saturating_sub(1),
        &Line::styled(
            format!(" {}", text::truncate(&hint, w.saturating_sub(1))),
            theme.dim(),
        ),
    );
}
