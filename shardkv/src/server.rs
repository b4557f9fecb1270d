//! A shard group's server (docs/lab5-shardkv.md): a KV store for the shards the group owns,
//! replicated on the [`kvraft::rsm`] layer.
//!
//! The reference design (pull-based, with garbage collection):
//!
//! * the leader polls the controller every 100 ms and, once the group has finished with the
//!   current configuration, puts the next one (number + 1) in the log; every replica applies
//!   reconfigurations one at a time, in order;
//! * applying configuration `n` marks each shard: kept (`Serving`), gained from another group
//!   (`Pulling`), gained from nobody (`Serving`, empty), lost (`BePulling`: kept frozen until
//!   the new owner has it), or not ours (`Invalid`);
//! * the leader pulls each `Pulling` shard (data and duplicate table) from its owner in
//!   configuration `n - 1` with `ShardKV.PullShards`, and puts it in the log; the shard is
//!   then served (`GcPending`) while the leader asks the previous owner to delete it
//!   (`ShardKV.DeleteShards`, which goes through that group's log); once it has, a
//!   `Confirm` entry makes the shard plainly `Serving` (challenge 1);
//! * requests are checked against the shard's state when applied: only `Serving` and
//!   `GcPending` shards are served, so the other shards of a group keep working while some
//!   are in transit (challenge 2);
//! * the group moves to configuration `n + 1` only when every shard is `Serving` or `Invalid`.
//! * while the group is not done with its configuration, its leader puts a no-op in the log
//!   once per term, so that it applies what earlier terms committed (Figure 8) even when no
//!   clerk or migration gives it anything to put there.

use crate::common::{GetArgs, GetReply, KvErr, PutAppendArgs, PutAppendReply, SERVICE};
use crate::ctrler::Gid;
use kvraft::rsm::{Rsm, StateMachine};
use labrpc::{ClientEnd, Service};
use labs::persister::Persister;
use labs::sync::Arc;
use raft::Raft;
use serde::{Deserialize, Serialize};
// SOLUTION BEGIN
use crate::common::{DeleteArgs, DeleteReply, PullArgs, PullReply, PutAppendOp, ShardData, key2shard};
use crate::ctrler::{self, Config, NSHARDS};
use labs::sync::Mutex;
use labs::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use labs::time::{Duration, sleep};
use std::collections::BTreeMap;

/// How often the leader asks the controller for the next configuration.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// How often the leader looks for shards to pull or to have deleted.
const MIGRATE_INTERVAL: Duration = Duration::from_millis(50);
// SOLUTION END

/// Makes a fresh end to the server with the given name (6.5840's `make_end`).
pub type MakeEnd = Arc<dyn Fn(&str) -> ClientEnd + Send + Sync>;

// SOLUTION BEGIN
/// Where a shard stands in this group's current configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum Status {
    /// Not ours.
    Invalid,
    /// Ours, and here.
    Serving,
    /// Ours, still at its previous owner.
    Pulling,
    /// No longer ours; kept until the new owner has it.
    BePulling,
    /// Ours and here; the previous owner has not yet confirmed that it deleted its copy.
    GcPending,
}

/// A shard: its status and contents.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Shard {
    status: Status,
    data: ShardData,
}
// SOLUTION END

/// An operation in a group's log.
#[derive(Clone, Debug, Serialize, Deserialize)]
enum Op {
    // SOLUTION BEGIN
    /// A clerk's `Get`.
    Get { key: String },
    /// A clerk's `Put` or `Append`.
    PutAppend { key: String, value: String, op: PutAppendOp, client: u64, seq: u64 },
    /// Move to this configuration (if it is the next one and the group is ready).
    Config(Config),
    /// Shards pulled for configuration `num`.
    Insert { num: u64, shards: BTreeMap<usize, ShardData> },
    /// The new owners have these shards (lost in configuration `num`): forget them.
    Delete { num: u64, shards: Vec<usize> },
    /// The previous owners have forgotten these shards (gained in configuration `num`).
    Confirm { num: u64, shards: Vec<usize> },
    /// Nothing: an entry of the leader's own term, so that it can commit (and apply) the
    /// entries of earlier terms (see [`ShardKv::catch_up`]).
    Noop,
    // SOLUTION ELSE
    // // Your definitions here (Lab 5B).
    // SOLUTION END
}

/// What applying an operation answers.
#[derive(Clone, Debug, Default)]
#[allow(dead_code)] // the handout's skeleton reads it only once the handlers are written
struct Reply {
    err: KvErr,
    value: String,
}

/// A group's replicated state. All of it goes in a snapshot.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct GroupState {
    gid: Gid,
    // SOLUTION BEGIN
    /// The configuration the group is in.
    config: Config,
    /// The one before it (where `Pulling` shards are).
    prev: Config,
    shards: Vec<Shard>,
    // SOLUTION ELSE
    // // Your data here (Lab 5B).
    // SOLUTION END
}

impl GroupState {
    fn new(gid: Gid) -> GroupState {
        // SOLUTION BEGIN
        let empty = Shard { status: Status::Invalid, data: ShardData::default() };
        GroupState { gid, config: Config::default(), prev: Config::default(), shards: vec![empty; NSHARDS] }
        // SOLUTION ELSE
        // GroupState { gid }
        // SOLUTION END
    }

    // SOLUTION BEGIN
    /// Whether the group is done with its configuration (may move to the next).
    fn settled(&self) -> bool {
        self.shards.iter().all(|s| matches!(s.status, Status::Serving | Status::Invalid))
    }

    /// The shards in `status`, by the gid that owned them in the previous configuration.
    fn by_prev_owner(&self, status: Status) -> BTreeMap<Gid, Vec<usize>> {
        let mut out: BTreeMap<Gid, Vec<usize>> = BTreeMap::new();
        for (s, sh) in self.shards.iter().enumerate() {
            if sh.status == status {
                out.entry(self.prev.shards[s]).or_default().push(s);
            }
        }
        out
    }

    fn serves(&self, shard: usize) -> bool {
        self.config.shards[shard] == self.gid
            && matches!(self.shards[shard].status, Status::Serving | Status::GcPending)
    }

    fn apply_config(&mut self, next: Config) {
        if next.num != self.config.num + 1 || !self.settled() {
            return;
        }
        for s in 0..NSHARDS {
            let (old, new) = (self.config.shards[s], next.shards[s]);
            let shard = &mut self.shards[s];
            if new == self.gid && old != self.gid {
                shard.status = if old == 0 { Status::Serving } else { Status::Pulling };
            } else if old == self.gid && new != self.gid {
                if new == 0 {
                    // Every group left: nobody will ever ask for it.
                    *shard = Shard { status: Status::Invalid, data: ShardData::default() };
                } else {
                    shard.status = Status::BePulling;
                }
            }
        }
        self.prev = std::mem::replace(&mut self.config, next);
    }
    // SOLUTION END
}

impl StateMachine for GroupState {
    type Op = Op;
    type Reply = Reply;

    fn apply(&mut self, op: Op) -> Reply {
        // SOLUTION BEGIN
        let ok = Reply::default();
        match op {
            Op::Get { key } => {
                let s = key2shard(&key);
                if !self.serves(s) {
                    return Reply { err: KvErr::WrongGroup, value: String::new() };
                }
                match self.shards[s].data.data.get(&key) {
                    Some(v) => Reply { err: KvErr::Ok, value: v.clone() },
                    None => Reply { err: KvErr::NoKey, value: String::new() },
                }
            }
            Op::PutAppend { key, value, op, client, seq } => {
                let s = key2shard(&key);
                if !self.serves(s) {
                    return Reply { err: KvErr::WrongGroup, value: String::new() };
                }
                let shard = &mut self.shards[s].data;
                let last = shard.dups.entry(client).or_insert(0);
                if seq > *last {
                    *last = seq;
                    match op {
                        PutAppendOp::Put => {
                            shard.data.insert(key, value);
                        }
                        PutAppendOp::Append => shard.data.entry(key).or_default().push_str(&value),
                    }
                }
                ok
            }
            Op::Config(c) => {
                self.apply_config(c);
                ok
            }
            Op::Insert { num, shards } => {
                if num == self.config.num {
                    for (s, d) in shards {
                        if self.shards[s].status == Status::Pulling {
                            self.shards[s] = Shard { status: Status::GcPending, data: d };
                        }
                    }
                }
                ok
            }
            Op::Delete { num, shards } => {
                if num > self.config.num {
                    return Reply { err: KvErr::NotReady, value: String::new() };
                }
                if num == self.config.num {
                    for s in shards {
                        if self.shards[s].status == Status::BePulling {
                            self.shards[s] = Shard { status: Status::Invalid, data: ShardData::default() };
                        }
                    }
                }
                ok
            }
            Op::Noop => ok,
            Op::Confirm { num, shards } => {
                if num == self.config.num {
                    for s in shards {
                        if self.shards[s].status == Status::GcPending {
                            self.shards[s].status = Status::Serving;
                        }
                    }
                }
                ok
            }
        }
        // SOLUTION ELSE
        // let _ = op;
        // todo!("Lab 5B: apply a client operation (if this group serves its shard), or a reconfiguration step")
        // SOLUTION END
    }

    fn snapshot(&self) -> Vec<u8> {
        postcard::to_allocvec(self).expect("a group's state encodes")
    }

    fn restore(&mut self, snapshot: &[u8]) {
        *self = postcard::from_bytes(snapshot).expect("a group snapshot decodes");
    }
}

/// A server of a shard group. Cloning gives another handle to the same server.
#[derive(Clone)]
pub struct ShardKv {
    inner: Arc<Inner>,
}

struct Inner {
    gid: Gid,
    rsm: Rsm<GroupState>,
    // SOLUTION BEGIN
    make_end: MakeEnd,
    /// Ends to other groups' servers, by server name (made once each).
    ends: Mutex<BTreeMap<String, ClientEnd>>,
    dead: AtomicBool,
    /// The last term in which this server, as leader, put a [`Op::Noop`] in the log.
    noop_term: AtomicU64,
    // SOLUTION ELSE
    // // Your data here (Lab 5B).
    // #[allow(dead_code)]
    // make_end: MakeEnd,
    // #[allow(dead_code)]
    // ctrlers: Vec<ClientEnd>,
    // SOLUTION END
}

impl ShardKv {
    /// 6.5840's `StartServer`: server `me` of group `gid`, whose servers are `servers` (ends
    /// to each, this one included); `ctrlers` are ends to the controller servers, and
    /// `make_end` makes an end to any server by name (to talk to other groups). Snapshots
    /// when the persisted Raft state reaches `maxraftstate` bytes (-1: never). Returns at
    /// once; call it inside the server's node. Register [`ShardKv::service`] and
    /// `raft().service()` on its labrpc server.
    pub fn new(
        servers: Vec<ClientEnd>,
        me: usize,
        persister: Persister,
        maxraftstate: i64,
        gid: Gid,
        ctrlers: Vec<ClientEnd>,
        make_end: MakeEnd,
    ) -> ShardKv {
        let rsm = Rsm::new(servers, me, persister, maxraftstate, GroupState::new(gid));
        // SOLUTION BEGIN
        let kv = ShardKv {
            inner: Arc::new(Inner {
                gid,
                rsm,
                make_end,
                ends: Mutex::new(BTreeMap::new()),
                dead: AtomicBool::new(false),
                noop_term: AtomicU64::new(0),
            }),
        };
        let poller = kv.clone();
        let mut clerk = ctrler::Clerk::new(ctrlers);
        labs::thread::spawn("config-poller", move || poller.poll_configs(&mut clerk));
        let migrator = kv.clone();
        labs::thread::spawn("migrator", move || migrator.migrate());
        kv
        // SOLUTION ELSE
        // // Your code here (Lab 5B): start polling the controller.
        // ShardKv { inner: Arc::new(Inner { gid, rsm, make_end, ctrlers }) }
        // SOLUTION END
    }

    /// The `ShardKV` service: `Get` and `PutAppend` (and whatever groups call on each other).
    pub fn service(&self) -> Service {
        let (a, b) = (self.clone(), self.clone());
        #[allow(unused_mut, reason = "the skeleton registers no RPC of its own")]
        let mut svc = Service::new(SERVICE)
            .handler("Get", move |args: GetArgs| a.get(args))
            .handler("PutAppend", move |args: PutAppendArgs| b.put_append(args));
        // SOLUTION BEGIN
        let (c, d) = (self.clone(), self.clone());
        svc = svc
            .handler("PullShards", move |args: PullArgs| c.pull_shards(args))
            .handler("DeleteShards", move |args: DeleteArgs| d.delete_shards(args));
        // SOLUTION END
        svc
    }

    /// This server's Raft peer.
    pub fn raft(&self) -> &Raft {
        self.inner.rsm.raft()
    }

    /// This server's group.
    pub fn gid(&self) -> Gid {
        self.inner.gid
    }

    /// The size of the persisted Raft state and the `maxraftstate`.
    pub fn raft_state_size(&self) -> (usize, i64) {
        self.inner.rsm.raft_state_size()
    }

    /// Shuts the server down.
    pub fn kill(&self) {
        // SOLUTION BEGIN
        self.inner.dead.store(true, Ordering::SeqCst);
        // SOLUTION END
        self.inner.rsm.kill();
    }

    fn get(&self, args: GetArgs) -> GetReply {
        // SOLUTION BEGIN
        match self.inner.rsm.submit(Op::Get { key: args.key }) {
            Ok(r) => GetReply { err: r.err, value: r.value },
            Err(_) => GetReply { err: KvErr::WrongLeader, value: String::new() },
        }
        // SOLUTION ELSE
        // let _ = args;
        // todo!("Lab 5B: the Get handler")
        // SOLUTION END
    }

    fn put_append(&self, args: PutAppendArgs) -> PutAppendReply {
        // SOLUTION BEGIN
        let op = Op::PutAppend {
            key: args.key,
            value: args.value,
            op: args.op,
            client: args.client,
            seq: args.seq,
        };
        match self.inner.rsm.submit(op) {
            Ok(r) => PutAppendReply { err: r.err },
            Err(_) => PutAppendReply { err: KvErr::WrongLeader },
        }
        // SOLUTION ELSE
        // let _ = args;
        // todo!("Lab 5B: the PutAppend handler")
        // SOLUTION END
    }

    // SOLUTION BEGIN
    fn stopped(&self) -> bool {
        self.inner.dead.load(Ordering::SeqCst) || labs::thread::killed()
    }

    fn is_leader(&self) -> bool {
        self.raft().state().1
    }

    fn state<R>(&self, f: impl FnOnce(&GroupState) -> R) -> R {
        self.inner.rsm.with_state(f)
    }

    fn end(&self, name: &str) -> ClientEnd {
        let mut ends = self.inner.ends.lock();
        ends.entry(name.to_string()).or_insert_with(|| (self.inner.make_end)(name)).clone()
    }

    /// `ShardKV.PullShards`: any replica at the asker's configuration has the final contents
    /// of the shards it lost in it (they are frozen), so no log entry is needed.
    fn pull_shards(&self, args: PullArgs) -> PullReply {
        self.state(|st| {
            if st.config.num != args.num
                || args.shards.iter().any(|&s| st.shards[s].status != Status::BePulling)
            {
                return PullReply { err: KvErr::NotReady, shards: BTreeMap::new() };
            }
            let shards = args.shards.iter().map(|&s| (s, st.shards[s].data.clone())).collect();
            PullReply { err: KvErr::Ok, shards }
        })
    }

    /// `ShardKV.DeleteShards`: through the log, so that every replica forgets them.
    fn delete_shards(&self, args: DeleteArgs) -> DeleteReply {
        if self.state(|st| st.config.num > args.num) {
            return DeleteReply { err: KvErr::Ok };
        }
        match self.inner.rsm.submit(Op::Delete { num: args.num, shards: args.shards }) {
            Ok(r) => DeleteReply { err: r.err },
            Err(_) => DeleteReply { err: KvErr::WrongLeader },
        }
    }

    /// The leader's loop: once the group is settled, ask for the next configuration and put
    /// it in the log.
    fn poll_configs(&self, clerk: &mut ctrler::Clerk) {
        while !self.stopped() {
            if self.is_leader() {
                let (settled, num) = self.state(|st| (st.settled(), st.config.num));
                if settled {
                    let Some(next) = clerk.try_query(num as i64 + 1) else { return };
                    if next.num == num + 1 {
                        let _ = self.inner.rsm.submit(Op::Config(next));
                        continue;
                    }
                } else {
                    self.catch_up();
                }
            }
            sleep(POLL_INTERVAL);
        }
    }

    /// Once per term, puts a no-op in the log. A new leader applies entries of earlier terms
    /// only once an entry of its own term commits (Figure 8). A group that only waits for
    /// others to pull its shards puts nothing in its log, so after all its servers restart,
    /// its leader could stay in a configuration that its followers (restored from newer
    /// snapshots) have left, and the groups waiting for it would wait forever.
    fn catch_up(&self) {
        let (term, leader) = self.raft().state();
        if leader && self.inner.noop_term.swap(term, Ordering::SeqCst) != term {
            let _ = self.inner.rsm.submit(Op::Noop);
        }
    }

    /// The leader's loop: pull `Pulling` shards, and have `GcPending` shards deleted at their
    /// previous owners; one thread per other group, so that a group that is down holds up
    /// only its own shards.
    fn migrate(&self) {
        while !self.stopped() {
            if self.is_leader() {
                let (num, pulls, gcs, prev) = self.state(|st| {
                    (
                        st.config.num,
                        st.by_prev_owner(Status::Pulling),
                        st.by_prev_owner(Status::GcPending),
                        st.prev.clone(),
                    )
                });
                let mut workers = Vec::new();
                for (gid, shards) in pulls {
                    let names = prev.groups.get(&gid).cloned().unwrap_or_default();
                    let kv = self.clone();
                    workers.push(labs::thread::spawn("pull", move || kv.pull(num, &names, shards)));
                }
                for (gid, shards) in gcs {
                    let names = prev.groups.get(&gid).cloned().unwrap_or_default();
                    let kv = self.clone();
                    workers.push(labs::thread::spawn("gc", move || kv.gc(num, &names, shards)));
                }
                for w in workers {
                    let _ = w.join();
                }
            }
            sleep(MIGRATE_INTERVAL);
        }
    }

    fn pull(&self, num: u64, names: &[String], shards: Vec<usize>) {
        let args = PullArgs { num, shards };
        for name in names {
            if self.stopped() {
                return;
            }
            if let Ok(PullReply { err: KvErr::Ok, shards }) =
                self.end(name).call::<_, PullReply>(&format!("{SERVICE}.PullShards"), &args)
            {
                let _ = self.inner.rsm.submit(Op::Insert { num, shards });
                return;
            }
        }
    }

    fn gc(&self, num: u64, names: &[String], shards: Vec<usize>) {
        let args = DeleteArgs { num, shards };
        for name in names {
            if self.stopped() {
                return;
            }
            if let Ok(DeleteReply { err: KvErr::Ok }) =
                self.end(name).call::<_, DeleteReply>(&format!("{SERVICE}.DeleteShards"), &args)
            {
                let _ = self.inner.rsm.submit(Op::Confirm { num, shards: args.shards });
                return;
            }
        }
    }
    // SOLUTION END
}
