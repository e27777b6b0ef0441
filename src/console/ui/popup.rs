//! Clearing the cells under a popup, for every dialog, picker and help screen.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::{Clear, Widget};
use unicode_width::UnicodeWidthStr;

/// Blanks `r` and mends the wide characters cut by its edges. A double-width glyph (CJK) just
/// left of the popup would otherwise be drawn over the popup's left border — the terminal
/// paints both its halves and the frame's diff skips the cell it covers — and one starting on
/// the right border would leave its orphaned second half outside. Both become blanks in the
/// glyph's own style.
pub fn clear(buf: &mut Buffer, r: Rect) {
    let r = r.intersection(*buf.area());
    if r.is_empty() {
        return;
    }
    for y in r.top()..r.bottom() {
        if r.left() > buf.area().left() {
            let cell = &mut buf[(r.left() - 1, y)];
            if cell.symbol().width() > 1 {
                cell.set_symbol(" ");
            }
        }
        // The cell just right of the popup may hold the hidden half of a glyph that started
        // on the popup's last column; after the clear it must be a blank of its own.
        let last = &buf[(r.right() - 1, y)];
        if last.symbol().width() > 1 && r.right() < buf.area().right() {
            buf[(r.right(), y)].reset();
        }
    }
    Clear.render(r, buf);
}
