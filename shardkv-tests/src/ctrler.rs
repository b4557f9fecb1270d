//! The controller tester (6.5840's `shardctrler/config.go`): three
//! controller servers, clerks, server shutdown and restart, and the checks of the suite.

use labrpc::Network;
use shardkv::ctrler::{Clerk, Config, Gid, NSHARDS, ShardCtrler};
use std::collections::BTreeMap;
use testkit::{Ends, Frame, Group};

/// A controller service under test.
pub struct CtrlerConfig {
    frame: Frame,
    cluster: Group<ShardCtrler>,
}

impl CtrlerConfig {
    /// 6.5840's `make_config(t, n, unreliable)`: `n` controller servers named `ctrler-<i>`, all
    /// started and connected.
    pub fn new(n: usize, unreliable: bool) -> CtrlerConfig {
        let net = Network::new();
        let frame = Frame::new(&net, "an RPC handler");
        let cluster = Group::new(&net, (0..n).map(|i| format!("ctrler-{i}")).collect(), crate::ctrler_spec());
        cluster.start_all();
        net.set_reliable(!unreliable);
        CtrlerConfig { frame, cluster }
    }

    /// The number of servers.
    pub fn n(&self) -> usize {
        self.cluster.n()
    }

    /// Prints the 6.5840 header `Test: <description> ...`.
    pub fn begin(&self, description: &str) {
        self.frame.begin(&format!("Test: {description}"));
    }

    /// Prints `  ... Passed`; fails if the test ran past [`testkit::TEST_TIME_LIMIT`] or a
    /// handler panicked.
    pub fn end(&self) {
        self.frame.end_with(|_| "  ... Passed".to_string());
    }

    /// A clerk with fresh ends to every controller server.
    pub fn make_client(&self) -> Clerk {
        Clerk::new(Ends::new(self.frame.net()).make_each(self.cluster.names(), true))
    }

    /// 6.5840's `ShutdownServer(i)`.
    pub fn shutdown_server(&self, i: usize) {
        self.cluster.shutdown_server(i);
    }

    /// 6.5840's `StartServer(i)`.
    pub fn start_server(&self, i: usize) {
        self.cluster.start_server(i);
    }

    /// 6.5840's `ConnectAll`.
    pub fn connect_all(&self) {
        self.cluster.connect_all();
    }

    /// 6.5840's `Leader()`: the first running server whose Raft says it leads.
    pub fn leader(&self) -> Option<usize> {
        self.cluster.leader()
    }
}

impl Drop for CtrlerConfig {
    fn drop(&mut self) {
        self.frame.finish(|| self.cluster.cleanup());
    }
}

/// 6.5840's `check(t, groups, ck)`: the latest configuration has exactly the groups
/// `groups`; if there are any, every shard is on one of them; and the shards are balanced
/// (max − min ≤ 1 over the groups).
pub fn check(ck: &mut Clerk, groups: &[Gid]) {
    let c = ck.query(-1);
    assert_eq!(
        c.groups.len(),
        groups.len(),
        "wanted {} groups {groups:?}, got {} ({:?})",
        groups.len(),
        c.groups.len(),
        c.groups.keys().collect::<Vec<_>>()
    );
    for g in groups {
        assert!(c.groups.contains_key(g), "missing group {g} in {:?}", c.groups.keys().collect::<Vec<_>>());
    }
    if !groups.is_empty() {
        for (s, g) in c.shards.iter().enumerate() {
            assert!(c.groups.contains_key(g), "shard {s} is on gid {g}, which is not in the configuration");
        }
    }
    check_balanced(&c);
}

/// Max − min shards per group ≤ 1, over the configuration's groups.
pub fn check_balanced(c: &Config) {
    let mut counts: BTreeMap<Gid, usize> = BTreeMap::new();
    for g in c.shards {
        *counts.entry(g).or_default() += 1;
    }
    let per: Vec<usize> = c.groups.keys().map(|g| counts.get(g).copied().unwrap_or(0)).collect();
    if let (Some(min), Some(max)) = (per.iter().min(), per.iter().max()) {
        assert!(
            max <= &(min + 1),
            "max {max} too much larger than min {min} in config {}: {:?}",
            c.num,
            c.shards
        );
    }
}

/// 6.5840's `check_same_config`: the same number, shards and server lists.
pub fn check_same_config(c1: &Config, c2: &Config) {
    assert_eq!(c1.num, c2.num, "num wrong");
    assert_eq!(c1.shards, c2.shards, "shards wrong");
    assert_eq!(c1.groups, c2.groups, "groups or server lists wrong");
}

/// The shards each gid holds in `c`, for the minimality checks.
pub fn shards_by_gid(c: &Config) -> BTreeMap<Gid, Vec<usize>> {
    let mut m: BTreeMap<Gid, Vec<usize>> = BTreeMap::new();
    for s in 0..NSHARDS {
        m.entry(c.shards[s]).or_default().push(s);
    }
    m
}
