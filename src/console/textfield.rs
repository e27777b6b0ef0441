//! A text field: its text and where typing goes. Every form of the console holds its inputs as
//! `TextField`s, so they all edit the same way (see `input`) and take a paste in one step.

use crossterm::event::KeyEvent;

use super::input;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TextField {
    text: String,
    /// In characters, so a CJK character is never split.
    cursor: usize,
}

impl TextField {
    /// A field holding `text`, the cursor at its end.
    pub fn new(text: &str) -> TextField {
        TextField {
            text: text.to_string(),
            cursor: text.chars().count(),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn cursor(&self) -> usize {
        self.cursor
    }

    pub fn trim(&self) -> &str {
        self.text.trim()
    }

    pub fn is_blank(&self) -> bool {
        self.text.trim().is_empty()
    }

    pub fn chars(&self) -> usize {
        self.text.chars().count()
    }

    pub fn clear(&mut self) {
        self.text.clear();
        self.cursor = 0;
    }

    /// Puts the cursor at the end (a field entered with Tab).
    pub fn to_end(&mut self) {
        self.cursor = self.chars();
    }

    /// Applies an editing key; false for keys that are not edits (the caller's to handle).
    pub fn edit(&mut self, key: &KeyEvent, multiline: bool) -> bool {
        input::edit(&mut self.text, &mut self.cursor, key, multiline)
    }

    /// Inserts pasted text at the cursor, whole (see `input::clean_insert`).
    pub fn paste(&mut self, text: &str, multiline: bool) {
        input::insert(&mut self.text, &mut self.cursor, text, multiline);
    }

    /// The text with the cursor mark.
    pub fn with_cursor(&self) -> String {
        input::with_cursor(&self.text, self.cursor)
    }

    /// One line at most `width` cells wide with the cursor in view.
    pub fn view(&self, width: usize) -> String {
        input::window(&self.text, self.cursor, width)
    }
}

impl PartialEq<&str> for TextField {
    fn eq(&self, other: &&str) -> bool {
        self.text == *other
    }
}

impl PartialEq<str> for TextField {
    fn eq(&self, other: &str) -> bool {
        self.text == other
    }
}
