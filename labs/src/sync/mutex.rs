//! A mutual-exclusion lock without poisoning.

use crate::context::{with_sim, yield_point};
use std::ops::{Deref, DerefMut};
use std::panic::Location;

/// A mutual-exclusion lock (like `parking_lot::Mutex`: no poisoning).
///
/// Under sim, `lock` and unlocking are scheduling points, and a thread that finds the lock taken
/// waits in the scheduler rather than in the OS.
#[derive(Default)]
pub struct Mutex<T: ?Sized> {
    inner: parking_lot::Mutex<T>,
}

/// Holds a [`Mutex`] locked; unlocks on drop.
pub struct MutexGuard<'a, T: ?Sized> {
    pub(crate) mutex: &'a Mutex<T>,
    /// `None` only while a condvar wait has released the lock.
    pub(crate) inner: Option<parking_lot::MutexGuard<'a, T>>,
}

impl<T> Mutex<T> {
    /// A new unlocked mutex holding `value`.
    pub const fn new(value: T) -> Mutex<T> {
        Mutex { inner: parking_lot::Mutex::new(value) }
    }
    /// Consumes the mutex and returns its value.
    pub fn into_inner(self) -> T {
        self.inner.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Locks the mutex, waiting until it is free.
    #[track_caller]
    pub fn lock(&self) -> MutexGuard<'_, T> {
        MutexGuard { mutex: self, inner: Some(self.raw_lock(Location::caller())) }
    }

    /// Locks the inner lock; `at` is the lab code's call site, for deadlock reports.
    pub(crate) fn raw_lock(&self, at: &'static Location<'static>) -> parking_lot::MutexGuard<'_, T> {
        let r = with_sim(|s| {
            s.yield_now();
            loop {
                if let Some(g) = self.inner.try_lock() {
                    return g;
                }
                if s.block(&[super::key_of(self)], None, "Mutex::lock", at) == crate::sim::Wake::Killed {
                    // Only an unwinding thread gets here; it cannot switch, so wait in the OS
                    // (the spin detector reports it if the holder never runs again).
                    return self.inner.lock();
                }
            }
        });
        match r {
            Some(g) => g,
            None => self.inner.lock(),
        }
    }

    /// Locks the mutex if it is free.
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        yield_point();
        self.inner.try_lock().map(|g| MutexGuard { mutex: self, inner: Some(g) })
    }

    /// A mutable reference to the value, through exclusive access to the mutex.
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.get_mut()
    }

    pub(crate) fn after_unlock(&self) {
        with_sim(|s| {
            s.notify(super::key_of(self), true);
            s.yield_now();
        });
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        if self.inner.take().is_some() {
            self.mutex.after_unlock();
        }
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.inner.as_deref().expect("guard is locked")
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.inner.as_deref_mut().expect("guard is locked")
    }
}

impl<T: ?Sized + std::fmt::Debug> std::fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.inner.try_lock() {
            Some(g) => f.debug_struct("Mutex").field("data", &&*g).finish(),
            None => f.write_str("Mutex { <locked> }"),
        }
    }
}
