//! Stable storage for a Raft peer: the Raft state and the service's snapshot.
//!
//! This is 6.5840's `Persister` (`raft/persister.go`). A server "writes to disk" by calling
//! [`Persister::save`]; the tester keeps the persister when it crashes the server and hands the
//! restarted instance what was saved. Both blobs are always replaced together, so a crash can never
//! leave a Raft state from one moment beside a snapshot from another.
//!
//! A `Persister` is a cheap handle: cloning it gives a second handle on the *same* storage (the
//! tester and the Raft instance share one). [`Persister::copy`] is different: it makes a new,
//! independent storage holding the same bytes. That is how the 6.5840 crash semantics are
//! expressed: at a crash the tester gives the restarted server a copy, so a killed instance that
//! is still running somewhere can keep calling `save` on its old handle without the new instance
//! ever seeing those writes.
//!
//! Saving costs virtual time in proportion to the bytes saved ([`crate::time::charge_bytes`]),
//! as writing to a disk would: persisting the whole log on every change is as slow here as it
//! is anywhere.

use std::sync::Arc;

use crate::sync::Mutex;

/// What a persister holds. Blobs are reference-counted so that [`Persister::copy`] costs no byte
/// copying; they are never mutated in place, only replaced.
#[derive(Default)]
struct Stored {
    raft_state: Arc<Vec<u8>>,
    snapshot: Arc<Vec<u8>>,
}

/// Stable storage for one Raft peer: its Raft state and its snapshot, saved atomically together.
///
/// Clones share the same storage; use [`Persister::copy`] for an independent one.
#[derive(Clone)]
pub struct Persister {
    inner: Arc<Mutex<Stored>>,
}

impl Default for Persister {
    fn default() -> Self {
        Persister { inner: Arc::new(Mutex::new(Stored::default())) }
    }
}

impl std::fmt::Debug for Persister {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.inner.lock();
        f.debug_struct("Persister")
            .field("raft_state_size", &s.raft_state.len())
            .field("snapshot_size", &s.snapshot.len())
            .finish()
    }
}

impl Persister {
    /// An empty persister: no Raft state and no snapshot (both read back as empty).
    pub fn new() -> Persister {
        Persister::default()
    }

    /// A new, independent persister holding the same bytes as this one.
    ///
    /// Later saves to either one are not seen by the other. The tester gives a restarted server a
    /// copy, so that writes from the killed instance can never reach it.
    pub fn copy(&self) -> Persister {
        let s = self.inner.lock();
        Persister {
            inner: Arc::new(Mutex::new(Stored {
                raft_state: Arc::clone(&s.raft_state),
                snapshot: Arc::clone(&s.snapshot),
            })),
        }
    }

    /// Saves the Raft state and the snapshot, replacing both atomically.
    ///
    /// As in 6.5840, `None` stores an empty snapshot: once snapshots are in use, always pass the
    /// current one, or it is wiped.
    pub fn save(&self, raft_state: Vec<u8>, snapshot: Option<Vec<u8>>) {
        crate::time::charge_bytes(raft_state.len() + snapshot.as_ref().map_or(0, Vec::len));
        let raft_state = Arc::new(raft_state);
        let snapshot = Arc::new(snapshot.unwrap_or_default());
        let mut s = self.inner.lock();
        s.raft_state = raft_state;
        s.snapshot = snapshot;
    }

    /// A copy of the last saved Raft state (empty if nothing was saved).
    pub fn read_raft_state(&self) -> Vec<u8> {
        let state = Arc::clone(&self.inner.lock().raft_state);
        state.as_ref().clone()
    }

    /// The size in bytes of the last saved Raft state.
    pub fn raft_state_size(&self) -> usize {
        self.inner.lock().raft_state.len()
    }

    /// A copy of the last saved snapshot (empty if none was saved).
    pub fn read_snapshot(&self) -> Vec<u8> {
        let snapshot = Arc::clone(&self.inner.lock().snapshot);
        snapshot.as_ref().clone()
    }

    /// The size in bytes of the last saved snapshot.
    pub fn snapshot_size(&self) -> usize {
        self.inner.lock().snapshot.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_persister_is_empty() {
        let p = Persister::new();
        assert!(p.read_raft_state().is_empty());
        assert!(p.read_snapshot().is_empty());
        assert_eq!(p.raft_state_size(), 0);
        assert_eq!(p.snapshot_size(), 0);
    }

    #[test]
    fn save_replaces_both() {
        let p = Persister::new();
        p.save(vec![1, 2, 3], Some(vec![9; 10]));
        assert_eq!(p.read_raft_state(), vec![1, 2, 3]);
        assert_eq!(p.read_snapshot(), vec![9; 10]);
        assert_eq!(p.raft_state_size(), 3);
        assert_eq!(p.snapshot_size(), 10);
        // 6.5840: saving without a snapshot wipes it.
        p.save(vec![4], None);
        assert_eq!(p.read_raft_state(), vec![4]);
        assert_eq!(p.snapshot_size(), 0);
    }

    #[test]
    fn clones_share_storage() {
        let p = Persister::new();
        let q = p.clone();
        q.save(vec![7], Some(vec![8]));
        assert_eq!(p.read_raft_state(), vec![7]);
        assert_eq!(p.read_snapshot(), vec![8]);
    }

    #[test]
    fn copy_is_independent() {
        let old = Persister::new();
        old.save(vec![1], Some(vec![2]));
        let restarted = old.copy();
        assert_eq!(restarted.read_raft_state(), vec![1]);
        assert_eq!(restarted.read_snapshot(), vec![2]);
        // A zombie writing to the old handle is never seen by the copy...
        old.save(vec![66], Some(vec![66]));
        assert_eq!(restarted.read_raft_state(), vec![1]);
        assert_eq!(restarted.read_snapshot(), vec![2]);
        // ...and the copy's writes are not seen by the old one.
        restarted.save(vec![3], None);
        assert_eq!(old.read_raft_state(), vec![66]);
    }

    #[test]
    fn reads_are_copies() {
        let p = Persister::new();
        p.save(vec![1, 2], None);
        let mut r = p.read_raft_state();
        r[0] = 100;
        assert_eq!(p.read_raft_state(), vec![1, 2]);
    }
}
