//! The clock: virtual under sim, the wall clock under real.
//!
//! [`Instant`] is a point on the world's clock, in nanoseconds since its epoch. Under sim it
//! reads virtual time, which moves only when no thread can run (and by a tiny cost per runtime
//! call), so a test that sleeps for minutes finishes in milliseconds.

pub use std::time::Duration;

use crate::context::with_sim;
use std::panic::Location;
use std::sync::OnceLock;

fn real_epoch() -> std::time::Instant {
    static EPOCH: OnceLock<std::time::Instant> = OnceLock::new();
    *EPOCH.get_or_init(std::time::Instant::now)
}

/// A point in time on the calling thread's world clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(u64);

impl Instant {
    /// The current time (a runtime call under sim).
    pub fn now() -> Instant {
        match with_sim(|s| {
            s.yield_now();
            s.now()
        }) {
            Some(ns) => Instant(ns),
            None => Instant(real_epoch().elapsed().as_nanos() as u64),
        }
    }
    /// Nanoseconds since the world's epoch (virtual) or the process's first clock read (real).
    pub fn as_nanos(&self) -> u64 {
        self.0
    }
    /// Time elapsed since `self`.
    pub fn elapsed(&self) -> Duration {
        Instant::now().duration_since(*self)
    }
    /// Time from `earlier` to `self`, zero if `earlier` is later.
    pub fn duration_since(&self, earlier: Instant) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

impl std::ops::Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, d: Duration) -> Instant {
        Instant(self.0.saturating_add(d.as_nanos() as u64))
    }
}

impl std::ops::Sub<Duration> for Instant {
    type Output = Instant;
    fn sub(self, d: Duration) -> Instant {
        Instant(self.0.saturating_sub(d.as_nanos() as u64))
    }
}

impl std::ops::Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, other: Instant) -> Duration {
        self.duration_since(other)
    }
}

/// The virtual deadline `d` from now, for blocking calls under sim.
pub(crate) fn sim_deadline(sim: &crate::sim::Sim, d: Duration) -> u64 {
    sim.now().saturating_add(d.as_nanos().min(u64::MAX as u128) as u64)
}

/// Puts the calling thread to sleep for `d` (virtual under sim).
#[track_caller]
pub fn sleep(d: Duration) {
    let at = Location::caller();
    let simulated = with_sim(|s| {
        let deadline = sim_deadline(s, d);
        s.block(&[], Some(deadline), "sleep", at);
    });
    if simulated.is_none() {
        std::thread::sleep(d);
    }
}

/// Accounts for work on `n` bytes (copying, encoding, storing) that happens between runtime
/// calls. Under sim the virtual clock moves on by 1 ns per byte (1 GB/s), as it would while a
/// CPU did that work, so a program that persists or sends ever more bytes ever more often runs
/// out of virtual time instead of taking minutes of real time; under real it does nothing,
/// since the work takes its own time. The persister, the network and the file system call it.
pub fn charge_bytes(n: usize) {
    with_sim(|s| s.charge((n as u64).saturating_mul(crate::sim::BYTE_COST_NS)));
}

/// Real elapsed time, whatever the backend: for benchmarks that report wall-clock figures.
/// Lab logic must use [`Instant`] instead, or a seed no longer replays its run.
#[derive(Clone, Copy, Debug)]
pub struct Stopwatch(std::time::Instant);

impl Stopwatch {
    /// Starts measuring now.
    pub fn start() -> Stopwatch {
        Stopwatch(std::time::Instant::now())
    }
    /// Wall time since [`Stopwatch::start`].
    pub fn elapsed(&self) -> Duration {
        self.0.elapsed()
    }
}
