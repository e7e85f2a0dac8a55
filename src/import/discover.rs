//! Discovery: walks `projects/<project>/…` and groups transcript files into sessions, with the
//! size and modification time that tell whether a file changed since the last import.

use super::{project_dir_name, Options, Outcome};
use crate::transcript;
use crate::wire::lenient::LStr;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

/// A transcript file with the stamp that tells whether it changed since the last import.
#[derive(Debug, Clone)]
pub(super) struct FileRef {
    pub(super) path: PathBuf,
    pub(super) size: u64,
    pub(super) mtime_ms: i64,
}

impl FileRef {
    pub(super) fn stat(path: PathBuf) -> std::io::Result<FileRef> {
        let m = std::fs::metadata(&path)?;
        if !m.is_file() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "not a regular file",
            ));
        }
        let mtime_ms = m
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_millis() as i64);
        Ok(FileRef {
            path,
            size: m.len(),
            mtime_ms,
        })
    }
    pub(super) fn path_key(&self) -> String {
        self.path.to_string_lossy().into_owned()
    }
}

/// A subagent transcript file of a session.
#[derive(Debug, Clone)]
pub(super) struct AgentFile {
    pub(super) file: FileRef,
    pub(super) agent_id: String,
    pub(super) meta: Option<PathBuf>,
}

/// One session: its main transcript (if present) and its subagent transcript files.
#[derive(Debug, Clone)]
pub(super) struct Unit {
    pub(super) session_id: String,
    pub(super) main: Option<FileRef>,
    pub(super) agents: Vec<AgentFile>,
}

impl Unit {
    pub(super) fn all_files(&self) -> impl Iterator<Item = &FileRef> {
        self.main.iter().chain(self.agents.iter().map(|a| &a.file))
    }
}

pub(super) fn agent_id_of(file_name: &str) -> Option<&str> {
    file_name
        .strip_prefix("agent-")?
        .strip_suffix(".jsonl")
        .filter(|s| !s.is_empty())
}

/// Walks `projects/<project>/…` and groups the files into sessions.
pub(super) fn discover(projects: &[PathBuf], opts: &Options, out: &mut Outcome) -> Vec<Unit> {
    let mut units: BTreeMap<String, Unit> = BTreeMap::new();
    let want_dir = opts
        .project
        .as_deref()
        .map(|p| project_dir_name(p.trim_end_matches('/')));
    for root in projects {
        let Some(dirs) = listed(Path::new(root), out) else {
            continue;
        };
        for dir in dirs.into_iter().filter(|p| p.is_dir()) {
            let name = dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if let Some(w) = &want_dir {
                // The name is lossy: a prefix match here, the exact check against cwd later.
                if name != *w && !name.starts_with(&format!("{w}-")) {
                    continue;
                }
            }
            discover_project(&dir, opts, &mut units, out);
        }
    }
    units.into_values().collect()
}

pub(super) fn discover_project(
    dir: &Path,
    opts: &Options,
    units: &mut BTreeMap<String, Unit>,
    out: &mut Outcome,
) {
    let Some(paths) = listed(dir, out) else {
        return;
    };
    let unit = |units: &mut BTreeMap<String, Unit>, sid: &str| -> bool {
        if opts.session.as_deref().is_some_and(|s| s != sid)
            || opts.sessions.as_ref().is_some_and(|set| !set.contains(sid))
        {
            return false;
        }
        units.entry(sid.to_string()).or_insert_with(|| Unit {
            session_id: sid.to_string(),
            main: None,
            agents: Vec::new(),
        });
        true
    };
    for path in paths {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if path.is_dir() {
            // `<session>/subagents/…` (2.1.2+). The session may have no main file (yet).
            let sub = path.join("subagents");
            if !sub.is_dir() || !unit(units, &name) {
                continue;
            }
            let mut found = Vec::new();
            walk_agent_files(&sub, &mut found, out);
            units.get_mut(&name).expect("inserted").agents.extend(found);
        } else if let Some(stem) = name.strip_suffix(".jsonl") {
            if let Some(aid) = agent_id_of(&name) {
                // 2.0.x: `agent-<id>.jsonl` beside the session file; its lines name the session.
                let Some(sid) = first_session_id(&path) else {
                    out.unreadable_files += 1;
                    out.problem(
                        &path,
                        None,
                        "no sessionId in its first lines: cannot tell its session".into(),
                    );
                    continue;
                };
                if !unit(units, &sid) {
                    continue;
                }
                match FileRef::stat(path.clone()) {
                    Ok(file) => {
                        let meta = Some(transcript::meta_path_for(&path)).filter(|m| m.is_file());
                        units
                            .get_mut(&sid)
                            .expect("inserted")
                            .agents
                            .push(AgentFile {
                                file,
                                agent_id: aid.to_string(),
                                meta,
                            });
                    }
                    Err(e) => {
                        out.unreadable_files += 1;
                        out.problem(&path, None, format!("unreadable: {e}"));
                    }
                }
            } else {
                if !unit(units, stem) {
                    continue;
                }
                match FileRef::stat(path.clone()) {
                    Ok(f) => {
                        let u = units.get_mut(stem).expect("inserted");
                        // The same session under two configuration directories: keep the larger copy.
                        if u.main.as_ref().is_none_or(|m| m.size < f.size) {
                            u.main = Some(f);
                        }
                    }
                    Err(e) => {
                        out.unreadable_files += 1;
                        out.problem(&path, None, format!("unreadable: {e}"));
                    }
                }
            }
        }
    }
}

/// `agent-*.jsonl` under a subagents directory, recursively (workflow agents sit deeper).
pub(super) fn walk_agent_files(dir: &Path, found: &mut Vec<AgentFile>, out: &mut Outcome) {
    let Some(paths) = listed(dir, out) else {
        return;
    };
    for path in paths {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if path.is_dir() {
            walk_agent_files(&path, found, out);
            continue;
        }
        let Some(aid) = agent_id_of(&name) else {
            continue;
        };
        match FileRef::stat(path.clone()) {
            Ok(file) => {
                let meta = Some(transcript::meta_path_for(&path)).filter(|m| m.is_file());
                found.push(AgentFile {
                    file,
                    agent_id: aid.to_string(),
                    meta,
                });
            }
            Err(e) => {
                out.unreadable_files += 1;
                out.problem(&path, None, format!("unreadable: {e}"));
            }
        }
    }
}

/// The `sessionId` of the first line that has one (2.0.x subagent files beside the session).
pub(super) fn first_session_id(path: &Path) -> Option<String> {
    use std::io::{BufRead, BufReader, Read};
    let f = std::fs::File::open(path).ok()?;
    let mut r = BufReader::new(f.take(1 << 20));
    let mut line = Vec::new();
    for _ in 0..32 {
        line.clear();
        if r.read_until(b'\n', &mut line).ok()? == 0 {
            return None;
        }
        #[derive(Deserialize)]
        struct Head {
            #[serde(rename = "sessionId", default)]
            session_id: LStr,
        }
        if let Ok(Head {
            session_id: LStr(Some(s)),
        }) = serde_json::from_slice::<Head>(&line)
        {
            return Some(s);
        }
    }
    None
}

/// The paths in `dir`, sorted; `None` (counted and reported as unreadable) when it cannot be
/// listed.
fn listed(dir: &Path, out: &mut Outcome) -> Option<Vec<PathBuf>> {
    match std::fs::read_dir(dir) {
        Ok(rd) => {
            let mut paths: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
            paths.sort();
            Some(paths)
        }
        Err(e) => {
            out.unreadable_files += 1;
            out.problem(dir, None, format!("cannot list: {e}"));
            None
        }
    }
}
