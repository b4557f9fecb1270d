//! Scripted tests: one Raft peer under test, driven through the network with crafted
//! messages, among fake peers whose answers the script chooses.
//!
//! Random schedules rarely produce the exact situations some rules of Figure 2 are about (two
//! candidates in one term, an old AppendEntries arriving after a newer one, a vote followed by
//! a crash, a reply with a higher term). A [`Bench`] makes them happen on every seed: the
//! script calls the peer's handlers with the messages a leader or a candidate would send
//! (through labrpc, as server `1`, `2`, ...), plays the service on the peer's apply channel,
//! crashes and restarts the peer from what it persisted, and sets how the fake peers answer the
//! peer's own RPCs. The [`Monitor`] watches the RPCs too.
//!
//! The peer under test is server 0 (`server-0`); the fake peers are servers `1..n`. The
//! network is reliable, with no delays, so a script runs in a few milliseconds of virtual time,
//! well within any election timeout.

use crate::RaftPeer;
use crate::monitor::Monitor;
use labrpc::{ClientEnd, Network, Server, Service};
use labs::persister::Persister;
use labs::sync::{Arc, Mutex, Receiver, RecvTimeoutError, unbounded};
use labs::time::{Duration, Instant, sleep};
use labs::world::{Node, World};
use raft::ApplyMsg;
use raft::raft::{
    AppendEntriesArgs, AppendEntriesReply, Entry, InstallSnapshotArgs, InstallSnapshotReply, RequestVoteArgs,
    RequestVoteReply,
};
use testkit::{Ends, Frame};

/// While the script waits, it re-sends its last accepted AppendEntries this often.
const KEEPALIVE: Duration = Duration::from_millis(50);

/// How a fake peer answers the peer under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Grants votes; acknowledges every AppendEntries and InstallSnapshot, in the request's
    /// term.
    Yes,
    /// Refuses votes and AppendEntries (as a follower with an empty log), in the request's
    /// term.
    No,
    /// Refuses everything, answering with this term (or the request's, if higher).
    Term(u64),
    /// Like [`Answer::Yes`], but each reply leaves this many ms after the request arrived (so
    /// that it may reach the peer in a later term).
    Late(u64),
}

/// What one fake peer does and has seen.
struct Fake {
    answer: Answer,
    /// The requests the peer under test sent it: (method, term).
    seen: Vec<(&'static str, u64)>,
}

impl Fake {
    fn term(&self, asked: u64) -> u64 {
        match self.answer {
            Answer::Term(t) => t.max(asked),
            _ => asked,
        }
    }

    fn yes(&self) -> bool {
        matches!(self.answer, Answer::Yes | Answer::Late(_))
    }

    /// How long to hold the reply back.
    fn delay(&self) -> Option<Duration> {
        match self.answer {
            Answer::Late(ms) => Some(Duration::from_millis(ms)),
            _ => None,
        }
    }
}

/// Decides an answer with the fake's lock held, then holds the reply back if asked to.
fn answer_with<T>(f: &Mutex<Fake>, method: &'static str, term: u64, reply: impl FnOnce(&Fake) -> T) -> T {
    let (r, delay) = {
        let mut f = f.lock();
        f.seen.push((method, term));
        (reply(&f), f.delay())
    };
    if let Some(d) = delay {
        sleep(d);
    }
    r
}

fn fake_service(f: Arc<Mutex<Fake>>) -> Service {
    let (a, b, c) = (f.clone(), f.clone(), f);
    Service::new("Raft")
        .handler("RequestVote", move |args: RequestVoteArgs| {
            answer_with(&a, "RequestVote", args.term, |f| RequestVoteReply {
                term: f.term(args.term),
                vote_granted: f.yes(),
            })
        })
        .handler("AppendEntries", move |args: AppendEntriesArgs| {
            answer_with(&b, "AppendEntries", args.term, |f| AppendEntriesReply {
                term: f.term(args.term),
                success: f.yes(),
                conflict_term: None,
                conflict_index: 0,
                log_len: 1,
            })
        })
        .handler("InstallSnapshot", move |args: InstallSnapshotArgs| {
            answer_with(&c, "InstallSnapshot", args.term, |f| InstallSnapshotReply {
                term: f.term(args.term),
            })
        })
}

/// The running instance of the peer under test.
struct Instance<R> {
    rf: R,
    node: Node,
    ends: Ends,
    rx: Receiver<ApplyMsg>,
}

/// One peer under test among fake peers, and the script's view of it.
pub struct Bench<R: RaftPeer> {
    net: Network,
    frame: Frame,
    n: usize,
    driver: ClientEnd,
    fakes: Vec<Arc<Mutex<Fake>>>,
    inst: Mutex<Option<Instance<R>>>,
    /// What the peer persisted (a copy is taken at each crash).
    saved: Mutex<Persister>,
    restarts: Mutex<u64>,
    /// What the script is doing, for messages.
    doing: Mutex<String>,
    /// The last AppendEntries of the script that the peer accepted, re-sent while the script
    /// waits (so that the peer's election timer does not fire), until the peer campaigns to
    /// lead.
    keepalive: Mutex<Option<AppendEntriesArgs>>,
}

/// An entry of `term` whose command is the bytes of `cmd`.
pub fn entry(term: u64, cmd: &str) -> Entry {
    Entry { term, command: cmd.as_bytes().to_vec() }
}

/// A command's bytes in words.
fn show(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) if s.len() <= 20 => format!("{s:?}"),
        _ => crate::describe(bytes),
    }
}

fn show_msg(m: &ApplyMsg) -> String {
    match m {
        ApplyMsg::Command { index, command } => format!("command {} at index {index}", show(command)),
        ApplyMsg::Snapshot { index, term, .. } => format!("a snapshot up to index {index} (term {term})"),
    }
}

impl<R: RaftPeer> Bench<R> {
    /// A peer under test (server 0) among `n - 1` fake peers that answer [`Answer::No`].
    pub fn new(n: usize) -> Bench<R> {
        let net = Network::new();
        let frame = Frame::new(&net, "a Raft RPC handler");
        let monitor = Arc::new(Monitor::new(n, &frame));
        let m = monitor.clone();
        net.set_tap(Some(Arc::new(move |t: &labrpc::Tap| m.observe(t))));
        let world = World::current();
        let fakes: Vec<Arc<Mutex<Fake>>> =
            (1..n).map(|_| Arc::new(Mutex::new(Fake { answer: Answer::No, seen: Vec::new() }))).collect();
        for (j, f) in fakes.iter().enumerate() {
            let name = format!("server-{}", j + 1);
            let server = Server::new(&world.node(format!("fake-{}", j + 1)));
            server.add_service(fake_service(f.clone()));
            net.add_server(&name, server);
        }
        let driver = Ends::new(&net).make("server-0");
        let bench = Bench {
            net,
            frame,
            n,
            driver,
            fakes,
            inst: Mutex::new(None),
            saved: Mutex::new(Persister::new()),
            restarts: Mutex::new(0),
            doing: Mutex::new(String::new()),
            keepalive: Mutex::new(None),
        };
        bench.start();
        bench
    }

    /// The test's frame.
    pub fn frame(&self) -> &Frame {
        &self.frame
    }

    /// Names what the script does next, for failure messages (and the frame's steps).
    pub fn doing(&self, what: impl Into<String>) {
        *self.doing.lock() = what.into();
    }

    /// Fails the test with `msg` and what the script was doing.
    pub fn fail(&self, msg: impl std::fmt::Display) -> ! {
        let doing = self.doing.lock().clone();
        if doing.is_empty() { panic!("{msg}") } else { panic!("{msg}\n(the script was at: {doing})") }
    }

    fn start(&self) {
        let k = {
            let mut r = self.restarts.lock();
            let k = *r;
            *r += 1;
            k
        };
        let name = if k == 0 { "server-0".to_string() } else { format!("server-0#{k}") };
        let node = World::current().node(name);
        let ends = Ends::new(&self.net);
        let peers = ends.make_each(&(0..self.n).map(|j| format!("server-{j}")).collect::<Vec<_>>(), true);
        let persister = self.saved.lock().clone();
        let (tx, rx) = unbounded();
        let rf =
            node.enter(|| self.frame.guarded("server 0", "Raft::new()", || R::make(peers, 0, persister, tx)));
        let server = Server::new(&node);
        server.add_service(rf.service());
        self.net.add_server("server-0", server);
        *self.inst.lock() = Some(Instance { rf, node, ends, rx });
    }

    /// Crashes the peer (cut off, removed from the network, killed, its node killed) and
    /// starts a new instance from what it had persisted.
    pub fn crash_restart(&self) {
        labs::events::record(labs::events::EventKind::Fault { what: "crash and restart server-0".into() });
        let inst = self.inst.lock().take().expect("the peer is running");
        inst.ends.enable_all(false);
        self.net.delete_server("server-0");
        let copy = self.saved.lock().copy();
        *self.saved.lock() = copy;
        inst.node.enter(|| self.frame.guarded("server 0", "kill()", || inst.rf.kill()));
        inst.node.kill();
        inst.ends.delete_all();
        self.start();
    }

    /// What the peer persisted last (its current storage).
    pub fn persister(&self) -> Persister {
        self.saved.lock().clone()
    }

    fn rf(&self) -> (R, Node) {
        let g = self.inst.lock();
        let i = g.as_ref().expect("the peer is running");
        (i.rf.clone(), i.node.clone())
    }

    /// The peer's `state()`: (term, is leader).
    pub fn state(&self) -> (u64, bool) {
        let (rf, node) = self.rf();
        node.enter(|| self.frame.guarded("server 0", "state()", || rf.state()))
    }

    /// The peer's `start(cmd)`.
    pub fn start_cmd(&self, cmd: &str) -> Option<(u64, u64)> {
        let (rf, node) = self.rf();
        node.enter(|| self.frame.guarded("server 0", "start()", || rf.start(cmd.as_bytes().to_vec())).ok())
    }

    /// Calls the peer's handler `method` with `args` (as the tester), failing the test if the
    /// call gets no reply.
    fn call<A: serde::Serialize, B: serde::de::DeserializeOwned>(&self, method: &'static str, args: &A) -> B {
        match self.frame.guarded("server 0", method, || self.driver.call::<A, B>(method, args)) {
            Ok(r) => r,
            Err(e) => {
                self.frame.check_failures();
                self.fail(format!("the script's {method} to server 0 got no reply: {e}"))
            }
        }
    }

    /// Sends the peer a RequestVote.
    pub fn vote(
        &self,
        term: u64,
        candidate: usize,
        last_log_index: u64,
        last_log_term: u64,
    ) -> RequestVoteReply {
        self.call("Raft.RequestVote", &RequestVoteArgs { term, candidate, last_log_index, last_log_term })
    }

    /// Sends the peer an AppendEntries from `leader`.
    pub fn append(
        &self,
        term: u64,
        leader: usize,
        prev: (u64, u64),
        entries: Vec<Entry>,
        leader_commit: u64,
    ) -> AppendEntriesReply {
        let args = AppendEntriesArgs {
            term,
            leader,
            prev_log_index: prev.0,
            prev_log_term: prev.1,
            entries,
            leader_commit,
        };
        let r: AppendEntriesReply = self.call("Raft.AppendEntries", &args);
        if r.success {
            *self.keepalive.lock() = Some(args);
        }
        r
    }

    /// Sends the peer an InstallSnapshot from `leader`.
    pub fn install(&self, term: u64, leader: usize, last: (u64, u64), data: Vec<u8>) -> InstallSnapshotReply {
        self.call(
            "Raft.InstallSnapshot",
            &InstallSnapshotArgs {
                term,
                leader,
                last_included_index: last.0,
                last_included_term: last.1,
                data,
            },
        )
    }

    /// Calls the peer's `snapshot(index, data)`, as its service would.
    pub fn snapshot(&self, index: u64, data: &[u8]) {
        let (rf, node) = self.rf();
        node.enter(|| self.frame.guarded("server 0", "snapshot()", || rf.snapshot(index, data.to_vec())));
    }

    /// Sets how fake peer `j` answers from now on.
    pub fn answer(&self, j: usize, a: Answer) {
        self.fakes[j - 1].lock().answer = a;
    }

    /// Sets how every fake peer answers from now on.
    pub fn answer_all(&self, a: Answer) {
        for f in &self.fakes {
            f.lock().answer = a;
        }
    }

    /// Cuts (or restores) the peer's link to fake peer `j`: its calls there fail.
    pub fn link(&self, j: usize, on: bool) {
        if let Some(i) = self.inst.lock().as_ref() {
            i.ends.enable(j, on);
        }
    }

    /// The highest term of a RequestVote the peer sent to any fake peer, if any.
    pub fn highest_vote_request(&self) -> Option<u64> {
        self.fakes
            .iter()
            .flat_map(|f| f.lock().seen.clone())
            .filter(|(m, _)| *m == "RequestVote")
            .map(|(_, t)| t)
            .max()
    }

    /// Forgets what the fake peers have seen.
    pub fn clear_seen(&self) {
        for f in &self.fakes {
            f.lock().seen.clear();
        }
    }

    /// Waits up to `within` for the peer to claim leadership; returns its term.
    pub fn wait_leader(&self, within: Duration) -> u64 {
        *self.keepalive.lock() = None;
        let t0 = Instant::now();
        loop {
            let (term, leader) = self.state();
            if leader {
                return term;
            }
            if t0.elapsed() > within {
                self.fail(format!(
                    "server 0 did not become leader within {within:?} although every other server granted its \
                     vote (it is in term {term}) (Figure 2: rules for candidates)"
                ));
            }
            sleep(Duration::from_millis(20));
        }
    }

    /// The next message on the peer's apply channel, waiting up to `within`.
    pub fn next_applied(&self, within: Duration) -> Option<ApplyMsg> {
        let rx = self.inst.lock().as_ref().expect("the peer is running").rx.clone();
        let t0 = Instant::now();
        loop {
            let slice = KEEPALIVE.min(within.saturating_sub(t0.elapsed()));
            match rx.recv_timeout(slice) {
                Ok(m) => return Some(m),
                Err(RecvTimeoutError::Disconnected) => return None,
                Err(RecvTimeoutError::Timeout) if t0.elapsed() >= within => return None,
                Err(RecvTimeoutError::Timeout) => {
                    let again = self.keepalive.lock().clone();
                    if let Some(args) = again {
                        let _: AppendEntriesReply = self.call("Raft.AppendEntries", &args);
                    }
                }
            }
        }
    }

    /// Expects the peer to apply exactly `want` (index, command), in order, within `within`
    /// each, and nothing else in between. `rule` says why, for the message.
    pub fn expect_applied(&self, want: &[(u64, &str)], within: Duration, rule: &str) {
        for &(index, cmd) in want {
            match self.next_applied(within) {
                Some(ApplyMsg::Command { index: i, command }) if i == index && command == cmd.as_bytes() => {}
                Some(other) => self.fail(format!(
                    "server 0 applied {}, where command {cmd:?} at index {index} was expected ({rule})",
                    show_msg(&other)
                )),
                None => self.fail(format!(
                    "server 0 did not apply command {cmd:?} at index {index} within {within:?} ({rule})"
                )),
            }
        }
    }

    /// Expects the peer to apply nothing for `period`. `rule` says why, for the message.
    pub fn expect_nothing_applied(&self, period: Duration, rule: &str) {
        if let Some(m) = self.next_applied(period) {
            self.fail(format!("server 0 applied {} ({rule})", show_msg(&m)));
        }
    }

    /// Expects the next message on the apply channel to be the snapshot `data` up to `index`.
    pub fn expect_snapshot(&self, index: u64, data: &[u8], within: Duration, rule: &str) {
        match self.next_applied(within) {
            Some(ApplyMsg::Snapshot { index: i, data: d, .. }) if i == index && d == data => {}
            Some(other) => self.fail(format!(
                "server 0 delivered {}, where the snapshot up to index {index} was expected ({rule})",
                show_msg(&other)
            )),
            None => self.fail(format!(
                "server 0 did not deliver the snapshot up to index {index} within {within:?} ({rule})"
            )),
        }
    }

    /// Checks the monitor and the frame, and prints the `Passed` line.
    pub fn end(&self) {
        self.frame
            .end_with(|s| format!("  ... Passed --  {:4.1}  {} {:4} {:7}", s.secs, self.n, s.rpcs, s.bytes));
    }
}

impl<R: RaftPeer> Drop for Bench<R> {
    fn drop(&mut self) {
        self.frame.finish(|| {
            if let Some(i) = self.inst.lock().take() {
                i.node.enter(|| i.rf.kill());
                i.node.kill();
            }
        });
    }
}
