//! The catalogue: which tests are graded, in which part, for how many points.
//!
//! It is one plain text file (`grading/catalogue.txt`, compiled into the grader) so that a
//! course can read and change its grading scheme without reading Rust, and so that a
//! submission cannot change its own points: `grade run --path <submission>` uses the
//! grader's catalogue, not one from the graded tree. `--catalogue FILE` replaces it.
//!
//! # Format
//!
//! One test per line, five fields separated by blanks:
//!
//! ```text
//! # part  package  test-binary  test-name            points
//! 3A      raft     *            initial_election_3a  5
//! ```
//!
//! * `part`: a label such as `3A`; `grade run --lab 3a` selects by it (case-insensitive;
//!   `--lab 3` selects every part that starts with `3`).
//! * `package`: the Cargo package that holds the test.
//! * `test-binary`: the integration-test target (`cargo test --test NAME`), `lib` for the
//!   library's unit tests, or `*` for whichever test target of the package has the test.
//! * `test-name`: the name that `<binary> --list` prints (module path included), or its last
//!   `::` segment when that is unique.
//! * `points`: a non-negative number; decimals are allowed.
//!
//! `#` starts a comment; blank lines are ignored. Entries whose test does not exist in the
//! built binaries are reported as skipped, not graded, so the catalogue can list a lab's
//! tests before they are written.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// The catalogue compiled into the grader (`grading/catalogue.txt`).
pub const BUILTIN: &str = include_str!("../catalogue.txt");

/// Which test binary of a package an entry names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum BinarySpec {
    /// `*`: whichever test target of the package contains the test (it must be unique).
    Any,
    /// `lib`: the unit tests of the package's library (`cargo test --lib`).
    Lib,
    /// An integration-test target (`cargo test --test NAME`).
    Test(String),
}

impl fmt::Display for BinarySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BinarySpec::Any => f.write_str("*"),
            BinarySpec::Lib => f.write_str("lib"),
            BinarySpec::Test(name) => f.write_str(name),
        }
    }
}

/// One catalogue line.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The part label, e.g. `3A`.
    pub part: String,
    /// The Cargo package.
    pub package: String,
    /// The test binary.
    pub binary: BinarySpec,
    /// The test name, as written in the catalogue.
    pub test: String,
    /// Points for passing every run.
    pub points: f64,
    /// The 1-based line in the catalogue file.
    pub line: usize,
}

/// A problem with the catalogue file.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    /// The file could not be read.
    #[error("cannot read the catalogue {}: {source}; check the --catalogue path", path.display())]
    Read {
        /// The path that was given.
        path: PathBuf,
        /// Why reading failed.
        source: std::io::Error,
    },
    /// Lines that do not follow the format.
    #[error(
        "the catalogue {origin} has {} bad line(s):\n{}\nEach line is `<part> <package> <test-binary> <test-name> <points>` (see grading/src/catalogue.rs); fix these lines and run again",
        errors.len(),
        errors.iter().map(|(line, message)| format!("  line {line}: {message}")).collect::<Vec<_>>().join("\n")
    )]
    Syntax {
        /// Where the catalogue came from (a path or "built-in").
        origin: String,
        /// Each bad line and what is wrong with it.
        errors: Vec<(usize, String)>,
    },
}

/// A parsed catalogue.
#[derive(Debug, Clone)]
pub struct Catalogue {
    /// Where it came from: a path, or `built-in grading/catalogue.txt`.
    pub origin: String,
    /// The entries, in file order.
    pub entries: Vec<Entry>,
}

impl Catalogue {
    /// Loads the catalogue at `path`, or the built-in one.
    pub fn load(path: Option<&Path>) -> Result<Catalogue, CatalogueError> {
        match path {
            None => Catalogue::parse("built-in grading/catalogue.txt", BUILTIN),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|source| CatalogueError::Read { path: path.to_path_buf(), source })?;
                Catalogue::parse(&path.display().to_string(), &text)
            }
        }
    }

    /// Parses catalogue text; `origin` names it in error messages.
    pub fn parse(origin: &str, text: &str) -> Result<Catalogue, CatalogueError> {
        let mut entries = Vec::new();
        let mut errors = Vec::new();
        let mut seen: BTreeMap<(String, BinarySpec, String), usize> = BTreeMap::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let content = raw.split('#').next().unwrap_or("").trim();
            if content.is_empty() {
                continue;
            }
            let fields: Vec<&str> = content.split_whitespace().collect();
            let [part, package, binary, test, points] = fields[..] else {
                errors.push((
                    line,
                    format!(
                        "expected 5 fields (part package test-binary test-name points), found {}: `{content}`",
                        fields.len()
                    ),
                ));
                continue;
            };
            let points = match points.parse::<f64>() {
                Ok(p) if p.is_finite() && p >= 0.0 => p,
                _ => {
                    errors.push((line, format!("points must be a non-negative number, found `{points}`")));
                    continue;
                }
            };
            let binary = match binary {
                "*" => BinarySpec::Any,
                "lib" => BinarySpec::Lib,
                name => BinarySpec::Test(name.to_string()),
            };
            let key = (package.to_string(), binary.clone(), test.to_string());
            if let Some(first) = seen.get(&key) {
                errors.push((line, format!("`{package} {binary} {test}` is already listed at line {first}")));
                continue;
            }
            seen.insert(key, line);
            entries.push(Entry {
                part: part.to_string(),
                package: package.to_string(),
                binary,
                test: test.to_string(),
                points,
                line,
            });
        }
        if errors.is_empty() {
            Ok(Catalogue { origin: origin.to_string(), entries })
        } else {
            Err(CatalogueError::Syntax { origin: origin.to_string(), errors })
        }
    }

    /// The part labels, in order of first appearance.
    pub fn parts(&self) -> Vec<String> {
        let mut parts: Vec<String> = Vec::new();
        for entry in &self.entries {
            if !parts.contains(&entry.part) {
                parts.push(entry.part.clone());
            }
        }
        parts
    }
}

/// Does `part` match a `--lab` value? Equal ignoring case, or (for an all-digit value such as
/// `3`) a part that starts with it and continues with a non-digit (`3A`, not `31A`).
pub fn part_matches(part: &str, filter: &str) -> bool {
    if part.eq_ignore_ascii_case(filter) {
        return true;
    }
    !filter.is_empty()
        && filter.chars().all(|c| c.is_ascii_digit())
        && part.strip_prefix(filter).and_then(|rest| rest.chars().next()).is_some_and(|c| !c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalogue_parses() {
        let catalogue = Catalogue::load(None).expect("the built-in catalogue must parse");
        assert!(!catalogue.entries.is_empty());
        for part in ["3A", "3B", "3C", "3D", "4A", "4B", "5A", "5B"] {
            assert!(catalogue.parts().iter().any(|p| p == part), "{part}");
        }
        // 6.5840's 28 Raft tests, named as it names them, plus distlab's own checks.
        let raft: Vec<&Entry> = catalogue.entries.iter().filter(|e| e.package == "raft-tests").collect();
        let parity = raft.iter().filter(|e| e.test.ends_with(&format!("_{}", e.part.to_lowercase()))).count();
        assert!(parity >= 28, "6.5840's Lab 3 has 28 tests; the catalogue names {parity} of them");
    }

    #[test]
    fn parses_fields_comments_and_binaries() {
        let text = "# header\n\n3A raft * initial_election_3a 5   # trailing\n  4B kvraft lib m::speed_4b 2.5\nX p t name 0\n";
        let c = Catalogue::parse("t", text).unwrap();
        assert_eq!(c.entries.len(), 3);
        assert_eq!(c.entries[0].binary, BinarySpec::Any);
        assert_eq!(c.entries[0].line, 3);
        assert_eq!(c.entries[1].binary, BinarySpec::Lib);
        assert_eq!(c.entries[1].points, 2.5);
        assert_eq!(c.entries[1].test, "m::speed_4b");
        assert_eq!(c.entries[2].binary, BinarySpec::Test("t".into()));
        assert_eq!(c.parts(), vec!["3A", "4B", "X"]);
    }

    #[test]
    fn reports_every_bad_line() {
        let text = "3A raft * a\n3A raft * b -1\n3A raft * c x\n3A raft * d 1\n3A raft * d 2\n";
        let err = Catalogue::parse("cat.txt", text).unwrap_err();
        let CatalogueError::Syntax { errors, .. } = &err else {
            panic!("{err}");
        };
        let lines: Vec<usize> = errors.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, vec![1, 2, 3, 5]);
        let message = err.to_string();
        assert!(message.contains("line 5: `raft * d` is already listed at line 4"));
        assert!(message.contains("expected 5 fields"));
    }

    #[test]
    fn lab_filter() {
        assert!(part_matches("3A", "3a"));
        assert!(part_matches("3B", "3"));
        assert!(!part_matches("31A", "3"));
        assert!(!part_matches("3", "3a"));
        assert!(part_matches("rsm", "RSM"));
        assert!(!part_matches("4A", "3"));
        assert!(!part_matches("4A", ""));
    }
}
