//! `make bench`: the KV service's latency and throughput under the real backend (OS threads,
//! the wall clock), on a reliable network, with 3 and with 5 servers:
//!
//! * one clerk, sequential operations (alternating `Put` and `Get` of small values on ten
//!   keys): operations per second, mean, median and 99th-percentile latency;
//! * ten clerks at once, each making sequential operations: operations per second in all.
//!
//! The 6.5840 speed test requires under 33.3 ms per sequential operation; the target here is
//! at most 1 ms. Set `BENCH_OPS` to change the number of sequential operations (2000) and
//! `BENCH_SECS` the duration of the concurrent run (3).

use kvraft::Clerk;
use kvraft::KvServer;
use kvraft_tests::{kv_spec, server_names};
use labrpc::Network;
use labs::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use labs::sync::{Arc, Mutex};
use labs::time::Duration;
use labs::world::{Backend, World};
use testkit::{Ends, Group};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A clerk with fresh ends to every server of `group`, all enabled.
fn clerk(net: &Network, group: &Group<KvServer>) -> Clerk {
    Clerk::new(Ends::new(net).make_each(group.names(), true))
}

struct Figures {
    seq_ops_per_sec: f64,
    mean_us: f64,
    median_us: f64,
    p99_us: f64,
    concurrent_ops_per_sec: f64,
}

fn bench(n: usize, seq_ops: usize, secs: u64) -> Figures {
    let out = Arc::new(Mutex::new(None));
    let o = out.clone();
    let outcome =
        World::builder().seed(1).backend(Backend::Real).time_limit(Duration::from_secs(600)).run(move || {
            let net = Network::new();
            let group = Arc::new(Group::new(&net, server_names(n), kv_spec::<kvraft_tests::Reference>(-1)));
            group.start_all();
            let mut ck = clerk(&net, &group);
            // Wait for a leader.
            ck.put("warm", "up");
            ck.get("warm");

            let mut lat = Vec::with_capacity(seq_ops);
            let start = labs::time::Stopwatch::start();
            for i in 0..seq_ops {
                let key = format!("k{}", i % 10);
                let t = labs::time::Stopwatch::start();
                if i % 2 == 0 {
                    ck.put(&key, &format!("value-{i:08}"));
                } else {
                    ck.get(&key);
                }
                lat.push(t.elapsed().as_secs_f64() * 1e6);
            }
            let seq_secs = start.elapsed().as_secs_f64();
            lat.sort_by(|a, b| a.partial_cmp(b).unwrap());

            let stop = Arc::new(AtomicBool::new(false));
            let count = Arc::new(AtomicU64::new(0));
            let mut handles = Vec::new();
            let mut clerks: Vec<Clerk> = (0..10).map(|_| clerk(&net, &group)).collect();
            let start = labs::time::Stopwatch::start();
            for (c, mut ck) in clerks.drain(..).enumerate() {
                let (stop, count) = (stop.clone(), count.clone());
                handles.push(labs::thread::spawn(format!("clerk-{c}"), move || {
                    let mut i = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        let key = format!("c{c}-{}", i % 10);
                        if i.is_multiple_of(2) {
                            ck.put(&key, &format!("value-{i:08}"));
                        } else {
                            ck.get(&key);
                        }
                        i += 1;
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                }));
            }
            labs::time::sleep(Duration::from_secs(secs));
            stop.store(true, Ordering::Relaxed);
            for h in handles {
                h.join().expect("a clerk failed");
            }
            let conc_secs = start.elapsed().as_secs_f64();

            *o.lock() = Some(Figures {
                seq_ops_per_sec: seq_ops as f64 / seq_secs,
                mean_us: lat.iter().sum::<f64>() / lat.len() as f64,
                median_us: lat[lat.len() / 2],
                p99_us: lat[lat.len() * 99 / 100],
                concurrent_ops_per_sec: count.load(Ordering::Relaxed) as f64 / conc_secs,
            });
            group.cleanup();
            net.cleanup();
        });
    if let Err(f) = outcome.result {
        panic!("the benchmark failed: {f}");
    }
    let figures = out.lock().take();
    figures.expect("the benchmark produced figures")
}

fn main() {
    let seq_ops = env("BENCH_OPS", 2000) as usize;
    let secs = env("BENCH_SECS", 3);
    println!("kvraft under the real backend (reliable network, maxraftstate -1, {seq_ops} sequential ops):");
    println!(
        "{:>8} {:>14} {:>10} {:>10} {:>10} {:>18}",
        "servers", "seq ops/s", "mean", "median", "p99", "10 clerks ops/s"
    );
    for n in [3, 5] {
        let f = bench(n, seq_ops, secs);
        println!(
            "{n:>8} {:>14.0} {:>8.0}us {:>8.0}us {:>8.0}us {:>18.0}",
            f.seq_ops_per_sec, f.mean_us, f.median_us, f.p99_us, f.concurrent_ops_per_sec
        );
        let target_us = 1000.0;
        println!(
            "         target mean <= 1 ms per sequential op: {} ({:.2} ms; 6.5840's speed test allows 33.3 ms)",
            if f.mean_us <= target_us { "MET" } else { "NOT MET" },
            f.mean_us / 1000.0
        );
    }
}
