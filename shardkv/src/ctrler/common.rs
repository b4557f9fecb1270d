//! The shard controller's configurations and RPC types (6.5840's `shardctrler/common.go`).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The number of shards.
pub const NSHARDS: usize = 10;

/// The name of the controller's labrpc service: methods `ShardCtrler.Join`, `.Leave`,
/// `.Move` and `.Query`.
pub const SERVICE: &str = "ShardCtrler";

/// A replica group id. Gid 0 is not a group: config 0 assigns every shard to it.
pub type Gid = u64;

/// A configuration: which group serves each shard, and the servers of each group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// The configuration's number: 0 for the initial one, then one more per change.
    pub num: u64,
    /// `shards[s]`: the gid of the group that serves shard `s` (0: none).
    pub shards: [Gid; NSHARDS],
    /// Each group's server names, by gid.
    pub groups: BTreeMap<Gid, Vec<String>>,
}

impl Default for Config {
    /// Config 0: no groups, every shard on gid 0.
    fn default() -> Self {
        Config { num: 0, shards: [0; NSHARDS], groups: BTreeMap::new() }
    }
}

impl Config {
    /// The shards that group `gid` serves in this configuration.
    pub fn shards_of(&self, gid: Gid) -> Vec<usize> {
        (0..NSHARDS).filter(|&s| self.shards[s] == gid).collect()
    }
}

/// Why a controller request failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum CtrlerError {
    /// This server is not the leader, or lost leadership: the clerk tries another server.
    #[error("wrong leader")]
    WrongLeader,
    /// `Join` of a gid that is already in the configuration.
    #[error("group {0} has already joined")]
    DuplicateGid(Gid),
    /// `Leave` or `Move` naming a gid that is not in the configuration.
    #[error("group {0} is not in the configuration")]
    UnknownGid(Gid),
    /// Gid 0 is reserved for "no group".
    #[error("gid 0 is not a group id")]
    ZeroGid,
    /// `Move` of a shard that does not exist.
    #[error("there is no shard {0} (there are {NSHARDS})")]
    BadShard(usize),
    /// A `Join` with a group that has no servers.
    #[error("group {0} has no servers")]
    NoServers(Gid),
}

/// Arguments of `ShardCtrler.Join`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct JoinArgs {
    /// The new groups: gid -> server names.
    pub servers: BTreeMap<Gid, Vec<String>>,
    /// The clerk's id.
    pub client: u64,
    /// The clerk's request number (a retry sends the same).
    pub seq: u64,
}

/// Arguments of `ShardCtrler.Leave`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LeaveArgs {
    /// The groups that leave.
    pub gids: Vec<Gid>,
    /// The clerk's id.
    pub client: u64,
    /// The clerk's request number.
    pub seq: u64,
}

/// Arguments of `ShardCtrler.Move`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MoveArgs {
    /// The shard to move.
    pub shard: usize,
    /// The group to move it to.
    pub gid: Gid,
    /// The clerk's id.
    pub client: u64,
    /// The clerk's request number.
    pub seq: u64,
}

/// Arguments of `ShardCtrler.Query`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct QueryArgs {
    /// The configuration number; -1 (or a number past the latest) asks for the latest.
    pub num: i64,
}

/// Reply of `Join`, `Leave` and `Move`.
pub type ChangeReply = Result<(), CtrlerError>;

/// Reply of `Query`.
pub type QueryReply = Result<Config, CtrlerError>;

/// The configuration after `prev` with the groups `groups` (its shards reassigned): as even
/// as possible (max − min ≤ 1) and with as few shards moved as possible. Deterministic: the
/// result depends only on `prev.shards` and the set of gids.
///
/// Groups keep what they have up to their target; the targets with one extra shard go to
/// the groups that hold most (ties: lower gid), so fewer shards move; shards of departed
/// groups and the excess of overfull groups go, lowest shard first, to the groups below their
/// target, lowest gid first.
pub fn rebalance(prev: &[Gid; NSHARDS], groups: &BTreeMap<Gid, Vec<String>>) -> [Gid; NSHARDS] {
    // SOLUTION BEGIN
    if groups.is_empty() {
        return [0; NSHARDS];
    }
    let mut owned: BTreeMap<Gid, Vec<usize>> = groups.keys().map(|&g| (g, Vec::new())).collect();
    let mut pool = Vec::new();
    for (s, g) in prev.iter().enumerate() {
        match owned.get_mut(g) {
            Some(v) => v.push(s),
            None => pool.push(s),
        }
    }
    let n = groups.len();
    let (base, extra) = (NSHARDS / n, NSHARDS % n);
    let mut order: Vec<Gid> = groups.keys().copied().collect();
    order.sort_by_key(|g| (std::cmp::Reverse(owned[g].len()), *g));
    let target: BTreeMap<Gid, usize> =
        order.iter().enumerate().map(|(i, &g)| (g, base + usize::from(i < extra))).collect();
    for (g, v) in owned.iter_mut() {
        while v.len() > target[g] {
            pool.push(v.pop().expect("over target means not empty"));
        }
    }
    pool.sort_unstable();
    let mut pool = pool.into_iter();
    for (g, v) in owned.iter_mut() {
        while v.len() < target[g] {
            v.push(pool.next().expect("the targets add up to NSHARDS"));
        }
    }
    let mut shards = [0; NSHARDS];
    for (g, v) in owned {
        for s in v {
            shards[s] = g;
        }
    }
    shards
    // SOLUTION ELSE
    // let _ = (prev, groups);
    // todo!("Lab 5A: assign the shards to `groups`: evenly, moving as few as possible, deterministically")
    // SOLUTION END
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groups(gids: &[Gid]) -> BTreeMap<Gid, Vec<String>> {
        gids.iter().map(|&g| (g, vec![format!("s{g}")])).collect()
    }

    fn counts(shards: &[Gid; NSHARDS], gids: &[Gid]) -> (usize, usize) {
        let c: Vec<usize> = gids.iter().map(|g| shards.iter().filter(|x| *x == g).count()).collect();
        (*c.iter().min().unwrap(), *c.iter().max().unwrap())
    }

    #[test]
    fn balanced_minimal_deterministic() {
        let mut shards = [0; NSHARDS];
        let mut gids: Vec<Gid> = Vec::new();
        for g in 1..=12 {
            gids.push(g);
            let next = rebalance(&shards, &groups(&gids));
            let (min, max) = counts(&next, &gids);
            assert!(max - min <= 1, "{next:?}");
            let moved = (0..NSHARDS).filter(|&s| shards[s] != next[s]).count();
            if g > 1 {
                // Only shards that moved to the new group move.
                assert!((0..NSHARDS).all(|s| shards[s] == next[s] || next[s] == g), "{shards:?} -> {next:?}");
                assert!(moved <= NSHARDS / g as usize + 1);
            }
            assert_eq!(next, rebalance(&shards, &groups(&gids)));
            shards = next;
        }
        while gids.len() > 1 {
            let gone = gids.remove(0);
            let next = rebalance(&shards, &groups(&gids));
            let (min, max) = counts(&next, &gids);
            assert!(max - min <= 1);
            assert!(
                (0..NSHARDS).all(|s| shards[s] == next[s] || shards[s] == gone),
                "{shards:?} -> {next:?}"
            );
            shards = next;
        }
        assert_eq!(rebalance(&shards, &groups(&[])), [0; NSHARDS]);
    }
}
