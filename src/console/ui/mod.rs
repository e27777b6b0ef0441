//! Drawing: a pure function of the state, the theme and the time it is. Widgets never read the
//! clock, the environment or any global.

mod answer_editor;
mod answer_form;
mod department;
mod departments;
mod detail;
mod dialog;
mod duty;
mod handover;
mod help;
mod intake;
mod library;
mod list;
mod overdue;
mod popup;
mod stats;
mod sup_dialog;
mod sup_lists;
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
    if layout::too_small(area) {
        too_small(frame.buffer_mut(), area, app, theme);
        return;
    }
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
        Mode::Library(p) => library::library(frame, area, app, theme, p),
        Mode::Shift(m) => handover::shift(frame, area, app, theme, m, now),
        Mode::Duty(f) => duty::duty(frame, area, app, theme, f),
        _ => dialog::dialog(frame, area, app, theme),
    }
}

/// A screen smaller than the layout: what the console needs, centred, wrapped to fit.
fn too_small(buf: &mut ratatui::buffer::Buffer, area: Rect, app: &App, theme: &Theme) {
    let text = app.i18n.f(
        "screen.too_small",
        &[
            ("width", &area.width.to_string()),
            ("height", &area.height.to_string()),
            ("min_width", &layout::MIN_WIDTH.to_string()),
            ("min_height", &layout::MIN_HEIGHT.to_string()),
        ],
    );
    let lines = super::text::wrap(&text, area.width as usize);
    let top = area.y + (area.height.saturating_sub(lines.len() as u16)) / 2;
    for (n, l) in lines.iter().enumerate() {
        let x = area.x + (area.width.saturating_sub(super::text::width(l) as u16)) / 2;
        let y = top + n as u16;
        if y < area.bottom() {
            buf.set_line(
                x,
                y,
                &Line::styled(l.as_str(), theme.warn()),
                area.right() - x,
            );
        }
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
mod answer_editor_tests;
#[cfg(test)]
mod tests;

#[cfg(test)]
mod roles_tests;

#[cfg(test)]
mod sup_tests;

#[cfg(test)]
mod groups_tests;

#[cfg(test)]
mod intake_tests;
#[cfg(test)]
mod screen_tests;
#[cfg(test)]
mod shifts_tests;
