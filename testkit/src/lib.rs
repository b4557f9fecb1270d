//! The test kit: what every lab's tester is built from, so that a new lab copies one pattern.
//!
//! * [`frame`]: one test's frame: the title and `Passed` lines, the 120 s limit, the watchdog
//!   for panicking handlers and stuck calls, failures found off the test's thread, and the
//!   cleanup policy.
//! * [`group`]: a replica group under test: servers on nodes, started, crashed, restarted,
//!   connected and partitioned, with 6.5840's wiring options.
//! * [`ends`]: client ends with fresh random names, made and switched as a set.
//! * [`history`]: a recorder of client operations on the world's clock, checked by the
//!   `linearizability` crate.
//!
//! The runtime (`labs`) runs one test body in a world over seeds; the network (`labrpc`)
//! carries its calls; a lab's tests crate (e.g. `raft-tests`) holds the lab's tester and
//! suites on top of this crate.

pub mod ends;
pub mod frame;
pub mod group;
pub mod history;
pub mod mutants;

pub use ends::{Ends, random_string};
pub use frame::{Frame, STUCK_CALL_LIMIT, Since, TEST_TIME_LIMIT, servers_in_words};
pub use group::{Group, Spec, Start, Wiring};
