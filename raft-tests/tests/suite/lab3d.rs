//! The bodies of the 3D suite (6.5840 Lab 3D, `raft/test_test.go`), generic over the Raft implementation.
//! `raft-tests/tests/lab3d.rs` runs them on the lab's `Raft`.

use labs::time::Duration;
use raft_tests::script::{Bench, entry};
use raft_tests::{Config, MAX_LOG_SIZE, RaftPeer, SNAPSHOT_INTERVAL};

/// A random command, like Go's `rand.Int()` (kept to 31 bits).
fn rand_cmd() -> u64 {
    labs::rand::gen_range(0..(1u64 << 31))
}

/// 6.5840's `snapcommon`: 30 iterations on three servers with the snapshot applier. Each
/// iteration cuts off or crashes a victim (if asked), starts 5-14 commands on a sender so
/// that snapshots happen, checks the persisted log stays under [`MAX_LOG_SIZE`] bytes, and
/// brings the victim back, which may need an InstallSnapshot to catch up.
fn snapcommon<R: RaftPeer>(name: &str, disconnect: bool, reliable: bool, crash: bool) {
    let iters = 30;
    let servers = 3;
    let cfg = Config::<R>::new(servers, !reliable, true);
    cfg.begin(name);

    cfg.one(rand_cmd(), servers, true);
    let mut leader1 = cfg.check_one_leader();

    for i in 0..iters {
        let mut victim = (leader1 + 1) % servers;
        let mut sender = leader1;
        if i % 3 == 1 {
            sender = (leader1 + 1) % servers;
            victim = leader1;
        }

        if disconnect {
            cfg.disconnect(victim);
            cfg.one(rand_cmd(), servers - 1, true);
        }
        if crash {
            cfg.crash1(victim);
            cfg.one(rand_cmd(), servers - 1, true);
        }

        // Perhaps send enough to get a snapshot.
        let nn = SNAPSHOT_INTERVAL / 2 + labs::rand::gen_range(0..SNAPSHOT_INTERVAL);
        for _ in 0..nn {
            let _ = cfg.start(sender, rand_cmd());
        }

        // Let applier threads catch up with the start()s.
        if !disconnect && !crash {
            // Make sure all followers have caught up, so that an InstallSnapshot RPC isn't
            // required for snapshots_basic_3d().
            cfg.one(rand_cmd(), servers, true);
        } else {
            cfg.one(rand_cmd(), servers - 1, true);
        }

        let size = cfg.log_size();
        assert!(
            size < MAX_LOG_SIZE,
            "log size too large: {size} bytes of Raft state (the limit is {MAX_LOG_SIZE})"
        );

        if disconnect {
            // Reconnect a follower, who may be behind and need to receive a snapshot to catch
            // up.
            cfg.connect(victim);
            cfg.one(rand_cmd(), servers, true);
            leader1 = cfg.check_one_leader();
        }
        if crash {
            cfg.start1(victim);
            cfg.connect(victim);
            cfg.one(rand_cmd(), servers, true);
            leader1 = cfg.check_one_leader();
        }
    }
    cfg.end();
}

/// 6.5840: TestSnapshotBasic3D.
pub fn snapshot_basic<R: RaftPeer>() {
    snapcommon::<R>("Test (3D): snapshots basic", false, true, false);
}

/// 6.5840: TestSnapshotInstall3D.
pub fn snapshot_install<R: RaftPeer>() {
    snapcommon::<R>("Test (3D): install snapshots (disconnect)", true, true, false);
}

/// 6.5840: TestSnapshotInstallUnreliable3D.
pub fn snapshot_install_unreliable<R: RaftPeer>() {
    snapcommon::<R>("Test (3D): install snapshots (disconnect+unreliable)", true, false, false);
}

/// 6.5840: TestSnapshotInstallCrash3D.
pub fn snapshot_install_crash<R: RaftPeer>() {
    snapcommon::<R>("Test (3D): install snapshots (crash)", false, true, true);
}

/// 6.5840: TestSnapshotInstallUnCrash3D.
pub fn snapshot_install_uncrash<R: RaftPeer>() {
    snapcommon::<R>("Test (3D): install snapshots (unreliable+crash)", false, false, true);
}

/// 6.5840: TestSnapshotAllCrash3D. Do the servers persist the snapshots, and restart using
/// snapshot along with the tail of the log?
pub fn snapshot_all_crash<R: RaftPeer>() {
    let servers = 3;
    let iters = 5;
    let cfg = Config::<R>::new(servers, false, true);
    cfg.begin("Test (3D): crash and restart all servers");

    cfg.one(rand_cmd(), servers, true);

    for _ in 0..iters {
        // Perhaps enough to get a snapshot.
        let nn = SNAPSHOT_INTERVAL / 2 + labs::rand::gen_range(0..SNAPSHOT_INTERVAL);
        for _ in 0..nn {
            cfg.one(rand_cmd(), servers, true);
        }

        let index1 = cfg.one(rand_cmd(), servers, true);

        // Crash all.
        for i in 0..servers {
            cfg.crash1(i);
        }

        // Revive all.
        for i in 0..servers {
            cfg.start1(i);
            cfg.connect(i);
        }

        let index2 = cfg.one(rand_cmd(), servers, true);
        assert!(index2 > index1, "index decreased from {index1} to {index2}");
    }
    cfg.end();
}

/// 6.5840: TestSnapshotInit3D. Do servers correctly initialize their in-memory copy of the
/// snapshot, making sure that future writes to persistent state don't lose state?
pub fn snapshot_init<R: RaftPeer>() {
    let servers = 3;
    let cfg = Config::<R>::new(servers, false, true);
    cfg.begin("Test (3D): snapshot initialization after crash");

    cfg.one(rand_cmd(), servers, true);

    // Enough ops to make a snapshot.
    let nn = SNAPSHOT_INTERVAL + 1;
    for _ in 0..nn {
        cfg.one(rand_cmd(), servers, true);
    }

    // Crash all.
    for i in 0..servers {
        cfg.crash1(i);
    }

    // Revive all.
    for i in 0..servers {
        cfg.start1(i);
        cfg.connect(i);
    }

    // A single op, to get something to be written back to persistent storage.
    cfg.one(rand_cmd(), servers, true);

    // Crash all.
    for i in 0..servers {
        cfg.crash1(i);
    }

    // Revive all.
    for i in 0..servers {
        cfg.start1(i);
        cfg.connect(i);
    }

    // Do another op to trigger potential bug.
    cfg.one(rand_cmd(), servers, true);
    cfg.end();
}

// ---- Beyond 6.5840: scripted checks of Figure 13's InstallSnapshot receiver ----------------

/// Figure 13, InstallSnapshot receiver rules 5-8: the snapshot goes to the service, and the
/// entries that follow its last included entry are kept.
pub fn install_snapshot_keeps_log<R: RaftPeer>() {
    let b = Bench::<R>::new(3);
    b.frame().begin("Test (3D): InstallSnapshot keeps the entries after the snapshot (scripted)");
    b.doing("AppendEntries(term 1, prev 0, entries a b c d e, commit 2)");
    let log = ["a", "b", "c", "d", "e"].map(|c| entry(1, c)).to_vec();
    b.append(1, 1, (0, 0), log, 2);
    b.expect_applied(&[(1, "a"), (2, "b")], Duration::from_secs(1), "the leader committed index 2");
    b.doing("InstallSnapshot(term 1, up to index 4 of term 1)");
    b.install(1, 1, (4, 1), b"snap-4".to_vec());
    b.expect_snapshot(
        4,
        b"snap-4",
        Duration::from_secs(1),
        "a snapshot beyond the commit index goes to the service (Figure 13, InstallSnapshot receiver rule 8)",
    );
    b.doing("heartbeat (term 1, prev 5 of term 1, commit 5) after the snapshot");
    let r = b.append(1, 1, (5, 1), vec![], 5);
    if !r.success {
        b.fail(format!(
            "server 0 refused ({r:?}) a heartbeat after entry 5, which it held before a snapshot up to index 4: \
             if an entry has the snapshot's last included index and term, the entries after it are kept \
             (Figure 13, InstallSnapshot receiver rule 6)"
        ));
    }
    b.expect_applied(
        &[(5, "e")],
        Duration::from_secs(1),
        "after the snapshot up to 4, the leader committed index 5",
    );
    b.end();
}

/// Figure 13 and the lab: a snapshot older than what the peer has committed is ignored, so the
/// service never goes back in time.
pub fn stale_snapshot_ignored<R: RaftPeer>() {
    let b = Bench::<R>::new(3);
    b.frame().begin("Test (3D): an old InstallSnapshot is ignored (scripted)");
    b.doing("AppendEntries(term 1, prev 0, entries a b c d e, commit 5)");
    let log = ["a", "b", "c", "d", "e"].map(|c| entry(1, c)).to_vec();
    b.append(1, 1, (0, 0), log, 5);
    b.expect_applied(
        &[(1, "a"), (2, "b"), (3, "c"), (4, "d"), (5, "e")],
        Duration::from_secs(1),
        "the leader committed index 5",
    );
    b.doing("an old InstallSnapshot(term 1, up to index 3) arriving after index 5 was committed");
    b.install(1, 1, (3, 1), b"snap-3".to_vec());
    b.expect_nothing_applied(
        Duration::from_millis(500),
        "server 0 had applied up to index 5, so a snapshot up to index 3 would take its service back in time: \
         an InstallSnapshot that does not go beyond the commit index must be ignored (Figure 13; the 3D handout)",
    );
    b.doing("AppendEntries(term 1, prev 5 of term 1, entry f, commit 6) after the old snapshot");
    let r = b.append(1, 1, (5, 1), vec![entry(1, "f")], 6);
    if !r.success {
        b.fail(format!(
            "server 0 refused ({r:?}) entries after index 5 once an old snapshot (up to 3) arrived: it must ignore \
             that snapshot and keep its log (Figure 13, InstallSnapshot receiver rule 6)"
        ));
    }
    b.expect_applied(&[(6, "f")], Duration::from_secs(1), "the leader committed index 6");
    b.end();
}

/// Figure 13 and the lab: the snapshot is persisted together with the Raft state, and a
/// restarted peer continues from it.
pub fn snapshot_survives_restart<R: RaftPeer>() {
    let b = Bench::<R>::new(3);
    b.frame().begin("Test (3D): a snapshot survives a restart (scripted)");
    b.doing("AppendEntries(term 1, prev 0, entries a b c d e, commit 1)");
    let log = ["a", "b", "c", "d", "e"].map(|c| entry(1, c)).to_vec();
    b.append(1, 1, (0, 0), log, 1);
    b.expect_applied(&[(1, "a")], Duration::from_secs(1), "the leader committed index 1");
    b.doing("InstallSnapshot(term 1, up to index 4 of term 1)");
    b.install(1, 1, (4, 1), b"snap-4".to_vec());
    b.expect_snapshot(4, b"snap-4", Duration::from_secs(1), "Figure 13, InstallSnapshot receiver rule 8");
    b.doing("crash and restart of server 0 after the snapshot");
    b.crash_restart();
    let saved = b.persister().read_snapshot();
    if saved != b"snap-4" {
        b.fail(format!(
            "after a crash, server 0's persister holds a snapshot of {} bytes, not the one it installed: the \
             snapshot must be saved together with the Raft state, in one save (Figure 13, InstallSnapshot \
             receiver rule 5; the 3D handout)",
            saved.len()
        ));
    }
    b.doing("heartbeat (term 1, prev 5 of term 1, commit 5) to the restarted server 0");
    let r = b.append(1, 1, (5, 1), vec![], 5);
    if !r.success {
        b.fail(format!(
            "the restarted server 0 refused ({r:?}) a heartbeat after entry 5, which it held with its snapshot up \
             to index 4 before the crash: the log after the snapshot, and the snapshot's last included index and \
             term, must be persisted (Figure 2 and Figure 13)"
        ));
    }
    b.expect_applied(
        &[(5, "e")],
        Duration::from_secs(1),
        "a peer restarted from a snapshot up to index 4 applies from index 5 on (the service reads the snapshot \
         from the persister)",
    );
    b.end();
}

/// The lab: `snapshot(index, ...)` drops the log entries the snapshot covers, so the persisted
/// Raft state shrinks (scripted).
pub fn snapshot_trims_log<R: RaftPeer>() {
    let b = Bench::<R>::new(3);
    b.frame().begin("Test (3D): snapshot() trims the log (scripted)");
    b.doing("AppendEntries(term 1, prev 0, 100 entries of 100 bytes, commit 100)");
    let cmds: Vec<String> = (0..100).map(|i| format!("{i:0>100}")).collect();
    let log = cmds.iter().map(|c| entry(1, c)).collect();
    b.append(1, 1, (0, 0), log, 100);
    let want: Vec<(u64, &str)> = cmds.iter().enumerate().map(|(i, c)| (i as u64 + 1, c.as_str())).collect();
    b.expect_applied(&want, Duration::from_secs(1), "the leader committed index 100");
    let before = b.persister().raft_state_size();
    b.doing("snapshot(95) from the service");
    b.snapshot(95, b"snap-95");
    let after = b.persister().raft_state_size();
    if after * 4 > before || b.persister().read_snapshot() != b"snap-95" {
        b.fail(format!(
            "after snapshot(95) on a log of 100 entries of 100 bytes, server 0's persisted Raft state is {after} \
             bytes (it was {before}) with a snapshot of {} bytes: snapshot() must drop the entries the snapshot \
             covers and save the snapshot with the trimmed state (3D)",
            b.persister().snapshot_size()
        ));
    }
    b.end();
}
