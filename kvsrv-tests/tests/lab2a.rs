//! Lab 2A: the key/value server and its clerk (docs/lab2-kvsrv.md). Run with
//! `cargo test -p kvsrv-tests --test lab2a` or `make lab2a`; the test bodies are in
//! `suite/lab2a.rs`.
//!
//! Every test checks, at its end, that the history of all clerk operations is linearizable
//! with the versioned KV model (6.5840 checks two of them).

#[path = "suite/lab2a.rs"]
mod suite;

use kvsrv_tests::Reference;

labs::lab_test! {
    /// 6.5840: TestReliablePut. One client on a reliable network: a Put at version 0 creates
    /// a key at version 1; a Put at a stale version is ErrVersion; a Put with version 1 to a
    /// missing key, and a Get of one, are ErrNoKey.
    fn reliable_put_2a() {
        suite::reliable_put::<Reference>();
    }

    /// 6.5840: TestPutConcurrentReliable. Ten clients race for 1 s to put to one key, each
    /// retrying at the version it reads; the key's final version must equal the number of
    /// puts that returned OK.
    fn put_concurrent_reliable_2a() {
        suite::put_concurrent_reliable::<Reference>();
    }

    /// 6.5840: TestMemPutManyClientsReliable. 20 000 clerks each put a 1000-byte value to one
    /// key in turn; the server's encoded state may grow by at most 1 byte per client (6.5840:
    /// 10 bytes of heap).
    fn mem_put_many_clients_reliable_2a() {
        suite::mem_put_many_clients_reliable::<Reference>();
    }

    /// 6.5840: TestUnreliableNet. One client on an unreliable network: 100 rounds of a Put
    /// that is repeated while it returns ErrMaybe; each round must apply exactly one Put, and
    /// ErrMaybe must have happened at least once.
    fn unreliable_net_2a() {
        suite::unreliable_net::<Reference>();
    }

    /// DSLabs: test06LongRunningWorkload (lab 1, part 3). Four clients put and get their own
    /// keys for 30 s on a reliable network; every operation must finish within 1 s.
    fn long_running_workload_2a() {
        suite::long_running_workload::<Reference>();
    }

    /// DSLabs: test05SingleClientFinishesUnreliable (lab 1, part 2). One client makes 25 puts
    /// over a link that loses about half of its messages; all must be applied within 30 s.
    fn unreliable_finishes_2a() {
        suite::unreliable_finishes::<Reference>();
    }
}
