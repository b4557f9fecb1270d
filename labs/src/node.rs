//! Nodes: the simulated machines that threads belong to. A leaf: the scheduler and the context
//! both name nodes, so the type sits below them; what a node *does* (kill, spawn, enter) is
//! implemented in [`crate::world`].

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

pub(crate) struct NodeInner {
    pub(crate) id: usize,
    pub(crate) name: String,
    pub(crate) killed: AtomicBool,
    /// The node's threads that have not finished, by spawn number.
    pub(crate) live: parking_lot::Mutex<BTreeMap<u64, Arc<str>>>,
    pub(crate) spawned: AtomicU64,
}

/// A simulated machine: a set of threads that live and die together.
///
/// Killing a node under sim stops all of its threads for good at their next runtime call (their
/// stacks unwind, so destructors run). Under real, it only sets the killed flag, as in 6.5840,
/// and code is expected to check [`crate::thread::killed`].
#[derive(Clone)]
pub struct Node(pub(crate) Arc<NodeInner>);

impl Node {
    pub(crate) fn new(id: usize, name: String) -> Node {
        Node(Arc::new(NodeInner {
            id,
            name,
            killed: AtomicBool::new(false),
            live: parking_lot::Mutex::new(BTreeMap::new()),
            spawned: AtomicU64::new(0),
        }))
    }
    pub(crate) fn detached(name: &str) -> Node {
        Node::new(usize::MAX, name.to_string())
    }
    /// The node's name, e.g. `server-2`.
    pub fn name(&self) -> &str {
        &self.0.name
    }
    /// The node's id, unique within its world.
    pub fn id(&self) -> usize {
        self.0.id
    }
    /// Whether the node has been killed.
    pub fn is_killed(&self) -> bool {
        self.0.killed.load(Ordering::Relaxed)
    }
    /// The names of the node's threads that are still running (or blocked), in the order
    /// they were spawned. A tester uses it to check that a killed server's threads end.
    pub fn live_threads(&self) -> Vec<String> {
        self.0.live.lock().values().map(ToString::to_string).collect()
    }
    /// Registers a thread of this node; returns its number for [`Node::thread_done`].
    pub(crate) fn thread_started(&self, name: Arc<str>) -> u64 {
        let k = self.0.spawned.fetch_add(1, Ordering::Relaxed);
        self.0.live.lock().insert(k, name);
        k
    }
    /// Unregisters the thread numbered `k`.
    pub(crate) fn thread_done(&self, k: u64) {
        self.0.live.lock().remove(&k);
    }
    /// Sets the killed flag; true if it was already set.
    pub(crate) fn mark_killed(&self) -> bool {
        self.0.killed.swap(true, Ordering::Relaxed)
    }
}

impl fmt::Debug for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Node({})", self.name())
    }
}
