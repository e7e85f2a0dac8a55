//! `analyze import`: records past sessions from Claude Code's transcripts (see
//! [`crate::import`] and docs/import.md). Creates the database when missing; exits 0 with
//! "nothing to import" when there are no transcripts (install.sh runs it unconditionally).

use crate::config::Config;
use crate::error::{Error, Result};
use crate::import::{self, Options, Outcome};
use crate::pricing::Prices;
use crate::render::{self, Format, Grid, Report};
use crate::store::Store;
use serde_json::{json, Value};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// Arguments of `analyze import`.
#[derive(clap::Args, Debug, Clone)]
pub struct ImportArgs {
    /// Claude Code config directory holding projects/ (repeatable; default: $CLAUDE_CONFIG_DIR,
    /// else ~/.claude and ~/.config/claude).
    #[arg(long, value_name = "DIR")]
    pub claude_dir: Vec<PathBuf>,
    /// Parser threads (default: one per core, at most 4).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub threads: usize,
    /// No progress on stderr (neither the import's line nor the derivation's bar).
    #[arg(long)]
    pub quiet: bool,
}

/// Problems printed on stderr before "… and N more".
const SHOWN_PROBLEMS: usize = 20;

/// Runs `analyze import`. Always `Ok(true)` unless it fails: finding nothing is not an error.
pub fn run(
    db: Option<&Path>,
    filter: &super::Filter,
    args: &ImportArgs,
    format: Format,
) -> Result<bool> {
    if args.quiet {
        crate::progress::silence();
    }
    let with_projects = match transcript_roots(&args.claude_dir)? {
        Ok(roots) => roots,
        Err(why) => {
            let report = ImportReport {
                outcome: Outcome::default(),
                nothing: Some(why),
            };
            render::print(&report, format)?;
            return Ok(true);
        }
    };
    let path = crate::paths::db_path(db);
    let store = Store::create(&path)?;
    store.tune_for_reading()?;
    let cfg = Config::load(&path)?;
    let prices = Prices::load(&path)?;
    crate::hook::replay_spool(&store, crate::store::Budget::ALL)?;
    let opts = Options {
        roots: with_projects,
        since: filter.since,
        until: filter.until,
        project: filter.project.clone(),
        session: filter.session.clone(),
        sessions: None,
        threads: args.threads,
        progress: !args.quiet,
    };
    let outcome = import::run(&store, &cfg, &prices, &opts)?;
    if format != Format::Json {
        report_problems(&outcome);
    }
    render::print(
        &ImportReport {
            outcome,
            nothing: None,
        },
        format,
    )?;
    Ok(true)
}

/// The Claude Code configuration directories to read: `--claude-dir` (each must exist) or the
/// defaults ([`import::default_roots`]), those holding a `projects/` directory. `Ok(Err(why))`
/// when there is none: nothing to read, which is not an error.
pub(crate) fn transcript_roots(
    claude_dir: &[PathBuf],
) -> Result<std::result::Result<Vec<PathBuf>, String>> {
    for d in claude_dir {
        if !d.is_dir() {
            return Err(Error::InvalidArgument(format!(
                "--claude-dir {}: no such directory",
                d.display()
            )));
        }
    }
    let roots = if claude_dir.is_empty() {
        import::default_roots()
    } else {
        claude_dir.to_vec()
    };
    let with_projects: Vec<PathBuf> = roots
        .iter()
        .filter(|r| import::projects_dir(r).is_some())
        .cloned()
        .collect();
    if with_projects.is_empty() {
        let looked: Vec<String> = roots.iter().map(|r| r.display().to_string()).collect();
        return Ok(Err(if looked.is_empty() {
            "no Claude Code directory (~/.claude, ~/.config/claude or $CLAUDE_CONFIG_DIR)"
                .to_string()
        } else {
            format!("no projects/ in {}", looked.join(", "))
        }));
    }
    Ok(Ok(with_projects))
}

fn report_problems(o: &Outcome) {
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    for p in o.problems.iter().take(SHOWN_PROBLEMS) {
        let at = match p.line {
            Some(l) => format!("{}:{l}", p.path),
            None => p.path.clone(),
        };
        let head = if color {
            "\x1b[33mskipped\x1b[0m"
        } else {
            "skipped"
        };
        eprintln!("analyze import: {head} {at}: {}", p.reason);
    }
    if o.problems_total as usize > SHOWN_PROBLEMS {
        eprintln!(
            "analyze import: … and {} more (all counted below; --format json lists the first {})",
            o.problems_total as usize - SHOWN_PROBLEMS,
            o.problems.len()
        );
    }
}

/// The outcome as a report: one summary line for people, the whole outcome as JSON.
struct ImportReport {
    outcome: Outcome,
    /// Set when there was nothing to import, with the reason.
    nothing: Option<String>,
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!(
        "{} {}",
        render::int(n as i64),
        if n == 1 { one } else { many }
    )
}

impl ImportReport {
    fn line(&self) -> String {
        let o = &self.outcome;
        if let Some(why) = &self.nothing {
            return format!("analyze import: nothing to import ({why})");
        }
        let mut s = format!(
            "analyze import: {} read ({:.1} MB, {}",
            plural(o.files_read, "file", "files"),
            o.bytes_read as f64 / 1e6,
            plural(o.sessions_imported, "session", "sessions"),
        );
        if o.sessions_unchanged > 0 {
            s.push_str(&format!(
                "; {} unchanged since the last import",
                plural(o.sessions_unchanged, "session", "sessions")
            ));
        }
        if o.sessions_filtered > 0 {
            s.push_str(&format!(
                "; {} filtered out",
                plural(o.sessions_filtered, "session", "sessions")
            ));
        }
        s.push_str(&format!(
            "), {} added, {} updated, {} skipped",
            plural(o.runs_added.max(0) as u64, "run", "runs"),
            plural(o.runs_updated.max(0) as u64, "run", "runs"),
            plural(o.lines_skipped, "line", "lines"),
        ));
        if !o.skipped.is_empty() {
            let why: Vec<String> = o
                .skipped
                .iter()
                .map(|(k, v)| format!("{} {k}", render::int(*v as i64)))
                .collect();
            s.push_str(&format!(" ({})", why.join(", ")));
        }
        if o.unreadable_files > 0 {
            s.push_str(&format!(
                ", {} unreadable",
                plural(o.unreadable_files, "file", "files")
            ));
        }
        s.push_str(&format!(" in {:.1} s", o.seconds));
        s
    }
}

impl Report for ImportReport {
    fn command(&self) -> &'static str {
        "import"
    }
    fn json(&self) -> Value {
        let mut v = serde_json::to_value(&self.outcome).unwrap_or(Value::Null);
        if let Value::Object(m) = &mut v {
            m.insert("nothing_to_import".into(), json!(self.nothing.is_some()));
            m.insert("summary".into(), json!(self.line()));
        }
        v
    }
    fn grids(&self) -> Vec<Grid> {
        Vec::new()
    }
    fn notes(&self) -> Vec<String> {
        let mut notes = vec![self.line()];
        let o = &self.outcome;
        let ignored: u64 = o.ignored.values().sum();
        if ignored > 0 {
            let mut top: Vec<(&String, &u64)> = o.ignored.iter().collect();
            top.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            let shown: Vec<String> = top
                .iter()
                .take(5)
                .map(|(k, v)| format!("{k} {}", render::int(**v as i64)))
                .collect();
            notes.push(format!(
                "  not run data, ignored by design: {} ({}{})",
                plural(ignored, "line", "lines"),
                shown.join(", "),
                if top.len() > 5 { ", …" } else { "" }
            ));
        }
        notes
    }
}
