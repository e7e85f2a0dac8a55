//! The merge itself: settings text in, settings text out, our ten registrations added, updated
//! or removed and everything else kept as it was (values and key order), or the reason the text
//! cannot be changed safely.

use super::{BINARIES, HOOK_TIMEOUT_SECS, REGISTRATIONS};
use serde_json::{json, Map, Value};
use std::path::Path;

/// Why settings text cannot be changed safely. Shown after "refusing to change FILE: ".
#[derive(Debug, thiserror::Error)]
pub enum Unsafe {
    /// The file's bytes are not UTF-8.
    #[error("it is not UTF-8 text")]
    NotUtf8,
    /// The text does not parse as JSON.
    #[error("it is not valid JSON ({0})")]
    NotJson(serde_json::Error),
    /// The top level is not an object (what it is instead).
    #[error("it holds {0}, not a JSON object")]
    NotAnObject(&'static str),
    /// A value on the way to our entries has another type than the settings format gives it.
    #[error("\"{at}\" is {found}, expected {expected}")]
    Shape {
        /// Where, as `hooks.Stop[0].hooks`.
        at: String,
        found: &'static str,
        expected: &'static str,
    },
    /// A matcher group without its `hooks` array.
    #[error("\"{at}\" has no \"hooks\" array")]
    NoHooksArray { at: String },
}

impl Unsafe {
    fn shape(at: impl Into<String>, found: &Value, expected: &'static str) -> Unsafe {
        Unsafe::Shape {
            at: at.into(),
            found: kind(found),
            expected,
        }
    }

    /// Whether the message says `what` (for callers that match on the wording).
    pub fn contains(&self, what: &str) -> bool {
        self.to_string().contains(what)
    }
}

/// The outcome of editing settings text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    /// The new text (the original text, unchanged, when nothing changed).
    pub text: String,
    /// Whether the JSON value changed (the file is written only then).
    pub changed: bool,
    pub added: usize,
    pub updated: usize,
    pub removed: usize,
}

/// Adds (or updates) our ten registrations in settings text, commands under `bin_dir`.
/// `Err` explains why the text cannot be changed safely.
pub fn install_text(original: &str, bin_dir: &Path) -> Result<Edit, Unsafe> {
    let mut root = parse(original)?;
    let before = root.clone();
    let (mut added, mut updated) = (0, 0);
    let hooks = entry_object(&mut root, "hooks")?;
    for r in REGISTRATIONS {
        let desired = entry_for(&bin_dir.join(r.binary));
        let groups = entry_array(hooks, r.event, &format!("hooks.{}", r.event))?;
        check_groups(groups, r.event)?;
        // Our entries for this binary anywhere in this event, wherever they point: a reinstall
        // from another directory replaces them instead of recording every event twice.
        let ours = find(groups, |(_, name)| name == r.binary);
        let keeper = ours
            .iter()
            .copied()
            .find(|&(g, _)| same_matcher(&groups[g], r.matcher));
        let mut changed = false;
        let mut emptied = Vec::new();
        for &(g, i) in ours.iter().rev() {
            if Some((g, i)) != keeper {
                let entries = group_hooks(&mut groups[g]);
                entries.remove(i);
                changed = true;
                if entries.is_empty() {
                    emptied.push(g);
                }
            }
        }
        match keeper {
            Some((g, i)) => changed |= update_entry(&mut group_hooks(&mut groups[g])[i], &desired),
            // Join a group that already runs other hooks for the same matcher; never an empty one,
            // so uninstall (which drops the groups it empties) gives back the original exactly.
            None => match groups
                .iter()
                .position(|grp| same_matcher(grp, r.matcher) && !is_empty_group(grp))
            {
                Some(g) => group_hooks(&mut groups[g]).push(desired),
                None => groups.push(json!({ "matcher": r.matcher, "hooks": [desired] })),
            },
        }
        // `emptied` is in descending order (collected walking backwards): remove from the end.
        emptied.dedup();
        for g in emptied {
            groups.remove(g);
        }
        if keeper.is_none() {
            added += 1;
        } else if changed {
            updated += 1;
        }
    }
    Ok(finish(original, &before, root, added, updated, 0))
}

/// Removes our registrations from settings text: entries running our binaries (only from
/// `bin_dir` when given) on the events we register, plus groups, arrays and the `hooks`
/// object that this removal emptied.
pub fn uninstall_text(original: &str, bin_dir: Option<&Path>) -> Result<Edit, Unsafe> {
    let mut root = parse(original)?;
    let before = root.clone();
    let Some(hooks) = root.get_mut("hooks") else {
        return Ok(finish(original, &before, root, 0, 0, 0));
    };
    let Value::Object(hooks_map) = hooks else {
        return Err(Unsafe::shape("hooks", hooks, "an object"));
    };
    let want_dir = bin_dir.map(|d| d.to_string_lossy().trim_end_matches('/').to_string());
    let mut removed = 0;
    let mut emptied_events = Vec::new();
    for (event, groups) in hooks_map.iter_mut() {
        let binaries: Vec<&str> = REGISTRATIONS
            .iter()
            .filter(|r| r.event == event.as_str())
            .map(|r| r.binary)
            .collect();
        if binaries.is_empty() {
            continue;
        }
        let Value::Array(groups) = groups else {
            return Err(Unsafe::shape(format!("hooks.{event}"), groups, "an array"));
        };
        check_groups(groups, event)?;
        let ours = find(groups, |(dir, name)| {
            binaries.contains(&name)
                && want_dir
                    .as_deref()
                    .is_none_or(|w| w == dir.trim_end_matches('/'))
        });
        if ours.is_empty() {
            continue;
        }
        let mut emptied = Vec::new();
        for &(g, i) in ours.iter().rev() {
            group_hooks(&mut groups[g]).remove(i);
            removed += 1;
            if group_hooks(&mut groups[g]).is_empty() {
                emptied.push(g);
            }
        }
        emptied.dedup(); // descending, as collected
        for g in emptied {
            groups.remove(g);
        }
        if groups.is_empty() {
            emptied_events.push(event.clone());
        }
    }
    for event in emptied_events {
        hooks_map.shift_remove(&event); // (`remove` would move the last key into its place)
    }
    if removed > 0 && hooks_map.is_empty() {
        if let Value::Object(r) = &mut root {
            r.shift_remove("hooks");
        }
    }
    Ok(finish(original, &before, root, 0, 0, removed))
}

pub(super) fn finish(
    original: &str,
    before: &Value,
    root: Value,
    added: usize,
    updated: usize,
    removed: usize,
) -> Edit {
    if &root == before {
        return Edit {
            text: original.to_string(),
            changed: false,
            added: 0,
            updated: 0,
            removed: 0,
        };
    }
    let mut text = serde_json::to_string_pretty(&root).expect("JSON values serialise");
    // Keep the file's habit about a final newline; new files get one.
    if original.ends_with('\n') || original.trim().is_empty() {
        text.push('\n');
    }
    Edit {
        text,
        changed: true,
        added,
        updated,
        removed,
    }
}

pub(super) fn parse(text: &str) -> Result<Value, Unsafe> {
    if text.trim().is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    let v: Value = serde_json::from_str(text).map_err(Unsafe::NotJson)?;
    match v {
        Value::Object(_) => Ok(v),
        other => Err(Unsafe::NotAnObject(kind(&other))),
    }
}

/// Checks the shape of one event's matcher groups: objects with a `hooks` array of objects.
fn check_groups(groups: &[Value], event: &str) -> Result<(), Unsafe> {
    for (g, grp) in groups.iter().enumerate() {
        let Value::Object(_) = grp else {
            return Err(Unsafe::shape(
                format!("hooks.{event}[{g}]"),
                grp,
                "a matcher group object",
            ));
        };
        match grp.get("hooks") {
            Some(Value::Array(entries)) => {
                if let Some((i, e)) = entries.iter().enumerate().find(|(_, e)| !e.is_object()) {
                    return Err(Unsafe::shape(
                        format!("hooks.{event}[{g}].hooks[{i}]"),
                        e,
                        "an object",
                    ));
                }
            }
            Some(other) => {
                return Err(Unsafe::shape(
                    format!("hooks.{event}[{g}].hooks"),
                    other,
                    "an array",
                ))
            }
            None => {
                return Err(Unsafe::NoHooksArray {
                    at: format!("hooks.{event}[{g}]"),
                })
            }
        }
    }
    Ok(())
}

/// (group, entry) positions of our entries, in document order, for which `want((dir, name))`.
fn find(groups: &[Value], want: impl Fn((&str, &str)) -> bool) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for (g, grp) in groups.iter().enumerate() {
        if let Some(Value::Array(entries)) = grp.get("hooks") {
            for (i, e) in entries.iter().enumerate() {
                if let Some(Value::String(cmd)) = e.get("command") {
                    if let Some((dir, name)) = our_command(cmd) {
                        if dir.starts_with('/') && want((&dir, name)) {
                            out.push((g, i));
                        }
                    }
                }
            }
        }
    }
    out
}

fn is_empty_group(group: &Value) -> bool {
    matches!(group.get("hooks"), Some(Value::Array(a)) if a.is_empty())
}

fn group_hooks(group: &mut Value) -> &mut Vec<Value> {
    match group.get_mut("hooks") {
        Some(Value::Array(a)) => a,
        _ => unreachable!("checked by check_groups"),
    }
}

/// `None`, `""` and `"*"` all match everything.
fn same_matcher(group: &Value, matcher: &str) -> bool {
    let norm = |m: &str| {
        if m.is_empty() {
            "*".to_string()
        } else {
            m.to_string()
        }
    };
    match group.get("matcher") {
        None => norm("") == norm(matcher),
        Some(Value::String(m)) => norm(m) == norm(matcher),
        Some(_) => false,
    }
}

fn entry_for(binary: &Path) -> Value {
    json!({
        "type": "command",
        "command": shell_quote(&binary.to_string_lossy()),
        "timeout": HOOK_TIMEOUT_SECS,
    })
}

/// Makes an existing entry of ours look like `desired` (keeping any other keys it has, except
/// `async`: our hooks must finish before a `claude -p` run exits). True when it changed.
fn update_entry(entry: &mut Value, desired: &Value) -> bool {
    let before = entry.clone();
    if let (Value::Object(e), Value::Object(d)) = (&mut *entry, desired) {
        for (k, v) in d {
            // Replaces in place, or appends: the entry keeps its key order.
            e.insert(k.clone(), v.clone());
        }
        e.shift_remove("async");
    }
    *entry != before
}

/// Hook commands run through a shell: quote paths that need it.
pub(super) fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+,:=@%".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// `(directory, binary)` when `command` runs one of our binaries with no arguments: an absolute
/// path (possibly quoted), `${CLAUDE_PLUGIN_ROOT}/…`, or a bare name found on PATH (directory
/// `""`).
pub fn our_command(command: &str) -> Option<(String, &'static str)> {
    let t = command.trim();
    let (c, quoted) = if let Some(inner) = t.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
        (inner.replace(r"'\''", "'"), true)
    } else if let Some(inner) = t.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        (inner.to_string(), true)
    } else {
        (t.to_string(), false)
    };
    if c.is_empty() || !quoted && c.contains(char::is_whitespace) {
        return None; // a command with arguments is somebody else's
    }
    let (dir, name) = match c.rfind('/') {
        Some(0) => ("/", &c[1..]),
        Some(i) => (&c[..i], &c[i + 1..]),
        None => ("", c.as_str()),
    };
    let name = BINARIES.iter().copied().find(|b| *b == name)?;
    let dir_ok = dir.is_empty() && !quoted
        || dir.starts_with('/')
        || dir.starts_with("${CLAUDE_PLUGIN_ROOT}")
        || dir.starts_with("$CLAUDE_PLUGIN_ROOT");
    dir_ok.then(|| (dir.to_string(), name))
}

// ── Reaching into the value ──────────────────────────────────────────────────────────────────

/// The object under `key` of the root object, created (appended, empty) when absent.
fn entry_object<'a>(root: &'a mut Value, key: &str) -> Result<&'a mut Value, Unsafe> {
    let Value::Object(map) = root else {
        unreachable!("parse returns an object");
    };
    let v = map.entry(key).or_insert_with(|| Value::Object(Map::new()));
    match v {
        Value::Object(_) => Ok(v),
        other => Err(Unsafe::shape(key, other, "an object")),
    }
}

/// The array under `key` of an object (`at` names it in errors), created when absent.
fn entry_array<'a>(obj: &'a mut Value, key: &str, at: &str) -> Result<&'a mut Vec<Value>, Unsafe> {
    let Value::Object(map) = obj else {
        unreachable!("entry_object returns an object");
    };
    match map.entry(key).or_insert_with(|| Value::Array(Vec::new())) {
        Value::Array(a) => Ok(a),
        other => Err(Unsafe::shape(at, other, "an array")),
    }
}

/// "an object", "a string", …: for messages.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
