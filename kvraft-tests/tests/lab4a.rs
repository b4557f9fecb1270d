//! Lab 4A: the KV service without snapshots (docs/lab4-kvraft.md, `maxraftstate = -1`). Run with
//! `cargo test -p kvraft-tests --test lab4a` or `make lab4a`.
//!
//! Every test checks, at its end, that the history of all clerk operations is linearizable
//! (6.5840 checks only the generic tests' histories).

#[allow(dead_code)]
#[path = "suite/rules.rs"]
mod rules;

use kvraft_tests::{Reference, check_concurrent_appends, generic_test, generic_test_speed, make_config};
use labs::sync::Arc;

labs::lab_test! {
    /// 6.5840: TestBasic4A. "one client": 1 client, 5 servers, reliable, no crashes, no
    /// partitions.
    fn basic_4a() {
        generic_test("4A", 1, 5, false, false, false, -1, false);
    }

    /// 6.5840: TestSpeed4A. 1000 sequential Appends on 3 servers, under 33.3 ms each.
    fn speed_4a() {
        generic_test_speed("4A", -1);
    }

    /// 6.5840: TestConcurrent4A. "many clients": 5 clients, 5 servers.
    fn concurrent_4a() {
        generic_test("4A", 5, 5, false, false, false, -1, false);
    }

    /// 6.5840: TestUnreliable4A. 5 clients, 5 servers, unreliable network.
    fn unreliable_4a() {
        generic_test("4A", 5, 5, true, false, false, -1, false);
    }

    /// 6.5840: TestUnreliableOneKey4A. On 3 servers and an unreliable network, 5 clients
    /// append 10 elements each to one key: the value holds every element once, each client's
    /// in order. 6.5840 checks no history here; this test checks it exactly
    /// (`Config::check_appends_linearizable`: the order of the elements must respect real
    /// time), since the checker's search would have to try the interleavings.
    fn unreliable_one_key_4a() {
        let cfg = Arc::new(make_config(3, true, -1));
        let mut ck = cfg.make_client(&cfg.all());
        cfg.begin("Test: concurrent append to same key, unreliable (4A)");
        ck.put("k", "");
        const NCLIENT: usize = 5;
        const UPTO: usize = 10;
        let handles: Vec<_> = (0..NCLIENT)
            .map(|me| {
                let cfg = cfg.clone();
                labs::world::World::current().node(format!("client-{me}")).spawn("client", move || {
                    let mut myck = cfg.make_client(&cfg.all());
                    for n in 0..UPTO {
                        myck.append("k", &format!("x {me} {n} y"));
                    }
                })
            })
            .collect();
        for (me, h) in handles.into_iter().enumerate() {
            h.join().unwrap_or_else(|e| panic!("client {me} failed: {e}"));
        }
        let counts = vec![UPTO; NCLIENT];
        let vx = ck.get("k");
        check_concurrent_appends(&vx, &counts);
        // The checker's search is exponential on this history (50 concurrent appends, one
        // read); this exact check replaces it.
        cfg.check_appends_linearizable("k", &vx);
        drop(ck);
        cfg.end();
    }

    /// 6.5840: TestOnePartition4A. Three sub-tests on 5 servers with the leader in the
    /// 2-server minority: the majority makes progress; two clerks in the minority (a Put and a
    /// Get) must not finish within 1 s, while the majority still reads and writes; after the
    /// partition heals (and 1 s), the minority's Put must finish within 3 s and its value
    /// win. Stricter than 6.5840, which only polls the minority's Get once: the Get must
    /// finish within those 3 s too.
    fn one_partition_4a() {
        rules::one_partition::<Reference>();
    }

    /// 6.5840: TestManyPartitionsOneClient4A. 1 client, 5 servers, partitions.
    fn many_partitions_one_client_4a() {
        generic_test("4A", 1, 5, false, false, true, -1, false);
    }

    /// 6.5840: TestManyPartitionsManyClients4A. 5 clients, 5 servers, partitions.
    fn many_partitions_many_clients_4a() {
        generic_test("4A", 5, 5, false, false, true, -1, false);
    }

    /// 6.5840: TestPersistOneClient4A. 1 client, 5 servers, restarts.
    fn persist_one_client_4a() {
        generic_test("4A", 1, 5, false, true, false, -1, false);
    }

    /// 6.5840: TestPersistConcurrent4A. 5 clients, 5 servers, restarts.
    fn persist_concurrent_4a() {
        generic_test("4A", 5, 5, false, true, false, -1, false);
    }

    /// 6.5840: TestPersistConcurrentUnreliable4A. 5 clients, 5 servers, unreliable network,
    /// restarts.
    fn persist_concurrent_unreliable_4a() {
        generic_test("4A", 5, 5, true, true, false, -1, false);
    }

    /// 6.5840: TestPersistPartition4A. 5 clients, 5 servers, restarts, partitions.
    fn persist_partition_4a() {
        generic_test("4A", 5, 5, false, true, true, -1, false);
    }

    /// 6.5840: TestPersistPartitionUnreliable4A. 5 clients, 5 servers, unreliable network,
    /// restarts, partitions.
    fn persist_partition_unreliable_4a() {
        generic_test("4A", 5, 5, true, true, true, -1, false);
    }

    /// 6.5840: TestPersistPartitionUnreliableLinearizable4A. 15 clients on 7 servers,
    /// unreliable network, restarts, partitions, random keys (only the linearizability
    /// check judges the values).
    fn persist_partition_unreliable_linearizable_4a() {
        generic_test("4A", 15, 7, true, true, true, -1, true);
    }
}

// Beyond 6.5840: each checks one rule of the lab (see docs/lab4-kvraft.md, "What the tests
// check").
labs::lab_test! {
    /// The lab's efficiency rule: a clerk remembers the leader (about one RPC per operation in
    /// a stable cluster).
    fn clerk_remembers_leader_4a() {
        rules::clerk_remembers_leader::<Reference>();
    }

    /// At-most-once: an Append whose reply was lost, retried at the same leader, is applied
    /// once.
    fn retry_after_lost_reply_4a() {
        rules::retry_after_lost_reply::<Reference>();
    }

    /// The rsm answers a request only when its own operation committed at its index (a leader
    /// deposed in a minority must not answer with the majority's operations).
    fn answers_only_its_own_operation_4a() {
        rules::answers_only_its_own_operation::<Reference>();
    }

    /// At-most-once, in the replicated state: the retry reaches a new leader.
    fn retry_at_new_leader_4a() {
        rules::retry_at_new_leader::<Reference>();
    }
}
