//! The KV server (docs/lab2-kvsrv.md): a map from keys to a value and a version, reached through
//! the `KVServer.Get` and `KVServer.Put` RPCs.
//!
//! `Get` returns a key's value and version, or `NoKey`. `Put` installs its value, and bumps the
//! version, only if the put's version equals the key's; otherwise it replies `Version`. A put
//! with version 0 to a key that does not exist creates it at version 1; any other version on a
//! missing key is `NoKey`. Each put is executed at most once per request the server receives,
//! and the server keeps nothing per client: the clerk's retries are safe because of the
//! versions, not because the server remembers them.
//!
//! Keep everything the server remembers in [`State`]: the memory test measures the size of its
//! encoding (postcard, as the network uses) as the lab's stand-in for Go's heap size.

use crate::rpc::{GetArgs, GetReply, PutArgs, PutReply, SERVICE};
use labrpc::Service;
use labs::sync::{Arc, Mutex};
use serde::Serialize;
// SOLUTION BEGIN
use crate::rpc::{KvError, Version};
use std::collections::BTreeMap;
// SOLUTION END

/// Everything the server remembers. It must stay `Serialize`: [`KvServer::state_size`] encodes
/// it.
#[derive(Debug, Default, Serialize)]
pub struct State {
    // SOLUTION BEGIN
    /// Each key's value and version.
    kv: BTreeMap<String, (String, Version)>,
    // SOLUTION ELSE
    // // Your definitions here.
    // SOLUTION END
}

/// The key/value server.
#[derive(Debug, Default)]
pub struct KvServer {
    state: Mutex<State>,
}

impl KvServer {
    /// 6.5840's `MakeKVServer`: an empty server.
    pub fn new() -> KvServer {
        KvServer { state: Mutex::new(State::default()) }
    }

    /// The `KVServer.Get` handler.
    pub fn get(&self, args: GetArgs) -> GetReply {
        // SOLUTION BEGIN
        let st = self.state.lock();
        st.kv.get(&args.key).cloned().ok_or(KvError::NoKey)
        // SOLUTION ELSE
        // let _ = (&self.state, args);
        // todo!("Lab 2A: Get")
        // SOLUTION END
    }

    /// The `KVServer.Put` handler: installs the value if `args.version` is the key's version.
    pub fn put(&self, args: PutArgs) -> PutReply {
        // SOLUTION BEGIN
        let mut st = self.state.lock();
        match st.kv.get_mut(&args.key) {
            Some((value, version)) if *version == args.version => {
                *value = args.value;
                *version += 1;
                Ok(())
            }
            Some(_) => Err(KvError::Version),
            None if args.version == 0 => {
                st.kv.insert(args.key, (args.value, 1));
                Ok(())
            }
            None => Err(KvError::NoKey),
        }
        // SOLUTION ELSE
        // let _ = (&self.state, args);
        // todo!("Lab 2A: Put")
        // SOLUTION END
    }

    /// The labrpc service with the `Get` and `Put` handlers, to register on the server's
    /// network server.
    pub fn service(self: &Arc<Self>) -> Service {
        let (g, p) = (self.clone(), self.clone());
        Service::new(SERVICE)
            .handler("Get", move |args: GetArgs| g.get(args))
            .handler("Put", move |args: PutArgs| p.put(args))
    }

    /// The size in bytes of the server's [`State`], encoded with postcard: what the memory
    /// test measures.
    pub fn state_size(&self) -> usize {
        postcard::to_allocvec(&*self.state.lock()).map_or(usize::MAX, |b| b.len())
    }
}
