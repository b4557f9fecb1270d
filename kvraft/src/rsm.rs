//! A replicated state machine on Raft: the layer between a service (the KV server, the shard
//! controller, a shard group) and its Raft peer (docs/lab4-kvraft.md, 6.5840's `rsm` package).
//!
//! A service implements [`StateMachine`] and makes one [`Rsm`] per server with [`Rsm::new`],
//! which makes the Raft peer and a *reader* thread. The service's RPC handlers call
//! [`Rsm::submit`] with an operation: the rsm proposes it to Raft, waits until Raft commits
//! it, and returns what [`StateMachine::apply`] answered. The reader applies every committed
//! operation, whoever submitted it, in log order, on every server, so all replicas go through
//! the same states.
//!
//! `submit` fails with a [`SubmitError`] (6.5840's `ErrWrongLeader`: "try another server")
//! when this server is not the leader, when it loses leadership before the operation commits
//! (its term changes, or a different operation shows up at the operation's log index), or when
//! the server is shut down: [`Rsm::kill`] (and Raft's `kill`, which closes the apply channel)
//! make every pending `submit` return.
//!
//! With `maxraftstate >= 0`, the rsm asks Raft to snapshot (with [`StateMachine::snapshot`])
//! once the persisted Raft state reaches `maxraftstate` bytes, and a restarted server restores
//! its state from the last snapshot ([`StateMachine::restore`]) before Raft replays the log
//! after it. `maxraftstate = -1` never snapshots.

use labrpc::ClientEnd;
use labs::persister::Persister;
use labs::sync::Arc;
use raft::Raft;
use serde::Serialize;
use serde::de::DeserializeOwned;
// SOLUTION BEGIN
use labs::sync::atomic::{AtomicBool, Ordering};
use labs::sync::{Mutex, Receiver, RecvTimeoutError, Sender, unbounded};
use labs::time::Duration;
use raft::ApplyMsg;
use std::collections::BTreeMap;
// SOLUTION ELSE
// use labs::sync::{Mutex, unbounded};
// SOLUTION END

/// The service that sits on an [`Rsm`]: a deterministic state machine.
///
/// Every server applies the same operations in the same order, so `apply` must depend only on
/// the state and the operation (no clocks, no randomness, no per-server state), and a
/// snapshot must capture everything `apply` depends on (for the KV server, the duplicate
/// table as well as the data).
pub trait StateMachine: Send + 'static {
    /// An operation, as it travels through the Raft log (it is serialized).
    type Op: Serialize + DeserializeOwned + Send + 'static;
    /// What applying an operation returns to the server that submitted it.
    type Reply: Send + 'static;

    /// Applies a committed operation and returns its result (6.5840's `DoOp`).
    fn apply(&mut self, op: Self::Op) -> Self::Reply;

    /// The whole state, as bytes that [`StateMachine::restore`] takes back.
    fn snapshot(&self) -> Vec<u8>;

    /// Replaces the whole state with one that [`StateMachine::snapshot`] made.
    fn restore(&mut self, snapshot: &[u8]);
}

/// Why [`Rsm::submit`] did not return a result. Every variant means what 6.5840's
/// `ErrWrongLeader` means: this server cannot answer; ask another one (a clerk retries, and
/// the service's duplicate detection makes the retry safe even if the operation did commit).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    /// This server is not the leader (Raft's `start` refused the operation).
    #[error("this server is not the leader")]
    NotLeader,
    /// This server was the leader when the operation was submitted, but lost leadership
    /// before it committed: its term changed, or another operation was committed at its log
    /// index. The operation may or may not have been applied.
    #[error("this server lost leadership before the operation committed")]
    LostLeadership,
    /// The server was shut down ([`Rsm::kill`], or Raft closed the apply channel).
    #[error("this server is shut down")]
    Shutdown,
}

// SOLUTION BEGIN
/// How often a waiting `submit` checks whether its leadership is still current (the term it
/// started in, and still the leader) and whether the server is still alive.
const LEADERSHIP_POLL: Duration = Duration::from_millis(50);

/// How long the reader waits for the next committed operation before it looks at whether it
/// has been killed (for Raft implementations that do not close the apply channel).
const READER_IDLE: Duration = Duration::from_millis(500);

/// What the rsm puts in the Raft log: the operation with an id that tells whose it is.
#[derive(Serialize)]
struct EntryRef<'a, Op> {
    id: u64,
    op: &'a Op,
}

/// The owned form of [`EntryRef`], for reading an entry back (same encoding).
#[derive(serde::Deserialize)]
#[serde(bound = "Op: DeserializeOwned")]
struct Entry<Op> {
    id: u64,
    op: Op,
}

/// What the rsm hands Raft as a snapshot: the state machine's snapshot and the index it is
/// at, so that a restarted server knows where the log it replays continues.
#[derive(Serialize, serde::Deserialize)]
struct Snapshot {
    index: u64,
    data: Vec<u8>,
}

/// A `submit` waiting for the entry it proposed at some log index.
struct Waiter<R> {
    /// The id of the entry it proposed.
    id: u64,
    tx: Sender<Result<R, SubmitError>>,
}

/// The state behind the rsm's lock.
struct State<S: StateMachine> {
    sm: S,
    /// The last log index applied to `sm` (or included in the snapshot it was restored from).
    applied: u64,
    /// Pending submits by log index.
    waiters: BTreeMap<u64, Waiter<S::Reply>>,
    /// Ids for the entries this instance proposes.
    next_id: u64,
}
// SOLUTION END

/// A replicated state machine: a [`StateMachine`] replicated by a Raft peer. Cloning gives
/// another handle to the same instance.
pub struct Rsm<S: StateMachine> {
    inner: Arc<Inner<S>>,
}

impl<S: StateMachine> Clone for Rsm<S> {
    fn clone(&self) -> Self {
        Rsm { inner: Arc::clone(&self.inner) }
    }
}

struct Inner<S: StateMachine> {
    /// This server's index among the servers.
    me: usize,
    /// The Raft peer this rsm made.
    raft: Raft,
    /// Where Raft saves its state (the rsm reads its size).
    persister: Persister,
    /// Snapshot when the Raft state reaches this many bytes; -1: never.
    maxraftstate: i64,
    // SOLUTION BEGIN
    /// Set by [`Rsm::kill`], or when the reader thread ends.
    dead: AtomicBool,
    state: Mutex<State<S>>,
    // SOLUTION ELSE
    // // Your data here (Lab 4A): the state machine, the submits waiting for their operation
    // // to commit, ...
    // sm: Mutex<S>,
    // SOLUTION END
}

impl<S: StateMachine> Rsm<S> {
    /// Makes the Raft peer for server `me` of `servers` (ends to every server, this one
    /// included, in the same order on every server) and starts the thread that applies
    /// committed operations to `sm`; returns at once.
    ///
    /// If `persister` holds a snapshot, `sm` is first restored from it. With
    /// `maxraftstate >= 0` the rsm snapshots when the persisted Raft state reaches
    /// `maxraftstate` bytes; `-1` never snapshots.
    ///
    /// Call it inside the server's node (`node.enter(|| ...)`) so that Raft's and the rsm's
    /// threads belong to the server.
    pub fn new(servers: Vec<ClientEnd>, me: usize, persister: Persister, maxraftstate: i64, sm: S) -> Rsm<S> {
        // SOLUTION BEGIN
        let mut sm = sm;
        let mut applied = 0;
        let saved = persister.read_snapshot();
        if !saved.is_empty() {
            let snap: Snapshot = postcard::from_bytes(&saved)
                .unwrap_or_else(|e| panic!("rsm {me}: the persisted snapshot does not decode: {e}"));
            sm.restore(&snap.data);
            applied = snap.index;
        }
        // SOLUTION END
        let (apply_tx, apply_rx) = unbounded();
        let raft = Raft::new(servers, me, persister.clone(), apply_tx);
        // SOLUTION BEGIN
        let inner = Arc::new(Inner {
            me,
            raft,
            persister,
            maxraftstate,
            dead: AtomicBool::new(false),
            state: Mutex::new(State {
                sm,
                applied,
                waiters: BTreeMap::new(),
                next_id: labs::rand::random::<u32>() as u64 * 1_000_000,
            }),
        });
        let reader = Arc::clone(&inner);
        labs::thread::spawn("rsm-reader", move || reader.reader(apply_rx));
        Rsm { inner }
        // SOLUTION ELSE
        // let inner = Arc::new(Inner { me, raft, persister, maxraftstate, sm: Mutex::new(sm) });
        // // Your code here (Lab 4A): restore `sm` from the persister's snapshot (4B), and start
        // // a thread that reads `apply_rx` and applies each committed operation.
        // let _ = apply_rx;
        // Rsm { inner }
        // SOLUTION END
    }

    /// Runs `op` through the Raft log and returns what [`StateMachine::apply`] answered for
    /// it. Blocks until the operation is applied here, or until this server is known not to
    /// be able to answer: not the leader, leadership lost, or shut down (see
    /// [`SubmitError`]). A leader cut off from a majority may wait until it learns of a newer
    /// term, that is, until the partition heals.
    pub fn submit(&self, op: S::Op) -> Result<S::Reply, SubmitError> {
        // SOLUTION BEGIN
        let inner = &self.inner;
        if inner.dead.load(Ordering::SeqCst) {
            return Err(SubmitError::Shutdown);
        }
        let (tx, rx) = unbounded();
        let (index, term, id) = {
            // Hold the lock across `start`, so that the reader cannot apply the entry before
            // its waiter is in place. (The reader never holds the lock while it waits on Raft.)
            let mut st = inner.state.lock();
            let id = st.next_id;
            st.next_id += 1;
            let bytes = postcard::to_allocvec(&EntryRef { id, op: &op }).expect("an rsm operation encodes");
            let (index, term) = inner.raft.start(bytes).map_err(|_| SubmitError::NotLeader)?;
            if let Some(old) = st.waiters.insert(index, Waiter { id, tx }) {
                // A submit from an earlier term waited at this index: its entry is gone.
                let _ = old.tx.send(Err(SubmitError::LostLeadership));
            }
            (index, term, id)
        };
        loop {
            match rx.recv_timeout(LEADERSHIP_POLL) {
                Ok(result) => return result,
                Err(RecvTimeoutError::Disconnected) => return Err(SubmitError::Shutdown),
                Err(RecvTimeoutError::Timeout) => {
                    let lost = if inner.dead.load(Ordering::SeqCst) {
                        Some(SubmitError::Shutdown)
                    } else {
                        let (now, leader) = inner.raft.state();
                        (now != term || !leader).then_some(SubmitError::LostLeadership)
                    };
                    if let Some(e) = lost {
                        let mut st = inner.state.lock();
                        if st.waiters.get(&index).is_some_and(|w| w.id == id) {
                            st.waiters.remove(&index);
                        }
                        drop(st);
                        // The reader may have answered in the meantime.
                        return rx.try_recv().unwrap_or(Err(e));
                    }
                }
            }
        }
        // SOLUTION ELSE
        // let _ = op;
        // todo!("Lab 4A: start the operation in Raft and wait until it is applied, or until this server loses leadership")
        // SOLUTION END
    }

    /// The Raft peer (to register its service on the server, and to ask it for its state).
    pub fn raft(&self) -> &Raft {
        &self.inner.raft
    }

    /// This server's index.
    pub fn me(&self) -> usize {
        self.inner.me
    }

    /// Runs `f` on the state machine (behind the rsm's lock): how a tester looks at a
    /// replica's state.
    pub fn with_state<R>(&self, f: impl FnOnce(&S) -> R) -> R {
        // SOLUTION BEGIN
        f(&self.inner.state.lock().sm)
        // SOLUTION ELSE
        // f(&self.inner.sm.lock())
        // SOLUTION END
    }

    /// Shuts this server down: kills the Raft peer, stops applying operations, and makes
    /// every pending [`Rsm::submit`] return [`SubmitError::Shutdown`].
    pub fn kill(&self) {
        self.inner.raft.kill();
        // SOLUTION BEGIN
        self.inner.dead.store(true, Ordering::SeqCst);
        let waiters = std::mem::take(&mut self.inner.state.lock().waiters);
        for (_, w) in waiters {
            let _ = w.tx.send(Err(SubmitError::Shutdown));
        }
        // SOLUTION END
    }

    /// Whether [`Rsm::kill`] was called (or the server stopped applying operations).
    pub fn killed(&self) -> bool {
        // SOLUTION BEGIN
        self.inner.dead.load(Ordering::SeqCst) || self.inner.raft.killed()
        // SOLUTION ELSE
        // self.inner.raft.killed()
        // SOLUTION END
    }

    /// The bytes of Raft state this server has persisted, and the `maxraftstate` it
    /// snapshots at.
    pub fn raft_state_size(&self) -> (usize, i64) {
        (self.inner.persister.raft_state_size(), self.inner.maxraftstate)
    }
}

// SOLUTION BEGIN
impl<S: StateMachine> Inner<S> {
    /// The reader thread: applies what Raft commits, answers the waiting submits, and
    /// snapshots when the Raft state grows too big. Ends when Raft closes the apply channel
    /// (or the rsm is killed).
    fn reader(self: Arc<Self>, apply_rx: Receiver<ApplyMsg>) {
        /// Marks the rsm dead when the reader ends, however it ends (even unwinding because
        /// its node was killed), so that waiting submits return.
        struct Stop<'a, S: StateMachine>(&'a Inner<S>);
        impl<S: StateMachine> Drop for Stop<'_, S> {
            fn drop(&mut self) {
                self.0.dead.store(true, Ordering::SeqCst);
                // An unwinding thread must not wait for a lock (it cannot let the holder run);
                // the waiters notice `dead` within LEADERSHIP_POLL anyway.
                let st = if std::thread::panicking() {
                    self.0.state.try_lock()
                } else {
                    Some(self.0.state.lock())
                };
                if let Some(mut st) = st {
                    for (_, w) in std::mem::take(&mut st.waiters) {
                        let _ = w.tx.send(Err(SubmitError::Shutdown));
                    }
                }
            }
        }
        let _stop = Stop(&*self);
        loop {
            let msg = match apply_rx.recv_timeout(READER_IDLE) {
                Ok(msg) => msg,
                Err(RecvTimeoutError::Timeout) => {
                    if self.dead.load(Ordering::SeqCst) || labs::thread::killed() {
                        return;
                    }
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => return,
            };
            if self.dead.load(Ordering::SeqCst) {
                return;
            }
            match msg {
                ApplyMsg::Command { index, command } => self.apply_command(index, &command),
                ApplyMsg::Snapshot { index, data, .. } => self.install_snapshot(index, &data),
            }
        }
    }

    fn apply_command(&self, index: u64, command: &[u8]) {
        let mut st = self.state.lock();
        if index <= st.applied {
            // Already in the state (a snapshot covered it).
            return;
        }
        if index != st.applied + 1 {
            panic!(
                "rsm {}: Raft delivered the command at index {index} after index {}: commands must \
                 come in log order, without gaps",
                self.me, st.applied
            );
        }
        let entry: Entry<S::Op> = postcard::from_bytes(command).unwrap_or_else(|e| {
            panic!("rsm {}: the command at index {index} is not an rsm operation: {e}", self.me)
        });
        let reply = st.sm.apply(entry.op);
        st.applied = index;
        if let Some(w) = st.waiters.remove(&index) {
            let answer = if w.id == entry.id { Ok(reply) } else { Err(SubmitError::LostLeadership) };
            let _ = w.tx.send(answer);
        }
        // Waiters at lower indices cannot exist (each index is applied once, in order), so
        // only the term check can still fail the others.
        let snapshot = (self.maxraftstate >= 0
            && self.persister.raft_state_size() as i64 >= self.maxraftstate)
            .then(|| Snapshot { index, data: st.sm.snapshot() });
        drop(st);
        if let Some(s) = snapshot {
            let bytes = postcard::to_allocvec(&s).expect("a snapshot encodes");
            self.raft.snapshot(index, bytes);
        }
    }

    fn install_snapshot(&self, index: u64, data: &[u8]) {
        let mut st = self.state.lock();
        if index <= st.applied {
            return;
        }
        let snap: Snapshot = postcard::from_bytes(data).unwrap_or_else(|e| {
            panic!("rsm {}: the snapshot Raft delivered for index {index} does not decode: {e}", self.me)
        });
        if snap.index != index {
            panic!(
                "rsm {}: Raft delivered a snapshot for index {index} that holds the state at index {}",
                self.me, snap.index
            );
        }
        st.sm.restore(&snap.data);
        st.applied = index;
        // Submits waiting at covered indices cannot learn what became of their entries.
        let later = st.waiters.split_off(&(index + 1));
        let covered = std::mem::replace(&mut st.waiters, later);
        drop(st);
        for (_, w) in covered {
            let _ = w.tx.send(Err(SubmitError::LostLeadership));
        }
    }
}
// SOLUTION END

#[cfg(test)]
mod tests {
    use labrpc::{Network, Server};
    use labs::persister::Persister;
    use labs::sync::{RecvTimeoutError, unbounded};
    use labs::time::Duration;
    use labs::world::World;
    use raft::Raft;

    labs::lab_test! {
        /// The rsm relies on it: once a Raft peer is killed, its apply channel closes (every
        /// sender is dropped), so that the reader, and with it every pending submit, learns
        /// of the shutdown.
        fn raft_kill_closes_apply_channel() {
            let net = Network::new();
            let node = World::current().node("server-0");
            let end = net.make_end("e0");
            net.connect("e0", "server-0");
            net.enable("e0", true);
            let (tx, rx) = unbounded();
            let rf = node.enter(|| Raft::new(vec![end], 0, Persister::new(), tx));
            let server = Server::new(&node);
            server.add_service(rf.service());
            net.add_server("server-0", server);
            // A single peer leads by itself and commits at once.
            labs::time::sleep(Duration::from_secs(2));
            assert!(rf.state().1, "a single peer should lead");
            let (index, _) = rf.start(vec![1, 2, 3]).expect("the leader takes a command");
            match rx.recv_timeout(Duration::from_secs(2)) {
                Ok(raft::ApplyMsg::Command { index: i, .. }) => assert_eq!(i, index),
                other => panic!("expected the command at index {index}, got {other:?}"),
            }
            rf.kill();
            match rx.recv_timeout(Duration::from_secs(2)) {
                Err(RecvTimeoutError::Disconnected) => {}
                other => panic!("after Raft::kill the apply channel should close within 2 s, got {other:?}"),
            }
            node.kill();
            net.cleanup();
        }
    }
}
