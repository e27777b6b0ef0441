//! The detail pane: everything about the selected case, its deadlines and its timeline. The
//! wrapped text comes from the app's cache (`App::detail_text`); only the deadlines' countdowns
//! are made here, each frame. The pane scrolls (`detail_down` / `detail_up`); its bottom
//! border says where it is and which keys move it.

use chrono::{DateTime, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Widget};

use super::put;
use crate::console::app::{App, Tone, clock, presence_mark};
use crate::console::command::Command;
use crate::console::layout;
use crate::console::text::fit;
use crate::console::theme::{Theme, tier_symbol};

fn style(theme: &Theme, tone: Tone) -> Style {
    match tone {
        Tone::Base => theme.base(),
        Tone::Bold => theme.bold(),
        Tone::Dim => theme.dim(),
        Tone::Warn => theme.warn(),
        Tone::Error => theme.error(),
        Tone::Ok => theme.ok(),
    }
}

pub fn detail(buf: &mut Buffer, area: Rect, app: &App, theme: &Theme, now: DateTime<Utc>) {
    if area.width < 4 || area.height < 3 {
        return;
    }
    let i = &app.i18n;
    let inner = layout::inner(area);
    let (Some(c), Some(text)) = (app.selected_case(), app.detail_text(inner.width, now)) else {
        Block::new()
            .borders(Borders::ALL)
            .border_style(theme.border())
            .render(area, buf);
        put(
            buf,
            inner,
            inner.y,
            &Line::styled(format!(" {}", i.t("detail.none")), theme.dim()),
        );
        return;
    };
    let tier_name = c
        .tier
        .map(|t| i.t(&format!("tier.{}", t.as_str())))
        .unwrap_or(i.t("tier.none"));
    let title = Line::from(vec![
        Span::raw(format!(" {} ", c.reference)),
        Span::styled(
            format!("{} {tier_name}", tier_symbol(c.tier)),
            theme.tier(c.tier),
        ),
        Span::raw(format!(
            " · {} ",
            i.t(&format!("status.{}", c.status.as_str()))
        )),
    ]);
    let mut lines: Vec<Line> = text
        .head
        .iter()
        .map(|l| Line::styled(l.text.as_str(), style(theme, l.tone)))
        .collect();
    // Who else has this case open, and a claim its holder's ended shift left behind: drawn
    // each frame, as presence comes and lapses by the clock.
    for (text, activity) in app.presence_lines(c.id, now) {
        lines.push(Line::styled(
            format!(" {} {text}", presence_mark(activity)),
            theme.warn(),
        ));
    }
    if app.claim_left(c) {
        let who = c.claimed_by.as_deref().unwrap_or_default();
        lines.push(Line::styled(
            format!(" {}", i.f("detail.shift_ended", &[("user", who)])),
            theme.warn(),
        ));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        format!(" {}", i.t("detail.deadlines")),
        theme.bold(),
    ));
    let server_now = app.server_now(now);
    for d in &c.deadlines {
        let name = fit(i.t(&format!("clock.{}", d.clock.as_str())), 10);
        let due = clock(app, &d.due_at, now);
        let (state, style) = match d.met_at {
            Some(m) if d.breached => (
                i.f("deadline.met_late", &[("at", &clock(app, &m, now))]),
                theme.warn(),
            ),
            Some(m) => (
                i.f("deadline.met", &[("at", &clock(app, &m, now))]),
                theme.ok(),
            ),
            None => {
                let left = (d.due_at.with_timezone(&Utc) - server_now).num_seconds();
                if left < 0 {
                    (
                        i.f("deadline.overdue", &[("by", &i.duration(left))]),
                        theme.overdue(),
                    )
                } else if left < app.alarms.amber_minutes * 60 {
                    (
                        format!(
                            "{}{}",
                            theme.amber_mark(),
                            i.f("deadline.in", &[("left", &i.duration(left))])
                        ),
                        theme.amber(),
                    )
                } else {
                    (
                        i.f("deadline.in", &[("left", &i.duration(left))]),
                        theme.base(),
                    )
                }
            }
        };
        lines.push(Line::from(vec![
            Span::raw(format!(" {name} {} ", fit(&due, 11))),
            Span::styled(state, style),
        ]));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        format!(" {}", i.t("detail.timeline")),
        theme.bold(),
    ));
    match &text.timeline {
        Some(t) => lines.extend(
            t.iter()
                .map(|l| Line::styled(l.text.as_str(), style(theme, l.tone))),
        ),
        None => lines.push(Line::styled(
            format!(" {}", i.t("detail.loading")),
            theme.dim(),
        )),
    }
    let height = inner.height as usize;
    let total = lines.len();
    let top = app.detail_scroll.min(total.saturating_sub(height));
    let mut block = Block::new()
        .borders(Borders::ALL)
        .border_style(theme.border())
        .title(title);
    // More than fits: the bottom border says which lines show and how to see the rest.
    if total > height {
        let last = (top + height).min(total);
        let keys = format!(
            "{}/{}",
            app.keymap.first(Command::DetailDown),
            app.keymap.first(Command::DetailUp)
        );
        let more = i.f(
            "detail.scroll",
            &[
                ("from", &(top + 1).to_string()),
                ("to", &last.to_string()),
                ("total", &total.to_string()),
                ("keys", &keys),
            ],
        );
        block = block.title_bottom(Line::styled(format!(" {more} "), theme.key()).right_aligned());
    }
    block.render(area, buf);
    for (n, line) in lines.iter().skip(top).take(height).enumerate() {
        put(buf, inner, inner.y + n as u16, line);
    }
}
