//! The Lab 1 tester: the MapReduce cluster the suite in `mapreduce-tests/tests/` drives
//! (6.5840's `mr_test.go`, `util.go` and `mrcoordinator.go`; docs/lab1-mapreduce.md), on the test
//! kit's [`Frame`] and [`Ends`].
//!
//! A [`Config`] writes the input files into the world's file system (`labs::fs`), starts the
//! coordinator on node `coordinator` (registered on a labrpc network under that name, polled
//! with `done()` once a second, and taken away a second after it says yes, as `mrcoordinator`
//! exits), and starts workers on nodes `worker-<i>`, each with its own end to the coordinator.
//! It sees every process exit ([`Config::next_exit`]), can start a replacement for each worker
//! that exits, and merges the output files `mr-out-*` as 6.5840 does (`sort mr-out* | grep .`).
//!
//! Beyond 6.5840's checks of the output, the tester watches every run for the rules of the lab
//! (the handout's table) and fails with the rule's name as soon as one is broken:
//!
//! * **reduce after map**: no reduce may start (and no worker may read a missing file) while
//!   some input's map has never finished;
//! * **re-issue after 10 s**: a map task goes to a second worker only 10 s or more after it
//!   went to the first, while the first is alive (a second `map()` of the same file on another
//!   worker sooner fails);
//! * **atomic output**: an output file `mr-out-X` must never be visible partly written (the
//!   file system's journal shows every state of every `mr-out-X`: one made in place, by create
//!   and writes, is visible empty first);
//! * **Done**: `done()` may say yes only when every reduce whose key is in the output has
//!   finished;
//! * **termination**: the job must not stall while every worker has exited, workers must exit
//!   within [`EXIT_AFTER_COORDINATOR`] of the coordinator, and a job that makes no progress
//!   for [`STALL_LIMIT`] fails naming the crashed workers whose tasks were never re-issued.
//!
//! The applications ([`apps`]) are wrapped so that the tester sees every map and reduce call,
//! with its worker and its start and end times. The tester drives any [`MrImpl`]; the lab's is
//! [`Reference`].

pub mod apps;
pub mod inputs;

use labrpc::{ClientEnd, Network, Server, Service};
use labs::events::{self, EventKind};
use labs::fs;
use labs::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use labs::sync::{Arc, Mutex, Receiver, Sender, unbounded};
use labs::thread::JoinError;
use labs::time::{Duration, Instant, sleep};
use labs::world::{Node, World};
use mapreduce::{App, KeyValue};
use std::collections::BTreeMap;
use testkit::{Ends, Frame};

pub use apps::Workers;
pub use testkit::TEST_TIME_LIMIT;

/// 6.5840's `nReduce` in `mrcoordinator`.
pub const N_REDUCE: usize = 10;

/// The coordinator's network name.
pub const COORDINATOR: &str = "coordinator";

/// The lab's re-issue rule: a task not finished this long after it was handed out goes to
/// another worker, and never sooner.
pub const REISSUE_AFTER: Duration = Duration::from_secs(10);

/// The re-issue monitor's slack: a worker's `map()` starts a little after its task was handed
/// out, so a second call of the same map on another worker fails the rule only if it starts
/// less than `REISSUE_AFTER - REISSUE_SLACK` after the first.
pub const REISSUE_SLACK: Duration = Duration::from_secs(1);

/// Workers must have exited this long after the coordinator did (a worker may be stalled inside
/// the crash application for up to 10 s when the job ends).
pub const EXIT_AFTER_COORDINATOR: Duration = Duration::from_secs(20);

/// A job in which no map or reduce call starts or finishes for this long fails: with the
/// 10 s re-issue rule, a correct coordinator never lets that happen.
pub const STALL_LIMIT: Duration = Duration::from_secs(30);

/// What the tester needs from a Lab 1 implementation: the coordinator and the worker, as a
/// trait so that the tester's own tests can drive deliberately broken ones.
pub trait MrImpl: 'static {
    /// The coordinator.
    type Coordinator: Send + Sync + 'static;
    /// 6.5840's `MakeCoordinator`.
    fn make_coordinator(files: Vec<String>, n_reduce: usize) -> Self::Coordinator;
    /// The labrpc service with the coordinator's handlers.
    fn service(coordinator: &Arc<Self::Coordinator>) -> Service;
    /// `Done()`.
    fn done(coordinator: &Self::Coordinator) -> bool;
    /// 6.5840's `Worker`: runs until the job is done.
    fn worker(coordinator: ClientEnd, app: Arc<dyn App>);
}

/// The lab's coordinator and worker (the student's code).
pub struct Reference;

impl MrImpl for Reference {
    type Coordinator = mapreduce::Coordinator;
    fn make_coordinator(files: Vec<String>, n_reduce: usize) -> mapreduce::Coordinator {
        mapreduce::Coordinator::new(files, n_reduce)
    }
    fn service(coordinator: &Arc<mapreduce::Coordinator>) -> Service {
        coordinator.service()
    }
    fn done(coordinator: &mapreduce::Coordinator) -> bool {
        coordinator.done()
    }
    fn worker(coordinator: ClientEnd, app: Arc<dyn App>) {
        mapreduce::worker(coordinator, app);
    }
}

/// Who exited.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Who {
    /// The coordinator (a second after `done()` said yes).
    Coordinator,
    /// Worker `i` (node `worker-<i>`).
    Worker(usize),
}

/// A process exit, as [`Config::next_exit`] reports it.
#[derive(Clone, Debug)]
pub struct Exit {
    /// Who exited.
    pub who: Who,
    /// When.
    pub at: Instant,
    /// Whether it crashed (its node was killed) rather than returned.
    pub crashed: bool,
}

/// One map or reduce call, as the tester saw it.
#[derive(Clone, Debug)]
struct Call {
    node: String,
    start: Instant,
    end: Option<Instant>,
}

/// What the tester saw of the calls into the application.
#[derive(Default)]
struct Seen {
    /// Input file -> its map calls, in order.
    maps: BTreeMap<String, Vec<Call>>,
    /// Reduce key -> its reduce calls, in order.
    reduces: BTreeMap<String, Vec<Call>>,
    /// The last time a call started or finished.
    last_activity: Option<Instant>,
    /// When `done()` first said yes.
    done_at: Option<Instant>,
}

struct Shared {
    frame: Frame,
    net: Network,
    ends: Ends,
    workers: Workers,
    inputs: Vec<String>,
    seen: Mutex<Seen>,
    exits: (Sender<Exit>, Receiver<Exit>),
    next_worker: AtomicUsize,
    /// Workers started and not yet exited.
    running: AtomicUsize,
    coordinator_exited: AtomicBool,
    /// When the coordinator exited.
    coordinator_exit_at: Mutex<Option<Instant>>,
    /// The world's clock (`events::now`) when the test began, for the file-system journal's
    /// times.
    start_ns: u64,
    /// When the last worker exited.
    last_worker_exit: Mutex<Option<Instant>>,
    start: Instant,
    /// Extra faults for the file-system hook (the crash-between-write-and-rename test).
    fault: Mutex<Option<Arc<FaultFn>>>,
    /// When the test began, and the RPCs made before, for the `Passed` line.
    begun: Mutex<(Instant, u64)>,
}

/// A test's extra file-system fault: called before each file-system call of a worker, with the
/// call and the worker's name; returns true to crash the worker there.
pub type FaultFn = dyn Fn(&fs::Call<'_>, &str) -> bool + Send + Sync;

/// The time since the test began, in seconds, for messages.
fn secs(shared: &Shared, t: Instant) -> f64 {
    t.duration_since(shared.start).as_secs_f64()
}

/// An application as the tester runs it: every call recorded, and the rules about calls
/// checked as they happen.
struct Observed {
    inner: Arc<dyn App>,
    shared: Arc<Shared>,
}

impl App for Observed {
    fn map(&self, filename: &str, contents: &str) -> Vec<KeyValue> {
        let node = apps::me();
        let now = Instant::now();
        let (index, too_soon) = {
            let mut seen = self.shared.seen.lock();
            seen.last_activity = Some(now);
            let calls = seen.maps.entry(filename.to_string()).or_default();
            let too_soon = calls
                .iter()
                .rev()
                .find(|c| c.node != node)
                .filter(|prev| now.duration_since(prev.start) < REISSUE_AFTER - REISSUE_SLACK)
                // A dead worker's task may go sooner (a coordinator that hears heartbeats may
                // know it is dead); a live worker's may not.
                .filter(|prev| self.shared.workers.is_alive(&prev.node))
                .cloned();
            calls.push(Call { node: node.clone(), start: now, end: None });
            (calls.len() - 1, too_soon)
        };
        if let Some(prev) = too_soon {
            self.shared.frame.fail(format!(
                "the map of {filename} began on {node} at {:.1} s, only {:.1} s after it began on {} (which {}): a task \
                 may go to another worker only when it has not finished {} s after it was handed out (rule: re-issue \
                 after 10 s, never sooner)",
                secs(&self.shared, now),
                now.duration_since(prev.start).as_secs_f64(),
                prev.node,
                match prev.end {
                    Some(e) => format!("had finished it at {:.1} s", secs(&self.shared, e)),
                    None => "had not finished it".to_string(),
                },
                REISSUE_AFTER.as_secs()
            ));
        }
        let out = self.inner.map(filename, contents);
        let end = Instant::now();
        let mut seen = self.shared.seen.lock();
        seen.last_activity = Some(end);
        if let Some(c) = seen.maps.get_mut(filename).and_then(|c| c.get_mut(index)) {
            c.end = Some(end);
        }
        out
    }

    fn reduce(&self, key: &str, values: &[String]) -> String {
        let node = apps::me();
        let now = Instant::now();
        let index = {
            let mut seen = self.shared.seen.lock();
            seen.last_activity = Some(now);
            let unfinished = unfinished_map(&self.shared, &seen);
            let calls = seen.reduces.entry(key.to_string()).or_default();
            calls.push(Call { node: node.clone(), start: now, end: None });
            let index = calls.len() - 1;
            drop(seen);
            if let Some(file) = unfinished {
                self.shared.frame.fail(format!(
                    "{node} began a reduce (of key {key:?}) at {:.1} s, but no map of {file} had finished yet: a reduce \
                     task may start only when every map task is done (rule: reduce after map)",
                    secs(&self.shared, now)
                ));
            }
            index
        };
        let out = self.inner.reduce(key, values);
        let end = Instant::now();
        let mut seen = self.shared.seen.lock();
        seen.last_activity = Some(end);
        if let Some(c) = seen.reduces.get_mut(key).and_then(|c| c.get_mut(index)) {
            c.end = Some(end);
        }
        out
    }
}

/// An input file no map call has finished for yet, if any.
fn unfinished_map(shared: &Shared, seen: &Seen) -> Option<String> {
    shared
        .inputs
        .iter()
        .find(|f| !seen.maps.get(*f).is_some_and(|calls| calls.iter().any(|c| c.end.is_some())))
        .cloned()
}

/// A MapReduce job under test. Dropping it kills every node and closes the network.
pub struct Config<K: MrImpl = Reference> {
    shared: Arc<Shared>,
    app: Arc<dyn App>,
    inputs: Vec<(String, String)>,
    coordinator: Mutex<Option<Node>>,
    _k: std::marker::PhantomData<fn() -> K>,
}

impl<K: MrImpl> Config<K> {
    /// A job over `inputs` (file name, contents), whose workers will run `app`: writes the
    /// inputs into the file system and starts watching the output files. Nothing runs yet.
    pub fn new(inputs: Vec<(String, String)>, app: Arc<dyn App>) -> Config<K> {
        Config::with_workers(inputs, app, Workers::default())
    }

    /// [`Config::new`], registering the workers in `workers` (the registry that `mtiming` and
    /// `rtiming` ask).
    pub fn with_workers(inputs: Vec<(String, String)>, app: Arc<dyn App>, workers: Workers) -> Config<K> {
        let net = Network::new();
        let frame = Frame::new(&net, "an RPC handler of the coordinator");
        for (name, text) in &inputs {
            fs::write(name, text.as_bytes())
                .unwrap_or_else(|e| panic!("tester: cannot write the input {name}: {e}"));
        }
        fs::watch("mr-out-").expect("inside a world");
        let shared = Arc::new(Shared {
            frame,
            ends: Ends::new(&net),
            net,
            workers,
            inputs: inputs.iter().map(|(n, _)| n.clone()).collect(),
            seen: Mutex::new(Seen::default()),
            exits: unbounded(),
            next_worker: AtomicUsize::new(0),
            running: AtomicUsize::new(0),
            coordinator_exited: AtomicBool::new(false),
            coordinator_exit_at: Mutex::new(None),
            start_ns: events::now(),
            last_worker_exit: Mutex::new(None),
            start: Instant::now(),
            fault: Mutex::new(None),
            begun: Mutex::new((Instant::now(), 0)),
        });
        let hooked = shared.clone();
        fs::set_fault_hook(move |call| file_system_monitor(&hooked, call)).expect("inside a world");
        let app: Arc<dyn App> = Arc::new(Observed { inner: app, shared: shared.clone() });
        Config { shared, app, inputs, coordinator: Mutex::new(None), _k: std::marker::PhantomData }
    }

    /// The registry of workers (for the applications that count live workers).
    pub fn workers(&self) -> Workers {
        self.shared.workers.clone()
    }

    /// The input files (names and contents).
    pub fn inputs(&self) -> &[(String, String)] {
        &self.inputs
    }

    /// Notes the test's title (`Test (1): word count`, printed with its `Passed` line) and
    /// starts its statistics.
    pub fn begin(&self, title: &str) {
        self.shared.frame.begin(title);
        *self.shared.begun.lock() = (Instant::now(), self.shared.net.total_count());
    }

    /// Sets the test's time limit (the world's must be at least as long: see
    /// `labs::harness::run_test_with`). 6.5840's 2026 crash test has none but `go test`'s 10
    /// minutes; `crash_worker_1` takes 300 s.
    pub fn set_time_limit(&self, limit: Duration) {
        self.shared.frame.set_time_limit(limit);
    }

    /// Fails the test if it has run longer than its time limit, naming the test and the steps
    /// in progress.
    fn check_time_limit(&self) {
        self.shared.frame.check_time_limit();
    }

    /// Sets a fault: `f` is asked before each file-system call of a worker whether to crash
    /// the worker there (see [`FaultFn`]).
    pub fn set_fault(&self, f: impl Fn(&fs::Call<'_>, &str) -> bool + Send + Sync + 'static) {
        *self.shared.fault.lock() = Some(Arc::new(f));
    }

    /// Starts the coordinator over the input files (6.5840's `mrcoordinator`): makes it on its
    /// node, registers its service, and polls `done()` once a second on the node's main
    /// thread; a second after `done()` says yes, the coordinator exits (its server leaves the
    /// network and its node dies).
    pub fn start_coordinator(&self) {
        let node = World::current().node(COORDINATOR);
        let files: Vec<String> = self.inputs.iter().map(|(n, _)| n.clone()).collect();
        let frame = self.shared.frame.clone();
        let c = Arc::new(node.enter(|| {
            frame.guarded("the coordinator", "Coordinator::new()", || K::make_coordinator(files, N_REDUCE))
        }));
        let server = Server::new(&node);
        server.add_service(K::service(&c));
        self.shared.net.add_server(COORDINATOR, server);
        let shared = self.shared.clone();
        let main = node.spawn("main", move || {
            while !shared.frame.guarded("the coordinator", "done()", || K::done(&c)) {
                sleep(Duration::from_secs(1));
            }
            let now = Instant::now();
            shared.seen.lock().done_at = Some(now);
            events::note(format!("done() said yes at {:.1} s", secs(&shared, now)));
            sleep(Duration::from_secs(1));
        });
        let shared = self.shared.clone();
        let n = node.clone();
        labs::thread::spawn("coordinator-exit", move || {
            let r = main.join();
            shared.net.delete_server(COORDINATOR);
            n.kill();
            let at = Instant::now();
            *shared.coordinator_exit_at.lock() = Some(at);
            shared.coordinator_exited.store(true, Ordering::Relaxed);
            let _ = shared.exits.0.send(Exit { who: Who::Coordinator, at, crashed: r.is_err() });
        });
        *self.coordinator.lock() = Some(node);
    }

    /// Starts a new worker on node `worker-<i>` with a fresh end to the coordinator, and
    /// returns `i`. When the worker returns (or its node is killed), its node dies and the
    /// exit is reported to [`Config::next_exit`].
    pub fn start_worker(&self) -> usize {
        let i = self.shared.next_worker.fetch_add(1, Ordering::Relaxed);
        let node = World::current().node(format!("worker-{i}"));
        self.shared.workers.add(&node);
        self.shared.running.fetch_add(1, Ordering::Relaxed);
        let end = self.shared.ends.make(COORDINATOR);
        let app = self.app.clone();
        let main = node.spawn("main", move || K::worker(end, app));
        let shared = self.shared.clone();
        labs::thread::spawn(format!("worker-{i}-exit"), move || {
            let r = main.join();
            let crashed = node.is_killed();
            node.kill();
            let at = Instant::now();
            *shared.last_worker_exit.lock() = Some(at);
            shared.running.fetch_sub(1, Ordering::Relaxed);
            if let Err(JoinError::Panicked(msg)) = &r {
                shared.frame.fail(format!("thread 'main' of node 'worker-{i}' panicked: {msg}"));
            }
            let _ = shared.exits.0.send(Exit { who: Who::Worker(i), at, crashed });
        });
        i
    }

    /// Waits for the next process exit, checking the termination rules while it waits (see
    /// the crate's documentation).
    pub fn next_exit(&self) -> Exit {
        loop {
            if let Ok(e) = self.shared.exits.1.recv_timeout(Duration::from_secs(1)) {
                let what = match (&e.who, e.crashed) {
                    (Who::Coordinator, _) => "the coordinator exited".to_string(),
                    (Who::Worker(i), true) => format!("worker-{i} crashed"),
                    (Who::Worker(i), false) => format!("worker-{i} exited"),
                };
                events::note(what);
                return e;
            }
            self.check_progress();
        }
    }

    /// Fails the test if the job is stuck: every worker gone while the coordinator runs (and
    /// `replacing` is false), or no call into the application for [`STALL_LIMIT`].
    fn check_progress(&self) {
        let sh = &self.shared;
        self.check_time_limit();
        sh.frame.check_failures();
        let now = Instant::now();
        let seen = sh.seen.lock();
        if seen.done_at.is_some() || sh.coordinator_exited.load(Ordering::Relaxed) {
            return;
        }
        let last = seen.last_activity.unwrap_or(sh.start);
        if now.duration_since(last) > STALL_LIMIT {
            let lost: Vec<String> = seen
                .maps
                .iter()
                .map(|(f, c)| (format!("the map of {f}"), c))
                .chain(seen.reduces.iter().map(|(k, c)| (format!("the reduce of key {k:?}"), c)))
                .filter(|(_, calls)| calls.iter().all(|c| c.end.is_none()))
                .filter_map(|(what, calls)| {
                    let c = calls.last()?;
                    (!sh.workers.is_alive(&c.node))
                        .then(|| format!("{what} ({} died in it at {:.1} s)", c.node, secs(sh, c.start)))
                })
                .collect();
            if lost.is_empty() {
                // Nothing sits with a dead worker: a slow job (say, assignments lost by an
                // unreliable network, each costing a 10 s re-issue) is not this rule's concern;
                // the time limit bounds it.
                return;
            }
            panic!(
                "the job made no progress for {} s (no map or reduce call began or ended since {:.1} s, and done() is \
                 false): tasks given to workers that died were never given to another: {} (rule: re-issue a task \
                 that has not finished {} s after it was handed out)",
                STALL_LIMIT.as_secs(),
                secs(sh, last),
                lost.join("; "),
                REISSUE_AFTER.as_secs()
            );
        }
    }

    /// Waits until the coordinator and every worker have exited (the coordinator first, the
    /// workers within [`EXIT_AFTER_COORDINATOR`] after it). With `replace`, each worker that
    /// exits while the coordinator runs is replaced: at once if it crashed, after 1 s if it
    /// returned (6.5840's restart loops; the pause keeps workers that exit because the job is
    /// over from being restarted without end). Returns the exits in order.
    pub fn wait_all(&self, replace: bool) -> Vec<Exit> {
        let mut exits = Vec::new();
        let mut pending_restart: Vec<Instant> = Vec::new();
        loop {
            let coordinator_gone = self.shared.coordinator_exited.load(Ordering::Relaxed);
            if coordinator_gone
                && self.shared.running.load(Ordering::Relaxed) == 0
                && self.shared.exits.1.is_empty()
            {
                break;
            }
            let gone_at = *self.shared.coordinator_exit_at.lock();
            if let Some(gone_at) = gone_at
                && gone_at.elapsed() > EXIT_AFTER_COORDINATOR
            {
                let alive = self.shared.workers.alive();
                panic!(
                    "{} still running {} s after the coordinator exited: when the coordinator is gone (or says the job \
                     is done), the job is over and workers must exit (rule: termination)",
                    match alive.as_slice() {
                        [one] => format!("{one} is"),
                        many => format!("{} are", many.join(", ")),
                    },
                    EXIT_AFTER_COORDINATOR.as_secs()
                );
            }
            // Every worker gone, the coordinator still there: done() is polled once a second and
            // the coordinator lingers a second, so 3 s is enough for a job that is done.
            if !replace
                && !coordinator_gone
                && self.shared.running.load(Ordering::Relaxed) == 0
                && self.shared.exits.1.is_empty()
            {
                let since = self.shared.last_worker_exit.lock().unwrap_or(self.shared.start);
                if since.elapsed() > Duration::from_secs(3) {
                    self.shared.frame.check_failures();
                    panic!(
                        "every worker has exited (the last at {:.1} s), but the coordinator's done() still says no \
                         3 s later: a worker must keep asking for tasks until the job is done, also when there is no \
                         task for it right now, and a lost RPC on an unreliable network does not mean the \
                         coordinator is gone (rule: termination)",
                        secs(&self.shared, since)
                    );
                }
            }
            // Restarts that are due.
            let now = Instant::now();
            while replace && !coordinator_gone && pending_restart.first().is_some_and(|t| *t <= now) {
                pending_restart.remove(0);
                self.start_worker();
            }
            let wait = pending_restart.first().map_or(Duration::from_millis(100), |t| {
                t.duration_since(now).min(Duration::from_millis(100))
            });
            let Ok(e) = self.shared.exits.1.recv_timeout(wait) else {
                self.check_progress();
                continue;
            };
            if let Who::Worker(i) = e.who {
                events::note(if e.crashed {
                    format!("worker-{i} crashed")
                } else {
                    format!("worker-{i} exited")
                });
                let coordinator_gone = self.shared.coordinator_exited.load(Ordering::Relaxed);
                if replace && !coordinator_gone {
                    pending_restart.push(if e.crashed { e.at } else { e.at + Duration::from_secs(1) });
                    pending_restart.sort();
                }
            } else {
                events::note("the coordinator exited");
            }
            exits.push(e);
        }
        self.check_rules();
        exits
    }

    /// The output as 6.5840 merges it: every non-empty line of every file `mr-out-<digit>*`
    /// at the root, sorted (all read at one instant). Fails if there is no output file.
    pub fn merged_output(&self) -> Vec<String> {
        self.output_lines().unwrap_or_else(|| panic!("reduce created no mr-out-X output files!"))
    }

    /// [`Config::merged_output`], or `None` if there is no output file.
    pub fn output_lines(&self) -> Option<Vec<String>> {
        let files = fs::snapshot("mr-out-").expect("inside a world");
        let outputs: Vec<(&String, &Vec<u8>)> = files
            .iter()
            .filter(|(p, _)| {
                !p.contains('/') && p["mr-out-".len()..].starts_with(|c: char| c.is_ascii_digit())
            })
            .collect();
        if outputs.is_empty() {
            return None;
        }
        let mut lines: Vec<String> = outputs
            .iter()
            .flat_map(|(_, data)| {
                String::from_utf8_lossy(data).lines().map(str::to_string).collect::<Vec<_>>()
            })
            .filter(|l| !l.is_empty())
            .collect();
        lines.sort();
        Some(lines)
    }

    /// 6.5840's `mkCorrectOutput`: `mrsequential`'s output with `app`.
    pub fn correct_output(&self, app: &dyn App) -> Vec<String> {
        labs::world::compute(|| apps::sequential(app, &self.inputs))
    }

    /// Compares the merged output with `want`: fails with 6.5840's message, the first line
    /// that differs, and the line counts.
    pub fn check_output(&self, name: &str, want: &[String]) {
        let got = self.merged_output();
        if got == want {
            return;
        }
        let i = got.iter().zip(want).position(|(a, b)| a != b).unwrap_or(got.len().min(want.len()));
        panic!(
            "incorrect combined reduce output: mr-{name}-all.txt vs mr-{name}-correct.txt: {} lines vs {}; first \
             difference at sorted line {}: got {:?}, want {:?}",
            got.len(),
            want.len(),
            i + 1,
            got.get(i).map_or("(nothing)", String::as_str),
            want.get(i).map_or("(nothing)", String::as_str),
        );
    }

    /// What the tester saw of one input's map calls: (worker, start, end) in seconds since
    /// the test began, for messages.
    pub fn map_calls(&self) -> BTreeMap<String, Vec<(String, f64, Option<f64>)>> {
        let seen = self.shared.seen.lock();
        seen.maps
            .iter()
            .map(|(f, calls)| {
                let v = calls
                    .iter()
                    .map(|c| {
                        (c.node.clone(), secs(&self.shared, c.start), c.end.map(|e| secs(&self.shared, e)))
                    })
                    .collect();
                (f.clone(), v)
            })
            .collect()
    }

    /// The rules checked at the end of a run: atomic output and Done (see the crate's
    /// documentation).
    pub fn check_rules(&self) {
        self.shared.frame.check_failures();
        self.check_atomic_output();
        self.check_done();
    }

    /// Atomic output: no state of an `mr-out-X` file made in place (created, or written
    /// through a handle) was smaller than the file in the end.
    fn check_atomic_output(&self) {
        let finals = fs::snapshot("mr-out-").expect("inside a world");
        for c in fs::journal() {
            if c.path.contains('/') || !c.path["mr-out-".len()..].starts_with(|ch: char| ch.is_ascii_digit())
            {
                continue;
            }
            let Some(final_size) = finals.get(&c.path).map(|d| d.len() as u64) else { continue };
            let in_place = matches!(c.kind, fs::ChangeKind::Created | fs::ChangeKind::Written);
            if in_place && c.size.is_some_and(|s| s < final_size) {
                panic!(
                    "{} was visible half-written: {} {} it in place at {:.1} s, leaving {} of its {final_size} bytes \
                     for any reader (a reduce, the tester, a crash) to see; write a temporary file and rename it to \
                     {} once it is complete (rule: atomic output)",
                    c.path,
                    c.node,
                    if c.kind == fs::ChangeKind::Created { "created" } else { "was writing" },
                    c.t.saturating_sub(self.shared.start_ns) as f64 / 1e9,
                    c.size.unwrap_or(0),
                    c.path
                );
            }
        }
    }

    /// Done: `done()` said yes only after every reduce of a key in the output had finished.
    fn check_done(&self) {
        let Some(done_at) = self.shared.seen.lock().done_at else { return };
        let Some(lines) = self.output_lines() else { return };
        let seen = self.shared.seen.lock();
        for line in lines {
            let key = line.split(' ').next().unwrap_or_default();
            let Some(calls) = seen.reduces.get(key) else { continue };
            let first_end = calls.iter().filter_map(|c| c.end).min();
            if first_end.is_none_or(|e| e > done_at) {
                let running: Vec<String> = calls
                    .iter()
                    .filter(|c| c.start <= done_at)
                    .map(|c| format!("{} since {:.1} s", c.node, secs(&self.shared, c.start)))
                    .collect();
                panic!(
                    "done() said yes at {:.1} s, but the reduce of key {key:?} had not finished then ({}; the first to \
                     finish did so {}): done() must say yes only when every reduce task's output file is in place \
                     (rule: Done)",
                    secs(&self.shared, done_at),
                    if running.is_empty() {
                        "it had not begun".to_string()
                    } else {
                        format!("running on {}", running.join(", "))
                    },
                    match first_end {
                        Some(e) => format!("at {:.1} s", secs(&self.shared, e)),
                        None => "never".to_string(),
                    }
                );
            }
        }
    }

    /// Ends a test that passed: checks the time limit, then prints
    /// `  ... Passed --  time %4.1fs #workers %d #RPCs %5d #map calls %d #reduce calls %d`.
    pub fn end(&self) {
        let workers = self.shared.next_worker.load(Ordering::Relaxed);
        let (maps, reduces) = {
            let seen = self.shared.seen.lock();
            (
                seen.maps.values().map(Vec::len).sum::<usize>(),
                seen.reduces.values().map(Vec::len).sum::<usize>(),
            )
        };
        self.check_time_limit();
        self.shared.frame.check_failures();
        let (t0, rpcs0) = *self.shared.begun.lock();
        let (secs, rpcs) = (t0.elapsed().as_secs_f64(), self.shared.net.total_count() - rpcs0);
        self.shared.frame.print_result(&format!(
            "  ... Passed --  time {secs:4.1}s #workers {workers} #RPCs {rpcs:5} #map calls {maps} #reduce calls {reduces}"
        ));
    }

    /// Makes the network unreliable.
    pub fn set_unreliable(&self) {
        events::record(EventKind::Fault { what: "network unreliable".into() });
        self.shared.net.set_reliable(false);
    }

    /// Every RPC made on the network so far.
    pub fn rpc_total(&self) -> u64 {
        self.shared.net.total_count()
    }

    /// The workers running now.
    pub fn running(&self) -> usize {
        self.shared.running.load(Ordering::Relaxed)
    }

    /// The map calls in progress now, as (file, worker).
    pub fn maps_in_progress(&self) -> Vec<(String, String)> {
        let seen = self.shared.seen.lock();
        seen.maps
            .iter()
            .flat_map(|(f, calls)| {
                calls.iter().filter(|c| c.end.is_none()).map(|c| (f.clone(), c.node.clone()))
            })
            .filter(|(_, n)| self.shared.workers.is_alive(n))
            .collect()
    }
}

impl<K: MrImpl> Drop for Config<K> {
    /// 6.5840's cleanup: kills every node and closes the network (unless the test failed).
    fn drop(&mut self) {
        let shared = self.shared.clone();
        let coordinator = self.coordinator.lock().take();
        shared.frame.finish(|| {
            fs::clear_fault_hook();
            if let Some(n) = coordinator {
                n.kill();
            }
            shared.workers.kill_all();
        });
    }
}

/// The file-system hook of every run: the test's own fault first, then the rule "no reduce
/// reads before every map is done" at the moment a worker reads a file that does not exist
/// (a reduce started too early reads a missing intermediate file, and may crash on it).
fn file_system_monitor(shared: &Arc<Shared>, call: &fs::Call<'_>) {
    let Some(node) = labs::thread::current_node() else { return };
    if !node.name().starts_with("worker-") {
        return;
    }
    let fault = shared.fault.lock().clone();
    if let Some(f) = fault
        && f(call, node.name())
    {
        events::record(EventKind::Fault {
            what: format!("crash {} before {:?} {}", node.name(), call.op, call.path),
        });
        apps::crash_self();
    }
    if call.op == fs::Op::Read && !fs::exists(call.path) {
        let seen = shared.seen.lock();
        if let Some(file) = unfinished_map(shared, &seen) {
            drop(seen);
            let msg = format!(
                "{} read {}, which does not exist, while no map of {file} had finished: a reduce task may start only \
                 when every map task is done (rule: reduce after map)",
                node.name(),
                call.path
            );
            shared.frame.fail(msg);
            // Under sim the world is ending: the next runtime call unwinds this thread.
            labs::thread::yield_now();
        }
    }
}
