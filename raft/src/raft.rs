//! The Raft peer: leader election (3A), log replication (3B), persistence (3C) and log
//! compaction with snapshots (3D), after the extended Raft paper (Ongaro and Ousterhout) and
//! its Figure 2.
//!
//! A service (the tester, or the KV server of Lab 4) makes one [`Raft`] per server with
//! [`Raft::new`], registers [`Raft::service`] on its labrpc server, proposes commands with
//! [`Raft::start`], and reads committed commands, in log order, from the channel it passed in
//! as [`ApplyMsg`]s.
//!
//! Rules of the lab (docs/lab3-raft.md): all threads, locks, channels, clocks and randomness come
//! from `labs`; an RPC is never sent while holding the lock; [`Raft::new`] returns at once and
//! leaves the work to background threads; a killed peer's threads stop.

use labrpc::{ClientEnd, Service};
use labs::persister::Persister;
use labs::sync::atomic::{AtomicBool, Ordering};
use labs::sync::{Arc, Sender};
use serde::{Deserialize, Serialize};
// SOLUTION BEGIN
use labs::sync::{Condvar, Mutex, MutexGuard};
use labs::time::{Duration, Instant};
// SOLUTION END

/// A message from Raft to its service on the apply channel.
///
/// Commands arrive in log order, each exactly once per peer instance, starting after the
/// snapshot the peer was started with. A snapshot message replaces the service's state with
/// the snapshot's, and the commands that follow continue from its index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApplyMsg {
    /// A newly committed command at `index` (the first command of the log has index 1).
    Command {
        /// The log index of the command.
        index: u64,
        /// The command, as given to [`Raft::start`].
        command: Vec<u8>,
    },
    /// A snapshot received from the leader: it holds the state up to and including `index`.
    Snapshot {
        /// The last log index the snapshot includes.
        index: u64,
        /// The term of the entry at `index`.
        term: u64,
        /// The service's snapshot bytes, as given to [`Raft::snapshot`] on the leader.
        data: Vec<u8>,
    },
}

/// The answer of [`Raft::start`] on a peer that is not the leader (or has been killed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("this Raft peer is not the leader")]
pub struct NotLeader;

// The RPC types are given: their fields and what they mean are fixed (Figure 2 and 13 of the
// paper, and the fast-backup hints of the handout), so that the tester can read every RPC that
// your peers exchange and check the protocol's rules as it goes. How your Raft uses them (the
// algorithm) is yours. Do not change them.

/// One log entry: a command and the term in which a leader received it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The term of the leader that appended the entry.
    pub term: u64,
    /// The command.
    #[serde(with = "serde_bytes")]
    pub command: Vec<u8>,
}

/// Arguments of the `Raft.RequestVote` RPC (Figure 2).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RequestVoteArgs {
    /// The candidate's term.
    pub term: u64,
    /// The candidate asking for the vote.
    pub candidate: usize,
    /// Index of the candidate's last log entry.
    pub last_log_index: u64,
    /// Term of the candidate's last log entry.
    pub last_log_term: u64,
}

/// Reply of the `Raft.RequestVote` RPC (Figure 2).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RequestVoteReply {
    /// The voter's current term once it has handled the request (so never below the
    /// request's term), for the candidate to update itself.
    pub term: u64,
    /// Whether the voter granted its vote to the candidate in the request's term.
    pub vote_granted: bool,
}

/// Arguments of the `Raft.AppendEntries` RPC (Figure 2); with no entries, a heartbeat.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct AppendEntriesArgs {
    /// The leader's term.
    pub term: u64,
    /// The leader, so that followers know who leads.
    pub leader: usize,
    /// Index of the entry just before the new ones.
    pub prev_log_index: u64,
    /// Term of the entry at `prev_log_index`.
    pub prev_log_term: u64,
    /// The entries to store, starting at `prev_log_index + 1`.
    pub entries: Vec<Entry>,
    /// The leader's commit index.
    pub leader_commit: u64,
}

/// Reply of the `Raft.AppendEntries` RPC, with the fast-backup hints of the lab handout.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct AppendEntriesReply {
    /// The follower's current term once it has handled the request (so never below the
    /// request's term), for the leader to update itself.
    pub term: u64,
    /// Whether the follower's log matched at `prev_log_index` and now holds the entries.
    pub success: bool,
    /// XTerm (when `success` is false): the term of the follower's conflicting entry at
    /// `prev_log_index`, if it has one there.
    pub conflict_term: Option<u64>,
    /// XIndex (when `success` is false): the follower's first index of `conflict_term`.
    pub conflict_index: u64,
    /// XLen (when `success` is false): the follower's log length, counting the entries in
    /// its snapshot (its last index plus one).
    pub log_len: u64,
}

/// Arguments of the `Raft.InstallSnapshot` RPC (Figure 13, sent whole rather than in chunks).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct InstallSnapshotArgs {
    /// The leader's term.
    pub term: u64,
    /// The leader.
    pub leader: usize,
    /// The snapshot replaces all entries up to and including this index.
    pub last_included_index: u64,
    /// Term of the entry at `last_included_index`.
    pub last_included_term: u64,
    /// The snapshot.
    pub data: Vec<u8>,
}

/// Reply of the `Raft.InstallSnapshot` RPC.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct InstallSnapshotReply {
    /// The follower's current term once it has handled the request (so never below the
    /// request's term), for the leader to update itself.
    pub term: u64,
}

// SOLUTION BEGIN
/// A leader sends at most this many heartbeats per second to each peer... one per 100 ms.
const HEARTBEAT: Duration = Duration::from_millis(100);
/// Election timeouts are drawn from this range (ms): well above the heartbeat interval, and
/// small enough that a leader is elected within the tester's 5 seconds.
const ELECTION_TIMEOUT_MS: std::ops::Range<u64> = 300..600;
/// How many RPCs a leader may have in flight to one peer. A call on a cut link can take up to
/// 7 s, and a delayed reply up to 2.2 s, so one thread per peer is not enough to keep the
/// heartbeats flowing; a small pool per peer is.
const MAX_SENDERS: usize = 8;
/// Idle threads wake this often to notice a kill under the real backend.
const IDLE_WAIT: Duration = Duration::from_millis(500);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Follower,
    Candidate,
    Leader,
}

/// The log after the snapshot: entry `i` of `entries` has index `base_index + 1 + i`.
///
/// The log also keeps the postcard encoding of its entries, appended to as entries arrive,
/// so that persisting a long log costs one copy rather than encoding every entry again.
#[derive(Debug, Default)]
struct Log {
    /// The last index the snapshot covers (0 without a snapshot).
    base_index: u64,
    /// The term of the entry at `base_index`.
    base_term: u64,
    entries: Vec<Entry>,
    /// The encodings of `entries`, one after another.
    encoded: Vec<u8>,
    /// `ends[i]`: where the encoding of `entries[i]` ends in `encoded`.
    ends: Vec<usize>,
}

impl Log {
    fn new(base_index: u64, base_term: u64, entries: Vec<Entry>) -> Log {
        let mut log = Log { base_index, base_term, ..Log::default() };
        entries.into_iter().for_each(|e| log.push(e));
        log
    }
    fn last_index(&self) -> u64 {
        self.base_index + self.entries.len() as u64
    }
    fn last_term(&self) -> u64 {
        self.entries.last().map_or(self.base_term, |e| e.term)
    }
    /// The term at `index`, if the log (or the snapshot's last entry) has it.
    fn term(&self, index: u64) -> Option<u64> {
        if index == self.base_index {
            Some(self.base_term)
        } else if index > self.base_index && index <= self.last_index() {
            Some(self.entries[self.pos(index)].term)
        } else {
            None
        }
    }
    fn pos(&self, index: u64) -> usize {
        (index - self.base_index - 1) as usize
    }
    /// The entry at `index` (`base_index < index <= last_index()`).
    fn entry(&self, index: u64) -> &Entry {
        &self.entries[self.pos(index)]
    }
    /// The entries from `index` on (`index > base_index`).
    fn from(&self, index: u64) -> &[Entry] {
        &self.entries[self.pos(index).min(self.entries.len())..]
    }
    /// Appends an entry at the end.
    fn push(&mut self, e: Entry) {
        self.encoded = postcard::to_extend(&e, std::mem::take(&mut self.encoded)).expect("an entry encodes");
        self.ends.push(self.encoded.len());
        self.entries.push(e);
    }
    /// Appends entries at the end.
    fn extend(&mut self, entries: &[Entry]) {
        for e in entries {
            self.push(e.clone());
        }
    }
    /// Drops the entries from `index` on.
    fn truncate(&mut self, index: u64) {
        let keep = self.pos(index);
        self.entries.truncate(keep);
        self.ends.truncate(keep);
        self.encoded.truncate(self.ends.last().copied().unwrap_or(0));
    }
    /// The last index of `term` in the log, if the log has an entry of that term.
    fn last_index_of(&self, term: u64) -> Option<u64> {
        let mut i = self.last_index();
        while i > self.base_index {
            let t = self.entry(i).term;
            if t == term {
                return Some(i);
            }
            if t < term {
                return None;
            }
            i -= 1;
        }
        None
    }
    /// Makes `index` (of term `term`) the snapshot's last entry: keeps the entries after it if
    /// the log holds that entry, else drops them all.
    fn compact(&mut self, index: u64, term: u64) {
        if index <= self.base_index {
            return;
        }
        if self.term(index) == Some(term) {
            let n = (index - self.base_index) as usize;
            let cut = self.ends[n - 1];
            self.entries.drain(..n);
            self.ends.drain(..n);
            self.ends.iter_mut().for_each(|e| *e -= cut);
            self.encoded.drain(..cut);
            if self.entries.capacity() > 2 * self.entries.len() + 64 {
                self.entries.shrink_to_fit();
                self.ends.shrink_to_fit();
                self.encoded.shrink_to_fit();
            }
        } else {
            self.entries = Vec::new();
            self.ends = Vec::new();
            self.encoded = Vec::new();
        }
        self.base_index = index;
        self.base_term = term;
    }
}

/// What the leader knows about one peer, and the bookkeeping of the threads sending to it.
#[derive(Debug)]
struct PeerState {
    /// The next log index to send.
    next: u64,
    /// The highest index known to be replicated there.
    matched: u64,
    /// New entries or a new commit index to send without waiting for the next heartbeat.
    pending: bool,
    /// When an AppendEntries or InstallSnapshot was last sent (None: send one now).
    last_send: Option<Instant>,
    /// AppendEntries and InstallSnapshot calls in flight.
    in_flight: usize,
    /// A RequestVote for the current election is still to be sent.
    vote_pending: bool,
    /// Sender threads for this peer, and how many of them are in a call.
    senders: usize,
    busy: usize,
}

/// The state behind the lock.
struct State {
    // Persistent (Figure 2), saved before answering any RPC that depends on it.
    term: u64,
    voted_for: Option<usize>,
    log: Log,
    /// The snapshot covering the log up to `log.base_index`; saved with every persist.
    snapshot: Vec<u8>,
    // Volatile.
    role: Role,
    commit: u64,
    /// The last index handed to the applier thread (it sends them outside the lock).
    applied: u64,
    /// A snapshot from the leader that the applier still has to deliver.
    snapshot_pending: bool,
    /// When a follower or candidate starts the next election.
    deadline: Instant,
    votes: usize,
    peers: Vec<PeerState>,
}

/// What the persister holds: the persistent state of Figure 2 and the snapshot's position,
/// then the log's entries (`entries` counts them; their encodings follow).
#[derive(Serialize)]
struct PersistHeader {
    term: u64,
    voted_for: Option<usize>,
    base_index: u64,
    base_term: u64,
    entries: u64,
}

/// What [`PersistHeader`] and the entries after it decode as (a postcard `Vec` is its length
/// followed by its elements).
#[derive(Deserialize)]
struct Persisted {
    term: u64,
    voted_for: Option<usize>,
    base_index: u64,
    base_term: u64,
    entries: Vec<Entry>,
}

/// A call a sender thread makes.
enum Job {
    Vote(RequestVoteArgs),
    Append(AppendEntriesArgs),
    Snapshot(InstallSnapshotArgs),
}

/// Threads to wake once the lock is released.
#[derive(Default)]
struct Wake {
    applier: bool,
    all_senders: bool,
    sender: Option<usize>,
}

/// The persisted form of term, vote and log: a [`PersistHeader`] and the log's encoded
/// entries, which together decode as [`Persisted`].
fn encode_state(term: u64, voted_for: Option<usize>, log: &Log) -> Vec<u8> {
    let header = PersistHeader {
        term,
        voted_for,
        base_index: log.base_index,
        base_term: log.base_term,
        entries: log.entries.len() as u64,
    };
    let mut bytes = Vec::with_capacity(32 + log.encoded.len());
    bytes = postcard::to_extend(&header, bytes).expect("the Raft state encodes");
    bytes.extend_from_slice(&log.encoded);
    bytes
}

/// Reports this peer's role and term to the run's timeline (shown in failure reports).
fn report(st: &State) {
    let role = match st.role {
        Role::Follower => "follower",
        Role::Candidate => "candidate",
        Role::Leader => "leader",
    };
    labs::events::node_state(role, st.term, st.commit);
}

fn new_deadline() -> Instant {
    Instant::now() + Duration::from_millis(labs::rand::gen_range(ELECTION_TIMEOUT_MS))
}
// SOLUTION END

/// A Raft peer. Cloning gives another handle to the same peer.
#[derive(Clone)]
pub struct Raft {
    inner: Arc<Inner>,
}

#[allow(dead_code)] // Until the skeleton uses every field.
struct Inner {
    /// This peer's index in `peers`.
    me: usize,
    /// An end to every peer, this one included, in the same order on every peer.
    peers: Vec<ClientEnd>,
    /// Where this peer saves its state.
    persister: Persister,
    /// Set by [`Raft::kill`].
    dead: AtomicBool,
    // SOLUTION BEGIN
    state: Mutex<State>,
    /// Wakes the applier thread.
    apply_cv: Condvar,
    /// Wakes the sender threads of one peer.
    send_cv: Vec<Condvar>,
    // SOLUTION ELSE
    // // Your data here (Lab 3A, 3B, 3C, 3D): the state the paper's Figure 2 describes, behind
    // // a labs::sync::Mutex, and what your threads need to wait on (labs::sync::Condvar).
    // SOLUTION END
}

impl Raft {
    /// Makes a Raft peer and starts its background threads; returns at once.
    ///
    /// `peers[me]` is this peer's own end; all peers get `peers` in the same order. `persister`
    /// holds what this peer last saved (empty on a first start); the peer reads its state and
    /// snapshot back from it. Committed commands go to `apply_tx`.
    pub fn new(peers: Vec<ClientEnd>, me: usize, persister: Persister, apply_tx: Sender<ApplyMsg>) -> Raft {
        // SOLUTION BEGIN
        let n = peers.len();
        let mut log = Log::default();
        let (mut term, mut voted_for) = (0, None);
        let saved = persister.read_raft_state();
        if !saved.is_empty() {
            let p: Persisted = postcard::from_bytes(&saved)
                .unwrap_or_else(|e| panic!("server {me}: the persisted Raft state does not decode: {e}"));
            term = p.term;
            voted_for = p.voted_for;
            log = Log::new(p.base_index, p.base_term, p.entries);
        }
        let snapshot = persister.read_snapshot();
        let now = Instant::now();
        let base = log.base_index;
        let state = State {
            term,
            voted_for,
            snapshot,
            role: Role::Follower,
            commit: base,
            applied: base,
            snapshot_pending: false,
            deadline: new_deadline(),
            votes: 0,
            peers: (0..n)
                .map(|_| PeerState {
                    next: log.last_index() + 1,
                    matched: 0,
                    pending: false,
                    last_send: Some(now),
                    in_flight: 0,
                    vote_pending: false,
                    senders: 1,
                    busy: 0,
                })
                .collect(),
            log,
        };
        let inner = Arc::new(Inner {
            me,
            peers,
            persister,
            dead: AtomicBool::new(false),
            state: Mutex::new(state),
            apply_cv: Condvar::new(),
            send_cv: (0..n).map(|_| Condvar::new()).collect(),
        });
        let rf = Raft { inner };
        let r = rf.inner.clone();
        labs::thread::spawn("ticker", move || r.ticker());
        let r = rf.inner.clone();
        labs::thread::spawn("applier", move || r.applier(apply_tx));
        for p in (0..n).filter(|&p| p != me) {
            let r = rf.inner.clone();
            labs::thread::spawn(format!("sender-{p}"), move || r.sender(p));
        }
        rf
        // SOLUTION ELSE
        // let _ = (&peers, me, &persister, &apply_tx);
        // todo!("Lab 3A: make the Raft state, read what `persister` holds (3C), and start the background threads (the election ticker, ...)")
        // SOLUTION END
    }

    /// The labrpc service of this peer (`Raft.RequestVote`, `Raft.AppendEntries`,
    /// `Raft.InstallSnapshot`), to add to its server.
    pub fn service(&self) -> Service {
        let (a, b, c) = (self.clone(), self.clone(), self.clone());
        Service::new("Raft")
            .handler("RequestVote", move |args: RequestVoteArgs| a.request_vote(args))
            .handler("AppendEntries", move |args: AppendEntriesArgs| b.append_entries(args))
            .handler("InstallSnapshot", move |args: InstallSnapshotArgs| c.install_snapshot(args))
    }

    /// Proposes `command` for the log. Returns at once: on the leader, the index the command
    /// will have if it is ever committed, and the current term; elsewhere, [`NotLeader`].
    /// There is no guarantee the command will be committed (the leader may fail or lose an
    /// election).
    pub fn start(&self, command: Vec<u8>) -> Result<(u64, u64), NotLeader> {
        // SOLUTION BEGIN
        let inner = &self.inner;
        let mut st = inner.state.lock();
        if inner.killed() || st.role != Role::Leader {
            return Err(NotLeader);
        }
        let term = st.term;
        st.log.push(Entry { term, command });
        let index = st.log.last_index();
        for (p, ps) in st.peers.iter_mut().enumerate() {
            ps.pending |= p != inner.me;
        }
        inner.persist(&st);
        let mut wake = Wake { all_senders: true, ..Wake::default() };
        wake.applier = inner.advance_commit(&mut st);
        drop(st);
        inner.wake(wake);
        Ok((index, term))
        // SOLUTION ELSE
        // let _ = command;
        // todo!("Lab 3B: append the command to the leader's log and return (index, term)")
        // SOLUTION END
    }

    /// The current term, and whether this peer believes it is the leader.
    pub fn state(&self) -> (u64, bool) {
        // SOLUTION BEGIN
        let st = self.inner.state.lock();
        (st.term, st.role == Role::Leader)
        // SOLUTION ELSE
        // todo!("Lab 3A: return (current term, whether this peer is the leader)")
        // SOLUTION END
    }

    /// The service has a snapshot of its state up to and including `index`: Raft keeps it
    /// (persisting it with its own state) and drops the log entries it covers.
    pub fn snapshot(&self, index: u64, snapshot: Vec<u8>) {
        // SOLUTION BEGIN
        let inner = &self.inner;
        let mut st = inner.state.lock();
        if index <= st.log.base_index || index > st.applied {
            return;
        }
        let term = st.log.term(index).expect("an applied entry is in the log");
        st.log.compact(index, term);
        st.snapshot = snapshot;
        inner.persist(&st);
        // SOLUTION ELSE
        // let _ = (index, snapshot);
        // todo!("Lab 3D: keep the snapshot and trim the log")
        // SOLUTION END
    }

    /// Stops this peer for good. The tester calls it when it crashes a server (and then, under
    /// sim, kills the server's node), and the service of Labs 4 and 5 when it shuts down.
    ///
    /// Within a second every thread of the peer must have returned (check [`Raft::killed`]
    /// in every loop, and do not wait without a timeout), and so within 2 s every sender of
    /// the apply channel is dropped: the service learns of the shutdown when its channel
    /// closes. A killed peer no longer claims to lead. The Lab 3 tests `kill_stops_threads_3a`
    /// and `kill_closes_apply_channel_3b` check this.
    pub fn kill(&self) {
        self.inner.dead.store(true, Ordering::SeqCst);
        // SOLUTION BEGIN
        // Take the lock so that no thread is between checking the flag and waiting.
        drop(self.inner.state.lock());
        self.inner.apply_cv.notify_all();
        for cv in &self.inner.send_cv {
            cv.notify_all();
        }
        // SOLUTION END
    }

    /// Whether [`Raft::kill`] was called (or, under the real backend, the node was killed).
    pub fn killed(&self) -> bool {
        self.inner.killed()
    }

    /// The `Raft.RequestVote` RPC handler (registered by [`Raft::service`]).
    pub fn request_vote(&self, args: RequestVoteArgs) -> RequestVoteReply {
        // SOLUTION BEGIN
        let inner = &self.inner;
        let mut st = inner.state.lock();
        let mut dirty = false;
        if args.term > st.term {
            inner.step_down(&mut st, args.term);
            dirty = true;
        }
        let mut granted = false;
        if args.term == st.term && st.voted_for.is_none_or(|v| v == args.candidate) {
            let (lt, li) = (st.log.last_term(), st.log.last_index());
            if args.last_log_term > lt || (args.last_log_term == lt && args.last_log_index >= li) {
                granted = true;
                if st.voted_for.is_none() {
                    st.voted_for = Some(args.candidate);
                    dirty = true;
                }
                st.deadline = new_deadline();
            }
        }
        if dirty {
            inner.persist(&st);
        }
        RequestVoteReply { term: st.term, vote_granted: granted }
        // SOLUTION ELSE
        // let _ = args;
        // todo!("Lab 3A: the RequestVote handler")
        // SOLUTION END
    }

    /// The `Raft.AppendEntries` RPC handler (registered by [`Raft::service`]).
    pub fn append_entries(&self, args: AppendEntriesArgs) -> AppendEntriesReply {
        // SOLUTION BEGIN
        let inner = &self.inner;
        let mut st = inner.state.lock();
        let mut reply = AppendEntriesReply { term: st.term, ..AppendEntriesReply::default() };
        if args.term < st.term {
            return reply;
        }
        let mut dirty = false;
        if args.term > st.term {
            inner.step_down(&mut st, args.term);
            dirty = true;
        }
        if st.role != Role::Follower {
            st.role = Role::Follower;
            report(&st);
        }
        st.deadline = new_deadline();
        reply.term = st.term;

        let base = st.log.base_index;
        let (mut prev, mut prev_term, mut entries) =
            (args.prev_log_index, args.prev_log_term, &args.entries[..]);
        if prev < base {
            // Everything up to `base` is in the snapshot, committed, and so matches.
            let skip = (base - prev) as usize;
            entries = &entries[skip.min(entries.len())..];
            prev = base;
            prev_term = st.log.base_term;
        }
        let last = st.log.last_index();
        let mut wake = Wake::default();
        if prev > last {
            reply.log_len = last + 1;
        } else if let Some(t) = st.log.term(prev).filter(|&t| t != prev_term) {
            let mut first = prev;
            while first > base + 1 && st.log.term(first - 1) == Some(t) {
                first -= 1;
            }
            reply.conflict_term = Some(t);
            reply.conflict_index = first;
            reply.log_len = last + 1;
        } else {
            for (k, e) in entries.iter().enumerate() {
                let index = prev + 1 + k as u64;
                if st.log.term(index) != Some(e.term) {
                    if index <= st.log.last_index() {
                        st.log.truncate(index);
                    }
                    st.log.extend(&entries[k..]);
                    dirty = true;
                    break;
                }
            }
            reply.success = true;
            let last_new = prev + entries.len() as u64;
            let commit = args.leader_commit.min(last_new);
            if commit > st.commit {
                st.commit = commit;
                wake.applier = true;
            }
        }
        if dirty {
            inner.persist(&st);
        }
        drop(st);
        inner.wake(wake);
        reply
        // SOLUTION ELSE
        // let _ = args;
        // todo!("Lab 3A: the AppendEntries handler (heartbeats in 3A, entries in 3B)")
        // SOLUTION END
    }

    /// The `Raft.InstallSnapshot` RPC handler (registered by [`Raft::service`]).
    pub fn install_snapshot(&self, args: InstallSnapshotArgs) -> InstallSnapshotReply {
        // SOLUTION BEGIN
        let inner = &self.inner;
        let mut st = inner.state.lock();
        if args.term < st.term {
            return InstallSnapshotReply { term: st.term };
        }
        if args.term > st.term {
            inner.step_down(&mut st, args.term);
        }
        if st.role != Role::Follower {
            st.role = Role::Follower;
            report(&st);
        }
        st.deadline = new_deadline();
        if args.last_included_index > st.commit {
            tracing::debug!(
                index = args.last_included_index,
                term = args.last_included_term,
                "installing a snapshot"
            );
            st.log.compact(args.last_included_index, args.last_included_term);
            st.snapshot = args.data;
            st.commit = args.last_included_index;
            st.applied = args.last_included_index;
            st.snapshot_pending = true;
        }
        // Persist unconditionally: the term may have changed, and it is rare.
        inner.persist(&st);
        let term = st.term;
        drop(st);
        inner.wake(Wake { applier: true, ..Wake::default() });
        InstallSnapshotReply { term }
        // SOLUTION ELSE
        // let _ = args;
        // todo!("Lab 3D: the InstallSnapshot handler")
        // SOLUTION END
    }
}

impl Inner {
    fn killed(&self) -> bool {
        self.dead.load(Ordering::SeqCst) || labs::thread::killed()
    }
    // SOLUTION BEGIN

    /// Saves term, vote, log and snapshot. Called with the lock held, before answering.
    fn persist(&self, st: &State) {
        let bytes = encode_state(st.term, st.voted_for, &st.log);
        let snapshot = (!st.snapshot.is_empty()).then(|| st.snapshot.clone());
        self.persister.save(bytes, snapshot);
    }

    /// Adopts a newer term as a follower (the caller persists).
    fn step_down(&self, st: &mut State, term: u64) {
        if st.role == Role::Leader {
            st.deadline = new_deadline();
            tracing::debug!(old_term = st.term, term, "stepped down: saw a newer term");
        }
        st.term = term;
        st.voted_for = None;
        st.role = Role::Follower;
        report(st);
    }

    fn wake(&self, w: Wake) {
        if w.applier {
            self.apply_cv.notify_one();
        }
        if w.all_senders {
            for (p, cv) in self.send_cv.iter().enumerate() {
                if p != self.me {
                    cv.notify_all();
                }
            }
        } else if let Some(p) = w.sender {
            self.send_cv[p].notify_all();
        }
    }

    /// The election timer: starts an election when a follower or candidate hears nothing for
    /// an election timeout.
    fn ticker(self: Arc<Self>) {
        loop {
            let (pause, wake) = {
                let mut st = self.state.lock();
                if self.killed() {
                    return;
                }
                let now = Instant::now();
                let mut wake = Wake::default();
                if st.role != Role::Leader && now >= st.deadline {
                    self.start_election(&mut st);
                    wake.all_senders = true;
                }
                let pause = if st.role == Role::Leader {
                    Duration::from_millis(ELECTION_TIMEOUT_MS.start)
                } else {
                    st.deadline.duration_since(now)
                };
                (pause, wake)
            };
            self.wake(wake);
            labs::time::sleep(pause.min(IDLE_WAIT));
        }
    }

    fn start_election(&self, st: &mut State) {
        st.term += 1;
        st.role = Role::Candidate;
        st.voted_for = Some(self.me);
        st.votes = 1;
        st.deadline = new_deadline();
        self.persist(st);
        tracing::debug!(term = st.term, "election timeout: campaigning");
        report(st);
        if self.peers.len() == 1 {
            self.become_leader(st);
            return;
        }
        for (p, ps) in st.peers.iter_mut().enumerate() {
            ps.vote_pending = p != self.me;
        }
    }

    fn become_leader(&self, st: &mut State) {
        st.role = Role::Leader;
        tracing::debug!(term = st.term, last = st.log.last_index(), "became leader");
        report(st);
        let next = st.log.last_index() + 1;
        for ps in st.peers.iter_mut() {
            ps.next = next;
            ps.matched = 0;
            ps.pending = true;
            ps.last_send = None;
            ps.vote_pending = false;
        }
    }

    /// Moves the commit index to the highest index of the current term that a majority
    /// holds. Returns whether it moved.
    fn advance_commit(&self, st: &mut State) -> bool {
        let last = st.log.last_index();
        let mut matched: Vec<u64> =
            st.peers.iter().enumerate().map(|(p, ps)| if p == self.me { last } else { ps.matched }).collect();
        matched.sort_unstable();
        let n = matched[(matched.len() - 1) / 2];
        if n > st.commit && st.log.term(n) == Some(st.term) {
            st.commit = n;
            for (p, ps) in st.peers.iter_mut().enumerate() {
                ps.pending |= p != self.me;
            }
            return true;
        }
        false
    }

    /// A thread that sends RPCs to peer `p`: votes while a candidate, entries, snapshots and
    /// heartbeats while the leader. Each call blocks the thread that makes it, so a peer has a
    /// small pool of these, grown when all are busy.
    fn sender(self: Arc<Self>, p: usize) {
        let mut st = self.state.lock();
        loop {
            if self.killed() {
                return;
            }
            match self.next_job(&mut st, p) {
                Ok(job) => {
                    let ps = &mut st.peers[p];
                    ps.busy += 1;
                    let grow = ps.busy == ps.senders && ps.senders < MAX_SENDERS;
                    if grow {
                        ps.senders += 1;
                    }
                    drop(st);
                    if grow {
                        let r = self.clone();
                        labs::thread::spawn(format!("sender-{p}"), move || r.sender(p));
                    }
                    let wake = self.run(p, job);
                    self.wake(wake);
                    st = self.state.lock();
                    st.peers[p].busy -= 1;
                }
                Err(pause) => {
                    self.send_cv[p].wait_for(&mut st, pause);
                }
            }
        }
    }

    /// The next call to make to peer `p`, or how long to wait for one.
    fn next_job(&self, st: &mut MutexGuard<'_, State>, p: usize) -> Result<Job, Duration> {
        match st.role {
            Role::Candidate if st.peers[p].vote_pending => {
                st.peers[p].vote_pending = false;
                Ok(Job::Vote(RequestVoteArgs {
                    term: st.term,
                    candidate: self.me,
                    last_log_index: st.log.last_index(),
                    last_log_term: st.log.last_term(),
                }))
            }
            Role::Leader => {
                let now = Instant::now();
                let st = &mut **st;
                let ps = &mut st.peers[p];
                let beat = ps.last_send.map(|t| t + HEARTBEAT);
                let due = (ps.pending && ps.in_flight == 0) || beat.is_none_or(|t| now >= t);
                if !due {
                    return Err(beat.map_or(HEARTBEAT, |t| t.duration_since(now)));
                }
                ps.pending = false;
                ps.last_send = Some(now);
                ps.in_flight += 1;
                if ps.next <= st.log.base_index {
                    Ok(Job::Snapshot(InstallSnapshotArgs {
                        term: st.term,
                        leader: self.me,
                        last_included_index: st.log.base_index,
                        last_included_term: st.log.base_term,
                        data: st.snapshot.clone(),
                    }))
                } else {
                    let prev = ps.next - 1;
                    Ok(Job::Append(AppendEntriesArgs {
                        term: st.term,
                        leader: self.me,
                        prev_log_index: prev,
                        prev_log_term: st.log.term(prev).expect("prev is in the log"),
                        entries: st.log.from(ps.next).to_vec(),
                        leader_commit: st.commit,
                    }))
                }
            }
            _ => Err(IDLE_WAIT),
        }
    }

    /// Handles the term of a leader's RPC reply: steps down (and persists) on a newer term, and
    /// says whether this peer still leads in the term the RPC was sent in.
    fn still_leading(&self, st: &mut MutexGuard<'_, State>, reply_term: u64, sent_term: u64) -> bool {
        if reply_term > st.term {
            self.step_down(st, reply_term);
            self.persist(st);
            return false;
        }
        st.role == Role::Leader && st.term == sent_term
    }

    /// Makes one call (without the lock) and handles its reply (with it).
    fn run(&self, p: usize, job: Job) -> Wake {
        let end = &self.peers[p];
        let mut wake = Wake::default();
        match job {
            Job::Vote(args) => {
                let reply = end.call::<_, RequestVoteReply>("Raft.RequestVote", &args);
                let mut st = self.state.lock();
                let Ok(reply) = reply else { return wake };
                if reply.term > st.term {
                    self.step_down(&mut st, reply.term);
                    self.persist(&st);
                } else if st.role == Role::Candidate && st.term == args.term && reply.vote_granted {
                    st.votes += 1;
                    if 2 * st.votes > self.peers.len() {
                        self.become_leader(&mut st);
                        wake.all_senders = true;
                    }
                }
            }
            Job::Append(args) => {
                let reply = end.call::<_, AppendEntriesReply>("Raft.AppendEntries", &args);
                let mut st = self.state.lock();
                st.peers[p].in_flight -= 1;
                let Ok(reply) = reply else { return wake };
                if !self.still_leading(&mut st, reply.term, args.term) {
                    return wake;
                }
                let last = st.log.last_index();
                if reply.success {
                    let m = args.prev_log_index + args.entries.len() as u64;
                    let ps = &mut st.peers[p];
                    ps.matched = ps.matched.max(m);
                    ps.next = ps.next.max(m + 1);
                    let more = ps.next <= last;
                    ps.pending |= more;
                    if self.advance_commit(&mut st) {
                        wake.applier = true;
                        wake.all_senders = true;
                    } else if more {
                        wake.sender = Some(p);
                    }
                } else {
                    let next = match reply.conflict_term {
                        None => reply.log_len,
                        Some(t) => match st.log.last_index_of(t) {
                            Some(i) => i + 1,
                            None => reply.conflict_index,
                        },
                    };
                    let ps = &mut st.peers[p];
                    ps.next = next.clamp(ps.matched + 1, last + 1);
                    ps.pending = true;
                    wake.sender = Some(p);
                }
            }
            Job::Snapshot(args) => {
                let reply = end.call::<_, InstallSnapshotReply>("Raft.InstallSnapshot", &args);
                let mut st = self.state.lock();
                st.peers[p].in_flight -= 1;
                let Ok(reply) = reply else { return wake };
                if !self.still_leading(&mut st, reply.term, args.term) {
                    return wake;
                }
                let last = st.log.last_index();
                let ps = &mut st.peers[p];
                ps.matched = ps.matched.max(args.last_included_index);
                ps.next = ps.next.max(args.last_included_index + 1);
                if ps.next <= last {
                    ps.pending = true;
                    wake.sender = Some(p);
                }
            }
        }
        wake
    }

    /// Sends committed commands (and snapshots from the leader) to the service, in order,
    /// never holding the lock while sending.
    fn applier(self: Arc<Self>, apply_tx: Sender<ApplyMsg>) {
        loop {
            let msgs = {
                let mut st = self.state.lock();
                loop {
                    if self.killed() {
                        return;
                    }
                    if st.snapshot_pending || st.applied < st.commit {
                        break;
                    }
                    self.apply_cv.wait_for(&mut st, IDLE_WAIT);
                }
                if st.snapshot_pending {
                    st.snapshot_pending = false;
                    st.applied = st.applied.max(st.log.base_index);
                    vec![ApplyMsg::Snapshot {
                        index: st.log.base_index,
                        term: st.log.base_term,
                        data: st.snapshot.clone(),
                    }]
                } else {
                    let (from, to) = (st.applied + 1, st.commit);
                    st.applied = to;
                    (from..=to)
                        .map(|index| ApplyMsg::Command {
                            index,
                            command: st.log.entry(index).command.clone(),
                        })
                        .collect()
                }
            };
            for m in msgs {
                if apply_tx.send(m).is_err() {
                    return;
                }
            }
        }
    }
    // SOLUTION END
}

// SOLUTION BEGIN
#[cfg(test)]
mod tests {
    use super::*;

    fn entry(term: u64, x: u8) -> Entry {
        Entry { term, command: vec![x; x as usize] }
    }

    /// The log's cached encoding is always what encoding its entries afresh gives.
    fn check(log: &Log) {
        let mut fresh = Vec::new();
        for e in &log.entries {
            fresh.extend(postcard::to_allocvec(e).unwrap());
        }
        assert_eq!(log.encoded, fresh);
        assert_eq!(log.ends.len(), log.entries.len());
    }

    #[test]
    fn the_cached_encoding_follows_appends_truncations_and_compactions() {
        let mut log = Log::new(0, 0, vec![entry(1, 1), entry(1, 2)]);
        check(&log);
        log.extend(&[entry(2, 3), entry(2, 4), entry(3, 5)]);
        check(&log);
        assert_eq!((log.last_index(), log.last_term()), (5, 3));
        log.truncate(4);
        check(&log);
        assert_eq!(log.last_index(), 3);
        log.compact(2, 1);
        check(&log);
        assert_eq!((log.base_index, log.base_term, log.entries.len()), (2, 1, 1));
        assert_eq!(log.term(2), Some(1));
        assert_eq!(log.term(3), Some(2));
        assert_eq!(log.term(1), None);
        log.compact(7, 4);
        check(&log);
        assert_eq!((log.base_index, log.last_index(), log.last_term()), (7, 7, 4));
    }

    #[test]
    fn the_persisted_state_reads_back() {
        let log = Log::new(10, 3, vec![entry(3, 7), entry(4, 0), entry(5, 200)]);
        let bytes = encode_state(5, Some(2), &log);
        let p: Persisted = postcard::from_bytes(&bytes).unwrap();
        assert_eq!((p.term, p.voted_for, p.base_index, p.base_term), (5, Some(2), 10, 3));
        assert_eq!(p.entries, log.entries);
        let empty: Persisted = postcard::from_bytes(&encode_state(0, None, &Log::default())).unwrap();
        assert!(empty.entries.is_empty());
    }

    #[test]
    fn last_index_of_a_term() {
        let log = Log::new(2, 1, vec![entry(1, 1), entry(3, 1), entry(3, 1), entry(5, 1)]);
        assert_eq!(log.last_index_of(3), Some(5));
        assert_eq!(log.last_index_of(1), Some(3));
        assert_eq!(log.last_index_of(2), None);
        assert_eq!(log.last_index_of(6), None);
    }
}
// SOLUTION END
