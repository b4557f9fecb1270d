//! Faults around single calls, beyond the 6.5840 suites: what a clerk does when the server
//! it is waiting on dies. Run with `cargo test -p kvraft-tests --test faults`.

use kvraft_tests::make_config;
use labs::sync::{Arc, unbounded};
use labs::time::{Duration, sleep};

labs::lab_test! {
    /// A clerk's Append waits at a leader cut off in a minority; the leader crashes while
    /// the call is in flight. The clerk must retry at the other servers, and the Append must
    /// take effect exactly once (the crashed leader's copy of it never commits, and a
    /// restart does not bring it back); the history must be linearizable.
    fn clerk_retries_when_server_dies_mid_call() {
        let cfg = Arc::new(make_config(5, false, -1));
        let mut ck = cfg.make_client(&cfg.all());
        cfg.begin("Test: a server dies during a clerk's call");
        ck.put("k", "a");
        let leader = cfg.leader().expect("a leader after the first Put");
        let (p1, p2) = cfg.make_partition();
        cfg.partition(&p1, &p2);

        // A clerk that can only reach the old leader.
        let mut ck1 = cfg.make_client(&[leader]);
        let id = ck1.id();
        let (done_tx, done_rx) = unbounded();
        labs::world::World::current().node("client-1").spawn("append", move || {
            ck1.append("k", "x");
            let _ = done_tx.send(());
        });
        sleep(Duration::from_secs(1));
        assert!(done_rx.try_recv().is_err(), "an Append at a leader in a minority completed");

        // Let the clerk reach every server, then crash the leader under its call.
        cfg.connect_client_id(id, &cfg.all());
        cfg.shutdown_server(leader);
        if done_rx.recv_timeout(Duration::from_secs(5)).is_err() {
            panic!("the clerk did not complete its Append elsewhere within 5 s of the crash");
        }
        ck.check("k", "ax");

        cfg.start_server(leader);
        cfg.connect_all();
        sleep(Duration::from_secs(2));
        ck.check("k", "ax");
        drop(ck);
        cfg.end();
    }
}
