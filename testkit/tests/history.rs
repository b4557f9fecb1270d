//! Histories recorded under the simulated runtime, then checked: the recorder's timestamps order
//! what the simulation ordered, and a seed gives the same history and the same explanation.

use linearizability::{KvInput, KvModel, KvOutput};
use std::time::Duration;
use testkit::history::History;

/// Four clients append to and read one key under simulation; with `stale` each client sometimes
/// returns the value of its previous read, which misses its own append made in between. Returns
/// the check's verdict in words.
fn simulated_clients(seed: u64, stale: bool) -> String {
    use labs::sync::{Arc, Mutex};
    use labs::time::sleep;
    use labs::world::{Backend, World};

    let verdict = Arc::new(Mutex::new(String::new()));
    let out = {
        let verdict = verdict.clone();
        World::builder().seed(seed).backend(Backend::Sim).run(move || {
            let history: History<KvInput, KvOutput> = History::new();
            let store = Arc::new(Mutex::new(String::new()));
            let clients: Vec<_> = (0..4)
                .map(|c| {
                    let (history, store) = (history.clone(), store.clone());
                    labs::thread::spawn(format!("client-{c}"), move || {
                        let mut last_read = String::new();
                        for i in 0..24 {
                            let pause = Duration::from_millis(labs::rand::gen_range(0..3));
                            if i % 2 == 0 {
                                let op = history.begin(c, KvInput::append("k", format!("<{c}.{i}>")));
                                sleep(pause);
                                store.lock().push_str(&format!("<{c}.{i}>"));
                                op.finish(KvOutput::none());
                            } else {
                                let op = history.begin(c, KvInput::get("k"));
                                sleep(pause);
                                let v = if stale && i % 6 == 5 {
                                    last_read.clone()
                                } else {
                                    store.lock().clone()
                                };
                                last_read = v.clone();
                                op.finish(KvOutput::value(v));
                            }
                        }
                    })
                })
                .collect();
            for c in clients {
                c.join().unwrap();
            }
            // The check runs inside the simulation, as suites run it.
            let report = history.check(&KvModel, Duration::from_secs(30));
            *verdict.lock() = report.to_string();
        })
    };
    out.result.unwrap();
    verdict.lock().clone()
}

#[test]
fn histories_recorded_under_simulation() {
    for seed in 1..=3 {
        let ok = simulated_clients(seed, false);
        assert_eq!(ok, "history is linearizable", "seed {seed}");
        let bad = simulated_clients(seed, true);
        assert!(bad.starts_with("history is not linearizable"), "seed {seed}: {bad}");
        // Same seed, same history, same explanation.
        assert_eq!(bad, simulated_clients(seed, true), "seed {seed}");
    }
}
