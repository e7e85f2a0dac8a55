//! The server's alert evaluator: a thread of its own that evaluates the rules and delivers
//! changes every `alerts.evaluate_every_seconds` (config.json, re-read each time), so the
//! notifiers hear of an alert while the server runs even if nobody looks at the page. It holds
//! no connection between rounds and never blocks a request: the pages and `/api/v1/alerts`
//! evaluate on their own (without delivering).

use crate::analyze::Ctx;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How often the thread checks for the stop signal while it waits.
const TICK: Duration = Duration::from_millis(100);

/// Starts the evaluator thread; it ends when `stop` turns true.
pub(crate) fn spawn(db: PathBuf, stop: watch::Receiver<bool>) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("serve-alerts".into())
        .spawn(move || run(&db, &stop))
        .expect("a thread can be started")
}

fn run(db: &std::path::Path, stop: &watch::Receiver<bool>) {
    let mut complained = false;
    let mut wait = Duration::ZERO;
    loop {
        let start = Instant::now();
        while start.elapsed() < wait {
            if *stop.borrow() {
                return;
            }
            std::thread::sleep(TICK);
        }
        if *stop.borrow() {
            return;
        }
        let round = Ctx::open(Some(db)).and_then(|ctx| {
            let every = ctx.cfg.alerts.evaluate_every_seconds;
            let inputs = crate::analyze::alerts::inputs(&ctx);
            crate::alerts::evaluate_and_deliver(&ctx.store, &inputs).map(|_| every)
        });
        match round {
            Ok(every) => {
                complained = false;
                wait = Duration::from_secs(every.max(1));
            }
            Err(e) => {
                // Said once until it works again (a broken config.json is fixed by the user).
                if !complained {
                    eprintln!("analyze serve: alerts: {e} (retrying every 30 s)");
                }
                complained = true;
                wait = Duration::from_secs(30);
            }
        }
    }
}
