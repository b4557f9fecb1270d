//! The context: which world the calling code runs in, and (under real) which node. Everything
//! in the runtime above the scheduler calls into this module to find its world; it calls up
//! into nothing.
//!
//! Under sim all of a world's simulated threads run on one OS thread, the executor, which
//! installs the world's context once; which simulated thread is running, and so its node, is
//! the scheduler's `current`. Under real each OS thread installs its own context with its node.

use crate::failure::Failure;
use crate::node::Node;
use crate::sim::Sim;
use parking_lot::Mutex;
use rand::rngs::SmallRng;
use report::events::Event;
use std::cell::{Cell, RefCell};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

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

/// A world's event log. Bounded, so that a runaway test cannot exhaust memory: past the cap
/// later events are counted, not kept.
#[derive(Default)]
pub(crate) struct EventLog {
    events: Mutex<Vec<Event>>,
    dropped: AtomicU64,
}

/// Most events kept per run.
const MAX_EVENTS: usize = 2_000_000;

impl EventLog {
    pub(crate) fn push(&self, e: Event) {
        let mut v = self.events.lock();
        if v.len() < MAX_EVENTS {
            v.push(e);
        } else {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
    pub(crate) fn all(&self) -> Vec<Event> {
        self.events.lock().clone()
    }
    pub(crate) fn take(&self) -> Vec<Event> {
        std::mem::take(&mut *self.events.lock())
    }
}
