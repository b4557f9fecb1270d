//! The context: which world the calling code runs in, and (under real) which node. Everything
//! in the runtime above the scheduler calls into this module to find its world; it calls up
//! into nothing.
//!
//! Under sim all of a world's simulated threads run on one OS thread, the executor, which
//! installs the world's context once; which simulated thread is running, and so its node, is
//! the scheduler's `current`. Under real each OS thread installs its own context with its node.

use crate::events::EventCounts;
use crate::failure::Failure;
use crate::node::Node;
use crate::sim::Sim;
use parking_lot::Mutex;
use rand::rngs::SmallRng;
use report::events::{Event, EventKind};
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize};

/// One world's shared state.
pub(crate) struct WorldInner {
    pub(crate) seed: u64,
    pub(crate) sim: Option<Sim>,
    pub(crate) real_rng: Mutex<SmallRng>,
    pub(crate) real_failure: Mutex<Option<Failure>>,
    pub(crate) nodes: Mutex<Vec<Node>>,
    pub(crate) next_node: AtomicUsize,
    pub(crate) events: EventLog,
    pub(crate) started: std::time::Instant,
    /// What to run once the world has ended (see `World::at_end`).
    pub(crate) at_end: Mutex<Vec<Box<dyn FnOnce() + Send>>>,
    /// The world's file system (see [`crate::fs`]).
    pub(crate) fs: crate::fs::Store,
    /// Threads spawned in this world (the main thread not counted), for the run's statistics.
    pub(crate) threads_spawned: AtomicU64,
}

impl WorldInner {
    /// Fails the run: under sim the world ends at once; under real the first failure is kept
    /// and reported when the test body returns.
    pub(crate) fn fail(&self, failure: Failure) {
        match &self.sim {
            Some(sim) => sim.fail(failure),
            None => {
                let mut slot = self.real_failure.lock();
                if slot.is_none() {
                    *slot = Some(failure);
                }
            }
        }
    }
}

/// A real (OS) thread's node, and the node its new threads join.
pub(crate) struct RealThread {
    pub(crate) node: Node,
    /// `node`, or another inside [`crate::Node::enter`].
    pub(crate) spawn_node: RefCell<Node>,
}

/// What the calling OS thread runs in.
pub(crate) struct Ctx {
    pub(crate) world: Arc<WorldInner>,
    /// `None` on a sim executor, whose running thread the scheduler knows.
    pub(crate) real: Option<RealThread>,
}

impl Ctx {
    /// The context of a real thread of `node`.
    pub(crate) fn real(world: Arc<WorldInner>, node: Node) -> Ctx {
        Ctx { world, real: Some(RealThread { spawn_node: RefCell::new(node.clone()), node }) }
    }
    /// The context of a sim world's executor thread.
    pub(crate) fn executor(world: Arc<WorldInner>) -> Ctx {
        Ctx { world, real: None }
    }
}

thread_local! {
    /// The calling OS thread's context. The pointee is owned by the thread's entry function,
    /// which keeps it alive (and unmoved) until it clears the installation.
    static CTX: Cell<*const Ctx> = const { Cell::new(std::ptr::null()) };
}

/// Runs `f` with the calling thread's context, if it runs in a world.
#[inline]
pub(crate) fn with_ctx<R>(f: impl FnOnce(Option<&Ctx>) -> R) -> R {
    let p = CTX.with(Cell::get);
    // SAFETY: a non-null pointer is installed only by `install`, whose caller keeps the Ctx
    // alive until it clears the installation.
    f(unsafe { p.as_ref() })
}

/// Makes `ctx` the calling thread's context until [`clear`]. The caller keeps `ctx` alive and
/// unmoved until then.
pub(crate) fn install(ctx: &Ctx) {
    CTX.with(|c| c.set(ctx));
}

/// Clears the calling thread's context.
pub(crate) fn clear() {
    CTX.with(|c| c.set(std::ptr::null()));
}

/// Runs `f(sim)` if the calling code runs in a simulated world, else returns `None`.
#[inline]
pub(crate) fn with_sim<R>(f: impl FnOnce(&Sim) -> R) -> Option<R> {
    with_ctx(|c| c.and_then(|ctx| ctx.world.sim.as_ref().map(f)))
}

/// The calling thread's world, if any.
pub(crate) fn world() -> Option<Arc<WorldInner>> {
    with_ctx(|c| c.map(|c| c.world.clone()))
}

/// A scheduling point under sim; nothing under real.
#[inline]
pub(crate) fn yield_point() {
    with_sim(Sim::yield_now);
}

/// The node the calling thread's new threads join: its own, or the one it acts for inside
/// [`crate::Node::enter`].
pub(crate) fn spawn_node() -> Option<Node> {
    with_ctx(|c| {
        let c = c?;
        match (&c.world.sim, &c.real) {
            (Some(sim), _) => sim.current_spawn_node(),
            (None, Some(r)) => Some(r.spawn_node.borrow().clone()),
            (None, None) => None,
        }
    })
}

/// Makes `node` the calling thread's spawn node; returns the previous one (`None` outside a
/// world).
pub(crate) fn replace_spawn_node(node: Node) -> Option<Node> {
    with_ctx(|c| {
        let c = c?;
        match (&c.world.sim, &c.real) {
            (Some(sim), _) => sim.replace_spawn_node(node),
            (None, Some(r)) => Some(r.spawn_node.replace(node)),
            (None, None) => None,
        }
    })
}

/// Whether the calling thread's node, or the node it acts for, has been killed.
pub(crate) fn killed() -> bool {
    with_ctx(|c| match c {
        None => false,
        Some(c) => match (&c.world.sim, &c.real) {
            (Some(sim), _) => sim.current_killed(),
            (None, Some(r)) => r.node.is_killed() || r.spawn_node.borrow().is_killed(),
            (None, None) => false,
        },
    })
}

/// The world's clock in nanoseconds, read without yielding (0 outside a world).
pub(crate) fn quiet_now() -> u64 {
    with_ctx(|c| match c {
        Some(ctx) => match &ctx.world.sim {
            Some(sim) => sim.now(),
            None => ctx.world.started.elapsed().as_nanos() as u64,
        },
        None => 0,
    })
}

/// A world's event log. Bounded by bytes, so that a flood of events cannot exhaust memory: it
/// keeps the first [`HEAD_BYTES`] of events (how the run began) and the last [`TAIL_BYTES`] (how
/// it ended, which is what a failure report is read for), drops the middle, and puts a note where
/// the gap is. The counts of events, RPCs and operations are kept apart and stay exact however
/// much is dropped. Recording takes one lock and makes no runtime call, so it never changes a
/// seed's schedule.
pub(crate) struct EventLog {
    inner: Mutex<LogInner>,
    head_budget: usize,
    tail_budget: usize,
}

/// Most bytes of events kept from the start of a run (about 600 000 RPC events).
pub(crate) const HEAD_BYTES: usize = 128 << 20;
/// Most bytes of events kept from the end of a run, once the head is full.
pub(crate) const TAIL_BYTES: usize = 64 << 20;

#[derive(Default)]
struct LogInner {
    head: Vec<Event>,
    head_bytes: usize,
    tail: VecDeque<Event>,
    tail_bytes: usize,
    counts: EventCounts,
    /// Earliest and latest time of the dropped events.
    gap: Option<(u64, u64)>,
}

impl Default for EventLog {
    fn default() -> EventLog {
        EventLog::with_budget(HEAD_BYTES, TAIL_BYTES)
    }
}

impl EventLog {
    /// A log that keeps `head` bytes of the first events and `tail` bytes of the last.
    pub(crate) fn with_budget(head: usize, tail: usize) -> EventLog {
        EventLog { inner: Mutex::new(LogInner::default()), head_budget: head, tail_budget: tail }
    }

    pub(crate) fn push(&self, e: Event) {
        let bytes = event_bytes(&e);
        let mut g = self.inner.lock();
        let l = &mut *g;
        l.counts.recorded += 1;
        match e.kind {
            EventKind::Rpc { .. } => l.counts.rpcs += 1,
            EventKind::Op { .. } => l.counts.ops += 1,
            _ => {}
        }
        if l.tail.is_empty() && l.head_bytes + bytes <= self.head_budget {
            l.head_bytes += bytes;
            l.head.push(e);
            return;
        }
        l.tail_bytes += bytes;
        l.tail.push_back(e);
        while l.tail_bytes > self.tail_budget {
            let Some(old) = l.tail.pop_front() else { break };
            l.tail_bytes -= event_bytes(&old);
            l.counts.dropped += 1;
            l.gap = Some(match l.gap {
                None => (old.t, old.t),
                Some((a, b)) => (a.min(old.t), b.max(old.t)),
            });
        }
    }

    /// The exact counts so far, and the bytes of the events kept.
    pub(crate) fn counts(&self) -> EventCounts {
        let l = self.inner.lock();
        EventCounts { kept_bytes: (l.head_bytes + l.tail_bytes) as u64, ..l.counts }
    }

    /// The events kept so far: the head, the note on the gap (if any), the tail.
    pub(crate) fn all(&self) -> Vec<Event> {
        let l = self.inner.lock();
        let mut out = Vec::with_capacity(l.head.len() + l.tail.len() + 1);
        out.extend(l.head.iter().cloned());
        out.extend(self.gap_note(&l));
        out.extend(l.tail.iter().cloned());
        out
    }

    /// Takes the events kept (as [`EventLog::all`]), leaving the log empty but its counts.
    pub(crate) fn take(&self) -> Vec<Event> {
        let mut l = self.inner.lock();
        let note = self.gap_note(&l);
        let mut out = std::mem::take(&mut l.head);
        out.reserve_exact(l.tail.len() + 1);
        out.extend(note);
        out.extend(std::mem::take(&mut l.tail));
        l.head_bytes = 0;
        l.tail_bytes = 0;
        l.gap = None;
        out
    }

    fn gap_note(&self, l: &LogInner) -> Option<Event> {
        let (from, to) = l.gap?;
        let c = &l.counts;
        let text = format!(
            "event log: {} events recorded between {:.3} s and {:.3} s were dropped to bound memory \
             ({} of {} events kept: the first {} MiB and the last {} MiB). The run's counts of \
             RPCs ({}) and operations ({}) are exact",
            c.dropped,
            from as f64 / 1e9,
            to as f64 / 1e9,
            c.recorded - c.dropped,
            c.recorded,
            self.head_budget >> 20,
            self.tail_budget >> 20,
            c.rpcs,
            c.ops
        );
        Some(Event { t: from, node: "tester".into(), kind: EventKind::Note { text } })
    }
}

/// About the memory one event takes in the log: its slot, and each string's heap block
/// (glibc's chunks: the length plus 8, rounded up to 16, at least 32).
pub(crate) fn event_bytes(e: &Event) -> usize {
    fn s(x: &String) -> usize {
        if x.capacity() == 0 { 0 } else { (x.capacity() + 8).next_multiple_of(16).max(32) }
    }
    let strings = match &e.kind {
        EventKind::Rpc { to, method, .. } => s(to) + s(method),
        EventKind::Crash | EventKind::Start => 0,
        EventKind::Fault { what } => s(what),
        EventKind::State { role, .. } => s(role),
        EventKind::Log { level, target, message } => s(level) + s(target) + s(message),
        EventKind::Op { desc, .. } => s(desc),
        EventKind::Note { text } | EventKind::Verdict { text, .. } => s(text),
    };
    size_of::<Event>() + s(&e.node) + strings
}

#[cfg(test)]
mod tests {
    use super::*;
    use report::events::RpcFate;

    fn rpc(t: u64) -> Event {
        Event {
            t,
            node: "server-1".into(),
            kind: EventKind::Rpc {
                to: "server-2".into(),
                method: "Raft.AppendEntries".into(),
                done: t + 1,
                fate: RpcFate::Delivered,
                bytes: 100,
                delayed: false,
            },
        }
    }

    fn op(t: u64) -> Event {
        Event {
            t,
            node: "tester".into(),
            kind: EventKind::Op { client: 1, ret: Some(t + 1), desc: "put".into() },
        }
    }

    /// Past its budget the log keeps the first and the last events, says what it dropped, and
    /// its counts of events, RPCs and operations stay exact.
    #[test]
    fn log_keeps_head_and_tail_and_counts_exactly() {
        let per = event_bytes(&rpc(0));
        let log = EventLog::with_budget(10 * per, 5 * per);
        for t in 0..1000 {
            log.push(if t % 2 == 0 { rpc(t) } else { op(t) });
        }
        let c = log.counts();
        assert_eq!((c.recorded, c.rpcs, c.ops), (1000, 500, 500), "counts must not depend on the cap");
        let kept = log.all();
        let ts: Vec<u64> =
            kept.iter().filter(|e| !matches!(e.kind, EventKind::Note { .. })).map(|e| e.t).collect();
        assert_eq!(&ts[..10], &(0..10).collect::<Vec<_>>()[..], "the first events are kept");
        assert_eq!(ts.last(), Some(&999), "the last event is kept");
        assert!(ts.len() >= 15 && ts.len() <= 16, "about 15 events fit the budget, {} kept", ts.len());
        assert_eq!(c.dropped, 1000 - ts.len() as u64);
        assert!(
            c.kept_bytes as usize <= 15 * per,
            "{} bytes kept for a budget of {}",
            c.kept_bytes,
            15 * per
        );
        let notes: Vec<&Event> = kept.iter().filter(|e| matches!(e.kind, EventKind::Note { .. })).collect();
        assert_eq!(notes.len(), 1, "one note marks the gap");
        let EventKind::Note { text } = &notes[0].kind else { unreachable!() };
        assert!(text.contains(&format!("{} events", c.dropped)) && text.contains("RPCs (500)"), "{text}");
        assert_eq!(notes[0].t, 10, "the note sits at the first dropped event");
        assert_eq!(kept[10].t, 10, "the note sits between the head and the tail");
        assert_eq!(log.take(), kept, "take gives what all gives");
        assert!(log.all().is_empty());
        assert_eq!(log.counts().recorded, 1000, "take keeps the counts");
    }

    /// Under its budget the log keeps everything, in order, with no note.
    #[test]
    fn log_under_budget_keeps_every_event() {
        let log = EventLog::default();
        for t in 0..100 {
            log.push(rpc(t));
        }
        let all = log.all();
        assert_eq!(all.len(), 100);
        assert!(all.iter().enumerate().all(|(i, e)| e.t == i as u64));
        let c = log.counts();
        assert_eq!((c.recorded, c.rpcs, c.ops, c.dropped), (100, 100, 0, 0));
        assert_eq!(c.kept_bytes as usize, 100 * event_bytes(&rpc(0)));
    }

    /// An RPC event's estimate: its slot plus three small strings of 32 bytes each.
    #[test]
    fn rpc_event_bytes_counts_slot_and_strings() {
        assert_eq!(event_bytes(&rpc(0)), size_of::<Event>() + 3 * 32);
    }
}
