//! Tests of the tester itself: deliberately broken Rafts must make the relevant suite test
//! fail, with a message that says what went wrong, well within the test's time limit, and
//! never hang. Each runs the real suite body under the sim backend on a few seeds.
//!
//! Two kinds of broken Rafts: the ones in `broken/` wrap the reference and break the harness's
//! contracts (a deadlock, a panicking handler, ...); the *mutants* (`mutants/*.mutant`, built
//! by `build.rs`) are the reference with one rule of Figure 2, Figure 13 or the lab broken.
//! For each mutant, the test that checks its rule must fail on at least 4 of the 5 seeds that
//! `make grade` runs (1-5), with a message that names the rule.

#[allow(dead_code)]
#[path = "suite/lab3a.rs"]
mod lab3a;
#[allow(dead_code)]
#[path = "suite/lab3b.rs"]
mod lab3b;
#[allow(dead_code)]
#[path = "suite/lab3c.rs"]
mod lab3c;
#[allow(dead_code)]
#[path = "suite/lab3d.rs"]
mod lab3d;

/// The mutants of the reference Raft (see `build.rs`).
#[cfg(mutants)]
mod mutants {
    include!(concat!(env!("OUT_DIR"), "/mutants.rs"));
}

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
        expect(
            &f,
            seed,
            FailureKind::Panic,
            &[
                "start() has not returned after 5 s during \"Test (3B): basic agreement\"",
                "deadlocked",
                "tester was at step \"one(",
            ],
        );
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
fn a_test_past_120_seconds_fails_naming_the_step_it_was_waiting_in() {
    let seed = SEEDS[0];
    let f = must_fail(seed, Duration::from_secs(120), lab3b::backup::<SlowStart>);
    expect(
        &f,
        seed,
        FailureKind::Panic,
        &[
            "test took longer than 120 seconds (virtual time) during \"Test (3B): leader backs up quickly over incorrect follower logs\"",
            "tester was at step \"one(",
            "since",
        ],
    );
}

/// The reference Raft, noting from `start()`, `state()` and `kill()` which node it runs as.
#[derive(Clone)]
struct NotesItsNode(raft::Raft);

impl raft_tests::RaftPeer for NotesItsNode {
    fn make(
        peers: Vec<labrpc::ClientEnd>,
        me: usize,
        persister: labs::persister::Persister,
        apply_tx: labs::sync::Sender<raft::ApplyMsg>,
    ) -> Self {
        labs::events::note("make");
        NotesItsNode(raft::Raft::new(peers, me, persister, apply_tx))
    }
    fn service(&self) -> labrpc::Service {
        self.0.service()
    }
    fn start(&self, command: Vec<u8>) -> Result<(u64, u64), raft::NotLeader> {
        labs::events::note("start");
        self.0.start(command)
    }
    fn state(&self) -> (u64, bool) {
        labs::events::note("state");
        self.0.state()
    }
    fn snapshot(&self, index: u64, snapshot: Vec<u8>) {
        self.0.snapshot(index, snapshot);
    }
    fn kill(&self) {
        labs::events::note("kill");
        self.0.kill();
    }
}

/// Issue 15: what a peer logs from a call the tester makes into it (`Raft::new`, `start`,
/// `state`, `kill`) is tagged with the peer, not with the tester.
#[test]
fn calls_into_a_peer_are_tagged_with_the_peer() {
    let mut seen = std::collections::BTreeSet::new();
    let runs = [
        World::builder().seed(1).run(lab3b::basic_agree::<NotesItsNode>),
        World::builder().seed(1).run(lab3a::initial_election::<NotesItsNode>),
    ];
    for e in runs.iter().flat_map(|out| {
        out.result.as_ref().unwrap_or_else(|f| panic!("{}", f.message));
        &out.events
    }) {
        if let labs::events::EventKind::Note { text } = &e.kind
            && ["make", "start", "state", "kill"].contains(&text.as_str())
        {
            assert!(
                e.node.starts_with("server-"),
                "{text}() was logged as node {:?}, not as the peer",
                e.node
            );
            seen.insert(text.clone());
        }
    }
    assert_eq!(seen.len(), 4, "not every call was seen: {seen:?}");
}

#[test]
fn an_unwritten_raft_fails_at_once() {
    for seed in SEEDS {
        let f = must_fail(seed, Duration::from_millis(1), lab3a::initial_election::<Todo>);
        expect(&f, seed, FailureKind::Panic, &["not yet implemented: Lab 3A"]);
    }
}

testkit::catches! {
    Raft;
    a_second_vote_in_a_term_is_caught: votes_twice by lab3a::vote_once_per_term,
        &[&["granted votes to both server 1 and server 2 in term 5", "votedFor"]];
    a_vote_forgotten_by_a_restart_is_caught: vote_not_persisted by lab3c::vote_survives_restart,
        &[&["granted votes to both server 1 and server 2 in term 5", "votedFor must be persisted"]];
    a_term_forgotten_by_a_restart_is_caught: term_not_persisted by lab3c::term_survives_restart,
        &[&["currentTerm must be persisted"]];
    a_log_forgotten_by_a_restart_is_caught: log_not_persisted by lab3c::log_survives_restart,
        &[&["acknowledged entries up to index 3", "persist the log before replying"]];
    a_vote_for_a_stale_log_is_caught: no_up_to_date_check by lab3b::vote_needs_up_to_date_log,
        &[&["granted its vote in term 5 to server 1", "up-to-date"]];
    up_to_date_by_length_only_is_caught: up_to_date_by_length by lab3b::vote_needs_up_to_date_log,
        &[&["granted its vote in term 5 to server 1", "up-to-date"]];
    a_vote_for_a_stale_term_is_caught: votes_for_stale_term by lab3a::stale_term_refused,
        &[&["granted its vote to server 2 for term 3", "RequestVote receiver rule 1"]];
    a_stale_leader_accepted_is_caught: accepts_stale_leader by lab3a::stale_term_refused,
        &[&["accepted an AppendEntries of term 4", "AppendEntries receiver rule 1"]];
    a_prev_term_not_checked_is_caught: no_prev_term_check by lab3b::append_rejects_mismatch,
        &[&["accepted entries after index 2 of term 2", "AppendEntries receiver rule 2"]];
    truncating_on_a_stale_append_is_caught: truncates_always by lab3b::append_keeps_matching_entries,
        &[&["deleted entries it had acknowledged", "AppendEntries receiver rule 3"]];
    keeping_a_conflicting_suffix_is_caught: keeps_conflicting_suffix by lab3b::append_keeps_matching_entries,
        &[&["still holds entry 5", "receiver rule 3"]];
    committing_unchecked_entries_is_caught: commit_beyond_new_entries by lab3b::append_commit_rule,
        &[&["applied command \"y\" at index 3", "receiver rule 5"]];
    ignoring_a_higher_term_in_replies_is_caught: ignores_reply_term by lab3a::higher_term_steps_down,
        &[&["if a response contains term T > currentTerm"]];
    a_leader_ignoring_a_higher_term_request_is_caught: leader_ignores_higher_request by lab3a::higher_term_steps_down,
        &[&["still claims to lead", "if a request contains term T > currentTerm"], &["acted as leader of term", "rules for candidates"]];
    counting_stale_votes_is_caught: counts_stale_votes by lab3a::stale_votes_not_counted,
        &[&["acted as leader of term", "rules for candidates"]];
    counting_refusals_is_caught: counts_refusals by lab3a::stale_votes_not_counted,
        &[&["acted as leader of term", "rules for candidates"]];
    no_timer_reset_on_heartbeats_is_caught: no_timer_reset by lab3a::heartbeats_suppress_elections,
        &[&["started an election for term", "rules for followers and candidates"]];
    committing_old_terms_by_counting_is_caught: commits_old_terms by lab3b::leader_commits_own_term,
        &[&["Figure 8", "counting replicas"]];
    committing_without_a_majority_is_caught: commit_without_majority by lab3b::leader_needs_majority,
        &[&["servers 0 and 1", "majority"]];
    a_leader_deleting_its_entries_is_caught: leader_drops_uncommitted by lab3b::concurrent_starts,
        &[&["Leader Append-Only"], &["State Machine Safety", "a leader that lost or overwrote"]];
    a_heartbeat_flood_is_caught: heartbeat_flood by lab3a::initial_election,
        &[&["heartbeats", "at most 10 heartbeats per second"]];
    threads_outliving_kill_are_caught: kill_ignored by lab3a::kill_stops_threads,
        &[&["still running 1 s after kill()"]];
    an_apply_channel_left_open_is_caught: apply_channel_kept by lab3b::kill_closes_apply_channel,
        &[&["apply channel was still open 2 s after kill()"]];
    a_lone_peer_that_never_leads_is_caught: single_peer_stuck by lab3a::single_peer_leads,
        &[&["expected one leader, got none"]];
    installing_a_stale_snapshot_is_caught: installs_stale_snapshot by lab3d::stale_snapshot_ignored,
        &[&["applied a snapshot up to index 3"]];
    a_snapshot_discarding_the_log_is_caught: snapshot_discards_log by lab3d::install_snapshot_keeps_log,
        &[&["Figure 13, InstallSnapshot receiver rule 6"]];
    a_snapshot_not_persisted_is_caught: snapshot_not_persisted by lab3d::snapshot_survives_restart,
        &[&["snapshot must be saved together with the Raft state"]];
    a_log_never_trimmed_is_caught: snapshot_ignored by lab3d::snapshot_trims_log,
        &[&["snapshot() must drop the entries the snapshot covers"]];
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
