//! A server that keeps every value a key ever had (a history of versions) rather than only the
//! current one. Breaks "the server's state does not grow with clients or puts".

use super::{MapServer, reference_clerk, reference_lock, service};
use kvsrv::{KvClerk, KvError};
use kvsrv_tests::{KvImpl, LockHandle};
use labrpc::{ClientEnd, Service};
use labs::sync::{Arc, Mutex};
use std::collections::BTreeMap;

/// Every version of every key.
pub struct KeepsOldValues;

/// Key -> its values, oldest first (the version is the count).
type Kv = BTreeMap<String, Vec<String>>;

impl KvImpl for KeepsOldValues {
    type Server = MapServer<Kv>;
    fn make_server() -> Self::Server {
        MapServer { state: Mutex::new(Kv::new()) }
    }
    fn service(server: &Arc<Self::Server>) -> Service {
        let (a, b) = (server.clone(), server.clone());
        service(
            move |args| {
                let kv = a.state.lock();
                match kv.get(&args.key) {
                    Some(values) => Ok((values.last().cloned().unwrap_or_default(), values.len() as u64)),
                    None => Err(KvError::NoKey),
                }
            },
            move |args| {
                let mut kv = b.state.lock();
                match kv.get_mut(&args.key) {
                    Some(values) if values.len() as u64 == args.version => {
                        values.push(args.value);
                        Ok(())
                    }
                    Some(_) => Err(KvError::Version),
                    None if args.version == 0 => {
                        kv.insert(args.key, vec![args.value]);
                        Ok(())
                    }
                    None => Err(KvError::NoKey),
                }
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
