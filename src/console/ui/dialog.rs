//! Dialogs over the lists: tier choice, department picker, text forms, the new-case form, and
//! the "not sent" and "changed meanwhile" (412) dialogs.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Widget};

use super::help::centered;
use super::put;
use crate::console::app::{App, Mode, Op, Outgoing, TextForm, TextKind};
use crate::console::command::Command;
use crate::console::layout;
use crate::console::text::{self, fit, truncate};
use crate::console::theme::Theme;
use crate::wire::{CaseAction, DepartmentKind};

pub(super) fn boxed(frame: &mut Frame, r: Rect, title: &str, theme: &Theme) -> Rect {
    let buf = frame.buffer_mut();
    super::popup::clear(buf, r);
    Block::new()
        .borders(Borders::ALL)
        .border_style(theme.border())
        .title(format!(" {title} "))
        .render(r, buf);
    layout::inner(r)
}

/// Writes lines from the top of `area`, wrapping long ones; returns the next free row.
fn lines_at(
    frame: &mut Frame,
    area: Rect,
    y: u16,
    lines: &[(String, ratatui::style::Style)],
) -> u16 {
    let mut y = y;
    for (s, style) in lines {
        for l in text::wrap(s, area.width.saturating_sub(2) as usize) {
            if y >= area.y + area.height {
                return y;
            }
            put(
                frame.buffer_mut(),
                area,
                y,
                &Line::styled(format!(" {l}"), *style),
            );
            y += 1;
        }
    }
    y
}

pub(super) fn hint(app: &App, pairs: &[(Command, &str)]) -> String {
    pairs
        .iter()
        .map(|(c, k)| format!("{} {}", app.keymap.first(*c), app.i18n.t(k)))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// The dialog's last line: its keys and what they do.
fn hint_line(frame: &mut Frame, inner: Rect, app: &App, style: Style, pairs: &[(Command, &str)]) {
    let bottom = (inner.y + inner.height).saturating_sub(1);
    put(
        frame.buffer_mut(),
        inner,
        bottom,
        &Line::styled(format!(" {}", hint(app, pairs)), style),
    );
}

fn case_ref(app: &App, id: Option<i64>) -> String {
    id.and_then(|id| app.case(id))
        .map(|c| format!("{} {}", c.reference, c.title))
        .unwrap_or_default()
}

fn describe(app: &App, out: &Outgoing) -> String {
    let mut s = format!("{} {}", app.op_label(&out.op), case_ref(app, out.case_id));
    match &out.op {
        Op::Act(CaseAction::Dispatch(b)) => {
            s.push_str(" → ");
            s.push_str(app.department_name(b.department_id).unwrap_or("?"));
        }
        Op::Act(CaseAction::Note(b) | CaseAction::Progress(b) | CaseAction::Resolve(b)) => {
            s.push_str(": ");
            s.push_str(&b.text);
        }
        Op::Act(CaseAction::AnswerOnline(b)) => {
            s.push_str(": ");
            s.push_str(&b.text);
        }
        Op::Act(CaseAction::Return(b)) => {
            s.push_str(": ");
            s.push_str(&b.reason);
        }
        Op::Create(n) => {
            s.push_str(&n.title);
        }
        _ => {}
    }
    s
}

pub fn dialog(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let i = &app.i18n;
    let wide = area.width.min(76);
    match &app.mode {
        Mode::Tier { case_id, retier } => {
            let r = centered(area, wide, 7);
            let title = i.t(if *retier {
                "dialog.retier"
            } else {
                "dialog.triage"
            });
            let inner = boxed(frame, r, title, theme);
            let y = lines_at(
                frame,
                inner,
                inner.y,
                &[(case_ref(app, Some(*case_id)), theme.bold())],
            );
            let choices = Line::from(vec![
                Span::raw(" "),
                Span::styled(app.keymap.first(Command::TierRed), theme.key()),
                Span::styled(
                    format!(" ■ {}   ", i.t("tier.red")),
                    theme.tier(Some(crate::wire::Tier::Red)),
                ),
                Span::styled(app.keymap.first(Command::TierOrange), theme.key()),
                Span::styled(
                    format!(" ▲ {}   ", i.t("tier.orange")),
                    theme.tier(Some(crate::wire::Tier::Orange)),
                ),
                Span::styled(app.keymap.first(Command::TierBlue), theme.key()),
                Span::styled(
                    format!(" ● {}", i.t("tier.blue")),
                    theme.tier(Some(crate::wire::Tier::Blue)),
                ),
            ]);
            put(frame.buffer_mut(), inner, y + 1, &choices);
            hint_line(
                frame,
                inner,
                app,
                theme.dim(),
                &[(Command::Cancel, "hint.cancel")],
            );
        }
        Mode::Picker(p) => {
            let h = area.height.saturating_sub(4).clamp(8, 22);
            let r = centered(area, wide, h);
            let inner = boxed(frame, r, i.t("dialog.dispatch"), theme);
            let mut y = lines_at(
                frame,
                inner,
                inner.y,
                &[(case_ref(app, Some(p.case_id)), theme.bold())],
            );
            put(
                frame.buffer_mut(),
                inner,
                y,
                &Line::from(vec![
                    Span::styled(format!(" {} ", i.t("picker.filter")), theme.key()),
                    Span::styled(
                        p.query.view(
                            (inner.width as usize)
                                .saturating_sub(text::width(i.t("picker.filter")) + 3),
                        ),
                        theme.bold(),
                    ),
                ]),
            );
            y += 1;
            let items = app.picker_items(p.query.as_str());
            let returned_by = app.returned_by(p.case_id);
            let footer_rows = 2;
            let room = (inner.y + inner.height).saturating_sub(y + footer_rows) as usize;
            let off = layout::scroll_offset(p.selected, room as u16);
            let mut last_kind: Option<DepartmentKind> = None;
            let mut rows = 0;
            for (n, item) in items.iter().enumerate().skip(off) {
                if rows >= room {
                    break;
                }
                if last_kind != Some(item.kind) {
                    last_kind = Some(item.kind);
                    if rows + 1 >= room {
                        break;
                    }
                    let g = i.t(&format!("kind.{}", kind_name(item.kind)));
                    put(
                        frame.buffer_mut(),
                        inner,
                        y,
                        &Line::styled(format!(" ─ {g}"), theme.dim()),
                    );
                    y += 1;
                    rows += 1;
                }
                let name = app.department_name(item.department_id).unwrap_or("?");
                let mut name = if returned_by == Some(item.department_id) {
                    format!("  {name}  ↩ {}", i.t("picker.returned"))
                } else {
                    format!("  {name}")
                };
                // Whom an urging call reaches.
                if let Some(duty) = app.duty_text(item.department_id) {
                    name.push_str(&format!("  {}", i.f("picker.on_duty", &[("who", &duty)])));
                }
                let line = Line::raw(fit(&name, inner.width as usize));
                let line = if n == p.selected {
                    line.style(theme.selected())
                } else {
                    line
                };
                put(frame.buffer_mut(), inner, y, &line);
                y += 1;
                rows += 1;
            }
            if items.is_empty() {
                put(
                    frame.buffer_mut(),
                    inner,
                    y,
                    &Line::styled(format!("  {}", i.t("picker.none")), theme.dim()),
                );
            }
            form_footer(
                frame,
                inner,
                app,
                theme,
                p.sending,
                p.error.as_deref(),
                &[
                    (Command::Confirm, "hint.dispatch"),
                    (Command::Cancel, "hint.cancel"),
                ],
            );
        }
        Mode::Text(f) if let Some(e) = &f.editor => {
            super::answer_editor::draw(frame, area, app, theme, f, e);
        }
        Mode::Text(f) => {
            let h = area.height.saturating_sub(4).clamp(8, 16);
            let r = centered(area, wide, h);
            let title = match f.kind {
                TextKind::Answer => answer_title(app, f),
                TextKind::Note => i.t("dialog.note").to_string(),
                _ => super::department::text_title(app, f),
            };
            let inner = boxed(frame, r, &title, theme);
            let mut y = lines_at(
                frame,
                inner,
                inner.y,
                &[(case_ref(app, Some(f.case_id)), theme.bold())],
            );
            y = super::department::form_fields(frame.buffer_mut(), inner, y, app, f, theme);
            let typed = if f.until_focus {
                f.text.as_str().to_string()
            } else {
                f.text.with_cursor()
            };
            let mut text_lines: Vec<String> =
                text::wrap(&typed, inner.width.saturating_sub(2) as usize);
            let room = (inner.y + inner.height).saturating_sub(y + 3) as usize;
            if text_lines.len() > room {
                text_lines.drain(..text_lines.len() - room);
            }
            for (n, l) in text_lines.iter().enumerate() {
                put(
                    frame.buffer_mut(),
                    inner,
                    y + 1 + n as u16,
                    &Line::raw(format!(" {l}")),
                );
            }
            form_footer(
                frame,
                inner,
                app,
                theme,
                f.sending,
                f.error.as_deref(),
                &[
                    (Command::Submit, "hint.send"),
                    (Command::Cancel, "hint.cancel"),
                ],
            );
        }
        Mode::NewCase(f) => super::intake::new_case(frame, area, app, theme, f),
        Mode::Unsent { out, reason, .. } => {
            let r = centered(area, wide, 10);
            let inner = boxed(frame, r, i.t("dialog.unsent"), theme);
            lines_at(
                frame,
                inner,
                inner.y,
                &[
                    (describe(app, out), theme.bold()),
                    (reason.clone(), theme.error()),
                    (i.t("unsent.kept").to_string(), theme.base()),
                ],
            );
            hint_line(
                frame,
                inner,
                app,
                theme.key(),
                &[
                    (Command::Confirm, "hint.retry"),
                    (Command::Cancel, "hint.discard"),
                ],
            );
        }
        Mode::Conflict {
            out,
            current,
            changes,
            ..
        } => {
            let h = (changes.len() as u16 + 9).min(area.height);
            let r = centered(area, wide, h);
            let inner = boxed(frame, r, i.t("dialog.conflict"), theme);
            let mut lines = vec![
                (
                    i.f("conflict.intro", &[("ref", &current.case.reference)]),
                    theme.warn(),
                ),
                (describe(app, out), theme.bold()),
            ];
            for (field, was, now) in changes {
                lines.push((format!("  {}: {was} → {now}", i.t(field)), theme.base()));
            }
            lines.push((i.t("conflict.question").to_string(), theme.base()));
            lines_at(frame, inner, inner.y, &lines);
            hint_line(
                frame,
                inner,
                app,
                theme.key(),
                &[
                    (Command::Confirm, "hint.retry_fresh"),
                    (Command::Cancel, "hint.back"),
                ],
            );
        }
        Mode::Merge(f) => {
            let h = (f.members.len() as u16 + 5).min(area.height.saturating_sub(2));
            let r = centered(area, wide, h);
            let inner = boxed(frame, r, i.t("dialog.merge_group"), theme);
            let mut lines = vec![(i.t("merge.question").to_string(), theme.base())];
            for (n, id) in f.members.iter().enumerate() {
                let (mark, style) = if n == f.keep {
                    (format!("▶ {}", i.t("merge.keep")), theme.selected())
                } else {
                    (format!("  {}", i.t("merge.into")), theme.base())
                };
                let line = format!("{mark} {}", case_ref(app, Some(*id)));
                lines.push((
                    truncate(&line, inner.width.saturating_sub(2) as usize),
                    style,
                ));
            }
            lines_at(frame, inner, inner.y, &lines);
            hint_line(
                frame,
                inner,
                app,
                theme.key(),
                &[
                    (Command::Down, "hint.choose"),
                    (Command::Confirm, "hint.merge"),
                    (Command::Cancel, "hint.cancel"),
                ],
            );
        }
        Mode::Normal
        | Mode::Filter
        | Mode::Help
        | Mode::Sup(_)
        | Mode::Library(_)
        | Mode::Shift(_)
        | Mode::Duty(_) => {}
    }
}

pub(super) fn form_footer(
    frame: &mut Frame,
    inner: Rect,
    app: &App,
    theme: &Theme,
    sending: bool,
    error: Option<&str>,
    keys: &[(Command, &str)],
) {
    form_footer_with(frame, inner, app, theme, sending, error, hint(app, keys));
}

/// [`form_footer`] with the hint line already written.
pub(super) fn form_footer_with(
    frame: &mut Frame,
    inner: Rect,
    app: &App,
    theme: &Theme,
    sending: bool,
    error: Option<&str>,
    hints: String,
) {
    if inner.height < 2 {
        return;
    }
    let bottom = inner.y + inner.height - 1;
    if sending {
        put(
            frame.buffer_mut(),
            inner,
            bottom - 1,
            &Line::styled(format!(" {}", app.i18n.t("form.sending")), theme.warn()),
        );
    } else if let Some(e) = error {
        put(
            frame.buffer_mut(),
            inner,
            bottom - 1,
            &Line::styled(
                format!(" ✗ {}", truncate(e, inner.width as usize - 3)),
                theme.error(),
            ),
        );
    }
    put(
        frame.buffer_mut(),
        inner,
        bottom,
        &Line::styled(format!(" {hints}"), theme.dim()),
    );
}

fn kind_name(k: DepartmentKind) -> &'static str {
    match k {
        DepartmentKind::Township => "township",
        DepartmentKind::Bureau => "bureau",
        DepartmentKind::Squad => "squad",
        DepartmentKind::Hospital => "hospital",
    }
}

/// The answer form's title: one case, or the whole group it was opened on.
pub(super) fn answer_title(app: &App, f: &TextForm) -> String {
    let i = &app.i18n;
    let group = app
        .groups
        .answer_target
        .as_ref()
        .filter(|(id, _)| *id == f.case_id);
    match group {
        Some((_, members)) => i.f(
            "dialog.answer_group",
            &[("count", &members.len().to_string())],
        ),
        None => i.t("dialog.answer").to_string(),
    }
}
