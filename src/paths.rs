//! Where things live: the database, its spool, the hook log and the config files.

use std::path::{Path, PathBuf};

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "telemetry.db";

/// The data directory: `$XDG_DATA_HOME/agent-telemetry` or `~/.local/share/agent-telemetry`.
pub fn data_dir() -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(x).join("agent-telemetry");
    }
    home_dir().join(".local/share/agent-telemetry")
}

/// `$HOME`, or `/tmp` when it is unset (hooks must still find somewhere to write).
pub fn home_dir() -> PathBuf {
    std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp"))
}

/// The database path: `--db` beats `AGENT_TELEMETRY_DB` beats the data directory default.
pub fn db_path(explicit: Option<&Path>) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_path_buf();
    }
    if let Some(p) = std::env::var_os("AGENT_TELEMETRY_DB").filter(|v| !v.is_empty()) {
        return PathBuf::from(p);
    }
    data_dir().join(DB_FILE)
}

/// The directory that holds the database (and therefore its spool, log and config).
pub fn dir_of(db: &Path) -> PathBuf {
    match db.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `path` with `suffix` appended to its file name: a database's `-wal`, `-shm`, `.damaged-…`.
pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(suffix);
    PathBuf::from(s)
}

/// Spool file beside the database: payloads that could not be written yet.
pub fn spool_path(db: &Path) -> PathBuf {
    let mut name = db.file_name().unwrap_or_default().to_os_string();
    name.push(".spool.jsonl");
    dir_of(db).join(name)
}

/// Last-resort spool when the database directory itself is not writable: private to the user,
/// and one per database (named by a hash of its path), so a replay never lands in another one.
pub fn fallback_spool_path(db: &Path) -> PathBuf {
    let uid = unsafe_free_uid();
    let abs = if db.is_absolute() {
        db.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(db))
            .unwrap_or_else(|_| db.to_path_buf())
    };
    let h = crate::util::fnv1a(abs.as_os_str().as_encoded_bytes());
    std::env::temp_dir()
        .join(format!("agent-telemetry-{uid}"))
        .join(format!("spool-{h:016x}.jsonl"))
}

/// The size-capped hook error log beside the database.
pub fn log_path(db: &Path) -> PathBuf {
    dir_of(db).join("hook.log")
}

/// User configuration (category patterns, complexity keywords, thresholds).
pub fn config_path(db: &Path) -> PathBuf {
    dir_of(db).join("config.json")
}

/// User price overrides.
pub fn prices_path(db: &Path) -> PathBuf {
    dir_of(db).join("prices.json")
}

/// The current user's id without `unsafe`: the owner of `/proc/self`.
fn unsafe_free_uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(0)
}
