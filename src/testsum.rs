//! Test-runner summaries in a tool result's text (docs/metrics.md, "Outcome"): what the last test
//! run an agent started passed, failed and skipped.
//!
//! Pure and cheap: it runs on every Bash result the transcript reader sees. Each runner is tried
//! only when its text contains a fixed substring of its summary line, and every pattern is
//! anchored to the runner's whole summary line (a log line like "2 failed logins" is not a
//! summary). The regexes are compiled once per process.
//!
//! One output may hold several runs (a build log then the summary, a run then a re-run): the
//! summary that ends last wins. A summary that ran no test at all (`0 passed`, filtered away) is
//! no test result.

use regex::Regex;
use std::borrow::Cow;
use std::sync::LazyLock;

/// A test runner's summary: what its last run passed, failed (failures and errors) and skipped.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TestCounts {
    pub passed: i64,
    pub failed: i64,
    pub skipped: i64,
    /// The runner recognised: cargo | nextest | pytest | go | jest | vitest |
    /// mocha | rspec | junit | gradle | ctest | plain.
    pub runner: String,
}

/// The last test-runner summary in `text`, if any.
pub fn parse(text: &str) -> Option<TestCounts> {
    if !text.contains("pass")
        && !text.contains("fail")
        && !text.contains("FAIL")
        && !text.contains("Tests run:")
        && !text.contains("example")
        && !text.contains(" error")
    {
        return None; // every summary below says one of these
    }
    let text = strip_ansi(text);
    let text = text.as_ref();
    let parsers: [fn(&str) -> Option<Found>; 12] = [
        cargo, nextest, pytest, go, jest, vitest, mocha, rspec, junit, gradle, ctest, plain,
    ];
    parsers
        .iter()
        .filter_map(|p| p(text))
        .filter(|f| f.counts.passed + f.counts.failed > 0)
        .max_by_key(|f| f.end)
        .map(|f| f.counts)
}

/// One runner's last summary and where it ends in the text.
struct Found {
    end: usize,
    counts: TestCounts,
}

fn found(end: usize, runner: &str, passed: i64, failed: i64, skipped: i64) -> Found {
    Found {
        end,
        counts: TestCounts {
            passed: passed.max(0),
            failed: failed.max(0),
            skipped: skipped.max(0),
            runner: runner.to_string(),
        },
    }
}

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("built-in test summary pattern")
}

fn num(c: &regex::Captures<'_>, i: usize) -> i64 {
    c.get(i)
        .and_then(|m| m.as_str().parse::<i64>().ok())
        .unwrap_or(0)
}

/// Colour codes (CSI sequences) removed; borrowed when there are none.
fn strip_ansi(text: &str) -> Cow<'_, str> {
    static ANSI: LazyLock<Regex> = LazyLock::new(|| re(r"\x1b\[[0-9;?]*[ -/]*[@-~]"));
    if text.contains('\x1b') {
        ANSI.replace_all(text, "")
    } else {
        Cow::Borrowed(text)
    }
}

/// "N word, N word" items (the separator given): (count, first word) pairs.
fn items<'a>(list: &'a str, sep: &'a str) -> impl Iterator<Item = (i64, &'a str)> {
    list.split(sep).filter_map(|item| {
        let mut words = item.split_whitespace();
        let n = words.next()?.parse::<i64>().ok()?;
        Some((n, words.next()?))
    })
}

/// Jest's and Vitest's `N passed`, `N failed`, `N skipped` / `N todo` (todo counts as skipped)
/// items: (passed, failed, skipped).
fn jest_counts(list: &str, sep: &str) -> (i64, i64, i64) {
    let (mut p, mut f, mut s) = (0, 0, 0);
    for (n, word) in items(list, sep) {
        match word {
            "passed" => p += n,
            "failed" => f += n,
            "skipped" | "todo" => s += n,
            _ => {}
        }
    }
    (p, f, s)
}

/// Sums the matches of one run; a `reset` match between two summaries starts a new run (the
/// next invocation of the runner): the last run's sum is kept.
fn sum_last_run<const N: usize>(
    text: &str,
    summary: &Regex,
    reset: &Regex,
    counts: impl Fn(&regex::Captures<'_>) -> [i64; N],
) -> Option<(usize, [i64; N])> {
    let resets: Vec<usize> = reset.find_iter(text).map(|m| m.start()).collect();
    let mut last: Option<(usize, [i64; N])> = None;
    for c in summary.captures_iter(text) {
        let m = c.get(0).expect("match");
        let add = counts(&c);
        last = Some(match last {
            Some((end, sum)) if !resets.iter().any(|r| (end..m.start()).contains(r)) => {
                let mut s = sum;
                for (a, b) in s.iter_mut().zip(add) {
                    *a += b;
                }
                (m.end(), s)
            }
            _ => (m.end(), add),
        });
    }
    last
}

/// `cargo test`: one `test result:` line per test binary, summed. A new `Finished` line (the
/// next `cargo test`) starts a new run. Lines indented (nextest's captured output) are not cargo's.
fn cargo(text: &str) -> Option<Found> {
    static LINE: LazyLock<Regex> = LazyLock::new(|| {
        re(r"(?m)^test result: (?:ok|FAILED)\. (\d+) passed; (\d+) failed; (\d+) ignored;")
    });
    static RESET: LazyLock<Regex> = LazyLock::new(|| re(r"(?m)^\s*Finished `"));
    if !text.contains("test result: ") {
        return None;
    }
    let (end, [p, f, s]) =
        sum_last_run(text, &LINE, &RESET, |c| [num(c, 1), num(c, 2), num(c, 3)])?;
    Some(found(end, "cargo", p, f, s))
}

/// `cargo nextest run`: `Summary [ 0.014s] 5 tests run: 4 passed, 1 failed, 1 skipped`
/// (also `N timed out`, counted as failed; `(N slow)`, `N flaky`, `N leaky` are remarks).
fn nextest(text: &str) -> Option<Found> {
    static LINE: LazyLock<Regex> =
        LazyLock::new(|| re(r"(?m)^\s*Summary \[[^\]]*\]\s+\d+ tests? run: (.*)$"));
    if !text.contains(" run: ") {
        return None;
    }
    let c = LINE.captures_iter(text).last()?;
    let (mut p, mut f, mut s) = (0, 0, 0);
    for (n, word) in items(&c[1], ", ") {
        match word {
            "passed" => p += n,
            "failed" | "timed" => f += n,
            "skipped" => s += n,
            _ => {}
        }
    }
    Some(found(c.get(0)?.end(), "nextest", p, f, s))
}

/// pytest's last line, with or without its `=` rule (`-q`):
/// `=== 1 failed, 2 passed, 1 skipped, 1 xfailed, 1 error in 0.03s ===`. Errors count as
/// failed, xfailed as skipped, xpassed as passed; deselected and warnings are not tests run.
fn pytest(text: &str) -> Option<Found> {
    static LINE: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(?m)^=*[ \t]*((?:\d+ (?:failed|passed|skipped|deselected|xfailed|xpassed|errors?|warnings?|rerun)(?:, )?)+) in [\d.]+s(?: \([\d:.]+\))?[ \t\r]*=*[ \t\r]*$",
        )
    });
    if !text.contains(" in ") {
        return None;
    }
    let c = LINE.captures_iter(text).last()?;
    let (mut p, mut f, mut s) = (0, 0, 0);
    for (n, word) in items(&c[1], ", ") {
        match word {
            "passed" | "xpassed" => p += n,
            "failed" | "error" | "errors" => f += n,
            "skipped" | "xfailed" => s += n,
            _ => {}
        }
    }
    Some(found(c.get(0)?.end(), "pytest", p, f, s))
}

/// `go test`. With `-v` (its `=== RUN` lines): the top-level `--- PASS/FAIL/SKIP:` lines, one
/// per test (subtests, indented, are part of their parent). Without `-v` go prints no line per
/// passing test, so the unit is the package: `ok  <pkg>` passed, `FAIL <pkg>` failed.
fn go(text: &str) -> Option<Found> {
    static TEST: LazyLock<Regex> =
        LazyLock::new(|| re(r"(?m)^--- (PASS|FAIL|SKIP): \S+ \([\d.]+s\)"));
    static PACKAGE: LazyLock<Regex> =
        LazyLock::new(|| re(r"(?m)^(ok|FAIL)\s+\S+\s+(?:\(cached\)|[\d.]+s|\[[a-z ]+\])"));
    if !text.contains("--- ") && !text.contains("ok ") && !text.contains("FAIL") {
        return None;
    }
    let package_end = PACKAGE.find_iter(text).last().map(|m| m.end());
    if text.contains("=== RUN") {
        let (mut p, mut f, mut s, mut end) = (0, 0, 0, 0);
        for c in TEST.captures_iter(text) {
            match &c[1] {
                "PASS" => p += 1,
                "FAIL" => f += 1,
                _ => s += 1,
            }
            end = c.get(0)?.end();
        }
        if p + f + s > 0 {
            return Some(found(end.max(package_end.unwrap_or(0)), "go", p, f, s));
        }
    }
    let (mut p, mut f) = (0, 0);
    for c in PACKAGE.captures_iter(text) {
        if &c[1] == "ok" {
            p += 1;
        } else {
            f += 1;
        }
    }
    package_end.map(|end| found(end, "go", p, f, 0))
}

/// Jest: `Tests:       1 failed, 1 skipped, 2 passed, 4 total` (todo counts as skipped).
fn jest(text: &str) -> Option<Found> {
    static LINE: LazyLock<Regex> =
        LazyLock::new(|| re(r"(?m)^Tests:\s+((?:\d+ [a-z]+, )*)\d+ total[ \t\r]*$"));
    if !text.contains("Tests:") {
        return None;
    }
    let c = LINE.captures_iter(text).last()?;
    let (p, f, s) = jest_counts(&c[1], ", ");
    Some(found(c.get(0)?.end(), "jest", p, f, s))
}

/// Vitest: `      Tests  1 failed | 2 passed | 1 skipped (4)` (not `Test Files`).
fn vitest(text: &str) -> Option<Found> {
    static LINE: LazyLock<Regex> =
        LazyLock::new(|| re(r"(?m)^\s*Tests\s+((?:\d+ [a-z]+(?: \| )?)+)\s*\(\d+\)[ \t\r]*$"));
    if !text.contains("Tests ") {
        return None;
    }
    let c = LINE.captures_iter(text).last()?;
    let (p, f, s) = jest_counts(&c[1], " | ");
    Some(found(c.get(0)?.end(), "vitest", p, f, s))
}

/// Mocha's spec reporter: `  2 passing (3ms)`, then `  1 pending`, `  1 failing` on the lines
/// right after it.
fn mocha(text: &str) -> Option<Found> {
    static PASSING: LazyLock<Regex> =
        LazyLock::new(|| re(r"(?m)^\s*(\d+) passing(?: \(\d+(?:\.\d+)?(?:ms|s|m)\))?[ \t\r]*$"));
    static OTHER: LazyLock<Regex> = LazyLock::new(|| re(r"^\s*(\d+) (pending|failing)[ \t\r]*$"));
    if !text.contains(" passing") {
        return None;
    }
    let c = PASSING.captures_iter(text).last()?;
    let mut end = c.get(0)?.end();
    let (p, mut f, mut s) = (num(&c, 1), 0, 0);
    // `end` is at the end of a line: look at the next one while it is a pending/failing count.
    while let Some(next) = text[end..].strip_prefix('\n') {
        let line = next.split('\n').next().unwrap_or("");
        let Some(o) = OTHER.captures(line) else { break };
        if &o[2] == "failing" {
            f += num(&o, 1);
        } else {
            s += num(&o, 1);
        }
        end += 1 + line.len();
    }
    Some(found(end, "mocha", p, f, s))
}

/// RSpec: `10 examples, 2 failures, 1 pending` (an error outside examples counts as failed).
fn rspec(text: &str) -> Option<Found> {
    static LINE: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(?m)^(\d+) examples?, (\d+) failures?(?:, (\d+) pending)?(?:, (\d+) errors? occurred outside of examples)?[ \t\r]*$",
        )
    });
    if !text.contains(" example") {
        return None;
    }
    let c = LINE.captures_iter(text).last()?;
    let (total, failures, pending, outside) = (num(&c, 1), num(&c, 2), num(&c, 3), num(&c, 4));
    Some(found(
        c.get(0)?.end(),
        "rspec",
        total - failures - pending,
        failures + outside,
        pending,
    ))
}

/// JUnit as Maven Surefire (and Ant) print it: `Tests run: 10, Failures: 1, Errors: 0,
/// Skipped: 2`. Maven prints one line per class (with `Time elapsed`) and a total per module
/// under `Results:`: the totals are summed (a multi-module build), the per-class lines only when
/// no total was printed. `BUILD SUCCESS/FAILURE` ends one Maven run.
fn junit(text: &str) -> Option<Found> {
    static TOTAL: LazyLock<Regex> = LazyLock::new(|| {
        re(r"(?m)Tests run: (\d+), Failures: (\d+), Errors: (\d+), Skipped: (\d+)[ \t\r]*$")
    });
    static CLASS: LazyLock<Regex> = LazyLock::new(|| {
        re(r"(?m)Tests run: (\d+), Failures: (\d+), Errors: (\d+), Skipped: (\d+), Time elapsed")
    });
    static RESET: LazyLock<Regex> = LazyLock::new(|| re(r"BUILD (?:SUCCESS|FAILURE)"));
    if !text.contains("Tests run: ") {
        return None;
    }
    let counts = |c: &regex::Captures<'_>| {
        let (run, failures, errors, skipped) = (num(c, 1), num(c, 2), num(c, 3), num(c, 4));
        [
            run - failures - errors - skipped,
            failures + errors,
            skipped,
        ]
    };
    let (end, [p, f, s]) = sum_last_run(text, &TOTAL, &RESET, counts)
        .or_else(|| sum_last_run(text, &CLASS, &RESET, counts))?;
    Some(found(end, "junit", p, f, s))
}

/// Gradle's test task: `10 tests completed, 2 failed, 1 skipped` (printed when a test failed or
/// was skipped; a green run prints no count).
fn gradle(text: &str) -> Option<Found> {
    static LINE: LazyLock<Regex> = LazyLock::new(|| {
        re(r"(?m)^\s*(\d+) tests? completed(?:, (\d+) failed)?(?:, (\d+) skipped)?[ \t\r]*$")
    });
    if !text.contains("tests completed") && !text.contains("test completed") {
        return None;
    }
    let c = LINE.captures_iter(text).last()?;
    let (total, f, s) = (num(&c, 1), num(&c, 2), num(&c, 3));
    Some(found(c.get(0)?.end(), "gradle", total - f - s, f, s))
}

/// CTest: `83% tests passed, 2 tests failed out of 12`.
fn ctest(text: &str) -> Option<Found> {
    static LINE: LazyLock<Regex> =
        LazyLock::new(|| re(r"(?m)^\d+% tests passed, (\d+) tests? failed out of (\d+)[ \t\r]*$"));
    if !text.contains("% tests passed") {
        return None;
    }
    let c = LINE.captures_iter(text).last()?;
    let (f, total) = (num(&c, 1), num(&c, 2));
    Some(found(c.get(0)?.end(), "ctest", total - f, f, 0))
}

/// A line that is nothing but counts, one of them `passed`: `10 passed, 2 failed, 1 skipped`
/// (`;` also separates; a trailing `.` is allowed).
fn plain(text: &str) -> Option<Found> {
    static LINE: LazyLock<Regex> =
        LazyLock::new(|| re(r"(?m)^\s*((?:\d+ (?:passed|failed|skipped)(?:[,;] )?)+)\.?[ \t\r]*$"));
    if !text.contains(" passed") {
        return None;
    }
    let c = LINE
        .captures_iter(text)
        .filter(|c| c[1].contains(" passed"))
        .last()?;
    let (mut p, mut f, mut s) = (0, 0, 0);
    for (n, word) in items(&c[1].replace(';', ","), ", ") {
        match word.trim_end_matches([',', ';']) {
            "passed" => p += n,
            "failed" => f += n,
            _ => s += n,
        }
    }
    Some(found(c.get(0)?.end(), "plain", p, f, s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(text: &str) -> Option<(i64, i64, i64, String)> {
        parse(text).map(|c| (c.passed, c.failed, c.skipped, c.runner))
    }

    fn t(p: i64, f: i64, s: i64, r: &str) -> Option<(i64, i64, i64, String)> {
        Some((p, f, s, r.to_string()))
    }

    #[test]
    fn not_test_output_is_nothing() {
        for text in [
            "",
            "2 failed logins for root",
            "Tests: none today",
            "the build passed, 3 warnings",
            "ok  fine",
            "FAIL: connection refused",
            "3 examples in the docs",
            "test result: the suite is slow",
            "Tests run: many",
            "=== 2 failed logins in 3s ===x",
        ] {
            assert_eq!(counts(text), None, "{text:?}");
        }
    }

    #[test]
    fn a_summary_that_ran_nothing_is_nothing() {
        assert_eq!(
            counts("test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 9 filtered out; finished in 0.00s\n"),
            None
        );
    }

    #[test]
    fn each_runner_by_its_own_shape() {
        let cases = [
            ("=== 3 failed, 10 passed, 2 skipped, 1 error in 0.12s ===", t(10, 4, 2, "pytest")),
            ("10 passed, 1 warning in 1.05s", t(10, 0, 0, "pytest")),
            ("Tests:       1 failed, 2 skipped, 10 passed, 13 total", t(10, 1, 2, "jest")),
            ("      Tests  1 failed | 10 passed (11)", t(10, 1, 0, "vitest")),
            ("  10 passing (12ms)\n  1 pending\n  2 failing\n", t(10, 2, 1, "mocha")),
            ("10 examples, 2 failures, 1 pending", t(7, 2, 1, "rspec")),
            ("1 example, 0 failures", t(1, 0, 0, "rspec")),
            ("0 examples, 0 failures, 1 error occurred outside of examples", t(0, 1, 0, "rspec")),
            ("10 tests completed, 2 failed, 1 skipped", t(7, 2, 1, "gradle")),
            ("83% tests passed, 2 tests failed out of 12", t(10, 2, 0, "ctest")),
            ("5 passed, 1 failed", t(5, 1, 0, "plain")),
            (
                "=== RUN   TestA\n--- PASS: TestA (0.00s)\n=== RUN   TestB\n    --- PASS: TestB/x (0.00s)\n--- FAIL: TestB (0.01s)\n--- SKIP: TestC (0.00s)\nFAIL\nFAIL\texample.com/m\t0.01s\n",
                t(1, 1, 1, "go"),
            ),
            (
                "ok  \texample.com/a\t0.01s\n--- FAIL: TestB (0.00s)\nFAIL\texample.com/b\t0.02s\nok  \texample.com/c\t(cached)\n",
                t(2, 1, 0, "go"),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(counts(text), want, "{text:?}");
        }
    }

    #[test]
    fn the_last_run_in_one_output_wins() {
        let two = "=== 1 failed, 3 passed in 0.2s ===\n$ pytest again\n=== 4 passed in 0.2s ===\n";
        assert_eq!(counts(two), t(4, 0, 0, "pytest"));
        let cargo_twice = "   Finished `test` profile\ntest result: FAILED. 1 passed; 1 failed; 0 ignored; 0 measured\n   Finished `test` profile\ntest result: ok. 2 passed; 0 failed; 0 ignored; 0 measured\ntest result: ok. 3 passed; 0 failed; 1 ignored; 0 measured\n";
        assert_eq!(counts(cargo_twice), t(5, 0, 1, "cargo"));
    }
}
