//! The house's layout holds: no module of the library imports one that imports it back
//! (docs/architecture.md, "Layout"). Checked on the source text: `crate::a` paths between
//! top-level modules, and `crate::a::b` / `super::b` paths between a module's children.

use regex::Regex;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n != "bin") {
                rust_files(&p, out);
            }
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// `src/a/b.rs` → ["a", "b"]; `src/a/mod.rs` → ["a"].
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// Every edge between modules, from the code (comments and unit-test modules left out).
fn edges(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let comments = Regex::new(r"(?m)^\s*//.*$").unwrap();
    let tests = Regex::new(r"(?s)#\[cfg\(test\)\]\s*mod tests \{.*").unwrap();
    let crate_path = Regex::new(r"crate::([a-z_]+)(?:::([a-z_]+))?").unwrap();
    let super_path = Regex::new(r"super::([a-z_]+)").unwrap();
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in files {
        let m = module_of(src, &f);
        if m.is_empty() || m[0] == "lib" {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        let text = comments.replace_all(&text, "");
        let text = tests.replace(&text, "");
        for c in crate_path.captures_iter(&text) {
            let to = &c[1];
            if to != m[0] {
                g.entry(m[0].clone()).or_default().insert(to.to_string());
            } else if let (Some(child), Some(me)) = (c.get(2), m.get(1)) {
                if child.as_str() != me {
                    g.entry(format!("{}::{me}", m[0]))
                        .or_default()
                        .insert(format!("{to}::{}", child.as_str()));
                }
            }
        }
        if m.len() == 2 {
            for c in super_path.captures_iter(&text) {
                if c[1] != m[1] {
                    g.entry(format!("{}::{}", m[0], m[1]))
                        .or_default()
                        .insert(format!("{}::{}", m[0], &c[1]));
                }
            }
        }
    }
    g
}

/// A path from `to` back to `from`, if there is one.
fn path_back(
    g: &BTreeMap<String, BTreeSet<String>>,
    from: &str,
    to: &str,
    seen: &mut BTreeSet<String>,
) -> Option<Vec<String>> {
    if to == from {
        return Some(vec![from.to_string()]);
    }
    if !seen.insert(to.to_string()) {
        return None;
    }
    for next in g.get(to).into_iter().flatten() {
        if let Some(mut p) = path_back(g, from, next, seen) {
            p.insert(0, to.to_string());
            return Some(p);
        }
    }
    None
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let g = edges(&src);
    assert!(
        g.get("analyze").is_some_and(|d| d.contains("store")),
        "the check sees imports"
    );
    let mut cycles = Vec::new();
    for (from, tos) in &g {
        for to in tos {
            if let Some(p) = path_back(&g, from, to, &mut BTreeSet::new()) {
                cycles.push(format!("{from} → {}", p.join(" → ")));
            }
        }
    }
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}
