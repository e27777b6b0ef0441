//! Snapshots and checks of a screen that holds up on a long shift: the detail pane scrolled
//! over escalations, popups over CJK text with their borders whole, NO_COLOR with an amber
//! countdown, the too-small message, help at 80×24, status words never cut.

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier};
use ratatui::widgets::{Block, Borders, Widget};

use super::draw;
use super::tests::{LANGS, SIZES, keys, render, screens};
use crate::console::action::Action;
use crate::console::app::App;
use crate::console::fixtures::{self, now};
use crate::console::i18n::Lang;
use crate::console::screen_tests::escalated_detail;
use crate::console::theme::Theme;
use crate::wire::{Status, Tier};

fn render_with(app: &App, theme: Theme, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("test terminal");
    t.draw(|f| draw(f, app, &theme, now())).expect("draws");
    t.backend().to_string()
}

/// Sized, on case 42 (escalated three times), its timeline loaded; on a narrow screen the
/// detail is open.
fn on_42(lang: Lang, w: u16, h: u16) -> App {
    let mut a = fixtures::app(lang);
    a.update(Action::Resize {
        width: w,
        height: h,
    });
    keys(&mut a, "jjj");
    let d = escalated_detail(&a.cases[&42]);
    a.update(Action::DetailLoaded(Box::new(d)));
    if w < 120 {
        keys(&mut a, "\n");
    }
    a
}

#[test]
fn the_detail_scrolled_down_to_the_escalations() {
    for (name, screen) in screens("detail_scrolled", on_42, |a| keys(a, "JJJJJJJJJJJJ")) {
        // At 160×45 the whole case fits: nothing to scroll, no hint.
        assert_eq!(
            screen.contains("J/K"),
            name.ends_with("80x24"),
            "{name}\n{screen}"
        );
        insta::assert_snapshot!(name, screen);
    }
    // Scrolled to its end, every rung is there by name.
    for (lang, rungs) in [
        (
            Lang::En,
            ["reminder", "urging notice", "supervision office"],
        ),
        (Lang::ZhCn, ["提醒", "催办通知", "移交督查办"]),
    ] {
        let mut a = on_42(lang, 80, 24);
        for _ in 0..80 {
            keys(&mut a, "J");
        }
        let screen = render(&a, 80, 24);
        for r in rungs {
            assert!(screen.contains(r), "{r} missing\n{screen}");
        }
    }
}

/// Rows of CJK text from column 0, so glyphs start on even columns and straddle any edge at
/// an odd one.
fn cjk_field(buf: &mut Buffer) {
    let area = *buf.area();
    for y in area.top()..area.bottom() {
        buf.set_string(
            0,
            y,
            "解忧透析病人需要转运特殊奶粉断货小区封控".repeat(8),
            Color::Reset,
        );
    }
}

/// A 24×5 field of CJK text with a bordered popup over `r`, cleared by `clear`, as the
/// terminal received it.
fn popup_over_field(r: Rect, clear: fn(&mut Buffer, Rect)) -> (Buffer, String) {
    let mut t = Terminal::new(TestBackend::new(24, 5)).expect("test terminal");
    t.draw(|f| {
        let buf = f.buffer_mut();
        cjk_field(buf);
        clear(buf, r);
        Block::new().borders(Borders::ALL).render(r, buf);
    })
    .expect("draws");
    (t.backend().buffer().clone(), t.backend().to_string())
}

#[test]
fn a_popup_keeps_both_borders_over_wide_glyphs_at_odd_columns() {
    // The left border on column 3 is the second half of the glyph on 2–3. With 13 columns
    // the right border (15) is the second half of the glyph on 14–15; with 14 it (16) is the
    // first half of the glyph on 16–17, whose other half lies outside.
    for width in [13u16, 14] {
        let right = 3 + width - 1;
        let (buf, screen) = popup_over_field(Rect::new(3, 1, width, 3), super::popup::clear);
        for (y, l, r) in [(1, "┌", "┐"), (2, "│", "│"), (3, "└", "┘")] {
            assert_eq!(buf[(3, y)].symbol(), l, "row {y}\n{screen}");
            assert_eq!(buf[(right, y)].symbol(), r, "row {y}\n{screen}");
            // Nothing half-drawn just outside either edge.
            assert_eq!(buf[(2, y)].symbol(), " ", "row {y}\n{screen}");
        }
        if width == 14 {
            assert_eq!(buf[(17, 2)].symbol(), " ", "{screen}");
        }
        insta::assert_snapshot!(format!("popup_over_cjk_{width}"), screen);
    }
    // Without the mending, the glyph left of the popup hides its left border.
    let (buf, _) = popup_over_field(Rect::new(3, 1, 13, 3), |buf, r| {
        ratatui::widgets::Clear.render(r, buf)
    });
    assert_ne!(
        buf[(3, 2)].symbol(),
        "│",
        "the unmended clear loses the border: the bug this guards against"
    );
}

/// The frame as the terminal received it (what the diff sent), cell by cell.
fn terminal_buffer(app: &App, w: u16, h: u16) -> (Buffer, String) {
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("test terminal");
    t.draw(|f| draw(f, app, &Theme::new(true), now()))
        .expect("draws");
    (t.backend().buffer().clone(), t.backend().to_string())
}

/// Asserts the popup titled `title` has both side borders on every row.
fn borders_whole(buf: &Buffer, title: &str, what: &str, screen: &str) {
    let area = *buf.area();
    // A row as it reads: the cell behind a wide glyph is not a character of its own.
    let row = |y: u16| -> String {
        let mut s = String::new();
        let mut x = 0;
        while x < area.width {
            let sym = buf[(x, y)].symbol();
            s.push_str(sym);
            x += (unicode_width::UnicodeWidthStr::width(sym) as u16).max(1);
        }
        s
    };
    let y0 = (0..area.height)
        .find(|&y| row(y).contains(title))
        .unwrap_or_else(|| panic!("{what}: no popup\n{screen}"));
    // The corner is the last ┌ before the title.
    let x_title = (0..area.width)
        .find(|&x| buf[(x, y0)].symbol() == title.chars().next().unwrap().to_string())
        .unwrap_or(0);
    let x0 = (0..x_title)
        .rev()
        .find(|&x| buf[(x, y0)].symbol() == "┌")
        .unwrap_or_else(|| panic!("{what}: no corner\n{screen}"));
    let x1 = (x_title..area.width)
        .find(|&x| buf[(x, y0)].symbol() == "┐")
        .unwrap_or_else(|| panic!("{what}: no right corner\n{screen}"));
    let y1 = (y0 + 1..area.height)
        .find(|&y| buf[(x0, y)].symbol() == "└")
        .unwrap_or_else(|| panic!("{what}: popup not closed\n{screen}"));
    for y in y0 + 1..y1 {
        assert_eq!(
            buf[(x0, y)].symbol(),
            "│",
            "{what}: left border lost on row {y}\n{screen}"
        );
        assert_eq!(
            buf[(x1, y)].symbol(),
            "│",
            "{what}: right border lost on row {y}\n{screen}"
        );
    }
}

#[test]
fn triage_and_dispatch_popups_over_the_queue_keep_their_borders() {
    for (lang, code) in LANGS {
        for (w, h) in SIZES {
            for (name, k, title) in [
                ("triage", "t", "dialog.retier"),
                // From 42, which a department holds, to 57, triaged and not yet dispatched.
                ("dispatch", "ja", "dialog.dispatch"),
            ] {
                let mut a = on_42(lang, w, h);
                if w < 120 {
                    // The list under the popup, not the detail.
                    keys(&mut a, "\n");
                }
                keys(&mut a, k);
                let (buf, screen) = terminal_buffer(&a, w, h);
                let title = a.i18n.t(title).to_string();
                borders_whole(&buf, &title, &format!("{name} {code} {w}x{h}"), &screen);
                insta::assert_snapshot!(format!("popup_{name}_{code}_{w}x{h}"), screen);
            }
        }
    }
}

#[test]
fn no_color_queue_marks_the_amber_countdown() {
    for (lang, code) in LANGS {
        for (w, h) in SIZES {
            let mut a = fixtures::app(lang);
            a.update(Action::Resize {
                width: w,
                height: h,
            });
            let screen = render_with(&a, Theme::from_no_color(Some("1")), w, h);
            // Case 134 has 3 min 55 s left: amber, which without colour is a `!`.
            assert!(screen.contains("!00:03:55"), "{screen}");
            assert!(screen.contains("-00:03:10"), "{screen}");
            insta::assert_snapshot!(format!("no_color_{code}_{w}x{h}"), screen);
        }
    }
    // And bold: emphasis that survives without colour.
    let a = fixtures::app(Lang::En);
    let mut t = Terminal::new(TestBackend::new(160, 45)).expect("test terminal");
    t.draw(|f| draw(f, &a, &Theme::new(false), now()))
        .expect("draws");
    let buf = t.backend().buffer().clone();
    let at = (0..45u16)
        .flat_map(|y| (0..150u16).map(move |x| (x, y)))
        .find(|&(x, y)| buf[(x, y)].symbol() == "!" && buf[(x + 1, y)].symbol() == "0")
        .expect("an amber mark");
    assert!(buf[at].modifier.contains(Modifier::BOLD));
}

#[test]
fn colours_that_carry_meaning_read_on_a_white_background() {
    let t = Theme::new(true);
    let faint = [
        Color::White,
        Color::Gray,
        Color::Yellow,
        Color::LightYellow,
        Color::Cyan,
        Color::LightCyan,
        Color::LightGreen,
        Color::Green,
        Color::Black,
    ];
    let styles = [
        t.tier(None),
        t.tier(Some(Tier::Red)),
        t.tier(Some(Tier::Orange)),
        t.tier(Some(Tier::Blue)),
        t.amber(),
        t.overdue(),
        t.ok(),
        t.warn(),
        t.error(),
        t.key(),
        t.tab_active(),
        t.border(),
    ];
    for s in styles {
        if let Some(fg) = s.fg {
            assert!(!faint.contains(&fg), "{fg:?} fades on white or black");
        }
        assert!(s.bg.is_none(), "no background of its own: {s:?}");
    }
}

#[test]
fn a_terminal_too_small_says_so() {
    for (lang, code) in LANGS {
        for (w, h) in [(50u16, 12u16), (100, 14)] {
            let mut a = fixtures::app(lang);
            a.update(Action::Resize {
                width: w,
                height: h,
            });
            let screen = render(&a, w, h);
            assert!(screen.contains("64×16"), "{screen}");
            insta::assert_snapshot!(format!("too_small_{code}_{w}x{h}"), screen);
        }
    }
}

#[test]
fn help_at_80x24_wraps_and_scrolls() {
    for (lang, code) in LANGS {
        let mut a = fixtures::app(lang);
        a.update(Action::Resize {
            width: 80,
            height: 24,
        });
        keys(&mut a, "?");
        insta::assert_snapshot!(format!("help_top_{code}_80x24"), render(&a, 80, 24));
        keys(&mut a, "G");
        let screen = render(&a, 80, 24);
        // The last command and the closing note are reachable.
        let last = a.i18n.t("help.close").chars().take(6).collect::<String>();
        assert!(screen.contains(&last), "{screen}");
        insta::assert_snapshot!(format!("help_end_{code}_80x24"), screen);
    }
}

#[test]
fn every_status_word_fits_at_80_and_160_columns_in_both_languages() {
    let statuses = [
        Status::New,
        Status::Triaged,
        Status::Dispatched,
        Status::InProgress,
        Status::Resolved,
    ];
    for (lang, _) in LANGS {
        for status in statuses {
            let tier = (status != Status::New).then_some(Tier::Orange);
            let dept = matches!(status, Status::Dispatched | Status::InProgress).then_some(3);
            let c = fixtures::case(77, tier, status, 3000, "断药", "马金镇", dept, None);
            let mut a = fixtures::app_with(lang, vec![c]);
            let word = a.i18n.t(&format!("status.{}", status.as_str())).to_string();
            // 160 columns: the list's status column (in Search, which lists resolved cases
            // too).
            a.update(Action::Resize {
                width: 160,
                height: 45,
            });
            keys(&mut a, "5");
            let screen = render(&a, 160, 45);
            let row = screen
                .lines()
                .find(|l| l.contains("KH-20220508-0077") && !l.contains('·'))
                .unwrap_or_else(|| panic!("row missing\n{screen}"));
            assert!(row.contains(&format!(" {word} ")), "{word:?} cut: {row}");
            // 80 columns: the list has no room for the column; the detail's title says it.
            a.update(Action::Resize {
                width: 80,
                height: 24,
            });
            keys(&mut a, "\n");
            let screen = render(&a, 80, 24);
            assert!(screen.contains(&format!("· {word} ")), "{word:?}\n{screen}");
        }
    }
}
