//! The bodies of the 3C suite (6.5840 Lab 3C, `raft/test_test.go`), generic over the Raft implementation.
//! `raft-tests/tests/lab3c.rs` runs them on the lab's `Raft`.

use labs::sync::atomic::{AtomicBool, Ordering};
use labs::sync::{Arc, unbounded};
use labs::time::{Duration, sleep};
use raft_tests::script::{Bench, entry};
use raft_tests::{Config, ELECTION_TIMEOUT, RaftPeer, decode_command};
use std::collections::BTreeSet;

/// A random command, like Go's `rand.Int()` (kept to 31 bits).
fn rand_cmd() -> u64 {
    labs::rand::gen_range(0..(1u64 << 31))
}

/// True with probability `per_mille` / 1000, like Go's `(rand.Int() % 1000) < per_mille`.
fn chance(per_mille: u64) -> bool {
    labs::rand::gen_range(0..1000u64) < per_mille
}

/// 6.5840: TestPersist13C.
pub fn persist1<R: RaftPeer>() {
    let servers = 3;
    let cfg = Config::<R>::new(servers, false, false);
    cfg.begin("Test (3C): basic persistence");

    cfg.one(11, servers, true);

    // Crash and re-start all.
    for i in 0..servers {
        cfg.start1(i);
    }
    for i in 0..servers {
        cfg.disconnect(i);
        cfg.connect(i);
    }

    cfg.one(12, servers, true);

    let leader1 = cfg.check_one_leader();
    cfg.disconnect(leader1);
    cfg.start1(leader1);
    cfg.connect(leader1);

    cfg.one(13, servers, true);

    let leader2 = cfg.check_one_leader();
    cfg.disconnect(leader2);
    cfg.one(14, servers - 1, true);
    cfg.start1(leader2);
    cfg.connect(leader2);

    // Wait for leader2 to join before killing i3.
    cfg.wait(4, servers, None);

    let i3 = (cfg.check_one_leader() + 1) % servers;
    cfg.disconnect(i3);
    cfg.one(15, servers - 1, true);
    cfg.start1(i3);
    cfg.connect(i3);

    cfg.one(16, servers, true);
    cfg.end();
}

/// 6.5840: TestPersist23C.
pub fn persist2<R: RaftPeer>() {
    let servers = 5;
    let cfg = Config::<R>::new(servers, false, false);
    cfg.begin("Test (3C): more persistence");

    let mut index = 1;
    for _ in 0..5 {
        cfg.one(10 + index, servers, true);
        index += 1;

        let leader1 = cfg.check_one_leader();

        cfg.disconnect((leader1 + 1) % servers);
        cfg.disconnect((leader1 + 2) % servers);

        cfg.one(10 + index, servers - 2, true);
        index += 1;

        cfg.disconnect(leader1 % servers);
        cfg.disconnect((leader1 + 3) % servers);
        cfg.disconnect((leader1 + 4) % servers);

        cfg.start1((leader1 + 1) % servers);
        cfg.start1((leader1 + 2) % servers);
        cfg.connect((leader1 + 1) % servers);
        cfg.connect((leader1 + 2) % servers);

        sleep(ELECTION_TIMEOUT);

        cfg.start1((leader1 + 3) % servers);
        cfg.connect((leader1 + 3) % servers);

        cfg.one(10 + index, servers - 2, true);
        index += 1;

        cfg.connect((leader1 + 4) % servers);
        cfg.connect(leader1 % servers);
    }

    cfg.one(1000, servers, true);
    cfg.end();
}

/// 6.5840: TestPersist33C.
pub fn persist3<R: RaftPeer>() {
    let servers = 3;
    let cfg = Config::<R>::new(servers, false, false);
    cfg.begin("Test (3C): partitioned leader and one follower crash, leader restarts");

    cfg.one(101, 3, true);

    let leader = cfg.check_one_leader();
    cfg.disconnect((leader + 2) % servers);

    cfg.one(102, 2, true);

    cfg.crash1(leader % servers);
    cfg.crash1((leader + 1) % servers);
    cfg.connect((leader + 2) % servers);
    cfg.start1(leader % servers);
    cfg.connect(leader % servers);

    cfg.one(103, 2, true);

    cfg.start1((leader + 1) % servers);
    cfg.connect((leader + 1) % servers);

    cfg.one(104, servers, true);
    cfg.end();
}

/// The sleep of the Figure 8 tests: with probability 10% up to half an election timeout,
/// else up to 12 ms.
fn figure8_pause() {
    let ms = if chance(100) {
        labs::rand::gen_range(0..ELECTION_TIMEOUT.as_millis() as u64 / 2)
    } else {
        labs::rand::gen_range(0..13)
    };
    sleep(Duration::from_millis(ms));
}

/// 6.5840: TestFigure83C. Test the scenarios described in Figure 8 of the extended Raft
/// paper. Each iteration asks a leader, if there is one, to insert a command in the Raft log.
/// If there is a leader, that leader will fail quickly with a high probability (perhaps
/// without committing the command), or crash after a while with low probability (most likely
/// committing the command). If the number of alive servers isn't enough to form a majority,
/// perhaps start a new server. The leader in a new term may try to finish replicating log
/// entries that haven't been committed yet.
pub fn figure8<R: RaftPeer>() {
    let servers = 5;
    let cfg = Config::<R>::new(servers, false, false);
    cfg.begin("Test (3C): Figure 8");

    cfg.one(rand_cmd(), 1, true);

    let mut nup = servers;
    for _ in 0..1000 {
        let mut leader = None;
        for i in 0..servers {
            if cfg.is_alive(i) && cfg.start(i, rand_cmd()).is_ok() {
                leader = Some(i);
            }
        }

        figure8_pause();

        if let Some(leader) = leader {
            cfg.crash1(leader);
            nup -= 1;
        }

        if nup < 3 {
            let s = labs::rand::gen_range(0..servers);
            if !cfg.is_alive(s) {
                cfg.start1(s);
                cfg.connect(s);
                nup += 1;
            }
        }
    }

    for i in 0..servers {
        if !cfg.is_alive(i) {
            cfg.start1(i);
            cfg.connect(i);
        }
    }

    cfg.one(rand_cmd(), servers, true);
    cfg.end();
}

/// 6.5840: TestUnreliableAgree3C.
pub fn unreliable_agree<R: RaftPeer>() {
    let servers = 5;
    let cfg = Arc::new(Config::<R>::new(servers, true, false));
    cfg.begin("Test (3C): unreliable agreement");

    let mut clients = Vec::new();
    for iters in 1..50u64 {
        for j in 0..4u64 {
            let cfg = cfg.clone();
            clients.push(labs::thread::spawn(format!("client-{iters}-{j}"), move || {
                cfg.one(100 * iters + j, 1, true);
            }));
        }
        cfg.one(iters, 1, true);
    }

    cfg.set_unreliable(false);

    for c in clients {
        c.join().expect("a client thread failed");
    }

    cfg.one(100, servers, true);
    cfg.end();
}

/// 6.5840: TestFigure8Unreliable3C.
pub fn figure8_unreliable<R: RaftPeer>() {
    let servers = 5;
    let cfg = Config::<R>::new(servers, true, false);
    cfg.begin("Test (3C): Figure 8 (unreliable)");

    cfg.one(rand_cmd() % 10000, 1, true);

    let mut nup = servers;
    for iters in 0..1000 {
        if iters == 200 {
            cfg.set_long_reordering(true);
        }
        let mut leader = None;
        for i in 0..servers {
            if cfg.start(i, rand_cmd() % 10000).is_ok() && cfg.is_connected(i) {
                leader = Some(i);
            }
        }

        figure8_pause();

        if let Some(leader) = leader
            && chance(ELECTION_TIMEOUT.as_millis() as u64 / 2)
        {
            cfg.disconnect(leader);
            nup -= 1;
        }

        if nup < 3 {
            let s = labs::rand::gen_range(0..servers);
            if !cfg.is_connected(s) {
                cfg.connect(s);
                nup += 1;
            }
        }
    }

    for i in 0..servers {
        if !cfg.is_connected(i) {
            cfg.connect(i);
        }
    }

    cfg.one(rand_cmd() % 10000, servers, true);
    cfg.end();
}

/// The churn tests (6.5840's `internalChurn`): three clients start commands on every live
/// server while servers are cut off, crashed and restarted at random; every command a client
/// saw committed must be in the final log.
fn churn<R: RaftPeer>(unreliable: bool) {
    let servers = 5;
    let cfg = Arc::new(Config::<R>::new(servers, unreliable, false));
    cfg.begin(if unreliable { "Test (3C): unreliable churn" } else { "Test (3C): churn" });

    let stop = Arc::new(AtomicBool::new(false));

    let ncli = 3;
    let mut clients = Vec::new();
    for me in 0..ncli {
        let (cfg, stop) = (cfg.clone(), stop.clone());
        let (tx, rx) = unbounded::<Vec<u64>>();
        labs::thread::spawn(format!("client-{me}"), move || {
            let mut values = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let x = rand_cmd();
                let mut index = None;
                for i in 0..servers {
                    if let Some(Ok((index1, _))) = cfg.start_if_alive(i, x) {
                        index = Some(index1);
                    }
                }
                match index {
                    Some(index) => {
                        // Maybe leader will commit our value, maybe not. But don't wait
                        // forever.
                        for to in [10, 20, 50, 100, 200] {
                            let (nd, cmd) = cfg.n_committed(index);
                            if nd > 0 {
                                let xx = cmd.as_deref().and_then(decode_command);
                                let xx = xx.unwrap_or_else(|| panic!("wrong command type at index {index}"));
                                if xx == x {
                                    values.push(x);
                                }
                                break;
                            }
                            sleep(Duration::from_millis(to));
                        }
                    }
                    None => sleep(Duration::from_millis(79 + me * 17)),
                }
            }
            let _ = tx.send(values);
        });
        clients.push(rx);
    }

    for _ in 0..20 {
        if chance(200) {
            let i = labs::rand::gen_range(0..servers);
            cfg.disconnect(i);
        }

        if chance(500) {
            let i = labs::rand::gen_range(0..servers);
            if !cfg.is_alive(i) {
                cfg.start1(i);
            }
            cfg.connect(i);
        }

        if chance(200) {
            let i = labs::rand::gen_range(0..servers);
            if cfg.is_alive(i) {
                cfg.crash1(i);
            }
        }

        // Make crash/restart infrequent enough that the peers can often keep up, but not so
        // infrequent that everything has settled down from one change to the next. Pick a
        // value smaller than the election timeout, but not hugely smaller.
        sleep(ELECTION_TIMEOUT * 7 / 10);
    }

    sleep(ELECTION_TIMEOUT);
    cfg.set_unreliable(false);
    for i in 0..servers {
        if !cfg.is_alive(i) {
            cfg.start1(i);
        }
        cfg.connect(i);
    }

    stop.store(true, Ordering::Relaxed);

    let mut values = Vec::new();
    for rx in clients {
        let vv = rx.recv().unwrap_or_else(|_| panic!("client failed"));
        values.extend(vv);
    }

    sleep(ELECTION_TIMEOUT);

    let last_index = cfg.one(rand_cmd(), servers, true);

    let mut really = BTreeSet::new();
    for index in 1..=last_index {
        let v = cfg.wait(index, servers, None).expect("wait without a term returns the command");
        really.insert(v);
    }

    for v1 in values {
        assert!(really.contains(&v1), "didn't find a value: {v1} was committed but is not in the final log");
    }
    cfg.end();
}

/// 6.5840: TestReliableChurn3C.
pub fn reliable_churn<R: RaftPeer>() {
    churn::<R>(false);
}

/// 6.5840: TestUnreliableChurn3C.
pub fn unreliable_churn<R: RaftPeer>() {
    churn::<R>(true);
}

// ---- Beyond 6.5840: each scripted test checks that one part of Figure 2's persistent state
// survives a crash (see `raft_tests::script`).

/// Figure 2, persistent state: votedFor survives a crash, so a restarted server does not vote
/// twice in one term (scripted: vote, crash, restart, second candidate).
pub fn vote_survives_restart<R: RaftPeer>() {
    let b = Bench::<R>::new(3);
    b.frame().begin("Test (3C): votedFor survives a restart (scripted)");
    b.doing("RequestVote(term 5, candidate 1)");
    let r = b.vote(5, 1, 0, 0);
    if !r.vote_granted {
        b.fail(format!("server 0 refused ({r:?}) its vote to the first up-to-date candidate of term 5"));
    }
    b.doing("crash and restart of server 0 right after its vote");
    b.crash_restart();
    b.doing("RequestVote(term 5, candidate 2) to the restarted server 0");
    let r = b.vote(5, 2, 0, 0);
    if r.vote_granted {
        b.fail(
            "server 0 voted for server 1 in term 5, crashed, restarted, and voted for server 2 in term 5: votedFor \
             must be persisted before the vote is granted (Figure 2: persistent state on all servers)",
        );
    }
    b.end();
}

/// Figure 2, persistent state: currentTerm survives a crash.
pub fn term_survives_restart<R: RaftPeer>() {
    let b = Bench::<R>::new(3);
    b.frame().begin("Test (3C): currentTerm survives a restart (scripted)");
    b.doing("heartbeat of term 7 from server 1");
    let r = b.append(7, 1, (0, 0), vec![], 0);
    if !r.success || r.term != 7 {
        b.fail(format!("server 0 answered {r:?} to the first heartbeat of term 7"));
    }
    b.doing("crash and restart of server 0");
    b.crash_restart();
    b.doing("RequestVote(term 3, candidate 2) to the restarted server 0");
    let r = b.vote(3, 2, 0, 0);
    if r.vote_granted || r.term < 7 {
        b.fail(format!(
            "server 0 was in term 7 before its crash, and after its restart it answered {r:?} to a candidate of \
             term 3: currentTerm must be persisted before replying (Figure 2: persistent state on all servers)"
        ));
    }
    b.end();
}

/// Figure 2, persistent state: the log survives a crash, and a restarted server applies its
/// committed entries again from the start.
pub fn log_survives_restart<R: RaftPeer>() {
    let b = Bench::<R>::new(3);
    b.frame().begin("Test (3C): the log survives a restart (scripted)");
    b.doing("AppendEntries(term 2, prev 0, entries a b c, commit 1)");
    b.append(2, 1, (0, 0), vec![entry(2, "a"), entry(2, "b"), entry(2, "c")], 1);
    b.expect_applied(&[(1, "a")], Duration::from_secs(1), "the leader committed index 1");
    b.doing("crash and restart of server 0 after it acknowledged entries 1-3");
    b.crash_restart();
    b.doing("heartbeat (term 2, prev 3 of term 2, commit 3) to the restarted server 0");
    let r = b.append(2, 1, (3, 2), vec![], 3);
    if !r.success {
        b.fail(format!(
            "server 0 acknowledged entries 1-3 of term 2, crashed, restarted, and then refused ({r:?}) a heartbeat \
             after entry 3: the log must be persisted before replying (Figure 2: persistent state on all servers)"
        ));
    }
    b.expect_applied(
        &[(1, "a"), (2, "b"), (3, "c")],
        Duration::from_secs(1),
        "a restarted server applies its log again from the start (lastApplied is volatile)",
    );
    b.end();
}
