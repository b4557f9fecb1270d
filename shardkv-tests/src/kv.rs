//! The shard group tester (6.5840's `shardkv/config.go`): a controller
//! service of three servers, three groups (gids 100, 101 and 102) of `n` servers each named
//! `server-<gid>-<i>`, clerks, joins and leaves, group and server shutdown and restart, a
//! second controller service, and `checklogs`.
//!
//! The tester drives any implementation of [`ShardImpl`] (the controller is always the lab's
//! own); [`Config`] defaults to the lab's ([`Reference`]), so that the tests of the tester can
//! run suites on broken shard groups.

use labrpc::{ClientEnd, Network, Service};
use labs::persister::Persister;
use labs::sync::atomic::{AtomicBool, Ordering};
use labs::sync::{Arc, Mutex};
use labs::time::Duration;
use shardkv::Clerk;
use shardkv::ctrler::{self, Gid, ShardCtrler};
use shardkv::server::{MakeEnd, ShardKv};
use std::collections::BTreeMap;
use testkit::{Ends, Frame, Group, Spec, Start, Wiring};

/// The number of controller servers.
pub const NCTRLERS: usize = 3;

/// The number of groups.
pub const NGROUPS: usize = 3;

/// The gid of group `gi` (0, 1 or 2): 100, 101 or 102.
pub fn gid(gi: usize) -> Gid {
    100 + gi as Gid
}

/// A clerk of the sharded service, as the tester drives it.
pub trait ShardClerk: Send + 'static {
    /// `Clerk::get`.
    fn get(&mut self, key: &str) -> String;
    /// `Clerk::put`.
    fn put(&mut self, key: &str, value: &str);
    /// `Clerk::append`.
    fn append(&mut self, key: &str, value: &str);
}

impl ShardClerk for Clerk {
    fn get(&mut self, key: &str) -> String {
        Clerk::get(self, key)
    }
    fn put(&mut self, key: &str, value: &str) {
        Clerk::put(self, key, value);
    }
    fn append(&mut self, key: &str, value: &str) {
        Clerk::append(self, key, value);
    }
}

/// What the tester needs from the sharded service: a group's server and the clerk, as a trait
/// so that the tester's own tests can drive broken ones.
pub trait ShardImpl: 'static {
    /// A shard group's server ([`ShardKv`]).
    type Server: Clone + Send + Sync + 'static;
    /// The clerk ([`Clerk`]).
    type Clerk: ShardClerk;
    /// `ShardKv::new`.
    #[allow(clippy::too_many_arguments)]
    fn server(
        peers: Vec<ClientEnd>,
        me: usize,
        persister: Persister,
        maxraftstate: i64,
        gid: Gid,
        ctrlers: Vec<ClientEnd>,
        make_end: MakeEnd,
    ) -> Self::Server;
    /// The labrpc services to register: the group's and its Raft peer's.
    fn services(s: &Self::Server) -> Vec<Service>;
    /// `ShardKv::kill`.
    fn kill(s: &Self::Server);
    /// Whether the server's Raft peer claims to lead.
    fn leads(s: &Self::Server) -> bool;
    /// `Clerk::new`.
    fn clerk(ctrlers: Vec<ClientEnd>, make_end: MakeEnd) -> Self::Clerk;
}

/// The lab's sharded service: the `shardkv` crate.
pub struct Reference;

impl ShardImpl for Reference {
    type Server = ShardKv;
    type Clerk = Clerk;
    fn server(
        peers: Vec<ClientEnd>,
        me: usize,
        persister: Persister,
        maxraftstate: i64,
        gid: Gid,
        ctrlers: Vec<ClientEnd>,
        make_end: MakeEnd,
    ) -> ShardKv {
        ShardKv::new(peers, me, persister, maxraftstate, gid, ctrlers, make_end)
    }
    fn services(s: &ShardKv) -> Vec<Service> {
        vec![s.service(), s.raft().service()]
    }
    fn kill(s: &ShardKv) {
        s.kill();
    }
    fn leads(s: &ShardKv) -> bool {
        s.raft().state().1
    }
    fn clerk(ctrlers: Vec<ClientEnd>, make_end: MakeEnd) -> Clerk {
        Clerk::new(ctrlers, make_end)
    }
}

/// A controller service: its servers and their names.
pub struct CtrlerService {
    cluster: Group<ShardCtrler>,
}

impl CtrlerService {
    fn start(net: &Network, k: usize) -> Arc<CtrlerService> {
        let names = (0..NCTRLERS).map(|i| format!("ctrler-{k}-{i}")).collect();
        let cluster = Group::new(net, names, crate::ctrler_spec());
        cluster.start_all();
        Arc::new(CtrlerService { cluster })
    }

    /// The controller servers' names.
    pub fn names(&self) -> Vec<String> {
        self.cluster.names().to_vec()
    }
}

/// The sharded KV service under test. Dropping it kills every server and closes the network.
pub struct Config<S: ShardImpl = Reference> {
    frame: Frame,
    net: Network,
    n: usize,
    maxraftstate: i64,
    ctrlers: Arc<CtrlerService>,
    extra_ctrlers: Mutex<Vec<Arc<CtrlerService>>>,
    groups: Vec<Group<S::Server>>,
    /// The tester's own controller clerk (joins and leaves).
    mck: Mutex<ctrler::Clerk>,
}

impl Config<Reference> {
    /// 6.5840's `make_config(t, n, unreliable, maxraftstate)`: the controller service, and the
    /// three groups of `n` servers started (not joined); reliability set last.
    pub fn new(n: usize, unreliable: bool, maxraftstate: i64) -> Config {
        Config::with(n, unreliable, maxraftstate)
    }
}

impl<S: ShardImpl> Config<S> {
    /// [`Config::new`] for any [`ShardImpl`].
    pub fn with(n: usize, unreliable: bool, maxraftstate: i64) -> Config<S> {
        let net = Network::new();
        let frame = Frame::new(&net, "an RPC handler");
        let ctrlers = CtrlerService::start(&net, 0);
        let ctrler_names = ctrlers.names();
        let groups: Vec<Group<S::Server>> = (0..NGROUPS)
            .map(|gi| {
                let g = gid(gi);
                let names = (0..n).map(|i| format!("server-{g}-{i}")).collect();
                Group::new(&net, names, group_spec::<S>(g, ctrler_names.clone(), maxraftstate))
            })
            .collect();
        for g in &groups {
            g.start_all();
        }
        let mck = ctrler::Clerk::new(Ends::new(&net).make_each(&ctrler_names, true));
        net.set_reliable(!unreliable);
        Config {
            frame,
            net,
            n,
            maxraftstate,
            ctrlers,
            extra_ctrlers: Mutex::new(Vec::new()),
            groups,
            mck: Mutex::new(mck),
        }
    }

    /// Servers per group.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Prints the 6.5840 header `Test (<part>): <description> ...` (pass it whole).
    pub fn begin(&self, description: &str) {
        self.frame.begin(description);
    }

    /// Prints `  ... Passed`; fails if the test ran past [`testkit::TEST_TIME_LIMIT`] or a
    /// handler panicked.
    pub fn end(&self) {
        self.frame.end_with(|_| "  ... Passed".to_string());
    }

    /// Makes the network reliable or not.
    pub fn set_unreliable(&self, unreliable: bool) {
        self.net.set_reliable(!unreliable);
    }

    /// A clerk of the service (the main controller service).
    pub fn make_client(&self) -> S::Clerk {
        self.make_client_of(&self.ctrlers)
    }

    /// A clerk that asks the controller service `ctl` where shards are.
    pub fn make_client_of(&self, ctl: &CtrlerService) -> S::Clerk {
        let ends = Ends::new(&self.net);
        let ctrler_ends = ends.make_each(&ctl.names(), true);
        let make_end: MakeEnd = Arc::new(move |name: &str| ends.make(name));
        S::clerk(ctrler_ends, make_end)
    }

    /// The network (to install a labrpc filter, say).
    pub fn net(&self) -> &Network {
        &self.net
    }

    /// The test's frame (for steps).
    pub fn frame(&self) -> &Frame {
        &self.frame
    }

    /// The network names of group `gi`'s servers.
    pub fn group_names(&self, gi: usize) -> Vec<String> {
        self.groups[gi].names().to_vec()
    }

    /// Moves `shard` to group `gi` (the controller's `Move`).
    pub fn move_shard(&self, shard: usize, gi: usize) {
        self.mck
            .lock()
            .move_shard(shard, gid(gi))
            .unwrap_or_else(|e| panic!("move shard {shard} to {gi}: {e}"));
    }

    /// 6.5840's `StartCtrlerService` (2024): a second, independent controller service.
    pub fn start_ctrler_service(&self) -> Arc<CtrlerService> {
        let mut extra = self.extra_ctrlers.lock();
        let svc = CtrlerService::start(&self.net, extra.len() + 1);
        extra.push(Arc::clone(&svc));
        svc
    }

    fn group_servers(&self, gi: usize) -> BTreeMap<Gid, Vec<String>> {
        BTreeMap::from([(gid(gi), self.groups[gi].names().to_vec())])
    }

    /// Joins group `gi` (panics if the controller refuses).
    pub fn join(&self, gi: usize) {
        self.joinm(&[gi]);
    }

    /// Joins the groups `gis` in one request.
    pub fn joinm(&self, gis: &[usize]) {
        let servers = gis.iter().flat_map(|&gi| self.group_servers(gi)).collect();
        self.mck.lock().join(servers).unwrap_or_else(|e| panic!("join {gis:?}: {e}"));
    }

    /// Joins group `gi` at the controller service `ctl`.
    pub fn ctljoin(&self, gi: usize, ctl: &CtrlerService) {
        let mut ck = ctrler::Clerk::new(Ends::new(&self.net).make_each(&ctl.names(), true));
        ck.join(self.group_servers(gi)).unwrap_or_else(|e| panic!("join {gi} at the second controller: {e}"));
    }

    /// Group `gi` leaves.
    pub fn leave(&self, gi: usize) {
        self.leavem(&[gi]);
    }

    /// The groups `gis` leave in one request.
    pub fn leavem(&self, gis: &[usize]) {
        let gids: Vec<Gid> = gis.iter().map(|&gi| gid(gi)).collect();
        self.mck.lock().leave(&gids).unwrap_or_else(|e| panic!("leave {gis:?}: {e}"));
    }

    /// The latest configuration.
    pub fn query(&self) -> ctrler::Config {
        self.mck.lock().query(-1)
    }

    /// 6.5840's `ShutdownServer(gi, i)`.
    pub fn shutdown_server(&self, gi: usize, i: usize) {
        self.groups[gi].shutdown_server(i);
    }

    /// 6.5840's `StartServer(gi, i)`.
    pub fn start_server(&self, gi: usize, i: usize) {
        self.groups[gi].start_server(i);
    }

    /// 6.5840's `ShutdownGroup(gi)`.
    pub fn shutdown_group(&self, gi: usize) {
        self.groups[gi].shutdown_all();
    }

    /// 6.5840's `StartGroup(gi)`.
    pub fn start_group(&self, gi: usize) {
        self.groups[gi].start_all();
    }

    /// 6.5840's `checklogs`: with `maxraftstate >= 0`, every server's persisted Raft state is
    /// at most 8 × maxraftstate; with `-1`, no server has a snapshot.
    pub fn checklogs(&self) {
        for (gi, g) in self.groups.iter().enumerate() {
            for i in 0..g.n() {
                let (raft, snap) = g.sizes(i);
                if self.maxraftstate >= 0 {
                    let limit = 8 * self.maxraftstate as usize;
                    assert!(
                        raft <= limit,
                        "persister.RaftStateSize() {raft}, but maxraftstate {} (server {i} of group {})",
                        self.maxraftstate,
                        gid(gi)
                    );
                } else {
                    assert_eq!(
                        snap,
                        0,
                        "maxraftstate is -1, but server {i} of group {} has a snapshot",
                        gid(gi)
                    );
                }
            }
        }
    }

    /// The sum over every server of every group of its Raft state and snapshot sizes
    /// (challenge 1).
    pub fn total_size(&self) -> usize {
        self.groups.iter().flat_map(|g| (0..g.n()).map(move |i| g.sizes(i))).map(|(r, s)| r + s).sum()
    }
}

impl<S: ShardImpl> Drop for Config<S> {
    fn drop(&mut self) {
        self.frame.finish(|| {
            for g in &self.groups {
                g.cleanup();
            }
            self.ctrlers.cluster.cleanup();
            for c in self.extra_ctrlers.lock().iter() {
                c.cluster.cleanup();
            }
        });
    }
}

/// The group spec of the servers of group `gid`, which find the controller servers
/// `ctrler_names` and other groups through ends the shutdown cuts too.
fn group_spec<S: ShardImpl>(gid: Gid, ctrler_names: Vec<String>, maxraftstate: i64) -> Spec<S::Server> {
    Spec {
        make: Box::new(move |s: Start<'_>| {
            let ctrler_ends = s.others.make_each(&ctrler_names, true);
            let others = s.others.clone();
            let make_end: MakeEnd = Arc::new(move |name: &str| others.make(name));
            S::server(s.peers, s.me, s.persister, maxraftstate, gid, ctrler_ends, make_end)
        }),
        services: S::services,
        kill: S::kill,
        leads: S::leads,
        wiring: Wiring::Auto,
    }
}

/// 6.5840's `check(t, ck, key, value)`: `Get(key)` must return `value`.
pub fn check<C: ShardClerk>(ck: &mut C, key: &str, value: &str) {
    let v = ck.get(key);
    assert!(v == value, "Get({key}): expected:\n{value}\nreceived:\n{v}");
}

/// Clerks appending to their own key in a loop (the concurrent tests' `ff`), each keeping the
/// value its key should have.
pub struct Appenders {
    done: Arc<AtomicBool>,
    handles: Vec<labs::thread::JoinHandle<String>>,
}

impl Appenders {
    /// One clerk per key of `keys` (whose values are `values`), each appending random strings
    /// of `len` characters, pausing `pause` between appends, until [`Appenders::stop`].
    pub fn start<S: ShardImpl>(
        cfg: &Config<S>,
        keys: &[String],
        values: &[String],
        len: usize,
        pause: Duration,
    ) -> Appenders {
        let done = Arc::new(AtomicBool::new(false));
        let handles = keys
            .iter()
            .zip(values)
            .map(|(k, v)| {
                let mut ck = cfg.make_client();
                let (k, mut v, done) = (k.clone(), v.clone(), Arc::clone(&done));
                labs::thread::spawn("appender", move || {
                    while !done.load(Ordering::SeqCst) {
                        let x = testkit::random_string(len);
                        ck.append(&k, &x);
                        v.push_str(&x);
                        if !pause.is_zero() {
                            labs::time::sleep(pause);
                        }
                    }
                    v
                })
            })
            .collect();
        Appenders { done, handles }
    }

    /// Stops the clerks (each finishes its append) and returns each key's expected value.
    pub fn stop(self) -> Vec<String> {
        self.stop_signal().join()
    }

    /// Tells the clerks to stop without waiting for them (6.5840's `atomic.StoreInt32(&done,
    /// 1)` before it changes the network and waits).
    pub fn stop_signal(self) -> Stopping {
        self.done.store(true, Ordering::SeqCst);
        Stopping { handles: self.handles }
    }
}

/// Appenders told to stop: [`Stopping::join`] waits for them.
pub struct Stopping {
    handles: Vec<labs::thread::JoinHandle<String>>,
}

impl Stopping {
    /// Waits for every appender to finish; returns each key's expected value.
    pub fn join(self) -> Vec<String> {
        self.handles.into_iter().map(|h| h.join().expect("an appender failed")).collect()
    }
}
