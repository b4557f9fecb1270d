//! `make bench`: how fast the linearizability checker decides the golden histories.
//!
//! Every figure in the tables of measured times is measured in this run: the median and the
//! best of several runs of the check alone (parsing excluded), with the default checker (all
//! cores). On a busy machine the best run is the better estimate, so both are shown, with the
//! load average at the start and the end.
//!
//! Against Porcupine (Go), two ways:
//! * `make bench` has no Go, so Porcupine's times are remembered figures: they are printed in a
//!   table of their own, each with its source, and compared only with the same history checked
//!   here;
//! * `make bench-anchors` measures both sides in one run: `--export DIR` writes the parsed
//!   histories for `anchors/porcupine` (a Go program that times Porcupine on them), and
//!   `--porcupine FILE` reads its times and prints both checkers side by side, per history.
//!
//! The targets (at least as fast as Porcupine on every history, at least 5x over them all) are
//! checked and the verdict printed beside them.
//!
//! The data directory is `$DISTLAB_SHARED/porcupine-data`, else `shared/porcupine-data` beside
//! the workspace root.

// A benchmark measures wall-clock time with std's clock and reads files; it runs no simulated
// code.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use linearizability::parse::{read_jepsen_file, read_kv_file};
use linearizability::{
    CheckResult, Checker, KvMapModel, KvModel, KvOp, Model, Operation, RegisterInput, RegisterModel,
    RegisterOutput,
};

const BUDGET: Duration = Duration::from_secs(120);

/// Where the remembered Porcupine figures come from: (key, source).
const README: (&str, &str) = (
    "[R]",
    "Porcupine (Go) on a 2-core machine of the project's kind, from shared/porcupine-data/README.md \
     (version and date not recorded there)",
);
const ISSUE: (&str, &str) =
    ("[I]", "Porcupine v1.3.0, Go 1.19, on the project's 2-core machine, from the text of issue 17");

/// A remembered Porcupine time for one history: (what, milliseconds, source).
struct Anchor {
    history: &'static str,
    ms: f64,
    source: (&'static str, &'static str),
}

/// Porcupine's times for single histories checked partitioned (the kv files by key), as the
/// checker here checks them.
const ANCHORS: &[Anchor] = &[
    Anchor { history: "kv/c01-bad.txt", ms: 0.065, source: ISSUE },
    Anchor { history: "kv/c10-bad.txt", ms: 0.39, source: ISSUE },
    Anchor { history: "kv/c50-ok.txt", ms: 181.0, source: README },
    Anchor { history: "kv/c50-bad.txt", ms: 31.0, source: README },
    Anchor { history: "jepsen/etcd_002.log", ms: 168.0, source: README },
    Anchor { history: "jepsen/etcd_007.log", ms: 119.0, source: README },
];

/// Porcupine's time for `kv/c10-ok.txt` as one object (not partitioned), milliseconds.
const WHOLE_MAP_C10_OK_MS: f64 = 2600.0;

/// Porcupine's time for all of its 102 etcd histories, milliseconds.
const ALL_102_ETCD_MS: f64 = 460.0;

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

/// Median and best wall time of a measured closure.
#[derive(Debug, Clone, Copy)]
struct Timing {
    median: Duration,
    best: Duration,
    runs: usize,
}

/// Times `f` over enough runs: at least 5, then until about 0.3 s have passed (at most 101).
fn time<R>(mut f: impl FnMut() -> R) -> (Timing, R) {
    let mut times = Vec::new();
    let started = Instant::now();
    let mut last;
    loop {
        let t = Instant::now();
        last = f();
        times.push(t.elapsed());
        if times.len() >= 5 && (started.elapsed() > Duration::from_millis(300) || times.len() >= 101) {
            break;
        }
    }
    times.sort();
    (Timing { median: times[times.len() / 2], best: times[0], runs: times.len() }, last)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_string())
}

/// One history of the golden set.
enum History {
    Kv(Vec<Operation<<KvModel as Model>::Input, <KvModel as Model>::Output>>),
    Register(Vec<Operation<<RegisterModel as Model>::Input, <RegisterModel as Model>::Output>>),
}

impl History {
    fn check(&self, checker: &Checker) -> CheckResult {
        match self {
            History::Kv(ops) => checker.check(&KvModel, ops).into_result(),
            History::Register(ops) => checker.check(&RegisterModel, ops).into_result(),
        }
    }
}

fn met(yes: bool) -> &'static str {
    if yes { "MET" } else { "NOT MET" }
}

/// The command line: `[--export DIR] [--porcupine FILE]`.
#[derive(Default)]
struct Args {
    /// Write the parsed histories here for the Go side of `make bench-anchors`, then stop.
    export: Option<PathBuf>,
    /// Porcupine's times, measured by `anchors/porcupine` in this run, to print side by side.
    porcupine: Option<PathBuf>,
}

fn args() -> Args {
    let mut args = Args::default();
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let slot = match a.as_str() {
            "--export" => &mut args.export,
            "--porcupine" => &mut args.porcupine,
            _ => {
                eprintln!(
                    "bench_checker: unknown argument {a:?}; usage: bench_checker [--export DIR] [--porcupine FILE]"
                );
                std::process::exit(2);
            }
        };
        let Some(value) = it.next() else {
            eprintln!("bench_checker: {a} needs a path");
            std::process::exit(2);
        };
        *slot = Some(PathBuf::from(value));
    }
    args
}

fn main() {
    let args = args();
    let dir = data_dir();
    let expected = std::fs::read_to_string(dir.join("EXPECTED.tsv")).expect("read EXPECTED.tsv");
    let mut histories: Vec<(String, String, History)> = Vec::new();
    for line in expected.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let f: Vec<&str> = line.split('\t').collect();
        let (file, want, model) = (f[0].to_string(), f[1].to_string(), f[2]);
        let history = match model {
            "register" => History::Register(read_jepsen_file(dir.join(&file)).expect("parse")),
            "kv" => History::Kv(read_kv_file(dir.join(&file)).expect("parse")),
            m => panic!("unknown model {m}"),
        };
        histories.push((file, want, history));
    }
    let n_etcd = histories.iter().filter(|(_, _, h)| matches!(h, History::Register(_))).count();
    let n_kv = histories.len() - n_etcd;
    if let Some(out) = &args.export {
        if let Err(e) = export(out, &histories) {
            eprintln!("bench_checker: cannot write the histories to {}: {e}", out.display());
            std::process::exit(1);
        }
        println!("bench_checker: {} histories written to {}", histories.len(), out.display());
        return;
    }

    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let load_before = load_average();
    println!("linearizability checker on the golden histories ({})", dir.display());
    println!(
        "{} histories ({n_kv} kv, {n_etcd} etcd); {threads} cores; load average (1, 5, 15 min) at start: {load_before}",
        histories.len()
    );
    println!("measured here: median and best of several runs of the check alone (parsing excluded)");
    println!();
    println!("{:<26} {:<17} {:>11} {:>11} {:>5}", "history", "verdict", "median ms", "best ms", "runs");

    let checker = Checker::new().budget(BUDGET);
    let mut wrong = 0;
    let mut timings: Vec<(String, &'static str, Timing)> = Vec::new();
    let mut sums = [(Duration::ZERO, Duration::ZERO); 2];
    for (file, want, history) in &histories {
        let (t, r) = time(|| history.check(&checker));
        let v = verdict(&r);
        if v != want {
            wrong += 1;
        }
        let class = usize::from(matches!(history, History::Register(_)));
        sums[class] = (sums[class].0 + t.median, sums[class].1 + t.best);
        println!(
            "{file:<26} {:<17} {:>11.3} {:>11.3} {:>5}",
            if v == want { v } else { "WRONG" },
            ms(t.median),
            ms(t.best),
            t.runs
        );
        timings.push((file.clone(), v, t));
    }
    println!();
    println!("{:<44} {:>11} {:>11}", "totals (measured here)", "median ms", "best ms");
    println!(
        "{:<44} {:>11.2} {:>11.2}",
        format!("sum of the {n_kv} kv figures"),
        ms(sums[0].0),
        ms(sums[0].1)
    );
    println!(
        "{:<44} {:>11.2} {:>11.2}",
        format!("sum of the {n_etcd} etcd figures"),
        ms(sums[1].0),
        ms(sums[1].1)
    );
    let (all_etcd, ()) = time(|| {
        for (_, _, h) in histories.iter().filter(|(_, _, h)| matches!(h, History::Register(_))) {
            h.check(&checker);
        }
    });
    println!(
        "{:<44} {:>11.2} {:>11.2}",
        format!("all {n_etcd} etcd histories, one after another"),
        ms(all_etcd.median),
        ms(all_etcd.best)
    );

    println!();
    println!("stress: kv/c10-ok.txt and kv/c10-bad.txt as one object (KvMapModel, not partitioned)");
    let mut whole_map = Vec::new();
    for name in ["kv/c10-ok.txt", "kv/c10-bad.txt"] {
        let (_, want, history) = histories.iter().find(|(f, _, _)| f == name).expect("c10 files");
        let History::Kv(ops) = history else { unreachable!("kv files are kv histories") };
        let (t, report) = time(|| checker.check(&KvMapModel, ops));
        let v = verdict(report.result());
        if v != want {
            wrong += 1;
        }
        let explored: usize = report.partitions().iter().map(|p| p.explored).sum();
        println!(
            "{:<26} {:<17} {:>11.1} {:>11.1} {:>5}  ({explored} states explored)",
            format!("{name} whole map"),
            if v == want { v } else { "WRONG" },
            ms(t.median),
            ms(t.best),
            t.runs
        );
        whole_map.push((name.to_string(), v, t));
    }

    if let Some(path) = &args.porcupine {
        wrong += measured_against_porcupine(path, &histories, &timings, all_etcd, &whole_map);
    } else {
        let c10_ok = whole_map.iter().find(|(name, _, _)| name == "kv/c10-ok.txt").map(|w| w.2);
        remembered_against_porcupine(&timings, c10_ok, n_etcd);
    }
    println!("load average at the end: {}", load_average());
    if wrong > 0 {
        println!("\n{wrong} WRONG verdicts");
        std::process::exit(1);
    }
}

/// The comparison with Porcupine's remembered figures (`make bench`, where Go cannot run).
fn remembered_against_porcupine(
    timings: &[(String, &str, Timing)],
    whole_map_c10_ok: Option<Timing>,
    n_etcd: usize,
) {
    println!();
    println!("against Porcupine: REMEMBERED figures, NOT measured here (`make bench` runs no Go; `make");
    println!(
        "bench-anchors` times Porcupine beside the checker); speed-up = Porcupine's time / the time here"
    );
    println!(
        "{:<26} {:>13} {:>11} {:>11} {:>10} {:>10}  source",
        "history", "Porcupine ms", "median ms", "best ms", "x (median)", "x (best)"
    );
    let mut slowest: Option<(&str, f64)> = None;
    let (mut porcupine_sum, mut median_sum, mut best_sum) = (0.0, 0.0, 0.0);
    for a in ANCHORS {
        let Some((_, _, t)) = timings.iter().find(|(f, _, _)| f == a.history) else {
            println!("{:<26} {:>13} (history not in the data here)", a.history, a.ms);
            continue;
        };
        let (m, b) = (ms(t.median), ms(t.best));
        println!(
            "{:<26} {:>13} {m:>11.3} {b:>11.3} {:>10.1} {:>10.1}  {}",
            a.history,
            a.ms,
            a.ms / m,
            a.ms / b,
            a.source.0
        );
        porcupine_sum += a.ms;
        median_sum += m;
        best_sum += b;
        if slowest.is_none_or(|(_, x)| a.ms / m < x) {
            slowest = Some((a.history, a.ms / m));
        }
    }
    let n_anchors = ANCHORS.len();
    println!(
        "{:<26} {porcupine_sum:>13.1} {median_sum:>11.2} {best_sum:>11.2} {:>10.1} {:>10.1}",
        format!("total of these {n_anchors}"),
        porcupine_sum / median_sum,
        porcupine_sum / best_sum
    );
    if let Some(t) = whole_map_c10_ok {
        let (m, b) = (ms(t.median), ms(t.best));
        println!(
            "{:<26} {WHOLE_MAP_C10_OK_MS:>13} {m:>11.1} {b:>11.1} {:>10.1} {:>10.1}  {}",
            "kv/c10-ok.txt whole map",
            WHOLE_MAP_C10_OK_MS / m,
            WHOLE_MAP_C10_OK_MS / b,
            README.0
        );
    }
    for (key, source) in [README, ISSUE] {
        println!("{key} {source}");
    }
    println!(
        "(Porcupine's {ALL_102_ETCD_MS} ms for all its 102 etcd histories is not compared: the data here has \
         {n_etcd} of them, and it has no per-file figures for the others)"
    );

    println!();
    println!("targets (judged on the medians measured here against the remembered figures above)");
    if let Some((history, x)) = slowest {
        println!(
            "  at least as fast as Porcupine on every history it has a figure for: {} (slowest: {history}, {x:.1}x)",
            met(x >= 1.0)
        );
    }
    let total = porcupine_sum / median_sum;
    println!(
        "  at least 5x faster in total over those {n_anchors} histories: {} ({total:.1}x)",
        met(total >= 5.0)
    );
    if let Some(t) = whole_map_c10_ok {
        let x = WHOLE_MAP_C10_OK_MS / ms(t.median);
        println!("  at least as fast on kv/c10-ok.txt as one object: {} ({x:.1}x)", met(x >= 1.0));
    }
}

/// Writes every history as JSON (one file each, plus `index.tsv`: name, file) for the Go side of
/// `make bench-anchors`, so that both checkers check the very same operations.
fn export(out: &Path, histories: &[(String, String, History)]) -> std::io::Result<()> {
    use serde_json::{Value, json};
    std::fs::create_dir_all(out)?;
    let mut index = String::new();
    for (i, (name, _, history)) in histories.iter().enumerate() {
        let times = |call: u64, ret: Option<u64>| (call as i64, ret.map_or(-1, |r| r as i64));
        let (model, ops): (&str, Vec<Value>) = match history {
            History::Register(ops) => ("register", ops.iter().map(|op| {
                let (call, ret) = times(op.call(), op.ret());
                let mut j = json!({"client": op.client(), "call": call, "ret": ret, "known": op.output().is_some()});
                match *op.input() {
                    RegisterInput::Read => j["f"] = json!("read"),
                    RegisterInput::Write(v) => { j["f"] = json!("write"); j["v"] = json!(v); }
                    RegisterInput::Cas { from, to } => { j["f"] = json!("cas"); j["from"] = json!(from); j["to"] = json!(to); }
                }
                match op.output() {
                    Some(RegisterOutput::Read(None)) => j["out_nil"] = json!(true),
                    Some(RegisterOutput::Read(Some(v))) => j["out"] = json!(v),
                    Some(RegisterOutput::Cas(ok)) => j["ok"] = json!(ok),
                    Some(RegisterOutput::Write) | None => {}
                }
                j
            }).collect()),
            History::Kv(ops) => ("kv", ops.iter().map(|op| {
                let (call, ret) = times(op.call(), op.ret());
                let f = match op.input().op { KvOp::Get => "get", KvOp::Put => "put", KvOp::Append => "append" };
                json!({
                    "client": op.client(), "call": call, "ret": ret, "f": f,
                    "key": op.input().key, "value": op.input().value,
                    "known": op.output().is_some(),
                    "out_str": op.output().map_or("", |o| o.value.as_str()),
                })
            }).collect()),
        };
        let file = format!("{i:03}.json");
        std::fs::write(out.join(&file), serde_json::to_vec(&json!({"model": model, "ops": ops}))?)?;
        index.push_str(&format!("{name}\t{file}\n"));
    }
    std::fs::write(out.join("index.tsv"), index)
}

/// One line of the Go side's output: Porcupine's time for one history in one mode.
struct PorcupineTime {
    name: String,
    mode: String,
    verdict: String,
    median: Duration,
    best: Duration,
}

fn read_porcupine(path: &Path) -> Vec<PorcupineTime> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
        eprintln!("bench_checker: cannot read Porcupine's times from {}: {e}", path.display());
        std::process::exit(1);
    });
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split('\t').collect();
        let ns = |s: &str| s.parse::<u64>().ok().map(Duration::from_nanos);
        let (Some(median), Some(best)) = (f.get(3).and_then(|s| ns(s)), f.get(4).and_then(|s| ns(s))) else {
            eprintln!(
                "bench_checker: {} line {}: expected name, mode, verdict, median ns, best ns, runs",
                path.display(),
                n + 1
            );
            std::process::exit(1);
        };
        out.push(PorcupineTime { name: f[0].into(), mode: f[1].into(), verdict: f[2].into(), median, best });
    }
    out
}

/// The comparison with Porcupine measured in this run (`make bench-anchors`): every history side
/// by side, the verdicts compared, and the targets judged on the medians. Returns how many
/// verdicts disagree.
fn measured_against_porcupine(
    path: &Path,
    histories: &[(String, String, History)],
    timings: &[(String, &str, Timing)],
    all_etcd: Timing,
    whole_map: &[(String, &str, Timing)],
) -> usize {
    let porcupine = read_porcupine(path);
    let find = |name: &str, mode: &str| porcupine.iter().find(|p| p.name == name && p.mode == mode);
    println!();
    println!("against Porcupine, MEASURED in this run on this machine ({}):", path.display());
    println!("x = Porcupine's time / the time here, on medians and on best runs");
    println!(
        "{:<26} {:>13} {:>11} {:>11} {:>11} {:>9} {:>9}  verdicts",
        "history", "Porcupine ms", "best ms", "here ms", "best ms", "x median", "x best"
    );
    let mut disagree = 0;
    let mut missing = Vec::new();
    let (mut p_sum, mut h_sum) = (0.0, 0.0);
    let mut below: Vec<(String, f64)> = Vec::new();
    let mut slowest: Option<(String, f64)> = None;
    let mut rows: Vec<(&str, &str, &str, Timing)> =
        timings.iter().map(|(name, v, t)| (name.as_str(), "partitioned", *v, *t)).collect();
    rows.extend(whole_map.iter().map(|(name, v, t)| (name.as_str(), "whole-map", *v, *t)));
    for (name, mode, here_verdict, t) in rows {
        let Some(p) = find(name, mode) else {
            missing.push(format!("{name} ({mode})"));
            continue;
        };
        let want = histories.iter().find(|(f, _, _)| f == name).map_or("", |(_, w, _)| w.as_str());
        let agree = p.verdict == here_verdict && here_verdict == want;
        if !agree {
            disagree += 1;
        }
        let (pm, pb, m, b) = (ms(p.median), ms(p.best), ms(t.median), ms(t.best));
        let label = if mode == "whole-map" { format!("{name} whole map") } else { name.to_string() };
        println!(
            "{label:<26} {pm:>13.3} {pb:>11.3} {m:>11.3} {b:>11.3} {:>9.1} {:>9.1}  {}",
            pm / m,
            pb / b,
            if agree {
                "agree".to_string()
            } else {
                format!("DISAGREE (Porcupine {}, here {here_verdict}, expected {want})", p.verdict)
            }
        );
        if mode == "partitioned" {
            p_sum += pm;
            h_sum += m;
            if pm / m < 1.0 {
                below.push((label.clone(), pm / m));
            }
            if slowest.as_ref().is_none_or(|(_, x)| pm / m < *x) {
                slowest = Some((label, pm / m));
            }
        }
    }
    let n = timings.len() - missing.iter().filter(|m| m.ends_with("(partitioned)")).count();
    println!(
        "{:<26} {p_sum:>13.1} {:>11} {h_sum:>11.1} {:>11} {:>9.1}",
        format!("total of the {n}"),
        "",
        "",
        p_sum / h_sum
    );
    if let Some(p) = find("all-etcd", "all-etcd") {
        let (pm, m) = (ms(p.median), ms(all_etcd.median));
        println!(
            "{:<26} {pm:>13.1} {:>11.1} {m:>11.1} {:>11.1} {:>9.1} {:>9.1}",
            "all etcd, one after another",
            ms(p.best),
            ms(all_etcd.best),
            pm / m,
            ms(p.best) / ms(all_etcd.best)
        );
    }
    if !missing.is_empty() {
        println!("not in Porcupine's output: {}", missing.join(", "));
    }
    println!();
    println!("targets (medians measured in this run, both sides)");
    if let Some((history, x)) = slowest {
        let list = below.iter().map(|(h, x)| format!("{h} {x:.2}x")).collect::<Vec<_>>().join(", ");
        println!(
            "  at least as fast as Porcupine on every one of the {n} histories: {} (slowest: {history}, {x:.2}x{})",
            met(below.is_empty()),
            if below.is_empty() { String::new() } else { format!("; below 1x: {list}") }
        );
    }
    println!(
        "  at least 5x faster in total over the {n}: {} ({:.1}x)",
        met(p_sum / h_sum >= 5.0),
        p_sum / h_sum
    );
    println!(
        "  verdicts: {}",
        if disagree == 0 {
            "both checkers agree with EXPECTED.tsv on every history".to_string()
        } else {
            format!("{disagree} DISAGREE")
        }
    );
    if !missing.is_empty() {
        disagree += missing.len();
    }
    disagree
}
