//! When two help requests are the same request: the rule the server groups new untriaged cases
//! by, so that the desk can answer a burst of near-duplicates once (each requester still gets
//! a reply of their own) or merge true duplicates.
//!
//! Two requests are the same when
//! - they come from the same phone and either name the same category or read alike (a caller
//!   who rings twice about the same need; not one who rings again about something else), or
//! - they come from the same town, name the same category, and read very alike (a relative
//!   calling about the same patient, neighbours of one village asking the same thing).
//!
//! "Read alike" is the Sørensen–Dice coefficient of the character bigrams of the normalised
//! title and description. Bigrams suit Chinese, which has no spaces between words: most
//! two-character words are one bigram, and rewording keeps most of them, while an edit distance
//! (normalised Levenshtein) punishes a reordered sentence as much as a different one. It is
//! computed here in a few lines: `strsim::sorensen_dice` divides by the strings' lengths in
//! bytes, so for Chinese (three bytes a character) it gives about a third of the coefficient.
//! The thresholds were chosen on the labelled set in `tests/data/similar_requests.toml` (see
//! `tests/similar_groups.rs`).

/// What the rule reads of a request.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub phone: &'a str,
    pub town: &'a str,
    pub category: &'a str,
    pub title: &'a str,
    pub description: &'a str,
}

/// Same town and category: at least this similar.
pub const TOWN_THRESHOLD: f64 = 0.4;

/// Same phone, another category: at least this similar.
pub const PHONE_THRESHOLD: f64 = 0.3;

/// Phone numbers shorter than this (in digits) are not told apart reliably ("110", "0").
const MIN_PHONE_DIGITS: usize = 7;

/// Words that carry no request: greetings and politeness a caller adds or leaves out.
const FILLER: [&str; 14] = [
    "你好",
    "您好",
    "请问",
    "想问一下",
    "问一下",
    "我想问",
    "麻烦",
    "帮忙",
    "谢谢",
    "一下",
    "能不能",
    "可不可以",
    "是否",
    "怎么办",
];

/// The phone's digits, without spaces, dashes or a leading country code sign.
pub fn phone_digits(phone: &str) -> String {
    phone.chars().filter(char::is_ascii_digit).collect()
}

/// Letters and digits only (Chinese characters are letters), full-width forms folded, Latin
/// lower-cased, filler words dropped.
pub fn normalise(text: &str) -> String {
    let folded: String = text
        .chars()
        .map(|c| match c {
            // Full-width ASCII forms (ＡＢＣ１２３) to ASCII.
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    FILLER
        .iter()
        .fold(folded, |text, filler| text.replace(filler, ""))
}

/// How alike two requests read, from 0 (nothing in common) to 1.
pub fn similarity(a: &Request<'_>, b: &Request<'_>) -> f64 {
    Bigrams::of(a.title, a.description).dice(&Bigrams::of(b.title, b.description))
}

/// The Sørensen–Dice coefficient of the two texts' character bigrams (as multisets).
#[cfg(test)]
fn dice(a: &str, b: &str) -> f64 {
    Bigrams::of_normalised(a).dice(&Bigrams::of_normalised(b))
}

/// A text's character bigrams as a sorted multiset, computed once: comparing two is a merge
/// of two short sorted arrays, without allocating.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bigrams {
    /// Each bigram as its two characters packed in one integer, sorted.
    pairs: Box<[u64]>,
    /// A text too short for a bigram (empty or one character) is compared whole.
    short: Option<char>,
}

impl Bigrams {
    /// The bigrams of a request's normalised title and description.
    pub fn of(title: &str, description: &str) -> Bigrams {
        Bigrams::of_normalised(&normalise(&format!("{title}{description}")))
    }

    fn of_normalised(text: &str) -> Bigrams {
        let chars: Vec<char> = text.chars().collect();
        let mut pairs: Vec<u64> = chars
            .windows(2)
            .map(|w| (u64::from(w[0]) << 32) | u64::from(w[1]))
            .collect();
        pairs.sort_unstable();
        Bigrams {
            pairs: pairs.into_boxed_slice(),
            short: chars.first().copied().filter(|_| chars.len() < 2),
        }
    }

    /// The Sørensen–Dice coefficient of the two multisets.
    pub fn dice(&self, other: &Bigrams) -> f64 {
        let (a, b) = (&self.pairs, &other.pairs);
        let total = a.len() + b.len();
        if total == 0 {
            return if self.short == other.short { 1.0 } else { 0.0 };
        }
        let (mut i, mut j, mut common) = (0, 0, 0usize);
        while i < a.len() && j < b.len() {
            match a[i].cmp(&b[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    common += 1;
                    i += 1;
                    j += 1;
                }
            }
        }
        2.0 * common as f64 / total as f64
    }
}

/// What the rule reads of a request, prepared once: the phone's digits, the trimmed town, the
/// category and the text's bigrams. Kept in memory for the open untriaged cases, so that a new
/// case is compared with them without reading or normalising their text again.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    pub phone_digits: String,
    pub town: String,
    pub category: String,
    pub bigrams: Bigrams,
}

impl Prepared {
    pub fn of(r: &Request<'_>) -> Prepared {
        Prepared {
            phone_digits: phone_digits(r.phone),
            town: r.town.trim().to_string(),
            category: r.category.to_string(),
            bigrams: Bigrams::of(r.title, r.description),
        }
    }
}

/// The same phone number (enough digits to tell callers apart).
pub fn same_phone(a: &Request<'_>, b: &Request<'_>) -> bool {
    let (pa, pb) = (phone_digits(a.phone), phone_digits(b.phone));
    pa.len() >= MIN_PHONE_DIGITS && pa == pb
}

/// Whether `a` and `b` are the same request (see the module's rule), with the similarity that
/// decided it, so a caller choosing among several matches can take the closest.
pub fn score(a: &Request<'_>, b: &Request<'_>) -> Option<f64> {
    score_prepared(&Prepared::of(a), &Prepared::of(b))
}

/// [`score`] of two prepared requests.
pub fn score_prepared(a: &Prepared, b: &Prepared) -> Option<f64> {
    let sim = a.bigrams.dice(&b.bigrams);
    let same_category = a.category == b.category;
    let same_phone = a.phone_digits.len() >= MIN_PHONE_DIGITS && a.phone_digits == b.phone_digits;
    let by_phone = same_phone && (same_category || sim >= PHONE_THRESHOLD);
    let by_town = a.town == b.town && same_category && sim >= TOWN_THRESHOLD;
    (by_phone || by_town).then_some(sim)
}

/// Whether `a` and `b` are the same request.
pub fn same_request(a: &Request<'_>, b: &Request<'_>) -> bool {
    score(a, b).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req<'a>(phone: &'a str, town: &'a str, category: &'a str, title: &'a str) -> Request<'a> {
        Request {
            phone,
            town,
            category,
            title,
            description: "",
        }
    }

    #[test]
    fn dice_counts_characters_not_bytes() {
        // 出村 村通 通行 行证 shared; 证怎 怎么 么办 办理 and 证在 在哪 哪里 里办 办理 not all.
        let d = dice("出村通行证怎么办理", "出村通行证在哪里办理");
        assert!((d - 10.0 / 17.0).abs() < 1e-9, "{d}");
        assert_eq!(dice("解封", "解封"), 1.0);
        assert_eq!(dice("", "封"), 0.0);
    }

    #[test]
    fn normalising_drops_punctuation_filler_and_width() {
        assert_eq!(normalise("你好，请问透析车 ＡＢ１２！"), "透析车ab12");
        assert_eq!(phone_digits("+86 138-0000 0000"), "8613800000000");
    }

    #[test]
    fn the_same_caller_about_the_same_need_is_one_request() {
        let a = req(
            "13800000001",
            "马金镇",
            "medical_transport",
            "透析病人需要转运",
        );
        let b = req(
            "138 0000 0001",
            "华埠镇",
            "medical_transport",
            "老父亲要去医院血透",
        );
        assert!(same_request(&a, &b));
    }

    #[test]
    fn the_same_caller_about_another_need_is_another_request() {
        let a = req(
            "13800000001",
            "马金镇",
            "medical_transport",
            "透析病人需要转运",
        );
        let b = req("13800000001", "马金镇", "supplies", "家里大米吃完了");
        assert!(!same_request(&a, &b));
    }

    #[test]
    fn a_reworded_request_from_the_same_town_is_the_same() {
        let a = req(
            "13800000001",
            "马金镇",
            "travel_permit",
            "出村通行证怎么办理",
        );
        let b = req(
            "13900000002",
            "马金镇",
            "travel_permit",
            "请问出村通行证在哪里办理",
        );
        assert!(same_request(&a, &b));
    }

    #[test]
    fn the_same_words_in_another_town_are_another_request() {
        let a = req(
            "13800000001",
            "马金镇",
            "travel_permit",
            "出村通行证怎么办理",
        );
        let b = req(
            "13900000002",
            "华埠镇",
            "travel_permit",
            "出村通行证怎么办理",
        );
        assert!(!same_request(&a, &b));
    }

    #[test]
    fn short_phone_numbers_do_not_group() {
        let a = req("110", "马金镇", "other", "有人打架");
        let b = req("110", "华埠镇", "other", "路灯坏了");
        assert!(!same_phone(&a, &b));
    }
}
