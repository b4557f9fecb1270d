//! The sharded KV service's RPC types (6.5840's `shardkv/common.go`) and `key2shard`.

use crate::ctrler::NSHARDS;
use serde::{Deserialize, Serialize};
// SOLUTION BEGIN
use std::collections::BTreeMap;
// SOLUTION END

/// The name of the shard groups' labrpc service: `ShardKV.Get`, `ShardKV.PutAppend` (and the
/// methods groups call on each other).
pub const SERVICE: &str = "ShardKV";

/// The shard of `key`: its first byte mod [`NSHARDS`] (the empty key is in shard 0).
pub fn key2shard(key: &str) -> usize {
    key.as_bytes().first().map_or(0, |&b| b as usize % NSHARDS)
}

/// The outcome of a shard group RPC (6.5840's `OK`, `ErrNoKey`, `ErrWrongGroup`,
/// `ErrWrongLeader`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum KvErr {
    /// Done.
    #[default]
    Ok,
    /// A `Get` of a key with no value.
    NoKey,
    /// This group does not serve the key's shard (now): the clerk asks the controller again.
    WrongGroup,
    /// This server is not the leader: try another server of the group.
    WrongLeader,
    // SOLUTION BEGIN
    /// (Between groups) the group asked is not at the configuration yet: ask again later.
    NotReady,
    // SOLUTION END
}

/// Whether a `PutAppend` puts or appends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PutAppendOp {
    /// Replace the value.
    Put,
    /// Append to the value.
    Append,
}

/// Arguments of `ShardKV.Get`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GetArgs {
    /// The key.
    pub key: String,
}

/// Reply of `ShardKV.Get`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct GetReply {
    /// `Ok`, `NoKey`, `WrongGroup` or `WrongLeader`.
    pub err: KvErr,
    /// The value (when `Ok`).
    pub value: String,
}

/// Arguments of `ShardKV.PutAppend`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PutAppendArgs {
    /// The key.
    pub key: String,
    /// The value to put or append.
    pub value: String,
    /// Put or Append.
    pub op: PutAppendOp,
    // SOLUTION BEGIN
    /// The clerk's id.
    pub client: u64,
    /// The clerk's request number (a retry sends the same).
    pub seq: u64,
    // SOLUTION ELSE
    // // You'll have to add definitions here.
    // SOLUTION END
}

/// Reply of `ShardKV.PutAppend`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct PutAppendReply {
    /// `Ok`, `WrongGroup` or `WrongLeader`.
    pub err: KvErr,
}

// SOLUTION BEGIN
/// A shard's contents as they move between groups: the data and the duplicate table.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardData {
    /// Key -> value.
    pub data: BTreeMap<String, String>,
    /// Client id -> the highest request number executed on this shard.
    pub dups: BTreeMap<u64, u64>,
}

/// Arguments of `ShardKV.PullShards`: a group at configuration `num` asks the shards'
/// previous owner for them.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PullArgs {
    /// The configuration the asking group is installing.
    pub num: u64,
    /// The shards it wants.
    pub shards: Vec<usize>,
}

/// Reply of `ShardKV.PullShards`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct PullReply {
    /// `Ok`, `WrongLeader` or `NotReady`.
    pub err: KvErr,
    /// The shards' contents (when `Ok`).
    pub shards: BTreeMap<usize, ShardData>,
}

/// Arguments of `ShardKV.DeleteShards`: the new owner at configuration `num` has the shards;
/// the previous owner may forget them.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DeleteArgs {
    /// The new owner's configuration.
    pub num: u64,
    /// The shards to forget.
    pub shards: Vec<usize>,
}

/// Reply of `ShardKV.DeleteShards`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct DeleteReply {
    /// `Ok` (deleted, now or earlier), `WrongLeader` or `NotReady`.
    pub err: KvErr,
}
// SOLUTION END
