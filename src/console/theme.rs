//! Colours and emphasis. Built once from `NO_COLOR` by the caller and passed to drawing; without
//! colour every distinction is still carried by a symbol, a sign or bold/reverse text.

use ratatui::style::{Color, Modifier, Style};

use crate::wire::Tier;

/// xterm-256 #d78700: yellow (ANSI 3/11) all but disappears on a white background.
const AMBER: Color = Color::Indexed(172);
/// xterm-256 #008787: bright cyan is as faint on white as yellow.
const TEAL: Color = Color::Indexed(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    pub fn new(color: bool) -> Theme {
        Theme { color }
    }

    /// `NO_COLOR` set to anything non-empty turns colour off (no-color.org).
    pub fn from_no_color(no_color: Option<&str>) -> Theme {
        Theme::new(no_color.is_none_or(str::is_empty))
    }

    fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }

    pub fn base(&self) -> Style {
        Style::new()
    }
    pub fn dim(&self) -> Style {
        if self.color {
            Style::new().fg(Color::DarkGray)
        } else {
            Style::new().add_modifier(Modifier::DIM)
        }
    }
    pub fn bold(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }
    pub fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }
    /// Borders carry no meaning; the terminal's dim grey is legible on either background.
    pub fn border(&self) -> Style {
        self.fg(Color::DarkGray)
    }
    pub fn key(&self) -> Style {
        self.fg(TEAL).add_modifier(Modifier::BOLD)
    }
    pub fn tier(&self, tier: Option<Tier>) -> Style {
        match tier {
            Some(Tier::Red) => self.fg(Color::Red).add_modifier(Modifier::BOLD),
            Some(Tier::Orange) => self.fg(Color::Indexed(208)),
            Some(Tier::Blue) => self.fg(Color::Blue),
            // The terminal's own foreground: white or black text vanishes on one background
            // or the other.
            None => Style::new(),
        }
    }
    /// Under the amber threshold: a dark amber that reads on white as on black, and bold so
    /// it stands apart from plain countdowns without colour too.
    pub fn amber(&self) -> Style {
        self.fg(AMBER).add_modifier(Modifier::BOLD)
    }
    /// Put before an amber countdown when there is no colour to tell it from a calm one.
    pub fn amber_mark(&self) -> &'static str {
        if self.color { "" } else { "!" }
    }
    /// Overdue; bold too, so it stands out without colour.
    pub fn overdue(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }
    /// ANSI green is pale on white; xterm-256 #00875f reads on both.
    pub fn ok(&self) -> Style {
        self.fg(Color::Indexed(29))
    }
    pub fn warn(&self) -> Style {
        self.fg(AMBER).add_modifier(Modifier::BOLD)
    }
    pub fn error(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }
    pub fn tab_active(&self) -> Style {
        self.fg(TEAL)
            .add_modifier(Modifier::BOLD)
            .add_modifier(Modifier::UNDERLINED)
    }
}

/// Tier marks readable without colour: ■ red ▲ orange ● blue ○ untriaged.
pub fn tier_symbol(tier: Option<Tier>) -> &'static str {
    match tier {
        Some(Tier::Red) => "■",
        Some(Tier::Orange) => "▲",
        Some(Tier::Blue) => "●",
        None => "○",
    }
}
