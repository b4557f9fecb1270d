//! The shard controller (docs/lab5-shardkv.md, 6.5840's `shardctrler`): a Raft-replicated list of
//! configurations that says which replica group serves each shard.
//!
//! * [`common`]: [`Config`], [`NSHARDS`], the RPC types, and [`rebalance`];
//! * [`server`]: [`ShardCtrler`], the replicated service on [`kvraft::rsm`];
//! * [`client`]: [`Clerk`] with `join`, `leave`, `move_shard` and `query`.

pub mod client;
pub mod common;
pub mod server;

pub use client::Clerk;
pub use common::{Config, CtrlerError, Gid, NSHARDS, rebalance};
pub use server::ShardCtrler;
