//! The Lab 2 tester: the one-server KV service the suites in `kvsrv-tests/tests/` drive
//! (6.5840's `kvtest1` and `tester1` for `kvsrv1`; docs/lab2-kvsrv.md), on the test kit's
//! [`Frame`], [`Group`], [`Ends`] and [`History`].
//!
//! A [`Config`] runs one KV server (a group of one, on node `server-0`) on a labrpc network,
//! reliable or not, and makes clerks, each with its own end ([`Config::make_clerk`]). Every
//! operation of a [`TestClerk`] (also those a [`kvsrv::Lock`] makes through it) is recorded in
//! one history, which [`Config::end`] checks for linearizability with the versioned KV model
//! ([`VersionedKvModel`]); a check that does not finish within its budget is a failure, never
//! a pass (6.5840 passes it). The tester also measures each clerk operation's wait
//! ([`Config::max_wait`]) and the server's state size ([`Config::state_size`]: the
//! postcard-encoded size of the server's `State`, the lab's stand-in for Go's heap size).
//!
//! The tester drives any implementation of [`KvImpl`] (the lab's is [`Reference`]), so that
//! its own tests can run the suites against deliberately broken servers, clerks and locks.
//! Failures are panics of the test's thread with the failure in words, naming the rule that
//! was broken; the harness adds the seed and the replay command.

use kvsrv::{KvClerk, KvError, Version};
use labrpc::{ClientEnd, Network, Service};
use labs::events::{self, EventKind};
use labs::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use labs::sync::{Arc, unbounded};
use labs::time::{Duration, Instant, sleep};
use labs::world::World;
use linearizability::{Model, VersionedInput, VersionedKvModel, VersionedOutput};
use testkit::history::History;
use testkit::{Ends, Frame, Group, Spec, Start, Wiring};

pub use testkit::{TEST_TIME_LIMIT, random_string};

/// The time budget of the linearizability check (wall-clock time). 6.5840 gives 1 s (10 s in
/// the concurrent-put test) and passes a check that runs out; here running out fails the test,
/// so the budget is generous.
pub const LINEARIZABILITY_BUDGET: Duration = Duration::from_secs(20);

/// The memory test's bound: the server's encoded state may grow by at most this many bytes per
/// client. 6.5840 allows 10 bytes of Go heap per client, where any per-client map entry costs
/// tens of bytes; postcard has no allocator overhead, so the same rule ("keep nothing per
/// client") is 1 byte per client here. The reference grows by about 1 000 bytes in all (the
/// one 1000-byte value); a table with an entry per client needs at least 3 bytes per client
/// (a distinct id among 20 000 clients takes 3 bytes as a varint), and keeping the old values
/// costs 1 000 bytes per client.
pub const STATE_BYTES_PER_CLIENT: usize = 1;

/// What the tester needs from a Lab 2 implementation: the server, the clerk and the lock, as a
/// trait so that the tester's own tests can drive deliberately broken ones.
pub trait KvImpl: 'static {
    /// The server.
    type Server: Send + Sync + 'static;
    /// 6.5840's `MakeKVServer`.
    fn make_server() -> Self::Server;
    /// The labrpc service with the server's handlers.
    fn service(server: &Arc<Self::Server>) -> Service;
    /// The postcard-encoded size of the server's state.
    fn state_size(server: &Self::Server) -> usize;
    /// 6.5840's `MakeClerk`: a clerk that reaches the server through `end`.
    fn make_clerk(end: ClientEnd) -> Arc<dyn KvClerk>;
    /// 6.5840's `MakeLock`: a handle on the lock `name`, through `ck`.
    fn make_lock(ck: Arc<dyn KvClerk>, name: &str) -> Box<dyn LockHandle>;
}

/// A lock as the tester drives it: [`kvsrv::Lock`]'s methods.
pub trait LockHandle: Send + Sync {
    /// Waits until this handle holds the lock.
    fn acquire(&self);
    /// Releases the lock if this handle holds it.
    fn release(&self);
}

impl LockHandle for kvsrv::Lock {
    fn acquire(&self) {
        kvsrv::Lock::acquire(self);
    }
    fn release(&self) {
        kvsrv::Lock::release(self);
    }
}

/// The lab's server, clerk and lock (the student's code).
pub struct Reference;

impl KvImpl for Reference {
    type Server = kvsrv::KvServer;
    fn make_server() -> kvsrv::KvServer {
        kvsrv::KvServer::new()
    }
    fn service(server: &Arc<kvsrv::KvServer>) -> Service {
        server.service()
    }
    fn state_size(server: &kvsrv::KvServer) -> usize {
        server.state_size()
    }
    fn make_clerk(end: ClientEnd) -> Arc<dyn KvClerk> {
        Arc::new(kvsrv::Clerk::new(end))
    }
    fn make_lock(ck: Arc<dyn KvClerk>, name: &str) -> Box<dyn LockHandle> {
        Box::new(kvsrv::Lock::new(ck, name))
    }
}

/// The server's network name (and its node's name).
pub const SERVER: &str = "server-0";

struct Shared<K: KvImpl> {
    frame: Frame,
    net: Network,
    group: Group<Arc<K::Server>>,
    reliable: bool,
    history: History<VersionedInput, VersionedOutput>,
    /// Clerk operations so far.
    ops: AtomicU64,
    /// Clerk operations when the test began, for the `Passed` line.
    ops0: AtomicU64,
    /// The longest a clerk operation has taken (ns).
    max_wait: AtomicU64,
    next_clerk: AtomicU64,
}

/// The KV service under test. Dropping it kills the server and closes the network. Share it
/// between threads with an `Arc`.
pub struct Config<K: KvImpl = Reference> {
    shared: Arc<Shared<K>>,
}

/// 6.5840's `MakeTestKV`: one server of the lab's implementation, on a reliable network if
/// `reliable`.
pub fn make_config(reliable: bool) -> Config<Reference> {
    Config::new(reliable)
}

impl<K: KvImpl> Config<K> {
    /// Like [`make_config`], for any [`KvImpl`].
    pub fn new(reliable: bool) -> Config<K> {
        let net = Network::new();
        net.set_reliable(reliable);
        let frame = Frame::new(&net, "an RPC handler");
        let spec = Spec {
            make: Box::new(|_: Start<'_>| Arc::new(K::make_server())),
            services: |s: &Arc<K::Server>| vec![K::service(s)],
            kill: |_: &Arc<K::Server>| {},
            leads: |_: &Arc<K::Server>| true,
            wiring: Wiring::Auto,
        };
        let group = Group::new(&net, vec![SERVER.to_string()], spec);
        group.start_all();
        if !reliable {
            events::record(EventKind::Fault { what: "network unreliable".into() });
        }
        Config {
            shared: Arc::new(Shared {
                frame,
                net,
                group,
                reliable,
                history: History::new(),
                ops: AtomicU64::new(0),
                ops0: AtomicU64::new(0),
                max_wait: AtomicU64::new(0),
                next_clerk: AtomicU64::new(0),
            }),
        }
    }

    /// Whether the network is reliable.
    pub fn is_reliable(&self) -> bool {
        self.shared.reliable
    }

    /// Notes the test's title with the network, e.g. `Test: one client, two locks (reliable
    /// network)` (printed with its `Passed` line), and starts its statistics.
    pub fn begin(&self, title: &str) {
        let net = if self.shared.reliable { "reliable" } else { "unreliable" };
        self.shared.frame.begin(&format!("{title} ({net} network)"));
        self.shared.ops0.store(self.shared.ops.load(Ordering::Relaxed), Ordering::Relaxed);
    }

    /// Ends a test that passed its own checks: checks the time limit, that no handler
    /// panicked, and that the history is linearizable; then prints 6.5840's line
    /// `  ... Passed --  time %4.1fs #peers 1 #RPCs %5d #Ops %4d`.
    pub fn end(&self) {
        self.check_linearizable();
        let ops = self.shared.ops.load(Ordering::Relaxed) - self.shared.ops0.load(Ordering::Relaxed);
        self.shared.frame.end_with(|s| {
            format!("  ... Passed --  time {:4.1}s #peers 1 #RPCs {:5} #Ops {ops:4}", s.secs, s.rpcs)
        });
    }

    /// Fails the test if it has run for longer than [`TEST_TIME_LIMIT`] or a handler panicked.
    pub fn check(&self) {
        self.shared.frame.check_time_limit();
        self.shared.frame.check_failures();
    }

    /// The history of every clerk operation so far.
    pub fn history(&self) -> &History<VersionedInput, VersionedOutput> {
        &self.shared.history
    }

    /// Checks the history of every clerk operation so far with the versioned KV model,
    /// records the verdict, and fails the test unless it is linearizable (not linearizable:
    /// the explanation and the visualisation's path; out of budget: a failure that says so).
    pub fn check_linearizable(&self) {
        let report = self.shared.history.check(&VersionedKvModel, LINEARIZABILITY_BUDGET);
        let ok = report.is_linearizable();
        events::record(EventKind::Verdict { ok, text: report.to_string() });
        if let Err(message) = report.require_linearizable() {
            panic!("{message}");
        }
    }

    /// A clerk with its own fresh end to the server; its operations are recorded.
    pub fn make_clerk(&self) -> Arc<TestClerk> {
        self.make_clerk_with_ends().0
    }

    /// [`Config::make_clerk`], and the set holding the clerk's one end (to cut it, say).
    pub fn make_clerk_with_ends(&self) -> (Arc<TestClerk>, Ends) {
        let ends = Ends::new(&self.shared.net);
        let end = ends.make(SERVER);
        let id = self.shared.next_clerk.fetch_add(1, Ordering::Relaxed);
        let ck = K::make_clerk(end);
        (
            Arc::new(TestClerk {
                ck,
                id,
                history: self.shared.history.clone(),
                counters: Box::new(Counters { shared: self.shared.clone() }),
            }),
            ends,
        )
    }

    /// A clerk whose link to the server loses about half of what it carries: the network is
    /// unreliable, and a tester thread switches the clerk's end off and on at random every
    /// 1-40 ms (off half of the time). A request sent while the end is off is lost, and so is
    /// a reply when the end goes off while the request is on its way. DSLabs' "deliver rate
    /// 0.5", made of 6.5840's own faults.
    pub fn make_lossy_clerk(&self) -> Arc<TestClerk> {
        let (ck, ends) = self.make_clerk_with_ends();
        events::record(EventKind::Fault {
            what: format!("clerk {}'s link loses about half its messages", ck.id),
        });
        let frame = self.shared.frame.clone();
        labs::thread::spawn("flapper", move || {
            while !frame.finished() {
                ends.enable(0, labs::rand::gen_bool(0.5));
                sleep(Duration::from_millis(labs::rand::gen_range(1..=40)));
            }
        });
        ck
    }

    /// A handle on the lock `name` through clerk `ck` (6.5840 `MakeLock`).
    pub fn make_lock(&self, ck: &Arc<TestClerk>, name: &str) -> Box<dyn LockHandle> {
        let ck: Arc<dyn KvClerk> = ck.clone();
        K::make_lock(ck, name)
    }

    /// The size of the server's state, encoded (what the memory test measures).
    pub fn state_size(&self) -> usize {
        let server = self.shared.group.server(0).expect("the server runs");
        self.shared.frame.guarded("the server", "state_size()", || K::state_size(&server))
    }

    /// The longest any clerk operation has taken so far.
    pub fn max_wait(&self) -> Duration {
        Duration::from_nanos(self.shared.max_wait.load(Ordering::Relaxed))
    }

    /// Every RPC made on the network.
    pub fn rpc_total(&self) -> u64 {
        self.shared.net.total_count()
    }

    /// 6.5840's `SpawnClientsAndWait`: runs `f(me, clerk, done)` for clients `0..n`, each on
    /// its own node `client-<me>` with its own clerk, for `dur`; then tells them to stop and
    /// collects what they return. A client that has not returned 10 s after being told to stop
    /// fails the test, with what `stuck` says about it.
    pub fn spawn_clients_and_wait<R: Send + 'static>(
        self: &Arc<Self>,
        n: usize,
        dur: Duration,
        f: impl Fn(usize, Arc<TestClerk>, &AtomicBool) -> R + Send + Sync + 'static,
        stuck: impl Fn(usize) -> String,
    ) -> Vec<R> {
        let done = Arc::new(AtomicBool::new(false));
        let f = Arc::new(f);
        let (tx, rx) = unbounded();
        for me in 0..n {
            let (cfg, done, f, tx) = (self.clone(), done.clone(), f.clone(), tx.clone());
            World::current().node(format!("client-{me}")).spawn("client", move || {
                let ck = cfg.make_clerk();
                // A client's failed check reaches the test's thread, which fails with it (under
                // sim a panic ends the world anyway; under real it would only be noted).
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(me, ck, &done)));
                match r {
                    Ok(r) => {
                        let _ = tx.send((me, Ok(r)));
                    }
                    Err(p) if labs::world::is_kill_signal(&*p) => std::panic::resume_unwind(p),
                    Err(p) => {
                        let _ = tx.send((me, Err(labs::world::panic_message(&*p))));
                    }
                }
            });
        }
        sleep(dur);
        done.store(true, Ordering::Relaxed);
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut results: Vec<Option<R>> = (0..n).map(|_| None).collect();
        for _ in 0..n {
            let left = deadline.duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok((me, Ok(r))) => results[me] = Some(r),
                Ok((_, Err(msg))) => panic!("{msg}"),
                Err(_) => {
                    self.check();
                    let me = results.iter().position(Option::is_none).unwrap_or(0);
                    panic!("{}", stuck(me));
                }
            }
        }
        results.into_iter().map(|r| r.expect("every client returned")).collect()
    }
}

impl<K: KvImpl> Drop for Config<K> {
    /// 6.5840's `Cleanup`: kills the server and closes the network (unless the test failed).
    fn drop(&mut self) {
        self.shared.frame.finish(|| self.shared.group.cleanup());
    }
}

/// The parts of the tester a clerk updates (type-erased, so [`TestClerk`] is not generic).
struct Counters<K: KvImpl> {
    shared: Arc<Shared<K>>,
}

trait Count: Send + Sync {
    fn op(&self, wait: Duration);
}

impl<K: KvImpl> Count for Counters<K> {
    fn op(&self, wait: Duration) {
        self.shared.ops.fetch_add(1, Ordering::Relaxed);
        self.shared.max_wait.fetch_max(wait.as_nanos() as u64, Ordering::Relaxed);
    }
}

/// A clerk of the tester: the implementation's clerk, with every operation recorded in the
/// test's history (for the linearizability check), counted, timed and recorded as an event.
/// It is a [`KvClerk`] itself, so a lock built on it is recorded too.
pub struct TestClerk {
    ck: Arc<dyn KvClerk>,
    id: u64,
    history: History<VersionedInput, VersionedOutput>,
    counters: Box<dyn Count>,
}

impl TestClerk {
    /// The clerk's id in the history.
    pub fn id(&self) -> u64 {
        self.id
    }

    fn run(&self, input: VersionedInput, f: impl FnOnce() -> VersionedOutput) -> VersionedOutput {
        let t = events::now();
        let start = Instant::now();
        let pending = self.history.begin(self.id as usize, input.clone());
        let output = f();
        pending.finish(output.clone());
        self.counters.op(start.elapsed());
        let desc = VersionedKvModel.describe_operation(&input, Some(&output));
        events::record_at(t, EventKind::Op { client: self.id, ret: Some(events::now()), desc });
        output
    }
}

impl KvClerk for TestClerk {
    fn get(&self, key: &str) -> Result<(String, Version), KvError> {
        let mut result = Err(KvError::NoKey);
        self.run(VersionedInput::get(key), || {
            result = self.ck.get(key);
            match &result {
                Ok((value, version)) => VersionedOutput::Value { value: value.clone(), version: *version },
                Err(KvError::NoKey) => VersionedOutput::NoKey,
                Err(e) => panic!("clerk {}: Get({key:?}) returned {e}, which a Get never returns", self.id),
            }
        });
        result
    }

    fn put(&self, key: &str, value: &str, version: Version) -> Result<(), KvError> {
        let mut result = Ok(());
        self.run(VersionedInput::put(key, value, version), || {
            result = self.ck.put(key, value, version);
            match result {
                Ok(()) => VersionedOutput::Ok,
                Err(KvError::NoKey) => VersionedOutput::NoKey,
                Err(KvError::Version) => VersionedOutput::Version,
                Err(KvError::Maybe) => VersionedOutput::Maybe,
            }
        });
        result
    }
}

/// What a client of the concurrent-put test did (6.5840's `ClntRes`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClntRes {
    /// Puts that returned OK.
    pub nok: u64,
    /// Puts that returned ErrMaybe.
    pub nmaybe: u64,
}

/// The value a concurrent-put client writes: its id and the version it put at (6.5840's
/// JSON `EntryV{Id, V}`).
pub fn entry(me: usize, version: Version) -> String {
    format!("{{\"Id\":{me},\"V\":{version}}}")
}

/// Parses a value made by [`entry`].
pub fn parse_entry(v: &str) -> Option<(usize, Version)> {
    let v = v.strip_prefix("{\"Id\":")?.strip_suffix('}')?;
    let (id, ver) = v.split_once(",\"V\":")?;
    Some((id.parse().ok()?, ver.parse().ok()?))
}

/// 6.5840's `OnePut`: puts [`entry`]`(me, ver)` to `key` at `ver` until a put returns OK or
/// ErrMaybe, reading the key after each try; returns the version read last and whether the
/// put returned OK.
pub fn one_put(me: usize, ck: &dyn KvClerk, key: &str, mut ver: Version) -> (Version, bool) {
    loop {
        let err = ck.put(key, &entry(me, ver), ver);
        if let Err(e @ KvError::NoKey) = err {
            panic!(
                "client {me}: Put({key:?}) at version {ver} returned {e}, but the key exists: Wrong error"
            );
        }
        let (value, ver0) = ck
            .get(key)
            .unwrap_or_else(|e| panic!("client {me}: Get({key:?}) returned {e}, but the key exists"));
        if err.is_ok() && ver0 == ver + 1 {
            // My put, unless another was applied at the same version.
            if parse_entry(&value) != Some((me, ver)) {
                panic!(
                    "Wrong value {value:?}: client {me}'s Put at version {ver} returned OK and the version is now \
                     {ver0}, so the value must be its own (rule: a Put applies only at the key's version, and \
                     bumps it)"
                );
            }
        }
        ver = ver0;
        match err {
            Ok(()) => return (ver, true),
            Err(KvError::Maybe) => return (ver, false),
            Err(_) => {}
        }
    }
}

/// 6.5840's `CheckPutConcurrent`: reads `key`'s version and compares it with the puts the
/// clients say were applied: on a reliable network it is exactly the OKs; on an unreliable
/// one at most the OKs and Maybes.
pub fn check_put_concurrent(ck: &dyn KvClerk, key: &str, res: &[ClntRes], reliable: bool) {
    let (_, ver) = ck.get(key).unwrap_or_else(|e| panic!("Get({key:?}) returned {e}, but the key exists"));
    let nok: u64 = res.iter().map(|r| r.nok).sum();
    let nmaybe: u64 = res.iter().map(|r| r.nmaybe).sum();
    if reliable && ver != nok {
        panic!(
            "Reliable: Wrong number of puts: server {ver} clnts {nok} OK: the key's version must count the puts \
             applied, and every OK put was applied exactly once (rule: a Put applies only at the key's version)"
        );
    }
    if !reliable && ver > nok + nmaybe {
        panic!(
            "Unreliable: Wrong number of puts: server {ver} clnts {nok} OK + {nmaybe} ErrMaybe: a put was applied \
             more than once, or one that returned ErrVersion was applied (rule: a Put applies only at the key's \
             version)"
        );
    }
}
