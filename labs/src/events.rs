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

/// The current world's events so far (empty outside a world).
pub fn snapshot() -> Vec<Event> {
    with_ctx(|c| c.map(|ctx| ctx.world.events.all()).unwrap_or_default())
}
