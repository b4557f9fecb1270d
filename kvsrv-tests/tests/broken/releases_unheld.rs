//! A lock whose `Release` empties the lock's key whoever holds it. Breaks "Release frees the
//! lock only if this client holds it".

use super::{RefServer, reference_clerk, reference_lock};
use kvsrv::KvClerk;
use kvsrv_tests::{KvImpl, LockHandle, Reference};
use labrpc::{ClientEnd, Service};
use labs::sync::Arc;

/// Releases what it does not hold.
pub struct ReleasesUnheld;

/// The lock: the reference's `Acquire`, and a `Release` that does not look at the holder.
pub struct Lock {
    ck: Arc<dyn KvClerk>,
    name: String,
    inner: Box<dyn LockHandle>,
}

impl LockHandle for Lock {
    fn acquire(&self) {
        self.inner.acquire();
    }
    fn release(&self) {
        loop {
            let Ok((_, version)) = self.ck.get(&self.name) else { return };
            if self.ck.put(&self.name, "", version).is_ok() {
                return;
            }
        }
    }
}

impl KvImpl for ReleasesUnheld {
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
        reference_clerk(end)
    }
    fn make_lock(ck: Arc<dyn KvClerk>, name: &str) -> Box<dyn LockHandle> {
        Box::new(Lock { inner: reference_lock(ck.clone(), name), ck, name: name.to_string() })
    }
}
