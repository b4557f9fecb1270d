//! The JUnit XML report, for CI systems that display test results.
//!
//! Written by hand (the format is small and the grader takes no XML dependency). One
//! `<testsuite>` per part, one `<testcase>` per run (`name [seed 3]`), and a `<skipped>` case
//! for each catalogue entry that was not graded. A failed run's `<failure>` holds its reason,
//! its replay command and the tail of its log. Text is escaped, and characters that XML 1.0
//! cannot carry (most control characters, such as the ESC of terminal colours) are dropped.

use std::fmt::Write as _;
use std::path::Path;

use crate::results::{Outcome, Results, replay_command};

/// How much of a failed run's log goes into its `<failure>` element.
const LOG_TAIL_BYTES: u64 = 16 << 10;

/// Escapes text for XML content and attribute values, dropping characters XML cannot hold.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 => {}
            '\u{FFFE}' | '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// Renders the JUnit XML for `results`. Failure logs are read from `results_dir`, where
/// each run's `log` path points.
pub fn render(results: &Results, results_dir: &Path) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in
        results.tests.iter().map(|t| t.part.as_str()).chain(results.skipped.iter().map(|s| s.part.as_str()))
    {
        if !parts.contains(&part) {
            parts.push(part);
        }
    }
    let score = results.compute_score();
    let total_time: f64 =
        results.tests.iter().flat_map(|t| &t.runs).map(|r| r.seconds).fold(0.0, |a, b| a + b);
    let mut out = String::new();
    let _ = writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let _ = writeln!(
        out,
        r#"<testsuites name="distlab grade" tests="{}" failures="{}" errors="0" skipped="{}" time="{total_time:.3}">"#,
        score.runs + results.skipped.len(),
        score.failed_runs,
        results.skipped.len()
    );
    for part in parts {
        let tests: Vec<_> = results.tests.iter().filter(|t| t.part == part).collect();
        let skipped: Vec<_> = results.skipped.iter().filter(|s| s.part == part).collect();
        let runs: usize = tests.iter().map(|t| t.runs.len()).sum();
        let failures: usize = tests.iter().map(|t| t.runs.len() - t.passed()).sum();
        let time: f64 = tests.iter().flat_map(|t| &t.runs).map(|r| r.seconds).fold(0.0, |a, b| a + b);
        let _ = writeln!(
            out,
            r#"  <testsuite name="{}" tests="{}" failures="{failures}" errors="0" skipped="{}" time="{time:.3}">"#,
            escape(part),
            runs + skipped.len(),
            skipped.len()
        );
        for t in tests {
            let classname = escape(&format!("{}.{}", t.package, t.binary));
            for r in &t.runs {
                let name = escape(&format!("{} [{}]", t.test, r.mode.label()));
                if r.outcome == Outcome::Pass {
                    let _ = writeln!(
                        out,
                        r#"    <testcase classname="{classname}" name="{name}" time="{:.3}"/>"#,
                        r.seconds
                    );
                    continue;
                }
                let _ = writeln!(
                    out,
                    r#"    <testcase classname="{classname}" name="{name}" time="{:.3}">"#,
                    r.seconds
                );
                let reason = r.reason.as_deref().unwrap_or("failed");
                let mut body =
                    format!("replay: {}\n", replay_command(&t.package, &t.binary, &t.test, &r.mode));
                if let Some(log) = &r.log {
                    let _ = writeln!(body, "log: {log}\n");
                    body.push_str(&log_tail(&results_dir.join(log)));
                }
                let _ = writeln!(
                    out,
                    r#"      <failure type="{}" message="{}">{}</failure>"#,
                    r.outcome.word().to_lowercase(),
                    escape(reason),
                    escape(&body)
                );
                let _ = writeln!(out, "    </testcase>");
            }
        }
        for s in skipped {
            let _ = writeln!(
                out,
                r#"    <testcase classname="{}" name="{}" time="0">"#,
                escape(&format!("{}.{}", s.package, s.binary)),
                escape(&s.test)
            );
            let _ = writeln!(
                out,
                r#"      <skipped message="{}"/>"#,
                escape(&format!("not graded: {}", s.reason))
            );
            let _ = writeln!(out, "    </testcase>");
        }
        let _ = writeln!(out, "  </testsuite>");
    }
    let _ = writeln!(out, "</testsuites>");
    out
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

    #[test]
    fn escapes_markup_and_drops_control_characters() {
        assert_eq!(escape("a<b>&\"c'\u{1b}[31m\tx\n"), "a&lt;b&gt;&amp;&quot;c&apos;[31m\tx\n");
    }
}
