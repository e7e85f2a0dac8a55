//! `GET /api/v1/<subcommand>?…`: an `analyze` report over HTTP. The query becomes the same
//! command line (`?agent=x&days=7` → `--agent=x --days=7`, `?arg=V` → the positional `V`), which
//! runs through [`crate::analyze::cli::run_reports`] with `--format json`, rendered into a buffer: the
//! answer is byte for byte what `analyze <subcommand> --format json` prints.

use super::{guard, json_response, json_text, ApiError, State};
use crate::analyze::cli::{self, ReportsCli};
use crate::render;
use axum::extract::{Path as UrlPath, RawQuery};
use axum::http::StatusCode;
use axum::response::Response;
use clap::{CommandFactory, Parser};
use serde_json::json;
use std::ffi::OsString;
use std::path::Path;

/// The reports served: every `analyze` subcommand that only reads (not `doctor`, which can
/// create a database and reads files outside it; not `import`, `rebuild`, `hooks`).
pub(super) const SUBCOMMANDS: &[&str] = &[
    "summary",
    "agent",
    "top",
    "workflows",
    "overhead",
    "trends",
    "tools",
    "types",
    "timeline",
    "tree",
    "active",
    "errors",
    "sessions",
    "alerts",
    "metrics",
];

/// The query parameter carrying positional arguments (repeatable, in order).
pub(super) const POSITIONAL: &str = "arg";

/// Parameters the server decides, never the request: the database, the output format, and
/// the token (checked by the guard).
const RESERVED: &[&str] = &["db", "format", "help", "version"];

/// The command line a request stands for, or why it is a bad request.
pub(crate) fn argv(
    db: &Path,
    sub: &str,
    params: &[(String, String)],
) -> Result<Vec<OsString>, String> {
    if !SUBCOMMANDS.contains(&sub) {
        return Err(format!(
            "no report '{sub}': one of {}",
            SUBCOMMANDS.join(", ")
        ));
    }
    let root = ReportsCli::command();
    let cmd = root
        .find_subcommand(sub)
        .ok_or_else(|| format!("no report '{sub}'"))?;
    let mut args: Vec<OsString> = vec!["analyze".into(), sub.into()];
    let mut positionals: Vec<OsString> = Vec::new();
    for (key, value) in params {
        if key == "token" {
            continue;
        }
        if key == POSITIONAL {
            if cmd.get_positionals().next().is_none() {
                return Err(format!(
                    "{sub} takes no positional argument ('{POSITIONAL}')"
                ));
            }
            positionals.push(value.into());
            continue;
        }
        if RESERVED.contains(&key.as_str()) {
            return Err(format!("parameter '{key}' is not accepted here"));
        }
        let arg = cmd
            .get_arguments()
            .chain(root.get_arguments())
            .find(|a| a.get_long() == Some(key.as_str()))
            .ok_or_else(|| format!("unknown parameter '{key}' for {sub}"))?;
        if arg.get_action().takes_values() {
            args.push(format!("--{key}={value}").into());
        } else {
            match value.as_str() {
                "" | "true" | "1" => args.push(format!("--{key}").into()),
                "false" | "0" => {}
                v => {
                    return Err(format!(
                        "parameter '{key}' is a switch: true or false, not '{v}'"
                    ))
                }
            }
        }
    }
    if sub == "alerts" {
        // The page and the API show; the server's background task delivers (src/serve/alerts.rs).
        args.push("--no-deliver".into());
    }
    args.push("--format=json".into());
    let mut db_arg = OsString::from("--db=");
    db_arg.push(db.as_os_str());
    args.push(db_arg);
    if !positionals.is_empty() {
        args.push("--".into());
        args.extend(positionals);
    }
    Ok(args)
}

/// The outcome of one report, as the command line would end.
pub(crate) enum Outcome {
    /// Exit 0: the JSON printed.
    Found(String),
    /// Exit 1: nothing matched (the command line prints nothing on stdout).
    Nothing,
    /// Exit 2.
    Failed(ApiError),
}

/// Runs the report for `params` on this (blocking) thread.
pub(crate) fn report(db: &Path, sub: &str, params: &[(String, String)]) -> Outcome {
    let argv = match argv(db, sub, params) {
        Ok(a) => a,
        Err(msg) => return Outcome::Failed(ApiError::bad_request(msg)),
    };
    let parsed = match ReportsCli::try_parse_from(argv) {
        Ok(c) => c,
        Err(e) => {
            let msg = e.render().to_string();
            let first = msg
                .lines()
                .next()
                .unwrap_or("")
                .trim_start_matches("error: ");
            return Outcome::Failed(ApiError::bad_request(first));
        }
    };
    match render::capture(|| cli::run_reports(parsed)) {
        (Ok(true), text) => Outcome::Found(text),
        (Ok(false), _) => Outcome::Nothing,
        // `?fail-on-alert=true`: the report was printed; the exit code has no HTTP meaning.
        (Err(crate::error::Error::AlertsFiring(_)), text) => Outcome::Found(text),
        (Err(e), _) => Outcome::Failed(ApiError::from_error(&e)),
    }
}

/// The handler.
pub(crate) async fn handler(
    axum::extract::State(state): axum::extract::State<State>,
    UrlPath(sub): UrlPath<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params: Vec<(String, String)> = guard::url_pairs(query.as_deref().unwrap_or("")).collect();
    let sub2 = sub.clone();
    match super::blocking(&state, move |db| report(db, &sub2, &params)).await? {
        Outcome::Found(text) => Ok(json_text(StatusCode::OK, text)),
        Outcome::Nothing => Ok(json_response(
            StatusCode::NOT_FOUND,
            &json!({
                "schema_version": render::JSON_SCHEMA_VERSION,
                "command": sub,
                "nothing_found": true,
                "error": "nothing matches (the command line exits 1 and prints no JSON)",
            }),
        )),
        Outcome::Failed(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn query_becomes_the_command_line() {
        let a = argv(
            Path::new("/d.db"),
            "agent",
            &p(&[("arg", "-x"), ("days", "7"), ("agent", "a"), ("agent", "b")]),
        )
        .unwrap();
        let a: Vec<_> = a.iter().map(|s| s.to_string_lossy().into_owned()).collect();
        assert_eq!(
            a,
            [
                "analyze",
                "agent",
                "--days=7",
                "--agent=a",
                "--agent=b",
                "--format=json",
                "--db=/d.db",
                "--",
                "-x"
            ]
        );
        let s = argv(
            Path::new("/d.db"),
            "summary",
            &p(&[("reverse", "true"), ("sort", "cost")]),
        )
        .unwrap();
        assert!(
            s.contains(&OsString::from("--reverse")) && s.contains(&OsString::from("--sort=cost"))
        );
        assert!(argv(Path::new("/d.db"), "summary", &p(&[("db", "/etc/x")])).is_err());
        assert!(argv(Path::new("/d.db"), "summary", &p(&[("format", "csv")])).is_err());
        assert!(argv(Path::new("/d.db"), "summary", &p(&[("nope", "1")])).is_err());
        assert!(argv(Path::new("/d.db"), "summary", &p(&[("arg", "x")])).is_err());
        assert!(argv(Path::new("/d.db"), "summary", &p(&[("reverse", "maybe")])).is_err());
        assert!(argv(Path::new("/d.db"), "rebuild", &[]).is_err());
        assert!(argv(Path::new("/d.db"), "doctor", &[]).is_err());
        assert!(argv(Path::new("/d.db"), "import", &[]).is_err());
    }

    #[test]
    fn every_served_report_is_a_subcommand() {
        let root = ReportsCli::command();
        for s in SUBCOMMANDS {
            assert!(root.find_subcommand(s).is_some(), "{s}");
        }
    }
}
