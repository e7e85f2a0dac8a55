//! Rendering typed reports as tables (people), JSON (machines, stable shape with a schema
//! version) or CSV (one header row). No SQL here.

use comfy_table::{presets, Cell, CellAlignment, ContentArrangement, Table};
use serde_json::{json, Value};
use std::io::{IsTerminal, Write};

/// The JSON output's schema version; bumped on any incompatible change (field meanings: docs/metrics.md).
pub const JSON_SCHEMA_VERSION: u32 = 1;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum Format {
    #[default]
    Table,
    Json,
    Csv,
}

/// A table for people and CSV for machines: headers and rows of already-formatted cells.
#[derive(Debug, Clone, Default)]
pub struct Grid {
    pub title: Option<String>,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Columns to right-align (numbers).
    pub numeric: Vec<usize>,
    /// A last row set apart (totals).
    pub footer: Option<Vec<String>>,
}

impl Grid {
    pub fn new(headers: &[&str]) -> Grid {
        Grid {
            headers: headers.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }
    pub fn titled(mut self, t: impl Into<String>) -> Grid {
        self.title = Some(t.into());
        self
    }
    pub fn numeric(mut self, cols: &[usize]) -> Grid {
        self.numeric = cols.to_vec();
        self
    }
}

/// A report: what a subcommand computed, ready to render in any format.
pub trait Report {
    /// The subcommand name, written into the JSON envelope.
    fn command(&self) -> &'static str;
    /// The JSON body (merged into the envelope next to `schema_version` and `command`).
    fn json(&self) -> Value;
    /// Tables for people; the first one is also the CSV.
    fn grids(&self) -> Vec<Grid>;
    /// Lines printed after the tables (recommendations, notes).
    fn notes(&self) -> Vec<String> {
        Vec::new()
    }
}

thread_local! {
    /// Set while [`capture`] runs on this thread: [`print`] appends here instead of stdout.
    static CAPTURED: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Runs `f` with everything [`print`] renders on this thread collected into a string instead of
/// written to stdout: `analyze serve` answers `/api/v1/<subcommand>` with the very text the
/// command line prints (one implementation, two doors).
pub fn capture<R>(f: impl FnOnce() -> R) -> (R, String) {
    let outer = CAPTURED.with(|c| c.borrow_mut().replace(String::new()));
    let r = f();
    let text = CAPTURED.with(|c| std::mem::replace(&mut *c.borrow_mut(), outer));
    (r, text.unwrap_or_default())
}

/// Renders `report` in `format` to stdout (or into [`capture`]'s string). A closed pipe is not
/// an error.
pub fn print(report: &dyn Report, format: Format) -> std::io::Result<()> {
    let captured = CAPTURED.with(|c| {
        let mut c = c.borrow_mut();
        let sink = c.as_mut()?;
        sink.push_str(&render(report, format, None));
        Some(())
    });
    if captured.is_some() {
        return Ok(());
    }
    let text = render(report, format, terminal_width());
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Renders to a string (tests use this with a fixed width).
pub fn render(report: &dyn Report, format: Format, width: Option<u16>) -> String {
    match format {
        Format::Json => {
            let mut v = json!({"schema_version": JSON_SCHEMA_VERSION, "command": report.command()});
            if let (Value::Object(env), Value::Object(body)) = (&mut v, report.json()) {
                env.extend(body);
            }
            round_floats(&mut v);
            // Keys sorted, at every level: the JSON contract (serde_json's `preserve_order`,
            // on for settings files, would otherwise print struct fields in declaration order).
            v.sort_all_objects();
            let mut s = serde_json::to_string_pretty(&v).expect("JSON values serialise");
            s.push('\n');
            s
        }
        Format::Csv => report.grids().first().map(csv).unwrap_or_default(),
        Format::Table => {
            let mut s = String::new();
            for (i, g) in report.grids().iter().enumerate() {
                if i > 0 {
                    s.push('\n');
                }
                if let Some(t) = &g.title {
                    s.push_str(t);
                    s.push('\n');
                }
                if g.rows.is_empty() && g.footer.is_none() {
                    s.push_str("  (none)\n");
                    continue;
                }
                s.push_str(&table(g, width));
                s.push('\n');
            }
            for n in report.notes() {
                s.push_str(&n);
                s.push('\n');
            }
            s
        }
    }
}

/// Rounds every float to 12 significant digits: sums of prices carry binary noise
/// (0.027000000000000003) that depends on summation order, not on the data.
pub fn round_floats(v: &mut Value) {
    match v {
        Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64().filter(|f| f.is_finite() && *f != 0.0) {
                let digits = 11 - f.abs().log10().floor() as i32;
                let scale = 10f64.powi(digits.clamp(-300, 300));
                let r = (f * scale).round() / scale;
                if let Some(m) = serde_json::Number::from_f64(r) {
                    *n = m;
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(round_floats),
        Value::Object(o) => o.values_mut().for_each(round_floats),
        _ => {}
    }
}

fn table(g: &Grid, width: Option<u16>) -> String {
    let mut t = Table::new();
    t.load_preset(presets::UTF8_FULL_CONDENSED);
    t.set_content_arrangement(ContentArrangement::Dynamic);
    if let Some(w) = width {
        t.set_width(w);
    }
    t.set_header(g.headers.iter().map(Cell::new));
    let cells = |row: &Vec<String>| {
        row.iter()
            .enumerate()
            .map(|(i, c)| {
                let cell = Cell::new(c);
                if g.numeric.contains(&i) {
                    cell.set_alignment(CellAlignment::Right)
                } else {
                    cell
                }
            })
            .collect::<Vec<_>>()
    };
    for r in &g.rows {
        t.add_row(cells(r));
    }
    if let Some(f) = &g.footer {
        t.add_row(cells(f));
    }
    t.to_string()
}

fn csv(g: &Grid) -> String {
    let mut s = String::new();
    let line = |cells: &[String]| {
        cells
            .iter()
            .map(|c| csv_field(c))
            .collect::<Vec<_>>()
            .join(",")
    };
    s.push_str(&line(&g.headers));
    s.push('\n');
    for r in &g.rows {
        s.push_str(&line(r));
        s.push('\n');
    }
    s
}

fn csv_field(c: &str) -> String {
    if c.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", c.replace('"', "\"\""))
    } else {
        c.to_string()
    }
}

/// The terminal width when stdout is a terminal (`COLUMNS` wins), else none (no wrapping).
fn terminal_width() -> Option<u16> {
    if let Some(c) = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()) {
        return Some(c);
    }
    if std::io::stdout().is_terminal() {
        comfy_table::Table::new().width()
    } else {
        None
    }
}

// ── cell formatting shared by the reports ─────────────────────────────────────────────────

/// `0.8333` → `83.3%`; `None` → `-`.
pub fn pct(v: Option<f64>) -> String {
    v.map(|x| format!("{:.1}%", x * 100.0))
        .unwrap_or_else(|| "-".into())
}

/// A byte count for people: `512 B`, `3.4 KB`, `12.0 MB`, `1.3 GB` (decimal units, as `ls -h --si`).
pub fn bytes(n: i64) -> String {
    let f = n as f64;
    match n.unsigned_abs() {
        0..1_000 => format!("{n} B"),
        1_000..1_000_000 => format!("{:.1} KB", f / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1} MB", f / 1e6),
        _ => format!("{:.1} GB", f / 1e9),
    }
}

/// Milliseconds as a short human duration: `850ms`, `12.3s`, `4m 05s`, `2h 03m`.
pub fn dur(ms: Option<f64>) -> String {
    let Some(ms) = ms else { return "-".into() };
    if ms < 1000.0 {
        format!("{ms:.0}ms")
    } else if ms < 60_000.0 {
        format!("{:.1}s", ms / 1000.0)
    } else if ms < 3_600_000.0 {
        let s = (ms / 1000.0).round() as i64;
        format!("{}m {:02}s", s / 60, s % 60)
    } else {
        let m = (ms / 60_000.0).round() as i64;
        format!("{}h {:02}m", m / 60, m % 60)
    }
}

/// USD with precision that suits small agent costs: `$0.0284`, `$12.35`; unknown → `?`.
pub fn usd(v: Option<f64>) -> String {
    match v {
        None => "?".into(),
        Some(x) if x.abs() < 10.0 => format!("${x:.4}"),
        Some(x) => format!("${x:.2}"),
    }
}

/// Integers with thousands separators: `1234567` → `1,234,567`.
pub fn int(n: i64) -> String {
    let s = n.abs().to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// A float with `d` decimals, or `-`.
pub fn num(v: Option<f64>, d: usize) -> String {
    v.map(|x| format!("{x:.d$}")).unwrap_or_else(|| "-".into())
}

/// A metric's value: whole numbers with thousands separators (`1,204`), others to two decimals
/// without trailing zeros (`87.25`, `9.1`); `None` → `-`.
pub fn value(v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(x) if x.fract() == 0.0 && x.abs() < 1e15 => int(x as i64),
        Some(x) => {
            let s = format!("{x:.2}");
            let s = s.trim_end_matches('0').trim_end_matches('.');
            if s == "-0" {
                "0".into()
            } else {
                s.to_string()
            }
        }
    }
}

/// A signed change of a rate in percentage points: `0.25` → `+25.0 pp`; `None` → `-`.
pub fn signed_pp(v: Option<f64>) -> String {
    v.map(|x| format!("{:+.1} pp", x * 100.0))
        .unwrap_or_else(|| "-".into())
}

/// A signed relative change: `0.5` → `+50%`; `None` → `-`.
pub fn signed_pct(v: Option<f64>) -> String {
    v.map(|x| format!("{:+.0}%", x * 100.0))
        .unwrap_or_else(|| "-".into())
}

/// Unix ms as a table timestamp to the second: `2026-11-20 14:03:07` (UTC).
pub fn timestamp(ms: i64) -> String {
    iso_seconds(&crate::timeparse::format_ms(ms))
}

/// An ISO-8601 time to the second: `2026-11-20T14:03:07.123Z` → `2026-11-20 14:03:07`.
pub fn iso_seconds(iso: &str) -> String {
    iso.replace('T', " ").chars().take(19).collect()
}

/// An ISO-8601 time to the minute: `2026-11-20T14:03:07.123Z` → `2026-11-20 14:03`; None → empty.
pub fn iso_minutes(iso: Option<&str>) -> String {
    iso.map(|s| s.replace('T', " ").chars().take(16).collect())
        .unwrap_or_default()
}

/// The first 8 characters of an id (sessions, workflows), enough to tell them apart in a table.
pub fn id_prefix(id: &str) -> String {
    id.chars().take(8).collect()
}

/// The first line of `s`, cut to `max` characters (tables; JSON keeps the whole text).
pub fn clip(s: &str, max: usize) -> String {
    let line = s.lines().next().unwrap_or("");
    if line.chars().count() > max {
        format!("{}…", line.chars().take(max - 1).collect::<String>())
    } else if line.len() < s.trim_end().len() {
        format!("{line} …")
    } else {
        line.to_string()
    }
}

/// `s` on one line (runs of whitespace become one space), cut to `n` characters.
pub fn excerpt(s: &str, n: usize) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(n)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(int(1234567), "1,234,567");
        assert_eq!(int(-1000), "-1,000");
        assert_eq!(dur(Some(850.0)), "850ms");
        assert_eq!(dur(Some(12_340.0)), "12.3s");
        assert_eq!(dur(Some(245_000.0)), "4m 05s");
        assert_eq!(pct(Some(0.8333)), "83.3%");
        assert_eq!(usd(Some(0.0284)), "$0.0284");
        assert_eq!(signed_pp(Some(-0.2)), "-20.0 pp");
        assert_eq!(signed_pct(Some(1.0)), "+100%");
        assert_eq!(timestamp(0), "1970-01-01 00:00:00");
        assert_eq!(value(Some(1204.0)), "1,204");
        assert_eq!(value(Some(9.1)), "9.1");
        assert_eq!(value(Some(87.25)), "87.25");
        assert_eq!(value(Some(-0.001)), "0");
        assert_eq!(value(None), "-");
        assert_eq!(
            iso_minutes(Some("2026-11-20T14:03:07.123Z")),
            "2026-11-20 14:03"
        );
        assert_eq!(clip("first line\nsecond", 40), "first line …");
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(excerpt("a  b\n c", 4), "a b ");
        assert_eq!(csv_field("a,\"b\""), "\"a,\"\"b\"\"\"");
        let mut v = json!({"a": 0.027000000000000003, "b": [0.000030000000000000004, 3.0, 188571.42857142858], "c": 2});
        round_floats(&mut v);
        assert_eq!(
            v,
            json!({"a": 0.027, "b": [0.00003, 3.0, 188571.428571], "c": 2})
        );
    }
}
