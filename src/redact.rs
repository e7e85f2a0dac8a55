//! Secret redaction, applied to every payload before it is stored.
//!
//! Works on raw text (usually JSON): every replacement keeps the surrounding quotes and
//! backslashes, so valid JSON stays valid JSON. Regexes are compiled only when a cheap
//! substring pre-filter says a secret may be present, which keeps the hook hot path fast.

use regex::Regex;
use std::borrow::Cow;
use std::sync::OnceLock;

/// The marker that replaces a secret.
pub const REDACTED: &str = "[REDACTED]";

/// Lower-case substrings of which at least one occurs in any text a shaped secret matches.
/// (`sk-` is checked separately: it must start a word, `task-` is not a key.)
const SHAPED_TRIGGERS: &[&str] = &[
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "akia",
    "asia",
    "xox",
    "aiza",
    "eyj",
    "private key",
    "bearer",
];

/// Names whose `name = value` / `"name": "value"` pairs hold secrets (lower case).
const PAIR_NAMES: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "passphrase",
    "secret",
    "token",
    "api_key",
    "api-key",
    "apikey",
    "access_key",
    "access-key",
    "private_key",
    "private-key",
];

struct Rules {
    /// Secrets recognisable by their own shape: replaced whole.
    shaped: Vec<Regex>,
    /// `name = value` pairs whose value is replaced: groups 1 (name + separator) kept.
    pairs: Regex,
    /// `Authorization: Bearer x` / `Bearer x`: group 1 kept.
    bearer: Regex,
}

fn rules() -> &'static Rules {
    static RULES: OnceLock<Rules> = OnceLock::new();
    RULES.get_or_init(|| {
        let shaped = [
            r"\bsk-ant-[A-Za-z0-9_\-]{16,}",
            r"\bsk-(?:proj-|svcacct-)?[A-Za-z0-9_\-]{20,}",
            r"\bgh[pousr]_[A-Za-z0-9]{20,}",
            r"\bgithub_pat_[A-Za-z0-9_]{20,}",
            r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",
            r"\bxox[abposr]-[A-Za-z0-9\-]{10,}",
            r"\bAIza[0-9A-Za-z_\-]{30,}",
            r"\beyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----",
        ]
        .iter()
        .map(|p| Regex::new(p).expect("static redaction pattern"))
        .collect();
        let pairs = Regex::new(
            r#"(?i)(\b(?:password|passwd|pwd|passphrase|secret|client[_-]?secret|token|access[_-]?token|refresh[_-]?token|auth[_-]?token|api[_-]?key|apikey|access[_-]?key|secret[_-]?access[_-]?key|private[_-]?key)(?:\\?["'])?\s*[:=]\s*(?:\\?["'])?)([^\s"'\\,;&}\]]{3,})"#,
        )
        .expect("static pair pattern");
        let bearer = Regex::new(r"(?i)(\bbearer\s+)[A-Za-z0-9\-._~+/]{8,}=*").expect("static bearer pattern");
        Rules { shaped, pairs, bearer }
    })
}

/// Returns `text` with secrets replaced by [`REDACTED`]; borrows when nothing matched.
pub fn redact(text: &str) -> Cow<'_, str> {
    // Most payloads hold no secret: two cheap scans decide, so the regexes are compiled only
    // when a secret is plausible (compiling them costs more than the rest of a hook).
    let lower = text.to_ascii_lowercase();
    if !contains_any(&lower, SHAPED_TRIGGERS)
        && !has_word_prefix(&lower, "sk-")
        && !has_pair_candidate(&lower)
    {
        return Cow::Borrowed(text);
    }
    let r = rules();
    let mut out: Cow<'_, str> = Cow::Borrowed(text);
    for re in &r.shaped {
        if let Cow::Owned(s) = re.replace_all(&out, REDACTED) {
            out = Cow::Owned(s);
        }
    }
    if let Cow::Owned(s) = r
        .bearer
        .replace_all(&out, format!("${{1}}{REDACTED}").as_str())
    {
        out = Cow::Owned(s);
    }
    if let Cow::Owned(s) = r
        .pairs
        .replace_all(&out, format!("${{1}}{REDACTED}").as_str())
    {
        out = Cow::Owned(s);
    }
    out
}

/// Whether `lower` (lower-cased text) contains any of `needles` (lower case). `str::contains`
/// uses a two-way search: many times faster than comparing every window.
fn contains_any(lower: &str, needles: &[&str]) -> bool {
    needles.iter().any(|n| lower.contains(n))
}

/// `prefix` at the start of a word (not preceded by a letter, digit or `_`).
fn has_word_prefix(lower: &str, prefix: &str) -> bool {
    let hay = lower.as_bytes();
    lower
        .match_indices(prefix)
        .any(|(i, _)| i == 0 || !(hay[i - 1].is_ascii_alphanumeric() || hay[i - 1] == b'_'))
}

/// A secret name followed (after optional quotes, backslashes, spaces) by `:` or `=`.
/// `input_tokens": 5` is not a candidate (`s` follows `token`), `"password": "x"` is.
fn has_pair_candidate(lower: &str) -> bool {
    let hay = lower.as_bytes();
    PAIR_NAMES.iter().any(|name| {
        lower.match_indices(name).any(|(i, _)| {
            let rest = &hay[i + name.len()..];
            let skip = rest
                .iter()
                .take_while(|b| matches!(b, b'"' | b'\\' | b'\'' | b' ' | b'\t'))
                .count();
            matches!(rest.get(skip), Some(b':' | b'='))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_known_key_shapes() {
        let cases = [
            (
                "use sk-ant-api03-AbCdEfGhIjKlMnOpQrStUv now",
                "use [REDACTED] now",
            ),
            (
                "key sk-proj-abcdefghijklmnopqrstuvwxyz123",
                "key [REDACTED]",
            ),
            ("ghp_abcdefghijklmnopqrstuvwxyz0123456789", "[REDACTED]"),
            ("aws AKIAIOSFODNN7EXAMPLE here", "aws [REDACTED] here"),
            (
                "Authorization: Bearer abc.def-ghi_jkl",
                "Authorization: Bearer [REDACTED]",
            ),
            ("password=hunter22 next", "password=[REDACTED] next"),
            ("PASSWORD: 'hunter22'", "PASSWORD: '[REDACTED]'"),
        ];
        for (input, want) in cases {
            assert_eq!(redact(input), want, "input {input}");
        }
    }

    #[test]
    fn keeps_json_valid_and_leaves_token_counts_alone() {
        let raw = r#"{"prompt":"deploy with \"api_key\": \"s3cr3tvalue\" and token=abcdef","usage":{"input_tokens":2000,"totalTokens":5}}"#;
        let out = redact(raw);
        let v: serde_json::Value = serde_json::from_str(&out).expect("still JSON");
        let p = v["prompt"].as_str().unwrap();
        assert!(!p.contains("s3cr3tvalue") && !p.contains("abcdef"), "{p}");
        assert_eq!(v["usage"]["input_tokens"], 2000);
        assert_eq!(v["usage"]["totalTokens"], 5);
    }

    #[test]
    fn borrows_when_clean() {
        assert!(matches!(redact("nothing to see"), Cow::Borrowed(_)));
        // Everyday hook payloads: no regex work at all.
        let payload = r#"{"permission_mode":"bypassPermissions","usage":{"input_tokens":2000,"output_tokens":400},"totalTokens":2400,"tool_input":{"description":"task-notification handler for the web-socket-reconnection-logic"}}"#;
        assert!(matches!(redact(payload), Cow::Borrowed(_)));
        let lower = payload.to_ascii_lowercase();
        assert!(
            !contains_any(&lower, SHAPED_TRIGGERS)
                && !has_word_prefix(&lower, "sk-")
                && !has_pair_candidate(&lower)
        );
    }

    #[test]
    fn long_hyphenated_words_are_not_keys() {
        let t = "see task-notification-handler-service-registry";
        assert_eq!(redact(t), t);
    }
}
