//! Commands (what an operator binds a key to; names live in the config file) and the keymap.

use std::collections::HashMap;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    Quit,
    Help,
    Down,
    Up,
    Top,
    Bottom,
    PageDown,
    PageUp,
    NextPane,
    PrevPane,
    NextView,
    PrevView,
    ViewQueue,
    ViewOverdue,
    ViewDepartments,
    ViewStats,
    ViewSearch,
    Detail,
    DetailDown,
    DetailUp,
    Filter,
    Triage,
    TierBlue,
    TierOrange,
    TierRed,
    Claim,
    Assign,
    Answer,
    Note,
    Urge,
    Extension,
    FollowUp,
    SignFor,
    Progress,
    Resolve,
    Return,
    RequestExtension,
    Sort,
    Mute,
    NewCase,
    Library,
    Shift,
    Handovers,
    Duty,
    RevealPhone,
    Refresh,
    ExpandGroup,
    MergeGroup,
    Submit,
    Cancel,
    Confirm,
}

impl Command {
    /// In the order `?` lists them.
    pub const ALL: [Command; 51] = [
        Command::Down,
        Command::Up,
        Command::Top,
        Command::Bottom,
        Command::PageDown,
        Command::PageUp,
        Command::NextPane,
        Command::PrevPane,
        Command::NextView,
        Command::PrevView,
        Command::ViewQueue,
        Command::ViewOverdue,
        Command::ViewDepartments,
        Command::ViewStats,
        Command::ViewSearch,
        Command::Detail,
        Command::DetailDown,
        Command::DetailUp,
        Command::Filter,
        Command::Triage,
        Command::TierBlue,
        Command::TierOrange,
        Command::TierRed,
        Command::Claim,
        Command::Assign,
        Command::Answer,
        Command::Note,
        Command::Urge,
        Command::Extension,
        Command::FollowUp,
        Command::SignFor,
        Command::Progress,
        Command::Resolve,
        Command::Return,
        Command::RequestExtension,
        Command::Sort,
        Command::Mute,
        Command::NewCase,
        Command::Library,
        Command::Shift,
        Command::Handovers,
        Command::Duty,
        Command::RevealPhone,
        Command::Refresh,
        Command::ExpandGroup,
        Command::MergeGroup,
        Command::Submit,
        Command::Cancel,
        Command::Confirm,
        Command::Help,
        Command::Quit,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Command::Quit => "quit",
            Command::Help => "help",
            Command::Down => "down",
            Command::Up => "up",
            Command::Top => "top",
            Command::Bottom => "bottom",
            Command::PageDown => "page_down",
            Command::PageUp => "page_up",
            Command::NextPane => "next_pane",
            Command::PrevPane => "prev_pane",
            Command::NextView => "next_view",
            Command::PrevView => "prev_view",
            Command::ViewQueue => "view_queue",
            Command::ViewOverdue => "view_overdue",
            Command::ViewDepartments => "view_departments",
            Command::ViewStats => "view_stats",
            Command::ViewSearch => "view_search",
            Command::Detail => "detail",
            Command::DetailDown => "detail_down",
            Command::DetailUp => "detail_up",
            Command::Filter => "filter",
            Command::Triage => "triage",
            Command::TierBlue => "tier_blue",
            Command::TierOrange => "tier_orange",
            Command::TierRed => "tier_red",
            Command::Claim => "claim",
            Command::Assign => "assign",
            Command::Answer => "answer",
            Command::Note => "note",
            Command::Urge => "urge",
            Command::Extension => "extension",
            Command::FollowUp => "follow_up",
            Command::SignFor => "sign_for",
            Command::Progress => "progress",
            Command::Resolve => "resolve",
            Command::Return => "return",
            Command::RequestExtension => "request_extension",
            Command::Sort => "sort",
            Command::Mute => "mute",
            Command::NewCase => "new_case",
            Command::Library => "library",
            Command::Shift => "shift",
            Command::Handovers => "handovers",
            Command::Duty => "duty",
            Command::RevealPhone => "reveal_phone",
            Command::Refresh => "refresh",
            Command::ExpandGroup => "expand_group",
            Command::MergeGroup => "merge_group",
            Command::Submit => "submit",
            Command::Cancel => "cancel",
            Command::Confirm => "confirm",
        }
    }
}

/// A key as written in the config: `q`, `G`, `?`, `ctrl-c`, `alt-x`, `enter`, `esc`, `tab`,
/// `backtab`, `up`, `down`, `left`, `right`, `pageup`, `pagedown`, `home`, `end`,
/// `backspace`, `delete`, `space`, `f1`…`f12`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

impl Key {
    /// Shift is part of the character (`G`), so it is dropped for character keys; terminals
    /// disagree on whether they report it.
    pub fn from_event(ev: &KeyEvent) -> Key {
        let mut mods =
            ev.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
        let code = match ev.code {
            KeyCode::Char(c) => {
                mods.remove(KeyModifiers::SHIFT);
                // Ctrl-letters arrive lower-case on most terminals.
                if mods.contains(KeyModifiers::CONTROL) {
                    KeyCode::Char(c.to_ascii_lowercase())
                } else {
                    KeyCode::Char(c)
                }
            }
            KeyCode::BackTab => {
                mods.remove(KeyModifiers::SHIFT);
                KeyCode::BackTab
            }
            other => other,
        };
        Key { code, mods }
    }

    pub fn parse(s: &str) -> Result<Key, String> {
        let mut mods = KeyModifiers::NONE;
        let mut rest = s;
        loop {
            let lower = rest.to_ascii_lowercase();
            if rest.len() > 5 && lower.starts_with("ctrl-") {
                mods |= KeyModifiers::CONTROL;
                rest = &rest[5..];
            } else if rest.len() > 4 && lower.starts_with("alt-") {
                mods |= KeyModifiers::ALT;
                rest = &rest[4..];
            } else {
                break;
            }
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) => {
                if mods.contains(KeyModifiers::CONTROL) {
                    KeyCode::Char(c.to_ascii_lowercase())
                } else {
                    KeyCode::Char(c)
                }
            }
            _ => match rest.to_ascii_lowercase().as_str() {
                "enter" | "return" => KeyCode::Enter,
                "esc" | "escape" => KeyCode::Esc,
                "tab" => KeyCode::Tab,
                "backtab" | "shift-tab" => KeyCode::BackTab,
                "up" => KeyCode::Up,
                "down" => KeyCode::Down,
                "left" => KeyCode::Left,
                "right" => KeyCode::Right,
                "pageup" | "pgup" => KeyCode::PageUp,
                "pagedown" | "pgdn" => KeyCode::PageDown,
                "home" => KeyCode::Home,
                "end" => KeyCode::End,
                "backspace" => KeyCode::Backspace,
                "delete" | "del" => KeyCode::Delete,
                "space" => KeyCode::Char(' '),
                f if f.starts_with('f')
                    && f[1..].parse::<u8>().is_ok_and(|n| (1..=12).contains(&n)) =>
                {
                    KeyCode::F(f[1..].parse().unwrap_or(1))
                }
                _ => return Err(format!("unknown key {s:?}")),
            },
        };
        Ok(Key { code, mods })
    }

    /// How `?` shows the key.
    pub fn label(&self) -> String {
        let mut s = String::new();
        if self.mods.contains(KeyModifiers::CONTROL) {
            s.push_str("Ctrl-");
        }
        if self.mods.contains(KeyModifiers::ALT) {
            s.push_str("Alt-");
        }
        match self.code {
            KeyCode::Char(' ') => s.push_str("Space"),
            KeyCode::Char(c) if self.mods.contains(KeyModifiers::CONTROL) => {
                s.push(c.to_ascii_uppercase())
            }
            KeyCode::Char(c) => s.push(c),
            KeyCode::Enter => s.push_str("Enter"),
            KeyCode::Esc => s.push_str("Esc"),
            KeyCode::Tab => s.push_str("Tab"),
            KeyCode::BackTab => s.push_str("Shift-Tab"),
            KeyCode::Up => s.push('↑'),
            KeyCode::Down => s.push('↓'),
            KeyCode::Left => s.push('←'),
            KeyCode::Right => s.push('→'),
            KeyCode::PageUp => s.push_str("PgUp"),
            KeyCode::PageDown => s.push_str("PgDn"),
            KeyCode::Home => s.push_str("Home"),
            KeyCode::End => s.push_str("End"),
            KeyCode::Backspace => s.push_str("Backspace"),
            KeyCode::Delete => s.push_str("Del"),
            KeyCode::F(n) => s.push_str(&format!("F{n}")),
            _ => s.push('?'),
        }
        s
    }
}

#[derive(Debug, Clone, Default)]
pub struct Keymap {
    by_key: HashMap<Key, Vec<Command>>,
    by_command: HashMap<Command, Vec<Key>>,
}

impl Keymap {
    /// From the config's `[keys]` table: command name → list of keys.
    pub fn from_config(keys: &HashMap<Command, Vec<String>>) -> Result<Keymap, String> {
        let mut map = Keymap::default();
        let mut commands: Vec<_> = keys.keys().copied().collect();
        commands.sort();
        for command in commands {
            for k in &keys[&command] {
                let key = Key::parse(k).map_err(|e| format!("[keys] {}: {e}", command.name()))?;
                map.bind(key, command);
            }
        }
        Ok(map)
    }

    pub fn bind(&mut self, key: Key, command: Command) {
        self.by_key.entry(key).or_default().push(command);
        self.by_command.entry(command).or_default().push(key);
    }

    /// Every command bound to this key; the caller picks the one that makes sense in its mode
    /// (`enter` is both `detail` in the list and `confirm` in a dialog).
    pub fn commands(&self, ev: &KeyEvent) -> &[Command] {
        self.by_key
            .get(&Key::from_event(ev))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    pub fn is(&self, ev: &KeyEvent, command: Command) -> bool {
        self.commands(ev).contains(&command)
    }

    /// Labels of the keys bound to a command, for hints and help: `j / ↓`.
    pub fn label(&self, command: Command) -> String {
        self.by_command
            .get(&command)
            .map(|keys| keys.iter().map(Key::label).collect::<Vec<_>>().join(" / "))
            .unwrap_or_default()
    }

    /// The first key of a command, for one-key hints in the footer.
    pub fn first(&self, command: Command) -> String {
        self.by_command
            .get(&command)
            .and_then(|k| k.first())
            .map(Key::label)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_keys() {
        assert_eq!(Key::parse("q").unwrap().code, KeyCode::Char('q'));
        let k = Key::parse("ctrl-C").unwrap();
        assert_eq!(
            (k.code, k.mods),
            (KeyCode::Char('c'), KeyModifiers::CONTROL)
        );
        assert_eq!(Key::parse("enter").unwrap().code, KeyCode::Enter);
        assert_eq!(Key::parse("-").unwrap().code, KeyCode::Char('-'));
        assert_eq!(Key::parse("f5").unwrap().code, KeyCode::F(5));
        assert!(Key::parse("hyper-x").is_err());
        assert_eq!(Key::parse("ctrl-s").unwrap().label(), "Ctrl-S");
    }

    #[test]
    fn shifted_letters_match_their_character() {
        let mut km = Keymap::default();
        km.bind(Key::parse("G").unwrap(), Command::Bottom);
        let ev = KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT);
        assert!(km.is(&ev, Command::Bottom));
    }
}
