//! Editing a text field with a cursor (a character index, so CJK never splits).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn byte_at(text: &str, cursor: usize) -> usize {
    text.char_indices()
        .nth(cursor)
        .map_or(text.len(), |(i, _)| i)
}

/// Applies an editing key; returns false for keys that are not edits (the caller's to handle).
/// `multiline` lets Enter insert a line break.
pub fn edit(text: &mut String, cursor: &mut usize, key: &KeyEvent, multiline: bool) -> bool {
    let len = text.chars().count();
    *cursor = (*cursor).min(len);
    match key.code {
        KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
            text.insert(byte_at(text, *cursor), c);
            *cursor += 1;
        }
        KeyCode::Enter if multiline => {
            text.insert(byte_at(text, *cursor), '\n');
            *cursor += 1;
        }
        KeyCode::Backspace if *cursor > 0 => {
            *cursor -= 1;
            text.remove(byte_at(text, *cursor));
        }
        KeyCode::Delete if *cursor < len => {
            text.remove(byte_at(text, *cursor));
        }
        KeyCode::Left => *cursor = cursor.saturating_sub(1),
        KeyCode::Right => *cursor = (*cursor + 1).min(len),
        KeyCode::Home => *cursor = 0,
        KeyCode::End => *cursor = len,
        KeyCode::Backspace | KeyCode::Delete => {}
        _ => return false,
    }
    true
}

/// The text with a cursor mark where typing goes.
pub fn with_cursor(text: &str, cursor: usize) -> String {
    let mut s = text.to_string();
    s.insert(byte_at(text, cursor.min(text.chars().count())), '▏');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn edits_in_the_middle_of_cjk_text() {
        let mut t = String::from("已联系家属");
        let mut c = 5;
        edit(&mut t, &mut c, &k(KeyCode::Left), false);
        edit(&mut t, &mut c, &k(KeyCode::Left), false);
        edit(&mut t, &mut c, &k(KeyCode::Backspace), false);
        assert_eq!((t.as_str(), c), ("已联家属", 2));
        edit(&mut t, &mut c, &k(KeyCode::Char('了')), false);
        assert_eq!(t, "已联了家属");
        edit(&mut t, &mut c, &k(KeyCode::Home), false);
        edit(&mut t, &mut c, &k(KeyCode::Delete), false);
        assert_eq!(t, "联了家属");
        assert!(!edit(&mut t, &mut c, &k(KeyCode::Enter), false));
        assert!(edit(&mut t, &mut c, &k(KeyCode::Enter), true));
        assert_eq!(t, "\n联了家属");
        edit(&mut t, &mut c, &k(KeyCode::End), false);
        assert_eq!(with_cursor(&t, c), "\n联了家属▏");
        assert_eq!(with_cursor("ab", 1), "a▏b");
    }
}
