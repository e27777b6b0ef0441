//! The detail pane: everything about the selected case, its deadlines and its timeline.

use chrono::{DateTime, FixedOffset, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Widget};

use super::put;
use crate::console::app::App;
use crate::console::layout;
use crate::console::text::{self, fit};
use crate::console::theme::{Theme, tier_symbol};
use crate::wire::{Case, Event};

pub(super) fn clock(app: &App, t: &DateTime<FixedOffset>, now: DateTime<Utc>) -> String {
    let local = t.with_timezone(&app.server_zone);
    let today = app
        .server_now(now)
        .with_timezone(&app.server_zone)
        .date_naive();
    if local.date_naive() == today {
        local.format("%H:%M").to_string()
    } else {
        local.format("%m-%d %H:%M").to_string()
    }
}

fn event_summary(app: &App, e: &Event) -> String {
    let i = &app.i18n;
    let mut s = i
        .t_or(&format!("action.{}", e.action), &e.action)
        .to_string();
    let p = &e.payload;
    if let Some(t) = p.get("tier").and_then(|v| v.as_str()) {
        s.push(' ');
        s.push_str(i.t(&format!("tier.{t}")));
    }
    if let Some(id) = p.get("department_id").and_then(|v| v.as_i64()) {
        // A return comes back from the department; everything else goes to it.
        s.push_str(if e.action == "return" {
            " ← "
        } else {
            " → "
        });
        let named = p.get("department_name").and_then(|v| v.as_str());
        s.push_str(app.department_name(id).or(named).unwrap_or("?"));
    }
    for k in ["text", "reason", "note"] {
        if let Some(t) = p.get(k).and_then(|v| v.as_str()).filter(|t| !t.is_empty()) {
            s.push_str(": ");
            s.push_str(t);
        }
    }
    s.push_str(" · ");
    // The server's own entries say so, whatever name they carry.
    if e.system {
        s.push_str(i.t("detail.system_actor"));
    } else {
        s.push_str(&e.actor);
    }
    s
}

pub fn detail(buf: &mut Buffer, area: Rect, app: &App, theme: &Theme, now: DateTime<Utc>) {
    if area.width < 4 || area.height < 3 {
        return;
    }
    let i = &app.i18n;
    let Some(c) = app.selected_case() else {
        Block::new()
            .borders(Borders::ALL)
            .border_style(theme.border())
            .render(area, buf);
        let inner = layout::inner(area);
        put(
            buf,
            inner,
            inner.y,
            &Line::styled(format!(" {}", i.t("detail.none")), theme.dim()),
        );
        return;
    };
    let tier_name = c
        .tier
        .map(|t| i.t(&format!("tier.{}", t.as_str())))
        .unwrap_or(i.t("tier.none"));
    let title = Line::from(vec![
        Span::raw(format!(" {} ", c.reference)),
        Span::styled(
            format!("{} {tier_name}", tier_symbol(c.tier)),
            theme.tier(c.tier),
        ),
        Span::raw(format!(
            " · {} ",
            i.t(&format!("status.{}", c.status.as_str()))
        )),
    ]);
    Block::new()
        .borders(Borders::ALL)
        .border_style(theme.border())
        .title(title)
        .render(area, buf);
    let inner = layout::inner(area);
    let w = inner.width as usize;
    let mut lines: Vec<Line> = Vec::new();
    let wrapped = |lines: &mut Vec<Line>, s: &str, style| {
        for l in text::wrap(s, w.saturating_sub(1)) {
            lines.push(Line::styled(format!(" {l}"), style));
        }
    };
    wrapped(&mut lines, &c.title, theme.bold());
    lines.extend(requester_lines(app, c, theme));
    wrapped(
        &mut lines,
        &format!(
            "{} {} {}",
            i.t("detail.location"),
            c.location.town,
            c.location.address
        ),
        theme.base(),
    );
    let dept = c
        .department_id
        .and_then(|d| app.department_name(d))
        .unwrap_or("—");
    wrapped(
        &mut lines,
        &format!(
            "{} · {} · {} {} · {} {} · {} {}",
            i.t(&format!("channel.{}", c.channel.as_str())),
            c.category,
            i.t("detail.received"),
            clock(app, &c.received_at, now),
            i.t("field.department"),
            dept,
            i.t("field.claimed_by"),
            c.claimed_by.as_deref().unwrap_or("—"),
        ),
        theme.dim(),
    );
    if c.return_count > 0 || c.urge_count > 0 || c.extension_count > 0 {
        wrapped(
            &mut lines,
            &i.f(
                "detail.counters",
                &[
                    ("returns", &c.return_count.to_string()),
                    ("urges", &c.urge_count.to_string()),
                    ("extensions", &c.extension_count.to_string()),
                ],
            ),
            theme.warn(),
        );
    }
    if c.awaiting_ruling {
        wrapped(&mut lines, i.t("detail.awaiting_ruling"), theme.error());
    }
    for (s, style) in super::department::extension_lines(app, c, theme, now) {
        wrapped(&mut lines, &s, style);
    }
    if let Some(e) = &c.escalation {
        let mut s = i.f(
            "detail.escalation",
            &[
                ("clock", i.t(&format!("clock.{}", e.clock.as_str()))),
                ("step", i.t(&format!("escalation.{}", e.step.as_str()))),
                ("at", &clock(app, &e.at, now)),
            ],
        );
        if let (Some(next), Some(at)) = (e.next_step, e.next_step_at) {
            s.push_str(" · ");
            s.push_str(&i.f(
                "detail.escalation_next",
                &[
                    ("step", i.t(&format!("escalation.{}", next.as_str()))),
                    ("at", &clock(app, &at, now)),
                ],
            ));
        }
        wrapped(&mut lines, &s, theme.warn());
    }
    lines.push(Line::raw(""));
    wrapped(&mut lines, &c.description, theme.base());
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        format!(" {}", i.t("detail.deadlines")),
        theme.bold(),
    ));
    let server_now = app.server_now(now);
    for d in &c.deadlines {
        let name = fit(i.t(&format!("clock.{}", d.clock.as_str())), 10);
        let due = clock(app, &d.due_at, now);
        let (state, style) = match d.met_at {
            Some(m) if d.breached => (
                i.f("deadline.met_late", &[("at", &clock(app, &m, now))]),
                theme.warn(),
            ),
            Some(m) => (
                i.f("deadline.met", &[("at", &clock(app, &m, now))]),
                theme.ok(),
            ),
            None => {
                let left = (d.due_at.with_timezone(&Utc) - server_now).num_seconds();
                if left < 0 {
                    (
                        i.f("deadline.overdue", &[("by", &i.duration(left))]),
                        theme.overdue(),
                    )
                } else if left < app.alarms.amber_minutes * 60 {
                    (
                        i.f("deadline.in", &[("left", &i.duration(left))]),
                        theme.amber(),
                    )
                } else {
                    (
                        i.f("deadline.in", &[("left", &i.duration(left))]),
                        theme.base(),
                    )
                }
            }
        };
        lines.push(Line::from(vec![
            Span::raw(format!(" {name} {} ", fit(&due, 11))),
            Span::styled(state, style),
        ]));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        format!(" {}", i.t("detail.timeline")),
        theme.bold(),
    ));
    let timeline_start = lines.len();
    match app.detail.as_ref().filter(|d| d.case.id == c.id) {
        Some(d) => {
            // The server sends the latest events; the rest of a long timeline stays there.
            let missing = d.event_count - d.events.len() as i64;
            if missing > 0 {
                lines.push(Line::styled(
                    format!(
                        " {}",
                        i.f("detail.earlier_events", &[("n", &missing.to_string())])
                    ),
                    theme.dim(),
                ));
            }
            for e in &d.events {
                let s = format!("{} {}", clock(app, &e.at, now), event_summary(app, e));
                wrapped(&mut lines, &s, theme.base());
            }
        }
        None => lines.push(Line::styled(
            format!(" {}", i.t("detail.loading")),
            theme.dim(),
        )),
    }
    // Short of room, the oldest timeline entries give way: the latest is what matters now.
    let height = inner.height as usize;
    let timeline_len = lines.len() - timeline_start;
    if lines.len() > height && timeline_len > 1 {
        let drop = (lines.len() - height + 1).min(timeline_len);
        lines.drain(timeline_start..timeline_start + drop);
        lines.insert(
            timeline_start,
            Line::styled(
                format!(" {}", i.f("detail.earlier", &[("n", &drop.to_string())])),
                theme.dim(),
            ),
        );
    }
    for (n, line) in lines.iter().take(height).enumerate() {
        put(buf, inner, inner.y + n as u16, line);
    }
}

fn requester_lines<'a>(app: &App, c: &Case, theme: &Theme) -> Vec<Line<'a>> {
    let i = &app.i18n;
    // The phone shows in full only once the server has answered a reveal for this case.
    let revealed = app
        .detail
        .as_ref()
        .filter(|d| app.phone_revealed && d.case.id == c.id)
        .map(|d| d.case.requester.phone.clone());
    let phone = revealed.unwrap_or_else(|| c.requester.phone.clone());
    let mut spans = vec![Span::raw(format!(
        " {} {} {}",
        i.t("detail.requester"),
        c.requester.name,
        phone
    ))];
    if !app.phone_revealed {
        spans.push(Span::styled(
            format!(
                "  ({} {})",
                app.keymap
                    .first(crate::console::command::Command::RevealPhone),
                i.t("detail.reveal")
            ),
            theme.dim(),
        ));
    }
    vec![Line::from(spans)]
}

#[cfg(test)]
mod tests {
    use super::event_summary;
    use crate::console::fixtures;
    use crate::console::i18n::Lang;

    #[test]
    fn reveals_and_the_systems_entries_read_in_each_language() {
        for (lang, revealed, system) in [
            (Lang::En, "phone number shown", "system"),
            (Lang::ZhCn, "查看完整号码", "系统"),
        ] {
            let app = fixtures::app(lang);
            let case = app.cases.values().next().expect("a fixture case").clone();
            let mut e = fixtures::detail(&case).events[0].clone();
            e.actor = "op-li".into();
            e.action = "phone-revealed".into();
            e.payload = serde_json::json!({ "field": "requester.phone" });
            assert_eq!(event_summary(&app, &e), format!("{revealed} · op-li"));
            e.actor = "escalation".into();
            e.action = "escalate".into();
            e.system = true;
            e.payload = serde_json::json!({});
            assert!(
                event_summary(&app, &e).ends_with(&format!(" · {system}")),
                "{}",
                event_summary(&app, &e)
            );
        }
    }
}
