//! The progress line `analyze import` draws on stderr (`crate::progress`): only when asked for
//! and stderr is a terminal (pipes, tests and `--quiet` see nothing), and only once an import has
//! taken 250 ms (a quick one draws nothing at all). Deriving the runs afterwards draws its own
//! bar when the backlog is large (`crate::derive`).

use crate::progress::{self, Unit};
use indicatif::ProgressBar;
use std::time::{Duration, Instant};

/// An import quicker than this draws nothing.
const QUIET_FOR: Duration = Duration::from_millis(250);

pub(super) struct Progress {
    wanted: bool,
    shown: bool,
    bar: ProgressBar,
    sessions: usize,
    done: usize,
    started: Instant,
}

impl Progress {
    pub(super) fn new(wanted: bool, sessions: usize, bytes_total: u64) -> Progress {
        Progress {
            wanted,
            shown: false,
            // Hidden until QUIET_FOR has passed (`show`).
            bar: progress::hidden(Unit::Bytes, "importing", bytes_total),
            sessions,
            done: 0,
            started: Instant::now(),
        }
    }

    fn show(&mut self) {
        if self.wanted && !self.shown && self.started.elapsed() > QUIET_FOR {
            self.shown = true;
            progress::reveal(&self.bar);
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

    /// Every session written: clears the line (deriving the runs from the appended events
    /// draws its own when it is long).
    pub(super) fn done(&mut self) {
        self.bar.finish_and_clear();
    }
}
