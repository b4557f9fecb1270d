//! Seeded randomness, one stream per world.
//!
//! Under sim every draw comes from the world's seeded generator and is a scheduling point, so a
//! seed replays every random choice. Under real the world's generator sits behind a lock. Code
//! outside any world gets a generator seeded from a process-wide counter.

use crate::context::with_ctx;
pub use rand::Rng;
use rand::SeedableRng;
use rand::distr::uniform::{SampleRange, SampleUniform};
use rand::distr::{Distribution, StandardUniform};
use rand::rngs::SmallRng;
use std::cell::RefCell;

thread_local! {
    static OUTSIDE: RefCell<SmallRng> = RefCell::new(SmallRng::seed_from_u64(outside_seed()));
}

fn outside_seed() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0x5eed);
    NEXT.fetch_add(0x9e37_79b9, Ordering::Relaxed)
}

/// Runs `f` with the world's random generator.
pub fn with_rng<R>(f: impl FnOnce(&mut SmallRng) -> R) -> R {
    let mut f = Some(f);
    let r = with_ctx(|c| {
        c.map(|ctx| match &ctx.world.sim {
            Some(sim) => sim.with_rng(|rng| (f.take().unwrap())(rng)),
            None => (f.take().unwrap())(&mut ctx.world.real_rng.lock()),
        })
    });
    match r {
        Some(r) => r,
        None => OUTSIDE.with(|rng| (f.take().unwrap())(&mut rng.borrow_mut())),
    }
}

/// A random value of type `T`.
pub fn random<T>() -> T
where
    StandardUniform: Distribution<T>,
{
    with_rng(Rng::random)
}

/// A random value in `range`, e.g. `gen_range(150..300)`. Panics on an empty range.
pub fn gen_range<T: SampleUniform, R: SampleRange<T>>(range: R) -> T {
    with_rng(|r| r.random_range(range))
}

/// True with probability `p`.
pub fn gen_bool(p: f64) -> bool {
    with_rng(|r| r.random_bool(p))
}

/// Shuffles `items` in place.
pub fn shuffle<T>(items: &mut [T]) {
    use rand::seq::SliceRandom;
    with_rng(|r| items.shuffle(r));
}
