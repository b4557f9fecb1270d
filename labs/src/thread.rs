//! Threads that belong to nodes.
//!
//! [`spawn`] starts a named thread on the caller's node; [`crate::Node::spawn`] starts one on a
//! given node. Under sim each thread is a coroutine that runs only when the scheduler picks it;
//! under real it is a plain OS thread.

use crate::context::{self, Ctx, WorldInner, with_sim};
use crate::failure::{Failure, FailureKind, KillSignal, is_kill_signal, panic_message};
use crate::node::Node;
use parking_lot::{Condvar, Mutex};
use std::panic::Location;
use std::sync::Arc;

/// Why [`JoinHandle::join`] got no value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JoinError {
    /// The thread panicked with this message.
    #[error("thread panicked: {0}")]
    Panicked(String),
    /// The thread's node was killed before the thread finished.
    #[error("thread was killed before it finished")]
    Killed,
}

struct JoinState<T> {
    result: Mutex<Option<Result<T, JoinError>>>,
    cv: Condvar,
}

/// An owned permission to wait for a thread's result.
pub struct JoinHandle<T> {
    state: Arc<JoinState<T>>,
}

impl<T> JoinHandle<T> {
    /// Waits for the thread to finish and returns its result.
    #[track_caller]
    pub fn join(self) -> Result<T, JoinError> {
        let at = Location::caller();
        let key = Arc::as_ptr(&self.state) as *const u8 as usize;
        loop {
            if let Some(r) = self.state.result.lock().take() {
                context::yield_point();
                return r;
            }
            let simulated = with_sim(|s| s.block(&[key], None, "JoinHandle::join", at));
            if simulated == Some(crate::sim::Wake::Killed) {
                return Err(JoinError::Killed);
            }
            if simulated.is_none() {
                let mut g = self.state.result.lock();
                while g.is_none() {
                    self.state.cv.wait(&mut g);
                }
            }
        }
    }
    /// Whether the thread has finished.
    pub fn is_finished(&self) -> bool {
        self.state.result.lock().is_some()
    }
}

/// Spawns a thread named `name` on the calling thread's node.
pub fn spawn<F, T>(name: impl Into<String>, f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let node = context::spawn_node().unwrap_or_else(|| Node::detached("outside"));
    spawn_on(&node, name.into(), f)
}

/// The node the calling thread belongs to (or acts for, inside [`Node::enter`]).
pub fn current_node() -> Option<Node> {
    context::spawn_node()
}

/// Whether the calling thread's node has been killed. Long-running loops under the real backend
/// should check it and return.
pub fn killed() -> bool {
    context::killed()
}

/// Ends the calling thread quietly: its stack unwinds (destructors run) and, unlike a panic,
/// nothing is printed and the test does not fail. For a thread that finds its node killed
/// (under real a kill only sets the flag) deep inside a call it cannot return from.
///
/// # Panics
/// When the calling thread's node has not been killed: ending a live thread quietly would let
/// code under test end the tester's thread as if the test had finished.
#[track_caller]
pub fn exit() -> ! {
    if context::world().is_some() && !context::killed() {
        panic!(
            "labs::thread::exit() was called by a thread whose node is not killed; it is only for \
             a killed node's threads (check labs::thread::killed() first)"
        );
    }
    std::panic::resume_unwind(Box::new(KillSignal))
}

/// A scheduling point: under sim another thread may run; under real, `std::thread::yield_now`.
pub fn yield_now() {
    if with_sim(super::sim::Sim::yield_now).is_none() {
        std::thread::yield_now();
    }
}

pub(crate) fn spawn_on<F, T>(node: &Node, name: String, f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let state = Arc::new(JoinState { result: Mutex::new(None), cv: Condvar::new() });
    let st = state.clone();
    let key = Arc::as_ptr(&state) as *const u8 as usize;
    let k = node.thread_started(Arc::from(name.as_str()));
    let n = node.clone();
    let finish = move |r: Result<T, JoinError>| {
        n.thread_done(k);
        *st.result.lock() = Some(r);
        st.cv.notify_all();
    };
    let world = context::world();
    if let Some(w) = &world {
        w.threads_spawned.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    match world {
        Some(w) if w.sim.is_some() => {
            let name: Arc<str> = Arc::from(name.as_str());
            start_sim_thread_inner(&w, node.clone(), name, f, false, finish, key);
            context::yield_point();
        }
        w => {
            let node = node.clone();
            let os_name = format!("{}/{}", node.name(), name);
            std::thread::Builder::new()
                .name(os_name)
                .spawn(move || {
                    let ctx = w.clone().map(|w| Ctx::real(w, node.clone()));
                    if let Some(c) = &ctx {
                        context::install(c);
                    }
                    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
                    context::clear();
                    match r {
                        Ok(v) => finish(Ok(v)),
                        Err(p) if is_kill_signal(&*p) => finish(Err(JoinError::Killed)),
                        Err(p) => {
                            let msg = panic_message(&*p);
                            if !node.is_killed()
                                && let Some(w) = w
                            {
                                w.fail(Failure::new(
                                    FailureKind::Panic,
                                    format!("thread '{name}' of node '{}' panicked: {msg}", node.name()),
                                ));
                            }
                            finish(Err(JoinError::Panicked(msg)));
                        }
                    }
                })
                .expect("the OS refused to start a thread");
        }
    }
    JoinHandle { state }
}

/// Starts a simulated thread (the world's main thread when `main`, which must be started on
/// the executor's OS thread before it runs).
pub(crate) fn start_sim_thread<F: FnOnce() + Send + 'static>(
    world: &Arc<WorldInner>,
    node: Node,
    name: Arc<str>,
    f: F,
    main: bool,
) {
    start_sim_thread_inner(world, node, name, f, main, |_| {}, 0);
}

fn start_sim_thread_inner<F, T, D>(
    world: &Arc<WorldInner>,
    node: Node,
    name: Arc<str>,
    f: F,
    main: bool,
    done: D,
    key: usize,
) where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
    D: FnOnce(Result<T, JoinError>) + Send + 'static,
{
    let sim = world.sim.as_ref().expect("sim world");
    let tid = sim.add_thread(name.clone(), node.clone(), main);
    let w = world.clone();
    crate::sim::spawn_coroutine(tid, move || {
        let sim = w.sim.as_ref().expect("sim world");
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            sim.check_alive();
            f()
        }));
        let (result, failure) = match r {
            Ok(v) => (Ok(v), None),
            // The test's main thread ends only by returning or panicking: if code under test
            // killed the tester's node, the test did not finish, so it must not pass.
            Err(p) if is_kill_signal(&*p) && main => {
                let f = Failure::new(
                    FailureKind::Panic,
                    format!(
                        "the test's main thread (node '{}') was killed before the test finished: \
                         code under test killed the tester's node",
                        node.name()
                    ),
                );
                (Err(JoinError::Killed), Some(f))
            }
            Err(p) if is_kill_signal(&*p) => (Err(JoinError::Killed), None),
            Err(p) => {
                let msg = panic_message(&*p);
                let f = Failure::new(
                    FailureKind::Panic,
                    format!("thread '{name}' of node '{}' panicked: {msg}", node.name()),
                );
                (Err(JoinError::Panicked(msg)), Some(f))
            }
        };
        done(result);
        sim.exit(failure, key);
    });
}
