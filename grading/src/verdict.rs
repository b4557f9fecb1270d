//! The verdict of a graded run: read from the harness's verdict channel, never from the output.
//!
//! A test process prints what the code under test prints, and that code can print libtest's
//! `test result: ok. 1 passed` line and then exit. So for the labs' tests (the packages
//! [`crate::labs`] declares) the grader hands each run a fresh, empty file of its own
//! (`LAB_VERDICT_FILE`), and the harness (`labs::harness`) appends its records there: a
//! `start` record before any code under test runs, an `end` record per seed with the seed and
//! backend the run really used, its result and its statistics, and an `exit` record if the
//! process exits in the middle of the test. Student code cannot write to that file (see
//! [`crate::rules`]). A run passes only if the records say exactly this: one start of the test
//! the grader asked for, on the backend and seed it asked for, one passing end for that seed,
//! and then a clean exit. Anything else fails with a message that says what was seen.

use serde::Deserialize;

use crate::process::Exit;
use crate::results::{Mode, RunStats};

/// The verdict format this grader reads (the harness's `VERDICT_FORMAT`).
pub const FORMAT: u32 = 1;

/// One record of the verdict file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Record {
    /// `start`, `end` or `exit`.
    pub record: String,
    /// The records' format.
    pub format: u32,
    /// The test's path as libtest names it.
    pub test: String,
    /// `sim` or `real` (start and end).
    #[serde(default)]
    pub backend: Option<String>,
    /// The seeds the harness planned (start).
    #[serde(default)]
    pub seeds: Option<Vec<u64>>,
    /// The seed the run used (end).
    #[serde(default)]
    pub seed: Option<u64>,
    /// Whether the run passed (end).
    #[serde(default)]
    pub passed: Option<bool>,
    /// Why it failed (end).
    #[serde(default)]
    pub failure: Option<String>,
    /// The harness's replay command (end).
    #[serde(default)]
    pub replay: Option<String>,
    /// The run's statistics (end).
    #[serde(default)]
    pub stats: Option<RunStats>,
    /// Out-of-line statistics, in words (end).
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Who called `exit` (exit).
    #[serde(default)]
    pub caller: Option<String>,
}

/// What the grader asked for.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// The test's full name.
    pub test: &'a str,
    /// Its seed or real run.
    pub mode: Mode,
}

/// The judgement of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Judged {
    /// Whether it passed.
    pub passed: bool,
    /// Why not, in one line.
    pub reason: Option<String>,
    /// The run's statistics, when the harness reported them.
    pub stats: Option<RunStats>,
    /// The harness's warnings.
    pub warnings: Vec<String>,
}

impl Judged {
    fn fail(reason: String) -> Judged {
        Judged { passed: false, reason: Some(reason), stats: None, warnings: Vec::new() }
    }
}

/// Parses the verdict file's text; a line that is not a record is an error that quotes it.
pub fn parse(text: &str) -> Result<Vec<Record>, String> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            serde_json::from_str::<Record>(line).map_err(|e| {
                format!(
                    "the verdict file holds a line the harness did not write ({e}): {}",
                    crate::results::one_line(line, 120)
                )
            })
        })
        .collect()
}

/// Judges a run that ended with `exit`, whose verdict file held `records` and whose output
/// (untrusted, for the explanation only) is `output`.
pub fn judge(
    exit: Exit,
    records: Result<Vec<Record>, String>,
    expected: Expected<'_>,
    output: &str,
) -> Judged {
    let records = match records {
        Ok(r) => r,
        Err(why) => return Judged::fail(why),
    };
    let mut judged = judge_records(exit, &records, expected);
    if !judged.passed && claims_a_pass(output) {
        let reason = judged.reason.take().unwrap_or_default();
        judged.reason = Some(format!(
            "{reason}; the output claims a pass (\"test result: ok\") that the harness did not record: \
             a forged summary line decides nothing"
        ));
    }
    judged
}

fn judge_records(exit: Exit, records: &[Record], expected: Expected<'_>) -> Judged {
    if let Some(r) = records.iter().find(|r| r.format != FORMAT) {
        return Judged::fail(format!(
            "the verdict has format {}, this grader reads format {FORMAT}: the grader and the tree's labs \
             crate disagree (a bug in the grader's tree)",
            r.format
        ));
    }
    let of = |kind: &str| records.iter().filter(|r| r.record == kind).collect::<Vec<_>>();
    let (starts, ends, exits) = (of("start"), of("end"), of("exit"));
    if let Some(e) = exits.first() {
        let caller =
            e.caller.as_deref().map(|c| format!(" (std::process::exit called from {c})")).unwrap_or_default();
        return Judged::fail(format!(
            "the process exited in the middle of the test{caller}; a test must return or panic, and \
             an exit decides nothing ({})",
            exit_words(exit)
        ));
    }
    let Some(start) = starts.first() else {
        return Judged::fail(format!(
            "the harness never started the test, so there is no verdict ({}): the test binary ended \
             before the test began, or the test does not use the lab harness",
            exit_words(exit)
        ));
    };
    if starts.len() > 1 {
        return Judged::fail(format!(
            "the harness was started {} times in one run; only the graded test may start it (code under \
             test called labs::harness)",
            starts.len()
        ));
    }
    if start.test != expected.test {
        return Judged::fail(format!(
            "the verdict is for test {}, the grader asked for {}",
            start.test, expected.test
        ));
    }
    let want_backend = match expected.mode {
        Mode::Sim { .. } => "sim",
        Mode::Real { .. } => "real",
    };
    let backend_mismatch = |found: Option<&str>| {
        let found = found.unwrap_or("none");
        (found != want_backend)
            .then(|| format!("the run reports backend {found}, the grader asked for {want_backend}"))
    };
    if let Some(why) = backend_mismatch(start.backend.as_deref()) {
        return Judged::fail(why);
    }
    if let Mode::Sim { seed } = expected.mode
        && start.seeds.as_deref() != Some(&[seed][..])
    {
        let found = match start.seeds.as_deref() {
            Some([one]) => format!("seed {one}"),
            Some(many) => format!("seeds {many:?}"),
            None => "no seed".into(),
        };
        return Judged::fail(format!("the run reports {found}, the grader asked for seed {seed}"));
    }
    let Some(end) = ends.first() else {
        return Judged::fail(format!(
            "the process ended in the middle of the test, before the harness recorded a result ({})",
            exit_words(exit)
        ));
    };
    if ends.len() > 1 {
        return Judged::fail(format!("the harness recorded {} results for one run", ends.len()));
    }
    if end.test != expected.test {
        return Judged::fail(format!(
            "the result is for test {}, the grader asked for {}",
            end.test, expected.test
        ));
    }
    if let Some(why) = backend_mismatch(end.backend.as_deref()) {
        return Judged::fail(why);
    }
    if let Mode::Sim { seed } = expected.mode
        && end.seed != Some(seed)
    {
        let found = end.seed.map(|s| format!("seed {s}")).unwrap_or_else(|| "no seed".into());
        return Judged::fail(format!("the run reports {found}, the grader asked for seed {seed}"));
    }
    let stats = end.stats;
    let warnings = end.warnings.clone();
    if end.passed != Some(true) {
        let failure = end.failure.as_deref().unwrap_or("the harness recorded a failure without a message");
        return Judged { passed: false, reason: Some(summary(failure)), stats, warnings };
    }
    if exit != Exit::Code(0) {
        return Judged {
            passed: false,
            reason: Some(format!(
                "the harness recorded a pass, but then the process {}; a run passes only if it also ends cleanly",
                exit_words(exit)
            )),
            stats,
            warnings,
        };
    }
    Judged { passed: true, reason: None, stats, warnings }
}

/// How a process ended, in words.
pub fn exit_words(exit: Exit) -> String {
    match exit {
        Exit::Code(code) => format!("exit status {code}"),
        Exit::Signal(Some(6)) => "killed by SIGABRT".into(),
        Exit::Signal(Some(9)) => "killed by SIGKILL".into(),
        Exit::Signal(Some(11)) => "killed by SIGSEGV".into(),
        Exit::Signal(Some(s)) => format!("killed by signal {s}"),
        Exit::Signal(None) => "killed by a signal".into(),
        Exit::TimedOut => "killed at the timeout".into(),
    }
}

/// Whether untrusted output holds a libtest summary that claims at least one pass.
pub fn claims_a_pass(output: &str) -> bool {
    // Anywhere in a line: libtest's `test x ... ` has no line break before what the test prints.
    output
        .lines()
        .filter_map(|l| l.find("test result: ok.").map(|at| &l[at + "test result: ok.".len()..]))
        .any(|rest| {
            rest.split(';')
                .next()
                .and_then(|p| p.trim().strip_suffix(" passed"))
                .and_then(|n| n.trim().parse::<u64>().ok())
                .is_some_and(|n| n > 0)
        })
}

/// A failure message in one line: the panic's own heading (`thread 'main' of node 'tester'
/// panicked:`) is kept, the lines are joined, so that a message whose first line ends with
/// `wanted:` still shows its sentence and values.
pub fn summary(failure: &str) -> String {
    crate::results::one_line(failure, crate::results::REASON_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start(test: &str, backend: &str, seeds: &[u64]) -> String {
        serde_json::json!({"record": "start", "format": 1, "test": test, "backend": backend, "seeds": seeds})
            .to_string()
    }

    fn end(test: &str, backend: &str, seed: u64, passed: bool, failure: Option<&str>) -> String {
        serde_json::json!({
            "record": "end", "format": 1, "test": test, "backend": backend, "seed": seed, "passed": passed,
            "failure": failure, "warnings": ["slow: 9 s"],
            "stats": {"wall_secs": 1.5, "elapsed_secs": 3.0, "peak_rss_bytes": 1048576, "threads": 10, "rpcs": 99, "ops": 0}
        })
        .to_string()
    }

    fn sim(seed: u64) -> Expected<'static> {
        Expected { test: "x_3a", mode: Mode::Sim { seed } }
    }

    fn judged(exit: Exit, lines: &[String], expected: Expected<'_>, output: &str) -> Judged {
        judge(exit, parse(&lines.join("\n")), expected, output)
    }

    #[test]
    fn a_clean_pass_passes_with_its_stats() {
        let j = judged(
            Exit::Code(0),
            &[start("x_3a", "sim", &[3]), end("x_3a", "sim", 3, true, None)],
            sim(3),
            "",
        );
        assert!(j.passed, "{j:?}");
        assert_eq!(j.stats.unwrap().rpcs, 99);
        assert_eq!(j.warnings, vec!["slow: 9 s"]);
        let real = Expected { test: "x_3a", mode: Mode::Real { index: 1 } };
        let j = judged(
            Exit::Code(0),
            &[start("x_3a", "real", &[77]), end("x_3a", "real", 77, true, None)],
            real,
            "",
        );
        assert!(j.passed, "{j:?}");
    }

    #[test]
    fn every_deviation_fails_and_says_what_was_seen() {
        let forged =
            "test x_3a ... ok\ntest result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out";
        let cases: Vec<(Exit, Vec<String>, &str, &str)> = vec![
            (Exit::Code(0), vec![], forged, "the harness never started the test"),
            (Exit::Code(0), vec![start("x_3a", "sim", &[3])], forged, "the process ended in the middle of the test"),
            (Exit::Code(0), vec![start("x_3a", "sim", &[3])], forged, "a forged summary line decides nothing"),
            (
                Exit::Code(101),
                vec![
                    start("x_3a", "sim", &[3]),
                    serde_json::json!({"record": "exit", "format": 1, "test": "x_3a", "caller": "raft::raft::Raft::request_vote"})
                        .to_string(),
                ],
                "",
                "exited in the middle of the test (std::process::exit called from raft::raft::Raft::request_vote)",
            ),
            (
                Exit::Code(0),
                vec![start("x_3a", "sim", &[777]), end("x_3a", "sim", 777, true, None)],
                "",
                "the run reports seed 777, the grader asked for seed 3",
            ),
            (
                Exit::Code(0),
                vec![start("x_3a", "real", &[3]), end("x_3a", "real", 3, true, None)],
                "",
                "the run reports backend real, the grader asked for sim",
            ),
            (
                Exit::Code(0),
                vec![start("y_3a", "sim", &[3]), end("y_3a", "sim", 3, true, None)],
                "",
                "the verdict is for test y_3a, the grader asked for x_3a",
            ),
            (
                Exit::Code(0),
                vec![start("x_3a", "sim", &[3]), start("x_3a", "sim", &[3]), end("x_3a", "sim", 3, true, None)],
                "",
                "the harness was started 2 times",
            ),
            (
                Exit::Code(101),
                vec![start("x_3a", "sim", &[3]), end("x_3a", "sim", 3, false, Some("get wrong value, key \"0\", wanted:\nabc\n, got\nxyz"))],
                "",
                "get wrong value, key \"0\", wanted: abc , got xyz",
            ),
            (
                Exit::Signal(Some(11)),
                vec![start("x_3a", "sim", &[3]), end("x_3a", "sim", 3, true, None)],
                "",
                "the harness recorded a pass, but then the process killed by SIGSEGV",
            ),
            (Exit::Code(0), vec!["{\"forged\": true}".into()], "", "a line the harness did not write"),
        ];
        for (exit, lines, output, expected) in cases {
            let j = judged(exit, &lines, sim(3), output);
            assert!(!j.passed, "{lines:?} passed");
            let reason = j.reason.unwrap();
            assert!(reason.contains(expected), "{reason:?} lacks {expected:?}");
        }
    }

    #[test]
    fn claims_are_recognised() {
        assert!(claims_a_pass("test result: ok. 1 passed; 0 failed"));
        assert!(claims_a_pass("test x_3a ... test result: ok. 1 passed; 0 failed"));
        assert!(!claims_a_pass("test result: ok. 0 passed; 0 failed"));
        assert!(!claims_a_pass("test result: FAILED. 0 passed; 1 failed"));
    }
}
