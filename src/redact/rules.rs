//! The kinds of secret redacted, one rule each: how to notice it cheaply, and its pattern.
//! docs/events.md ("Redaction") lists the same kinds for users; keep the two together.
//!
//! Key-shaped secrets (`ghp_…`, `sk_live_…`) are matched case-sensitively and replaced whole;
//! assignments (`password=…`, `"api_key": "…"`, `user:pass@host`) keep their name and delimiters
//! and lose the value. Stripe publishable keys (`pk_live_…`, `pk_test_…`) are meant to be
//! published in web pages and are kept.

use super::{looks_random, occurrences, token_start, Check, Rule, Scan, Trigger};
use regex::Captures;
use std::sync::OnceLock;

/// Where a token may start, as a non-capturing regex prefix (see [`token_start`]): the start of
/// the text, a character that is not a word character, or a JSON escape (`\n`, `\u0027`), so a
/// key right after an escaped newline is still a key.
macro_rules! start {
    () => {
        r"(?:^|[^A-Za-z0-9_]|\\[nrtbf]|\\u[0-9A-Fa-f]{4})"
    };
}

/// A token pattern: group 1, at the start of a token.
macro_rules! tok {
    ($p:literal) => {
        concat!(start!(), "(", $p, ")")
    };
}

const fn rule(
    kind: &'static str,
    trigger: Trigger,
    pattern: &'static str,
    groups: &'static [usize],
    check: Option<Check>,
) -> Rule {
    Rule {
        kind,
        trigger,
        pattern,
        groups,
        check,
        regex: OnceLock::new(),
    }
}

use Trigger::{Contains, Scan as Scanned, TokenStart};

/// Every rule; the order does not matter (all match the original text, results are merged).
pub(super) static RULES: [Rule; 26] = [
    // ── Keys recognisable by their own shape ────────────────────────────────────────────────
    rule(
        "Anthropic API key (sk-ant-…)",
        TokenStart(&["sk-"]),
        tok!(r"sk-ant-[A-Za-z0-9_\-]{16,}"),
        &[1],
        None,
    ),
    rule(
        "OpenAI API key (sk-…, sk-proj-…)",
        TokenStart(&["sk-"]),
        tok!(r"sk-[A-Za-z0-9_\-]{20,}"),
        &[1],
        Some(random),
    ),
    rule(
        "GitHub token (ghp_, gho_, ghu_, ghs_, ghr_, github_pat_)",
        TokenStart(&["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"]),
        tok!(r"gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}"),
        &[1],
        None,
    ),
    rule(
        "GitLab personal access token (glpat-…)",
        TokenStart(&["glpat-"]),
        tok!(r"glpat-[A-Za-z0-9_\-]{20,}"),
        &[1],
        None,
    ),
    rule(
        "AWS access key id (AKIA…, ASIA…)",
        TokenStart(&["AKIA", "ASIA"]),
        concat!(tok!(r"(?:AKIA|ASIA)[0-9A-Z]{16}"), r"\b"),
        &[1],
        None,
    ),
    rule(
        "Slack token (xox…-)",
        TokenStart(&["xox"]),
        tok!(r"xox[abposr]-[A-Za-z0-9\-]{10,}"),
        &[1],
        None,
    ),
    rule(
        "Slack and Discord webhook URLs (the secret path)",
        Contains(&["hooks.slack.com/services/", "/api/webhooks/"]),
        r"(?:hooks\.slack\.com/services/|discord(?:app)?\.com/api/webhooks/)([A-Za-z0-9_/\-]{8,})",
        &[1],
        None,
    ),
    rule(
        "Google API key (AIza…)",
        TokenStart(&["AIza"]),
        tok!(r"AIza[0-9A-Za-z_\-]{30,}"),
        &[1],
        None,
    ),
    rule(
        "Google OAuth access token (ya29.…) and client secret (GOCSPX-…)",
        TokenStart(&["ya29.", "GOCSPX-"]),
        tok!(r"ya29\.[0-9A-Za-z_\-]{20,}|GOCSPX-[0-9A-Za-z_\-]{20,}"),
        &[1],
        None,
    ),
    rule(
        "JSON Web Token (eyJ….eyJ….…)",
        TokenStart(&["eyJ"]),
        tok!(r"eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"),
        &[1],
        None,
    ),
    rule(
        "Stripe secret, restricted and webhook keys (sk_live_, sk_test_, rk_live_, rk_test_, whsec_)",
        TokenStart(&["sk_live_", "sk_test_", "rk_live_", "rk_test_", "whsec_"]),
        tok!(r"[sr]k_(?:live|test)_[A-Za-z0-9]{10,}|whsec_[A-Za-z0-9+/=]{20,}"),
        &[1],
        None,
    ),
    rule(
        "npm access token (npm_…)",
        TokenStart(&["npm_"]),
        tok!(r"npm_[A-Za-z0-9]{30,}"),
        &[1],
        None,
    ),
    rule(
        "PyPI API token (pypi-Ag…)",
        TokenStart(&["pypi-Ag"]),
        tok!(r"pypi-Ag[A-Za-z0-9_\-]{50,}"),
        &[1],
        None,
    ),
    rule(
        "Hugging Face token (hf_…)",
        TokenStart(&["hf_"]),
        tok!(r"hf_[A-Za-z0-9]{30,}"),
        &[1],
        Some(random),
    ),
    rule(
        "Twilio API key (SK + 32 hex digits)",
        Scanned(twilio_candidate),
        concat!(tok!(r"SK[0-9a-fA-F]{32}"), r"\b"),
        &[1],
        None,
    ),
    rule(
        "SendGrid API key (SG.….…)",
        TokenStart(&["SG."]),
        tok!(r"SG\.[A-Za-z0-9_\-]{16,32}\.[A-Za-z0-9_\-]{16,64}"),
        &[1],
        None,
    ),
    rule(
        "Azure AD client secret (…8Q~…)",
        Contains(&["q~"]),
        tok!(r"[A-Za-z0-9_~.\-]{3}[0-9]Q~[A-Za-z0-9_~.\-]{31,34}"),
        &[1],
        None,
    ),
    rule(
        "private keys of every PEM type (RSA, EC, DSA, OPENSSH, ENCRYPTED, PKCS#8, PGP PRIVATE KEY BLOCK), also inside JSON strings and cut off before their END line",
        Contains(&["private key"]),
        r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----(?:[^\x22]*?-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|(?:\\+[nrt]|[A-Za-z0-9+/=:,.()\r\n\-])*)",
        &[],
        None,
    ),
    // ── Credentials after a keyword ─────────────────────────────────────────────────────────
    rule(
        "Bearer tokens",
        Contains(&["bearer"]),
        concat!(start!(), r"(?i-u:bearer)\s+([A-Za-z0-9\-._~+/]{8,}=*)"),
        &[1],
        Some(random),
    ),
    rule(
        "Authorization and Proxy-Authorization header values (Basic, Bearer, token, SharedAccessSignature, …)",
        Contains(&["authorization"]),
        concat!(start!(), r#"(?i-u:(?:proxy-)?authorization)(?:\\*["'])?[ \t]*[:=][ \t]*(?:\\*["'])?((?i-u:basic|bearer|token|digest|negotiate|ntlm|oauth|apikey|api-key|key|sso-key|ssws|splunk|sharedaccesssignature|aws4-hmac-sha256)[ \t]+)?([^\s"'\\,;:}\]]{4,})"#),
        &[2],
        Some(header_value),
    ),
    rule(
        "Basic credentials outside a header (Basic + base64 of user:password)",
        Contains(&["basic"]),
        concat!(start!(), r"(?i-u:basic)[ \t]+([A-Za-z0-9+/]{6,}={0,2})"),
        &[1],
        Some(basic_credentials),
    ),
    rule(
        "Azure SAS signature (sig= in SAS URLs)",
        Contains(&["sig="]),
        r#"(?:^|[?&;\s]|\\[nrt]|\\u0026)(?i-u:sig)=([^\s&;,"'\\]{8,})"#,
        &[1],
        None,
    ),
    rule(
        "Azure SharedAccessSignature in connection strings",
        Contains(&["sharedaccesssignature"]),
        concat!(start!(), r#"(?i-u:sharedaccesssignature)(?:\\*["'])?[ \t]*[=: \t][ \t]*(?:\\*["'])?([^\s"'\\;,:}\]][^\s"'\\;,}\]]{3,})"#),
        &[1],
        None,
    ),
    rule(
        "passwords in URLs (scheme://user:password@host: postgres, mysql, mongodb+srv, redis, amqp, https, …)",
        Scanned(url_candidate),
        r#"(?-u:\b)[A-Za-z][A-Za-z0-9+.\-]*://[^\s:@/"'\\?#]*:([^\s/"'\\?#]+)@"#,
        &[1],
        None,
    ),
    rule(
        "values assigned to secret-named keys, in env, ini, YAML, JSON and JSON-in-JSON spelling (names listed below)",
        Scanned(pair_candidate),
        concat!(
            r"(?-u:\b)((?i-u:",
            r"[a-z0-9_.\-]*(?:password|passwd|passphrase|secret|token|credentials?|api[_\-]?key|(?:access|secret|private|account|signing|encryption|master|subscription|client)[_\-]?key|private[_\-]?key[_\-]?id)",
            r"|(?:[a-z0-9_.\-]*[_.\-])?(?:pass|auth)",
            r"|[a-z0-9_.\-]*[_.\-]pwd",
            r#"))(\\*["'])?[ \t]*[:=][ \t]*"#,
            r#"(?:\\(?:\\\\)*"((?:[^"\\]|\\+[^"\\])+)|"((?:[^"\\\r\n]|\\.)+)|\\*'([^'"\\\r\n]+)|([^\s"'\\,;&}\]]+))"#,
        ),
        &[3, 4, 5, 6],
        Some(pair_value),
    ),
    rule(
        "command-line flags followed by a secret (--password X, --token X, --api-key X)",
        Scanned(flag_candidate),
        r#"(?:^|\s|\\[nrt])--(?i-u:(?:[a-z0-9]+-)*(?:password|passwd|token|secret|api-?key))[ \t]+(?:\\*["'])?([^\s"'\\,:}\]\-][^\s"'\\,}\]]{2,})"#,
        &[1],
        None,
    ),
];

/// Rejects words that merely look like keys (`sk-learn-compatible-estimators`).
fn random(_: &str, _: &Captures<'_>, secret: &str) -> bool {
    looks_random(secret)
}

/// After a known scheme (`Authorization: Bearer x`) any value is a credential; without one it
/// must look generated, so "Authorization: required" stays.
fn header_value(text: &str, caps: &Captures<'_>, value: &str) -> bool {
    caps.get(1).is_some() || random(text, caps, value)
}

/// `Basic …` outside a header: only when the base64 decodes to printable `user:password`, so
/// "basic installation" stays.
fn basic_credentials(_: &str, _: &Captures<'_>, b64: &str) -> bool {
    decode_base64(b64)
        .and_then(|d| String::from_utf8(d).ok())
        .is_some_and(|s| s.len() >= 3 && s.contains(':') && !s.chars().any(char::is_control))
}

/// Standard base64, padding optional; `None` when it is not base64.
fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    if s.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for b in s.bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

/// Keeps what is not a value: a JSON number, `true`, `false` or `null` after a quoted key
/// (`"max_token": 4096`), a value shorter than 3 characters written without quotes, and the
/// structure after a JSON string that merely ends in `password=`.
fn pair_value(text: &str, caps: &Captures<'_>, value: &str) -> bool {
    if let Some(name) = caps.get(1) {
        if in_url_userinfo(&text[..name.start()]) {
            return false; // `scheme://user:password@host`: the URL rule keeps the host
        }
    }
    if caps.get(6).is_some() {
        let key_quoted = caps.get(2).is_some();
        let literal = matches!(
            value.to_ascii_lowercase().as_str(),
            "true" | "false" | "null"
        ) || value.parse::<f64>().is_ok();
        return value.len() >= 3 && !(key_quoted && literal);
    }
    if caps.get(4).is_some() {
        // A raw `"` after an unquoted name in JSON text ends the string it is in: what follows
        // is the document's structure (`", "next": …`), not a value.
        return !value.trim_start().starts_with([',', '}', ']', ':']);
    }
    true
}

/// Whether what precedes a name ends in `scheme://` plus part of a user name.
fn in_url_userinfo(head: &str) -> bool {
    let word = head
        .rsplit(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '\\'))
        .next()
        .unwrap_or("");
    word.rsplit_once("://")
        .is_some_and(|(_, user)| !user.contains(['/', '@', ':']))
}

/// Lower-case secret words that end an assignment's name, and what must come before them.
const PAIR_WORDS: &[(&str, Before)] = &[
    ("password", Before::Anything),
    ("passwd", Before::Anything),
    ("passphrase", Before::Anything),
    ("secret", Before::Anything),
    ("token", Before::Anything),
    ("credential", Before::Anything),
    ("credentials", Before::Anything),
    ("apikey", Before::Anything),
    ("key", Before::Qualifier),
    ("keyid", Before::Word("private")),
    ("key_id", Before::Word("private")),
    ("key-id", Before::Word("private")),
    ("pass", Before::SeparatorOrNothing),
    ("auth", Before::SeparatorOrNothing),
    ("pwd", Before::Separator),
];

/// Words that make `…key` a secret's name (`api_key`, `AccountKey`, `secret-key`).
const KEY_QUALIFIERS: &[&str] = &[
    "api",
    "access",
    "secret",
    "private",
    "account",
    "signing",
    "encryption",
    "master",
    "subscription",
    "client",
];

#[derive(Clone, Copy)]
enum Before {
    Anything,
    /// One of [`KEY_QUALIFIERS`], then `_`, `-` or nothing.
    Qualifier,
    /// This word, then `_`, `-` or nothing.
    Word(&'static str),
    /// `_`, `.`, `-`, or no name character at all (the word is the whole name).
    SeparatorOrNothing,
    /// `_`, `.` or `-`.
    Separator,
}

/// A secret word ending a name that is followed (after optional quotes, backslashes and blanks)
/// by `:` or `=`. `input_tokens": 5` is not one (`s` follows `token`), `"password": "x"` is.
fn pair_candidate(s: &Scan<'_>) -> bool {
    let hay = s.lower.as_bytes();
    PAIR_WORDS.iter().any(|&(word, before)| {
        occurrences(&s.lower, word).any(|i| {
            let rest = &hay[i + word.len()..];
            let skip = rest
                .iter()
                .take_while(|b| matches!(b, b'"' | b'\\' | b'\'' | b' ' | b'\t'))
                .count();
            matches!(rest.get(skip), Some(b':' | b'=')) && preceded(&hay[..i], before)
        })
    })
}

fn preceded(head: &[u8], before: Before) -> bool {
    let strip_sep = |h: &[u8]| match h.last() {
        Some(b'_' | b'-') => h[..h.len() - 1].to_vec(),
        _ => h.to_vec(),
    };
    match before {
        Before::Anything => true,
        Before::Qualifier => {
            let h = strip_sep(head);
            KEY_QUALIFIERS.iter().any(|q| h.ends_with(q.as_bytes()))
        }
        Before::Word(w) => strip_sep(head).ends_with(w.as_bytes()),
        Before::SeparatorOrNothing => !matches!(head.last(), Some(b) if b.is_ascii_alphanumeric()),
        Before::Separator => matches!(head.last(), Some(b'_' | b'.' | b'-')),
    }
}

/// `--…password`, `--…token`, `--…secret`, `--…api-key` followed by a blank.
fn flag_candidate(s: &Scan<'_>) -> bool {
    let hay = s.lower.as_bytes();
    occurrences(&s.lower, "--").any(|i| {
        let name_len = hay[i + 2..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'-')
            .count();
        let name = &s.lower[i + 2..i + 2 + name_len];
        ["password", "passwd", "token", "secret", "apikey", "api-key"]
            .iter()
            .any(|w| name.ends_with(w))
            && matches!(hay.get(i + 2 + name_len), Some(b' ' | b'\t'))
    })
}

/// `://` followed, before any `/`, blank, quote or backslash, by a `:` and then an `@`.
fn url_candidate(s: &Scan<'_>) -> bool {
    let hay = s.text.as_bytes();
    occurrences(s.text, "://").any(|i| {
        let mut colon = false;
        for &b in &hay[i + 3..] {
            match b {
                b':' => colon = true,
                b'@' if colon => return true,
                b'/' | b'"' | b'\'' | b'\\' | b'?' | b'#' => return false,
                b if b.is_ascii_whitespace() => return false,
                _ => {}
            }
        }
        false
    })
}

/// `SK` starting a token and followed by 32 hex digits.
fn twilio_candidate(s: &Scan<'_>) -> bool {
    let hay = s.text.as_bytes();
    occurrences(s.text, "SK").any(|i| {
        token_start(hay, i)
            && hay
                .get(i + 2..i + 34)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
    })
}
