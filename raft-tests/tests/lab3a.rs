//! Lab 3A: leader election (docs/lab3-raft.md; 6.5840 Lab 3A). Run with `cargo test -p raft-tests 3a` or
//! `make lab3a`; the test bodies are in `suite/lab3a.rs`.
//!
//! The lab's rules for 3A: a leader sends at most 10 heartbeats per second, and a new leader
//! must be elected within 5 seconds of the old one failing (when a majority can talk).

#[path = "suite/lab3a.rs"]
mod suite;

use raft::Raft;

labs::lab_test! {
    /// 6.5840: TestInitialElection3A. Three servers elect a leader, agree on the term, and keep
    /// the same leader and term for 2 s without failures (a term change only prints a
    /// warning, as in 6.5840).
    fn initial_election_3a() {
        suite::initial_election::<Raft>();
    }

    /// 6.5840: TestReElection3A. A new leader after the leader is cut off; the old leader
    /// steps down when it rejoins; no leader without a quorum; a leader again once a quorum
    /// is back.
    fn re_election_3a() {
        suite::re_election::<Raft>();
    }

    /// 6.5840: TestManyElections3A. Seven servers; nine rounds of cutting off three random
    /// servers (possibly the same one twice): whenever four or more are connected, they have
    /// a leader.
    fn many_elections_3a() {
        suite::many_elections::<Raft>();
    }
}

// Beyond 6.5840: each checks one rule of Figure 2 or of the lab (see docs/lab3-raft.md, "What
// the tests check").
labs::lab_test! {
    /// Figure 2, RequestVote receiver: one vote per term, none for a stale term (scripted).
    fn vote_once_per_term_3a() {
        suite::vote_once_per_term::<Raft>();
    }

    /// Figure 2: requests of a stale term are refused with the current term (scripted).
    fn stale_term_refused_3a() {
        suite::stale_term_refused::<Raft>();
    }

    /// Figure 2, rules for all servers: a higher term in a reply or a request makes a leader
    /// step down (scripted).
    fn higher_term_steps_down_3a() {
        suite::higher_term_steps_down::<Raft>();
    }

    /// Figure 2, followers and candidates: the current leader's heartbeats suppress elections
    /// (scripted).
    fn heartbeats_suppress_elections_3a() {
        suite::heartbeats_suppress_elections::<Raft>();
    }

    /// A leader cut off one way (it receives but cannot send) steps down when the new
    /// leader's heartbeats reach it.
    fn one_way_partition_3a() {
        suite::one_way_partition::<Raft>();
    }

    /// The contract of Labs 4 and 5: a cluster of one peer elects itself.
    fn single_peer_leads_3a() {
        suite::single_peer_leads::<Raft>();
    }

    /// `kill()`: within a second every thread of a killed peer has returned.
    fn kill_stops_threads_3a() {
        suite::kill_stops_threads::<Raft>();
    }
}

labs::lab_test! {
    /// Figure 2, rules for candidates: votes granted in an earlier term are not counted
    /// (scripted).
    fn stale_votes_not_counted_3a() {
        suite::stale_votes_not_counted::<Raft>();
    }
}
