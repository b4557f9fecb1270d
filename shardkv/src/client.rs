//! The sharded KV clerk (docs/lab5-shardkv.md): finds the group that serves a key's shard in its
//! cached configuration, tries that group's servers, and on `ErrWrongGroup` (or when no
//! server answers) sleeps 100 ms, asks the controller for the latest configuration and tries
//! again, forever.

use crate::common::{
    GetArgs, GetReply, KvErr, PutAppendArgs, PutAppendOp, PutAppendReply, SERVICE, key2shard,
};
use crate::ctrler::{self, Config};
use crate::server::MakeEnd;
use labrpc::ClientEnd;
use labs::time::{Duration, sleep};
use std::collections::BTreeMap;

/// How long the clerk sleeps before asking the controller again.
pub const RETRY_INTERVAL: Duration = Duration::from_millis(100);

/// A client of the sharded KV service. Methods take `&mut self`: one request at a time.
pub struct Clerk {
    ctrler: ctrler::Clerk,
    make_end: MakeEnd,
    config: Config,
    /// Ends made so far, by server name.
    ends: BTreeMap<String, ClientEnd>,
    // SOLUTION BEGIN
    /// A random id, unique among clerks.
    id: u64,
    /// The number of the last `Put` or `Append`.
    seq: u64,
    // SOLUTION ELSE
    // // You will have to modify this struct.
    // SOLUTION END
}

impl Clerk {
    /// 6.5840's `MakeClerk`: `ctrlers` are ends to the controller servers; `make_end` makes
    /// an end to a group's server by name.
    pub fn new(ctrlers: Vec<ClientEnd>, make_end: MakeEnd) -> Clerk {
        Clerk {
            ctrler: ctrler::Clerk::new(ctrlers),
            make_end,
            config: Config::default(),
            ends: BTreeMap::new(),
            // SOLUTION BEGIN
            id: labs::rand::random::<u64>() >> 2,
            seq: 0,
            // SOLUTION END
        }
    }

    /// The value of `key` (`""` if none). Keeps trying until a group answers.
    pub fn get(&mut self, key: &str) -> String {
        let args = GetArgs { key: key.to_string() };
        let r: GetReply = self.call(key, "Get", &args, |r: &GetReply| r.err);
        if r.err == KvErr::Ok { r.value } else { String::new() }
    }

    /// Sets `key` to `value`.
    pub fn put(&mut self, key: &str, value: &str) {
        self.put_append(key, value, PutAppendOp::Put);
    }

    /// Appends `value` to `key`'s value.
    pub fn append(&mut self, key: &str, value: &str) {
        self.put_append(key, value, PutAppendOp::Append);
    }

    fn put_append(&mut self, key: &str, value: &str, op: PutAppendOp) {
        // SOLUTION BEGIN
        self.seq += 1;
        let args = PutAppendArgs {
            key: key.to_string(),
            value: value.to_string(),
            op,
            client: self.id,
            seq: self.seq,
        };
        // SOLUTION ELSE
        // let args = PutAppendArgs { key: key.to_string(), value: value.to_string(), op };
        // SOLUTION END
        let _: PutAppendReply = self.call(key, "PutAppend", &args, |r: &PutAppendReply| r.err);
    }

    /// Sends `ShardKV.<method>` to the group of `key`'s shard until a server answers `Ok` or
    /// `NoKey`.
    fn call<A: serde::Serialize, R: serde::de::DeserializeOwned>(
        &mut self,
        key: &str,
        method: &str,
        args: &A,
        err: impl Fn(&R) -> KvErr,
    ) -> R {
        let full = format!("{SERVICE}.{method}");
        let shard = key2shard(key);
        loop {
            let gid = self.config.shards[shard];
            if let Some(names) = self.config.groups.get(&gid).cloned() {
                for name in &names {
                    let make_end = &self.make_end;
                    let end = self.ends.entry(name.clone()).or_insert_with(|| make_end(name));
                    match end.call::<A, R>(&full, args) {
                        Ok(r) if matches!(err(&r), KvErr::Ok | KvErr::NoKey) => return r,
                        Ok(r) if err(&r) == KvErr::WrongGroup => break,
                        _ => {}
                    }
                }
            }
            sleep(RETRY_INTERVAL);
            self.config = self.ctrler.query(-1);
        }
    }
}
