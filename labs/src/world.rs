//! Worlds and nodes: the unit of isolation for one test run.
//!
//! A [`World`] owns a backend (real or sim), a seed, and the nodes of one run. Every thread
//! belongs to a [`Node`] (the tester, a server instance, a client), and a thread inherits its
//! spawner's node. Worlds never share state, so `cargo test`'s parallel test threads can each
//! run their own world without perturbing one another.

use crate::sim::{KillSignal, Sim};
use parking_lot::Mutex;
use rand::{SeedableRng, rngs::SmallRng};
use std::cell::{Cell, RefCell};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

/// Which implementation of the runtime a world uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// OS threads, `parking_lot`, `crossbeam-channel` and the wall clock.
    Real,
    /// The deterministic simulation with virtual time.
    Sim,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Real => "real",
            Backend::Sim => "sim",
        })
    }
}

/// What kind of failure ended a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// A thread panicked (an assertion in the test, or a bug in a server).
    Panic,
    /// No thread could run and no timer was pending.
    Deadlock,
    /// A thread ran too long without reaching a runtime call.
    Spin,
    /// The run exceeded its time limit (120 s by default).
    TimeLimit,
}

/// Why a run failed, in words.
#[derive(Clone, Debug)]
pub struct Failure {
    /// The kind of failure.
    pub kind: FailureKind,
    /// A message for a person: what happened, where, and what to look at.
    pub message: String,
}

impl Failure {
    /// A failure of `kind` with `message`.
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Failure {
        Failure { kind, message: message.into() }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

pub(crate) struct NodeInner {
    id: usize,
    name: String,
    killed: AtomicBool,
}

/// A simulated machine: a set of threads that live and die together.
///
/// Killing a node under sim stops all of its threads for good at their next runtime call (their
/// stacks unwind, so destructors run). Under real, it only sets the killed flag, as in 6.5840,
/// and code is expected to check [`crate::thread::killed`].
#[derive(Clone)]
pub struct Node(pub(crate) Arc<NodeInner>);

impl Node {
    pub(crate) fn detached(name: &str) -> Node {
        Node(Arc::new(NodeInner { id: usize::MAX, name: name.to_string(), killed: AtomicBool::new(false) }))
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
    /// Kills the node. Under sim its threads stop at their next runtime call; under real the
    /// flag is set and its threads are expected to exit on their own.
    pub fn kill(&self) {
        if self.0.killed.swap(true, Ordering::Relaxed) {
            return;
        }
        crate::events::record_on(self.name(), crate::events::EventKind::Crash);
        with_ctx(|c| {
            if let Some(c) = c
                && let Some(sim) = &c.world.sim
            {
                sim.kill_node(self);
            }
        });
        crate::world::yield_point();
    }
    /// Spawns a thread that belongs to this node.
    pub fn spawn<F, T>(&self, name: impl Into<String>, f: F) -> crate::thread::JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        crate::thread::spawn_on(self, name.into(), f)
    }
    /// Runs `f` on the calling thread as if it belonged to this node, so that the threads it
    /// spawns (a server's constructor starting its tickers, say) belong to this node.
    pub fn enter<R>(&self, f: impl FnOnce() -> R) -> R {
        let prev = with_ctx(|c| c.map(|c| c.spawn_node.replace(self.clone())));
        struct Restore(Option<Node>);
        impl Drop for Restore {
            fn drop(&mut self) {
                if let Some(n) = self.0.take() {
                    with_ctx(|c| {
                        if let Some(c) = c {
                            *c.spawn_node.borrow_mut() = n;
                        }
                    });
                }
            }
        }
        let _restore = Restore(prev);
        f()
    }
}

impl fmt::Debug for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Node({})", self.name())
    }
}

pub(crate) struct WorldInner {
    pub(crate) seed: u64,
    pub(crate) sim: Option<Sim>,
    pub(crate) real_rng: Mutex<SmallRng>,
    pub(crate) real_failure: Mutex<Option<Failure>>,
    nodes: Mutex<Vec<Node>>,
    next_node: AtomicUsize,
    pub(crate) events: crate::events::Log,
    pub(crate) started: std::time::Instant,
}

/// A handle to the world the calling thread runs in.
#[derive(Clone)]
pub struct World(pub(crate) Arc<WorldInner>);

impl World {
    /// The world of the calling thread. Panics outside a world (see [`Builder::run`]).
    pub fn current() -> World {
        try_current().expect(
            "not inside a labs world: wrap the test body in labs::lab_test! or World::builder().run(..)",
        )
    }
    /// The seed of this world.
    pub fn seed(&self) -> u64 {
        self.0.seed
    }
    /// Which backend this world runs on.
    pub fn backend(&self) -> Backend {
        if self.0.sim.is_some() { Backend::Sim } else { Backend::Real }
    }
    /// Creates a new node named `name` (names need not be unique; ids are).
    pub fn node(&self, name: impl Into<String>) -> Node {
        let id = self.0.next_node.fetch_add(1, Ordering::Relaxed);
        let n = Node(Arc::new(NodeInner { id, name: name.into(), killed: AtomicBool::new(false) }));
        self.0.nodes.lock().push(n.clone());
        crate::events::record_on(n.name(), crate::events::EventKind::Start);
        n
    }
    /// Fails the run with `message`: under sim the world ends at once (every thread unwinds);
    /// under real the failure is reported when the test body returns.
    pub fn fail(&self, message: impl Into<String>) {
        let f = Failure::new(FailureKind::Panic, message);
        match &self.0.sim {
            Some(sim) => sim.fail(f),
            None => {
                let mut slot = self.0.real_failure.lock();
                if slot.is_none() {
                    *slot = Some(f);
                }
            }
        }
    }
    /// A builder for a world with a given seed and backend.
    pub fn builder() -> Builder {
        Builder::default()
    }
}

/// The calling thread's world, if it runs inside one.
pub fn try_current() -> Option<World> {
    with_ctx(|c| c.map(|c| World(c.world.clone())))
}

/// The per-thread context: which world, which node, which simulated thread.
pub(crate) struct Ctx {
    pub(crate) world: Arc<WorldInner>,
    pub(crate) node: Node,
    /// The node new threads join: `node`, or another inside [`Node::enter`].
    pub(crate) spawn_node: RefCell<Node>,
    pub(crate) tid: usize,
}

impl Ctx {
    pub(crate) fn new(world: Arc<WorldInner>, node: Node, tid: usize) -> Ctx {
        Ctx { world, spawn_node: RefCell::new(node.clone()), node, tid }
    }
}

thread_local! {
    /// The running (simulated or real) thread's context. Under sim many simulated threads share
    /// one OS thread, so each one installs its own context whenever it resumes; the pointee is
    /// owned by that thread's body and outlives every installation.
    static CTX: Cell<*const Ctx> = const { Cell::new(std::ptr::null()) };
}

pub(crate) fn with_ctx<R>(f: impl FnOnce(Option<&Ctx>) -> R) -> R {
    let p = CTX.with(|c| c.get());
    // SAFETY: a non-null pointer is installed only by `install_ctx`, whose caller keeps the Ctx
    // alive until it clears or replaces the installation.
    f(unsafe { p.as_ref() })
}

/// Makes `ctx` the calling thread's context until replaced or cleared. The caller must keep
/// `ctx` alive (and unmoved) while it is installed.
pub(crate) fn install_ctx(ctx: *const Ctx) {
    CTX.with(|c| c.set(ctx));
}

/// Runs `f(sim, tid)` if the calling thread is a simulated thread, else returns `None`.
#[inline]
pub(crate) fn with_sim<R>(f: impl FnOnce(&Sim, usize) -> R) -> Option<R> {
    with_ctx(|c| c.and_then(|ctx| ctx.world.sim.as_ref().map(|s| f(s, ctx.tid))))
}

/// A scheduling point under sim; nothing under real.
pub(crate) fn yield_point() {
    with_sim(|s, me| s.yield_now(me));
}

/// Runs a long, pure computation (a linearizability check, say) without tripping the
/// simulation's spin detector. It may use OS threads inside; it must not use labs primitives.
pub fn compute<R>(f: impl FnOnce() -> R) -> R {
    let sim_on = with_sim(|s, _| s.set_computing(true)).is_some();
    struct Off(bool);
    impl Drop for Off {
        fn drop(&mut self) {
            if self.0 {
                with_sim(|s, _| s.set_computing(false));
            }
        }
    }
    let _off = Off(sim_on);
    f()
}

/// True if a panic payload is the runtime's kill signal. Code that catches panics (a thread
/// pool, say) must re-raise such payloads with `std::panic::resume_unwind`.
pub fn is_kill_signal(payload: &(dyn std::any::Any + Send)) -> bool {
    payload.is::<KillSignal>()
}

/// The text of a panic payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".into()
    }
}

/// Prints a simulated thread's panic as `thread 'applier' of node 'server-2' panicked at ...`
/// (all of a world's simulated threads share one OS thread, whose name would say nothing).
fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let who = with_ctx(|c| {
                c.filter(|c| c.world.sim.is_some()).map(|c| {
                    let name = c.world.sim.as_ref().map(|s| s.thread_name(c.tid)).unwrap_or_default();
                    format!("thread '{name}' of node '{}'", c.node.name())
                })
            });
            match who {
                Some(who) => {
                    let loc =
                        info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
                    eprintln!(
                        "{who} panicked{loc}:\n{}",
                        info.payload_as_str().unwrap_or("(non-string panic payload)")
                    );
                }
                None => previous(info),
            }
        }));
    });
}

/// Settings for one run of a world.
#[derive(Clone, Debug)]
pub struct Builder {
    seed: u64,
    backend: Backend,
    time_limit: Duration,
    spin_limit: Duration,
    trace: bool,
}

impl Default for Builder {
    fn default() -> Self {
        let spin_ms = std::env::var("LAB_SPIN_LIMIT_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(5_000);
        Builder {
            seed: 0,
            backend: Backend::Sim,
            time_limit: Duration::from_secs(120),
            spin_limit: Duration::from_millis(spin_ms),
            trace: false,
        }
    }
}

/// What a run produced.
#[derive(Debug)]
pub struct Outcome {
    /// The seed the run used.
    pub seed: u64,
    /// The backend the run used.
    pub backend: Backend,
    /// `Ok` or the first failure.
    pub result: Result<(), Failure>,
    /// A digest of every scheduling decision and random draw (sim only; 0 under real).
    pub digest: u64,
    /// Virtual time at the end of the run (sim), or wall time (real).
    pub elapsed: Duration,
    /// Scheduling steps taken (sim only).
    pub steps: u64,
    /// Per-step (thread, virtual time) when tracing was asked for.
    pub trace: Option<Vec<(u32, u64)>>,
    /// Thread descriptions by id, for reading a trace.
    pub thread_names: Vec<String>,
    /// Everything recorded during the run (see [`crate::events`]).
    pub events: Vec<crate::events::Event>,
}

impl Builder {
    /// Uses seed `seed`.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Uses `backend`.
    pub fn backend(mut self, backend: Backend) -> Self {
        self.backend = backend;
        self
    }
    /// Fails the run when it exceeds `limit` (virtual under sim, wall under real).
    pub fn time_limit(mut self, limit: Duration) -> Self {
        self.time_limit = limit;
        self
    }
    /// Fails a sim run whose running thread makes no runtime call for `limit` of real time.
    pub fn spin_limit(mut self, limit: Duration) -> Self {
        self.spin_limit = limit;
        self
    }
    /// Records every scheduling step (for determinism checks).
    pub fn trace(mut self, on: bool) -> Self {
        self.trace = on;
        self
    }

    /// Runs `body` as the tester node's main thread and waits for the world to end.
    pub fn run<F: FnOnce() + Send + 'static>(self, body: F) -> Outcome {
        crate::logging::install();
        install_panic_hook();
        let world = Arc::new(WorldInner {
            seed: self.seed,
            sim: (self.backend == Backend::Sim)
                .then(|| Sim::new(self.seed, self.time_limit.as_nanos() as u64, self.trace)),
            real_rng: Mutex::new(SmallRng::seed_from_u64(self.seed)),
            real_failure: Mutex::new(None),
            nodes: Mutex::new(Vec::new()),
            next_node: AtomicUsize::new(0),
            events: crate::events::Log::default(),
            started: std::time::Instant::now(),
        });
        let handle = World(world.clone());
        let tester = handle.node("tester");
        let wall = std::time::Instant::now();
        match &world.sim {
            Some(sim) => {
                let w = world.clone();
                let executor = std::thread::Builder::new()
                    .name(format!("sim-seed-{}", self.seed))
                    .spawn(move || crate::sim::run_executor(w, tester, Box::new(body)))
                    .expect("the OS refused to start the simulation thread");
                let spin = sim.wait_done(self.spin_limit, executor);
                let fin = sim.finish();
                Outcome {
                    seed: self.seed,
                    backend: Backend::Sim,
                    result: match spin.or(fin.failure) {
                        Some(f) => Err(f),
                        None => Ok(()),
                    },
                    digest: fin.digest,
                    elapsed: Duration::from_nanos(fin.now),
                    steps: fin.steps,
                    trace: fin.trace,
                    thread_names: fin.thread_names,
                    events: world.events.take(),
                }
            }
            None => {
                let (tx, rx) = std::sync::mpsc::channel();
                let w = world.clone();
                let t = tester.clone();
                let spawned = std::thread::Builder::new().name("tester/main".into()).spawn(move || {
                    let ctx = Ctx::new(w, t, usize::MAX);
                    install_ctx(&ctx);
                    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body));
                    install_ctx(std::ptr::null());
                    let _ = tx.send(r.err().map(|p| panic_message(&*p)));
                });
                let mut result = match spawned {
                    Err(e) => {
                        Err(Failure::new(FailureKind::Panic, format!("could not start the test thread: {e}")))
                    }
                    Ok(_) => match rx.recv_timeout(self.time_limit) {
                        Ok(None) => Ok(()),
                        Ok(Some(msg)) => Err(Failure::new(
                            FailureKind::Panic,
                            format!("thread 'main' of node 'tester' panicked: {msg}"),
                        )),
                        Err(_) => Err(Failure::new(
                            FailureKind::TimeLimit,
                            format!("test took longer than {:.0} seconds", self.time_limit.as_secs_f64()),
                        )),
                    },
                };
                for n in world.nodes.lock().iter() {
                    n.0.killed.store(true, Ordering::Relaxed);
                }
                if let Some(f) = world.real_failure.lock().take()
                    && result.is_ok()
                {
                    result = Err(f);
                }
                Outcome {
                    seed: self.seed,
                    backend: Backend::Real,
                    result,
                    digest: 0,
                    elapsed: wall.elapsed(),
                    steps: 0,
                    trace: None,
                    thread_names: Vec::new(),
                    events: world.events.take(),
                }
            }
        }
    }
}
