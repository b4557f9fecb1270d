//! A lock whose state lives only in the KV service (docs/lab2-kvsrv.md, 6.5840's `kvsrv1/lock`),
//! built on any [`KvClerk`].
//!
//! Many clients, each with its own [`Lock`] for the same name, may call [`Lock::acquire`] and
//! [`Lock::release`] at the same time; at most one of them holds the lock at any moment. Locks
//! with different names are independent. Over an unreliable network a `Put` may return
//! [`crate::KvError::Maybe`]: the lock must then read the key again to learn whether it holds
//! the lock, and a `release` must never free a lock that another client has taken since.

use crate::KvClerk;
use labs::sync::Arc;
// SOLUTION BEGIN
use crate::rpc::KvError;
use labs::time::{Duration, sleep};

/// How long `acquire` waits before looking again at a lock that another client holds.
const WAIT: Duration = Duration::from_millis(10);
// SOLUTION END

/// One client's handle on the lock called `name`.
pub struct Lock {
    ck: Arc<dyn KvClerk>,
    name: String,
    // SOLUTION BEGIN
    /// This handle's identity, written into the lock's key while it holds the lock.
    id: String,
    // SOLUTION ELSE
    // // You may add code here.
    // SOLUTION END
}

impl Lock {
    /// 6.5840's `MakeLock`: a handle on the lock `name`, whose state is kept under the key
    /// `name` through `ck`. A new handle does not hold the lock.
    pub fn new(ck: Arc<dyn KvClerk>, name: &str) -> Lock {
        // SOLUTION BEGIN
        let id = format!("{:016x}", labs::rand::random::<u64>());
        Lock { ck, name: name.to_string(), id }
        // SOLUTION ELSE
        // // You may add code here.
        // Lock { ck, name: name.to_string() }
        // SOLUTION END
    }

    /// Waits until this handle holds the lock.
    pub fn acquire(&self) {
        // SOLUTION BEGIN
        loop {
            // A missing key (NoKey) is a free lock at version 0.
            let (holder, version) = self.ck.get(&self.name).unwrap_or_default();
            if holder == self.id {
                // An earlier put that returned Maybe was applied after all.
                return;
            }
            if !holder.is_empty() {
                sleep(WAIT);
                continue;
            }
            match self.ck.put(&self.name, &self.id, version) {
                Ok(()) => return,
                // Maybe: read again to learn whether the put was applied.
                Err(KvError::Maybe) => {}
                // Someone else was faster.
                Err(KvError::Version | KvError::NoKey) => sleep(WAIT),
            }
        }
        // SOLUTION ELSE
        // let _ = (&self.ck, &self.name);
        // todo!("Lab 2B: Acquire")
        // SOLUTION END
    }

    /// Releases the lock, if this handle holds it.
    pub fn release(&self) {
        // SOLUTION BEGIN
        loop {
            let Ok((holder, version)) = self.ck.get(&self.name) else { return };
            if holder != self.id {
                // Not ours (any more): an earlier put that returned Maybe freed it, and
                // another client may hold it now.
                return;
            }
            // On Maybe (or anything but OK), read again: if the put was applied, the lock is
            // no longer ours and the loop ends.
            if self.ck.put(&self.name, "", version).is_ok() {
                return;
            }
        }
        // SOLUTION ELSE
        // let _ = (&self.ck, &self.name);
        // todo!("Lab 2B: Release")
        // SOLUTION END
    }
}
