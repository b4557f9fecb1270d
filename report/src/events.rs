//! The events of one run: what the runtime, the network, the testers and the servers record, on
//! the run's clock. Serde-only types, so that the report, its viewer and the grader can read a
//! run without linking the runtime that recorded it.

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
