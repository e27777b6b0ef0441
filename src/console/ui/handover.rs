//! Shift work's screens: the end-of-shift note, a handover brief (to acknowledge, or the
//! leaving user's own), and the supervisor's handovers panel.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;

use super::dialog::{boxed, form_footer, hint};
use super::help::centered;
use super::put;
use crate::console::app::{App, ShiftMode, Tone};
use crate::console::command::Command;
use crate::console::text::{self, fit};
use crate::console::theme::Theme;

fn style(theme: &Theme, tone: Tone) -> ratatui::style::Style {
    match tone {
        Tone::Base => theme.base(),
        Tone::Bold => theme.bold(),
        Tone::Dim => theme.dim(),
        Tone::Warn => theme.warn(),
        Tone::Error => theme.error(),
        Tone::Ok => theme.ok(),
    }
}

/// Lines from `scroll` on, in a large popup, with a hint and (when there is one) an error or
/// "sending" above it.
#[allow(clippy::too_many_arguments)]
fn scrolled_popup(
    frame: &mut Frame,
    area: Rect,
    app: &App,
    theme: &Theme,
    title: &str,
    lines: &[(String, Tone)],
    scroll: usize,
    footer: (bool, Option<&str>, String),
) {
    let r = centered(
        area,
        area.width.saturating_sub(4).max(20),
        area.height.saturating_sub(2).max(8),
    );
    let inner = boxed(frame, r, title, theme);
    let w = inner.width as usize;
    let room = inner.height.saturating_sub(3) as usize;
    let top = scroll.min(lines.len().saturating_sub(room));
    for (n, (s, tone)) in lines.iter().skip(top).take(room).enumerate() {
        put(
            frame.buffer_mut(),
            inner,
            inner.y + n as u16,
            &Line::styled(
                format!(" {}", fit(s, w.saturating_sub(1))),
                style(theme, *tone),
            ),
        );
    }
    let (sending, error, hints) = footer;
    let more = if lines.len() > room {
        format!(
            "{} · {}",
            app.i18n.f(
                "brief.lines",
                &[
                    ("from", &(top + 1).to_string()),
                    ("to", &(top + room).min(lines.len()).to_string()),
                    ("total", &lines.len().to_string()),
                ],
            ),
            hints
        )
    } else {
        hints
    };
    super::dialog::form_footer_with(frame, inner, app, theme, sending, error, more);
}

pub fn shift(
    frame: &mut Frame,
    area: Rect,
    app: &App,
    theme: &Theme,
    m: &ShiftMode,
    now: DateTime<Utc>,
) {
    let i = &app.i18n;
    match m {
        ShiftMode::End(f) => {
            let h = area.height.saturating_sub(4).clamp(8, 16);
            let r = centered(area, area.width.min(76), h);
            let inner = boxed(frame, r, i.t("shift.end_title"), theme);
            put(
                frame.buffer_mut(),
                inner,
                inner.y,
                &Line::styled(format!(" {}", i.t("shift.end_prompt")), theme.bold()),
            );
            let mut note = text::wrap(
                &f.note.with_cursor(),
                inner.width.saturating_sub(2) as usize,
            );
            let room = inner.height.saturating_sub(4) as usize;
            if note.len() > room {
                note.drain(..note.len() - room);
            }
            for (n, l) in note.iter().enumerate() {
                put(
                    frame.buffer_mut(),
                    inner,
                    inner.y + 1 + n as u16,
                    &Line::raw(format!(" {l}")),
                );
            }
            form_footer(
                frame,
                inner,
                app,
                theme,
                f.sending,
                f.error.as_deref(),
                &[
                    (Command::Submit, "shift.hint_end"),
                    (Command::Cancel, "hint.cancel"),
                ],
            );
        }
        ShiftMode::Brief(v) => {
            let title = if v.to_ack {
                i.t("brief.title")
            } else {
                i.t("brief.title_own")
            };
            let keys: &[(Command, &str)] = if v.to_ack {
                &[
                    (Command::Confirm, "brief.hint_ack"),
                    (Command::Cancel, "brief.hint_later"),
                ]
            } else {
                &[(Command::Cancel, "hint.close")]
            };
            scrolled_popup(
                frame,
                area,
                app,
                theme,
                title,
                &app.brief_lines(&v.brief, now),
                v.scroll,
                (v.sending, v.error.as_deref(), hint(app, keys)),
            );
        }
        ShiftMode::Panel { scroll, .. } => {
            let keys = hint(
                app,
                &[
                    (Command::Claim, "panel.hint_claims"),
                    (Command::Cancel, "hint.close"),
                ],
            );
            scrolled_popup(
                frame,
                area,
                app,
                theme,
                i.t("panel.title"),
                &app.panel_lines(now),
                *scroll,
                (false, None, keys),
            );
        }
        ShiftMode::Claims(f) => {
            let heirs = app.claim_heirs();
            let h = (heirs.len() as u16 + 7).clamp(8, area.height);
            let r = centered(area, area.width.min(76), h);
            let inner = boxed(frame, r, i.t("claims.title"), theme);
            put(
                frame.buffer_mut(),
                inner,
                inner.y,
                &Line::styled(
                    format!(" {}", i.f("claims.prompt", &[("user", &f.shift.user)])),
                    theme.bold(),
                ),
            );
            let mut choices = vec![i.t("claims.release").to_string()];
            choices.extend(heirs.iter().map(|u| i.f("claims.hand_to", &[("user", u)])));
            for (n, c) in choices.iter().enumerate() {
                let mark = if n == f.choice { "▶" } else { " " };
                let line = Line::raw(format!(" {mark} {c}"));
                let line = if n == f.choice {
                    line.style(theme.selected())
                } else {
                    line
                };
                put(frame.buffer_mut(), inner, inner.y + 2 + n as u16, &line);
            }
            form_footer(
                frame,
                inner,
                app,
                theme,
                f.sending,
                f.error.as_deref(),
                &[
                    (Command::Confirm, "hint.confirm"),
                    (Command::Cancel, "hint.cancel"),
                ],
            );
        }
    }
}
