//! Lab 3: Raft. This crate is the student's: [`Raft`] (in `src/raft.rs`), its RPC types and
//! [`ApplyMsg`]: leader election (3A), log replication (3B), persistence (3C) and snapshots
//! (3D). The tester and the suites live in the `raft-tests` crate.
//!
//! Run a part with `cargo test -p raft-tests --test lab3a` (or `make lab3a`); add `LAB_SEED=N`
//! to replay a seed, `LAB_SEEDS=K` to try K seeds, and `LAB_RUNTIME=real` to run on OS threads
//! and the wall clock.

#![forbid(unsafe_code)]

pub mod raft;

pub use raft::{ApplyMsg, NotLeader, Raft};
