//! The bodies of the 2B suite: the lock (6.5840's `kvsrv1/lock`), generic
//! over the implementation so that the tester's own tests can run them against broken locks.
//! `kvsrv-tests/tests/lab2b.rs` runs them on the lab's code.

use kvsrv::{KvClerk, KvError};
use kvsrv_tests::{Config, KvImpl, random_string};
use labs::sync::atomic::{AtomicBool, Ordering};
use labs::sync::{Arc, Mutex};
use labs::time::{Duration, sleep};

/// Lock clients in the many-client tests (6.5840's `NCLNT`).
const NCLNT: usize = 10;
/// How long the lock clients run (6.5840's `NSEC`).
const NSEC: u64 = 2;

/// 6.5840: TestReliableBasic.
pub fn reliable_basic<K: KvImpl>() {
    let cfg = Config::<K>::new(true);
    cfg.begin("Test: a single Acquire and Release");
    let ck = cfg.make_clerk();
    let lk = cfg.make_lock(&ck, &random_string(12));
    lk.acquire();
    lk.release();
    cfg.end();
}

/// 6.5840: TestReliableNested.
pub fn reliable_nested<K: KvImpl>() {
    let cfg = Config::<K>::new(true);
    cfg.begin("Test: one client, two locks");
    let ck = cfg.make_clerk();
    let a = cfg.make_lock(&ck, &random_string(12));
    let b = cfg.make_lock(&ck, &random_string(12));
    a.acquire();
    b.acquire();
    b.release();
    a.release();
    b.acquire();
    a.acquire();
    a.release();
    a.acquire();
    b.release();
    a.release();
    cfg.end();
}

/// 6.5840: TestOneClientReliable.
pub fn one_client_reliable<K: KvImpl>() {
    run_clients::<K>(1, true);
}

/// 6.5840: TestManyClientsReliable.
pub fn many_clients_reliable<K: KvImpl>() {
    run_clients::<K>(NCLNT, true);
}

/// 6.5840: TestOneClientUnreliable.
pub fn one_client_unreliable<K: KvImpl>() {
    run_clients::<K>(1, false);
}

/// 6.5840: TestManyClientsUnreliable.
pub fn many_clients_unreliable<K: KvImpl>() {
    run_clients::<K>(NCLNT, false);
}

/// 6.5840's `runClients`: `nclnt` clients share two locks; each takes and frees both once, then
/// for 2 s takes lock 1, checks that key "l0" is empty (no one else is inside), writes its id
/// there, waits 10 ms, empties it, and releases the lock.
fn run_clients<K: KvImpl>(nclnt: usize, reliable: bool) {
    let cfg = Arc::new(Config::<K>::new(reliable));
    let names = Arc::new([random_string(12), random_string(12)]);
    cfg.begin(&format!("Test: {nclnt} lock clients"));
    // What each client is doing, for a client that never comes back.
    let doing = Arc::new(Mutex::new(vec!["starting"; nclnt]));
    let (c, d, n) = (cfg.clone(), doing.clone(), names.clone());
    cfg.spawn_clients_and_wait(
        nclnt,
        Duration::from_secs(NSEC),
        move |me, ck, done| one_client(&c, me, &ck, &n, done, &d),
        |me| {
            format!(
                "lock client {me} is still in {} 10 s after the clients were told to stop: an Acquire that never \
                 returns although the lock is free, or a Release that never returns (rule: after ErrMaybe, read \
                 the lock again: this client may hold it already)",
                doing.lock()[me]
            )
        },
    );
    cfg.end();
}

fn one_client<K: KvImpl>(
    cfg: &Config<K>,
    me: usize,
    ck: &Arc<kvsrv_tests::TestClerk>,
    names: &[String; 2],
    done: &AtomicBool,
    doing: &Mutex<Vec<&'static str>>,
) {
    let set = |what| doing.lock()[me] = what;
    let l0 = cfg.make_lock(ck, &names[0]);
    let l1 = cfg.make_lock(ck, &names[1]);
    set("Acquire of lock 0");
    l0.acquire();
    set("Release of lock 0");
    l0.release();
    set("Acquire of lock 1");
    l1.acquire();
    set("Release of lock 1");
    l1.release();
    set("a Put");
    let _ = ck.put("l0", "", 0);
    while !done.load(Ordering::Relaxed) {
        set("Acquire of lock 1");
        l1.acquire();
        set("a Get or Put inside the lock");
        let (val, ver) = match ck.get("l0") {
            Ok(v) => v,
            Err(e) => panic!("{me}: get failed {e}: key \"l0\" exists"),
        };
        if !val.is_empty() {
            panic!(
                "{me}: two clients acquired lock: client {me} holds the lock, yet \"l0\" holds client {val}'s mark \
                 (rule: at most one client holds a lock; a Release frees only a lock its client holds)"
            );
        }
        let err = ck.put("l0", &me.to_string(), ver);
        if !matches!(err, Ok(()) | Err(KvError::Maybe)) {
            panic!(
                "{me}: put failed {err:?}: client {me} holds the lock, so no one else writes \"l0\" (rule: at most \
                 one client holds a lock)"
            );
        }
        sleep(Duration::from_millis(10));
        let err = ck.put("l0", "", ver + 1);
        if !matches!(err, Ok(()) | Err(KvError::Maybe)) {
            panic!(
                "{me}: put failed {err:?}: client {me} holds the lock, so no one else writes \"l0\" (rule: at most \
                 one client holds a lock)"
            );
        }
        set("Release of lock 1");
        l1.release();
    }
    set("nothing");
}

/// distlab: a Release by a client that does not hold the lock must leave it held. Client A
/// takes the lock; client B, with its own handle on the same lock, calls Release; a third
/// client C must then wait for the lock until A releases it.
pub fn release_not_held<K: KvImpl>() {
    let cfg = Arc::new(Config::<K>::new(true));
    cfg.begin("Test: a Release by a client that does not hold the lock");
    let name = random_string(12);
    let (cka, ckb, ckc) = (cfg.make_clerk(), cfg.make_clerk(), cfg.make_clerk());
    let a = cfg.make_lock(&cka, &name);
    let b = cfg.make_lock(&ckb, &name);
    a.acquire();
    b.release();
    let holds = match cka.get(&name) {
        Ok((v, n)) => format!("{v:?} at version {n}"),
        Err(e) => e.to_string(),
    };
    let acquired = Arc::new(AtomicBool::new(false));
    let (c2, got, n) = (cfg.clone(), acquired.clone(), name.clone());
    let waiter = labs::thread::spawn("client-c", move || {
        let c = c2.make_lock(&ckc, &n);
        c.acquire();
        got.store(true, Ordering::Relaxed);
        c.release();
    });
    sleep(Duration::from_secs(1));
    if acquired.load(Ordering::Relaxed) {
        panic!(
            "client C acquired the lock while client A held it: client B's Release freed a lock B did not hold (the \
             lock's key held {holds} after B's Release) (rule: Release frees the lock only if this client holds \
             it, so that a retried Release cannot free a lock another client has taken since)"
        );
    }
    a.release();
    if let Err(e) = waiter.join() {
        panic!("client C failed: {e}");
    }
    if !acquired.load(Ordering::Relaxed) {
        panic!("client C never acquired the lock after client A released it");
    }
    cfg.end();
}
