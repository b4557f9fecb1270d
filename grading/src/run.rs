//! `grade run`: grade a workspace's suites over many seeds.
//!
//! The steps, and why each is a step of its own:
//!
//! 1. **Select** catalogue entries (`--lab`, `--test`).
//! 2. **Build** the test binaries of their packages once, in release mode
//!    ([`crate::cargo`]), and list the tests in each.
//! 3. **Resolve** each entry to one test of one binary. An entry whose test does not exist is
//!    skipped with a reason, not graded: the catalogue runs ahead of the suites.
//! 4. **Plan** the runs: each test under each sim seed, then its real-mode runs, in
//!    catalogue order. `--shard i/n` keeps every n-th run of that list, so shards are
//!    deterministic, disjoint, balanced across slow and fast tests, and together complete.
//! 5. **Execute** each run as its own process, with a timeout ([`crate::process`]), on two
//!    pools: sim runs on about one worker per core (they are CPU-bound), real-mode runs on a
//!    larger pool of their own beside them (they mostly sleep on timers).
//! 6. **Report**: the scoreboard, `results.json`, `junit.xml`, and a log of every run that
//!    did not pass at `<results>/<test>/<seed>.log` (`real-<k>.log` for real-mode runs).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use crate::cargo::{self, BuildError, TestBinary, Workspace};
use crate::catalogue::{BinarySpec, Catalogue, Entry, part_matches};
use crate::error::GradeError;
use crate::labs::Labs;
use crate::limits::{self, Limits};
use crate::output;
use crate::process::{self, Exit};
use crate::progress::Progress;
use crate::results::{
    self, Mode, Outcome, Results, RulesReport, RunResult, Settings, Shard, Skipped, Submission, TestResult,
};
use crate::tree::{self, TreeRequest};
use crate::verdict::{self, Expected};

/// Environment variables of the lab runtime that the grader sets itself, so that the
/// caller's environment cannot change what a run means.
const LAB_VARS: [&str; 7] = [
    "LAB_SEED",
    "LAB_SEEDS",
    "LAB_RUNTIME",
    "LAB_CHECK_DETERMINISM",
    "LAB_VERDICT_FILE",
    "LAB_REPORT",
    "LAB_SPIN_LIMIT_MS",
];

/// How `grade run` treats the tree at `--path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Grade the tree as it is, with its own tests and runtime: the grader's own workspace
    /// (`make grade`), or a workspace given with `--in-place`.
    InPlace,
    /// A submission: build and grade it in the grader's tree ([`crate::tree`]).
    Submission {
        /// The grader's own workspace, whose handout is the tree.
        grader: PathBuf,
        /// Where the tree goes.
        tree: PathBuf,
        /// Where the tree is built.
        target_dir: PathBuf,
    },
}

/// What `grade run` was asked to do.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The workspace or submission to grade.
    pub path: PathBuf,
    /// Whether `path` is graded in place or in the grader's tree.
    pub source: Source,
    /// Check the student files against the rules before building (on unless the grader's own
    /// tests of its run-time defences turn it off).
    pub check_rules: bool,
    /// The limits of each run.
    pub limits: Limits,
    /// A catalogue file instead of the built-in one.
    pub catalogue: Option<PathBuf>,
    /// Parts to grade (empty: all).
    pub labs: Vec<String>,
    /// Grade only tests whose name contains this.
    pub test_filter: Option<String>,
    /// The sim seeds.
    pub seeds: Vec<u64>,
    /// Real-mode runs per test.
    pub real_runs: u32,
    /// Parallel sim runs (CPU-bound: about one per core).
    pub jobs: usize,
    /// Parallel real-mode runs, on a pool of their own: they mostly sleep on timers, so more of
    /// them than cores fit beside the sim runs.
    pub real_jobs: usize,
    /// Per-run timeout.
    pub timeout: Duration,
    /// Run only this slice of the runs.
    pub shard: Option<Shard>,
    /// The results folder (default: `<path>/target/grade`).
    pub out: Option<PathBuf>,
    /// Count skipped catalogue entries against a full score.
    pub strict: bool,
    /// Plain progress lines even on a terminal.
    pub plain: bool,
    /// Only list what would be graded, run nothing.
    pub list_only: bool,
}

/// A catalogue entry resolved to one test of one built binary (or to a reason it cannot run).
#[derive(Debug, Clone)]
pub struct GradedTest {
    /// The catalogue entry.
    pub entry: Entry,
    /// The binary's label (`lib` or the test target name).
    pub binary: String,
    /// The full test name.
    pub test: String,
    /// The executable.
    pub exe: PathBuf,
    /// Where to run it (the package directory).
    pub dir: PathBuf,
    /// Its log folder within the results folder.
    pub log_dir: String,
    /// Whether its verdict must come from the harness's verdict channel: true for the labs'
    /// tests ([`crate::labs`]), whose code under test is the student's.
    pub verdict_channel: bool,
    /// Why every run of it fails without running (a broken rule, a failed build).
    pub not_built: Option<String>,
}

/// One planned run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunSpec {
    /// Index into the graded tests.
    pub test: usize,
    /// Sim seed or real run.
    pub mode: Mode,
}

/// What a finished `grade run` produced.
#[derive(Debug)]
pub struct Outcomes {
    /// The results (also written to `out_dir`).
    pub results: Results,
    /// The results folder, or `None` for `--list`.
    pub out_dir: Option<PathBuf>,
}

/// Runs `grade run`.
pub fn grade(options: &RunOptions) -> Result<Outcomes, GradeError> {
    let started = Instant::now();
    if options.seeds.is_empty() && options.real_runs == 0 {
        return Err(GradeError::Usage(
            "nothing to run: --seeds and --real are both 0; ask for at least one run per test".into(),
        ));
    }
    if options.jobs == 0 {
        return Err(GradeError::Usage("--jobs must be at least 1".into()));
    }
    if options.real_jobs == 0 && options.real_runs > 0 {
        return Err(GradeError::Usage(
            "--real-jobs must be at least 1 when there are real runs (--real)".into(),
        ));
    }
    let catalogue = Catalogue::load(options.catalogue.as_deref())?;
    let selected = select(&catalogue, options)?;
    let labs = Labs::builtin();
    let graded_labs: BTreeSet<String> =
        selected.iter().filter_map(|e| labs.of_part(&e.part)).map(|l| l.id.clone()).collect();
    let with_uses = labs.with_dependencies(&graded_labs);

    // Where to build: the tree as it is, or the grader's tree with the student's files.
    let (root, target_dir, submission, rules, blocked, _tree) = match &options.source {
        Source::InPlace => {
            let mut violations = Vec::new();
            if options.check_rules {
                for lab in &with_uses {
                    for file in &lab.files {
                        if let Ok(text) = std::fs::read_to_string(options.path.join(file)) {
                            violations.extend(crate::rules::check(file, &text));
                        }
                    }
                }
            }
            let broken: BTreeSet<String> =
                violations.iter().filter_map(|v| labs.owner_of(&v.file)).map(|l| l.id.clone()).collect();
            let blocked = labs.blocked_by(&broken);
            (options.path.clone(), None, None, violations, blocked, None)
        }
        Source::Submission { grader, tree, target_dir } => {
            let request = TreeRequest {
                source: grader,
                submission: &options.path,
                tree,
                labs: with_uses.clone(),
                check_rules: options.check_rules,
            };
            let made = tree::prepare(&request)?;
            let submission = Submission {
                path: options.path.display().to_string(),
                tree: made.root.display().to_string(),
                copied: made.copied.clone(),
                ignored: made.ignored.iter().map(|i| format!("{} {}", i.path, i.why)).collect(),
                ignored_total: made.ignored_total,
            };
            let root = made.root.clone();
            let (violations, blocked) = (made.violations.clone(), made.blocked.clone());
            (root, Some(target_dir.clone()), Some(submission), violations, blocked, Some(made))
        }
    };
    for v in &rules {
        eprintln!("grade: {v}");
    }
    let rules = RulesReport {
        violations: rules.iter().map(ToString::to_string).collect(),
        // Only the labs this grading builds: the others were not going to be built anyway.
        blocked: with_uses.iter().filter(|l| blocked.contains(&l.id)).map(|l| l.title()).collect(),
    };
    let blocked_reason = |entry: &Entry| -> Option<String> {
        let lab = labs.of_part(&entry.part)?;
        if !blocked.contains(&lab.id) {
            return None;
        }
        let own: Vec<&String> =
            rules.violations.iter().filter(|v| lab.files.iter().any(|f| v.starts_with(f.as_str()))).collect();
        Some(match own.first() {
            Some(first) => format!(
                "not built: {first}{}",
                if own.len() > 1 {
                    format!(" (and {} more broken rules)", own.len() - 1)
                } else {
                    String::new()
                }
            ),
            None => format!(
                "not built: {} builds on a lab whose student files break the rules ({})",
                lab.title(),
                rules.violations.first().map(String::as_str).unwrap_or("see the scoreboard")
            ),
        })
    };

    let workspace = Workspace::load(&root)?;
    let buildable: Vec<&Entry> = selected.iter().filter(|e| blocked_reason(e).is_none()).collect();
    let mut packages: Vec<String> =
        buildable.iter().map(|e| e.package.clone()).filter(|p| workspace.packages.contains_key(p)).collect();
    packages.sort();
    packages.dedup();
    let mut build_failure = None;
    let binaries = if packages.is_empty() {
        Vec::new()
    } else {
        eprintln!(
            "grade: building the test binaries of {} in {}",
            packages.join(", "),
            workspace.root.display()
        );
        match cargo::build_tests(&workspace, &packages, target_dir.as_deref()) {
            Ok(binaries) => binaries,
            // A submission that does not build scores zero, with the compiler's first error; a
            // tree graded in place that does not build is the grader user's to fix.
            Err(BuildError::Build { first_error, .. }) if submission.is_some() => {
                build_failure = Some(format!(
                    "the build failed: {}",
                    first_error
                        .unwrap_or_else(|| "see the compiler's messages in the grader's output".into())
                ));
                Vec::new()
            }
            Err(e) => return Err(e.into()),
        }
    };
    let listed: Vec<(TestBinary, Result<Vec<String>, String>)> = binaries
        .into_iter()
        .filter(|b| matches!(b.kind, cargo::TargetKind::Lib | cargo::TargetKind::Test))
        .map(|b| {
            let tests = cargo::list_tests(&b);
            (b, tests)
        })
        .collect();
    let buildable_entries: Vec<Entry> = buildable.iter().map(|e| (*e).clone()).collect();
    let (mut tests, skipped) = if build_failure.is_some() {
        (Vec::new(), Vec::new())
    } else {
        resolve(&buildable_entries, &workspace, &listed)
    };
    // Entries that were not built still count: each of their runs fails with the reason.
    for entry in &selected {
        if let Some(reason) = blocked_reason(entry).or_else(|| build_failure.clone()) {
            tests.push(unbuilt(entry, &workspace, reason));
        }
    }
    tests.sort_by_key(|t| t.entry.line);
    for t in &mut tests {
        t.verdict_channel = labs.of_tests_package(&t.entry.package).is_some();
    }
    assign_log_dirs(&mut tests);
    let uncatalogued = uncatalogued(&catalogue, &listed);

    let settings = Settings {
        seeds: options.seeds.clone(),
        real_runs: options.real_runs,
        timeout_secs: options.timeout.as_secs(),
        labs: options.labs.clone(),
        test_filter: options.test_filter.clone(),
        catalogue: catalogue.origin.clone(),
        strict: options.strict,
        memory_limit_bytes: options.limits.memory_bytes,
        max_threads: options.limits.max_threads,
        rules_checked: options.check_rules,
    };
    let planned_runs = (options.seeds.len() as u32) + options.real_runs;
    let context =
        Context { settings, submission, rules, build_failure, network: String::new(), uncatalogued, started };

    if options.list_only {
        print_list(&tests, &skipped, &context.uncatalogued, planned_runs);
        let results = assemble(options, context, &tests, Vec::new(), skipped);
        return Ok(Outcomes { results, out_dir: None });
    }

    // Absolute: the runs work in their package's folder, and find their verdict file by it.
    let out_dir =
        output::absolute(&options.out.clone().unwrap_or_else(|| options.path.join("target").join("grade")));
    output::prepare(&out_dir)?;
    let mut limits = options.limits;
    let network = if limits.isolate_network {
        match limits::probe_network_isolation() {
            Ok(()) => "isolated (each run in a network namespace of its own)".to_string(),
            Err(why) => {
                limits.isolate_network = false;
                eprintln!("grade: warning: graded runs will have the machine's network: {why}");
                format!("NOT isolated: {why}")
            }
        }
    } else {
        "not isolated (--network allowed)".to_string()
    };
    let context = Context { network, ..context };

    let all_runs = plan(tests.len(), &options.seeds, options.real_runs);
    let runs = match options.shard {
        Some(shard) => shard_runs(&all_runs, shard),
        None => all_runs,
    };
    eprintln!(
        "grade: {} test(s) graded, {} catalogue entr{} skipped; {} run(s){} on {} sim and {} real worker(s); results in {}",
        tests.len(),
        skipped.len(),
        if skipped.len() == 1 { "y" } else { "ies" },
        runs.len(),
        options.shard.map(|s| format!(" (shard {s})")).unwrap_or_default(),
        pools(&runs, options.jobs, options.real_jobs).0.1,
        pools(&runs, options.jobs, options.real_jobs).1.1,
        out_dir.display()
    );
    let finished = execute(&tests, &runs, options, limits, &out_dir);
    let results = assemble(options, context, &tests, finished, skipped);
    output::write_reports(&results, &out_dir)?;
    Ok(Outcomes { results, out_dir: Some(out_dir) })
}

/// What [`assemble`] needs besides the runs.
struct Context {
    settings: Settings,
    submission: Option<Submission>,
    rules: RulesReport,
    build_failure: Option<String>,
    network: String,
    uncatalogued: Vec<String>,
    started: Instant,
}

/// A catalogue entry that cannot run: every run of it fails with `reason`.
fn unbuilt(entry: &Entry, workspace: &Workspace, reason: String) -> GradedTest {
    let binary = match &entry.binary {
        BinarySpec::Test(name) => name.clone(),
        BinarySpec::Lib => "lib".into(),
        BinarySpec::Any => "*".into(),
    };
    GradedTest {
        entry: entry.clone(),
        binary,
        test: entry.test.clone(),
        exe: PathBuf::new(),
        dir: workspace.packages.get(&entry.package).cloned().unwrap_or_else(|| workspace.root.clone()),
        log_dir: String::new(),
        verdict_channel: false,
        not_built: Some(reason),
    }
}

/// Applies `--lab` and `--test` to the catalogue; a `--lab` that matches no part is an error.
fn select(catalogue: &Catalogue, options: &RunOptions) -> Result<Vec<Entry>, GradeError> {
    let parts = catalogue.parts();
    for lab in &options.labs {
        if !parts.iter().any(|p| part_matches(p, lab)) {
            return Err(GradeError::Usage(format!(
                "--lab {lab} matches no part of the catalogue ({}); its parts are: {}",
                catalogue.origin,
                parts.join(", ")
            )));
        }
    }
    if let Some(filter) = &options.test_filter
        && !catalogue.entries.iter().any(|e| e.test.contains(filter.as_str()))
    {
        return Err(GradeError::Usage(format!(
            "--test {filter} matches no test name in the catalogue ({}); `grade run --list` shows them",
            catalogue.origin
        )));
    }
    Ok(catalogue
        .entries
        .iter()
        .filter(|e| options.labs.is_empty() || options.labs.iter().any(|l| part_matches(&e.part, l)))
        .filter(|e| options.test_filter.as_ref().is_none_or(|f| e.test.contains(f.as_str())))
        .cloned()
        .collect())
}

/// Does the listed test `name` match the catalogue's `wanted` (exactly, or by last segment)?
fn name_matches(name: &str, wanted: &str) -> bool {
    name == wanted || name.rsplit("::").next() == Some(wanted)
}

/// Does a built binary match a catalogue binary spec?
fn binary_matches(binary: &TestBinary, spec: &BinarySpec) -> bool {
    match spec {
        BinarySpec::Any => matches!(binary.kind, cargo::TargetKind::Lib | cargo::TargetKind::Test),
        BinarySpec::Lib => binary.kind == cargo::TargetKind::Lib,
        BinarySpec::Test(name) => binary.kind == cargo::TargetKind::Test && &binary.name == name,
    }
}

/// Resolves catalogue entries to tests; returns the graded tests and the skipped entries.
pub fn resolve(
    entries: &[Entry],
    workspace: &Workspace,
    listed: &[(TestBinary, Result<Vec<String>, String>)],
) -> (Vec<GradedTest>, Vec<Skipped>) {
    let mut graded: Vec<GradedTest> = Vec::new();
    let mut skipped = Vec::new();
    for entry in entries {
        let skip = |reason: String| Skipped {
            part: entry.part.clone(),
            package: entry.package.clone(),
            binary: entry.binary.to_string(),
            test: entry.test.clone(),
            points: entry.points,
            catalogue_line: entry.line,
            reason,
        };
        if !workspace.packages.contains_key(&entry.package) {
            skipped.push(skip(format!(
                "package `{}` is not in the workspace at {}",
                entry.package,
                workspace.root.display()
            )));
            continue;
        }
        let of_package: Vec<&(TestBinary, Result<Vec<String>, String>)> =
            listed.iter().filter(|(b, _)| b.package == entry.package).collect();
        let binaries_desc = if of_package.is_empty() {
            "it has no test binaries".to_string()
        } else {
            format!(
                "its test binaries: {}",
                of_package.iter().map(|(b, _)| b.label().to_string()).collect::<Vec<_>>().join(", ")
            )
        };
        let candidates: Vec<_> =
            of_package.iter().filter(|(b, _)| binary_matches(b, &entry.binary)).collect();
        if candidates.is_empty() {
            let reason = match &entry.binary {
                BinarySpec::Test(name) => {
                    format!("package {} has no test target `{name}` ({binaries_desc})", entry.package)
                }
                BinarySpec::Lib => {
                    format!("package {} has no library unit tests ({binaries_desc})", entry.package)
                }
                BinarySpec::Any => format!("package {} has no test binaries", entry.package),
            };
            skipped.push(skip(reason));
            continue;
        }
        let mut hits: Vec<(&TestBinary, &String)> = Vec::new();
        let mut unlistable = Vec::new();
        for (binary, tests) in candidates {
            match tests {
                Ok(tests) => {
                    let exact: Vec<&String> = tests.iter().filter(|t| *t == &entry.test).collect();
                    let found = if exact.is_empty() {
                        tests.iter().filter(|t| name_matches(t, &entry.test)).collect()
                    } else {
                        exact
                    };
                    hits.extend(found.into_iter().map(|t| (binary, t)));
                }
                Err(why) => unlistable.push(format!("{}: {why}", binary.label())),
            }
        }
        match hits.as_slice() {
            [] => {
                let mut reason =
                    format!("no test named `{}` in package {} ({binaries_desc})", entry.test, entry.package);
                if !unlistable.is_empty() {
                    reason.push_str(&format!("; could not list the tests of {}", unlistable.join("; ")));
                }
                skipped.push(skip(reason));
            }
            [(binary, test)] => {
                if let Some(first) = graded.iter().find(|g| {
                    g.entry.package == entry.package && g.binary == binary.label() && &&g.test == test
                }) {
                    skipped.push(skip(format!("it is the same test as catalogue line {}", first.entry.line)));
                    continue;
                }
                graded.push(GradedTest {
                    entry: entry.clone(),
                    binary: binary.label().to_string(),
                    test: (*test).clone(),
                    exe: binary.exe.clone(),
                    dir: binary.dir.clone(),
                    log_dir: String::new(),
                    verdict_channel: false,
                    not_built: None,
                });
            }
            many => skipped.push(skip(format!(
                "ambiguous: `{}` matches {}; name the test binary (or the full test path) in the catalogue",
                entry.test,
                many.iter().map(|(b, t)| format!("{} in {}", t, b.label())).collect::<Vec<_>>().join(", ")
            ))),
        }
    }
    (graded, skipped)
}

/// Gives each graded test its log folder: its test name made file-name safe, or (when two
/// graded tests share that name) `package.binary.name`.
fn assign_log_dirs(graded: &mut [GradedTest]) {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for g in graded.iter() {
        *counts.entry(safe_name(&g.test)).or_default() += 1;
    }
    for g in graded.iter_mut() {
        let name = safe_name(&g.test);
        g.log_dir = if counts[&name] > 1 {
            safe_name(&format!("{}.{}.{}", g.entry.package, g.binary, g.test))
        } else {
            name
        };
    }
}

/// Makes a test name usable as one path component: `::` becomes `.`, other unusual
/// characters become `_`.
pub fn safe_name(name: &str) -> String {
    let dotted = name.replace("::", ".");
    let safe: String = dotted
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') { c } else { '_' })
        .collect();
    if safe.is_empty() || safe.chars().all(|c| c == '.') { format!("_{safe}") } else { safe }
}

/// Tests in the built binaries that no catalogue entry (before filters) names.
fn uncatalogued(catalogue: &Catalogue, listed: &[(TestBinary, Result<Vec<String>, String>)]) -> Vec<String> {
    let mut out = Vec::new();
    for (binary, tests) in listed {
        let Ok(tests) = tests else { continue };
        for test in tests {
            let named = catalogue.entries.iter().any(|e| {
                e.package == binary.package
                    && binary_matches(binary, &e.binary)
                    && name_matches(test, &e.test)
            });
            if !named {
                out.push(format!("{} {} {}", binary.package, binary.label(), test));
            }
        }
    }
    out
}

/// The full run list, in canonical order: per test, its sim seeds then its real runs.
pub fn plan(tests: usize, seeds: &[u64], real_runs: u32) -> Vec<RunSpec> {
    let mut runs = Vec::new();
    for test in 0..tests {
        runs.extend(seeds.iter().map(|&seed| RunSpec { test, mode: Mode::Sim { seed } }));
        runs.extend((1..=real_runs).map(|index| RunSpec { test, mode: Mode::Real { index } }));
    }
    runs
}

/// The runs of one shard: every `count`-th run of the full list, starting at `index - 1`.
pub fn shard_runs(runs: &[RunSpec], shard: Shard) -> Vec<RunSpec> {
    runs.iter()
        .enumerate()
        .filter(|(i, _)| *i as u64 % u64::from(shard.count) == u64::from(shard.index - 1))
        .map(|(_, r)| *r)
        .collect()
}

/// The indices of the sim runs and of the real runs, each pool's queue in order.
fn queues(runs: &[RunSpec]) -> (Vec<usize>, Vec<usize>) {
    (0..runs.len()).partition(|&i| !matches!(runs[i].mode, Mode::Real { .. }))
}

/// Each pool's queue and its worker count, for `jobs` sim and `real_jobs` real workers at
/// most: (sim, real).
fn pools(runs: &[RunSpec], jobs: usize, real_jobs: usize) -> ((Vec<usize>, usize), (Vec<usize>, usize)) {
    let (sim, real) = queues(runs);
    let sim_workers = jobs.min(sim.len());
    let real_workers = real_jobs.min(real.len());
    ((sim, sim_workers), (real, real_workers))
}

/// Runs everything and returns each run's result, in the order of `runs`. Sim runs and real
/// runs have pools of their own (`options.jobs` and `options.real_jobs` workers): a sim run
/// keeps a core busy, while a real run mostly sleeps on timers, so sharing one CPU-sized pool
/// left the cores idle while real runs waited out their timeouts.
fn execute(
    tests: &[GradedTest],
    runs: &[RunSpec],
    options: &RunOptions,
    limits: Limits,
    out_dir: &Path,
) -> Vec<(RunSpec, RunResult)> {
    let ((sim, sim_workers), (real, real_workers)) = pools(runs, options.jobs, options.real_jobs);
    let tests = Arc::new(tests.to_vec());
    let runs_shared = Arc::new(runs.to_vec());
    let verdicts = out_dir.join(".verdicts");
    if let Err(e) = std::fs::create_dir_all(&verdicts) {
        eprintln!("grade: cannot create {}: {e}; runs that need a verdict will fail", verdicts.display());
    }
    let (tx, rx) = mpsc::channel::<(usize, RunResult)>();
    let mut handles = Vec::new();
    for (pool, order, workers) in [("sim", sim, sim_workers), ("real", real, real_workers)] {
        let order = Arc::new(order);
        let next = Arc::new(AtomicUsize::new(0));
        for worker in 0..workers {
            let (order, next, tests, runs, tx) = (
                Arc::clone(&order),
                Arc::clone(&next),
                Arc::clone(&tests),
                Arc::clone(&runs_shared),
                tx.clone(),
            );
            let timeout = options.timeout;
            let out_dir = out_dir.to_path_buf();
            let verdicts = verdicts.clone();
            let spawned = thread::Builder::new().name(format!("grade-{pool}-{worker}")).spawn(move || {
                loop {
                    let slot = next.fetch_add(1, Ordering::SeqCst);
                    let Some(&index) = order.get(slot) else { break };
                    let spec = runs[index];
                    let verdict_file = verdicts.join(format!("{index}.jsonl"));
                    let result =
                        run_one(&tests[spec.test], spec.mode, timeout, limits, &out_dir, &verdict_file);
                    if tx.send((index, result)).is_err() {
                        break;
                    }
                }
            });
            match spawned {
                Ok(handle) => handles.push(handle),
                Err(e) => eprintln!("grade: could not start {pool} worker {worker}: {e}"),
            }
        }
    }
    drop(tx);
    let mut progress = Progress::new(runs.len(), options.plain);
    let mut done: Vec<Option<RunResult>> = vec![None; runs.len()];
    for (index, result) in rx {
        let test = &tests[runs[index].test];
        progress.finished(&format!("{} {} {}", test.entry.part, test.entry.package, test.test), &result);
        done[index] = Some(result);
    }
    progress.finish();
    for handle in handles {
        let _ = handle.join();
    }
    let _ = std::fs::remove_dir_all(&verdicts);
    runs.iter()
        .zip(done)
        .map(|(spec, result)| {
            let result = result.unwrap_or_else(|| {
                let test = &tests[spec.test];
                let mut r = failed_run(
                    test,
                    spec.mode,
                    Outcome::Error,
                    "the grader's worker stopped before this run",
                );
                r.verdict_channel = test.verdict_channel;
                r
            });
            (*spec, result)
        })
        .collect()
}

/// A run that did not happen, or ended before it could say anything.
fn failed_run(test: &GradedTest, mode: Mode, outcome: Outcome, reason: &str) -> RunResult {
    RunResult {
        mode,
        outcome,
        seconds: 0.0,
        exit_code: None,
        reason: Some(reason.to_string()),
        log: None,
        replay: results::replay_command(&test.entry.package, &test.binary, &test.test, &mode),
        verdict_channel: test.verdict_channel,
        stats: None,
        warnings: Vec::new(),
        sampled_peak_rss_bytes: None,
    }
}

/// Runs one (test, mode) and saves its log if it did not pass.
fn run_one(
    test: &GradedTest,
    mode: Mode,
    timeout: Duration,
    limits: Limits,
    out_dir: &Path,
    verdict_file: &Path,
) -> RunResult {
    if let Some(reason) = &test.not_built {
        return failed_run(test, mode, Outcome::Fail, reason);
    }
    let replay = results::replay_command(&test.entry.package, &test.binary, &test.test, &mode);
    let mut command = Command::new(&test.exe);
    command
        .args(["--exact", &test.test, "--test-threads=1", "--nocapture"])
        .current_dir(&test.dir)
        .env("CARGO_MANIFEST_DIR", &test.dir)
        .env("CARGO_PKG_NAME", &test.entry.package);
    for var in LAB_VARS {
        command.env_remove(var);
    }
    match mode {
        Mode::Sim { seed } => command.env("LAB_SEED", seed.to_string()),
        Mode::Real { .. } => command.env("LAB_RUNTIME", "real"),
    };
    // A fresh, empty verdict file per run: the harness appends its records to it.
    let verdict_ready = std::fs::write(verdict_file, b"");
    if test.verdict_channel {
        command.env("LAB_VERDICT_FILE", verdict_file);
    }
    let command_line = format!(
        "{} {} --exact {} --test-threads=1 --nocapture   (in {})",
        mode.env_prefix(),
        test.exe.display(),
        test.test,
        test.dir.display()
    );
    let mut result = RunResult {
        mode,
        outcome: Outcome::Error,
        seconds: 0.0,
        exit_code: None,
        reason: None,
        log: None,
        replay,
        verdict_channel: test.verdict_channel,
        stats: None,
        warnings: Vec::new(),
        sampled_peak_rss_bytes: None,
    };
    let mut verdict_text = String::new();
    let output = match (verdict_ready, process::run_limited(command, timeout, limits)) {
        (Err(e), _) if test.verdict_channel => {
            result.reason =
                Some(format!("could not create the verdict file {}: {e}", verdict_file.display()));
            Vec::new()
        }
        (_, Err(e)) => {
            result.reason = Some(format!("could not start {}: {e}", test.exe.display()));
            Vec::new()
        }
        (_, Ok(captured)) => {
            let text = String::from_utf8_lossy(&captured.output);
            result.seconds = captured.duration.as_secs_f64();
            result.exit_code = match captured.exit {
                Exit::Code(c) => Some(c),
                _ => None,
            };
            result.sampled_peak_rss_bytes = captured.peak_rss_bytes;
            let (outcome, reason) = if let Some(limit) = captured.killed_for_threads {
                (
                    Outcome::Fail,
                    Some(format!(
                        "too many threads: more than {limit} alive at once, so the grader killed the run; \
                         look for threads that never end (a thread per RPC or per tick)"
                    )),
                )
            } else if let Some(oom) = out_of_memory(&text, captured.exit, limits, captured.peak_rss_bytes) {
                (Outcome::Fail, Some(oom))
            } else if test.verdict_channel {
                verdict_text = std::fs::read_to_string(verdict_file).unwrap_or_default();
                if captured.exit == Exit::TimedOut {
                    (Outcome::Timeout, Some(timeout_reason(timeout)))
                } else {
                    let expected = Expected { test: &test.test, mode };
                    let judged =
                        verdict::judge(captured.exit, verdict::parse(&verdict_text), expected, &text);
                    result.stats = judged.stats;
                    result.warnings = judged.warnings;
                    (if judged.passed { Outcome::Pass } else { Outcome::Fail }, judged.reason)
                }
            } else {
                classify(captured.exit, &text, timeout)
            };
            result.outcome = outcome;
            result.reason = reason.map(|r| results::one_line(&r, results::REASON_CHARS));
            captured.output
        }
    };
    if result.outcome != Outcome::Pass {
        let relative = format!("{}/{}", test.log_dir, mode.log_file());
        let path = out_dir.join(&test.log_dir).join(mode.log_file());
        let written = std::fs::create_dir_all(out_dir.join(&test.log_dir)).and_then(|()| {
            let mut file = std::fs::File::create(&path)?;
            writeln!(
                file,
                "# grade: part {} package {} binary {} test {} ({})",
                test.entry.part,
                test.entry.package,
                test.binary,
                test.test,
                mode.label()
            )?;
            writeln!(
                file,
                "# outcome: {} after {:.2} s: {}",
                result.outcome.word(),
                result.seconds,
                result.reason.as_deref().unwrap_or("")
            )?;
            writeln!(file, "# replay (in the graded workspace): {}", result.replay)?;
            writeln!(file, "# command: {command_line}")?;
            if test.verdict_channel {
                writeln!(file, "# verdict records (from the harness, not from the output):")?;
                for line in verdict_text.lines() {
                    writeln!(file, "#   {line}")?;
                }
            }
            writeln!(file, "#")?;
            file.write_all(&output)
        });
        match written {
            Ok(()) => result.log = Some(relative),
            Err(e) => eprintln!("grade: could not write {}: {e}", path.display()),
        }
    }
    result
}

/// The reason of a run killed at the timeout.
fn timeout_reason(timeout: Duration) -> String {
    format!("timed out after {} s; the grader killed it", timeout.as_secs_f64())
}

/// "Out of memory", when the output or the way the run ended says so.
fn out_of_memory(output: &str, exit: Exit, limits: Limits, peak_rss: Option<u64>) -> Option<String> {
    let failed_allocation =
        output.lines().find(|l| l.contains("memory allocation of ") && l.contains(" failed"));
    let killed = exit == Exit::Signal(Some(9));
    if failed_allocation.is_none() && !(killed && output.contains("Out of memory")) {
        return None;
    }
    let limit = limits
        .memory_bytes
        .map(|b| format!(" at the grader's limit of {} of address space", limits::format_size(b)))
        .unwrap_or_default();
    let peak = peak_rss.map(|b| format!("; peak RSS {}", limits::format_size(b))).unwrap_or_default();
    Some(format!(
        "out of memory{limit}{peak} ({}); look for state that grows without bound",
        failed_allocation.map(str::trim).unwrap_or("killed by the system")
    ))
}

/// Decides a run's outcome from how it ended and what it printed. Only for tests that are not
/// the labs' (the grader's own fixtures): a lab test's verdict comes from [`crate::verdict`].
///
/// A pass needs exit code 0 *and* libtest's summary saying at least one test passed: a
/// binary that exits 0 without running the test (a name that matched nothing, an ignored
/// test) must not earn points.
pub fn classify(exit: Exit, output: &str, timeout: Duration) -> (Outcome, Option<String>) {
    match exit {
        Exit::TimedOut => (Outcome::Timeout, Some(timeout_reason(timeout))),
        Exit::Code(0) => {
            if passed_count(output) >= 1 {
                (Outcome::Pass, None)
            } else {
                (
                    Outcome::Fail,
                    Some(
                        "the test did not run (exit 0 but no test passed: is it #[ignore]d, or \
                         was it renamed?)"
                            .into(),
                    ),
                )
            }
        }
        Exit::Code(code) => {
            (Outcome::Fail, Some(panic_message(output).unwrap_or_else(|| format!("exited with code {code}"))))
        }
        Exit::Signal(signal) => {
            let what = match signal {
                Some(6) => "killed by SIGABRT (an abort, e.g. a stack overflow or a panic while panicking)"
                    .to_string(),
                Some(9) => "killed by SIGKILL (out of memory?)".to_string(),
                Some(11) => "killed by SIGSEGV (a segmentation fault)".to_string(),
                Some(s) => format!("killed by signal {s}"),
                None => "killed by a signal".to_string(),
            };
            let reason = match panic_message(output) {
                Some(message) => format!("{what}; it had panicked: {message}"),
                None => what,
            };
            (Outcome::Fail, Some(reason))
        }
    }
}

/// The number of passed tests in libtest's `test result:` line (0 if absent).
fn passed_count(output: &str) -> usize {
    output
        .lines()
        .filter_map(|line| line.trim().strip_prefix("test result: ok."))
        .filter_map(|rest| {
            rest.split(';').next()?.trim().strip_suffix(" passed")?.trim().parse::<usize>().ok()
        })
        .sum()
}

/// The first panic message in the output, on one line.
///
/// The labs harness heads its message with "`<test>` failed under sim with seed 3:" and then
/// the diagnosis, indented; the heading is skipped, and the message ends before its
/// `report:` and `replay:` lines. The other lines are joined, so that a message whose first
/// line ends with a colon (`get wrong value, key "0", wanted:`) keeps its sentence.
pub fn panic_message(output: &str) -> Option<String> {
    let lines: Vec<&str> = output.lines().collect();
    let at = lines.iter().position(|l| l.contains("panicked at"))?;
    let line = lines[at];
    // Rust 1.73+: "thread 'x' panicked at src/a.rs:1:2:" and the message on the next lines.
    if line.trim_end().ends_with(':') {
        let mut message: Vec<&str> = lines[at + 1..]
            .iter()
            .take_while(|l| {
                !(l.starts_with("stack backtrace:")
                    || l.starts_with("note: ")
                    || l.starts_with("thread '")
                    || l.starts_with("test result:")
                    || l.starts_with("replay: ")
                    || l.starts_with("report: "))
            })
            .map(|l| l.trim())
            .filter(|l| !l.is_empty())
            .collect();
        if message.len() > 1 && is_harness_heading(message[0]) {
            message.remove(0);
        }
        return match message.as_slice() {
            [] => None,
            lines => Some(results::one_line(&lines.join("\n"), results::REASON_CHARS)),
        };
    }
    // Older: "thread 'x' panicked at 'message', src/a.rs:1:2".
    let rest = &line[line.find("panicked at")? + "panicked at".len()..];
    Some(rest.trim().to_string())
}

/// Whether `line` is the harness's heading: "`x` failed under sim with seed 3:".
fn is_harness_heading(line: &str) -> bool {
    line.ends_with(':') && line.contains(" failed under ") && line.contains(" with seed ")
}

/// Builds the [`Results`] of a run.
fn assemble(
    options: &RunOptions,
    context: Context,
    tests: &[GradedTest],
    finished: Vec<(RunSpec, RunResult)>,
    skipped: Vec<Skipped>,
) -> Results {
    let planned_runs = context.settings.seeds.len() as u32 + context.settings.real_runs;
    let mut per_test: Vec<Vec<RunResult>> = vec![Vec::new(); tests.len()];
    for (spec, result) in finished {
        per_test[spec.test].push(result);
    }
    let tests = tests
        .iter()
        .zip(per_test)
        .map(|(t, runs)| TestResult {
            part: t.entry.part.clone(),
            package: t.entry.package.clone(),
            binary: t.binary.clone(),
            test: t.test.clone(),
            points: t.entry.points,
            catalogue_line: t.entry.line,
            log_dir: t.log_dir.clone(),
            planned_runs,
            runs,
        })
        .collect();
    let mut results = Results {
        format: results::FORMAT,
        tool: format!("grade {}", env!("CARGO_PKG_VERSION")),
        graded_path: options.path.display().to_string(),
        settings: context.settings,
        shard: options.shard,
        merged_from: Vec::new(),
        tests,
        skipped,
        uncatalogued: context.uncatalogued,
        submission: context.submission,
        rules: context.rules,
        build_failure: context.build_failure,
        network: context.network,
        wall_secs: context.started.elapsed().as_secs_f64(),
        score: results::Score {
            earned: 0.0,
            possible: 0.0,
            skipped_points: 0.0,
            runs: 0,
            failed_runs: 0,
            full: false,
        },
    };
    results.score = results.compute_score();
    results
}

/// Prints what `--list` found (to stdout, ignoring a closed pipe).
fn print_list(tests: &[GradedTest], skipped: &[Skipped], uncatalogued: &[String], runs: u32) {
    let mut out = format!("Would grade {} test(s), {runs} run(s) each:\n", tests.len());
    for t in tests {
        out.push_str(&format!(
            "  {:<4} {} {} {}  ({} points, catalogue line {})\n",
            t.entry.part,
            t.entry.package,
            t.binary,
            t.test,
            crate::scoreboard::format_points(t.entry.points),
            t.entry.line
        ));
    }
    if !skipped.is_empty() {
        out.push_str(&format!("Skipped catalogue entries ({}):\n", skipped.len()));
        for s in skipped {
            out.push_str(&format!(
                "  {:<4} {} {} {} (line {}): {}\n",
                s.part, s.package, s.binary, s.test, s.catalogue_line, s.reason
            ));
        }
    }
    if !uncatalogued.is_empty() {
        out.push_str(&format!(
            "Tests in the built binaries that the catalogue does not name ({}):\n",
            uncatalogued.len()
        ));
        for name in uncatalogued {
            out.push_str(&format!("  {name}\n"));
        }
    }
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(out.as_bytes());
    let _ = stdout.flush();
}

#[cfg(test)]
mod tests {
    #[test]
    fn sim_and_real_runs_get_pools_of_their_own() {
        let runs = plan(3, &[1, 2], 1);
        let ((sim, sim_workers), (real, real_workers)) = pools(&runs, 2, 8);
        assert_eq!(sim.len(), 6);
        assert_eq!(real.len(), 3);
        assert!(sim.iter().all(|&i| !matches!(runs[i].mode, Mode::Real { .. })));
        assert!(real.iter().all(|&i| matches!(runs[i].mode, Mode::Real { .. })));
        assert_eq!((sim_workers, real_workers), (2, 3), "no pool has more workers than runs");
        assert_eq!(pools(&plan(3, &[1], 0), 2, 8).1.1, 0, "no real runs, no real workers");
    }

    use super::*;

    #[test]
    fn shards_partition_the_plan() {
        let all = plan(3, &[1, 2, 3], 1);
        assert_eq!(all.len(), 12);
        assert_eq!(all[3].mode, Mode::Real { index: 1 });
        let a = shard_runs(&all, Shard { index: 1, count: 2 });
        let b = shard_runs(&all, Shard { index: 2, count: 2 });
        assert_eq!(a.len() + b.len(), all.len());
        let mut joined: Vec<_> = a.iter().chain(&b).copied().collect();
        joined.sort_by_key(|r| all.iter().position(|x| x == r));
        assert_eq!(joined, all);
        assert!(a.iter().all(|r| !b.contains(r)));
    }

    #[test]
    fn classifies_runs() {
        let ok = "running 1 test\ntest x ... ok\n\ntest result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 3 filtered out; finished in 0.01s\n";
        let t = Duration::from_secs(5);
        assert_eq!(classify(Exit::Code(0), ok, t).0, Outcome::Pass);
        let none =
            "running 0 tests\n\ntest result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 4 filtered out\n";
        assert_eq!(classify(Exit::Code(0), none, t).0, Outcome::Fail);
        let ignored = "running 1 test\ntest x ... ignored\n\ntest result: ok. 0 passed; 0 failed; 1 ignored; 0 measured\n";
        assert_eq!(classify(Exit::Code(0), ignored, t).0, Outcome::Fail);
        let panic = "running 1 test\n\nthread 'x' panicked at raft/tests/a.rs:10:5:\nterm 4 has 2 leaders (servers 1 and 3)\nnote: run with `RUST_BACKTRACE=1`\ntest x ... FAILED\n";
        let (outcome, reason) = classify(Exit::Code(101), panic, t);
        assert_eq!(outcome, Outcome::Fail);
        assert_eq!(reason.as_deref(), Some("term 4 has 2 leaders (servers 1 and 3)"));
        assert_eq!(classify(Exit::TimedOut, "", t).0, Outcome::Timeout);
        let (outcome, reason) = classify(Exit::Signal(Some(11)), "", t);
        assert_eq!(outcome, Outcome::Fail);
        assert!(reason.unwrap().contains("SIGSEGV"));
        assert_eq!(classify(Exit::Code(3), "no panic here", t).1.as_deref(), Some("exited with code 3"));
    }

    #[test]
    fn harness_heading_is_skipped() {
        let output = "test d ... \nthread 'd' (1) panicked at labs/src/harness.rs:162:5:\n\nd failed under sim with seed 1:\n  deadlock: no thread can run\nreplay: LAB_SEED=1 cargo test\n\nstack backtrace:\n";
        assert_eq!(panic_message(output).as_deref(), Some("deadlock: no thread can run"));
        let lone = "thread 'd' panicked at a.rs:1:1:\nonly a heading:\nnote: run with RUST_BACKTRACE=1\n";
        assert_eq!(panic_message(lone).as_deref(), Some("only a heading:"));
    }

    /// issue 14: a multi-line failure shows its sentence, not its last value.
    #[test]
    fn multi_line_failures_keep_their_sentence() {
        let output = "thread 'main' panicked at kvraft-tests/src/lib.rs:10:5:\nget wrong value, key \"0\", wanted:\nx 0 0 y\n, got\nx 0 1 y\nnote: run with RUST_BACKTRACE=1\n";
        assert_eq!(
            panic_message(output).as_deref(),
            Some("get wrong value, key \"0\", wanted: x 0 0 y , got x 0 1 y")
        );
    }

    #[test]
    fn old_panic_format() {
        assert_eq!(
            panic_message("thread 'main' panicked at 'boom', src/x.rs:1:1").as_deref(),
            Some("'boom', src/x.rs:1:1")
        );
    }

    #[test]
    fn safe_names() {
        assert_eq!(safe_name("election::initial_election_3a"), "election.initial_election_3a");
        assert_eq!(safe_name("a/b c"), "a_b_c");
        assert_eq!(safe_name(".."), "_..");
    }

    #[test]
    fn test_names_match_by_last_segment() {
        assert!(name_matches("a::b::x_3a", "x_3a"));
        assert!(name_matches("x_3a", "x_3a"));
        assert!(name_matches("a::x_3a", "a::x_3a"));
        assert!(!name_matches("a::xx_3a", "x_3a"));
    }
}
