//! `?`: every command with its keys, from the keymap in effect.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Widget};

use super::put;
use crate::console::app::App;
use crate::console::command::Command;
use crate::console::layout;
use crate::console::text::fit;
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
    // Only what the signed-in role uses.
    let commands: Vec<Command> = Command::ALL
        .into_iter()
        .filter(|c| app.role_uses(*c))
        .collect();
    let n = commands.len() as u16;
    // As many columns as it takes to show every command on this screen.
    let room = area.height.saturating_sub(4).max(1);
    let cols = n
        .div_ceil(room)
        .clamp(1, 3)
        .max(if area.width >= 110 { 2 } else { 1 });
    let rows = n.div_ceil(cols);
    let col_w = (area.width.saturating_sub(2) / cols).min(52);
    let r = centered(area, col_w * cols + 2, rows + 4);
    let buf = frame.buffer_mut();
    Clear.render(r, buf);
    Block::new()
        .borders(Borders::ALL)
        .border_style(theme.border())
        .title(format!(" {} ", app.i18n.t("help.title")))
        .render(r, buf);
    let inner = layout::inner(r);
    let key_w = (col_w as usize / 3).min(18);
    for (k, cmd) in commands.iter().enumerate() {
        let (col, row) = ((k as u16) / rows, (k as u16) % rows);
        if row >= inner.height.saturating_sub(2) {
            continue;
        }
        let keys = fit(&app.keymap.label(*cmd), key_w);
        let desc = fit(
            app.i18n.t(&format!("cmd.{}", cmd.name())),
            (col_w as usize).saturating_sub(key_w + 3),
        );
        let cell = Rect::new(inner.x + col * col_w, inner.y, col_w, inner.height);
        put(
            buf,
            cell,
            inner.y + row,
            &Line::from(vec![
                Span::styled(format!(" {keys} "), theme.key()),
                // Dim: the role may, but not on the selected case as it is now.
                if app.offered(*cmd) {
                    Span::raw(desc)
                } else {
                    Span::styled(desc, theme.dim())
                },
            ]),
        );
    }
    for (n, key) in ["help.forms", "help.close"].iter().enumerate() {
        let y = inner.y + inner.height.saturating_sub(2 - n as u16);
        let text = fit(&format!(" {}", app.i18n.t(key)), inner.width as usize);
        put(buf, inner, y, &Line::styled(text, theme.dim()));
    }
}
