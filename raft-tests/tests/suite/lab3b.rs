//! The bodies of the 3B suite (6.5840 Lab 3B, `raft/test_test.go`), generic over the Raft implementation.
//! `raft-tests/tests/lab3b.rs` runs them on the lab's `Raft`.

use labs::sync::{Arc, unbounded};
use labs::time::{Duration, sleep};
use raft_tests::script::{Answer, Bench, entry};
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

// ---- Beyond 6.5840: checks aimed at single rules of Figure 2 and of the lab ----------------

/// The message rule of the AppendEntries receiver, for the scripted tests below.
const RULE2: &str = "Figure 2, AppendEntries receiver rule 2: reply false if the log has no entry at \
                     prevLogIndex whose term matches prevLogTerm";

/// Figure 2, AppendEntries receiver rule 2: a follower accepts entries only after an entry
/// that matches the leader's (scripted).
pub fn append_rejects_mismatch<R: RaftPeer>() {
    let b = Bench::<R>::new(3);
    b.frame().begin("Test (3B): AppendEntries checks the previous entry (scripted)");
    b.doing("AppendEntries(term 1, prev 0, entries a b c) to an empty peer");
    let r = b.append(1, 1, (0, 0), vec![entry(1, "a"), entry(1, "b"), entry(1, "c")], 0);
    if !r.success {
        b.fail(format!(
            "server 0 refused ({r:?}) the first entries of term 1, after prev index 0 (which always matches)"
        ));
    }
    b.doing("AppendEntries(term 1, prev 5 of term 1): beyond the end of the peer's log");
    let r = b.append(1, 1, (5, 1), vec![entry(1, "x")], 0);
    if r.success {
        b.fail(format!("server 0 accepted entries after index 5, but its log ends at index 3 ({RULE2})"));
    }
    b.doing("AppendEntries(term 2, prev 2 of term 2): the peer's entry 2 is of term 1");
    let r = b.append(2, 2, (2, 2), vec![entry(2, "y")], 0);
    if r.success {
        b.fail(format!(
            "server 0 accepted entries after index 2 of term 2, but its entry at index 2 is of term 1 ({RULE2})"
        ));
    }
    b.doing("AppendEntries(term 3, prev 3 of term 1, commit 3): matching");
    let r = b.append(3, 1, (3, 1), vec![], 3);
    if !r.success {
        b.fail(format!("server 0 refused ({r:?}) a heartbeat whose prev entry (3, term 1) it holds"));
    }
    b.expect_applied(&[(1, "a"), (2, "b"), (3, "c")], Duration::from_secs(1), "the leader committed index 3");
    b.end();
}

/// Figure 2, AppendEntries receiver rules 3 and 4: a follower deletes entries only where they
/// conflict with the leader's (then all that follow), and keeps the rest; an old or repeated
/// AppendEntries never shortens its log (scripted).
pub fn append_keeps_matching_entries<R: RaftPeer>() {
    let b = Bench::<R>::new(3);
    b.frame().begin("Test (3B): AppendEntries deletes only conflicting entries (scripted)");
    b.doing("AppendEntries(term 1, prev 0, entries a b c)");
    b.append(1, 1, (0, 0), vec![entry(1, "a"), entry(1, "b"), entry(1, "c")], 0);
    b.doing("an old AppendEntries(term 1, prev 0, entry a) arriving after the newer one");
    let r = b.append(1, 1, (0, 0), vec![entry(1, "a")], 1);
    if !r.success {
        b.fail(format!("server 0 refused ({r:?}) entries it already holds"));
    }
    b.doing("heartbeat (term 1, prev 3 of term 1, commit 3) after the old AppendEntries");
    let r = b.append(1, 1, (3, 1), vec![], 3);
    if !r.success {
        b.fail(
            "server 0 lost entries 2 and 3 when an old AppendEntries (with only entry 1) arrived after the newer \
             one: a follower deletes entries only when they conflict with new ones (Figure 2, AppendEntries \
             receiver rule 3)",
        );
    }
    b.expect_applied(&[(1, "a"), (2, "b"), (3, "c")], Duration::from_secs(1), "the leader committed index 3");
    b.doing("AppendEntries(term 2, prev 3 of term 1, entries d e of term 2)");
    b.append(2, 2, (3, 1), vec![entry(2, "d"), entry(2, "e")], 3);
    b.doing("AppendEntries(term 3, prev 3 of term 1, entry x of term 3): conflicts with d at index 4");
    let r = b.append(3, 1, (3, 1), vec![entry(3, "x")], 3);
    if !r.success {
        b.fail(format!("server 0 refused ({r:?}) entries after index 3 of term 1, which it holds"));
    }
    b.doing("heartbeat (term 3, prev 5 of term 2): entry 5 must be gone");
    let r = b.append(3, 1, (5, 2), vec![], 3);
    if r.success {
        b.fail(
            "server 0 still holds entry 5 (term 2) after a conflicting entry of term 3 replaced index 4: a \
             conflicting entry is deleted with all that follow it (Figure 2, AppendEntries receiver rule 3)",
        );
    }
    b.doing("heartbeat (term 3, prev 4 of term 3, commit 4)");
    let r = b.append(3, 1, (4, 3), vec![], 4);
    if !r.success {
        b.fail(
            "server 0 does not hold entry x (term 3) at index 4 although it accepted it: a conflicting entry must \
             be replaced by the leader's (Figure 2, AppendEntries receiver rules 3 and 4)",
        );
    }
    b.expect_applied(
        &[(4, "x")],
        Duration::from_secs(1),
        "the leader of term 3 committed its entry x at index 4",
    );
    b.end();
}

/// Figure 2, AppendEntries receiver rule 5: a follower commits up to min(leaderCommit, index of
/// the last new entry), never entries it has not checked against the leader's log; and its
/// commit index never goes back, so nothing is applied twice (scripted).
pub fn append_commit_rule<R: RaftPeer>() {
    const RULE5: &str = "Figure 2, AppendEntries receiver rule 5: if leaderCommit > commitIndex, set \
                         commitIndex = min(leaderCommit, index of last new entry)";
    let b = Bench::<R>::new(3);
    b.frame().begin("Test (3B): a follower's commit index (scripted)");
    b.doing("AppendEntries(term 1, prev 0, entries a b of term 1, commit 2)");
    b.append(1, 1, (0, 0), vec![entry(1, "a"), entry(1, "b")], 2);
    b.expect_applied(&[(1, "a"), (2, "b")], Duration::from_secs(1), "the leader committed index 2");
    b.doing("AppendEntries(term 2, prev 2 of term 1, entries y z of term 2, commit 2)");
    b.append(2, 1, (2, 1), vec![entry(2, "y"), entry(2, "z")], 2);
    b.doing("heartbeat of the leader of term 3 (prev 2 of term 1, no entries, commit 4)");
    let r = b.append(3, 2, (2, 1), vec![], 4);
    if !r.success {
        b.fail(format!("server 0 refused ({r:?}) a heartbeat whose prev entry (2, term 1) it holds"));
    }
    b.expect_nothing_applied(
        Duration::from_millis(500),
        &format!(
            "the leader of term 3 said leaderCommit 4 with prev index 2 and no entries, so entries 3 and 4 (of \
             term 2) were never checked against its log and may differ from its own: {RULE5}"
        ),
    );
    b.doing("AppendEntries(term 3, prev 2 of term 1, entries p q of term 3, commit 4)");
    b.append(3, 2, (2, 1), vec![entry(3, "p"), entry(3, "q")], 4);
    b.expect_applied(&[(3, "p"), (4, "q")], Duration::from_secs(1), "the leader of term 3 committed index 4");
    b.doing("an old AppendEntries of term 3 (prev 2, entry p, commit 3): leaderCommit below the follower's");
    b.append(3, 2, (2, 1), vec![entry(3, "p")], 3);
    b.doing("heartbeat (term 3, prev 4 of term 3, commit 4)");
    b.append(3, 2, (4, 3), vec![], 4);
    b.doing("AppendEntries(term 3, prev 4 of term 3, entry r, commit 5)");
    b.append(3, 2, (4, 3), vec![entry(3, "r")], 5);
    b.expect_applied(
        &[(5, "r")],
        Duration::from_secs(1),
        &format!("each index is applied once, in order: a commit index never goes back ({RULE5})"),
    );
    b.end();
}

/// Figure 2, rules for leaders (and Figure 8): a leader commits, by counting replicas, only
/// entries of its own term; older entries are committed with them (scripted).
pub fn leader_commits_own_term<R: RaftPeer>() {
    let b = Bench::<R>::new(3);
    b.frame().begin("Test (3B): a leader commits only entries of its term by counting (scripted)");
    b.doing("AppendEntries(term 1, prev 0, entries a b of term 1, commit 0)");
    b.append(1, 1, (0, 0), vec![entry(1, "a"), entry(1, "b")], 0);
    b.doing("letting server 0 win an election; every follower acknowledges everything");
    b.answer_all(Answer::Yes);
    let term = b.wait_leader(Duration::from_secs(5));
    b.expect_nothing_applied(
        Duration::from_secs(1),
        &format!(
            "server 0 leads term {term}, and entries 1 and 2 are of term 1: a leader must not commit entries of \
             an earlier term by counting replicas, only with an entry of its own term (Figure 2, rules for \
             leaders; Figure 8)"
        ),
    );
    b.doing(format!("start(c) on server 0, leader of term {term}"));
    let Some((index, _)) = b.start_cmd("c") else {
        b.fail("server 0 claims to lead, but start() said it is not the leader");
    };
    if index != 3 {
        b.fail(format!("start(c) on a leader whose log holds 2 entries returned index {index}, not 3"));
    }
    b.expect_applied(
        &[(1, "a"), (2, "b"), (3, "c")],
        Duration::from_secs(2),
        &format!("every follower acknowledged entry 3 of term {term}, so entries 1-3 are committed"),
    );
    b.end();
}

/// Figure 2, rules for leaders: an entry is committed once a majority holds it, not before
/// (scripted, five servers).
pub fn leader_needs_majority<R: RaftPeer>() {
    let b = Bench::<R>::new(5);
    b.frame().begin("Test (3B): a leader commits only what a majority holds (scripted)");
    b.doing("letting server 0 win an election among 5");
    b.answer_all(Answer::Yes);
    let term = b.wait_leader(Duration::from_secs(5));
    b.doing(format!("cutting servers 3 and 4 off from server 0, leader of term {term}; start(x)"));
    b.link(3, false);
    b.link(4, false);
    b.answer(2, Answer::No);
    if b.start_cmd("x").is_none() {
        b.fail("server 0 claims to lead, but start() said it is not the leader");
    }
    b.expect_nothing_applied(
        Duration::from_secs(1),
        "only servers 0 and 1 of 5 hold entry 1: an entry is committed once a majority of the servers stores \
         it (Figure 2, rules for leaders)",
    );
    b.doing("server 2 now acknowledges too");
    b.answer(2, Answer::Yes);
    b.expect_applied(&[(1, "x")], Duration::from_secs(2), "servers 0, 1 and 2 of 5 hold entry 1: a majority");
    b.end();
}

/// The contract of Labs 4 and 5: a cluster of one peer commits by itself.
pub fn single_peer_commits<R: RaftPeer>() {
    let cfg = Config::<R>::new(1, false, false);
    cfg.begin("Test (3B): a single peer commits");
    for i in 1..=3 {
        let index = cfg.one(100 + i, 1, false);
        assert_eq!(index, i, "got index {index} but expected {i}");
    }
    cfg.end();
}

/// The lab's rule for `kill()`, which the service of Lab 4 relies on: within 2 s of `kill()`
/// the apply channel closes (every sender is dropped).
pub fn kill_closes_apply_channel<R: RaftPeer>() {
    let servers = 3;
    let cfg = Config::<R>::new(servers, false, false);
    cfg.begin("Test (3B): kill() closes the apply channel");
    cfg.one(101, servers, false);
    for i in 0..servers {
        cfg.kill_raft(i);
    }
    sleep(2 * ELECTION_TIMEOUT);
    for i in 0..servers {
        if !cfg.apply_closed(i) {
            panic!(
                "server {i}'s apply channel was still open 2 s after kill(): a killed peer drops every sender of \
                 the channel (its threads return), which is how the service learns of the shutdown (the lab's \
                 rule: kill)"
            );
        }
    }
    cfg.end();
}

/// Agreement while the network delays requests (so that later ones overtake earlier ones) and
/// delivers some twice, late: a follower must survive stale and repeated AppendEntries. The
/// monitor catches a follower that loses entries it acknowledged.
pub fn agree_despite_reordering<R: RaftPeer>() {
    let servers = 5;
    let cfg = Config::<R>::new(servers, false, false);
    cfg.begin("Test (3B): agreement despite reordered and repeated requests");
    cfg.set_reordering(true);
    let mut cmd = 1000;
    for round in 0..4 {
        for _ in 0..10 {
            cmd += 1;
            cfg.one(cmd, servers - 1, true);
        }
        let leader = cfg.check_one_leader();
        let out = (leader + 1 + round) % servers;
        cfg.disconnect(out);
        for _ in 0..5 {
            cmd += 1;
            cfg.one(cmd, servers - 1, true);
        }
        cfg.connect(out);
    }
    cmd += 1;
    cfg.one(cmd, servers, true);
    cfg.end();
}

/// Figure 2, RequestVote receiver rule 2 and section 5.4.1: a vote only for a candidate whose
/// log is at least as up to date (a later last term, or the same last term and at least as
/// long) (scripted).
pub fn vote_needs_up_to_date_log<R: RaftPeer>() {
    const RULE: &str = "Figure 2, RequestVote receiver rule 2: grant a vote only if the candidate's log is at \
                        least as up-to-date as the receiver's (section 5.4.1: compare the last entries' terms, \
                        then the logs' lengths)";
    let b = Bench::<R>::new(3);
    b.frame().begin("Test (3B): votes only for up-to-date candidates (scripted)");
    b.doing("AppendEntries(term 2, prev 0, entries a of term 1 and b of term 2)");
    b.append(2, 1, (0, 0), vec![entry(1, "a"), entry(2, "b")], 0);
    let cases = [
        (
            5,
            1,
            (3, 1),
            false,
            "whose log is longer but ends with an entry of term 1 (server 0's ends with term 2)",
        ),
        (6, 2, (1, 2), false, "whose log ends with term 2 like server 0's, but is shorter (1 entry, not 2)"),
        (7, 1, (2, 2), true, "whose log ends like server 0's (index 2, term 2)"),
        (8, 2, (1, 3), true, "whose log is shorter but ends with a later term (3)"),
    ];
    for (term, c, (li, lt), grant, what) in cases {
        b.doing(format!("RequestVote(term {term}, candidate {c}, last log index {li}, last log term {lt})"));
        let r = b.vote(term, c, li, lt);
        if r.vote_granted != grant {
            b.fail(format!(
                "server 0 {} its vote in term {term} to server {c}, {what} ({RULE})",
                if r.vote_granted { "granted" } else { "refused" }
            ));
        }
    }
    b.end();
}
