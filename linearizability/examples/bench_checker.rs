//! `make bench`: how fast the linearizability checker decides the golden histories, next to
//! Porcupine's times from `shared/porcupine-data/README.md` (the target is at most half of them).
//!
//! Each figure is the median (and the best) of several runs of the check alone (parsing
//! excluded), on all cores. On a busy machine the best run is the better estimate.
//! The data directory is `$DISTLAB_SHARED/porcupine-data`, else `shared/porcupine-data` beside the
//! workspace root.

// A benchmark measures wall-clock time with std's clock; it runs no simulated code.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use linearizability::parse::{KvHistory, RegisterHistory, read_jepsen_file, read_kv_file};
use linearizability::{CheckResult, Checker, KvMapModel, KvModel, Model, Operation, RegisterModel};

const BUDGET: Duration = Duration::from_secs(120);

fn data_dir() -> PathBuf {
    let mut tried = Vec::new();
    if let Some(shared) = std::env::var_os("DISTLAB_SHARED") {
        let shared = PathBuf::from(shared);
        for dir in [shared.join("porcupine-data"), shared] {
            if dir.join("EXPECTED.tsv").is_file() {
                return dir;
            }
            tried.push(dir);
        }
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/porcupine-data");
    if dir.join("EXPECTED.tsv").is_file() {
        return dir;
    }
    tried.push(dir);
    eprintln!(
        "bench_checker: golden histories not found (looked in {}); set DISTLAB_SHARED",
        tried.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    );
    std::process::exit(1);
}

fn verdict(r: &CheckResult) -> &'static str {
    match r {
        CheckResult::Linearizable => "linearizable",
        CheckResult::NotLinearizable(_) => "not-linearizable",
        CheckResult::Unknown { .. } => "UNKNOWN",
    }
}

/// Wall time of `f`, (median, best), over enough runs (at least 3, up to about half a second).
fn time<R>(mut f: impl FnMut() -> R) -> ((Duration, Duration), R) {
    let mut times = Vec::new();
    let started = Instant::now();
    let mut last;
    loop {
        let t = Instant::now();
        last = f();
        times.push(t.elapsed());
        if times.len() >= 3 && (started.elapsed() > Duration::from_millis(500) || times.len() >= 51) {
            break;
        }
    }
    times.sort();
    ((times[times.len() / 2], times[0]), last)
}

fn check<M: Model>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
) -> ((Duration, Duration), &'static str) {
    let checker = Checker::new().budget(BUDGET);
    let (d, r) = time(|| checker.check(model, ops).into_result());
    (d, verdict(&r))
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn row(name: &str, (median, best): (Duration, Duration), verdict: &str, porcupine_ms: Option<f64>) {
    let (p, ratio) = match porcupine_ms {
        Some(p) => (format!("{p:.0} ms"), format!("{:.1}%", median.as_secs_f64() * 1e3 / p * 100.0)),
        None => (String::new(), String::new()),
    };
    println!("{name:<34} {verdict:<17} {:>11} {:>11} {p:>12} {ratio:>8}", ms(median), ms(best));
}

fn main() {
    let dir = data_dir();
    let expected = std::fs::read_to_string(dir.join("EXPECTED.tsv")).expect("read EXPECTED.tsv");
    let mut etcd: Vec<(String, String, RegisterHistory)> = Vec::new();
    let mut kv: Vec<(String, String, KvHistory)> = Vec::new();
    for line in expected.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let f: Vec<&str> = line.split('\t').collect();
        let (file, want, model) = (f[0].to_string(), f[1].to_string(), f[2]);
        match model {
            "register" => etcd.push((file.clone(), want, read_jepsen_file(dir.join(&file)).expect("parse"))),
            "kv" => kv.push((file.clone(), want, read_kv_file(dir.join(&file)).expect("parse"))),
            m => panic!("unknown model {m}"),
        }
    }
    let porcupine = |file: &str| match file {
        "jepsen/etcd_002.log" => Some(168.0),
        "jepsen/etcd_007.log" => Some(119.0),
        "kv/c50-ok.txt" => Some(181.0),
        "kv/c50-bad.txt" => Some(31.0),
        _ => None,
    };
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    println!(
        "linearizability checker on the golden histories ({threads} cores, check only, parsing excluded)"
    );
    println!("median and best of several runs; ratio = median / Porcupine's time (target: at most 50%)");
    println!(
        "{:<34} {:<17} {:>11} {:>11} {:>12} {:>8}",
        "history", "verdict", "median", "best", "Porcupine", "ratio"
    );

    let mut wrong = 0;
    let mut each = |name: &str, want: &str, d: (Duration, Duration), v: &str| {
        if v != want {
            wrong += 1;
        }
        row(name, d, if v == want { v } else { "WRONG" }, porcupine(name));
    };
    for (file, want, ops) in &kv {
        let (d, v) = check(&KvModel, ops);
        each(file, want, d, v);
    }
    let mut etcd_sum = (Duration::ZERO, Duration::ZERO);
    for (file, want, ops) in &etcd {
        let (d, v) = check(&RegisterModel, ops);
        etcd_sum = (etcd_sum.0 + d.0, etcd_sum.1 + d.1);
        if porcupine(file).is_some() || d.0 > Duration::from_millis(2) {
            each(file, want, d, v);
        }
    }
    println!("  (etcd files under 2 ms not shown)");
    println!();

    let checker = Checker::new().budget(BUDGET);
    let (all_etcd, _) = time(|| {
        for (_, _, ops) in &etcd {
            checker.check(&RegisterModel, ops);
        }
    });
    let (all_kv, _) = time(|| {
        for (_, _, ops) in &kv {
            checker.check(&KvModel, ops);
        }
    });
    println!("totals");
    row(&format!("all {} etcd histories, one by one", etcd.len()), all_etcd, "", Some(460.0));
    println!("  (Porcupine's 460 ms is for its 102 etcd histories; the data here has {})", etcd.len());
    row(&format!("sum of the {} etcd figures", etcd.len()), etcd_sum, "", None);
    row(&format!("all {} kv histories, one by one", kv.len()), all_kv, "", None);
    println!();

    println!("stress: whole-map KV, not partitioned (KvMapModel)");
    for name in ["kv/c10-ok.txt", "kv/c10-bad.txt"] {
        let (_, want, ops) = kv.iter().find(|(f, _, _)| f == name).expect("c10 files");
        let ((median, best), r) = time(|| checker.check(&KvMapModel, ops));
        let d = (median, best);
        let v = verdict(r.result());
        let explored: usize = r.partitions().iter().map(|p| p.explored).sum();
        let porc = if name == "kv/c10-ok.txt" { Some(2600.0) } else { None };
        row(&format!("{name} whole map"), d, if v == want { v } else { "WRONG" }, porc);
        println!("  ({explored} states explored)");
        if v != want {
            wrong += 1;
        }
    }
    if wrong > 0 {
        println!("\n{wrong} WRONG verdicts");
        std::process::exit(1);
    }
}
