//! A Raft with a lock-order deadlock: `start()` takes lock `a` then lock `b`, while a
//! background thread takes `b` (and sleeps holding it) then `a`. Elections work and `state()`
//! answers until the first `start()`, which deadlocks with the background thread; every later
//! call that needs `a` hangs too.

use labrpc::{ClientEnd, Service};
use labs::persister::Persister;
use labs::sync::{Arc, Mutex, Sender};
use labs::time::{Duration, sleep};
use raft::{ApplyMsg, NotLeader, Raft};
use raft_tests::RaftPeer;

/// The reference Raft behind two locks taken in opposite orders.
#[derive(Clone)]
pub struct Deadlocks {
    raft: Raft,
    a: Arc<Mutex<()>>,
    b: Arc<Mutex<()>>,
}

impl RaftPeer for Deadlocks {
    fn make(peers: Vec<ClientEnd>, me: usize, persister: Persister, apply_tx: Sender<ApplyMsg>) -> Self {
        let raft = Raft::new(peers, me, persister, apply_tx);
        let (a, b) = (Arc::new(Mutex::new(())), Arc::new(Mutex::new(())));
        let (a2, b2) = (a.clone(), b.clone());
        labs::thread::spawn("bookkeeper", move || {
            while !labs::thread::killed() {
                let _gb = b2.lock();
                sleep(Duration::from_millis(10));
                let _ga = a2.lock();
            }
        });
        Deadlocks { raft, a, b }
    }
    fn service(&self) -> Service {
        self.raft.service()
    }
    fn start(&self, command: Vec<u8>) -> Result<(u64, u64), NotLeader> {
        let _ga = self.a.lock();
        let _gb = self.b.lock();
        self.raft.start(command)
    }
    fn state(&self) -> (u64, bool) {
        let _ga = self.a.lock();
        self.raft.state()
    }
    fn snapshot(&self, index: u64, snapshot: Vec<u8>) {
        self.raft.snapshot(index, snapshot);
    }
    fn kill(&self) {
        self.raft.kill();
    }
}
