//! Typed errors for the readers. Hooks never surface errors: they log and keep the payload.

use std::path::PathBuf;

/// An error a reader (`analyze`, `query-best-agent`) reports to the user with exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no database at {0} (run ./install.sh, or point --db / AGENT_TELEMETRY_DB at one)")]
    MissingDatabase(PathBuf),
    #[error("{path} is not an agent-telemetry database: {reason}")]
    CorruptDatabase { path: PathBuf, reason: String },
    #[error("database schema version {found} is newer than this build understands ({supported}); upgrade agent-telemetry")]
    NewerSchema { found: i64, supported: i64 },
    #[error("refusing {path}: {reason}")]
    UnsafePath { path: PathBuf, reason: String },
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    #[error("unknown agent '{name}'{hint}")]
    UnknownAgent { name: String, hint: String },
    /// `analyze alerts --fail-on-alert` with alerts firing: exit 3, not an error of the reader.
    #[error("{0} alert(s) firing")]
    AlertsFiring(usize),
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}

/// SQLite says the file is damaged (or not a database at all).
pub fn is_corrupt(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
    )
}

impl Error {
    /// What to do about it, for errors a person can fix.
    pub fn hint(&self) -> Option<String> {
        let corrupt = match self {
            Error::Sqlite(e) => is_corrupt(e),
            Error::CorruptDatabase { reason, .. } => reason.contains("malformed"),
            _ => false,
        };
        corrupt.then(|| {
            "the database file is damaged: `analyze doctor` says how to recover it (sqlite3 .recover into a new file, keeping the old one); hooks keep what arrives meanwhile in the spool".to_string()
        })
    }
}

/// Shorthand for results carrying [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Parses a reader's command line. `--help`/`--version` exit 0; a usage error prints clap's
/// message and exits 2 (readers are run by people; only hooks must never exit 2).
pub fn parse_reader_args<T: clap::Parser>() -> std::result::Result<T, std::process::ExitCode> {
    T::try_parse().map_err(|e| {
        let _ = e.print();
        if e.use_stderr() {
            std::process::ExitCode::from(2)
        } else {
            std::process::ExitCode::SUCCESS
        }
    })
}
