//! Servers, services and the handler threads that run them.

use crate::CallError;
use crate::network::{Network, Reply};
use crate::tap::{Arrived, Handled, TapFn};
use labs::Node;
use labs::sync::{Arc, Mutex, Receiver, Sender, unbounded};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

type Handler = Arc<dyn Fn(&[u8]) -> Result<Vec<u8>, CallError> + Send + Sync>;

/// A named set of typed handlers, e.g. the `Raft` service with `RequestVote` and
/// `AppendEntries`.
#[derive(Clone)]
pub struct Service {
    name: String,
    methods: BTreeMap<String, Handler>,
}

impl Service {
    /// An empty service called `name`.
    pub fn new(name: impl Into<String>) -> Service {
        Service { name: name.into(), methods: BTreeMap::new() }
    }

    /// The service's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Adds the handler for `method`: it takes the decoded arguments and returns the reply.
    pub fn handler<A, R, F>(mut self, method: impl Into<String>, f: F) -> Service
    where
        A: DeserializeOwned,
        R: Serialize,
        F: Fn(A) -> R + Send + Sync + 'static,
    {
        let method = method.into();
        let full = format!("{}.{}", self.name, method);
        let h: Handler = Arc::new(move |bytes: &[u8]| {
            let args: A = postcard::from_bytes(bytes).map_err(|e| CallError::BadArgs {
                method: full.clone(),
                expected: std::any::type_name::<A>().to_string(),
                detail: e.to_string(),
            })?;
            let reply = f(args);
            postcard::to_allocvec(&reply)
                .map_err(|e| CallError::Encode { method: full.clone(), detail: e.to_string() })
        });
        self.methods.insert(method, h);
        self
    }
}

pub(crate) struct Job {
    pub(crate) method: String,
    pub(crate) args: Arc<[u8]>,
    pub(crate) reply: ReplyTo,
    pub(crate) tap: Option<JobTap>,
}

/// What a handler thread needs to report a job to the network's tap.
pub(crate) struct JobTap {
    pub(crate) tap: TapFn,
    pub(crate) net: Network,
    pub(crate) call: u64,
    pub(crate) caller: Arc<str>,
    pub(crate) server: Arc<str>,
    pub(crate) duplicate: bool,
}

/// Where a handler's result goes. Dropped unsent (its handler thread was killed), it tells the
/// caller the server is dead, so that a call always returns.
pub(crate) struct ReplyTo(pub(crate) Option<Sender<Reply>>);

impl ReplyTo {
    fn send(mut self, d: Reply) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(d);
        }
    }
}

impl Drop for ReplyTo {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(Reply::Dead);
        }
    }
}

struct Shared {
    node: Node,
    services: Mutex<BTreeMap<String, Service>>,
    panics: Mutex<Vec<String>>,
}

struct Inner {
    shared: Arc<Shared>,
    count: AtomicU64,
    idle: Mutex<usize>,
    jobs: Sender<Job>,
    queue: Receiver<Job>,
}

/// A server: services reachable under one name on the network, whose handlers run on threads
/// of the server's node.
#[derive(Clone)]
pub struct Server {
    inner: Arc<Inner>,
}

impl Server {
    /// A server whose handler threads belong to `node` (killing the node kills them).
    pub fn new(node: &Node) -> Server {
        let (jobs, queue) = unbounded();
        Server {
            inner: Arc::new(Inner {
                shared: Arc::new(Shared {
                    node: node.clone(),
                    services: Mutex::new(BTreeMap::new()),
                    panics: Mutex::new(Vec::new()),
                }),
                count: AtomicU64::new(0),
                idle: Mutex::new(0),
                jobs,
                queue,
            }),
        }
    }

    /// Adds (or replaces) a service.
    pub fn add_service(&self, service: Service) {
        self.inner.shared.services.lock().insert(service.name.clone(), service);
    }

    /// The number of requests that reached this server's handlers.
    pub fn count(&self) -> u64 {
        self.inner.count.load(Ordering::Relaxed)
    }

    /// Panics caught in this server's handlers, as messages.
    pub fn panics(&self) -> Vec<String> {
        self.inner.shared.panics.lock().clone()
    }

    pub(crate) fn node_name(&self) -> String {
        self.inner.shared.node.name().to_string()
    }

    pub(crate) fn same(&self, other: &Server) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// Hands a request to a handler thread, starting one if none is idle.
    pub(crate) fn dispatch(&self, job: Job) {
        if self.inner.shared.node.is_killed() {
            return job.reply.send(Reply::Dead);
        }
        self.inner.count.fetch_add(1, Ordering::Relaxed);
        let spawn = {
            let mut idle = self.inner.idle.lock();
            if *idle == 0 {
                true
            } else {
                *idle -= 1;
                false
            }
        };
        if spawn {
            let shared = self.inner.shared.clone();
            let queue = self.inner.queue.clone();
            let server = Arc::downgrade(&self.inner);
            self.inner.shared.node.spawn("rpc-handler", move || worker(shared, queue, server));
        }
        let _ = self.inner.jobs.send(job);
    }
}

fn worker(shared: Arc<Shared>, queue: Receiver<Job>, server: labs::sync::WeakArc<Inner>) {
    while let Ok(job) = queue.recv() {
        let node: Arc<str> = Arc::from(shared.node.name());
        let method: Arc<str> = Arc::from(job.method.as_str());
        let start = job.tap.as_ref().map(|t| {
            t.net.report_arrived(&t.tap, |at| Arrived {
                call: t.call,
                caller: t.caller.clone(),
                server: t.server.clone(),
                node: node.clone(),
                method: method.clone(),
                args: job.args.clone(),
                at,
                duplicate: t.duplicate,
            })
        });
        let result = run(&shared, &job.method, &job.args);
        if let (Some(t), Some(start)) = (&job.tap, start) {
            let live = t.net.is_current(&t.server, &node);
            t.net.report_handled(&t.tap, |end| Handled {
                call: t.call,
                caller: t.caller.clone(),
                server: t.server.clone(),
                node,
                method,
                args: job.args.clone(),
                reply: result.as_ref().ok().map(|r| Arc::from(&r[..])),
                start,
                end,
                live,
                duplicate: t.duplicate,
            });
        }
        job.reply.send(Reply::Reply(result));
        match server.upgrade() {
            Some(s) => *s.idle.lock() += 1,
            None => return,
        }
    }
}

fn run(shared: &Shared, method: &str, args: &[u8]) -> Result<Vec<u8>, CallError> {
    let server = shared.node.name().to_string();
    let Some((svc, m)) = method.rsplit_once('.') else {
        return Err(CallError::BadMethodName(method.to_string()));
    };
    let handler = {
        let services = shared.services.lock();
        let Some(service) = services.get(svc) else {
            return Err(CallError::UnknownService {
                server,
                service: svc.to_string(),
                available: services.keys().cloned().collect::<Vec<_>>().join(", "),
            });
        };
        match service.methods.get(m) {
            Some(h) => h.clone(),
            None => {
                return Err(CallError::UnknownMethod {
                    server,
                    service: svc.to_string(),
                    method: m.to_string(),
                    available: service.methods.keys().cloned().collect::<Vec<_>>().join(", "),
                });
            }
        }
    };
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handler(args))) {
        Ok(r) => r,
        Err(p) if labs::world::is_kill_signal(&*p) => std::panic::resume_unwind(p),
        Err(p) => {
            let message = labs::world::panic_message(&*p);
            shared.panics.lock().push(format!("server '{server}' panicked in {method}: {message}"));
            Err(CallError::HandlerPanicked { server, method: method.to_string(), message })
        }
    }
}
