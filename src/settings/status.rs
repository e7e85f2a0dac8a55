//! `analyze hooks status` (and `analyze doctor`): which of our hooks are registered in which
//! settings file or plugin, and what needs attention.

use super::file::{claude_config_dir, is_executable, user_settings_path};
use super::merge::our_command;
use super::{Registration, REGISTRATIONS};
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};

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
            if let Ok(v) = serde_json::from_str::<Value>(&text) {
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
    match serde_json::from_str::<Value>(&text) {
        Ok(v) => {
            out.hooks = hooks_of(&v, None);
            if let Some(Value::Object(p)) = v.get("enabledPlugins") {
                for (k, on) in p {
                    if k.split('@').next() == Some("agent-telemetry") && *on == Value::Bool(true) {
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
fn hooks_of(v: &Value, plugin_root: Option<&Path>) -> Vec<HookStatus> {
    let mut out = Vec::new();
    let Some(Value::Object(events)) = v.get("hooks") else {
        return out;
    };
    for (event, groups) in events {
        let Value::Array(groups) = groups else {
            continue;
        };
        for grp in groups {
            let matcher = match grp.get("matcher") {
                Some(Value::String(m)) => Some(m.clone()),
                _ => None,
            };
            let Some(Value::Array(entries)) = grp.get("hooks") else {
                continue;
            };
            for e in entries {
                let Some(Value::String(cmd)) = e.get("command") else {
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
                        Some(Value::Number(n)) => n.as_u64(),
                        _ => None,
                    },
                    is_async: e.get("async") == Some(&Value::Bool(true)),
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
            if let Ok(v) = serde_json::from_str::<Value>(&text) {
                if v.get("name") == Some(&Value::String("agent-telemetry".into())) {
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
            s.push_str(&format!(
                "all {} registrations are in place\n",
                REGISTRATIONS.len()
            ));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_counts_every_registration() {
        let st = Status {
            files: Vec::new(),
            plugin: PluginStatus::default(),
            missing: Vec::new(),
            warnings: Vec::new(),
        };
        assert!(st.healthy());
        assert!(
            st.to_text().contains("all 10 registrations are in place"),
            "{}",
            st.to_text()
        );
    }
}
