//! How big and how fast is the failure report of a busy test?
//!
//! Generates a synthetic 5-server Raft-like run with 50 000 RPCs (elections, heartbeats and
//! appends with every fate, partitions, a crash, client operations and a failed verdict), writes
//! its report, and prints the size and the time to write it. If Chromium is installed it also
//! times a headless render and saves a screenshot beside the report.
//!
//! ```text
//! cargo run --release -p report --example bench_report [-- RPCS]
//! ```

// A benchmark reports wall-clock figures: it reads the real clock on purpose.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use report::ReportInput;
use report::events::{Event, EventKind, RpcFate};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const MS: u64 = 1_000_000;

/// A xorshift generator: the same run every time, without the runtime.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn event(t: u64, node: &str, kind: EventKind) -> Event {
    Event { t, node: node.to_string(), kind }
}

/// A run of 5 servers and 3 clients with `rpcs` RPCs.
fn synthetic_run(rpcs: usize) -> Vec<Event> {
    let servers: Vec<String> = (0..5).map(|i| format!("server-{i}")).collect();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut ev = Vec::with_capacity(rpcs * 6 / 5);
    for s in &servers {
        ev.push(event(0, s, EventKind::Start));
        ev.push(event(0, s, EventKind::State { role: "follower".into(), term: 0, commit: 0 }));
    }
    ev.push(event(0, "tester", EventKind::Start));
    let (mut t, mut term, mut commit, mut leader) = (150 * MS, 0u64, 0u64, 0usize);
    let mut cut: Option<usize> = None;
    let mut crashed: Option<(usize, u64)> = None;
    let mut n = 0;
    let mut round = 0u64;
    while n < rpcs {
        // An election every ~2500 rounds (about 20 s).
        if round.is_multiple_of(2500) {
            term += 1;
            leader = (leader + 1 + rng.below(4) as usize) % 5;
            if crashed.is_some_and(|(c, _)| c == leader) {
                leader = (leader + 1) % 5;
            }
            let l = &servers[leader];
            ev.push(event(t, l, EventKind::State { role: "candidate".into(), term, commit }));
            ev.push(event(
                t,
                l,
                EventKind::Log {
                    level: "INFO".into(),
                    target: "raft::election".into(),
                    message: format!("election timeout; candidate for term {term}"),
                },
            ));
            for (i, s) in servers.iter().enumerate() {
                if i != leader {
                    let d = MS + rng.below(2 * MS);
                    ev.push(event(
                        t,
                        l,
                        EventKind::Rpc {
                            to: s.clone(),
                            method: "Raft.RequestVote".into(),
                            done: t + d,
                            fate: RpcFate::Delivered,
                            bytes: 52,
                            delayed: false,
                        },
                    ));
                    ev.push(event(t + d / 2, s, EventKind::State { role: "follower".into(), term, commit }));
                    n += 1;
                }
            }
            t += 3 * MS;
            ev.push(event(t, l, EventKind::State { role: "leader".into(), term, commit }));
        }
        // Faults: a partition of one follower and a crash with a restart.
        if round % 3000 == 1500 {
            let f = (leader + 2) % 5;
            cut = Some(f);
            ev.push(event(t, "tester", EventKind::Fault { what: format!("disconnect {}", servers[f]) }));
        }
        if round % 3000 == 2200
            && let Some(f) = cut.take()
        {
            ev.push(event(t, "tester", EventKind::Fault { what: format!("connect {}", servers[f]) }));
        }
        if round == 4000 {
            let c = (leader + 3) % 5;
            crashed = Some((c, t + 4000 * MS));
            ev.push(event(t, &servers[c], EventKind::Crash));
            ev.push(event(t, "tester", EventKind::Note { text: format!("crash {}", servers[c]) }));
        }
        if let Some((c, back)) = crashed
            && t >= back
        {
            ev.push(event(t, &servers[c], EventKind::Start));
            ev.push(event(t, &servers[c], EventKind::State { role: "follower".into(), term, commit }));
            crashed = None;
        }
        // One round of AppendEntries from the leader.
        let l = servers[leader].clone();
        let mut acks = 1;
        for (i, s) in servers.iter().enumerate() {
            if i == leader || n >= rpcs {
                continue;
            }
            let r = rng.below(100);
            let (fate, done) = if cut == Some(i) {
                (RpcFate::Unreachable, t)
            } else if crashed.is_some_and(|(c, _)| c == i) {
                (RpcFate::ServerDead, t + 10 * MS)
            } else if r < 5 {
                (RpcFate::RequestDropped, t + 10 * MS)
            } else if r < 8 {
                (RpcFate::ReplyDropped, t + 10 * MS)
            } else {
                acks += 1;
                (RpcFate::Delivered, t + 300_000 + rng.below(2 * MS))
            };
            let delayed = fate == RpcFate::Delivered && rng.below(100) == 0;
            let done = if delayed { done + 20 * MS } else { done };
            ev.push(event(
                t,
                &l,
                EventKind::Rpc {
                    to: s.clone(),
                    method: "Raft.AppendEntries".into(),
                    done,
                    fate,
                    bytes: 96 + rng.below(300),
                    delayed,
                },
            ));
            n += 1;
        }
        if acks >= 3 && round.is_multiple_of(2) {
            commit += 1;
            ev.push(event(t + 2 * MS, &l, EventKind::State { role: "leader".into(), term, commit }));
        }
        if round.is_multiple_of(25) {
            ev.push(event(
                t,
                &l,
                EventKind::Log {
                    level: if acks < 3 { "WARN" } else { "DEBUG" }.into(),
                    target: "raft::replication".into(),
                    message: format!("round {round}: {acks}/5 acks, commit index {commit}"),
                },
            ));
        }
        // Client operations, about every 50 ms per client.
        if round.is_multiple_of(6) {
            let client = rng.below(3);
            let key = rng.below(5);
            let desc = match rng.below(3) {
                0 => format!("get('k{key}') -> 'v{}'", rng.below(100)),
                1 => format!("put('k{key}', 'v{round}')"),
                _ => format!("append('k{key}', 'x{round}')"),
            };
            let ret = if rng.below(200) == 0 { None } else { Some(t + 2 * MS + rng.below(30 * MS)) };
            ev.push(event(t, "tester", EventKind::Op { client, ret, desc }));
        }
        t += 8 * MS;
        round += 1;
    }
    ev.push(event(
        t,
        "tester",
        EventKind::Verdict {
            ok: false,
            text: "get('k3') -> 'v17' by client 1 cannot be ordered: put('k3', 'v2001') returned before it"
                .into(),
        },
    ));
    ev
}

fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file()))
}

fn headless(exe: &Path, page: &Path, extra: &[String]) -> std::process::Output {
    Command::new(exe)
        .args(["--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars", "--disable-dev-shm-usage"])
        .arg(format!("--user-data-dir={}", std::env::temp_dir().join("distlab-bench-chromium").display()))
        .args(extra)
        .arg(format!("file://{}", page.canonicalize().expect("report exists").display()))
        .output()
        .expect("chromium did not run")
}

fn main() {
    let rpcs: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(50_000);
    let events = synthetic_run(rpcs);
    let dir = report::default_dir();
    let input = ReportInput {
        title: "bench_report::synthetic_5_servers",
        seed: 7,
        backend: "sim".into(),
        replay: "cargo run --release -p report --example bench_report",
        failure: Some("history is not linearizable (synthetic)"),
        events: &events,
        recorded: None,
    };
    let wall = Instant::now();
    let html = report::write_report(&dir, &input).expect("writing the report");
    let write_time = wall.elapsed();
    let size = std::fs::metadata(&html).unwrap().len();
    let jsonl = std::fs::metadata(report::events_path(&html)).map(|m| m.len()).unwrap_or(0);
    println!("events:     {} ({} RPCs, 5 servers)", events.len(), rpcs);
    println!("report:     {}", html.display());
    println!(
        "size:       {:.2} MB (events.jsonl beside it: {:.2} MB)",
        size as f64 / 1e6,
        jsonl as f64 / 1e6
    );
    println!("written in: {:.1} ms (report + events.jsonl)", write_time.as_secs_f64() * 1e3);

    let Some(exe) = chromium() else {
        println!("chromium not installed: no render timing (apt-get install chromium)");
        return;
    };
    let wall = Instant::now();
    let out = headless(&exe, &html, &["--dump-dom".to_string()]);
    let render = wall.elapsed();
    let dom = String::from_utf8_lossy(&out.stdout);
    let summary = |name: &str| -> String {
        let key = format!("{name}=\"");
        dom.find(&key)
            .map(|i| &dom[i + key.len()..])
            .and_then(|s| s.split('"').next())
            .unwrap_or("?")
            .to_string()
    };
    let errors =
        dom.find("id=\"errors\"").map(|i| &dom[i..]).and_then(|s| s.split("<header").next()).unwrap_or("");
    println!(
        "headless render: {:.2} s wall with chromium's start-up; in the page: {} ms to parse, index and draw, \
         {} ms for the timeline's first draw",
        render.as_secs_f64(),
        summary("data-render-ms"),
        summary("data-draw-ms"),
    );
    if errors.contains("<div>") {
        println!("SCRIPT ERRORS: {errors}");
    }
    let shot = html.with_extension("png");
    let out =
        headless(&exe, &html, &[format!("--screenshot={}", shot.display()), "--window-size=1400,900".into()]);
    if out.status.success() {
        println!("screenshot: {}", shot.display());
    }
}
