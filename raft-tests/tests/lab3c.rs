//! Lab 3C: persistence (docs/lab3-raft.md; 6.5840 Lab 3C). Run with `cargo test -p raft-tests 3c` or
//! `make lab3c`; the test bodies are in `suite/lab3c.rs`.

#[path = "suite/lab3c.rs"]
mod suite;

use raft::Raft;

labs::lab_test! {
    /// 6.5840: TestPersist13C. Agreement survives restarting every server, the leader, and a
    /// follower.
    fn persist1_3c() {
        suite::persist1::<Raft>();
    }

    /// 6.5840: TestPersist23C. Five rounds of restarting minorities of a five-server
    /// cluster.
    fn persist2_3c() {
        suite::persist2::<Raft>();
    }

    /// 6.5840: TestPersist33C. A partitioned leader and one follower crash; the leader
    /// restarts.
    fn persist3_3c() {
        suite::persist3::<Raft>();
    }

    /// 6.5840: TestFigure83C. 1000 iterations of starting a command and crashing the leader,
    /// on a reliable network (Figure 8 of the extended Raft paper): the appliers check
    /// safety, and all five agree at the end.
    fn figure8_3c() {
        suite::figure8::<Raft>();
    }

    /// 6.5840: TestUnreliableAgree3C. 49 rounds of four concurrent agreements plus one, on an
    /// unreliable network.
    fn unreliable_agree_3c() {
        suite::unreliable_agree::<Raft>();
    }

    /// 6.5840: TestFigure8Unreliable3C. 1000 iterations of starting commands and cutting off
    /// the leader (with probability 1/2), on an unreliable network with long reordering from
    /// iteration 200.
    fn figure8_unreliable_3c() {
        suite::figure8_unreliable::<Raft>();
    }

    /// 6.5840: TestReliableChurn3C. Three clients start commands while servers are cut off,
    /// crashed and restarted for 20 rounds of 700 ms; everything a client saw committed must
    /// be in the final log.
    fn reliable_churn_3c() {
        suite::reliable_churn::<Raft>();
    }

    /// 6.5840: TestUnreliableChurn3C. The churn test on an unreliable network.
    fn unreliable_churn_3c() {
        suite::unreliable_churn::<Raft>();
    }
}

// Beyond 6.5840: each checks one part of the persistent state of Figure 2 (see
// docs/lab3-raft.md, "What the tests check").
labs::lab_test! {
    /// Figure 2: votedFor survives a crash (scripted: vote, crash, restart, second candidate).
    fn vote_survives_restart_3c() {
        suite::vote_survives_restart::<Raft>();
    }

    /// Figure 2: currentTerm survives a crash (scripted).
    fn term_survives_restart_3c() {
        suite::term_survives_restart::<Raft>();
    }

    /// Figure 2: the log survives a crash (scripted).
    fn log_survives_restart_3c() {
        suite::log_survives_restart::<Raft>();
    }
}
