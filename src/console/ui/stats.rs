//! The Stats view: today's counters, the on-time rate per tier, and an hourly bar chart of
//! arrivals (█) and resolutions (▒) — two glyphs, so it reads without colour.

use chrono::{DateTime, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Widget};

use super::departments::report_state;
use super::put;
use crate::console::app::App;
use crate::console::layout;
use crate::console::text::{self, fit_right};
use crate::console::theme::{Theme, tier_symbol};
use crate::wire::Tier;

const ARRIVAL: &str = "█";
const RESOLVED: &str = "▒";

pub fn stats(buf: &mut Buffer, area: Rect, app: &App, theme: &Theme, now: DateTime<Utc>) {
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
    let bottom = inner.y + inner.height;
    put(buf, inner, inner.y, &report_state(app, theme, now));
    let Some(r) = &app.sup.report else {
        return;
    };
    let mut y = inner.y + 1;
    let counters = [
        ("stats.received", r.totals.received),
        ("stats.answered_online", r.totals.answered_online),
        ("stats.dispatched", r.totals.dispatched),
        ("stats.resolved", r.totals.resolved),
        ("stats.closed", r.totals.closed),
        ("stats.returns", r.returns),
        ("stats.escalations", r.escalations),
    ]
    .iter()
    .map(|(k, v)| format!("{} {v}", i.t(k)))
    .collect::<Vec<_>>();
    // Whole counters per line: a number never lands on the line after its name.
    let mut line = String::new();
    for c in counters {
        let next = if line.is_empty() {
            c.clone()
        } else {
            format!("{line} · {c}")
        };
        if text::width(&next) + 2 > w && !line.is_empty() {
            put(
                buf,
                inner,
                y,
                &Line::styled(format!(" {line}"), theme.bold()),
            );
            y += 1;
            line = c;
        } else {
            line = next;
        }
    }
    put(
        buf,
        inner,
        y,
        &Line::styled(format!(" {line}"), theme.bold()),
    );
    y += 1;
    let mut spans = vec![Span::raw(format!(" {} ", i.t("stats.on_time")))];
    for t in [Tier::Red, Tier::Orange, Tier::Blue] {
        let row = r.by_tier.iter().find(|x| x.tier == t.as_str());
        let (done, on) = row.map(|x| (x.resolved, x.on_time)).unwrap_or((0, 0));
        let rate = if done > 0 {
            format!("{:.0}%", 100.0 * on as f64 / done as f64)
        } else {
            "—".into()
        };
        spans.push(Span::styled(
            format!(
                "{} {} ",
                tier_symbol(Some(t)),
                i.t(&format!("tier.{}", t.as_str()))
            ),
            theme.tier(Some(t)),
        ));
        if w >= 100 {
            spans.push(Span::raw(format!("{rate} ({on}/{done})   ")));
        } else {
            spans.push(Span::raw(format!("{rate}   ")));
        }
    }
    put(buf, inner, y, &Line::from(spans));
    y += 2;
    // The chart: a y-axis label, then three cells an hour (arrivals, resolutions, gap).
    let legend = format!(
        " {ARRIVAL} {}   {RESOLVED} {}",
        i.t("stats.arrivals"),
        i.t("stats.resolutions")
    );
    if y >= bottom {
        return;
    }
    put(buf, inner, y, &Line::styled(legend, theme.dim()));
    y += 1;
    let chart_h = bottom.saturating_sub(y + 1) as usize;
    if chart_h == 0 || w < 10 {
        return;
    }
    let hours: Vec<(u64, u64)> = r
        .hourly
        .iter()
        .map(|h| (h.counts.received, h.counts.resolved))
        .collect();
    // Cells per hour: a bar of arrivals, one of resolutions, a gap; wider bars on wide screens.
    let per = (w.saturating_sub(5) / hours.len().max(1)).clamp(2, 7);
    let bar = ((per - 1) / 2).max(1);
    let max = hours
        .iter()
        .map(|(a, b)| (*a).max(*b))
        .max()
        .unwrap_or(0)
        .max(1);
    let height = |v: u64| ((v as usize * chart_h).div_ceil(max as usize)).min(chart_h);
    for row in 0..chart_h {
        let level = chart_h - row;
        let axis = if row == 0 {
            format!("{}┤", fit_right(&max.to_string(), 3))
        } else {
            "   │".to_string()
        };
        let mut line = vec![Span::styled(axis, theme.dim())];
        for (a, b) in &hours {
            let cell = |v: u64, glyph: &str| {
                if height(v) >= level {
                    glyph.repeat(bar)
                } else {
                    " ".repeat(bar)
                }
            };
            line.push(Span::styled(
                cell(*a, ARRIVAL),
                theme.tier(Some(Tier::Blue)),
            ));
            line.push(Span::styled(cell(*b, RESOLVED), theme.ok()));
            line.push(Span::raw(" ".repeat(per - 2 * bar)));
        }
        put(buf, inner, y + row as u16, &Line::from(line));
    }
    // Hour labels every three hours, under their columns.
    let mut labels = String::from("   └");
    for (n, h) in r.hourly.iter().enumerate() {
        if n % 3 == 0 {
            let hh = h.start.format("%H").to_string();
            labels.push_str(&hh);
            labels.push_str(&" ".repeat(per * 3 - 2));
        }
    }
    put(
        buf,
        inner,
        y + chart_h as u16,
        &Line::styled(text::truncate(&labels, w), theme.dim()),
    );
}
