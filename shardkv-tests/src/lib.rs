//! Lab 5's testers, on the test kit's [`testkit::Frame`] and [`testkit::Group`]:
//!
//! * [`ctrler`]: the controller tester (6.5840's `shardctrler/config.go`) and its checks;
//! * [`kv`]: the shard group tester (6.5840's `shardkv/config.go`).
//!
//! The suites are in `shardkv-tests/tests/`: `ctrler.rs`, `lab5a.rs`, `lab5b.rs` and
//! `lab5c.rs` (the challenges). Run one with `cargo test -p shardkv-tests --test lab5a` (or
//! `make lab5a`, `make lab5b`, `make lab5c`).

pub mod ctrler;
pub mod kv;

pub use testkit::{TEST_TIME_LIMIT, random_string};

use shardkv::ctrler::ShardCtrler;
use testkit::{Spec, Start, Wiring};

/// The group spec of shard controller servers (6.5840's shardkv wiring: a started server's
/// ends are enabled at once).
pub fn ctrler_spec() -> Spec<ShardCtrler> {
    Spec {
        make: Box::new(|s: Start<'_>| ShardCtrler::new(s.peers, s.me, s.persister)),
        services: |s: &ShardCtrler| vec![s.service(), s.raft().service()],
        kill: ShardCtrler::kill,
        leads: |s: &ShardCtrler| s.raft().state().1,
        wiring: Wiring::Auto,
    }
}
