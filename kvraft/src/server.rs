//! The KV server (docs/lab4-kvraft.md): a key/value map replicated with Raft through the
//! [`rsm`](crate::rsm) layer.
//!
//! Every request, `Get` included, goes through the Raft log, so every replica executes the
//! same operations in the same order and a reply reflects every operation that completed
//! before the request was sent (linearizability). Clerks retry, so the same `Put` or `Append`
//! may arrive (and even be committed) several times: the servers execute each one at most once,
//! by remembering each clerk's last sequence number, and that table is part of the snapshot.

use crate::common::{GetArgs, GetReply, KvErr, PutAppendArgs, PutAppendReply, SERVICE};
use crate::rsm::{Rsm, StateMachine};
use labrpc::{ClientEnd, Service};
use labs::persister::Persister;
use raft::Raft;
use serde::{Deserialize, Serialize};
// SOLUTION BEGIN
use std::collections::BTreeMap;
// SOLUTION END

// SOLUTION BEGIN
/// An operation in the log.
#[derive(Clone, Debug, Serialize, Deserialize)]
enum Op {
    /// Read `key`. Reads need no duplicate detection: executing a retried read again is
    /// linearizable, because the retry happens while the clerk's call is still pending.
    Get { key: String },
    /// Set `key` to `value`, unless the clerk's request `seq` was executed already.
    Put { key: String, value: String, client: u64, seq: u64 },
    /// Append `value` to `key`'s value, unless the clerk's request `seq` was executed already.
    Append { key: String, value: String, client: u64, seq: u64 },
}
// SOLUTION ELSE
// /// An operation in the log.
// #[derive(Clone, Debug, Serialize, Deserialize)]
// struct Op {
//     // Your definitions here (Lab 4A): what the servers must agree on for each request.
// }
// SOLUTION END

/// What applying an operation answers.
#[derive(Clone, Debug)]
// SOLUTION BEGIN
// SOLUTION ELSE
// #[allow(dead_code)] // until your handlers read it
// SOLUTION END
struct KvReply {
    err: KvErr,
    value: String,
}

/// The replicated state: the data, and what duplicate detection needs. All of it goes in a
/// snapshot.
#[derive(Debug, Default, Serialize, Deserialize)]
struct KvStore {
    // SOLUTION BEGIN
    data: BTreeMap<String, String>,
    /// The highest sequence number executed for each clerk (its `Put`s and `Append`s).
    last_seq: BTreeMap<u64, u64>,
    // SOLUTION ELSE
    // // Your data here (Lab 4A).
    // SOLUTION END
}

// SOLUTION BEGIN
impl KvStore {
    /// Whether request `seq` of `client` is new, and if so records it as executed.
    fn first_time(&mut self, client: u64, seq: u64) -> bool {
        let last = self.last_seq.entry(client).or_insert(0);
        if seq > *last {
            *last = seq;
            true
        } else {
            false
        }
    }
}
// SOLUTION END

impl StateMachine for KvStore {
    type Op = Op;
    type Reply = KvReply;

    fn apply(&mut self, op: Op) -> KvReply {
        // SOLUTION BEGIN
        match op {
            Op::Get { key } => match self.data.get(&key) {
                Some(v) => KvReply { err: KvErr::Ok, value: v.clone() },
                None => KvReply { err: KvErr::NoKey, value: String::new() },
            },
            Op::Put { key, value, client, seq } => {
                if self.first_time(client, seq) {
                    self.data.insert(key, value);
                }
                KvReply { err: KvErr::Ok, value: String::new() }
            }
            Op::Append { key, value, client, seq } => {
                if self.first_time(client, seq) {
                    self.data.entry(key).or_default().push_str(&value);
                }
                KvReply { err: KvErr::Ok, value: String::new() }
            }
        }
        // SOLUTION ELSE
        // let _ = op;
        // todo!("Lab 4A: execute the operation (at most once per client request)")
        // SOLUTION END
    }

    fn snapshot(&self) -> Vec<u8> {
        // SOLUTION BEGIN
        postcard::to_allocvec(self).expect("the KV state encodes")
        // SOLUTION ELSE
        // todo!("Lab 4B: encode the state")
        // SOLUTION END
    }

    fn restore(&mut self, snapshot: &[u8]) {
        // SOLUTION BEGIN
        *self = postcard::from_bytes(snapshot).expect("a KV snapshot decodes");
        // SOLUTION ELSE
        // let _ = snapshot;
        // todo!("Lab 4B: decode the state")
        // SOLUTION END
    }
}

/// A KV server: one replica of the service. Cloning gives another handle to the same server.
#[derive(Clone)]
pub struct KvServer {
    rsm: Rsm<KvStore>,
}

impl KvServer {
    /// 6.5840's `StartKVServer`: server `me` of `servers` (ends to every server, this one
    /// included, in the same order on every server). It makes its Raft peer (saving to
    /// `persister`), restores what `persister` holds, and snapshots when the persisted Raft
    /// state reaches `maxraftstate` bytes (`-1`: never). Returns at once.
    ///
    /// Register both [`KvServer::service`] and `raft().service()` on the server's labrpc
    /// server.
    pub fn new(servers: Vec<ClientEnd>, me: usize, persister: Persister, maxraftstate: i64) -> KvServer {
        KvServer { rsm: Rsm::new(servers, me, persister, maxraftstate, KvStore::default()) }
    }

    /// The `KVServer` labrpc service: `Get`, `Put` and `Append`.
    pub fn service(&self) -> Service {
        let (a, b, c) = (self.clone(), self.clone(), self.clone());
        Service::new(SERVICE)
            .handler("Get", move |args: GetArgs| a.get(args))
            .handler("Put", move |args: PutAppendArgs| b.put(args))
            .handler("Append", move |args: PutAppendArgs| c.append(args))
    }

    /// This server's Raft peer.
    pub fn raft(&self) -> &Raft {
        self.rsm.raft()
    }

    /// The size of this server's persisted Raft state and its `maxraftstate`.
    pub fn raft_state_size(&self) -> (usize, i64) {
        self.rsm.raft_state_size()
    }

    /// Shuts the server down (its Raft included); pending requests answer `WrongLeader`.
    pub fn kill(&self) {
        self.rsm.kill();
    }

    /// Whether [`KvServer::kill`] was called.
    pub fn killed(&self) -> bool {
        self.rsm.killed()
    }

    /// The `KVServer.Get` handler.
    fn get(&self, args: GetArgs) -> GetReply {
        // SOLUTION BEGIN
        match self.rsm.submit(Op::Get { key: args.key }) {
            Ok(r) => GetReply { err: r.err, value: r.value },
            Err(_) => GetReply { err: KvErr::WrongLeader, value: String::new() },
        }
        // SOLUTION ELSE
        // let _ = args;
        // todo!("Lab 4A: the Get handler")
        // SOLUTION END
    }

    /// The `KVServer.Put` handler.
    fn put(&self, args: PutAppendArgs) -> PutAppendReply {
        // SOLUTION BEGIN
        let op = Op::Put { key: args.key, value: args.value, client: args.client_id, seq: args.seq };
        self.put_append(op)
        // SOLUTION ELSE
        // let _ = args;
        // todo!("Lab 4A: the Put handler")
        // SOLUTION END
    }

    /// The `KVServer.Append` handler.
    fn append(&self, args: PutAppendArgs) -> PutAppendReply {
        // SOLUTION BEGIN
        let op = Op::Append { key: args.key, value: args.value, client: args.client_id, seq: args.seq };
        self.put_append(op)
        // SOLUTION ELSE
        // let _ = args;
        // todo!("Lab 4A: the Append handler")
        // SOLUTION END
    }

    // SOLUTION BEGIN
    fn put_append(&self, op: Op) -> PutAppendReply {
        match self.rsm.submit(op) {
            Ok(r) => PutAppendReply { err: r.err },
            Err(_) => PutAppendReply { err: KvErr::WrongLeader },
        }
    }
    // SOLUTION END
}
