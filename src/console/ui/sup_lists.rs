//! The supervisor's own lists under the overdue board: cases awaiting a ruling, pending
//! extension requests, returned cases. One at a time in the lower pane, each with its count;
//! the header names the others with theirs.

use chrono::{DateTime, Utc};
use ratatui::buffer::Buffer;
use ratatui::text::Line;

use super::overdue::{board_row, header};
use super::put;
use crate::console::app::App;
use crate::console::app::supervision::{BoardRow, SupPane};
use crate::console::layout::{self, OverdueView};
use crate::console::ranked::Ranked;
use crate::console::theme::Theme;
use crate::wire::ClockKind;

/// The lists of a pane, by pane.
fn list(app: &App, pane: SupPane) -> Option<&Ranked<(i64, i64)>> {
    match pane {
        SupPane::Ruling => Some(&app.sup.ruling),
        SupPane::Extensions => Some(&app.sup.extensions),
        SupPane::Returned => Some(&app.sup.returned),
        SupPane::Board | SupPane::FollowUps => None,
    }
}

/// ` · awaiting ruling 1 · extensions 2 · returned 3`, less the pane shown.
pub fn others(app: &App, shown: SupPane) -> String {
    let mut s = String::new();
    for pane in [SupPane::Ruling, SupPane::Extensions, SupPane::Returned] {
        if pane == shown {
            continue;
        }
        let n = list(app, pane).map_or(0, Ranked::len);
        s.push_str(" · ");
        s.push_str(&app.i18n.f(pane.key(), &[("n", &n.to_string())]));
    }
    s
}

/// Draws the chosen list in the lower pane; false when the follow-up queue is the one to show.
pub fn lower(
    buf: &mut Buffer,
    geo: &OverdueView,
    app: &App,
    theme: &Theme,
    now: DateTime<Utc>,
) -> bool {
    let pane = app.sup.pane;
    let Some(ids) = list(app, pane) else {
        return false;
    };
    let area = geo.follow;
    let w = area.width as usize;
    let i = &app.i18n;
    let mut label = format!(
        "{}{}",
        i.f(pane.key(), &[("n", &ids.len().to_string())]),
        others(app, pane)
    );
    label.push_str(&format!(" · {}", i.t("follow_up.pane")));
    put(buf, area, area.y, &header(theme, label, true, w));
    let rows = geo.follow_rows;
    if ids.is_empty() && rows.height > 0 {
        put(
            buf,
            rows,
            rows.y,
            &Line::styled(format!("   {}", i.t("board.list_empty")), theme.dim()),
        );
    }
    let sel = app.sup_index(pane);
    let off = layout::scroll_offset(sel.unwrap_or(0), rows.height);
    let server_now = app.server_now(now);
    for (n, id) in ids.ids_from(off).take(rows.height as usize).enumerate() {
        let Some(c) = app.cases.get(&id) else {
            continue;
        };
        // An extension request counts down to the time asked for; the rest to the next due.
        let (clock, due) = match (&c.pending_extension, pane) {
            (Some(p), SupPane::Extensions) => (ClockKind::Feedback, Some(p.until)),
            _ => (
                c.next_due.as_ref().map_or(ClockKind::Feedback, |d| d.clock),
                c.next_due.as_ref().map(|d| d.due_at),
            ),
        };
        let left = due.map_or(0, |d| (d.with_timezone(&Utc) - server_now).num_seconds());
        let row = BoardRow {
            case_id: c.id,
            clock,
            left,
        };
        let selected = sel == Some(off + n);
        put(
            buf,
            rows,
            rows.y + n as u16,
            &board_row(app, theme, &row, c, w, selected, now),
        );
    }
    true
}
