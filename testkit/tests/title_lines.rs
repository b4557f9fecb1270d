//! The frame's title and `Passed` lines under `cargo test -- --nocapture`, where tests that run
//! in parallel share one stdout: each test's title line and its `Passed` line come out together,
//! never with another test's line between them.

use labrpc::Network;
use labs::world::{Backend, World};
use std::process::Command;
use testkit::Frame;

/// How long a worker waits for the other to be between its `begin` and its `end_with` too
/// (real time, well under the simulation's 2 s limit for a thread blocked in the OS).
const MEET_LIMIT: std::time::Duration = std::time::Duration::from_millis(1500);

/// Lets the two workers meet while both have begun and neither has ended, so that a frame that
/// printed the title at `begin` would interleave their lines. The workers run in two worlds on
/// two of libtest's threads, so only an OS lock spans them. Returns whether the other came.
#[allow(clippy::disallowed_types)] // Two worlds meet: a runtime lock belongs to one world.
fn meet() -> bool {
    use std::sync::{Condvar, Mutex};
    static ARRIVED: Mutex<usize> = Mutex::new(0);
    static CAME: Condvar = Condvar::new();
    let mut arrived = ARRIVED.lock().unwrap();
    *arrived += 1;
    CAME.notify_all();
    let (arrived, _) = CAME.wait_timeout_while(arrived, MEET_LIMIT, |n| *n < 2).unwrap();
    *arrived >= 2
}

/// Runs this binary's ignored tests selected by `args`, with `--nocapture`, on their own seeds.
fn run_ignored(args: &[&str]) -> std::process::Output {
    let exe = std::env::current_exe().expect("the test binary's path");
    Command::new(exe)
        .args(["--ignored", "--nocapture"])
        .args(args)
        .env_remove("LAB_SEED")
        .env_remove("LAB_SEEDS")
        .output()
        .expect("the test binary runs")
}

/// One test of a lab, reduced to its frame: begins, meets the other worker, passes.
fn worker(name: &'static str) {
    let out = World::builder().seed(1).backend(Backend::Sim).run(move || {
        let net = Network::new();
        let frame = Frame::new(&net, "an RPC handler");
        frame.begin(&format!("Test (T): worker {name}"));
        let met = meet();
        eprintln!("worker {name}: met the other worker: {met}");
        frame.end_with(|s| format!("  ... Passed --  worker {name} {:4.1}", s.secs));
        frame.finish(|| {});
    });
    if let Err(f) = out.result {
        panic!("worker {name} failed: {}", f.message);
    }
}

/// Run by `parallel_tests_do_not_interleave_their_lines`, beside `worker_b`.
#[test]
#[ignore = "run by parallel_tests_do_not_interleave_their_lines, beside worker_b"]
fn worker_a() {
    worker("a");
}

/// Run by `parallel_tests_do_not_interleave_their_lines`, beside `worker_a`.
#[test]
#[ignore = "run by parallel_tests_do_not_interleave_their_lines, beside worker_a"]
fn worker_b() {
    worker("b");
}

/// Two tests run at once with `--nocapture` (this binary, its two workers, on two threads):
/// each title line is followed by its own `Passed` line. 6.5840 prints the title when a test
/// begins, so parallel tests mix their lines; here the frame prints both when the test ends.
#[test]
fn parallel_tests_do_not_interleave_their_lines() {
    let out = run_ignored(&["--test-threads=2", "worker_"]);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the workers failed:\n{stdout}\n{stderr}");
    for name in ["a", "b"] {
        assert!(
            stderr.contains(&format!("worker {name}: met the other worker: true")),
            "the workers did not run at the same time, so the check proves nothing:\n{stderr}"
        );
    }
    let lines: Vec<&str> =
        stdout.lines().filter(|l| l.starts_with("Test (T): ") || l.starts_with("  ... Passed --")).collect();
    assert_eq!(lines.len(), 4, "two title lines and two Passed lines:\n{stdout}");
    for pair in lines.chunks(2) {
        let name = pair[0].strip_prefix("Test (T): worker ").and_then(|r| r.strip_suffix(" ..."));
        let name = name.unwrap_or_else(|| panic!("`{}` is not a title line:\n{stdout}", pair[0]));
        assert!(
            pair[1].starts_with(&format!("  ... Passed --  worker {name} ")),
            "the title line of worker {name} is followed by `{}`, not by its Passed line:\n{stdout}",
            pair[1]
        );
    }
}

/// A test that hangs is named too: past the 120 s limit it fails naming its title and the
/// step it was waiting in, and since when (6.5840 says only "test took longer than 120
/// seconds").
#[test]
fn a_test_past_the_limit_names_itself_and_its_step() {
    let out = World::builder().seed(3).backend(Backend::Sim).run(|| {
        let net = Network::new();
        let frame = Frame::new(&net, "an RPC handler");
        frame.begin("Test (T): a test that waits too long");
        labs::time::sleep(labs::time::Duration::from_secs(2));
        let _step = frame.step("one(7): waiting for 3 servers to commit index 1");
        labs::time::sleep(labs::time::Duration::from_secs(200));
        frame.end_with(|_| "  ... Passed".to_string());
        frame.finish(|| {});
    });
    let f = out.result.expect_err("the test ran past its limit");
    // What a student sees (`--nocapture` shows it).
    eprintln!("{}", f.message);
    assert!(
        f.message.starts_with(
            "test took longer than 120 seconds (virtual time) during \"Test (T): a test that waits too long\""
        ),
        "{}",
        f.message
    );
    assert!(
        f.message.contains(
            "tester was at step \"one(7): waiting for 3 servers to commit index 1\" since 2.0 s (for 118.0 s)"
        ),
        "{}",
        f.message
    );
}

/// A test whose spec gives it a longer limit (Lab 1's crash test, 300 s) is not failed at 120
/// s by the frame's watchdog, and past its own limit the failure names that limit.
#[test]
fn a_test_with_a_longer_limit_runs_to_it() {
    let run = |sleep_s: u64| {
        World::builder().seed(5).backend(Backend::Sim).time_limit(std::time::Duration::from_secs(300)).run(
            move || {
                let net = Network::new();
                let frame = Frame::new(&net, "an RPC handler");
                frame.set_time_limit(labs::time::Duration::from_secs(250));
                frame.begin("Test (T): a long test");
                labs::time::sleep(labs::time::Duration::from_secs(sleep_s));
                frame.end_with(|_| "  ... Passed".to_string());
                frame.finish(|| {});
            },
        )
    };
    if let Err(f) = run(180).result {
        panic!("a 180 s test under a 250 s limit failed: {}", f.message);
    }
    let f = run(280).result.expect_err("the test ran past its 250 s limit");
    assert!(
        f.message
            .starts_with("test took longer than 250 seconds (virtual time) during \"Test (T): a long test\""),
        "{}",
        f.message
    );
}

/// Run by `a_second_part_prints_the_first_title`.
#[test]
#[ignore = "run by a_second_part_prints_the_first_title"]
fn two_parts() {
    let out = World::builder().seed(1).backend(Backend::Sim).run(|| {
        let net = Network::new();
        let frame = Frame::new(&net, "an RPC handler");
        frame.begin("Test (T): part one");
        frame.begin("Test (T): part two");
        frame.end_with(|_| "  ... Passed --  two parts".to_string());
        frame.finish(|| {});
    });
    if let Err(f) = out.result {
        panic!("two_parts failed: {}", f.message);
    }
}

/// A test that begins a second part without ending the first prints both titles, in order,
/// then its `Passed` line (6.5840 prints every title as its part begins).
#[test]
fn a_second_part_prints_the_first_title() {
    let out = run_ignored(&["--exact", "two_parts"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "two_parts failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<&str> =
        stdout.lines().filter(|l| l.starts_with("Test (T): ") || l.starts_with("  ... ")).collect();
    assert_eq!(
        lines,
        ["Test (T): part one ...", "Test (T): part two ...", "  ... Passed --  two parts"],
        "{stdout}"
    );
}
