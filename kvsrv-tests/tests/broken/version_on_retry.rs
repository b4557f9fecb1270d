//! A clerk that returns `ErrVersion` as it got it, also on a re-sent `Put`, instead of
//! `ErrMaybe`. Breaks "a re-sent Put that gets ErrVersion returns ErrMaybe".

use super::{RefServer, reference_clerk, reference_lock};
use kvsrv::rpc::{PutArgs, PutReply, SERVICE};
use kvsrv::{KvClerk, KvError, Version};
use kvsrv_tests::{KvImpl, LockHandle, Reference};
use labrpc::{ClientEnd, Service};
use labs::sync::Arc;
use labs::time::{Duration, sleep};

/// ErrVersion on a retry.
pub struct VersionOnRetry;

/// The clerk: the reference's `Get`, and a `Put` that retries without remembering it did.
pub struct Clerk {
    end: ClientEnd,
    get: Arc<dyn KvClerk>,
}

impl KvClerk for Clerk {
    fn get(&self, key: &str) -> Result<(String, Version), KvError> {
        self.get.get(key)
    }
    fn put(&self, key: &str, value: &str, version: Version) -> Result<(), KvError> {
        let args = PutArgs { key: key.into(), value: value.into(), version };
        loop {
            match self.end.call::<PutArgs, PutReply>(&format!("{SERVICE}.Put"), &args) {
                Ok(reply) => return reply,
                Err(_) => sleep(Duration::from_millis(100)),
            }
        }
    }
}

impl KvImpl for VersionOnRetry {
    type Server = RefServer;
    fn make_server() -> RefServer {
        Reference::make_server()
    }
    fn service(server: &Arc<RefServer>) -> Service {
        Reference::service(server)
    }
    fn state_size(server: &RefServer) -> usize {
        Reference::state_size(server)
    }
    fn make_clerk(end: ClientEnd) -> Arc<dyn KvClerk> {
        Arc::new(Clerk { get: reference_clerk(end.clone()), end })
    }
    fn make_lock(ck: Arc<dyn KvClerk>, name: &str) -> Box<dyn LockHandle> {
        reference_lock(ck, name)
    }
}
