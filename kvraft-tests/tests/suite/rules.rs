//! Checks beyond 6.5840 for Lab 4, each aimed at one rule of the lab (see docs/lab4-kvraft.md,
//! "What the tests check"), generic over the service so that the tests of the tester can run
//! them on broken ones. A labrpc filter loses chosen replies and requests, so that a retried
//! request meets the situation its rule is about on every seed.

use kvraft_tests::{ELECTION_TIMEOUT, KvImpl, TestClerk, make_config_with};
use labrpc::{CallInfo, Fault};
use labs::sync::{Arc, Mutex, unbounded};
use labs::time::{Duration, Instant, sleep};
use labs::world::World;

/// What the valve does to one clerk's calls.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Valve {
    /// Nothing.
    Open,
    /// The next `KVServer.Append` runs, and its reply is lost; then every call is lost.
    LoseReplyThenHold,
    /// Every call is lost.
    Hold,
}

/// Installs a filter on `cfg`'s network that applies `valve` to the calls of the clerk whose
/// node is `node`; returns the valve's handle.
fn valve<K: KvImpl>(cfg: &kvraft_tests::Config<K>, node: String) -> Arc<Mutex<Valve>> {
    let v = Arc::new(Mutex::new(Valve::Open));
    let h = v.clone();
    cfg.net().set_filter(Some(Arc::new(move |c: &CallInfo<'_>| {
        if c.caller != node {
            return Fault::None;
        }
        let mut v = h.lock();
        match *v {
            Valve::Open => Fault::None,
            Valve::LoseReplyThenHold if c.method == "KVServer.Append" => {
                *v = Valve::Hold;
                Fault::DropReply
            }
            Valve::LoseReplyThenHold => Fault::None,
            Valve::Hold => Fault::DropRequest,
        }
    })));
    v
}

/// Appends `value` to `key` with `ck` on a node of its own; the receiver gets a message when
/// the Append returns.
fn append_in_background<K: KvImpl>(
    ck: TestClerk<K>,
    key: &'static str,
    value: &'static str,
) -> labs::sync::Receiver<TestClerk<K>> {
    let (tx, rx) = unbounded();
    let mut ck = ck;
    World::current().node(format!("{}-caller", ck.node_name())).spawn("append", move || {
        ck.append(key, value);
        let _ = tx.send(ck);
    });
    rx
}

/// Waits up to 5 s for `ck` to read `want` at `key`; `what` says when, for the message, and
/// which rule a wrong value breaks.
fn wait_value<K: KvImpl>(ck: &mut TestClerk<K>, key: &str, want: &str, what: &str) {
    let t0 = Instant::now();
    loop {
        let v = ck.get(key);
        if v == want {
            return;
        }
        if t0.elapsed() > Duration::from_secs(5) {
            panic!("{what}: get({key:?}) returned {v:?}, not {want:?}, for 5 s");
        }
        sleep(Duration::from_millis(50));
    }
}

/// The message of an Append applied twice.
fn applied_twice(key: &str, value: &str, got: &str, how: &str) -> String {
    format!(
        "get({key:?}) returned {got:?}: Append({key:?}, {value:?}) was applied twice. Its first reply was lost and \
         the clerk retried {how}; the service must execute each clerk request at most once (the lab's \
         at-most-once rule: detect a retry by the clerk's id and sequence number, in the replicated state)"
    )
}

/// The lab's efficiency rule: a clerk remembers which server led last and tries it first, so
/// that in a stable cluster an operation costs one RPC.
pub fn clerk_remembers_leader<K: KvImpl>() {
    const OPS: usize = 20;
    let cfg = make_config_with::<K>(5, false, -1);
    cfg.begin("Test: a clerk remembers the leader (4A)");
    let mut clerks: Vec<TestClerk<K>> = (0..5).map(|_| cfg.make_client(&cfg.all())).collect();
    for (i, ck) in clerks.iter_mut().enumerate() {
        ck.put(&format!("k{i}"), "");
    }
    let leader = cfg.leader();
    for (i, ck) in clerks.iter_mut().enumerate() {
        let before = cfg.clerk_rpcs(ck);
        for j in 0..OPS {
            if j % 2 == 0 {
                ck.append(&format!("k{i}"), "x");
            } else {
                ck.get(&format!("k{i}"));
            }
        }
        let rpcs = cfg.clerk_rpcs(ck) - before;
        if cfg.leader() == leader && rpcs > OPS + OPS / 10 {
            panic!(
                "clerk {} sent {rpcs} RPCs for {OPS} operations while server {} led throughout (reliable network): \
                 a clerk remembers which server answered last and sends its next request there first (the lab: \
                 about one RPC per operation in a stable cluster)",
                ck.id(),
                leader.map_or("?".to_string(), |l| l.to_string())
            );
        }
    }
    drop(clerks);
    cfg.end();
}

/// The lab's at-most-once rule: an Append whose reply is lost is retried by the clerk, and the
/// retry (at the same leader) must not be executed again.
pub fn retry_after_lost_reply<K: KvImpl>() {
    let cfg = make_config_with::<K>(3, false, -1);
    cfg.begin("Test: a retried Append is applied once (4A)");
    let mut ck = cfg.make_client(&cfg.all());
    let mut other = cfg.make_client(&cfg.all());
    ck.put("k", "a");
    let v = valve(&cfg, ck.node_name());
    *v.lock() = Valve::LoseReplyThenHold;
    let done = append_in_background(ck, "k", "b");
    wait_value(&mut other, "k", "ab", "the Append whose reply the network lost");
    *v.lock() = Valve::Open;
    let _ck = done.recv_timeout(Duration::from_secs(5)).unwrap_or_else(|_| {
        panic!("the clerk's retried Append did not return within 5 s (the reply of its first try was lost)")
    });
    let got = other.get("k");
    if got != "ab" {
        panic!("{}", applied_twice("k", "b", &got, "at the same leader"));
    }
    cfg.end();
}

/// The lab's at-most-once rule: the duplicate table is replicated state, so a retry that
/// reaches a new leader (the old one crashed after executing the request) is detected there.
pub fn retry_at_new_leader<K: KvImpl>() {
    let cfg = make_config_with::<K>(5, false, -1);
    cfg.begin("Test: a retried Append is applied once at a new leader (4A)");
    let mut ck = cfg.make_client(&cfg.all());
    let mut other = cfg.make_client(&cfg.all());
    ck.put("k", "a");
    let v = valve(&cfg, ck.node_name());
    *v.lock() = Valve::LoseReplyThenHold;
    let done = append_in_background(ck, "k", "b");
    wait_value(&mut other, "k", "ab", "the Append whose reply the network lost");
    let old = cfg.leader().expect("a leader after the Append");
    cfg.shutdown_server(old);
    // A new leader, and the Append applied there too.
    wait_value(&mut other, "k", "ab", "after the leader crashed");
    *v.lock() = Valve::Open;
    let _ck = done.recv_timeout(Duration::from_secs(5)).unwrap_or_else(|_| {
        panic!("the clerk's retried Append did not return within 5 s of the new leader's election")
    });
    let got = other.get("k");
    if got != "ab" {
        panic!("{}", applied_twice("k", "b", &got, &format!("at a new leader after server {old} crashed")));
    }
    cfg.start_server(old);
    cfg.connect_all();
    cfg.end();
}

/// The lab's snapshot rule (4B): the duplicate table is part of the snapshot, so a retry that
/// arrives after every server restarted from a snapshot taken after the first execution is
/// still detected.
pub fn dup_table_in_snapshot<K: KvImpl>() {
    const MAXRAFTSTATE: i64 = 1000;
    let cfg = make_config_with::<K>(3, false, MAXRAFTSTATE);
    cfg.begin("Test: the duplicate table survives snapshots and restarts (4B)");
    let mut ck = cfg.make_client(&cfg.all());
    let mut other = cfg.make_client(&cfg.all());
    ck.put("k", "a");
    let v = valve(&cfg, ck.node_name());
    *v.lock() = Valve::LoseReplyThenHold;
    let done = append_in_background(ck, "k", "b");
    wait_value(&mut other, "k", "ab", "the Append whose reply the network lost");
    // Enough writes for every server to snapshot past the Append.
    let filler = "f".repeat(100);
    for i in 0..40 {
        other.put(&format!("f{}", i % 4), &filler);
    }
    sleep(ELECTION_TIMEOUT);
    for i in 0..cfg.n() {
        let (_, snap) = cfg.group().sizes(i);
        assert!(
            snap > 0,
            "server {i} has no snapshot after 40 writes of 100 bytes with maxraftstate {MAXRAFTSTATE} (4B: snapshot \
             when the Raft state reaches maxraftstate)"
        );
    }
    for i in 0..cfg.n() {
        cfg.shutdown_server(i);
    }
    for i in 0..cfg.n() {
        cfg.start_server(i);
    }
    cfg.connect_all();
    wait_value(
        &mut other,
        "k",
        "ab",
        "after every server restarted from its snapshot (4B: a restarted server restores the service's state \
         from the snapshot in its persister)",
    );
    *v.lock() = Valve::Open;
    let _ck = done
        .recv_timeout(Duration::from_secs(5))
        .unwrap_or_else(|_| panic!("the clerk's retried Append did not return within 5 s of the restart"));
    let got = other.get("k");
    if got != "ab" {
        panic!(
            "{} (every server had restarted from a snapshot taken after the first execution: the duplicate table \
             must be in the snapshot)",
            applied_twice("k", "b", &got, "after every server restarted from its snapshot")
        );
    }
    cfg.end();
}

/// 6.5840: TestOnePartition4A (the body of `one_partition_4a`, generic over the service).
pub fn one_partition<K: KvImpl>() {
    let cfg = Arc::new(make_config_with::<K>(5, false, -1));
    let mut ck = cfg.make_client(&cfg.all());
    ck.put("1", "13");

    cfg.begin("Test: progress in majority (4A)");
    let (p1, p2) = cfg.make_partition();
    cfg.partition(&p1, &p2);
    let mut ckp1 = cfg.make_client(&p1); // connect ckp1 to p1
    let ckp2a = cfg.make_client(&p2); // connect ckp2a to p2
    let ckp2b = cfg.make_client(&p2); // connect ckp2b to p2
    ckp1.put("1", "14");
    ckp1.check("1", "14");
    cfg.end();

    cfg.begin("Test: no progress in minority (4A)");
    let (ida, idb) = (ckp2a.id(), ckp2b.id());
    let (done0_tx, done0) = unbounded();
    let (done1_tx, done1) = unbounded();
    let mut ck2a = ckp2a;
    World::current().node("client-p2a").spawn("put", move || {
        ck2a.put("1", "15");
        let _ = done0_tx.send(());
    });
    let mut ck2b = ckp2b;
    World::current().node("client-p2b").spawn("get", move || {
        ck2b.get("1"); // different clerk in p2
        let _ = done1_tx.send(());
    });
    sleep(Duration::from_secs(1));
    if done0.try_recv().is_ok() {
        panic!(
            "Put in minority completed (a leader cut off from the majority must not answer before the operation \
             commits: the lab's rule, every operation goes through the Raft log)"
        );
    }
    if done1.try_recv().is_ok() {
        panic!(
            "Get in minority completed (a leader cut off from the majority may be stale: the lab's rule, a Get \
             goes through the Raft log too)"
        );
    }
    ckp1.check("1", "14");
    ckp1.put("1", "16");
    ckp1.check("1", "16");
    cfg.end();

    cfg.begin("Test: completion after heal (4A)");
    cfg.connect_all();
    cfg.connect_client_id(ida, &cfg.all());
    cfg.connect_client_id(idb, &cfg.all());
    sleep(ELECTION_TIMEOUT);
    if done0.recv_timeout(Duration::from_secs(3)).is_err() {
        panic!("Put did not complete");
    }
    if done1.recv_timeout(Duration::from_secs(3)).is_err() {
        panic!("Get did not complete");
    }
    ck.check("1", "15");
    cfg.end();
}

/// The lab's rule for the rsm: a submit is answered only if *its own* operation committed at
/// the index where it was started. A leader cut off in a minority starts three Puts; the
/// majority elects a new leader and commits five other Puts at the same indexes; once the
/// partition heals, the old leader's three entries are replaced by them, with their commit. A server that answers with
/// whatever was applied at the index tells the three clerks that their Puts succeeded, though
/// none was ever executed.
pub fn answers_only_its_own_operation<K: KvImpl>() {
    const MINORITY_PUTS: usize = 3;
    let cfg = make_config_with::<K>(5, false, -1);
    cfg.begin("Test: a request is answered only by its own operation (4A)");
    let mut ck = cfg.make_client(&cfg.all());
    ck.put("k", "0");
    // Let every follower learn that the Put committed, so both sides' logs end at its index.
    sleep(Duration::from_millis(500));
    let (p1, p2) = cfg.make_partition();
    let old_leader = *p2.last().expect("the minority holds the old leader");
    cfg.partition(&p1, &p2);
    let (done_tx, done) = unbounded();
    let mut ids = Vec::new();
    for i in 0..MINORITY_PUTS {
        let mut c = cfg.make_client(&[old_leader]);
        ids.push(c.id());
        let tx = done_tx.clone();
        World::current().node(format!("client-minority-{i}")).spawn("put", move || {
            c.put(&format!("m{i}"), "minority");
            let _ = tx.send(i);
        });
    }
    // The three Puts reach the old leader and wait there.
    sleep(Duration::from_secs(1));
    let mut ckp1 = cfg.make_client(&p1);
    for j in 0..5 {
        ckp1.put(&format!("j{j}"), "majority");
    }
    // Heal, but for a second lose every call the old leader makes: it must learn of the new
    // term from the new leader's AppendEntries, which carries the majority's entries and their
    // commit, rather than from a reply to its own heartbeat long before them (then a server
    // could notice the lost leadership first, and this test would not see the rule at work).
    let mute = Arc::new(Mutex::new(Some(cfg.group().node_name(old_leader))));
    let m = mute.clone();
    cfg.net().set_filter(Some(Arc::new(move |c: &CallInfo<'_>| {
        if m.lock().as_deref() == Some(c.caller) { Fault::DropRequest } else { Fault::None }
    })));
    cfg.connect_all();
    for &id in &ids {
        cfg.connect_client_id(id, &cfg.all());
    }
    sleep(Duration::from_secs(1));
    *mute.lock() = None;
    for _ in 0..MINORITY_PUTS {
        if done.recv_timeout(Duration::from_secs(10)).is_err() {
            panic!("a Put started at the old leader did not complete within 10 s of the partition healing");
        }
    }
    for i in 0..MINORITY_PUTS {
        let v = ck.get(&format!("m{i}"));
        if v != "minority" {
            panic!(
                "put(\"m{i}\", \"minority\") was answered as done, but get(\"m{i}\") returned {v:?}: server {old_leader}, \
                 leader in a minority, answered it with another server's operation committed at its log index (the \
                 lab (rsm): answer a request only if its own operation committed at its index; compare the \
                 operation's id, and report a lost leadership otherwise)"
            );
        }
    }
    cfg.end();
}
