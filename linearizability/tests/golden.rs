//! Golden tests of the linearizability checker: every history in `shared/porcupine-data` (data
//! nobody here wrote, from the Porcupine project) must get the verdict `EXPECTED.tsv` gives it,
//! and `Unknown` is never accepted.
//!
//! The data directory is `$DISTLAB_SHARED/porcupine-data` if that variable is set, otherwise
//! `shared/porcupine-data` beside the workspace root. If it is missing the tests fail, saying
//! where they looked: they never pass without having checked anything.

use std::path::{Path, PathBuf};
use std::time::Duration;

use linearizability::parse::{read_jepsen_file, read_kv_file};
use linearizability::{CheckResult, Checker, KvModel, RegisterModel, Report};

/// Generous: the slowest golden file takes milliseconds; a budget overrun is a failure anyway.
const BUDGET: Duration = Duration::from_secs(60);

fn data_dir() -> PathBuf {
    let mut tried = Vec::new();
    if let Some(shared) = std::env::var_os("DISTLAB_SHARED") {
        let shared = PathBuf::from(shared);
        for dir in [shared.join("porcupine-data"), shared.clone()] {
            if dir.join("EXPECTED.tsv").is_file() {
                return dir;
            }
            tried.push(dir);
        }
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = manifest.join("../../shared/porcupine-data");
    if dir.join("EXPECTED.tsv").is_file() {
        return dir;
    }
    tried.push(dir);
    panic!(
        "golden histories not found: looked for EXPECTED.tsv in {}. The data lives in \
         `shared/porcupine-data` beside the project root; set DISTLAB_SHARED to the `shared` \
         directory if it is elsewhere.",
        tried.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )
}

/// (file, expected linearizable, model) for every entry of EXPECTED.tsv.
#[allow(
    clippy::disallowed_methods,
    reason = "the checker is not lab code: golden histories and visualisations are files on the real disk"
)]
fn expected(dir: &Path) -> Vec<(String, bool, String)> {
    let path = dir.join("EXPECTED.tsv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(f.len(), 3, "{}:{}: expected file<TAB>verdict<TAB>model", path.display(), i + 1);
        let ok = match f[1] {
            "linearizable" => true,
            "not-linearizable" => false,
            v => panic!("{}:{}: unknown verdict {v:?}", path.display(), i + 1),
        };
        out.push((f[0].to_string(), ok, f[2].to_string()));
    }
    out
}

fn check_file(dir: &Path, file: &str, model: &str) -> Report {
    let path = dir.join(file);
    let checker = Checker::new().budget(BUDGET);
    match model {
        "kv" => {
            let ops = read_kv_file(&path).unwrap_or_else(|e| panic!("{e}"));
            checker.check(&KvModel, &ops)
        }
        "register" => {
            let ops = read_jepsen_file(&path).unwrap_or_else(|e| panic!("{e}"));
            checker.check(&RegisterModel, &ops)
        }
        m => panic!("{file}: unknown model {m:?} in EXPECTED.tsv"),
    }
}

/// Checks every file of one model and reports all mismatches together.
fn golden(model: &str) {
    let dir = data_dir();
    let entries: Vec<_> = expected(&dir).into_iter().filter(|(_, _, m)| m == model).collect();
    assert!(!entries.is_empty(), "EXPECTED.tsv lists no {model} histories");
    let mut failures = Vec::new();
    for (file, want, _) in &entries {
        let report = check_file(&dir, file, model);
        let verdict = match report.result() {
            CheckResult::Linearizable => Some(true),
            CheckResult::NotLinearizable(_) => Some(false),
            CheckResult::Unknown { .. } => None,
        };
        if verdict != Some(*want) {
            failures.push(format!(
                "{file}: expected {}, got: {report}",
                if *want { "linearizable" } else { "not linearizable" }
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} {model} histories wrong:\n{}",
        failures.len(),
        entries.len(),
        failures.join("\n")
    );
    eprintln!("{} {model} histories checked, all as expected", entries.len());
}

#[test]
fn golden_kv_histories() {
    golden("kv");
}

#[test]
fn golden_register_histories() {
    golden("register");
}

/// EXPECTED.tsv and the directory agree: every listed file exists, every history is listed.
#[allow(
    clippy::disallowed_methods,
    reason = "the checker is not lab code: golden histories and visualisations are files on the real disk"
)]
#[test]
fn expected_tsv_covers_every_file() {
    let dir = data_dir();
    let listed: Vec<String> = expected(&dir).into_iter().map(|(f, _, _)| f).collect();
    for f in &listed {
        assert!(dir.join(f).is_file(), "EXPECTED.tsv lists {f}, which does not exist");
    }
    for sub in ["jepsen", "kv"] {
        let rd = std::fs::read_dir(dir.join(sub)).unwrap_or_else(|e| panic!("{}/{sub}: {e}", dir.display()));
        for entry in rd {
            let name = format!("{sub}/{}", entry.unwrap().file_name().to_string_lossy());
            assert!(listed.contains(&name), "{name} is not listed in EXPECTED.tsv");
        }
    }
    assert_eq!(listed.len(), 66, "the data README promises 66 histories");
}

/// A failing golden check explains itself and draws an HTML page.
#[allow(
    clippy::disallowed_methods,
    reason = "the checker is not lab code: golden histories and visualisations are files on the real disk"
)]
#[test]
fn failing_golden_check_explains_and_visualizes() {
    let dir = data_dir();
    let report = check_file(&dir, "kv/c10-bad.txt", "kv");
    let CheckResult::NotLinearizable(expl) = report.result() else {
        panic!("kv/c10-bad.txt should not be linearizable: {report}")
    };
    assert!(!expl.candidates.is_empty());
    assert!(expl.deadline.is_some());
    assert!(expl.prefix.len() < expl.partition_ops);
    let text = report.to_string();
    assert!(text.contains("Longest linearizable prefix"), "{text}");
    let path = report.write_visualization_to_temp().expect("write the visualisation");
    let html = std::fs::read_to_string(&path).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains(&expl.partition.replace('"', "\\\"")));
    assert!(!html.contains("http://") && !html.contains("https://"), "the page must not need the network");
    std::fs::remove_file(path).unwrap();
}
