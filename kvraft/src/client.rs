//! The clerk (docs/lab4-kvraft.md): how an application talks to the KV service.
//!
//! A clerk sends each request to the server it believes leads, and on any failure (no reply,
//! or `WrongLeader`) tries the next server, until one executes it. It makes one request at a
//! time, and numbers its `Put`s and `Append`s so that the servers can tell a retry from a new
//! request and execute each one exactly once.

use crate::common::{GetArgs, PutAppendArgs};
use labrpc::ClientEnd;
// SOLUTION BEGIN
use crate::common::{GetReply, KvErr, PutAppendReply, SERVICE};
use labs::time::{Duration, sleep};

/// After trying every server without success (an election in progress, say), the clerk
/// waits this long before the next round.
const RETRY_PAUSE: Duration = Duration::from_millis(20);
// SOLUTION ELSE
// #[allow(unused_imports)]
// use crate::common::{GetReply, KvErr, PutAppendReply, SERVICE};
// SOLUTION END

/// A client of the KV service. Methods take `&mut self`: a clerk makes one request at a time.
pub struct Clerk {
    servers: Vec<ClientEnd>,
    // SOLUTION BEGIN
    /// A random id, unique among clerks (6.5840's `nrand`, 62 bits).
    id: u64,
    /// The sequence number of the last `Put` or `Append` sent.
    seq: u64,
    /// The server that answered last: probably the leader.
    leader: usize,
    // SOLUTION ELSE
    // // You will have to modify this struct.
    // SOLUTION END
}

impl Clerk {
    /// 6.5840's `MakeClerk`: a clerk that talks to the servers through `servers` (one end
    /// per server, in any order).
    pub fn new(servers: Vec<ClientEnd>) -> Clerk {
        // SOLUTION BEGIN
        let id = labs::rand::random::<u64>() >> 2;
        Clerk { servers, id, seq: 0, leader: 0 }
        // SOLUTION ELSE
        // // You'll have to add code here.
        // Clerk { servers }
        // SOLUTION END
    }

    /// Fetches the current value of `key` (`""` if it has none). Keeps trying until it gets
    /// an answer.
    pub fn get(&mut self, key: &str) -> String {
        let args = GetArgs { key: key.to_string() };
        // SOLUTION BEGIN
        let reply: GetReply = self.call("Get", &args, |r: &GetReply| r.err != KvErr::WrongLeader);
        match reply.err {
            KvErr::Ok => reply.value,
            _ => String::new(),
        }
        // SOLUTION ELSE
        // let _ = (&self.servers, args);
        // // You will have to modify this function: call "KVServer.Get" on the servers, e.g.
        // // let reply: Result<GetReply, labrpc::CallError> = self.servers[i].call("KVServer.Get", &args);
        // todo!("Lab 4A: Get")
        // SOLUTION END
    }

    /// Sets `key` to `value`. Keeps trying until a server executes it.
    pub fn put(&mut self, key: &str, value: &str) {
        self.put_append(key, value, "Put");
    }

    /// Appends `value` to `key`'s value (a key with no value counts as `""`). Keeps trying
    /// until a server executes it.
    pub fn append(&mut self, key: &str, value: &str) {
        self.put_append(key, value, "Append");
    }

    /// Shared by `put` and `append`; `method` is `"Put"` or `"Append"`.
    fn put_append(&mut self, key: &str, value: &str, method: &str) {
        // SOLUTION BEGIN
        self.seq += 1;
        let args = PutAppendArgs {
            key: key.to_string(),
            value: value.to_string(),
            client_id: self.id,
            seq: self.seq,
        };
        let _: PutAppendReply = self.call(method, &args, |r: &PutAppendReply| r.err == KvErr::Ok);
        // SOLUTION ELSE
        // let args = PutAppendArgs { key: key.to_string(), value: value.to_string() };
        // let _ = (&self.servers, args, method);
        // // You will have to modify this function: call "KVServer.Put" or "KVServer.Append".
        // todo!("Lab 4A: Put and Append")
        // SOLUTION END
    }

    // SOLUTION BEGIN
    /// Calls `KVServer.<method>` on the servers, starting with the last leader, until one
    /// gives a reply that `done` accepts; remembers that server.
    fn call<A, R>(&mut self, method: &str, args: &A, done: impl Fn(&R) -> bool) -> R
    where
        A: serde::Serialize,
        R: serde::de::DeserializeOwned,
    {
        let full = format!("{SERVICE}.{method}");
        let n = self.servers.len();
        let mut failures = 0;
        loop {
            if labs::thread::killed() {
                // Our machine is dead (under the real backend its threads run on until they
                // look): end this thread quietly, and never return a made-up answer. (Under
                // sim the thread is already gone.)
                labs::thread::exit();
            }
            let i = self.leader;
            match self.servers[i].call::<A, R>(&full, args) {
                Ok(reply) if done(&reply) => return reply,
                Err(
                    e @ (labrpc::CallError::BadArgs { .. }
                    | labrpc::CallError::BadReply { .. }
                    | labrpc::CallError::UnknownMethod { .. }
                    | labrpc::CallError::UnknownService { .. }
                    | labrpc::CallError::BadMethodName(_)
                    | labrpc::CallError::Encode { .. }),
                ) => {
                    panic!("clerk: {e}")
                }
                _ => {
                    self.leader = (i + 1) % n;
                    failures += 1;
                    if failures % n == 0 {
                        sleep(RETRY_PAUSE);
                    }
                }
            }
        }
    }
    // SOLUTION END
}
