//! A Raft that never elects a leader: it never campaigns and rejects every request.

use labrpc::{ClientEnd, Service};
use labs::persister::Persister;
use labs::sync::Sender;
use raft::raft::{
    AppendEntriesArgs, AppendEntriesReply, InstallSnapshotArgs, InstallSnapshotReply, RequestVoteArgs,
    RequestVoteReply,
};
use raft::{ApplyMsg, NotLeader};
use raft_tests::RaftPeer;

/// Never a leader, never votes.
#[derive(Clone)]
pub struct NeverLeader;

impl RaftPeer for NeverLeader {
    fn make(_peers: Vec<ClientEnd>, _me: usize, _persister: Persister, _apply_tx: Sender<ApplyMsg>) -> Self {
        NeverLeader
    }
    fn service(&self) -> Service {
        Service::new("Raft")
            .handler("RequestVote", |_: RequestVoteArgs| RequestVoteReply::default())
            .handler("AppendEntries", |_: AppendEntriesArgs| AppendEntriesReply::default())
            .handler("InstallSnapshot", |_: InstallSnapshotArgs| InstallSnapshotReply::default())
    }
    fn start(&self, _command: Vec<u8>) -> Result<(u64, u64), NotLeader> {
        Err(NotLeader)
    }
    fn state(&self) -> (u64, bool) {
        (0, false)
    }
    fn snapshot(&self, _index: u64, _snapshot: Vec<u8>) {}
    fn kill(&self) {}
}
