//! The Overdue view: the supervisor's board of breached and nearly breached cases on top, the
//! follow-up (回访) queue under it. `]` / `[` move between the two panes.

use chrono::{DateTime, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Widget};

use super::put;
use crate::console::app::App;
use crate::console::app::supervision::{BoardRow, SupPane};
use crate::console::layout;
use crate::console::text::{self, fit, fit_right};
use crate::console::theme::{Theme, tier_symbol};
use crate::wire::Case;

/// Column widths; the title takes what is left.
struct Cols {
    reference: usize,
    clock: usize,
    dept: usize,
    counts: usize,
    escalation: usize,
    title: usize,
}

impl Cols {
    fn new(w: usize) -> Cols {
        let mut c = Cols {
            reference: if w >= 70 { 16 } else { 12 },
            clock: 8,
            dept: if w >= 90 { 10 } else { 8 },
            counts: 11,
            escalation: if w >= 110 { 24 } else { 10 },
            title: 0,
        };
        let used = 3
            + 10
            + [c.reference, c.clock, c.dept, c.counts, c.escalation]
                .iter()
                .map(|x| x + 1)
                .sum::<usize>();
        c.title = w.saturating_sub(used);
        c
    }
}

fn dept(app: &App, c: &Case) -> String {
    c.department_id
        .map(|id| {
            app.department_name(id)
                .map(str::to_string)
                .unwrap_or_else(|| format!("#{id}"))
        })
        .unwrap_or_else(|| "—".into())
}

fn countdown(app: &App, theme: &Theme, left: Option<i64>) -> (String, Style) {
    match left {
        Some(s) if s < 0 => (text::countdown(s), theme.overdue()),
        Some(s) if s < app.alarms.amber_minutes * 60 => (
            format!("{}{}", theme.amber_mark(), text::countdown(s)),
            theme.amber(),
        ),
        Some(s) => (text::countdown(s), theme.base()),
        None => ("—".into(), theme.dim()),
    }
}

/// `reminder · urging notice in 11m50s` (wide) or `reminder›11m` (narrow); `—` before the
/// ladder starts and once its clock is met.
fn escalation(app: &App, c: &Case, now: DateTime<Utc>, wide: bool) -> String {
    let i = &app.i18n;
    let Some(e) = crate::console::app::live_escalation(c) else {
        return "—".into();
    };
    let step = |s: crate::wire::EscalationStep, short: bool| {
        let prefix = if short {
            "escalation_short"
        } else {
            "escalation"
        };
        i.t(&format!("{prefix}.{}", s.as_str())).to_string()
    };
    let mut s = step(e.step, !wide);
    if let (Some(next), Some(at)) = (e.next_step, e.next_step_at) {
        let secs = (at.with_timezone(&Utc) - app.server_now(now))
            .num_seconds()
            .max(0);
        let left = i.duration(secs);
        if wide {
            s.push_str(" · ");
            s.push_str(&i.f(
                "board.next_in",
                &[("step", &step(next, false)), ("left", &left)],
            ));
        } else {
            s.push('›');
            s.push_str(&short_left(app, secs));
        }
    }
    s
}

/// Minutes (rounded up) or hours and minutes, in the UI's units: `12m`, `1h05m`; `12分`.
fn short_left(app: &App, secs: i64) -> String {
    let m = (secs + 59) / 60;
    if m < 60 {
        app.i18n.f("duration.short_m", &[("m", &m.to_string())])
    } else {
        app.i18n.f(
            "duration.short_hm",
            &[
                ("h", &(m / 60).to_string()),
                ("m", &format!("{:02}", m % 60)),
            ],
        )
    }
}

/// Urged, returned and extended counts under their three column heads; `?` marks a pending
/// extension request.
fn counts(c: &Case) -> String {
    let pending = if c.pending_extension.is_some() {
        "?"
    } else {
        ""
    };
    format!(
        "{} {} {}",
        fit_right(&c.urge_count.to_string(), 3),
        fit_right(&c.return_count.to_string(), 3),
        fit_right(&format!("{}{pending}", c.extension_count), 3)
    )
}

pub(super) fn board_row<'a>(
    app: &App,
    theme: &Theme,
    r: &BoardRow,
    c: &Case,
    w: usize,
    selected: bool,
    now: DateTime<Utc>,
) -> Line<'a> {
    let cols = Cols::new(w);
    let (cd, cd_style) = countdown(app, theme, Some(r.left));
    let clock = app.i18n.t(&format!("clock.{}", r.clock.as_str()));
    let line = Line::from(vec![
        Span::raw(if selected { "▶" } else { " " }),
        Span::styled(tier_symbol(c.tier), theme.tier(c.tier)),
        Span::raw(" "),
        Span::styled(fit_right(&cd, 9), cd_style),
        Span::raw(" "),
        Span::raw(fit(&c.reference, cols.reference)),
        Span::raw(" "),
        Span::styled(fit(clock, cols.clock), cd_style),
        Span::raw(" "),
        Span::raw(fit(&dept(app, c), cols.dept)),
        Span::raw(" "),
        Span::raw(fit(&counts(c), cols.counts)),
        Span::raw(" "),
        Span::raw(fit(
            &escalation(app, c, now, cols.escalation > 12),
            cols.escalation,
        )),
        Span::raw(" "),
        Span::raw(fit(&c.title, cols.title)),
    ]);
    if selected || app.is_flashing(c.id, now) {
        line.style(theme.selected())
    } else {
        line
    }
}

fn follow_row<'a>(
    app: &App,
    theme: &Theme,
    c: &Case,
    left: Option<i64>,
    w: usize,
    selected: bool,
    now: DateTime<Utc>,
) -> Line<'a> {
    let cols = Cols::new(w);
    let (cd, cd_style) = countdown(app, theme, left);
    let resolved = c
        .resolved_at
        .map(|t| {
            t.with_timezone(&app.server_zone)
                .format("%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_else(|| "—".into());
    let rest = w.saturating_sub(3 + 10 + cols.reference + 1 + 12 + cols.dept + 2);
    let line = Line::from(vec![
        Span::raw(if selected { "▶" } else { " " }),
        Span::styled(tier_symbol(c.tier), theme.tier(c.tier)),
        Span::raw(" "),
        Span::styled(fit_right(&cd, 9), cd_style),
        Span::raw(" "),
        Span::raw(fit(&c.reference, cols.reference)),
        Span::raw(" "),
        Span::raw(fit(&resolved, 11)),
        Span::raw(" "),
        Span::raw(fit(&dept(app, c), cols.dept)),
        Span::raw(" "),
        Span::raw(fit(&c.title, rest)),
    ]);
    if selected || app.is_flashing(c.id, now) {
        line.style(theme.selected())
    } else {
        line
    }
}

pub(super) fn header<'a>(theme: &Theme, label: String, active: bool, w: usize) -> Line<'a> {
    let head = format!("{} {label} ", if active { "▸" } else { " " });
    let rule = "─".repeat(w.saturating_sub(text::width(&head) + 1));
    let style = if active { theme.bold() } else { theme.base() };
    Line::from(vec![
        Span::styled(head, style),
        Span::styled(rule, theme.border()),
        Span::raw(" "),
    ])
}

fn columns<'a>(app: &App, theme: &Theme, w: usize) -> Line<'a> {
    let i = &app.i18n;
    let c = Cols::new(w);
    let s = format!(
        "   {} {} {} {} {} {} {}",
        fit_right(i.t("board.col.left"), 9),
        fit(i.t("board.col.ref"), c.reference),
        fit(i.t("board.col.clock"), c.clock),
        fit(i.t("board.col.dept"), c.dept),
        fit(
            &format!(
                "{} {} {}",
                fit_right(i.t("board.col.urged"), 3),
                fit_right(i.t("board.col.returned"), 3),
                fit_right(i.t("board.col.extended"), 3)
            ),
            c.counts
        ),
        fit(i.t("board.col.escalation"), c.escalation),
        fit(i.t("board.col.title"), c.title),
    );
    Line::styled(text::fit(&s, w), theme.dim())
}

pub fn overdue(buf: &mut Buffer, area: Rect, app: &App, theme: &Theme, now: DateTime<Utc>) {
    if area.width == 0 || area.height == 0 {
        return;
    }
    Block::new()
        .borders(Borders::ALL)
        .border_style(theme.border())
        .render(area, buf);
    let inner = layout::inner(area);
    let w = inner.width as usize;
    let i = &app.i18n;
    // The follow-up queue takes a third of the height (at least a header and two rows).
    let geo = layout::overdue(inner);
    let (board_area, follow_area) = (geo.board, geo.follow);

    // Board.
    let (breached, red) = app.board_counts(now);
    let label = i.f(
        "board.title",
        &[
            ("n", &app.board_len().to_string()),
            ("breached", &breached.to_string()),
            ("red", &red.to_string()),
        ],
    );
    let active = app.sup.pane == SupPane::Board;
    put(
        buf,
        board_area,
        board_area.y,
        &header(theme, label, active, w),
    );
    put(buf, board_area, board_area.y + 1, &columns(app, theme, w));
    let rows = geo.board_rows;
    let sel = app.sup_index(SupPane::Board);
    let off = layout::scroll_offset(sel.unwrap_or(0), rows.height);
    if app.board_len() == 0 && rows.height > 0 {
        put(
            buf,
            rows,
            rows.y,
            &Line::styled(format!("   {}", i.t("board.empty")), theme.dim()),
        );
    }
    for (n, r) in app
        .board_rows(off, now)
        .take(rows.height as usize)
        .enumerate()
    {
        let Some(c) = app.cases.get(&r.case_id) else {
            continue;
        };
        let selected = active && sel == Some(off + n);
        put(
            buf,
            rows,
            rows.y + n as u16,
            &board_row(app, theme, &r, c, w, selected, now),
        );
    }

    // The lower pane: the follow-up queue, or the supervisor's list chosen with `]`.
    if super::sup_lists::lower(buf, &geo, app, theme, now) {
        return;
    }
    let active = app.sup.pane == SupPane::FollowUps;
    let mut label = i.f("follow_up.title", &[("n", &app.follow_len().to_string())]);
    label.push_str(&super::sup_lists::others(app, SupPane::FollowUps));
    put(
        buf,
        follow_area,
        follow_area.y,
        &header(theme, label, active, w),
    );
    let rows = geo.follow_rows;
    let sel = app.sup_index(SupPane::FollowUps);
    let off = layout::scroll_offset(sel.unwrap_or(0), rows.height);
    if app.follow_len() == 0 && rows.height > 0 {
        put(
            buf,
            rows,
            rows.y,
            &Line::styled(format!("   {}", i.t("follow_up.empty")), theme.dim()),
        );
    }
    for (n, (id, left)) in app
        .follow_rows(off, now)
        .take(rows.height as usize)
        .enumerate()
    {
        let Some(c) = app.cases.get(&id) else {
            continue;
        };
        let selected = active && sel == Some(off + n);
        put(
            buf,
            rows,
            rows.y + n as u16,
            &follow_row(app, theme, c, left, w, selected, now),
        );
    }
}
