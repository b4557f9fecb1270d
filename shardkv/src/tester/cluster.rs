//! A set of replicated servers under test (a controller service, or one shard group): `n`
//! servers with given network names on a labrpc network, each instance on its own labs node.
//!
//! Server `i`'s first instance runs on a node named like the server, restart `k` on a fresh
//! node `<name>#<k>`. A start gives the instance fresh, enabled ends to its peers; any other
//! end it makes (to the controllers, or to other groups' servers) goes through its [`Ends`],
//! so that a shutdown can cut them all. A shutdown ([`Cluster::shutdown_server`]) disables the
//! instance's outgoing ends, removes it from the network, keeps a copy of what it persisted
//! (so that a zombie cannot change what the next instance reads), and kills the server and its
//! node (6.5840's `ShutdownServer`).

use labrpc::{ClientEnd, Network, Server, Service};
use labs::events::{self, EventKind};
use labs::persister::Persister;
use labs::sync::{Arc, Mutex};
use labs::world::{Node, World};
use raft::Raft;
use raft::tester::random_string;

/// What a cluster's servers offer the tester.
pub trait Replica: Clone + Send + Sync + 'static {
    /// The labrpc services to register (the server's own and its Raft's).
    fn services(&self) -> Vec<Service>;
    /// The server's Raft peer.
    fn raft(&self) -> &Raft;
    /// Shuts the server down.
    fn kill(&self);
}

impl Replica for crate::ctrler::ShardCtrler {
    fn services(&self) -> Vec<Service> {
        vec![self.service(), self.raft().service()]
    }
    fn raft(&self) -> &Raft {
        crate::ctrler::ShardCtrler::raft(self)
    }
    fn kill(&self) {
        crate::ctrler::ShardCtrler::kill(self)
    }
}

impl Replica for crate::server::ShardKv {
    fn services(&self) -> Vec<Service> {
        vec![self.service(), self.raft().service()]
    }
    fn raft(&self) -> &Raft {
        crate::server::ShardKv::raft(self)
    }
    fn kill(&self) {
        crate::server::ShardKv::kill(self)
    }
}

/// Makes ends for one server instance (or one clerk) to any server by name: each end has a
/// fresh random name, is connected and enabled, and is remembered so that the tester can
/// disable them all.
#[derive(Clone)]
pub struct Ends {
    net: Network,
    names: Arc<Mutex<Vec<String>>>,
}

impl Ends {
    /// An empty set of ends on `net`.
    pub fn new(net: &Network) -> Ends {
        Ends { net: net.clone(), names: Arc::new(Mutex::new(Vec::new())) }
    }

    /// A fresh enabled end to the server named `server` (6.5840's `make_end`).
    pub fn make(&self, server: &str) -> ClientEnd {
        let name = random_string(20);
        let end = self.net.make_end(&name);
        self.net.connect(&name, server);
        self.net.enable(&name, true);
        self.names.lock().push(name);
        end
    }

    /// Disables every end made so far.
    pub fn disable_all(&self) {
        for name in self.names.lock().iter() {
            self.net.enable(name, false);
        }
    }
}

/// Makes server `me` from its ends to its peers, its persister and its [`Ends`] for any other
/// end it needs.
pub type MakeServer<S> = Box<dyn Fn(Vec<ClientEnd>, usize, Persister, &Ends) -> S + Send + Sync>;

struct State<S> {
    servers: Vec<Option<S>>,
    nodes: Vec<Option<Node>>,
    incarnation: Vec<u64>,
    saved: Vec<Persister>,
    /// The current instance's ends to its peers.
    peer_ends: Vec<Vec<String>>,
    /// The current instance's other ends.
    other_ends: Vec<Option<Ends>>,
}

/// Replicated servers under test.
pub struct Cluster<S: Replica> {
    net: Network,
    names: Vec<String>,
    make: MakeServer<S>,
    mu: Mutex<State<S>>,
}

impl<S: Replica> Cluster<S> {
    /// A cluster of servers with network names `names`, made by `make`; none started yet.
    pub fn new(net: &Network, names: Vec<String>, make: MakeServer<S>) -> Cluster<S> {
        let n = names.len();
        Cluster {
            net: net.clone(),
            names,
            make,
            mu: Mutex::new(State {
                servers: (0..n).map(|_| None).collect(),
                nodes: (0..n).map(|_| None).collect(),
                incarnation: vec![0; n],
                saved: (0..n).map(|_| Persister::new()).collect(),
                peer_ends: vec![Vec::new(); n],
                other_ends: (0..n).map(|_| None).collect(),
            }),
        }
    }

    /// The number of servers.
    pub fn n(&self) -> usize {
        self.names.len()
    }

    /// The servers' network names.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Server `i`'s running instance, if it runs.
    pub fn server(&self, i: usize) -> Option<S> {
        self.mu.lock().servers[i].clone()
    }

    /// Starts (or restarts) server `i` on a fresh node with a copy of what it persisted, and
    /// fresh enabled ends to its peers (6.5840's `StartServer`).
    pub fn start_server(&self, i: usize) {
        self.shutdown_server(i);
        let peer_names: Vec<String> = (0..self.n()).map(|_| random_string(20)).collect();
        let ends: Vec<ClientEnd> = peer_names
            .iter()
            .zip(&self.names)
            .map(|(name, server)| {
                let end = self.net.make_end(name);
                self.net.connect(name, server);
                self.net.enable(name, true);
                end
            })
            .collect();
        let others = Ends::new(&self.net);
        let (persister, k) = {
            let mut st = self.mu.lock();
            let p = st.saved[i].copy();
            st.saved[i] = p.clone();
            st.incarnation[i] += 1;
            st.peer_ends[i] = peer_names;
            st.other_ends[i] = Some(others.clone());
            (p, st.incarnation[i])
        };
        let node_name = if k == 1 { self.names[i].clone() } else { format!("{}#{}", self.names[i], k - 1) };
        let node = World::current().node(node_name);
        let server = node.enter(|| (self.make)(ends, i, persister, &others));
        let rpc = Server::new(&node);
        for svc in server.services() {
            rpc.add_service(svc);
        }
        self.net.add_server(&self.names[i], rpc);
        let mut st = self.mu.lock();
        st.servers[i] = Some(server);
        st.nodes[i] = Some(node);
    }

    /// 6.5840's `ShutdownServer`; does nothing to a server that is not running.
    pub fn shutdown_server(&self, i: usize) {
        let (server, node) = {
            let mut st = self.mu.lock();
            if st.servers[i].is_none() {
                return;
            }
            for name in &st.peer_ends[i] {
                self.net.enable(name, false);
            }
            if let Some(e) = &st.other_ends[i] {
                e.disable_all();
            }
            // Gone from the network before its persister is copied, so that it cannot reply
            // to a request whose effect only the superseded persister holds.
            self.net.delete_server(&self.names[i]);
            st.saved[i] = st.saved[i].copy();
            (st.servers[i].take(), st.nodes[i].take())
        };
        events::record(EventKind::Fault { what: format!("shut down {}", self.names[i]) });
        if let Some(s) = server {
            s.kill();
        }
        if let Some(n) = node {
            n.kill();
        }
    }

    /// Starts every server.
    pub fn start_all(&self) {
        for i in 0..self.n() {
            self.start_server(i);
        }
    }

    /// Shuts every server down.
    pub fn shutdown_all(&self) {
        for i in 0..self.n() {
            self.shutdown_server(i);
        }
    }

    /// Re-enables every running server's ends to its peers (6.5840's `ConnectAll`).
    pub fn connect_all(&self) {
        let st = self.mu.lock();
        for i in 0..self.n() {
            if st.servers[i].is_some() {
                for name in &st.peer_ends[i] {
                    self.net.enable(name, true);
                }
            }
        }
    }

    /// The first running server whose Raft says it leads.
    pub fn leader(&self) -> Option<usize> {
        (0..self.n()).find(|&i| self.server(i).is_some_and(|s| s.raft().state().1))
    }

    /// Server `i`'s persisted Raft state size and snapshot size, in bytes.
    pub fn sizes(&self, i: usize) -> (usize, usize) {
        let st = self.mu.lock();
        (st.saved[i].raft_state_size(), st.saved[i].snapshot_size())
    }

    /// Kills every server and its node.
    pub fn cleanup(&self) {
        let (servers, nodes): (Vec<S>, Vec<Node>) = {
            let mut st = self.mu.lock();
            (
                st.servers.iter_mut().filter_map(|s| s.take()).collect(),
                st.nodes.iter_mut().filter_map(|n| n.take()).collect(),
            )
        };
        for s in servers {
            s.kill();
        }
        for n in nodes {
            n.kill();
        }
    }
}
