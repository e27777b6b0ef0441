//! Drawing: a pure function of the state, the theme and the time it is. Widgets never read the
//! clock, the environment or any global.

mod departments;
mod detail;
mod dialog;
mod help;
mod intake;
mod list;
mod overdue;
mod stats;
mod sup_dialog;
mod top;

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;

use super::app::{App, Mode, View};
use super::layout;
use super::theme::Theme;

pub fn draw(frame: &mut Frame, app: &App, theme: &Theme, now: DateTime<Utc>) {
    let area = frame.area();
    let screen = layout::screen(area, app.show_detail);
    top::top_bar(frame.buffer_mut(), screen.top, app, theme, now);
    top::tabs(frame.buffer_mut(), screen.tabs, app, theme);
    match app.view {
        View::Queue => list::queue(frame.buffer_mut(), screen.main, app, theme, now),
        View::Search => list::search(frame.buffer_mut(), screen.main, app, theme, now),
        View::Overdue => overdue::overdue(frame.buffer_mut(), screen.main, app, theme, now),
        // Departments and Stats are about no single case: they take the detail's room too.
        View::Departments => {
            departments::departments(frame.buffer_mut(), whole(&screen), app, theme, now)
        }
        View::Stats => stats::stats(frame.buffer_mut(), whole(&screen), app, theme, now),
    }
    if let Some(d) = screen
        .detail
        .filter(|_| !matches!(app.view, View::Departments | View::Stats))
    {
        detail::detail(frame.buffer_mut(), d, app, theme, now);
    }
    top::status_line(frame.buffer_mut(), screen.status, app, theme, now);
    top::footer(frame.buffer_mut(), screen.footer, app, theme, now);
    match &app.mode {
        Mode::Normal | Mode::Filter => {}
        Mode::Help => help::help(frame, area, app, theme),
        Mode::Sup(_) => sup_dialog::sup_dialog(frame, area, app, theme),
        _ => dialog::dialog(frame, area, app, theme),
    }
}

/// The list and the detail pane together.
fn whole(screen: &layout::Screen) -> Rect {
    match screen.detail {
        Some(d) if screen.main.area() > 0 => screen.main.union(d),
        Some(d) => d,
        None => screen.main,
    }
}

/// Writes a line clipped to `area`'s first row.
fn put(buf: &mut ratatui::buffer::Buffer, area: Rect, y: u16, line: &Line) {
    if y < area.y + area.height && area.width > 0 {
        buf.set_line(area.x, y, line, area.width);
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod sup_tests;

#[cfg(test)]
mod intake_tests;
