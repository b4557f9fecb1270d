//! Lab 4: a fault-tolerant key/value service on Raft.
//!
//! * [`rsm`]: a replicated state machine layer that any service can sit on: a service
//!   implements [`rsm::StateMachine`] (apply an operation, snapshot, restore), and
//!   [`rsm::Rsm::submit`] runs an operation through the Raft log and returns its result, or
//!   says that this server is not (or no longer) the leader. The rsm takes snapshots when the
//!   Raft state grows near `maxraftstate`. The shard controller and the shard groups of Lab 5
//!   reuse it.
//! * [`server`]: the KV server ([`server::KvServer`]): `Get`, `Put` and `Append` RPCs, each
//!   executed exactly once through the log, with duplicate detection by client id and
//!   sequence number.
//! * [`client`]: the clerk ([`client::Clerk`]) that finds the leader and retries until its
//!   operation is done.
//! * [`common`]: the RPC argument and reply types.
//!
//! This crate is the student's; the tester (6.5840's `config.go`, `GenericTest` and the rsm
//! tester, with every history checked for linearizability) and the suites live in the
//! `kvraft-tests` crate. Run a part with `cargo test -p kvraft-tests --test rsm`,
//! `--test lab4a` or `--test lab4b` (or `make lab4a`, `make lab4b`); add `LAB_SEED=N` to replay
//! a seed, `LAB_SEEDS=K` to try K seeds, and `LAB_RUNTIME=real` to run on OS threads and the
//! wall clock.

#![forbid(unsafe_code)]

pub mod client;
pub mod common;
pub mod rsm;
pub mod server;

pub use client::Clerk;
pub use rsm::{Rsm, StateMachine, SubmitError};
pub use server::KvServer;
