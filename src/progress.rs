//! The one way `analyze` draws progress: an indicatif bar on stderr, only when stderr is a
//! terminal (pipes, files, tests and Claude Code's screen see nothing), redrawn a few times a
//! second at most whatever the caller's update rate.
//!
//! Used by the commands people wait on: a large derivation (`derive`: the first reader after
//! a big import or `gen-history`, `analyze rebuild`, a rules upgrade), `analyze import`,
//! `analyze export` and `analyze doctor --recover`. Never by the hooks, the guard or the status line (they derive through
//! paths that draw nothing), nor by `analyze serve` once it serves, `export --follow` once it follows, or `import --quiet`
//! ([`silence`]).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressFinish, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

/// Redraws per second at most: updates in between only move counters.
const HZ: u8 = 4;

/// Set by [`silence`]: from then on no new bar is drawn.
static STOPPED: AtomicBool = AtomicBool::new(false);

/// What a bar counts, which decides its line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unit {
    /// Events derived into runs.
    Events,
    /// Transcript bytes read (import).
    Bytes,
    /// Agent runs sent (export).
    Runs,
    /// Table rows copied (`doctor --recover`).
    Rows,
    /// Workflows whose figures are computed (the first `workflows` / `overhead` report).
    Workflows,
}

impl Unit {
    /// One line of at most 80 columns: what, how far, the rate, the time left.
    fn template(self) -> &'static str {
        match self {
            Unit::Events => {
                "{prefix} {bar:20} {human_pos}/{human_len} events, {per_sec:0}, {eta} left {msg}"
            }
            Unit::Bytes => {
                "{prefix}: {msg}, {decimal_bytes}/{decimal_total_bytes}, {decimal_bytes_per_sec}, {eta} left"
            }
            Unit::Runs => {
                "{prefix} {bar:20} {human_pos}/{human_len} agent runs, {per_sec:0}, {eta} left {msg}"
            }
            Unit::Rows => {
                "{prefix} {bar:20} {human_pos}/{human_len} rows, {per_sec:0}, {eta} left {msg}"
            }
            Unit::Workflows => {
                "{prefix} {bar:20} {human_pos}/{human_len} workflows, {per_sec:0}, {eta} left {msg}"
            }
        }
    }
}

/// The decision, apart from the terminal it reads: draw when stderr is a terminal, the process
/// has not been silenced, and the work (`total`, in the bar's unit) is more than `above`.
pub(crate) fn shows(terminal: bool, stopped: bool, total: u64, above: u64) -> bool {
    terminal && !stopped && total > above
}

/// Whether this process may draw at all now.
fn may_draw() -> bool {
    !STOPPED.load(Ordering::Relaxed) && std::io::stderr().is_terminal()
}

/// From now on no new bar is drawn (a bar already drawn goes on): asked for (`import --quiet`),
/// or a process that has become a long-running service, whose stderr is a log rather than
/// someone waiting.
pub(crate) fn silence() {
    STOPPED.store(true, Ordering::Relaxed);
}

/// A bar for `total` of `unit`, labelled `what`, not drawn yet ([`reveal`] draws it). Dropping
/// it clears its line (an error then prints on a clean line).
pub(crate) fn hidden(unit: Unit, what: &str, total: u64) -> ProgressBar {
    let bar = ProgressBar::hidden().with_finish(ProgressFinish::AndClear);
    bar.set_length(total);
    bar.set_style(ProgressStyle::with_template(unit.template()).expect("a valid template"));
    bar.set_prefix(what.to_string());
    bar
}

/// Draws `bar` on stderr if this process may draw (a terminal, not a service).
pub(crate) fn reveal(bar: &ProgressBar) {
    if may_draw() {
        bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(HZ));
    }
}

/// A bar for `total` of `unit`, drawn at once when [`shows`] says so (the work more than
/// `above`), hidden otherwise.
pub(crate) fn bar(unit: Unit, what: &str, total: u64, above: u64) -> ProgressBar {
    let bar = hidden(unit, what, total);
    if shows(
        std::io::stderr().is_terminal(),
        STOPPED.load(Ordering::Relaxed),
        total,
        above,
    ) {
        bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(HZ));
    }
    bar
}

/// A spinner with a count of `unit` and a message, for work of unknown size (`export
/// --follow`): drawn only on a terminal.
pub(crate) fn spinner(unit: Unit, what: &str) -> ProgressBar {
    let bar = ProgressBar::hidden().with_finish(ProgressFinish::AndClear);
    let noun = match unit {
        Unit::Events => "events",
        Unit::Bytes => "bytes",
        Unit::Runs => "agent runs",
        Unit::Rows => "rows",
        Unit::Workflows => "workflows",
    };
    let template = format!("{{spinner}} {{prefix}}: {{human_pos}} {noun}; {{msg}}");
    bar.set_style(ProgressStyle::with_template(&template).expect("a valid template"));
    bar.set_prefix(what.to_string());
    if may_draw() {
        bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(HZ));
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
    }
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_only_on_a_terminal_for_large_work_outside_a_service() {
        // terminal × size × service
        assert!(shows(true, false, 20_001, 20_000));
        assert!(
            !shows(true, false, 20_000, 20_000),
            "at the threshold: quiet"
        );
        assert!(
            !shows(true, false, 10, 20_000),
            "a quick refresh never flickers"
        );
        assert!(
            !shows(false, false, 1_000_000, 20_000),
            "never when not a terminal"
        );
        assert!(!shows(false, false, 10, 20_000));
        assert!(!shows(true, true, 1_000_000, 20_000), "never once serving");
        assert!(shows(true, false, 1, 0), "no threshold: any work");
        assert!(!shows(true, false, 0, 0), "no work: nothing");
    }

    #[test]
    fn every_template_parses() {
        for u in [Unit::Events, Unit::Bytes, Unit::Runs, Unit::Rows] {
            assert!(ProgressStyle::with_template(u.template()).is_ok(), "{u:?}");
            drop(spinner(u, "x"));
        }
    }
}
