//! Display-width text helpers: every column on screen is measured in terminal cells, so CJK
//! (two cells a character) lines up with Latin text and nothing is cut inside a character.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Cells a string takes on screen.
pub fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

fn char_width(c: char) -> usize {
    UnicodeWidthChar::width(c).unwrap_or(0)
}

/// Control characters (a newline inside a title) would break a row: show them as spaces.
fn clean(c: char) -> char {
    if c.is_control() { ' ' } else { c }
}

/// `s` cut to at most `w` cells, ending in `…` when cut; never splits a wide character.
pub fn truncate(s: &str, w: usize) -> String {
    if w == 0 {
        return String::new();
    }
    let mut out = String::with_capacity(s.len().min(w * 4));
    let mut used = 0;
    let total = s.chars().map(|c| char_width(clean(c))).sum::<usize>();
    if total <= w {
        out.extend(s.chars().map(clean));
        return out;
    }
    for c in s.chars().map(clean) {
        let cw = char_width(c);
        if used + cw > w - 1 {
            break;
        }
        out.push(c);
        used += cw;
    }
    out.push('…');
    out
}

/// `s` made exactly `w` cells wide: cut with `…` or padded with spaces on the right.
pub fn fit(s: &str, w: usize) -> String {
    let mut out = truncate(s, w);
    let used = width(&out);
    out.extend(std::iter::repeat_n(' ', w.saturating_sub(used)));
    out
}

/// `s` made exactly `w` cells wide, padded on the left (numbers, countdowns).
pub fn fit_right(s: &str, w: usize) -> String {
    let cut = truncate(s, w);
    let used = width(&cut);
    let mut out: String = std::iter::repeat_n(' ', w.saturating_sub(used)).collect();
    out.push_str(&cut);
    out
}

/// Wraps text to lines of at most `w` cells. Chinese has no spaces between words, so lines
/// break between any two characters; explicit newlines are kept.
pub fn wrap(s: &str, w: usize) -> Vec<String> {
    let mut lines = Vec::new();
    if w == 0 {
        return lines;
    }
    for para in s.split('\n') {
        let mut line = String::new();
        let mut used = 0;
        for c in para.chars().map(clean) {
            let cw = char_width(c);
            if used + cw > w {
                // Latin words move whole to the next line when they can; CJK breaks anywhere.
                let split = match line.rfind(' ') {
                    Some(at) if c != ' ' && cw == 1 && at > 0 && width(&line[at + 1..]) < w => {
                        Some(at)
                    }
                    _ => None,
                };
                match split {
                    Some(at) => {
                        let rest = line[at + 1..].to_string();
                        line.truncate(at);
                        lines.push(std::mem::replace(&mut line, rest));
                        used = width(&line);
                    }
                    None => {
                        lines.push(std::mem::take(&mut line));
                        used = 0;
                    }
                }
            }
            line.push(c);
            used += cw;
        }
        lines.push(line);
    }
    lines
}

/// `01:02:03`, or `-00:03:10` when overdue; hours grow past two digits rather than wrap.
pub fn countdown(seconds: i64) -> String {
    let sign = if seconds < 0 { "-" } else { "" };
    let s = seconds.unsigned_abs();
    format!("{sign}{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

/// A short duration for messages: `45s`, `3m10s`, `2h05m`.
pub fn short_duration(seconds: i64) -> String {
    let s = seconds.unsigned_abs();
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{}h{:02}m", s / 3600, (s / 60) % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cjk_is_measured_in_cells() {
        assert_eq!(width("透析病人"), 8);
        assert_eq!(fit("透析病人需要转运", 9), "透析病人…");
        assert_eq!(width(&fit("透析病人需要转运", 9)), 9);
        // An odd width never splits a wide character; the gap is padded.
        assert_eq!(fit("透析病人需要转运", 8), "透析病… ");
        assert_eq!(fit("ab", 4), "ab  ");
        assert_eq!(fit("马金镇", 6), "马金镇");
        assert_eq!(fit_right("3", 3), "  3");
        assert_eq!(truncate("anything", 0), "");
        assert_eq!(truncate("a\nb", 5), "a b");
    }

    #[test]
    fn wraps_by_width() {
        assert_eq!(
            wrap("透析病人需要转运", 6),
            vec!["透析病", "人需要", "转运"]
        );
        assert_eq!(wrap("ab\ncd", 10), vec!["ab", "cd"]);
        assert_eq!(wrap("claimed by op-li", 12), vec!["claimed by", "op-li"]);
    }

    #[test]
    fn formats_countdowns() {
        assert_eq!(countdown(2537), "00:42:17");
        assert_eq!(countdown(-190), "-00:03:10");
        assert_eq!(countdown(0), "00:00:00");
        assert_eq!(short_duration(190), "3m10s");
        assert_eq!(short_duration(-7500), "2h05m");
    }
}
