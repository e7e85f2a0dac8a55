//! `analyze prune --older-than 90d [--dry-run]`: deletes the raw event payloads of sessions that
//! ended before the window, keeps every figure (docs/retention.md), and gives the space back.

use super::Ctx;
use crate::error::{Error, Result};
use crate::render::{self, Format, Grid, Report};
use crate::retention::{self, Plan, Pruned, Vacuum};
use serde_json::{json, Value};
use std::path::Path;

/// Arguments of `analyze prune`.
#[derive(clap::Args, Debug, Clone)]
pub struct PruneArgs {
    /// Delete raw data older than this span: 90d, 12w, 2160h.
    #[arg(long, value_name = "SPAN")]
    pub older_than: String,
    /// Say what would be deleted; change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// The answer: what went (or would go).
#[derive(Debug, Clone)]
pub struct PruneReport {
    pub dry_run: bool,
    pub plan: Plan,
    /// None on a dry run.
    pub done: Option<Pruned>,
}

impl Report for PruneReport {
    fn command(&self) -> &'static str {
        "prune"
    }
    fn json(&self) -> Value {
        let p = self.done.as_ref().map_or(&self.plan, |d| &d.plan);
        let mut v = json!({
            "dry_run": self.dry_run,
            "cutoff": crate::timeparse::format_ms(p.cutoff_ms),
            "sessions": p.sessions,
            "events": p.events,
            "bytes": p.bytes,
            "quarantine": p.quarantine,
            "spool_seen": p.spool_seen,
            "events_kept_old": p.events_kept_old,
        });
        if let Some(d) = &self.done {
            v["vacuum"] = json!(d.vacuum);
            v["size_before"] = json!(d.size_before);
            v["size_after"] = json!(d.size_after);
        }
        v
    }
    fn grids(&self) -> Vec<Grid> {
        let p = self.done.as_ref().map_or(&self.plan, |d| &d.plan);
        let mut g = Grid::new(&["", if self.dry_run { "would go" } else { "gone" }]);
        g.title = Some(format!(
            "Raw data older than {}",
            crate::timeparse::format_ms(p.cutoff_ms)
        ));
        g.numeric = vec![1];
        let int = |n: i64| render::int(n);
        g.rows = vec![
            vec!["sessions".into(), int(p.sessions)],
            vec!["events".into(), int(p.events)],
            vec!["payload bytes".into(), render::bytes(p.bytes)],
            vec!["quarantined payloads".into(), int(p.quarantine)],
            vec!["replayed spool ids".into(), int(p.spool_seen)],
        ];
        let mut out = vec![g];
        if let Some(d) = &self.done {
            let mut s = Grid::new(&["database", "bytes"]);
            s.numeric = vec![1];
            s.rows = vec![
                vec!["before".into(), render::bytes(d.size_before)],
                vec!["after".into(), render::bytes(d.size_after)],
            ];
            out.push(s);
        }
        out
    }
    fn notes(&self) -> Vec<String> {
        let p = self.done.as_ref().map_or(&self.plan, |d| &d.plan);
        let mut n = vec![
            "Agent runs, turns, sessions, usage and every rollup are kept: reports are unchanged."
                .to_string(),
        ];
        if p.events_kept_old > 0 {
            n.push(format!(
                "{} older events stay: events without a session, or of a session active after the cutoff or not yet derived.",
                render::int(p.events_kept_old)
            ));
        }
        if let Some(d) = &self.done {
            n.push(match d.vacuum.as_str() {
                "full" => "Space reclaimed with a one-time full VACUUM (incremental vacuum is on from now on).".into(),
                "incremental" => "Space reclaimed by incremental vacuum.".into(),
                _ => "Nothing to reclaim.".into(),
            });
        }
        n
    }
}

/// Runs `analyze prune`. `Ok(false)` (exit 1) when nothing is old enough.
pub fn run(db: Option<&Path>, args: &PruneArgs, format: Format) -> Result<bool> {
    let span = crate::timeparse::parse_span(&args.older_than)
        .filter(|s| *s > 0)
        .ok_or_else(|| {
            Error::InvalidArgument(format!(
                "--older-than {:?}: expected a span such as 90d, 12w or 2160h",
                args.older_than
            ))
        })?;
    let ctx = Ctx::open_without_retention(db)?;
    let cutoff = ctx.now - span;
    let report = if args.dry_run {
        PruneReport {
            dry_run: true,
            plan: retention::plan(&ctx.store, cutoff)?,
            done: None,
        }
    } else {
        let done = retention::prune(&ctx.store, ctx.now, cutoff, false, Vacuum::Full, None)?;
        PruneReport {
            dry_run: false,
            plan: done.plan.clone(),
            done: Some(done),
        }
    };
    render::print(&report, format)?;
    let p = &report.plan;
    Ok(p.events + p.quarantine + p.spool_seen > 0)
}
