//! The shard controller's server (docs/lab5-shardkv.md): the list of configurations, replicated
//! on the [`kvraft::rsm`] layer, with duplicate detection.

use super::common::{ChangeReply, Config, JoinArgs, LeaveArgs, MoveArgs, QueryArgs, QueryReply, SERVICE};
use kvraft::rsm::{Rsm, StateMachine};
use labrpc::{ClientEnd, Service};
use labs::persister::Persister;
use raft::Raft;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
// SOLUTION BEGIN
use super::common::{CtrlerError, Gid, NSHARDS, rebalance};
// SOLUTION END

/// An operation in the controller's log.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum CtrlOp {
    /// Add groups.
    Join(JoinArgs),
    /// Remove groups.
    Leave(LeaveArgs),
    /// Put a shard on a group.
    Move(MoveArgs),
    /// Read a configuration.
    Query(QueryArgs),
}

/// What applying a [`CtrlOp`] answers.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum CtrlReply {
    /// The result of a `Join`, `Leave` or `Move`.
    Change(ChangeReply),
    /// The result of a `Query`.
    Query(QueryReply),
}

/// The controller's replicated state: every configuration so far, and what duplicate
/// detection needs.
#[derive(Debug, Serialize, Deserialize)]
pub struct CtrlerState {
    /// `configs[i]` is configuration `i`.
    configs: Vec<Config>,
    /// Each clerk's last change request: its number and its result.
    last: BTreeMap<u64, (u64, ChangeReply)>,
}

impl Default for CtrlerState {
    fn default() -> Self {
        CtrlerState { configs: vec![Config::default()], last: BTreeMap::new() }
    }
}

impl CtrlerState {
    /// The configurations so far.
    pub fn configs(&self) -> &[Config] {
        &self.configs
    }

    // SOLUTION BEGIN
    fn latest(&self) -> &Config {
        self.configs.last().expect("config 0 is always there")
    }

    /// The next configuration: the latest with `groups` and a rebalance.
    fn push(&mut self, groups: BTreeMap<Gid, Vec<String>>, rebalanced: bool) {
        let prev = self.latest();
        let shards = if rebalanced { rebalance(&prev.shards, &groups) } else { prev.shards };
        let num = prev.num + 1;
        self.configs.push(Config { num, shards, groups });
    }

    fn join(&mut self, servers: BTreeMap<Gid, Vec<String>>) -> ChangeReply {
        let mut groups = self.latest().groups.clone();
        for (&gid, names) in &servers {
            if gid == 0 {
                return Err(CtrlerError::ZeroGid);
            }
            if names.is_empty() {
                return Err(CtrlerError::NoServers(gid));
            }
            if groups.insert(gid, names.clone()).is_some() {
                return Err(CtrlerError::DuplicateGid(gid));
            }
        }
        self.push(groups, true);
        Ok(())
    }

    fn leave(&mut self, gids: &[Gid]) -> ChangeReply {
        let mut groups = self.latest().groups.clone();
        for gid in gids {
            if groups.remove(gid).is_none() {
                return Err(CtrlerError::UnknownGid(*gid));
            }
        }
        self.push(groups, true);
        Ok(())
    }

    fn move_shard(&mut self, shard: usize, gid: Gid) -> ChangeReply {
        if shard >= NSHARDS {
            return Err(CtrlerError::BadShard(shard));
        }
        if !self.latest().groups.contains_key(&gid) {
            return Err(CtrlerError::UnknownGid(gid));
        }
        let groups = self.latest().groups.clone();
        self.push(groups, false);
        self.configs.last_mut().expect("just pushed").shards[shard] = gid;
        Ok(())
    }

    /// Runs a change request at most once per (client, seq); a retry gets the first answer.
    fn once(&mut self, client: u64, seq: u64, f: impl FnOnce(&mut Self) -> ChangeReply) -> ChangeReply {
        if let Some((last, reply)) = self.last.get(&client)
            && *last >= seq
        {
            return reply.clone();
        }
        let reply = f(self);
        self.last.insert(client, (seq, reply.clone()));
        reply
    }
    // SOLUTION END
}

impl StateMachine for CtrlerState {
    type Op = CtrlOp;
    type Reply = CtrlReply;

    fn apply(&mut self, op: CtrlOp) -> CtrlReply {
        // SOLUTION BEGIN
        match op {
            CtrlOp::Join(a) => CtrlReply::Change(self.once(a.client, a.seq, |st| st.join(a.servers))),
            CtrlOp::Leave(a) => CtrlReply::Change(self.once(a.client, a.seq, |st| st.leave(&a.gids))),
            CtrlOp::Move(a) => {
                CtrlReply::Change(self.once(a.client, a.seq, |st| st.move_shard(a.shard, a.gid)))
            }
            CtrlOp::Query(a) => {
                let latest = self.latest();
                let c = match usize::try_from(a.num) {
                    Ok(i) if i < self.configs.len() => &self.configs[i],
                    _ => latest,
                };
                CtrlReply::Query(Ok(c.clone()))
            }
        }
        // SOLUTION ELSE
        // let _ = op;
        // todo!("Lab 5A: apply a Join, Leave, Move or Query (changes at most once per request)")
        // SOLUTION END
    }

    fn snapshot(&self) -> Vec<u8> {
        postcard::to_allocvec(self).expect("the controller state encodes")
    }

    fn restore(&mut self, snapshot: &[u8]) {
        *self = postcard::from_bytes(snapshot).expect("a controller snapshot decodes");
    }
}

/// One shard controller server. Cloning gives another handle to the same server.
#[derive(Clone)]
pub struct ShardCtrler {
    rsm: Rsm<CtrlerState>,
}

impl ShardCtrler {
    /// 6.5840's `StartServer`: controller server `me` of `servers` (ends to every controller
    /// server, this one included), saving to `persister`; never snapshots. Returns at once.
    /// Register [`ShardCtrler::service`] and `raft().service()` on its labrpc server.
    pub fn new(servers: Vec<ClientEnd>, me: usize, persister: Persister) -> ShardCtrler {
        ShardCtrler { rsm: Rsm::new(servers, me, persister, -1, CtrlerState::default()) }
    }

    /// The `ShardCtrler` service: `Join`, `Leave`, `Move` and `Query`.
    pub fn service(&self) -> Service {
        let (a, b, c, d) = (self.clone(), self.clone(), self.clone(), self.clone());
        Service::new(SERVICE)
            .handler("Join", move |args: JoinArgs| a.change(CtrlOp::Join(args)))
            .handler("Leave", move |args: LeaveArgs| b.change(CtrlOp::Leave(args)))
            .handler("Move", move |args: MoveArgs| c.change(CtrlOp::Move(args)))
            .handler("Query", move |args: QueryArgs| d.query(args))
    }

    /// This server's Raft peer.
    pub fn raft(&self) -> &Raft {
        self.rsm.raft()
    }

    /// Shuts the server down.
    pub fn kill(&self) {
        self.rsm.kill();
    }

    /// Looks at this replica's configurations (for tests).
    pub fn with_state<R>(&self, f: impl FnOnce(&CtrlerState) -> R) -> R {
        self.rsm.with_state(f)
    }

    fn change(&self, op: CtrlOp) -> ChangeReply {
        // SOLUTION BEGIN
        match self.rsm.submit(op) {
            Ok(CtrlReply::Change(r)) => r,
            Ok(CtrlReply::Query(_)) => unreachable!("a change answers a change"),
            Err(_) => Err(CtrlerError::WrongLeader),
        }
        // SOLUTION ELSE
        // let _ = op;
        // todo!("Lab 5A: run the change through the rsm")
        // SOLUTION END
    }

    fn query(&self, args: QueryArgs) -> QueryReply {
        // SOLUTION BEGIN
        match self.rsm.submit(CtrlOp::Query(args)) {
            Ok(CtrlReply::Query(r)) => r,
            Ok(CtrlReply::Change(_)) => unreachable!("a query answers a query"),
            Err(_) => Err(CtrlerError::WrongLeader),
        }
        // SOLUTION ELSE
        // let _ = args;
        // todo!("Lab 5A: run the query through the rsm")
        // SOLUTION END
    }
}
