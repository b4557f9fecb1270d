//! A condition variable paired with [`super::Mutex`].

use super::{MutexGuard, key_of};
use crate::context::with_sim;
use crate::time::{Duration, sim_deadline};
use std::panic::Location;

/// Whether a timed wait returned because its time ran out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitTimeoutResult(bool);

impl WaitTimeoutResult {
    /// True if the wait timed out.
    pub fn timed_out(&self) -> bool {
        self.0
    }
}

/// A condition variable. Waits may wake spuriously; wait in a loop on the condition.
#[derive(Default)]
pub struct Condvar {
    inner: parking_lot::Condvar,
}

impl Condvar {
    /// A new condition variable.
    pub const fn new() -> Condvar {
        Condvar { inner: parking_lot::Condvar::new() }
    }

    /// Unlocks `guard`'s mutex, waits for a notification, and locks it again.
    #[track_caller]
    pub fn wait<T: ?Sized>(&self, guard: &mut MutexGuard<'_, T>) {
        self.wait_inner(guard, None, Location::caller());
    }

    /// Like [`Condvar::wait`], but gives up after `timeout` (virtual under sim).
    #[track_caller]
    pub fn wait_for<T: ?Sized>(&self, guard: &mut MutexGuard<'_, T>, timeout: Duration) -> WaitTimeoutResult {
        self.wait_inner(guard, Some(timeout), Location::caller())
    }

    fn wait_inner<T: ?Sized>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        timeout: Option<Duration>,
        at: &'static Location<'static>,
    ) -> WaitTimeoutResult {
        let sim = with_sim(|s| {
            // Unlock: drop the inner guard, wake lock waiters, then wait on the condvar.
            drop(guard.inner.take());
            s.notify(key_of(guard.mutex), true);
            let deadline = timeout.map(|d| sim_deadline(s, d));
            let wake = s.block(&[key_of(self)], deadline, "Condvar::wait", at);
            wake == crate::sim::Wake::Timeout
        });
        match sim {
            Some(timed_out) => {
                guard.inner = Some(guard.mutex.raw_lock(at));
                WaitTimeoutResult(timed_out)
            }
            None => match timeout {
                None => {
                    self.inner.wait(guard.inner.as_mut().expect("guard is locked"));
                    WaitTimeoutResult(false)
                }
                Some(d) => WaitTimeoutResult(
                    self.inner.wait_for(guard.inner.as_mut().expect("guard is locked"), d).timed_out(),
                ),
            },
        }
    }

    /// Wakes one waiting thread.
    pub fn notify_one(&self) {
        if with_sim(|s| {
            s.notify(key_of(self), false);
            s.yield_now();
        })
        .is_none()
        {
            self.inner.notify_one();
        }
    }

    /// Wakes every waiting thread.
    pub fn notify_all(&self) {
        if with_sim(|s| {
            s.notify(key_of(self), true);
            s.yield_now();
        })
        .is_none()
        {
            self.inner.notify_all();
        }
    }
}
