//! The shared vocabulary: every word that is stored in the database and read back somewhere
//! else — event kinds, event sources, run and workflow statuses, workflow kinds, the names of
//! Claude Code's agent tool — spelled once, here.
//!
//! Each enum parses what it does not know into `Other` (or `None`), so a hook event kind that
//! Claude Code adds tomorrow is stored and ignored, never an error. The `as_str` spelling is the
//! stored one; changing it is a schema change (`store::schema`) and a derivation rules bump
//! (`derive::RULES`).

use serde::{Deserialize, Serialize};

/// Defines an enum of stored words with `as_str`, `parse` and serde in the stored spelling.
macro_rules! words {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The stored spelling.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// The value a stored word names, if it is one of ours.
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

words! {
    /// Where an event came from (`events.source`).
    Source {
        /// A Claude Code hook payload.
        ClaudeCode = "claude-code",
        /// Derived from transcripts by `analyze import`.
        Import = "import",
        /// `subagent-start`/`subagent-stop` called by another orchestrator.
        Generic = "generic",
        /// `workflow-event start|handoff|complete`.
        Workflow = "workflow",
        /// The opt-in guard's own record of a delegation it denied (docs/guard.md).
        Guard = "guard",
    }
}

impl Source {
    /// Events that speak Claude Code's vocabulary (sessions, turns, hook kinds).
    pub const fn is_claude_code(self) -> bool {
        matches!(self, Source::ClaudeCode | Source::Import)
    }
}

words! {
    /// What an event says happened (`events.kind`): Claude Code's hook event names, the generic
    /// orchestrator and workflow events, and what hooks and import add themselves.
    EventKind {
        SessionStart = "SessionStart",
        SessionEnd = "SessionEnd",
        UserPromptSubmit = "UserPromptSubmit",
        Stop = "Stop",
        StopFailure = "StopFailure",
        PreToolUse = "PreToolUse",
        PostToolUse = "PostToolUse",
        PostToolUseFailure = "PostToolUseFailure",
        SubagentStart = "SubagentStart",
        SubagentStop = "SubagentStop",
        Notification = "Notification",
        PreCompact = "PreCompact",
        /// Tokens, tools and outcome read from a transcript by a hook or by import.
        TranscriptSummary = "transcript_summary",
        /// Generic orchestrator events (docs/events.md).
        AgentStart = "agent_start",
        AgentStop = "agent_stop",
        /// Explicit workflows (docs/events.md).
        WorkflowStart = "workflow_start",
        Handoff = "handoff",
        WorkflowComplete = "workflow_complete",
        /// The guard denied an Agent/Task delegation (`PreToolUse`): payload `{limit, value,
        /// threshold, reason}`, with the delegation's session, prompt, caller and tool use id.
        GuardDenied = "guard_denied",
    }
}

words! {
    /// A run's status. `Lost` is never stored: it is decided at read time for a run still
    /// `running` past the lost threshold ([`RunStatus::effective_sql`]).
    RunStatus {
        Running = "running",
        Success = "success",
        Failure = "failure",
        /// Interrupted, killed with its session, or stopped by the user.
        Cancelled = "cancelled",
        Lost = "lost",
        /// Launched on Claude Code's remote infrastructure: never reported back here.
        Remote = "remote",
    }
}

impl RunStatus {
    /// Counted in a success rate's denominator (docs/metrics.md, "Success rate").
    pub const fn decided(self) -> bool {
        matches!(
            self,
            RunStatus::Success | RunStatus::Failure | RunStatus::Lost
        )
    }

    /// SQL list of the decided statuses, for `status IN {DECIDED_SQL}`.
    pub const DECIDED_SQL: &'static str = "('success', 'failure', 'lost')";

    /// SQL for a run's effective status (running past `lost_before` ⇒ `lost`); `alias` is the
    /// `agent_runs` table alias.
    pub fn effective_sql(alias: &str, lost_before: i64) -> String {
        format!(
            "(CASE WHEN {alias}.status = 'running' AND {alias}.end_ms IS NULL AND coalesce({alias}.start_ms, 0) < {lost_before} THEN 'lost' ELSE {alias}.status END)"
        )
    }
}

words! {
    /// A delegation's own end (`delegations.status`), kept when no agent ran for it (or before
    /// the one that did is known).
    DelegationStatus {
        /// The Agent tool failed.
        Failure = "failure",
        /// The Agent tool was interrupted.
        Cancelled = "cancelled",
        /// The guard denied it (docs/guard.md): no agent ran.
        Denied = "denied",
    }
}

words! {
    /// What started a workflow (`workflows.kind`).
    WorkflowKind {
        /// A user prompt and everything up to its Stop.
        Turn = "turn",
        /// A prompt Claude Code submitted for a background agent's completion.
        Notification = "notification",
        /// `workflow-event start`.
        Explicit = "explicit",
    }
}

/// The names of Claude Code's tool that runs a subagent (`Task` before 2.1, `Agent` since).
pub const AGENT_TOOLS: [&str; 2] = ["Agent", "Task"];

/// Whether a tool call runs a subagent.
pub fn is_agent_tool(name: &str) -> bool {
    AGENT_TOOLS.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip_and_unknown_words_are_not_ours() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::parse(k.as_str()), Some(*k));
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
        for s in RunStatus::ALL {
            assert_eq!(RunStatus::parse(s.as_str()), Some(*s));
        }
        assert_eq!(EventKind::parse("PostToolBatch"), None);
        assert_eq!(Source::parse("import"), Some(Source::Import));
        assert!(RunStatus::ALL
            .iter()
            .filter(|s| s.decided())
            .all(|s| RunStatus::DECIDED_SQL.contains(&format!("'{}'", s.as_str()))));
        assert!(is_agent_tool("Task") && is_agent_tool("Agent") && !is_agent_tool("Bash"));
    }
}
