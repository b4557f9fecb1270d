//! The clerk (docs/lab2-kvsrv.md): how an application talks to the KV server.
//!
//! It sends each request until it gets a reply: over an unreliable network a request or its
//! reply may be lost. A lost `Get` is simply asked again. A lost `Put` is too, but if the
//! re-sent copy is answered `Version`, the first copy may have been applied (and bumped the
//! version) before its reply was lost: the clerk cannot know, and returns [`KvError::Maybe`].
//! A `Version` on the first copy is a plain `Version`.

use crate::KvClerk;
use crate::rpc::{KvError, Version};
use labrpc::ClientEnd;
// SOLUTION BEGIN
use crate::rpc::{GetArgs, GetReply, PutArgs, PutReply, SERVICE};
use labs::time::{Duration, sleep};

/// How long the clerk waits before re-sending a request that got no reply.
const RETRY_PAUSE: Duration = Duration::from_millis(100);
// SOLUTION END

/// A client of the KV server. It makes one request at a time.
pub struct Clerk {
    server: ClientEnd,
}

impl Clerk {
    /// 6.5840's `MakeClerk`: a clerk that reaches the server through `server`.
    pub fn new(server: ClientEnd) -> Clerk {
        Clerk { server }
    }

    // SOLUTION BEGIN
    /// Calls `KVServer.<method>` until a reply comes back; returns it and whether the request
    /// had to be sent more than once.
    fn call<A: serde::Serialize, R: serde::de::DeserializeOwned>(&self, method: &str, args: &A) -> (R, bool) {
        let full = format!("{SERVICE}.{method}");
        let mut resent = false;
        loop {
            if labs::thread::killed() {
                // Our machine is dead (under the real backend its threads run on until they
                // look): end this thread quietly rather than return a made-up answer.
                labs::thread::exit();
            }
            match self.server.call::<A, R>(&full, args) {
                Ok(reply) => return (reply, resent),
                Err(
                    e @ (labrpc::CallError::BadArgs { .. }
                    | labrpc::CallError::BadReply { .. }
                    | labrpc::CallError::UnknownMethod { .. }
                    | labrpc::CallError::UnknownService { .. }
                    | labrpc::CallError::BadMethodName(_)
                    | labrpc::CallError::Encode { .. }),
                ) => panic!("clerk: {e}"),
                Err(_) => {
                    resent = true;
                    sleep(RETRY_PAUSE);
                }
            }
        }
    }
    // SOLUTION END
}

impl KvClerk for Clerk {
    /// Fetches the value and version of `key`; keeps trying until the server answers.
    fn get(&self, key: &str) -> Result<(String, Version), KvError> {
        // SOLUTION BEGIN
        let (reply, _): (GetReply, bool) = self.call("Get", &GetArgs { key: key.to_string() });
        reply
        // SOLUTION ELSE
        // // You will have to modify this function: call "KVServer.Get", e.g.
        // // let reply: Result<GetReply, labrpc::CallError> = self.server.call("KVServer.Get", &args);
        // let _ = (&self.server, key);
        // todo!("Lab 2A: Get")
        // SOLUTION END
    }

    /// Installs `value` for `key` at `version`; keeps trying until the server answers. A
    /// `Version` answer to a re-sent request becomes [`KvError::Maybe`].
    fn put(&self, key: &str, value: &str, version: Version) -> Result<(), KvError> {
        // SOLUTION BEGIN
        let args = PutArgs { key: key.to_string(), value: value.to_string(), version };
        let (reply, resent): (PutReply, bool) = self.call("Put", &args);
        match reply {
            Err(KvError::Version) if resent => Err(KvError::Maybe),
            r => r,
        }
        // SOLUTION ELSE
        // // You will have to modify this function: call "KVServer.Put".
        // let _ = (&self.server, key, value, version);
        // todo!("Lab 2A: Put")
        // SOLUTION END
    }
}
