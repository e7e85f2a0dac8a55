#!/usr/bin/env bash
# Installs agent-telemetry: builds the binaries, copies them to ~/.cargo/bin (or PREFIX/bin),
# registers the hooks in Claude Code's settings, creates the database. Run it again at any
# time: it is idempotent. See docs/install.md.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: ./install.sh [options]

Builds agent-telemetry (cargo build --release --locked), installs subagent-start,
subagent-stop, workflow-event, analyze and query-best-agent, registers the hooks in
Claude Code's user settings ($CLAUDE_CONFIG_DIR/settings.json or ~/.claude/settings.json),
installs the /agent-dashboard command ($CLAUDE_CONFIG_DIR/commands or ~/.claude/commands)
and creates the database. Safe to run again.

Options:
  --prefix DIR    install the binaries into DIR/bin (default: ${CARGO_HOME:-~/.cargo}/bin)
  --project DIR   register the hooks in DIR/.claude/settings.json instead of the user settings
  --no-build      do not build; use the binaries already built (target/<host>/release or target/release)
  --no-hooks      install the binaries and the database only (when you use the Claude Code
                  plugin in hooks/hooks.json instead of settings.json hooks); with
                  --uninstall, leave the settings file alone
  --statusline    also make `analyze statusline` Claude Code's status line (user settings);
                  refuses to replace a status line you already have unless --force
  --force         with --statusline: replace your status line (it is kept, and
                  --uninstall puts it back)
  --import        afterwards, import past runs from Claude Code transcripts (analyze import)
  --uninstall     remove the hooks, the status line and the /agent-dashboard command this
                  script added (an edited command file stays) and the binaries from the
                  prefix; the database stays
  --purge         with --uninstall: delete the database (and its data directory) too
  --dry-run       show the settings change and the copy commands; change nothing
  -h, --help      show this help

Environment:
  CLAUDE_CONFIG_DIR           Claude Code's configuration directory (default ~/.claude)
  AGENT_TELEMETRY_DB          database file (default ~/.local/share/agent-telemetry/telemetry.db)
  AGENT_TELEMETRY_BIN_SOURCE  take the five binaries from this directory instead of building

Exit status: 0 done, 1 failed (nothing is left half-registered), 2 bad arguments.
EOF
}

BINARIES=(subagent-start subagent-stop workflow-event analyze query-best-agent)

say() { printf '%s\n' "$*"; }
warn() { printf 'install.sh: warning: %s\n' "$*" >&2; }
die() { printf 'install.sh: error: %s\n' "$*" >&2; exit 1; }
usage_error() { printf 'install.sh: %s (see --help)\n' "$*" >&2; exit 2; }

prefix=""
project=""
build=1
hooks=1
import=0
uninstall=0
purge=0
dry_run=0
statusline=0
force=0

while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) [ $# -ge 2 ] || usage_error "--prefix needs a directory"; prefix="$2"; shift 2 ;;
        --prefix=*) prefix="${1#*=}"; shift ;;
        --project) [ $# -ge 2 ] || usage_error "--project needs a directory"; project="$2"; shift 2 ;;
        --project=*) project="${1#*=}"; shift ;;
        --no-build) build=0; shift ;;
        --no-hooks) hooks=0; shift ;;
        --import) import=1; shift ;;
        --statusline) statusline=1; shift ;;
        --force) force=1; shift ;;
        --uninstall) uninstall=1; shift ;;
        --purge) purge=1; shift ;;
        --dry-run) dry_run=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage_error "unknown option: $1" ;;
    esac
done
if [ "$purge" = 1 ] && [ "$uninstall" = 0 ]; then
    usage_error "--purge only goes with --uninstall"
fi
if [ "$force" = 1 ] && [ "$statusline" = 0 ]; then
    usage_error "--force only goes with --statusline"
fi

[ -n "${HOME:-}" ] || die "HOME is not set"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

abs_dir() { # an existing directory, made absolute
    (cd "$1" 2>/dev/null && pwd) || return 1
}

if [ -n "$prefix" ]; then
    case "$prefix" in /*) ;; *) prefix="$PWD/$prefix" ;; esac
    bindir="${prefix%/}/bin"
else
    bindir="${CARGO_HOME:-$HOME/.cargo}/bin"
fi

hook_target=()
if [ -n "$project" ]; then
    project_abs="$(abs_dir "$project")" || die "--project $project: no such directory"
    hook_target=(--project "$project_abs")
    settings_file="$project_abs/.claude/settings.json"
else
    settings_file="${CLAUDE_CONFIG_DIR:-$HOME/.claude}/settings.json"
fi

# Mirrors paths::db_path: $AGENT_TELEMETRY_DB, else $XDG_DATA_HOME or ~/.local/share.
db_path="${AGENT_TELEMETRY_DB:-${XDG_DATA_HOME:-$HOME/.local/share}/agent-telemetry/telemetry.db}"

dry() { [ "$dry_run" = 1 ]; }

# The status line names the database only when it is not the one analyze finds by default.
statusline_db=()
[ "$db_path" = "$HOME/.local/share/agent-telemetry/telemetry.db" ] || statusline_db=(--db "$db_path")
statusline_flags=()
[ "$force" = 1 ] && statusline_flags+=(--force)
dry && statusline_flags+=(--dry-run)

# ── The /agent-dashboard command ─────────────────────────────────────────────────────────────
# commands/agent-dashboard.md (the plugin's copy) with analyze by absolute path, plus a YAML
# comment holding the checksum of the rest: a file whose checksum still holds is ours and
# unchanged, so it may be replaced or removed; an edited one is left alone.
claude_home="${CLAUDE_CONFIG_DIR:-$HOME/.claude}"
claude_home="${claude_home%%,*}"
command_dest="$claude_home/commands/agent-dashboard.md"
command_mark="# installed by agent-telemetry's install.sh"
command_text() { # the command as installed for $bindir
    local body sum
    body="$(cat "$repo/commands/agent-dashboard.md")"
    body="${body//"!\`analyze "/"!\`$bindir/analyze "}"
    body="${body//"Bash(analyze:"/"Bash($bindir/analyze:"}"
    sum="$(printf '%s\n' "$body" | sha256sum | cut -d' ' -f1)"
    printf '%s\n' "$body" | awk -v mark="$command_mark (sha256 $sum; ./install.sh --uninstall removes this file unless it was edited)" \
        'NR == 1 { print; print mark; next } { print }'
}
command_is_ours() { # the file at $command_dest carries our mark and is unchanged since
    local want
    [ -f "$command_dest" ] || return 1
    want="$(sed -n "2s/^$command_mark (sha256 \([0-9a-f]*\);.*/\1/p" "$command_dest")"
    [ -n "$want" ] && [ "$(sed '2d' "$command_dest" | sha256sum | cut -d' ' -f1)" = "$want" ]
}

# ── Uninstall ────────────────────────────────────────────────────────────────────────────────
if [ "$uninstall" = 1 ]; then
    analyze=""
    for cand in "$bindir/analyze" "${AGENT_TELEMETRY_BIN_SOURCE:-}/analyze" "${CARGO_TARGET_DIR:-$repo/target}/release/analyze"; do
        if [ -x "$cand" ]; then analyze="$cand"; break; fi
    done
    if [ "$hooks" = 1 ]; then
        if [ -z "$analyze" ]; then
            die "no analyze binary in $bindir (or target/release) to remove the hooks with; build first (cargo build --release) or remove the entries running $bindir/{subagent-start,subagent-stop,workflow-event} from $settings_file by hand"
        fi
        dry_flag=()
        dry && dry_flag=(--dry-run)
        "$analyze" hooks uninstall --bin-dir "$bindir" ${hook_target[@]+"${hook_target[@]}"} ${dry_flag[@]+"${dry_flag[@]}"} \
            || die "could not remove the hooks from $settings_file (see above); nothing else was changed"
    fi
    if [ -n "$analyze" ] && "$analyze" hooks statusline --help >/dev/null 2>&1; then
        dry_flag=()
        dry && dry_flag=(--dry-run)
        "$analyze" hooks statusline uninstall ${dry_flag[@]+"${dry_flag[@]}"} \
            || warn "could not remove the status line (see above)"
    fi
    if [ -e "$command_dest" ]; then
        if ! command_is_ours; then
            say "kept $command_dest (not installed by this script, or edited since)"
        elif dry; then say "would remove $command_dest"
        else rm -f "$command_dest"; say "removed $command_dest"
        fi
    fi
    for b in "${BINARIES[@]}"; do
        if [ -e "$bindir/$b" ]; then
            if dry; then say "would remove $bindir/$b"; else rm -f "$bindir/$b"; say "removed $bindir/$b"; fi
        fi
    done
    if [ "$purge" = 1 ]; then
        data_dir="$(dirname "$db_path")"
        case "$data_dir/" in
            "$HOME"/*) ;;
            *) die "--purge: $data_dir is outside HOME; remove it yourself" ;;
        esac
        if [ "$(basename "$data_dir")" = agent-telemetry ]; then
            targets=("$data_dir")
        else # a custom AGENT_TELEMETRY_DB: only its own files
            targets=("$db_path" "$db_path-wal" "$db_path-shm" "$db_path.spool.jsonl" "$data_dir/hook.log" "$data_dir/hook.log.1")
        fi
        for t in "${targets[@]}"; do
            if [ -e "$t" ]; then
                if dry; then say "would delete $t"; else rm -rf -- "$t"; say "deleted $t"; fi
            fi
        done
    else
        [ -e "$db_path" ] && say "kept the database $db_path (--purge deletes it)"
    fi
    dry && say "dry run: nothing was changed"
    exit 0
fi

# ── Build (or find) the binaries ─────────────────────────────────────────────────────────────
if [ -n "${AGENT_TELEMETRY_BIN_SOURCE:-}" ]; then
    src="$(abs_dir "$AGENT_TELEMETRY_BIN_SOURCE")" || die "AGENT_TELEMETRY_BIN_SOURCE=$AGENT_TELEMETRY_BIN_SOURCE: no such directory"
else
    target_dir="${CARGO_TARGET_DIR:-$repo/target}"
    case "$target_dir" in /*) ;; *) target_dir="$repo/$target_dir" ;; esac
    # Hooks run on every Claude Code event: link them statically on glibc Linux, which spares
    # the dynamic loader a third of a hook's start-up (docs/performance.md). Needs an explicit
    # --target so that build scripts and proc-macros stay dynamic.
    host="$(rustc -vV 2>/dev/null | sed -n 's/^host: //p' || true)"
    static_target=""
    case "$host" in *-linux-gnu) static_target="$host" ;; esac
    src="$target_dir/release"
    if [ -n "$static_target" ] && { [ "$build" = 1 ] || [ -x "$target_dir/$static_target/release/subagent-start" ]; }; then
        src="$target_dir/$static_target/release"
    fi
    if [ "$build" = 1 ]; then
        cargo="$(command -v cargo || true)"
        [ -z "$cargo" ] && [ -x "$HOME/.cargo/bin/cargo" ] && cargo="$HOME/.cargo/bin/cargo"
        if [ -z "$cargo" ]; then
            die "cargo not found. Install Rust with rustup (https://rustup.rs):
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh
then open a new shell (or: . \"\$HOME/.cargo/env\") and run ./install.sh again."
        fi
        if [ -n "$static_target" ]; then
            build_cmd=(env RUSTFLAGS="-C target-feature=+crt-static" "$cargo" build --release --locked --target "$static_target")
        else
            build_cmd=("$cargo" build --release --locked)
        fi
        if dry; then
            say "would run: (cd $repo && ${build_cmd[*]})"
        else
            say "building: ${build_cmd[*]}"
            if ! (cd "$repo" && "${build_cmd[@]}"); then
                [ -n "$static_target" ] || die "cargo build failed (see above)"
                say "static build failed; building dynamically linked binaries instead"
                src="$target_dir/release"
                (cd "$repo" && "$cargo" build --release --locked) || die "cargo build failed (see above)"
            fi
        fi
    fi
fi
missing=()
for b in "${BINARIES[@]}"; do
    [ -x "$src/$b" ] || missing+=("$b")
done
if [ ${#missing[@]} -gt 0 ]; then
    if dry && [ "$build" = 1 ] && [ -z "${AGENT_TELEMETRY_BIN_SOURCE:-}" ]; then
        say "dry run: not built yet, so the settings change cannot be shown; it registers the 10 hooks listed in docs/install.md in $settings_file"
        for b in "${BINARIES[@]}"; do say "would copy $src/$b -> $bindir/$b"; done
        say "would create the database $db_path"
        exit 0
    fi
    die "missing in $src: ${missing[*]} (build with: cargo build --release --locked)"
fi

# ── Check the settings file before touching anything ────────────────────────────────────────
if [ "$hooks" = 1 ]; then
    if dry; then
        "$src/analyze" hooks install --bin-dir "$bindir" ${hook_target[@]+"${hook_target[@]}"} --dry-run \
            || die "$settings_file cannot be changed (see above)"
    else
        if ! preflight="$("$src/analyze" hooks install --bin-dir "$bindir" ${hook_target[@]+"${hook_target[@]}"} --dry-run 2>&1 >/dev/null)"; then
            printf '%s\n' "$preflight" >&2
            die "not installing: $settings_file cannot be changed safely; nothing was changed"
        fi
    fi
fi
if [ "$statusline" = 1 ] && ! dry; then
    if ! preflight="$("$src/analyze" hooks statusline install --bin-dir "$bindir" ${statusline_db[@]+"${statusline_db[@]}"} ${statusline_flags[@]+"${statusline_flags[@]}"} --dry-run 2>&1 >/dev/null)"; then
        printf '%s\n' "$preflight" >&2
        die "not installing: the status line cannot be registered (see above); nothing was changed"
    fi
fi

# ── Copy the binaries ────────────────────────────────────────────────────────────────────────
if dry; then
    for b in "${BINARIES[@]}"; do say "would copy $src/$b -> $bindir/$b"; done
else
    mkdir -p "$bindir"
    for b in "${BINARIES[@]}"; do
        if [ -e "$bindir/$b" ] && cmp -s "$src/$b" "$bindir/$b"; then
            say "unchanged $bindir/$b"
            continue
        fi
        # Copy then rename: a hook running the old binary keeps its inode ("text file busy").
        tmp="$bindir/.$b.install.$$"
        cp "$src/$b" "$tmp"
        chmod 755 "$tmp"
        mv -f "$tmp" "$bindir/$b"
        say "installed $bindir/$b"
    done
fi

# ── Register the hooks ───────────────────────────────────────────────────────────────────────
if [ "$hooks" = 1 ] && ! dry; then
    "$bindir/analyze" hooks install --bin-dir "$bindir" ${hook_target[@]+"${hook_target[@]}"} \
        || die "could not register the hooks in $settings_file (see above)"
elif [ "$hooks" = 0 ]; then
    say "hooks not registered (--no-hooks): enable the agent-telemetry Claude Code plugin (docs/install.md)"
fi
if [ "$statusline" = 1 ]; then
    if dry; then
        "$src/analyze" hooks statusline install --bin-dir "$bindir" ${statusline_db[@]+"${statusline_db[@]}"} ${statusline_flags[@]+"${statusline_flags[@]}"} \
            || die "the status line cannot be registered (see above)"
    else
        "$bindir/analyze" hooks statusline install --bin-dir "$bindir" ${statusline_db[@]+"${statusline_db[@]}"} ${statusline_flags[@]+"${statusline_flags[@]}"} \
            || die "could not register the status line (see above)"
    fi
fi
if [ -e "$command_dest" ] && ! command_is_ours; then
    warn "$command_dest exists and is not ours (or was edited): left alone; /agent-dashboard is that file"
elif [ -e "$command_dest" ] && [ "$(command_text)" = "$(cat "$command_dest")" ]; then
    say "unchanged $command_dest"
elif dry; then
    say "would install the /agent-dashboard command: $command_dest"
else
    mkdir -p "$claude_home/commands"
    tmp="$claude_home/commands/.agent-dashboard.md.install.$$"
    (umask 077 && command_text > "$tmp")
    mv -f "$tmp" "$command_dest"
    say "installed the /agent-dashboard command: $command_dest"
fi

# ── Create the database ──────────────────────────────────────────────────────────────────────
if dry; then
    if [ -e "$db_path" ]; then say "database exists: $db_path"; else say "would create the database $db_path"; fi
    say "dry run: nothing was changed"
    exit 0
fi
existed=0
[ -s "$db_path" ] && existed=1
rc=0
"$bindir/analyze" doctor --init --format json >/dev/null || rc=$?
[ "$rc" -le 1 ] || die "could not create the database $db_path (see above)"
if [ "$existed" = 1 ]; then say "database: $db_path (kept)"; else say "created the database $db_path"; fi

# ── Import past runs ─────────────────────────────────────────────────────────────────────────
# Claude Code deletes transcripts after 30 days: offer to turn existing history into runs now.
claude_dir="${CLAUDE_CONFIG_DIR:-$HOME/.claude}"
claude_dir="${claude_dir%%,*}"
if [ "$import" = 0 ] && ! dry && [ -d "$claude_dir/projects" ] \
    && [ -n "$(find "$claude_dir/projects" -maxdepth 2 -name '*.jsonl' -print -quit 2>/dev/null)" ]; then
    if [ -t 0 ] && [ -t 1 ]; then
        printf 'Found Claude Code history in %s/projects. Import it now (analyze import)? [y/N] ' "$claude_dir"
        read -r answer || answer=""
        case "$answer" in [yY]*) import=1 ;; esac
    else
        say "found Claude Code history in $claude_dir/projects: run 'analyze import' (or ./install.sh --import) to keep it as agent runs before Claude Code deletes it (after 30 days)"
    fi
fi
if [ "$import" = 1 ]; then
    if "$bindir/analyze" import --help >/dev/null 2>&1; then
        say "importing past runs from Claude Code transcripts (analyze import)"
        rc=0
        "$bindir/analyze" import || rc=$? # 1 = nothing to import
        [ "$rc" -le 1 ] || warn "analyze import failed (see above); the installation itself is complete"
    else
        warn "this build has no 'analyze import'; skipped --import"
    fi
fi

case ":$PATH:" in
    *":$bindir:"*) ;;
    *) say "note: $bindir is not on your PATH; add it to run analyze and query-best-agent by name" ;;
esac

# ── What is recorded so far ──────────────────────────────────────────────────────────────────
rc=0
summary="$("$bindir/analyze" summary 2>&1)" || rc=$?
case "$rc" in
    0) say ""; say "$summary" ;;
    1) say "no agent runs yet — use Claude Code as usual, then run: analyze" ;;
    *) printf '%s\n' "$summary" >&2; die "installed, but 'analyze summary' failed (run 'analyze doctor')" ;;
esac
say "done. 'analyze doctor' shows where everything is; docs/install.md explains how to undo this."
