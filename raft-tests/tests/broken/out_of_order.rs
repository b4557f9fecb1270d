//! A Raft that applies index 3 before index 2 (two commands sent on the apply channel in the
//! wrong order, as a sloppy applier loop might).

use labrpc::{ClientEnd, Service};
use labs::persister::Persister;
use labs::sync::{Sender, unbounded};
use raft::{ApplyMsg, NotLeader, Raft};
use raft_tests::RaftPeer;

/// The reference Raft with indices 2 and 3 swapped on the way to the service.
#[derive(Clone)]
pub struct OutOfOrder(Raft);

impl RaftPeer for OutOfOrder {
    fn make(peers: Vec<ClientEnd>, me: usize, persister: Persister, apply_tx: Sender<ApplyMsg>) -> Self {
        let (tx, rx) = unbounded();
        let raft = Raft::new(peers, me, persister, tx);
        labs::thread::spawn("reorder", move || {
            let mut held = None;
            for m in rx.iter() {
                if matches!(m, ApplyMsg::Command { index: 2, .. }) && held.is_none() {
                    held = Some(m);
                    continue;
                }
                let _ = apply_tx.send(m);
                if let Some(h) = held.take() {
                    let _ = apply_tx.send(h);
                }
            }
        });
        OutOfOrder(raft)
    }
    fn service(&self) -> Service {
        self.0.service()
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
