//! Lab 4B: the KV service with snapshots (docs/lab4-kvraft.md, `maxraftstate = 1000`). Run with
//! `cargo test -p kvraft-tests --test lab4b` or `make lab4b`.
//!
//! Every test checks, at its end, that the history of all clerk operations is linearizable
//! (6.5840 checks only the generic tests' histories).

#[allow(dead_code)]
#[path = "suite/rules.rs"]
mod rules;

use kvraft_tests::{ELECTION_TIMEOUT, Reference, generic_test, generic_test_speed, make_config};
use labs::time::sleep;

/// The `maxraftstate` of 4B: servers snapshot when their Raft state reaches 1000 bytes.
const MAXRAFTSTATE: i64 = 1000;

labs::lab_test! {
    /// 6.5840: TestSnapshotRPC4B. On 3 servers: Put a=A; with server 2 cut off, 50 Puts
    /// and b=B in the majority, whose logs must then be trimmed (at most 8 x 1000 bytes);
    /// then with server 1 cut off instead, servers 0 and 2 must serve c, d and the old keys,
    /// so the lagging server 2 has to catch up, through InstallSnapshot since the log it
    /// lacks is gone; then all together. Stricter than 6.5840: server 2 must actually have
    /// received an InstallSnapshot.
    fn snapshot_rpc_4b() {
        let cfg = make_config(3, false, MAXRAFTSTATE);
        let mut ck = cfg.make_client(&cfg.all());
        cfg.begin("Test: InstallSnapshot RPC (4B)");

        ck.put("a", "A");
        ck.check("a", "A");

        // A bunch of puts into the majority partition.
        cfg.partition(&[0, 1], &[2]);
        {
            let mut ck1 = cfg.make_client(&[0, 1]);
            for i in 0..50 {
                ck1.put(&i.to_string(), &i.to_string());
            }
            sleep(ELECTION_TIMEOUT);
            ck1.put("b", "B");
        }

        // Check that the majority partition has thrown away most of its log entries.
        let sz = cfg.log_size();
        assert!(sz as i64 <= 8 * MAXRAFTSTATE, "logs were not trimmed ({sz} > 8*{MAXRAFTSTATE})");

        // Now make a group that requires the participation of the lagging server, so that
        // it has to catch up.
        let since = labs::events::now();
        cfg.partition(&[0, 2], &[1]);
        {
            let mut ck1 = cfg.make_client(&[0, 2]);
            ck1.put("c", "C");
            ck1.put("d", "D");
            ck1.check("a", "A");
            ck1.check("b", "B");
            ck1.check("1", "1");
            ck1.check("49", "49");
        }
        let installs = cfg.delivered_to(2, "Raft.InstallSnapshot", since);
        assert!(installs > 0, "the lagging server 2 caught up without receiving an InstallSnapshot RPC");

        // Now everybody.
        cfg.partition(&[0, 1, 2], &[]);
        ck.put("e", "E");
        ck.check("c", "C");
        ck.check("e", "E");
        ck.check("1", "1");
        drop(ck);
        cfg.end();
    }

    /// 6.5840: TestSnapshotSize4B. On 3 servers, 200 rounds of (Put x=0, check, Put x=1,
    /// check): the logs must be trimmed (at most 8 x 1000 bytes) and the snapshots at most
    /// 500 bytes.
    fn snapshot_size_4b() {
        const MAX_SNAPSHOT_STATE: usize = 500;
        let cfg = make_config(3, false, MAXRAFTSTATE);
        let mut ck = cfg.make_client(&cfg.all());
        cfg.begin("Test: snapshot size is reasonable (4B)");
        for _ in 0..200 {
            ck.put("x", "0");
            ck.check("x", "0");
            ck.put("x", "1");
            ck.check("x", "1");
        }
        // Check that the servers have thrown away most of their log entries.
        let sz = cfg.log_size();
        assert!(sz as i64 <= 8 * MAXRAFTSTATE, "logs were not trimmed ({sz} > 8*{MAXRAFTSTATE})");
        // Check that the snapshots are not unreasonably large.
        let ssz = cfg.snapshot_size();
        assert!(ssz <= MAX_SNAPSHOT_STATE, "snapshot too large ({ssz} > {MAX_SNAPSHOT_STATE})");
        drop(ck);
        cfg.end();
    }

    /// 6.5840: TestSpeed4B. 1000 sequential Appends on 3 servers with snapshots, under
    /// 33.3 ms each.
    fn speed_4b() {
        generic_test_speed("4B", MAXRAFTSTATE);
    }

    /// 6.5840: TestSnapshotRecover4B. 1 client, 5 servers, restarts, snapshots.
    fn snapshot_recover_4b() {
        generic_test("4B", 1, 5, false, true, false, MAXRAFTSTATE, false);
    }

    /// 6.5840: TestSnapshotRecoverManyClients4B. 20 clients, 5 servers, restarts,
    /// snapshots.
    fn snapshot_recover_many_clients_4b() {
        generic_test("4B", 20, 5, false, true, false, MAXRAFTSTATE, false);
    }

    /// 6.5840: TestSnapshotUnreliable4B. 5 clients, 5 servers, unreliable network,
    /// snapshots.
    fn snapshot_unreliable_4b() {
        generic_test("4B", 5, 5, true, false, false, MAXRAFTSTATE, false);
    }

    /// 6.5840: TestSnapshotUnreliableRecover4B. 5 clients, 5 servers, unreliable network,
    /// restarts, snapshots.
    fn snapshot_unreliable_recover_4b() {
        generic_test("4B", 5, 5, true, true, false, MAXRAFTSTATE, false);
    }

    /// 6.5840: TestSnapshotUnreliableRecoverConcurrentPartition4B. 5 clients, 5 servers,
    /// unreliable network, restarts, partitions, snapshots.
    fn snapshot_unreliable_recover_concurrent_partition_4b() {
        generic_test("4B", 5, 5, true, true, true, MAXRAFTSTATE, false);
    }

    /// 6.5840: TestSnapshotUnreliableRecoverConcurrentPartitionLinearizable4B. 15 clients
    /// on 7 servers, unreliable network, restarts, partitions, snapshots, random keys.
    fn snapshot_unreliable_recover_concurrent_partition_linearizable_4b() {
        generic_test("4B", 15, 7, true, true, true, MAXRAFTSTATE, true);
    }
}

// Beyond 6.5840: each checks one rule of the lab (see docs/lab4-kvraft.md, "What the tests
// check").
labs::lab_test! {
    /// The duplicate table is in the snapshot: a retry after every server restarted from a
    /// snapshot is still detected.
    fn dup_table_in_snapshot_4b() {
        rules::dup_table_in_snapshot::<Reference>();
    }
}
