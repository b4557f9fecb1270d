//! The handout skeleton before any work: `Raft::new` is a `todo!()`.

use labrpc::{ClientEnd, Service};
use labs::persister::Persister;
use labs::sync::Sender;
use raft::{ApplyMsg, NotLeader};
use raft_tests::RaftPeer;

/// A peer whose constructor is not written yet.
#[derive(Clone)]
pub struct Todo;

impl RaftPeer for Todo {
    fn make(_peers: Vec<ClientEnd>, _me: usize, _persister: Persister, _apply_tx: Sender<ApplyMsg>) -> Self {
        todo!("Lab 3A: make the Raft state and start the background threads")
    }
    fn service(&self) -> Service {
        Service::new("Raft")
    }
    fn start(&self, _command: Vec<u8>) -> Result<(u64, u64), NotLeader> {
        todo!()
    }
    fn state(&self) -> (u64, bool) {
        todo!()
    }
    fn snapshot(&self, _index: u64, _snapshot: Vec<u8>) {}
    fn kill(&self) {}
}
