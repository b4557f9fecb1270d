//! The JUnit XML report, for CI systems that display test results.
//!
//! One `<testsuite>` per part, one `<testcase>` per run (`name [seed 3]`), and a `<skipped>` case
//! for each catalogue entry that was not graded. A failed run's `<failure>` holds its reason,
//! its replay command and the tail of its log.
//!
//! The XML is written by `quick-junit`, which escapes text and drops what XML 1.0 cannot
//! carry: ANSI escape sequences (terminal colours) and control characters. It drops tabs and
//! carriage returns with them, so [`xml_text`] first expands tabs to spaces and turns carriage
//! returns into line breaks (as an XML reader would read them), so that a log's words stay
//! apart, and drops U+FFFE and U+FFFF, which XML forbids but quick-junit lets through.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, SerializeError, TestCase, TestCaseStatus, TestSuite};

use crate::results::{Outcome, Results, RunResult, TestResult, replay_command};

/// How much of a failed run's log goes into its `<failure>` element.
const LOG_TAIL_BYTES: u64 = 16 << 10;

/// The tab stops [`xml_text`] expands tabs to.
const TAB_WIDTH: usize = 8;

/// Prepares text for quick-junit: tabs expanded to spaces, carriage returns made line breaks,
/// and U+FFFE and U+FFFF dropped. quick-junit then escapes markup and drops escape sequences
/// and the remaining control characters.
pub fn xml_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut column = 0;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\t' => {
                let spaces = TAB_WIDTH - column % TAB_WIDTH;
                out.extend(std::iter::repeat_n(' ', spaces));
                column += spaces;
            }
            // `\r\n` is one line break; a lone `\r` becomes one.
            '\r' if chars.peek() == Some(&'\n') => {}
            '\r' | '\n' => {
                out.push('\n');
                column = 0;
            }
            '\u{FFFE}' | '\u{FFFF}' => {}
            c => {
                out.push(c);
                column += 1;
            }
        }
    }
    out
}

/// Renders the JUnit XML for `results`. Failure logs are read from `results_dir`, where
/// each run's `log` path points.
pub fn render(results: &Results, results_dir: &Path) -> Result<String, SerializeError> {
    let mut parts: Vec<&str> = Vec::new();
    for part in
        results.tests.iter().map(|t| t.part.as_str()).chain(results.skipped.iter().map(|s| s.part.as_str()))
    {
        if !parts.contains(&part) {
            parts.push(part);
        }
    }
    let mut report = Report::new("distlab grade");
    for part in parts {
        let mut suite = TestSuite::new(xml_text(part));
        let tests: Vec<&TestResult> = results.tests.iter().filter(|t| t.part == part).collect();
        for t in &tests {
            let classname = xml_text(&format!("{}.{}", t.package, t.binary));
            for r in &t.runs {
                let name = xml_text(&format!("{} [{}]", t.test, r.mode.label()));
                let mut case = TestCase::new(name, run_status(t, r, results_dir));
                case.set_classname(&classname).set_time(seconds(r.seconds));
                suite.add_test_case(case);
            }
        }
        for s in results.skipped.iter().filter(|s| s.part == part) {
            let mut status = TestCaseStatus::skipped();
            status.set_message(xml_text(&format!("not graded: {}", s.reason)));
            let mut case = TestCase::new(xml_text(&s.test), status);
            case.set_classname(xml_text(&format!("{}.{}", s.package, s.binary))).set_time(Duration::ZERO);
            suite.add_test_case(case);
        }
        suite.set_time(seconds(run_seconds(tests.iter().copied())));
        report.add_test_suite(suite);
    }
    report.set_time(seconds(run_seconds(&results.tests)));
    report.to_string()
}

/// A run's status: success, or a failure whose type is the outcome (`fail`, `timeout`,
/// `error`), whose message is the reason, and whose text is the replay command and the tail
/// of the log.
fn run_status(t: &TestResult, r: &RunResult, results_dir: &Path) -> TestCaseStatus {
    if r.outcome == Outcome::Pass {
        return TestCaseStatus::success();
    }
    let mut body = format!("replay: {}\n", replay_command(&t.package, &t.binary, &t.test, &r.mode));
    if let Some(log) = &r.log {
        let _ = writeln!(body, "log: {log}\n");
        body.push_str(&log_tail(&results_dir.join(log)));
    }
    let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
    status
        .set_type(r.outcome.word().to_lowercase())
        .set_message(xml_text(r.reason.as_deref().unwrap_or("failed")))
        .set_description(xml_text(&body));
    status
}

/// The wall time of all runs of `tests`, in seconds. (A sum starts from 0.0 with `fold`: an
/// empty `f64` sum is -0.0.)
fn run_seconds<'a>(tests: impl IntoIterator<Item = &'a TestResult>) -> f64 {
    tests.into_iter().flat_map(|t| &t.runs).map(|r| r.seconds).fold(0.0, |a, b| a + b)
}

/// Seconds as a [`Duration`]; 0 for a value that is not one (negative, NaN or huge, as a
/// hand-edited `results.json` given to `grade merge` may hold).
fn seconds(secs: f64) -> Duration {
    Duration::try_from_secs_f64(secs).unwrap_or(Duration::ZERO)
}

/// The last [`LOG_TAIL_BYTES`] of a log file, or a note that it cannot be read.
fn log_tail(path: &Path) -> String {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut file) = std::fs::File::open(path) else {
        return format!("(log {} not found)\n", path.display());
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut prefix = String::new();
    if len > LOG_TAIL_BYTES {
        let _ = file.seek(SeekFrom::Start(len - LOG_TAIL_BYTES));
        prefix = format!("[... the first {} bytes are in the log file ...]\n", len - LOG_TAIL_BYTES);
    }
    let mut bytes = Vec::new();
    let _ = file.read_to_end(&mut bytes);
    prefix + &String::from_utf8_lossy(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{FORMAT, Mode, Score, Settings, Skipped};

    #[test]
    fn text_keeps_words_apart_and_drops_what_xml_cannot_hold() {
        assert_eq!(xml_text("a\tb\r\nc\rd\u{FFFF}e\u{FFFE}"), "a       b\nc\nde");
        assert_eq!(xml_text("abc\tx\n\ty"), "abc     x\n        y");
    }

    fn run(seed: u64, outcome: Outcome, reason: Option<&str>) -> RunResult {
        RunResult {
            mode: Mode::Sim { seed },
            outcome,
            seconds: 0.25,
            exit_code: Some(101),
            reason: reason.map(str::to_string),
            log: None,
            replay: String::new(),
            verdict_channel: true,
            stats: None,
            warnings: Vec::new(),
            sampled_peak_rss_bytes: None,
        }
    }

    #[test]
    fn renders_runs_failures_and_skipped_entries() {
        let results = Results {
            format: FORMAT,
            tool: "grade".into(),
            graded_path: ".".into(),
            settings: Settings {
                seeds: vec![1, 2],
                real_runs: 0,
                timeout_secs: 1,
                labs: Vec::new(),
                test_filter: None,
                catalogue: "t".into(),
                strict: false,
                memory_limit_bytes: None,
                max_threads: None,
                rules_checked: true,
            },
            shard: None,
            merged_from: Vec::new(),
            tests: vec![TestResult {
                part: "3A".into(),
                package: "raft".into(),
                binary: "raft_3a".into(),
                test: "election_3a".into(),
                points: 5.0,
                catalogue_line: 1,
                log_dir: "election_3a".into(),
                planned_runs: 2,
                runs: vec![
                    run(1, Outcome::Pass, None),
                    run(2, Outcome::Timeout, Some("\u{1b}[31mtook <too> long\u{1b}[0m & \"more\"\u{7}")),
                ],
            }],
            skipped: vec![Skipped {
                part: "3B".into(),
                package: "raft".into(),
                binary: "*".into(),
                test: "backup_3b".into(),
                points: 5.0,
                catalogue_line: 2,
                reason: "no test named `backup_3b`".into(),
            }],
            uncatalogued: Vec::new(),
            submission: None,
            rules: Default::default(),
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
        let xml = render(&results, Path::new("/nonexistent")).unwrap();
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"), "{xml}");
        assert!(
            xml.contains(r#"<testsuites name="distlab grade" tests="3" skipped="1" failures="1" errors="0" time="0.500">"#),
            "{xml}"
        );
        assert!(
            xml.contains(
                r#"<testsuite name="3A" tests="2" skipped="0" errors="0" failures="1" time="0.500">"#
            )
        );
        assert!(
            xml.contains(r#"<testcase name="election_3a [seed 1]" classname="raft.raft_3a" time="0.250"/>"#)
        );
        assert!(
            xml.contains(r#"<failure message="took &lt;too&gt; long &amp; &quot;more&quot;" type="timeout">replay: LAB_SEED=2 cargo test --release -p raft --test raft_3a -- --exact election_3a"#),
            "{xml}"
        );
        assert!(xml.contains(r#"<testcase name="backup_3b" classname="raft.*" time="0.000">"#), "{xml}");
        assert!(xml.contains(r#"<skipped message="not graded: no test named `backup_3b`"/>"#), "{xml}");
        assert!(!xml.chars().any(|c| c.is_control() && c != '\n'), "{xml}");
    }
}
