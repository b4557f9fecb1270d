//! `lablog`: a distlab run's events in the terminal, one colored column per node.
//!
//! ```text
//! lablog target/lab-reports/basic_agree_3b-42.events.jsonl --node server-1 --level info
//! ```
//!
//! All the logic is in [`report::viewer`], which `grade logs` shares.

fn main() -> std::process::ExitCode {
    report::viewer::main_with_args(std::env::args().skip(1))
}
