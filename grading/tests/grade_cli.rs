//! End-to-end tests of the `grade` binary against a small fixture workspace.
//!
//! The fixture is written at test time into cargo's per-target temp dir. It has no
//! dependencies, so it builds offline, and its tests cover what the grader must handle: a
//! test that passes, one that fails (and prints its seed), one that hangs forever, one that
//! passes on even seeds only, an ignored test, a nested module test, and a library unit test.
//!
//! Marker lines for the handout tests are built at run time (`M`), never written out in
//! this file, so that `grade handout` on this repository does not treat them as markers.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The per-run timeout the fixture runs use, seconds.
const TIMEOUT: u64 = 2;

/// The solution-marker prefix, assembled so this file holds no marker line.
const M: &str = concat!("// SOLU", "TION");

fn tmp_root() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("grade-cli")
}

/// A fresh directory under the temp root.
fn fresh_dir(name: &str) -> PathBuf {
    let dir = tmp_root().join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

const FIXTURE_SUITE: &str = r#"
use std::time::Duration;

fn seed() -> Option<u64> {
    std::env::var("LAB_SEED").ok().and_then(|s| s.parse().ok())
}

#[test]
fn pass_always() {
    println!("pass_always ... Passed");
}

#[test]
fn fail_always() {
    println!("fixture: seed {:?}; replay: LAB_SEED={:?} cargo test", seed(), seed());
    panic!("deliberate failure <&> with seed {:?}", seed());
}

#[test]
fn hang_forever() {
    println!("hanging");
    loop {
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn even_seeds() {
    if let Some(s) = seed() {
        assert!(s % 2 == 0, "odd seed {s}");
    }
}

#[test]
#[ignore]
fn ignored_test() {}

#[test]
fn not_in_catalogue() {}

mod nested {
    #[test]
    fn deep_test() {}
}
"#;

const FIXTURE_CATALOGUE: &str = "\
# fixture catalogue
A  fixture  suite  pass_always   4
A  fixture  *      fail_always   2
B  fixture  suite  hang_forever  1
B  fixture  *      even_seeds    3
B  fixture  lib    unit_passes   1
C  fixture  *      deep_test     1
C  fixture  *      ignored_test  1
C  fixture  *      missing_test  5   # not written yet: skipped
C  nopkg    *      whatever      1   # no such package: skipped
";

/// The fixture workspace, built once per test process.
fn fixture() -> &'static Path {
    static FIXTURE: OnceLock<PathBuf> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = fresh_dir("fixture");
        write(
            &dir.join("Cargo.toml"),
            "[package]\nname = \"fixture\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
        );
        write(
            &dir.join("src/lib.rs"),
            "#[cfg(test)]\nmod tests {\n    #[test]\n    fn unit_passes() {}\n}\n",
        );
        write(&dir.join("tests/suite.rs"), FIXTURE_SUITE);
        write(&dir.join("catalogue.txt"), FIXTURE_CATALOGUE);
        dir
    })
}

/// Runs `grade` with `args`, with a target dir of the workspace's own (a nested cargo must
/// not wait on the lock of the cargo running these tests).
fn grade(args: &[&str], target: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_grade"))
        .args(args)
        .env("CARGO_TARGET_DIR", target)
        .env_remove("LAB_SEED")
        .env_remove("LAB_RUNTIME")
        .output()
        .expect("run grade")
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

/// Runs the fixture's catalogue with 4 seeds and 1 real run, plus `extra` arguments.
fn grade_fixture(out: &Path, extra: &[&str]) -> (Output, Duration) {
    let fixture = fixture();
    let mut args = vec![
        "run",
        "--in-place",
        "--path",
        fixture.to_str().unwrap(),
        "--catalogue",
        "",
        "--seeds",
        "4",
        "--real",
        "1",
        "--jobs",
        "4",
        "--timeout",
        "2",
        "--plain",
        "--out",
        out.to_str().unwrap(),
    ];
    let catalogue = fixture.join("catalogue.txt");
    args[5] = catalogue.to_str().unwrap();
    args.extend_from_slice(extra);
    let start = Instant::now();
    let output = grade(&args, &fixture.join("target"));
    (output, start.elapsed())
}

struct Unsharded {
    output: Output,
    out: PathBuf,
    elapsed: Duration,
}

fn unsharded() -> &'static Unsharded {
    static RUN: OnceLock<Unsharded> = OnceLock::new();
    RUN.get_or_init(|| {
        let out = fresh_dir("out-unsharded");
        let (output, elapsed) = grade_fixture(&out, &[]);
        Unsharded { output, out, elapsed }
    })
}

fn results(out: &Path) -> Value {
    let text = std::fs::read_to_string(out.join("results.json")).expect("results.json");
    serde_json::from_str(&text).expect("results.json is valid JSON")
}

fn test_entry<'a>(results: &'a Value, name: &str) -> &'a Value {
    results["tests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["test"].as_str().unwrap().ends_with(name))
        .unwrap_or_else(|| panic!("no test {name} in results"))
}

fn passed(test: &Value) -> (usize, usize) {
    let runs = test["runs"].as_array().unwrap();
    let passed = runs.iter().filter(|r| r["outcome"] == "pass").count();
    (passed, runs.len())
}

#[test]
fn scores_are_proportional_and_failures_are_saved() {
    let run = unsharded();
    let out = &run.out;
    assert_eq!(run.output.status.code(), Some(1), "{}", show(&run.output));
    let r = results(out);
    assert_eq!(r["tests"].as_array().unwrap().len(), 7, "{r:#}");
    assert_eq!(passed(test_entry(&r, "pass_always")), (5, 5));
    assert_eq!(passed(test_entry(&r, "fail_always")), (0, 5));
    assert_eq!(passed(test_entry(&r, "hang_forever")), (0, 5));
    // Seeds 2 and 4 pass, 1 and 3 fail; the real run has no seed and passes.
    assert_eq!(passed(test_entry(&r, "even_seeds")), (3, 5));
    assert_eq!(passed(test_entry(&r, "unit_passes")), (5, 5));
    assert_eq!(test_entry(&r, "unit_passes")["test"], "tests::unit_passes");
    assert_eq!(passed(test_entry(&r, "deep_test")), (5, 5));
    // An ignored test does not run, so it must not earn points.
    assert_eq!(passed(test_entry(&r, "ignored_test")), (0, 5));
    let score = &r["score"];
    assert!((score["earned"].as_f64().unwrap() - 7.8).abs() < 1e-9, "{score}");
    assert_eq!(score["possible"].as_f64().unwrap(), 13.0);
    assert_eq!(score["full"], false);

    // The skipped entries say why.
    let skipped = r["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 2);
    assert!(skipped[0]["reason"].as_str().unwrap().contains("no test named `missing_test`"));
    assert!(skipped[1]["reason"].as_str().unwrap().contains("package `nopkg` is not in the workspace"));
    assert!(
        r["uncatalogued"].as_array().unwrap().iter().any(|u| u == "fixture suite not_in_catalogue"),
        "{}",
        r["uncatalogued"]
    );

    // The hang was killed at the timeout, each time.
    for run in test_entry(&r, "hang_forever")["runs"].as_array().unwrap() {
        assert_eq!(run["outcome"], "timeout");
        let seconds = run["seconds"].as_f64().unwrap();
        assert!((TIMEOUT as f64 - 0.1..TIMEOUT as f64 + 3.0).contains(&seconds), "{seconds}");
    }
    // 35 runs, 5 of them 2 s hangs, on 4 workers: well under a minute including the build.
    assert!(run.elapsed < Duration::from_secs(60), "{:?}", run.elapsed);

    // Failing runs have logs at <test>/<seed>.log; passing runs have none.
    for seed in 1..=4 {
        let log = std::fs::read_to_string(out.join(format!("fail_always/{seed}.log"))).unwrap();
        assert!(log.contains(&format!("fixture: seed Some({seed})")), "{log}");
        assert!(log.contains(&format!("deliberate failure <&> with seed Some({seed})")), "{log}");
        assert!(log.contains(&format!(
            "LAB_SEED={seed} cargo test --release -p fixture --test suite -- --exact fail_always"
        )));
    }
    let real = std::fs::read_to_string(out.join("fail_always/real-1.log")).unwrap();
    assert!(
        real.contains("LAB_RUNTIME=real cargo test --release -p fixture --test suite -- --exact fail_always")
    );
    assert!(out.join("even_seeds/1.log").is_file());
    assert!(out.join("even_seeds/3.log").is_file());
    assert!(!out.join("even_seeds/2.log").exists());
    assert!(!out.join("pass_always").exists());
    let hang = std::fs::read_to_string(out.join("hang_forever/2.log")).unwrap();
    assert!(hang.contains("TIMEOUT") && hang.contains("hanging"), "{hang}");
    let ignored = &test_entry(&r, "ignored_test")["runs"][0]["reason"];
    assert!(ignored.as_str().unwrap().contains("did not run"), "{ignored}");
    let fail_reason = &test_entry(&r, "fail_always")["runs"][0]["reason"];
    assert_eq!(fail_reason, "deliberate failure <&> with seed Some(1)");

    // The scoreboard names every failing test, its seeds and a replay command.
    let stdout = text(&run.output.stdout);
    assert!(stdout.contains("NOT FULL"), "{stdout}");
    assert!(stdout.contains("LAB_SEED=1 cargo test --release -p fixture --test suite -- --exact even_seeds"));
    assert!(stdout.contains("seed 3"));
    assert!(stdout.contains("7.80 / 13"), "{stdout}");
    assert_eq!(
        std::fs::read_to_string(out.join("scoreboard.txt")).unwrap(),
        stdout[..stdout.find("Results: ").unwrap()]
    );
    // Plain progress: one line per run.
    let stderr = text(&run.output.stderr);
    assert_eq!(stderr.lines().filter(|l| l.starts_with('[')).count(), 35, "{stderr}");

    // The JUnit file is well-formed and has a case per run and per skipped entry.
    let junit = std::fs::read_to_string(out.join("junit.xml")).unwrap();
    check_xml(&junit);
    assert_eq!(junit.matches("<testcase ").count(), 35 + 2);
    assert_eq!(junit.matches("<failure ").count(), 5 + 5 + 2 + 5);
    assert_eq!(junit.matches("<skipped ").count(), 2);
    assert!(junit.contains("deliberate failure &lt;&amp;&gt;"));
}

#[test]
fn shards_merge_to_the_unsharded_scoreboard() {
    let whole = unsharded();
    let a = fresh_dir("out-shard-1");
    let b = fresh_dir("out-shard-2");
    let (out_a, _) = grade_fixture(&a, &["--shard", "1/2"]);
    let (out_b, _) = grade_fixture(&b, &["--shard", "2/2"]);
    // Each shard fails some runs of its own.
    assert_eq!(out_a.status.code(), Some(1), "{}", show(&out_a));
    assert_eq!(out_b.status.code(), Some(1), "{}", show(&out_b));
    let runs = |out: &Path| -> usize {
        results(out)["tests"].as_array().unwrap().iter().map(|t| t["runs"].as_array().unwrap().len()).sum()
    };
    assert_eq!(runs(&a) + runs(&b), 35);
    assert!(runs(&a) > 0 && runs(&b) > 0);

    let merged = tmp_root().join("out-merged");
    let _ = std::fs::remove_dir_all(&merged);
    let ra = a.join("results.json");
    let rb = b.join("results.json");
    let output = grade(
        &["merge", rb.to_str().unwrap(), ra.to_str().unwrap(), "--out", merged.to_str().unwrap()],
        &fixture().join("target"),
    );
    assert_eq!(output.status.code(), Some(1), "{}", show(&output));
    let scoreboard = std::fs::read_to_string(merged.join("scoreboard.txt")).unwrap();
    let expected = std::fs::read_to_string(whole.out.join("scoreboard.txt")).unwrap();
    assert_eq!(scoreboard, expected);
    // Same runs, same outcomes, same logs.
    let outcomes = |r: &Value| -> Vec<(String, String, String)> {
        r["tests"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|t| {
                t["runs"].as_array().unwrap().iter().map(move |run| {
                    (
                        t["test"].to_string(),
                        format!("{}{}{}", run["mode"], run["seed"], run["index"]),
                        run["outcome"].to_string(),
                    )
                })
            })
            .collect()
    };
    assert_eq!(outcomes(&results(&merged)), outcomes(&results(&whole.out)));
    assert!(merged.join("fail_always/1.log").is_file());
    assert!(merged.join("fail_always/real-1.log").is_file());
    check_xml(&std::fs::read_to_string(merged.join("junit.xml")).unwrap());

    // An incomplete set, a duplicate, and an unsharded input are refused.
    let refused =
        grade(&["merge", ra.to_str().unwrap(), "--out", merged.to_str().unwrap()], &fixture().join("target"));
    assert_eq!(refused.status.code(), Some(2));
    assert!(text(&refused.stderr).contains("shard(s) 2 of 2 are missing"), "{}", show(&refused));
    let twice = grade(
        &["merge", ra.to_str().unwrap(), ra.to_str().unwrap(), "--out", merged.to_str().unwrap()],
        &fixture().join("target"),
    );
    assert_eq!(twice.status.code(), Some(2));
    assert!(text(&twice.stderr).contains("given twice"), "{}", show(&twice));
    let whole_json = whole.out.join("results.json");
    let not_shard = grade(&["merge", whole_json.to_str().unwrap()], &fixture().join("target"));
    assert_eq!(not_shard.status.code(), Some(2));
    assert!(text(&not_shard.stderr).contains("not one shard's results"), "{}", show(&not_shard));
}

#[test]
fn full_score_exits_zero() {
    let out = fresh_dir("out-full");
    let (output, _) = grade_fixture(&out, &["--test", "pass_always", "--lab", "a"]);
    assert_eq!(output.status.code(), Some(0), "{}", show(&output));
    let stdout = text(&output.stdout);
    assert!(stdout.contains("FULL SCORE"), "{stdout}");
    assert!(stdout.contains("4.00 / 4"), "{stdout}");
    let r = results(&out);
    assert_eq!(r["score"]["full"], true);
    check_xml(&std::fs::read_to_string(out.join("junit.xml")).unwrap());
    // A second run into the same folder clears it first.
    let (again, _) = grade_fixture(&out, &["--test", "pass_always"]);
    assert_eq!(again.status.code(), Some(0), "{}", show(&again));
}

#[test]
fn expect_all_fail_checks_a_handout() {
    let out = fresh_dir("out-expect-ok");
    let (ok, _) = grade_fixture(&out, &["--test", "fail_always", "--expect-all-fail"]);
    assert_eq!(ok.status.code(), Some(0), "{}", show(&ok));
    assert!(text(&ok.stdout).contains("every run failed cleanly"), "{}", show(&ok));
    let out = fresh_dir("out-expect-bad");
    let (bad, _) = grade_fixture(&out, &["--test", "even_seeds", "--expect-all-fail"]);
    assert_eq!(bad.status.code(), Some(1), "{}", show(&bad));
    assert!(text(&bad.stdout).contains("fixture even_seeds (seed 2): passed"), "{}", show(&bad));
}

#[test]
fn nothing_graded_is_explained() {
    let fixture = fixture();
    let catalogue = tmp_root().join("empty-match.txt");
    write(&catalogue, "X fixture * not_written_yet 3\nY fixture nosuchbin pass_always 1\n");
    let out = fresh_dir("out-nothing");
    let output = grade(
        &[
            "run",
            "--in-place",
            "--path",
            fixture.to_str().unwrap(),
            "--catalogue",
            catalogue.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--plain",
        ],
        &fixture.join("target"),
    );
    assert_eq!(output.status.code(), Some(1), "{}", show(&output));
    let stdout = text(&output.stdout);
    assert!(stdout.contains("Nothing was graded"), "{stdout}");
    assert!(stdout.contains("no test named `not_written_yet`"), "{stdout}");
    assert!(stdout.contains("no test target `nosuchbin`"), "{stdout}");
    let r = results(&out);
    assert_eq!(r["tests"].as_array().unwrap().len(), 0);
    check_xml(&std::fs::read_to_string(out.join("junit.xml")).unwrap());
}

#[test]
fn usage_and_input_errors_exit_2() {
    let fixture = fixture();
    let target = fixture.join("target");
    let path = fixture.to_str().unwrap();
    let catalogue = fixture.join("catalogue.txt");
    let catalogue = catalogue.to_str().unwrap();

    let bad_shard = grade(&["run", "--in-place", "--path", path, "--shard", "3/2"], &target);
    assert_eq!(bad_shard.status.code(), Some(2), "{}", show(&bad_shard));
    assert!(text(&bad_shard.stderr).contains("is not a shard"));

    let bad_lab =
        grade(&["run", "--in-place", "--path", path, "--catalogue", catalogue, "--lab", "9z"], &target);
    assert_eq!(bad_lab.status.code(), Some(2), "{}", show(&bad_lab));
    assert!(text(&bad_lab.stderr).contains("its parts are: A, B, C"), "{}", show(&bad_lab));

    let bad_test =
        grade(&["run", "--in-place", "--path", path, "--catalogue", catalogue, "--test", "no_such"], &target);
    assert_eq!(bad_test.status.code(), Some(2), "{}", show(&bad_test));
    assert!(text(&bad_test.stderr).contains("--test no_such matches no test name"), "{}", show(&bad_test));

    let broken = tmp_root().join("broken-catalogue.txt");
    write(&broken, "A fixture * pass_always\nA fixture * x -2\n");
    let bad_catalogue =
        grade(&["run", "--in-place", "--path", path, "--catalogue", broken.to_str().unwrap()], &target);
    assert_eq!(bad_catalogue.status.code(), Some(2), "{}", show(&bad_catalogue));
    let stderr = text(&bad_catalogue.stderr);
    assert!(stderr.contains("line 1: expected 5 fields") && stderr.contains("line 2: points"), "{stderr}");

    let foreign = fresh_dir("out-foreign");
    write(&foreign.join("precious.txt"), "keep me");
    let refused = grade(
        &[
            "run",
            "--in-place",
            "--path",
            path,
            "--catalogue",
            catalogue,
            "--test",
            "pass_always",
            "--out",
            foreign.to_str().unwrap(),
        ],
        &target,
    );
    assert_eq!(refused.status.code(), Some(2), "{}", show(&refused));
    assert!(foreign.join("precious.txt").is_file());

    let no_workspace = grade(&["run", "--in-place", "--path", tmp_root().to_str().unwrap()], &target);
    assert_eq!(no_workspace.status.code(), Some(2), "{}", show(&no_workspace));

    // A submission without its student file is named as such, before anything is built.
    let empty = fresh_dir("empty-submission");
    let missing = grade(&["run", "--path", empty.to_str().unwrap(), "--lab", "3a"], &target);
    assert_eq!(missing.status.code(), Some(2), "{}", show(&missing));
    assert!(
        text(&missing.stderr)
            .contains("the submission has no raft/src/raft.rs (Lab 3 (Raft)'s student file)"),
        "{}",
        show(&missing)
    );
}

#[test]
fn build_failure_exits_2() {
    let dir = fresh_dir("broken-workspace");
    write(
        &dir.join("Cargo.toml"),
        "[package]\nname = \"broken\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
    );
    write(&dir.join("src/lib.rs"), "pub fn f() -> u32 { \"not a number\" }\n");
    let catalogue = dir.join("catalogue.txt");
    write(&catalogue, "A broken * t 1\n");
    let output = grade(
        &["run", "--in-place", "--path", dir.to_str().unwrap(), "--catalogue", catalogue.to_str().unwrap()],
        &dir.join("target"),
    );
    assert_eq!(output.status.code(), Some(2), "{}", show(&output));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("building the test binaries failed"), "{stderr}");
    assert!(stderr.contains("mismatched types"), "the compiler's message is shown: {stderr}");
}

/// Writes a small reference workspace with solution regions and things to leave out.
fn handout_source(name: &str) -> PathBuf {
    let src = fresh_dir(name);
    write(
        &src.join("Cargo.toml"),
        "[package]\nname = \"hw\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
    );
    let lib = format!(
        "/// The answer.\npub fn answer() -> u32 {{\n    {M} BEGIN\n    42\n    {M} ELSE\n    // todo!(\"Lab 0: compute the answer\")\n    {M} END\n}}\n"
    );
    write(&src.join("src/lib.rs"), &lib);
    write(&src.join("tests/t.rs"), "#[test]\nfn answer_is_42() {\n    assert_eq!(hw::answer(), 42);\n}\n");
    write(&src.join("tests/reference_only.rs"), "// the grading's own answers\n");
    write(&src.join("secret/answers.md"), "42\n");
    write(&src.join("README.md"), "hello\n");
    write(&src.join("target/junk.txt"), "build output\n");
    write(&src.join(".handout-exclude"), "# left out of the handout\nsecret/\n**/reference_*.rs\n");
    src
}

fn handout(src: &Path, dest: &Path, check: bool) -> Output {
    let mut args = vec!["handout", dest.to_str().unwrap(), "--path", src.to_str().unwrap()];
    if check {
        args.push("--check");
    }
    grade(&args, &src.join("target").join("check"))
}

fn check_handout_tree(dest: &Path) {
    let lib = std::fs::read_to_string(dest.join("src/lib.rs")).unwrap();
    assert_eq!(
        lib,
        "/// The answer.\npub fn answer() -> u32 {\n    todo!(\"Lab 0: compute the answer\")\n}\n"
    );
    assert!(dest.join("tests/t.rs").is_file());
    assert!(dest.join("README.md").is_file());
    assert!(dest.join(".handout-generated").is_file());
    for absent in ["secret", "tests/reference_only.rs", "target", ".handout-exclude"] {
        assert!(!dest.join(absent).exists(), "{absent} must not be in the handout");
    }
}

#[test]
fn handout_strips_excludes_and_builds() {
    let src = handout_source("handout-src");
    let dest = tmp_root().join("handout-out");
    let _ = std::fs::remove_dir_all(&dest);
    let output = handout(&src, &dest, true);
    assert_eq!(output.status.code(), Some(0), "{}", show(&output));
    assert!(
        text(&output.stdout).contains("1 .rs files had 1 solution regions stripped"),
        "{}",
        show(&output)
    );
    check_handout_tree(&dest);

    // Regenerating over a previous handout works, and keeps its .git.
    write(&dest.join(".git/HEAD"), "ref: refs/heads/main\n");
    write(&dest.join("stale.txt"), "from an older handout\n");
    let again = handout(&src, &dest, false);
    assert_eq!(again.status.code(), Some(0), "{}", show(&again));
    check_handout_tree(&dest);
    assert!(!dest.join("stale.txt").exists());
    assert!(dest.join(".git/HEAD").is_file());

    // A folder that is not a previous handout is refused.
    let foreign = fresh_dir("handout-foreign");
    write(&foreign.join("mine.txt"), "mine\n");
    let refused = handout(&src, &foreign, false);
    assert_eq!(refused.status.code(), Some(2), "{}", show(&refused));
    assert!(foreign.join("mine.txt").is_file());
}

#[test]
fn handout_uses_git_when_the_source_is_a_repository() {
    let git_ok = Command::new("git").arg("--version").output().is_ok_and(|o| o.status.success());
    if !git_ok {
        eprintln!("git is not available; skipping");
        return;
    }
    let src = handout_source("handout-git-src");
    write(&src.join(".gitignore"), "target/\nignored.txt\n");
    write(&src.join("ignored.txt"), "ignored by git\n");
    let git = |args: &[&str]| {
        let status = Command::new("git")
            .args(args)
            .current_dir(&src)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .output()
            .unwrap();
        assert!(status.status.success(), "git {args:?}: {}", text(&status.stderr));
    };
    git(&["init", "-q"]);
    git(&["add", "Cargo.toml", "src", "tests", ".handout-exclude"]);
    // README.md and secret/ stay untracked: new files that git does not ignore are included.
    let dest = tmp_root().join("handout-git-out");
    let _ = std::fs::remove_dir_all(&dest);
    let output = handout(&src, &dest, false);
    assert_eq!(output.status.code(), Some(0), "{}", show(&output));
    assert!(text(&output.stdout).contains("listed by git"), "{}", show(&output));
    check_handout_tree(&dest);
    assert!(!dest.join("ignored.txt").exists());
    assert!(dest.join(".gitignore").is_file());
}

#[test]
fn handout_marker_errors_write_nothing() {
    let src = handout_source("handout-bad-src");
    write(&src.join("src/other.rs"), &format!("fn f() {{\n    {M} BEGIN\n    {M} BEGIN\n}}\n"));
    write(&src.join("src/third.rs"), &format!("{M} END\n"));
    let dest = tmp_root().join("handout-bad-out");
    let _ = std::fs::remove_dir_all(&dest);
    let output = handout(&src, &dest, false);
    assert_eq!(output.status.code(), Some(2), "{}", show(&output));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("src/other.rs:3: `SOLUTION BEGIN` inside the region opened at line 2"),
        "{stderr}"
    );
    assert!(stderr.contains("src/other.rs:2: this `SOLUTION BEGIN` is never closed"), "{stderr}");
    assert!(stderr.contains("src/third.rs:1: `SOLUTION END` outside any region"), "{stderr}");
    assert!(stderr.contains("nothing was written"), "{stderr}");
    assert!(!dest.exists(), "nothing may be written on a marker error");
}

/// A small well-formedness check: tags nest and close, attributes are quoted, and text and
/// attribute values hold no raw `<` or bare `&`.
fn check_xml(xml: &str) {
    let body = xml.strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>").expect("XML declaration");
    let mut stack: Vec<String> = Vec::new();
    let mut rest = body;
    let mut roots = 0;
    while !rest.is_empty() {
        let lt = rest.find('<').unwrap_or(rest.len());
        check_text(&rest[..lt]);
        if lt == rest.len() {
            break;
        }
        if stack.is_empty() && !rest[..lt].trim().is_empty() {
            panic!("text outside the root element");
        }
        rest = &rest[lt + 1..];
        let gt = rest.find('>').expect("unterminated tag");
        let tag = &rest[..gt];
        rest = &rest[gt + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop().as_deref(), Some(name.trim()), "mismatched close tag");
            continue;
        }
        let self_closing = tag.ends_with('/');
        let tag = tag.trim_end_matches('/');
        let name = tag.split_whitespace().next().expect("tag name");
        let mut attributes = &tag[name.len()..];
        while !attributes.trim().is_empty() {
            let eq = attributes.find("=\"").expect("attribute=\"value\"");
            let after = &attributes[eq + 2..];
            let close = after.find('"').expect("closing quote");
            check_text(&after[..close]);
            attributes = &after[close + 1..];
        }
        if stack.is_empty() {
            roots += 1;
        }
        if !self_closing {
            stack.push(name.to_string());
        }
    }
    assert!(stack.is_empty(), "unclosed elements: {stack:?}");
    assert_eq!(roots, 1, "exactly one root element");
}

fn check_text(text: &str) {
    assert!(!text.contains('<'), "raw < in {text:?}");
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        rest = &rest[amp + 1..];
        let semi = rest.find(';').expect("entity");
        assert!(
            ["amp", "lt", "gt", "quot", "apos"].contains(&&rest[..semi]),
            "bad entity &{};",
            &rest[..semi]
        );
    }
    assert!(
        text.chars().all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t')),
        "control character in {text:?}"
    );
}
