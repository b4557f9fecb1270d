//! Structured events of one run, on the world's clock, for failure reports and log viewers.
//!
//! The runtime and labrpc record what happens (every RPC and its fate, crashes, partitions),
//! servers report their state (role, term, commit index) through [`node_state`], and `tracing`
//! lines from lab code are captured with their node (see [`crate::logging`]). Recording never
//! yields to the scheduler, so turning reports on does not change a seed's run.

use crate::world::with_ctx;
use serde::{Deserialize, Serialize};

/// One thing that happened, at virtual (sim) or wall (real) nanoseconds since the world began.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Event {
    /// Nanoseconds since the world's epoch.
    pub t: u64,
    /// The node it happened on (for an RPC: the caller's node).
    pub node: String,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

/// What an RPC came to.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RpcFate {
    /// The handler ran and the reply arrived.
    Delivered,
    /// The unreliable network dropped the request.
    RequestDropped,
    /// The handler ran but the reply was dropped.
    ReplyDropped,
    /// The end was disabled or unconnected, or the server missing.
    Unreachable,
    /// The server was deleted, replaced or cut off while the call was in flight.
    ServerDead,
    /// The call failed for another reason (bad method, undecodable data, a handler panic).
    Error,
}

/// The kinds of events.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// An RPC from `node` to the server node `to`, sent at `t` and finished at `done`.
    Rpc {
        /// The server's node name (or the server's network name if it has none).
        to: String,
        /// `Service.Method`.
        method: String,
        /// When the caller got its answer (ns).
        done: u64,
        /// What became of it.
        fate: RpcFate,
        /// Encoded bytes of the arguments (plus the reply, if delivered).
        bytes: u64,
        /// Whether a long-reordering delay held the reply back.
        delayed: bool,
    },
    /// A node was killed (a crash).
    Crash,
    /// A node was started (a server instance beginning, or restarting under a new node).
    Start,
    /// The network's connectivity changed: `what` says how, e.g. "disconnect server-1".
    Fault {
        /// In words.
        what: String,
    },
    /// A server's protocol state, reported by the server (see [`node_state`]).
    State {
        /// e.g. "leader", "follower", "candidate".
        role: String,
        /// The current term.
        term: u64,
        /// The commit index.
        commit: u64,
    },
    /// A log line from lab code (through `tracing`).
    Log {
        /// "ERROR", "WARN", "INFO", "DEBUG" or "TRACE".
        level: String,
        /// The module that logged it.
        target: String,
        /// The message and fields.
        message: String,
    },
    /// A client operation, from call (`t`) to return.
    Op {
        /// The client's id.
        client: u64,
        /// When it returned (ns), or `None` if its outcome is unknown.
        ret: Option<u64>,
        /// e.g. `get('k') -> 'v'`.
        desc: String,
    },
    /// A tester's note or check result, e.g. "checkOneLeader: leader is server-2".
    Note {
        /// In words.
        text: String,
    },
    /// The linearizability checker's verdict on the run's history.
    Verdict {
        /// Whether the history is linearizable.
        ok: bool,
        /// The explanation, in words.
        text: String,
    },
}

/// The world's clock without yielding (recording must not change the schedule).
pub(crate) fn quiet_now() -> u64 {
    with_ctx(|c| match c {
        Some(ctx) => match &ctx.world.sim {
            Some(sim) => sim.now(),
            None => ctx.world.started.elapsed().as_nanos() as u64,
        },
        None => 0,
    })
}

/// The world's clock in nanoseconds, read without yielding to the scheduler (for timestamps).
pub fn now() -> u64 {
    quiet_now()
}

/// Records `kind` on the calling thread's node at the current time. Does nothing outside a
/// world.
pub fn record(kind: EventKind) {
    record_at(quiet_now(), kind)
}

/// Records `kind` on the calling thread's node as of time `t` (from [`now`]).
pub fn record_at(t: u64, kind: EventKind) {
    with_ctx(|c| {
        if let Some(ctx) = c {
            let node = ctx.spawn_node.borrow().name().to_string();
            ctx.world.events.push(Event { t, node, kind });
        }
    });
}

/// Records `kind` as happening on the node called `node` (e.g. a tester noting a crash).
pub fn record_on(node: &str, kind: EventKind) {
    with_ctx(|c| {
        if let Some(ctx) = c {
            ctx.world.events.push(Event { t: quiet_now(), node: node.to_string(), kind });
        }
    });
}

/// Reports the calling node's protocol state; a report shows it as a per-node track. Students
/// may call it from their own Raft too.
pub fn node_state(role: &str, term: u64, commit: u64) {
    record(EventKind::State { role: role.to_string(), term, commit });
}

/// Adds a tester's note to the run's timeline.
pub fn note(text: impl Into<String>) {
    record(EventKind::Note { text: text.into() });
}

/// The current world's events so far (empty outside a world).
pub fn snapshot() -> Vec<Event> {
    with_ctx(|c| c.map(|ctx| ctx.world.events.all()).unwrap_or_default())
}

/// A world's event log. Bounded, so that a runaway test cannot exhaust memory: past the cap the
/// oldest log lines are kept and later ones counted.
#[derive(Default)]
pub(crate) struct Log {
    events: parking_lot::Mutex<Vec<Event>>,
    dropped: std::sync::atomic::AtomicU64,
}

/// Most events kept per run.
const MAX_EVENTS: usize = 2_000_000;

impl Log {
    pub(crate) fn push(&self, e: Event) {
        let mut v = self.events.lock();
        if v.len() < MAX_EVENTS {
            v.push(e);
        } else {
            self.dropped.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }
    pub(crate) fn all(&self) -> Vec<Event> {
        self.events.lock().clone()
    }
    pub(crate) fn take(&self) -> Vec<Event> {
        std::mem::take(&mut *self.events.lock())
    }
}
