//! The check as a report: its figures, its problems (the first few in the table, all in JSON)
//! and a one-line verdict.

use super::{days_text, Coverage, SHOWN_PROBLEMS};
use crate::render::{self, Grid, Report};
use serde_json::{json, Value};

fn opt_int(n: Option<i64>) -> String {
    n.map(render::int).unwrap_or_else(|| "-".into())
}

impl Report for Coverage {
    fn command(&self) -> &'static str {
        "coverage"
    }

    fn json(&self) -> Value {
        match serde_json::to_value(self) {
            Ok(v) => v,
            Err(e) => json!({"error": e.to_string()}),
        }
    }

    #[allow(clippy::too_many_lines)] // one table per section, in the order they print
    fn grids(&self) -> Vec<Grid> {
        let mut g = Grid::new(&["figure", "value"]).titled("Coverage");
        let n = |x: u64| render::int(x as i64);
        let window = format!(
            "{} → {} ({})",
            crate::render::timestamp(self.window.0),
            self.window
                .1
                .map(crate::render::timestamp)
                .unwrap_or_else(|| "now".into()),
            days_text(self.days)
        );
        let mut rows = vec![
            vec!["window".into(), window],
            vec![
                "transcripts read".into(),
                format!(
                    "{} session(s), {} file(s), {:.1} MB in {:.1} s",
                    n(self.transcripts.sessions),
                    n(self.transcripts.files_read),
                    self.transcripts.bytes_read as f64 / 1e6,
                    self.transcripts.seconds
                ),
            ],
            vec!["runs in the transcripts".into(), n(self.transcript_runs)],
            vec!["recorded as they ran".into(), n(self.covered)],
            vec![
                "  of which recovered by an import".into(),
                n(self.recovered),
            ],
            vec!["missing".into(), n(self.missing)],
            vec![
                "recorded with another status".into(),
                n(self.status_differs),
            ],
            vec!["recorded with other tokens".into(), n(self.tokens_differ)],
            vec!["recorded, not in the transcripts".into(), n(self.extra)],
            vec![
                "recorded, no transcript to compare".into(),
                n(self.without_transcript),
            ],
            vec!["coverage".into(), render::pct(self.coverage)],
        ];
        if let Some(s) = &self.scope {
            rows.insert(1, vec!["scope".into(), s.clone()]);
        }
        if let Some(f) = &self.fix {
            rows.push(vec![
                "before --fix".into(),
                format!(
                    "{} ({} missing, {} wrong); imported {} session(s): {} run(s) added, {} updated",
                    render::pct(f.coverage_before),
                    n(f.missing_before),
                    n(f.wrong_before),
                    n(f.sessions),
                    render::int(f.runs_added),
                    render::int(f.runs_updated)
                ),
            ]);
        }
        g.rows = rows;
        let mut p = Grid::new(&[
            "problem",
            "agent",
            "agent id",
            "start",
            "status (transcript / recorded)",
            "tokens (transcript / recorded)",
        ])
        .titled(if self.problems.len() > SHOWN_PROBLEMS {
            format!(
                "Problems (the first {SHOWN_PROBLEMS} of {}; --format json lists all)",
                self.problems.len()
            )
        } else {
            "Problems".to_string()
        });
        for pr in self.problems.iter().take(SHOWN_PROBLEMS) {
            // `wrong` shows what differs: status, tokens, or status+tokens.
            let what = match pr.kind {
                "wrong" => pr.differs.join("+"),
                k => k.to_string(),
            };
            let tokens = match pr.tokens_difference {
                Some(d) if d != 0 => format!(
                    "{} / {} ({}{})",
                    opt_int(pr.transcript_tokens),
                    opt_int(pr.recorded_tokens),
                    if d > 0 { "+" } else { "" },
                    render::int(d)
                ),
                _ => format!(
                    "{} / {}",
                    opt_int(pr.transcript_tokens),
                    opt_int(pr.recorded_tokens)
                ),
            };
            p.rows.push(vec![
                what,
                pr.agent_type.clone(),
                pr.agent_id.clone(),
                pr.start_ms
                    .map(crate::render::timestamp)
                    .unwrap_or_else(|| "-".into()),
                format!(
                    "{} / {}",
                    pr.transcript_status.as_deref().unwrap_or("-"),
                    pr.recorded_status.as_deref().unwrap_or("-")
                ),
                tokens,
            ]);
        }
        vec![g, p]
    }

    fn notes(&self) -> Vec<String> {
        vec![self.verdict.clone()]
    }
}

/// One line: the coverage and what is wrong, for the end of the table and JSON `verdict`.
pub(super) fn verdict(c: &Coverage) -> String {
    let over = days_text(c.days);
    if let Some(why) = &c.nothing {
        return format!("nothing to compare: {why}");
    }
    if c.transcript_runs == 0 {
        return format!("nothing to compare: no agent runs in the transcripts of the last {over}");
    }
    let pct = render::pct(c.coverage);
    if c.ok() {
        return format!(
            "coverage {pct}: all {} run(s) in the transcripts of the last {over} are recorded, with the status and tokens the transcripts give",
            render::int(c.transcript_runs as i64)
        );
    }
    let mut what = Vec::new();
    if c.missing > 0 {
        what.push(format!("{} missing", render::int(c.missing as i64)));
    }
    if c.status_differs > 0 {
        what.push(format!(
            "{} with another status",
            render::int(c.status_differs as i64)
        ));
    }
    if c.tokens_differ > 0 {
        what.push(format!(
            "{} with other tokens",
            render::int(c.tokens_differ as i64)
        ));
    }
    format!(
        "coverage {pct}: {} of {} run(s) in the transcripts of the last {over} are recorded as they ran; {}{}",
        render::int(c.covered as i64),
        render::int(c.transcript_runs as i64),
        what.join(", "),
        if c.fix.is_some() {
            " — still after --fix: the import could not correct these"
        } else {
            " — `analyze doctor --coverage --fix` imports them from the transcripts"
        }
    )
}
