//! Tests of the KV tester itself: broken services (*mutants*: `mutants/*.mutant`, built by
//! `build.rs` from the reference `kvraft` crate, each with one rule of the lab broken) must
//! make the test that checks their rule fail on at least 4 of the 5 seeds that `make grade`
//! runs (1-5), with a message that names the rule.

#[cfg(mutants)]
#[allow(dead_code)]
#[path = "suite/rules.rs"]
mod rules;

/// The mutants of the reference KV service (see `build.rs`).
#[cfg(mutants)]
mod mutants {
    include!(concat!(env!("OUT_DIR"), "/mutants.rs"));
}

testkit::catches! {
    Kv;
    a_clerk_that_forgets_the_leader_is_caught: clerk_forgets_leader by rules::clerk_remembers_leader,
        &[&["RPCs for 20 operations", "remembers which server answered last"]];
    a_retry_executed_again_is_caught: dup_check_off_by_one by rules::retry_after_lost_reply,
        &[&["was applied twice", "at-most-once"]];
    a_duplicate_table_outside_the_log_is_caught: dup_table_leader_local by rules::retry_at_new_leader,
        &[&["was applied twice", "at a new leader", "at-most-once"]];
    a_get_outside_the_log_is_caught: get_not_through_log by rules::one_partition,
        &[&["Get in minority completed", "goes through the Raft log"]];
    a_reply_before_commit_is_caught: reply_before_commit by rules::one_partition,
        &[&["Put in minority completed", "through the Raft log"]];
    answering_another_servers_operation_is_caught: wrong_op_answered by rules::answers_only_its_own_operation,
        &[&["was answered as done", "its own operation committed at its index"]];
    a_snapshot_without_the_duplicate_table_is_caught: snapshot_without_dups by rules::dup_table_in_snapshot,
        &[&["was applied twice", "duplicate table must be in the snapshot"]];
    a_snapshot_not_restored_is_caught: restore_ignored by rules::dup_table_in_snapshot,
        &[&["after every server restarted from its snapshot", "returned \"\""]];
    a_service_that_never_snapshots_is_caught: never_snapshots by rules::dup_table_in_snapshot,
        &[&["has no snapshot", "maxraftstate"]];
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
