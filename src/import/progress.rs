//! The progress line `analyze import` draws on stderr: only when asked for and stderr is a
//! terminal (pipes, tests and `--quiet` see nothing), and only once an import has taken 250 ms (a
//! quick one draws nothing at all).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// An import quicker than this draws nothing.
const QUIET_FOR: Duration = Duration::from_millis(250);

pub(super) struct Progress {
    on: bool,
    shown: bool,
    bar: ProgressBar,
    sessions: usize,
    done: usize,
    started: Instant,
}

impl Progress {
    pub(super) fn new(wanted: bool, sessions: usize, bytes_total: u64) -> Progress {
        // Hidden until QUIET_FOR has passed (`show`).
        let bar = ProgressBar::hidden();
        bar.set_length(bytes_total);
        bar.set_style(
            ProgressStyle::with_template(
                "importing: {msg}, {decimal_bytes}/{decimal_total_bytes} ({decimal_bytes_per_sec})",
            )
            .expect("a valid template"),
        );
        Progress {
            on: wanted && std::io::stderr().is_terminal(),
            shown: false,
            bar,
            sessions,
            done: 0,
            started: Instant::now(),
        }
    }

    fn show(&mut self) {
        if self.on && !self.shown && self.started.elapsed() > QUIET_FOR {
            self.shown = true;
            self.bar
                .set_draw_target(ProgressDrawTarget::stderr_with_hz(4));
        }
    }

    /// One more session parsed, of `bytes`.
    pub(super) fn advance(&mut self, bytes: u64) {
        self.done += 1;
        self.show();
        self.bar
            .set_message(format!("{}/{} sessions", self.done, self.sessions));
        self.bar.inc(bytes);
    }

    /// Every session written: deriving the runs from the appended events.
    pub(super) fn deriving(&mut self) {
        self.show();
        self.bar
            .set_style(ProgressStyle::with_template("importing: {msg}").expect("a valid template"));
        self.bar.set_message("deriving agent runs…");
    }

    /// Clears the line.
    pub(super) fn done(&mut self) {
        self.bar.finish_and_clear();
    }
}
