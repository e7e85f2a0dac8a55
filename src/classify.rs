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
    let words = normalise(text);
    let has = |list: &[String]| {
        list.iter().any(|k| {
            let k = normalise(k);
            !k.is_empty() && contains_phrase(&words, &k)
        })
    };
    let k = &cfg.complexity;
    if has(&k.very_complex) {
        VERY_COMPLEX
    } else if has(&k.complex) {
        COMPLEX
    } else if has(&k.medium) {
        MEDIUM
    } else if has(&k.simple) {
        SIMPLE
    } else {
        DEFAULT_COMPLEXITY
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
