//! SQL fragments shared by readers. A run's effective status (`lost` decided at read time) is
//! [`RunStatus::effective_sql`] (`Ctx::status_sql` in `analyze`); the fragments here count over
//! such an expression, `st`, so every reader spells the statuses the same way.

use crate::vocab::RunStatus;

/// SQL for a run's tokens (input + output + cache read + cache write), `r` aliased.
pub const TOKENS_SQL: &str =
    "(r.input_tokens + r.output_tokens + r.cache_read_tokens + r.cache_write_tokens)";

/// SQL for the CPU seconds the host (Claude Code) process used while run `r` ran: its CPU time at
/// the stop minus at the start, NULL unless both were read from the same process
/// (docs/metrics.md, "Resources").
pub const HOST_CPU_SECONDS_SQL: &str = "((r.host_cpu_end_ms - r.host_cpu_start_ms) / 1000.0)";

/// SQL for the host process's resident memory at run `r`'s stop, MB (1 MB = 1,024 kB).
pub const HOST_RSS_MB_SQL: &str = "(r.host_rss_kb / 1024.0)";

/// SQL for run `r`'s model time in ms: its duration less its tool time, at least 0; NULL unless
/// both are known (docs/metrics.md, "Outcome").
pub const MODEL_MS_SQL: &str =
    "(CASE WHEN r.tool_ms IS NOT NULL AND r.duration_ms IS NOT NULL THEN max(r.duration_ms - r.tool_ms, 0) END)";

/// `sum(st = 'success')`: the rows whose status `st` is `status`.
pub fn count_of(st: &str, status: RunStatus) -> String {
    format!("sum({st} = '{status}')")
}

/// `sum(st IN ('success', 'failure', 'lost'))`: the decided rows (a success rate's denominator).
pub fn decided_count(st: &str) -> String {
    format!("sum({st} IN {})", RunStatus::DECIDED_SQL)
}

/// The five status counts, in this order: success, failure, cancelled, running, lost.
pub fn status_counts(st: &str) -> String {
    [
        RunStatus::Success,
        RunStatus::Failure,
        RunStatus::Cancelled,
        RunStatus::Running,
        RunStatus::Lost,
    ]
    .iter()
    .map(|s| count_of(st, *s))
    .collect::<Vec<_>>()
    .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_spell_the_stored_words() {
        assert_eq!(count_of("x", RunStatus::Success), "sum(x = 'success')");
        assert_eq!(
            decided_count("x"),
            "sum(x IN ('success', 'failure', 'lost'))"
        );
        assert_eq!(
            status_counts("x"),
            "sum(x = 'success'), sum(x = 'failure'), sum(x = 'cancelled'), sum(x = 'running'), sum(x = 'lost')"
        );
    }
}
