//! The red team: submissions made from the handout (or the reference) plus one trick each,
//! graded as a course grades them (`grade run --path` and `grade batch`), each asserted to score
//! nothing for the runs it affects, with a message that names the trick. The honest reference
//! still gets full marks and the untouched handout zero.
//!
//! Every grading here builds the grader's tree, which costs a rebuild of the Raft crate and the
//! Lab 3 tests whenever `raft/src/raft.rs` changes (about 30 s on two cores). So the tricks are
//! grouped by the student file they need, each group runs under one lock (no other group can
//! swap the file in between), and groups grade with `grade batch` or several seeds of one build:
//!
//! * in `make test`: the handout and every trick that the grader's tree or the rules stop
//!   (edited tests, tester, runtime, Cargo.toml, catalogue; exit, forged output, environment,
//!   `link_section`, files, panic hooks), in one batch and one build; the honest reference; and
//!   the shard recipes of `docs/` on the same reference build.
//! * `#[ignore]`d as slow (`make redteam` runs them): the tricks that pass the rules and must be
//!   caught while the test runs (a forged summary line, a memory hog, killing the node it runs
//!   in, `labs::thread::exit`), the same tricks with the rules turned off (exits, a panic hook, a
//!   forged verdict file), and the ones the compiler stops (`#![forbid(unsafe_code)]`, a
//!   dependency the grader's Cargo.toml does not have). A trick hidden in code that some tests
//!   never reach (a RequestVote handler, `state()`) earns exactly those tests' points, on the
//!   honest reference around it; the tests are named (`NO_REQUEST_VOTE_REACHES_IT`,
//!   `NO_STATE_CALL`), and every run that reached the trick must fail. Each needs builds of its own; the
//!   defences they exercise are also covered by fast tests (`labs/tests/harness_guards.rs`,
//!   `grading/src/verdict.rs`, `grading/src/rules.rs`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard, OnceLock};

use serde_json::Value;

/// The grading options of every trick: Lab 3A, two seeds (unless a case says otherwise), no
/// real run.
const LAB: [&str; 5] = ["--lab", "3a", "--real", "0", "--plain"];
const SEEDS: [&str; 2] = ["--seeds", "2"];

/// The suite's groups run one at a time: they share the grader's tree.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").canonicalize().unwrap()
}

fn tmp() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("red-team")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn show(output: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        text(&output.stdout),
        text(&output.stderr)
    )
}

/// Runs `grade` with `args` and extra environment.
fn grade(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_grade"));
    command.args(args).env_remove("LAB_SEED").env_remove("LAB_RUNTIME").env_remove("REDTEAM_TRICK");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("run grade")
}

/// The handout of this repository, made once.
fn handout() -> &'static Path {
    static HANDOUT: OnceLock<PathBuf> = OnceLock::new();
    HANDOUT.get_or_init(|| {
        let dir = tmp().join("handout");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(tmp()).unwrap();
        let out = grade(&["handout", dir.to_str().unwrap(), "--path", repo().to_str().unwrap()], &[]);
        assert!(out.status.success(), "{}", show(&out));
        dir
    })
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        if entry.file_type().unwrap().is_dir() {
            if entry.file_name() != "target" {
                copy_dir(&src, &dst);
            }
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

/// A submission: the handout, changed by `edit`.
fn submission(name: &str, edit: impl FnOnce(&Path)) -> PathBuf {
    let dir = tmp().join("submissions").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    copy_dir(handout(), &dir);
    edit(&dir);
    dir
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn write(path: &Path, content: &str) {
    std::fs::write(path, content).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// Replaces `old` (which must be there) with `new` in the file at `path`.
fn replace(path: &Path, old: &str, new: &str) {
    let content = read(path);
    assert!(content.contains(old), "{} has no `{old}`", path.display());
    write(path, &content.replacen(old, new, 1));
}

const NEW: &str = "    pub fn new(peers: Vec<ClientEnd>, me: usize, persister: Persister, apply_tx: Sender<ApplyMsg>) -> Raft {\n";
const STATE: &str = "    pub fn state(&self) -> (u64, bool) {\n";
const REQUEST_VOTE: &str = "    pub fn request_vote(&self, args: RequestVoteArgs) -> RequestVoteReply {\n";
const FORGED: &str =
    "test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s";

/// Inserts `code` at the start of the function whose signature line is `signature`.
fn in_function(sub: &Path, signature: &str, code: &str) {
    replace(&sub.join("raft/src/raft.rs"), signature, &format!("{signature}{code}\n"));
}

/// The student file of the reference solution, into `sub`.
fn use_reference(sub: &Path) {
    std::fs::copy(repo().join("raft/src/raft.rs"), sub.join("raft/src/raft.rs")).unwrap();
}

fn results(out: &Path) -> Value {
    serde_json::from_str(&read(&out.join("results.json"))).expect("results.json")
}

fn score(results: &Value) -> (f64, f64) {
    (results["score"]["earned"].as_f64().unwrap(), results["score"]["possible"].as_f64().unwrap())
}

/// Every run's reason.
fn reasons(results: &Value) -> Vec<String> {
    results["tests"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["runs"].as_array().unwrap().iter())
        .map(|r| r["reason"].as_str().unwrap_or("").to_string())
        .collect()
}

/// The tests with a run that passed, in catalogue order.
fn passed_tests(results: &Value) -> Vec<String> {
    results["tests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["runs"].as_array().unwrap().iter().any(|r| r["outcome"] == "pass"))
        .map(|t| t["test"].as_str().unwrap().to_string())
        .collect()
}

/// Lab 3A's tests in which no RequestVote reaches the submission's handler: its peers are
/// scripted and never stand for election, or it has no peer. A trick hidden in that handler
/// never runs there, and the reference around it passes honestly.
const NO_REQUEST_VOTE_REACHES_IT: [&str; 4] = [
    "higher_term_steps_down_3a",
    "heartbeats_suppress_elections_3a",
    "stale_votes_not_counted_3a",
    "single_peer_leads_3a",
];

/// Lab 3A's tests that never ask the submission's Raft for its state: their checks read what
/// it sends to scripted peers. A trick hidden in `state()` never runs there.
const NO_STATE_CALL: [&str; 2] = ["vote_once_per_term_3a", "stale_votes_not_counted_3a"];

/// For a trick hidden in code that some tests never reach: every run that reached it failed
/// saying `why`, and exactly the tests in `unreached` passed (on the reference around it).
fn assert_fails_where_reached(name: &str, results: &Value, scoreboard: &str, why: &str, unreached: &[&str]) {
    assert_eq!(passed_tests(results), unreached, "{name}:\n{scoreboard}");
    let failed: Vec<String> = reasons(results).into_iter().filter(|r| !r.is_empty()).collect();
    assert!(failed.iter().all(|r| r.contains(why)), "{name}: {failed:?} lack `{why}`");
}

/// Lab 3A in the built-in catalogue, which the red team grades: (its points, its tests).
fn lab3a() -> (f64, usize) {
    let catalogue = grading::catalogue::Catalogue::load(None).expect("the built-in catalogue parses");
    let entries: Vec<_> = catalogue.entries.iter().filter(|e| e.part.eq_ignore_ascii_case("3a")).collect();
    (entries.iter().map(|e| e.points).sum(), entries.len())
}

/// Asserts that every run failed and that each reason (or the scoreboard) says `why`.
fn assert_zero(name: &str, results: &Value, scoreboard: &str, why: &str) {
    let (earned, possible) = score(results);
    assert_eq!(earned, 0.0, "{name} earned points:\n{scoreboard}");
    let (points, tests) = lab3a();
    assert_eq!(possible, points, "{name}: the grader's catalogue decides the points:\n{scoreboard}");
    let reasons = reasons(results);
    assert_eq!(reasons.len(), 2 * tests, "{name}: {reasons:?}");
    let named = reasons.iter().all(|r| r.contains(why)) || scoreboard.contains(why);
    assert!(named, "{name}: neither the runs nor the scoreboard say `{why}`:\n{reasons:?}\n{scoreboard}");
}

/// Grades one submission with `extra` options; returns its results and scoreboard.
fn grade_one(name: &str, sub: &Path, extra: &[&str], env: &[(&str, &str)]) -> (Value, String) {
    let out = tmp().join("out").join(name);
    let _ = std::fs::remove_dir_all(&out);
    let mut args = vec!["run", "--path", sub.to_str().unwrap(), "--out", out.to_str().unwrap()];
    args.extend_from_slice(&LAB);
    if !extra.contains(&"--seeds") {
        args.extend_from_slice(&SEEDS);
    }
    args.extend_from_slice(extra);
    let output = grade(&args, env);
    assert!(matches!(output.status.code(), Some(0 | 1)), "{name}: {}", show(&output));
    println!("--- {name}\n{}", text(&output.stdout));
    (results(&out), read(&out.join("scoreboard.txt")))
}

/// The tricks that the grader's own tree or the rules stop, and the handout itself: one
/// `grade batch`, one build (every submission's Raft is the handout's, or is not built).
#[test]
fn tricks_stopped_by_the_grader_tree_and_the_rules_score_nothing() {
    let _serial = serial();
    let exit_line = "        std::process::exit(0);";
    // Where the exit lands: the line after request_vote's signature, in column 9.
    let handler_line = read(&handout().join("raft/src/raft.rs"))
        .lines()
        .position(|l| format!("{l}\n") == REQUEST_VOTE)
        .unwrap()
        + 2;
    let handler_rule = format!("raft/src/raft.rs:{handler_line}:9: breaks the rule \"no std::process");
    let cases: Vec<(&str, PathBuf, &str)> = vec![
        ("handout", submission("handout", |_| {}), "not yet implemented: Lab 3A"),
        (
            "edited-tests",
            submission("edited-tests", |s| {
                // The suite's bodies become no-ops: every test would pass in the student's tree.
                let suite = s.join("raft-tests/tests/lab3a.rs");
                let text = read(&suite).replace("suite::", "// suite::");
                write(&suite, &text);
            }),
            "ignored: raft-tests/tests/lab3a.rs differs from the handout",
        ),
        (
            "edited-tester",
            submission("edited-tester", |s| {
                let tester = s.join("raft-tests/src/lib.rs");
                let text = format!("{}\n// the tester, edited to check nothing\n", read(&tester));
                write(&tester, &text);
            }),
            "ignored: raft-tests/src/lib.rs differs from the handout",
        ),
        (
            "edited-runtime",
            submission("edited-runtime", |s| {
                // The harness skips every test body.
                replace(
                    &s.join("labs/src/harness.rs"),
                    "run_test_with(info, |b| b, body);",
                    "let _ = (info, body);",
                );
            }),
            "ignored: labs/src/harness.rs differs from the handout",
        ),
        (
            "edited-catalogue",
            submission("edited-catalogue", |s| {
                let catalogue = s.join("grading/catalogue.txt");
                let text = read(&catalogue)
                    .replace("initial_election_3a                 5", "initial_election_3a 1000");
                write(&catalogue, &text);
            }),
            "ignored: grading/catalogue.txt differs from the handout",
        ),
        (
            "forged-summary-then-exit",
            submission("forged-summary-then-exit", |s| {
                in_function(s, NEW, &format!("        println!(\"{FORGED}\");\n{exit_line}"));
            }),
            "breaks the rule \"no std::process, std::env, std::fs, std::net, std::os\": `std::process`",
        ),
        (
            "exit-in-a-handler",
            submission("exit-in-a-handler", |s| in_function(s, REQUEST_VOTE, exit_line)),
            &handler_rule,
        ),
        (
            "environment-rewrite",
            submission("environment-rewrite", |s| {
                in_function(s, NEW, "        unsafe { std::env::set_var(\"LAB_SEED\", \"777\") };");
            }),
            "`std::env`: it reads and rewrites the environment the harness reads",
        ),
        (
            "link-section-constructor",
            submission("link-section-constructor", |s| {
                let raft = s.join("raft/src/raft.rs");
                let text = format!(
                    "{}\n#[unsafe(link_section = \".init_array\")]\n#[used]\nstatic CHOOSE_SEED: extern \"C\" fn() = choose_seed;\n\
                     extern \"C\" fn choose_seed() {{\n    unsafe {{ std::env::set_var(\"LAB_SEED\", \"777\") }};\n}}\n",
                    read(&raft)
                );
                write(&raft, &text);
            }),
            "breaks the rule \"no linker attributes\": the attribute `link_section`",
        ),
        (
            "read-a-file",
            submission("read-a-file", |s| {
                in_function(
                    s,
                    NEW,
                    "        let _answers = std::fs::read_to_string(\"/course/reference/raft/src/raft.rs\");",
                );
            }),
            "`std::fs`: it reads and writes files",
        ),
        (
            "write-a-file",
            submission("write-a-file", |s| {
                in_function(s, NEW, "        let _ = std::fs::write(\"target/grade/results.json\", \"{}\");");
            }),
            "`std::fs`: it reads and writes files",
        ),
        (
            "panic-hook-summary",
            submission("panic-hook-summary", |s| {
                in_function(
                    s,
                    NEW,
                    &format!("        std::panic::set_hook(Box::new(|_| println!(\"{FORGED}\")));"),
                );
            }),
            "breaks the rule \"no panic hooks\": `set_hook`",
        ),
    ];
    let out = tmp().join("batch");
    let mut args = vec!["batch".to_string(), "--out".into(), out.display().to_string()];
    args.extend(LAB.iter().chain(&SEEDS).map(ToString::to_string));
    args.extend(cases.iter().map(|(_, path, _)| path.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = grade(&args, &[]);
    assert_eq!(output.status.code(), Some(0), "every submission is graded: {}", show(&output));
    println!("{}", text(&output.stdout));
    let csv = read(&out.join("scores.csv"));
    println!("{csv}");
    for (name, _, why) in &cases {
        let dir = out.join(name);
        let (results, scoreboard) = (results(&dir), read(&dir.join("scoreboard.txt")));
        assert_zero(name, &results, &scoreboard, why);
        let row = csv.lines().find(|l| l.starts_with(&format!("{name},"))).unwrap_or_else(|| panic!("{csv}"));
        let (points, tests) = lab3a();
        assert!(row.contains(&format!(",0.00,0.00,{points},{},", 2 * tests)), "{name}: {row}");
    }
    // The trick's own file is not built: a broken rule blocks its lab before the build.
    let blocked = results(&out.join("exit-in-a-handler"));
    assert_eq!(blocked["rules"]["blocked"], serde_json::json!(["Lab 3 (Raft)"]));
    let not_built = format!("not built: raft/src/raft.rs:{handler_line}:9");
    assert!(reasons(&blocked).iter().all(|r| r.starts_with(&not_built)), "{blocked:#}");
    // A course's batch: a header and a row per student, parts as columns.
    assert!(
        csv.starts_with(
            "student,status,3A,total,possible,failed_runs,warnings,broken_rules,ignored_files,note\n"
        ),
        "{csv}"
    );
}

/// The honest reference gets full marks in the grader's tree, with nothing ignored and no rule
/// broken; and the shard recipes of `docs/` (a GitHub Actions matrix and a Slurm job array),
/// run shard by shard on this machine and merged, give the same score.
#[test]
fn the_honest_reference_gets_full_marks_and_the_shard_recipes_merge() {
    let _serial = serial();
    let sub = submission("reference", use_reference);
    let (results, scoreboard) = grade_one("reference", &sub, &[], &[]);
    let (points, tests) = lab3a();
    assert_eq!(score(&results), (points, points), "{scoreboard}");
    assert_eq!(results["score"]["full"], true);
    assert_eq!(results["submission"]["ignored"], serde_json::json!([]), "{scoreboard}");
    assert_eq!(results["rules"]["violations"], serde_json::json!([]));
    let gradescope: Value =
        serde_json::from_str(&read(&tmp().join("out/reference/gradescope.json"))).unwrap();
    assert_eq!(gradescope["score"], points);
    assert_eq!(gradescope["tests"].as_array().unwrap().len(), tests);
    assert_eq!(gradescope["tests"][0]["max_score"], 5.0);
    assert_eq!(gradescope["tests"][0]["status"], "passed");

    for recipe in [Recipe::github(), Recipe::slurm()] {
        let merged = recipe.run(&sub);
        assert_eq!(score(&merged), (points, points), "{}: {merged:#}", recipe.name);
        assert_eq!(merged["merged_from"].as_array().unwrap().len(), recipe.shards);
        let runs: usize =
            merged["tests"].as_array().unwrap().iter().map(|t| t["runs"].as_array().unwrap().len()).sum();
        assert_eq!(runs, 2 * tests, "{}", recipe.name);
    }
}

/// A shard recipe of `docs/`: its shard command and its merge command, run here.
struct Recipe {
    name: &'static str,
    shards: usize,
    /// The shell commands of shard `i` (1-based) and of the merge, with the recipe's
    /// placeholders filled in.
    shard: Box<dyn Fn(usize) -> String>,
    merge: String,
}

impl Recipe {
    /// `docs/grading/github-actions.yml`: the `run:` of its `grade` and `merge` steps, with
    /// `${{ matrix.shard }}` and `${{ strategy.job-total }}` filled in.
    fn github() -> Recipe {
        let workflow = read(&repo().join("docs/grading/github-actions.yml"));
        let step = |name: &str| -> String {
            let at = workflow.find(&format!("name: {name}")).unwrap_or_else(|| panic!("no step `{name}`"));
            let run = &workflow[at..];
            let run = &run[run.find("run: |").expect("a run block") + "run: |".len()..];
            let lines: Vec<&str> = run
                .lines()
                .skip(1)
                .take_while(|l| l.starts_with("          ") || l.trim().is_empty())
                .collect();
            lines.iter().map(|l| l.trim()).collect::<Vec<_>>().join("\n")
        };
        let matrix =
            workflow.lines().find_map(|l| l.trim().strip_prefix("shard: [")).expect("a shard matrix");
        let shards = matrix.trim_end_matches(']').split(',').count();
        let grade_step = step("grade one shard");
        let merge = step("merge the shards").replace("${{ strategy.job-total }}", &shards.to_string());
        Recipe {
            name: "github-actions",
            shards,
            shard: Box::new(move |i| {
                grade_step
                    .replace("${{ matrix.shard }}", &i.to_string())
                    .replace("${{ strategy.job-total }}", &shards.to_string())
            }),
            merge,
        }
    }

    /// `docs/grading/slurm.sh`: the array task (`SLURM_ARRAY_TASK_ID`) and the `merge` call.
    fn slurm() -> Recipe {
        let script = repo().join("docs/grading/slurm.sh");
        let text = read(&script);
        let array = text.lines().find_map(|l| l.strip_prefix("#SBATCH --array=1-")).expect("an --array line");
        let shards: usize = array.trim().parse().unwrap();
        let path = script.display().to_string();
        Recipe {
            name: "slurm",
            shards,
            shard: Box::new(move |i| {
                format!("SLURM_ARRAY_TASK_ID={i} SLURM_ARRAY_TASK_COUNT={shards} bash {path} \"$SUBMISSION\"")
            }),
            merge: format!("bash {} --merge", script.display()),
        }
    }

    /// Runs every shard's command, then the merge, in a fresh folder; returns the merged
    /// results.
    fn run(&self, submission: &Path) -> Value {
        let dir = tmp().join("recipes").join(self.name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let grade_bin = env!("CARGO_BIN_EXE_grade");
        let sh = |script: &str| {
            let mut command = Command::new("bash");
            command
                .args(["-euo", "pipefail", "-c", script])
                .current_dir(&dir)
                .env("GRADE", grade_bin)
                .env("GRADE_ARGS", format!("{} {}", LAB.join(" "), SEEDS.join(" ")))
                .env("SUBMISSION", submission)
                .env_remove("LAB_SEED");
            let out = command.output().unwrap();
            assert!(out.status.success(), "{}: `{script}`: {}", self.name, show(&out));
        };
        for i in 1..=self.shards {
            sh(&(self.shard)(i));
        }
        sh(&self.merge);
        results(&dir.join("merged"))
    }
}

/// A Raft that tries one trick per seed, each on top of an honest Raft (so any other seed
/// passes): the tricks are legal code, so the rules let them through, and the grader must
/// catch them while the test runs.
fn seed_tricks(sub: &Path) {
    use_reference(sub);
    in_function(
        sub,
        NEW,
        &format!(
            "        match labs::world::World::current().seed() {{\n\
             101 => {{ println!(\"{FORGED}\"); panic!(\"a broken Raft\") }}\n\
             102 => {{ let hog: Vec<Vec<u8>> = (0..64).map(|_| vec![7u8; 16 << 20]).collect(); std::hint::black_box(&hog); }}\n\
             _ => {{}}\n\
             }}"
        ),
    );
    in_function(
        sub,
        STATE,
        "        match labs::world::World::current().seed() {\n\
         103 => { if let Some(node) = labs::thread::current_node() { node.kill(); } }\n\
         104 => labs::thread::exit(),\n\
         _ => {}\n\
         }",
    );
}

#[test]
#[ignore = "slow: a build of its own; `make redteam` runs it"]
fn tricks_that_pass_the_rules_are_caught_while_the_test_runs() {
    let _serial = serial();
    let sub = submission("seed-tricks", seed_tricks);
    let cases: [(&str, u64, &[&str], &str); 4] = [
        ("forged-summary-line", 101, &[], "a forged summary line decides nothing"),
        (
            "memory-hog",
            102,
            &["--memory-limit", "512M"],
            "out of memory at the grader's limit of 512 MiB of address space",
        ),
        (
            "kill-the-node-it-runs-in",
            103,
            &[],
            "main thread (node 'tester') was killed before the test finished",
        ),
        (
            "labs-thread-exit",
            104,
            &[],
            "labs::thread::exit() was called by a thread whose node is not killed",
        ),
    ];
    for (name, seed, extra, why) in cases {
        let first = seed.to_string();
        let mut args = vec!["--first-seed", first.as_str(), "--seeds", "1"];
        args.extend_from_slice(extra);
        let (results, scoreboard) = grade_one(name, &sub, &args, &[]);
        if name == "kill-the-node-it-runs-in" {
            // Calls into a server run inside that server's node, so the trick kills the server
            // it runs in, never the tester's: its runs pass or fail as a crashed server's would.
            let reasons = reasons(&results);
            assert!(
                reasons.iter().all(|r| !r.contains(why)),
                "{name}: the tester's node was killed: {reasons:?}"
            );
            assert!(
                reasons.iter().any(|r| !r.is_empty()),
                "{name}: a server that kills itself failed nothing"
            );
            continue;
        }
        if name == "labs-thread-exit" {
            assert_fails_where_reached(name, &results, &scoreboard, why, &NO_STATE_CALL);
            continue;
        }
        let (earned, _) = score(&results);
        assert_eq!(earned, 0.0, "{name}:\n{scoreboard}");
        let reasons = reasons(&results);
        assert_eq!(reasons.len(), lab3a().1, "{name}: {reasons:?}");
        assert!(reasons.iter().all(|r| r.contains(why)), "{name}: {reasons:?} lack `{why}`");
    }
    // The same Raft on an ordinary seed is honest, and passes.
    let (results, scoreboard) = grade_one("seed-tricks-honest-seed", &sub, &["--seeds", "1"], &[]);
    let points = lab3a().0;
    assert_eq!(score(&results), (points, points), "{scoreboard}");
}

/// With the rules turned off (`--skip-rules`, for this test only), the run-time defences still
/// catch what the rules would have: exits, forged output, a forged verdict file.
#[test]
#[ignore = "slow: a build of its own; `make redteam` runs it"]
fn without_the_rules_the_run_time_defences_still_hold() {
    let _serial = serial();
    let sub = submission("unchecked-tricks", |s| {
        use_reference(s);
        in_function(
            s,
            NEW,
            &format!(
                "        match std::env::var(\"REDTEAM_TRICK\").as_deref() {{\n\
                 Ok(\"forge-then-exit\") => {{ println!(\"{FORGED}\"); std::process::exit(0) }}\n\
                 Ok(\"panic-hook\") => std::panic::set_hook(Box::new(|_| {{ println!(\"{FORGED}\"); std::process::exit(0) }})),\n\
                 Ok(\"forge-verdict\") => {{\n\
                     let path = std::env::var(\"LAB_VERDICT_FILE\").unwrap();\n\
                     let test = std::env::args().find(|a| a.ends_with(\"_3a\")).unwrap();\n\
                     let seed: u64 = std::env::var(\"LAB_SEED\").unwrap().parse().unwrap();\n\
                     let forged = format!(\"{{{{\\\"record\\\":\\\"end\\\",\\\"format\\\":1,\\\"test\\\":\\\"{{test}}\\\",\\\"backend\\\":\\\"sim\\\",\\\"seed\\\":{{seed}},\\\"passed\\\":true}}}}\\n\");\n\
                     std::fs::write(&path, forged).unwrap();\n\
                     std::process::exit(0)\n\
                 }}\n\
                 _ => {{}}\n\
                 }}"
            ),
        );
        in_function(
            s,
            STATE,
            "        if std::env::var(\"REDTEAM_TRICK\").as_deref() == Ok(\"panic-hook\") { panic!(\"a broken Raft\") }",
        );
        in_function(
            s,
            REQUEST_VOTE,
            "        if std::env::var(\"REDTEAM_TRICK\").as_deref() == Ok(\"exit-in-a-handler\") { std::process::exit(0) }",
        );
    });
    let cases = [
        ("exit-in-a-handler", "exited in the middle of the test"),
        ("forge-then-exit", "exited in the middle of the test"),
        ("panic-hook", "exited in the middle of the test"),
        ("forge-verdict", "exited in the middle of the test"),
    ];
    for (trick, why) in cases {
        let (results, scoreboard) =
            grade_one(&format!("unchecked-{trick}"), &sub, &["--skip-rules"], &[("REDTEAM_TRICK", trick)]);
        assert!(scoreboard.contains("were NOT checked"), "{scoreboard}");
        match trick {
            "exit-in-a-handler" => {
                assert_fails_where_reached(trick, &results, &scoreboard, why, &NO_REQUEST_VOTE_REACHES_IT);
            }
            // The hook is set in `new()`; the panic that calls it is in `state()`.
            "panic-hook" => assert_fails_where_reached(trick, &results, &scoreboard, why, &NO_STATE_CALL),
            _ => assert_zero(trick, &results, &scoreboard, why),
        }
    }
    let forged = reasons(&results(&tmp().join("out/unchecked-forge-then-exit")));
    assert!(forged.iter().all(|r| r.contains("a forged summary line decides nothing")), "{forged:?}");
    let handler = reasons(&results(&tmp().join("out/unchecked-exit-in-a-handler")));
    assert!(
        handler.iter().filter(|r| !r.is_empty()).all(|r| r.contains("std::process::exit called from")),
        "{handler:?}"
    );
}

/// What the compiler stops in the grader's tree: `unsafe` under the grader's
/// `#![forbid(unsafe_code)]` (with the rules off), and a dependency that only the submission's
/// Cargo.toml has.
#[test]
#[ignore = "slow: builds of their own; `make redteam` runs it"]
fn the_compiler_stops_unsafe_code_and_foreign_dependencies() {
    let _serial = serial();
    let constructor = submission("unchecked-link-section", |s| {
        let raft = s.join("raft/src/raft.rs");
        let text = format!(
            "{}\n#[unsafe(link_section = \".init_array\")]\n#[used]\nstatic CHOOSE_SEED: extern \"C\" fn() = choose_seed;\n\
             extern \"C\" fn choose_seed() {{\n    unsafe {{ std::env::set_var(\"LAB_SEED\", \"777\") }};\n}}\n",
            read(&raft)
        );
        write(&raft, &text);
    });
    let (results, scoreboard) = grade_one("unchecked-link-section", &constructor, &["--skip-rules"], &[]);
    assert_zero("unchecked-link-section", &results, &scoreboard, "the build failed");
    // The compiler's own words, under the grader's #![forbid(unsafe_code)].
    assert!(results["build_failure"].as_str().unwrap().contains("with `link_section`"), "{scoreboard}");

    let dependency = submission("cargo-dependency", |s| {
        replace(&s.join("raft/Cargo.toml"), "[dependencies]\n", "[dependencies]\nlibc = \"0.2\"\n");
        in_function(s, NEW, "        let _pid = libc::getpid;");
    });
    let (results, scoreboard) = grade_one("cargo-dependency", &dependency, &[], &[]);
    assert_zero("cargo-dependency", &results, &scoreboard, "the build failed");
    assert!(scoreboard.contains("ignored: raft/Cargo.toml differs from the handout"), "{scoreboard}");
    assert!(results["build_failure"].as_str().unwrap().contains("libc"), "{scoreboard}");
}
