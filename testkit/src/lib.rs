//! The test kit: what every lab's tester is built from.
//!
//! * [`history`]: a recorder of client operations on the world's clock, checked by the
//!   `linearizability` crate.
//!
//! The runtime (`labs`) runs one test body in a world over seeds; the test kit is the layer a
//! lab's tester stands on.

pub mod history;
