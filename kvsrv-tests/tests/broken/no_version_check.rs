//! A server whose `Put` ignores the version: it always installs the value and bumps the
//! version. Breaks "a Put applies only at the key's version".

use super::{MapServer, get, reference_clerk, reference_lock, service};
use kvsrv::KvClerk;
use kvsrv_tests::{KvImpl, LockHandle};
use labrpc::{ClientEnd, Service};
use labs::sync::{Arc, Mutex};
use std::collections::BTreeMap;

/// No version check.
pub struct NoVersionCheck;

type Kv = BTreeMap<String, (String, u64)>;

impl KvImpl for NoVersionCheck {
    type Server = MapServer<Kv>;
    fn make_server() -> Self::Server {
        MapServer { state: Mutex::new(Kv::new()) }
    }
    fn service(server: &Arc<Self::Server>) -> Service {
        let (a, b) = (server.clone(), server.clone());
        service(
            move |args| get(&a.state.lock(), &args.key),
            move |args| {
                let mut kv = b.state.lock();
                let e = kv.entry(args.key).or_insert((String::new(), 0));
                e.0 = args.value;
                e.1 += 1;
                Ok(())
            },
        )
    }
    fn state_size(server: &Self::Server) -> usize {
        postcard::to_allocvec(&*server.state.lock()).map_or(usize::MAX, |b| b.len())
    }
    fn make_clerk(end: ClientEnd) -> Arc<dyn KvClerk> {
        reference_clerk(end)
    }
    fn make_lock(ck: Arc<dyn KvClerk>, name: &str) -> Box<dyn LockHandle> {
        reference_lock(ck, name)
    }
}
