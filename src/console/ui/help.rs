//! `?`: every command with its keys, from the keymap in effect; descriptions wrap in their
//! column and the screen scrolls when it is taller than the terminal.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Widget};

use super::put;
use crate::console::app::{App, HelpRow, help_box, help_columns};
use crate::console::command::Command;
use crate::console::layout;
use crate::console::theme::Theme;

pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

pub fn help(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let rows = app.help_rows(area);
    let r = help_box(area, rows.len());
    let (_, col_w) = help_columns(area);
    let buf = frame.buffer_mut();
    super::popup::clear(buf, r);
    let inner = layout::inner(r);
    let shown = inner.height as usize;
    let top = app.help_scroll.min(rows.len().saturating_sub(shown));
    let mut block = Block::new()
        .borders(Borders::ALL)
        .border_style(theme.border())
        .title(format!(" {} ", app.i18n.t("help.title")));
    if rows.len() > shown {
        let keys = format!(
            "{}/{}",
            app.keymap.first(Command::Down),
            app.keymap.first(Command::Up)
        );
        let more = app.i18n.f(
            "detail.scroll",
            &[
                ("from", &(top + 1).to_string()),
                ("to", &(top + shown).min(rows.len()).to_string()),
                ("total", &rows.len().to_string()),
                ("keys", &keys),
            ],
        );
        block = block.title_bottom(Line::styled(format!(" {more} "), theme.key()).right_aligned());
    }
    block.render(r, buf);
    for (n, row) in rows.iter().skip(top).take(shown).enumerate() {
        let y = inner.y + n as u16;
        match row {
            HelpRow::Cols(cols) => {
                for (k, (keys, desc, offered)) in cols.iter().enumerate() {
                    let cell = Rect::new(inner.x + k as u16 * col_w, inner.y, col_w, inner.height)
                        .intersection(inner);
                    put(
                        buf,
                        cell,
                        y,
                        &Line::from(vec![
                            Span::styled(format!(" {keys} "), theme.key()),
                            if *offered {
                                Span::raw(desc.clone())
                            } else {
                                Span::styled(desc.clone(), theme.dim())
                            },
                        ]),
                    );
                }
            }
            HelpRow::Note(s) => put(buf, inner, y, &Line::styled(format!(" {s}"), theme.dim())),
        }
    }
}
