//! Registering `analyze statusline` as Claude Code's `statusLine` (install.sh --statusline):
//! `analyze hooks statusline install | uninstall`.
//!
//! * **Ours** = a `statusLine` whose command runs an `analyze` binary (absolute path, possibly
//!   quoted) with `statusline` as its first argument.
//! * **install** writes ours when there is none, updates ours in place, and refuses a status
//!   line the user already has unless `--force`. What it replaces (or that there was nothing) is
//!   kept beside the settings file in `<settings>.agent-telemetry.statusline.json` (0600), written
//!   before the settings change; a reinstall never overwrites what was kept.
//! * **uninstall** puts back what was kept (or removes the key) when the status line is still
//!   ours, leaves a status line that is not ours alone, and deletes the kept file either way.
//! * The settings file itself is changed through [`super::file::apply`] (backup, atomic write).

use super::file::{apply, Applied};
use super::merge::{finish, parse, shell_quote, Edit, Unsafe};
use crate::error::Result;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// Seconds between re-runs while nothing else happens, so a running agent's elapsed time moves.
pub const REFRESH_SECS: u64 = 10;

/// The `statusLine` value we register for `command`.
pub fn desired(command: &str) -> Value {
    json!({"type": "command", "command": command, "padding": 0, "refreshInterval": REFRESH_SECS})
}

/// The command for the `analyze` at `analyze` (absolute), with `--db` when one is given.
pub fn command_for(analyze: &Path, db: Option<&Path>) -> String {
    let mut c = format!("{} statusline", shell_quote(&analyze.to_string_lossy()));
    if let Some(db) = db {
        c.push_str(" --db ");
        c.push_str(&shell_quote(&db.to_string_lossy()));
    }
    c
}

/// Whether a `statusLine` value is ours: a command running `…/analyze statusline`.
pub fn is_ours(v: &Value) -> bool {
    let Some(cmd) = v.get("command").and_then(Value::as_str) else {
        return false;
    };
    let words = shell_words(cmd);
    matches!(words.as_slice(), [bin, sub, ..]
        if sub == "statusline" && bin.starts_with('/') && bin.rsplit('/').next() == Some("analyze"))
}

/// Splits a command into words: blanks separate, single and double quotes group.
fn shell_words(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur: Option<String> = None;
    let mut quote: Option<char> = None;
    for c in s.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.get_or_insert_with(String::new).push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                cur.get_or_insert_with(String::new);
            }
            (None, c) if c.is_whitespace() => words.extend(cur.take()),
            (None, c) => cur.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(cur);
    words
}

/// Where the replaced status line is kept: beside the settings file.
pub fn kept_path(settings: &Path) -> PathBuf {
    let mut name = settings.file_name().unwrap_or_default().to_os_string();
    name.push(".agent-telemetry.statusline.json");
    settings.with_file_name(name)
}

/// Sets ours in settings text: `Ok((edit, replaced))`, `replaced` = the user's status line
/// this removes (`Value::Null` when none). `Err` when the text cannot be changed safely.
pub fn install_text(original: &str, command: &str) -> Result<(Edit, Value), Unsafe> {
    let mut root = parse(original)?;
    let before = root.clone();
    let map = root.as_object_mut().expect("parse returns an object");
    let current = map.get("statusLine").cloned();
    let replaced = match &current {
        Some(v) if !is_ours(v) => v.clone(),
        _ => Value::Null,
    };
    let updated = usize::from(current.as_ref().is_some_and(is_ours));
    map.insert("statusLine".into(), desired(command));
    let edit = finish(original, &before, root, 1 - updated, updated, 0);
    Ok((edit, replaced))
}

/// Restores `kept` (removes the key when it is null) if the status line is ours; otherwise
/// changes nothing.
pub fn uninstall_text(original: &str, kept: &Value) -> Result<Edit, Unsafe> {
    let mut root = parse(original)?;
    let before = root.clone();
    let map = root.as_object_mut().expect("parse returns an object");
    if map.get("statusLine").is_some_and(is_ours) {
        if kept.is_null() {
            map.shift_remove("statusLine");
        } else {
            map.insert("statusLine".into(), kept.clone());
        }
    }
    Ok(finish(original, &before, root, 0, 0, 1))
}

/// `analyze hooks statusline install`: registers `command` in `settings`.
pub(super) fn install(
    settings: &Path,
    command: &str,
    force: bool,
    dry_run: bool,
) -> Result<String> {
    let text = read(settings)?;
    let (_, replaced) = install_text(&text, command).map_err(|why| refused(settings, &why))?;
    if !replaced.is_null() && !force {
        return Err(std::io::Error::other(format!(
            "{} already has a status line ({}); not replacing it. Run again with --force to replace it: it is kept and --uninstall puts it back",
            settings.display(),
            replaced.get("command").unwrap_or(&replaced)
        ))
        .into());
    }
    let kept = kept_path(settings);
    let keep_new = !dry_run && (!replaced.is_null() || !kept.exists());
    if keep_new {
        write_private(&kept, &json!({ "previous": replaced }))?;
    }
    let out = apply(settings, dry_run, |t| {
        install_text(t, command).map(|(e, _)| e)
    });
    if out.is_err() && keep_new {
        let _ = std::fs::remove_file(&kept);
    }
    Ok(describe(
        settings,
        &out?,
        dry_run,
        "registered the status line",
    ))
}

/// `analyze hooks statusline uninstall`: puts back what ours replaced, if ours is still there.
pub(super) fn uninstall(settings: &Path, dry_run: bool) -> Result<String> {
    let kept_file = kept_path(settings);
    let kept = match std::fs::read(&kept_file) {
        Ok(b) => serde_json::from_slice::<Value>(&b)
            .ok()
            .and_then(|v| v.get("previous").cloned())
            .unwrap_or(Value::Null),
        Err(_) => Value::Null,
    };
    if !settings.exists() {
        return Ok(format!(
            "{}: no such file; nothing to remove\n",
            settings.display()
        ));
    }
    let out = apply(settings, dry_run, |t| uninstall_text(t, &kept))?;
    if !dry_run {
        let _ = std::fs::remove_file(&kept_file);
    }
    let what = if kept.is_null() {
        "removed the status line"
    } else {
        "restored the previous status line"
    };
    Ok(describe(settings, &out, dry_run, what))
}

fn describe(settings: &Path, out: &Applied, dry_run: bool, what: &str) -> String {
    match (out.edit.changed, dry_run) {
        (false, _) => format!("{}: status line unchanged\n", settings.display()),
        (true, true) => out.diff.clone(),
        (true, false) => match &out.backup {
            Some(b) => format!("{}: {what} (backup: {})\n", settings.display(), b.display()),
            None => format!("{}: {what}\n", settings.display()),
        },
    }
}

fn read(path: &Path) -> Result<String> {
    match std::fs::read(path) {
        Ok(b) => String::from_utf8(b).map_err(|_| refused(path, &Unsafe::NotUtf8)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(e.into()),
    }
}

fn refused(path: &Path, why: &Unsafe) -> crate::error::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!(
            "refusing to change {}: {why}; fix or move the file and run again",
            path.display()
        ),
    )
    .into()
}

fn write_private(path: &Path, v: &Value) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::store::ensure_private_dir(dir)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(serde_json::to_string_pretty(v)?.as_bytes())?;
    f.write_all(b"\n")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ours_is_an_absolute_analyze_running_statusline() {
        let ours = |c: &str| is_ours(&json!({ "type": "command", "command": c }));
        assert!(ours("/usr/bin/analyze statusline"));
        assert!(ours("'/home/a b/bin/analyze' statusline --db '/d/t.db'"));
        assert!(ours(&command_for(
            Path::new("/x y/analyze"),
            Some(Path::new("/d b/t.db"))
        )));
        assert!(!ours("analyze statusline"));
        assert!(!ours("/usr/bin/analyze summary"));
        assert!(!ours("/bin/sh -c '/usr/bin/analyze statusline'"));
        assert!(!ours("~/bin/my-status.sh"));
        assert!(!is_ours(&json!("just a string")));
    }

    #[test]
    fn install_keeps_the_rest_and_reports_what_it_replaces() {
        let cmd = "/b/analyze statusline";
        let (e, replaced) = install_text("", cmd).unwrap();
        assert!(e.changed && replaced.is_null());
        assert_eq!(
            serde_json::from_str::<Value>(&e.text).unwrap()["statusLine"],
            desired(cmd)
        );
        // Again: nothing to change.
        let (again, _) = install_text(&e.text, cmd).unwrap();
        assert!(!again.changed);
        let theirs = r#"{"model": "opus", "statusLine": {"type": "command", "command": "~/s.sh"}}"#;
        let (e, replaced) = install_text(theirs, cmd).unwrap();
        assert_eq!(replaced["command"], "~/s.sh");
        let v: Value = serde_json::from_str(&e.text).unwrap();
        assert_eq!(v["model"], "opus");
        // Uninstall puts theirs back exactly, and leaves a foreign status line alone.
        let back = uninstall_text(&e.text, &replaced).unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&back.text).unwrap(),
            serde_json::from_str::<Value>(theirs).unwrap()
        );
        assert!(!uninstall_text(theirs, &Value::Null).unwrap().changed);
        assert!(matches!(
            install_text("[1]", cmd),
            Err(Unsafe::NotAnObject(_))
        ));
    }
}
