//! A Raft whose AppendEntries handler panics on its fourth call on each server (an index past
//! the end of a slice, say). Elections work; agreement does not get far.

use labrpc::{ClientEnd, Service};
use labs::persister::Persister;
use labs::sync::atomic::{AtomicUsize, Ordering};
use labs::sync::{Arc, Sender};
use raft::{ApplyMsg, NotLeader, Raft};
use raft_tests::RaftPeer;

/// The reference Raft with a panicking AppendEntries handler.
#[derive(Clone)]
pub struct HandlerPanics(Raft);

impl RaftPeer for HandlerPanics {
    fn make(peers: Vec<ClientEnd>, me: usize, persister: Persister, apply_tx: Sender<ApplyMsg>) -> Self {
        HandlerPanics(Raft::new(peers, me, persister, apply_tx))
    }
    fn service(&self) -> Service {
        let calls = Arc::new(AtomicUsize::new(0));
        super::service_with_append(&self.0, move |rf, args| {
            let log = [0u64; 3];
            let i = calls.fetch_add(1, Ordering::Relaxed);
            // The bug: an index past the end of the log.
            let _entry = std::hint::black_box(log)[i];
            rf.append_entries(args)
        })
    }
    fn start(&self, command: Vec<u8>) -> Result<(u64, u64), NotLeader> {
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
