//! What the filter looks at, folded once per case version and kept in one buffer: each held or
//! found case has a dense slot number (kept in the unfiltered orders' keys), and a keystroke
//! is one `memmem` pass over the buffer filling a bit per slot, then one pass over each kept
//! order reading those bits — no hash lookup and no case's text touched per listed case.

use std::collections::{HashMap, HashSet};

use memchr::memmem::Finder;

use crate::wire::Case;

/// Between the folded fields and after each case's text; a query holding it is matched field
/// by field.
const SEP: char = '\0';

/// A record of the buffer whose case changed or left since.
const DEAD: u32 = u32::MAX;

/// Replaced text is dropped from the buffer once it outweighs the live text and this.
const COMPACT_AT: usize = 1 << 16;

/// A case's reference, title and town, lower-cased and each followed by `SEP`.
#[cfg(test)]
pub fn fold(c: &Case) -> String {
    let mut text = String::new();
    fold_into(&mut text, c);
    text
}

/// `fold` written at the end of `text`.
fn fold_into(text: &mut String, c: &Case) {
    for field in [&c.reference, &c.title, &c.location.town] {
        if field.is_ascii() {
            text.extend(field.bytes().map(|b| char::from(b.to_ascii_lowercase())));
        } else {
            // Each field on its own: lower-casing looks at word ends (a final sigma).
            text.push_str(&field.to_lowercase());
        }
        text.push(SEP);
    }
}

/// One slot: where its text is in the buffer, and what decides whether the case is listed
/// besides its text.
#[derive(Debug, Clone)]
struct Slot {
    /// Its record in `records`.
    record: u32,
    start: u32,
    end: u32,
    dept: Option<i64>,
    /// Held (this console's own feed) rather than found by a server search.
    held: bool,
}

/// The filter and drill-down the shown bits were made with.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub query: Query,
    pub drill: Option<i64>,
    /// Departments whose name (or its pinyin) the query matches.
    pub dept_match: HashSet<i64>,
}

/// Every held and found case's folded text and whether the filter shows it, by slot.
#[derive(Debug, Clone, Default)]
pub struct Texts {
    slots: HashMap<i64, u32, foldhash::fast::RandomState>,
    /// By slot; `None` for a free slot.
    by_slot: Vec<Option<Slot>>,
    free: Vec<u32>,
    /// Every record's text, in the order written; records end with `SEP`.
    buf: String,
    /// (start in `buf`, slot or `DEAD`) of each record, in `buf` order.
    records: Vec<(u32, u32)>,
    dead: usize,
    /// A bit per slot: the case is listed under the current filter.
    shown: Vec<u64>,
}

fn offset(n: usize) -> u32 {
    u32::try_from(n).expect("folded text under 4 GiB")
}

impl Texts {
    /// The case's slot, if held or found.
    pub fn slot(&self, id: i64) -> Option<u32> {
        self.slots.get(&id).copied()
    }

    pub fn shown(&self, slot: u32) -> bool {
        let s = slot as usize;
        self.shown
            .get(s / 64)
            .is_some_and(|w| w >> (s % 64) & 1 == 1)
    }

    fn set_shown(&mut self, slot: u32, on: bool) {
        let s = slot as usize;
        let (w, b) = (s / 64, 1u64 << (s % 64));
        if on {
            self.shown[w] |= b;
        } else {
            self.shown[w] &= !b;
        }
    }

    fn text(&self, s: &Slot) -> &str {
        &self.buf[s.start as usize..s.end as usize]
    }

    fn shows(&self, s: &Slot, f: &Filter) -> bool {
        (f.query.finds(self.text(s)) || s.dept.is_some_and(|d| f.dept_match.contains(&d)))
            && (!s.held || f.drill.is_none_or(|d| s.dept == Some(d)))
    }

    /// The case's text kept in a new slot (its old one, if any, must be removed first);
    /// returns the slot.
    pub fn insert(&mut self, c: &Case, held: bool, f: &Filter) -> u32 {
        debug_assert!(!self.slots.contains_key(&c.id));
        let slot = self.free.pop().unwrap_or_else(|| {
            self.by_slot.push(None);
            offset(self.by_slot.len() - 1)
        });
        if self.shown.len() * 64 < self.by_slot.len() {
            self.shown.push(0);
        }
        let start = offset(self.buf.len());
        fold_into(&mut self.buf, c);
        let s = Slot {
            record: offset(self.records.len()),
            start,
            end: offset(self.buf.len()),
            dept: c.department_id,
            held,
        };
        self.records.push((start, slot));
        let on = self.shows(&s, f);
        self.by_slot[slot as usize] = Some(s);
        self.set_shown(slot, on);
        self.slots.insert(c.id, slot);
        slot
    }

    /// Forgets the case's text and frees its slot.
    pub fn remove(&mut self, id: i64) {
        let Some(slot) = self.slots.remove(&id) else {
            return;
        };
        if let Some(s) = self.by_slot[slot as usize].take() {
            self.records[s.record as usize].1 = DEAD;
            self.dead += (s.end - s.start) as usize;
        }
        self.set_shown(slot, false);
        self.free.push(slot);
        if self.dead > COMPACT_AT && self.dead * 2 > self.buf.len() {
            self.compact();
        }
    }

    /// The buffer written again without replaced text, records in the same order.
    fn compact(&mut self) {
        let mut buf = String::with_capacity(self.buf.len() - self.dead);
        let mut records = Vec::with_capacity(self.slots.len());
        for &(_, slot) in &self.records {
            let Some(s) = self.by_slot.get_mut(slot as usize).and_then(Option::as_mut) else {
                continue;
            };
            let start = offset(buf.len());
            buf.push_str(&self.buf[s.start as usize..s.end as usize]);
            s.record = offset(records.len());
            s.start = start;
            s.end = offset(buf.len());
            records.push((start, slot));
        }
        self.buf = buf;
        self.records = records;
        self.dead = 0;
    }

    /// Every slot's shown bit made again under a new filter: one pass of the query's searcher
    /// over the whole buffer, then one over the slots for departments and the drill-down.
    pub fn refilter(&mut self, f: &Filter) {
        let words = self.shown.len();
        let mut text = vec![0u64; words];
        match &f.query.finder {
            None => text.fill(u64::MAX),
            Some(_) if f.query.text.contains(SEP) => {
                for (i, s) in self.by_slot.iter().enumerate() {
                    if s.as_ref().is_some_and(|s| f.query.finds(self.text(s))) {
                        text[i / 64] |= 1 << (i % 64);
                    }
                }
            }
            Some(finder) => {
                // A hit never spans two records (the query holds no `SEP`), so it belongs to
                // the last record starting at or before it; hits come in buffer order.
                let mut r = 0;
                for hit in finder.find_iter(self.buf.as_bytes()) {
                    let hit = offset(hit);
                    while self.records.get(r + 1).is_some_and(|n| n.0 <= hit) {
                        r += 1;
                    }
                    let slot = self.records[r].1 as usize;
                    if slot != DEAD as usize {
                        text[slot / 64] |= 1 << (slot % 64);
                    }
                }
            }
        }
        let everyone = f.dept_match.is_empty() && f.drill.is_none();
        for (i, s) in self.by_slot.iter().enumerate() {
            let (w, b) = (i / 64, 1u64 << (i % 64));
            let on = match s {
                None => false,
                Some(_) if everyone => text[w] & b != 0,
                Some(s) => {
                    (text[w] & b != 0 || s.dept.is_some_and(|d| f.dept_match.contains(&d)))
                        && (!s.held || f.drill.is_none_or(|d| s.dept == Some(d)))
                }
            };
            if on {
                text[w] |= b;
            } else {
                text[w] &= !b;
            }
        }
        self.shown = text;
    }

    /// Every kept case's folded text with what else decides its listing, by id (for tests
    /// against a folding from scratch).
    #[cfg(test)]
    pub fn by_id(&self) -> HashMap<i64, (String, Option<i64>, bool)> {
        self.slots
            .iter()
            .map(|(id, slot)| {
                let s = self.by_slot[*slot as usize].as_ref().expect("a kept slot");
                assert_eq!(self.records[s.record as usize], (s.start, *slot));
                (*id, (self.text(s).to_string(), s.dept, s.held))
            })
            .collect()
    }

    /// Whether the buffer holds replaced text (for tests of the compaction).
    #[cfg(test)]
    pub fn dead_bytes(&self) -> usize {
        self.dead
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

    /// Whether the query is in a case's reference, title or town (always, when empty), from
    /// its folded text.
    fn finds(&self, folded: &str) -> bool {
        let Some(finder) = &self.finder else {
            return true;
        };
        if self.text.contains(SEP) {
            folded
                .split_terminator(SEP)
                .any(|s| s.contains(self.text.as_str()))
        } else {
            finder.find(folded.as_bytes()).is_some()
        }
    }
}
