//! The KV service's RPCs (docs/lab4-kvraft.md; 6.5840's 2024 Lab 4): `KVServer.Get`, `KVServer.Put` and
//! `KVServer.Append`, their arguments and replies.

use serde::{Deserialize, Serialize};

/// The name of the KV service on a server; methods are `KVServer.Get`, `KVServer.Put` and
/// `KVServer.Append`.
pub const SERVICE: &str = "KVServer";

/// The outcome of a KV RPC (6.5840's `Err` strings `OK`, `ErrNoKey`, `ErrWrongLeader`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum KvErr {
    /// The operation was executed (exactly once).
    #[default]
    Ok,
    /// A `Get` of a key that has no value (the clerk returns `""`).
    NoKey,
    /// This server cannot execute the operation (it is not the leader, lost leadership
    /// before the operation committed, or is shutting down): try another server.
    WrongLeader,
}

/// Arguments of `KVServer.Get`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetArgs {
    /// The key to read.
    pub key: String,
}

/// Reply of `KVServer.Get`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetReply {
    /// `Ok`, `NoKey` or `WrongLeader`.
    pub err: KvErr,
    /// The value read (empty unless `err` is `Ok`).
    pub value: String,
}

/// Arguments of `KVServer.Put` and `KVServer.Append`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PutAppendArgs {
    /// The key to write.
    pub key: String,
    /// The value to put, or to append to the key's value.
    pub value: String,
    // SOLUTION BEGIN
    /// The clerk's id: a random number, unique among clerks.
    pub client_id: u64,
    /// The clerk's sequence number for this request; a retry sends the same number.
    pub seq: u64,
    // SOLUTION ELSE
    // // You'll have to add definitions here: what the servers need to execute each request
    // // at most once, whatever the retries.
    // SOLUTION END
}

/// Reply of `KVServer.Put` and `KVServer.Append`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PutAppendReply {
    /// `Ok` or `WrongLeader`.
    pub err: KvErr,
}
