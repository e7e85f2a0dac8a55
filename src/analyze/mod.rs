//! Readers: each subcommand computes typed rows from the projection and returns a
//! [`Report`](crate::render::Report). Nothing here writes user data; opening a context only
//! advances the projection (see [`crate::derive`]). On request, `import` appends imported events
//! and `doctor --coverage` its result (and with `--fix`, an import); `rebuild --metrics` appends
//! fresh transcript summaries ([`rebuild`]).

pub mod active;
pub mod agent;
pub(crate) mod agent_cells;
pub(crate) mod agent_parts;
pub mod alerts;
pub mod cli;
pub mod coverage;
pub mod doctor;
pub mod errors;
pub mod import;
pub mod metrics;
pub mod overhead;
pub mod prune;
pub mod rebuild;
pub mod recover;
pub mod sessions;
pub mod summary;
pub mod timeline;
pub mod tools;
pub mod top;
pub mod tree;
pub mod trends;
pub mod types;
pub mod window;
pub mod workflow_cache;
pub mod workflow_load;
pub mod workflows;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::pricing::Prices;
use crate::store::Store;
use crate::vocab::RunStatus;
use std::path::{Path, PathBuf};

pub use crate::query::Filter;

/// An opened, refreshed database plus the settings in force: what every subcommand needs.
pub struct Ctx {
    pub store: Store,
    pub cfg: Config,
    pub prices: Prices,
    /// "Now", fixed once per command (tests pin it with `AGENT_TELEMETRY_NOW`).
    pub now: i64,
}

impl Ctx {
    /// Opens the database at `db` (or the default), replays any spool, refreshes the projection.
    pub fn open(db: Option<&Path>) -> Result<Ctx> {
        let ctx = Self::open_without_retention(db)?;
        // config.json's retention_days: at most once a day, within a time budget.
        match crate::retention::auto(&ctx.store, ctx.cfg.retention_days, ctx.now) {
            Ok(Some(p)) if p.plan.events > 0 => eprintln!(
                "analyze: retention ({} days): pruned the raw events of {} sessions ({} events, {} bytes){}",
                ctx.cfg.retention_days.unwrap_or_default(),
                p.plan.sessions,
                p.plan.events,
                p.plan.bytes,
                if p.incomplete { "; the rest goes next time" } else { "" }
            ),
            Ok(_) => {}
            Err(e) => eprintln!("analyze: automatic retention failed (nothing lost): {e}"),
        }
        // Derived events' payloads, compressed once enough of them wait (crate::store::packed).
        if let Err(e) = crate::store::packed::auto(&ctx.store) {
            eprintln!("analyze: compressing raw payloads failed (nothing lost): {e}");
        }
        Ok(ctx)
    }

    /// [`Ctx::open`] without automatic retention (`analyze prune`, whose `--dry-run` changes
    /// nothing).
    pub fn open_without_retention(db: Option<&Path>) -> Result<Ctx> {
        let path: PathBuf = crate::paths::db_path(db);
        let store = Store::open_reader(&path)?;
        let cfg = Config::load(&path)?;
        let prices = Prices::load(&path)?;
        let ctx = Ctx {
            store,
            cfg,
            prices,
            now: now(),
        };
        crate::hook::replay_spool(&ctx.store, crate::store::Budget::ALL)?;
        crate::derive::refresh(&ctx.store, &ctx.cfg, &ctx.prices)?;
        Ok(ctx)
    }

    /// Runs that started before this and never ended are `lost`.
    pub fn lost_before(&self) -> i64 {
        self.now - self.cfg.lost_after_minutes * 60_000
    }

    /// SQL for a run's effective status (`lost` decided at read time), `r` aliased.
    pub fn status_sql(&self) -> String {
        RunStatus::effective_sql("r", self.lost_before())
    }

    /// `filter` narrowed to one agent type named on the command line (`analyze agent NAME`,
    /// `trends NAME`, `errors NAME`), checked like `--agent` (an unknown name is an error with
    /// suggestions). The name replaces any `--agent`.
    pub fn narrowed(&self, filter: &Filter, name: &str) -> Result<Filter> {
        self.check_agents(&[name.to_string()])?;
        let mut f = filter.clone();
        f.agents = vec![name.to_string()];
        Ok(f)
    }

    /// Fails with a helpful message when an `--agent` names no recorded agent type.
    pub fn check_agents(&self, agents: &[String]) -> Result<()> {
        for a in agents {
            let known: bool = self.store.conn().query_row(
                "SELECT EXISTS (SELECT 1 FROM agent_daily WHERE agent_type = ?1 AND runs > 0)",
                [a],
                |r| r.get(0),
            )?;
            if !known {
                let mut stmt = self.store.conn().prepare(
                    "SELECT agent_type FROM agent_daily WHERE runs > 0 GROUP BY agent_type ORDER BY sum(runs) DESC",
                )?;
                let names: Vec<String> = stmt
                    .query_map([], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?;
                let close: Vec<&String> = names
                    .iter()
                    .filter(|n| {
                        n.contains(a.as_str()) || a.contains(n.as_str()) || edit_distance(n, a) <= 3
                    })
                    .take(3)
                    .collect();
                let hint = if !close.is_empty() {
                    format!(
                        "; did you mean {}?",
                        close
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                } else if names.is_empty() {
                    "; no agent runs are recorded yet".to_string()
                } else {
                    format!(
                        "; known agents: {}",
                        names
                            .iter()
                            .take(10)
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                };
                return Err(Error::UnknownAgent {
                    name: a.clone(),
                    hint,
                });
            }
        }
        Ok(())
    }
}

/// The current time in unix ms, or `AGENT_TELEMETRY_NOW` (ISO-8601) when set (tests, replays).
pub fn now() -> i64 {
    std::env::var("AGENT_TELEMETRY_NOW")
        .ok()
        .and_then(|s| crate::timeparse::parse_instant(&s))
        .unwrap_or_else(crate::store::now_ms)
}

/// Levenshtein distance, for "did you mean" hints.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push(
                (prev[j] + usize::from(ca != *cb))
                    .min(prev[j + 1] + 1)
                    .min(cur[j] + 1),
            );
        }
        prev = cur;
    }
    prev[b.len()]
}
