//! The top bar (who, connection, server clock, counters), the view tabs, the status line and
//! the key hints.

use chrono::{DateTime, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::put;
use crate::console::app::{App, ConnState, Level, Mode, View, signed_out};
use crate::console::command::Command;
use crate::console::text::{self, width};
use crate::console::theme::Theme;

/// Left and right parts on one line; the right part wins when space is short.
fn spread<'a>(left: Vec<Span<'a>>, right: Vec<Span<'a>>, w: u16) -> Line<'a> {
    let rw: usize = right.iter().map(|s| width(&s.content)).sum();
    let w = w as usize;
    let mut spans = Vec::new();
    let room = w.saturating_sub(rw + 1);
    let mut used = 0;
    for s in left {
        let sw = width(&s.content);
        if used + sw <= room {
            used += sw;
            spans.push(s);
        } else {
            let cut = text::truncate(&s.content, room - used);
            used += width(&cut);
            spans.push(Span::styled(cut, s.style));
            break;
        }
    }
    spans.push(Span::raw(" ".repeat(w.saturating_sub(used + rw))));
    spans.extend(right);
    Line::from(spans)
}

pub fn conn_text(app: &App, now: DateTime<Utc>) -> (String, ConnState) {
    let i = &app.i18n;
    let state = app.conn_state(now);
    let s = match state {
        ConnState::Connecting => i.t("conn.connecting").to_string(),
        ConnState::Live => i.t("conn.live").to_string(),
        ConnState::Stale { age } => i.f("conn.stale", &[("age", &i.duration(age))]),
        ConnState::Offline { retry_in } => i.f("conn.offline", &[("retry", &i.duration(retry_in))]),
        ConnState::SignedOut => i.t("conn.signed_out").to_string(),
    };
    (s, state)
}

pub fn top_bar(buf: &mut Buffer, area: Rect, app: &App, theme: &Theme, now: DateTime<Utc>) {
    let i = &app.i18n;
    let mut left = vec![Span::styled(format!(" {}", i.t("app.name")), theme.bold())];
    // Narrow screens keep what matters at 3 a.m.: who, the connection, the clock, counters.
    if let Some(me) = &app.me {
        if area.width >= 120 {
            left.push(Span::raw(format!(" · {}", me.desk_name)));
        }
        left.push(Span::raw(format!("   {}", me.name)));
        if area.width >= 100 {
            left.push(Span::raw(format!(
                " ({})",
                i.t(&format!("role.{}", me.role.as_str()))
            )));
        }
        // Known once the server has listed the shifts.
        if app.works_shifts() && app.shifts.all.is_some() {
            match app.my_shift() {
                Some(s) => left.push(Span::styled(
                    format!(
                        " · {}",
                        i.f(
                            "top.on_shift",
                            &[(
                                "since",
                                &crate::console::app::clock(app, &s.started_at, now)
                            )]
                        )
                    ),
                    theme.ok(),
                )),
                None => left.push(Span::styled(
                    format!(" · {}", i.t("top.off_shift")),
                    theme.warn(),
                )),
            }
        }
        left.push(Span::raw("   "));
    } else {
        left.push(Span::raw(format!("   {}   ", app.server_label)));
    }
    let (conn, state) = conn_text(app, now);
    let conn_style = match state {
        ConnState::Live => theme.ok(),
        ConnState::Connecting | ConnState::Stale { .. } => theme.warn(),
        ConnState::Offline { .. } | ConnState::SignedOut => theme.error(),
    };
    left.push(Span::styled(format!("● {conn}"), conn_style));
    // Until the server has answered once, its clock is unknown: the workstation's own is not
    // shown in its place.
    if app.last_ok.is_some() {
        let server_now = app.server_now(now).with_timezone(&app.server_zone);
        left.push(Span::raw(format!(
            "   {} {}",
            i.t("top.server_clock"),
            server_now.format("%H:%M:%S")
        )));
    }
    let overdue = app.overdue_total(now);
    let mut right = vec![
        Span::raw(format!("{} {} · ", i.t("top.new"), app.untriaged_total)),
        Span::styled(
            format!("{} {}", i.t("top.red"), app.red_total),
            theme.tier(Some(crate::wire::Tier::Red)),
        ),
        Span::raw(" · "),
        Span::styled(
            format!("{} {}", i.t("top.overdue"), overdue),
            if overdue > 0 {
                theme.overdue()
            } else {
                theme.base()
            },
        ),
        Span::raw(" "),
    ];
    if app.sup.muted {
        right.insert(
            0,
            Span::styled(format!("{} ", i.t("top.muted")), theme.warn()),
        );
    }
    put(buf, area, area.y, &spread(left, right, area.width));
}

pub fn tabs(buf: &mut Buffer, area: Rect, app: &App, theme: &Theme) {
    let mut left = vec![Span::raw(" ")];
    for (n, v) in View::ALL.iter().enumerate() {
        let label = format!("{} {}", n + 1, app.i18n.t(v.key()));
        if *v == app.view {
            left.push(Span::styled(format!("[{label}]"), theme.tab_active()));
        } else {
            left.push(Span::styled(format!(" {label} "), theme.dim()));
        }
        left.push(Span::raw(" "));
    }
    let mut right = Vec::new();
    if matches!(app.mode, Mode::Filter) || !app.filter.is_empty() {
        let cursor = if matches!(app.mode, Mode::Filter) {
            "▏"
        } else {
            ""
        };
        right.push(Span::styled(
            format!("/{} ", app.i18n.t("top.filter")),
            theme.key(),
        ));
        right.push(Span::styled(
            format!("{}{cursor} ", app.filter),
            theme.bold(),
        ));
    }
    put(buf, area, area.y, &spread(left, right, area.width));
}

/// How long the status line shows what the last alarm said, when it has nothing else to say.
const ALARM_SHOWN_SECONDS: i64 = 60;

/// Connection trouble first (it explains a stale screen), then the latest message, then the
/// last alarm.
pub fn status_line(buf: &mut Buffer, area: Rect, app: &App, theme: &Theme, now: DateTime<Utc>) {
    let line = if let Some(f) = &app.failure {
        // What is wrong first: on a narrow screen the tail is what gets cut.
        let since = app.i18n.duration((now - f.since).num_seconds());
        // The feed and the session live at fixed paths: a 404 means the URL is not the API's.
        let what = if f.error.status() == Some(404) {
            app.i18n
                .f("err.not_jieyou", &[("server", &app.server_label)])
        } else {
            app.error_text(&f.error)
        };
        let after = if signed_out(&f.error) {
            let key = app.keymap.first(Command::Refresh);
            app.i18n.f("status.signed_out", &[("key", &key)])
        } else {
            app.i18n.f("status.offline_since", &[("since", &since)])
        };
        Line::from(vec![
            Span::styled(format!(" ✗ {} ", what), theme.error()),
            Span::raw(after),
        ])
    } else if let Some(m) = &app.message {
        let (mark, style) = match m.level {
            Level::Info => ("·", theme.base()),
            Level::Success => ("✓", theme.ok()),
            Level::Error => ("✗", theme.error()),
        };
        Line::from(Span::styled(format!(" {mark} {}", m.text), style))
    } else if let Some((text, at)) = app
        .sup
        .rang
        .as_ref()
        .filter(|(_, at)| (now - *at).num_seconds() < ALARM_SHOWN_SECONDS)
    {
        let at = app.server_now(*at).with_timezone(&app.server_zone);
        let said = app.i18n.f(
            "alarm.rang",
            &[("at", &at.format("%H:%M").to_string()), ("text", text)],
        );
        Line::from(Span::styled(format!(" ! {said}"), theme.warn()))
    } else {
        Line::raw("")
    };
    let line = Line::from(
        line.spans
            .into_iter()
            .map(|s| Span::styled(text::truncate(&s.content, area.width as usize), s.style))
            .collect::<Vec<_>>(),
    );
    put(buf, area, area.y, &line);
}

pub fn footer(buf: &mut Buffer, area: Rect, app: &App, theme: &Theme, now: DateTime<Utc>) {
    let k = &app.keymap;
    let i = &app.i18n;
    let hints: &[(Command, &str)] = match &app.mode {
        Mode::Filter => &[
            (Command::Cancel, "hint.clear"),
            (Command::Confirm, "hint.keep"),
        ],
        _ if app.view == View::Overdue => &[
            (Command::Urge, "hint.urge"),
            (Command::Extension, "hint.extension"),
            (Command::FollowUp, "hint.follow_up"),
            (Command::Assign, "hint.reassign"),
            (Command::Answer, "hint.answer"),
            (Command::NextPane, "hint.pane"),
            (Command::Mute, "hint.mute"),
            (Command::Help, "hint.help"),
        ],
        _ if app.view == View::Queue && app.selected_in_group() => &[
            (Command::ExpandGroup, "hint.group"),
            (Command::Answer, "hint.answer_group"),
            (Command::MergeGroup, "hint.merge"),
            (Command::Triage, "hint.triage"),
            (Command::Claim, "hint.claim"),
            (Command::Filter, "hint.filter"),
            (Command::Help, "hint.help"),
            (Command::Quit, "hint.quit"),
        ],
        _ if app.view == View::Departments => &[
            (Command::Detail, "hint.drill"),
            (Command::Sort, "hint.sort"),
            (Command::Help, "hint.help"),
            (Command::Quit, "hint.quit"),
        ],
        _ => &[
            (Command::Triage, "hint.triage"),
            (Command::Assign, "hint.assign"),
            (Command::Claim, "hint.claim"),
            (Command::Answer, "hint.answer"),
            (Command::SignFor, "hint.sign_for"),
            (Command::Progress, "hint.progress"),
            (Command::Resolve, "hint.resolve"),
            (Command::Return, "hint.return"),
            (Command::RequestExtension, "hint.request_extension"),
            (Command::Urge, "hint.urge"),
            (Command::Extension, "hint.extension"),
            (Command::NewCase, "hint.new"),
            (Command::Filter, "hint.filter"),
            (Command::Help, "hint.help"),
            (Command::Quit, "hint.quit"),
        ],
    };
    let mut left = vec![Span::raw(" ")];
    // Only the keys the signed-in role may use on the selected case as it is now.
    for (cmd, label) in hints.iter().filter(|(c, _)| app.offered(*c)) {
        // On the board `a` moves a held case; on a case back at the desk it dispatches, and on
        // one awaiting a ruling that dispatch is the ruling.
        let label = match app.selected_case() {
            Some(c)
                if *cmd == Command::Assign && app.view == View::Overdue && c.awaiting_ruling =>
            {
                &"hint.rule"
            }
            Some(c)
                if *cmd == Command::Assign
                    && app.view == View::Overdue
                    && c.status == crate::wire::Status::Triaged =>
            {
                &"hint.assign"
            }
            _ => label,
        };
        left.push(Span::styled(k.first(*cmd), theme.key()));
        left.push(Span::raw(format!(" {}  ", i.t(label))));
    }
    let right = match app.last_ok {
        Some(t) if area.width >= 100 => vec![Span::styled(
            format!(
                "{} ",
                i.f(
                    "footer.last_sync",
                    &[("age", &i.duration((now - t).num_seconds().max(0)))]
                )
            ),
            theme.dim(),
        )],
        _ => vec![],
    };
    put(buf, area, area.y, &spread(left, right, area.width));
}
