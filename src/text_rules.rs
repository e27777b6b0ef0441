//! What free text from outside may hold, for every field people type: case titles and
//! descriptions, requesters, places, notes, answers, reasons, department and user names.
//! One rule set, so a field cannot be forgotten: text reaches consoles, timelines, reports and
//! spreadsheets, where a control character or a bidi override can hide or reorder what an
//! operator reads.

/// How a field is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextRule {
    /// Longest accepted text, in characters (not bytes).
    pub max_chars: usize,
    /// Line breaks (`\n`) and tabs are allowed (descriptions, notes, answers, reasons).
    pub multi_line: bool,
    /// Must hold at least one visible character.
    pub required: bool,
}

impl TextRule {
    /// A one-line field that must show something: a title, a name, a town.
    pub const fn name(max_chars: usize) -> TextRule {
        TextRule {
            max_chars,
            multi_line: false,
            required: true,
        }
    }

    /// A one-line field that may be empty: an address.
    pub const fn line(max_chars: usize) -> TextRule {
        TextRule {
            max_chars,
            multi_line: false,
            required: false,
        }
    }

    /// Several lines that may be empty: a description, an optional note.
    pub const fn paragraph(max_chars: usize) -> TextRule {
        TextRule {
            max_chars,
            multi_line: true,
            required: false,
        }
    }

    /// Several lines that must say something: an answer, a reason.
    pub const fn statement(max_chars: usize) -> TextRule {
        TextRule {
            max_chars,
            multi_line: true,
            required: true,
        }
    }
}

/// Bidi embeddings, overrides (U+202A–U+202E) and isolates (U+2066–U+2069): they reorder
/// how the text around them is shown.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Characters that show nothing: white space, zero-width and other format characters,
/// fillers that render as blanks.
pub fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || is_bidi_control(c)
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{061C}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{17B4}'
                | '\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2060}'..='\u{2064}'
                | '\u{206A}'..='\u{206F}'
                | '\u{2800}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
        )
}

/// The characters a field may never hold, as a regular-expression class body: controls (but
/// the line breaks and tabs of a multi-line field), line and paragraph separators, bidi
/// overrides and isolates.
fn forbidden_class(multi_line: bool) -> String {
    let low = if multi_line {
        "\\u0000-\\u0008\\u000b-\\u001f"
    } else {
        "\\u0000-\\u001f"
    };
    format!("{low}\\u007f-\\u009f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069")
}

/// Every character [`is_invisible`] names, as a regular-expression class body.
const INVISIBLE_CLASS: &str = "\\u0000-\\u0020\\u007f-\\u00a0\\u00ad\\u034f\\u061c\\u115f\\u1160\\u1680\\u17b4\\u17b5\\u180b-\\u180f\\u2000-\\u200f\\u2028-\\u202f\\u205f-\\u2064\\u2066-\\u206f\\u2800\\u3000\\u3164\\ufe00-\\ufe0f\\ufeff\\uffa0";

/// The rule as a JSON Schema for the API document, so a client (or a schema-driven fuzzer)
/// knows field by field what the server accepts.
pub fn json_schema(rule: TextRule) -> serde_json::Value {
    let mut patterns = vec![serde_json::json!({
        "pattern": format!("^[^{}]*$", forbidden_class(rule.multi_line))
    })];
    if rule.required {
        patterns.push(serde_json::json!({ "pattern": format!("[^{INVISIBLE_CLASS}]") }));
    }
    serde_json::json!({ "type": "string", "maxLength": rule.max_chars, "allOf": patterns })
}

/// Checks `text` against `rule`; the error is a message for the field, meant for the person
/// who typed it.
pub fn check(text: &str, rule: TextRule) -> Result<(), String> {
    for c in text.chars() {
        let allowed_break = rule.multi_line && matches!(c, '\n' | '\t');
        if (c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')) && !allowed_break {
            let what = if rule.multi_line {
                "control characters (only line breaks and tabs are allowed)"
            } else {
                "control characters, line breaks or tabs"
            };
            return Err(format!("must not contain {what}; found U+{:04X}", c as u32));
        }
        if is_bidi_control(c) {
            return Err(format!(
                "must not contain bidirectional override or isolate characters; found U+{:04X}",
                c as u32
            ));
        }
    }
    if rule.required && text.chars().all(is_invisible) {
        return Err("must not be empty or only invisible characters".into());
    }
    if text.chars().count() > rule.max_chars {
        return Err(format!("must be at most {} characters", rule.max_chars));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_json_schema_names_every_invisible_character() {
        // Each range end of the class, read back, is invisible; its neighbours outside are not.
        for c in [
            '\u{0}', '\u{20}', '\u{7f}', '\u{a0}', '\u{2000}', '\u{200f}', '\u{2028}', '\u{202f}',
            '\u{205f}', '\u{206f}', '\u{3000}', '\u{feff}', '\u{ffa0}',
        ] {
            assert!(is_invisible(c), "U+{:04X}", c as u32);
        }
        let schema = json_schema(TextRule::name(50)).to_string();
        assert!(schema.contains("maxLength\":50"), "{schema}");
        assert_eq!(
            json_schema(TextRule::line(9))["allOf"]
                .as_array()
                .map(Vec::len),
            Some(1)
        );
    }

    const NAME: TextRule = TextRule::name(50);
    const NOTE: TextRule = TextRule::statement(100);

    #[test]
    fn ordinary_text_passes() {
        assert_eq!(check("葛先生", NAME), Ok(()));
        assert_eq!(check("op-li", NAME), Ok(()));
        assert_eq!(check("第一行\n第二行\t缩进", NOTE), Ok(()));
        assert_eq!(check("", TextRule::line(10)), Ok(()));
        // Marks that only steer direction inside mixed text are not overrides.
        assert_eq!(check("العربية\u{200F} 中文", NAME), Ok(()));
    }

    #[test]
    fn control_characters_are_refused() {
        for bad in [
            "a\0b",
            "a\u{7}b",
            "a\u{1b}[31mred",
            "a\rb",
            "a\u{85}b",
            "a\u{2028}b",
        ] {
            assert!(check(bad, NAME).is_err(), "{bad:?}");
            assert!(check(bad, NOTE).is_err(), "{bad:?}");
        }
        assert!(check("a\nb", NAME).unwrap_err().contains("line breaks"));
        assert!(check("a\tb", NAME).is_err());
        assert!(check("a\0b", NOTE).unwrap_err().contains("U+0000"));
    }

    #[test]
    fn bidi_overrides_and_isolates_are_refused() {
        for c in ('\u{202A}'..='\u{202E}').chain('\u{2066}'..='\u{2069}') {
            let s = format!("invoice{c}fdp.exe");
            let e = check(&s, NOTE).unwrap_err();
            assert!(e.contains("bidirectional"), "{c:?}: {e}");
        }
    }

    #[test]
    fn required_fields_need_something_visible() {
        for blank in [
            "",
            "   ",
            "\u{3000}",
            "\u{200B}\u{200C}\u{200D}",
            "\u{2060}",
            "\u{FEFF}",
            "\u{3164}",
        ] {
            assert!(check(blank, NAME).is_err(), "{blank:?}");
        }
        assert!(check("\n\t ", NOTE).is_err());
        assert!(check("\u{200B}", TextRule::paragraph(10)).is_ok());
    }

    #[test]
    fn length_counts_characters() {
        assert!(check(&"字".repeat(50), NAME).is_ok());
        assert!(
            check(&"字".repeat(51), NAME)
                .unwrap_err()
                .contains("at most 50")
        );
    }
}
