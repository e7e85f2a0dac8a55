//! install.sh for real against a temp HOME (reusing cargo's debug binaries through
//! AGENT_TELEMETRY_BIN_SOURCE instead of a release build), `analyze hooks …`, `analyze doctor`,
//! and the settings merge on tricky inputs.

use agent_telemetry::settings::{self, install_text, our_command, uninstall_text, REGISTRATIONS};
use serde_json::{json, Value};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BINARIES: [&str; 5] = [
    "subagent-start",
    "subagent-stop",
    "workflow-event",
    "analyze",
    "query-best-agent",
];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The directory holding the five binaries cargo built for this test run.
fn bin_source() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_analyze"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A temp HOME (and TMPDIR, so the fallback spool is private too).
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Home {
        let h = Home {
            dir: tempfile::tempdir().unwrap(),
        };
        fs::create_dir_all(h.home()).unwrap();
        fs::create_dir_all(h.tmp()).unwrap();
        h
    }
    fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }
    fn tmp(&self) -> PathBuf {
        self.dir.path().join("tmp")
    }
    fn settings(&self) -> PathBuf {
        self.home().join(".claude/settings.json")
    }
    fn db(&self) -> PathBuf {
        self.home()
            .join(".local/share/agent-telemetry/telemetry.db")
    }
    fn cmd(&self, program: &Path, env: &[(&str, &Path)]) -> Command {
        let mut c = Command::new(program);
        c.current_dir(self.home())
            .env("HOME", self.home())
            .env("TMPDIR", self.tmp())
            .env("NO_COLOR", "1")
            .env("COLUMNS", "200")
            .env("AGENT_TELEMETRY_BIN_SOURCE", bin_source());
        for k in [
            "CARGO_HOME",
            "XDG_DATA_HOME",
            "AGENT_TELEMETRY_DB",
            "CLAUDE_CONFIG_DIR",
            "AGENT_TELEMETRY_DISABLED",
        ] {
            c.env_remove(k);
        }
        for (k, v) in env {
            c.env(k, v);
        }
        c
    }
    fn install(&self, args: &[&str]) -> Output {
        self.install_env(args, &[])
    }
    fn install_env(&self, args: &[&str], env: &[(&str, &Path)]) -> Output {
        let mut c = self.cmd(Path::new("bash"), env);
        c.arg(repo().join("install.sh")).args(args);
        c.output().expect("run install.sh")
    }
    /// Runs an installed (or the built) binary in this HOME.
    fn run(&self, bin: &Path, args: &[&str]) -> Output {
        self.cmd(bin, &[]).args(args).output().expect("run binary")
    }
}

fn ok(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn read_json(p: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(p).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// (event, matcher, command, timeout) of every hook entry in a settings value.
fn entries(v: &Value) -> Vec<(String, String, String, Option<u64>)> {
    let mut out = Vec::new();
    for (event, groups) in v["hooks"].as_object().into_iter().flatten() {
        for g in groups.as_array().unwrap() {
            for h in g["hooks"].as_array().unwrap() {
                out.push((
                    event.clone(),
                    g["matcher"].as_str().unwrap_or("").to_string(),
                    h["command"].as_str().unwrap().to_string(),
                    h["timeout"].as_u64(),
                ));
            }
        }
    }
    out
}

/// Asserts the ten registrations, each exactly once, with absolute commands under `bin_dir`.
fn assert_registered(v: &Value, bin_dir: &Path) {
    let all = entries(v);
    for r in REGISTRATIONS {
        let want = bin_dir.join(r.binary).display().to_string();
        let found: Vec<_> = all
            .iter()
            .filter(|e| e.0 == r.event && e.2.ends_with(&format!("/{}", r.binary)))
            .collect();
        assert_eq!(found.len(), 1, "{} → {}: {found:?}", r.event, r.binary);
        let matcher = if found[0].1.is_empty() {
            "*"
        } else {
            found[0].1.as_str()
        }; // none = all
        assert_eq!(matcher, r.matcher, "{}", r.event);
        assert_eq!(found[0].2, want);
        assert!(Path::new(&found[0].2).is_absolute());
        assert_eq!(found[0].3, Some(10));
    }
    let ours = all.iter().filter(|e| our_command(&e.2).is_some()).count();
    assert_eq!(ours, 10, "{all:?}");
}

// ── install.sh, for real ────────────────────────────────────────────────────────────────────

#[test]
fn fresh_home_install_reinstall_project_doctor_uninstall() {
    let h = Home::new();
    let bin_dir = h.home().join(".cargo/bin");

    let out = h.install(&[]);
    let stdout = ok(&out);
    assert!(stdout.contains("registered 10 hook(s)"), "{stdout}");
    assert!(
        stdout.contains("no agent runs yet — use Claude Code as usual"),
        "{stdout}"
    );
    assert!(stdout.contains("created the database"), "{stdout}");
    for b in BINARIES {
        assert!(
            fs::metadata(bin_dir.join(b)).unwrap().permissions().mode() & 0o111 != 0,
            "{b}"
        );
    }
    let settings = read_json(&h.settings());
    assert_registered(&settings, &bin_dir);
    assert_eq!(
        settings.as_object().unwrap().len(),
        1,
        "only hooks: {settings}"
    );

    // The database: created private.
    assert!(h.db().is_file());
    assert_eq!(mode(&h.db()), 0o600);
    assert_eq!(mode(h.db().parent().unwrap()), 0o700);

    // Install twice: byte-identical settings, no backup (nothing changed), binaries untouched.
    let before = fs::read(h.settings()).unwrap();
    let stdout = ok(&h.install(&[]));
    assert!(stdout.contains("already up to date"), "{stdout}");
    assert!(stdout.contains("unchanged"), "{stdout}");
    assert_eq!(fs::read(h.settings()).unwrap(), before);
    assert!(!h
        .home()
        .join(".claude/settings.json.agent-telemetry.bak")
        .exists());

    // --project DIR writes DIR/.claude/settings.json, leaves the user file alone.
    let proj = h.home().join("proj");
    fs::create_dir_all(&proj).unwrap();
    ok(&h.install(&["--no-build", "--project", proj.to_str().unwrap()]));
    assert_registered(&read_json(&proj.join(".claude/settings.json")), &bin_dir);
    assert_eq!(fs::read(h.settings()).unwrap(), before);

    // doctor on the fresh HOME: healthy, JSON parses and names the registered hooks.
    let analyze = bin_dir.join("analyze");
    let table = ok(&h.run(&analyze, &["doctor"]));
    assert!(table.contains(&h.db().display().to_string()), "{table}");
    assert!(table.contains("healthy"), "{table}");
    let out = h.run(&analyze, &["doctor", "--format", "json"]);
    let d: Value = serde_json::from_str(&ok(&out)).expect("doctor JSON");
    assert_eq!(d["command"], "doctor");
    assert_eq!(d["healthy"], true, "{d:#}");
    assert_eq!(d["database"]["exists"], true);
    assert_eq!(d["database"]["file_mode"], "0600");
    assert_eq!(d["database"]["dir_mode"], "0700");
    assert_eq!(
        d["database"]["schema_version"],
        d["database"]["supported_schema_version"]
    );
    assert_eq!(d["counts"]["events"], 0);
    assert_eq!(d["hooks"]["missing"], json!([]));
    let user = &d["hooks"]["files"][0];
    assert_eq!(user["scope"], "user");
    let hooks = user["hooks"].as_array().unwrap();
    assert_eq!(hooks.len(), 10);
    for r in REGISTRATIONS {
        assert!(
            hooks.iter().any(|x| x["event"] == r.event
                && x["binary"] == r.binary
                && x["executable"] == true),
            "{} missing from doctor: {user:#}",
            r.event
        );
    }
    let kinds: Vec<&str> = d["last_fired"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"SubagentStart") && kinds.contains(&"PostToolUseFailure"),
        "{kinds:?}"
    );

    // A hook fires: doctor sees when.
    let mut hook = h.cmd(&bin_dir.join("workflow-event"), &[]);
    hook.stdin(std::process::Stdio::piped());
    let mut child = hook.spawn().unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(br#"{"session_id":"s1","hook_event_name":"UserPromptSubmit","prompt":"hi","cwd":"/x","transcript_path":"/nonexistent"}"#)
        .unwrap();
    assert!(child.wait().unwrap().success());
    let d: Value =
        serde_json::from_slice(&h.run(&analyze, &["doctor", "--format", "json"]).stdout).unwrap();
    let ups = d["last_fired"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kind"] == "UserPromptSubmit")
        .unwrap()
        .clone();
    assert_eq!(ups["events"], 1, "{d:#}");
    assert!(ups["last_recorded_at"].is_i64());

    // --uninstall: our hooks gone (nothing else was there), binaries removed, database kept.
    let stdout = ok(&h.install(&["--uninstall"]));
    assert!(stdout.contains("removed 10 hook(s)"), "{stdout}");
    assert_eq!(read_json(&h.settings()), json!({}));
    for b in BINARIES {
        assert!(!bin_dir.join(b).exists(), "{b} still installed");
    }
    assert!(h.db().exists());
    // The project registration is still there: uninstall touches only its target.
    assert_registered(&read_json(&proj.join(".claude/settings.json")), &bin_dir);
    // Uninstalling again is fine.
    ok(&h.install(&["--uninstall", "--no-hooks"]));
}

#[test]
fn existing_settings_kept_backed_up_and_restored_by_uninstall() {
    let h = Home::new();
    let config = h.dir.path().join("claude-config");
    fs::create_dir_all(&config).unwrap();
    let settings = config.join("settings.json");
    let original = r#"{
  "model": "opus",
  "permissions": {"allow": ["Bash(git status)"], "deny": []},
  "hooks": {
    "PreToolUse": [
      {"matcher": "Bash", "hooks": [{"type": "command", "command": "/usr/local/bin/audit-bash", "timeout": 5}]}
    ],
    "Stop": [
      {"hooks": [{"type": "command", "command": "notify-send done"}]}
    ],
    "Notification": [
      {"matcher": "", "hooks": [{"type": "command", "command": "say hello"}]}
    ]
  },
  "statusLine": {"type": "command", "command": "~/bin/status"},
  "zzz_last": [1, 2.5, null, true]
}
"#;
    fs::write(&settings, original).unwrap();
    fs::set_permissions(&settings, fs::Permissions::from_mode(0o644)).unwrap();
    let prefix = h.dir.path().join("opt");
    let bin_dir = prefix.join("bin");
    let env = [("CLAUDE_CONFIG_DIR", config.as_path())];

    // --dry-run: shows the diff, changes nothing anywhere.
    let stdout = ok(&h.install_env(&["--dry-run", "--prefix", prefix.to_str().unwrap()], &env));
    assert!(stdout.contains("+++ "), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "+            \"command\": \"{}/subagent-start\",",
            bin_dir.display()
        )),
        "{stdout}"
    );
    assert!(stdout.contains("would copy"), "{stdout}");
    assert_eq!(fs::read_to_string(&settings).unwrap(), original);
    assert!(!prefix.exists());
    assert!(!h.db().exists());
    assert!(!h.home().join(".claude").exists());
    assert_eq!(fs::read_dir(&config).unwrap().count(), 1);

    let stdout = ok(&h.install_env(&["--prefix", prefix.to_str().unwrap()], &env));
    assert!(stdout.contains("registered 10 hook(s)"), "{stdout}");
    // CLAUDE_CONFIG_DIR respected: ~/.claude never created.
    assert!(!h.home().join(".claude").exists());
    let after = read_json(&settings);
    assert_registered(&after, &bin_dir);
    // Every other key and hook kept, keys in their original order.
    let orig: Value = serde_json::from_str(original).unwrap();
    for k in ["model", "permissions", "statusLine", "zzz_last"] {
        assert_eq!(after[k], orig[k], "{k}");
    }
    let text = fs::read_to_string(&settings).unwrap();
    let pos = |s: &str| text.find(s).unwrap_or_else(|| panic!("{s} missing"));
    assert!(pos("\"model\"") < pos("\"permissions\"") && pos("\"permissions\"") < pos("\"hooks\""));
    assert!(
        pos("\"hooks\"") < pos("\"statusLine\"") && pos("\"statusLine\"") < pos("\"zzz_last\"")
    );
    let all = entries(&after);
    assert!(all.contains(&(
        "PreToolUse".into(),
        "Bash".into(),
        "/usr/local/bin/audit-bash".into(),
        Some(5)
    )));
    assert!(all
        .iter()
        .any(|e| e.0 == "Stop" && e.2 == "notify-send done"));
    assert!(all
        .iter()
        .any(|e| e.0 == "Notification" && e.2 == "say hello"));
    // The user's Bash group is still first and still holds only their hook.
    assert_eq!(
        after["hooks"]["PreToolUse"][0],
        orig["hooks"]["PreToolUse"][0]
    );
    assert_eq!(mode(&settings), 0o644, "file mode kept");

    // Backup of the original.
    let bak = config.join("settings.json.agent-telemetry.bak");
    assert_eq!(fs::read_to_string(&bak).unwrap(), original);

    // Twice: identical bytes.
    let bytes = fs::read(&settings).unwrap();
    ok(&h.install_env(&["--prefix", prefix.to_str().unwrap()], &env));
    assert_eq!(fs::read(&settings).unwrap(), bytes);

    // Uninstall: the original JSON again; binaries gone from the prefix; a second backup.
    let stdout = ok(&h.install_env(&["--uninstall", "--prefix", prefix.to_str().unwrap()], &env));
    assert!(stdout.contains("removed 10 hook(s)"), "{stdout}");
    assert_eq!(read_json(&settings), orig);
    for b in BINARIES {
        assert!(!bin_dir.join(b).exists(), "{b}");
    }
    let backups = fs::read_dir(&config)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("settings.json.agent-telemetry.bak")
        })
        .count();
    assert_eq!(backups, 2);
    assert!(h.db().exists(), "database kept without --purge");

    // --purge deletes the data directory.
    ok(&h.install_env(
        &[
            "--uninstall",
            "--purge",
            "--prefix",
            prefix.to_str().unwrap(),
        ],
        &env,
    ));
    assert!(!h.db().parent().unwrap().exists());
    assert_eq!(read_json(&settings), orig);
}

#[test]
fn invalid_settings_are_refused_before_anything_changes() {
    let h = Home::new();
    fs::create_dir_all(h.settings().parent().unwrap()).unwrap();
    for (bad, why) in [
        ("{\"model\": \"opus\",,}", "not valid JSON"),
        (
            "{\"hooks\": [1, 2]}",
            "\"hooks\" is an array, expected an object",
        ),
        (
            "{\"hooks\": {\"PreToolUse\": {\"matcher\": \"Bash\"}}}",
            "\"hooks.PreToolUse\" is an object, expected an array",
        ),
        ("[1]", "not a JSON object"),
    ] {
        fs::write(h.settings(), bad).unwrap();
        let out = h.install(&[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{bad}: {stderr}");
        assert!(
            stderr.contains("refusing to change") && stderr.contains(why),
            "{bad}: {stderr}"
        );
        assert!(stderr.contains("nothing was changed"), "{stderr}");
        assert_eq!(
            fs::read_to_string(h.settings()).unwrap(),
            bad,
            "file untouched"
        );
        assert!(
            !h.home().join(".cargo/bin/analyze").exists(),
            "nothing installed"
        );
        assert!(!h.db().exists());
        assert_eq!(
            fs::read_dir(h.settings().parent().unwrap())
                .unwrap()
                .count(),
            1,
            "no backup, no temp file"
        );
    }
    // analyze itself exits 2 with the cause.
    fs::write(h.settings(), "not json").unwrap();
    let out = h.run(&bin_source().join("analyze"), &["hooks", "install"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not valid JSON"));
    // Bad arguments: exit 2.
    assert_eq!(h.install(&["--frobnicate"]).status.code(), Some(2));
    assert_eq!(h.install(&["--purge"]).status.code(), Some(2));
    let help = ok(&h.install(&["--help"]));
    assert!(
        help.contains("--uninstall") && help.contains("--prefix"),
        "{help}"
    );
}

// ── analyze hooks … on files ────────────────────────────────────────────────────────────────

#[test]
fn hooks_subcommands_on_files() {
    let h = Home::new();
    let analyze = bin_source().join("analyze");
    let dir = h.dir.path().join("cfg");
    fs::create_dir_all(&dir).unwrap();

    // A symlinked settings file (dotfile managers) stays a symlink; the target changes.
    let real = dir.join("real.json");
    fs::write(&real, "{\"theme\": \"dark\"}").unwrap();
    let link = dir.join("settings.json");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let out = h.run(
        &analyze,
        &[
            "hooks",
            "install",
            "--settings",
            link.to_str().unwrap(),
            "--bin-dir",
            "/opt/at/bin",
        ],
    );
    ok(&out);
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    let v = read_json(&real);
    assert_eq!(v["theme"], "dark");
    assert_registered(&v, Path::new("/opt/at/bin"));
    // No trailing newline before: none after.
    assert!(!fs::read_to_string(&real).unwrap().ends_with('\n'));

    // status: binaries under /opt/at/bin do not exist → exit 1 with a warning.
    let out = h.run(&analyze, &["hooks", "status", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let st: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(st["missing"].as_array().unwrap().len(), 10, "{st:#}");

    // Uninstall with a different --bin-dir removes nothing; with ours, everything.
    let out = h.run(
        &analyze,
        &[
            "hooks",
            "uninstall",
            "--settings",
            link.to_str().unwrap(),
            "--bin-dir",
            "/elsewhere",
        ],
    );
    assert!(ok(&out).contains("unchanged"));
    let out = h.run(
        &analyze,
        &[
            "hooks",
            "uninstall",
            "--settings",
            link.to_str().unwrap(),
            "--dry-run",
        ],
    );
    assert!(ok(&out).contains("-            \"command\": \"/opt/at/bin/subagent-start\","));
    assert_registered(&read_json(&real), Path::new("/opt/at/bin"));
    ok(&h.run(
        &analyze,
        &[
            "hooks",
            "uninstall",
            "--settings",
            link.to_str().unwrap(),
            "--bin-dir",
            "/opt/at/bin",
        ],
    ));
    assert_eq!(read_json(&real), json!({"theme": "dark"}));

    // --project DIR --local → settings.local.json.
    let proj = h.dir.path().join("p");
    fs::create_dir_all(&proj).unwrap();
    ok(&h.run(
        &analyze,
        &[
            "hooks",
            "install",
            "--project",
            proj.to_str().unwrap(),
            "--local",
            "--bin-dir",
            "/b",
        ],
    ));
    assert_registered(
        &read_json(&proj.join(".claude/settings.local.json")),
        Path::new("/b"),
    );
    assert!(!proj.join(".claude/settings.json").exists());
}

// ── The merge on tricky inputs ──────────────────────────────────────────────────────────────

fn parse(s: &str) -> Value {
    serde_json::from_str(s).unwrap()
}

#[test]
fn merge_without_hooks_key_appends_it_and_keeps_order() {
    let e = install_text(
        "{\"b\": 1, \"a\": {\"z\": 1, \"y\": 2}}\n",
        Path::new("/bin"),
    )
    .unwrap();
    assert!(e.changed);
    assert_eq!(e.added, 10);
    assert!(e.text.ends_with('\n'));
    let keys: Vec<usize> = ["\"b\"", "\"a\"", "\"z\"", "\"y\"", "\"hooks\""]
        .iter()
        .map(|k| e.text.find(k).unwrap())
        .collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "{}", e.text);
    assert_registered(&parse(&e.text), Path::new("/bin"));
    // Empty and whitespace-only files are empty settings.
    for empty in ["", "  \n"] {
        let e = install_text(empty, Path::new("/bin")).unwrap();
        assert_registered(&parse(&e.text), Path::new("/bin"));
    }
    // Idempotent: the second pass returns the text unchanged.
    let again = install_text(&e.text, Path::new("/bin")).unwrap();
    assert!(!again.changed);
    assert_eq!(again.text, e.text);
}

#[test]
fn merge_updates_our_entry_in_place() {
    // Ours already present with another timeout, async, and an extra key; plus a duplicate of
    // ours from an older install under another matcher.
    let s = r#"{"hooks": {
        "SubagentStop": [{"matcher": "*", "hooks": [
            {"type": "command", "command": "/usr/bin/true"},
            {"type": "command", "command": "/bin/subagent-stop", "timeout": 60, "async": true, "statusMessage": "x"}]}],
        "PreToolUse": [{"matcher": "Task", "hooks": [{"type": "command", "command": "/old/bin/subagent-start"}]},
                       {"matcher": "Agent|Task", "hooks": [{"type": "command", "command": "/bin/subagent-start", "timeout": 10}]}]
    }}"#;
    let e = install_text(s, Path::new("/bin")).unwrap();
    let v = parse(&e.text);
    assert_registered(&v, Path::new("/bin"));
    assert_eq!(e.added, 8, "{e:?}");
    assert_eq!(e.updated, 2, "{e:?}");
    let stop = &v["hooks"]["SubagentStop"];
    assert_eq!(stop.as_array().unwrap().len(), 1, "no second group: {stop}");
    assert_eq!(stop[0]["hooks"][0]["command"], "/usr/bin/true");
    assert_eq!(
        stop[0]["hooks"][1],
        json!({"type": "command", "command": "/bin/subagent-stop", "timeout": 10, "statusMessage": "x"})
    );
    // The stale "Task" group held only our old entry: removed, not left empty.
    assert_eq!(
        v["hooks"]["PreToolUse"],
        json!([{"matcher": "Agent|Task", "hooks": [{"type": "command", "command": "/bin/subagent-start", "timeout": 10}]}])
    );

    // A reinstall from another directory replaces, never duplicates.
    let moved = install_text(&e.text, Path::new("/new/bin")).unwrap();
    assert_registered(&parse(&moved.text), Path::new("/new/bin"));
    assert_eq!((moved.added, moved.updated), (0, 10));
}

#[test]
fn merge_shares_matcher_groups_and_uninstall_leaves_them() {
    let s = r#"{"hooks": {
        "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "audit"}]},
                       {"matcher": "Agent|Task", "hooks": [{"type": "command", "command": "log-agents"}]}],
        "SessionStart": [{"hooks": [{"type": "command", "command": "welcome"}]}],
        "PostToolUseFailure": [{"matcher": "*", "hooks": []}]
    }}"#;
    let e = install_text(s, Path::new("/bin")).unwrap();
    let v = parse(&e.text);
    assert_registered(&v, Path::new("/bin"));
    let pre = v["hooks"]["PreToolUse"].as_array().unwrap();
    assert_eq!(pre.len(), 2, "joined the existing Agent|Task group");
    assert_eq!(pre[1]["hooks"][0]["command"], "log-agents");
    assert_eq!(pre[1]["hooks"][1]["command"], "/bin/subagent-start");
    // A group without a matcher matches everything: "*" joins it.
    let ss = v["hooks"]["SessionStart"].as_array().unwrap();
    assert_eq!(ss.len(), 1);
    assert_eq!(ss[0]["hooks"][1]["command"], "/bin/workflow-event");

    // Uninstall restores the original JSON, including the pre-existing empty group.
    let u = uninstall_text(&e.text, Some(Path::new("/bin"))).unwrap();
    assert_eq!(u.removed, 10);
    assert_eq!(parse(&u.text), parse(s));
    // Nothing of ours: unchanged text.
    let u2 = uninstall_text(s, None).unwrap();
    assert!(!u2.changed);
    assert_eq!(u2.text, s);
}

#[test]
fn uninstall_removes_only_ours() {
    let s = r#"{"hooks": {
        "Stop": [{"matcher": "*", "hooks": [{"type": "command", "command": "/a/workflow-event"},
                                            {"type": "command", "command": "/b/workflow-event"},
                                            {"type": "command", "command": "/a/workflow-event --verbose"}]}],
        "Notification": [{"hooks": [{"type": "command", "command": "/a/workflow-event"}]}]
    }}"#;
    // Only /a, only on the events we register, only our exact commands (no arguments).
    let u = uninstall_text(s, Some(Path::new("/a"))).unwrap();
    let v = parse(&u.text);
    assert_eq!(u.removed, 1);
    let cmds: Vec<&str> = v["hooks"]["Stop"][0]["hooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["command"].as_str().unwrap())
        .collect();
    assert_eq!(cmds, ["/b/workflow-event", "/a/workflow-event --verbose"]);
    assert_eq!(
        v["hooks"]["Notification"],
        parse(s)["hooks"]["Notification"]
    );
    // Without a bin dir: ours wherever they live.
    let u = uninstall_text(s, None).unwrap();
    assert_eq!(u.removed, 2);
    // Emptied group, array and hooks object all go.
    let only = r#"{"x": 1, "hooks": {"Stop": [{"matcher": "*", "hooks": [{"type": "command", "command": "/a/workflow-event"}]}]}}"#;
    assert_eq!(
        parse(&uninstall_text(only, None).unwrap().text),
        json!({"x": 1})
    );
}

#[test]
fn merge_refuses_unexpected_shapes() {
    for (bad, why) in [
        ("nope", "not valid JSON"),
        ("\"str\"", "not a JSON object"),
        ("{\"hooks\": null}", "\"hooks\" is null"),
        (
            "{\"hooks\": {\"Stop\": \"x\"}}",
            "\"hooks.Stop\" is a string",
        ),
        (
            "{\"hooks\": {\"Stop\": [1]}}",
            "\"hooks.Stop[0]\" is a number",
        ),
        (
            "{\"hooks\": {\"Stop\": [{\"matcher\": \"*\"}]}}",
            "has no \"hooks\" array",
        ),
        (
            "{\"hooks\": {\"Stop\": [{\"hooks\": {}}]}}",
            "\"hooks.Stop[0].hooks\" is an object",
        ),
        (
            "{\"hooks\": {\"Stop\": [{\"hooks\": [\"cmd\"]}]}}",
            "\"hooks.Stop[0].hooks[0]\" is a string",
        ),
    ] {
        let err = install_text(bad, Path::new("/bin")).unwrap_err();
        assert!(err.contains(why), "{bad}: {err}");
    }
    // Events we do not register may have any shape: not ours to judge.
    let e = install_text("{\"hooks\": {\"Custom\": 5}}", Path::new("/bin")).unwrap();
    assert_eq!(parse(&e.text)["hooks"]["Custom"], 5);
    assert!(uninstall_text("{\"hooks\": 3}", None).is_err());
}

#[test]
fn recognises_our_commands() {
    assert_eq!(
        our_command("/x/y/subagent-stop"),
        Some(("/x/y".into(), "subagent-stop"))
    );
    assert_eq!(
        our_command("'/my dir/bin/subagent-start'"),
        Some(("/my dir/bin".into(), "subagent-start"))
    );
    assert_eq!(
        our_command("\"${CLAUDE_PLUGIN_ROOT}/bin/workflow-event\""),
        Some(("${CLAUDE_PLUGIN_ROOT}/bin".into(), "workflow-event"))
    );
    assert_eq!(
        our_command("workflow-event"),
        Some((String::new(), "workflow-event"))
    );
    assert_eq!(our_command("/x/subagent-start --db /tmp/x"), None);
    assert_eq!(our_command("/x/subagent-start-wrapper"), None);
    assert_eq!(our_command("relative/subagent-start"), None);
    assert_eq!(our_command("/x/analyze"), None);
    // A bin dir with a space is quoted when written, and recognised when read back.
    let e = install_text("", Path::new("/my dir/bin")).unwrap();
    assert!(
        e.text
            .contains(r#""command": "'/my dir/bin/subagent-start'""#),
        "{}",
        e.text
    );
    let u = uninstall_text(&e.text, Some(Path::new("/my dir/bin"))).unwrap();
    assert_eq!(u.removed, 10);
}

#[test]
fn shipped_hook_files_match_the_registrations() {
    // hooks/settings-snippet.json is exactly what install writes for /home/you/.cargo/bin.
    let snippet = fs::read_to_string(repo().join("hooks/settings-snippet.json")).unwrap();
    assert_eq!(
        snippet,
        install_text("", Path::new("/home/you/.cargo/bin"))
            .unwrap()
            .text
    );
    // The plugin's hooks.json: the same ten, binaries by name (on PATH), synchronous.
    let plugin = read_json(&repo().join("hooks/hooks.json"));
    let all = entries(&plugin);
    assert_eq!(all.len(), 10);
    for r in REGISTRATIONS {
        assert!(
            all.contains(&(
                r.event.into(),
                r.matcher.into(),
                r.binary.into(),
                Some(settings::HOOK_TIMEOUT_SECS)
            )),
            "{r} missing from hooks/hooks.json"
        );
    }
    for r in REGISTRATIONS {
        assert_eq!(
            common_binary(r.event),
            r.binary,
            "tests/it/common.rs disagrees on {}",
            r.event
        );
    }
    let manifest = read_json(&repo().join(".claude-plugin/plugin.json"));
    assert_eq!(manifest["name"], "agent-telemetry");
    assert_eq!(manifest["version"], env!("CARGO_PKG_VERSION"));
    assert!(manifest["description"]
        .as_str()
        .is_some_and(|d| !d.is_empty()));
}

fn common_binary(event: &str) -> &'static str {
    super::common::binary_for_event(event)
}

#[test]
fn doctor_without_a_database_says_so() {
    let h = Home::new();
    let out = h.run(
        &bin_source().join("analyze"),
        &["doctor", "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(1), "needs attention");
    let d: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(d["database"]["exists"], false);
    assert_eq!(d["healthy"], false);
    let warnings = d["warnings"].to_string();
    assert!(warnings.contains("no database at"), "{warnings}");
    assert!(warnings.contains("registered nowhere"), "{warnings}");
    assert!(!h.db().exists(), "doctor created nothing");
    assert!(!h.db().parent().unwrap().exists());
    // AGENT_TELEMETRY_DISABLED is reported.
    let mut c = h.cmd(&bin_source().join("analyze"), &[]);
    let out = c
        .args(["doctor"])
        .env("AGENT_TELEMETRY_DISABLED", "1")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("AGENT_TELEMETRY_DISABLED is set"));
    // --init creates it (private), after which the database is fine.
    let out = h.run(
        &bin_source().join("analyze"),
        &["doctor", "--init", "--format", "json"],
    );
    let d: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(d["database"]["created"], true);
    assert_eq!(mode(&h.db()), 0o600);
    assert!(!d["warnings"].to_string().contains("no database"));
}

// ── install.sh --statusline and the /agent-dashboard command ────────────────────────────────

fn command_file(h: &Home) -> PathBuf {
    h.home().join(".claude/commands/agent-dashboard.md")
}

#[test]
fn statusline_fresh_install_is_idempotent_and_uninstalls_cleanly() {
    let h = Home::new();
    let bin_dir = h.home().join(".cargo/bin");
    let stdout = ok(&h.install(&["--statusline"]));
    assert!(stdout.contains("registered the status line"), "{stdout}");
    let analyze = bin_dir.join("analyze");
    let want = format!("{} statusline", analyze.display());
    let line = &read_json(&h.settings())["statusLine"];
    assert_eq!(
        line,
        &json!({"type": "command", "command": want, "padding": 0, "refreshInterval": 10})
    );
    // The registered command works as Claude Code runs it: through a shell, JSON on stdin.
    let mut sh = h.cmd(Path::new("sh"), &[]);
    sh.args(["-c", &format!("echo '{{\"session_id\":\"s\"}}' | {want}")]);
    let out = sh.output().unwrap();
    assert_eq!(
        ok(&out),
        "⚙ no agents running · session $0.00 · today $0.00\n"
    );
    // The command file: analyze by absolute path, our checksum line, private.
    let text = fs::read_to_string(command_file(&h)).unwrap();
    assert!(
        text.contains(&format!("!`{} summary --days 7", analyze.display())),
        "{text}"
    );
    assert!(text.contains(&format!("allowed-tools: Bash({}:*)", analyze.display())));
    assert!(text
        .lines()
        .nth(1)
        .unwrap()
        .starts_with("# installed by agent-telemetry's install.sh (sha256 "));
    assert_eq!(mode(&command_file(&h)), 0o600);

    // Twice: nothing changes.
    let (settings, command) = (
        fs::read(h.settings()).unwrap(),
        fs::read(command_file(&h)).unwrap(),
    );
    let stdout = ok(&h.install(&["--statusline"]));
    assert!(stdout.contains("status line unchanged"), "{stdout}");
    assert!(
        stdout.contains("unchanged ") && stdout.contains("agent-dashboard.md"),
        "{stdout}"
    );
    assert_eq!(fs::read(h.settings()).unwrap(), settings);
    assert_eq!(fs::read(command_file(&h)).unwrap(), command);

    // Uninstall: no status line, no command file, no kept file; the hooks are gone too.
    let stdout = ok(&h.install(&["--uninstall"]));
    assert!(stdout.contains("removed the status line"), "{stdout}");
    let after = read_json(&h.settings());
    assert!(after.get("statusLine").is_none(), "{after}");
    assert!(!command_file(&h).exists());
    assert!(!h
        .home()
        .join(".claude/settings.json.agent-telemetry.statusline.json")
        .exists());
}

#[test]
fn statusline_refuses_theirs_unless_forced_and_uninstall_restores_it() {
    let h = Home::new();
    fs::create_dir_all(h.settings().parent().unwrap()).unwrap();
    let theirs = json!({"type": "command", "command": "~/bin/my-status.sh --fancy", "padding": 2});
    let original = format!("{{\"model\": \"opus\", \"statusLine\": {theirs}}}\n");
    fs::write(h.settings(), &original).unwrap();

    let out = h.install(&["--statusline"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("already has a status line") && err.contains("--force"),
        "{err}"
    );
    assert!(err.contains("nothing was changed"), "{err}");
    // Nothing changed: settings, binaries, command file.
    assert_eq!(fs::read_to_string(h.settings()).unwrap(), original);
    assert!(!h.home().join(".cargo/bin/analyze").exists());
    assert!(!command_file(&h).exists());

    // --force replaces it; a later plain --statusline keeps ours and what was kept.
    ok(&h.install(&["--statusline", "--force"]));
    let v = read_json(&h.settings());
    assert_eq!(v["model"], "opus");
    assert!(v["statusLine"]["command"]
        .as_str()
        .unwrap()
        .ends_with("/analyze statusline"));
    ok(&h.install(&["--statusline"]));

    // A custom database is named in the command.
    let db = h.dir.path().join("elsewhere/t.db");
    ok(&h.install_env(&["--statusline"], &[("AGENT_TELEMETRY_DB", &db)]));
    let cmd = read_json(&h.settings())["statusLine"]["command"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        cmd.ends_with(&format!("statusline --db {}", db.display())),
        "{cmd}"
    );

    // Uninstall puts theirs back exactly (the same value; the hooks key is removed too).
    ok(&h.install(&["--uninstall"]));
    let v = read_json(&h.settings());
    assert_eq!(v, json!({"model": "opus", "statusLine": theirs}));
}

#[test]
fn statusline_uninstall_leaves_a_status_line_that_is_no_longer_ours() {
    let h = Home::new();
    ok(&h.install(&["--statusline"]));
    let mut v = read_json(&h.settings());
    v["statusLine"] = json!({"type": "command", "command": "/usr/local/bin/other"});
    fs::write(h.settings(), serde_json::to_string(&v).unwrap()).unwrap();
    // And an edited command file stays.
    let mut text = fs::read_to_string(command_file(&h)).unwrap();
    text.push_str("\nAlso list the slowest agent.\n");
    fs::write(command_file(&h), &text).unwrap();
    let stdout = ok(&h.install(&["--uninstall"]));
    assert!(stdout.contains("status line unchanged"), "{stdout}");
    assert!(
        stdout.contains("kept ") && stdout.contains("edited"),
        "{stdout}"
    );
    assert_eq!(
        read_json(&h.settings())["statusLine"]["command"],
        "/usr/local/bin/other"
    );
    assert_eq!(fs::read_to_string(command_file(&h)).unwrap(), text);
    // A reinstall does not overwrite the edited file either.
    let out = h.install(&[]);
    ok(&out);
    assert!(String::from_utf8_lossy(&out.stderr).contains("left alone"));
    assert_eq!(fs::read_to_string(command_file(&h)).unwrap(), text);
}

#[test]
fn the_plugin_ships_the_dashboard_command() {
    let text = fs::read_to_string(repo().join("commands/agent-dashboard.md")).unwrap();
    assert!(text.starts_with("---\ndescription: "));
    assert!(text.contains("allowed-tools: Bash(analyze:*)"));
    // Each report runs by name (the plugin has no binaries: they are on PATH) and never fails
    // the command: Claude Code aborts a command whose !`…` exits non-zero.
    for report in ["summary --days 7", "top --days 7", "alerts"] {
        assert!(
            text.contains(&format!("!`analyze {report} 2>&1 || true`")),
            "{report}"
        );
    }
}
