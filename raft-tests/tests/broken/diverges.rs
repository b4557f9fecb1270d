//! A Raft whose server 1 applies a different command than the others at index 1 (it
//! corrupts what it delivers), breaking the State Machine Safety property.

use labrpc::{ClientEnd, Service};
use labs::persister::Persister;
use labs::sync::{Sender, unbounded};
use raft::{ApplyMsg, NotLeader, Raft};
use raft_tests::RaftPeer;

/// The reference Raft, except that server 1 applies a wrong command at index 1.
#[derive(Clone)]
pub struct Diverges(Raft);

impl RaftPeer for Diverges {
    fn make(peers: Vec<ClientEnd>, me: usize, persister: Persister, apply_tx: Sender<ApplyMsg>) -> Self {
        let (tx, rx) = unbounded();
        let raft = Raft::new(peers, me, persister, tx);
        labs::thread::spawn("corrupter", move || {
            for m in rx.iter() {
                let m = match m {
                    ApplyMsg::Command { index: 1, .. } if me == 1 => {
                        ApplyMsg::Command { index: 1, command: raft_tests::command(666) }
                    }
                    m => m,
                };
                let _ = apply_tx.send(m);
            }
        });
        Diverges(raft)
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
