//! Small per-query tables: a fast hasher for local keys and a string interner.

use std::collections::HashMap;

/// A fast, deterministic hasher for the per-query maps (FNV-1a): keys are local strings and
/// small integers, and SipHash was a tenth of a query's time.
#[derive(Clone, Copy)]
pub(super) struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

pub(super) type FastMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<Fnv>>;

/// Interns strings to indices.
#[derive(Default)]
pub(super) struct Interner {
    pub(super) index: FastMap<String, usize>,
    pub(super) names: Vec<String>,
}

impl Interner {
    pub(super) fn with_capacity(n: usize) -> Interner {
        Interner {
            index: FastMap::with_capacity_and_hasher(n, Default::default()),
            names: Vec::with_capacity(n),
        }
    }
    pub(super) fn id(&mut self, s: &str) -> usize {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        self.names.push(s.to_string());
        self.index.insert(s.to_string(), self.names.len() - 1);
        self.names.len() - 1
    }
}
