//! Builds the broken KV services of the tests of the tester from the reference `kvraft` crate
//! and the patches in `mutants/` (see `testkit/build-support/mutate.rs`).

include!("../testkit/build-support/mutate.rs");

/// Each mutant plugs into the tester as a `KvImpl`.
const ADAPTER: &str = r#"impl kvraft_tests::KvImpl for {m}::Kv {
    type Server = {m}::KvServer;
    type Clerk = {m}::Clerk;
    fn server(
        peers: Vec<labrpc::ClientEnd>,
        me: usize,
        persister: labs::persister::Persister,
        maxraftstate: i64,
    ) -> Self::Server {
        {m}::KvServer::new(peers, me, persister, maxraftstate)
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
    fn clerk(servers: Vec<labrpc::ClientEnd>) -> Self::Clerk {
        {m}::Clerk::new(servers)
    }
    fn get(ck: &mut Self::Clerk, key: &str) -> String {
        ck.get(key)
    }
    fn put(ck: &mut Self::Clerk, key: &str, value: &str) {
        ck.put(key, value);
    }
    fn append(ck: &mut Self::Clerk, key: &str, value: &str) {
        ck.append(key, value);
    }
}"#;

fn main() {
    mutate::generate("kvraft", "../kvraft", "mutants", ADAPTER);
}
