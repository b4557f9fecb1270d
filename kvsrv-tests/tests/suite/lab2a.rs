//! The bodies of the 2A suite (6.5840's `kvsrv1`, and two tests of DSLabs' lab 1),
//! generic over the implementation so that the tester's own tests can run them against broken
//! servers and clerks. `kvsrv-tests/tests/lab2a.rs` runs them on the lab's code.

use kvsrv::{KvClerk, KvError};
use kvsrv_tests::{
    ClntRes, Config, KvImpl, STATE_BYTES_PER_CLIENT, check_put_concurrent, one_put, random_string,
};
use labs::sync::Arc;
use labs::sync::atomic::Ordering;
use labs::time::{Duration, Instant, sleep};

/// 6.5840: TestReliablePut.
pub fn reliable_put<K: KvImpl>() {
    const VAL: &str = "6.5840";
    let cfg = Config::<K>::new(true);
    cfg.begin("One client and reliable Put");
    let ck = cfg.make_clerk();

    if let Err(e) = ck.put("k", VAL, 0) {
        panic!(
            "Put err {e}: a Put at version 0 to a missing key must create it (rule: Put creates a key at version 0)"
        );
    }
    match ck.get("k") {
        Err(e) => panic!("Get err {e}; expected OK: the Put before it created the key"),
        Ok((v, _)) if v != VAL => panic!("Get value err {v:?}; expected {VAL:?}"),
        Ok((_, ver)) if ver != 1 => {
            panic!("Get wrong version {ver}; expected 1 (rule: a key created by a Put has version 1)")
        }
        Ok(_) => {}
    }
    match ck.put("k", VAL, 0) {
        Err(KvError::Version) => {}
        r => panic!(
            "expected Put to fail with ErrVersion; got {}: the key is at version 1 and the Put named version 0 \
             (rule: a Put applies only when its version is the key's)",
            describe(&r)
        ),
    }
    match ck.put("y", VAL, 1) {
        Err(KvError::NoKey) => {}
        r => panic!(
            "expected Put to fail with ErrNoKey; got {}: key \"y\" does not exist and the Put named version 1 \
             (rule: a Put to a missing key with a version other than 0 is ErrNoKey)",
            describe(&r)
        ),
    }
    match ck.get("y") {
        Err(KvError::NoKey) => {}
        r => panic!("expected Get to fail with ErrNoKey; got {r:?}: key \"y\" was never created"),
    }
    cfg.end();
}

fn describe(r: &Result<(), KvError>) -> String {
    match r {
        Ok(()) => "OK".into(),
        Err(e) => e.to_string(),
    }
}

/// 6.5840: TestPutConcurrentReliable.
pub fn put_concurrent_reliable<K: KvImpl>() {
    const NCLNT: usize = 10;
    const NSEC: u64 = 1;
    let cfg = Arc::new(Config::<K>::new(true));
    cfg.begin("Test: many clients racing to put values to the same key");
    let res = cfg.spawn_clients_and_wait(
        NCLNT,
        Duration::from_secs(NSEC),
        |me, ck, done| {
            let mut res = ClntRes::default();
            let mut ver = 0;
            while !done.load(Ordering::Relaxed) {
                let (v, ok) = one_put(me, &*ck, "k", ver);
                ver = v;
                if ok {
                    res.nok += 1;
                } else {
                    res.nmaybe += 1;
                }
            }
            res
        },
        |me| format!("client {me} is still in a Put or Get 10 s after the clients were told to stop"),
    );
    let ck = cfg.make_clerk();
    check_put_concurrent(&*ck, "k", &res, cfg.is_reliable());
    cfg.end();
}

/// 6.5840: TestMemPutManyClientsReliable, with the server's encoded state size in place of
/// Go's heap size (see [`STATE_BYTES_PER_CLIENT`]).
pub fn mem_put_many_clients_reliable<K: KvImpl>() {
    const NCLIENT: usize = 20_000;
    const MEM: usize = 1000;
    let cfg = Config::<K>::new(true);
    let cks: Vec<_> = (0..NCLIENT).map(|_| cfg.make_clerk()).collect();
    // Every clerk talks to the server once before the measurement.
    for ck in &cks {
        match ck.put("k", "", 1) {
            Err(KvError::NoKey) => {}
            r => panic!("Put failed {}: key \"k\" does not exist and the Put named version 1", describe(&r)),
        }
    }
    cfg.begin("Test: memory use many put clients");
    let value = random_string(MEM);
    sleep(Duration::from_secs(1));
    let m0 = cfg.state_size();
    for (i, ck) in cks.iter().enumerate() {
        if let Err(e) = ck.put("k", &value, i as u64) {
            panic!("Put failed {e}: clerk {i}'s Put named the key's version {i}");
        }
    }
    let m1 = cfg.state_size();
    if m1 > m0 + NCLIENT * STATE_BYTES_PER_CLIENT {
        panic!(
            "error: server using too much memory: its state encodes to {m1} bytes after {NCLIENT} clients each put a \
             {MEM}-byte value to one key, {m0} bytes before ({:.2} bytes per client; the bound is \
             {STATE_BYTES_PER_CLIENT}): keep only each key's current value and version, nothing per client or per \
             put (rule: the server's state does not grow with clients or puts)",
            (m1 - m0) as f64 / NCLIENT as f64
        );
    }
    cfg.end();
}

/// 6.5840: TestUnreliableNet.
pub fn unreliable_net<K: KvImpl>() {
    const NTRY: u64 = 100;
    let cfg = Config::<K>::new(false);
    cfg.begin("One client");
    let ck = cfg.make_clerk();
    let rpcs0 = cfg.rpc_total();
    let mut retried = false;
    for try_ in 0..NTRY {
        let mut i = 0;
        loop {
            let r = ck.put("k", &i.to_string(), try_);
            if r != Err(KvError::Maybe) {
                if i > 0 && r != Err(KvError::Version) {
                    panic!(
                        "Put shouldn't have happen more than once: after a Put at version {try_} returned ErrMaybe, \
                         the same Put again returned {} (one client only: ErrMaybe here means the first one was \
                         applied; rule: a Put applies only at the key's version)",
                        describe(&r)
                    );
                }
                break;
            }
            retried = true;
            i += 1;
        }
        let (v, ver) = ck.get("k").unwrap_or_else(|e| panic!("Get err {e}: the key exists"));
        if ver != try_ + 1 {
            panic!("Wrong version {ver} expect {}: one Put per round must be applied", try_ + 1);
        }
        if v != "0" {
            panic!("Wrong value {v} expect 0: the first Put of each round must be the one applied");
        }
    }
    if !retried {
        panic!(
            "Clerk.Put never returned ErrMaybe: {NTRY} rounds on an unreliable network took {} RPCs, so requests \
             were re-sent, yet no Put said ErrMaybe (rule: a re-sent Put that gets ErrVersion returns ErrMaybe, \
             since its first copy may have been applied)",
            cfg.rpc_total() - rpcs0
        );
    }
    cfg.end();
}

/// DSLabs: lab 1 part 3, test06LongRunningWorkload. Four clients, each on its own key, put and
/// get for 30 s on a reliable network; every result must be what the client itself last put,
/// and no operation may take 1 s or more.
pub fn long_running_workload<K: KvImpl>() {
    const NCLNT: usize = 4;
    const MAX_WAIT: Duration = Duration::from_secs(1);
    let cfg = Arc::new(Config::<K>::new(true));
    cfg.begin("Test: long-running workload, max wait");
    let ops = cfg.spawn_clients_and_wait(
        NCLNT,
        Duration::from_secs(30),
        |me, ck, done| {
            let key = format!("c{me}");
            let (mut ver, mut last) = (0, None::<String>);
            let mut ops = 0;
            while !done.load(Ordering::Relaxed) {
                sleep(Duration::from_millis(labs::rand::gen_range(0..=20)));
                ops += 1;
                if labs::rand::gen_bool(0.5) {
                    let v = format!("{me} {ver}");
                    match ck.put(&key, &v, ver) {
                        Ok(()) => {
                            ver += 1;
                            last = Some(v);
                        }
                        r => panic!(
                            "client {me}: Put({key:?}, at version {ver}) returned {} on a reliable network, though \
                             only this client writes the key and {ver} is its version",
                            describe(&r)
                        ),
                    }
                } else {
                    let got = ck.get(&key);
                    let want = last.clone().map(|v| (v, ver)).ok_or(KvError::NoKey);
                    if got != want {
                        panic!("client {me}: Get({key:?}) returned {got:?}, but the client's own last Put left {want:?}");
                    }
                }
            }
            ops
        },
        |me| format!("client {me} is still in a Put or Get 10 s after the clients were told to stop"),
    );
    let wait = cfg.max_wait();
    if wait >= MAX_WAIT {
        panic!(
            "a clerk operation took {wait:?} on a reliable network ({} operations by {NCLNT} clients): every one must \
             finish within {MAX_WAIT:?} (DSLabs' max wait: do not sleep before a first try, and never hold the \
             server's lock while waiting)",
            ops.iter().sum::<u64>()
        );
    }
    cfg.end();
}

/// DSLabs: lab 1 part 2, test05SingleClientFinishesUnreliable, with a link that loses about half
/// of what it carries (see `Config::make_lossy_clerk`). One client makes 25 puts in a row,
/// each until it is applied; they must all be done within 30 s (DSLabs' time limit).
pub fn unreliable_finishes<K: KvImpl>() {
    const NPUT: u64 = 25;
    const LIMIT: Duration = Duration::from_secs(30);
    let cfg = Config::<K>::new(false);
    let ck = cfg.make_lossy_clerk();
    cfg.begin("Test: one client finishes over a link that loses half its messages");
    let t0 = Instant::now();
    for i in 0..NPUT {
        // The key is at version i before the i-th put.
        let (value, ver) = (i.to_string(), i);
        loop {
            match ck.put("k", &value, ver) {
                Ok(()) => break,
                Err(KvError::Maybe) => {
                    // Applied or not? The client is alone: read to find out.
                    match ck.get("k") {
                        Ok((v, n)) if n == ver + 1 && v == value => break,
                        Ok((_, n)) if n == ver => {}
                        Err(KvError::NoKey) if ver == 0 => {}
                        got => panic!(
                            "Get returned {got:?} after a Put of {value:?} at version {ver} returned ErrMaybe: the \
                             client is alone, so the key must be at version {ver} or hold the put's value"
                        ),
                    }
                }
                Err(e) => panic!(
                    "Put of {value:?} at version {ver} returned {e}: the client is alone and {ver} is the key's version"
                ),
            }
        }
        cfg.check();
    }
    let took = t0.elapsed();
    if took > LIMIT {
        panic!(
            "{NPUT} puts took {took:?} over the lossy link, more than {LIMIT:?}: re-send a request that got no reply \
             promptly (6.5840 suggests about 100 ms)"
        );
    }
    let (v, n) = ck.get("k").unwrap_or_else(|e| panic!("Get err {e}: the key exists"));
    if (v.as_str(), n) != ((NPUT - 1).to_string().as_str(), NPUT) {
        panic!(
            "after {NPUT} puts the key holds ({v:?}, version {n}), expected ({:?}, version {NPUT})",
            NPUT - 1
        );
    }
    cfg.end();
}
