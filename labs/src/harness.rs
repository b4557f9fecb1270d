//! Running a test body over seeds and backends, and reporting failures a person can replay.
//!
//! Environment:
//! * `LAB_SEED=N` runs seed N (default: a random seed, printed on failure);
//! * `LAB_SEEDS=K` runs K consecutive seeds (from `LAB_SEED`, or from a random base);
//! * `LAB_RUNTIME=real` uses the real backend (default `sim`);
//! * `LAB_CHECK_DETERMINISM=1` runs each seed twice and fails at the first divergence;
//! * `LAB_SPIN_LIMIT_MS` sets how long a sim thread may run without a runtime call (5000);
//! * `LAB_REPORT=always` writes the HTML report of passing runs too (`never` writes none; by
//!   default a failing run's report is written and its path printed beside the replay command).

use crate::world::{Backend, Builder, Outcome};
use std::time::Duration;

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

    /// The one command that replays this test with `seed` on `backend`.
    pub fn replay_command(&self, seed: u64, backend: Backend) -> String {
        let rt = if backend == Backend::Real { "LAB_RUNTIME=real " } else { "" };
        format!(
            "{rt}LAB_SEED={seed} cargo test -p {} {} -- --exact {}",
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

/// Runs `body` once per planned seed with the default limits (120 s per run).
pub fn run_test(info: TestInfo, body: fn()) {
    run_test_with(info, |b| b, body);
}

/// Like [`run_test`], with `configure` adjusting each run's [`Builder`] (a longer time limit,
/// say).
pub fn run_test_with(info: TestInfo, configure: impl Fn(Builder) -> Builder, body: fn()) {
    let plan = plan_from_env();
    let many = plan.seeds.len() > 1;
    for &seed in &plan.seeds {
        let make = || {
            configure(Builder::default().seed(seed).backend(plan.backend))
                .replay(info.replay_command(seed, plan.backend))
        };
        let wall = std::time::Instant::now();
        let out = if plan.check_determinism && plan.backend == Backend::Sim {
            let a = make().trace(true).run(body);
            let b = make().trace(true).run(body);
            if let Some(diff) = divergence(&a, &b) {
                fail(&info, seed, plan.backend, &format!("the run is not deterministic: {diff}"));
            }
            a
        } else {
            make().run(body)
        };
        let report = match std::env::var("LAB_REPORT").as_deref() {
            Ok("never") => None,
            Ok("always") => Some(true),
            _ => Some(out.result.is_err()),
        };
        let report_path = match report {
            Some(true) => {
                let replay = info.replay_command(seed, plan.backend);
                match write_report(&info.test_path(), &replay, &out) {
                    Ok(p) => Some(p.display().to_string()),
                    Err(e) => Some(format!("(could not write the report: {e})")),
                }
            }
            _ => None,
        };
        if let Err(f) = &out.result {
            let mut msg = f.message.clone();
            if let Some(p) = &report_path {
                msg.push_str(&format!("\nreport: {p}"));
            }
            fail(&info, seed, plan.backend, &msg);
        } else if let Some(p) = &report_path {
            eprintln!("report: {p}");
        }
        if many {
            eprintln!(
                "{} seed {seed}: ok ({} {:.1} s, wall {:.2} s, digest {:016x})",
                info.test_path(),
                if plan.backend == Backend::Sim { "virtual" } else { "real" },
                out.elapsed.as_secs_f64(),
                wall.elapsed().as_secs_f64(),
                out.digest
            );
        }
    }
}

/// Writes the failure report of `outcome`, a run of the test `test_path` replayed by `replay`,
/// into [`report::default_dir`], and returns the HTML path.
pub fn write_report(test_path: &str, replay: &str, outcome: &Outcome) -> std::io::Result<std::path::PathBuf> {
    let input = report::ReportInput {
        title: test_path,
        seed: outcome.seed,
        backend: outcome.backend.to_string(),
        replay,
        failure: outcome.result.as_ref().err().map(|f| f.message.as_str()),
        events: &outcome.events,
    };
    report::write_report(&report::default_dir(), &input)
}

fn fail(info: &TestInfo, seed: u64, backend: Backend, message: &str) -> ! {
    panic!(
        "\n{} failed under {backend} with seed {seed}:\n{}\nreplay: {}\n",
        info.test_path(),
        indent(message),
        info.replay_command(seed, backend)
    );
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
    fn replay_command_names_target_and_path() {
        let unit = TestInfo { package: "labs", module: "labs::harness::tests", name: "x" };
        assert_eq!(
            unit.replay_command(7, Backend::Sim),
            "LAB_SEED=7 cargo test -p labs --lib -- --exact harness::tests::x"
        );
        let integ = TestInfo { package: "labrpc", module: "network", name: "killed" };
        assert_eq!(
            integ.replay_command(1234, Backend::Real),
            "LAB_RUNTIME=real LAB_SEED=1234 cargo test -p labrpc --test network -- --exact killed"
        );
    }
}
