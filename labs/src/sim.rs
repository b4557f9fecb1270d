//! The deterministic scheduler behind the `sim` backend.
//!
//! Every simulated thread is a stackful coroutine, and all of a world's coroutines run on one OS
//! thread, the executor, one at a time. At each runtime call the running thread asks the
//! scheduler who runs next, and the world's seeded RNG decides among the runnable threads, so
//! one seed replays one interleaving; a switch is a coroutine suspend and resume (nanoseconds,
//! where handing a baton between OS threads costs microseconds).
//! The clock is virtual: it moves by a small fixed cost per runtime call and per byte of work
//! between calls (see [`Sim::charge`]), and jumps to the earliest timer when no thread can run.
//! Charging for work is what bounds a test's real cost: a virtual second can hold only so many
//! runtime calls and bytes, however fast an implementation tries to go.
//!
//! The scheduler knows nothing of contexts or worlds: the running simulated thread is
//! `state.current`, so a runtime call needs no per-thread state of its own, and a switch
//! installs nothing. The executor is handed its coroutines (the world's main thread included)
//! and only resumes them.
//!
//! Invariants: `state.current` is the only thread not parked, and the one whose code runs; a
//! thread is in `runnable` iff its status is `Runnable`; a `Blocked` thread is listed under
//! each of its wait keys and, if it has a deadline, in `timers`.

use crate::failure::{Failure, FailureKind, KillSignal};
use crate::node::Node;
use crate::os;
use parking_lot::Mutex;
use rand::{Rng, SeedableRng, rngs::SmallRng};
use std::collections::{BTreeMap, BTreeSet};
use std::panic::Location;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

/// Virtual nanoseconds charged for each runtime call, so that polling loops see time move.
pub(crate) const CALL_COST_NS: u64 = 1_000;

/// Virtual nanoseconds charged per byte of work the scheduler cannot see (bytes persisted,
/// carried by the network, written or read in the file system): 1 GB/s.
pub(crate) const BYTE_COST_NS: u64 = 1;

/// Why a blocked thread was woken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wake {
    /// Still waiting.
    None,
    /// A notify on the key at this position in the wait list.
    Notified(usize),
    /// Its deadline passed.
    Timeout,
    /// Its node was killed or the world is ending.
    Killed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Runnable,
    Running,
    Blocked,
    Done,
}

struct SThread {
    name: Arc<str>,
    node: Node,
    /// The node its new threads join: `node`, or another inside `Node::enter`.
    spawn_node: Node,
    status: Status,
    keys: Vec<usize>,
    /// What it blocks in, and where in the caller's code (for deadlock reports).
    what: &'static str,
    at: Option<&'static Location<'static>>,
    timer: Option<(u64, u64)>,
    wake: Wake,
}

/// The scheduler state, behind one lock that only the baton holder (or the driver) takes.
pub(crate) struct State {
    pub(crate) now: u64,
    threads: Vec<SThread>,
    runnable: Vec<usize>,
    timers: BTreeSet<(u64, u64, usize)>,
    seq: u64,
    waiters: BTreeMap<usize, Vec<usize>>,
    current: Option<usize>,
    rng: SmallRng,
    digest: u64,
    trace: Option<Vec<(u32, u64)>>,
    ending: bool,
    failure: Option<Failure>,
    live: usize,
    time_limit: u64,
    steps: u64,
}

/// What a finished simulation reports.
pub(crate) struct Finish {
    pub(crate) failure: Option<Failure>,
    pub(crate) digest: u64,
    pub(crate) trace: Option<Vec<(u32, u64)>>,
    pub(crate) now: u64,
    pub(crate) steps: u64,
    pub(crate) thread_names: Vec<String>,
}

/// One simulated world's scheduler.
pub(crate) struct Sim {
    pub(crate) state: Mutex<State>,
    progress: AtomicU64,
    computing: AtomicBool,
    done: std::sync::Mutex<bool>,
    done_cv: std::sync::Condvar,
    /// The executor's kernel thread id (0 until it starts), for the blocked-in-the-OS watchdog.
    executor_tid: AtomicI64,
    /// What a fatal report names: the seed, and the replay command if the harness gave one.
    seed: u64,
    replay: Option<String>,
}

/// Real time after which a simulation whose executor stays blocked in the operating system
/// (outside every runtime call) is reported.
const OS_BLOCKED_LIMIT: std::time::Duration = std::time::Duration::from_secs(2);

fn mix(h: u64, v: u64) -> u64 {
    (h ^ v).wrapping_mul(0x100_0000_01b3).rotate_left(29) ^ 0x9e37_79b9_7f4a_7c15
}

impl State {
    fn record(&mut self, tid: usize) {
        self.steps += 1;
        self.digest = mix(mix(self.digest, tid as u64), self.now);
        if let Some(t) = &mut self.trace {
            t.push((tid as u32, self.now));
        }
    }

    fn fire_timers(&mut self) {
        while let Some(&(deadline, seq, tid)) = self.timers.first() {
            if deadline > self.now {
                break;
            }
            self.timers.remove(&(deadline, seq, tid));
            self.threads[tid].timer = None;
            self.wake(tid, Wake::Timeout);
        }
    }

    fn wake(&mut self, tid: usize, why: Wake) {
        let t = &mut self.threads[tid];
        if t.status != Status::Blocked {
            return;
        }
        t.status = Status::Runnable;
        t.wake = why;
        let keys = std::mem::take(&mut t.keys);
        if let Some((d, s)) = t.timer.take() {
            self.timers.remove(&(d, s, tid));
        }
        for k in keys {
            if let Some(list) = self.waiters.get_mut(&k) {
                list.retain(|&w| w != tid);
                if list.is_empty() {
                    self.waiters.remove(&k);
                }
            }
        }
        self.runnable.push(tid);
    }

    /// Ends the world: records the first failure and wakes every thread so that it unwinds.
    fn end(&mut self, failure: Option<Failure>) {
        if self.failure.is_none() {
            self.failure = failure;
        }
        if self.ending {
            return;
        }
        self.ending = true;
        let blocked: Vec<usize> =
            (0..self.threads.len()).filter(|&t| self.threads[t].status == Status::Blocked).collect();
        for t in blocked {
            self.wake(t, Wake::Killed);
        }
    }

    /// Ends the world for running past its time limit.
    fn end_over_time(&mut self) {
        let secs = self.time_limit as f64 / 1e9;
        let message = format!("test took longer than {secs:.0} seconds (virtual time)");
        self.end(Some(Failure::new(FailureKind::TimeLimit, message)));
    }

    /// Picks the next thread to run when the current one cannot, advancing virtual time.
    fn pick_next(&mut self) -> Option<usize> {
        loop {
            self.fire_timers();
            if !self.runnable.is_empty() {
                let i = self.rng.random_range(0..self.runnable.len());
                let tid = self.runnable.swap_remove(i);
                self.record(tid);
                return Some(tid);
            }
            if let Some(&(deadline, _, _)) = self.timers.first() {
                if deadline > self.time_limit && !self.ending {
                    self.now = self.time_limit;
                    self.end_over_time();
                    continue;
                }
                self.now = self.now.max(deadline);
                continue;
            }
            if self.live == 0 {
                return None;
            }
            let report = self.deadlock_report();
            self.end(Some(Failure::new(FailureKind::Deadlock, report)));
            if self.runnable.is_empty() {
                return None;
            }
        }
    }

    fn deadlock_report(&self) -> String {
        let mut s = String::from("deadlock: no thread can run and no timer is pending. Blocked threads:\n");
        for t in self.threads.iter().filter(|t| t.status == Status::Blocked) {
            let at = t.at.map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
            s.push_str(&format!(
                "  thread '{}' of node '{}' waits in {}{at}\n",
                t.name,
                t.node.name(),
                t.what
            ));
        }
        s.push_str("Look for a lock held while waiting on a channel or another lock, or a receive whose sender is gone.");
        s
    }

    pub(crate) fn current_name(&self) -> String {
        match self.current {
            Some(t) => format!("'{}' of node '{}'", self.threads[t].name, self.threads[t].node.name()),
            None => "(none)".into(),
        }
    }
}

impl Sim {
    pub(crate) fn new(seed: u64, time_limit_ns: u64, trace: bool, replay: Option<String>) -> Sim {
        Sim {
            state: Mutex::new(State {
                now: 0,
                threads: Vec::new(),
                runnable: Vec::new(),
                timers: BTreeSet::new(),
                seq: 0,
                waiters: BTreeMap::new(),
                current: None,
                rng: SmallRng::seed_from_u64(seed),
                digest: seed,
                trace: trace.then(Vec::new),
                ending: false,
                failure: None,
                live: 0,
                time_limit: time_limit_ns,
                steps: 0,
            }),
            progress: AtomicU64::new(0),
            computing: AtomicBool::new(false),
            done: std::sync::Mutex::new(false),
            done_cv: std::sync::Condvar::new(),
            executor_tid: AtomicI64::new(0),
            seed,
            replay,
        }
    }

    /// The seed and the replay command, for a report that ends the process.
    fn replay_text(&self) -> String {
        match &self.replay {
            Some(r) => format!("seed {}\nreplay: {r}", self.seed),
            None => format!("seed {}", self.seed),
        }
    }

    /// `thread 'applier' of node 'server-2'` for the running thread. Never blocks: it runs
    /// inside the panic hook, possibly while the state lock is held.
    pub(crate) fn describe_current(&self) -> String {
        match self.state.try_lock() {
            Some(st) => match st.current {
                Some(t) => format!("thread '{}' of node '{}'", st.threads[t].name, st.threads[t].node.name()),
                None => "the simulation's executor".into(),
            },
            None => "a simulated thread".into(),
        }
    }

    /// The node the running thread's new threads join (see `Node::enter`).
    pub(crate) fn current_spawn_node(&self) -> Option<Node> {
        let st = self.state.lock();
        st.current.map(|t| st.threads[t].spawn_node.clone())
    }

    /// Makes `node` the running thread's spawn node and returns the previous one.
    pub(crate) fn replace_spawn_node(&self, node: Node) -> Option<Node> {
        let mut st = self.state.lock();
        let t = st.current?;
        Some(std::mem::replace(&mut st.threads[t].spawn_node, node))
    }

    /// Whether the running thread's node (or the node it acts for) has been killed.
    pub(crate) fn current_killed(&self) -> bool {
        let st = self.state.lock();
        st.current.is_some_and(|t| st.threads[t].node.is_killed() || st.threads[t].spawn_node.is_killed())
    }

    pub(crate) fn now(&self) -> u64 {
        self.state.lock().now
    }

    /// Draws a random value from the world's stream (a runtime call).
    pub(crate) fn with_rng<R>(&self, f: impl FnOnce(&mut SmallRng) -> R) -> R {
        let r = {
            let mut st = self.state.lock();
            let r = f(&mut st.rng);
            st.digest = mix(st.digest, 0xd1ce);
            r
        };
        self.yield_now();
        r
    }

    /// Moves the clock on by `ns` for work done by the running thread between runtime calls,
    /// as a busy CPU would: every thread sees that time pass. Not a scheduling point; the next
    /// runtime call fires the timers that fell due and ends a world past its time limit.
    pub(crate) fn charge(&self, ns: u64) {
        let mut st = self.state.lock();
        if st.current.is_some() {
            st.now = st.now.saturating_add(ns);
        }
    }

    /// A scheduling point: the seeded RNG picks who runs next, maybe this thread.
    pub(crate) fn yield_now(&self) {
        self.progress.fetch_add(1, Ordering::Relaxed);
        if std::thread::panicking() {
            return;
        }
        let mut st = self.state.lock();
        let Some(me) = st.current else { return };
        st.now += CALL_COST_NS;
        if st.now > st.time_limit && !st.ending {
            st.end_over_time();
        }
        st.fire_timers();
        let n = st.runnable.len();
        if n == 0 {
            return self.unwind_if_dead(st, me);
        }
        let pick = st.rng.random_range(0..=n);
        if pick == n {
            st.record(me);
            return self.unwind_if_dead(st, me);
        }
        let next = st.runnable.swap_remove(pick);
        st.record(next);
        st.threads[me].status = Status::Runnable;
        st.runnable.push(me);
        self.switch(st, next);
        self.check_alive();
    }

    /// Blocks the running thread until a key is notified, the deadline passes, or it is killed.
    /// `what` and `at` (the lab code's call site) say where, for a deadlock report.
    pub(crate) fn block(
        &self,
        keys: &[usize],
        deadline: Option<u64>,
        what: &'static str,
        at: &'static Location<'static>,
    ) -> Wake {
        self.progress.fetch_add(1, Ordering::Relaxed);
        if std::thread::panicking() {
            // An unwinding thread never switches (the panic state belongs to the OS thread).
            return Wake::Killed;
        }
        let mut st = self.state.lock();
        let me = st.current.expect("a simulated thread is running");
        if st.ending {
            drop(st);
            self.check_alive();
            return Wake::Killed;
        }
        for &k in keys {
            st.waiters.entry(k).or_default().push(me);
        }
        if let Some(d) = deadline {
            let seq = st.seq;
            st.seq += 1;
            st.timers.insert((d, seq, me));
            st.threads[me].timer = Some((d, seq));
        }
        let t = &mut st.threads[me];
        t.status = Status::Blocked;
        t.keys = keys.to_vec();
        t.what = what;
        t.at = Some(at);
        t.wake = Wake::None;
        match st.pick_next() {
            Some(next) if next == me => {
                st.threads[me].status = Status::Running;
                st.current = Some(me);
                drop(st);
            }
            Some(next) => self.switch(st, next),
            None => unreachable!("the blocking thread is live"),
        }
        let wake = std::mem::replace(&mut self.state.lock().threads[me].wake, Wake::None);
        self.check_alive();
        wake
    }

    /// Wakes the threads waiting on `key` (all, or the first one). Not a scheduling point.
    pub(crate) fn notify(&self, key: usize, all: bool) {
        let mut st = self.state.lock();
        let Some(list) = st.waiters.get_mut(&key) else {
            return;
        };
        // `wake` takes each woken thread off its lists (and drops the emptied ones).
        let woken = if all { std::mem::take(list) } else { vec![list[0]] };
        for tid in woken {
            let idx = st.threads[tid].keys.iter().position(|&k| k == key).unwrap_or(0);
            st.wake(tid, Wake::Notified(idx));
        }
    }

    fn switch(&self, mut st: parking_lot::MutexGuard<'_, State>, next: usize) {
        st.current = Some(next);
        st.threads[next].status = Status::Running;
        drop(st);
        suspend();
    }

    /// Unwinds the running thread if its node was killed or the world is ending.
    pub(crate) fn check_alive(&self) {
        let st = self.state.lock();
        if let Some(me) = st.current {
            self.unwind_if_dead(st, me);
        }
    }

    /// [`Sim::check_alive`] with the state lock already held (it is released here).
    fn unwind_if_dead(&self, st: parking_lot::MutexGuard<'_, State>, me: usize) {
        let dead = !std::thread::panicking() && (st.ending || st.threads[me].node.is_killed());
        drop(st);
        if dead {
            std::panic::resume_unwind(Box::new(KillSignal));
        }
    }

    /// Registers a new thread of `node` and returns its id. The main thread starts as the
    /// running thread; any other starts runnable.
    pub(crate) fn add_thread(&self, name: Arc<str>, node: Node, main: bool) -> usize {
        let mut st = self.state.lock();
        let tid = st.threads.len();
        st.threads.push(SThread {
            name,
            spawn_node: node.clone(),
            node,
            status: Status::Runnable,
            keys: Vec::new(),
            what: "",
            at: None,
            timer: None,
            wake: Wake::None,
        });
        st.live += 1;
        if main {
            st.threads[tid].status = Status::Running;
            st.current = Some(tid);
        } else {
            st.runnable.push(tid);
        }
        tid
    }

    /// Called by a thread whose body returned or unwound: passes the baton on without parking.
    /// The thread must make no runtime call afterwards.
    pub(crate) fn exit(&self, failure: Option<Failure>, join_key: usize) {
        let mut st = self.state.lock();
        let me = st.current.expect("a simulated thread is running");
        st.threads[me].status = Status::Done;
        st.live -= 1;
        if let Some(f) = failure {
            st.end(Some(f));
        }
        if me == 0 {
            st.end(None);
        }
        if let Some(list) = st.waiters.get(&join_key).cloned() {
            for tid in list {
                st.wake(tid, Wake::Notified(0));
            }
        }
        st.current = st.pick_next();
        if let Some(next) = st.current {
            st.threads[next].status = Status::Running;
        } else {
            drop(st);
            *self.done.lock().unwrap() = true;
            self.done_cv.notify_all();
        }
    }

    /// Kills every thread of `node`: blocked ones wake and unwind when they next run.
    pub(crate) fn kill_node(&self, node: &Node) {
        let mut st = self.state.lock();
        let victims: Vec<usize> = (0..st.threads.len())
            .filter(|&t| st.threads[t].node.id() == node.id() && st.threads[t].status == Status::Blocked)
            .collect();
        for t in victims {
            st.wake(t, Wake::Killed);
        }
        st.digest = mix(st.digest, 0x4b11 ^ node.id() as u64);
    }

    /// Ends the world with a failure reported from outside the scheduler (e.g. a tester).
    pub(crate) fn fail(&self, failure: Failure) {
        self.state.lock().end(Some(failure));
    }

    pub(crate) fn set_computing(&self, on: bool) {
        self.computing.store(on, Ordering::Relaxed);
        self.progress.fetch_add(1, Ordering::Relaxed);
    }

    /// The driver: waits until every thread is done, watching for threads that never yield,
    /// and for an executor that sits blocked in the operating system (a `std` sleep, lock,
    /// channel or I/O in lab code: the simulation cannot switch away from it).
    pub(crate) fn wait_done(
        &self,
        spin_limit: std::time::Duration,
        executor: std::thread::JoinHandle<()>,
    ) -> Option<Failure> {
        const TICK: std::time::Duration = std::time::Duration::from_millis(50);
        let mut last = self.progress.load(Ordering::Relaxed);
        let mut since = std::time::Instant::now();
        // The last samples of the executor's kernel state: true when asleep in the kernel.
        let window = (OS_BLOCKED_LIMIT.as_millis() / TICK.as_millis()) as usize;
        let mut asleep = std::collections::VecDeque::with_capacity(window);
        let mut done = self.done.lock().unwrap();
        while !*done {
            let (d, _) = self.done_cv.wait_timeout(done, TICK).unwrap();
            done = d;
            if *done {
                break;
            }
            if let Some(f) = self.blocked_in_os(&mut asleep, window) {
                return Some(f);
            }
            let p = self.progress.load(Ordering::Relaxed);
            if p != last || self.computing.load(Ordering::Relaxed) {
                last = p;
                since = std::time::Instant::now();
            } else if since.elapsed() >= spin_limit {
                let who = self.state.lock().current_name();
                return Some(Failure::new(
                    FailureKind::Spin,
                    format!(
                        "thread {who} ran for {:.1} s of real time without reaching a runtime call. \
                         Likely causes: a spin loop that never sleeps, locks or receives, or a std / \
                         parking_lot lock, channel or sleep used by mistake instead of labs::sync / \
                         labs::time (they block the whole simulation).",
                        spin_limit.as_secs_f64()
                    ),
                ));
            }
        }
        drop(done);
        let _ = executor.join();
        None
    }

    /// Samples the executor's kernel state; a failure once it was asleep in the kernel, outside
    /// a pure computation, in at least three quarters of the last [`OS_BLOCKED_LIMIT`].
    fn blocked_in_os(&self, asleep: &mut std::collections::VecDeque<bool>, window: usize) -> Option<Failure> {
        let tid = self.executor_tid.load(Ordering::Relaxed);
        if tid == 0 {
            return None;
        }
        let now = !self.computing.load(Ordering::Relaxed) && os::asleep_in_kernel(tid)?;
        if asleep.len() == window {
            asleep.pop_front();
        }
        asleep.push_back(now);
        if asleep.len() < window || asleep.iter().filter(|&&a| a).count() * 4 < window * 3 {
            return None;
        }
        let who = match self.state.try_lock() {
            Some(st) => st.current_name(),
            None => "(unknown)".into(),
        };
        Some(Failure::new(
            FailureKind::Blocked,
            format!(
                "thread {who} is blocked in the operating system, outside the runtime: for {:.0} s \
                 of real time the simulation could not run. Likely causes: std::thread::sleep, a \
                 std or parking_lot lock, condition variable or channel, or blocking I/O, used \
                 instead of labs::time::sleep and labs::sync. Under the simulation such a call \
                 stalls every thread of the world and stops virtual time.",
                OS_BLOCKED_LIMIT.as_secs_f64()
            ),
        ))
    }

    /// The outcome after every thread is done.
    pub(crate) fn finish(&self) -> Finish {
        let mut st = self.state.lock();
        Finish {
            failure: st.failure.take(),
            digest: st.digest,
            trace: st.trace.take(),
            now: st.now,
            steps: st.steps,
            thread_names: st
                .threads
                .iter()
                .map(|t| format!("'{}' of node '{}'", t.name, t.node.name()))
                .collect(),
        }
    }
}

type Co = corosensei::Coroutine<(), (), (), corosensei::stack::DefaultStack>;

thread_local! {
    /// The executor's coroutines by thread id, with their stacks' guard pages (on the
    /// executor's OS thread only).
    static COROUTINES: std::cell::RefCell<Vec<Option<(Co, Guard)>>> = const { std::cell::RefCell::new(Vec::new()) };
    /// The running coroutine's yielder.
    static YIELDER: std::cell::Cell<*const corosensei::Yielder<(), ()>> = const { std::cell::Cell::new(std::ptr::null()) };
    /// The scheduler this OS thread executes, while it does (for the fault hook).
    static EXECUTOR: std::cell::Cell<*const Sim> = const { std::cell::Cell::new(std::ptr::null()) };
    /// The guard page of the running coroutine's stack, while one runs.
    static RUNNING_GUARD: std::cell::Cell<Guard> = const { std::cell::Cell::new(Guard { lo: 0, hi: 0 }) };
}

/// The address range of a stack's guard page: a fault there is a stack overflow.
#[derive(Clone, Copy)]
struct Guard {
    lo: usize,
    hi: usize,
}

/// The fault hook (see [`os::install_fault_hook`]): names a simulated thread whose stack
/// overflowed, with the seed and the replay command, and ends the process.
fn on_fault(addr: usize) -> bool {
    let guard = RUNNING_GUARD.get();
    if addr < guard.lo || addr >= guard.hi {
        return false;
    }
    // SAFETY: set by `run_executor` to the scheduler it runs, which outlives the loop.
    let sim = unsafe { EXECUTOR.get().as_ref() };
    let (who, replay) = match sim {
        Some(s) => (s.describe_current(), s.replay_text()),
        None => ("a simulated thread".to_string(), String::new()),
    };
    os::write_stderr(&format!(
        "\n{who} overflowed its stack ({} KiB) under sim: deep or unbounded recursion, or a large \
         local value (an array of megabytes). Put big data on the heap (Vec, Box) and look for a \
         recursion without a base case.\n{replay}\n",
        STACK_BYTES / 1024
    ));
    os::exit_now(134)
}

/// Stack size of a simulated thread, like an OS thread's default.
const STACK_BYTES: usize = 2 << 20;

/// Creates the coroutine of simulated thread `tid` (on the executor's OS thread).
pub(crate) fn spawn_coroutine(tid: usize, body: impl FnOnce() + 'static) {
    use corosensei::stack::Stack as _;
    let stack =
        corosensei::stack::DefaultStack::new(STACK_BYTES).expect("could not allocate a coroutine stack");
    // The guard page is the lowest page of the mapping.
    let lo = stack.limit().get();
    let guard = Guard { lo, hi: lo + 4096 };
    let co = Co::with_stack(stack, move |y: &corosensei::Yielder<(), ()>, ()| {
        YIELDER.with(|c| c.set(y));
        body();
    });
    COROUTINES.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() <= tid {
            c.resize_with(tid + 1, || None);
        }
        c[tid] = Some((co, guard));
    });
}

/// Suspends the running coroutine back to the executor, which resumes `state.current`.
fn suspend() {
    let y = YIELDER.with(std::cell::Cell::get);
    // SAFETY: `y` was set by this coroutine's entry (or its last resume) and the coroutine, and
    // so its yielder, is alive while it runs.
    unsafe { &*y }.suspend(());
    YIELDER.with(|c| c.set(y));
}

/// The executor: resumes the running thread's coroutine until every thread is done. The
/// world's main thread must already have been added (as the running thread) and given its
/// coroutine ([`spawn_coroutine`]) on this OS thread.
pub(crate) fn run_executor(sim: &Sim) {
    if let Some(tid) = os::thread_id() {
        sim.executor_tid.store(tid, Ordering::Relaxed);
    }
    os::install_fault_hook(on_fault);
    let _alt_stack = os::AltStack::new();
    EXECUTOR.set(sim);
    loop {
        let Some(tid) = sim.state.lock().current else { break };
        let (mut co, guard) =
            COROUTINES.with(|c| c.borrow_mut()[tid].take()).expect("the current thread has a coroutine");
        RUNNING_GUARD.set(guard);
        let r = co.resume(());
        RUNNING_GUARD.set(Guard { lo: 0, hi: 0 });
        match r {
            corosensei::CoroutineResult::Yield(()) => {
                COROUTINES.with(|c| c.borrow_mut()[tid] = Some((co, guard)));
            }
            corosensei::CoroutineResult::Return(()) => drop(co),
        }
    }
    EXECUTOR.set(std::ptr::null());
    sim.executor_tid.store(0, Ordering::Relaxed);
    COROUTINES.with(|c| c.borrow_mut().clear());
}
