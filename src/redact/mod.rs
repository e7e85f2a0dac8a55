//! Secret redaction, applied to everything the tool writes: events, quarantined bytes, the spool
//! and the hook log.
//!
//! Works on raw text (usually JSON, often JSON inside a JSON string): a secret's byte range is
//! replaced by [`REDACTED`] and nothing around it changes, so quotes and backslashes survive and
//! valid JSON stays valid JSON. Every rule (one per kind of secret, in rules.rs) has a cheap
//! trigger — a substring or a hand-written scan — and its regex is compiled and run only when
//! the trigger fires: a payload without a secret costs one lower-cased copy and a few substring
//! searches, which keeps the hook hot path fast. Rules are matched against the original text,
//! never against each other's output, and redacting twice changes nothing.
//!
//! Bytes that are not UTF-8 are redacted too ([`redact_bytes`]): each invalid byte is matched as
//! a neutral stand-in character, and the secrets found are cut out of the original bytes.

mod rules;
#[cfg(test)]
mod tests;

use regex::Captures;
use std::borrow::Cow;
use std::ops::Range;

/// The marker that replaces a secret.
pub const REDACTED: &str = "[REDACTED]";

/// Stands in for each byte that is not UTF-8 while matching: not whitespace, not a word
/// character, not a quote, so it ends a key but not an assignment's value.
const STAND_IN: char = '\u{1A}';

/// Returns `text` with secrets replaced by [`REDACTED`]; borrows when nothing matched.
pub fn redact(text: &str) -> Cow<'_, str> {
    let found = find(text);
    if found.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for r in &found {
        out.push_str(&text[at..r.start]);
        out.push_str(REDACTED);
        at = r.end;
    }
    out.push_str(&text[at..]);
    Cow::Owned(out)
}

/// [`redact`] for bytes that may not be UTF-8 (quarantined payloads): the invalid bytes are kept
/// as they are, the secrets around them are not.
pub fn redact_bytes(bytes: &[u8]) -> Cow<'_, [u8]> {
    if let Ok(text) = std::str::from_utf8(bytes) {
        return match redact(text) {
            Cow::Borrowed(_) => Cow::Borrowed(bytes),
            Cow::Owned(s) => Cow::Owned(s.into_bytes()),
        };
    }
    // Same length as `bytes`, so every offset found in it is an offset into `bytes`.
    let mut stand_in = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        stand_in.push_str(chunk.valid());
        stand_in.extend(std::iter::repeat_n(STAND_IN, chunk.invalid().len()));
    }
    let found = find(&stand_in);
    if found.is_empty() {
        return Cow::Borrowed(bytes);
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    for r in &found {
        out.extend_from_slice(&bytes[at..r.start]);
        out.extend_from_slice(REDACTED.as_bytes());
        at = r.end;
    }
    out.extend_from_slice(&bytes[at..]);
    Cow::Owned(out)
}

/// The kinds of secret redacted, in the words docs/events.md uses.
pub fn kinds() -> impl Iterator<Item = &'static str> {
    rules::RULES.iter().map(|r| r.kind)
}

/// The byte ranges to replace, sorted and merged (two rules may find the same secret).
fn find(text: &str) -> Vec<Range<usize>> {
    let scan = Scan::new(text);
    let mut found = Vec::new();
    for rule in rules::RULES.iter() {
        if rule.trigger.fires(&scan) {
            rule.find(text, &mut found);
        }
    }
    found.sort_by_key(|r| (r.start, r.end));
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(found.len());
    for r in found {
        match merged.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => merged.push(r),
        }
    }
    merged
}

/// What the triggers look at: the text and one lower-cased copy of it.
struct Scan<'a> {
    text: &'a str,
    lower: String,
}

impl<'a> Scan<'a> {
    fn new(text: &'a str) -> Scan<'a> {
        Scan {
            text,
            lower: text.to_ascii_lowercase(),
        }
    }
}

/// When a rule's regex is worth running. Every trigger fires on a superset of what its regex
/// matches.
enum Trigger {
    /// One of these lower-case substrings occurs (case-insensitive).
    Contains(&'static [&'static str]),
    /// One of these case-sensitive prefixes starts a token (see [`token_start`]).
    TokenStart(&'static [&'static str]),
    /// A hand-written scan.
    Scan(fn(&Scan<'_>) -> bool),
}

impl Trigger {
    fn fires(&self, s: &Scan<'_>) -> bool {
        match self {
            Trigger::Contains(needles) => needles.iter().any(|n| s.lower.contains(n)),
            Trigger::TokenStart(prefixes) => prefixes
                .iter()
                .any(|p| occurrences(s.text, p).any(|i| token_start(s.text.as_bytes(), i))),
            Trigger::Scan(f) => f(s),
        }
    }
}

/// Rejects a match: called with the whole text, the match's groups and the secret found.
type Check = fn(&str, &Captures<'_>, &str) -> bool;

/// One kind of secret.
struct Rule {
    /// What it is, for the docs and the tests.
    kind: &'static str,
    trigger: Trigger,
    pattern: &'static str,
    /// Capture groups holding the secret: the first that took part in a match is replaced.
    /// Empty: the whole match.
    groups: &'static [usize],
    /// Rejects a match (a word that merely looks like a key, a JSON number after a key name).
    check: Option<Check>,
    regex: std::sync::OnceLock<regex::Regex>,
}

impl Rule {
    fn regex(&self) -> &regex::Regex {
        self.regex
            .get_or_init(|| regex::Regex::new(self.pattern).expect("static redaction pattern"))
    }

    fn find(&self, text: &str, found: &mut Vec<Range<usize>>) {
        let re = self.regex();
        let mut at = 0;
        while let Some(caps) = re.captures_at(text, at) {
            let whole = caps.get(0).expect("group 0");
            match self.secret(text, &caps) {
                Some(secret) => {
                    found.push(secret);
                    at = whole.end().max(whole.start() + 1);
                }
                // A rejected match must not hide one that starts inside it
                // (`password=Authorization: Authorization: Basic …`): look again one
                // character further.
                None => at = whole.start() + 1,
            }
            if at > text.len() {
                break;
            }
            while !text.is_char_boundary(at) {
                at += 1;
            }
        }
    }

    /// The range of the secret in a match, unless the match is rejected.
    fn secret(&self, text: &str, caps: &Captures<'_>) -> Option<Range<usize>> {
        let secret = if self.groups.is_empty() {
            caps.get(0)
        } else {
            self.groups.iter().find_map(|g| caps.get(*g))
        }?;
        // Already redacted (`password=[REDACTED]`, `user:[REDACTED]@host`): redacting twice
        // changes nothing.
        if secret.is_empty()
            || text[secret.start()..].starts_with(REDACTED)
            || secret.as_str().contains(REDACTED)
        {
            return None;
        }
        if self
            .check
            .is_some_and(|check| !check(text, caps, secret.as_str()))
        {
            return None;
        }
        Some(secret.range())
    }
}

/// Where `needle` occurs in `hay`. `str::contains` is vectorised and `match_indices` is not, and
/// most texts hold no needle at all: ask the first before walking the second.
fn occurrences<'h>(hay: &'h str, needle: &'h str) -> impl Iterator<Item = usize> + 'h {
    let any = hay.contains(needle);
    hay.match_indices(needle)
        .take(if any { usize::MAX } else { 0 })
        .map(|(i, _)| i)
}

/// Whether byte `i` of `hay` starts a token: not preceded by a word character, unless that
/// character ends a JSON escape (`\n`, `\t`, `\u0027`).
fn token_start(hay: &[u8], i: usize) -> bool {
    let Some(&prev) = i.checked_sub(1).and_then(|p| hay.get(p)) else {
        return true;
    };
    if !(prev.is_ascii_alphanumeric() || prev == b'_') {
        return true;
    }
    (i >= 2 && hay[i - 2] == b'\\' && b"nrtbf".contains(&prev))
        || (i >= 6 && hay[i - 6] == b'\\' && hay[i - 5] == b'u')
}

/// A token that looks generated rather than written: it has a digit, a capital after its first
/// character, or one of `+/=_~`. Keeps prose (`bearer instruments`) out of token rules.
fn looks_random(s: &str) -> bool {
    let s = s.trim_end_matches(['.', ',', ':', ';', '!', '?', ')']);
    s.bytes()
        .any(|b| b.is_ascii_digit() || b"+/=_~".contains(&b))
        || s.bytes().skip(1).any(|b| b.is_ascii_uppercase())
}
