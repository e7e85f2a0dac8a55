//! Changing a settings file safely: read (missing = empty), edit, back up, write a temp file
//! beside it and rename it over; and the unified diff a dry run prints instead.

use super::merge::{Edit, Unsafe};
use crate::error::{Error, Result};
use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// What [`apply`] did to a file.
pub(super) struct Applied {
    pub(super) edit: Edit,
    /// The change as a unified diff (empty when nothing changed).
    pub(super) diff: String,
    pub(super) backup: Option<PathBuf>,
    /// The file did not exist before.
    pub(super) created: bool,
}

/// Why a settings file was left alone: what is wrong with it, and what to do.
#[derive(Debug, thiserror::Error)]
#[error("refusing to change {}: {why}; fix or move the file and run again", path.display())]
struct Refused {
    path: PathBuf,
    why: Unsafe,
}

fn refuse(path: &Path, why: Unsafe) -> Error {
    // An I/O error of kind InvalidData: the file's content is the problem, as for a bad read.
    Error::Io(std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        Refused {
            path: path.to_path_buf(),
            why,
        },
    ))
}

/// Reads `path` (missing = empty), edits it with `f`, and unless `dry_run` writes the result
/// atomically after backing up the original.
pub(super) fn apply(
    path: &Path,
    dry_run: bool,
    f: impl FnOnce(&str) -> std::result::Result<Edit, Unsafe>,
) -> Result<Applied> {
    let target = resolve_symlink(path);
    let (original, existed) = match fs::read(&target) {
        Ok(b) => (
            String::from_utf8(b).map_err(|_| refuse(path, Unsafe::NotUtf8))?,
            true,
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (String::new(), false),
        Err(e) => return Err(e.into()),
    };
    let edit = f(&original).map_err(|why| refuse(path, why))?;
    let diff = if edit.changed {
        diff(&original, &edit.text, &path.display().to_string())
    } else {
        String::new()
    };
    let mut out = Applied {
        edit,
        diff,
        backup: None,
        created: !existed,
    };
    if dry_run || !out.edit.changed {
        return Ok(out);
    }
    let mode = match fs::metadata(&target) {
        Ok(m) => m.permissions().mode() & 0o7777,
        Err(_) => 0o600,
    };
    if existed {
        out.backup = Some(backup(&target)?);
    } else if let Some(dir) = target.parent() {
        if !dir.as_os_str().is_empty() && !dir.is_dir() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)?;
        }
    }
    write_atomic(&target, out.edit.text.as_bytes(), mode)?;
    Ok(out)
}

/// A symlinked settings file (dotfile managers) is edited at its target, keeping the link.
fn resolve_symlink(path: &Path) -> PathBuf {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
        }
        _ => path.to_path_buf(),
    }
}

fn backup(path: &Path) -> Result<PathBuf> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".agent-telemetry.bak");
    let mut dest = path.with_file_name(&name);
    if dest.exists() {
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
        let mut n = 0;
        loop {
            let mut candidate = name.clone();
            candidate.push(format!(".{stamp}"));
            if n > 0 {
                candidate.push(format!("-{n}"));
            }
            dest = path.with_file_name(candidate);
            if !dest.exists() {
                break;
            }
            n += 1;
        }
    }
    fs::copy(path, &dest)?;
    Ok(dest)
}

fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let name = path
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let tmp = path.with_file_name(format!(
        ".{name}.agent-telemetry.{}.tmp",
        std::process::id()
    ));
    let result = (|| -> std::io::Result<()> {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.set_permissions(fs::Permissions::from_mode(mode))?; // the umask may have masked bits
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    Ok(result?)
}

// ── Dry-run diff ─────────────────────────────────────────────────────────────────────────────

/// A unified diff of `before` → `after` with 3 lines of context, headed `--- name` and
/// `+++ name (after)`.
pub(super) fn diff(before: &str, after: &str, name: &str) -> String {
    similar::TextDiff::configure()
        // A settings file is small; the deadline only bounds a pathological one (the diff is
        // then coarser, never wrong).
        .timeout(std::time::Duration::from_secs(1))
        .diff_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(name, &format!("{name} (after)"))
        .to_string()
}

/// Claude Code's configuration directory: `$CLAUDE_CONFIG_DIR` or `~/.claude`.
pub fn claude_config_dir() -> PathBuf {
    match std::env::var_os("CLAUDE_CONFIG_DIR").filter(|v| !v.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => crate::paths::home_dir().join(".claude"),
    }
}

/// The user settings file: `$CLAUDE_CONFIG_DIR/settings.json` or `~/.claude/settings.json`.
pub fn user_settings_path() -> PathBuf {
    claude_config_dir().join("settings.json")
}

/// A regular file with an execute bit.
pub(super) fn is_executable(p: &Path) -> bool {
    fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::diff;

    #[test]
    fn the_diff_is_unified_with_three_lines_of_context() {
        let before = "a\nb\nc\nd\ne\nf\ng\nh\ni\n";
        let after = "a\nb\nc\nd\nE\nf\ng\nh\ni\nj\n";
        assert_eq!(
            diff(before, after, "s.json"),
            "--- s.json\n+++ s.json (after)\n@@ -2,8 +2,9 @@\n b\n c\n d\n-e\n+E\n f\n g\n h\n i\n+j\n"
        );
        // A new file: everything added, the empty side numbered 0.
        assert_eq!(
            diff("", "{\n}\n", "s.json"),
            "--- s.json\n+++ s.json (after)\n@@ -0,0 +1,2 @@\n+{\n+}\n"
        );
        assert_eq!(diff("x\n", "x\n", "s.json"), "");
    }
}
