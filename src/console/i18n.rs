//! Every UI string, in English and Simplified Chinese, from `assets/i18n/*.toml` (embedded).

use std::collections::HashMap;

const EN: &str = include_str!("../../assets/i18n/en.toml");
const ZH_CN: &str = include_str!("../../assets/i18n/zh-CN.toml");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    ZhCn,
}

impl Lang {
    /// `en`, `zh-CN` (also `zh`, `zh_CN`, `zh-Hans`, case-insensitive).
    pub fn parse(s: &str) -> Option<Lang> {
        let s = s.trim().to_ascii_lowercase().replace('_', "-");
        if s == "en" || s.starts_with("en-") {
            Some(Lang::En)
        } else if s == "zh" || s.starts_with("zh-") {
            Some(Lang::ZhCn)
        } else {
            None
        }
    }

    /// From locale variables as POSIX orders them: `LC_ALL`, then `LC_MESSAGES`, then `LANG`.
    pub fn from_locale(
        lc_all: Option<&str>,
        lc_messages: Option<&str>,
        lang: Option<&str>,
    ) -> Lang {
        let locale = [lc_all, lc_messages, lang]
            .into_iter()
            .flatten()
            .find(|v| !v.is_empty())
            .unwrap_or("");
        if locale.to_ascii_lowercase().starts_with("zh") {
            Lang::ZhCn
        } else {
            Lang::En
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::ZhCn => "zh-CN",
        }
    }
}

/// Looked-up UI text. Missing keys fall back to English, then to `?`: a gap never crashes (tests keep both files
/// equal and check that every key named in the code exists).
#[derive(Debug, Clone)]
pub struct I18n {
    pub lang: Lang,
    strings: HashMap<String, String>,
    fallback: HashMap<String, String>,
}

/// The files are embedded and tested (see below); a broken one is a build defect.
fn parse(src: &str) -> HashMap<String, String> {
    toml_table::parse(src)
}

/// Flat `key = "text"` tables (dotted keys allowed), read with figment's TOML parser.
mod toml_table {
    use std::collections::HashMap;

    pub type Table = HashMap<String, String>;

    pub fn parse(src: &str) -> Table {
        use figment::providers::{Format, Toml};
        let value: figment::value::Dict = figment::Figment::from(Toml::string(src))
            .extract()
            .unwrap_or_default();
        let mut out = HashMap::new();
        flatten("", &figment::value::Value::from(value), &mut out);
        out
    }

    fn flatten(prefix: &str, v: &figment::value::Value, out: &mut Table) {
        match v {
            figment::value::Value::Dict(_, d) => {
                for (k, v) in d {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    flatten(&key, v, out);
                }
            }
            figment::value::Value::String(_, s) => {
                out.insert(prefix.to_string(), s.clone());
            }
            _ => {}
        }
    }
}

impl I18n {
    pub fn new(lang: Lang) -> I18n {
        let fallback = parse(EN);
        let strings = match lang {
            Lang::En => fallback.clone(),
            Lang::ZhCn => parse(ZH_CN),
        };
        I18n {
            lang,
            strings,
            fallback,
        }
    }

    /// A missing key shows as `?` (a test checks every key the code names exists).
    pub fn t(&self, key: &str) -> &str {
        self.strings
            .get(key)
            .or_else(|| self.fallback.get(key))
            .map(String::as_str)
            .unwrap_or("?")
    }

    /// For names the server may grow (event actions): unknown ones show as they are.
    pub fn t_or<'a>(&'a self, key: &str, fallback: &'a str) -> &'a str {
        self.strings
            .get(key)
            .or_else(|| self.fallback.get(key))
            .map(String::as_str)
            .unwrap_or(fallback)
    }

    /// `t` with `{name}` placeholders filled in.
    pub fn f(&self, key: &str, args: &[(&str, &str)]) -> String {
        let mut s = self.t(key).to_string();
        for (name, value) in args {
            s = s.replace(&format!("{{{name}}}"), value);
        }
        s
    }

    /// A short duration in the UI's units: `45s`, `3m10s`, `2h05m`; `42分13秒` in Chinese.
    pub fn duration(&self, seconds: i64) -> String {
        let s = seconds.unsigned_abs();
        let two = |n: u64| format!("{n:02}");
        if s < 60 {
            self.f("duration.s", &[("s", &s.to_string())])
        } else if s < 3600 {
            self.f(
                "duration.ms",
                &[("m", &(s / 60).to_string()), ("s", &two(s % 60))],
            )
        } else {
            self.f(
                "duration.hm",
                &[("h", &(s / 3600).to_string()), ("m", &two((s / 60) % 60))],
            )
        }
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.strings.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn both_languages_have_exactly_the_same_keys() {
        let en: BTreeSet<_> = parse(EN).into_keys().collect();
        let zh: BTreeSet<_> = parse(ZH_CN).into_keys().collect();
        assert!(en.len() > 50, "en.toml did not parse: {} keys", en.len());
        let only_en: Vec<_> = en.difference(&zh).collect();
        let only_zh: Vec<_> = zh.difference(&en).collect();
        assert!(
            only_en.is_empty() && only_zh.is_empty(),
            "only in en: {only_en:?}; only in zh-CN: {only_zh:?}"
        );
    }

    /// Every literal key the console names (`"hint.quit"`, `t("msg.done")`…) exists.
    #[test]
    fn every_key_named_in_the_code_exists() {
        let en = parse(EN);
        let namespaces: BTreeSet<&str> = en.keys().filter_map(|k| k.split('.').next()).collect();
        let mut missing = Vec::new();
        let mut stack = vec![std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src/console"
        ))];
        let mut seen = 0;
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                if path.extension().is_none_or(|e| e != "rs") {
                    continue;
                }
                let src = std::fs::read_to_string(&path).unwrap();
                for literal in src.split('"').skip(1).step_by(2) {
                    let is_key = literal.contains('.')
                        && literal.chars().all(|c| {
                            c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c)
                        })
                        && literal
                            .split('.')
                            .next()
                            .is_some_and(|ns| namespaces.contains(ns));
                    if is_key {
                        seen += 1;
                        if !en.contains_key(literal) {
                            missing.push(format!("{}: {literal}", path.display()));
                        }
                    }
                }
            }
        }
        assert!(seen > 50, "found only {seen} keys in the sources");
        assert!(missing.is_empty(), "{missing:#?}");
    }

    #[test]
    fn placeholders_are_filled() {
        let en = I18n::new(Lang::En);
        assert_eq!(en.f("conn.stale", &[("age", "35s")]), "stale 35s");
        let zh = I18n::new(Lang::ZhCn);
        assert_eq!(zh.t("view.queue"), "队列");
        assert_eq!(zh.t("no.such.key"), "?");
    }

    #[test]
    fn language_from_locale() {
        assert_eq!(
            Lang::from_locale(None, None, Some("zh_CN.UTF-8")),
            Lang::ZhCn
        );
        assert_eq!(
            Lang::from_locale(Some("C"), None, Some("zh_CN.UTF-8")),
            Lang::En
        );
        assert_eq!(Lang::from_locale(None, None, None), Lang::En);
        assert_eq!(Lang::parse("zh-CN"), Some(Lang::ZhCn));
        assert_eq!(Lang::parse("fr"), None);
    }
}
