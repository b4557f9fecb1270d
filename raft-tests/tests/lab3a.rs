//! Lab 3A: leader election (spec section 3.3). Run with `cargo test -p raft-tests 3a` or
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
