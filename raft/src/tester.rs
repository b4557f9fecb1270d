//! The Lab 3 tester: the cluster the suites in `raft/tests/` drive (6.5840's `config.go`).
//!
//! A [`Config`] starts `n` Raft peers, each on its own labs node named `server-<i>` (a restart
//! makes a fresh node, `server-<i>#<k>`), on a labrpc network with long delays on. It crashes,
//! restarts, partitions and heals them, and it checks what they do:
//!
//! * every command a peer applies is compared with what every other peer applied at that
//!   index, and must come in order (the *appliers*; with `snapshot` on, the applier also hands
//!   Raft a snapshot every [`SNAPSHOT_INTERVAL`] commands and ingests the snapshots Raft
//!   delivers);
//! * [`Config::check_one_leader`], [`Config::one`], [`Config::wait`] and friends check
//!   elections and agreement within the lab's time limits;
//! * a panic in a Raft RPC handler, or a call into Raft (`start`, `state`, ...) that does not
//!   return within [`STUCK_CALL_LIMIT`], fails the test with a message that names the server;
//! * [`Config::end`] prints the 6.5840 `Passed` line and fails a test that took longer than
//!   [`TEST_TIME_LIMIT`].
//!
//! The tester drives any implementation of [`RaftPeer`]; [`Config`] defaults to the lab's
//! [`Raft`]. Failures are panics of the test's main thread (or, from other threads, a
//! [`World::fail`]), with the failure in words; the harness adds the seed and the replay
//! command.

use crate::raft::{ApplyMsg, NotLeader, Raft};
use labrpc::{ClientEnd, Network, Server, Service};
use labs::events::{self, EventKind};
use labs::persister::Persister;
use labs::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use labs::sync::{Arc, Mutex, Receiver, Sender, unbounded};
use labs::time::{Duration, Instant, sleep};
use labs::world::{Node, World};
use std::collections::BTreeMap;

/// 6.5840's `RaftElectionTimeout`: the unit of the suites' sleeps. It generously allows an
/// election to complete in one second.
pub const ELECTION_TIMEOUT: Duration = Duration::from_millis(1000);

/// The snapshot applier hands Raft a snapshot after each index `i` with `(i + 1) % 10 == 0`.
pub const SNAPSHOT_INTERVAL: u64 = 10;

/// 3D: the persisted Raft state of every peer must stay below this many bytes.
pub const MAX_LOG_SIZE: usize = 2000;

/// A test fails if it takes longer than this (virtual time under sim).
pub const TEST_TIME_LIMIT: Duration = Duration::from_secs(120);

/// A call from the tester into a Raft peer that has not returned after this long fails the
/// test: the peer is taken to be deadlocked.
pub const STUCK_CALL_LIMIT: Duration = Duration::from_secs(5);

/// What the tester needs from a Raft implementation: the lab's [`Raft`] API, as a trait so
/// that the tester's own tests can drive deliberately broken peers.
pub trait RaftPeer: Clone + Send + Sync + 'static {
    /// [`Raft::new`]: makes a peer and starts its threads; must return at once.
    fn make(peers: Vec<ClientEnd>, me: usize, persister: Persister, apply_tx: Sender<ApplyMsg>) -> Self;
    /// [`Raft::service`]: the labrpc service to register on the peer's server.
    fn service(&self) -> Service;
    /// [`Raft::start`].
    fn start(&self, command: Vec<u8>) -> Result<(u64, u64), NotLeader>;
    /// [`Raft::state`].
    fn state(&self) -> (u64, bool);
    /// [`Raft::snapshot`].
    fn snapshot(&self, index: u64, snapshot: Vec<u8>);
    /// [`Raft::kill`].
    fn kill(&self);
}

impl RaftPeer for Raft {
    fn make(peers: Vec<ClientEnd>, me: usize, persister: Persister, apply_tx: Sender<ApplyMsg>) -> Self {
        Raft::new(peers, me, persister, apply_tx)
    }
    fn service(&self) -> Service {
        Raft::service(self)
    }
    fn start(&self, command: Vec<u8>) -> Result<(u64, u64), NotLeader> {
        Raft::start(self, command)
    }
    fn state(&self) -> (u64, bool) {
        Raft::state(self)
    }
    fn snapshot(&self, index: u64, snapshot: Vec<u8>) {
        Raft::snapshot(self, index, snapshot)
    }
    fn kill(&self) {
        Raft::kill(self)
    }
}

/// Encodes a tester command (an integer, as in 6.5840's tests) as Raft command bytes.
pub fn command(x: u64) -> Vec<u8> {
    postcard::to_allocvec(&x).expect("a u64 encodes")
}

/// Decodes command bytes made by [`command`]; `None` for any other bytes.
pub fn decode_command(bytes: &[u8]) -> Option<u64> {
    match postcard::take_from_bytes::<u64>(bytes) {
        Ok((x, [])) => Some(x),
        _ => None,
    }
}

/// A command for messages: the integer, or its size.
fn describe(bytes: &[u8]) -> String {
    match decode_command(bytes) {
        Some(x) => x.to_string(),
        None => format!("<{} bytes>", bytes.len()),
    }
}

/// `n` random letters and digits (6.5840's `randstring`, also used for end names).
pub fn random_string(n: usize) -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    labs::rand::with_rng(|r| {
        use labs::rand::Rng;
        (0..n).map(|_| CHARS[r.random_range(0..CHARS.len())] as char).collect()
    })
}

/// Lists servers in words: "server 2", "servers 1 and 3", "servers 0, 1 and 4".
fn servers_in_words(ids: &[usize]) -> String {
    match ids {
        [] => "no server".into(),
        [one] => format!("server {one}"),
        [init @ .., last] => {
            let init: Vec<String> = init.iter().map(|i| i.to_string()).collect();
            format!("servers {} and {last}", init.join(", "))
        }
    }
}

/// The network name of server `i`.
fn server_name(i: usize) -> String {
    format!("server-{i}")
}

/// The tester's view of the cluster, behind [`Shared::mu`].
struct State<R> {
    rafts: Vec<Option<R>>,
    nodes: Vec<Option<Node>>,
    /// How many times each server has been started (names its node, and tells a dead
    /// instance's applier that it is stale).
    incarnation: Vec<u64>,
    connected: Vec<bool>,
    saved: Vec<Persister>,
    /// `end_names[i][j]`: the end server `i` uses to call server `j`.
    end_names: Vec<Vec<String>>,
    /// The commands each server has applied, by index.
    logs: Vec<BTreeMap<u64, Vec<u8>>>,
    /// The last index each server's current instance applied (or ingested with a snapshot).
    last_applied: Vec<u64>,
    /// The first apply error, if any.
    apply_err: Option<String>,
    max_index: u64,
    // What `begin` saw, for the `Passed` line.
    t0: Instant,
    rpcs0: u64,
    bytes0: u64,
    max_index0: u64,
}

struct Shared<R> {
    n: usize,
    net: Network,
    snapshot: bool,
    start: Instant,
    finished: AtomicBool,
    mu: Mutex<State<R>>,
    /// Calls into Raft peers in progress: id -> (server, what, since).
    calls: Mutex<BTreeMap<u64, (usize, &'static str, Instant)>>,
    next_call: AtomicU64,
    /// The first failure found by a thread other than the test's (applier, watchdog).
    failure: Mutex<Option<String>>,
}

/// A cluster of `n` Raft peers under test. Dropping it kills the peers and closes the
/// network. Share it between threads with an `Arc`.
pub struct Config<R: RaftPeer = Raft> {
    shared: Arc<Shared<R>>,
}

/// 6.5840's `make_config` for the lab's [`Raft`]: `n` peers on a network with long delays,
/// unreliable if `unreliable`, with the snapshot applier if `snapshot`; all started and
/// connected.
pub fn make_config(n: usize, unreliable: bool, snapshot: bool) -> Config<Raft> {
    Config::new(n, unreliable, snapshot)
}

impl<R: RaftPeer> Config<R> {
    /// Like [`make_config`], for any [`RaftPeer`].
    pub fn new(n: usize, unreliable: bool, snapshot: bool) -> Config<R> {
        let net = Network::new();
        net.set_reliable(!unreliable);
        net.set_long_delays(true);
        let now = Instant::now();
        let state = State {
            rafts: (0..n).map(|_| None).collect(),
            nodes: (0..n).map(|_| None).collect(),
            incarnation: vec![0; n],
            connected: vec![false; n],
            saved: (0..n).map(|_| Persister::new()).collect(),
            end_names: vec![Vec::new(); n],
            logs: vec![BTreeMap::new(); n],
            last_applied: vec![0; n],
            apply_err: None,
            max_index: 0,
            t0: now,
            rpcs0: 0,
            bytes0: 0,
            max_index0: 0,
        };
        let shared = Arc::new(Shared {
            n,
            net,
            snapshot,
            start: now,
            finished: AtomicBool::new(false),
            mu: Mutex::new(state),
            calls: Mutex::new(BTreeMap::new()),
            next_call: AtomicU64::new(0),
            failure: Mutex::new(None),
        });
        let watched = shared.clone();
        labs::thread::spawn("watchdog", move || watchdog(watched));
        let cfg = Config { shared };
        for i in 0..n {
            cfg.start1(i);
        }
        for i in 0..n {
            cfg.connect(i);
        }
        cfg
    }

    /// The number of servers.
    pub fn n(&self) -> usize {
        self.shared.n
    }

    /// Prints the test's title (`Test (3A): initial election ...`) and starts its statistics.
    pub fn begin(&self, description: &str) {
        println!("{description} ...");
        events::note(format!("begin: {description}"));
        let (rpcs, bytes) = (self.rpc_total(), self.bytes_total());
        let now = Instant::now();
        let mut st = self.shared.mu.lock();
        st.t0 = now;
        st.rpcs0 = rpcs;
        st.bytes0 = bytes;
        st.max_index0 = st.max_index;
    }

    /// Ends a test that passed: checks the time limit, then prints `  ... Passed --` with the
    /// seconds, peers, RPCs, bytes and commands since [`Config::begin`].
    pub fn end(&self) {
        self.check_timeout();
        self.check_failures();
        let (rpcs, bytes) = (self.rpc_total(), self.bytes_total());
        let now = Instant::now();
        let st = self.shared.mu.lock();
        let secs = now.duration_since(st.t0).as_secs_f64();
        let ncmds = st.max_index - st.max_index0;
        println!(
            "  ... Passed --  {secs:4.1}  {} {:4} {:7} {ncmds:4}",
            self.shared.n,
            rpcs - st.rpcs0,
            bytes - st.bytes0
        );
    }

    /// Fails the test if it has run for longer than [`TEST_TIME_LIMIT`].
    pub fn check_timeout(&self) {
        if self.shared.start.elapsed() > TEST_TIME_LIMIT {
            panic!("test took longer than {} seconds", TEST_TIME_LIMIT.as_secs());
        }
    }

    /// Fails the test if an applier or the watchdog found a problem (an apply error, a
    /// panicking handler, a stuck call).
    fn check_failures(&self) {
        if let Some(f) = self.shared.failure.lock().clone() {
            panic!("{f}");
        }
        if let Some(p) = self.shared.net.handler_panics().into_iter().next() {
            panic!("a Raft RPC handler panicked: {p}");
        }
    }

    /// Runs `f`, a call into server `i`'s Raft, where the watchdog can see it.
    fn guarded<T>(&self, i: usize, what: &'static str, f: impl FnOnce() -> T) -> T {
        guarded(&self.shared, i, what, f)
    }

    /// Server `i`'s current Raft instance, or `None` while it is crashed.
    pub fn raft(&self, i: usize) -> Option<R> {
        self.shared.mu.lock().rafts[i].clone()
    }

    /// Whether server `i` is running (started and not crashed).
    pub fn is_alive(&self, i: usize) -> bool {
        self.shared.mu.lock().rafts[i].is_some()
    }

    /// Whether server `i` is connected.
    pub fn is_connected(&self, i: usize) -> bool {
        self.shared.mu.lock().connected[i]
    }

    fn running(&self, i: usize) -> R {
        self.raft(i).unwrap_or_else(|| panic!("the test used server {i}, but it is crashed"))
    }

    /// Calls `start(command(cmd))` on server `i` (which must be running).
    pub fn start(&self, i: usize, cmd: u64) -> Result<(u64, u64), NotLeader> {
        self.start_bytes(i, command(cmd))
    }

    /// Calls `start(cmd)` on server `i` (which must be running).
    pub fn start_bytes(&self, i: usize, cmd: Vec<u8>) -> Result<(u64, u64), NotLeader> {
        let rf = self.running(i);
        self.guarded(i, "start()", || rf.start(cmd))
    }

    /// Calls `start(command(cmd))` on server `i` if it is running (`None` if it is crashed).
    pub fn start_if_alive(&self, i: usize, cmd: u64) -> Option<Result<(u64, u64), NotLeader>> {
        let rf = self.raft(i)?;
        Some(self.guarded(i, "start()", || rf.start(command(cmd))))
    }

    /// Server `i`'s `state()`: (term, is leader). It must be running.
    pub fn state(&self, i: usize) -> (u64, bool) {
        let rf = self.running(i);
        self.guarded(i, "state()", || rf.state())
    }

    /// Shuts server `i` down as a crash would: cuts it off, removes it from the network,
    /// kills its Raft and its node, and keeps (a copy of) what it persisted.
    pub fn crash1(&self, i: usize) {
        tracing::debug!("tester: crash server {i}");
        self.disconnect(i);
        self.shared.net.delete_server(&server_name(i));
        let (rf, node) = {
            let mut st = self.shared.mu.lock();
            // A copy, so that a zombie instance cannot overwrite what the next one reads.
            st.saved[i] = st.saved[i].copy();
            (st.rafts[i].take(), st.nodes[i].take())
        };
        if let Some(rf) = rf {
            self.guarded(i, "kill()", || rf.kill());
        }
        if let Some(node) = node {
            node.kill();
        }
        let mut st = self.shared.mu.lock();
        st.saved[i] = st.saved[i].copy();
    }

    /// Starts (or restarts) server `i` with what it persisted, on a fresh node and with fresh
    /// end names so that the old instance's ends are dead. Does not connect it.
    pub fn start1(&self, i: usize) {
        self.crash1(i);
        let sh = &self.shared;
        let names: Vec<String> = (0..sh.n).map(|_| random_string(20)).collect();
        let ends: Vec<ClientEnd> = names
            .iter()
            .enumerate()
            .map(|(j, name)| {
                let end = sh.net.make_end(name);
                sh.net.connect(name, &server_name(j));
                end
            })
            .collect();
        let (persister, incarnation, old_names) = {
            let mut st = sh.mu.lock();
            st.last_applied[i] = 0;
            let persister = st.saved[i].copy();
            st.saved[i] = persister.clone();
            let snapshot = persister.read_snapshot();
            if !snapshot.is_empty()
                && let Err(e) = ingest_snapshot(&mut st, i, &snapshot, None)
            {
                drop(st);
                panic!("{e}");
            }
            st.incarnation[i] += 1;
            let old = std::mem::replace(&mut st.end_names[i], names);
            (persister, st.incarnation[i], old)
        };
        for name in old_names {
            sh.net.delete_end(&name);
        }
        let node_name =
            if incarnation == 1 { format!("server-{i}") } else { format!("server-{i}#{}", incarnation - 1) };
        let node = World::current().node(node_name);
        let (tx, rx) = unbounded();
        let rf = self.guarded(i, "Raft::new()", || node.enter(|| R::make(ends, i, persister, tx)));
        let (shared, r) = (sh.clone(), rf.clone());
        let snap = sh.snapshot;
        node.spawn("applier", move || applier(shared, i, incarnation, rx, r, snap));
        let server = Server::new(&node);
        server.add_service(rf.service());
        sh.net.add_server(&server_name(i), server);
        let mut st = sh.mu.lock();
        st.rafts[i] = Some(rf);
        st.nodes[i] = Some(node);
    }

    /// Reconnects server `i`: enables its ends to, and the ends from, every connected server.
    pub fn connect(&self, i: usize) {
        tracing::debug!("tester: connect server {i}");
        events::record(EventKind::Fault { what: format!("connect {}", server_name(i)) });
        let mut st = self.shared.mu.lock();
        st.connected[i] = true;
        for j in 0..self.shared.n {
            if st.connected[j] {
                if let Some(name) = st.end_names[i].get(j) {
                    self.shared.net.enable(name, true);
                }
                if let Some(name) = st.end_names[j].get(i) {
                    self.shared.net.enable(name, true);
                }
            }
        }
    }

    /// Cuts server `i` off: disables its ends and the ends of every server to it.
    pub fn disconnect(&self, i: usize) {
        tracing::debug!("tester: disconnect server {i}");
        events::record(EventKind::Fault { what: format!("disconnect {}", server_name(i)) });
        let mut st = self.shared.mu.lock();
        st.connected[i] = false;
        for j in 0..self.shared.n {
            if let Some(name) = st.end_names[i].get(j) {
                self.shared.net.enable(name, false);
            }
            if let Some(name) = st.end_names[j].get(i) {
                self.shared.net.enable(name, false);
            }
        }
    }

    /// RPCs delivered to server `i`'s current instance.
    pub fn rpc_count(&self, i: usize) -> u64 {
        self.shared.net.count(&server_name(i))
    }

    /// Every RPC made on the network.
    pub fn rpc_total(&self) -> u64 {
        self.shared.net.total_count()
    }

    /// Every byte sent on the network (arguments, and delivered replies).
    pub fn bytes_total(&self) -> u64 {
        self.shared.net.total_bytes()
    }

    /// Makes the network reliable or not.
    pub fn set_unreliable(&self, unreliable: bool) {
        let what = if unreliable { "network unreliable" } else { "network reliable" };
        events::record(EventKind::Fault { what: what.into() });
        self.shared.net.set_reliable(!unreliable);
    }

    /// Turns long reordering of replies on or off.
    pub fn set_long_reordering(&self, on: bool) {
        let what = if on { "long reordering on" } else { "long reordering off" };
        events::record(EventKind::Fault { what: what.into() });
        self.shared.net.set_long_reordering(on);
    }

    /// The largest persisted Raft state of any server, in bytes.
    pub fn log_size(&self) -> usize {
        let st = self.shared.mu.lock();
        st.saved.iter().map(|p| p.raft_state_size()).max().unwrap_or(0)
    }

    /// Checks that exactly one connected server is leader, trying 10 times over about 5 s,
    /// and returns it. Fails if some term has two leaders, or if there is none.
    pub fn check_one_leader(&self) -> usize {
        for _ in 0..10 {
            sleep(Duration::from_millis(labs::rand::gen_range(450..550)));
            self.check_failures();
            let mut leaders: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
            for i in 0..self.shared.n {
                if self.is_connected(i)
                    && let Some(rf) = self.raft(i)
                {
                    let (term, leader) = self.guarded(i, "state()", || rf.state());
                    if leader {
                        leaders.entry(term).or_default().push(i);
                    }
                }
            }
            for (term, ls) in &leaders {
                if ls.len() > 1 {
                    panic!("term {term} has {} leaders ({})", ls.len(), servers_in_words(ls));
                }
            }
            if let Some((term, ls)) = leaders.last_key_value() {
                events::note(format!("check_one_leader: server {} leads term {term}", ls[0]));
                return ls[0];
            }
        }
        panic!("expected one leader, got none (no connected server claimed to lead for about 5 s)");
    }

    /// Checks that all connected servers agree on the term, and returns it.
    pub fn check_terms(&self) -> u64 {
        let mut seen: Option<(usize, u64)> = None;
        for i in 0..self.shared.n {
            if self.is_connected(i)
                && let Some(rf) = self.raft(i)
            {
                let (term, _) = self.guarded(i, "state()", || rf.state());
                match seen {
                    None => seen = Some((i, term)),
                    Some((j, t)) if t != term => {
                        panic!(
                            "servers disagree on term: server {j} has term {t}, server {i} has term {term}"
                        )
                    }
                    Some(_) => {}
                }
            }
        }
        seen.map_or(0, |(_, t)| t)
    }

    /// Checks that no connected server thinks it is the leader.
    pub fn check_no_leader(&self) {
        for i in 0..self.shared.n {
            if self.is_connected(i)
                && let Some(rf) = self.raft(i)
            {
                let (_, leader) = self.guarded(i, "state()", || rf.state());
                if leader {
                    panic!("expected no leader among connected servers, but server {i} claims to be leader");
                }
            }
        }
    }

    /// How many servers have applied a command at `index`, and that command. Fails if two
    /// servers applied different commands there, or if an applier found an error.
    pub fn n_committed(&self, index: u64) -> (usize, Option<Vec<u8>>) {
        self.check_failures();
        let st = self.shared.mu.lock();
        if let Some(e) = &st.apply_err {
            panic!("{e}");
        }
        let mut count = 0;
        let mut cmd: Option<(usize, &Vec<u8>)> = None;
        for (i, log) in st.logs.iter().enumerate() {
            if let Some(v) = log.get(&index) {
                if let Some((j, c)) = cmd
                    && c != v
                {
                    panic!(
                        "committed values do not match: index {index}: server {j} has {}, server {i} has {}",
                        describe(c),
                        describe(v)
                    );
                }
                count += 1;
                cmd = Some((i, v));
            }
        }
        (count, cmd.map(|(_, c)| c.clone()))
    }

    /// Waits for at least `n` servers to commit `index`, polling 30 times with sleeps from
    /// 10 ms doubling up to 1 s, and returns the command (decoded as an integer). Returns
    /// `None` if `start_term` is given and some peer has moved past it. Fails if too few
    /// servers commit.
    pub fn wait(&self, index: u64, n: usize, start_term: Option<u64>) -> Option<u64> {
        let mut pause = Duration::from_millis(10);
        for _ in 0..30 {
            let (nd, _) = self.n_committed(index);
            if nd >= n {
                break;
            }
            sleep(pause);
            if pause < Duration::from_secs(1) {
                pause *= 2;
            }
            if let Some(t0) = start_term {
                for i in 0..self.shared.n {
                    if let Some(rf) = self.raft(i) {
                        let (t, _) = self.guarded(i, "state()", || rf.state());
                        if t > t0 {
                            // Someone has moved on; the command may never commit.
                            return None;
                        }
                    }
                }
            }
        }
        let (nd, cmd) = self.n_committed(index);
        if nd < n {
            panic!("only {nd} decided for index {index}; wanted {n}");
        }
        let cmd = cmd.expect("committed");
        Some(decode_command(&cmd).unwrap_or_else(|| panic!("the command at index {index} is not an integer")))
    }

    /// Gets `cmd` committed: finds a leader, starts it there, and waits for at least
    /// `expected_servers` to commit it (a leader has 2 s; the whole call 10 s). With `retry`,
    /// tries again after a failed leader. Returns the index. Fails if agreement is not
    /// reached in time.
    pub fn one(&self, cmd: u64, expected_servers: usize, retry: bool) -> u64 {
        self.one_bytes(command(cmd), expected_servers, retry)
    }

    /// [`Config::one`] for any command bytes.
    pub fn one_bytes(&self, cmd: Vec<u8>, expected_servers: usize, retry: bool) -> u64 {
        let t0 = Instant::now();
        let n = self.shared.n;
        let mut starts = 0;
        while t0.elapsed() < Duration::from_secs(10) && !self.shared.finished.load(Ordering::Relaxed) {
            // Try all the servers; maybe one is the leader.
            let mut index = None;
            for _ in 0..n {
                starts = (starts + 1) % n;
                let rf = if self.is_connected(starts) { self.raft(starts) } else { None };
                if let Some(rf) = rf
                    && let Ok((i, _)) = self.guarded(starts, "start()", || rf.start(cmd.clone()))
                {
                    index = Some(i);
                    break;
                }
            }
            match index {
                Some(index) => {
                    // Somebody claimed to be the leader and to have submitted the command;
                    // wait a while for agreement.
                    let t1 = Instant::now();
                    let mut nd = 0;
                    while t1.elapsed() < Duration::from_secs(2) {
                        let (n1, cmd1) = self.n_committed(index);
                        nd = n1;
                        if nd > 0 && nd >= expected_servers && cmd1.as_ref() == Some(&cmd) {
                            tracing::debug!("tester: one({}) committed at index {index}", describe(&cmd));
                            return index;
                        }
                        sleep(Duration::from_millis(20));
                    }
                    if !retry {
                        panic!(
                            "one({}) failed to reach agreement: a leader took it at index {index}, but only \
                             {nd} of the {expected_servers} servers expected committed it within 2 s",
                            describe(&cmd)
                        );
                    }
                }
                None => sleep(Duration::from_millis(50)),
            }
        }
        self.check_failures();
        panic!("one({}) failed to reach agreement in 10 s", describe(&cmd));
    }
}

impl<R: RaftPeer> Drop for Config<R> {
    /// 6.5840's `cleanup`: kills every peer and closes the network.
    fn drop(&mut self) {
        self.shared.finished.store(true, Ordering::Relaxed);
        if std::thread::panicking() {
            // The test failed; the harness ends the world (and every node in it).
            return;
        }
        for i in 0..self.shared.n {
            let (rf, node) = {
                let mut st = self.shared.mu.lock();
                (st.rafts[i].take(), st.nodes[i].take())
            };
            if let Some(rf) = rf {
                self.guarded(i, "kill()", || rf.kill());
            }
            if let Some(node) = node {
                node.kill();
            }
        }
        self.shared.net.cleanup();
    }
}

/// Records the first failure found off the test's thread and ends the test with it.
fn fail<R>(shared: &Shared<R>, message: String) {
    {
        let mut f = shared.failure.lock();
        if f.is_some() {
            return;
        }
        *f = Some(message.clone());
    }
    World::current().fail(message);
}

fn guarded<R, T>(shared: &Shared<R>, i: usize, what: &'static str, f: impl FnOnce() -> T) -> T {
    let id = shared.next_call.fetch_add(1, Ordering::Relaxed);
    shared.calls.lock().insert(id, (i, what, Instant::now()));
    struct Done<'a>(&'a Mutex<BTreeMap<u64, (usize, &'static str, Instant)>>, u64);
    impl Drop for Done<'_> {
        fn drop(&mut self) {
            if !std::thread::panicking() {
                self.0.lock().remove(&self.1);
            }
        }
    }
    let _done = Done(&shared.calls, id);
    f()
}

/// Watches for what the test's own checks cannot see: handler panics, and calls into Raft
/// that never return (a deadlocked peer would otherwise hang the test).
fn watchdog<R>(shared: Arc<Shared<R>>) {
    loop {
        sleep(Duration::from_secs(1));
        if shared.finished.load(Ordering::Relaxed) || labs::thread::killed() {
            return;
        }
        if let Some(p) = shared.net.handler_panics().into_iter().next() {
            return fail(&shared, format!("a Raft RPC handler panicked: {p}"));
        }
        let stuck =
            shared.calls.lock().values().find(|(_, _, since)| since.elapsed() > STUCK_CALL_LIMIT).cloned();
        if let Some((i, what, _)) = stuck {
            return fail(
                &shared,
                format!(
                    "server {i}: {what} has not returned after {} s: the Raft peer is probably deadlocked \
                     (a lock that is never released, or a lock held across an RPC call or a channel send)",
                    STUCK_CALL_LIMIT.as_secs()
                ),
            );
        }
    }
}

/// Records command `cmd` applied at `index` by server `i`, checking it against every other
/// server. Returns an error message if the servers disagree, and whether server `i` had
/// applied `index - 1`.
fn check_logs<R>(st: &mut State<R>, i: usize, index: u64, cmd: Vec<u8>) -> (Option<String>, bool) {
    let mut err = None;
    for (j, log) in st.logs.iter().enumerate() {
        if let Some(old) = log.get(&index)
            && *old != cmd
        {
            err = Some(format!(
                "commit index={index}: server {i} applied {} but server {j} applied {}",
                describe(&cmd),
                describe(old)
            ));
        }
    }
    let prev_ok = index > 0 && st.logs[i].contains_key(&(index - 1));
    st.logs[i].insert(index, cmd);
    st.max_index = st.max_index.max(index);
    (err, prev_ok)
}

/// Replaces server `i`'s applied log by the one a snapshot holds.
fn ingest_snapshot<R>(st: &mut State<R>, i: usize, data: &[u8], index: Option<u64>) -> Result<(), String> {
    if data.is_empty() {
        return Err(format!("server {i} delivered an empty snapshot"));
    }
    let (last, xlog): (u64, Vec<Vec<u8>>) = postcard::from_bytes(data)
        .map_err(|e| format!("server {i} delivered a snapshot that does not decode: {e}"))?;
    if let Some(index) = index
        && index != last
    {
        return Err(format!(
            "server {i}: snapshot doesn't match the ApplyMsg's index: the message says {index}, the snapshot holds up to {last}"
        ));
    }
    st.logs[i] = xlog.into_iter().enumerate().map(|(k, v)| (k as u64 + 1, v)).collect();
    st.last_applied[i] = last;
    Ok(())
}

/// Reads server `i`'s apply channel and checks every message. With `snapshot`, asks Raft for
/// a snapshot every [`SNAPSHOT_INTERVAL`] commands and ingests the snapshots it delivers.
fn applier<R: RaftPeer>(
    shared: Arc<Shared<R>>,
    i: usize,
    incarnation: u64,
    rx: Receiver<ApplyMsg>,
    rf: R,
    snapshot: bool,
) {
    let mut failed = false;
    for m in rx.iter() {
        if labs::thread::killed() {
            return;
        }
        let mut st = shared.mu.lock();
        if st.incarnation[i] != incarnation {
            // A message from a crashed instance (real backend): not the current server's.
            return;
        }
        if failed {
            continue;
        }
        let mut take_snapshot = None;
        let err = match m {
            ApplyMsg::Snapshot { index, data, .. } => {
                if !snapshot {
                    // The plain applier ignores snapshots, as in 6.5840.
                    continue;
                }
                ingest_snapshot(&mut st, i, &data, Some(index)).err()
            }
            ApplyMsg::Command { index, command } => {
                let expected = st.last_applied[i] + 1;
                let mut err = None;
                if snapshot && index != expected {
                    err = Some(format!("apply out of order on server {i}: expected {expected}, got {index}"));
                } else {
                    let (e, prev_ok) = check_logs(&mut st, i, index, command);
                    err = err.or(e);
                    if err.is_none() && index > 1 && !prev_ok {
                        err = Some(format!(
                            "apply out of order on server {i}: expected {expected}, got {index}"
                        ));
                    }
                }
                st.last_applied[i] = index;
                if snapshot && err.is_none() && (index + 1) % SNAPSHOT_INTERVAL == 0 {
                    let xlog: Vec<&Vec<u8>> = (1..=index).filter_map(|k| st.logs[i].get(&k)).collect();
                    take_snapshot =
                        Some((index, postcard::to_allocvec(&(index, xlog)).expect("snapshot encodes")));
                }
                err
            }
        };
        if let Some(e) = err {
            failed = true;
            st.apply_err.get_or_insert_with(|| e.clone());
            drop(st);
            fail(&shared, e);
            continue;
        }
        drop(st);
        if let Some((index, bytes)) = take_snapshot {
            guarded(&shared, i, "snapshot()", || rf.snapshot(index, bytes));
        }
    }
}
