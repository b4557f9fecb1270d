//! Deliberately broken Raft peers, for the tester's own tests (`tester_robustness.rs`). Each
//! has one bug a student might write, and the tester must fail the relevant test with a
//! message that says what went wrong, within the test's time limit.
//!
//! Most wrap the reference [`raft::Raft`] and inject their bug around it.

pub mod deadlock;
pub mod diverges;
pub mod handler_panics;
pub mod never_leader;
pub mod out_of_order;
pub mod slow_start;
pub mod todo;
pub mod too_many_leaders;

use labrpc::Service;
use raft::Raft;
use raft::raft::{AppendEntriesArgs, InstallSnapshotArgs, RequestVoteArgs};

/// The reference service of `raft`, with `append_entries` replaced by `f`.
pub fn service_with_append(
    raft: &Raft,
    f: impl Fn(&Raft, AppendEntriesArgs) -> raft::raft::AppendEntriesReply + Send + Sync + 'static,
) -> Service {
    let (a, b, c) = (raft.clone(), raft.clone(), raft.clone());
    Service::new("Raft")
        .handler("RequestVote", move |args: RequestVoteArgs| a.request_vote(args))
        .handler("AppendEntries", move |args: AppendEntriesArgs| f(&b, args))
        .handler("InstallSnapshot", move |args: InstallSnapshotArgs| c.install_snapshot(args))
}
