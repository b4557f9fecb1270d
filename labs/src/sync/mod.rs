//! Locks, condition variables and channels that work under both backends.
//!
//! Under real they are `parking_lot` and `crossbeam-channel`. Under sim the same storage is used
//! but a thread never blocks in the OS: it tries the operation, and if it cannot proceed it asks
//! the scheduler to park it until the object is notified, so another simulated thread can run.

mod channel;
mod condvar;
mod mutex;

pub use channel::{
    Receiver, RecvError, RecvTimeoutError, Select, SendError, Sender, TryRecvError, bounded, unbounded,
};
pub use condvar::{Condvar, WaitTimeoutResult};
pub use mutex::{Mutex, MutexGuard};
pub use std::sync::atomic;
pub use std::sync::{Arc, Weak as WeakArc};

/// The key under which a sim thread waits for an object: its address.
pub(crate) fn key_of<T: ?Sized>(x: &T) -> usize {
    x as *const T as *const u8 as usize
}
