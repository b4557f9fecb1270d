//! Tests of the runtime itself under both backends: virtual time, kills, diagnostics and
//! determinism.

use labs::sync::{Arc, Condvar, Mutex, Select, bounded, unbounded};
use labs::thread;
use labs::time::{Duration, Instant, sleep};
use labs::world::{Backend, FailureKind, World};

fn sim(seed: u64) -> labs::world::Builder {
    World::builder().seed(seed).backend(Backend::Sim)
}

#[test]
fn an_hour_of_virtual_sleep_takes_milliseconds() {
    let wall = std::time::Instant::now();
    let out = sim(1).time_limit(Duration::from_secs(7200)).run(|| {
        let t0 = Instant::now();
        sleep(Duration::from_secs(3600));
        assert!(t0.elapsed() >= Duration::from_secs(3600));
    });
    out.result.unwrap();
    assert!(wall.elapsed() < Duration::from_millis(50), "took {:?}", wall.elapsed());
}

fn ping_pong(n: usize) {
    let (tx, rx) = unbounded::<usize>();
    let (btx, brx) = unbounded::<usize>();
    let h = thread::spawn("echo", move || {
        for v in rx.iter() {
            btx.send(v + 1).unwrap();
        }
    });
    for i in 0..n {
        tx.send(i).unwrap();
        assert_eq!(brx.recv().unwrap(), i + 1);
    }
    drop(tx);
    h.join().unwrap();
}

#[test]
fn channels_mutexes_and_condvars_work_under_both_backends() {
    for backend in [Backend::Sim, Backend::Real] {
        let out = World::builder().seed(3).backend(backend).run(|| {
            ping_pong(100);
            let pair = Arc::new((Mutex::new(0u32), Condvar::new()));
            let mut hs = Vec::new();
            for i in 0..4 {
                let p = pair.clone();
                hs.push(thread::spawn(format!("adder-{i}"), move || {
                    for _ in 0..50 {
                        *p.0.lock() += 1;
                        p.1.notify_all();
                    }
                }));
            }
            let mut g = pair.0.lock();
            while *g < 200 {
                pair.1.wait_for(&mut g, Duration::from_millis(10));
            }
            drop(g);
            for h in hs {
                h.join().unwrap();
            }
            let (btx, brx) = bounded::<u8>(1);
            let (_keep, other) = unbounded::<u8>();
            let p = thread::spawn("producer", move || {
                for i in 0..10 {
                    btx.send(i).unwrap();
                }
            });
            let mut got = Vec::new();
            while got.len() < 10 {
                let mut sel = Select::new();
                let a = sel.recv(&brx);
                sel.recv(&other);
                let i = sel.ready();
                assert_eq!(i, a);
                got.push(brx.recv().unwrap());
            }
            assert_eq!(got, (0..10).collect::<Vec<_>>());
            p.join().unwrap();
            assert!(brx.recv_timeout(Duration::from_millis(5)).is_err());
        });
        out.result.unwrap_or_else(|f| panic!("{backend}: {f}"));
    }
}

#[test]
fn a_killed_node_stops_for_good_and_others_carry_on() {
    let out = sim(5).run(|| {
        let world = World::current();
        let victim = world.node("victim");
        let ran_after = Arc::new(Mutex::new(false));
        let dropped = Arc::new(Mutex::new(false));
        let counter = Arc::new(Mutex::new(0u64));
        struct Flag(Arc<Mutex<bool>>);
        impl Drop for Flag {
            fn drop(&mut self) {
                *self.0.lock() = true;
            }
        }
        let (tx, rx) = unbounded::<()>();
        {
            let c = counter.clone();
            let d = dropped.clone();
            victim.spawn("ticker", move || {
                let _f = Flag(d);
                loop {
                    sleep(Duration::from_millis(10));
                    *c.lock() += 1;
                }
            });
            let r = ran_after.clone();
            victim.spawn("waiter", move || {
                let _ = rx.recv();
                *r.lock() = true;
            });
        }
        sleep(Duration::from_millis(100));
        victim.kill();
        let at_kill = *counter.lock();
        assert!(tx.send(()).is_err(), "the killed receiver was not dropped");
        let other = world.node("other").spawn("worker", || {
            sleep(Duration::from_secs(1));
            7
        });
        assert_eq!(other.join().unwrap(), 7);
        assert_eq!(*counter.lock(), at_kill, "a killed thread ran again");
        assert!(!*ran_after.lock(), "a killed receiver ran again");
        assert!(*dropped.lock(), "the killed thread's stack did not unwind");
    });
    out.result.unwrap();
}

#[test]
fn a_deadlock_is_reported_with_each_blocked_thread() {
    let out = sim(1).run(|| {
        let a = Arc::new(Mutex::new(()));
        let b = Arc::new(Mutex::new(()));
        let (a2, b2) = (a.clone(), b.clone());
        let h = thread::spawn("second", move || {
            let _gb = b2.lock();
            sleep(Duration::from_millis(10));
            let _ga = a2.lock();
        });
        let _ga = a.lock();
        sleep(Duration::from_millis(10));
        let _gb = b.lock();
        drop(h);
    });
    let f = out.result.unwrap_err();
    assert_eq!(f.kind, FailureKind::Deadlock);
    // Each blocked thread is named with the line of the caller's code it waits at.
    let second = format!("thread 'second' of node 'tester' waits in Mutex::lock at {}:145", file!());
    let main = format!("thread 'main' of node 'tester' waits in Mutex::lock at {}:149", file!());
    assert!(f.message.contains(&second), "{}", f.message);
    assert!(f.message.contains(&main), "{}", f.message);
}

/// A deadlock on a condition variable and a channel names the waits and their lines too.
#[test]
fn a_deadlock_names_the_callers_file_and_line() {
    let out = sim(2).run(|| {
        let (_tx, rx) = unbounded::<u32>();
        let pair = Arc::new((Mutex::new(false), Condvar::new()));
        let p2 = pair.clone();
        let h = thread::spawn("applier", move || {
            let mut g = p2.0.lock();
            while !*g {
                p2.1.wait(&mut g);
            }
        });
        let _ = rx.recv();
        drop(h);
    });
    let f = out.result.unwrap_err();
    assert_eq!(f.kind, FailureKind::Deadlock);
    let waits = format!("thread 'applier' of node 'tester' waits in Condvar::wait at {}:", file!());
    let recv = format!("thread 'main' of node 'tester' waits in Receiver::recv at {}:", file!());
    assert!(f.message.contains(&waits) && f.message.contains(&recv), "{}", f.message);
    println!("{}", f.message);
}

/// A simulated thread that sleeps with `std` (and still makes a runtime call now and then, so
/// it never spins) is named within seconds: before, virtual time crawled and nothing was said.
#[test]
fn a_std_sleep_in_a_simulated_thread_is_diagnosed_with_its_thread() {
    #[allow(clippy::disallowed_types, clippy::disallowed_methods, reason = "timing the diagnosis itself")]
    let wall = std::time::Instant::now();
    let out = sim(4).run(|| {
        let node = World::current().node("server-1");
        let h = node.spawn("ticker", || {
            loop {
                #[allow(clippy::disallowed_methods, reason = "the mistake under test")]
                std::thread::sleep(Duration::from_millis(100));
                sleep(Duration::from_micros(10));
            }
        });
        sleep(Duration::from_secs(10));
        drop(h);
    });
    let f = out.result.unwrap_err();
    // The diagnosis a student sees (`--nocapture` shows it).
    eprintln!("diagnosed after {:?} of wall time:\n{}", wall.elapsed(), f.message);
    assert_eq!(f.kind, FailureKind::Blocked, "{}", f.message);
    assert!(
        f.message.contains("thread 'ticker' of node 'server-1' is blocked in the operating system"),
        "{}",
        f.message
    );
    assert!(f.message.contains("std::thread::sleep"), "{}", f.message);
    assert!(wall.elapsed() < Duration::from_secs(10), "diagnosed after {:?}", wall.elapsed());
}

/// A recursion without end, and a huge local array, in a simulated thread: the runtime names
/// the thread, its node and the seed (the process must end: a stack cannot be unwound from).
/// Each case runs in a child process, this test binary run again.
#[test]
fn a_stack_overflow_in_a_simulated_thread_is_named() {
    if let Ok(case) = std::env::var("LAB_TEST_OVERFLOW_CASE") {
        overflow_child(&case);
        return;
    }
    for case in ["recursion", "array"] {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "a_stack_overflow_in_a_simulated_thread_is_named", "--nocapture"])
            .env("LAB_TEST_OVERFLOW_CASE", case)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{case}: the child passed:\n{err}");
        assert!(err.contains("thread 'deep' of node 'server-3' overflowed its stack"), "{case}:\n{err}");
        assert!(err.contains("seed 7") && err.contains("replay: LAB_SEED=7 cargo test"), "{case}:\n{err}");
    }
}

#[allow(unconditional_recursion, clippy::only_used_in_recursion)]
fn recurse(n: u64) -> u64 {
    let local = [n; 64];
    std::hint::black_box(&local);
    recurse(n + 1).wrapping_add(local[3])
}

fn overflow_child(case: &str) {
    let array = case == "array";
    let out = sim(7).replay("LAB_SEED=7 cargo test -p labs --test runtime").run(move || {
        let node = World::current().node("server-3");
        let h = node.spawn("deep", move || {
            if array {
                let big = [7u8; 4 << 20];
                std::hint::black_box(&big);
            } else {
                std::hint::black_box(recurse(0));
            }
        });
        let _ = h.join();
    });
    panic!("the child's world ended instead of the process: {:?}", out.result);
}

#[test]
fn a_spinning_thread_is_named() {
    let out = sim(1).spin_limit(Duration::from_millis(300)).run(|| {
        let h = thread::spawn("spinner", || {
            #[allow(clippy::disallowed_methods)]
            std::thread::sleep(Duration::from_secs(3));
        });
        sleep(Duration::from_millis(1));
        drop(h);
    });
    let f = out.result.unwrap_err();
    assert_eq!(f.kind, FailureKind::Spin);
    assert!(f.message.contains("'spinner' of node 'tester'"), "{}", f.message);
    assert!(f.message.contains("std"), "{}", f.message);
}

#[test]
fn a_panic_names_node_thread_and_message() {
    let out = sim(1).run(|| {
        let n = World::current().node("server-3");
        n.spawn("applier", || panic!("apply out of order"));
        sleep(Duration::from_secs(1));
        unreachable!("the world should have ended");
    });
    let f = out.result.unwrap_err();
    assert_eq!(f.kind, FailureKind::Panic);
    assert!(
        f.message.contains("thread 'applier' of node 'server-3' panicked: apply out of order"),
        "{}",
        f.message
    );
}

#[test]
fn the_time_limit_fails_the_run() {
    let out = sim(1).run(|| sleep(Duration::from_secs(500)));
    let f = out.result.unwrap_err();
    assert_eq!(f.kind, FailureKind::TimeLimit);
    assert!(f.message.contains("took longer than 120 seconds"), "{}", f.message);
}

fn stress() {
    let shared = Arc::new(Mutex::new(Vec::new()));
    let mut hs = Vec::new();
    for i in 0..6 {
        let s = shared.clone();
        hs.push(thread::spawn(format!("w{i}"), move || {
            for j in 0..20 {
                let d = labs::rand::gen_range(0..5u64);
                sleep(Duration::from_millis(d));
                s.lock().push(i * 100 + j);
            }
        }));
    }
    for h in hs {
        h.join().unwrap();
    }
}

#[test]
fn one_seed_replays_exactly_and_seeds_differ() {
    let first = sim(42).run(stress);
    first.result.as_ref().unwrap();
    for _ in 0..100 {
        let again = sim(42).run(stress);
        assert_eq!(again.digest, first.digest);
    }
    let other = sim(43).run(stress);
    assert_ne!(other.digest, first.digest);
}

#[test]
fn a_nondeterministic_run_is_caught_at_its_first_divergence() {
    use std::sync::atomic::{AtomicU64, Ordering};
    static RUNS: AtomicU64 = AtomicU64::new(0);
    fn body() {
        // State kept in a static survives from one run to the next: the classic leak.
        let n = RUNS.fetch_add(1, Ordering::Relaxed);
        let h = thread::spawn("worker", move || sleep(Duration::from_millis(1 + n % 2)));
        sleep(Duration::from_millis(1));
        h.join().unwrap();
    }
    let a = sim(9).trace(true).run(body);
    let b = sim(9).trace(true).run(body);
    let diff = labs::harness::divergence(&a, &b).expect("the runs differ");
    assert!(diff.contains("at step"), "{diff}");
    let c = sim(9).trace(true).run(stress);
    let d = sim(9).trace(true).run(stress);
    assert_eq!(labs::harness::divergence(&c, &d), None);
}

/// A node lists its threads that have not finished, under both backends: a tester checks
/// with it that a killed server's threads end.
#[test]
fn a_node_lists_its_live_threads() {
    for backend in [Backend::Sim, Backend::Real] {
        labs::world::Builder::default()
            .seed(1)
            .backend(backend)
            .run(|| {
                let node = World::current().node("server-0");
                let stop = Arc::new(labs::sync::atomic::AtomicBool::new(false));
                let s = stop.clone();
                node.spawn("ticker", move || {
                    while !s.load(labs::sync::atomic::Ordering::Relaxed) {
                        sleep(Duration::from_millis(10));
                    }
                });
                node.spawn("once", || ()).join().unwrap();
                assert_eq!(node.live_threads(), vec!["ticker".to_string()]);
                stop.store(true, labs::sync::atomic::Ordering::Relaxed);
                sleep(Duration::from_millis(100));
                assert!(node.live_threads().is_empty(), "{:?}", node.live_threads());
            })
            .result
            .unwrap_or_else(|e| panic!("{backend}: {e}"));
    }
}

/// Work on bytes between runtime calls costs virtual time (1 ns per byte): saving 5 MB moves
/// the clock by at least 5 ms.
#[test]
fn work_on_bytes_moves_the_virtual_clock() {
    sim(1)
        .run(|| {
            let p = labs::Persister::new();
            let t0 = Instant::now();
            p.save(vec![7; 5_000_000], None);
            let spent = t0.elapsed();
            assert!(spent >= Duration::from_millis(5), "saving 5 MB took {spent:?} of virtual time");
            assert!(spent < Duration::from_millis(6), "saving 5 MB took {spent:?} of virtual time");
        })
        .result
        .unwrap();
}

/// A peer that persists its whole, ever longer log at every append (quadratic work) runs out
/// of virtual time after a few thousand appends, instead of making millions of them in a
/// virtual second while the real cost grows without bound.
#[test]
fn a_quadratic_persist_is_bounded_by_virtual_time() {
    sim(1)
        .run(|| {
            let p = labs::Persister::new();
            let mut log: Vec<u8> = Vec::new();
            let t0 = Instant::now();
            let mut appends = 0u64;
            while t0.elapsed() < Duration::from_secs(2) {
                log.extend_from_slice(&[1; 100]);
                p.save(log.clone(), None);
                appends += 1;
                // 100 n^2 / 2 ns of saves fit in 2 s for n of about 6 300.
                assert!(appends < 10_000, "{appends} appends of a quadratic persist in {:?}", t0.elapsed());
            }
            assert!(appends > 1_000, "only {appends} appends in 2 s");
        })
        .result
        .unwrap();
}
