//! Live progress while the runs execute.
//!
//! On a terminal: an indicatif bar with runs done and total, failures so far and an ETA,
//! and a line above it for each failed run as it happens. Elsewhere (CI logs, pipes) a bar
//! would print escape codes and carriage returns, so each finished run becomes one plain
//! line instead. Progress goes to stderr; the scoreboard goes to stdout.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::results::{Outcome, RunResult};

/// Reports finished runs.
pub enum Progress {
    /// A live bar on the terminal.
    Bar {
        /// The bar.
        bar: ProgressBar,
        /// Failed runs so far.
        failures: usize,
    },
    /// One line per finished run.
    Plain {
        /// Runs in all.
        total: usize,
        /// Runs finished.
        done: usize,
        /// Failed runs so far.
        failures: usize,
    },
}

impl Progress {
    /// A bar when stderr is a terminal and `plain` is false, plain lines otherwise.
    pub fn new(total: usize, plain: bool) -> Progress {
        if plain || !std::io::stderr().is_terminal() {
            return Progress::Plain { total, done: 0, failures: 0 };
        }
        let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} runs, {msg}, ETA {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_message("0 failed");
        bar.enable_steady_tick(Duration::from_millis(200));
        Progress::Bar { bar, failures: 0 }
    }

    /// Reports one finished run of `what` (e.g. `3A raft initial_election_3a`).
    pub fn finished(&mut self, what: &str, run: &RunResult) {
        let failed = run.outcome != Outcome::Pass;
        let line = format!(
            "{:<7} {what} {} ({:.1} s){}",
            run.outcome.word(),
            run.mode.label(),
            run.seconds,
            match (&run.reason, failed) {
                (Some(reason), true) => format!(": {}", reason.lines().next().unwrap_or("")),
                _ => String::new(),
            }
        );
        match self {
            Progress::Bar { bar, failures } => {
                if failed {
                    *failures += 1;
                    bar.set_message(format!("{failures} failed"));
                    bar.println(line);
                }
                bar.inc(1);
            }
            Progress::Plain { total, done, failures } => {
                *done += 1;
                if failed {
                    *failures += 1;
                }
                let width = total.to_string().len();
                let mut err = std::io::stderr().lock();
                let _ = writeln!(err, "[{done:>width$}/{total}] {line}");
            }
        }
    }

    /// Clears the bar (plain lines stay).
    pub fn finish(self) {
        if let Progress::Bar { bar, .. } = self {
            bar.finish_and_clear();
        }
    }
}
