//! Running a test body over seeds and backends, and reporting failures a person can replay.
//!
//! Environment:
//! * `LAB_SEED=N` runs seed N (default: a random seed, printed on failure);
//! * `LAB_SEEDS=K` runs K consecutive seeds (from `LAB_SEED`, or from a random base);
//! * `LAB_RUNTIME=real` uses the real backend (default `sim`);
//! * `LAB_CHECK_DETERMINISM=1` runs each seed twice and fails at the first divergence;
//! * `LAB_SPIN_LIMIT_MS` sets how long a sim thread may run without a runtime call (5000);
//! * `LAB_REPORT=always` writes the HTML report of passing runs too (`never` writes none; by
//!   default a failing run's report is written and its path printed beside the replay command);
//! * `LAB_VERDICT_FILE=PATH` (set by the grader) names the verdict channel, below.
//!
//! # Replay lines
//!
//! A failure's replay line is the command that reruns exactly that run: the seed, the backend
//! (`LAB_RUNTIME=real`), the switches that changed the verdict (`LAB_CHECK_DETERMINISM=1` for a
//! determinism failure, a non-default `LAB_SPIN_LIMIT_MS`), and the profile the test was built
//! with (`--release` when it was built without debug assertions), so that pasting it neither
//! rebuilds everything in another profile nor passes where the original failed.
//!
//! # The verdict channel
//!
//! A grader cannot believe what a test prints: the code under test prints too, and could print
//! libtest's `test result: ok` line itself. So when `LAB_VERDICT_FILE` is set, the harness
//! appends its own record of each run there, one JSON object per line: a `start` record when a
//! test begins (before any code under test runs), an `end` record per seed with the seed and
//! backend the run really used, whether it passed, the failure, the run's statistics and
//! warnings, and an `exit` record if the process exits in the middle of a test (see
//! `exit_guard`). The file is opened before the first test body runs. Code under test cannot
//! write to it: the grader's rules forbid student files `unsafe` and `std::fs`, `std::env`,
//! `std::os` and `std::process`, so they can neither learn its name nor open it.
//!
//! # Statistics and warnings
//!
//! Every run's wall time, virtual time, peak RSS, threads spawned, RPCs and client operations go
//! into its `end` record, and a run that is out of line (see [`warnings`]) is flagged on stderr
//! (past libtest's capture, so a passing test shows it too) with the numbers and the likely
//! cause: a pathological run that passes is still a bug.

use crate::world::{Backend, Builder, Outcome};
use std::io::Write as _;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// The version of the verdict records' format (the grader checks it).
pub const VERDICT_FORMAT: u32 = 1;

/// Where a test lives, for its replay command. Build it with [`test_info!`](crate::test_info).
#[derive(Clone, Copy, Debug)]
pub struct TestInfo {
    /// The Cargo package (`env!("CARGO_PKG_NAME")`).
    pub package: &'static str,
    /// `module_path!()` at the test.
    pub module: &'static str,
    /// The test function's name.
    pub name: &'static str,
}

/// The environment switches a replay line must carry besides the seed and the backend.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Switches {
    /// `LAB_CHECK_DETERMINISM=1`: the failure is a divergence between two runs of the seed.
    pub check_determinism: bool,
    /// `LAB_SPIN_LIMIT_MS=N`, when the run used a spin limit other than the default.
    pub spin_limit_ms: Option<u64>,
}

impl Switches {
    /// The switches of the environment that change a run's verdict (not the determinism
    /// check, which only a determinism failure needs).
    pub fn from_env() -> Switches {
        let spin_limit_ms = std::env::var("LAB_SPIN_LIMIT_MS").ok().and_then(|v| v.parse::<u64>().ok());
        Switches { check_determinism: false, spin_limit_ms: spin_limit_ms.filter(|&ms| ms != 5_000) }
    }
}

/// The cargo profile flag of this build: `--release` when built without debug assertions (as
/// `cargo test --release` builds), nothing for the default test profile.
pub fn profile_flag() -> &'static str {
    if cfg!(debug_assertions) { "" } else { "--release " }
}

impl TestInfo {
    /// The test's path as libtest names it (`name`, or `module::name` inside a module).
    pub fn test_path(&self) -> String {
        match self.module.split_once("::") {
            Some((_, rest)) => format!("{rest}::{}", self.name),
            None => self.name.to_string(),
        }
    }

    /// The cargo target selector: `--lib` for unit tests, `--test <file>` for integration tests.
    pub fn target(&self) -> String {
        let first = self.module.split("::").next().unwrap_or(self.module);
        if first == self.package.replace('-', "_") { "--lib".to_string() } else { format!("--test {first}") }
    }

    /// The one command that replays this test with `seed` on `backend`, in the profile this
    /// build used.
    pub fn replay_command(&self, seed: u64, backend: Backend) -> String {
        self.replay_command_with(seed, backend, Switches::default())
    }

    /// [`TestInfo::replay_command`] with the environment switches the failure depends on.
    pub fn replay_command_with(&self, seed: u64, backend: Backend, switches: Switches) -> String {
        let mut env = String::new();
        if backend == Backend::Real {
            env.push_str("LAB_RUNTIME=real ");
        }
        if switches.check_determinism {
            env.push_str("LAB_CHECK_DETERMINISM=1 ");
        }
        if let Some(ms) = switches.spin_limit_ms {
            env.push_str(&format!("LAB_SPIN_LIMIT_MS={ms} "));
        }
        format!(
            "{env}LAB_SEED={seed} cargo test {}-p {} {} -- --exact {}",
            profile_flag(),
            self.package,
            self.target(),
            self.test_path()
        )
    }
}

/// Builds a [`TestInfo`] for the test function `name` at the call site.
#[macro_export]
macro_rules! test_info {
    ($name:expr) => {
        $crate::harness::TestInfo { package: env!("CARGO_PKG_NAME"), module: module_path!(), name: $name }
    };
}

/// Declares tests whose bodies run in a labs world, over the seeds and backend the
/// environment asks for:
///
/// ```ignore
/// labs::lab_test! {
///     /// 6.5840: TestBasic
///     fn call_returns_reply() { /* ... */ }
/// }
/// ```
#[macro_export]
macro_rules! lab_test {
    ($($(#[$m:meta])* fn $name:ident() $body:block)*) => {
        $(
            $(#[$m])*
            #[test]
            fn $name() {
                fn body() $body
                $crate::harness::run_test($crate::test_info!(stringify!($name)), body)
            }
        )*
    };
}

/// The run settings the environment asks for.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The seeds to run, in order.
    pub seeds: Vec<u64>,
    /// The backend.
    pub backend: Backend,
    /// Whether to run each seed twice and compare.
    pub check_determinism: bool,
}

/// Reads `LAB_SEED`, `LAB_SEEDS`, `LAB_RUNTIME` and `LAB_CHECK_DETERMINISM`.
pub fn plan_from_env() -> Plan {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let backend = match var("LAB_RUNTIME").as_deref() {
        Some("real") => Backend::Real,
        Some("sim") | None => Backend::Sim,
        Some(other) => {
            panic!("LAB_RUNTIME={other} is not a backend: use `sim` (the default) or `real`")
        }
    };
    let base = match var("LAB_SEED") {
        Some(s) => {
            s.parse::<u64>().unwrap_or_else(|_| panic!("LAB_SEED={s} is not a number: use e.g. LAB_SEED=42"))
        }
        None => random_seed(),
    };
    let count = match var("LAB_SEEDS") {
        Some(s) => s
            .parse::<u64>()
            .unwrap_or_else(|_| panic!("LAB_SEEDS={s} is not a count: use e.g. LAB_SEEDS=100")),
        None => 1,
    };
    let check_determinism = matches!(var("LAB_CHECK_DETERMINISM").as_deref(), Some("1") | Some("true"));
    Plan { seeds: (0..count.max(1)).map(|i| base.wrapping_add(i)).collect(), backend, check_determinism }
}

fn random_seed() -> u64 {
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    (t.as_nanos() as u64 ^ std::process::id() as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) % 1_000_000
}

/// What one run used: the numbers behind [`warnings`] and the verdict's statistics.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RunStats {
    /// The backend of the run.
    pub backend: Backend,
    /// Wall-clock time of the run.
    pub wall: Duration,
    /// The run's own clock at its end: virtual time under sim, wall time under real.
    pub elapsed: Duration,
    /// The process's peak resident set size so far (`VmHWM`), if the system says.
    pub peak_rss_bytes: Option<u64>,
    /// Threads spawned in the run.
    pub threads: u64,
    /// RPCs sent in the run (as labrpc recorded them).
    pub rpcs: u64,
    /// Client operations the tester recorded.
    pub ops: u64,
    /// Events recorded in the run (exact, like `rpcs` and `ops`).
    pub events: u64,
    /// Events the log dropped to bound its memory (kept: the first and the last).
    pub events_dropped: u64,
}

impl RunStats {
    /// The statistics of a finished run that took `wall` of real time.
    pub fn of(outcome: &Outcome, wall: Duration) -> RunStats {
        let c = outcome.event_counts;
        RunStats {
            backend: outcome.backend,
            wall,
            elapsed: outcome.elapsed,
            peak_rss_bytes: peak_rss_bytes(),
            threads: outcome.threads,
            rpcs: c.rpcs,
            ops: c.ops,
            events: c.recorded,
            events_dropped: c.dropped,
        }
    }

    /// One line: `virtual 3.0 s, wall 0.12 s, peak RSS 38 MiB, 120 threads, 480 RPCs, 0 ops`.
    pub fn summary(&self) -> String {
        format!(
            "{} {:.1} s, wall {:.2} s, peak RSS {}, {} threads, {} RPCs, {} ops",
            if self.backend == Backend::Sim { "virtual" } else { "real" },
            self.elapsed.as_secs_f64(),
            self.wall.as_secs_f64(),
            self.peak_rss_bytes.map(|b| format!("{} MiB", b >> 20)).unwrap_or_else(|| "?".into()),
            self.threads,
            self.rpcs,
            self.ops
        )
    }
}

/// The process's peak resident set size (`VmHWM` in `/proc/self/status`), where Linux says.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.trim_start_matches("VmHWM:").trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kib * 1024)
}

// The thresholds below were set against `make grade` on the reference solutions (5 seeds and a
// real run of every test; issue 13's evidence): its most out-of-line runs reach 1.9x wall over
// virtual time (concurrent3_5b, with two runs sharing two cores), 238 MiB of RSS, 1624 threads
// spawned and 23 500 RPCs per second. Each threshold leaves a margin of three or more above that,
// and catches issue 15's pathological run (3.6x, 6.7 GB, unbounded threads).

/// Wall time above which a sim run's wall-to-virtual ratio is worth a warning: below it, the
/// ratio of a short run says nothing.
pub const SLOW_WALL: Duration = Duration::from_secs(10);
/// A sim run whose wall time exceeds its virtual time by this factor is out of line: under the
/// simulation waiting is free, so a healthy run takes a fraction of its virtual time.
pub const SLOW_RATIO: f64 = 3.0;
/// Peak RSS above which a run is flagged.
pub const RSS_LIMIT: u64 = 1 << 30;
/// Threads spawned in one run above which it is flagged.
pub const THREAD_LIMIT: u64 = 10_000;
/// RPCs per second of the run's clock above which it is flagged.
pub const RPC_RATE_LIMIT: f64 = 100_000.0;
/// Fewest RPCs for the rate check (a short burst is no flood).
pub const RPC_FLOOR: u64 = 50_000;

/// The ways `stats` is out of line, each with its numbers and the likely cause. Empty for a
/// healthy run.
pub fn warnings(stats: &RunStats) -> Vec<String> {
    let mut out = Vec::new();
    let wall = stats.wall.as_secs_f64();
    let elapsed = stats.elapsed.as_secs_f64().max(1e-3);
    if stats.backend == Backend::Sim && stats.wall > SLOW_WALL && wall > SLOW_RATIO * elapsed {
        out.push(format!(
            "slow: {wall:.1} s of wall time for {elapsed:.1} s of virtual time ({:.1}x). Under the \
             simulation waiting is free and CPU work is not: look for work that grows with the run \
             (re-encoding the whole log on every persist, scanning the whole log per RPC) or a busy \
             loop between runtime calls",
            wall / elapsed
        ));
    }
    if let Some(rss) = stats.peak_rss_bytes.filter(|&b| b > RSS_LIMIT) {
        out.push(format!(
            "memory: peak RSS {} MiB (more than {} MiB). Look for state that is never trimmed (a log \
             kept whole after snapshots, unbounded queues or channels, copies of the log per RPC)",
            rss >> 20,
            RSS_LIMIT >> 20
        ));
    }
    if stats.threads > THREAD_LIMIT {
        out.push(format!(
            "threads: {} threads spawned (more than {THREAD_LIMIT}). Look for a thread per RPC or \
             per tick that never ends, e.g. RPCs to crashed peers retried by new threads without \
             waiting for the old ones",
            stats.threads
        ));
    }
    if stats.rpcs > RPC_FLOOR && stats.rpcs as f64 > RPC_RATE_LIMIT * elapsed {
        out.push(format!(
            "RPCs: {} RPCs in {elapsed:.1} s ({:.0} per second, more than {RPC_RATE_LIMIT:.0}). Look \
             for a retry or heartbeat loop that does not sleep, or one RPC per peer per tick where \
             one per heartbeat interval is enough",
            stats.rpcs,
            stats.rpcs as f64 / elapsed
        ));
    }
    out
}

/// Runs `body` once per planned seed with the default limits (120 s per run).
pub fn run_test(info: TestInfo, body: fn()) {
    run_test_with(info, |b| b, body);
}

/// Like [`run_test`], with `configure` adjusting each run's [`Builder`] (a longer time limit,
/// say).
pub fn run_test_with(info: TestInfo, configure: impl Fn(Builder) -> Builder, body: fn()) {
    let plan = plan_from_env();
    let test_path = info.test_path();
    let (_running, others) = crate::exit_guard::enter(&test_path);
    let switches = Switches::from_env();
    verdict::record(&serde_json::json!({
        "record": "start",
        "format": VERDICT_FORMAT,
        "test": test_path,
        "package": info.package,
        "backend": plan.backend.to_string(),
        "seeds": plan.seeds,
        "check_determinism": plan.check_determinism,
        "tests_already_running": others,
        "pid": std::process::id(),
    }));
    let many = plan.seeds.len() > 1;
    for &seed in &plan.seeds {
        let make = || {
            configure(Builder::default().seed(seed).backend(plan.backend))
                .replay(info.replay_command(seed, plan.backend))
        };
        let wall = std::time::Instant::now();
        let mut divergence_found = None;
        let out = if plan.check_determinism && plan.backend == Backend::Sim {
            let a = make().trace(true).run(body);
            let b = make().trace(true).run(body);
            divergence_found = divergence(&a, &b);
            a
        } else {
            make().run(body)
        };
        let stats = RunStats::of(&out, wall.elapsed());
        let warnings = warnings(&stats);
        let determinism = divergence_found.is_some();
        let failure = match (&divergence_found, &out.result) {
            (Some(diff), _) => Some(format!("the run is not deterministic: {diff}")),
            (None, Err(f)) => Some(f.message.clone()),
            (None, Ok(())) => None,
        };
        let run_switches = Switches { check_determinism: determinism, ..switches };
        let replay = info.replay_command_with(seed, plan.backend, run_switches);
        verdict::record(&serde_json::json!({
            "record": "end",
            "format": VERDICT_FORMAT,
            "test": test_path,
            "seed": out.seed,
            "backend": out.backend.to_string(),
            "passed": failure.is_none(),
            "failure": failure,
            "replay": replay,
            "stats": {
                "wall_secs": stats.wall.as_secs_f64(),
                "elapsed_secs": stats.elapsed.as_secs_f64(),
                "peak_rss_bytes": stats.peak_rss_bytes,
                "threads": stats.threads,
                "rpcs": stats.rpcs,
                "ops": stats.ops,
                "events": stats.events,
                "events_dropped": stats.events_dropped,
            },
            "warnings": warnings,
        }));
        if stats.events_dropped > 0 {
            to_stderr(&format!(
                "note: {test_path} seed {seed}: the event log kept the first and the last of {} events and \
                 dropped {} in between (a note in the report marks the gap; the statistics are exact)\n",
                stats.events, stats.events_dropped
            ));
        }
        for w in &warnings {
            to_stderr(&format!("warning: {test_path} seed {seed} ({}): {w}\n", stats.summary()));
        }
        let report = match std::env::var("LAB_REPORT").as_deref() {
            Ok("never") => None,
            Ok("always") => Some(true),
            _ => Some(failure.is_some()),
        };
        let report_path = match report {
            Some(true) => match write_report(&test_path, &replay, &out) {
                Ok(p) => Some(p.display().to_string()),
                Err(e) => Some(format!("(could not write the report: {e})")),
            },
            _ => None,
        };
        if let Some(message) = failure {
            let mut msg = message;
            if let Some(p) = &report_path {
                msg.push_str(&format!("\nreport: {p}"));
            }
            fail(&test_path, seed, plan.backend, &msg, &replay);
        } else if let Some(p) = &report_path {
            eprintln!("report: {p}");
        }
        if many {
            eprintln!("{test_path} seed {seed}: ok ({}, digest {:016x})", stats.summary(), out.digest);
        }
    }
}

/// Writes `text` to the process's stderr directly, past libtest's output capture.
fn to_stderr(text: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(text.as_bytes());
    let _ = stderr.flush();
}

/// Records, for the grader, that the process is exiting in the middle of `tests` (called by the
/// exit check; see `exit_guard`).
pub(crate) fn record_exit(tests: &str, caller: Option<&str>) {
    verdict::record(&serde_json::json!({
        "record": "exit",
        "format": VERDICT_FORMAT,
        "test": tests,
        "caller": caller,
    }));
}

/// The verdict channel's writer: the file named by `LAB_VERDICT_FILE`, opened once, before the
/// first test body runs. Private, so that code under test cannot reach it.
mod verdict {
    use super::{Mutex, OnceLock};
    use std::io::Write as _;

    static FILE: OnceLock<Option<Mutex<std::fs::File>>> = OnceLock::new();

    /// Appends `value` as one line (nothing without `LAB_VERDICT_FILE`).
    pub(super) fn record(value: &serde_json::Value) {
        let file = FILE.get_or_init(|| {
            let path = std::env::var_os("LAB_VERDICT_FILE")?;
            match std::fs::OpenOptions::new().append(true).create(true).open(&path) {
                Ok(f) => Some(Mutex::new(f)),
                Err(e) => {
                    eprintln!("labs: cannot open the verdict file {}: {e}", path.to_string_lossy());
                    None
                }
            }
        });
        let Some(file) = file else { return };
        // The exit check may run while a thread that held the lock is stopped: never wait.
        let Ok(mut file) = file.try_lock().or_else(|_| {
            std::thread::sleep(std::time::Duration::from_millis(50));
            file.try_lock()
        }) else {
            return;
        };
        let mut line = value.to_string();
        line.push('\n');
        let _ = file.write_all(line.as_bytes());
        let _ = file.flush();
    }
}

/// Writes the failure report of `outcome`, a run of the test `test_path` replayed by `replay`,
/// into [`report::default_dir`], and returns the HTML path.
pub fn write_report(test_path: &str, replay: &str, outcome: &Outcome) -> std::io::Result<std::path::PathBuf> {
    let c = outcome.event_counts;
    let input = report::ReportInput {
        title: test_path,
        seed: outcome.seed,
        backend: outcome.backend.to_string(),
        replay,
        failure: outcome.result.as_ref().err().map(|f| f.message.as_str()),
        events: &outcome.events,
        recorded: (c.dropped > 0).then_some(report::Recorded {
            events: c.recorded,
            rpcs: c.rpcs,
            ops: c.ops,
        }),
    };
    report::write_report(&report::default_dir(), &input)
}

fn fail(test_path: &str, seed: u64, backend: Backend, message: &str, replay: &str) -> ! {
    panic!("\n{test_path} failed under {backend} with seed {seed}:\n{}\nreplay: {replay}\n", indent(message));
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("  {l}")).collect::<Vec<_>>().join("\n")
}

/// Describes the first difference between two traced runs of one seed, if any.
pub fn divergence(a: &Outcome, b: &Outcome) -> Option<String> {
    let (ta, tb) = (a.trace.as_deref().unwrap_or(&[]), b.trace.as_deref().unwrap_or(&[]));
    let name =
        |o: &Outcome, t: u32| o.thread_names.get(t as usize).cloned().unwrap_or_else(|| format!("#{t}"));
    for (i, (x, y)) in ta.iter().zip(tb).enumerate() {
        if x != y {
            return Some(format!(
                "at step {i} the first run scheduled thread {} at {:?} and the second thread {} at {:?}. \
                 Look for HashMap/HashSet iteration, std time or randomness, or state kept in statics.",
                name(a, x.0),
                Duration::from_nanos(x.1),
                name(b, y.0),
                Duration::from_nanos(y.1)
            ));
        }
    }
    if ta.len() != tb.len() || a.digest != b.digest {
        return Some(format!(
            "the runs took {} and {} steps (digests {:x} and {:x})",
            ta.len(),
            tb.len(),
            a.digest,
            b.digest
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_command_names_target_path_profile_and_switches() {
        let release = profile_flag();
        let unit = TestInfo { package: "labs", module: "labs::harness::tests", name: "x" };
        assert_eq!(
            unit.replay_command(7, Backend::Sim),
            format!("LAB_SEED=7 cargo test {release}-p labs --lib -- --exact harness::tests::x")
        );
        let integ = TestInfo { package: "labrpc", module: "network", name: "killed" };
        assert_eq!(
            integ.replay_command(1234, Backend::Real),
            format!(
                "LAB_RUNTIME=real LAB_SEED=1234 cargo test {release}-p labrpc --test network -- --exact killed"
            )
        );
        let switches = Switches { check_determinism: true, spin_limit_ms: Some(100) };
        assert_eq!(
            integ.replay_command_with(3, Backend::Sim, switches),
            format!(
                "LAB_CHECK_DETERMINISM=1 LAB_SPIN_LIMIT_MS=100 LAB_SEED=3 cargo test {release}-p labrpc \
                 --test network -- --exact killed"
            )
        );
        assert_eq!(release == "--release ", !cfg!(debug_assertions));
    }

    fn stats(wall: f64, elapsed: f64) -> RunStats {
        RunStats {
            backend: Backend::Sim,
            wall: Duration::from_secs_f64(wall),
            elapsed: Duration::from_secs_f64(elapsed),
            peak_rss_bytes: Some(40 << 20),
            threads: 300,
            rpcs: 2_000,
            ops: 0,
            events: 2_000,
            events_dropped: 0,
        }
    }

    #[test]
    fn healthy_runs_have_no_warnings() {
        assert!(warnings(&stats(0.5, 20.0)).is_empty());
        // A short run's ratio says nothing.
        assert!(warnings(&stats(2.0, 0.1)).is_empty());
        // Under real, wall time is the run's clock.
        assert!(warnings(&RunStats { backend: Backend::Real, ..stats(30.0, 30.0) }).is_empty());
    }

    #[test]
    fn out_of_line_runs_are_flagged_with_numbers_and_cause() {
        // issue 15's run: 72 s of wall time for 19.8 s of virtual time.
        let slow = warnings(&stats(72.0, 19.8));
        assert_eq!(slow.len(), 1, "{slow:?}");
        assert!(
            slow[0].starts_with("slow: 72.0 s of wall time for 19.8 s of virtual time (3.6x)"),
            "{slow:?}"
        );
        assert!(slow[0].contains("persist"), "{slow:?}");
        let fat = warnings(&RunStats { peak_rss_bytes: Some(3 << 30), ..stats(1.0, 20.0) });
        assert!(fat[0].starts_with("memory: peak RSS 3072 MiB"), "{fat:?}");
        let threads = warnings(&RunStats { threads: 50_000, ..stats(1.0, 20.0) });
        assert!(threads[0].starts_with("threads: 50000 threads spawned"), "{threads:?}");
        let flood = warnings(&RunStats { rpcs: 4_000_000, ..stats(1.0, 20.0) });
        assert!(flood[0].starts_with("RPCs: 4000000 RPCs in 20.0 s (200000 per second"), "{flood:?}");
        // The reference's busiest run (concurrent3_5b, seed 1 of `make grade`) is not flagged.
        let busy =
            RunStats { threads: 1_624, rpcs: 312_039, peak_rss_bytes: Some(143 << 20), ..stats(28.6, 15.2) };
        assert!(warnings(&busy).is_empty(), "{:?}", warnings(&busy));
    }
}
