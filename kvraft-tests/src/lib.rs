//! The Lab 4 tester: the KV cluster the suites in `kvraft-tests/tests/` drive (6.5840's
//! `kvraft/config.go` and `test_test.go` helpers, and `GenericTest`), on the test
//! kit's [`Frame`] and [`Group`].
//!
//! A [`Config`] runs `n` [`KvServer`]s as a [`Group`] on a labrpc network (long delays off, so
//! a call on a cut link fails within 100 ms), makes clerks with their own ends
//! ([`Config::make_client`]), partitions, crashes and restarts servers, and checks:
//!
//! * every clerk operation made through a [`TestClerk`] is recorded in one history, which
//!   [`Config::end`] runs through the linearizability checker with the KV model. A history
//!   that is not linearizable fails the test with the checker's explanation and the path of
//!   an HTML visualisation; a check that does not finish within [`LINEARIZABILITY_BUDGET`] is
//!   a failure too, never a pass (6.5840 passes it);
//! * a panic in an RPC handler fails the test;
//! * [`Config::end`] prints the 6.5840 line `  ... Passed --  %4.1f  %d %5d %4d` (seconds,
//!   servers, RPCs including clerks', clerk operations).
//!
//! [`generic_test`] and [`generic_test_speed`] are 6.5840's `GenericTest` and
//! `GenericTestSpeed`. [`rsm`] is the tester of the rsm suite.
//!
//! Faults (partitions, connections, crashes) and every clerk operation are recorded as
//! events of the run, and the checker's verdict as a `Verdict` event. Each clerk runs its
//! operations as its own node (`clerk-<id>`), so that what it logs is tagged with it, and
//! each operation is a step of the test's frame (a test that reaches the 120 s limit names the
//! operations still waiting).
//!
//! The tester drives any implementation of [`KvImpl`]; [`Config`] defaults to the lab's
//! ([`Reference`] is the student's `kvraft` crate), so that the tests of the tester can run
//! the suites on broken services.

pub mod rsm;

use labrpc::{ClientEnd, Network, Service};
use labs::events::{self, EventKind};
use labs::persister::Persister;
use labs::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use labs::sync::{Arc, Mutex};
use labs::time::{Duration, Instant, sleep};
use labs::world::World;
use linearizability::{KvInput, KvModel, KvOutput, Model};
use std::collections::BTreeMap;
use testkit::history::History;
use testkit::{Ends, Frame, Group, Spec, Start, Wiring};

pub use testkit::TEST_TIME_LIMIT;

/// 6.5840's `electionTimeout`: generously, one election.
pub const ELECTION_TIMEOUT: Duration = Duration::from_secs(1);

/// The time budget of the linearizability check (wall-clock time). 6.5840 gives it 1 s and
/// passes a check that runs out; here running out fails the test, so the budget is generous.
pub const LINEARIZABILITY_BUDGET: Duration = Duration::from_secs(20);

/// The generic test's clients pause a random 0 to `2 * CLIENT_PAUSE_MS` ms before each
/// operation (6.5840's loop as fast as they can). Under the simulator the network and the
/// CPUs are infinitely fast, so an unpaced client makes thousands of operations per second,
/// and values grow (each client appends to its own key) until every `Get` moves hundreds of
/// kilobytes. With the pause a run makes a few hundred operations per client per iteration,
/// as the 6.5840 sample outputs show.
pub const CLIENT_PAUSE_MS: u64 = 10;

/// What the tester needs from a KV service: the lab's server and clerk, as a trait so that
/// the tester's own tests can drive deliberately broken services.
pub trait KvImpl: 'static {
    /// The KV server ([`kvraft::KvServer`]).
    type Server: Clone + Send + Sync + 'static;
    /// The clerk ([`kvraft::Clerk`]).
    type Clerk: Send + 'static;
    /// `KvServer::new`.
    fn server(peers: Vec<ClientEnd>, me: usize, persister: Persister, maxraftstate: i64) -> Self::Server;
    /// The labrpc services to register: the KV service and the Raft peer's.
    fn services(s: &Self::Server) -> Vec<Service>;
    /// `KvServer::kill`.
    fn kill(s: &Self::Server);
    /// Whether the server's Raft peer claims to lead.
    fn leads(s: &Self::Server) -> bool;
    /// `Clerk::new`.
    fn clerk(servers: Vec<ClientEnd>) -> Self::Clerk;
    /// `Clerk::get`.
    fn get(ck: &mut Self::Clerk, key: &str) -> String;
    /// `Clerk::put`.
    fn put(ck: &mut Self::Clerk, key: &str, value: &str);
    /// `Clerk::append`.
    fn append(ck: &mut Self::Clerk, key: &str, value: &str);
}

/// The lab's KV service: the `kvraft` crate.
pub struct Reference;

impl KvImpl for Reference {
    type Server = kvraft::KvServer;
    type Clerk = kvraft::Clerk;
    fn server(peers: Vec<ClientEnd>, me: usize, persister: Persister, maxraftstate: i64) -> Self::Server {
        kvraft::KvServer::new(peers, me, persister, maxraftstate)
    }
    fn services(s: &Self::Server) -> Vec<Service> {
        vec![s.service(), s.raft().service()]
    }
    fn kill(s: &Self::Server) {
        s.kill();
    }
    fn leads(s: &Self::Server) -> bool {
        s.raft().state().1
    }
    fn clerk(servers: Vec<ClientEnd>) -> Self::Clerk {
        kvraft::Clerk::new(servers)
    }
    fn get(ck: &mut Self::Clerk, key: &str) -> String {
        ck.get(key)
    }
    fn put(ck: &mut Self::Clerk, key: &str, value: &str) {
        ck.put(key, value);
    }
    fn append(ck: &mut Self::Clerk, key: &str, value: &str) {
        ck.append(key, value);
    }
}

/// The group spec of KV servers with `maxraftstate` (6.5840's kvraft wiring: a restarted
/// server stays cut off until the test connects it).
pub fn kv_spec<K: KvImpl>(maxraftstate: i64) -> Spec<K::Server> {
    Spec {
        make: Box::new(move |s: Start<'_>| K::server(s.peers, s.me, s.persister, maxraftstate)),
        services: K::services,
        kill: K::kill,
        leads: K::leads,
        wiring: Wiring::Manual,
    }
}

/// The network names of `n` servers: `server-0`, `server-1`, ...
pub fn server_names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("server-{i}")).collect()
}

struct Shared<K: KvImpl> {
    frame: Frame,
    group: Group<K::Server>,
    net: Network,
    maxraftstate: i64,
    history: History<KvInput, KvOutput>,
    /// Clerk operations so far.
    ops: AtomicU64,
    /// Why the history is judged by another exact check than the checker's search, if it is.
    other_check: Mutex<Option<String>>,
    mu: Mutex<State>,
}

struct State {
    /// The ends of each clerk, by clerk id; end `j` leads to server `j`.
    clerks: BTreeMap<usize, Ends>,
    next_client: usize,
    /// Clerk operations when the test began, for the `Passed` line.
    ops0: u64,
}

/// A KV cluster under test. Dropping it kills the servers and closes the network. Share it
/// between threads with an `Arc`.
pub struct Config<K: KvImpl = Reference> {
    shared: Arc<Shared<K>>,
}

/// 6.5840's `make_config`: `n` KV servers with `maxraftstate`, all started and connected,
/// then the network made unreliable if `unreliable`.
pub fn make_config(n: usize, unreliable: bool, maxraftstate: i64) -> Config {
    make_config_with::<Reference>(n, unreliable, maxraftstate)
}

/// [`make_config`] for any [`KvImpl`].
pub fn make_config_with<K: KvImpl>(n: usize, unreliable: bool, maxraftstate: i64) -> Config<K> {
    let net = Network::new();
    let frame = Frame::new(&net, "an RPC handler");
    let group = Group::new(&net, server_names(n), kv_spec::<K>(maxraftstate));
    let cfg = Config {
        shared: Arc::new(Shared {
            frame,
            group,
            net: net.clone(),
            maxraftstate,
            history: History::new(),
            ops: AtomicU64::new(0),
            other_check: Mutex::new(None),
            mu: Mutex::new(State { clerks: BTreeMap::new(), next_client: 0, ops0: 0 }),
        }),
    };
    cfg.shared.group.start_all();
    net.set_reliable(!unreliable);
    if unreliable {
        events::record(EventKind::Fault { what: "network unreliable".into() });
    }
    cfg
}

impl<K: KvImpl> Config<K> {
    /// The number of servers.
    pub fn n(&self) -> usize {
        self.shared.group.n()
    }

    /// Every server's index.
    pub fn all(&self) -> Vec<usize> {
        self.shared.group.all()
    }

    /// The `maxraftstate` the servers run with.
    pub fn maxraftstate(&self) -> i64 {
        self.shared.maxraftstate
    }

    /// The server group (to crash, restart, connect and partition servers).
    pub fn group(&self) -> &Group<K::Server> {
        &self.shared.group
    }

    /// Notes the test's title (`Test: one client (4A)`, printed with its `Passed` line) and
    /// starts its statistics.
    pub fn begin(&self, title: &str) {
        self.shared.frame.begin(title);
        self.shared.mu.lock().ops0 = self.shared.ops.load(Ordering::Relaxed);
    }

    /// Ends a test (or a sub-test) that passed so far: checks the time limit, that no RPC
    /// handler panicked, and that the history of every clerk operation so far is
    /// linearizable; then prints `  ... Passed --` with the seconds, servers, RPCs and clerk
    /// operations since [`Config::begin`].
    pub fn end(&self) {
        self.check_timeout();
        self.check_handler_panics();
        self.check_linearizable();
        let ops = self.shared.ops.load(Ordering::Relaxed) - self.shared.mu.lock().ops0;
        let n = self.n();
        self.shared.frame.end_with(|s| format!("  ... Passed --  {:4.1}  {n} {:5} {ops:4}", s.secs, s.rpcs));
    }

    /// Fails the test if it has run for longer than [`TEST_TIME_LIMIT`].
    pub fn check_timeout(&self) {
        self.shared.frame.check_time_limit();
    }

    /// Fails the test if an RPC handler of any server panicked (or the watchdog found a stuck
    /// call).
    pub fn check_handler_panics(&self) {
        self.shared.frame.check_failures();
    }

    /// The history of every clerk operation so far (recorded by the [`TestClerk`]s).
    pub fn history(&self) -> &History<KvInput, KvOutput> {
        &self.shared.history
    }

    /// Checks the history of every clerk operation so far with the KV model, records the
    /// verdict as an event, and fails the test unless the history is linearizable (not
    /// linearizable: the explanation and the visualisation's path; out of budget: a failure
    /// that names the budget).
    pub fn check_linearizable(&self) {
        if let Some(why) = self.shared.other_check.lock().clone() {
            events::note(format!("the linearizability checker's search was not run: {why}"));
            return;
        }
        let report = self.shared.history.check(&KvModel, LINEARIZABILITY_BUDGET);
        let ok = report.is_linearizable();
        events::record(EventKind::Verdict { ok, text: report.to_string() });
        if let Err(message) = report.require_linearizable() {
            panic!("{message}");
        }
    }

    /// Judges a history of concurrent appends to one key by its own exact check instead of
    /// the checker's search, which is exponential on such a history: `key` was first `Put`
    /// to `""`, then only appended to, with distinct values, by clerks whose operations have
    /// all returned, and `value` is what a final `Get` returned. The history is linearizable
    /// exactly when `value` is the concatenation of the appended values in some order that
    /// respects real time: an append that returned before another was called comes first.
    /// Records the verdict and fails the test if there is none; [`Config::end`] then skips
    /// the search.
    pub fn check_appends_linearizable(&self, key: &str, value: &str) {
        let ops: Vec<_> =
            self.shared.history.operations().into_iter().filter(|o| o.input().key == key).collect();
        let fail = |why: String| -> ! {
            events::record(EventKind::Verdict { ok: false, text: why.clone() });
            panic!("history is not linearizable: {why}");
        };
        let mut appends = Vec::new();
        let mut gets = 0;
        for o in &ops {
            let Some(ret) = o.ret() else {
                panic!("check_appends_linearizable: an operation on {key:?} never returned")
            };
            match o.input().op {
                linearizability::KvOp::Append => {
                    let Some(pos) = value.find(&o.input().value) else {
                        fail(format!("the final value of {key:?} lacks the appended {:?}", o.input().value));
                    };
                    appends.push((pos, o.call(), ret, o.input().value.clone(), o.client()));
                }
                linearizability::KvOp::Put if o.input().value.is_empty() => {}
                linearizability::KvOp::Get => gets += 1,
                linearizability::KvOp::Put => {
                    panic!(
                        "check_appends_linearizable: {key:?} was put to {:?}, not only appended to",
                        o.input().value
                    )
                }
            }
        }
        assert!(gets <= 1, "check_appends_linearizable: {key:?} was read {gets} times, not once at the end");
        appends.sort();
        let concat: String = appends.iter().map(|a| a.3.as_str()).collect();
        if concat != value {
            fail(format!("the final value of {key:?} is not the concatenation of its appends, each once"));
        }
        for (i, a) in appends.iter().enumerate() {
            for b in &appends[i + 1..] {
                if b.2 < a.1 {
                    fail(format!(
                        "append({key:?}, {:?}) by clerk {} returned before append({key:?}, {:?}) by clerk {} \
                         was called, yet its value comes after it",
                        b.3, b.4, a.3, a.4
                    ));
                }
            }
        }
        let why = format!(
            "{} concurrent appends to {key:?} with one final read: checked exactly by the order of \
             the appended values in the final value",
            appends.len()
        );
        events::record(EventKind::Verdict { ok: true, text: format!("history is linearizable ({why})") });
        *self.shared.other_check.lock() = Some(why);
    }

    /// The network (to install a labrpc filter, say).
    pub fn net(&self) -> &Network {
        &self.shared.net
    }

    /// The test's frame (for steps).
    pub fn frame(&self) -> &Frame {
        &self.shared.frame
    }

    /// The RPCs of `KVServer` methods (`Get`, `Put`, `Append`) that the clerk `ck` has sent so
    /// far, delivered or not (from the run's events).
    pub fn clerk_rpcs(&self, ck: &TestClerk<K>) -> usize {
        let node = ck.node_name();
        events::snapshot()
            .iter()
            .filter(|e| {
                e.node == node
                    && matches!(&e.kind, EventKind::Rpc { method, .. } if method.starts_with("KVServer."))
            })
            .count()
    }

    /// Every RPC made on the network (servers' and clerks').
    pub fn rpc_total(&self) -> u64 {
        self.shared.net.total_count()
    }

    /// Counts a clerk operation for the `Passed` line (the [`TestClerk`] methods do).
    pub fn op(&self) {
        self.shared.ops.fetch_add(1, Ordering::Relaxed);
    }

    /// 6.5840's `makeClient`: a clerk with fresh ends to every server (handed to the
    /// [`Clerk`] in a random order), of which only those to the servers in `to` are enabled.
    pub fn make_client(&self, to: &[usize]) -> TestClerk<K> {
        let ends = Ends::new(&self.shared.net);
        let mut servers = ends.make_each(self.shared.group.names(), false);
        labs::rand::shuffle(&mut servers);
        let id = {
            let mut st = self.shared.mu.lock();
            let id = st.next_client;
            st.next_client += 1;
            st.clerks.insert(id, ends);
            id
        };
        let node = World::current().node(format!("clerk-{id}"));
        let ck = TestClerk { shared: self.shared.clone(), ck: node.enter(|| K::clerk(servers)), id, node };
        self.connect_client(&ck, to);
        ck
    }

    /// Enables clerk `ck`'s ends to the servers in `to` (6.5840 `ConnectClient`).
    pub fn connect_client(&self, ck: &TestClerk<K>, to: &[usize]) {
        self.set_client(ck, to, true);
    }

    /// Disables clerk `ck`'s ends to the servers in `from` (6.5840 `DisconnectClient`).
    pub fn disconnect_client(&self, ck: &TestClerk<K>, from: &[usize]) {
        self.set_client(ck, from, false);
    }

    /// Enables the ends to the servers in `to` of the clerk with id `id` (for a clerk that
    /// another thread is using).
    pub fn connect_client_id(&self, id: usize, to: &[usize]) {
        self.set_client_id(id, to, true);
    }

    fn set_client(&self, ck: &TestClerk<K>, to: &[usize], on: bool) {
        self.set_client_id(ck.id, to, on);
    }

    fn set_client_id(&self, id: usize, to: &[usize], on: bool) {
        events::record(EventKind::Fault {
            what: format!("{} clerk {id} to servers {to:?}", if on { "connect" } else { "disconnect" }),
        });
        let st = self.shared.mu.lock();
        if let Some(ends) = st.clerks.get(&id) {
            for &j in to {
                ends.enable(j, on);
            }
        }
    }

    /// Connects every server to every server (6.5840 `ConnectAll`).
    pub fn connect_all(&self) {
        self.shared.group.connect_all();
    }

    /// Splits the servers in two sides that cannot talk to each other; clerks' ends are left
    /// as they are (6.5840 `partition`).
    pub fn partition(&self, p1: &[usize], p2: &[usize]) {
        self.shared.group.partition(p1, p2);
    }

    /// 6.5840's `make_partition`: the current leader alone in the smaller side with the
    /// fewest others (`n/2 + 1` others on the first side). Fails if no server leads.
    pub fn make_partition(&self) -> (Vec<usize>, Vec<usize>) {
        let leader = self.leader().expect("make_partition: no server claims to be the leader");
        self.shared.group.make_partition(leader)
    }

    /// A server that claims to lead, if any.
    pub fn leader(&self) -> Option<usize> {
        self.shared.group.leader()
    }

    /// 6.5840's `ShutdownServer`: crashes server `i`, keeping what it persisted.
    pub fn shutdown_server(&self, i: usize) {
        self.shared.group.shutdown_server(i);
    }

    /// 6.5840's `StartServer`: restarts server `i` from what it persisted (not connected).
    pub fn start_server(&self, i: usize) {
        self.shared.group.start_server(i);
    }

    /// The largest persisted Raft state of any server, in bytes.
    pub fn log_size(&self) -> usize {
        self.shared.group.log_size()
    }

    /// The largest snapshot of any server, in bytes.
    pub fn snapshot_size(&self) -> usize {
        self.shared.group.snapshot_size()
    }

    /// The RPCs of one Raft method (e.g. `"Raft.InstallSnapshot"`) delivered to server `i`'s
    /// current instance since `since` (a time from [`events::now`]), from the run's events.
    pub fn delivered_to(&self, i: usize, method: &str, since: u64) -> usize {
        let node = self.shared.group.node_name(i);
        events::snapshot()
            .iter()
            .filter(|e| {
                e.t >= since
                    && matches!(&e.kind, EventKind::Rpc { to, method: m, fate: events::RpcFate::Delivered, .. }
                        if *to == node && m == method)
            })
            .count()
    }
}

impl<K: KvImpl> Drop for Config<K> {
    /// 6.5840's `cleanup`: kills every server and closes the network (unless the test failed).
    fn drop(&mut self) {
        self.shared.frame.finish(|| self.shared.group.cleanup());
    }
}

/// A clerk of the tester: a clerk whose every operation is recorded in the test's history
/// (for the linearizability check), counted, recorded as an event, and run as the clerk's own
/// node (`clerk-<id>`). Dropping it deletes its ends (6.5840 `deleteClient`).
pub struct TestClerk<K: KvImpl = Reference> {
    shared: Arc<Shared<K>>,
    ck: K::Clerk,
    id: usize,
    node: labs::Node,
}

impl<K: KvImpl> TestClerk<K> {
    /// The clerk's node (`clerk-<id>`): a labrpc filter tells its calls by it.
    pub fn node_name(&self) -> String {
        self.node.name().to_string()
    }

    /// The clerk's id in the history (and the visualisation).
    pub fn id(&self) -> usize {
        self.id
    }

    fn run<T>(
        &mut self,
        input: KvInput,
        f: impl FnOnce(&mut K::Clerk) -> T,
        out: impl FnOnce(&T) -> KvOutput,
    ) -> T {
        let t = events::now();
        let pending = self.shared.history.begin(self.id, input.clone());
        let step = self.shared.frame.step(format!(
            "clerk {}: {} (waiting for the service to answer)",
            self.id,
            KvModel.describe_operation(&input, None)
        ));
        let ck = &mut self.ck;
        let r = self.node.enter(|| f(ck));
        drop(step);
        let output = out(&r);
        let desc = KvModel.describe_operation(&input, Some(&output));
        pending.finish(output);
        self.shared.ops.fetch_add(1, Ordering::Relaxed);
        events::record_at(t, EventKind::Op { client: self.id as u64, ret: Some(events::now()), desc });
        r
    }

    /// `get(key)`, recorded.
    pub fn get(&mut self, key: &str) -> String {
        self.run(KvInput::get(key), |ck| K::get(ck, key), |v| KvOutput::value(v.as_str()))
    }

    /// `put(key, value)`, recorded.
    pub fn put(&mut self, key: &str, value: &str) {
        self.run(KvInput::put(key, value), |ck| K::put(ck, key, value), |_| KvOutput::none());
    }

    /// `append(key, value)`, recorded.
    pub fn append(&mut self, key: &str, value: &str) {
        self.run(KvInput::append(key, value), |ck| K::append(ck, key, value), |_| KvOutput::none());
    }

    /// `get(key)`, failing the test unless it returns `value` (6.5840 `check`).
    pub fn check(&mut self, key: &str, value: &str) {
        let v = self.get(key);
        if v != value {
            panic!("get({key:?}): expected {value:?}, got {v:?}");
        }
    }
}

impl<K: KvImpl> Drop for TestClerk<K> {
    fn drop(&mut self) {
        if std::thread::panicking() || self.shared.frame.finished() {
            return;
        }
        if let Some(ends) = self.shared.mu.lock().clerks.remove(&self.id) {
            ends.delete_all();
        }
    }
}

/// The value an `Append` of `value` to `prev` leaves (6.5840 `NextValue`).
pub fn next_value(prev: &str, value: &str) -> String {
    format!("{prev}{value}")
}

/// 6.5840's `checkClntAppends`: `v` holds each of client `clnt`'s elements `"x <clnt> <j> y"`
/// for `j < count` exactly once, in order.
pub fn check_clnt_appends(clnt: usize, v: &str, count: usize) {
    let mut lastoff: Option<usize> = None;
    for j in 0..count {
        let wanted = format!("x {clnt} {j} y");
        let Some(off) = v.find(&wanted) else {
            panic!("{clnt} missing element {wanted:?} in Append result {v:?}");
        };
        if v.rfind(&wanted) != Some(off) {
            panic!("duplicate element {wanted:?} in Append result");
        }
        if lastoff.is_some_and(|l| off <= l) {
            panic!("wrong order for element {wanted:?} in Append result");
        }
        lastoff = Some(off);
    }
}

/// 6.5840's `checkConcurrentAppends`: for every client `i`, `v` holds its elements
/// `"x <i> <j> y"` for `j < counts[i]` exactly once, in order.
pub fn check_concurrent_appends(v: &str, counts: &[usize]) {
    for (i, &count) in counts.iter().enumerate() {
        check_clnt_appends(i, v, count);
    }
}

/// 6.5840's `partitioner`: until `done`, splits the servers in two random halves and waits
/// an election timeout plus up to 200 ms.
fn partitioner<K: KvImpl>(cfg: &Config<K>, done: &AtomicBool) {
    while !done.load(Ordering::Relaxed) {
        let n = cfg.n();
        let side: Vec<bool> = (0..n).map(|_| labs::rand::gen_range(0..2) == 1).collect();
        let pa: Vec<usize> = (0..n).filter(|&i| !side[i]).collect();
        let pb: Vec<usize> = (0..n).filter(|&i| side[i]).collect();
        cfg.partition(&pa, &pb);
        sleep(ELECTION_TIMEOUT + Duration::from_millis(labs::rand::gen_range(0..200)));
    }
}

/// The title 6.5840's `GenericTest` builds from its flags, e.g. `Test: unreliable net,
/// restarts, many clients (4A)`.
pub fn generic_title(
    part: &str,
    nclients: usize,
    unreliable: bool,
    crash: bool,
    partitions: bool,
    maxraftstate: i64,
    randomkeys: bool,
) -> String {
    let mut title = String::from("Test: ");
    if unreliable {
        title += "unreliable net, ";
    }
    if crash {
        title += "restarts, ";
    }
    if partitions {
        title += "partitions, ";
    }
    if maxraftstate != -1 {
        title += "snapshots, ";
    }
    if randomkeys {
        title += "random keys, ";
    }
    title += if nclients > 1 { "many clients" } else { "one client" };
    format!("{title} ({part})")
}

/// What one generic client does until told to stop; returns how many elements it wrote.
fn generic_client<K: KvImpl>(
    cfg: &Config<K>,
    cli: usize,
    nclients: usize,
    randomkeys: bool,
    done: &AtomicBool,
) -> usize {
    let mut ck = cfg.make_client(&cfg.all());
    let mut j = 0;
    let mut last = String::new(); // only used when not randomkeys
    if !randomkeys {
        ck.put(&cli.to_string(), &last);
    }
    while !done.load(Ordering::Relaxed) {
        sleep(Duration::from_millis(labs::rand::gen_range(0..=2 * CLIENT_PAUSE_MS)));
        let key = if randomkeys { labs::rand::gen_range(0..nclients).to_string() } else { cli.to_string() };
        let nv = format!("x {cli} {j} y");
        if labs::rand::gen_range(0..1000) < 500 {
            ck.append(&key, &nv);
            if !randomkeys {
                last = next_value(&last, &nv);
            }
            j += 1;
        } else if randomkeys && labs::rand::gen_range(0..1000) < 100 {
            // Only with random keys: it would break the check of the Gets below.
            ck.put(&key, &nv);
            j += 1;
        } else {
            let v = ck.get(&key);
            // Only meaningful when not using random keys.
            if !randomkeys && v != last {
                panic!("get wrong value, key {key:?}, wanted:\n{last:?}\n, got\n{v:?}");
            }
        }
    }
    j
}

/// 6.5840's `GenericTest` (`kvraft/test_test.go`): three iterations of `nclients` clerks doing random
/// Appends, Gets (and with `randomkeys`, Puts) for 5 s on `nservers` servers, with an
/// unreliable network, a partitioner, and/or a crash and restart of every server at the end
/// of each iteration; then every client's appends must be present exactly once and in order,
/// the logs trimmed (`maxraftstate > 0`: at most 8 x `maxraftstate`) or no snapshot taken
/// (`maxraftstate < 0`), and the whole history linearizable.
///
/// One deviation: each client pauses a random 0 to 20 ms before each operation (see
/// [`CLIENT_PAUSE_MS`]); 6.5840's clients loop as fast as they can.
#[allow(clippy::too_many_arguments)]
pub fn generic_test(
    part: &str,
    nclients: usize,
    nservers: usize,
    unreliable: bool,
    crash: bool,
    partitions: bool,
    maxraftstate: i64,
    randomkeys: bool,
) {
    generic_test_with::<Reference>(
        part,
        nclients,
        nservers,
        unreliable,
        crash,
        partitions,
        maxraftstate,
        randomkeys,
    );
}

/// [`generic_test`] for any [`KvImpl`].
#[allow(clippy::too_many_arguments)]
pub fn generic_test_with<K: KvImpl>(
    part: &str,
    nclients: usize,
    nservers: usize,
    unreliable: bool,
    crash: bool,
    partitions: bool,
    maxraftstate: i64,
    randomkeys: bool,
) {
    let title = generic_title(part, nclients, unreliable, crash, partitions, maxraftstate, randomkeys);
    let cfg = Arc::new(make_config_with::<K>(nservers, unreliable, maxraftstate));
    cfg.begin(&title);
    let mut ck = cfg.make_client(&cfg.all());

    for iteration in 0..3 {
        events::note(format!("iteration {iteration}"));
        let done_clients = Arc::new(AtomicBool::new(false));
        let done_partitioner = Arc::new(AtomicBool::new(false));
        let clients: Vec<_> = (0..nclients)
            .map(|cli| {
                let (cfg, done) = (cfg.clone(), done_clients.clone());
                let node = World::current().node(format!("client-{cli}"));
                node.spawn("client", move || generic_client(&cfg, cli, nclients, randomkeys, &done))
            })
            .collect();
        let partitioner_thread = partitions.then(|| {
            // Let the clients make some progress without interruption.
            sleep(Duration::from_secs(1));
            let (cfg, done) = (cfg.clone(), done_partitioner.clone());
            labs::thread::spawn("partitioner", move || partitioner(&cfg, &done))
        });
        sleep(Duration::from_secs(5));
        done_clients.store(true, Ordering::Relaxed);
        done_partitioner.store(true, Ordering::Relaxed);

        if let Some(p) = partitioner_thread {
            if let Err(e) = p.join() {
                panic!("the partitioner failed: {e}");
            }
            // Reconnect the network: a request stuck in a minority only returns once its
            // server learns of a new term.
            cfg.connect_all();
            sleep(ELECTION_TIMEOUT);
        }
        if crash {
            for i in 0..nservers {
                cfg.shutdown_server(i);
            }
            // Shutdown is not instantaneous.
            sleep(ELECTION_TIMEOUT);
            for i in 0..nservers {
                cfg.start_server(i);
            }
            cfg.connect_all();
        }

        for (cli, c) in clients.into_iter().enumerate() {
            let j = c.join().unwrap_or_else(|e| panic!("client {cli} failed: {e}"));
            let v = ck.get(&cli.to_string());
            if !randomkeys {
                check_clnt_appends(cli, &v, j);
            }
        }

        if maxraftstate > 0 {
            // After the servers have processed every request and had time to snapshot.
            let sz = cfg.log_size();
            if sz as i64 > 8 * maxraftstate {
                panic!("logs were not trimmed ({sz} > 8*{maxraftstate})");
            }
        }
        if maxraftstate < 0 {
            let ssz = cfg.snapshot_size();
            if ssz > 0 {
                panic!("snapshot too large ({ssz}), should not be used when maxraftstate = {maxraftstate}");
            }
        }
    }
    drop(ck);
    cfg.end();
}

/// 6.5840's `GenericTestSpeed`: on 3 reliable servers, after one Get to wait for a leader,
/// 1000 sequential Appends must all be present in order and take less than 33.3 ms each on
/// average (three per 100 ms heartbeat interval: an implementation that waits for the next
/// heartbeat to replicate fails).
pub fn generic_test_speed(part: &str, maxraftstate: i64) {
    generic_test_speed_with::<Reference>(part, maxraftstate);
}

/// [`generic_test_speed`] for any [`KvImpl`].
pub fn generic_test_speed_with<K: KvImpl>(part: &str, maxraftstate: i64) {
    const NUM_OPS: usize = 1000;
    let cfg = make_config_with::<K>(3, false, maxraftstate);
    let mut ck = cfg.make_client(&cfg.all());
    cfg.begin(&format!("Test: ops complete fast enough ({part})"));
    // Wait until the first op completes: a leader is elected and the servers are ready.
    ck.get("x");
    let start = Instant::now();
    for i in 0..NUM_OPS {
        ck.append("x", &format!("x 0 {i} y"));
    }
    let dur = start.elapsed();
    let v = ck.get("x");
    check_clnt_appends(0, &v, NUM_OPS);
    // The heartbeat interval should be about 100 ms; require at least 3 ops per interval.
    let time_per_op = Duration::from_millis(100) / 3;
    if dur > time_per_op * NUM_OPS as u32 {
        panic!("operations completed too slowly: {:?}/op > {:?}/op", dur / NUM_OPS as u32, time_per_op);
    }
    drop(ck);
    cfg.end();
}
#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `body` in a sim world and returns the message it failed with.
    fn failure_of(body: fn()) -> String {
        match World::builder().seed(1).run(body).result {
            Err(f) => f.message,
            Ok(()) => panic!("the check was expected to fail the test"),
        }
    }

    /// A history that is not linearizable fails the test with the checker's explanation and
    /// the path of the visualisation.
    #[test]
    #[allow(clippy::disallowed_methods, reason = "the checker's visualisation is a file on the real disk")]
    fn not_linearizable_fails_with_explanation_and_file() {
        let msg = failure_of(|| {
            let cfg = make_config(1, false, -1);
            let h = &cfg.shared.history;
            h.record(0, KvInput::put("x", "1"), 0, KvOutput::none(), 10).unwrap();
            h.record(1, KvInput::get("x"), 20, KvOutput::value("2"), 30).unwrap();
            cfg.check_linearizable();
        });
        assert!(msg.contains("history is not linearizable") && msg.contains("no linearization"), "{msg}");
        let path = msg.split("wrote history visualization to ").nth(1).expect("the message names the file");
        let path = path.lines().next().unwrap_or_default().trim();
        assert!(std::path::Path::new(path).exists(), "{path} does not exist");
        let _ = std::fs::remove_file(path);
    }

    /// The exact check of concurrent appends to one key rejects an order that contradicts
    /// real time.
    #[test]
    fn appends_out_of_real_time_order_fail() {
        let msg = failure_of(|| {
            let cfg = make_config(1, false, -1);
            let h = &cfg.shared.history;
            h.record(0, KvInput::put("k", ""), 0, KvOutput::none(), 1).unwrap();
            h.record(1, KvInput::append("k", "a"), 10, KvOutput::none(), 20).unwrap();
            h.record(2, KvInput::append("k", "b"), 30, KvOutput::none(), 40).unwrap();
            cfg.check_appends_linearizable("k", "ba");
        });
        assert!(msg.contains("returned before"), "{msg}");
    }
}
