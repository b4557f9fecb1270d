//! Lab 2B: a lock on the key/value service (docs/lab2-kvsrv.md). Run with
//! `cargo test -p kvsrv-tests --test lab2b` or `make lab2b`; the test bodies are in
//! `suite/lab2b.rs`.
//!
//! Every test checks, at its end, that the history of all clerk operations (the locks' too) is
//! linearizable with the versioned KV model.

#[path = "suite/lab2b.rs"]
mod suite;

use kvsrv_tests::Reference;

labs::lab_test! {
    /// 6.5840: TestReliableBasic. One Acquire and one Release of a lock.
    fn reliable_basic_2b() {
        suite::reliable_basic::<Reference>();
    }

    /// 6.5840: TestReliableNested. One client takes and frees two locks in a nested order;
    /// locks with different names are independent.
    fn reliable_nested_2b() {
        suite::reliable_nested::<Reference>();
    }

    /// 6.5840: TestOneClientReliable. One lock client for 2 s on a reliable network.
    fn one_client_reliable_2b() {
        suite::one_client_reliable::<Reference>();
    }

    /// 6.5840: TestManyClientsReliable. Ten lock clients for 2 s on a reliable network: never
    /// two inside the lock at once.
    fn many_clients_reliable_2b() {
        suite::many_clients_reliable::<Reference>();
    }

    /// 6.5840: TestOneClientUnreliable. One lock client for 2 s on an unreliable network.
    fn one_client_unreliable_2b() {
        suite::one_client_unreliable::<Reference>();
    }

    /// 6.5840: TestManyClientsUnreliable. Ten lock clients for 2 s on an unreliable network:
    /// never two inside the lock at once.
    fn many_clients_unreliable_2b() {
        suite::many_clients_unreliable::<Reference>();
    }

    /// distlab: a Release by a client that does not hold the lock leaves it held (what keeps a
    /// retried Release from freeing a lock another client has taken since).
    fn release_not_held_2b() {
        suite::release_not_held::<Reference>();
    }
}
