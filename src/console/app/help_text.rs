//! The `?` screen's text: every command with its keys, descriptions wrapped to their column,
//! then the notes. Made here rather than in drawing because `update` needs its length to
//! scroll it.

use ratatui::layout::Rect;

use super::App;
use crate::console::command::Command;
use crate::console::text;

/// One row of the help screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HelpRow {
    /// Per column: the keys (empty on a description's later lines), a line of the description,
    /// and whether the selected case offers it now (else it is dimmed: the role may, but not on
    /// this case as it is).
    Cols(Vec<(String, String, bool)>),
    /// A note across the whole width.
    Note(String),
}

/// Widest a help column gets.
const COL_MAX: u16 = 52;

/// Columns of the help box and their width on a screen `area`: two from 110 cells up.
pub fn help_columns(area: Rect) -> (u16, u16) {
    if area.width >= 110 {
        (2, ((area.width - 2) / 2).min(COL_MAX))
    } else {
        (1, area.width.saturating_sub(2).min(80))
    }
}

/// The help box on a screen `area`, for `rows` rows of text.
pub fn help_box(area: Rect, rows: usize) -> Rect {
    let (cols, col_w) = help_columns(area);
    let w = (col_w * cols + 2).min(area.width);
    let h = (rows as u16).saturating_add(2).min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

impl App {
    /// The help screen's rows for a screen `area`.
    pub fn help_rows(&self, area: Rect) -> Vec<HelpRow> {
        let (cols, col_w) = help_columns(area);
        // Only what the signed-in role uses.
        let commands: Vec<Command> = Command::ALL
            .into_iter()
            .filter(|c| self.role_uses(*c))
            .collect();
        // Keys as wide as the widest binding (`Ctrl-S / Alt-Enter`), up to half the column.
        let key_w = commands
            .iter()
            .map(|c| text::width(&self.keymap.label(*c)))
            .max()
            .unwrap_or(0)
            .min(col_w as usize / 2);
        let desc_w = (col_w as usize).saturating_sub(key_w + 3).max(1);
        let per_col = commands.len().div_ceil(cols as usize).max(1);
        let columns: Vec<Vec<(String, String, bool)>> = commands
            .chunks(per_col)
            .map(|chunk| {
                let mut rows = Vec::new();
                for cmd in chunk {
                    let desc = self.i18n.t(&format!("cmd.{}", cmd.name()));
                    let keys = text::fit(&self.keymap.label(*cmd), key_w);
                    for (n, l) in text::wrap(desc, desc_w).into_iter().enumerate() {
                        let k = if n == 0 {
                            keys.clone()
                        } else {
                            " ".repeat(key_w)
                        };
                        rows.push((k, l, self.offered(*cmd)));
                    }
                }
                rows
            })
            .collect();
        let height = columns.iter().map(Vec::len).max().unwrap_or(0);
        let mut out: Vec<HelpRow> = (0..height)
            .map(|r| {
                HelpRow::Cols(
                    columns
                        .iter()
                        .map(|c| {
                            c.get(r)
                                .cloned()
                                .unwrap_or_else(|| (" ".repeat(key_w), String::new(), true))
                        })
                        .collect(),
                )
            })
            .collect();
        let note_w = ((col_w * cols) as usize).saturating_sub(2).max(1);
        out.push(HelpRow::Note(String::new()));
        let answers = self
            .me
            .as_ref()
            .is_some_and(|m| crate::console::permissions::role_uses(Command::Answer, m.role));
        let notes: &[&str] = if answers {
            &["help.forms", "help.answer_editor", "help.close"]
        } else {
            &["help.forms", "help.close"]
        };
        for &key in notes {
            for l in text::wrap(self.i18n.t(key), note_w) {
                out.push(HelpRow::Note(l));
            }
        }
        out
    }

    /// How far the help screen can scroll on this screen.
    fn help_max_scroll(&self) -> usize {
        let area = Rect::new(0, 0, self.size.0, self.size.1);
        let rows = self.help_rows(area).len();
        let shown = help_box(area, rows).height.saturating_sub(2) as usize;
        rows.saturating_sub(shown)
    }

    /// Scrolls the help screen by `delta` rows.
    pub(super) fn scroll_help(&mut self, delta: isize) {
        let max = self.help_max_scroll() as isize;
        self.help_scroll = (self.help_scroll as isize + delta).clamp(0, max) as usize;
    }
}
