//! The scoreboard: the human-readable end of a grading run.
//!
//! It is a pure function of [`Results`], with no wall times and no paths, so that the
//! scoreboard of merged shard results is byte-for-byte the scoreboard of the same job run
//! unsharded (`scoreboard.txt` in the results folder is how the tests check that).

use std::fmt::Write as _;

use crate::results::{Mode, Outcome, Results, TestResult, replay_command};

/// How many uncatalogued test names the scoreboard shows.
const UNCATALOGUED_SHOWN: usize = 10;

/// Formats points without needless decimals: `5`, `2.5`.
pub fn format_points(points: f64) -> String {
    let s = format!("{points:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() { "0".to_string() } else { s.to_string() }
}

/// Describes the seeds: `1-5` when consecutive, else a list.
pub fn describe_seeds(seeds: &[u64]) -> String {
    match seeds {
        [] => "none".to_string(),
        [one] => one.to_string(),
        [first, .., last] if seeds.windows(2).all(|w| w[1] == w[0] + 1) => {
            format!("{first}-{last}")
        }
        _ => seeds.iter().map(u64::to_string).collect::<Vec<_>>().join(", "),
    }
}

/// Renders the scoreboard.
pub fn render(results: &Results) -> String {
    let mut out = String::new();
    let settings = &results.settings;
    let per_test = settings.seeds.len() + settings.real_runs as usize;
    let score = results.compute_score();

    let _ = writeln!(out, "Scoreboard");
    let _ = writeln!(out, "==========");
    let _ = writeln!(
        out,
        "Runs per test: {} sim seed(s) ({}) and {} real-mode run(s); timeout {} s per run.",
        settings.seeds.len(),
        describe_seeds(&settings.seeds),
        settings.real_runs,
        settings.timeout_secs
    );
    let mut filters = Vec::new();
    if !settings.labs.is_empty() {
        filters.push(format!("--lab {}", settings.labs.join(",")));
    }
    if let Some(test) = &settings.test_filter {
        filters.push(format!("--test {test}"));
    }
    let _ = writeln!(
        out,
        "Catalogue: {}{}.",
        settings.catalogue,
        if filters.is_empty() { String::new() } else { format!(", filtered by {}", filters.join(" ")) }
    );
    let mut limits = Vec::new();
    limits.push(match settings.memory_limit_bytes {
        Some(b) => format!("memory {} (address space)", crate::limits::format_size(b)),
        None => "no memory limit".to_string(),
    });
    limits.push(match settings.max_threads {
        Some(n) => format!("at most {n} threads at once"),
        None => "no thread limit".to_string(),
    });
    if !results.network.is_empty() {
        limits.push(format!("network {}", results.network));
    }
    let _ = writeln!(out, "Limits per run: {}.", limits.join("; "));
    if !settings.rules_checked {
        let _ = writeln!(out, "The rules on student files were NOT checked (--skip-rules).");
    }
    if let Some(sub) = &results.submission {
        let _ = writeln!(
            out,
            "Submission: graded in the grader's own tree, with these files of the submission: {}.",
            if sub.copied.is_empty() { "none".to_string() } else { sub.copied.join(", ") }
        );
    }
    if let Some(shard) = results.shard {
        let planned: usize = results.tests.iter().map(|t| t.planned_runs as usize).sum();
        let _ = writeln!(
            out,
            "This is shard {shard} of a split job: {} of its {planned} runs. Combine all shards' \
             results.json with `grade merge` for the final score.",
            score.runs
        );
    }
    let _ = writeln!(out);
    render_rules(&mut out, results);

    if results.tests.is_empty() {
        render_nothing_graded(&mut out, results);
    } else {
        render_table(&mut out, results, per_test);
    }
    render_failures(&mut out, results);
    render_warnings(&mut out, results);
    render_ignored(&mut out, results);
    render_skipped(&mut out, results);
    render_uncatalogued(&mut out, results);
    out
}

/// How many ignored files and warnings the scoreboard shows.
const LISTED: usize = 20;

/// Broken rules and a failed build: why tests were not even run.
fn render_rules(out: &mut String, results: &Results) {
    if !results.rules.violations.is_empty() {
        let _ = writeln!(
            out,
            "Broken rules ({}); {} {} not built and score(s) nothing. The rules are in each lab's \
             handout, under \"Rules for your code\":",
            results.rules.violations.len(),
            if results.rules.blocked.is_empty() {
                "nothing".to_string()
            } else {
                results.rules.blocked.join(", ")
            },
            if results.rules.blocked.len() == 1 { "was" } else { "were" }
        );
        for v in &results.rules.violations {
            let _ = writeln!(out, "  {v}");
        }
        let _ = writeln!(out);
    }
    if let Some(failure) = &results.build_failure {
        let _ = writeln!(out, "Not built: {failure}. Every run of the tests below fails.");
        let _ = writeln!(out);
    }
}

/// Runs whose statistics were out of line (slow, large, many threads or RPCs).
fn render_warnings(out: &mut String, results: &Results) {
    let flagged: Vec<(&TestResult, &crate::results::RunResult, &String)> = results
        .tests
        .iter()
        .flat_map(|t| t.runs.iter().flat_map(move |r| r.warnings.iter().map(move |w| (t, r, w))))
        .collect();
    if flagged.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "Warnings ({}): runs out of line, with the likely cause (a pathological run that passes is \
         still a bug){}:",
        flagged.len(),
        if flagged.len() > LISTED {
            format!("; the first {LISTED}, all in results.json")
        } else {
            String::new()
        }
    );
    for (t, r, w) in flagged.iter().take(LISTED) {
        let _ = writeln!(out, "  {} {} {} ({}): {}", t.part, t.package, t.test, r.mode.label(), w);
    }
    let _ = writeln!(out);
}

/// The submission's files that the grader did not use.
fn render_ignored(out: &mut String, results: &Results) {
    let Some(sub) = &results.submission else { return };
    if sub.ignored.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "Ignored: {} file(s) of the submission are not the student's and differ from the handout; the \
         grader used its own{}:",
        sub.ignored_total,
        if sub.ignored_total > LISTED { format!(" (the first {LISTED})") } else { String::new() }
    );
    for file in sub.ignored.iter().take(LISTED) {
        let _ = writeln!(out, "  ignored: {file}");
    }
    let _ = writeln!(out);
}

/// The explanation when no test was graded.
fn render_nothing_graded(out: &mut String, results: &Results) {
    let _ = writeln!(out, "Nothing was graded.");
    if results.skipped.is_empty() {
        let _ = writeln!(out, "The catalogue (after the --lab/--test filters) has no entries.");
    } else {
        let _ = writeln!(
            out,
            "None of the {} selected catalogue entries names a test that exists in the built \
             test binaries; each is listed below with the reason. The suites may not be \
             written yet, or the catalogue's names may not match them (`grade run --list` \
             shows both).",
            results.skipped.len()
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "Total: 0 / 0 points (nothing graded).");
    let _ = writeln!(out);
}

/// The per-test table, the per-part totals and the total.
fn render_table(out: &mut String, results: &Results, per_test: usize) {
    let rows: Vec<[String; 6]> = results
        .tests
        .iter()
        .map(|t| {
            [
                t.part.clone(),
                t.package.clone(),
                t.test.clone(),
                format!("{}/{}", t.passed(), t.runs.len()),
                format!("{:.2} / {}", t.earned(), format_points(t.points)),
                notes(t),
            ]
        })
        .collect();
    let header = ["Part", "Package", "Test", "Passed", "Points", "Notes"].map(String::from);
    let mut widths = [0usize; 6];
    for row in rows.iter().chain(std::iter::once(&header)) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |out: &mut String, row: &[String; 6]| {
        let mut s = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            if i == 4 {
                let _ = write!(s, "{cell:>w$}  ");
            } else {
                let _ = write!(s, "{cell:<w$}  ");
            }
        }
        let _ = writeln!(out, "{}", s.trim_end());
    };
    line(out, &header);
    let rule = widths.map(|w| "-".repeat(w));
    line(out, &rule);
    for row in &rows {
        line(out, row);
    }
    let _ = writeln!(out);

    let mut parts: Vec<&str> = Vec::new();
    for t in &results.tests {
        if !parts.contains(&t.part.as_str()) {
            parts.push(&t.part);
        }
    }
    let part_width = parts.iter().map(|p| p.chars().count()).max().unwrap_or(0).max("Total".len());
    let _ = writeln!(out, "{:<part_width$}  Points", "Part");
    for part in parts {
        let tests: Vec<&TestResult> = results.tests.iter().filter(|t| t.part == part).collect();
        let earned: f64 = tests.iter().map(|t| t.earned()).fold(0.0, |a, b| a + b);
        let possible: f64 = tests.iter().map(|t| t.points).fold(0.0, |a, b| a + b);
        let failing = tests.iter().filter(|t| t.passed() < t.runs.len()).count();
        let _ = writeln!(
            out,
            "{part:<part_width$}  {earned:>7.2} / {:<6}  {} test(s){}",
            format_points(possible),
            tests.len(),
            if failing > 0 { format!(", {failing} failing") } else { String::new() }
        );
    }
    let score = results.compute_score();
    let verdict = if score.full {
        "FULL SCORE".to_string()
    } else if results.shard.is_some() {
        format!("{} of this shard's runs failed", score.failed_runs)
    } else {
        let failing = results.tests.iter().filter(|t| t.passed() < t.runs.len()).count();
        let incomplete = results.tests.iter().filter(|t| t.runs.len() != t.planned_runs as usize).count();
        let mut why = Vec::new();
        if failing > 0 {
            why.push(format!("{failing} test(s) failed at least one run"));
        }
        if incomplete > 0 {
            why.push(format!("{incomplete} test(s) are missing runs"));
        }
        if results.settings.strict && !results.skipped.is_empty() {
            why.push(format!("--strict and {} catalogue entries were skipped", results.skipped.len()));
        }
        format!("NOT FULL: {}", why.join("; "))
    };
    let _ = writeln!(
        out,
        "{:<part_width$}  {:>7.2} / {:<6}  {verdict}",
        "Total",
        score.earned,
        format_points(score.possible)
    );
    let _ = writeln!(
        out,
        "{} test(s), {} run(s) ({per_test} per test), {} failed.",
        results.tests.len(),
        score.runs,
        score.failed_runs
    );
    let _ = writeln!(out);
}

/// The notes column: counts of timeouts and errors.
fn notes(t: &TestResult) -> String {
    let count = |o: Outcome| t.runs.iter().filter(|r| r.outcome == o).count();
    let mut notes = Vec::new();
    for (outcome, word) in [(Outcome::Timeout, "timeout"), (Outcome::Error, "error")] {
        match count(outcome) {
            0 => {}
            1 => notes.push(format!("1 {word}")),
            n => notes.push(format!("{n} {word}s")),
        }
    }
    let warned = t.runs.iter().filter(|r| !r.warnings.is_empty()).count();
    match warned {
        0 => {}
        1 => notes.push("1 warning".to_string()),
        n => notes.push(format!("{n} runs with warnings")),
    }
    if t.runs.is_empty() {
        notes.push("no runs in this shard".to_string());
    }
    notes.join(", ")
}

/// Every failing test with its failing runs and replay commands.
fn render_failures(out: &mut String, results: &Results) {
    let failing: Vec<&TestResult> = results.tests.iter().filter(|t| t.passed() < t.runs.len()).collect();
    if failing.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "Failures ({} test(s)); full output of each failed run under the results folder:",
        failing.len()
    );
    for t in failing {
        let failed: Vec<_> = t.runs.iter().filter(|r| r.outcome != Outcome::Pass).collect();
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "  {} {} {}: {} of {} run(s) failed; logs: {}/",
            t.part,
            t.package,
            t.test,
            failed.len(),
            t.runs.len(),
            t.log_dir
        );
        let label_width = failed.iter().map(|r| r.mode.label().len()).max().unwrap_or(0);
        for r in &failed {
            let reason = r.reason.as_deref().unwrap_or("");
            let _ = writeln!(
                out,
                "    {:<label_width$}  {:<7}  {}",
                r.mode.label(),
                r.outcome.word(),
                shorten(reason, 100)
            );
        }
        let first_sim = failed.iter().find(|r| matches!(r.mode, Mode::Sim { .. }));
        let first_real = failed.iter().find(|r| matches!(r.mode, Mode::Real { .. }));
        for r in first_sim.into_iter().chain(first_real) {
            let _ = writeln!(out, "    replay: {}", replay_command(&t.package, &t.binary, &t.test, &r.mode));
        }
    }
    let _ = writeln!(out);
}

/// The catalogue entries that were not graded.
fn render_skipped(out: &mut String, results: &Results) {
    if results.skipped.is_empty() {
        return;
    }
    let points: f64 = results.skipped.iter().map(|s| s.points).fold(0.0, |a, b| a + b);
    let _ = writeln!(
        out,
        "Not graded: {} catalogue entr{} ({} points){}:",
        results.skipped.len(),
        if results.skipped.len() == 1 { "y" } else { "ies" },
        format_points(points),
        if results.settings.strict {
            "; under --strict they make the score not full"
        } else {
            ", not counted in the total"
        }
    );
    for s in &results.skipped {
        let _ = writeln!(
            out,
            "  {} {} {} {} (line {}): {}",
            s.part, s.package, s.binary, s.test, s.catalogue_line, s.reason
        );
    }
    let _ = writeln!(out);
}

/// Tests that exist but that the catalogue does not name.
fn render_uncatalogued(out: &mut String, results: &Results) {
    let n = results.uncatalogued.len();
    if n == 0 {
        return;
    }
    let _ = writeln!(
        out,
        "{n} test(s) in the built test binaries are not in the catalogue and were not graded{}:",
        if n > UNCATALOGUED_SHOWN {
            format!(" (the first {UNCATALOGUED_SHOWN}; `grade run --list` shows all)")
        } else {
            String::new()
        }
    );
    for name in results.uncatalogued.iter().take(UNCATALOGUED_SHOWN) {
        let _ = writeln!(out, "  {name}");
    }
    let _ = writeln!(out);
}

/// Cuts a reason to `max` characters.
fn shorten(text: &str, max: usize) -> String {
    let line = text.lines().next().unwrap_or("");
    if line.chars().count() <= max {
        line.to_string()
    } else {
        let cut: String = line.chars().take(max.saturating_sub(3)).collect();
        format!("{cut}...")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_and_seeds() {
        assert_eq!(format_points(5.0), "5");
        assert_eq!(format_points(2.5), "2.5");
        assert_eq!(format_points(0.0), "0");
        assert_eq!(format_points(1.333), "1.33");
        assert_eq!(describe_seeds(&[1, 2, 3, 4, 5]), "1-5");
        assert_eq!(describe_seeds(&[7]), "7");
        assert_eq!(describe_seeds(&[1, 5, 9]), "1, 5, 9");
        assert_eq!(describe_seeds(&[]), "none");
    }

    #[test]
    fn warnings_and_ignored_files_are_shown() {
        let json = serde_json::json!({
            "format": crate::results::FORMAT, "tool": "grade", "graded_path": ".",
            "settings": {"seeds": [1], "real_runs": 0, "timeout_secs": 9, "labs": [], "test_filter": null,
                         "catalogue": "t", "strict": false, "memory_limit_bytes": 4294967296u64,
                         "max_threads": 10000, "rules_checked": true},
            "shard": null,
            "tests": [{"part": "3C", "package": "raft-tests", "binary": "lab3c", "test": "figure8_3c", "points": 4.0,
                       "catalogue_line": 1, "log_dir": "figure8_3c", "planned_runs": 1,
                       "runs": [{"mode": "sim", "seed": 1, "outcome": "pass", "seconds": 72.0, "exit_code": 0,
                                 "reason": null, "log": null, "replay": "r", "warnings": ["slow: 72.0 s of wall time"]}]}],
            "skipped": [], "uncatalogued": [],
            "submission": {"path": "s", "tree": "t", "copied": ["raft/src/raft.rs"],
                           "ignored": ["raft-tests/tests/lab3a.rs differs from the handout"], "ignored_total": 1},
            "rules": {"violations": [], "blocked": []}, "network": "isolated",
            "wall_secs": 1.0,
            "score": {"earned": 4.0, "possible": 4.0, "skipped_points": 0.0, "runs": 1, "failed_runs": 0, "full": true}
        });
        let results: Results = serde_json::from_value(json).unwrap();
        let text = render(&results);
        assert!(text.contains("Limits per run: memory 4 GiB (address space); at most 10000 threads at once; network isolated."), "{text}");
        assert!(text.contains("Warnings (1)"), "{text}");
        assert!(text.contains("  3C raft-tests figure8_3c (seed 1): slow: 72.0 s of wall time"), "{text}");
        assert!(text.contains("  ignored: raft-tests/tests/lab3a.rs differs from the handout"), "{text}");
        assert!(text.contains("1 warning"), "{text}");
    }

    #[test]
    fn shorten_cuts_long_reasons() {
        assert_eq!(shorten("abc\nmore", 10), "abc");
        assert_eq!(shorten("abcdefghijkl", 8), "abcde...");
    }
}
