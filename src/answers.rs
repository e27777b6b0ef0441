//! Placeholders in the desk's library answers. One filling rule shared by the console (which
//! shows an operator the text a requester will read) and the server (which fills one template
//! for every case of a group), so the two never word a reply differently.

use crate::wire::Case;

/// The placeholders a library answer may use, each filled from the case it answers.
pub const PLACEHOLDERS: [&str; 3] = ["{requester}", "{town}", "{ref}"];

/// The template with every known placeholder replaced by the case's own value. Text in braces
/// that is not a placeholder stays as it is.
pub fn fill(template: &str, case: &Case) -> String {
    template
        .replace("{requester}", &case.requester.name)
        .replace("{town}", &case.location.town)
        .replace("{ref}", &case.reference)
}

/// The first `{name}` in the template that is not a known placeholder, so that a typo such as
/// `{requestor}` is refused when the answer is saved rather than sent to a citizen.
pub fn unknown_placeholder(template: &str) -> Option<&str> {
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let tail = &rest[start..];
        let end = tail.find('}')?;
        let candidate = &tail[..=end];
        let name = &candidate[1..candidate.len() - 1];
        let looks_like_placeholder =
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if looks_like_placeholder && !PLACEHOLDERS.contains(&candidate) {
            return Some(candidate);
        }
        rest = &tail[1..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::fixtures;
    use crate::wire::Status;

    #[test]
    fn every_placeholder_is_filled_from_the_case() {
        let mut case = fixtures::case(7, None, Status::New, 3600, "透析出行", "华埠镇", None, None);
        case.requester.name = "王阿姨".into();
        case.reference = "JY-20261201-0007".into();
        assert_eq!(
            fill(
                "{requester}您好：{town}的透析车已安排（{ref}）。{requester}请保持电话畅通。",
                &case
            ),
            "王阿姨您好：华埠镇的透析车已安排（JY-20261201-0007）。王阿姨请保持电话畅通。"
        );
    }

    #[test]
    fn a_typo_in_a_placeholder_is_found_and_prose_in_braces_is_not() {
        assert_eq!(unknown_placeholder("{requester}您好，{town}卫生院"), None);
        assert_eq!(unknown_placeholder("{requestor}您好"), Some("{requestor}"));
        assert_eq!(unknown_placeholder("请带上证件{身份证、医保卡}"), None);
        assert_eq!(unknown_placeholder("unclosed {town"), None);
    }
}
