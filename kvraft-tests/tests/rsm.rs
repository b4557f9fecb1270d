//! The rsm suite (docs/lab4-kvraft.md, 6.5840's 2025 `kvraft1/rsm` tests): the replicated state
//! machine layer on its own, with a counter as the service. Run with
//! `cargo test -p kvraft-tests --test rsm`.
//!
//! The 6.5840 names are TestBasic4A ... TestSnapshot4C; here the tests carry the suffix
//! `_rsm`, so that they are not confused with the KV tests of Lab 4A.

use kvraft::rsm::SubmitError;
use kvraft_tests::rsm::{CounterOp, NSEC, NSRV, Test};
use labs::sync::{Arc, unbounded};
use labs::time::{Duration, Instant, sleep};

labs::lab_test! {
    /// 6.5840: TestBasic4A (rsm). Ten sequential `Inc`s: the i-th returns i, and every
    /// server's counter reaches it.
    fn basic_rsm() {
        const NINC: u64 = 10;
        let ts = Test::new(-1);
        ts.begin("Test RSM basic");
        for i in 0..NINC {
            let n = ts.one_inc();
            assert_eq!(n, i + 1, "expected {} instead of {n}", i + 1);
            ts.check_counter(n, NSRV);
        }
        ts.end();
    }

    /// 6.5840: TestConcurrent4A (rsm). Fifty concurrent `Inc`s; every counter reaches 50.
    fn concurrent_rsm() {
        const NINC: u64 = 50;
        let ts = Arc::new(Test::new(-1));
        ts.begin("Test concurrent submit");
        let handles: Vec<_> = (0..NINC)
            .map(|_| {
                let ts = ts.clone();
                labs::thread::spawn("inc", move || ts.one_inc())
            })
            .collect();
        for h in handles {
            h.join().expect("an Inc failed");
        }
        ts.check_counter(NINC, NSRV);
        ts.end();
    }

    /// 6.5840: TestLeaderFailure4A (rsm). An `Inc`; the leader is cut off; another `Inc`
    /// reaches the two others; once the old leader is back, all three have it.
    fn leader_failure_rsm() {
        let ts = Test::new(-1);
        ts.begin("Test Leader Failure");
        let n = ts.one_inc();
        ts.check_counter(n, NSRV);
        let l = ts.disconnect_leader();
        let n = ts.one_inc();
        ts.check_counter(n, NSRV - 1);
        ts.connect(l);
        ts.check_counter(n, NSRV);
        ts.end();
    }

    /// 6.5840: TestLeaderPartition4A (rsm). The leader alone in a minority gets 100
    /// concurrent `Dec` submits, which must never commit (executing a `Dec` fails the test);
    /// an `Inc` succeeds in the majority, and reaches exactly the two majority servers
    /// (6.5840 counts them at once; this waits for the follower to apply it). Stricter than
    /// 6.5840, which looks at one `Dec` only: no `Dec` submit may return before the
    /// partition heals (checked after 1 s), and after it heals every one must return an error
    /// within 1 s.
    fn leader_partition_rsm() {
        const NDEC: usize = 100;
        let ts = Arc::new(Test::new(-1));
        ts.begin("Test Leader Partition");
        let n = ts.one_inc();
        ts.check_counter(n, NSRV);

        let l = ts.leader();
        let (p1, p2) = ts.group().make_partition(l);
        ts.partition(&p1, &p2);

        let (done_tx, done_rx) = unbounded();
        for _ in 0..NDEC {
            let (ts, done) = (ts.clone(), done_tx.clone());
            labs::thread::spawn("dec", move || {
                let _ = done.send(ts.submit(l, CounterOp::Dec));
            });
        }
        drop(done_tx);

        let n = ts.one_inc_partition(Some(&p1));
        // 6.5840 counts at once; the follower may not have applied the Inc yet, so wait for it.
        ts.check_counter(n, NSRV - 1);
        let p = ts.count_value(n);
        assert_eq!(p, NSRV - 1, "counter value {n} in {p} servers != {}", NSRV - 1);

        // The old leader must not have committed anything.
        if let Ok(r) = done_rx.recv_timeout(Duration::from_secs(1)) {
            panic!("a Dec submitted to the leader in the minority returned {r:?} before the partition healed");
        }

        ts.group().connect_all();
        let deadline = Instant::now() + Duration::from_secs(1);
        for k in 0..NDEC {
            match done_rx.recv_timeout(deadline.duration_since(Instant::now())) {
                Ok(Ok(r)) => panic!("a Dec in the minority completed: {r:?}"),
                Ok(Err(_)) => {}
                Err(_) => panic!("only {k} of the {NDEC} Dec submits returned within 1 s after healing"),
            }
        }
        ts.check_counter(n, NSRV);
        ts.end();
    }

    /// 6.5840: TestRestartReplay4A (rsm). 100 `Inc`s; every server shut down; 1 s later all
    /// restarted: the next `Inc` returns 101 (the log was replayed), and 1 s later every
    /// counter is 101.
    fn restart_replay_rsm() {
        const NINC: u64 = 100;
        let ts = Test::new(-1);
        ts.begin("Test Restart");
        for _ in 0..NINC {
            ts.one_inc();
        }
        ts.check_counter(NINC, NSRV);
        ts.shutdown();
        sleep(Duration::from_secs(1));
        ts.start_servers();
        let n = ts.one_inc();
        assert_eq!(n, NINC + 1, "expected {} got {n}", NINC + 1);
        sleep(Duration::from_secs(1));
        ts.check_counter(n, NSRV);
        ts.end();
    }

    /// 6.5840: TestShutdown4A (rsm). 100 concurrent `Null` submits; 20 ms later every server
    /// is shut down: every submit must return within `NSEC + 1` = 11 s (Raft's `kill` closes
    /// the apply channel, and the rsm fails the pending submits).
    fn shutdown_rsm() {
        let ts = Arc::new(Test::new(-1));
        ts.begin("Test Shutdown");
        submit_nulls_then_shutdown(&ts);
        ts.end();
    }

    /// 6.5840: TestRestartSubmit4A (rsm). As `restart_replay_rsm`; then 100 concurrent
    /// `Null` submits with every server shut down 20 ms later (they must return within 11 s);
    /// restart; an `Inc`, and every counter agrees.
    fn restart_submit_rsm() {
        const NINC: u64 = 100;
        let ts = Arc::new(Test::new(-1));
        ts.begin("Test Restart and submit");
        for _ in 0..NINC {
            ts.one_inc();
        }
        ts.check_counter(NINC, NSRV);
        ts.shutdown();
        sleep(Duration::from_secs(1));
        ts.start_servers();
        let n = ts.one_inc();
        assert_eq!(n, NINC + 1, "expected {} got {n}", NINC + 1);
        sleep(Duration::from_secs(1));

        submit_nulls_then_shutdown(&ts);

        ts.start_servers();
        let n = ts.one_inc();
        ts.check_counter(n, NSRV);
        ts.end();
    }

    /// 6.5840: TestSnapshot4C (rsm). With maxraftstate 1000: 100 `Inc`s; the persisted Raft
    /// state must be at most 2 x 1000 bytes; every server shut down and restarted (from its
    /// snapshot); one more `Inc` and every counter is 101.
    fn snapshot_rsm() {
        const N: u64 = 100;
        const MAXRAFTSTATE: i64 = 1000;
        let ts = Test::new(MAXRAFTSTATE);
        ts.begin("Test creating and restoring snapshot");
        for _ in 0..N {
            ts.one_inc();
        }
        ts.check_counter(N, NSRV);
        let sz = ts.log_size();
        assert!(sz as i64 <= 2 * MAXRAFTSTATE, "logs were not trimmed ({sz} > 2 * {MAXRAFTSTATE})");
        // Restart every server from its snapshot.
        ts.shutdown();
        ts.start_servers();
        ts.one_inc();
        ts.check_counter(N + 1, NSRV);
        ts.end();
    }
}

/// 100 concurrent `Null`s (each retried for up to `NSEC`), every server shut down 20 ms
/// later; all of them must be done within `NSEC + 1`.
fn submit_nulls_then_shutdown(ts: &Arc<Test>) {
    const NSUBMIT: usize = 100;
    let (done_tx, done_rx) = unbounded::<()>();
    for _ in 0..NSUBMIT {
        let (ts, done) = (ts.clone(), done_tx.clone());
        labs::thread::spawn("null", move || {
            ts.one_null();
            let _ = done.send(());
        });
    }
    drop(done_tx);
    // Give some submits time to start.
    sleep(Duration::from_millis(20));
    ts.shutdown();
    let deadline = Instant::now() + NSEC + Duration::from_secs(1);
    for k in 0..NSUBMIT {
        if done_rx.recv_timeout(deadline.duration_since(Instant::now())).is_err() {
            panic!(
                "submit didn't stop after shutdown: only {k} of {NSUBMIT} returned within {} s",
                NSEC.as_secs() + 1
            );
        }
    }
}

labs::lab_test! {
    /// Not in 6.5840 (an addition to `shutdown_rsm`, whose submits are rarely still pending
    /// when the servers go down): 20 submits wait at a leader cut off in a minority; when
    /// every server is shut down, each must return `Shutdown` within 1 s.
    fn shutdown_pending_rsm() {
        const NSUBMIT: usize = 20;
        let ts = Arc::new(Test::new(-1));
        ts.begin("Test Shutdown with pending submits");
        let n = ts.one_inc();
        ts.check_counter(n, NSRV);
        let l = ts.leader();
        let (p1, p2) = ts.group().make_partition(l);
        ts.partition(&p1, &p2);
        let (done_tx, done_rx) = unbounded();
        for _ in 0..NSUBMIT {
            let (ts, done) = (ts.clone(), done_tx.clone());
            labs::thread::spawn("null", move || {
                let _ = done.send(ts.submit(l, CounterOp::Null));
            });
        }
        drop(done_tx);
        if let Ok(r) = done_rx.recv_timeout(Duration::from_millis(500)) {
            panic!("a submit to the leader in the minority returned {r:?} before the shutdown");
        }
        ts.shutdown();
        let deadline = Instant::now() + Duration::from_secs(1);
        for k in 0..NSUBMIT {
            match done_rx.recv_timeout(deadline.duration_since(Instant::now())) {
                Ok(Err(SubmitError::Shutdown)) => {}
                Ok(other) => panic!("a pending submit returned {other:?} at shutdown, not Shutdown"),
                Err(_) => panic!("only {k} of the {NSUBMIT} pending submits returned within 1 s of the shutdown"),
            }
        }
        ts.end();
    }
}
