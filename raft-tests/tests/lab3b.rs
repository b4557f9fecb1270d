//! Lab 3B: log replication (docs/lab3-raft.md; 6.5840 Lab 3B). Run with `cargo test -p raft-tests 3b` or
//! `make lab3b`; the test bodies are in `suite/lab3b.rs`.
//!
//! The handout's guidance for 3B: if it takes much more than a minute of real time, or much
//! more than 5 s of CPU, you will have trouble later.

#[path = "suite/lab3b.rs"]
mod suite;

use raft::Raft;

labs::lab_test! {
    /// 6.5840: TestBasicAgree3B. Three commands agreed by all three servers, at indices 1, 2
    /// and 3; nothing is committed before it is started.
    fn basic_agree_3b() {
        suite::basic_agree::<Raft>();
    }

    /// 6.5840: TestRPCBytes3B. Ten 5000-byte commands cost at most 3 x 50 000 + 50 000 =
    /// 200 000 bytes of RPC traffic: each command goes to each peer about once. (Byte counts
    /// are postcard encodings, more compact than gob, so the limit is if anything looser.)
    fn rpc_bytes_3b() {
        suite::rpc_bytes::<Raft>();
    }

    /// 6.5840: TestFollowerFailure3B. Agreement with one follower cut off; with both cut off,
    /// the leader still accepts a command at index 4, which must not commit within 2 s.
    fn follower_failure_3b() {
        suite::follower_failure::<Raft>();
    }

    /// 6.5840: TestLeaderFailure3B. Agreement after the leader is cut off; once the second
    /// leader is cut off too, a command started on every server must not commit.
    fn leader_failure_3b() {
        suite::leader_failure::<Raft>();
    }

    /// 6.5840: TestFailAgree3B. A follower cut off while four commands commit catches up when
    /// it reconnects.
    fn fail_agree_3b() {
        suite::fail_agree::<Raft>();
    }

    /// 6.5840: TestFailNoAgree3B. Five servers, three followers cut off: a command at index 2
    /// must not commit; after healing, the next command gets index 2 or 3 and all five agree.
    fn fail_no_agree_3b() {
        suite::fail_no_agree::<Raft>();
    }

    /// 6.5840: TestConcurrentStarts3B. Five concurrent start()s in one term all commit (up to
    /// five tries, 3 s apart, if the term changes).
    fn concurrent_starts_3b() {
        suite::concurrent_starts::<Raft>();
    }

    /// 6.5840: TestRejoin3B. A partitioned leader's uncommitted entries are overwritten when
    /// it rejoins.
    fn rejoin_3b() {
        suite::rejoin::<Raft>();
    }

    /// 6.5840: TestBackup3B. Five servers, two partitions with 50 uncommitted entries each,
    /// then 50 committed ones: the leader must back up over wrong follower logs quickly (fast
    /// backup with XTerm, XIndex and XLen).
    fn backup_3b() {
        suite::backup::<Raft>();
    }

    /// 6.5840: TestCount3B. At most 30 RPCs to elect the first leader, at most
    /// (10 + 1 + 3) x 3 = 42 to agree on 10 entries, and at most 3 x 20 = 60 in 1 s of
    /// idleness.
    fn count_3b() {
        suite::count::<Raft>();
    }
}

// Beyond 6.5840: each checks one rule of Figure 2 or of the lab (see docs/lab3-raft.md, "What
// the tests check").
labs::lab_test! {
    /// Figure 2, AppendEntries receiver rule 2 (scripted).
    fn append_rejects_mismatch_3b() {
        suite::append_rejects_mismatch::<Raft>();
    }

    /// Figure 2, AppendEntries receiver rules 3 and 4: only conflicting entries are deleted;
    /// an old AppendEntries never shortens the log (scripted).
    fn append_keeps_matching_entries_3b() {
        suite::append_keeps_matching_entries::<Raft>();
    }

    /// Figure 2, AppendEntries receiver rule 5, and a commit index that never goes back
    /// (scripted).
    fn append_commit_rule_3b() {
        suite::append_commit_rule::<Raft>();
    }

    /// Figure 2, rules for leaders, and Figure 8: only entries of the leader's term are
    /// committed by counting (scripted).
    fn leader_commits_own_term_3b() {
        suite::leader_commits_own_term::<Raft>();
    }

    /// Figure 2, rules for leaders: committed once a majority holds it (scripted).
    fn leader_needs_majority_3b() {
        suite::leader_needs_majority::<Raft>();
    }

    /// The contract of Labs 4 and 5: a cluster of one peer commits.
    fn single_peer_commits_3b() {
        suite::single_peer_commits::<Raft>();
    }

    /// `kill()`: the apply channel closes within 2 s.
    fn kill_closes_apply_channel_3b() {
        suite::kill_closes_apply_channel::<Raft>();
    }

    /// Agreement with requests reordered and repeated by the network.
    fn agree_despite_reordering_3b() {
        suite::agree_despite_reordering::<Raft>();
    }
}

labs::lab_test! {
    /// Figure 2, RequestVote receiver rule 2: votes only for candidates with up-to-date logs
    /// (scripted).
    fn vote_needs_up_to_date_log_3b() {
        suite::vote_needs_up_to_date_log::<Raft>();
    }
}
