//! A lock whose `Acquire` takes a `Put` that returned `ErrMaybe` for a failure and never
//! notices that the lock holds its own id: it waits for itself for ever. Breaks "after
//! ErrMaybe, read the lock again: this client may hold it already".

use super::{RefServer, reference_clerk};
use kvsrv::KvClerk;
use kvsrv_tests::{KvImpl, LockHandle, Reference};
use labrpc::{ClientEnd, Service};
use labs::sync::Arc;
use labs::time::{Duration, sleep};

/// ErrMaybe taken for a failure.
pub struct MaybeAsFailure;

/// The lock.
pub struct Lock {
    ck: Arc<dyn KvClerk>,
    name: String,
    id: String,
}

impl LockHandle for Lock {
    fn acquire(&self) {
        loop {
            let (holder, version) = self.ck.get(&self.name).unwrap_or_default();
            if holder.is_empty() && self.ck.put(&self.name, &self.id, version).is_ok() {
                return;
            }
            sleep(Duration::from_millis(10));
        }
    }
    fn release(&self) {
        loop {
            let Ok((holder, version)) = self.ck.get(&self.name) else { return };
            if holder != self.id || self.ck.put(&self.name, "", version).is_ok() {
                return;
            }
        }
    }
}

impl KvImpl for MaybeAsFailure {
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
        Box::new(Lock { ck, name: name.to_string(), id: format!("{:016x}", labs::rand::random::<u64>()) })
    }
}
