//! Rules that turn names and task text into categories, domains and complexity scores.

use crate::config::{glob_match, Config, PatternRule};

/// Complexity levels of the keyword lists.
pub const SIMPLE: i64 = 2;
pub const MEDIUM: i64 = 5;
pub const COMPLEX: i64 = 8;
pub const VERY_COMPLEX: i64 = 10;
/// Score of a task that matches no keyword.
pub const DEFAULT_COMPLEXITY: i64 = MEDIUM;

/// The category of an agent type: the first matching pattern, else `general`.
pub fn category(cfg: &Config, agent_type: &str) -> String {
    first_match(&cfg.categories, agent_type).unwrap_or_else(|| "general".into())
}

/// The domain of an agent name (or task word): the first matching pattern, if any.
pub fn domain(cfg: &Config, name: &str) -> Option<String> {
    first_match(&cfg.domains, name)
}

fn first_match(rules: &[PatternRule], name: &str) -> Option<String> {
    rules
        .iter()
        .find(|r| glob_match(&r.pattern, name))
        .map(|r| r.value.clone())
}

/// The complexity score (1–10) of a task text: the highest keyword level that matches
/// (very complex 10, complex 8, medium 5, simple 2), or 5 when none matches.
/// Keywords match whole words (a multi-word keyword matches as a phrase), case-insensitively.
pub fn complexity(cfg: &Config, text: &str) -> i64 {
    Keywords::new(cfg).score(text)
}

/// The complexity keyword lists, normalised, highest level first.
struct Keywords {
    levels: Vec<(i64, Vec<Vec<String>>)>,
}

impl Keywords {
    fn new(cfg: &Config) -> Keywords {
        let k = &cfg.complexity;
        let list = |l: &[String]| {
            l.iter()
                .map(|k| normalise(k))
                .filter(|k| !k.is_empty())
                .collect()
        };
        Keywords {
            levels: vec![
                (VERY_COMPLEX, list(&k.very_complex)),
                (COMPLEX, list(&k.complex)),
                (MEDIUM, list(&k.medium)),
                (SIMPLE, list(&k.simple)),
            ],
        }
    }

    fn score(&self, text: &str) -> i64 {
        let words = normalise(text);
        self.levels
            .iter()
            .find(|(_, list)| list.iter().any(|k| contains_phrase(&words, k)))
            .map_or(DEFAULT_COMPLEXITY, |(level, _)| *level)
    }
}

/// [`category`] and [`complexity`] for many calls with one configuration (the derivation
/// classifies every run): the keyword lists normalised once, each agent type's category
/// matched once.
pub struct Classifier<'a> {
    cfg: &'a Config,
    keywords: Keywords,
    categories: std::cell::RefCell<std::collections::HashMap<String, String>>,
}

impl<'a> Classifier<'a> {
    pub fn new(cfg: &'a Config) -> Classifier<'a> {
        Classifier {
            cfg,
            keywords: Keywords::new(cfg),
            categories: Default::default(),
        }
    }

    /// [`category`].
    pub fn category(&self, agent_type: &str) -> String {
        if let Some(c) = self.categories.borrow().get(agent_type) {
            return c.clone();
        }
        let c = category(self.cfg, agent_type);
        let mut memo = self.categories.borrow_mut();
        if memo.len() >= 4096 {
            memo.clear(); // bounded whatever the number of agent types
        }
        memo.insert(agent_type.to_string(), c.clone());
        c
    }

    /// [`complexity`].
    pub fn complexity(&self, text: &str) -> i64 {
        self.keywords.score(text)
    }
}

fn normalise(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase())
        .collect()
}

fn contains_phrase(words: &[String], phrase: &[String]) -> bool {
    words.windows(phrase.len()).any(|w| w == phrase)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_classifier_gives_what_the_functions_give() {
        let mut cfg = Config::default();
        cfg.complexity.simple.push("  ".into()); // an empty keyword matches nothing
        let c = Classifier::new(&cfg);
        for text in [
            "Fix typo in header",
            "Migrate database schema",
            "end-to-end tests",
            "think about lunch",
            "",
        ] {
            assert_eq!(c.complexity(text), complexity(&cfg, text), "{text}");
        }
        for name in ["backend-architect", "security-auditor", "Explore", "x"] {
            assert_eq!(c.category(name), category(&cfg, name), "{name}");
            assert_eq!(c.category(name), category(&cfg, name), "{name}, memoised");
        }
    }

    #[test]
    fn highest_level_wins() {
        let cfg = Config::default();
        assert_eq!(complexity(&cfg, "Fix typo in header"), MEDIUM); // "fix" is medium, beats "typo"
        assert_eq!(complexity(&cfg, "typo in readme"), SIMPLE);
        assert_eq!(complexity(&cfg, "Refactor the auth module"), COMPLEX);
        assert_eq!(complexity(&cfg, "Migrate database schema"), VERY_COMPLEX);
        assert_eq!(complexity(&cfg, "think about lunch"), DEFAULT_COMPLEXITY);
        assert_eq!(complexity(&cfg, "end-to-end tests"), VERY_COMPLEX);
    }

    #[test]
    fn categories() {
        let cfg = Config::default();
        assert_eq!(category(&cfg, "code-reviewer"), "reviewer");
        assert_eq!(category(&cfg, "backend-architect"), "architect");
        assert_eq!(category(&cfg, "security-auditor"), "security");
        assert_eq!(category(&cfg, "frontend-developer"), "developer");
        assert_eq!(category(&cfg, "mystery"), "general");
    }
}
