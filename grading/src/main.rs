//! `grade`: distlab's grader and handout builder. See the `grading` library for how it works.
//!
//! Exit status: 0 when the score is full (or the command succeeded), 1 when grading ran but
//! the score is not full, 2 when the grader could not do its job (usage, build, input or
//! output errors).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use grading::error::{EXIT_FULL, EXIT_NOT_FULL, GradeError};
use grading::handout::{self, HandoutOptions};
use grading::results::{Results, Shard};
use grading::run::{self, RunOptions};
use grading::{merge, scoreboard};

/// distlab's grader: scores the lab suites over many seeds, and builds the student handout.
#[derive(Debug, Parser)]
#[command(
    name = "grade",
    version,
    about,
    long_about = None,
    after_help = "Exit status: 0 when the score is full (or the command succeeded), 1 when grading ran \
                  but the score is not full, 2 on a usage, build, input or output error."
)]
struct Cli {
    /// What to do.
    #[command(subcommand)]
    command: Cmd,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
enum Cmd {
    /// Grade a workspace: run each catalogued test over sim seeds and in real mode, score it,
    /// and write a scoreboard, results.json, junit.xml and failure logs.
    Run(RunArgs),
    /// Combine the results.json files of the shards of one job (`grade run --shard i/n`).
    Merge(MergeArgs),
    /// Copy the workspace into DIR with the solution regions stripped.
    Handout(HandoutArgs),
    /// Show a run's events (a failure report's .html or .events.jsonl) in the terminal, one
    /// colored column per node. `grade logs --help` lists the filters.
    #[command(disable_help_flag = true)]
    Logs {
        /// The report file and the viewer's options (as for the `lablog` binary).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

/// Options of `grade run`.
#[derive(Debug, Args)]
struct RunArgs {
    /// Grade only these parts (e.g. 3b, or 3 for 3A-3D); comma-separated or repeated.
    #[arg(long, value_name = "PART", value_delimiter = ',')]
    lab: Vec<String>,
    /// Grade only catalogue tests whose name contains this text.
    #[arg(long, value_name = "TEXT")]
    test: Option<String>,
    /// Sim seeds per test: seeds FIRST..FIRST+N-1.
    #[arg(long, value_name = "N", default_value_t = 5)]
    seeds: u32,
    /// The first sim seed.
    #[arg(long, value_name = "FIRST", default_value_t = 1)]
    first_seed: u64,
    /// Real-mode runs (LAB_RUNTIME=real) per test.
    #[arg(long, value_name = "N", default_value_t = 1)]
    real: u32,
    /// Parallel runs [default: the number of CPUs].
    #[arg(long, short, value_name = "J")]
    jobs: Option<usize>,
    /// The workspace to grade [default: this repository].
    #[arg(long, value_name = "DIR")]
    path: Option<PathBuf>,
    /// A catalogue file instead of the built-in grading/catalogue.txt.
    #[arg(long, value_name = "FILE")]
    catalogue: Option<PathBuf>,
    /// Wall-clock limit per run, in seconds; the run is killed and recorded as a timeout.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    timeout: u64,
    /// Run only the i-th of n deterministic slices of the runs (combine with `grade merge`).
    #[arg(long, value_name = "i/n", value_parser = parse_shard)]
    shard: Option<Shard>,
    /// The results folder [default: target/grade under --path].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Count catalogue entries whose test does not exist against a full score.
    #[arg(long)]
    strict: bool,
    /// Print one plain line per finished run, even on a terminal.
    #[arg(long)]
    plain: bool,
    /// Only show what would be graded (and what is skipped, and why); run nothing.
    #[arg(long)]
    list: bool,
    /// Check a student handout: exit 0 only if every run failed cleanly (no pass, no
    /// timeout), as an unimplemented skeleton must.
    #[arg(long)]
    expect_all_fail: bool,
}

/// Options of `grade merge`.
#[derive(Debug, Args)]
struct MergeArgs {
    /// The results.json of every shard.
    #[arg(required = true, value_name = "RESULTS_JSON")]
    results: Vec<PathBuf>,
    /// The merged results folder [default: target/grade-merged in this repository].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

/// Options of `grade handout`.
#[derive(Debug, Args)]
struct HandoutArgs {
    /// Where to write the handout (empty, new, or a previous handout).
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// The reference workspace [default: this repository].
    #[arg(long, value_name = "DIR")]
    path: Option<PathBuf>,
    /// Build the handout afterwards (cargo build --all-targets) to prove it compiles.
    #[arg(long)]
    check: bool,
    /// Build offline (with --check).
    #[arg(long)]
    offline: bool,
}

/// Parses `i/n` with 1 <= i <= n.
fn parse_shard(text: &str) -> Result<Shard, String> {
    let usage = || format!("`{text}` is not a shard: write i/n with 1 <= i <= n, e.g. 1/4");
    let (i, n) = text.split_once('/').ok_or_else(usage)?;
    let index: u32 = i.trim().parse().map_err(|_| usage())?;
    let count: u32 = n.trim().parse().map_err(|_| usage())?;
    if index == 0 || count == 0 || index > count {
        return Err(usage());
    }
    Ok(Shard { index, count })
}

/// The default workspace: the grader's own (the parent of this crate) if it is there, else
/// the current directory.
fn default_workspace() -> PathBuf {
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    if built.join("Cargo.toml").is_file() {
        built.canonicalize().unwrap_or(built)
    } else {
        PathBuf::from(".")
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Cmd::Logs { args } = cli.command {
        return report::viewer::main_with_args(args);
    }
    let code = match cli.command {
        Cmd::Run(args) => command_run(args),
        Cmd::Merge(args) => command_merge(args),
        Cmd::Handout(args) => command_handout(args),
        Cmd::Logs { .. } => unreachable!("handled above"),
    };
    match code {
        Ok(code) => ExitCode::from(code as u8),
        Err(error) => {
            eprintln!("grade: error: {error}");
            ExitCode::from(error.exit_code() as u8)
        }
    }
}

/// `grade run`.
fn command_run(args: RunArgs) -> Result<i32, GradeError> {
    let jobs =
        args.jobs.unwrap_or_else(|| std::thread::available_parallelism().map(usize::from).unwrap_or(1));
    let seeds = (0..u64::from(args.seeds))
        .map(|k| {
            args.first_seed
                .checked_add(k)
                .ok_or_else(|| GradeError::Usage("--first-seed plus --seeds overflows a 64-bit seed".into()))
        })
        .collect::<Result<Vec<u64>, GradeError>>()?;
    if args.timeout == 0 {
        return Err(GradeError::Usage("--timeout must be at least 1 second".into()));
    }
    let path = args.path.clone().unwrap_or_else(default_workspace);
    if !path.join("Cargo.toml").is_file() {
        return Err(GradeError::Usage(format!(
            "{} has no Cargo.toml; --path must be the root of a Cargo workspace",
            path.display()
        )));
    }
    let options = RunOptions {
        path: path.clone(),
        catalogue: args.catalogue,
        labs: args.lab,
        test_filter: args.test,
        seeds,
        real_runs: args.real,
        jobs,
        timeout: Duration::from_secs(args.timeout),
        shard: args.shard,
        out: args.out,
        strict: args.strict,
        plain: args.plain,
        list_only: args.list,
    };
    let outcome = run::grade(&options)?;
    let Some(out_dir) = outcome.out_dir else {
        return Ok(EXIT_FULL);
    };
    let code = finish(&outcome.results, &out_dir, Some(&path))?;
    if !args.expect_all_fail {
        return Ok(code);
    }
    let results = &outcome.results;
    let unclean = results.unclean_failures();
    if results.tests.is_empty() {
        print_out("--expect-all-fail: NOT MET: nothing was graded.\n");
        Ok(EXIT_NOT_FULL)
    } else if unclean.is_empty() {
        print_out("--expect-all-fail: met: every run failed cleanly (no pass, no timeout).\n");
        Ok(EXIT_FULL)
    } else {
        let mut text =
            format!("--expect-all-fail: NOT MET: {} run(s) did not fail cleanly:\n", unclean.len());
        for line in unclean {
            text.push_str(&format!("  {line}\n"));
        }
        print_out(&text);
        Ok(EXIT_NOT_FULL)
    }
}

/// `grade merge`.
fn command_merge(args: MergeArgs) -> Result<i32, GradeError> {
    let out = args.out.unwrap_or_else(|| default_workspace().join("target").join("grade-merged"));
    let results = merge::merge(&args.results, &out)?;
    finish(&results, &out, None)
}

/// Prints the scoreboard and where the results are; returns the exit code.
fn finish(results: &Results, out_dir: &Path, graded: Option<&Path>) -> Result<i32, GradeError> {
    let mut text = scoreboard::render(results);
    text.push_str(&format!(
        "Results: {} (results.json, junit.xml, scoreboard.txt, and a log per failed run).\n",
        out_dir.display()
    ));
    if let Some(graded) = graded {
        text.push_str(&format!(
            "Replay commands run in {}. Wall time {:.1} s.\n",
            graded.display(),
            results.wall_secs
        ));
    }
    print_out(&text);
    Ok(if results.is_full() { EXIT_FULL } else { EXIT_NOT_FULL })
}

/// Prints to stdout, ignoring a closed pipe (`grade run | head` must not panic).
fn print_out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

/// `grade handout`.
fn command_handout(args: HandoutArgs) -> Result<i32, GradeError> {
    let source = args.path.unwrap_or_else(default_workspace);
    let options = HandoutOptions { source, dest: args.dir.clone(), check: args.check, offline: args.offline };
    let summary = handout::make_handout(&options)?;
    print_out(&format!(
        "Handout written to {}: {} files ({} .rs files had {} solution regions stripped); {} \
         file(s) left out by {}; files listed by {}.{}\n",
        args.dir.display(),
        summary.files,
        summary.stripped_files,
        summary.regions,
        summary.excluded,
        handout::EXCLUDE_FILE,
        summary.listing,
        if args.check { " It builds." } else { "" }
    ));
    Ok(EXIT_FULL)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn shards_parse() {
        assert_eq!(parse_shard("1/2"), Ok(Shard { index: 1, count: 2 }));
        assert!(parse_shard("0/2").is_err());
        assert!(parse_shard("3/2").is_err());
        assert!(parse_shard("x").is_err());
        assert!(parse_shard("1/0").is_err());
    }
}
