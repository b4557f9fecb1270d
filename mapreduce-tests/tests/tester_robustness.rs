//! Tests of the tester itself: each deliberately broken implementation (in `broken/`) breaks
//! one rule of the handout's table, and the rule's test must fail it, with a message that
//! names the rule, on at least 4 of the 5 seeds `make grade` uses by default. Each runs the
//! real suite body under the sim backend.

#[allow(dead_code)]
#[path = "suite/lab1.rs"]
mod lab1;

mod broken;

use broken::{
    BusyPolls, CountsReports, DoneEarly, ExitsWhenIdle, GivesUp, InPlace, NeverReissues, OneAtATime,
    ReduceEarly, ReissuesEarly,
};
use labs::world::World;

/// The seeds `make grade` runs by default.
const GRADE_SEEDS: [u64; 5] = [1, 2, 3, 4, 5];

/// Runs `body` on each grade seed under sim; it must fail on at least 4 of them, every failure
/// with all of `words` in its message. Leaves each failure's report where a person can look.
fn must_fail(name: &str, body: fn(), words: &[&str]) {
    let mut failed = 0;
    for seed in GRADE_SEEDS {
        let out = World::builder().seed(seed).run(body);
        let Err(f) = &out.result else {
            eprintln!("{name} seed {seed}: passed");
            continue;
        };
        eprintln!("{name} seed {seed}: failed after {:?}: {}", out.elapsed, f.message);
        if let Ok(path) =
            labs::harness::write_report(&format!("tester_robustness::{name}"), "(a test of the tester)", &out)
        {
            eprintln!("report: {}", path.display());
        }
        for w in words {
            assert!(
                f.message.contains(w),
                "{name} seed {seed}: expected {w:?} in the failure message:\n{}",
                f.message
            );
        }
        failed += 1;
    }
    eprintln!("{name}: failed {failed} of {} grade seeds", GRADE_SEEDS.len());
    assert!(failed >= 4, "{name}: the broken implementation failed only {failed} of the 5 grade seeds");
}

#[test]
fn a_coordinator_that_never_reissues_fails_crash_worker() {
    must_fail(
        "never_reissues",
        lab1::crash_worker::<broken::Broken<NeverReissues>>,
        &[
            "made no progress",
            "were never given to another",
            "rule: re-issue a task that has not finished 10 s",
        ],
    );
}

#[test]
fn a_coordinator_that_reissues_too_early_fails_job_count() {
    must_fail(
        "reissues_early",
        lab1::job_count::<broken::Broken<ReissuesEarly>>,
        &["s after it began on", "rule: re-issue after 10 s, never sooner"],
    );
}

#[test]
fn a_worker_that_writes_in_place_fails_crash_mid_write() {
    must_fail(
        "in_place",
        lab1::crash_mid_write::<broken::Broken<InPlace>>,
        &["was visible half-written", "in place", "rule: atomic output"],
    );
}

#[test]
fn a_reduce_before_all_maps_are_done_fails_job_count() {
    // Under sim a word-count map takes no virtual time, and its intermediate files are often
    // all in place before an early reduce reads them; job count's maps take 2-5 s.
    must_fail(
        "reduce_early",
        lab1::job_count::<broken::Broken<ReduceEarly>>,
        &["had finished", "rule: reduce after map"],
    );
}

#[test]
fn a_done_that_says_yes_early_fails_early_exit() {
    must_fail(
        "done_early",
        lab1::early_exit::<broken::Broken<DoneEarly>>,
        &["done() said yes at", "rule: Done"],
    );
}

#[test]
fn a_coordinator_that_counts_late_reports_fails_late_report() {
    must_fail(
        "counts_reports",
        lab1::late_report::<broken::Broken<CountsReports>>,
        &["had finished", "rule: reduce after map"],
    );
}

#[test]
fn a_coordinator_that_runs_one_task_at_a_time_fails_map_parallel() {
    must_fail("one_at_a_time", lab1::map_parallel::<broken::Broken<OneAtATime>>, &["rule: parallelism"]);
}

#[test]
fn a_worker_that_exits_when_idle_fails_early_exit() {
    must_fail("exits_when_idle", lab1::early_exit::<broken::Broken<ExitsWhenIdle>>, &["rule: termination"]);
}

#[test]
fn a_worker_that_busy_polls_fails_no_busy_poll() {
    must_fail(
        "busy_polls",
        lab1::no_busy_poll::<broken::Broken<BusyPolls>>,
        &["idle workers made", "rule: no busy polling"],
    );
}

#[test]
fn a_worker_that_gives_up_on_a_lost_rpc_fails_unreliable_rpc() {
    must_fail(
        "gives_up",
        lab1::unreliable_rpc::<broken::Broken<GivesUp>>,
        &["every worker has exited", "rule: termination"],
    );
}
