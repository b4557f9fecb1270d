//! The controller's clerk (docs/lab5-shardkv.md): tries each server until one answers, and
//! retries every 100 ms.

use super::common::{Config, CtrlerError, Gid, JoinArgs, LeaveArgs, MoveArgs, QueryArgs, SERVICE};
use labrpc::ClientEnd;
use labs::time::{Duration, sleep};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;

/// After a round of every server without an answer, the clerk waits this long.
pub const RETRY_INTERVAL: Duration = Duration::from_millis(100);

/// A client of the shard controller. Methods take `&mut self`: one request at a time.
pub struct Clerk {
    servers: Vec<ClientEnd>,
    /// A random id, unique among clerks.
    id: u64,
    /// The number of the last change request sent.
    seq: u64,
    /// The server that answered last.
    leader: usize,
}

impl Clerk {
    /// 6.5840's `MakeClerk`: a clerk of the controller servers `servers`.
    pub fn new(servers: Vec<ClientEnd>) -> Clerk {
        Clerk { servers, id: labs::rand::random::<u64>() >> 2, seq: 0, leader: 0 }
    }

    /// Configuration `num`; -1 (or a number past the latest) gives the latest.
    pub fn query(&mut self, num: i64) -> Config {
        self.try_query(num).unwrap_or_else(|| stop("controller clerk: its node was killed while it queried"))
    }

    /// Like [`Clerk::query`], but `None` once the calling node has been killed (for the
    /// servers' own pollers, which must stop quietly).
    pub fn try_query(&mut self, num: i64) -> Option<Config> {
        self.call::<_, Config>("Query", &QueryArgs { num })
            .map(|r| r.expect("a query answers a configuration"))
    }

    /// Adds the groups `servers` (gid -> server names) and rebalances. Fails if a gid is 0 or
    /// already in.
    pub fn join(&mut self, servers: BTreeMap<Gid, Vec<String>>) -> Result<(), CtrlerError> {
        self.seq += 1;
        let args = JoinArgs { servers, client: self.id, seq: self.seq };
        self.change("Join", &args)
    }

    /// Removes the groups `gids` and rebalances. Fails if a gid is not in.
    pub fn leave(&mut self, gids: &[Gid]) -> Result<(), CtrlerError> {
        self.seq += 1;
        let args = LeaveArgs { gids: gids.to_vec(), client: self.id, seq: self.seq };
        self.change("Leave", &args)
    }

    /// Puts `shard` on group `gid` (6.5840's `Move`). Fails if the gid is not in or the shard
    /// does not exist.
    pub fn move_shard(&mut self, shard: usize, gid: Gid) -> Result<(), CtrlerError> {
        self.seq += 1;
        let args = MoveArgs { shard, gid, client: self.id, seq: self.seq };
        self.change("Move", &args)
    }

    fn change<A: Serialize>(&mut self, method: &str, args: &A) -> Result<(), CtrlerError> {
        self.call::<_, ()>(method, args).unwrap_or_else(|| {
            stop(&format!("controller clerk: its node was killed while it was retrying {method}"))
        })
    }

    /// Calls `ShardCtrler.<method>` on the servers until one answers something other than
    /// `WrongLeader`; `None` once the calling node has been killed.
    fn call<A: Serialize, T: DeserializeOwned>(
        &mut self,
        method: &str,
        args: &A,
    ) -> Option<Result<T, CtrlerError>> {
        let full = format!("{SERVICE}.{method}");
        let n = self.servers.len();
        loop {
            for k in 0..n {
                if labs::thread::killed() {
                    return None;
                }
                let i = (self.leader + k) % n;
                match self.servers[i].call::<A, Result<T, CtrlerError>>(&full, args) {
                    Ok(Err(CtrlerError::WrongLeader)) | Err(_) => {}
                    Ok(r) => {
                        self.leader = i;
                        return Some(r);
                    }
                }
            }
            sleep(RETRY_INTERVAL);
        }
    }
}

/// Ends a clerk's thread whose node was killed (or whose world ended, under the real
/// backend) while it was retrying: the thread ends quietly, as the runtime ends a killed
/// node's threads (`why` is for the log).
fn stop(why: &str) -> ! {
    tracing::debug!("{why}");
    labs::thread::exit()
}
