//! Colours and emphasis. Built once from `NO_COLOR` by the caller and passed to drawing; without
//! colour every distinction is still carried by a symbol, a sign or bold/reverse text.

use ratatui::style::{Color, Modifier, Style};

use crate::wire::Tier;

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
    pub fn border(&self) -> Style {
        self.fg(Color::Gray)
    }
    pub fn key(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }
    pub fn tier(&self, tier: Option<Tier>) -> Style {
        match tier {
            Some(Tier::Red) => self.fg(Color::Red).add_modifier(Modifier::BOLD),
            Some(Tier::Orange) => self.fg(Color::Indexed(208)),
            Some(Tier::Blue) => self.fg(Color::Blue),
            None => self.fg(Color::White),
        }
    }
    /// Under the amber threshold.
    pub fn amber(&self) -> Style {
        self.fg(Color::Yellow)
    }
    /// Overdue; bold too, so it stands out without colour.
    pub fn overdue(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }
    pub fn ok(&self) -> Style {
        self.fg(Color::Green)
    }
    pub fn warn(&self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }
    pub fn error(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }
    pub fn tab_active(&self) -> Style {
        self.fg(Color::Cyan)
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
