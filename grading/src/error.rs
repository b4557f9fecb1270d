//! The grader's top-level error, and its exit codes.
//!
//! Three exit codes keep scripts simple: 0 for a full score (or a successful handout), 1 for
//! a grading that ran but is not full, and 2 for everything that stopped the grader from
//! grading (bad usage, a build that fails, an unreadable catalogue, unwritable output).
//! clap also exits with 2 on a usage error.

use std::path::PathBuf;

use crate::cargo::BuildError;
use crate::catalogue::CatalogueError;
use crate::handout::HandoutError;
use crate::merge::MergeError;
use crate::tree::TreeError;

/// Exit code: the score is full (or the command succeeded).
pub const EXIT_FULL: i32 = 0;
/// Exit code: grading ran, and the score is not full.
pub const EXIT_NOT_FULL: i32 = 1;
/// Exit code: the grader could not do its job (usage, build, input or output errors).
pub const EXIT_ERROR: i32 = 2;

/// Everything that stops a command before it can report a score.
#[derive(Debug, thiserror::Error)]
pub enum GradeError {
    /// The catalogue cannot be read or parsed.
    #[error(transparent)]
    Catalogue(#[from] CatalogueError),
    /// The workspace cannot be inspected or built.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// The handout cannot be made.
    #[error(transparent)]
    Handout(#[from] HandoutError),
    /// Shard results cannot be merged.
    #[error(transparent)]
    Merge(#[from] MergeError),
    /// The grader's tree cannot be made for a submission (a missing student file, say).
    #[error(transparent)]
    Tree(#[from] TreeError),
    /// The command line asks for something impossible.
    #[error("{0}")]
    Usage(String),
    /// The results folder cannot be written.
    #[error("cannot write the results folder {}: {source}; check --out and its permissions", path.display())]
    Output {
        /// The file or folder being written.
        path: PathBuf,
        /// Why writing failed.
        source: std::io::Error,
    },
    /// The JUnit report cannot be serialized. Writing XML into memory does not fail, so this
    /// is a bug.
    #[error(
        "cannot produce {}: {source}. results.json and scoreboard.txt were written; this is a bug in grade, please report it with results.json",
        path.display()
    )]
    JUnit {
        /// The JUnit file.
        path: PathBuf,
        /// What quick-junit said.
        source: quick_junit::SerializeError,
    },
    /// The results folder holds files the grader did not write.
    #[error(
        "the results folder {} is not empty and was not written by grade (it has no `.grade-results` file), so grade will not clear it; choose another --out or empty it",
        path.display()
    )]
    ForeignOutput {
        /// The folder.
        path: PathBuf,
    },
}

impl GradeError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        EXIT_ERROR
    }
}
