//! The answer library panel: each answer with its version, uses and validity; the retire
//! confirmation; the follow-up list of the cases answered with the chosen answer lately.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;

use super::dialog::boxed;
use super::help::centered;
use super::put;
use crate::console::app::{App, FollowUp, LibraryPanel};
use crate::console::text::fit;
use crate::console::theme::Theme;
use crate::wire::Answer;

/// The answer's standing at `now`, in the UI's words.
fn validity(app: &App, a: &Answer, now: DateTime<Utc>) -> String {
    let i = &app.i18n;
    let day = |t: &crate::wire::Timestamp| t.format("%m-%d %H:%M").to_string();
    if let Some(t) = &a.retired_at {
        i.f("library.state_retired", &[("at", &day(t))])
    } else if a.valid_until.is_some_and(|u| u <= now) {
        i.t("library.state_expired").to_string()
    } else if let Some(f) = a.valid_from.filter(|f| *f > now) {
        i.f("library.state_from", &[("at", &day(&f))])
    } else if let Some(u) = &a.valid_until {
        i.f("library.state_until", &[("at", &day(u))])
    } else {
        i.t("library.state_valid").to_string()
    }
}

pub fn library(frame: &mut Frame, area: Rect, app: &App, theme: &Theme, p: &LibraryPanel) {
    let i = &app.i18n;
    let now = app.server_now(app.now);
    let r = centered(
        area,
        area.width.saturating_sub(4).clamp(40, 110),
        area.height.saturating_sub(2).max(10),
    );
    let inner = boxed(frame, r, i.t("library.title"), theme);
    let width = inner.width as usize;
    let buf = frame.buffer_mut();
    let bottom = inner.y + inner.height;
    let mut y = inner.y;
    let answers = &app.library.answers;
    if answers.is_empty() {
        let empty = if app.library.loading {
            i.t("answer.loading")
        } else {
            i.t("library.empty")
        };
        put(
            buf,
            inner,
            y,
            &Line::styled(format!(" {empty}"), theme.dim()),
        );
        y += 1;
    }
    let list_rows = (inner.height as usize / 2).max(3);
    let first = p.selected.saturating_sub(list_rows - 1);
    for (n, a) in answers.iter().enumerate().skip(first).take(list_rows) {
        let uses = i.f("answer.uses", &[("n", &a.uses.to_string())]);
        let row = format!(
            " {} {}  v{} · {uses} · {}",
            if n == p.selected { "›" } else { " " },
            a.title,
            a.version,
            validity(app, a, now)
        );
        let line = Line::raw(fit(&row, width));
        let line = if n == p.selected {
            line.style(theme.selected())
        } else if a.usable_at(now) {
            line
        } else {
            line.style(theme.dim())
        };
        put(buf, inner, y, &line);
        y += 1;
    }
    y += 1;
    let mut lines: Vec<(String, ratatui::style::Style)> = Vec::new();
    if p.confirm_retire
        && let Some(a) = app.library_selected(p)
    {
        lines.push((
            i.f("library.confirm_retire", &[("title", &a.title)]),
            theme.warn(),
        ));
    }
    match &p.follow_up {
        Some(FollowUp::Loading(_)) => {
            lines.push((i.t("library.cases_loading").into(), theme.dim()))
        }
        Some(FollowUp::Failed(_, e)) => {
            lines.push((i.f("library.cases_failed", &[("error", e)]), theme.error()))
        }
        Some(FollowUp::Loaded(c)) => {
            let title = answers
                .iter()
                .find(|a| a.id == c.answer_id)
                .map_or("?", |a| a.title.as_str());
            lines.push((
                i.f(
                    "library.cases",
                    &[
                        ("title", title),
                        ("days", &c.days.to_string()),
                        ("n", &c.cases.len().to_string()),
                    ],
                ),
                theme.bold(),
            ));
            for u in &c.cases {
                lines.push((
                    format!(
                        "  {} {}  v{} · {} · {}",
                        u.reference,
                        u.title,
                        u.version,
                        u.answered_at.format("%m-%d %H:%M"),
                        u.answered_by
                    ),
                    theme.base(),
                ));
            }
        }
        None => {}
    }
    for (l, style) in lines {
        if y + 1 >= bottom {
            break;
        }
        put(
            buf,
            inner,
            y,
            &Line::styled(fit(&format!(" {l}"), width), style),
        );
        y += 1;
    }
    let hints = if p.confirm_retire {
        i.t("library.hint_confirm")
    } else {
        i.t("library.hints")
    };
    put(
        buf,
        inner,
        bottom.saturating_sub(1),
        &Line::styled(fit(&format!(" {hints}"), width), theme.dim()),
    );
    if let Some(f) = &p.form {
        super::answer_form::answer_form(frame, area, app, theme, f);
    }
}
