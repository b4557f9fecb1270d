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
use grading::limits::{self, Limits};
use grading::results::{Results, Shard};
use grading::run::{self, RunOptions, Source};
use grading::{batch, merge, scoreboard};

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
    /// Grade a submission (built in the grader's own tree with only the student's files) or,
    /// without --path, this workspace: run each catalogued test over sim seeds and in real
    /// mode, score it, and write a scoreboard, results.json, gradescope.json, junit.xml and
    /// failure logs.
    Run(RunArgs),
    /// Grade many submissions, one folder each: a results folder per student and one
    /// scores.csv.
    Batch(BatchArgs),
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

/// Options shared by `grade run` and `grade batch`.
#[derive(Debug, Args)]
struct GradeArgs {
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
    /// Parallel sim runs [default: the number of CPUs].
    #[arg(long, short, value_name = "J")]
    jobs: Option<usize>,
    /// Parallel real-mode runs, beside the sim runs: they mostly sleep on timers [default:
    /// four times the number of CPUs, at least 8].
    #[arg(long, value_name = "J")]
    real_jobs: Option<usize>,
    /// A catalogue file instead of the built-in grading/catalogue.txt.
    #[arg(long, value_name = "FILE")]
    catalogue: Option<PathBuf>,
    /// Wall-clock limit per run, in seconds; the run is killed and recorded as a timeout.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    timeout: u64,
    /// Address-space limit per run (e.g. 4G, 512M, or none); running out is recorded as "out
    /// of memory".
    #[arg(long, value_name = "SIZE", default_value = "4G", value_parser = parse_memory)]
    memory_limit: MemoryLimit,
    /// Most threads alive at once in one run (0: no limit); past it the run is killed.
    #[arg(long, value_name = "N", default_value_t = limits::DEFAULT_THREADS)]
    max_threads: u64,
    /// Let graded runs use the network (by default each runs in a network namespace of its
    /// own where the machine allows it).
    #[arg(long)]
    allow_network: bool,
    /// Run only the i-th of n deterministic slices of the runs (combine with `grade merge`).
    #[arg(long, value_name = "i/n", value_parser = parse_shard)]
    shard: Option<Shard>,
    /// Count catalogue entries whose test does not exist against a full score.
    #[arg(long)]
    strict: bool,
    /// Print one plain line per finished run, even on a terminal.
    #[arg(long)]
    plain: bool,
    /// Where the grader's tree for a submission goes [default: target/grade-tree of the
    /// grader's workspace].
    #[arg(long, value_name = "DIR")]
    tree: Option<PathBuf>,
    /// Where the grader's tree is built [default: grade-tree-build in the grader's own build
    /// folder ($CARGO_TARGET_DIR or target/ of its workspace)]. Never the grader's build folder
    /// itself: cargo names a crate's artifacts by its path inside the workspace, so builds of the
    /// tree and of the workspace there would take each other's raft for fresh.
    #[arg(long, value_name = "DIR")]
    target_dir: Option<PathBuf>,
    /// Do not check the student files against the rules. Only for testing the grader's
    /// run-time defences: a course never needs it.
    #[arg(long, hide = true)]
    skip_rules: bool,
}

/// Options of `grade run`.
#[derive(Debug, Args)]
struct RunArgs {
    /// The submission to grade (a student's copy of the handout) [default: grade this
    /// workspace in place].
    #[arg(long, value_name = "DIR")]
    path: Option<PathBuf>,
    /// Grade --path as it is, with its own tests, testers and runtime, instead of copying its
    /// student files into the grader's tree (for workspaces that are not a lab submission).
    #[arg(long)]
    in_place: bool,
    /// The results folder [default: target/grade under --path].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Only show what would be graded (and what is skipped, and why); run nothing.
    #[arg(long)]
    list: bool,
    /// Check a student handout: exit 0 only if every run failed cleanly (no pass, no
    /// timeout), as an unimplemented skeleton must.
    #[arg(long)]
    expect_all_fail: bool,
    /// What to grade and how.
    #[command(flatten)]
    grade: GradeArgs,
}

/// Options of `grade batch`.
#[derive(Debug, Args)]
struct BatchArgs {
    /// The submissions, one folder each (its name is the student's name in the CSV).
    #[arg(required = true, value_name = "SUBMISSION")]
    submissions: Vec<PathBuf>,
    /// The results folder: scores.csv and a folder per student [default: target/grade-batch
    /// of the grader's workspace].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// What to grade and how.
    #[command(flatten)]
    grade: GradeArgs,
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

/// A memory limit in bytes, or none.
#[derive(Debug, Clone, Copy)]
struct MemoryLimit(Option<u64>);

/// Parses `--memory-limit`.
fn parse_memory(text: &str) -> Result<MemoryLimit, String> {
    limits::parse_size(text).map(MemoryLimit)
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

/// Where the grader's tree is built: `grade-tree-build` in the grader's workspace's build folder
/// (`$CARGO_TARGET_DIR`, or its `target/`). Its own folder, because the tree and the workspace
/// have the same crates at the same relative paths, which cargo's artifact names and freshness
/// checks go by: sharing one folder, a build of either would take the other's fresh artifacts
/// (built from other sources) as its own.
fn grader_target_dir(grader: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| grader.join("target"))
        .join("grade-tree-build")
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Cmd::Logs { args } = cli.command {
        return report::viewer::main_with_args(args);
    }
    let code = match cli.command {
        Cmd::Run(args) => command_run(args),
        Cmd::Batch(args) => command_batch(args),
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

/// The options every grading shares, for the tree at `path`.
fn run_options(args: &GradeArgs, path: PathBuf, in_place: bool) -> Result<RunOptions, GradeError> {
    let cpus = std::thread::available_parallelism().map(usize::from).unwrap_or(1);
    let jobs = args.jobs.unwrap_or(cpus);
    let real_jobs = args.real_jobs.unwrap_or((4 * cpus).max(8));
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
    let grader = default_workspace();
    let source = if in_place {
        Source::InPlace
    } else {
        Source::Submission {
            tree: args.tree.clone().unwrap_or_else(|| grader.join("target").join("grade-tree")),
            target_dir: args.target_dir.clone().unwrap_or_else(|| grader_target_dir(&grader)),
            grader,
        }
    };
    Ok(RunOptions {
        path,
        source,
        check_rules: !args.skip_rules,
        limits: Limits {
            memory_bytes: args.memory_limit.0,
            max_threads: (args.max_threads > 0).then_some(args.max_threads),
            isolate_network: !args.allow_network,
        },
        catalogue: args.catalogue.clone(),
        labs: args.lab.clone(),
        test_filter: args.test.clone(),
        seeds,
        real_runs: args.real,
        jobs,
        real_jobs,
        timeout: Duration::from_secs(args.timeout),
        shard: args.shard,
        out: None,
        strict: args.strict,
        plain: args.plain,
        list_only: false,
    })
}

/// `grade run`.
fn command_run(args: RunArgs) -> Result<i32, GradeError> {
    let grader = default_workspace();
    let (path, in_place) = match &args.path {
        None => (grader.clone(), true),
        Some(path) => {
            // Grading the grader's own workspace is grading in place.
            let own = path.canonicalize().ok() == grader.canonicalize().ok();
            (path.clone(), args.in_place || own)
        }
    };
    if in_place && !path.join("Cargo.toml").is_file() {
        return Err(GradeError::Usage(format!(
            "{} has no Cargo.toml; --path must be the root of a Cargo workspace",
            path.display()
        )));
    }
    let mut options = run_options(&args.grade, path.clone(), in_place)?;
    options.out = args.out;
    options.list_only = args.list;
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

/// `grade batch`: 0 when every submission was graded (whatever its score), 1 when some could
/// not be (their rows say why).
fn command_batch(args: BatchArgs) -> Result<i32, GradeError> {
    let out = args.out.clone().unwrap_or_else(|| default_workspace().join("target").join("grade-batch"));
    let options = run_options(&args.grade, PathBuf::new(), false)?;
    let started = std::time::Instant::now();
    let graded = batch::batch(&args.submissions, &options, &out)?;
    let seconds = started.elapsed().as_secs_f64();
    let mut text = String::from("Batch\n=====\n");
    for g in &graded {
        match &g.results {
            Ok(r) => {
                let s = r.compute_score();
                text.push_str(&format!(
                    "{:<24} {:>8.2} / {:<6} {}\n",
                    g.student,
                    s.earned,
                    scoreboard::format_points(s.possible),
                    if s.full { "FULL".to_string() } else { format!("{} run(s) failed", s.failed_runs) }
                ));
            }
            Err(why) => text.push_str(&format!("{:<24} NOT GRADED: {why}\n", g.student)),
        }
    }
    text.push_str(&format!(
        "{} submission(s) in {seconds:.0} s: {:.1} per hour at {} sim and {} real worker(s).\n",
        graded.len(),
        batch::per_hour(graded.len(), seconds),
        options.jobs,
        options.real_jobs
    ));
    text.push_str(&format!(
        "Scores: {} (one row per student); each student's results in {}/<student>/.\n",
        out.join("scores.csv").display(),
        out.display()
    ));
    print_out(&text);
    Ok(if graded.iter().all(|g| g.results.is_ok()) { EXIT_FULL } else { EXIT_NOT_FULL })
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
        "Results: {} (results.json, gradescope.json, junit.xml, scoreboard.txt, and a log per failed run).\n",
        out_dir.display()
    ));
    if let Some(graded) = graded {
        text.push_str(&format!(
            "Replay commands run in {} (or any copy of the handout with the same student files). Wall time {:.1} s.\n",
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
