//! The hook error log: one line per problem, in the data directory, capped in size.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// The log is rotated to `hook.log.1` once it passes this size.
const MAX_LOG_BYTES: u64 = 1024 * 1024;

/// Appends one line to the hook log beside `db`. Never fails, never prints to stdout.
pub fn error(db: &Path, who: &str, msg: &str) {
    let path = crate::paths::log_path(db);
    if let Some(dir) = path.parent() {
        let _ = crate::store::ensure_private_dir(dir);
    }
    if std::fs::metadata(&path)
        .map(|m| m.len() > MAX_LOG_BYTES)
        .unwrap_or(false)
    {
        let _ = std::fs::rename(&path, path.with_extension("log.1"));
    }
    let mut msg = crate::redact::redact(msg).into_owned();
    if msg.len() > 8192 {
        msg.truncate(crate::util::prefix(&msg, 8192).len());
        msg.push_str(" …(truncated)");
    }
    let line = format!(
        "{} {} [{}] {}\n",
        crate::timeparse::format_ms(crate::store::now_ms()),
        who,
        std::process::id(),
        msg.replace('\n', "\\n")
    );
    if let Ok(mut f) = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
    {
        let _ = f.write_all(line.as_bytes());
    }
}
