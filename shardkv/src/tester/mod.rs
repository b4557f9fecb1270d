//! The testers of the suites in `shardkv/tests/`:
//!
//! * [`cluster`]: replicated servers on labs nodes (start, shutdown, restart);
//! * [`ctrler`]: the controller tester (spec section 5.2) and its checks;
//! * [`kv`]: the shard group tester (spec section 5.4).

pub mod cluster;
pub mod ctrler;
pub mod kv;

/// `n` random letters and digits (6.5840's `randstring`).
pub fn random_string(n: usize) -> String {
    raft::tester::random_string(n)
}
