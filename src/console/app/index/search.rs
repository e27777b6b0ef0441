//! What the filter looks at, folded once per case version: a keystroke is then one hash lookup
//! and one substring search per listed case, instead of Unicode case folding of three fields
//! of every case on every key.

use memchr::memmem::Finder;

use crate::wire::Case;

/// Between the folded fields; a query holding it is matched field by field.
const SEP: char = '\0';

/// A case's reference, title and town, lower-cased and joined by `SEP`, with what decides
/// whether the case is listed besides its text.
#[derive(Debug, Clone, PartialEq)]
pub struct Folded {
    text: Box<str>,
    /// Where the reference and the title end in `text`.
    ends: [u32; 2],
    pub dept: Option<i64>,
    /// The similar-request group, for laying the untriaged pane without the case.
    pub group: i64,
    /// Held (this console's own feed) rather than found by a server search.
    pub held: bool,
}

fn push_lower(out: &mut String, s: &str) {
    if s.is_ascii() {
        out.extend(s.bytes().map(|b| char::from(b.to_ascii_lowercase())));
    } else {
        // Each field on its own: lower-casing looks at word ends (a final sigma).
        out.push_str(&s.to_lowercase());
    }
}

impl Folded {
    pub fn new(c: &Case, held: bool) -> Folded {
        let mut text = String::with_capacity(c.reference.len() + c.title.len() + 16);
        push_lower(&mut text, &c.reference);
        let reference = text.len();
        text.push(SEP);
        push_lower(&mut text, &c.title);
        let title = text.len();
        text.push(SEP);
        push_lower(&mut text, &c.location.town);
        let end = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Folded {
            text: text.into_boxed_str(),
            ends: [end(reference), end(title)],
            dept: c.department_id,
            group: super::super::group_key(c),
            held,
        }
    }

    fn fields(&self) -> impl Iterator<Item = &str> {
        let [a, b] = self.ends.map(|e| e as usize);
        let t = &self.text;
        [
            t.get(..a).unwrap_or(""),
            t.get(a + 1..b).unwrap_or(""),
            t.get(b + 1..).unwrap_or(""),
        ]
        .into_iter()
    }
}

/// The lower-cased filter with its substring searcher, built once per keystroke.
#[derive(Debug, Clone, Default)]
pub struct Query {
    text: String,
    finder: Option<Finder<'static>>,
}

impl Query {
    pub fn new(text: String) -> Query {
        let finder = (!text.is_empty()).then(|| Finder::new(text.as_bytes()).into_owned());
        Query { text, finder }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the query is in the case's reference, title or town (always, when empty).
    pub fn finds(&self, f: &Folded) -> bool {
        let Some(finder) = &self.finder else {
            return true;
        };
        if self.text.contains(SEP) {
            f.fields().any(|s| s.contains(self.text.as_str()))
        } else {
            finder.find(f.text.as_bytes()).is_some()
        }
    }
}
