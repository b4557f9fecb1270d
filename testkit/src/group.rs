//! A replica group under test: servers on a labrpc network, each instance on its own labs node,
//! that a tester starts, crashes, restarts, connects and partitions. Every lab's tester builds
//! on it: Raft peers, KV servers, rsm servers, shard controllers and shard groups.
//!
//! Server `i` has a network name (`names[i]`); its first instance runs on a node of that name,
//! restart `k` on a fresh node `<name>#<k>`. A start gives the instance fresh ends to its peers
//! (so the old instance's ends are dead) and a copy of what its predecessor persisted. A
//! shutdown (6.5840's `ShutdownServer`, a crash) cuts the instance off, removes it from the
//! network before its persister is copied (so that it cannot answer a request whose effect only
//! the superseded persister holds), kills the service and then its node, and copies the
//! persister again (a zombie under the real backend cannot change what the next instance
//! reads).
//!
//! The labs wire their groups differently on purpose, for parity with 6.5840; that is
//! [`Wiring`], not a copy of this module.

use crate::ends::Ends;
use labrpc::{ClientEnd, Network, Server, Service};
use labs::events::{self, EventKind};
use labs::persister::Persister;
use labs::sync::Mutex;
use labs::world::{Node, World};

/// How a group's links are managed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wiring {
    /// Raft and KV-Raft (6.5840's `raft/config.go` and `kvraft/config.go`): a started instance
    /// is cut off until the test connects it; a shutdown cuts its links both ways.
    Manual,
    /// The shard controller and shard groups (6.5840's `shardkv/config.go`): a started
    /// instance's ends to its peers are enabled at once; a shutdown disables only the
    /// instance's own ends (its peers' ends to it stay enabled, and reach the next instance).
    Auto,
}

/// What a started instance gets.
pub struct Start<'a> {
    /// Its index in the group.
    pub me: usize,
    /// Ends to every server of the group (`peers[j]` to server `j`, itself included).
    pub peers: Vec<ClientEnd>,
    /// A copy of what its predecessor persisted.
    pub persister: Persister,
    /// Where to make any other end it needs (to other groups, to a controller), so that a
    /// shutdown can cut them too.
    pub others: &'a Ends,
    /// How many times server `me` has been started, this start included.
    pub incarnation: u64,
}

/// How a group makes and drives its servers.
pub struct Spec<S> {
    /// Makes an instance; called inside the instance's node, so the threads it spawns belong
    /// to that node. Must return promptly.
    pub make: Box<dyn Fn(Start<'_>) -> S + Send + Sync>,
    /// The labrpc services to register for an instance.
    pub services: fn(&S) -> Vec<Service>,
    /// Shuts an instance down (the group then kills its node).
    pub kill: fn(&S),
    /// Whether an instance claims to lead (for [`Group::leader`]).
    pub leads: fn(&S) -> bool,
    /// How links are managed.
    pub wiring: Wiring,
}

struct Slot<S> {
    server: Option<S>,
    node: Option<Node>,
    incarnation: u64,
    saved: Persister,
    /// The current instance's ends to its peers (`k` to server `k`).
    peers: Option<Ends>,
    /// The current instance's other ends.
    others: Option<Ends>,
}

/// A group of replicated servers under test.
pub struct Group<S> {
    net: Network,
    names: Vec<String>,
    spec: Spec<S>,
    slots: Mutex<Vec<Slot<S>>>,
}

impl<S: Clone + Send + Sync + 'static> Group<S> {
    /// A group of servers with network names `names` on `net`; none is started yet.
    pub fn new(net: &Network, names: Vec<String>, spec: Spec<S>) -> Group<S> {
        let slots = (0..names.len())
            .map(|_| Slot {
                server: None,
                node: None,
                incarnation: 0,
                saved: Persister::new(),
                peers: None,
                others: None,
            })
            .collect();
        Group { net: net.clone(), names, spec, slots: Mutex::new(slots) }
    }

    /// The number of servers.
    pub fn n(&self) -> usize {
        self.names.len()
    }

    /// Every server's index: `[0, 1, ..., n-1]`.
    pub fn all(&self) -> Vec<usize> {
        (0..self.n()).collect()
    }

    /// The servers' network names.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The network name of server `i`.
    pub fn server_name(&self, i: usize) -> &str {
        &self.names[i]
    }

    /// The node name of server `i`'s current (or last) instance.
    pub fn node_name(&self, i: usize) -> String {
        node_name(&self.names[i], self.slots.lock()[i].incarnation)
    }

    /// Server `i`'s running instance, or `None` while it is shut down.
    pub fn server(&self, i: usize) -> Option<S> {
        self.slots.lock()[i].server.clone()
    }

    /// Whether server `i` is running.
    pub fn is_running(&self, i: usize) -> bool {
        self.slots.lock()[i].server.is_some()
    }

    /// The node of server `i`'s running instance (`None` while it is shut down).
    pub fn node(&self, i: usize) -> Option<Node> {
        self.slots.lock()[i].node.clone()
    }

    /// How many times server `i` has been started.
    pub fn incarnation(&self, i: usize) -> u64 {
        self.slots.lock()[i].incarnation
    }

    /// Runs `f` as server `i`'s running instance (inside its node, see [`Node::enter`]), so
    /// that what `f` logs and records, and the threads it spawns, belong to that server and
    /// not to the tester. Runs `f` as the caller if the server is shut down.
    pub fn enter<T>(&self, i: usize, f: impl FnOnce() -> T) -> T {
        match self.node(i) {
            Some(node) => node.enter(f),
            None => f(),
        }
    }

    /// Starts (or restarts) server `i` on a fresh node, with a copy of what it persisted and
    /// fresh ends to its peers (enabled only under [`Wiring::Auto`]).
    pub fn start_server(&self, i: usize) {
        self.shutdown_server(i);
        let peers = Ends::new(&self.net);
        let peer_ends = peers.make_each(&self.names, self.spec.wiring == Wiring::Auto);
        let others = Ends::new(&self.net);
        let (persister, incarnation, old) = {
            let mut slots = self.slots.lock();
            let slot = &mut slots[i];
            let persister = slot.saved.copy();
            slot.saved = persister.clone();
            slot.incarnation += 1;
            let old = (slot.peers.replace(peers), slot.others.replace(others.clone()));
            (persister, slot.incarnation, old)
        };
        for ends in [old.0, old.1].into_iter().flatten() {
            ends.delete_all();
        }
        let node = World::current().node(node_name(&self.names[i], incarnation));
        let start = Start { me: i, peers: peer_ends, persister, others: &others, incarnation };
        let server = node.enter(|| (self.spec.make)(start));
        let rpc = Server::new(&node);
        for svc in (self.spec.services)(&server) {
            rpc.add_service(svc);
        }
        self.net.add_server(&self.names[i], rpc);
        let mut slots = self.slots.lock();
        slots[i].server = Some(server);
        slots[i].node = Some(node);
    }

    /// 6.5840's `ShutdownServer` (a crash): see the module doc. Does nothing to a server that
    /// is not running.
    pub fn shutdown_server(&self, i: usize) {
        if !self.is_running(i) {
            return;
        }
        events::record(EventKind::Fault { what: format!("shut down {}", self.names[i]) });
        match self.spec.wiring {
            Wiring::Manual => self.set(i, &self.all(), false),
            Wiring::Auto => {
                if let Some(p) = &self.slots.lock()[i].peers {
                    p.enable_all(false);
                }
            }
        }
        if let Some(o) = &self.slots.lock()[i].others {
            o.enable_all(false);
        }
        self.net.delete_server(&self.names[i]);
        let (server, node) = {
            let mut slots = self.slots.lock();
            let slot = &mut slots[i];
            slot.saved = slot.saved.copy();
            (slot.server.take(), slot.node.take())
        };
        if let (Some(s), Some(n)) = (&server, &node) {
            n.enter(|| (self.spec.kill)(s));
        }
        if let Some(n) = node {
            n.kill();
        }
        let mut slots = self.slots.lock();
        slots[i].saved = slots[i].saved.copy();
    }

    /// Starts every server; under [`Wiring::Manual`] connects them all too.
    pub fn start_all(&self) {
        for i in 0..self.n() {
            self.start_server(i);
        }
        if self.spec.wiring == Wiring::Manual {
            self.connect_all();
        }
    }

    /// Shuts every server down.
    pub fn shutdown_all(&self) {
        for i in 0..self.n() {
            self.shutdown_server(i);
        }
    }

    /// Enables (`on`) or disables the links between server `i` and each server in `peers`,
    /// both ways.
    pub fn set(&self, i: usize, peers: &[usize], on: bool) {
        let slots = self.slots.lock();
        for &j in peers {
            if let Some(p) = &slots[i].peers {
                p.enable(j, on);
            }
            if let Some(p) = &slots[j].peers {
                p.enable(i, on);
            }
        }
    }

    /// Enables (`on`) or disables only server `from`'s end to server `to`: a one-way link
    /// (calls from `to` to `from` are not affected).
    pub fn set_one_way(&self, from: usize, to: usize, on: bool) {
        events::record(EventKind::Fault {
            what: format!(
                "{} link {} -> {}",
                if on { "enable" } else { "cut" },
                self.names[from],
                self.names[to]
            ),
        });
        if let Some(p) = &self.slots.lock()[from].peers {
            p.enable(to, on);
        }
    }

    /// Enables the links between server `i` and each server in `to` (both ways).
    pub fn connect(&self, i: usize, to: &[usize]) {
        self.set(i, to, true);
    }

    /// Disables the links between server `i` and each server in `from` (both ways).
    pub fn disconnect(&self, i: usize, from: &[usize]) {
        self.set(i, from, false);
    }

    /// Connects every server to every server (6.5840's `ConnectAll`). Under [`Wiring::Auto`]
    /// it enables each running instance's own ends.
    pub fn connect_all(&self) {
        events::record(EventKind::Fault { what: format!("connect all of {}", self.label()) });
        match self.spec.wiring {
            Wiring::Manual => {
                for i in 0..self.n() {
                    self.connect(i, &self.all());
                }
            }
            Wiring::Auto => {
                for slot in self.slots.lock().iter().filter(|s| s.server.is_some()) {
                    if let Some(p) = &slot.peers {
                        p.enable_all(true);
                    }
                }
            }
        }
    }

    /// Cuts server `i` off from every server (6.5840's `DisconnectAll`).
    pub fn disconnect_all(&self, i: usize) {
        events::record(EventKind::Fault { what: format!("disconnect {}", self.names[i]) });
        self.disconnect(i, &self.all());
    }

    /// Reconnects server `i` to every server.
    pub fn connect_one(&self, i: usize) {
        events::record(EventKind::Fault { what: format!("connect {}", self.names[i]) });
        self.connect(i, &self.all());
    }

    /// Splits the servers into two sides that can talk within a side but not across.
    pub fn partition(&self, p1: &[usize], p2: &[usize]) {
        events::record(EventKind::Fault { what: format!("partition {} {p1:?} {p2:?}", self.label()) });
        for &i in p1 {
            self.disconnect(i, p2);
            self.connect(i, p1);
        }
        for &i in p2 {
            self.disconnect(i, p1);
            self.connect(i, p2);
        }
    }

    /// A server that claims to lead (the lowest-numbered running one), if one does.
    pub fn leader(&self) -> Option<usize> {
        (0..self.n()).find(|&i| self.server(i).is_some_and(|s| self.enter(i, || (self.spec.leads)(&s))))
    }

    /// 6.5840's `make_partition`: two sides with `leader` alone with the fewest others: the
    /// first `n/2 + 1` other servers, and the remaining ones plus `leader`.
    pub fn make_partition(&self, leader: usize) -> (Vec<usize>, Vec<usize>) {
        let others: Vec<usize> = (0..self.n()).filter(|&i| i != leader).collect();
        let (p1, rest) = others.split_at(self.n() / 2 + 1);
        let mut p2 = rest.to_vec();
        p2.push(leader);
        (p1.to_vec(), p2)
    }

    /// What server `i` has persisted (its current storage).
    pub fn persister(&self, i: usize) -> Persister {
        self.slots.lock()[i].saved.clone()
    }

    /// Server `i`'s persisted Raft state size and snapshot size, in bytes.
    pub fn sizes(&self, i: usize) -> (usize, usize) {
        let slots = self.slots.lock();
        (slots[i].saved.raft_state_size(), slots[i].saved.snapshot_size())
    }

    /// The largest persisted Raft state of any server, in bytes (6.5840's `LogSize`).
    pub fn log_size(&self) -> usize {
        self.slots.lock().iter().map(|s| s.saved.raft_state_size()).max().unwrap_or(0)
    }

    /// The largest snapshot of any server, in bytes (6.5840's `SnapshotSize`).
    pub fn snapshot_size(&self) -> usize {
        self.slots.lock().iter().map(|s| s.saved.snapshot_size()).max().unwrap_or(0)
    }

    /// Kills every server and its node (at the end of a test that passed).
    pub fn cleanup(&self) {
        let (servers, nodes): (Vec<S>, Vec<Node>) = {
            let mut slots = self.slots.lock();
            (
                slots.iter_mut().filter_map(|s| s.server.take()).collect(),
                slots.iter_mut().filter_map(|s| s.node.take()).collect(),
            )
        };
        for (s, n) in servers.iter().zip(&nodes) {
            n.enter(|| (self.spec.kill)(s));
        }
        for n in nodes {
            n.kill();
        }
    }

    /// The group in words, for fault events: its servers' common name prefix, or "servers".
    fn label(&self) -> String {
        let first = self.names.first().map(String::as_str).unwrap_or("");
        let prefix = first.rsplit_once('-').map_or("", |(p, _)| p);
        if !prefix.is_empty() && self.names.iter().all(|n| n.starts_with(prefix)) {
            format!("{prefix}-*")
        } else {
            "servers".into()
        }
    }
}

/// The node name of incarnation `k` of the server called `name`: `name`, then `name#1`, ...
fn node_name(name: &str, k: u64) -> String {
    if k <= 1 { name.to_string() } else { format!("{name}#{}", k - 1) }
}
