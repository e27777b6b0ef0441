//! The desk's catalog: the request categories and the towns a case may name. The server holds
//! it in its config (`[catalog]`, with the Kaihua desk's lists as defaults, read from the demo
//! data so the two never disagree), serves it at `GET /api/v1/categories` and `/towns`, and
//! refuses a new case naming anything else; the console offers it in pickers.

use figment::Figment;
use figment::providers::{Format, Toml};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A request category: the code on the wire and its labels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CategoryInfo {
    /// As in a case's `category`, e.g. `medical_transport`.
    pub code: String,
    /// 中文, e.g. 就医转运.
    pub label: String,
    /// English, e.g. Medical transport.
    #[serde(default)]
    pub label_en: String,
}

/// A town (township, street office) of the desk's area.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TownInfo {
    /// As in a case's `location.town`. Cases have always carried the town's registered name
    /// there, so the code is that name.
    pub code: String,
    /// 中文, e.g. 马金镇.
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    pub categories: Vec<CategoryInfo>,
    pub towns: Vec<TownInfo>,
}

impl Default for Catalog {
    fn default() -> Self {
        Catalog::kaihua()
    }
}

/// The demo data (also read by `demo::data`); only its towns and categories are used here.
const KAIHUA_TOML: &str = include_str!("../assets/demo/kaihua.toml");

/// The parts of the demo data the catalog is made of; everything else there is ignored.
#[derive(Deserialize)]
struct DemoLists {
    categories: Vec<CategoryInfo>,
    towns: Vec<DemoTown>,
}

#[derive(Deserialize)]
struct DemoTown {
    name: String,
}

impl Catalog {
    /// Kaihua county's categories and towns, from the embedded demo data.
    pub fn kaihua() -> Catalog {
        let lists: Result<DemoLists, _> = Figment::from(Toml::string(KAIHUA_TOML)).extract();
        // The demo data is embedded and validated by its own tests; an empty catalog here would
        // only make the server refuse every case, which `validate` reports at start-up.
        let Ok(lists) = lists else {
            return Catalog {
                categories: vec![],
                towns: vec![],
            };
        };
        Catalog {
            categories: lists.categories,
            towns: lists
                .towns
                .into_iter()
                .map(|t| TownInfo {
                    code: t.name.clone(),
                    label: t.name,
                })
                .collect(),
        }
    }

    pub fn category(&self, code: &str) -> Option<&CategoryInfo> {
        self.categories.iter().find(|c| c.code == code)
    }

    pub fn town(&self, code: &str) -> Option<&TownInfo> {
        self.towns.iter().find(|t| t.code == code)
    }

    /// Start-up check of a configured catalog.
    pub fn validate(&self) -> Result<(), String> {
        if self.categories.is_empty() || self.towns.is_empty() {
            return Err("catalog: needs at least one category and one town".into());
        }
        for c in &self.categories {
            let ok = !c.code.is_empty()
                && c.code.len() <= 64
                && c.code
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_');
            if !ok {
                return Err(format!(
                    "catalog.categories: code {:?} must be 1 to 64 characters of a-z, 0-9 and _",
                    c.code
                ));
            }
        }
        for t in &self.towns {
            if !(1..=50).contains(&t.code.trim().chars().count()) {
                return Err(format!(
                    "catalog.towns: code {:?} must be 1 to 50 characters",
                    t.code
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kaihua_catalog_is_the_demo_data() {
        let c = Catalog::kaihua();
        assert_eq!(c.validate(), Ok(()));
        assert_eq!(c.categories.len(), crate::demo::data::CATEGORY_CODES.len());
        for code in crate::demo::data::CATEGORY_CODES {
            assert!(c.category(code).is_some_and(|c| !c.label_en.is_empty()));
        }
        assert_eq!(c.category("medical_transport").unwrap().label, "就医转运");
        assert_eq!(c.towns.len(), 15);
        assert!(c.town("马金镇").is_some());
    }
}
