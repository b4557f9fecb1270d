//! Lab 5A, the shard groups' part (docs/lab5-shardkv.md): static shards and rejection. Run with
//! `cargo test -p shardkv-tests --test lab5a` (`make lab5a` also runs the controller suite,
//! `tests/ctrler.rs`, which is part of 5A).

use labs::sync::{Arc, unbounded};
use labs::time::Duration;
use shardkv_tests::kv::{Config, check};
use shardkv_tests::random_string;

/// Puts 10 keys "0".."9" (one per shard) with random values of `len` characters; checks them.
fn put_keys(cfg: &Config, len: usize) -> (Vec<String>, Vec<String>) {
    let mut ck = cfg.make_client();
    let ka: Vec<String> = (0..10).map(|i| i.to_string()).collect();
    let va: Vec<String> = (0..10).map(|_| random_string(len)).collect();
    for (k, v) in ka.iter().zip(&va) {
        ck.put(k, v);
    }
    for (k, v) in ka.iter().zip(&va) {
        check(&mut ck, k, v);
    }
    (ka, va)
}

/// Each of `clerks` gets one key; counts the Gets that complete until none has for 2 s.
/// A wrong value fails at once.
fn count_completions(clerks: Vec<shardkv::Clerk>, ka: &[String], va: &[String]) -> usize {
    let (tx, rx) = unbounded();
    for ((mut ck, k), v) in clerks.into_iter().zip(ka.iter().cloned()).zip(va.iter().cloned()) {
        let tx = tx.clone();
        labs::thread::spawn("getter", move || {
            let got = ck.get(&k);
            let msg = if got == v {
                String::new()
            } else if got.is_empty() {
                format!("Get({k}): returned \"\": a group answered for a shard it does not serve")
            } else {
                format!("Get({k}): expected:\n{v}\nreceived:\n{got}")
            };
            let _ = tx.send(msg);
        });
    }
    let mut ndone = 0;
    while let Ok(err) = rx.recv_timeout(Duration::from_secs(2)) {
        assert!(err.is_empty(), "{err}");
        ndone += 1;
    }
    ndone
}

labs::lab_test! {
    /// 6.5840: TestStaticShards5A. Two groups; with group 101 shut down (and no snapshots
    /// allowed), exactly the 5 Gets of group 100's shards complete, none wrong; after a
    /// restart, every key reads back.
    fn static_shards_5a() {
        let cfg = Config::new(3, false, -1);
        cfg.begin("Test (5A): static shards");
        cfg.join(0);
        cfg.join(1);
        let (ka, va) = put_keys(&cfg, 20);

        // Make sure that the data really is sharded by shutting down one group and checking
        // that some Gets don't succeed.
        cfg.shutdown_group(1);
        cfg.checklogs(); // forbid snapshots
        let clerks = (0..ka.len()).map(|_| cfg.make_client()).collect();
        let ndone = count_completions(clerks, &ka, &va);
        assert_eq!(ndone, 5, "expected 5 completions with one shard dead; got {ndone}");

        // Bring the crashed group back to life.
        cfg.start_group(1);
        let mut ck = cfg.make_client();
        for (k, v) in ka.iter().zip(&va) {
            check(&mut ck, k, v);
        }
        cfg.end();
    }

    /// 6.5840: TestRejection5A (2024). Clerks of a second controller service that knows only
    /// group 100 send every key there: group 100 must reject the shards it does not own, so
    /// exactly 5 Gets complete, and none returns "".
    fn rejection_5a() {
        let cfg = Arc::new(Config::new(3, false, -1));
        cfg.begin("Test (5A): rejection");
        cfg.join(0);
        cfg.join(1);
        let (ka, va) = put_keys(&cfg, 20);

        // Now a second controller service that only knows about group 0.
        let ctl = cfg.start_ctrler_service();
        cfg.ctljoin(0, &ctl);
        let clerks = (0..ka.len()).map(|_| cfg.make_client_of(&ctl)).collect();
        let ndone = count_completions(clerks, &ka, &va);
        assert_eq!(ndone, 5, "expected 5 completions; got {ndone}");
        cfg.end();
    }
}
