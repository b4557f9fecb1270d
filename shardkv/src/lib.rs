//! Lab 5: a sharded key/value service (docs/lab5-shardkv.md; 6.5840's 2024 Lab 5).
//!
//! * [`ctrler`]: the shard controller: a Raft-replicated list of configurations (which
//!   replica group serves each of the [`NSHARDS`] shards), changed by `join`, `leave` and
//!   `move_shard`, read by `query`;
//! * [`server`]: a replica group's server ([`ShardKv`]): serves the shards its group owns,
//!   follows the configurations one at a time through its log, and moves shards (data and
//!   duplicate tables) between groups by RPC;
//! * [`client`]: the clerk ([`Clerk`]) with `get`, `put` and `append`;
//! * [`common`]: the RPC types and [`key2shard`].
//!
//! This crate is the student's; the testers and the suites (`ctrler`, `lab5a`, `lab5b` and
//! `lab5c`, the challenges) live in the `shardkv-tests` crate. Run a part with
//! `cargo test -p shardkv-tests --test lab5a` (or `make lab5a`, `make lab5b`, `make lab5c`);
//! add `LAB_SEED=N` to replay a seed, `LAB_SEEDS=K` to try K seeds, and `LAB_RUNTIME=real` to
//! run on OS threads and the wall clock.

// Student code may not use `unsafe`: the grader builds this file as it is here, whatever a
// submission holds, so this line binds every graded build (see grading/src/rules.rs).
#![forbid(unsafe_code)]

pub mod client;
pub mod common;
pub mod ctrler;
pub mod server;

pub use client::Clerk;
pub use common::key2shard;
pub use ctrler::{Config, NSHARDS};
pub use server::ShardKv;
