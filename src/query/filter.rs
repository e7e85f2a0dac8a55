//! The reader filter and the one WHERE-clause builder every reader uses.
//!
//! The global options (`--since`, `--until`, `--agent`, `--project`, `--session`) mean the same
//! thing whichever table a report reads; only the columns differ. [`Filter::clause`] spells
//! each option once, over a [`Table`] that names the columns, and binds every value as a
//! parameter.

use crate::vocab::WorkflowKind;
use rusqlite::types::Value as SqlValue;

/// Which runs a question is about.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Runs that started at or after this (unix ms).
    pub since: Option<i64>,
    /// Runs that started before this (unix ms).
    pub until: Option<i64>,
    /// Agent types; empty = all.
    pub agents: Vec<String>,
    /// The session's working directory (or an explicit workflow's project), or one below it.
    pub project: Option<String>,
    /// A session id (for runs and workflows, a workflow id matches too).
    pub session: Option<String>,
}

/// The table a clause selects from, with its alias, and how each option reads there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Table {
    /// `sessions s`: time bounds apply to the session's start; `--agent` keeps sessions with a
    /// user run of that type.
    Sessions,
    /// `agent_runs r`, user agents only.
    Runs,
    /// `workflows w`, turns and explicit workflows (a notification turn is never a workflow of
    /// its own: its agents belong to the launching turn).
    Workflows,
    /// `delegations d`: the Agent tool calls; time bounds apply to the call, `--agent` to the
    /// requested type, `--project` to the session's directory.
    Delegations,
}

impl Table {
    /// The condition every row of the table must meet, whatever the filter.
    fn base(self) -> String {
        match self {
            Table::Sessions | Table::Delegations => "1 = 1".into(),
            Table::Runs => "r.internal = 0".into(),
            Table::Workflows => format!(
                "w.kind IN ('{}', '{}')",
                WorkflowKind::Turn,
                WorkflowKind::Explicit
            ),
        }
    }

    /// The start time column that `--since` / `--until` bound.
    fn start(self) -> &'static str {
        match self {
            Table::Sessions => "s.start_ms",
            Table::Runs => "r.start_ms",
            Table::Workflows => "w.start_ms",
            Table::Delegations => "d.ts",
        }
    }

    /// `--project` with the directory bound as `?n`: the directory or one below it.
    fn project(self, n: usize) -> String {
        let under =
            |col: &str| format!("{col} = ?{n} OR substr({col}, 1, length(?{n}) + 1) = ?{n} || '/'");
        match self {
            Table::Sessions => format!("({})", under("s.cwd")),
            // An explicit workflow's runs have no cwd of their own: the workflow's project counts.
            Table::Runs => format!(
                "({} OR r.workflow_id IN (SELECT workflow_id FROM workflows WHERE project = ?{n}))",
                under("r.cwd")
            ),
            Table::Workflows => format!("({})", under("w.project")),
            Table::Delegations => format!(
                "d.session_id IN (SELECT s.session_id FROM sessions s WHERE {})",
                under("s.cwd")
            ),
        }
    }

    /// `--session` with the id bound as `?n`.
    fn session(self, n: usize) -> String {
        match self {
            Table::Sessions => format!("s.session_id = ?{n}"),
            Table::Runs => format!("(r.session_id = ?{n} OR r.workflow_id = ?{n})"),
            Table::Workflows => format!("(w.session_id = ?{n} OR w.workflow_id = ?{n})"),
            Table::Delegations => format!("(d.session_id = ?{n} OR d.prompt_id = ?{n})"),
        }
    }

    /// `--agent` with the names bound as `marks` (`?3, ?4`).
    fn agents(self, marks: &str) -> String {
        match self {
            Table::Sessions => format!(
                "EXISTS (SELECT 1 FROM agent_runs r WHERE r.session_id = s.session_id AND r.internal = 0 AND r.agent_type IN ({marks}))"
            ),
            Table::Runs => format!("r.agent_type IN ({marks})"),
            Table::Workflows => format!(
                "EXISTS (SELECT 1 FROM agent_runs a WHERE a.workflow_id = w.workflow_id AND a.internal = 0 AND a.agent_type IN ({marks}))"
            ),
            Table::Delegations => format!("d.subagent_type IN ({marks})"),
        }
    }
}

impl Filter {
    /// No option given: every run, session and workflow.
    pub fn is_empty(&self) -> bool {
        self.since.is_none()
            && self.until.is_none()
            && self.agents.is_empty()
            && self.project.is_none()
            && self.session.is_none()
    }

    /// True when only `--agent` (or nothing) narrows the runs: rollups can answer.
    pub fn only_agents(&self) -> bool {
        self.since.is_none()
            && self.until.is_none()
            && self.project.is_none()
            && self.session.is_none()
    }

    /// A WHERE clause over `sessions` aliased `s` (time bounds apply to the session's start;
    /// `--agent` keeps sessions with a user run of that type), with its parameters.
    pub fn sessions_where(&self) -> (String, Vec<SqlValue>) {
        self.clause(Table::Sessions)
    }

    /// A WHERE clause over `agent_runs` aliased `r` (user agents only), with its parameters.
    pub fn runs_where(&self) -> (String, Vec<SqlValue>) {
        self.clause(Table::Runs)
    }

    /// A WHERE clause over `workflows` aliased `w` (turns and explicit workflows; `--agent`
    /// keeps workflows with a user run of that type), with its parameters.
    pub fn workflows_where(&self) -> (String, Vec<SqlValue>) {
        self.clause(Table::Workflows)
    }

    /// A WHERE clause over `delegations` aliased `d` (time bounds on the call, `--agent` on the
    /// requested type), with its parameters.
    pub fn delegations_where(&self) -> (String, Vec<SqlValue>) {
        self.clause(Table::Delegations)
    }

    /// The one builder: each option, spelled for `table`, every value a numbered parameter.
    fn clause(&self, table: Table) -> (String, Vec<SqlValue>) {
        let mut w = vec![table.base()];
        let mut p: Vec<SqlValue> = Vec::new();
        if let Some(s) = self.since {
            p.push(SqlValue::Integer(s));
            w.push(format!("{} >= ?{}", table.start(), p.len()));
        }
        if let Some(u) = self.until {
            p.push(SqlValue::Integer(u));
            w.push(format!("{} < ?{}", table.start(), p.len()));
        }
        if let Some(proj) = &self.project {
            p.push(SqlValue::Text(proj.trim_end_matches('/').to_string()));
            w.push(table.project(p.len()));
        }
        if let Some(id) = &self.session {
            p.push(SqlValue::Text(id.clone()));
            w.push(table.session(p.len()));
        }
        if !self.agents.is_empty() {
            let mut marks = Vec::new();
            for a in &self.agents {
                p.push(SqlValue::Text(a.clone()));
                marks.push(format!("?{}", p.len()));
            }
            w.push(table.agents(&marks.join(", ")));
        }
        (w.join(" AND "), p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_option_is_a_bound_parameter_in_one_order() {
        let f = Filter {
            since: Some(10),
            until: Some(20),
            agents: vec!["a".into(), "b".into()],
            project: Some("/p/".into()),
            session: Some("s1".into()),
        };
        let (w, p) = f.runs_where();
        assert_eq!(
            w,
            "r.internal = 0 AND r.start_ms >= ?1 AND r.start_ms < ?2 \
             AND (r.cwd = ?3 OR substr(r.cwd, 1, length(?3) + 1) = ?3 || '/' \
             OR r.workflow_id IN (SELECT workflow_id FROM workflows WHERE project = ?3)) \
             AND (r.session_id = ?4 OR r.workflow_id = ?4) AND r.agent_type IN (?5, ?6)"
        );
        assert_eq!(
            p,
            vec![
                SqlValue::Integer(10),
                SqlValue::Integer(20),
                SqlValue::Text("/p".into()),
                SqlValue::Text("s1".into()),
                SqlValue::Text("a".into()),
                SqlValue::Text("b".into()),
            ]
        );
        let (w, _) = f.workflows_where();
        assert!(
            w.starts_with("w.kind IN ('turn', 'explicit') AND w.start_ms >= ?1"),
            "{w}"
        );
        assert_eq!(Filter::default().sessions_where().0, "1 = 1");
    }
}
