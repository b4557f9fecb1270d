//! The distlab lab runtime.
//!
//! Lab code (the network, the reference solutions, the testers and the suites) takes its
//! threads, locks, channels, clock and randomness from this crate and never from `std`,
//! `parking_lot`, `crossbeam` or `rand` directly. That single seam is what lets one test run on
//! two backends without any caller changing:
//!
//! * **real**: OS threads, `parking_lot` locks, `crossbeam-channel` channels and the wall clock;
//! * **sim** (the default for tests): a deterministic simulation in which one seed fixes every
//!   scheduling choice, network fault and random number, and the clock is virtual.
//!
//! A test runs inside a [`world::World`], usually through the [`lab_test!`] macro, which reads
//! `LAB_SEED`, `LAB_SEEDS`, `LAB_RUNTIME` and `LAB_CHECK_DETERMINISM` and prints the replay command
//! of any failure.
//!
//! # Layers
//!
//! Each module imports only modules of the layers below its own, so the runtime has no import
//! circle:
//!
//! 1. `failure`, `node`, `os`: leaf types and the few questions asked of the OS;
//! 2. `sim`: the deterministic scheduler and executor, which knows nothing of worlds;
//! 3. `context`: which world (and, under real, which node) the calling code runs in; all of
//!    the runtime above calls into it;
//! 4. [`time`], [`rand`], [`sync`], [`thread`], [`events`], then [`logging`], [`persister`]
//!    and [`fs`] (whose store, a leaf type, the context holds for each world);
//! 5. [`world`] (worlds, nodes' actions, [`world::Builder::run`]) and [`harness`] (seeds,
//!    replay commands and reports for a test).

mod context;
pub mod events;
mod failure;
pub mod fs;
pub mod harness;
pub mod logging;
mod node;
mod os;
pub mod persister;
pub mod rand;
mod sim;
pub mod sync;
pub mod thread;
pub mod time;
pub mod world;

pub use persister::Persister;
pub use world::{Node, World};
