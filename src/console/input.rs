//! Editing a text field with a cursor (a character index, so CJK never splits): the keys
//! people expect from a shell line (←/→, Home/End, Backspace/Delete at the cursor, Ctrl-U,
//! Ctrl-W) and pasted text inserted whole.

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
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    match key.code {
        // Ctrl-U: everything before the cursor (on its line, in a multi-line field).
        KeyCode::Char('u') if ctrl => {
            let start = line_start(text, *cursor);
            text.replace_range(byte_at(text, start)..byte_at(text, *cursor), "");
            *cursor = start;
        }
        // Ctrl-W: the word before the cursor, and the spaces after it.
        KeyCode::Char('w') if ctrl => {
            let chars: Vec<char> = text.chars().collect();
            let mut start = *cursor;
            while start > 0 && chars[start - 1] == ' ' {
                start -= 1;
            }
            // A run of CJK has no spaces: it goes as one word, as in a browser's field.
            while start > 0 && !chars[start - 1].is_whitespace() {
                start -= 1;
            }
            text.replace_range(byte_at(text, start)..byte_at(text, *cursor), "");
            *cursor = start;
        }
        KeyCode::Char(c) if !ctrl => {
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

fn line_start(text: &str, cursor: usize) -> usize {
    text.chars()
        .take(cursor)
        .enumerate()
        .filter(|(_, c)| *c == '\n')
        .last()
        .map_or(0, |(i, _)| i + 1)
}

/// Pasted (or otherwise inserted) text as the field will hold it: line ends become `\n` in a
/// multi-line field and spaces in a single-line one, so a pasted line break never acts as a key;
/// other control characters are dropped, tabs become spaces.
pub fn clean_insert(s: &str, multiline: bool) -> String {
    let s = s.replace("\r\n", "\n").replace('\r', "\n");
    s.chars()
        .filter_map(|c| match c {
            '\n' if multiline => Some('\n'),
            '\n' | '\t' => Some(' '),
            c if c.is_control() => None,
            c => Some(c),
        })
        .collect()
}

/// Inserts `s` (pasted text) at the cursor in one step and moves the cursor after it.
pub fn insert(text: &mut String, cursor: &mut usize, s: &str, multiline: bool) {
    let s = clean_insert(s, multiline);
    *cursor = (*cursor).min(text.chars().count());
    text.insert_str(byte_at(text, *cursor), &s);
    *cursor += s.chars().count();
}

/// A one-line view of the field at most `w` cells wide, with the cursor mark, scrolled so the
/// cursor is in view; `…` marks text cut at either end. Widths are display cells (CJK is two).
pub fn window(text: &str, cursor: usize, w: usize) -> String {
    use unicode_width::UnicodeWidthChar;
    if w < 3 {
        return String::new();
    }
    let shown: Vec<char> = with_cursor(text, cursor)
        .chars()
        .map(|c| if c == '\n' { '⏎' } else { c })
        .collect();
    let cw = |c: char| c.width().unwrap_or(0);
    let total: usize = shown.iter().map(|c| cw(*c)).sum();
    if total <= w {
        return shown.into_iter().collect();
    }
    let at = cursor.min(text.chars().count());
    // Leave room for the two ellipses, then take as much before the cursor as fits in about
    // two thirds of the width (typing usually goes on at the end), the rest after it.
    let room = w - 2;
    let mut start = at;
    let mut used = cw(shown[at]);
    while start > 0 && used + cw(shown[start - 1]) <= room * 2 / 3 {
        start -= 1;
        used += cw(shown[start]);
    }
    let mut end = at + 1;
    let right_room = w - 1 - usize::from(start > 0);
    while end < shown.len() && used + cw(shown[end]) <= right_room {
        used += cw(shown[end]);
        end += 1;
    }
    let left_room = w - 1 - usize::from(end < shown.len());
    while start > 0 && used + cw(shown[start - 1]) <= left_room {
        start -= 1;
        used += cw(shown[start]);
    }
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    out.extend(&shown[start..end]);
    if end < shown.len() {
        out.push('…');
    }
    out
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

    fn ctrl(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
    }

    #[test]
    fn ctrl_u_and_ctrl_w_delete_before_the_cursor() {
        let mut t = String::from("葛先生 138 0000");
        let mut c = t.chars().count();
        edit(&mut t, &mut c, &ctrl('w'), false);
        assert_eq!((t.as_str(), c), ("葛先生 138 ", 8));
        edit(&mut t, &mut c, &ctrl('w'), false);
        assert_eq!((t.as_str(), c), ("葛先生 ", 4));
        edit(&mut t, &mut c, &ctrl('w'), false);
        assert_eq!((t.as_str(), c), ("", 0));
        let mut t = String::from("第一行\n第二行");
        let mut c = 6;
        edit(&mut t, &mut c, &ctrl('u'), true);
        assert_eq!((t.as_str(), c), ("第一行\n行", 4));
        let mut t = String::from("马金镇下庄村");
        let mut c = 3;
        edit(&mut t, &mut c, &ctrl('u'), false);
        assert_eq!((t.as_str(), c), ("下庄村", 0));
    }

    #[test]
    fn pasted_line_breaks_are_spaces_in_one_line_fields() {
        let mut t = String::from("ab");
        let mut c = 1;
        insert(&mut t, &mut c, "一\r\n二\t\u{7}三", false);
        assert_eq!((t.as_str(), c), ("a一 二 三b", 6));
        let mut t = String::new();
        let mut c = 0;
        insert(&mut t, &mut c, "一\r\n二\r三", true);
        assert_eq!(t, "一\n二\n三");
    }

    #[test]
    fn a_long_value_scrolls_to_keep_the_cursor_in_view() {
        let t = "一二三四五六七八九十";
        // 20 cells of CJK and the mark in 10 cells: the end shows, cut on the left.
        let v = window(t, 10, 10);
        assert_eq!(v, "…七八九十▏");
        assert!(crate::console::text::width(&v) <= 10);
        let v = window(t, 0, 10);
        assert_eq!(v, "▏一二三四…");
        let v = window(t, 5, 10);
        assert!(
            v.starts_with('…') && v.ends_with('…') && v.contains('▏'),
            "{v}"
        );
        assert!(crate::console::text::width(&v) <= 10);
        assert_eq!(window("ab", 2, 10), "ab▏");
    }
}
