//! `grade batch`: grade a course's submissions, one folder each, into one CSV of scores.
//!
//! Each submission is graded as `grade run --path SUBMISSION` would grade it, one after the
//! other, in the grader's tree (synced afresh for each, so nothing of one student reaches the
//! next, while cargo recompiles only the student crates and what depends on them). Each
//! student's results folder is `<out>/<student>/` (the submission folder's name), with its
//! scoreboard, `results.json`, `gradescope.json`, JUnit file and failure logs, and
//! `<out>/scores.csv` has one row per student: the points of each part, the total, and what
//! went wrong (broken rules, a failed build, ignored files, warnings). A submission that
//! cannot be graded at all (a missing student file, say) gets a row that says why, and the
//! batch goes on.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::error::GradeError;
use crate::results::Results;
use crate::run::{self, RunOptions};
use crate::scoreboard::format_points;

/// One student's outcome.
#[derive(Debug)]
pub struct Graded {
    /// The student's name (the submission folder's name).
    pub student: String,
    /// The submission folder.
    pub path: PathBuf,
    /// The results, or why there are none.
    pub results: Result<Results, String>,
}

/// Grades each of `submissions` with `options` (whose `path` and `out` are replaced), writes
/// `<out>/scores.csv`, and returns every student's outcome.
pub fn batch(submissions: &[PathBuf], options: &RunOptions, out: &Path) -> Result<Vec<Graded>, GradeError> {
    let mut names = BTreeSet::new();
    let mut plan = Vec::new();
    for path in submissions {
        let base = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .filter(|n| !n.is_empty() && n != "." && n != "..")
            .unwrap_or_else(|| "submission".into());
        let base = run::safe_name(&base);
        let mut name = base.clone();
        let mut k = 2;
        while !names.insert(name.clone()) {
            name = format!("{base}-{k}");
            k += 1;
        }
        plan.push((name, path.clone()));
    }
    crate::output::prepare(out)?;
    let mut graded = Vec::new();
    for (i, (student, path)) in plan.into_iter().enumerate() {
        eprintln!("grade batch: [{}/{}] {student} ({})", i + 1, submissions.len(), path.display());
        let mut one = options.clone();
        one.path = path.clone();
        one.out = Some(out.join(&student));
        let results = match run::grade(&one) {
            Ok(outcome) => Ok(outcome.results),
            Err(e) => {
                eprintln!("grade batch: {student} was not graded: {e}");
                Err(e.to_string())
            }
        };
        graded.push(Graded { student, path, results });
    }
    write_csv(&graded, &out.join("scores.csv"))?;
    Ok(graded)
}

/// Submissions graded per hour, at `seconds` for `count` of them (0 when nothing was timed).
pub fn per_hour(count: usize, seconds: f64) -> f64 {
    if seconds > 0.0 { count as f64 * 3600.0 / seconds } else { 0.0 }
}

/// The parts graded, in catalogue order, over all students.
fn parts(graded: &[Graded]) -> Vec<String> {
    let mut parts: Vec<String> = Vec::new();
    for g in graded {
        if let Ok(results) = &g.results {
            for t in &results.tests {
                if !parts.contains(&t.part) {
                    parts.push(t.part.clone());
                }
            }
        }
    }
    parts
}

/// The CSV: `student, status, <part>..., total, possible, failed_runs, warnings,
/// broken_rules, ignored_files, note`.
pub fn render_csv(graded: &[Graded]) -> Result<String, csv::Error> {
    let parts = parts(graded);
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = vec!["student".into(), "status".into()];
    header.extend(parts.iter().cloned());
    header.extend(
        ["total", "possible", "failed_runs", "warnings", "broken_rules", "ignored_files", "note"]
            .map(String::from),
    );
    writer.write_record(&header)?;
    for g in graded {
        let mut row = vec![g.student.clone()];
        match &g.results {
            Err(why) => {
                row.push("error".into());
                row.extend(std::iter::repeat_n(String::new(), parts.len() + 6));
                row.push(why.clone());
            }
            Ok(results) => {
                let score = results.compute_score();
                row.push(if score.full { "full" } else { "graded" }.into());
                for part in &parts {
                    let earned: f64 = results
                        .tests
                        .iter()
                        .filter(|t| &t.part == part)
                        .map(crate::results::TestResult::earned)
                        .fold(0.0, |a, b| a + b);
                    row.push(format!("{earned:.2}"));
                }
                row.push(format!("{:.2}", score.earned));
                row.push(format_points(score.possible));
                row.push(score.failed_runs.to_string());
                let warnings: usize =
                    results.tests.iter().flat_map(|t| &t.runs).map(|r| r.warnings.len()).sum();
                row.push(warnings.to_string());
                row.push(results.rules.violations.len().to_string());
                row.push(results.submission.as_ref().map_or(0, |s| s.ignored_total).to_string());
                let mut note = Vec::new();
                if let Some(failure) = &results.build_failure {
                    note.push(format!("not built: {failure}"));
                }
                if let Some(first) = results.rules.violations.first() {
                    note.push(first.clone());
                }
                if let Some(first) = results.submission.as_ref().and_then(|s| s.ignored.first()) {
                    note.push(format!("ignored: {first}"));
                }
                row.push(note.join("; "));
            }
        }
        writer.write_record(&row)?;
    }
    let bytes = writer.into_inner().map_err(|e| csv::Error::from(e.into_error()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Writes the CSV to `path`.
fn write_csv(graded: &[Graded], path: &Path) -> Result<(), GradeError> {
    let text =
        render_csv(graded).map_err(|e| GradeError::Output { path: path.to_path_buf(), source: e.into() })?;
    std::fs::write(path, text).map_err(|source| GradeError::Output { path: path.to_path_buf(), source })
}
