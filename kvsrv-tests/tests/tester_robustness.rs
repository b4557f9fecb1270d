//! Tests of the tester itself: each deliberately broken implementation (in `broken/`) breaks
//! one rule of the handout's table, and the rule's test must fail it, with a message that
//! names the rule, on at least 4 of the 5 seeds `make grade` uses by default (it does on all
//! five today). Each runs the real suite body under the sim backend.

#[allow(dead_code)]
#[path = "suite/lab2a.rs"]
mod lab2a;
#[allow(dead_code)]
#[path = "suite/lab2b.rs"]
mod lab2b;

mod broken;

use broken::keeps_old_values::KeepsOldValues;
use broken::maybe_as_failure::MaybeAsFailure;
use broken::no_version_check::NoVersionCheck;
use broken::releases_unheld::ReleasesUnheld;
use broken::version_on_retry::VersionOnRetry;
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
fn a_server_without_a_version_check_fails_reliable_put() {
    must_fail(
        "no_version_check",
        lab2a::reliable_put::<NoVersionCheck>,
        &["expected Put to fail with ErrVersion", "rule: a Put applies only when its version is the key's"],
    );
}

#[test]
fn a_clerk_that_says_err_version_on_a_retry_fails_unreliable_net() {
    must_fail(
        "version_on_retry",
        lab2a::unreliable_net::<VersionOnRetry>,
        &["Clerk.Put never returned ErrMaybe", "rule: a re-sent Put that gets ErrVersion returns ErrMaybe"],
    );
}

#[test]
fn a_server_that_keeps_old_values_fails_the_memory_test() {
    must_fail(
        "keeps_old_values",
        lab2a::mem_put_many_clients_reliable::<KeepsOldValues>,
        &["server using too much memory", "rule: the server's state does not grow with clients or puts"],
    );
}

#[test]
fn a_lock_that_releases_what_it_does_not_hold_fails_release_not_held() {
    must_fail(
        "releases_unheld",
        lab2b::release_not_held::<ReleasesUnheld>,
        &[
            "client B's Release freed a lock B did not hold",
            "rule: Release frees the lock only if this client holds it",
        ],
    );
}

#[test]
fn a_lock_that_takes_err_maybe_for_a_failure_fails_many_clients_unreliable() {
    must_fail(
        "maybe_as_failure",
        lab2b::many_clients_unreliable::<MaybeAsFailure>,
        &["is still in Acquire of lock", "rule: after ErrMaybe, read the lock again"],
    );
}
