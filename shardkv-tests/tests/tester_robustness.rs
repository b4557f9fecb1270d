//! Tests of the shard tester itself: broken shard groups (*mutants*: `mutants/*.mutant`, built by
//! `build.rs` from the reference `shardkv` crate, each with one rule of the lab broken) must
//! make the test that checks their rule fail on at least 4 of the 5 seeds that `make grade`
//! runs (1-5), with a message that names the rule.

#[cfg(mutants)]
#[allow(dead_code)]
#[path = "suite/rules.rs"]
mod rules;

/// The mutants of the reference sharded service (see `build.rs`).
#[cfg(mutants)]
mod mutants {
    include!(concat!(env!("OUT_DIR"), "/mutants.rs"));
}

testkit::catches! {
    Shards;
    serving_an_unowned_shard_is_caught: serves_unowned_shards by rules::rejects_unowned_shard,
        &[&["still answered", "ownership rule"]];
    a_migration_without_the_duplicate_table_is_caught: migration_without_dups by rules::dup_table_moves_with_shard,
        &[&["was applied twice", "migration rule"]];
    serving_before_the_data_arrives_is_caught: serves_before_arrival by rules::waits_for_shard_data,
        &[&["data is still at group", "migration rule"]];
    keeping_shards_given_away_is_caught: keeps_lost_shards by rules::challenge1_delete,
        &[&["too big", "challenge 1"]];
    a_leader_without_a_noop_is_caught: no_noop_for_new_leader by rules::restarted_group_catches_up,
        &[&["Figure 8", "liveness rule"]];
}

/// Every mutant has a test above (a new mutant without one fails here).
#[cfg(mutants)]
#[test]
fn every_mutant_has_a_test_of_the_tester() {
    let source = include_str!("tester_robustness.rs");
    for (name, _) in mutants::MUTANTS {
        assert!(source.contains(&format!(": {name} by ")), "mutant {name} has no `catches!` entry");
    }
}

// ---- The harness on the panic path -----------------------------------------------------------
//
// Issue 14 found failing shardkv runs that stalled after the tester's main thread panicked, and
// were then reported after 5 s as a spin of thread 'main' instead of with their real message.
// The frame's cleanup policy (no runtime call while the test's thread unwinds) is the fix;
// these tests hold it: a failing run reports its own message, and takes about as long as the
// same run passing.

use shardkv_tests::kv::{Appenders, Config, gid};

/// Concurrent appenders are in the middle of their calls when the main thread fails a check.
fn panic_amid_appenders<const FAIL: bool>() {
    let cfg = Config::new(3, false, -1);
    cfg.begin("Test: a failure amid concurrent clerks");
    cfg.join(0);
    cfg.join(1);
    let keys: Vec<String> = (0..5).map(|i| i.to_string()).collect();
    let values = vec![String::new(); keys.len()];
    let appenders = Appenders::start(&cfg, &keys, &values, 5, labs::time::Duration::from_millis(5));
    labs::time::sleep(labs::time::Duration::from_millis(700));
    cfg.leave(0);
    labs::time::sleep(labs::time::Duration::from_millis(300));
    if FAIL {
        panic!("planted failure: Get(0): expected the appended values");
    }
    appenders.stop();
    cfg.end();
}

/// A clerk is stuck retrying at a group that is shut down when the main thread fails a check.
fn panic_while_a_clerk_waits_for_a_dead_group<const FAIL: bool>() {
    let cfg = Config::new(3, false, -1);
    cfg.begin("Test: a failure while a clerk waits for a dead group");
    cfg.join(0);
    cfg.join(1);
    let mut ck = cfg.make_client();
    let conf = cfg.query();
    let key =
        (0..50).map(|i| i.to_string()).find(|k| conf.shards[shardkv::key2shard(k)] == gid(1)).expect("a key");
    ck.put(&key, "x");
    cfg.shutdown_group(1);
    let mut stuck = cfg.make_client();
    let k = key.clone();
    labs::thread::spawn("stuck-get", move || stuck.get(&k));
    labs::time::sleep(labs::time::Duration::from_millis(500));
    if FAIL {
        panic!("planted failure: the group did not come back");
    }
    cfg.start_group(1);
    labs::time::sleep(labs::time::Duration::from_millis(500));
    cfg.end();
}

/// Runs the passing and the failing variant of a scenario on seeds 1-5: the failing one
/// reports the planted message (never a spin or a deadlock), in about the time of the passing
/// one.
fn fails_promptly(pass: fn(), fail: fn()) {
    use labs::world::{FailureKind, World};
    for seed in 1..=5 {
        let t = labs::time::Stopwatch::start();
        let ok = World::builder().seed(seed).run(pass);
        let pass_wall = t.elapsed();
        ok.result.unwrap_or_else(|f| panic!("seed {seed}: the passing variant failed: {}", f.message));
        let t = labs::time::Stopwatch::start();
        let out = World::builder().seed(seed).run(fail);
        let fail_wall = t.elapsed();
        let f = out.result.expect_err("the failing variant passed");
        assert_eq!(f.kind, FailureKind::Panic, "seed {seed}: {}", f.message);
        assert!(f.message.contains("planted failure"), "seed {seed}: not the real message:\n{}", f.message);
        assert!(
            fail_wall <= pass_wall * 3 + labs::time::Duration::from_millis(500),
            "seed {seed}: the failing run took {fail_wall:?} of wall time, the passing one {pass_wall:?}"
        );
    }
}

#[test]
fn a_failure_amid_concurrent_clerks_reports_its_message_promptly() {
    fails_promptly(panic_amid_appenders::<false>, panic_amid_appenders::<true>);
}

#[test]
fn a_failure_while_a_clerk_waits_for_a_dead_group_reports_its_message_promptly() {
    fails_promptly(
        panic_while_a_clerk_waits_for_a_dead_group::<false>,
        panic_while_a_clerk_waits_for_a_dead_group::<true>,
    );
}
