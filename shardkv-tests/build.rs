//! Builds the broken shard groups of the tests of the tester from the reference `shardkv`
//! crate and the patches in `mutants/` (see `testkit/build-support/mutate.rs`).

include!("../testkit/build-support/mutate.rs");

/// Each mutant plugs into the tester as a `ShardImpl`.
const ADAPTER: &str = r#"impl shardkv_tests::kv::ShardImpl for {m}::Shards {
    type Server = {m}::ShardKv;
    type Clerk = {m}::Clerk;
    fn server(
        peers: Vec<labrpc::ClientEnd>,
        me: usize,
        persister: labs::persister::Persister,
        maxraftstate: i64,
        gid: shardkv::ctrler::Gid,
        ctrlers: Vec<labrpc::ClientEnd>,
        make_end: shardkv::server::MakeEnd,
    ) -> Self::Server {
        {m}::ShardKv::new(peers, me, persister, maxraftstate, gid, ctrlers, make_end)
    }
    fn services(s: &Self::Server) -> Vec<labrpc::Service> {
        vec![s.service(), s.raft().service()]
    }
    fn kill(s: &Self::Server) {
        s.kill();
    }
    fn leads(s: &Self::Server) -> bool {
        s.raft().state().1
    }
    fn clerk(ctrlers: Vec<labrpc::ClientEnd>, make_end: shardkv::server::MakeEnd) -> Self::Clerk {
        {m}::Clerk::new(ctrlers, make_end)
    }
}

impl shardkv_tests::kv::ShardClerk for {m}::Clerk {
    fn get(&mut self, key: &str) -> String {
        {m}::Clerk::get(self, key)
    }
    fn put(&mut self, key: &str, value: &str) {
        {m}::Clerk::put(self, key, value);
    }
    fn append(&mut self, key: &str, value: &str) {
        {m}::Clerk::append(self, key, value);
    }
}"#;

fn main() {
    mutate::generate("shardkv", "../shardkv", "mutants", ADAPTER);
}
