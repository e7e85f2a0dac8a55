//! Registering the hooks in Claude Code settings files: `analyze hooks install | uninstall |
//! status` (install.sh calls these; `analyze doctor` reuses [`status`]).
//!
//! The settings file belongs to the user: we change only what we own and keep everything else,
//! key order included (serde_json's `preserve_order` feature: its maps keep insertion order, so
//! a file read into a `Value` is written back in its own order).
//!
//! * **Ours** = a hook entry whose command is one of [`BINARIES`] given by absolute path
//!   (optionally quoted, no arguments). No marker key is written: Claude Code validates hook
//!   entries and an unknown key could make it reject the whole file.
//! * **install** updates our entry in place when there is one (command, timeout, type), drops our
//!   duplicates, and otherwise joins the first non-empty matcher group with the same matcher or
//!   appends a new group. Running it again changes nothing and writes nothing (byte-identical file).
//! * **uninstall** removes our entries (only those under `--bin-dir` when given), the matcher
//!   groups and event arrays it emptied, and the `hooks` object when it emptied it.
//! * Every write: refuse files that are not JSON or whose `hooks` has an unexpected shape, back up
//!   the original (`settings.json.agent-telemetry.bak`, timestamped when one exists), write a
//!   temp file beside it and rename it over (keeping the mode; through a symlink to its target).
//!
//! Layout: `cli` (the subcommands and their output), `merge` (the text → text edit and why it
//! can refuse), `file` (reading, backing up and atomically replacing the file; the dry-run diff),
//! `status` (what is registered where), `statusline` (Claude Code's `statusLine` setting:
//! `analyze hooks statusline install | uninstall`).

mod cli;
mod file;
mod merge;
mod status;
pub mod statusline;

pub use cli::{
    run, HooksCommand, InstallArgs, StatusArgs, StatuslineCommand, StatuslineInstallArgs,
    StatuslineUninstallArgs, TargetArgs, UninstallArgs,
};
pub use file::{claude_config_dir, user_settings_path};
pub use merge::{install_text, our_command, uninstall_text, Edit, Unsafe};
pub use status::{status, FileStatus, HookStatus, PluginStatus, Status};

use std::fmt;

/// Seconds Claude Code gives each of our hooks. They take milliseconds; the cap only matters
/// when the disk stalls, and Claude Code's default (600 s) would freeze the session.
pub const HOOK_TIMEOUT_SECS: u64 = 10;

/// The hook binaries this suite registers.
pub const BINARIES: [&str; 3] = ["subagent-start", "subagent-stop", "workflow-event"];

/// One hook registration: which binary Claude Code runs for which event and matcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Registration {
    pub event: &'static str,
    pub matcher: &'static str,
    pub binary: &'static str,
}

impl fmt::Display for Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}) → {}", self.event, self.matcher, self.binary)
    }
}

const fn reg(event: &'static str, matcher: &'static str, binary: &'static str) -> Registration {
    Registration {
        event,
        matcher,
        binary,
    }
}

/// Every registration, in the order they are written. `PostToolUseFailure` matches every tool:
/// other tools' failures count as tool errors of the agent that ran them.
pub const REGISTRATIONS: [Registration; 10] = [
    reg("SubagentStart", "*", "subagent-start"),
    reg("PreToolUse", "Agent|Task", "subagent-start"),
    reg("SubagentStop", "*", "subagent-stop"),
    reg("PostToolUse", "Agent|Task", "subagent-stop"),
    reg("PostToolUseFailure", "*", "subagent-stop"),
    reg("SessionStart", "*", "workflow-event"),
    reg("UserPromptSubmit", "*", "workflow-event"),
    reg("Stop", "*", "workflow-event"),
    reg("StopFailure", "*", "workflow-event"),
    reg("SessionEnd", "*", "workflow-event"),
];
