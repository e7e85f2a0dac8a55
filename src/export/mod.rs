//! `analyze export otlp`: agent runs as OpenTelemetry traces, sent over OTLP/HTTP (protobuf,
//! gzip) to a Collector or any OTLP backend (docs/export.md).
//!
//! ```text
//!  agent_runs (+ workflows, run_tools) ─► spans (GenAI conventions, ids hashed from the
//!      recorded ids) ─► proto (ExportTraceServiceRequest) ─► send (gzip, POST, retry)
//!  --follow: cursor (export_cursor / export_sent): each finished run sent once per endpoint
//! ```
//!
//! A reader: it writes nothing but its own cursor tables.

mod cursor;
pub mod proto;
mod send;
pub mod spans;

use crate::analyze::{Ctx, Filter};
use crate::error::{Error, Result};
use proto::{Attr, Span, Value};
use send::Endpoint;
use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

pub use send::traces_url;

/// Runs per request (with their workflows' spans, at most twice as many spans).
const PAGE: usize = 500;
/// `--follow` looks for newly finished runs this often.
const POLL: Duration = Duration::from_secs(2);
/// A run is sent once its end is this old, so that the transcript summary recorded just after
/// its stop is in the span.
const SETTLE_MS: i64 = 2_000;

/// `analyze export …`.
#[derive(clap::Subcommand, Debug, Clone)]
pub enum ExportCommand {
    /// Agent runs as OpenTelemetry traces over OTLP/HTTP (protobuf, gzip): a trace per session,
    /// a span per prompt turn and per agent run (docs/export.md).
    Otlp(OtlpArgs),
}

/// Arguments of `analyze export otlp`.
#[derive(clap::Args, Debug, Clone)]
pub struct OtlpArgs {
    /// The OTLP/HTTP endpoint: a base URL (`/v1/traces` is appended, as for
    /// OTEL_EXPORTER_OTLP_ENDPOINT) or the full traces URL ending in `/v1/traces`.
    #[arg(long, value_name = "URL")]
    pub endpoint: String,
    /// An HTTP header for every request, e.g. an API key (repeatable).
    #[arg(long = "header", value_name = "K=V")]
    pub headers: Vec<String>,
    /// An extra resource attribute (repeatable; overrides config.json's export.resource_attributes).
    #[arg(long = "resource", value_name = "K=V")]
    pub resources: Vec<String>,
    /// Keep running: send each run once it has finished, resuming where the last run stopped.
    #[arg(long)]
    pub follow: bool,
}

/// Runs `analyze export`. `Ok(false)`: nothing to export (exit 1).
pub fn run(db: Option<&Path>, filter: &Filter, cmd: &ExportCommand) -> Result<bool> {
    let ExportCommand::Otlp(args) = cmd;
    let ctx = Ctx::open(db)?;
    ctx.check_agents(&filter.agents)?;
    let ep = Endpoint {
        url: traces_url(&args.endpoint),
        headers: pairs("--header", &args.headers)?,
    };
    if !ep.url.starts_with("http://") && !ep.url.starts_with("https://") {
        return Err(Error::InvalidArgument(format!(
            "--endpoint must be an http:// or https:// URL, not '{}'",
            args.endpoint
        )));
    }
    let resource = resource(ctx.store.path(), &args.resources)?;
    let mut out = Exporter {
        ctx,
        ep,
        resource,
        agent: send::agent(),
        filter: filter.runs_where(),
    };
    if args.follow {
        out.follow()
    } else {
        out.once()
    }
}

/// `K=V` arguments as pairs.
fn pairs(flag: &str, args: &[String]) -> Result<Vec<(String, String)>> {
    args.iter()
        .map(|a| match a.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
            _ => Err(Error::InvalidArgument(format!(
                "{flag} takes KEY=VALUE, not '{a}'"
            ))),
        })
        .collect()
}

/// The resource every span is sent with: `service.name` agent-telemetry, its version, the host
/// and user names, then config.json's `export.resource_attributes`, then `--resource`.
fn resource(db: &Path, cli: &[String]) -> Result<Vec<Attr>> {
    let str_attr = |k: &str, v: String| (k.to_string(), Value::Str(v));
    let mut attrs = vec![
        str_attr("service.name", "agent-telemetry".into()),
        str_attr("service.version", env!("CARGO_PKG_VERSION").into()),
    ];
    if let Some(h) = host_name() {
        attrs.push(str_attr("host.name", h));
    }
    if let Some(u) = std::env::var("USER")
        .ok()
        .or_else(|| std::env::var("LOGNAME").ok())
    {
        attrs.push(str_attr("user.name", u));
    }
    let mut extra = configured_attributes(db)?;
    extra.extend(pairs("--resource", cli)?);
    for (k, v) in extra {
        attrs.retain(|(key, _)| *key != k);
        attrs.push(str_attr(&k, v));
    }
    Ok(attrs)
}

/// The kernel's host name (Linux), else `uname -n`.
fn host_name() -> Option<String> {
    let from_proc = std::fs::read_to_string("/proc/sys/kernel/hostname").ok();
    let name = from_proc.or_else(|| {
        let out = std::process::Command::new("uname")
            .arg("-n")
            .output()
            .ok()?;
        String::from_utf8(out.stdout).ok()
    })?;
    let name = name.trim();
    (!name.is_empty()).then(|| name.to_string())
}

/// config.json's `export.resource_attributes` (string values; numbers and booleans as text).
fn configured_attributes(db: &Path) -> Result<Vec<(String, String)>> {
    let path = crate::paths::config_path(db);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let v: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| Error::InvalidArgument(format!("{}: {e}", path.display())))?;
    let Some(attrs) = v.pointer("/export/resource_attributes") else {
        return Ok(Vec::new());
    };
    let obj = attrs.as_object().ok_or_else(|| {
        Error::InvalidArgument(format!(
            "{}: export.resource_attributes must be an object",
            path.display()
        ))
    })?;
    obj.iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => Ok((k.clone(), s.clone())),
            serde_json::Value::Number(_) | serde_json::Value::Bool(_) => {
                Ok((k.clone(), v.to_string()))
            }
            _ => Err(Error::InvalidArgument(format!(
                "{}: export.resource_attributes.{k} must be a string, number or boolean",
                path.display()
            ))),
        })
        .collect()
}

/// Spans ready to send, and what to record once they are accepted.
#[derive(Default)]
struct Batch {
    spans: Vec<Span>,
    /// (span id, the run's `agent_runs.id` for a run span).
    sent: Vec<(i64, Option<i64>)>,
    runs: u64,
}

impl Batch {
    fn push(&mut self, span: Span, run: Option<i64>) {
        self.sent.push((i64::from_be_bytes(span.span_id), run));
        self.runs += u64::from(run.is_some());
        self.spans.push(span);
    }
}

/// One export's state: the reader context, where to send, and the runs' filter.
struct Exporter {
    ctx: Ctx,
    ep: Endpoint,
    resource: Vec<Attr>,
    agent: ureq::Agent,
    filter: (String, Vec<rusqlite::types::Value>),
}

impl Exporter {
    /// Sends every finished run the filter selects, with their workflows, and records them as
    /// sent (a later `--follow` to the same endpoint skips them). Sending again sends the same
    /// span ids: receivers that key spans by id keep one copy.
    fn once(&mut self) -> Result<bool> {
        let total = self.count_finished()?;
        if total == 0 {
            eprintln!("analyze export: no finished agent runs to export");
            return Ok(false);
        }
        let bar = crate::progress::bar(crate::progress::Unit::Runs, "exporting", total, 0);
        let (mut after, mut runs, mut spans) = (0i64, 0u64, 0usize);
        let mut workflows_seen = HashSet::new();
        loop {
            let page = spans::runs_page(&self.ctx, &self.filter, after, PAGE)?;
            let Some(last) = page.last() else { break };
            after = last.id;
            let mut batch = Batch::default();
            for run in page.iter().filter(|r| r.finished()) {
                batch.push(spans::run_span(&self.ctx, run)?, Some(run.id));
                if let Some(w) = &run.workflow_id {
                    if workflows_seen.insert(w.clone()) {
                        if let Some(s) = spans::workflow_span(&self.ctx, w)? {
                            batch.push(s, None);
                        }
                    }
                }
            }
            self.send(&batch, Retry::Limited(6))?;
            cursor::record(&self.ctx.store, &self.ep.url, &batch.sent, None)?;
            runs += batch.runs;
            spans += batch.spans.len();
            bar.set_position(runs);
        }
        bar.finish_and_clear();
        println!(
            "analyze export: sent {runs} agent runs ({spans} spans) to {}",
            self.ep.url
        );
        Ok(true)
    }

    fn count_finished(&self) -> Result<u64> {
        let (w, p) = &self.filter;
        let sql = format!(
            "SELECT count(*) FROM agent_runs r WHERE {w} AND r.end_ms IS NOT NULL AND {st} NOT IN ('running', 'lost')",
            st = self.ctx.status_sql()
        );
        let n: i64 = self
            .ctx
            .store
            .conn()
            .query_row(&sql, rusqlite::params_from_iter(p), |r| r.get(0))?;
        Ok(n.max(0) as u64)
    }

    /// `--follow`: forever, every [`POLL`], the runs finished since the cursor.
    fn follow(&mut self) -> Result<bool> {
        let bar = crate::progress::spinner(crate::progress::Unit::Runs, "exporting");
        bar.set_message(format!("sent to {}", self.ep.url));
        // The spinner is this command's one line from now on: a burst to derive while following
        // draws no second bar under it.
        crate::progress::silence();
        let mut sent_runs = 0u64;
        loop {
            crate::derive::refresh(&self.ctx.store, &self.ctx.cfg, &self.ctx.prices)?;
            self.ctx.now = crate::analyze::now();
            let mut current = cursor::mark(&self.ctx.store, &self.ep.url)?;
            let mut after = current - 1;
            // The first run not done on this pass: the cursor stops there.
            let mut pinned: Option<i64> = None;
            loop {
                let page = spans::runs_page(&self.ctx, &self.filter, after, PAGE)?;
                let Some(last) = page.last().map(|r| r.id) else {
                    break;
                };
                let (batch, first_open) = self.plan(&page)?;
                self.send(&batch, Retry::Forever)?;
                pinned = pinned.or(first_open);
                // Written only when something changed: an idle pass writes nothing.
                let mark = pinned.unwrap_or(last + 1);
                let moved = (mark > current).then_some(mark);
                cursor::record(&self.ctx.store, &self.ep.url, &batch.sent, moved)?;
                current = current.max(mark);
                sent_runs += batch.runs;
                bar.set_position(sent_runs);
                after = last;
                if page.len() < PAGE {
                    break;
                }
            }
            std::thread::sleep(POLL);
        }
    }

    /// Of one page of runs: the spans not yet sent of the runs that have finished (and settled),
    /// with their workflows' spans once those have ended; and the first run not done — still
    /// running, or its workflow still open. A run that became `lost` is not waited for, nor is the
    /// workflow of a run that ended before the lost threshold (docs/export.md, "--follow").
    fn plan(&self, page: &[spans::RunRow]) -> Result<(Batch, Option<i64>)> {
        let store = &self.ctx.store;
        let settled_before = crate::store::now_ms() - SETTLE_MS;
        let lost_before = self.ctx.lost_before();
        let mut batch = Batch::default();
        let mut first_open = None;
        let mut workflows = HashSet::new();
        for run in page {
            let settled = run.finished() && run.end_ms.is_some_and(|e| e <= settled_before);
            if !settled {
                if run.status != "lost" {
                    first_open = first_open.or(Some(run.id));
                }
                continue;
            }
            if !cursor::is_sent(store, &self.ep.url, run.span_id())? {
                batch.push(spans::run_span(&self.ctx, run)?, Some(run.id));
            }
            let Some(w) = &run.workflow_id else { continue };
            if !run.workflow_ended {
                if run.end_ms.is_some_and(|e| e >= lost_before) {
                    first_open = first_open.or(Some(run.id));
                }
            } else if workflows.insert(w.clone())
                && !cursor::is_sent(store, &self.ep.url, spans::span_id("workflow", w))?
            {
                if let Some(s) = spans::workflow_span(&self.ctx, w)? {
                    batch.push(s, None);
                }
            }
        }
        Ok((batch, first_open))
    }

    /// Sends a batch, retrying with backoff as `retry` allows.
    fn send(&self, batch: &Batch, retry: Retry) -> Result<()> {
        if batch.spans.is_empty() {
            return Ok(());
        }
        let body = send::gzip(&proto::export_request(&self.resource, &batch.spans));
        let mut attempt = 0u32;
        loop {
            let failure = match send::post(&self.agent, &self.ep, &body) {
                Ok(()) => return Ok(()),
                Err(f) => f,
            };
            attempt += 1;
            let give_up = match retry {
                Retry::Limited(n) => !failure.retryable || attempt >= n,
                Retry::Forever => false,
            };
            if give_up {
                return Err(Error::Io(std::io::Error::other(format!(
                    "{} (after {attempt} attempt{}; what was sent before is recorded, run again to resume)",
                    failure.message,
                    if attempt == 1 { "" } else { "s" }
                ))));
            }
            let wait = send::backoff(attempt, Duration::from_secs(60));
            eprintln!(
                "analyze export: {}; retrying in {} s",
                failure.message,
                wait.as_secs()
            );
            std::thread::sleep(wait);
        }
    }
}

/// How long a batch is retried: a one-off export gives up (exit 2), `--follow` never does (it
/// keeps the runs until the endpoint takes them).
#[derive(Clone, Copy)]
enum Retry {
    Limited(u32),
    Forever,
}
