//! The SQLite store: opening (creating, migrating, refusing newer schemas), appending events,
//! usage rows and quarantined payloads, and the spool that keeps payloads when SQLite cannot.

pub mod packed;
pub mod schema;
mod spool;

pub use spool::{
    count_spool_lines, spool_files, spool_payload, Budget, FileState, Replayed, SpoolFile,
    SpooledPayload,
};

use crate::error::{Error, Result};
use rusqlite::config::DbConfig;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use std::fs::{self, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long a hook waits for a lock before it spools the payload instead (the next open replays
/// it). Uncontended, a hook holds the lock for well under a millisecond; readers and derivation
/// hold it in short transactions. Claude Code must never wait on us.
pub const HOOK_BUSY_TIMEOUT: Duration = Duration::from_millis(100);
/// Readers wait longer: they are run by a person, not in Claude Code's hot path.
pub const READER_BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Hooks do not checkpoint on close (that costs four fsyncs every time). The next process then
/// rebuilds the WAL index from the WAL — SQLite resets the shared-memory index when no other
/// connection is open, forgetting how much was checkpointed — so its cost grows with the WAL.
/// Past this size a hook checkpoints with TRUNCATE, emptying the WAL: one hook in a few dozen
/// pays the fsyncs, every other one reads a short WAL.
const HOOK_WAL_TRUNCATE_BYTES: u64 = 256 * 1024;
/// Pages one `PRAGMA incremental_vacuum` step frees (4 MB at SQLite's default 4 KB page).
const VACUUM_STEP: i64 = 1024;

/// An open database.
pub struct Store {
    pub(crate) conn: Connection,
    path: PathBuf,
    /// `path` with its directory resolved, as `/proc/self/fd` shows it (computed once).
    resolved: std::cell::OnceCell<PathBuf>,
}

/// One event to append to the log.
#[derive(Debug, Clone, Default)]
pub struct NewEvent<'a> {
    pub ts: i64,
    pub source: &'a str,
    pub kind: &'a str,
    pub session_id: Option<&'a str>,
    pub prompt_id: Option<&'a str>,
    pub agent_id: Option<&'a str>,
    pub agent_type: Option<&'a str>,
    pub tool_name: Option<&'a str>,
    pub tool_use_id: Option<&'a str>,
    pub payload: &'a str,
    /// The host process's readings, taken by the hook that received the payload (agent starts
    /// and stops only; None elsewhere, and for imported events).
    pub host: Option<crate::host::HostReading>,
}

/// Token usage of one model response.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UsageRow {
    pub session_id: String,
    /// Empty for the session's main agent.
    pub agent_id: String,
    pub message_key: String,
    pub prompt_id: Option<String>,
    pub model: String,
    pub ts: Option<i64>,
    pub input: i64,
    pub output: i64,
    pub cache_read: i64,
    pub cache_5m: i64,
    pub cache_1h: i64,
}

impl UsageRow {
    /// All tokens of the response, every kind.
    pub fn total(&self) -> i64 {
        self.input + self.output + self.cache_read + self.cache_5m + self.cache_1h
    }
}

/// Current time in unix milliseconds.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Store {
    /// Opens (creating and migrating when needed) for a hook: short busy timeout, no
    /// checkpoint on close. Retries the races of a brand-new file (WAL switch, first schema).
    pub fn open_for_hook(path: &Path) -> Result<Store> {
        ensure_private_dir(&crate::paths::dir_of(path))?;
        refuse_symlinks(path)?;
        ensure_private_file(path)?;
        let deadline = Instant::now() + HOOK_BUSY_TIMEOUT;
        let mut attempt = 0u32;
        loop {
            match Self::try_open_writer(path, HOOK_BUSY_TIMEOUT) {
                Ok(store) => {
                    // Poll the lock every millisecond (SQLite's own handler sleeps up to 100 ms
                    // between tries and misses the short gaps between a reader's transactions).
                    store.conn.busy_handler(Some(hook_busy))?;
                    // Each hook is usually the only connection: without this, closing it
                    // checkpoints and deletes the WAL every time (four fsyncs per hook).
                    store
                        .conn
                        .set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)?;
                    store.conn.execute_batch("PRAGMA wal_autocheckpoint = 0")?;
                    return Ok(store);
                }
                Err(e @ (Error::NewerSchema { .. } | Error::CorruptDatabase { .. })) => {
                    return Err(e)
                }
                Err(e) if Instant::now() >= deadline => return Err(e),
                Err(_) => {
                    attempt += 1;
                    std::thread::sleep(Duration::from_millis(jitter_ms(attempt)));
                }
            }
        }
    }

    /// Opens for a reader: the database must exist; migrates an older schema, refuses a newer one.
    pub fn open_reader(path: &Path) -> Result<Store> {
        Self::open_reader_waiting(path, READER_BUSY_TIMEOUT)
    }

    /// [`Store::open_reader`] with another busy timeout (the status line waits milliseconds,
    /// not seconds).
    pub fn open_reader_waiting(path: &Path, busy: Duration) -> Result<Store> {
        refuse_symlinks(path)?;
        let meta = match fs::metadata(path) {
            Ok(m) => m,
            Err(_) => return Err(Error::MissingDatabase(path.to_path_buf())),
        };
        if meta.len() == 0 {
            // Never initialise a file a reader was pointed at (it may be a mistake): hooks,
            // install.sh and `analyze doctor --init` create databases.
            return Err(Error::CorruptDatabase {
                path: path.to_path_buf(),
                reason: "the file is empty (a new database is created by the first hook, ./install.sh or `analyze doctor --init`)".into(),
            });
        }
        Self::try_open_writer(path, busy)
    }

    /// For bulk work (deriving many events, importing): a 64 MB page cache and memory-mapped
    /// reads spare a `pread` per page (measured: a third of a large derivation's time was system
    /// time without them). Not for everyday queries: mapping cost `query-best-agent` ~40 ms.
    /// The WAL is checkpointed every 64 MB instead of every 4 MB: a bulk derivation's commits
    /// rewrite the same index pages, and each checkpoint copied them (and synced the file)
    /// again (100k runs: 50 → 38 s).
    /// (No `temp_store` change here: changing it drops the TEMP rollup triggers; every writer
    /// sets it when it opens.)
    pub fn tune_for_reading(&self) -> Result<()> {
        self.conn
            .execute_batch(
            "PRAGMA cache_size = -65536; PRAGMA mmap_size = 268435456; PRAGMA wal_autocheckpoint = 16384;",
        )?;
        Ok(())
    }

    /// Creates the database (private directory and file) if needed and brings it up to date.
    pub fn create(path: &Path) -> Result<Store> {
        ensure_private_dir(&crate::paths::dir_of(path))?;
        refuse_symlinks(path)?;
        ensure_private_file(path)?;
        Self::try_open_writer(path, READER_BUSY_TIMEOUT)
    }

    /// A private database in memory with the current schema, gone when dropped: for computing
    /// with the real import and derivation without writing anything (`analyze doctor --coverage`
    /// derives the transcripts' runs here).
    pub fn in_memory() -> Result<Store> {
        let store = Store {
            conn: Connection::open_in_memory()?,
            path: PathBuf::from(":memory:"),
            resolved: std::cell::OnceCell::new(),
        };
        store.migrate()?;
        Ok(store)
    }

    fn try_open_writer(path: &Path, busy: Duration) -> Result<Store> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(busy)?;
        // Statement journals in memory: every derivation statement that fires the rollup
        // triggers journals the pages it changes, and on disk (SQLite's default past 64 KiB per
        // transaction) that was a `pwrite` per page, a fifth of a large derivation's time.
        // Before any TEMP object exists: changing it later would drop them.
        conn.execute_batch("PRAGMA temp_store = MEMORY")?;
        let store = Store {
            conn,
            path: path.to_path_buf(),
            resolved: std::cell::OnceCell::new(),
        };
        store.prepare_schema()?;
        Ok(store)
    }

    fn prepare_schema(&self) -> Result<()> {
        let (version, app, tables) = self.schema_snapshot().map_err(|e| self.corrupt(e))?;
        if version > schema::CURRENT_VERSION {
            return Err(Error::NewerSchema {
                found: version,
                supported: schema::CURRENT_VERSION,
            });
        }
        if version == schema::CURRENT_VERSION {
            self.conn.execute_batch("PRAGMA synchronous = NORMAL")?;
            return Ok(());
        }
        if version == 0 {
            self.check_is_ours(app, tables)?;
            // Before the first table (it cannot be turned on later without a full VACUUM): lets
            // `analyze prune` give pages back in small steps (docs/retention.md).
            if tables == 0 {
                self.conn
                    .execute_batch("PRAGMA auto_vacuum = INCREMENTAL")?;
            }
            // journal_mode=WAL is persistent; switching needs a moment alone with the file.
            let mode: String = self
                .conn
                .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(Error::Sqlite(rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                    Some(format!("journal_mode stayed {mode}")),
                )));
            }
        }
        self.conn.execute_batch("PRAGMA synchronous = NORMAL")?;
        self.migrate()
    }

    /// Schema version, application id and table count, read in one transaction: a consistent
    /// snapshot even while another process is creating the schema.
    fn schema_snapshot(&self) -> rusqlite::Result<(i64, i64, i64)> {
        self.conn.execute_batch("BEGIN")?;
        let read = (|| {
            Ok((
                self.conn
                    .query_row("PRAGMA user_version", [], |r| r.get(0))?,
                self.conn
                    .query_row("PRAGMA application_id", [], |r| r.get(0))?,
                self.conn
                    .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?,
            ))
        })();
        let _ = self.conn.execute_batch("COMMIT");
        read
    }

    /// A version-0 file must be empty (brand new) or already carry our application id.
    fn check_is_ours(&self, app: i64, tables: i64) -> Result<()> {
        if app != 0 && app != schema::APPLICATION_ID || app == 0 && tables > 0 {
            return Err(Error::CorruptDatabase {
                path: self.path.clone(),
                reason: "it holds tables of another application".into(),
            });
        }
        Ok(())
    }

    fn migrate(&self) -> Result<()> {
        // BEGIN IMMEDIATE takes the write lock first, so racing first writers queue here and
        // the loser sees the winner's user_version instead of re-running CREATE TABLE.
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        let result = (|| -> Result<()> {
            let version: i64 = self
                .conn
                .query_row("PRAGMA user_version", [], |r| r.get(0))?;
            if version > schema::CURRENT_VERSION {
                return Err(Error::NewerSchema {
                    found: version,
                    supported: schema::CURRENT_VERSION,
                });
            }
            for (i, sql) in schema::MIGRATIONS.iter().enumerate().skip(version as usize) {
                self.conn.execute_batch(sql)?;
                if i == 0 {
                    self.conn.execute_batch(&schema::rollup_triggers())?;
                    self.conn.execute_batch(&format!(
                        "PRAGMA application_id = {}",
                        schema::APPLICATION_ID
                    ))?;
                }
            }
            self.conn.execute_batch(&format!(
                "PRAGMA user_version = {}",
                schema::CURRENT_VERSION
            ))?;
            Ok(())
        })();
        match result {
            Ok(()) => Ok(self.conn.execute_batch("COMMIT")?),
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }

    fn corrupt(&self, e: rusqlite::Error) -> Error {
        if crate::error::is_corrupt(&e) {
            Error::CorruptDatabase {
                path: self.path.clone(),
                reason: e.to_string(),
            }
        } else {
            Error::Sqlite(e)
        }
    }

    /// Whether the file this connection writes is still the one at its path. A database deleted
    /// (or moved aside and replaced) while open takes what is committed to it along: a caller
    /// then keeps its payload elsewhere. Read from `/proc/self/fd` (the file SQLite opened, even
    /// deleted); true where that cannot be known.
    pub fn file_is_current(&self) -> bool {
        use std::os::unix::fs::MetadataExt;
        let Ok(fds) = fs::read_dir("/proc/self/fd") else {
            return true;
        };
        let want = self.resolved.get_or_init(|| {
            fs::canonicalize(crate::paths::dir_of(&self.path))
                .map(|d| d.join(self.path.file_name().unwrap_or_default()))
                .unwrap_or_else(|_| self.path.clone())
        });
        let deleted = format!("{} (deleted)", want.display());
        for fd in fds.flatten() {
            let Ok(target) = fs::read_link(fd.path()) else {
                continue;
            };
            if &target == want {
                // The fd's file (metadata follows the link to the open file itself).
                let (Ok(open), Some(now)) = (fs::metadata(fd.path()), file_identity(&self.path))
                else {
                    return false;
                };
                return (open.dev(), open.ino()) == now && open.nlink() > 0;
            }
            if target.as_os_str() == deleted.as_str() {
                return false;
            }
        }
        true
    }

    /// The underlying connection (for the library's own modules).
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one event; returns its id. The payload is redacted here, whoever built it
    /// (hooks redact before parsing too; transcript summaries carry sidecar text).
    pub fn append_event(&self, e: &NewEvent<'_>) -> Result<i64> {
        let payload = crate::redact::redact(e.payload);
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO events (ts, recorded_at, source, kind, session_id, prompt_id, agent_id, agent_type, tool_name, tool_use_id, payload,
                host_pid, host_cpu_ms, host_rss_kb)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        )?;
        let h = e.host;
        stmt.execute(params![
            e.ts,
            now_ms(),
            e.source,
            e.kind,
            e.session_id,
            e.prompt_id,
            e.agent_id,
            e.agent_type,
            e.tool_name,
            e.tool_use_id,
            &*payload,
            h.map(|h| h.pid),
            h.and_then(|h| h.cpu_ms),
            h.and_then(|h| h.rss_kb)
        ])?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Stores usage rows, keeping for each message the copy with the largest token total.
    pub fn upsert_usage(&self, rows: &[UsageRow]) -> Result<()> {
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO usage (session_id, agent_id, message_key, prompt_id, model, ts, input, output, cache_read, cache_5m, cache_1h)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
             ON CONFLICT (session_id, agent_id, message_key) DO UPDATE SET
                prompt_id = coalesce(usage.prompt_id, excluded.prompt_id),
                model = excluded.model, ts = coalesce(usage.ts, excluded.ts),
                input = excluded.input, output = excluded.output, cache_read = excluded.cache_read,
                cache_5m = excluded.cache_5m, cache_1h = excluded.cache_1h
             WHERE excluded.input + excluded.output + excluded.cache_read + excluded.cache_5m + excluded.cache_1h
                 > usage.input + usage.output + usage.cache_read + usage.cache_5m + usage.cache_1h",
        )?;
        for r in rows {
            stmt.execute(params![
                r.session_id,
                r.agent_id,
                r.message_key,
                r.prompt_id,
                r.model,
                r.ts,
                r.input,
                r.output,
                r.cache_read,
                r.cache_5m,
                r.cache_1h
            ])?;
        }
        Ok(())
    }

    /// Keeps a payload that could not be understood, with its raw bytes (secrets redacted, even
    /// in bytes that are not UTF-8) and the reason.
    pub fn quarantine(&self, binary: &str, reason: &str, raw: &[u8]) -> Result<()> {
        let raw = crate::redact::redact_bytes(raw);
        let reason = crate::redact::redact(reason);
        self.conn.execute(
            "INSERT INTO quarantine (recorded_at, binary, reason, raw) VALUES (?1, ?2, ?3, ?4)",
            params![now_ms(), binary, &*reason, &*raw],
        )?;
        Ok(())
    }

    /// The derivation cursor (`derive_state` 'events'): events at or below it are in the
    /// projection (0: none yet).
    pub fn derive_cursor(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row(
                "SELECT value FROM derive_state WHERE key = 'events'",
                [],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(0))
    }

    /// Whether one of the last `window` events is a `kind` event of this session and prompt: a
    /// look back bounded by rowid, cheap enough for a hook (events have no session index).
    pub fn recent_event_exists(
        &self,
        session: &str,
        prompt: Option<&str>,
        kind: &str,
        window: i64,
    ) -> Result<bool> {
        // A packed event's keys are in its frame (`source` ''; crate::store::packed): those of
        // this kind are read there (the latest events are rarely packed yet).
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {} FROM events WHERE id > (SELECT coalesce(max(id), 0) FROM events) - ?4
                 AND kind = ?3 AND ((session_id = ?1 AND prompt_id IS ?2) OR source = '')",
            packed::KEYS_SQL
        ))?;
        let mut rows = stmt.query(params![session, prompt, kind, window])?;
        while let Some(r) = rows.next()? {
            let k = packed::Keys::from_row(&self.conn, r, 0)?;
            if k.session_id.as_deref() == Some(session) && k.prompt_id.as_deref() == prompt {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The read offset of a transcript file, and the prompt id in force there.
    pub fn transcript_cursor(&self, path: &str) -> Result<Option<(u64, Option<String>)>> {
        Ok(self
            .conn
            .query_row(
                "SELECT offset, prompt_id FROM transcript_cursor WHERE path = ?1",
                [path],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)),
            )
            .optional()?)
    }

    /// Records how far a transcript has been read. Only ever advances: two hooks may read the
    /// same file at once, outside their transactions, and the one that read less commits last.
    pub fn set_transcript_cursor(
        &self,
        path: &str,
        offset: u64,
        prompt_id: Option<&str>,
    ) -> Result<()> {
        self.conn.execute(
            "INSERT INTO transcript_cursor (path, offset, prompt_id) VALUES (?1, ?2, ?3)
             ON CONFLICT (path) DO UPDATE SET offset = excluded.offset, prompt_id = excluded.prompt_id
             WHERE excluded.offset >= transcript_cursor.offset",
            params![path, offset as i64, prompt_id],
        )?;
        Ok(())
    }

    /// Gives the file's free pages back to the file system in incremental-vacuum steps of
    /// [`VACUUM_STEP`] pages with a 1 ms pause between them (each step takes the write lock
    /// briefly), until none is left (true) or `deadline` has passed (false). Needs `auto_vacuum
    /// = INCREMENTAL` (set when a database is created); without it, frees nothing and says true.
    pub fn give_back_free_pages(&self, deadline: Option<Instant>) -> Result<bool> {
        loop {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(false);
            }
            // The pragma returns a row per page it frees: every row must be stepped through, or
            // one page goes per step (with the pause: 4 MB/s).
            let mut step = self
                .conn
                .prepare_cached(&format!("PRAGMA incremental_vacuum({VACUUM_STEP})"))?;
            let mut rows = step.query([])?;
            while rows.next()?.is_some() {}
            let left: i64 = self
                .conn
                .query_row("PRAGMA freelist_count", [], |r| r.get(0))?;
            let mode: i64 = self
                .conn
                .query_row("PRAGMA auto_vacuum", [], |r| r.get(0))?;
            if left == 0 || mode != 2 {
                return Ok(true);
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Brings the rollups up to date with the runs and tool rows changed since the last flush,
    /// inside the transaction that changed them, before it commits (derivation and
    /// `retention::keep_pruned`, with [`schema::temp_batch_rollup_triggers`] installed).
    pub fn flush_rollups(&self) -> Result<()> {
        thread_local! {
            static SQL: String = schema::flush_batch_rollups_sql();
        }
        SQL.with(|sql| -> Result<()> {
            for stmt in sql
                .split_inclusive(';')
                .map(str::trim)
                .filter(|x| !x.is_empty())
            {
                self.conn.prepare_cached(stmt)?.execute([])?;
            }
            Ok(())
        })
    }

    /// Runs `f` in one write transaction (BEGIN IMMEDIATE: no lock upgrade deadlocks).
    pub fn write_tx<T>(&self, f: impl FnOnce(&Store) -> Result<T>) -> Result<T> {
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        match f(self) {
            Ok(v) => {
                self.conn.execute_batch("COMMIT")?;
                Ok(v)
            }
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }

    /// Empties the WAL into the database once it has passed [`HOOK_WAL_TRUNCATE_BYTES`], if it
    /// can at once. A TRUNCATE checkpoint holds the writer lock while it waits for readers, so
    /// waiting here (it once waited up to 50 ms) stalled every other hook behind it whenever a
    /// reader was open — `analyze serve`'s watcher reads every 100 ms, and with ten agents
    /// stopping together hooks ran out of their own 100 ms. Busy now means "the next hook tries
    /// again"; while a long-lived reader keeps the WAL's index mapped, a longer WAL costs nobody
    /// a rebuild. Never fails the caller.
    pub fn truncate_wal_if_large(&self) {
        if fs::metadata(crate::paths::with_suffix(&self.path, "-wal"))
            .map(|m| m.len() > HOOK_WAL_TRUNCATE_BYTES)
            .unwrap_or(false)
        {
            let _ = self.conn.busy_handler(None);
            let _ = self
                .conn
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
            let _ = self.conn.busy_handler(Some(hook_busy));
        }
    }

    /// Replays payloads spooled while the database was unavailable, within `budget`, each
    /// exactly once (see [`spool`]).
    pub fn replay_spool<T>(
        &self,
        budget: Budget,
        prepare: impl FnMut(&Store, SpooledPayload) -> T,
        write: impl FnMut(&Store, &T) -> Result<()>,
    ) -> Result<Replayed> {
        spool::replay(self, budget, prepare, write)
    }

    /// True when a spool file of this database waits to be replayed.
    pub fn spool_has_work(&self) -> bool {
        spool::has_work(&crate::paths::spool_path(&self.path))
            || spool::has_work(&crate::paths::fallback_spool_path(&self.path))
    }
}

/// Creates `dir` (and parents) with mode 0700 when missing. An existing directory that others
/// can write to is tightened (group/other write removed) when it is ours, refused otherwise: in
/// such a directory anyone could plant files where ours go.
pub fn ensure_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    match fs::metadata(dir) {
        Ok(m) if m.is_dir() => {
            let mode = m.mode() & 0o7777;
            if mode & 0o022 == 0 {
                return Ok(());
            }
            let mine = fs::metadata("/proc/self").map(|s| s.uid()).ok() == Some(m.uid());
            if mine && mode & 0o1000 == 0 {
                fs::set_permissions(dir, fs::Permissions::from_mode(mode & !0o022))
            } else {
                Err(std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    format!(
                        "{} is writable by other users (mode {mode:04o}): refusing to keep data there; \
                         use a private directory (AGENT_TELEMETRY_DB) or run: chmod go-w '{}'",
                        dir.display(),
                        dir.display()
                    ),
                ))
            }
        }
        _ => {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)?;
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
        }
    }
}

/// Refuses a database path (or its `-wal` / `-shm`) that is a symlink: SQLite would follow it
/// and write our data (and create files, world-readable) wherever it points.
pub fn refuse_symlinks(db: &Path) -> Result<()> {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let p = crate::paths::with_suffix(db, suffix);
        if fs::symlink_metadata(&p).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(Error::UnsafePath {
                path: p,
                reason: "it is a symlink; agent-telemetry never follows links where its files live (remove it)".into(),
            });
        }
    }
    Ok(())
}

/// The identity (device, inode) of the file at `path`.
pub fn file_identity(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    fs::symlink_metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// A hook's busy handler: retry every millisecond, about [`HOOK_BUSY_TIMEOUT`] in all.
fn hook_busy(attempt: i32) -> bool {
    if i64::from(attempt) >= HOOK_BUSY_TIMEOUT.as_millis() as i64 {
        return false;
    }
    std::thread::sleep(Duration::from_millis(1));
    true
}

/// Creates `path` empty with mode 0600 when missing, so SQLite (and its -wal/-shm files,
/// which copy the database's mode) never create it world-readable.
pub fn ensure_private_file(path: &Path) -> std::io::Result<()> {
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// A few milliseconds, growing with the attempt, varied by process so racers spread out.
fn jitter_ms(attempt: u32) -> u64 {
    let spread = u64::from(std::process::id() % 7);
    (u64::from(attempt.min(10)) * 3 + spread).max(1)
}
