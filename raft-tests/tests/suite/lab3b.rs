//! The bodies of the 3B suite (spec section 3.4), generic over the Raft implementation.
//! `raft/tests/lab3b.rs` runs them on the lab's `Raft`.

use labs::sync::{Arc, unbounded};
use labs::time::{Duration, sleep};
use raft_tests::{Config, ELECTION_TIMEOUT, RaftPeer, random_string};

/// A random command, like Go's `rand.Int()` (kept to 31 bits, like `rand.Int31()`).
fn rand_cmd() -> u64 {
    labs::rand::gen_range(0..(1u64 << 31))
}

/// 6.5840: TestBasicAgree3B.
pub fn basic_agree<R: RaftPeer>() {
    let servers = 3;
    let cfg = Config::<R>::new(servers, false, false);
    cfg.begin("Test (3B): basic agreement");

    let iters = 3;
    for index in 1..=iters {
        let (nd, _) = cfg.n_committed(index);
        assert!(nd == 0, "some have committed before start()");
        let xindex = cfg.one(index * 100, servers, false);
        assert_eq!(xindex, index, "got index {xindex} but expected {index}");
    }
    cfg.end();
}

/// 6.5840: TestRPCBytes3B. Check, based on counting bytes of RPCs, that each command is sent
/// to each peer just once.
pub fn rpc_bytes<R: RaftPeer>() {
    let servers = 3;
    let cfg = Config::<R>::new(servers, false, false);
    cfg.begin("Test (3B): RPC byte count");

    cfg.one(99, servers, false);
    let bytes0 = cfg.bytes_total();

    let iters = 10;
    let mut sent = 0u64;
    for index in 2..iters + 2 {
        let cmd = random_string(5000).into_bytes();
        sent += cmd.len() as u64;
        let xindex = cfg.one_bytes(cmd, servers, false);
        assert_eq!(xindex, index, "got index {xindex} but expected {index}");
    }

    let got = cfg.bytes_total() - bytes0;
    let expected = servers as u64 * sent;
    assert!(
        got <= expected + 50_000,
        "too many RPC bytes; got {got}, expected at most {} ({expected} + 50000)",
        expected + 50_000
    );
    cfg.end();
}

/// 6.5840: TestFollowerFailure3B. Test just failure of followers.
pub fn follower_failure<R: RaftPeer>() {
    let servers = 3;
    let cfg = Config::<R>::new(servers, false, false);
    cfg.begin("Test (3B): test progressive failure of followers");

    cfg.one(101, servers, false);

    // Disconnect one follower from the network.
    let leader1 = cfg.check_one_leader();
    cfg.disconnect((leader1 + 1) % servers);

    // The leader and remaining follower should be able to agree despite the disconnected
    // follower.
    cfg.one(102, servers - 1, false);
    sleep(ELECTION_TIMEOUT);
    cfg.one(103, servers - 1, false);

    // Disconnect the remaining follower.
    let leader2 = cfg.check_one_leader();
    cfg.disconnect((leader2 + 1) % servers);
    cfg.disconnect((leader2 + 2) % servers);

    // Submit a command.
    let (index, _) = cfg.start(leader2, 104).unwrap_or_else(|_| panic!("leader rejected start()"));
    assert_eq!(index, 4, "expected index 4, got {index}");

    sleep(2 * ELECTION_TIMEOUT);

    // Check that the command did not commit.
    let (n, _) = cfg.n_committed(index);
    assert!(n == 0, "{n} committed but no majority");
    cfg.end();
}

/// 6.5840: TestLeaderFailure3B. Test just failure of leaders.
pub fn leader_failure<R: RaftPeer>() {
    let servers = 3;
    let cfg = Config::<R>::new(servers, false, false);
    cfg.begin("Test (3B): test failure of leaders");

    cfg.one(101, servers, false);

    // Disconnect the first leader.
    let leader1 = cfg.check_one_leader();
    cfg.disconnect(leader1);

    // The remaining followers should elect a new leader.
    cfg.one(102, servers - 1, false);
    sleep(ELECTION_TIMEOUT);
    cfg.one(103, servers - 1, false);

    // Disconnect the new leader.
    let leader2 = cfg.check_one_leader();
    cfg.disconnect(leader2);

    // Submit a command to each server.
    for i in 0..servers {
        let _ = cfg.start(i, 104);
    }

    sleep(2 * ELECTION_TIMEOUT);

    // Check that the command did not commit.
    let (n, _) = cfg.n_committed(4);
    assert!(n == 0, "{n} committed but no majority");
    cfg.end();
}

/// 6.5840: TestFailAgree3B. Test that a follower participates after disconnect and
/// re-connect.
pub fn fail_agree<R: RaftPeer>() {
    let servers = 3;
    let cfg = Config::<R>::new(servers, false, false);
    cfg.begin("Test (3B): agreement after follower reconnects");

    cfg.one(101, servers, false);

    // Disconnect one follower from the network.
    let leader = cfg.check_one_leader();
    cfg.disconnect((leader + 1) % servers);

    // The leader and remaining follower should be able to agree despite the disconnected
    // follower.
    cfg.one(102, servers - 1, false);
    cfg.one(103, servers - 1, false);
    sleep(ELECTION_TIMEOUT);
    cfg.one(104, servers - 1, false);
    cfg.one(105, servers - 1, false);

    // Re-connect.
    cfg.connect((leader + 1) % servers);

    // The full set of servers should preserve previous agreements, and be able to agree on
    // new commands.
    cfg.one(106, servers, true);
    sleep(ELECTION_TIMEOUT);
    cfg.one(107, servers, true);
    cfg.end();
}

/// 6.5840: TestFailNoAgree3B.
pub fn fail_no_agree<R: RaftPeer>() {
    let servers = 5;
    let cfg = Config::<R>::new(servers, false, false);
    cfg.begin("Test (3B): no agreement if too many followers disconnect");

    cfg.one(10, servers, false);

    // 3 of 5 followers disconnect.
    let leader = cfg.check_one_leader();
    cfg.disconnect((leader + 1) % servers);
    cfg.disconnect((leader + 2) % servers);
    cfg.disconnect((leader + 3) % servers);

    let (index, _) = cfg.start(leader, 20).unwrap_or_else(|_| panic!("leader rejected start()"));
    assert_eq!(index, 2, "expected index 2, got {index}");

    sleep(2 * ELECTION_TIMEOUT);

    let (n, _) = cfg.n_committed(index);
    assert!(n == 0, "{n} committed but no majority");

    // Repair.
    cfg.connect((leader + 1) % servers);
    cfg.connect((leader + 2) % servers);
    cfg.connect((leader + 3) % servers);

    // The disconnected majority may have chosen a leader from among their own ranks,
    // forgetting index 2.
    let leader2 = cfg.check_one_leader();
    let (index2, _) = cfg.start(leader2, 30).unwrap_or_else(|_| panic!("leader2 rejected start()"));
    assert!((2..=3).contains(&index2), "unexpected index {index2}");

    cfg.one(1000, servers, true);
    cfg.end();
}

/// 6.5840: TestConcurrentStarts3B.
pub fn concurrent_starts<R: RaftPeer>() {
    let servers = 3;
    let cfg = Arc::new(Config::<R>::new(servers, false, false));
    cfg.begin("Test (3B): concurrent Start()s");

    let mut success = false;
    'tries: for attempt in 0..5 {
        if attempt > 0 {
            // Give the solution some time to settle.
            sleep(Duration::from_secs(3));
        }

        let leader = cfg.check_one_leader();
        let Ok((_, term)) = cfg.start(leader, 1) else {
            // Leader moved on really quickly.
            continue;
        };

        let iters = 5;
        let (tx, rx) = unbounded();
        let mut clients = Vec::new();
        for ii in 0..iters {
            let (cfg, tx) = (cfg.clone(), tx.clone());
            clients.push(labs::thread::spawn(format!("client-{ii}"), move || {
                if let Ok((i, term1)) = cfg.start(leader, 100 + ii)
                    && term1 == term
                {
                    let _ = tx.send(i);
                }
            }));
        }
        drop(tx);
        for c in clients {
            c.join().expect("a client thread failed");
        }

        for j in 0..servers {
            if cfg.state(j).0 != term {
                // Term changed -- can't expect low RPC counts.
                continue 'tries;
            }
        }

        let mut cmds = Vec::new();
        for index in rx.iter() {
            match cfg.wait(index, servers, Some(term)) {
                Some(cmd) => cmds.push(cmd),
                // Peers have moved on to later terms so we can't expect all starts to have
                // succeeded.
                None => continue 'tries,
            }
        }

        for ii in 0..iters {
            let x = 100 + ii;
            assert!(cmds.contains(&x), "cmd {x} missing in {cmds:?}");
        }
        success = true;
        break;
    }

    assert!(success, "term changed too often");
    cfg.end();
}

/// 6.5840: TestRejoin3B.
pub fn rejoin<R: RaftPeer>() {
    let servers = 3;
    let cfg = Config::<R>::new(servers, false, false);
    cfg.begin("Test (3B): rejoin of partitioned leader");

    cfg.one(101, servers, true);

    // Leader network failure.
    let leader1 = cfg.check_one_leader();
    cfg.disconnect(leader1);

    // Make the old leader try to agree on some entries.
    let _ = cfg.start(leader1, 102);
    let _ = cfg.start(leader1, 103);
    let _ = cfg.start(leader1, 104);

    // The new leader commits, also for index=2.
    cfg.one(103, 2, true);

    // New leader network failure.
    let leader2 = cfg.check_one_leader();
    cfg.disconnect(leader2);

    // Old leader connected again.
    cfg.connect(leader1);

    cfg.one(104, 2, true);

    // All together now.
    cfg.connect(leader2);

    cfg.one(105, servers, true);
    cfg.end();
}

/// 6.5840: TestBackup3B.
pub fn backup<R: RaftPeer>() {
    let servers = 5;
    let cfg = Config::<R>::new(servers, false, false);
    cfg.begin("Test (3B): leader backs up quickly over incorrect follower logs");

    cfg.one(rand_cmd(), servers, true);

    // Put the leader and one follower in a partition.
    let leader1 = cfg.check_one_leader();
    cfg.disconnect((leader1 + 2) % servers);
    cfg.disconnect((leader1 + 3) % servers);
    cfg.disconnect((leader1 + 4) % servers);

    // Submit lots of commands that won't commit.
    for _ in 0..50 {
        let _ = cfg.start(leader1, rand_cmd());
    }

    sleep(ELECTION_TIMEOUT / 2);

    cfg.disconnect(leader1 % servers);
    cfg.disconnect((leader1 + 1) % servers);

    // Allow the other partition to recover.
    cfg.connect((leader1 + 2) % servers);
    cfg.connect((leader1 + 3) % servers);
    cfg.connect((leader1 + 4) % servers);

    // Lots of successful commands to the new group.
    for _ in 0..50 {
        cfg.one(rand_cmd(), 3, true);
    }

    // Now another partitioned leader and one follower.
    let leader2 = cfg.check_one_leader();
    let mut other = (leader1 + 2) % servers;
    if leader2 == other {
        other = (leader2 + 1) % servers;
    }
    cfg.disconnect(other);

    // Lots more commands that won't commit.
    for _ in 0..50 {
        let _ = cfg.start(leader2, rand_cmd());
    }

    sleep(ELECTION_TIMEOUT / 2);

    // Bring the original leader back to life.
    for i in 0..servers {
        cfg.disconnect(i);
    }
    cfg.connect(leader1 % servers);
    cfg.connect((leader1 + 1) % servers);
    cfg.connect(other);

    // Lots of successful commands to the new group.
    for _ in 0..50 {
        cfg.one(rand_cmd(), 3, true);
    }

    // Now everyone.
    for i in 0..servers {
        cfg.connect(i);
    }
    cfg.one(rand_cmd(), servers, true);
    cfg.end();
}

/// 6.5840: TestCount3B.
pub fn count<R: RaftPeer>() {
    let servers = 3;
    let cfg = Config::<R>::new(servers, false, false);
    cfg.begin("Test (3B): RPC counts aren't too high");

    let rpcs = || (0..servers).map(|j| cfg.rpc_count(j)).sum::<u64>();

    let mut leader = cfg.check_one_leader();

    let mut total1 = rpcs();
    assert!((1..=30).contains(&total1), "too many or few RPCs ({total1}) to elect initial leader");

    let mut total2 = 0;
    let mut success = false;
    'tries: for attempt in 0..5 {
        if attempt > 0 {
            // Give the solution some time to settle.
            sleep(Duration::from_secs(3));
        }

        leader = cfg.check_one_leader();
        total1 = rpcs();

        let iters = 10;
        let Ok((starti, term)) = cfg.start(leader, 1) else {
            // Leader moved on really quickly.
            continue;
        };
        let mut cmds = Vec::new();
        for i in 1..iters + 2 {
            let x = rand_cmd();
            cmds.push(x);
            match cfg.start(leader, x) {
                Ok((index1, term1)) if term1 == term => {
                    assert_eq!(
                        starti + i,
                        index1,
                        "start() failed: expected index {}, got {index1}",
                        starti + i
                    );
                }
                // Term changed while starting, or no longer leader.
                _ => continue 'tries,
            }
        }

        for i in 1..iters + 1 {
            match cfg.wait(starti + i, servers, Some(term)) {
                Some(cmd) if cmd == cmds[i as usize - 1] => {}
                // Term changed -- try again.
                None => continue 'tries,
                Some(cmd) => panic!(
                    "wrong value {cmd} committed for index {}; expected {}",
                    starti + i,
                    cmds[i as usize - 1]
                ),
            }
        }

        let mut failed = false;
        total2 = 0;
        for j in 0..servers {
            if cfg.state(j).0 != term {
                // Term changed -- can't expect low RPC counts; need to keep going to update
                // total2.
                failed = true;
            }
            total2 += cfg.rpc_count(j);
        }
        if failed {
            continue 'tries;
        }

        let limit = (iters + 1 + 3) * 3;
        assert!(
            total2 - total1 <= limit,
            "too many RPCs ({}) for {iters} entries (at most {limit})",
            total2 - total1
        );
        success = true;
        break;
    }
    assert!(success, "term changed too often");
    let _ = leader;

    sleep(ELECTION_TIMEOUT);

    let total3 = rpcs();
    assert!(
        total3 - total2 <= 3 * 20,
        "too many RPCs ({}) for 1 second of idleness (at most 60)",
        total3 - total2
    );
    cfg.end();
}
