//! The network: ends, servers, faults and counters (6.5840 spec section 1.2).

use crate::CallError;
use crate::server::{Job, ReplyTo, Server};
use labs::events::{self, EventKind, RpcFate};
use labs::rand::gen_range;
use labs::sync::{Arc, Mutex, Sender, unbounded};
use labs::time::{Duration, sleep};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// What a caller waiting on a handler receives.
pub(crate) enum Delivery {
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
    tx: Sender<Delivery>,
}

#[derive(Default)]
struct State {
    reliable: bool,
    long_delays: bool,
    long_reordering: bool,
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
                let _ = c.tx.send(Delivery::Dead);
            }
        }
    }
}

struct Inner {
    state: Mutex<State>,
    total_count: AtomicU64,
    total_bytes: AtomicU64,
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
        });
        // Servers' handlers hold ends to this network: a cycle. When the world ends, let go of
        // the servers, so that a process running many seeds frees each world's state.
        if let Some(world) = labs::world::try_current() {
            let weak = Arc::downgrade(&inner);
            world.at_end(move || {
                if let Some(inner) = weak.upgrade()
                    && let Some(mut st) = inner.state.try_lock()
                {
                    st.servers.clear();
                    st.ever.clear();
                    st.ends.clear();
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

    /// Makes the call and records it, with its fate, in the world's event log.
    fn call_raw(&self, end: &str, method: &str, args: Vec<u8>) -> Result<Vec<u8>, CallError> {
        let sent = events::now();
        let arg_bytes = args.len() as u64;
        let mut to = String::new();
        let mut delayed = false;
        let r = self.deliver(end, method, args, &mut to, &mut delayed);
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
            sent,
            EventKind::Rpc { to, method: method.to_string(), done: events::now(), fate, bytes, delayed },
        );
        r
    }

    fn deliver(
        &self,
        end: &str,
        method: &str,
        args: Vec<u8>,
        to: &mut String,
        delayed: &mut bool,
    ) -> Result<Vec<u8>, CallError> {
        let (enabled, target, reliable, long_reordering, long_delays) = {
            let st = self.inner.state.lock();
            if st.cleaned {
                return Err(CallError::NetworkClosed);
            }
            self.inner.total_count.fetch_add(1, Ordering::Relaxed);
            self.inner.total_bytes.fetch_add(args.len() as u64, Ordering::Relaxed);
            let (enabled, name) = match st.ends.get(end) {
                Some(e) => (e.enabled, e.server.clone()),
                None => (false, None),
            };
            *to = name.clone().unwrap_or_else(|| end.to_string());
            let target = name.and_then(|n| st.servers.get(&n).cloned().flatten().map(|s| (n, s)));
            (enabled, target, st.reliable, st.long_reordering, st.long_delays)
        };
        if let Some((_, s)) = &target {
            *to = s.node_name();
        }
        let Some((server_name, server)) = target.filter(|_| enabled) else {
            let ms = if long_delays { gen_range(0..7000) } else { gen_range(0..100) };
            sleep(Duration::from_millis(ms));
            return Err(CallError::Unreachable { end: end.to_string() });
        };
        if !reliable {
            sleep(Duration::from_millis(gen_range(0..27)));
            if gen_range(0..1000) < 100 {
                return Err(CallError::RequestDropped { method: method.to_string() });
            }
        }
        let (tx, rx) = unbounded();
        let id = {
            let mut st = self.inner.state.lock();
            if st.cleaned || st.is_dead(end, &server_name, &server) {
                return Err(CallError::ServerDead { server: server_name, method: method.to_string() });
            }
            let id = st.next_call;
            st.next_call += 1;
            let call = InFlight {
                end: end.to_string(),
                server_name: server_name.clone(),
                server: server.clone(),
                tx: tx.clone(),
            };
            st.in_flight.insert(id, call);
            id
        };
        server.dispatch(Job { method: method.to_string(), args, reply: ReplyTo(Some(tx)) });
        let delivery = rx.recv().unwrap_or(Delivery::Dead);
        let dead = {
            let mut st = self.inner.state.lock();
            st.in_flight.remove(&id);
            st.cleaned || st.is_dead(end, &server_name, &server)
        };
        let reply = match delivery {
            Delivery::Reply(r) if !dead => r?,
            _ => return Err(CallError::ServerDead { server: server_name, method: method.to_string() }),
        };
        if !reliable && gen_range(0..1000) < 100 {
            return Err(CallError::ReplyDropped { method: method.to_string() });
        }
        if long_reordering && gen_range(0..900) < 600 {
            *delayed = true;
            let inner = gen_range(0..2000u64);
            sleep(Duration::from_millis(200 + gen_range(0..=inner)));
        }
        self.inner.total_bytes.fetch_add(reply.len() as u64, Ordering::Relaxed);
        Ok(reply)
    }
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
        let reply = self.net.call_raw(&self.name, method, bytes)?;
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
