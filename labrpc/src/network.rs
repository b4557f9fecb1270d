//! The network: ends, servers, faults and counters (6.5840's `labrpc/labrpc.go`).

use crate::CallError;
use crate::server::{Job, JobTap, ReplyTo, Server};
use crate::tap::{Arrived, CallInfo, Fault, FilterFn, Handled, Returned, Stamp, Tap, TapFn};
use labs::events::{self, EventKind, RpcFate};
use labs::rand::gen_range;
use labs::sync::{Arc, Mutex, Sender, unbounded};
use labs::time::{Duration, sleep};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// With request delays on, a request waits 0 to this many ms before it reaches its server.
pub const REQUEST_DELAY_MS: u64 = 100;
/// With duplication on, this many requests in 1000 that reach their server reach it again.
pub const DUPLICATE_PER_MILLE: u64 = 100;
/// A duplicate arrives 0 to this many ms after the call was made.
pub const DUPLICATE_DELAY_MS: u64 = 300;

/// What a caller waiting on a handler receives.
pub(crate) enum Reply {
    /// The handler's result.
    Reply(Result<Vec<u8>, CallError>),
    /// The end was disabled or the server deleted or replaced while the call was in flight.
    Dead,
}

struct EndState {
    enabled: bool,
    server: Option<String>,
}

struct InFlight {
    end: String,
    server_name: String,
    server: Server,
    tx: Sender<Reply>,
}

#[derive(Default)]
struct State {
    reliable: bool,
    long_delays: bool,
    long_reordering: bool,
    request_delays: bool,
    duplication: bool,
    tap: Option<TapFn>,
    filter: Option<FilterFn>,
    cleaned: bool,
    ends: BTreeMap<String, EndState>,
    servers: BTreeMap<String, Option<Server>>,
    ever: Vec<Server>,
    in_flight: BTreeMap<u64, InFlight>,
    next_call: u64,
}

impl State {
    fn is_dead(&self, end: &str, server_name: &str, server: &Server) -> bool {
        let enabled = self.ends.get(end).is_some_and(|e| e.enabled);
        let same = matches!(self.servers.get(server_name), Some(Some(s)) if s.same(server));
        !enabled || !same
    }

    /// Fails every in-flight call whose end or server went away, at once.
    fn fail_dead_calls(&mut self) {
        let dead: Vec<u64> = self
            .in_flight
            .iter()
            .filter(|(_, c)| self.cleaned || self.is_dead(&c.end, &c.server_name, &c.server))
            .map(|(&id, _)| id)
            .collect();
        for id in dead {
            if let Some(c) = self.in_flight.remove(&id) {
                let _ = c.tx.send(Reply::Dead);
            }
        }
    }
}

pub(crate) struct Inner {
    state: Mutex<State>,
    total_count: AtomicU64,
    total_bytes: AtomicU64,
    /// The source of [`Stamp::seq`].
    seq: AtomicU64,
    /// Held while a report is stamped and handed to the tap, so that the tap sees reports
    /// in the order of their stamps.
    tap_order: Mutex<()>,
}

/// The simulated network. Cloning gives another handle to the same network.
#[derive(Clone)]
pub struct Network {
    inner: Arc<Inner>,
}

impl Default for Network {
    fn default() -> Self {
        Network::new()
    }
}

/// One side of a connection: a client's handle for calling one server.
#[derive(Clone)]
pub struct ClientEnd {
    name: Arc<str>,
    net: Network,
}

impl Network {
    /// A new network: reliable, no long delays, no long reordering, no ends, no servers.
    pub fn new() -> Network {
        let inner = Arc::new(Inner {
            state: Mutex::new(State { reliable: true, ..State::default() }),
            total_count: AtomicU64::new(0),
            total_bytes: AtomicU64::new(0),
            seq: AtomicU64::new(0),
            tap_order: Mutex::new(()),
        });
        // Servers' handlers hold ends to this network: a cycle. When the world ends, let go of
        // the servers (and of the tap and filter, which may hold the tester's state), so that a
        // process running many seeds frees each world's state.
        if let Some(world) = labs::world::try_current() {
            let weak = Arc::downgrade(&inner);
            world.at_end(move || {
                if let Some(inner) = weak.upgrade()
                    && let Some(mut st) = inner.state.try_lock()
                {
                    st.servers.clear();
                    st.ever.clear();
                    st.ends.clear();
                    st.tap = None;
                    st.filter = None;
                }
            });
        }
        Network { inner }
    }

    /// Reliable (no delays, no drops) or unreliable (0-26 ms delays, 10% of requests and 10% of
    /// replies dropped).
    pub fn set_reliable(&self, yes: bool) {
        self.inner.state.lock().reliable = yes;
    }
    /// Whether the network is reliable.
    pub fn is_reliable(&self) -> bool {
        self.inner.state.lock().reliable
    }
    /// With long delays, a call that cannot be delivered fails after 0-6999 ms instead of 0-99.
    pub fn set_long_delays(&self, yes: bool) {
        self.inner.state.lock().long_delays = yes;
    }
    /// Whether long delays are on.
    pub fn is_long_delays(&self) -> bool {
        self.inner.state.lock().long_delays
    }
    /// With long reordering, 2/3 of replies are delayed by 200-2200 ms.
    pub fn set_long_reordering(&self, yes: bool) {
        self.inner.state.lock().long_reordering = yes;
    }

    /// Beyond 6.5840: with request delays, every request waits a random 0 to
    /// [`REQUEST_DELAY_MS`] ms before it reaches its server, so that a later request from the
    /// same caller often overtakes an earlier one (6.5840 delays only replies for long).
    pub fn set_request_delays(&self, yes: bool) {
        self.inner.state.lock().request_delays = yes;
    }

    /// Beyond 6.5840: with duplication, [`DUPLICATE_PER_MILLE`] in 1000 requests that reach
    /// their server are delivered to it a second time, 0 to [`DUPLICATE_DELAY_MS`] ms after
    /// the call was made (if the end and the server are still there). The handler runs again;
    /// its second reply goes nowhere. Handlers must tolerate stale and repeated requests.
    pub fn set_duplication(&self, yes: bool) {
        self.inner.state.lock().duplication = yes;
    }

    /// Installs (or removes) the tap: it is told of every handled request and every returned
    /// call (see [`crate::tap`]).
    pub fn set_tap(&self, tap: Option<TapFn>) {
        self.inner.state.lock().tap = tap;
    }

    /// Installs (or removes) the filter: it decides, for each call as it is made, whether to
    /// lose its request or its reply on purpose (see [`crate::tap`]).
    pub fn set_filter(&self, filter: Option<FilterFn>) {
        self.inner.state.lock().filter = filter;
    }

    /// A stamp from this network's clock and counter.
    pub fn stamp(&self) -> Stamp {
        stamp(&self.inner)
    }

    /// Whether `node` is the instance now registered under the server name `server`.
    pub(crate) fn is_current(&self, server: &str, node: &str) -> bool {
        matches!(self.inner.state.lock().servers.get(server), Some(Some(s)) if s.node_name() == node)
    }

    /// Stamps a handler's start and hands the arrival to the tap, in stamp order.
    pub(crate) fn report_arrived(&self, tap: &TapFn, make: impl FnOnce(Stamp) -> Arrived) -> Stamp {
        let _order = self.inner.tap_order.lock();
        let a = make(stamp(&self.inner));
        let at = a.at;
        tap(&Tap::Arrived(a));
        at
    }

    /// Stamps a handler's end and hands its report to the tap, in stamp order.
    pub(crate) fn report_handled(&self, tap: &TapFn, make: impl FnOnce(Stamp) -> Handled) {
        let _order = self.inner.tap_order.lock();
        let h = make(stamp(&self.inner));
        tap(&Tap::Handled(h));
    }

    /// Makes a new end called `name`: disabled and unconnected. Panics if the name is taken
    /// (a bug in the tester, as in 6.5840).
    pub fn make_end(&self, name: &str) -> ClientEnd {
        let mut st = self.inner.state.lock();
        assert!(!st.ends.contains_key(name), "labrpc: make_end: an end named '{name}' already exists");
        st.ends.insert(name.to_string(), EndState { enabled: false, server: None });
        ClientEnd { name: Arc::from(name), net: self.clone() }
    }

    /// Forgets the end `name`; calls on it then fail as on a disabled end.
    pub fn delete_end(&self, name: &str) {
        let mut st = self.inner.state.lock();
        st.ends.remove(name);
        st.fail_dead_calls();
    }

    /// Registers `server` under `name`, replacing any server of that name (whose in-flight
    /// calls then fail).
    pub fn add_server(&self, name: &str, server: Server) {
        let mut st = self.inner.state.lock();
        st.ever.push(server.clone());
        st.servers.insert(name.to_string(), Some(server));
        st.fail_dead_calls();
    }

    /// Removes the server called `name`: calls in flight to it fail at once, and later calls
    /// fail as on a disabled end.
    pub fn delete_server(&self, name: &str) {
        let mut st = self.inner.state.lock();
        st.servers.insert(name.to_string(), None);
        st.fail_dead_calls();
    }

    /// Binds end `end` to the server called `server`.
    pub fn connect(&self, end: &str, server: &str) {
        let mut st = self.inner.state.lock();
        if let Some(e) = st.ends.get_mut(end) {
            e.server = Some(server.to_string());
        }
        st.fail_dead_calls();
    }

    /// Enables or disables end `end` (a disabled end is a cut cable: calls fail).
    pub fn enable(&self, end: &str, yes: bool) {
        let mut st = self.inner.state.lock();
        if let Some(e) = st.ends.get_mut(end) {
            e.enabled = yes;
        }
        if !yes {
            st.fail_dead_calls();
        }
    }

    /// Requests that reached the handlers of the server called `name` (0 if none).
    pub fn count(&self, name: &str) -> u64 {
        match self.inner.state.lock().servers.get(name) {
            Some(Some(s)) => s.count(),
            _ => 0,
        }
    }

    /// Every call made on this network, delivered or not.
    pub fn total_count(&self) -> u64 {
        self.inner.total_count.load(Ordering::Relaxed)
    }

    /// Encoded bytes of every call's arguments plus every delivered reply.
    pub fn total_bytes(&self) -> u64 {
        self.inner.total_bytes.load(Ordering::Relaxed)
    }

    /// Panics caught in the handlers of every server ever added, as messages.
    pub fn handler_panics(&self) -> Vec<String> {
        let servers = self.inner.state.lock().ever.clone();
        servers.iter().flat_map(Server::panics).collect()
    }

    /// Shuts the network: calls in flight fail, later calls fail at once.
    pub fn cleanup(&self) {
        let mut st = self.inner.state.lock();
        st.cleaned = true;
        st.fail_dead_calls();
    }

    /// Makes the call and records it, with its fate, in the world's event log (and tells the
    /// tap).
    fn call_raw(&self, end: &str, method: &str, args: Vec<u8>) -> Result<Vec<u8>, CallError> {
        let sent = stamp(&self.inner);
        let arg_bytes = args.len() as u64;
        let args: Arc<[u8]> = Arc::from(args);
        let caller: Arc<str> =
            labs::thread::current_node().map_or_else(|| Arc::from("-"), |n| Arc::from(n.name()));
        let mut d = Delivery::new();
        let r = self.deliver(end, method, &args, &caller, &mut d);
        let fate = match &r {
            Ok(_) => RpcFate::Delivered,
            Err(CallError::RequestDropped { .. }) => RpcFate::RequestDropped,
            Err(CallError::ReplyDropped { .. }) => RpcFate::ReplyDropped,
            Err(CallError::Unreachable { .. }) | Err(CallError::NetworkClosed) => RpcFate::Unreachable,
            Err(CallError::ServerDead { .. }) => RpcFate::ServerDead,
            Err(_) => RpcFate::Error,
        };
        let bytes = arg_bytes + r.as_ref().map_or(0, |b| b.len() as u64);
        events::record_at(
            sent.t,
            EventKind::Rpc {
                to: d.to.clone(),
                method: method.to_string(),
                done: events::now(),
                fate: fate.clone(),
                bytes,
                delayed: d.delayed,
            },
        );
        if let Some(tap) = d.tap.take() {
            let _order = self.inner.tap_order.lock();
            let done = stamp(&self.inner);
            tap(&Tap::Returned(Returned {
                call: d.call,
                caller,
                server: Arc::from(d.server.as_deref().unwrap_or(end)),
                node: d.node.clone(),
                method: Arc::from(method),
                args,
                reply: r.as_ref().ok().map(|b| Arc::from(&b[..])),
                fate,
                sent,
                done,
            }));
        }
        r
    }

    fn deliver(
        &self,
        end: &str,
        method: &str,
        args: &Arc<[u8]>,
        caller: &Arc<str>,
        d: &mut Delivery,
    ) -> Result<Vec<u8>, CallError> {
        let (enabled, target, modes, tap, filter) = {
            let mut st = self.inner.state.lock();
            if st.cleaned {
                return Err(CallError::NetworkClosed);
            }
            self.inner.total_count.fetch_add(1, Ordering::Relaxed);
            self.inner.total_bytes.fetch_add(args.len() as u64, Ordering::Relaxed);
            let (enabled, name) = match st.ends.get(end) {
                Some(e) => (e.enabled, e.server.clone()),
                None => (false, None),
            };
            d.to = name.clone().unwrap_or_else(|| end.to_string());
            d.server = name.clone();
            let target = name.and_then(|n| st.servers.get(&n).cloned().flatten().map(|s| (n, s)));
            d.call = st.next_call;
            st.next_call += 1;
            let modes = Modes {
                reliable: st.reliable,
                long_reordering: st.long_reordering,
                long_delays: st.long_delays,
                request_delays: st.request_delays,
                duplication: st.duplication,
            };
            (enabled, target, modes, st.tap.clone(), st.filter.clone())
        };
        d.tap = tap.clone();
        if let Some((_, s)) = &target {
            d.to = s.node_name();
            d.node = Some(Arc::from(s.node_name()));
        }
        let fault = match &filter {
            Some(f) => f(&CallInfo { caller, end, server: d.server.as_deref(), method }),
            None => Fault::None,
        };
        let Some((server_name, server)) = target.filter(|_| enabled) else {
            let ms = if modes.long_delays { gen_range(0..7000) } else { gen_range(0..100) };
            sleep(Duration::from_millis(ms));
            return Err(CallError::Unreachable { end: end.to_string() });
        };
        if modes.request_delays {
            sleep(Duration::from_millis(gen_range(0..=REQUEST_DELAY_MS)));
        }
        if !modes.reliable {
            sleep(Duration::from_millis(gen_range(0..27)));
            if gen_range(0..1000) < 100 {
                return Err(CallError::RequestDropped { method: method.to_string() });
            }
        }
        if fault == Fault::DropRequest {
            return Err(CallError::RequestDropped { method: method.to_string() });
        }
        let (tx, rx) = unbounded();
        let id = {
            let mut st = self.inner.state.lock();
            if st.cleaned || st.is_dead(end, &server_name, &server) {
                return Err(CallError::ServerDead { server: server_name, method: method.to_string() });
            }
            let id = d.call;
            let call = InFlight {
                end: end.to_string(),
                server_name: server_name.clone(),
                server: server.clone(),
                tx: tx.clone(),
            };
            st.in_flight.insert(id, call);
            id
        };
        let job_tap = |duplicate: bool| {
            tap.clone().map(|tap| JobTap {
                tap,
                net: self.clone(),
                call: id,
                caller: caller.clone(),
                server: Arc::from(server_name.as_str()),
                duplicate,
            })
        };
        if modes.duplication && gen_range(0..1000) < DUPLICATE_PER_MILLE {
            let later = Duration::from_millis(gen_range(0..=DUPLICATE_DELAY_MS));
            let job = Job {
                method: method.to_string(),
                args: args.clone(),
                reply: ReplyTo(None),
                tap: job_tap(true),
            };
            let (net, end, name, server) =
                (self.clone(), end.to_string(), server_name.clone(), server.clone());
            labs::thread::spawn("labrpc-duplicate", move || {
                sleep(later);
                let dead = {
                    let st = net.inner.state.lock();
                    st.cleaned || st.is_dead(&end, &name, &server)
                };
                if !dead {
                    server.dispatch(job);
                }
            });
        }
        server.dispatch(Job {
            method: method.to_string(),
            args: args.clone(),
            reply: ReplyTo(Some(tx)),
            tap: job_tap(false),
        });
        let delivery = rx.recv().unwrap_or(Reply::Dead);
        let dead = {
            let mut st = self.inner.state.lock();
            st.in_flight.remove(&id);
            st.cleaned || st.is_dead(end, &server_name, &server)
        };
        let reply = match delivery {
            Reply::Reply(r) if !dead => r?,
            _ => return Err(CallError::ServerDead { server: server_name, method: method.to_string() }),
        };
        if !modes.reliable && gen_range(0..1000) < 100 {
            return Err(CallError::ReplyDropped { method: method.to_string() });
        }
        if fault == Fault::DropReply {
            return Err(CallError::ReplyDropped { method: method.to_string() });
        }
        if modes.long_reordering && gen_range(0..900) < 600 {
            d.delayed = true;
            let inner = gen_range(0..2000u64);
            sleep(Duration::from_millis(200 + gen_range(0..=inner)));
        }
        self.inner.total_bytes.fetch_add(reply.len() as u64, Ordering::Relaxed);
        Ok(reply)
    }
}

/// The network's modes, as a call found them when it was made.
#[derive(Clone, Copy)]
struct Modes {
    reliable: bool,
    long_reordering: bool,
    long_delays: bool,
    request_delays: bool,
    duplication: bool,
}

/// What `deliver` learns about a call along the way, for its event and its tap report.
struct Delivery {
    call: u64,
    to: String,
    server: Option<String>,
    node: Option<Arc<str>>,
    delayed: bool,
    tap: Option<TapFn>,
}

impl Delivery {
    fn new() -> Delivery {
        Delivery { call: 0, to: String::new(), server: None, node: None, delayed: false, tap: None }
    }
}

fn stamp(inner: &Inner) -> Stamp {
    Stamp { seq: inner.seq.fetch_add(1, Ordering::Relaxed), t: events::now() }
}

impl ClientEnd {
    /// The end's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Calls `method` ("Service.Method") with `args` and waits for the reply. Always returns:
    /// `Err` means the request or reply was lost, the server is unreachable or went away, or
    /// the call was malformed (the error says which).
    pub fn call<A: Serialize, R: DeserializeOwned>(&self, method: &str, args: &A) -> Result<R, CallError> {
        let bytes = postcard::to_allocvec(args)
            .map_err(|e| CallError::Encode { method: method.to_string(), detail: e.to_string() })?;
        // Encoding, carrying and decoding cost virtual time per byte, as they cost real time.
        labs::time::charge_bytes(bytes.len());
        let reply = self.net.call_raw(&self.name, method, bytes)?;
        labs::time::charge_bytes(reply.len());
        postcard::from_bytes(&reply).map_err(|e| CallError::BadReply {
            method: method.to_string(),
            expected: std::any::type_name::<R>().to_string(),
            detail: e.to_string(),
        })
    }
}

impl std::fmt::Debug for ClientEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ClientEnd({})", self.name)
    }
}
