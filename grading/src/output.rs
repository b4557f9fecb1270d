//! The results folder: its safe reuse, and the files written into it.
//!
//! A results folder is cleared before each run so that it never mixes the logs of two
//! gradings. Clearing a folder is only safe if the grader made it, so the grader leaves a
//! `.grade-results` file in every results folder and refuses to clear a non-empty folder
//! without one.

use std::path::{Path, PathBuf};

use crate::error::GradeError;
use crate::junit;
use crate::results::Results;
use crate::scoreboard;

/// The file that marks a folder as the grader's.
pub const MARKER: &str = ".grade-results";

/// Makes `dir` an empty results folder: creates it, or clears it if the grader made it.
pub fn prepare(dir: &Path) -> Result<(), GradeError> {
    let io = |source| GradeError::Output { path: dir.to_path_buf(), source };
    if dir.exists() {
        let mut entries = std::fs::read_dir(dir).map_err(io)?.peekable();
        if entries.peek().is_some() {
            if !dir.join(MARKER).is_file() {
                return Err(GradeError::ForeignOutput { path: dir.to_path_buf() });
            }
            for entry in entries {
                let path = entry.map_err(io)?.path();
                let removed = if path.is_dir() && !path.is_symlink() {
                    std::fs::remove_dir_all(&path)
                } else {
                    std::fs::remove_file(&path)
                };
                removed.map_err(|source| GradeError::Output { path, source })?;
            }
        }
    } else {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    std::fs::write(
        dir.join(MARKER),
        "This folder was written by `grade` (distlab's grader); grade clears it on its next run.\n",
    )
    .map_err(io)
}

/// Writes `results.json`, `junit.xml`, `gradescope.json` and `scoreboard.txt` into `dir`.
pub fn write_reports(results: &Results, dir: &Path) -> Result<(), GradeError> {
    let io = |name: &str| {
        let path = dir.join(name);
        move |source| GradeError::Output { path, source }
    };
    results.write(dir).map_err(io("results.json"))?;
    std::fs::write(dir.join("scoreboard.txt"), scoreboard::render(results)).map_err(io("scoreboard.txt"))?;
    let junit = junit::render(results, dir)
        .map_err(|source| GradeError::JUnit { path: dir.join("junit.xml"), source })?;
    std::fs::write(dir.join("junit.xml"), junit).map_err(io("junit.xml"))?;
    crate::gradescope::write(results, dir).map_err(io("gradescope.json"))?;
    Ok(())
}

/// An absolute, cleaned-up version of a path (canonical where it exists).
pub fn absolute(path: &Path) -> PathBuf {
    if let Ok(canonical) = path.canonicalize() {
        return canonical;
    }
    // The output folder may not exist yet: canonicalise its nearest existing ancestor.
    let mut existing = path.to_path_buf();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (existing.file_name(), existing.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name.to_os_string());
                existing = parent.to_path_buf();
            }
            _ => break,
        }
    }
    let mut base = existing
        .canonicalize()
        .unwrap_or_else(|_| std::env::current_dir().unwrap_or_default().join(&existing));
    for name in rest.into_iter().rev() {
        base.push(name);
    }
    base
}
