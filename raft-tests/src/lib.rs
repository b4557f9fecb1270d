//! The Lab 3 tester: the cluster the suites in `raft-tests/tests/` drive (6.5840's `config.go`),
//! built on the test kit's [`Frame`] and [`Group`].
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
//! * the [`monitor`] checks the rules of Figure 2 over every RPC the peers exchange (votes,
//!   terms, acknowledged entries, leaders' commits, heartbeat rate) and fails the test at the
//!   first violation, naming the rule;
//! * every call into a peer (`Raft::new`, `start`, `state`, `snapshot`, `kill`) runs as that
//!   peer (inside its node), so what the peer logs is tagged with its name, not `tester`;
//! * [`Config::end`] prints the 6.5840 `Passed` line and fails a test that took longer than
//!   [`TEST_TIME_LIMIT`].
//!
//! The tester drives any implementation of [`RaftPeer`]; [`Config`] defaults to the lab's
//! [`Raft`]. Failures are panics of the test's main thread (or, from other threads, a
//! [`Frame::fail`]), with the failure in words; the harness adds the seed and the replay
//! command.

pub mod monitor;
pub mod script;

use labrpc::{ClientEnd, Network, Service};
use labs::events::{self, EventKind};
use labs::persister::Persister;
use labs::sync::{Arc, Mutex, Receiver, Sender, unbounded};
use labs::time::{Duration, Instant, sleep};
use monitor::Monitor;
use raft::{ApplyMsg, NotLeader, Raft};
use std::collections::BTreeMap;
use testkit::{Frame, Group, Spec, Start, Wiring, servers_in_words};

pub use testkit::{STUCK_CALL_LIMIT, TEST_TIME_LIMIT, random_string};

/// 6.5840's `RaftElectionTimeout`: the unit of the suites' sleeps. It generously allows an
/// election to complete in one second.
pub const ELECTION_TIMEOUT: Duration = Duration::from_millis(1000);

/// The snapshot applier hands Raft a snapshot after each index `i` with `(i + 1) % 10 == 0`.
pub const SNAPSHOT_INTERVAL: u64 = 10;

/// 3D: the persisted Raft state of every peer must stay below this many bytes.
pub const MAX_LOG_SIZE: usize = 2000;

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
        Raft::snapshot(self, index, snapshot);
    }
    fn kill(&self) {
        Raft::kill(self);
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

/// The network name of server `i`.
fn server_name(i: usize) -> String {
    format!("server-{i}")
}

/// The tester's view of what the peers did, behind [`Shared::st`].
struct State {
    connected: Vec<bool>,
    /// The incarnation of each server's current instance (tells a dead instance's applier
    /// that it is stale).
    incarnation: Vec<u64>,
    /// The commands each server has applied, by index.
    logs: Vec<BTreeMap<u64, Vec<u8>>>,
    /// The last index each server's current instance applied (or ingested with a snapshot).
    last_applied: Vec<u64>,
    /// The first apply error, if any.
    apply_err: Option<String>,
    /// Whether each server's current instance has closed its apply channel.
    apply_closed: Vec<bool>,
    max_index: u64,
    /// `max_index` when the test began, for the `Passed` line.
    max_index0: u64,
}

/// A running peer as the group holds it: the Raft, and the frame its calls are guarded by.
#[derive(Clone)]
struct Peer<R> {
    rf: R,
    frame: Frame,
    i: usize,
}

struct Shared<R> {
    n: usize,
    frame: Frame,
    monitor: Arc<Monitor>,
    group: Group<Peer<R>>,
    st: Arc<Mutex<State>>,
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
        let frame = Frame::new(&net, "a Raft RPC handler");
        let monitor = Arc::new(Monitor::new(n, &frame));
        let m = monitor.clone();
        net.set_tap(Some(Arc::new(move |t: &labrpc::Tap| m.observe(t))));
        let st = Arc::new(Mutex::new(State {
            connected: vec![false; n],
            incarnation: vec![0; n],
            logs: vec![BTreeMap::new(); n],
            last_applied: vec![0; n],
            apply_err: None,
            apply_closed: vec![false; n],
            max_index: 0,
            max_index0: 0,
        }));
        let (f, s) = (frame.clone(), st.clone());
        let spec = Spec {
            make: Box::new(move |start: Start<'_>| make_peer::<R>(&f, &s, snapshot, start)),
            services: |p: &Peer<R>| vec![p.rf.service()],
            kill: |p: &Peer<R>| p.frame.guarded(format!("server {}", p.i), "kill()", || p.rf.kill()),
            leads: |p: &Peer<R>| p.rf.state().1,
            wiring: Wiring::Manual,
        };
        let group = Group::new(&net, (0..n).map(server_name).collect(), spec);
        let cfg = Config { shared: Arc::new(Shared { n, frame, monitor, group, st }) };
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

    /// Notes the test's title (`Test (3A): initial election`, printed with its `Passed` line)
    /// and starts its statistics.
    pub fn begin(&self, description: &str) {
        self.shared.frame.begin(description);
        let mut st = self.shared.st.lock();
        st.max_index0 = st.max_index;
    }

    /// Ends a test that passed: checks the time limit, then prints `  ... Passed --` with the
    /// seconds, peers, RPCs, bytes and commands since [`Config::begin`].
    pub fn end(&self) {
        let ncmds = {
            let st = self.shared.st.lock();
            st.max_index - st.max_index0
        };
        let n = self.shared.n;
        self.shared.frame.end_with(|s| {
            format!("  ... Passed --  {:4.1}  {n} {:4} {:7} {ncmds:4}", s.secs, s.rpcs, s.bytes)
        });
    }

    /// Fails the test if it has run for longer than [`TEST_TIME_LIMIT`].
    pub fn check_timeout(&self) {
        self.shared.frame.check_time_limit();
    }

    /// Fails the test if an applier or the watchdog found a problem (an apply error, a
    /// panicking handler, a stuck call).
    fn check_failures(&self) {
        self.shared.frame.check_failures();
    }

    /// Runs `f`, a call into server `i`'s Raft, as server `i` (inside its node, so that what
    /// it logs is tagged with the server) and where the watchdog can see it.
    fn guarded<T>(&self, i: usize, what: &'static str, f: impl FnOnce() -> T) -> T {
        self.shared.group.enter(i, || self.shared.frame.guarded(format!("server {i}"), what, f))
    }

    /// The test's frame (for steps).
    pub fn frame(&self) -> &Frame {
        &self.shared.frame
    }

    /// The RPCs delivered or attempted since `since` (a time from [`events::now`]), counted
    /// by method, in words: "12 Raft.AppendEntries, 4 Raft.RequestVote".
    pub fn rpcs_by_method(&self, since: u64) -> String {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for e in events::snapshot() {
            if let EventKind::Rpc { method, .. } = &e.kind
                && e.t >= since
            {
                *counts.entry(method.clone()).or_default() += 1;
            }
        }
        let mut v: Vec<(usize, String)> = counts.into_iter().map(|(m, c)| (c, m)).collect();
        v.sort_by(|a, b| b.cmp(a));
        v.iter().map(|(c, m)| format!("{c} {m}")).collect::<Vec<_>>().join(", ")
    }

    /// Cuts (or restores) only server `from`'s link to server `to`: `from` cannot call `to`,
    /// while `to` can still call `from` (a one-way partition).
    pub fn set_one_way(&self, from: usize, to: usize, on: bool) {
        self.shared.group.set_one_way(from, to, on);
    }

    /// Turns request delays (requests overtaking each other) and duplicated requests on or
    /// off (labrpc modes beyond 6.5840's).
    pub fn set_reordering(&self, on: bool) {
        let what =
            if on { "request delays and duplication on" } else { "request delays and duplication off" };
        events::record(EventKind::Fault { what: what.into() });
        self.shared.frame.net().set_request_delays(on);
        self.shared.frame.net().set_duplication(on);
    }

    /// The monitor of this cluster.
    pub fn monitor(&self) -> &Monitor {
        &self.shared.monitor
    }

    /// Server `i`'s current Raft instance, or `None` while it is crashed.
    pub fn raft(&self, i: usize) -> Option<R> {
        self.shared.group.server(i).map(|p| p.rf)
    }

    /// Whether server `i` is running (started and not crashed).
    pub fn is_alive(&self, i: usize) -> bool {
        self.shared.group.is_running(i)
    }

    /// Whether server `i` is connected.
    pub fn is_connected(&self, i: usize) -> bool {
        self.shared.st.lock().connected[i]
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

    /// Calls `kill()` on server `i`'s Raft (inside its node), and nothing else: the server
    /// stays on the network, and its node is not killed, so that a test can watch what the
    /// killed peer's threads do.
    pub fn kill_raft(&self, i: usize) {
        let rf = self.running(i);
        self.guarded(i, "kill()", || rf.kill());
    }

    /// The threads of server `i`'s current instance that are still running, except the
    /// network's handler threads and the tester's applier (which ends when the apply channel
    /// closes).
    pub fn peer_threads(&self, i: usize) -> Vec<String> {
        self.shared
            .group
            .node(i)
            .map(|n| n.live_threads())
            .unwrap_or_default()
            .into_iter()
            .filter(|t| t != "rpc-handler" && t != "tester-applier")
            .collect()
    }

    /// Whether server `i`'s current instance has closed its apply channel (dropped every
    /// sender).
    pub fn apply_closed(&self, i: usize) -> bool {
        self.shared.st.lock().apply_closed[i]
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
        self.shared.group.shutdown_server(i);
    }

    /// Starts (or restarts) server `i` with what it persisted, on a fresh node and with fresh
    /// end names so that the old instance's ends are dead. Does not connect it.
    pub fn start1(&self, i: usize) {
        self.crash1(i);
        self.shared.group.start_server(i);
    }

    /// Reconnects server `i`: enables its ends to, and the ends from, every connected server.
    pub fn connect(&self, i: usize) {
        tracing::debug!("tester: connect server {i}");
        events::record(EventKind::Fault { what: format!("connect {}", server_name(i)) });
        let to: Vec<usize> = {
            let mut st = self.shared.st.lock();
            st.connected[i] = true;
            (0..self.shared.n).filter(|&j| st.connected[j]).collect()
        };
        self.shared.group.connect(i, &to);
    }

    /// Cuts server `i` off: disables its ends and the ends of every server to it.
    pub fn disconnect(&self, i: usize) {
        tracing::debug!("tester: disconnect server {i}");
        events::record(EventKind::Fault { what: format!("disconnect {}", server_name(i)) });
        self.shared.st.lock().connected[i] = false;
        self.shared.group.disconnect(i, &self.shared.group.all());
    }

    /// RPCs delivered to server `i`'s current instance.
    pub fn rpc_count(&self, i: usize) -> u64 {
        self.shared.frame.net().count(&server_name(i))
    }

    /// Every RPC made on the network.
    pub fn rpc_total(&self) -> u64 {
        self.shared.frame.net().total_count()
    }

    /// Every byte sent on the network (arguments, and delivered replies).
    pub fn bytes_total(&self) -> u64 {
        self.shared.frame.net().total_bytes()
    }

    /// Makes the network reliable or not.
    pub fn set_unreliable(&self, unreliable: bool) {
        let what = if unreliable { "network unreliable" } else { "network reliable" };
        events::record(EventKind::Fault { what: what.into() });
        self.shared.frame.net().set_reliable(!unreliable);
    }

    /// Turns long reordering of replies on or off.
    pub fn set_long_reordering(&self, on: bool) {
        let what = if on { "long reordering on" } else { "long reordering off" };
        events::record(EventKind::Fault { what: what.into() });
        self.shared.frame.net().set_long_reordering(on);
    }

    /// The largest persisted Raft state of any server, in bytes.
    pub fn log_size(&self) -> usize {
        self.shared.group.log_size()
    }

    /// Checks that exactly one connected server is leader, trying 10 times over about 5 s,
    /// and returns it. Fails if some term has two leaders, or if there is none.
    pub fn check_one_leader(&self) -> usize {
        let _step = self.shared.frame.step("check_one_leader: waiting for one connected server to lead");
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
        let connected: Vec<usize> =
            (0..self.shared.n).filter(|&i| self.is_connected(i) && self.is_alive(i)).collect();
        let terms: Vec<String> = connected
            .iter()
            .map(|&i| {
                let rf = self.running(i);
                format!("server {i} in term {}", self.guarded(i, "state()", || rf.state()).0)
            })
            .collect();
        panic!(
            "expected one leader, got none: no connected server claimed to lead for about 5 s (connected: {}); a \
             new leader must be elected within 5 s whenever a majority can talk (the lab's rule)",
            if terms.is_empty() { "none".to_string() } else { terms.join(", ") }
        );
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
        let st = self.shared.st.lock();
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
        let _step = self.shared.frame.step(format!("wait: waiting for {n} servers to commit index {index}"));
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
            panic!("only {nd} decided for index {index}; wanted {n} ({})", self.applied_in_words(index));
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
        let _step = self.shared.frame.step(format!(
            "one({}): waiting for a leader to take it and {expected_servers} servers to commit it",
            describe(&cmd)
        ));
        // The last leader that took the command: (server, index, term, when).
        let mut last: Option<(usize, u64, u64, f64)> = None;
        while t0.elapsed() < Duration::from_secs(10) && !self.shared.frame.finished() {
            // Try all the servers; maybe one is the leader.
            let mut index = None;
            for _ in 0..n {
                starts = (starts + 1) % n;
                let rf = if self.is_connected(starts) { self.raft(starts) } else { None };
                if let Some(rf) = rf
                    && let Ok((i, term)) = self.guarded(starts, "start()", || rf.start(cmd.clone()))
                {
                    index = Some(i);
                    last = Some((starts, i, term, t0.elapsed().as_secs_f64()));
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
                        let (l, _, term, _) = last.expect("a leader took it");
                        panic!(
                            "one({}) failed to reach agreement: server {l} took it as leader of term {term} at index \
                             {index}, but only {nd} of the {expected_servers} servers expected committed it within \
                             2 s ({})",
                            describe(&cmd),
                            self.applied_in_words(index)
                        );
                    }
                }
                None => sleep(Duration::from_millis(50)),
            }
        }
        self.check_failures();
        let connected: Vec<usize> = (0..n).filter(|&i| self.is_connected(i) && self.is_alive(i)).collect();
        let why = match last {
            None => format!(
                "no connected server accepted start() as leader in 10 s (connected: {})",
                servers_in_words(&connected)
            ),
            Some((l, index, term, at)) => format!(
                "the last leader to take it was server {l} (term {term}, at index {index}, {at:.1} s into the \
                 call); {}; connected: {}",
                self.applied_in_words(index),
                servers_in_words(&connected)
            ),
        };
        panic!("one({}) failed to reach agreement in 10 s: {why}", describe(&cmd));
    }

    /// Which servers applied `index`, and each server's last applied index, in words.
    fn applied_in_words(&self, index: u64) -> String {
        let st = self.shared.st.lock();
        let have: Vec<usize> = (0..self.shared.n).filter(|&i| st.logs[i].contains_key(&index)).collect();
        let last: Vec<String> = (0..self.shared.n)
            .map(|i| format!("{i}: {}", st.logs[i].keys().next_back().copied().unwrap_or(0)))
            .collect();
        format!(
            "{} applied index {index}; the last index each server applied is {{{}}}",
            servers_in_words(&have),
            last.join(", ")
        )
    }
}

impl<R: RaftPeer> Drop for Config<R> {
    /// 6.5840's `cleanup`: kills every peer and closes the network (unless the test failed).
    fn drop(&mut self) {
        self.shared.frame.finish(|| self.shared.group.cleanup());
    }
}

/// Makes a peer for the group: resets the tester's view of server `me` to what its persisted
/// snapshot holds, makes the Raft (a call the watchdog guards) and starts its applier.
fn make_peer<R: RaftPeer>(
    frame: &Frame,
    st: &Arc<Mutex<State>>,
    snapshot: bool,
    start: Start<'_>,
) -> Peer<R> {
    let i = start.me;
    {
        let mut s = st.lock();
        s.last_applied[i] = 0;
        s.apply_closed[i] = false;
        s.incarnation[i] = start.incarnation;
        let data = start.persister.read_snapshot();
        if !data.is_empty()
            && let Err(e) = ingest_snapshot(&mut s, i, &data, None)
        {
            drop(s);
            panic!("{e}");
        }
    }
    let (tx, rx) = unbounded();
    let rf =
        frame.guarded(format!("server {i}"), "Raft::new()", || R::make(start.peers, i, start.persister, tx));
    let applier =
        Applier { frame: frame.clone(), st: st.clone(), i, incarnation: start.incarnation, snapshot };
    let r = rf.clone();
    labs::thread::spawn("tester-applier", move || applier.run(rx, r));
    Peer { rf, frame: frame.clone(), i }
}

/// Records command `cmd` applied at `index` by server `i`, checking it against every other
/// server. Returns an error message if the servers disagree, and whether server `i` had
/// applied `index - 1`.
fn check_logs(st: &mut State, i: usize, index: u64, cmd: Vec<u8>) -> (Option<String>, bool) {
    let mut err = None;
    for (j, log) in st.logs.iter().enumerate() {
        if let Some(old) = log.get(&index)
            && *old != cmd
        {
            err = Some(format!(
                "commit index={index}: server {i} applied {} but server {j} applied {} (Figure 3, State Machine \
                 Safety: every server applies the same command at an index; look for a leader that lost or \
                 overwrote a committed entry, or a follower that committed entries it had not checked against \
                 the leader's log)",
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
fn ingest_snapshot(st: &mut State, i: usize, data: &[u8], index: Option<u64>) -> Result<(), String> {
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

/// One server instance's applier: reads its apply channel and checks every message. With
/// `snapshot`, it asks Raft for a snapshot every [`SNAPSHOT_INTERVAL`] commands and ingests the
/// snapshots Raft delivers.
struct Applier {
    frame: Frame,
    st: Arc<Mutex<State>>,
    i: usize,
    incarnation: u64,
    snapshot: bool,
}

impl Applier {
    fn run<R: RaftPeer>(self, rx: Receiver<ApplyMsg>, rf: R) {
        let i = self.i;
        let mut failed = false;
        for m in rx.iter() {
            if labs::thread::killed() {
                return;
            }
            let mut st = self.st.lock();
            if st.incarnation[i] != self.incarnation {
                // A message from a crashed instance (real backend): not the current server's.
                return;
            }
            if failed {
                continue;
            }
            let mut take_snapshot = None;
            let err = match m {
                ApplyMsg::Snapshot { index, data, .. } => {
                    if !self.snapshot {
                        // The plain applier ignores snapshots, as in 6.5840.
                        continue;
                    }
                    ingest_snapshot(&mut st, i, &data, Some(index)).err()
                }
                ApplyMsg::Command { index, command } => {
                    let expected = st.last_applied[i] + 1;
                    let mut err = None;
                    if self.snapshot && index != expected {
                        err = Some(format!(
                            "apply out of order on server {i}: expected {expected}, got {index}"
                        ));
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
                    if self.snapshot && err.is_none() && (index + 1) % SNAPSHOT_INTERVAL == 0 {
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
                self.frame.fail(e);
                continue;
            }
            drop(st);
            if let Some((index, bytes)) = take_snapshot {
                self.frame.guarded(format!("server {i}"), "snapshot()", || rf.snapshot(index, bytes));
            }
        }
        // Every sender is gone: the channel is closed.
        let mut st = self.st.lock();
        if st.incarnation[i] == self.incarnation {
            st.apply_closed[i] = true;
        }
    }
}
