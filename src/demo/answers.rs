//! The demo's policy answer library (`assets/demo/answers.toml`), seeded with the desk, and
//! the simulated operators' choice of an answer for a blue case.

use anyhow::Context;
use chrono::{DateTime, Utc};
use figment::Figment;
use figment::providers::{Format, Toml};
use rand::Rng;
use serde::Deserialize;

use crate::domain::Actor;
use crate::server::Store;
use crate::wire::{Answer, AnswerBody, AnswerRef, Case, NewAnswer, Role};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LibraryFile {
    answers: Vec<NewAnswer>,
}

/// The demo's answers, as written in the asset.
pub fn library() -> anyhow::Result<Vec<NewAnswer>> {
    let file: LibraryFile =
        Figment::from(Toml::string(include_str!("../../assets/demo/answers.toml")))
            .extract()
            .context("assets/demo/answers.toml")?;
    Ok(file.answers)
}

/// Writes the library as the desk's supervisor wrote it a week before `now`.
pub async fn seed_library(store: &Store, now: DateTime<Utc>) -> anyhow::Result<()> {
    let supervisor = Actor {
        name: "demo-library".into(),
        role: Role::Supervisor,
        department_id: None,
    };
    for new in library()? {
        store
            .create_answer(&new, &supervisor, now - chrono::Duration::days(7))
            .await
            .with_context(|| format!("adding answer {}", new.title))?;
    }
    Ok(())
}

/// Share of online answers a simulated operator writes from the library when one fits.
const LIBRARY_SHARE: f64 = 0.7;

/// An online answer from the library for `case` (an answer of its category, preferring one
/// whose tag is in the case's title), filled from the case; `None` most of the time when
/// nothing fits, or when the operator writes freehand.
pub fn body_for(library: &[Answer], case: &Case, rng: &mut impl Rng) -> Option<AnswerBody> {
    let fits: Vec<&Answer> = library
        .iter()
        .filter(|a| a.category.as_deref() == Some(case.category.as_str()))
        .collect();
    let best = fits
        .iter()
        .find(|a| a.tags.iter().any(|t| case.title.contains(t.as_str())))
        .or(fits.first())?;
    if !rng.random_bool(LIBRARY_SHARE) {
        return None;
    }
    Some(AnswerBody {
        text: crate::answers::fill(&best.body, case),
        answer: Some(AnswerRef {
            id: best.id,
            version: best.version,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text_rules::{TextRule, check};
    use crate::wire::{MAX_ANSWER_TITLE_CHARS, MAX_TAG_CHARS, MAX_TAGS, MAX_TEXT_CHARS};

    #[test]
    fn every_demo_answer_is_one_the_server_accepts() {
        let library = library().expect("the asset parses");
        assert!(library.len() >= 15, "{}", library.len());
        let catalog = crate::catalog::Catalog::kaihua();
        for a in &library {
            check(&a.title, TextRule::name(MAX_ANSWER_TITLE_CHARS)).expect(&a.title);
            check(&a.body, TextRule::statement(MAX_TEXT_CHARS)).expect(&a.title);
            assert_eq!(
                crate::answers::unknown_placeholder(&a.body),
                None,
                "{}",
                a.title
            );
            assert!(a.tags.len() <= MAX_TAGS);
            for t in &a.tags {
                check(t, TextRule::name(MAX_TAG_CHARS)).expect(t);
            }
            let category = a.category.as_deref().expect("a category");
            assert!(catalog.category(category).is_some(), "{category}");
        }
    }

    #[test]
    fn a_simulated_operator_often_answers_from_the_library_with_the_fitting_answer() {
        use rand::SeedableRng;
        let at = chrono::Utc::now().fixed_offset();
        let answer = |id: i64, title: &str, category: &str, tags: &[&str], body: &str| Answer {
            id,
            version: 2,
            title: title.into(),
            body: body.into(),
            category: Some(category.into()),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            valid_from: None,
            valid_until: None,
            retired_at: None,
            updated_at: at,
            updated_by: "sup".into(),
            uses: 0,
        };
        let library = vec![
            answer(1, "慢病续药", "medicine", &["续药"], "{town}卫生院可续药。"),
            answer(
                2,
                "送药药店",
                "medicine",
                &["药店"],
                "{requester}您好：{town}药店可送药。",
            ),
            answer(3, "奶粉", "supplies", &["奶粉"], "供销社有奶粉。"),
        ];
        let mut case = crate::console::fixtures::case(
            9,
            Some(crate::wire::Tier::Blue),
            crate::wire::Status::Triaged,
            3600,
            "找不到开门的药店",
            "华埠镇",
            None,
            None,
        );
        case.category = "medicine".into();
        let bodies: Vec<Option<AnswerBody>> = (0..40)
            .map(|seed| {
                body_for(
                    &library,
                    &case,
                    &mut rand::rngs::StdRng::seed_from_u64(seed),
                )
            })
            .collect();
        let from_library: Vec<&AnswerBody> = bodies.iter().flatten().collect();
        assert!(
            from_library.len() > 10 && from_library.len() < 40,
            "{}",
            from_library.len()
        );
        for b in from_library {
            assert_eq!(b.answer, Some(AnswerRef { id: 2, version: 2 }));
            assert_eq!(b.text, "葛先生您好：华埠镇药店可送药。");
        }
        case.category = "complaint".into();
        assert_eq!(
            body_for(&library, &case, &mut rand::rngs::StdRng::seed_from_u64(1)),
            None
        );
    }
}
