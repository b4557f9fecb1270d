//! Worlds and nodes: the unit of isolation for one test run.
//!
//! A [`World`] owns a backend (real or sim), a seed, and the nodes of one run. Every thread
//! belongs to a [`Node`] (the tester, a server instance, a client), and a thread inherits its
//! spawner's node. Worlds never share state, so `cargo test`'s parallel test threads can each
//! run their own world without perturbing one another.

use crate::context::{self, Ctx, EventLog, WorldInner, with_ctx, with_sim};
use crate::sim::Sim;
use parking_lot::Mutex;
use rand::{SeedableRng, rngs::SmallRng};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

pub use crate::failure::{Failure, FailureKind, is_kill_signal, panic_message};
pub use crate::node::Node;

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

impl Node {
    /// Kills the node. Under sim its threads stop at their next runtime call; under real the
    /// flag is set and its threads are expected to exit on their own.
    pub fn kill(&self) {
        if self.mark_killed() {
            return;
        }
        crate::events::record_on(self.name(), crate::events::EventKind::Crash);
        with_sim(|sim| sim.kill_node(self));
        context::yield_point();
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
        struct Restore(Option<Node>);
        impl Drop for Restore {
            fn drop(&mut self) {
                if let Some(n) = self.0.take() {
                    context::replace_spawn_node(n);
                }
            }
        }
        let _restore = Restore(context::replace_spawn_node(self.clone()));
        f()
    }
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
        let n = Node::new(id, name.into());
        self.0.nodes.lock().push(n.clone());
        crate::events::record_on(n.name(), crate::events::EventKind::Start);
        n
    }
    /// Runs `f` once the world has ended, outside it, after every thread of it is done (under
    /// sim) or its test body has returned (under real). Worlds own state that refers to itself
    /// (a network whose servers' handlers hold ends to the network): such state registers here
    /// to let go of itself, so that a process that runs many seeds does not keep every one.
    pub fn at_end(&self, f: impl FnOnce() + Send + 'static) {
        self.0.at_end.lock().push(Box::new(f));
    }
    /// Fails the run with `message`: under sim the world ends at once (every thread unwinds);
    /// under real the failure is reported when the test body returns.
    pub fn fail(&self, message: impl Into<String>) {
        self.0.fail(Failure::new(FailureKind::Panic, message));
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

/// Runs a long, pure computation (a linearizability check, say) without tripping the
/// simulation's spin detector. It may use OS threads inside; it must not use labs primitives.
pub fn compute<R>(f: impl FnOnce() -> R) -> R {
    let sim_on = with_sim(|s| s.set_computing(true)).is_some();
    struct Off(bool);
    impl Drop for Off {
        fn drop(&mut self) {
            if self.0 {
                with_sim(|s| s.set_computing(false));
            }
        }
    }
    let _off = Off(sim_on);
    f()
}

/// Prints a simulated thread's panic as `thread 'applier' of node 'server-2' panicked at ...`
/// (all of a world's simulated threads share one OS thread, whose name would say nothing).
fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let who = with_sim(Sim::describe_current);
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

/// Runs the world's end hooks (see [`World::at_end`]), outside the world.
fn run_at_end(world: &WorldInner) {
    let hooks = std::mem::take(&mut *world.at_end.lock());
    for hook in hooks {
        hook();
    }
}

/// Settings for one run of a world.
#[derive(Clone, Debug)]
pub struct Builder {
    seed: u64,
    backend: Backend,
    time_limit: Duration,
    spin_limit: Duration,
    trace: bool,
    replay: Option<String>,
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
            replay: None,
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
    /// What the run recorded (see [`crate::events`]): every event, or, past the log's memory
    /// budget, the first and the last ones with a note where the others were dropped.
    pub events: Vec<crate::events::Event>,
    /// The exact counts of events, RPCs and operations recorded, and how many were dropped.
    pub event_counts: crate::events::EventCounts,
    /// Threads spawned during the run (the test's main thread not counted).
    pub threads: u64,
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
    /// The command that replays this run, for the reports the runtime prints itself when it
    /// must end the process (a simulated thread's stack overflow).
    pub fn replay(mut self, command: impl Into<String>) -> Self {
        self.replay = Some(command.into());
        self
    }

    /// Runs `body` as the tester node's main thread and waits for the world to end.
    pub fn run<F: FnOnce() + Send + 'static>(self, body: F) -> Outcome {
        crate::logging::install();
        install_panic_hook();
        let world = Arc::new(WorldInner {
            seed: self.seed,
            sim: (self.backend == Backend::Sim).then(|| {
                Sim::new(self.seed, self.time_limit.as_nanos() as u64, self.trace, self.replay.clone())
            }),
            real_rng: Mutex::new(SmallRng::seed_from_u64(self.seed)),
            real_failure: Mutex::new(None),
            nodes: Mutex::new(Vec::new()),
            next_node: AtomicUsize::new(0),
            events: EventLog::default(),
            at_end: Mutex::new(Vec::new()),
            started: std::time::Instant::now(),
            fs: Default::default(),
            threads_spawned: std::sync::atomic::AtomicU64::new(0),
        });
        let handle = World(world.clone());
        let tester = handle.node("tester");
        let wall = std::time::Instant::now();
        match &world.sim {
            Some(sim) => {
                let w = world.clone();
                let executor = std::thread::Builder::new()
                    .name(format!("sim-seed-{}", self.seed))
                    .spawn(move || {
                        let ctx = Ctx::executor(w.clone());
                        context::install(&ctx);
                        crate::thread::start_sim_thread(&w, tester, Arc::from("main"), body, true);
                        crate::sim::run_executor(w.sim.as_ref().expect("sim world"));
                        context::clear();
                    })
                    .expect("the OS refused to start the simulation thread");
                let spin = sim.wait_done(self.spin_limit, executor);
                if spin.is_none() {
                    // (A stuck executor still runs lab code: leave its world alone.)
                    run_at_end(&world);
                }
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
                    event_counts: world.events.counts(),
                    events: world.events.take(),
                    threads: world.threads_spawned.load(Ordering::Relaxed),
                }
            }
            None => {
                let (tx, rx) = std::sync::mpsc::channel();
                let w = world.clone();
                let t = tester.clone();
                let spawned = std::thread::Builder::new().name("tester/main".into()).spawn(move || {
                    let ctx = Ctx::real(w, t);
                    context::install(&ctx);
                    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body));
                    context::clear();
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
                    n.mark_killed();
                }
                run_at_end(&world);
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
                    event_counts: world.events.counts(),
                    events: world.events.take(),
                    threads: world.threads_spawned.load(Ordering::Relaxed),
                }
            }
        }
    }
}
