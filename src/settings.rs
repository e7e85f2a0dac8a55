//! Registering the hooks in Claude Code settings files: `analyze hooks install | uninstall |
//! status` (install.sh calls these; `analyze doctor` reuses [`status`]).
//!
//! The settings file belongs to the user: we change only what we own and keep everything else,
//! key order included. That is why the file is read into [`Json`], an order-preserving value
//! (serde_json's own `Value` sorts keys unless the crate-wide `preserve_order` feature is on,
//! which would also reorder every other module's JSON output).
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

use crate::error::{Error, Result};
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use std::fmt;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

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

// ── Command line ─────────────────────────────────────────────────────────────────────────────

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

/// Runs a hooks subcommand. `Ok(false)` (exit 1): `status` found hooks missing.
pub fn run(cmd: &HooksCommand) -> Result<bool> {
    match cmd {
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

fn absolute(p: &Path) -> Result<PathBuf> {
    Ok(std::path::absolute(p)?)
}

fn own_bin_dir() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    Ok(exe.parent().map(Path::to_path_buf).unwrap_or_default())
}

fn is_executable(p: &Path) -> bool {
    fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
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

// ── Editing a file ───────────────────────────────────────────────────────────────────────────

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

struct Applied {
    edit: Edit,
    diff: String,
    backup: Option<PathBuf>,
    created: bool,
}

fn refuse(path: &Path, why: impl fmt::Display) -> Error {
    Error::Io(std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!(
            "refusing to change {}: {why}; fix or move the file and run again",
            path.display()
        ),
    ))
}

/// Reads `path` (missing = empty), edits it with `f`, and unless `dry_run` writes the result
/// atomically after backing up the original.
fn apply(
    path: &Path,
    dry_run: bool,
    f: impl FnOnce(&str) -> std::result::Result<Edit, String>,
) -> Result<Applied> {
    let target = resolve_symlink(path);
    let (original, existed) = match fs::read(&target) {
        Ok(b) => (
            String::from_utf8(b).map_err(|_| refuse(path, "it is not UTF-8 text"))?,
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

// ── The merge ────────────────────────────────────────────────────────────────────────────────

/// Adds (or updates) our ten registrations in settings text, commands under `bin_dir`.
/// `Err` explains why the text cannot be changed safely.
pub fn install_text(original: &str, bin_dir: &Path) -> std::result::Result<Edit, String> {
    let mut root = parse(original)?;
    let before = root.clone();
    let (mut added, mut updated) = (0, 0);
    let hooks = root.entry_object("hooks")?;
    for r in REGISTRATIONS {
        let desired = entry_for(&bin_dir.join(r.binary));
        let groups = hooks.entry_array(r.event, &format!("hooks.{}", r.event))?;
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
                None => groups.push(Json::Object(vec![
                    ("matcher".into(), Json::String(r.matcher.into())),
                    ("hooks".into(), Json::Array(vec![desired])),
                ])),
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
pub fn uninstall_text(original: &str, bin_dir: Option<&Path>) -> std::result::Result<Edit, String> {
    let mut root = parse(original)?;
    let before = root.clone();
    let Some(hooks) = root.get_mut("hooks") else {
        return Ok(finish(original, &before, root, 0, 0, 0));
    };
    let Json::Object(hooks_map) = hooks else {
        return Err(format!("\"hooks\" is {}, expected an object", hooks.kind()));
    };
    let want_dir = bin_dir.map(|d| d.to_string_lossy().trim_end_matches('/').to_string());
    let mut removed = 0;
    let mut emptied_events = Vec::new();
    for (k, (event, groups)) in hooks_map.iter_mut().enumerate() {
        let binaries: Vec<&str> = REGISTRATIONS
            .iter()
            .filter(|r| r.event == event.as_str())
            .map(|r| r.binary)
            .collect();
        if binaries.is_empty() {
            continue;
        }
        let Json::Array(groups) = groups else {
            return Err(format!(
                "\"hooks.{event}\" is {}, expected an array",
                groups.kind()
            ));
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
            emptied_events.push(k);
        }
    }
    for k in emptied_events.into_iter().rev() {
        hooks_map.remove(k);
    }
    if removed > 0 && hooks_map.is_empty() {
        root.remove("hooks");
    }
    Ok(finish(original, &before, root, 0, 0, removed))
}

fn finish(
    original: &str,
    before: &Json,
    root: Json,
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

fn parse(text: &str) -> std::result::Result<Json, String> {
    if text.trim().is_empty() {
        return Ok(Json::Object(Vec::new()));
    }
    let v: Json = serde_json::from_str(text).map_err(|e| format!("it is not valid JSON ({e})"))?;
    match v {
        Json::Object(_) => Ok(v),
        other => Err(format!("it holds {}, not a JSON object", other.kind())),
    }
}

/// Checks the shape of one event's matcher groups: objects with a `hooks` array of objects.
fn check_groups(groups: &[Json], event: &str) -> std::result::Result<(), String> {
    for (g, grp) in groups.iter().enumerate() {
        let Json::Object(_) = grp else {
            return Err(format!(
                "\"hooks.{event}[{g}]\" is {}, expected a matcher group object",
                grp.kind()
            ));
        };
        match grp.get("hooks") {
            Some(Json::Array(entries)) => {
                if let Some((i, e)) = entries
                    .iter()
                    .enumerate()
                    .find(|(_, e)| !matches!(e, Json::Object(_)))
                {
                    return Err(format!(
                        "\"hooks.{event}[{g}].hooks[{i}]\" is {}, expected an object",
                        e.kind()
                    ));
                }
            }
            Some(other) => {
                return Err(format!(
                    "\"hooks.{event}[{g}].hooks\" is {}, expected an array",
                    other.kind()
                ))
            }
            None => return Err(format!("\"hooks.{event}[{g}]\" has no \"hooks\" array")),
        }
    }
    Ok(())
}

/// (group, entry) positions of our entries, in document order, for which `want((dir, name))`.
fn find(groups: &[Json], want: impl Fn((&str, &str)) -> bool) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for (g, grp) in groups.iter().enumerate() {
        if let Some(Json::Array(entries)) = grp.get("hooks") {
            for (i, e) in entries.iter().enumerate() {
                if let Some(Json::String(cmd)) = e.get("command") {
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

fn is_empty_group(group: &Json) -> bool {
    matches!(group.get("hooks"), Some(Json::Array(a)) if a.is_empty())
}

fn group_hooks(group: &mut Json) -> &mut Vec<Json> {
    match group.get_mut("hooks") {
        Some(Json::Array(a)) => a,
        _ => unreachable!("checked by check_groups"),
    }
}

/// `None`, `""` and `"*"` all match everything.
fn same_matcher(group: &Json, matcher: &str) -> bool {
    let norm = |m: &str| {
        if m.is_empty() {
            "*".to_string()
        } else {
            m.to_string()
        }
    };
    match group.get("matcher") {
        None => norm("") == norm(matcher),
        Some(Json::String(m)) => norm(m) == norm(matcher),
        Some(_) => false,
    }
}

fn entry_for(binary: &Path) -> Json {
    Json::Object(vec![
        ("type".into(), Json::String("command".into())),
        (
            "command".into(),
            Json::String(shell_quote(&binary.to_string_lossy())),
        ),
        ("timeout".into(), Json::Number(HOOK_TIMEOUT_SECS.into())),
    ])
}

/// Makes an existing entry of ours look like `desired` (keeping any other keys it has, except
/// `async`: our hooks must finish before a `claude -p` run exits). True when it changed.
fn update_entry(entry: &mut Json, desired: &Json) -> bool {
    let before = entry.clone();
    if let Json::Object(d) = desired {
        for (k, v) in d {
            entry.set(k, v.clone());
        }
    }
    entry.remove("async");
    *entry != before
}

/// Hook commands run through a shell: quote paths that need it.
fn shell_quote(s: &str) -> String {
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

// ── Dry-run diff ─────────────────────────────────────────────────────────────────────────────

/// A unified-diff-like rendering of `before` → `after` (3 lines of context).
pub fn diff(before: &str, after: &str, name: &str) -> String {
    let a: Vec<&str> = before.lines().collect();
    let b: Vec<&str> = after.lines().collect();
    let mut out = format!("--- {name}\n+++ {name} (after)\n");
    if a.len().saturating_mul(b.len()) > 16_000_000 {
        // Too big for the quadratic diff below: show everything.
        out.push_str(&format!("@@ -1,{} +1,{} @@\n", a.len(), b.len()));
        a.iter().for_each(|l| out.push_str(&format!("-{l}\n")));
        b.iter().for_each(|l| out.push_str(&format!("+{l}\n")));
        return out;
    }
    // Longest common subsequence table, from the end.
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![0u32; (n + 1) * (m + 1)];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i * (m + 1) + j] = if a[i] == b[j] {
                lcs[(i + 1) * (m + 1) + j + 1] + 1
            } else {
                lcs[(i + 1) * (m + 1) + j].max(lcs[i * (m + 1) + j + 1])
            };
        }
    }
    let mut ops: Vec<(char, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            ops.push((' ', a[i]));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[(i + 1) * (m + 1) + j] >= lcs[i * (m + 1) + j + 1]) {
            ops.push(('-', a[i]));
            i += 1;
        } else {
            ops.push(('+', b[j]));
            j += 1;
        }
    }
    const CONTEXT: usize = 3;
    let changed: Vec<usize> = ops
        .iter()
        .enumerate()
        .filter(|(_, o)| o.0 != ' ')
        .map(|(k, _)| k)
        .collect();
    let mut k = 0;
    while k < changed.len() {
        let start = changed[k].saturating_sub(CONTEXT);
        let mut end = changed[k];
        while k + 1 < changed.len() && changed[k + 1] <= end + 2 * CONTEXT + 1 {
            k += 1;
            end = changed[k];
        }
        let end = (end + CONTEXT + 1).min(ops.len());
        let old_len = ops[start..end].iter().filter(|o| o.0 != '+').count();
        let new_len = ops[start..end].iter().filter(|o| o.0 != '-').count();
        // Unified diff numbers lines from 1; an empty range names the line before it.
        let from = |skipped: usize, len: usize| if len == 0 { skipped } else { skipped + 1 };
        let old_start = from(ops[..start].iter().filter(|o| o.0 != '+').count(), old_len);
        let new_start = from(ops[..start].iter().filter(|o| o.0 != '-').count(), new_len);
        out.push_str(&format!(
            "@@ -{old_start},{old_len} +{new_start},{new_len} @@\n"
        ));
        for (tag, line) in &ops[start..end] {
            out.push_str(&format!("{tag}{line}\n"));
        }
        k += 1;
    }
    out
}

// ── Status ───────────────────────────────────────────────────────────────────────────────────

/// Where our hooks are registered.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Status {
    /// The settings files looked at, in Claude Code's order (user, project, local).
    pub files: Vec<FileStatus>,
    /// The agent-telemetry Claude Code plugin, when installed or enabled.
    pub plugin: PluginStatus,
    /// Registrations found nowhere.
    pub missing: Vec<Registration>,
    /// Problems: binaries that do not exist, double registrations, unreadable files.
    pub warnings: Vec<String>,
}

/// One settings file.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FileStatus {
    /// `user`, `project` or `local`.
    pub scope: String,
    pub path: PathBuf,
    pub exists: bool,
    /// Why the file could not be read, if it could not.
    pub error: Option<String>,
    pub hooks: Vec<HookStatus>,
}

/// One registered hook of ours.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HookStatus {
    pub event: String,
    pub matcher: Option<String>,
    pub command: String,
    pub binary: String,
    pub timeout: Option<u64>,
    #[serde(rename = "async")]
    pub is_async: bool,
    /// Where the command resolves (None: relative to a plugin root we could not find).
    pub resolved: Option<PathBuf>,
    /// The resolved path exists and is executable.
    pub executable: bool,
}

/// The plugin, seen through `enabledPlugins` and the plugin cache under the config dir.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct PluginStatus {
    /// Directories holding an `agent-telemetry` plugin (`.claude-plugin/plugin.json`).
    pub installed: Vec<PathBuf>,
    /// `enabledPlugins` keys naming it, with the file that enables it.
    pub enabled_in: Vec<String>,
    /// Registrations from the installed plugin's hooks/hooks.json.
    pub hooks: Vec<HookStatus>,
}

impl PluginStatus {
    /// The plugin's hooks run only when it is installed and enabled.
    pub fn active(&self) -> bool {
        !self.installed.is_empty() && !self.enabled_in.is_empty()
    }
}

/// Looks at the user, project and local settings of `project_dir` and the plugin.
pub fn status(project_dir: &Path) -> Status {
    let mut files = Vec::new();
    let mut seen = Vec::new();
    let candidates = [
        ("user", user_settings_path()),
        ("project", project_dir.join(".claude/settings.json")),
        ("local", project_dir.join(".claude/settings.local.json")),
    ];
    let mut enabled_in = Vec::new();
    for (scope, path) in candidates {
        let canon = fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
        if seen.contains(&canon) {
            continue;
        }
        seen.push(canon);
        let (fs_, enabled) = file_status(scope, &path);
        enabled_in.extend(enabled.into_iter().map(|k| format!("{k} ({scope})")));
        files.push(fs_);
    }
    let mut plugin = PluginStatus {
        installed: find_plugins(&claude_config_dir().join("plugins")),
        enabled_in,
        hooks: Vec::new(),
    };
    if let Some(root) = plugin.installed.first() {
        if let Ok(text) = fs::read_to_string(root.join("hooks/hooks.json")) {
            if let Ok(v) = serde_json::from_str::<Json>(&text) {
                plugin.hooks = hooks_of(&v, Some(root));
            }
        }
    }
    let mut st = Status {
        files,
        plugin,
        missing: Vec::new(),
        warnings: Vec::new(),
    };
    st.check();
    st
}

fn file_status(scope: &str, path: &Path) -> (FileStatus, Vec<String>) {
    let mut out = FileStatus {
        scope: scope.into(),
        path: path.to_path_buf(),
        exists: path.exists(),
        error: None,
        hooks: Vec::new(),
    };
    let mut enabled = Vec::new();
    if !out.exists {
        return (out, enabled);
    }
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            out.error = Some(e.to_string());
            return (out, enabled);
        }
    };
    if text.trim().is_empty() {
        return (out, enabled);
    }
    match serde_json::from_str::<Json>(&text) {
        Ok(v) => {
            out.hooks = hooks_of(&v, None);
            if let Some(Json::Object(p)) = v.get("enabledPlugins") {
                for (k, on) in p {
                    if k.split('@').next() == Some("agent-telemetry") && *on == Json::Bool(true) {
                        enabled.push(k.clone());
                    }
                }
            }
        }
        Err(e) => out.error = Some(format!("not valid JSON: {e}")),
    }
    (out, enabled)
}

/// Our hooks in a settings (or plugin hooks.json) value; `plugin_root` expands
/// `${CLAUDE_PLUGIN_ROOT}`.
fn hooks_of(v: &Json, plugin_root: Option<&Path>) -> Vec<HookStatus> {
    let mut out = Vec::new();
    let Some(Json::Object(events)) = v.get("hooks") else {
        return out;
    };
    for (event, groups) in events {
        let Json::Array(groups) = groups else {
            continue;
        };
        for grp in groups {
            let matcher = match grp.get("matcher") {
                Some(Json::String(m)) => Some(m.clone()),
                _ => None,
            };
            let Some(Json::Array(entries)) = grp.get("hooks") else {
                continue;
            };
            for e in entries {
                let Some(Json::String(cmd)) = e.get("command") else {
                    continue;
                };
                let Some((dir, name)) = our_command(cmd) else {
                    continue;
                };
                let resolved = resolve(&dir, name, plugin_root);
                out.push(HookStatus {
                    event: event.clone(),
                    matcher: matcher.clone(),
                    command: cmd.clone(),
                    binary: name.to_string(),
                    timeout: match e.get("timeout") {
                        Some(Json::Number(n)) => n.as_u64(),
                        _ => None,
                    },
                    is_async: e.get("async") == Some(&Json::Bool(true)),
                    executable: resolved.as_deref().is_some_and(is_executable),
                    resolved,
                });
            }
        }
    }
    out
}

fn resolve(dir: &str, name: &str, plugin_root: Option<&Path>) -> Option<PathBuf> {
    if dir.is_empty() {
        let path = std::env::var_os("PATH")?;
        return std::env::split_paths(&path)
            .map(|d| d.join(name))
            .find(|p| is_executable(p));
    }
    for var in ["${CLAUDE_PLUGIN_ROOT}", "$CLAUDE_PLUGIN_ROOT"] {
        if let Some(rest) = dir.strip_prefix(var) {
            return plugin_root.map(|r| r.join(rest.trim_start_matches('/')).join(name));
        }
    }
    Some(Path::new(dir).join(name))
}

/// Plugin directories named agent-telemetry under Claude Code's plugin cache (bounded walk).
fn find_plugins(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![(root.to_path_buf(), 0)];
    while let Some((dir, depth)) = stack.pop() {
        let manifest = dir.join(".claude-plugin/plugin.json");
        if let Ok(text) = fs::read_to_string(&manifest) {
            if let Ok(v) = serde_json::from_str::<Json>(&text) {
                if v.get("name") == Some(&Json::String("agent-telemetry".into())) {
                    out.push(dir.clone());
                    continue;
                }
            }
        }
        if depth >= 5 {
            continue;
        }
        if let Ok(rd) = fs::read_dir(&dir) {
            for e in rd.flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir())
                    && e.file_name() != ".git"
                    && e.file_name() != "node_modules"
                {
                    stack.push((e.path(), depth + 1));
                }
            }
        }
    }
    out.sort();
    out
}

impl Status {
    fn check(&mut self) {
        let plugin_active = self.plugin.active();
        for r in REGISTRATIONS {
            let in_files: Vec<&FileStatus> = self
                .files
                .iter()
                .filter(|f| {
                    f.hooks
                        .iter()
                        .any(|h| h.event == r.event && h.binary == r.binary)
                })
                .collect();
            let in_plugin = plugin_active
                && (self.plugin.hooks.is_empty()
                    || self
                        .plugin
                        .hooks
                        .iter()
                        .any(|h| h.event == r.event && h.binary == r.binary));
            if in_files.is_empty() && !in_plugin {
                self.missing.push(r);
            }
            // Claude Code runs an identical command once; different commands all run.
            let mut commands: Vec<&str> = self
                .files
                .iter()
                .flat_map(|f| f.hooks.iter())
                .filter(|h| h.event == r.event && h.binary == r.binary)
                .map(|h| h.command.as_str())
                .collect();
            commands.sort_unstable();
            commands.dedup();
            if commands.len() + usize::from(in_plugin) > 1 {
                self.warnings.push(format!(
                    "{} → {} is registered {} times with different commands: every event is recorded more than once",
                    r.event,
                    r.binary,
                    commands.len() + usize::from(in_plugin)
                ));
            }
        }
        let plugin_hooks = if plugin_active {
            &self.plugin.hooks[..]
        } else {
            &[]
        };
        let sources = self.files.iter().map(|f| {
            (
                f.path.display().to_string(),
                &f.hooks[..],
                f.error.as_deref(),
            )
        });
        let plugin_src = ("the agent-telemetry plugin".to_string(), plugin_hooks, None);
        for (where_, hooks, error) in sources.chain(std::iter::once(plugin_src)) {
            if let Some(e) = error {
                self.warnings.push(format!("{where_}: {e}"));
            }
            // One warning per broken command, naming the events it is registered for.
            let mut broken: Vec<(&str, Vec<&str>, Option<&Path>)> = Vec::new();
            for h in hooks.iter().filter(|h| !h.executable) {
                match broken.iter_mut().find(|b| b.0 == h.command) {
                    Some(b) => b.1.push(&h.event),
                    None => broken.push((&h.command, vec![&h.event], h.resolved.as_deref())),
                }
            }
            for (cmd, events, resolved) in broken {
                let target = match resolved {
                    Some(p) if p.as_os_str() != cmd => format!(" ({})", p.display()),
                    Some(_) => String::new(),
                    None => " (not found on PATH)".into(),
                };
                self.warnings.push(format!(
                    "{where_}: {cmd}{target} does not exist or is not executable; registered for {}",
                    events.join(", ")
                ));
            }
            let asyncs: Vec<&str> = hooks
                .iter()
                .filter(|h| h.is_async)
                .map(|h| h.event.as_str())
                .collect();
            if !asyncs.is_empty() {
                self.warnings.push(format!(
                    "{where_}: our hooks for {} are async; Claude Code kills async hooks when a `claude -p` run ends",
                    asyncs.join(", ")
                ));
            }
        }
        if !self.plugin.installed.is_empty() && self.plugin.enabled_in.is_empty() {
            self.warnings
                .push("the agent-telemetry plugin is installed but not enabled".into());
        }
    }

    /// Every registration is in place somewhere and nothing needs attention.
    pub fn healthy(&self) -> bool {
        self.missing.is_empty() && self.warnings.is_empty()
    }

    /// Plain-text rendering for `analyze hooks status`.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        for f in &self.files {
            let state = if !f.exists {
                "not present".to_string()
            } else if f.error.is_some() {
                "unreadable".to_string()
            } else {
                format!("{} of our hooks", f.hooks.len())
            };
            s.push_str(&format!("{:<8} {}: {state}\n", f.scope, f.path.display()));
            for h in &f.hooks {
                s.push_str(&format!(
                    "           {:<19} {:<11} {}{}\n",
                    h.event,
                    h.matcher.as_deref().unwrap_or("(none)"),
                    h.command,
                    if h.executable { "" } else { "  [missing]" }
                ));
            }
        }
        let p = &self.plugin;
        let plugin = match (p.installed.is_empty(), p.enabled_in.is_empty()) {
            (true, true) => "not installed".to_string(),
            (false, true) => format!("installed at {}, not enabled", p.installed[0].display()),
            (true, false) => format!(
                "enabled ({}) but not found under the plugin cache",
                p.enabled_in.join(", ")
            ),
            (false, false) => format!(
                "installed at {}, enabled ({})",
                p.installed[0].display(),
                p.enabled_in.join(", ")
            ),
        };
        s.push_str(&format!("plugin   {plugin}\n"));
        if self.missing.is_empty() {
            s.push_str("all 9 registrations are in place\n");
        } else {
            let list: Vec<String> = self.missing.iter().map(Registration::to_string).collect();
            s.push_str(&format!("missing: {}\n", list.join("; ")));
        }
        for w in &self.warnings {
            s.push_str(&format!("warning: {w}\n"));
        }
        s
    }
}

// ── An order-preserving JSON value ───────────────────────────────────────────────────────────

/// A JSON value whose objects keep their keys in file order (and duplicates, if any).
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    /// The value under `key` of an object.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
    fn get_mut(&mut self, key: &str) -> Option<&mut Json> {
        match self {
            Json::Object(m) => m.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
    /// Replaces the value in place, or appends the key.
    fn set(&mut self, key: &str, value: Json) {
        if let Json::Object(m) = self {
            match m.iter_mut().find(|(k, _)| k == key) {
                Some((_, v)) => *v = value,
                None => m.push((key.to_string(), value)),
            }
        }
    }
    fn remove(&mut self, key: &str) {
        if let Json::Object(m) = self {
            m.retain(|(k, _)| k != key);
        }
    }
    fn entry_object(&mut self, key: &str) -> std::result::Result<&mut Json, String> {
        if self.get(key).is_none() {
            self.set(key, Json::Object(Vec::new()));
        }
        let v = self.get_mut(key).expect("just set");
        match v {
            Json::Object(_) => Ok(v),
            other => Err(format!("\"{key}\" is {}, expected an object", other.kind())),
        }
    }
    fn entry_array(&mut self, key: &str, at: &str) -> std::result::Result<&mut Vec<Json>, String> {
        if self.get(key).is_none() {
            self.set(key, Json::Array(Vec::new()));
        }
        match self.get_mut(key).expect("just set") {
            Json::Array(a) => Ok(a),
            other => Err(format!("\"{at}\" is {}, expected an array", other.kind())),
        }
    }
    fn kind(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "a boolean",
            Json::Number(_) => "a number",
            Json::String(_) => "a string",
            Json::Array(_) => "an array",
            Json::Object(_) => "an object",
        }
    }
}

impl Serialize for Json {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Json::Null => s.serialize_unit(),
            Json::Bool(b) => s.serialize_bool(*b),
            Json::Number(n) => n.serialize(s),
            Json::String(v) => s.serialize_str(v),
            Json::Array(a) => {
                let mut seq = s.serialize_seq(Some(a.len()))?;
                for v in a {
                    seq.serialize_element(v)?;
                }
                seq.end()
            }
            Json::Object(m) => {
                let mut map = s.serialize_map(Some(m.len()))?;
                for (k, v) in m {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Json, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Json;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E>(self, b: bool) -> std::result::Result<Json, E> {
                Ok(Json::Bool(b))
            }
            fn visit_i64<E>(self, n: i64) -> std::result::Result<Json, E> {
                Ok(Json::Number(n.into()))
            }
            fn visit_u64<E>(self, n: u64) -> std::result::Result<Json, E> {
                Ok(Json::Number(n.into()))
            }
            fn visit_f64<E>(self, n: f64) -> std::result::Result<Json, E> {
                Ok(serde_json::Number::from_f64(n).map_or(Json::Null, Json::Number))
            }
            fn visit_str<E>(self, s: &str) -> std::result::Result<Json, E> {
                Ok(Json::String(s.to_string()))
            }
            fn visit_string<E>(self, s: String) -> std::result::Result<Json, E> {
                Ok(Json::String(s))
            }
            fn visit_unit<E>(self) -> std::result::Result<Json, E> {
                Ok(Json::Null)
            }
            fn visit_none<E>(self) -> std::result::Result<Json, E> {
                Ok(Json::Null)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Json, D::Error> {
                Json::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<Json, A::Error> {
                let mut v = Vec::new();
                while let Some(x) = seq.next_element()? {
                    v.push(x);
                }
                Ok(Json::Array(v))
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Json, A::Error> {
                let mut m = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Json>()? {
                    m.push((k, v));
                }
                Ok(Json::Object(m))
            }
        }
        d.deserialize_any(V)
    }
}
