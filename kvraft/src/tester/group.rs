//! A replica group under test: `n` servers on a labrpc network, each on its own labs node,
//! that the tester starts, crashes, restarts, connects and partitions (the server half of
//! 6.5840's `config.go`, and of `tester1`'s `ServerGrp`).
//!
//! Server `i` is registered on the network as `<prefix>server-<i>`; its first instance runs on
//! a node of that name, and restart `k` on a fresh node `<prefix>server-<i>#<k>`. A crash
//! ([`Group::shutdown_server`]) cuts the server off, removes it from the network, keeps a copy
//! of what it persisted (so a zombie instance cannot change what the next instance reads),
//! kills the service and kills its node. A restart ([`Group::start_server`]) gives the new
//! instance fresh end names (so that the old instance's ends are dead) and a copy of the
//! persisted state.

use labrpc::{ClientEnd, Network, Server, Service};
use labs::events::{self, EventKind};
use labs::persister::Persister;
use labs::sync::Mutex;
use labs::world::{Node, World};
use raft::Raft;
use raft::tester::random_string;

/// What a group's servers must offer the tester.
pub trait GroupServer: Clone + Send + Sync + 'static {
    /// The labrpc services to register on the server (the service's own, and its Raft's).
    fn services(&self) -> Vec<Service>;
    /// The server's Raft peer (the tester asks it who leads).
    fn raft(&self) -> &Raft;
    /// Shuts the server down (the tester then kills its node too).
    fn kill(&self);
}

/// Makes server `me` of a group from its ends to every server and its persister.
pub type MakeServer<S> = Box<dyn Fn(Vec<ClientEnd>, usize, Persister) -> S + Send + Sync>;

struct State<S> {
    servers: Vec<Option<S>>,
    nodes: Vec<Option<Node>>,
    /// How many times each server has been started (names its nodes).
    incarnation: Vec<u64>,
    saved: Vec<Persister>,
    /// `end_names[i][j]`: the end server `i` uses to call server `j`.
    end_names: Vec<Vec<String>>,
}

/// A group of replicated servers under test.
pub struct Group<S: GroupServer> {
    net: Network,
    prefix: String,
    n: usize,
    make: MakeServer<S>,
    mu: Mutex<State<S>>,
}

impl<S: GroupServer> Group<S> {
    /// A group of `n` servers on `net`, named `<prefix>server-<i>`, made by `make`. No server
    /// is started yet (see [`Group::start_all`]).
    pub fn new(net: Network, prefix: &str, n: usize, make: MakeServer<S>) -> Group<S> {
        Group {
            net,
            prefix: prefix.to_string(),
            n,
            make,
            mu: Mutex::new(State {
                servers: (0..n).map(|_| None).collect(),
                nodes: (0..n).map(|_| None).collect(),
                incarnation: vec![0; n],
                saved: (0..n).map(|_| Persister::new()).collect(),
                end_names: vec![Vec::new(); n],
            }),
        }
    }

    /// The number of servers.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Every server's index: `[0, 1, ..., n-1]`.
    pub fn all(&self) -> Vec<usize> {
        (0..self.n).collect()
    }

    /// The network name of server `i`.
    pub fn server_name(&self, i: usize) -> String {
        format!("{}server-{i}", self.prefix)
    }

    /// The node name of server `i`'s current (or last) instance.
    pub fn node_name(&self, i: usize) -> String {
        let k = self.mu.lock().incarnation[i];
        if k <= 1 { self.server_name(i) } else { format!("{}#{}", self.server_name(i), k - 1) }
    }

    /// Server `i`'s running instance, or `None` while it is shut down.
    pub fn server(&self, i: usize) -> Option<S> {
        self.mu.lock().servers[i].clone()
    }

    /// Starts (or restarts) server `i` with a copy of what it persisted, on a fresh node and
    /// with fresh end names. Its ends start disabled: connect it afterwards.
    pub fn start_server(&self, i: usize) {
        self.shutdown_server(i);
        let names: Vec<String> = (0..self.n).map(|_| random_string(20)).collect();
        let ends: Vec<ClientEnd> = names
            .iter()
            .enumerate()
            .map(|(j, name)| {
                let end = self.net.make_end(name);
                self.net.connect(name, &self.server_name(j));
                end
            })
            .collect();
        let (persister, incarnation, old_names) = {
            let mut st = self.mu.lock();
            let persister = st.saved[i].copy();
            st.saved[i] = persister.clone();
            st.incarnation[i] += 1;
            let old = std::mem::replace(&mut st.end_names[i], names);
            (persister, st.incarnation[i], old)
        };
        for name in old_names {
            self.net.delete_end(&name);
        }
        let node_name = if incarnation == 1 {
            self.server_name(i)
        } else {
            format!("{}#{}", self.server_name(i), incarnation - 1)
        };
        let node = World::current().node(node_name);
        let server = node.enter(|| (self.make)(ends, i, persister));
        let rpc = Server::new(&node);
        for svc in server.services() {
            rpc.add_service(svc);
        }
        self.net.add_server(&self.server_name(i), rpc);
        let mut st = self.mu.lock();
        st.servers[i] = Some(server);
        st.nodes[i] = Some(node);
    }

    /// 6.5840's `ShutdownServer`: cuts server `i` off, removes it from the network (calls in
    /// flight to it fail), keeps a copy of what it persisted, kills the service and its node.
    /// Does nothing to a server that is not running.
    pub fn shutdown_server(&self, i: usize) {
        if self.mu.lock().servers[i].is_none() {
            return;
        }
        self.disconnect(i, &self.all());
        // Remove it from the network before copying its persister, so that it cannot reply
        // to a request whose effect only the superseded persister holds.
        self.net.delete_server(&self.server_name(i));
        let (server, node) = {
            let mut st = self.mu.lock();
            st.saved[i] = st.saved[i].copy();
            (st.servers[i].take(), st.nodes[i].take())
        };
        if let Some(s) = server {
            s.kill();
        }
        if let Some(node) = node {
            node.kill();
        }
    }

    /// Starts every server and connects them all.
    pub fn start_all(&self) {
        for i in 0..self.n {
            self.start_server(i);
        }
        self.connect_all();
    }

    /// Shuts every server down.
    pub fn shutdown_all(&self) {
        for i in 0..self.n {
            self.shutdown_server(i);
        }
    }

    fn set(&self, i: usize, peers: &[usize], on: bool) {
        let st = self.mu.lock();
        for &j in peers {
            // Outgoing, then incoming.
            if let Some(name) = st.end_names[i].get(j) {
                self.net.enable(name, on);
            }
            if let Some(name) = st.end_names[j].get(i) {
                self.net.enable(name, on);
            }
        }
    }

    /// Enables the ends between server `i` and each server in `to` (both ways).
    pub fn connect(&self, i: usize, to: &[usize]) {
        self.set(i, to, true);
    }

    /// Disables the ends between server `i` and each server in `from` (both ways).
    pub fn disconnect(&self, i: usize, from: &[usize]) {
        self.set(i, from, false);
    }

    /// Connects every server to every server.
    pub fn connect_all(&self) {
        events::record(EventKind::Fault { what: format!("{}connect all", self.prefix) });
        for i in 0..self.n {
            self.connect(i, &self.all());
        }
    }

    /// Cuts server `i` off from every server (6.5840 `DisconnectAll`).
    pub fn disconnect_all(&self, i: usize) {
        events::record(EventKind::Fault { what: format!("disconnect {}", self.server_name(i)) });
        self.disconnect(i, &self.all());
    }

    /// Reconnects server `i` to every server.
    pub fn connect_one(&self, i: usize) {
        events::record(EventKind::Fault { what: format!("connect {}", self.server_name(i)) });
        self.connect(i, &self.all());
    }

    /// Splits the servers into two sides that can talk within a side but not across.
    pub fn partition(&self, p1: &[usize], p2: &[usize]) {
        events::record(EventKind::Fault { what: format!("{}partition {p1:?} {p2:?}", self.prefix) });
        for &i in p1 {
            self.disconnect(i, p2);
            self.connect(i, p1);
        }
        for &i in p2 {
            self.disconnect(i, p1);
            self.connect(i, p2);
        }
    }

    /// A server that claims to lead (any running server, connected or not), if one does.
    pub fn leader(&self) -> Option<usize> {
        (0..self.n).find(|&i| self.server(i).is_some_and(|s| s.raft().state().1))
    }

    /// 6.5840's `make_partition`: two sides with `leader` alone with the fewest others: the
    /// first `n/2 + 1` other servers, and the remaining ones plus `leader`.
    pub fn make_partition(&self, leader: usize) -> (Vec<usize>, Vec<usize>) {
        let others: Vec<usize> = (0..self.n).filter(|&i| i != leader).collect();
        let (p1, rest) = others.split_at(self.n / 2 + 1);
        let mut p2 = rest.to_vec();
        p2.push(leader);
        (p1.to_vec(), p2)
    }

    /// The largest persisted Raft state of any server, in bytes (6.5840 `LogSize`).
    pub fn log_size(&self) -> usize {
        self.mu.lock().saved.iter().map(|p| p.raft_state_size()).max().unwrap_or(0)
    }

    /// The largest snapshot of any server, in bytes (6.5840 `SnapshotSize`).
    pub fn snapshot_size(&self) -> usize {
        self.mu.lock().saved.iter().map(|p| p.snapshot_size()).max().unwrap_or(0)
    }

    /// Kills every server and its node (at the end of a test).
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
