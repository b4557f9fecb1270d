//! Structured events of one run, on the world's clock, for failure reports and log viewers.
//!
//! The runtime and labrpc record what happens (every RPC and its fate, crashes, partitions),
//! servers report their state (role, term, commit index) through [`node_state`], and `tracing`
//! lines from lab code are captured with their node (see [`crate::logging`]). Recording never
//! yields to the scheduler, so turning reports on does not change a seed's run.

use crate::context::{self, quiet_now, with_ctx};
pub use report::events::{Event, EventKind, RpcFate};

/// The world's clock in nanoseconds, read without yielding to the scheduler (for timestamps).
pub fn now() -> u64 {
    quiet_now()
}

/// Records `kind` on the calling thread's node at the current time. Does nothing outside a
/// world.
pub fn record(kind: EventKind) {
    record_at(quiet_now(), kind);
}

/// Records `kind` on the calling thread's node (or the node it acts for) as of time `t` (from
/// [`now`]).
pub fn record_at(t: u64, kind: EventKind) {
    with_ctx(|c| {
        if let (Some(ctx), Some(node)) = (c, context::spawn_node()) {
            ctx.world.events.push(Event { t, node: node.name().to_string(), kind });
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

/// What a run recorded, counted exactly however many of its events the log could keep (see
/// [`crate::world::Outcome::events`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EventCounts {
    /// Events recorded.
    pub recorded: u64,
    /// RPC events recorded (one per RPC sent).
    pub rpcs: u64,
    /// Client operation events recorded.
    pub ops: u64,
    /// Events recorded but not kept: the log keeps the first and the last events within a
    /// memory budget and marks the gap with a note.
    pub dropped: u64,
    /// About the memory the kept events take, in bytes.
    pub kept_bytes: u64,
}

/// The current world's event counts so far (all zero outside a world).
pub fn counts() -> EventCounts {
    with_ctx(|c| c.map(|ctx| ctx.world.events.counts()).unwrap_or_default())
}

/// The current world's events kept so far (empty outside a world): all of them, or, past the
/// log's memory budget, the first and the last with a note on the gap (see [`counts`]).
pub fn snapshot() -> Vec<Event> {
    with_ctx(|c| c.map(|ctx| ctx.world.events.all()).unwrap_or_default())
}
