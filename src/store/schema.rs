//! The schema, as append-only migrations. `PRAGMA user_version` is the number of migrations
//! applied. Never edit a released migration: add a new one.

/// `PRAGMA application_id` of an agent-telemetry database ("ATLM").
pub const APPLICATION_ID: i64 = 0x4154_4C4D;

/// Migration `i` brings the schema from version `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    V1,
    V2,
    V3,
    V4,
    V5,
    V6,
    V7,
    V8,
    V9,
    V10,
    V11,
    V12_RUNS_RUNNING,
    V13_WORKFLOW_FIGURES,
    V14_WORKFLOW_ERRORS,
    V15_AGENT_CELLS,
    V16_KEYS_IN_FRAMES,
    V17_RUNS_FAILED_BY_TYPE,
];

/// The schema version this build writes and understands.
pub const CURRENT_VERSION: i64 = MIGRATIONS.len() as i64;

/// Version 1: the event log (source of truth), usage rows, quarantine, and the projections.
const V1: &str = r#"
-- ── Source data: written by hooks and importers, never rewritten ───────────────────────────
CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    ts          INTEGER NOT NULL,            -- event time, unix ms (payload timestamp or clock)
    recorded_at INTEGER NOT NULL,            -- clock when stored, unix ms
    source      TEXT    NOT NULL,            -- claude-code | generic | workflow | import
    kind        TEXT    NOT NULL,            -- hook_event_name, or our own event kind
    session_id  TEXT,
    prompt_id   TEXT,
    agent_id    TEXT,
    agent_type  TEXT,
    tool_name   TEXT,
    tool_use_id TEXT,
    payload     TEXT    NOT NULL             -- the redacted JSON payload as received
);

-- One row per model response, de-duplicated by message id + request id; the copy with the
-- largest token total wins (Claude Code repeats usage on every content block).
CREATE TABLE usage (
    session_id   TEXT    NOT NULL,
    agent_id     TEXT    NOT NULL,           -- '' = the session's main agent
    message_key  TEXT    NOT NULL,
    prompt_id    TEXT,
    model        TEXT    NOT NULL,
    ts           INTEGER,
    input        INTEGER NOT NULL DEFAULT 0,
    output       INTEGER NOT NULL DEFAULT 0,
    cache_read   INTEGER NOT NULL DEFAULT 0,
    cache_5m     INTEGER NOT NULL DEFAULT 0,
    cache_1h     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (session_id, agent_id, message_key)
) WITHOUT ROWID;

CREATE TABLE quarantine (
    id          INTEGER PRIMARY KEY,
    recorded_at INTEGER NOT NULL,
    binary      TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    raw         BLOB    NOT NULL
);

-- How far a transcript has been read (main session files are read incrementally at Stop).
CREATE TABLE transcript_cursor (
    path       TEXT PRIMARY KEY,
    offset     INTEGER NOT NULL,
    prompt_id  TEXT
) WITHOUT ROWID;

-- ── Projections: derived from the tables above by derive::refresh; safe to rebuild ──────────
CREATE TABLE derive_state (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;

CREATE TABLE sessions (
    session_id      TEXT PRIMARY KEY,
    cwd             TEXT,
    transcript_path TEXT,
    start_ms        INTEGER,
    end_ms          INTEGER,
    end_reason      TEXT,
    last_ms         INTEGER
) WITHOUT ROWID;

CREATE TABLE workflows (
    workflow_id     TEXT PRIMARY KEY,
    kind            TEXT NOT NULL,           -- turn | notification | explicit
    session_id      TEXT,
    project         TEXT,
    prompt          TEXT,
    plan            TEXT,                    -- JSON array of planned agents (explicit)
    estimated_ms    INTEGER,
    start_ms        INTEGER,
    end_ms          INTEGER,
    reported_ms     INTEGER,                 -- duration reported by `workflow-event complete`
    reported_success INTEGER,
    reported_agents TEXT                     -- JSON array (explicit)
) WITHOUT ROWID;
CREATE INDEX workflows_start ON workflows(start_ms);
CREATE INDEX workflows_session ON workflows(session_id);

CREATE TABLE handoffs (
    id          INTEGER PRIMARY KEY,
    workflow_id TEXT NOT NULL,
    ts          INTEGER NOT NULL,
    from_agent  TEXT,
    to_agent    TEXT,
    artifacts   TEXT
);
CREATE INDEX handoffs_workflow ON handoffs(workflow_id);

-- Agent delegations requested (PreToolUse Agent/Task), waiting to be matched to a started agent.
CREATE TABLE delegations (
    tool_use_id   TEXT PRIMARY KEY,
    session_id    TEXT,
    prompt_id     TEXT,
    caller_agent  TEXT,
    subagent_type TEXT,
    description   TEXT,
    prompt        TEXT,
    background    INTEGER,
    ts            INTEGER,
    agent_id      TEXT,                      -- the agent it was matched to
    status        TEXT,                      -- failure | cancelled when the Agent tool failed with no agent
    error         TEXT,
    end_ms        INTEGER
);
CREATE INDEX delegations_open ON delegations(session_id, subagent_type, ts) WHERE agent_id IS NULL;

CREATE TABLE agent_runs (
    id                INTEGER PRIMARY KEY,
    agent_id          TEXT NOT NULL UNIQUE,
    source            TEXT NOT NULL,
    session_id        TEXT,
    workflow_id       TEXT,
    parent_agent_id   TEXT,
    depth             INTEGER NOT NULL DEFAULT 1,
    agent_type        TEXT NOT NULL,
    category          TEXT NOT NULL DEFAULT 'general',
    description       TEXT,
    prompt            TEXT,
    complexity        INTEGER NOT NULL DEFAULT 5,
    tool_use_id       TEXT,
    background        INTEGER NOT NULL DEFAULT 0,
    internal          INTEGER NOT NULL DEFAULT 0,  -- acompact-* and anonymous forks: not user agents
    start_ms          INTEGER,
    end_ms            INTEGER,
    duration_ms       INTEGER,
    status            TEXT NOT NULL DEFAULT 'running', -- running | success | failure | cancelled
    error             TEXT,
    outcome           TEXT,
    model             TEXT,
    input_tokens      INTEGER NOT NULL DEFAULT 0,
    output_tokens     INTEGER NOT NULL DEFAULT 0,
    cache_read_tokens INTEGER NOT NULL DEFAULT 0,
    cache_write_tokens INTEGER NOT NULL DEFAULT 0,
    cost_usd          REAL,                        -- NULL: a model without a known price
    tool_calls        INTEGER NOT NULL DEFAULT 0,
    tool_errors       INTEGER NOT NULL DEFAULT 0,
    hook_tool_errors  INTEGER NOT NULL DEFAULT 0,
    lines_added       INTEGER NOT NULL DEFAULT 0,
    lines_removed     INTEGER NOT NULL DEFAULT 0,
    api_errors        INTEGER NOT NULL DEFAULT 0,
    stops             INTEGER NOT NULL DEFAULT 0,
    has_summary       INTEGER NOT NULL DEFAULT 0,
    finished          INTEGER,                     -- transcript sidecar says finished
    cwd               TEXT
);
CREATE INDEX runs_type_duration ON agent_runs(agent_type, duration_ms) WHERE internal = 0 AND duration_ms IS NOT NULL;
CREATE INDEX runs_duration ON agent_runs(duration_ms) WHERE internal = 0 AND duration_ms IS NOT NULL;
CREATE INDEX runs_start ON agent_runs(start_ms);
CREATE INDEX runs_session ON agent_runs(session_id);
CREATE INDEX runs_workflow ON agent_runs(workflow_id);
CREATE INDEX runs_parent ON agent_runs(parent_agent_id);
CREATE INDEX runs_tool_use ON agent_runs(tool_use_id);
CREATE INDEX runs_open ON agent_runs(start_ms) WHERE end_ms IS NULL;
CREATE INDEX runs_failed ON agent_runs(end_ms) WHERE status = 'failure';

CREATE TABLE run_tools (
    run_id  INTEGER NOT NULL,
    tool    TEXT    NOT NULL,
    calls   INTEGER NOT NULL DEFAULT 0,
    errors  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, tool)
) WITHOUT ROWID;
CREATE INDEX run_tools_tool ON run_tools(tool);

-- Per agent type and UTC day: the sums `analyze summary` needs, kept exact by triggers.
CREATE TABLE agent_daily (
    agent_type     TEXT    NOT NULL,
    day            INTEGER NOT NULL,   -- floor(start_ms / 86400000)
    runs           INTEGER NOT NULL DEFAULT 0,
    success        INTEGER NOT NULL DEFAULT 0,
    failure        INTEGER NOT NULL DEFAULT 0,
    cancelled      INTEGER NOT NULL DEFAULT 0,
    open           INTEGER NOT NULL DEFAULT 0,
    dur_n          INTEGER NOT NULL DEFAULT 0,
    dur_sum        INTEGER NOT NULL DEFAULT 0,
    complexity_sum INTEGER NOT NULL DEFAULT 0,
    tokens         INTEGER NOT NULL DEFAULT 0,
    cost           REAL    NOT NULL DEFAULT 0,
    PRIMARY KEY (agent_type, day)
) WITHOUT ROWID;
"#;

/// Version 2: per (agent type, task description, complexity) outcome counts, kept exact by
/// triggers, so `query-best-agent` reads thousands of rows instead of millions of runs
/// (docs/recommend.md). The update triggers are compiled only into statements that set a
/// counted column, and do work only when one changes. Lost runs are counted at read time.
const V2: &str = r#"
CREATE TABLE agent_task_stats (
    agent_type  TEXT    NOT NULL,
    description TEXT    NOT NULL,      -- '' when the run has none
    complexity  INTEGER NOT NULL,
    runs        INTEGER NOT NULL DEFAULT 0,
    success     INTEGER NOT NULL DEFAULT 0,
    failure     INTEGER NOT NULL DEFAULT 0,
    cancelled   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (agent_type, description, complexity)
) WITHOUT ROWID;

INSERT INTO agent_task_stats (agent_type, description, complexity, runs, success, failure, cancelled)
SELECT agent_type, coalesce(description, ''), complexity, count(*), sum(status = 'success'), sum(status = 'failure'),
       sum(status = 'cancelled')
FROM agent_runs WHERE internal = 0 GROUP BY 1, 2, 3;

CREATE TRIGGER runs_task_ins AFTER INSERT ON agent_runs WHEN NEW.internal = 0 BEGIN
  INSERT INTO agent_task_stats VALUES (NEW.agent_type, coalesce(NEW.description, ''), NEW.complexity, 1,
      NEW.status = 'success', NEW.status = 'failure', NEW.status = 'cancelled')
  ON CONFLICT (agent_type, description, complexity) DO UPDATE SET runs = runs + 1,
      success = success + excluded.success, failure = failure + excluded.failure, cancelled = cancelled + excluded.cancelled;
END;

CREATE TRIGGER runs_task_del AFTER DELETE ON agent_runs WHEN OLD.internal = 0 BEGIN
  UPDATE agent_task_stats SET runs = runs - 1, success = success - (OLD.status = 'success'),
      failure = failure - (OLD.status = 'failure'), cancelled = cancelled - (OLD.status = 'cancelled')
  WHERE agent_type = OLD.agent_type AND description = coalesce(OLD.description, '') AND complexity = OLD.complexity;
END;

CREATE TRIGGER runs_task_upd_old AFTER UPDATE OF agent_type, description, complexity, status, internal ON agent_runs
WHEN OLD.internal = 0 AND (OLD.internal IS NOT NEW.internal OR OLD.agent_type IS NOT NEW.agent_type
    OR OLD.description IS NOT NEW.description OR OLD.complexity IS NOT NEW.complexity OR OLD.status IS NOT NEW.status) BEGIN
  UPDATE agent_task_stats SET runs = runs - 1, success = success - (OLD.status = 'success'),
      failure = failure - (OLD.status = 'failure'), cancelled = cancelled - (OLD.status = 'cancelled')
  WHERE agent_type = OLD.agent_type AND description = coalesce(OLD.description, '') AND complexity = OLD.complexity;
END;

CREATE TRIGGER runs_task_upd_new AFTER UPDATE OF agent_type, description, complexity, status, internal ON agent_runs
WHEN NEW.internal = 0 AND (OLD.internal IS NOT NEW.internal OR OLD.agent_type IS NOT NEW.agent_type
    OR OLD.description IS NOT NEW.description OR OLD.complexity IS NOT NEW.complexity OR OLD.status IS NOT NEW.status) BEGIN
  INSERT INTO agent_task_stats VALUES (NEW.agent_type, coalesce(NEW.description, ''), NEW.complexity, 1,
      NEW.status = 'success', NEW.status = 'failure', NEW.status = 'cancelled')
  ON CONFLICT (agent_type, description, complexity) DO UPDATE SET runs = runs + 1,
      success = success + excluded.success, failure = failure + excluded.failure, cancelled = cancelled + excluded.cancelled;
END;
"#;

/// The rollup triggers, generated so that insert, delete and update stay symmetrical.
pub fn rollup_triggers() -> String {
    agent_daily_triggers("", false)
}

/// 1 when run `r` is decided (success or failure as stored) and has a test result: the
/// denominator of the verified rate (lost runs are added at read time, like the success rate's).
pub fn tested_sql(r: &str) -> String {
    format!("({r}.tests_failed IS NOT NULL AND {r}.status IN ('success', 'failure'))")
}

/// 1 when run `r` succeeded and its last test run had no failures (docs/metrics.md, "verified").
pub fn verified_sql(r: &str) -> String {
    format!("({r}.tests_failed IS NOT NULL AND {r}.status = 'success' AND {r}.tests_failed = 0)")
}

/// `agent_daily`'s four triggers; `kind` is "" (the schema's, version 1) or "TEMP " (a
/// connection's own, [`temp_rollup_triggers`]).
/// `outcome`: also `tested` and `verified` (version 10; version 1's triggers, which version 5
/// dropped, predate them).
fn agent_daily_triggers(kind: &str, outcome: bool) -> String {
    let delta = |row: &str, sign: &str| -> String {
        let (cols, vals, sets) = if outcome {
            (
                ", tested, verified",
                format!(", {sign}{}, {sign}{}", tested_sql(row), verified_sql(row)),
                ",\n                tested = tested + excluded.tested, verified = verified + excluded.verified",
            )
        } else {
            ("", String::new(), "")
        };
        format!(
            "INSERT INTO agent_daily(agent_type, day, runs, success, failure, cancelled, open, dur_n, dur_sum, complexity_sum, tokens, cost{cols})
             VALUES ({r}.agent_type, coalesce({r}.start_ms, 0) / 86400000, {s}1,
                     {s}({r}.status = 'success'), {s}({r}.status = 'failure'), {s}({r}.status = 'cancelled'),
                     {s}({r}.end_ms IS NULL), {s}({r}.duration_ms IS NOT NULL), {s}coalesce({r}.duration_ms, 0),
                     {s}{r}.complexity,
                     {s}({r}.input_tokens + {r}.output_tokens + {r}.cache_read_tokens + {r}.cache_write_tokens),
                     {s}coalesce({r}.cost_usd, 0){vals})
             ON CONFLICT(agent_type, day) DO UPDATE SET
                runs = runs + excluded.runs, success = success + excluded.success,
                failure = failure + excluded.failure, cancelled = cancelled + excluded.cancelled,
                open = open + excluded.open, dur_n = dur_n + excluded.dur_n,
                dur_sum = dur_sum + excluded.dur_sum, complexity_sum = complexity_sum + excluded.complexity_sum,
                tokens = tokens + excluded.tokens, cost = cost + excluded.cost{sets};",
            r = row,
            s = sign,
        )
    };
    format!(
        "CREATE {kind}TRIGGER IF NOT EXISTS runs_rollup_ins AFTER INSERT ON agent_runs WHEN NEW.internal = 0 BEGIN {add} END;
         CREATE {kind}TRIGGER IF NOT EXISTS runs_rollup_del AFTER DELETE ON agent_runs WHEN OLD.internal = 0 BEGIN {sub} END;
         CREATE {kind}TRIGGER IF NOT EXISTS runs_rollup_upd_old AFTER UPDATE ON agent_runs WHEN OLD.internal = 0 BEGIN {sub} END;
         CREATE {kind}TRIGGER IF NOT EXISTS runs_rollup_upd_new AFTER UPDATE ON agent_runs WHEN NEW.internal = 0 BEGIN {add} END;",
        add = delta("NEW", ""),
        sub = delta("OLD", "-"),
    )
}

/// Version 3: what `analyze import` has read, so a re-import skips unchanged transcript files
/// and appends only the events of a changed session it did not emit before (docs/import.md).
const V3: &str = r#"
CREATE TABLE import_files (
    path        TEXT PRIMARY KEY,            -- transcript file as found under projects/
    session_id  TEXT    NOT NULL,
    size        INTEGER NOT NULL,            -- bytes, and
    mtime_ms    INTEGER NOT NULL,            -- modification time when read: unchanged = skipped
    imported_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE import_sessions (
    session_id  TEXT PRIMARY KEY,
    events      INTEGER NOT NULL,            -- number of keys below
    event_keys  BLOB    NOT NULL,            -- sorted 64-bit FNV-1a keys of the events emitted
    imported_at INTEGER NOT NULL
) WITHOUT ROWID;
"#;

/// Version 4: user runs by agent type and start, carrying the small columns the per-agent and
/// per-period readers aggregate (`analyze agent/trends/types/timeline/tools`, filtered
/// `summary`), so they read a narrow index instead of the wide rows (prompt, description).
const V4: &str = r#"
CREATE INDEX runs_type_start ON agent_runs(agent_type, start_ms, category, status, end_ms, duration_ms, has_summary)
    WHERE internal = 0;
"#;

/// Version 5: the rollup triggers leave the schema. Every process parses the whole schema when
/// it opens the file, and the eight trigger programs were half of it: measured, they doubled the
/// hooks' open cost. The readers that write `agent_runs` (derive) install the same triggers as
/// TEMP triggers on their own connection instead ([`temp_rollup_triggers`]).
const V5: &str = r#"
DROP TRIGGER IF EXISTS runs_rollup_ins;
DROP TRIGGER IF EXISTS runs_rollup_del;
DROP TRIGGER IF EXISTS runs_rollup_upd_old;
DROP TRIGGER IF EXISTS runs_rollup_upd_new;
DROP TRIGGER IF EXISTS runs_task_ins;
DROP TRIGGER IF EXISTS runs_task_del;
DROP TRIGGER IF EXISTS runs_task_upd_old;
DROP TRIGGER IF EXISTS runs_task_upd_new;
"#;

/// Version 6 (Claude Code 2.1.330–2.1.332): a turn that ended on an API error (`StopFailure`), and
/// what the Agent tool's newer inputs and results say about a run. Columns only: the projection
/// is re-derived by the next reader because the derivation rules changed too
/// ([`crate::derive::RULES`]).
const V6: &str = r#"
ALTER TABLE workflows ADD COLUMN error TEXT;            -- StopFailure: the API error that ended the turn
ALTER TABLE agent_runs ADD COLUMN name TEXT;            -- Agent input `name`
ALTER TABLE agent_runs ADD COLUMN effort TEXT;          -- Agent input `effort`
ALTER TABLE agent_runs ADD COLUMN isolation TEXT;       -- Agent input `isolation`: worktree | remote
ALTER TABLE agent_runs ADD COLUMN fork INTEGER NOT NULL DEFAULT 0;  -- subagent_type "fork" / sidecar isFork
ALTER TABLE agent_runs ADD COLUMN worktree_path TEXT;   -- result / sidecar `worktreePath`
ALTER TABLE agent_runs ADD COLUMN thinking_tokens INTEGER;  -- result usage.output_tokens_details.thinking_tokens
ALTER TABLE agent_runs ADD COLUMN remote_task_id TEXT;  -- `remote_launched`: the remote task's id
ALTER TABLE agent_runs ADD COLUMN ended_by TEXT;       -- 'session_end': still running when its session ended
ALTER TABLE workflows ADD COLUMN ended_by TEXT;        -- 'session_end': no Stop before its session ended
ALTER TABLE delegations ADD COLUMN name TEXT;
ALTER TABLE delegations ADD COLUMN effort TEXT;
ALTER TABLE delegations ADD COLUMN isolation TEXT;
-- agent_runs.status gains `remote`: launched with isolation remote; its outcome is never reported.
"#;

/// Version 7: the ids of spooled payloads already replayed, written in the same transaction as
/// the payload itself: a replay that is interrupted and repeated stores each payload once. And
/// the results of `analyze doctor --coverage` (docs/metrics.md, "coverage"), one row per check,
/// so plain `analyze doctor` can show the last one (nothing else reads or writes that table).
const V7: &str = r#"
CREATE TABLE spool_seen (
    id          TEXT PRIMARY KEY,            -- the spooled line's id (or `line:<hash>` of older lines)
    replayed_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE coverage_checks (
    id              INTEGER PRIMARY KEY,
    checked_at      INTEGER NOT NULL,            -- unix ms
    since_ms        INTEGER NOT NULL,            -- the window: runs that started at or after
    until_ms        INTEGER,                     -- and before this (NULL: no end)
    scope           TEXT,                        -- --project / --session / --agent narrowing it; NULL = all
    transcript_runs INTEGER NOT NULL,
    covered         INTEGER NOT NULL,
    missing         INTEGER NOT NULL,
    wrong           INTEGER NOT NULL,
    extra           INTEGER NOT NULL,
    recovered       INTEGER NOT NULL,
    fixed           INTEGER                      -- runs added by --fix; NULL without --fix
);
"#;

/// Version 8: per category, agent type and UTC day of the start, the sums `analyze types` needs,
/// and per category, agent type, tool and day the tool calls, so `types` (and
/// `/api/agents/types/distribution`) read thousands of rows instead of every run and its tool
/// rows (docs/performance.md). Backfilled here from the projection; kept exact afterwards by the
/// deriving connection's TEMP triggers ([`temp_type_rollup_triggers`]), never by the hooks. Lost
/// runs are counted at read time, as for `agent_daily`.
const V8: &str = r#"
CREATE TABLE type_daily (
    category   TEXT    NOT NULL,
    agent_type TEXT    NOT NULL,
    day        INTEGER NOT NULL,   -- coalesce(start_ms, 0) / 86400000, as agent_daily
    runs       INTEGER NOT NULL DEFAULT 0,
    success    INTEGER NOT NULL DEFAULT 0,
    failure    INTEGER NOT NULL DEFAULT 0,
    dur_n      INTEGER NOT NULL DEFAULT 0,
    dur_sum    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (category, agent_type, day)
) WITHOUT ROWID;

CREATE TABLE type_tool_daily (
    category   TEXT    NOT NULL,
    agent_type TEXT    NOT NULL,
    tool       TEXT    NOT NULL,
    day        INTEGER NOT NULL,   -- of the run's start, as type_daily
    n          INTEGER NOT NULL DEFAULT 0,   -- run_tools rows
    calls      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (category, agent_type, tool, day)
) WITHOUT ROWID;

-- Not filled here: this schema ships with derivation rules 3 (derive::RULES), so the first reader
-- re-derives every older projection, and these rollups with it. Filling them here would be work
-- thrown away, done by whichever process opened the file first: possibly a hook (2.4 s at 1M runs).
"#;

/// Version 9: alerts (docs/metrics.md, "Alerts"), the guard (docs/guard.md) and the OTLP
/// export's cursor (docs/export.md).
/// `usage_ts` makes today's spend (budget alerts, the guard, the status line) a range read of the
/// index alone: it covers the columns spend reads (measured at 1M runs, 23k responses "today":
/// 14 ms through a plain `ts` index, each row then found by its text primary key; 3 ms covered).
/// `alert_state` remembers each alert's firing/resolved state and what was delivered, so a rule
/// that keeps firing is delivered once and its resolution is reported; `alert_eval` holds when
/// alerts were last evaluated. `delegations_denied` finds the delegations the guard denied.
const V9: &str = r#"
CREATE INDEX usage_ts ON usage(ts, model, input, output, cache_read, cache_5m, cache_1h) WHERE ts IS NOT NULL;

CREATE TABLE alert_state (
    rule          TEXT    NOT NULL,            -- success_rate | duration | budget | runaway | hung | guard
    subject       TEXT    NOT NULL,            -- an agent type, a session id, an agent id, or '' (global)
    state         TEXT    NOT NULL,            -- firing | resolved
    severity      TEXT    NOT NULL,            -- warning | critical
    value         REAL,
    threshold     REAL,
    message       TEXT    NOT NULL,
    since_ms      INTEGER NOT NULL,            -- when it started firing
    last_seen_ms  INTEGER NOT NULL,            -- the last evaluation that saw it firing
    resolved_ms   INTEGER,                     -- when it stopped firing (state = resolved)
    delivered     TEXT,                        -- the last state delivered to the notifiers
    attempts      INTEGER NOT NULL DEFAULT 0,  -- failed delivery attempts of the current state
    next_try_ms   INTEGER,                     -- no delivery attempt before this (backoff)
    last_error    TEXT,
    PRIMARY KEY (rule, subject)
) WITHOUT ROWID;
CREATE INDEX alert_state_firing ON alert_state(state);

CREATE TABLE alert_eval (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;

CREATE INDEX delegations_denied ON delegations(end_ms) WHERE status = 'denied';

-- The alerts' recent windows (success rate, duration): user runs by the time they ended.
CREATE INDEX runs_end ON agent_runs(end_ms, agent_type, status, duration_ms)
    WHERE internal = 0 AND end_ms IS NOT NULL;

-- `analyze export otlp` (docs/export.md): per endpoint, the first user run `--follow` has not
-- finished with (every run below it was sent), and the span ids the endpoint accepted (run spans
-- above the mark, and workflow spans).
CREATE TABLE export_cursor (target TEXT PRIMARY KEY, run_mark INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE export_sent (
    target  TEXT    NOT NULL,            -- the traces URL
    span_id INTEGER NOT NULL,            -- the span id's 8 bytes, big-endian
    run_id  INTEGER,                     -- agent_runs.id of a run span (pruned below the mark)
    PRIMARY KEY (target, span_id)
) WITHOUT ROWID;

-- `GET /metrics` (docs/serve.md): per agent type, stored status and duration bucket of the user
-- runs, their durations, tokens and cost, so a scrape reads hundreds of rows instead of every
-- run. Kept exact by the deriving connection per batch ([`flush_batch_rollups_sql`]); filled
-- from `agent_runs` by the first scrape (and again after `analyze rebuild`), which records
-- derive_state 'run_metrics_filled' (src/serve/metrics.rs).
CREATE TABLE run_metrics (
    agent_type  TEXT    NOT NULL,
    status      TEXT    NOT NULL,            -- agent_runs.status as stored (lost is decided at read time)
    bucket      INTEGER NOT NULL,            -- RUN_DURATION_BOUNDS_S index of the duration; its length = +Inf; -1 = no duration
    runs        INTEGER NOT NULL DEFAULT 0,
    dur_sum     INTEGER NOT NULL DEFAULT 0,  -- ms
    input       INTEGER NOT NULL DEFAULT 0,
    output      INTEGER NOT NULL DEFAULT 0,
    cache_read  INTEGER NOT NULL DEFAULT 0,
    cache_write INTEGER NOT NULL DEFAULT 0,
    cost        REAL    NOT NULL DEFAULT 0,
    PRIMARY KEY (agent_type, status, bucket)
) WITHOUT ROWID;
"#;

/// Version 10: what a run achieved (docs/metrics.md, "Outcome"): the last test-runner summary in
/// its Bash results, files created and modified, failed commands, tool time; custom metrics per
/// run; the host process's CPU and memory readings taken by the hooks; verified outcomes in the
/// rollups; and what retention pruned. Columns only on agent_runs and the rollups: derivation
/// rules 4 ([`crate::derive::RULES`]) re-derive every older projection (and the rollups with it).
const V10: &str = r#"
-- ── outcome: from the agent's transcript summary (NULL: no summary, or no test output) ─────
ALTER TABLE agent_runs ADD COLUMN tests_passed INTEGER;
ALTER TABLE agent_runs ADD COLUMN tests_failed INTEGER;     -- failed + errored tests
ALTER TABLE agent_runs ADD COLUMN tests_skipped INTEGER;
ALTER TABLE agent_runs ADD COLUMN test_runner TEXT;         -- which runner's summary: cargo | pytest | go | jest | …
ALTER TABLE agent_runs ADD COLUMN files_created INTEGER;    -- distinct paths created
ALTER TABLE agent_runs ADD COLUMN files_modified INTEGER;   -- distinct existing paths edited or overwritten
ALTER TABLE agent_runs ADD COLUMN commands_failed INTEGER;  -- Bash calls that exited non-zero
ALTER TABLE agent_runs ADD COLUMN tool_ms INTEGER;          -- sum of tool call durations (transcript timestamps)

-- Verified: decided runs with a test result (tested), and those that succeeded with no failing
-- test (verified). Kept by the same triggers as the rest of each rollup.
ALTER TABLE agent_daily ADD COLUMN tested INTEGER NOT NULL DEFAULT 0;
ALTER TABLE agent_daily ADD COLUMN verified INTEGER NOT NULL DEFAULT 0;
ALTER TABLE agent_task_stats ADD COLUMN tested INTEGER NOT NULL DEFAULT 0;
ALTER TABLE agent_task_stats ADD COLUMN verified INTEGER NOT NULL DEFAULT 0;


-- ── resources: the host (Claude Code) process, read by the hooks from /proc ────────────────
-- On events: the hook's parent process as the hook saw it (NULL without /proc).
ALTER TABLE events ADD COLUMN host_pid INTEGER;
ALTER TABLE events ADD COLUMN host_cpu_ms INTEGER;          -- utime + stime of the host process, ms
ALTER TABLE events ADD COLUMN host_rss_kb INTEGER;          -- VmRSS of the host process
-- On runs: the readings at the agent's start and stop (the same host pid), and the memory at stop.
ALTER TABLE agent_runs ADD COLUMN host_pid INTEGER;
ALTER TABLE agent_runs ADD COLUMN host_cpu_start_ms INTEGER;
ALTER TABLE agent_runs ADD COLUMN host_cpu_end_ms INTEGER;
ALTER TABLE agent_runs ADD COLUMN host_rss_kb INTEGER;


-- ── custom metrics (config.json "metrics", generic stop events' "metrics") ──────────────────
CREATE TABLE metric_names (
    id   INTEGER PRIMARY KEY,
    name TEXT    NOT NULL UNIQUE
);
-- One value per run and metric (projection: cleared and re-derived with agent_runs).
CREATE TABLE run_values (
    run_id    INTEGER NOT NULL,
    metric_id INTEGER NOT NULL,
    value     REAL    NOT NULL,
    PRIMARY KEY (run_id, metric_id)
) WITHOUT ROWID;
CREATE INDEX run_values_metric ON run_values(metric_id, run_id, value);
-- The names each agent type has values for (at most 1,000 per agent type).
CREATE TABLE agent_metric_names (
    agent_type TEXT    NOT NULL,
    metric_id  INTEGER NOT NULL,
    PRIMARY KEY (agent_type, metric_id)
) WITHOUT ROWID;
-- Names refused past the 1,000th for an agent type: said by `analyze metrics` and `doctor`.
CREATE TABLE metric_refused (
    agent_type TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    runs       INTEGER NOT NULL DEFAULT 0,
    first_ms   INTEGER,
    PRIMARY KEY (agent_type, name)
) WITHOUT ROWID;


-- ── retention (analyze prune) ───────────────────────────────────────────────────────────────
-- Sessions whose events `analyze prune` deleted (docs/retention.md). Their projection rows
-- (runs, tool rows, metric values, turns, delegations, the session) and their share of every
-- rollup are kept, and every re-derivation (rebuild, a rules change, --recover) keeps them.
CREATE TABLE pruned_sessions (
    session_id TEXT    PRIMARY KEY,
    pruned_ms  INTEGER NOT NULL,                 -- when (the last prune that deleted its events)
    first_ms   INTEGER,                          -- its earliest and latest pruned event time
    last_ms    INTEGER,
    events     INTEGER NOT NULL DEFAULT 0,       -- events deleted, over every prune
    bytes      INTEGER NOT NULL DEFAULT 0        -- their payload bytes
) WITHOUT ROWID;
-- One row per prune: what it deleted and how the space was reclaimed.
CREATE TABLE prunes (
    id         INTEGER PRIMARY KEY,
    pruned_ms  INTEGER NOT NULL,
    cutoff_ms  INTEGER NOT NULL,                 -- raw data older than this went
    automatic  INTEGER NOT NULL,                 -- 1: retention_days, from a reader
    sessions   INTEGER NOT NULL,
    events     INTEGER NOT NULL,
    bytes      INTEGER NOT NULL,                 -- payload bytes of those events
    quarantine INTEGER NOT NULL,                 -- quarantined payloads deleted
    spool_seen INTEGER NOT NULL,                 -- replayed-spool ids forgotten
    vacuum     TEXT    NOT NULL                  -- full | incremental | none
);
"#;

/// Version 11: derived events' payloads are kept compressed (`crate::store::packed`): zstd with a
/// dictionary trained on the database's own payloads, stored here. An events row whose `payload`
/// is a BLOB holds a zstd frame naming its dictionary; a TEXT payload is as received. Older
/// builds refuse the file (they would read a BLOB as text).
const V11: &str = r#"
CREATE TABLE payload_dicts (
    id         INTEGER PRIMARY KEY,          -- the dictionary's own zstd id (named in each frame)
    dict       BLOB    NOT NULL,
    trained_at INTEGER NOT NULL,             -- unix ms
    samples    INTEGER NOT NULL              -- payloads it was trained on
);
"#;

/// Version 12 (readers over time windows, issue 16): a windowed `summary`/`top` reads
/// `agent_daily` for the whole days of its window and, per agent type, the window's durations
/// and costs from `runs_type_start`, so it never reads the window's run rows:
/// - `runs_type_start` gains `cost_usd` (a cost is a float: a sum of per-day sums is not
///   bit-for-bit the sum over the runs, which the report has always printed);
/// - `runs_running`: the user runs whose stored status is `running`, which `agent_daily` does not
///   count apart: they split into running and lost (decided at read time). A few thousand at
///   most.
const V12_RUNS_RUNNING: &str = r#"
DROP INDEX IF EXISTS runs_type_start;
CREATE INDEX runs_type_start ON agent_runs(agent_type, start_ms, category, status, end_ms, duration_ms, has_summary, cost_usd)
    WHERE internal = 0;
CREATE INDEX IF NOT EXISTS runs_running ON agent_runs(agent_type, start_ms, end_ms, tests_failed)
    WHERE internal = 0 AND status = 'running';
"#;

/// Version 13: the figures `analyze workflows` and `analyze overhead` read, per workflow, and
/// their daily rollups (`crate::analyze::workflow_cache`). `workflow_figures` is computed from a
/// workflow, its user agent runs and its handoffs by the reports' own code, and refreshed by the
/// readers: a workflow is marked dirty whenever one of the rows it is computed from changes (its
/// runs: once per derivation batch, by [`flush_batch_rollups_sql`]; its own row and its handoffs:
/// by TEMP triggers of the deriving connection, [`temp_batch_rollup_triggers`]; a marker insert,
/// nothing more), and a row whose status could have changed with time (running → lost) says until
/// when it holds. The rollups are kept exact by TEMP triggers of the reader that refreshes the
/// figures ([`temp_workflow_figures_triggers`]): an insert adds its row, a delete subtracts it.
/// Every workflow starts dirty: the first reader fills the figures.
const V13_WORKFLOW_FIGURES: &str = r#"
CREATE TABLE workflow_dirty (workflow_id TEXT PRIMARY KEY) WITHOUT ROWID;

CREATE TABLE workflow_figures (
    workflow_id  TEXT PRIMARY KEY,
    kind         TEXT    NOT NULL,           -- turn | explicit
    session_id   TEXT,
    start_ms     INTEGER,
    day          INTEGER NOT NULL,           -- coalesce(start_ms, 0) / 86400000, as agent_daily's
    status       TEXT    NOT NULL,           -- the workflow's status (success | failure | ...)
    duration_ms  INTEGER,
    agents       INTEGER NOT NULL,           -- user agent runs, nested included
    tokens       INTEGER NOT NULL,
    cost         REAL    NOT NULL,
    sequence     TEXT,                       -- the agent sequence joined with ' → '; NULL: none
    error        TEXT,
    -- overhead: counted | unfinished | no_agents | zero_length; the rest only when counted
    measured     TEXT    NOT NULL,
    wall_ms      INTEGER,
    o_agents     INTEGER,                    -- top-level agents with an interval
    union_ms     INTEGER,
    sum_ms       INTEGER,
    peak         INTEGER,
    overhead     REAL,                       -- (wall − union) / wall
    -- The row holds while lost_before <= stale_after (the earliest start among its running
    -- items) and lost_before > stale_until (the latest start among those lost by time).
    stale_after  INTEGER,
    stale_until  INTEGER
) WITHOUT ROWID;
CREATE INDEX workflow_figures_start ON workflow_figures(start_ms DESC, workflow_id);
CREATE INDEX workflow_figures_counted ON workflow_figures(start_ms DESC, workflow_id) WHERE measured = 'counted';
CREATE INDEX workflow_figures_overhead ON workflow_figures(overhead DESC, start_ms DESC, workflow_id) WHERE measured = 'counted';
CREATE INDEX workflow_figures_stale_after ON workflow_figures(stale_after) WHERE stale_after IS NOT NULL;
CREATE INDEX workflow_figures_stale_until ON workflow_figures(stale_until) WHERE stale_until IS NOT NULL;

-- Sums of workflow_figures per start day (day 0 also holds the workflows without a start).
CREATE TABLE workflow_daily (
    day          INTEGER PRIMARY KEY,
    workflows    INTEGER NOT NULL DEFAULT 0,
    turns        INTEGER NOT NULL DEFAULT 0,
    explicit     INTEGER NOT NULL DEFAULT 0,
    success      INTEGER NOT NULL DEFAULT 0,
    failure      INTEGER NOT NULL DEFAULT 0,
    cancelled    INTEGER NOT NULL DEFAULT 0,
    running      INTEGER NOT NULL DEFAULT 0,
    lost         INTEGER NOT NULL DEFAULT 0,
    dur_n        INTEGER NOT NULL DEFAULT 0,
    dur_sum      INTEGER NOT NULL DEFAULT 0,
    agents       INTEGER NOT NULL DEFAULT 0,
    with_agents  INTEGER NOT NULL DEFAULT 0,
    tokens       INTEGER NOT NULL DEFAULT 0,
    cost         REAL    NOT NULL DEFAULT 0,
    counted      INTEGER NOT NULL DEFAULT 0,
    unfinished   INTEGER NOT NULL DEFAULT 0,
    no_agents    INTEGER NOT NULL DEFAULT 0,
    zero_length  INTEGER NOT NULL DEFAULT 0,
    wall_ms      INTEGER NOT NULL DEFAULT 0,
    union_ms     INTEGER NOT NULL DEFAULT 0,
    sum_ms       INTEGER NOT NULL DEFAULT 0
);
-- Per agent sequence: over all time, and per start day.
CREATE TABLE workflow_sequences (
    sequence     TEXT PRIMARY KEY,
    workflows    INTEGER NOT NULL DEFAULT 0,
    success      INTEGER NOT NULL DEFAULT 0,
    decided      INTEGER NOT NULL DEFAULT 0,
    dur_n        INTEGER NOT NULL DEFAULT 0,
    dur_sum      INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX workflow_sequences_most ON workflow_sequences(workflows DESC, sequence);
CREATE TABLE workflow_sequence_daily (
    day          INTEGER NOT NULL,
    sequence     TEXT    NOT NULL,
    workflows    INTEGER NOT NULL DEFAULT 0,
    success      INTEGER NOT NULL DEFAULT 0,
    decided      INTEGER NOT NULL DEFAULT 0,
    dur_n        INTEGER NOT NULL DEFAULT 0,
    dur_sum      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, sequence)
) WITHOUT ROWID;
-- Counted workflows per start day and peak concurrency (a maximum cannot be subtracted).
CREATE TABLE workflow_peak_daily (
    day          INTEGER NOT NULL,
    peak         INTEGER NOT NULL,
    n            INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, peak)
) WITHOUT ROWID;

INSERT INTO workflow_dirty (workflow_id) SELECT workflow_id FROM workflows;
"#;

/// Version 14: `analyze errors` lists the newest failed turns with `ORDER BY end_ms DESC LIMIT n`;
/// without this index it read every workflow of its window (or of the history) to find the few
/// with an error (4.7 ms of 10 ms for `errors --days 7` at 100k runs, growing with the history).
/// Partial: only failed turns are in it, so building it reads the workflows once and writes almost
/// nothing.
const V14_WORKFLOW_ERRORS: &str = r#"
CREATE INDEX workflows_errors ON workflows(end_ms) WHERE error IS NOT NULL;
"#;

/// Version 15: the sums `analyze agent NAME` reads, per agent type and UTC start day ("cells",
/// `crate::analyze::agent_cells`), so that the report never reads every run of a busy type.
/// A cell holds the type's user runs that started that day, by stored status (running → lost is
/// decided at read time from `runs_running`, as `agent_daily`'s readers do), so it never depends
/// on "now":
/// - `agent_cells`: per delegating agent type (`who`: the parent run's type, `main agent` at
///   depth 1, `unknown` when the parent run is not known) every sum of the report's grouped
///   query, its outcome sums and the host figures (CPU seconds as an exact sum: the integer
///   seconds and two 31-bit fractions, so that their total rounds once, as SQLite's `avg` does);
/// - `agent_cell_tools`: the cell's runs' tool rows per tool; `agent_cell_children`: the user
///   runs the cell's runs started, per child type.
///
/// A cell is marked in `agent_cell_dirty` whenever a run it is computed from changes (once per
/// derivation batch, [`flush_batch_rollups_sql`]): the changed run's cell before and after, the
/// cells of its children (their delegating type) and of its parent (its children). A rebuild
/// clears them all (the re-derivation marks every run's cell). Every cell with runs starts
/// dirty: the first `agent` reader of a type fills its cells.
const V15_AGENT_CELLS: &str = r#"
CREATE TABLE agent_cell_dirty (
    agent_type   TEXT    NOT NULL,
    day          INTEGER NOT NULL,           -- coalesce(start_ms, 0) / 86400000, as agent_daily's
    PRIMARY KEY (agent_type, day)
) WITHOUT ROWID;

CREATE TABLE agent_cells (
    agent_type      TEXT    NOT NULL,
    day             INTEGER NOT NULL,
    who             TEXT    NOT NULL,        -- the parent run's type | main agent | unknown
    runs            INTEGER NOT NULL,
    success         INTEGER NOT NULL,
    failure         INTEGER NOT NULL,
    cancelled       INTEGER NOT NULL,
    running         INTEGER NOT NULL,        -- stored status running (running or lost when read)
    dur_n           INTEGER NOT NULL,
    dur_sum         INTEGER NOT NULL,
    complexity      INTEGER NOT NULL,
    input           INTEGER NOT NULL,
    output          INTEGER NOT NULL,
    cache_read      INTEGER NOT NULL,
    cache_write     INTEGER NOT NULL,
    unpriced        INTEGER NOT NULL,
    cost            REAL    NOT NULL,
    category        TEXT,                    -- max(category)
    tested          INTEGER NOT NULL,        -- with a test result and stored success | failure
    verified        INTEGER NOT NULL,
    with_tests      INTEGER NOT NULL,
    tests_passed    INTEGER NOT NULL,
    tests_failed    INTEGER NOT NULL,
    tests_skipped   INTEGER NOT NULL,
    with_outcome    INTEGER NOT NULL,
    files_created   INTEGER NOT NULL,
    files_modified  INTEGER NOT NULL,
    commands_failed INTEGER NOT NULL,
    timed           INTEGER NOT NULL,
    tool_ms         INTEGER NOT NULL,
    model_ms        INTEGER NOT NULL,
    cpu_n           INTEGER NOT NULL,
    cpu_int         INTEGER NOT NULL,        -- Σ CPU seconds = cpu_int + cpu_hi / 2^31 + cpu_lo / 2^62
    cpu_hi          INTEGER NOT NULL,
    cpu_lo          INTEGER NOT NULL,
    cpu_max         REAL,
    rss_n           INTEGER NOT NULL,
    rss_kb          INTEGER NOT NULL,
    rss_max         REAL,
    PRIMARY KEY (agent_type, day, who)
) WITHOUT ROWID;

CREATE TABLE agent_cell_tools (
    agent_type   TEXT    NOT NULL,
    day          INTEGER NOT NULL,
    tool         TEXT    NOT NULL,
    calls        INTEGER NOT NULL,
    errors       INTEGER NOT NULL,
    runs         INTEGER NOT NULL,
    PRIMARY KEY (agent_type, day, tool)
) WITHOUT ROWID;

CREATE TABLE agent_cell_children (
    agent_type   TEXT    NOT NULL,
    day          INTEGER NOT NULL,
    child        TEXT    NOT NULL,
    runs         INTEGER NOT NULL,
    PRIMARY KEY (agent_type, day, child)
) WITHOUT ROWID;

INSERT INTO agent_cell_dirty (agent_type, day) SELECT agent_type, day FROM agent_daily WHERE runs > 0;
"#;

/// Forgets every agent cell and every mark (a rebuild, a prune's re-derivation): the runs the
/// re-derivation inserts mark their cells afresh, and a cell left without runs is gone.
pub const CLEAR_AGENT_CELLS: &str = "DELETE FROM agent_cells; DELETE FROM agent_cell_tools;
    DELETE FROM agent_cell_children; DELETE FROM agent_cell_dirty;";

/// Version 16 (storage, issue 16): a packed event's keys (`source`, `session_id`, `prompt_id`,
/// `agent_id`, `agent_type`, `tool_name`, `tool_use_id`) go into its frame with its payload, the
/// row keeping '' and NULLs ([`crate::store::packed`]). No table changes; the packing cursor goes
/// back to the start so that the next packing reader rewrites schema 11's frames with their keys,
/// in its short transactions (nothing rewritten here: a hook may be the one migrating).
const V16_KEYS_IN_FRAMES: &str = r#"
UPDATE derive_state SET value = 0 WHERE key = 'packed_upto';
"#;

/// Version 17: `analyze errors AGENT` and `analyze agent NAME` list a type's newest failed runs
/// with `ORDER BY end_ms DESC LIMIT n`; `runs_failed` holds every type's, so the planner read all
/// of the type's runs through `runs_type_start` and sorted them (75 of 110 ms of `agent
/// general-purpose` at 1M runs, the type having 220k). Partial, like `runs_failed`: a failed run's
/// entry, ~12 % of the runs.
const V17_RUNS_FAILED_BY_TYPE: &str = r#"
CREATE INDEX runs_failed_type ON agent_runs(agent_type, end_ms) WHERE status = 'failure';
"#;

/// The TEMP triggers that mark a workflow dirty (`workflow_dirty`, version 13) when its own row
/// or one of its handoffs changes, installed with [`temp_batch_rollup_triggers`] by the
/// connection that derives (a run's changes mark its workflows per batch, in
/// [`flush_batch_rollups_sql`]). NOT EXISTS rather than OR IGNORE: an outer statement's conflict
/// policy overrides a trigger's.
fn temp_workflow_dirty_triggers() -> String {
    let wf_changed = "OLD.workflow_id IS NOT NEW.workflow_id OR OLD.kind IS NOT NEW.kind
        OR OLD.session_id IS NOT NEW.session_id OR OLD.start_ms IS NOT NEW.start_ms OR OLD.end_ms IS NOT NEW.end_ms
        OR OLD.reported_ms IS NOT NEW.reported_ms OR OLD.reported_success IS NOT NEW.reported_success
        OR OLD.reported_agents IS NOT NEW.reported_agents OR OLD.error IS NOT NEW.error
        OR OLD.ended_by IS NOT NEW.ended_by";
    format!(
        "CREATE TEMP TRIGGER IF NOT EXISTS workflow_dirty_wf_ins AFTER INSERT ON workflows BEGIN {new} END;
         CREATE TEMP TRIGGER IF NOT EXISTS workflow_dirty_wf_del AFTER DELETE ON workflows BEGIN {old} END;
         CREATE TEMP TRIGGER IF NOT EXISTS workflow_dirty_wf_upd AFTER UPDATE OF workflow_id, kind, session_id,
             start_ms, end_ms, reported_ms, reported_success, reported_agents, error, ended_by ON workflows
         WHEN {wf_changed} BEGIN {old} {new} END;
         CREATE TEMP TRIGGER IF NOT EXISTS workflow_dirty_handoffs_ins AFTER INSERT ON handoffs BEGIN {new} END;
         CREATE TEMP TRIGGER IF NOT EXISTS workflow_dirty_handoffs_del AFTER DELETE ON handoffs BEGIN {old} END;
         CREATE TEMP TRIGGER IF NOT EXISTS workflow_dirty_handoffs_upd AFTER UPDATE ON handoffs BEGIN {old} {new} END;",
        new = mark_dirty("NEW.workflow_id"),
        old = mark_dirty("OLD.workflow_id"),
    )
}

/// Marks the workflow `id` (an SQL expression) in `workflow_dirty` unless it is already there.
fn mark_dirty(id: &str) -> String {
    format!(
        "INSERT INTO workflow_dirty (workflow_id) SELECT {id}
           WHERE NOT EXISTS (SELECT 1 FROM workflow_dirty WHERE workflow_id = {id});"
    )
}

/// Marks every workflow that has figures: their rows must be recomputed (a rebuild, a prune's
/// re-derivation).
pub const MARK_EVERY_WORKFLOW_DIRTY: &str = "INSERT INTO workflow_dirty (workflow_id)
    SELECT workflow_id FROM workflow_figures f
    WHERE NOT EXISTS (SELECT 1 FROM workflow_dirty d WHERE d.workflow_id = f.workflow_id);";

/// The TEMP triggers that keep the rollups of `workflow_figures` (version 13) exact — an insert
/// adds its row, a delete subtracts it — installed by the reader that refreshes the figures
/// (`analyze::workflow_cache::sync`, the only writer of `workflow_figures`). Idempotent.
pub const TEMP_WORKFLOW_FIGURES_TRIGGERS: &str = r#"
CREATE TEMP TRIGGER IF NOT EXISTS workflow_figures_ins AFTER INSERT ON workflow_figures BEGIN
  INSERT INTO workflow_daily (day, workflows, turns, explicit, success, failure, cancelled, running, lost, dur_n, dur_sum,
      agents, with_agents, tokens, cost, counted, unfinished, no_agents, zero_length, wall_ms, union_ms, sum_ms)
  VALUES (NEW.day, 1, NEW.kind = 'turn', NEW.kind = 'explicit', NEW.status = 'success', NEW.status = 'failure',
      NEW.status = 'cancelled', NEW.status = 'running', NEW.status = 'lost', NEW.duration_ms IS NOT NULL,
      coalesce(NEW.duration_ms, 0), NEW.agents, NEW.agents > 0, NEW.tokens, NEW.cost, NEW.measured = 'counted',
      NEW.measured = 'unfinished', NEW.measured = 'no_agents', NEW.measured = 'zero_length',
      coalesce(NEW.wall_ms, 0), coalesce(NEW.union_ms, 0), coalesce(NEW.sum_ms, 0))
  ON CONFLICT (day) DO UPDATE SET workflows = workflows + 1, turns = turns + excluded.turns,
      explicit = explicit + excluded.explicit, success = success + excluded.success, failure = failure + excluded.failure,
      cancelled = cancelled + excluded.cancelled, running = running + excluded.running, lost = lost + excluded.lost,
      dur_n = dur_n + excluded.dur_n, dur_sum = dur_sum + excluded.dur_sum, agents = agents + excluded.agents,
      with_agents = with_agents + excluded.with_agents, tokens = tokens + excluded.tokens, cost = cost + excluded.cost,
      counted = counted + excluded.counted, unfinished = unfinished + excluded.unfinished,
      no_agents = no_agents + excluded.no_agents, zero_length = zero_length + excluded.zero_length,
      wall_ms = wall_ms + excluded.wall_ms, union_ms = union_ms + excluded.union_ms, sum_ms = sum_ms + excluded.sum_ms;
  INSERT INTO workflow_sequences (sequence, workflows, success, decided, dur_n, dur_sum)
  SELECT NEW.sequence, 1, NEW.status = 'success', NEW.status IN ('success', 'failure', 'lost'),
      NEW.duration_ms IS NOT NULL, coalesce(NEW.duration_ms, 0) WHERE NEW.sequence IS NOT NULL
  ON CONFLICT (sequence) DO UPDATE SET workflows = workflows + 1, success = success + excluded.success,
      decided = decided + excluded.decided, dur_n = dur_n + excluded.dur_n, dur_sum = dur_sum + excluded.dur_sum;
  INSERT INTO workflow_sequence_daily (day, sequence, workflows, success, decided, dur_n, dur_sum)
  SELECT NEW.day, NEW.sequence, 1, NEW.status = 'success', NEW.status IN ('success', 'failure', 'lost'),
      NEW.duration_ms IS NOT NULL, coalesce(NEW.duration_ms, 0) WHERE NEW.sequence IS NOT NULL
  ON CONFLICT (day, sequence) DO UPDATE SET workflows = workflows + 1, success = success + excluded.success,
      decided = decided + excluded.decided, dur_n = dur_n + excluded.dur_n, dur_sum = dur_sum + excluded.dur_sum;
  INSERT INTO workflow_peak_daily (day, peak, n) SELECT NEW.day, NEW.peak, 1 WHERE NEW.measured = 'counted'
  ON CONFLICT (day, peak) DO UPDATE SET n = n + 1;
END;
CREATE TEMP TRIGGER IF NOT EXISTS workflow_figures_del AFTER DELETE ON workflow_figures BEGIN
  UPDATE workflow_daily SET workflows = workflows - 1, turns = turns - (OLD.kind = 'turn'),
      explicit = explicit - (OLD.kind = 'explicit'), success = success - (OLD.status = 'success'),
      failure = failure - (OLD.status = 'failure'), cancelled = cancelled - (OLD.status = 'cancelled'),
      running = running - (OLD.status = 'running'), lost = lost - (OLD.status = 'lost'),
      dur_n = dur_n - (OLD.duration_ms IS NOT NULL), dur_sum = dur_sum - coalesce(OLD.duration_ms, 0),
      agents = agents - OLD.agents, with_agents = with_agents - (OLD.agents > 0), tokens = tokens - OLD.tokens,
      cost = cost - OLD.cost, counted = counted - (OLD.measured = 'counted'),
      unfinished = unfinished - (OLD.measured = 'unfinished'), no_agents = no_agents - (OLD.measured = 'no_agents'),
      zero_length = zero_length - (OLD.measured = 'zero_length'), wall_ms = wall_ms - coalesce(OLD.wall_ms, 0),
      union_ms = union_ms - coalesce(OLD.union_ms, 0), sum_ms = sum_ms - coalesce(OLD.sum_ms, 0)
  WHERE day = OLD.day;
  UPDATE workflow_sequences SET workflows = workflows - 1, success = success - (OLD.status = 'success'),
      decided = decided - (OLD.status IN ('success', 'failure', 'lost')),
      dur_n = dur_n - (OLD.duration_ms IS NOT NULL), dur_sum = dur_sum - coalesce(OLD.duration_ms, 0)
  WHERE sequence = OLD.sequence;
  UPDATE workflow_sequence_daily SET workflows = workflows - 1, success = success - (OLD.status = 'success'),
      decided = decided - (OLD.status IN ('success', 'failure', 'lost')),
      dur_n = dur_n - (OLD.duration_ms IS NOT NULL), dur_sum = dur_sum - coalesce(OLD.duration_ms, 0)
  WHERE day = OLD.day AND sequence = OLD.sequence;
  UPDATE workflow_peak_daily SET n = n - 1 WHERE OLD.measured = 'counted' AND day = OLD.day AND peak = OLD.peak;
END;
"#;

/// The upper bounds (seconds) of `agent_telemetry_run_duration_seconds`' buckets, and of
/// `run_metrics.bucket`: from a quick lookup to the hour a long agent run can take.
pub const RUN_DURATION_BOUNDS_S: [i64; 11] = [1, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600];

/// SQL for the `run_metrics.bucket` of the run aliased `r`.
pub fn run_metrics_bucket_sql(r: &str) -> String {
    let mut sql = format!("(CASE WHEN {r}.duration_ms IS NULL THEN -1");
    for (i, b) in RUN_DURATION_BOUNDS_S.iter().enumerate() {
        sql.push_str(&format!(" WHEN {r}.duration_ms <= {} THEN {i}", b * 1000));
    }
    sql.push_str(&format!(" ELSE {} END)", RUN_DURATION_BOUNDS_S.len()));
    sql
}

/// The columns of `run_metrics` after its key, for the run aliased `r`, each multiplied by
/// `sign` ("" or "-").
fn run_metrics_values(r: &str, s: &str) -> String {
    format!(
        "{s}1, {s}coalesce({r}.duration_ms, 0), {s}{r}.input_tokens, {s}{r}.output_tokens,
         {s}{r}.cache_read_tokens, {s}{r}.cache_write_tokens, {s}coalesce({r}.cost_usd, 0)"
    )
}

/// The whole of `run_metrics` computed from `agent_runs` (what its triggers keep it equal to).
pub fn run_metrics_fill_sql() -> String {
    format!(
        "INSERT INTO run_metrics (agent_type, status, bucket, runs, dur_sum, input, output, cache_read, cache_write, cost)
         SELECT r.agent_type, r.status, {b}, count(*), sum(coalesce(r.duration_ms, 0)), sum(r.input_tokens),
                sum(r.output_tokens), sum(r.cache_read_tokens), sum(r.cache_write_tokens), sum(coalesce(r.cost_usd, 0))
         FROM agent_runs r WHERE r.internal = 0 GROUP BY 1, 2, 3",
        b = run_metrics_bucket_sql("r")
    )
}

/// The TEMP triggers that keep `run_metrics` (version 9) exact, installed by the connection that
/// derives beside [`temp_rollup_triggers`]. Idempotent.
pub fn temp_run_metrics_triggers() -> String {
    let delta = |r: &str, s: &str| {
        format!(
            "INSERT INTO run_metrics (agent_type, status, bucket, runs, dur_sum, input, output, cache_read, cache_write, cost)
             VALUES ({r}.agent_type, {r}.status, {b}, {v})
             ON CONFLICT (agent_type, status, bucket) DO UPDATE SET runs = runs + excluded.runs,
                dur_sum = dur_sum + excluded.dur_sum, input = input + excluded.input, output = output + excluded.output,
                cache_read = cache_read + excluded.cache_read, cache_write = cache_write + excluded.cache_write,
                cost = cost + excluded.cost;",
            b = run_metrics_bucket_sql(r),
            v = run_metrics_values(r, s)
        )
    };
    let of = "AFTER UPDATE OF agent_type, status, duration_ms, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cost_usd, internal ON agent_runs";
    let changed = "OLD.internal IS NOT NEW.internal OR OLD.agent_type IS NOT NEW.agent_type OR OLD.status IS NOT NEW.status
        OR OLD.duration_ms IS NOT NEW.duration_ms OR OLD.input_tokens IS NOT NEW.input_tokens
        OR OLD.output_tokens IS NOT NEW.output_tokens OR OLD.cache_read_tokens IS NOT NEW.cache_read_tokens
        OR OLD.cache_write_tokens IS NOT NEW.cache_write_tokens OR OLD.cost_usd IS NOT NEW.cost_usd";
    format!(
        "CREATE TEMP TRIGGER IF NOT EXISTS runs_metrics_ins AFTER INSERT ON agent_runs WHEN NEW.internal = 0 BEGIN {add} END;
         CREATE TEMP TRIGGER IF NOT EXISTS runs_metrics_del AFTER DELETE ON agent_runs WHEN OLD.internal = 0 BEGIN {sub} END;
         CREATE TEMP TRIGGER IF NOT EXISTS runs_metrics_upd_old {of} WHEN OLD.internal = 0 AND ({changed}) BEGIN {sub} END;
         CREATE TEMP TRIGGER IF NOT EXISTS runs_metrics_upd_new {of} WHEN NEW.internal = 0 AND ({changed}) BEGIN {add} END;",
        add = delta("NEW", ""),
        sub = delta("OLD", "-"),
    )
}

// ── rollups per batch ────────────────────────────────────────────────────────────────────
//
// Deriving, the rollups are not kept by per-row triggers (each UPDATE of a run fired up to a dozen
// rollup upserts, most of a large derivation's time) but per batch: two TEMP tables remember, for
// each run and each run's tool rows changed since the last flush, what they were before the first
// change; [`flush_batch_rollups_sql`] then adds to every rollup, grouped by its key, the
// contribution of the changed runs as they are now minus what they contributed before. Every
// rollup is a sum over the runs (and tool rows) by its definition, so the result is the same
// as the per-row triggers', with one upsert per key per batch.

/// The columns of a run the rollups read, as snapshotted in `temp.runs_before` (and the
/// workflow it belonged to, marked dirty with its new one: `workflow_figures`, version 13; its
/// own and its parent's agent id, whose agent cells are marked: version 15).
const ROLLUP_RUN_COLUMNS: &str = "internal, agent_type, category, description, complexity, start_ms, end_ms,
    status, duration_ms, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cost_usd, tests_failed,
    workflow_id, agent_id, parent_agent_id";

/// Snapshots of run `{r}` (`OLD`) and of the tool rows of run `{t}` before their first change
/// since the last flush.
fn snapshot_run(r: &str) -> String {
    let old: Vec<String> = ROLLUP_RUN_COLUMNS
        .split(',')
        .map(|c| format!("{r}.{}", c.trim()))
        .collect();
    format!(
        "INSERT INTO runs_before (id, existed, {ROLLUP_RUN_COLUMNS}) SELECT {r}.id, 1, {old}
         WHERE NOT EXISTS (SELECT 1 FROM runs_before WHERE id = {r}.id);",
        old = old.join(", ")
    )
}

fn snapshot_tools(t: &str) -> String {
    format!(
        "INSERT INTO tools_before (run_id, tool, calls) SELECT run_id, tool, calls FROM run_tools
         WHERE run_id = {t} AND NOT EXISTS (SELECT 1 FROM tool_runs_touched WHERE run_id = {t});
         INSERT INTO tool_runs_touched (run_id) SELECT {t}
         WHERE NOT EXISTS (SELECT 1 FROM tool_runs_touched WHERE run_id = {t});"
    )
}

/// The TEMP tables and triggers that remember what changed since the last
/// [`flush_batch_rollups_sql`], installed by the connection that derives in place of the per-row
/// rollup triggers (which it drops). Idempotent.
pub fn temp_batch_rollup_triggers() -> String {
    format!(
        "{DROP_PER_ROW_ROLLUP_TRIGGERS}
         CREATE TEMP TABLE IF NOT EXISTS runs_before (id INTEGER PRIMARY KEY, existed INTEGER NOT NULL, {ROLLUP_RUN_COLUMNS});
         CREATE TEMP TABLE IF NOT EXISTS tools_before (run_id INTEGER NOT NULL, tool TEXT NOT NULL, calls INTEGER NOT NULL);
         CREATE TEMP TABLE IF NOT EXISTS tool_runs_touched (run_id INTEGER PRIMARY KEY);
         CREATE TEMP TRIGGER IF NOT EXISTS runs_batch_ins AFTER INSERT ON agent_runs BEGIN
           INSERT INTO runs_before (id, existed) SELECT NEW.id, 0
           WHERE NOT EXISTS (SELECT 1 FROM runs_before WHERE id = NEW.id); END;
         CREATE TEMP TRIGGER IF NOT EXISTS runs_batch_upd BEFORE UPDATE ON agent_runs BEGIN {run_old} END;
         CREATE TEMP TRIGGER IF NOT EXISTS runs_batch_del BEFORE DELETE ON agent_runs BEGIN {run_old} END;
         CREATE TEMP TRIGGER IF NOT EXISTS run_tools_batch_ins BEFORE INSERT ON run_tools BEGIN {tools_new} END;
         CREATE TEMP TRIGGER IF NOT EXISTS run_tools_batch_upd BEFORE UPDATE ON run_tools BEGIN {tools_old} {tools_new} END;
         CREATE TEMP TRIGGER IF NOT EXISTS run_tools_batch_del BEFORE DELETE ON run_tools BEGIN {tools_old} END;
         {workflow_dirty}",
        run_old = snapshot_run("OLD"),
        tools_new = snapshot_tools("NEW.run_id"),
        tools_old = snapshot_tools("OLD.run_id"),
        workflow_dirty = temp_workflow_dirty_triggers(),
    )
}

/// A rollup column: its name and its SQL over a run aliased by the argument.
type Column = (&'static str, fn(&str) -> String);

/// One rollup's batch delta: `keys` and `values` are SQL of a run aliased by their argument;
/// the changed runs now (`r`) minus before (`d`), summed per key; keys whose delta is all zero
/// are left alone.
fn run_rollup_delta(table: &str, keys: &[Column], values: &[Column]) -> String {
    let list = |xs: &[Column], a: &str, neg: bool| -> String {
        xs.iter()
            .enumerate()
            .map(|(i, (_, f))| {
                if neg {
                    format!("-({}) AS c{i}", f(a))
                } else {
                    format!("{} AS c{i}", f(a))
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let kn = keys.len();
    let key_cols: Vec<&str> = keys.iter().map(|k| k.0).collect();
    let val_cols: Vec<&str> = values.iter().map(|v| v.0).collect();
    let key_refs: Vec<String> = (0..kn).map(|i| format!("k{i}")).collect();
    let sums: Vec<String> = (0..values.len()).map(|i| format!("sum(c{i})")).collect();
    let nonzero: Vec<String> = (0..values.len())
        .map(|i| format!("sum(c{i}) <> 0"))
        .collect();
    let keys_as = |a: &str| -> String {
        keys.iter()
            .enumerate()
            .map(|(i, (_, f))| format!("{} AS k{i}", f(a)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let sets: Vec<String> = val_cols
        .iter()
        .map(|c| format!("{c} = {c} + excluded.{c}"))
        .collect();
    format!(
        "INSERT OR FAIL INTO {table} ({kc}, {vc})
         SELECT {kr}, {sums} FROM (
           SELECT {kr_new}, {v_new} FROM temp.runs_before d CROSS JOIN main.agent_runs r ON r.id = d.id WHERE r.internal = 0
           UNION ALL
           SELECT {kr_old}, {v_old} FROM temp.runs_before d WHERE d.existed = 1 AND d.internal = 0
         ) WHERE true GROUP BY {kr} HAVING {nonzero}
         ON CONFLICT ({kc}) DO UPDATE SET {sets};",
        kc = key_cols.join(", "),
        vc = val_cols.join(", "),
        kr = key_refs.join(", "),
        sums = sums.join(", "),
        kr_new = keys_as("r"),
        v_new = list(values, "r", false),
        kr_old = keys_as("d"),
        v_old = list(values, "d", true),
        nonzero = nonzero.join(" OR "),
        sets = sets.join(", "),
    )
}

/// A run's tool rows count under the run's category, type and start day: the changed runs'
/// and the runs whose tool rows changed, now, minus before (the run's snapshot if it changed,
/// else the run as it is; the tool rows' snapshot if they changed, else the rows as they are).
const TYPE_TOOL_DAILY_DELTA: &str = "INSERT OR FAIL INTO type_tool_daily (category, agent_type, tool, day, n, calls)
         SELECT category, agent_type, tool, day, sum(n), sum(calls) FROM (
           SELECT r.category, r.agent_type, t.tool, coalesce(r.start_ms, 0) / 86400000 AS day, 1 AS n, t.calls
           FROM (SELECT id FROM temp.runs_before UNION SELECT run_id FROM temp.tool_runs_touched) a
           CROSS JOIN main.agent_runs r ON r.id = a.id AND r.internal = 0 CROSS JOIN main.run_tools t ON t.run_id = a.id
           UNION ALL
           SELECT p.category, p.agent_type, o.tool, coalesce(p.start_ms, 0) / 86400000, -1, -o.calls
           FROM (SELECT d.id, d.category, d.agent_type, d.start_ms FROM temp.runs_before d
                 WHERE d.existed = 1 AND d.internal = 0
                 UNION ALL
                 SELECT r.id, r.category, r.agent_type, r.start_ms FROM temp.tool_runs_touched x
                 CROSS JOIN main.agent_runs r ON r.id = x.run_id
                 WHERE r.internal = 0 AND x.run_id NOT IN (SELECT id FROM temp.runs_before)) p
           JOIN (SELECT run_id, tool, calls FROM temp.tools_before
                 UNION ALL
                 SELECT t.run_id, t.tool, t.calls FROM temp.runs_before d CROSS JOIN main.run_tools t ON t.run_id = d.id
                 WHERE d.id NOT IN (SELECT run_id FROM temp.tool_runs_touched)) o ON o.run_id = p.id
         ) WHERE true GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0 OR sum(calls) <> 0
         ON CONFLICT (category, agent_type, tool, day) DO UPDATE SET n = n + excluded.n, calls = calls + excluded.calls;";

/// The workflows of the runs changed since the last flush, before and after, marked for
/// `workflow_figures` (version 13): one set-based insert per batch instead of a trigger per row.
const WORKFLOWS_DIRTY: &str = "INSERT OR FAIL INTO workflow_dirty (workflow_id)
         SELECT workflow_id FROM (
           SELECT r.workflow_id FROM temp.runs_before d CROSS JOIN main.agent_runs r ON r.id = d.id
           UNION SELECT d.workflow_id FROM temp.runs_before d WHERE d.existed = 1
         ) u WHERE workflow_id IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM main.workflow_dirty w WHERE w.workflow_id = u.workflow_id);";

/// The agent cells (version 15) the runs changed since the last flush touch, before and after,
/// marked dirty: the changed run's own cell (any change: every column of a run is in some sum),
/// the cells of the runs whose tool rows changed, the cells of its children when it came, went,
/// or changed its agent id or type (their delegating type), and the cell of its parent when it
/// came, went, or changed its parent, type or `internal` (the parent's children per type).
const AGENT_CELLS_DIRTY: &str = "INSERT INTO agent_cell_dirty (agent_type, day)
         SELECT agent_type, day FROM (
           SELECT r.agent_type, coalesce(r.start_ms, 0) / 86400000 AS day
             FROM temp.runs_before d CROSS JOIN main.agent_runs r ON r.id = d.id
           UNION SELECT d.agent_type, coalesce(d.start_ms, 0) / 86400000 FROM temp.runs_before d WHERE d.existed = 1
           UNION SELECT r.agent_type, coalesce(r.start_ms, 0) / 86400000
             FROM temp.tool_runs_touched x CROSS JOIN main.agent_runs r ON r.id = x.run_id
           UNION SELECT c.agent_type, coalesce(c.start_ms, 0) / 86400000
             FROM temp.runs_before d CROSS JOIN main.agent_runs r ON r.id = d.id
             CROSS JOIN main.agent_runs c ON c.parent_agent_id = r.agent_id
             WHERE d.existed = 0 OR d.agent_id IS NOT r.agent_id OR d.agent_type IS NOT r.agent_type
           UNION SELECT c.agent_type, coalesce(c.start_ms, 0) / 86400000
             FROM temp.runs_before d CROSS JOIN main.agent_runs c ON c.parent_agent_id = d.agent_id
             WHERE d.existed = 1 AND NOT EXISTS (SELECT 1 FROM main.agent_runs r
               WHERE r.id = d.id AND r.agent_id IS d.agent_id AND r.agent_type IS d.agent_type)
           UNION SELECT pa.agent_type, coalesce(pa.start_ms, 0) / 86400000
             FROM temp.runs_before d CROSS JOIN main.agent_runs r ON r.id = d.id
             CROSS JOIN main.agent_runs pa ON pa.agent_id = r.parent_agent_id
             WHERE d.existed = 0 OR d.parent_agent_id IS NOT r.parent_agent_id OR d.agent_type IS NOT r.agent_type
               OR d.internal IS NOT r.internal
           UNION SELECT pa.agent_type, coalesce(pa.start_ms, 0) / 86400000
             FROM temp.runs_before d CROSS JOIN main.agent_runs pa ON pa.agent_id = d.parent_agent_id
             WHERE d.existed = 1 AND NOT EXISTS (SELECT 1 FROM main.agent_runs r
               WHERE r.id = d.id AND r.parent_agent_id IS d.parent_agent_id AND r.agent_type IS d.agent_type
                 AND r.internal IS d.internal)
         ) u WHERE agent_type IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM main.agent_cell_dirty k WHERE k.agent_type = u.agent_type AND k.day = u.day);";

/// Applies what changed since the last flush to every rollup and forgets it: run it before each
/// commit of a transaction that derived with [`temp_batch_rollup_triggers`] installed.
pub fn flush_batch_rollups_sql() -> String {
    type F = fn(&str) -> String;
    let day: F = |r| format!("coalesce({r}.start_ms, 0) / 86400000");
    let agent_type: F = |r| format!("{r}.agent_type");
    let one: F = |_| "1".to_string();
    let success: F = |r| format!("({r}.status = 'success')");
    let failure: F = |r| format!("({r}.status = 'failure')");
    let cancelled: F = |r| format!("({r}.status = 'cancelled')");
    let dur_n: F = |r| format!("({r}.duration_ms IS NOT NULL)");
    let dur_sum: F = |r| format!("coalesce({r}.duration_ms, 0)");
    let cost: F = |r| format!("coalesce({r}.cost_usd, 0)");
    let tested: F = |r| tested_sql(r);
    let verified: F = |r| verified_sql(r);
    let agent_daily = run_rollup_delta(
        "agent_daily",
        &[("agent_type", agent_type), ("day", day)],
        &[
            ("runs", one),
            ("success", success),
            ("failure", failure),
            ("cancelled", cancelled),
            ("open", |r| format!("({r}.end_ms IS NULL)")),
            ("dur_n", dur_n),
            ("dur_sum", dur_sum),
            ("complexity_sum", |r| format!("{r}.complexity")),
            ("tokens", |r| {
                format!("({r}.input_tokens + {r}.output_tokens + {r}.cache_read_tokens + {r}.cache_write_tokens)")
            }),
            ("cost", cost),
            ("tested", tested),
            ("verified", verified),
        ],
    );
    let task_stats = run_rollup_delta(
        "agent_task_stats",
        &[
            ("agent_type", agent_type),
            ("description", |r| format!("coalesce({r}.description, '')")),
            ("complexity", |r| format!("{r}.complexity")),
        ],
        &[
            ("runs", one),
            ("success", success),
            ("failure", failure),
            ("cancelled", cancelled),
            ("tested", tested),
            ("verified", verified),
        ],
    );
    let type_daily = run_rollup_delta(
        "type_daily",
        &[
            ("category", |r| format!("{r}.category")),
            ("agent_type", agent_type),
            ("day", day),
        ],
        &[
            ("runs", one),
            ("success", success),
            ("failure", failure),
            ("dur_n", dur_n),
            ("dur_sum", dur_sum),
        ],
    );
    let run_metrics = run_rollup_delta(
        "run_metrics",
        &[
            ("agent_type", agent_type),
            ("status", |r| format!("{r}.status")),
            ("bucket", run_metrics_bucket_sql),
        ],
        &[
            ("runs", one),
            ("dur_sum", dur_sum),
            ("input", |r| format!("{r}.input_tokens")),
            ("output", |r| format!("{r}.output_tokens")),
            ("cache_read", |r| format!("{r}.cache_read_tokens")),
            ("cache_write", |r| format!("{r}.cache_write_tokens")),
            ("cost", cost),
        ],
    );
    format!(
        "{agent_daily}\n{task_stats}\n{type_daily}\n{run_metrics}\n{TYPE_TOOL_DAILY_DELTA}\n{WORKFLOWS_DIRTY}\n{AGENT_CELLS_DIRTY}
         DELETE FROM temp.runs_before; DELETE FROM temp.tools_before; DELETE FROM temp.tool_runs_touched;"
    )
}

/// Removes the per-row rollup triggers (the batch ones replace them).
const DROP_PER_ROW_ROLLUP_TRIGGERS: &str = "
DROP TRIGGER IF EXISTS temp.runs_rollup_ins; DROP TRIGGER IF EXISTS temp.runs_rollup_del;
DROP TRIGGER IF EXISTS temp.runs_rollup_upd_old; DROP TRIGGER IF EXISTS temp.runs_rollup_upd_new;
DROP TRIGGER IF EXISTS temp.runs_task_ins; DROP TRIGGER IF EXISTS temp.runs_task_del;
DROP TRIGGER IF EXISTS temp.runs_task_upd_old; DROP TRIGGER IF EXISTS temp.runs_task_upd_new;
DROP TRIGGER IF EXISTS temp.runs_types_ins; DROP TRIGGER IF EXISTS temp.runs_types_del;
DROP TRIGGER IF EXISTS temp.runs_types_upd_old; DROP TRIGGER IF EXISTS temp.runs_types_upd_new;
DROP TRIGGER IF EXISTS temp.runs_types_tools_old; DROP TRIGGER IF EXISTS temp.runs_types_tools_new;
DROP TRIGGER IF EXISTS temp.run_tools_types_ins; DROP TRIGGER IF EXISTS temp.run_tools_types_del;
DROP TRIGGER IF EXISTS temp.run_tools_types_upd;
DROP TRIGGER IF EXISTS temp.runs_metrics_ins; DROP TRIGGER IF EXISTS temp.runs_metrics_del;
DROP TRIGGER IF EXISTS temp.runs_metrics_upd_old; DROP TRIGGER IF EXISTS temp.runs_metrics_upd_new;";

/// Removes this connection's TEMP rollup triggers, per-row and per-batch, and forgets what the
/// batch ones remembered (for bulk deletes that clear the rollups too).
pub fn drop_temp_rollup_triggers() -> String {
    format!(
        "{DROP_PER_ROW_ROLLUP_TRIGGERS}
DROP TRIGGER IF EXISTS temp.runs_batch_ins; DROP TRIGGER IF EXISTS temp.runs_batch_upd;
DROP TRIGGER IF EXISTS temp.runs_batch_del; DROP TRIGGER IF EXISTS temp.run_tools_batch_ins;
DROP TRIGGER IF EXISTS temp.run_tools_batch_upd; DROP TRIGGER IF EXISTS temp.run_tools_batch_del;
DROP TRIGGER IF EXISTS temp.workflow_dirty_wf_ins; DROP TRIGGER IF EXISTS temp.workflow_dirty_wf_del;
DROP TRIGGER IF EXISTS temp.workflow_dirty_wf_upd; DROP TRIGGER IF EXISTS temp.workflow_dirty_handoffs_ins;
DROP TRIGGER IF EXISTS temp.workflow_dirty_handoffs_del; DROP TRIGGER IF EXISTS temp.workflow_dirty_handoffs_upd;
DROP TABLE IF EXISTS temp.runs_before; DROP TABLE IF EXISTS temp.tools_before;
DROP TABLE IF EXISTS temp.tool_runs_touched;"
    )
}

/// The task triggers of version 2 (which version 5 dropped from the schema) as TEMP triggers:
/// they keep `agent_task_stats` exact, per agent type, task description and complexity.
const TEMP_TASK_TRIGGERS: &str = r#"
CREATE TEMP TRIGGER IF NOT EXISTS runs_task_ins AFTER INSERT ON agent_runs WHEN NEW.internal = 0 BEGIN
  INSERT INTO agent_task_stats (agent_type, description, complexity, runs, success, failure, cancelled, tested, verified)
  VALUES (NEW.agent_type, coalesce(NEW.description, ''), NEW.complexity, 1,
      NEW.status = 'success', NEW.status = 'failure', NEW.status = 'cancelled',
      (NEW.tests_failed IS NOT NULL AND NEW.status IN ('success', 'failure')),
      (NEW.tests_failed IS NOT NULL AND NEW.status = 'success' AND NEW.tests_failed = 0))
  ON CONFLICT (agent_type, description, complexity) DO UPDATE SET runs = runs + 1,
      success = success + excluded.success, failure = failure + excluded.failure, cancelled = cancelled + excluded.cancelled,
      tested = tested + excluded.tested, verified = verified + excluded.verified;
END;

CREATE TEMP TRIGGER IF NOT EXISTS runs_task_del AFTER DELETE ON agent_runs WHEN OLD.internal = 0 BEGIN
  UPDATE agent_task_stats SET runs = runs - 1, success = success - (OLD.status = 'success'),
      failure = failure - (OLD.status = 'failure'), cancelled = cancelled - (OLD.status = 'cancelled'),
      tested = tested - (OLD.tests_failed IS NOT NULL AND OLD.status IN ('success', 'failure')),
      verified = verified - (OLD.tests_failed IS NOT NULL AND OLD.status = 'success' AND OLD.tests_failed = 0)
  WHERE agent_type = OLD.agent_type AND description = coalesce(OLD.description, '') AND complexity = OLD.complexity;
END;

CREATE TEMP TRIGGER IF NOT EXISTS runs_task_upd_old AFTER UPDATE OF agent_type, description, complexity, status, internal, tests_failed ON agent_runs
WHEN OLD.internal = 0 AND (OLD.internal IS NOT NEW.internal OR OLD.agent_type IS NOT NEW.agent_type
    OR OLD.description IS NOT NEW.description OR OLD.complexity IS NOT NEW.complexity OR OLD.status IS NOT NEW.status
    OR OLD.tests_failed IS NOT NEW.tests_failed) BEGIN
  UPDATE agent_task_stats SET runs = runs - 1, success = success - (OLD.status = 'success'),
      failure = failure - (OLD.status = 'failure'), cancelled = cancelled - (OLD.status = 'cancelled'),
      tested = tested - (OLD.tests_failed IS NOT NULL AND OLD.status IN ('success', 'failure')),
      verified = verified - (OLD.tests_failed IS NOT NULL AND OLD.status = 'success' AND OLD.tests_failed = 0)
  WHERE agent_type = OLD.agent_type AND description = coalesce(OLD.description, '') AND complexity = OLD.complexity;
END;

CREATE TEMP TRIGGER IF NOT EXISTS runs_task_upd_new AFTER UPDATE OF agent_type, description, complexity, status, internal, tests_failed ON agent_runs
WHEN NEW.internal = 0 AND (OLD.internal IS NOT NEW.internal OR OLD.agent_type IS NOT NEW.agent_type
    OR OLD.description IS NOT NEW.description OR OLD.complexity IS NOT NEW.complexity OR OLD.status IS NOT NEW.status
    OR OLD.tests_failed IS NOT NEW.tests_failed) BEGIN
  INSERT INTO agent_task_stats (agent_type, description, complexity, runs, success, failure, cancelled, tested, verified)
  VALUES (NEW.agent_type, coalesce(NEW.description, ''), NEW.complexity, 1,
      NEW.status = 'success', NEW.status = 'failure', NEW.status = 'cancelled',
      (NEW.tests_failed IS NOT NULL AND NEW.status IN ('success', 'failure')),
      (NEW.tests_failed IS NOT NULL AND NEW.status = 'success' AND NEW.tests_failed = 0))
  ON CONFLICT (agent_type, description, complexity) DO UPDATE SET runs = runs + 1,
      success = success + excluded.success, failure = failure + excluded.failure, cancelled = cancelled + excluded.cancelled,
      tested = tested + excluded.tested, verified = verified + excluded.verified;
END;
"#;

/// The triggers that keep `type_daily` and `type_tool_daily` (version 8) exact, as TEMP triggers
/// of the connection that derives, like [`temp_rollup_triggers`]. A run's tool rows count under
/// the run's category, agent type and start day: they move when one of those (or `internal`)
/// changes, and a run inserted or deleted brings its tool rows along.
pub fn temp_type_rollup_triggers() -> String {
    // The UTC day of run `r`'s start, as agent_daily's.
    let day = |r: &str| format!("coalesce({r}.start_ms, 0) / 86400000");
    // A run `r` ("NEW" or "OLD") added to (`s` "") or taken from (`s` "-") its type_daily row.
    let run = |r: &str, s: &str| {
        format!(
            "INSERT INTO type_daily (category, agent_type, day, runs, success, failure, dur_n, dur_sum)
             VALUES ({r}.category, {r}.agent_type, {day}, {s}1, {s}({r}.status = 'success'),
                     {s}({r}.status = 'failure'), {s}({r}.duration_ms IS NOT NULL), {s}coalesce({r}.duration_ms, 0))
             ON CONFLICT (category, agent_type, day) DO UPDATE SET runs = runs + excluded.runs,
                success = success + excluded.success, failure = failure + excluded.failure,
                dur_n = dur_n + excluded.dur_n, dur_sum = dur_sum + excluded.dur_sum;",
            day = day(r)
        )
    };
    // A run's tool rows, under the run's (`r`) category, type and day.
    let tools_of_run = |r: &str, s: &str| {
        format!(
            "INSERT INTO type_tool_daily (category, agent_type, tool, day, n, calls)
             SELECT {r}.category, {r}.agent_type, t.tool, {day}, {s}1, {s}t.calls
             FROM run_tools t WHERE t.run_id = {r}.id
             ON CONFLICT (category, agent_type, tool, day) DO UPDATE SET n = n + excluded.n, calls = calls + excluded.calls;",
            day = day(r)
        )
    };
    // One tool row `t` ("NEW" or "OLD"), under its run's category, type and day.
    let tool_row = |t: &str, s: &str| {
        format!(
            "INSERT INTO type_tool_daily (category, agent_type, tool, day, n, calls)
             SELECT r.category, r.agent_type, {t}.tool, {day}, {s}1, {s}{t}.calls
             FROM agent_runs r WHERE r.id = {t}.run_id AND r.internal = 0
             ON CONFLICT (category, agent_type, tool, day) DO UPDATE SET n = n + excluded.n, calls = calls + excluded.calls;",
            day = day("r")
        )
    };
    let moved = "OLD.internal IS NOT NEW.internal OR OLD.category IS NOT NEW.category
        OR OLD.agent_type IS NOT NEW.agent_type OR OLD.start_ms IS NOT NEW.start_ms";
    let changed = format!(
        "{moved} OR OLD.status IS NOT NEW.status OR OLD.duration_ms IS NOT NEW.duration_ms"
    );
    let of_run = "AFTER UPDATE OF category, agent_type, start_ms, status, duration_ms, internal ON agent_runs";
    let of_place = "AFTER UPDATE OF category, agent_type, start_ms, internal ON agent_runs";
    format!(
        "CREATE TEMP TRIGGER IF NOT EXISTS runs_types_ins AFTER INSERT ON agent_runs WHEN NEW.internal = 0 BEGIN
           {run_new} {tools_new} END;
         CREATE TEMP TRIGGER IF NOT EXISTS runs_types_del AFTER DELETE ON agent_runs WHEN OLD.internal = 0 BEGIN
           {run_old} {tools_old} END;
         CREATE TEMP TRIGGER IF NOT EXISTS runs_types_upd_old {of_run}
           WHEN OLD.internal = 0 AND ({changed}) BEGIN {run_old} END;
         CREATE TEMP TRIGGER IF NOT EXISTS runs_types_upd_new {of_run}
           WHEN NEW.internal = 0 AND ({changed}) BEGIN {run_new} END;
         CREATE TEMP TRIGGER IF NOT EXISTS runs_types_tools_old {of_place}
           WHEN OLD.internal = 0 AND ({moved}) BEGIN {tools_old} END;
         CREATE TEMP TRIGGER IF NOT EXISTS runs_types_tools_new {of_place}
           WHEN NEW.internal = 0 AND ({moved}) BEGIN {tools_new} END;
         CREATE TEMP TRIGGER IF NOT EXISTS run_tools_types_ins AFTER INSERT ON run_tools BEGIN {row_new} END;
         CREATE TEMP TRIGGER IF NOT EXISTS run_tools_types_del AFTER DELETE ON run_tools BEGIN {row_old} END;
         CREATE TEMP TRIGGER IF NOT EXISTS run_tools_types_upd AFTER UPDATE ON run_tools BEGIN {row_old} {row_new} END;",
        run_new = run("NEW", ""),
        run_old = run("OLD", "-"),
        tools_new = tools_of_run("NEW", ""),
        tools_old = tools_of_run("OLD", "-"),
        row_new = tool_row("NEW", ""),
        row_old = tool_row("OLD", "-"),
    )
}

/// The triggers that keep `agent_daily` and `agent_task_stats` exact, as TEMP triggers for the
/// connection that derives (invisible to every other connection and to the file): the same
/// programs as the rollup triggers of version 1 ([`rollup_triggers`]) and the task triggers of
/// version 2, which version 5 dropped from the schema. Idempotent.
pub fn temp_rollup_triggers() -> String {
    format!(
        "{}\n{TEMP_TASK_TRIGGERS}",
        agent_daily_triggers("TEMP ", true)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    /// Every row of `sql`, each as its values' debug forms joined by `|` (rollups compared with
    /// their definitions).
    fn rows(c: &Connection, sql: &str) -> Vec<String> {
        let mut stmt = c.prepare(sql).unwrap();
        let n = stmt.column_count();
        let rows = stmt
            .query_map([], |r| {
                Ok((0..n)
                    .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                    .collect::<Vec<_>>()
                    .join("|"))
            })
            .unwrap();
        rows.map(Result::unwrap).collect()
    }

    /// A database at version 4, the last with the rollup and task triggers in its schema.
    fn at_version_4() -> Connection {
        let c = Connection::open_in_memory().unwrap();
        for (i, sql) in MIGRATIONS[..4].iter().enumerate() {
            c.execute_batch(sql).unwrap();
            if i == 0 {
                c.execute_batch(&rollup_triggers()).unwrap();
            }
        }
        c
    }

    /// The current schema with this connection's TEMP triggers.
    fn current_with_temp_triggers() -> Connection {
        let c = Connection::open_in_memory().unwrap();
        for sql in MIGRATIONS {
            c.execute_batch(sql).unwrap();
        }
        c.execute_batch(&temp_rollup_triggers()).unwrap();
        c
    }

    /// name → SQL with every blank removed (SQLite stores the text as written, minus `TEMP`
    /// and `IF NOT EXISTS`).
    fn triggers(c: &Connection, table: &str) -> Vec<(String, String)> {
        let mut stmt = c
            .prepare(&format!(
                "SELECT name, sql FROM {table} WHERE type = 'trigger' ORDER BY name"
            ))
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get::<_, String>(1)?)))
            .unwrap()
            .map(|r| {
                let (name, sql) = r.unwrap();
                (name, sql.split_whitespace().collect())
            })
            .collect()
    }

    /// The TEMP triggers are versions 1 and 2's (same names, same events), which since version 10
    /// also count tested and verified runs ([`temp_triggers_keep_the_rollups_as_the_schema_triggers_did`]
    /// holds their other columns equal).
    #[test]
    fn temp_triggers_are_the_programs_versions_1_and_2_installed() {
        let names = |v: Vec<(String, String)>| v.into_iter().map(|t| t.0).collect::<Vec<_>>();
        let old = triggers(&at_version_4(), "sqlite_master");
        assert_eq!(old.len(), 8, "{old:?}");
        let temp = triggers(&current_with_temp_triggers(), "sqlite_temp_master");
        assert_eq!(names(temp), names(old));
        // Version 5 took them out of the file.
        assert!(triggers(&current_with_temp_triggers(), "sqlite_master").is_empty());
    }

    /// `tested` and `verified` in both rollups equal their definitions after every step: test
    /// results arriving after the end, a failing run, a fix, a status change, a delete.
    #[test]
    fn outcome_counts_in_the_rollups_equal_their_definition() {
        let c = current_with_temp_triggers();
        let script = [
            "INSERT INTO agent_runs (id, agent_id, source, agent_type, start_ms, status) VALUES (1, 'a', 'claude-code', 'coder', 5, 'running')",
            "INSERT INTO agent_runs (id, agent_id, source, agent_type, start_ms, status, tests_failed) VALUES (2, 'b', 'claude-code', 'coder', 9, 'success', 0)",
            "INSERT INTO agent_runs (id, agent_id, source, agent_type, start_ms, status, tests_failed) VALUES (3, 'c', 'claude-code', 'coder', 9, 'success', 2)",
            "UPDATE agent_runs SET status = 'success' WHERE id = 1",
            "UPDATE agent_runs SET tests_failed = 0 WHERE id = 1",
            "UPDATE agent_runs SET tests_failed = 0 WHERE id = 3",
            "UPDATE agent_runs SET status = 'failure' WHERE id = 2",
            "UPDATE agent_runs SET status = 'cancelled' WHERE id = 1",
            "DELETE FROM agent_runs WHERE id = 3",
        ];
        let expected = format!(
            "SELECT coalesce(sum({t}), 0), coalesce(sum({v}), 0) FROM agent_runs r WHERE internal = 0",
            t = tested_sql("r"),
            v = verified_sql("r")
        );
        for (k, sql) in script.iter().enumerate() {
            c.execute_batch(sql).unwrap();
            let want: (i64, i64) = c
                .query_row(&expected, [], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap();
            for table in ["agent_daily", "agent_task_stats"] {
                let got: (i64, i64) = c
                    .query_row(
                        &format!("SELECT coalesce(sum(tested), 0), coalesce(sum(verified), 0) FROM {table}"),
                        [],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .unwrap();
                assert_eq!(got, want, "{table} after step {k}: {sql}");
            }
        }
        let end: (i64, i64) = c
            .query_row(&expected, [], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap();
        assert_eq!(end, (1, 0)); // run b: tested, failed; run a: cancelled
    }

    /// Inserts, status changes, relabelling, internal flips and deletes: the rollups kept by the
    /// TEMP triggers equal those kept by the schema triggers of version 4.
    #[test]
    fn temp_triggers_keep_the_rollups_as_the_schema_triggers_did() {
        let script = [
            "INSERT INTO agent_runs (agent_id, source, agent_type, description, complexity, start_ms, status)
             VALUES ('a', 'claude-code', 'coder', 'Fix login', 5, 86400000 * 3 + 5, 'running')",
            "INSERT INTO agent_runs (agent_id, source, agent_type, description, complexity, start_ms, end_ms,
                 duration_ms, status, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cost_usd)
             VALUES ('b', 'claude-code', 'coder', NULL, 7, 86400000 * 3 + 9, 86400000 * 3 + 99, 90,
                 'failure', 10, 20, 30, 40, 0.25)",
            "INSERT INTO agent_runs (agent_id, source, agent_type, complexity, start_ms, status, internal)
             VALUES ('c', 'claude-code', 'acompact', 3, 86400000 * 4, 'success', 1)",
            "INSERT INTO agent_runs (agent_id, source, agent_type, complexity, status)
             VALUES ('d', 'generic', 'planner', 2, 'running')",
            "UPDATE agent_runs SET status = 'success', end_ms = start_ms + 1000, duration_ms = 1000,
                 input_tokens = 5, cost_usd = 0.5 WHERE agent_id = 'a'",
            "UPDATE agent_runs SET agent_type = 'reviewer', description = 'Review' WHERE agent_id = 'b'",
            "UPDATE agent_runs SET internal = 0 WHERE agent_id = 'c'",
            "UPDATE agent_runs SET internal = 1 WHERE agent_id = 'd'",
            "UPDATE agent_runs SET start_ms = 86400000 * 9, status = 'cancelled' WHERE agent_id = 'a'",
            "UPDATE agent_runs SET model = 'm' WHERE agent_id = 'b'",
            "DELETE FROM agent_runs WHERE agent_id = 'c'",
        ];
        let (old, new) = (at_version_4(), current_with_temp_triggers());
        let dump = |c: &Connection| -> Vec<String> {
            let mut out = Vec::new();
            for sql in [
                "SELECT agent_type, day, runs, success, failure, cancelled, open, dur_n, dur_sum,
                        complexity_sum, tokens, cost FROM agent_daily ORDER BY 1, 2",
                "SELECT agent_type, description, complexity, runs, success, failure, cancelled
                 FROM agent_task_stats ORDER BY 1, 2, 3",
            ] {
                out.extend(rows(c, sql));
            }
            out
        };
        for (k, sql) in script.iter().enumerate() {
            old.execute_batch(sql).unwrap();
            new.execute_batch(sql).unwrap();
            assert_eq!(dump(&new), dump(&old), "after step {k}: {sql}");
        }
        let end = dump(&new);
        assert!(end.len() >= 6, "{end:?}"); // the script reached both rollups
    }

    /// `run_metrics`, kept by its TEMP triggers, equals its definition ([`run_metrics_fill_sql`])
    /// after every step: durations crossing buckets, token and cost changes, status changes,
    /// relabelling, internal flips, deletes.
    #[test]
    fn run_metrics_triggers_keep_the_rollup_equal_to_its_definition() {
        let c = current_with_temp_triggers();
        c.execute_batch(&temp_run_metrics_triggers()).unwrap();
        let script = [
            "INSERT INTO agent_runs (id, agent_id, source, agent_type, status) VALUES (1, 'a', 'claude-code', 'coder', 'running')",
            "INSERT INTO agent_runs (id, agent_id, source, agent_type, status, duration_ms, input_tokens, output_tokens,
                 cache_read_tokens, cache_write_tokens, cost_usd)
             VALUES (2, 'b', 'claude-code', 'coder', 'success', 1000, 1, 2, 3, 4, 0.5)",
            "INSERT INTO agent_runs (id, agent_id, source, agent_type, status, duration_ms, internal)
             VALUES (3, 'c', 'claude-code', 'acompact', 'success', 7, 1)",
            "UPDATE agent_runs SET status = 'failure', duration_ms = 1001 WHERE id = 1",
            "UPDATE agent_runs SET duration_ms = 3600001, cost_usd = NULL, output_tokens = 20 WHERE id = 2",
            "UPDATE agent_runs SET agent_type = 'reviewer' WHERE id = 1",
            "UPDATE agent_runs SET internal = 0 WHERE id = 3",
            "UPDATE agent_runs SET internal = 1 WHERE id = 2",
            "UPDATE agent_runs SET model = 'm' WHERE id = 1",
            "DELETE FROM agent_runs WHERE id = 3",
        ];
        let dump = |c: &Connection| -> Vec<String> {
            rows(
                c,
                "SELECT * FROM run_metrics WHERE runs <> 0 ORDER BY 1, 2, 3",
            )
        };
        for (k, sql) in script.iter().enumerate() {
            c.execute_batch(sql).unwrap();
            let kept = dump(&c);
            c.execute_batch("SAVEPOINT fill; DELETE FROM run_metrics;")
                .unwrap();
            c.execute_batch(&run_metrics_fill_sql()).unwrap();
            let defined = dump(&c);
            c.execute_batch("ROLLBACK TO fill; RELEASE fill;").unwrap();
            assert_eq!(kept, defined, "after step {k}: {sql}");
        }
        // Hand-computed: b is internal and c deleted; a is reviewer/failure, 1001 ms: the
        // second bucket (≤ 5 s), no tokens.
        let left: (String, String, i64, i64, i64) = c
            .query_row(
                "SELECT agent_type, status, bucket, runs, dur_sum FROM run_metrics WHERE runs <> 0",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .unwrap();
        assert_eq!(left, ("reviewer".into(), "failure".into(), 1, 1, 1001));
        assert_eq!(dump(&c).len(), 1);
    }

    /// Each rollup's rows (all-zero rows left out) and its definition over the runs and tool rows.
    fn batch_rollup_definitions() -> [(&'static str, String); 5] {
        [
            (
                "SELECT agent_type, day, runs, success, failure, cancelled, open, dur_n, dur_sum, complexity_sum,
                        tokens, round(cost, 9), tested, verified FROM agent_daily
                 WHERE runs OR success OR failure OR cancelled OR open OR dur_n OR dur_sum OR complexity_sum
                    OR tokens OR cost OR tested OR verified ORDER BY 1, 2",
                format!(
                    "SELECT agent_type, coalesce(start_ms, 0) / 86400000, count(*), sum(status = 'success'),
                            sum(status = 'failure'), sum(status = 'cancelled'), sum(end_ms IS NULL),
                            count(duration_ms), coalesce(sum(duration_ms), 0), sum(complexity),
                            sum(input_tokens + output_tokens + cache_read_tokens + cache_write_tokens),
                            round(sum(coalesce(cost_usd, 0)), 9), sum({t}), sum({v})
                     FROM agent_runs r WHERE internal = 0 GROUP BY 1, 2 ORDER BY 1, 2",
                    t = tested_sql("r"),
                    v = verified_sql("r")
                ),
            ),
            (
                "SELECT agent_type, description, complexity, runs, success, failure, cancelled, tested, verified
                 FROM agent_task_stats WHERE runs OR success OR failure OR cancelled OR tested OR verified
                 ORDER BY 1, 2, 3",
                format!(
                    "SELECT agent_type, coalesce(description, ''), complexity, count(*), sum(status = 'success'),
                            sum(status = 'failure'), sum(status = 'cancelled'), sum({t}), sum({v})
                     FROM agent_runs r WHERE internal = 0 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
                    t = tested_sql("r"),
                    v = verified_sql("r")
                ),
            ),
            (
                "SELECT category, agent_type, day, runs, success, failure, dur_n, dur_sum
                 FROM type_daily WHERE runs OR success OR failure OR dur_n OR dur_sum ORDER BY 1, 2, 3",
                "SELECT category, agent_type, coalesce(start_ms, 0) / 86400000, count(*),
                        sum(status = 'success'), sum(status = 'failure'), count(duration_ms),
                        coalesce(sum(duration_ms), 0)
                 FROM agent_runs WHERE internal = 0 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
                    .to_string(),
            ),
            (
                "SELECT category, agent_type, tool, day, n, calls FROM type_tool_daily WHERE n OR calls
                 ORDER BY 1, 2, 3, 4",
                "SELECT r.category, r.agent_type, t.tool, coalesce(r.start_ms, 0) / 86400000, count(*),
                        sum(t.calls)
                 FROM agent_runs r JOIN run_tools t ON t.run_id = r.id WHERE r.internal = 0
                 GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"
                    .to_string(),
            ),
            (
                "SELECT agent_type, status, bucket, runs, dur_sum, input, output, cache_read, cache_write,
                        round(cost, 9) FROM run_metrics WHERE runs OR dur_sum OR input OR output
                    OR cache_read OR cache_write OR cost ORDER BY 1, 2, 3",
                format!(
                    "SELECT agent_type, status, {b}, count(*), sum(coalesce(duration_ms, 0)), sum(input_tokens),
                            sum(output_tokens), sum(cache_read_tokens), sum(cache_write_tokens),
                            round(sum(coalesce(cost_usd, 0)), 9)
                     FROM agent_runs r WHERE internal = 0 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
                    b = run_metrics_bucket_sql("r")
                ),
            ),
        ]
    }

    /// Every rollup kept per batch equals its definition over the runs and tool rows after each
    /// flush, whether it flushes after every step or after several (runs inserted, changed and
    /// deleted within one batch; tool rows before and after their run; relabelling, moves to
    /// another day, status changes, internal flips).
    #[test]
    fn batch_rollups_equal_their_definitions_whatever_the_batch() {
        let script = [
            "INSERT INTO run_tools (run_id, tool, calls) VALUES (1, 'Read', 3)",
            "INSERT INTO agent_runs (id, agent_id, source, agent_type, category, description, start_ms, status)
             VALUES (1, 'a', 'claude-code', 'coder', 'code', 'Fix login', 86400000 * 3 + 5, 'running')",
            "INSERT INTO run_tools (run_id, tool, calls) VALUES (1, 'Bash', 2)",
            "INSERT INTO agent_runs (id, agent_id, source, agent_type, category, start_ms, end_ms, duration_ms, status,
                 input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cost_usd, tests_failed)
             VALUES (2, 'b', 'claude-code', 'reviewer', 'review', 86400000 * 3 + 9, 86400000 * 3 + 59, 50, 'success',
                 1, 2, 3, 4, 0.25, 0)",
            "INSERT INTO run_tools (run_id, tool, calls) VALUES (2, 'Read', 5), (2, 'Grep', 0)",
            "INSERT INTO agent_runs (id, agent_id, source, agent_type, category, status, internal)
             VALUES (3, 'c', 'claude-code', 'acompact', 'general', 'success', 1)",
            "INSERT INTO run_tools (run_id, tool, calls) VALUES (3, 'Read', 9)",
            "UPDATE run_tools SET calls = 10 WHERE run_id = 1 AND tool = 'Read'",
            "UPDATE agent_runs SET category = 'other', agent_type = 'fixer', tests_failed = 2 WHERE id = 1",
            "UPDATE agent_runs SET status = 'success', end_ms = start_ms + 1000, duration_ms = 1000, cost_usd = 0.5 WHERE id = 1",
            "UPDATE agent_runs SET start_ms = 86400000 * 9 + 1, status = 'failure', duration_ms = 3600001 WHERE id = 2",
            "UPDATE agent_runs SET internal = 0 WHERE id = 3",
            "UPDATE agent_runs SET internal = 1 WHERE id = 2",
            "UPDATE agent_runs SET model = 'm' WHERE id = 1",
            "DELETE FROM run_tools WHERE run_id = 1 AND tool = 'Bash'",
            "DELETE FROM agent_runs WHERE id = 3",
            "DELETE FROM run_tools WHERE run_id = 3",
            "INSERT INTO agent_runs (id, agent_id, source, agent_type, category, start_ms, status)
             VALUES (3, 'd', 'claude-code', 'coder', 'code', 86400000 * 4, 'cancelled')",
            "UPDATE agent_runs SET internal = 0, description = 'Review' WHERE id = 2",
        ];
        let pairs = batch_rollup_definitions();
        for every in [1, 2, 3, 7, script.len()] {
            let c = Connection::open_in_memory().unwrap();
            for sql in MIGRATIONS {
                c.execute_batch(sql).unwrap();
            }
            c.execute_batch(&temp_batch_rollup_triggers()).unwrap();
            let dump = |sql: &str| rows(&c, sql);
            let mut reached = [0usize; 5];
            for (k, sql) in script.iter().enumerate() {
                c.execute_batch(sql).unwrap();
                if (k + 1) % every == 0 || k + 1 == script.len() {
                    c.execute_batch(&flush_batch_rollups_sql()).unwrap();
                    for (i, (rollup, definition)) in pairs.iter().enumerate() {
                        let kept = dump(rollup);
                        assert_eq!(
                            kept,
                            dump(definition),
                            "flushing every {every}, after step {k}: {sql}"
                        );
                        reached[i] = reached[i].max(kept.len());
                    }
                }
            }
            // Hand-checked: the script leaves rows in every rollup.
            assert!(
                reached.iter().all(|&n| n >= 2),
                "every {every}: {reached:?}"
            );
            let left: i64 = c
                .query_row("SELECT (SELECT count(*) FROM temp.runs_before) + (SELECT count(*) FROM temp.tools_before)
                            + (SELECT count(*) FROM temp.tool_runs_touched)", [], |r| r.get(0))
                .unwrap();
            assert_eq!(left, 0, "a flush forgets what it applied");
        }
    }

    /// The version-8 rollups, kept by their TEMP triggers, equal their definition over the runs
    /// and tool rows after every step: tool rows written before and after their run, calls
    /// changed, relabelling, a move to another day, status changes, internal flips, deletes.
    #[test]
    fn type_rollup_triggers_keep_the_rollups_equal_to_their_definition() {
        let c = current_with_temp_triggers();
        c.execute_batch(&temp_type_rollup_triggers()).unwrap();
        let script = [
            "INSERT INTO run_tools (run_id, tool, calls) VALUES (1, 'Read', 3)",
            "INSERT INTO agent_runs (id, agent_id, source, agent_type, category, start_ms, status)
             VALUES (1, 'a', 'claude-code', 'coder', 'code', 86400000 * 3 + 5, 'running')",
            "INSERT INTO run_tools (run_id, tool, calls) VALUES (1, 'Bash', 2)",
            "INSERT INTO agent_runs (id, agent_id, source, agent_type, category, start_ms, end_ms, duration_ms, status)
             VALUES (2, 'b', 'claude-code', 'reviewer', 'review', 86400000 * 3 + 9, 86400000 * 3 + 59, 50, 'success')",
            "INSERT INTO run_tools (run_id, tool, calls) VALUES (2, 'Read', 5), (2, 'Grep', 0)",
            "INSERT INTO agent_runs (id, agent_id, source, agent_type, category, status, internal)
             VALUES (3, 'c', 'claude-code', 'acompact', 'general', 'success', 1)",
            "INSERT INTO run_tools (run_id, tool, calls) VALUES (3, 'Read', 9)",
            "UPDATE run_tools SET calls = 10 WHERE run_id = 1 AND tool = 'Read'",
            "UPDATE agent_runs SET category = 'other', agent_type = 'fixer' WHERE id = 1",
            "UPDATE agent_runs SET start_ms = 86400000 * 9 + 1, status = 'failure', duration_ms = 7 WHERE id = 2",
            "UPDATE agent_runs SET internal = 0 WHERE id = 3",
            "UPDATE agent_runs SET internal = 1 WHERE id = 2",
            "UPDATE agent_runs SET model = 'm' WHERE id = 1",
            "DELETE FROM run_tools WHERE run_id = 1 AND tool = 'Bash'",
            "DELETE FROM agent_runs WHERE id = 3",
            "DELETE FROM run_tools WHERE run_id = 3",
        ];
        let dump = |sql: &str| rows(&c, sql);
        let pairs = [
            (
                "SELECT category, agent_type, day, runs, success, failure, dur_n, dur_sum
                 FROM type_daily WHERE runs OR success OR failure OR dur_n OR dur_sum ORDER BY 1, 2, 3",
                "SELECT category, agent_type, coalesce(start_ms, 0) / 86400000, count(*),
                        sum(status = 'success'), sum(status = 'failure'), count(duration_ms),
                        coalesce(sum(duration_ms), 0)
                 FROM agent_runs WHERE internal = 0 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
            ),
            (
                "SELECT category, agent_type, tool, day, n, calls FROM type_tool_daily WHERE n OR calls
                 ORDER BY 1, 2, 3, 4",
                "SELECT r.category, r.agent_type, t.tool, coalesce(r.start_ms, 0) / 86400000, count(*),
                        sum(t.calls)
                 FROM agent_runs r JOIN run_tools t ON t.run_id = r.id WHERE r.internal = 0
                 GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4",
            ),
        ];
        let mut seen_tools = 0;
        for (k, sql) in script.iter().enumerate() {
            c.execute_batch(sql).unwrap();
            for (rollup, definition) in pairs {
                assert_eq!(dump(rollup), dump(definition), "after step {k}: {sql}");
            }
            seen_tools = seen_tools.max(dump(pairs[1].0).len());
        }
        assert!(seen_tools >= 3, "the script reached the tool rollup");
    }

    /// Every flush statement is driven by the batch's own tables: a main table is only ever
    /// searched through a key, never scanned. Without a join order SQLite chose to walk every run
    /// (`SCAN r USING INDEX runs_type_start`, and for the agent cells every run once per changed
    /// run) at each flush, so deriving grew with the square of the history: 56 % of a 100k-run
    /// derivation, ~8 s per flush on a cold cache.
    #[test]
    fn flushing_a_batch_scans_only_the_batch() {
        let c = current_with_temp_triggers();
        c.execute_batch(&temp_batch_rollup_triggers()).unwrap();
        // Aliases and names of the batch's TEMP tables and of the subqueries built from them
        // (no main table is given one of these aliases in the flush).
        let batch = [
            "d",
            "x",
            "a",
            "p",
            "o",
            "u",
            "temp.runs_before",
            "temp.tool_runs_touched",
            "temp.tools_before",
        ];
        let mut statements = 0;
        for sql in flush_batch_rollups_sql()
            .split_inclusive(';')
            .map(str::trim)
            .filter(|x| !x.is_empty() && !x.starts_with("DELETE"))
        {
            statements += 1;
            let plan: Vec<String> = c
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap()
                .query_map([], |r| r.get(3))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            for step in &plan {
                let Some(scanned) = step.strip_prefix("SCAN ") else {
                    continue;
                };
                let name = scanned.split(' ').next().unwrap();
                assert!(
                    batch.contains(&name) || name.starts_with("(subquery-"),
                    "{step} in {plan:?}\nof {sql}"
                );
            }
        }
        assert_eq!(statements, 7);
    }
}
