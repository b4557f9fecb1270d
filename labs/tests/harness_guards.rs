//! The harness's guards against runs that end wrongly or lie: a process exit in the middle of a
//! test is a failure, a replay line reproduces the failure it reports (profile and switches
//! included), the verdict channel records what really ran, and code under test cannot end the
//! tester's thread as if the test had finished.
//!
//! Some of these need a test process of their own (an exit ends the process): the `fixture_*`
//! tests below are such processes' bodies. They are `#[ignore]`d, and run only when a driver
//! test starts this binary again with `LAB_FIXTURE` naming them; started any other way they
//! fail at once and say so.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};

use labs::world::Builder;

/// Fails a fixture started other than by its driver.
fn fixture(name: &str) {
    assert_eq!(
        std::env::var("LAB_FIXTURE").as_deref(),
        Ok(name),
        "{name} is a fixture of labs/tests/harness_guards.rs: run the test that drives it instead"
    );
}

labs::lab_test! {
    /// A test that exits the process in its middle (as `std::process::exit(0)` in a student's
    /// handler would).
    #[ignore = "a fixture: run by an_exit_in_the_middle_of_a_test_fails"]
    fn fixture_exits_mid_test() {
        fixture("fixture_exits_mid_test");
        labs::thread::spawn("handler", || std::process::exit(0)).join().ok();
        unreachable!("the process exited");
    }

    /// A test whose second run of a seed differs from its first (state kept in a static).
    #[ignore = "a fixture: run by a_replay_line_reproduces_a_determinism_failure"]
    fn fixture_not_deterministic() {
        fixture("fixture_not_deterministic");
        static RUNS: AtomicU64 = AtomicU64::new(0);
        for _ in 0..RUNS.fetch_add(1, Ordering::SeqCst) {
            labs::thread::yield_now();
        }
        labs::time::sleep(std::time::Duration::from_millis(1));
    }

    /// A passing test whose peer starts a thread per message and never reuses one: more
    /// threads than any healthy run spawns.
    #[ignore = "a fixture: run by an_out_of_line_run_is_flagged_with_its_numbers"]
    fn fixture_thread_per_message() {
        fixture("fixture_thread_per_message");
        for _ in 0..=labs::harness::THREAD_LIMIT {
            labs::thread::spawn("per-message", || {}).join().ok();
        }
    }

    /// A test that passes and reports itself on the verdict channel.
    #[ignore = "a fixture: run by the_verdict_channel_records_the_run"]
    fn fixture_passes() {
        fixture("fixture_passes");
        labs::thread::spawn("worker", || labs::time::sleep(std::time::Duration::from_secs(2))).join().ok();
    }
}

/// Runs this test binary on one fixture with `env` (and no inherited `LAB_` variables).
fn run_fixture(name: &str, env: &[(&str, String)]) -> Output {
    let mut command = Command::new(std::env::current_exe().expect("the test binary"));
    command.args(["--ignored", "--exact", name, "--nocapture", "--test-threads=1"]);
    for (key, _) in std::env::vars() {
        if key.starts_with("LAB_") {
            command.env_remove(key);
        }
    }
    command.env("LAB_FIXTURE", name).env("LAB_REPORT", "never");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("run the test binary")
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

fn verdict_file(name: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("verdict-{name}-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

/// issue 15: `std::process::exit(0)` inside a test made plain `cargo test` report success.
#[test]
fn an_exit_in_the_middle_of_a_test_fails() {
    let verdict = verdict_file("exit");
    let out = run_fixture(
        "fixture_exits_mid_test",
        &[("LAB_SEED", "3".into()), ("LAB_VERDICT_FILE", verdict.display().to_string())],
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(101), "the exit must be a failure:\n{all}");
    assert!(
        all.contains("fixture_exits_mid_test: the process is exiting in the middle of the test"),
        "{all}"
    );
    assert!(all.contains("std::process::exit called from"), "the caller is named:\n{all}");
    let records = std::fs::read_to_string(&verdict).unwrap();
    assert!(records.lines().next().unwrap().contains("\"record\":\"start\""), "{records}");
    assert!(records.contains("\"record\":\"exit\""), "{records}");
    assert!(!records.contains("\"record\":\"end\""), "{records}");
    let _ = std::fs::remove_file(&verdict);
}

/// issue 15: a determinism failure's replay line omitted `LAB_CHECK_DETERMINISM=1` (so it
/// passed) and `--release` (so it rebuilt everything in another profile).
#[test]
fn a_replay_line_reproduces_a_determinism_failure() {
    let first = run_fixture(
        "fixture_not_deterministic",
        &[("LAB_SEED", "5".into()), ("LAB_CHECK_DETERMINISM", "1".into())],
    );
    let all = text(&first);
    assert_eq!(first.status.code(), Some(101), "{all}");
    assert!(all.contains("the run is not deterministic"), "{all}");
    let replay = all
        .lines()
        .find_map(|l| l.trim().strip_prefix("replay: "))
        .unwrap_or_else(|| panic!("no replay line:\n{all}"))
        .to_string();
    let release = if cfg!(debug_assertions) { "" } else { "--release " };
    assert_eq!(
        replay,
        format!(
            "LAB_CHECK_DETERMINISM=1 LAB_SEED=5 cargo test {release}-p labs --test harness_guards -- --exact \
             fixture_not_deterministic"
        )
    );
    // Run what the line says: its environment and its test, in this build (the profile it names).
    let (env_part, rest) = replay.split_once(" cargo test ").unwrap();
    let env: Vec<(&str, String)> =
        env_part.split(' ').map(|kv| kv.split_once('=').unwrap()).map(|(k, v)| (k, v.to_string())).collect();
    assert!(rest.ends_with("-- --exact fixture_not_deterministic"), "{rest}");
    let again = run_fixture("fixture_not_deterministic", &env);
    let all = text(&again);
    assert_eq!(again.status.code(), Some(101), "the replay must fail the same way:\n{all}");
    assert!(all.contains("the run is not deterministic"), "{all}");
    // Without the switch the same seed passes: the switch is what the line must carry.
    let plain = run_fixture("fixture_not_deterministic", &[("LAB_SEED", "5".into())]);
    assert_eq!(plain.status.code(), Some(0), "{}", text(&plain));
}

/// The verdict channel says what ran: the test, the seed and backend it used, its result and
/// its statistics.
#[test]
fn the_verdict_channel_records_the_run() {
    let verdict = verdict_file("pass");
    let out = run_fixture(
        "fixture_passes",
        &[("LAB_SEED", "9".into()), ("LAB_VERDICT_FILE", verdict.display().to_string())],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let records: Vec<serde_json::Value> = std::fs::read_to_string(&verdict)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 2, "{records:?}");
    let (start, end) = (&records[0], &records[1]);
    assert_eq!(start["record"], "start");
    assert_eq!(start["test"], "fixture_passes");
    assert_eq!(start["backend"], "sim");
    assert_eq!(start["seeds"], serde_json::json!([9]));
    assert_eq!(end["record"], "end");
    assert_eq!(end["seed"], 9);
    assert_eq!(end["passed"], true);
    assert_eq!(end["stats"]["threads"], 1);
    assert!(end["stats"]["elapsed_secs"].as_f64().unwrap() >= 2.0, "{end}");
    assert!(end["stats"]["peak_rss_bytes"].as_u64().unwrap() > 0, "{end}");
    let _ = std::fs::remove_file(&verdict);
}

/// issue 15: a passing run that is out of line is flagged, with its numbers and the likely
/// cause, on stderr past libtest's capture (here without `--nocapture`) and in its verdict.
#[test]
fn an_out_of_line_run_is_flagged_with_its_numbers() {
    let verdict = verdict_file("threads");
    let mut command = Command::new(std::env::current_exe().expect("the test binary"));
    command
        .args(["--ignored", "--exact", "fixture_thread_per_message"])
        .env("LAB_FIXTURE", "fixture_thread_per_message")
        .env("LAB_SEED", "4")
        .env("LAB_VERDICT_FILE", &verdict)
        .env_remove("LAB_SEEDS")
        .env_remove("LAB_RUNTIME");
    let out = command.output().expect("run the test binary");
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "the run passes:\n{all}");
    let line = all
        .lines()
        .find(|l| l.starts_with("warning: fixture_thread_per_message seed 4 ("))
        .unwrap_or_else(|| panic!("{all}"));
    assert!(line.contains("10001 threads, "), "{line}");
    assert!(
        line.contains("threads: 10001 threads spawned (more than 10000). Look for a thread per RPC"),
        "{line}"
    );
    let records = std::fs::read_to_string(&verdict).unwrap();
    assert!(records.contains("threads: 10001 threads spawned"), "{records}");
    let _ = std::fs::remove_file(&verdict);
}

/// Killing the tester's node from code under test ended the test's main thread quietly, and
/// the test passed without checking anything.
#[test]
fn killing_the_testers_node_fails_the_run() {
    let out = Builder::default().seed(1).run(|| {
        let me = labs::thread::current_node().expect("in a world");
        me.kill();
        unreachable!("the tester's thread was killed");
    });
    let failure = out.result.expect_err("the run must fail");
    assert!(
        failure.message.contains("main thread (node 'tester') was killed before the test finished"),
        "{failure}"
    );
}

/// `labs::thread::exit()` on a thread whose node is alive would end it quietly too.
#[test]
fn thread_exit_on_a_live_node_is_a_failure() {
    let out = Builder::default().seed(1).run(|| labs::thread::exit());
    let failure = out.result.expect_err("the run must fail");
    assert!(
        failure.message.contains("labs::thread::exit() was called by a thread whose node is not killed"),
        "{failure}"
    );
    let real = Builder::default().seed(1).backend(labs::world::Backend::Real).run(|| labs::thread::exit());
    assert!(real.result.is_err());
}
