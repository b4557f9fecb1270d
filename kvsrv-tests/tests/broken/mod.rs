//! Deliberately broken Lab 2 implementations, for the tester's own tests
//! (`tester_robustness.rs`). Each has one bug a student might write, breaking one rule of the
//! handout's table, and the tester must fail the rule's test with a message that names the
//! rule, under the default grade seeds.
//!
//! Each reuses the reference for everything but its bug.

pub mod keeps_old_values;
pub mod maybe_as_failure;
pub mod no_version_check;
pub mod releases_unheld;
pub mod version_on_retry;

use kvsrv::KvClerk;
use kvsrv_tests::{KvImpl, LockHandle, Reference};
use labrpc::{ClientEnd, Service};
use labs::sync::{Arc, Mutex};
use std::collections::BTreeMap;

/// A server whose `Put` is `put`: a map from keys to (value, version) behind a lock, with the
/// reference's `Get`.
pub struct MapServer<S> {
    /// The state, encoded for the memory test.
    pub state: Mutex<S>,
}

/// The `Get` of a (value, version) map.
pub fn get(kv: &BTreeMap<String, (String, u64)>, key: &str) -> kvsrv::rpc::GetReply {
    kv.get(key).cloned().ok_or(kvsrv::KvError::NoKey)
}

/// The reference's clerk.
pub fn reference_clerk(end: ClientEnd) -> Arc<dyn KvClerk> {
    <Reference as KvImpl>::make_clerk(end)
}

/// The reference's lock.
pub fn reference_lock(ck: Arc<dyn KvClerk>, name: &str) -> Box<dyn LockHandle> {
    <Reference as KvImpl>::make_lock(ck, name)
}

/// The reference's server.
pub type RefServer = <Reference as KvImpl>::Server;

/// The labrpc service of a server with these handlers.
pub fn service(
    get: impl Fn(kvsrv::rpc::GetArgs) -> kvsrv::rpc::GetReply + Send + Sync + 'static,
    put: impl Fn(kvsrv::rpc::PutArgs) -> kvsrv::rpc::PutReply + Send + Sync + 'static,
) -> Service {
    Service::new(kvsrv::rpc::SERVICE).handler("Get", get).handler("Put", put)
}
