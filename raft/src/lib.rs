//! Lab 3: Raft.
//!
//! * [`raft`]: the Raft peer students write ([`Raft`], [`ApplyMsg`]): leader election (3A),
//!   log replication (3B), persistence (3C) and snapshots (3D).
//! * [`tester`]: the cluster harness the suites in `raft/tests/` use (6.5840's `config.go`).
//!
//! Run a part with `cargo test -p raft 3a` (or `make lab3a`); add `LAB_SEED=N` to replay a
//! seed, `LAB_SEEDS=K` to try K seeds, and `LAB_RUNTIME=real` to run on OS threads and the wall
//! clock.

#![warn(missing_docs)]

pub mod raft;
pub mod tester;

pub use raft::{ApplyMsg, NotLeader, Raft};
