//! Client ends with fresh random names: the one way every tester makes them.
//!
//! 6.5840 names every `ClientEnd` with a random 20-character string, so that an end a test has
//! thrown away (a crashed server's, a deleted clerk's) can never be confused with a new one.
//! [`Ends`] makes such ends to servers by name, remembers them in order, and enables, disables
//! or deletes them as a set.

use labrpc::{ClientEnd, Network};
use labs::sync::{Arc, Mutex};

/// `n` random letters and digits from the world's random stream (6.5840's `randstring`).
pub fn random_string(n: usize) -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    labs::rand::with_rng(|r| {
        use labs::rand::Rng;
        (0..n).map(|_| CHARS[r.random_range(0..CHARS.len())] as char).collect()
    })
}

/// A set of client ends on one network, in the order they were made. Clones share the set.
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

    /// A fresh end to the server named `server`, connected, and enabled if `enabled` (6.5840's
    /// `MakeEnd` + `Connect` + `Enable`).
    pub fn make_to(&self, server: &str, enabled: bool) -> ClientEnd {
        let name = random_string(20);
        let end = self.net.make_end(&name);
        self.net.connect(&name, server);
        if enabled {
            self.net.enable(&name, true);
        }
        self.names.lock().push(name);
        end
    }

    /// A fresh, enabled end to the server named `server`.
    pub fn make(&self, server: &str) -> ClientEnd {
        self.make_to(server, true)
    }

    /// One fresh end to each server of `servers`, in order, enabled if `enabled`.
    pub fn make_each(&self, servers: &[String], enabled: bool) -> Vec<ClientEnd> {
        servers.iter().map(|s| self.make_to(s, enabled)).collect()
    }

    /// Enables or disables the `k`-th end made (no-op if there is none).
    pub fn enable(&self, k: usize, on: bool) {
        if let Some(name) = self.names.lock().get(k) {
            self.net.enable(name, on);
        }
    }

    /// Enables or disables every end made so far.
    pub fn enable_all(&self, on: bool) {
        for name in self.names.lock().iter() {
            self.net.enable(name, on);
        }
    }

    /// Deletes every end made so far from the network (calls on them fail from now on).
    pub fn delete_all(&self) {
        for name in std::mem::take(&mut *self.names.lock()) {
            self.net.delete_end(&name);
        }
    }
}
