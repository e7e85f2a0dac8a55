//! The sums `analyze agent NAME` is computed from, whether from passes over the runs
//! (`agent::compute_full_scan`) or from the per-day cells (`agent_cells`), and the report's
//! rows both build alike.

use serde::Serialize;

/// The Claude Code process's resources over the agent's runs (docs/metrics.md, "Resources"):
/// the host process's, shared by every agent running at the same time, not the agent's own.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct HostResources {
    /// Runs with a CPU figure (a start and a stop read from the same process).
    pub cpu_runs: i64,
    /// Average and largest CPU seconds the host used while a run ran.
    pub avg_cpu_seconds: Option<f64>,
    pub max_cpu_seconds: Option<f64>,
    /// Runs with a memory figure at their stop.
    pub rss_runs: i64,
    /// Average and largest resident memory of the host at a run's stop, MB.
    pub avg_rss_mb: Option<f64>,
    pub max_rss_mb: Option<f64>,
}

/// A tool the agent's runs called (from their transcripts).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ToolUse {
    pub tool: String,
    pub calls: i64,
    pub errors: i64,
    /// calls ÷ all tool calls of the agent's runs.
    pub share: f64,
    /// Runs that called it.
    pub runs: i64,
}

/// An agent type (or `main agent`) and how many runs it accounts for.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Count {
    pub agent: String,
    pub runs: i64,
}

/// Sums over a group of runs, in the order of the grouped query's columns.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Sums {
    pub(crate) runs: i64,
    pub(crate) success: i64,
    pub(crate) failure: i64,
    pub(crate) cancelled: i64,
    pub(crate) running: i64,
    pub(crate) lost: i64,
    pub(crate) dur_n: i64,
    pub(crate) dur_sum: i64,
    pub(crate) complexity: i64,
    pub(crate) input: i64,
    pub(crate) output: i64,
    pub(crate) cache_read: i64,
    pub(crate) cache_write: i64,
    pub(crate) unpriced: i64,
    pub(crate) cost: f64,
}

/// One group of the grouped query: the runs of one UTC start day started by one agent type
/// (`main agent`, `unknown`), their sums and their largest category.
#[derive(Debug, Clone)]
pub(crate) struct Group {
    pub(crate) day: i64,
    pub(crate) who: String,
    pub(crate) sums: Sums,
    pub(crate) category: Option<String>,
}

/// What the report is made of besides the index-served parts (percentiles, recent runs and
/// errors, metrics): from one pass per section over the matching runs
/// (`agent::compute_full_scan`), or from the agent cells (`agent_cells`).
#[derive(Debug, Clone)]
pub(crate) struct Parts {
    /// In (day, who) order: the costs are added in that order.
    pub(crate) groups: Vec<Group>,
    /// The outcome query's columns: tested, verified, runs with tests, passed, failed, skipped,
    /// runs with an outcome, files created, modified, commands failed, timed runs, tool ms,
    /// model ms.
    pub(crate) outcome: [i64; 13],
    pub(crate) host: HostResources,
    /// Calls, errors and runs per tool, in any order.
    pub(crate) tools: Vec<ToolUse>,
    /// Child runs per child type, in any order.
    pub(crate) delegates_to: Vec<Count>,
}

impl Sums {
    pub(crate) fn add(&mut self, o: &Sums) {
        self.runs += o.runs;
        self.success += o.success;
        self.failure += o.failure;
        self.cancelled += o.cancelled;
        self.running += o.running;
        self.lost += o.lost;
        self.dur_n += o.dur_n;
        self.dur_sum += o.dur_sum;
        self.complexity += o.complexity;
        self.input += o.input;
        self.output += o.output;
        self.cache_read += o.cache_read;
        self.cache_write += o.cache_write;
        self.unpriced += o.unpriced;
        self.cost += o.cost;
    }
    pub(crate) fn success_rate(&self) -> Option<f64> {
        let decided = self.success + self.failure + self.lost;
        (decided > 0).then(|| self.success as f64 / decided as f64)
    }
    pub(crate) fn avg_duration(&self) -> Option<f64> {
        (self.dur_n > 0).then(|| self.dur_sum as f64 / self.dur_n as f64)
    }
}
