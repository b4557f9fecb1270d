//! The test frame: what every test of every lab does around its checks.
//!
//! * [`Frame::begin`] notes the 6.5840 title line and starts the statistics;
//!   [`Frame::end_with`] checks the time limit and what the watchdog found, then prints the
//!   title line and the lab's `Passed` line together, in one write, so that the lines of tests
//!   that run in parallel (`cargo test -- --nocapture`) never interleave. A test that fails
//!   prints its title with a `FAILED` line instead ([`Frame::finish`]), and the 120 s limit
//!   and a stuck call name the test in their message, so a test that hangs is named too.
//! * A watchdog thread looks every second for an RPC handler that panicked, and for a call into
//!   a server ([`Frame::guarded`]) that has not returned within [`STUCK_CALL_LIMIT`]: under the
//!   real backend a deadlocked peer would otherwise hang the test; under sim its other threads
//!   may keep the world running.
//! * A failure found off the test's thread ([`Frame::fail`]) ends the world at once with the
//!   message, and the test's own checks see it too.
//! * Steps ([`Frame::step`]): what each tester thread is waiting for, and since when. A test
//!   that reaches the 120 s limit, and a stuck call, say which steps were still waiting, so
//!   that a student looks at the right place (the watchdog fails the test just before the
//!   runtime's own limit would, to be able to say it).
//! * The cleanup policy ([`Frame::finish`]): a test that passed kills its servers and closes
//!   the network; a test that is failing (its thread is unwinding) touches nothing, since the
//!   harness ends the world and every node in it, and a runtime call made while unwinding
//!   could block the whole simulation.

use labrpc::Network;
use labs::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use labs::sync::{Arc, Mutex};
use labs::time::{Duration, Instant, sleep};
use labs::world::World;
use std::collections::BTreeMap;

/// A test fails if it takes longer than this (virtual time under sim), as in 6.5840.
pub const TEST_TIME_LIMIT: Duration = Duration::from_secs(120);

/// A call into a server that has not returned after this long fails the test: the server is
/// taken to be deadlocked.
pub const STUCK_CALL_LIMIT: Duration = Duration::from_secs(5);

/// What [`Frame::end_with`] hands the lab's `Passed` line: the figures since [`Frame::begin`].
#[derive(Clone, Copy, Debug)]
pub struct Since {
    /// Seconds (virtual under sim).
    pub secs: f64,
    /// RPCs sent on the network.
    pub rpcs: u64,
    /// Bytes sent on the network (arguments, and delivered replies).
    pub bytes: u64,
}

/// The title of the test and whether it has been printed. A std lock, which makes no runtime
/// call, since [`Frame::finish`] reads it while the test's thread unwinds (see the module doc);
/// it is held only to copy the title, never across a runtime call.
#[derive(Default)]
struct Title(
    #[allow(clippy::disallowed_types)] // A runtime lock cannot be taken while unwinding.
    std::sync::Mutex<(Option<String>, bool)>,
);

impl Title {
    fn lock(&self) -> std::sync::MutexGuard<'_, (Option<String>, bool)> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn try_lock(&self) -> Option<std::sync::MutexGuard<'_, (Option<String>, bool)>> {
        match self.0.try_lock() {
            Ok(g) => Some(g),
            Err(std::sync::TryLockError::Poisoned(e)) => Some(e.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }
}

struct Shared {
    net: Network,
    /// "a Raft RPC handler", "an RPC handler": how a handler panic is reported.
    handlers: &'static str,
    start: Instant,
    finished: AtomicBool,
    /// What `begin` saw: time, RPCs, bytes.
    begun: Mutex<(Instant, u64, u64)>,
    /// Calls into servers in progress: id -> (who, what, since).
    calls: Mutex<BTreeMap<u64, (String, &'static str, Instant)>>,
    next_call: AtomicU64,
    /// The first failure found off the test's thread.
    failure: Mutex<Option<String>>,
    /// The title [`Frame::begin`] was given, and whether it has been printed.
    title: Title,
    /// Steps in progress: id -> (node, what, since).
    steps: Mutex<BTreeMap<u64, (String, String, Instant)>>,
    next_step: AtomicU64,
    /// The test's time limit in milliseconds ([`TEST_TIME_LIMIT`] unless
    /// [`Frame::set_time_limit`] changed it).
    time_limit_ms: AtomicU64,
}

/// A step of a tester thread, from [`Frame::step`] until it is dropped.
#[must_use = "a step lasts until it is dropped"]
pub struct Step {
    frame: Frame,
    id: u64,
}

impl Drop for Step {
    fn drop(&mut self) {
        // A failing test touches no lock while it unwinds (see the module doc).
        if !std::thread::panicking() {
            self.frame.shared.steps.lock().remove(&self.id);
        }
    }
}

/// One test's frame. Cheap to clone; clones share the frame.
#[derive(Clone)]
pub struct Frame {
    shared: Arc<Shared>,
}

impl Frame {
    /// The frame of a test on `net`, whose handler panics are reported as `handlers` panicking
    /// (e.g. "a Raft RPC handler"). Starts the watchdog.
    pub fn new(net: &Network, handlers: &'static str) -> Frame {
        let now = Instant::now();
        let shared = Arc::new(Shared {
            net: net.clone(),
            handlers,
            start: now,
            finished: AtomicBool::new(false),
            begun: Mutex::new((now, 0, 0)),
            calls: Mutex::new(BTreeMap::new()),
            next_call: AtomicU64::new(0),
            failure: Mutex::new(None),
            title: Title::default(),
            steps: Mutex::new(BTreeMap::new()),
            next_step: AtomicU64::new(0),
            time_limit_ms: AtomicU64::new(TEST_TIME_LIMIT.as_millis() as u64),
        });
        let frame = Frame { shared };
        let watched = frame.clone();
        labs::thread::spawn("watchdog", move || watched.watch());
        frame
    }

    /// The test's network.
    pub fn net(&self) -> &Network {
        &self.shared.net
    }

    /// Notes the test's title (`Test (3A): initial election`) in the run's events, keeps it for
    /// the `Passed` line (the title line is printed with it, see the module doc), and starts the
    /// statistics of the `Passed` line.
    ///
    /// A test that begins a second part before ending the first prints the first title alone,
    /// as 6.5840 does (it prints each title when the test begins).
    pub fn begin(&self, title: &str) {
        labs::events::note(format!("begin: {title}"));
        let earlier = {
            let mut t = self.shared.title.lock();
            let earlier = if t.1 { None } else { t.0.take() };
            *t = (Some(title.to_string()), false);
            earlier
        };
        if let Some(earlier) = earlier {
            print_block(Some(&earlier), "");
        }
        let (rpcs, bytes) = (self.shared.net.total_count(), self.shared.net.total_bytes());
        *self.shared.begun.lock() = (Instant::now(), rpcs, bytes);
    }

    /// Ends a test that passed its own checks: checks the time limit and what the watchdog
    /// found, then prints the line `passed` makes from the figures since [`Frame::begin`].
    pub fn end_with(&self, passed: impl FnOnce(&Since) -> String) {
        self.check_time_limit();
        self.check_failures();
        let (rpcs, bytes) = (self.shared.net.total_count(), self.shared.net.total_bytes());
        let (t0, rpcs0, bytes0) = *self.shared.begun.lock();
        let since = Since { secs: t0.elapsed().as_secs_f64(), rpcs: rpcs - rpcs0, bytes: bytes - bytes0 };
        self.print_result(&passed(&since));
    }

    /// Prints the test's title line (`Test (3A): initial election ...`) and `result` (its
    /// `  ... Passed --` line) in one write to stdout, so that no other test's line can come
    /// between them. A tester whose `Passed` line needs figures of its own calls this instead
    /// of [`Frame::end_with`], after the same checks.
    pub fn print_result(&self, result: &str) {
        let title = {
            let mut title = self.shared.title.lock();
            title.1 = true;
            title.0.clone()
        };
        print_block(title.as_deref(), result);
    }

    /// ` during "<title>"`, or nothing before [`Frame::begin`].
    fn during(&self) -> String {
        match &self.shared.title.lock().0 {
            Some(title) => format!(" during \"{title}\""),
            None => String::new(),
        }
    }

    /// Sets the test's time limit, for a test whose spec gives it another than
    /// [`TEST_TIME_LIMIT`] (Lab 1's crash test). The world's own limit must be at least as long
    /// (see `labs::harness::run_test_with`): the watchdog fails the test just before this one.
    pub fn set_time_limit(&self, limit: Duration) {
        self.shared.time_limit_ms.store(limit.as_millis() as u64, Ordering::Relaxed);
    }

    /// The test's time limit.
    pub fn time_limit(&self) -> Duration {
        Duration::from_millis(self.shared.time_limit_ms.load(Ordering::Relaxed))
    }

    /// Fails the test if it has run for longer than its time limit ([`TEST_TIME_LIMIT`] unless
    /// [`Frame::set_time_limit`] changed it).
    pub fn check_time_limit(&self) {
        if self.shared.start.elapsed() > self.time_limit() {
            panic!("{}", self.time_limit_message());
        }
    }

    /// Starts a step of the calling thread: `what` it is doing or waiting for (e.g. "one(101):
    /// waiting for 3 servers to commit index 4"). It lasts until the [`Step`] is dropped; the
    /// time limit and stuck calls name the steps in progress.
    pub fn step(&self, what: impl Into<String>) -> Step {
        let id = self.shared.next_step.fetch_add(1, Ordering::Relaxed);
        let node = labs::thread::current_node().map_or_else(|| "-".to_string(), |n| n.name().to_string());
        self.shared.steps.lock().insert(id, (node, what.into(), Instant::now()));
        Step { frame: self.clone(), id }
    }

    /// The steps in progress, in words (one per line), or a line saying there is none.
    pub fn steps_in_words(&self) -> String {
        let steps = self.shared.steps.lock();
        if steps.is_empty() {
            return "no tester step was in progress".to_string();
        }
        let at = |t: Instant| t.duration_since(self.shared.start).as_secs_f64();
        steps
            .values()
            .map(|(node, what, since)| {
                format!(
                    "{node} was at step \"{what}\" since {:.1} s (for {:.1} s)",
                    at(*since),
                    since.elapsed().as_secs_f64()
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn time_limit_message(&self) -> String {
        format!(
            "test took longer than {} seconds ({} time){}; when it was stopped:\n{}",
            self.time_limit().as_secs(),
            if World::current().backend() == labs::world::Backend::Sim { "virtual" } else { "real" },
            self.during(),
            self.steps_in_words()
        )
    }

    /// Fails the test if a thread other than the test's found a problem, or an RPC handler
    /// panicked.
    pub fn check_failures(&self) {
        if let Some(f) = self.shared.failure.lock().clone() {
            panic!("{f}");
        }
        if let Some(p) = self.shared.net.handler_panics().into_iter().next() {
            panic!("{} panicked: {p}", self.shared.handlers);
        }
    }

    /// Records the first failure found off the test's thread (an applier, the watchdog) and
    /// ends the world with it.
    pub fn fail(&self, message: String) {
        {
            let mut f = self.shared.failure.lock();
            if f.is_some() {
                return;
            }
            *f = Some(message.clone());
        }
        World::current().fail(message);
    }

    /// The first failure found off the test's thread, if any.
    pub fn failure(&self) -> Option<String> {
        self.shared.failure.lock().clone()
    }

    /// Whether the test is over ([`Frame::finish`] was called).
    pub fn finished(&self) -> bool {
        self.shared.finished.load(Ordering::Relaxed)
    }

    /// Runs `f`, a call into a server that `who` names ("server 2"), where the watchdog can
    /// see it: if it has not returned after [`STUCK_CALL_LIMIT`], the test fails saying so.
    pub fn guarded<T>(&self, who: impl std::fmt::Display, what: &'static str, f: impl FnOnce() -> T) -> T {
        let id = self.shared.next_call.fetch_add(1, Ordering::Relaxed);
        self.shared.calls.lock().insert(id, (who.to_string(), what, Instant::now()));
        struct Done<'a>(&'a Mutex<BTreeMap<u64, (String, &'static str, Instant)>>, u64);
        impl Drop for Done<'_> {
            fn drop(&mut self) {
                if !std::thread::panicking() {
                    self.0.lock().remove(&self.1);
                }
            }
        }
        let _done = Done(&self.shared.calls, id);
        f()
    }

    /// The cleanup policy (6.5840's `cleanup`): marks the test over; then, unless the test is
    /// failing, runs `kill` (which kills the servers) and closes the network. A test that began
    /// but printed no `Passed` line prints its title now: with `  ... FAILED` when it is failing
    /// (the failure follows, from the harness), alone when it ended without one.
    pub fn finish(&self, kill: impl FnOnce()) {
        self.shared.finished.store(true, Ordering::Relaxed);
        let unprinted = {
            // Never waits, even for a thread stopped while holding it.
            match self.shared.title.try_lock() {
                Some(mut title) if !title.1 => {
                    title.1 = true;
                    title.0.clone()
                }
                _ => None,
            }
        };
        if let Some(title) = unprinted {
            let result = if std::thread::panicking() { "  ... FAILED" } else { "" };
            print_block(Some(&title), result);
        }
        if std::thread::panicking() {
            // The harness ends the world, and every node in it.
            return;
        }
        kill();
        self.shared.net.cleanup();
    }

    fn watch(&self) {
        loop {
            // Just before the runtime's own limit (which cannot name the tester's steps); the
            // test may change its limit after the frame starts.
            let deadline = self.shared.start + self.time_limit() - Duration::from_millis(1);
            let now = Instant::now();
            if now >= deadline {
                return self.fail(self.time_limit_message());
            }
            sleep(Duration::from_secs(1).min(deadline.duration_since(now)));
            if self.finished() || labs::thread::killed() {
                return;
            }
            if let Some(p) = self.shared.net.handler_panics().into_iter().next() {
                return self.fail(format!("{} panicked: {p}", self.shared.handlers));
            }
            let stuck = self
                .shared
                .calls
                .lock()
                .values()
                .find(|(_, _, since)| since.elapsed() > STUCK_CALL_LIMIT)
                .cloned();
            if let Some((who, what, _)) = stuck {
                return self.fail(format!(
                    "{who}: {what} has not returned after {} s{}: it is probably deadlocked (a lock \
                     that is never released, or a lock held across an RPC call or a channel send)\n{}",
                    STUCK_CALL_LIMIT.as_secs(),
                    self.during(),
                    self.steps_in_words()
                ));
            }
        }
    }
}

/// Writes a test's title line and its result line (none when `result` is empty) to stdout in
/// one write, under stdout's lock, so that parallel tests' lines cannot interleave.
fn print_block(title: Option<&str>, result: &str) {
    use std::io::Write as _;
    let mut block = String::new();
    if let Some(title) = title {
        block.push_str(&format!("{title} ...\n"));
    }
    if !result.is_empty() {
        block.push_str(&format!("{result}\n"));
    }
    // `print!` goes through libtest's capture when it is on; it writes the block at once.
    print!("{block}");
    let _ = std::io::stdout().flush();
}

/// Lists servers in words: "server 2", "servers 1 and 3", "servers 0, 1 and 4".
pub fn servers_in_words(ids: &[usize]) -> String {
    match ids {
        [] => "no server".into(),
        [one] => format!("server {one}"),
        [init @ .., last] => {
            let init: Vec<String> = init.iter().map(ToString::to_string).collect();
            format!("servers {} and {last}", init.join(", "))
        }
    }
}
