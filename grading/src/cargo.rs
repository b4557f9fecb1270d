//! Building the suites once and finding the tests in them.
//!
//! `cargo test` builds and then runs every test of a binary in one process. Grading needs
//! each (test, seed) in a process of its own, so that a hang, a crash or leaked state in one
//! run cannot touch another, and so that a run can be killed alone. So the grader asks cargo
//! to build the test binaries without running them (`--no-run --message-format=json`), reads
//! where each executable is from cargo's JSON messages, and asks each binary for its tests
//! (`--list --format terse`).
//!
//! cargo's JSON (`cargo metadata` and the build messages) is read with the `cargo_metadata`
//! crate, whose types follow cargo's documented formats, rather than picked out of untyped
//! JSON by field name here.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use cargo_metadata::{Artifact, Message, MetadataCommand};

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
        "building the test binaries failed (`{command}` exited with {status}){}; the compiler's messages are above. Fix the build, then run grade again",
        first_error.as_deref().map(|e| format!(": {e}")).unwrap_or_default()
    )]
    Build {
        /// The cargo command line.
        command: String,
        /// cargo's exit status.
        status: String,
        /// The first compiler error, on one line.
        first_error: Option<String>,
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
        let metadata = MetadataCommand::new()
            .cargo_path(&program)
            .current_dir(root)
            .no_deps()
            .exec()
            .map_err(|e| metadata_error(&program, root, e))?;
        let packages = metadata
            .packages
            .into_iter()
            .map(|package| {
                let dir = package
                    .manifest_path
                    .parent()
                    .map(|dir| dir.as_std_path().to_path_buf())
                    .unwrap_or_else(|| root.to_path_buf());
                (package.name.to_string(), dir)
            })
            .collect();
        Ok(Workspace { root: root.to_path_buf(), packages })
    }

    /// The package whose directory holds `manifest_path`'s manifest.
    fn package_of(&self, manifest_path: &Path) -> Option<&str> {
        let dir = manifest_path.parent()?;
        self.packages.iter().find(|(_, d)| d.as_path() == dir).map(|(name, _)| name.as_str())
    }
}

/// Says why `cargo metadata` in `root` gave no metadata.
fn metadata_error(program: &OsString, root: &Path, error: cargo_metadata::Error) -> BuildError {
    match error {
        cargo_metadata::Error::Io(source) => {
            BuildError::Spawn { program: program.to_string_lossy().into_owned(), source }
        }
        cargo_metadata::Error::CargoMetadata { stderr } => {
            BuildError::Metadata { root: root.to_path_buf(), stderr: stderr.trim().to_string() }
        }
        other => BuildError::MetadataFormat(other.to_string()),
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

/// Builds the test binaries of `packages` in release mode and returns them. `target_dir`
/// replaces the workspace's build folder (the grader's tree builds outside the tree).
///
/// The compiler's messages go to the terminal (stderr) as `cargo build` shows them, so a
/// student sees a build error as usual; the first error is also kept for the results.
pub fn build_tests(
    workspace: &Workspace,
    packages: &[String],
    target_dir: Option<&Path>,
) -> Result<Vec<TestBinary>, BuildError> {
    let program = cargo_program();
    let mut args: Vec<String> =
        ["test", "--release", "--no-run", "--message-format=json-diagnostic-rendered-ansi"]
            .map(String::from)
            .to_vec();
    if target_dir.is_some() {
        // The grader's tree builds with the grader's Cargo.lock, exactly.
        args.push("--locked".into());
    }
    for package in packages {
        args.push("-p".into());
        args.push(package.clone());
    }
    let command_line = format!("cargo {}", args.join(" "));
    let mut command = Command::new(&program);
    command
        .args(&args)
        .current_dir(&workspace.root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if let Some(dir) = target_dir {
        command.env("CARGO_TARGET_DIR", dir);
    }
    let mut child = command
        .spawn()
        .map_err(|source| BuildError::Spawn { program: program.to_string_lossy().into_owned(), source })?;
    let (mut binaries, first_error) = match child.stdout.take() {
        Some(stdout) => test_binaries(workspace, BufReader::new(stdout)),
        None => (Vec::new(), None),
    };
    let status = child
        .wait()
        .map_err(|source| BuildError::Spawn { program: program.to_string_lossy().into_owned(), source })?;
    if !status.success() {
        return Err(BuildError::Build { command: command_line, status: status.to_string(), first_error });
    }
    binaries.sort_by(|a, b| (&a.package, &a.kind, &a.name).cmp(&(&b.package, &b.kind, &b.name)));
    binaries.dedup_by(|a, b| a.package == b.package && a.kind == b.kind && a.name == b.name);
    Ok(binaries)
}

/// Reads cargo's JSON build messages and returns the test executables among its artifacts,
/// in the order cargo reported them, and the first compiler error (on one line). Compiler
/// messages are shown on stderr as cargo renders them. Lines that are not cargo messages are
/// ignored; reading stops at the first unreadable line.
fn test_binaries(workspace: &Workspace, messages: impl BufRead) -> (Vec<TestBinary>, Option<String>) {
    use std::io::Write as _;
    let mut binaries = Vec::new();
    let mut first_error = None;
    for message in Message::parse_stream(messages).map_while(Result::ok) {
        match message {
            Message::CompilerArtifact(artifact) => binaries.extend(test_binary(workspace, &artifact)),
            Message::CompilerMessage(msg) => {
                if let Some(rendered) = &msg.message.rendered {
                    let _ = std::io::stderr().lock().write_all(rendered.as_bytes());
                }
                if first_error.is_none()
                    && msg.message.level == cargo_metadata::diagnostic::DiagnosticLevel::Error
                {
                    let at = msg
                        .message
                        .spans
                        .iter()
                        .find(|s| s.is_primary)
                        .map(|s| format!(" at {}:{}", s.file_name, s.line_start))
                        .unwrap_or_default();
                    first_error = Some(format!("{}{at}", msg.message.message));
                }
            }
            _ => {}
        }
    }
    (binaries, first_error)
}

/// The test executable of one built artifact of a workspace package, or `None` (not built
/// for testing, no executable, or a dependency's).
fn test_binary(workspace: &Workspace, artifact: &Artifact) -> Option<TestBinary> {
    use cargo_metadata::TargetKind as Kind;
    if !artifact.profile.test {
        return None;
    }
    let exe = artifact.executable.as_ref()?.as_std_path().to_path_buf();
    let package = workspace.package_of(artifact.manifest_path.as_std_path())?.to_string();
    let dir = workspace.packages.get(&package)?.clone();
    let kinds = &artifact.target.kind;
    let kind = if kinds.contains(&Kind::Test) {
        TargetKind::Test
    } else if kinds.iter().any(|k| matches!(k, Kind::Lib | Kind::RLib | Kind::DyLib | Kind::ProcMacro)) {
        TargetKind::Lib
    } else {
        TargetKind::Other(kinds.iter().map(Kind::to_string).collect::<Vec<_>>().join(","))
    };
    Some(TestBinary { package, kind, name: artifact.target.name.clone(), exe, dir })
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

    /// One `compiler-artifact` line as cargo prints it.
    fn artifact(manifest: &str, kind: &str, name: &str, test: bool, exe: Option<&str>) -> String {
        let dir = manifest.trim_end_matches("/Cargo.toml");
        serde_json::json!({
            "reason": "compiler-artifact",
            "package_id": format!("path+file://{dir}#0.1.0"),
            "manifest_path": manifest,
            "target": {
                "kind": [kind],
                "crate_types": [if kind == "test" { "bin" } else { kind }],
                "name": name,
                "src_path": format!("{dir}/src/lib.rs"),
                "edition": "2024",
                "doc": false,
                "doctest": false,
                "test": true
            },
            "profile": {
                "opt_level": "3",
                "debuginfo": 0,
                "debug_assertions": false,
                "overflow_checks": false,
                "test": test
            },
            "features": [],
            "filenames": exe.into_iter().collect::<Vec<_>>(),
            "executable": exe,
            "fresh": true
        })
        .to_string()
    }

    #[test]
    fn parses_test_artifacts_only() {
        let mut packages = BTreeMap::new();
        packages.insert("raft".to_string(), PathBuf::from("/w/raft"));
        let ws = Workspace { root: PathBuf::from("/w"), packages };
        let m = "/w/raft/Cargo.toml";
        let lines = [
            artifact(m, "test", "suite", true, Some("/w/target/release/deps/suite-1")),
            artifact(m, "lib", "raft", true, Some("/w/target/release/deps/raft-2")),
            // The library built as a dependency of the tests: not a test binary.
            artifact(m, "lib", "raft", false, None),
            // Another workspace's package.
            artifact("/elsewhere/Cargo.toml", "test", "x", true, Some("/x")),
            artifact(m, "bin", "tool", true, Some("/w/target/release/deps/tool-3")),
            "not json".to_string(),
            r#"{"reason":"build-finished","success":true}"#.to_string(),
        ];
        let (binaries, _) = test_binaries(&ws, lines.join("\n").as_bytes());
        let found: Vec<_> =
            binaries.iter().map(|b| (b.kind.clone(), b.name.as_str(), b.label(), b.exe.clone())).collect();
        assert_eq!(
            found,
            vec![
                (TargetKind::Test, "suite", "suite", PathBuf::from("/w/target/release/deps/suite-1")),
                (TargetKind::Lib, "raft", "lib", PathBuf::from("/w/target/release/deps/raft-2")),
                (
                    TargetKind::Other("bin".into()),
                    "tool",
                    "tool",
                    PathBuf::from("/w/target/release/deps/tool-3")
                ),
            ]
        );
        assert!(binaries.iter().all(|b| b.package == "raft" && b.dir == Path::new("/w/raft")));
    }
}
