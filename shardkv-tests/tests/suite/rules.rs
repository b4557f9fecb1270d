//! Checks beyond 6.5840 for Lab 5, each aimed at one rule of the lab (see
//! docs/lab5-shardkv.md, "What the tests check"), and the 6.5840 bodies that the tests of the
//! tester run on broken groups; all generic over the service.

use labrpc::{CallInfo, Fault, Tap};
use labs::sync::{Arc, Mutex, unbounded};
use labs::time::{Duration, Instant, sleep};
use labs::world::World;
use shardkv::common::{GetArgs, GetReply, KvErr};
use shardkv::{NSHARDS, key2shard};
use shardkv_tests::kv::{Config, ShardClerk, ShardImpl, check, gid};
use shardkv_tests::random_string;
use std::collections::BTreeSet;
use testkit::Ends;

/// A key of shard `s` ("<c>k" where the first byte is `s` mod [`NSHARDS`]).
fn key_of(s: usize) -> String {
    let c = (b'0' + ((s + NSHARDS - (b'0' as usize % NSHARDS)) % NSHARDS) as u8) as char;
    let k = format!("{c}k");
    assert_eq!(key2shard(&k), s);
    k
}

/// Joins group 0 and puts "v" at one key of every shard; returns the keys, by shard.
fn first_group_holds_every_shard<S: ShardImpl>(cfg: &Config<S>, ck: &mut S::Clerk) -> Vec<String> {
    cfg.join(0);
    let keys: Vec<String> = (0..NSHARDS).map(key_of).collect();
    for k in &keys {
        ck.put(k, "v");
    }
    keys
}

/// Waits up to 10 s for `ck` to read `want` at `key`.
fn wait_value<C: ShardClerk>(ck: &mut C, key: &str, want: &str, what: &str) {
    let t0 = Instant::now();
    loop {
        let v = ck.get(key);
        if v == want {
            return;
        }
        if t0.elapsed() > Duration::from_secs(10) {
            panic!("{what}: Get({key:?}) returned {v:?}, not {want:?}, for 10 s");
        }
        sleep(Duration::from_millis(100));
    }
}

/// The lab's ownership rule: once a group has moved to a configuration that gives a shard to
/// another group, it answers requests for that shard with `ErrWrongGroup`.
pub fn rejects_unowned_shard<S: ShardImpl>() {
    let cfg = Config::<S>::with(3, false, -1);
    cfg.begin("Test (5B): a group refuses the shards it does not own");
    let mut ck = cfg.make_client();
    let keys = first_group_holds_every_shard(&cfg, &mut ck);
    cfg.join(1);
    let conf = cfg.query();
    let moved: Vec<usize> = (0..NSHARDS).filter(|&s| conf.shards[s] == gid(1)).collect();
    assert!(!moved.is_empty(), "configuration {} gives group {} no shard", conf.num, gid(1));
    for &s in &moved {
        check(&mut ck, &keys[s], "v");
    }
    // Ask group 100 directly for a shard it gave away, until its leader refuses it.
    let s = moved[0];
    let ends = Ends::new(cfg.net());
    let servers: Vec<(String, labrpc::ClientEnd)> =
        cfg.group_names(0).into_iter().map(|n| (n.clone(), ends.make(&n))).collect();
    let _step = cfg.frame().step(format!("asking group {} for shard {s}, which it gave away", gid(0)));
    let t0 = Instant::now();
    let mut served = None;
    loop {
        let mut refused = false;
        for (name, end) in &servers {
            if let Ok(r) = end.call::<_, GetReply>("ShardKV.Get", &GetArgs { key: keys[s].clone() }) {
                match r.err {
                    KvErr::WrongGroup => refused = true,
                    KvErr::Ok | KvErr::NoKey => served = Some((name.clone(), r.err, r.value)),
                    _ => {}
                }
            }
        }
        if refused {
            break;
        }
        if t0.elapsed() > Duration::from_secs(5) {
            let (name, err, value) =
                served.unwrap_or_else(|| ("none of its servers".into(), KvErr::WrongLeader, String::new()));
            panic!(
                "5 s after configuration {} gave shard {s} to group {}, group {}'s server {name} still answered \
                 Get({:?}) with {err:?} {value:?}, and none of its servers said ErrWrongGroup: a group serves only \
                 the shards its current configuration gives it (the lab's ownership rule)",
                conf.num,
                gid(1),
                gid(0),
                keys[s]
            );
        }
        sleep(Duration::from_millis(200));
    }
    cfg.end();
}

/// The lab's migration rule: a group serves a shard it gained only once the shard's data has
/// arrived from its previous owner. Group 100 holds every shard and is shut down; group 101
/// joins and gains half of them, which it cannot fetch: it must not answer for them.
pub fn waits_for_shard_data<S: ShardImpl>() {
    let cfg = Config::<S>::with(3, false, -1);
    cfg.begin("Test (5B): a group serves a gained shard only once its data arrived");
    let mut ck = cfg.make_client();
    let keys = first_group_holds_every_shard(&cfg, &mut ck);
    cfg.shutdown_group(0);
    cfg.join(1);
    let conf = cfg.query();
    let gained: Vec<usize> = (0..NSHARDS).filter(|&s| conf.shards[s] == gid(1)).collect();
    let ends = Ends::new(cfg.net());
    let servers: Vec<(String, labrpc::ClientEnd)> =
        cfg.group_names(1).into_iter().map(|n| (n.clone(), ends.make(&n))).collect();
    let _step =
        cfg.frame().step(format!("asking group {} for shards {gained:?}, still at group {}", gid(1), gid(0)));
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(2) {
        for &s in &gained {
            for (name, end) in &servers {
                if let Ok(r) = end.call::<_, GetReply>("ShardKV.Get", &GetArgs { key: keys[s].clone() })
                    && matches!(r.err, KvErr::Ok | KvErr::NoKey)
                {
                    panic!(
                        "group {}'s server {name} answered Get({:?}) with {:?} {:?}, but shard {s}'s data is still \
                         at group {}, which is down (configuration {} gave the shard to group {}): a group serves \
                         a shard it gained only once the shard's data has arrived from its previous owner (the \
                         lab's migration rule)",
                        gid(1),
                        keys[s],
                        r.err,
                        r.value,
                        gid(0),
                        conf.num,
                        gid(1)
                    );
                }
            }
        }
        sleep(Duration::from_millis(100));
    }
    cfg.start_group(0);
    for k in &keys {
        check(&mut ck, k, "v");
    }
    cfg.end();
}

/// The lab's migration rule: a shard moves with its part of the duplicate table, so that a
/// request executed by the old owner, whose reply was lost, is not executed again when its
/// retry reaches the new owner.
pub fn dup_table_moves_with_shard<S: ShardImpl>() {
    let cfg = Config::<S>::with(3, false, -1);
    cfg.begin("Test (5B): the duplicate table moves with its shard");
    let mut other = cfg.make_client();
    cfg.join(0);
    cfg.join(1);
    let node = World::current().node("clerk-a");
    let mut cka = node.enter(|| cfg.make_client());
    let conf = cfg.query();
    let s = (0..NSHARDS).find(|&s| conf.shards[s] == gid(0)).expect("group 100 owns a shard");
    let k = key_of(s);
    node.enter(|| cka.put(&k, "a"));
    // Lose the replies of clerk-a's PutAppends (until the Append has been executed), then
    // hold its requests.
    let state = Arc::new(Mutex::new(1u8));
    let h = state.clone();
    cfg.net().set_filter(Some(Arc::new(move |c: &CallInfo<'_>| {
        if c.caller != "clerk-a" {
            return Fault::None;
        }
        match *h.lock() {
            1 if c.method == "ShardKV.PutAppend" => Fault::DropReply,
            2 => Fault::DropRequest,
            _ => Fault::None,
        }
    })));
    let (tx, rx) = unbounded();
    let key = k.clone();
    node.spawn("append", move || {
        cka.append(&key, "b");
        let _ = tx.send(());
    });
    wait_value(&mut other, &k, "ab", "the Append whose reply the network lost");
    *state.lock() = 2;
    cfg.move_shard(s, 1);
    wait_value(
        &mut other,
        &k,
        "ab",
        &format!("after shard {s} moved from group {} to group {}", gid(0), gid(1)),
    );
    *state.lock() = 0;
    if rx.recv_timeout(Duration::from_secs(10)).is_err() {
        panic!("the clerk's retried Append did not return within 10 s once its requests got through");
    }
    let got = other.get(&k);
    if got != "ab" {
        panic!(
            "Get({k:?}) returned {got:?}: Append({k:?}, \"b\") was applied twice. Group {} executed it and its reply \
             was lost; shard {s} then moved to group {}, where the clerk's retry ran again: a shard moves with the \
             duplicate detection state of its keys (the lab's migration rule)",
            gid(0),
            gid(1)
        );
    }
    cfg.end();
}

/// What [`restarted_group_catches_up`] saw of group 100 while it set its trap.
#[derive(Default)]
struct Trap {
    /// A request of group 101 to delete shards at group 100 has arrived since the last reset.
    armed: bool,
    /// The (caller, server) pairs of group 100's servers that have made their one call to each
    /// other since the last deletion request arrived; later calls between them are lost.
    used: BTreeSet<(String, String)>,
    /// The server of group 100 that made the first such call (its leader, replicating the
    /// deletion).
    leader: Option<String>,
    /// The leader's answer to the deletion request has reached group 101.
    sprung: bool,
}

/// Whether `method` looks like a request to delete shards at their previous owner (the
/// reference's `ShardKV.DeleteShards`; a `Delete...` or `GC...` method of another design).
fn deletes_shards(method: &str) -> bool {
    let m = method.rsplit('.').next().unwrap_or(method).to_ascii_lowercase();
    !method.starts_with("Raft.") && (m.contains("delete") || m.starts_with("gc"))
}

/// The network name of the server whose instance runs on `node` (`server-100-0#2`).
fn server_of(node: &str) -> &str {
    node.split('#').next().unwrap_or(node)
}

/// The lab's liveness rule (Figure 8 across restarts): after every server of a group restarts,
/// its new leader applies what earlier terms committed, even when nothing else enters the log.
///
/// Group 100 owns every shard; group 101 joins and takes half of them. When group 101 asks
/// group 100 to delete them, a labrpc filter lets group 100's leader send each follower one
/// more call (the entry) and loses every later one, so the followers hold the deletion in
/// their logs without knowing it committed (maxraftstate 1: their snapshots predate it). Group
/// 101 gets its answer; group 100 is shut down at that instant, and all its servers but the
/// old leader restart: the new leader, in configuration 2 with shards still waiting for group
/// 101, applies the deletion only once an entry of its own term commits. No clerk asks group
/// 100 for anything: group 100 leaves, and group 101 must get the rest of the shards from it
/// within 10 s.
pub fn restarted_group_catches_up<S: ShardImpl>() {
    let cfg = Config::<S>::with(3, false, 1);
    cfg.begin("Test (5B): a restarted group applies what earlier terms committed");
    let mut ck = cfg.make_client();
    let keys = first_group_holds_every_shard(&cfg, &mut ck);
    let a: Vec<String> = cfg.group_names(0);
    let b: Vec<String> = cfg.group_names(1);
    let trap = Arc::new(Mutex::new(Trap::default()));
    let (sprung_tx, sprung_rx) = unbounded::<String>();
    let (t, a_names) = (trap.clone(), a.clone());
    cfg.net().set_filter(Some(Arc::new(move |c: &CallInfo<'_>| {
        let from = server_of(c.caller);
        let Some(to) = c.server else { return Fault::None };
        if !a_names.iter().any(|n| n == from) || !a_names.iter().any(|n| n == to) {
            return Fault::None;
        }
        let mut t = t.lock();
        if !t.armed {
            return Fault::None;
        }
        if t.used.insert((from.to_string(), to.to_string())) {
            t.leader.get_or_insert_with(|| from.to_string());
            Fault::None
        } else {
            Fault::DropRequest
        }
    })));
    let (t, a_names) = (trap.clone(), a.clone());
    cfg.net().set_tap(Some(Arc::new(move |tap: &Tap| match tap {
        Tap::Arrived(r)
            if deletes_shards(&r.method)
                && b.iter().any(|n| n == server_of(&r.caller))
                && a_names.iter().any(|n| **n == *r.server) =>
        {
            let mut t = t.lock();
            if !t.sprung {
                t.armed = true;
                t.used.clear();
                t.leader = None;
            }
        }
        Tap::Returned(r)
            if r.reply.is_some()
                && deletes_shards(&r.method)
                && b.iter().any(|n| n == server_of(&r.caller)) =>
        {
            let mut t = t.lock();
            if !t.sprung && t.leader.as_deref() == Some(&*r.server) {
                t.sprung = true;
                let _ = sprung_tx.send(r.server.to_string());
            }
        }
        _ => {}
    })));
    cfg.join(1);
    let joined = cfg.query();
    let leader = sprung_rx.recv_timeout(Duration::from_secs(5)).ok();
    cfg.shutdown_group(0);
    cfg.net().set_filter(None);
    cfg.net().set_tap(None);
    let old_leader = leader.as_ref().and_then(|l| a.iter().position(|n| n == l));
    for i in (0..cfg.n()).filter(|&i| Some(i) != old_leader) {
        cfg.start_server(0, i);
    }
    let setup = match &leader {
        Some(l) => format!(
            "group {}'s servers were shut down as soon as its leader {l} had answered group {}'s request to delete \
             the shards it took in configuration {} (the followers had the deletion in their logs, but did not know \
             it had committed), and all but {l} restarted",
            gid(0),
            gid(1),
            joined.num
        ),
        None => format!(
            "group {}'s servers were all shut down and restarted (the test saw no request of group {} to delete \
             shards at group {}, so it could not time the shutdown)",
            gid(0),
            gid(1),
            gid(0)
        ),
    };
    labs::events::note(setup.clone());
    cfg.leave(0);
    let left = cfg.query();
    let _step = cfg.frame().step(format!("reading every key after group {} left", gid(0)));
    let (tx, rx) = unbounded();
    let mut reader = cfg.make_client();
    let all = keys.clone();
    labs::thread::spawn("reader", move || {
        for k in &all {
            let _ = tx.send(reader.get(k));
        }
    });
    let t0 = Instant::now();
    for (s, k) in keys.iter().enumerate() {
        let left_for = Duration::from_secs(10).saturating_sub(t0.elapsed());
        match rx.recv_timeout(left_for) {
            Ok(v) if v == "v" => {}
            Ok(v) => panic!("Get({k:?}) returned {v:?}, not \"v\", after group {} left ({setup})", gid(0)),
            Err(_) => panic!(
                "Get({k:?}) (shard {s}) did not return within 10 s of configuration {}, which moves group {}'s \
                 shards to group {}: {setup}; no clerk asked group {} for anything since. Group {} stayed in an \
                 older configuration after its servers restarted: a new leader must get an entry of its own term \
                 committed (a no-op) to apply what earlier terms committed (Figure 8), or the groups waiting for it \
                 wait forever (the lab's liveness rule)",
                left.num,
                gid(0),
                gid(1),
                gid(0),
                gid(0)
            ),
        }
    }
    cfg.end();
}

/// Puts `n` keys "0".."n-1" with values from `value`.
fn put_keys<C: ShardClerk>(ck: &mut C, n: usize, value: impl Fn() -> String) -> (Vec<String>, Vec<String>) {
    let ka: Vec<String> = (0..n).map(|i| i.to_string()).collect();
    let va: Vec<String> = (0..n).map(|_| value()).collect();
    for (k, v) in ka.iter().zip(&va) {
        ck.put(k, v);
    }
    (ka, va)
}

/// Checks every key, then appends `len` random characters to it.
fn check_append<C: ShardClerk>(ck: &mut C, ka: &[String], va: &mut [String], len: usize) {
    for (k, v) in ka.iter().zip(va.iter_mut()) {
        check(ck, k, v);
        let x = random_string(len);
        ck.append(k, &x);
        v.push_str(&x);
    }
}

/// 6.5840: TestJoinLeave5B (the body of `join_leave_5b`).
pub fn join_leave<S: ShardImpl>() {
    let cfg = Config::<S>::with(3, false, -1);
    cfg.begin("Test (5B): join then leave");
    let mut ck = cfg.make_client();
    cfg.join(0);
    let (ka, mut va) = put_keys(&mut ck, 10, || random_string(5));
    for (k, v) in ka.iter().zip(&va) {
        check(&mut ck, k, v);
    }
    cfg.join(1);
    check_append(&mut ck, &ka, &mut va, 5);
    cfg.leave(0);
    check_append(&mut ck, &ka, &mut va, 5);
    // Allow time for shards to transfer.
    sleep(Duration::from_secs(1));
    cfg.checklogs();
    cfg.shutdown_group(0);
    for (k, v) in ka.iter().zip(&va) {
        check(&mut ck, k, v);
    }
    cfg.end();
}

fn check_first3<C: ShardClerk>(ck: &mut C, ka: &[String], va: &[String]) {
    for i in 0..3 {
        check(ck, &ka[i], &va[i]);
    }
}

/// 6.5840: TestChallenge1Delete (the body of `challenge1_delete_5c`).
pub fn challenge1_delete<S: ShardImpl>() {
    let cfg = Config::<S>::with(3, false, 1);
    cfg.begin("Test: shard deletion (challenge 1)");
    let mut ck = cfg.make_client();
    cfg.join(0);
    // 30,000 bytes of total values.
    let n = 30;
    let (ka, va) = put_keys(&mut ck, n, || random_string(1000));
    check_first3(&mut ck, &ka, &va);
    for _ in 0..2 {
        cfg.join(1);
        cfg.leave(0);
        cfg.join(2);
        sleep(Duration::from_secs(3));
        check_first3(&mut ck, &ka, &va);
        cfg.leave(1);
        cfg.join(0);
        cfg.leave(2);
        sleep(Duration::from_secs(3));
        check_first3(&mut ck, &ka, &va);
    }
    cfg.join(1);
    cfg.join(2);
    for _ in 0..3 {
        sleep(Duration::from_secs(1));
        check_first3(&mut ck, &ka, &va);
    }
    let total = cfg.total_size();
    // 27 keys should be stored once; 3 keys also in client dup tables; everything on 3
    // replicas; plus slop.
    let expected = 3 * ((n - 3) * 1000 + 2 * 3 * 1000 + 6000);
    labs::events::note(format!("Raft state + snapshots of all servers: {total} bytes (limit {expected})"));
    assert!(
        total <= expected,
        "snapshot + persisted Raft state are too big: {total} > {expected} (challenge 1: a group deletes the \
         shards it no longer owns once their new owner has them)"
    );
    for (k, v) in ka.iter().zip(&va) {
        check(&mut ck, k, v);
    }
    cfg.end();
}
