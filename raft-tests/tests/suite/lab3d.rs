//! The bodies of the 3D suite (spec section 3.6), generic over the Raft implementation.
//! `raft/tests/lab3d.rs` runs them on the lab's `Raft`.

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
