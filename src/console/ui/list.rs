//! The case lists: the Queue view's four panes and the Search results.

use chrono::{DateTime, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Widget};

use super::put;
use crate::console::app::{App, PANES, presence_mark};
use crate::console::layout;
use crate::console::text::{self, fit, fit_right};
use crate::console::theme::{Theme, tier_symbol};
use crate::wire::{Case, Status, Tier};

/// Column widths for a list `w` cells wide; optional columns go first when space is short.
struct Columns {
    reference: usize,
    title: usize,
    town: usize,
    status: usize,
    department: usize,
    claimed: usize,
}

impl Columns {
    /// `status` is the widest status word in the UI's language, so none is ever cut.
    fn new(w: usize, status: usize) -> Columns {
        // marker, tier, space, countdown, space, ref, space = 30 with a 16-cell ref
        let reference = if w >= 70 { 16 } else { 12 };
        let fixed = 1 + 1 + 1 + 9 + 1 + reference + 1;
        let mut c = Columns {
            reference,
            title: 0,
            town: 8,
            status,
            department: 10,
            claimed: 8,
        };
        let extra = |c: &Columns| {
            [c.town, c.status, c.department, c.claimed]
                .iter()
                .filter(|x| **x > 0)
                .map(|x| x + 1)
                .sum::<usize>()
        };
        for drop in 0..4 {
            let title = w.saturating_sub(fixed + extra(&c));
            if title >= 20 || drop == 3 {
                c.title = title;
                break;
            }
            match drop {
                0 => c.claimed = 0,
                1 => c.status = 0,
                _ => c.department = 0,
            }
        }
        if c.title < 6 {
            c.town = 0;
            c.title = w.saturating_sub(fixed + extra(&c));
        }
        c
    }
}

fn status_text(app: &App, status: Status, returned: bool) -> String {
    let s = app
        .i18n
        .t(&format!("status.{}", status.as_str()))
        .to_string();
    if returned && status == Status::Triaged {
        format!("↩{s}")
    } else {
        s
    }
}

fn status_label(app: &App, c: &Case) -> String {
    status_text(app, c.status, c.return_count > 0)
}

/// The status column's width: its widest word in this language, a returned case's mark
/// included.
pub fn status_width(app: &App) -> usize {
    Status::ALL
        .iter()
        .map(|s| text::width(&status_text(app, *s, true)))
        .max()
        .unwrap_or(10)
}

/// One case as one line of the list.
pub fn row<'a>(
    app: &App,
    theme: &Theme,
    c: &Case,
    w: usize,
    selected: bool,
    now: DateTime<Utc>,
) -> Line<'a> {
    let cols = Columns::new(w, status_width(app));
    let (countdown, cd_style) = match app.seconds_left(c, now) {
        Some(s) if s < 0 => (text::countdown(s), theme.overdue()),
        Some(s) if s < app.alarms.amber_minutes * 60 => (
            format!("{}{}", theme.amber_mark(), text::countdown(s)),
            theme.amber(),
        ),
        Some(s) => (text::countdown(s), theme.base()),
        None => ("—".to_string(), theme.dim()),
    };
    // Someone else has the case open: a pen while they fill in a dialog on it, a circle while
    // they only look; one narrow cell, blank otherwise.
    let presence = match app.row_presence(c.id, now) {
        Some(a) => Span::styled(presence_mark(a), theme.warn()),
        None => Span::raw(" "),
    };
    let mut spans = vec![
        Span::raw(if selected { "▶" } else { " " }),
        Span::styled(tier_symbol(c.tier), theme.tier(c.tier)),
        presence,
        Span::styled(fit_right(&countdown, 9), cd_style),
        Span::raw(" "),
        Span::raw(fit(&c.reference, cols.reference)),
        Span::raw(" "),
        Span::raw(fit(&c.title, cols.title)),
    ];
    let mut col = |s: &str, width: usize| {
        if width > 0 {
            spans.push(Span::raw(" "));
            spans.push(Span::raw(fit(s, width)));
        }
    };
    col(&c.location.town, cols.town);
    col(&status_label(app, c), cols.status);
    let dept = c
        .department_id
        .map(|id| {
            app.department_name(id)
                .map(str::to_string)
                .unwrap_or_else(|| format!("#{id}"))
        })
        .unwrap_or_else(|| "—".into());
    col(&dept, cols.department);
    if app.claim_left(c) && cols.claimed > 0 {
        // The holder's shift has ended: nobody is working the claim.
        spans.push(Span::raw(" "));
        spans.push(Span::styled(
            fit(app.i18n.t("row.shift_ended"), cols.claimed),
            theme.warn(),
        ));
    } else {
        col(c.claimed_by.as_deref().unwrap_or("—"), cols.claimed);
    }
    let line = Line::from(spans);
    // A row that just rang an alarm is shown reversed for a second.
    if selected || app.is_flashing(c.id, now) {
        line.style(theme.selected())
    } else {
        line
    }
}

/// A group's row: a collapsed group shows its size and its anchor's title (`×5 透析…`), the
/// cases of an expanded group are marked `┊`.
fn group_shown(app: &App, c: &Case) -> Option<Case> {
    let title = match app.group_row(c.id) {
        Some((count, title)) => format!("×{count} {title}"),
        None if app.expanded_member(c.id) => format!("┊ {}", c.title),
        None => return None,
    };
    Some(Case { title, ..c.clone() })
}

fn header_line<'a>(
    theme: &Theme,
    tier: Option<Tier>,
    label: &str,
    count: usize,
    w: usize,
) -> Line<'a> {
    let head = format!("{} {} {} ", tier_symbol(tier), label, count);
    let rule = "─".repeat(w.saturating_sub(text::width(&head) + 1));
    Line::from(vec![
        Span::styled(head, theme.tier(tier)),
        Span::styled(rule, theme.border()),
        Span::raw(" "),
    ])
}

fn frame(buf: &mut Buffer, area: Rect, theme: &Theme) -> Rect {
    Block::new()
        .borders(Borders::ALL)
        .border_style(theme.border())
        .render(area, buf);
    layout::inner(area)
}

pub fn queue(buf: &mut Buffer, area: Rect, app: &App, theme: &Theme, now: DateTime<Utc>) {
    if area.width == 0 || area.height == 0 {
        return;
    }
    let inner = frame(buf, area, theme);
    let counts = app.queues.each_ref().map(|q| q.len());
    let panes = layout::panes(inner, counts);
    // The untriaged pane's header counts cases, however many rows their groups take.
    let mut counts = counts;
    counts[0] = app.groups.shown_cases();
    let w = inner.width as usize;
    for (p, pane) in panes.iter().enumerate() {
        let tier = PANES[p];
        let label = app.i18n.t(match tier {
            None => "pane.untriaged",
            Some(Tier::Red) => "pane.red",
            Some(Tier::Orange) => "pane.orange",
            Some(Tier::Blue) => "pane.blue",
        });
        if pane.header.height > 0 {
            put(
                buf,
                pane.header,
                pane.header.y,
                &header_line(theme, tier, label, counts[p], w),
            );
        }
        let ids = &app.queues[p];
        if ids.is_empty() && pane.rows.height > 0 {
            put(
                buf,
                pane.rows,
                pane.rows.y,
                &Line::styled(format!("   {}", app.i18n.t("list.empty")), theme.dim()),
            );
            continue;
        }
        let selected_pane = p == app.cursor.pane;
        let off = if selected_pane {
            layout::scroll_offset(app.cursor.index, pane.rows.height)
        } else {
            0
        };
        for (n, id) in ids
            .ids_from(off)
            .take(pane.rows.height as usize)
            .enumerate()
        {
            let Some(c) = app.cases.get(&id) else {
                continue;
            };
            let sel = selected_pane && off + n == app.cursor.index;
            let grouped = group_shown(app, c);
            put(
                buf,
                pane.rows,
                pane.rows.y + n as u16,
                &row(app, theme, grouped.as_ref().unwrap_or(c), w, sel, now),
            );
        }
    }
    if app.cases.is_empty() && app.last_ok.is_none() && inner.height > 5 {
        let msg = app.i18n.t("list.waiting");
        put(
            buf,
            inner,
            inner.y + inner.height / 2,
            &Line::styled(format!("  {msg}"), theme.warn()),
        );
    }
}

pub fn search(buf: &mut Buffer, area: Rect, app: &App, theme: &Theme, now: DateTime<Utc>) {
    if area.width == 0 || area.height == 0 {
        return;
    }
    let inner = frame(buf, area, theme);
    let w = inner.width as usize;
    let head = if app.filter.is_empty() {
        app.i18n
            .f("search.all", &[("n", &app.search.len().to_string())])
    } else {
        app.i18n.f(
            "search.matches",
            &[("n", &app.search.len().to_string()), ("q", &app.filter)],
        )
    };
    put(
        buf,
        inner,
        inner.y,
        &Line::styled(text::fit(&format!(" {head}"), w), theme.bold()),
    );
    let rows = Rect::new(
        inner.x,
        inner.y + 1,
        inner.width,
        inner.height.saturating_sub(1),
    );
    let off = layout::scroll_offset(app.search_cursor, rows.height);
    for (n, id) in app
        .search
        .ids_from(off)
        .take(rows.height as usize)
        .enumerate()
    {
        let Some(c) = app.case(id) else { continue };
        let sel = off + n == app.search_cursor;
        put(
            buf,
            rows,
            rows.y + n as u16,
            &row(app, theme, c, w, sel, now),
        );
    }
    if app.search.is_empty() && rows.height > 0 {
        put(
            buf,
            rows,
            rows.y,
            &Line::styled(format!("   {}", app.i18n.t("search.hint")), theme.dim()),
        );
    }
}
