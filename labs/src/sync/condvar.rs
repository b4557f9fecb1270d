//! A condition variable paired with [`super::Mutex`].

use super::{MutexGuard, key_of};
use crate::time::{Duration, sim_deadline};
use crate::world::with_sim;

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
    pub fn wait<T: ?Sized>(&self, guard: &mut MutexGuard<'_, T>) {
        self.wait_inner(guard, None);
    }

    /// Like [`Condvar::wait`], but gives up after `timeout` (virtual under sim).
    pub fn wait_for<T: ?Sized>(&self, guard: &mut MutexGuard<'_, T>, timeout: Duration) -> WaitTimeoutResult {
        self.wait_inner(guard, Some(timeout))
    }

    fn wait_inner<T: ?Sized>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        timeout: Option<Duration>,
    ) -> WaitTimeoutResult {
        let sim = with_sim(|s, me| {
            // Unlock: drop the inner guard, wake lock waiters, then wait on the condvar.
            drop(guard.inner.take());
            s.notify(key_of(guard.mutex), true);
            let deadline = timeout.map(|d| sim_deadline(s, d));
            let wake = s.block(me, &[key_of(self)], deadline, "Condvar::wait");
            wake == crate::sim::Wake::Timeout
        });
        match sim {
            Some(timed_out) => {
                guard.inner = Some(guard.mutex.raw_lock());
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
        if with_sim(|s, me| {
            s.notify(key_of(self), false);
            s.yield_now(me);
        })
        .is_none()
        {
            self.inner.notify_one();
        }
    }

    /// Wakes every waiting thread.
    pub fn notify_all(&self) {
        if with_sim(|s, me| {
            s.notify(key_of(self), true);
            s.yield_now(me);
        })
        .is_none()
        {
            self.inner.notify_all();
        }
    }
}
