//! Pinyin keys for type-to-filter pickers (departments, categories, towns): lower-case initials
//! and full pinyin of a name, so `wjj` or `weijian` finds 卫健局 and `mj` finds 马金镇.

use pinyin::ToPinyin;

/// (initials, full pinyin) of `name`; characters without pinyin are kept, lower-cased.
pub fn keys(name: &str) -> (String, String) {
    let mut initials = String::new();
    let mut full = String::new();
    for (c, p) in name.chars().zip(name.to_pinyin()) {
        match p {
            Some(p) => {
                initials.push_str(p.first_letter());
                full.push_str(p.plain());
            }
            None => {
                let c = c.to_ascii_lowercase();
                initials.push(c);
                full.push(c);
            }
        }
    }
    (initials, full)
}

/// Whether a lower-cased query finds `name`: in the name itself, or at the start of its
/// initials or full pinyin (short queries stay precise).
pub fn matches(name: &str, keys: &(String, String), q: &str) -> bool {
    name.to_lowercase().contains(q) || keys.0.starts_with(q) || keys.1.starts_with(q)
}
