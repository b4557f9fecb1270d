//! `make bench`: the runtime's figures. Prints the cost of one sim scheduling switch, the
//! bare two-thread channel ping-pong under both backends (the floor for an RPC), and the wall
//! time of a 5-node, 10-heartbeats-per-second scenario over 120 virtual seconds, and the event
//! log's cost: bytes per RPC event, time to record one, and what it keeps of a flood.

use labs::sync::unbounded;
use labs::time::{Duration, Instant, sleep};
use labs::world::{Backend, World};

fn ping_pong(backend: Backend, n: usize) -> (Vec<f64>, f64, u64) {
    let out = std::sync::Arc::new(std::sync::Mutex::new((Vec::new(), 0.0)));
    let o = out.clone();
    let res =
        World::builder().seed(1).backend(backend).time_limit(Duration::from_secs(1 << 30)).run(move || {
            let (tx, rx) = unbounded::<u64>();
            let (btx, brx) = unbounded::<u64>();
            let h = labs::thread::spawn("echo", move || {
                for v in rx.iter() {
                    btx.send(v).unwrap();
                }
            });
            let mut samples = Vec::with_capacity(n);
            let total = std::time::Instant::now();
            for i in 0..n as u64 {
                let t = std::time::Instant::now();
                tx.send(i).unwrap();
                brx.recv().unwrap();
                samples.push(t.elapsed().as_secs_f64() * 1e6);
            }
            let secs = total.elapsed().as_secs_f64();
            drop(tx);
            h.join().unwrap();
            *o.lock().unwrap() = (samples, secs);
        });
    res.result.unwrap();
    let (samples, secs) = out.lock().unwrap().clone();
    (samples, secs, res.steps)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn heartbeats() -> (f64, u64) {
    let wall = std::time::Instant::now();
    let out = World::builder().seed(7).backend(Backend::Sim).time_limit(Duration::from_secs(200)).run(|| {
        let world = World::current();
        let mut inboxes = Vec::new();
        let mut senders = Vec::new();
        for _ in 0..5 {
            let (tx, rx) = unbounded::<u64>();
            senders.push(tx);
            inboxes.push(rx);
        }
        let end = Instant::now() + Duration::from_secs(120);
        for (i, rx) in inboxes.into_iter().enumerate() {
            let node = world.node(format!("server-{i}"));
            let peers = senders.clone();
            node.spawn("heartbeat", move || {
                while Instant::now() < end {
                    for (j, p) in peers.iter().enumerate() {
                        if j != i {
                            let _ = p.send(i as u64);
                        }
                    }
                    sleep(Duration::from_millis(100));
                }
            });
            node.spawn("inbox", move || while rx.recv_timeout(Duration::from_secs(1)).is_ok() {});
        }
        drop(senders);
        sleep(Duration::from_secs(121));
    });
    out.result.unwrap();
    (wall.elapsed().as_secs_f64(), out.steps)
}

/// Records `n` RPC events as labrpc does, on a sim world; returns the wall time and the counts.
fn event_flood(n: u64) -> (f64, labs::events::EventCounts, usize) {
    use labs::events::{self, EventKind, RpcFate};
    let wall = std::time::Instant::now();
    let out = World::builder().seed(3).backend(Backend::Sim).run(move || {
        let node = World::current().node("server-1");
        node.enter(|| {
            for i in 0..n {
                events::record_at(
                    i,
                    EventKind::Rpc {
                        to: "server-2".to_string(),
                        method: "Raft.AppendEntries".to_string(),
                        done: i + 1,
                        fate: RpcFate::Delivered,
                        bytes: 120,
                        delayed: false,
                    },
                );
            }
        });
    });
    out.result.unwrap();
    (wall.elapsed().as_secs_f64(), out.event_counts, out.events.len())
}

fn main() {
    let n = 100_000;
    println!("== labs runtime (make bench) ==");
    for backend in [Backend::Real, Backend::Sim] {
        let (mut s, secs, steps) = ping_pong(backend, n);
        let mean = s.iter().sum::<f64>() / s.len() as f64;
        println!(
            "channel ping-pong, {backend:<4}: median {:6.2} us, mean {:6.2} us per round trip ({n} in {:.2} s)",
            median(&mut s),
            mean,
            secs
        );
        if backend == Backend::Sim {
            // A round trip is two hand-overs between threads.
            println!("sim scheduling step: about {:.2} us ({steps} steps)", secs * 1e6 / steps as f64);
        }
    }
    let (secs, steps) = heartbeats();
    println!(
        "5 nodes x 10 heartbeats/s x 120 virtual s under sim: {secs:.3} s wall ({steps} scheduling steps)"
    );
    println!("    target < 0.5 s of wall time: {}", if secs < 0.5 { "MET" } else { "NOT MET" });
    let n = 2_000_000;
    let (secs, c, kept) = event_flood(n);
    println!(
        "event log, {n} RPC events: {:.0} bytes per event kept, {:.0} ns to record one, {kept} kept \
         ({} MiB), {} dropped; counted exactly: {} RPCs",
        c.kept_bytes as f64 / (c.recorded - c.dropped) as f64,
        secs * 1e9 / n as f64,
        c.kept_bytes >> 20,
        c.dropped,
        c.rpcs
    );
}
