//! Lab 5's challenges (docs/lab5-shardkv.md; "5C" here): shard deletion, and access to
//! unaffected shards during migration. Run with `cargo test -p shardkv-tests --test lab5c` or
//! `make lab5c`.

#[allow(dead_code)]
#[path = "suite/rules.rs"]
mod rules;

use labs::time::{Duration, sleep};
use shardkv::key2shard;
use shardkv::{Clerk, NSHARDS};
use shardkv_tests::kv::{Config, Reference, check, gid};

fn put_keys(ck: &mut Clerk, n: usize, value: impl Fn() -> String) -> (Vec<String>, Vec<String>) {
    let ka: Vec<String> = (0..n).map(|i| i.to_string()).collect();
    let va: Vec<String> = (0..n).map(|_| value()).collect();
    for (k, v) in ka.iter().zip(&va) {
        ck.put(k, v);
    }
    (ka, va)
}

/// Keys of the shards `owned` must read `va` and take a Put, then read it back.
fn check_owned(ck: &mut Clerk, ka: &[String], va: &[String], owned: &[bool; NSHARDS], suffix: &str) {
    for (k, v) in ka.iter().zip(va) {
        if owned[key2shard(k)] {
            check(ck, k, v);
            let nv = format!("{v}{suffix}");
            ck.put(k, &nv);
            check(ck, k, &nv);
        }
    }
}

labs::lab_test! {
    /// 6.5840: TestChallenge1Delete. maxraftstate 1 (a snapshot after every entry); 30 keys of
    /// 1000 bytes move through two rounds of joins and leaves; then the sum over all servers
    /// of persisted Raft state and snapshot must be at most 3 × ((30 − 3) × 1000 + 2 × 3 × 1000
    /// + 6000) = 117 000 bytes: groups must delete the shards they no longer own.
    fn challenge1_delete_5c() {
        rules::challenge1_delete::<Reference>();
    }

    /// 6.5840: TestChallenge2Unaffected. Group 101 joins and gets some shards; group 100 is
    /// shut down and leaves, so 101 can never fetch 100's other shards; 101's own shards must
    /// still be readable and writable (a hang fails by the 120 s limit). Deviation: the shards
    /// written with "101" are those of the keys (6.5840 indexes the owned-shard table by key
    /// number, not by shard, for that step; the checked set is the same).
    fn challenge2_unaffected_5c() {
        let cfg = Config::new(3, true, 100);
        cfg.begin("Test: unaffected shard access (challenge 2)");
        let mut ck = cfg.make_client();
        cfg.join(0);
        let (ka, mut va) = put_keys(&mut ck, 10, || "100".to_string());
        cfg.join(1);
        let c = cfg.query();
        let owned: [bool; NSHARDS] = std::array::from_fn(|s| c.shards[s] == gid(1));
        // Wait for migration to the new config to complete.
        sleep(Duration::from_secs(1));
        for (k, v) in ka.iter().zip(va.iter_mut()) {
            if owned[key2shard(k)] {
                *v = "101".to_string();
                ck.put(k, v);
            }
        }
        cfg.shutdown_group(0);
        // 101 doesn't get a chance to migrate things previously owned by 100.
        cfg.leave(0);
        sleep(Duration::from_secs(1));
        check_owned(&mut ck, &ka, &va, &owned, "-1");
        cfg.end();
    }

    /// 6.5840: TestChallenge2Partial. All three groups join at once; group 100 is shut down
    /// and groups 100 and 102 leave: 101 can fetch 102's shards but never 100's, and must
    /// serve the former 102 shards as soon as it has them.
    fn challenge2_partial_5c() {
        let cfg = Config::new(3, true, 100);
        cfg.begin("Test: partial migration shard access (challenge 2)");
        let mut ck = cfg.make_client();
        cfg.joinm(&[0, 1, 2]);
        sleep(Duration::from_secs(1));
        let (ka, va) = put_keys(&mut ck, 10, || "100".to_string());
        let c = cfg.query();
        let owned: [bool; NSHARDS] = std::array::from_fn(|s| c.shards[s] == gid(2));
        cfg.shutdown_group(0);
        cfg.leavem(&[0, 2]);
        sleep(Duration::from_secs(1));
        check_owned(&mut ck, &ka, &va, &owned, "-2");
        cfg.end();
    }
}
