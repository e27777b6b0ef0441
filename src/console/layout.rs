//! Screen geometry, shared by drawing and by mouse hit-testing in `App::update`, so a click
//! lands on the row that was drawn there.

use ratatui::layout::{Constraint, Layout, Rect};

/// From this width up the detail pane sits beside the queue; below it covers the queue.
pub const WIDE: u16 = 120;

/// The smallest screen the layout is drawn on; below it the console says so instead.
pub const MIN_WIDTH: u16 = 64;
pub const MIN_HEIGHT: u16 = 16;

pub fn too_small(area: Rect) -> bool {
    area.width < MIN_WIDTH || area.height < MIN_HEIGHT
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Screen {
    pub top: Rect,
    pub tabs: Rect,
    /// The list (queue panes or search results), borders included; empty when covered.
    pub main: Rect,
    pub detail: Option<Rect>,
    pub status: Rect,
    pub footer: Rect,
}

pub fn screen(area: Rect, show_detail: bool) -> Screen {
    let [top, tabs, body, status, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let (main, detail) = if body.width >= WIDE {
        let [main, detail] =
            Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)])
                .areas(body);
        (main, Some(detail))
    } else if show_detail {
        (Rect::new(body.x, body.y, 0, 0), Some(body))
    } else {
        (body, None)
    };
    Screen {
        top,
        tabs,
        main,
        detail,
        status,
        footer,
    }
}

/// The inside of a bordered block.
pub fn inner(r: Rect) -> Rect {
    if r.width < 2 || r.height < 2 {
        return Rect::new(r.x, r.y, 0, 0);
    }
    Rect::new(r.x + 1, r.y + 1, r.width - 2, r.height - 2)
}

/// One queue pane: a header line and the rows under it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pane {
    pub header: Rect,
    pub rows: Rect,
}

/// Splits the list area among the four panes: one header line each, then rows handed out
/// one at a time to panes that still have cases to show, so a short pane never wastes space
/// and a long one cannot starve the others.
pub fn panes(area: Rect, counts: [usize; 4]) -> [Pane; 4] {
    let mut heights = [0usize; 4];
    let mut left = (area.height as usize).saturating_sub(4);
    while left > 0 {
        let mut gave = false;
        for i in 0..4 {
            if left > 0 && heights[i] < counts[i] {
                heights[i] += 1;
                left -= 1;
                gave = true;
            }
        }
        if !gave {
            break;
        }
    }
    // Spare lines go to the last pane so the block looks filled.
    heights[3] += left;
    let mut y = area.y;
    let bottom = area.y + area.height;
    std::array::from_fn(|i| {
        let header_h = u16::from(y < bottom);
        let header = Rect::new(area.x, y, area.width, header_h);
        y += header_h;
        let h = (heights[i] as u16).min(bottom - y);
        let rows = Rect::new(area.x, y, area.width, h);
        y += h;
        Pane { header, rows }
    })
}

/// The Overdue view inside its frame: the board (a header, column titles, rows) on top and the
/// follow-up queue (a header, rows) in the bottom third.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverdueView {
    pub board: Rect,
    pub board_rows: Rect,
    pub follow: Rect,
    pub follow_rows: Rect,
}

pub fn overdue(inner: Rect) -> OverdueView {
    let follow_h = (inner.height / 3)
        .max(3)
        .min(inner.height.saturating_sub(3));
    let board = Rect::new(inner.x, inner.y, inner.width, inner.height - follow_h);
    let follow = Rect::new(inner.x, inner.y + board.height, inner.width, follow_h);
    OverdueView {
        board,
        board_rows: Rect::new(
            board.x,
            board.y + 2,
            board.width,
            board.height.saturating_sub(2),
        ),
        follow,
        follow_rows: Rect::new(
            follow.x,
            follow.y + 1,
            follow.width,
            follow.height.saturating_sub(1),
        ),
    }
}

/// First visible row so that `cursor` stays on screen in a list of `height` rows.
pub fn scroll_offset(cursor: usize, height: u16) -> usize {
    let h = height as usize;
    if h == 0 {
        cursor
    } else {
        cursor.saturating_sub(h - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panes_share_rows_fairly() {
        let p = panes(Rect::new(0, 0, 50, 20), [1, 100, 100, 0]);
        assert_eq!(p[0].rows.height, 1);
        assert_eq!(p[1].rows.height + p[2].rows.height, 15);
        assert!(p[1].rows.height >= 7 && p[2].rows.height >= 7);
        assert_eq!(p[3].header.y + 1, p[3].rows.y);
        // Tiny areas never overflow.
        let p = panes(Rect::new(0, 0, 50, 3), [5, 5, 5, 5]);
        assert!(
            p.iter()
                .all(|p| p.rows.bottom() <= 3 && p.header.bottom() <= 3)
        );
    }

    #[test]
    fn scrolls_to_keep_the_cursor_visible() {
        assert_eq!(scroll_offset(3, 10), 0);
        assert_eq!(scroll_offset(12, 10), 3);
    }
}
