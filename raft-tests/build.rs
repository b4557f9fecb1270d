//! Builds the broken Rafts of the tests of the tester from the reference `raft/src/raft.rs` and
//! the patches in `mutants/` (see `testkit/build-support/mutate.rs`).

include!("../testkit/build-support/mutate.rs");

/// Each mutant's Raft plugs into the tester.
const ADAPTER: &str = r#"impl raft_tests::RaftPeer for {m}::Raft {
    fn make(
        peers: Vec<labrpc::ClientEnd>,
        me: usize,
        persister: labs::persister::Persister,
        apply_tx: labs::sync::Sender<raft::ApplyMsg>,
    ) -> Self {
        {m}::Raft::new(peers, me, persister, apply_tx)
    }
    fn service(&self) -> labrpc::Service {
        {m}::Raft::service(self)
    }
    fn start(&self, command: Vec<u8>) -> Result<(u64, u64), raft::NotLeader> {
        {m}::Raft::start(self, command)
    }
    fn state(&self) -> (u64, bool) {
        {m}::Raft::state(self)
    }
    fn snapshot(&self, index: u64, snapshot: Vec<u8>) {
        {m}::Raft::snapshot(self, index, snapshot);
    }
    fn kill(&self) {
        {m}::Raft::kill(self);
    }
}"#;

fn main() {
    mutate::generate("raft", "../raft", "mutants", ADAPTER);
}
