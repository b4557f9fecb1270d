//! The tester of the rsm suite (6.5840's `kvraft1/rsm/test.go`).
//!
//! [`Test`] runs [`NSRV`] servers on a reliable network, each an [`Rsm`] over a [`Counter`]:
//! `Inc` adds one and returns the new value, `Null` does nothing, and `Dec` must never be
//! executed (the suite submits `Dec`s only where they must not commit; executing one fails
//! the test). The tester submits operations directly to the servers' rsm, as 6.5840's does.

use kvraft::rsm::{Rsm, StateMachine, SubmitError};
use labrpc::Network;
use labs::sync::Mutex;
use labs::sync::atomic::{AtomicU64, Ordering};
use labs::time::{Duration, Instant, sleep};
use serde::{Deserialize, Serialize};
use testkit::{Frame, Group, Spec, Start, Wiring};

/// Servers in an rsm test.
pub const NSRV: usize = 3;

/// How long [`Test::one_partition`] keeps trying (6.5840's `NSEC`).
pub const NSEC: Duration = Duration::from_secs(10);

/// An operation of the test's state machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CounterOp {
    /// Add one to the counter; answers the new value.
    Inc,
    /// Do nothing.
    Null,
    /// Must never be executed: the test only submits it where it must not commit.
    Dec,
}

/// What a [`CounterOp`] answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CounterReply {
    /// The counter after an `Inc` (6.5840 `IncRep{N}`).
    Inc(u64),
    /// The answer to a `Null`.
    Null,
}

/// The test's state machine: a counter.
#[derive(Debug, Default)]
pub struct Counter {
    /// The counter's value.
    pub n: u64,
}

impl StateMachine for Counter {
    type Op = CounterOp;
    type Reply = CounterReply;

    fn apply(&mut self, op: CounterOp) -> CounterReply {
        match op {
            CounterOp::Inc => {
                self.n += 1;
                CounterReply::Inc(self.n)
            }
            CounterOp::Null => CounterReply::Null,
            CounterOp::Dec => panic!(
                "the rsm executed a Dec: only operations that committed may be applied, and no Dec \
                 was ever committed (they were all submitted to a leader cut off in a minority)"
            ),
        }
    }

    fn snapshot(&self) -> Vec<u8> {
        postcard::to_allocvec(&self.n).expect("a counter encodes")
    }

    fn restore(&mut self, snapshot: &[u8]) {
        self.n = postcard::from_bytes(snapshot).expect("a counter snapshot decodes");
    }
}

/// An rsm test: [`NSRV`] counter servers, all started and connected.
pub struct Test {
    frame: Frame,
    group: Group<Rsm<Counter>>,
    maxraftstate: i64,
    /// The server that last answered a submit.
    leader: Mutex<usize>,
    /// Servers the test has not cut off with [`Test::disconnect_leader`] (or shut down).
    connected: Mutex<Vec<bool>>,
    submits: AtomicU64,
    /// Submits when the test began, for the `Passed` line.
    submits0: AtomicU64,
}

impl Test {
    /// 6.5840's `makeTest`: [`NSRV`] servers with `maxraftstate`, started and connected on a
    /// reliable network.
    pub fn new(maxraftstate: i64) -> Test {
        let net = Network::new();
        let frame = Frame::new(&net, "an RPC handler");
        let spec = Spec {
            make: Box::new(move |s: Start<'_>| {
                Rsm::new(s.peers, s.me, s.persister, maxraftstate, Counter::default())
            }),
            services: |s: &Rsm<Counter>| vec![s.raft().service()],
            kill: Rsm::kill,
            leads: |s: &Rsm<Counter>| s.raft().state().1,
            wiring: Wiring::Manual,
        };
        let group = Group::new(&net, crate::server_names(NSRV), spec);
        group.start_all();
        Test {
            frame,
            group,
            maxraftstate,
            leader: Mutex::new(0),
            connected: Mutex::new(vec![true; NSRV]),
            submits: AtomicU64::new(0),
            submits0: AtomicU64::new(0),
        }
    }

    /// The server group.
    pub fn group(&self) -> &Group<Rsm<Counter>> {
        &self.group
    }

    /// The `maxraftstate` the servers run with.
    pub fn maxraftstate(&self) -> i64 {
        self.maxraftstate
    }

    /// Prints `<title> (reliable network) ...` and starts the statistics.
    pub fn begin(&self, title: &str) {
        self.frame.begin(&format!("{title} (reliable network)"));
        self.submits0.store(self.submits.load(Ordering::Relaxed), Ordering::Relaxed);
    }

    /// Checks the time limit and that no handler panicked, and prints
    /// `  ... Passed --  %4.1f  %d %5d %4d` (seconds, servers, RPCs, submits).
    pub fn end(&self) {
        let ops = self.submits.load(Ordering::Relaxed) - self.submits0.load(Ordering::Relaxed);
        self.frame.end_with(|s| format!("  ... Passed --  {:4.1}  {NSRV} {:5} {ops:4}", s.secs, s.rpcs));
    }

    /// Submits `op` to server `i`'s rsm (which must be running).
    pub fn submit(&self, i: usize, op: CounterOp) -> Result<CounterReply, SubmitError> {
        let s =
            self.group.server(i).unwrap_or_else(|| panic!("the test used server {i}, but it is shut down"));
        self.submits.fetch_add(1, Ordering::Relaxed);
        s.submit(op)
    }

    /// 6.5840's `onePartition`: tries the connected servers (only those in `p`, if given),
    /// starting with the last leader, until one's submit succeeds, pausing 50 ms between
    /// rounds, for up to [`NSEC`]. `None` if none did.
    pub fn one_partition(&self, p: Option<&[usize]>, op: CounterOp) -> Option<CounterReply> {
        let t0 = Instant::now();
        while t0.elapsed() < NSEC {
            let mut index = *self.leader.lock();
            for _ in 0..NSRV {
                let eligible = self.connected.lock()[index] && p.is_none_or(|p| p.contains(&index));
                if eligible && let Some(s) = self.group.server(index) {
                    self.submits.fetch_add(1, Ordering::Relaxed);
                    if let Ok(rep) = s.submit(op) {
                        *self.leader.lock() = index;
                        return Some(rep);
                    }
                }
                index = (index + 1) % NSRV;
            }
            sleep(Duration::from_millis(50));
        }
        None
    }

    /// Gets an `Inc` done by the servers in `p` (all if `None`) and returns the counter it
    /// produced; fails the test if none succeeded within [`NSEC`].
    pub fn one_inc_partition(&self, p: Option<&[usize]>) -> u64 {
        match self.one_partition(p, CounterOp::Inc) {
            Some(CounterReply::Inc(n)) => n,
            Some(other) => panic!("an Inc answered {other:?}"),
            None => panic!("no server executed an Inc within {} s", NSEC.as_secs()),
        }
    }

    /// [`Test::one_inc_partition`] on all servers (6.5840 `oneInc`).
    pub fn one_inc(&self) -> u64 {
        self.one_inc_partition(None)
    }

    /// Tries to get a `Null` done (6.5840 `oneNull`); `None` if no server did within
    /// [`NSEC`].
    pub fn one_null(&self) -> Option<CounterReply> {
        self.one_partition(None, CounterOp::Null)
    }

    /// How many running servers have counter `v`.
    pub fn count_value(&self, v: u64) -> usize {
        (0..NSRV).filter(|&i| self.group.server(i).is_some_and(|s| s.with_state(|c| c.n) == v)).count()
    }

    /// 6.5840's `checkCounter`: waits (30 polls, 10 ms doubling to 1 s) until at least `nsrv`
    /// servers have counter `v`; fails the test otherwise.
    pub fn check_counter(&self, v: u64, nsrv: usize) {
        let mut pause = Duration::from_millis(10);
        let mut n = 0;
        for _ in 0..30 {
            n = self.count_value(v);
            if n >= nsrv {
                return;
            }
            sleep(pause);
            if pause < Duration::from_secs(1) {
                pause *= 2;
            }
        }
        let values: Vec<String> = (0..NSRV)
            .map(|i| match self.group.server(i) {
                Some(s) => format!("server {i}: {}", s.with_state(|c| c.n)),
                None => format!("server {i}: down"),
            })
            .collect();
        panic!("checkCounter: only {n} servers have {v} instead of {nsrv} ({})", values.join(", "));
    }

    /// The server that last answered a submit.
    pub fn last_leader(&self) -> usize {
        *self.leader.lock()
    }

    /// Cuts the last leader off from every server and returns it (6.5840 `disconnectLeader`).
    pub fn disconnect_leader(&self) -> usize {
        let l = *self.leader.lock();
        self.connected.lock()[l] = false;
        self.group.disconnect_all(l);
        l
    }

    /// Reconnects server `i` to every server (6.5840 `connect`).
    pub fn connect(&self, i: usize) {
        self.connected.lock()[i] = true;
        self.group.connect_one(i);
    }

    /// Splits the servers in two sides.
    pub fn partition(&self, p1: &[usize], p2: &[usize]) {
        self.group.partition(p1, p2);
    }

    /// A server that claims to lead; fails the test if none does.
    pub fn leader(&self) -> usize {
        self.group.leader().expect("no server claims to be the leader")
    }

    /// Shuts every server down (6.5840 `Group(Gid).Shutdown()`).
    pub fn shutdown(&self) {
        *self.connected.lock() = vec![false; NSRV];
        self.group.shutdown_all();
    }

    /// Restarts every server from what it persisted and connects them all (6.5840
    /// `StartServers`).
    pub fn start_servers(&self) {
        self.group.start_all();
        *self.connected.lock() = vec![true; NSRV];
    }

    /// The largest persisted Raft state of any server, in bytes.
    pub fn log_size(&self) -> usize {
        self.group.log_size()
    }
}

impl Drop for Test {
    fn drop(&mut self) {
        self.frame.finish(|| self.group.cleanup());
    }
}
