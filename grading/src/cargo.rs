//! Building the suites once and finding the tests in them.
//!
//! `cargo test` builds and then runs every test of a binary in one process. Grading needs
//! each (test, seed) in a process of its own, so that a hang, a crash or leaked state in one
//! run cannot touch another, and so that a run can be killed alone. So the grader asks cargo
//! to build the test binaries without running them (`--no-run --message-format=json`), reads
//! where each executable is from cargo's JSON messages, and asks each binary for its tests
//! (`--list --format terse`).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::process::{self, Exit};

/// How long a test binary may take to list its tests.
const LIST_TIMEOUT: Duration = Duration::from_secs(60);

/// A problem building or inspecting the workspace.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// cargo could not be started.
    #[error("cannot run `{program}`: {source}; is cargo installed and on PATH (or set CARGO)?")]
    Spawn {
        /// The program that was run.
        program: String,
        /// Why starting it failed.
        source: std::io::Error,
    },
    /// `cargo metadata` failed.
    #[error(
        "`cargo metadata` failed in {}:\n{stderr}\nIs --path the root of a Cargo workspace that builds?",
        root.display()
    )]
    Metadata {
        /// The workspace root.
        root: PathBuf,
        /// What cargo said.
        stderr: String,
    },
    /// `cargo metadata` printed something unexpected.
    #[error("`cargo metadata` printed output the grader cannot read ({0}); is this cargo too old?")]
    MetadataFormat(String),
    /// The build of the test binaries failed.
    #[error(
        "building the test binaries failed (`{command}` exited with {status}); the compiler's messages are above. Fix the build, then run grade again"
    )]
    Build {
        /// The cargo command line.
        command: String,
        /// cargo's exit status.
        status: String,
    },
}

/// The cargo program to run: `$CARGO` (set when running under cargo) or `cargo`.
pub fn cargo_program() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"))
}

/// The packages of a workspace.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// The workspace root (where cargo was run).
    pub root: PathBuf,
    /// Package name to package directory.
    pub packages: BTreeMap<String, PathBuf>,
}

impl Workspace {
    /// Reads the workspace's packages with `cargo metadata --no-deps`.
    pub fn load(root: &Path) -> Result<Workspace, BuildError> {
        let program = cargo_program();
        let output = Command::new(&program)
            .args(["metadata", "--no-deps", "--format-version", "1"])
            .current_dir(root)
            .stdin(Stdio::null())
            .output()
            .map_err(|source| BuildError::Spawn {
                program: program.to_string_lossy().into_owned(),
                source,
            })?;
        if !output.status.success() {
            return Err(BuildError::Metadata {
                root: root.to_path_buf(),
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
            });
        }
        let value: Value =
            serde_json::from_slice(&output.stdout).map_err(|e| BuildError::MetadataFormat(e.to_string()))?;
        let mut packages = BTreeMap::new();
        for package in value["packages"].as_array().into_iter().flatten() {
            let (Some(name), Some(manifest)) = (package["name"].as_str(), package["manifest_path"].as_str())
            else {
                return Err(BuildError::MetadataFormat("a package without name or manifest_path".into()));
            };
            let dir =
                Path::new(manifest).parent().map(Path::to_path_buf).unwrap_or_else(|| root.to_path_buf());
            packages.insert(name.to_string(), dir);
        }
        Ok(Workspace { root: root.to_path_buf(), packages })
    }

    /// The package whose directory holds `manifest_path`'s manifest.
    fn package_of(&self, manifest_path: &Path) -> Option<&str> {
        let dir = manifest_path.parent()?;
        self.packages.iter().find(|(_, d)| d.as_path() == dir).map(|(name, _)| name.as_str())
    }
}

/// What kind of target a test binary was built from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum TargetKind {
    /// The library's unit tests (`--lib`).
    Lib,
    /// An integration test (`--test NAME`).
    Test,
    /// Anything else (bins, examples, benches): never graded.
    Other(String),
}

/// One built test executable.
#[derive(Debug, Clone)]
pub struct TestBinary {
    /// The package it belongs to.
    pub package: String,
    /// The target kind.
    pub kind: TargetKind,
    /// The target name (the package's library name for [`TargetKind::Lib`]).
    pub name: String,
    /// The executable.
    pub exe: PathBuf,
    /// The package directory, where cargo runs it.
    pub dir: PathBuf,
}

impl TestBinary {
    /// How the catalogue and the scoreboard name this binary: its target name, or `lib`.
    pub fn label(&self) -> &str {
        match self.kind {
            TargetKind::Lib => "lib",
            _ => &self.name,
        }
    }
}

/// Builds the test binaries of `packages` in release mode and returns them.
///
/// cargo's own progress and the compiler's messages go to the terminal (stderr), so a
/// student sees a build error exactly as `cargo build` shows it.
pub fn build_tests(workspace: &Workspace, packages: &[String]) -> Result<Vec<TestBinary>, BuildError> {
    let program = cargo_program();
    let mut args: Vec<String> = ["test", "--release", "--no-run", "--message-format=json-render-diagnostics"]
        .map(String::from)
        .to_vec();
    for package in packages {
        args.push("-p".into());
        args.push(package.clone());
    }
    let command_line = format!("cargo {}", args.join(" "));
    let mut child = Command::new(&program)
        .args(&args)
        .current_dir(&workspace.root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|source| BuildError::Spawn { program: program.to_string_lossy().into_owned(), source })?;
    let mut binaries = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(binary) = parse_artifact(workspace, &line) {
                binaries.push(binary);
            }
        }
    }
    let status = child
        .wait()
        .map_err(|source| BuildError::Spawn { program: program.to_string_lossy().into_owned(), source })?;
    if !status.success() {
        return Err(BuildError::Build { command: command_line, status: status.to_string() });
    }
    binaries.sort_by(|a, b| (&a.package, &a.kind, &a.name).cmp(&(&b.package, &b.kind, &b.name)));
    binaries.dedup_by(|a, b| a.package == b.package && a.kind == b.kind && a.name == b.name);
    Ok(binaries)
}

/// Reads one line of cargo's JSON output: a test executable, or `None`.
fn parse_artifact(workspace: &Workspace, line: &str) -> Option<TestBinary> {
    let value: Value = serde_json::from_str(line).ok()?;
    if value["reason"] != "compiler-artifact" || value["profile"]["test"] != true {
        return None;
    }
    let exe = PathBuf::from(value["executable"].as_str()?);
    let manifest = PathBuf::from(value["manifest_path"].as_str()?);
    let package = workspace.package_of(&manifest)?.to_string();
    let dir = workspace.packages.get(&package)?.clone();
    let kinds: Vec<&str> = value["target"]["kind"].as_array()?.iter().filter_map(Value::as_str).collect();
    let kind = if kinds.contains(&"test") {
        TargetKind::Test
    } else if kinds.iter().any(|k| matches!(*k, "lib" | "rlib" | "dylib" | "proc-macro")) {
        TargetKind::Lib
    } else {
        TargetKind::Other(kinds.join(","))
    };
    Some(TestBinary { package, kind, name: value["target"]["name"].as_str()?.to_string(), exe, dir })
}

/// Asks a test binary for its tests (`--list --format terse`).
///
/// Returns an explanation instead when the binary cannot list them (for example a test
/// target with `harness = false`).
pub fn list_tests(binary: &TestBinary) -> Result<Vec<String>, String> {
    let mut command = Command::new(&binary.exe);
    command.args(["--list", "--format", "terse"]).current_dir(&binary.dir);
    let captured = process::run(command, LIST_TIMEOUT)
        .map_err(|e| format!("cannot run {}: {e}", binary.exe.display()))?;
    let text = String::from_utf8_lossy(&captured.output);
    match captured.exit {
        Exit::Code(0) => Ok(parse_list(&text)),
        Exit::TimedOut => {
            Err(format!("`{} --list` did not finish in {} s", binary.exe.display(), LIST_TIMEOUT.as_secs()))
        }
        other => Err(format!("`{} --list` failed ({other:?}): {}", binary.exe.display(), text.trim())),
    }
}

/// Parses `--list --format terse` output: lines `name: test`.
pub fn parse_list(text: &str) -> Vec<String> {
    text.lines().filter_map(|line| line.strip_suffix(": test")).map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_terse_list() {
        let text = "a::b_3a: test\nplain: test\nbench_x: bench\n\n";
        assert_eq!(parse_list(text), vec!["a::b_3a", "plain"]);
    }

    #[test]
    fn parses_test_artifacts_only() {
        let mut packages = BTreeMap::new();
        packages.insert("raft".to_string(), PathBuf::from("/w/raft"));
        let ws = Workspace { root: PathBuf::from("/w"), packages };
        let test = r#"{"reason":"compiler-artifact","manifest_path":"/w/raft/Cargo.toml","target":{"kind":["test"],"name":"suite"},"profile":{"test":true},"executable":"/w/target/release/deps/suite-1"}"#;
        let lib = r#"{"reason":"compiler-artifact","manifest_path":"/w/raft/Cargo.toml","target":{"kind":["lib"],"name":"raft"},"profile":{"test":true},"executable":"/w/target/release/deps/raft-2"}"#;
        let dep = r#"{"reason":"compiler-artifact","manifest_path":"/w/raft/Cargo.toml","target":{"kind":["lib"],"name":"raft"},"profile":{"test":false},"executable":null}"#;
        let other = r#"{"reason":"compiler-artifact","manifest_path":"/elsewhere/Cargo.toml","target":{"kind":["test"],"name":"x"},"profile":{"test":true},"executable":"/x"}"#;
        let t = parse_artifact(&ws, test).unwrap();
        assert_eq!((t.kind.clone(), t.name.as_str(), t.label()), (TargetKind::Test, "suite", "suite"));
        let l = parse_artifact(&ws, lib).unwrap();
        assert_eq!((l.kind.clone(), l.label()), (TargetKind::Lib, "lib"));
        assert_eq!(l.dir, PathBuf::from("/w/raft"));
        assert!(parse_artifact(&ws, dep).is_none());
        assert!(parse_artifact(&ws, other).is_none());
        assert!(parse_artifact(&ws, "not json").is_none());
    }
}
