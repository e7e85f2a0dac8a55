//! The `analyze hooks` subcommands: arguments, which file they name, and what they print.

use super::file::{apply, is_executable, user_settings_path, Applied};
use super::merge::{install_text, uninstall_text};
use super::status::status;
use super::BINARIES;
use crate::error::Result;
use std::io::Write;
use std::path::{Path, PathBuf};

/// `analyze hooks …`
#[derive(clap::Subcommand, Debug, Clone)]
pub enum HooksCommand {
    /// Add this suite's hooks to a settings file (merging; idempotent; backs the file up first).
    Install(InstallArgs),
    /// Remove exactly the hooks this suite added.
    Uninstall(UninstallArgs),
    /// Which of our hooks are registered in which settings files (and whether the plugin is).
    /// Exit 1 when some are missing or need attention.
    Status(StatusArgs),
    /// Register `analyze statusline` as Claude Code's status line, or remove it (install.sh
    /// --statusline).
    #[command(subcommand)]
    Statusline(StatuslineCommand),
}

/// `analyze hooks statusline …`
#[derive(clap::Subcommand, Debug, Clone)]
pub enum StatuslineCommand {
    /// Set `statusLine` to this `analyze statusline` (with the global --db when given); refuses
    /// to replace a status line you already have unless --force (it is kept for uninstall).
    Install(StatuslineInstallArgs),
    /// Put back the status line ours replaced (or remove ours); one that is not ours is left.
    Uninstall(StatuslineUninstallArgs),
}

/// Arguments of `analyze hooks statusline install`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct StatuslineInstallArgs {
    /// The settings file (default: $CLAUDE_CONFIG_DIR/settings.json or ~/.claude/settings.json).
    #[arg(long, value_name = "FILE")]
    pub settings: Option<PathBuf>,
    /// Directory of the installed `analyze` (default: the directory of this `analyze`).
    #[arg(long, value_name = "DIR")]
    pub bin_dir: Option<PathBuf>,
    /// Replace a status line that is not ours (it is kept; uninstall restores it).
    #[arg(long)]
    pub force: bool,
    /// Print the change as a diff and change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Arguments of `analyze hooks statusline uninstall`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct StatuslineUninstallArgs {
    /// The settings file (default: $CLAUDE_CONFIG_DIR/settings.json or ~/.claude/settings.json).
    #[arg(long, value_name = "FILE")]
    pub settings: Option<PathBuf>,
    /// Print the change as a diff and change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Which settings file to change.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct TargetArgs {
    /// The settings file (default: $CLAUDE_CONFIG_DIR/settings.json or ~/.claude/settings.json).
    #[arg(long, value_name = "FILE", conflicts_with = "project")]
    pub settings: Option<PathBuf>,
    /// Use the project's settings: DIR/.claude/settings.json.
    // Same id and type as the global `--project` filter, so clap treats them as one argument.
    #[arg(long, value_name = "DIR")]
    pub project: Option<String>,
    /// With --project: DIR/.claude/settings.local.json (not committed) instead.
    #[arg(long, requires = "project")]
    pub local: bool,
    /// Print the change as a diff and change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Arguments of `analyze hooks install`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct InstallArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Directory of the installed hook binaries (default: the directory of this `analyze`).
    #[arg(long, value_name = "DIR")]
    pub bin_dir: Option<PathBuf>,
}

/// Arguments of `analyze hooks uninstall`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct UninstallArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Remove only hooks whose binaries live in DIR (default: our binaries wherever they live).
    #[arg(long, value_name = "DIR")]
    pub bin_dir: Option<PathBuf>,
}

/// Arguments of `analyze hooks status`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct StatusArgs {
    /// Project whose .claude/settings*.json to inspect (default: the current directory).
    #[arg(long, value_name = "DIR")]
    pub project: Option<String>,
    /// `json` for JSON; `table` (default) for text.
    // Same id and type as the global `--format`, so clap treats them as one argument.
    #[arg(long, value_enum, default_value_t = crate::render::Format::Table)]
    pub format: crate::render::Format,
}

/// Runs a hooks subcommand (`db`: the global --db, which the status line command keeps).
/// `Ok(false)` (exit 1): `status` found hooks missing.
pub fn run(cmd: &HooksCommand, db: Option<&Path>) -> Result<bool> {
    match cmd {
        HooksCommand::Statusline(c) => run_statusline(c, db),
        HooksCommand::Install(a) => {
            let bin_dir = match &a.bin_dir {
                Some(d) => absolute(d)?,
                None => own_bin_dir()?,
            };
            let path = a.target.path()?;
            let out = apply(&path, a.target.dry_run, |text| install_text(text, &bin_dir))?;
            emit(&report("install", &path, &out, a.target.dry_run))?;
            // (install.sh copies the binaries first; a dry run may precede the copy.)
            for b in BINARIES.iter().filter(|_| !a.target.dry_run) {
                let p = bin_dir.join(b);
                if !is_executable(&p) {
                    eprintln!(
                        "analyze: warning: {} is not an executable file (yet)",
                        p.display()
                    );
                }
            }
            Ok(true)
        }
        HooksCommand::Uninstall(a) => {
            let bin_dir = a.bin_dir.as_deref().map(absolute).transpose()?;
            let path = a.target.path()?;
            if !path.exists() {
                emit(&format!(
                    "{}: no such file; nothing to remove\n",
                    path.display()
                ))?;
                return Ok(true);
            }
            let out = apply(&path, a.target.dry_run, |text| {
                uninstall_text(text, bin_dir.as_deref())
            })?;
            emit(&report("uninstall", &path, &out, a.target.dry_run))?;
            Ok(true)
        }
        HooksCommand::Status(a) => {
            let project = match &a.project {
                Some(p) => absolute(Path::new(p))?,
                None => std::env::current_dir()?,
            };
            let st = status(&project);
            if a.format == crate::render::Format::Json {
                emit(&(serde_json::to_string_pretty(&st)? + "\n"))?;
            } else {
                emit(&st.to_text())?;
            }
            Ok(st.healthy())
        }
    }
}

fn run_statusline(cmd: &StatuslineCommand, db: Option<&Path>) -> Result<bool> {
    let settings = |s: &Option<PathBuf>| match s {
        Some(p) => absolute(p),
        None => Ok(user_settings_path()),
    };
    let text = match cmd {
        StatuslineCommand::Install(a) => {
            let bin_dir = match &a.bin_dir {
                Some(d) => absolute(d)?,
                None => own_bin_dir()?,
            };
            let db = db.map(absolute).transpose()?;
            let command = super::statusline::command_for(&bin_dir.join("analyze"), db.as_deref());
            super::statusline::install(&settings(&a.settings)?, &command, a.force, a.dry_run)?
        }
        StatuslineCommand::Uninstall(a) => {
            super::statusline::uninstall(&settings(&a.settings)?, a.dry_run)?
        }
    };
    emit(&text)?;
    Ok(true)
}

impl TargetArgs {
    /// The settings file these options name.
    pub fn path(&self) -> Result<PathBuf> {
        if let Some(s) = &self.settings {
            return absolute(s);
        }
        if let Some(p) = &self.project {
            let dir = absolute(Path::new(p))?.join(".claude");
            return Ok(dir.join(if self.local {
                "settings.local.json"
            } else {
                "settings.json"
            }));
        }
        Ok(user_settings_path())
    }
}

fn absolute(p: &Path) -> Result<PathBuf> {
    Ok(std::path::absolute(p)?)
}

fn own_bin_dir() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    Ok(exe.parent().map(Path::to_path_buf).unwrap_or_default())
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
fn emit(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

fn report(verb: &str, path: &Path, out: &Applied, dry_run: bool) -> String {
    let e = &out.edit;
    if !e.changed {
        let what = if verb == "install" {
            "already up to date"
        } else {
            "none of our hooks found"
        };
        let then = if dry_run {
            "nothing would change"
        } else {
            "unchanged"
        };
        return format!("{}: {what}; {then}\n", path.display());
    }
    if dry_run {
        return out.diff.clone();
    }
    let mut msg = format!("{}: ", path.display());
    let mut parts = Vec::new();
    if e.added > 0 {
        parts.push(format!("registered {} hook(s)", e.added));
    }
    if e.updated > 0 {
        parts.push(format!("updated {} hook(s)", e.updated));
    }
    if e.removed > 0 {
        parts.push(format!("removed {} hook(s)", e.removed));
    }
    msg.push_str(&parts.join(", "));
    if let Some(b) = &out.backup {
        msg.push_str(&format!(" (backup: {})", b.display()));
    } else if out.created {
        msg.push_str(" (new file)");
    }
    msg.push('\n');
    msg
}
