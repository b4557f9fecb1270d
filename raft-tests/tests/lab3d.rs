//! Lab 3D: log compaction with snapshots (docs/lab3-raft.md; 6.5840 Lab 3D). Run with
//! `cargo test -p raft-tests 3d` or `make lab3d`; the test bodies are in `suite/lab3d.rs`.
//!
//! The tester's snapshot applier asks each peer for a snapshot after every index `i` with
//! `(i + 1) % 10 == 0`, and checks that after a restart or an InstallSnapshot the commands
//! continue exactly after the snapshot's index.

#[path = "suite/lab3d.rs"]
mod suite;

use raft::Raft;

labs::lab_test! {
    /// 6.5840: TestSnapshotBasic3D. 30 rounds of 5-14 commands with every server connected:
    /// snapshots are taken and the persisted Raft state stays under 2000 bytes.
    fn snapshot_basic_3d() {
        suite::snapshot_basic::<Raft>();
    }

    /// 6.5840: TestSnapshotInstall3D. As snapshots basic, with a victim cut off each round;
    /// it catches up by InstallSnapshot when it reconnects.
    fn snapshot_install_3d() {
        suite::snapshot_install::<Raft>();
    }

    /// 6.5840: TestSnapshotInstallUnreliable3D. As install snapshots (disconnect), on an
    /// unreliable network.
    fn snapshot_install_unreliable_3d() {
        suite::snapshot_install_unreliable::<Raft>();
    }

    /// 6.5840: TestSnapshotInstallCrash3D. As snapshots basic, with a victim crashed and
    /// restarted each round.
    fn snapshot_install_crash_3d() {
        suite::snapshot_install_crash::<Raft>();
    }

    /// 6.5840: TestSnapshotInstallUnCrash3D. As install snapshots (crash), on an unreliable
    /// network.
    fn snapshot_install_uncrash_3d() {
        suite::snapshot_install_uncrash::<Raft>();
    }

    /// 6.5840: TestSnapshotAllCrash3D. Five rounds of crashing and restarting every server:
    /// they restart from their snapshots plus the tail of the log, and the index never goes
    /// back. (Reliable network, as in 2023-2024; 2025 runs it unreliable.)
    fn snapshot_all_crash_3d() {
        suite::snapshot_all_crash::<Raft>();
    }

    /// 6.5840: TestSnapshotInit3D. Two crashes of every server after a snapshot: a Raft that
    /// forgets the snapshot it loaded, and so persists an empty one, fails here. (Reliable
    /// network, as in 2023-2024; 2025 runs it unreliable.)
    fn snapshot_init_3d() {
        suite::snapshot_init::<Raft>();
    }
}

// Beyond 6.5840: scripted checks of Figure 13 (see docs/lab3-raft.md, "What the tests check").
labs::lab_test! {
    /// Figure 13: InstallSnapshot delivers the snapshot and keeps the entries after it.
    fn install_snapshot_keeps_log_3d() {
        suite::install_snapshot_keeps_log::<Raft>();
    }

    /// Figure 13: an InstallSnapshot older than the commit index is ignored.
    fn stale_snapshot_ignored_3d() {
        suite::stale_snapshot_ignored::<Raft>();
    }

    /// Figure 13: the snapshot is persisted with the Raft state.
    fn snapshot_survives_restart_3d() {
        suite::snapshot_survives_restart::<Raft>();
    }
}

labs::lab_test! {
    /// 3D: snapshot() drops the entries the snapshot covers (scripted).
    fn snapshot_trims_log_3d() {
        suite::snapshot_trims_log::<Raft>();
    }
}
