//! The spool: an append-only JSON-lines file beside the database that holds payloads while the
//! database cannot take them (locked past the timeout, unopenable, disk trouble). The next
//! successful open replays it. Claims are atomic renames, so two replayers never both replay.

use super::Store;
use crate::error::Result;
use std::fs::{self, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// One spooled payload.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SpooledPayload {
    /// Clock at the time the hook ran (unix ms): the event time when the payload has none.
    pub recorded_at: i64,
    /// Which binary received it (`subagent-start`, …) and with which arguments.
    pub binary: String,
    #[serde(default)]
    pub args: Vec<String>,
    /// The redacted payload text.
    pub raw: String,
}

/// Appends `p` to the spool beside `db`, or to the fallback spool when that directory is not
/// writable. Each line is written with one `write` call in append mode, so concurrent hooks
/// do not interleave. The payload and the arguments are redacted on the way.
pub fn spool_payload(db: &Path, p: &SpooledPayload) -> std::io::Result<PathBuf> {
    let redacted = SpooledPayload {
        recorded_at: p.recorded_at,
        binary: p.binary.clone(),
        args: p
            .args
            .iter()
            .map(|a| crate::redact::redact(a).into_owned())
            .collect(),
        raw: crate::redact::redact(&p.raw).into_owned(),
    };
    let mut line = serde_json::to_vec(&redacted).map_err(std::io::Error::other)?;
    line.push(b'\n');
    let primary = crate::paths::spool_path(db);
    let fallback = crate::paths::fallback_spool_path(db);
    let mut last_err = None;
    for path in [primary, fallback] {
        if let Some(dir) = path.parent() {
            if super::ensure_private_dir(dir).is_err() {
                continue;
            }
        }
        let opened = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&path);
        match opened.and_then(|mut f| f.write_all(&line)) {
            Ok(()) => return Ok(path),
            Err(e) => last_err = Some(e),
        }
    }
    Err(last_err.unwrap_or_else(|| std::io::Error::other("no spool location is writable")))
}

pub(super) fn replay(
    store: &Store,
    mut handle: impl FnMut(&Store, SpooledPayload) -> Result<()>,
) -> Result<usize> {
    let mut replayed = 0;
    for spool in [
        crate::paths::spool_path(store.path()),
        crate::paths::fallback_spool_path(store.path()),
    ] {
        let mut claims = abandoned_claims(&spool);
        if spool.exists() {
            let mut claimed = spool.as_os_str().to_os_string();
            claimed.push(format!(".replaying.{}", std::process::id()));
            let claimed = PathBuf::from(claimed);
            if fs::rename(&spool, &claimed).is_ok() {
                claims.push(claimed);
            } // else another process claimed it first
        }
        for claimed in claims {
            replayed += replay_file(store, &claimed, &mut handle)?;
        }
    }
    Ok(replayed)
}

fn replay_file(
    store: &Store,
    claimed: &Path,
    handle: &mut impl FnMut(&Store, SpooledPayload) -> Result<()>,
) -> Result<usize> {
    let file = fs::File::open(claimed)?;
    let mut lines = Vec::new();
    for line in BufReader::new(file).split(b'\n') {
        let line = line?;
        if !line.is_empty() {
            lines.push(line);
        }
    }
    store.write_tx(|s| {
        for line in &lines {
            match serde_json::from_slice::<SpooledPayload>(line) {
                Ok(p) => handle(s, p)?,
                Err(e) => s.quarantine("spool", &format!("unreadable spool line: {e}"), line)?,
            }
        }
        Ok(())
    })?;
    let _ = fs::remove_file(claimed);
    Ok(lines.len())
}

/// Claims left behind by a replayer that died before finishing (its pid no longer runs):
/// re-claimed under our pid so that exactly one process replays each.
fn abandoned_claims(spool: &Path) -> Vec<PathBuf> {
    let (Some(dir), Some(name)) = (spool.parent(), spool.file_name().and_then(|n| n.to_str()))
    else {
        return Vec::new();
    };
    let prefix = format!("{name}.replaying.");
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let file = entry.file_name();
        let Some(pid) = file
            .to_str()
            .and_then(|f| f.strip_prefix(&prefix))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        let mine = dir.join(format!("{prefix}{}.{pid}", std::process::id()));
        if fs::rename(entry.path(), &mine).is_ok() {
            out.push(mine);
        }
    }
    out
}
