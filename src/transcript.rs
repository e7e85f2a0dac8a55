//! Streaming reader for Claude Code transcripts (JSON lines): de-duplicated token usage per
//! model response, tool calls and errors by tool, lines changed, API-error notices.
//!
//! The format is internal to Claude Code, so the reader is lenient: unknown entry types and
//! fields are skipped, a malformed line is counted and skipped, never fatal.

use crate::store::UsageRow;
use crate::wire::transcript::{Usage, UsageContent, UsageLine, UsageMessage};
use crate::wire::WireAgentMeta;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Calls and failed calls of one tool.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ToolCount {
    pub calls: i64,
    pub errors: i64,
}

/// What one transcript (or the part of it read) says.
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
pub struct Summary {
    /// De-duplicated usage, one row per model response (message id + request id).
    #[serde(skip)]
    pub usage: Vec<UsageRow>,
    /// Models that answered, in order of first appearance (`<synthetic>` excluded).
    pub models: Vec<String>,
    pub tools: BTreeMap<String, ToolCount>,
    pub lines_added: i64,
    pub lines_removed: i64,
    /// Local API-error notices (synthetic assistant messages, `api_error` system lines).
    pub api_errors: Vec<String>,
    /// The last test-runner summary in the agent's Bash results (`None`: no test output).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tests: Option<TestCounts>,
    /// Distinct paths the agent created (Write of a new file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files_created: Option<i64>,
    /// Distinct existing paths the agent edited or overwrote (a path it created is not counted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files_modified: Option<i64>,
    /// Bash calls that exited non-zero.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commands_failed: Option<i64>,
    /// Sum of tool call durations: each call's result line's timestamp minus its call's.
    /// (These four are `None` in summaries written before schema version 10: unknown, not 0.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_ms: Option<i64>,
    /// Custom metrics ([`crate::metrics`]) that matched at least once: name → value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metrics: BTreeMap<String, f64>,
    /// The last assistant message is an API-error notice: the agent died of it.
    pub ended_in_api_error: bool,
    pub first_ts: Option<i64>,
    pub last_ts: Option<i64>,
    #[serde(skip)]
    pub lines_read: u64,
    #[serde(skip)]
    pub lines_skipped: u64,
    /// Byte offset just past the last complete line read.
    #[serde(skip)]
    pub end_offset: u64,
    /// The prompt id in force at the end of what was read (main transcripts).
    #[serde(skip)]
    pub last_prompt_id: Option<String>,
    /// Main transcripts: the main agent's last line read is an API-error notice, the turn ended
    /// on it. None once a later main assistant line or another prompt follows.
    #[serde(skip)]
    pub main_api_error: Option<ApiErrorLine>,
    /// The read stopped at its budget before the end of the file.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

/// A main-agent API-error notice (`isApiErrorMessage`): what Claude Code showed, when, in which
/// prompt turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiErrorLine {
    pub ts: Option<i64>,
    /// The notice's text, redacted ("API Error: 400 …").
    pub text: String,
    pub prompt_id: Option<String>,
}

impl Summary {
    /// Tool calls of every tool.
    pub fn tool_calls(&self) -> i64 {
        self.tools.values().map(|t| t.calls).sum()
    }
    /// Failed tool calls of every tool.
    pub fn tool_errors(&self) -> i64 {
        self.tools.values().map(|t| t.errors).sum()
    }
}

/// A test runner's summary (defined beside its parser, which must not depend on this module).
pub use crate::testsum::TestCounts;

/// Which lines of a transcript to attribute, and to whom.
#[derive(Debug, Clone)]
pub struct ReadSpec<'a> {
    pub session_id: &'a str,
    /// `Some(id)`: a subagent's own file, every line is that agent's.
    /// `None`: a main session file; non-sidechain lines are the main agent's ('').
    pub agent_id: Option<&'a str>,
    /// Start reading here (main files are read incrementally).
    pub offset: u64,
    /// The prompt id in force at `offset`.
    pub prompt_id: Option<String>,
    /// Stop early (at a line boundary) past this many bytes or this instant: a hook must not
    /// stall Claude Code on a huge file. None: read to the end (imports).
    pub budget: Option<Budget>,
    /// Custom metrics to collect from the agent's tool calls and results (config.json "metrics").
    pub metrics: &'a [crate::metrics::Metric],
}

/// How much of a transcript one read may take.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub max_bytes: u64,
    pub deadline: std::time::Instant,
}

impl Budget {
    /// A hook's: 32 MB and 300 ms per file, whichever comes first; what is left is read at the
    /// next Stop (main transcripts are read incrementally) or by `analyze import`.
    pub fn hook() -> Budget {
        Budget {
            max_bytes: 32 * 1024 * 1024,
            deadline: std::time::Instant::now() + std::time::Duration::from_millis(300),
        }
    }
}

/// Reads `path` from `spec.offset` to its last complete line.
pub fn summarize_file(path: &Path, spec: &ReadSpec<'_>) -> std::io::Result<Summary> {
    let mut file = open_regular(path)?;
    if spec.offset > 0 {
        file.seek(SeekFrom::Start(spec.offset))?;
    }
    summarize_reader(file, spec)
}

/// Longer lines are skipped (and counted as skipped), never held in memory.
const MAX_LINE: u64 = 64 * 1024 * 1024;

/// Consumes the rest of an overlong line: (bytes, whether its newline was found).
fn skip_line(r: &mut impl BufRead) -> std::io::Result<(u64, bool)> {
    let mut total = 0u64;
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Ok((total, false));
        }
        match buf.iter().position(|b| *b == b'\n') {
            Some(i) => {
                r.consume(i + 1);
                return Ok((total + i as u64 + 1, true));
            }
            None => {
                let n = buf.len();
                r.consume(n);
                total += n as u64;
            }
        }
    }
}

/// Reads transcript lines from `r`, which starts at `spec.offset`.
#[allow(clippy::too_many_lines)] // one streaming loop over lines; its cases share the loop's state
pub fn summarize_reader(r: impl Read, spec: &ReadSpec<'_>) -> std::io::Result<Summary> {
    let mut reader = BufReader::with_capacity(64 * 1024, r);
    let mut s = Summary {
        end_offset: spec.offset,
        last_prompt_id: spec.prompt_id.clone(),
        ..Default::default()
    };
    let mut usage: HashMap<(String, String), UsageRow> = HashMap::new();
    let mut usage_order: Vec<(String, String)> = Vec::new();
    let mut calls: HashMap<String, Call> = HashMap::new();
    let mut outcome = Outcome::default();
    let mut buf = Vec::with_capacity(8 * 1024);
    loop {
        if let Some(b) = &spec.budget {
            if s.end_offset - spec.offset >= b.max_bytes
                || (s.lines_read.is_multiple_of(256) && std::time::Instant::now() >= b.deadline)
            {
                s.truncated = true;
                break;
            }
        }
        buf.clear();
        let n = (&mut reader).take(MAX_LINE).read_until(b'\n', &mut buf)?;
        if n as u64 == MAX_LINE && buf.last() != Some(&b'\n') {
            // No transcript line is this long: skip it whole rather than hold it in memory.
            let skipped = skip_line(&mut reader)?;
            s.end_offset += n as u64 + skipped.0;
            s.lines_skipped += 1;
            if skipped.1 {
                continue;
            }
            break;
        }
        if n == 0 || buf.last() != Some(&b'\n') {
            break; // end, or a line still being written: leave it for the next read
        }
        s.end_offset += n as u64;
        let line = trim_line(&buf);
        if line.is_empty() {
            continue;
        }
        s.lines_read += 1;
        if !mentions_relevant_type(line) {
            continue;
        }
        let parsed: UsageLine = match serde_json::from_slice(line) {
            Ok(l) => l,
            Err(_) => {
                s.lines_skipped += 1;
                continue;
            }
        };
        let owner = match (spec.agent_id, parsed.is_sidechain.unwrap_or(false)) {
            (Some(a), _) => a.to_string(),
            (None, false) => String::new(),
            // 1.x kept subagent messages inline as sidechain lines carrying their agent id.
            (None, true) => match &parsed.agent_id {
                Some(a) => a.clone(),
                None => continue,
            },
        };
        let ts = parsed
            .timestamp
            .as_deref()
            .and_then(crate::timeparse::parse_instant);
        if let Some(t) = ts {
            s.first_ts = Some(s.first_ts.map_or(t, |f| f.min(t)));
            s.last_ts = Some(s.last_ts.map_or(t, |l| l.max(t)));
        }
        match parsed.kind.as_deref() {
            Some("user") => {
                if owner.is_empty() {
                    if let Some(p) = &parsed.prompt_id {
                        s.last_prompt_id = Some(p.clone());
                        if s.main_api_error
                            .as_ref()
                            .is_some_and(|e| e.prompt_id.as_ref() != Some(p))
                        {
                            s.main_api_error = None; // a new prompt: that turn is over
                        }
                    }
                }
                if let Some(UsageMessage {
                    content: Some(UsageContent::Blocks(blocks)),
                    ..
                }) = &parsed.message
                {
                    for b in blocks
                        .iter()
                        .filter(|b| b.kind.as_deref() == Some("tool_result"))
                    {
                        let call = b.tool_use_id.as_ref().and_then(|id| calls.get_mut(id));
                        if b.is_error == Some(true) {
                            let name = call
                                .as_ref()
                                .map_or_else(|| "unknown".into(), |c| c.name.clone());
                            s.tools.entry(name).or_default().errors += 1;
                        }
                        if let Some(call) = call {
                            outcome.on_result(spec, call, b, ts, parsed.tool_use_result.as_ref());
                        }
                    }
                }
                if let Some(r) = &parsed.tool_use_result {
                    let (a, d) = lines_changed(r);
                    s.lines_added += a;
                    s.lines_removed += d;
                }
            }
            Some("assistant") => {
                let Some(m) = &parsed.message else { continue };
                let synthetic = m.model.as_deref() == Some("<synthetic>");
                if parsed.is_api_error == Some(true) || synthetic {
                    let text = match &m.content {
                        Some(UsageContent::Blocks(b)) => b
                            .iter()
                            .filter_map(|b| b.text.clone())
                            .collect::<Vec<_>>()
                            .join(" "),
                        _ => String::new(),
                    };
                    if parsed.is_api_error == Some(true) {
                        let text = crate::redact::redact(&text).into_owned();
                        if owner.is_empty() {
                            s.main_api_error = Some(ApiErrorLine {
                                ts,
                                text: text.clone(),
                                prompt_id: s.last_prompt_id.clone(),
                            });
                        }
                        s.api_errors.push(text);
                    }
                    s.ended_in_api_error = parsed.is_api_error == Some(true);
                    continue;
                }
                s.ended_in_api_error = false;
                if owner.is_empty() {
                    s.main_api_error = None;
                }
                if let Some(model) = &m.model {
                    if !s.models.contains(model) {
                        s.models.push(model.clone());
                    }
                }
                if let Some(UsageContent::Blocks(blocks)) = &m.content {
                    for b in blocks
                        .iter()
                        .filter(|b| b.kind.as_deref() == Some("tool_use"))
                    {
                        let name = b.name.clone().unwrap_or_else(|| "unknown".into());
                        if let Some(id) = &b.id {
                            if calls.contains_key(id) {
                                continue; // the same block written twice
                            }
                            calls.insert(id.clone(), outcome.on_call(spec, &name, b, ts));
                        }
                        s.tools.entry(name).or_default().calls += 1;
                    }
                }
                if let (Some(u), Some(model)) = (&m.usage, &m.model) {
                    let key = format!(
                        "{}/{}",
                        m.id.as_deref().unwrap_or(""),
                        parsed.request_id.as_deref().unwrap_or("")
                    );
                    if m.id.is_none() && parsed.request_id.is_none() {
                        continue; // no identity: cannot be de-duplicated, and never seen in practice
                    }
                    let row = usage_row(
                        spec.session_id,
                        &owner,
                        key,
                        model,
                        ts,
                        s.last_prompt_id.clone(),
                        u,
                    );
                    let k = (owner.clone(), row.message_key.clone());
                    match usage.get_mut(&k) {
                        Some(existing) if existing.total() >= row.total() => {}
                        Some(existing) => *existing = row,
                        None => {
                            usage_order.push(k.clone());
                            usage.insert(k, row);
                        }
                    }
                }
            }
            Some("system") if parsed.subtype.as_deref() == Some("api_error") => {
                let text = parsed
                    .content
                    .as_ref()
                    .and_then(Value::as_str)
                    .unwrap_or("api_error");
                s.api_errors.push(crate::redact::redact(text).into_owned());
            }
            _ => {}
        }
    }
    s.usage = usage_order
        .into_iter()
        .filter_map(|k| usage.remove(&k))
        .collect();
    outcome.finish(&mut s);
    Ok(s)
}

/// A tool call seen in the transcript, waiting for its result.
struct Call {
    name: String,
    /// The timestamp of the assistant line that issued it.
    ts: Option<i64>,
    /// The path a file tool was given.
    path: Option<String>,
    answered: bool,
}

/// The outcome fields being gathered (docs/metrics.md, "Outcome").
#[derive(Default)]
struct Outcome {
    tests: Option<TestCounts>,
    created: std::collections::HashSet<String>,
    modified: std::collections::HashSet<String>,
    commands_failed: i64,
    tool_ms: i64,
    metrics: crate::metrics::Collector,
}

/// Tools that write files; their paths are counted as created or modified.
const FILE_TOOLS: [&str; 4] = ["Write", "Edit", "MultiEdit", "NotebookEdit"];

impl Outcome {
    fn on_call(
        &mut self,
        spec: &ReadSpec<'_>,
        name: &str,
        b: &crate::wire::transcript::UsageBlock,
        ts: Option<i64>,
    ) -> Call {
        let input = b.input.as_deref().map_or("", |r| r.get());
        if !spec.metrics.is_empty() {
            self.metrics.on_call(spec.metrics, name, input);
        }
        let path = if FILE_TOOLS.contains(&name) {
            serde_json::from_str::<crate::wire::transcript::FileInput>(input)
                .ok()
                .and_then(|i| i.file_path.or(i.notebook_path))
        } else {
            None
        };
        Call {
            name: name.to_string(),
            ts,
            path,
            answered: false,
        }
    }

    fn on_result(
        &mut self,
        spec: &ReadSpec<'_>,
        call: &mut Call,
        b: &crate::wire::transcript::UsageBlock,
        ts: Option<i64>,
        tool_use_result: Option<&Value>,
    ) {
        if call.answered {
            return; // the same result written twice
        }
        call.answered = true;
        if let (Some(start), Some(end)) = (call.ts, ts) {
            self.tool_ms += (end - start).max(0);
        }
        let is_error = b.is_error == Some(true);
        let bash = call.name == "Bash";
        let metric = spec
            .metrics
            .iter()
            .any(|m| m.pattern.is_some() && (m.tool == "*" || m.tool == call.name));
        if bash || metric {
            let text = b
                .content
                .as_deref()
                .map(crate::wire::transcript::ResultContent::text_of)
                .unwrap_or_default();
            if bash {
                if is_error && failed_exit_code(&text) {
                    self.commands_failed += 1;
                }
                if let Some(t) = crate::testsum::parse(&text) {
                    self.tests = Some(t);
                }
            }
            if metric {
                self.metrics.on_result(spec.metrics, &call.name, &text);
            }
        }
        if !is_error && FILE_TOOLS.contains(&call.name.as_str()) {
            let path = tool_use_result
                .and_then(|r| r.get("filePath"))
                .and_then(Value::as_str)
                .map(str::to_string)
                .or_else(|| call.path.clone());
            if let Some(path) = path {
                // The result's `type` says; Claude Code does not always write `toolUseResult`
                // into a subagent's transcript (seen with 2.1.332), and then its text does.
                let created = call.name == "Write"
                    && match tool_use_result
                        .and_then(|r| r.get("type"))
                        .and_then(Value::as_str)
                    {
                        Some(t) => t == "create",
                        None => b
                            .content
                            .as_deref()
                            .map(crate::wire::transcript::ResultContent::text_of)
                            .is_some_and(|t| t.starts_with("File created successfully")),
                    };
                if created {
                    self.created.insert(path);
                } else {
                    self.modified.insert(path);
                }
            }
        }
    }

    fn finish(self, s: &mut Summary) {
        s.tests = self.tests;
        s.files_created = Some(self.created.len() as i64);
        s.files_modified = Some(self.modified.difference(&self.created).count() as i64);
        s.commands_failed = Some(self.commands_failed);
        s.tool_ms = Some(self.tool_ms);
        s.metrics = self.metrics.finish();
    }
}

/// A Bash result that says the command exited non-zero: Claude Code starts it `Exit code N`.
/// A timeout or an interrupt says something else and is not counted (the command did not fail;
/// it was stopped).
fn failed_exit_code(text: &str) -> bool {
    text.strip_prefix("Exit code ")
        .map(|rest| {
            rest.split(|c: char| !c.is_ascii_digit())
                .next()
                .unwrap_or("")
        })
        .and_then(|n| n.parse::<i64>().ok())
        .is_some_and(|n| n != 0)
}

fn usage_row(
    session: &str,
    owner: &str,
    key: String,
    model: &str,
    ts: Option<i64>,
    prompt_id: Option<String>,
    u: &Usage,
) -> UsageRow {
    let cache_write = u.cache_creation_input_tokens.unwrap_or(0);
    let (c5, c1) = match &u.cache_creation {
        Some(cc) => {
            let c5 = cc.ephemeral_5m_input_tokens.unwrap_or(0);
            let c1 = cc.ephemeral_1h_input_tokens.unwrap_or(0);
            if c5 + c1 == cache_write {
                (c5, c1)
            } else {
                (cache_write - c1.min(cache_write), c1.min(cache_write))
            }
        }
        None => (cache_write, 0),
    };
    UsageRow {
        session_id: session.to_string(),
        agent_id: owner.to_string(),
        message_key: key,
        prompt_id,
        model: model.to_string(),
        ts,
        input: u.input_tokens.unwrap_or(0),
        output: u.output_tokens.unwrap_or(0),
        cache_read: u.cache_read_input_tokens.unwrap_or(0),
        cache_5m: c5,
        cache_1h: c1,
    }
}

/// Lines added and removed by one tool result: Edit's `structuredPatch` hunks, or Write's
/// created file content.
fn lines_changed(r: &Value) -> (i64, i64) {
    let mut added = 0;
    let mut removed = 0;
    if let Some(hunks) = r.get("structuredPatch").and_then(Value::as_array) {
        for h in hunks {
            for l in h
                .get("lines")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                match l.as_str().and_then(|s| s.chars().next()) {
                    Some('+') => added += 1,
                    Some('-') => removed += 1,
                    _ => {}
                }
            }
        }
    } else if r.get("type").and_then(Value::as_str) == Some("create") {
        if let Some(c) = r.get("content").and_then(Value::as_str) {
            added += c.lines().count() as i64;
        }
    }
    (added, removed)
}

fn trim_line(buf: &[u8]) -> &[u8] {
    let mut end = buf.len();
    while end > 0 && (buf[end - 1] == b'\n' || buf[end - 1] == b'\r') {
        end -= 1;
    }
    &buf[..end]
}

/// Cheap pre-filter: only user, assistant and system entries matter, and they say so.
fn mentions_relevant_type(line: &[u8]) -> bool {
    const NEEDLES: [&[u8]; 3] = [
        b"\"type\":\"assistant\"",
        b"\"type\":\"user\"",
        b"\"type\":\"system\"",
    ];
    NEEDLES
        .iter()
        .any(|n| line.windows(n.len()).any(|w| w == *n))
}

/// The sidecar of a subagent transcript: `agent-<id>.jsonl` → `agent-<id>.meta.json`.
pub fn meta_path_for(agent_transcript: &Path) -> PathBuf {
    let name = agent_transcript
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("");
    let stem = name.strip_suffix(".jsonl").unwrap_or(name);
    agent_transcript.with_file_name(format!("{stem}.meta.json"))
}

/// Reads a sidecar; `None` when missing or unreadable.
pub fn read_meta(path: &Path) -> Option<WireAgentMeta> {
    let mut bytes = Vec::new();
    // A sidecar is a few hundred bytes: anything past 1 MB is not one.
    open_regular(path)
        .ok()?
        .take(1024 * 1024)
        .read_to_end(&mut bytes)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Opens a file for reading only if it is a regular file: a FIFO would block the hook forever
/// (the open itself does not block: O_NONBLOCK), a device like `/dev/zero` never ends. Symlinks
/// to regular files are fine (Claude Code's directory may be linked from elsewhere).
pub fn open_regular(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)?;
    if !f.metadata()?.file_type().is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{} is not a regular file", path.display()),
        ));
    }
    Ok(f)
}

/// The subagents directory of a session transcript (`<dir>/<session>/subagents`).
pub fn subagents_dir(session_transcript: &Path) -> PathBuf {
    session_transcript.with_extension("").join("subagents")
}

/// Finds the subagent started by `tool_use_id` in a session: its transcript path, id and sidecar.
/// Used when a subagent dies (no SubagentStop arrives to name its transcript).
pub fn find_agent_by_tool_use(
    session_transcript: &Path,
    tool_use_id: &str,
) -> Option<(PathBuf, String, WireAgentMeta)> {
    let dir = subagents_dir(session_transcript);
    for entry in std::fs::read_dir(&dir).ok()?.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(id) = name
            .strip_prefix("agent-")
            .and_then(|n| n.strip_suffix(".meta.json"))
        else {
            continue;
        };
        let Some(meta) = read_meta(&entry.path()) else {
            continue;
        };
        if meta.tool_use_id.as_deref() == Some(tool_use_id) {
            return Some((dir.join(format!("agent-{id}.jsonl")), id.to_string(), meta));
        }
    }
    None
}
