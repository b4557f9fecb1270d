//! The results of a grading run: what `results.json` holds, and the scores derived from it.
//!
//! Everything the scoreboard, the JUnit file and `grade merge` need is in this one model, so
//! that a merged set of shard results is scored by the same code, from the same data, as an
//! unsharded run. Scores are computed from the runs, never stored as the source of truth.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// The version of the `results.json` format (2: verdicts, statistics, warnings, limits, the
/// submission's ignored files and the rules).
pub const FORMAT: u32 = 2;

/// The most characters of a run's reason kept in `results.json`.
pub const REASON_CHARS: usize = 400;

/// `text` on one line: lines trimmed and joined with a space, cut to `max` characters (with
/// `...`). A multi-line failure keeps its sentence: `get wrong value, key "0", wanted: v , got w`.
pub fn one_line(text: &str, max: usize) -> String {
    let joined = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ");
    if joined.chars().count() <= max {
        joined
    } else {
        let cut: String = joined.chars().take(max.saturating_sub(3)).collect();
        format!("{cut}...")
    }
}

/// What one run used, as its harness reported it on the verdict channel.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RunStats {
    /// Wall time of the run, seconds.
    pub wall_secs: f64,
    /// The run's own clock at its end (virtual under sim), seconds.
    pub elapsed_secs: f64,
    /// Peak resident set size of the process, bytes.
    pub peak_rss_bytes: Option<u64>,
    /// Threads spawned.
    pub threads: u64,
    /// RPCs sent.
    pub rpcs: u64,
    /// Client operations recorded.
    pub ops: u64,
}

/// How a test is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "lowercase")]
pub enum Mode {
    /// The deterministic simulation with this seed (`LAB_SEED`).
    Sim {
        /// The seed.
        seed: u64,
    },
    /// The real backend (`LAB_RUNTIME=real`); the k-th such run of the test, from 1.
    Real {
        /// Which real run, from 1.
        index: u32,
    },
}

impl Mode {
    /// The run's label: `seed 3` or `real 1`.
    pub fn label(&self) -> String {
        match self {
            Mode::Sim { seed } => format!("seed {seed}"),
            Mode::Real { index } => format!("real {index}"),
        }
    }

    /// The log file name within the test's log folder: `3.log` or `real-1.log`.
    pub fn log_file(&self) -> String {
        match self {
            Mode::Sim { seed } => format!("{seed}.log"),
            Mode::Real { index } => format!("real-{index}.log"),
        }
    }

    /// The environment prefix of the replay command.
    pub fn env_prefix(&self) -> String {
        match self {
            Mode::Sim { seed } => format!("LAB_SEED={seed}"),
            Mode::Real { .. } => "LAB_RUNTIME=real".to_string(),
        }
    }
}

/// How one run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The test passed.
    Pass,
    /// The test failed (a panic, a non-zero exit, a signal, or it did not run).
    Fail,
    /// It ran past the per-run timeout and was killed.
    Timeout,
    /// The grader could not run it at all.
    Error,
}

impl Outcome {
    /// A short upper-case word for progress lines.
    pub fn word(&self) -> &'static str {
        match self {
            Outcome::Pass => "PASS",
            Outcome::Fail => "FAIL",
            Outcome::Timeout => "TIMEOUT",
            Outcome::Error => "ERROR",
        }
    }
}

/// One (test, seed) run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    /// Sim seed or real-mode run.
    #[serde(flatten)]
    pub mode: Mode,
    /// How it ended.
    pub outcome: Outcome,
    /// Wall time in seconds.
    pub seconds: f64,
    /// The exit code, when it exited normally.
    pub exit_code: Option<i32>,
    /// Why it did not pass, in one line.
    pub reason: Option<String>,
    /// Its full output, relative to the results folder (failed runs only).
    pub log: Option<String>,
    /// The command that replays it, run in the graded workspace.
    pub replay: String,
    /// Whether the verdict came from the harness's verdict channel (the labs' tests) rather
    /// than from the output (other packages, whose output is trusted).
    #[serde(default)]
    pub verdict_channel: bool,
    /// What the run used, as the harness reported it.
    #[serde(default)]
    pub stats: Option<RunStats>,
    /// The harness's warnings: statistics out of line, with the likely cause.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Peak RSS as the grader sampled it from `/proc` while the run ran, bytes.
    #[serde(default)]
    pub sampled_peak_rss_bytes: Option<u64>,
}

/// One graded test and its runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestResult {
    /// The part label.
    pub part: String,
    /// The Cargo package.
    pub package: String,
    /// The test binary: an integration-test target name, or `lib`.
    pub binary: String,
    /// The full test name.
    pub test: String,
    /// Points for passing every run.
    pub points: f64,
    /// The catalogue line.
    pub catalogue_line: usize,
    /// The folder of its failure logs, relative to the results folder.
    pub log_dir: String,
    /// How many runs an unsharded grading makes of it.
    pub planned_runs: u32,
    /// The runs made (all of them, or this shard's).
    pub runs: Vec<RunResult>,
}

impl TestResult {
    /// Runs that passed.
    pub fn passed(&self) -> usize {
        self.runs.iter().filter(|r| r.outcome == Outcome::Pass).count()
    }

    /// Points earned: `points × passed / runs` (0 when it has no runs).
    pub fn earned(&self) -> f64 {
        if self.runs.is_empty() { 0.0 } else { self.points * self.passed() as f64 / self.runs.len() as f64 }
    }

    /// True when every run made passed (and there was at least one).
    pub fn all_passed(&self) -> bool {
        !self.runs.is_empty() && self.passed() == self.runs.len()
    }

    /// The `cargo test` selector of its binary: `--test NAME` or `--lib`.
    pub fn cargo_selector(&self) -> String {
        cargo_selector(&self.binary)
    }
}

/// The `cargo test` selector for a binary label: `--test NAME`, `--lib` for `lib`, or nothing
/// for `*` (a test whose binary is not known because it was not built).
pub fn cargo_selector(binary: &str) -> String {
    match binary {
        "lib" => "--lib".to_string(),
        "*" => String::new(),
        name => format!("--test {name}"),
    }
}

/// The replay command of one run. The grader builds in release mode, so the command does too:
/// pasting it reuses that build instead of compiling everything again in another profile.
pub fn replay_command(package: &str, binary: &str, test: &str, mode: &Mode) -> String {
    let selector = cargo_selector(binary);
    let selector = if selector.is_empty() { String::new() } else { format!(" {selector}") };
    format!("{} cargo test --release -p {package}{selector} -- --exact {test}", mode.env_prefix())
}

/// A catalogue entry that was not graded, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Skipped {
    /// The part label.
    pub part: String,
    /// The package.
    pub package: String,
    /// The binary as written in the catalogue.
    pub binary: String,
    /// The test name as written in the catalogue.
    pub test: String,
    /// Its points.
    pub points: f64,
    /// The catalogue line.
    pub catalogue_line: usize,
    /// Why it was not graded.
    pub reason: String,
}

/// One shard of a split grading job: the `index`-th of `count`, from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Shard {
    /// Which shard, from 1.
    pub index: u32,
    /// How many shards.
    pub count: u32,
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The settings that decide what is run; shards of one job must agree on them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// The sim seeds, in order.
    pub seeds: Vec<u64>,
    /// Real-mode runs per test.
    pub real_runs: u32,
    /// Per-run timeout, seconds.
    pub timeout_secs: u64,
    /// `--lab` filters (empty: all parts).
    pub labs: Vec<String>,
    /// `--test` filter.
    pub test_filter: Option<String>,
    /// Where the catalogue came from.
    pub catalogue: String,
    /// `--strict`: skipped catalogue entries count against a full score.
    pub strict: bool,
    /// The address-space limit of each run, bytes (`None`: none).
    #[serde(default)]
    pub memory_limit_bytes: Option<u64>,
    /// The most threads a run may have at once (`None`: no limit).
    #[serde(default)]
    pub max_threads: Option<u64>,
    /// Whether the student files were checked against the rules.
    #[serde(default)]
    pub rules_checked: bool,
}

/// A submission graded in the grader's own tree ([`crate::tree`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Submission {
    /// The submission's folder.
    pub path: String,
    /// The grader's tree it was built in.
    pub tree: String,
    /// The student files taken from it.
    pub copied: Vec<String>,
    /// Its other changes, not used: `raft-tests/tests/lab3a.rs differs from the handout`.
    pub ignored: Vec<String>,
    /// How many there were (`ignored` keeps the first ones).
    pub ignored_total: usize,
}

/// The rules on the student files ([`crate::rules`]) and what breaking them cost.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RulesReport {
    /// Every broken rule: `raft/src/raft.rs:12:5: breaks the rule "no unsafe": ...`.
    pub violations: Vec<String>,
    /// The labs not built because of them: `Lab 3 (Raft)`.
    pub blocked: Vec<String>,
}

/// Everything `results.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// [`FORMAT`].
    pub format: u32,
    /// The grader's name and version.
    pub tool: String,
    /// The graded workspace.
    pub graded_path: String,
    /// What was run.
    pub settings: Settings,
    /// This file's shard, or `None` for a whole (unsharded or merged) job.
    pub shard: Option<Shard>,
    /// For a merged job: the shards it was made from.
    #[serde(default)]
    pub merged_from: Vec<Shard>,
    /// The graded tests, in catalogue order.
    pub tests: Vec<TestResult>,
    /// Catalogue entries that were not graded.
    pub skipped: Vec<Skipped>,
    /// Tests in the built binaries that no catalogue entry names: `package binary test`.
    pub uncatalogued: Vec<String>,
    /// The submission, when one was graded in the grader's tree.
    #[serde(default)]
    pub submission: Option<Submission>,
    /// The rules on the student files.
    #[serde(default)]
    pub rules: RulesReport,
    /// Why nothing (or not everything) could be built, when the build failed.
    #[serde(default)]
    pub build_failure: Option<String>,
    /// Whether runs had no network: `isolated`, or why not.
    #[serde(default)]
    pub network: String,
    /// Wall time of the run, seconds (the sum over shards for a merge).
    pub wall_secs: f64,
    /// The score, for readers of the file; recomputed from `tests` by the grader.
    pub score: Score,
}

/// A summary of the score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// Points earned.
    pub earned: f64,
    /// Points possible among the graded tests.
    pub possible: f64,
    /// Points of the skipped catalogue entries (not included in `possible`).
    pub skipped_points: f64,
    /// Runs made.
    pub runs: usize,
    /// Runs that did not pass.
    pub failed_runs: usize,
    /// True when the score is full (see [`Results::is_full`]).
    pub full: bool,
}

impl Results {
    /// Computes the score from the runs. (Sums of points start from 0.0 with `fold`: an empty
    /// `f64` sum is -0.0, which would print as "-0.00".)
    pub fn compute_score(&self) -> Score {
        let runs: usize = self.tests.iter().map(|t| t.runs.len()).sum();
        let passed: usize = self.tests.iter().map(TestResult::passed).sum();
        Score {
            earned: self.tests.iter().map(TestResult::earned).fold(0.0, |a, b| a + b),
            possible: self.tests.iter().map(|t| t.points).fold(0.0, |a, b| a + b),
            skipped_points: self.skipped.iter().map(|s| s.points).fold(0.0, |a, b| a + b),
            runs,
            failed_runs: runs - passed,
            full: self.is_full(),
        }
    }

    /// The score is full when at least one test was graded, every run made passed, every
    /// planned run was made (for one shard: every run of that shard), and, under `--strict`,
    /// no catalogue entry was skipped.
    pub fn is_full(&self) -> bool {
        if self.tests.is_empty() || (self.settings.strict && !self.skipped.is_empty()) {
            return false;
        }
        let no_failures = self.tests.iter().all(|t| t.passed() == t.runs.len());
        let complete = self.shard.is_some()
            || self.tests.iter().all(|t| t.runs.len() == t.planned_runs as usize && !t.runs.is_empty());
        no_failures && complete
    }

    /// For `grade run --expect-all-fail` (checking a student handout): every run that did
    /// not fail cleanly, i.e. passed, timed out or could not run, as `test (seed 3): timeout`.
    /// A handout's tests must fail, and fail with a message rather than a hang.
    pub fn unclean_failures(&self) -> Vec<String> {
        self.tests
            .iter()
            .flat_map(|t| {
                t.runs.iter().filter(|r| r.outcome != Outcome::Fail).map(move |r| {
                    format!(
                        "{} {} ({}): {}",
                        t.package,
                        t.test,
                        r.mode.label(),
                        match r.outcome {
                            Outcome::Pass => "passed".to_string(),
                            _ => r.reason.clone().unwrap_or_else(|| r.outcome.word().to_lowercase()),
                        }
                    )
                })
            })
            .collect()
    }

    /// Writes `results.json` into `dir`.
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        let json = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(dir.join("results.json"), json + "\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(seed: u64, outcome: Outcome) -> RunResult {
        RunResult {
            mode: Mode::Sim { seed },
            outcome,
            seconds: 0.1,
            exit_code: Some(0),
            reason: None,
            log: None,
            replay: String::new(),
            verdict_channel: true,
            stats: None,
            warnings: Vec::new(),
            sampled_peak_rss_bytes: None,
        }
    }

    #[test]
    fn earned_is_proportional() {
        let t = TestResult {
            part: "A".into(),
            package: "p".into(),
            binary: "lib".into(),
            test: "t".into(),
            points: 3.0,
            catalogue_line: 1,
            log_dir: "t".into(),
            planned_runs: 4,
            runs: vec![
                run(1, Outcome::Pass),
                run(2, Outcome::Fail),
                run(3, Outcome::Timeout),
                run(4, Outcome::Pass),
            ],
        };
        assert_eq!(t.passed(), 2);
        assert!((t.earned() - 1.5).abs() < 1e-9);
        assert!(!t.all_passed());
    }

    #[test]
    fn empty_results_score_positive_zero() {
        let results = Results {
            format: FORMAT,
            tool: "grade".into(),
            graded_path: ".".into(),
            settings: Settings {
                seeds: vec![1],
                real_runs: 0,
                timeout_secs: 1,
                labs: Vec::new(),
                test_filter: None,
                catalogue: "t".into(),
                strict: false,
                memory_limit_bytes: None,
                max_threads: None,
                rules_checked: false,
            },
            shard: None,
            merged_from: Vec::new(),
            tests: Vec::new(),
            skipped: Vec::new(),
            uncatalogued: Vec::new(),
            submission: None,
            rules: RulesReport::default(),
            build_failure: None,
            network: String::new(),
            wall_secs: 0.0,
            score: Score {
                earned: 0.0,
                possible: 0.0,
                skipped_points: 0.0,
                runs: 0,
                failed_runs: 0,
                full: false,
            },
        };
        let score = results.compute_score();
        assert!(score.earned.is_sign_positive() && score.skipped_points.is_sign_positive());
        assert_eq!(format!("{:.2}", score.possible), "0.00");
        assert!(!results.is_full(), "nothing graded is never a full score");
    }

    #[test]
    fn mode_json_and_replay() {
        let json = serde_json::to_string(&run(7, Outcome::Pass)).unwrap();
        assert!(json.contains("\"mode\":\"sim\",\"seed\":7"), "{json}");
        let back: RunResult = serde_json::from_str(&json).unwrap();
        assert_eq!(back.mode, Mode::Sim { seed: 7 });
        assert_eq!(
            replay_command("raft", "raft_3a", "x_3a", &Mode::Sim { seed: 7 }),
            "LAB_SEED=7 cargo test --release -p raft --test raft_3a -- --exact x_3a"
        );
        assert_eq!(
            replay_command("raft", "lib", "m::x", &Mode::Real { index: 1 }),
            "LAB_RUNTIME=real cargo test --release -p raft --lib -- --exact m::x"
        );
    }

    #[test]
    fn one_line_keeps_the_sentence() {
        let failure = "get wrong value, key \"0\", wanted:\nx 0 0 y\n, got\nx 0 1 y";
        assert_eq!(one_line(failure, 400), "get wrong value, key \"0\", wanted: x 0 0 y , got x 0 1 y");
        assert_eq!(one_line("abcdefghij", 8), "abcde...");
    }
}
