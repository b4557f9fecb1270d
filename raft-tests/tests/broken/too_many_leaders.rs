//! A Raft where every peer claims to lead in term 1 (as if votes were never counted).

use labrpc::{ClientEnd, Service};
use labs::persister::Persister;
use labs::sync::Sender;
use raft::{ApplyMsg, NotLeader, Raft};
use raft_tests::RaftPeer;

/// The reference Raft, but `state()` always says "leader of term 1".
#[derive(Clone)]
pub struct TooManyLeaders(Raft);

impl RaftPeer for TooManyLeaders {
    fn make(peers: Vec<ClientEnd>, me: usize, persister: Persister, apply_tx: Sender<ApplyMsg>) -> Self {
        TooManyLeaders(Raft::new(peers, me, persister, apply_tx))
    }
    fn service(&self) -> Service {
        self.0.service()
    }
    fn start(&self, command: Vec<u8>) -> Result<(u64, u64), NotLeader> {
        self.0.start(command)
    }
    fn state(&self) -> (u64, bool) {
        (1, true)
    }
    fn snapshot(&self, index: u64, snapshot: Vec<u8>) {
        self.0.snapshot(index, snapshot);
    }
    fn kill(&self) {
        self.0.kill();
    }
}
