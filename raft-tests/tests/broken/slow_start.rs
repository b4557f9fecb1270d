//! A Raft whose `start()` waits 1.5 s before answering (as if it waited for the entry to be
//! replicated). Each call is short of the tester's stuck-call limit, but a long test runs past
//! its 120 s.

use labrpc::{ClientEnd, Service};
use labs::persister::Persister;
use labs::sync::Sender;
use labs::time::{Duration, sleep};
use raft::{ApplyMsg, NotLeader, Raft};
use raft_tests::RaftPeer;

/// The reference Raft with a slow `start()`.
#[derive(Clone)]
pub struct SlowStart(Raft);

impl RaftPeer for SlowStart {
    fn make(peers: Vec<ClientEnd>, me: usize, persister: Persister, apply_tx: Sender<ApplyMsg>) -> Self {
        SlowStart(Raft::new(peers, me, persister, apply_tx))
    }
    fn service(&self) -> Service {
        self.0.service()
    }
    fn start(&self, command: Vec<u8>) -> Result<(u64, u64), NotLeader> {
        sleep(Duration::from_millis(1500));
        self.0.start(command)
    }
    fn state(&self) -> (u64, bool) {
        self.0.state()
    }
    fn snapshot(&self, index: u64, snapshot: Vec<u8>) {
        self.0.snapshot(index, snapshot);
    }
    fn kill(&self) {
        self.0.kill();
    }
}
