//! Tests of the tester itself: deliberately broken Rafts (in `broken/`) must make the relevant
//! suite test fail, with a message that says what went wrong, well within the test's time
//! limit, and never hang. Each runs the real suite body under the sim backend on a few seeds.

#[allow(dead_code)]
#[path = "suite/lab3a.rs"]
mod lab3a;
#[allow(dead_code)]
#[path = "suite/lab3b.rs"]
mod lab3b;
#[allow(dead_code)]
#[path = "suite/lab3d.rs"]
mod lab3d;

mod broken;

use broken::deadlock::Deadlocks;
use broken::diverges::Diverges;
use broken::handler_panics::HandlerPanics;
use broken::never_leader::NeverLeader;
use broken::out_of_order::OutOfOrder;
use broken::slow_start::SlowStart;
use broken::todo::Todo;
use broken::too_many_leaders::TooManyLeaders;
use labs::time::Duration;
use labs::world::{Failure, FailureKind, World};

const SEEDS: [u64; 3] = [1, 2, 3];

/// Runs `body` on `seed` under sim; it must fail within `within` of virtual time. Returns
/// the failure.
fn must_fail(seed: u64, within: Duration, body: fn()) -> Failure {
    let out = World::builder().seed(seed).run(body);
    let f = match &out.result {
        Ok(()) => panic!("seed {seed}: the broken Raft passed"),
        Err(f) => f.clone(),
    };
    eprintln!("seed {seed}: failed as expected after {:?}: {}", out.elapsed, f.message);
    // Leave the failure report where a person (and the report's own checks) can look at it.
    let test = std::thread::current().name().unwrap_or("robustness").to_string();
    if let Ok(path) =
        labs::harness::write_report(&format!("tester_robustness::{test}"), "(a test of the tester)", &out)
    {
        eprintln!("report: {}", path.display());
    }
    assert!(
        out.elapsed <= within,
        "seed {seed}: the failure came after {:?} of virtual time, later than {within:?}: {}",
        out.elapsed,
        f.message
    );
    f
}

fn expect(f: &Failure, seed: u64, kind: FailureKind, words: &[&str]) {
    assert_eq!(f.kind, kind, "seed {seed}: {}", f.message);
    for w in words {
        assert!(f.message.contains(w), "seed {seed}: expected {w:?} in the failure message:\n{}", f.message);
    }
}

#[test]
fn never_electing_a_leader_fails_initial_election() {
    for seed in SEEDS {
        let f = must_fail(seed, Duration::from_secs(8), lab3a::initial_election::<NeverLeader>);
        expect(&f, seed, FailureKind::Panic, &["expected one leader, got none"]);
    }
}

#[test]
fn two_leaders_in_a_term_fail_initial_election() {
    for seed in SEEDS {
        let f = must_fail(seed, Duration::from_secs(2), lab3a::initial_election::<TooManyLeaders>);
        expect(&f, seed, FailureKind::Panic, &["term 1 has 3 leaders (servers 0, 1 and 2)"]);
    }
}

#[test]
fn a_panicking_handler_fails_basic_agree_naming_the_server() {
    for seed in SEEDS {
        let f = must_fail(seed, Duration::from_secs(10), lab3b::basic_agree::<HandlerPanics>);
        expect(
            &f,
            seed,
            FailureKind::Panic,
            &[
                "a Raft RPC handler panicked: server 'server-",
                "panicked in Raft.AppendEntries: index out of bounds: the len is 3 but the index is 3",
            ],
        );
    }
}

#[test]
fn a_deadlocked_raft_fails_basic_agree_instead_of_hanging() {
    for seed in SEEDS {
        let f = must_fail(seed, Duration::from_secs(15), lab3b::basic_agree::<Deadlocks>);
        expect(&f, seed, FailureKind::Panic, &["start() has not returned after 5 s", "deadlocked"]);
    }
}

#[test]
fn applying_out_of_order_fails_concurrent_starts() {
    for seed in SEEDS {
        let f = must_fail(seed, Duration::from_secs(10), lab3b::concurrent_starts::<OutOfOrder>);
        expect(&f, seed, FailureKind::Panic, &["apply out of order on server", "expected 2, got 3"]);
    }
}

#[test]
fn applying_out_of_order_fails_the_snapshot_applier_too() {
    for seed in SEEDS {
        let f = must_fail(seed, Duration::from_secs(10), lab3d::snapshot_basic::<OutOfOrder>);
        expect(&f, seed, FailureKind::Panic, &["apply out of order on server", "expected 2, got 3"]);
    }
}

#[test]
fn different_commands_at_one_index_fail_basic_agree() {
    for seed in SEEDS {
        let f = must_fail(seed, Duration::from_secs(10), lab3b::basic_agree::<Diverges>);
        expect(&f, seed, FailureKind::Panic, &["commit index=1", "server 1 applied 666", "666"]);
    }
}

#[test]
fn a_test_past_120_seconds_fails_with_the_time_limit() {
    let seed = SEEDS[0];
    let f = must_fail(seed, Duration::from_secs(120), lab3b::backup::<SlowStart>);
    expect(&f, seed, FailureKind::TimeLimit, &["test took longer than 120 seconds"]);
}

#[test]
fn an_unwritten_raft_fails_at_once() {
    for seed in SEEDS {
        let f = must_fail(seed, Duration::from_millis(1), lab3a::initial_election::<Todo>);
        expect(&f, seed, FailureKind::Panic, &["not yet implemented: Lab 3A"]);
    }
}
