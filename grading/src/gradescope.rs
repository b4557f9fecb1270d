//! `gradescope.json`: the results in the format of a Gradescope autograder.
//!
//! A course that grades on Gradescope runs `grade run --path /autograder/submission` inside its
//! autograder image and copies `gradescope.json` to `/autograder/results/results.json`. The
//! format is Gradescope's: a total `score`, the total `execution_time`, an `output` shown above
//! the tests, and one entry per graded test with its `score`, `max_score`, `status` and
//! `output` (its failing runs, their reasons and replay commands, and its warnings).

use std::fmt::Write as _;

use serde::Serialize;

use crate::results::{Outcome, Results};
use crate::scoreboard::format_points;

/// The whole file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gradescope {
    /// Points earned.
    pub score: f64,
    /// Wall time of the grading, seconds.
    pub execution_time: f64,
    /// Shown above the tests: the total, broken rules, ignored files, build failure.
    pub output: String,
    /// Who sees the tests: `visible`.
    pub visibility: &'static str,
    /// Who sees the autograder's stdout: `hidden` (the scoreboard is in `output`).
    pub stdout_visibility: &'static str,
    /// One per graded test.
    pub tests: Vec<GradescopeTest>,
}

/// One test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GradescopeTest {
    /// `3A initial_election_3a`.
    pub name: String,
    /// `3A.1`: the part and the test's place in it.
    pub number: String,
    /// Points earned.
    pub score: f64,
    /// Points possible.
    pub max_score: f64,
    /// `passed` when every run passed, else `failed`.
    pub status: &'static str,
    /// How many runs passed, the failing runs with their reasons, the replay commands.
    pub output: String,
}

/// Converts the results.
pub fn render(results: &Results) -> Gradescope {
    let score = results.compute_score();
    let mut output = format!(
        "{} of {} points; {} run(s), {} failed.\n",
        format_points(score.earned),
        format_points(score.possible),
        score.runs,
        score.failed_runs
    );
    if let Some(failure) = &results.build_failure {
        let _ = writeln!(output, "Not built: {failure}");
    }
    for v in &results.rules.violations {
        let _ = writeln!(output, "Rule broken: {v}");
    }
    if let Some(sub) = &results.submission {
        for ignored in &sub.ignored {
            let _ = writeln!(output, "Ignored: {ignored}");
        }
    }
    let mut numbers: Vec<(String, usize)> = Vec::new();
    let tests = results
        .tests
        .iter()
        .map(|t| {
            let n = match numbers.iter_mut().find(|(p, _)| *p == t.part) {
                Some((_, n)) => {
                    *n += 1;
                    *n
                }
                None => {
                    numbers.push((t.part.clone(), 1));
                    1
                }
            };
            let mut out = format!("{} of {} run(s) passed.\n", t.passed(), t.runs.len());
            for r in t.runs.iter().filter(|r| r.outcome != Outcome::Pass) {
                let _ = writeln!(
                    out,
                    "{} {}: {}\n  replay: {}",
                    r.mode.label(),
                    r.outcome.word(),
                    r.reason.as_deref().unwrap_or(""),
                    r.replay
                );
            }
            for r in &t.runs {
                for w in &r.warnings {
                    let _ = writeln!(out, "warning ({}): {w}", r.mode.label());
                }
            }
            GradescopeTest {
                name: format!("{} {}", t.part, t.test),
                number: format!("{}.{n}", t.part),
                score: t.earned(),
                max_score: t.points,
                status: if t.all_passed() { "passed" } else { "failed" },
                output: out,
            }
        })
        .collect();
    Gradescope {
        score: score.earned,
        execution_time: results.wall_secs,
        output,
        visibility: "visible",
        stdout_visibility: "hidden",
        tests,
    }
}

/// Writes `gradescope.json` into `dir`.
pub fn write(results: &Results, dir: &std::path::Path) -> std::io::Result<()> {
    let json = serde_json::to_string_pretty(&render(results)).map_err(std::io::Error::other)?;
    std::fs::write(dir.join("gradescope.json"), json + "\n")
}
