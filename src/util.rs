//! Small helpers with one home: stable hashing, UTF-8-safe truncation.

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0100_0000_01b3;

fn fnv1a_extend(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

/// FNV-1a, 64 bit: stable across builds and platforms (unlike std's hasher), for keys that are
/// stored or compared across processes.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    fnv1a_extend(FNV_OFFSET, bytes)
}

/// FNV-1a of several fields, each followed by a `0xff` byte (never part of UTF-8 text), so
/// `["ab", ""]` and `["a", "b"]` differ. The importer's event keys are these, and they are stored.
pub fn fnv1a_parts(parts: &[&[u8]]) -> u64 {
    parts
        .iter()
        .fold(FNV_OFFSET, |h, p| fnv1a_extend(fnv1a_extend(h, p), &[0xff]))
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
pub fn prefix(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// `s` cut to at most `max` bytes on a character boundary, with `…` appended when it was cut.
pub fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    format!("{}…", prefix(s, max))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_known_values() {
        // Stored (spool line ids, fallback spool names, import event keys): these must never change.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"/tmp/x/telemetry.db"), 0x2d5c_5357_904f_8b94);
        assert_eq!(fnv1a_parts(&[]), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a_parts(&[b"a"]), 0x089b_c907_b544_c769);
        assert_ne!(fnv1a_parts(&[b"ab", b""]), fnv1a_parts(&[b"a", b"b"]));
        let ts = 1_700_000_000_000i64.to_le_bytes();
        assert_eq!(
            fnv1a_parts(&[b"SubagentStop", b"p1", b"a1", b"", b"a1", &ts]),
            0xdf09_3ebc_d3ca_87cd
        );
    }

    #[test]
    fn truncation_keeps_whole_characters() {
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("abcd", 3), "abc…");
        // 'é' is two bytes: a cut inside it backs off to before it.
        assert_eq!(truncate("aé", 2), "a…");
        assert_eq!(prefix("aé", 2), "a");
        assert_eq!(prefix("aé", 3), "aé");
        assert_eq!(prefix("", 0), "");
    }
}
